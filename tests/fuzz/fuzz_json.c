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
** Build and run (from the repository root):
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -DSQLITE_CORE -Iext \
**       ext/mp_json.c tests/fuzz/fuzz_json.c -lsqlite3 -o fuzz_json
**   ./fuzz_json -max_total_time=60 corpus/
*/
#include "mp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_oracle.h"

static sqlite3 *db = 0;              /* A :memory: database, opened once */
static sqlite3_stmt *pJsonValid = 0; /* SELECT json_valid(?1) */
static sqlite3_stmt *pJsonType = 0;  /* SELECT json_type(?1, ?2) */

/*
** Report a failed property together with the input and abort.
*/
static void mpFuzzFail(const char *zWhy, const char *z, int n) {
  fprintf(stderr, "fuzz_json: %s\ninput (%d bytes): %.*s\n", zWhy, n, n, z);
  abort();
}

/*
** Open the database and prepare the statements on first use. Aborts if
** that fails: the harness cannot check anything without them.
*/
static void mpFuzzOpen(void) {
  if (db) return;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT json_valid(?1)", -1, &pJsonValid, 0) !=
          SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT json_type(?1, ?2)", -1, &pJsonType, 0) !=
          SQLITE_OK) {
    fprintf(stderr, "fuzz_json: cannot set up SQLite\n");
    abort();
  }
}

/*
** Return SQLite's json_valid() of z[0..n) as text: 1 or 0.
*/
static int mpFuzzSqliteValid(const char *z, int n) {
  int r = 0;
  sqlite3_bind_text(pJsonValid, 1, z, n, SQLITE_STATIC);
  if (sqlite3_step(pJsonValid) == SQLITE_ROW) {
    r = sqlite3_column_int(pJsonValid, 0);
  }
  sqlite3_reset(pJsonValid);
  return r;
}

/*
** Return SQLite's json_type(z[0..n), zPath) mapped to MP_JSON_*, or -1 for
** NULL (path not found) and -2 for an error.
*/
static int mpFuzzSqliteType(const char *z, int n, const char *zPath) {
  int r = -2;
  int rc;
  sqlite3_bind_text(pJsonType, 1, z, n, SQLITE_STATIC);
  sqlite3_bind_text(pJsonType, 2, zPath, -1, SQLITE_STATIC);
  rc = sqlite3_step(pJsonType);
  if (rc == SQLITE_ROW) {
    const char *zType = (const char *)sqlite3_column_text(pJsonType, 0);
    if (zType == 0) {
      r = -1;
    } else if (strcmp(zType, "null") == 0) {
      r = MP_JSON_NULL;
    } else if (strcmp(zType, "false") == 0) {
      r = MP_JSON_FALSE;
    } else if (strcmp(zType, "true") == 0) {
      r = MP_JSON_TRUE;
    } else if (strcmp(zType, "integer") == 0 || strcmp(zType, "real") == 0) {
      r = MP_JSON_NUMBER;
    } else if (strcmp(zType, "text") == 0) {
      r = MP_JSON_STRING;
    } else if (strcmp(zType, "array") == 0) {
      r = MP_JSON_ARRAY;
    } else if (strcmp(zType, "object") == 0) {
      r = MP_JSON_OBJECT;
    }
  }
  sqlite3_reset(pJsonType);
  return r;
}

/*
** Return 1 if z[0..n) is well-formed UTF-8, else 0. Written as a decoder
** that checks each code point's range, independently of mp_json.c's
** table-driven check.
*/
static int mpFuzzUtf8(const unsigned char *z, int n) {
  int i = 0;
  while (i < n) {
    unsigned c = z[i];
    unsigned v;
    int nTrail, k;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      nTrail = 1;
      v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      nTrail = 2;
      v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      nTrail = 3;
      v = c & 0x07;
    } else {
      return 0;
    }
    if (n - i - 1 < nTrail) return 0;
    for (k = 1; k <= nTrail; k++) {
      if ((z[i + k] & 0xC0) != 0x80) return 0;
      v = (v << 6) | (z[i + k] & 0x3F);
    }
    if (nTrail == 1 && v < 0x80) return 0;
    if (nTrail == 2 && v < 0x800) return 0;
    if (nTrail == 3 && v < 0x10000) return 0;
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    i += nTrail + 1;
  }
  return 1;
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
  if (bValid != mpFuzzUtf8((const unsigned char *)z, n)) {
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
int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData);
int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
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
  mpFuzzOpen();

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
