/*
** SPDX-License-Identifier: MIT
**
** mp-bench: mp against raw SQLite doing the same work, in one run.
**
** Usage:
**
**   mp-bench [--quick] [--rounds R] [--sync normal|full] [--dir DIR]
**            [--json FILE] [--cache-kib N] [--only W1,W2,W3,W4]
**            [--side both|mp|raw] [--w1 N] [--w2 N] [--w3 N] [--w4 N]
**            [--keep] [--strict] [--verbose]
**
**   --quick       a tiny run (CI smoke test): 1 round of a few hundred
**                 messages; it must exit 0 and print the table
**   --rounds R    measure each workload R times per side (default 3) and
**                 report the medians
**   --sync S      PRAGMA synchronous for both sides (default normal)
**   --dir DIR     where the fresh temp directory is made (default $TMPDIR
**                 or /tmp); it is removed at the end unless --keep
**   --json FILE   also write the results, every sample included, as JSON
**   --cache-kib N PRAGMA cache_size = -N on both sides (default 2000,
**                 SQLite's own default)
**   --only LIST   run only these workloads
**   --side S      run only mp or only raw (for profiling; no ratios then)
**   --wK N        messages of workload K
**   --strict      exit 3 when a target is missed
**   --verbose     print every sample to stderr
**
** Example:
**
**   cmake --build build --target mp-bench && ./build/mp-bench
**   valgrind --tool=callgrind ./build/mp-bench --quick --side mp --only W3
**
** The workloads, each on fresh database files with the same pragmas
** (journal_mode=WAL, the chosen synchronous, busy_timeout 5000, the same
** cache_size) and the same generated messages (chat ids cycling over 1000
** chats, a 300-byte text, a small event JSON):
**
**   W1  one enqueue per transaction (autocommit)
**   W2  1,000 enqueues per transaction
**   W3  claim one message, then confirm it, each its own transaction
**   W4  claim 100 and confirm them, in one transaction, repeated
**
** The mp side calls mp_enqueue(), mp_claim() and mp_confirm(), after
** mp_init() with Telegram pacing off. The raw side is the queue table a
** competent user would write by hand (the q table below), with the one
** partial index its dequeue needs and prepared statements. W3 and W4 start
** from the same pending messages, inserted before the clock starts. Each
** round runs raw then mp, or mp then raw (alternating), so machine noise
** reaches both alike; the table shows the medians.
**
** After every sample the result is checked cheaply (mp_stats and a count
** on the mp side, a count on the raw side) so that a broken benchmark
** cannot report a fast number; any SQLite error stops the run with a
** message naming the workload, side and round. Once every connection is
** closed, sqlite3_memory_used() must be 0.
**
** Output: the result table (median msg/s of each side, the ratio mp/raw,
** the target and whether it is met), then the cost per message of each
** side: CPU time of the process (user + system), and the bytes and
** write() calls it made (/proc/self/io; "-" where that is missing). The
** CPU column is steadier than wall time on a busy machine, and the bytes
** column shows what each design adds to the WAL (and, inside a
** transaction, to statement journals).
**
** The defaults (W1 10,000 messages, W2 100,000, W3 5,000, W4 50,000, 3
** rounds) keep a full run under a minute on a busy 2-core machine; --wK
** and --rounds scale it. With --sync full, W1 and W3 wait for an fsync
** per commit and take far longer.
**
** Exit status: 0 when the run completed (targets met or not), 1 on an
** error or a failed check, 2 on a usage error, 3 with --strict when a
** target was missed.
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
typedef sqlite3_uint64 u64;

#define BENCH_W1         0     /* index of W1 in aWorkload */
#define BENCH_W2         1     /* index of W2 */
#define BENCH_W3         2     /* index of W3 */
#define BENCH_W4         3     /* index of W4 */
#define BENCH_WORKLOADS  4     /* W1..W4 */
#define BENCH_CHATS      1000  /* chat ids cycle over this many chats */
#define BENCH_CHAT_BASE  10000 /* the first chat id */
#define BENCH_TEXT_BYTES 300   /* bytes of each message text */
#define BENCH_BATCH      1000  /* enqueues per transaction in W2, prefill */
#define BENCH_CLAIM      100   /* claims per transaction in W4 */
#define BENCH_TOKEN_MAX  80    /* room for an mp lease token and its NUL */
#define BENCH_ROUNDS_MAX 99    /* most rounds accepted */
#define BENCH_PATH_MAX   4096  /* longest path accepted */

#define BENCH_SIDE_RAW 1 /* bit of BenchOptions.mSide */
#define BENCH_SIDE_MP  2 /* bit of BenchOptions.mSide */

/* The mp configuration: Telegram's pacing must never limit the run. */
#define BENCH_MP_CONFIG                             \
 "{\"pace_chat_ms\":0,\"pace_group_per_minute\":0," \
 "\"pace_global_per_second\":0}"

/* The raw side's schema: what a competent user writes for a queue. */
#define BENCH_RAW_SCHEMA                                                 \
 "CREATE TABLE q(id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, "     \
 "message_text TEXT NOT NULL, event_data TEXT, "                         \
 "status TEXT NOT NULL DEFAULT 'pending', "                              \
 "priority INTEGER NOT NULL DEFAULT 1, "                                 \
 "retry_count INTEGER NOT NULL DEFAULT 0, telegram_message_id INTEGER, " \
 "lease_until INTEGER, lease_token TEXT, created_at INTEGER NOT NULL, "  \
 "updated_at INTEGER NOT NULL);"                                         \
 "CREATE INDEX q_queue ON q(status, priority DESC, id) "                 \
 "WHERE status = 'pending' OR status = 'sent';"

/* How a workload's target is expressed. */
#define BENCH_TARGET_RATIO 1 /* mp msg/s >= rTarget * raw msg/s */
#define BENCH_TARGET_RATE  2 /* mp msg/s >= rTarget */

typedef struct Bench Bench;
typedef struct BenchConn BenchConn;

/*
** One workload: its name, target and default sizes, and the function
** that runs its timed part on an open connection.
*/
typedef struct BenchWorkload BenchWorkload;
struct BenchWorkload {
  const char *zName;  /* "W1" */
  const char *zTitle; /* Short description for the table */
  int eTarget;        /* BENCH_TARGET_* */
  double rTarget;     /* The ratio or the rate to reach */
  int nDefault;       /* Messages in a full run */
  int nQuick;         /* Messages with --quick */
  int bPrefill;       /* True: n pending messages are stored first */
  void (*xRun)(Bench *, BenchConn *, int);
};

/* What the command line asked for. */
typedef struct BenchOptions BenchOptions;
struct BenchOptions {
  const char *zParent;          /* --dir, or NULL */
  const char *zJson;            /* --json, or NULL */
  int bQuick;                   /* --quick */
  int bKeep;                    /* --keep */
  int bStrict;                  /* --strict */
  int bVerbose;                 /* --verbose */
  int bFullSync;                /* --sync full */
  int nRounds;                  /* --rounds, or 0 for the default */
  int nCacheKib;                /* --cache-kib */
  unsigned mWorkload;           /* Bit k: run workload k */
  unsigned mSide;               /* BENCH_SIDE_* bits */
  int anCount[BENCH_WORKLOADS]; /* --wK, or 0 for the default */
};

/* One open database of one sample, with its prepared statements. */
struct BenchConn {
  sqlite3 *db;                /* The connection */
  int bMp;                    /* True on the mp side */
  char zPath[BENCH_PATH_MAX]; /* The database file */
  sqlite3_stmt *pEnqueue;     /* mp_enqueue() or the raw INSERT */
  sqlite3_stmt *pBegin;       /* BEGIN IMMEDIATE */
  sqlite3_stmt *pCommit;      /* COMMIT */
  sqlite3_stmt *pClaim;       /* Claim statement of W3 or W4, or NULL */
  sqlite3_stmt *pConfirm;     /* Confirm statement of W3 or W4, or NULL */
};

/* What one sample measured, per message. */
typedef struct BenchSampleStat BenchSampleStat;
struct BenchSampleStat {
  double rRate;   /* Messages per second of wall time (CLOCK_MONOTONIC) */
  double rCpuUs;  /* CPU time of the process, in microseconds */
  double rBytes;  /* Bytes written (wchar in /proc/self/io), or -1 */
  double rWrites; /* write() calls (syscw in /proc/self/io), or -1 */
};

/* The samples of one workload, by side: [0] raw, [1] mp. */
typedef struct BenchResult BenchResult;
struct BenchResult {
  int nMessages;                                /* Messages per sample */
  int nSample[2];                               /* Samples taken */
  BenchSampleStat aSample[2][BENCH_ROUNDS_MAX]; /* Each sample */
  BenchSampleStat aMedian[2];                   /* Medians, field by field */
};

/* The whole run. */
struct Bench {
  BenchOptions opt;                   /* The command line */
  int nRounds;                        /* Rounds to run */
  char zDir[BENCH_PATH_MAX];          /* The fresh temp directory */
  char zWhere[64];                    /* What runs now, for errors */
  u64 iRandom;                        /* xorshift64 state (raw tokens) */
  i64 iTelegramId;                    /* Next fake Telegram message id */
  char zFiller[BENCH_TEXT_BYTES + 1]; /* Text that pads each message */
  char zText[BENCH_TEXT_BYTES + 64];  /* The current message text */
  char zEvent[96];                    /* The current event JSON */
  char azToken[BENCH_CLAIM][BENCH_TOKEN_MAX]; /* mp lease tokens of W4 */
  i64 aiClaimed[BENCH_CLAIM];                 /* raw ids claimed in W4 */
  BenchResult aResult[BENCH_WORKLOADS];       /* Results, by workload */
  char zMpVersion[32];                        /* mp_version() */
  char zMpAutoVacuum[16];  /* PRAGMA auto_vacuum of mp's db */
  char zRawAutoVacuum[16]; /* PRAGMA auto_vacuum of raw's db */
};

/*
** Prints "mp-bench: WHERE: MESSAGE" to stderr, says where the database
** files were left, and exits with status 1. Never returns.
*/
static void benchFail(Bench *pB, const char *zFormat, ...) {
  va_list ap;
  fprintf(stderr, "mp-bench: %s: ", pB->zWhere[0] ? pB->zWhere : "setup");
  va_start(ap, zFormat);
  vfprintf(stderr, zFormat, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (pB->zDir[0]) {
    fprintf(stderr, "mp-bench: database files left in %s\n", pB->zDir);
  }
  exit(1);
}

/*
** Stops the run unless rc is rcWant, naming zWhat and the connection's
** error message.
*/
static void benchCheck(Bench *pB, sqlite3 *db, int rc, int rcWant,
                       const char *zWhat) {
  if (rc == rcWant) return;
  benchFail(pB, "%s: %s (%s, rc=%d)", zWhat, db ? sqlite3_errmsg(db) : "-",
            sqlite3_errstr(rc), rc);
}

/*
** Returns a prepared statement for zSql on db; stops the run on failure.
** The caller finalizes it.
*/
static sqlite3_stmt *benchPrepare(Bench *pB, sqlite3 *db, const char *zSql) {
  sqlite3_stmt *pStmt = 0;
  int rc =
      sqlite3_prepare_v3(db, zSql, -1, SQLITE_PREPARE_PERSISTENT, &pStmt, 0);
  if (rc != SQLITE_OK || pStmt == 0) {
    benchFail(pB, "cannot prepare \"%s\": %s", zSql, sqlite3_errmsg(db));
  }
  return pStmt;
}

/*
** Runs zSql (any number of statements, rows ignored); stops the run on
** failure.
*/
static void benchExec(Bench *pB, sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  if (rc != SQLITE_OK) {
    benchFail(pB, "\"%s\" failed: %s (rc=%d)", zSql,
              zErr ? zErr : sqlite3_errmsg(db), rc);
  }
  sqlite3_free(zErr);
}

/*
** Resets pStmt and clears its bindings; stops the run if the last step
** failed.
*/
static void benchReset(Bench *pB, sqlite3 *db, sqlite3_stmt *pStmt,
                       const char *zWhat) {
  benchCheck(pB, db, sqlite3_reset(pStmt), SQLITE_OK, zWhat);
  benchCheck(pB, db, sqlite3_clear_bindings(pStmt), SQLITE_OK, zWhat);
}

/*
** Steps pStmt, which must return no (more) rows, and resets it.
*/
static void benchStepDone(Bench *pB, sqlite3 *db, sqlite3_stmt *pStmt,
                          const char *zWhat) {
  benchCheck(pB, db, sqlite3_step(pStmt), SQLITE_DONE, zWhat);
  benchReset(pB, db, pStmt, zWhat);
}

/*
** Steps pStmt, which must return a row; the caller reads it.
*/
static void benchStepRow(Bench *pB, sqlite3 *db, sqlite3_stmt *pStmt,
                         const char *zWhat) {
  benchCheck(pB, db, sqlite3_step(pStmt), SQLITE_ROW, zWhat);
}

/*
** Binds integer v to parameter i of pStmt; stops the run on failure.
*/
static void benchBindInt(Bench *pB, sqlite3 *db, sqlite3_stmt *pStmt, int i,
                         i64 v) {
  benchCheck(pB, db, sqlite3_bind_int64(pStmt, i, v), SQLITE_OK, "bind");
}

/*
** Binds the n bytes of text at z (NULL: SQL NULL) to parameter i of pStmt,
** without a copy: z must stay valid until pStmt is reset. Stops the run on
** failure.
*/
static void benchBindText(Bench *pB, sqlite3 *db, sqlite3_stmt *pStmt, int i,
                          const char *z, int n) {
  int rc = z ? sqlite3_bind_text(pStmt, i, z, n, SQLITE_STATIC)
             : sqlite3_bind_null(pStmt, i);
  benchCheck(pB, db, rc, SQLITE_OK, "bind");
}

/*
** Runs zSql, which must return exactly one row, and returns its first
** column as text in zOut (nOut bytes). Stops the run otherwise.
*/
static void benchQueryText(Bench *pB, sqlite3 *db, const char *zSql, char *zOut,
                           int nOut) {
  sqlite3_stmt *pStmt = benchPrepare(pB, db, zSql);
  const unsigned char *z;
  benchStepRow(pB, db, pStmt, zSql);
  z = sqlite3_column_text(pStmt, 0);
  snprintf(zOut, (size_t)nOut, "%s", z ? (const char *)z : "NULL");
  benchCheck(pB, db, sqlite3_step(pStmt), SQLITE_DONE, zSql);
  benchCheck(pB, db, sqlite3_finalize(pStmt), SQLITE_OK, zSql);
}

/*
** Runs zSql, which must return exactly one row holding an integer, and
** returns it. Stops the run otherwise.
*/
static i64 benchQueryInt(Bench *pB, sqlite3 *db, const char *zSql) {
  sqlite3_stmt *pStmt = benchPrepare(pB, db, zSql);
  i64 v;
  benchStepRow(pB, db, pStmt, zSql);
  if (sqlite3_column_type(pStmt, 0) != SQLITE_INTEGER) {
    benchFail(pB, "\"%s\" did not return an integer", zSql);
  }
  v = sqlite3_column_int64(pStmt, 0);
  benchCheck(pB, db, sqlite3_step(pStmt), SQLITE_DONE, zSql);
  benchCheck(pB, db, sqlite3_finalize(pStmt), SQLITE_OK, zSql);
  return v;
}

/*
** Returns CLOCK_MONOTONIC in seconds.
*/
static double benchClock(Bench *pB) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    benchFail(pB, "clock_gettime: %s", strerror(errno));
  }
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
** Returns the wall clock in ms since the epoch, for the raw side's
** timestamps and leases (mp reads its own clock).
*/
static i64 benchWallMs(Bench *pB) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
    benchFail(pB, "clock_gettime: %s", strerror(errno));
  }
  return (i64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
** Returns the CPU time of this process in seconds.
*/
static double benchCpuClock(Bench *pB) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
    benchFail(pB, "clock_gettime: %s", strerror(errno));
  }
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
** Reads the bytes written and the write calls made so far by this process
** from /proc/self/io (Linux). Sets both to -1 where it is not available.
*/
static void benchIoCounters(double *prBytes, double *prWrites) {
  FILE *f = fopen("/proc/self/io", "r");
  char zLine[128];
  *prBytes = *prWrites = -1;
  if (f == 0) return;
  while (fgets(zLine, sizeof(zLine), f)) {
    unsigned long long v;
    if (sscanf(zLine, "wchar: %llu", &v) == 1) *prBytes = (double)v;
    if (sscanf(zLine, "syscw: %llu", &v) == 1) *prWrites = (double)v;
  }
  fclose(f);
}

/*
** Returns the next value of a xorshift64 generator (raw lease tokens).
*/
static u64 benchRandom(Bench *pB) {
  u64 x = pB->iRandom;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  pB->iRandom = x;
  return x;
}

/*
** Fills zFiller with BENCH_TEXT_BYTES of plausible notification text.
*/
static void benchFillerInit(Bench *pB) {
  static const char zSentence[] =
      "All 1,284 tests passed in 3 min 12 s, coverage 87.4%; artifacts "
      "were uploaded and the changelog was updated. ";
  int n = (int)sizeof(zSentence) - 1;
  for (int i = 0; i < BENCH_TEXT_BYTES; i++) {
    pB->zFiller[i] = zSentence[i % n];
  }
  pB->zFiller[BENCH_TEXT_BYTES] = 0;
}

/*
** Writes message i (text in zText, event JSON in zEvent) and returns its
** chat id. The text is exactly BENCH_TEXT_BYTES bytes.
*/
static i64 benchMessage(Bench *pB, int i, int *pnText, int *pnEvent) {
  i64 iChat = BENCH_CHAT_BASE + i % BENCH_CHATS;
  int n = snprintf(pB->zText, sizeof(pB->zText),
                   "Build #%d finished for chat %lld. ", i, iChat);
  memcpy(&pB->zText[n], pB->zFiller, (size_t)(BENCH_TEXT_BYTES - n));
  pB->zText[BENCH_TEXT_BYTES] = 0;
  *pnText = BENCH_TEXT_BYTES;
  *pnEvent =
      snprintf(pB->zEvent, sizeof(pB->zEvent),
               "{\"type\":\"build_completed\",\"title\":\"Build #%d\"}", i);
  return iChat;
}

/*
** Stores message i as pending with pC->pEnqueue: mp_enqueue() on the mp
** side, the prepared INSERT on the raw side.
*/
static void benchEnqueue(Bench *pB, BenchConn *pC, int i) {
  sqlite3_stmt *pStmt = pC->pEnqueue;
  int nText, nEvent;
  i64 iChat = benchMessage(pB, i, &nText, &nEvent);
  benchBindInt(pB, pC->db, pStmt, 1, iChat);
  benchBindText(pB, pC->db, pStmt, 2, pB->zText, nText);
  benchBindText(pB, pC->db, pStmt, 3, pB->zEvent, nEvent);
  if (pC->bMp) {
    benchBindText(pB, pC->db, pStmt, 4, 0, 0);
    benchStepRow(pB, pC->db, pStmt, "mp_enqueue");
    if (sqlite3_column_type(pStmt, 0) != SQLITE_TEXT ||
        sqlite3_column_bytes(pStmt, 0) != 36) {
      benchFail(pB, "mp_enqueue returned no id for message %d", i);
    }
    benchStepDone(pB, pC->db, pStmt, "mp_enqueue");
  } else {
    benchBindInt(pB, pC->db, pStmt, 4, benchWallMs(pB) / 1000);
    benchStepDone(pB, pC->db, pStmt, "insert");
  }
}

/*
** Stores messages 0..n-1 in transactions of up to BENCH_BATCH.
*/
static void benchEnqueueBatched(Bench *pB, BenchConn *pC, int n) {
  for (int i = 0; i < n; i++) {
    if (i % BENCH_BATCH == 0) benchStepDone(pB, pC->db, pC->pBegin, "begin");
    benchEnqueue(pB, pC, i);
    if (i % BENCH_BATCH == BENCH_BATCH - 1 || i == n - 1) {
      benchStepDone(pB, pC->db, pC->pCommit, "commit");
    }
  }
}

/*
** W1: n enqueues, one per transaction (autocommit).
*/
static void benchRunW1(Bench *pB, BenchConn *pC, int n) {
  for (int i = 0; i < n; i++) {
    benchEnqueue(pB, pC, i);
  }
}

/*
** W2: n enqueues, BENCH_BATCH per transaction.
*/
static void benchRunW2(Bench *pB, BenchConn *pC, int n) {
  benchEnqueueBatched(pB, pC, n);
}

/*
** Claims up to nMax pending messages with pC->pClaim (mp_claim() or the
** raw UPDATE ... RETURNING) and remembers them: mp lease tokens in
** azToken, raw ids in aiClaimed. Returns how many were claimed.
*/
static int benchClaim(Bench *pB, BenchConn *pC, int nMax) {
  sqlite3_stmt *pStmt = pC->pClaim;
  char zToken[17]; /* Bound without a copy: lives until the reset below */
  int nRow = 0;
  int rc;
  if (pC->bMp) {
    if (sqlite3_bind_parameter_count(pStmt) > 0) {
      benchBindInt(pB, pC->db, pStmt, 1, nMax);
    }
  } else {
    i64 iNowMs = benchWallMs(pB);
    snprintf(zToken, sizeof(zToken), "%016llx",
             (unsigned long long)benchRandom(pB));
    benchBindInt(pB, pC->db, pStmt, 1, iNowMs + 60000);
    benchBindText(pB, pC->db, pStmt, 2, zToken, 16);
    benchBindInt(pB, pC->db, pStmt, 3, iNowMs / 1000);
    if (sqlite3_bind_parameter_count(pStmt) > 3) {
      benchBindInt(pB, pC->db, pStmt, 4, nMax);
    }
  }
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    if (nRow >= nMax) benchFail(pB, "claim returned more than %d rows", nMax);
    if (pC->bMp) {
      const unsigned char *z = sqlite3_column_text(pStmt, 1);
      int nByte = sqlite3_column_bytes(pStmt, 1);
      if (z == 0 || nByte <= 0 || nByte >= BENCH_TOKEN_MAX) {
        benchFail(pB, "mp_claim returned a bad lease token");
      }
      memcpy(pB->azToken[nRow], z, (size_t)nByte + 1);
    } else {
      if (sqlite3_column_type(pStmt, 2) != SQLITE_TEXT) {
        benchFail(pB, "claim returned no message text");
      }
      pB->aiClaimed[nRow] = sqlite3_column_int64(pStmt, 0);
    }
    nRow++;
  }
  benchCheck(pB, pC->db, rc, SQLITE_DONE, "claim");
  benchReset(pB, pC->db, pStmt, "claim");
  return nRow;
}

/*
** Confirms claimed message k (of the last benchClaim()) with
** pC->pConfirm: mp_confirm() by lease token, or the raw UPDATE by id.
*/
static void benchConfirm(Bench *pB, BenchConn *pC, int k) {
  sqlite3_stmt *pStmt = pC->pConfirm;
  i64 iTelegramId = pB->iTelegramId++;
  if (pC->bMp) {
    benchBindText(pB, pC->db, pStmt, 1, pB->azToken[k], -1);
    benchBindInt(pB, pC->db, pStmt, 2, iTelegramId);
    benchStepRow(pB, pC->db, pStmt, "mp_confirm");
    if (sqlite3_column_int(pStmt, 0) != 1) {
      benchFail(pB, "mp_confirm did not return 1");
    }
    benchStepDone(pB, pC->db, pStmt, "mp_confirm");
  } else {
    benchBindInt(pB, pC->db, pStmt, 1, iTelegramId);
    benchBindInt(pB, pC->db, pStmt, 2, benchWallMs(pB) / 1000);
    benchBindInt(pB, pC->db, pStmt, 3, pB->aiClaimed[k]);
    benchStepDone(pB, pC->db, pStmt, "confirm");
    if (sqlite3_changes(pC->db) != 1) {
      benchFail(pB, "confirm of id %lld changed %d rows", pB->aiClaimed[k],
                sqlite3_changes(pC->db));
    }
  }
}

/*
** W3: n times, claim one message (its own transaction), then confirm it
** (its own transaction), as a runner does.
*/
static void benchRunW3(Bench *pB, BenchConn *pC, int n) {
  for (int i = 0; i < n; i++) {
    if (benchClaim(pB, pC, 1) != 1) {
      benchFail(pB, "claim %d of %d found no message", i + 1, n);
    }
    benchConfirm(pB, pC, 0);
  }
}

/*
** W4: claim BENCH_CLAIM messages and confirm them, in one transaction,
** until n are confirmed.
*/
static void benchRunW4(Bench *pB, BenchConn *pC, int n) {
  for (int nDone = 0; nDone < n;) {
    int nWant = n - nDone < BENCH_CLAIM ? n - nDone : BENCH_CLAIM;
    int nGot;
    benchStepDone(pB, pC->db, pC->pBegin, "begin");
    nGot = benchClaim(pB, pC, nWant);
    if (nGot != nWant) {
      benchFail(pB, "claim of %d after %d confirmed returned %d", nWant, nDone,
                nGot);
    }
    for (int k = 0; k < nGot; k++) {
      benchConfirm(pB, pC, k);
    }
    benchStepDone(pB, pC->db, pC->pCommit, "commit");
    nDone += nGot;
  }
}

// clang-format off
static const BenchWorkload aWorkload[BENCH_WORKLOADS] = {
  { "W1", "enqueue, 1 per tx",        BENCH_TARGET_RATIO, 0.85,
    10000,  200,  0, benchRunW1 },
  { "W2", "enqueue, 1000 per tx",     BENCH_TARGET_RATIO, 0.85,
    100000, 2000, 0, benchRunW2 },
  { "W3", "claim+confirm, 1 per tx",  BENCH_TARGET_RATIO, 0.80,
    5000,   200,  1, benchRunW3 },
  { "W4", "claim+confirm, 100 per tx", BENCH_TARGET_RATE, 50000.0,
    50000,  1000, 1, benchRunW4 },
};
// clang-format on

/*
** Opens a fresh database file for one sample, applies the pragmas both
** sides share, and creates the schema: mp_init() on the mp side, the q
** table on the raw side. Prepares the statements workload w needs.
*/
static void benchOpen(Bench *pB, BenchConn *pC, int w, int bMp, int iRound) {
  char *zErr = 0;
  char zMode[16];
  char zSql[64];
  int rc;
  memset(pC, 0, sizeof(*pC));
  pC->bMp = bMp;
  if (snprintf(pC->zPath, sizeof(pC->zPath), "%s/%s-%s-r%d.db", pB->zDir,
               aWorkload[w].zName, bMp ? "mp" : "raw",
               iRound + 1) >= (int)sizeof(pC->zPath)) {
    benchFail(pB, "path too long");
  }
  rc = sqlite3_open_v2(pC->zPath, &pC->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  benchCheck(pB, pC->db, rc, SQLITE_OK, pC->zPath);
  benchQueryText(pB, pC->db, "PRAGMA journal_mode = WAL", zMode,
                 (int)sizeof(zMode));
  if (strcmp(zMode, "wal") != 0) {
    benchFail(pB, "journal_mode is %s, not wal", zMode);
  }
  benchExec(pB, pC->db,
            pB->opt.bFullSync ? "PRAGMA synchronous = FULL"
                              : "PRAGMA synchronous = NORMAL");
  benchExec(pB, pC->db, "PRAGMA busy_timeout = 5000");
  snprintf(zSql, sizeof(zSql), "PRAGMA cache_size = -%d", pB->opt.nCacheKib);
  benchExec(pB, pC->db, zSql);
  if (bMp) {
    rc = sqlite3_mp_init(pC->db, &zErr, 0);
    if (rc != SQLITE_OK) {
      benchFail(pB, "sqlite3_mp_init: %s (rc=%d)", zErr ? zErr : "?", rc);
    }
    benchQueryText(pB, pC->db, "SELECT mp_init('" BENCH_MP_CONFIG "')", zSql,
                   (int)sizeof(zSql));
    benchQueryText(pB, pC->db, "SELECT mp_version()", pB->zMpVersion,
                   (int)sizeof(pB->zMpVersion));
    pC->pEnqueue =
        benchPrepare(pB, pC->db, "SELECT mp_enqueue(?1, ?2, ?3, ?4)");
  } else {
    benchExec(pB, pC->db, BENCH_RAW_SCHEMA);
    pC->pEnqueue = benchPrepare(
        pB, pC->db,
        "INSERT INTO q(chat_id, message_text, event_data, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?4)");
  }
  benchQueryText(pB, pC->db, "PRAGMA auto_vacuum", zMode, (int)sizeof(zMode));
  snprintf(bMp ? pB->zMpAutoVacuum : pB->zRawAutoVacuum, 16, "%s",
           strcmp(zMode, "0") == 0   ? "none"
           : strcmp(zMode, "1") == 0 ? "full"
                                     : "incremental");
  pC->pBegin = benchPrepare(pB, pC->db, "BEGIN IMMEDIATE");
  pC->pCommit = benchPrepare(pB, pC->db, "COMMIT");
  if (w == BENCH_W3 && bMp) {
    pC->pClaim =
        benchPrepare(pB, pC->db, "SELECT id, lease_token FROM mp_claim(1)");
  } else if (w == BENCH_W4 && bMp) {
    pC->pClaim =
        benchPrepare(pB, pC->db, "SELECT id, lease_token FROM mp_claim(?1)");
  } else if (w == BENCH_W3) {
    pC->pClaim = benchPrepare(
        pB, pC->db,
        "UPDATE q SET status = 'sent', lease_until = ?1, lease_token = ?2, "
        "updated_at = ?3 WHERE id = (SELECT id FROM q WHERE status = "
        "'pending' ORDER BY priority DESC, id LIMIT 1) "
        "RETURNING id, chat_id, message_text");
  } else if (w == BENCH_W4) {
    pC->pClaim = benchPrepare(
        pB, pC->db,
        "UPDATE q SET status = 'sent', lease_until = ?1, lease_token = ?2, "
        "updated_at = ?3 WHERE id IN (SELECT id FROM q WHERE status = "
        "'pending' ORDER BY priority DESC, id LIMIT ?4) "
        "RETURNING id, chat_id, message_text");
  }
  if (w == BENCH_W3 || w == BENCH_W4) {
    pC->pConfirm = benchPrepare(
        pB, pC->db,
        bMp ? "SELECT mp_confirm(?1, ?2, 'telegram')"
            : "UPDATE q SET status = 'confirmed', telegram_message_id = ?1, "
              "lease_until = NULL, lease_token = NULL, updated_at = ?2 "
              "WHERE id = ?3 AND status = 'sent'");
  }
}

/*
** Moves everything in the WAL into the database and truncates the WAL,
** so that both sides start a timed run from the same state.
*/
static void benchCheckpoint(Bench *pB, BenchConn *pC) {
  sqlite3_stmt *pStmt =
      benchPrepare(pB, pC->db, "PRAGMA wal_checkpoint(TRUNCATE)");
  benchStepRow(pB, pC->db, pStmt, "wal_checkpoint");
  if (sqlite3_column_int(pStmt, 0) != 0) {
    benchFail(pB, "wal_checkpoint(TRUNCATE) could not finish");
  }
  benchCheck(pB, pC->db, sqlite3_step(pStmt), SQLITE_DONE, "wal_checkpoint");
  benchCheck(pB, pC->db, sqlite3_finalize(pStmt), SQLITE_OK, "wal_checkpoint");
}

/*
** Stops the run unless zSql returns iWant.
*/
static void benchExpect(Bench *pB, BenchConn *pC, const char *zSql, i64 iWant) {
  i64 iGot = benchQueryInt(pB, pC->db, zSql);
  if (iGot != iWant) {
    benchFail(pB, "check failed: %s returned %lld, expected %lld", zSql, iGot,
              iWant);
  }
}

/*
** Checks the database after workload w stored (W1, W2) or confirmed (W3,
** W4) n messages. Cheap: mp_stats reads counters, the counts walk an
** index or the table once.
*/
static void benchVerify(Bench *pB, BenchConn *pC, int w, int n) {
  int bEnqueue = w == BENCH_W1 || w == BENCH_W2;
  if (pC->bMp) {
    benchExpect(pB, pC, "SELECT value FROM mp_stats WHERE name = 'pending'",
                bEnqueue ? n : 0);
    benchExpect(pB, pC, "SELECT value FROM mp_stats WHERE name = 'sent'", 0);
    benchExpect(pB, pC, "SELECT value FROM mp_stats WHERE name = 'confirmed'",
                bEnqueue ? 0 : n);
    benchExpect(pB, pC, "SELECT value FROM mp_stats WHERE name = 'total'", n);
    benchExpect(pB, pC,
                bEnqueue ? "SELECT count(*) FROM messages "
                           "WHERE status = 'pending'"
                         : "SELECT count(*) FROM messages "
                           "WHERE status = 'confirmed' "
                           "AND telegram_message_id IS NOT NULL",
                n);
    benchExpect(pB, pC, "SELECT count(*) FROM messages", n);
    benchExpect(pB, pC,
                "SELECT mp_verify(id) FROM messages "
                "WHERE seq = (SELECT max(seq) FROM messages)",
                0);
  } else {
    benchExpect(pB, pC,
                bEnqueue ? "SELECT count(*) FROM q WHERE status = 'pending'"
                         : "SELECT count(*) FROM q WHERE status = "
                           "'confirmed' AND telegram_message_id IS NOT NULL",
                n);
    benchExpect(pB, pC, "SELECT count(*) FROM q", n);
  }
}

/*
** Finalizes the statements, closes the connection (which must succeed:
** mp may leave no statement open) and deletes the database files.
*/
static void benchClose(Bench *pB, BenchConn *pC) {
  static const char *const azSuffix[] = { "", "-wal", "-shm" };
  sqlite3_stmt *apStmt[] = { pC->pEnqueue, pC->pBegin, pC->pCommit, pC->pClaim,
                             pC->pConfirm };
  for (size_t i = 0; i < sizeof(apStmt) / sizeof(apStmt[0]); i++) {
    benchCheck(pB, pC->db, sqlite3_finalize(apStmt[i]), SQLITE_OK, "finalize");
  }
  benchCheck(pB, pC->db, sqlite3_close(pC->db), SQLITE_OK, "close");
  if (pB->opt.bKeep) return;
  for (size_t i = 0; i < sizeof(azSuffix) / sizeof(azSuffix[0]); i++) {
    char zFile[BENCH_PATH_MAX + 8];
    snprintf(zFile, sizeof(zFile), "%s%s", pC->zPath, azSuffix[i]);
    if (unlink(zFile) != 0 && errno != ENOENT) {
      benchFail(pB, "cannot delete %s: %s", zFile, strerror(errno));
    }
  }
}

/*
** Runs one sample: workload w on side bMp in round iRound, on fresh
** database files. Records its rate in pB->aResult[w].
*/
static void benchSample(Bench *pB, int w, int bMp, int iRound) {
  const BenchWorkload *pW = &aWorkload[w];
  BenchResult *pR = &pB->aResult[w];
  BenchSampleStat *pS = &pR->aSample[bMp][pR->nSample[bMp]];
  BenchConn conn;
  int n = pR->nMessages;
  double rWall, rCpu, rBytes, rWrites, rBytes1, rWrites1;
  snprintf(pB->zWhere, sizeof(pB->zWhere), "%s %s round %d", pW->zName,
           bMp ? "mp" : "raw", iRound + 1);
  benchOpen(pB, &conn, w, bMp, iRound);
  if (pW->bPrefill) benchEnqueueBatched(pB, &conn, n);
  benchCheckpoint(pB, &conn);
  benchIoCounters(&rBytes, &rWrites);
  rCpu = benchCpuClock(pB);
  rWall = benchClock(pB);
  pW->xRun(pB, &conn, n);
  rWall = benchClock(pB) - rWall;
  rCpu = benchCpuClock(pB) - rCpu;
  benchIoCounters(&rBytes1, &rWrites1);
  benchVerify(pB, &conn, w, n);
  benchClose(pB, &conn);
  pS->rRate = n / (rWall > 0 ? rWall : 1e-9);
  pS->rCpuUs = rCpu * 1e6 / n;
  pS->rBytes = rBytes < 0 || rBytes1 < 0 ? -1 : (rBytes1 - rBytes) / n;
  pS->rWrites = rWrites < 0 || rWrites1 < 0 ? -1 : (rWrites1 - rWrites) / n;
  pR->nSample[bMp]++;
  if (pB->opt.bVerbose) {
    fprintf(stderr,
            "mp-bench: %-18s %7d msgs %8.3f s %9.0f msg/s %7.1f cpu us/msg "
            "%7.0f B/msg\n",
            pB->zWhere, n, rWall, pS->rRate, pS->rCpuUs, pS->rBytes);
  }
  pB->zWhere[0] = 0;
}

/*
** Runs every mp call of the workloads once on a scratch in-memory
** database, so that one-time costs (OpenSSL loading its SHA-256 provider,
** first use of the code pages) do not land in the first timed sample.
*/
static void benchWarmUp(Bench *pB) {
  static const char *const azSql[] = {
    "SELECT mp_init('" BENCH_MP_CONFIG "')",
    "SELECT mp_enqueue(1, 'warm-up', '{\"type\":\"test\"}', NULL)",
    "SELECT mp_confirm(lease_token, 1, 'telegram') FROM mp_claim(1)",
    "SELECT value FROM mp_stats WHERE name = 'confirmed'",
  };
  sqlite3 *db = 0;
  char *zErr = 0;
  char zOut[16];
  int rc;
  snprintf(pB->zWhere, sizeof(pB->zWhere), "warm-up");
  rc = sqlite3_open(":memory:", &db);
  benchCheck(pB, db, rc, SQLITE_OK, "open :memory:");
  rc = sqlite3_mp_init(db, &zErr, 0);
  if (rc != SQLITE_OK) {
    benchFail(pB, "sqlite3_mp_init: %s (rc=%d)", zErr ? zErr : "?", rc);
  }
  for (size_t i = 0; i < sizeof(azSql) / sizeof(azSql[0]); i++) {
    benchQueryText(pB, db, azSql[i], zOut, (int)sizeof(zOut));
  }
  if (strcmp(zOut, "1") != 0) benchFail(pB, "mp_stats confirmed is %s", zOut);
  benchCheck(pB, db, sqlite3_close(db), SQLITE_OK, "close");
  pB->zWhere[0] = 0;
}

/*
** qsort comparison of two doubles, ascending.
*/
static int benchCompareDouble(const void *pA, const void *pB) {
  double a = *(const double *)pA, b = *(const double *)pB;
  return (a > b) - (a < b);
}

/*
** Returns the median of the n values at a (0 if n is 0). Sorts a.
*/
static double benchMedian(double *a, int n) {
  if (n == 0) return 0;
  qsort(a, (size_t)n, sizeof(double), benchCompareDouble);
  return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

/*
** Sets pR->aMedian[s] to the medians, field by field, of side s's samples.
** A field that any sample could not measure (-1) stays -1.
*/
static void benchMedians(BenchResult *pR, int s) {
  double aRate[BENCH_ROUNDS_MAX], aCpu[BENCH_ROUNDS_MAX];
  double aBytes[BENCH_ROUNDS_MAX], aWrites[BENCH_ROUNDS_MAX];
  int n = pR->nSample[s];
  int bIo = 1;
  for (int i = 0; i < n; i++) {
    const BenchSampleStat *pS = &pR->aSample[s][i];
    aRate[i] = pS->rRate;
    aCpu[i] = pS->rCpuUs;
    aBytes[i] = pS->rBytes;
    aWrites[i] = pS->rWrites;
    if (pS->rBytes < 0 || pS->rWrites < 0) bIo = 0;
  }
  pR->aMedian[s].rRate = benchMedian(aRate, n);
  pR->aMedian[s].rCpuUs = benchMedian(aCpu, n);
  pR->aMedian[s].rBytes = bIo ? benchMedian(aBytes, n) : -1;
  pR->aMedian[s].rWrites = bIo ? benchMedian(aWrites, n) : -1;
}

/*
** Returns 1 if workload w met its target, 0 if it missed it, or -1 if
** this run cannot tell (a side was not run).
*/
static int benchMet(const Bench *pB, int w) {
  const BenchResult *pR = &pB->aResult[w];
  double rMp = pR->aMedian[1].rRate, rRaw = pR->aMedian[0].rRate;
  if (aWorkload[w].eTarget == BENCH_TARGET_RATE) {
    if (pR->nSample[1] == 0) return -1;
    return rMp >= aWorkload[w].rTarget;
  }
  if (pR->nSample[0] == 0 || pR->nSample[1] == 0) return -1;
  return rMp >= aWorkload[w].rTarget * rRaw;
}

/*
** Returns the ratio mp/raw of the median rates of workload w, or -1 when
** a side was not run.
*/
static double benchRatio(const Bench *pB, int w) {
  const BenchResult *pR = &pB->aResult[w];
  if (pR->nSample[0] == 0 || pR->nSample[1] == 0) return -1;
  if (pR->aMedian[0].rRate <= 0) return -1;
  return pR->aMedian[1].rRate / pR->aMedian[0].rRate;
}

/*
** Formats v with zFormat into zOut, or "-" when there is no value (side
** s of pR has no sample, or v < 0).
*/
static void benchCell(char *zOut, size_t nOut, const char *zFormat,
                      const BenchResult *pR, int s, double v) {
  if (pR->nSample[s] == 0 || v < 0) {
    snprintf(zOut, nOut, "-");
  } else {
    snprintf(zOut, nOut, zFormat, v);
  }
}

/*
** Prints the result table, then the cost per message of each side, to
** stdout. Returns the number of targets missed.
*/
static int benchPrintTable(const Bench *pB) {
  int nMissed = 0;
  printf("mp-bench: mp %s, SQLite %s, journal_mode=wal, synchronous=%s, "
         "cache_size=-%d, %d round%s\n",
         pB->zMpVersion[0] ? pB->zMpVersion : "?", sqlite3_libversion(),
         pB->opt.bFullSync ? "full" : "normal", pB->opt.nCacheKib, pB->nRounds,
         pB->nRounds == 1 ? "" : "s");
  printf("auto_vacuum: mp %s, raw %s\n\n",
         pB->zMpAutoVacuum[0] ? pB->zMpAutoVacuum : "-",
         pB->zRawAutoVacuum[0] ? pB->zRawAutoVacuum : "-");
  printf("%-30s %8s %10s %10s %7s  %-15s %s\n", "workload", "messages",
         "mp msg/s", "raw msg/s", "mp/raw", "target", "met");
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    const BenchResult *pR = &pB->aResult[w];
    char zName[40], zMp[16], zRaw[16], zRatio[16], zTarget[24];
    int bMet = benchMet(pB, w);
    if (!(pB->opt.mWorkload & (1u << w))) continue;
    snprintf(zName, sizeof(zName), "%s %s", aWorkload[w].zName,
             aWorkload[w].zTitle);
    benchCell(zMp, sizeof(zMp), "%.0f", pR, 1, pR->aMedian[1].rRate);
    benchCell(zRaw, sizeof(zRaw), "%.0f", pR, 0, pR->aMedian[0].rRate);
    benchCell(zRatio, sizeof(zRatio), "%.2fx", pR, 1, benchRatio(pB, w));
    if (aWorkload[w].eTarget == BENCH_TARGET_RATE) {
      snprintf(zTarget, sizeof(zTarget), ">= %.0f msg/s", aWorkload[w].rTarget);
    } else {
      snprintf(zTarget, sizeof(zTarget), ">= %.2fx", aWorkload[w].rTarget);
    }
    printf("%-30s %8d %10s %10s %7s  %-15s %s\n", zName, pR->nMessages, zMp,
           zRaw, zRatio, zTarget,
           bMet < 0 ? "-"
           : bMet   ? "yes"
                    : "NO");
    if (bMet == 0) nMissed++;
  }
  printf("\nper message (medians)   %11s %11s %10s %10s %9s %9s\n", "mp cpu us",
         "raw cpu us", "mp bytes", "raw bytes", "mp wr", "raw wr");
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    const BenchResult *pR = &pB->aResult[w];
    char az[6][16];
    if (!(pB->opt.mWorkload & (1u << w))) continue;
    for (int s = 0; s < 2; s++) {
      benchCell(az[s], 16, "%.1f", pR, 1 - s, pR->aMedian[1 - s].rCpuUs);
      benchCell(az[2 + s], 16, "%.0f", pR, 1 - s, pR->aMedian[1 - s].rBytes);
      benchCell(az[4 + s], 16, "%.2f", pR, 1 - s, pR->aMedian[1 - s].rWrites);
    }
    printf("%-23s %11s %11s %10s %10s %9s %9s\n", aWorkload[w].zName, az[0],
           az[1], az[2], az[3], az[4], az[5]);
  }
  printf("(cpu: CLOCK_PROCESS_CPUTIME_ID; bytes and wr: write() bytes and "
         "calls, /proc/self/io)\n");
  return nMissed;
}

/*
** Writes z to f as a JSON string.
*/
static void benchJsonString(FILE *f, const char *z) {
  fputc('"', f);
  for (; *z; z++) {
    unsigned char c = (unsigned char)*z;
    if (c == '"' || c == '\\') {
      fprintf(f, "\\%c", c);
    } else if (c < 0x20) {
      fprintf(f, "\\u%04x", c);
    } else {
      fputc(c, f);
    }
  }
  fputc('"', f);
}

/*
** Writes v to f as a JSON number with one decimal, or null when v < 0.
*/
static void benchJsonNumber(FILE *f, double v) {
  if (v < 0) {
    fprintf(f, "null");
  } else {
    fprintf(f, "%.1f", v);
  }
}

/*
** Writes one side of workload w to f: the medians and every sample.
*/
static void benchJsonSide(FILE *f, const BenchResult *pR, int s) {
  static const char *const azField[] = { "msg_s", "cpu_us_per_msg",
                                         "bytes_written_per_msg",
                                         "writes_per_msg" };
  fprintf(f, "\"%s\": ", s ? "mp" : "raw");
  if (pR->nSample[s] == 0) {
    fprintf(f, "null");
    return;
  }
  fputc('{', f);
  for (int k = 0; k < 4; k++) {
    const BenchSampleStat *pM = &pR->aMedian[s];
    double v = k == 0   ? pM->rRate
               : k == 1 ? pM->rCpuUs
               : k == 2 ? pM->rBytes
                        : pM->rWrites;
    fprintf(f, "%s\"%s\": ", k ? ", " : "", azField[k]);
    benchJsonNumber(f, v);
  }
  fprintf(f, ", \"samples_msg_s\": [");
  for (int i = 0; i < pR->nSample[s]; i++) {
    fprintf(f, "%s%.1f", i ? ", " : "", pR->aSample[s][i].rRate);
  }
  fprintf(f, "]}");
}

/*
** Writes the results to zFile as JSON; stops the run on an I/O error.
*/
static void benchWriteJson(Bench *pB, const char *zFile) {
  FILE *f = fopen(zFile, "w");
  int bFirst = 1;
  if (f == 0) benchFail(pB, "cannot write %s: %s", zFile, strerror(errno));
  fprintf(f, "{\n  \"mp_version\": ");
  benchJsonString(f, pB->zMpVersion);
  fprintf(f, ",\n  \"sqlite_version\": ");
  benchJsonString(f, sqlite3_libversion());
  fprintf(f,
          ",\n  \"journal_mode\": \"wal\",\n  \"synchronous\": \"%s\",\n"
          "  \"cache_kib\": %d,\n  \"rounds\": %d,\n  \"quick\": %s,\n"
          "  \"auto_vacuum\": {\"mp\": ",
          pB->opt.bFullSync ? "full" : "normal", pB->opt.nCacheKib, pB->nRounds,
          pB->opt.bQuick ? "true" : "false");
  benchJsonString(f, pB->zMpAutoVacuum);
  fprintf(f, ", \"raw\": ");
  benchJsonString(f, pB->zRawAutoVacuum);
  fprintf(f, "},\n  \"workloads\": [");
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    const BenchResult *pR = &pB->aResult[w];
    int bMet = benchMet(pB, w);
    double rRatio = benchRatio(pB, w);
    if (!(pB->opt.mWorkload & (1u << w))) continue;
    fprintf(f, "%s\n    {\"name\": \"%s\", \"title\": ", bFirst ? "" : ",",
            aWorkload[w].zName);
    benchJsonString(f, aWorkload[w].zTitle);
    fprintf(f, ", \"messages\": %d,\n     ", pR->nMessages);
    benchJsonSide(f, pR, 1);
    fprintf(f, ",\n     ");
    benchJsonSide(f, pR, 0);
    fprintf(f, ",\n     \"ratio\": ");
    if (rRatio < 0) {
      fprintf(f, "null");
    } else {
      fprintf(f, "%.4f", rRatio);
    }
    fprintf(f, ", \"target\": {\"kind\": \"%s\", \"value\": %g}",
            aWorkload[w].eTarget == BENCH_TARGET_RATE ? "mp_msg_s" : "ratio",
            aWorkload[w].rTarget);
    fprintf(f, ", \"met\": %s}", bMet < 0 ? "null" : bMet ? "true" : "false");
    bFirst = 0;
  }
  fprintf(f, "\n  ]\n}\n");
  if (ferror(f) | fclose(f)) {
    benchFail(pB, "cannot write %s: %s", zFile, strerror(errno));
  }
}

/*
** Prints the usage message to stderr and exits with status 2.
*/
static void benchUsage(const char *zError) {
  if (zError) fprintf(stderr, "mp-bench: %s\n", zError);
  fprintf(stderr,
          "usage: mp-bench [--quick] [--rounds R] [--sync normal|full] "
          "[--dir DIR]\n"
          "                [--json FILE] [--cache-kib N] "
          "[--only W1,W2,W3,W4]\n"
          "                [--side both|mp|raw] [--w1 N] [--w2 N] [--w3 N] "
          "[--w4 N]\n"
          "                [--keep] [--strict] [--verbose]\n");
  exit(2);
}

/*
** Returns the integer in z if it is within [iMin, iMax], else exits with
** a usage error naming zOpt.
*/
static int benchParseInt(const char *zOpt, const char *z, int iMin, int iMax) {
  char *zEnd = 0;
  long v;
  errno = 0;
  v = strtol(z, &zEnd, 10);
  if (errno || zEnd == z || *zEnd || v < iMin || v > iMax) {
    char zMsg[128];
    snprintf(zMsg, sizeof(zMsg), "%s needs an integer from %d to %d", zOpt,
             iMin, iMax);
    benchUsage(zMsg);
  }
  return (int)v;
}

/*
** Returns the bit set of workloads named in the comma-separated zList
** ("W1,W3"; case does not matter), or exits with a usage error.
*/
static unsigned benchParseWorkloads(const char *zList) {
  unsigned m = 0;
  const char *z = zList;
  while (*z) {
    size_t n = strcspn(z, ",");
    int w = -1;
    for (int k = 0; k < BENCH_WORKLOADS; k++) {
      if (n == 2 && (z[0] == 'W' || z[0] == 'w') &&
          z[1] == aWorkload[k].zName[1]) {
        w = k;
      }
    }
    if (w < 0) benchUsage("--only takes a list such as W1,W3");
    m |= 1u << w;
    z += n;
    if (*z == ',') z++;
  }
  if (m == 0) benchUsage("--only takes a list such as W1,W3");
  return m;
}

/*
** Parses the command line into pOpt; exits with status 2 on a usage
** error.
*/
static void benchParseArgs(int argc, char **argv, BenchOptions *pOpt) {
  static const char *const azValued[] = {
    "-rounds", "-sync", "-dir", "-json", "-cache-kib", "-only",
    "-side",   "-w1",   "-w2",  "-w3",   "-w4",
  };
  memset(pOpt, 0, sizeof(*pOpt));
  pOpt->nCacheKib = 2000;
  pOpt->mWorkload = (1u << BENCH_WORKLOADS) - 1;
  pOpt->mSide = BENCH_SIDE_RAW | BENCH_SIDE_MP;
  for (int i = 1; i < argc; i++) {
    const char *z = argv[i];
    const char *zVal = 0;
    char zMsg[160];
    if (z[0] == '-' && z[1] == '-') z++;
    if (strcmp(z, "-quick") == 0) {
      pOpt->bQuick = 1;
      continue;
    } else if (strcmp(z, "-keep") == 0) {
      pOpt->bKeep = 1;
      continue;
    } else if (strcmp(z, "-strict") == 0) {
      pOpt->bStrict = 1;
      continue;
    } else if (strcmp(z, "-verbose") == 0 || strcmp(z, "-v") == 0) {
      pOpt->bVerbose = 1;
      continue;
    } else if (strcmp(z, "-help") == 0 || strcmp(z, "-h") == 0) {
      benchUsage(0);
    }
    for (size_t k = 0; k < sizeof(azValued) / sizeof(azValued[0]); k++) {
      if (strcmp(z, azValued[k]) == 0) zVal = i + 1 < argc ? argv[i + 1] : "";
    }
    if (zVal == 0) {
      snprintf(zMsg, sizeof(zMsg), "unknown argument %s", argv[i]);
      benchUsage(zMsg);
    }
    if (i + 1 >= argc) {
      snprintf(zMsg, sizeof(zMsg), "%s needs a value", argv[i]);
      benchUsage(zMsg);
    }
    i++;
    if (strcmp(z, "-rounds") == 0) {
      pOpt->nRounds = benchParseInt("--rounds", zVal, 1, BENCH_ROUNDS_MAX);
    } else if (strcmp(z, "-sync") == 0) {
      if (strcmp(zVal, "full") != 0 && strcmp(zVal, "normal") != 0) {
        benchUsage("--sync takes full or normal");
      }
      pOpt->bFullSync = strcmp(zVal, "full") == 0;
    } else if (strcmp(z, "-dir") == 0) {
      pOpt->zParent = zVal;
    } else if (strcmp(z, "-json") == 0) {
      pOpt->zJson = zVal;
    } else if (strcmp(z, "-cache-kib") == 0) {
      pOpt->nCacheKib = benchParseInt("--cache-kib", zVal, 64, 16777216);
    } else if (strcmp(z, "-only") == 0) {
      pOpt->mWorkload = benchParseWorkloads(zVal);
    } else if (strcmp(z, "-side") == 0) {
      if (strcmp(zVal, "both") == 0) {
        pOpt->mSide = BENCH_SIDE_RAW | BENCH_SIDE_MP;
      } else if (strcmp(zVal, "mp") == 0) {
        pOpt->mSide = BENCH_SIDE_MP;
      } else if (strcmp(zVal, "raw") == 0) {
        pOpt->mSide = BENCH_SIDE_RAW;
      } else {
        benchUsage("--side takes both, mp or raw");
      }
    } else {
      /* One of -w1 .. -w4. */
      pOpt->anCount[z[2] - '1'] = benchParseInt(argv[i - 1], zVal, 1, 10000000);
    }
  }
}

/*
** Makes the fresh temp directory under --dir, $TMPDIR or /tmp.
*/
static void benchMakeDir(Bench *pB) {
  const char *zParent = pB->opt.zParent;
  if (zParent == 0) zParent = getenv("TMPDIR");
  if (zParent == 0 || zParent[0] == 0) zParent = "/tmp";
  if (snprintf(pB->zDir, sizeof(pB->zDir), "%s/mp-bench-XXXXXX", zParent) >=
      (int)sizeof(pB->zDir) - 64) {
    pB->zDir[0] = 0;
    benchFail(pB, "--dir path too long");
  }
  if (mkdtemp(pB->zDir) == 0) {
    int iErr = errno;
    char zTemplate[BENCH_PATH_MAX];
    snprintf(zTemplate, sizeof(zTemplate), "%s", pB->zDir);
    pB->zDir[0] = 0;
    benchFail(pB, "cannot create %s: %s", zTemplate, strerror(iErr));
  }
}

/*
** Runs the benchmark; see the comment at the top of this file.
*/
int main(int argc, char **argv) {
  static Bench b;
  Bench *pB = &b;
  double t0;
  int nMissed;
  i64 nUsed;
  benchParseArgs(argc, argv, &pB->opt);
  pB->nRounds = pB->opt.nRounds ? pB->opt.nRounds : pB->opt.bQuick ? 1 : 3;
  pB->iRandom = 0x9E3779B97F4A7C15ull;
  pB->iTelegramId = 1000000;
  benchFillerInit(pB);
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    pB->aResult[w].nMessages = pB->opt.anCount[w] ? pB->opt.anCount[w]
                               : pB->opt.bQuick   ? aWorkload[w].nQuick
                                                  : aWorkload[w].nDefault;
  }
  benchMakeDir(pB);
  t0 = benchClock(pB);
  benchWarmUp(pB);
  for (int r = 0; r < pB->nRounds; r++) {
    for (int w = 0; w < BENCH_WORKLOADS; w++) {
      if (!(pB->opt.mWorkload & (1u << w))) continue;
      /* Alternate which side goes first, so neither always runs warm. */
      for (int k = 0; k < 2; k++) {
        int bMp = (k + r) % 2 == 1;
        if (pB->opt.mSide & (bMp ? BENCH_SIDE_MP : BENCH_SIDE_RAW)) {
          benchSample(pB, w, bMp, r);
        }
      }
    }
  }
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    BenchResult *pR = &pB->aResult[w];
    for (int s = 0; s < 2; s++)
      benchMedians(pR, s);
  }
  nMissed = benchPrintTable(pB);
  printf("\n%d target%s missed; %.1f s in all\n", nMissed,
         nMissed == 1 ? "" : "s", benchClock(pB) - t0);
  if (pB->opt.zJson) benchWriteJson(pB, pB->opt.zJson);
  nUsed = sqlite3_memory_used();
  if (nUsed != 0) {
    benchFail(pB,
              "%lld bytes of SQLite memory still in use after every "
              "connection was closed",
              nUsed);
  }
  if (!pB->opt.bKeep && rmdir(pB->zDir) != 0) {
    benchFail(pB, "cannot remove %s: %s", pB->zDir, strerror(errno));
  }
  return pB->opt.bStrict && nMissed ? 3 : 0;
}
