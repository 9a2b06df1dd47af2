/*
** SPDX-License-Identifier: MIT
**
** Parser of mp-slt: turns a script file, with its includes spliced in, into
** a flat list of records (SltScript) that slt_run.c runs in order.
**
** Lexical rules: the input is split on "\n" and a trailing "\r" is dropped.
** Lines that start with "#" are comments; they are ignored everywhere and
** neither count as blank nor end a record. Records are separated by blank
** lines. The first line of a record is split into tokens on whitespace.
**
** Some decisions are taken here rather than at run time, because the label
** set is fixed for the whole run:
**
**   skipif/onlyif   evaluated into SltRecord.bSkip
**   halt            stops parsing, so the rest is neither parsed nor run
**   include         glob(3) relative to the including file, matches parsed
**                   in order, as if their text were spliced in
**
** Records without a body (hash-threshold, halt, control, include) take one
** line; the next line may start a new record, as in sqllogictest-rs.
** A script with any parse error is reported and not run.
*/
#include "slt.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State of the parse of one file. */
typedef struct SltParser SltParser;
struct SltParser {
  SltScript *pScript;     /* Script that receives the records */
  const SltOptions *pOpt; /* Labels for skipif/onlyif */
  SltFile *pFile;         /* File being parsed */
  int i;                  /* Index of the next line to read */
  int nDepth;             /* Include depth of pFile; 0 for the top file */
  int *pbHalt;            /* Set to 1 by an active halt record */
};

/* Record names of sqllogictest-rs that mp-slt does not support. */
static const char *const azReserved[] = {
  "system", "connection", "sleep", "subtest", "let",
};

/*
** Split the raw bytes of p into lines. Fills p->zText, p->aLine and
** p->nLine.
*/
static void sltFileSplit(SltFile *p) {
  size_t iStart = 0;
  size_t k;
  int nMax = 1;
  for (k = 0; k < p->nData; k++) {
    if (p->zData[k] == '\n') nMax++;
  }
  p->zText = sltStrndup(p->zData, p->nData);
  p->aLine = sltMalloc(sizeof(p->aLine[0]) * (size_t)nMax);
  for (k = 0; k <= p->nData; k++) {
    SltLine *pLine;
    size_t nText;
    const char *z;
    if (k < p->nData && p->zData[k] != '\n') continue;
    if (k == p->nData && k == iStart) break;
    pLine = &p->aLine[p->nLine++];
    nText = k - iStart;
    if (nText > 0 && p->zText[iStart + nText - 1] == '\r') nText--;
    p->zText[iStart + nText] = 0;
    pLine->z = &p->zText[iStart];
    pLine->iOff = iStart;
    pLine->iNext = k < p->nData ? k + 1 : k;
    pLine->isComment = pLine->z[0] == '#';
    z = pLine->z;
    while (isspace((unsigned char)*z))
      z++;
    pLine->isBlank = *z == 0;
    iStart = k + 1;
  }
}

/*
** Read and split the file zPath. Returns a new SltFile owned by the caller
** (free it with sltFileFree), or NULL with errno set if it cannot be read.
*/
SltFile *sltFileLoad(const char *zPath) {
  SltFile *p = sltMalloc(sizeof(*p));
  if (sltReadFile(zPath, &p->zData, &p->nData)) {
    free(p);
    return NULL;
  }
  p->zPath = sltStrdup(zPath);
  sltFileSplit(p);
  return p;
}

/*
** Free file p and every file chained after it through pNext.
*/
void sltFileFree(SltFile *p) {
  while (p) {
    SltFile *pNext = p->pNext;
    free(p->zPath);
    free(p->zData);
    free(p->zText);
    free(p->aLine);
    free(p);
    p = pNext;
  }
}

/*
** Return true if zLabel is in the label set: "sqlite", "mp" and each
** --label of the command line.
*/
int sltHasLabel(const SltOptions *pOpt, const char *zLabel) {
  int i;
  if (strcmp(zLabel, "sqlite") == 0 || strcmp(zLabel, "mp") == 0) return 1;
  for (i = 0; i < pOpt->label.n; i++) {
    if (strcmp(zLabel, pOpt->label.az[i]) == 0) return 1;
  }
  return 0;
}

/*
** Print "file:line: parse error: <message>" for line iLine of the current
** file and count the error. Always returns 1, so callers can write
** "return sltParseError(...)".
*/
static int sltParseError(SltParser *p, int iLine, const char *zFmt, ...) {
  va_list ap;
  printf("%s:%d: parse error: ", p->pFile->zPath, iLine + 1);
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  printf("\n");
  p->pScript->nParseErr++;
  return 1;
}

/*
** Move p->i past comment lines. Returns true if a line remains.
*/
static int sltSkipComments(SltParser *p) {
  while (p->i < p->pFile->nLine && p->pFile->aLine[p->i].isComment)
    p->i++;
  return p->i < p->pFile->nLine;
}

/*
** Return true if the next non-comment line exists and is not blank. Moves
** p->i past comments.
*/
static int sltHasContent(SltParser *p) {
  return sltSkipComments(p) && !p->pFile->aLine[p->i].isBlank;
}

/*
** Return the text of line i of the current file.
*/
static const char *sltLineText(SltParser *p, int i) {
  return p->pFile->aLine[i].z;
}

/*
** Return true if line z is the "----" separator, ignoring whitespace.
*/
static int sltIsDashes(const char *z) {
  while (isspace((unsigned char)*z))
    z++;
  if (strncmp(z, "----", 4) != 0) return 0;
  z += 4;
  while (isspace((unsigned char)*z))
    z++;
  return *z == 0;
}

/*
** Free the fields of record p that it owns. The record itself is not
** freed, because records live in the SltScript.aRec array.
*/
static void sltRecordClear(SltRecord *p) {
  free(p->zSql);
  if (p->bErrRe) regfree(&p->re);
  free(p->zErrRe);
  free(p->zErrText);
  free(p->zTypes);
  free(p->zLabel);
  sltListFree(&p->expect);
  memset(p, 0, sizeof(*p));
}

/*
** Free every record and file of script p and reset it.
*/
void sltScriptFree(SltScript *p) {
  int i;
  for (i = 0; i < p->nRec; i++)
    sltRecordClear(&p->aRec[i]);
  free(p->aRec);
  sltFileFree(p->pFiles);
  memset(p, 0, sizeof(*p));
}

/*
** Start record pRec of type eType at line iLine of the current file.
*/
static void sltRecordInit(SltParser *p, SltRecord *pRec, int eType, int iLine,
                          int bSkip) {
  memset(pRec, 0, sizeof(*pRec));
  pRec->eType = eType;
  pRec->pFile = p->pFile;
  pRec->iLine = iLine;
  pRec->bSkip = bSkip;
  pRec->eSort = SLT_SORT_DEFAULT;
}

/*
** Append a copy of record pRec to the script. The script takes over the
** memory that pRec owns.
*/
static void sltRecordAdd(SltParser *p, SltRecord *pRec) {
  SltScript *pScript = p->pScript;
  if (pScript->nRec == pScript->nAlloc) {
    pScript->nAlloc = pScript->nAlloc ? pScript->nAlloc * 2 : 32;
    pScript->aRec = sltRealloc(pScript->aRec, sizeof(pScript->aRec[0]) *
                                                  (size_t)pScript->nAlloc);
  }
  pScript->aRec[pScript->nRec++] = *pRec;
  memset(pRec, 0, sizeof(*pRec));
}

/*
** Move p->i to the blank line (or end of file) that ends the current
** record. Used to resynchronise after a parse error.
*/
static void sltSkipRecord(SltParser *p) {
  while (sltHasContent(p))
    p->i++;
}

/*
** Return the sqllogictest-rs extension named by header tokens pTok, or
** NULL if the header uses none. The result is a static string.
*/
static const char *sltReservedName(const SltList *pTok) {
  const char *zFirst = pTok->az[0];
  const char *zSecond = pTok->n > 1 ? pTok->az[1] : "";
  int i;
  for (i = 0; i < (int)(sizeof(azReserved) / sizeof(azReserved[0])); i++) {
    if (strcmp(zFirst, azReserved[i]) == 0) return azReserved[i];
  }
  if (strcmp(zFirst, "statement") == 0 && strcmp(zSecond, "count") == 0) {
    return "statement count";
  }
  if (strcmp(zFirst, "control") == 0 && strcmp(zSecond, "substitution") == 0) {
    return "control substitution";
  }
  for (i = 0; i < pTok->n; i++) {
    if (strstr(pTok->az[i], "<slt:ignore>")) return "<slt:ignore>";
  }
  if (strcmp(zFirst, "statement") == 0 || strcmp(zFirst, "query") == 0) {
    for (i = 2; i < pTok->n; i++) {
      if (strcmp(pTok->az[i], "retry") == 0) return "retry ... backoff";
    }
  }
  return NULL;
}

/*
** Report a parse error at line iLine if any line of pLines holds the
** sqllogictest-rs "<slt:ignore>" marker. Returns 1 if so, else 0.
*/
static int sltCheckIgnoreMarker(SltParser *p, int iLine,
                                const SltList *pLines) {
  int i;
  for (i = 0; i < pLines->n; i++) {
    if (strstr(pLines->az[i], "<slt:ignore>")) {
      return sltParseError(
          p, iLine, "unsupported sqllogictest-rs extension: <slt:ignore>");
    }
  }
  return 0;
}

/*
** Compile the error pattern made of header tokens iFirst and later, joined
** by one space, into pRec. No tokens means no pattern. Returns 0 on
** success or 1 after reporting a bad pattern.
*/
static int sltCompilePattern(SltParser *p, SltRecord *pRec, const SltList *pTok,
                             int iFirst) {
  char zMsg[256];
  int rc;
  if (iFirst >= pTok->n) return 0;
  pRec->zErrRe = sltListJoin(pTok, iFirst, " ");
  rc = regcomp(&pRec->re, pRec->zErrRe, REG_EXTENDED | REG_NOSUB);
  if (rc) {
    regerror(rc, &pRec->re, zMsg, sizeof(zMsg));
    regfree(&pRec->re);
    return sltParseError(p, pRec->iLine, "bad error pattern '%s': %s",
                         pRec->zErrRe, zMsg);
  }
  pRec->bErrRe = 1;
  return 0;
}

/*
** Read SQL lines into pRec->zSql, up to a blank line, the end of the file
** or a "----" line, which is consumed. Sets pRec->iSqlEnd. Returns true if
** the SQL ended at "----".
*/
static int sltReadSql(SltParser *p, SltRecord *pRec) {
  SltList sql = { 0 };
  int bDashes = 0;
  pRec->iSqlEnd = p->i;
  while (sltHasContent(p)) {
    const char *z = sltLineText(p, p->i++);
    if (sltIsDashes(z)) {
      bDashes = 1;
      break;
    }
    sltListAppend(&sql, sltStrdup(z));
    pRec->iSqlEnd = p->i;
  }
  if (sql.n > 0) pRec->zSql = sltListJoin(&sql, 0, "\n");
  sltListFree(&sql);
  return bDashes;
}

/*
** Read the expected result lines of a query, after its "----" line, up to
** a blank line or the end of the file. Sets iResFirst and iResEnd.
*/
static void sltReadExpected(SltParser *p, SltRecord *pRec) {
  pRec->bResult = 1;
  pRec->iResFirst = p->i;
  pRec->iResEnd = p->i;
  while (sltHasContent(p)) {
    sltListAppend(&pRec->expect, sltStrdup(sltLineText(p, p->i++)));
    pRec->iResEnd = p->i;
  }
}

/*
** Read the "----" error block of a statement or query error: the message
** ends at two consecutive blank lines or at the end of the file. The
** second blank line is left unread, so the record ends there. Stores the
** trimmed message in pRec->zErrText. Returns 0 or 1 on a parse error.
*/
static int sltReadErrorBlock(SltParser *p, SltRecord *pRec) {
  SltList msg = { 0 };
  int nBlank = 0;
  int rc;
  char *zJoined;
  while (sltSkipComments(p)) {
    const SltLine *pLine = &p->pFile->aLine[p->i];
    if (pLine->isBlank && nBlank == 1) break;
    nBlank = pLine->isBlank ? nBlank + 1 : 0;
    sltListAppend(&msg, sltStrdup(pLine->z));
    p->i++;
  }
  rc = sltCheckIgnoreMarker(p, pRec->iLine, &msg);
  zJoined = sltListJoin(&msg, 0, "\n");
  pRec->zErrText = sltTrim(zJoined);
  free(zJoined);
  sltListFree(&msg);
  return rc;
}

/*
** Read the body of a statement or query record pRec whose header has been
** consumed, and add the record to the script. Returns 0, or 1 after a parse
** error (pRec is then cleared).
*/
static int sltParseBody(SltParser *p, SltRecord *pRec) {
  int bDashes = sltReadSql(p, pRec);
  int rc = 0;
  if (!pRec->zSql) {
    rc = sltParseError(p, pRec->iLine, "missing SQL");
  } else if (bDashes && pRec->bError && pRec->bErrRe) {
    rc = sltParseError(p, pRec->iLine,
                       "an error pattern and a ---- block cannot be combined");
  } else if (bDashes && pRec->bError) {
    rc = sltReadErrorBlock(p, pRec);
  } else if (bDashes && pRec->eType == SLT_REC_STATEMENT) {
    rc =
        sltParseError(p, pRec->iLine, "---- is not allowed after statement ok");
  } else if (bDashes) {
    sltReadExpected(p, pRec);
    rc = sltCheckIgnoreMarker(p, pRec->iLine, &pRec->expect);
  }
  if (rc) {
    sltRecordClear(pRec);
    return 1;
  }
  sltRecordAdd(p, pRec);
  return 0;
}

/*
** Parse "statement ok" or "statement error [<pattern>]" with header
** tokens pTok at line iLine. Returns 0 or 1 after a parse error.
*/
static int sltParseStatement(SltParser *p, int iLine, const SltList *pTok,
                             int bSkip) {
  SltRecord rec;
  const char *zKind = pTok->n > 1 ? pTok->az[1] : "";
  sltRecordInit(p, &rec, SLT_REC_STATEMENT, iLine, bSkip);
  if (strcmp(zKind, "ok") == 0) {
    if (pTok->n > 2) {
      return sltParseError(p, iLine, "statement ok: unexpected '%s'",
                           pTok->az[2]);
    }
  } else if (strcmp(zKind, "error") == 0) {
    rec.bError = 1;
    if (sltCompilePattern(p, &rec, pTok, 2)) {
      sltRecordClear(&rec);
      return 1;
    }
  } else {
    return sltParseError(p, iLine, "statement: expected 'ok' or 'error'");
  }
  return sltParseBody(p, &rec);
}

/*
** Parse sort mode name z into *peSort. Returns 0, or 1 if z is not a sort
** mode.
*/
static int sltParseSortMode(const char *z, int *peSort) {
  if (strcmp(z, "nosort") == 0) {
    *peSort = SLT_SORT_NONE;
  } else if (strcmp(z, "rowsort") == 0) {
    *peSort = SLT_SORT_ROW;
  } else if (strcmp(z, "valuesort") == 0) {
    *peSort = SLT_SORT_VALUE;
  } else {
    return 1;
  }
  return 0;
}

/*
** Parse the "<types> [<sort>] [<label>]" part of a query header into pRec.
** Returns 0 or 1 after a parse error.
*/
static int sltParseQueryHeader(SltParser *p, SltRecord *pRec,
                               const SltList *pTok) {
  const char *zTypes = pTok->az[1];
  if (zTypes[strspn(zTypes, "TIR")] != 0) {
    return sltParseError(p, pRec->iLine,
                         "query: bad column types '%s' (use T, I and R)",
                         zTypes);
  }
  pRec->zTypes = sltStrdup(zTypes);
  if (pTok->n > 2 && sltParseSortMode(pTok->az[2], &pRec->eSort)) {
    return sltParseError(p, pRec->iLine, "query: unknown sort mode '%s'",
                         pTok->az[2]);
  }
  if (pTok->n > 3) pRec->zLabel = sltStrdup(pTok->az[3]);
  if (pTok->n > 4) {
    return sltParseError(p, pRec->iLine, "query: unexpected '%s'", pTok->az[4]);
  }
  return 0;
}

/*
** Parse "query <types> [<sort>] [<label>]" or "query error [<pattern>]"
** with header tokens pTok at line iLine. Returns 0 or 1 after a parse
** error.
*/
static int sltParseQuery(SltParser *p, int iLine, const SltList *pTok,
                         int bSkip) {
  SltRecord rec;
  int rc;
  sltRecordInit(p, &rec, SLT_REC_QUERY, iLine, bSkip);
  if (pTok->n < 2) return sltParseError(p, iLine, "query: missing types");
  if (strcmp(pTok->az[1], "error") == 0) {
    rec.bError = 1;
    rc = sltCompilePattern(p, &rec, pTok, 2);
  } else {
    rc = sltParseQueryHeader(p, &rec, pTok);
  }
  if (rc) {
    sltRecordClear(&rec);
    return 1;
  }
  return sltParseBody(p, &rec);
}

/*
** Parse "hash-threshold <N>". Returns 0 or 1 after a parse error.
*/
static int sltParseHashThreshold(SltParser *p, int iLine, const SltList *pTok,
                                 int bSkip) {
  SltRecord rec;
  const char *z = pTok->n == 2 ? pTok->az[1] : "";
  if (z[0] == 0 || z[strspn(z, "0123456789")] != 0 || strlen(z) > 9) {
    return sltParseError(p, iLine, "hash-threshold: expected a number");
  }
  sltRecordInit(p, &rec, SLT_REC_HASH, iLine, bSkip);
  rec.iArg = atoi(z);
  sltRecordAdd(p, &rec);
  return 0;
}

/*
** Parse "control sortmode <mode>" or "control resultmode <mode>".
** Returns 0 or 1 after a parse error.
*/
static int sltParseControl(SltParser *p, int iLine, const SltList *pTok,
                           int bSkip) {
  SltRecord rec;
  const char *zWhat = pTok->n > 1 ? pTok->az[1] : "";
  const char *zMode = pTok->n > 2 ? pTok->az[2] : "";
  sltRecordInit(p, &rec, 0, iLine, bSkip);
  if (pTok->n != 3) {
    return sltParseError(p, iLine, "control: expected 'control <what> <mode>'");
  }
  if (strcmp(zWhat, "sortmode") == 0) {
    rec.eType = SLT_REC_SORTMODE;
    if (sltParseSortMode(zMode, &rec.iArg)) {
      return sltParseError(p, iLine, "control: unknown sort mode '%s'", zMode);
    }
  } else if (strcmp(zWhat, "resultmode") == 0) {
    rec.eType = SLT_REC_RESULTMODE;
    if (strcmp(zMode, "rowwise") == 0) {
      rec.iArg = SLT_MODE_ROWWISE;
    } else if (strcmp(zMode, "valuewise") == 0) {
      rec.iArg = SLT_MODE_VALUEWISE;
    } else {
      return sltParseError(p, iLine, "control: unknown result mode '%s'",
                           zMode);
    }
  } else {
    return sltParseError(p, iLine, "control: unknown setting '%s'", zWhat);
  }
  sltRecordAdd(p, &rec);
  return 0;
}

static void sltParseFile(SltParser *p);

/*
** Load file zPath, matched by an include at line iLine, and parse it as
** if its text stood in place of the include. Returns 0 or 1 after an
** error.
*/
static int sltIncludeFile(SltParser *p, int iLine, const char *zPath) {
  SltParser sub = *p;
  SltFile *pFile = sltFileLoad(zPath);
  SltFile **ppLast;
  if (!pFile) {
    return sltParseError(p, iLine, "include: cannot read '%s': %s", zPath,
                         strerror(errno));
  }
  ppLast = &p->pScript->pFiles;
  while (*ppLast)
    ppLast = &(*ppLast)->pNext;
  *ppLast = pFile;
  sub.pFile = pFile;
  sub.i = 0;
  sub.nDepth = p->nDepth + 1;
  sltParseFile(&sub);
  return 0;
}

/*
** Return the glob pattern of an include: zArg itself if it is absolute or
** the including file has no directory part, else zArg relative to the
** directory of the including file. The result is malloc'd.
*/
static char *sltIncludePattern(SltParser *p, const char *zArg) {
  const char *zPath = p->pFile->zPath;
  const char *zSlash = strrchr(zPath, '/');
  if (zArg[0] == '/' || !zSlash) return sltStrdup(zArg);
  return sltMprintf("%.*s/%s", (int)(zSlash - zPath), zPath, zArg);
}

/*
** Parse "include <glob>": glob(3) relative to the including file, then
** parse every match in order. No match is an error. Returns 0 or 1 after
** an error.
*/
static int sltParseInclude(SltParser *p, int iLine, const SltList *pTok) {
  glob_t g;
  char *zPattern;
  int rc;
  size_t k;
  if (pTok->n != 2) return sltParseError(p, iLine, "include: expected a glob");
  if (p->nDepth >= SLT_MAX_INCLUDE_DEPTH) {
    return sltParseError(p, iLine, "include: nested too deeply");
  }
  zPattern = sltIncludePattern(p, pTok->az[1]);
  memset(&g, 0, sizeof(g));
  rc = glob(zPattern, 0, NULL, &g);
  if (rc == GLOB_NOMATCH) {
    sltParseError(p, iLine, "include: no file matches '%s'", zPattern);
  } else if (rc) {
    sltParseError(p, iLine, "include: cannot expand '%s'", zPattern);
  }
  for (k = 0; rc == 0 && k < g.gl_pathc && !*p->pbHalt; k++) {
    sltIncludeFile(p, iLine, g.gl_pathv[k]);
  }
  globfree(&g);
  free(zPattern);
  return rc != 0;
}

/*
** Parse "halt". Unless skipif/onlyif skip it (bSkip), it stops the parse
** of the whole script, includes and all. Returns 0 or 1 after a parse
** error.
*/
static int sltParseHalt(SltParser *p, int iLine, const SltList *pTok,
                        int bSkip) {
  if (pTok->n > 1) {
    return sltParseError(p, iLine, "halt: unexpected '%s'", pTok->az[1]);
  }
  if (!bSkip) *p->pbHalt = 1;
  return 0;
}

/*
** Parse the stacked "skipif <label>" or "onlyif <label>" in pTok and fold
** it into *pbSkip. Returns 0 or 1 after a parse error.
*/
static int sltParseCondition(SltParser *p, int iLine, const SltList *pTok,
                             int *pbSkip) {
  int bHas;
  if (pTok->n != 2) {
    return sltParseError(p, iLine, "%s: expected one label", pTok->az[0]);
  }
  bHas = sltHasLabel(p->pOpt, pTok->az[1]);
  if (strcmp(pTok->az[0], "skipif") == 0 ? bHas : !bHas) *pbSkip = 1;
  return 0;
}

/*
** Return true if z names a condition record (skipif or onlyif).
*/
static int sltIsCondition(const char *z) {
  return strcmp(z, "skipif") == 0 || strcmp(z, "onlyif") == 0;
}

/*
** Dispatch the record whose header tokens are pTok at line iLine. bCond
** is true if skipif/onlyif lines preceded it, and bSkip is their verdict.
** Returns 0 or 1 after a parse error.
*/
static int sltParseHeader(SltParser *p, int iLine, const SltList *pTok,
                          int bCond, int bSkip) {
  const char *zType = pTok->az[0];
  const char *zReserved = sltReservedName(pTok);
  if (zReserved) {
    return sltParseError(p, iLine, "unsupported sqllogictest-rs extension: %s",
                         zReserved);
  }
  if (strcmp(zType, "statement") == 0) {
    return sltParseStatement(p, iLine, pTok, bSkip);
  }
  if (strcmp(zType, "query") == 0) return sltParseQuery(p, iLine, pTok, bSkip);
  if (strcmp(zType, "halt") == 0) return sltParseHalt(p, iLine, pTok, bSkip);
  if (bCond) {
    return sltParseError(p, iLine, "skipif/onlyif cannot apply to '%s'", zType);
  }
  if (strcmp(zType, "hash-threshold") == 0) {
    return sltParseHashThreshold(p, iLine, pTok, bSkip);
  }
  if (strcmp(zType, "control") == 0) {
    return sltParseControl(p, iLine, pTok, bSkip);
  }
  if (strcmp(zType, "include") == 0) return sltParseInclude(p, iLine, pTok);
  return sltParseError(p, iLine, "unknown record type '%s'", zType);
}

/*
** Parse one record starting at p->i, which is a non-blank, non-comment
** line: first any stacked skipif/onlyif lines, then the record itself.
** After a parse error, skips to the end of the record.
*/
static void sltParseRecord(SltParser *p) {
  SltList tok = { 0 };
  int bCond = 0;
  int bSkip = 0;
  int iLine;
  int rc = 0;
  for (;;) {
    iLine = p->i++;
    sltListFree(&tok);
    sltTokenize(sltLineText(p, iLine), &tok);
    if (!sltIsCondition(tok.az[0])) break;
    rc = sltParseCondition(p, iLine, &tok, &bSkip);
    if (rc == 0 && !sltHasContent(p)) {
      rc = sltParseError(p, iLine, "%s: no statement or query follows",
                         tok.az[0]);
    }
    if (rc) break;
    bCond = 1;
  }
  if (rc == 0) rc = sltParseHeader(p, iLine, &tok, bCond, bSkip);
  if (rc) sltSkipRecord(p);
  sltListFree(&tok);
}

/*
** Parse every record of p->pFile from line p->i on, stopping early at an
** active halt.
*/
static void sltParseFile(SltParser *p) {
  while (!*p->pbHalt) {
    while (sltSkipComments(p) && p->pFile->aLine[p->i].isBlank)
      p->i++;
    if (p->i >= p->pFile->nLine) break;
    sltParseRecord(p);
  }
}

/*
** Parse the top-level script zPath and its includes into p, which the
** caller later frees with sltScriptFree. Errors are printed and counted
** in p->nParseErr.
*/
void sltScriptParse(SltScript *p, const char *zPath, const SltOptions *pOpt) {
  SltParser parser;
  int bHalt = 0;
  memset(p, 0, sizeof(*p));
  p->pFiles = sltFileLoad(zPath);
  if (!p->pFiles) {
    printf("%s:0: parse error: cannot read file: %s\n", zPath, strerror(errno));
    p->nParseErr++;
    return;
  }
  memset(&parser, 0, sizeof(parser));
  parser.pScript = p;
  parser.pOpt = pOpt;
  parser.pFile = p->pFiles;
  parser.pbHalt = &bHalt;
  sltParseFile(&parser);
}
