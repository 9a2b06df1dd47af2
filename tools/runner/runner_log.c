/*
** SPDX-License-Identifier: MIT
**
** runner_log.c: mp-runner's log, one line per event on stderr, and the
** scrubbing that keeps the bot token out of every string the runner shows
** or stores.
**
**   MP_LOG=debug build/mp-runner --db q.db ...
**   2024-05-01T12:00:00.123Z info  recovered 3 messages at start
**
** Levels: error, warn, info (the default), debug. Each line is a UTC
** timestamp with milliseconds, the level and the message; newlines inside
** a message are written as spaces, so one event stays one line.
**
** mpRunLogSecret() registers the token; mpRunScrub() then replaces it, and its
** URL-encoded forms, by "***" in place. mpRunLog() scrubs every line it
** writes, so even a curl error text that quotes the request URL cannot
** leak the token. The same scrubbing is applied by the HTTP layer to
** every error text and response body before it reaches mp_report().
*/
#include "runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MP_SECRET_FORMS 3   /* raw, ":" as %3A, ":" as %3a */
#define MP_SECRET_MAX   256 /* longest token accepted */
#define MP_LOG_LINE_MAX 2048

static int mpRunLogLevel = MP_LOG_INFO;
static char mpSecret[MP_SECRET_FORMS][MP_SECRET_MAX * 3 + 1];
static int mpSecretCount = 0;

/*
** Reads MP_LOG. Returns 0, or -1 (leaving the level at info) when its value
** is not one of error, warn, info, debug.
*/
int mpRunLogInit(void) {
  static const char *const azLevel[] = { "error", "warn", "info", "debug" };
  const char *z = getenv("MP_LOG");
  if (z == 0 || z[0] == 0) return 0;
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(z, azLevel[i]) == 0) {
      mpRunLogLevel = i;
      return 0;
    }
  }
  if (strcasecmp(z, "warning") == 0) {
    mpRunLogLevel = MP_LOG_WARN;
    return 0;
  }
  return -1;
}

/*
** Returns 1 when messages of level eLevel are written.
*/
int mpRunLogEnabled(int eLevel) {
  return eLevel <= mpRunLogLevel;
}

/*
** Registers the secret zSecret (the bot token) for scrubbing, with the
** forms a URL encoder may give it. A secret longer than MP_SECRET_MAX or
** shorter than 3 bytes is not registered (the caller refuses such tokens).
*/
void mpRunLogSecret(const char *zSecret) {
  size_t n = zSecret ? strlen(zSecret) : 0;
  if (n < 3 || n > MP_SECRET_MAX) return;
  memcpy(mpSecret[0], zSecret, n + 1);
  mpSecretCount = 1;
  if (strchr(zSecret, ':') != 0) {
    for (int k = 1; k < MP_SECRET_FORMS; k++) {
      char *zOut = mpSecret[k];
      for (const char *c = zSecret; *c; c++) {
        if (*c == ':') {
          memcpy(zOut, k == 1 ? "%3A" : "%3a", 3);
          zOut += 3;
        } else {
          *zOut++ = *c;
        }
      }
      *zOut = 0;
    }
    mpSecretCount = MP_SECRET_FORMS;
  }
}

/*
** Replaces every occurrence of the registered secret in z by "***", in
** place (the replacement is never longer than the secret). Returns the new
** length of z. z may be NULL.
*/
size_t mpRunScrub(char *z) {
  size_t n;
  if (z == 0) return 0;
  n = strlen(z);
  for (int k = 0; k < mpSecretCount; k++) {
    size_t nSecret = strlen(mpSecret[k]);
    char *zHit;
    char *zFrom = z;
    while ((zHit = strstr(zFrom, mpSecret[k])) != 0) {
      memcpy(zHit, "***", 3);
      memmove(zHit + 3, zHit + nSecret, n - (size_t)(zHit - z) - nSecret + 1);
      n -= nSecret - 3;
      zFrom = zHit + 3;
    }
  }
  return n;
}

/*
** Returns a monotonic clock in milliseconds, for durations and timers.
*/
i64 mpRunNowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (i64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
** Returns the wall clock in milliseconds since the Unix epoch.
*/
i64 mpRunWallMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (i64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
** Writes one log line at level eLevel, if enabled: timestamp, level,
** message. The line is scrubbed of the token and flattened to one line.
*/
void mpRunLog(int eLevel, const char *zFormat, ...) {
  static const char *const azName[] = { "error", "warn ", "info ", "debug" };
  char zLine[MP_LOG_LINE_MAX];
  char zTime[32];
  va_list ap;
  i64 iNow;
  time_t t;
  struct tm tm;
  if (!mpRunLogEnabled(eLevel)) return;
  va_start(ap, zFormat);
  vsnprintf(zLine, sizeof(zLine), zFormat, ap);
  va_end(ap);
  mpRunScrub(zLine);
  for (char *c = zLine; *c; c++) {
    if (*c == '\n' || *c == '\r') *c = ' ';
  }
  iNow = mpRunWallMs();
  t = (time_t)(iNow / 1000);
  gmtime_r(&t, &tm);
  strftime(zTime, sizeof(zTime), "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(stderr, "%s.%03dZ %s %s\n", zTime, (int)(iNow % 1000),
          azName[eLevel < 0   ? 0
                 : eLevel > 3 ? 3
                              : eLevel],
          zLine);
}
