/*
** SPDX-License-Identifier: MIT
**
** rel_common.h: what the reliability tests (crash.c, ioerr.c, oom.c)
** share: running SQL, a digest of mp's tables, and the checks every test
** applies to a database after a fault:
**
**   relIntegrity()   PRAGMA integrity_check is "ok" and mp_verify() is 0
**   relInvariants()  no half-applied transition is visible (see the table
**                    in rel_common.c), and mp_stats equals the real counts
**   relDigest()      a 64-bit digest of every row of mp's tables, to tell
**                    whether two databases hold the same state
**
** and how a short sweep (ctest) picks its fault points: relPick(). Also
** the pieces of a harness that the three would otherwise repeat: the
** options they share (relArg), the first failed check of a run and the
** check of the database reopened at its end (RelVerdict,
** relCheckReopened), count queries (relCount) and message texts
** (relFillText).
*/
#ifndef REL_COMMON_H
#define REL_COMMON_H

#include <sqlite3.h>

typedef sqlite3_int64 i64;
typedef sqlite3_uint64 u64;
typedef unsigned char u8;

/* Results of relInvariants() and relIntegrity(). */
#define REL_OK  0 /* Every check held */
#define REL_BAD 1 /* A check failed; the reason is in zWhy */
#define REL_ERR 2 /* The database could not be read; the error is in zWhy */

/*
** Runs zSql (one or more statements), discarding any rows. Returns the
** SQLite result code of the first statement that failed, or SQLITE_OK.
*/
int relExec(sqlite3 *db, const char *zSql);

/*
** Runs zSql and stores the first column of its first row in *piOut (left
** alone when there is no row). Returns an SQLite result code.
*/
int relInt(sqlite3 *db, const char *zSql, i64 *piOut);

/*
** Runs zSql and copies the first column of its first row, as text, into
** zOut (nOut bytes, always NUL-terminated; "" for NULL or no row). Returns
** an SQLite result code.
*/
int relText(sqlite3 *db, const char *zSql, char *zOut, int nOut);

/*
** Sets *piDigest to a digest of every row of messages, mp_counter,
** mp_chat, mp_attempt and mp_meta (a missing table counts as absent, so an
** empty database has a digest too). Returns an SQLite result code.
*/
int relDigest(sqlite3 *db, u64 *piDigest);

/*
** Returns 1 if db holds mp's schema (mp_init() committed), 0 if not, or
** -1 when the schema could not be read.
*/
int relHasSchema(sqlite3 *db);

/*
** Checks the state invariants listed in rel_common.c. Returns REL_OK,
** REL_BAD or REL_ERR with the first failure described in zWhy.
*/
int relInvariants(sqlite3 *db, char *zWhy, int nWhy);

/*
** relInvariants(), skipped when the state is the one it last passed on
** this watcher: the invariants depend on nothing but the rows, which the
** digest covers. *piLast holds that state's digest (0: none yet) and is
** updated.
*/
int relInvariantsIfChanged(sqlite3 *db, u64 *piLast, char *zWhy, int nWhy);

/*
** Checks PRAGMA integrity_check and, when the schema exists, mp_verify().
** Returns REL_OK, REL_BAD or REL_ERR with the failure in zWhy.
*/
int relIntegrity(sqlite3 *db, char *zWhy, int nWhy);

/*
** Opens zPath with VFS zVfs (NULL: the default) and registers mp on the
** connection. Returns the connection, or NULL with the reason on stderr
** (the handle is closed then).
*/
sqlite3 *relOpen(const char *zPath, const char *zVfs);

/*
** Removes zPath and its -wal, -shm and -journal files.
*/
void relRemoveDb(const char *zPath);

/*
** Returns 1 if a sweep over the points 1..nTotal tries point i: every
** point when nStride <= 1; else the first nEdge, the last nEdge (and any
** beyond nTotal), and every nStride-th in between, shifted by iPhase so
** that sweeps of different faults or modes cover different points.
*/
int relPick(int i, int nTotal, int nStride, int nEdge, int iPhase);

/*
** Runs the query that sqlite3_mprintf() makes of zFormat and the
** arguments (a count(*)) and returns the first column of its first row:
** 0 when there is no row or the query fails.
*/
i64 relCount(sqlite3 *db, const char *zFormat, ...);

/*
** Returns a text of at least nByte bytes, to be freed with sqlite3_free():
** the head that zHeadFormat makes of the arguments, then words that
** zWordFormat makes of the text's length so far modulo nWordKinds.
*/
char *relFillText(int nByte, const char *zWordFormat, int nWordKinds,
                  const char *zHeadFormat, ...);

/* The first check that failed in a run, if one did. */
typedef struct RelVerdict RelVerdict;
struct RelVerdict {
  int bBad;       /* A check failed */
  char zWhy[700]; /* The first that did */
};

/*
** Records a failed check in p, unless an earlier one failed already.
*/
void relBad(RelVerdict *p, const char *zFormat, ...)
    __attribute__((format(printf, 2, 3)));

/*
** The last check of a run: reopens zDb with VFS zVfs (NULL: the default),
** without faults, and records in p a database that cannot be opened or
** fails relIntegrity() or relInvariants().
*/
void relCheckReopened(const char *zDb, const char *zVfs, RelVerdict *p);

/* The command-line options the harnesses share. */
typedef struct RelArgs RelArgs;
struct RelArgs {
  const char *zDir; /* --dir D: the scratch directory */
  int nRound;       /* --rounds N: rounds of the workload */
  int nLongRound;   /* The rounds that --long sets */
  int nStride;      /* --stride N: every Nth point (1 with --long); 0: the
                    ** short sweep */
  int iOnly;        /* --at K: only point K; 0: all */
  int mPersist;     /* --persist 0|1: faults to try, 1 transient, 2
                    ** persistent (default 3: both) */
  int bVerbose;     /* -v: print every case */
};

/* The options that only some harnesses take (mArg of relArg()). */
#define REL_ARG_ROUNDS  0x01 /* --rounds N */
#define REL_ARG_PERSIST 0x02 /* --persist 0|1 */

/*
** Parses argv[*pi] into p when it is --long, --stride N, --at K, --dir D,
** -v, or one of the options in mArg, and moves *pi past its value. Returns
** 1 if it was one of them, else 0. Exits with a message when the value of
** a numeric option is not a non-negative integer.
*/
int relArg(RelArgs *p, int argc, char **argv, int *pi, int mArg);

/*
** Prints "usage: zProgram zOptions" to stderr and exits with status 2.
*/
void relUsage(const char *zProgram, const char *zOptions)
    __attribute__((noreturn));

#endif /* REL_COMMON_H */
