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

/*
** Names the harness (zHarness, a string literal) in every message and
** says how to print the input being run: xPrint(pInput), or nothing when
** xPrint is NULL. Call it at the start of each input, before anything
** here may fail.
*/
void fuzzBegin(const char *zHarness, FuzzPrintInput xPrint, const void *pInput);

/*
** Prints "<harness>: zWhy", then zMore (NULL: nothing) and the input, to
** stderr, and aborts.
*/
_Noreturn void fuzzFail(const char *zWhy, const char *zMore);

/*
** Returns a malloc'd copy of z[0..n) with a NUL after it. Aborts on OOM.
*/
char *fuzzDup(const char *z, int n);

/*
** Returns a malloc'd copy of the C string z ("" for NULL). Aborts on OOM.
*/
char *fuzzDupStr(const char *z);

/*
** Returns column iCol of the current row of pStmt as malloc'd text, all
** its bytes ("" for NULL). Aborts on OOM.
*/
char *fuzzColumnDup(sqlite3_stmt *pStmt, int iCol);

/*
** Opens the :memory: database and registers mp in it, on first use.
** Returns 1 when this call opened it, 0 when it was open already. Aborts
** when it cannot.
*/
int fuzzOpen(void);

/*
** Creates mp's schema with mp_init(zConfigJson) and fixes the clock at
** MP_FUZZ_NOW. Aborts when either fails.
*/
void fuzzInitQueue(const char *zConfigJson);

/*
** Returns the message of the database's last error.
*/
const char *fuzzErrmsg(void);

/*
** Returns the statement for zSql, a string literal: prepared on first
** use, afterwards the cached one (the cache is keyed by the literal's
** address). Hand it back with fuzzDone(). Aborts when it cannot be
** prepared.
*/
sqlite3_stmt *fuzzPrepare(const char *zSql);

/*
** Resets a statement from fuzzPrepare() and clears its bindings.
*/
void fuzzDone(sqlite3_stmt *pStmt);

/*
** Runs zSql, one or more statements that must succeed; aborts otherwise.
*/
void fuzzExec(const char *zSql);

/*
** Runs a one-value query with up to two text parameters (NULL: left
** unbound) and returns its integer result (0 for NULL). Aborts when it
** returns no row.
*/
i64 fuzzInt(const char *zSql, const char *z1, const char *z2);

/*
** Runs a one-value query with an optional text parameter (NULL: left
** unbound) and returns its result as malloc'd text ("" for NULL). Aborts
** when it returns no row.
*/
char *fuzzText(const char *zSql, const char *z1);

/*
** Returns the whole state a call of mp may change, as one text: every
** column of every message (texts and blobs in hex), the attempt log, the
** counters, the pacing rows and the settings. Two snapshots are equal
** exactly when nothing changed. The caller frees it.
*/
char *fuzzSnapshot(void);

/*
** Checks what must hold after every input of a queue harness:
** mp_verify() is 0, mp_stats agrees with the messages table for every
** status and the total, and PRAGMA integrity_check is ok. Aborts
** otherwise.
*/
void fuzzCheckQueue(void);

/*
** Returns 1 if z[0..n) is UTF-8 without NUL, overlong forms, surrogates
** or code points above U+10FFFF, else 0. An independent decoder: it
** shares nothing with mp's own checks.
*/
int fuzzUtf8(const unsigned char *z, int n);

/*
** Returns 1 if z[0..n) is UTF-8 as fuzzUtf8() reads it, apart from NUL
** bytes, which it allows, else 0.
*/
int fuzzUtf8WithNul(const unsigned char *z, int n);

/*
** Returns the deepest nesting of arrays and objects in the JSON text
** z[0..n), strings skipped.
*/
int fuzzJsonDepth(const char *z, int n);

#endif /* MP_FUZZ_COMMON_H */
