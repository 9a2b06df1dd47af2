/*
** SPDX-License-Identifier: MIT
**
** mp-runner: the delivery daemon of mp. It moves the queue's messages to
** Telegram (or a webhook, or a spool directory) and reports each attempt
** to the extension, which owns every decision.
**
** Usage:
**
**   TELEGRAM_BOT_TOKEN=... mp-runner --db messages.db [options]
**   mp-runner status --db messages.db
**   mp-runner --help | --version
**
** Example (tools/runner/README.md has every option):
**
**   TELEGRAM_BOT_TOKEN=123:abc build/mp-runner --db messages.db \
**       --watch events/ --chat-id 12345
**
** HOW IT WORKS
**
**   open/create the database (0600), mp_init(), mp_recover(worker)
**   loop:
**     ingest new event files (--watch)
**     report the attempts that finished, all in one call:
**       mp_report_batch([{id, status, body, tier, duration_ms}, ...])
**     claim for the free request slots (at most --batch): mp_claim(n, ...)
**     send them, at most --concurrency at once (libcurl multi), each
**       through the first tier whose circuit breaker is closed
**     while requests are in flight: wait for answers (epoll)
**     when nothing is held: sleep min(mp_next_due(), --poll-ms), woken
**       early by a new event file or a signal
**   SIGTERM/SIGINT: claim nothing more, send what is already claimed,
**   report it, exit 0; a second signal sends nothing more and hands the
**   unsent claimed messages back (mp_release) once the requests on the
**   wire are answered.
**
** Exit codes: see the MP_EXIT_* macros in runner.h and mpRunUsage().
*/
#include "runner.h"

#include <mp.h>

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why the loop stops. */
#define MP_STOP_NONE   0 /* running */
#define MP_STOP_SIGNAL 1 /* SIGTERM/SIGINT: finish what is claimed */
#define MP_STOP_AUTH   2 /* a tier answered "stop" (401/404) */
#define MP_STOP_DB     3 /* the database failed */

#define MP_MAINT_MS        30000 /* mp_tick() or lease recovery period */
#define MP_TOKEN_MAX       256   /* longest bot token accepted */
#define MP_INGEST_PER_LOOP 1000  /* event files per loop iteration */

/* Outcome counters for the exit summary. */
#define MP_OUT_CONFIRMED 0
#define MP_OUT_RETRY     1
#define MP_OUT_RATE      2
#define MP_OUT_MIGRATED  3
#define MP_OUT_INDOUBT   4
#define MP_OUT_FAILED    5
#define MP_OUT_STOP      6
#define MP_OUT_OTHER     7
#define MP_OUT_COUNT     8

/* The delivery loop's state. */
typedef struct MpRun MpRun;
struct MpRun {
  MpRunOpts *pOpt;        /* options */
  MpDb *pDb;              /* the writer connection */
  MpHttp *pHttp;          /* requests in flight */
  MpTiers *pTiers;        /* tier order and breakers */
  MpWatch *pWatch;        /* --watch, or NULL */
  char *zTelegramUrl;     /* <api-url>/bot<TOKEN>/sendMessage (secret) */
  MpMsg **apQueue;        /* claimed, not yet sent: apQueue[iHead..nQueue) */
  int iHead;              /* first queued message */
  int nQueue;             /* end of the queued messages */
  MpReport *aRep;         /* finished attempts awaiting their report */
  int nRep;               /* entries used in aRep */
  int nRepAlloc;          /* entries allocated (--batch + 1) */
  MpBuf body;             /* the request body being built (reused) */
  i64 iClaimAt;           /* monotonic ms to claim again, or -1 */
  i64 iLastDueAsk;        /* monotonic ms of the last mp_next_due() */
  int eStop;              /* MP_STOP_* */
  int bAbort;             /* second signal: send nothing more */
  int bHasTick;           /* mp_tick() exists */
  int bHasNextDue;        /* mp_next_due() exists */
  i64 iNextMaint;         /* monotonic ms of the next upkeep */
  i64 iNextRecover;       /* monotonic ms of the next expired-lease check */
  i64 aOut[MP_OUT_COUNT]; /* outcomes seen */
};

static volatile sig_atomic_t mpSignalCount = 0;
static volatile sig_atomic_t mpSignalLast = 0;
static int mpSignalPipe[2] = { -1, -1 };
extern char **environ;
static char mpToken[MP_TOKEN_MAX + 2];
static char mpApiUrl[1024];

/*
** Prints the usage text to f.
*/
static void mpRunUsage(FILE *f) {
  fputs(
      "usage: mp-runner --db FILE [options]\n"
      "       mp-runner status --db FILE\n"
      "       mp-runner --help | --version\n"
      "\n"
      "Delivers the messages queued by the mp SQLite extension. The bot token\n"
      "comes from $TELEGRAM_BOT_TOKEN or --token-file, never from the command\n"
      "line. Logs go to stderr; MP_LOG=error|warn|info|debug (default info).\n"
      "\n"
      "  --db FILE               the queue database (created 0600 if missing)\n"
      "  --api-url URL           Bot API base (https://api.telegram.org)\n"
      "  --token-file F          file holding the bot token (mode 0600 or "
      "stricter)\n"
      "  --chat-id N             chat for ingested events that name none\n"
      "  --worker NAME           lease owner name (hostname:pid)\n"
      "  --once                  deliver what is due now, then exit\n"
      "  --drain                 run until nothing is pending, then exit\n"
      "  --watch DIR             ingest event files DIR/*.json\n"
      "  --tiers LIST            failover order (telegram,webhook,file; "
      "default telegram)\n"
      "  --webhook-url URL       webhook tier target\n"
      "  --spool-dir DIR         file tier directory\n"
      "  --concurrency N         requests in flight (max_concurrent_processing,"
      " 5)\n"
      "  --batch N               messages held in memory "
      "(batch_processing_size, 20)\n"
      "  --lease S               lease seconds per claim (the database's "
      "lease_seconds)\n"
      "  --poll-ms N             longest sleep between claims (1000)\n"
      "  --connect-timeout-ms N  TCP+TLS connect timeout (10000)\n"
      "  --timeout-ms N          whole-request timeout (30000)\n"
      "  --busy-timeout-ms N     SQLite busy timeout (5000)\n"
      "  --synchronous MODE      normal (default): a power loss can undo "
      "the last\n"
      "                          commits (reports, ingested events); full: "
      "each\n"
      "                          commit survives it, at one fsync per "
      "commit\n"
      "  --cache-mb N            SQLite page cache in MiB (2; the seed used "
      "64)\n"
      "  --mmap-mb N             SQLite mmap size in MiB (0; the seed used "
      "256)\n"
      "  --breaker-failures K    failures that open a tier's breaker (3)\n"
      "  --breaker-cooldown S    first cool-down of an open tier (30)\n"
      "  --breaker-max S         longest cool-down (300)\n"
      "\n"
      "Exit codes: 0 done or stopped by SIGTERM/SIGINT, 1 usage or token "
      "error,\n"
      "2 database error, 3 stopped because a tier answered 401/404 (bot "
      "token\n"
      "or URL wrong), 4 libcurl, watch or spool directory unusable.\n",
      f);
}

/*
** Signal handler for SIGTERM and SIGINT: counts the signal and wakes the
** loop through the self-pipe. Async-signal-safe.
*/
static void mpOnSignal(int iSig) {
  int e = errno;
  mpSignalCount++;
  mpSignalLast = iSig;
  if (mpSignalPipe[1] >= 0) {
    ssize_t n = write(mpSignalPipe[1], "s", 1);
    (void)n;
  }
  errno = e;
}

/*
** Installs the signal handlers and the self-pipe. Returns 0 or -1.
*/
static int mpSignalsInstall(void) {
  struct sigaction sa;
  if (pipe2(mpSignalPipe, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = mpOnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, 0);
  return 0;
}

/*
** Parses a whole decimal integer in [iMin, iMax]. Returns 0 and sets *piOut,
** or -1 after printing a usage error naming zOpt.
*/
static int mpParseInt(const char *zOpt, const char *z, i64 iMin, i64 iMax,
                      i64 *piOut) {
  char *zEnd = 0;
  long long v;
  errno = 0;
  v = strtoll(z, &zEnd, 10);
  if (errno || zEnd == z || *zEnd || v < iMin || v > iMax) {
    fprintf(stderr,
            "mp-runner: %s needs a whole number from %lld to %lld, "
            "got '%s'\n",
            zOpt, (long long)iMin, (long long)iMax, z);
    return -1;
  }
  *piOut = v;
  return 0;
}

/*
** Checks a token: 8 to 256 characters from [A-Za-z0-9:_-], as Telegram's
** tokens are. Returns 0, or -1 after logging why (never the token).
*/
static int mpTokenCheck(const char *zToken, const char *zFrom) {
  size_t n = strlen(zToken);
  if (n == 0) {
    mpRunLog(MP_LOG_ERROR, "the bot token from %s is empty", zFrom);
    return -1;
  }
  if (n < 8 || n > MP_TOKEN_MAX ||
      strspn(zToken, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789:_-") != n) {
    mpRunLog(MP_LOG_ERROR,
             "the bot token from %s is not a Telegram token (8-%d characters "
             "of A-Z a-z 0-9 : _ -)",
             zFrom, MP_TOKEN_MAX);
    return -1;
  }
  return 0;
}

/*
** Loads the token from --token-file (refused when group or others may
** read it) or $TELEGRAM_BOT_TOKEN into mpToken and registers it for
** scrubbing. Returns 0, 1 when there is none, or -1 after logging an
** error.
*/
static int mpTokenLoad(MpRunOpts *pOpt) {
  const char *zEnv = getenv("TELEGRAM_BOT_TOKEN");
  if (pOpt->zTokenFile) {
    struct stat st;
    ssize_t n;
    int fd = open(pOpt->zTokenFile, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      mpRunLog(MP_LOG_ERROR, "cannot open token file %s: %s", pOpt->zTokenFile,
               strerror(errno));
      return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      mpRunLog(MP_LOG_ERROR, "token file %s is not a regular file",
               pOpt->zTokenFile);
      close(fd);
      return -1;
    }
    if (st.st_mode & 077) {
      mpRunLog(MP_LOG_ERROR,
               "token file %s can be read by group or others (mode %03o); "
               "run: chmod 600 %s",
               pOpt->zTokenFile, (unsigned)(st.st_mode & 0777),
               pOpt->zTokenFile);
      close(fd);
      return -1;
    }
    n = read(fd, mpToken, MP_TOKEN_MAX + 1);
    close(fd);
    if (n < 0) {
      mpRunLog(MP_LOG_ERROR, "cannot read token file %s: %s", pOpt->zTokenFile,
               strerror(errno));
      return -1;
    }
    mpToken[n] = 0;
    mpToken[strcspn(mpToken, "\r\n")] = 0;
    while (n > 0 && (mpToken[n - 1] == ' ' || mpToken[n - 1] == '\t')) {
      mpToken[--n] = 0;
    }
    if (mpTokenCheck(mpToken, "the token file")) return -1;
  } else if (zEnv && zEnv[0]) {
    if (strlen(zEnv) > MP_TOKEN_MAX) {
      mpRunLog(MP_LOG_ERROR, "TELEGRAM_BOT_TOKEN is longer than %d characters",
               MP_TOKEN_MAX);
      return -1;
    }
    snprintf(mpToken, sizeof(mpToken), "%s", zEnv);
    if (mpTokenCheck(mpToken, "TELEGRAM_BOT_TOKEN")) return -1;
  } else {
    return 1;
  }
  /*
  ** /proc/PID/environ shows the process's original environment block:
  ** blank the value there, then drop the variable.
  */
  for (char **pz = environ; pz && *pz; pz++) {
    if (strncmp(*pz, "TELEGRAM_BOT_TOKEN=", 19) == 0) {
      memset(*pz + 19, 0, strlen(*pz + 19));
    }
  }
  unsetenv("TELEGRAM_BOT_TOKEN");
  mpRunLogSecret(mpToken);
  pOpt->zToken = mpToken;
  return 0;
}

/*
** Fills *pOpt from the command line. Returns -1 to exit with MP_EXIT_OK
** (help, version printed), 0 for the daemon, 1 for the status command, or
** 2 on a usage error (already printed).
*/
static int mpRunParseArgs(int argc, char **argv, MpRunOpts *pOpt) {
  enum {
    OPT_DB = 256,
    OPT_API,
    OPT_TOKENFILE,
    OPT_CHAT,
    OPT_WORKER,
    OPT_ONCE,
    OPT_DRAIN,
    OPT_WATCH,
    OPT_TIERS,
    OPT_WEBHOOK,
    OPT_SPOOL,
    OPT_CONC,
    OPT_BATCH,
    OPT_LEASE,
    OPT_POLL,
    OPT_CTIMEOUT,
    OPT_TIMEOUT,
    OPT_BUSY,
    OPT_SYNC,
    OPT_CACHE,
    OPT_MMAP,
    OPT_BFAIL,
    OPT_BCOOL,
    OPT_BMAX,
    OPT_HELP,
    OPT_VERSION,
    OPT_TOKEN
  };
  static const struct option aOpt[] = {
    { "db", required_argument, 0, OPT_DB },
    { "api-url", required_argument, 0, OPT_API },
    { "token-file", required_argument, 0, OPT_TOKENFILE },
    { "token", required_argument, 0, OPT_TOKEN },
    { "chat-id", required_argument, 0, OPT_CHAT },
    { "worker", required_argument, 0, OPT_WORKER },
    { "once", no_argument, 0, OPT_ONCE },
    { "drain", no_argument, 0, OPT_DRAIN },
    { "watch", required_argument, 0, OPT_WATCH },
    { "tiers", required_argument, 0, OPT_TIERS },
    { "webhook-url", required_argument, 0, OPT_WEBHOOK },
    { "spool-dir", required_argument, 0, OPT_SPOOL },
    { "concurrency", required_argument, 0, OPT_CONC },
    { "batch", required_argument, 0, OPT_BATCH },
    { "lease", required_argument, 0, OPT_LEASE },
    { "poll-ms", required_argument, 0, OPT_POLL },
    { "connect-timeout-ms", required_argument, 0, OPT_CTIMEOUT },
    { "timeout-ms", required_argument, 0, OPT_TIMEOUT },
    { "busy-timeout-ms", required_argument, 0, OPT_BUSY },
    { "synchronous", required_argument, 0, OPT_SYNC },
    { "cache-mb", required_argument, 0, OPT_CACHE },
    { "mmap-mb", required_argument, 0, OPT_MMAP },
    { "breaker-failures", required_argument, 0, OPT_BFAIL },
    { "breaker-cooldown", required_argument, 0, OPT_BCOOL },
    { "breaker-max", required_argument, 0, OPT_BMAX },
    { "help", no_argument, 0, OPT_HELP },
    { "version", no_argument, 0, OPT_VERSION },
    { 0, 0, 0, 0 },
  };
  int bStatus = 0;
  int c;
  i64 v = 0;
  if (argc > 1 && strcmp(argv[1], "status") == 0) {
    bStatus = 1;
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", aOpt, 0)) != -1) {
    switch (c) {
      case OPT_DB: pOpt->zDb = optarg; break;
      case OPT_API: pOpt->zApiUrl = optarg; break;
      case OPT_TOKENFILE: pOpt->zTokenFile = optarg; break;
      case OPT_TOKEN:
        fprintf(stderr, "mp-runner: a token on the command line would show "
                        "in ps; use TELEGRAM_BOT_TOKEN or --token-file\n");
        return 2;
      case OPT_CHAT:
        if (mpParseInt("--chat-id", optarg, -INT64_MAX, INT64_MAX, &v)) {
          return 2;
        }
        pOpt->bChat = 1;
        pOpt->iChat = v;
        break;
      case OPT_WORKER:
        if (optarg[0] == 0 || strlen(optarg) >= sizeof(pOpt->zWorker)) {
          fprintf(stderr, "mp-runner: --worker needs 1 to %d characters\n",
                  (int)sizeof(pOpt->zWorker) - 1);
          return 2;
        }
        snprintf(pOpt->zWorker, sizeof(pOpt->zWorker), "%s", optarg);
        break;
      case OPT_ONCE: pOpt->bOnce = 1; break;
      case OPT_DRAIN: pOpt->bDrain = 1; break;
      case OPT_WATCH: pOpt->zWatch = optarg; break;
      case OPT_TIERS:
        if (mpTierParseList(optarg, pOpt->aTier, &pOpt->nTier)) {
          fprintf(stderr,
                  "mp-runner: --tiers takes a list of distinct "
                  "telegram, webhook, file; got '%s'\n",
                  optarg);
          return 2;
        }
        break;
      case OPT_WEBHOOK: pOpt->zWebhookUrl = optarg; break;
      case OPT_SPOOL: pOpt->zSpoolDir = optarg; break;
      case OPT_SYNC:
        if (strcmp(optarg, "normal") == 0 || strcmp(optarg, "NORMAL") == 0) {
          pOpt->bSyncFull = 0;
        } else if (strcmp(optarg, "full") == 0 || strcmp(optarg, "FULL") == 0) {
          pOpt->bSyncFull = 1;
        } else {
          fprintf(stderr, "mp-runner: --synchronous is normal or full\n");
          return 2;
        }
        break;
      case OPT_HELP: mpRunUsage(stdout); return -1;
      case OPT_VERSION: return -2;
      case '?':
        fprintf(stderr, "mp-runner: unknown option or missing value: %s\n",
                argv[optind - 1]);
        mpRunUsage(stderr);
        return 2;
      default: {
        /* The numeric options. */
        static const struct {
          int c;
          const char *zName;
          i64 iMin, iMax;
        } aNum[] = {
          { OPT_CONC, "--concurrency", 1, 1000 },
          { OPT_BATCH, "--batch", 1, 10000 },
          { OPT_LEASE, "--lease", 1, 86400 },
          { OPT_POLL, "--poll-ms", 1, 3600000 },
          { OPT_CTIMEOUT, "--connect-timeout-ms", 1, 600000 },
          { OPT_TIMEOUT, "--timeout-ms", 1, 3600000 },
          { OPT_BUSY, "--busy-timeout-ms", 0, 3600000 },
          { OPT_CACHE, "--cache-mb", 0, 65536 },
          { OPT_MMAP, "--mmap-mb", 0, 1048576 },
          { OPT_BFAIL, "--breaker-failures", 1, 1000 },
          { OPT_BCOOL, "--breaker-cooldown", 1, 86400 },
          { OPT_BMAX, "--breaker-max", 1, 86400 },
        };
        for (size_t i = 0; i < sizeof(aNum) / sizeof(aNum[0]); i++) {
          if (aNum[i].c != c) continue;
          if (mpParseInt(aNum[i].zName, optarg, aNum[i].iMin, aNum[i].iMax,
                         &v)) {
            return 2;
          }
          switch (c) {
            case OPT_CONC: pOpt->nConcurrency = (int)v; break;
            case OPT_BATCH: pOpt->nBatch = (int)v; break;
            case OPT_LEASE: pOpt->nLease = (int)v; break;
            case OPT_POLL: pOpt->nPollMs = (int)v; break;
            case OPT_CTIMEOUT: pOpt->nConnectTimeoutMs = (long)v; break;
            case OPT_TIMEOUT: pOpt->nTimeoutMs = (long)v; break;
            case OPT_BUSY: pOpt->nBusyMs = (int)v; break;
            case OPT_CACHE: pOpt->nCacheMb = (int)v; break;
            case OPT_MMAP: pOpt->nMmapMb = (int)v; break;
            case OPT_BFAIL: pOpt->nBreakerFailures = (int)v; break;
            case OPT_BCOOL: pOpt->nBreakerCooldownS = (int)v; break;
            case OPT_BMAX: pOpt->nBreakerMaxS = (int)v; break;
          }
        }
        break;
      }
    }
  }
  if (optind + 1 == argc && strcmp(argv[optind], "status") == 0) {
    bStatus = 1;
    optind++;
  }
  if (optind < argc) {
    fprintf(stderr, "mp-runner: unexpected argument '%s'%s\n", argv[optind],
            strstr(argv[optind], ":") ? " (tokens never go on the command "
                                        "line)"
                                      : "");
    return 2;
  }
  if (pOpt->zDb == 0) {
    fprintf(stderr, "mp-runner: --db FILE is required\n");
    mpRunUsage(stderr);
    return 2;
  }
  return bStatus;
}

/*
** Checks the options that depend on each other and fills in defaults that
** need the system (worker name). Returns 0, or an exit code after logging
** the problem.
*/
static int mpRunCheckOpts(MpRunOpts *pOpt) {
  int bTelegram = 0, bWebhook = 0, bFile = 0;
  size_t n;
  for (int i = 0; i < pOpt->nTier; i++) {
    bTelegram |= pOpt->aTier[i] == MP_TIER_TELEGRAM;
    bWebhook |= pOpt->aTier[i] == MP_TIER_WEBHOOK;
    bFile |= pOpt->aTier[i] == MP_TIER_FILE;
  }
  if (pOpt->bOnce && pOpt->bDrain) {
    mpRunLog(MP_LOG_ERROR, "--once and --drain exclude each other");
    return MP_EXIT_USAGE;
  }
  if (pOpt->nConcurrency > pOpt->nBatch) pOpt->nConcurrency = pOpt->nBatch;
  if (pOpt->nBreakerMaxS < pOpt->nBreakerCooldownS) {
    pOpt->nBreakerMaxS = pOpt->nBreakerCooldownS;
  }
  n = strlen(pOpt->zApiUrl);
  while (n > 0 && pOpt->zApiUrl[n - 1] == '/')
    n--;
  if ((strncmp(pOpt->zApiUrl, "https://", 8) != 0 &&
       strncmp(pOpt->zApiUrl, "http://", 7) != 0) ||
      n >= sizeof(mpApiUrl)) {
    mpRunLog(MP_LOG_ERROR, "--api-url must be an https:// or http:// URL");
    return MP_EXIT_USAGE;
  }
  memcpy(mpApiUrl, pOpt->zApiUrl, n);
  mpApiUrl[n] = 0;
  pOpt->zApiUrl = mpApiUrl;
  if (bTelegram) {
    int rc = mpTokenLoad(pOpt);
    if (rc < 0) return MP_EXIT_USAGE;
    if (rc > 0) {
      mpRunLog(MP_LOG_ERROR,
               "no bot token: set TELEGRAM_BOT_TOKEN or use --token-file F "
               "(or leave telegram out of --tiers)");
      return MP_EXIT_USAGE;
    }
    if (strncmp(pOpt->zApiUrl, "http://", 7) == 0 &&
        strncmp(pOpt->zApiUrl, "http://127.0.0.1", 16) != 0 &&
        strncmp(pOpt->zApiUrl, "http://localhost", 16) != 0 &&
        strncmp(pOpt->zApiUrl, "http://[::1]", 12) != 0) {
      mpRunLog(MP_LOG_WARN, "--api-url is plain http: the bot token travels "
                            "unencrypted");
    }
  }
  if (bWebhook && pOpt->zWebhookUrl == 0) {
    mpRunLog(MP_LOG_ERROR, "the webhook tier needs --webhook-url URL");
    return MP_EXIT_USAGE;
  }
  if (bFile) {
    struct stat st;
    if (pOpt->zSpoolDir == 0) {
      mpRunLog(MP_LOG_ERROR, "the file tier needs --spool-dir DIR");
      return MP_EXIT_USAGE;
    }
    if (stat(pOpt->zSpoolDir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        access(pOpt->zSpoolDir, W_OK | X_OK) != 0) {
      mpRunLog(MP_LOG_ERROR, "--spool-dir %s is not a writable directory",
               pOpt->zSpoolDir);
      return MP_EXIT_ENV;
    }
  }
  if (pOpt->zWorker[0] == 0) {
    char zHost[64];
    if (gethostname(zHost, sizeof(zHost)) != 0) snprintf(zHost, 64, "host");
    zHost[sizeof(zHost) - 1] = 0;
    snprintf(pOpt->zWorker, sizeof(pOpt->zWorker), "%s:%ld", zHost,
             (long)getpid());
  }
  return MP_EXIT_OK;
}

/*
** Returns the outcome counter index of an mp_report() outcome.
*/
static int mpOutcomeIndex(const char *z) {
  static const char *const azOut[] = { "confirmed", "retry",    "rate_limited",
                                       "migrated",  "in_doubt", "failed",
                                       "stop" };
  for (int i = 0; i < (int)(sizeof(azOut) / sizeof(azOut[0])); i++) {
    if (strcmp(z, azOut[i]) == 0) return i;
  }
  return MP_OUT_OTHER;
}

/*
** Copies a short, one-line summary of an answer into zOut: Telegram's
** "description" when the body has one, else the start of the body.
*/
static void mpBodySummary(const char *zBody, char *zOut, size_t nOut) {
  const char *z = zBody ? strstr(zBody, "\"description\":\"") : 0;
  size_t n = 0;
  if (z) {
    z += 15;
    while (z[n] && z[n] != '"' && n + 1 < nOut) {
      if (z[n] == '\\' && z[n + 1]) n++;
      n++;
    }
  } else {
    z = zBody ? zBody : "";
    n = strlen(z);
  }
  if (n > 160) n = 160;
  if (n >= nOut) n = nOut - 1;
  memcpy(zOut, z, n);
  zOut[n] = 0;
  for (char *c = zOut; *c; c++) {
    if ((unsigned char)*c < 0x20) *c = ' ';
  }
}

/*
** Logs the outcome of a reported attempt, counts it, and turns "stop"
** into a stop of the loop (exit code MP_EXIT_STOP).
*/
static void mpRunOutcome(MpRun *r, const MpReport *pRep) {
  const MpMsg *pMsg = pRep->pMsg;
  const char *zOutcome = pRep->zOutcome;
  int iStatus = pRep->iStatus;
  char zWhat[200];
  int iOut;
  if (strcmp(zOutcome, "error") == 0) return; /* logged already */
  iOut = mpOutcomeIndex(zOutcome);
  r->aOut[iOut]++;
  if (iOut == MP_OUT_CONFIRMED) {
    if (mpRunLogEnabled(MP_LOG_DEBUG)) {
      mpRunLog(MP_LOG_DEBUG,
               "message %s chat %lld: confirmed via %s in %lld ms", pMsg->zId,
               (long long)pMsg->iChat, mpTierName(pMsg->eTier),
               (long long)pRep->nDurationMs);
    }
    return;
  }
  mpBodySummary(pRep->zBody, zWhat, sizeof(zWhat));
  switch (iOut) {
    case MP_OUT_RETRY:
    case MP_OUT_RATE:
    case MP_OUT_MIGRATED:
      mpRunLog(MP_LOG_INFO, "message %s chat %lld: %s (status %d via %s: %s)",
               pMsg->zId, (long long)pMsg->iChat, zOutcome, iStatus,
               mpTierName(pMsg->eTier), zWhat);
      break;
    case MP_OUT_STOP:
      if (r->eStop != MP_STOP_AUTH) {
        if (pMsg->eTier == MP_TIER_TELEGRAM && iStatus == 401) {
          mpRunLog(MP_LOG_ERROR,
                   "the Bot API at %s answered 401 Unauthorized: the bot token "
                   "is wrong or revoked (check TELEGRAM_BOT_TOKEN or "
                   "--token-file); stopping with exit code %d",
                   r->pOpt->zApiUrl, MP_EXIT_STOP);
        } else if (pMsg->eTier == MP_TIER_TELEGRAM) {
          mpRunLog(MP_LOG_ERROR,
                   "the Bot API at %s answered %d (%s): the bot token or "
                   "--api-url is wrong; stopping with exit code %d",
                   r->pOpt->zApiUrl, iStatus, zWhat, MP_EXIT_STOP);
        } else {
          mpRunLog(
              MP_LOG_ERROR,
              "tier %s answered %d (%s): check its URL; stopping with exit "
              "code %d",
              mpTierName(pMsg->eTier), iStatus, zWhat, MP_EXIT_STOP);
        }
      }
      r->eStop = MP_STOP_AUTH;
      break;
    case MP_OUT_INDOUBT:
    case MP_OUT_FAILED:
      mpRunLog(MP_LOG_WARN, "message %s chat %lld: %s (status %d via %s: %s)",
               pMsg->zId, (long long)pMsg->iChat, zOutcome, iStatus,
               mpTierName(pMsg->eTier), zWhat);
      break;
    default:
      mpRunLog(MP_LOG_WARN,
               "message %s: unexpected outcome '%s' from mp_report", pMsg->zId,
               zOutcome);
      break;
  }
}

/*
** Reports every attempt waiting in r->aRep, in one mp_report_batch()
** call (one transaction; each report applied on its own), then logs the
** outcomes and frees the messages and their results.
*/
static void mpRunFlush(MpRun *r) {
  if (r->nRep == 0) return;
  mpDbReportBatch(r->pDb, r->aRep, r->nRep);
  for (int i = 0; i < r->nRep; i++) {
    MpReport *pRep = &r->aRep[i];
    mpRunOutcome(r, pRep);
    mpRunMsgFree(pRep->pMsg);
    mpHttpResultFree(r->pHttp, &pRep->res);
    mpRunBufFree(&pRep->own);
  }
  r->nRep = 0;
}

/*
** Queues the report of one attempt of pMsg (taken over) and feeds the
** tier's breaker at once. pRes, when not NULL, is the request's result
** and holds zBody (taken over); pOwn, when not NULL, is a buffer holding
** zBody (taken over). The report is made by the next mpRunFlush().
*/
static void mpRunReport(MpRun *r, MpMsg *pMsg, int iStatus, const char *zBody,
                        size_t nBody, i64 nDurationMs, MpHttpResult *pRes,
                        MpBuf *pOwn) {
  MpReport *pRep;
  mpTiersResult(r->pTiers, pMsg->eTier, iStatus, mpRunNowMs());
  if (r->nRep >= r->nRepAlloc) mpRunFlush(r);
  pRep = &r->aRep[r->nRep++];
  memset(pRep, 0, sizeof(*pRep));
  pRep->pMsg = pMsg;
  pRep->iStatus = iStatus;
  pRep->zBody = zBody ? zBody : "";
  pRep->nBody = zBody ? nBody : 0;
  pRep->nDurationMs = nDurationMs;
  if (pRes) {
    pRep->res = *pRes;
    memset(pRes, 0, sizeof(*pRes));
  }
  if (pOwn) {
    pRep->own = *pOwn;
    memset(pOwn, 0, sizeof(*pOwn));
  }
}

/*
** Starts the attempt of pMsg on tier eTier: an HTTP request, or the spool
** file written (and its report queued) at once.
*/
static void mpRunStart(MpRun *r, MpMsg *pMsg, int eTier) {
  MpBuf *pBody = &r->body;
  int rc = -1;
  pMsg->eTier = eTier;
  pMsg->iStartMs = mpRunNowMs();
  pBody->n = 0;
  pBody->bOom = 0;
  if (eTier == MP_TIER_FILE) {
    MpBuf result = { 0 };
    int iStatus = mpSpoolWrite(r->pOpt->zSpoolDir, pMsg, &result);
    if (result.z == 0) mpRunBufAppend(&result, "", 0);
    mpRunReport(r, pMsg, iStatus, result.z, result.n,
                mpRunNowMs() - pMsg->iStartMs, 0, &result);
    return;
  }
  if (eTier == MP_TIER_TELEGRAM && mpTelegramBody(pMsg, pBody) == 0) {
    rc = mpHttpStart(r->pHttp, r->zTelegramUrl, pBody, 0, pMsg);
  } else if (eTier == MP_TIER_WEBHOOK && mpWebhookBody(pMsg, pBody) == 0) {
    rc = mpHttpStart(r->pHttp, r->pOpt->zWebhookUrl, pBody, pMsg->zId, pMsg);
  }
  if (rc != 0) {
    mpRunReport(r, pMsg, 0, "mp-runner: could not start the request", 38, 0, 0,
                0);
  }
}

/*
** Starts queued messages while fewer than --concurrency are in flight. In
** an abort or a stop, nothing more is started. Attempts that end at once
** (the file tier, a request that could not start) are reported together.
*/
static void mpRunDispatch(MpRun *r) {
  if (r->bAbort || r->eStop == MP_STOP_AUTH || r->eStop == MP_STOP_DB) return;
  while (r->iHead < r->nQueue &&
         mpHttpInFlight(r->pHttp) < r->pOpt->nConcurrency) {
    MpMsg *pMsg = r->apQueue[r->iHead];
    int eTier = mpTiersPick(r->pTiers, mpRunNowMs(), 1, 0);
    r->apQueue[r->iHead++] = 0;
    if (eTier != r->pOpt->aTier[0]) {
      mpRunLog(MP_LOG_DEBUG, "message %s: using tier %s", pMsg->zId,
               mpTierName(eTier));
    }
    mpRunStart(r, pMsg, eTier);
  }
  mpRunFlush(r);
  if (r->iHead == r->nQueue) r->iHead = r->nQueue = 0;
}

/*
** Reports every finished request, all in one mp_report_batch() call.
** Returns the number reported.
*/
static int mpRunCollect(MpRun *r) {
  MpHttpResult res;
  int n = 0;
  while (mpHttpNext(r->pHttp, &res)) {
    mpRunReport(r, res.pArg, res.iStatus, res.zBody, res.nBody, res.nDurationMs,
                &res, 0);
    n++;
  }
  mpRunFlush(r);
  return n;
}

/*
** Claims up to n messages into the queue. Returns the number claimed, or
** -1 on a database error: a busy database is tried again later, any other
** error stops the loop with MP_EXIT_DB.
*/
static int mpRunClaim(MpRun *r, int n) {
  int nGot = 0, rc;
  if (r->iHead > 0) {
    memmove(r->apQueue, r->apQueue + r->iHead,
            (size_t)(r->nQueue - r->iHead) * sizeof(MpMsg *));
    r->nQueue -= r->iHead;
    r->iHead = 0;
  }
  rc = mpDbClaim(r->pDb, n, r->pOpt->nLease, r->pOpt->zWorker,
                 r->apQueue + r->nQueue, &nGot);
  r->nQueue += nGot;
  if (rc != SQLITE_OK) {
    /* Busy: try again after a sleep; anything else stops the loop. */
    if (!mpDbIsBusy(rc)) r->eStop = MP_STOP_DB;
    return nGot > 0 ? nGot : -1;
  }
  if (nGot > 0) mpRunLog(MP_LOG_DEBUG, "claimed %d messages", nGot);
  return nGot;
}

/*
** Reads the signal pipe and turns new signals into a stop (first) or an
** abort (second).
*/
static void mpRunSignals(MpRun *r, int bReady) {
  static sig_atomic_t nSeen = 0;
  char aBuf[64];
  if (bReady) {
    while (read(mpSignalPipe[0], aBuf, sizeof(aBuf)) > 0) {
    }
  }
  if (mpSignalCount == nSeen) return;
  nSeen = mpSignalCount;
  if (r->eStop == MP_STOP_NONE) {
    r->eStop = MP_STOP_SIGNAL;
    mpRunLog(MP_LOG_INFO,
             "%s: claiming nothing more; finishing %d claimed messages "
             "(signal again to hand them back unsent)",
             mpSignalLast == SIGINT ? "SIGINT" : "SIGTERM",
             r->nQueue - r->iHead + mpHttpInFlight(r->pHttp));
  } else if (!r->bAbort && nSeen > 1) {
    r->bAbort = 1;
    mpRunLog(MP_LOG_INFO,
             "second signal: waiting only for the %d requests on "
             "the wire",
             mpHttpInFlight(r->pHttp));
  }
}

/*
** Runs the periodic upkeep: mp_tick() when the extension has it, and
** mp_recover() for expired leases (another runner that died).
*/
static void mpRunMaintenance(MpRun *r, i64 iNow) {
  i64 nDone = 0;
  r->iNextMaint = iNow + MP_MAINT_MS;
  if (r->bHasTick) mpDbTick(r->pDb);
  if (mpDbRecover(r->pDb, 0, &nDone) == SQLITE_OK && nDone > 0) {
    mpRunLog(MP_LOG_INFO, "recovered %lld messages whose lease expired",
             (long long)nDone);
  }
}

/*
** Hands back claimed messages that were never sent with mp_release(): they
** are pending again at once, not in doubt, and the claim is not counted as
** an attempt. Only called when nothing is in flight.
*/
static void mpRunRelease(MpRun *r) {
  int nDone = 0;
  for (int i = r->iHead; i < r->nQueue; i++) {
    if (mpDbRelease(r->pDb, r->apQueue[i]->zLease) == SQLITE_OK) nDone++;
    mpRunMsgFree(r->apQueue[i]);
  }
  if (r->nQueue > r->iHead) {
    mpRunLog(MP_LOG_INFO, "handed back %d claimed but unsent messages", nDone);
  }
  r->iHead = r->nQueue = 0;
}

/*
** Sleeps until the next message is due (mp_next_due), at most --poll-ms,
** or until an event file or a signal arrives. bEmptyClaim says the last
** claim found nothing. Sets *pbDrained when nothing is pending and
** nothing is in flight anywhere (for --drain), in which case it does not
** sleep.
*/
static void mpRunSleep(MpRun *r, int bEmptyClaim, int *pbDrained) {
  i64 iNow = mpRunNowMs();
  i64 nWait = r->pOpt->nPollMs, nDue = -1, nDone = 0, nSent = 0;
  int aFd[2], abReady[2], nFd = 0;
  *pbDrained = 0;
  if (bEmptyClaim && iNow >= r->iNextRecover) {
    /* A lease that ran out (a runner that died) blocks its chat. */
    r->iNextRecover = iNow + 1000;
    if (mpDbRecover(r->pDb, 0, &nDone) == SQLITE_OK && nDone > 0) {
      mpRunLog(MP_LOG_INFO, "recovered %lld messages whose lease expired",
               (long long)nDone);
      return;
    }
  }
  if (r->bHasNextDue && mpDbNextDue(r->pDb, &nDue) == SQLITE_OK) {
    if (nDue < 0 && mpDbStat(r->pDb, "sent", &nSent) == SQLITE_OK &&
        nSent == 0) {
      *pbDrained = 1;
    }
    if (nDue >= 0 && nDue < nWait) nWait = nDue;
    if (nDue == 0 && bEmptyClaim) nWait = 250;
  }
  if (mpTiersPick(r->pTiers, iNow, 0, 0) < 0) {
    i64 n = mpTiersWaitMs(r->pTiers, iNow);
    if (n > nWait) nWait = n;
  }
  if (r->pWatch) {
    int n = mpWatchPending(r->pWatch, iNow);
    if (n >= 0 && n < nWait) nWait = n;
  }
  if (r->iNextMaint - iNow < nWait) nWait = r->iNextMaint - iNow;
  if (nWait < 0) nWait = 0;
  if (r->pOpt->bDrain && *pbDrained) return;
  aFd[nFd++] = mpSignalPipe[0];
  if (r->pWatch && mpWatchFd(r->pWatch) >= 0) aFd[nFd++] = mpWatchFd(r->pWatch);
  mpRunLog(MP_LOG_DEBUG, "sleeping %lld ms (next due: %lld)", (long long)nWait,
           (long long)nDue);
  mpHttpWait(r->pHttp, aFd, nFd, (int)nWait, abReady);
  mpRunSignals(r, abReady[0]);
  if (nFd > 1 && abReady[1]) mpWatchNotified(r->pWatch);
}

/*
** After a claim that got fewer messages than it asked for while requests
** are in flight: asks mp_next_due() (at most every 10 ms) when the next
** message may be claimed, so that a message that pacing holds back for a
** few ms is claimed then, not only when a request finishes.
*/
static void mpRunAskDue(MpRun *r, i64 iNow) {
  i64 nDue = -1;
  if (!r->bHasNextDue || iNow - r->iLastDueAsk < 10) return;
  r->iLastDueAsk = iNow;
  if (mpDbNextDue(r->pDb, &nDue) == SQLITE_OK && nDue >= 0 &&
      nDue < r->pOpt->nPollMs) {
    r->iClaimAt = iNow + (nDue > 0 ? nDue : 1);
  }
}

/*
** The delivery loop. Returns when --once/--drain is done, on a signal, a
** stop outcome or a database error, with nothing in flight.
**
** Each turn reports what finished (one mp_report_batch), claims for the
** free request slots (one mp_claim) and starts the claimed messages. While
** requests are in flight a claim waits until at least a quarter of the
** slots (at most 32) are free, so that claims and reports come in batches
** and a busy runner spends few transactions per message.
*/
static void mpRunLoop(MpRun *r) {
  const MpRunOpts *pOpt = r->pOpt;
  int bCanClaim = 1, bAskDue = 0;
  int nClaimMin = pOpt->nConcurrency / 4;
  if (nClaimMin < 1) nClaimMin = 1;
  if (nClaimMin > 32) nClaimMin = 32;
  r->iClaimAt = -1;
  for (;;) {
    i64 iNow = mpRunNowMs(), nDue = -1;
    int nHeld = r->nQueue - r->iHead + mpHttpInFlight(r->pHttp);
    int nClaimed = -1;
    mpRunSignals(r, 0);
    if (r->eStop == MP_STOP_NONE && r->pWatch &&
        mpWatchPending(r->pWatch, iNow) == 0) {
      if (mpWatchIngest(r->pWatch, r->pDb, pOpt->bChat, pOpt->iChat,
                        MP_INGEST_PER_LOOP, iNow) > 0) {
        bCanClaim = 1;
        bAskDue = 0;
      }
    }
    if (r->eStop == MP_STOP_NONE && iNow >= r->iNextMaint) {
      mpRunMaintenance(r, iNow);
    }
    if (r->iClaimAt >= 0 && iNow >= r->iClaimAt) {
      r->iClaimAt = -1;
      bCanClaim = 1;
    }
    /* Fill the free request slots. */
    if (r->eStop == MP_STOP_NONE && nHeld < pOpt->nConcurrency &&
        (bCanClaim || nHeld == 0) &&
        (nHeld == 0 || pOpt->nConcurrency - nHeld >= nClaimMin)) {
      int bProbe = 0;
      if (mpTiersPick(r->pTiers, iNow, 0, &bProbe) >= 0) {
        /* A claim is leave to send now (pacing): claim only what starts. */
        int nWant = pOpt->nConcurrency - nHeld;
        if (nWant > pOpt->nBatch - nHeld) nWant = pOpt->nBatch - nHeld;
        if (bProbe) nWant = nHeld == 0 ? 1 : 0;
        if (nWant > 0 && bAskDue && nHeld == 0 && r->bHasNextDue &&
            mpDbNextDue(r->pDb, &nDue) == SQLITE_OK && nDue != 0) {
          /* Woken with nothing due: a read instead of a write. */
          nClaimed = 0;
        } else if (nWant > 0) {
          nClaimed = mpRunClaim(r, nWant);
          bCanClaim = nClaimed == nWant;
          if (nClaimed >= 0 && nClaimed < nWant && nHeld > 0) {
            mpRunAskDue(r, iNow);
          }
        }
        bAskDue = 0;
      }
    }
    mpRunDispatch(r);
    if (mpHttpInFlight(r->pHttp) > 0) {
      int aFd[1] = { mpSignalPipe[0] }, abReady[1] = { 0 };
      i64 nWait = pOpt->nPollMs;
      if (r->iClaimAt >= 0 && r->eStop == MP_STOP_NONE) {
        i64 n = r->iClaimAt - mpRunNowMs();
        if (n < nWait) nWait = n < 0 ? 0 : n;
      }
      mpHttpWait(r->pHttp, aFd, 1, (int)nWait, abReady);
      mpRunSignals(r, abReady[0]);
      if (mpRunCollect(r) > 0) bCanClaim = 1;
      continue;
    }
    if (r->iHead < r->nQueue) {
      /* Queued but not startable: an abort or a stop. */
      if (r->bAbort || r->eStop == MP_STOP_AUTH || r->eStop == MP_STOP_DB) {
        mpRunRelease(r);
      }
      continue;
    }
    if (r->eStop != MP_STOP_NONE) break;
    if (nClaimed > 0) continue;
    if (nClaimed < 0 && nHeld > 0) continue;
    if (pOpt->bOnce && nClaimed < 0 && nHeld == 0 &&
        mpTiersPick(r->pTiers, mpRunNowMs(), 0, 0) < 0) {
      mpRunLog(MP_LOG_WARN, "--once: every tier is failing; exiting with "
                            "messages left pending");
      break;
    }
    if (pOpt->bOnce && nClaimed == 0 &&
        (r->pWatch == 0 || mpWatchPending(r->pWatch, mpRunNowMs()) < 0)) {
      break;
    }
    {
      int bDrained = 0;
      mpRunSleep(r, nClaimed == 0, &bDrained);
      if (pOpt->bDrain && bDrained && nClaimed == 0 &&
          (r->pWatch == 0 || mpWatchPending(r->pWatch, mpRunNowMs()) < 0)) {
        break;
      }
      bCanClaim = 1;
      bAskDue = 1;
      r->iClaimAt = -1;
    }
  }
}

/*
** Prints the version of the runner, mp, SQLite and libcurl. Returns an
** exit code.
*/
static int mpRunVersion(void) {
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  const char *zMp = "?";
  char *zErr = 0;
  if (sqlite3_open(":memory:", &db) == SQLITE_OK &&
      sqlite3_mp_init(db, &zErr, 0) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT mp_version()", -1, &pStmt, 0) ==
          SQLITE_OK &&
      sqlite3_step(pStmt) == SQLITE_ROW) {
    zMp = (const char *)sqlite3_column_text(pStmt, 0);
  }
  printf("mp-runner %s (SQLite %s, %s)\n", zMp, sqlite3_libversion(),
         curl_version());
  sqlite3_free(zErr);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  return MP_EXIT_OK;
}

/*
** Returns the process's peak resident set size in KiB (VmHWM), or -1.
*/
static long mpRunPeakRssKb(void) {
  char zLine[128];
  long nKb = -1;
  FILE *f = fopen("/proc/self/status", "re");
  if (f == 0) return -1;
  while (fgets(zLine, sizeof(zLine), f)) {
    if (strncmp(zLine, "VmHWM:", 6) == 0) {
      nKb = strtol(zLine + 6, 0, 10);
      break;
    }
  }
  fclose(f);
  return nKb;
}

/*
** Opens everything the daemon needs, runs the loop and tears it down.
** Returns the exit code.
*/
static int mpRunDaemon(MpRunOpts *pOpt) {
  MpRun run;
  MpRun *r = &run;
  MpBuf url = { 0 };
  int iExit = MP_EXIT_OK;
  i64 nDone = 0;
  memset(r, 0, sizeof(*r));
  r->pOpt = pOpt;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    mpRunLog(MP_LOG_ERROR, "libcurl initialization failed");
    return MP_EXIT_ENV;
  }
  r->apQueue = calloc((size_t)pOpt->nBatch, sizeof(MpMsg *));
  r->nRepAlloc = pOpt->nBatch + 1;
  r->aRep = calloc((size_t)r->nRepAlloc, sizeof(MpReport));
  if (r->apQueue == 0 || r->aRep == 0 || mpHttpNew(pOpt, &r->pHttp) ||
      mpTiersNew(pOpt, &r->pTiers)) {
    iExit = MP_EXIT_ENV;
    goto daemon_done;
  }
  if (pOpt->zToken) {
    mpRunBufPrintf(&url, "%s/bot%s/sendMessage", pOpt->zApiUrl, pOpt->zToken);
    if (url.bOom) {
      iExit = MP_EXIT_ENV;
      goto daemon_done;
    }
    r->zTelegramUrl = url.z;
  }
  if (pOpt->zWatch && mpWatchOpen(pOpt->zWatch, &r->pWatch)) {
    iExit = MP_EXIT_ENV;
    goto daemon_done;
  }
  if (mpDbOpen(pOpt, 1, &r->pDb) != SQLITE_OK || mpDbInit(r->pDb)) {
    iExit = MP_EXIT_DB;
    goto daemon_done;
  }
  if (!mpDbHasModule(r->pDb, "mp_claim") ||
      !mpDbHasFunction(r->pDb, "mp_report")) {
    mpRunLog(MP_LOG_ERROR, "this build of mp lacks mp_claim or mp_report; "
                           "rebuild the extension");
    iExit = MP_EXIT_DB;
    goto daemon_done;
  }
  if (pOpt->zWatch && !mpDbHasFunction(r->pDb, "mp_enqueue_event")) {
    mpRunLog(MP_LOG_ERROR, "--watch needs mp_enqueue_event(), which this "
                           "build of mp lacks");
    iExit = MP_EXIT_DB;
    goto daemon_done;
  }
  if (pOpt->zWatch && !pOpt->bChat) {
    i64 iChat = 0;
    if (mpDbConfigInt(r->pDb, "chat_id", &iChat) != SQLITE_OK || iChat == 0) {
      mpRunLog(MP_LOG_ERROR, "--watch needs --chat-id N (or a chat_id set "
                             "with mp_config) for events without one");
      iExit = MP_EXIT_USAGE;
      goto daemon_done;
    }
  }
  {
    i64 nLease = pOpt->nLease;
    if (nLease == 0) mpDbConfigInt(r->pDb, "lease_seconds", &nLease);
    if (nLease > 0 && nLease * 1000 <= pOpt->nTimeoutMs) {
      mpRunLog(MP_LOG_WARN,
               "the lease (%lld s) is not longer than --timeout-ms (%ld): a "
               "slow answer may find its message taken back",
               (long long)nLease, pOpt->nTimeoutMs);
    }
  }
  r->bHasTick = mpDbHasFunction(r->pDb, "mp_tick");
  r->bHasNextDue = mpDbHasFunction(r->pDb, "mp_next_due");
  if (!r->bHasNextDue) {
    mpRunLog(MP_LOG_WARN, "mp_next_due() missing: polling every %d ms",
             pOpt->nPollMs);
  }
  if (mpDbRecover(r->pDb, pOpt->zWorker, &nDone) != SQLITE_OK) {
    iExit = MP_EXIT_DB;
    goto daemon_done;
  }
  mpRunLog(MP_LOG_INFO, "recovered %lld messages at start (worker %s)",
           (long long)nDone, pOpt->zWorker);
  {
    char zTiers[64] = "";
    for (int i = 0; i < pOpt->nTier; i++) {
      strcat(zTiers, i ? "," : "");
      strcat(zTiers, mpTierName(pOpt->aTier[i]));
    }
    mpRunLog(MP_LOG_INFO,
             "delivering from %s: tiers %s, concurrency %d, batch %d%s%s",
             pOpt->zDb, zTiers, pOpt->nConcurrency, pOpt->nBatch,
             pOpt->bOnce    ? ", once"
             : pOpt->bDrain ? ", until drained"
                            : "",
             pOpt->zWatch ? ", watching a directory" : "");
  }
  if (mpSignalsInstall()) {
    mpRunLog(MP_LOG_ERROR, "cannot install signal handlers: %s",
             strerror(errno));
    iExit = MP_EXIT_ENV;
    goto daemon_done;
  }
  r->iNextMaint = mpRunNowMs() + MP_MAINT_MS;
  mpRunLoop(r);
  mpRunFlush(r);
  mpRunRelease(r);
  if (r->eStop == MP_STOP_AUTH) iExit = MP_EXIT_STOP;
  if (r->eStop == MP_STOP_DB) iExit = MP_EXIT_DB;
  mpRunLog(MP_LOG_INFO,
           "exiting (code %d): %lld confirmed, %lld retry, %lld rate limited, "
           "%lld migrated, %lld in doubt, %lld failed; peak RSS %ld KiB",
           iExit, (long long)r->aOut[MP_OUT_CONFIRMED],
           (long long)r->aOut[MP_OUT_RETRY], (long long)r->aOut[MP_OUT_RATE],
           (long long)r->aOut[MP_OUT_MIGRATED],
           (long long)r->aOut[MP_OUT_INDOUBT],
           (long long)r->aOut[MP_OUT_FAILED], mpRunPeakRssKb());

daemon_done:
  if (r->apQueue) {
    for (int i = r->iHead; i < r->nQueue; i++)
      mpRunMsgFree(r->apQueue[i]);
  }
  free(r->apQueue);
  if (r->aRep && r->pHttp) mpRunFlush(r);
  free(r->aRep);
  mpRunBufFree(&r->body);
  mpHttpFree(r->pHttp);
  mpTiersFree(r->pTiers);
  mpWatchClose(r->pWatch);
  if (url.z) memset(url.z, 0, url.n);
  mpRunBufFree(&url);
  if (mpDbClose(r->pDb) != SQLITE_OK && iExit == MP_EXIT_OK) {
    iExit = MP_EXIT_DB;
  }
  curl_global_cleanup();
  return iExit;
}

/*
** Keeps glibc's malloc from handing the top of the heap back to the kernel
** after every transaction. Each mp_report or mp_claim allocates and frees
** some 150 KiB (SQLite's savepoint bookkeeping, curl's buffers); with the
** default dynamic thresholds glibc trims that with brk() each time, and
** on a VM every shrink costs a TLB shootdown on all CPUs, which took a
** quarter of the runner's time. A fixed 512 KiB trim threshold keeps at
** most that much free memory; blocks over 256 KiB still come from mmap.
*/
static void mpRunMallocTune(void) {
#ifdef M_TRIM_THRESHOLD
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024);
  mallopt(M_TOP_PAD, 64 * 1024);
#endif
}

/*
** Entry point: parse the command line, then run the daemon or the status
** command. Returns an MP_EXIT_* code.
*/
int main(int argc, char **argv) {
  MpRunOpts opt;
  int iExit, rc;
  i64 nLeak;
  memset(&opt, 0, sizeof(opt));
  opt.zApiUrl = "https://api.telegram.org";
  opt.aTier[0] = MP_TIER_TELEGRAM;
  opt.nTier = 1;
  opt.nConcurrency = 5;
  opt.nBatch = 20;
  opt.nPollMs = 1000;
  opt.nConnectTimeoutMs = 10000;
  opt.nTimeoutMs = 30000;
  opt.nBusyMs = 5000;
  /*
  ** SQLite's own defaults, not the seed's 64 MB cache and 256 MB mmap: the
  ** runner only reads the head of the queue, and a large cache or mapping
  ** fills with pages it never needs again, so its memory would grow with
  ** the database (see tools/runner/README.md, "Memory").
  */
  opt.nCacheMb = 2;
  opt.nMmapMb = 0;
  opt.nBreakerFailures = 3;
  opt.nBreakerCooldownS = 30;
  opt.nBreakerMaxS = 300;
  /* Files the runner creates (database, -wal, -shm, spool) are private. */
  umask(077);
  mpRunMallocTune();
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
  if (mpRunLogInit()) {
    fprintf(stderr, "mp-runner: MP_LOG must be error, warn, info or debug\n");
    return MP_EXIT_USAGE;
  }
  rc = mpRunParseArgs(argc, argv, &opt);
  if (rc == -1) return MP_EXIT_OK;
  if (rc == -2) return mpRunVersion();
  if (rc == 2) return MP_EXIT_USAGE;
  if (rc == 1) {
    iExit = mpStatusMain(&opt);
  } else {
    iExit = mpRunCheckOpts(&opt);
    if (iExit == MP_EXIT_OK) iExit = mpRunDaemon(&opt);
  }
  memset(mpToken, 0, sizeof(mpToken));
  nLeak = sqlite3_memory_used();
  if (nLeak != 0) {
    mpRunLog(MP_LOG_ERROR, "sqlite memory leak: %lld bytes still allocated",
             (long long)nLeak);
  }
  assert(nLeak == 0);
  return iExit;
}
