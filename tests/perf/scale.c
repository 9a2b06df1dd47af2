/*
** SPDX-License-Identifier: MIT
**
** mp-scale: what mp's hot calls cost as the messages table grows.
**
** Usage:
**
**   mp-scale [--sizes 10000,1000000,10000000] [--pending-pct P]
**            [--layout tail|spread] [--reps R] [--recover N]
**            [--dir DIR] [--json FILE] [--keep] [--reuse] [--only LIST]
**            [--quick] [--verbose]
**
**   --sizes LIST   table sizes to measure (default 10k, 1M and 10M rows)
**   --pending-pct  percent of the rows that are pending (default 1); the
**                  rest are terminal: 95% confirmed, 5% failed
**   --layout L     where the pending rows are: tail (default; the newest
**                  rows, as in a live queue) or spread (every 100/P-th
**                  row, old and new alike)
**   --reps R       repetitions of each measurement (default 200; the
**                  claim runs R/4 times, the foreign-id lookup 3 times)
**   --recover N    mp_recover() takes back min(N, rows) expired leases
**                  (default 1,000,000; 0 skips it)
**   --dir DIR      where the databases go (default $TMPDIR or /tmp); each
**                  is deleted after its size is measured
**   --json FILE    also write the results as JSON
**   --keep         keep the databases (mp-scale-ROWS.db in --dir)
**   --reuse        measure the databases a --keep run left instead of
**                  loading them again (implies --keep; use --recover 0
**                  for the run that keeps them)
**   --only LIST    measure only these, comma-separated: stats, next_due,
**                  claim, enqueue, foreign, recover (default all)
**   --quick        sizes 10k and 100k, 20 repetitions (a smoke test)
**
** HOW IT WORKS
**
** For each size a fresh database gets mp's schema from mp_init() (before
** WAL, so incremental auto-vacuum is on, as mp-runner sets it up), then
** the rows from one INSERT ... SELECT over a recursive CTE per million,
** with journal_mode=OFF and the plain-insert trigger dropped for the load
** (the mp_stats counters are then set to what the trigger would have
** counted, and the trigger is put back from its own SQL). Rows are spread
** over 99,991 chats and carry mp-format ids, a 300-byte text, a small
** event and order_at 0 (due at once, as mp_enqueue() stores them); their
** checksum is a constant, so mp_verify() would flag the
** loaded rows (the benchmark never calls it).
**
** The database is then reopened as an application would: WAL,
** synchronous=NORMAL, temp_store=MEMORY, SQLite's default 2 MB page
** cache. Each measurement is timed in wall and process CPU time and
** reported as the median of its repetitions:
**
**   stats      SELECT * FROM mp_stats (every row)
**   next_due   SELECT mp_next_due()
**   claim      BEGIN IMMEDIATE; SELECT * FROM mp_claim(100); 100 x
**              mp_confirm(); COMMIT, timed as claim, confirms and the
**              whole transaction; 100 new messages replace them (untimed)
**              so the pending count stays put
**   enqueue    SELECT mp_enqueue(...) in autocommit mode
**   foreign    mp_confirm() of an id that is not in mp's format (an
**              error): mp looks it up in messages_foreign_id, the index
**              of the rows written with plain SQL
**   recover    min(--recover, rows) rows are made 'sent' with an expired
**              lease by plain SQL (untimed), then SELECT mp_recover() is
**              timed once, including its commit and the automatic
**              checkpoint that follows
**
** Output: one table row per size, with each cost and, for claim and
** stats, its ratio to the smallest size (the target: at most 1.5x). Exit
** status: 0 when the run completed, 1 on an error, 2 on a usage error.
**
** Instruction counts (steady on a shared machine): each measured call is
** a function of its own (scaleStatsOnce, scaleNextDueOnce, scaleClaimOnce,
** scaleEnqueueOnce), called R + 1 times (the claim R/4 + 1 times), so
**
**   mp-scale --sizes 1000000 --keep --recover 0       # load once
**   valgrind --tool=callgrind '--toggle-collect=scaleClaimOnce*'
**       mp-scale --sizes 1000000 --reuse --only claim --reps 40
**
** gives the instructions of 11 claim transactions (bench/profile.sh
** --scale does this for every size).
*/
#define _POSIX_C_SOURCE 200809L

#include <mp.h>
#include <sqlite3.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef sqlite3_int64 i64;

/* Keeps a measured call a function of its own, for callgrind. */
#if defined(__GNUC__)
# define SCALE_NOINLINE __attribute__((noinline))
#else
# define SCALE_NOINLINE
#endif

#define SCALE_SIZES_MAX  8        /* most --sizes */
#define SCALE_REPS_MAX   100000   /* largest --reps */
#define SCALE_CHATS      99991    /* chats (a prime: ids spread evenly) */
#define SCALE_CHAT_BASE  10000    /* first chat id */
#define SCALE_CLAIM      100      /* messages per claim */
#define SCALE_CHUNK      1000000  /* rows per INSERT ... SELECT */
#define SCALE_STEP_MS    10       /* created_at gap between loaded rows */
#define SCALE_TEXT_BYTES 300      /* bytes of each text */
#define SCALE_PATH_MAX   4096     /* longest path */
#define SCALE_RECOVER    1000000  /* default --recover */
#define SCALE_SIZE_MAX   50000000 /* largest size accepted */

/* The measurements, bits of ScaleOptions.mOnly. */
#define SCALE_M_STATS    0x01
#define SCALE_M_NEXT_DUE 0x02
#define SCALE_M_CLAIM    0x04
#define SCALE_M_ENQUEUE  0x08
#define SCALE_M_FOREIGN  0x10
#define SCALE_M_RECOVER  0x20
#define SCALE_M_ALL      0x3F

/* Pacing off: the claim must hand out 100 messages every time. */
#define SCALE_MP_CONFIG                             \
 "{\"pace_chat_ms\":0,\"pace_group_per_minute\":0," \
 "\"pace_global_per_second\":0}"

/*
** The bulk load: rows ?1..?2 of a table of ?2, created ?3 - (?2 - x) *
** SCALE_STEP_MS ms; pending when x > ?4 (tail) or x % ?5 == 0 (spread,
** ?5 > 0); failed when x % 20 == 7, else confirmed. ?6 is the filler text.
*/
#define SCALE_LOAD_SQL                                                       \
 "WITH RECURSIVE c(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM c "          \
 "WHERE x < ?2), r AS (SELECT x, ?3 - (?2 - x) * 10 AS t, "                  \
 "10000 + (x * 7919) % 99991 AS chat, "                                      \
 "CASE WHEN (?5 > 0 AND x % ?5 = 0) OR (?5 = 0 AND x > ?4) THEN 'pending' "  \
 "WHEN x % 20 = 7 THEN 'failed' ELSE 'confirmed' END AS st FROM c) "         \
 "INSERT INTO messages(seq, id, chat_id, message_text, timestamp, status, "  \
 "retry_count, telegram_message_id, event_data, tier_used, error_message, "  \
 "created_at, updated_at, priority, order_at, due_at, attempts, revision, "  \
 "checksum) "                                                                \
 "SELECT x, printf('%08x-%04x-7%03x-%04x-%012x', t >> 16, t & 65535, "       \
 "x & 4095, 32768 | ((x >> 48) & 16383), x & 281474976710655), chat, "       \
 "substr('Build #' || x || ' finished for chat ' || chat || '. ' || ?6, 1, " \
 "300), t / 1000, st, CASE st WHEN 'failed' THEN 3 ELSE 0 END, "             \
 "CASE st WHEN 'confirmed' THEN x END, "                                     \
 "'{\"type\":\"build_completed\",\"title\":\"Build #' || x || '\"}', "       \
 "CASE st WHEN 'confirmed' THEN 'telegram' END, "                            \
 "CASE st WHEN 'failed' THEN 'HTTP 400: Bad Request: chat not found' END, "  \
 "t / 1000, t / 1000, 1, 0, t, CASE st WHEN 'pending' THEN 0 ELSE 1 END, "   \
 "CASE st WHEN 'pending' THEN 0 ELSE 2 END, zeroblob(32) FROM r"

/* What the command line asked for. */
typedef struct ScaleOptions ScaleOptions;
struct ScaleOptions {
  i64 anSize[SCALE_SIZES_MAX]; /* --sizes */
  int nSize;                   /* Entries in anSize */
  int nPendingPct;             /* --pending-pct */
  int bSpread;                 /* --layout spread */
  int nReps;                   /* --reps */
  i64 nRecover;                /* --recover */
  const char *zParent;         /* --dir, or NULL */
  const char *zJson;           /* --json, or NULL */
  int bKeep;                   /* --keep */
  int bReuse;                  /* --reuse */
  unsigned mOnly;              /* --only: SCALE_M_* bits */
  int bVerbose;                /* --verbose */
};

/* A cost: median wall and CPU time of its repetitions, in microseconds. */
typedef struct ScaleCost ScaleCost;
struct ScaleCost {
  double rWallUs; /* Median wall time */
  double rCpuUs;  /* Median process CPU time */
  double rMinUs;  /* Fastest wall time */
};

/* Everything measured at one size. */
typedef struct ScaleResult ScaleResult;
struct ScaleResult {
  i64 nRows;              /* Rows loaded */
  i64 nPending;           /* Of which pending */
  double rLoadS;          /* Seconds the load took */
  i64 nDbBytes;           /* Database size after the load */
  ScaleCost stats;        /* SELECT * FROM mp_stats */
  ScaleCost nextDue;      /* SELECT mp_next_due() */
  ScaleCost claim;        /* mp_claim(100) */
  ScaleCost confirm;      /* 100 x mp_confirm() */
  ScaleCost claimTx;      /* The whole claim + confirm transaction */
  ScaleCost enqueue;      /* One autocommit mp_enqueue() */
  ScaleCost foreign;      /* mp_confirm() of a foreign id */
  i64 nRecovered;         /* Rows mp_recover() took back */
  double rRecoverS;       /* Its wall time, in seconds */
  double rRecoverCpuS;    /* Its CPU time, in seconds */
  double rSetupS;         /* Seconds the plain-SQL UPDATEs to 'sent' took */
  double rRawRecoverS;    /* raw SQLite's UPDATE of the same rows: wall s */
  double rRawRecoverCpuS; /* and CPU s */
  double rRecoverHeapMb;  /* SQLite heap high-water during mp_recover() */
};

/* The whole run. */
typedef struct Scale Scale;
struct Scale {
  ScaleOptions opt;                     /* The command line */
  char zDir[SCALE_PATH_MAX];            /* Where the databases go */
  char zPath[SCALE_PATH_MAX + 64];      /* The current database */
  char zWhere[64];                      /* What runs now */
  char zFiller[SCALE_TEXT_BYTES + 1];   /* Text filler */
  sqlite3 *db;                          /* The open database */
  i64 iSeqNext;                         /* Chat source for new rows */
  double *aWall;                        /* Samples, wall us */
  double *aCpu;                         /* Samples, CPU us */
  char (*azToken)[80];                  /* Lease tokens of a claim */
  ScaleResult aResult[SCALE_SIZES_MAX]; /* By size */
};

/*
** Prints "mp-scale: WHERE: MESSAGE" to stderr and exits with status 1.
*/
static void scaleFail(Scale *pS, const char *zFormat, ...) {
  va_list ap;
  fprintf(stderr, "mp-scale: %s: ", pS->zWhere[0] ? pS->zWhere : "setup");
  va_start(ap, zFormat);
  vfprintf(stderr, zFormat, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (pS->zPath[0]) fprintf(stderr, "mp-scale: database %s\n", pS->zPath);
  exit(1);
}

/*
** Stops the run unless rc is rcWant.
*/
static void scaleCheck(Scale *pS, int rc, int rcWant, const char *zWhat) {
  if (rc == rcWant) return;
  scaleFail(pS, "%s: %s (rc=%d)", zWhat,
            pS->db ? sqlite3_errmsg(pS->db) : sqlite3_errstr(rc), rc);
}

/*
** Returns a prepared statement for zSql; stops the run on failure.
*/
static sqlite3_stmt *scalePrepare(Scale *pS, const char *zSql) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v3(pS->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                              &pStmt, 0);
  if (rc != SQLITE_OK || pStmt == 0) {
    scaleFail(pS, "cannot prepare \"%.80s\": %s", zSql, sqlite3_errmsg(pS->db));
  }
  return pStmt;
}

/*
** Runs zSql (rows ignored); stops the run on failure.
*/
static void scaleExec(Scale *pS, const char *zSql) {
  char *zErr = 0;
  if (sqlite3_exec(pS->db, zSql, 0, 0, &zErr) != SQLITE_OK) {
    scaleFail(pS, "\"%.80s\" failed: %s", zSql, zErr ? zErr : "?");
  }
  sqlite3_free(zErr);
}

/*
** Runs zSql, which returns one integer (NULL reads as -1).
*/
static i64 scaleQueryInt(Scale *pS, const char *zSql) {
  sqlite3_stmt *pStmt = scalePrepare(pS, zSql);
  i64 v = -1;
  scaleCheck(pS, sqlite3_step(pStmt), SQLITE_ROW, zSql);
  if (sqlite3_column_type(pStmt, 0) != SQLITE_NULL) {
    v = sqlite3_column_int64(pStmt, 0);
  }
  scaleCheck(pS, sqlite3_finalize(pStmt), SQLITE_OK, zSql);
  return v;
}

/*
** Returns the value of metric zName from mp_stats.
*/
static i64 scaleStat(Scale *pS, const char *zName) {
  char zSql[128];
  snprintf(zSql, sizeof(zSql), "SELECT value FROM mp_stats WHERE name = '%s'",
           zName);
  return scaleQueryInt(pS, zSql);
}

/*
** Returns CLOCK_MONOTONIC (bCpu: the process CPU clock) in microseconds.
*/
static double scaleNowUs(int bCpu) {
  struct timespec ts;
  clock_gettime(bCpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/*
** Returns the wall clock in ms since the epoch.
*/
static i64 scaleWallMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (i64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
** qsort comparison of two doubles, ascending.
*/
static int scaleCompare(const void *pA, const void *pB) {
  double a = *(const double *)pA, b = *(const double *)pB;
  return (a > b) - (a < b);
}

/*
** Returns the median of the n values at a (sorts a).
*/
static double scaleMedian(double *a, int n) {
  if (n <= 0) return -1;
  qsort(a, (size_t)n, sizeof(double), scaleCompare);
  return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

/*
** Sets *pCost from the n samples in pS->aWall and pS->aCpu.
*/
static void scaleSummarize(Scale *pS, int n, ScaleCost *pCost) {
  pCost->rWallUs = scaleMedian(pS->aWall, n);
  pCost->rMinUs = n > 0 ? pS->aWall[0] : -1;
  pCost->rCpuUs = scaleMedian(pS->aCpu, n);
}

/*
** Runs pStmt to its end (rows ignored) and resets it; stops on error.
** Returns the rows it gave.
*/
static int scaleRun(Scale *pS, sqlite3_stmt *pStmt, const char *zWhat) {
  int rc, nRow = 0;
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW)
    nRow++;
  scaleCheck(pS, rc, SQLITE_DONE, zWhat);
  scaleCheck(pS, sqlite3_reset(pStmt), SQLITE_OK, zWhat);
  return nRow;
}

/*
** Fills the filler text.
*/
static void scaleFillerInit(Scale *pS) {
  static const char zSentence[] =
      "All 1,284 tests passed in 3 min 12 s, coverage 87.4%; artifacts "
      "were uploaded and the changelog was updated. ";
  int n = (int)sizeof(zSentence) - 1;
  for (int i = 0; i < SCALE_TEXT_BYTES; i++) {
    pS->zFiller[i] = zSentence[i % n];
  }
  pS->zFiller[SCALE_TEXT_BYTES] = 0;
}

/*
** Opens pS->zPath and registers mp on it.
*/
static void scaleOpen(Scale *pS) {
  char *zErr = 0;
  int rc = sqlite3_open_v2(pS->zPath, &pS->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  scaleCheck(pS, rc, SQLITE_OK, "open");
  rc = sqlite3_mp_init(pS->db, &zErr, 0);
  if (rc != SQLITE_OK) scaleFail(pS, "sqlite3_mp_init: %s", zErr ? zErr : "?");
}

/*
** Closes the database; stops the run if that fails.
*/
static void scaleClose(Scale *pS) {
  scaleCheck(pS, sqlite3_close(pS->db), SQLITE_OK, "close");
  pS->db = 0;
}

/*
** Deletes the database files of pS->zPath.
*/
static void scaleRemove(Scale *pS) {
  static const char *const azSuffix[] = { "", "-wal", "-shm", "-journal" };
  for (size_t i = 0; i < sizeof(azSuffix) / sizeof(azSuffix[0]); i++) {
    char zFile[SCALE_PATH_MAX + 80];
    snprintf(zFile, sizeof(zFile), "%s%s", pS->zPath, azSuffix[i]);
    if (unlink(zFile) != 0 && errno != ENOENT) {
      scaleFail(pS, "cannot delete %s: %s", zFile, strerror(errno));
    }
  }
}

/*
** Returns 1 if row x of a table of nRows is pending (see SCALE_LOAD_SQL).
*/
static int scaleIsPending(const Scale *pS, i64 x, i64 nRows, i64 nPending) {
  if (pS->opt.bSpread) return x % (100 / pS->opt.nPendingPct) == 0;
  return x > nRows - nPending;
}

/*
** Builds the database of nRows rows (see HOW IT WORKS) and leaves it
** closed. Fills pR's load figures.
*/
static void scaleLoad(Scale *pS, i64 nRows, ScaleResult *pR) {
  i64 nPending = pS->opt.bSpread ? nRows / (100 / pS->opt.nPendingPct)
                                 : nRows * pS->opt.nPendingPct / 100;
  i64 nFailed = 0, nConfirmed = 0, iNow = scaleWallMs();
  double t0 = scaleNowUs(0);
  char *zTrigger = 0;
  sqlite3_stmt *pLoad;
  char zSql[256];
  scaleRemove(pS);
  scaleOpen(pS);
  scaleExec(pS, "SELECT mp_init('" SCALE_MP_CONFIG "')");
  scaleExec(pS, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY");
  {
    sqlite3_stmt *pStmt =
        scalePrepare(pS, "SELECT sql FROM sqlite_schema WHERE type = 'trigger' "
                         "AND name = 'messages_plain_insert'");
    scaleCheck(pS, sqlite3_step(pStmt), SQLITE_ROW, "trigger sql");
    zTrigger =
        sqlite3_mprintf("%s", (const char *)sqlite3_column_text(pStmt, 0));
    scaleCheck(pS, sqlite3_finalize(pStmt), SQLITE_OK, "trigger sql");
    if (zTrigger == 0) scaleFail(pS, "out of memory");
  }
  scaleExec(pS, "DROP TRIGGER messages_plain_insert");
  pLoad = scalePrepare(pS, SCALE_LOAD_SQL);
  for (i64 iFirst = 1; iFirst <= nRows; iFirst += SCALE_CHUNK) {
    i64 iLast =
        iFirst + SCALE_CHUNK - 1 < nRows ? iFirst + SCALE_CHUNK - 1 : nRows;
    scaleExec(pS, "BEGIN");
    sqlite3_bind_int64(pLoad, 1, iFirst);
    sqlite3_bind_int64(pLoad, 2, iLast);
    /* ?2 is the chunk's end: shift the clock so times still count from
    ** the table's last row. */
    sqlite3_bind_int64(pLoad, 3, iNow - (nRows - iLast) * SCALE_STEP_MS);
    sqlite3_bind_int64(pLoad, 4, nRows - nPending);
    sqlite3_bind_int64(pLoad, 5,
                       pS->opt.bSpread ? 100 / pS->opt.nPendingPct : 0);
    sqlite3_bind_text(pLoad, 6, pS->zFiller, SCALE_TEXT_BYTES, SQLITE_STATIC);
    scaleRun(pS, pLoad, "load");
    scaleExec(pS, "COMMIT");
    if (pS->opt.bVerbose) {
      fprintf(stderr, "mp-scale: loaded %lld of %lld rows, %.1f s\n", iLast,
              nRows, (scaleNowUs(0) - t0) * 1e-6);
    }
  }
  scaleCheck(pS, sqlite3_finalize(pLoad), SQLITE_OK, "load");
  for (i64 x = 1; x <= nRows; x++) {
    if (scaleIsPending(pS, x, nRows, nPending)) continue;
    if (x % 20 == 7) {
      nFailed++;
    } else {
      nConfirmed++;
    }
  }
  /* What messages_plain_insert would have counted. */
  snprintf(zSql, sizeof(zSql),
           "UPDATE mp_counter SET n = n + CASE name WHEN 'confirmed' THEN "
           "%lld ELSE %lld END WHERE name IN ('confirmed', 'failed')",
           nConfirmed, nFailed);
  scaleExec(pS, zSql);
  scaleExec(pS, zTrigger);
  sqlite3_free(zTrigger);
  scaleExec(pS, "PRAGMA journal_mode = WAL");
  pR->nRows = nRows;
  pR->nPending = scaleStat(pS, "pending");
  if (pR->nPending != nRows - nConfirmed - nFailed ||
      scaleStat(pS, "total") != nRows ||
      scaleQueryInt(pS, "SELECT count(*) FROM messages "
                        "WHERE status = 'pending'") != pR->nPending) {
    scaleFail(pS, "mp_stats disagrees with the load");
  }
  pR->nDbBytes = scaleStat(pS, "database_size_bytes");
  scaleClose(pS);
  pR->rLoadS = (scaleNowUs(0) - t0) * 1e-6;
}

/*
** Opens the loaded database as an application would.
*/
static void scaleOpenApp(Scale *pS) {
  scaleOpen(pS);
  scaleExec(pS, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                "PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY");
  scaleExec(pS, "PRAGMA wal_checkpoint(TRUNCATE)");
}

/*
** One SELECT * FROM mp_stats; its own function so that callgrind can count
** it (--toggle-collect=scaleStatsOnce).
*/
SCALE_NOINLINE static void scaleStatsOnce(Scale *pS, sqlite3_stmt *pStmt) {
  scaleRun(pS, pStmt, "mp_stats");
}

/*
** One SELECT mp_next_due() (--toggle-collect=scaleNextDueOnce).
*/
SCALE_NOINLINE static void scaleNextDueOnce(Scale *pS, sqlite3_stmt *pStmt) {
  scaleRun(pS, pStmt, "mp_next_due");
}

/*
** Times n + 1 runs of zSql with xOnce, the first one a warm-up, into
** *pCost.
*/
static void scaleTimeQuery(Scale *pS, const char *zSql,
                           void (*xOnce)(Scale *, sqlite3_stmt *), int n,
                           ScaleCost *pCost) {
  sqlite3_stmt *pStmt = scalePrepare(pS, zSql);
  xOnce(pS, pStmt); /* warm */
  for (int i = 0; i < n; i++) {
    double t = scaleNowUs(0), c = scaleNowUs(1);
    xOnce(pS, pStmt);
    pS->aCpu[i] = scaleNowUs(1) - c;
    pS->aWall[i] = scaleNowUs(0) - t;
  }
  scaleCheck(pS, sqlite3_finalize(pStmt), SQLITE_OK, zSql);
  scaleSummarize(pS, n, pCost);
}

/*
** Stores n new pending messages with one mp_enqueue_batch() (untimed
** upkeep of the claim measurement).
*/
static void scaleReplenish(Scale *pS, sqlite3_stmt *pBatch, int n) {
  sqlite3_str *pJson = sqlite3_str_new(pS->db);
  char *zJson;
  sqlite3_str_appendchar(pJson, 1, '[');
  for (int i = 0; i < n; i++) {
    i64 k = pS->iSeqNext++;
    sqlite3_str_appendf(pJson,
                        "%s{\"chat_id\":%lld,\"text\":\"Build #%lld finished. "
                        "%.200s\",\"event\":{\"type\":\"build_completed\"}}",
                        i ? "," : "",
                        SCALE_CHAT_BASE + (k * 7919) % SCALE_CHATS, k,
                        pS->zFiller);
  }
  sqlite3_str_appendchar(pJson, 1, ']');
  zJson = sqlite3_str_finish(pJson);
  if (zJson == 0) scaleFail(pS, "out of memory");
  sqlite3_bind_text(pBatch, 1, zJson, -1, SQLITE_STATIC);
  scaleRun(pS, pBatch, "mp_enqueue_batch");
  sqlite3_free(zJson);
}

/* The statements of the claim measurement. */
typedef struct ScaleClaimStmts ScaleClaimStmts;
struct ScaleClaimStmts {
  sqlite3_stmt *pBegin;   /* BEGIN IMMEDIATE */
  sqlite3_stmt *pCommit;  /* COMMIT */
  sqlite3_stmt *pClaim;   /* SELECT lease_token FROM mp_claim(?1) */
  sqlite3_stmt *pConfirm; /* SELECT mp_confirm(?1, ?2, 'telegram') */
};

/*
** One claim + confirm transaction of SCALE_CLAIM messages
** (--toggle-collect=scaleClaimOnce). Sets aT[0..2] (wall) and aC[0..2]
** (CPU) to the microseconds of the claim, the confirms and the whole.
*/
SCALE_NOINLINE static void scaleClaimOnce(Scale *pS, ScaleClaimStmts *p,
                                          double *aT, double *aC) {
  double t0 = scaleNowUs(0), c0 = scaleNowUs(1), t1, c1;
  int nRow = 0, rc;
  scaleRun(pS, p->pBegin, "begin");
  sqlite3_bind_int(p->pClaim, 1, SCALE_CLAIM);
  while ((rc = sqlite3_step(p->pClaim)) == SQLITE_ROW) {
    if (nRow < SCALE_CLAIM) {
      snprintf(pS->azToken[nRow], 80, "%s",
               (const char *)sqlite3_column_text(p->pClaim, 0));
    }
    nRow++;
  }
  scaleCheck(pS, rc, SQLITE_DONE, "mp_claim");
  scaleCheck(pS, sqlite3_reset(p->pClaim), SQLITE_OK, "mp_claim");
  t1 = scaleNowUs(0);
  c1 = scaleNowUs(1);
  if (nRow != SCALE_CLAIM) {
    scaleFail(pS, "mp_claim(%d) returned %d rows", SCALE_CLAIM, nRow);
  }
  for (int k = 0; k < nRow; k++) {
    sqlite3_bind_text(p->pConfirm, 1, pS->azToken[k], -1, SQLITE_STATIC);
    sqlite3_bind_int64(p->pConfirm, 2, 1000 + k);
    scaleCheck(pS, sqlite3_step(p->pConfirm), SQLITE_ROW, "mp_confirm");
    scaleCheck(pS, sqlite3_reset(p->pConfirm), SQLITE_OK, "mp_confirm");
  }
  aT[0] = t1 - t0;
  aC[0] = c1 - c0;
  aT[1] = scaleNowUs(0) - t1;
  aC[1] = scaleNowUs(1) - c1;
  scaleRun(pS, p->pCommit, "commit");
  aT[2] = scaleNowUs(0) - t0;
  aC[2] = scaleNowUs(1) - c0;
}

/*
** Times n claim + confirm transactions of SCALE_CLAIM messages (after one
** warm-up); after each, SCALE_CLAIM new messages replace them (untimed).
*/
static void scaleTimeClaim(Scale *pS, int n, ScaleResult *pR) {
  ScaleClaimStmts st;
  ScaleCost *apCost[3];
  sqlite3_stmt *pBatch = scalePrepare(pS, "SELECT mp_enqueue_batch(?1)");
  double *aAll = malloc(sizeof(double) * (size_t)n * 6);
  st.pBegin = scalePrepare(pS, "BEGIN IMMEDIATE");
  st.pCommit = scalePrepare(pS, "COMMIT");
  st.pClaim = scalePrepare(pS, "SELECT lease_token FROM mp_claim(?1)");
  st.pConfirm = scalePrepare(pS, "SELECT mp_confirm(?1, ?2, 'telegram')");
  if (aAll == 0) scaleFail(pS, "out of memory");
  for (int i = 0; i <= n; i++) {
    double aT[3], aC[3];
    scaleClaimOnce(pS, &st, aT, aC);
    if (i > 0) { /* The first one warms up. */
      for (int k = 0; k < 3; k++) {
        aAll[(2 * k) * n + i - 1] = aT[k];
        aAll[(2 * k + 1) * n + i - 1] = aC[k];
      }
    }
    scaleReplenish(pS, pBatch, SCALE_CLAIM);
  }
  apCost[0] = &pR->claim;
  apCost[1] = &pR->confirm;
  apCost[2] = &pR->claimTx;
  for (int k = 0; k < 3; k++) {
    memcpy(pS->aWall, aAll + (2 * k) * n, sizeof(double) * (size_t)n);
    memcpy(pS->aCpu, aAll + (2 * k + 1) * n, sizeof(double) * (size_t)n);
    scaleSummarize(pS, n, apCost[k]);
  }
  free(aAll);
  sqlite3_finalize(st.pBegin);
  sqlite3_finalize(st.pCommit);
  sqlite3_finalize(st.pClaim);
  sqlite3_finalize(st.pConfirm);
  sqlite3_finalize(pBatch);
}

/*
** One autocommit mp_enqueue() (--toggle-collect=scaleEnqueueOnce).
*/
SCALE_NOINLINE static void scaleEnqueueOnce(Scale *pS, sqlite3_stmt *pStmt) {
  i64 k = pS->iSeqNext++;
  sqlite3_bind_int64(pStmt, 1, SCALE_CHAT_BASE + (k * 7919) % SCALE_CHATS);
  sqlite3_bind_text(pStmt, 2, pS->zFiller, SCALE_TEXT_BYTES, SQLITE_STATIC);
  scaleRun(pS, pStmt, "mp_enqueue");
}

/*
** Times n autocommit mp_enqueue() calls, after one warm-up.
*/
static void scaleTimeEnqueue(Scale *pS, int n, ScaleResult *pR) {
  sqlite3_stmt *pStmt = scalePrepare(pS, "SELECT mp_enqueue(?1, ?2, "
                                         "'{\"type\":\"build_completed\"}')");
  scaleEnqueueOnce(pS, pStmt);
  for (int i = 0; i < n; i++) {
    double t = scaleNowUs(0), c = scaleNowUs(1);
    scaleEnqueueOnce(pS, pStmt);
    pS->aCpu[i] = scaleNowUs(1) - c;
    pS->aWall[i] = scaleNowUs(0) - t;
  }
  sqlite3_finalize(pStmt);
  scaleSummarize(pS, n, &pR->enqueue);
}

/*
** Times n mp_confirm() calls with an id mp did not make (each fails with
** "no message with id").
*/
static void scaleTimeForeign(Scale *pS, int n, ScaleResult *pR) {
  sqlite3_stmt *pStmt =
      scalePrepare(pS, "SELECT mp_confirm('order-42-notification', 1)");
  for (int i = 0; i < n; i++) {
    double t = scaleNowUs(0), c = scaleNowUs(1);
    int rc = sqlite3_step(pStmt);
    sqlite3_reset(pStmt);
    pS->aCpu[i] = scaleNowUs(1) - c;
    pS->aWall[i] = scaleNowUs(0) - t;
    if (rc != SQLITE_ERROR ||
        strstr(sqlite3_errmsg(pS->db), "no message with id") == 0) {
      scaleFail(pS, "mp_confirm of a foreign id did not fail as expected");
    }
  }
  sqlite3_finalize(pStmt);
  scaleSummarize(pS, n, &pR->foreign);
}

/*
** raw SQLite taking back the same messages: one UPDATE with the changes of
** mp_recover()'s at_least_once policy (ext/mp_recover.c,
** MP_RECOVER_SET_PENDING; revision + 2 keeps the counting trigger out, as
** there) over every expired lease, and the count, in one transaction. ?1
** is the time in ms.
*/
#define SCALE_RAW_RECOVER                                                 \
 "UPDATE messages SET status = 'pending', priority = max(priority, 2), "  \
 "in_doubt = 1, due_at = ?1, error_message = 'lease expired while sent; " \
 "may have been delivered', lease_until = NULL, lease_token = NULL, "     \
 "worker = NULL, revision = revision + 2, updated_at = ?1 / 1000 "        \
 "WHERE status = 'sent' AND (lease_until IS NULL OR lease_until <= ?1)"
#define SCALE_RAW_RECOVER_COUNT \
 "UPDATE mp_counter SET n = n + ?1 WHERE name = 'recovered'"

/*
** Makes min(--recover, rows) rows 'sent' with an expired lease with plain
** SQL, checkpoints, and checks that they are in flight. Returns that
** number; adds the seconds it took to pR->rSetupS.
*/
static i64 scaleMakeSent(Scale *pS, ScaleResult *pR) {
  i64 nWant = pS->opt.nRecover < pR->nRows ? pS->opt.nRecover : pR->nRows;
  char zSql[256];
  double t = scaleNowUs(0);
  snprintf(zSql, sizeof(zSql),
           "UPDATE messages SET status = 'sent', lease_until = 0, "
           "lease_token = printf('%%016x', seq), worker = 'mp-scale' "
           "WHERE seq <= %lld AND status <> 'sent'",
           nWant);
  scaleExec(pS, "BEGIN IMMEDIATE");
  scaleExec(pS, zSql);
  scaleExec(pS, "COMMIT");
  scaleExec(pS, "PRAGMA wal_checkpoint(TRUNCATE)");
  pR->rSetupS += (scaleNowUs(0) - t) * 1e-6;
  if (scaleStat(pS, "sent") != nWant) {
    scaleFail(pS, "%lld messages in flight, expected %lld",
              scaleStat(pS, "sent"), nWant);
  }
  return nWant;
}

/*
** Times one SELECT mp_recover() over the leases scaleMakeSent() expired,
** then raw SQLite's one UPDATE of the same rows (SCALE_RAW_RECOVER), each
** including its commit and the automatic checkpoint that follows.
*/
static void scaleTimeRecover(Scale *pS, ScaleResult *pR) {
  i64 nWant = scaleMakeSent(pS, pR), nGot;
  sqlite3_int64 iHeap = 0, iHeapHigh = 0;
  double t, c;
  sqlite3_stmt *pStmt = scalePrepare(pS, "SELECT mp_recover()");
  sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &iHeap, &iHeapHigh, 1);
  t = scaleNowUs(0);
  c = scaleNowUs(1);
  scaleCheck(pS, sqlite3_step(pStmt), SQLITE_ROW, "mp_recover");
  nGot = sqlite3_column_int64(pStmt, 0);
  scaleCheck(pS, sqlite3_step(pStmt), SQLITE_DONE, "mp_recover");
  scaleCheck(pS, sqlite3_reset(pStmt), SQLITE_OK, "mp_recover");
  pR->rRecoverCpuS = (scaleNowUs(1) - c) * 1e-6;
  pR->rRecoverS = (scaleNowUs(0) - t) * 1e-6;
  sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &iHeap, &iHeapHigh, 0);
  pR->rRecoverHeapMb = (double)iHeapHigh / 1e6;
  sqlite3_finalize(pStmt);
  pR->nRecovered = nGot;
  if (nGot != nWant || scaleStat(pS, "sent") != 0) {
    scaleFail(pS, "mp_recover() took back %lld of %lld", nGot, nWant);
  }

  nWant = scaleMakeSent(pS, pR);
  pStmt = scalePrepare(pS, SCALE_RAW_RECOVER);
  sqlite3_bind_int64(pStmt, 1, (i64)time(0) * 1000);
  t = scaleNowUs(0);
  c = scaleNowUs(1);
  scaleExec(pS, "BEGIN IMMEDIATE");
  scaleCheck(pS, sqlite3_step(pStmt), SQLITE_DONE, "raw recover");
  nGot = sqlite3_changes64(pS->db);
  sqlite3_finalize(pStmt);
  pStmt = scalePrepare(pS, SCALE_RAW_RECOVER_COUNT);
  sqlite3_bind_int64(pStmt, 1, nGot);
  scaleCheck(pS, sqlite3_step(pStmt), SQLITE_DONE, "raw recover count");
  sqlite3_finalize(pStmt);
  scaleExec(pS, "COMMIT");
  pR->rRawRecoverCpuS = (scaleNowUs(1) - c) * 1e-6;
  pR->rRawRecoverS = (scaleNowUs(0) - t) * 1e-6;
  if (nGot != nWant || scaleStat(pS, "sent") != 0) {
    scaleFail(pS, "raw recovery took back %lld of %lld", nGot, nWant);
  }
}

/*
** Measures one size: loads it, times every call, deletes it.
*/
static void scaleSize(Scale *pS, i64 nRows, ScaleResult *pR) {
  int nReps = pS->opt.nReps;
  int nClaim = nReps / 4 > 5 ? nReps / 4 : 5;
  ScaleCost *apCost[] = { &pR->stats,   &pR->nextDue, &pR->claim,  &pR->confirm,
                          &pR->claimTx, &pR->enqueue, &pR->foreign };
  memset(pR, 0, sizeof(*pR));
  for (size_t i = 0; i < sizeof(apCost) / sizeof(apCost[0]); i++) {
    apCost[i]->rWallUs = apCost[i]->rCpuUs = apCost[i]->rMinUs = -1;
  }
  snprintf(pS->zPath, sizeof(pS->zPath), "%s/mp-scale-%lld.db", pS->zDir,
           nRows);
  snprintf(pS->zWhere, sizeof(pS->zWhere), "%lld rows: load", nRows);
  if (pS->opt.bReuse && access(pS->zPath, F_OK) == 0) {
    scaleOpen(pS);
    pR->nRows = nRows;
    pR->nPending = scaleStat(pS, "pending");
    pR->nDbBytes = scaleStat(pS, "database_size_bytes");
    if (scaleStat(pS, "total") < nRows) {
      scaleFail(pS, "--reuse: the database holds fewer than %lld rows", nRows);
    }
    scaleClose(pS);
  } else {
    scaleLoad(pS, nRows, pR);
  }
  if (pS->opt.bVerbose) {
    fprintf(stderr, "mp-scale: %lld rows loaded in %.1f s (%.0f MB)\n", nRows,
            pR->rLoadS, (double)pR->nDbBytes / 1e6);
  }
  scaleOpenApp(pS);
  pS->iSeqNext = nRows + 1;
  if (pS->opt.mOnly & SCALE_M_STATS) {
    snprintf(pS->zWhere, sizeof(pS->zWhere), "%lld rows: stats", nRows);
    scaleTimeQuery(pS, "SELECT * FROM mp_stats", scaleStatsOnce, nReps,
                   &pR->stats);
  }
  if (pS->opt.mOnly & SCALE_M_NEXT_DUE) {
    snprintf(pS->zWhere, sizeof(pS->zWhere), "%lld rows: next_due", nRows);
    scaleTimeQuery(pS, "SELECT mp_next_due()", scaleNextDueOnce, nReps,
                   &pR->nextDue);
  }
  if (pS->opt.mOnly & SCALE_M_CLAIM) {
    snprintf(pS->zWhere, sizeof(pS->zWhere), "%lld rows: claim", nRows);
    scaleTimeClaim(pS, nClaim, pR);
  }
  if (pS->opt.mOnly & SCALE_M_ENQUEUE) {
    snprintf(pS->zWhere, sizeof(pS->zWhere), "%lld rows: enqueue", nRows);
    scaleTimeEnqueue(pS, nReps, pR);
  }
  if (pS->opt.mOnly & SCALE_M_FOREIGN) {
    snprintf(pS->zWhere, sizeof(pS->zWhere), "%lld rows: foreign id", nRows);
    scaleTimeForeign(pS, 3, pR);
  }
  if ((pS->opt.mOnly & SCALE_M_RECOVER) && pS->opt.nRecover > 0) {
    snprintf(pS->zWhere, sizeof(pS->zWhere), "%lld rows: recover", nRows);
    scaleTimeRecover(pS, pR);
  }
  scaleClose(pS);
  if (!pS->opt.bKeep) scaleRemove(pS);
  pS->zWhere[0] = 0;
}

/*
** Formats a cost in microseconds with a unit that suits it.
*/
static void scaleFormatUs(char *zOut, size_t nOut, double rUs) {
  if (rUs < 0) {
    snprintf(zOut, nOut, "-");
  } else if (rUs < 1000) {
    snprintf(zOut, nOut, "%.0f us", rUs);
  } else if (rUs < 1e6) {
    snprintf(zOut, nOut, "%.2f ms", rUs / 1000);
  } else {
    snprintf(zOut, nOut, "%.2f s", rUs / 1e6);
  }
}

/*
** Formats a / b as "1.23x" into zOut, or "-" when either is unknown.
*/
static void scaleFormatRatio(char *zOut, size_t nOut, double a, double b) {
  if (a < 0 || b <= 0) {
    snprintf(zOut, nOut, "-");
  } else {
    snprintf(zOut, nOut, "%.2fx", a / b);
  }
}

/*
** Prints the result table.
*/
static void scalePrint(const Scale *pS) {
  const ScaleResult *p0 = &pS->aResult[0];
  printf("mp-scale: SQLite %s, WAL, synchronous=NORMAL, cache_size=-2000, "
         "%d%% pending (%s), medians of %d (claim: %d)\n",
         sqlite3_libversion(), pS->opt.nPendingPct,
         pS->opt.bSpread ? "spread" : "newest rows", pS->opt.nReps,
         pS->opt.nReps / 4 > 5 ? pS->opt.nReps / 4 : 5);
  for (int bCpu = 0; bCpu < 2; bCpu++) {
    printf("\n%s\n", bCpu ? "CPU time (medians of the same calls):"
                          : "wall time (medians):");
    printf("%10s %9s | %10s %10s %10s %6s | %9s %6s | %9s %9s %10s", "rows",
           "pending", "claim100", "confirm100", "claim tx", "x", "stats", "x",
           "next_due", "enqueue", "foreign");
    printf(bCpu ? "\n" : " | %9s %8s %8s %8s %8s %8s %6s\n", "recovered",
           "recover", "cpu", "heap", "raw", "raw cpu", "mp/raw");
    for (int i = 0; i < pS->opt.nSize; i++) {
      const ScaleResult *pR = &pS->aResult[i];
      const ScaleCost *ap[] = { &pR->claim,  &pR->confirm, &pR->claimTx,
                                &pR->stats,  &pR->nextDue, &pR->enqueue,
                                &pR->foreign };
      char az[7][24], zTx[16], zStats[16];
      for (int k = 0; k < 7; k++) {
        scaleFormatUs(az[k], 24, bCpu ? ap[k]->rCpuUs : ap[k]->rWallUs);
      }
      scaleFormatRatio(zTx, sizeof(zTx),
                       bCpu ? pR->claimTx.rCpuUs : pR->claimTx.rWallUs,
                       bCpu ? p0->claimTx.rCpuUs : p0->claimTx.rWallUs);
      scaleFormatRatio(zStats, sizeof(zStats),
                       bCpu ? pR->stats.rCpuUs : pR->stats.rWallUs,
                       bCpu ? p0->stats.rCpuUs : p0->stats.rWallUs);
      printf("%10lld %9lld | %10s %10s %10s %6s | %9s %6s | %9s %9s %10s",
             pR->nRows, pR->nPending, az[0], az[1], az[2], zTx, az[3], zStats,
             az[4], az[5], az[6]);
      if (bCpu) {
        printf("\n");
      } else {
        char zRaw[16];
        scaleFormatRatio(zRaw, sizeof(zRaw), pR->rRawRecoverS, pR->rRecoverS);
        printf(" | %9lld %7.2fs %7.2fs %6.1fMB %7.2fs %7.2fs %6s\n",
               pR->nRecovered, pR->rRecoverS, pR->rRecoverCpuS,
               pR->rRecoverHeapMb, pR->rRawRecoverS, pR->rRawRecoverCpuS, zRaw);
      }
    }
  }
  printf("\n(x: ratio to the %lld-row table; targets: claim tx and stats "
         "<= 1.50x, recover of 1,000,000 < 2 s;\n raw: one plain UPDATE of "
         "the same rows with the same changes; mp/raw: its wall time over "
         "mp_recover()'s)\n",
         p0->nRows);
}

/*
** Writes one cost to f as a JSON object member.
*/
static void scaleJsonCost(FILE *f, const char *zName, const ScaleCost *p) {
  if (p->rWallUs < 0) {
    fprintf(f, "\"%s\": null, ", zName);
    return;
  }
  fprintf(f,
          "\"%s\": {\"wall_us\": %.1f, \"cpu_us\": %.1f, \"min_wall_us\": "
          "%.1f}, ",
          zName, p->rWallUs, p->rCpuUs, p->rMinUs);
}

/*
** Writes the results to zFile as JSON.
*/
static void scaleWriteJson(Scale *pS, const char *zFile) {
  FILE *f = fopen(zFile, "w");
  if (f == 0) scaleFail(pS, "cannot write %s: %s", zFile, strerror(errno));
  fprintf(f,
          "{\n  \"sqlite_version\": \"%s\",\n  \"pending_pct\": %d,\n"
          "  \"layout\": \"%s\",\n  \"reps\": %d,\n  \"sizes\": [",
          sqlite3_libversion(), pS->opt.nPendingPct,
          pS->opt.bSpread ? "spread" : "tail", pS->opt.nReps);
  for (int i = 0; i < pS->opt.nSize; i++) {
    const ScaleResult *pR = &pS->aResult[i];
    fprintf(f,
            "%s\n    {\"rows\": %lld, \"pending\": %lld, \"load_s\": %.1f, "
            "\"db_bytes\": %lld, ",
            i ? "," : "", pR->nRows, pR->nPending, pR->rLoadS, pR->nDbBytes);
    scaleJsonCost(f, "stats", &pR->stats);
    scaleJsonCost(f, "next_due", &pR->nextDue);
    scaleJsonCost(f, "claim100", &pR->claim);
    scaleJsonCost(f, "confirm100", &pR->confirm);
    scaleJsonCost(f, "claim_tx", &pR->claimTx);
    scaleJsonCost(f, "enqueue", &pR->enqueue);
    scaleJsonCost(f, "foreign_id", &pR->foreign);
    fprintf(f,
            "\"recover\": {\"rows\": %lld, \"wall_s\": %.3f, \"cpu_s\": "
            "%.3f, \"heap_mb\": %.1f, \"setup_s\": %.1f, \"raw_wall_s\": "
            "%.3f, \"raw_cpu_s\": %.3f}}",
            pR->nRecovered, pR->rRecoverS, pR->rRecoverCpuS, pR->rRecoverHeapMb,
            pR->rSetupS, pR->rRawRecoverS, pR->rRawRecoverCpuS);
  }
  fprintf(f, "\n  ]\n}\n");
  if (ferror(f) | fclose(f)) {
    scaleFail(pS, "cannot write %s: %s", zFile, strerror(errno));
  }
}

/*
** Prints the usage message and exits with status 2.
*/
static void scaleUsage(const char *zError) {
  if (zError) fprintf(stderr, "mp-scale: %s\n", zError);
  fprintf(stderr, "usage: mp-scale [--sizes N,N,...] [--pending-pct P] "
                  "[--layout tail|spread]\n"
                  "                [--reps R] [--recover N] [--dir DIR] "
                  "[--json FILE] [--keep]\n"
                  "                [--quick] [--verbose]\n");
  exit(2);
}

/*
** Returns the integer in z within [iMin, iMax], or exits naming zOpt.
*/
static i64 scaleParseInt(const char *zOpt, const char *z, i64 iMin, i64 iMax) {
  char *zEnd = 0;
  long long v;
  errno = 0;
  v = strtoll(z, &zEnd, 10);
  if (errno || zEnd == z || (*zEnd && *zEnd != ',') || v < iMin || v > iMax) {
    char zMsg[128];
    snprintf(zMsg, sizeof(zMsg), "%s needs integers from %lld to %lld", zOpt,
             iMin, iMax);
    scaleUsage(zMsg);
  }
  return v;
}

/*
** Returns the SCALE_M_* bits named in the comma-separated zList, or exits
** with a usage error.
*/
static unsigned scaleParseOnly(const char *zList) {
  static const char *const azName[] = { "stats",   "next_due", "claim",
                                        "enqueue", "foreign",  "recover" };
  unsigned m = 0;
  while (*zList) {
    size_t n = strcspn(zList, ",");
    unsigned mOne = 0;
    for (int k = 0; k < 6; k++) {
      if (strlen(azName[k]) == n && strncmp(zList, azName[k], n) == 0) {
        mOne = 1u << k;
      }
    }
    if (mOne == 0) {
      scaleUsage("--only takes stats, next_due, claim, enqueue, foreign, "
                 "recover");
    }
    m |= mOne;
    zList += n;
    if (*zList == ',') zList++;
  }
  if (m == 0) scaleUsage("--only needs a list");
  return m;
}

/*
** Parses the command line into pOpt.
*/
static void scaleParseArgs(int argc, char **argv, ScaleOptions *pOpt) {
  static const i64 aDefault[] = { 10000, 1000000, 10000000 };
  memset(pOpt, 0, sizeof(*pOpt));
  pOpt->nPendingPct = 1;
  pOpt->nReps = 200;
  pOpt->nRecover = SCALE_RECOVER;
  pOpt->mOnly = SCALE_M_ALL;
  pOpt->nSize = 3;
  memcpy(pOpt->anSize, aDefault, sizeof(aDefault));
  for (int i = 1; i < argc; i++) {
    const char *z = argv[i];
    const char *zVal = i + 1 < argc ? argv[i + 1] : 0;
    if (z[0] == '-' && z[1] == '-') z++;
    if (strcmp(z, "-keep") == 0) {
      pOpt->bKeep = 1;
      continue;
    } else if (strcmp(z, "-reuse") == 0) {
      pOpt->bReuse = pOpt->bKeep = 1;
      continue;
    } else if (strcmp(z, "-verbose") == 0 || strcmp(z, "-v") == 0) {
      pOpt->bVerbose = 1;
      continue;
    } else if (strcmp(z, "-quick") == 0) {
      pOpt->nSize = 2;
      pOpt->anSize[0] = 10000;
      pOpt->anSize[1] = 100000;
      pOpt->nReps = 20;
      continue;
    } else if (strcmp(z, "-help") == 0 || strcmp(z, "-h") == 0) {
      scaleUsage(0);
    }
    if (zVal == 0) scaleUsage("missing value");
    i++;
    if (strcmp(z, "-sizes") == 0) {
      const char *zAt = zVal;
      pOpt->nSize = 0;
      while (*zAt) {
        if (pOpt->nSize == SCALE_SIZES_MAX) scaleUsage("too many --sizes");
        pOpt->anSize[pOpt->nSize++] =
            scaleParseInt("--sizes", zAt, 1000, SCALE_SIZE_MAX);
        zAt += strcspn(zAt, ",");
        if (*zAt == ',') zAt++;
      }
      if (pOpt->nSize == 0) scaleUsage("--sizes needs a list");
    } else if (strcmp(z, "-pending-pct") == 0) {
      pOpt->nPendingPct = (int)scaleParseInt("--pending-pct", zVal, 1, 50);
    } else if (strcmp(z, "-layout") == 0) {
      if (strcmp(zVal, "tail") != 0 && strcmp(zVal, "spread") != 0) {
        scaleUsage("--layout takes tail or spread");
      }
      pOpt->bSpread = strcmp(zVal, "spread") == 0;
    } else if (strcmp(z, "-reps") == 0) {
      pOpt->nReps = (int)scaleParseInt("--reps", zVal, 1, SCALE_REPS_MAX);
    } else if (strcmp(z, "-recover") == 0) {
      pOpt->nRecover = scaleParseInt("--recover", zVal, 0, SCALE_SIZE_MAX);
    } else if (strcmp(z, "-only") == 0) {
      pOpt->mOnly = scaleParseOnly(zVal);
    } else if (strcmp(z, "-dir") == 0) {
      pOpt->zParent = zVal;
    } else if (strcmp(z, "-json") == 0) {
      pOpt->zJson = zVal;
    } else {
      char zMsg[160];
      snprintf(zMsg, sizeof(zMsg), "unknown argument %s", argv[i - 1]);
      scaleUsage(zMsg);
    }
  }
}

/*
** Runs every size; see the comment at the top of this file.
*/
int main(int argc, char **argv) {
  static Scale s;
  Scale *pS = &s;
  const char *zParent;
  scaleParseArgs(argc, argv, &pS->opt);
  zParent = pS->opt.zParent ? pS->opt.zParent : getenv("TMPDIR");
  if (zParent == 0 || zParent[0] == 0) zParent = "/tmp";
  snprintf(pS->zDir, sizeof(pS->zDir), "%s", zParent);
  scaleFillerInit(pS);
  pS->aWall = malloc(sizeof(double) * (size_t)pS->opt.nReps);
  pS->aCpu = malloc(sizeof(double) * (size_t)pS->opt.nReps);
  pS->azToken = malloc(sizeof(*pS->azToken) * SCALE_CLAIM);
  if (pS->aWall == 0 || pS->aCpu == 0 || pS->azToken == 0) {
    scaleFail(pS, "out of memory");
  }
  for (int i = 0; i < pS->opt.nSize; i++) {
    scaleSize(pS, pS->opt.anSize[i], &pS->aResult[i]);
    if (pS->opt.bVerbose) {
      fprintf(stderr, "mp-scale: %lld rows measured\n", pS->opt.anSize[i]);
    }
  }
  scalePrint(pS);
  if (pS->opt.zJson) scaleWriteJson(pS, pS->opt.zJson);
  free(pS->aWall);
  free(pS->aCpu);
  free(pS->azToken);
  if (sqlite3_memory_used() != 0) {
    scaleFail(pS, "%lld bytes of SQLite memory still in use",
              sqlite3_memory_used());
  }
  return 0;
}
