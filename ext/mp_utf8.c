/*
** SPDX-License-Identifier: MIT
**
** mp_utf8.c: validation of UTF-8 text, the rule every text argument and
** every Bot API body meets before mp stores or parses it.
*/
#include "mp_utf8.h"

#include <stdint.h>
#include <string.h>

/*
** Returns nonzero when one of the 8 bytes of v is 0 or has its high bit
** set (not ASCII text). The classic "has zero byte" test, or'ed with v.
*/
static int mpUtf8WordSpecial(uint64_t v) {
  const uint64_t ones = 0x0101010101010101ull;
  const uint64_t highs = 0x8080808080808080ull;
  return (((v - ones) & ~v) | v) & highs ? 1 : 0;
}

/*
** Decodes the UTF-8 character that starts z[0..n) (n >= 1) into *pc and
** returns its length in bytes, 1 to 4. Returns 0 (*pc is then undefined)
** when z does not start with a well-formed character: a stray
** continuation byte, an overlong form, a UTF-16 surrogate, a code point
** above U+10FFFF, or a character cut short by n. A NUL byte decodes as
** U+0000.
**
** "inline" lets the compiler inline it into mpUtf8Valid() below; the
** declaration in mp_utf8.h still makes this the external definition.
*/
inline int mpUtf8Decode(const unsigned char *z, size_t n, unsigned *pc) {
  unsigned c = z[0], cp, cpMin;
  int nMore;
  if (c < 0x80) {
    *pc = c;
    return 1;
  }
  /* Lead bytes C0, C1 (overlong only) and F5..FF (above U+10FFFF) and the
  ** continuation bytes 80..BF start no character. */
  if (c >= 0xC2 && c <= 0xDF) {
    nMore = 1;
    cp = c & 0x1F;
    cpMin = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    nMore = 2;
    cp = c & 0x0F;
    cpMin = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    nMore = 3;
    cp = c & 0x07;
    cpMin = 0x10000;
  } else {
    return 0;
  }
  if (n <= (size_t)nMore) return 0;
  for (int k = 1; k <= nMore; k++) {
    if ((z[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (z[k] & 0x3F);
  }
  /* cpMin refuses overlong forms: fewer bytes would have done. */
  if (cp < cpMin || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  *pc = cp;
  return nMore + 1;
}

/*
** Returns 1 if z[0..n) is well-formed UTF-8 without NUL bytes, overlong
** forms, UTF-16 surrogates or code points above U+10FFFF; else 0. ASCII
** runs are checked 8 bytes at a time.
*/
int mpUtf8Valid(const unsigned char *z, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned cp;
    int nLen;
    if (n - i >= 8) {
      uint64_t v;
      memcpy(&v, z + i, 8);
      if (!mpUtf8WordSpecial(v)) {
        i += 8;
        continue;
      }
    }
    if (z[i] < 0x80) {
      if (z[i] == 0) return 0;
      i++;
      continue;
    }
    nLen = mpUtf8Decode(z + i, n - i, &cp);
    if (nLen == 0) return 0;
    i += (size_t)nLen;
  }
  return 1;
}
