# SPDX-License-Identifier: MIT
#
# Backups: the mp-restore tool and the backup tests. Included from the
# top-level CMakeLists.txt after the mp and mp_static targets and after
# enable_testing(); ext/mp_backup.c itself belongs in MP_EXT_SOURCES.
#
#   build/mp-restore BACKUP NEW_DB [--key SPEC]    (tools/restore/)
#
# tests/backup/*.slt need nothing here: cmake/tests.cmake registers every
# .slt file (as slt/backup/<name>.slt). This file adds the Python drivers;
# the backup decoder's fuzz harness is built and run by cmake/fuzz.cmake.
include(GNUInstallDirs)

add_executable(mp-restore tools/restore/restore.c tools/restore/restore_codec.c)
target_include_directories(mp-restore PRIVATE tools/restore ext)
target_link_libraries(mp-restore PRIVATE mp_static OpenSSL::Crypto)
install(TARGETS mp-restore RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The Python drivers need Debian's interpreter: it can load extensions.
find_program(MP_BACKUP_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(MP_BACKUP_PYTHON)
  foreach(name concurrent security)
    add_test(NAME backup/${name}
             COMMAND ${MP_BACKUP_PYTHON}
                     ${CMAKE_CURRENT_SOURCE_DIR}/tests/backup/test_backup_${name}.py
                     $<TARGET_FILE:mp> $<TARGET_FILE:mp-restore>)
    set_tests_properties(backup/${name} PROPERTIES TIMEOUT 600
                         ENVIRONMENT "${MP_HOST_TEST_ENV}")
  endforeach()
else()
  message(STATUS "mp: /usr/bin/python3 not found; backup/* tests not registered")
endif()
