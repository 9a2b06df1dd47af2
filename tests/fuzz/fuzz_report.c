/*
** SPDX-License-Identifier: MIT
**
** fuzz_report.c: a libFuzzer harness for mp_report() in mp_report.c, the
** delivery policy that reads Bot API answers.
**
** One :memory: database with mp registered (the extension is compiled in
** with -DSQLITE_CORE), mp_init() with pacing off and a fixed clock. For
** each input the harness empties the queue, enqueues a message (and, as
** the input says, more pending messages of its chat and of another chat),
** claims it and calls
**
**   SELECT mp_report(?id, ?http_status, ?body [, ?tier [, ?duration_ms]])
**
** with the status, tier, duration, form of the id (lease token, plain id,
** stale token) and type of the body (TEXT, BLOB, NULL, INTEGER) chosen by
** the first four bytes of the input; the rest is the body. Some inputs go
** through mp_report_batch() with one element instead, which must behave
** exactly as mp_report() (its errors come back in-band). The harness
** aborts, printing the input, when one of these properties fails:
**
**   - the call returns one of the outcome words (confirmed, retry,
**     rate_limited, migrated, in_doubt, failed, stop) or fails with an
**     error naming mp_report, and it fails exactly when an argument is
**     invalid (status, tier, duration, body type, stale token);
**   - after an error nothing in the database changed;
**   - the outcome is one the policy allows for the status and tier, and,
**     when the body is simple enough for SQLite's JSON functions to be an
**     independent oracle (no backslash, nesting below 400), exactly the
**     one it predicts from the fields ok, result.message_id,
**     parameters.retry_after and parameters.migrate_to_chat_id;
**   - the row is in the state the outcome says: confirmed with the
**     message id and tier; pending with retry_count + 1 and due within
**     the backoff (retry, in_doubt); pending, retry_count unchanged, due
**     after retry_after and the chat paused (rate_limited); pending in
**     the new chat, due now, with the chat's other pending messages moved
**     along and nothing else touched (migrated); failed, due now, with
**     "gave up after N retries" only when retries ran out (failed, stop);
**     never a lease left; in_doubt set exactly for unanswered sends;
**   - the stored error text is what the body says ("<tier> <status>:
**     <description or body>", at most 400 bytes of it, cut on a character
**     boundary) and valid UTF-8;
**   - exactly one mp_attempt row records the call (tier, status, duration,
**     outcome, detail); a second report of the same claim is refused and
**     changes nothing;
**   - mp_verify() is 0, mp_stats agrees with the table, and
**     PRAGMA integrity_check is ok.
**
** Input layout (every byte is optional; missing ones read as 0):
**
**   byte 0  status: an entry of aStatus[], or when >= 0xF0 a raw int16
**           from bytes 4-5 (which then do not belong to the body)
**   byte 1  bits 0-1 tier (omitted, telegram, webhook, file), bits 2-3
**           body type (text, text, blob, NULL or, for a 1-byte body, the
**           integer 42), bits 4-5 id form (token, token through
**           mp_report_batch(), id, stale token), bit 6 invalid tier, bit 7
**           status as REAL
**   byte 2  bits 0-1 max_retry_count, bits 2-3 retry_count before the
**           claim, bit 4 at_most_once, bits 5-7 duration_ms choice
**   byte 3  bits 0-1 more pending messages in the chat, bit 2 a pending
**           message in another chat, bit 3 claim with mp_mark_sent, bit 4
**           report twice, bits 5-6 parse mode, bit 7 pacing on
**
** Build and run (from the repository root, after the CMake build made
** build/generated):
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -DSQLITE_CORE \
**       -Iext -Ibuild/generated ext/mp*.c tests/fuzz/fuzz_report.c \
**       tests/fuzz/fuzz_common.c -lsqlite3 -lcrypto -o fuzz_report
**   cp -r tests/fuzz/corpus/report /tmp/corpus  # libFuzzer adds to it
**   ./fuzz_report -max_total_time=60 -dict=tests/fuzz/report.dict /tmp/corpus
**
** Without libFuzzer, link tests/fuzz/fuzz_standalone.c instead of
** -fsanitize=fuzzer (cmake/fuzz.cmake does, as fuzz/report_replay).
*/
#include "fuzz_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MP_FUZZ_CHAT     (-1001234567890LL) /* the claimed message's chat */
#define MP_FUZZ_OTHER    777LL              /* another chat */
#define MP_FUZZ_BASE_S   30                 /* retry_interval_seconds */
#define MP_FUZZ_CAP_S    3600               /* backoff_max_seconds */
#define MP_FUZZ_DETAIL   400                /* bytes of detail mp keeps */
#define MP_FUZZ_MAX_BODY 65536              /* longer inputs are skipped */

/* Outcomes, as bits of a set of allowed ones. */
#define OC_CONFIRMED    0x01
#define OC_RETRY        0x02
#define OC_RATE_LIMITED 0x04
#define OC_MIGRATED     0x08
#define OC_IN_DOUBT     0x10
#define OC_FAILED       0x20
#define OC_STOP         0x40

static const char *const azOutcome[] = {
  "confirmed", "retry", "rate_limited", "migrated", "in_doubt", "failed", "stop"
};

/* Statuses byte 0 picks from: what Telegram, proxies and transports give,
** and invalid ones. */
// clang-format off
static const int aStatus[] = {
  200, 200, 200, 201, 204, 299, 400, 400, 400, 401, 403, 404, 409,
  413, 420, 429, 429, 429, 500, 502, 503, 504, 0,   0,   -1,  -1,
  100, 302, 999, 300, 199, 600, -2,  1,   99,  1000, -100, 2147483647,
};
// clang-format on

/* What one input asks for, decoded from its first bytes. */
typedef struct FuzzCase FuzzCase;
struct FuzzCase {
  const unsigned char *aBody; /* The body bytes */
  int nBody;                  /* Their number */
  i64 iStatus;                /* http_status */
  int bStatusReal;            /* Pass http_status as a REAL */
  int eTier;                  /* 0 omitted, 1 telegram, 2 webhook, 3 file */
  int bBadTier;               /* Pass an invalid tier instead */
  int eBody;                  /* 0 text, 1 blob, 2 NULL, 3 integer */
  int eId;                    /* 0 lease token, 1 plain id, 2 stale token */
  int bBatch;                 /* Through mp_report_batch() instead */
  int nMaxRetry;              /* max_retry_count */
  int nRetry;                 /* retry_count of the message when claimed */
  int bAtMostOnce;            /* recovery_policy at_most_once */
  int eDuration;              /* Index into the durations below */
  int nSameChat;              /* More pending messages in the chat */
  int bOtherChat;             /* A pending message in another chat */
  int bMarkSent;              /* Claim with mp_mark_sent() */
  int bTwice;                 /* Report a second time */
  int eMode;                  /* Parse mode of the messages, 0 none */
  int bPacing;                /* pace_chat_ms = 1000 */
};

/* What SQLite's JSON functions read from a body. */
typedef struct FuzzOracle FuzzOracle;
struct FuzzOracle {
  int bExact;      /* The oracle is trusted for this body */
  int bJson;       /* Valid UTF-8 and valid JSON */
  int bOk;         /* $.ok is true */
  int eMsgId;      /* $.result.message_id: 0 none, 1 found, 2 unsure */
  i64 iMsgId;      /* Its value when eMsgId == 1 */
  double rMsgId;   /* Its value as a REAL when eMsgId == 2 */
  int eRetryAfter; /* $.parameters.retry_after: 0, 1 or 2 as above */
  i64 iRetryAfter; /* Its value when 1 */
  int eMigrate;    /* $.parameters.migrate_to_chat_id: 0, 1 or 2 */
  i64 iMigrate;    /* Its value when 1 */
  char *zDesc;     /* $.description when it is a string (malloc) */
};

/*
** Prints the case being run (a FuzzCase) to stderr, for fuzzFail().
*/
static void fuzzPrintCase(const void *pInput) {
  const FuzzCase *pCase = pInput;
  fprintf(stderr,
          "  status %lld%s, tier %d%s, body type %d, id form %d, "
          "max_retry %d, retry_count %d, at_most_once %d, duration %d, "
          "same chat %d, other chat %d, mark_sent %d, twice %d, mode %d, "
          "pacing %d, batch %d\n  body (%d bytes): %.*s\n",
          pCase->iStatus, pCase->bStatusReal ? " (real)" : "", pCase->eTier,
          pCase->bBadTier ? " (bad)" : "", pCase->eBody, pCase->eId,
          pCase->nMaxRetry, pCase->nRetry, pCase->bAtMostOnce, pCase->eDuration,
          pCase->nSameChat, pCase->bOtherChat, pCase->bMarkSent, pCase->bTwice,
          pCase->eMode, pCase->bPacing, pCase->bBatch, pCase->nBody,
          pCase->nBody, (const char *)pCase->aBody);
}

/*
** Sets a configuration value through mp_config(), which must accept it.
*/
static void fuzzConfig(const char *zKey, const char *zValue) {
  sqlite3_stmt *pStmt = fuzzPrepare("SELECT mp_config(?1, ?2)");
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  if (zValue[0] >= '0' && zValue[0] <= '9') {
    sqlite3_bind_int64(pStmt, 2, atoll(zValue));
  } else {
    sqlite3_bind_text(pStmt, 2, zValue, -1, SQLITE_STATIC);
  }
  if (sqlite3_step(pStmt) != SQLITE_ROW) {
    fuzzFail("mp_config failed", fuzzErrmsg());
  }
  fuzzDone(pStmt);
}

/*
** Reads one integer field of the oracle query: column iCol holds its
** json_type, iCol + 1 its value. Sets *piOut and *prOut and returns 0 (no
** usable integer), 1 (an exact integer) or 2 (a REAL: mp may or may not
** read a whole number from it).
*/
static int fuzzOracleInt(sqlite3_stmt *pStmt, int iCol, i64 *piOut,
                         double *prOut) {
  const char *zType = (const char *)sqlite3_column_text(pStmt, iCol);
  if (zType == 0) return 0;
  if (strcmp(zType, "integer") == 0) {
    if (sqlite3_column_type(pStmt, iCol + 1) == SQLITE_INTEGER) {
      *piOut = sqlite3_column_int64(pStmt, iCol + 1);
      return 1;
    }
    /* An integer beyond the int64 range: SQLite makes it a REAL. */
    *prOut = sqlite3_column_double(pStmt, iCol + 1);
    return fabs(*prOut) < 9.2e18 ? 2 : 0;
  }
  if (strcmp(zType, "real") == 0) {
    *prOut = sqlite3_column_double(pStmt, iCol + 1);
    return fabs(*prOut) < 9.3e18 ? 2 : 0;
  }
  return 0;
}

/*
** Reads the body with SQLite's JSON functions into pO.
*/
static void fuzzOracle(const FuzzCase *pCase, FuzzOracle *pO) {
  static sqlite3_stmt *pValid = 0, *pRead = 0;
  const char *z = (const char *)pCase->aBody;
  int n = pCase->nBody;
  double rIgnore = 0;
  memset(pO, 0, sizeof(*pO));
  pO->bExact = 1;
  if (pCase->eBody >= 2) return; /* NULL, or an integer: an error */
  if (memchr(z, '\\', (size_t)n) || fuzzJsonDepth(z, n) >= 400) {
    /* SQLite 3.40 does not decode escaped keys, accepts lone surrogates
    ** and nests deeper than mp: no exact oracle for these. */
    pO->bExact = 0;
  }
  if (!fuzzUtf8(pCase->aBody, n)) return;
  if (pValid == 0) {
    pValid = fuzzPrepare("SELECT json_valid(?1)");
    pRead = fuzzPrepare(
        "SELECT json_type(?1, '$.ok'), "
        "json_type(?1, '$.result.message_id'), "
        "json_extract(?1, '$.result.message_id'), "
        "json_type(?1, '$.parameters.retry_after'), "
        "json_extract(?1, '$.parameters.retry_after'), "
        "json_type(?1, '$.parameters.migrate_to_chat_id'), "
        "json_extract(?1, '$.parameters.migrate_to_chat_id'), "
        "json_type(?1, '$.description'), json_extract(?1, '$.description')");
  }
  sqlite3_bind_text(pValid, 1, z, n, SQLITE_STATIC);
  if (sqlite3_step(pValid) == SQLITE_ROW) {
    pO->bJson = sqlite3_column_int(pValid, 0);
  }
  sqlite3_reset(pValid);
  if (!pO->bJson) return;
  sqlite3_bind_text(pRead, 1, z, n, SQLITE_STATIC);
  if (sqlite3_step(pRead) != SQLITE_ROW) {
    fuzzFail("oracle query failed", fuzzErrmsg());
  }
  pO->bOk = sqlite3_column_text(pRead, 0) &&
            strcmp((const char *)sqlite3_column_text(pRead, 0), "true") == 0;
  pO->eMsgId = fuzzOracleInt(pRead, 1, &pO->iMsgId, &pO->rMsgId);
  pO->eRetryAfter = fuzzOracleInt(pRead, 3, &pO->iRetryAfter, &rIgnore);
  pO->eMigrate = fuzzOracleInt(pRead, 5, &pO->iMigrate, &rIgnore);
  if (pO->eMigrate == 1 && pO->iMigrate == 0) pO->eMigrate = 0;
  if (sqlite3_column_text(pRead, 7) &&
      strcmp((const char *)sqlite3_column_text(pRead, 7), "text") == 0) {
    const char *zDesc = (const char *)sqlite3_column_text(pRead, 8);
    pO->zDesc = fuzzDupStr(zDesc);
  }
  sqlite3_reset(pRead);
}

/*
** The error text mp stores for a failed attempt (see mpReportDetail), as
** this harness reads the contract: "<tier> <status>: <text>", where text
** is the description, else the body, else a placeholder, cut to at most
** 400 bytes on a character boundary. Returns malloc'd text.
*/
static char *fuzzDetail(const FuzzCase *pCase, const char *zTier,
                        const FuzzOracle *pO) {
  const char *zText = pO->zDesc;
  int nText;
  char zHead[64];
  char *zOut;
  if (zText == 0 && pCase->eBody < 2) {
    zText = (const char *)pCase->aBody;
    nText = pCase->nBody;
  } else {
    nText = zText ? (int)strlen(zText) : 0;
  }
  if (zText == 0 || !fuzzUtf8((const unsigned char *)zText, nText)) {
    zText = pCase->eBody < 2 ? "(a body that is not UTF-8 text)" : "(no body)";
    nText = (int)strlen(zText);
  }
  if (nText > MP_FUZZ_DETAIL) {
    nText = MP_FUZZ_DETAIL;
    while (nText > 0 && ((unsigned char)zText[nText] & 0xC0) == 0x80)
      nText--;
  }
  if (pCase->iStatus == 0) {
    snprintf(zHead, sizeof(zHead), "%s not sent: ", zTier);
  } else if (pCase->iStatus == -1) {
    snprintf(zHead, sizeof(zHead), "%s no answer: ", zTier);
  } else {
    snprintf(zHead, sizeof(zHead), "%s %lld: ", zTier, pCase->iStatus);
  }
  zOut = malloc(strlen(zHead) + (size_t)nText + 1);
  if (zOut == 0) abort();
  memcpy(zOut, zHead, strlen(zHead));
  memcpy(zOut + strlen(zHead), zText, (size_t)nText);
  zOut[strlen(zHead) + (size_t)nText] = 0;
  return zOut;
}

/*
** The policy's possible actions for this case as a set of OC_* bits,
** before retries are counted: OC_RETRY and OC_IN_DOUBT stand for "retry
** if allowed", OC_FAILED and OC_STOP for final failures.
*/
static int fuzzActions(const FuzzCase *pCase, const FuzzOracle *pO) {
  i64 s = pCase->iStatus;
  if (pCase->eTier >= 2) {
    if (s >= 200 && s < 300) return OC_CONFIRMED;
    if (s == -1) return OC_IN_DOUBT;
    if (s == 429) return OC_RATE_LIMITED;
    return OC_RETRY;
  }
  if (s >= 200 && s < 300) {
    if (!pO->bExact) return OC_CONFIRMED | OC_IN_DOUBT;
    if (!pO->bJson || !pO->bOk || pO->eMsgId == 0) return OC_IN_DOUBT;
    return pO->eMsgId == 1 ? OC_CONFIRMED : OC_CONFIRMED | OC_IN_DOUBT;
  }
  if (s == -1) return OC_IN_DOUBT;
  if (s == 0) return OC_RETRY;
  if (s == 429) return OC_RATE_LIMITED;
  if (s == 400) {
    if (!pO->bExact || pO->eMigrate == 2) return OC_MIGRATED | OC_FAILED;
    return pO->bJson && pO->eMigrate == 1 ? OC_MIGRATED : OC_FAILED;
  }
  if (s == 401 || s == 404) return OC_STOP;
  if (s >= 400 && s < 500) return OC_FAILED;
  return OC_RETRY;
}

/*
** Returns the index in azOutcome of z, or -1.
*/
static int fuzzOutcomeIndex(const char *z) {
  for (int i = 0; i < 7; i++) {
    if (strcmp(z, azOutcome[i]) == 0) return i;
  }
  return -1;
}

/*
** Binds argument iArg of mp_report's body from the case.
*/
static void fuzzBindBody(sqlite3_stmt *pStmt, const FuzzCase *pCase) {
  switch (pCase->eBody) {
    case 0:
      sqlite3_bind_text(pStmt, 3, (const char *)pCase->aBody, pCase->nBody,
                        SQLITE_STATIC);
      break;
    case 1:
      sqlite3_bind_blob(pStmt, 3, pCase->aBody, pCase->nBody, SQLITE_STATIC);
      break;
    case 2: sqlite3_bind_null(pStmt, 3); break;
    default: sqlite3_bind_int(pStmt, 3, 42); break;
  }
}

/* duration_ms choices: NULL (as omitted), values, invalid ones. */
static const struct {
  int eType;  /* 0 NULL, 1 integer, 2 real */
  i64 iValue; /* The integer */
  double rValue;
  int bBad; /* mp_report must refuse it */
} aDuration[] = {
  { 0, 0, 0, 0 },        { 1, 0, 0, 0 },   { 1, 183, 0, 0 },
  { 1, 86400000, 0, 0 }, { 1, -1, 0, 1 },  { 1, 86400001, 0, 1 },
  { 2, 0, 250.0, 0 },    { 2, 0, 1.5, 1 },
};

/*
** Calls mp_report_batch() with one element that asks for what the call
** of the case asks for. Returns the outcome (malloc'd), or NULL with the
** error (in-band or of the call) in *pzErr (malloc'd).
*/
static char *fuzzReportBatch(const FuzzCase *pCase, const char *zId,
                             char **pzErr) {
  static const char *const azTier[] = { 0, "telegram", "webhook", "file" };
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_stmt *pStmt;
  char *zJson, *zOut = 0;
  sqlite3_str_appendall(pStr, "[{\"id\":");
  mpJsonAppendString(pStr, zId, -1);
  sqlite3_str_appendf(pStr, ",\"status\":%lld%s", pCase->iStatus,
                      pCase->bStatusReal ? ".0" : "");
  sqlite3_str_appendall(pStr, ",\"body\":");
  if (pCase->eBody < 2) {
    mpJsonAppendString(pStr, (const char *)pCase->aBody, pCase->nBody);
  } else {
    sqlite3_str_appendall(pStr, "null");
  }
  if (pCase->bBadTier) {
    sqlite3_str_appendall(pStr, ",\"tier\":\"Telegram\"");
  } else if (pCase->eTier) {
    sqlite3_str_appendf(pStr, ",\"tier\":\"%s\"", azTier[pCase->eTier]);
  }
  if (aDuration[pCase->eDuration].eType == 1) {
    sqlite3_str_appendf(pStr, ",\"duration_ms\":%lld",
                        aDuration[pCase->eDuration].iValue);
  } else if (aDuration[pCase->eDuration].eType == 2) {
    sqlite3_str_appendf(pStr, ",\"duration_ms\":%!.17g",
                        aDuration[pCase->eDuration].rValue);
  }
  sqlite3_str_appendall(pStr, "}]");
  zJson = sqlite3_str_finish(pStr);
  if (zJson == 0) abort();
  *pzErr = 0;
  pStmt = fuzzPrepare("SELECT mp_report_batch(?1)");
  sqlite3_bind_text(pStmt, 1, zJson, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    zOut = fuzzColumnDup(pStmt, 0);
  } else {
    *pzErr = fuzzDupStr(fuzzErrmsg());
  }
  fuzzDone(pStmt);
  sqlite3_free(zJson);
  if (zOut) {
    char *zResult = zOut;
    pStmt = fuzzPrepare("SELECT json_array_length(?1), json_type(?1, '$[0]'), "
                        "json_extract(?1, '$[0]'), "
                        "json_extract(?1, '$[0].error')");
    sqlite3_bind_text(pStmt, 1, zResult, -1, SQLITE_STATIC);
    if (sqlite3_step(pStmt) != SQLITE_ROW ||
        sqlite3_column_int(pStmt, 0) != 1) {
      fuzzFail("mp_report_batch did not return one result", zResult);
    }
    if (strcmp((const char *)sqlite3_column_text(pStmt, 1), "text") == 0) {
      zOut = fuzzColumnDup(pStmt, 2);
    } else if (sqlite3_column_type(pStmt, 3) == SQLITE_TEXT) {
      zOut = 0;
      *pzErr = fuzzColumnDup(pStmt, 3);
    } else {
      fuzzFail("mp_report_batch result is neither outcome nor error", zResult);
    }
    fuzzDone(pStmt);
    free(zResult);
  }
  return zOut;
}

/*
** Calls mp_report for the case with zId. Returns the outcome (malloc'd) or
** NULL after an error, whose message goes to *pzErr (malloc'd).
*/
static char *fuzzReport(const FuzzCase *pCase, const char *zId, char **pzErr) {
  static const char *const azTier[] = { 0, "telegram", "webhook", "file" };
  sqlite3_stmt *pStmt;
  char *zOut = 0;
  int nArg = pCase->eTier == 0 && !pCase->bBadTier ? 3 : 4;
  if (pCase->bBatch) return fuzzReportBatch(pCase, zId, pzErr);
  if (aDuration[pCase->eDuration].eType != 0) nArg = 5;
  pStmt = fuzzPrepare(nArg == 3   ? "SELECT mp_report(?1, ?2, ?3)"
                      : nArg == 4 ? "SELECT mp_report(?1, ?2, ?3, ?4)"
                                  : "SELECT mp_report(?1, ?2, ?3, ?4, ?5)");
  sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_TRANSIENT);
  if (pCase->bStatusReal) {
    sqlite3_bind_double(pStmt, 2, (double)pCase->iStatus);
  } else {
    sqlite3_bind_int64(pStmt, 2, pCase->iStatus);
  }
  fuzzBindBody(pStmt, pCase);
  if (nArg >= 4) {
    if (pCase->bBadTier) {
      sqlite3_bind_text(pStmt, 4, "Telegram", -1, SQLITE_STATIC);
    } else if (pCase->eTier) {
      sqlite3_bind_text(pStmt, 4, azTier[pCase->eTier], -1, SQLITE_STATIC);
    }
  }
  if (nArg == 5) {
    if (aDuration[pCase->eDuration].eType == 1) {
      sqlite3_bind_int64(pStmt, 5, aDuration[pCase->eDuration].iValue);
    } else {
      sqlite3_bind_double(pStmt, 5, aDuration[pCase->eDuration].rValue);
    }
  }
  *pzErr = 0;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    if (z == 0) fuzzFail("mp_report returned NULL", 0);
    zOut = fuzzDupStr(z);
    if (sqlite3_step(pStmt) != SQLITE_DONE) {
      fuzzFail("mp_report gave more than one row", 0);
    }
  } else {
    *pzErr = fuzzDupStr(fuzzErrmsg());
  }
  fuzzDone(pStmt);
  return zOut;
}

/*
** Enqueues one message in iChat with the given priority and returns its
** id (malloc'd).
*/
static char *fuzzEnqueue(const FuzzCase *pCase, i64 iChat, const char *zText,
                         const char *zPriority) {
  static const char *const azMode[] = { 0, "HTML", "MarkdownV2", "Markdown" };
  sqlite3_stmt *pStmt =
      fuzzPrepare("SELECT mp_enqueue(?1, ?2, ?3, json_object('priority', ?4, "
                  "'parse_mode', ?5))");
  char *zId;
  sqlite3_bind_int64(pStmt, 1, iChat);
  sqlite3_bind_text(pStmt, 2, zText, -1, SQLITE_STATIC);
  if (pCase->eMode & 1) {
    sqlite3_bind_text(pStmt, 3, "{\"type\":\"fuzz\",\"n\":[1,2.5,null]}", -1,
                      SQLITE_STATIC);
  }
  sqlite3_bind_text(pStmt, 4, zPriority, -1, SQLITE_STATIC);
  if (azMode[pCase->eMode]) {
    sqlite3_bind_text(pStmt, 5, azMode[pCase->eMode], -1, SQLITE_STATIC);
  }
  if (sqlite3_step(pStmt) != SQLITE_ROW ||
      sqlite3_column_type(pStmt, 0) != SQLITE_TEXT) {
    fuzzFail("mp_enqueue failed", fuzzErrmsg());
  }
  zId = fuzzColumnDup(pStmt, 0);
  fuzzDone(pStmt);
  return zId;
}

/*
** Claims the message zId, which must be the one due, and returns its lease
** token (malloc'd).
*/
static char *fuzzClaim(const FuzzCase *pCase, const char *zId) {
  sqlite3_stmt *pStmt =
      fuzzPrepare(pCase->bMarkSent ? "SELECT mp_mark_sent(?1)"
                                   : "SELECT lease_token, id "
                                     "FROM mp_claim(1, 60, 'fuzz')");
  char *zToken;
  if (pCase->bMarkSent) sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) != SQLITE_ROW ||
      sqlite3_column_type(pStmt, 0) != SQLITE_TEXT) {
    fuzzFail("the claim failed", fuzzErrmsg());
  }
  if (!pCase->bMarkSent &&
      strcmp((const char *)sqlite3_column_text(pStmt, 1), zId) != 0) {
    fuzzFail("the claim took another message", 0);
  }
  zToken = fuzzColumnDup(pStmt, 0);
  if (strncmp(zToken, zId, 36) != 0 || strlen(zToken) != 53) {
    fuzzFail("lease token is not <id>:<16 hex>", zToken);
  }
  fuzzDone(pStmt);
  return zToken;
}

/*
** Decodes the case from the first bytes of the input. Returns 0 if the
** input is too long to be worth running.
*/
static int fuzzDecode(const unsigned char *aData, size_t nData,
                      FuzzCase *pCase) {
  unsigned char b[4] = { 0, 0, 0, 0 };
  size_t nHead = nData < 4 ? nData : 4;
  memset(pCase, 0, sizeof(*pCase));
  if (nData > MP_FUZZ_MAX_BODY) return 0;
  memcpy(b, aData, nHead);
  pCase->aBody = aData + nHead;
  pCase->nBody = (int)(nData - nHead);
  if (b[0] >= 0xF0) {
    unsigned v = 0;
    if (pCase->nBody >= 2) {
      v = (unsigned)pCase->aBody[0] << 8 | pCase->aBody[1];
      pCase->aBody += 2;
      pCase->nBody -= 2;
    }
    pCase->iStatus = (i64)(short)v;
  } else {
    pCase->iStatus = aStatus[b[0] % (sizeof(aStatus) / sizeof(aStatus[0]))];
  }
  pCase->eTier = b[1] & 3;
  switch ((b[1] >> 2) & 3) {
    case 2: pCase->eBody = 1; break;                         /* BLOB */
    case 3: pCase->eBody = pCase->nBody == 1 ? 3 : 2; break; /* 42, NULL */
    default: pCase->eBody = 0; break;                        /* TEXT */
  }
  pCase->eId = (b[1] >> 4) & 3;
  pCase->bBatch = pCase->eId == 1;
  pCase->eId = pCase->eId <= 1 ? 0 : pCase->eId - 1;
  pCase->bBadTier = (b[1] >> 6) & 1;
  pCase->bStatusReal = (b[1] >> 7) & 1;
  pCase->nMaxRetry = b[2] & 3;
  pCase->nRetry = (b[2] >> 2) & 3;
  pCase->bAtMostOnce = (b[2] >> 4) & 1;
  pCase->eDuration = (b[2] >> 5) & 7;
  pCase->nSameChat = b[3] & 3;
  pCase->bOtherChat = (b[3] >> 2) & 1;
  pCase->bMarkSent = (b[3] >> 3) & 1;
  pCase->bTwice = (b[3] >> 4) & 1;
  pCase->eMode = (b[3] >> 5) & 3;
  pCase->bPacing = (b[3] >> 7) & 1;
  if (pCase->bBatch) {
    /* A batch body is a JSON string (so UTF-8, NUL allowed) or any JSON
    ** value, taken as its text: the integer 42 is the body "42". */
    if (pCase->eBody == 3) {
      pCase->aBody = (const unsigned char *)"42";
      pCase->nBody = 2;
      pCase->eBody = 0;
    }
    if (pCase->eBody < 2 && !fuzzUtf8WithNul(pCase->aBody, pCase->nBody)) {
      pCase->bBatch = 0;
    }
#ifndef MP_FUZZ_STRICT
    /* mp_report_batch() takes duration_ms -1 as "none", where mp_report()
    ** refuses it (see FUZZING.md, known bugs). */
    if (aDuration[pCase->eDuration].eType == 1 &&
        aDuration[pCase->eDuration].iValue == -1) {
      pCase->bBatch = 0;
    }
#endif
  }
  return 1;
}

/*
** Checks the message zId and the attempt log after the outcome iOutcome
** (an index of azOutcome) of a report whose possible actions were mAction.
*/
static void fuzzCheckRow(const FuzzCase *pCase, const FuzzOracle *pO,
                         const char *zId, int iOutcome, int mAction,
                         i64 iRevision) {
  static const char *const azTier[] = { "telegram", "telegram", "webhook",
                                        "file" };
  const char *zTier = azTier[pCase->eTier];
  sqlite3_stmt *pRow = fuzzPrepare(
      "SELECT status, chat_id, retry_count, telegram_message_id, tier_used, "
      "error_message, due_at, lease_until IS NULL AND lease_token IS NULL "
      "AND worker IS NULL, in_doubt, revision, seq FROM messages "
      "WHERE id = ?1");
  sqlite3_stmt *pLog;
  const char *zStatus;
  const char *zErr;
  char *zDetail = 0;
  char *zWant = 0;
  int nRetryWant = pCase->nRetry;
  int bGaveUp = 0;
  int bInDoubt = 0;
  i64 iDue, iSeq;
  char zMsg[200];

  sqlite3_bind_text(pRow, 1, zId, -1, SQLITE_STATIC);
  if (sqlite3_step(pRow) != SQLITE_ROW) {
    fuzzFail("the message is gone", zId);
  }
  zStatus = (const char *)sqlite3_column_text(pRow, 0);
  zErr = (const char *)sqlite3_column_text(pRow, 5);
  iDue = sqlite3_column_int64(pRow, 6);
  iSeq = sqlite3_column_int64(pRow, 10);
  if (!sqlite3_column_int(pRow, 7)) fuzzFail("a lease is left", 0);
  if (sqlite3_column_int64(pRow, 9) != iRevision + 1) {
    snprintf(zMsg, sizeof(zMsg), "revision %lld, expected %lld",
             sqlite3_column_int64(pRow, 9), iRevision + 1);
    fuzzFail("revision did not go up by one", zMsg);
  }
  if (iOutcome != 0) zDetail = fuzzDetail(pCase, zTier, pO);

  switch (iOutcome) {
    case 0: /* confirmed */
      if (strcmp(zStatus, "confirmed") != 0) {
        fuzzFail("confirmed but status is", zStatus);
      }
      if (strcmp((const char *)sqlite3_column_text(pRow, 4), zTier) != 0) {
        fuzzFail("tier_used is not the tier", 0);
      }
      if (pCase->eTier <= 1 && sqlite3_column_type(pRow, 3) != SQLITE_INTEGER) {
        fuzzFail("confirmed without telegram_message_id", 0);
      }
      if (pO->bExact && pO->eMsgId == 1 &&
          sqlite3_column_int64(pRow, 3) != pO->iMsgId) {
        fuzzFail("telegram_message_id is not result.message_id", 0);
      }
      if (pO->bExact && pO->eMsgId == 2) {
        double r = (double)sqlite3_column_int64(pRow, 3);
        if (fabs(r - pO->rMsgId) > fabs(pO->rMsgId) * 1e-15 + 0.5) {
          fuzzFail("telegram_message_id is not result.message_id", 0);
        }
      }
      if (pO->bExact && pCase->eTier >= 2 && pO->eMsgId == 0 &&
          sqlite3_column_type(pRow, 3) != SQLITE_NULL) {
        fuzzFail("telegram_message_id without a message_id", 0);
      }
      if (zErr) fuzzFail("confirmed with an error message", zErr);
      if (iDue != MP_FUZZ_NOW) fuzzFail("confirm moved due_at", 0);
      break;
    case 1: /* retry */
    case 4: /* in_doubt */
      nRetryWant++;
      bInDoubt = iOutcome == 4;
      if (strcmp(zStatus, "pending") != 0) {
        fuzzFail("retry/in_doubt but status is", zStatus);
      }
      {
        i64 iMs = (i64)MP_FUZZ_BASE_S * 1000;
        for (int i = 0; i < pCase->nRetry && iMs < MP_FUZZ_CAP_S * 1000; i++)
          iMs *= 2;
        if (iMs > MP_FUZZ_CAP_S * 1000) iMs = MP_FUZZ_CAP_S * 1000;
        if (iDue < MP_FUZZ_NOW + iMs / 2 || iDue > MP_FUZZ_NOW + iMs) {
          snprintf(zMsg, sizeof(zMsg), "due in %lld ms, backoff %lld ms",
                   iDue - MP_FUZZ_NOW, iMs);
          fuzzFail("due_at outside the backoff", zMsg);
        }
      }
      break;
    case 2: { /* rate_limited */
      i64 iAfter = -1;
      if (strcmp(zStatus, "pending") != 0) {
        fuzzFail("rate_limited but status is", zStatus);
      }
      if (pO->bExact && pO->bJson && pO->eRetryAfter != 2) {
        iAfter =
            pO->eRetryAfter == 1 && pO->iRetryAfter >= 0 ? pO->iRetryAfter : 5;
        if (iAfter > 86400) iAfter = 86400;
      } else if (pO->bExact && !pO->bJson) {
        iAfter = 5;
      }
      if (iAfter >= 0 && iDue != MP_FUZZ_NOW + iAfter * 1000) {
        snprintf(zMsg, sizeof(zMsg), "due in %lld ms, expected %lld s",
                 iDue - MP_FUZZ_NOW, iAfter);
        fuzzFail("rate_limited: due_at is not retry_after", zMsg);
      }
      if (iDue < MP_FUZZ_NOW || iDue > MP_FUZZ_NOW + 86400000) {
        fuzzFail("rate_limited: due_at out of range", 0);
      }
      if (fuzzInt("SELECT ifnull((SELECT next_at FROM mp_chat "
                  "WHERE chat_id = ?1), 0)",
                  "-1001234567890", 0) < iDue) {
        fuzzFail("rate_limited: the chat is not paused", 0);
      }
      break;
    }
    case 3: /* migrated */
      if (strcmp(zStatus, "pending") != 0) {
        fuzzFail("migrated but status is", zStatus);
      }
      if (pO->bExact && pO->eMigrate == 1 &&
          sqlite3_column_int64(pRow, 1) != pO->iMigrate) {
        fuzzFail("migrated to another chat than migrate_to_chat_id", 0);
      }
      if (iDue != MP_FUZZ_NOW) fuzzFail("migrated but not due now", 0);
      break;
    default: /* failed, stop */
      if (strcmp(zStatus, "failed") != 0) {
        fuzzFail("failed/stop but status is", zStatus);
      }
      if (iDue != MP_FUZZ_NOW) fuzzFail("failed but due_at moved", 0);
      bGaveUp = iOutcome == 5 && (mAction & (OC_RETRY | OC_IN_DOUBT)) &&
                !(mAction & OC_FAILED);
      if (iOutcome == 5 && (mAction & OC_IN_DOUBT) && pCase->bAtMostOnce) {
        bGaveUp = 0;
      }
      /* Only the in-doubt path fails a 2xx or an unanswered send. */
      bInDoubt = (mAction & OC_IN_DOUBT) != 0;
      break;
  }
  if (iOutcome != 0 && iOutcome != 3 &&
      sqlite3_column_int64(pRow, 1) != MP_FUZZ_CHAT) {
    fuzzFail("chat_id changed", 0);
  }
  if (sqlite3_column_int(pRow, 2) != nRetryWant) {
    snprintf(zMsg, sizeof(zMsg), "retry_count %d, expected %d",
             sqlite3_column_int(pRow, 2), nRetryWant);
    fuzzFail("wrong retry_count", zMsg);
  }
  if (sqlite3_column_int(pRow, 8) != bInDoubt) {
    fuzzFail("in_doubt flag wrong", 0);
  }

  /* The stored error text. */
  if (iOutcome != 0) {
    if (zErr == 0) fuzzFail("no error message stored", 0);
    if (!fuzzUtf8((const unsigned char *)zErr, (int)strlen(zErr))) {
      fuzzFail("error message is not UTF-8", zErr);
    }
    zWant = malloc(strlen(zDetail) + 64);
    if (zWant == 0) abort();
    if (bGaveUp) {
      sprintf(zWant, "%s (gave up after %d retries)", zDetail, pCase->nRetry);
    } else {
      strcpy(zWant, zDetail);
    }
    if (pO->bExact && strcmp(zErr, zWant) != 0) {
      fprintf(stderr, "stored:   %s\nexpected: %s\n", zErr, zWant);
      fuzzFail("stored error text differs", 0);
    }
    if (!pO->bExact && strlen(zErr) > strlen(zWant) + 400) {
      fuzzFail("stored error text too long", zErr);
    }
  }

  /* The attempt log: exactly one row for this claim. */
  pLog = fuzzPrepare("SELECT count(*), tier, http_status, duration_ms, "
                     "outcome, detail, at_ms FROM mp_attempt WHERE seq = ?1");
  sqlite3_bind_int64(pLog, 1, iSeq);
  if (sqlite3_step(pLog) != SQLITE_ROW || sqlite3_column_int(pLog, 0) != 1) {
    fuzzFail("not exactly one mp_attempt row", 0);
  }
  if (strcmp((const char *)sqlite3_column_text(pLog, 1), zTier) != 0 ||
      sqlite3_column_int64(pLog, 2) != pCase->iStatus ||
      strcmp((const char *)sqlite3_column_text(pLog, 4), azOutcome[iOutcome]) !=
          0 ||
      sqlite3_column_int64(pLog, 6) != MP_FUZZ_NOW) {
    fuzzFail("mp_attempt row does not match the call", 0);
  }
  if (aDuration[pCase->eDuration].eType == 0
          ? sqlite3_column_type(pLog, 3) != SQLITE_NULL
          : sqlite3_column_int64(pLog, 3) !=
                (aDuration[pCase->eDuration].eType == 1
                     ? aDuration[pCase->eDuration].iValue
                     : (i64)aDuration[pCase->eDuration].rValue)) {
    fuzzFail("mp_attempt duration_ms wrong", 0);
  }
  if (iOutcome == 0
          ? sqlite3_column_type(pLog, 5) != SQLITE_NULL
          : (pO->bExact && strcmp((const char *)sqlite3_column_text(pLog, 5),
                                  zDetail) != 0)) {
    fuzzFail("mp_attempt detail wrong",
             (const char *)sqlite3_column_text(pLog, 5));
  }
  fuzzDone(pLog);
  fuzzDone(pRow);
  free(zDetail);
  free(zWant);
}

/*
** Checks the other messages against their copies in temp.fz_before: after
** a migration the chat's pending ones moved to iNewChat (their revision
** kept: moving is not a transition, see sql/003_counting.sql), otherwise
** nothing changed.
*/
static void fuzzCheckOthers(const char *zId, int bMigrated, i64 iNewChat) {
  sqlite3_stmt *pStmt = fuzzPrepare(
      "SELECT count(*) FROM temp.fz_before AS b LEFT JOIN main.messages AS m "
      "ON m.seq = b.seq WHERE b.id <> ?1 AND NOT ("
      "m.chat_id IS (CASE WHEN ?2 AND b.chat_id = ?3 AND b.status = 'pending' "
      "THEN ?4 ELSE b.chat_id END) AND "
      "m.revision IS b.revision AND "
      "m.status IS b.status AND m.message_text IS b.message_text AND "
      "m.event_data IS b.event_data AND m.parse_mode IS b.parse_mode AND "
      "m.retry_count IS b.retry_count AND m.due_at IS b.due_at AND "
      "m.order_at IS b.order_at AND m.priority IS b.priority AND "
      "m.error_message IS b.error_message AND m.in_doubt IS b.in_doubt AND "
      "(?2 OR m.checksum IS b.checksum))");
  sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, bMigrated);
  sqlite3_bind_int64(pStmt, 3, MP_FUZZ_CHAT);
  sqlite3_bind_int64(pStmt, 4, iNewChat);
  if (sqlite3_step(pStmt) != SQLITE_ROW || sqlite3_column_int(pStmt, 0) != 0) {
    fuzzFail(bMigrated ? "migration did not move exactly the chat's pending "
                         "messages"
                       : "another message changed",
             0);
  }
  fuzzDone(pStmt);
}

/*
** The libFuzzer entry point. Returns 0; aborts when a property fails.
*/
int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData) {
  static int nMaxRetryNow = -1, bAtMostOnceNow = -1, bPacingNow = -1;
  FuzzCase c;
  FuzzOracle o;
  char *zId, *zToken, *zOutcome, *zErr = 0, *zBefore, *zAfter;
  const char *zArg, *zPrefix;
  char zStale[64];
  char zNum[24];
  int bWantError, iOutcome, mAction, mAllowed;
  i64 iRevision;

  if (!fuzzDecode(aData, nData, &c)) return 0;
  zPrefix = c.bBatch ? "mp_report_batch: " : "mp_report: ";
  fuzzBegin("fuzz_report", fuzzPrintCase, &c);
  if (fuzzOpen()) {
    fuzzInitQueue("{\"pace_chat_ms\": 0, \"pace_group_per_minute\": 0, "
                  "\"pace_global_per_second\": 0, "
                  "\"retry_interval_seconds\": 30, "
                  "\"backoff_max_seconds\": 3600, \"lease_seconds\": 60}");
    fuzzExec("CREATE TEMP TABLE fz_before AS SELECT * FROM messages WHERE 0");
  }

  /* Settings, changed only when this input wants other ones. */
  if (c.nMaxRetry != nMaxRetryNow) {
    snprintf(zNum, sizeof(zNum), "%d", c.nMaxRetry);
    fuzzConfig("max_retry_count", zNum);
    nMaxRetryNow = c.nMaxRetry;
  }
  if (c.bAtMostOnce != bAtMostOnceNow) {
    fuzzConfig("recovery_policy",
               c.bAtMostOnce ? "at_most_once" : "at_least_once");
    bAtMostOnceNow = c.bAtMostOnce;
  }
  if (c.bPacing != bPacingNow) {
    fuzzConfig("pace_chat_ms", c.bPacing ? "1000" : "0");
    bPacingNow = c.bPacing;
  }

  /* A fresh queue: the message, then the others, then the claim. */
  fuzzExec("DELETE FROM messages; DELETE FROM mp_chat");
  zId = fuzzEnqueue(&c, MP_FUZZ_CHAT, "the message", "high");
  for (int i = 0; i < c.nSameChat; i++) {
    free(fuzzEnqueue(&c, MP_FUZZ_CHAT, "a later message", "normal"));
  }
  if (c.bOtherChat) {
    free(fuzzEnqueue(&c, MP_FUZZ_OTHER, "another chat's message", "low"));
  }
  if (c.nRetry) {
    /* retry_count is not covered by the checksum or the triggers. */
    sqlite3_stmt *pSet =
        fuzzPrepare("UPDATE messages SET retry_count = ?2 WHERE id = ?1");
    sqlite3_bind_text(pSet, 1, zId, -1, SQLITE_STATIC);
    sqlite3_bind_int(pSet, 2, c.nRetry);
    if (sqlite3_step(pSet) != SQLITE_DONE) fuzzFail("preset failed", 0);
    fuzzDone(pSet);
  }
  zToken = fuzzClaim(&c, zId);
  iRevision = fuzzInt("SELECT revision FROM messages WHERE id = ?1", zId, 0);
  fuzzExec("DELETE FROM temp.fz_before; "
           "INSERT INTO temp.fz_before SELECT * FROM main.messages");

  /* The call. */
  zArg = zToken;
  if (c.eId == 1) {
    zArg = zId;
  } else if (c.eId == 2) {
    snprintf(zStale, sizeof(zStale), "%s", zToken);
    zStale[52] = zStale[52] == '0' ? '1' : '0';
    zArg = zStale;
  }
  bWantError = c.iStatus < -1 || (c.iStatus > 0 && c.iStatus < 100) ||
               c.iStatus > 999 || c.eBody == 3 || c.bBadTier ||
               aDuration[c.eDuration].bBad || c.eId == 2;
  fuzzOracle(&c, &o);
  zBefore = fuzzSnapshot();
  zOutcome = fuzzReport(&c, zArg, &zErr);

  if (zOutcome == 0) {
    zAfter = fuzzSnapshot();
    if (!bWantError) fuzzFail("mp_report failed on valid arguments", zErr);
    if (strncmp(zErr, zPrefix, strlen(zPrefix)) != 0) {
      fuzzFail("error does not name mp_report", zErr);
    }
    if (strcmp(zBefore, zAfter) != 0) {
      fuzzFail("a failed mp_report changed the database", zErr);
    }
    free(zAfter);
  } else {
    if (bWantError) fuzzFail("mp_report accepted invalid arguments", 0);
    iOutcome = fuzzOutcomeIndex(zOutcome);
    if (iOutcome < 0) fuzzFail("unknown outcome", zOutcome);
    mAction = fuzzActions(&c, &o);
    /* What retries allow: a retry or in_doubt that cannot retry fails. */
    mAllowed = mAction;
    if (mAction & OC_RETRY) {
      mAllowed &= ~OC_RETRY;
      mAllowed |= c.nRetry < c.nMaxRetry ? OC_RETRY : OC_FAILED;
    }
    if (mAction & OC_IN_DOUBT) {
      mAllowed &= ~OC_IN_DOUBT;
      mAllowed |=
          !c.bAtMostOnce && c.nRetry < c.nMaxRetry ? OC_IN_DOUBT : OC_FAILED;
    }
    if (!(mAllowed & (1 << iOutcome))) {
      char zMsg[96];
      snprintf(zMsg, sizeof(zMsg), "got %s, allowed set 0x%02x (json %d)",
               zOutcome, mAllowed, o.bJson);
      fuzzFail("outcome not allowed by the policy", zMsg);
    }
    fuzzCheckRow(&c, &o, zId, iOutcome, mAction, iRevision);
    fuzzCheckOthers(zId, iOutcome == 3,
                    iOutcome == 3 ? fuzzInt("SELECT chat_id FROM messages "
                                            "WHERE id = ?1",
                                            zId, 0)
                                  : 0);
    if (c.bTwice) {
      /* The claim is used up: a second report must change nothing. */
      char *zErr2 = 0, *zOutcome2;
      free(zBefore);
      zBefore = fuzzSnapshot();
      zOutcome2 = fuzzReport(&c, zArg, &zErr2);
      if (zOutcome2) fuzzFail("a second report was accepted", zOutcome2);
      if (strncmp(zErr2, zPrefix, strlen(zPrefix)) != 0) {
        fuzzFail("error does not name mp_report", zErr2);
      }
      zAfter = fuzzSnapshot();
      if (strcmp(zBefore, zAfter) != 0) {
        fuzzFail("a refused second report changed the database", zErr2);
      }
      free(zAfter);
      free(zErr2);
    }
  }
  fuzzCheckQueue();

  free(o.zDesc);
  free(zBefore);
  free(zOutcome);
  free(zErr);
  free(zToken);
  free(zId);
  return 0;
}
