/*
** SPDX-License-Identifier: MIT
**
** test_json.c: unit tests for the JSON reader and writer in mp_json.c.
**
** Each area is a table of cases. CHECK() counts passes and failures rather
** than stopping at the first failure; the program prints
** "N passed, M failed" and exits non-zero if M is not 0.
**
** Build (from the repository root):
**
**   gcc -std=c11 -Wall -Wextra -DSQLITE_CORE -Iext ext/mp_json.c \
**       tests/unit/test_json.c -lsqlite3 -o test_json && ./test_json
**
** The fast paths (strings read eight bytes at a time, walks that skip the
** values of checked text, strings used in place) are also compared with
** the plain reader of tests/fuzz/json_oracle.h: every special byte at
** every offset of an ASCII run, and generated documents.
*/
#include "mp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/json_oracle.h"

#include "unit_check.h"

/*
** Return the length of a case's text: n when n >= 0 (cases with embedded
** NUL bytes), else strlen(z).
*/
static int mpTestLen(const char *z, int n) {
  return n >= 0 ? n : (int)strlen(z);
}

/*
** Return a value of type eType whose text is z[0..n), or all of z when
** n < 0. The value points into z; nothing is allocated.
*/
static MpJsonValue mpTestValue(int eType, const char *z, int n) {
  MpJsonValue v;
  v.eType = eType;
  v.z = z;
  v.n = mpTestLen(z, n);
  return v;
}

/*
** Return a new string of n copies of zOpen, then zMid, then n copies of
** zClose, from malloc(); the caller frees it. Exits on OOM.
*/
static char *mpTestNest(int n, const char *zOpen, const char *zMid,
                        const char *zClose) {
  size_t nOpen = strlen(zOpen), nMid = strlen(zMid), nClose = strlen(zClose);
  char *z = malloc((size_t)n * (nOpen + nClose) + nMid + 1);
  char *p = z;
  int k;
  if (z == 0) exit(2);
  for (k = 0; k < n; k++, p += nOpen)
    memcpy(p, zOpen, nOpen);
  memcpy(p, zMid, nMid);
  p += nMid;
  for (k = 0; k < n; k++, p += nClose)
    memcpy(p, zClose, nClose);
  *p = 0;
  return z;
}

/* One mpJsonValid() case. */
typedef struct ValidCase ValidCase;
struct ValidCase {
  const char *zJson; /* The document */
  int nJson;         /* Its length, or -1 for strlen */
  int bValid;        /* Expected result */
};

/* One nesting case of mpJsonValid(): mpTestNest()'s document. */
typedef struct NestCase NestCase;
struct NestCase {
  int nLevel;         /* How many times zOpen and zClose repeat */
  const char *zOpen;  /* What opens each level */
  const char *zMid;   /* What stands in the middle */
  const char *zClose; /* What closes each level */
  int bValid;         /* Expected result */
  const char *zWhy;   /* The case */
};

/*
** Check mpJsonValid() against a table covering every rule of the grammar,
** then the nesting limit. Returns nothing; results go to CHECK().
*/
static void mpTestValid(void) {
  /* clang-format off */
  static const ValidCase aCase[] = {
    /* Scalars */
    { "0", -1, 1 },
    { "-0", -1, 1 },
    { "1", -1, 1 },
    { "-1", -1, 1 },
    { "123456789012345678901234567890", -1, 1 },
    { "1.5", -1, 1 },
    { "0.5", -1, 1 },
    { "1e10", -1, 1 },
    { "1E+10", -1, 1 },
    { "1e-10", -1, 1 },
    { "-0.0e0", -1, 1 },
    { "true", -1, 1 },
    { "false", -1, 1 },
    { "null", -1, 1 },
    { "\"\"", -1, 1 },
    { "\"x\"", -1, 1 },
    /* Containers and whitespace */
    { "[]", -1, 1 },
    { "{}", -1, 1 },
    { "[[[]]]", -1, 1 },
    { " \t\r\n[1, 2 ,3]\n", -1, 1 },
    { "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", -1, 1 },
    { "{ \"a\" : [ ] , \"b\" : { } }", -1, 1 },
    { "{\"\":0}", -1, 1 },
    { "{\"a\":1,\"a\":2}", -1, 1 },
    /* Escapes */
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", -1, 1 },
    { "\"\\u00e9\\u00C9\"", -1, 1 },
    { "\"\\u0000\"", -1, 1 },
    { "\"\\uD83D\\uDE00\"", -1, 1 },
    { "\"\\udbff\\udfff\"", -1, 1 },
    /* UTF-8 */
    { "\"\xC3\xA9\"", -1, 1 },                 /* U+00E9 */
    { "\"\xE2\x82\xAC\"", -1, 1 },             /* U+20AC */
    { "\"\xEF\xBF\xBF\"", -1, 1 },             /* U+FFFF */
    { "\"\xED\x9F\xBF\"", -1, 1 },             /* U+D7FF */
    { "\"\xEE\x80\x80\"", -1, 1 },             /* U+E000 */
    { "\"\xF0\x9F\x98\x80\"", -1, 1 },         /* U+1F600 */
    { "\"\xF4\x8F\xBF\xBF\"", -1, 1 },         /* U+10FFFF */
    { "\"\x7F\"", -1, 1 },                     /* DEL is not a control */

    /* Empty and stray text */
    { "", -1, 0 },
    { " \n", -1, 0 },
    { "1 2", -1, 0 },
    { "[1,2]x", -1, 0 },
    { "[1]]", -1, 0 },
    { "{}}", -1, 0 },
    /* Numbers */
    { "01", -1, 0 },
    { "-01", -1, 0 },
    { "00", -1, 0 },
    { "1.", -1, 0 },
    { ".5", -1, 0 },
    { "+1", -1, 0 },
    { "-", -1, 0 },
    { "1e", -1, 0 },
    { "1e+", -1, 0 },
    { "1.e5", -1, 0 },
    { "0x10", -1, 0 },
    { "NaN", -1, 0 },
    { "Infinity", -1, 0 },
    { "-Infinity", -1, 0 },
    { "[01]", -1, 0 },
    /* Literals */
    { "tru", -1, 0 },
    { "truee", -1, 0 },
    { "True", -1, 0 },
    { "nul", -1, 0 },
    { "[nulll]", -1, 0 },
    /* Structure */
    { "[", -1, 0 },
    { "{", -1, 0 },
    { "]", -1, 0 },
    { "[1,]", -1, 0 },
    { "[,1]", -1, 0 },
    { "[,]", -1, 0 },
    { "[1 2]", -1, 0 },
    { "[1,,2]", -1, 0 },
    { "{\"a\":1,}", -1, 0 },
    { "{,}", -1, 0 },
    { "{\"a\" 1}", -1, 0 },
    { "{\"a\":}", -1, 0 },
    { "{\"a\"}", -1, 0 },
    { "{\"a\":1 \"b\":2}", -1, 0 },
    { "{a:1}", -1, 0 },
    { "{'a':1}", -1, 0 },
    { "{1:1}", -1, 0 },
    { "{\"a\":1]", -1, 0 },
    { "[1}", -1, 0 },
    { "'x'", -1, 0 },
    /* Comments */
    { "/* c */ 1", -1, 0 },
    { "1 // c", -1, 0 },
    { "[1,/*c*/2]", -1, 0 },
    /* Whitespace other than space, tab, CR, LF */
    { "\f1", -1, 0 },
    { "1\v", -1, 0 },
    { "\xEF\xBB\xBF" "1", -1, 0 },             /* UTF-8 BOM */
    { "\xC2\xA0" "1", -1, 0 },                 /* U+00A0 */
    /* Strings */
    { "\"abc", -1, 0 },
    { "\"", -1, 0 },
    { "\"\\\"", -1, 0 },
    { "\"\\x\"", -1, 0 },
    { "\"\\'\"", -1, 0 },
    { "\"\\U0041\"", -1, 0 },
    { "\"\\u12\"", -1, 0 },
    { "\"\\u12G4\"", -1, 0 },
    { "\"\\u", -1, 0 },
    { "\"\x01\"", -1, 0 },
    { "\"\x1F\"", -1, 0 },
    { "\"a\tb\"", -1, 0 },
    { "\"a\nb\"", -1, 0 },
    /* Surrogates in escapes */
    { "\"\\uD83D\"", -1, 0 },
    { "\"\\uDE00\"", -1, 0 },
    { "\"\\uD83D\\u0041\"", -1, 0 },
    { "\"\\uD83Dx\"", -1, 0 },
    { "\"\\uD83D\\uD83D\"", -1, 0 },
    { "\"\\uDE00\\uD83D\"", -1, 0 },
    { "\"\\uD83D\\", -1, 0 },
    /* Malformed UTF-8 */
    { "\"\x80\"", -1, 0 },                     /* Lone continuation */
    { "\"\xC0\x80\"", -1, 0 },                 /* Overlong NUL */
    { "\"\xC1\xBF\"", -1, 0 },                 /* Overlong U+7F */
    { "\"\xE0\x80\x80\"", -1, 0 },             /* Overlong */
    { "\"\xE0\x9F\xBF\"", -1, 0 },             /* Overlong U+07FF */
    { "\"\xF0\x80\x80\x80\"", -1, 0 },         /* Overlong */
    { "\"\xF0\x8F\xBF\xBF\"", -1, 0 },         /* Overlong U+FFFF */
    { "\"\xED\xA0\x80\"", -1, 0 },             /* U+D800 */
    { "\"\xED\xBF\xBF\"", -1, 0 },             /* U+DFFF */
    { "\"\xF4\x90\x80\x80\"", -1, 0 },         /* U+110000 */
    { "\"\xF5\x80\x80\x80\"", -1, 0 },
    { "\"\xFF\"", -1, 0 },
    { "\"\xE2\x82\"", -1, 0 },                 /* Truncated */
    { "\"\xE2\x82", -1, 0 },                   /* Truncated at the end */
    { "\"\xC3\x28\"", -1, 0 },                 /* Bad continuation */
    { "\xC3\xA9", -1, 0 },                     /* UTF-8 outside a string */
    /* NUL bytes */
    { "\"a\0b\"", 5, 0 },
    { "1\0", 2, 0 },
    { "\0" "1", 2, 0 },
    { "[1,\0]", 5, 0 },
    /* The length is respected */
    { "[1,2]", 4, 0 },
    { "1234", 2, 1 },
    { "\"ab\"", 3, 0 },
  };
  static const NestCase aNest[] = {
    { 512, "[", "", "]", 1, "512 arrays" },
    { 513, "[", "", "]", 0, "513 arrays" },
    { 512, "{\"a\":", "1", "}", 1, "512 objects" },
    { 513, "{\"a\":", "1", "}", 0, "513 objects" },
    { 256, "[{\"a\":", "[]", "}]", 0, "256 x (array, object) + array" },
    { 200000, "[", "", "]", 0, "200000 arrays" },
    { 200000, "[", "", "", 0, "200000 unclosed arrays" },
    { 511, "[", "1", "]", 1, "511 arrays around a number" },
  };
  /* clang-format on */
  size_t k;
  char *z;
  for (k = 0; k < sizeof(aCase) / sizeof(aCase[0]); k++) {
    const ValidCase *p = &aCase[k];
    CHECK(mpJsonValid(p->zJson, mpTestLen(p->zJson, p->nJson)) == p->bValid,
          p->zJson);
  }
  CHECK(mpJsonValid(0, 0) == 0, "NULL");
  CHECK(mpJsonValid("[1]", -1) == 1, "n < 0");

  /* Nesting: 512 levels are allowed, 513 are not. */
  for (k = 0; k < sizeof(aNest) / sizeof(aNest[0]); k++) {
    const NestCase *p = &aNest[k];
    z = mpTestNest(p->nLevel, p->zOpen, p->zMid, p->zClose);
    CHECK(mpJsonValid(z, -1) == p->bValid, p->zWhy);
    free(z);
  }
}

/* One expected member of an object. */
typedef struct MemberCase MemberCase;
struct MemberCase {
  const char *zKey;   /* Key text, with quotes and escapes */
  const char *zName;  /* Decoded key */
  int eType;          /* Value type */
  const char *zValue; /* Value text */
};

/*
** Check mpJsonObjectStart() and mpJsonNextMember() on a well-formed object
** with every kind of value, on empty objects and non-objects, and on
** malformed text that was never validated. Returns nothing.
*/
static void mpTestMembers(void) {
  static const char zDoc[] =
      " {\"a\":1, \"b\" : {\"c\":[1,{\"d\":2}]},\"e\\u0078\":\"s\\\"t\","
      "\"f\":[],\"g\":null,\"h\":true,\"i\":false,\"j\":-1.5e3,"
      "\"\\ud83d\\ude00\":{}, \"\":\"\"} ";
  /* clang-format off */
  static const MemberCase aMember[] = {
    { "\"a\"", "a", MP_JSON_NUMBER, "1" },
    { "\"b\"", "b", MP_JSON_OBJECT, "{\"c\":[1,{\"d\":2}]}" },
    { "\"e\\u0078\"", "ex", MP_JSON_STRING, "\"s\\\"t\"" },
    { "\"f\"", "f", MP_JSON_ARRAY, "[]" },
    { "\"g\"", "g", MP_JSON_NULL, "null" },
    { "\"h\"", "h", MP_JSON_TRUE, "true" },
    { "\"i\"", "i", MP_JSON_FALSE, "false" },
    { "\"j\"", "j", MP_JSON_NUMBER, "-1.5e3" },
    { "\"\\ud83d\\ude00\"", "\xF0\x9F\x98\x80", MP_JSON_OBJECT, "{}" },
    { "\"\"", "", MP_JSON_STRING, "\"\"" },
  };
  /* Malformed objects: how many members come out before -1. */
  static const struct {
    const char *zJson;
    int nGood;
  } aBad[] = {
    { "{", 0 },
    { "{ ", 0 },
    { "{,}", 0 },
    { "{,\"a\":1}", 0 },
    { "{\"a\"", 0 },
    { "{\"a\":", 0 },
    { "{\"a\":}", 0 },
    { "{\"a\" 1}", 0 },
    { "{\"a\":[1,2", 0 },
    { "{\"a\":01}", 0 },
    { "{\"a\\q\":1}", 0 },
    { "{a:1}", 0 },
    { "{\"a\":1", 0 },
    { "{\"a\":1,", 1 },
    { "{\"a\":1,}", 1 },
    { "{\"a\":1 \"b\":2}", 0 },
    { "{\"a\":1,,\"b\":2}", 1 },
    { "{\"a\":1,\"b\":2]", 1 },
  };
  /* clang-format on */
  MpJson j;
  MpJsonValue key, val;
  size_t k;
  int rc;
  char *z;

  CHECK(mpJsonValid(zDoc, -1) == 1, "member document");
  CHECK(mpJsonObjectStart(&j, zDoc, -1) == SQLITE_OK, "member document");
  for (k = 0; k < sizeof(aMember) / sizeof(aMember[0]); k++) {
    const MemberCase *p = &aMember[k];
    rc = mpJsonNextMember(&j, &key, &val);
    if (!CHECK(rc == 1, p->zKey)) return;
    CHECK(key.eType == MP_JSON_STRING, p->zKey);
    CHECK(key.n == (int)strlen(p->zKey), p->zKey);
    CHECK(memcmp(key.z, p->zKey, strlen(p->zKey)) == 0, p->zKey);
    CHECK(mpJsonKeyIs(&key, p->zName) == 1, p->zKey);
    CHECK(mpJsonKeyIs(&key, "zz") == 0, p->zKey);
    CHECK(val.eType == p->eType, p->zKey);
    CHECK(val.n == (int)strlen(p->zValue), p->zKey);
    CHECK(memcmp(val.z, p->zValue, strlen(p->zValue)) == 0, p->zKey);
  }
  CHECK(mpJsonNextMember(&j, &key, &val) == 0, "end of members");
  CHECK(mpJsonNextMember(&j, &key, &val) == 0, "end of members again");

  /* Objects with no members, and text that is not an object. */
  CHECK(mpJsonObjectStart(&j, "{}", -1) == SQLITE_OK, "{}");
  CHECK(mpJsonNextMember(&j, &key, &val) == 0, "{}");
  CHECK(mpJsonObjectStart(&j, " \n{ \t} ", -1) == SQLITE_OK, "{ }");
  CHECK(mpJsonNextMember(&j, &key, &val) == 0, "{ }");
  CHECK(mpJsonObjectStart(&j, "[1]", -1) == SQLITE_ERROR, "[1]");
  CHECK(mpJsonObjectStart(&j, "\"{\"", -1) == SQLITE_ERROR, "\"{\"");
  CHECK(mpJsonObjectStart(&j, "", 0) == SQLITE_ERROR, "empty");
  CHECK(mpJsonObjectStart(&j, "  ", -1) == SQLITE_ERROR, "blank");
  CHECK(mpJsonObjectStart(&j, 0, 0) == SQLITE_ERROR, "NULL");
  CHECK(mpJsonObjectStart(&j, "{}", 1) == SQLITE_OK, "{ cut");
  CHECK(mpJsonNextMember(&j, &key, &val) == -1, "{ cut");
  memset(&j, 0, sizeof(j));
  CHECK(mpJsonNextMember(&j, &key, &val) == -1, "zeroed MpJson");

  /* Malformed text, never validated. */
  for (k = 0; k < sizeof(aBad) / sizeof(aBad[0]); k++) {
    int nGood = 0;
    CHECK(mpJsonObjectStart(&j, aBad[k].zJson, -1) == SQLITE_OK, aBad[k].zJson);
    while ((rc = mpJsonNextMember(&j, &key, &val)) == 1)
      nGood++;
    CHECK(rc == -1, aBad[k].zJson);
    CHECK(nGood == aBad[k].nGood, aBad[k].zJson);
    CHECK(mpJsonNextMember(&j, &key, &val) == -1, aBad[k].zJson);
  }

  /* A member value may nest 511 more levels inside the object. */
  z = mpTestNest(511, "[", "", "]");
  {
    char *zObj = sqlite3_mprintf("{\"a\":%s}", z);
    CHECK(zObj != 0, "OOM");
    CHECK(mpJsonValid(zObj, -1) == 1, "object + 511 arrays");
    CHECK(mpJsonObjectStart(&j, zObj, -1) == SQLITE_OK, "object + 511");
    CHECK(mpJsonNextMember(&j, &key, &val) == 1, "object + 511");
    CHECK(val.eType == MP_JSON_ARRAY && val.n == 1022, "object + 511");
    sqlite3_free(zObj);
    zObj = sqlite3_mprintf("{\"a\":[%s]}", z);
    CHECK(zObj != 0, "OOM");
    CHECK(mpJsonValid(zObj, -1) == 0, "object + 512 arrays");
    CHECK(mpJsonObjectStart(&j, zObj, -1) == SQLITE_OK, "object + 512");
    CHECK(mpJsonNextMember(&j, &key, &val) == -1, "object + 512");
    sqlite3_free(zObj);
  }
  free(z);
}

/* One mpJsonString() case. */
typedef struct StringCase StringCase;
struct StringCase {
  const char *zJson; /* String literal, with quotes */
  const char *zOut;  /* Decoded bytes, or NULL if decoding must fail */
  int nOut;          /* Decoded length */
};

/*
** Check mpJsonString() and mpJsonKeyIs() on decoding: escapes, surrogate
** pairs, \u0000, raw UTF-8, and strings that must not decode. Returns
** nothing.
*/
static void mpTestStrings(void) {
  /* clang-format off */
  static const StringCase aCase[] = {
    { "\"\"", "", 0 },
    { "\"abc\"", "abc", 3 },
    { "\"a\\u0000b\"", "a\0b", 3 },
    { "\"\\u0000\"", "\0", 1 },
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8 },
    { "\"\\u0041\\u00e9\\u00E9\"", "A\xC3\xA9\xC3\xA9", 5 },
    { "\"\\u07FF\\u0800\"", "\xDF\xBF\xE0\xA0\x80", 5 },
    { "\"\\u20AC\"", "\xE2\x82\xAC", 3 },
    { "\"\\uFFFF\"", "\xEF\xBF\xBF", 3 },
    { "\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80", 4 },
    { "\"\\ud800\\udc00\"", "\xF0\x90\x80\x80", 4 },
    { "\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF", 4 },
    { "\"x\\uD83D\\uDE00y\"", "x\xF0\x9F\x98\x80y", 6 },
    { "\"\xC3\xA9\xF0\x9F\x98\x80\"", "\xC3\xA9\xF0\x9F\x98\x80", 6 },
    { "\"\x7F\"", "\x7F", 1 },
    /* Not decodable */
    { "\"\\uD83D\"", 0, 0 },
    { "\"\\uDE00\"", 0, 0 },
    { "\"\\uD83D\\u0041\"", 0, 0 },
    { "\"\\x\"", 0, 0 },
    { "\"\\\"", 0, 0 },
    { "\"a\"b\"", 0, 0 },
    { "\"\x01\"", 0, 0 },
    { "\"\xC0\x80\"", 0, 0 },
    { "\"abc", 0, 0 },
    { "abc\"", 0, 0 },
    { "\"", 0, 0 },
  };
  /* clang-format on */
  size_t k;
  MpJsonValue v;
  char *z;
  int n;
  for (k = 0; k < sizeof(aCase) / sizeof(aCase[0]); k++) {
    const StringCase *p = &aCase[k];
    v = mpTestValue(MP_JSON_STRING, p->zJson, -1);
    n = -1;
    z = mpJsonString(&v, &n);
    if (p->zOut == 0) {
      CHECK(z == 0, p->zJson);
      CHECK(n == 0, p->zJson);
      CHECK(mpJsonKeyIs(&v, "") == 0, p->zJson);
    } else if (CHECK(z != 0, p->zJson)) {
      CHECK(n == p->nOut, p->zJson);
      CHECK(memcmp(z, p->zOut, (size_t)p->nOut) == 0, p->zJson);
      CHECK(z[n] == 0, p->zJson);
      /* A key with an embedded NUL equals no C string. */
      CHECK(mpJsonKeyIs(&v, p->zOut) == (memchr(z, 0, (size_t)n) == 0),
            p->zJson);
      CHECK(mpJsonValid(p->zJson, -1) == 1, p->zJson);
    }
    sqlite3_free(z);
  }

  /* pnOut may be NULL; non-strings do not decode. */
  v = mpTestValue(MP_JSON_STRING, "\"ok\"", 4);
  z = mpJsonString(&v, 0);
  CHECK(z != 0 && strcmp(z, "ok") == 0, "pnOut NULL");
  sqlite3_free(z);
  v = mpTestValue(MP_JSON_NUMBER, "12", 2);
  n = -1;
  CHECK(mpJsonString(&v, &n) == 0 && n == 0, "number");
  v = mpTestValue(MP_JSON_OBJECT, "\"{}\"", 4);
  CHECK(mpJsonString(&v, &n) == 0, "type says object");
  CHECK(mpJsonString(0, &n) == 0, "NULL value");

  /* Key comparison: prefixes, case, and lengths. */
  v = mpTestValue(MP_JSON_STRING, "\"chat_id\"", 9);
  CHECK(mpJsonKeyIs(&v, "chat_id") == 1, "chat_id");
  CHECK(mpJsonKeyIs(&v, "chat") == 0, "chat");
  CHECK(mpJsonKeyIs(&v, "chat_idx") == 0, "chat_idx");
  CHECK(mpJsonKeyIs(&v, "Chat_id") == 0, "Chat_id");
  CHECK(mpJsonKeyIs(&v, "") == 0, "empty name");
  CHECK(mpJsonKeyIs(&v, 0) == 0, "NULL name");
  v = mpTestValue(MP_JSON_STRING, "\"\\u0063hat_i\\u0064\"", -1);
  CHECK(mpJsonKeyIs(&v, "chat_id") == 1, "escaped chat_id");
  CHECK(mpJsonKeyIs(&v, "chat_i") == 0, "escaped chat_i");
  v.eType = MP_JSON_NUMBER;
  CHECK(mpJsonKeyIs(&v, "chat_id") == 0, "not a string");
}

/* One mpJsonInt() case. */
typedef struct IntCase IntCase;
struct IntCase {
  const char *zNum; /* Number text */
  int rc;           /* Expected return code */
  i64 iVal;         /* Expected value when rc is SQLITE_OK */
};

/*
** Check mpJsonInt(): whole numbers in every spelling, the i64 limits,
** overflow, fractions and non-numbers. Returns nothing.
*/
static void mpTestInts(void) {
  const i64 mx = (i64)0x7FFFFFFFFFFFFFFFLL;
  const i64 mn = -mx - 1;
  /* clang-format off */
  const IntCase aCase[] = {
    { "0", SQLITE_OK, 0 },
    { "-0", SQLITE_OK, 0 },
    { "5", SQLITE_OK, 5 },
    { "-7", SQLITE_OK, -7 },
    { "5.0", SQLITE_OK, 5 },
    { "5.000", SQLITE_OK, 5 },
    { "1e3", SQLITE_OK, 1000 },
    { "1E3", SQLITE_OK, 1000 },
    { "1e+3", SQLITE_OK, 1000 },
    { "2.50e1", SQLITE_OK, 25 },
    { "100e-2", SQLITE_OK, 1 },
    { "-1200e-2", SQLITE_OK, -12 },
    { "0.0", SQLITE_OK, 0 },
    { "0e-400", SQLITE_OK, 0 },
    { "-0.000e99999999999999999999", SQLITE_OK, 0 },
    { "9223372036854775807", SQLITE_OK, mx },
    { "-9223372036854775808", SQLITE_OK, mn },
    { "-9223372036854775808.0", SQLITE_OK, mn },
    { "9.223372036854775807e18", SQLITE_OK, mx },
    { "92233720368547758070e-1", SQLITE_OK, mx },
    { "0.9223372036854775807e19", SQLITE_OK, mx },
    { "9223372036854775806", SQLITE_OK, mx - 1 },
    { "1000000000000000000", SQLITE_OK, 1000000000000000000LL },
    { "1e18", SQLITE_OK, 1000000000000000000LL },
    { "-1e18", SQLITE_OK, -1000000000000000000LL },
    /* Whole but out of range */
    { "9223372036854775808", SQLITE_RANGE, 0 },
    { "-9223372036854775809", SQLITE_RANGE, 0 },
    { "9223372036854775807.0e1", SQLITE_RANGE, 0 },
    { "1e19", SQLITE_RANGE, 0 },
    { "10000000000000000000", SQLITE_RANGE, 0 },
    { "18446744073709551616", SQLITE_RANGE, 0 },
    { "99999999999999999999", SQLITE_RANGE, 0 },
    { "1e400", SQLITE_RANGE, 0 },
    { "1.5e400", SQLITE_RANGE, 0 },
    { "-1e99999999999999999999", SQLITE_RANGE, 0 },
    /* Fractional */
    { "5.5", SQLITE_MISMATCH, 0 },
    { "-0.5", SQLITE_MISMATCH, 0 },
    { "1e-1", SQLITE_MISMATCH, 0 },
    { "1e-400", SQLITE_MISMATCH, 0 },
    { "1.00000000000000000000000000001", SQLITE_MISMATCH, 0 },
    { "12345678901234567890e-10", SQLITE_MISMATCH, 0 },
    { "9223372036854775807.5", SQLITE_MISMATCH, 0 },
    { "1e-99999999999999999999", SQLITE_MISMATCH, 0 },
    /* Not numbers */
    { "", SQLITE_MISMATCH, 0 },
    { "-", SQLITE_MISMATCH, 0 },
    { "01", SQLITE_MISMATCH, 0 },
    { "1.", SQLITE_MISMATCH, 0 },
    { "1e", SQLITE_MISMATCH, 0 },
    { "+1", SQLITE_MISMATCH, 0 },
    { "1 ", SQLITE_MISMATCH, 0 },
    { "0x1", SQLITE_MISMATCH, 0 },
    { "\"5\"", SQLITE_MISMATCH, 0 },
  };
  /* clang-format on */
  size_t k;
  MpJsonValue v;
  i64 iOut;
  for (k = 0; k < sizeof(aCase) / sizeof(aCase[0]); k++) {
    const IntCase *p = &aCase[k];
    v = mpTestValue(MP_JSON_NUMBER, p->zNum, -1);
    iOut = 12345;
    CHECK(mpJsonInt(&v, &iOut) == p->rc, p->zNum);
    CHECK(iOut == (p->rc == SQLITE_OK ? p->iVal : 12345), p->zNum);
  }
  v = mpTestValue(MP_JSON_STRING, "5", 1);
  CHECK(mpJsonInt(&v, &iOut) == SQLITE_MISMATCH, "string type");
  v = mpTestValue(MP_JSON_NUMBER, "123", 2);
  CHECK(mpJsonInt(&v, &iOut) == SQLITE_OK && iOut == 12, "length kept");
  CHECK(mpJsonInt(0, &iOut) == SQLITE_MISMATCH, "NULL");
}

/* One mpJsonLookup() case. */
typedef struct LookupCase LookupCase;
struct LookupCase {
  const char *zJson;  /* The document */
  const char *zPath;  /* The path */
  int eType;          /* Expected type, or -1 if not found */
  const char *zValue; /* Expected value text */
};

/*
** Check mpJsonLookup(): paths that are found, missing keys, wrong types on
** the way, array indexes out of range, malformed paths and documents
** malformed along the way. Returns nothing.
*/
static void mpTestLookup(void) {
  static const char zDoc[] =
      "{\"ok\":true,\"result\":{\"message_id\":42,\"chat\":{\"id\":-100}},"
      "\"parameters\":{\"retry_after\":30},"
      "\"items\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}],"
      "\"e\\u0078\":\"esc\",\"a.b\":1,\"dup\":1,\"dup\":2,\"n\":null}";
  /* clang-format off */
  static const LookupCase aCase[] = {
    { zDoc, "$", MP_JSON_OBJECT, zDoc },
    { zDoc, "$.ok", MP_JSON_TRUE, "true" },
    { zDoc, "$.result.message_id", MP_JSON_NUMBER, "42" },
    { zDoc, "$.result.chat.id", MP_JSON_NUMBER, "-100" },
    { zDoc, "$.result.chat", MP_JSON_OBJECT, "{\"id\":-100}" },
    { zDoc, "$.parameters.retry_after", MP_JSON_NUMBER, "30" },
    { zDoc, "$.items[0]", MP_JSON_OBJECT, "{\"name\":\"a\"}" },
    { zDoc, "$.items[2].name", MP_JSON_STRING, "\"c\"" },
    { zDoc, "$.ex", MP_JSON_STRING, "\"esc\"" },
    { zDoc, "$.\"a.b\"", MP_JSON_NUMBER, "1" },
    { zDoc, "$.dup", MP_JSON_NUMBER, "1" },
    { zDoc, "$.n", MP_JSON_NULL, "null" },
    /* Not found */
    { zDoc, "$.missing", -1, 0 },
    { zDoc, "$.result.missing", -1, 0 },
    { zDoc, "$.Result", -1, 0 },
    { zDoc, "$.a", -1, 0 },
    { zDoc, "$.a.b", -1, 0 },
    { zDoc, "$.e\\u0078", -1, 0 },
    { zDoc, "$.items[3]", -1, 0 },
    { zDoc, "$.items[3].name", -1, 0 },
    { zDoc, "$.items[99999999999999999999]", -1, 0 },
    { zDoc, "$.items[0].missing", -1, 0 },
    /* Wrong type on the way */
    { zDoc, "$.ok.x", -1, 0 },
    { zDoc, "$.ok[0]", -1, 0 },
    { zDoc, "$.result[0]", -1, 0 },
    { zDoc, "$.items.name", -1, 0 },
    { zDoc, "$[0]", -1, 0 },
    { zDoc, "$.n.x", -1, 0 },
    { zDoc, "$.result.message_id.x", -1, 0 },
    /* Malformed paths */
    { zDoc, "", -1, 0 },
    { zDoc, "ok", -1, 0 },
    { zDoc, "$ok", -1, 0 },
    { zDoc, "$.", -1, 0 },
    { zDoc, "$..ok", -1, 0 },
    { zDoc, "$.ok.", -1, 0 },
    { zDoc, "$.\"ok", -1, 0 },
    { zDoc, "$.items[", -1, 0 },
    { zDoc, "$.items[]", -1, 0 },
    { zDoc, "$.items[1", -1, 0 },
    { zDoc, "$.items[a]", -1, 0 },
    { zDoc, "$.items[-1]", -1, 0 },
    { zDoc, "$.items[#-1]", -1, 0 },
    { zDoc, "$.items[0]x", -1, 0 },
    /* Arrays at the top, whitespace everywhere */
    { "[10,20,30]", "$[1]", MP_JSON_NUMBER, "20" },
    { "[10,20,30]", "$[3]", -1, 0 },
    { "[]", "$[0]", -1, 0 },
    { "[[1,[2,3]]]", "$[0][1][1]", MP_JSON_NUMBER, "3" },
    { " { \"a\" : [ 1 , \"x\" ] } ", "$.a[1]", MP_JSON_STRING, "\"x\"" },
    { " { \"a\" : [ 1 , \"x\" ] } ", "$", MP_JSON_OBJECT,
      "{ \"a\" : [ 1 , \"x\" ] }" },
    { "\"s\"", "$", MP_JSON_STRING, "\"s\"" },
    { "{\"\":5}", "$.\"\"", MP_JSON_NUMBER, "5" },
    /* Malformed along the way */
    { "", "$", -1, 0 },
    { "  ", "$", -1, 0 },
    { "{\"a\":}", "$", -1, 0 },
    { "{\"r\":{\"m\":}}", "$.r.m", -1, 0 },
    { "{\"r\":{\"m\":01}}", "$.r.m", -1, 0 },
    { "{\"a\":1,\"b\":", "$.b", -1, 0 },
    { "{\"a\":[1,}", "$.b", -1, 0 },
    { "{\"a\":1 \"b\":2}", "$.b", -1, 0 },
    { "[1,,2]", "$[2]", -1, 0 },
    { "[1 2]", "$[1]", -1, 0 },
    { "{\"a\":\"\\uD800\"}", "$.a", -1, 0 },
    { "{\"a\\uD800\":1,\"b\":2}", "$.b", -1, 0 },
    { "{\"a\":tru}", "$.a", -1, 0 },
    { "[01]", "$[0]", -1, 0 },
    { "[1,01]", "$[0]", MP_JSON_NUMBER, "1" },
    { "[1 2]", "$[0]", -1, 0 },
    { "[1,2", "$[1]", -1, 0 },
    { "{\"a\":1}x", "$", -1, 0 },
    { "1 2", "$", -1, 0 },
    { "[1,2", "$[0]", MP_JSON_NUMBER, "1" },
  };
  /* clang-format on */
  size_t k;
  MpJsonValue v;
  char *z;
  for (k = 0; k < sizeof(aCase) / sizeof(aCase[0]); k++) {
    const LookupCase *p = &aCase[k];
    int rc = mpJsonLookup(p->zJson, -1, p->zPath, &v);
    if (p->eType < 0) {
      CHECK(rc == 0, p->zPath);
    } else if (CHECK(rc == 1, p->zPath)) {
      CHECK(v.eType == p->eType, p->zPath);
      CHECK(v.n == (int)strlen(p->zValue), p->zPath);
      CHECK(memcmp(v.z, p->zValue, strlen(p->zValue)) == 0, p->zPath);
    }
  }
  CHECK(mpJsonLookup(0, 0, "$", &v) == 0, "NULL document");
  CHECK(mpJsonLookup(zDoc, -1, 0, &v) == 0, "NULL path");
  CHECK(mpJsonLookup("[1,2]", 3, "$[1]", &v) == 0, "length respected");

  /* Values at depth 512 are found; a step to depth 513 is not taken. */
  z = mpTestNest(512, "[", "", "]");
  CHECK(mpJsonLookup(z, -1, "$[0][0]", &v) == 1 && v.n == 1020, "deep");
  free(z);
  z = mpTestNest(512, "{\"a\":", "7", "}");
  {
    sqlite3_str *pPath = sqlite3_str_new(0);
    char *zPath;
    int i;
    sqlite3_str_appendchar(pPath, 1, '$');
    for (i = 0; i < 512; i++)
      sqlite3_str_appendall(pPath, ".a");
    zPath = sqlite3_str_finish(pPath);
    CHECK(zPath != 0, "OOM");
    CHECK(mpJsonLookup(z, -1, zPath, &v) == 1, "512 steps");
    CHECK(v.eType == MP_JSON_NUMBER && v.n == 1 && v.z[0] == '7', "512 steps");
    sqlite3_free(zPath);
  }
  free(z);
}

/* One mpJsonAppendString() case. */
typedef struct AppendCase AppendCase;
struct AppendCase {
  const char *zIn;  /* Input bytes */
  int nIn;          /* Their length, or -1 for strlen */
  const char *zOut; /* Expected literal */
};

/*
** Check that mpJsonAppendString() of zIn[0..nIn) (nIn < 0: all of zIn)
** writes zWant (NULL: any literal), and that what it writes is valid and
** decodes back to the input. zCase names the case. Returns nothing.
*/
static void mpTestAppendOne(const char *zIn, int nIn, const char *zWant,
                            const char *zCase) {
  int nBytes = mpTestLen(zIn, nIn);
  sqlite3_str *pStr = sqlite3_str_new(0);
  char *zOut;
  mpJsonAppendString(pStr, zIn, nIn);
  CHECK(sqlite3_str_errcode(pStr) == SQLITE_OK, zCase);
  zOut = sqlite3_str_finish(pStr);
  if (CHECK(zOut != 0, zCase)) {
    MpJsonValue v = mpTestValue(MP_JSON_STRING, zOut, -1);
    int nBack = -1;
    char *zBack;
    if (zWant) CHECK(strcmp(zOut, zWant) == 0, zCase);
    CHECK(mpJsonValid(zOut, -1) == 1, zCase);
    zBack = mpJsonString(&v, &nBack);
    CHECK(zBack != 0 && nBack == nBytes, zCase);
    CHECK(zBack != 0 && memcmp(zBack, zIn, (size_t)nBytes) == 0, zCase);
    sqlite3_free(zBack);
  }
  sqlite3_free(zOut);
}

/*
** Check mpJsonAppendString(): each escape, pass-through bytes, embedded
** NUL, and that every literal it writes is valid and decodes back to the
** input. Returns nothing.
*/
static void mpTestAppend(void) {
  /* clang-format off */
  static const AppendCase aCase[] = {
    { "", -1, "\"\"" },
    { "abc", -1, "\"abc\"" },
    { "a\"b", -1, "\"a\\\"b\"" },
    { "\\", -1, "\"\\\\\"" },
    { "/", -1, "\"/\"" },
    { "\n\t\r\b\f", -1, "\"\\n\\t\\r\\b\\f\"" },
    { "\x01", -1, "\"\\u0001\"" },
    { "\x1F", -1, "\"\\u001f\"" },
    { "\x0B", -1, "\"\\u000b\"" },
    { "\x7F", -1, "\"\\u007f\"" },
    { "a\0b", 3, "\"a\\u0000b\"" },
    { "\xC3\xA9\xF0\x9F\x98\x80", -1, "\"\xC3\xA9\xF0\x9F\x98\x80\"" },
    { "x \"y\" \\z\\ ", -1, "\"x \\\"y\\\" \\\\z\\\\ \"" },
    { "tail\n", -1, "\"tail\\n\"" },
    { "abcdef", 3, "\"abc\"" },
  };
  /* clang-format on */
  char aAscii[128];
  size_t k;
  for (k = 0; k < sizeof(aCase) / sizeof(aCase[0]); k++) {
    mpTestAppendOne(aCase[k].zIn, aCase[k].nIn, aCase[k].zOut, aCase[k].zOut);
  }

  /* Every byte below 0x80 round-trips. */
  for (k = 0; k < sizeof(aAscii); k++)
    aAscii[k] = (char)k;
  mpTestAppendOne(aAscii, (int)sizeof(aAscii), 0, "all ASCII");
  mpJsonAppendString(0, "x", 1);
  CHECK(1, "NULL sqlite3_str");
}

/* A special byte sequence for mpTestBoundaries(), with its length. */
typedef struct Token Token;
struct Token {
  const char *z; /* The bytes */
  int n;         /* How many */
};

/*
** Writes nPad spaces, zOpen, a string literal of nA 'a', the token, nB
** 'b', then zClose into zBuf (room for 256 bytes). Returns the length.
*/
static int mpTestBuild(char *zBuf, int nPad, const char *zOpen, int nA,
                       const Token *pTok, int nB, const char *zClose) {
  int n = 0;
  memset(zBuf, ' ', (size_t)nPad);
  n += nPad;
  memcpy(zBuf + n, zOpen, strlen(zOpen));
  n += (int)strlen(zOpen);
  zBuf[n++] = '"';
  memset(zBuf + n, 'a', (size_t)nA);
  n += nA;
  memcpy(zBuf + n, pTok->z, (size_t)pTok->n);
  n += pTok->n;
  memset(zBuf + n, 'b', (size_t)nB);
  n += nB;
  zBuf[n++] = '"';
  memcpy(zBuf + n, zClose, strlen(zClose));
  n += (int)strlen(zClose);
  return n;
}

/*
** Check the string scanner where its eight-bytes-at-a-time loop hands
** over to the byte that stops it: each escape, control character, quote,
** NUL and well- or ill-formed UTF-8 sequence at every offset of ASCII runs
** of up to 20 bytes, at every alignment, as a bare string, an array
** element and a member value, against the oracle (validity, decoding,
** strings in place, the checking and skipping walks). Returns nothing.
*/
static void mpTestBoundaries(void) {
  /* clang-format off */
  static const Token aTok[] = {
    { "", 0 }, { "\"", 1 }, { "\\", 1 }, { "\\n", 2 }, { "\\\"", 2 },
    { "\\\\", 2 }, { "\\\\\"", 3 }, { "\\/", 2 }, { "\\u00e9", 6 },
    { "\\u0000", 6 }, { "\\ud83d\\ude00", 12 }, { "\\ud83d", 6 },
    { "\\ude00", 6 }, { "\\x", 2 }, { "\\u12", 4 }, { "\0", 1 },
    { "\x01", 1 }, { "\x1f", 1 }, { "\x7f", 1 }, { " ]}", 3 },
    { "\xc3\xa9", 2 }, { "\xe2\x82\xac", 3 }, { "\xf0\x9f\x98\x80", 4 },
    { "\xc3\xa9\xd0\x96\xe2\x82\xac", 7 }, { "\xc3", 1 }, { "\xa9", 1 },
    { "\xc0\x80", 2 }, { "\xed\xa0\x80", 3 }, { "\xf4\x90\x80\x80", 4 },
    { "\xf0\x8f\xbf\xbf", 4 }, { "\xe2\x82", 2 }, { "\xff", 1 },
  };
  static const char *const azForm[][2] = {
    { "", "" }, { "[", "]" }, { "{\"k\":", ",\"z\":[\"\\\\\"]}" },
  };
  /* clang-format on */
  char zBuf[256];
  for (int nPad = 0; nPad < 8; nPad++) {
    for (int nLen = 0; nLen <= 20; nLen++) {
      for (int nA = 0; nA <= nLen; nA++) {
        for (size_t t = 0; t < sizeof(aTok) / sizeof(aTok[0]); t++) {
          for (size_t f = 0; f < sizeof(azForm) / sizeof(azForm[0]); f++) {
            int n = mpTestBuild(zBuf, nPad, azForm[f][0], nA, &aTok[t],
                                nLen - nA, azForm[f][1]);
            const char *zWhy = oracleCompare(zBuf, n);
            if (!CHECK(zWhy == 0, zWhy)) {
              fprintf(stderr, "  input: %.*s\n", n, zBuf);
              return;
            }
            /* The bare string, cut short at every length. */
            if (f == 0 && nPad == 0) {
              for (int k = 0; k < n; k++) {
                zWhy = oracleCompare(zBuf, k);
                if (!CHECK(zWhy == 0, zWhy)) return;
              }
            }
          }
        }
      }
    }
  }
}

/*
** Return a pseudo-random number below n from *pSeed (an LCG: the same
** documents on every run).
*/
static int mpTestRand(unsigned *pSeed, int n) {
  *pSeed = *pSeed * 1103515245u + 12345u;
  return (int)((*pSeed >> 8) % (unsigned)n);
}

/*
** Append a random JSON value to pStr: strings of ASCII runs, escapes and
** UTF-8, numbers, literals, and arrays and objects up to nDepth deep, with
** random whitespace.
*/
static void mpTestGen(sqlite3_str *pStr, unsigned *pSeed, int nDepth) {
  static const char *const azPiece[] = {
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "\\\"",
    "\\\\",
    "\\n",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "[]{},:",
    " ",
    "\x7f",
  };
  static const char *const azScalar[] = {
    "0", "-1", "12.5e-3", "1E+9", "true", "false", "null", "\"\"",
  };
  static const char *const azWs[] = { "", "", " ", "\n\t", "\r\n  " };
  int e = mpTestRand(pSeed, nDepth > 0 ? 5 : 3);
  sqlite3_str_appendall(pStr, azWs[mpTestRand(pSeed, 5)]);
  if (e == 0) {
    sqlite3_str_appendall(pStr, azScalar[mpTestRand(pSeed, 8)]);
  } else if (e <= 2) {
    int nPiece = mpTestRand(pSeed, 6);
    sqlite3_str_appendchar(pStr, 1, '"');
    for (int k = 0; k < nPiece; k++) {
      const char *z = azPiece[mpTestRand(pSeed, 12)];
      int n = (int)strlen(z);
      sqlite3_str_append(pStr, z, k == 0 ? n : 1 + mpTestRand(pSeed, n));
    }
    sqlite3_str_appendchar(pStr, 1, '"');
  } else {
    int bObj = e == 4, nItem = mpTestRand(pSeed, 5);
    sqlite3_str_appendchar(pStr, 1, bObj ? '{' : '[');
    for (int k = 0; k < nItem; k++) {
      if (k) sqlite3_str_appendchar(pStr, 1, ',');
      if (bObj) {
        sqlite3_str_appendf(pStr, " \"k%d\" :", mpTestRand(pSeed, 4));
      }
      mpTestGen(pStr, pSeed, nDepth - 1);
    }
    sqlite3_str_appendall(pStr, azWs[mpTestRand(pSeed, 5)]);
    sqlite3_str_appendchar(pStr, 1, bObj ? '}' : ']');
  }
}

/*
** Compare the reader with the oracle on 20000 generated documents, half
** of them then damaged by one changed, removed or inserted byte. Returns
** nothing.
*/
static void mpTestGenerated(void) {
  static const char aByte[] = { '"',        '\\',       ']',        '}',
                                ',',        ':',        0,          0x1f,
                                (char)0x80, (char)0xc3, (char)0xff, 'u' };
  unsigned seed = 1;
  for (int k = 0; k < 20000; k++) {
    sqlite3_str *pStr = sqlite3_str_new(0);
    char *z;
    int n;
    const char *zWhy;
    mpTestGen(pStr, &seed, 4);
    n = sqlite3_str_length(pStr);
    z = sqlite3_str_finish(pStr);
    if (!CHECK(z != 0, "OOM")) return;
    if (n > 0 && mpTestRand(&seed, 2)) {
      int i = mpTestRand(&seed, n), eHow = mpTestRand(&seed, 3);
      char c = aByte[mpTestRand(&seed, (int)sizeof(aByte))];
      if (eHow == 0) {
        z[i] = c;
      } else if (eHow == 1) {
        memmove(z + i, z + i + 1, (size_t)(n - i));
        n--;
      } else {
        z = sqlite3_realloc(z, n + 2);
        if (!CHECK(z != 0, "OOM")) return;
        memmove(z + i + 1, z + i, (size_t)(n - i + 1));
        z[i] = c;
        n++;
      }
    }
    zWhy = oracleCompare(z, n);
    if (!CHECK(zWhy == 0, zWhy)) fprintf(stderr, "  input: %.*s\n", n, z);
    sqlite3_free(z);
  }
}

/*
** Check mpJsonStringView(), mpJsonValidStart() and mpJsonEnter() on their
** own terms, and mpJsonKeyIs() where its shortcut for keys without
** escapes decides. Returns nothing.
*/
static void mpTestInPlace(void) {
  /* clang-format off */
  static const struct {
    const char *zKey;  /* Key literal */
    const char *zName; /* Name compared with */
    int bEqual;        /* Expected mpJsonKeyIs() */
    const char *zWhy;  /* The case */
  } aKey[] = {
    { "\"a\\b\"", "a\\b", 0, "a backslash b is an escape" },
    { "\"a\\b\"", "a\b", 1, "a \\b decodes to backspace" },
    { "\"a\\u0062\"", "ab", 1, "escaped b" },
    { "\"\xc3\xa9t\xc3\xa9\"", "\xc3\xa9t\xc3\xa9", 1, "non-ASCII name" },
    { "\"\xc3\xa9t\xc3\xa9\"", "\xc3\xa9t\xc3\xa8", 0, "non-ASCII other" },
    { "\"\xc3\"", "\xc3", 0, "bytes equal, key malformed" },
    { "\"\x01\"", "\x01", 0, "control character in key" },
  };
  /* clang-format on */
  static const char zDoc[] =
      "[ {\"text\":\"plain\",\"esc\":\"a\\\"]\\\\\",\"e\":\"\"},"
      "\"x\\\\\", [\"}\", {\"k\": [1, -2.5e3, true, null]}], 7 ]";
  MpJson j, inner;
  MpJsonValue val, key;
  const char *z = 0;
  int n = -1;

  CHECK(mpJsonValidStart(&j, zDoc, -1, MP_JSON_ARRAY) == SQLITE_OK, "array");
  CHECK(j.bValid == 1, "array");
  CHECK(mpJsonNextElement(&j, &val) == 1 && val.eType == MP_JSON_OBJECT,
        "element 0");
  CHECK(mpJsonEnter(&inner, &val) == SQLITE_OK && inner.bValid, "enter");
  CHECK(mpJsonNextMember(&inner, &key, &val) == 1, "text");
  CHECK(mpJsonKeyIs(&key, "text"), "text");
  CHECK(mpJsonStringView(&val, &z, &n) == 1, "plain in place");
  CHECK(n == 5 && memcmp(z, "plain", 5) == 0, "plain in place");
  CHECK(mpJsonNextMember(&inner, &key, &val) == 1, "esc");
  z = 0;
  n = -1;
  CHECK(mpJsonStringView(&val, &z, &n) == 0 && z == 0 && n == -1,
        "escapes: not in place");
  CHECK(val.n == 8, "escaped quote and backslash skipped");
  CHECK(mpJsonNextMember(&inner, &key, &val) == 1, "empty");
  CHECK(mpJsonStringView(&val, &z, &n) == 1 && n == 0, "empty in place");
  CHECK(mpJsonNextMember(&inner, &key, &val) == 0, "end of object");
  CHECK(mpJsonNextElement(&j, &val) == 1 && val.n == 5, "\"x\\\\\"");
  CHECK(mpJsonNextElement(&j, &val) == 1 && val.eType == MP_JSON_ARRAY,
        "nested array");
  CHECK(mpJsonNextElement(&j, &val) == 1 && val.n == 1, "7");
  CHECK(mpJsonNextElement(&j, &val) == 0, "end of array");
  CHECK(mpJsonStringView(&val, &z, &n) == 0, "number not in place");
  CHECK(mpJsonStringView(0, &z, &n) == 0, "NULL value");

  CHECK(mpJsonValidStart(&j, zDoc, -1, MP_JSON_OBJECT) == SQLITE_ERROR,
        "an array is not an object");
  CHECK(mpJsonValidStart(&j, "{\"a\":1}", -1, MP_JSON_OBJECT) == SQLITE_OK,
        "object");
  CHECK(mpJsonNextMember(&j, &key, &val) == 1 && mpJsonKeyIs(&key, "a"),
        "object");
  CHECK(mpJsonValidStart(&j, "[1,]", -1, MP_JSON_ARRAY) == SQLITE_ERROR,
        "invalid array");
  CHECK(j.z == 0 && mpJsonNextElement(&j, &val) == -1, "invalid array");
  CHECK(mpJsonValidStart(&j, "\"[]\"", -1, MP_JSON_ARRAY) == SQLITE_ERROR,
        "string");
  CHECK(mpJsonValidStart(&j, "[]", -1, MP_JSON_STRING) == SQLITE_ERROR,
        "type string");
  CHECK(mpJsonValidStart(&j, 0, 0, MP_JSON_ARRAY) == SQLITE_ERROR, "NULL");
  val = mpTestValue(MP_JSON_STRING, "\"[]\"", 4);
  CHECK(mpJsonEnter(&j, &val) == SQLITE_ERROR, "enter a string");
  CHECK(mpJsonEnter(&j, 0) == SQLITE_ERROR, "enter NULL");

  /* mpJsonKeyIs() without decoding: equal lengths, escapes, non-ASCII. */
  for (size_t k = 0; k < sizeof(aKey) / sizeof(aKey[0]); k++) {
    key = mpTestValue(MP_JSON_STRING, aKey[k].zKey, -1);
    CHECK(mpJsonKeyIs(&key, aKey[k].zName) == aKey[k].bEqual, aKey[k].zWhy);
  }
}

/*
** Run every table, print the totals and return 0 if nothing failed, else 1.
** Also checks that the tests freed all they took from SQLite.
*/
int main(void) {
  mpTestValid();
  mpTestMembers();
  mpTestStrings();
  mpTestInts();
  mpTestLookup();
  mpTestAppend();
  mpTestInPlace();
  mpTestBoundaries();
  mpTestGenerated();
  CHECK(sqlite3_memory_used() == 0, "memory leaked");
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail == 0 ? 0 : 1;
}
