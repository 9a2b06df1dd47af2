# SPDX-License-Identifier: MIT
# Performance at scale: mp-scale (what the hot calls cost with 10 thousand
# to 10 million rows, tests/perf/scale.c) and a small smoke run of it.
# mp-bench is built by the top-level CMakeLists.txt; tests/perf/plans.slt is
# registered by the .slt glob in cmake/tests.cmake. bench/run.sh runs both
# programs in full and draws the plots of BENCHMARKS.md.
include_guard(GLOBAL)

add_executable(mp-scale ${CMAKE_CURRENT_LIST_DIR}/../tests/perf/scale.c)
target_link_libraries(mp-scale PRIVATE mp_static)

# The numbers are reported, not asserted: the run must complete and its
# consistency checks (mp_stats against the load, recovery counts) pass.
add_test(NAME perf/scale-smoke
         COMMAND mp-scale --sizes 10000,20000 --reps 10 --recover 5000)
set_tests_properties(perf/scale-smoke PROPERTIES LABELS perf)

# mp-alternatives: the statements behind the hot spots next to cheaper
# forms (tests/perf/alternatives.c; bench/profile.sh --alternatives).
add_executable(mp-alternatives ${CMAKE_CURRENT_LIST_DIR}/../tests/perf/alternatives.c)
target_link_libraries(mp-alternatives PRIVATE mp_static)
