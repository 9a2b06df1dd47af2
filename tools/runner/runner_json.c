/*
** SPDX-License-Identifier: MIT
**
** runner_json.c: the growable buffer that request bodies and spool files
** are built in, JSON string escaping, and freeing a claimed message.
**
**   MpBuf b = { 0 };
**   mpRunBufPrintf(&b, "{\"chat_id\":%lld,\"text\":", (long long)iChat);
**   mpRunBufJsonString(&b, zText);
**   mpRunBufAppend(&b, "}", 1);
**   if (b.bOom) ...;
**   mpRunBufFree(&b);
**
** Allocation failures are sticky: after one, bOom is set and every later
** append does nothing, so a caller checks once at the end.
*/
#include "runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** Makes room for n more bytes plus a NUL. Returns 0, or -1 (and sets bOom)
** when memory runs out.
*/
static int mpRunBufReserve(MpBuf *p, size_t n) {
  size_t nNeed;
  char *zNew;
  if (p->bOom) return -1;
  nNeed = p->n + n + 1;
  if (nNeed <= p->nA) return 0;
  if (nNeed < 256) nNeed = 256;
  if (nNeed < p->nA * 2) nNeed = p->nA * 2;
  zNew = realloc(p->z, nNeed);
  if (zNew == 0) {
    p->bOom = 1;
    return -1;
  }
  p->z = zNew;
  p->nA = nNeed;
  return 0;
}

/*
** Appends n bytes of z.
*/
void mpRunBufAppend(MpBuf *p, const char *z, size_t n) {
  if (mpRunBufReserve(p, n)) return;
  memcpy(p->z + p->n, z, n);
  p->n += n;
  p->z[p->n] = 0;
}

/*
** Appends printf-style formatted text.
*/
void mpRunBufPrintf(MpBuf *p, const char *zFormat, ...) {
  va_list ap;
  int n;
  size_t nRoom = p->z && !p->bOom ? p->nA - p->n : 0;
  if (nRoom > 0) {
    /* Usually it fits in what is left: one vsnprintf. */
    va_start(ap, zFormat);
    n = vsnprintf(p->z + p->n, nRoom, zFormat, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < nRoom) {
      p->n += (size_t)n;
      return;
    }
    p->z[p->n] = 0;
  } else {
    va_start(ap, zFormat);
    n = vsnprintf(0, 0, zFormat, ap);
    va_end(ap);
  }
  if (n < 0 || mpRunBufReserve(p, (size_t)n)) return;
  va_start(ap, zFormat);
  vsnprintf(p->z + p->n, (size_t)n + 1, zFormat, ap);
  va_end(ap);
  p->n += (size_t)n;
}

/*
** Appends the decimal text of v.
*/
void mpRunBufInt(MpBuf *p, i64 v) {
  char zNum[24];
  int i = (int)sizeof(zNum);
  unsigned long long u =
      v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    zNum[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) zNum[--i] = '-';
  mpRunBufAppend(p, zNum + i, sizeof(zNum) - (size_t)i);
}

/*
** Appends the n bytes of z as a JSON string literal, quotes included.
** Quotes, backslashes and control characters (NUL included) are escaped;
** other bytes, UTF-8 included, are copied: the caller makes sure they are
** valid UTF-8 (the extension stores valid UTF-8 only).
*/
void mpRunBufJsonStringN(MpBuf *p, const char *z, size_t n) {
  static const char zHex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)z;
  size_t iStart = 0, i;
  if (mpRunBufReserve(p, n + 2)) return;
  p->z[p->n++] = '"';
  for (i = 0; i < n; i++) {
    char zEsc[7];
    size_t nEsc = 2;
    if (s[i] >= 0x20 && s[i] != '"' && s[i] != '\\') continue;
    mpRunBufAppend(p, z + iStart, i - iStart);
    zEsc[0] = '\\';
    switch (s[i]) {
      case '"': zEsc[1] = '"'; break;
      case '\\': zEsc[1] = '\\'; break;
      case '\n': zEsc[1] = 'n'; break;
      case '\r': zEsc[1] = 'r'; break;
      case '\t': zEsc[1] = 't'; break;
      default:
        memcpy(zEsc + 1, "u00", 3);
        zEsc[4] = zHex[s[i] >> 4];
        zEsc[5] = zHex[s[i] & 15];
        nEsc = 6;
        break;
    }
    mpRunBufAppend(p, zEsc, nEsc);
    iStart = i + 1;
  }
  mpRunBufAppend(p, z + iStart, i - iStart);
  mpRunBufAppend(p, "\"", 1);
}

/*
** Appends z as a JSON string literal (see mpRunBufJsonStringN()); NULL
** appends null.
*/
void mpRunBufJsonString(MpBuf *p, const char *z) {
  if (z == 0) {
    mpRunBufAppend(p, "null", 4);
    return;
  }
  mpRunBufJsonStringN(p, z, strlen(z));
}

/*
** Frees the buffer's memory and resets it to empty.
*/
void mpRunBufFree(MpBuf *p) {
  free(p->z);
  memset(p, 0, sizeof(*p));
}

/*
** Frees a claimed message; its strings share its allocation. p may be
** NULL.
*/
void mpRunMsgFree(MpMsg *p) {
  free(p);
}
