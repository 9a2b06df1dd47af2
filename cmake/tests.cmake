# SPDX-License-Identifier: MIT
# Test registration: one ctest per .slt file, plus the C, Python, Node and
# end-to-end tests.
file(GLOB_RECURSE MP_SLT_FILES CONFIGURE_DEPENDS
     RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}/tests ${CMAKE_CURRENT_SOURCE_DIR}/tests/*.slt)
foreach(rel IN LISTS MP_SLT_FILES)
  add_test(NAME slt/${rel}
           COMMAND mp-slt --load $<TARGET_FILE:mp> ${CMAKE_CURRENT_SOURCE_DIR}/tests/${rel})
endforeach()

add_test(NAME slt-selftest
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tools/slt/tests/run_selftest.sh $<TARGET_FILE:mp-slt>)
