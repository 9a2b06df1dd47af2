/*
** SPDX-License-Identifier: MIT
**
** Runs the records of a parsed script (SltScript) against a database and
** reports each failure as "file:line: message":
**
**   statement error: <sqlite3_errmsg>    SQL failed that should succeed
**   expected error not raised            SQL succeeded that should fail
**   wrong error message: ...             the error did not match
**   wrong number of result columns: ...  types differ from the columns
**   wrong result                         followed by expected and actual
**
** Values are rendered by the query's declared column type, as in the
** classic slt_sqlite.c: NULL as "NULL", I as "%lld", R as "%.3f", and T as
** the text with "(empty)" for the empty string and "@" for every byte
** below 0x20 or above 0x7E.
**
** With --complete, queries of the top-level file are not compared;
** their "----" blocks are rewritten from the actual output instead.
*/
#include "slt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outcomes of sltExecQuery(). */
#define SLT_QUERY_OK     0 /* Rows collected */
#define SLT_QUERY_ERROR  1 /* SQL error; the message is returned */
#define SLT_QUERY_NCOL   2 /* Column count differs from the types */
#define SLT_QUERY_SINGLE 3 /* More than one SQL statement */

/* The hash of the first query that used a label. */
typedef struct SltLabel SltLabel;
struct SltLabel {
  const SltRecord *pRec; /* First query with the label */
  char zHex[33];         /* MD5 of its values */
};

/* State of the run of one script. */
typedef struct SltRunner SltRunner;
struct SltRunner {
  sqlite3 *db;            /* Database the SQL runs in */
  const SltOptions *pOpt; /* Command line options */
  SltScript *pScript;     /* Script being run */
  int eSort;              /* Default sort mode ("control sortmode") */
  int eMode;              /* Result layout ("control resultmode") */
  int nThreshold;         /* Hash threshold; 0 turns hashing off */
  int nErr;               /* Errors so far */
  int nCmd;               /* Statements and queries run */
  int nSkip;              /* Statements and queries skipped */
  SltLabel *aLabel;       /* Labels seen so far */
  int nLabel;             /* Number of entries in aLabel[] */
  SltPatchList patch;     /* --complete rewrites of the top-level file */
};

/*
** Print "file:line: <message>" for record pRec and count an error.
*/
static void sltFail(SltRunner *r, const SltRecord *pRec, const char *zFmt,
                    ...) {
  va_list ap;
  printf("%s:%d: ", pRec->pFile->zPath, pRec->iLine + 1);
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  printf("\n");
  r->nErr++;
}

/*
** Return a malloc'd copy of the current error message of db.
*/
static char *sltErrmsg(sqlite3 *db) {
  return sltStrdup(sqlite3_errmsg(db));
}

/*
** Run every SQL statement of zSql in turn, looping over the tail left by
** sqlite3_prepare_v2() and discarding rows. Returns SQLITE_OK, or the
** error code of the first failure with a malloc'd copy of its message in
** *pzErr.
*/
static int sltExecAll(sqlite3 *db, const char *zSql, char **pzErr) {
  while (zSql && zSql[0]) {
    sqlite3_stmt *pStmt = NULL;
    int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, &zSql);
    if (rc != SQLITE_OK) {
      *pzErr = sltErrmsg(db);
      return rc;
    }
    if (!pStmt) continue;
    while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      *pzErr = sltErrmsg(db);
      sqlite3_finalize(pStmt);
      return rc;
    }
    sqlite3_finalize(pStmt);
  }
  return SQLITE_OK;
}

/*
** Return a malloc'd rendering of text column iCol of pStmt: "(empty)"
** for the empty string, and "@" in place of each byte below 0x20 or above
** 0x7E.
*/
static char *sltRenderText(sqlite3_stmt *pStmt, int iCol) {
  const unsigned char *z = sqlite3_column_text(pStmt, iCol);
  int n = sqlite3_column_bytes(pStmt, iCol);
  char *zOut;
  int i;
  if (!z || n == 0) return sltStrdup("(empty)");
  zOut = sltMalloc((size_t)n + 1);
  for (i = 0; i < n; i++) {
    zOut[i] = (z[i] < 0x20 || z[i] > 0x7e) ? '@' : (char)z[i];
  }
  return zOut;
}

/*
** Return a malloc'd rendering of column iCol of pStmt for declared type
** cType ('I', 'R' or 'T').
*/
static char *sltRenderValue(sqlite3_stmt *pStmt, int iCol, char cType) {
  if (sqlite3_column_type(pStmt, iCol) == SQLITE_NULL) {
    return sltStrdup("NULL");
  }
  switch (cType) {
    case 'I':
      return sltMprintf("%lld", (long long)sqlite3_column_int64(pStmt, iCol));
    case 'R': return sltMprintf("%.3f", sqlite3_column_double(pStmt, iCol));
    default: return sltRenderText(pStmt, iCol);
  }
}

/*
** Return true if zTail holds another SQL statement (or something that
** does not prepare), false if it is only whitespace, comments and
** semicolons.
*/
static int sltTailHasSql(sqlite3 *db, const char *zTail) {
  while (zTail && zTail[0]) {
    sqlite3_stmt *pStmt = NULL;
    int rc = sqlite3_prepare_v2(db, zTail, -1, &pStmt, &zTail);
    if (rc != SQLITE_OK || pStmt) {
      sqlite3_finalize(pStmt);
      return 1;
    }
  }
  return 0;
}

/*
** Step through pStmt and append the rendered values of every row to
** pRes. Returns SQLITE_DONE, or an error code from sqlite3_step().
*/
static int sltCollectRows(sqlite3_stmt *pStmt, const char *zTypes,
                          SltResult *pRes) {
  int rc;
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    int i;
    for (i = 0; i < pRes->nCol; i++) {
      sltListAppend(&pRes->value, sltRenderValue(pStmt, i, zTypes[i]));
    }
  }
  return rc;
}

/*
** Run the single SQL statement of query pRec and collect its rendered
** values into pRes. Returns one of the SLT_QUERY_* codes. For
** SLT_QUERY_ERROR a malloc'd message is stored in *pzErr; for
** SLT_QUERY_NCOL the actual column count is stored in *pnCol.
*/
static int sltExecQuery(sqlite3 *db, const SltRecord *pRec, SltResult *pRes,
                        char **pzErr, int *pnCol) {
  sqlite3_stmt *pStmt = NULL;
  const char *zTail = NULL;
  int rc = sqlite3_prepare_v2(db, pRec->zSql, -1, &pStmt, &zTail);
  if (rc != SQLITE_OK) {
    *pzErr = sltErrmsg(db);
    return SLT_QUERY_ERROR;
  }
  *pnCol = pStmt ? sqlite3_column_count(pStmt) : 0;
  if (*pnCol != (int)strlen(pRec->zTypes)) {
    sqlite3_finalize(pStmt);
    return SLT_QUERY_NCOL;
  }
  pRes->nCol = *pnCol;
  rc = sltCollectRows(pStmt, pRec->zTypes, pRes);
  if (rc != SQLITE_DONE) {
    *pzErr = sltErrmsg(db);
    sqlite3_finalize(pStmt);
    return SLT_QUERY_ERROR;
  }
  sqlite3_finalize(pStmt);
  return sltTailHasSql(db, zTail) ? SLT_QUERY_SINGLE : SLT_QUERY_OK;
}

/*
** Check the outcome of SQL that record pRec expects to fail: rc is the
** result code and zErr the message. Reports any mismatch.
*/
static void sltCheckError(SltRunner *r, const SltRecord *pRec, int rc,
                          const char *zErr) {
  if (rc == SQLITE_OK) {
    sltFail(r, pRec, "expected error not raised");
  } else if (pRec->bErrRe && regexec(&pRec->re, zErr, 0, NULL, 0) != 0) {
    sltFail(r, pRec, "wrong error message: \"%s\" does not match /%s/", zErr,
            pRec->zErrRe);
  } else if (pRec->zErrText) {
    char *zTrim = sltTrim(zErr);
    if (strcmp(zTrim, pRec->zErrText) != 0) {
      sltFail(r, pRec, "wrong error message: expected \"%s\", got \"%s\"",
              pRec->zErrText, zTrim);
    }
    free(zTrim);
  }
}

/*
** Run statement record pRec (or a "query error" record), which either must
** succeed or must fail as described by the record.
*/
static void sltRunStatement(SltRunner *r, const SltRecord *pRec) {
  char *zErr = NULL;
  int rc = sltExecAll(r->db, pRec->zSql, &zErr);
  if (pRec->bError) {
    sltCheckError(r, pRec, rc, zErr);
  } else if (rc != SQLITE_OK) {
    sltFail(r, pRec, "statement error: %s", zErr);
  }
  free(zErr);
}

/*
** Check that query pRec, whose values hash to zHex, agrees with the first
** query that used the same label. The first use records the hash.
*/
static void sltCheckLabel(SltRunner *r, const SltRecord *pRec,
                          const char *zHex) {
  SltLabel *pLabel;
  int i;
  for (i = 0; i < r->nLabel; i++) {
    pLabel = &r->aLabel[i];
    if (strcmp(pLabel->pRec->zLabel, pRec->zLabel) != 0) continue;
    if (strcmp(pLabel->zHex, zHex) != 0) {
      sltFail(r, pRec,
              "wrong result: label '%s' hashes to %s, but to %s at %s:%d",
              pRec->zLabel, zHex, pLabel->zHex, pLabel->pRec->pFile->zPath,
              pLabel->pRec->iLine + 1);
    }
    return;
  }
  r->aLabel = sltRealloc(r->aLabel, sizeof(r->aLabel[0]) * (size_t)(i + 1));
  pLabel = &r->aLabel[r->nLabel++];
  pLabel->pRec = pRec;
  memcpy(pLabel->zHex, zHex, sizeof(pLabel->zHex));
}

/*
** Compare the actual lines of query pRec with its expected lines, or,
** with --complete and pRec in the top-level file, queue a rewrite of its
** "----" block instead.
*/
static void sltCheckResult(SltRunner *r, const SltRecord *pRec,
                           const SltList *pActual) {
  if (r->pOpt->bComplete && pRec->pFile == r->pScript->pFiles) {
    sltPatchQuery(&r->patch, pRec, pActual);
  } else if (!sltLinesEqual(&pRec->expect, pActual,
                            r->eMode == SLT_MODE_ROWWISE)) {
    sltFail(r, pRec, "wrong result");
    sltPrintLines("expected", &pRec->expect);
    sltPrintLines("actual", pActual);
  }
}

/*
** Run query record pRec and check its result.
*/
static void sltRunQuery(SltRunner *r, const SltRecord *pRec) {
  SltResult res = { { 0 }, 0 };
  SltList actual = { 0 };
  char *zErr = NULL;
  int nCol = 0;
  int nType = (int)strlen(pRec->zTypes);
  int rc = sltExecQuery(r->db, pRec, &res, &zErr, &nCol);
  if (rc == SLT_QUERY_ERROR) {
    sltFail(r, pRec, "statement error: %s", zErr);
  } else if (rc == SLT_QUERY_NCOL) {
    sltFail(r, pRec, "wrong number of result columns: expected %d, got %d",
            nType, nCol);
  } else if (rc == SLT_QUERY_SINGLE) {
    sltFail(r, pRec, "query must hold a single SQL statement");
  } else {
    sltResultSort(&res,
                  pRec->eSort == SLT_SORT_DEFAULT ? r->eSort : pRec->eSort);
    if (pRec->zLabel) {
      char zHex[33];
      sltResultHash(&res, zHex);
      sltCheckLabel(r, pRec, zHex);
    }
    sltResultLines(&res, r->eMode, r->nThreshold, &actual);
    sltCheckResult(r, pRec, &actual);
  }
  sltListFree(&actual);
  sltListFree(&res.value);
  free(zErr);
}

/*
** Run record pRec: apply a setting, or run a statement or query unless
** skipif/onlyif skip it.
*/
static void sltRunRecord(SltRunner *r, const SltRecord *pRec) {
  switch (pRec->eType) {
    case SLT_REC_HASH: r->nThreshold = pRec->iArg; return;
    case SLT_REC_SORTMODE: r->eSort = pRec->iArg; return;
    case SLT_REC_RESULTMODE: r->eMode = pRec->iArg; return;
    default: break;
  }
  if (pRec->bSkip) {
    r->nSkip++;
    return;
  }
  r->nCmd++;
  if (pRec->eType == SLT_REC_QUERY && !pRec->bError) {
    sltRunQuery(r, pRec);
  } else {
    sltRunStatement(r, pRec);
  }
}

/*
** Run every record of pScript against db in order. Stores the number of
** statements and queries run in *pnCmd and skipped in *pnSkip, and returns
** the number of errors. With --complete, rewrites the top-level file
** afterwards; failing to write it counts as an error.
*/
int sltScriptRun(sqlite3 *db, SltScript *pScript, const SltOptions *pOpt,
                 int *pnCmd, int *pnSkip) {
  SltRunner r;
  int i;
  memset(&r, 0, sizeof(r));
  r.db = db;
  r.pOpt = pOpt;
  r.pScript = pScript;
  r.eSort = SLT_SORT_NONE;
  r.eMode = SLT_MODE_ROWWISE;
  for (i = 0; i < pScript->nRec; i++)
    sltRunRecord(&r, &pScript->aRec[i]);
  if (pOpt->bComplete && sltPatchApply(pScript->pFiles, &r.patch)) r.nErr++;
  sltPatchFree(&r.patch);
  free(r.aLabel);
  *pnCmd = r.nCmd;
  *pnSkip = r.nSkip;
  return r.nErr;
}
