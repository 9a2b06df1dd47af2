/*
** SPDX-License-Identifier: MIT
**
** mp_json.c: a small strict JSON reader, and a writer for string literals.
**
** The SQL functions that take JSON arguments use these routines; this file
** registers no SQL function of its own. The routines, in C:
**
**   mpJsonValid(z, n)                       1 if z[0..n) is one JSON value
**   mpJsonObjectStart(&j, z, n)             begin walking a top-level object
**   mpJsonArrayStart(&j, z, n)              ... or array
**   mpJsonValidStart(&j, z, n, eType)       check all of z, then walk it
**   mpJsonEnter(&j, &val)                   walk an object or array value
**   mpJsonNextElement(&j, &val)             1 per element, 0 at the end
**   mpJsonNextMember(&j, &key, &val)        1 per member, 0 at the end
**   mpJsonString(&val, &nOut)               decoded string; sqlite3_free it
**   mpJsonStringView(&val, &z, &n)          content in place, if no escapes
**   mpJsonInt(&val, &iOut)                  a whole number as an i64
**   mpJsonKeyIs(&key, "name")               compare a key by decoded value
**   mpJsonLookup(z, n, "$.a[2].b", &val)    follow a path
**   mpJsonAppendString(pStr, z, n)          append a JSON string literal
**
** Example:
**
**   MpJson j;
**   MpJsonValue k, v;
**   i64 iRetry;
**   if (mpJsonValid(z, n) && mpJsonObjectStart(&j, z, n) == SQLITE_OK) {
**     while (mpJsonNextMember(&j, &k, &v) == 1) {
**       if (!mpJsonKeyIs(&k, "retry_after")) continue;
**       if (mpJsonInt(&v, &iRetry) != SQLITE_OK) ...
**     }
**   }
**
** The grammar is RFC 8259 and nothing more: no comments, no trailing
** commas, no NaN or Infinity, no leading zeros, no unescaped control
** characters in strings, only the escapes \" \\ \/ \b \f \n \r \t \uXXXX,
** \u surrogates in pairs, and well-formed UTF-8 (no overlong forms, no
** encoded surrogates, nothing above U+10FFFF). Whitespace is space, tab,
** CR and LF. A NUL byte anywhere makes the text invalid.
**
** HOW IT WORKS
**
** One scanner, mpJsonScan(), finds where a value ends. It is iterative: an
** explicit stack of at most MP_JSON_MAX_DEPTH bytes records the open
** arrays and objects, so deep nesting fails cleanly instead of using up the
** C stack. Every other routine finds value ends through the scanner and
** checks every index against n, so walking text that was never passed to
** mpJsonValid() reads nothing outside z[0..n) and simply reports it as
** malformed. Values are spans of the caller's text (MpJsonValue.z and .n);
** nothing is copied until mpJsonString() decodes one string, and a string
** without escapes can be used in place (mpJsonStringView()).
**
** Strings, the bulk of most documents, are scanned eight bytes at a time
** while the bytes are plain ASCII (mpJsonWordSpecial()); a 256-entry class
** table sorts the byte that ends such a run: the closing quote, an escape,
** the start of a UTF-8 sequence (checked there) or a control character.
**
** Lengths: every routine that takes (z, n) reads z up to its first NUL when
** n is negative, as the SQLite interfaces do.
*/
#include "mp_int.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

/* Deepest nesting of arrays and objects that mpJsonValid() accepts. */
#define MP_JSON_MAX_DEPTH 512

/*
** Return the length to use for text z given length n: n itself when it is
** zero or more, otherwise the length of the NUL-terminated string z capped
** at INT_MAX. Returns 0 when z is NULL.
*/
static int mpJsonLength(const char *z, int n) {
  size_t nz;
  if (z == 0) return 0;
  if (n >= 0) return n;
  nz = strlen(z);
  return nz > (size_t)INT_MAX ? INT_MAX : (int)nz;
}

/*
** Return the index of the first byte at or after i in z[0..n) that is not
** JSON whitespace (space, tab, CR, LF), or n if there is none.
*/
static int mpJsonSkipWs(const char *z, int n, int i) {
  while (i < n &&
         (z[i] == ' ' || z[i] == '\t' || z[i] == '\n' || z[i] == '\r')) {
    i++;
  }
  return i;
}

/*
** Return the MP_JSON_* type of a value whose text starts with byte c. The
** byte is assumed to start a well-formed value.
*/
static int mpJsonTypeOf(char c) {
  switch (c) {
    case '{': return MP_JSON_OBJECT;
    case '[': return MP_JSON_ARRAY;
    case '"': return MP_JSON_STRING;
    case 't': return MP_JSON_TRUE;
    case 'f': return MP_JSON_FALSE;
    case 'n': return MP_JSON_NULL;
    default: return MP_JSON_NUMBER;
  }
}

/*
** Return the value 0..0xFFFF of the four hex digits at z[i..i+4), or -1 if
** fewer than four bytes remain before n or one of them is not a hex digit.
*/
static int mpJsonHex4(const char *z, int n, int i) {
  int v = 0;
  int k;
  if (n - i < 4) return -1;
  for (k = 0; k < 4; k++) {
    char c = z[i + k];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v += c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v += c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v += c - 'A' + 10;
    } else {
      return -1;
    }
  }
  return v;
}

/*
** Return the length (2, 3 or 4) of the well-formed UTF-8 sequence that
** starts at z[i], a byte of 0x80 or more, or 0 if the sequence is truncated
** by n, overlong, an encoded surrogate, above U+10FFFF or otherwise
** malformed. The ranges are those of Unicode's table 3-7.
*/
static int mpJsonUtf8Len(const u8 *z, int n, int i) {
  u8 c = z[i];
  u8 lo = 0x80; /* Smallest allowed second byte */
  u8 hi = 0xBF; /* Largest allowed second byte */
  int nTrail;   /* Continuation bytes that must follow */
  int k;
  if (c < 0xC2) return 0;
  if (c <= 0xDF) {
    nTrail = 1;
  } else if (c <= 0xEF) {
    nTrail = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c <= 0xF4) {
    nTrail = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n - i - 1 < nTrail) return 0;
  if (z[i + 1] < lo || z[i + 1] > hi) return 0;
  for (k = 2; k <= nTrail; k++) {
    if (z[i + k] < 0x80 || z[i + k] > 0xBF) return 0;
  }
  return nTrail + 1;
}

/*
** Write code point v (at most 0x10FFFF, not a surrogate) to aOut as UTF-8
** and return the number of bytes written, 1 to 4.
*/
static int mpJsonUtf8Put(int v, u8 *aOut) {
  if (v < 0x80) {
    aOut[0] = (u8)v;
    return 1;
  }
  if (v < 0x800) {
    aOut[0] = (u8)(0xC0 | (v >> 6));
    aOut[1] = (u8)(0x80 | (v & 0x3F));
    return 2;
  }
  if (v < 0x10000) {
    aOut[0] = (u8)(0xE0 | (v >> 12));
    aOut[1] = (u8)(0x80 | ((v >> 6) & 0x3F));
    aOut[2] = (u8)(0x80 | (v & 0x3F));
    return 3;
  }
  aOut[0] = (u8)(0xF0 | (v >> 18));
  aOut[1] = (u8)(0x80 | ((v >> 12) & 0x3F));
  aOut[2] = (u8)(0x80 | ((v >> 6) & 0x3F));
  aOut[3] = (u8)(0x80 | (v & 0x3F));
  return 4;
}

/*
** Decode one character of string content at z[*pi], where *pi < n and the
** closing quote lies at or after n. On success, write its UTF-8 bytes to
** aOut (room for 4), advance *pi past it and return how many bytes were
** written: never more than were read, so a decoder may write in place of
** what it has consumed. Return -1, leaving *pi alone, if the character is
** a quote, a control character, a bad escape, a lone surrogate or
** malformed UTF-8.
*/
static int mpJsonStrChar(const char *z, int n, int *pi, u8 *aOut) {
  const u8 *u = (const u8 *)z;
  int i = *pi;
  int v;
  int lo;
  u8 c = u[i];
  if (c < 0x20 || c == '"') return -1;
  if (c >= 0x80) {
    int k = mpJsonUtf8Len(u, n, i);
    if (k == 0) return -1;
    memcpy(aOut, u + i, (size_t)k);
    *pi = i + k;
    return k;
  }
  if (c != '\\') {
    aOut[0] = c;
    *pi = i + 1;
    return 1;
  }
  if (n - i < 2) return -1;
  switch (u[i + 1]) {
    case '"': aOut[0] = '"'; break;
    case '\\': aOut[0] = '\\'; break;
    case '/': aOut[0] = '/'; break;
    case 'b': aOut[0] = '\b'; break;
    case 'f': aOut[0] = '\f'; break;
    case 'n': aOut[0] = '\n'; break;
    case 'r': aOut[0] = '\r'; break;
    case 't': aOut[0] = '\t'; break;
    case 'u':
      v = mpJsonHex4(z, n, i + 2);
      if (v < 0 || (v >= 0xDC00 && v <= 0xDFFF)) return -1;
      i += 6;
      if (v >= 0xD800 && v <= 0xDBFF) {
        if (n - i < 6 || z[i] != '\\' || z[i + 1] != 'u') return -1;
        lo = mpJsonHex4(z, n, i + 2);
        if (lo < 0xDC00 || lo > 0xDFFF) return -1;
        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
      }
      *pi = i;
      return mpJsonUtf8Put(v, aOut);
    default: return -1;
  }
  *pi = i + 2;
  return 1;
}

/*
** Classes of the bytes inside a string literal, from aJsonStrClass[].
*/
#define MP_JSON_C_PLAIN 0 /* 0x20..0x7F but '"' and '\\': taken as it is */
#define MP_JSON_C_QUOTE 1 /* '"': the end of the literal */
#define MP_JSON_C_ESC   2 /* '\\': an escape follows */
#define MP_JSON_C_UTF8  3 /* 0x80..0xFF: part of a multi-byte character */
#define MP_JSON_C_CTRL  4 /* 0x00..0x1F: never allowed */

// clang-format off
static const u8 aJsonStrClass[256] = {
  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,  /* 0x00 */
  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,  /* 0x10 */
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x20 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x30 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x40 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,  /* 0x50 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x60 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x70 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0x80 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0x90 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0xA0 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0xB0 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0xC0 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0xD0 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0xE0 */
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0xF0 */
};
// clang-format on

/*
** Return nonzero if one of the 8 bytes of v is not plain string content:
** a control character, '"', '\\', or 0x80 and above. Each term sets a
** byte's high bit when that byte is special; a subtraction borrows only
** out of a byte that is special itself, so a word of plain bytes is never
** flagged and the lowest special byte always is.
*/
static u64 mpJsonWordSpecial(u64 v) {
  const u64 ones = 0x0101010101010101ull;
  u64 t = (v - ones * 0x20) | ((v ^ (ones * '"')) - ones) |
          ((v ^ (ones * '\\')) - ones) | v;
  return t & (ones * 0x80);
}

/*
** Return the index of the first byte at or after i in u[0..n) that is not
** plain string content (class MP_JSON_C_PLAIN), or n. Whole words of
** plain bytes are skipped eight at a time; on a little-endian machine the
** lowest flagged byte of the word that stops the run is the one.
*/
static int mpJsonSkipPlain(const u8 *u, int n, int i) {
  while (n - i >= 8) {
    u64 v, mask;
    memcpy(&v, u + i, 8);
    mask = mpJsonWordSpecial(v);
    if (mask) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return i + (__builtin_ctzll(mask) >> 3);
#else
      break;
#endif
    }
    i += 8;
  }
  while (i < n && aJsonStrClass[u[i]] == MP_JSON_C_PLAIN) {
    i++;
  }
  return i;
}

/*
** Scan the string literal whose opening quote is at z[i]. Return the index
** just past its closing quote, or -1 if it is malformed or runs past n.
** If aOut is not NULL, also write the decoded content there and its length
** to *pnOut: never more bytes than the literal's content, so room for
** n - i - 1 bytes is always enough. Plain bytes and well-formed UTF-8 are
** copied in runs; only escapes are decoded one by one.
*/
static int mpJsonScanString(const char *z, int n, int i, u8 *aOut, int *pnOut) {
  const u8 *u = (const u8 *)z;
  int iRun = ++i; /* First byte not yet written to aOut */
  int nOut = 0;   /* Bytes written to aOut */
  for (;;) {
    int eClass;
    i = mpJsonSkipPlain(u, n, i);
    if (i >= n) return -1;
    eClass = aJsonStrClass[u[i]];
    if (eClass == MP_JSON_C_QUOTE) break;
    if (eClass == MP_JSON_C_UTF8) {
      /* Characters of non-Latin text tend to follow each other. */
      do {
        int k = mpJsonUtf8Len(u, n, i);
        if (k == 0) return -1;
        i += k;
      } while (i < n && u[i] >= 0x80);
    } else if (eClass == MP_JSON_C_ESC) {
      u8 aBuf[4];
      u8 *pDst = aBuf; /* Where the escape decodes to */
      int k;
      if (aOut) {
        /* Write the run, then decode in place after it: an escape is
        ** never shorter than what it decodes to, so it fits. */
        if (i > iRun) memcpy(aOut + nOut, u + iRun, (size_t)(i - iRun));
        nOut += i - iRun;
        pDst = aOut + nOut;
      }
      k = mpJsonStrChar(z, n, &i, pDst);
      if (k < 0) return -1;
      nOut += k;
      iRun = i;
    } else {
      return -1;
    }
  }
  if (aOut) {
    memcpy(aOut + nOut, u + iRun, (size_t)(i - iRun));
    *pnOut = nOut + (i - iRun);
  }
  return i + 1;
}

/*
** Scan the number that starts at z[i]. Return the index just past it, or
** -1 if it does not match -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
** What follows the number is the caller's business: "01" scans as "0".
*/
static int mpJsonScanNumber(const char *z, int n, int i) {
  if (i < n && z[i] == '-') i++;
  if (i >= n) return -1;
  if (z[i] == '0') {
    i++;
  } else if (z[i] >= '1' && z[i] <= '9') {
    while (i < n && z[i] >= '0' && z[i] <= '9')
      i++;
  } else {
    return -1;
  }
  if (i < n && z[i] == '.') {
    i++;
    if (i >= n || z[i] < '0' || z[i] > '9') return -1;
    while (i < n && z[i] >= '0' && z[i] <= '9')
      i++;
  }
  if (i < n && (z[i] == 'e' || z[i] == 'E')) {
    i++;
    if (i < n && (z[i] == '+' || z[i] == '-')) i++;
    if (i >= n || z[i] < '0' || z[i] > '9') return -1;
    while (i < n && z[i] >= '0' && z[i] <= '9')
      i++;
  }
  return i;
}

/*
** Scan an object key and its colon, starting at z[i] (whitespace allowed
** before the key and before the colon). Return the index just past the
** colon, or -1 if they are not there.
*/
static int mpJsonScanKey(const char *z, int n, int i) {
  i = mpJsonSkipWs(z, n, i);
  if (i >= n || z[i] != '"') return -1;
  i = mpJsonScanString(z, n, i, 0, 0);
  if (i < 0) return -1;
  i = mpJsonSkipWs(z, n, i);
  if (i >= n || z[i] != ':') return -1;
  return i + 1;
}

/*
** Scan one complete value that starts at z[i], after optional whitespace.
** At most mxDepth arrays and objects may be open at once (the value itself
** counts as one if it is a container; mxDepth is capped at
** MP_JSON_MAX_DEPTH). Return the index just past the value, or -1 if it is
** malformed, nested too deeply or runs past n. Uses no recursion.
*/
static int mpJsonScan(const char *z, int n, int i, int mxDepth) {
  u8 aStack[MP_JSON_MAX_DEPTH]; /* Open containers: '{' or '[' */
  int nDepth = 0;               /* Entries used in aStack[] */
  char c;
  if (mxDepth > MP_JSON_MAX_DEPTH) mxDepth = MP_JSON_MAX_DEPTH;
  for (;;) {
    /* A value must start here. */
    i = mpJsonSkipWs(z, n, i);
    if (i >= n) return -1;
    c = z[i];
    if (c == '{' || c == '[') {
      if (nDepth >= mxDepth) return -1;
      aStack[nDepth++] = (u8)c;
      i = mpJsonSkipWs(z, n, i + 1);
      if (i >= n) return -1;
      if (z[i] != (c == '{' ? '}' : ']')) {
        if (c == '{') {
          i = mpJsonScanKey(z, n, i);
          if (i < 0) return -1;
        }
        continue;
      }
      nDepth--;
      i++;
    } else if (c == '"') {
      i = mpJsonScanString(z, n, i, 0, 0);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      i = mpJsonScanNumber(z, n, i);
    } else if (c == 't' && n - i >= 4 && memcmp(z + i, "true", 4) == 0) {
      i += 4;
    } else if (c == 'f' && n - i >= 5 && memcmp(z + i, "false", 5) == 0) {
      i += 5;
    } else if (c == 'n' && n - i >= 4 && memcmp(z + i, "null", 4) == 0) {
      i += 4;
    } else {
      return -1;
    }
    if (i < 0) return -1;

    /* A value ended: close containers until one expects another value. */
    for (;;) {
      u8 cTop;
      if (nDepth == 0) return i;
      i = mpJsonSkipWs(z, n, i);
      if (i >= n) return -1;
      cTop = aStack[nDepth - 1];
      if (z[i] == ',') {
        i++;
        if (cTop == '{') {
          i = mpJsonScanKey(z, n, i);
          if (i < 0) return -1;
        }
        break;
      }
      if (z[i] != (cTop == '{' ? '}' : ']')) return -1;
      nDepth--;
      i++;
    }
  }
}

/*
** Return the index just past the string literal whose opening quote is at
** z[i], in text known to be valid: at the first quote that an even run of
** backslashes (or none) precedes. Nothing else is looked at, and memchr()
** finds the quotes. Returns -1 if the literal runs past n.
*/
static int mpJsonSkipString(const char *z, int n, int i) {
  int iOpen = i;
  for (;;) {
    const char *zQuote = memchr(z + i + 1, '"', (size_t)(n - i - 1));
    int k;
    if (zQuote == 0) return -1;
    i = (int)(zQuote - z);
    for (k = i - 1; k > iOpen && z[k] == '\\'; k--) {
    }
    if (((i - 1 - k) & 1) == 0) return i + 1;
  }
}

/*
** Return the index just past the value that starts at z[i], in text known
** to be valid, without checking it: strings end as mpJsonSkipString()
** finds, arrays and objects at the bracket that balances the first one,
** other values at the next delimiter. Never reads outside z[0..n); returns
** -1 if the value runs past n.
*/
static int mpJsonSkip(const char *z, int n, int i) {
  int nDepth = 0; /* Containers open */
  while (i < n) {
    char c = z[i];
    if (c == '"') {
      i = mpJsonSkipString(z, n, i);
      if (i < 0) return -1;
    } else if (c == '{' || c == '[') {
      nDepth++;
      i++;
    } else if (c == '}' || c == ']') {
      nDepth--;
      i++;
    } else if (nDepth == 0) {
      /* A number, true, false or null. */
      while (i < n && z[i] != ',' && z[i] != '}' && z[i] != ']' &&
             mpJsonSkipWs(z, n, i) == i) {
        i++;
      }
      return i;
    } else {
      i++;
      continue;
    }
    if (nDepth <= 0) return i;
  }
  return -1;
}

/*
** Return the index just past the value that starts at z[i] in the text
** pJson walks: skipped (mpJsonSkip()) when the text is known to be valid,
** else scanned and checked with at most mxDepth containers open.
*/
static int mpJsonValueEnd(const MpJson *pJson, int i, int mxDepth) {
  if (pJson->bValid) return mpJsonSkip(pJson->z, pJson->n, i);
  return mpJsonScan(pJson->z, pJson->n, i, mxDepth);
}

/*
** Implementation of mpJsonValid(). Returns 1 if z[0..n) is exactly one
** JSON value with optional surrounding whitespace, else 0. n < 0 means up
** to the first NUL. Allocates nothing.
*/
int mpJsonValid(const char *z, int n) {
  int i;
  if (z == 0) return 0;
  n = mpJsonLength(z, n);
  i = mpJsonScan(z, n, 0, MP_JSON_MAX_DEPTH);
  if (i < 0) return 0;
  return mpJsonSkipWs(z, n, i) == n;
}

/*
** Points pJson at the first element or member of the container that
** z[0..n) holds after whitespace, if it opens with cOpen ('[' or '{').
** Returns SQLITE_OK, or SQLITE_ERROR (pJson then walks nothing). n < 0
** means up to the first NUL.
*/
static int mpJsonStart(MpJson *pJson, const char *z, int n, char cOpen) {
  int i;
  if (pJson == 0) return SQLITE_ERROR;
  memset(pJson, 0, sizeof(*pJson));
  if (z == 0) return SQLITE_ERROR;
  n = mpJsonLength(z, n);
  i = mpJsonSkipWs(z, n, 0);
  if (i >= n || z[i] != cOpen) return SQLITE_ERROR;
  pJson->z = z;
  pJson->n = n;
  pJson->i = i + 1;
  return SQLITE_OK;
}

/*
** Implementation of mpJsonObjectStart(). Returns SQLITE_OK and points
** pJson at the first member if z[0..n), after whitespace, starts with '{';
** otherwise SQLITE_ERROR. pJson refers to z, which the caller keeps alive
** and unchanged while iterating. Allocates nothing.
*/
int mpJsonObjectStart(MpJson *pJson, const char *z, int n) {
  return mpJsonStart(pJson, z, n, '{');
}

/*
** Implementation of mpJsonValidStart(). Returns SQLITE_OK if z[0..n) is
** valid JSON (as mpJsonValid() says) whose value is of type eType,
** MP_JSON_ARRAY or MP_JSON_OBJECT, and points pJson at its first element
** or member; otherwise SQLITE_ERROR. Since the whole text was checked,
** the walk finds the end of each value without checking it again.
** Allocates nothing.
*/
int mpJsonValidStart(MpJson *pJson, const char *z, int n, int eType) {
  char cOpen = eType == MP_JSON_ARRAY ? '[' : '{';
  if (pJson == 0) return SQLITE_ERROR;
  memset(pJson, 0, sizeof(*pJson));
  if (eType != MP_JSON_ARRAY && eType != MP_JSON_OBJECT) return SQLITE_ERROR;
  if (!mpJsonValid(z, n)) return SQLITE_ERROR;
  if (mpJsonStart(pJson, z, n, cOpen) != SQLITE_OK) return SQLITE_ERROR;
  pJson->bValid = 1;
  return SQLITE_OK;
}

/*
** Implementation of mpJsonEnter(). Points pJson at the first element or
** member of pVal, an array or object value that the reader returned
** (mpJsonNextMember(), mpJsonNextElement(), mpJsonLookup() check every
** value they return), and returns SQLITE_OK; returns SQLITE_ERROR if pVal
** is not an array or object. Like mpJsonValidStart(), the walk does not
** check the values again. Allocates nothing.
*/
int mpJsonEnter(MpJson *pJson, const MpJsonValue *pVal) {
  if (pJson == 0) return SQLITE_ERROR;
  memset(pJson, 0, sizeof(*pJson));
  if (pVal == 0 || pVal->z == 0 || pVal->n < 2 ||
      (pVal->eType != MP_JSON_ARRAY && pVal->eType != MP_JSON_OBJECT)) {
    return SQLITE_ERROR;
  }
  pJson->z = pVal->z;
  pJson->n = pVal->n;
  pJson->i = 1;
  pJson->bValid = 1;
  return SQLITE_OK;
}

/*
** Read the next member of the object that pJson walks, whose values may
** open at most mxDepth containers. Returns 1 and fills *pKey and *pValue,
** 0 at the closing brace (and again on every later call), -1 if the text
** is malformed (and again on every later call: pJson is left unchanged).
** A member counts only if a ',' or '}' follows its value.
**
** pJson->i is just past the '{' before the first member and just past the
** previous value after that. No value ends with '{', so z[i-1]=='{' tells
** the first member apart from the others.
*/
static int mpJsonMember(MpJson *pJson, MpJsonValue *pKey, MpJsonValue *pValue,
                        int mxDepth) {
  const char *z;
  int n, i, iKey, iKeyEnd, iVal, iEnd;
  int bFirst;
  if (pJson == 0 || pJson->z == 0) return -1;
  z = pJson->z;
  n = pJson->n;
  i = pJson->i;
  if (i < 1 || i > n) return -1;
  bFirst = z[i - 1] == '{';
  i = mpJsonSkipWs(z, n, i);
  if (i >= n) return -1;
  if (z[i] == '}') {
    pJson->i = i;
    return 0;
  }
  if (!bFirst) {
    if (z[i] != ',') return -1;
    i = mpJsonSkipWs(z, n, i + 1);
    if (i >= n) return -1;
  }
  if (z[i] != '"') return -1;
  iKey = i;
  iKeyEnd = pJson->bValid ? mpJsonSkipString(z, n, i)
                          : mpJsonScanString(z, n, i, 0, 0);
  if (iKeyEnd < 0) return -1;
  i = mpJsonSkipWs(z, n, iKeyEnd);
  if (i >= n || z[i] != ':') return -1;
  iVal = mpJsonSkipWs(z, n, i + 1);
  iEnd = mpJsonValueEnd(pJson, iVal, mxDepth);
  if (iEnd < 0) return -1;
  i = mpJsonSkipWs(z, n, iEnd);
  if (i >= n || (z[i] != ',' && z[i] != '}')) return -1;
  pKey->eType = MP_JSON_STRING;
  pKey->z = z + iKey;
  pKey->n = iKeyEnd - iKey;
  pValue->eType = mpJsonTypeOf(z[iVal]);
  pValue->z = z + iVal;
  pValue->n = iEnd - iVal;
  pJson->i = iEnd;
  return 1;
}

/*
** Implementation of mpJsonNextMember(). Returns 1 and fills *pKey (the key
** with its quotes) and *pValue (the whole value text), 0 after the last
** member, -1 if the text is malformed. Both spans point into the text
** given to mpJsonObjectStart(). Allocates nothing.
*/
int mpJsonNextMember(MpJson *pJson, MpJsonValue *pKey, MpJsonValue *pValue) {
  if (pKey == 0 || pValue == 0) return -1;
  return mpJsonMember(pJson, pKey, pValue, MP_JSON_MAX_DEPTH - 1);
}

/*
** Points pJson at the first element of the array that z[0..n) holds (after
** whitespace). Returns SQLITE_OK, or SQLITE_ERROR if it is not an array.
** pJson refers to z, which the caller keeps alive and unchanged.
*/
int mpJsonArrayStart(MpJson *pJson, const char *z, int n) {
  return mpJsonStart(pJson, z, n, '[');
}

/*
** Reads the next element of the array that pJson walks. Returns 1 and
** fills *pValue (the whole value text), 0 after the last element (and on
** every later call), -1 if the text is malformed. An element counts only
** if a ',' or ']' follows it. Allocates nothing.
*/
int mpJsonNextElement(MpJson *pJson, MpJsonValue *pValue) {
  const char *z = pJson->z;
  int n = pJson->n, i = pJson->i, iVal, iEnd;
  if (z == 0 || i < 1 || i > n) return -1;
  i = mpJsonSkipWs(z, n, i);
  if (i >= n) return -1;
  if (z[i] == ']') {
    pJson->i = i;
    return 0;
  }
  if (z[pJson->i - 1] != '[') {
    /* Not the first element: a comma separates it from the previous. */
    if (z[i] != ',') return -1;
    i = mpJsonSkipWs(z, n, i + 1);
  }
  iVal = i;
  iEnd = mpJsonValueEnd(pJson, iVal, MP_JSON_MAX_DEPTH - 1);
  if (iEnd < 0) return -1;
  i = mpJsonSkipWs(z, n, iEnd);
  if (i >= n || (z[i] != ',' && z[i] != ']')) return -1;
  pValue->eType = mpJsonTypeOf(z[iVal]);
  pValue->z = z + iVal;
  pValue->n = iEnd - iVal;
  pJson->i = iEnd;
  return 1;
}

/*
** Implementation of mpJsonString(). Returns the decoded content of string
** value pVal, NUL-terminated, in memory from sqlite3_malloc64() that the
** caller frees with sqlite3_free(), and sets *pnOut (if pnOut is not NULL)
** to its length, which counts any NUL from \u0000. Returns NULL, with
** *pnOut set to 0, if pVal is not a well-formed string or on OOM.
*/
char *mpJsonString(const MpJsonValue *pVal, int *pnOut) {
  const char *z;
  char *zOut;
  int n, nOut = 0;
  if (pnOut) *pnOut = 0;
  if (pVal == 0 || pVal->eType != MP_JSON_STRING || pVal->z == 0) return 0;
  z = pVal->z;
  n = pVal->n;
  if (n < 2 || z[0] != '"' || z[n - 1] != '"') return 0;
  /* n-2 content bytes decode to at most n-2 bytes, plus the NUL. */
  zOut = sqlite3_malloc64((sqlite3_uint64)n - 1);
  if (zOut == 0) return 0;
  memset(zOut, 0, (size_t)n - 1);
  if (mpJsonScanString(z, n, 0, (u8 *)zOut, &nOut) != n) {
    sqlite3_free(zOut);
    return 0;
  }
  zOut[nOut] = 0;
  if (pnOut) *pnOut = nOut;
  return zOut;
}

/*
** Implementation of mpJsonStringView(). For a string value without
** escapes, points *pz at its content (after the opening quote, inside the
** document), sets *pn to its length and returns 1. Returns 0, leaving *pz
** and *pn alone, for a string with escapes (decode it with mpJsonString())
** or a value that is not a string. pVal must be a value the reader
** returned (mpJsonNextMember(), mpJsonNextElement(), mpJsonLookup()),
** which checked it: the content is then well-formed UTF-8 without NUL
** bytes or control characters, and is not checked again. Allocates and
** copies nothing.
*/
int mpJsonStringView(const MpJsonValue *pVal, const char **pz, int *pn) {
  if (pVal == 0 || pVal->eType != MP_JSON_STRING || pVal->z == 0 ||
      pVal->n < 2 || memchr(pVal->z + 1, '\\', (size_t)pVal->n - 2)) {
    return 0;
  }
  assert(mpJsonScanString(pVal->z, pVal->n, 0, 0, 0) == pVal->n);
  *pz = pVal->z + 1;
  *pn = pVal->n - 2;
  return 1;
}

/*
** Implementation of mpJsonInt(). For a number value that is whole (its
** exact decimal value has no fraction, as in 5, 5.0, 1e3 or 2.50e1),
** returns SQLITE_OK and sets *piOut, or SQLITE_RANGE if it lies outside the
** i64 range. Returns SQLITE_MISMATCH, leaving *piOut alone, for fractional
** values, non-numbers and malformed text. Allocates nothing.
*/
int mpJsonInt(const MpJsonValue *pVal, i64 *piOut) {
  const char *z;
  int n, i, bNeg;
  int iInt, nInt;   /* Integer digits: z[iInt..iInt+nInt) */
  int iFrac, nFrac; /* Fraction digits: z[iFrac..iFrac+nFrac) */
  int nDigit;       /* nInt + nFrac: the mantissa's digits */
  int iFirst = -1;  /* Mantissa index of the first nonzero digit */
  int iLast = -1;   /* Mantissa index of the last nonzero digit */
  i64 iExp = 0;     /* Exponent, saturated at +/- 1e9 */
  i64 iScale;       /* Power of ten on the significant digits */
  u64 u = 0;
  int k;
  if (pVal == 0 || pVal->eType != MP_JSON_NUMBER || pVal->z == 0) {
    return SQLITE_MISMATCH;
  }
  z = pVal->z;
  n = pVal->n;
  if (n <= 0 || mpJsonScanNumber(z, n, 0) != n) return SQLITE_MISMATCH;

  i = 0;
  bNeg = z[0] == '-';
  if (bNeg) i++;
  iInt = i;
  while (i < n && z[i] >= '0' && z[i] <= '9')
    i++;
  nInt = i - iInt;
  iFrac = i + 1;
  nFrac = 0;
  if (i < n && z[i] == '.') {
    i++;
    while (i < n && z[i] >= '0' && z[i] <= '9')
      i++;
    nFrac = i - iFrac;
  }
  if (i < n) {
    int bExpNeg;
    i++; /* The 'e' or 'E' */
    bExpNeg = z[i] == '-';
    if (z[i] == '-' || z[i] == '+') i++;
    for (; i < n; i++) {
      if (iExp < 1000000000) iExp = iExp * 10 + (z[i] - '0');
    }
    if (bExpNeg) iExp = -iExp;
  }

  nDigit = nInt + nFrac;
  for (k = 0; k < nDigit; k++) {
    char c = k < nInt ? z[iInt + k] : z[iFrac + k - nInt];
    if (c != '0') {
      if (iFirst < 0) iFirst = k;
      iLast = k;
    }
  }
  if (iFirst < 0) {
    *piOut = 0;
    return SQLITE_OK;
  }
  /* Value = digits[iFirst..iLast] * 10^iScale */
  iScale = iExp - nFrac + (nDigit - 1 - iLast);
  if (iScale < 0) return SQLITE_MISMATCH;
  if ((iLast - iFirst + 1) + iScale > 19) return SQLITE_RANGE;
  for (k = iFirst; k <= iLast; k++) {
    char c = k < nInt ? z[iInt + k] : z[iFrac + k - nInt];
    u = u * 10 + (u64)(c - '0');
  }
  for (; iScale > 0; iScale--)
    u *= 10;
  /* At most 19 digits, so u < 10^19 < 2^64 did not wrap. */
  if (bNeg) {
    if (u > (u64)1 << 63) return SQLITE_RANGE;
    *piOut = u == (u64)1 << 63 ? (i64)(-0x7FFFFFFFFFFFFFFFLL - 1) : -(i64)u;
  } else {
    if (u > (u64)0x7FFFFFFFFFFFFFFFLL) return SQLITE_RANGE;
    *piOut = (i64)u;
  }
  return SQLITE_OK;
}

/*
** Return 1 if string value pKey decodes to exactly the nName bytes of
** zName, else 0 (also when pKey is not a well-formed string). Decodes one
** character at a time, so it allocates nothing.
*/
static int mpJsonStrEq(const MpJsonValue *pKey, const char *zName, int nName) {
  const char *z;
  int n, i, j = 0;
  if (pKey == 0 || pKey->eType != MP_JSON_STRING || pKey->z == 0) return 0;
  z = pKey->z;
  n = pKey->n;
  if (n < 2 || z[0] != '"' || z[n - 1] != '"') return 0;
  /* Every escape is longer than what it decodes to. */
  if (n - 2 < nName) return 0;
  if (n - 2 == nName) {
    /* Equal only without escapes: then the key is zName byte for byte,
    ** and well-formed if zName is plain ASCII or the scan says so. */
    if (memcmp(z + 1, zName, (size_t)nName) != 0) return 0;
    if (mpJsonSkipPlain((const u8 *)zName, nName, 0) == nName) return 1;
    return memchr(zName, '\\', (size_t)nName) == 0 &&
           mpJsonScanString(z, n, 0, 0, 0) == n;
  }
  if (memchr(z + 1, '\\', (size_t)n - 2) == 0) return 0;
  i = 1;
  while (i < n - 1) {
    u8 aBuf[4];
    int k = mpJsonStrChar(z, n - 1, &i, aBuf);
    if (k < 0 || nName - j < k) return 0;
    if (memcmp(zName + j, aBuf, (size_t)k) != 0) return 0;
    j += k;
  }
  return j == nName;
}

/*
** Implementation of mpJsonKeyIs(). Returns 1 if key pKey decodes to
** exactly the NUL-terminated zName, else 0. Allocates nothing.
*/
int mpJsonKeyIs(const MpJsonValue *pKey, const char *zName) {
  if (zName == 0) return 0;
  return mpJsonStrEq(pKey, zName, mpJsonLength(zName, -1));
}

/*
** Implementation of mpJsonLookup(). zPath is "$" followed by steps: ".key",
** ".\"key\"" (for keys holding '.' or '['; no escapes) and "[N]" with N a
** decimal index. Returns 1 and fills *pOut with the value found (a span of
** z), or 0 if zPath is malformed, a step does not match (missing key,
** index out of range, not an object or array) or the text walked on the
** way is malformed. Only the text that the walk passes through is checked,
** up to the byte after the value found (at the top level: to the end);
** with duplicate keys the first wins. Allocates nothing.
*/
int mpJsonLookup(const char *z, int n, const char *zPath, MpJsonValue *pOut) {
  const char *p;
  int i;
  int nDepth = 0;  /* Containers entered so far */
  char cClose = 0; /* Closer of the innermost one, or 0 at the top */
  int iEnd, iEnd2;
  if (z == 0 || zPath == 0 || pOut == 0 || zPath[0] != '$') return 0;
  n = mpJsonLength(z, n);
  i = mpJsonSkipWs(z, n, 0);
  p = zPath + 1;
  while (*p) {
    if (i >= n || nDepth >= MP_JSON_MAX_DEPTH) return 0;
    if (*p == '.') {
      const char *zKey;
      int nKey;
      MpJson j;
      MpJsonValue key, val;
      p++;
      if (*p == '"') {
        const char *zClose = strchr(p + 1, '"');
        if (zClose == 0) return 0;
        zKey = p + 1;
        nKey = (int)(zClose - zKey);
        p = zClose + 1;
      } else {
        zKey = p;
        while (*p && *p != '.' && *p != '[')
          p++;
        nKey = (int)(p - zKey);
        if (nKey == 0) return 0;
      }
      if (z[i] != '{') return 0;
      nDepth++;
      cClose = '}';
      j.z = z;
      j.n = n;
      j.i = i + 1;
      j.bValid = 0;
      do {
        if (mpJsonMember(&j, &key, &val, MP_JSON_MAX_DEPTH - nDepth) != 1) {
          return 0;
        }
      } while (!mpJsonStrEq(&key, zKey, nKey));
      i = (int)(val.z - z);
    } else if (*p == '[') {
      i64 iIdx = 0;
      i64 k;
      p++;
      if (*p < '0' || *p > '9') return 0;
      while (*p >= '0' && *p <= '9') {
        if (iIdx <= INT_MAX) iIdx = iIdx * 10 + (*p - '0');
        p++;
      }
      if (*p != ']') return 0;
      p++;
      if (z[i] != '[') return 0;
      nDepth++;
      cClose = ']';
      i = mpJsonSkipWs(z, n, i + 1);
      if (i >= n || z[i] == ']') return 0;
      for (k = 0; k < iIdx; k++) {
        iEnd = mpJsonScan(z, n, i, MP_JSON_MAX_DEPTH - nDepth);
        if (iEnd < 0) return 0;
        i = mpJsonSkipWs(z, n, iEnd);
        if (i >= n || z[i] != ',') return 0;
        i = mpJsonSkipWs(z, n, i + 1);
        if (i >= n) return 0;
      }
    } else {
      return 0;
    }
  }
  iEnd = mpJsonScan(z, n, i, MP_JSON_MAX_DEPTH - nDepth);
  if (iEnd < 0) return 0;
  /* What follows the value must fit: "01" is not "0". */
  iEnd2 = mpJsonSkipWs(z, n, iEnd);
  if (cClose == 0 ? iEnd2 != n
                  : iEnd2 >= n || (z[iEnd2] != ',' && z[iEnd2] != cClose)) {
    return 0;
  }
  pOut->eType = mpJsonTypeOf(z[i]);
  pOut->z = z + i;
  pOut->n = iEnd - i;
  return 1;
}

/*
** Implementation of mpJsonAppendString(). Appends z[0..n) (n < 0: up to the
** first NUL) to pStr as a JSON string literal with its quotes. '"', '\\'
** and bytes below 0x20 are escaped (\b \f \n \r \t or \u00XX), and 0x7F as
** \u007f; other bytes are copied as they are, so z should be UTF-8. Errors,
** OOM included, are recorded in pStr as sqlite3_str does.
*/
void mpJsonAppendString(sqlite3_str *pStr, const char *z, int n) {
  static const char aHex[] = "0123456789abcdef";
  int i;
  int iRun = 0; /* Start of the bytes not yet appended */
  if (pStr == 0) return;
  n = mpJsonLength(z, n);
  sqlite3_str_appendchar(pStr, 1, '"');
  for (i = 0; i < n; i++) {
    u8 c = (u8)z[i];
    char aEsc[6];
    int nEsc = 2;
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) continue;
    if (i > iRun) sqlite3_str_append(pStr, z + iRun, i - iRun);
    aEsc[0] = '\\';
    switch (c) {
      case '"': aEsc[1] = '"'; break;
      case '\\': aEsc[1] = '\\'; break;
      case '\b': aEsc[1] = 'b'; break;
      case '\f': aEsc[1] = 'f'; break;
      case '\n': aEsc[1] = 'n'; break;
      case '\r': aEsc[1] = 'r'; break;
      case '\t': aEsc[1] = 't'; break;
      default:
        aEsc[1] = 'u';
        aEsc[2] = '0';
        aEsc[3] = '0';
        aEsc[4] = aHex[c >> 4];
        aEsc[5] = aHex[c & 0xF];
        nEsc = 6;
        break;
    }
    sqlite3_str_append(pStr, aEsc, nEsc);
    iRun = i + 1;
  }
  if (n > iRun) sqlite3_str_append(pStr, z + iRun, n - iRun);
  sqlite3_str_appendchar(pStr, 1, '"');
}
