/*
** SPDX-License-Identifier: MIT
**
** mp_verify.c: checking stored messages against their checksums.
**
**   SELECT mp_verify();        -- 0: every message is intact
**   SELECT mp_verify('<id>');  -- 0 or 1 for one message
**
** A row counts as damaged when its SHA-256 (see mp_checksum.c) does not
** match its content, or when it has no checksum at all (a row inserted
** with plain SQL cannot be vouched for). Reads every row: a check to run
** after a restore or a crash, not in a hot loop.
*/
#include "mp_int.h"

#include <string.h>

/*
** Returns 1 if the current row of pStmt (seq, chat_id, message_text,
** event_data, parse_mode, checksum) fails its check, 0 if it passes, or
** -1 on OOM.
*/
static int mpVerifyRow(MpState *p, sqlite3_stmt *pStmt) {
  u8 aSum[MP_CHECKSUM_BYTES];
  const char *zText = (const char *)sqlite3_column_text(pStmt, 2);
  int nText = sqlite3_column_bytes(pStmt, 2);
  const char *zEvent = (const char *)sqlite3_column_text(pStmt, 3);
  int nEvent = sqlite3_column_bytes(pStmt, 3);
  const char *zMode = (const char *)sqlite3_column_text(pStmt, 4);
  int nMode = sqlite3_column_bytes(pStmt, 4);
  if (sqlite3_column_type(pStmt, 5) != SQLITE_BLOB ||
      sqlite3_column_bytes(pStmt, 5) != MP_CHECKSUM_BYTES) {
    return 1;
  }
  if (zText == 0) return sqlite3_column_type(pStmt, 2) == SQLITE_NULL ? 1 : -1;
  if (mpChecksum(p, sqlite3_column_int64(pStmt, 1), zText, nText, zEvent,
                 nEvent, zMode, nMode, aSum) != SQLITE_OK) {
    return -1;
  }
  return memcmp(aSum, sqlite3_column_blob(pStmt, 5), MP_CHECKSUM_BYTES) != 0;
}

/*
** mp_verify([id]): counts messages whose checksum does not match.
** MP_FN_VOLATILE: it only reads, but its answer depends on the table.
*/
static void mpVerifyFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char zFunc[] = "mp_verify";
  MpState *p = sqlite3_user_data(ctx);
  sqlite3_stmt *pStmt = 0;
  i64 nBad = 0;
  int rc;
  MpRow row;
  if (argc == 1 && mpFindRow(ctx, p, zFunc, argv[0], &row)) return;
  rc = sqlite3_prepare_v2(p->db,
                          argc == 1 ? "SELECT seq, chat_id, message_text, "
                                      "event_data, parse_mode, checksum "
                                      "FROM messages WHERE seq = ?1"
                                    : "SELECT seq, chat_id, message_text, "
                                      "event_data, parse_mode, checksum "
                                      "FROM messages",
                          -1, &pStmt, 0);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return;
  }
  if (argc == 1) sqlite3_bind_int64(pStmt, 1, row.iSeq);
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
    int bBad = mpVerifyRow(p, pStmt);
    if (bBad < 0) {
      sqlite3_finalize(pStmt);
      sqlite3_result_error_nomem(ctx);
      return;
    }
    nBad += bBad;
  }
  rc = sqlite3_finalize(pStmt);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return;
  }
  sqlite3_result_int64(ctx, nBad);
}

/*
** Registers mp_verify(). Returns an SQLite result code.
*/
int mpRegisterVerify(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_verify", 0, MP_FN_VOLATILE, mpVerifyFunc },
    { "mp_verify", 1, MP_FN_VOLATILE, mpVerifyFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
