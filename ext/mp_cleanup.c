/*
** SPDX-License-Identifier: MIT
**
** mp_cleanup.c: retention.
**
**   SELECT mp_cleanup();     -- terminal rows older than retention_days
**   SELECT mp_cleanup(7);    -- ... older than 7 days; returns the count
**
** Only messages that reached a terminal state (confirmed, failed) are ever
** deleted, and only once they have been terminal for the retention period
** (counted from updated_at, when they got there). A pending or sent
** message is never deleted, however old.
**
** HOW IT WORKS
**
** The table is walked in seq order, 1,000 rows per transaction, so that
** producers wait at most one short batch for the write lock. Rows are
** appended in time order, so the walk stops at the first row created after
** the cutoff: cleaning costs what there is to clean, not the table size.
** Each batch counts its deletions in messages_cleaned in the same
** transaction. Afterwards the freed pages go back to the file system
** (incremental auto-vacuum, on in databases that had it set before their
** first table: mp_init() sets it on a new database unless journal_mode=WAL
** came first, and mp-runner sets it before WAL) and the WAL is
** checkpointed, then truncated when every frame made it into the
** database, so neither file grows without bound.
*/
#include "mp_int.h"

#define MP_CLEANUP_BATCH 1000

/*
** Runs one statement that returns an integer (or nothing) and stores the
** value in *piOut. Returns an SQLite result code.
*/
static int mpCleanupQuery(MpState *p, const char *zSql, i64 iArg, i64 *piOut) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_bind_parameter_count(pStmt) > 0) {
    sqlite3_bind_int64(pStmt, 1, iArg);
  }
  if (sqlite3_step(pStmt) == SQLITE_ROW)
    *piOut = sqlite3_column_int64(pStmt, 0);
  return sqlite3_finalize(pStmt);
}

/*
** Deletes the old terminal rows among seq in (iFrom, iTo], counts them in
** messages_cleaned, all in one transaction. Adds the count to *pnDeleted.
** Returns an SQLite result code.
*/
static int mpCleanupBatch(MpState *p, i64 iFrom, i64 iTo, i64 iCutoff,
                          i64 *pnDeleted) {
  sqlite3_stmt *pStmt = 0;
  i64 n = 0;
  int rc = mpBegin(p);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_prepare_v2(p->db,
                          "DELETE FROM messages WHERE seq > ?1 AND seq <= ?2 "
                          "AND (status = 'confirmed' OR status = 'failed') "
                          "AND updated_at < ?3",
                          -1, &pStmt, 0);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, iFrom);
    sqlite3_bind_int64(pStmt, 2, iTo);
    sqlite3_bind_int64(pStmt, 3, iCutoff);
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
    n = sqlite3_changes64(p->db);
  }
  if (rc == SQLITE_OK && n > 0) rc = mpCounterAdd(p, "cleaned", n);
  if (rc != SQLITE_OK) {
    mpRollback(p);
    return rc;
  }
  rc = mpCommit(p);
  if (rc == SQLITE_OK) *pnDeleted += n;
  return rc;
}

/*
** Gives free pages back and checkpoints the WAL, when the connection is
** not inside a transaction (both are impossible there). Sets *pnFreed to
** the pages given back. Best effort: a busy checkpoint is not an error.
*/
static int mpCleanupReclaim(MpState *p, i64 *pnFreed) {
  i64 nBefore = 0, nAfter = 0, eVacuum = 0;
  int rc;
  *pnFreed = 0;
  if (!sqlite3_get_autocommit(p->db)) return SQLITE_OK;
  rc = mpCleanupQuery(p, "PRAGMA auto_vacuum", 0, &eVacuum);
  if (rc == SQLITE_OK && eVacuum == 2) {
    rc = mpCleanupQuery(p, "PRAGMA freelist_count", 0, &nBefore);
    if (rc == SQLITE_OK) {
      rc = sqlite3_exec(p->db, "PRAGMA incremental_vacuum", 0, 0, 0);
    }
    if (rc == SQLITE_OK) {
      rc = mpCleanupQuery(p, "PRAGMA freelist_count", 0, &nAfter);
    }
    if (rc == SQLITE_OK && nBefore > nAfter) *pnFreed = nBefore - nAfter;
  }
  if (rc == SQLITE_OK) {
    int nLog = 0, nDone = 0;
    sqlite3_wal_checkpoint_v2(p->db, "main", SQLITE_CHECKPOINT_PASSIVE, &nLog,
                              &nDone);
    if (nLog > 0 && nLog == nDone) {
      /* Everything is in the database: give the WAL's space back too. */
      sqlite3_wal_checkpoint_v2(p->db, "main", SQLITE_CHECKPOINT_TRUNCATE, 0,
                                0);
    }
  }
  return rc;
}

/*
** Deletes terminal messages that have been terminal for iRetentionDays,
** in batches, then reclaims space. Sets *pnDeleted and *pnFreedPages and
** records last_cleanup. Returns an SQLite result code; *pzErr is left
** NULL (the message is on the connection).
*/
int mpCleanupRun(MpState *p, i64 iRetentionDays, i64 *pnDeleted,
                 i64 *pnFreedPages, char **pzErr) {
  i64 iNowS = mpNowMs(p) / 1000;
  i64 iCutoff = iNowS - iRetentionDays * 86400;
  i64 iFrom = 0;
  int rc = SQLITE_OK;
  *pnDeleted = *pnFreedPages = 0;
  *pzErr = 0;
  for (;;) {
    i64 iFirstCreated = -1, iTo = -1;
    rc = mpCleanupQuery(p,
                        "SELECT created_at FROM messages WHERE seq > ?1 "
                        "ORDER BY seq LIMIT 1",
                        iFrom, &iFirstCreated);
    if (rc != SQLITE_OK || iFirstCreated < 0 || iFirstCreated >= iCutoff) {
      break;
    }
    rc = mpCleanupQuery(p,
                        "SELECT max(seq) FROM (SELECT seq FROM messages "
                        "WHERE seq > ?1 ORDER BY seq LIMIT 1000)",
                        iFrom, &iTo);
    if (rc != SQLITE_OK || iTo <= iFrom) break;
    rc = mpCleanupBatch(p, iFrom, iTo, iCutoff, pnDeleted);
    if (rc != SQLITE_OK) break;
    iFrom = iTo;
  }
  if (rc == SQLITE_OK) {
    rc = mpBegin(p);
    if (rc == SQLITE_OK) {
      char *zSql = sqlite3_mprintf(
          "INSERT INTO mp_meta(key, value) VALUES ('last_cleanup', %lld) "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          iNowS);
      rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if (rc == SQLITE_OK) {
        rc = mpCommit(p);
      } else {
        mpRollback(p);
      }
    }
  }
  if (rc == SQLITE_OK) rc = mpCleanupReclaim(p, pnFreedPages);
  return rc;
}

/*
** mp_cleanup([retention_days]): deletes terminal messages older than the
** retention (default: the retention_days setting) and returns how many.
** MP_FN_UNSAFE: it deletes.
*/
static void mpCleanupFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  static const char zFunc[] = "mp_cleanup";
  MpState *p = sqlite3_user_data(ctx);
  i64 iDays = -1, nDeleted = 0, nFreed = 0;
  char *zErr = 0;
  int rc;
  if (argc == 1 && sqlite3_value_type(argv[0]) != SQLITE_NULL) {
    if (mpArgInt(ctx, argv[0], zFunc, "retention_days", &iDays)) return;
    if (iDays < 0 || iDays > 36500) {
      mpResultErrorf(ctx, "%s: retention_days must be between 0 and 36500",
                     zFunc);
      return;
    }
  }
  if (mpRequireSchema(ctx, p, zFunc)) return;
  rc = iDays < 0 ? mpConfigInt(p, "retention_days", &iDays) : SQLITE_OK;
  if (rc == SQLITE_OK) {
    rc = mpCleanupRun(p, iDays, &nDeleted, &nFreed, &zErr);
  }
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    sqlite3_free(zErr);
    return;
  }
  sqlite3_result_int64(ctx, nDeleted);
}

/*
** Registers mp_cleanup(). Returns an SQLite result code.
*/
int mpRegisterCleanup(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_cleanup", 0, MP_FN_UNSAFE, mpCleanupFunc },
    { "mp_cleanup", 1, MP_FN_UNSAFE, mpCleanupFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
