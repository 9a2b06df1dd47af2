/*
** SPDX-License-Identifier: MIT
**
** mp_backup.c: consistent online backups of the main database, plain or
** encrypted with AES-256-GCM.
**
**   SELECT mp_backup('/var/backups/mp/queue.db');         -- plain SQLite
**   SELECT mp_backup('/var/backups/mp/queue.mpbk', 'env:MP_BACKUP_KEY');
**   SELECT mp_backup('/var/backups/mp/queue.mpbk', 'file:/etc/mp/backup.key');
**   SELECT value FROM mp_stats WHERE name = 'last_backup';
**
** mp_backup(path [, key]) returns the number of bytes written. The file
** appears at path complete or not at all, with mode 0600 under any umask;
** an existing file at path is replaced atomically. Restore a backup with
** `mp-restore BACKUP NEW_DB [--key SPEC]` (tools/restore/).
**
** THE KEY
**
**   env:NAME    the environment variable NAME of the process running
**               SQLite holds the key
**   file:PATH   the file PATH holds the key; refused when its mode lets
**               group or others in at all (chmod 600 it)
**   64 hex digits, literally: allowed, but the SQL text then lands in
**               shell history, logs and process listings; prefer the two
**               forms above
**
** A key is 32 random bytes written as 64 hex digits (a trailing newline is
** fine), e.g. `openssl rand -hex 32 > backup.key`. A missing or empty
** variable or file is an error, never an empty key. No error message ever
** contains key material.
**
** HOW IT WORKS
**
** SQLite's online backup API copies the main database page by page inside
** one read transaction of the calling connection: a consistent snapshot,
** taken while other connections keep writing (in WAL mode they are not
** blocked at all). The live file is never copied by hand.
**
**   plain      the snapshot is written by SQLite straight into
**              <path>.tmp, which mp created with O_EXCL and mode 0600
**   encrypted  the snapshot goes into a private in-memory database, whose
**              bytes (sqlite3_serialize, no copy) are encrypted in 1 MiB
**              chunks into <path>.tmp: no plaintext ever reaches the disk,
**              and memory use is about the size of the database
**
** Then: fsync the file, take the write lock, record last_backup in mp_meta,
** rename <path>.tmp to <path>, fsync the directory, commit. Any failure
** before the rename removes <path>.tmp and records nothing.
**
** FILE FORMAT
**
** A header (magic "MPBK", version, algorithm, length, nonce, key check),
** the AES-256-GCM ciphertext of the database image and the GCM tag. The
** layout, and the code both sides must agree on, is in mp_backup_format.h,
** shared with mp-restore (tools/restore/), which reads these files.
*/
#define _POSIX_C_SOURCE 200809L /* fchmod, fsync, O_CLOEXEC, O_DIRECTORY */
#include "mp_backup_format.h"
#include "mp_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MP_BACKUP_CHUNK      (1024 * 1024) /* bytes encrypted per step */
#define MP_BACKUP_PATH_MAX   4096          /* bytes of a path or key spec */
#define MP_BACKUP_BUSY_TRIES 100           /* 50 ms apart: 5 s in all */

/*
** One backup in progress.
*/
typedef struct MpBackup MpBackup;
struct MpBackup {
  MpState *p;                   /* The connection's state */
  const char *zPath;            /* Where the backup goes */
  char *zTmp;                   /* zPath + ".tmp", from sqlite3_mprintf */
  int fd;                       /* Open descriptor of zTmp, or -1 */
  int bTmp;                     /* True while zTmp exists and is ours */
  int bKey;                     /* True when aKey holds a key */
  u8 aKey[MP_BACKUP_KEY_BYTES]; /* The key; wiped before returning */
  i64 nBytes;                   /* Bytes written to zTmp */
  int rc;                       /* First error code, or SQLITE_OK */
  char *zErr;                   /* First error message, or NULL */
};

/*
** Records the first error of a backup: rc and a message built from a
** printf-style format and its arguments ap, which must not contain key
** material. Later errors (usually consequences of the first) are dropped.
** Returns the recorded error code.
*/
static int mpBackupErrorV(MpBackup *pB, int rc, const char *zFormat,
                          va_list ap) {
  if (pB->rc != SQLITE_OK) return pB->rc;
  pB->zErr = sqlite3_vmprintf(zFormat, ap);
  pB->rc = pB->zErr == 0 ? SQLITE_NOMEM : rc;
  return pB->rc;
}

/*
** mpBackupErrorV() with the arguments of the format given inline.
*/
static int mpBackupError(MpBackup *pB, int rc, const char *zFormat, ...) {
  va_list ap;
  va_start(ap, zFormat);
  rc = mpBackupErrorV(pB, rc, zFormat, ap);
  va_end(ap);
  return rc;
}

/*
** Records an out-of-memory error. Returns SQLITE_NOMEM.
*/
static int mpBackupNoMem(MpBackup *pB) {
  return mpBackupError(pB, SQLITE_NOMEM, "mp_backup: out of memory");
}

/*
** Records a refused key spec (an MpBackupKeyError callback; pArg is the
** MpBackup): eKind, an MP_BACKUP_KEY_* result, becomes the SQLite result
** code and the message the error message.
*/
static void mpBackupKeyRefused(void *pArg, int eKind, const char *zFormat,
                               va_list ap) {
  int rc = eKind == MP_BACKUP_KEY_CANTOPEN ? SQLITE_CANTOPEN
           : eKind == MP_BACKUP_KEY_IOERR  ? SQLITE_IOERR
                                           : SQLITE_ERROR;
  mpBackupErrorV((MpBackup *)pArg, rc, zFormat, ap);
}

/*
** Resolves a key spec (env:NAME, file:PATH or 64 hex digits) into
** pB->aKey. Returns an SQLite result code, with the error recorded in pB;
** no message quotes the key or the spec when it could be one.
*/
static int mpBackupKey(MpBackup *pB, const char *zSpec) {
  if (mpBackupFormatKeySpec(zSpec, "mp_backup: ", pB->aKey, mpBackupKeyRefused,
                            pB) != MP_BACKUP_KEY_OK) {
    return pB->rc;
  }
  pB->bKey = 1;
  return SQLITE_OK;
}

/*
** Refuses a path that would replace the live database or one of its
** journals, or that names a directory. Returns an SQLite result code.
*/
static int mpBackupCheckTarget(MpBackup *pB) {
  static const char *const azSuffix[] = { "", "-wal", "-shm", "-journal" };
  const char *zDb = sqlite3_db_filename(pB->p->db, "main");
  struct stat stPath;
  if (stat(pB->zPath, &stPath) != 0) return SQLITE_OK;
  if (S_ISDIR(stPath.st_mode)) {
    return mpBackupError(pB, SQLITE_CANTOPEN, "mp_backup: %s is a directory",
                         pB->zPath);
  }
  if (zDb == 0 || zDb[0] == 0) return SQLITE_OK;
  for (size_t i = 0; i < sizeof(azSuffix) / sizeof(azSuffix[0]); i++) {
    struct stat st;
    char *zName = sqlite3_mprintf("%s%s", zDb, azSuffix[i]);
    int bSame;
    if (zName == 0) return mpBackupNoMem(pB);
    bSame = stat(zName, &st) == 0 && st.st_dev == stPath.st_dev &&
            st.st_ino == stPath.st_ino;
    sqlite3_free(zName);
    if (bSame) {
      return mpBackupError(pB, SQLITE_ERROR,
                           i == 0 ? "mp_backup: %s is the live database; "
                                    "choose another path"
                                  : "mp_backup: %s belongs to the live "
                                    "database; choose another path",
                           pB->zPath);
    }
  }
  return SQLITE_OK;
}

/*
** Creates zTmp exclusively with mode 0600 (whatever the umask) and keeps
** it open in pB->fd. Returns an SQLite result code.
*/
static int mpBackupCreateTmp(MpBackup *pB) {
  pB->zTmp = sqlite3_mprintf("%s.tmp", pB->zPath);
  if (pB->zTmp == 0) return mpBackupNoMem(pB);
  pB->fd = open(pB->zTmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                0600);
  if (pB->fd < 0) {
    return mpBackupError(pB, SQLITE_CANTOPEN, "mp_backup: cannot create %s: %s",
                         pB->zTmp, strerror(errno));
  }
  pB->bTmp = 1;
  if (fchmod(pB->fd, 0600) != 0) {
    return mpBackupError(pB, SQLITE_IOERR, "mp_backup: cannot chmod %s: %s",
                         pB->zTmp, strerror(errno));
  }
  return SQLITE_OK;
}

/*
** Writes a[0..n) to the temporary file. Returns an SQLite result code.
*/
static int mpBackupWrite(MpBackup *pB, const u8 *a, size_t n) {
  while (n > 0) {
    ssize_t nDone = write(pB->fd, a, n);
    if (nDone < 0) {
      if (errno == EINTR) continue;
      return mpBackupError(pB, errno == ENOSPC ? SQLITE_FULL : SQLITE_IOERR,
                           "mp_backup: cannot write %s: %s", pB->zTmp,
                           strerror(errno));
    }
    a += nDone;
    n -= (size_t)nDone;
    pB->nBytes += nDone;
  }
  return SQLITE_OK;
}

/*
** Copies the main database of the calling connection into the main
** database of pDest with the online backup API, in one step: one read
** transaction, so the copy is a consistent snapshot. Retries for up to 5 s
** while the source is locked (rollback-journal mode). Returns an SQLite
** result code.
*/
static int mpBackupCopy(MpBackup *pB, sqlite3 *pDest) {
  sqlite3_backup *pBackup;
  int rc;
  int rcFinish;
  pBackup = sqlite3_backup_init(pDest, "main", pB->p->db, "main");
  if (pBackup == 0) {
    return mpBackupError(pB, sqlite3_errcode(pDest),
                         "mp_backup: cannot start the backup: %s",
                         sqlite3_errmsg(pDest));
  }
  for (int nTry = 0;; nTry++) {
    rc = sqlite3_backup_step(pBackup, -1);
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
        nTry < MP_BACKUP_BUSY_TRIES) {
      sqlite3_sleep(50);
      continue;
    }
    break;
  }
  rcFinish = sqlite3_backup_finish(pBackup);
  if (rc != SQLITE_DONE) {
    return mpBackupError(pB, rc, "mp_backup: cannot copy the database: %s",
                         rcFinish != SQLITE_OK ? sqlite3_errmsg(pDest)
                                               : sqlite3_errstr(rc));
  }
  if (rcFinish != SQLITE_OK) {
    return mpBackupError(pB, rcFinish,
                         "mp_backup: cannot copy the database: %s",
                         sqlite3_errmsg(pDest));
  }
  return SQLITE_OK;
}

/*
** Writes a plain backup: SQLite itself copies the snapshot into zTmp,
** which mp created and keeps open (so that its own descriptor is closed
** only after SQLite has released its locks). No journal: zTmp is deleted
** on any failure anyway. Returns an SQLite result code.
*/
static int mpBackupPlain(MpBackup *pB) {
  sqlite3 *pDest = 0;
  struct stat st;
  char *zName;
  int rc;
  /* A relative name gets "./" so that SQLite never reads it as a URI. */
  zName = sqlite3_mprintf("%s%s", pB->zTmp[0] == '/' ? "" : "./", pB->zTmp);
  if (zName == 0) return mpBackupNoMem(pB);
  rc = sqlite3_open_v2(zName, &pDest,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, 0);
  sqlite3_free(zName);
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(
        pDest, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", 0, 0, 0);
  }
  if (rc != SQLITE_OK) {
    mpBackupError(pB, rc, "mp_backup: cannot open %s: %s", pB->zTmp,
                  pDest ? sqlite3_errmsg(pDest) : sqlite3_errstr(rc));
  } else {
    mpBackupCopy(pB, pDest);
  }
  rc = sqlite3_close(pDest);
  if (rc != SQLITE_OK) {
    return mpBackupError(pB, rc, "mp_backup: cannot close %s: %s", pB->zTmp,
                         sqlite3_errstr(rc));
  }
  if (pB->rc != SQLITE_OK) return pB->rc;
  if (fstat(pB->fd, &st) != 0) {
    return mpBackupError(pB, SQLITE_IOERR, "mp_backup: cannot stat %s: %s",
                         pB->zTmp, strerror(errno));
  }
  pB->nBytes = (i64)st.st_size;
  return SQLITE_OK;
}

/*
** Stores v big-endian in a[0..8).
*/
static void mpBackupPut64(u8 *a, u64 v) {
  for (int i = 7; i >= 0; i--) {
    a[i] = (u8)(v & 0xff);
    v >>= 8;
  }
}

/*
** Encrypts a[0..n), the database image, into the temporary file: header,
** ciphertext in MP_BACKUP_CHUNK pieces, tag (mp_backup_format.h).
** Returns an SQLite result code.
*/
static int mpBackupEncrypt(MpBackup *pB, const u8 *a, i64 n) {
  u8 aHdr[MP_BACKUP_HEADER];
  u8 aTag[MP_BACKUP_TAG_BYTES];
  u8 *aOut = 0;
  EVP_CIPHER_CTX *pCtx = 0;
  int nOut = 0;
  i64 i;
  memcpy(aHdr, MP_BACKUP_MAGIC, 4);
  aHdr[4] = MP_BACKUP_VERSION;
  aHdr[5] = MP_BACKUP_ALG_GCM;
  aHdr[6] = 0;
  aHdr[7] = 0;
  mpBackupPut64(aHdr + 8, (u64)n);
  if (RAND_bytes(aHdr + 16, MP_BACKUP_NONCE_BYTES) != 1) {
    return mpBackupError(pB, SQLITE_ERROR,
                         "mp_backup: cannot get random bytes for the nonce");
  }
  if (mpBackupFormatKeyCheck(pB->aKey, aHdr + 16, aHdr + 28)) {
    return mpBackupError(pB, SQLITE_ERROR,
                         "mp_backup: cannot compute the key check");
  }
  aOut = sqlite3_malloc64(MP_BACKUP_CHUNK);
  pCtx = EVP_CIPHER_CTX_new();
  if (aOut == 0 || pCtx == 0) {
    mpBackupNoMem(pB);
    goto encrypt_done;
  }
  memset(aOut, 0, MP_BACKUP_CHUNK);
  if (EVP_EncryptInit_ex(pCtx, EVP_aes_256_gcm(), 0, 0, 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(pCtx, EVP_CTRL_GCM_SET_IVLEN, MP_BACKUP_NONCE_BYTES,
                          0) != 1 ||
      EVP_EncryptInit_ex(pCtx, 0, 0, pB->aKey, aHdr + 16) != 1 ||
      EVP_EncryptUpdate(pCtx, 0, &nOut, aHdr, MP_BACKUP_HEADER) != 1) {
    mpBackupError(pB, SQLITE_ERROR, "mp_backup: cannot start AES-256-GCM");
    goto encrypt_done;
  }
  if (mpBackupWrite(pB, aHdr, MP_BACKUP_HEADER)) goto encrypt_done;
  for (i = 0; i < n; i += MP_BACKUP_CHUNK) {
    int nIn = n - i < MP_BACKUP_CHUNK ? (int)(n - i) : MP_BACKUP_CHUNK;
    if (EVP_EncryptUpdate(pCtx, aOut, &nOut, a + i, nIn) != 1) {
      mpBackupError(pB, SQLITE_ERROR, "mp_backup: encryption failed");
      goto encrypt_done;
    }
    if (mpBackupWrite(pB, aOut, (size_t)nOut)) goto encrypt_done;
  }
  if (EVP_EncryptFinal_ex(pCtx, aOut, &nOut) != 1 ||
      EVP_CIPHER_CTX_ctrl(pCtx, EVP_CTRL_GCM_GET_TAG, MP_BACKUP_TAG_BYTES,
                          aTag) != 1) {
    mpBackupError(pB, SQLITE_ERROR, "mp_backup: encryption failed");
    goto encrypt_done;
  }
  if (mpBackupWrite(pB, aOut, (size_t)nOut)) goto encrypt_done;
  mpBackupWrite(pB, aTag, MP_BACKUP_TAG_BYTES);
encrypt_done:
  EVP_CIPHER_CTX_free(pCtx);
  sqlite3_free(aOut);
  return pB->rc;
}

/*
** Writes an encrypted backup: the snapshot goes into a private in-memory
** database (memdb VFS), whose image is encrypted into the temporary file
** and then wiped. Returns an SQLite result code.
*/
static int mpBackupEncrypted(MpBackup *pB) {
  sqlite3 *pMem = 0;
  sqlite3_int64 iLimit = (sqlite3_int64)1 << 46;
  sqlite3_int64 nImage = 0;
  unsigned char *aImage;
  int rc;
  rc = sqlite3_open_v2(
      "file:mp_backup?vfs=memdb", &pMem,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, 0);
  if (rc != SQLITE_OK) {
    mpBackupError(pB, rc,
                  "mp_backup: cannot open an in-memory database for "
                  "encryption: %s",
                  pMem ? sqlite3_errmsg(pMem) : sqlite3_errstr(rc));
    sqlite3_close(pMem);
    return pB->rc;
  }
  /* memdb caps a database at 1 GiB unless told otherwise. */
  sqlite3_file_control(pMem, "main", SQLITE_FCNTL_SIZE_LIMIT, &iLimit);
  if (mpBackupCopy(pB, pMem) == SQLITE_OK) {
    aImage = sqlite3_serialize(pMem, "main", &nImage, SQLITE_SERIALIZE_NOCOPY);
    if (aImage == 0 || nImage <= 0) {
      mpBackupError(pB, SQLITE_ERROR,
                    "mp_backup: cannot serialize the in-memory copy");
    } else {
      mpBackupEncrypt(pB, aImage, nImage);
      OPENSSL_cleanse(aImage, (size_t)nImage);
    }
  }
  sqlite3_close(pMem);
  return pB->rc;
}

/*
** Flushes and closes the temporary file. Returns an SQLite result code.
*/
static int mpBackupSync(MpBackup *pB) {
  int fd = pB->fd;
  pB->fd = -1;
  if (fsync(fd) != 0) {
    int e = errno;
    close(fd);
    return mpBackupError(pB, SQLITE_IOERR, "mp_backup: cannot fsync %s: %s",
                         pB->zTmp, strerror(e));
  }
  if (close(fd) != 0) {
    return mpBackupError(pB, SQLITE_IOERR, "mp_backup: cannot close %s: %s",
                         pB->zTmp, strerror(errno));
  }
  return SQLITE_OK;
}

/*
** Fsyncs the directory holding zPath, so that a rename into it survives a
** crash. File systems that cannot sync directories (EINVAL) are accepted.
** Returns an SQLite result code.
*/
static int mpBackupSyncDir(MpBackup *pB) {
  const char *zSlash = strrchr(pB->zPath, '/');
  char *zDir;
  int fd;
  int rc = SQLITE_OK;
  if (zSlash == 0) {
    zDir = sqlite3_mprintf(".");
  } else if (zSlash == pB->zPath) {
    zDir = sqlite3_mprintf("/");
  } else {
    zDir = sqlite3_mprintf("%.*s", (int)(zSlash - pB->zPath), pB->zPath);
  }
  if (zDir == 0) return mpBackupNoMem(pB);
  fd = open(zDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
    rc = mpBackupError(pB, SQLITE_IOERR, "mp_backup: cannot fsync %s: %s", zDir,
                       strerror(errno));
  }
  if (fd >= 0) close(fd);
  sqlite3_free(zDir);
  return rc;
}

/*
** Records the backup and moves it into place, all or nothing: takes the
** write lock, writes last_backup, renames zTmp to zPath, fsyncs the
** directory and commits. Returns an SQLite result code.
*/
static int mpBackupPublish(MpBackup *pB) {
  MpState *p = pB->p;
  sqlite3_stmt *pStmt = 0;
  int rc = mpBegin(p);
  if (rc != SQLITE_OK) {
    return mpBackupError(pB, rc, "mp_backup: cannot record last_backup: %s",
                         sqlite3_errmsg(p->db));
  }
  rc = sqlite3_prepare_v2(p->db,
                          "INSERT INTO mp_meta(key, value) "
                          "VALUES ('last_backup', ?1) "
                          "ON CONFLICT(key) DO UPDATE SET value = "
                          "excluded.value",
                          -1, &pStmt, 0);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, mpNowMs(p) / 1000);
    sqlite3_step(pStmt);
    rc = sqlite3_finalize(pStmt);
  }
  if (rc != SQLITE_OK) {
    mpBackupError(pB, rc, "mp_backup: cannot record last_backup: %s",
                  sqlite3_errmsg(p->db));
    mpRollback(p);
    return pB->rc;
  }
  if (rename(pB->zTmp, pB->zPath) != 0) {
    mpBackupError(pB, SQLITE_CANTOPEN, "mp_backup: cannot rename %s to %s: %s",
                  pB->zTmp, pB->zPath, strerror(errno));
    mpRollback(p);
    return pB->rc;
  }
  pB->bTmp = 0;
  if (mpBackupSyncDir(pB) != SQLITE_OK) {
    unlink(pB->zPath);
    mpRollback(p);
    return pB->rc;
  }
  rc = mpCommit(p);
  if (rc != SQLITE_OK) {
    /* The file in place is a complete backup; only the record is lost. */
    return mpBackupError(pB, rc,
                         "mp_backup: %s written but last_backup not "
                         "recorded: %s",
                         pB->zPath, sqlite3_errstr(rc));
  }
  return SQLITE_OK;
}

/*
** Returns SQLITE_OK if the main database holds mp's schema (mp_meta),
** else records "run SELECT mp_init() first" and returns SQLITE_ERROR.
*/
static int mpBackupCheckSchema(MpBackup *pB) {
  sqlite3_stmt *pStmt = 0;
  int bFound = 0;
  int rc = sqlite3_prepare_v2(pB->p->db,
                              "SELECT 1 FROM main.sqlite_schema "
                              "WHERE type = 'table' AND name = 'mp_meta'",
                              -1, &pStmt, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(pStmt);
    bFound = rc == SQLITE_ROW;
    rc = sqlite3_finalize(pStmt);
  }
  if (rc != SQLITE_OK) {
    return mpBackupError(pB, rc, "mp_backup: %s", sqlite3_errmsg(pB->p->db));
  }
  if (!bFound) {
    return mpBackupError(pB, SQLITE_ERROR,
                         "mp_backup: no mp schema in this database; run "
                         "SELECT mp_init() first");
  }
  return SQLITE_OK;
}

/*
** Takes a backup of the main database of p->db into zPath: a plain SQLite
** database when zKeySpec is NULL, else encrypted with the key it names
** (env:NAME, file:PATH or 64 hex digits). On success records last_backup
** in mp_meta, sets *pnBytes (if not NULL) to the size of the file and
** returns SQLITE_OK. On failure returns an error code and sets *pzErr to a
** message from sqlite3_malloc ("mp_backup: ..."; the caller frees it with
** sqlite3_free). A failure leaves no zPath.tmp and no new zPath, with one
** exception that the message names: when only the final commit of
** last_backup fails, the complete backup stays at zPath.
**
** Call it outside any write transaction of p->db: a snapshot would contain
** that transaction's uncommitted changes, so it is refused.
*/
int mpBackupRun(MpState *p, const char *zPath, const char *zKeySpec,
                i64 *pnBytes, char **pzErr) {
  MpBackup b;
  memset(&b, 0, sizeof(b));
  b.p = p;
  b.zPath = zPath;
  b.fd = -1;
  *pzErr = 0;
  if (pnBytes) *pnBytes = 0;
  if (zPath == 0 || zPath[0] == 0) {
    mpBackupError(&b, SQLITE_MISUSE, "mp_backup: path must not be empty");
  } else if (strlen(zPath) > MP_BACKUP_PATH_MAX) {
    mpBackupError(&b, SQLITE_TOOBIG, "mp_backup: path is too long");
  } else if (zKeySpec && zKeySpec[0] == 0) {
    mpBackupError(&b, SQLITE_MISUSE, "mp_backup: key must not be empty");
  } else if (sqlite3_txn_state(p->db, "main") == SQLITE_TXN_WRITE) {
    mpBackupError(&b, SQLITE_ERROR,
                  "mp_backup: cannot back up inside a write transaction; "
                  "commit first");
  }
  if (b.rc == SQLITE_OK && zKeySpec) mpBackupKey(&b, zKeySpec);
  if (b.rc == SQLITE_OK) mpBackupCheckSchema(&b);
  if (b.rc == SQLITE_OK) mpBackupCheckTarget(&b);
  if (b.rc == SQLITE_OK) mpBackupCreateTmp(&b);
  if (b.rc == SQLITE_OK) {
    if (b.bKey) {
      mpBackupEncrypted(&b);
    } else {
      mpBackupPlain(&b);
    }
  }
  OPENSSL_cleanse(b.aKey, sizeof(b.aKey));
  if (b.rc == SQLITE_OK) mpBackupSync(&b);
  if (b.rc == SQLITE_OK) mpBackupPublish(&b);
  if (b.fd >= 0) close(b.fd);
  if (b.bTmp) unlink(b.zTmp);
  sqlite3_free(b.zTmp);
  if (b.rc != SQLITE_OK) {
    *pzErr = b.zErr;
    return b.rc;
  }
  if (pnBytes) *pnBytes = b.nBytes;
  return SQLITE_OK;
}

/*
** mp_backup(path [, key]): writes a consistent backup of the main
** database to path, encrypted when a key spec is given; returns the bytes
** written. MP_FN_UNSAFE: it writes files and mp_meta, so it must never run
** from a trigger or view of an untrusted database.
*/
static void mpBackupFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char zFunc[] = "mp_backup";
  MpState *p = sqlite3_user_data(ctx);
  const char *zPath;
  const char *zKey = 0;
  char *zErr = 0;
  i64 nBytes = 0;
  int rc;
  if (mpArgText(ctx, argv[0], zFunc, "path", MP_BACKUP_PATH_MAX, 0, &zPath,
                0)) {
    return;
  }
  if (argc == 2 &&
      mpArgText(ctx, argv[1], zFunc, "key", MP_BACKUP_PATH_MAX, 0, &zKey, 0)) {
    return;
  }
  rc = mpBackupRun(p, zPath, zKey, &nBytes, &zErr);
  if (rc == SQLITE_OK) {
    sqlite3_result_int64(ctx, nBytes);
  } else if (rc == SQLITE_NOMEM || zErr == 0) {
    sqlite3_free(zErr);
    sqlite3_result_error_nomem(ctx);
  } else {
    sqlite3_result_error(ctx, zErr, -1);
    sqlite3_result_error_code(ctx, rc);
    sqlite3_free(zErr);
  }
}

/*
** Registers mp_backup(path) and mp_backup(path, key). Returns an SQLite
** result code; *pzErrMsg names the function that failed.
*/
int mpRegisterBackup(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_backup", 1, MP_FN_UNSAFE, mpBackupFunc },
    { "mp_backup", 2, MP_FN_UNSAFE, mpBackupFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
