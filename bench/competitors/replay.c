/*
** SPDX-License-Identifier: MIT
**
** replay: mp against the SQL that goqite and honker run, in one process,
** on one SQLite library (the system's, 3.40.1 on the project's machine),
** on the same machine in the same run.
**
** Usage:
**
**   replay --ext PATH/mp.so [--rounds R] [--n1 N] [--nb N] [--batch B]
**          [--only E1,EB,P1,PB,L1] [--dir DIR] [--same-pragmas] [--verbose]
**
**   --ext PATH      the mp extension to load (sqlite3_load_extension)
**   --rounds R      samples per workload and side (default 5); medians
**   --n1 N          messages of the one-per-transaction workloads
**                   (E1, P1, L1; default 5000)
**   --nb N          messages of the batched workloads (EB, PB; default
**                   20000)
**   --batch B       messages per transaction in EB and PB (default 100)
**   --only LIST     run only these workloads
**   --dir DIR       where the fresh temp directory is made (default
**                   $TMPDIR or /tmp); removed at the end
**   --same-pragmas  give goqite and honker only the pragmas every side
**                   gets, not their own extra ones (see PRAGMAS)
**   --verbose       print every sample to stderr
**
** Build (bench/competitors/run.sh does this):
**
**   cc -O2 -o replay bench/competitors/replay.c -lsqlite3
**
** WHAT IS MEASURED
**
** goqite (Go) and honker (Rust, Python) cannot be built here (no Go
** module proxy, no crates or PyPI). Both keep all queue logic in SQL, so
** this program issues, through the SQLite C API, the statements each of
** them issues per operation, with their schema, their transaction
** boundaries and their pragmas, and how their drivers prepare statements.
** It therefore measures their SQL on this SQLite, not their Go, Rust or
** Python runtime overhead (which can only add to their cost).
**
**   goqite   github.com/maragudk/goqite at 23697cc (goqite.go,
**            schema_sqlite.sql; driver mattn/go-sqlite3 v1.14.28, DSN of
**            its tests "_journal=WAL&_timeout=5000&_fk=true"). Send,
**            Receive and Delete each run in InTx(): BEGIN (deferred),
**            the statement, COMMIT. database/sql on mattn/go-sqlite3
**            has no statement cache by default, so every statement,
**            BEGIN and COMMIT included, is prepared and finalized per
**            use ("fresh" below). Send is INSERT ... RETURNING id,
**            Receive an UPDATE ... WHERE id = (SELECT ... LIMIT 1)
**            RETURNING id, body (its AFTER UPDATE trigger rewrites
**            `updated`), Delete a DELETE by queue and id. It has no
**            batch API; batches use SendTx/ReceiveTx/DeleteTx in one
**            InTx, one statement per message.
**   honker   github.com/russellromney/honker at 54af9ac
**            (honker-core/src/lib.rs BOOTSTRAP_HONKER_SQL and
**            DEFAULT_PRAGMAS, honker-core/src/honker_ops.rs, the Python
**            binding packages/honker). Every operation is BEGIN
**            IMMEDIATE (cached), SELECT honker_<op>(...), COMMIT
**            (cached). Inside the function rusqlite's ctx.get_connection()
**            builds a new Connection, whose statement cache starts
**            empty, so every inner statement is prepared per call. The
**            replay issues those inner statements: enqueue = SELECT
**            unixepoch() + INSERT ... RETURNING id; claim_batch(n) = the
**            dead-letter DELETE ... RETURNING + UPDATE ... WHERE id IN
**            (SELECT ... LIMIT n) RETURNING; ack = DELETE by id, worker
**            and lease; ack_batch = DELETE ... WHERE id IN (SELECT value
**            FROM json_each(?)) RETURNING id. Not replayed: the outer
**            SELECT honker_<op>() call itself, the JSON that claim_batch
**            builds with serde and Python parses, and the Python layer.
**   mp       build/mp.so, loaded into the same SQLite, mp_init() with
**            pacing off; mp_enqueue(), mp_claim(n), mp_confirm() (side
**            "mp", one call per message) or mp_enqueue_batch() and
**            mp_confirm_batch() (side "mp-batch"), prepared once.
**   raw      a minimal hand-written queue (table q, one partial index,
**            prepared statements), as a reference.
**
** mp confirms (the row stays, as 'confirmed', for retention and stats);
** goqite and honker delete the row on ack.
**
** PRAGMAS. Every side: journal_mode=WAL, synchronous=NORMAL,
** busy_timeout=5000, temp_store=MEMORY, SQLite's default cache. On top,
** each competitor's own: goqite foreign_keys=ON (its DSN); honker its
** DEFAULT_PRAGMAS (foreign_keys=ON, cache_size=-32000,
** wal_autocheckpoint=10000). --same-pragmas leaves those out.
**
** THE WORKLOADS (messages: chat ids cycling over 1000 chats, a 300-byte
** text; goqite's body and honker's payload carry the same as the JSON
** {"chat_id":N,"text":"..."}):
**
**   E1  enqueue, one per transaction
**   EB  enqueue, --batch per transaction
**   P1  claim one (one transaction), then ack it (another), as honker's
**       claim_one() + job.ack() and goqite's Receive() + Delete() do
**   PB  claim --batch and ack them, in one transaction
**   L1  enqueue, claim, ack: three transactions per message, the loop of
**       goqite's BenchmarkQueue and honker's README figures
**
** P1 and PB start from --n1 / --nb pending messages stored before the
** clock starts (1000 per transaction, then a WAL checkpoint). Each round
** runs the sides in a rotating order; the table shows the medians of
** wall-clock msg/s and of process CPU time per message, and mp/x, the
** median over rounds of x's time over mp's in the same round (above 1,
** mp is faster; per-round ratios shrug off the load of a shared
** machine better than ratios of medians). After every sample the counts
** are checked, so a broken run cannot look fast.
**
** Exit status: 0 on success, 1 on an error or a failed check, 2 on a
** usage error.
*/
#define _POSIX_C_SOURCE 200809L

#include <sqlite3.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef sqlite3_int64 i64;

#define RP_CHATS      1000 /* chat ids cycle over this many chats */
#define RP_TEXT_BYTES 300  /* bytes of each message text */
#define RP_MAX_BATCH  1000 /* the largest --batch */
#define RP_PREFILL_TX 1000 /* messages per transaction of the prefill */
#define RP_HANDLE_MAX 96   /* bytes of one claimed id or lease token */
#define RP_MAX_ROUNDS 99
#define RP_MP_CONFIG                                \
 "{\"pace_chat_ms\":0,\"pace_group_per_minute\":0," \
 "\"pace_global_per_second\":0}"

/* The statements of a side, by role. */
enum {
  RP_BEGIN,        /* opens a transaction */
  RP_COMMIT,       /* commits it */
  RP_NOW,          /* honker: SELECT unixepoch() before its INSERT */
  RP_ENQUEUE,      /* stores one message */
  RP_ENQUEUE_MANY, /* mp-batch: mp_enqueue_batch() */
  RP_DEAD_LETTER,  /* honker: the dead-letter sweep of claim_batch */
  RP_CLAIM,        /* claims n messages (goqite: one) */
  RP_ACK,          /* acks or confirms one message */
  RP_ACK_MANY,     /* honker ack_batch, mp-batch mp_confirm_batch */
  RP_LIVE,         /* counts the messages not acked yet */
  RP_STMTS
};

#define RP_FRESH(e) (1u << (e)) /* prepared and finalized for every use */

typedef struct Rp Rp;

/* One system under test. */
typedef struct RpSide {
  const char *zName;    /* as printed */
  int bMp;              /* loads mp.so and runs mp_init() */
  int bOwnTx;           /* wraps every single operation in BEGIN/COMMIT */
  int bBatchOnly;       /* runs only in the batched workloads */
  const char *zPragmas; /* its own pragmas, after the common ones */
  const char *zSchema;  /* its tables; NULL for mp */
  unsigned mFresh;      /* RP_FRESH() of the statements not cached */
  const char *azSql[RP_STMTS]; /* NULL: not used */
  void (*xEnqueue)(Rp *, int iMsg);
  int (*xClaim)(Rp *, int n); /* returns how many it claimed */
  void (*xAck)(Rp *, int k);  /* acks claimed message k */
} RpSide;

/* The state of one sample: a fresh database and one side. */
struct Rp {
  const RpSide *pSide;                        /* the side under test */
  sqlite3 *db;                                /* its connection */
  sqlite3_stmt *apStmt[RP_STMTS];             /* cached statements */
  char azHandle[RP_MAX_BATCH][RP_HANDLE_MAX]; /* claimed ids or tokens */
  i64 aiHandle[RP_MAX_BATCH];                 /* claimed integer ids */
  i64 iTelegramId;                            /* the next telegram_message_id */
  char *zBuf;                                 /* JSON arguments */
  size_t nBuf, nBufAlloc; /* bytes used and allocated in zBuf */
};

/* Options. */
static struct {
  const char *zExt;  /* --ext */
  const char *zDir;  /* --dir */
  const char *zOnly; /* --only */
  int nRounds, n1, nb, nBatch, bSamePragmas, bVerbose;
} rpOpt = { 0, 0, 0, 5, 5000, 20000, 100, 0, 0 };

static const char *rpWhere = "setup"; /* for rpFail() outside a sample */

/*
** Prints an error naming the current sample and exits with status 1.
*/
static void rpFail(const char *zFormat, ...) {
  va_list ap;
  fprintf(stderr, "replay: %s: ", rpWhere);
  va_start(ap, zFormat);
  vfprintf(stderr, zFormat, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

/*
** Stops the run unless rc is SQLITE_OK.
*/
static void rpCheck(sqlite3 *db, int rc, const char *zWhat) {
  if (rc != SQLITE_OK) rpFail("%s: %s (rc=%d)", zWhat, sqlite3_errmsg(db), rc);
}

/*
** Seconds on clock id.
*/
static double rpClock(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
** The wall-clock time in milliseconds since the Unix epoch.
*/
static i64 rpNowMs(void) {
  return (i64)(rpClock(CLOCK_REALTIME) * 1000.0);
}

/* ------------------------------------------------------------------------
** Statements
*/

/*
** Returns statement e of the side, ready to bind: the cached one, or,
** when the side's driver prepares it for every use, a new one.
*/
static sqlite3_stmt *rpStmt(Rp *p, int e) {
  sqlite3_stmt *pStmt = p->apStmt[e];
  if (pStmt == 0) {
    const char *zSql = p->pSide->azSql[e];
    if (zSql == 0) rpFail("statement %d is not defined", e);
    rpCheck(p->db, sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0), zSql);
    if ((p->pSide->mFresh & RP_FRESH(e)) == 0) p->apStmt[e] = pStmt;
  }
  return pStmt;
}

/*
** Steps pStmt once; returns 1 for a row, 0 when it is done.
*/
static int rpStep(Rp *p, sqlite3_stmt *pStmt) {
  int rc = sqlite3_step(pStmt);
  if (rc == SQLITE_ROW) return 1;
  if (rc != SQLITE_DONE) rpCheck(p->db, rc, sqlite3_sql(pStmt));
  return 0;
}

/*
** Ends the use of statement e: resets a cached one, finalizes a fresh
** one (as database/sql on mattn/go-sqlite3 and rusqlite's execute() and
** query_row() do).
*/
static void rpDone(Rp *p, int e, sqlite3_stmt *pStmt) {
  if (p->apStmt[e] == pStmt) {
    sqlite3_reset(pStmt);
    sqlite3_clear_bindings(pStmt);
  } else {
    sqlite3_finalize(pStmt);
  }
}

/*
** Runs statement e, which takes no parameters, to its end.
*/
static void rpRun(Rp *p, int e) {
  sqlite3_stmt *pStmt = rpStmt(p, e);
  while (rpStep(p, pStmt)) {
  }
  rpDone(p, e, pStmt);
}

/*
** Runs statement e, which binds integer iArg as ?1 and returns one
** integer, and returns it.
*/
static i64 rpInt(Rp *p, int e, i64 iArg) {
  sqlite3_stmt *pStmt = rpStmt(p, e);
  i64 iResult;
  if (sqlite3_bind_parameter_count(pStmt) > 0) {
    sqlite3_bind_int64(pStmt, 1, iArg);
  }
  if (!rpStep(p, pStmt)) rpFail("%s returned no row", sqlite3_sql(pStmt));
  iResult = sqlite3_column_int64(pStmt, 0);
  while (rpStep(p, pStmt)) {
  }
  rpDone(p, e, pStmt);
  return iResult;
}

/*
** Runs every statement of zSql (pragmas, schema).
*/
static void rpExec(sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  if (sqlite3_exec(db, zSql, 0, 0, &zErr) != SQLITE_OK) {
    rpFail("%s: %s", zSql, zErr ? zErr : "?");
  }
}

/*
** Remembers claimed message k: its text handle (id or lease token) and
** its integer id.
*/
static void rpKeep(Rp *p, int k, const unsigned char *zHandle, i64 iId) {
  if (k >= RP_MAX_BATCH) rpFail("claimed more than %d", RP_MAX_BATCH);
  snprintf(p->azHandle[k], RP_HANDLE_MAX, "%s", zHandle ? (char *)zHandle : "");
  p->aiHandle[k] = iId;
}

/*
** Steps the bound claim statement pStmt to its end and keeps each row:
** column iToken as its handle when iToken > 0 (mp's lease token), column
** 0 as its integer id; reads column iPayload as a caller would. Returns
** the number of rows.
*/
static int rpClaimRows(Rp *p, sqlite3_stmt *pStmt, int iPayload, int iToken) {
  int k = 0;
  while (rpStep(p, pStmt)) {
    (void)sqlite3_column_text(pStmt, iPayload);
    rpKeep(p, k++, iToken ? sqlite3_column_text(pStmt, iToken) : 0,
           sqlite3_column_int64(pStmt, 0));
  }
  rpDone(p, RP_CLAIM, pStmt);
  return k;
}

/*
** Runs the bound statement e, which must change exactly one row.
*/
static void rpOneChange(Rp *p, int e, sqlite3_stmt *pStmt) {
  rpStep(p, pStmt);
  if (sqlite3_changes(p->db) != 1) {
    rpFail("%s changed %d rows", sqlite3_sql(pStmt), sqlite3_changes(p->db));
  }
  rpDone(p, e, pStmt);
}

/* ------------------------------------------------------------------------
** Messages and JSON
*/

/*
** Writes message iMsg's text (RP_TEXT_BYTES bytes) into z and returns
** its chat id.
*/
static int rpMessage(int iMsg, char z[RP_TEXT_BYTES + 1]) {
  int n = snprintf(z, RP_TEXT_BYTES + 1, "message %d: ", iMsg);
  memset(z + n, 'x', (size_t)(RP_TEXT_BYTES - n));
  z[RP_TEXT_BYTES] = 0;
  return 1 + iMsg % RP_CHATS;
}

/*
** Appends the formatted text to p->zBuf.
*/
static void rpAppend(Rp *p, const char *zFormat, ...) {
  va_list ap;
  int n;
  for (;;) {
    size_t nRoom = p->nBufAlloc - p->nBuf;
    va_start(ap, zFormat);
    n = vsnprintf(p->zBuf ? p->zBuf + p->nBuf : 0, nRoom, zFormat, ap);
    va_end(ap);
    if (n < 0) rpFail("vsnprintf failed");
    if ((size_t)n < nRoom) break;
    p->nBufAlloc = 2 * p->nBufAlloc + (size_t)n + 1024;
    p->zBuf = realloc(p->zBuf, p->nBufAlloc);
    if (p->zBuf == 0) rpFail("out of memory");
  }
  p->nBuf += (size_t)n;
}

/*
** Sets p->zBuf to message iMsg as the JSON object {"chat_id":N,"text":
** "..."} (goqite's body, honker's payload, an mp_enqueue_batch element).
*/
static void rpMessageJson(Rp *p, int iMsg) {
  char zText[RP_TEXT_BYTES + 1];
  int iChat = rpMessage(iMsg, zText);
  rpAppend(p, "{\"chat_id\":%d,\"text\":\"%s\"}", iChat, zText);
}

/*
** Binds the JSON in p->zBuf as ?i: as a blob when bBlob (goqite's []byte
** body), as text otherwise.
*/
static void rpBindBuf(Rp *p, sqlite3_stmt *pStmt, int i, int bBlob) {
  int rc = bBlob ? sqlite3_bind_blob(pStmt, i, p->zBuf, (int)p->nBuf,
                                     SQLITE_TRANSIENT)
                 : sqlite3_bind_text(pStmt, i, p->zBuf, (int)p->nBuf,
                                     SQLITE_TRANSIENT);
  rpCheck(p->db, rc, "bind");
}

/* ------------------------------------------------------------------------
** mp
*/

/*
** mp: SELECT mp_enqueue(chat_id, text).
*/
static void rpMpEnqueue(Rp *p, int iMsg) {
  char zText[RP_TEXT_BYTES + 1];
  sqlite3_stmt *pStmt = rpStmt(p, RP_ENQUEUE);
  sqlite3_bind_int(pStmt, 1, rpMessage(iMsg, zText));
  sqlite3_bind_text(pStmt, 2, zText, RP_TEXT_BYTES, SQLITE_STATIC);
  if (!rpStep(p, pStmt) || sqlite3_column_bytes(pStmt, 0) != 36) {
    rpFail("mp_enqueue returned no id");
  }
  rpDone(p, RP_ENQUEUE, pStmt);
}

/*
** mp: SELECT id, chat_id, message_text, lease_token FROM mp_claim(n).
** Keeps the lease tokens.
*/
static int rpMpClaim(Rp *p, int n) {
  sqlite3_stmt *pStmt = rpStmt(p, RP_CLAIM);
  sqlite3_bind_int(pStmt, 1, n);
  return rpClaimRows(p, pStmt, 2, 3);
}

/*
** mp: SELECT mp_confirm(lease_token, telegram_message_id).
*/
static void rpMpAck(Rp *p, int k) {
  sqlite3_stmt *pStmt = rpStmt(p, RP_ACK);
  sqlite3_bind_text(pStmt, 1, p->azHandle[k], -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, p->iTelegramId++);
  if (!rpStep(p, pStmt) || sqlite3_column_int(pStmt, 0) != 1) {
    rpFail("mp_confirm did not return 1");
  }
  rpDone(p, RP_ACK, pStmt);
}

/*
** mp-batch: one mp_enqueue_batch() of messages iFirst..iFirst+n-1, its
** JSON built here, inside the timed loop.
*/
static void rpMpEnqueueMany(Rp *p, int iFirst, int n) {
  sqlite3_stmt *pStmt;
  p->nBuf = 0;
  rpAppend(p, "[");
  for (int i = iFirst; i < iFirst + n; i++) {
    if (i > iFirst) rpAppend(p, ",");
    rpMessageJson(p, i);
  }
  rpAppend(p, "]");
  pStmt = rpStmt(p, RP_ENQUEUE_MANY);
  rpBindBuf(p, pStmt, 1, 0);
  if (!rpStep(p, pStmt) || sqlite3_column_bytes(pStmt, 0) < 38 * n) {
    rpFail("mp_enqueue_batch did not return %d ids", n);
  }
  rpDone(p, RP_ENQUEUE_MANY, pStmt);
}

/*
** mp-batch: one mp_confirm_batch() of the n claimed messages.
*/
static void rpMpAckMany(Rp *p, int n) {
  sqlite3_stmt *pStmt;
  const unsigned char *z;
  p->nBuf = 0;
  rpAppend(p, "[");
  for (int k = 0; k < n; k++) {
    rpAppend(p, "%s{\"id\":\"%s\",\"telegram_message_id\":%lld}", k ? "," : "",
             p->azHandle[k], p->iTelegramId++);
  }
  rpAppend(p, "]");
  pStmt = rpStmt(p, RP_ACK_MANY);
  rpBindBuf(p, pStmt, 1, 0);
  if (!rpStep(p, pStmt) || (z = sqlite3_column_text(pStmt, 0)) == 0 ||
      strchr((const char *)z, '{') != 0) {
    rpFail("mp_confirm_batch did not confirm all %d", n);
  }
  rpDone(p, RP_ACK_MANY, pStmt);
}

/* ------------------------------------------------------------------------
** goqite (goqite.go: SendAndGetIDTx, ReceiveTx, DeleteTx)
*/

/*
** Writes Go's time.Now().UTC().Add(ms).Format("2006-01-02T15:04:05.000Z07:00")
** into z, as goqite stores and compares its times.
*/
static void rpGoTime(char z[32], i64 msFromNow) {
  i64 ms = rpNowMs() + msFromNow;
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(z, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(z + 19, 13, ".%03dZ", (int)(ms % 1000));
}

/*
** goqite Send: insert into goqite (queue, body, timeout, priority)
** values (?, ?, ?, ?) returning id.
*/
static void rpGoqiteEnqueue(Rp *p, int iMsg) {
  char zTime[32];
  sqlite3_stmt *pStmt = rpStmt(p, RP_ENQUEUE);
  p->nBuf = 0;
  rpMessageJson(p, iMsg);
  rpGoTime(zTime, 0);
  sqlite3_bind_text(pStmt, 1, "bench", 5, SQLITE_STATIC);
  rpBindBuf(p, pStmt, 2, 1);
  sqlite3_bind_text(pStmt, 3, zTime, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(pStmt, 4, 0);
  if (!rpStep(p, pStmt)) rpFail("goqite insert returned no id");
  rpDone(p, RP_ENQUEUE, pStmt);
}

/*
** goqite Receive, n times (ReceiveTx has no batch form): the UPDATE ...
** RETURNING id, body, with the default 5 s timeout and 3 receives.
*/
static int rpGoqiteClaim(Rp *p, int n) {
  int k;
  for (k = 0; k < n; k++) {
    char zNow[32], zTimeout[32];
    sqlite3_stmt *pStmt = rpStmt(p, RP_CLAIM);
    int bRow;
    rpGoTime(zNow, 0);
    rpGoTime(zTimeout, 5000);
    sqlite3_bind_text(pStmt, 1, zTimeout, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(pStmt, 2, "bench", 5, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 3, zNow, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(pStmt, 4, 3);
    bRow = rpStep(p, pStmt);
    if (bRow) {
      (void)sqlite3_column_blob(pStmt, 1);
      rpKeep(p, k, sqlite3_column_text(pStmt, 0), 0);
    }
    rpDone(p, RP_CLAIM, pStmt);
    if (!bRow) break;
  }
  return k;
}

/*
** goqite Delete: delete from goqite where queue = ? and id = ?.
*/
static void rpGoqiteAck(Rp *p, int k) {
  sqlite3_stmt *pStmt = rpStmt(p, RP_ACK);
  sqlite3_bind_text(pStmt, 1, "bench", 5, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, p->azHandle[k], -1, SQLITE_STATIC);
  rpOneChange(p, RP_ACK, pStmt);
}

/* ------------------------------------------------------------------------
** honker (honker_ops.rs: enqueue, claim_batch, ack, ack_batch)
*/

/*
** honker enqueue: now = SELECT unixepoch(), then INSERT INTO _honker_live
** (queue, payload, run_at, priority, max_attempts, expires_at) ...
** RETURNING id, with Queue's defaults (priority 0, 3 attempts, no
** expiry).
*/
static void rpHonkerEnqueue(Rp *p, int iMsg) {
  i64 iNow = rpInt(p, RP_NOW, 0);
  sqlite3_stmt *pStmt = rpStmt(p, RP_ENQUEUE);
  p->nBuf = 0;
  rpMessageJson(p, iMsg);
  sqlite3_bind_text(pStmt, 1, "bench", 5, SQLITE_STATIC);
  rpBindBuf(p, pStmt, 2, 0);
  sqlite3_bind_int64(pStmt, 3, iNow);
  sqlite3_bind_int(pStmt, 4, 0);
  sqlite3_bind_int(pStmt, 5, 3);
  sqlite3_bind_null(pStmt, 6);
  if (!rpStep(p, pStmt)) rpFail("honker insert returned no id");
  rpDone(p, RP_ENQUEUE, pStmt);
}

/*
** honker claim_batch(queue, worker, n, 300): the dead-letter sweep,
** then the claim UPDATE ... RETURNING id, queue, payload, worker_id,
** attempts, claim_expires_at.
*/
static int rpHonkerClaim(Rp *p, int n) {
  sqlite3_stmt *pStmt = rpStmt(p, RP_DEAD_LETTER);
  sqlite3_bind_text(pStmt, 1, "bench", 5, SQLITE_STATIC);
  if (rpStep(p, pStmt)) rpFail("honker dead-lettered a message");
  rpDone(p, RP_DEAD_LETTER, pStmt);
  pStmt = rpStmt(p, RP_CLAIM);
  sqlite3_bind_text(pStmt, 1, "bench-w", 7, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, "bench", 5, SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 3, n);
  sqlite3_bind_int(pStmt, 4, 300);
  return rpClaimRows(p, pStmt, 2, 0);
}

/*
** honker ack(job_id, worker_id): DELETE FROM _honker_live WHERE id = ?1
** AND worker_id = ?2 AND claim_expires_at >= unixepoch().
*/
static void rpHonkerAck(Rp *p, int k) {
  sqlite3_stmt *pStmt = rpStmt(p, RP_ACK);
  sqlite3_bind_int64(pStmt, 1, p->aiHandle[k]);
  sqlite3_bind_text(pStmt, 2, "bench-w", 7, SQLITE_STATIC);
  rpOneChange(p, RP_ACK, pStmt);
}

/*
** honker ack_batch(ids_json, worker_id): the DELETE ... WHERE id IN
** (SELECT value FROM json_each(?1)) ... RETURNING id, rows counted.
*/
static void rpHonkerAckMany(Rp *p, int n) {
  sqlite3_stmt *pStmt;
  int nDeleted = 0;
  p->nBuf = 0;
  rpAppend(p, "[");
  for (int k = 0; k < n; k++) {
    rpAppend(p, "%s%lld", k ? "," : "", p->aiHandle[k]);
  }
  rpAppend(p, "]");
  pStmt = rpStmt(p, RP_ACK_MANY);
  rpBindBuf(p, pStmt, 1, 0);
  sqlite3_bind_text(pStmt, 2, "bench-w", 7, SQLITE_STATIC);
  while (rpStep(p, pStmt))
    nDeleted++;
  rpDone(p, RP_ACK_MANY, pStmt);
  if (nDeleted != n) rpFail("honker ack_batch deleted %d of %d", nDeleted, n);
}

/* ------------------------------------------------------------------------
** raw: a minimal hand-written queue
*/

/*
** raw: INSERT INTO q(chat_id, message_text, created_at, updated_at).
*/
static void rpRawEnqueue(Rp *p, int iMsg) {
  char zText[RP_TEXT_BYTES + 1];
  sqlite3_stmt *pStmt = rpStmt(p, RP_ENQUEUE);
  sqlite3_bind_int(pStmt, 1, rpMessage(iMsg, zText));
  sqlite3_bind_text(pStmt, 2, zText, RP_TEXT_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 3, rpNowMs());
  rpStep(p, pStmt);
  rpDone(p, RP_ENQUEUE, pStmt);
}

/*
** raw: one UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING id,
** chat_id, message_text.
*/
static int rpRawClaim(Rp *p, int n) {
  sqlite3_stmt *pStmt = rpStmt(p, RP_CLAIM);
  i64 iNow = rpNowMs();
  sqlite3_bind_int64(pStmt, 1, iNow + 60000);
  sqlite3_bind_int64(pStmt, 2, iNow);
  sqlite3_bind_int(pStmt, 3, n);
  return rpClaimRows(p, pStmt, 2, 0);
}

/*
** raw: UPDATE q SET status = 'confirmed' ... WHERE id = ? AND status =
** 'sent'.
*/
static void rpRawAck(Rp *p, int k) {
  sqlite3_stmt *pStmt = rpStmt(p, RP_ACK);
  sqlite3_bind_int64(pStmt, 1, p->iTelegramId++);
  sqlite3_bind_int64(pStmt, 2, rpNowMs());
  sqlite3_bind_int64(pStmt, 3, p->aiHandle[k]);
  rpOneChange(p, RP_ACK, pStmt);
}

/* ------------------------------------------------------------------------
** The sides
*/

#define RP_BEGIN_IMMEDIATE \
 [RP_BEGIN] = "BEGIN IMMEDIATE", [RP_COMMIT] = "COMMIT"
#define RP_MP_SQL                                                           \
 RP_BEGIN_IMMEDIATE,                                                        \
     [RP_ENQUEUE] = "SELECT mp_enqueue(?1, ?2)",                            \
     [RP_CLAIM] =                                                           \
         "SELECT id, chat_id, message_text, lease_token FROM mp_claim(?1)", \
     [RP_ACK] = "SELECT mp_confirm(?1, ?2)",                                \
     [RP_LIVE] = "SELECT count(*) FROM messages "                           \
                 "WHERE status = 'pending' OR status = 'sent'"

// clang-format off
static const RpSide aSide[] = {
  { "mp", 1, 0, 0, "", 0, 0, { RP_MP_SQL },
    rpMpEnqueue, rpMpClaim, rpMpAck },
  { "mp-batch", 1, 0, 1, "", 0, 0,
    { RP_MP_SQL,
      [RP_ENQUEUE_MANY] = "SELECT mp_enqueue_batch(?1)",
      [RP_ACK_MANY] = "SELECT mp_confirm_batch(?1)" },
    rpMpEnqueue, rpMpClaim, rpMpAck },
  { "goqite", 0, 1, 0, "PRAGMA foreign_keys = ON;",
    /* schema_sqlite.sql */
    "create table goqite (\n"
    "  id text primary key default ('m_' || lower(hex(randomblob(16)))),\n"
    "  created text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),\n"
    "  updated text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),\n"
    "  queue text not null,\n"
    "  body blob not null,\n"
    "  timeout text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),\n"
    "  received integer not null default 0,\n"
    "  priority integer not null default 0\n"
    ") strict;\n"
    "create trigger goqite_updated_timestamp after update on goqite begin\n"
    "  update goqite set updated = strftime('%Y-%m-%dT%H:%M:%fZ') "
    "where id = old.id;\n"
    "end;\n"
    "create index goqite_queue_priority_created_idx on goqite "
    "(queue, priority desc, created);",
    RP_FRESH(RP_BEGIN) | RP_FRESH(RP_COMMIT) | RP_FRESH(RP_ENQUEUE) |
        RP_FRESH(RP_CLAIM) | RP_FRESH(RP_ACK),
    { [RP_BEGIN] = "BEGIN", [RP_COMMIT] = "COMMIT",
      [RP_ENQUEUE] = "insert into goqite (queue, body, timeout, priority) "
                     "values (?, ?, ?, ?) returning id",
      [RP_CLAIM] =
          "\n\t\t\tupdate goqite\n\t\t\tset\n\t\t\t\ttimeout = ?,\n"
          "\t\t\t\treceived = received + 1\n\t\t\twhere id = (\n"
          "\t\t\t\tselect id from goqite\n\t\t\t\twhere\n"
          "\t\t\t\t\tqueue = ? and\n\t\t\t\t\t? >= timeout and\n"
          "\t\t\t\t\treceived < ?\n"
          "\t\t\t\torder by priority desc, created\n\t\t\t\tlimit 1\n"
          "\t\t\t)\n\t\t\treturning id, body",
      [RP_ACK] = "delete from goqite where queue = ? and id = ?",
      [RP_LIVE] = "SELECT count(*) FROM goqite" },
    rpGoqiteEnqueue, rpGoqiteClaim, rpGoqiteAck },
  { "honker", 0, 1, 0,
    /* DEFAULT_PRAGMAS beyond the common ones */
    "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000; "
    "PRAGMA wal_autocheckpoint = 10000;",
    /* BOOTSTRAP_HONKER_SQL, the queue tables (the others are never
    ** touched by a queue operation) */
    "CREATE TABLE IF NOT EXISTS _honker_live (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  queue TEXT NOT NULL,\n"
    "  payload TEXT NOT NULL,\n"
    "  state TEXT NOT NULL DEFAULT 'pending',\n"
    "  priority INTEGER NOT NULL DEFAULT 0,\n"
    "  run_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
    "  worker_id TEXT,\n"
    "  claim_expires_at INTEGER,\n"
    "  attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  max_attempts INTEGER NOT NULL DEFAULT 3,\n"
    "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
    "  expires_at INTEGER\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS _honker_live_claim\n"
    "  ON _honker_live(queue, priority DESC, run_at, id)\n"
    "  WHERE state IN ('pending', 'processing');\n"
    "CREATE INDEX IF NOT EXISTS _honker_live_pending_deadline\n"
    "  ON _honker_live(queue, run_at)\n"
    "  WHERE state = 'pending';\n"
    "CREATE INDEX IF NOT EXISTS _honker_live_processing_deadline\n"
    "  ON _honker_live(queue, claim_expires_at)\n"
    "  WHERE state = 'processing';\n"
    "CREATE TABLE IF NOT EXISTS _honker_dead (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  queue TEXT NOT NULL,\n"
    "  payload TEXT NOT NULL,\n"
    "  priority INTEGER NOT NULL DEFAULT 0,\n"
    "  run_at INTEGER NOT NULL DEFAULT 0,\n"
    "  attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  max_attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  last_error TEXT,\n"
    "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
    "  died_at INTEGER NOT NULL DEFAULT (unixepoch())\n"
    ");",
    RP_FRESH(RP_NOW) | RP_FRESH(RP_ENQUEUE) | RP_FRESH(RP_DEAD_LETTER) |
        RP_FRESH(RP_CLAIM) | RP_FRESH(RP_ACK) | RP_FRESH(RP_ACK_MANY),
    { RP_BEGIN_IMMEDIATE,
      [RP_NOW] = "SELECT unixepoch()",
      [RP_ENQUEUE] =
          "INSERT INTO _honker_live\n"
          "           (queue, payload, run_at, priority, max_attempts, "
          "expires_at)\n"
          "         VALUES (?1, ?2, ?3, ?4, ?5, ?6)\n"
          "         RETURNING id",
      [RP_DEAD_LETTER] =
          "DELETE FROM _honker_live\n"
          "         WHERE queue = ?1\n"
          "           AND attempts >= max_attempts\n"
          "           AND (expires_at IS NULL OR expires_at > unixepoch())\n"
          "           AND (\n"
          "             (state = 'pending' AND run_at <= unixepoch())\n"
          "             OR (state = 'processing' AND claim_expires_at < "
          "unixepoch())\n"
          "           )\n"
          "         RETURNING id, queue, payload, priority, run_at, "
          "max_attempts,\n"
          "                   attempts, created_at",
      [RP_CLAIM] =
          "UPDATE _honker_live\n"
          "         SET state = 'processing',\n"
          "             worker_id = ?1,\n"
          "             claim_expires_at = unixepoch() + ?4,\n"
          "             attempts = attempts + 1\n"
          "         WHERE id IN (\n"
          "           SELECT id FROM _honker_live\n"
          "           WHERE queue = ?2\n"
          "             AND state IN ('pending', 'processing')\n"
          "             AND attempts < max_attempts\n"
          "             AND (expires_at IS NULL OR expires_at > unixepoch())\n"
          "             AND ((state = 'pending' AND run_at <= unixepoch())\n"
          "               OR (state = 'processing' AND claim_expires_at < "
          "unixepoch()))\n"
          "           ORDER BY priority DESC, run_at ASC, id ASC\n"
          "           LIMIT ?3\n"
          "         )\n"
          "         RETURNING id, queue, payload, worker_id, attempts, "
          "claim_expires_at",
      [RP_ACK] = "DELETE FROM _honker_live\n"
                 "         WHERE id = ?1 AND worker_id = ?2 AND "
                 "claim_expires_at >= unixepoch()",
      [RP_ACK_MANY] = "DELETE FROM _honker_live\n"
                      "         WHERE id IN (SELECT value FROM json_each(?1))\n"
                      "           AND worker_id = ?2\n"
                      "           AND claim_expires_at >= unixepoch()\n"
                      "         RETURNING id",
      [RP_LIVE] = "SELECT count(*) FROM _honker_live" },
    rpHonkerEnqueue, rpHonkerClaim, rpHonkerAck },
  { "raw", 0, 0, 0, "",
    "CREATE TABLE q(id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, "
    "message_text TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', "
    "priority INTEGER NOT NULL DEFAULT 1, lease_until INTEGER, "
    "telegram_message_id INTEGER, created_at INTEGER NOT NULL, "
    "updated_at INTEGER NOT NULL);"
    "CREATE INDEX q_queue ON q(status, priority DESC, id) "
    "WHERE status = 'pending' OR status = 'sent';",
    0,
    { RP_BEGIN_IMMEDIATE,
      [RP_ENQUEUE] = "INSERT INTO q(chat_id, message_text, created_at, "
                     "updated_at) VALUES (?1, ?2, ?3, ?3)",
      [RP_CLAIM] = "UPDATE q SET status = 'sent', lease_until = ?1, "
                   "updated_at = ?2 WHERE id IN (SELECT id FROM q WHERE "
                   "status = 'pending' ORDER BY priority DESC, id LIMIT ?3) "
                   "RETURNING id, chat_id, message_text",
      [RP_ACK] = "UPDATE q SET status = 'confirmed', telegram_message_id = ?1, "
                 "lease_until = NULL, updated_at = ?2 "
                 "WHERE id = ?3 AND status = 'sent'",
      [RP_LIVE] = "SELECT count(*) FROM q "
                  "WHERE status = 'pending' OR status = 'sent'" },
    rpRawEnqueue, rpRawClaim, rpRawAck },
};
// clang-format on
#define RP_SIDES ((int)(sizeof(aSide) / sizeof(aSide[0])))

/* ------------------------------------------------------------------------
** The workloads
*/

/*
** Runs operation xOp(p, iArg) as the side's library runs one operation:
** in its own BEGIN ... COMMIT (goqite's InTx, honker's transaction()),
** or as one autocommit statement (mp, raw).
*/
static void rpOwnTx(Rp *p, void (*xOp)(Rp *, int), int iArg) {
  if (p->pSide->bOwnTx) rpRun(p, RP_BEGIN);
  xOp(p, iArg);
  if (p->pSide->bOwnTx) rpRun(p, RP_COMMIT);
}

/*
** Claims exactly one message (an operation for rpOwnTx()).
*/
static void rpClaimOne(Rp *p, int iMsg) {
  if (p->pSide->xClaim(p, 1) != 1) rpFail("no message to claim at %d", iMsg);
}

/*
** Stores messages iFirst..iFirst+n-1 inside the caller's transaction.
*/
static void rpEnqueueMany(Rp *p, int iFirst, int n) {
  if (p->pSide->azSql[RP_ENQUEUE_MANY]) {
    rpMpEnqueueMany(p, iFirst, n);
    return;
  }
  for (int i = iFirst; i < iFirst + n; i++)
    p->pSide->xEnqueue(p, i);
}

/*
** Acks the n claimed messages inside the caller's transaction.
*/
static void rpAckMany(Rp *p, int n) {
  if (p->pSide->azSql[RP_ACK_MANY]) {
    (p->pSide->bMp ? rpMpAckMany : rpHonkerAckMany)(p, n);
    return;
  }
  for (int k = 0; k < n; k++)
    p->pSide->xAck(p, k);
}

/*
** Stores n messages, nPerTx per transaction.
*/
static void rpFill(Rp *p, int n, int nPerTx) {
  for (int i = 0; i < n; i += nPerTx) {
    rpRun(p, RP_BEGIN);
    rpEnqueueMany(p, i, n - i < nPerTx ? n - i : nPerTx);
    rpRun(p, RP_COMMIT);
  }
}

/* E1: n enqueues, one per transaction. */
static void rpRunE1(Rp *p, int n) {
  for (int i = 0; i < n; i++)
    rpOwnTx(p, p->pSide->xEnqueue, i);
}

/* EB: n enqueues, --batch per transaction. */
static void rpRunEB(Rp *p, int n) {
  rpFill(p, n, rpOpt.nBatch);
}

/* P1: n times claim one (a transaction), ack it (another). */
static void rpRunP1(Rp *p, int n) {
  for (int i = 0; i < n; i++) {
    rpOwnTx(p, rpClaimOne, i);
    rpOwnTx(p, p->pSide->xAck, 0);
  }
}

/* PB: claim --batch and ack them in one transaction, until n are acked. */
static void rpRunPB(Rp *p, int n) {
  for (int nDone = 0; nDone < n;) {
    int nWant = n - nDone < rpOpt.nBatch ? n - nDone : rpOpt.nBatch;
    rpRun(p, RP_BEGIN);
    if (p->pSide->xClaim(p, nWant) != nWant) {
      rpFail("claim of %d after %d acked fell short", nWant, nDone);
    }
    rpAckMany(p, nWant);
    rpRun(p, RP_COMMIT);
    nDone += nWant;
  }
}

/* L1: n times enqueue, claim, ack, three transactions. */
static void rpRunL1(Rp *p, int n) {
  for (int i = 0; i < n; i++) {
    rpOwnTx(p, p->pSide->xEnqueue, i);
    rpOwnTx(p, rpClaimOne, i);
    rpOwnTx(p, p->pSide->xAck, 0);
  }
}

/* One workload. */
typedef struct RpWorkload {
  const char *zName;  /* E1, ... */
  const char *zTitle; /* what it does */
  int bBatched;       /* n is --nb (else --n1); the batch-only sides run */
  int bPrefill;       /* n messages are stored before the clock starts */
  void (*xRun)(Rp *, int n);
} RpWorkload;

// clang-format off
static const RpWorkload aWorkload[] = {
  { "E1", "enqueue, 1 per tx",              0, 0, rpRunE1 },
  { "EB", "enqueue, batch per tx",          1, 0, rpRunEB },
  { "P1", "claim 1 + ack 1, 2 tx",          0, 1, rpRunP1 },
  { "PB", "claim batch + ack batch, 1 tx",  1, 1, rpRunPB },
  { "L1", "enqueue+claim+ack, 3 tx",        0, 0, rpRunL1 },
};
// clang-format on
#define RP_WORKLOADS ((int)(sizeof(aWorkload) / sizeof(aWorkload[0])))

/* ------------------------------------------------------------------------
** Samples
*/

/*
** Opens a fresh database zPath for side pSide: the common pragmas, the
** side's own, its schema (or mp.so and mp_init()).
*/
static void rpOpen(Rp *p, const RpSide *pSide, const char *zPath) {
  char *zErr = 0;
  memset(p, 0, sizeof(*p));
  p->pSide = pSide;
  p->iTelegramId = 1;
  rpCheck(p->db, sqlite3_open(zPath, &p->db), zPath);
  rpExec(p->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                "PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;");
  if (!rpOpt.bSamePragmas) rpExec(p->db, pSide->zPragmas);
  if (pSide->bMp) {
    sqlite3_enable_load_extension(p->db, 1);
    if (sqlite3_load_extension(p->db, rpOpt.zExt, 0, &zErr) != SQLITE_OK) {
      rpFail("cannot load %s: %s", rpOpt.zExt, zErr ? zErr : "?");
    }
    sqlite3_enable_load_extension(p->db, 0);
    rpExec(p->db, "SELECT mp_init('" RP_MP_CONFIG "')");
  } else {
    rpExec(p->db, pSide->zSchema);
  }
}

/*
** Closes the sample's database and deletes its files.
*/
static void rpClose(Rp *p, const char *zPath) {
  static const char *azSuffix[] = { "", "-wal", "-shm" };
  char zFile[1100];
  for (int e = 0; e < RP_STMTS; e++)
    sqlite3_finalize(p->apStmt[e]);
  rpCheck(p->db, sqlite3_close(p->db), "close");
  free(p->zBuf);
  for (int i = 0; i < 3; i++) {
    snprintf(zFile, sizeof(zFile), "%s%s", zPath, azSuffix[i]);
    unlink(zFile);
  }
}

/*
** Runs workload w on side s once; stores wall seconds and CPU seconds.
*/
static void rpSample(const char *zDir, int w, int s, int iRound, double *pWall,
                     double *pCpu) {
  static Rp rp; /* large: the claimed handles */
  const RpWorkload *pW = &aWorkload[w];
  int n = pW->bBatched ? rpOpt.nb : rpOpt.n1;
  char zPath[1024], zWhere[64];
  double t0, c0;
  i64 nLive;
  snprintf(zPath, sizeof(zPath), "%s/%s-%s.db", zDir, pW->zName,
           aSide[s].zName);
  snprintf(zWhere, sizeof(zWhere), "%s %s round %d", pW->zName, aSide[s].zName,
           iRound + 1);
  rpWhere = zWhere;
  rpOpen(&rp, &aSide[s], zPath);
  if (pW->bPrefill) {
    rpFill(&rp, n, RP_PREFILL_TX);
    rpExec(rp.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  }
  t0 = rpClock(CLOCK_MONOTONIC);
  c0 = rpClock(CLOCK_PROCESS_CPUTIME_ID);
  pW->xRun(&rp, n);
  *pCpu = rpClock(CLOCK_PROCESS_CPUTIME_ID) - c0;
  *pWall = rpClock(CLOCK_MONOTONIC) - t0;
  nLive = rpInt(&rp, RP_LIVE, 0);
  if (nLive != (pW->xRun == rpRunE1 || pW->xRun == rpRunEB ? n : 0)) {
    rpFail("check failed: %lld messages not acked after the run", nLive);
  }
  rpClose(&rp, zPath);
  rpWhere = "setup";
  if (rpOpt.bVerbose) {
    fprintf(stderr, "%s: %.0f msg/s, %.1f us CPU/msg\n", zWhere, n / *pWall,
            *pCpu * 1e6 / n);
  }
}

/*
** The median of a[i] / b[i] (b == 0: of a[i]) for i in 0..n-1.
*/
static double rpMedian(const double *a, const double *b, int n) {
  double aV[RP_MAX_ROUNDS];
  for (int i = 0; i < n; i++) {
    int j = i;
    double v = b ? a[i] / b[i] : a[i];
    for (; j > 0 && aV[j - 1] > v; j--)
      aV[j] = aV[j - 1];
    aV[j] = v;
  }
  return n % 2 ? aV[n / 2] : (aV[n / 2 - 1] + aV[n / 2]) / 2;
}

/*
** Whether side s runs in workload w.
*/
static int rpRuns(int w, int s) {
  if (aSide[s].bBatchOnly && !aWorkload[w].bBatched) return 0;
  return 1;
}

/*
** Whether --only names workload w.
*/
static int rpSelected(int w) {
  const char *z = rpOpt.zOnly;
  size_t n = strlen(aWorkload[w].zName);
  if (z == 0) return 1;
  while (*z) {
    if (strncmp(z, aWorkload[w].zName, n) == 0 && (z[n] == ',' || !z[n])) {
      return 1;
    }
    z = strchr(z, ',');
    if (z == 0) break;
    z++;
  }
  return 0;
}

/*
** Runs every selected workload rpOpt.nRounds times on each side, the
** sides in a rotating order, and prints the medians: of msg/s and CPU
** time per message, and of the ratios to mp within each round.
*/
static void rpBench(const char *zDir) {
  static double aWall[RP_WORKLOADS][RP_SIDES][RP_MAX_ROUNDS];
  static double aCpu[RP_WORKLOADS][RP_SIDES][RP_MAX_ROUNDS];
  for (int r = 0; r < rpOpt.nRounds; r++) {
    for (int w = 0; w < RP_WORKLOADS; w++) {
      if (!rpSelected(w)) continue;
      for (int i = 0; i < RP_SIDES; i++) {
        int s = (i + r) % RP_SIDES;
        if (!rpRuns(w, s)) continue;
        rpSample(zDir, w, s, r, &aWall[w][s][r], &aCpu[w][s][r]);
      }
    }
  }
  printf("%-38s %-9s %10s %11s %8s %8s\n", "workload", "side", "msg/s",
         "CPU us/msg", "mp/x", "CPU mp/x");
  for (int w = 0; w < RP_WORKLOADS; w++) {
    int n = aWorkload[w].bBatched ? rpOpt.nb : rpOpt.n1, R = rpOpt.nRounds;
    char zTitle[64];
    if (!rpSelected(w)) continue;
    snprintf(zTitle, sizeof(zTitle), "%s %s", aWorkload[w].zName,
             aWorkload[w].zTitle);
    for (int s = 0; s < RP_SIDES; s++) {
      if (!rpRuns(w, s)) continue;
      printf("%-38s %-9s %10.0f %11.1f %7.2fx %7.2fx\n", s ? "" : zTitle,
             aSide[s].zName, n / rpMedian(aWall[w][s], 0, R),
             rpMedian(aCpu[w][s], 0, R) * 1e6 / n,
             rpMedian(aWall[w][s], aWall[w][0], R),
             rpMedian(aCpu[w][s], aCpu[w][0], R));
    }
  }
}

/*
** Reads a positive integer option value or exits with status 2.
*/
static int rpArgInt(const char *zOpt, const char *zVal, int iMax) {
  char *zEnd = 0;
  long v = zVal ? strtol(zVal, &zEnd, 10) : 0;
  if (zVal == 0 || *zEnd || v < 1 || v > iMax) {
    fprintf(stderr, "replay: %s needs an integer from 1 to %d\n", zOpt, iMax);
    exit(2);
  }
  return (int)v;
}

int main(int argc, char **argv) {
  char zDir[512];
  const char *zTmp = getenv("TMPDIR");
  for (int i = 1; i < argc; i++) {
    const char *z = argv[i], *zVal = i + 1 < argc ? argv[i + 1] : 0;
    if (strcmp(z, "--same-pragmas") == 0) {
      rpOpt.bSamePragmas = 1;
    } else if (strcmp(z, "--verbose") == 0) {
      rpOpt.bVerbose = 1;
    } else if (strcmp(z, "--ext") == 0 && zVal) {
      rpOpt.zExt = argv[++i];
    } else if (strcmp(z, "--dir") == 0 && zVal) {
      rpOpt.zDir = argv[++i];
    } else if (strcmp(z, "--only") == 0 && zVal) {
      rpOpt.zOnly = argv[++i];
    } else if (strcmp(z, "--rounds") == 0) {
      rpOpt.nRounds = rpArgInt(z, zVal, RP_MAX_ROUNDS), i++;
    } else if (strcmp(z, "--n1") == 0) {
      rpOpt.n1 = rpArgInt(z, zVal, 100000000), i++;
    } else if (strcmp(z, "--nb") == 0) {
      rpOpt.nb = rpArgInt(z, zVal, 100000000), i++;
    } else if (strcmp(z, "--batch") == 0) {
      rpOpt.nBatch = rpArgInt(z, zVal, RP_MAX_BATCH), i++;
    } else {
      fprintf(stderr, "usage: replay --ext PATH/mp.so [--rounds R] [--n1 N] "
                      "[--nb N] [--batch B] [--only LIST] [--dir DIR] "
                      "[--same-pragmas] [--verbose]\n");
      return 2;
    }
  }
  if (rpOpt.zExt == 0) {
    fprintf(stderr, "replay: --ext PATH/mp.so is required\n");
    return 2;
  }
  if (rpOpt.zDir && strlen(rpOpt.zDir) > 400) {
    fprintf(stderr, "replay: --dir is too long\n");
    return 2;
  }
  snprintf(zDir, sizeof(zDir), "%s/mp-replay-XXXXXX",
           rpOpt.zDir      ? rpOpt.zDir
           : zTmp && *zTmp ? zTmp
                           : "/tmp");
  if (mkdtemp(zDir) == 0) rpFail("cannot create a directory under %s", zDir);
  printf("replay: SQLite %s, %d rounds (medians), n1=%d nb=%d batch=%d, "
         "pragmas: %s\n",
         sqlite3_libversion(), rpOpt.nRounds, rpOpt.n1, rpOpt.nb, rpOpt.nBatch,
         rpOpt.bSamePragmas ? "common only" : "each side's own");
  rpBench(zDir);
  rmdir(zDir);
  if (sqlite3_memory_used() != 0) {
    rpFail("sqlite3_memory_used() is %lld after closing every connection",
           sqlite3_memory_used());
  }
  return 0;
}
