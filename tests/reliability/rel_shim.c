/*
** SPDX-License-Identifier: MIT
**
** rel_shim.c: the pass-through half of the reliability tests' VFS shims
** (see rel_shim.h).
**
** Each method below passes its call unchanged to the real file or to the
** VFS underneath; relShimRegister() puts them in every slot the shim left
** empty.
*/
#include "rel_shim.h"

#include <string.h>

typedef sqlite3_int64 i64;

/*
** Returns the real file under the shim's file pFile.
*/
static sqlite3_file *relShimReal(sqlite3_file *pFile) {
  return ((RelShimFile *)pFile)->pReal;
}

/*
** Returns the VFS under the shim VFS pVfs.
*/
static sqlite3_vfs *relShimBase(sqlite3_vfs *pVfs) {
  return ((RelShim *)pVfs)->pBase;
}

/* Closes the real file. */
static int relShimClose(sqlite3_file *pFile) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xClose(pReal);
}

/* Reads the real file. */
static int relShimRead(sqlite3_file *pFile, void *zBuf, int iAmt, i64 iOfst) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xRead(pReal, zBuf, iAmt, iOfst);
}

/* Writes the real file. */
static int relShimWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                        i64 iOfst) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xWrite(pReal, zBuf, iAmt, iOfst);
}

/* Truncates the real file. */
static int relShimTruncate(sqlite3_file *pFile, i64 size) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xTruncate(pReal, size);
}

/* Syncs the real file. */
static int relShimSync(sqlite3_file *pFile, int flags) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xSync(pReal, flags);
}

/* Passes a file control to the real file. */
static int relShimFileControl(sqlite3_file *pFile, int op, void *pArg) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xFileControl(pReal, op, pArg);
}

/* Reports the size of the real file. */
static int relShimFileSize(sqlite3_file *pFile, i64 *pSize) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xFileSize(pReal, pSize);
}

/* Returns the real file's sector size. */
static int relShimSectorSize(sqlite3_file *pFile) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xSectorSize(pReal);
}

/* Returns the real file's SQLITE_IOCAP_* flags. */
static int relShimDeviceCharacteristics(sqlite3_file *pFile) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xDeviceCharacteristics(pReal);
}

/* Takes a lock on the real file. */
static int relShimLock(sqlite3_file *pFile, int eLock) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xLock(pReal, eLock);
}

/* Tells whether another connection holds a RESERVED lock. */
static int relShimCheckReservedLock(sqlite3_file *pFile, int *pResOut) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xCheckReservedLock(pReal, pResOut);
}

/* Releases a lock on the real file. */
static int relShimUnlock(sqlite3_file *pFile, int eLock) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xUnlock(pReal, eLock);
}

/* Maps a region of the real file's shared memory (-shm). */
static int relShimShmMap(sqlite3_file *pFile, int iPg, int pgsz, int bExtend,
                         void volatile **pp) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xShmMap(pReal, iPg, pgsz, bExtend, pp);
}

/* Takes or releases a lock on the real file's shared memory. */
static int relShimShmLock(sqlite3_file *pFile, int offset, int n, int flags) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xShmLock(pReal, offset, n, flags);
}

/* A memory barrier on the real file's shared memory. */
static void relShimShmBarrier(sqlite3_file *pFile) {
  sqlite3_file *pReal = relShimReal(pFile);
  pReal->pMethods->xShmBarrier(pReal);
}

/* Unmaps the real file's shared memory, deleting it when deleteFlag. */
static int relShimShmUnmap(sqlite3_file *pFile, int deleteFlag) {
  sqlite3_file *pReal = relShimReal(pFile);
  return pReal->pMethods->xShmUnmap(pReal, deleteFlag);
}

/* Deletes a file through the VFS underneath. */
static int relShimDelete(sqlite3_vfs *pVfs, const char *zName, int syncDir) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xDelete(pBase, zName, syncDir);
}

/* Tells whether a file exists or can be read or written. */
static int relShimAccess(sqlite3_vfs *pVfs, const char *zName, int flags,
                         int *pResOut) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xAccess(pBase, zName, flags, pResOut);
}

/* Turns zName into a full path name. */
static int relShimFullPathname(sqlite3_vfs *pVfs, const char *zName, int nOut,
                               char *zOut) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xFullPathname(pBase, zName, nOut, zOut);
}

/* Opens a shared library. */
static void *relShimDlOpen(sqlite3_vfs *pVfs, const char *zPath) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xDlOpen(pBase, zPath);
}

/* Describes the last shared library error. */
static void relShimDlError(sqlite3_vfs *pVfs, int nByte, char *zErrMsg) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  pBase->xDlError(pBase, nByte, zErrMsg);
}

/* Looks up symbol z in shared library pH. */
static void (*relShimDlSym(sqlite3_vfs *pVfs, void *pH, const char *z))(void) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xDlSym(pBase, pH, z);
}

/* Closes a shared library. */
static void relShimDlClose(sqlite3_vfs *pVfs, void *pHandle) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  pBase->xDlClose(pBase, pHandle);
}

/* Fills zOut with nByte random bytes from the VFS underneath. */
static int relShimRandomness(sqlite3_vfs *pVfs, int nByte, char *zOut) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xRandomness(pBase, nByte, zOut);
}

/* Sleeps for nMicro microseconds. */
static int relShimSleep(sqlite3_vfs *pVfs, int nMicro) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xSleep(pBase, nMicro);
}

/* Returns the current time as a Julian day number. */
static int relShimCurrentTime(sqlite3_vfs *pVfs, double *pOut) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xCurrentTime(pBase, pOut);
}

/* Describes the last OS error. */
static int relShimGetLastError(sqlite3_vfs *pVfs, int n, char *z) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xGetLastError(pBase, n, z);
}

/* Returns the current time in Julian day milliseconds. */
static int relShimCurrentTimeInt64(sqlite3_vfs *pVfs, i64 *pOut) {
  sqlite3_vfs *pBase = relShimBase(pVfs);
  return pBase->xCurrentTimeInt64(pBase, pOut);
}

/*
** Sets method xName of p to relShimName, the one that passes the call
** through, unless the shim set it.
*/
#define REL_SHIM_DEFAULT(p, Name) \
 if ((p)->x##Name == 0) (p)->x##Name = relShim##Name

/*
** Puts the pass-through methods into every method of pShim that the shim
** left NULL.
*/
static void relShimFillEmpty(RelShim *pShim) {
  sqlite3_vfs *pVfs = &pShim->vfs;
  sqlite3_io_methods *pIo = &pShim->io;
  REL_SHIM_DEFAULT(pVfs, Open);
  REL_SHIM_DEFAULT(pVfs, Delete);
  REL_SHIM_DEFAULT(pVfs, Access);
  REL_SHIM_DEFAULT(pVfs, FullPathname);
  REL_SHIM_DEFAULT(pVfs, DlOpen);
  REL_SHIM_DEFAULT(pVfs, DlError);
  REL_SHIM_DEFAULT(pVfs, DlSym);
  REL_SHIM_DEFAULT(pVfs, DlClose);
  REL_SHIM_DEFAULT(pVfs, Randomness);
  REL_SHIM_DEFAULT(pVfs, Sleep);
  REL_SHIM_DEFAULT(pVfs, CurrentTime);
  REL_SHIM_DEFAULT(pVfs, GetLastError);
  REL_SHIM_DEFAULT(pVfs, CurrentTimeInt64);
  REL_SHIM_DEFAULT(pIo, Close);
  REL_SHIM_DEFAULT(pIo, Read);
  REL_SHIM_DEFAULT(pIo, Write);
  REL_SHIM_DEFAULT(pIo, Truncate);
  REL_SHIM_DEFAULT(pIo, Sync);
  REL_SHIM_DEFAULT(pIo, FileSize);
  REL_SHIM_DEFAULT(pIo, Lock);
  REL_SHIM_DEFAULT(pIo, Unlock);
  REL_SHIM_DEFAULT(pIo, CheckReservedLock);
  REL_SHIM_DEFAULT(pIo, FileControl);
  REL_SHIM_DEFAULT(pIo, SectorSize);
  REL_SHIM_DEFAULT(pIo, DeviceCharacteristics);
  REL_SHIM_DEFAULT(pIo, ShmMap);
  REL_SHIM_DEFAULT(pIo, ShmLock);
  REL_SHIM_DEFAULT(pIo, ShmBarrier);
  REL_SHIM_DEFAULT(pIo, ShmUnmap);
}

int relShimRegister(RelShim *pShim, const char *zName, int bDefault) {
  if (pShim->pBase == 0) {
    sqlite3_vfs *pBase = sqlite3_vfs_find(0);
    if (pBase == 0) return SQLITE_ERROR;
    pShim->pBase = pBase;
    pShim->vfs.iVersion = 2;
    pShim->vfs.szOsFile = pShim->szFile + pBase->szOsFile;
    pShim->vfs.mxPathname = pBase->mxPathname;
    pShim->vfs.zName = zName;
    pShim->io.iVersion = 2;
    relShimFillEmpty(pShim);
  }
  return sqlite3_vfs_register(&pShim->vfs, bDefault);
}

int relShimOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile,
                int flags, int *pOutFlags) {
  RelShim *pShim = (RelShim *)pVfs;
  RelShimFile *p = (RelShimFile *)pFile;
  int rc;
  memset(p, 0, (size_t)pShim->szFile);
  p->pReal = (sqlite3_file *)((char *)pFile + pShim->szFile);
  rc = pShim->pBase->xOpen(pShim->pBase, zName, p->pReal, flags, pOutFlags);
  if (rc != SQLITE_OK) return rc;
  p->base.pMethods = &pShim->io;
  p->bTracked = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL |
                          SQLITE_OPEN_MAIN_JOURNAL)) != 0;
  return SQLITE_OK;
}
