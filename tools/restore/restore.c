/*
** SPDX-License-Identifier: MIT
**
** mp-restore: turns a backup written by mp_backup() back into a database,
** and checks it.
**
**   mp-restore BACKUP NEW_DB [--key SPEC]
**
**   mp-restore /var/backups/mp/queue.mpbk queue.db --key env:MP_BACKUP_KEY
**   mp-restore /var/backups/mp/queue.mpbk queue.db --key file:/etc/mp/bk.key
**   mp-restore /var/backups/mp/queue.db queue.db        (a plain backup)
**
** BACKUP is either a plain SQLite file or an encrypted one (restore_codec.h
** has the format); the first bytes say which. SPEC is env:NAME, file:PATH
** (mode 0600 or stricter) or 64 hex digits; the last works but puts the key
** in the process list and shell history, so it draws a warning.
**
** What it does, in order:
**
**   1. refuses if NEW_DB, NEW_DB-wal, NEW_DB-journal or NEW_DB-shm exists
**      (a stale WAL would be replayed into the restored database);
**   2. writes the database to NEW_DB.tmp, created exclusively with mode
**      0600; for an encrypted backup it first checks the header and the
**      key, then decrypts in 1 MiB chunks and verifies the GCM tag at the
**      end;
**   3. on any failure (wrong key, a changed byte anywhere, a truncated
**      file, a full disk, SIGINT/SIGTERM) removes NEW_DB.tmp and exits 1:
**      no output is left behind;
**   4. fsyncs NEW_DB.tmp, links it to NEW_DB (never replacing a file that
**      appeared meanwhile), removes NEW_DB.tmp and fsyncs the directory;
**   5. opens NEW_DB with mp registered and prints the results of
**      PRAGMA integrity_check and SELECT mp_verify().
**
** Exit status: 0 restored and both checks passed; 1 nothing restored (the
** reason is on stderr); 2 usage error; 3 restored to NEW_DB but a check
** failed (the file is kept for inspection).
*/
#define _POSIX_C_SOURCE 200809L /* fsync, pread, sigaction, sigprocmask */
#include "restore_codec.h"

#include <mp.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MP_RESTORE_PATH_MAX 4096

/* The temporary output, removed by the signal handler while it exists. */
static char zTmpPath[MP_RESTORE_PATH_MAX + 8];
static volatile sig_atomic_t bTmpLive = 0;

/* A byte source for mpRestoreDecrypt(): a file descriptor. */
typedef struct MpRestoreIn MpRestoreIn;
struct MpRestoreIn {
  int fd;   /* The backup, read from its start */
  int eErr; /* errno of a failed read, or 0 */
};

/* A byte sink: the temporary file, remembering the first 100 bytes. */
typedef struct MpRestoreOut MpRestoreOut;
struct MpRestoreOut {
  int fd;                   /* NEW_DB.tmp */
  int eErr;                 /* errno of a failed write, or 0 */
  int64_t nTotal;           /* Bytes written */
  unsigned char aHead[100]; /* The first bytes: the SQLite header */
  size_t nHead;             /* Bytes of aHead filled */
};

/*
** Removes the temporary output and re-raises the signal. Only
** async-signal-safe calls.
*/
static void mpRestoreOnSignal(int iSig) {
  if (bTmpLive) unlink(zTmpPath);
  signal(iSig, SIG_DFL);
  raise(iSig);
}

/*
** MpRestoreRead over a file descriptor: returns the bytes read (0 at the
** end) or -1 with errno kept in pIn->eErr.
*/
static long mpRestoreFdRead(void *pArg, unsigned char *a, size_t n) {
  MpRestoreIn *pIn = pArg;
  for (;;) {
    ssize_t nGot = read(pIn->fd, a, n);
    if (nGot >= 0) return (long)nGot;
    if (errno != EINTR) {
      pIn->eErr = errno;
      return -1;
    }
  }
}

/*
** MpRestoreWrite into the temporary file, keeping the first 100 bytes for
** the SQLite header check. Returns 0, or 1 with errno in pOut->eErr.
*/
static int mpRestoreFdWrite(void *pArg, const unsigned char *a, size_t n) {
  MpRestoreOut *pOut = pArg;
  if (pOut->nHead < sizeof(pOut->aHead)) {
    size_t nCopy = sizeof(pOut->aHead) - pOut->nHead;
    if (nCopy > n) nCopy = n;
    memcpy(pOut->aHead + pOut->nHead, a, nCopy);
    pOut->nHead += nCopy;
  }
  while (n > 0) {
    ssize_t nDone = write(pOut->fd, a, n);
    if (nDone < 0) {
      if (errno == EINTR) continue;
      pOut->eErr = errno;
      return 1;
    }
    a += nDone;
    n -= (size_t)nDone;
    pOut->nTotal += nDone;
  }
  return 0;
}

/*
** Prints the usage to f.
*/
static void mpRestoreUsage(FILE *f) {
  fprintf(f, "usage: mp-restore BACKUP NEW_DB [--key SPEC]\n"
             "  SPEC: env:NAME, file:PATH (mode 0600) or 64 hex digits\n"
             "  exit: 0 ok, 1 not restored, 2 usage, 3 restored but a "
             "check failed\n");
}

/*
** Returns 1 if a file (or dangling symlink) exists at zBase followed by
** zSuffix, else 0.
*/
static int mpRestoreExists(const char *zBase, const char *zSuffix) {
  char zName[MP_RESTORE_PATH_MAX + 16];
  struct stat st;
  snprintf(zName, sizeof(zName), "%s%s", zBase, zSuffix);
  return lstat(zName, &st) == 0 || errno != ENOENT;
}

/*
** Fsyncs the directory that holds zPath. Returns 0 or an errno value
** (EINVAL, from file systems that cannot sync directories, counts as 0).
*/
static int mpRestoreSyncDir(const char *zPath) {
  char zDir[MP_RESTORE_PATH_MAX + 8];
  const char *zSlash = strrchr(zPath, '/');
  int fd;
  int e = 0;
  if (zSlash == 0) {
    snprintf(zDir, sizeof(zDir), ".");
  } else if (zSlash == zPath) {
    snprintf(zDir, sizeof(zDir), "/");
  } else {
    snprintf(zDir, sizeof(zDir), "%.*s", (int)(zSlash - zPath), zPath);
  }
  fd = open(zDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  if (fsync(fd) != 0 && errno != EINVAL) e = errno;
  close(fd);
  return e;
}

/*
** Copies a plain backup of nFile bytes from fdIn to pOut. Returns 0, or 1
** with the reason printed.
*/
static int mpRestoreCopyPlain(const char *zBackup, int fdIn, int64_t nFile,
                              MpRestoreOut *pOut) {
  static unsigned char aBuf[1 << 16];
  MpRestoreIn in = { fdIn, 0 };
  char zErr[256];
  long nGot;
  ssize_t nHead = pread(fdIn, aBuf, 100, 0);
  if (mpRestoreCheckPlain(aBuf, nHead < 0 ? 0 : (size_t)nHead, nFile, zErr,
                          sizeof(zErr)) != MP_RESTORE_OK) {
    fprintf(stderr, "mp-restore: %s: %s\n", zBackup, zErr);
    return 1;
  }
  while ((nGot = mpRestoreFdRead(&in, aBuf, sizeof(aBuf))) > 0) {
    if (mpRestoreFdWrite(pOut, aBuf, (size_t)nGot)) {
      fprintf(stderr, "mp-restore: cannot write %s: %s\n", zTmpPath,
              strerror(pOut->eErr));
      return 1;
    }
  }
  if (nGot < 0) {
    fprintf(stderr, "mp-restore: cannot read %s: %s\n", zBackup,
            strerror(in.eErr));
    return 1;
  }
  if (pOut->nTotal != nFile) {
    fprintf(stderr, "mp-restore: %s changed while it was read\n", zBackup);
    return 1;
  }
  return 0;
}

/*
** Decrypts an encrypted backup from fdIn to pOut with aKey. Returns 0, or
** 1 with the reason printed.
*/
static int mpRestoreDecryptFile(const char *zBackup, int fdIn, int64_t nFile,
                                const unsigned char *aKey, MpRestoreOut *pOut) {
  MpRestoreIn in = { fdIn, 0 };
  char zErr[256];
  int rc = mpRestoreDecrypt(aKey, nFile, mpRestoreFdRead, &in, mpRestoreFdWrite,
                            pOut, zErr, sizeof(zErr));
  if (rc == MP_RESTORE_IO) {
    if (pOut->eErr) {
      fprintf(stderr, "mp-restore: cannot write %s: %s\n", zTmpPath,
              strerror(pOut->eErr));
    } else {
      fprintf(stderr, "mp-restore: cannot read %s: %s\n", zBackup,
              strerror(in.eErr));
    }
    return 1;
  }
  if (rc != MP_RESTORE_OK) {
    fprintf(stderr, "mp-restore: %s: %s\n", zBackup, zErr);
    return 1;
  }
  /* Authentic, but it must also be a database. */
  if (mpRestoreCheckPlain(pOut->aHead, pOut->nHead, pOut->nTotal, zErr,
                          sizeof(zErr)) != MP_RESTORE_OK) {
    fprintf(stderr, "mp-restore: %s: the decrypted data is %s\n", zBackup,
            zErr);
    return 1;
  }
  return 0;
}

/*
** Blocks (bBlock) or unblocks the signals that remove the temporary file,
** so that bTmpLive always says whether the file exists and is ours.
*/
static void mpRestoreBlockSignals(int bBlock) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(bBlock ? SIG_BLOCK : SIG_UNBLOCK, &set, 0);
}

/*
** Moves the finished temporary file to zNew without ever replacing an
** existing file: link() fails if zNew exists. On file systems without hard
** links, falls back to rename() after checking again. Returns 0, or 1 with
** the reason printed; the temporary file is gone either way on success.
*/
static int mpRestorePublish(const char *zNew) {
  int rc = 0;
  mpRestoreBlockSignals(1);
  if (link(zTmpPath, zNew) == 0) {
    unlink(zTmpPath);
    bTmpLive = 0;
  } else if (errno == EEXIST || mpRestoreExists(zNew, "")) {
    fprintf(stderr, "mp-restore: %s appeared meanwhile; not replacing it\n",
            zNew);
    rc = 1;
  } else if (rename(zTmpPath, zNew) != 0) {
    fprintf(stderr, "mp-restore: cannot rename %s to %s: %s\n", zTmpPath, zNew,
            strerror(errno));
    rc = 1;
  } else {
    bTmpLive = 0;
  }
  mpRestoreBlockSignals(0);
  if (rc) return rc;
  if ((errno = mpRestoreSyncDir(zNew)) != 0) {
    fprintf(stderr,
            "mp-restore: warning: cannot fsync the directory of %s: %s\n", zNew,
            strerror(errno));
  }
  return 0;
}

/*
** Opens the restored database with mp registered, prints the results of
** PRAGMA integrity_check and mp_verify(). Returns 0 if the database is
** intact (integrity "ok", mp_verify() = 0), else 1.
*/
static int mpRestoreCheck(const char *zNew) {
  char zName[MP_RESTORE_PATH_MAX + 8];
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  char *zErr = 0;
  int bOk = 1;
  int nRow = 0;
  int rc;
  /* "./" keeps SQLite from reading a relative name as a URI. */
  snprintf(zName, sizeof(zName), "%s%s", zNew[0] == '/' ? "" : "./", zNew);
  rc = sqlite3_open_v2(zName, &db, SQLITE_OPEN_READWRITE, 0);
  if (rc == SQLITE_OK) rc = sqlite3_mp_init(db, &zErr, 0);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "mp-restore: cannot open %s: %s\n", zNew,
            zErr ? zErr : sqlite3_errmsg(db));
    sqlite3_free(zErr);
    sqlite3_close(db);
    return 1;
  }
  rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &pStmt, 0);
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    if (nRow == 0 && z && strcmp(z, "ok") == 0) {
      printf("integrity_check: ok\n");
    } else {
      printf("integrity_check: %s\n", z ? z : "NULL");
      bOk = 0;
    }
    nRow++;
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(pStmt);
  if (rc != SQLITE_OK || nRow == 0) {
    printf("integrity_check: failed: %s\n", sqlite3_errmsg(db));
    bOk = 0;
  }
  pStmt = 0;
  rc = sqlite3_prepare_v2(db, "SELECT mp_verify()", -1, &pStmt, 0);
  if (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_int64 nBad = sqlite3_column_int64(pStmt, 0);
    printf("mp_verify: %lld\n", (long long)nBad);
    if (nBad != 0) bOk = 0;
  }
  if (rc == SQLITE_OK) rc = sqlite3_finalize(pStmt);
  if (rc != SQLITE_OK) {
    printf("mp_verify: failed: %s\n", sqlite3_errmsg(db));
    bOk = 0;
  }
  sqlite3_close(db);
  return !bOk;
}

/*
** mp-restore BACKUP NEW_DB [--key SPEC]: see the top of this file. Returns
** the exit status: 0 restored and intact, 1 not restored, 2 usage, 3
** restored but a check failed.
*/
int main(int argc, char **argv) {
  unsigned char aKey[MP_RESTORE_KEY_BYTES];
  unsigned char aMagic[16];
  const char *zBackup = 0;
  const char *zNew = 0;
  char *zSpec = 0;
  char zErr[256];
  MpRestoreOut out;
  struct sigaction sa;
  struct stat st;
  ssize_t nMagic;
  int eKind;
  int fdIn = -1;
  int rc = 1;

  memset(&out, 0, sizeof(out));
  out.fd = -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
      zSpec = argv[++i];
    } else if (strncmp(argv[i], "--key=", 6) == 0) {
      zSpec = argv[i] + 6;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      mpRestoreUsage(stdout);
      return 0;
    } else if (argv[i][0] == '-' && argv[i][1] != 0) {
      fprintf(stderr, "mp-restore: unknown option %s\n",
              strncmp(argv[i], "--key", 5) == 0 ? "--key (needs SPEC)"
                                                : argv[i]);
      mpRestoreUsage(stderr);
      return 2;
    } else if (zBackup == 0) {
      zBackup = argv[i];
    } else if (zNew == 0) {
      zNew = argv[i];
    } else {
      fprintf(stderr, "mp-restore: too many arguments\n");
      mpRestoreUsage(stderr);
      return 2;
    }
  }
  if (zBackup == 0 || zNew == 0) {
    mpRestoreUsage(stderr);
    return 2;
  }
  if (strlen(zNew) > MP_RESTORE_PATH_MAX) {
    fprintf(stderr, "mp-restore: NEW_DB path is too long\n");
    return 2;
  }
  if (zSpec) {
    int bLiteral =
        strncmp(zSpec, "env:", 4) != 0 && strncmp(zSpec, "file:", 5) != 0;
    if (mpRestoreKeySpec(zSpec, aKey, zErr, sizeof(zErr))) {
      fprintf(stderr, "mp-restore: %s\n", zErr);
      return 1;
    }
    if (bLiteral) {
      /* Too late for ps and shell history, but not for later readers. */
      memset(zSpec, 'x', strlen(zSpec));
      fprintf(stderr, "mp-restore: warning: a key given on the command line "
                      "is visible to other users and kept in shell history; "
                      "use --key env:NAME or --key file:PATH\n");
    }
  }

  fdIn = open(zBackup, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fdIn < 0) {
    fprintf(stderr, "mp-restore: cannot open %s: %s\n", zBackup,
            strerror(errno));
    goto restore_done;
  }
  if (fstat(fdIn, &st) != 0 || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "mp-restore: %s is not a regular file\n", zBackup);
    goto restore_done;
  }
  nMagic = pread(fdIn, aMagic, sizeof(aMagic), 0);
  eKind = mpRestoreKind(aMagic, nMagic < 0 ? 0 : (size_t)nMagic);
  if (eKind == MP_RESTORE_KIND_UNKNOWN) {
    fprintf(stderr,
            "mp-restore: %s is not an mp backup (neither encrypted nor a "
            "SQLite database)\n",
            zBackup);
    goto restore_done;
  }
  if (eKind == MP_RESTORE_KIND_ENCRYPTED && zSpec == 0) {
    fprintf(stderr, "mp-restore: %s is encrypted; give --key SPEC\n", zBackup);
    goto restore_done;
  }
  if (eKind == MP_RESTORE_KIND_PLAIN && zSpec) {
    fprintf(stderr,
            "mp-restore: %s is a plain (unencrypted) backup but --key was "
            "given; refusing (leave out --key to restore it)\n",
            zBackup);
    goto restore_done;
  }
  if (mpRestoreExists(zNew, "")) {
    fprintf(stderr, "mp-restore: %s exists; not replacing it\n", zNew);
    goto restore_done;
  }
  if (mpRestoreExists(zNew, "-wal") || mpRestoreExists(zNew, "-journal") ||
      mpRestoreExists(zNew, "-shm")) {
    fprintf(stderr,
            "mp-restore: %s has a leftover -wal, -journal or -shm file; "
            "remove it first\n",
            zNew);
    goto restore_done;
  }

  snprintf(zTmpPath, sizeof(zTmpPath), "%s.tmp", zNew);
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = mpRestoreOnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, 0);
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGHUP, &sa, 0);
  mpRestoreBlockSignals(1);
  out.fd = open(zTmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                0600);
  bTmpLive = out.fd >= 0;
  mpRestoreBlockSignals(0);
  if (out.fd < 0) {
    fprintf(stderr, "mp-restore: cannot create %s: %s\n", zTmpPath,
            strerror(errno));
    goto restore_done;
  }
  if (fchmod(out.fd, 0600) != 0) {
    fprintf(stderr, "mp-restore: cannot chmod %s: %s\n", zTmpPath,
            strerror(errno));
    goto restore_done;
  }
  if (eKind == MP_RESTORE_KIND_ENCRYPTED
          ? mpRestoreDecryptFile(zBackup, fdIn, (int64_t)st.st_size, aKey, &out)
          : mpRestoreCopyPlain(zBackup, fdIn, (int64_t)st.st_size, &out)) {
    goto restore_done;
  }
  if (fsync(out.fd) != 0) {
    fprintf(stderr, "mp-restore: cannot fsync %s: %s\n", zTmpPath,
            strerror(errno));
    goto restore_done;
  }
  if (close(out.fd) != 0) {
    out.fd = -1;
    fprintf(stderr, "mp-restore: cannot close %s: %s\n", zTmpPath,
            strerror(errno));
    goto restore_done;
  }
  out.fd = -1;
  if (mpRestorePublish(zNew)) goto restore_done;
  printf("restored %s (%s, %lld bytes) to %s\n", zBackup,
         eKind == MP_RESTORE_KIND_ENCRYPTED ? "encrypted" : "plain",
         (long long)out.nTotal, zNew);
  rc = mpRestoreCheck(zNew) ? 3 : 0;
  if (rc != 0) {
    fprintf(stderr, "mp-restore: %s was restored but failed its checks\n",
            zNew);
  }

restore_done:
  OPENSSL_cleanse(aKey, sizeof(aKey));
  if (fdIn >= 0) close(fdIn);
  if (out.fd >= 0) close(out.fd);
  if (bTmpLive) {
    unlink(zTmpPath);
    bTmpLive = 0;
  }
  return rc;
}
