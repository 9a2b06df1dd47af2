/*
** SPDX-License-Identifier: MIT
**
** mp_backup_format.h: the encrypted backup format and its keys, shared by
** the writer (mp_backup() in ext/mp_backup.c) and the reader (mp-restore,
** tools/restore/restore_codec.c). Plain C and OpenSSL: no SQLite API and
** no memory allocation, so that mp-restore and its fuzzer use it as is.
**
** FILE FORMAT (version 1, all integers big-endian)
**
**   offset  bytes  field
**        0      4  magic "MPBK"
**        4      1  format version, 1
**        5      1  algorithm, 1 = AES-256-GCM
**        6      2  flags, 0 (a reader refuses anything else)
**        8      8  n: length of the plaintext (the SQLite database image)
**       16     12  nonce, random for each file
**       28     16  key check: the first 16 bytes of
**                  SHA-256("MPBK key check v1" || nonce || key)
**       44      n  ciphertext: AES-256-GCM (256-bit key) of the image
**     44+n     16  GCM tag; the additional authenticated data is bytes 0..43
**
** The file is exactly 60 + n bytes. The key check tells a wrong key from a
** damaged file before any decryption; the tag authenticates everything.
**
** KEYS
**
** A key is 32 bytes written as 64 hex digits (trailing white space, such
** as the newline of `openssl rand -hex 32 > backup.key`, is ignored). A
** key spec names where it is: env:NAME (an environment variable), file:PATH
** (a regular file that group and others cannot access) or the 64 digits
** themselves.
*/
#ifndef MP_BACKUP_FORMAT_H
#define MP_BACKUP_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#define MP_BACKUP_MAGIC       "MPBK"
#define MP_BACKUP_VERSION     1
#define MP_BACKUP_ALG_GCM     1
#define MP_BACKUP_NONCE_BYTES 12
#define MP_BACKUP_CHECK_BYTES 16
#define MP_BACKUP_TAG_BYTES   16
#define MP_BACKUP_KEY_BYTES   32
#define MP_BACKUP_HEADER      44 /* bytes before the ciphertext */
#define MP_BACKUP_OVERHEAD    60 /* header + tag */
#define MP_BACKUP_CHECK_LABEL "MPBK key check v1"

/* Results of mpBackupFormatKeySpec(). */
#define MP_BACKUP_KEY_OK       0 /* aKey holds the key */
#define MP_BACKUP_KEY_INVALID  1 /* a malformed spec, value or key file */
#define MP_BACKUP_KEY_CANTOPEN 2 /* the key file cannot be opened */
#define MP_BACKUP_KEY_IOERR    3 /* the key file cannot be read */

/*
** Receives the message of a refused key spec, as a printf-style format
** (only %s and %04o conversions) and its arguments; eKind is the result
** mpBackupFormatKeySpec() is about to return. The message never contains
** key material.
*/
typedef void (*MpBackupKeyError)(void *pArg, int eKind, const char *zFormat,
                                 va_list ap);

int mpBackupFormatLooksLikeKey(const char *z);
int mpBackupFormatHexKey(const char *z, size_t n, unsigned char *aKey);
int mpBackupFormatKeySpec(const char *zSpec, const char *zPrefix,
                          unsigned char *aKey, MpBackupKeyError xError,
                          void *pErrArg);
int mpBackupFormatKeyCheck(const unsigned char *aKey,
                           const unsigned char *aNonce, unsigned char *aOut);

#endif /* MP_BACKUP_FORMAT_H */
