# SPDX-License-Identifier: MIT
# MP_HOST_TEST_ENV: the environment for tests whose driver is a program
# that was not built here (Debian's Python, Node) and that loads mp.so.
# Under MP_SANITIZE the sanitized mp.so loads into them only with the ASan
# runtime preloaded; their own leaks are not ours, so leak detection is off
# there (the drivers turn it back on for the programs built here).
set(MP_HOST_TEST_ENV "")
if(MP_SANITIZE)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(mp_asan_name libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
  else()
    set(mp_asan_name libasan.so)
  endif()
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${mp_asan_name}
                  OUTPUT_VARIABLE mp_asan_runtime
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT IS_ABSOLUTE "${mp_asan_runtime}" OR NOT EXISTS "${mp_asan_runtime}")
    message(WARNING "ASan runtime ${mp_asan_name} not found; the Python and "
                    "Node tests cannot load the sanitized mp.so")
  endif()
  list(APPEND MP_HOST_TEST_ENV
       "LD_PRELOAD=${mp_asan_runtime}"
       "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1"
       "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
