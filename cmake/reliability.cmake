# SPDX-License-Identifier: MIT
# Reliability tests (tests/reliability/, RELIABILITY.md sections 2-4):
#
#   mp-rel-crash   power loss at every sync point (crash-simulating VFS)
#   mp-rel-ioerr   I/O errors at every read, write, sync and truncate
#   mp-rel-oom     out of memory at every allocation
#
# Always built. ctest runs the short sweeps (label reliability, about a
# minute together under ASan); each program takes --long for the full
# sweep. With -DMP_RELIABILITY=ON the long sweeps are registered too
# (label reliability-long, an hour or more: use a Release build).
set(MP_REL_DIR ${CMAKE_CURRENT_LIST_DIR}/../tests/reliability)
set(MP_REL_SCRATCH ${CMAKE_BINARY_DIR}/Testing/reliability)
file(MAKE_DIRECTORY ${MP_REL_SCRATCH})

add_executable(mp-rel-crash ${MP_REL_DIR}/crash.c ${MP_REL_DIR}/crash_vfs.c
                            ${MP_REL_DIR}/rel_shim.c ${MP_REL_DIR}/rel_common.c)
add_executable(mp-rel-ioerr ${MP_REL_DIR}/ioerr.c ${MP_REL_DIR}/ioerr_vfs.c
                            ${MP_REL_DIR}/rel_shim.c ${MP_REL_DIR}/rel_common.c)
add_executable(mp-rel-oom ${MP_REL_DIR}/oom.c ${MP_REL_DIR}/rel_common.c)
foreach(t crash ioerr oom)
  target_link_libraries(mp-rel-${t} PRIVATE mp_static)
  add_test(NAME reliability/${t}
           COMMAND mp-rel-${t} --dir ${MP_REL_SCRATCH})
  set_tests_properties(reliability/${t} PROPERTIES TIMEOUT 600
                       LABELS reliability)
  if(MP_RELIABILITY)
    add_test(NAME reliability/${t}_long
             COMMAND mp-rel-${t} --long --dir ${MP_REL_SCRATCH})
    set_tests_properties(reliability/${t}_long PROPERTIES TIMEOUT 14400
                         LABELS reliability-long)
  endif()
endforeach()
