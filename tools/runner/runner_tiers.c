/*
** SPDX-License-Identifier: MIT
**
** runner_tiers.c: the delivery tiers, their failover order and circuit
** breakers, the request bodies, and the file spool.
**
**   mp-runner --tiers telegram,webhook,file --webhook-url URL \
**             --spool-dir DIR ...
**
** Tiers:
**
**   telegram  POST <api-url>/bot<TOKEN>/sendMessage with
**             {"chat_id":N,"text":"...","parse_mode":"HTML"}
**   webhook   POST --webhook-url with {"id","chat_id","text","parse_mode",
**             "event_data","priority","attempts","in_doubt"} and an
**             Idempotency-Key header (the message id); 2xx = accepted
**   file      one JSON file per message (the webhook body) in --spool-dir,
**             named <id>.json: written to a 0600 temp file, fsynced,
**             renamed, and the directory fsynced; reported as status 200,
**             or 0 with the error when it fails
**
** Every attempt goes through exactly one tier and one mp_report() call,
** which records the tier in tier_used.
**
** HOW IT WORKS
**
** Each tier has a breaker. A transport failure (status 0 or -1) or a 5xx
** counts against it, and for the webhook and file tiers any answer but
** 2xx or 429; any other answer resets the count. After
** --breaker-failures consecutive failures the tier is open: it is skipped
** for the cool-down, and the next enabled tier in order takes the
** attempts. When the cool-down ends the tier is tried again (half-open):
** one success closes it, one failure opens it again for twice as long, up
** to --breaker-max seconds. When every enabled tier is open, the runner
** claims nothing until the first cool-down ends.
*/
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A tier's circuit breaker. */
typedef struct MpBreaker MpBreaker;
struct MpBreaker {
  int nFail;       /* consecutive failures */
  i64 iOpenUntil;  /* monotonic ms: skipped until then */
  i64 nCooldownMs; /* next cool-down */
};

struct MpTiers {
  const MpRunOpts *pOpt;             /* tier order and breaker settings */
  MpBreaker aBreaker[MP_TIER_COUNT]; /* one per tier */
};

static const char *const azMpTier[MP_TIER_COUNT] = { "telegram", "webhook",
                                                     "file" };

/*
** Returns the name of tier eTier, as recorded in tier_used.
*/
const char *mpTierName(int eTier) {
  return eTier >= 0 && eTier < MP_TIER_COUNT ? azMpTier[eTier] : "unknown";
}

/*
** Parses a comma-separated tier list such as "telegram,file" into aTier
** (room for MP_TIER_COUNT) and *pnTier. Returns 0, or -1 for an unknown
** or repeated name or an empty list.
*/
int mpTierParseList(const char *zList, int *aTier, int *pnTier) {
  const char *z = zList;
  *pnTier = 0;
  while (*z) {
    size_t n = strcspn(z, ",");
    int eTier = -1;
    for (int i = 0; i < MP_TIER_COUNT; i++) {
      if (strlen(azMpTier[i]) == n && strncmp(z, azMpTier[i], n) == 0) {
        eTier = i;
      }
    }
    if (eTier < 0) return -1;
    for (int i = 0; i < *pnTier; i++) {
      if (aTier[i] == eTier) return -1;
    }
    aTier[(*pnTier)++] = eTier;
    z += n;
    if (*z == ',') z++;
  }
  return *pnTier > 0 ? 0 : -1;
}

/*
** Creates the tier state for pOpt. Returns 0 and sets *ppTiers, or -1.
*/
int mpTiersNew(const MpRunOpts *pOpt, MpTiers **ppTiers) {
  MpTiers *p = calloc(1, sizeof(*p));
  *ppTiers = p;
  if (p == 0) return -1;
  p->pOpt = pOpt;
  for (int i = 0; i < MP_TIER_COUNT; i++) {
    p->aBreaker[i].nCooldownMs = (i64)pOpt->nBreakerCooldownS * 1000;
  }
  return 0;
}

/*
** Returns the first enabled tier whose breaker lets attempts through at
** iNowMs. When every enabled tier is open, returns -1, or with bForce the
** tier whose cool-down ends first. *pbProbe (may be NULL) is set to 1 when
** the tier returned is half-open: its next attempt is a probe.
*/
int mpTiersPick(MpTiers *p, i64 iNowMs, int bForce, int *pbProbe) {
  int eBest = -1;
  for (int i = 0; i < p->pOpt->nTier; i++) {
    int eTier = p->pOpt->aTier[i];
    if (p->aBreaker[eTier].iOpenUntil <= iNowMs) {
      eBest = eTier;
      break;
    }
  }
  if (eBest < 0 && bForce) {
    for (int i = 0; i < p->pOpt->nTier; i++) {
      int eTier = p->pOpt->aTier[i];
      if (eBest < 0 ||
          p->aBreaker[eTier].iOpenUntil < p->aBreaker[eBest].iOpenUntil) {
        eBest = eTier;
      }
    }
  }
  if (pbProbe) {
    *pbProbe =
        eBest >= 0 && p->aBreaker[eBest].nFail >= p->pOpt->nBreakerFailures;
  }
  return eBest;
}

/*
** Returns the ms until the first open breaker lets attempts through again
** (0 when a tier is usable now).
*/
i64 mpTiersWaitMs(MpTiers *p, i64 iNowMs) {
  i64 nMin = -1;
  for (int i = 0; i < p->pOpt->nTier; i++) {
    i64 n = p->aBreaker[p->pOpt->aTier[i]].iOpenUntil - iNowMs;
    if (n < 0) n = 0;
    if (nMin < 0 || n < nMin) nMin = n;
  }
  return nMin < 0 ? 0 : nMin;
}

/*
** Feeds the outcome of one attempt on tier eTier to its breaker: iStatus
** is what was reported (0 and -1 are transport failures).
*/
void mpTiersResult(MpTiers *p, int eTier, int iStatus, i64 iNowMs) {
  MpBreaker *pB = &p->aBreaker[eTier];
  int nLimit = p->pOpt->nBreakerFailures;
  i64 nMaxMs = (i64)p->pOpt->nBreakerMaxS * 1000;
  /*
  ** Telegram's 4xx concern the message, so they prove the tier works; the
  ** webhook and the file spool accept with 2xx only (429: just slow).
  */
  int bOk = eTier == MP_TIER_TELEGRAM
                ? iStatus > 0 && iStatus < 500
                : (iStatus >= 200 && iStatus < 300) || iStatus == 429;
  if (bOk) {
    if (pB->nFail >= nLimit) {
      mpRunLog(MP_LOG_INFO, "tier %s: works again (HTTP %d); breaker closed",
               mpTierName(eTier), iStatus);
    }
    pB->nFail = 0;
    pB->nCooldownMs = (i64)p->pOpt->nBreakerCooldownS * 1000;
    return;
  }
  pB->nFail++;
  if (pB->nFail < nLimit || pB->iOpenUntil > iNowMs) return;
  /* Opens, or opens again after a failed half-open attempt. */
  pB->iOpenUntil = iNowMs + pB->nCooldownMs;
  mpRunLog(MP_LOG_WARN,
           "tier %s: %d consecutive failures (last: %s); skipped for %lld s",
           mpTierName(eTier), pB->nFail,
           iStatus == 0    ? "not sent"
           : iStatus == -1 ? "no answer"
                           : "an error status",
           (long long)(pB->nCooldownMs / 1000));
  pB->nCooldownMs *= 2;
  if (pB->nCooldownMs > nMaxMs) pB->nCooldownMs = nMaxMs;
}

/*
** Frees the tier state; p may be NULL.
*/
void mpTiersFree(MpTiers *p) {
  free(p);
}

/*
** Writes the Bot API sendMessage body of pMsg into pOut. Returns 0, or -1
** when memory runs out.
*/
int mpTelegramBody(const MpMsg *pMsg, MpBuf *pOut) {
  mpRunBufPrintf(pOut, "{\"chat_id\":%lld,\"text\":", (long long)pMsg->iChat);
  mpRunBufJsonString(pOut, pMsg->zText);
  if (pMsg->zParseMode) {
    mpRunBufAppend(pOut, ",\"parse_mode\":", 14);
    mpRunBufJsonString(pOut, pMsg->zParseMode);
  }
  mpRunBufAppend(pOut, "}", 1);
  return pOut->bOom ? -1 : 0;
}

/*
** Writes the webhook (and spool file) JSON of pMsg into pOut. Returns 0,
** or -1 when memory runs out.
*/
int mpWebhookBody(const MpMsg *pMsg, MpBuf *pOut) {
  mpRunBufAppend(pOut, "{\"id\":", 6);
  mpRunBufJsonString(pOut, pMsg->zId);
  mpRunBufPrintf(pOut, ",\"chat_id\":%lld,\"text\":", (long long)pMsg->iChat);
  mpRunBufJsonString(pOut, pMsg->zText);
  mpRunBufAppend(pOut, ",\"parse_mode\":", 14);
  mpRunBufJsonString(pOut, pMsg->zParseMode);
  mpRunBufAppend(pOut, ",\"event_data\":", 14);
  mpRunBufAppend(pOut, pMsg->zEvent, strlen(pMsg->zEvent));
  mpRunBufPrintf(pOut, ",\"priority\":%d,\"attempts\":%d,\"in_doubt\":%s}",
                 pMsg->iPriority, pMsg->nAttempt,
                 pMsg->bInDoubt ? "true" : "false");
  return pOut->bOom ? -1 : 0;
}

/*
** Writes all n bytes of z to fd. Returns 0, or -1 with errno set.
*/
static int mpWriteAll(int fd, const char *z, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, z, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    z += k;
    n -= (size_t)k;
  }
  return 0;
}

/*
** Writes pMsg atomically as zDir/<id>.json: a 0600 temp file, fsync,
** rename, fsync of the directory. A file left by an earlier attempt of the
** same message is replaced. On success sets pResult to a small JSON answer
** and returns 200; on failure sets it to the error text and returns 0.
*/
int mpSpoolWrite(const char *zDir, const MpMsg *pMsg, MpBuf *pResult) {
  char zName[160], zTmp[170];
  MpBuf body = { 0 };
  const char *zStep = "open directory";
  int fdDir, fd = -1, rc = -1;
  size_t i;
  for (i = 0; pMsg->zId[i] && i < 100; i++) {
    char c = pMsg->zId[i];
    int bSafe = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    zName[i] = bSafe ? c : '_';
  }
  snprintf(zName + i, sizeof(zName) - i, ".json");
  snprintf(zTmp, sizeof(zTmp), ".%.*s.tmp", (int)i, zName);
  if (mpWebhookBody(pMsg, &body)) {
    mpRunBufPrintf(pResult, "spool: out of memory");
    return 0;
  }
  mpRunBufAppend(&body, "\n", 1);
  fdDir = open(zDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fdDir >= 0) {
    zStep = "create";
    fd = openat(fdDir, zTmp,
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  }
  if (fd >= 0) {
    zStep = "write";
    if (fchmod(fd, 0600) == 0 && mpWriteAll(fd, body.z, body.n) == 0) {
      zStep = "fsync";
      if (fsync(fd) == 0) rc = 0;
    }
    if (close(fd) != 0 && rc == 0) rc = -1;
    if (rc == 0) {
      zStep = "rename";
      rc = renameat(fdDir, zTmp, fdDir, zName);
    }
    if (rc == 0) {
      zStep = "fsync directory";
      rc = fsync(fdDir);
    }
    if (rc != 0) {
      int e = errno;
      unlinkat(fdDir, zTmp, 0);
      errno = e;
    }
  }
  if (rc != 0) {
    mpRunBufPrintf(pResult, "spool: %s %s/%s: %s", zStep, zDir, zName,
                   strerror(errno));
  } else {
    mpRunBufPrintf(pResult, "{\"ok\":true,\"result\":{\"file\":\"%s\"}}",
                   zName);
  }
  if (fdDir >= 0) close(fdDir);
  mpRunBufFree(&body);
  return rc == 0 ? 200 : 0;
}
