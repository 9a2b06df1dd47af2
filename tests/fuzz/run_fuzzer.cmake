# SPDX-License-Identifier: MIT
#
# Runs one libFuzzer binary for a short time, as the ctest fuzz/<name>
# (registered by cmake/fuzz.cmake):
#
#   cmake -DFUZZER=build/fuzz/fuzz_report -DCORPUS=tests/fuzz/corpus/report \
#         -DWORK=build/fuzz/run/report -DSECONDS=10 \
#         [-DDICT=tests/fuzz/report.dict] -P tests/fuzz/run_fuzzer.cmake
#
# The seeds are copied to WORK/corpus first, so that the inputs libFuzzer
# adds never land in the repository. A crash, leak, timeout or failed
# property leaves its input in WORK/artifacts/ and fails the test with
# the command that reproduces it.
foreach(var FUZZER CORPUS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK}/corpus ${WORK}/artifacts)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB seeds ${CORPUS}/*)
if(seeds)
  file(COPY ${seeds} DESTINATION ${WORK}/corpus)
endif()

set(args -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=30
    -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if(DEFINED DICT)
  list(APPEND args -dict=${DICT})
endif()
execute_process(COMMAND ${FUZZER} ${args} ${WORK}/corpus
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/artifacts/*)
  set(repro "")
  foreach(f IN LISTS found)
    string(APPEND repro "\n  ${FUZZER} ${f}")
  endforeach()
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproduce with:${repro}")
endif()
