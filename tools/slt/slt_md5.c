/*
** SPDX-License-Identifier: MIT
**
** A small MD5 (RFC 1321) for mp-slt, written for this project and placed
** in the public domain in the spirit of the classic sqllogictest md5.c.
**
** sqllogictest hashes large query results: the MD5 of every value
** followed by "\n", reported as "<count> values hashing to <hex>".
**
** Usage:
**
**   SltMd5 ctx;
**   char zHex[33];
**   sltMd5Init(&ctx);
**   sltMd5Update(&ctx, "1\n", 2);
**   sltMd5Final(&ctx, zHex);
*/
#include "slt.h"

#include <string.h>

/* The sine-derived constants K[i] = floor(abs(sin(i+1)) * 2^32). */
static const uint32_t aK[64] = {
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
  0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
  0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
  0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
  0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
  0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
  0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
  0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
  0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Left-rotate amounts, four per round. */
static const unsigned char aShift[16] = {
  7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21,
};

/*
** Return x rotated left by n bits, 0 < n < 32.
*/
static uint32_t sltRotl(uint32_t x, unsigned n) {
  return (x << n) | (x >> (32 - n));
}

/*
** Mix one 64-byte block p into hash state h.
*/
static void sltMd5Block(uint32_t *h, const unsigned char *p) {
  uint32_t w[16];
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  int i;
  for (i = 0; i < 16; i++) {
    w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
           (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
  }
  for (i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    f = f + a + aK[i] + w[g];
    a = d;
    d = c;
    c = b;
    b = b + sltRotl(f, aShift[(i / 16) * 4 + i % 4]);
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

/*
** Start a new MD5 computation in p.
*/
void sltMd5Init(SltMd5 *p) {
  memset(p, 0, sizeof(*p));
  p->h[0] = 0x67452301;
  p->h[1] = 0xefcdab89;
  p->h[2] = 0x98badcfe;
  p->h[3] = 0x10325476;
}

/*
** Add n bytes at pData to the computation in p.
*/
void sltMd5Update(SltMd5 *p, const void *pData, size_t n) {
  const unsigned char *z = pData;
  size_t nHave = (size_t)(p->nByte % 64);
  p->nByte += n;
  while (n > 0) {
    size_t nTake = 64 - nHave;
    if (nTake > n) nTake = n;
    memcpy(&p->buf[nHave], z, nTake);
    nHave += nTake;
    z += nTake;
    n -= nTake;
    if (nHave == 64) {
      sltMd5Block(p->h, p->buf);
      nHave = 0;
    }
  }
}

/*
** Finish the computation in p and write the digest into zHex as 32
** lower-case hex digits and a NUL, so zHex needs 33 bytes. The state p is
** spent afterwards.
*/
void sltMd5Final(SltMd5 *p, char *zHex) {
  static const char aHex[] = "0123456789abcdef";
  static const unsigned char aPad[64] = { 0x80 };
  unsigned char aLen[8];
  uint64_t nBit = p->nByte * 8;
  size_t nHave = (size_t)(p->nByte % 64);
  int i;
  for (i = 0; i < 8; i++)
    aLen[i] = (unsigned char)(nBit >> (8 * i));
  sltMd5Update(p, aPad, nHave < 56 ? 56 - nHave : 120 - nHave);
  sltMd5Update(p, aLen, 8);
  for (i = 0; i < 16; i++) {
    unsigned char c = (unsigned char)(p->h[i / 4] >> (8 * (i % 4)));
    zHex[2 * i] = aHex[c >> 4];
    zHex[2 * i + 1] = aHex[c & 15];
  }
  zHex[32] = 0;
}
