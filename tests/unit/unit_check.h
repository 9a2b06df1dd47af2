/*
** SPDX-License-Identifier: MIT
**
** unit_check.h: the CHECK() of the unit tests. Each test is a program of
** its own that includes this once, counts its checks in nPass and nFail,
** and reports a failed check on stderr with its file, line, expression
** and case.
*/
#ifndef MP_UNIT_CHECK_H
#define MP_UNIT_CHECK_H

#include <stdio.h>
#include <string.h>

static int nPass = 0; /* Checks that held */
static int nFail = 0; /* Checks that did not */

/*
** Count one check: a pass if bOk, otherwise a failure reported on stderr
** with the source line, the expression and the case it belongs to.
*/
#define CHECK(x, zCase) mpTestCheck((x) != 0, #x, zCase, __FILE__, __LINE__)

/*
** Record the outcome of one check. zExpr, zCase (may be NULL) and zFile
** only describe it; nothing is retained. Returns bOk.
*/
static int mpTestCheck(int bOk, const char *zExpr, const char *zCase,
                       const char *zFile, int iLine) {
  const char *zBase = strrchr(zFile, '/');
  if (bOk) {
    nPass++;
  } else {
    nFail++;
    fprintf(stderr, "%s:%d: CHECK(%s) failed for case [%s]\n",
            zBase ? zBase + 1 : zFile, iLine, zExpr, zCase ? zCase : "");
  }
  return bOk;
}

#endif /* MP_UNIT_CHECK_H */
