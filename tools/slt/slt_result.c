/*
** SPDX-License-Identifier: MIT
**
** Query results of mp-slt after rendering: sorting, hashing, laying them
** out as lines, comparing them with the expected lines and printing them.
**
**   nosort     keeps the order of the rows
**   rowsort    sorts rows with strcmp(), column by column
**   valuesort  sorts all values individually; each value then forms its
**              own row, as in sqllogictest-rs
**
** With a hash threshold N > 0 and more than N values, the lines are the
** single line "<count> values hashing to <md5>", where the MD5 covers each
** sorted value followed by "\n".
*/
#include "slt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most lines shown for each side of a wrong result. */
#define SLT_MAX_SHOWN 40

/* One row of a result, for sorting. */
typedef struct SltRow SltRow;
struct SltRow {
  char **az; /* First value of the row */
  int nCol;  /* Values in the row */
};

/*
** qsort() comparison of two values (char* elements) by strcmp().
*/
static int sltCompareValue(const void *pA, const void *pB) {
  return strcmp(*(char *const *)pA, *(char *const *)pB);
}

/*
** qsort() comparison of two SltRow elements, column by column.
*/
static int sltCompareRow(const void *pA, const void *pB) {
  const SltRow *a = pA;
  const SltRow *b = pB;
  int i;
  for (i = 0; i < a->nCol; i++) {
    int c = strcmp(a->az[i], b->az[i]);
    if (c) return c;
  }
  return 0;
}

/*
** Sort the rows of p column by column with strcmp().
*/
static void sltSortRows(SltResult *p) {
  int nRow = p->value.n / p->nCol;
  SltRow *aRow = sltMalloc(sizeof(aRow[0]) * (size_t)nRow);
  char **azSorted = sltMalloc(sizeof(char *) * (size_t)p->value.n);
  int i;
  for (i = 0; i < nRow; i++) {
    aRow[i].az = &p->value.az[i * p->nCol];
    aRow[i].nCol = p->nCol;
  }
  qsort(aRow, (size_t)nRow, sizeof(aRow[0]), sltCompareRow);
  for (i = 0; i < nRow; i++) {
    memcpy(&azSorted[i * p->nCol], aRow[i].az,
           sizeof(char *) * (size_t)p->nCol);
  }
  memcpy(p->value.az, azSorted, sizeof(char *) * (size_t)p->value.n);
  free(azSorted);
  free(aRow);
}

/*
** Sort result p in place by sort mode eSort (one of SLT_SORT_NONE, _ROW
** or _VALUE). After valuesort every value is a row of its own.
*/
void sltResultSort(SltResult *p, int eSort) {
  if (p->value.n < 2 || p->nCol < 1) return;
  if (eSort == SLT_SORT_ROW) {
    sltSortRows(p);
  } else if (eSort == SLT_SORT_VALUE) {
    qsort(p->value.az, (size_t)p->value.n, sizeof(char *), sltCompareValue);
    p->nCol = 1;
  }
}

/*
** Write into zHex (33 bytes) the MD5 of every value of p, in order, each
** followed by "\n".
*/
void sltResultHash(const SltResult *p, char *zHex) {
  SltMd5 ctx;
  int i;
  sltMd5Init(&ctx);
  for (i = 0; i < p->value.n; i++) {
    sltMd5Update(&ctx, p->value.az[i], strlen(p->value.az[i]));
    sltMd5Update(&ctx, "\n", 1);
  }
  sltMd5Final(&ctx, zHex);
}

/*
** Append to pOut the lines that stand for result p: the hash line if p has
** more than nThreshold values (and nThreshold > 0), else one line per value
** (eMode SLT_MODE_VALUEWISE) or per row, values joined by a space
** (SLT_MODE_ROWWISE).
*/
void sltResultLines(const SltResult *p, int eMode, int nThreshold,
                    SltList *pOut) {
  int i;
  if (nThreshold > 0 && p->value.n > nThreshold) {
    char zHex[33];
    sltResultHash(p, zHex);
    sltListAppend(pOut,
                  sltMprintf("%d values hashing to %s", p->value.n, zHex));
  } else if (eMode == SLT_MODE_VALUEWISE) {
    for (i = 0; i < p->value.n; i++) {
      sltListAppend(pOut, sltStrdup(p->value.az[i]));
    }
  } else {
    /* The row list borrows the values of p, so it is never freed. */
    SltList row = { 0 };
    for (i = 0; i < p->value.n; i += p->nCol) {
      row.az = &p->value.az[i];
      row.n = p->nCol;
      sltListAppend(pOut, sltListJoin(&row, 0, " "));
    }
  }
}

/*
** Return true if line zA equals line zB: exactly, or after trimming and
** collapsing whitespace when bNormalize is true.
*/
static int sltLineEqual(const char *zA, const char *zB, int bNormalize) {
  char *zNormA;
  char *zNormB;
  int bEqual;
  if (!bNormalize) return strcmp(zA, zB) == 0;
  zNormA = sltNormalize(zA);
  zNormB = sltNormalize(zB);
  bEqual = strcmp(zNormA, zNormB) == 0;
  free(zNormA);
  free(zNormB);
  return bEqual;
}

/*
** Return true if the expected lines pExpect match the actual lines
** pActual, line by line, as decided by sltLineEqual().
*/
int sltLinesEqual(const SltList *pExpect, const SltList *pActual,
                  int bNormalize) {
  int i;
  if (pExpect->n != pActual->n) return 0;
  for (i = 0; i < pExpect->n; i++) {
    if (!sltLineEqual(pExpect->az[i], pActual->az[i], bNormalize)) return 0;
  }
  return 1;
}

/*
** Print "  <zTitle>:" and then the lines of p indented, at most
** SLT_MAX_SHOWN of them.
*/
void sltPrintLines(const char *zTitle, const SltList *p) {
  int i;
  printf("  %s:\n", zTitle);
  if (p->n == 0) printf("    (no lines)\n");
  for (i = 0; i < p->n && i < SLT_MAX_SHOWN; i++) {
    printf("    %s\n", p->az[i]);
  }
  if (p->n > SLT_MAX_SHOWN) {
    printf("    ... %d more lines\n", p->n - SLT_MAX_SHOWN);
  }
}
