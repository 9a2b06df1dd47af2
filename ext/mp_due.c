/*
** SPDX-License-Identifier: MIT
**
** mp_due.c: when the next message will be claimable.
**
**   SELECT mp_next_due();   -- ms until mp_claim() could return one (0: now),
**                           -- NULL when nothing is pending
**
** A runner sleeps that long (or until woken) between claims.
**
** HOW IT WORKS
**
** The answer is the earliest time at which some chat's head (its first
** pending message in claim order: priority, order_at, seq) is due, its
** chat has no message in flight, and the pacing limits allow a send. So
** the pending messages are read in claim order, each chat once, and the
** walk stops at the first head that is claimable now: nothing can be
** earlier than now, so the usual answer (0) costs a few index entries
** whatever the queue size. Otherwise it reads up to 10,000 pending
** messages and keeps the earliest time; a chat whose message is in flight
** waits for it, and when every pending chat does, the earliest lease end
** is the answer.
**
** A chat's own pacing (the chat gap, a group's minute window, a 429
** pause) lives in mp_chat; while that table is empty, which it is with the
** chat limits off and no 429 seen, it is not looked up at all. The global
** per-second limit can push the answer later.
**
** Chat 0 is never claimed (mp_enqueue refuses it; the claim skips rows
** made with plain SQL that carry it), so it is never a head here either.
*/
#include "mp_int.h"

#define MP_DUE_SCAN_MAX "10000" /* pending messages looked at, at most */

/*
** Sets *pbAny to 1 if mp_chat holds any row (some chat is paced or
** paused), else 0. Returns an SQLite result code.
*/
static int mpDueAnyChatPaced(MpState *p, int *pbAny) {
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_DUE_PACED, "SELECT 1 FROM mp_chat LIMIT 1");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  *pbAny = sqlite3_step(pStmt) == SQLITE_ROW;
  return mpStmtFinish(pStmt);
}

/*
** Sets *piAt to the end of the earliest lease in flight, or leaves it
** alone when no lease has an end. Returns an SQLite result code.
*/
static int mpDueLeaseEnd(MpState *p, i64 *piAt) {
  sqlite3_stmt *pLease = 0;
  int rc = sqlite3_prepare_v2(p->db,
                              "SELECT min(lease_until) FROM messages "
                              "WHERE status = 'sent'",
                              -1, &pLease, 0);
  if (rc == SQLITE_OK && sqlite3_step(pLease) == SQLITE_ROW &&
      sqlite3_column_type(pLease, 0) == SQLITE_INTEGER) {
    *piAt = sqlite3_column_int64(pLease, 0);
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(pLease);
  return rc;
}

/*
** mp_next_due(): how many ms until mp_claim() could return a message
** (0: now), or NULL when nothing is pending. See HOW IT WORKS.
** MP_FN_VOLATILE: it only reads, and its answer depends on the clock.
*/
static void mpNextDueFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  static const char zFunc[] = "mp_next_due";
  MpState *p = sqlite3_user_data(ctx);
  MpIntSet inflight = { 0, 0, 0 };
  MpIntSet seen = { 0, 0, 0 };
  MpPace pace;
  i64 iNow = mpNowMs(p), iBest = -1, iWait = 0;
  int bPending = 0, bBlocked = 0, bPaced = 0;
  sqlite3_stmt *pScan = 0;
  int rc = mpPaceOpen(p, iNow, &pace);
  (void)argc;
  (void)argv;
  if (rc == SQLITE_OK) {
    /* The chats with a message in flight. */
    sqlite3_stmt *pSent =
        mpStmt(p, MP_STMT_DUE_INFLIGHT,
               "SELECT chat_id FROM messages WHERE status = 'sent'");
    rc = pSent ? mpIntSetLoad(&inflight, pSent) : sqlite3_errcode(p->db);
  }
  if (rc == SQLITE_OK) rc = mpDueAnyChatPaced(p, &bPaced);
  if (rc == SQLITE_OK) {
    pScan = mpStmt(p, MP_STMT_NEXT_DUE,
                   "SELECT chat_id, max(due_at, order_at) FROM messages "
                   "WHERE status = 'pending' "
                   "ORDER BY priority DESC, order_at, seq "
                   "LIMIT " MP_DUE_SCAN_MAX);
    if (pScan == 0) rc = sqlite3_errcode(p->db);
  }
  /* Stop at the first head claimable now: nothing can be earlier. */
  while (rc == SQLITE_OK && (iBest < 0 || iBest > iNow) &&
         sqlite3_step(pScan) == SQLITE_ROW) {
    i64 iChat = sqlite3_column_int64(pScan, 0);
    i64 iReadyAt = 0;
    int bNew;
    bPending = 1;
    if (iChat == 0) continue;
    bNew = mpIntSetAdd(&seen, iChat);
    if (bNew < 0) rc = SQLITE_NOMEM;
    if (bNew <= 0) continue;
    if (mpIntSetHas(&inflight, iChat)) {
      bBlocked = 1;
      continue;
    }
    if (bPaced) rc = mpPaceChatReadyAt(p, &pace, iChat, iNow, &iReadyAt);
    if (iReadyAt < sqlite3_column_int64(pScan, 1)) {
      iReadyAt = sqlite3_column_int64(pScan, 1);
    }
    if (iBest < 0 || iReadyAt < iBest) iBest = iReadyAt;
  }
  if (pScan) {
    int rc2 = mpStmtFinish(pScan);
    if (rc == SQLITE_OK) rc = rc2;
  }
  if (rc == SQLITE_OK && iBest >= 0 && mpPaceBudget(&pace, iNow, &iWait) == 0 &&
      iWait > iBest) {
    iBest = iWait;
  }
  if (rc == SQLITE_OK && iBest < 0 && bBlocked) {
    /* Every pending chat waits for a message in flight: its lease. */
    rc = mpDueLeaseEnd(p, &iBest);
  }
  mpPaceClose(p, &pace, 0);
  mpIntSetClear(&inflight);
  mpIntSetClear(&seen);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
  } else if (bPending) {
    /* Nothing to wait for but a lease-less message in flight: poll. */
    if (iBest < 0) iBest = iNow + 1000;
    sqlite3_result_int64(ctx, iBest > iNow ? iBest - iNow : 0);
  }
}

/*
** Registers mp_next_due(). Returns an SQLite result code.
*/
int mpRegisterDue(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_next_due", 0, MP_FN_VOLATILE, mpNextDueFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
