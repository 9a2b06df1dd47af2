/*
** SPDX-License-Identifier: MIT
**
** ioerr_vfs.h: a VFS that fails chosen I/O calls, for ioerr.c.
**
**   ioerrVfsRegister("mpioerr");
**   ioerrVfsArm(IOERR_OP_SYNC, 3, SQLITE_IOERR_FSYNC, 0);  -- 3rd sync fails
**   ioerrVfsArm(IOERR_OP_WRITE, 10, SQLITE_FULL, 1);       -- 10th on fail
**
** Counts xRead, xWrite, xSync and xTruncate on the database, its WAL and
** its rollback journal (all files of the VFS together, per kind of call)
** and makes the n-th call of the armed kind fail with the armed code
** without doing anything; persistent faults also fail every later call of
** that kind. Everything else passes through to the default VFS.
*/
#ifndef IOERR_VFS_H
#define IOERR_VFS_H

#define IOERR_OP_READ     0
#define IOERR_OP_WRITE    1
#define IOERR_OP_SYNC     2
#define IOERR_OP_TRUNCATE 3
#define IOERR_NOP         4

/*
** Registers the VFS as zName over the current default VFS (not as the
** default). Returns an SQLite result code.
*/
int ioerrVfsRegister(const char *zName);

/*
** Arms a fault: call n (1-based) of kind eOp from now fails with rc, and
** every later one too when bPersist. n == 0 disarms. Resets the counters.
*/
void ioerrVfsArm(int eOp, int n, int rc, int bPersist);

/*
** Returns how many calls have been failed since ioerrVfsArm().
*/
int ioerrVfsFired(void);

/*
** Returns how many calls of kind eOp were made since ioerrVfsArm().
*/
int ioerrVfsCount(int eOp);

/*
** Returns the name of call kind eOp ("read", "write", ...).
*/
const char *ioerrOpName(int eOp);

#endif /* IOERR_VFS_H */
