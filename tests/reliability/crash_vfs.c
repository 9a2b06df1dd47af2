/*
** SPDX-License-Identifier: MIT
**
** crash_vfs.c: a VFS shim that simulates power loss (see crash_vfs.h).
**
** HOW IT WORKS
**
** The technique is the one of SQLite's own crash tests (src/test6.c),
** written anew: a disk keeps only what was synced.
**
** For each open database, WAL or rollback journal, every xWrite and
** xTruncate is recorded in a list of operations not yet synced (with a
** copy of the data), and not passed to the real file. xRead reads the real
** file and then replays the pending operations over the buffer, and
** xFileSize reports the size they make, so the connection sees its own
** writes. xSync of a file writes that file's pending operations to the real
** file, in order, and empties its list: from then on they are durable.
**
** Syncs are counted over all the tracked files. At the armed one the power
** goes: the sync does not happen, every tracked file's pending operations
** reach the disk as the damage mode says, and xDie() is called (crash.c's
** child process _exits there, with the files as a rebooted machine would
** find them). The damage stays inside the bytes each write covered: the
** unix VFS reports SQLITE_IOCAP_POWERSAFE_OVERWRITE, which promises that a
** write never damages bytes it does not cover, so the simulation keeps
** that promise too. Sectors are 512 bytes.
**
**   keep     every pending operation lands (what a process crash does)
**   drop     none lands
**   torn     each 512-byte piece of each write lands or not, at random;
**            a truncate lands or not
**   garbage  each write lands with its last piece replaced by random
**            bytes; a truncate lands
**   random   each operation gets one of the four above
**
** Writes may land in any order: a disk may reorder writes between syncs,
** and only a sync orders them.
**
** The -shm file is not simulated: it is not durable, and after a reboot
** SQLite rebuilds it from the WAL. Temporary files pass straight through.
** xRandomness returns a fixed sequence, so that a run of the workload is
** repeatable: ids, lease tokens and WAL salts come out the same each time.
*/
#include "crash_vfs.h"
#include "rel_shim.h"

#include <sqlite3.h>

#include <stdlib.h>
#include <string.h>

typedef sqlite3_int64 i64;
typedef unsigned char u8;

#define CRASH_SECTOR 512

/* One pending xWrite (aData != NULL) or xTruncate (aData == NULL). */
typedef struct CrashOp CrashOp;
struct CrashOp {
  CrashOp *pNext; /* Next operation on the same file, in order */
  i64 iOff;       /* Offset written, or the size truncated to */
  int nByte;      /* Bytes written (0 for a truncate) */
  u8 *aData;      /* Copy of the data, or NULL for a truncate */
};

/* An open file. The real file's sqlite3_file follows this struct. A
** tracked one (database, WAL or journal) is simulated. */
typedef struct CrashFile CrashFile;
struct CrashFile {
  RelShimFile shim;     /* Base class, must be first */
  i64 nSize;            /* Size with the pending operations applied */
  CrashOp *pFirst;      /* Pending operations, oldest first */
  CrashOp *pLast;       /* Newest pending operation */
  CrashFile *pNextOpen; /* Next tracked open file */
};

/* Everything the simulation knows. */
static struct {
  CrashFile *pOpen;     /* Tracked open files */
  int nSync;            /* Syncs since crashVfsArm() */
  int iCrashAt;         /* Sync at which the power goes; 0: never */
  int eMode;            /* CRASH_* damage mode */
  sqlite3_uint64 iRand; /* State of the damage generator */
  void (*xDie)(void);   /* Called after the damage; must not return */
} g;

/*
** Returns the next number of a xorshift64* generator.
*/
static sqlite3_uint64 crashRand(void) {
  g.iRand ^= g.iRand >> 12;
  g.iRand ^= g.iRand << 25;
  g.iRand ^= g.iRand >> 27;
  return g.iRand * 0x2545F4914F6CDD1Dull;
}

/*
** Writes n bytes of a at offset iOff to the real file.
*/
static int crashRealWrite(CrashFile *p, const u8 *a, int n, i64 iOff) {
  return p->shim.pReal->pMethods->xWrite(p->shim.pReal, a, n, iOff);
}

/*
** Applies one pending operation to the real file, whole.
*/
static int crashApply(CrashFile *p, const CrashOp *pOp) {
  if (pOp->aData == 0)
    return p->shim.pReal->pMethods->xTruncate(p->shim.pReal, pOp->iOff);
  return crashRealWrite(p, pOp->aData, pOp->nByte, pOp->iOff);
}

/*
** Applies one pending write as a power loss leaves it in mode eMode
** (CRASH_RANDOM already resolved). See HOW IT WORKS.
*/
static void crashDamage(CrashFile *p, const CrashOp *pOp, int eMode) {
  i64 iEnd = pOp->iOff + pOp->nByte;
  i64 iLastPiece;
  if (eMode == CRASH_DROP) return;
  if (pOp->aData == 0) {
    if (eMode == CRASH_TORN && (crashRand() & 1)) return;
    crashApply(p, pOp);
    return;
  }
  if (eMode == CRASH_KEEP) {
    crashApply(p, pOp);
    return;
  }
  /* Cut the write at sector boundaries. */
  iLastPiece = ((iEnd - 1) / CRASH_SECTOR) * CRASH_SECTOR;
  if (iLastPiece < pOp->iOff) iLastPiece = pOp->iOff;
  for (i64 iAt = pOp->iOff; iAt < iEnd;) {
    i64 iNext = (iAt / CRASH_SECTOR + 1) * CRASH_SECTOR;
    int n = (int)((iNext < iEnd ? iNext : iEnd) - iAt);
    const u8 *a = pOp->aData + (iAt - pOp->iOff);
    if (eMode == CRASH_TORN) {
      if (crashRand() & 1) crashRealWrite(p, a, n, iAt);
    } else if (iAt == iLastPiece) {
      u8 aJunk[CRASH_SECTOR];
      for (int i = 0; i < n; i++)
        aJunk[i] = (u8)(crashRand() >> 56);
      crashRealWrite(p, aJunk, n, iAt);
    } else {
      crashRealWrite(p, a, n, iAt);
    }
    iAt += n;
  }
}

/*
** Frees the pending operations of p.
*/
static void crashFreeOps(CrashFile *p) {
  while (p->pFirst) {
    CrashOp *pNext = p->pFirst->pNext;
    free(p->pFirst);
    p->pFirst = pNext;
  }
  p->pLast = 0;
}

/*
** Makes the pending operations of p durable: writes them to the real
** file in order. Returns an SQLite result code.
*/
static int crashFlush(CrashFile *p) {
  int rc = SQLITE_OK;
  for (CrashOp *pOp = p->pFirst; rc == SQLITE_OK && pOp; pOp = pOp->pNext) {
    rc = crashApply(p, pOp);
  }
  crashFreeOps(p);
  return rc;
}

void crashVfsCrashNow(void) {
  for (CrashFile *p = g.pOpen; p; p = p->pNextOpen) {
    for (CrashOp *pOp = p->pFirst; pOp; pOp = pOp->pNext) {
      int eMode = g.eMode;
      if (eMode == CRASH_RANDOM) eMode = (int)(crashRand() % CRASH_RANDOM);
      crashDamage(p, pOp, eMode);
    }
  }
  g.xDie();
  abort(); /* xDie() must not return */
}

/*
** Appends an operation to p's pending list. Returns SQLITE_OK or
** SQLITE_IOERR_NOMEM.
*/
static int crashAppend(CrashFile *p, const void *a, int n, i64 iOff) {
  CrashOp *pOp = malloc(sizeof(*pOp) + (size_t)n);
  if (pOp == 0) return SQLITE_IOERR_NOMEM;
  memset(pOp, 0, sizeof(*pOp));
  pOp->iOff = iOff;
  pOp->nByte = n;
  if (a) {
    pOp->aData = (u8 *)&pOp[1];
    memcpy(pOp->aData, a, (size_t)n);
  }
  if (p->pLast) {
    p->pLast->pNext = pOp;
  } else {
    p->pFirst = pOp;
  }
  p->pLast = pOp;
  return SQLITE_OK;
}

/*
** Closes a file. A tracked one first writes its pending operations: what
** was written reaches the OS when the file is closed.
*/
static int crashClose(sqlite3_file *pFile) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal = p->shim.pReal;
  if (p->shim.bTracked) {
    CrashFile **pp = &g.pOpen;
    crashFlush(p);
    while (*pp && *pp != p)
      pp = &(*pp)->pNextOpen;
    if (*pp) *pp = p->pNextOpen;
  }
  return pReal->pMethods->xClose(pReal);
}

/*
** Reads a file as the connection sees it: the real file with the pending
** operations replayed over it.
*/
static int crashRead(sqlite3_file *pFile, void *zBuf, int iAmt, i64 iOfst) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal = p->shim.pReal;
  u8 *a = zBuf;
  int rc = pReal->pMethods->xRead(pReal, zBuf, iAmt, iOfst);
  if (!p->shim.bTracked) return rc;
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
  for (CrashOp *pOp = p->pFirst; pOp; pOp = pOp->pNext) {
    i64 iFrom = pOp->iOff > iOfst ? pOp->iOff : iOfst;
    if (pOp->aData == 0) {
      /* Bytes past a truncation read as zero until written again. */
      if (iFrom < iOfst + iAmt) {
        memset(a + (iFrom - iOfst), 0, (size_t)(iOfst + iAmt - iFrom));
      }
    } else {
      i64 iEnd = pOp->iOff + pOp->nByte;
      if (iEnd > iOfst + iAmt) iEnd = iOfst + iAmt;
      if (iFrom < iEnd) {
        memcpy(a + (iFrom - iOfst), pOp->aData + (iFrom - pOp->iOff),
               (size_t)(iEnd - iFrom));
      }
    }
  }
  if (iOfst + iAmt > p->nSize) {
    /* A short read: SQLite expects the missing bytes zeroed. */
    if (p->nSize <= iOfst) {
      memset(a, 0, (size_t)iAmt);
    } else {
      memset(a + (p->nSize - iOfst), 0, (size_t)(iOfst + iAmt - p->nSize));
    }
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

/*
** Writes a file: a tracked one only records the write as pending.
*/
static int crashWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                      i64 iOfst) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal = p->shim.pReal;
  int rc;
  if (!p->shim.bTracked) {
    return pReal->pMethods->xWrite(pReal, zBuf, iAmt, iOfst);
  }
  rc = crashAppend(p, zBuf, iAmt, iOfst);
  if (rc == SQLITE_OK && iOfst + iAmt > p->nSize) p->nSize = iOfst + iAmt;
  return rc;
}

/*
** Truncates a file: a tracked one only records the truncate as pending.
*/
static int crashTruncate(sqlite3_file *pFile, i64 size) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal = p->shim.pReal;
  int rc;
  if (!p->shim.bTracked) return pReal->pMethods->xTruncate(pReal, size);
  rc = crashAppend(p, 0, 0, size);
  if (rc == SQLITE_OK) p->nSize = size;
  return rc;
}

/*
** Syncs a file: a tracked one counts the sync, loses power at the armed
** one, and otherwise makes its pending operations durable.
*/
static int crashSync(sqlite3_file *pFile, int flags) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal = p->shim.pReal;
  if (!p->shim.bTracked) return pReal->pMethods->xSync(pReal, flags);
  g.nSync++;
  if (g.iCrashAt > 0 && g.nSync == g.iCrashAt) crashVfsCrashNow();
  /* No real fsync: the simulated disk is the OS cache. */
  return crashFlush(p);
}

/*
** Reports a file's size; a tracked one's with the pending operations
** applied.
*/
static int crashFileSize(sqlite3_file *pFile, i64 *pSize) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal = p->shim.pReal;
  if (!p->shim.bTracked) return pReal->pMethods->xFileSize(pReal, pSize);
  *pSize = p->nSize;
  return SQLITE_OK;
}

/*
** Passes a file control through, except a size hint on a tracked file,
** which would grow the real file behind the simulation's back.
*/
static int crashFileControl(sqlite3_file *pFile, int op, void *pArg) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal = p->shim.pReal;
  if (p->shim.bTracked && op == SQLITE_FCNTL_SIZE_HINT) return SQLITE_OK;
  return pReal->pMethods->xFileControl(pReal, op, pArg);
}

/*
** Opens a file. A tracked one starts with no pending operations, at the
** real file's size, on the list of tracked open files.
*/
static int crashOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile,
                     int flags, int *pOutFlags) {
  CrashFile *p = (CrashFile *)pFile;
  sqlite3_file *pReal;
  int rc = relShimOpen(pVfs, zName, pFile, flags, pOutFlags);
  if (rc != SQLITE_OK || !p->shim.bTracked) return rc;
  pReal = p->shim.pReal;
  rc = pReal->pMethods->xFileSize(pReal, &p->nSize);
  if (rc != SQLITE_OK) {
    pReal->pMethods->xClose(pReal);
    p->shim.base.pMethods = 0;
    return rc;
  }
  p->pNextOpen = g.pOpen;
  g.pOpen = p;
  return SQLITE_OK;
}

/*
** A fixed sequence, so that SQLite's PRNG (and with it mp's ids and
** tokens) repeats from run to run once reseeded.
*/
static int crashRandomness(sqlite3_vfs *pVfs, int nByte, char *zOut) {
  (void)pVfs;
  for (int i = 0; i < nByte; i++)
    zOut[i] = (char)(i * 131 + 17);
  return nByte;
}

/* The shim; rel_shim.c passes the other calls through. Version 2 (see
** rel_shim.h): WAL support, but no memory-mapped I/O past the simulation. */
static RelShim crashShim = {
  .vfs = { .xOpen = crashOpen, .xRandomness = crashRandomness },
  .io = {
    .xClose = crashClose,
    .xRead = crashRead,
    .xWrite = crashWrite,
    .xTruncate = crashTruncate,
    .xSync = crashSync,
    .xFileSize = crashFileSize,
    .xFileControl = crashFileControl,
  },
  .szFile = (int)sizeof(CrashFile),
};

int crashVfsRegister(const char *zName, int bDefault) {
  return relShimRegister(&crashShim, zName, bDefault);
}

void crashVfsArm(int iSync, int eMode, unsigned iSeed, void (*xDie)(void)) {
  g.nSync = 0;
  g.iCrashAt = iSync;
  g.eMode = eMode;
  g.iRand =
      0x9E3779B97F4A7C15ull ^ ((sqlite3_uint64)iSeed * 0xBF58476D1CE4E5B9ull);
  if (g.iRand == 0) g.iRand = 1;
  g.xDie = xDie;
}

int crashVfsSyncCount(void) {
  return g.nSync;
}

const char *crashModeName(int eMode) {
  static const char *const azName[CRASH_NMODE] = { "keep", "drop", "torn",
                                                   "garbage", "random" };
  return eMode >= 0 && eMode < CRASH_NMODE ? azName[eMode] : "?";
}
