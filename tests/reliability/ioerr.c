/*
** SPDX-License-Identifier: MIT
**
** ioerr.c: I/O errors at every read, write, sync and truncate of an mp
** workload.
**
**   mp-rel-ioerr                 short sweep (ctest)
**   mp-rel-ioerr --long          every n, longer workload
**   mp-rel-ioerr --op sync --persist 0 --at 12 -v     one case
**
** Options: --long, --rounds N, --stride N (try every Nth n), --op
** read|write|full|sync|truncate|all, --persist 0|1 (default both), --at N
** (only n = N), --dir D, -v. The short sweep tries, for each fault and
** mode, about IOERR_SHORT_POINTS values of n spread over the calls, plus
** the first and the last.
**
** HOW IT WORKS
**
** For each fault (xRead failing with SQLITE_IOERR_READ, xWrite with
** SQLITE_IOERR_WRITE or SQLITE_FULL, xSync with SQLITE_IOERR_FSYNC,
** xTruncate with SQLITE_IOERR_TRUNCATE), transient (only the n-th call
** fails) and persistent (the n-th and every later call fail), and for
** n = 1, 2, ... until a run completes without reaching the n-th call, a
** fresh WAL database (synchronous=FULL, journal_size_limit=0 so that WAL
** resets truncate, a small wal_autocheckpoint) runs the workload through
** the faulting VFS (ioerr_vfs.c): mp_init, enqueues (single, batched in
** BEGIN IMMEDIATE, long texts that are split, events), claims, confirm,
** mark_failed, report (200, 500, 429, 400), release, recover, requeue,
** cleanup (whose incremental vacuum truncates the database), tick, config.
**
** A second connection, through the normal VFS, watches the committed
** state. After every step (one call, or one batch transaction):
**
**   - the call returned (a crash or a hang fails the test: ASan, alarm);
**   - the connection is not left inside a transaction (autocommit is on);
**   - when the call failed, the committed state is exactly what it was
**     before the call: nothing half-applied;
**   - when it succeeded, its effect is committed (the enqueued ids are
**     there with their checksums, the confirmed message is confirmed, the
**     claimed ones are sent under the returned lease tokens);
**   - the invariants of rel_common.c hold: no sent row without a lease,
**     no lease on another state, no telegram confirmation without
**     telegram_message_id, a checksum on every row, mp_stats equal to
**     the real counts, the attempt log matching the counters.
**
** At the end the faulting connection is closed (it must close: no
** statement left open), the database is reopened with the normal VFS,
** and integrity_check, mp_verify() and the invariants must hold.
**
** Errors other than the injected class are listed (with -v, each one;
** always, a count): SQLite itself reports some I/O errors as
** SQLITE_CORRUPT-free "disk I/O error" and some as the step's own error.
*/
#define _POSIX_C_SOURCE 200809L
#include "ioerr_vfs.h"
#include "rel_common.h"

#include <mp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Kinds of step, for the checks of a successful step. */
#define STEP_PLAIN   0 /* No effect checked beyond the invariants */
#define STEP_ENQUEUE 1 /* Returns an id that must be committed */
#define STEP_CONFIRM 2 /* Confirms zArg */
#define STEP_CLAIM   3 /* Returns (id, lease_token) rows */
#define STEP_MULTI   4 /* Commits in several transactions (see below) */

/* One run of the workload. */
typedef struct Run Run;
struct Run {
  sqlite3 *db;       /* The connection under test (faulting VFS) */
  sqlite3 *pChk;     /* The watching connection (normal VFS) */
  int nStep;         /* Steps run */
  int nFailed;       /* Steps that returned an error */
  RelVerdict v;      /* The first failed check */
  char azTok[8][64]; /* Lease tokens of the last claim */
  int nTok;          /* Entries in azTok */
  int nOther;        /* Errors not of the injected class */
  int eOp;           /* The armed fault, for the report */
  int iErrWant;      /* The injected code */
  u64 hChecked;      /* Digest of the state the invariants last held on */
};

static int bVerbose = 0;
static int nLastCount = 0; /* Calls of the armed kind in the last run */

/* The short sweep (ctest): about this many values of n per fault and
** mode, spread over the workload, plus the first and the last. */
#define IOERR_SHORT_POINTS 3
#define IOERR_SHORT_EDGE   1

/*
** Runs zSql on the connection under test. Stores the first column of the
** first row in zRes, and for claims the lease tokens in r->azTok. Returns
** the extended result code.
*/
static int runSql(Run *r, const char *zSql, int eKind, char *zRes, int nRes) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(r->db, zSql, -1, &pStmt, 0);
  zRes[0] = 0;
  if (eKind == STEP_CLAIM) r->nTok = 0;
  if (rc != SQLITE_OK) return sqlite3_extended_errcode(r->db);
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    if (zRes[0] == 0 && sqlite3_column_text(pStmt, 0)) {
      snprintf(zRes, (size_t)nRes, "%s",
               (const char *)sqlite3_column_text(pStmt, 0));
    }
    if (eKind == STEP_CLAIM && r->nTok < 8 && sqlite3_column_text(pStmt, 1)) {
      snprintf(r->azTok[r->nTok++], sizeof(r->azTok[0]), "%s",
               (const char *)sqlite3_column_text(pStmt, 1));
    }
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK) rc = sqlite3_extended_errcode(r->db);
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Notes an error of a failed step: one of the injected class is
** expected; any other is counted and, with -v, printed.
*/
static void runNoteError(Run *r, int rc, const char *zLabel) {
  int bExpected = (r->iErrWant == SQLITE_FULL) ? (rc & 0xff) == SQLITE_FULL
                                               : (rc & 0xff) == SQLITE_IOERR;
  if (bExpected) return;
  /* After a failed mp_init, the other functions say there is no schema. */
  if (relHasSchema(r->pChk) == 0 && strstr(sqlite3_errmsg(r->db), "mp_init")) {
    return;
  }
  r->nOther++;
  if (bVerbose) {
    printf("  note: %s failed with %d (%s): %s\n", zLabel, rc,
           sqlite3_errstr(rc), sqlite3_errmsg(r->db));
  }
}

/*
** Checks the effect of a step that succeeded with result zRes.
*/
static void runCheckEffect(Run *r, int eKind, const char *zArg,
                           const char *zRes, const char *zLabel) {
  i64 n = -1;
  if (eKind == STEP_ENQUEUE) {
    n = relCount(r->pChk,
                 "SELECT count(*) FROM messages WHERE id = %Q "
                 "AND mp_verify(id) = 0",
                 zRes);
  } else if (eKind == STEP_CONFIRM) {
    n = relCount(r->pChk,
                 "SELECT count(*) FROM messages WHERE id = "
                 "substr(%Q, 1, 36) AND status = 'confirmed'",
                 zArg);
  } else if (eKind == STEP_CLAIM) {
    for (int i = 0; i < r->nTok; i++) {
      if (relCount(r->pChk,
                   "SELECT count(*) FROM messages WHERE id || ':' "
                   "|| lease_token = %Q AND status = 'sent'",
                   r->azTok[i]) != 1) {
        relBad(&r->v, "step %d (%s) returned claim %s, not committed", r->nStep,
               zLabel, r->azTok[i]);
      }
    }
    return;
  } else {
    return;
  }
  if (n != 1) {
    relBad(&r->v, "step %d (%s) succeeded but its effect is not committed",
           r->nStep, zLabel);
  }
}

/*
** Runs one step: zSql (or, when zSql is NULL, the batch in azBatch) and
** every check listed at the top of the file.
*/
static void runStep(Run *r, const char *zLabel, const char *zSql, int eKind,
                    const char *zArg, const char *const *azBatch, int nBatch) {
  char zRes[200], zWhy[600];
  u64 hBefore = 0, hAfter = 0;
  i64 nLiveBefore = -1;
  int rc = SQLITE_OK;
  r->nStep++;
  relInt(r->pChk,
         "SELECT count(*) FROM messages WHERE status IN ('pending', 'sent')",
         &nLiveBefore);
  if (relDigest(r->pChk, &hBefore) != SQLITE_OK) {
    relBad(&r->v, "watcher cannot read before step %d: %s", r->nStep,
           sqlite3_errmsg(r->pChk));
    return;
  }
  if (zSql) {
    rc = runSql(r, zSql, eKind, zRes, sizeof(zRes));
    if (rc != SQLITE_OK) runNoteError(r, rc, zLabel);
    if (!sqlite3_get_autocommit(r->db)) {
      relBad(&r->v,
             "step %d (%s) returned %d (%s) and left the connection inside "
             "a transaction",
             r->nStep, zLabel, rc, sqlite3_errmsg(r->db));
      relExec(r->db, "ROLLBACK");
    }
  } else {
    char azId[8][200];
    rc = runSql(r, "BEGIN IMMEDIATE", STEP_PLAIN, zRes, sizeof(zRes));
    for (int i = 0; rc == SQLITE_OK && i < nBatch; i++) {
      rc = runSql(r, azBatch[i], STEP_PLAIN, azId[i], sizeof(azId[i]));
    }
    if (rc == SQLITE_OK) rc = runSql(r, "COMMIT", STEP_PLAIN, zRes, 1);
    if (rc != SQLITE_OK) {
      runNoteError(r, rc, zLabel);
      if (!sqlite3_get_autocommit(r->db)) relExec(r->db, "ROLLBACK");
    } else {
      for (int i = 0; i < nBatch; i++) {
        runCheckEffect(r, STEP_ENQUEUE, 0, azId[i], zLabel);
      }
    }
    if (!sqlite3_get_autocommit(r->db)) {
      relBad(&r->v, "step %d (%s): ROLLBACK left the transaction open",
             r->nStep, zLabel);
    }
    eKind = STEP_PLAIN;
  }
  if (rc != SQLITE_OK && eKind == STEP_MULTI) {
    /* mp_cleanup deletes in batches of its own, and mp_tick runs recovery
    ** and cleanup one after the other: a failure may follow committed
    ** batches. What must hold: no pending or sent message deleted. */
    i64 nLive = -1;
    r->nFailed++;
    relInt(r->pChk,
           "SELECT count(*) FROM messages WHERE status IN ('pending', 'sent')",
           &nLive);
    if (nLive != nLiveBefore) {
      relBad(&r->v,
             "step %d (%s) failed and deleted live messages (%lld -> %lld)",
             r->nStep, zLabel, nLiveBefore, nLive);
    }
  } else if (rc != SQLITE_OK) {
    r->nFailed++;
    if (relDigest(r->pChk, &hAfter) != SQLITE_OK) {
      relBad(&r->v, "watcher cannot read after step %d: %s", r->nStep,
             sqlite3_errmsg(r->pChk));
    } else if (hAfter != hBefore) {
      relBad(&r->v,
             "step %d (%s) failed with %d (%s) but changed the committed "
             "state",
             r->nStep, zLabel, rc, sqlite3_errstr(rc));
    }
  } else {
    runCheckEffect(r, eKind, zArg, zRes, zLabel);
  }
  if (relInvariantsIfChanged(r->pChk, &r->hChecked, zWhy, sizeof(zWhy)) !=
      REL_OK) {
    relBad(&r->v, "after step %d (%s, rc %d): %s", r->nStep, zLabel, rc, zWhy);
  }
}

/*
** Returns a text of about nByte bytes.
*/
static char *runText(int iRound, int j, int nByte) {
  return relFillText(nByte, " w%d", 89, "round %d text %d:", iRound, j);
}

/* What the workload does with a claimed message (see runWorkload). */
typedef struct RunOutcome RunOutcome;
struct RunOutcome {
  const char *zLabel;  /* The step's label */
  int eKind;           /* STEP_* */
  int iTgBase;         /* The message j claimed gets telegram id iTgBase + j */
  const char *zFormat; /* The SQL: %s is the lease token, a %d the id */
};

// clang-format off
static const RunOutcome aOutcome[7] = {
  { "mp_confirm", STEP_CONFIRM, 7000,
    "SELECT mp_confirm('%s', %d, 'telegram')" },
  { "mp_mark_failed", STEP_PLAIN, 0,
    "SELECT mp_mark_failed('%s', 'HTTP 502')" },
  { "mp_report 200", STEP_CONFIRM, 8000,
    "SELECT mp_report('%s', 200, '{\"ok\":true,\"result\":"
    "{\"message_id\":%d}}', 'telegram', 50)" },
  { "mp_report 500", STEP_PLAIN, 0,
    "SELECT mp_report('%s', 500, 'Internal Server Error')" },
  { "mp_report 429", STEP_PLAIN, 0,
    "SELECT mp_report('%s', 429, '{\"ok\":false,"
    "\"error_code\":429,\"parameters\":{\"retry_after\":2}}')" },
  { "mp_report 400", STEP_PLAIN, 0,
    "SELECT mp_report('%s', 400, '{\"ok\":false,"
    "\"error_code\":400,\"description\":\"Bad Request: "
    "chat not found\"}')" },
  { "mp_release", STEP_PLAIN, 0,
    "SELECT mp_release('%s')" },
};
// clang-format on

/*
** The workload. See HOW IT WORKS.
*/
static void runWorkload(Run *r, int nRound) {
  char zSql[1024], zRes[200];
  relExec(r->db, "SELECT mp_clock_set(1700000000000)");
  /* An application retries a failed mp_init once. */
  for (int i = 0; i < 2 && relHasSchema(r->pChk) != 1; i++) {
    runStep(r, "mp_init",
            "SELECT mp_init('{\"pace_chat_ms\":0,\"pace_group_per_minute\":0,"
            "\"pace_global_per_second\":0,\"max_retry_count\":2,"
            "\"retry_interval_seconds\":1,\"backoff_max_seconds\":2,"
            "\"retention_days\":1,\"cleanup_interval_hours\":1}')",
            STEP_PLAIN, 0, 0, 0);
  }
  for (int i = 0; i < nRound; i++) {
    char *zText = runText(i, 0, 150);
    char *azBatch[3];
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_enqueue(%d, '%s', NULL, "
             "'{\"priority\":\"high\",\"dedup_key\":\"d%d\"}')",
             100 + i % 3, zText, i);
    sqlite3_free(zText);
    runStep(r, "mp_enqueue", zSql, STEP_ENQUEUE, 0, 0, 0);
    for (int j = 0; j < 3; j++) {
      zText = runText(i, j + 1, (i % 2 == 0 && j == 1) ? 9000 : 200);
      azBatch[j] = sqlite3_mprintf("SELECT mp_enqueue(%d, %Q)",
                                   200 + (i + j) % 4, zText);
      sqlite3_free(zText);
    }
    runStep(r, "batch", 0, STEP_PLAIN, 0, (const char *const *)azBatch, 3);
    for (int j = 0; j < 3; j++)
      sqlite3_free(azBatch[j]);
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_enqueue_event('{\"type\":\"build_completed\","
             "\"title\":\"Build %d\",\"description\":\"all <green>\","
             "\"source\":\"ci\"}', 555)",
             i);
    runStep(r, "mp_enqueue_event", zSql, STEP_ENQUEUE, 0, 0, 0);
    runStep(r, "mp_claim", "SELECT id, lease_token FROM mp_claim(6, 30, 'w')",
            STEP_CLAIM, 0, 0, 0);
    {
      char azTok[8][64];
      int nTok = r->nTok;
      memcpy(azTok, r->azTok, sizeof(azTok));
      for (int j = 0; j < nTok; j++) {
        const RunOutcome *pOut = &aOutcome[(i + j) % 7];
        snprintf(zSql, sizeof(zSql), pOut->zFormat, azTok[j],
                 pOut->iTgBase + j);
        runStep(r, pOut->zLabel, zSql, pOut->eKind, azTok[j], 0, 0);
      }
    }
    relExec(r->db, "SELECT mp_clock_advance(40000)");
    runStep(r, "mp_recover", "SELECT mp_recover()", STEP_PLAIN, 0, 0, 0);
    relText(r->pChk,
            "SELECT id FROM messages WHERE status = 'failed' ORDER BY seq",
            zRes, sizeof(zRes));
    if (zRes[0]) {
      snprintf(zSql, sizeof(zSql), "SELECT mp_requeue('%s')", zRes);
      runStep(r, "mp_requeue", zSql, STEP_PLAIN, 0, 0, 0);
    }
    if (i % 2 == 1) {
      relExec(r->db, "SELECT mp_clock_advance(2 * 86400000)");
      runStep(r, "mp_cleanup", "SELECT mp_cleanup(1)", STEP_MULTI, 0, 0, 0);
      runStep(r, "mp_tick", "SELECT mp_tick()", STEP_MULTI, 0, 0, 0);
    }
    snprintf(zSql, sizeof(zSql), "SELECT mp_config('max_retry_count', %d)",
             2 + i % 2);
    runStep(r, "mp_config", zSql, STEP_PLAIN, 0, 0, 0);
  }
  runStep(r, "mp_verify", "SELECT mp_verify()", STEP_PLAIN, 0, 0, 0);
  runStep(r, "mp_stats", "SELECT sum(value) FROM mp_stats", STEP_PLAIN, 0, 0,
          0);
}

/*
** With REL_TRACE set in the environment: prints each statement the
** connection under test starts (nested ones too) and the faults so far.
*/
static int runTrace(unsigned eType, void *pCtx, void *pStmt, void *pX) {
  (void)pCtx;
  (void)pX;
  if (eType == SQLITE_TRACE_STMT) {
    char *zSql = sqlite3_expanded_sql(pStmt);
    printf("  trace [faults %d, syncs %d]: %.120s\n", ioerrVfsFired(),
           ioerrVfsCount(IOERR_OP_SYNC), zSql ? zSql : "?");
    sqlite3_free(zSql);
  }
  return 0;
}

/*
** Runs the workload once with the fault (eOp, n, iErr, bPersist) armed.
** Returns 1 if the fault fired, 0 if the workload never reached it.
** Counts failures in *pnFail and errors of other classes in *pnOther.
*/
static int runCase(const char *zDb, int nRound, int eOp, int n, int iErr,
                   int bPersist, int *pnFail, int *pnOther) {
  Run r;
  int bFired;
  memset(&r, 0, sizeof(r));
  r.eOp = eOp;
  r.iErrWant = iErr;
  relRemoveDb(zDb);
  alarm(120);
  r.db = relOpen(zDb, "mpioerr");
  if (r.db == 0) exit(2);
  if (relExec(r.db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                    "PRAGMA journal_size_limit = 0; PRAGMA temp_store = "
                    "MEMORY; PRAGMA wal_autocheckpoint = 16") != SQLITE_OK) {
    fprintf(stderr, "setup: %s\n", sqlite3_errmsg(r.db));
    exit(2);
  }
  r.pChk = relOpen(zDb, "unix");
  if (r.pChk == 0) exit(2);
  if (getenv("REL_TRACE")) {
    sqlite3_trace_v2(r.db, SQLITE_TRACE_STMT, runTrace, 0);
  }
  ioerrVfsArm(eOp, n, iErr, bPersist);
  runWorkload(&r, nRound);
  bFired = ioerrVfsFired() > 0;
  nLastCount = ioerrVfsCount(eOp);
  ioerrVfsArm(eOp, 0, 0, 0);
  if (sqlite3_close(r.db) != SQLITE_OK) {
    relBad(&r.v, "sqlite3_close of the faulted connection: %s",
           sqlite3_errmsg(r.db));
    sqlite3_close_v2(r.db);
  }
  sqlite3_close(r.pChk);
  relCheckReopened(zDb, "unix", &r.v);
  alarm(0);
  if (r.v.bBad) {
    (*pnFail)++;
    printf("FAIL %s fault %s n=%d %s: %s\n", ioerrOpName(eOp),
           sqlite3_errstr(iErr), n, bPersist ? "persistent" : "transient",
           r.v.zWhy);
  } else if (bVerbose) {
    printf("ok %s n=%d %s: %d steps, %d failed\n", ioerrOpName(eOp), n,
           bPersist ? "persistent" : "transient", r.nStep, r.nFailed);
  }
  *pnOther += r.nOther;
  return bFired;
}

int main(int argc, char **argv) {
  /* The faults: kind of call and the error it returns. */
  static const struct {
    const char *zName;
    int eOp;
    int rc;
  } aFault[] = {
    { "read", IOERR_OP_READ, SQLITE_IOERR_READ },
    { "write", IOERR_OP_WRITE, SQLITE_IOERR_WRITE },
    { "full", IOERR_OP_WRITE, SQLITE_FULL },
    { "sync", IOERR_OP_SYNC, SQLITE_IOERR_FSYNC },
    { "truncate", IOERR_OP_TRUNCATE, SQLITE_IOERR_TRUNCATE },
  };
  const int nFault = (int)(sizeof(aFault) / sizeof(aFault[0]));
  RelArgs a = { .zDir = "/tmp", .nRound = 3, .nLongRound = 5, .mPersist = 3 };
  const char *zOp = "all";
  int anTotal[IOERR_NOP]; /* Calls of each kind, once counted */
  int nFail = 0, nOther = 0, nRun = 0;
  char zDb[4096];
  setvbuf(stdout, 0, _IOLBF, 0);
  for (int i = 1; i < argc; i++) {
    if (relArg(&a, argc, argv, &i, REL_ARG_ROUNDS | REL_ARG_PERSIST)) continue;
    if (strcmp(argv[i], "--op") == 0 && i + 1 < argc) {
      zOp = argv[++i];
    } else {
      relUsage(argv[0], "[--long] [--rounds N] [--stride N] [--op "
                        "read|write|full|sync|truncate|all] [--persist 0|1] "
                        "[--at N] [--dir D] [-v]");
    }
  }
  bVerbose = a.bVerbose;
  snprintf(zDb, sizeof(zDb), "%s/mp-rel-ioerr-%d.db", a.zDir, (int)getpid());
  for (int i = 0; i < IOERR_NOP; i++)
    anTotal[i] = -1;
  if (ioerrVfsRegister("mpioerr") != SQLITE_OK) {
    fprintf(stderr, "cannot register the VFS\n");
    return 2;
  }
  for (int f = 0; f < nFault; f++) {
    if (strcmp(zOp, "all") != 0 && strcmp(zOp, aFault[f].zName) != 0) {
      continue;
    }
    for (int bPersist = 0; bPersist <= 1; bPersist++) {
      int nCase = 0, nFail0 = nFail, nTotal, nEvery, nEdge;
      if (!(a.mPersist & (1 << bPersist))) continue;
      /* How many calls of that kind the workload makes without faults. */
      if (anTotal[aFault[f].eOp] < 0) {
        int nDummyOther = 0;
        runCase(zDb, a.nRound, aFault[f].eOp, 0, aFault[f].rc, bPersist, &nFail,
                &nDummyOther);
        anTotal[aFault[f].eOp] = nLastCount;
      }
      nTotal = anTotal[aFault[f].eOp];
      nEvery = a.nStride ? a.nStride : nTotal / IOERR_SHORT_POINTS;
      nEdge = a.nStride ? 0 : IOERR_SHORT_EDGE;
      for (int n = a.iOnly ? a.iOnly : 1;; n++) {
        int bFired;
        if (!a.iOnly && !relPick(n, nTotal, nEvery, nEdge, f + bPersist)) {
          continue;
        }
        bFired = runCase(zDb, a.nRound, aFault[f].eOp, n, aFault[f].rc,
                         bPersist, &nFail, &nOther);
        nCase++;
        nRun++;
        if (!bFired || a.iOnly) break;
      }
      printf("%-8s %-10s %s: %d calls in the workload, %d values of n "
             "tried, %d failed\n",
             aFault[f].zName, bPersist ? "persistent" : "transient",
             sqlite3_errstr(aFault[f].rc), nTotal, nCase, nFail - nFail0);
      fflush(stdout);
    }
  }
  relRemoveDb(zDb);
  printf("%d runs; %d errors of another class than the injected one\n", nRun,
         nOther);
  printf("%d passed, %d failed\n", nRun - nFail, nFail);
  return nFail ? 1 : 0;
}
