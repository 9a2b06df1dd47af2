/*
** SPDX-License-Identifier: MIT
**
** mp_recover.c: taking back messages whose sender went away.
**
**   SELECT mp_recover();          -- expired leases; returns the count
**   SELECT mp_recover('runner-1');  -- also every lease held by runner-1
**
** A 'sent' message whose lease ran out (or that has none: made 'sent' with
** plain SQL) may or may not have reached
** Telegram: its sender died between writing 'sent' and recording the
** outcome. recovery_policy decides:
**
**   at_least_once (default)  back to pending, due now, at least high
**                            priority, in_doubt = 1 (it may arrive twice)
**   at_most_once             failed, with the reason in error_message
**
** A runner calls mp_recover(its worker name) when it starts, to take back
** what it held when it crashed, whether or not the lease has run out.
** Recovery does not count as a retry: a crash is not the message's fault.
**
** HOW IT WORKS
**
** The messages in flight are the 'sent' prefix of the queue index, in the
** order (priority, order_at, seq). Recovery walks that prefix in batches
** of MP_RECOVER_BATCH entries, one transaction each: producers and senders
** wait at most one batch for the write lock, and the journal of a batch
** (every page it changes is copied once inside mp's savepoint) stays a few
** megabytes however many messages come back. Within a priority the index
** groups the messages by order_at (0 for all but delayed ones) and then
** orders them by seq, so a batch is a few index ranges (seqs of one group,
** or whole groups), each taken back by one UPDATE; a message that is
** taken back leaves the prefix, and one whose lease still runs is passed
** over once, never read again by the same call. Each batch counts what
** it took back in the same transaction, so a crash between batches leaves
** every message either taken back and counted or untouched, and calling
** mp_recover() again finishes the work. The count returned is the total
** of all batches.
**
** Rewriting each message (its status moves it from one part of the queue
** index to another) is most of the cost: about 24,000 instructions per
** message (BENCHMARKS.md, "Flat-cost findings").
*/
#include "mp_int.h"

#include <string.h>

#define MP_RECOVER_BATCH 1000  /* queue index entries per transaction */
#define MP_RECOVER_LOW   -1e19 /* below every seq (a REAL compares exactly) */

/* The two policies' changes; ?1 is the time (ms). */
#define MP_RECOVER_SET_PENDING                                            \
 "UPDATE messages SET status = 'pending', priority = max(priority, 2), "  \
 "in_doubt = 1, due_at = ?1, error_message = 'lease expired while sent; " \
 "may have been delivered', lease_until = NULL, lease_token = NULL, "     \
 "worker = NULL, revision = revision + 2, updated_at = ?1 / 1000 "
#define MP_RECOVER_SET_FAILED                                   \
 "UPDATE messages SET status = 'failed', in_doubt = 1, "        \
 "error_message = 'lease expired while sent; not retried "      \
 "(recovery_policy at_most_once)', lease_until = NULL, "        \
 "lease_token = NULL, worker = NULL, revision = revision + 2, " \
 "updated_at = ?1 / 1000 "

/* Which messages: in flight at priority ?3, with the lease expired at ?1
** (or none) or held by worker ?2; then either part of one order_at group
** (order_at ?4, ?5 < seq <= ?6) or whole groups (?4 <= order_at < ?5). */
#define MP_RECOVER_WHERE                                                \
 "WHERE status = 'sent' AND priority = ?3 AND (lease_until IS NULL OR " \
 "lease_until <= ?1 OR worker = ?2) "
#define MP_RECOVER_SEQS   "AND order_at = ?4 AND seq > ?5 AND seq <= ?6"
#define MP_RECOVER_GROUPS "AND order_at >= ?4 AND order_at < ?5"

/* The walk over the entries in flight of one priority ?1, at most ?4 of
** them, in index order: from the start, in group ?2 after seq ?3, or in
** the groups after ?2. */
#define MP_RECOVER_WALK                                      \
 "SELECT order_at, seq FROM messages WHERE status = 'sent' " \
 "AND priority = ?1 "

/* What one call has walked so far: see HOW IT WORKS. */
typedef struct MpRecoverWalk MpRecoverWalk;
struct MpRecoverWalk {
  const char *zWorker; /* Also take back this worker's leases, or NULL */
  i64 iNow;            /* The clock when the call started (ms) */
  int iPolicy;         /* recovery_policy: 0 at_least_once, 1 at_most_once */
  int iPrio;           /* Priority being walked, 3 down to 0; -1: done */
  sqlite3_value *pAt;  /* order_at of the last entry walked, or NULL at
                       ** the start of iPrio */
  i64 iSeq;            /* seq of the last entry walked (with pAt) */
  i64 nDone;           /* Messages taken back so far */
};

/*
** Binds the parameters that every recovery UPDATE has (?1 to ?3) and
** returns the cached statement: bGroups selects whole order_at groups,
** else seqs of one group. NULL on error, the message on the connection.
*/
static sqlite3_stmt *mpRecoverUpdate(MpState *p, const MpRecoverWalk *pW,
                                     int bGroups) {
  sqlite3_stmt *pStmt;
  if (pW->iPolicy == 0) {
    pStmt =
        bGroups
            ? mpStmt(p, MP_STMT_RECOVER_PENDING_AT,
                     MP_RECOVER_SET_PENDING MP_RECOVER_WHERE MP_RECOVER_GROUPS)
            : mpStmt(p, MP_STMT_RECOVER_PENDING_SEQ,
                     MP_RECOVER_SET_PENDING MP_RECOVER_WHERE MP_RECOVER_SEQS);
  } else {
    pStmt =
        bGroups
            ? mpStmt(p, MP_STMT_RECOVER_FAILED_AT,
                     MP_RECOVER_SET_FAILED MP_RECOVER_WHERE MP_RECOVER_GROUPS)
            : mpStmt(p, MP_STMT_RECOVER_FAILED_SEQ,
                     MP_RECOVER_SET_FAILED MP_RECOVER_WHERE MP_RECOVER_SEQS);
  }
  if (pStmt == 0) return 0;
  sqlite3_bind_int64(pStmt, 1, pW->iNow);
  if (pW->zWorker) {
    sqlite3_bind_text(pStmt, 2, pW->zWorker, -1, SQLITE_STATIC);
  }
  sqlite3_bind_int(pStmt, 3, pW->iPrio);
  return pStmt;
}

/*
** Runs a bound recovery UPDATE and adds what it changed to pW->nDone.
** Returns an SQLite result code.
*/
static int mpRecoverApply(MpState *p, MpRecoverWalk *pW, sqlite3_stmt *pStmt) {
  int rc;
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_step(pStmt);
  rc = mpStmtFinish(pStmt);
  if (rc == SQLITE_OK) pW->nDone += sqlite3_changes64(p->db);
  return rc;
}

/*
** Takes back the expired messages of group pAt with iAfter < seq <= iLast
** (bFromStart: every seq up to iLast). Returns an SQLite result code.
*/
static int mpRecoverSeqs(MpState *p, MpRecoverWalk *pW, sqlite3_value *pAt,
                         int bFromStart, i64 iAfter, i64 iLast) {
  sqlite3_stmt *pStmt = mpRecoverUpdate(p, pW, 0);
  if (pStmt) {
    sqlite3_bind_value(pStmt, 4, pAt);
    if (bFromStart) {
      sqlite3_bind_double(pStmt, 5, MP_RECOVER_LOW);
    } else {
      sqlite3_bind_int64(pStmt, 5, iAfter);
    }
    sqlite3_bind_int64(pStmt, 6, iLast);
  }
  return mpRecoverApply(p, pW, pStmt);
}

/*
** Takes back the expired messages of the groups pFrom <= order_at < pTo.
** Returns an SQLite result code.
*/
static int mpRecoverGroups(MpState *p, MpRecoverWalk *pW, sqlite3_value *pFrom,
                           sqlite3_value *pTo) {
  sqlite3_stmt *pStmt = mpRecoverUpdate(p, pW, 1);
  if (pStmt) {
    sqlite3_bind_value(pStmt, 4, pFrom);
    sqlite3_bind_value(pStmt, 5, pTo);
  }
  return mpRecoverApply(p, pW, pStmt);
}

/*
** Returns 1 if pA and pB hold the same integer (the usual order_at, 0).
*/
static int mpRecoverSameInt(sqlite3_value *pA, sqlite3_value *pB) {
  return sqlite3_value_type(pA) == SQLITE_INTEGER &&
         sqlite3_value_type(pB) == SQLITE_INTEGER &&
         sqlite3_value_int64(pA) == sqlite3_value_int64(pB);
}

/*
** Steps a bound walk statement to its end: sets *pn to the entries, and
** *ppFirst, *ppLast (copies of their order_at, NULL when there are none;
** the caller frees them) and *piLast (seq) to the first and last entry.
** Returns an SQLite result code.
*/
static int mpRecoverScan(sqlite3_stmt *pStmt, int *pn, sqlite3_value **ppFirst,
                         sqlite3_value **ppLast, i64 *piLast) {
  int rc = SQLITE_OK;
  *pn = 0;
  *ppFirst = *ppLast = 0;
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_value *pAt = sqlite3_column_value(pStmt, 0);
    if (*ppLast == 0 || !mpRecoverSameInt(*ppLast, pAt)) {
      sqlite3_value *pCopy = sqlite3_value_dup(pAt);
      if (pCopy == 0) rc = SQLITE_NOMEM;
      if (*ppFirst == 0) {
        *ppFirst = pCopy;
      } else if (*ppLast != *ppFirst) {
        sqlite3_value_free(*ppLast);
      }
      *ppLast = pCopy;
    }
    *piLast = sqlite3_column_int64(pStmt, 1);
    (*pn)++;
  }
  if (rc == SQLITE_OK) {
    rc = mpStmtFinish(pStmt);
  } else {
    mpStmtFinish(pStmt);
  }
  return rc;
}

/*
** Walks up to *pnLeft more entries in flight of priority pW->iPrio, from
** where the walk stands, and takes back the expired ones among them; ends
** the priority when it has no more. Lowers *pnLeft by the entries walked.
** Returns an SQLite result code.
*/
static int mpRecoverStep(MpState *p, MpRecoverWalk *pW, int *pnLeft) {
  sqlite3_value *pFirst = 0, *pLast = 0;
  sqlite3_stmt *pStmt;
  i64 iLast = 0;
  int n = 0, nWant, rc = SQLITE_OK;
  if (pW->pAt) {
    /* The rest of the group the walk stands in, counted in SQL. */
    pStmt = mpStmt(p, MP_STMT_RECOVER_WALK_GROUP,
                   "SELECT count(*), max(seq) FROM (" MP_RECOVER_WALK
                   "AND order_at = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4)");
    if (pStmt == 0) return sqlite3_errcode(p->db);
    sqlite3_bind_int(pStmt, 1, pW->iPrio);
    sqlite3_bind_value(pStmt, 2, pW->pAt);
    sqlite3_bind_int64(pStmt, 3, pW->iSeq);
    sqlite3_bind_int(pStmt, 4, *pnLeft);
    if (sqlite3_step(pStmt) == SQLITE_ROW) {
      n = sqlite3_column_int(pStmt, 0);
      iLast = sqlite3_column_int64(pStmt, 1);
    }
    rc = mpStmtFinish(pStmt);
    if (rc == SQLITE_OK && n > 0) {
      rc = mpRecoverSeqs(p, pW, pW->pAt, 0, pW->iSeq, iLast);
      pW->iSeq = iLast;
    }
    *pnLeft -= n;
    if (rc != SQLITE_OK || *pnLeft == 0) return rc;
    /* Then the groups after it. */
    pStmt = mpStmt(p, MP_STMT_RECOVER_WALK_NEXT,
                   MP_RECOVER_WALK "AND order_at > ?2 "
                                   "ORDER BY order_at, seq LIMIT ?4");
    if (pStmt == 0) return sqlite3_errcode(p->db);
    sqlite3_bind_value(pStmt, 2, pW->pAt);
  } else {
    pStmt = mpStmt(p, MP_STMT_RECOVER_WALK_START,
                   MP_RECOVER_WALK "ORDER BY order_at, seq LIMIT ?4");
    if (pStmt == 0) return sqlite3_errcode(p->db);
  }
  sqlite3_bind_int(pStmt, 1, pW->iPrio);
  sqlite3_bind_int(pStmt, 4, *pnLeft);
  nWant = *pnLeft;
  rc = mpRecoverScan(pStmt, &n, &pFirst, &pLast, &iLast);
  if (rc == SQLITE_OK && n > 0) {
    /* Whole groups up to the last one, then the last one to its seq. */
    rc = mpRecoverGroups(p, pW, pFirst, pLast);
    if (rc == SQLITE_OK) rc = mpRecoverSeqs(p, pW, pLast, 1, 0, iLast);
  }
  if (pLast != pFirst) sqlite3_value_free(pFirst);
  sqlite3_value_free(pW->pAt);
  pW->pAt = pLast;
  pW->iSeq = iLast;
  *pnLeft -= n;
  if (rc == SQLITE_OK && n < nWant) {
    /* This priority is done. */
    sqlite3_value_free(pW->pAt);
    pW->pAt = 0;
    pW->iPrio--;
  }
  return rc;
}

/*
** Runs one batch (see HOW IT WORKS) in its own transaction, or nested in
** the caller's. Returns an SQLite result code; on error the batch is
** rolled back.
*/
static int mpRecoverBatch(MpState *p, MpRecoverWalk *pW) {
  i64 nBefore = pW->nDone, n;
  int nLeft = MP_RECOVER_BATCH;
  int rc = mpBegin(p);
  if (rc != SQLITE_OK) return rc;
  while (rc == SQLITE_OK && nLeft > 0 && pW->iPrio >= 0) {
    rc = mpRecoverStep(p, pW, &nLeft);
  }
  n = pW->nDone - nBefore;
  if (rc == SQLITE_OK && n > 0) {
    /* A claim is counted when its message leaves 'sent' (mp_stats.c):
    ** that and the recovery itself. Revision + 2 keeps the counting
    ** trigger out of it (sql/003_counting.sql): one statement per counter
    ** instead of a trigger program per row. */
    rc = mpCounterAdd(p, "recovered", n);
    if (rc == SQLITE_OK) rc = mpCounterAdd(p, "updated", 2 * n);
  }
  if (rc == SQLITE_OK && n > 0 && pW->iPolicy == 1) {
    rc = mpCounterAdd(p, "failed", n);
  }
  if (rc != SQLITE_OK) {
    mpRollback(p);
    pW->nDone = nBefore;
    return rc;
  }
  rc = mpCommit(p);
  if (rc != SQLITE_OK) pW->nDone = nBefore;
  return rc;
}

/*
** Takes back expired leases (and every lease of zWorker, if not NULL) per
** recovery_policy, in batches of one transaction each (nested in the
** caller's transaction, if any). Sets *pnDone to the messages taken back,
** also on error (those of the batches that committed). Returns an SQLite
** result code.
*/
int mpRecoverRun(MpState *p, const char *zWorker, i64 *pnDone) {
  MpRecoverWalk walk;
  i64 iPolicy = 0;
  int rc;
  memset(&walk, 0, sizeof(walk));
  walk.zWorker = zWorker;
  walk.iNow = mpNowMs(p);
  walk.iPrio = MP_PRIORITY_CRITICAL;
  rc = mpConfigInt(p, "recovery_policy", &iPolicy);
  walk.iPolicy = iPolicy == 1;
  /* At least one batch, so that every call takes the write lock. */
  if (rc == SQLITE_OK) {
    do {
      rc = mpRecoverBatch(p, &walk);
    } while (rc == SQLITE_OK && walk.iPrio >= 0);
  }
  sqlite3_value_free(walk.pAt);
  *pnDone = walk.nDone;
  return rc;
}

/*
** mp_recover([worker]): releases expired leases (and those of worker) per
** recovery_policy, in batches. Returns how many messages it took back.
** MP_FN_UNSAFE: it writes.
*/
static void mpRecoverFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  static const char zFunc[] = "mp_recover";
  MpState *p = sqlite3_user_data(ctx);
  const char *zWorker = 0;
  i64 nDone = 0;
  int rc;
  if (argc == 1 && mpArgText(ctx, argv[0], zFunc, "worker", MP_KEY_MAX_BYTES, 1,
                             &zWorker, 0)) {
    return;
  }
  rc = mpRecoverRun(p, zWorker, &nDone);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return;
  }
  sqlite3_result_int64(ctx, nDone);
}

/*
** Registers mp_recover(). Returns an SQLite result code.
*/
int mpRegisterRecover(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_recover", 0, MP_FN_UNSAFE, mpRecoverFunc },
    { "mp_recover", 1, MP_FN_UNSAFE, mpRecoverFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
