/*
** SPDX-License-Identifier: MIT
**
** ioerr_vfs.c: a VFS shim that injects I/O errors (see ioerr_vfs.h).
**
** The technique is that of SQLite's own I/O error tests (the fault
** simulation behind src/test_devsym.c and the "ioerr" test scripts),
** written anew: a counter per kind of call; at the armed count the call
** returns the armed error instead of touching the file.
**
** The io methods are version 2 (WAL, no memory-mapped I/O), so that every
** read of the database goes through xRead and can fail. The -shm file
** and temporary files are not faulted. A sync that does not fail returns
** at once without a real fsync: no power is lost in this test, and the
** sweep runs thousands of workloads.
*/
#include "ioerr_vfs.h"

#include <sqlite3.h>

#include <string.h>

typedef sqlite3_int64 i64;

/* An open file. The real file's sqlite3_file follows this struct. */
typedef struct IoerrFile IoerrFile;
struct IoerrFile {
  sqlite3_file base;   /* Base class, must be first */
  sqlite3_file *pReal; /* The real file, right after this struct */
  int bTracked;        /* Database, WAL or journal: may fail */
};

/* The armed fault and the counters. */
static struct {
  sqlite3_vfs *pBase;    /* The VFS underneath */
  int aCount[IOERR_NOP]; /* Calls per kind since armed */
  int eOp;               /* Kind of call that fails */
  int iAt;               /* Which call fails (1-based); 0: none */
  int rc;                /* The error it returns */
  int bPersist;          /* Later calls fail too */
  int nFired;            /* Calls failed so far */
} g;

/*
** Counts a call of kind eOp on p. Returns the error to return instead of
** doing the call, or SQLITE_OK to do it.
*/
static int ioerrCheck(IoerrFile *p, int eOp) {
  int n;
  if (!p->bTracked) return SQLITE_OK;
  n = ++g.aCount[eOp];
  if (g.iAt == 0 || eOp != g.eOp) return SQLITE_OK;
  if (n == g.iAt || (g.bPersist && n > g.iAt)) {
    g.nFired++;
    return g.rc;
  }
  return SQLITE_OK;
}

static int ioerrClose(sqlite3_file *pFile) {
  IoerrFile *p = (IoerrFile *)pFile;
  return p->pReal->pMethods->xClose(p->pReal);
}

static int ioerrRead(sqlite3_file *pFile, void *zBuf, int iAmt, i64 iOfst) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_READ);
  if (rc != SQLITE_OK) return rc;
  return p->pReal->pMethods->xRead(p->pReal, zBuf, iAmt, iOfst);
}

static int ioerrWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                      i64 iOfst) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_WRITE);
  if (rc != SQLITE_OK) return rc;
  return p->pReal->pMethods->xWrite(p->pReal, zBuf, iAmt, iOfst);
}

static int ioerrTruncate(sqlite3_file *pFile, i64 size) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_TRUNCATE);
  if (rc != SQLITE_OK) return rc;
  return p->pReal->pMethods->xTruncate(p->pReal, size);
}

static int ioerrSync(sqlite3_file *pFile, int flags) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_SYNC);
  if (rc != SQLITE_OK || p->bTracked) return rc;
  return p->pReal->pMethods->xSync(p->pReal, flags);
}

static int ioerrFileSize(sqlite3_file *pFile, i64 *pSize) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xFileSize(pReal, pSize);
}

static int ioerrLock(sqlite3_file *pFile, int eLock) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xLock(pReal, eLock);
}

static int ioerrUnlock(sqlite3_file *pFile, int eLock) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xUnlock(pReal, eLock);
}

static int ioerrCheckReservedLock(sqlite3_file *pFile, int *pResOut) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xCheckReservedLock(pReal, pResOut);
}

static int ioerrFileControl(sqlite3_file *pFile, int op, void *pArg) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xFileControl(pReal, op, pArg);
}

static int ioerrSectorSize(sqlite3_file *pFile) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xSectorSize(pReal);
}

static int ioerrDeviceCharacteristics(sqlite3_file *pFile) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xDeviceCharacteristics(pReal);
}

static int ioerrShmMap(sqlite3_file *pFile, int iPg, int pgsz, int bExtend,
                       void volatile **pp) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xShmMap(pReal, iPg, pgsz, bExtend, pp);
}

static int ioerrShmLock(sqlite3_file *pFile, int offset, int n, int flags) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xShmLock(pReal, offset, n, flags);
}

static void ioerrShmBarrier(sqlite3_file *pFile) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  pReal->pMethods->xShmBarrier(pReal);
}

static int ioerrShmUnmap(sqlite3_file *pFile, int deleteFlag) {
  sqlite3_file *pReal = ((IoerrFile *)pFile)->pReal;
  return pReal->pMethods->xShmUnmap(pReal, deleteFlag);
}

static const sqlite3_io_methods ioerrIoMethods = {
  .iVersion = 2,
  .xClose = ioerrClose,
  .xRead = ioerrRead,
  .xWrite = ioerrWrite,
  .xTruncate = ioerrTruncate,
  .xSync = ioerrSync,
  .xFileSize = ioerrFileSize,
  .xLock = ioerrLock,
  .xUnlock = ioerrUnlock,
  .xCheckReservedLock = ioerrCheckReservedLock,
  .xFileControl = ioerrFileControl,
  .xSectorSize = ioerrSectorSize,
  .xDeviceCharacteristics = ioerrDeviceCharacteristics,
  .xShmMap = ioerrShmMap,
  .xShmLock = ioerrShmLock,
  .xShmBarrier = ioerrShmBarrier,
  .xShmUnmap = ioerrShmUnmap,
};

static int ioerrOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile,
                     int flags, int *pOutFlags) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc;
  (void)pVfs;
  memset(p, 0, sizeof(*p));
  p->pReal = (sqlite3_file *)&p[1];
  rc = g.pBase->xOpen(g.pBase, zName, p->pReal, flags, pOutFlags);
  if (rc != SQLITE_OK) return rc;
  p->base.pMethods = &ioerrIoMethods;
  p->bTracked = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL |
                          SQLITE_OPEN_MAIN_JOURNAL)) != 0;
  return SQLITE_OK;
}

static int ioerrDelete(sqlite3_vfs *pVfs, const char *zName, int syncDir) {
  (void)pVfs;
  return g.pBase->xDelete(g.pBase, zName, syncDir);
}

static int ioerrAccess(sqlite3_vfs *pVfs, const char *zName, int flags,
                       int *pResOut) {
  (void)pVfs;
  return g.pBase->xAccess(g.pBase, zName, flags, pResOut);
}

static int ioerrFullPathname(sqlite3_vfs *pVfs, const char *zName, int nOut,
                             char *zOut) {
  (void)pVfs;
  return g.pBase->xFullPathname(g.pBase, zName, nOut, zOut);
}

static void *ioerrDlOpen(sqlite3_vfs *pVfs, const char *zPath) {
  (void)pVfs;
  return g.pBase->xDlOpen(g.pBase, zPath);
}

static void ioerrDlError(sqlite3_vfs *pVfs, int nByte, char *zErrMsg) {
  (void)pVfs;
  g.pBase->xDlError(g.pBase, nByte, zErrMsg);
}

static void (*ioerrDlSym(sqlite3_vfs *pVfs, void *pH, const char *z))(void) {
  (void)pVfs;
  return g.pBase->xDlSym(g.pBase, pH, z);
}

static void ioerrDlClose(sqlite3_vfs *pVfs, void *pHandle) {
  (void)pVfs;
  g.pBase->xDlClose(g.pBase, pHandle);
}

static int ioerrRandomness(sqlite3_vfs *pVfs, int nByte, char *zOut) {
  (void)pVfs;
  return g.pBase->xRandomness(g.pBase, nByte, zOut);
}

static int ioerrSleep(sqlite3_vfs *pVfs, int nMicro) {
  (void)pVfs;
  return g.pBase->xSleep(g.pBase, nMicro);
}

static int ioerrCurrentTime(sqlite3_vfs *pVfs, double *pOut) {
  (void)pVfs;
  return g.pBase->xCurrentTime(g.pBase, pOut);
}

static int ioerrGetLastError(sqlite3_vfs *pVfs, int n, char *z) {
  (void)pVfs;
  return g.pBase->xGetLastError(g.pBase, n, z);
}

static int ioerrCurrentTimeInt64(sqlite3_vfs *pVfs, sqlite3_int64 *pOut) {
  (void)pVfs;
  return g.pBase->xCurrentTimeInt64(g.pBase, pOut);
}

static sqlite3_vfs ioerrVfs = {
  .iVersion = 2,
  .xOpen = ioerrOpen,
  .xDelete = ioerrDelete,
  .xAccess = ioerrAccess,
  .xFullPathname = ioerrFullPathname,
  .xDlOpen = ioerrDlOpen,
  .xDlError = ioerrDlError,
  .xDlSym = ioerrDlSym,
  .xDlClose = ioerrDlClose,
  .xRandomness = ioerrRandomness,
  .xSleep = ioerrSleep,
  .xCurrentTime = ioerrCurrentTime,
  .xGetLastError = ioerrGetLastError,
  .xCurrentTimeInt64 = ioerrCurrentTimeInt64,
};

int ioerrVfsRegister(const char *zName) {
  if (g.pBase == 0) {
    g.pBase = sqlite3_vfs_find(0);
    if (g.pBase == 0) return SQLITE_ERROR;
    ioerrVfs.szOsFile = (int)sizeof(IoerrFile) + g.pBase->szOsFile;
    ioerrVfs.mxPathname = g.pBase->mxPathname;
    ioerrVfs.zName = zName;
  }
  return sqlite3_vfs_register(&ioerrVfs, 0);
}

void ioerrVfsArm(int eOp, int n, int rc, int bPersist) {
  memset(g.aCount, 0, sizeof(g.aCount));
  g.eOp = eOp;
  g.iAt = n;
  g.rc = rc;
  g.bPersist = bPersist;
  g.nFired = 0;
}

int ioerrVfsFired(void) {
  return g.nFired;
}

int ioerrVfsCount(int eOp) {
  return eOp >= 0 && eOp < IOERR_NOP ? g.aCount[eOp] : 0;
}

const char *ioerrOpName(int eOp) {
  static const char *const azName[IOERR_NOP] = { "read", "write", "sync",
                                                 "truncate" };
  return eOp >= 0 && eOp < IOERR_NOP ? azName[eOp] : "?";
}
