/*
** SPDX-License-Identifier: MIT
**
** mp_report.c: the delivery policy, applied to what a sender saw.
**
**   SELECT mp_report('<lease token>', 200,
**                    '{"ok":true,"result":{"message_id":77}}',
**                    'telegram', 182);                  -- 'confirmed'
**   SELECT mp_report('<lease token>', 429,
**                    '{"ok":false,"error_code":429,"parameters":'
**                    '{"retry_after":3}}');             -- 'rate_limited'
**   SELECT mp_report('<lease token>', 0, 'Could not resolve host');
**                                                       -- 'retry'
**
** mp_report(id, http_status, response_body [, tier [, duration_ms]]) is
** the runner's one call per attempt. http_status is the HTTP status, 0
** when the request never left (DNS, connect, TLS; the body is then the
** transport's error text) or -1 when it was sent but no complete answer
** came (timeout, reset). It returns what the runner should know:
**
**   confirmed     delivered; Telegram's message_id and the tier stored
**   retry         back to pending after the exponential backoff
**   rate_limited  429: pending again after retry_after, the chat paused;
**                 logged, but not counted toward max_retry_count
**   migrated      400 with migrate_to_chat_id: the chat's pending
**                 messages now go to the new chat, at once
**   in_doubt      sent but unanswered (or answered without a message_id):
**                 per recovery_policy, retried and marked in_doubt
**                 (at_least_once) or parked as failed (at_most_once)
**   failed        permanent (400, 403, ...) or retries exhausted
**   stop          401 or 404: the token or the URL is wrong; the message
**                 is failed and the runner must stop
**
** For the tiers 'webhook' and 'file' any 2xx confirms; 429 waits as
** above; anything else is retried, since a broken tier is not the
** message's fault (the runner's circuit breaker moves on to the next).
**
** With duration_ms, the chat's pacing counts from when the request really
** left (now - duration_ms), so a request that went out late does not
** bring the chat's next one closer than pace_chat_ms.
**
** Every attempt is logged in mp_attempt (time, tier, status, duration,
** outcome) and counted per tier for mp_stats. A malformed, truncated or
** non-UTF-8 body is never an error: it is an answer without content.
*/
#include "mp_int.h"

#include <string.h>

#define MP_BODY_MAX_BYTES  (1024 * 1024)
#define MP_DETAIL_MAX      400        /* bytes of body or description stored */
#define MP_RETRY_AFTER_MAX 86400      /* seconds; longer hints are capped */
#define MP_RETRY_AFTER_DEF 5          /* seconds, for a 429 without a hint */
#define MP_DURATION_MAX_MS 86400000LL /* a day: longer is a clock error */

/* What the policy decided. */
enum MpAction {
  MP_ACT_CONFIRM,
  MP_ACT_RETRY,
  MP_ACT_RATE_LIMIT,
  MP_ACT_MIGRATE,
  MP_ACT_IN_DOUBT,
  MP_ACT_FAIL,
  MP_ACT_STOP
};

/* What the body said, as far as it could be read. */
typedef struct MpAnswer MpAnswer;
struct MpAnswer {
  int bJson;          /* The body is a valid JSON document */
  int bOk;            /* "ok": true */
  int bMessageId;     /* result.message_id is an integer */
  i64 iMessageId;     /* result.message_id */
  i64 iRetryAfter;    /* parameters.retry_after, or -1 */
  int bMigrate;       /* parameters.migrate_to_chat_id is an integer */
  i64 iMigrateTo;     /* parameters.migrate_to_chat_id */
  char *zDescription; /* description (sqlite3_malloc), or NULL */
};

/*
** Reads an integer at zPath of the body into *piOut. Returns 1 if found.
*/
static int mpAnswerInt(const char *z, int n, const char *zPath, i64 *piOut) {
  MpJsonValue v;
  return mpJsonLookup(z, n, zPath, &v) && v.eType == MP_JSON_NUMBER &&
         mpJsonInt(&v, piOut) == SQLITE_OK;
}

/*
** Parses a Bot API answer. Never fails on bad input: fields that cannot
** be read stay unset. Returns SQLITE_OK or SQLITE_NOMEM.
*/
static int mpAnswerParse(const char *z, int n, MpAnswer *pA) {
  MpJsonValue v;
  memset(pA, 0, sizeof(*pA));
  pA->iRetryAfter = -1;
  if (z == 0 || !mpUtf8Valid((const unsigned char *)z, n) ||
      !mpJsonValid(z, n)) {
    return SQLITE_OK;
  }
  pA->bJson = 1;
  pA->bOk = mpJsonLookup(z, n, "$.ok", &v) && v.eType == MP_JSON_TRUE;
  pA->bMessageId = mpAnswerInt(z, n, "$.result.message_id", &pA->iMessageId);
  if (!mpAnswerInt(z, n, "$.parameters.retry_after", &pA->iRetryAfter)) {
    pA->iRetryAfter = -1;
  }
  pA->bMigrate =
      mpAnswerInt(z, n, "$.parameters.migrate_to_chat_id", &pA->iMigrateTo) &&
      pA->iMigrateTo != 0;
  if (mpJsonLookup(z, n, "$.description", &v) && v.eType == MP_JSON_STRING) {
    pA->zDescription = mpJsonString(&v, 0);
    if (pA->zDescription == 0) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/*
** The policy table of SPEC section 4 for the Telegram tier.
*/
static int mpPolicyTelegram(int iStatus, const MpAnswer *pA) {
  if (iStatus >= 200 && iStatus < 300) {
    return pA->bOk && pA->bMessageId ? MP_ACT_CONFIRM : MP_ACT_IN_DOUBT;
  }
  switch (iStatus) {
    case -1: return MP_ACT_IN_DOUBT;
    case 0: return MP_ACT_RETRY;
    case 429: return MP_ACT_RATE_LIMIT;
    case 400: return pA->bMigrate ? MP_ACT_MIGRATE : MP_ACT_FAIL;
    case 401:
    case 404: return MP_ACT_STOP;
    default: break;
  }
  if (iStatus >= 400 && iStatus < 500) return MP_ACT_FAIL;
  return MP_ACT_RETRY;
}

/*
** The policy for the 'webhook' and 'file' tiers.
*/
static int mpPolicyOther(int iStatus) {
  if (iStatus >= 200 && iStatus < 300) return MP_ACT_CONFIRM;
  if (iStatus == -1) return MP_ACT_IN_DOUBT;
  if (iStatus == 429) return MP_ACT_RATE_LIMIT;
  return MP_ACT_RETRY;
}

/*
** Builds the error text stored with a failed attempt: "<tier> <status>:
** <description, or the start of the body>". Returns sqlite3_malloc'd text
** or NULL on OOM.
*/
static char *mpReportDetail(const char *zTier, int iStatus, const char *zBody,
                            int nBody, const MpAnswer *pA) {
  const char *zWhat = iStatus == 0    ? "not sent"
                      : iStatus == -1 ? "no answer"
                                      : 0;
  const char *zText = pA->zDescription ? pA->zDescription : zBody;
  int nText = pA->zDescription ? (int)strlen(pA->zDescription) : nBody;
  if (zText == 0 || !mpUtf8Valid((const unsigned char *)zText, nText)) {
    zText = zBody ? "(a body that is not UTF-8 text)" : "(no body)";
    nText = (int)strlen(zText);
  }
  if (nText > MP_DETAIL_MAX) {
    nText = MP_DETAIL_MAX;
    while (nText > 0 && ((unsigned char)zText[nText] & 0xC0) == 0x80)
      nText--;
  }
  if (zWhat) return sqlite3_mprintf("%s %s: %.*s", zTier, zWhat, nText, zText);
  return sqlite3_mprintf("%s %d: %.*s", zTier, iStatus, nText, zText);
}

/*
** Moves every pending message of pRow's chat, and pRow itself, to the chat
** Telegram migrated it to, recomputing their checksums; pRow becomes
** pending and due now. Returns an SQLite result code.
*/
static int mpReportMigrate(MpState *p, const MpRow *pRow, i64 iNewChat,
                           const char *zDetail) {
  sqlite3_stmt *pRead = 0, *pWrite = 0;
  int rc = sqlite3_prepare_v2(
      p->db,
      "SELECT seq, message_text, event_data, parse_mode FROM messages "
      "WHERE seq = ?2 OR (status = 'pending' AND chat_id = ?1)",
      -1, &pRead, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(
        p->db,
        "UPDATE messages SET chat_id = ?2, checksum = ?3, status = 'pending', "
        "due_at = CASE WHEN seq = ?4 THEN ?5 ELSE due_at END, "
        "error_message = CASE WHEN seq = ?4 THEN ?6 ELSE error_message END, "
        "lease_until = NULL, lease_token = NULL, worker = NULL, "
        "revision = revision + (seq = ?4), updated_at = ?5 / 1000 "
        "WHERE seq = ?1",
        -1, &pWrite, 0);
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pRead, 1, pRow->iChat);
    sqlite3_bind_int64(pRead, 2, pRow->iSeq);
  }
  while (rc == SQLITE_OK && sqlite3_step(pRead) == SQLITE_ROW) {
    u8 aSum[MP_CHECKSUM_BYTES];
    rc = mpChecksum(p, iNewChat, (const char *)sqlite3_column_text(pRead, 1),
                    sqlite3_column_bytes(pRead, 1),
                    (const char *)sqlite3_column_text(pRead, 2),
                    sqlite3_column_bytes(pRead, 2),
                    (const char *)sqlite3_column_text(pRead, 3),
                    sqlite3_column_bytes(pRead, 3), aSum);
    if (rc != SQLITE_OK) break;
    sqlite3_bind_int64(pWrite, 1, sqlite3_column_int64(pRead, 0));
    sqlite3_bind_int64(pWrite, 2, iNewChat);
    sqlite3_bind_blob(pWrite, 3, aSum, MP_CHECKSUM_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(pWrite, 4, pRow->iSeq);
    sqlite3_bind_int64(pWrite, 5, mpNowMs(p));
    sqlite3_bind_text(pWrite, 6, zDetail, -1, SQLITE_STATIC);
    sqlite3_step(pWrite);
    rc = sqlite3_reset(pWrite);
  }
  sqlite3_finalize(pRead);
  sqlite3_finalize(pWrite);
  return rc;
}

/*
** Logs the attempt in mp_attempt and adds it to the tier's counters.
** Returns an SQLite result code.
*/
static int mpReportRecord(MpState *p, const MpRow *pRow, const char *zTier,
                          int iStatus, i64 iDuration, const char *zOutcome,
                          const char *zDetail) {
  char zName[48];
  sqlite3_stmt *pStmt = mpStmt(
      p, MP_STMT_ATTEMPT,
      "INSERT INTO mp_attempt(seq, at_ms, tier, http_status, duration_ms, "
      "outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  int rc;
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pStmt, 1, pRow->iSeq);
  sqlite3_bind_int64(pStmt, 2, mpNowMs(p));
  sqlite3_bind_text(pStmt, 3, zTier, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 4, iStatus);
  if (iDuration >= 0) sqlite3_bind_int64(pStmt, 5, iDuration);
  sqlite3_bind_text(pStmt, 6, zOutcome, -1, SQLITE_STATIC);
  if (zDetail) sqlite3_bind_text(pStmt, 7, zDetail, -1, SQLITE_STATIC);
  sqlite3_step(pStmt);
  rc = mpStmtFinish(pStmt);
  sqlite3_snprintf(sizeof(zName), zName, "attempts.%s", zTier);
  if (rc == SQLITE_OK) rc = mpCounterAdd(p, zName, 1);
  if (rc == SQLITE_OK && iDuration >= 0) {
    sqlite3_snprintf(sizeof(zName), zName, "duration_ms.%s", zTier);
    rc = mpCounterAdd(p, zName, iDuration);
    sqlite3_snprintf(sizeof(zName), zName, "timed.%s", zTier);
    if (rc == SQLITE_OK) rc = mpCounterAdd(p, zName, 1);
  }
  if (rc == SQLITE_OK && strcmp(zOutcome, "confirmed") == 0) {
    sqlite3_snprintf(sizeof(zName), zName, "successes.%s", zTier);
    rc = mpCounterAdd(p, zName, 1);
  }
  return rc;
}

/*
** Applies eAction to pRow. Sets *pzOutcome. Returns an SQLite result code.
*/
static int mpReportApply(MpState *p, const MpRow *pRow, int eAction,
                         const MpAnswer *pA, const char *zTier,
                         const char *zDetail, const char **pzOutcome) {
  MpFailure f = { zDetail, 1, -1, 1, 0 };
  const char *zStatus = 0;
  i64 iPolicy = 0;
  int rc;
  switch (eAction) {
    case MP_ACT_CONFIRM:
      *pzOutcome = "confirmed";
      return mpApplyConfirm(p, pRow, pA->bMessageId ? &pA->iMessageId : 0,
                            zTier);
    case MP_ACT_MIGRATE:
      *pzOutcome = "migrated";
      return mpReportMigrate(p, pRow, pA->iMigrateTo, zDetail);
    case MP_ACT_RATE_LIMIT: {
      i64 iAfter = pA->iRetryAfter < 0 ? MP_RETRY_AFTER_DEF : pA->iRetryAfter;
      if (iAfter > MP_RETRY_AFTER_MAX) iAfter = MP_RETRY_AFTER_MAX;
      f.iRetryAfterMs = iAfter * 1000;
      f.bCountsAsRetry = 0;
      rc = mpPacePause(p, pRow->iChat, mpNowMs(p) + f.iRetryAfterMs);
      if (rc == SQLITE_OK) rc = mpApplyFailure(p, pRow, &f, &zStatus);
      *pzOutcome = "rate_limited";
      return rc;
    }
    case MP_ACT_IN_DOUBT:
      rc = mpConfigInt(p, "recovery_policy", &iPolicy);
      if (rc != SQLITE_OK) return rc;
      f.bInDoubt = 1;
      f.bRetryable = iPolicy == 0;
      rc = mpApplyFailure(p, pRow, &f, &zStatus);
      *pzOutcome = rc == SQLITE_OK && strcmp(zStatus, "pending") == 0
                       ? "in_doubt"
                       : "failed";
      return rc;
    case MP_ACT_RETRY:
      rc = mpApplyFailure(p, pRow, &f, &zStatus);
      *pzOutcome = rc == SQLITE_OK && strcmp(zStatus, "pending") == 0
                       ? "retry"
                       : "failed";
      return rc;
    default:
      f.bRetryable = 0;
      *pzOutcome = eAction == MP_ACT_STOP ? "stop" : "failed";
      return mpApplyFailure(p, pRow, &f, &zStatus);
  }
}

/*
** Returns the static name of tier z ('telegram', 'webhook' or 'file'), or
** NULL if it is none of them.
*/
static const char *mpReportTierName(const char *z) {
  static const char *const azTier[] = { "telegram", "webhook", "file" };
  for (int i = 0; i < 3; i++) {
    if (strcmp(z, azTier[i]) == 0) return azTier[i];
  }
  return 0;
}

/*
** Applies the delivery policy to one attempt (see MpAttempt in mp_int.h)
** in its own transaction (a savepoint inside the caller's). Sets
** *pzOutcome to the outcome (a static string). Returns SQLITE_OK, or an
** error code with *pzErr set (NULL on OOM; the caller frees it) and
** nothing changed.
*/
int mpReportOne(MpState *p, const char *zFunc, const MpAttempt *pAt,
                const char **pzOutcome, char **pzErr) {
  const char *zTier = mpReportTierName(pAt->zTier ? pAt->zTier : "telegram");
  char *zDetail = 0;
  int eAction, rc;
  MpAnswer answer;
  MpRow row;
  *pzErr = 0;
  *pzOutcome = 0;
  if (pAt->iStatus < -1 || (pAt->iStatus > 0 && pAt->iStatus < 100) ||
      pAt->iStatus > 999) {
    *pzErr = sqlite3_mprintf("%s: http_status must be -1, 0 or 100-999, got "
                             "%lld",
                             zFunc, pAt->iStatus);
    return SQLITE_MISMATCH;
  }
  if (pAt->nBody > MP_BODY_MAX_BYTES) {
    *pzErr = sqlite3_mprintf("%s: response_body is too long (%d bytes, the "
                             "limit is %d)",
                             zFunc, pAt->nBody, MP_BODY_MAX_BYTES);
    return SQLITE_TOOBIG;
  }
  if (zTier == 0) {
    *pzErr = sqlite3_mprintf("%s: tier must be telegram, webhook or file, "
                             "got '%s'",
                             zFunc, pAt->zTier);
    return SQLITE_MISMATCH;
  }
  if (pAt->iDuration < -1 || pAt->iDuration > MP_DURATION_MAX_MS) {
    *pzErr = sqlite3_mprintf("%s: duration_ms must be between 0 and %lld",
                             zFunc, MP_DURATION_MAX_MS);
    return SQLITE_MISMATCH;
  }
  rc = mpAnswerParse(pAt->zBody, pAt->nBody, &answer);
  eAction = strcmp(zTier, "telegram") == 0
                ? mpPolicyTelegram((int)pAt->iStatus, &answer)
                : mpPolicyOther((int)pAt->iStatus);
  if (rc == SQLITE_OK && eAction != MP_ACT_CONFIRM) {
    zDetail = mpReportDetail(zTier, (int)pAt->iStatus, pAt->zBody, pAt->nBody,
                             &answer);
    if (zDetail == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = mpBegin(p);
  if (rc != SQLITE_OK) {
    if (rc != SQLITE_NOMEM) *pzErr = mpErrTake(p, zFunc);
    goto report_end;
  }
  rc = mpFindRowText(p, zFunc, pAt->zId, pAt->nId, &row, pzErr);
  if (rc == SQLITE_OK) {
    rc = mpTransitionCheckText(zFunc, &row, "sent", "reported", pzErr);
  }
  if (rc != SQLITE_OK) {
    mpRollback(p);
    goto report_end;
  }
  rc = mpReportApply(p, &row, eAction, &answer, zTier, zDetail, pzOutcome);
  if (rc == SQLITE_OK && pAt->iDuration >= 0 && pAt->iStatus != 0) {
    rc = mpPaceAfterSend(p, row.iChat, mpNowMs(p) - pAt->iDuration);
  }
  if (rc == SQLITE_OK) {
    rc = mpReportRecord(p, &row, zTier, (int)pAt->iStatus, pAt->iDuration,
                        *pzOutcome, zDetail);
  }
  if (rc == SQLITE_OK) {
    rc = mpCommit(p);
  } else {
    mpRollback(p);
  }
  if (rc != SQLITE_OK) *pzErr = mpErrTake(p, zFunc);

report_end:
  sqlite3_free(answer.zDescription);
  sqlite3_free(zDetail);
  return rc;
}

/*
** mp_report(id, http_status, response_body [, tier [, duration_ms]]):
** applies the delivery policy to one attempt of a sent message and
** returns the outcome (see the top of this file). MP_FN_UNSAFE: it writes.
*/
static void mpReportFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char zFunc[] = "mp_report";
  MpState *p = sqlite3_user_data(ctx);
  const char *zOutcome = 0;
  char *zErr = 0;
  MpAttempt at;
  int rc;
  memset(&at, 0, sizeof(at));
  at.iDuration = -1;
  if (mpArgText(ctx, argv[0], zFunc, "id", MP_ID_ARG_MAX, 0, &at.zId,
                &at.nId) ||
      mpArgInt(ctx, argv[1], zFunc, "http_status", &at.iStatus)) {
    return;
  }
  switch (sqlite3_value_type(argv[2])) {
    case SQLITE_NULL: break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      at.zBody = (const char *)sqlite3_value_blob(argv[2]);
      at.nBody = sqlite3_value_bytes(argv[2]);
      if (at.zBody == 0) at.zBody = "";
      break;
    default:
      mpResultErrorf(ctx, "%s: response_body must be text", zFunc);
      return;
  }
  if (argc >= 4 && sqlite3_value_type(argv[3]) != SQLITE_NULL &&
      mpArgText(ctx, argv[3], zFunc, "tier", MP_TIER_MAX_BYTES, 0, &at.zTier,
                0)) {
    return;
  }
  if (argc >= 5 && sqlite3_value_type(argv[4]) != SQLITE_NULL) {
    if (mpArgInt(ctx, argv[4], zFunc, "duration_ms", &at.iDuration)) return;
    if (at.iDuration < 0 || at.iDuration > MP_DURATION_MAX_MS) {
      at.iDuration = -2; /* out of range: refused by mpReportOne() */
    }
  }
  rc = mpReportOne(p, zFunc, &at, &zOutcome, &zErr);
  if (rc != SQLITE_OK) {
    mpResultMsg(ctx, rc, zErr);
    return;
  }
  sqlite3_result_text(ctx, zOutcome, -1, SQLITE_STATIC);
}

/*
** Registers mp_report(). Returns an SQLite result code.
*/
int mpRegisterReport(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_report", 3, MP_FN_UNSAFE, mpReportFunc },
    { "mp_report", 4, MP_FN_UNSAFE, mpReportFunc },
    { "mp_report", 5, MP_FN_UNSAFE, mpReportFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
