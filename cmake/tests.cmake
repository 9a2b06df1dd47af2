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

# Unit tests of internals: tests/unit/test_<area>.c, linked with mp_static.
file(GLOB MP_UNIT_FILES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src IN LISTS MP_UNIT_FILES)
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "test_" "" area ${name})
  add_executable(mp_unit_${area} ${src})
  target_compile_definitions(mp_unit_${area} PRIVATE SQLITE_CORE)
  target_include_directories(mp_unit_${area} PRIVATE ext ${CMAKE_BINARY_DIR}/generated)
  target_link_libraries(mp_unit_${area} PRIVATE mp_static)
  add_test(NAME unit/${area} COMMAND mp_unit_${area})
endforeach()

# The benchmark must keep working; its numbers are reported, not asserted.
add_test(NAME bench/quick COMMAND mp-bench --quick)

include(cmake/tests_hosts.cmake OPTIONAL)

# The installed artifacts: only sqlite3_mp_init exported, the header, the
# static library and pkg-config work for an embedding program.
find_program(MP_PKG_CONFIG pkg-config)
if(MP_PKG_CONFIG)
  add_test(NAME install/embed
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/install/test_install.sh
                   ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
endif()
