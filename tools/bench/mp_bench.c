/*
** SPDX-License-Identifier: MIT
**
** mp-bench: mp against raw SQLite doing the same work, in one run.
**
** Usage:
**
**   mp-bench [--quick] [--rounds R] [--sync normal|full] [--dir DIR]
**            [--json FILE] [--cache-kib N] [--temp-store memory|file]
**            [--only W1,...,W6] [--side LIST] [--batch N] [--claim N]
**            [--w1 N] ... [--w6 N] [--keep] [--strict] [--verbose]
**
**   --quick       a tiny run (CI smoke test): 1 round of a few hundred
**                 messages; it must exit 0 and print the table
**   --rounds R    measure each workload R times per side (default 3) and
**                 report the medians
**   --sync S      PRAGMA synchronous for every side (default normal)
**   --dir DIR     where the fresh temp directory is made (default $TMPDIR
**                 or /tmp); it is removed at the end unless --keep
**   --json FILE   also write the results, every sample included, as JSON
**   --cache-kib N PRAGMA cache_size = -N on every side (default 2000,
**                 SQLite's own default)
**   --temp-store  PRAGMA temp_store on every side (default memory; see
**                 TEMP STORE below)
**   --only LIST   run only these workloads
**   --side LIST   run only these sides, comma-separated: mp, raw-same,
**                 raw-min ("raw" is raw-min, "all" or "both" all three);
**                 for profiling, e.g. --side mp --only W4
**   --batch N     messages per transaction in W2, W5 and the prefill of
**                 W3/W4 (default 1000)
**   --claim N     messages per claim in W4 and per transaction in W6
**                 (default 100)
**   --wK N        messages of workload K
**   --strict      exit 3 when a target is missed
**   --verbose     print every sample to stderr
**
** Example:
**
**   cmake --build build --target mp-bench && ./build/mp-bench
**   valgrind --tool=callgrind ./build/mp-bench --quick --side mp --only W3
**
** THE SIDES
**
**   mp        mp's SQL functions: mp_enqueue(), mp_claim(), mp_confirm(),
**             mp_enqueue_batch(), mp_confirm_batch(), after mp_init()
**             with Telegram pacing off.
**   raw-same  mp's own table (created by mp_init(), so the same indexes,
**             triggers and CHECKs), written by the very statements mp
**             runs, copied from ext/ and issued directly as prepared SQL:
**             the next-seq SELECT and the INSERT of mp_enqueue.c; the
**             in-flight scan, the claim scan (same picking rule: one
**             message per chat, none for a chat in flight), the claim
**             UPDATE and the read of the claimed row of mp_claim.c; the
**             one-statement confirm UPDATE of mp_transition.c (the
**             schema's trigger counts it). These are "the same inserts
**             and updates" of the brief, and the targets are checked
**             against this side first. Ids are formatted like mp's, the
**             checksum is a
**             constant. What mp adds on top of raw-same is its API
**             overhead: argument checks (UTF-8, JSON), SHA-256, id
**             encoding and decoding, config reads, the pacing lookup,
**             SAVEPOINT/lock/RELEASE, value copies and the JSON of the
**             batch functions.
**   raw-min   the queue table a competent user writes by hand (q below):
**             one partial index, no triggers, no counters, prepared
**             statements. A stricter reference than raw-same.
**
** THE WORKLOADS, each on fresh database files with the same pragmas on
** every side (journal_mode=WAL, the chosen synchronous, busy_timeout 5000,
** the same cache_size and temp_store) and the same generated messages
** (chat ids cycling over 1000 chats, a 300-byte text, a small event JSON):
**
**   W1  one enqueue per transaction (autocommit; raw-same wraps its
**       SELECT and INSERT in BEGIN ... COMMIT, as mp's one statement is)
**   W2  --batch enqueues per transaction, one call or INSERT per message
**   W3  claim one message, then confirm it, each its own transaction
**   W4  claim --claim messages and confirm them, in one transaction
**   W5  one mp_enqueue_batch(json) of --batch messages per transaction
**       (the JSON is built inside the timed loop) against the raw sides
**       inserting the same rows, --batch per transaction
**   W6  the whole lifecycle batched: per transaction, enqueue --claim
**       messages (mp_enqueue_batch), claim them (mp_claim), confirm them
**       (mp_confirm_batch); the raw sides do the same with their
**       statements
**
** W3 and W4 start from the same pending messages, inserted before the
** clock starts. Each round runs the sides in a rotating order, so machine
** noise reaches all alike; the tables show the medians.
**
** TEMP STORE
**
** mp's functions open SAVEPOINT mp_txn; inside a caller's transaction
** (W4, W6, and every batch element) that savepoint needs a statement
** journal, which SQLite keeps in the temp store. Debian's SQLite is built
** with SQLITE_TEMP_STORE=1: temp files by default, so each savepoint
** spills to a file in /var/tmp (W4 wrote ~25 KB and 12 write() calls per
** message that way). Every side therefore runs with PRAGMA temp_store =
** MEMORY, which an application using mp should set too; --temp-store
** file shows the difference.
**
** CHECKS
**
** After every sample the result is checked cheaply (mp_stats and counts
** on the mp and raw-same sides, counts on raw-min) so that a broken
** benchmark cannot report a fast number; any SQLite error stops the run
** with a message naming the workload, side and round. Once every
** connection is closed, sqlite3_memory_used() must be 0.
**
** OUTPUT
**
** The result table (median msg/s of each side, the ratios mp/raw-same and
** mp/raw-min, the target and whether it is met), then the cost per
** message of each side: CPU time of the process (user + system) and the
** same ratios computed from CPU time (raw cpu / mp cpu), then the bytes
** and write() calls per message (/proc/self/io; "-" where missing). The
** CPU columns are steadier than wall time on a busy machine.
**
** The defaults (W1 10,000 messages, W2 100,000, W3 5,000, W4 50,000,
** W5 100,000, W6 100,000, 3 rounds) keep a full run around three minutes
** on a busy 2-core machine; --wK and --rounds scale it. With --sync full,
** W1 and W3 wait for an fsync per commit and take far longer.
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

#define BENCH_W1            0     /* index of W1 in aWorkload */
#define BENCH_W2            1     /* index of W2 */
#define BENCH_W3            2     /* index of W3 */
#define BENCH_W4            3     /* index of W4 */
#define BENCH_W5            4     /* index of W5 */
#define BENCH_W6            5     /* index of W6 */
#define BENCH_WORKLOADS     6     /* W1..W6 */
#define BENCH_CHATS         1000  /* chat ids cycle over this many chats */
#define BENCH_CHAT_BASE     10000 /* the first chat id */
#define BENCH_TEXT_BYTES    300   /* bytes of each message text */
#define BENCH_BATCH_DEFAULT 1000  /* default --batch */
#define BENCH_BATCH_MAX     10000 /* largest --batch */
#define BENCH_CLAIM_DEFAULT 100   /* default --claim */
#define BENCH_CLAIM_MAX     1000  /* largest --claim (at most BENCH_CHATS) */
#define BENCH_TOKEN_MAX     80    /* room for an mp lease token and its NUL */
#define BENCH_ROUNDS_MAX    99    /* most rounds accepted */
#define BENCH_PATH_MAX      4096  /* longest path accepted */
#define BENCH_LEASE_MS      60000 /* mp's default lease, for raw-same */

/* The sides, by index; bit (1 << side) in BenchOptions.mSide. */
#define BENCH_SIDE_MIN  0 /* raw-min: the hand-written queue table */
#define BENCH_SIDE_SAME 1 /* raw-same: mp's table and statements */
#define BENCH_SIDE_MP   2 /* mp's functions */
#define BENCH_SIDES     3
#define BENCH_SIDE_ALL  7

/* The mp configuration: Telegram's pacing must never limit the run. */
#define BENCH_MP_CONFIG                             \
 "{\"pace_chat_ms\":0,\"pace_group_per_minute\":0," \
 "\"pace_global_per_second\":0}"

/* raw-min's schema: what a competent user writes for a queue. */
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

/*
** raw-same's statements: the SQL texts mp runs, copied from ext/. Keep
** them in step with the extension (tests/perf/plans.slt checks their
** plans).
*/
/* mp_enqueue.c, mpEnqueueNextSeq() */
#define BENCH_SAME_NEXT_SEQ                                \
 "SELECT max(ifnull((SELECT max(seq) FROM messages), 0), " \
 "(SELECT n FROM mp_counter WHERE name = 'seq_hwm')) + 1"
/* mp_enqueue.c, mpEnqueueRow() */
#define BENCH_SAME_INSERT                                              \
 "INSERT OR FAIL INTO messages(seq, id, chat_id, message_text, "       \
 "timestamp, event_data, created_at, updated_at, priority, "           \
 "parse_mode, dedup_key, order_at, due_at, checksum) "                 \
 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?5, ?7, ?8, ?9, ?12, ?10, ?11) " \
 "ON CONFLICT(dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING"
/* mp_claim.c, mpClaimInflight() */
#define BENCH_SAME_INFLIGHT "SELECT chat_id FROM messages WHERE status = 'sent'"
/* mp_claim.c, mpClaimPick() */
#define BENCH_SAME_SCAN                        \
 "SELECT seq, chat_id, due_at FROM messages "  \
 "WHERE status = 'pending' AND priority = ?1 " \
 "AND order_at <= ?2 ORDER BY order_at, seq"
/* mp_claim.c, mpClaimRow() */
#define BENCH_SAME_CLAIM_ROW                                       \
 "UPDATE OR FAIL messages SET status = 'sent', lease_until = ?2, " \
 "lease_token = ?3, worker = ?4, attempts = attempts + 1, "        \
 "revision = revision + 1, updated_at = ?5 "                       \
 "WHERE seq = ?1 AND status = 'pending'"
#define BENCH_SAME_CLAIM_READ                                  \
 "SELECT id, chat_id, message_text, parse_mode, retry_count, " \
 "priority, attempts, event_data, in_doubt FROM messages WHERE seq = ?1"
/* mp_transition.c, mpConfirmFast() */
#define BENCH_SAME_CONFIRM                                                  \
 "UPDATE OR FAIL messages SET status = 'confirmed', telegram_message_id = " \
 "?2, "                                                                     \
 "tier_used = ?3, lease_until = NULL, lease_token = NULL, worker = NULL, "  \
 "revision = revision + 1, updated_at = ?4 "                                \
 "WHERE seq = ?1 AND id = ?5 AND status = 'sent' "                          \
 "AND (?6 IS NULL OR lease_token = ?6)"
/* How a workload's target is expressed. */
#define BENCH_TARGET_RATIO 1 /* mp msg/s >= rTarget * raw msg/s */
#define BENCH_TARGET_RATE  2 /* mp msg/s >= rTarget */

/* The prepared statements of one connection, by slot. */
enum BenchSlot {
  BENCH_STMT_BEGIN,         /* BEGIN IMMEDIATE */
  BENCH_STMT_BEGIN_DEFER,   /* BEGIN (raw-same W1) */
  BENCH_STMT_COMMIT,        /* COMMIT */
  BENCH_STMT_ENQUEUE,       /* mp_enqueue(), or the side's INSERT */
  BENCH_STMT_NEXT_SEQ,      /* raw-same: the next seq */
  BENCH_STMT_ENQUEUE_BATCH, /* mp: mp_enqueue_batch() */
  BENCH_STMT_INFLIGHT,      /* raw-same: the chats in flight */
  BENCH_STMT_SCAN,          /* raw-same: the claim scan */
  BENCH_STMT_CLAIM,         /* mp_claim(), or the side's claim UPDATE */
  BENCH_STMT_CLAIM_READ,    /* raw-same: the claimed row's columns */
  BENCH_STMT_CONFIRM,       /* mp_confirm(), or the side's confirm UPDATE */
  BENCH_STMT_CONFIRM_BATCH, /* mp: mp_confirm_batch() */
  BENCH_STMT_SLOTS
};

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
  int bEnqueue;       /* True: leaves n pending; false: n confirmed */
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
  int bTempFile;                /* --temp-store file */
  int nRounds;                  /* --rounds, or 0 for the default */
  int nCacheKib;                /* --cache-kib */
  int nBatch;                   /* --batch */
  int nClaim;                   /* --claim */
  unsigned mWorkload;           /* Bit k: run workload k */
  unsigned mSide;               /* Bit s: run side s */
  int anCount[BENCH_WORKLOADS]; /* --wK, or 0 for the default */
};

/* One open database of one sample, with its prepared statements. */
struct BenchConn {
  sqlite3 *db;                            /* The connection */
  int eSide;                              /* BENCH_SIDE_* */
  char zPath[BENCH_PATH_MAX];             /* The database file */
  sqlite3_stmt *apStmt[BENCH_STMT_SLOTS]; /* By BenchSlot; NULL if unused */
};

/* What one sample measured, per message. */
typedef struct BenchSampleStat BenchSampleStat;
struct BenchSampleStat {
  double rRate;   /* Messages per second of wall time (CLOCK_MONOTONIC) */
  double rCpuUs;  /* CPU time of the process, in microseconds */
  double rBytes;  /* Bytes written (wchar in /proc/self/io), or -1 */
  double rWrites; /* write() calls (syscw in /proc/self/io), or -1 */
};

/* The samples of one workload, by side. */
typedef struct BenchResult BenchResult;
struct BenchResult {
  int nMessages;                                          /* Per sample */
  int nSample[BENCH_SIDES];                               /* Samples taken */
  BenchSampleStat aSample[BENCH_SIDES][BENCH_ROUNDS_MAX]; /* Each sample */
  BenchSampleStat aMedian[BENCH_SIDES]; /* Medians, field by field */
};

/* A growable text buffer (JSON arguments of the batch functions). */
typedef struct BenchBuf BenchBuf;
struct BenchBuf {
  char *z;  /* The text, NUL-terminated; from malloc */
  size_t n; /* Bytes used, without the NUL */
  size_t a; /* Bytes allocated */
};

/* A set of chat ids for raw-same's claim, like mp_claim.c's MpChatSet. */
typedef struct BenchChatSet BenchChatSet;
struct BenchChatSet {
  i64 *aSlot; /* Slots, 0 marks an empty one; from malloc */
  int nSlot;  /* Number of slots, a power of two */
  int nUsed;  /* Chats stored */
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
  unsigned char aSum[32];             /* raw-same's constant checksum */
  char azToken[BENCH_CLAIM_MAX][BENCH_TOKEN_MAX]; /* Claimed mp tokens */
  char azId[BENCH_CLAIM_MAX][40];                 /* raw-same claimed ids */
  i64 aiClaimed[BENCH_CLAIM_MAX];       /* Claimed raw-min ids, raw-same seqs */
  BenchBuf json;                        /* JSON argument of a batch call */
  BenchChatSet inflight;                /* raw-same claim: chats in flight */
  BenchChatSet seen;                    /* raw-same claim: chats seen */
  BenchResult aResult[BENCH_WORKLOADS]; /* Results, by workload */
  char zMpVersion[32];                  /* mp_version() */
  char azAutoVacuum[BENCH_SIDES][16];   /* PRAGMA auto_vacuum, by side */
};

static const char *const azSideName[BENCH_SIDES] = { "raw-min", "raw-same",
                                                     "mp" };

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
** Returns the wall clock in ms since the epoch, for the raw sides'
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
** Empties pBuf, keeping its memory.
*/
static void benchBufReset(BenchBuf *pBuf) {
  pBuf->n = 0;
  if (pBuf->z) pBuf->z[0] = 0;
}

/*
** Appends the n bytes at z to pBuf; stops the run on OOM.
*/
static void benchBufAppend(Bench *pB, BenchBuf *pBuf, const char *z, size_t n) {
  if (pBuf->n + n + 1 > pBuf->a) {
    size_t a = pBuf->a ? pBuf->a * 2 : 65536;
    char *zNew;
    while (a < pBuf->n + n + 1)
      a *= 2;
    zNew = realloc(pBuf->z, a);
    if (zNew == 0) benchFail(pB, "out of memory");
    pBuf->z = zNew;
    pBuf->a = a;
  }
  memcpy(pBuf->z + pBuf->n, z, n);
  pBuf->n += n;
  pBuf->z[pBuf->n] = 0;
}

/*
** Appends the NUL-terminated z to pBuf.
*/
static void benchBufAppendAll(Bench *pB, BenchBuf *pBuf, const char *z) {
  benchBufAppend(pB, pBuf, z, strlen(z));
}

/*
** Appends the n bytes at z to pBuf as a JSON string.
*/
static void benchBufAppendJsonString(Bench *pB, BenchBuf *pBuf, const char *z,
                                     int n) {
  int iStart = 0;
  benchBufAppend(pB, pBuf, "\"", 1);
  for (int i = 0; i < n; i++) {
    unsigned char c = (unsigned char)z[i];
    char zEsc[8];
    if (c != '"' && c != '\\' && c >= 0x20) continue;
    benchBufAppend(pB, pBuf, z + iStart, (size_t)(i - iStart));
    snprintf(zEsc, sizeof(zEsc), "\\u%04x", c);
    benchBufAppendAll(pB, pBuf, zEsc);
    iStart = i + 1;
  }
  benchBufAppend(pB, pBuf, z + iStart, (size_t)(n - iStart));
  benchBufAppend(pB, pBuf, "\"", 1);
}

/*
** Empties pSet, keeping its memory.
*/
static void benchChatSetClear(BenchChatSet *pSet) {
  if (pSet->aSlot) memset(pSet->aSlot, 0, sizeof(i64) * (size_t)pSet->nSlot);
  pSet->nUsed = 0;
}

/*
** Adds iChat (never 0) to pSet. Returns 1 if it was added, 0 if it was
** there already. Stops the run on OOM.
*/
static int benchChatSetAdd(Bench *pB, BenchChatSet *pSet, i64 iChat) {
  unsigned h;
  if (pSet->nUsed * 2 >= pSet->nSlot) {
    BenchChatSet grown = { 0, pSet->nSlot ? pSet->nSlot * 2 : 4096, 0 };
    grown.aSlot = calloc((size_t)grown.nSlot, sizeof(i64));
    if (grown.aSlot == 0) benchFail(pB, "out of memory");
    for (int i = 0; i < pSet->nSlot; i++) {
      if (pSet->aSlot[i]) benchChatSetAdd(pB, &grown, pSet->aSlot[i]);
    }
    free(pSet->aSlot);
    *pSet = grown;
  }
  h = (unsigned)(((u64)iChat * 0x9E3779B97F4A7C15ull) >> 32);
  for (int i = (int)(h & (unsigned)(pSet->nSlot - 1));;
       i = (i + 1) & (pSet->nSlot - 1)) {
    if (pSet->aSlot[i] == iChat) return 0;
    if (pSet->aSlot[i] == 0) {
      pSet->aSlot[i] = iChat;
      pSet->nUsed++;
      return 1;
    }
  }
}

/*
** Returns 1 if iChat is in pSet.
*/
static int benchChatSetHas(const BenchChatSet *pSet, i64 iChat) {
  unsigned h;
  if (pSet->nSlot == 0) return 0;
  h = (unsigned)(((u64)iChat * 0x9E3779B97F4A7C15ull) >> 32);
  for (int i = (int)(h & (unsigned)(pSet->nSlot - 1));;
       i = (i + 1) & (pSet->nSlot - 1)) {
    if (pSet->aSlot[i] == iChat) return 1;
    if (pSet->aSlot[i] == 0) return 0;
  }
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
  for (int i = 0; i < (int)sizeof(pB->aSum); i++) {
    pB->aSum[i] = (unsigned char)(0xA5 ^ i);
  }
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
** Writes the id mp would give row iSeq enqueued at iMs into zOut (at
** least 37 bytes): a UUID v7 carrying the seq (see ext/mp_id.c).
*/
static void benchIdFormat(Bench *pB, i64 iMs, i64 iSeq, char *zOut) {
  u64 t = (u64)iMs & 0xFFFFFFFFFFFFull;
  snprintf(zOut, 40, "%08x-%04x-7%03x-%04x-%012llx", (unsigned)(t >> 16),
           (unsigned)(t & 0xFFFF), (unsigned)(benchRandom(pB) & 0xFFF),
           (unsigned)(0x8000 | ((iSeq >> 48) & 0x3FFF)),
           (unsigned long long)(iSeq & 0xFFFFFFFFFFFFll));
}

/*
** Stores message i as pending with the side's statements: mp_enqueue(),
** raw-min's INSERT, or raw-same's next-seq SELECT and INSERT. Runs in the
** caller's transaction, or in autocommit mode.
*/
static void benchEnqueue(Bench *pB, BenchConn *pC, int i) {
  sqlite3_stmt *pStmt = pC->apStmt[BENCH_STMT_ENQUEUE];
  sqlite3 *db = pC->db;
  int nText, nEvent;
  i64 iChat = benchMessage(pB, i, &nText, &nEvent);
  if (pC->eSide == BENCH_SIDE_SAME) {
    sqlite3_stmt *pSeq = pC->apStmt[BENCH_STMT_NEXT_SEQ];
    i64 iMs = benchWallMs(pB), iSeq;
    char zId[40];
    benchStepRow(pB, db, pSeq, "next seq");
    iSeq = sqlite3_column_int64(pSeq, 0);
    benchReset(pB, db, pSeq, "next seq");
    benchIdFormat(pB, iMs, iSeq, zId);
    benchBindInt(pB, db, pStmt, 1, iSeq);
    benchBindText(pB, db, pStmt, 2, zId, 36);
    benchBindInt(pB, db, pStmt, 3, iChat);
    benchBindText(pB, db, pStmt, 4, pB->zText, nText);
    benchBindInt(pB, db, pStmt, 5, iMs / 1000);
    benchBindText(pB, db, pStmt, 6, pB->zEvent, nEvent);
    benchBindInt(pB, db, pStmt, 7, 1);
    benchBindInt(pB, db, pStmt, 10, iMs);
    benchBindInt(pB, db, pStmt, 12, 0); /* order_at: due at once */
    benchCheck(pB, db,
               sqlite3_bind_blob(pStmt, 11, pB->aSum, (int)sizeof(pB->aSum),
                                 SQLITE_STATIC),
               SQLITE_OK, "bind");
    benchStepDone(pB, db, pStmt, "insert");
    return;
  }
  benchBindInt(pB, db, pStmt, 1, iChat);
  benchBindText(pB, db, pStmt, 2, pB->zText, nText);
  benchBindText(pB, db, pStmt, 3, pB->zEvent, nEvent);
  if (pC->eSide == BENCH_SIDE_MP) {
    benchBindText(pB, db, pStmt, 4, 0, 0);
    benchStepRow(pB, db, pStmt, "mp_enqueue");
    if (sqlite3_column_type(pStmt, 0) != SQLITE_TEXT ||
        sqlite3_column_bytes(pStmt, 0) != 36) {
      benchFail(pB, "mp_enqueue returned no id for message %d", i);
    }
    benchStepDone(pB, db, pStmt, "mp_enqueue");
  } else {
    benchBindInt(pB, db, pStmt, 4, benchWallMs(pB) / 1000);
    benchStepDone(pB, db, pStmt, "insert");
  }
}

/*
** Stores messages iFirst..iFirst+n-1 with one mp_enqueue_batch() call,
** building its JSON argument first.
*/
static void benchEnqueueBatch(Bench *pB, BenchConn *pC, int iFirst, int n) {
  sqlite3_stmt *pStmt = pC->apStmt[BENCH_STMT_ENQUEUE_BATCH];
  BenchBuf *pJson = &pB->json;
  size_t nWant = 2 + (size_t)n * 38 + (size_t)(n - 1);
  benchBufReset(pJson);
  benchBufAppend(pB, pJson, "[", 1);
  for (int i = iFirst; i < iFirst + n; i++) {
    int nText, nEvent;
    i64 iChat = benchMessage(pB, i, &nText, &nEvent);
    char zHead[64];
    snprintf(zHead, sizeof(zHead),
             "%s{\"chat_id\":%lld,\"text\":", i > iFirst ? "," : "", iChat);
    benchBufAppendAll(pB, pJson, zHead);
    benchBufAppendJsonString(pB, pJson, pB->zText, nText);
    benchBufAppendAll(pB, pJson, ",\"event\":");
    benchBufAppend(pB, pJson, pB->zEvent, (size_t)nEvent);
    benchBufAppend(pB, pJson, "}", 1);
  }
  benchBufAppend(pB, pJson, "]", 1);
  benchBindText(pB, pC->db, pStmt, 1, pJson->z, (int)pJson->n);
  benchStepRow(pB, pC->db, pStmt, "mp_enqueue_batch");
  if (sqlite3_column_type(pStmt, 0) != SQLITE_TEXT ||
      (size_t)sqlite3_column_bytes(pStmt, 0) != nWant) {
    benchFail(pB, "mp_enqueue_batch did not return %d ids", n);
  }
  benchStepDone(pB, pC->db, pStmt, "mp_enqueue_batch");
}

/*
** Stores messages iFirst..iFirst+n-1 in one BEGIN IMMEDIATE ... COMMIT,
** one statement (or two, raw-same) per message.
*/
static void benchEnqueueTx(Bench *pB, BenchConn *pC, int iFirst, int n) {
  benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_BEGIN], "begin");
  for (int i = iFirst; i < iFirst + n; i++) {
    benchEnqueue(pB, pC, i);
  }
  benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_COMMIT], "commit");
}

/*
** Stores messages 0..n-1 in transactions of --batch, one statement per
** message (W2, and the prefill of W3/W4).
*/
static void benchEnqueueBatched(Bench *pB, BenchConn *pC, int n) {
  for (int i = 0; i < n; i += pB->opt.nBatch) {
    benchEnqueueTx(pB, pC, i, n - i < pB->opt.nBatch ? n - i : pB->opt.nBatch);
  }
}

/*
** W1: n enqueues, one per transaction. raw-same wraps its two statements
** in BEGIN ... COMMIT: mp's nested statements share the one transaction
** of its SELECT the same way.
*/
static void benchRunW1(Bench *pB, BenchConn *pC, int n) {
  for (int i = 0; i < n; i++) {
    if (pC->eSide == BENCH_SIDE_SAME) {
      benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_BEGIN_DEFER], "begin");
      benchEnqueue(pB, pC, i);
      benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_COMMIT], "commit");
    } else {
      benchEnqueue(pB, pC, i);
    }
  }
}

/*
** W2: n enqueues, --batch per transaction.
*/
static void benchRunW2(Bench *pB, BenchConn *pC, int n) {
  benchEnqueueBatched(pB, pC, n);
}

/*
** W5: n enqueues, --batch per transaction: one mp_enqueue_batch() call on
** the mp side (its own transaction), one INSERT per message on the raw
** sides.
*/
static void benchRunW5(Bench *pB, BenchConn *pC, int n) {
  for (int i = 0; i < n; i += pB->opt.nBatch) {
    int nPart = n - i < pB->opt.nBatch ? n - i : pB->opt.nBatch;
    if (pC->eSide == BENCH_SIDE_MP) {
      benchEnqueueBatch(pB, pC, i, nPart);
    } else {
      benchEnqueueTx(pB, pC, i, nPart);
    }
  }
}

/*
** raw-same's claim: mp_claim.c's statements and picking rule without
** mp's function around them (no pacing lookup, no config reads, no
** savepoint; the caller holds the transaction). Claims up to nMax
** messages; remembers their seqs, ids and tokens. Returns how many.
*/
static int benchClaimSame(Bench *pB, BenchConn *pC, int nMax) {
  sqlite3 *db = pC->db;
  sqlite3_stmt *pInflight = pC->apStmt[BENCH_STMT_INFLIGHT];
  sqlite3_stmt *pScan = pC->apStmt[BENCH_STMT_SCAN];
  sqlite3_stmt *pRow = pC->apStmt[BENCH_STMT_CLAIM];
  sqlite3_stmt *pRead = pC->apStmt[BENCH_STMT_CLAIM_READ];
  i64 iNow = benchWallMs(pB);
  int nSeq = 0, rc;
  benchChatSetClear(&pB->inflight);
  benchChatSetClear(&pB->seen);
  while ((rc = sqlite3_step(pInflight)) == SQLITE_ROW) {
    benchChatSetAdd(pB, &pB->inflight, sqlite3_column_int64(pInflight, 0));
  }
  benchCheck(pB, db, rc, SQLITE_DONE, "in-flight scan");
  benchReset(pB, db, pInflight, "in-flight scan");
  for (int iPrio = 3; iPrio >= 0 && nSeq < nMax; iPrio--) {
    benchBindInt(pB, db, pScan, 1, iPrio);
    benchBindInt(pB, db, pScan, 2, iNow);
    while (nSeq < nMax && (rc = sqlite3_step(pScan)) == SQLITE_ROW) {
      i64 iChat = sqlite3_column_int64(pScan, 1);
      if (!benchChatSetAdd(pB, &pB->seen, iChat)) continue;
      if (benchChatSetHas(&pB->inflight, iChat)) continue;
      if (sqlite3_column_int64(pScan, 2) > iNow) continue;
      pB->aiClaimed[nSeq++] = sqlite3_column_int64(pScan, 0);
    }
    if (rc != SQLITE_ROW) benchCheck(pB, db, rc, SQLITE_DONE, "claim scan");
    benchReset(pB, db, pScan, "claim scan");
  }
  for (int k = 0; k < nSeq; k++) {
    char zToken[17];
    const unsigned char *z;
    snprintf(zToken, sizeof(zToken), "%016llx",
             (unsigned long long)benchRandom(pB));
    benchBindInt(pB, db, pRow, 1, pB->aiClaimed[k]);
    benchBindInt(pB, db, pRow, 2, iNow + BENCH_LEASE_MS);
    benchBindText(pB, db, pRow, 3, zToken, 16);
    benchBindInt(pB, db, pRow, 5, iNow / 1000);
    benchStepDone(pB, db, pRow, "claim row");
    if (sqlite3_changes(db) != 1) benchFail(pB, "claim row changed no row");
    benchBindInt(pB, db, pRead, 1, pB->aiClaimed[k]);
    benchStepRow(pB, db, pRead, "claim read");
    z = sqlite3_column_text(pRead, 0);
    if (sqlite3_column_bytes(pRead, 0) != 36 || z == 0 ||
        sqlite3_column_type(pRead, 2) != SQLITE_TEXT) {
      benchFail(pB, "claim read returned a bad row");
    }
    memcpy(pB->azId[k], z, 37);
    snprintf(pB->azToken[k], BENCH_TOKEN_MAX, "%s:%s", pB->azId[k], zToken);
    benchStepDone(pB, db, pRead, "claim read");
  }
  return nSeq;
}

/*
** Claims up to nMax pending messages with the side's statements and
** remembers them: mp lease tokens in azToken, raw-min ids in aiClaimed,
** raw-same seqs, ids and tokens. Returns how many were claimed.
*/
static int benchClaim(Bench *pB, BenchConn *pC, int nMax) {
  sqlite3_stmt *pStmt = pC->apStmt[BENCH_STMT_CLAIM];
  char zToken[17]; /* Bound without a copy: lives until the reset below */
  int nRow = 0;
  int rc;
  if (pC->eSide == BENCH_SIDE_SAME) return benchClaimSame(pB, pC, nMax);
  if (pC->eSide == BENCH_SIDE_MP) {
    benchBindInt(pB, pC->db, pStmt, 1, nMax);
  } else {
    i64 iNowMs = benchWallMs(pB);
    snprintf(zToken, sizeof(zToken), "%016llx",
             (unsigned long long)benchRandom(pB));
    benchBindInt(pB, pC->db, pStmt, 1, iNowMs + BENCH_LEASE_MS);
    benchBindText(pB, pC->db, pStmt, 2, zToken, 16);
    benchBindInt(pB, pC->db, pStmt, 3, iNowMs / 1000);
    benchBindInt(pB, pC->db, pStmt, 4, nMax);
  }
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    if (nRow >= nMax) benchFail(pB, "claim returned more than %d rows", nMax);
    if (pC->eSide == BENCH_SIDE_MP) {
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
** Confirms claimed message k (of the last benchClaim()) with the side's
** statements: mp_confirm() by lease token, raw-min's UPDATE by id, or
** raw-same's confirm UPDATE (the schema's trigger counts it). Runs in the caller's
** transaction, or in autocommit mode.
*/
static void benchConfirm(Bench *pB, BenchConn *pC, int k) {
  sqlite3_stmt *pStmt = pC->apStmt[BENCH_STMT_CONFIRM];
  sqlite3 *db = pC->db;
  i64 iTelegramId = pB->iTelegramId++;
  if (pC->eSide == BENCH_SIDE_MP) {
    benchBindText(pB, db, pStmt, 1, pB->azToken[k], -1);
    benchBindInt(pB, db, pStmt, 2, iTelegramId);
    benchStepRow(pB, db, pStmt, "mp_confirm");
    if (sqlite3_column_int(pStmt, 0) != 1) {
      benchFail(pB, "mp_confirm did not return 1");
    }
    benchStepDone(pB, db, pStmt, "mp_confirm");
  } else if (pC->eSide == BENCH_SIDE_SAME) {
    benchBindInt(pB, db, pStmt, 1, pB->aiClaimed[k]);
    benchBindInt(pB, db, pStmt, 2, iTelegramId);
    benchBindText(pB, db, pStmt, 3, "telegram", 8);
    benchBindInt(pB, db, pStmt, 4, benchWallMs(pB) / 1000);
    benchBindText(pB, db, pStmt, 5, pB->azId[k], 36);
    benchBindText(pB, db, pStmt, 6, pB->azToken[k] + 37, 16);
    benchStepDone(pB, db, pStmt, "confirm");
    if (sqlite3_changes(db) != 1) {
      benchFail(pB, "confirm of seq %lld changed %d rows", pB->aiClaimed[k],
                sqlite3_changes(db));
    }
  } else {
    benchBindInt(pB, db, pStmt, 1, iTelegramId);
    benchBindInt(pB, db, pStmt, 2, benchWallMs(pB) / 1000);
    benchBindInt(pB, db, pStmt, 3, pB->aiClaimed[k]);
    benchStepDone(pB, db, pStmt, "confirm");
    if (sqlite3_changes(db) != 1) {
      benchFail(pB, "confirm of id %lld changed %d rows", pB->aiClaimed[k],
                sqlite3_changes(db));
    }
  }
}

/*
** Confirms the n messages of the last benchClaim() on the mp side with
** one mp_confirm_batch() call, building its JSON argument first.
*/
static void benchConfirmBatch(Bench *pB, BenchConn *pC, int n) {
  sqlite3_stmt *pStmt = pC->apStmt[BENCH_STMT_CONFIRM_BATCH];
  BenchBuf *pJson = &pB->json;
  const unsigned char *z;
  benchBufReset(pJson);
  benchBufAppend(pB, pJson, "[", 1);
  for (int k = 0; k < n; k++) {
    char zElem[BENCH_TOKEN_MAX + 64];
    snprintf(zElem, sizeof(zElem),
             "%s{\"id\":\"%s\",\"telegram_message_id\":%lld}", k ? "," : "",
             pB->azToken[k], pB->iTelegramId++);
    benchBufAppendAll(pB, pJson, zElem);
  }
  benchBufAppend(pB, pJson, "]", 1);
  benchBindText(pB, pC->db, pStmt, 1, pJson->z, (int)pJson->n);
  benchStepRow(pB, pC->db, pStmt, "mp_confirm_batch");
  z = sqlite3_column_text(pStmt, 0);
  if (z == 0 || sqlite3_column_bytes(pStmt, 0) != 2 * n + 1 ||
      strchr((const char *)z, '{') != 0) {
    benchFail(pB, "mp_confirm_batch did not confirm all %d: %.200s", n,
              z ? (const char *)z : "NULL");
  }
  benchStepDone(pB, pC->db, pStmt, "mp_confirm_batch");
}

/*
** W3: n times, claim one message (its own transaction), then confirm it
** (its own transaction), as a runner does. raw-same runs its statements
** of each step in BEGIN IMMEDIATE ... COMMIT, as mp's savepoint does.
*/
static void benchRunW3(Bench *pB, BenchConn *pC, int n) {
  int bTx = pC->eSide == BENCH_SIDE_SAME;
  for (int i = 0; i < n; i++) {
    if (bTx) benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_BEGIN], "begin");
    if (benchClaim(pB, pC, 1) != 1) {
      benchFail(pB, "claim %d of %d found no message", i + 1, n);
    }
    if (bTx) {
      benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_COMMIT], "commit");
      benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_BEGIN], "begin");
    }
    benchConfirm(pB, pC, 0);
    if (bTx) benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_COMMIT], "commit");
  }
}

/*
** W4: claim --claim messages and confirm them, in one transaction, until
** n are confirmed.
*/
static void benchRunW4(Bench *pB, BenchConn *pC, int n) {
  for (int nDone = 0; nDone < n;) {
    int nWant = n - nDone < pB->opt.nClaim ? n - nDone : pB->opt.nClaim;
    int nGot;
    benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_BEGIN], "begin");
    nGot = benchClaim(pB, pC, nWant);
    if (nGot != nWant) {
      benchFail(pB, "claim of %d after %d confirmed returned %d", nWant, nDone,
                nGot);
    }
    for (int k = 0; k < nGot; k++) {
      benchConfirm(pB, pC, k);
    }
    benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_COMMIT], "commit");
    nDone += nGot;
  }
}

/*
** W6: the lifecycle, --claim messages per transaction: enqueue them,
** claim them, confirm them. mp uses its batch functions.
*/
static void benchRunW6(Bench *pB, BenchConn *pC, int n) {
  int bMp = pC->eSide == BENCH_SIDE_MP;
  for (int nDone = 0; nDone < n;) {
    int nWant = n - nDone < pB->opt.nClaim ? n - nDone : pB->opt.nClaim;
    int nGot;
    benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_BEGIN], "begin");
    if (bMp) {
      benchEnqueueBatch(pB, pC, nDone, nWant);
    } else {
      for (int i = nDone; i < nDone + nWant; i++) {
        benchEnqueue(pB, pC, i);
      }
    }
    nGot = benchClaim(pB, pC, nWant);
    if (nGot != nWant) {
      benchFail(pB, "claim of %d after %d confirmed returned %d", nWant, nDone,
                nGot);
    }
    if (bMp) {
      benchConfirmBatch(pB, pC, nGot);
    } else {
      for (int k = 0; k < nGot; k++) {
        benchConfirm(pB, pC, k);
      }
    }
    benchStepDone(pB, pC->db, pC->apStmt[BENCH_STMT_COMMIT], "commit");
    nDone += nGot;
  }
}

// clang-format off
static const BenchWorkload aWorkload[BENCH_WORKLOADS] = {
  { "W1", "enqueue, 1 per tx",         BENCH_TARGET_RATIO, 0.85,
    10000,  200,  0, 1, benchRunW1 },
  { "W2", "enqueue, batch per tx",     BENCH_TARGET_RATIO, 0.85,
    100000, 2000, 0, 1, benchRunW2 },
  { "W3", "claim+confirm, 1 per tx",   BENCH_TARGET_RATIO, 0.80,
    5000,   200,  1, 0, benchRunW3 },
  { "W4", "claim+confirm, claim/tx",   BENCH_TARGET_RATE,  50000.0,
    50000,  1000, 1, 0, benchRunW4 },
  { "W5", "enqueue_batch, batch/tx",   BENCH_TARGET_RATIO, 0.80,
    100000, 2000, 0, 1, benchRunW5 },
  { "W6", "lifecycle batched, claim/tx", BENCH_TARGET_RATE, 50000.0,
    100000, 1000, 0, 0, benchRunW6 },
};
// clang-format on

/*
** Prepares the statements side eSide needs for workload w.
*/
static void benchPrepareSide(Bench *pB, BenchConn *pC, int w) {
  sqlite3 *db = pC->db;
  sqlite3_stmt **ap = pC->apStmt;
  int bClaim = w == BENCH_W3 || w == BENCH_W4 || w == BENCH_W6;
  ap[BENCH_STMT_BEGIN] = benchPrepare(pB, db, "BEGIN IMMEDIATE");
  ap[BENCH_STMT_COMMIT] = benchPrepare(pB, db, "COMMIT");
  switch (pC->eSide) {
    case BENCH_SIDE_MP:
      ap[BENCH_STMT_ENQUEUE] =
          benchPrepare(pB, db, "SELECT mp_enqueue(?1, ?2, ?3, ?4)");
      ap[BENCH_STMT_ENQUEUE_BATCH] =
          benchPrepare(pB, db, "SELECT mp_enqueue_batch(?1)");
      if (bClaim) {
        ap[BENCH_STMT_CLAIM] =
            benchPrepare(pB, db, "SELECT id, lease_token FROM mp_claim(?1)");
        ap[BENCH_STMT_CONFIRM] =
            benchPrepare(pB, db, "SELECT mp_confirm(?1, ?2, 'telegram')");
        ap[BENCH_STMT_CONFIRM_BATCH] =
            benchPrepare(pB, db, "SELECT mp_confirm_batch(?1)");
      }
      break;
    case BENCH_SIDE_SAME:
      ap[BENCH_STMT_BEGIN_DEFER] = benchPrepare(pB, db, "BEGIN");
      ap[BENCH_STMT_ENQUEUE] = benchPrepare(pB, db, BENCH_SAME_INSERT);
      ap[BENCH_STMT_NEXT_SEQ] = benchPrepare(pB, db, BENCH_SAME_NEXT_SEQ);
      if (bClaim) {
        ap[BENCH_STMT_INFLIGHT] = benchPrepare(pB, db, BENCH_SAME_INFLIGHT);
        ap[BENCH_STMT_SCAN] = benchPrepare(pB, db, BENCH_SAME_SCAN);
        ap[BENCH_STMT_CLAIM] = benchPrepare(pB, db, BENCH_SAME_CLAIM_ROW);
        ap[BENCH_STMT_CLAIM_READ] = benchPrepare(pB, db, BENCH_SAME_CLAIM_READ);
        ap[BENCH_STMT_CONFIRM] = benchPrepare(pB, db, BENCH_SAME_CONFIRM);
      }
      break;
    default:
      ap[BENCH_STMT_ENQUEUE] = benchPrepare(
          pB, db,
          "INSERT INTO q(chat_id, message_text, event_data, created_at, "
          "updated_at) VALUES (?1, ?2, ?3, ?4, ?4)");
      if (bClaim) {
        ap[BENCH_STMT_CLAIM] = benchPrepare(
            pB, db,
            w == BENCH_W3
                ? "UPDATE q SET status = 'sent', lease_until = ?1, "
                  "lease_token = ?2, updated_at = ?3 WHERE id = (SELECT id "
                  "FROM q WHERE status = 'pending' ORDER BY priority DESC, "
                  "id LIMIT ?4) RETURNING id, chat_id, message_text"
                : "UPDATE q SET status = 'sent', lease_until = ?1, "
                  "lease_token = ?2, updated_at = ?3 WHERE id IN (SELECT id "
                  "FROM q WHERE status = 'pending' ORDER BY priority DESC, "
                  "id LIMIT ?4) RETURNING id, chat_id, message_text");
        ap[BENCH_STMT_CONFIRM] = benchPrepare(
            pB, db,
            "UPDATE q SET status = 'confirmed', telegram_message_id = ?1, "
            "lease_until = NULL, lease_token = NULL, updated_at = ?2 "
            "WHERE id = ?3 AND status = 'sent'");
      }
      break;
  }
}

/*
** Opens a fresh database file for one sample, applies the pragmas every
** side shares, and creates the schema: mp_init() on the mp and raw-same
** sides, the q table on raw-min. Prepares the statements workload w
** needs.
*/
static void benchOpen(Bench *pB, BenchConn *pC, int w, int eSide, int iRound) {
  char *zErr = 0;
  char zMode[16];
  char zSql[64];
  int rc;
  memset(pC, 0, sizeof(*pC));
  pC->eSide = eSide;
  if (snprintf(pC->zPath, sizeof(pC->zPath), "%s/%s-%s-r%d.db", pB->zDir,
               aWorkload[w].zName, azSideName[eSide],
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
  benchExec(pB, pC->db,
            pB->opt.bTempFile ? "PRAGMA temp_store = FILE"
                              : "PRAGMA temp_store = MEMORY");
  snprintf(zSql, sizeof(zSql), "PRAGMA cache_size = -%d", pB->opt.nCacheKib);
  benchExec(pB, pC->db, zSql);
  if (eSide == BENCH_SIDE_MIN) {
    benchExec(pB, pC->db, BENCH_RAW_SCHEMA);
  } else {
    rc = sqlite3_mp_init(pC->db, &zErr, 0);
    if (rc != SQLITE_OK) {
      benchFail(pB, "sqlite3_mp_init: %s (rc=%d)", zErr ? zErr : "?", rc);
    }
    benchQueryText(pB, pC->db, "SELECT mp_init('" BENCH_MP_CONFIG "')", zSql,
                   (int)sizeof(zSql));
    benchQueryText(pB, pC->db, "SELECT mp_version()", pB->zMpVersion,
                   (int)sizeof(pB->zMpVersion));
  }
  benchQueryText(pB, pC->db, "PRAGMA auto_vacuum", zMode, (int)sizeof(zMode));
  snprintf(pB->azAutoVacuum[eSide], sizeof(pB->azAutoVacuum[eSide]), "%s",
           strcmp(zMode, "0") == 0   ? "none"
           : strcmp(zMode, "1") == 0 ? "full"
                                     : "incremental");
  benchPrepareSide(pB, pC, w);
}

/*
** Moves everything in the WAL into the database and truncates the WAL,
** so that every side starts a timed run from the same state.
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
** Checks the database after workload w stored (W1, W2, W5) or confirmed
** (W3, W4, W6) n messages. Cheap: mp_stats reads counters, the counts
** walk an index or the table once. On raw-same, mp_stats also checks
** that the copied statements kept mp's counters exact.
*/
static void benchVerify(Bench *pB, BenchConn *pC, int w, int n) {
  int bEnqueue = aWorkload[w].bEnqueue;
  if (pC->eSide != BENCH_SIDE_MIN) {
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
    if (pC->eSide == BENCH_SIDE_MP) {
      benchExpect(pB, pC,
                  "SELECT mp_verify(id) FROM messages "
                  "WHERE seq = (SELECT max(seq) FROM messages)",
                  0);
    }
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
  for (int i = 0; i < BENCH_STMT_SLOTS; i++) {
    benchCheck(pB, pC->db, sqlite3_finalize(pC->apStmt[i]), SQLITE_OK,
               "finalize");
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
** Runs one sample: workload w on side eSide in round iRound, on fresh
** database files. Records its rate in pB->aResult[w].
*/
static void benchSample(Bench *pB, int w, int eSide, int iRound) {
  const BenchWorkload *pW = &aWorkload[w];
  BenchResult *pR = &pB->aResult[w];
  BenchSampleStat *pS = &pR->aSample[eSide][pR->nSample[eSide]];
  BenchConn conn;
  int n = pR->nMessages;
  double rWall, rCpu, rBytes, rWrites, rBytes1, rWrites1;
  snprintf(pB->zWhere, sizeof(pB->zWhere), "%s %s round %d", pW->zName,
           azSideName[eSide], iRound + 1);
  benchOpen(pB, &conn, w, eSide, iRound);
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
  pR->nSample[eSide]++;
  if (pB->opt.bVerbose) {
    fprintf(stderr,
            "mp-bench: %-20s %7d msgs %8.3f s %9.0f msg/s %7.1f cpu us/msg "
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
    "SELECT mp_enqueue_batch('[{\"chat_id\":2,\"text\":\"warm-up\"}]')",
    "SELECT mp_confirm_batch(json_array(json_object('id', lease_token, "
    "'telegram_message_id', 2))) FROM mp_claim(1)",
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
  if (strcmp(zOut, "2") != 0) benchFail(pB, "mp_stats confirmed is %s", zOut);
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
** Returns 1 if workload w met its target, a ratio to side s (raw-same or
** raw-min) or a rate, 0 if it missed it, or -1 if this run cannot tell
** (a side was not run).
*/
static int benchMet(const Bench *pB, int w, int s) {
  const BenchResult *pR = &pB->aResult[w];
  double rMp = pR->aMedian[BENCH_SIDE_MP].rRate;
  double rRaw = pR->aMedian[s].rRate;
  if (aWorkload[w].eTarget == BENCH_TARGET_RATE) {
    if (pR->nSample[BENCH_SIDE_MP] == 0) return -1;
    return rMp >= aWorkload[w].rTarget;
  }
  if (pR->nSample[s] == 0 || pR->nSample[BENCH_SIDE_MP] == 0) {
    return -1;
  }
  return rMp >= aWorkload[w].rTarget * rRaw;
}

/*
** The text of a benchMet() answer.
*/
static const char *benchMetText(int bMet) {
  return bMet < 0 ? "-" : bMet ? "yes" : "NO";
}

/*
** Returns the ratio mp/side s of the median rates of workload w (bCpu:
** side s's CPU per message over mp's), or -1 when a side was not run.
*/
static double benchRatio(const Bench *pB, int w, int s, int bCpu) {
  const BenchResult *pR = &pB->aResult[w];
  const BenchSampleStat *pMp = &pR->aMedian[BENCH_SIDE_MP];
  const BenchSampleStat *pRaw = &pR->aMedian[s];
  if (pR->nSample[s] == 0 || pR->nSample[BENCH_SIDE_MP] == 0) return -1;
  if (bCpu) return pMp->rCpuUs > 0 ? pRaw->rCpuUs / pMp->rCpuUs : -1;
  return pRaw->rRate > 0 ? pMp->rRate / pRaw->rRate : -1;
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
** Formats ratio v (-1: none) into zOut.
*/
static void benchRatioCell(char *zOut, size_t nOut, double v) {
  if (v < 0) {
    snprintf(zOut, nOut, "-");
  } else {
    snprintf(zOut, nOut, "%.2fx", v);
  }
}

/*
** Prints the result table, then the cost per message of each side, to
** stdout. Returns the number of targets missed.
*/
static int benchPrintTable(const Bench *pB) {
  static const int aOrder[BENCH_SIDES] = { BENCH_SIDE_MP, BENCH_SIDE_SAME,
                                           BENCH_SIDE_MIN };
  int nMissed = 0;
  printf("mp-bench: mp %s, SQLite %s, journal_mode=wal, synchronous=%s, "
         "cache_size=-%d, temp_store=%s, %d round%s\n",
         pB->zMpVersion[0] ? pB->zMpVersion : "?", sqlite3_libversion(),
         pB->opt.bFullSync ? "full" : "normal", pB->opt.nCacheKib,
         pB->opt.bTempFile ? "file" : "memory", pB->nRounds,
         pB->nRounds == 1 ? "" : "s");
  printf("batch=%d per tx (W2, W5), claim=%d per tx (W4, W6); auto_vacuum: "
         "mp %s, raw-same %s, raw-min %s\n\n",
         pB->opt.nBatch, pB->opt.nClaim,
         pB->azAutoVacuum[BENCH_SIDE_MP][0] ? pB->azAutoVacuum[BENCH_SIDE_MP]
                                            : "-",
         pB->azAutoVacuum[BENCH_SIDE_SAME][0]
             ? pB->azAutoVacuum[BENCH_SIDE_SAME]
             : "-",
         pB->azAutoVacuum[BENCH_SIDE_MIN][0] ? pB->azAutoVacuum[BENCH_SIDE_MIN]
                                             : "-");
  printf("%-34s %7s %9s %9s %9s %8s %8s  %-14s %s\n", "workload (msg/s, wall)",
         "msgs", "mp", "raw-same", "raw-min", "mp/same", "mp/min", "target",
         "met: same/min");
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    const BenchResult *pR = &pB->aResult[w];
    char zName[48], az[3][16], zSame[16], zMin[16], zTarget[24];
    int bMet = benchMet(pB, w, BENCH_SIDE_SAME);
    int bMetMin = benchMet(pB, w, BENCH_SIDE_MIN);
    if (!(pB->opt.mWorkload & (1u << w))) continue;
    snprintf(zName, sizeof(zName), "%s %s", aWorkload[w].zName,
             aWorkload[w].zTitle);
    for (int k = 0; k < BENCH_SIDES; k++) {
      int s = aOrder[k];
      benchCell(az[k], sizeof(az[k]), "%.0f", pR, s, pR->aMedian[s].rRate);
    }
    benchRatioCell(zSame, sizeof(zSame), benchRatio(pB, w, BENCH_SIDE_SAME, 0));
    benchRatioCell(zMin, sizeof(zMin), benchRatio(pB, w, BENCH_SIDE_MIN, 0));
    if (aWorkload[w].eTarget == BENCH_TARGET_RATE) {
      snprintf(zTarget, sizeof(zTarget), ">= %.0f/s", aWorkload[w].rTarget);
    } else {
      snprintf(zTarget, sizeof(zTarget), ">= %.2fx raw", aWorkload[w].rTarget);
    }
    printf("%-34s %7d %9s %9s %9s %8s %8s  %-14s %s/%s\n", zName, pR->nMessages,
           az[0], az[1], az[2], zSame, zMin, zTarget, benchMetText(bMet),
           benchMetText(bMetMin));
    if (bMet == 0) nMissed++;
  }
  printf("\n%-10s %9s %9s %9s %8s %8s %9s %9s %9s %7s %7s %7s\n", "per msg",
         "mp cpu", "same cpu", "min cpu", "cpu/same", "cpu/min", "mp B",
         "same B", "min B", "mp wr", "same wr", "min wr");
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    const BenchResult *pR = &pB->aResult[w];
    char az[9][16], zSame[16], zMin[16];
    if (!(pB->opt.mWorkload & (1u << w))) continue;
    for (int k = 0; k < BENCH_SIDES; k++) {
      int s = aOrder[k];
      const BenchSampleStat *pM = &pR->aMedian[s];
      benchCell(az[k], 16, "%.1f", pR, s, pM->rCpuUs);
      benchCell(az[3 + k], 16, "%.0f", pR, s, pM->rBytes);
      benchCell(az[6 + k], 16, "%.2f", pR, s, pM->rWrites);
    }
    benchRatioCell(zSame, sizeof(zSame), benchRatio(pB, w, BENCH_SIDE_SAME, 1));
    benchRatioCell(zMin, sizeof(zMin), benchRatio(pB, w, BENCH_SIDE_MIN, 1));
    printf("%-10s %9s %9s %9s %8s %8s %9s %9s %9s %7s %7s %7s\n",
           aWorkload[w].zName, az[0], az[1], az[2], zSame, zMin, az[3], az[4],
           az[5], az[6], az[7], az[8]);
  }
  printf("(cpu: CLOCK_PROCESS_CPUTIME_ID, us per message; cpu/x = x's cpu "
         "over mp's;\n B and wr: write() bytes and calls per message, "
         "/proc/self/io)\n");
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
** Writes v to f as a JSON number with the given decimals, or null when
** v < 0.
*/
static void benchJsonNumber(FILE *f, double v, int nDecimal) {
  if (v < 0) {
    fprintf(f, "null");
  } else {
    fprintf(f, "%.*f", nDecimal, v);
  }
}

/*
** Writes side s of workload w to f: the medians and every sample.
*/
static void benchJsonSide(FILE *f, const BenchResult *pR, int s) {
  static const char *const azField[] = { "msg_s", "cpu_us_per_msg",
                                         "bytes_written_per_msg",
                                         "writes_per_msg" };
  static const char *const azKey[BENCH_SIDES] = { "raw_min", "raw_same", "mp" };
  fprintf(f, "\"%s\": ", azKey[s]);
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
    benchJsonNumber(f, v, k == 1 ? 2 : 1);
  }
  fprintf(f, ", \"samples_msg_s\": [");
  for (int i = 0; i < pR->nSample[s]; i++) {
    fprintf(f, "%s%.1f", i ? ", " : "", pR->aSample[s][i].rRate);
  }
  fprintf(f, "], \"samples_cpu_us\": [");
  for (int i = 0; i < pR->nSample[s]; i++) {
    fprintf(f, "%s%.2f", i ? ", " : "", pR->aSample[s][i].rCpuUs);
  }
  fprintf(f, "]}");
}

/*
** Writes the results to zFile as JSON; stops the run on an I/O error.
*/
static void benchWriteJson(Bench *pB, const char *zFile) {
  static const char *const azRatio[] = { "ratio_min", "ratio_same",
                                         "cpu_ratio_min", "cpu_ratio_same" };
  FILE *f = fopen(zFile, "w");
  int bFirst = 1;
  if (f == 0) benchFail(pB, "cannot write %s: %s", zFile, strerror(errno));
  fprintf(f, "{\n  \"mp_version\": ");
  benchJsonString(f, pB->zMpVersion);
  fprintf(f, ",\n  \"sqlite_version\": ");
  benchJsonString(f, sqlite3_libversion());
  fprintf(f,
          ",\n  \"journal_mode\": \"wal\",\n  \"synchronous\": \"%s\",\n"
          "  \"temp_store\": \"%s\",\n  \"cache_kib\": %d,\n"
          "  \"batch\": %d,\n  \"claim\": %d,\n  \"rounds\": %d,\n"
          "  \"quick\": %s,\n  \"auto_vacuum\": {",
          pB->opt.bFullSync ? "full" : "normal",
          pB->opt.bTempFile ? "file" : "memory", pB->opt.nCacheKib,
          pB->opt.nBatch, pB->opt.nClaim, pB->nRounds,
          pB->opt.bQuick ? "true" : "false");
  for (int s = 0; s < BENCH_SIDES; s++) {
    fprintf(f, "%s\"%s\": ", s ? ", " : "", azSideName[s]);
    benchJsonString(f, pB->azAutoVacuum[s]);
  }
  fprintf(f, "},\n  \"workloads\": [");
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    const BenchResult *pR = &pB->aResult[w];
    int bMet = benchMet(pB, w, BENCH_SIDE_SAME);
    int bMetMin = benchMet(pB, w, BENCH_SIDE_MIN);
    if (!(pB->opt.mWorkload & (1u << w))) continue;
    fprintf(f, "%s\n    {\"name\": \"%s\", \"title\": ", bFirst ? "" : ",",
            aWorkload[w].zName);
    benchJsonString(f, aWorkload[w].zTitle);
    fprintf(f, ", \"messages\": %d,", pR->nMessages);
    for (int s = BENCH_SIDES - 1; s >= 0; s--) {
      fprintf(f, "\n     ");
      benchJsonSide(f, pR, s);
      fputc(',', f);
    }
    fprintf(f, "\n     ");
    for (int k = 0; k < 4; k++) {
      double v =
          benchRatio(pB, w, k % 2 ? BENCH_SIDE_SAME : BENCH_SIDE_MIN, k / 2);
      fprintf(f, "\"%s\": ", azRatio[k]);
      if (v < 0) {
        fprintf(f, "null, ");
      } else {
        fprintf(f, "%.4f, ", v);
      }
    }
    fprintf(f, "\"target\": {\"kind\": \"%s\", \"value\": %g}",
            aWorkload[w].eTarget == BENCH_TARGET_RATE ? "mp_msg_s" : "ratio",
            aWorkload[w].rTarget);
    fprintf(f, ", \"met\": %s, \"met_min\": %s}",
            bMet < 0 ? "null"
            : bMet   ? "true"
                     : "false",
            bMetMin < 0 ? "null"
            : bMetMin   ? "true"
                        : "false");
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
          "[--temp-store memory|file]\n"
          "                [--only W1,...,W6] [--side mp,raw-same,raw-min] "
          "[--batch N]\n"
          "                [--claim N] [--w1 N] ... [--w6 N] [--keep] "
          "[--strict]\n"
          "                [--verbose]\n");
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
** Returns the bit set of sides named in the comma-separated zList, or
** exits with a usage error.
*/
static unsigned benchParseSides(const char *zList) {
  static const struct {
    const char *zName;
    unsigned m;
  } aName[] = {
    { "mp", 1u << BENCH_SIDE_MP },       { "raw-same", 1u << BENCH_SIDE_SAME },
    { "raw-min", 1u << BENCH_SIDE_MIN }, { "raw", 1u << BENCH_SIDE_MIN },
    { "all", BENCH_SIDE_ALL },           { "both", BENCH_SIDE_ALL },
  };
  unsigned m = 0;
  const char *z = zList;
  while (*z) {
    size_t n = strcspn(z, ",");
    unsigned mOne = 0;
    for (size_t k = 0; k < sizeof(aName) / sizeof(aName[0]); k++) {
      if (strlen(aName[k].zName) == n && strncmp(z, aName[k].zName, n) == 0) {
        mOne = aName[k].m;
      }
    }
    if (mOne == 0) benchUsage("--side takes a list of mp, raw-same, raw-min");
    m |= mOne;
    z += n;
    if (*z == ',') z++;
  }
  if (m == 0) benchUsage("--side takes a list of mp, raw-same, raw-min");
  return m;
}

/*
** Parses the command line into pOpt; exits with status 2 on a usage
** error.
*/
static void benchParseArgs(int argc, char **argv, BenchOptions *pOpt) {
  static const char *const azValued[] = {
    "-rounds", "-sync", "-dir",   "-json",  "-cache-kib", "-temp-store",
    "-only",   "-side", "-batch", "-claim", "-w1",        "-w2",
    "-w3",     "-w4",   "-w5",    "-w6",
  };
  memset(pOpt, 0, sizeof(*pOpt));
  pOpt->nCacheKib = 2000;
  pOpt->nBatch = BENCH_BATCH_DEFAULT;
  pOpt->nClaim = BENCH_CLAIM_DEFAULT;
  pOpt->mWorkload = (1u << BENCH_WORKLOADS) - 1;
  pOpt->mSide = BENCH_SIDE_ALL;
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
    } else if (strcmp(z, "-temp-store") == 0) {
      if (strcmp(zVal, "file") != 0 && strcmp(zVal, "memory") != 0) {
        benchUsage("--temp-store takes memory or file");
      }
      pOpt->bTempFile = strcmp(zVal, "file") == 0;
    } else if (strcmp(z, "-dir") == 0) {
      pOpt->zParent = zVal;
    } else if (strcmp(z, "-json") == 0) {
      pOpt->zJson = zVal;
    } else if (strcmp(z, "-cache-kib") == 0) {
      pOpt->nCacheKib = benchParseInt("--cache-kib", zVal, 64, 16777216);
    } else if (strcmp(z, "-only") == 0) {
      pOpt->mWorkload = benchParseWorkloads(zVal);
    } else if (strcmp(z, "-side") == 0) {
      pOpt->mSide = benchParseSides(zVal);
    } else if (strcmp(z, "-batch") == 0) {
      pOpt->nBatch = benchParseInt("--batch", zVal, 1, BENCH_BATCH_MAX);
    } else if (strcmp(z, "-claim") == 0) {
      pOpt->nClaim = benchParseInt("--claim", zVal, 1, BENCH_CLAIM_MAX);
    } else {
      /* One of -w1 .. -w6. */
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
      /* Rotate which side goes first, so none always runs warm. */
      for (int k = 0; k < BENCH_SIDES; k++) {
        int s = (k + r) % BENCH_SIDES;
        if (pB->opt.mSide & (1u << s)) benchSample(pB, w, s, r);
      }
    }
  }
  for (int w = 0; w < BENCH_WORKLOADS; w++) {
    for (int s = 0; s < BENCH_SIDES; s++) {
      benchMedians(&pB->aResult[w], s);
    }
  }
  nMissed = benchPrintTable(pB);
  printf("\n%d target%s missed against raw-same (the same inserts and "
         "updates); %.1f s in all\n",
         nMissed, nMissed == 1 ? "" : "s", benchClock(pB) - t0);
  if (pB->opt.zJson) benchWriteJson(pB, pB->opt.zJson);
  free(pB->json.z);
  free(pB->inflight.aSlot);
  free(pB->seen.aSlot);
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
