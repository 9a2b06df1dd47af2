/*
** SPDX-License-Identifier: MIT
**
** rel_shim.h: what the two VFS shims of the reliability tests
** (crash_vfs.c, ioerr_vfs.c) share: a VFS over the default one that
** passes every call through to it, except the calls the shim overrides.
**
**   static RelShim myShim = {
**     .io = { .xRead = myRead, .xSync = mySync },
**     .szFile = sizeof(MyFile),
**   };
**   relShimRegister(&myShim, "myvfs", 0);
**
** MyFile, the shim's own file struct, begins with a RelShimFile; the real
** file of the VFS underneath follows it in the same allocation. A shim
** that keeps more state per file sets .vfs.xOpen to a function that calls
** relShimOpen() first.
*/
#ifndef REL_SHIM_H
#define REL_SHIM_H

#include <sqlite3.h>

/* The part of an open file that every shim has. */
typedef struct RelShimFile RelShimFile;
struct RelShimFile {
  sqlite3_file base;   /* Base class, must be first */
  sqlite3_file *pReal; /* The real file, right after the shim's struct */
  int bTracked;        /* The database, its WAL or its rollback journal */
};

/* A shim VFS. The methods it leaves NULL pass the call through. */
typedef struct RelShim RelShim;
struct RelShim {
  sqlite3_vfs vfs;       /* The VFS, must be first */
  sqlite3_io_methods io; /* The methods of its files */
  int szFile;            /* Size of the shim's file struct */
  sqlite3_vfs *pBase;    /* The VFS underneath (set on registration) */
};

/*
** Registers pShim as zName over the current default VFS, and as the new
** default when bDefault. Fills every NULL method of pShim with one that
** passes the call through. The VFS and the io methods become version 2:
** WAL, but no memory-mapped I/O, so that every read and write of a file
** goes through pShim->io. Registering pShim again only registers it.
** Returns an SQLite result code.
*/
int relShimRegister(RelShim *pShim, const char *zName, int bDefault);

/*
** The xOpen of a shim: opens the real file zName through the VFS
** underneath and, when that succeeds, makes pFile a RelShimFile with the
** shim's io methods, tracked if it is a database, WAL or rollback journal.
** The rest of the shim's file struct is zeroed. Returns an SQLite result
** code.
*/
int relShimOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile,
                int flags, int *pOutFlags);

#endif /* REL_SHIM_H */
