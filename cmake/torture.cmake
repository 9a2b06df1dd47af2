# SPDX-License-Identifier: MIT
# Reliability tests (tests/torture/, RELIABILITY.md): the kill -9 torture
# with its total-queue checker, 4 producers and 2 runners on one database,
# and mp-runner and mp.so under valgrind. Included from the top-level
# CMakeLists.txt after the runner (mp-runner) and mp targets exist. The
# short versions run here; the long ones are run by hand with the flags in
# tests/torture/RELIABILITY.part1-5-7.md.
#
#   ctest --test-dir build -L torture --output-on-failure
#   ctest --test-dir build -L valgrind --output-on-failure
#
# tests/errors/hostile.slt (the bad input table) is an ordinary .slt file,
# registered by tests.cmake with the others.
if(NOT TARGET mp-runner OR NOT TARGET mp)
  return()
endif()

find_program(MP_TORTURE_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT MP_TORTURE_PYTHON3)
  find_program(MP_TORTURE_PYTHON3 python3)
endif()

set(mp_torture_dir ${CMAKE_CURRENT_SOURCE_DIR}/tests/torture)
set(mp_torture_args
    --runner $<TARGET_FILE:mp-runner> --ext $<TARGET_FILE:mp>
    --server ${CMAKE_CURRENT_SOURCE_DIR}/tests/botapi/fake_botapi.py)

# Registers ctest torture/<name>: the driver tests/torture/<script> with
# the programs under test and ARGN, label torture, at most 240 s. The
# drivers take LD_PRELOAD out of mp-runner's environment and turn its leak
# checker on (see tests/torture/common.py).
function(mp_torture_test name script)
  add_test(NAME torture/${name}
           COMMAND ${MP_TORTURE_PYTHON3} ${mp_torture_dir}/${script}
                   ${mp_torture_args} ${ARGN})
  set_tests_properties(torture/${name} PROPERTIES
                       TIMEOUT 240 LABELS torture
                       ENVIRONMENT "${MP_HOST_TEST_ENV}")
endfunction()

if(MP_TORTURE_PYTHON3)
  # 1,500 messages from 3 producers over 31 chats (one blocked), 10 SIGKILLs
  # of the runner at random moments (seed 1), then a drain; about 15 s, 35 s
  # under ASan.
  mp_torture_test(kill9 torture.py --messages 1500 --kills 10 --seed 1)

  # 4 producers x 25 msg/s for 12 s, 2 runners (wA, wB), faults on.
  mp_torture_test(concurrency concurrency_runners.py
                  --seconds 12 --rate 25 --seed 1)
endif()

# Valgrind needs binaries built without sanitizers. In a plain build the
# test uses this build's; in an MP_SANITIZE build valgrind.sh configures
# and builds its own copy (RelWithDebInfo, no sanitizers) under
# torture-valgrind/ in the build tree the first time it runs.
find_program(MP_VALGRIND valgrind)
if(MP_VALGRIND AND MP_TORTURE_PYTHON3)
  if(MP_SANITIZE)
    set(mp_valgrind_bin --build-dir ${CMAKE_BINARY_DIR}/torture-valgrind
                        --source ${CMAKE_CURRENT_SOURCE_DIR})
  else()
    set(mp_valgrind_bin --bin $<TARGET_FILE_DIR:mp-runner>)
  endif()
  add_test(NAME torture/valgrind
           COMMAND sh ${mp_torture_dir}/valgrind.sh ${mp_valgrind_bin}
                   --python ${MP_TORTURE_PYTHON3})
  # No MP_HOST_TEST_ENV: nothing of ASan may reach valgrind's processes.
  set_tests_properties(torture/valgrind PROPERTIES
                       TIMEOUT 420 LABELS valgrind SKIP_RETURN_CODE 77)
endif()
