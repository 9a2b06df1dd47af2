/*
** SPDX-License-Identifier: MIT
**
** mp_checksum.c: the SHA-256 checksum stored with each message.
**
** The digest covers an unambiguous encoding of the message's content, so
** that no two different messages share an encoding:
**
**   "mp-checksum-v1" 0x00
**   chat_id                      8 bytes, big-endian two's complement
**   message_text, event_data, parse_mode, each as:
**     0x00                       when the field is NULL, or
**     0x01, length (8 bytes big-endian), the UTF-8 bytes
**
** Priority, status, times and delivery results are not content: they
** change during delivery. A 400 "migrate_to_chat_id" rewrites chat_id and
** the checksum with it.
*/
#include "mp_int.h"

#include <openssl/evp.h>
#include <string.h>

/*
** Writes the 8-byte big-endian form of v at a. Returns a + 8.
*/
static u8 *mpPutU64(u8 *a, u64 v) {
  for (int i = 7; i >= 0; i--) {
    a[i] = (u8)(v & 0xFF);
    v >>= 8;
  }
  return a + 8;
}

/*
** Writes one optional text field at a: a presence byte, then its length
** and bytes. Returns the end of what it wrote.
*/
static u8 *mpPutField(u8 *a, const char *z, int n) {
  if (z == 0) {
    *a = 0;
    return a + 1;
  }
  *a = 1;
  a = mpPutU64(a + 1, (u64)n);
  memcpy(a, z, (size_t)n);
  return a + n;
}

/*
** Computes the checksum of a message into aOut (MP_CHECKSUM_BYTES bytes).
** zEvent and zParseMode may be NULL. The encoding is assembled in one
** buffer and hashed in one call, with a digest context and the SHA-256
** implementation kept in p: a new context, one update per field, or
** EVP_sha256() (which OpenSSL 3 looks up by name on every init) cost more
** than the hashing itself.
** Returns SQLITE_OK, or SQLITE_NOMEM.
*/
int mpChecksum(MpState *p, i64 iChat, const char *zText, int nText,
               const char *zEvent, int nEvent, const char *zParseMode,
               int nParseMode, u8 *aOut) {
  static const char zTag[] = "mp-checksum-v1";
  u8 aStack[2048];
  u64 nAll =
      sizeof(zTag) + 8 + 3 * 9 + (u64)nText + (u64)nEvent + (u64)nParseMode;
  u8 *aBuf = nAll <= sizeof(aStack) ? aStack : sqlite3_malloc64(nAll);
  u8 *a = aBuf;
  EVP_MD_CTX *pCtx = p->pDigest;
  EVP_MD *pMd = p->pSha256;
  unsigned int nOut = 0;
  int ok;
  if (aBuf == 0) return SQLITE_NOMEM;
  if (pCtx == 0) p->pDigest = pCtx = EVP_MD_CTX_new();
  if (pMd == 0) p->pSha256 = pMd = EVP_MD_fetch(0, "SHA2-256", 0);
  memcpy(a, zTag, sizeof(zTag));
  a = mpPutU64(a + sizeof(zTag), (u64)iChat);
  a = mpPutField(a, zText, nText);
  a = mpPutField(a, zEvent, nEvent);
  a = mpPutField(a, zParseMode, nParseMode);
  ok = pCtx && pMd && EVP_DigestInit_ex2(pCtx, pMd, 0) &&
       EVP_DigestUpdate(pCtx, aBuf, (size_t)(a - aBuf)) &&
       EVP_DigestFinal_ex(pCtx, aOut, &nOut) && nOut == MP_CHECKSUM_BYTES;
  if (aBuf != aStack) sqlite3_free(aBuf);
  return ok ? SQLITE_OK : SQLITE_NOMEM;
}

/*
** Frees the digest context and implementation kept in p, if any.
*/
void mpChecksumFree(MpState *p) {
  EVP_MD_CTX_free(p->pDigest);
  EVP_MD_free(p->pSha256);
  p->pDigest = 0;
  p->pSha256 = 0;
}
