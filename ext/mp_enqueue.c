/*
** SPDX-License-Identifier: MIT
**
** mp_enqueue.c: mp_enqueue(), which validates a message, checksums it and
** stores it as 'pending'.
**
**   SELECT mp_enqueue(12345, 'Build finished');
**   -- 0190f3a2-7c41-7a3e-8000-000000000001
**   SELECT mp_enqueue(12345, 'Deploy?', '{"type":"approval_request"}',
**                     '{"priority":"high","dedup_key":"deploy-42"}');
**
** Options (a JSON object, every key optional):
**   priority    "low" | "normal" | "high" | "critical", or 0..3 (normal)
**   delay_ms    0..31536000000: the message joins the queue that much
**               later, behind the messages of its priority that are due
**   dedup_key   text; while a row holds it, enqueueing it again returns
**               that row's id and stores nothing
**   parse_mode  "HTML" | "MarkdownV2" | "Markdown" (none: plain text)
**
** One INSERT does it all: the seq (max + 1, never reusing a deleted one)
** is chosen under the write lock, the id is built from it, and a repeated
** dedup_key is caught by the unique index. The insert touches the table and
** the queue index only.
**
** A text longer than Telegram's limit (4096 characters after parsing) is
** cut by mp_split.c into parts that Telegram accepts, never inside a
** character or markup, and stored by one INSERT as consecutive messages of
** the chat; they go out in order like any messages of one chat.
** The result is the first part's id; the dedup_key stays with it. A long
** text whose markup Telegram would refuse is an error.
*/
#include "mp_int.h"

#include <string.h>
#include <strings.h>

#define MP_DELAY_MAX_MS 31536000000LL /* one year */

/*
** Maps a priority name to its number, or -1.
*/
static int mpPriorityByName(const char *z) {
  static const char *const azName[] = { "low", "normal", "high", "critical" };
  for (int i = 0; i < 4; i++) {
    if (strcmp(z, azName[i]) == 0) return i;
  }
  return -1;
}

/*
** Maps a parse_mode name (any case) to Telegram's spelling, or NULL.
*/
static const char *mpParseModeByName(const char *z) {
  static const char *const azMode[] = { "HTML", "MarkdownV2", "Markdown" };
  for (int i = 0; i < 3; i++) {
    if (sqlite3_stricmp(z, azMode[i]) == 0) return azMode[i];
  }
  return 0;
}

/*
** Returns 1 if z[0..n) would show no characters in Telegram: only white
** space once the markup of zParseMode is set aside (tags in HTML, markup
** characters in Markdown). Telegram refuses such a text ("message text is
** empty"), so it is refused at once rather than after a round trip.
*/
static int mpTextIsBlank(const char *z, int n, const char *zParseMode) {
  /* The markup characters: legacy Markdown has fewer than MarkdownV2. */
  const char *zMarkup = zParseMode == 0                       ? ""
                        : zParseMode[0] == 'H'                ? ""
                        : strcmp(zParseMode, "Markdown") == 0 ? "*_`["
                                                              : "*_~`|[]()>";
  int bHtml = zParseMode && zParseMode[0] == 'H';
  for (int i = 0; i < n; i++) {
    char c = z[i];
    if (bHtml && c == '<') {
      while (i < n && z[i] != '>')
        i++;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (zMarkup[0] && strchr(zMarkup, c)) continue;
    return 0;
  }
  return 1;
}

/*
** Reads one option member (priority, delay_ms, dedup_key, parse_mode) into
** pOpt. Returns SQLITE_OK, SQLITE_NOMEM, or SQLITE_MISMATCH with *pzErr
** naming zFunc and the option (the caller frees it).
*/
int mpEnqueueOption(const char *zFunc, const MpJsonValue *pKey,
                    const MpJsonValue *pVal, MpMessage *pOpt, char **pzErr) {
  if (mpJsonKeyIs(pKey, "priority")) {
    i64 v = -1;
    if (pVal->eType == MP_JSON_STRING) {
      int n = 0;
      char *z = mpJsonString(pVal, &n);
      if (z == 0) return SQLITE_NOMEM;
      v = (int)strlen(z) == n ? mpPriorityByName(z) : -1;
      sqlite3_free(z);
    } else if (pVal->eType == MP_JSON_NUMBER && mpJsonInt(pVal, &v)) {
      v = -1;
    }
    if (v < 0 || v > 3) {
      *pzErr =
          sqlite3_mprintf("%s: priority must be low, normal, high, critical or "
                          "0-3, got %.*s",
                          zFunc, pVal->n, pVal->z);
      return SQLITE_MISMATCH;
    }
    pOpt->iPriority = (int)v;
  } else if (mpJsonKeyIs(pKey, "delay_ms")) {
    i64 v = -1;
    if (pVal->eType != MP_JSON_NUMBER || mpJsonInt(pVal, &v) || v < 0 ||
        v > MP_DELAY_MAX_MS) {
      *pzErr =
          sqlite3_mprintf("%s: delay_ms must be an integer from 0 to %lld, "
                          "got %.*s",
                          zFunc, MP_DELAY_MAX_MS, pVal->n, pVal->z);
      return SQLITE_MISMATCH;
    }
    pOpt->iDelayMs = v;
  } else if (mpJsonKeyIs(pKey, "dedup_key")) {
    int n = 0;
    if (pVal->eType != MP_JSON_STRING) {
      *pzErr = sqlite3_mprintf("%s: dedup_key must be a string", zFunc);
      return SQLITE_MISMATCH;
    }
    sqlite3_free(pOpt->zDedup);
    pOpt->zDedup = mpJsonString(pVal, &n);
    if (pOpt->zDedup == 0) return SQLITE_NOMEM;
    if (n == 0 || n > MP_KEY_MAX_BYTES || (int)strlen(pOpt->zDedup) != n) {
      *pzErr =
          sqlite3_mprintf("%s: dedup_key must be 1 to %d bytes without NUL",
                          zFunc, MP_KEY_MAX_BYTES);
      return SQLITE_MISMATCH;
    }
  } else if (mpJsonKeyIs(pKey, "parse_mode")) {
    int n = 0;
    char *z = pVal->eType == MP_JSON_STRING ? mpJsonString(pVal, &n) : 0;
    if (pVal->eType == MP_JSON_STRING && z == 0) return SQLITE_NOMEM;
    pOpt->zParseMode = z && (int)strlen(z) == n ? mpParseModeByName(z) : 0;
    sqlite3_free(z);
    if (pVal->eType == MP_JSON_NULL) return SQLITE_OK;
    if (pOpt->zParseMode == 0) {
      *pzErr = sqlite3_mprintf("%s: parse_mode must be HTML, MarkdownV2 or "
                               "Markdown, got %.*s",
                               zFunc, pVal->n, pVal->z);
      return SQLITE_MISMATCH;
    }
  } else {
    *pzErr = sqlite3_mprintf("%s: unknown option %.*s (expected priority, "
                             "delay_ms, dedup_key or parse_mode)",
                             zFunc, pKey->n, pKey->z);
    return SQLITE_MISMATCH;
  }
  return SQLITE_OK;
}

/*
** Parses the options argument (NULL or a JSON object) into pOpt. Returns
** SQLITE_OK, or sets an error on ctx and returns an error code.
*/
static int mpEnqueueOptions(sqlite3_context *ctx, sqlite3_value *pArg,
                            MpMessage *pOpt) {
  const char *z;
  int n, rc;
  MpJson json;
  MpJsonValue key, val;
  if (mpArgText(ctx, pArg, "mp_enqueue", "options", 65536, 1, &z, &n)) {
    return SQLITE_MISMATCH;
  }
  if (z == 0) return SQLITE_OK;
  if (!mpJsonValid(z, n) || mpJsonObjectStart(&json, z, n) != SQLITE_OK) {
    mpResultErrorf(ctx, "mp_enqueue: options must be a JSON object");
    return SQLITE_MISMATCH;
  }
  while ((rc = mpJsonNextMember(&json, &key, &val)) == 1) {
    char *zErr = 0;
    rc = mpEnqueueOption("mp_enqueue", &key, &val, pOpt, &zErr);
    if (rc != SQLITE_OK) {
      mpResultMsg(ctx, rc, zErr);
      return rc;
    }
  }
  return SQLITE_OK;
}

/*
** Returns order_at, a message's place in the queue after its priority:
** 0 for a message due at once, so that those go strictly in seq order, the
** order in which they were committed, whatever the clocks of the
** producers say; the time it becomes due for a delayed one, which then
** waits behind the messages due at once.
*/
static i64 mpOrderAt(i64 iNow, i64 iDelayMs) {
  return iDelayMs > 0 ? iNow + iDelayMs : 0;
}

/*
** Copies the id of the row holding dedup key zKey into zIdOut.
*/
static int mpEnqueueDedupHit(MpState *p, const char *zKey, char *zIdOut) {
  sqlite3_stmt *pStmt = mpStmt(p, MP_STMT_DEDUP_LOOKUP,
                               "SELECT id FROM messages WHERE dedup_key = ?1");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_snprintf(MP_ID_BUFFER, zIdOut, "%s", sqlite3_column_text(pStmt, 0));
  }
  return mpStmtFinish(pStmt);
}

/*
** Reads the seq the next message gets: one past the highest ever used
** (max(seq), or the highest deleted one). Returns an SQLite result code.
*/
static int mpEnqueueNextSeq(MpState *p, i64 *piSeq) {
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_NEXT_SEQ,
             "SELECT max(ifnull((SELECT max(seq) FROM messages), 0), "
             "(SELECT n FROM mp_counter WHERE name = 'seq_hwm')) + 1");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  if (sqlite3_step(pStmt) == SQLITE_ROW)
    *piSeq = sqlite3_column_int64(pStmt, 0);
  return mpStmtFinish(pStmt);
}

/*
** Inserts one row for pMsg and copies its id into zIdOut. Sets
** *pbInserted to 0 when the dedup key was taken already. Returns an SQLite
** result code (the error is left on the connection).
*/
static int mpEnqueueRow(MpState *p, const MpMessage *pMsg, char *zIdOut,
                        int *pbInserted) {
  const char *zText = pMsg->zText;
  int nText = pMsg->nText;
  u8 aSum[MP_CHECKSUM_BYTES];
  char zPrefix[20];
  sqlite3_stmt *pStmt;
  i64 iNow;
  int rc, rc2;
  *pbInserted = 0;
  rc = mpChecksum(p, pMsg->iChat, zText, nText, pMsg->zEvent, pMsg->nEvent,
                  pMsg->zParseMode,
                  pMsg->zParseMode ? (int)strlen(pMsg->zParseMode) : 0, aSum);
  if (rc != SQLITE_OK) return rc;
  iNow = mpNowMs(p);
  mpIdPrefix(p, iNow, zPrefix);
  pStmt =
      mpStmt(p, MP_STMT_ENQUEUE,
             "INSERT OR FAIL INTO messages(seq, id, chat_id, message_text, "
             "timestamp, event_data, created_at, updated_at, priority, "
             "parse_mode, dedup_key, order_at, due_at, checksum) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?5, ?7, ?8, ?9, ?12, ?10, "
             "?11) "
             "ON CONFLICT(dedup_key) WHERE dedup_key IS NOT NULL DO "
             "NOTHING");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pStmt, 3, pMsg->iChat);
  sqlite3_bind_text(pStmt, 4, zText, nText, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 5, iNow / 1000);
  if (pMsg->zEvent) {
    sqlite3_bind_text(pStmt, 6, pMsg->zEvent, pMsg->nEvent, SQLITE_STATIC);
  }
  sqlite3_bind_int(pStmt, 7, pMsg->iPriority);
  if (pMsg->zParseMode) {
    sqlite3_bind_text(pStmt, 8, pMsg->zParseMode, -1, SQLITE_STATIC);
  }
  if (pMsg->zDedup) {
    sqlite3_bind_text(pStmt, 9, pMsg->zDedup, -1, SQLITE_STATIC);
  }
  sqlite3_bind_int64(pStmt, 10, iNow + pMsg->iDelayMs);
  sqlite3_bind_int64(pStmt, 12, mpOrderAt(iNow, pMsg->iDelayMs));
  sqlite3_bind_blob(pStmt, 11, aSum, MP_CHECKSUM_BYTES, SQLITE_STATIC);
  /*
  ** The seq is read first, then used: outside a transaction another writer
  ** may take it in between, and the INSERT then fails on the primary key
  ** and simply tries the next one. (INSERT ... SELECT, or RETURNING,
  ** would make every enqueue open a statement journal or the temp
  ** database.) OR FAIL: every check runs before the row is written and
  ** the insert trigger writes nothing for mp's rows, so the one-row
  ** statement needs no statement journal either.
  */
  for (int nTry = 0; nTry < 100; nTry++) {
    i64 iSeq = 0;
    rc = mpEnqueueNextSeq(p, &iSeq);
    if (rc != SQLITE_OK) break;
    mpIdFormat(zPrefix, iSeq, zIdOut);
    sqlite3_bind_int64(pStmt, 1, iSeq);
    sqlite3_bind_text(pStmt, 2, zIdOut, 36, SQLITE_STATIC);
    if (sqlite3_step(pStmt) == SQLITE_DONE) {
      *pbInserted = sqlite3_changes(p->db) == 1;
      break;
    }
    rc = sqlite3_reset(pStmt);
    if (sqlite3_extended_errcode(p->db) != SQLITE_CONSTRAINT_PRIMARYKEY) break;
  }
  if (!*pbInserted) zIdOut[0] = 0;
  rc2 = mpStmtFinish(pStmt);
  return rc != SQLITE_OK ? rc : rc2;
}

/*
** Stores the parts of a text too long for one Telegram message as
** consecutive messages of the same chat and sets the result of ctx to the
** first part's id in zIdOut. One INSERT stores them all (so this works
** inside any statement) or, when the dedup key is taken, none. Sets
** *pbInserted to 0 in that case. Returns an SQLite result code.
*/
static int mpEnqueueParts(MpState *p, const MpMessage *pMsg,
                          const MpSplit *pSplit, char *zIdOut,
                          int *pbInserted) {
  sqlite3_str *pParts = sqlite3_str_new(p->db);
  u8 *aSum = sqlite3_malloc64((u64)MP_CHECKSUM_BYTES * (u64)pSplit->nPart);
  char zPrefix[20];
  sqlite3_stmt *pStmt = 0;
  i64 iNow = mpNowMs(p), iFirst = -1;
  int nMode = pMsg->zParseMode ? (int)strlen(pMsg->zParseMode) : 0;
  int rc = aSum ? SQLITE_OK : SQLITE_NOMEM;
  *pbInserted = 0;
  sqlite3_str_appendchar(pParts, 1, '[');
  for (int i = 0; rc == SQLITE_OK && i < pSplit->nPart; i++) {
    if (i) sqlite3_str_appendchar(pParts, 1, ',');
    mpJsonAppendString(pParts, pSplit->azPart[i], pSplit->anPart[i]);
    rc = mpChecksum(p, pMsg->iChat, pSplit->azPart[i], pSplit->anPart[i],
                    pMsg->zEvent, pMsg->nEvent, pMsg->zParseMode, nMode,
                    aSum + MP_CHECKSUM_BYTES * i);
  }
  sqlite3_str_appendchar(pParts, 1, ']');
  if (rc == SQLITE_OK) rc = sqlite3_str_errcode(pParts);
  if (rc == SQLITE_OK) {
    pStmt = mpStmt(
        p, MP_STMT_ENQUEUE_PARTS,
        "INSERT INTO messages(seq, id, chat_id, message_text, timestamp, "
        "event_data, created_at, updated_at, priority, parse_mode, "
        "dedup_key, order_at, due_at, checksum) "
        "SELECT s.seq + j.key, ?1 || printf('-%04x-%012x', 32768 | "
        "(((s.seq + j.key) >> 48) & 16383), (s.seq + j.key) & "
        "281474976710655), ?2, j.value, ?3, ?4, ?3, ?3, ?5, ?6, "
        "CASE WHEN j.key = 0 THEN ?7 END, ?11, ?8, "
        "substr(?9, 32 * j.key + 1, 32) "
        "FROM (SELECT max(ifnull((SELECT max(seq) FROM messages), 0), "
        "(SELECT n FROM mp_counter WHERE name = 'seq_hwm')) + 1 AS seq) AS s, "
        "json_each(?10) AS j "
        "WHERE ?7 IS NULL OR NOT EXISTS "
        "(SELECT 1 FROM messages WHERE dedup_key = ?7) "
        "RETURNING seq, id");
    if (pStmt == 0) rc = sqlite3_errcode(p->db);
  }
  if (rc == SQLITE_OK) {
    mpIdPrefix(p, iNow, zPrefix);
    sqlite3_bind_text(pStmt, 1, zPrefix, 18, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 2, pMsg->iChat);
    sqlite3_bind_int64(pStmt, 3, iNow / 1000);
    if (pMsg->zEvent) {
      sqlite3_bind_text(pStmt, 4, pMsg->zEvent, pMsg->nEvent, SQLITE_STATIC);
    }
    sqlite3_bind_int(pStmt, 5, pMsg->iPriority);
    if (pMsg->zParseMode) {
      sqlite3_bind_text(pStmt, 6, pMsg->zParseMode, -1, SQLITE_STATIC);
    }
    if (pMsg->zDedup) {
      sqlite3_bind_text(pStmt, 7, pMsg->zDedup, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(pStmt, 8, iNow + pMsg->iDelayMs);
    sqlite3_bind_int64(pStmt, 11, mpOrderAt(iNow, pMsg->iDelayMs));
    sqlite3_bind_blob(pStmt, 9, aSum, MP_CHECKSUM_BYTES * pSplit->nPart,
                      SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 10, sqlite3_str_value(pParts), -1, SQLITE_STATIC);
    while (sqlite3_step(pStmt) == SQLITE_ROW) {
      if (iFirst < 0 || sqlite3_column_int64(pStmt, 0) < iFirst) {
        iFirst = sqlite3_column_int64(pStmt, 0);
        sqlite3_snprintf(MP_ID_BUFFER, zIdOut, "%s",
                         sqlite3_column_text(pStmt, 1));
      }
      *pbInserted = 1;
    }
    rc = mpStmtFinish(pStmt);
  }
  sqlite3_free(sqlite3_str_finish(pParts));
  sqlite3_free(aSum);
  return rc;
}

/*
** Stores pMsg as pending and copies its id (or the id already holding its
** dedup_key) into zIdOut (MP_ID_BUFFER bytes). A text longer than
** Telegram's limit is stored as several messages (see mp_split.c), and
** the first one's id is the result. Returns SQLITE_OK, or an error code
** with *pzErr naming zFunc (NULL on OOM; the caller frees it).
*/
int mpEnqueueStore(MpState *p, const char *zFunc, const MpMessage *pMsg,
                   char *zIdOut, char **pzErr) {
  MpSplit split;
  char *zWhy = 0;
  int rc = SQLITE_OK, bInserted = 0;
  memset(&split, 0, sizeof(split));
  *pzErr = 0;
  zIdOut[0] = 0;
  mpErrClear(p); /* its own statements, no mpBegin(): see mpErrMsg() */
  if (mpTextIsBlank(pMsg->zText, pMsg->nText, pMsg->zParseMode)) {
    *pzErr = sqlite3_mprintf("%s: text shows nothing but white space "
                             "(Telegram refuses an empty message)",
                             zFunc);
    return SQLITE_MISMATCH;
  }
  if (pMsg->nText > MP_TELEGRAM_LIMIT) {
    /* More bytes than the limit in characters: it may need cutting. */
    rc = mpSplitRun(pMsg->zText, pMsg->nText, pMsg->zParseMode,
                    MP_TELEGRAM_LIMIT, &split, &zWhy);
    if (rc == SQLITE_ERROR && zWhy) {
      *pzErr = sqlite3_mprintf("%s: %s", zFunc, zWhy);
    } else if (rc == SQLITE_TOOBIG) {
      *pzErr = sqlite3_mprintf("%s: text is too long to split", zFunc);
    }
    sqlite3_free(zWhy);
    if (rc != SQLITE_OK) return rc;
  }
  if (split.nPart > 1) {
    rc = mpEnqueueParts(p, pMsg, &split, zIdOut, &bInserted);
  } else {
    rc = mpEnqueueRow(p, pMsg, zIdOut, &bInserted);
  }
  mpSplitFree(&split);
  if (rc == SQLITE_OK && !bInserted) {
    rc = pMsg->zDedup ? mpEnqueueDedupHit(p, pMsg->zDedup, zIdOut)
                      : SQLITE_ERROR;
  }
  if (rc != SQLITE_OK && rc != SQLITE_NOMEM) {
    *pzErr = mpErrTake(p, zFunc);
  }
  return rc;
}

/*
** mpEnqueueStore() that sets the result of ctx: the id, or the error.
** Returns an SQLite result code.
*/
int mpEnqueueMessage(sqlite3_context *ctx, MpState *p, const char *zFunc,
                     const MpMessage *pMsg) {
  /* Allocated before the INSERT commits: a stored message must not be
  ** reported as failed because its id could not be copied afterwards. */
  char *zId = sqlite3_malloc64(MP_ID_BUFFER);
  char *zErr = 0;
  int rc;
  if (zId == 0) {
    sqlite3_result_error_nomem(ctx);
    return SQLITE_NOMEM;
  }
  rc = mpEnqueueStore(p, zFunc, pMsg, zId, &zErr);
  if (rc != SQLITE_OK) {
    sqlite3_free(zId);
    mpResultMsg(ctx, rc, zErr);
    return rc;
  }
  sqlite3_result_text(ctx, zId, -1, sqlite3_free);
  return SQLITE_OK;
}

/*
** mp_enqueue(chat_id, text [, event_json [, options_json]]): stores a
** pending message and returns its id (or, for a repeated dedup_key, the id
** of the message already holding it). MP_FN_UNSAFE: it writes.
*/
static void mpEnqueueFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  static const char zFunc[] = "mp_enqueue";
  MpState *p = sqlite3_user_data(ctx);
  MpMessage msg;
  memset(&msg, 0, sizeof(msg));
  msg.iPriority = MP_PRIORITY_NORMAL;
  if (mpArgInt(ctx, argv[0], zFunc, "chat_id", &msg.iChat)) return;
  if (msg.iChat == 0) {
    mpResultErrorf(ctx, "%s: chat_id must not be 0", zFunc);
    return;
  }
  if (mpArgText(ctx, argv[1], zFunc, "text", MP_TEXT_MAX_BYTES, 0, &msg.zText,
                &msg.nText)) {
    return;
  }
  if (argc >= 3) {
    MpJson json;
    if (mpArgText(ctx, argv[2], zFunc, "event_json", MP_EVENT_MAX_BYTES, 1,
                  &msg.zEvent, &msg.nEvent)) {
      return;
    }
    if (msg.zEvent &&
        (!mpJsonValid(msg.zEvent, msg.nEvent) ||
         mpJsonObjectStart(&json, msg.zEvent, msg.nEvent) != SQLITE_OK)) {
      mpResultErrorf(ctx, "%s: event_json must be a JSON object", zFunc);
      return;
    }
  }
  if (argc < 4 || mpEnqueueOptions(ctx, argv[3], &msg) == SQLITE_OK) {
    mpEnqueueMessage(ctx, p, zFunc, &msg);
  }
  sqlite3_free(msg.zDedup);
}

/*
** Registers mp_enqueue(). Returns an SQLite result code.
*/
int mpRegisterEnqueue(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_enqueue", 2, MP_FN_UNSAFE, mpEnqueueFunc },
    { "mp_enqueue", 3, MP_FN_UNSAFE, mpEnqueueFunc },
    { "mp_enqueue", 4, MP_FN_UNSAFE, mpEnqueueFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
