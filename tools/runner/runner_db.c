/*
** SPDX-License-Identifier: MIT
**
** runner_db.c: mp-runner's one writer connection and every SQL call it
** makes. The runner decides nothing about messages: it claims, reports
** and asks when to wake up; the extension applies the policy.
**
**   SELECT mp_init()                         when opening (BEGIN IMMEDIATE)
**   SELECT mp_recover(?worker)               at start, and now and then
**   SELECT ... FROM mp_claim(?n, ?lease, ?worker)
**   SELECT mp_report(?lease_token, ?status, ?body, ?tier, ?duration_ms)
**   SELECT mp_report_batch(?json)            many reports, one
**                                            transaction
**   SELECT mp_next_due()                     ms until work, NULL = none
**   SELECT mp_enqueue_event(?json [, ?chat_id])
**   SELECT mp_tick()                         only if the function exists
**
** mp is registered on the connection with sqlite3_mp_init() (static
** library), never loaded from mp.so. A new database file is created by the
** runner itself with mode 0600, whatever the umask, before SQLite opens
** it; SQLite gives the -wal and -shm files the database file's mode.
** Every write is one of the extension's functions, each running its own
** transaction, or mp_init() inside BEGIN IMMEDIATE.
*/
#include "runner.h"

#include "mp_utf8.h"
#include <mp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The cached statements, one per SQL call. */
#define MP_STMT_CLAIM   0
#define MP_STMT_REPORT  1
#define MP_STMT_NEXTDUE 2
#define MP_STMT_EVENT   3
#define MP_STMT_EVENT2  4
#define MP_STMT_RECOVER 5
#define MP_STMT_TICK    6
#define MP_STMT_STAT    7
#define MP_STMT_RELEASE 8
#define MP_STMT_BATCH   9
#define MP_STMT_OUTCOME 10
#define MP_STMT_COUNT   11

/* Bytes of JSON per mp_report_batch() call; more makes several calls. */
#define MP_BATCH_JSON_MAX (1024 * 1024)

struct MpDb {
  sqlite3 *db;                        /* the connection */
  sqlite3_stmt *aStmt[MP_STMT_COUNT]; /* prepared on first use */
  int bBatch;                         /* mp_report_batch() exists: 1, 0, or
                                      ** -1 before the first look */
  MpBuf json;                         /* the batch argument, reused */
};

// clang-format off
static const char *const azMpSql[MP_STMT_COUNT] = {
  /* MP_STMT_CLAIM: event_data always comes back as valid JSON text. */
  "SELECT id, chat_id, message_text, parse_mode, retry_count, lease_token,"
  " priority, attempts,"
  " CASE WHEN event_data IS NULL THEN 'null'"
  "  WHEN json_valid(event_data) THEN event_data"
  "  ELSE json_quote(event_data) END,"
  " in_doubt FROM mp_claim(?1, ?2, ?3)",
  "SELECT mp_report(?1, ?2, ?3, ?4, ?5)",
  "SELECT mp_next_due()",
  "SELECT mp_enqueue_event(?1)",
  "SELECT mp_enqueue_event(?1, ?2)",
  "SELECT mp_recover(?1)",
  "SELECT mp_tick()",
  "SELECT value FROM mp_stats WHERE name = ?1",
  "SELECT mp_release(?1)",
  /*
  ** A plain SELECT: inside FROM json_each(...) the call would run under
  ** the statement's read transaction, and a write that starts from a
  ** read cannot wait for the lock (SQLITE_BUSY at once under load).
  */
  "SELECT mp_report_batch(?1)",
  /* One row per element, in order: the outcome, or the error's text. */
  "SELECT type = 'text', CASE WHEN type = 'text' THEN value"
  " ELSE json_extract(value, '$.error') END FROM json_each(?1)",
};
// clang-format on

/*
** Returns 1 when rc means "try again later" (another connection holds the
** lock), else 0.
*/
int mpDbIsBusy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/*
** Returns the cached statement iStmt, reset and with no bindings, or NULL
** after logging why it could not be prepared.
*/
static sqlite3_stmt *mpDbStmt(MpDb *p, int iStmt) {
  sqlite3_stmt *pStmt = p->aStmt[iStmt];
  if (pStmt) {
    sqlite3_reset(pStmt);
    sqlite3_clear_bindings(pStmt);
    return pStmt;
  }
  if (sqlite3_prepare_v3(p->db, azMpSql[iStmt], -1, SQLITE_PREPARE_PERSISTENT,
                         &pStmt, 0) != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: cannot prepare \"%s\": %s",
             azMpSql[iStmt], sqlite3_errmsg(p->db));
    return 0;
  }
  p->aStmt[iStmt] = pStmt;
  return pStmt;
}

/*
** Creates zPath with mode 0600 if it does not exist, and warns when an
** existing file can be read by group or others. Returns 0, or -1 after
** logging the error.
*/
static int mpDbCreateFile(const char *zPath, int *pbNew) {
  struct stat st;
  int fd;
  *pbNew = 0;
  if (stat(zPath, &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      mpRunLog(MP_LOG_ERROR, "database: %s is not a regular file", zPath);
      return -1;
    }
    if (st.st_mode & 077) {
      mpRunLog(
          MP_LOG_WARN,
          "database: %s has mode %03o; other users may read it (chmod 600)",
          zPath, (unsigned)(st.st_mode & 0777));
    }
    return 0;
  }
  if (errno != ENOENT) {
    mpRunLog(MP_LOG_ERROR, "database: %s: %s", zPath, strerror(errno));
    return -1;
  }
  fd = open(zPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) return 0;
  if (fd < 0) {
    mpRunLog(MP_LOG_ERROR, "database: cannot create %s: %s", zPath,
             strerror(errno));
    return -1;
  }
  if (fchmod(fd, 0600) != 0) {
    mpRunLog(MP_LOG_ERROR, "database: cannot chmod %s: %s", zPath,
             strerror(errno));
    close(fd);
    return -1;
  }
  close(fd);
  *pbNew = 1;
  mpRunLog(MP_LOG_INFO, "created database %s (mode 0600)", zPath);
  return 0;
}

/*
** Runs zSql (no result rows wanted). Returns an SQLite result code; logs
** errors with zWhat.
*/
static int mpDbExec(MpDb *p, const char *zSql, const char *zWhat) {
  char *zErr = 0;
  int rc = sqlite3_exec(p->db, zSql, 0, 0, &zErr);
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: %s: %s", zWhat,
             zErr ? zErr : sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
  return rc;
}

/*
** Opens the database of pOpt and registers mp on it. With bCreate (the
** delivery daemon) the file is created when missing and the connection
** is set up for writing: WAL, synchronous, cache and mmap sizes. Without
** it (status) the file must exist. Returns SQLITE_OK and sets *ppDb, or
** an error code after logging it (*ppDb is NULL then).
*/
int mpDbOpen(const MpRunOpts *pOpt, int bCreate, MpDb **ppDb) {
  MpDb *p;
  char *zErr = 0;
  char zSql[200];
  int rc, bNew = 0;
  *ppDb = 0;
  if (bCreate && mpDbCreateFile(pOpt->zDb, &bNew)) return SQLITE_CANTOPEN;
  if (!bCreate && access(pOpt->zDb, F_OK) != 0) {
    mpRunLog(MP_LOG_ERROR, "database: %s: %s", pOpt->zDb, strerror(errno));
    return SQLITE_CANTOPEN;
  }
  p = calloc(1, sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  p->bBatch = -1;
  rc = sqlite3_open_v2(pOpt->zDb, &p->db, SQLITE_OPEN_READWRITE, 0);
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: cannot open %s: %s", pOpt->zDb,
             p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc));
    goto open_error;
  }
  sqlite3_extended_result_codes(p->db, 1);
  sqlite3_busy_timeout(p->db, pOpt->nBusyMs);
  rc = sqlite3_mp_init(p->db, &zErr, 0);
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: cannot register mp: %s",
             zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    goto open_error;
  }
  if (bNew) {
    /*
    ** Before WAL, which writes the header: mp_cleanup() can then give the
    ** pages of deleted messages back to the file system.
    */
    rc = mpDbExec(p, "PRAGMA auto_vacuum = INCREMENTAL", "auto_vacuum");
    if (rc != SQLITE_OK) goto open_error;
  }
  if (bCreate) {
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3_prepare_v2(p->db, "PRAGMA journal_mode = WAL", -1, &pStmt, 0);
    if (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(pStmt, 0), "wal") != 0) {
      mpRunLog(MP_LOG_WARN, "database: journal mode is %s, not wal",
               sqlite3_column_text(pStmt, 0));
    }
    rc = sqlite3_finalize(pStmt);
    if (rc != SQLITE_OK) {
      mpRunLog(MP_LOG_ERROR, "database: cannot set WAL mode: %s",
               sqlite3_errmsg(p->db));
      goto open_error;
    }
    snprintf(zSql, sizeof(zSql),
             "PRAGMA synchronous = %s; PRAGMA cache_size = -%lld;"
             "PRAGMA mmap_size = %lld",
             pOpt->bSyncFull ? "FULL" : "NORMAL",
             (long long)pOpt->nCacheMb * 1024,
             (long long)pOpt->nMmapMb * 1024 * 1024);
    rc = mpDbExec(p, zSql, "pragmas");
    if (rc != SQLITE_OK) goto open_error;
  }
  *ppDb = p;
  return SQLITE_OK;

open_error:
  mpDbClose(p);
  return rc == SQLITE_OK ? SQLITE_ERROR : rc;
}

/*
** Returns the connection, for the status command.
*/
sqlite3 *mpDbHandle(MpDb *p) {
  return p->db;
}

/*
** Creates or migrates mp's schema: SELECT mp_init() inside BEGIN
** IMMEDIATE. mp_init() is idempotent, so this runs at every start and
** brings an older schema forward. Returns an SQLite result code.
*/
int mpDbInit(MpDb *p) {
  sqlite3_stmt *pStmt = 0;
  int rc = mpDbExec(p, "BEGIN IMMEDIATE", "begin");
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_prepare_v2(p->db,
                          "WITH r(j) AS MATERIALIZED (SELECT mp_init()) "
                          "SELECT json_extract(j, '$.previous_schema_version'),"
                          " json_extract(j, '$.schema_version') FROM r",
                          -1, &pStmt, 0);
  if (rc == SQLITE_OK) {
    if (sqlite3_step(pStmt) == SQLITE_ROW) {
      int iFrom = sqlite3_column_int(pStmt, 0);
      int iTo = sqlite3_column_int(pStmt, 1);
      if (iFrom == 0) {
        mpRunLog(MP_LOG_INFO, "initialized mp schema version %d", iTo);
      } else if (iFrom != iTo) {
        mpRunLog(MP_LOG_INFO, "migrated mp schema from version %d to %d", iFrom,
                 iTo);
      }
    }
    rc = sqlite3_finalize(pStmt);
  }
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: mp_init: %s", sqlite3_errmsg(p->db));
    sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
    return rc;
  }
  return mpDbExec(p, "COMMIT", "commit");
}

/*
** Steps a one-value statement. Sets *piOut (when not NULL) to its integer
** value, or to -1 when it is NULL. Returns an SQLite result code; the
** statement is reset.
*/
static int mpDbStepInt(MpDb *p, sqlite3_stmt *pStmt, i64 *piOut) {
  int rc = sqlite3_step(pStmt);
  if (rc == SQLITE_ROW) {
    if (piOut) {
      *piOut = sqlite3_column_type(pStmt, 0) == SQLITE_NULL
                   ? -1
                   : sqlite3_column_int64(pStmt, 0);
    }
    rc = sqlite3_step(pStmt);
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK) rc = sqlite3_extended_errcode(p->db);
  sqlite3_reset(pStmt);
  return rc;
}

/*
** SELECT mp_recover(zWorker): takes back this worker's leases and every
** expired one. zWorker may be NULL (expired leases only). Sets *pnDone to
** the count. Returns an SQLite result code, logged on error.
*/
int mpDbRecover(MpDb *p, const char *zWorker, i64 *pnDone) {
  sqlite3_stmt *pStmt = mpDbStmt(p, MP_STMT_RECOVER);
  int rc;
  *pnDone = 0;
  if (pStmt == 0) return SQLITE_ERROR;
  if (zWorker) sqlite3_bind_text(pStmt, 1, zWorker, -1, SQLITE_STATIC);
  rc = mpDbStepInt(p, pStmt, pnDone);
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: mp_recover: %s", sqlite3_errmsg(p->db));
  }
  return rc;
}

/*
** SELECT mp_release(zLease): hands back a claimed message that was never
** sent. Returns an SQLite result code, logged on error.
*/
int mpDbRelease(MpDb *p, const char *zLease) {
  sqlite3_stmt *pStmt = mpDbStmt(p, MP_STMT_RELEASE);
  i64 nOne = 0;
  int rc;
  if (pStmt == 0) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zLease, -1, SQLITE_STATIC);
  rc = mpDbStepInt(p, pStmt, &nOne);
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: mp_release: %s", sqlite3_errmsg(p->db));
  }
  return rc;
}

/*
** Claims up to n due messages: SELECT ... FROM mp_claim(n, lease, worker),
** one transaction inside the extension. nLease 0 uses the database's
** lease_seconds. Each message is appended to apOut (room for n) and owned
** by the caller; *pnOut is the count. Returns an SQLite result code,
** logged on error (messages already copied are still returned).
*/
int mpDbClaim(MpDb *p, int n, int nLease, const char *zWorker, MpMsg **apOut,
              int *pnOut) {
  sqlite3_stmt *pStmt = mpDbStmt(p, MP_STMT_CLAIM);
  int rc;
  *pnOut = 0;
  if (pStmt == 0) return SQLITE_ERROR;
  sqlite3_bind_int(pStmt, 1, n);
  if (nLease > 0) sqlite3_bind_int(pStmt, 2, nLease);
  sqlite3_bind_text(pStmt, 3, zWorker, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    /* The strings: id, message_text, parse_mode, lease_token, event_data. */
    static const int aCol[5] = { 0, 2, 3, 5, 8 };
    const unsigned char *az[5];
    size_t an[5], nAll = sizeof(MpMsg) + 5; /* + room for "null" */
    char *zAt, *apStr[5];
    MpMsg *pMsg;
    if (*pnOut >= n) continue;
    for (int k = 0; k < 5; k++) {
      az[k] = sqlite3_column_text(pStmt, aCol[k]);
      an[k] = az[k] ? (size_t)sqlite3_column_bytes(pStmt, aCol[k]) : 0;
      nAll += an[k] + 1;
    }
    pMsg = az[0] && az[3] ? malloc(nAll) : 0;
    if (pMsg == 0) {
      /* The row stays 'sent' under our lease; recovery takes it back. */
      mpRunLog(MP_LOG_ERROR, "out of memory while claiming; message left to "
                             "lease recovery");
      continue;
    }
    memset(pMsg, 0, sizeof(*pMsg));
    zAt = (char *)(pMsg + 1);
    for (int k = 0; k < 5; k++) {
      apStr[k] = zAt;
      if (an[k]) memcpy(zAt, az[k], an[k]);
      zAt[an[k]] = 0;
      zAt += an[k] + 1;
    }
    memcpy(zAt, "null", 5);
    pMsg->zId = apStr[0];
    pMsg->iChat = sqlite3_column_int64(pStmt, 1);
    pMsg->zText = apStr[1];
    pMsg->zParseMode = az[2] ? apStr[2] : 0;
    pMsg->nRetry = sqlite3_column_int(pStmt, 4);
    pMsg->zLease = apStr[3];
    pMsg->iPriority = sqlite3_column_int(pStmt, 6);
    pMsg->nAttempt = sqlite3_column_int(pStmt, 7);
    pMsg->zEvent = az[4] ? apStr[4] : zAt;
    pMsg->bInDoubt = sqlite3_column_int(pStmt, 9);
    apOut[(*pnOut)++] = pMsg;
  }
  if (rc != SQLITE_DONE) {
    rc = sqlite3_extended_errcode(p->db);
    mpRunLog(mpDbIsBusy(rc) ? MP_LOG_WARN : MP_LOG_ERROR,
             "database: mp_claim: %s", sqlite3_errmsg(p->db));
  } else {
    rc = SQLITE_OK;
  }
  sqlite3_reset(pStmt);
  return rc;
}

/*
** Reports one attempt: SELECT mp_report(lease_token, status, body, tier,
** duration_ms). zBody must already be scrubbed of the token. Copies the
** outcome ("confirmed", "retry", ... "stop") into zOutcome. Returns an
** SQLite result code; on error zOutcome is "error" and the error is logged
** (a stale lease token is one: the lease ran out and another claim owns
** the message now).
*/
int mpDbReport(MpDb *p, const MpMsg *pMsg, int iStatus, const char *zBody,
               size_t nBody, i64 nDurationMs, char *zOutcome, size_t nOutcome) {
  sqlite3_stmt *pStmt = mpDbStmt(p, MP_STMT_REPORT);
  int rc;
  snprintf(zOutcome, nOutcome, "error");
  if (pStmt == 0) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, pMsg->zLease, -1, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, iStatus);
  if (zBody) sqlite3_bind_text(pStmt, 3, zBody, (int)nBody, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 4, mpTierName(pMsg->eTier), -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 5, nDurationMs);
  rc = sqlite3_step(pStmt);
  if (rc == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    snprintf(zOutcome, nOutcome, "%s", z ? z : "");
    rc = SQLITE_OK;
  } else {
    rc = sqlite3_extended_errcode(p->db);
    mpRunLog(MP_LOG_WARN, "mp_report for message %s failed: %s", pMsg->zId,
             sqlite3_errmsg(p->db));
    if (rc == SQLITE_OK) rc = SQLITE_ERROR;
  }
  sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  return rc;
}

/*
** Appends one mp_report_batch() element for pRep to pOut.
*/
static void mpDbBatchElement(MpBuf *pOut, const MpReport *pRep) {
  mpRunBufAppend(pOut, "{\"id\":", 6);
  mpRunBufJsonString(pOut, pRep->pMsg->zLease);
  mpRunBufAppend(pOut, ",\"status\":", 10);
  mpRunBufInt(pOut, pRep->iStatus);
  mpRunBufAppend(pOut, ",\"tier\":\"", 9);
  mpRunBufAppend(pOut, mpTierName(pRep->pMsg->eTier),
                 strlen(mpTierName(pRep->pMsg->eTier)));
  mpRunBufAppend(pOut, "\",\"duration_ms\":", 16);
  mpRunBufInt(pOut, pRep->nDurationMs < 0 ? 0 : pRep->nDurationMs);
  mpRunBufAppend(pOut, ",\"body\":", 8);
  mpRunBufJsonStringN(pOut, pRep->zBody, pRep->nBody);
  mpRunBufAppend(pOut, "}", 1);
}

/*
** Runs one mp_report_batch() over the nIdx reports aRep[aIdx[...]], whose
** elements are in p->json, and copies each outcome. Returns SQLITE_OK, or
** the error of the whole call (nothing applied then), logged.
*/
static int mpDbBatchRun(MpDb *p, MpReport *aRep, const int *aIdx, int nIdx) {
  sqlite3_stmt *pCall = mpDbStmt(p, MP_STMT_BATCH);
  sqlite3_stmt *pRows = mpDbStmt(p, MP_STMT_OUTCOME);
  int rc, k = 0;
  if (pCall == 0 || pRows == 0) return SQLITE_ERROR;
  sqlite3_bind_text(pCall, 1, p->json.z, (int)p->json.n, SQLITE_STATIC);
  rc = sqlite3_step(pCall);
  if (rc == SQLITE_ROW) {
    /* The answer stays valid until pCall is reset, after the loop. */
    sqlite3_bind_value(pRows, 1, sqlite3_column_value(pCall, 0));
    while ((rc = sqlite3_step(pRows)) == SQLITE_ROW && k < nIdx) {
      MpReport *pRep = &aRep[aIdx[k++]];
      const char *z = (const char *)sqlite3_column_text(pRows, 1);
      if (sqlite3_column_int(pRows, 0)) {
        snprintf(pRep->zOutcome, sizeof(pRep->zOutcome), "%s", z ? z : "");
      } else {
        mpRunLog(MP_LOG_WARN, "mp_report for message %s failed: %s",
                 pRep->pMsg->zId, z ? z : "(no reason)");
      }
    }
  }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  } else {
    rc = sqlite3_extended_errcode(p->db);
    if (rc == SQLITE_OK) rc = SQLITE_ERROR;
    mpRunLog(MP_LOG_WARN, "mp_report_batch of %d reports failed: %s", nIdx,
             sqlite3_errmsg(p->db));
    for (int i = 0; i < k; i++)
      snprintf(aRep[aIdx[i]].zOutcome, sizeof(aRep[0].zOutcome), "error");
  }
  sqlite3_reset(pRows);
  sqlite3_clear_bindings(pRows);
  sqlite3_reset(pCall);
  sqlite3_clear_bindings(pCall);
  if (rc == SQLITE_OK && k < nIdx) {
    mpRunLog(MP_LOG_WARN, "mp_report_batch answered %d of %d reports", k, nIdx);
  }
  return rc;
}

/*
** Reports the nRep attempts of aRep and sets each zOutcome ("error" when
** the extension refused one; the reason is logged). The reports go in one
** mp_report_batch() call, one transaction, each element applied on its
** own; a body that is not valid UTF-8 cannot travel inside JSON and is
** reported alone with mp_report(), as is everything when the extension
** has no mp_report_batch() or the batch call as a whole fails (busy past
** the timeout, say).
*/
void mpDbReportBatch(MpDb *p, MpReport *aRep, int nRep) {
  int *aIdx = 0;
  int i = 0, nSingle = 0, bTxn = 0;
  for (int k = 0; k < nRep; k++) {
    snprintf(aRep[k].zOutcome, sizeof(aRep[k].zOutcome), "error");
    aRep[k].bSingle = 1;
  }
  if (p->bBatch < 0) p->bBatch = mpDbHasFunction(p, "mp_report_batch");
  if (p->bBatch && nRep > 1) aIdx = malloc(sizeof(int) * (size_t)nRep);
  while (aIdx && i < nRep) {
    /* One call per MP_BATCH_JSON_MAX bytes of JSON. */
    int nIdx = 0;
    p->json.n = 0;
    p->json.bOom = 0;
    mpRunBufAppend(&p->json, "[", 1);
    for (; i < nRep && p->json.n < MP_BATCH_JSON_MAX; i++) {
      if (!mpUtf8Valid((const unsigned char *)aRep[i].zBody, aRep[i].nBody))
        continue;
      if (nIdx > 0) mpRunBufAppend(&p->json, ",", 1);
      mpDbBatchElement(&p->json, &aRep[i]);
      aIdx[nIdx++] = i;
    }
    mpRunBufAppend(&p->json, "]", 1);
    if (nIdx > 0 && !p->json.bOom &&
        mpDbBatchRun(p, aRep, aIdx, nIdx) == SQLITE_OK) {
      for (int k = 0; k < nIdx; k++)
        aRep[aIdx[k]].bSingle = 0;
    }
  }
  if (p->json.nA > MP_BATCH_JSON_MAX) mpRunBufFree(&p->json);
  free(aIdx);
  for (int k = 0; k < nRep; k++)
    nSingle += aRep[k].bSingle;
  if (nSingle > 1) bTxn = mpDbBatchBegin(p) == SQLITE_OK;
  for (int k = 0; k < nRep; k++) {
    if (!aRep[k].bSingle) continue;
    mpDbReport(p, aRep[k].pMsg, aRep[k].iStatus, aRep[k].zBody, aRep[k].nBody,
               aRep[k].nDurationMs, aRep[k].zOutcome, sizeof(aRep[k].zOutcome));
  }
  if (bTxn) mpDbBatchEnd(p);
}

/*
** SELECT mp_next_due(): sets *piMs to the milliseconds until the next
** message may be claimed (0 = now), or -1 when nothing is pending.
** Returns an SQLite result code.
*/
int mpDbNextDue(MpDb *p, i64 *piMs) {
  sqlite3_stmt *pStmt = mpDbStmt(p, MP_STMT_NEXTDUE);
  int rc;
  *piMs = -1;
  if (pStmt == 0) return SQLITE_ERROR;
  rc = mpDbStepInt(p, pStmt, piMs);
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_WARN, "database: mp_next_due: %s", sqlite3_errmsg(p->db));
  }
  return rc;
}

/*
** Reads one mp_stats metric into *piValue (-1 when NULL). Returns an
** SQLite result code.
*/
int mpDbStat(MpDb *p, const char *zName, i64 *piValue) {
  sqlite3_stmt *pStmt = mpDbStmt(p, MP_STMT_STAT);
  int rc;
  *piValue = -1;
  if (pStmt == 0) return SQLITE_ERROR;
  sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
  rc = mpDbStepInt(p, pStmt, piValue);
  sqlite3_clear_bindings(pStmt);
  return rc;
}

/*
** SELECT mp_config(zKey): reads an integer setting into *piValue (-1 when
** NULL). Returns an SQLite result code.
*/
int mpDbConfigInt(MpDb *p, const char *zKey, i64 *piValue) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(p->db, "SELECT mp_config(?1)", -1, &pStmt, 0);
  *piValue = -1;
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
    rc = mpDbStepInt(p, pStmt, piValue);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** SELECT mp_enqueue_event(json [, chat_id]): stores one event. On error
** *pzErr is a malloc'ed copy of the extension's message (the caller frees
** it). Returns an SQLite result code; busy and I/O codes mean "try
** later", SQLITE_ERROR and the like mean the event is bad.
*/
int mpDbEnqueueEvent(MpDb *p, const char *zJson, size_t nJson, int bChat,
                     i64 iChat, char **pzErr) {
  sqlite3_stmt *pStmt = mpDbStmt(p, bChat ? MP_STMT_EVENT2 : MP_STMT_EVENT);
  int rc;
  *pzErr = 0;
  if (pStmt == 0) {
    *pzErr = strdup(sqlite3_errmsg(p->db));
    return SQLITE_ERROR;
  }
  sqlite3_bind_text(pStmt, 1, zJson, (int)nJson, SQLITE_STATIC);
  if (bChat) sqlite3_bind_int64(pStmt, 2, iChat);
  rc = mpDbStepInt(p, pStmt, 0);
  if (rc != SQLITE_OK) *pzErr = strdup(sqlite3_errmsg(p->db));
  sqlite3_clear_bindings(pStmt);
  return rc;
}

/*
** SELECT mp_tick(): the extension's scheduled upkeep. Call only when
** mpDbHasFunction(p, "mp_tick"). Returns an SQLite result code, logged.
*/
int mpDbTick(MpDb *p) {
  sqlite3_stmt *pStmt = mpDbStmt(p, MP_STMT_TICK);
  int rc;
  if (pStmt == 0) return SQLITE_ERROR;
  rc = sqlite3_step(pStmt);
  if (rc == SQLITE_ROW) {
    mpRunLog(MP_LOG_DEBUG, "mp_tick: %s", sqlite3_column_text(pStmt, 0));
    rc = SQLITE_OK;
  } else {
    rc = sqlite3_extended_errcode(p->db);
    mpRunLog(MP_LOG_WARN, "database: mp_tick: %s", sqlite3_errmsg(p->db));
    if (rc == SQLITE_OK) rc = SQLITE_ERROR;
  }
  sqlite3_reset(pStmt);
  return rc;
}

/*
** Returns 1 when the SQL function zName is registered on the connection.
*/
int mpDbHasFunction(MpDb *p, const char *zName) {
  sqlite3_stmt *pStmt = 0;
  int bFound = 0;
  if (sqlite3_prepare_v2(p->db,
                         "SELECT 1 FROM pragma_function_list WHERE name = ?1",
                         -1, &pStmt, 0) == SQLITE_OK) {
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    bFound = sqlite3_step(pStmt) == SQLITE_ROW;
  }
  sqlite3_finalize(pStmt);
  return bFound;
}

/*
** Returns 1 when the virtual table module zName (mp_claim, mp_stats) is
** registered on the connection.
*/
int mpDbHasModule(MpDb *p, const char *zName) {
  sqlite3_stmt *pStmt = 0;
  int bFound = 0;
  if (sqlite3_prepare_v2(p->db,
                         "SELECT 1 FROM pragma_module_list WHERE name = ?1", -1,
                         &pStmt, 0) == SQLITE_OK) {
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    bFound = sqlite3_step(pStmt) == SQLITE_ROW;
  }
  sqlite3_finalize(pStmt);
  return bFound;
}

/*
** Opens a transaction (BEGIN IMMEDIATE) around several mp_report() calls,
** which then commit together; each report stays atomic on its own, since
** the extension nests a savepoint. Returns an SQLite result code; on
** failure the reports simply run in their own transactions.
*/
int mpDbBatchBegin(MpDb *p) {
  int rc = sqlite3_exec(p->db, "BEGIN IMMEDIATE", 0, 0, 0);
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_WARN, "database: begin: %s", sqlite3_errmsg(p->db));
  }
  return rc;
}

/*
** Commits what mpDbBatchBegin() opened, if it is still open (an I/O error
** may have rolled it back already). Errors are logged: the reports are
** then lost and recovery re-sends those messages.
*/
void mpDbBatchEnd(MpDb *p) {
  if (sqlite3_get_autocommit(p->db)) return;
  if (sqlite3_exec(p->db, "COMMIT", 0, 0, 0) != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "database: commit of reports failed: %s",
             sqlite3_errmsg(p->db));
    sqlite3_exec(p->db, "ROLLBACK", 0, 0, 0);
  }
}

/*
** Finalizes every statement and closes the connection. Returns the
** result of sqlite3_close(), which must be SQLITE_OK; p may be NULL.
*/
int mpDbClose(MpDb *p) {
  int rc = SQLITE_OK;
  if (p == 0) return SQLITE_OK;
  for (int i = 0; i < MP_STMT_COUNT; i++)
    sqlite3_finalize(p->aStmt[i]);
  mpRunBufFree(&p->json);
  if (p->db) {
    rc = sqlite3_close(p->db);
    if (rc != SQLITE_OK) {
      mpRunLog(MP_LOG_ERROR, "database: close failed: %s", sqlite3_errstr(rc));
    }
  }
  free(p);
  return rc;
}
