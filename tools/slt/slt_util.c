/*
** SPDX-License-Identifier: MIT
**
** Small helpers of mp-slt: allocation that exits on failure, owned string
** lists, whitespace tokens, trimming and reading whole files.
**
** The runner is a short-lived command line tool, so running out of memory
** prints "mp-slt: out of memory" and exits with status 1 instead of being
** threaded through every caller.
*/
#include "slt.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** Report that memory ran out and end the process with status 1.
*/
static void sltOom(void) {
  fprintf(stderr, "mp-slt: out of memory\n");
  exit(1);
}

/*
** Return a new allocation of n bytes, zeroed. Never returns NULL. The
** caller owns the memory and releases it with free().
*/
void *sltMalloc(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (!p) sltOom();
  return p;
}

/*
** Resize allocation p to n bytes, like realloc(). Never returns NULL.
*/
void *sltRealloc(void *p, size_t n) {
  void *pNew = realloc(p, n ? n : 1);
  if (!pNew) sltOom();
  return pNew;
}

/*
** Return a malloc'd copy of the first n bytes of z, NUL-terminated.
*/
char *sltStrndup(const char *z, size_t n) {
  char *zNew = sltMalloc(n + 1);
  memcpy(zNew, z, n);
  zNew[n] = 0;
  return zNew;
}

/*
** Return a malloc'd copy of string z.
*/
char *sltStrdup(const char *z) {
  return sltStrndup(z, strlen(z));
}

/*
** Return a malloc'd string formatted as by printf(). A NULL zFmt gives
** "" (the check also keeps GCC 12 with -fsanitize=undefined from warning
** about a null format string).
*/
char *sltMprintf(const char *zFmt, ...) {
  va_list ap;
  int n;
  char *z;
  if (!zFmt) return sltStrdup("");
  va_start(ap, zFmt);
  n = vsnprintf(NULL, 0, zFmt, ap);
  va_end(ap);
  if (n < 0) sltOom();
  z = sltMalloc((size_t)n + 1);
  va_start(ap, zFmt);
  vsnprintf(z, (size_t)n + 1, zFmt, ap);
  va_end(ap);
  return z;
}

/*
** Append string z to list p. The list takes ownership of z.
*/
void sltListAppend(SltList *p, char *z) {
  if (p->n == p->nAlloc) {
    p->nAlloc = p->nAlloc ? p->nAlloc * 2 : 8;
    p->az = sltRealloc(p->az, sizeof(p->az[0]) * (size_t)p->nAlloc);
  }
  p->az[p->n++] = z;
}

/*
** Free every string of list p and reset it to the empty list.
*/
void sltListFree(SltList *p) {
  int i;
  for (i = 0; i < p->n; i++)
    free(p->az[i]);
  free(p->az);
  memset(p, 0, sizeof(*p));
}

/*
** Return a malloc'd string holding entries iFirst and later of list p,
** separated by zSep. The result is "" if there are no such entries.
*/
char *sltListJoin(const SltList *p, int iFirst, const char *zSep) {
  size_t nSep = strlen(zSep);
  size_t n = 1;
  size_t iOut = 0;
  char *z;
  int i;
  for (i = iFirst; i < p->n; i++)
    n += strlen(p->az[i]) + nSep;
  z = sltMalloc(n);
  for (i = iFirst; i < p->n; i++) {
    size_t nEntry = strlen(p->az[i]);
    if (i > iFirst) {
      memcpy(&z[iOut], zSep, nSep);
      iOut += nSep;
    }
    memcpy(&z[iOut], p->az[i], nEntry);
    iOut += nEntry;
  }
  z[iOut] = 0;
  return z;
}

/*
** Split z on whitespace and append each token to list p.
*/
void sltTokenize(const char *z, SltList *p) {
  while (*z) {
    const char *zStart;
    while (isspace((unsigned char)*z))
      z++;
    if (!*z) break;
    zStart = z;
    while (*z && !isspace((unsigned char)*z))
      z++;
    sltListAppend(p, sltStrndup(zStart, (size_t)(z - zStart)));
  }
}

/*
** Return a malloc'd copy of z without leading and trailing whitespace.
*/
char *sltTrim(const char *z) {
  size_t n;
  while (isspace((unsigned char)*z))
    z++;
  n = strlen(z);
  while (n > 0 && isspace((unsigned char)z[n - 1]))
    n--;
  return sltStrndup(z, n);
}

/*
** Return a malloc'd copy of z, trimmed, with every run of whitespace
** replaced by a single space. This is how rowwise results are compared.
*/
char *sltNormalize(const char *z) {
  char *zOut = sltMalloc(strlen(z) + 1);
  size_t n = 0;
  int bSpace = 0;
  for (; *z; z++) {
    if (isspace((unsigned char)*z)) {
      bSpace = 1;
      continue;
    }
    if (bSpace && n > 0) zOut[n++] = ' ';
    bSpace = 0;
    zOut[n++] = *z;
  }
  zOut[n] = 0;
  return zOut;
}

/*
** Read the whole file zPath. On success store a malloc'd, NUL-terminated
** buffer in *pzData, its length without the NUL in *pnData, and return 0.
** On failure return -1 with errno set and store nothing.
*/
int sltReadFile(const char *zPath, char **pzData, size_t *pnData) {
  FILE *in = fopen(zPath, "rb");
  char *zData = NULL;
  size_t nData = 0;
  size_t nAlloc = 0;
  if (!in) return -1;
  for (;;) {
    size_t nGot;
    if (nAlloc - nData < 4096) {
      nAlloc = nAlloc ? nAlloc * 2 : 8192;
      zData = sltRealloc(zData, nAlloc + 1);
    }
    nGot = fread(&zData[nData], 1, nAlloc - nData, in);
    nData += nGot;
    if (nGot == 0) break;
  }
  if (ferror(in)) {
    fclose(in);
    free(zData);
    return -1;
  }
  fclose(in);
  zData[nData] = 0;
  *pzData = zData;
  *pnData = nData;
  return 0;
}
