/*
** SPDX-License-Identifier: MIT
**
** Two tiny SQLite extensions for the mp-slt self-test, built from this
** one file by run_selftest.sh when a C compiler is available:
**
**   okext.so    registers slt_selftest_answer(), which returns 42
**   leakext.so  the same, but its entry point leaks 64 bytes of SQLite
**               memory on purpose, which mp-slt must report
**
** SQLite derives the entry point from the file name, so okext.so uses
** sqlite3_okext_init() and leakext.so uses sqlite3_leakext_init().
*/
#include <stddef.h>

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

/*
** SQL function slt_selftest_answer(): returns the integer 42.
*/
static void sltAnswerFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_int(ctx, 42);
}

/*
** Register slt_selftest_answer() on db. Returns an SQLite result code.
*/
static int sltRegister(sqlite3 *db) {
  return sqlite3_create_function(db, "slt_selftest_answer", 0,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                     SQLITE_INNOCUOUS,
                                 NULL, sltAnswerFunc, NULL, NULL);
}

/*
** Entry point of okext.so.
*/
#ifdef _WIN32
__declspec(dllexport)
#endif
    int sqlite3_okext_init(sqlite3 *db, char **pzErrMsg,
                           const sqlite3_api_routines *pApi) {
  SQLITE_EXTENSION_INIT2(pApi);
  (void)pzErrMsg;
  return sltRegister(db);
}

/* Memory that leakext.so allocates and never frees. */
static void *pLeak = NULL;

/*
** Entry point of leakext.so: registers the function and leaks 64 bytes.
*/
#ifdef _WIN32
__declspec(dllexport)
#endif
    int sqlite3_leakext_init(sqlite3 *db, char **pzErrMsg,
                             const sqlite3_api_routines *pApi) {
  SQLITE_EXTENSION_INIT2(pApi);
  (void)pzErrMsg;
  pLeak = sqlite3_malloc(64);
  return sltRegister(db);
}
