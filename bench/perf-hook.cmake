# SPDX-License-Identifier: MIT
# Used by bench/run.sh and bench/profile.sh only while the top-level
# CMakeLists.txt does not include cmake/perf.cmake itself: passed as
# CMAKE_PROJECT_INCLUDE, it includes that file once the top-level directory
# has been processed (mp_static exists by then). perf.cmake has an include
# guard, so the hook is harmless once CMakeLists.txt includes it too.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL include
               "${CMAKE_SOURCE_DIR}/cmake/perf.cmake")
