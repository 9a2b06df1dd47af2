/*
** SPDX-License-Identifier: MIT
**
** mp_int.h: what the files of the mp extension share.
**
** Every mp_<area>.c file includes this header. Only mp.c uses
** SQLITE_EXTENSION_INIT1; the others see the API routines through
** SQLITE_EXTENSION_INIT3.
*/
#ifndef MP_INT_H
#define MP_INT_H

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3

#include <stddef.h>
#include <stdint.h>

#include "mp_utf8.h"

typedef sqlite3_int64 i64;
typedef sqlite3_uint64 u64;
typedef unsigned char u8;

/* Function flag sets; each registration table says which one and why. */
#define MP_FN_PURE     (SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS)
#define MP_FN_VOLATILE (SQLITE_UTF8 | SQLITE_INNOCUOUS)
#define MP_FN_UNSAFE   (SQLITE_UTF8 | SQLITE_DIRECTONLY)

/* Limits on what mp_enqueue accepts. */
#define MP_TEXT_MAX_BYTES  (1024 * 1024) /* message_text, after validation */
#define MP_EVENT_MAX_BYTES (1024 * 1024) /* event_data JSON */
#define MP_KEY_MAX_BYTES   256           /* dedup_key, tier and worker names */
#define MP_ID_ARG_MAX      128           /* an id or lease token argument */
#define MP_TIER_MAX_BYTES  64            /* mp_report()'s tier */
#define MP_ERROR_MAX_BYTES 4096          /* stored error_message */

/* Priorities, as stored in messages.priority. */
#define MP_PRIORITY_LOW      0
#define MP_PRIORITY_NORMAL   1
#define MP_PRIORITY_HIGH     2
#define MP_PRIORITY_CRITICAL 3

/*
** Cached prepared statements, one slot each. They are prepared on first use
** and finalized when the connection closes (see mpStmt() in mp_util.c).
*/
enum MpStmtSlot {
  MP_STMT_CONFIG_GET,
  MP_STMT_LOCK,
  MP_STMT_SAVEPOINT,
  MP_STMT_RELEASE,
  MP_STMT_ROLLBACK_TO,
  MP_STMT_ENQUEUE,
  MP_STMT_NEXT_SEQ,
  MP_STMT_ENQUEUE_PARTS,
  MP_STMT_DEDUP_LOOKUP,
  MP_STMT_ROW_BY_SEQ,
  MP_STMT_ROW_BY_ID,
  MP_STMT_COUNTER_ADD,
  MP_STMT_CLAIM_INFLIGHT,
  MP_STMT_CLAIM_SCAN,
  MP_STMT_CLAIM_ROW,
  MP_STMT_CLAIM_READ,
  MP_STMT_CONFIRM,
  MP_STMT_CONFIRM_FAST,
  MP_STMT_FAIL,
  MP_STMT_REQUEUE,
  MP_STMT_PACE_GET,
  MP_STMT_PACE_ANY,
  MP_STMT_PACE_PUT,
  MP_STMT_NEXT_DUE,
  MP_STMT_ATTEMPT,
  MP_STMT_STATS_COUNTERS,
  MP_STMT_STATS_READ,
  MP_STMT_DUE_INFLIGHT,
  MP_STMT_DUE_PACED,
  MP_STMT_RECOVER_WALK_START,
  MP_STMT_RECOVER_WALK_GROUP,
  MP_STMT_RECOVER_WALK_NEXT,
  MP_STMT_RECOVER_PENDING_SEQ,
  MP_STMT_RECOVER_PENDING_AT,
  MP_STMT_RECOVER_FAILED_SEQ,
  MP_STMT_RECOVER_FAILED_AT,
  MP_STMT_COUNT
};

/*
** One MpState per connection, created by sqlite3_mp_init(). The mp_stats
** module owns it and frees it when the connection closes.
*/
typedef struct MpState MpState;
struct MpState {
  sqlite3 *db;                         /* The connection */
  sqlite3_stmt *apStmt[MP_STMT_COUNT]; /* Cached statements, or NULL */
  int bAnchored;    /* True while the mp_stats table is connected */
  int bClockFixed;  /* True when mp_clock_set() fixed the clock */
  i64 iClockMs;     /* The fixed time, ms since the epoch */
  u64 aRandom[2];   /* State of the xorshift128+ generator */
  char *zSavedErr;  /* Error message saved across a rollback, or NULL */
  int nInStatement; /* Open transitions running without their savepoint */
  void *pDigest;    /* OpenSSL EVP_MD_CTX reused by mpChecksum(), or NULL */
  void *pSha256;    /* OpenSSL EVP_MD fetched once by mpChecksum(), or NULL */
};

/*
** The subset of a message row that the transition functions look at.
*/
typedef struct MpRow MpRow;
struct MpRow {
  i64 iSeq;         /* messages.seq (the rowid) */
  i64 iChat;        /* chat_id */
  int iPriority;    /* priority, 0..3 */
  int nRetry;       /* retry_count */
  char zStatus[12]; /* status */
  char zToken[24];  /* lease_token, or "" */
  char zGiven[24];  /* the lease token the caller passed, or "" */
  char zId[40];     /* id */
};

/* mp_util.c: errors, arguments, statements, transactions. */
void mpResultErrorf(sqlite3_context *ctx, const char *zFormat, ...);
void mpResultDbError(sqlite3_context *ctx, const char *zFunc, sqlite3 *db,
                     int rc);
void mpResultJson(sqlite3_context *ctx, const char *zFunc, sqlite3 *db, int rc,
                  sqlite3_str *pOut);
void mpResultMsg(sqlite3_context *ctx, int rc, char *zMsg);
char *mpDbErrorText(sqlite3 *db, const char *zFunc, const char *zMsg);
int mpArgInt(sqlite3_context *ctx, sqlite3_value *pVal, const char *zFunc,
             const char *zArg, i64 *piOut);
int mpArgText(sqlite3_context *ctx, sqlite3_value *pVal, const char *zFunc,
              const char *zArg, int nMax, int bAllowNull, const char **pzOut,
              int *pnOut);
int mpValueInt(sqlite3_value *pVal, i64 *piOut);
void mpErrClear(MpState *p);
char *mpErrTake(MpState *p, const char *zFunc);
const char *mpErrMsg(MpState *p);
sqlite3_stmt *mpStmt(MpState *p, int iSlot, const char *zSql);
int mpStmtFinish(sqlite3_stmt *pStmt);
void mpStmtFinalizeAll(MpState *p);
int mpBegin(MpState *p);
int mpCommit(MpState *p);
int mpEnd(sqlite3_context *ctx, MpState *p, const char *zFunc, int rc);
void mpRollback(MpState *p);
int mpCounterAdd(MpState *p, const char *zName, i64 iDelta);
int mpRequireSchema(sqlite3_context *ctx, MpState *p, const char *zFunc);

/* mp_clock.c: the one clock every function reads. */
i64 mpNowMs(MpState *p);
u64 mpRandom(MpState *p);
int mpRegisterClock(sqlite3 *db, MpState *p, char **pzErrMsg);

/* mp_json.c: a small strict JSON reader. */
typedef struct MpJson MpJson;
struct MpJson {
  const char *z; /* The whole document */
  int n;         /* Its length in bytes */
  int i;         /* Read position */
  int bValid;    /* 1: z was checked, values are skipped, not checked */
};
#define MP_JSON_NULL   0
#define MP_JSON_FALSE  1
#define MP_JSON_TRUE   2
#define MP_JSON_NUMBER 3
#define MP_JSON_STRING 4
#define MP_JSON_ARRAY  5
#define MP_JSON_OBJECT 6
typedef struct MpJsonValue MpJsonValue;
struct MpJsonValue {
  int eType;     /* MP_JSON_* */
  const char *z; /* First byte of the value's text (strings: the quote) */
  int n;         /* Bytes of the value's text */
};
int mpJsonValid(const char *z, int n);
int mpJsonNextMember(MpJson *pJson, MpJsonValue *pKey, MpJsonValue *pValue);
int mpJsonObjectStart(MpJson *pJson, const char *z, int n);
int mpJsonArrayStart(MpJson *pJson, const char *z, int n);
int mpJsonValidStart(MpJson *pJson, const char *z, int n, int eType);
int mpJsonEnter(MpJson *pJson, const MpJsonValue *pVal);
int mpJsonNextElement(MpJson *pJson, MpJsonValue *pValue);
char *mpJsonString(const MpJsonValue *pVal, int *pnOut);
int mpJsonStringView(const MpJsonValue *pVal, const char **pz, int *pn);
int mpJsonInt(const MpJsonValue *pVal, i64 *piOut);
int mpJsonKeyIs(const MpJsonValue *pKey, const char *zName);
int mpJsonLookup(const char *z, int n, const char *zPath, MpJsonValue *pOut);
void mpJsonAppendString(sqlite3_str *pStr, const char *z, int n);

/* mp_checksum.c: SHA-256 over a canonical encoding of a message. */
#define MP_CHECKSUM_BYTES 32
int mpChecksum(MpState *p, i64 iChat, const char *zText, int nText,
               const char *zEvent, int nEvent, const char *zParseMode,
               int nParseMode, u8 *aOut);
void mpChecksumFree(MpState *p);

/* mp_id.c: UUID v7 ids that carry the row's seq. */
void mpIdPrefix(MpState *p, i64 iMs, char *zOut);
void mpHex16(u64 v, char *z);
void mpIdFormat(const char *zPrefix, i64 iSeq, char *zOut);
int mpIdDecode(const char *z, int n, i64 *piSeq, const char **pzToken);
int mpFindRow(sqlite3_context *ctx, MpState *p, const char *zFunc,
              sqlite3_value *pId, MpRow *pRow);
int mpFindRowText(MpState *p, const char *zFunc, const char *zId, int nId,
                  MpRow *pRow, char **pzErr);

/* mp_enqueue.c: storing a message. */
typedef struct MpMessage MpMessage;
struct MpMessage {
  i64 iChat;              /* chat_id, non-zero */
  const char *zText;      /* message_text, valid UTF-8 */
  int nText;              /* bytes of zText */
  const char *zEvent;     /* event_data JSON object, or NULL */
  int nEvent;             /* bytes of zEvent */
  int iPriority;          /* MP_PRIORITY_* */
  i64 iDelayMs;           /* delay_ms */
  char *zDedup;           /* dedup_key (sqlite3_malloc), or NULL */
  const char *zParseMode; /* static canonical name, or NULL */
};
#define MP_ID_BUFFER 40 /* bytes for an id and its NUL */
int mpEnqueueMessage(sqlite3_context *ctx, MpState *p, const char *zFunc,
                     const MpMessage *pMsg);
int mpEnqueueStore(MpState *p, const char *zFunc, const MpMessage *pMsg,
                   char *zIdOut, char **pzErr);
int mpEnqueueOption(const char *zFunc, const MpJsonValue *pKey,
                    const MpJsonValue *pVal, MpMessage *pOpt, char **pzErr);

/* mp_transition.c: applying the outcome of an attempt. */
typedef struct MpFailure MpFailure;
struct MpFailure {
  const char *zError; /* Stored in error_message */
  int bRetryable;     /* 0: failed at once */
  i64 iRetryAfterMs;  /* Delay before the retry; -1: exponential backoff */
  int bCountsAsRetry; /* 0 for 429: Telegram's pacing is not our failure */
  int bInDoubt;       /* 1: the message may have been delivered */
};
int mpTransitionCheck(sqlite3_context *ctx, const char *zFunc,
                      const MpRow *pRow, const char *zFrom, const char *zTo);
int mpTransitionCheckText(const char *zFunc, const MpRow *pRow,
                          const char *zFrom, const char *zTo, char **pzErr);
int mpTransitionOpen(sqlite3_context *ctx, MpState *p, const char *zFunc,
                     sqlite3_value *pId, const char *zFrom, const char *zTo,
                     MpRow *pRow);
int mpConfirmFast(MpState *p, const char *zId, int nId, i64 iTelegramId,
                  const char *zTier, int *pbDone);
int mpApplyConfirm(MpState *p, const MpRow *pRow, const i64 *piTelegramId,
                   const char *zTier);
int mpApplyFailure(MpState *p, const MpRow *pRow, const MpFailure *pF,
                   const char **pzStatus);

/* mp_recover.c, mp_cleanup.c, mp_backup.c: upkeep, also run by mp_tick(). */
int mpRecoverRun(MpState *p, const char *zWorker, i64 *pnDone);
int mpCleanupRun(MpState *p, i64 iRetentionDays, i64 *pnDeleted,
                 i64 *pnFreedPages, char **pzErr);
int mpBackupRun(MpState *p, const char *zPath, const char *zKeySpec,
                i64 *pnBytes, char **pzErr);
int mpRegisterCleanup(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterBackup(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterTick(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterBatch(sqlite3 *db, MpState *p, char **pzErrMsg);

/* mp_pace.c: Telegram's limits, applied when messages are claimed. */
typedef struct MpPace MpPace;
struct MpPace {
  i64 iChatGapMs;    /* Least gap between two sends to one chat; 0: off */
  i64 nGroupPerMin;  /* Sends per minute to one group chat; 0: off */
  i64 nGlobalPerSec; /* Sends per second overall; 0: off */
  i64 *aGlobal;      /* Recent global send times (ms), oldest first */
  int nGlobal;       /* Entries in aGlobal */
  int bGlobalDirty;  /* aGlobal changed and must be saved */
  int bNoChatRows;   /* mp_chat was empty and per-chat pacing is off: no
                     ** chat has to wait, nothing to look up */
};
int mpPaceOpen(MpState *p, i64 iNow, MpPace *pPace);
int mpPaceBudget(const MpPace *pPace, i64 iNow, i64 *piWaitUntil);
int mpPaceChatReadyAt(MpState *p, const MpPace *pPace, i64 iChat, i64 iNow,
                      i64 *piReadyAt);
int mpPaceRecord(MpState *p, MpPace *pPace, i64 iChat, i64 iNow);
int mpPaceClose(MpState *p, MpPace *pPace, int bSave);
int mpPacePause(MpState *p, i64 iChat, i64 iUntilMs);
int mpPaceAfterSend(MpState *p, i64 iChat, i64 iSentAt);

/* mp_report.c: the delivery policy. */
typedef struct MpAttempt MpAttempt;
struct MpAttempt {
  const char *zId;   /* id or lease token */
  int nId;           /* bytes of zId */
  i64 iStatus;       /* HTTP status; 0 never sent; -1 no answer */
  const char *zBody; /* response body or transport error, or NULL */
  int nBody;         /* bytes of zBody */
  const char *zTier; /* telegram (NULL), webhook or file */
  i64 iDuration;     /* ms; -1 when unknown */
};
int mpReportOne(MpState *p, const char *zFunc, const MpAttempt *pAt,
                const char **pzOutcome, char **pzErr);
int mpRegisterReport(sqlite3 *db, MpState *p, char **pzErrMsg);

/* mp_format.c: turning a seed Event into message text. */
int mpRegisterFormat(sqlite3 *db, MpState *p, char **pzErrMsg);

/* mp_split.c: cutting a long text into messages Telegram accepts. */
#define MP_TELEGRAM_LIMIT 4096 /* characters (UTF-16 units) after parsing */
typedef struct MpSplit MpSplit;
struct MpSplit {
  char **azPart; /* Parts, each NUL-terminated, from sqlite3_malloc64 */
  int *anPart;   /* Bytes of each part */
  int nPart;     /* Number of parts */
};
int mpSplit(const char *z, int n, const char *zParseMode, int nLimit,
            MpSplit *pOut);
int mpSplitRun(const char *z, int n, const char *zParseMode, int nLimit,
               MpSplit *pOut, char **pzErr);
void mpSplitFree(MpSplit *pSplit);
int mpRegisterSplit(sqlite3 *db, MpState *p, char **pzErrMsg);

/* mp_config.c: validated, persistent settings. */
int mpConfigInt(MpState *p, const char *zKey, i64 *piOut);
int mpConfigApplyJson(sqlite3_context *ctx, MpState *p, const char *zFunc,
                      const char *zJson, int nJson);
void mpConfigAppendJson(MpState *p, sqlite3_str *pOut);

/* Registration, one per file; each returns SQLITE_OK or sets *pzErrMsg. */
int mpRegisterSchema(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterConfig(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterEnqueue(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterClaim(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterTransition(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterRecover(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterVerify(sqlite3 *db, MpState *p, char **pzErrMsg);
int mpRegisterStats(sqlite3 *db, MpState *p, char **pzErrMsg);

/*
** One row of a file's function table, registered by mpRegisterFunctions().
*/
typedef struct MpFunction MpFunction;
struct MpFunction {
  const char *zName;
  int nArg;
  int eFlags;
  void (*xFunc)(sqlite3_context *, int, sqlite3_value **);
};
int mpRegisterFunctions(sqlite3 *db, MpState *p, const MpFunction *aFunc,
                        int nFunc, char **pzErrMsg);

/* mp_intset.c: a set of non-zero integers (chat ids). */
typedef struct MpIntSet MpIntSet;
struct MpIntSet {
  i64 *aSlot; /* Slots, 0 = empty; NULL until the first add */
  int nSlot;  /* Number of slots, a power of two (0 at first) */
  int nUsed;  /* Values stored */
};
int mpIntSetAdd(MpIntSet *pSet, i64 iValue);
int mpIntSetHas(const MpIntSet *pSet, i64 iValue);
int mpIntSetLoad(MpIntSet *pSet, sqlite3_stmt *pStmt);
void mpIntSetClear(MpIntSet *pSet);

/* mp_due.c: mp_next_due(). */
int mpRegisterDue(sqlite3 *db, MpState *p, char **pzErrMsg);

#endif /* MP_INT_H */
