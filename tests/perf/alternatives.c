/*
** SPDX-License-Identifier: MIT
**
** mp-alternatives: the statements behind mp's hot spots, each next to a
** cheaper form, on mp's own schema, so that a change to ext/ or sql/ can
** be judged by its instruction count before it is made.
**
** Usage:
**
**   mp-alternatives EXPERIMENT VARIANT [N]
**   valgrind --tool=callgrind '--toggle-collect=altMeasured*'
**       mp-alternatives counter 0 10000      # instructions / N = per op
**   bench/profile.sh --alternatives          # every variant, as a table
**
** Each run makes a fresh database in $TMPDIR (or /tmp) with mp_init()
** (WAL, synchronous=NORMAL, temp_store=MEMORY), sets it up, then runs N
** operations inside altMeasured() and prints the wall and CPU time per
** operation. Under callgrind only altMeasured() is counted. Variants
** (0 is what mp does today):
**
**   counter  N counter updates of two counters inside one transaction
**            0 UPDATE mp_counter ... WHERE name = ?1 OR name = ?3
**            1 two UPDATE mp_counter SET n = n + ?2 WHERE name = ?1
**            2 two updates of a rowid-keyed copy of mp_counter
**   status   N single-row status UPDATEs (sent -> confirmed) inside one
**            transaction
**            0 as mp (trigger messages_plain_update present)
**            1 the trigger dropped
**            2 UPDATE OR FAIL, trigger present
**   claim    N claim UPDATEs (pending -> sent) inside one transaction
**            0 UPDATE ... RETURNING (mp_claim.c)
**            1 UPDATE, then SELECT the same columns by seq
**            2 variant 0 without the trigger
**            3 variant 1 without the trigger
**   confirm  N confirms inside one transaction, each as a nested call
**            0 as mp: SAVEPOINT, UPDATE, counter UPDATE (OR), RELEASE
**            1 as 0 with two single-row counter UPDATEs
**            2 one UPDATE; a trigger counts (no savepoint, no counter
**              statement)
**   insert   N enqueues inside one transaction
**            0 as mp: next-seq SELECT, INSERT ... ON CONFLICT DO NOTHING
**            1 INSERT OR FAIL ... ON CONFLICT DO NOTHING
**            2 variant 0 without the next-seq SELECT (rowid chosen by
**              SQLite)
**            3 variant 2 without the trigger messages_plain_insert
**   recover  N 'sent' rows with expired leases taken back at once
**            0 SELECT mp_recover() (inside mp's savepoint)
**            1 the same UPDATE in autocommit mode, no savepoint
**            (prints SQLite's heap high-water mark: the statement journal)
**
** Exit status: 0, or 1 on an error, 2 on a usage error.
*/
#define _POSIX_C_SOURCE 200809L

#include <mp.h>
#include <sqlite3.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef sqlite3_int64 i64;

#if defined(__GNUC__)
# define ALT_NOINLINE __attribute__((noinline))
#else
# define ALT_NOINLINE
#endif

#define ALT_STMTS 6 /* most statements an experiment prepares */

/* The confirm UPDATE of mp_transition.c, for a row that is 'sent'. */
#define ALT_CONFIRM_SQL                                                 \
 "UPDATE messages SET status = 'confirmed', telegram_message_id = ?2, " \
 "tier_used = 'telegram', lease_until = NULL, lease_token = NULL, "     \
 "worker = NULL, revision = revision + 1, updated_at = 5 WHERE seq = ?1"

/* The claim UPDATE of mp_claim.c, without and with its RETURNING. */
#define ALT_CLAIM_SQL                                       \
 "UPDATE messages SET status = 'sent', lease_until = ?2, "  \
 "lease_token = ?3, worker = ?4, attempts = attempts + 1, " \
 "revision = revision + 1, updated_at = ?5 "                \
 "WHERE seq = ?1 AND status = 'pending'"
#define ALT_CLAIM_COLUMNS                               \
 "id, chat_id, message_text, parse_mode, retry_count, " \
 "id || ':' || lease_token, priority, attempts, event_data, in_doubt"

/* The INSERT of mp_enqueue.c. */
#define ALT_INSERT_SQL(OR)                                                  \
 "INSERT " OR "INTO messages(seq, id, chat_id, message_text, timestamp, "   \
 "event_data, created_at, updated_at, priority, parse_mode, dedup_key, "    \
 "order_at, due_at, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?5, ?7, " \
 "?8, ?9, ?10, ?10, ?11) ON CONFLICT(dedup_key) WHERE dedup_key IS NOT "    \
 "NULL DO NOTHING"

/* The recovery UPDATE of mp_recover.c (policy at_least_once). */
#define ALT_RECOVER_SQL                                                   \
 "UPDATE messages SET status = 'pending', priority = max(priority, 2), "  \
 "in_doubt = 1, due_at = 5, error_message = 'lease expired while sent; "  \
 "may have been delivered', lease_until = NULL, lease_token = NULL, "     \
 "worker = NULL, revision = revision + 1, updated_at = 5 "                \
 "WHERE status = 'sent' AND (lease_until IS NULL OR lease_until <= 5 OR " \
 "worker = NULL)"

/* One experiment run. */
typedef struct Alt Alt;
struct Alt {
  sqlite3 *db;                     /* The database */
  const char *zExp;                /* Experiment name */
  int iVariant;                    /* Its variant */
  int n;                           /* Operations */
  sqlite3_stmt *apStmt[ALT_STMTS]; /* Prepared statements */
  char zPath[512];                 /* The database file */
  char zText[301];                 /* A 300-byte text */
};

/*
** Prints "mp-alternatives: MESSAGE" and exits with status 1.
*/
static void altFail(const char *zFormat, ...) {
  va_list ap;
  fprintf(stderr, "mp-alternatives: ");
  va_start(ap, zFormat);
  vfprintf(stderr, zFormat, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

/*
** Runs zSql (rows ignored); exits on failure.
*/
static void altExec(Alt *p, const char *zSql) {
  char *zErr = 0;
  if (sqlite3_exec(p->db, zSql, 0, 0, &zErr) != SQLITE_OK) {
    altFail("\"%.60s\": %s", zSql, zErr ? zErr : "?");
  }
}

/*
** Prepares zSql into slot i.
*/
static void altPrepare(Alt *p, int i, const char *zSql) {
  if (sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                         &p->apStmt[i], 0) != SQLITE_OK) {
    altFail("cannot prepare \"%.60s\": %s", zSql, sqlite3_errmsg(p->db));
  }
}

/*
** Steps slot i to its end and resets it; exits on an error.
*/
static void altRun(Alt *p, int i) {
  sqlite3_stmt *pStmt = p->apStmt[i];
  int rc;
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    for (int k = 0; k < sqlite3_column_count(pStmt); k++) {
      sqlite3_column_value(pStmt, k);
    }
  }
  if (rc != SQLITE_DONE) altFail("step: %s", sqlite3_errmsg(p->db));
  sqlite3_reset(pStmt);
}

/*
** Loads n rows with status zStatus (seq 1..n, 1000 chats, 300-byte texts,
** mp-format columns); the plain-insert trigger is dropped for the load
** and put back.
*/
static void altLoad(Alt *p, int n, const char *zStatus) {
  char *zSql = sqlite3_mprintf(
      "SAVEPOINT load; "
      "CREATE TEMP TABLE trig AS SELECT sql FROM sqlite_schema "
      "WHERE name = 'messages_plain_insert'; "
      "DROP TRIGGER messages_plain_insert; "
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
      "WHERE x < %d) INSERT INTO messages(seq, id, chat_id, message_text, "
      "status, order_at, due_at, lease_until, lease_token, worker, revision, "
      "event_data, checksum) SELECT x, printf('0190f3a2-7c41-7a3e-%%04x-"
      "%%012x', 32768, x), 10000 + x %% 1000, printf('%%.300c', 'x'), '%q', "
      "x, x, CASE WHEN '%q' = 'sent' THEN 0 END, CASE WHEN '%q' = 'sent' "
      "THEN printf('%%016x', x) END, CASE WHEN '%q' = 'sent' THEN 'w' END, "
      "1, '{\"type\":\"build_completed\",\"title\":\"Build\"}', zeroblob(32) "
      "FROM c; RELEASE load",
      n, zStatus, zStatus, zStatus, zStatus);
  sqlite3_stmt *pStmt = 0;
  if (zSql == 0) altFail("out of memory");
  altExec(p, zSql);
  sqlite3_free(zSql);
  if (sqlite3_prepare_v2(p->db, "SELECT sql FROM temp.trig", -1, &pStmt, 0) !=
          SQLITE_OK ||
      sqlite3_step(pStmt) != SQLITE_ROW) {
    altFail("trigger sql: %s", sqlite3_errmsg(p->db));
  }
  zSql = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
  sqlite3_finalize(pStmt);
  if (zSql == 0) altFail("out of memory");
  altExec(p, zSql);
  sqlite3_free(zSql);
  altExec(p, "DROP TABLE temp.trig; PRAGMA wal_checkpoint(TRUNCATE)");
}

/*
** One operation of the experiment (the k-th, from 1).
*/
static void altOne(Alt *p, int k) {
  sqlite3_stmt **ap = p->apStmt;
  int v = p->iVariant;
  if (strcmp(p->zExp, "counter") == 0) {
    if (v == 0) {
      sqlite3_bind_text(ap[0], 1, "updated", -1, SQLITE_STATIC);
      sqlite3_bind_int64(ap[0], 2, 2);
      sqlite3_bind_text(ap[0], 3, "confirmed", -1, SQLITE_STATIC);
      sqlite3_bind_int64(ap[0], 4, 1);
      altRun(p, 0);
    } else {
      sqlite3_bind_int64(ap[0], 2, 2);
      if (v == 1) {
        sqlite3_bind_text(ap[0], 1, "updated", -1, SQLITE_STATIC);
      } else {
        sqlite3_bind_int64(ap[0], 1, 6);
      }
      altRun(p, 0);
      sqlite3_bind_int64(ap[0], 2, 1);
      if (v == 1) {
        sqlite3_bind_text(ap[0], 1, "confirmed", -1, SQLITE_STATIC);
      } else {
        sqlite3_bind_int64(ap[0], 1, 4);
      }
      altRun(p, 0);
    }
  } else if (strcmp(p->zExp, "status") == 0) {
    sqlite3_bind_int64(ap[0], 1, k);
    sqlite3_bind_int64(ap[0], 2, k);
    altRun(p, 0);
  } else if (strcmp(p->zExp, "claim") == 0) {
    sqlite3_bind_int64(ap[0], 1, k);
    sqlite3_bind_int64(ap[0], 2, 99999999);
    sqlite3_bind_text(ap[0], 3, "0123456789abcdef", 16, SQLITE_STATIC);
    sqlite3_bind_int64(ap[0], 5, 5);
    altRun(p, 0);
    if (ap[1]) {
      sqlite3_bind_int64(ap[1], 1, k);
      altRun(p, 1);
    }
  } else if (strcmp(p->zExp, "confirm") == 0) {
    if (v != 2) altRun(p, 2); /* SAVEPOINT */
    sqlite3_bind_int64(ap[0], 1, k);
    sqlite3_bind_int64(ap[0], 2, k);
    altRun(p, 0);
    if (v == 0) {
      sqlite3_bind_text(ap[1], 1, "updated", -1, SQLITE_STATIC);
      sqlite3_bind_int64(ap[1], 2, 2);
      sqlite3_bind_text(ap[1], 3, "confirmed", -1, SQLITE_STATIC);
      sqlite3_bind_int64(ap[1], 4, 1);
      altRun(p, 1);
    } else if (v == 1) {
      sqlite3_bind_text(ap[1], 1, "updated", -1, SQLITE_STATIC);
      sqlite3_bind_int64(ap[1], 2, 2);
      altRun(p, 1);
      sqlite3_bind_text(ap[1], 1, "confirmed", -1, SQLITE_STATIC);
      sqlite3_bind_int64(ap[1], 2, 1);
      altRun(p, 1);
    }
    if (v != 2) altRun(p, 3); /* RELEASE */
  } else if (strcmp(p->zExp, "insert") == 0) {
    char zId[40];
    i64 iSeq = k;
    if (v <= 1) {
      if (sqlite3_step(ap[1]) != SQLITE_ROW) altFail("next seq");
      iSeq = sqlite3_column_int64(ap[1], 0);
      sqlite3_reset(ap[1]);
    }
    snprintf(zId, sizeof(zId), "0190f3a2-7c41-7a3e-%04x-%012llx", 0x8000,
             (unsigned long long)iSeq);
    if (v <= 1) {
      sqlite3_bind_int64(ap[0], 1, iSeq);
    } else {
      sqlite3_bind_null(ap[0], 1);
    }
    sqlite3_bind_text(ap[0], 2, zId, 36, SQLITE_STATIC);
    sqlite3_bind_int64(ap[0], 3, 10000 + k % 1000);
    sqlite3_bind_text(ap[0], 4, p->zText, 300, SQLITE_STATIC);
    sqlite3_bind_int64(ap[0], 5, 1700000000);
    sqlite3_bind_text(ap[0], 6, "{\"type\":\"build_completed\"}", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(ap[0], 7, 1);
    sqlite3_bind_int64(ap[0], 10, 1700000000000LL + k);
    sqlite3_bind_blob(ap[0], 11, p->zText, 32, SQLITE_STATIC);
    altRun(p, 0);
  }
}

/*
** The measured part: n operations in one transaction (recover: one
** statement). The only code callgrind counts.
*/
ALT_NOINLINE static void altMeasured(Alt *p) {
  if (strcmp(p->zExp, "recover") == 0) {
    altRun(p, 0);
    return;
  }
  altExec(p, "BEGIN IMMEDIATE");
  for (int k = 1; k <= p->n; k++) {
    altOne(p, k);
  }
  altExec(p, "COMMIT");
}

/*
** Sets up experiment p->zExp, variant p->iVariant.
*/
static void altSetup(Alt *p) {
  const char *z = p->zExp;
  int v = p->iVariant;
  if (strcmp(z, "counter") == 0 && v >= 0 && v <= 2) {
    altExec(p, "CREATE TABLE counter2(id INTEGER PRIMARY KEY, name TEXT, "
               "n INTEGER NOT NULL DEFAULT 0); INSERT INTO counter2(id, name) "
               "SELECT row_number() OVER (), name FROM mp_counter");
    altPrepare(p, 0,
               v == 0   ? "UPDATE mp_counter SET n = n + CASE name WHEN ?1 "
                          "THEN ?2 ELSE ?4 END WHERE name = ?1 OR name = ?3"
               : v == 1 ? "UPDATE mp_counter SET n = n + ?2 WHERE name = ?1"
                        : "UPDATE counter2 SET n = n + ?2 WHERE id = ?1");
  } else if (strcmp(z, "status") == 0 && v >= 0 && v <= 2) {
    altLoad(p, p->n, "sent");
    if (v == 1) altExec(p, "DROP TRIGGER messages_plain_update");
    altPrepare(p, 0,
               v == 2 ? "UPDATE OR FAIL messages SET status = 'confirmed', "
                        "telegram_message_id = ?2, tier_used = 'telegram', "
                        "lease_until = NULL, lease_token = NULL, worker = "
                        "NULL, revision = revision + 1, updated_at = 5 "
                        "WHERE seq = ?1"
                      : ALT_CONFIRM_SQL);
  } else if (strcmp(z, "claim") == 0 && v >= 0 && v <= 3) {
    altLoad(p, p->n, "pending");
    if (v >= 2) altExec(p, "DROP TRIGGER messages_plain_update");
    if (v % 2 == 0) {
      altPrepare(p, 0, ALT_CLAIM_SQL " RETURNING " ALT_CLAIM_COLUMNS);
    } else {
      altPrepare(p, 0, ALT_CLAIM_SQL);
      altPrepare(p, 1,
                 "SELECT " ALT_CLAIM_COLUMNS " FROM messages WHERE seq = ?1");
    }
  } else if (strcmp(z, "confirm") == 0 && v >= 0 && v <= 2) {
    altLoad(p, p->n, "sent");
    if (v == 2) {
      altExec(p, "DROP TRIGGER messages_plain_update; CREATE TRIGGER "
                 "messages_count AFTER UPDATE OF status ON messages WHEN "
                 "OLD.status IS NOT NEW.status BEGIN UPDATE mp_counter SET "
                 "n = n + 1 WHERE name = NEW.status; UPDATE mp_counter SET "
                 "n = n + 1 + (OLD.status = 'sent') WHERE name = 'updated'; "
                 "END");
    }
    altPrepare(p, 0, ALT_CONFIRM_SQL);
    altPrepare(p, 1,
               v == 0 ? "UPDATE mp_counter SET n = n + CASE name WHEN ?1 "
                        "THEN ?2 ELSE ?4 END WHERE name = ?1 OR name = ?3"
                      : "UPDATE mp_counter SET n = n + ?2 WHERE name = ?1");
    altPrepare(p, 2, "SAVEPOINT mp_txn");
    altPrepare(p, 3, "RELEASE mp_txn");
  } else if (strcmp(z, "insert") == 0 && v >= 0 && v <= 3) {
    if (v == 3) altExec(p, "DROP TRIGGER messages_plain_insert");
    altPrepare(p, 0, v == 1 ? ALT_INSERT_SQL("OR FAIL ") : ALT_INSERT_SQL(""));
    altPrepare(p, 1,
               "SELECT max(ifnull((SELECT max(seq) FROM messages), 0), "
               "(SELECT n FROM mp_counter WHERE name = 'seq_hwm')) + 1");
  } else if (strcmp(z, "recover") == 0 && v >= 0 && v <= 1) {
    altLoad(p, p->n, "sent");
    altPrepare(p, 0, v == 0 ? "SELECT mp_recover()" : ALT_RECOVER_SQL);
  } else {
    altFail("unknown experiment or variant: %s %d", z, v);
  }
}

/*
** Returns CLOCK_MONOTONIC (bCpu: the process CPU clock) in seconds.
*/
static double altNow(int bCpu) {
  struct timespec ts;
  clock_gettime(bCpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
** Runs one experiment; see the comment at the top of this file.
*/
int main(int argc, char **argv) {
  static Alt a;
  Alt *p = &a;
  const char *zDir = getenv("TMPDIR");
  char *zErr = 0;
  double t, c;
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: mp-alternatives counter|status|claim|confirm|"
                    "insert|recover VARIANT [N]\n");
    return 2;
  }
  p->zExp = argv[1];
  p->iVariant = atoi(argv[2]);
  p->n = argc == 4 ? atoi(argv[3]) : 10000;
  if (p->n < 1 || p->n > 10000000) {
    fprintf(stderr, "mp-alternatives: N must be 1 to 10000000\n");
    return 2;
  }
  memset(p->zText, 'x', 300);
  if (zDir == 0 || zDir[0] == 0) zDir = "/tmp";
  snprintf(p->zPath, sizeof(p->zPath), "%s/mp-alternatives-%d.db", zDir,
           (int)getpid());
  if (sqlite3_open(p->zPath, &p->db) != SQLITE_OK ||
      sqlite3_mp_init(p->db, &zErr, 0) != SQLITE_OK) {
    altFail("cannot open %s", p->zPath);
  }
  altExec(p, "SELECT mp_init()");
  altExec(p, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
             "PRAGMA temp_store = MEMORY");
  altSetup(p);
  sqlite3_memory_highwater(1);
  t = altNow(0);
  c = altNow(1);
  altMeasured(p);
  printf("%s %d: %d ops, %.2f us wall, %.2f us cpu per op, SQLite heap "
         "high-water %.1f MB\n",
         p->zExp, p->iVariant, p->n, (altNow(0) - t) * 1e6 / p->n,
         (altNow(1) - c) * 1e6 / p->n,
         (double)sqlite3_memory_highwater(0) / 1e6);
  for (int i = 0; i < ALT_STMTS; i++) {
    sqlite3_finalize(p->apStmt[i]);
  }
  sqlite3_close(p->db);
  for (int i = 0; i < 3; i++) {
    static const char *const azSuffix[] = { "", "-wal", "-shm" };
    char zFile[sizeof(p->zPath) + 8];
    size_t n = strlen(p->zPath);
    memcpy(zFile, p->zPath, n);
    memcpy(zFile + n, azSuffix[i], strlen(azSuffix[i]) + 1);
    unlink(zFile);
  }
  return 0;
}
