/*
** SPDX-License-Identifier: MIT
**
** fuzz_common.h: what the harnesses that drive mp through SQL share
** (fuzz_enqueue.c, fuzz_report.c, fuzz_format.c, fuzz_json.c): one
** :memory: database with mp compiled in (-DSQLITE_CORE) and registered,
** statements prepared once and cached, one-value queries that abort when
** they fail, the checks every queue must pass after an input, and
** independent readers of UTF-8 and JSON nesting that the harnesses use as
** oracles.
**
** A failed property aborts through fuzzFail(), which prints the harness's
** name, what failed and the input being run (as the harness printed it,
** see fuzzBegin()). Link fuzz_common.c with the harness and the extension.
*/
#ifndef MP_FUZZ_COMMON_H
#define MP_FUZZ_COMMON_H

#include "mp_int.h"

#include <stddef.h>

/* The fixed clock of the queue harnesses, ms (fuzzInitQueue()). */
#define MP_FUZZ_NOW 1700000000000LL

int sqlite3_mp_init(sqlite3 *db, char **pzErrMsg,
                    const sqlite3_api_routines *pApi);
int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData);

/* Prints the input being run to stderr, after a failure's message. */
typedef void (*FuzzPrintInput)(const void *pInput);

/* Failures (see fuzz_common.c for each function's contract). */
void fuzzBegin(const char *zHarness, FuzzPrintInput xPrint, const void *pInput);
_Noreturn void fuzzFail(const char *zWhy, const char *zMore);

/* Copies that abort on OOM. */
char *fuzzDup(const char *z, int n);
char *fuzzDupStr(const char *z);
char *fuzzColumnDup(sqlite3_stmt *pStmt, int iCol);

/* The database and its statements. */
int fuzzOpen(void);
void fuzzInitQueue(const char *zConfigJson);
const char *fuzzErrmsg(void);
sqlite3_stmt *fuzzPrepare(const char *zSql);
void fuzzDone(sqlite3_stmt *pStmt);
void fuzzExec(const char *zSql);
i64 fuzzInt(const char *zSql, const char *z1, const char *z2);
char *fuzzText(const char *zSql, const char *z1);

/* What must hold of a queue. */
char *fuzzSnapshot(void);
void fuzzCheckQueue(void);

/* Independent oracles. */
int fuzzUtf8(const unsigned char *z, int n);
int fuzzUtf8WithNul(const unsigned char *z, int n);
int fuzzJsonDepth(const char *z, int n);

#endif /* MP_FUZZ_COMMON_H */
