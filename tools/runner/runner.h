/*
** SPDX-License-Identifier: MIT
**
** Shared declarations of mp-runner, the delivery daemon of mp.
**
** The runner moves bytes and reports; every decision about a message
** (retry, back-off, pacing, dead letter) is taken by the extension's SQL
** functions. It is split by concern:
**
**   main.c            command line, the delivery loop, signals, exit codes
**   runner_db.c       the one writer connection and every SQL call
**   runner_http.c     libcurl multi: concurrent POSTs, outcome classes
**   runner_tiers.c    tier order, circuit breakers, bodies, the file spool
**   runner_watch.c    ingestion of event files from --watch DIR
**   runner_log.c      leveled logging to stderr, token scrubbing
**   runner_json.c     a growable buffer and JSON string escaping
**   runner_status.c   the "mp-runner status" command
**
** Usage: see mpRunUsage() in main.c, or tools/runner/README.md.
*/
#ifndef MP_RUNNER_H
#define MP_RUNNER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef sqlite3_int64 i64;

/* Exit codes, documented in --help and tools/runner/README.md. */
#define MP_EXIT_OK    0 /* Done (--once, --drain) or stopped by a signal */
#define MP_EXIT_USAGE 1 /* Bad command line, token or option value */
#define MP_EXIT_DB    2 /* The database could not be opened or used */
#define MP_EXIT_STOP  3 /* A tier answered 401/404: token or URL wrong */
#define MP_EXIT_ENV   4 /* libcurl, the watch or spool directory failed */

/* Log levels, from MP_LOG=error|warn|info|debug. */
#define MP_LOG_ERROR 0
#define MP_LOG_WARN  1
#define MP_LOG_INFO  2
#define MP_LOG_DEBUG 3

/* Delivery tiers, in their default failover order. */
#define MP_TIER_TELEGRAM 0
#define MP_TIER_WEBHOOK  1
#define MP_TIER_FILE     2
#define MP_TIER_COUNT    3

/* Largest response body kept per request; the rest is dropped. */
#define MP_BODY_MAX (64 * 1024)

/* Lets GCC and Clang check the arguments of printf-like functions. */
#if defined(__GNUC__)
# define MP_PRINTF(F, A) __attribute__((format(printf, F, A)))
#else
# define MP_PRINTF(F, A)
#endif

/* Everything the command line sets. Strings point into argv or zToken. */
typedef struct MpRunOpts MpRunOpts;
struct MpRunOpts {
  const char *zDb;          /* --db FILE */
  const char *zApiUrl;      /* --api-url, without a trailing slash */
  const char *zTokenFile;   /* --token-file F, or NULL */
  const char *zToken;       /* the bot token (never logged), or NULL */
  char zWorker[128];        /* --worker, default hostname:pid */
  const char *zWatch;       /* --watch DIR, or NULL */
  const char *zWebhookUrl;  /* --webhook-url, or NULL */
  const char *zSpoolDir;    /* --spool-dir, or NULL */
  int aTier[MP_TIER_COUNT]; /* --tiers, in failover order */
  int nTier;                /* entries used in aTier */
  int bChat;                /* 1 when --chat-id was given */
  i64 iChat;                /* --chat-id: default chat for events */
  int bOnce;                /* --once: deliver what is due, then exit */
  int bDrain;               /* --drain: run until nothing is pending */
  int nConcurrency;         /* --concurrency: requests in flight */
  int nBatch;               /* --batch: messages held in memory at most */
  int nLease;               /* --lease seconds, 0 = the database's */
  int nPollMs;              /* --poll-ms: longest sleep */
  long nConnectTimeoutMs;   /* --connect-timeout-ms */
  long nTimeoutMs;          /* --timeout-ms: whole request */
  int nBusyMs;              /* --busy-timeout-ms */
  int bSyncFull;            /* --synchronous full (else normal) */
  int nCacheMb;             /* --cache-mb */
  int nMmapMb;              /* --mmap-mb */
  int nBreakerFailures;     /* --breaker-failures K */
  int nBreakerCooldownS;    /* --breaker-cooldown S (first cool-down) */
  int nBreakerMaxS;         /* --breaker-max S (longest cool-down) */
};

/*
** One claimed message, owned by the delivery loop until reported. The
** struct and its strings are one allocation: free it with mpRunMsgFree().
*/
typedef struct MpMsg MpMsg;
struct MpMsg {
  char *zId;        /* message id (UUID text) */
  i64 iChat;        /* chat_id */
  char *zText;      /* message_text */
  char *zParseMode; /* parse_mode, or NULL for plain text */
  int nRetry;       /* retry_count */
  char *zLease;     /* lease_token, passed back to mp_report */
  int iPriority;    /* 0 low .. 3 critical */
  int nAttempt;     /* attempts, this one included */
  char *zEvent;     /* event_data as JSON text ("null" when none) */
  int bInDoubt;     /* 1: an earlier attempt may have been delivered */
  int eTier;        /* tier of the current attempt, MP_TIER_* */
  i64 iStartMs;     /* monotonic ms when the attempt started */
};

/* A growable byte buffer, always NUL-terminated when z is not NULL. */
typedef struct MpBuf MpBuf;
struct MpBuf {
  char *z;   /* bytes, from malloc */
  size_t n;  /* bytes used, excluding the NUL */
  size_t nA; /* bytes allocated */
  int bOom;  /* 1 after an allocation failed */
};

/* runner_log.c */
int mpRunLogInit(void);
int mpRunLogEnabled(int eLevel);
void mpRunLogSecret(const char *zSecret);
size_t mpRunScrub(char *z);
void mpRunLog(int eLevel, const char *zFormat, ...) MP_PRINTF(2, 3);
i64 mpRunNowMs(void);
i64 mpRunWallMs(void);

/* A finished request (runner_http.c). */
typedef struct MpHttpResult MpHttpResult;
struct MpHttpResult {
  void *pArg;      /* the pArg given to mpHttpStart() */
  void *pReq;      /* the pooled request holding zBody (private) */
  int iStatus;     /* HTTP status, 0 = never sent, -1 = no full answer */
  char *zBody;     /* response body or error text (scrubbed), NUL-ended */
  size_t nBody;    /* bytes of zBody */
  i64 nDurationMs; /* from the send to the end of the transfer */
};

/*
** One finished attempt waiting for its report. mpDbReportBatch() fills
** zOutcome with mp_report's outcome ("confirmed", "retry", ...), or
** "error" when the extension refused the report.
*/
typedef struct MpReport MpReport;
struct MpReport {
  MpMsg *pMsg;       /* the message; its lease token and tier are used */
  int iStatus;       /* HTTP status, 0 or -1 (see runner_http.c) */
  const char *zBody; /* response body or error text, scrubbed */
  size_t nBody;      /* bytes of zBody */
  i64 nDurationMs;   /* from the send to the complete answer */
  char zOutcome[16]; /* set by mpDbReportBatch() */
  int bSingle;       /* mpDbReportBatch(): reported with mp_report() */
  MpHttpResult res;  /* the request's result holding zBody, if any */
  MpBuf own;         /* or the buffer holding zBody (file tier) */
};

/* runner_json.c */
void mpRunBufAppend(MpBuf *p, const char *z, size_t n);
void mpRunBufPrintf(MpBuf *p, const char *zFormat, ...) MP_PRINTF(2, 3);
void mpRunBufJsonString(MpBuf *p, const char *z);
void mpRunBufJsonStringN(MpBuf *p, const char *z, size_t n);
void mpRunBufInt(MpBuf *p, i64 v);
void mpRunBufFree(MpBuf *p);
void mpRunMsgFree(MpMsg *p);

/* runner_db.c */
typedef struct MpDb MpDb;
int mpDbOpen(const MpRunOpts *pOpt, int bCreate, MpDb **ppDb);
sqlite3 *mpDbHandle(MpDb *p);
int mpDbInit(MpDb *p);
int mpDbRecover(MpDb *p, const char *zWorker, i64 *pnDone);
int mpDbRelease(MpDb *p, const char *zLease);
int mpDbClaim(MpDb *p, int n, int nLease, const char *zWorker, MpMsg **apOut,
              int *pnOut);
int mpDbReport(MpDb *p, const MpMsg *pMsg, int iStatus, const char *zBody,
               size_t nBody, i64 nDurationMs, char *zOutcome, size_t nOutcome);
void mpDbReportBatch(MpDb *p, MpReport *aRep, int nRep);
int mpDbNextDue(MpDb *p, i64 *piMs);
int mpDbEnqueueEvent(MpDb *p, const char *zJson, size_t nJson, int bChat,
                     i64 iChat, char **pzErr);
int mpDbTick(MpDb *p);
int mpDbStat(MpDb *p, const char *zName, i64 *piValue);
int mpDbConfigInt(MpDb *p, const char *zKey, i64 *piValue);
int mpDbHasFunction(MpDb *p, const char *zName);
int mpDbHasModule(MpDb *p, const char *zName);
int mpDbBatchBegin(MpDb *p);
void mpDbBatchEnd(MpDb *p);
int mpDbClose(MpDb *p);
int mpDbIsBusy(int rc);

/* runner_http.c */
typedef struct MpHttp MpHttp;
int mpHttpNew(const MpRunOpts *pOpt, MpHttp **ppHttp);
int mpHttpStart(MpHttp *p, const char *zUrl, MpBuf *pBody,
                const char *zIdempotencyKey, void *pArg);
int mpHttpInFlight(MpHttp *p);
int mpHttpWait(MpHttp *p, int *aFd, int nFd, int nTimeoutMs, int *abReady);
int mpHttpNext(MpHttp *p, MpHttpResult *pRes);
void mpHttpResultFree(MpHttp *p, MpHttpResult *pRes);
void mpHttpFree(MpHttp *p);

/* runner_tiers.c */
typedef struct MpTiers MpTiers;
const char *mpTierName(int eTier);
int mpTierParseList(const char *zList, int *aTier, int *pnTier);
int mpTiersNew(const MpRunOpts *pOpt, MpTiers **ppTiers);
int mpTiersPick(MpTiers *p, i64 iNowMs, int bForce, int *pbProbe);
i64 mpTiersWaitMs(MpTiers *p, i64 iNowMs);
void mpTiersResult(MpTiers *p, int eTier, int iStatus, i64 iNowMs);
void mpTiersFree(MpTiers *p);
int mpTelegramBody(const MpMsg *pMsg, MpBuf *pOut);
int mpWebhookBody(const MpMsg *pMsg, MpBuf *pOut);
int mpSpoolWrite(const char *zDir, const MpMsg *pMsg, MpBuf *pResult);

/* runner_watch.c */
typedef struct MpWatch MpWatch;
int mpWatchOpen(const char *zDir, MpWatch **ppWatch);
int mpWatchFd(MpWatch *p);
void mpWatchNotified(MpWatch *p);
int mpWatchPending(MpWatch *p, i64 iNowMs);
int mpWatchIngest(MpWatch *p, MpDb *pDb, int bChat, i64 iChat, int nMax,
                  i64 iNowMs);
void mpWatchClose(MpWatch *p);

/* runner_status.c */
int mpStatusMain(const MpRunOpts *pOpt);

#endif /* MP_RUNNER_H */
