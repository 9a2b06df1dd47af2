/*
** SPDX-License-Identifier: MIT
**
** restore_codec.h: reading mp backups, for mp-restore and its fuzzer.
**
** An mp backup is either a plain SQLite database file or an encrypted
** file written by mp_backup(path, key) in ext/mp_backup.c. The encrypted
** format, the key specs (env:NAME, file:PATH with mode 0600 or stricter, or
** 64 hex digits) and the key check are in ext/mp_backup_format.h, which
** the extension and this decoder share.
**
** Nothing here uses SQLite; the decoder works on any byte source through
** two callbacks, so that tests/fuzz/fuzz_backup.c can drive it from memory.
*/
#ifndef MP_RESTORE_CODEC_H
#define MP_RESTORE_CODEC_H

/* A relative path: mp-restore needs no include path into ext/. */
#include "mp_backup_format.h"

#include <stddef.h>
#include <stdint.h>

/* Format constants under the names mp-restore and its fuzzer use. */
#define MP_RESTORE_KEY_BYTES MP_BACKUP_KEY_BYTES
#define MP_RESTORE_OVERHEAD  MP_BACKUP_OVERHEAD

#define MP_RESTORE_CHUNK        (1024 * 1024) /* bytes decrypted per step */
#define MP_RESTORE_SQLITE_MAGIC "SQLite format 3"

/* Result codes of the decoder. */
#define MP_RESTORE_OK        0 /* decrypted and authenticated */
#define MP_RESTORE_FORMAT    1 /* not a backup, or a version we cannot read */
#define MP_RESTORE_TRUNCATED 2 /* shorter than its header says */
#define MP_RESTORE_WRONG_KEY 3 /* the key check does not match */
#define MP_RESTORE_AUTH      4 /* the GCM tag does not match */
#define MP_RESTORE_IO        5 /* a callback failed */
#define MP_RESTORE_NOMEM     6 /* out of memory */
#define MP_RESTORE_CRYPTO    7 /* OpenSSL failed */

/* What the first bytes of a file say it is. */
#define MP_RESTORE_KIND_UNKNOWN   0
#define MP_RESTORE_KIND_PLAIN     1 /* "SQLite format 3\0" */
#define MP_RESTORE_KIND_ENCRYPTED 2 /* "MPBK" */

/* The header of an encrypted backup. */
typedef struct MpRestoreHeader MpRestoreHeader;
struct MpRestoreHeader {
  uint64_t nPlain;                             /* bytes of plaintext */
  unsigned char aNonce[MP_BACKUP_NONCE_BYTES]; /* GCM nonce */
  unsigned char aCheck[MP_BACKUP_CHECK_BYTES]; /* key check */
};

/*
** Reads up to n bytes into a. Returns the number read (0 at the end of the
** input) or -1 on error. A short count other than at the end is allowed.
*/
typedef long (*MpRestoreRead)(void *pArg, unsigned char *a, size_t n);

/*
** Takes a[0..n) of output. Returns 0, or non-zero on error.
*/
typedef int (*MpRestoreWrite)(void *pArg, const unsigned char *a, size_t n);

/* Decodes 64 hex digits into a key: the extension's own decoder. */
#define mpRestoreHexKey mpBackupFormatHexKey

int mpRestoreKind(const unsigned char *a, size_t n);
int mpRestoreKeySpec(const char *zSpec, unsigned char *aKey, char *zErr,
                     size_t nErr);
int mpRestoreParseHeader(const unsigned char *a, size_t n, int64_t nFile,
                         MpRestoreHeader *pHdr, char *zErr, size_t nErr);
int mpRestoreDecrypt(const unsigned char *aKey, int64_t nFile,
                     MpRestoreRead xRead, void *pIn, MpRestoreWrite xWrite,
                     void *pOut, char *zErr, size_t nErr);
int mpRestoreCheckPlain(const unsigned char *a, size_t n, int64_t nFile,
                        char *zErr, size_t nErr);

#endif /* MP_RESTORE_CODEC_H */
