/*
** SPDX-License-Identifier: MIT
**
** restore_codec.c: the decoder of mp backups (format in
** ext/mp_backup_format.h).
**
** mpRestoreDecrypt() streams an encrypted backup through AES-256-GCM in
** 1 MiB chunks. GCM authenticates only at the end, so its output is not to
** be trusted until it returns MP_RESTORE_OK: mp-restore writes it to a
** 0600 temporary file and deletes that on any other result.
**
** Every check on the header happens before the first byte is decrypted:
** magic, version, algorithm, flags, that the input is exactly as long as
** the header says (when its size is known), and the key check, so that a
** wrong key is told apart from a damaged file.
*/
#include "restore_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** Writes a message, a printf-style format and its arguments ap, into
** zErr[0..nErr) (if zErr is not NULL) and returns rc.
*/
static int mpRestoreErrV(char *zErr, size_t nErr, int rc, const char *zFormat,
                         va_list ap) {
  if (zErr && nErr > 0) vsnprintf(zErr, nErr, zFormat, ap);
  return rc;
}

/*
** mpRestoreErrV() with the arguments of the format given inline.
*/
static int mpRestoreErr(char *zErr, size_t nErr, int rc, const char *zFormat,
                        ...) {
  va_list ap;
  va_start(ap, zFormat);
  rc = mpRestoreErrV(zErr, nErr, rc, zFormat, ap);
  va_end(ap);
  return rc;
}

/*
** Returns MP_RESTORE_KIND_ENCRYPTED, MP_RESTORE_KIND_PLAIN or
** MP_RESTORE_KIND_UNKNOWN for a file that starts with a[0..n).
*/
int mpRestoreKind(const unsigned char *a, size_t n) {
  if (n >= 4 && memcmp(a, MP_BACKUP_MAGIC, 4) == 0) {
    return MP_RESTORE_KIND_ENCRYPTED;
  }
  if (n >= 16 && memcmp(a, MP_RESTORE_SQLITE_MAGIC, 16) == 0) {
    return MP_RESTORE_KIND_PLAIN;
  }
  return MP_RESTORE_KIND_UNKNOWN;
}

/*
** Where mpRestoreKeySpec() writes the message of a refused key spec.
*/
typedef struct MpRestoreErrBuf MpRestoreErrBuf;
struct MpRestoreErrBuf {
  char *zErr;  /* The buffer, or NULL */
  size_t nErr; /* Its size in bytes */
};

/*
** Writes the message of a refused key spec into the MpRestoreErrBuf pArg
** (an MpBackupKeyError callback).
*/
static void mpRestoreKeyRefused(void *pArg, int eKind, const char *zFormat,
                                va_list ap) {
  MpRestoreErrBuf *pBuf = (MpRestoreErrBuf *)pArg;
  mpRestoreErrV(pBuf->zErr, pBuf->nErr, eKind, zFormat, ap);
}

/*
** Resolves a key spec (env:NAME, file:PATH or 64 hex digits) into
** aKey[0..32). Returns 0, or 1 with a message in zErr that never contains
** key material.
*/
int mpRestoreKeySpec(const char *zSpec, unsigned char *aKey, char *zErr,
                     size_t nErr) {
  MpRestoreErrBuf buf;
  buf.zErr = zErr;
  buf.nErr = nErr;
  return mpBackupFormatKeySpec(zSpec, "", aKey, mpRestoreKeyRefused, &buf) !=
         MP_BACKUP_KEY_OK;
}

/*
** Parses the header a[0..n) of an encrypted backup whose total size is
** nFile bytes (-1: unknown) into *pHdr. Returns MP_RESTORE_OK,
** MP_RESTORE_FORMAT or MP_RESTORE_TRUNCATED with a message in zErr.
*/
int mpRestoreParseHeader(const unsigned char *a, size_t n, int64_t nFile,
                         MpRestoreHeader *pHdr, char *zErr, size_t nErr) {
  uint64_t nPlain = 0;
  memset(pHdr, 0, sizeof(*pHdr));
  if (n < 4 || memcmp(a, MP_BACKUP_MAGIC, 4) != 0) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                        "not an encrypted mp backup (no MPBK header)");
  }
  if (n < MP_BACKUP_HEADER) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_TRUNCATED,
                        "truncated: %zu bytes, the header alone needs %d", n,
                        MP_BACKUP_HEADER);
  }
  if (a[4] != MP_BACKUP_VERSION) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                        "unsupported backup format version %u (this reads "
                        "version %d)",
                        (unsigned)a[4], MP_BACKUP_VERSION);
  }
  if (a[5] != MP_BACKUP_ALG_GCM) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                        "unsupported encryption algorithm %u", (unsigned)a[5]);
  }
  if (a[6] != 0 || a[7] != 0) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                        "unsupported header flags 0x%02x%02x", (unsigned)a[6],
                        (unsigned)a[7]);
  }
  for (int i = 0; i < 8; i++) {
    nPlain = nPlain << 8 | a[8 + i];
  }
  if (nPlain > (uint64_t)INT64_MAX - MP_BACKUP_OVERHEAD) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                        "damaged header: impossible length %llu",
                        (unsigned long long)nPlain);
  }
  if (nFile >= 0) {
    int64_t nWant = (int64_t)nPlain + MP_BACKUP_OVERHEAD;
    if (nFile < nWant) {
      return mpRestoreErr(zErr, nErr, MP_RESTORE_TRUNCATED,
                          "truncated (or a damaged header): %lld bytes, the "
                          "header says %lld",
                          (long long)nFile, (long long)nWant);
    }
    if (nFile > nWant) {
      return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                          "%lld bytes where the header says %lld: extra data "
                          "or a damaged header",
                          (long long)nFile, (long long)nWant);
    }
  }
  pHdr->nPlain = nPlain;
  memcpy(pHdr->aNonce, a + 16, MP_BACKUP_NONCE_BYTES);
  memcpy(pHdr->aCheck, a + 28, MP_BACKUP_CHECK_BYTES);
  return MP_RESTORE_OK;
}

/*
** Reads exactly n bytes into a unless the input ends first. Returns the
** number read, or -1 if xRead failed.
*/
static long mpRestoreReadFull(MpRestoreRead xRead, void *pIn, unsigned char *a,
                              size_t n) {
  size_t nDone = 0;
  while (nDone < n) {
    long nGot = xRead(pIn, a + nDone, n - nDone);
    if (nGot < 0) return -1;
    if (nGot == 0) break;
    nDone += (size_t)nGot;
  }
  return (long)nDone;
}

/*
** Decrypts an encrypted backup of nFile bytes (-1: unknown) read through
** xRead, passing the plaintext to xWrite as it goes, with key aKey[0..32).
** Returns MP_RESTORE_OK only when the whole input was read, had exactly the
** length its header gives and the GCM tag matched; anything xWrite received
** is otherwise unauthenticated and must be discarded. Other results:
** MP_RESTORE_FORMAT, _TRUNCATED, _WRONG_KEY, _AUTH, _IO (a callback failed),
** _NOMEM, _CRYPTO, each with a message in zErr.
*/
int mpRestoreDecrypt(const unsigned char *aKey, int64_t nFile,
                     MpRestoreRead xRead, void *pIn, MpRestoreWrite xWrite,
                     void *pOut, char *zErr, size_t nErr) {
  unsigned char aHdr[MP_BACKUP_HEADER];
  unsigned char aCheck[MP_BACKUP_CHECK_BYTES];
  unsigned char aTag[MP_BACKUP_TAG_BYTES];
  unsigned char aExtra[1];
  unsigned char *aIn = 0;
  unsigned char *aPlain = 0;
  size_t nBuf;
  EVP_CIPHER_CTX *pCtx = 0;
  MpRestoreHeader hdr;
  uint64_t nLeft;
  long nGot;
  int nOut = 0;
  int rc;

  nGot = mpRestoreReadFull(xRead, pIn, aHdr, sizeof(aHdr));
  if (nGot < 0) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_IO, "cannot read the backup");
  }
  rc = mpRestoreParseHeader(aHdr, (size_t)nGot, nFile, &hdr, zErr, nErr);
  if (rc != MP_RESTORE_OK) return rc;
  if (mpBackupFormatKeyCheck(aKey, hdr.aNonce, aCheck)) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_CRYPTO,
                        "cannot compute the key check");
  }
  if (CRYPTO_memcmp(aCheck, hdr.aCheck, sizeof(aCheck)) != 0) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_WRONG_KEY,
                        "wrong key for this backup (or its header is "
                        "damaged)");
  }

  nBuf = hdr.nPlain < MP_RESTORE_CHUNK ? (size_t)hdr.nPlain : MP_RESTORE_CHUNK;
  if (nBuf == 0) nBuf = 1;
  aIn = malloc(nBuf);
  aPlain = malloc(nBuf);
  pCtx = EVP_CIPHER_CTX_new();
  if (aIn == 0 || aPlain == 0 || pCtx == 0) {
    rc = mpRestoreErr(zErr, nErr, MP_RESTORE_NOMEM, "out of memory");
    goto decrypt_done;
  }
  if (EVP_DecryptInit_ex(pCtx, EVP_aes_256_gcm(), 0, 0, 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(pCtx, EVP_CTRL_GCM_SET_IVLEN, MP_BACKUP_NONCE_BYTES,
                          0) != 1 ||
      EVP_DecryptInit_ex(pCtx, 0, 0, aKey, hdr.aNonce) != 1 ||
      EVP_DecryptUpdate(pCtx, 0, &nOut, aHdr, MP_BACKUP_HEADER) != 1) {
    rc =
        mpRestoreErr(zErr, nErr, MP_RESTORE_CRYPTO, "cannot start AES-256-GCM");
    goto decrypt_done;
  }
  for (nLeft = hdr.nPlain; nLeft > 0;) {
    size_t nWant = nLeft < nBuf ? (size_t)nLeft : nBuf;
    nGot = mpRestoreReadFull(xRead, pIn, aIn, nWant);
    if (nGot < 0) {
      rc = mpRestoreErr(zErr, nErr, MP_RESTORE_IO, "cannot read the backup");
      goto decrypt_done;
    }
    if ((size_t)nGot < nWant) {
      rc = mpRestoreErr(
          zErr, nErr, MP_RESTORE_TRUNCATED,
          "truncated: the data ends %llu bytes early",
          (unsigned long long)(nLeft - (uint64_t)nGot + MP_BACKUP_TAG_BYTES));
      goto decrypt_done;
    }
    if (EVP_DecryptUpdate(pCtx, aPlain, &nOut, aIn, (int)nWant) != 1) {
      rc = mpRestoreErr(zErr, nErr, MP_RESTORE_CRYPTO, "decryption failed");
      goto decrypt_done;
    }
    if (nOut > 0 && xWrite(pOut, aPlain, (size_t)nOut) != 0) {
      rc = mpRestoreErr(zErr, nErr, MP_RESTORE_IO, "cannot write the output");
      goto decrypt_done;
    }
    nLeft -= nWant;
  }
  nGot = mpRestoreReadFull(xRead, pIn, aTag, sizeof(aTag));
  if (nGot < 0) {
    rc = mpRestoreErr(zErr, nErr, MP_RESTORE_IO, "cannot read the backup");
    goto decrypt_done;
  }
  if ((size_t)nGot < sizeof(aTag)) {
    rc = mpRestoreErr(zErr, nErr, MP_RESTORE_TRUNCATED,
                      "truncated: the tag is missing %zu bytes",
                      sizeof(aTag) - (size_t)nGot);
    goto decrypt_done;
  }
  nGot = mpRestoreReadFull(xRead, pIn, aExtra, sizeof(aExtra));
  if (nGot != 0) {
    if (nGot < 0) {
      rc = mpRestoreErr(zErr, nErr, MP_RESTORE_IO, "cannot read the backup");
    } else {
      rc = mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                        "extra data after the tag");
    }
    goto decrypt_done;
  }
  if (EVP_CIPHER_CTX_ctrl(pCtx, EVP_CTRL_GCM_SET_TAG, MP_BACKUP_TAG_BYTES,
                          aTag) != 1) {
    rc = mpRestoreErr(zErr, nErr, MP_RESTORE_CRYPTO, "cannot set the tag");
    goto decrypt_done;
  }
  if (EVP_DecryptFinal_ex(pCtx, aPlain, &nOut) != 1) {
    rc = mpRestoreErr(zErr, nErr, MP_RESTORE_AUTH,
                      "authentication failed: the backup was altered or "
                      "damaged");
    goto decrypt_done;
  }
  if (nOut > 0 && xWrite(pOut, aPlain, (size_t)nOut) != 0) {
    rc = mpRestoreErr(zErr, nErr, MP_RESTORE_IO, "cannot write the output");
    goto decrypt_done;
  }
  rc = MP_RESTORE_OK;

decrypt_done:
  EVP_CIPHER_CTX_free(pCtx);
  if (aPlain) OPENSSL_cleanse(aPlain, nBuf);
  free(aPlain);
  free(aIn);
  return rc;
}

/*
** Checks that a[0..n), the first bytes of a database image of nFile bytes,
** are a SQLite header that fits the size: a valid page size that divides
** nFile, and no fewer pages than the header records (when that count is
** valid). Returns MP_RESTORE_OK, MP_RESTORE_FORMAT or MP_RESTORE_TRUNCATED
** with a message in zErr.
*/
int mpRestoreCheckPlain(const unsigned char *a, size_t n, int64_t nFile,
                        char *zErr, size_t nErr) {
  uint32_t nPage;
  uint32_t iChange;
  uint32_t iValidFor;
  int64_t nPageSize;
  if (n < 100 || nFile < 100) {
    return mpRestoreErr(zErr, nErr,
                        n >= 16 && memcmp(a, MP_RESTORE_SQLITE_MAGIC, 16) == 0
                            ? MP_RESTORE_TRUNCATED
                            : MP_RESTORE_FORMAT,
                        "not a complete SQLite database (%lld bytes)",
                        (long long)nFile);
  }
  if (memcmp(a, MP_RESTORE_SQLITE_MAGIC, 16) != 0) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT, "not a SQLite database");
  }
  nPageSize = (int64_t)a[16] << 8 | a[17];
  if (nPageSize == 1) nPageSize = 65536;
  if (nPageSize < 512 || (nPageSize & (nPageSize - 1)) != 0) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_FORMAT,
                        "damaged SQLite header: page size %lld",
                        (long long)nPageSize);
  }
  if (nFile % nPageSize != 0) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_TRUNCATED,
                        "truncated: %lld bytes is not a whole number of "
                        "%lld-byte pages",
                        (long long)nFile, (long long)nPageSize);
  }
  iChange = (uint32_t)a[24] << 24 | (uint32_t)a[25] << 16 |
            (uint32_t)a[26] << 8 | a[27];
  nPage = (uint32_t)a[28] << 24 | (uint32_t)a[29] << 16 | (uint32_t)a[30] << 8 |
          a[31];
  iValidFor = (uint32_t)a[92] << 24 | (uint32_t)a[93] << 16 |
              (uint32_t)a[94] << 8 | a[95];
  if (iChange == iValidFor && nPage > 0 && nFile < nPage * nPageSize) {
    return mpRestoreErr(zErr, nErr, MP_RESTORE_TRUNCATED,
                        "truncated: %lld bytes, the SQLite header says %lld",
                        (long long)nFile, (long long)(nPage * nPageSize));
  }
  return MP_RESTORE_OK;
}
