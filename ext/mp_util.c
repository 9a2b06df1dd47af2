/*
** SPDX-License-Identifier: MIT
**
** mp_util.c: what every SQL function of mp needs.
**
**   - error results that name the function (mpResultErrorf),
**   - argument checks that give the same message everywhere (mpArgInt,
**     mpArgText),
**   - a cache of prepared statements (mpStmt), finalized at close,
**   - one transaction discipline for every state change (mpBegin,
**     mpCommit, mpRollback).
**
** HOW TRANSACTIONS WORK
**
** Each function that changes state opens SAVEPOINT mp_txn and then makes
** sure it holds the write lock before it reads anything: in WAL mode a
** reader that later tries to write fails with SQLITE_BUSY_SNAPSHOT if
** another connection wrote in between, and the busy timeout cannot help.
** Taking the write lock first makes every transition wait its turn
** instead. Inside a caller's own transaction the savepoint nests, so a
** transition is atomic either way.
**
** SQLite refuses a savepoint while an INSERT, UPDATE or DELETE statement
** runs (say INSERT INTO log SELECT * FROM mp_claim(10)). In autocommit
** mode that statement's transaction holds everything the function does,
** and SQLite rolls all of it back when the function reports an error, so
** the function goes on without its savepoint; a failure must then always
** end in an error result. Inside an explicit transaction that guarantee
** is gone, and the function refuses to run (mpResultDbError() explains).
*/
#include "mp_int.h"

#include <stdarg.h>
#include <string.h>

/*
** Sets the result of ctx to an error built from a printf-style format.
** On OOM the result is SQLITE_NOMEM.
*/
void mpResultErrorf(sqlite3_context *ctx, const char *zFormat, ...) {
  va_list ap;
  char *zMsg;
  va_start(ap, zFormat);
  zMsg = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if (zMsg == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_error(ctx, zMsg, -1);
  sqlite3_free(zMsg);
}

/*
** Sets the error of ctx to zMsg (from sqlite3_malloc; NULL means OOM) and
** frees it. Codes that say "try again" or "too big" are kept; the others
** (a refused call) are reported as SQLITE_ERROR.
*/
void mpResultMsg(sqlite3_context *ctx, int rc, char *zMsg) {
  if (zMsg == 0 || rc == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
  } else {
    sqlite3_result_error(ctx, zMsg, -1);
    if (rc != SQLITE_NOTFOUND && rc != SQLITE_CONSTRAINT &&
        rc != SQLITE_ERROR && rc != SQLITE_MISMATCH) {
      sqlite3_result_error_code(ctx, rc);
    }
  }
  sqlite3_free(zMsg);
}

/*
** Reports a failed nested statement as "zFunc: <sqlite message>", keeping
** the error code (SQLITE_BUSY stays SQLITE_BUSY so callers can retry).
*/
void mpResultDbError(sqlite3_context *ctx, const char *zFunc, sqlite3 *db,
                     int rc) {
  MpState *p = sqlite3_user_data(ctx);
  const char *zMsg = p && p->db == db ? mpErrMsg(p) : sqlite3_errmsg(db);
  if (rc == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
  } else {
    if (strncmp(zMsg, "cannot open savepoint", 21) == 0) rc = SQLITE_ERROR;
    mpResultMsg(ctx, rc, mpDbErrorText(db, zFunc, zMsg));
  }
  if (p && p->db == db) mpErrClear(p); /* reported: never shown again */
}

/*
** Returns "zFunc: zMsg" for a failed nested statement, explaining the two
** messages a user can act on, from sqlite3_malloc (NULL on OOM).
*/
char *mpDbErrorText(sqlite3 *db, const char *zFunc, const char *zMsg) {
  if (strncmp(zMsg, "cannot open savepoint", 21) == 0) {
    /* SQLite refuses a savepoint while an INSERT/UPDATE/DELETE runs. */
    return sqlite3_mprintf(
        "%s: cannot run inside an INSERT, UPDATE or DELETE "
        "statement%s; call it from a SELECT",
        zFunc, sqlite3_get_autocommit(db) ? "" : " within BEGIN ... COMMIT");
  }
  if (strncmp(zMsg, "no such table: ", 15) == 0) {
    return sqlite3_mprintf("%s: %s (run SELECT mp_init() first)", zFunc, zMsg);
  }
  return sqlite3_mprintf("%s: %s", zFunc, zMsg);
}

/*
** Reads pVal as an integer: an INTEGER, or a REAL holding a whole number
** within the int64 range. Returns SQLITE_OK with *piOut set, else
** SQLITE_MISMATCH.
*/
int mpValueInt(sqlite3_value *pVal, i64 *piOut) {
  if (sqlite3_value_type(pVal) == SQLITE_INTEGER) {
    *piOut = sqlite3_value_int64(pVal);
    return SQLITE_OK;
  }
  if (sqlite3_value_type(pVal) == SQLITE_FLOAT) {
    double r = sqlite3_value_double(pVal);
    if (r >= -9223372036854775808.0 && r < 9223372036854775808.0 &&
        r == (double)(i64)r) {
      *piOut = (i64)r;
      return SQLITE_OK;
    }
  }
  return SQLITE_MISMATCH;
}

/*
** Returns the message of the last failed step: the one saved by
** mpRollback() if any (a rollback resets the connection's), else the
** connection's. Valid until the next mp call on the connection.
*/
const char *mpErrMsg(MpState *p) {
  return p->zSavedErr ? p->zSavedErr : sqlite3_errmsg(p->db);
}

/*
** Forgets the message mpRollback() saved, so that a later failure reports
** its own. Called where a write starts and once an error is reported.
*/
void mpErrClear(MpState *p) {
  if (p->zSavedErr) {
    sqlite3_free(p->zSavedErr);
    p->zSavedErr = 0;
  }
}

/*
** Returns "zFunc: <message of the last failed step>" (mpErrMsg(),
** mpDbErrorText()) from sqlite3_malloc, or NULL on OOM, and forgets the
** saved message: it is reported once.
*/
char *mpErrTake(MpState *p, const char *zFunc) {
  char *zErr = mpDbErrorText(p->db, zFunc, mpErrMsg(p));
  mpErrClear(p);
  return zErr;
}

/*
** Reads an integer argument. Integers are taken as they are; REAL values
** that hold a whole number are accepted (what Node binds), fractional ones
** are refused. Returns SQLITE_OK with *piOut set, or sets an error on ctx
** ("zFunc: zArg must be an integer") and returns SQLITE_MISMATCH.
*/
int mpArgInt(sqlite3_context *ctx, sqlite3_value *pVal, const char *zFunc,
             const char *zArg, i64 *piOut) {
  if (mpValueInt(pVal, piOut) == SQLITE_OK) return SQLITE_OK;
  switch (sqlite3_value_type(pVal)) {
    case SQLITE_FLOAT:
      mpResultErrorf(ctx, "%s: %s must be an integer, got %!.15g", zFunc, zArg,
                     sqlite3_value_double(pVal));
      return SQLITE_MISMATCH;
    case SQLITE_NULL:
      mpResultErrorf(ctx, "%s: %s must be an integer, got NULL", zFunc, zArg);
      return SQLITE_MISMATCH;
    default:
      mpResultErrorf(ctx, "%s: %s must be an integer, got %s", zFunc, zArg,
                     sqlite3_value_type(pVal) == SQLITE_TEXT ? "text"
                                                             : "a blob");
      return SQLITE_MISMATCH;
  }
}

/*
** Reads a text argument: must be TEXT (or NULL when bAllowNull), valid
** UTF-8, at most nMax bytes, and not empty. Returns SQLITE_OK with *pzOut
** (NULL for an allowed NULL) and *pnOut, or sets an error on ctx naming
** zFunc and zArg and returns an error code (SQLITE_TOOBIG for oversize).
*/
int mpArgText(sqlite3_context *ctx, sqlite3_value *pVal, const char *zFunc,
              const char *zArg, int nMax, int bAllowNull, const char **pzOut,
              int *pnOut) {
  int eType = sqlite3_value_type(pVal);
  const unsigned char *z;
  int n;
  *pzOut = 0;
  if (pnOut) *pnOut = 0;
  if (eType == SQLITE_NULL && bAllowNull) return SQLITE_OK;
  if (eType != SQLITE_TEXT) {
    mpResultErrorf(ctx, "%s: %s must be text, got %s", zFunc, zArg,
                   eType == SQLITE_NULL      ? "NULL"
                   : eType == SQLITE_BLOB    ? "a blob"
                   : eType == SQLITE_INTEGER ? "an integer"
                                             : "a real");
    return SQLITE_MISMATCH;
  }
  z = sqlite3_value_text(pVal);
  n = sqlite3_value_bytes(pVal);
  if (z == 0) {
    sqlite3_result_error_nomem(ctx);
    return SQLITE_NOMEM;
  }
  if (n == 0) {
    mpResultErrorf(ctx, "%s: %s must not be empty", zFunc, zArg);
    return SQLITE_MISMATCH;
  }
  if (n > nMax) {
    mpResultErrorf(ctx, "%s: %s is too long (%d bytes, the limit is %d)", zFunc,
                   zArg, n, nMax);
    sqlite3_result_error_code(ctx, SQLITE_TOOBIG);
    return SQLITE_TOOBIG;
  }
  if (!mpUtf8Valid(z, n)) {
    mpResultErrorf(ctx, "%s: %s is not valid UTF-8", zFunc, zArg);
    return SQLITE_MISMATCH;
  }
  *pzOut = (const char *)z;
  if (pnOut) *pnOut = n;
  return SQLITE_OK;
}

/*
** Makes sure the cached statements will be finalized before the
** connection closes. sqlite3_close() disconnects every virtual table
** before it checks for unfinalized statements, so statements owned by the
** connected mp_stats table never keep a connection open. Preparing a
** statement that names mp_stats connects it; its xDisconnect calls
** mpStmtFinalizeAll(). Returns an SQLite result code.
*/
static int mpAnchor(MpState *p) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (p->bAnchored) return SQLITE_OK;
  rc = sqlite3_prepare_v2(p->db, "SELECT 0 FROM mp_stats LIMIT 0", -1, &pStmt,
                          0);
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Returns the cached statement in slot iSlot, preparing zSql on first use,
** or NULL with the error left on the connection. The statement is reset
** and ready to bind; hand it back with mpStmtFinish().
*/
sqlite3_stmt *mpStmt(MpState *p, int iSlot, const char *zSql) {
  sqlite3_stmt *pStmt = p->apStmt[iSlot];
  if (pStmt == 0) {
    if (mpAnchor(p) != SQLITE_OK) return 0;
    if (sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, &pStmt,
                           0) != SQLITE_OK) {
      return 0;
    }
    p->apStmt[iSlot] = pStmt;
  }
  return pStmt;
}

/*
** Resets a cached statement and clears its bindings so that it holds no
** references. Returns the result code of the statement's last step.
*/
int mpStmtFinish(sqlite3_stmt *pStmt) {
  int rc = sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  return rc;
}

/*
** Finalizes every cached statement. Called when mp_stats is disconnected,
** which sqlite3_close() does before it checks for open statements.
*/
void mpStmtFinalizeAll(MpState *p) {
  for (int i = 0; i < MP_STMT_COUNT; i++) {
    sqlite3_finalize(p->apStmt[i]);
    p->apStmt[i] = 0;
  }
}

/*
** Runs one of the fixed transaction statements below from the statement
** cache (parsing them on every call cost more than the rest of a
** confirm). Returns an SQLite result code, the message on the connection.
*/
static int mpExec(MpState *p, int iSlot, const char *zSql) {
  sqlite3_stmt *pStmt = mpStmt(p, iSlot, zSql);
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_step(pStmt);
  return mpStmtFinish(pStmt);
}

/*
** Opens the savepoint of one transition and takes the write lock (see HOW
** TRANSACTIONS WORK above). Returns SQLITE_OK, or an error code with no
** savepoint left open.
*/
int mpBegin(MpState *p) {
  int rc;
  mpErrClear(p);
  /* Prepare what closes the savepoint first: once it is open, closing it
  ** must not depend on memory being available. */
  if (mpStmt(p, MP_STMT_ROLLBACK_TO, "ROLLBACK TO mp_txn") == 0 ||
      mpStmt(p, MP_STMT_RELEASE, "RELEASE mp_txn") == 0) {
    return sqlite3_errcode(p->db) ? sqlite3_errcode(p->db) : SQLITE_NOMEM;
  }
  rc = mpExec(p, MP_STMT_SAVEPOINT, "SAVEPOINT mp_txn");
  if (rc != SQLITE_OK) {
    if (!sqlite3_get_autocommit(p->db) ||
        strncmp(sqlite3_errmsg(p->db), "cannot open savepoint", 21) != 0) {
      return rc;
    }
    /* Called from an INSERT/UPDATE/DELETE in autocommit mode (see HOW
    ** TRANSACTIONS WORK): that statement's transaction is ours. */
    p->nInStatement++;
  }
  if (sqlite3_txn_state(p->db, "main") != SQLITE_TXN_WRITE) {
    sqlite3_stmt *pLock =
        mpStmt(p, MP_STMT_LOCK, "UPDATE mp_meta SET value = value WHERE 0");
    if (pLock == 0) {
      rc = sqlite3_errcode(p->db);
    } else {
      sqlite3_step(pLock);
      rc = mpStmtFinish(pLock);
    }
    if (rc != SQLITE_OK) {
      mpRollback(p);
      return rc;
    }
  }
  return SQLITE_OK;
}

/*
** Releases the savepoint: commits when it opened the transaction. Returns
** an SQLite result code; on failure the changes are rolled back.
*/
int mpCommit(MpState *p) {
  int rc;
  if (p->nInStatement > 0) {
    p->nInStatement--;
    return SQLITE_OK;
  }
  rc = mpExec(p, MP_STMT_RELEASE, "RELEASE mp_txn");
  if (rc != SQLITE_OK) {
    mpRollback(p);
  } else {
    mpErrClear(p); /* committed: what a refused part saved is moot */
  }
  return rc;
}

/*
** Ends the transaction of a transition: on rc == SQLITE_OK commits, else
** reports rc on ctx as "zFunc: <message>" and rolls back. Returns the
** final result code; the caller sets its result only on SQLITE_OK.
*/
int mpEnd(sqlite3_context *ctx, MpState *p, const char *zFunc, int rc) {
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    mpRollback(p);
    return rc;
  }
  rc = mpCommit(p);
  if (rc != SQLITE_OK) mpResultDbError(ctx, zFunc, p->db, rc);
  return rc;
}

/*
** Undoes everything since mpBegin() and closes the savepoint. That resets
** the connection's error message, so the message is saved for mpErrMsg().
*/
void mpRollback(MpState *p) {
  if (p->zSavedErr == 0 && sqlite3_errcode(p->db) != SQLITE_OK) {
    p->zSavedErr = sqlite3_mprintf("%s", sqlite3_errmsg(p->db));
  }
  if (p->nInStatement > 0) {
    /* The caller fails its statement, and SQLite rolls back the
    ** autocommit transaction with everything done here. */
    p->nInStatement--;
    return;
  }
  mpExec(p, MP_STMT_ROLLBACK_TO, "ROLLBACK TO mp_txn");
  mpExec(p, MP_STMT_RELEASE, "RELEASE mp_txn");
}

/*
** Adds iDelta to the mp_stats counter zName (one single-row UPDATE; a
** "WHERE name = ?1 OR name = ?2" form costs 3.7x as much, SQLite 3.40
** building an IN-list table for it). Returns an SQLite result code.
*/
int mpCounterAdd(MpState *p, const char *zName, i64 iDelta) {
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_COUNTER_ADD,
             "UPDATE mp_counter SET n = n + ?2 WHERE name = ?1");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, iDelta);
  sqlite3_step(pStmt);
  return mpStmtFinish(pStmt);
}

/*
** Checks that mp_init() has created the schema. Returns SQLITE_OK, or sets
** "zFunc: no mp schema in this database; run SELECT mp_init() first" on
** ctx and returns SQLITE_ERROR.
*/
int mpRequireSchema(sqlite3_context *ctx, MpState *p, const char *zFunc) {
  sqlite3_stmt *pStmt = 0;
  int bFound = 0;
  if (sqlite3_prepare_v2(p->db,
                         "SELECT 1 FROM sqlite_schema WHERE type = 'table' "
                         "AND name = 'mp_counter'",
                         -1, &pStmt, 0) == SQLITE_OK) {
    bFound = sqlite3_step(pStmt) == SQLITE_ROW;
  }
  sqlite3_finalize(pStmt);
  if (bFound) return SQLITE_OK;
  mpResultErrorf(ctx,
                 "%s: no mp schema in this database; run SELECT mp_init() "
                 "first",
                 zFunc);
  return SQLITE_ERROR;
}

/*
** Registers each function of aFunc with p as its user data. Stops at the
** first failure, sets *pzErrMsg to "mp: cannot register NAME: REASON" and
** returns its code.
*/
int mpRegisterFunctions(sqlite3 *db, MpState *p, const MpFunction *aFunc,
                        int nFunc, char **pzErrMsg) {
  for (int i = 0; i < nFunc; i++) {
    int rc =
        sqlite3_create_function_v2(db, aFunc[i].zName, aFunc[i].nArg,
                                   aFunc[i].eFlags, p, aFunc[i].xFunc, 0, 0, 0);
    if (rc != SQLITE_OK) {
      *pzErrMsg = sqlite3_mprintf("mp: cannot register %s: %s", aFunc[i].zName,
                                  sqlite3_errmsg(db));
      return rc;
    }
  }
  return SQLITE_OK;
}

/*
** Sets the result of SQL function zFunc from pOut and frees pOut: the JSON
** text built in pOut (subtype 'J') when rc is SQLITE_OK and pOut did not
** run out of memory, else that error, reported with db's message as
** mpResultDbError() does. Used by the batch functions and mp_tick().
*/
void mpResultJson(sqlite3_context *ctx, const char *zFunc, sqlite3 *db, int rc,
                  sqlite3_str *pOut) {
  if (rc == SQLITE_OK) rc = sqlite3_str_errcode(pOut);
  if (rc != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(pOut));
    mpResultDbError(ctx, zFunc, db, rc);
    return;
  }
  sqlite3_result_text(ctx, sqlite3_str_finish(pOut), -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}
