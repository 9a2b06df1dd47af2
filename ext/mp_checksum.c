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
** Feeds the 8-byte big-endian form of v into the digest.
*/
static int mpDigestU64(EVP_MD_CTX *pCtx, u64 v) {
  unsigned char a[8];
  for (int i = 7; i >= 0; i--) {
    a[i] = (unsigned char)(v & 0xFF);
    v >>= 8;
  }
  return EVP_DigestUpdate(pCtx, a, 8);
}

/*
** Feeds one optional text field: a presence byte, then length and bytes.
*/
static int mpDigestField(EVP_MD_CTX *pCtx, const char *z, int n) {
  static const unsigned char aAbsent[1] = { 0 };
  static const unsigned char aPresent[1] = { 1 };
  if (z == 0) return EVP_DigestUpdate(pCtx, aAbsent, 1);
  return EVP_DigestUpdate(pCtx, aPresent, 1) && mpDigestU64(pCtx, (u64)n) &&
         EVP_DigestUpdate(pCtx, z, (size_t)n);
}

/*
** Computes the checksum of a message into aOut (MP_CHECKSUM_BYTES bytes).
** zEvent and zParseMode may be NULL. Returns SQLITE_OK, or SQLITE_NOMEM if
** OpenSSL could not set up a digest.
*/
int mpChecksum(MpState *p, i64 iChat, const char *zText, int nText,
               const char *zEvent, int nEvent, const char *zParseMode,
               int nParseMode, u8 *aOut) {
  static const char zTag[] = "mp-checksum-v1";
  EVP_MD_CTX *pCtx = p->pDigest;
  unsigned int nOut = 0;
  int ok;
  if (pCtx == 0) {
    /* Kept in p: creating a context per message cost as much as hashing. */
    p->pDigest = pCtx = EVP_MD_CTX_new();
    if (pCtx == 0) return SQLITE_NOMEM;
  }
  ok = EVP_DigestInit_ex(pCtx, EVP_sha256(), 0) &&
       EVP_DigestUpdate(pCtx, zTag, sizeof(zTag)) &&
       mpDigestU64(pCtx, (u64)iChat) && mpDigestField(pCtx, zText, nText) &&
       mpDigestField(pCtx, zEvent, nEvent) &&
       mpDigestField(pCtx, zParseMode, nParseMode) &&
       EVP_DigestFinal_ex(pCtx, aOut, &nOut) && nOut == MP_CHECKSUM_BYTES;
  return ok ? SQLITE_OK : SQLITE_NOMEM;
}

/*
** Frees the digest context kept in p, if any.
*/
void mpChecksumFree(MpState *p) {
  EVP_MD_CTX_free(p->pDigest);
  p->pDigest = 0;
}
