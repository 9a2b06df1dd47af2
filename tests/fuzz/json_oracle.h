/*
** SPDX-License-Identifier: MIT
**
** json_oracle.h: a second, deliberately plain reading of the JSON that
** mp_json.c accepts, for differential tests (tests/unit/test_json.c and
** tests/fuzz/fuzz_json.c). It is recursive descent over one byte at a
** time, decodes every code point and checks its range; it shares nothing
** with mp_json.c's class table, word-at-a-time scans and skipping walks.
**
**   oracleValid(z, n)                 1 if z[0..n) is one JSON value
**   oracleDecode(z, n, aOut, &nOut)   1 if z[0..n) is exactly one string
**                                     literal; its content into aOut
**   oracleCompare(z, n)               NULL if mp_json.c agrees with the
**                                     oracle on z[0..n), else what differs
**
** oracleCompare() calls mp_json.c: include mp_int.h first.
**
** The grammar is the one mp_json.c documents: RFC 8259, whitespace space,
** tab, CR and LF, at most ORACLE_MAX_DEPTH arrays and objects open, strings
** of well-formed UTF-8 (no overlong forms, surrogates or code points above
** U+10FFFF) without control characters, \u surrogates only in pairs, and
** \u0000 allowed (it decodes to a NUL byte).
*/
#ifndef JSON_ORACLE_H
#define JSON_ORACLE_H

#include <stdlib.h>
#include <string.h>

#define ORACLE_MAX_DEPTH 512 /* MP_JSON_MAX_DEPTH */

typedef struct Oracle Oracle;
struct Oracle {
  const unsigned char *z; /* The text */
  int n;                  /* Its length */
  int i;                  /* Read position */
  unsigned char *aOut;    /* Decoded string content, or NULL */
  int nOut;               /* Bytes written to aOut */
};

/*
** Skips JSON whitespace.
*/
static void oracleWs(Oracle *p) {
  while (p->i < p->n && (p->z[p->i] == ' ' || p->z[p->i] == '\t' ||
                         p->z[p->i] == '\r' || p->z[p->i] == '\n')) {
    p->i++;
  }
}

/*
** Consumes byte c if it comes next. Returns 1 if it did.
*/
static int oracleEat(Oracle *p, int c) {
  if (p->i < p->n && p->z[p->i] == c) {
    p->i++;
    return 1;
  }
  return 0;
}

/*
** Appends code point cp to p->aOut (if any) as UTF-8.
*/
static void oraclePut(Oracle *p, unsigned cp) {
  unsigned char a[4];
  int k;
  if (cp < 0x80) {
    a[0] = (unsigned char)cp;
    k = 1;
  } else if (cp < 0x800) {
    a[0] = (unsigned char)(0xC0 + (cp >> 6));
    a[1] = (unsigned char)(0x80 + (cp & 63));
    k = 2;
  } else if (cp < 0x10000) {
    a[0] = (unsigned char)(0xE0 + (cp >> 12));
    a[1] = (unsigned char)(0x80 + ((cp >> 6) & 63));
    a[2] = (unsigned char)(0x80 + (cp & 63));
    k = 3;
  } else {
    a[0] = (unsigned char)(0xF0 + (cp >> 18));
    a[1] = (unsigned char)(0x80 + ((cp >> 12) & 63));
    a[2] = (unsigned char)(0x80 + ((cp >> 6) & 63));
    a[3] = (unsigned char)(0x80 + (cp & 63));
    k = 4;
  }
  if (p->aOut) memcpy(p->aOut + p->nOut, a, (size_t)k);
  p->nOut += k;
}

/*
** Reads four hex digits. Returns their value, or -1.
*/
static long oracleHex4(Oracle *p) {
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int c = p->i < p->n ? p->z[p->i] : -1;
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
    p->i++;
  }
  return v;
}

/*
** Reads one character of string content that is not an escape: ASCII
** from 0x20, or a UTF-8 sequence decoded into its code point, whose
** range is then checked. Returns 1, or 0 if it is not allowed.
*/
static int oracleChar(Oracle *p) {
  unsigned c = p->z[p->i], cp, nMin;
  int nTrail;
  if (c < 0x20) return 0;
  if (c < 0x80) {
    oraclePut(p, c);
    p->i++;
    return 1;
  }
  if (c >= 0xF0 && c < 0xF8) {
    nTrail = 3;
    cp = c & 7;
    nMin = 0x10000;
  } else if (c >= 0xE0 && c < 0xF0) {
    nTrail = 2;
    cp = c & 15;
    nMin = 0x800;
  } else if (c >= 0xC0 && c < 0xE0) {
    nTrail = 1;
    cp = c & 31;
    nMin = 0x80;
  } else {
    return 0;
  }
  for (int k = 1; k <= nTrail; k++) {
    if (p->i + k >= p->n || (p->z[p->i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p->z[p->i + k] & 63u);
  }
  if (cp < nMin || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  oraclePut(p, cp);
  p->i += nTrail + 1;
  return 1;
}

/*
** Reads the escape after a backslash. Returns 1, or 0 if it is not one
** of JSON's escapes or is a lone surrogate.
*/
static int oracleEscape(Oracle *p) {
  static const char zFrom[] = "\"\\/bfnrt";
  static const char zTo[] = "\"\\/\b\f\n\r\t";
  long hi, lo;
  const char *zAt;
  if (p->i >= p->n) return 0;
  zAt = p->z[p->i] ? strchr(zFrom, p->z[p->i]) : 0;
  if (zAt) {
    oraclePut(p, (unsigned char)zTo[zAt - zFrom]);
    p->i++;
    return 1;
  }
  if (!oracleEat(p, 'u')) return 0;
  hi = oracleHex4(p);
  if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) return 0;
  if (hi < 0xD800 || hi > 0xDBFF) {
    oraclePut(p, (unsigned)hi);
    return 1;
  }
  if (!oracleEat(p, '\\') || !oracleEat(p, 'u')) return 0;
  lo = oracleHex4(p);
  if (lo < 0xDC00 || lo > 0xDFFF) return 0;
  oraclePut(p, (unsigned)(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)));
  return 1;
}

/*
** Reads a string literal, writing its content to p->aOut (if any).
** Returns 1, or 0 if it is malformed.
*/
static int oracleString(Oracle *p) {
  if (!oracleEat(p, '"')) return 0;
  for (;;) {
    if (p->i >= p->n) return 0;
    if (oracleEat(p, '"')) return 1;
    if (oracleEat(p, '\\')) {
      if (!oracleEscape(p)) return 0;
    } else if (!oracleChar(p)) {
      return 0;
    }
  }
}

/*
** Reads one or more decimal digits. Returns 1, or 0 if none is there.
*/
static int oracleDigits(Oracle *p) {
  int i0 = p->i;
  while (p->i < p->n && p->z[p->i] >= '0' && p->z[p->i] <= '9')
    p->i++;
  return p->i > i0;
}

/*
** Reads a number. Returns 1, or 0 if it is malformed.
*/
static int oracleNumber(Oracle *p) {
  oracleEat(p, '-');
  if (!oracleEat(p, '0') && !oracleDigits(p)) return 0;
  if (oracleEat(p, '.') && !oracleDigits(p)) return 0;
  if (oracleEat(p, 'e') || oracleEat(p, 'E')) {
    if (!oracleEat(p, '+')) oracleEat(p, '-');
    if (!oracleDigits(p)) return 0;
  }
  return 1;
}

/*
** Reads one value after optional whitespace, with nDepth containers
** already open. Returns 1, or 0 if it is malformed or nested too deeply.
*/
static int oracleValue(Oracle *p, int nDepth) {
  static const char *const azWord[] = { "true", "false", "null" };
  int c, cClose;
  oracleWs(p);
  if (p->i >= p->n) return 0;
  c = p->z[p->i];
  if (c == '"') return oracleString(p);
  if (c == '-' || (c >= '0' && c <= '9')) return oracleNumber(p);
  if (c != '[' && c != '{') {
    for (int k = 0; k < 3; k++) {
      int nWord = (int)strlen(azWord[k]);
      if (p->n - p->i >= nWord && memcmp(p->z + p->i, azWord[k], nWord) == 0) {
        p->i += nWord;
        return 1;
      }
    }
    return 0;
  }
  if (nDepth >= ORACLE_MAX_DEPTH) return 0;
  cClose = c == '[' ? ']' : '}';
  p->i++;
  oracleWs(p);
  if (oracleEat(p, cClose)) return 1;
  for (;;) {
    if (c == '{') {
      oracleWs(p);
      if (!oracleString(p)) return 0;
      oracleWs(p);
      if (!oracleEat(p, ':')) return 0;
    }
    if (!oracleValue(p, nDepth + 1)) return 0;
    oracleWs(p);
    if (oracleEat(p, cClose)) return 1;
    if (!oracleEat(p, ',')) return 0;
  }
}

/*
** Returns 1 if z[0..n) is one JSON value with optional whitespace around
** it, else 0. n < 0 means strlen(z).
*/
static int oracleValid(const char *z, int n) {
  Oracle o;
  memset(&o, 0, sizeof(o));
  o.z = (const unsigned char *)z;
  o.n = n < 0 ? (int)strlen(z) : n;
  if (!oracleValue(&o, 0)) return 0;
  oracleWs(&o);
  return o.i == o.n;
}

/*
** Returns 1 if z[0..n) is exactly one string literal, and writes its
** content to aOut (room for n bytes; may be NULL) and its length to
** *pnOut. Returns 0 otherwise.
*/
static int oracleDecode(const char *z, int n, unsigned char *aOut, int *pnOut) {
  Oracle o;
  memset(&o, 0, sizeof(o));
  o.z = (const unsigned char *)z;
  o.n = n;
  o.aOut = aOut;
  if (!oracleString(&o) || o.i != n) return 0;
  if (pnOut) *pnOut = o.nOut;
  return 1;
}

/* --- Differential checks against mp_json.c ------------------------------- */

/*
** Compares mpJsonString() and mpJsonStringView() on string span pVal (or
** any span, bReader 0) with the oracle. Returns NULL, or what differs.
** bReader says pVal came from mp's reader, which mpJsonStringView()
** requires.
*/
static const char *oracleCompareString(const MpJsonValue *pVal, int bReader) {
  const char *zWhy = 0;
  unsigned char *aRef = malloc((size_t)pVal->n + 1);
  int nRef = 0, nDec = -1, bRef, nView = -1;
  const char *zView = 0;
  char *zDec;
  if (aRef == 0) abort();
  bRef = oracleDecode(pVal->z, pVal->n, aRef, &nRef);
  zDec = mpJsonString(pVal, &nDec);
  if ((zDec != 0) != bRef) {
    zWhy = bRef ? "mpJsonString refuses what the oracle decodes"
                : "mpJsonString decodes what the oracle refuses";
  } else if (zDec && (nDec != nRef || memcmp(zDec, aRef, (size_t)nRef))) {
    zWhy = "mpJsonString decodes differently from the oracle";
  } else if (zDec && memchr(zDec, 0, (size_t)nDec) == 0 &&
             !mpJsonKeyIs(pVal, zDec)) {
    zWhy = "mpJsonKeyIs: a string is not equal to its decoded value";
  } else if (bReader && bRef) {
    int bEsc = memchr(pVal->z, '\\', (size_t)pVal->n) != 0;
    int bView = mpJsonStringView(pVal, &zView, &nView);
    if (bView == bEsc) {
      zWhy = "mpJsonStringView: in place exactly when there is no escape";
    } else if (bView && (nView != nRef || memcmp(zView, aRef, (size_t)nRef))) {
      zWhy = "mpJsonStringView differs from the decoded string";
    }
  }
  sqlite3_free(zDec);
  free(aRef);
  return zWhy;
}

/*
** Returns 1 if values (or keys) a and b are the same span of the same type.
*/
static int oracleSameSpan(const MpJsonValue *a, const MpJsonValue *b) {
  return a->eType == b->eType && a->z == b->z && a->n == b->n;
}

/*
** Walks container pVal (a value mp's reader returned, or the document)
** twice in step, checking each value (mpJsonObjectStart() or
** mpJsonArrayStart() on its text) and skipping them (pSkip, started by
** mpJsonValidStart() or mpJsonEnter()): both must give the same members or
** elements and end the same way. Strings are compared with the oracle and
** containers walked the same way, nDepth levels deep at most; *pnBudget
** bounds the values visited. Returns NULL, or what differs.
*/
static const char *oracleCompareWalk(const MpJsonValue *pVal, MpJson *pSkip,
                                     int nDepth, int *pnBudget) {
  int bObj = pVal->eType == MP_JSON_OBJECT;
  MpJson check;
  if ((bObj ? mpJsonObjectStart(&check, pVal->z, pVal->n)
            : mpJsonArrayStart(&check, pVal->z, pVal->n)) != SQLITE_OK) {
    return "a container value does not start a walk";
  }
  while ((*pnBudget)-- > 0) {
    MpJsonValue k1, v1, k2, v2;
    const char *zWhy = 0;
    int rc1 = bObj ? mpJsonNextMember(&check, &k1, &v1)
                   : mpJsonNextElement(&check, &v1);
    int rc2 = bObj ? mpJsonNextMember(pSkip, &k2, &v2)
                   : mpJsonNextElement(pSkip, &v2);
    if (rc1 != rc2) return "skipping and checking walks end differently";
    if (rc1 != 1) return rc1 == 0 ? 0 : "a valid container walks to -1";
    if (!oracleSameSpan(&v1, &v2) || (bObj && !oracleSameSpan(&k1, &k2))) {
      return "skipping and checking walks give different values";
    }
    if (!oracleValid(v1.z, v1.n)) return "a value span is not valid JSON";
    if (bObj) zWhy = oracleCompareString(&k1, 1);
    if (zWhy == 0 && v1.eType == MP_JSON_STRING) {
      zWhy = oracleCompareString(&v1, 1);
    }
    if (zWhy == 0 && nDepth > 0 &&
        (v1.eType == MP_JSON_OBJECT || v1.eType == MP_JSON_ARRAY)) {
      MpJson inner;
      if (mpJsonEnter(&inner, &v1) != SQLITE_OK) return "mpJsonEnter failed";
      zWhy = oracleCompareWalk(&v1, &inner, nDepth - 1, pnBudget);
    }
    if (zWhy) return zWhy;
  }
  return 0;
}

/*
** Runs mp_json.c's reader over z[0..n) beside the oracle: validity, the
** decoding of z as one string literal, and for a valid array or object
** the checking and skipping walks. Returns NULL if everything agrees, or
** a description of the first difference.
*/
static const char *oracleCompare(const char *z, int n) {
  MpJsonValue doc;
  MpJson skip;
  const char *zWhy;
  int bValid = oracleValid(z, n), i = 0, nBudget = 2000;
  if (mpJsonValid(z, n) != bValid) {
    return bValid ? "mpJsonValid refuses what the oracle accepts"
                  : "mpJsonValid accepts what the oracle refuses";
  }
  doc.eType = MP_JSON_STRING;
  doc.z = z;
  doc.n = n;
  zWhy = oracleCompareString(&doc, 0);
  if (zWhy) return zWhy;
  while (i < n && (z[i] == ' ' || z[i] == '\t' || z[i] == '\r' || z[i] == '\n'))
    i++;
  doc.eType = i < n && z[i] == '[' ? MP_JSON_ARRAY : MP_JSON_OBJECT;
  if ((mpJsonValidStart(&skip, z, n, doc.eType) == SQLITE_OK) !=
      (bValid && i < n && (z[i] == '[' || z[i] == '{'))) {
    return "mpJsonValidStart disagrees with the oracle";
  }
  if (!bValid || i >= n || (z[i] != '[' && z[i] != '{')) return 0;
  return oracleCompareWalk(&doc, &skip, 8, &nBudget);
}

#endif /* JSON_ORACLE_H */
