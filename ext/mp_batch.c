/*
** SPDX-License-Identifier: MIT
**
** mp_batch.c: many messages per call, for producers and runners that move
** them in bulk.
**
**   SELECT mp_enqueue_batch('[{"chat_id":1,"text":"a"},
**                             {"chat_id":2,"text":"b","priority":"high"}]');
**   -- ["0190...-000000000001","0190...-000000000002"]
**
**   SELECT mp_confirm_batch('[{"id":"<token>","telegram_message_id":77},
**                             {"id":"<token>","telegram_message_id":78,
**                              "tier":"webhook"}]');
**   -- [1,1]
**
**   SELECT mp_report_batch('[{"id":"<token>","status":200,
**                             "body":{"ok":true,"result":{"message_id":9}},
**                             "duration_ms":120},
**                            {"id":"<token>","status":429,
**                             "body":"{\"ok\":false,\"parameters\":{\"retry_after\":3}}"}]');
**   -- ["confirmed","rate_limited"]
**
** mp_enqueue_batch(json_array) stores every element or none: each is an
** object with chat_id and text, optionally event (a JSON object) and the
** options of mp_enqueue() (priority, delay_ms, dedup_key, parse_mode). An
** error names the element: "mp_enqueue_batch: element 3: ...". Returns the
** ids, in order.
**
** mp_confirm_batch(json_array) and mp_report_batch(json_array) apply each
** element on its own, as mp_confirm() and mp_report() would, in one
** transaction: an element that is refused (a stale lease token, say)
** changes nothing and gives {"error":"..."} in its place in the result,
** and the others still apply. A report's body may be a string (what the
** server sent) or any JSON value (taken as its text).
**
** All three are MP_FN_UNSAFE: they write.
*/
#include "mp_int.h"

#include <string.h>

#define MP_BATCH_MAX_BYTES (64 * 1024 * 1024) /* the JSON argument */
#define SMALLEST_I64       (-9223372036854775807LL - 1)

/*
** Reads the JSON array argument of zFunc, checked once as a whole.
** Returns SQLITE_OK with pIter positioned before the first element (the
** walk then skips values instead of checking them again), or sets an
** error on ctx. Valid JSON is non-empty UTF-8 without NUL bytes, so
** mpArgText() runs only to name what is wrong with a refused argument.
** The text is read with sqlite3_value_blob(): the reader needs no NUL
** terminator, and adding one copies a text bound with SQLITE_STATIC.
** (The functions are registered as SQLITE_UTF8, so the text is UTF-8.)
*/
static int mpBatchStart(sqlite3_context *ctx, const char *zFunc,
                        sqlite3_value *pArg, MpJson *pIter) {
  const char *z;
  int n;
  if (sqlite3_value_type(pArg) == SQLITE_TEXT) {
    z = (const char *)sqlite3_value_blob(pArg);
    n = sqlite3_value_bytes(pArg);
    if (z && n <= MP_BATCH_MAX_BYTES &&
        mpJsonValidStart(pIter, z, n, MP_JSON_ARRAY) == SQLITE_OK) {
      return SQLITE_OK;
    }
  }
  if (mpArgText(ctx, pArg, zFunc, "json", MP_BATCH_MAX_BYTES, 0, &z, &n)) {
    return SQLITE_MISMATCH;
  }
  mpResultErrorf(ctx, "%s: json must be a JSON array of objects", zFunc);
  return SQLITE_MISMATCH;
}

/*
** Opens a call of zFunc on the JSON array pArg: reads it into *pIter (see
** mpBatchStart), begins the write transaction and starts the result
** array, "[", in a new *ppOut. Returns SQLITE_OK, or an error code after
** setting the error on ctx, with nothing to undo.
*/
static int mpBatchOpen(sqlite3_context *ctx, const char *zFunc, MpState *p,
                       sqlite3_value *pArg, MpJson *pIter,
                       sqlite3_str **ppOut) {
  int rc = mpBatchStart(ctx, zFunc, pArg, pIter);
  if (rc != SQLITE_OK) return rc;
  rc = mpBegin(p);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return rc;
  }
  *ppOut = sqlite3_str_new(p->db);
  sqlite3_str_appendchar(*ppOut, 1, '[');
  return SQLITE_OK;
}

/*
** One mp_enqueue_batch() element, read by mpBatchMessage().
*/
typedef struct MpBatchItem MpBatchItem;
struct MpBatchItem {
  MpMessage msg; /* What mpEnqueueStore() stores */
  char *zText;   /* msg.zText if the text had escapes (sqlite3_malloc) */
};

/*
** Reads the text member val into pItem. A text without escapes is used in
** place, inside the argument; one with escapes is decoded. Returns
** SQLITE_OK, SQLITE_NOMEM, or SQLITE_MISMATCH with *pzErr set.
*/
static int mpBatchItemText(const char *zWhere, const MpJsonValue *pVal,
                           MpBatchItem *pItem, char **pzErr) {
  MpMessage *pMsg = &pItem->msg;
  const char *z = 0;
  int n = 0;
  sqlite3_free(pItem->zText);
  pItem->zText = 0;
  if (pVal->eType != MP_JSON_STRING) {
    pMsg->zText = 0;
  } else if (mpJsonStringView(pVal, &z, &n)) {
    /* The reader checked it: UTF-8 without NUL bytes. */
    pMsg->zText = z;
  } else {
    pItem->zText = mpJsonString(pVal, &n);
    if (pItem->zText == 0) return SQLITE_NOMEM;
    /* A decoded string is UTF-8; only \u0000 can give a NUL. */
    pMsg->zText = (int)strlen(pItem->zText) == n ? pItem->zText : 0;
  }
  pMsg->nText = n;
  if (pMsg->zText == 0 || n == 0 || n > MP_TEXT_MAX_BYTES) {
    *pzErr = sqlite3_mprintf("%s: text must be a non-empty string of at "
                             "most %d bytes without NUL",
                             zWhere, MP_TEXT_MAX_BYTES);
    return SQLITE_MISMATCH;
  }
  return SQLITE_OK;
}

/*
** Reads one mp_enqueue_batch() element into pItem, which the caller
** releases with mpBatchMessageFree() whatever the outcome; zWhere names
** the element in errors. Returns SQLITE_OK, or an error code with *pzErr
** set.
*/
static int mpBatchMessage(const char *zWhere, const MpJsonValue *pElem,
                          MpBatchItem *pItem, char **pzErr) {
  MpMessage *pMsg = &pItem->msg;
  MpJson json;
  MpJsonValue key, val;
  int rc = SQLITE_OK, bChat = 0;
  memset(pItem, 0, sizeof(*pItem));
  pMsg->iPriority = MP_PRIORITY_NORMAL;
  if (pElem->eType != MP_JSON_OBJECT || mpJsonEnter(&json, pElem)) {
    *pzErr = sqlite3_mprintf("%s: must be an object", zWhere);
    return SQLITE_MISMATCH;
  }
  while (rc == SQLITE_OK && mpJsonNextMember(&json, &key, &val) == 1) {
    if (mpJsonKeyIs(&key, "chat_id")) {
      bChat = val.eType == MP_JSON_NUMBER &&
              mpJsonInt(&val, &pMsg->iChat) == SQLITE_OK && pMsg->iChat != 0;
      if (!bChat) {
        *pzErr =
            sqlite3_mprintf("%s: chat_id must be a non-zero integer", zWhere);
        rc = SQLITE_MISMATCH;
      }
    } else if (mpJsonKeyIs(&key, "text")) {
      rc = mpBatchItemText(zWhere, &val, pItem, pzErr);
    } else if (mpJsonKeyIs(&key, "event")) {
      if (val.eType == MP_JSON_OBJECT && val.n <= MP_EVENT_MAX_BYTES) {
        pMsg->zEvent = val.z;
        pMsg->nEvent = val.n;
      } else if (val.eType == MP_JSON_NULL) {
        pMsg->zEvent = 0;
        pMsg->nEvent = 0;
      } else {
        *pzErr = sqlite3_mprintf("%s: event must be a JSON object of at "
                                 "most %d bytes",
                                 zWhere, MP_EVENT_MAX_BYTES);
        rc = SQLITE_MISMATCH;
      }
    } else {
      rc = mpEnqueueOption(zWhere, &key, &val, pMsg, pzErr);
    }
  }
  if (rc == SQLITE_OK && (!bChat || pMsg->zText == 0)) {
    *pzErr = sqlite3_mprintf("%s: chat_id and text are required", zWhere);
    rc = SQLITE_MISMATCH;
  }
  return rc;
}

/*
** Frees what mpBatchMessage() allocated.
*/
static void mpBatchMessageFree(MpBatchItem *pItem) {
  sqlite3_free(pItem->zText);
  sqlite3_free(pItem->msg.zDedup);
  memset(pItem, 0, sizeof(*pItem));
}

/*
** Writes "<zFunc>: element <iElem>" into zWhere (room for 64 bytes), as
** sqlite3_snprintf() would but without parsing a format per element.
*/
static void mpBatchWhere(char *zWhere, const char *zFunc, int iElem) {
  static const char zMid[] = ": element ";
  char aDigit[12];
  int nFunc = (int)strlen(zFunc), nDigit = 0;
  do {
    aDigit[nDigit++] = (char)('0' + iElem % 10);
    iElem /= 10;
  } while (iElem > 0);
  memcpy(zWhere, zFunc, (size_t)nFunc);
  memcpy(zWhere + nFunc, zMid, sizeof(zMid) - 1);
  zWhere += nFunc + (int)sizeof(zMid) - 1;
  while (nDigit > 0) {
    *zWhere++ = aDigit[--nDigit];
  }
  *zWhere = 0;
}

/*
** mp_enqueue_batch(json_array): stores every message or none, and returns
** their ids as a JSON array.
*/
static void mpEnqueueBatchFunc(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv) {
  static const char zFunc[] = "mp_enqueue_batch";
  MpState *p = sqlite3_user_data(ctx);
  sqlite3_str *pOut;
  MpJson iter;
  MpJsonValue elem;
  char *zErr = 0;
  int rc, nElem = 0;
  (void)argc;
  rc = mpBatchOpen(ctx, zFunc, p, argv[0], &iter, &pOut);
  if (rc != SQLITE_OK) return;
  while (rc == SQLITE_OK && mpJsonNextElement(&iter, &elem) == 1) {
    char zWhere[64], zId[MP_ID_BUFFER];
    MpBatchItem item;
    mpBatchWhere(zWhere, zFunc, nElem);
    rc = mpBatchMessage(zWhere, &elem, &item, &zErr);
    if (rc == SQLITE_OK) rc = mpEnqueueStore(p, zWhere, &item.msg, zId, &zErr);
    if (rc == SQLITE_OK) {
      if (nElem) sqlite3_str_appendchar(pOut, 1, ',');
      sqlite3_str_appendchar(pOut, 1, '"');
      sqlite3_str_appendall(pOut, zId);
      sqlite3_str_appendchar(pOut, 1, '"');
    }
    mpBatchMessageFree(&item);
    nElem++;
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  if (rc == SQLITE_OK) rc = sqlite3_str_errcode(pOut);
  if (rc != SQLITE_OK) {
    mpRollback(p);
    mpErrClear(p); /* the error is reported; the rollback's is moot */
    sqlite3_free(sqlite3_str_finish(pOut));
    mpResultMsg(ctx, rc, zErr);
    return;
  }
  mpResultJson(ctx, zFunc, p->db, mpCommit(p), pOut);
}

/*
** Appends {"error": zErr} (or the OOM text) to pOut and frees zErr.
*/
static void mpBatchAppendError(sqlite3_str *pOut, char *zErr) {
  const char *z = zErr ? zErr : "out of memory";
  sqlite3_str_appendall(pOut, "{\"error\":");
  mpJsonAppendString(pOut, z, (int)strlen(z));
  sqlite3_str_appendchar(pOut, 1, '}');
  sqlite3_free(zErr);
}

/*
** Finds the member zName of object pObj. Returns 1 with *pVal set, or 0.
*/
static int mpBatchMember(const MpJsonValue *pObj, const char *zName,
                         MpJsonValue *pVal) {
  MpJson json;
  MpJsonValue key;
  if (mpJsonObjectStart(&json, pObj->z, pObj->n) != SQLITE_OK) return 0;
  while (mpJsonNextMember(&json, &key, pVal) == 1) {
    if (mpJsonKeyIs(&key, zName)) return 1;
  }
  return 0;
}

/*
** Reads an optional integer member; *piOut keeps its value when absent or
** null. Returns SQLITE_OK, or SQLITE_MISMATCH with *pzErr set.
*/
static int mpBatchInt(const char *zWhere, const MpJsonValue *pObj,
                      const char *zName, i64 *piOut, char **pzErr) {
  MpJsonValue val;
  if (!mpBatchMember(pObj, zName, &val) || val.eType == MP_JSON_NULL) {
    return SQLITE_OK;
  }
  if (val.eType == MP_JSON_NUMBER && mpJsonInt(&val, piOut) == SQLITE_OK) {
    return SQLITE_OK;
  }
  *pzErr = sqlite3_mprintf("%s: %s must be an integer", zWhere, zName);
  return SQLITE_MISMATCH;
}

/*
** Reads an optional string member into *pzOut (sqlite3_malloc'd; NULL when
** absent or null). Like the text arguments of mp_confirm() and mp_report(),
** it must be 1 to nMax bytes without NUL (a \u0000 would cut it short).
** Returns SQLITE_OK, or an error code with *pzErr set.
*/
static int mpBatchText(const char *zWhere, const MpJsonValue *pObj,
                       const char *zName, int nMax, char **pzOut,
                       char **pzErr) {
  MpJsonValue val;
  int n = 0;
  *pzOut = 0;
  if (!mpBatchMember(pObj, zName, &val) || val.eType == MP_JSON_NULL) {
    return SQLITE_OK;
  }
  if (val.eType != MP_JSON_STRING) {
    *pzErr = sqlite3_mprintf("%s: %s must be a string", zWhere, zName);
    return SQLITE_MISMATCH;
  }
  *pzOut = mpJsonString(&val, &n);
  if (*pzOut == 0) return SQLITE_NOMEM;
  if (n == 0 || n > nMax || (int)strlen(*pzOut) != n) {
    sqlite3_free(*pzOut);
    *pzOut = 0;
    *pzErr = sqlite3_mprintf("%s: %s must be a non-empty string of at most "
                             "%d bytes without NUL",
                             zWhere, zName, nMax);
    return SQLITE_MISMATCH;
  }
  return SQLITE_OK;
}

/*
** Applies one mp_confirm_batch() element: the one-statement confirm, or,
** when that does not apply, the checks and the change in a savepoint of
** their own. Returns SQLITE_OK, or an error code with *pzErr set and
** nothing changed.
*/
static int mpBatchConfirmOne(MpState *p, const char *zWhere,
                             const MpJsonValue *pElem, char **pzErr) {
  char *zId = 0, *zTier = 0;
  i64 iTelegramId = 0;
  MpRow row;
  int bDone = 0;
  int rc = pElem->eType == MP_JSON_OBJECT ? SQLITE_OK : SQLITE_MISMATCH;
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("%s: must be an object", zWhere);
    return rc;
  }
  rc = mpBatchText(zWhere, pElem, "id", MP_ID_ARG_MAX, &zId, pzErr);
  if (rc == SQLITE_OK) {
    rc = mpBatchText(zWhere, pElem, "tier", MP_KEY_MAX_BYTES, &zTier, pzErr);
  }
  if (rc == SQLITE_OK) {
    /* Any integer, as for mp_confirm(); the sentinel means absent. */
    iTelegramId = SMALLEST_I64;
    rc = mpBatchInt(zWhere, pElem, "telegram_message_id", &iTelegramId, pzErr);
  }
  if (rc == SQLITE_OK && (zId == 0 || iTelegramId == SMALLEST_I64)) {
    *pzErr =
        sqlite3_mprintf("%s: id and telegram_message_id are required", zWhere);
    rc = SQLITE_MISMATCH;
  }
  if (rc == SQLITE_OK) {
    /* The fast path is one statement: nothing to undo if it fails. */
    rc = mpConfirmFast(p, zId, (int)strlen(zId), iTelegramId,
                       zTier ? zTier : "telegram", &bDone);
    if (rc != SQLITE_OK) *pzErr = mpErrTake(p, zWhere);
  }
  if (rc == SQLITE_OK && !bDone) rc = mpBegin(p);
  if (rc == SQLITE_OK && !bDone) {
    rc = mpFindRowText(p, zWhere, zId, (int)strlen(zId), &row, pzErr);
    if (rc == SQLITE_OK) {
      rc = mpTransitionCheckText(zWhere, &row, "sent", "confirmed", pzErr);
    }
    if (rc == SQLITE_OK) {
      rc = mpApplyConfirm(p, &row, &iTelegramId, zTier ? zTier : "telegram");
      if (rc != SQLITE_OK) *pzErr = mpErrTake(p, zWhere);
    }
    if (rc == SQLITE_OK) {
      rc = mpCommit(p);
    } else {
      mpRollback(p);
    }
  }
  sqlite3_free(zId);
  sqlite3_free(zTier);
  return rc;
}

/*
** Applies one mp_report_batch() element (see mpReportOne()). Sets
** *pzOutcome. Returns SQLITE_OK, or an error code with *pzErr set.
*/
static int mpBatchReportOne(MpState *p, const char *zWhere,
                            const MpJsonValue *pElem, const char **pzOutcome,
                            char **pzErr) {
  MpAttempt at;
  MpJsonValue body;
  char *zId = 0, *zTier = 0, *zBody = 0;
  int rc = pElem->eType == MP_JSON_OBJECT ? SQLITE_OK : SQLITE_MISMATCH;
  memset(&at, 0, sizeof(at));
  at.iDuration = -1;
  at.iStatus = SMALLEST_I64; /* absent; any other value mpReportOne() checks */
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("%s: must be an object", zWhere);
    return rc;
  }
  rc = mpBatchText(zWhere, pElem, "id", MP_ID_ARG_MAX, &zId, pzErr);
  if (rc == SQLITE_OK) {
    rc = mpBatchText(zWhere, pElem, "tier", MP_TIER_MAX_BYTES, &zTier, pzErr);
  }
  if (rc == SQLITE_OK) {
    rc = mpBatchInt(zWhere, pElem, "status", &at.iStatus, pzErr);
  }
  if (rc == SQLITE_OK) {
    i64 iDuration = SMALLEST_I64;
    rc = mpBatchInt(zWhere, pElem, "duration_ms", &iDuration, pzErr);
    /* Absent: unknown (-1); negative: refused by mpReportOne() (-2). */
    at.iDuration = iDuration == SMALLEST_I64 ? -1
                   : iDuration < 0           ? -2
                                             : iDuration;
  }
  if (rc == SQLITE_OK && mpBatchMember(pElem, "body", &body)) {
    if (body.eType == MP_JSON_STRING) {
      zBody = mpJsonString(&body, &at.nBody);
      if (zBody == 0) rc = SQLITE_NOMEM;
      at.zBody = zBody;
    } else if (body.eType != MP_JSON_NULL) {
      at.zBody = body.z;
      at.nBody = body.n;
    }
  }
  if (rc == SQLITE_OK && (zId == 0 || at.iStatus == SMALLEST_I64)) {
    *pzErr = sqlite3_mprintf("%s: id and status are required", zWhere);
    rc = SQLITE_MISMATCH;
  }
  if (rc == SQLITE_OK) {
    at.zId = zId;
    at.nId = (int)strlen(zId);
    at.zTier = zTier;
    rc = mpReportOne(p, zWhere, &at, pzOutcome, pzErr);
  }
  sqlite3_free(zId);
  sqlite3_free(zTier);
  sqlite3_free(zBody);
  return rc;
}

/*
** The body shared by mp_confirm_batch() and mp_report_batch(): applies
** each element with xOne in one transaction and returns the JSON array of
** results; a refused element gives {"error": ...}. When the call runs
** inside an INSERT/UPDATE/DELETE (see mp_util.c), a refused element cannot
** be undone on its own and fails the whole call instead; so does an
** element that runs out of memory, finds the database busy, or whose
** failure made SQLite roll back the transaction.
*/
static void mpBatchEach(sqlite3_context *ctx, const char *zFunc,
                        sqlite3_value *pArg, int bReport) {
  MpState *p = sqlite3_user_data(ctx);
  sqlite3_str *pOut;
  MpJson iter;
  MpJsonValue elem;
  int rc, nElem = 0;
  rc = mpBatchOpen(ctx, zFunc, p, pArg, &iter, &pOut);
  if (rc != SQLITE_OK) return;
  while (rc == SQLITE_OK && mpJsonNextElement(&iter, &elem) == 1) {
    char zWhere[64];
    const char *zOutcome = 0;
    char *zErr = 0;
    int rcOne;
    sqlite3_snprintf(sizeof(zWhere), zWhere, "%s: element %d", zFunc, nElem);
    if (nElem++) sqlite3_str_appendchar(pOut, 1, ',');
    rcOne = bReport ? mpBatchReportOne(p, zWhere, &elem, &zOutcome, &zErr)
                    : mpBatchConfirmOne(p, zWhere, &elem, &zErr);
    if (rcOne == SQLITE_OK) {
      if (bReport) {
        sqlite3_str_appendf(pOut, "\"%s\"", zOutcome);
      } else {
        sqlite3_str_appendchar(pOut, 1, '1');
      }
    } else if (rcOne == SQLITE_NOMEM || p->nInStatement > 0 ||
               (rcOne & 0xFF) == SQLITE_BUSY || sqlite3_get_autocommit(p->db)) {
      /* The element cannot be undone on its own, or SQLite rolled back
      ** the whole transaction (an I/O error, a full disk, a trigger's
      ** RAISE(ROLLBACK)): the later elements would commit one by one.
      ** The call fails, and nothing of it stays. */
      mpResultMsg(ctx, rcOne, zErr);
      rc = rcOne;
    } else {
      mpBatchAppendError(pOut, zErr);
    }
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  if (rc == SQLITE_OK && sqlite3_str_errcode(pOut) != SQLITE_OK) {
    /* The result cannot be returned: undo what it reports. */
    rc = SQLITE_NOMEM;
    sqlite3_result_error_nomem(ctx);
  }
  if (rc != SQLITE_OK) {
    mpRollback(p);
    mpErrClear(p); /* the error is reported; the rollback's is moot */
    sqlite3_free(sqlite3_str_finish(pOut));
    return;
  }
  mpResultJson(ctx, zFunc, p->db, mpCommit(p), pOut);
}

/*
** mp_confirm_batch(json_array): mp_confirm() for each element.
*/
static void mpConfirmBatchFunc(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv) {
  (void)argc;
  mpBatchEach(ctx, "mp_confirm_batch", argv[0], 0);
}

/*
** mp_report_batch(json_array): mp_report() for each element.
*/
static void mpReportBatchFunc(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv) {
  (void)argc;
  mpBatchEach(ctx, "mp_report_batch", argv[0], 1);
}

/*
** Registers the batch functions. Returns an SQLite result code.
*/
int mpRegisterBatch(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_enqueue_batch", 1, MP_FN_UNSAFE, mpEnqueueBatchFunc },
    { "mp_confirm_batch", 1, MP_FN_UNSAFE, mpConfirmBatchFunc },
    { "mp_report_batch",  1, MP_FN_UNSAFE, mpReportBatchFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
