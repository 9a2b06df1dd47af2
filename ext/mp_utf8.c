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
** Returns 1 if z[0..n) is well-formed UTF-8 without NUL bytes, overlong
** forms, UTF-16 surrogates or code points above U+10FFFF; else 0. ASCII
** runs are checked 8 bytes at a time.
*/
int mpUtf8Valid(const unsigned char *z, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c, cp;
    int nMore;
    if (n - i >= 8) {
      uint64_t v;
      memcpy(&v, z + i, 8);
      if (!mpUtf8WordSpecial(v)) {
        i += 8;
        continue;
      }
    }
    c = z[i];
    if (c < 0x80) {
      if (c == 0) return 0;
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      nMore = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      nMore = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      nMore = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (n - i <= (size_t)nMore) return 0;
    for (int k = 1; k <= nMore; k++) {
      if ((z[i + (size_t)k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (z[i + (size_t)k] & 0x3F);
    }
    if ((nMore == 2 && cp < 0x800) || (nMore == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    i += (size_t)nMore + 1;
  }
  return 1;
}
