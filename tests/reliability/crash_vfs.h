/*
** SPDX-License-Identifier: MIT
**
** crash_vfs.h: a VFS that simulates power loss, for crash.c.
**
**   crashVfsRegister("mpcrash", 1);
**   crashVfsArm(17, CRASH_TORN, 42, die);   -- lose power at the 17th sync
**   sqlite3_open_v2(path, &db, flags, "mpcrash");
**
** Writes to the database, its WAL and its rollback journal are held back
** until the file is synced; reads see them. At the armed sync (counted
** over all those files) the writes not yet synced reach the disk in part,
** as the damage mode says, and then xDie() is called, which must not
** return (the test's child process _exits). See crash_vfs.c.
*/
#ifndef CRASH_VFS_H
#define CRASH_VFS_H

/* What happens to the writes not yet synced when the power goes. */
#define CRASH_KEEP    0 /* All reach the disk (a process crash) */
#define CRASH_DROP    1 /* None reach it */
#define CRASH_TORN    2 /* Each 512-byte sector of each write: kept or lost */
#define CRASH_GARBAGE 3 /* Each write lands, its last sector as garbage */
#define CRASH_RANDOM  4 /* Each write: one of the four above, at random */
#define CRASH_NMODE   5

/*
** Registers the crash VFS as zName over the current default VFS, and as
** the default when bDefault. Returns an SQLite result code.
*/
int crashVfsRegister(const char *zName, int bDefault);

/*
** Arms the simulation: the power goes at the iSync-th sync from now (0:
** never), with damage mode eMode, random choices drawn from iSeed, and
** xDie called afterwards. Resets the sync counter.
*/
void crashVfsArm(int iSync, int eMode, unsigned iSeed, void (*xDie)(void));

/*
** Returns the number of syncs since crashVfsArm().
*/
int crashVfsSyncCount(void);

/*
** Loses power now: applies the armed damage mode to every write not yet
** synced and calls xDie().
*/
void crashVfsCrashNow(void);

/*
** Returns the name of damage mode eMode ("keep", "drop", ...).
*/
const char *crashModeName(int eMode);

#endif /* CRASH_VFS_H */
