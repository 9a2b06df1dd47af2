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
#include "rel_shim.h"

#include <sqlite3.h>

#include <string.h>

typedef sqlite3_int64 i64;

/* An open file: what every shim file has (rel_shim.h). The real file's
** sqlite3_file follows it; a tracked one (database, WAL or journal) may
** fail. */
typedef RelShimFile IoerrFile;

/* The armed fault and the counters. */
static struct {
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

/*
** Reads the real file, unless this read is to fail.
*/
static int ioerrRead(sqlite3_file *pFile, void *zBuf, int iAmt, i64 iOfst) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_READ);
  if (rc != SQLITE_OK) return rc;
  return p->pReal->pMethods->xRead(p->pReal, zBuf, iAmt, iOfst);
}

/*
** Writes the real file, unless this write is to fail.
*/
static int ioerrWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                      i64 iOfst) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_WRITE);
  if (rc != SQLITE_OK) return rc;
  return p->pReal->pMethods->xWrite(p->pReal, zBuf, iAmt, iOfst);
}

/*
** Truncates the real file, unless this truncate is to fail.
*/
static int ioerrTruncate(sqlite3_file *pFile, i64 size) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_TRUNCATE);
  if (rc != SQLITE_OK) return rc;
  return p->pReal->pMethods->xTruncate(p->pReal, size);
}

/*
** Fails when this sync is to fail. Otherwise a tracked file returns at
** once (no real fsync, see the top of the file); another syncs for real.
*/
static int ioerrSync(sqlite3_file *pFile, int flags) {
  IoerrFile *p = (IoerrFile *)pFile;
  int rc = ioerrCheck(p, IOERR_OP_SYNC);
  if (rc != SQLITE_OK || p->bTracked) return rc;
  return p->pReal->pMethods->xSync(p->pReal, flags);
}

/* The shim; rel_shim.c passes the other calls through. Version 2 (see
** rel_shim.h), so that every read of the database can fail. */
static RelShim ioerrShim = {
  .io = {
    .xRead = ioerrRead,
    .xWrite = ioerrWrite,
    .xTruncate = ioerrTruncate,
    .xSync = ioerrSync,
  },
  .szFile = (int)sizeof(IoerrFile),
};

int ioerrVfsRegister(const char *zName) {
  return relShimRegister(&ioerrShim, zName, 0);
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
