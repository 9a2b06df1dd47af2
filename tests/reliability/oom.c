/*
** SPDX-License-Identifier: MIT
**
** oom.c: out of memory at every allocation of an mp workload.
**
**   mp-rel-oom                  short sweep (ctest)
**   mp-rel-oom --long           every n
**   mp-rel-oom --at 1234 --persist 1 -v      one case
**
** Options: --long, --stride N (try every Nth n), --persist 0|1 (default
** both), --at N, --dir D, -v (print each error that is not SQLITE_NOMEM).
** The short sweep tries about OOM_SHORT_POINTS values of n per mode,
** spread over the workload (so some fall in mp_init's migration), plus
** the first and last OOM_SHORT_EDGE.
**
** HOW IT WORKS
**
** Before sqlite3_initialize(), SQLITE_CONFIG_GETMALLOC fetches SQLite's
** allocator and SQLITE_CONFIG_MALLOC installs a wrapper around it that
** counts xMalloc and xRealloc calls and fails the n-th (transient) or the
** n-th and every later one (persistent): the technique of SQLite's own
** fault simulation (src/test_malloc.c), written anew. For n = 1, 2, ...
** until a run never reaches the n-th allocation, a run:
**
**   1. opens a watching connection with faults off, notes
**      sqlite3_memory_used() as the baseline, and arms the fault;
**   2. opens the database and registers mp (both may fail), then runs
**      steps that call every mp function: mp_init with a config, mp_config
**      get and set, mp_enqueue with every option, a long text that is
**      split (HTML), mp_format, mp_enqueue_event, mp_split, mp_claim,
**      mp_mark_sent, mp_confirm, mp_mark_failed, mp_report (200, 429, 500,
**      -1), mp_release, mp_confirm_batch, mp_report_batch,
**      mp_enqueue_batch, mp_requeue, mp_recover, mp_next_due, mp_verify,
**      mp_stats, mp_cleanup, mp_tick (with a scheduled, encrypted backup),
**      mp_backup, mp_version, mp_debug;
**   3. after each step, with faults paused: the step either succeeded or
**      failed with SQLITE_NOMEM (any other error is listed, see below);
**      the connection is not left inside a transaction; a failed step
**      left the committed state exactly as it was (the watcher's digest);
**      the invariants of rel_common.c hold;
**   4. closes the connection, which must succeed (no statement left
**      open), disarms, closes the watcher, and checks that
**      sqlite3_memory_used() is back at the baseline: no leak;
**   5. reopens the database without faults: integrity_check, mp_verify()
**      and the invariants hold.
**
** Errors other than SQLITE_NOMEM are expected where an earlier step
** failed (no schema after a failed mp_init, an unknown id when a claim
** failed...): each case lists their distinct messages ("note" lines) and
** fails only on messages that blame the caller's input (the input is
** valid, so such a message means an allocation failure was misreported).
** Each case runs in a child process, so that a crash fails that case and
** the sweep goes on.
**
** OpenSSL allocates through its own allocator, outside SQLite's; those
** allocations are not failed here. Under ASan, its leak checker covers
** them.
*/
#define _POSIX_C_SOURCE 200809L
#include "rel_common.h"

#include <mp.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fault and SQLite's own allocator. */
static struct {
  sqlite3_mem_methods orig; /* SQLite's allocator */
  int bArmed;               /* Faults on */
  int iAt;                  /* The allocation that fails; 0: none */
  int bPersist;             /* Later ones fail too */
  int nCount;               /* Allocations since armed */
  int nFired;               /* Allocations failed */
} gOom;

static int bVerbose = 0;

/* The short sweep (ctest): about this many values of n per mode, spread
** over the workload, plus the first and last few. */
#define OOM_SHORT_POINTS 10
#define OOM_SHORT_EDGE   2

/*
** The short sweep also fails each of the last OOM_SHORT_TAIL allocations of
** these steps, which come after their commit: each call once failed there
** though its change was committed (RELIABILITY.md, section 4).
*/
#define OOM_SHORT_TAIL 3
static const char *const azOomTailStep[] = {
  "SELECT mp_config('max_retry_count'",
  "SELECT lease_token FROM mp_claim(",
};
static int aOomTailEnd[8]; /* Last allocation of each, in a run without
                           ** faults */

/*
** Returns 1 when this allocation must fail.
*/
static int oomFail(void) {
  if (!gOom.bArmed) return 0;
  gOom.nCount++;
  if (gOom.iAt == 0) return 0;
  if (gOom.nCount == gOom.iAt || (gOom.bPersist && gOom.nCount > gOom.iAt)) {
    gOom.nFired++;
    return 1;
  }
  return 0;
}

static void *oomMalloc(int n) {
  return oomFail() ? 0 : gOom.orig.xMalloc(n);
}

static void *oomRealloc(void *p, int n) {
  return oomFail() ? 0 : gOom.orig.xRealloc(p, n);
}

static void oomFree(void *p) {
  gOom.orig.xFree(p);
}

static int oomSize(void *p) {
  return gOom.orig.xSize(p);
}

static int oomRoundup(int n) {
  return gOom.orig.xRoundup(n);
}

static int oomInit(void *pAppData) {
  return gOom.orig.xInit(pAppData);
}

static void oomShutdown(void *pAppData) {
  gOom.orig.xShutdown(pAppData);
}

/* Distinct error messages that were not SQLITE_NOMEM. */
#define OOM_MAX_NOTES 64
static char azNote[OOM_MAX_NOTES][200];
static int anNote[OOM_MAX_NOTES];
static int nNote = 0;

/*
** Remembers an error message that was not SQLITE_NOMEM.
*/
static void oomNote(const char *zMsg) {
  int i;
  for (i = 0; i < nNote; i++) {
    if (strncmp(azNote[i], zMsg, sizeof(azNote[i]) - 1) == 0) break;
  }
  if (i == nNote) {
    if (nNote == OOM_MAX_NOTES) return;
    snprintf(azNote[nNote++], sizeof(azNote[0]), "%s", zMsg);
  }
  anNote[i]++;
}

/*
** Returns 1 if zMsg blames the caller's input (the workload's input is
** valid, so an allocation failure was reported as something else).
*/
static int oomBlamesInput(const char *zMsg) {
  static const char *const azBad[] = {
    "must be",      "not valid",     "unknown option",  "invalid",
    "too long",     "is not a JSON", "expected",        "malformed",
    "not an mp id", "unknown key",   "no such message",
  };
  for (size_t i = 0; i < sizeof(azBad) / sizeof(*azBad); i++) {
    if (strstr(zMsg, azBad[i])) return 1;
  }
  return 0;
}

/* One run. */
typedef struct Run Run;
struct Run {
  sqlite3 *db;      /* The connection under test */
  sqlite3 *pChk;    /* The watcher, used with faults paused */
  int nStep;        /* Steps run */
  int nFailed;      /* Steps that failed */
  RelVerdict v;     /* The first failed check */
  const char *zDir; /* Scratch directory for backups */
  u64 hChecked;     /* Digest of the state the invariants last held on */
};

/*
** Runs one step: zSql on the connection under test, collecting up to nOut
** values of its first column (zOut: nOut strings of 80 bytes), then the
** checks of HOW IT WORKS step 3. Returns the step's result code.
*/
static int runStep(Run *r, const char *zSql, char (*zOut)[80], int nOut,
                   int iCol) {
  sqlite3_stmt *pStmt = 0;
  u64 hBefore = 0, hAfter = 0;
  char zWhy[600];
  int rc, nRow = 0, bArmed = gOom.bArmed;
  if (r->db == 0) return SQLITE_MISUSE;
  r->nStep++;
  gOom.bArmed = 0;
  relDigest(r->pChk, &hBefore);
  gOom.bArmed = bArmed;
  for (int i = 0; i < nOut; i++)
    zOut[i][0] = 0;
  rc = sqlite3_prepare_v2(r->db, zSql, -1, &pStmt, 0);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
      /* Reading the result as text is the caller's allocation (an integer
      ** is converted), made once the call has returned: not faulted. */
      const char *z;
      gOom.bArmed = 0;
      z = (const char *)sqlite3_column_text(pStmt, iCol);
      if (nRow < nOut && z) snprintf(zOut[nRow++], 80, "%s", z);
      gOom.bArmed = bArmed;
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    sqlite3_finalize(pStmt);
  }
  if (rc != SQLITE_OK) rc = sqlite3_errcode(r->db);
  gOom.bArmed = 0;
  for (size_t i = 0;
       gOom.iAt == 0 && i < sizeof(azOomTailStep) / sizeof(azOomTailStep[0]);
       i++) {
    if (strncmp(zSql, azOomTailStep[i], strlen(azOomTailStep[i])) == 0) {
      aOomTailEnd[i] = gOom.nCount;
    }
  }
  if (rc != SQLITE_OK) {
    const char *zMsg = sqlite3_errmsg(r->db);
    r->nFailed++;
    if (bVerbose && rc == SQLITE_NOMEM) {
      printf("  nomem: %.60s: autocommit %d\n", zSql,
             sqlite3_get_autocommit(r->db));
    }
    if (rc != SQLITE_NOMEM) {
      char zNote[200];
      snprintf(zNote, sizeof(zNote), "[%d] %s", rc, zMsg);
      oomNote(zNote);
      if (bVerbose) printf("  note: %.60s: %s\n", zSql, zNote);
      if (oomBlamesInput(zMsg)) {
        relBad(&r->v, "step %d (%.60s) failed with %d: %s", r->nStep, zSql, rc,
               zMsg);
      }
    }
    if (relDigest(r->pChk, &hAfter) == SQLITE_OK && hAfter != hBefore &&
        strstr(zSql, "mp_cleanup") == 0 && strstr(zSql, "mp_tick") == 0) {
      relBad(&r->v, "step %d (%.60s) failed with %d but changed the state",
             r->nStep, zSql, rc);
    }
  }
  if (!sqlite3_get_autocommit(r->db)) {
    if (rc == SQLITE_NOMEM && strncmp(zSql, "SELECT mp_init(", 15) == 0) {
      /* An allocation that fails during the migration leaves mp_init
      ** unable to end its transaction (mpInitFunc in ext/mp_schema.c says
      ** why). Its retry, with memory back, must end it first. */
      oomNote("mp_init failed in its migration and left its transaction "
              "open; the retry ended it");
      if (relExec(r->db, zSql) != SQLITE_OK || !sqlite3_get_autocommit(r->db)) {
        relBad(&r->v,
               "step %d (%.60s) left the connection inside a transaction, "
               "and its retry did not end it: %s",
               r->nStep, zSql, sqlite3_errmsg(r->db));
      }
    } else {
      relBad(&r->v, "step %d (%.60s) left the connection inside a transaction",
             r->nStep, zSql);
    }
    if (!sqlite3_get_autocommit(r->db)) relExec(r->db, "ROLLBACK");
  }
  if (relInvariantsIfChanged(r->pChk, &r->hChecked, zWhy, sizeof(zWhy)) !=
      REL_OK) {
    relBad(&r->v, "after step %d (%.60s): %s", r->nStep, zSql, zWhy);
  }
  gOom.bArmed = bArmed;
  return rc;
}

/*
** The steps. See HOW IT WORKS.
*/
static void runWorkload(Run *r) {
  char az[8][80];
  char zSql[2048];
  char *zLong;
  sqlite3_str *pStr;
  snprintf(zSql, sizeof(zSql),
           "SELECT mp_init('{\"pace_chat_ms\":0,\"pace_group_per_minute\":0,"
           "\"pace_global_per_second\":0,\"max_retry_count\":3,"
           "\"retention_days\":1,\"backup_path\":\"%s\",\"backup_keep\":1,"
           "\"backup_key\":\"env:MP_REL_OOM_KEY\"}')",
           r->zDir);
  /* NORMAL: no fsync per commit; durability is not what this tests. */
  runStep(r, "PRAGMA journal_mode = WAL", az, 1, 0);
  runStep(r, "PRAGMA synchronous = NORMAL", az, 1, 0);
  runStep(r, "SELECT mp_clock_set(1700000000000)", az, 1, 0);
  runStep(r, zSql, az, 1, 0);
  runStep(r, "SELECT mp_config('max_retry_count', 4)", az, 1, 0);
  runStep(r, "SELECT mp_config('lease_seconds')", az, 1, 0);
  runStep(r,
          "SELECT mp_enqueue(1, '<b>hello</b>', '{\"type\":\"x\"}', "
          "'{\"priority\":\"critical\",\"delay_ms\":0,\"dedup_key\":\"a\","
          "\"parse_mode\":\"HTML\"}')",
          az, 1, 0);
  runStep(r, "SELECT mp_enqueue(1, 'again', NULL, '{\"dedup_key\":\"a\"}')", az,
          1, 0);
  {
    /* The test's own inputs are built with faults paused. */
    int bArmed = gOom.bArmed;
    char *z1, *z2;
    gOom.bArmed = 0;
    pStr = sqlite3_str_new(0);
    for (int i = 0; sqlite3_str_length(pStr) < 9000; i++) {
      sqlite3_str_appendf(pStr, "<b>part %d</b> some words &amp; more ", i);
    }
    zLong = sqlite3_str_finish(pStr);
    z1 = sqlite3_mprintf(
        "SELECT mp_enqueue(2, %Q, NULL, '{\"parse_mode\":\"HTML\"}')", zLong);
    z2 = sqlite3_mprintf("SELECT mp_split(%Q, 'HTML', 500)", zLong);
    sqlite3_free(zLong);
    gOom.bArmed = bArmed;
    runStep(r, z1, az, 1, 0);
    runStep(r, z2, az, 1, 0);
    gOom.bArmed = 0;
    sqlite3_free(z1);
    sqlite3_free(z2);
    gOom.bArmed = bArmed;
  }
  runStep(r,
          "SELECT mp_format('{\"type\":\"task_completed\",\"title\":\"T_1\","
          "\"description\":\"<done> *now*\",\"source\":\"ci\","
          "\"task_id\":\"t-1\",\"data\":{\"k\":[1,2,{\"x\":null}]}}', "
          "'MarkdownV2')",
          az, 1, 0);
  runStep(r,
          "SELECT mp_enqueue_event('{\"type\":\"approval_request\","
          "\"title\":\"Deploy?\",\"description\":\"prod\",\"source\":\"cd\"}', "
          "3)",
          az, 1, 0);
  for (int c = 4; c <= 9; c++) {
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_enqueue(%d, 'message for chat %d', NULL, "
             "'{\"priority\":%d}')",
             c, c, c % 4);
    runStep(r, zSql, az, 1, 0);
  }
  runStep(r, "SELECT lease_token FROM mp_claim(8, 30, 'w1')", az, 8, 0);
  {
    char azTok[8][80];
    memcpy(azTok, az, sizeof(azTok));
    /* A failed claim gave no tokens: replace them by an unknown id, whose
    ** calls fail with a clean error and change nothing. */
    for (int i = 0; i < 8; i++) {
      if (azTok[i][0] == 0) {
        snprintf(azTok[i], sizeof(azTok[i]),
                 "00000000-0000-7000-8000-000000000999");
      }
    }
    snprintf(zSql, sizeof(zSql), "SELECT mp_confirm('%s', 77, 'telegram')",
             azTok[0]);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql), "SELECT mp_mark_failed('%s', 'HTTP 502')",
             azTok[1]);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_report('%s', 200, '{\"ok\":true,\"result\":"
             "{\"message_id\":78}}', 'telegram', 15)",
             azTok[2]);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_report('%s', 429, '{\"ok\":false,\"error_code\":429,"
             "\"parameters\":{\"retry_after\":3}}')",
             azTok[3]);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_report('%s', -1, 'timed out', 'telegram', 30000)",
             azTok[4]);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql), "SELECT mp_release('%s')", azTok[5]);
    runStep(r, zSql, az, 1, 0);
    /* The batch functions: one element applies, one is refused (the
    ** token just confirmed is no longer held), in one transaction. */
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_confirm_batch('[{\"id\":\"%s\","
             "\"telegram_message_id\":79},{\"id\":\"%s\","
             "\"telegram_message_id\":80}]')",
             azTok[6], azTok[0]);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_report_batch('[{\"id\":\"%s\",\"status\":200,"
             "\"body\":{\"ok\":true,\"result\":{\"message_id\":81}},"
             "\"duration_ms\":7},{\"id\":\"%s\",\"status\":500,"
             "\"body\":\"down\"}]')",
             azTok[7], azTok[0]);
    runStep(r, zSql, az, 1, 0);
  }
  runStep(r,
          "SELECT mp_enqueue_batch('[{\"chat_id\":10,\"text\":\"batch "
          "a\"},{\"chat_id\":11,\"text\":\"batch b\",\"priority\":"
          "\"high\",\"event\":{\"type\":\"x\"}}]')",
          az, 1, 0);
  runStep(r,
          "SELECT id FROM messages WHERE status = 'pending' ORDER BY seq "
          "DESC LIMIT 1",
          az, 1, 0);
  if (az[0][0]) {
    char zId[80];
    memcpy(zId, az[0], sizeof(zId));
    snprintf(zSql, sizeof(zSql), "SELECT mp_mark_sent('%s', 20)", zId);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_report('%s', 500, '{\"ok\":false,\"error_code\":500,"
             "\"description\":\"Internal\"}', 'webhook', 5)",
             zId);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql),
             "SELECT mp_mark_failed('%s', 'chat not found', 0)", zId);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql), "SELECT mp_requeue('%s')", zId);
    runStep(r, zSql, az, 1, 0);
    snprintf(zSql, sizeof(zSql), "SELECT mp_verify('%s')", zId);
    runStep(r, zSql, az, 1, 0);
  }
  runStep(r, "SELECT mp_clock_advance(100000)", az, 1, 0);
  runStep(r, "SELECT mp_recover()", az, 1, 0);
  runStep(r, "SELECT mp_next_due()", az, 1, 0);
  runStep(r, "SELECT mp_verify()", az, 1, 0);
  runStep(r, "SELECT name, value FROM mp_stats", az, 8, 1);
  runStep(r, "SELECT mp_clock_advance(3 * 86400000)", az, 1, 0);
  runStep(r, "SELECT mp_cleanup(1)", az, 1, 0);
  runStep(r, "SELECT mp_tick()", az, 1, 0);
  snprintf(zSql, sizeof(zSql), "SELECT mp_backup('%s/manual.mpbk', '%s')",
           r->zDir,
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  runStep(r, zSql, az, 1, 0);
  runStep(r, "SELECT mp_version(), mp_debug()", az, 1, 0);
}

/*
** Returns 1 if allocation n is one of the last OOM_SHORT_TAIL of a step of
** azOomTailStep.
*/
static int oomIsTail(int n) {
  for (size_t i = 0; i < sizeof(azOomTailStep) / sizeof(azOomTailStep[0]);
       i++) {
    if (n <= aOomTailEnd[i] && n > aOomTailEnd[i] - OOM_SHORT_TAIL) return 1;
  }
  return 0;
}

/*
** Removes the backups a run left in zDir.
*/
static void runCleanDir(const char *zDir) {
  DIR *pDir = opendir(zDir);
  struct dirent *pEnt;
  if (pDir == 0) return;
  while ((pEnt = readdir(pDir)) != 0) {
    if (strncmp(pEnt->d_name, "mp-backup-", 10) == 0 ||
        strncmp(pEnt->d_name, "manual.mpbk", 11) == 0) {
      char zPath[8192];
      snprintf(zPath, sizeof(zPath), "%s/%s", zDir, pEnt->d_name);
      unlink(zPath);
    }
  }
  closedir(pDir);
}

/*
** With REL_TRACE set in the environment: prints each statement the
** connection under test starts (nested ones too), with the allocation
** count and the faults so far.
*/
static int runTrace(unsigned eType, void *pCtx, void *pStmt, void *pX) {
  int bArmed = gOom.bArmed;
  (void)pCtx;
  (void)pX;
  gOom.bArmed = 0;
  if (eType == SQLITE_TRACE_STMT) {
    char *zSql = sqlite3_expanded_sql(pStmt);
    printf("  trace [alloc %d, faults %d]: %.100s\n", gOom.nCount, gOom.nFired,
           zSql ? zSql : "?");
    sqlite3_free(zSql);
  }
  gOom.bArmed = bArmed;
  return 0;
}

/*
** Runs the workload with allocation n failing (0: none). Returns 1 if the
** fault fired. Counts a failed check in *pnFail.
*/
static int runCase(const char *zDb, const char *zDir, int n, int bPersist,
                   int *pnFail, int *pnAlloc) {
  Run r;
  char *zErr = 0;
  sqlite3_int64 nBase;
  int rc, bFired;
  memset(&r, 0, sizeof(r));
  r.zDir = zDir;
  relRemoveDb(zDb);
  runCleanDir(zDir);
  alarm(120);
  nBase = sqlite3_memory_used();
  r.pChk = relOpen(zDb, 0);
  if (r.pChk == 0) exit(2);
  gOom.iAt = n;
  gOom.bPersist = bPersist;
  gOom.nCount = gOom.nFired = 0;
  gOom.bArmed = 1;
  rc = sqlite3_open_v2(zDb, &r.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                       0);
  if (rc == SQLITE_OK) rc = sqlite3_mp_init(r.db, &zErr, 0);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(r.db, 2000);
    if (getenv("REL_TRACE")) {
      sqlite3_trace_v2(r.db, SQLITE_TRACE_STMT, runTrace, 0);
    }
    runWorkload(&r);
  } else {
    gOom.bArmed = 0;
    if (rc != SQLITE_NOMEM) {
      char zNote[200];
      snprintf(zNote, sizeof(zNote), "open/register [%d] %s", rc,
               zErr ? zErr : sqlite3_errstr(rc));
      oomNote(zNote);
    }
    sqlite3_free(zErr);
    gOom.bArmed = 1;
  }
  bFired = gOom.nFired > 0;
  *pnAlloc = gOom.nCount;
  gOom.bArmed = 0;
  if (r.db && sqlite3_close(r.db) != SQLITE_OK) {
    relBad(&r.v, "sqlite3_close: %s (a statement left open)",
           sqlite3_errmsg(r.db));
    sqlite3_close_v2(r.db);
  }
  r.db = 0;
  sqlite3_close(r.pChk);
  if (sqlite3_memory_used() != nBase) {
    relBad(&r.v, "leak: %lld bytes still allocated after close",
           (long long)(sqlite3_memory_used() - nBase));
  }
  relCheckReopened(zDb, 0, &r.v);
  alarm(0);
  if (r.v.bBad) {
    (*pnFail)++;
    printf("FAIL n=%d %s: %s\n", n, bPersist ? "persistent" : "transient",
           r.v.zWhy);
  } else if (bVerbose) {
    printf("ok n=%d %s: %d steps, %d failed\n", n,
           bPersist ? "persistent" : "transient", r.nStep, r.nFailed);
  }
  return bFired;
}

int main(int argc, char **argv) {
  sqlite3_mem_methods m;
  RelArgs a = { .zDir = "/tmp", .mPersist = 3 };
  int nFail = 0, nRun = 0;
  int nAlloc = 0, nWarm = 0;
  char zDb[4096], zBackupDir[4096];
  setvbuf(stdout, 0, _IOLBF, 0);
  for (int i = 1; i < argc; i++) {
    if (!relArg(&a, argc, argv, &i, REL_ARG_PERSIST)) {
      relUsage(argv[0], "[--long] [--stride N] [--persist 0|1] [--at N] "
                        "[--dir D] [-v]");
    }
  }
  bVerbose = a.bVerbose;
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &gOom.orig) != SQLITE_OK) {
    fprintf(stderr, "SQLITE_CONFIG_GETMALLOC failed\n");
    return 2;
  }
  m = gOom.orig;
  m.xMalloc = oomMalloc;
  m.xFree = oomFree;
  m.xRealloc = oomRealloc;
  m.xSize = oomSize;
  m.xRoundup = oomRoundup;
  m.xInit = oomInit;
  m.xShutdown = oomShutdown;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK ||
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1) != SQLITE_OK ||
      sqlite3_initialize() != SQLITE_OK) {
    fprintf(stderr, "cannot install the allocator\n");
    return 2;
  }
  setenv("MP_REL_OOM_KEY",
         "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", 1);
  snprintf(zDb, sizeof(zDb), "%s/mp-rel-oom-%d.db", a.zDir, (int)getpid());
  snprintf(zBackupDir, sizeof(zBackupDir), "%s/mp-rel-oom-%d.d", a.zDir,
           (int)getpid());
  if (mkdir(zBackupDir, 0700) != 0 && errno != EEXIST) {
    perror(zBackupDir);
    return 2;
  }
  /* A run without faults warms SQLite's lazy globals; a second counts. */
  runCase(zDb, zBackupDir, 0, 0, &nWarm, &nAlloc);
  runCase(zDb, zBackupDir, 0, 0, &nFail, &nAlloc);
  if (a.nStride == 0) a.nStride = nAlloc / OOM_SHORT_POINTS;
  for (int bPersist = 0; bPersist <= 1; bPersist++) {
    int nCase = 0, nFail0 = nFail;
    if (!(a.mPersist & (1 << bPersist))) continue;
    for (int n = a.iOnly ? a.iOnly : 1;; n++) {
      /* Each case in a child: a crash fails the case, not the sweep. */
      int st = 0, bFired = 0;
      pid_t pid;
      if (!a.iOnly &&
          !relPick(n, nAlloc, a.nStride, OOM_SHORT_EDGE,
                   bPersist * a.nStride / 2) &&
          !(a.nStride > 1 && oomIsTail(n))) {
        continue;
      }
      pid = fork();
      if (pid < 0) {
        perror("fork");
        return 2;
      }
      if (pid == 0) {
        int nThis = 0, nChildFail = 0;
        bFired = runCase(zDb, zBackupDir, n, bPersist, &nChildFail, &nThis);
        for (int i = 0; i < nNote; i++) {
          printf("note %d\t%s\n", anNote[i], azNote[i]);
        }
        fflush(stdout);
        /* exit(), not _exit(): under ASan, LeakSanitizer checks the child,
        ** OpenSSL's allocations included. */
        exit((nChildFail ? 1 : 0) | (bFired ? 2 : 0));
      }
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      if (WIFEXITED(st) && WEXITSTATUS(st) <= 3) {
        bFired = (WEXITSTATUS(st) & 2) != 0;
        nFail += WEXITSTATUS(st) & 1;
      } else {
        printf("FAIL n=%d %s: the process died (%s %d)\n", n,
               bPersist ? "persistent" : "transient",
               WIFSIGNALED(st) ? "signal" : "exit status",
               WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        nFail++;
        bFired = 1;
      }
      nCase++;
      nRun++;
      if (!bFired || a.iOnly) break;
    }
    printf("%-10s: %d allocations in the workload, %d values of n tried, "
           "%d failed\n",
           bPersist ? "persistent" : "transient", nAlloc, nCase,
           nFail - nFail0);
    fflush(stdout);
  }
  relRemoveDb(zDb);
  runCleanDir(zBackupDir);
  rmdir(zBackupDir);
  printf("%d passed, %d failed\n", nRun - nFail, nFail);
  return nFail ? 1 : 0;
}
