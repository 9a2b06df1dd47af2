/*
** SPDX-License-Identifier: MIT
**
** mp_backup_format.c: the pieces of the encrypted backup format (see
** mp_backup_format.h) that the writer and the reader must agree on: how a
** key spec resolves to a key, and the key check in the header.
*/
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC */
#include "mp_backup_format.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
** Passes a refused key spec's message, a printf-style format and its
** arguments, to xError (when not NULL). Returns eKind.
*/
static int mpBackupFormatRefuse(MpBackupKeyError xError, void *pErrArg,
                                int eKind, const char *zFormat, ...) {
  va_list ap;
  if (xError) {
    va_start(ap, zFormat);
    xError(pErrArg, eKind, zFormat, ap);
    va_end(ap);
  }
  return eKind;
}

/*
** Returns the value 0..15 of hex digit c, or -1.
*/
static int mpBackupFormatHexDigit(char c) {
  char cLower = (char)(c | 0x20); /* 'A'..'F' to 'a'..'f' */
  if (c >= '0' && c <= '9') return c - '0';
  if (cLower >= 'a' && cLower <= 'f') return cLower - 'a' + 10;
  return -1;
}

/*
** Returns 1 if z may hold key material (a run of 32 or more hex digits),
** so that a message shows "<withheld>" instead; else 0. It catches a key
** pasted where a variable name or a path belongs.
*/
int mpBackupFormatLooksLikeKey(const char *z) {
  int nRun = 0;
  for (; *z; z++) {
    nRun = mpBackupFormatHexDigit(*z) < 0 ? 0 : nRun + 1;
    if (nRun >= 32) return 1;
  }
  return 0;
}

/*
** Returns z, or "<withheld>" when z looks like key material. For messages.
*/
static const char *mpBackupFormatShow(const char *z) {
  return mpBackupFormatLooksLikeKey(z) ? "<withheld>" : z;
}

/*
** Decodes z[0..n), which must be exactly 64 hex digits once trailing white
** space (a newline, CR LF) is removed, into aKey[0..32). Returns 0 on
** success, 1 if z is not a key (aKey is then wiped).
*/
int mpBackupFormatHexKey(const char *z, size_t n, unsigned char *aKey) {
  while (n > 0 && (z[n - 1] == '\n' || z[n - 1] == '\r' || z[n - 1] == ' ' ||
                   z[n - 1] == '\t')) {
    n--;
  }
  if (n != 2 * MP_BACKUP_KEY_BYTES) return 1;
  for (size_t i = 0; i < MP_BACKUP_KEY_BYTES; i++) {
    int hi = mpBackupFormatHexDigit(z[2 * i]);
    int lo = mpBackupFormatHexDigit(z[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(aKey, MP_BACKUP_KEY_BYTES);
      return 1;
    }
    aKey[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

/*
** Reads the key in file zFile into aKey[0..32): a regular file that group
** and others cannot access, holding 64 hex digits. Returns
** MP_BACKUP_KEY_OK, or another MP_BACKUP_KEY_* result after passing the
** message, which starts with zPrefix, to xError.
*/
static int mpBackupFormatKeyFile(const char *zFile, const char *zPrefix,
                                 unsigned char *aKey, MpBackupKeyError xError,
                                 void *pErrArg) {
  char aBuf[160];
  struct stat st;
  ssize_t nRead = 0;
  size_t nBuf = 0;
  int eRead;
  int fd;
  if (zFile[0] == 0) {
    return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                "%skey file: needs a path", zPrefix);
  }
  fd = open(zFile, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_CANTOPEN,
                                "%scannot open key file %s: %s", zPrefix,
                                mpBackupFormatShow(zFile), strerror(errno));
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                "%skey file %s is not a regular file", zPrefix,
                                mpBackupFormatShow(zFile));
  }
  if (st.st_mode & 077) {
    close(fd);
    return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                "%skey file %s is accessible to group or "
                                "others (mode %04o); chmod 600 it",
                                zPrefix, mpBackupFormatShow(zFile),
                                (unsigned)(st.st_mode & 07777));
  }
  for (;;) {
    nRead = read(fd, aBuf + nBuf, sizeof(aBuf) - nBuf);
    if (nRead < 0 && errno == EINTR) continue;
    if (nRead <= 0) break;
    nBuf += (size_t)nRead;
    if (nBuf == sizeof(aBuf)) break;
  }
  eRead = errno;
  close(fd);
  if (nRead < 0) {
    OPENSSL_cleanse(aBuf, sizeof(aBuf));
    return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_IOERR,
                                "%scannot read key file %s: %s", zPrefix,
                                mpBackupFormatShow(zFile), strerror(eRead));
  }
  if (nBuf == 0) {
    return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                "%skey file %s is empty", zPrefix,
                                mpBackupFormatShow(zFile));
  }
  if (nBuf == sizeof(aBuf) || mpBackupFormatHexKey(aBuf, nBuf, aKey)) {
    OPENSSL_cleanse(aBuf, sizeof(aBuf));
    return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                "%skey file %s must hold 64 hex digits",
                                zPrefix, mpBackupFormatShow(zFile));
  }
  OPENSSL_cleanse(aBuf, sizeof(aBuf));
  return MP_BACKUP_KEY_OK;
}

/*
** Resolves a key spec (env:NAME, file:PATH or 64 hex digits) into
** aKey[0..32). Returns MP_BACKUP_KEY_OK, or MP_BACKUP_KEY_INVALID,
** _CANTOPEN or _IOERR after passing a message to xError (when not NULL):
** zPrefix (e.g. "mp_backup: ", or "") followed by what is wrong, never
** quoting key material.
*/
int mpBackupFormatKeySpec(const char *zSpec, const char *zPrefix,
                          unsigned char *aKey, MpBackupKeyError xError,
                          void *pErrArg) {
  if (strncmp(zSpec, "env:", 4) == 0) {
    const char *zName = zSpec + 4;
    const char *zVal;
    if (zName[0] == 0) {
      return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                  "%skey env: needs a variable name", zPrefix);
    }
    zVal = getenv(zName);
    if (zVal == 0) {
      return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                  "%skey variable %s is not set", zPrefix,
                                  mpBackupFormatShow(zName));
    }
    if (zVal[0] == 0) {
      return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                  "%skey variable %s is empty", zPrefix,
                                  mpBackupFormatShow(zName));
    }
    if (mpBackupFormatHexKey(zVal, strlen(zVal), aKey)) {
      return mpBackupFormatRefuse(xError, pErrArg, MP_BACKUP_KEY_INVALID,
                                  "%skey variable %s must hold 64 hex digits",
                                  zPrefix, mpBackupFormatShow(zName));
    }
    return MP_BACKUP_KEY_OK;
  }
  if (strncmp(zSpec, "file:", 5) == 0) {
    return mpBackupFormatKeyFile(zSpec + 5, zPrefix, aKey, xError, pErrArg);
  }
  if (strlen(zSpec) != 2 * MP_BACKUP_KEY_BYTES ||
      mpBackupFormatHexKey(zSpec, strlen(zSpec), aKey)) {
    return mpBackupFormatRefuse(
        xError, pErrArg, MP_BACKUP_KEY_INVALID,
        "%skey must be env:NAME, file:PATH or 64 hex digits", zPrefix);
  }
  return MP_BACKUP_KEY_OK;
}

/*
** Computes the key check of the header for aKey[0..32) and
** aNonce[0..12): the first 16 bytes of
** SHA-256(MP_BACKUP_CHECK_LABEL || nonce || key), into aOut[0..16).
** Returns 0 on success, 1 if OpenSSL failed.
*/
int mpBackupFormatKeyCheck(const unsigned char *aKey,
                           const unsigned char *aNonce, unsigned char *aOut) {
  unsigned char aIn[sizeof(MP_BACKUP_CHECK_LABEL) - 1 + MP_BACKUP_NONCE_BYTES +
                    MP_BACKUP_KEY_BYTES];
  unsigned char aMd[EVP_MAX_MD_SIZE];
  unsigned int nMd = 0;
  size_t nLabel = sizeof(MP_BACKUP_CHECK_LABEL) - 1;
  int bOk;
  memcpy(aIn, MP_BACKUP_CHECK_LABEL, nLabel);
  memcpy(aIn + nLabel, aNonce, MP_BACKUP_NONCE_BYTES);
  memcpy(aIn + nLabel + MP_BACKUP_NONCE_BYTES, aKey, MP_BACKUP_KEY_BYTES);
  bOk = EVP_Digest(aIn, sizeof(aIn), aMd, &nMd, EVP_sha256(), 0) == 1 &&
        nMd >= MP_BACKUP_CHECK_BYTES;
  if (bOk) memcpy(aOut, aMd, MP_BACKUP_CHECK_BYTES);
  OPENSSL_cleanse(aIn, sizeof(aIn));
  OPENSSL_cleanse(aMd, sizeof(aMd));
  return !bOk;
}
