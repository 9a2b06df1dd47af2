/*
** SPDX-License-Identifier: MIT
**
** runner_http.c: concurrent HTTP POSTs with libcurl's multi interface,
** and the classification of each outcome into what mp_report() expects.
**
**   MpHttp *pHttp;
**   mpHttpNew(pOpt, &pHttp);
**   mpHttpStart(pHttp, zUrl, &body, 0, pMsg);  -- swaps the body buffer
**   while (mpHttpInFlight(pHttp)) {
**     mpHttpWait(pHttp, aFd, nFd, 1000, abReady);
**     while (mpHttpNext(pHttp, &res)) { ...; mpHttpResultFree(pHttp, &res); }
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
** The duration handed to mp_report() runs from when the request actually
** went out (after DNS, connect and TLS: curl's "pretransfer" time) to when
** the answer was complete, so the extension's pacing, which counts the
** chat's next send from (report time - duration), starts from the send.
**
** A request is never re-sent by libcurl behind the runner's back. libcurl
** silently sends a request again on a fresh connection when a reused
** keep-alive connection died before any answer; that would be a second
** delivery that nobody records if the server had read the first one. A
** pre-request callback (mpHttpPrereq) refuses every send of a transfer
** but its first, which turns that retry into an error reported as -1 (in
** doubt). With libcurl before 7.80, which lacks the callback, the body
** comes from a read callback that refuses to rewind instead, at the cost
** of a second send() per request.
** TLS peer and host verification are always on. The connect timeout and
** the total timeout are separate. Every response body and error text is
** scrubbed of the bot token before it leaves this file, since curl's error
** texts can quote the URL, which holds the token.
**
** HOW IT WORKS
**
** libcurl's socket interface drives the transfers: curl tells us which
** sockets to watch (mpHttpSocket), the sockets live in one epoll set, and
** curl_multi_socket_action() runs only the transfer whose socket is ready,
** without polling all of them; curl_multi_timeout() says when curl's own
** timers are due (see mpHttpTimeouts).
** Requests are pooled: each keeps its easy handle, its buffers and its
** options between messages, and the multi handle keeps the connections
** alive, so a steady stream of messages allocates almost nothing and
** opens no new connections. The extra descriptors of mpHttpWait() (the
** signal pipe, inotify) sit in the same epoll set, so it doubles as the
** runner's sleep.
*/
#include "runner.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MP_HTTP_EXTRA_FD  4            /* extra descriptors in mpHttpWait */
#define MP_HTTP_EXTRA_TAG (1ull << 40) /* epoll tag of an extra descriptor */
#define MP_HTTP_EVENTS    64           /* epoll events per wait */
#define MP_HTTP_KEEP_BUF  16384        /* larger buffers are freed after use */

/* One request: in flight, finished and not yet released, or pooled. */
typedef struct MpReq MpReq;
struct MpReq {
  CURL *pEasy;                 /* the transfer, reused */
  MpBuf body;                  /* request body */
  size_t nRead;                /* bytes of body handed to libcurl */
  int nSends;                  /* times the request went out (prereq) */
  CURLcode eResult;            /* the transfer's result, once finished */
  MpBuf resp;                  /* response body, at most MP_BODY_MAX */
  MpBuf err;                   /* error text of a failed transfer */
  int bTruncated;              /* 1 when response bytes were dropped */
  struct curl_slist *pHeaders; /* this request's own headers, or NULL */
  char zErr[CURL_ERROR_SIZE];  /* curl's detailed error text */
  void *pArg;                  /* caller's pointer */
  MpReq *pNext, *pPrev;        /* in-flight list; finished or pool: pNext */
};

struct MpHttp {
  CURLM *pMulti;                /* multi handle and connection cache */
  const MpRunOpts *pOpt;        /* timeouts */
  int epfd;                     /* epoll: curl's sockets and extra fds */
  int nInFlight;                /* started, not yet returned by Next */
  MpReq *pDone, *pDoneLast;     /* finished, not yet taken by Next */
  MpReq *pFirst;                /* requests in flight */
  MpReq *pPool;                 /* idle requests */
  struct curl_slist *pJson;     /* the shared JSON request headers */
  int aExtra[MP_HTTP_EXTRA_FD]; /* extra descriptors in the epoll set */
  int nExtra;                   /* entries of aExtra */
};

/*
** libcurl socket callback: mirrors what curl wants to watch into the
** epoll set. socketp is non-NULL once the socket is in the set.
*/
static int mpHttpSocket(CURL *e, curl_socket_t s, int what, void *pUser,
                        void *pSock) {
  MpHttp *p = pUser;
  struct epoll_event ev;
  (void)e;
  if (what == CURL_POLL_REMOVE) {
    if (pSock) {
      epoll_ctl(p->epfd, EPOLL_CTL_DEL, s, 0);
      curl_multi_assign(p->pMulti, s, 0);
    }
    return 0;
  }
  memset(&ev, 0, sizeof(ev));
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
              ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
  ev.data.u64 = (uint64_t)(unsigned)s;
  if (pSock) {
    if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
      epoll_ctl(p->epfd, EPOLL_CTL_ADD, s, &ev);
    }
  } else {
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
      epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev);
    }
    curl_multi_assign(p->pMulti, s, p);
  }
  return 0;
}

/*
** Creates the multi handle. curl_global_init() must have been called.
** Returns 0 and sets *ppHttp, or -1 after logging the error.
*/
int mpHttpNew(const MpRunOpts *pOpt, MpHttp **ppHttp) {
  MpHttp *p = calloc(1, sizeof(*p));
  struct curl_slist *pNew;
  *ppHttp = 0;
  if (p == 0) return -1;
  p->pOpt = pOpt;
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  p->pMulti = curl_multi_init();
  p->pJson =
      curl_slist_append(0, "Content-Type: application/json; charset=utf-8");
  pNew = p->pJson ? curl_slist_append(p->pJson, "Expect:") : 0;
  if (pNew) p->pJson = pNew;
  if (p->pMulti == 0 || p->epfd < 0 || pNew == 0) {
    mpRunLog(MP_LOG_ERROR, "http: cannot set up libcurl (%s)",
             p->epfd < 0 ? strerror(errno) : "out of memory");
    mpHttpFree(p);
    return -1;
  }
  curl_multi_setopt(p->pMulti, CURLMOPT_SOCKETFUNCTION, mpHttpSocket);
  curl_multi_setopt(p->pMulti, CURLMOPT_SOCKETDATA, p);
  /*
  ** No per-host limit is needed: the runner never has more than
  ** --concurrency requests in flight, so never more connections in use.
  ** The cache keeps the idle ones alive for reuse.
  */
  curl_multi_setopt(p->pMulti, CURLMOPT_MAXCONNECTS,
                    (long)pOpt->nConcurrency + 4);
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

#if LIBCURL_VERSION_NUM >= 0x075000
# define MP_HTTP_PREREQ 1
/*
** libcurl pre-request callback: called on the connection each time the
** transfer's request is about to go out. Only the first time is allowed;
** a second call is libcurl retrying on a fresh connection after the reused
** one died, and the first send may have reached the server.
*/
static int mpHttpPrereq(void *pArg, char *zConnIp, char *zLocalIp,
                        int iConnPort, int iLocalPort) {
  MpReq *pReq = pArg;
  (void)zConnIp;
  (void)zLocalIp;
  (void)iConnPort;
  (void)iLocalPort;
  return pReq->nSends++ == 0 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}
#else
# define MP_HTTP_PREREQ 0
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
** libcurl seek callback: refuses to rewind, so that a retry on a fresh
** connection fails instead of sending the request a second time.
*/
static int mpHttpSeek(void *pArg, curl_off_t iOffset, int eOrigin) {
  (void)pArg;
  (void)iOffset;
  (void)eOrigin;
  return CURL_SEEKFUNC_CANTSEEK;
}
#endif

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
  mpRunBufFree(&pReq->err);
  free(pReq);
}

/*
** Empties a buffer for reuse; one that grew large is given back.
*/
static void mpReqBufReset(MpBuf *pBuf) {
  if (pBuf->nA > MP_HTTP_KEEP_BUF || pBuf->bOom) {
    mpRunBufFree(pBuf);
  } else {
    pBuf->n = 0;
    if (pBuf->z) pBuf->z[0] = 0;
  }
}

/*
** Returns a pooled request, or a new one with the options that never
** change set on its easy handle. Returns NULL on OOM.
*/
static MpReq *mpReqGet(MpHttp *p) {
  const MpRunOpts *pOpt = p->pOpt;
  MpReq *pReq = p->pPool;
  CURL *e;
  if (pReq) {
    p->pPool = pReq->pNext;
    pReq->pNext = 0;
    return pReq;
  }
  pReq = calloc(1, sizeof(*pReq));
  if (pReq == 0) return 0;
  e = pReq->pEasy = curl_easy_init();
  if (e == 0) {
    free(pReq);
    return 0;
  }
  curl_easy_setopt(e, CURLOPT_POST, 1L);
#if MP_HTTP_PREREQ
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, mpHttpPrereq);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, pReq);
#else
  curl_easy_setopt(e, CURLOPT_READFUNCTION, mpHttpRead);
  curl_easy_setopt(e, CURLOPT_READDATA, pReq);
  curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, mpHttpSeek);
#endif
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, pOpt->nConnectTimeoutMs);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, pOpt->nTimeoutMs);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  /*
  ** No CURLOPT_PIPEWAIT: it makes a new transfer wait for a busy
  ** connection (in case it could multiplex) instead of taking an idle
  ** one, which only serializes HTTP/1.1 requests.
  */
  curl_easy_setopt(e, CURLOPT_USERAGENT, "mp-runner");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pReq->zErr);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mpHttpWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, pReq);
  curl_easy_setopt(e, CURLOPT_PRIVATE, pReq);
  /* Small buffers: answers are a few hundred bytes (longer ones are read
  ** in several pieces), and the upload buffer has curl's minimum size. */
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
#if LIBCURL_VERSION_NUM >= 0x073e00
  curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
#endif
  return pReq;
}

/*
** Puts a finished request back into the pool.
*/
static void mpReqPut(MpHttp *p, MpReq *pReq) {
  mpReqBufReset(&pReq->body);
  mpReqBufReset(&pReq->resp);
  mpReqBufReset(&pReq->err);
  if (pReq->pHeaders) {
    curl_slist_free_all(pReq->pHeaders);
    pReq->pHeaders = 0;
  }
  pReq->pArg = 0;
  pReq->pNext = p->pPool;
  p->pPool = pReq;
}

/*
** Starts a JSON POST of *pBody to zUrl. The body's bytes are taken: *pBody
** is swapped with an empty buffer of the request pool, which the caller
** may reuse for the next body. zIdempotencyKey, if not NULL, is sent as
** Idempotency-Key. pArg comes back in the result. Returns 0, or -1 after
** logging why the request could not be started (the caller then reports
** status 0).
*/
int mpHttpStart(MpHttp *p, const char *zUrl, MpBuf *pBody,
                const char *zIdempotencyKey, void *pArg) {
  MpReq *pReq = mpReqGet(p);
  CURL *e;
  CURLMcode mrc;
  MpBuf tmp;
  if (pReq == 0) {
    mpRunLog(MP_LOG_ERROR, "http: cannot create a request (out of memory)");
    return -1;
  }
  tmp = pReq->body;
  pReq->body = *pBody;
  *pBody = tmp;
  pReq->nRead = 0;
  pReq->nSends = 0;
  pReq->bTruncated = 0;
  pReq->zErr[0] = 0;
  pReq->pArg = pArg;
  e = pReq->pEasy;
  if (zIdempotencyKey && strspn(zIdempotencyKey, "0123456789abcdefABCDEF-") !=
                             strlen(zIdempotencyKey)) {
    zIdempotencyKey = 0; /* Not an mp id (plain SQL): no header. */
  }
  if (zIdempotencyKey) {
    char zHeader[160];
    struct curl_slist *pList = 0, *pNew = 0;
    snprintf(zHeader, sizeof(zHeader), "Idempotency-Key: %s", zIdempotencyKey);
    for (struct curl_slist *q = p->pJson; q; q = q->next) {
      pNew = curl_slist_append(pList, q->data);
      if (pNew == 0) break;
      pList = pNew;
    }
    if (pNew) pNew = curl_slist_append(pList, zHeader);
    if (pNew == 0) {
      curl_slist_free_all(pList);
      mpRunLog(MP_LOG_ERROR, "http: cannot create a request (out of memory)");
      mpReqPut(p, pReq);
      return -1;
    }
    pReq->pHeaders = pNew;
  }
  curl_easy_setopt(e, CURLOPT_URL, zUrl);
#if MP_HTTP_PREREQ
  /* Not copied: the body stays in pReq until the transfer is done. With
  ** no "Expect: 100-continue", curl sends it with the headers at once. */
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, pReq->body.z);
#endif
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pReq->body.n);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                   pReq->pHeaders ? pReq->pHeaders : p->pJson);
  mrc = curl_multi_add_handle(p->pMulti, e);
  if (mrc != CURLM_OK) {
    mpRunLog(MP_LOG_ERROR, "http: cannot start a request: %s",
             curl_multi_strerror(mrc));
    mpReqPut(p, pReq);
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
** Puts the nFd extra descriptors into the epoll set (once: the runner
** passes the same ones every time). Returns 0, or -1 on an epoll error.
*/
static int mpHttpExtra(MpHttp *p, const int *aFd, int nFd) {
  int bSame = nFd == p->nExtra;
  for (int i = 0; bSame && i < nFd; i++)
    bSame = aFd[i] == p->aExtra[i];
  if (bSame) return 0;
  for (int i = 0; i < p->nExtra; i++)
    epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->aExtra[i], 0);
  p->nExtra = 0;
  for (int i = 0; i < nFd; i++) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = MP_HTTP_EXTRA_TAG | (uint64_t)i;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, aFd[i], &ev) != 0) return -1;
    p->aExtra[p->nExtra++] = aFd[i];
  }
  return 0;
}

/*
** Runs curl's timers that are due (transfers just added, timeouts) and
** sets *pnMs to the ms until the next one, or -1 when there is none. It
** asks curl_multi_timeout() each time rather than keeping the value of a
** timer callback, which curl calls only when the time changes. Returns a
** CURLMcode.
*/
static CURLMcode mpHttpTimeouts(MpHttp *p, long *pnMs) {
  CURLMcode mrc = CURLM_OK;
  long nMs = -1;
  for (int i = 0; i < 8 && mrc == CURLM_OK; i++) {
    int nRunning = 0;
    mrc = curl_multi_timeout(p->pMulti, &nMs);
    if (mrc != CURLM_OK || nMs != 0) break;
    mrc =
        curl_multi_socket_action(p->pMulti, CURL_SOCKET_TIMEOUT, 0, &nRunning);
  }
  *pnMs = nMs;
  return mrc;
}

/*
** Moves every transfer that curl reports as finished from the in-flight
** list to the list of finished requests, in order, with its result code.
*/
static void mpHttpTakeDone(MpHttp *p) {
  CURLMsg *pMsg;
  int nLeft = 0;
  while ((pMsg = curl_multi_info_read(p->pMulti, &nLeft)) != 0) {
    MpReq *pReq = 0;
    if (pMsg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(pMsg->easy_handle, CURLINFO_PRIVATE, (char **)&pReq);
    pReq->eResult = pMsg->data.result; /* pMsg dies with the removal */
    curl_multi_remove_handle(p->pMulti, pMsg->easy_handle);
    mpReqUnlink(p, pReq);
    if (p->pDoneLast) {
      p->pDoneLast->pNext = pReq;
    } else {
      p->pDone = pReq;
    }
    p->pDoneLast = pReq;
  }
}

/*
** Drives the transfers and waits up to nTimeoutMs for network activity or
** for one of the nFd extra descriptors (at most 4) to become readable;
** abReady[i] is set to 1 for each readable aFd[i]. It returns early when
** curl has work to do (new requests to start, a timeout). With nothing in
** flight this is a plain sleep on the descriptors. Returns 0, or -1 on a
** libcurl or epoll error (logged).
*/
int mpHttpWait(MpHttp *p, int *aFd, int nFd, int nTimeoutMs, int *abReady) {
  struct epoll_event aEv[MP_HTTP_EVENTS];
  CURLMcode mrc;
  long nMs = -1;
  int n, nWait = nTimeoutMs < 0 ? 0 : nTimeoutMs;
  if (nFd > MP_HTTP_EXTRA_FD) nFd = MP_HTTP_EXTRA_FD;
  for (int i = 0; i < nFd; i++)
    abReady[i] = 0;
  if (mpHttpExtra(p, aFd, nFd)) {
    mpRunLog(MP_LOG_ERROR, "http: epoll: %s", strerror(errno));
    return -1;
  }
  /* Start what was added since the last call (curl asks for a 0 ms timer). */
  mrc = mpHttpTimeouts(p, &nMs);
  if (nMs >= 0 && nMs < nWait) nWait = (int)nMs;
  /*
  ** A fast server can answer while curl is still starting the request, so
  ** a transfer may be finished already, with no socket left to wake us:
  ** then collect it at once instead of sleeping.
  */
  mpHttpTakeDone(p);
  if (p->pDone) nWait = 0;
  n = mrc == CURLM_OK ? epoll_wait(p->epfd, aEv, MP_HTTP_EVENTS, nWait) : 0;
  if (n < 0 && errno != EINTR) {
    mpRunLog(MP_LOG_ERROR, "http: epoll_wait: %s", strerror(errno));
    return -1;
  }
  for (int i = 0; i < n && mrc == CURLM_OK; i++) {
    uint64_t u = aEv[i].data.u64;
    if (u & MP_HTTP_EXTRA_TAG) {
      int k = (int)(u & 0xff);
      if (k < nFd) abReady[k] = 1;
    } else {
      int nRunning = 0, eMask = 0;
      if (aEv[i].events & EPOLLIN) eMask |= CURL_CSELECT_IN;
      if (aEv[i].events & EPOLLOUT) eMask |= CURL_CSELECT_OUT;
      if (aEv[i].events & (EPOLLERR | EPOLLHUP)) eMask |= CURL_CSELECT_ERR;
      mrc = curl_multi_socket_action(p->pMulti, (curl_socket_t)u, eMask,
                                     &nRunning);
    }
  }
  if (mrc == CURLM_OK) mrc = mpHttpTimeouts(p, &nMs);
  mpHttpTakeDone(p);
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
** Returns the ms from when the request went out (curl's pretransfer time:
** after DNS, connect and TLS) to the end of the transfer, rounded.
*/
static i64 mpHttpDuration(CURL *e) {
  curl_off_t tPre = 0, tTotal = 0;
  curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &tPre);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &tTotal);
  if (tTotal < tPre) tTotal = tPre;
  return (i64)((tTotal - tPre + 500) / 1000);
}

/*
** Takes the next finished request, if any. Fills *pRes, whose body stays
** valid until mpHttpResultFree(p, pRes), and returns 1; returns 0 when no
** request has finished since the last call.
*/
int mpHttpNext(MpHttp *p, MpHttpResult *pRes) {
  MpReq *pReq;
  MpBuf *pOut;
  CURLcode rc;
  long iCode = 0;
  memset(pRes, 0, sizeof(*pRes));
  mpHttpTakeDone(p);
  pReq = p->pDone;
  if (pReq == 0) return 0;
  p->pDone = pReq->pNext;
  if (p->pDone == 0) p->pDoneLast = 0;
  pReq->pNext = 0;
  p->nInFlight--;
  rc = pReq->eResult;
  pRes->pArg = pReq->pArg;
  pRes->pReq = pReq;
  pRes->nDurationMs = mpHttpDuration(pReq->pEasy);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(pReq->pEasy, CURLINFO_RESPONSE_CODE, &iCode);
    pRes->iStatus = iCode > 0 ? (int)iCode : -1;
    if (pReq->bTruncated) {
      mpRunLog(MP_LOG_WARN, "http: answer longer than %d bytes, cut",
               MP_BODY_MAX);
    }
    pOut = &pReq->resp;
    if (pOut->z == 0) mpRunBufAppend(pOut, "", 0);
  } else {
    pRes->iStatus = mpHttpNeverSent(rc, pReq->pEasy) ? 0 : -1;
    pOut = &pReq->err;
    mpRunBufPrintf(pOut, "curl error %d: %s", (int)rc, curl_easy_strerror(rc));
    if (pReq->zErr[0]) mpRunBufPrintf(pOut, ": %s", pReq->zErr);
  }
  pRes->zBody = pOut->bOom ? 0 : pOut->z;
  pRes->nBody = mpRunScrub(pRes->zBody);
  if (pRes->zBody == 0) {
    /* Out of memory: report an empty body rather than lose the result. */
    pRes->zBody = (char *)"";
    pRes->nBody = 0;
  }
  return 1;
}

/*
** Releases what mpHttpNext() put into *pRes: its request goes back to the
** pool.
*/
void mpHttpResultFree(MpHttp *p, MpHttpResult *pRes) {
  if (pRes->pReq) mpReqPut(p, pRes->pReq);
  memset(pRes, 0, sizeof(*pRes));
}

/*
** Aborts whatever is still in flight and frees the multi handle. p may be
** NULL. Results taken with mpHttpNext() must have been released.
*/
void mpHttpFree(MpHttp *p) {
  MpHttpResult res;
  if (p == 0) return;
  if (p->pMulti) {
    while (mpHttpNext(p, &res))
      mpHttpResultFree(p, &res);
  }
  while (p->pFirst) {
    MpReq *pReq = p->pFirst;
    mpReqUnlink(p, pReq);
    curl_multi_remove_handle(p->pMulti, pReq->pEasy);
    mpReqFree(pReq);
  }
  while (p->pPool) {
    MpReq *pReq = p->pPool;
    p->pPool = pReq->pNext;
    mpReqFree(pReq);
  }
  if (p->pMulti) curl_multi_cleanup(p->pMulti);
  curl_slist_free_all(p->pJson);
  if (p->epfd >= 0) close(p->epfd);
  free(p);
}
