/*
** SPDX-License-Identifier: MIT
**
** runner_status.c: "mp-runner status --db FILE", the mp_stats table
** printed for a person.
**
**   $ build/mp-runner status --db messages.db
**   mp status of messages.db
**     pending                    3
**     sent                       0
**     confirmed                 12
**     ...
**     last_cleanup               2024-05-01T12:00:00Z
**
** It opens its own connection (the seed's max_connections: readers are
** separate from the daemon's one writer), never creates the database and
** writes nothing: SELECT name, value FROM mp_stats. Times (last_*) are
** shown in UTC, NULL as "-".
*/
#include "runner.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/*
** Runs the status command. Returns an exit code: MP_EXIT_OK, or
** MP_EXIT_DB when the database cannot be opened or read.
*/
int mpStatusMain(const MpRunOpts *pOpt) {
  MpDb *pDb = 0;
  sqlite3_stmt *pStmt = 0;
  int rc = mpDbOpen(pOpt, 0, &pDb);
  if (rc != SQLITE_OK) return MP_EXIT_DB;
  rc = sqlite3_prepare_v2(mpDbHandle(pDb), "SELECT name, value FROM mp_stats",
                          -1, &pStmt, 0);
  if (rc == SQLITE_OK) {
    printf("mp status of %s\n", pOpt->zDb);
    while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
      const char *zName = (const char *)sqlite3_column_text(pStmt, 0);
      if (zName == 0) zName = "?";
      if (sqlite3_column_type(pStmt, 1) == SQLITE_NULL) {
        printf("  %-24s %12s\n", zName, "-");
      } else if (strncmp(zName, "last_", 5) == 0) {
        char zTime[32];
        time_t t = (time_t)sqlite3_column_int64(pStmt, 1);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(zTime, sizeof(zTime), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("  %-24s %s\n", zName, zTime);
      } else {
        printf("  %-24s %12s\n", zName,
               (const char *)sqlite3_column_text(pStmt, 1));
      }
    }
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  if (rc != SQLITE_OK) {
    mpRunLog(MP_LOG_ERROR, "status: %s", sqlite3_errmsg(mpDbHandle(pDb)));
  }
  sqlite3_finalize(pStmt);
  if (mpDbClose(pDb) != SQLITE_OK) rc = SQLITE_ERROR;
  return rc == SQLITE_OK ? MP_EXIT_OK : MP_EXIT_DB;
}
