/*
** SPDX-License-Identifier: MIT
**
** runner_http.c: concurrent HTTP POSTs with libcurl's multi interface,
** and the classification of each outcome into what mp_report() expects.
**
**   MpHttp *pHttp;
**   mpHttpNew(pOpt, &pHttp);
**   mpHttpStart(pHttp, zUrl, &body, 0, pMsg);  -- takes the body
**   while (mpHttpInFlight(pHttp)) {
**     mpHttpWait(pHttp, aFd, nFd, 1000, abReady);
**     while (mpHttpNext(pHttp, &res)) { ...; mpHttpResultFree(&res); }
**   }
**   mpHttpFree(pHttp);
**
** The status handed to mp_report():
**
**   > 0  the HTTP status of a complete answer; the body is the answer
**     0  the request never left: DNS, connect or TLS failure, or a timeout
**        before anything was sent; the body is curl's error text
**    -1  the request was (maybe) sent but no complete answer came back:
**        timeout after sending, reset, empty reply, truncated body
**
** A request is never re-sent by libcurl behind the runner's back: the
** body comes from a read callback that cannot rewind (see mpHttpSeek()).
** TLS peer and host verification are always on. The connect timeout and
** the total timeout are separate. Connections live in the multi handle
** and are reused across requests. Every response body and error text is
** scrubbed of the bot token before it leaves this file, since curl's error
** texts can quote the URL, which holds the token.
**
** mpHttpWait() doubles as the runner's sleep: with nothing in flight it
** waits on the extra descriptors (signal pipe, inotify) up to the timeout.
*/
#include "runner.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One request in flight. */
typedef struct MpReq MpReq;
struct MpReq {
  CURL *pEasy;                 /* the transfer */
  MpBuf body;                  /* request body, owned */
  size_t nRead;                /* bytes of body handed to libcurl */
  MpBuf resp;                  /* response body, at most MP_BODY_MAX */
  int bTruncated;              /* 1 when response bytes were dropped */
  struct curl_slist *pHeaders; /* this request's headers */
  char zErr[CURL_ERROR_SIZE];  /* curl's detailed error text */
  void *pArg;                  /* caller's pointer */
  i64 iStartMs;                /* monotonic start time */
  MpReq *pNext, *pPrev;        /* list of requests in flight */
};

struct MpHttp {
  CURLM *pMulti;         /* the multi handle and its connection cache */
  const MpRunOpts *pOpt; /* timeouts */
  int nInFlight;         /* transfers added and not yet reported */
  MpReq *pFirst;         /* requests in flight, for mpHttpFree() */
};

/*
** Creates the multi handle. curl_global_init() must have been called.
** Returns 0 and sets *ppHttp, or -1 after logging the error.
*/
int mpHttpNew(const MpRunOpts *pOpt, MpHttp **ppHttp) {
  MpHttp *p = calloc(1, sizeof(*p));
  *ppHttp = 0;
  if (p == 0) return -1;
  p->pOpt = pOpt;
  p->pMulti = curl_multi_init();
  if (p->pMulti == 0) {
    mpRunLog(MP_LOG_ERROR, "http: curl_multi_init failed");
    free(p);
    return -1;
  }
  curl_multi_setopt(p->pMulti, CURLMOPT_MAX_HOST_CONNECTIONS,
                    (long)pOpt->nConcurrency);
  curl_multi_setopt(p->pMulti, CURLMOPT_MAXCONNECTS,
                    (long)pOpt->nConcurrency * 2 + 2);
  *ppHttp = p;
  return 0;
}

/*
** libcurl write callback: keeps the first MP_BODY_MAX bytes of the answer
** and drops the rest (a Bot API answer is a few hundred bytes).
*/
static size_t mpHttpWrite(char *z, size_t nSize, size_t nMemb, void *pArg) {
  MpReq *pReq = pArg;
  size_t n = nSize * nMemb;
  size_t nRoom = MP_BODY_MAX - pReq->resp.n;
  if (n > nRoom) {
    pReq->bTruncated = 1;
    mpRunBufAppend(&pReq->resp, z, nRoom);
  } else {
    mpRunBufAppend(&pReq->resp, z, n);
  }
  return pReq->resp.bOom ? 0 : n;
}

/*
** libcurl read callback: hands out the request body.
*/
static size_t mpHttpRead(char *z, size_t nSize, size_t nMemb, void *pArg) {
  MpReq *pReq = pArg;
  size_t n = nSize * nMemb;
  if (n > pReq->body.n - pReq->nRead) n = pReq->body.n - pReq->nRead;
  memcpy(z, pReq->body.z + pReq->nRead, n);
  pReq->nRead += n;
  return n;
}

/*
** libcurl seek callback: refuses to rewind. libcurl silently re-sends a
** request whose reused connection died before any answer; for a request
** that was already (partly) written that would be a second delivery that
** nobody records. Refusing the rewind turns it into an error instead,
** reported as -1 (in doubt), so the extension knows.
*/
static int mpHttpSeek(void *pArg, curl_off_t iOffset, int eOrigin) {
  (void)pArg;
  (void)iOffset;
  (void)eOrigin;
  return CURL_SEEKFUNC_CANTSEEK;
}

/*
** Takes pReq off the list of requests in flight.
*/
static void mpReqUnlink(MpHttp *p, MpReq *pReq) {
  if (pReq->pPrev) pReq->pPrev->pNext = pReq->pNext;
  if (pReq->pNext) pReq->pNext->pPrev = pReq->pPrev;
  if (p->pFirst == pReq) p->pFirst = pReq->pNext;
  pReq->pNext = pReq->pPrev = 0;
}

/*
** Frees a request that is no longer in the multi handle.
*/
static void mpReqFree(MpReq *pReq) {
  if (pReq == 0) return;
  if (pReq->pEasy) curl_easy_cleanup(pReq->pEasy);
  curl_slist_free_all(pReq->pHeaders);
  mpRunBufFree(&pReq->body);
  mpRunBufFree(&pReq->resp);
  free(pReq);
}

/*
** Starts a JSON POST of *pBody to zUrl; the body is taken over (pBody is
** left empty). zIdempotencyKey, if not NULL, is sent as Idempotency-Key.
** pArg comes back in the result. Returns 0, or -1 after logging why the
** request could not be started (the caller then reports status 0).
*/
int mpHttpStart(MpHttp *p, const char *zUrl, MpBuf *pBody,
                const char *zIdempotencyKey, void *pArg) {
  const MpRunOpts *pOpt = p->pOpt;
  MpReq *pReq = calloc(1, sizeof(*pReq));
  CURL *e;
  CURLMcode mrc;
  if (pReq == 0) {
    mpRunBufFree(pBody);
    return -1;
  }
  pReq->body = *pBody;
  memset(pBody, 0, sizeof(*pBody));
  pReq->pArg = pArg;
  pReq->pHeaders =
      curl_slist_append(0, "Content-Type: application/json; charset=utf-8");
  if (pReq->pHeaders) {
    struct curl_slist *pNew = curl_slist_append(pReq->pHeaders, "Expect:");
    if (pNew) pReq->pHeaders = pNew;
  }
  if (zIdempotencyKey && strspn(zIdempotencyKey, "0123456789abcdefABCDEF-") !=
                             strlen(zIdempotencyKey)) {
    zIdempotencyKey = 0; /* Not an mp id (plain SQL): no header. */
  }
  if (zIdempotencyKey && pReq->pHeaders) {
    char zHeader[160];
    struct curl_slist *pNew;
    snprintf(zHeader, sizeof(zHeader), "Idempotency-Key: %s", zIdempotencyKey);
    pNew = curl_slist_append(pReq->pHeaders, zHeader);
    if (pNew) pReq->pHeaders = pNew;
  }
  e = pReq->pEasy = curl_easy_init();
  if (e == 0 || pReq->pHeaders == 0) {
    mpRunLog(MP_LOG_ERROR, "http: cannot create a request (out of memory)");
    mpReqFree(pReq);
    return -1;
  }
  curl_easy_setopt(e, CURLOPT_URL, zUrl);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, mpHttpRead);
  curl_easy_setopt(e, CURLOPT_READDATA, pReq);
  curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, mpHttpSeek);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pReq->body.n);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, pReq->pHeaders);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, pOpt->nConnectTimeoutMs);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, pOpt->nTimeoutMs);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "mp-runner");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pReq->zErr);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mpHttpWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, pReq);
  curl_easy_setopt(e, CURLOPT_PRIVATE, pReq);
  pReq->iStartMs = mpRunNowMs();
  mrc = curl_multi_add_handle(p->pMulti, e);
  if (mrc != CURLM_OK) {
    mpRunLog(MP_LOG_ERROR, "http: cannot start a request: %s",
             curl_multi_strerror(mrc));
    mpReqFree(pReq);
    return -1;
  }
  p->nInFlight++;
  pReq->pNext = p->pFirst;
  if (p->pFirst) p->pFirst->pPrev = pReq;
  p->pFirst = pReq;
  return 0;
}

/*
** Returns the number of requests started and not yet returned by
** mpHttpNext().
*/
int mpHttpInFlight(MpHttp *p) {
  return p->nInFlight;
}

/*
** Drives the transfers and waits up to nTimeoutMs for network activity or
** for one of the nFd extra descriptors (at most 4) to become readable;
** abReady[i] is set to 1 for each readable aFd[i]. With nothing in flight
** this is a plain sleep on the descriptors. Returns 0, or -1 on a libcurl
** error (logged).
*/
int mpHttpWait(MpHttp *p, int *aFd, int nFd, int nTimeoutMs, int *abReady) {
  struct curl_waitfd aWait[4];
  CURLMcode mrc;
  int nRunning = 0;
  if (nFd > 4) nFd = 4;
  for (int i = 0; i < nFd; i++) {
    aWait[i].fd = aFd[i];
    aWait[i].events = CURL_WAIT_POLLIN;
    aWait[i].revents = 0;
    abReady[i] = 0;
  }
  mrc = curl_multi_perform(p->pMulti, &nRunning);
  if (mrc == CURLM_OK && nRunning == p->nInFlight) {
    mrc = curl_multi_poll(p->pMulti, aWait, (unsigned)nFd,
                          nTimeoutMs < 0 ? 0 : nTimeoutMs, 0);
    if (mrc == CURLM_OK) mrc = curl_multi_perform(p->pMulti, &nRunning);
  }
  for (int i = 0; i < nFd; i++) {
    abReady[i] = (aWait[i].revents & (CURL_WAIT_POLLIN | POLLHUP)) != 0;
  }
  if (mrc != CURLM_OK) {
    mpRunLog(MP_LOG_ERROR, "http: %s", curl_multi_strerror(mrc));
    return -1;
  }
  return 0;
}

/*
** Returns 1 when curl code rc means the request never left this host, so
** it certainly did not reach the server.
*/
static int mpHttpNeverSent(CURLcode rc, CURL *e) {
  curl_off_t tPre = 0;
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_LOGIN_DENIED: return 1;
    case CURLE_OPERATION_TIMEDOUT:
      /* Timed out before the transfer phase: nothing was sent. */
      curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &tPre);
      return tPre == 0;
    default: return 0;
  }
}

/*
** Takes the next finished request, if any. Fills *pRes (the caller frees
** it with mpHttpResultFree()) and returns 1; returns 0 when no request has
** finished since the last call.
*/
int mpHttpNext(MpHttp *p, MpHttpResult *pRes) {
  CURLMsg *pMsg;
  int nLeft = 0;
  memset(pRes, 0, sizeof(*pRes));
  while ((pMsg = curl_multi_info_read(p->pMulti, &nLeft)) != 0) {
    MpReq *pReq = 0;
    CURLcode rc;
    long iCode = 0;
    if (pMsg->msg != CURLMSG_DONE) continue;
    rc = pMsg->data.result;
    curl_easy_getinfo(pMsg->easy_handle, CURLINFO_PRIVATE, (char **)&pReq);
    curl_multi_remove_handle(p->pMulti, pMsg->easy_handle);
    mpReqUnlink(p, pReq);
    p->nInFlight--;
    pRes->pArg = pReq->pArg;
    pRes->nDurationMs = mpRunNowMs() - pReq->iStartMs;
    if (rc == CURLE_OK) {
      curl_easy_getinfo(pReq->pEasy, CURLINFO_RESPONSE_CODE, &iCode);
      pRes->iStatus = iCode > 0 ? (int)iCode : -1;
      if (pReq->bTruncated) {
        mpRunLog(MP_LOG_WARN, "http: answer longer than %d bytes, cut",
                 MP_BODY_MAX);
      }
      if (pReq->resp.z == 0) mpRunBufAppend(&pReq->resp, "", 0);
      pRes->zBody = pReq->resp.z;
      memset(&pReq->resp, 0, sizeof(pReq->resp));
    } else {
      MpBuf err = { 0 };
      pRes->iStatus = mpHttpNeverSent(rc, pReq->pEasy) ? 0 : -1;
      mpRunBufPrintf(&err, "curl error %d: %s", (int)rc,
                     curl_easy_strerror(rc));
      if (pReq->zErr[0]) mpRunBufPrintf(&err, ": %s", pReq->zErr);
      pRes->zBody = err.z;
    }
    pRes->nBody = mpRunScrub(pRes->zBody);
    mpReqFree(pReq);
    if (pRes->zBody == 0) {
      /* Out of memory: report an empty body rather than lose the result. */
      pRes->nBody = 0;
    }
    return 1;
  }
  return 0;
}

/*
** Frees what mpHttpNext() put into *pRes.
*/
void mpHttpResultFree(MpHttpResult *pRes) {
  free(pRes->zBody);
  memset(pRes, 0, sizeof(*pRes));
}

/*
** Aborts whatever is still in flight and frees the multi handle. p may be
** NULL.
*/
void mpHttpFree(MpHttp *p) {
  MpHttpResult res;
  if (p == 0) return;
  while (mpHttpNext(p, &res))
    mpHttpResultFree(&res);
  while (p->pFirst) {
    MpReq *pReq = p->pFirst;
    mpReqUnlink(p, pReq);
    curl_multi_remove_handle(p->pMulti, pReq->pEasy);
    mpReqFree(pReq);
  }
  curl_multi_cleanup(p->pMulti);
  free(p);
}
