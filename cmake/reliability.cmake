# SPDX-License-Identifier: MIT
# Reliability tests (tests/reliability/, RELIABILITY.md sections 2-4):
#
#   mp-rel-crash   power loss at every sync point (crash-simulating VFS)
#   mp-rel-ioerr   I/O errors at every read, write, sync and truncate
#   mp-rel-oom     out of memory at every allocation
#
# ctest runs the short sweeps; each program takes --long for the full one
# (see RELIABILITY.md for the commands and the figures).
set(MP_REL_DIR ${CMAKE_CURRENT_LIST_DIR}/../tests/reliability)
set(MP_REL_SCRATCH ${CMAKE_BINARY_DIR}/Testing/reliability)
file(MAKE_DIRECTORY ${MP_REL_SCRATCH})

add_executable(mp-rel-crash ${MP_REL_DIR}/crash.c ${MP_REL_DIR}/crash_vfs.c
                            ${MP_REL_DIR}/rel_common.c)
add_executable(mp-rel-ioerr ${MP_REL_DIR}/ioerr.c ${MP_REL_DIR}/ioerr_vfs.c
                            ${MP_REL_DIR}/rel_common.c)
add_executable(mp-rel-oom ${MP_REL_DIR}/oom.c ${MP_REL_DIR}/rel_common.c)
foreach(t mp-rel-crash mp-rel-ioerr mp-rel-oom)
  target_link_libraries(${t} PRIVATE mp_static)
endforeach()

add_test(NAME reliability/crash
         COMMAND mp-rel-crash --dir ${MP_REL_SCRATCH})
add_test(NAME reliability/ioerr
         COMMAND mp-rel-ioerr --dir ${MP_REL_SCRATCH})
add_test(NAME reliability/oom
         COMMAND mp-rel-oom --dir ${MP_REL_SCRATCH})
set_tests_properties(reliability/crash reliability/ioerr reliability/oom
                     PROPERTIES TIMEOUT 600 LABELS reliability)
