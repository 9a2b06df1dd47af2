# SPDX-License-Identifier: MIT
#
# Fuzzing: the harnesses in tests/fuzz/, as libFuzzer binaries built with
# clang and as replay programs built with the project's compiler. Included
# from the top-level CMakeLists.txt after cmake/backup.cmake (it needs
# MP_EXT_SOURCES, mp_static, mp_sql_header and enable_testing()).
#
# For each harness tests/fuzz/fuzz_<name>.c:
#
#   fuzz_<name>          target: build/fuzz/fuzz_<name>, libFuzzer with
#                        ASan and UBSan, built by clang whatever the
#                        project's compiler (skipped, with a message, when
#                        no clang that links -fsanitize=fuzzer is found, or
#                        with -DMP_FUZZ=OFF)
#   fuzz/<name>          ctest: MP_FUZZ_SECONDS (10) s of fuzzing, seeded
#                        from a copy of tests/fuzz/corpus/<name>/, crashes
#                        saved under build/fuzz/run/<name>/artifacts/
#   mp_fuzz_<name>       target: the harness with a plain main() (its own
#                        under MP_FUZZ_STANDALONE, or fuzz_standalone.c),
#                        built like every other program, so MP_SANITIZE
#                        applies
#   fuzz/<name>_replay   ctest: every corpus file, then generated inputs
#
# All carry the ctest label "fuzz": ctest -L fuzz. A longer run by hand:
#
#   cp -r tests/fuzz/corpus/report /tmp/c
#   build/fuzz/fuzz_report -max_total_time=600 -rss_limit_mb=2048 \
#       -dict=tests/fuzz/report.dict /tmp/c
#
# tests/fuzz/FUZZING.md has the harnesses' properties and the figures.

option(MP_FUZZ "Build the libFuzzer harnesses (needs clang)" ON)
option(MP_FUZZ_STRICT "Fuzz harnesses also fail on the known bugs in FUZZING.md"
       OFF)
set(MP_FUZZ_SECONDS 10 CACHE STRING "Seconds each fuzz/<name> test fuzzes")

set(mp_fuzz_src ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz)
set(mp_fuzz_out ${CMAKE_BINARY_DIR}/fuzz)

# Per harness: _main is "own" (the harness's main() under
# MP_FUZZ_STANDALONE) or "driver" (tests/fuzz/fuzz_standalone.c); _runs is
# how many generated inputs its replay runs; _sources and _includes are
# what it needs besides the extension. The harnesses that drive mp through
# SQL share tests/fuzz/fuzz_common.c.
set(mp_fuzz_harnesses json format split backup report enqueue)
set(mp_fuzz_json_main driver)
set(mp_fuzz_json_runs 20000)
set(mp_fuzz_json_sources tests/fuzz/fuzz_common.c)
set(mp_fuzz_format_main driver)
set(mp_fuzz_format_runs 10000)
set(mp_fuzz_format_sources tests/fuzz/fuzz_common.c)
set(mp_fuzz_split_main own)
set(mp_fuzz_split_runs 1000)
set(mp_fuzz_backup_main own)
set(mp_fuzz_backup_runs 5000)
set(mp_fuzz_backup_sources tools/restore/restore_codec.c)
set(mp_fuzz_backup_includes tools/restore ext)
set(mp_fuzz_report_main driver)
set(mp_fuzz_report_runs 2000)
set(mp_fuzz_report_sources tests/fuzz/fuzz_common.c)
set(mp_fuzz_enqueue_main driver)
set(mp_fuzz_enqueue_runs 2000)
set(mp_fuzz_enqueue_sources tests/fuzz/fuzz_common.c)

# --- Replays, with any compiler --------------------------------------------

foreach(name IN LISTS mp_fuzz_harnesses)
  set(target mp_fuzz_${name})
  if(TARGET ${target})
    # cmake/backup.cmake still defines it; its fuzz part belongs here.
    continue()
  endif()
  set(sources tests/fuzz/fuzz_${name}.c ${mp_fuzz_${name}_sources})
  if(mp_fuzz_${name}_main STREQUAL "driver")
    list(APPEND sources tests/fuzz/fuzz_standalone.c)
  endif()
  add_executable(${target} ${sources})
  if(mp_fuzz_${name}_main STREQUAL "own")
    target_compile_definitions(${target} PRIVATE MP_FUZZ_STANDALONE)
  endif()
  target_compile_definitions(${target} PRIVATE SQLITE_CORE
                             $<$<BOOL:${MP_FUZZ_STRICT}>:MP_FUZZ_STRICT>)
  target_include_directories(${target} PRIVATE ext ${CMAKE_BINARY_DIR}/generated
                             ${mp_fuzz_${name}_includes})
  target_link_libraries(${target} PRIVATE mp_static SQLite::SQLite3
                        OpenSSL::Crypto)
  if(UNIX)
    target_link_libraries(${target} PRIVATE m)
  endif()
  add_dependencies(${target} mp_sql_header)

  file(GLOB seeds CONFIGURE_DEPENDS ${mp_fuzz_src}/corpus/${name}/*)
  list(SORT seeds)
  set(dict "")
  if(EXISTS ${mp_fuzz_src}/${name}.dict AND mp_fuzz_${name}_main STREQUAL "driver")
    set(dict -dict=${mp_fuzz_src}/${name}.dict)
  endif()
  add_test(NAME fuzz/${name}_replay
           COMMAND ${target} -runs=${mp_fuzz_${name}_runs} ${dict} ${seeds})
  set_tests_properties(fuzz/${name}_replay PROPERTIES LABELS fuzz TIMEOUT 600)
endforeach()

# --- libFuzzer binaries, built by clang --------------------------------------

if(NOT MP_FUZZ)
  return()
endif()
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(MP_FUZZ_CLANG ${CMAKE_C_COMPILER} CACHE FILEPATH "clang for the fuzzers")
else()
  find_program(MP_FUZZ_CLANG NAMES clang clang-14 clang-15 clang-16)
endif()
if(NOT MP_FUZZ_CLANG)
  message(STATUS "mp: no clang found; libFuzzer targets fuzz_* not built")
  return()
endif()

# Does this clang link libFuzzer with ASan and UBSan (libclang-rt-*-dev)?
if(NOT DEFINED MP_FUZZ_CLANG_OK OR NOT MP_FUZZ_CLANG_CHECKED STREQUAL MP_FUZZ_CLANG)
  file(WRITE ${mp_fuzz_out}/check/check.c
       "#include <stddef.h>\n"
       "int LLVMFuzzerTestOneInput(const unsigned char *a, size_t n);\n"
       "int LLVMFuzzerTestOneInput(const unsigned char *a, size_t n) {\n"
       "  return a && n > 1 ? 0 : 0;\n}\n")
  execute_process(
    COMMAND ${MP_FUZZ_CLANG} -fsanitize=fuzzer,address,undefined
            ${mp_fuzz_out}/check/check.c -o ${mp_fuzz_out}/check/check
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    set(MP_FUZZ_CLANG_OK ON CACHE INTERNAL "")
  else()
    set(MP_FUZZ_CLANG_OK OFF CACHE INTERNAL "")
  endif()
  set(MP_FUZZ_CLANG_CHECKED ${MP_FUZZ_CLANG} CACHE INTERNAL "")
endif()
if(NOT MP_FUZZ_CLANG_OK)
  message(STATUS "mp: ${MP_FUZZ_CLANG} cannot link -fsanitize=fuzzer "
                 "(install libclang-rt-14-dev); fuzz_* not built")
  return()
endif()
message(STATUS "mp: libFuzzer targets built with ${MP_FUZZ_CLANG}")

set(mp_fuzz_cflags -std=c11 -g -O1 -fno-omit-frame-pointer
    -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -Wall -Wextra -Wstrict-prototypes -Wshadow -DSQLITE_CORE
    -I${CMAKE_CURRENT_SOURCE_DIR}/ext -I${CMAKE_BINARY_DIR}/generated)
foreach(dir IN ITEMS ${SQLite3_INCLUDE_DIRS} ${OPENSSL_INCLUDE_DIR})
  if(NOT dir STREQUAL "/usr/include")
    list(APPEND mp_fuzz_cflags -I${dir})
  endif()
endforeach()
if(MP_WERROR)
  list(APPEND mp_fuzz_cflags -Werror)
endif()
if(MP_FUZZ_STRICT)
  list(APPEND mp_fuzz_cflags -DMP_FUZZ_STRICT)
endif()
set(mp_fuzz_libs ${SQLite3_LIBRARIES} ${OPENSSL_CRYPTO_LIBRARY})
if(UNIX)
  list(APPEND mp_fuzz_libs -lm)
endif()

# Compiles src (relative to the source dir) with the fuzzing flags plus
# ARGN into build/fuzz/obj/<obj>.o; the object's path goes to out_var.
function(mp_fuzz_compile src obj out_var)
  set(o ${mp_fuzz_out}/obj/${obj}.o)
  add_custom_command(
    OUTPUT ${o}
    COMMAND ${MP_FUZZ_CLANG} ${mp_fuzz_cflags} ${ARGN} -MD -MF ${o}.d
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${o}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${src} ${CMAKE_BINARY_DIR}/generated/mp_sql.h
    DEPFILE ${o}.d
    COMMENT "Compiling ${src} for libFuzzer"
    VERBATIM)
  set(${out_var} ${o} PARENT_SCOPE)
endfunction()

# The extension, instrumented once: build/fuzz/libmp_fuzz.a.
set(mp_fuzz_objs "")
foreach(src IN LISTS MP_EXT_SOURCES)
  get_filename_component(base ${src} NAME_WE)
  mp_fuzz_compile(${src} ext_${base} o -fsanitize=fuzzer-no-link)
  list(APPEND mp_fuzz_objs ${o})
endforeach()
set(mp_fuzz_lib ${mp_fuzz_out}/libmp_fuzz.a)
add_custom_command(
  OUTPUT ${mp_fuzz_lib}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${mp_fuzz_lib}
  COMMAND ${CMAKE_AR} qc ${mp_fuzz_lib} ${mp_fuzz_objs}
  COMMAND ${CMAKE_RANLIB} ${mp_fuzz_lib}
  DEPENDS ${mp_fuzz_objs}
  COMMENT "Archiving the extension for libFuzzer"
  VERBATIM)

foreach(name IN LISTS mp_fuzz_harnesses)
  if(TARGET fuzz_${name})
    # cmake/backup.cmake still defines it; its fuzz part belongs here.
    continue()
  endif()
  set(objs "")
  set(incs "")
  foreach(dir IN LISTS mp_fuzz_${name}_includes)
    list(APPEND incs -I${CMAKE_CURRENT_SOURCE_DIR}/${dir})
  endforeach()
  foreach(src IN ITEMS tests/fuzz/fuzz_${name}.c ${mp_fuzz_${name}_sources})
    get_filename_component(base ${src} NAME_WE)
    mp_fuzz_compile(${src} ${name}_${base} o -fsanitize=fuzzer ${incs})
    list(APPEND objs ${o})
  endforeach()
  set(bin ${mp_fuzz_out}/fuzz_${name})
  add_custom_command(
    OUTPUT ${bin}
    COMMAND ${MP_FUZZ_CLANG} -fsanitize=fuzzer,address,undefined ${objs}
            ${mp_fuzz_lib} ${mp_fuzz_libs} -o ${bin}
    DEPENDS ${objs} ${mp_fuzz_lib}
    COMMENT "Linking libFuzzer harness fuzz/fuzz_${name}"
    VERBATIM)
  add_custom_target(fuzz_${name} ALL DEPENDS ${bin})
  add_dependencies(fuzz_${name} mp_sql_header)

  set(dict "")
  if(EXISTS ${mp_fuzz_src}/${name}.dict)
    set(dict -DDICT=${mp_fuzz_src}/${name}.dict)
  endif()
  add_test(NAME fuzz/${name}
           COMMAND ${CMAKE_COMMAND} -DFUZZER=${bin}
                   -DCORPUS=${mp_fuzz_src}/corpus/${name}
                   -DWORK=${mp_fuzz_out}/run/${name}
                   -DSECONDS=${MP_FUZZ_SECONDS} ${dict}
                   -P ${mp_fuzz_src}/run_fuzzer.cmake)
  math(EXPR timeout "${MP_FUZZ_SECONDS} * 3 + 120")
  set_tests_properties(fuzz/${name} PROPERTIES LABELS fuzz TIMEOUT ${timeout})
endforeach()
