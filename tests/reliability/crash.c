/*
** SPDX-License-Identifier: MIT
**
** crash.c: power loss at every sync point of an mp workload.
**
**   mp-rel-crash                      short sweep (ctest)
**   mp-rel-crash --long               every sync point, longer workload
**   mp-rel-crash --sync full --mode torn --at 37 -v    one case
**
** Options: --long, --rounds N (workload size), --stride N (sweep every
** Nth sync point and every Nth step), --sync full|normal|both, --mode
** keep|drop|torn|garbage|random|all, --at K (only sync point K), --dir D
** (scratch directory, default /tmp), -v (print every case). The short
** sweep loses power once at each sync point of synchronous=FULL, the
** damage modes taking turns, at every other one of NORMAL, and idle after
** every third step (see main).
**
** HOW IT WORKS
**
** A workload (crashWorkload) runs a fixed script of mp calls on a WAL
** database opened through the crash VFS (crash_vfs.c): mp_init, single
** enqueues with options and dedup keys, batches of enqueues in BEGIN
** IMMEDIATE ... COMMIT (one with a text long enough to be split), claims,
** mp_confirm, mp_mark_failed, mp_report, mp_recover, mp_requeue, and at
** last sqlite3_close(). Each call or transaction is a step. After each
** step succeeds, the child tells the parent through a pipe: the ids it
** enqueued, the confirmations, and a digest of the whole state.
**
** First a reference child runs the workload to the end without a crash;
** it gives the digest after every step and the number of syncs, N. Then,
** for each synchronous setting and damage mode, one child per sync point
** k = 1..N runs the same workload with the power going at sync k (the
** VFS applies the damage and the child _exits there), and one child per
** step s loses power right after step s returned (an idle machine losing
** power). The workload is deterministic (fixed clock, fixed randomness),
** so the reference digests apply to every child, and each child's
** digests are compared with them as they come.
**
** The parent then removes the -shm file (it does not survive a reboot),
** opens the database with the normal VFS and checks:
**
**   - PRAGMA integrity_check is ok, mp_verify() is 0, and the invariants
**     of rel_common.c hold (mp_stats equals the real counts, no
**     half-applied transition);
**   - the state is exactly the reference state after some step j: never
**     a state no step produced;
**   - with synchronous=FULL: j is the last step that returned, or the one
**     that was running (its commit may have reached the disk); so every
**     enqueue and confirmation that returned is there, and checked one by
**     one as well;
**   - with synchronous=NORMAL: j may be earlier; the steps lost are
**     counted and reported (SQLite's documented trade-off in WAL mode:
**     a commit is durable only once a checkpoint or a later sync has
**     synced the WAL);
**   - the database still takes an enqueue and a claim.
*/
#define _POSIX_C_SOURCE 200809L
#include "crash_vfs.h"
#include "rel_common.h"

#include <mp.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CRASH_EXIT  99 /* A child's exit status after a simulated crash */
#define MAX_STEPS   4096
#define MAX_RECORDS 8192

/* The short sweep (ctest) tries every CRASH_SHORT_STRIDE-th sync point of
** synchronous=FULL in each mode (see main). */
#define CRASH_SHORT_STRIDE 5

/* The workload's connection and its link to the parent. */
typedef struct Work Work;
struct Work {
  sqlite3 *db;    /* The connection under test */
  int fd;         /* Write end of the pipe to the parent */
  int nStep;      /* Steps done */
  int iCrashIdle; /* Lose power right after this step (0: never) */
  int bSyncFull;  /* synchronous=FULL, else NORMAL */
  int nRound;     /* Rounds of the script */
  u64 iLast;      /* Digest after the last step */
};

/* What the parent learned from one child. */
typedef struct Outcome Outcome;
struct Outcome {
  int nStep;                    /* Steps acknowledged */
  u64 aDigest[MAX_STEPS];       /* Digest after each step; [0]: before any */
  int nSync;                    /* Syncs (reference run) */
  int bDone;                    /* The workload ran to its end */
  int nEnq;                     /* Acknowledged enqueues */
  char azEnq[MAX_RECORDS][40];  /* Their ids */
  int nConf;                    /* Acknowledged confirmations */
  char azConf[MAX_RECORDS][40]; /* Their ids */
  i64 aConfTg[MAX_RECORDS];     /* Their telegram_message_id */
  char zError[512];             /* What the child reported as wrong */
};

/* Totals of a sweep. */
typedef struct Totals Totals;
struct Totals {
  int nCase;         /* Crash cases run */
  int nFail;         /* Cases whose checks failed */
  int nLossCase;     /* NORMAL: cases that lost acknowledged steps */
  int nMaxLost;      /* NORMAL: most acknowledged steps lost in one case */
  int nEnqLost;      /* NORMAL: acknowledged enqueues lost, summed */
  int nConfLost;     /* NORMAL: acknowledged confirmations lost, summed */
  int nMaxEnqLost;   /* NORMAL: most enqueues lost in one case */
  int nInFlightKept; /* FULL: cases where the running step's commit landed */
};

static int bVerbose = 0;

/*
** Writes a line to the parent, or exits: a child that cannot report
** makes the case fail.
*/
static void workSay(Work *w, const char *zFormat, ...)
    __attribute__((format(printf, 2, 3)));
static void workSay(Work *w, const char *zFormat, ...) {
  char zLine[600];
  va_list ap;
  int n;
  va_start(ap, zFormat);
  n = vsnprintf(zLine, sizeof(zLine), zFormat, ap);
  va_end(ap);
  if (n < 0 || n >= (int)sizeof(zLine)) _exit(4);
  for (int i = 0; i < n;) {
    ssize_t k = write(w->fd, zLine + i, (size_t)(n - i));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) _exit(4);
    i += (int)k;
  }
}

/*
** A step failed that cannot fail without faults: tell the parent, exit.
*/
static void workFail(Work *w, const char *zWhat) {
  workSay(w, "X step %d: %s: %s\n", w->nStep + 1, zWhat, sqlite3_errmsg(w->db));
  _exit(3);
}

/*
** The power goes: called by the crash VFS after the damage.
*/
static void workDie(void) {
  _exit(CRASH_EXIT);
}

/*
** Acknowledges a step: sends the digest of the state it left, and loses
** power here when this is the armed idle crash point.
*/
static void workStepDone(Work *w) {
  u64 h = 0;
  w->nStep++;
  if (relDigest(w->db, &h) != SQLITE_OK) workFail(w, "digest");
  w->iLast = h;
  workSay(w, "S %d %016llx\n", w->nStep, (unsigned long long)h);
  if (w->nStep == w->iCrashIdle) crashVfsCrashNow();
}

/*
** Runs a statement that returns one text value (an mp function call) and
** copies it into zOut. Exits through workFail() on error.
*/
static void workCall(Work *w, const char *zSql, char *zOut, int nOut) {
  if (relText(w->db, zSql, zOut, nOut) != SQLITE_OK) workFail(w, zSql);
}

/*
** Enqueues one message (inside or outside a transaction) and returns its
** id in zId.
*/
static void workEnqueue(Work *w, i64 iChat, const char *zText,
                        const char *zEvent, const char *zOpt, char *zId) {
  char *zSql = sqlite3_mprintf("SELECT mp_enqueue(%lld, %Q, %Q, %Q)", iChat,
                               zText, zEvent, zOpt);
  if (zSql == 0) workFail(w, "out of memory");
  workCall(w, zSql, zId, 40);
  sqlite3_free(zSql);
  if (zId[0] == 0) workFail(w, "mp_enqueue returned no id");
}

/*
** Returns a message text of about nByte bytes for round r, part j.
*/
static char *workText(int r, int j, int nByte) {
  return relFillText(nByte, " word%d", 97, "round %d part %d:", r, j);
}

/*
** The script. See HOW IT WORKS at the top of the file.
*/
static void crashWorkload(Work *w) {
  char zId[64], zOut[200];
  sqlite3_stmt *pStmt = 0;
  u64 h = 0;
  if (relDigest(w->db, &h) != SQLITE_OK) workFail(w, "digest");
  workSay(w, "S 0 %016llx\n", (unsigned long long)h);
  if (relExec(w->db, w->bSyncFull ? "PRAGMA synchronous = FULL"
                                  : "PRAGMA synchronous = NORMAL") ||
      relExec(w->db, "PRAGMA temp_store = MEMORY; "
                     "PRAGMA wal_autocheckpoint = 24")) {
    workFail(w, "pragmas");
  }
  workCall(w, "PRAGMA journal_mode = WAL", zOut, sizeof(zOut));
  if (strcmp(zOut, "wal") != 0) workFail(w, "journal_mode");
  workStepDone(w);
  workCall(w, "SELECT mp_clock_set(1700000000000)", zOut, sizeof(zOut));
  workCall(w,
           "SELECT mp_init('{\"pace_chat_ms\":0,\"pace_group_per_minute\":0,"
           "\"pace_global_per_second\":0,\"lease_seconds\":60,"
           "\"retry_interval_seconds\":1,\"backoff_max_seconds\":2}')",
           zOut, sizeof(zOut));
  workStepDone(w);
  for (int r = 0; r < w->nRound; r++) {
    char azTok[8][64];
    int nTok = 0;
    char *zText = workText(r, 0, 120 + 37 * r);
    /* Two single enqueues, with options. */
    workEnqueue(w, 1000 + r % 4, zText, 0,
                r % 2 ? "{\"priority\":\"high\"}" : 0, zId);
    workSay(w, "E %s\n", zId);
    workStepDone(w);
    sqlite3_free(zText);
    zText = workText(r, 1, 300);
    {
      char zOpt[80];
      snprintf(zOpt, sizeof(zOpt), "{\"dedup_key\":\"k%d\"}", r);
      workEnqueue(w, 2000 + r % 3, zText, "{\"type\":\"build_completed\"}",
                  zOpt, zId);
    }
    workSay(w, "E %s\n", zId);
    workStepDone(w);
    sqlite3_free(zText);
    /* A batch of four in one transaction; now and then a long text. */
    {
      char azId[4][64];
      if (relExec(w->db, "BEGIN IMMEDIATE")) workFail(w, "BEGIN");
      for (int j = 0; j < 4; j++) {
        zText = workText(r, 10 + j, (r % 3 == 0 && j == 1) ? 9000 : 200);
        workEnqueue(w, 3000 + (r + j) % 5, zText, 0, 0, azId[j]);
        sqlite3_free(zText);
      }
      if (relExec(w->db, "COMMIT")) workFail(w, "COMMIT");
      for (int j = 0; j < 4; j++)
        workSay(w, "E %s\n", azId[j]);
      workStepDone(w);
    }
    /* A claim. */
    if (sqlite3_prepare_v2(w->db,
                           "SELECT id, lease_token FROM mp_claim(5, 60, 'w1')",
                           -1, &pStmt, 0)) {
      workFail(w, "prepare claim");
    }
    while (sqlite3_step(pStmt) == SQLITE_ROW && nTok < 8) {
      snprintf(azTok[nTok++], sizeof(azTok[0]), "%s",
               (const char *)sqlite3_column_text(pStmt, 1));
    }
    if (sqlite3_finalize(pStmt)) workFail(w, "claim");
    workStepDone(w);
    /* The outcome of each claimed message. */
    for (int j = 0; j < nTok; j++) {
      char zSql[1024];
      i64 iTg = 100000 + r * 10 + j;
      char zMsgId[40];
      snprintf(zMsgId, sizeof(zMsgId), "%.36s", azTok[j]);
      switch ((r + j) % 6) {
        case 0:
          snprintf(zSql, sizeof(zSql),
                   "SELECT mp_confirm('%s', %lld, 'telegram')", azTok[j], iTg);
          workCall(w, zSql, zOut, sizeof(zOut));
          workSay(w, "C %s %lld\n", zMsgId, iTg);
          break;
        case 1:
          snprintf(zSql, sizeof(zSql),
                   "SELECT mp_mark_failed('%s', 'HTTP 502')", azTok[j]);
          workCall(w, zSql, zOut, sizeof(zOut));
          break;
        case 2:
          snprintf(zSql, sizeof(zSql),
                   "SELECT mp_report('%s', 200, "
                   "'{\"ok\":true,\"result\":{\"message_id\":%lld}}', "
                   "'telegram', 120)",
                   azTok[j], iTg);
          workCall(w, zSql, zOut, sizeof(zOut));
          if (strcmp(zOut, "confirmed") != 0) workFail(w, "report 200");
          workSay(w, "C %s %lld\n", zMsgId, iTg);
          break;
        case 3:
          snprintf(zSql, sizeof(zSql),
                   "SELECT mp_report('%s', 500, '{\"ok\":false,"
                   "\"error_code\":500,\"description\":\"oops\"}')",
                   azTok[j]);
          workCall(w, zSql, zOut, sizeof(zOut));
          break;
        case 4:
          snprintf(zSql, sizeof(zSql),
                   "SELECT mp_mark_failed('%s', 'chat not found', 0)",
                   azTok[j]);
          workCall(w, zSql, zOut, sizeof(zOut));
          break;
        default: continue; /* left in flight, for mp_recover */
      }
      workStepDone(w);
    }
    workCall(w, "SELECT mp_clock_advance(3000)", zOut, sizeof(zOut));
    if (r % 4 == 3) {
      workCall(w, "SELECT mp_clock_advance(61000)", zOut, sizeof(zOut));
      workCall(w, "SELECT mp_recover()", zOut, sizeof(zOut));
      workStepDone(w);
    }
    if (r % 3 == 2) {
      workCall(w,
               "SELECT mp_requeue(id) FROM messages WHERE status = 'failed' "
               "ORDER BY seq LIMIT 1",
               zOut, sizeof(zOut));
      workStepDone(w);
    }
  }
  /* Closing checkpoints the WAL into the database and deletes it. */
  if (sqlite3_close(w->db) != SQLITE_OK) workFail(w, "close");
  w->db = 0;
  w->nStep++;
  workSay(w, "S %d %016llx\n", w->nStep, (unsigned long long)w->iLast);
}

/*
** Reads everything the child says into o until the pipe closes, then
** waits for it. Returns the child's exit status, or -signal.
*/
static int crashCollect(int fd, pid_t pid, Outcome *o) {
  static char zBuf[1 << 20];
  int n = 0, status = 0;
  char *zLine;
  memset(o, 0, offsetof(Outcome, azEnq));
  o->nEnq = o->nConf = 0;
  o->zError[0] = 0;
  for (;;) {
    ssize_t k = read(fd, zBuf + n, sizeof(zBuf) - 1 - (size_t)n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    n += (int)k;
    if (n >= (int)sizeof(zBuf) - 1) break;
  }
  zBuf[n] = 0;
  close(fd);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  /* Records count only once their step is acknowledged by an S line. */
  {
    int nEnq = 0, nConf = 0;
    for (zLine = zBuf; *zLine;) {
      char *zEnd = strchr(zLine, '\n');
      if (zEnd == 0) break;
      *zEnd = 0;
      if (zLine[0] == 'S') {
        int iStep = 0;
        unsigned long long h = 0;
        if (sscanf(zLine, "S %d %llx", &iStep, &h) == 2 && iStep >= 0 &&
            iStep < MAX_STEPS) {
          o->aDigest[iStep] = h;
          o->nStep = iStep;
          o->nEnq = nEnq;
          o->nConf = nConf;
        }
      } else if (zLine[0] == 'E' && nEnq < MAX_RECORDS) {
        snprintf(o->azEnq[nEnq++], sizeof(o->azEnq[0]), "%s", zLine + 2);
      } else if (zLine[0] == 'C' && nConf < MAX_RECORDS) {
        long long iTg = 0;
        char zId[64];
        if (sscanf(zLine, "C %63s %lld", zId, &iTg) == 2) {
          snprintf(o->azConf[nConf], sizeof(o->azConf[0]), "%.39s", zId);
          o->aConfTg[nConf++] = iTg;
        }
      } else if (zLine[0] == 'N') {
        o->nSync = atoi(zLine + 2);
        o->bDone = 1;
      } else if (zLine[0] == 'X') {
        snprintf(o->zError, sizeof(o->zError), "%s", zLine + 2);
      }
      zLine = zEnd + 1;
    }
  }
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

/*
** Runs the workload in a child: power loss at sync iSync (0: never) or
** right after step iIdle (0: never), damage mode eMode. Fills o. Returns
** the child's exit status (see crashCollect).
*/
static int crashRunChild(const char *zDb, int bFull, int nRound, int iSync,
                         int iIdle, int eMode, unsigned iSeed, Outcome *o) {
  int aFd[2];
  pid_t pid;
  relRemoveDb(zDb);
  if (pipe(aFd) != 0) {
    perror("pipe");
    exit(2);
  }
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    Work w;
    close(aFd[0]);
    alarm(120);
    memset(&w, 0, sizeof(w));
    w.fd = aFd[1];
    w.iCrashIdle = iIdle;
    w.bSyncFull = bFull;
    w.nRound = nRound;
    /* Reseed SQLite's PRNG from the crash VFS's fixed sequence. */
    sqlite3_randomness(0, 0);
    crashVfsArm(iSync, eMode, iSeed, workDie);
    w.db = relOpen(zDb, "mpcrash");
    if (w.db == 0) _exit(3);
    crashWorkload(&w);
    workSay(&w, "N %d\n", crashVfsSyncCount());
    _exit(0);
  }
  close(aFd[1]);
  return crashCollect(aFd[0], pid, o);
}

/*
** Checks the database a crash left behind against the reference run.
** Returns 0 when every check held, else 1 with the reason in zWhy.
*/
static int crashCheck(const char *zDb, int bFull, const Outcome *pRef,
                      const Outcome *o, Totals *t, char *zWhy, int nWhy) {
  char zShm[4200], zRes[200];
  sqlite3 *db;
  u64 h = 0;
  int j, nAck = o->nStep, rc = 1;
  snprintf(zShm, sizeof(zShm), "%s-shm", zDb);
  unlink(zShm);
  db = relOpen(zDb, "unix");
  if (db == 0) {
    snprintf(zWhy, (size_t)nWhy, "cannot reopen");
    return 1;
  }
  zWhy[0] = 0;
  if (relIntegrity(db, zWhy, nWhy) != REL_OK) goto check_done;
  if (relInvariants(db, zWhy, nWhy) != REL_OK) goto check_done;
  if (relDigest(db, &h) != SQLITE_OK) {
    snprintf(zWhy, (size_t)nWhy, "digest: %s", sqlite3_errmsg(db));
    goto check_done;
  }
  /* The latest reference state, up to the running step, that matches. */
  for (j = nAck + 1 <= pRef->nStep ? nAck + 1 : pRef->nStep; j >= 0; j--) {
    if (pRef->aDigest[j] == h) break;
  }
  if (j < 0) {
    snprintf(zWhy, (size_t)nWhy,
             "the state is none that a step produced (%d steps returned)",
             nAck);
    goto check_done;
  }
  if (bFull) {
    if (j < nAck) {
      snprintf(zWhy, (size_t)nWhy,
               "synchronous=FULL lost steps: state after step %d, but %d "
               "returned",
               j, nAck);
      goto check_done;
    }
    if (j > nAck) t->nInFlightKept++;
    for (int i = 0; i < o->nEnq; i++) {
      if (relCount(db, "SELECT count(*) FROM messages WHERE id = %Q",
                   o->azEnq[i]) != 1) {
        snprintf(zWhy, (size_t)nWhy, "enqueued message %s is missing",
                 o->azEnq[i]);
        goto check_done;
      }
    }
    for (int i = 0; i < o->nConf; i++) {
      if (relCount(db,
                   "SELECT count(*) FROM messages WHERE id = %Q AND status = "
                   "'confirmed' AND telegram_message_id = %lld",
                   o->azConf[i], o->aConfTg[i]) != 1) {
        snprintf(zWhy, (size_t)nWhy, "confirmation of %s is missing",
                 o->azConf[i]);
        goto check_done;
      }
    }
  } else if (j < nAck) {
    /* NORMAL: count what the returned steps lost. */
    int nEnqLost = 0, nConfLost = 0;
    for (int i = 0; i < o->nEnq; i++) {
      nEnqLost += relCount(db, "SELECT count(*) FROM messages WHERE id = %Q",
                           o->azEnq[i]) == 0;
    }
    for (int i = 0; i < o->nConf; i++) {
      nConfLost += relCount(db,
                            "SELECT count(*) FROM messages WHERE id = %Q "
                            "AND status = 'confirmed'",
                            o->azConf[i]) == 0;
    }
    t->nLossCase++;
    if (nAck - j > t->nMaxLost) t->nMaxLost = nAck - j;
    if (nEnqLost > t->nMaxEnqLost) t->nMaxEnqLost = nEnqLost;
    t->nEnqLost += nEnqLost;
    t->nConfLost += nConfLost;
  }
  /* The database must still work. */
  if (relHasSchema(db) == 1) {
    if (relText(db, "SELECT mp_enqueue(1, 'after the crash')", zRes,
                sizeof(zRes)) != SQLITE_OK ||
        relExec(db, "SELECT * FROM mp_claim(2)") != SQLITE_OK) {
      snprintf(zWhy, (size_t)nWhy, "cannot write after the crash: %s",
               sqlite3_errmsg(db));
      goto check_done;
    }
    if (relInvariants(db, zWhy, nWhy) != REL_OK ||
        relIntegrity(db, zWhy, nWhy) != REL_OK) {
      goto check_done;
    }
  }
  rc = 0;
check_done:
  if (sqlite3_close(db) != SQLITE_OK) {
    snprintf(zWhy, (size_t)nWhy, "close after check: %s", sqlite3_errmsg(db));
    rc = 1;
  }
  return rc;
}

/*
** Runs one crash case and checks it. Returns 0 if it held.
*/
static int crashCase(const char *zDb, int bFull, int nRound, int iSync,
                     int iIdle, int eMode, const Outcome *pRef, Totals *t) {
  static Outcome o;
  char zWhy[600];
  unsigned iSeed = (unsigned)(iSync * 7919 + iIdle * 104729 + eMode);
  int st = crashRunChild(zDb, bFull, nRound, iSync, iIdle, eMode, iSeed, &o);
  int bad = 0;
  zWhy[0] = 0;
  t->nCase++;
  if (st != CRASH_EXIT && st != 0) {
    snprintf(zWhy, sizeof(zWhy), "child exit %d: %s", st, o.zError);
    bad = 1;
  } else {
    for (int i = 0; i <= o.nStep; i++) {
      if (o.aDigest[i] != pRef->aDigest[i]) {
        snprintf(zWhy, sizeof(zWhy),
                 "the workload is not deterministic: step %d differs", i);
        bad = 1;
        break;
      }
    }
    if (!bad) bad = crashCheck(zDb, bFull, pRef, &o, t, zWhy, sizeof(zWhy));
  }
  if (bad) t->nFail++;
  if (bad || bVerbose) {
    printf("%s sync=%s mode=%s %s%d: steps returned %d: %s\n",
           bad ? "FAIL" : "ok", bFull ? "full" : "normal", crashModeName(eMode),
           iSync ? "at sync " : "idle after step ", iSync ? iSync : iIdle,
           o.nStep, bad ? zWhy : "held");
  }
  return bad;
}

int main(int argc, char **argv) {
  static Outcome ref;
  RelArgs a = { .zDir = "/tmp", .nRound = 3, .nLongRound = 20 };
  int mSync = 3, mMode = (1 << CRASH_NMODE) - 1;
  int nFail = 0;
  char zDb[4096];
  setvbuf(stdout, 0, _IOLBF, 0);
  for (int i = 1; i < argc; i++) {
    const char *z = argv[i];
    const char *zVal = i + 1 < argc ? argv[i + 1] : 0;
    if (relArg(&a, argc, argv, &i, REL_ARG_ROUNDS)) continue;
    if (strcmp(z, "--sync") == 0 && zVal) {
      mSync = strcmp(zVal, "full") == 0     ? 1
              : strcmp(zVal, "normal") == 0 ? 2
                                            : 3;
      i++;
    } else if (strcmp(z, "--mode") == 0 && zVal) {
      mMode = 0;
      for (int m = 0; m < CRASH_NMODE; m++) {
        if (strcmp(zVal, crashModeName(m)) == 0) mMode = 1 << m;
      }
      if (strcmp(zVal, "all") == 0) mMode = (1 << CRASH_NMODE) - 1;
      if (mMode == 0) {
        fprintf(stderr, "unknown mode %s\n", zVal);
        return 2;
      }
      i++;
    } else {
      relUsage(argv[0], "[--long] [--rounds N] [--stride N] [--sync "
                        "full|normal|both] [--mode "
                        "keep|drop|torn|garbage|random|all] [--at K] "
                        "[--dir D] [-v]");
    }
  }
  bVerbose = a.bVerbose;
  snprintf(zDb, sizeof(zDb), "%s/mp-rel-crash-%d.db", a.zDir, (int)getpid());
  signal(SIGPIPE, SIG_IGN);
  if (crashVfsRegister("mpcrash", 1) != SQLITE_OK) {
    fprintf(stderr, "cannot register the crash VFS\n");
    return 2;
  }
  for (int bFull = 1; bFull >= 0; bFull--) {
    Totals t;
    int nCase0;
    if (!(mSync & (bFull ? 1 : 2))) continue;
    memset(&t, 0, sizeof(t));
    if (crashRunChild(zDb, bFull, a.nRound, 0, 0, CRASH_KEEP, 1, &ref) != 0 ||
        !ref.bDone) {
      printf("FAIL reference run: %s\n", ref.zError);
      nFail++;
      continue;
    }
    printf("synchronous=%s: %d rounds, %d steps, %d sync points%s\n",
           bFull ? "FULL" : "NORMAL", a.nRound, ref.nStep, ref.nSync,
           a.nStride ? "" : " (short sweep)");
    fflush(stdout);
    for (int m = 0; m < CRASH_NMODE; m++) {
      if (!(mMode & (1 << m))) continue;
      nCase0 = t.nCase;
      /* Short: each sync point of FULL once, in one of the modes (they
      ** take turns); every other point for NORMAL, and every third step
      ** for the idle losses. */
      int nEvery = a.nStride ? a.nStride
                   : bFull   ? CRASH_SHORT_STRIDE
                             : 2 * CRASH_SHORT_STRIDE;
      int nIdleEvery = a.nStride ? a.nStride : 3 * CRASH_SHORT_STRIDE;
      for (int k = 1; k <= ref.nSync; k++) {
        if ((a.iOnly && k != a.iOnly) ||
            !relPick(k, ref.nSync, nEvery, 0, m * nEvery / CRASH_NMODE)) {
          continue;
        }
        crashCase(zDb, bFull, a.nRound, k, 0, m, &ref, &t);
      }
      for (int s = 1; !a.iOnly && s < ref.nStep; s++) {
        if (relPick(s, ref.nStep - 1, nIdleEvery, 0,
                    m * nIdleEvery / CRASH_NMODE)) {
          crashCase(zDb, bFull, a.nRound, 0, s, m, &ref, &t);
        }
      }
      printf("  mode %-7s: %d cases\n", crashModeName(m), t.nCase - nCase0);
      fflush(stdout);
    }
    printf("synchronous=%s: %d cases, %d failed", bFull ? "FULL" : "NORMAL",
           t.nCase, t.nFail);
    if (bFull) {
      printf("; %d cases kept the commit of the step that was running\n",
             t.nInFlightKept);
    } else {
      printf("; %d cases lost returned steps (at most %d steps, %d "
             "enqueues in one case; %d enqueues and %d confirmations lost "
             "in all)\n",
             t.nLossCase, t.nMaxLost, t.nMaxEnqLost, t.nEnqLost, t.nConfLost);
    }
    nFail += t.nFail;
  }
  relRemoveDb(zDb);
  printf("%d passed, %d failed\n", nFail ? 0 : 1, nFail ? 1 : 0);
  return nFail ? 1 : 0;
}
