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
*/
#include "mp_int.h"

/*
** Takes back expired leases (and every lease of zWorker, if not NULL) per
** recovery_policy, inside the caller's transaction. Sets *pnDone. Returns
** an SQLite result code.
*/
int mpRecoverRun(MpState *p, const char *zWorker, i64 *pnDone) {
  i64 iPolicy = 0, nDone = 0;
  sqlite3_stmt *pStmt = 0;
  int rc = mpConfigInt(p, "recovery_policy", &iPolicy);
  *pnDone = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(
        p->db,
        iPolicy == 0
            ? "UPDATE messages SET status = 'pending', "
              "priority = max(priority, 2), in_doubt = 1, due_at = ?1, "
              "error_message = 'lease expired while sent; may have been "
              "delivered', "
              "lease_until = NULL, lease_token = NULL, worker = NULL, "
              "revision = revision + 2, updated_at = ?1 / 1000 "
              "WHERE status = 'sent' AND (lease_until IS NULL OR lease_until "
              "<= ?1 OR worker = ?2)"
            : "UPDATE messages SET status = 'failed', in_doubt = 1, "
              "error_message = 'lease expired while sent; not retried "
              "(recovery_policy at_most_once)', "
              "lease_until = NULL, lease_token = NULL, worker = NULL, "
              "revision = revision + 2, updated_at = ?1 / 1000 "
              "WHERE status = 'sent' AND (lease_until IS NULL OR lease_until "
              "<= ?1 OR worker = ?2)",
        -1, &pStmt, 0);
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, mpNowMs(p));
    if (zWorker) sqlite3_bind_text(pStmt, 2, zWorker, -1, SQLITE_STATIC);
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
    nDone = sqlite3_changes64(p->db);
  }
  if (rc == SQLITE_OK && nDone) rc = mpCounterAdd(p, "recovered", nDone);
  if (rc == SQLITE_OK && nDone) rc = mpCounterAdd(p, "updated", 2 * nDone);
  if (rc == SQLITE_OK && nDone && iPolicy == 1) {
    rc = mpCounterAdd(p, "failed", nDone);
  }
  if (rc == SQLITE_OK) *pnDone = nDone;
  return rc;
}

/*
** mp_recover([worker]): releases expired leases (and those of worker) per
** recovery_policy, in one transaction. Returns how many messages it took
** back. MP_FN_UNSAFE: it writes.
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
  rc = mpBegin(p);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return;
  }
  rc = mpRecoverRun(p, zWorker, &nDone);
  if (mpEnd(ctx, p, zFunc, rc) != SQLITE_OK) return;
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
