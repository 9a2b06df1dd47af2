/*
** SPDX-License-Identifier: MIT
**
** fuzz_json.c: a libFuzzer harness for the JSON reader in mp_json.c.
**
** Each input goes through every routine of mp_json.c. The harness aborts
** when one of these properties fails:
**
**   - mpJsonValid(x)==1 implies SQLite's json_valid(x)==1;
**   - for a valid top-level object, member iteration ends with 0 (not -1),
**     every key and string value decodes, and every value span is itself
**     valid JSON;
**   - every span that mpJsonLookup() returns lies inside the input, and is
**     valid JSON when the input is;
**   - for valid input without backslashes, mpJsonLookup() and SQLite's
**     json_type() agree on whether a path exists and on its type;
**   - mpJsonAppendString(x) is valid exactly when x is UTF-8 (checked by an
**     independent decoder here), and then decodes back to x;
**   - mpJsonInt() agrees with strtoll() on plain integers;
**   - the plain reader of json_oracle.h agrees exactly: mpJsonValid(x),
**     the decoding of x as one string literal (mpJsonString(),
**     mpJsonKeyIs()), and for a valid array or object the walk that checks
**     each value and the one that skips them (mpJsonValidStart(),
**     mpJsonEnter()) give the same values, whose strings decode as the
**     oracle says and are used in place (mpJsonStringView()) exactly when
**     they hold no escape.
**
** Build and run (from the repository root, after the CMake build made
** build/generated):
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -DSQLITE_CORE \
**       -Iext -Ibuild/generated ext/mp*.c tests/fuzz/fuzz_json.c \
**       tests/fuzz/fuzz_common.c -lsqlite3 -lcrypto -o fuzz_json
**   ./fuzz_json -max_total_time=60 corpus/
*/
#include "fuzz_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_oracle.h"

/*
** Report a failed property together with the input and abort.
*/
static void mpFuzzFail(const char *zWhy, const char *z, int n) {
  fprintf(stderr, "fuzz_json: %s\ninput (%d bytes): %.*s\n", zWhy, n, n, z);
  abort();
}

/*
** Return SQLite's json_valid() of z[0..n): 1 or 0.
*/
static int mpFuzzSqliteValid(const char *z, int n) {
  sqlite3_stmt *pStmt = fuzzPrepare("SELECT json_valid(?1)");
  int r = 0;
  sqlite3_bind_text(pStmt, 1, z, n, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) r = sqlite3_column_int(pStmt, 0);
  fuzzDone(pStmt);
  return r;
}

/*
** Return SQLite's json_type(z[0..n), zPath) mapped to MP_JSON_*, or -1 for
** NULL (path not found) and -2 for an error.
*/
static int mpFuzzSqliteType(const char *z, int n, const char *zPath) {
  static const struct {
    const char *zName; /* What json_type() says */
    int eType;         /* The MP_JSON_* type it means */
  } aType[] = {
    { "null", MP_JSON_NULL },   { "false", MP_JSON_FALSE },
    { "true", MP_JSON_TRUE },   { "integer", MP_JSON_NUMBER },
    { "real", MP_JSON_NUMBER }, { "text", MP_JSON_STRING },
    { "array", MP_JSON_ARRAY }, { "object", MP_JSON_OBJECT },
  };
  sqlite3_stmt *pStmt = fuzzPrepare("SELECT json_type(?1, ?2)");
  int r = -2;
  sqlite3_bind_text(pStmt, 1, z, n, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zPath, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *zType = (const char *)sqlite3_column_text(pStmt, 0);
    if (zType == 0) r = -1;
    for (size_t k = 0; zType && k < sizeof(aType) / sizeof(aType[0]); k++) {
      if (strcmp(zType, aType[k].zName) == 0) r = aType[k].eType;
    }
  }
  fuzzDone(pStmt);
  return r;
}

/*
** Check that span pVal lies inside z[0..n) and, if bValid, is valid JSON
** on its own. Aborts otherwise.
*/
static void mpFuzzSpan(const MpJsonValue *pVal, const char *z, int n,
                       int bValid) {
  if (pVal->z < z || pVal->n < 0 || pVal->z + pVal->n > z + n) {
    mpFuzzFail("span outside the input", z, n);
  }
  if (bValid && !mpJsonValid(pVal->z, pVal->n)) {
    mpFuzzFail("span of a valid document is not valid", z, n);
  }
}

/*
** Decode a string value and check it, or check a number against
** strtoll() when it is a plain integer. Aborts on a failed property.
*/
static void mpFuzzScalar(const MpJsonValue *pVal, const char *z, int n) {
  if (pVal->eType == MP_JSON_STRING) {
    int nOut = -1;
    char *zOut = mpJsonString(pVal, &nOut);
    if (zOut == 0) mpFuzzFail("valid string does not decode", z, n);
    if (memchr(zOut, 0, (size_t)nOut) == 0 && !mpJsonKeyIs(pVal, zOut)) {
      mpFuzzFail("string is not equal to its decoded value", z, n);
    }
    sqlite3_free(zOut);
  } else if (pVal->eType == MP_JSON_NUMBER) {
    i64 iVal = 0;
    int rc = mpJsonInt(pVal, &iVal);
    char zBuf[32];
    if (rc != SQLITE_OK && rc != SQLITE_RANGE && rc != SQLITE_MISMATCH) {
      mpFuzzFail("mpJsonInt returned an unknown code", z, n);
    }
    if (pVal->n < (int)sizeof(zBuf)) {
      long long iRef;
      memcpy(zBuf, pVal->z, (size_t)pVal->n);
      zBuf[pVal->n] = 0;
      if (strpbrk(zBuf, ".eE")) return;
      errno = 0;
      iRef = strtoll(zBuf, 0, 10);
      if (errno == ERANGE ? rc != SQLITE_RANGE
                          : rc != SQLITE_OK || iVal != iRef) {
        mpFuzzFail("mpJsonInt disagrees with strtoll", z, n);
      }
    }
  }
}

/*
** Check mpJsonAppendString() on the input as raw bytes: the literal is
** valid exactly when the input is UTF-8, and then decodes back to it.
*/
static void mpFuzzAppend(const char *z, int n) {
  sqlite3_str *pStr = sqlite3_str_new(0);
  char *zLit;
  int nLit, bValid;
  mpJsonAppendString(pStr, z, n);
  nLit = sqlite3_str_length(pStr);
  zLit = sqlite3_str_finish(pStr);
  if (zLit == 0) return; /* OOM */
  bValid = mpJsonValid(zLit, nLit);
  if (bValid != fuzzUtf8WithNul((const unsigned char *)z, n)) {
    mpFuzzFail("appended literal validity differs from UTF-8 check", z, n);
  }
  if (bValid) {
    MpJsonValue v;
    int nBack = -1;
    char *zBack;
    v.eType = MP_JSON_STRING;
    v.z = zLit;
    v.n = nLit;
    zBack = mpJsonString(&v, &nBack);
    if (zBack == 0 || nBack != n || memcmp(zBack, z, (size_t)n) != 0) {
      mpFuzzFail("appended literal does not decode back", z, n);
    }
    sqlite3_free(zBack);
    if (mpFuzzSqliteValid(zLit, nLit) != 1) {
      mpFuzzFail("SQLite rejects an appended literal", z, n);
    }
  }
  sqlite3_free(zLit);
}

/*
** The libFuzzer entry point. Returns 0; aborts when a property fails.
*/
int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData) {
  static const char *azPath[] = {
    "$",    "$.result.message_id", "$.parameters.retry_after",
    "$.a",  "$.items[2].name",     "$[0]",
    "$[1]", "$.a[1][0]",           "$.a.b",
  };
  const char *z = (const char *)aData;
  const char *zWhy;
  int n, bValid, rc, nMember = 0;
  MpJson j;
  MpJsonValue key, val;
  size_t k;

  if (nData > 1000000) return 0;
  n = (int)nData;
  fuzzBegin("fuzz_json", 0, 0);
  fuzzOpen();

  bValid = mpJsonValid(z, n);
  if (bValid && mpFuzzSqliteValid(z, n) != 1) {
    mpFuzzFail("mp accepts what SQLite's json_valid rejects", z, n);
  }
  zWhy = oracleCompare(z, n);
  if (zWhy) mpFuzzFail(zWhy, z, n);

  /* Iterate members whether or not the text is valid. */
  if (mpJsonObjectStart(&j, z, n) == SQLITE_OK) {
    while ((rc = mpJsonNextMember(&j, &key, &val)) == 1) {
      if (++nMember > n) mpFuzzFail("more members than bytes", z, n);
      mpFuzzSpan(&key, z, n, bValid);
      mpFuzzSpan(&val, z, n, bValid);
      if (key.eType != MP_JSON_STRING) mpFuzzFail("key not a string", z, n);
      mpJsonKeyIs(&key, "a");
      if (bValid) {
        mpFuzzScalar(&key, z, n);
        mpFuzzScalar(&val, z, n);
      } else {
        sqlite3_free(mpJsonString(&key, 0));
        sqlite3_free(mpJsonString(&val, 0));
      }
    }
    if (bValid && rc != 0) mpFuzzFail("valid object iterates to -1", z, n);
    if (mpJsonNextMember(&j, &key, &val) != rc) {
      mpFuzzFail("iteration does not stay at its end", z, n);
    }
  }

  for (k = 0; k < sizeof(azPath) / sizeof(azPath[0]); k++) {
    int bFound = mpJsonLookup(z, n, azPath[k], &val);
    if (bFound) {
      mpFuzzSpan(&val, z, n, bValid);
      if (bValid) mpFuzzScalar(&val, z, n);
    }
    if (bValid && k == 0 && !bFound) mpFuzzFail("$ not found", z, n);
    if (bValid && memchr(z, '\\', (size_t)n) == 0) {
      int eSqlite = mpFuzzSqliteType(z, n, azPath[k]);
      if (eSqlite != (bFound ? val.eType : -1)) {
        fprintf(stderr, "path %s: mp %d, SQLite %d\n", azPath[k],
                bFound ? val.eType : -1, eSqlite);
        mpFuzzFail("lookup differs from SQLite's json_type", z, n);
      }
    }
  }

  mpFuzzAppend(z, n);
  return 0;
}
