/*
** SPDX-License-Identifier: MIT
**
** fast_botapi: a minimal, fast stand-in for the Telegram Bot API, for
** measuring mp-runner's throughput (tests/runner/throughput.py). The
** Python fake (fake_botapi.py) injects faults but tops out at a few
** thousand requests a second; this one only answers, as fast as it can.
**
** Usage:
**
**   fast_botapi [--port N] [--token T] [--seconds S] [--count N]
**               [--log FILE] [--delay-us N]
**   # stdout line 1: "PORT <n>"; at exit one JSON line of counters:
**   # {"messages":N,"requests":N,"errors":N,"connections":N,
**   #  "first_ms":T,"last_ms":T,"seconds":S,"cpu_s":S}
**
** It listens on 127.0.0.1 only (port 0 = any free port), speaks HTTP/1.1
** with keep-alive (and pipelining), and answers
**
**   POST /bot<token>/sendMessage  with a JSON body holding "chat_id":
**     200 {"ok":true,"result":{"message_id":N,"from":{...},
**          "chat":{"id":C,"type":...},"date":D}}
**     400 when the body has no chat_id, 401 for a token other than
**         --token (when given)
**   GET /stats                    the counters as JSON
**   anything else                 404 in the Bot API's shape
**
** message_id counts up per server, like Telegram's per chat. It exits after
** --seconds S (default: never), after --count N messages, or on SIGTERM or
** SIGINT, then prints the counters. --log FILE appends every delivered
** request body as one line (the runner's bodies are one-line JSON), for
** checking per-chat order afterwards. --delay-us N sleeps N microseconds
** before each answer (a crude server latency; it serializes everything).
**
** One thread, epoll, non-blocking sockets. Each connection buffers what it
** read until a whole request (headers and Content-Length body) is there,
** and what it could not write yet.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FB_REQ_MAX  (1024 * 1024) /* largest request accepted */
#define FB_MAX_EV   256           /* epoll events per wait */
#define FB_LISTENER ((FbConn *)0) /* epoll tag of the listening socket */

typedef struct FbBuf FbBuf;
struct FbBuf {
  char *z;   /* bytes */
  size_t n;  /* bytes used */
  size_t nA; /* bytes allocated */
};

typedef struct FbConn FbConn;
struct FbConn {
  int fd;       /* the socket */
  FbBuf in;     /* bytes read, not yet answered */
  FbBuf out;    /* answers not yet written */
  size_t iOut;  /* bytes of out already written */
  int bWantOut; /* EPOLLOUT is registered */
  int bClose;   /* close once out is written */
};

typedef struct FbServer FbServer;
struct FbServer {
  int epfd;           /* epoll instance */
  const char *zToken; /* the valid token, or NULL for any */
  FILE *pLog;         /* --log, or NULL */
  long nDelayUs;      /* --delay-us */
  long long nMessages, nRequests, nErrors, nConnections;
  long long iFirstMs, iLastMs; /* wall ms of the first and last message */
};

static volatile sig_atomic_t fbStop = 0;

static void fbOnSignal(int iSig) {
  (void)iSig;
  fbStop = 1;
}

static long long fbWallMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long fbMonoMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Makes room for n more bytes; exits on OOM (a test tool). */
static void fbReserve(FbBuf *p, size_t n) {
  if (p->n + n <= p->nA) return;
  size_t nNew = p->nA ? p->nA * 2 : 4096;
  while (nNew < p->n + n)
    nNew *= 2;
  p->z = realloc(p->z, nNew);
  if (p->z == 0) {
    fprintf(stderr, "fast_botapi: out of memory\n");
    exit(1);
  }
  p->nA = nNew;
}

static void fbAppend(FbBuf *p, const char *z, size_t n) {
  fbReserve(p, n);
  memcpy(p->z + p->n, z, n);
  p->n += n;
}

/* Queues an HTTP answer with a JSON body on pConn. */
static void fbAnswer(FbConn *pConn, int iCode, const char *zReason,
                     const char *zBody, size_t nBody) {
  char zHead[256];
  int n = snprintf(zHead, sizeof(zHead),
                   "HTTP/1.1 %d %s\r\nServer: fast_botapi\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n%s\r\n",
                   iCode, zReason, nBody,
                   pConn->bClose ? "Connection: close\r\n" : "");
  fbAppend(&pConn->out, zHead, (size_t)n);
  fbAppend(&pConn->out, zBody, nBody);
}

static void fbError(FbConn *pConn, int iCode, const char *zReason,
                    const char *zDescription) {
  char zBody[256];
  int n = snprintf(zBody, sizeof(zBody),
                   "{\"ok\":false,\"error_code\":%d,\"description\":\"%s\"}",
                   iCode, zDescription);
  fbAnswer(pConn, iCode, zReason, zBody, (size_t)n);
}

/* Finds chat_id in a JSON body: a number or a quoted number. */
static int fbChatId(const char *z, size_t n, long long *piChat) {
  static const char zKey[] = "\"chat_id\"";
  const char *zEnd = z + n;
  const char *p = memmem(z, n, zKey, sizeof(zKey) - 1);
  char zNum[32];
  size_t k = 0;
  if (p == 0) return 0;
  p += sizeof(zKey) - 1;
  while (p < zEnd && (*p == ' ' || *p == ':' || *p == '\t' || *p == '"'))
    p++;
  while (p < zEnd && k + 1 < sizeof(zNum) &&
         (*p == '-' || (*p >= '0' && *p <= '9')))
    zNum[k++] = *p++;
  zNum[k] = 0;
  if (k == 0 || (k == 1 && zNum[0] == '-')) return 0;
  *piChat = strtoll(zNum, 0, 10);
  return 1;
}

/* Returns the value of header zName (case-insensitive) in the header block
** [z, zEnd), or NULL; *pn is its length. */
static const char *fbHeader(const char *z, const char *zEnd, const char *zName,
                            size_t *pn) {
  size_t nName = strlen(zName);
  const char *p = memchr(z, '\n', (size_t)(zEnd - z)); /* skip request line */
  while (p && p + 1 < zEnd) {
    const char *zLine = p + 1;
    const char *zEol = memchr(zLine, '\n', (size_t)(zEnd - zLine));
    if (zEol == 0) zEol = zEnd;
    if ((size_t)(zEol - zLine) > nName && zLine[nName] == ':' &&
        strncasecmp(zLine, zName, nName) == 0) {
      const char *v = zLine + nName + 1;
      const char *e = zEol;
      while (v < e && (*v == ' ' || *v == '\t'))
        v++;
      while (e > v && (e[-1] == '\r' || e[-1] == ' '))
        e--;
      *pn = (size_t)(e - v);
      return v;
    }
    p = zEol < zEnd ? zEol : 0;
  }
  return 0;
}

/* Answers one complete request: zHead..zHeadEnd, body z[nBody]. */
static void fbHandle(FbServer *pSrv, FbConn *pConn, const char *zHead,
                     const char *zHeadEnd, const char *zBody, size_t nBody) {
  const char *zSp1 = memchr(zHead, ' ', (size_t)(zHeadEnd - zHead));
  const char *zSp2 =
      zSp1 ? memchr(zSp1 + 1, ' ', (size_t)(zHeadEnd - zSp1 - 1)) : 0;
  size_t nConn = 0;
  const char *zConn = fbHeader(zHead, zHeadEnd, "Connection", &nConn);
  pSrv->nRequests++;
  if (zConn && nConn == 5 && strncasecmp(zConn, "close", 5) == 0) {
    pConn->bClose = 1;
  }
  if (zSp1 == 0 || zSp2 == 0) {
    pConn->bClose = 1;
    pSrv->nErrors++;
    fbError(pConn, 400, "Bad Request", "Bad Request: malformed request");
    return;
  }
  {
    size_t nMethod = (size_t)(zSp1 - zHead);
    const char *zPath = zSp1 + 1;
    size_t nPath = (size_t)(zSp2 - zPath);
    if (nMethod == 3 && memcmp(zHead, "GET", 3) == 0 && nPath == 6 &&
        memcmp(zPath, "/stats", 6) == 0) {
      char zStats[256];
      int n = snprintf(zStats, sizeof(zStats),
                       "{\"messages\":%lld,\"requests\":%lld,\"errors\":%lld,"
                       "\"connections\":%lld}",
                       pSrv->nMessages, pSrv->nRequests, pSrv->nErrors,
                       pSrv->nConnections);
      fbAnswer(pConn, 200, "OK", zStats, (size_t)n);
      return;
    }
    if (nMethod == 4 && memcmp(zHead, "POST", 4) == 0 && nPath > 4 &&
        memcmp(zPath, "/bot", 4) == 0) {
      const char *zTok = zPath + 4;
      const char *zSlash = memchr(zTok, '/', nPath - 4);
      const char *zQuery = memchr(zPath, '?', nPath);
      size_t nMeth;
      long long iChat = 0;
      if (zQuery) nPath = (size_t)(zQuery - zPath);
      if (zSlash) {
        nMeth = nPath - (size_t)(zSlash + 1 - zPath);
        if (pSrv->zToken &&
            ((size_t)(zSlash - zTok) != strlen(pSrv->zToken) ||
             memcmp(zTok, pSrv->zToken, (size_t)(zSlash - zTok)) != 0)) {
          pSrv->nErrors++;
          fbError(pConn, 401, "Unauthorized", "Unauthorized");
          return;
        }
        if (nMeth == 11 && strncasecmp(zSlash + 1, "sendMessage", 11) == 0) {
          if (!fbChatId(zBody, nBody, &iChat)) {
            pSrv->nErrors++;
            fbError(pConn, 400, "Bad Request", "Bad Request: chat_id is empty");
            return;
          }
          {
            char zOut[512];
            long long iNow = fbWallMs();
            int n;
            pSrv->nMessages++;
            if (pSrv->iFirstMs == 0) pSrv->iFirstMs = iNow;
            pSrv->iLastMs = iNow;
            n = snprintf(zOut, sizeof(zOut),
                         "{\"ok\":true,\"result\":{\"message_id\":%lld,"
                         "\"from\":{\"id\":123456,\"is_bot\":true,"
                         "\"first_name\":\"mp test\",\"username\":"
                         "\"mp_test_bot\"},\"chat\":{\"id\":%lld,"
                         "\"type\":\"%s\"},\"date\":%lld}}",
                         pSrv->nMessages, iChat,
                         iChat > 0 ? "private" : "supergroup", iNow / 1000);
            if (pSrv->pLog) {
              fwrite(zBody, 1, nBody, pSrv->pLog);
              fputc('\n', pSrv->pLog);
            }
            if (pSrv->nDelayUs > 0) {
              struct timespec ts = { 0, pSrv->nDelayUs * 1000L };
              nanosleep(&ts, 0);
            }
            fbAnswer(pConn, 200, "OK", zOut, (size_t)n);
            return;
          }
        }
      }
    }
  }
  pSrv->nErrors++;
  fbError(pConn, 404, "Not Found", "Not Found");
}

/* Parses and answers every complete request in pConn->in. Returns 0, or
** -1 when the connection must be dropped (malformed or too large). */
static int fbProcess(FbServer *pSrv, FbConn *pConn) {
  size_t iAt = 0;
  while (!pConn->bClose) {
    const char *z = pConn->in.z + iAt;
    size_t n = pConn->in.n - iAt;
    const char *zEnd = n >= 4 ? memmem(z, n, "\r\n\r\n", 4) : 0;
    size_t nHead, nBody = 0, nLen = 0;
    const char *zLen;
    if (zEnd == 0) {
      if (n > FB_REQ_MAX) return -1;
      break;
    }
    nHead = (size_t)(zEnd - z) + 4;
    zLen = fbHeader(z, zEnd, "Content-Length", &nLen);
    if (zLen) {
      char zNum[24];
      if (nLen == 0 || nLen >= sizeof(zNum)) return -1;
      memcpy(zNum, zLen, nLen);
      zNum[nLen] = 0;
      nBody = (size_t)strtoull(zNum, 0, 10);
      if (nBody > FB_REQ_MAX) return -1;
    }
    if (n < nHead + nBody) break;
    fbHandle(pSrv, pConn, z, zEnd, z + nHead, nBody);
    iAt += nHead + nBody;
  }
  if (iAt > 0) {
    memmove(pConn->in.z, pConn->in.z + iAt, pConn->in.n - iAt);
    pConn->in.n -= iAt;
  }
  return 0;
}

static void fbClose(FbServer *pSrv, FbConn *pConn) {
  epoll_ctl(pSrv->epfd, EPOLL_CTL_DEL, pConn->fd, 0);
  close(pConn->fd);
  free(pConn->in.z);
  free(pConn->out.z);
  free(pConn);
}

/* Writes what it can of pConn->out. Returns 0, or -1 to drop pConn. */
static int fbFlush(FbServer *pSrv, FbConn *pConn) {
  while (pConn->iOut < pConn->out.n) {
    ssize_t n = send(pConn->fd, pConn->out.z + pConn->iOut,
                     pConn->out.n - pConn->iOut, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -1;
    }
    pConn->iOut += (size_t)n;
  }
  if (pConn->iOut == pConn->out.n) {
    pConn->out.n = pConn->iOut = 0;
    if (pConn->bClose) return -1;
  }
  {
    int bWant = pConn->out.n > 0;
    if (bWant != pConn->bWantOut) {
      struct epoll_event ev;
      ev.events = EPOLLIN | (bWant ? EPOLLOUT : 0);
      ev.data.ptr = pConn;
      epoll_ctl(pSrv->epfd, EPOLL_CTL_MOD, pConn->fd, &ev);
      pConn->bWantOut = bWant;
    }
  }
  return 0;
}

/* Reads what is there, answers whole requests. Returns 0 or -1 (drop). */
static int fbRead(FbServer *pSrv, FbConn *pConn) {
  for (;;) {
    ssize_t n;
    fbReserve(&pConn->in, 16384);
    n = recv(pConn->fd, pConn->in.z + pConn->in.n, pConn->in.nA - pConn->in.n,
             0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -1;
    }
    if (n == 0) return -1;
    pConn->in.n += (size_t)n;
    if ((size_t)n < 16384) break;
  }
  if (fbProcess(pSrv, pConn)) return -1;
  return fbFlush(pSrv, pConn);
}

static void fbAccept(FbServer *pSrv, int lfd) {
  for (;;) {
    int fd = accept4(lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int one = 1;
    struct epoll_event ev;
    FbConn *pConn;
    if (fd < 0) return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    pConn = calloc(1, sizeof(*pConn));
    if (pConn == 0) {
      close(fd);
      return;
    }
    pConn->fd = fd;
    ev.events = EPOLLIN;
    ev.data.ptr = pConn;
    if (epoll_ctl(pSrv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      free(pConn);
      continue;
    }
    pSrv->nConnections++;
  }
}

static void fbUsage(void) {
  fprintf(stderr, "usage: fast_botapi [--port N] [--token T] [--seconds S] "
                  "[--count N] [--log FILE] [--delay-us N]\n");
}

int main(int argc, char **argv) {
  FbServer srv;
  struct sockaddr_in addr;
  socklen_t nAddr = sizeof(addr);
  struct sigaction sa;
  struct epoll_event ev, aEv[FB_MAX_EV];
  int lfd, one = 1, iPort = 0;
  double rSeconds = 0;
  long long nCount = 0, iStart, iDeadline = 0;
  memset(&srv, 0, sizeof(srv));
  for (int i = 1; i < argc; i++) {
    const char *zArg = argv[i];
    const char *zVal = i + 1 < argc ? argv[i + 1] : 0;
    if (zVal == 0) {
      fbUsage();
      return 2;
    }
    if (strcmp(zArg, "--port") == 0) {
      iPort = atoi(zVal);
    } else if (strcmp(zArg, "--token") == 0) {
      srv.zToken = zVal;
    } else if (strcmp(zArg, "--seconds") == 0) {
      rSeconds = atof(zVal);
    } else if (strcmp(zArg, "--count") == 0) {
      nCount = atoll(zVal);
    } else if (strcmp(zArg, "--delay-us") == 0) {
      srv.nDelayUs = atol(zVal);
    } else if (strcmp(zArg, "--log") == 0) {
      srv.pLog = fopen(zVal, "a");
      if (srv.pLog == 0) {
        perror(zVal);
        return 2;
      }
    } else {
      fbUsage();
      return 2;
    }
    i++;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = fbOnSignal;
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  signal(SIGPIPE, SIG_IGN);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) {
    perror("socket");
    return 1;
  }
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)iPort);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      listen(lfd, 1024) != 0 ||
      getsockname(lfd, (struct sockaddr *)&addr, &nAddr) != 0) {
    perror("bind/listen");
    return 1;
  }
  srv.epfd = epoll_create1(EPOLL_CLOEXEC);
  ev.events = EPOLLIN;
  ev.data.ptr = FB_LISTENER;
  epoll_ctl(srv.epfd, EPOLL_CTL_ADD, lfd, &ev);
  printf("PORT %d\n", ntohs(addr.sin_port));
  fflush(stdout);
  iStart = fbMonoMs();
  if (rSeconds > 0) iDeadline = iStart + (long long)(rSeconds * 1000);
  while (!fbStop && (nCount == 0 || srv.nMessages < nCount)) {
    int nWait = 1000, n;
    if (iDeadline) {
      long long iLeft = iDeadline - fbMonoMs();
      if (iLeft <= 0) break;
      if (iLeft < nWait) nWait = (int)iLeft;
    }
    n = epoll_wait(srv.epfd, aEv, FB_MAX_EV, nWait);
    for (int i = 0; i < n; i++) {
      FbConn *pConn = aEv[i].data.ptr;
      int rc = 0;
      if (pConn == FB_LISTENER) {
        fbAccept(&srv, lfd);
        continue;
      }
      if (aEv[i].events & (EPOLLERR | EPOLLHUP)) {
        rc = -1;
      } else {
        if (aEv[i].events & EPOLLIN) rc = fbRead(&srv, pConn);
        if (rc == 0 && (aEv[i].events & EPOLLOUT)) rc = fbFlush(&srv, pConn);
      }
      if (rc) fbClose(&srv, pConn);
    }
  }
  if (srv.pLog) fclose(srv.pLog);
  {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"messages\":%lld,\"requests\":%lld,\"errors\":%lld,"
           "\"connections\":%lld,\"first_ms\":%lld,\"last_ms\":%lld,"
           "\"seconds\":%.3f,\"cpu_s\":%.3f}\n",
           srv.nMessages, srv.nRequests, srv.nErrors, srv.nConnections,
           srv.iFirstMs, srv.iLastMs, (double)(fbMonoMs() - iStart) / 1000.0,
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  }
  fflush(stdout);
  return 0;
}
