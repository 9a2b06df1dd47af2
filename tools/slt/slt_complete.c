/*
** SPDX-License-Identifier: MIT
**
** The --complete mode of mp-slt: rewrite the "----" block of each query in
** a top-level file from the actual output, and keep every other byte of
** the file as it was.
**
** A query that has a "----" line gets its expected lines replaced (comment
** lines between them go too; comments after the last expected line stay).
** A query without one gets "----" and the result inserted after its SQL,
** unless the result is empty. New lines use the line ending of the query's
** header line. The file is written only if its content changes.
*/
#include "slt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** Return the byte offset where line i of pFile starts, for 0 < i <=
** pFile->nLine; i == nLine gives the end of the data.
*/
static size_t sltLineStart(const SltFile *pFile, int i) {
  return pFile->aLine[i - 1].iNext;
}

/*
** Return the line ending of line i of pFile: "\r\n" or "\n".
*/
static const char *sltLineEnding(const SltFile *pFile, int i) {
  const SltLine *pLine = &pFile->aLine[i];
  size_t n = pLine->iNext - pLine->iOff;
  if (n >= 2 && pFile->zData[pLine->iNext - 2] == '\r' &&
      pFile->zData[pLine->iNext - 1] == '\n') {
    return "\r\n";
  }
  return "\n";
}

/*
** Append a patch that replaces bytes [iStart,iEnd) with zText to p. The
** list takes ownership of zText.
*/
static void sltPatchAdd(SltPatchList *p, size_t iStart, size_t iEnd,
                        char *zText) {
  if (p->n == p->nAlloc) {
    p->nAlloc = p->nAlloc ? p->nAlloc * 2 : 16;
    p->a = sltRealloc(p->a, sizeof(p->a[0]) * (size_t)p->nAlloc);
  }
  p->a[p->n].iStart = iStart;
  p->a[p->n].iEnd = iEnd;
  p->a[p->n].zText = zText;
  p->n++;
}

/*
** Queue in p the rewrite of the "----" block of query pRec so that it
** holds the lines pLines. Patches must be queued in file order.
*/
void sltPatchQuery(SltPatchList *p, const SltRecord *pRec,
                   const SltList *pLines) {
  const SltFile *pFile = pRec->pFile;
  const char *zEol = sltLineEnding(pFile, pRec->iLine);
  SltList out = { 0 };
  size_t iStart;
  size_t iEnd;
  char *zBody;
  int i;
  if (!pRec->bResult && pLines->n == 0) return;
  if (pRec->bResult) {
    iStart = sltLineStart(pFile, pRec->iResFirst);
    iEnd = sltLineStart(pFile, pRec->iResEnd);
  } else {
    iStart = iEnd = sltLineStart(pFile, pRec->iSqlEnd);
  }
  if (!pRec->bResult) sltListAppend(&out, sltStrdup("----"));
  for (i = 0; i < pLines->n; i++)
    sltListAppend(&out, sltStrdup(pLines->az[i]));
  zBody = sltListJoin(&out, 0, zEol);
  if (out.n == 0) {
    sltPatchAdd(p, iStart, iEnd, sltStrdup(""));
  } else if (iStart > 0 && pFile->zData[iStart - 1] != '\n') {
    /* The file ends without a newline right where the block starts. A
    ** final "\r" only lacks its "\n". */
    const char *zFirst = pFile->zData[iStart - 1] == '\r' ? "\n" : zEol;
    sltPatchAdd(p, iStart, iEnd, sltMprintf("%s%s%s", zFirst, zBody, zEol));
  } else {
    sltPatchAdd(p, iStart, iEnd, sltMprintf("%s%s", zBody, zEol));
  }
  free(zBody);
  sltListFree(&out);
}

/*
** Return a malloc'd copy of the data of pFile with the patches of p
** applied, and store its length in *pn.
*/
static char *sltPatchBuild(const SltFile *pFile, const SltPatchList *p,
                           size_t *pn) {
  size_t n = pFile->nData;
  size_t iIn = 0;
  size_t iOut = 0;
  char *zOut;
  int i;
  for (i = 0; i < p->n; i++)
    n += strlen(p->a[i].zText);
  zOut = sltMalloc(n + 1);
  for (i = 0; i < p->n; i++) {
    const SltPatch *pPatch = &p->a[i];
    size_t nText = strlen(pPatch->zText);
    memcpy(&zOut[iOut], &pFile->zData[iIn], pPatch->iStart - iIn);
    iOut += pPatch->iStart - iIn;
    memcpy(&zOut[iOut], pPatch->zText, nText);
    iOut += nText;
    iIn = pPatch->iEnd;
  }
  memcpy(&zOut[iOut], &pFile->zData[iIn], pFile->nData - iIn);
  iOut += pFile->nData - iIn;
  *pn = iOut;
  return zOut;
}

/*
** Write n bytes of z to file zPath, replacing its content. Returns 0, or
** 1 after printing an error.
*/
static int sltWriteFile(const char *zPath, const char *z, size_t n) {
  FILE *out = fopen(zPath, "wb");
  int bOk;
  if (!out) {
    fprintf(stderr, "mp-slt: cannot write %s: %s\n", zPath, strerror(errno));
    return 1;
  }
  bOk = fwrite(z, 1, n, out) == n;
  if (fclose(out) != 0) bOk = 0;
  if (!bOk) {
    fprintf(stderr, "mp-slt: cannot write %s: %s\n", zPath, strerror(errno));
    return 1;
  }
  return 0;
}

/*
** Apply the patches of p to pFile and write the file back in place if
** its content changes. Returns 0, or 1 if the file cannot be written.
*/
int sltPatchApply(const SltFile *pFile, SltPatchList *p) {
  size_t n;
  char *zNew;
  int rc = 0;
  if (p->n == 0) return 0;
  zNew = sltPatchBuild(pFile, p, &n);
  if (n != pFile->nData || memcmp(zNew, pFile->zData, n) != 0) {
    rc = sltWriteFile(pFile->zPath, zNew, n);
  }
  free(zNew);
  return rc;
}

/*
** Free the patches of p and reset it.
*/
void sltPatchFree(SltPatchList *p) {
  int i;
  for (i = 0; i < p->n; i++)
    free(p->a[i].zText);
  free(p->a);
  memset(p, 0, sizeof(*p));
}
