# SPDX-License-Identifier: MIT
# Host tests: build/mp.so loaded into Debian's Python (standard sqlite3) and
# into Node (better-sqlite3), and the multi-process concurrency test.
# Included from cmake/tests.cmake.
#
#   ctest --test-dir build -L host --output-on-failure
#
# None of them is skipped when its interpreter or package is missing: a
# missing dependency fails the test with a message that says what is
# missing.

# Debian's interpreter: its sqlite3 module can load extensions (a pyenv or
# other python3 first on PATH often cannot).
set(MP_TEST_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python 3 whose sqlite3 module can load extensions")

# MP_HOST_TEST_ENV (cmake/host_test_env.cmake) preloads the ASan runtime
# when the build is sanitized.

add_test(NAME python/load
         COMMAND ${MP_TEST_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/tests/python/test_load.py
                 $<TARGET_FILE:mp>)
set_tests_properties(python/load PROPERTIES
                     LABELS host TIMEOUT 300 ENVIRONMENT "${MP_HOST_TEST_ENV}")

# run.sh installs better-sqlite3 into tests/node/node_modules on first use
# (npm ci; it compiles its addon, which takes minutes) and fails loudly when
# the npm registry cannot be reached.
add_test(NAME node/load
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/node/run.sh $<TARGET_FILE:mp>)
set_tests_properties(node/load PROPERTIES
                     LABELS host TIMEOUT 1800 ENVIRONMENT "${MP_HOST_TEST_ENV}")

# Four processes on one WAL file; alone, so that its timing means something.
# A sanitized build is several times slower per write (each INSERT or
# UPDATE ... RETURNING allocates an ephemeral table): half the messages and
# more think time between writes keep it near 15 s and the write lock below
# saturation (see THINK_MS in the test).
set(MP_CONC_TEST_ENV ${MP_HOST_TEST_ENV})
if(MP_SANITIZE)
  list(APPEND MP_CONC_TEST_ENV "MP_CONC_MESSAGES=1000" "MP_CONC_THINK_MS=3")
endif()
add_test(NAME concurrency/two_producers_two_consumers
         COMMAND ${MP_TEST_PYTHON}
                 ${CMAKE_CURRENT_SOURCE_DIR}/tests/concurrency/test_two_producers_two_consumers.py
                 $<TARGET_FILE:mp>)
set_tests_properties(concurrency/two_producers_two_consumers PROPERTIES
                     LABELS "host;concurrency" TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "${MP_CONC_TEST_ENV}")
