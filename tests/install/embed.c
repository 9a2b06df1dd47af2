/*
** SPDX-License-Identifier: MIT
**
** embed.c: a program that links mp statically, as the installed header
** and pkg-config file describe (tests/install/test_install.sh builds it).
** Registers mp on every connection, runs mp_init(), prints the version and
** the schema version, and checks that the connection closes cleanly.
*/
#include <mp.h>
#include <sqlite3.h>
#include <stdio.h>

/*
** Returns 0 when mp loads, initializes and closes; prints "VERSION SCHEMA".
*/
int main(void) {
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  int rc;
  sqlite3_auto_extension((void (*)(void))sqlite3_mp_init);
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
  rc = sqlite3_prepare_v2(
      db, "SELECT mp_version(), json_extract(mp_init(), '$.schema_version')",
      -1, &pStmt, 0);
  if (rc != SQLITE_OK || sqlite3_step(pStmt) != SQLITE_ROW) {
    fprintf(stderr, "embed: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  printf("%s %d\n", sqlite3_column_text(pStmt, 0),
         sqlite3_column_int(pStmt, 1));
  sqlite3_finalize(pStmt);
  return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
