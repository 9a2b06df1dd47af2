/*
** SPDX-License-Identifier: MIT
**
** mp_transition.c: the outcomes of a delivery attempt, and the redrive.
**
**   SELECT mp_confirm('<id or lease token>', 777, 'telegram');     -- 1
**   SELECT mp_mark_failed('<id>', 'HTTP 502');            -- 'pending'
**   SELECT mp_mark_failed('<id>', 'chat not found', 0);   -- 'failed'
**   SELECT mp_mark_failed('<id>', 'slow down', 1, 30);    -- due in 30 s
**   SELECT mp_requeue('<id>');                            -- 1
**   SELECT mp_release('<lease token>');                   -- 1
**
** The state machine (anything else is refused, naming both states):
**
**   pending --mp_claim/mp_mark_sent--> sent --mp_confirm--> confirmed
**   sent, pending --mp_mark_failed--> pending (retry) | failed
**   failed --mp_requeue--> pending
**   sent --mp_release--> pending   (claimed but never sent; not an attempt)
**
** A retry waits retry_interval_seconds * 2^retry_count, capped at
** backoff_max_seconds, with "equal jitter" (half fixed, half random), and
** keeps the message's place in the queue, so it still goes out before the
** later messages of its chat. After max_retry_count retries the next
** failure is final.
**
** Each function runs in one transaction: the row, its lease check and the
** mp_stats counters change together or not at all.
*/
#include "mp_int.h"

#include <string.h>

/*
** Checks that pRow may go from one of the states in zFrom ("sent" or
** "sent|pending") to zTo, and that a lease token, if the caller gave one,
** still holds the message. Returns SQLITE_OK, or SQLITE_CONSTRAINT with
** *pzErr set to the reason (NULL on OOM; the caller frees it).
*/
int mpTransitionCheckText(const char *zFunc, const MpRow *pRow,
                          const char *zFrom, const char *zTo, char **pzErr) {
  int nStatus = (int)strlen(pRow->zStatus);
  const char *zAt = strstr(zFrom, pRow->zStatus);
  *pzErr = 0;
  if (zAt == 0 || (zAt[nStatus] != 0 && zAt[nStatus] != '|')) {
    *pzErr = sqlite3_mprintf("%s: illegal transition %s -> %s", zFunc,
                             pRow->zStatus, zTo);
    return SQLITE_CONSTRAINT;
  }
  if (pRow->zGiven[0] && (strcmp(pRow->zStatus, "sent") != 0 ||
                          strcmp(pRow->zGiven, pRow->zToken) != 0)) {
    *pzErr = sqlite3_mprintf("%s: stale lease token: message %s was "
                             "recovered or claimed again",
                             zFunc, pRow->zId);
    return SQLITE_CONSTRAINT;
  }
  return SQLITE_OK;
}

/*
** mpTransitionCheckText() that sets the error on ctx.
*/
int mpTransitionCheck(sqlite3_context *ctx, const char *zFunc,
                      const MpRow *pRow, const char *zFrom, const char *zTo) {
  char *zErr = 0;
  int rc = mpTransitionCheckText(zFunc, pRow, zFrom, zTo, &zErr);
  if (rc != SQLITE_OK) mpResultMsg(ctx, rc, zErr);
  return rc;
}

/*
** Opens the transaction of a transition of the message pId from a state
** in zFrom to zTo: takes the write lock, finds the row and checks the
** transition and the lease token. Returns SQLITE_OK with the transaction
** open and pRow filled, or sets the error on ctx, closes the transaction
** and returns an error code.
*/
int mpTransitionOpen(sqlite3_context *ctx, MpState *p, const char *zFunc,
                     sqlite3_value *pId, const char *zFrom, const char *zTo,
                     MpRow *pRow) {
  int rc = mpBegin(p);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return rc;
  }
  rc = mpFindRow(ctx, p, zFunc, pId, pRow);
  if (rc == SQLITE_OK) rc = mpTransitionCheck(ctx, zFunc, pRow, zFrom, zTo);
  if (rc != SQLITE_OK) mpRollback(p);
  return rc;
}

/*
** Applies sent -> confirmed to pRow inside the open transaction: stores
** Telegram's message id (*piTelegramId, or NULL when piTelegramId is NULL)
** and the tier. The trigger messages_count_update counts it
** (sql/003_counting.sql). Returns an SQLite result code.
*/
int mpApplyConfirm(MpState *p, const MpRow *pRow, const i64 *piTelegramId,
                   const char *zTier) {
  sqlite3_stmt *pStmt = mpStmt(
      p, MP_STMT_CONFIRM,
      "UPDATE messages SET status = 'confirmed', telegram_message_id = ?2, "
      "tier_used = ?3, lease_until = NULL, lease_token = NULL, worker = NULL, "
      "revision = revision + 1, updated_at = ?4 WHERE seq = ?1");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pStmt, 1, pRow->iSeq);
  if (piTelegramId) sqlite3_bind_int64(pStmt, 2, *piTelegramId);
  sqlite3_bind_text(pStmt, 3, zTier, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 4, mpNowMs(p) / 1000);
  sqlite3_step(pStmt);
  return mpStmtFinish(pStmt);
}

/*
** The common case of mp_confirm(), in one UPDATE that checks the state and
** the token itself: sets *pbDone when it confirmed the message named by
** zId (an mp id or lease token). Otherwise the slow path reads the row to
** say what is wrong. Atomic on its own: no savepoint is needed around it.
** Returns an SQLite result code.
*/
int mpConfirmFast(MpState *p, const char *zId, int nId, i64 iTelegramId,
                  const char *zTier, int *pbDone) {
  const char *zToken = 0;
  sqlite3_stmt *pStmt;
  i64 iSeq;
  int rc;
  *pbDone = 0;
  mpErrClear(p); /* one statement, no mpBegin(): see mpErrMsg() */
  if (!mpIdDecode(zId, nId, &iSeq, &zToken)) return SQLITE_OK;
  pStmt = mpStmt(
      p, MP_STMT_CONFIRM_FAST,
      "UPDATE OR FAIL messages SET status = 'confirmed', telegram_message_id = "
      "?2, "
      "tier_used = ?3, lease_until = NULL, lease_token = NULL, worker = NULL, "
      "revision = revision + 1, updated_at = ?4 "
      "WHERE seq = ?1 AND id = ?5 AND status = 'sent' "
      "AND (?6 IS NULL OR lease_token = ?6)");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pStmt, 1, iSeq);
  sqlite3_bind_int64(pStmt, 2, iTelegramId);
  sqlite3_bind_text(pStmt, 3, zTier, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 4, mpNowMs(p) / 1000);
  sqlite3_bind_text(pStmt, 5, zId, 36, SQLITE_STATIC);
  if (zToken) sqlite3_bind_text(pStmt, 6, zToken, 16, SQLITE_STATIC);
  sqlite3_step(pStmt);
  rc = mpStmtFinish(pStmt);
  *pbDone = rc == SQLITE_OK && sqlite3_changes(p->db) == 1;
  return rc;
}

/*
** mp_confirm(id, telegram_message_id [, tier]): sent -> confirmed, storing
** Telegram's message id and the tier (default 'telegram'). Returns 1.
** MP_FN_UNSAFE: it writes.
*/
static void mpConfirmFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  static const char zFunc[] = "mp_confirm";
  MpState *p = sqlite3_user_data(ctx);
  const char *zTier = "telegram", *zId;
  i64 iTelegramId;
  MpRow row;
  int rc, nId, bDone = 0;
  if (mpArgText(ctx, argv[0], zFunc, "id", MP_ID_ARG_MAX, 0, &zId, &nId) ||
      mpArgInt(ctx, argv[1], zFunc, "telegram_message_id", &iTelegramId)) {
    return;
  }
  if (argc == 3 &&
      mpArgText(ctx, argv[2], zFunc, "tier", MP_KEY_MAX_BYTES, 0, &zTier, 0)) {
    return;
  }
  /* One UPDATE, atomic by itself: no savepoint needed. */
  rc = mpConfirmFast(p, zId, nId, iTelegramId, zTier, &bDone);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return;
  }
  if (!bDone) {
    if (mpTransitionOpen(ctx, p, zFunc, argv[0], "sent", "confirmed", &row)) {
      return;
    }
    rc = mpApplyConfirm(p, &row, &iTelegramId, zTier);
    if (mpEnd(ctx, p, zFunc, rc) != SQLITE_OK) return;
  }
  sqlite3_result_int(ctx, 1);
}

/*
** Returns the delay in ms before retry number nRetry+1: the exponential
** backoff with equal jitter described at the top of this file.
*/
static i64 mpBackoffMs(MpState *p, int nRetry, i64 iBaseS, i64 iCapS) {
  i64 iMs = iBaseS * 1000;
  i64 iCapMs = iCapS * 1000;
  for (int i = 0; i < nRetry && iMs < iCapMs; i++)
    iMs *= 2;
  if (iMs > iCapMs) iMs = iCapMs;
  return iMs / 2 + (i64)(mpRandom(p) % (u64)(iMs / 2 + 1));
}

/*
** Applies a failed attempt to pRow inside the open transaction (see
** MpFailure in mp_int.h). Sets *pzStatus to the new status, 'pending' or
** 'failed' (a static string). Returns an SQLite result code.
*/
int mpApplyFailure(MpState *p, const MpRow *pRow, const MpFailure *pF,
                   const char **pzStatus) {
  i64 nMaxRetry = 0, iBase = 0, iCap = 0, iNow = mpNowMs(p);
  char *zStored = 0;
  sqlite3_stmt *pStmt;
  int bRetry, nRetry;
  int rc;
  *pzStatus = "failed"; /* what the caller sees if this fails */
  rc = mpConfigInt(p, "max_retry_count", &nMaxRetry);
  if (rc == SQLITE_OK) rc = mpConfigInt(p, "retry_interval_seconds", &iBase);
  if (rc == SQLITE_OK) rc = mpConfigInt(p, "backoff_max_seconds", &iCap);
  if (rc != SQLITE_OK) return rc;
  bRetry = pF->bRetryable && (!pF->bCountsAsRetry || pRow->nRetry < nMaxRetry);
  nRetry = pRow->nRetry + (bRetry && pF->bCountsAsRetry);
  if (pF->bRetryable && !bRetry) {
    zStored = sqlite3_mprintf("%s (gave up after %d retries)", pF->zError,
                              pRow->nRetry);
    if (zStored == 0) return SQLITE_NOMEM;
  }
  pStmt = mpStmt(p, MP_STMT_FAIL,
                 "UPDATE messages SET status = ?2, retry_count = ?3, "
                 "due_at = ?4, error_message = ?5, "
                 "in_doubt = max(in_doubt, ?7), lease_until = NULL, "
                 "lease_token = NULL, worker = NULL, revision = revision + 1, "
                 "updated_at = ?6 WHERE seq = ?1");
  if (pStmt == 0) {
    sqlite3_free(zStored);
    return sqlite3_errcode(p->db);
  }
  sqlite3_bind_int64(pStmt, 1, pRow->iSeq);
  sqlite3_bind_text(pStmt, 2, bRetry ? "pending" : "failed", -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 3, nRetry);
  sqlite3_bind_int64(pStmt, 4,
                     !bRetry ? iNow
                     : pF->iRetryAfterMs >= 0
                         ? iNow + pF->iRetryAfterMs
                         : iNow + mpBackoffMs(p, pRow->nRetry, iBase, iCap));
  sqlite3_bind_text(pStmt, 5, zStored ? zStored : pF->zError, -1,
                    SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 6, iNow / 1000);
  sqlite3_bind_int(pStmt, 7, pF->bInDoubt);
  sqlite3_step(pStmt);
  rc = mpStmtFinish(pStmt);
  sqlite3_free(zStored);
  if (rc == SQLITE_OK && bRetry && pF->bCountsAsRetry) {
    rc = mpCounterAdd(p, "retries", 1);
  }
  *pzStatus = bRetry ? "pending" : "failed";
  return rc;
}

/*
** mp_mark_failed(id, error [, retryable [, retry_after_s]]): a failed
** attempt. Retryable (the default) while retries remain: back to pending,
** due after the backoff (or exactly retry_after_s). Otherwise failed, the
** dead-letter state. Returns the new status. MP_FN_UNSAFE: it writes.
*/
static void mpMarkFailedFunc(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv) {
  static const char zFunc[] = "mp_mark_failed";
  MpState *p = sqlite3_user_data(ctx);
  MpFailure f = { 0, 1, -1, 1, 0 };
  const char *zStatus = 0;
  i64 bRetryable = 1, iRetryAfter = -1;
  MpRow row;
  int rc;
  if (mpArgText(ctx, argv[1], zFunc, "error", MP_ERROR_MAX_BYTES, 0, &f.zError,
                0)) {
    return;
  }
  if (argc >= 3 && mpArgInt(ctx, argv[2], zFunc, "retryable", &bRetryable)) {
    return;
  }
  if (bRetryable != 0 && bRetryable != 1) {
    mpResultErrorf(ctx, "%s: retryable must be 0 or 1", zFunc);
    return;
  }
  if (argc >= 4 && sqlite3_value_type(argv[3]) != SQLITE_NULL) {
    if (mpArgInt(ctx, argv[3], zFunc, "retry_after_s", &iRetryAfter)) return;
    if (iRetryAfter < 0 || iRetryAfter > 604800) {
      mpResultErrorf(ctx, "%s: retry_after_s must be between 0 and 604800",
                     zFunc);
      return;
    }
  }
  f.bRetryable = (int)bRetryable;
  f.iRetryAfterMs = iRetryAfter < 0 ? -1 : iRetryAfter * 1000;
  if (mpTransitionOpen(ctx, p, zFunc, argv[0], "sent|pending",
                       bRetryable ? "pending" : "failed", &row)) {
    return;
  }
  rc = mpApplyFailure(p, &row, &f, &zStatus);
  if (mpEnd(ctx, p, zFunc, rc) != SQLITE_OK) return;
  sqlite3_result_text(ctx, zStatus, -1, SQLITE_STATIC);
}

/*
** mp_release(id): sent -> pending for a message that was claimed but never
** sent (a sender shutting down). Not an attempt: attempts goes back down,
** retry_count and in_doubt stay, and it is due at once, in its old place.
** Only a message that was not sent may be released: a sender that did
** send must report the outcome instead. Returns 1. MP_FN_UNSAFE.
*/
static void mpReleaseFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  static const char zFunc[] = "mp_release";
  MpState *p = sqlite3_user_data(ctx);
  MpRow row;
  sqlite3_stmt *pStmt = 0;
  int rc;
  (void)argc;
  if (mpTransitionOpen(ctx, p, zFunc, argv[0], "sent", "pending", &row)) {
    return;
  }
  rc = sqlite3_prepare_v2(
      p->db,
      "UPDATE messages SET status = 'pending', attempts = max(attempts - 1, "
      "0), due_at = min(due_at, ?2), lease_until = NULL, lease_token = NULL, "
      "worker = NULL, revision = revision + 1, updated_at = ?2 / 1000 "
      "WHERE seq = ?1",
      -1, &pStmt, 0);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, row.iSeq);
    sqlite3_bind_int64(pStmt, 2, mpNowMs(p));
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
  }
  if (mpEnd(ctx, p, zFunc, rc) != SQLITE_OK) return;
  sqlite3_result_int(ctx, 1);
}

/*
** mp_requeue(id): failed -> pending (manual redrive) with retries reset,
** due now, at its old place in the queue. Returns 1. MP_FN_UNSAFE.
*/
static void mpRequeueFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  static const char zFunc[] = "mp_requeue";
  MpState *p = sqlite3_user_data(ctx);
  MpRow row;
  i64 iNow = mpNowMs(p);
  sqlite3_stmt *pStmt;
  int rc;
  (void)argc;
  if (mpTransitionOpen(ctx, p, zFunc, argv[0], "failed", "pending", &row)) {
    return;
  }
  pStmt = mpStmt(p, MP_STMT_REQUEUE,
                 "UPDATE messages SET status = 'pending', retry_count = 0, "
                 "due_at = ?2, in_doubt = 0, revision = revision + 1, "
                 "updated_at = ?3 WHERE seq = ?1");
  rc = pStmt ? SQLITE_OK : sqlite3_errcode(p->db);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, row.iSeq);
    sqlite3_bind_int64(pStmt, 2, iNow);
    sqlite3_bind_int64(pStmt, 3, iNow / 1000);
    sqlite3_step(pStmt);
    rc = mpStmtFinish(pStmt);
  }
  if (rc == SQLITE_OK) rc = mpCounterAdd(p, "requeued", 1);
  if (mpEnd(ctx, p, zFunc, rc) != SQLITE_OK) return;
  sqlite3_result_int(ctx, 1);
}

/*
** Registers the transition functions. Returns an SQLite result code.
*/
int mpRegisterTransition(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_confirm",     2, MP_FN_UNSAFE, mpConfirmFunc },
    { "mp_confirm",     3, MP_FN_UNSAFE, mpConfirmFunc },
    { "mp_mark_failed", 2, MP_FN_UNSAFE, mpMarkFailedFunc },
    { "mp_mark_failed", 3, MP_FN_UNSAFE, mpMarkFailedFunc },
    { "mp_mark_failed", 4, MP_FN_UNSAFE, mpMarkFailedFunc },
    { "mp_requeue",     1, MP_FN_UNSAFE, mpRequeueFunc },
    { "mp_release",     1, MP_FN_UNSAFE, mpReleaseFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
