/*
** SPDX-License-Identifier: MIT
**
** restore_codec.h: reading mp backups, for mp-restore and its fuzzer.
**
** An mp backup is either a plain SQLite database file or an encrypted
** file in this format (version 1, integers big-endian), written by
** mp_backup(path, key) in ext/mp_backup.c:
**
**   offset  bytes  field
**        0      4  magic "MPBK"
**        4      1  format version, 1
**        5      1  algorithm, 1 = AES-256-GCM
**        6      2  flags, 0 (anything else is refused)
**        8      8  n: length of the plaintext (the SQLite database image)
**       16     12  nonce, random for each file
**       28     16  key check: the first 16 bytes of
**                  SHA-256("MPBK key check v1" || nonce || key)
**       44      n  ciphertext (AES-256-GCM, 256-bit key)
**     44+n     16  GCM tag; the additional authenticated data is bytes 0..43
**
** The file is exactly 60 + n bytes. Keys are 32 bytes written as 64 hex
** digits; a key spec is env:NAME, file:PATH (mode 0600 or stricter) or the
** 64 digits themselves.
**
** Nothing here uses SQLite; the decoder works on any byte source through
** two callbacks, so that tests/fuzz/fuzz_backup.c can drive it from memory.
*/
#ifndef MP_RESTORE_CODEC_H
#define MP_RESTORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define MP_RESTORE_MAGIC        "MPBK"
#define MP_RESTORE_VERSION      1
#define MP_RESTORE_ALG_GCM      1
#define MP_RESTORE_NONCE_BYTES  12
#define MP_RESTORE_CHECK_BYTES  16
#define MP_RESTORE_TAG_BYTES    16
#define MP_RESTORE_KEY_BYTES    32
#define MP_RESTORE_HEADER       44            /* bytes before the ciphertext */
#define MP_RESTORE_OVERHEAD     60            /* header + tag */
#define MP_RESTORE_CHUNK        (1024 * 1024) /* bytes decrypted per step */
#define MP_RESTORE_CHECK_LABEL  "MPBK key check v1"
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
  uint64_t nPlain;                              /* bytes of plaintext */
  unsigned char aNonce[MP_RESTORE_NONCE_BYTES]; /* GCM nonce */
  unsigned char aCheck[MP_RESTORE_CHECK_BYTES]; /* key check */
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

int mpRestoreKind(const unsigned char *a, size_t n);
int mpRestoreHexKey(const char *z, size_t n, unsigned char *aKey);
int mpRestoreLooksLikeKey(const char *z);
int mpRestoreKeySpec(const char *zSpec, unsigned char *aKey, char *zErr,
                     size_t nErr);
int mpRestoreKeyCheck(const unsigned char *aKey, const unsigned char *aNonce,
                      unsigned char *aOut);
int mpRestoreParseHeader(const unsigned char *a, size_t n, int64_t nFile,
                         MpRestoreHeader *pHdr, char *zErr, size_t nErr);
int mpRestoreDecrypt(const unsigned char *aKey, int64_t nFile,
                     MpRestoreRead xRead, void *pIn, MpRestoreWrite xWrite,
                     void *pOut, char *zErr, size_t nErr);
int mpRestoreCheckPlain(const unsigned char *a, size_t n, int64_t nFile,
                        char *zErr, size_t nErr);

#endif /* MP_RESTORE_CODEC_H */
