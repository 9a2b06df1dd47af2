# SPDX-License-Identifier: MIT
# mp-runner, the delivery daemon (tools/runner), and its end-to-end tests
# against the fake Bot API server (tests/botapi). Included from the
# top-level CMakeLists.txt after mp_static and enable_testing().
if(NOT MP_BUILD_RUNNER)
  return()
endif()

find_package(CURL REQUIRED)

add_executable(mp-runner
  tools/runner/main.c
  tools/runner/runner_db.c
  tools/runner/runner_http.c
  tools/runner/runner_json.c
  tools/runner/runner_log.c
  tools/runner/runner_status.c
  tools/runner/runner_tiers.c
  tools/runner/runner_watch.c)
target_compile_definitions(mp-runner PRIVATE _GNU_SOURCE)
# The runner shares the extension's UTF-8 validator (ext/mp_utf8.h).
target_include_directories(mp-runner PRIVATE ext)
target_link_libraries(mp-runner PRIVATE mp_static CURL::libcurl)

# A fast, fault-free Bot API stand-in (epoll, keep-alive) for measuring
# the runner's throughput: tests/runner/throughput.py.
add_executable(fast_botapi tests/botapi/fast_botapi.c)

# End-to-end tests: Debian's python3 (standard library only) drives the
# runner against tests/botapi/fake_botapi.py on 127.0.0.1.
find_program(MP_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT MP_PYTHON3)
  find_program(MP_PYTHON3 python3)
endif()
if(MP_PYTHON3)
  set(MP_RUNNER_TESTS
    happy 429 5xx dropped reuse_lost 403 migrate 401 secrets modes
    failover_webhook failover_file watch sigterm crash pacing pacing_rates
    status)
  foreach(t IN LISTS MP_RUNNER_TESTS)
    add_test(NAME runner/${t}
             COMMAND ${MP_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tests/runner/test_runner.py
                     --runner $<TARGET_FILE:mp-runner> --ext $<TARGET_FILE:mp>
                     --server ${CMAKE_CURRENT_SOURCE_DIR}/tests/botapi/fake_botapi.py
                     ${t})
    set_tests_properties(runner/${t} PROPERTIES TIMEOUT 120 LABELS runner
                         SKIP_RETURN_CODE 77 ENVIRONMENT "${MP_HOST_TEST_ENV}")
  endforeach()
  # A per-minute group limit needs more than a minute to measure. It runs
  # alone: the fake server's 50 ms of slack is less than the scheduling
  # delays a second test on the two cores can add (seen once as two 429s
  # with two full suites running side by side).
  set_tests_properties(runner/pacing_rates PROPERTIES TIMEOUT 200 RUN_SERIAL TRUE)
  # Throughput against fast_botapi: 20,000 messages over 500 chats, every
  # one confirmed once, per-chat order kept. It prints msg/s and peak RSS
  # but asserts no rate (the machine may be busy); the benchmark does:
  #   python3 tests/runner/throughput.py --runner build/mp-runner \
  #       --ext build/mp.so --server build/fast_botapi --min-rate 5000 \
  #       --max-rss-mib 16
  add_test(NAME runner/throughput
           COMMAND ${MP_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tests/runner/throughput.py
                   --runner $<TARGET_FILE:mp-runner> --ext $<TARGET_FILE:mp>
                   --server $<TARGET_FILE:fast_botapi>
                   -n 20000 --chats 500 --check-order)
  set_tests_properties(runner/throughput PROPERTIES TIMEOUT 300 LABELS runner
                       ENVIRONMENT "${MP_HOST_TEST_ENV}")
  add_test(NAME botapi/selftest
           COMMAND ${MP_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tests/botapi/test_fake_botapi.py
                   ${CMAKE_CURRENT_SOURCE_DIR}/tests/botapi/fake_botapi.py)
  set_tests_properties(botapi/selftest PROPERTIES TIMEOUT 60 LABELS runner)
endif()
