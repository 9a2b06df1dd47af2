/*
** SPDX-License-Identifier: MIT
**
** mp_schema.c: mp_init(), which creates or migrates mp's tables.
**
**   SELECT mp_init();
**   -- {"version":"0.1.0","schema_version":1,"previous_schema_version":0,
**   --  "config":{"retention_days":30,...}}
**   SELECT mp_init('{"max_retry_count": 5}');   -- also applies settings
**
** The schema version lives in mp_meta (key 'schema_version'), never in
** PRAGMA user_version, which belongs to the host application. Migrations
** are the files sql/NNN_*.sql, compiled in (generated/mp_sql.h), applied in
** order from the stored version, all in one transaction with the config:
** either everything is done or nothing is. A table named messages that mp
** did not create is refused.
*/
#include "mp_int.h"
#include "mp_sql.h"
#include "mp_version.h"

#define MP_SCHEMA_VERSION \
 ((int)(sizeof(mpMigrations) / sizeof(mpMigrations[0])))

/*
** Runs a query that returns one integer; *piOut is left alone when it
** returns no row. Returns an SQLite result code.
*/
static int mpQueryInt(sqlite3 *db, const char *zSql, i64 *piOut) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW)
    *piOut = sqlite3_column_int64(pStmt, 0);
  return sqlite3_finalize(pStmt);
}

/*
** Brings the schema up to MP_SCHEMA_VERSION inside the open transaction.
** Sets *piFrom to the version found. Returns SQLITE_OK, or an error code
** with the message in *pzErr (from sqlite3_malloc; NULL when out of
** memory). Nothing is reported on ctx yet: see mpInitFunc.
*/
static int mpMigrate(MpState *p, i64 *piFrom, char **pzErr) {
  sqlite3 *db = p->db;
  i64 bMessages = 0, bMeta = 0, bTables = 0;
  int rc = mpQueryInt(db, "SELECT count(*) FROM sqlite_schema", &bTables);
  if (rc == SQLITE_OK && bTables == 0) {
    /* A new database: mp_cleanup() can then give pages back to the OS. */
    rc = sqlite3_exec(db, "PRAGMA auto_vacuum = INCREMENTAL", 0, 0, 0);
  }
  /* Write first, so that the rest runs under the write lock. */
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(db,
                      "CREATE TABLE IF NOT EXISTS mp_meta(key TEXT PRIMARY "
                      "KEY, value) WITHOUT ROWID;"
                      "UPDATE mp_meta SET value = value WHERE 0",
                      0, 0, 0);
  }
  if (rc == SQLITE_OK)
    rc = mpQueryInt(db,
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                    "AND name = 'messages'",
                    &bMessages);
  if (rc == SQLITE_OK) {
    rc = mpQueryInt(db,
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                    "AND name = 'mp_meta'",
                    &bMeta);
  }
  *piFrom = 0;
  if (rc == SQLITE_OK && bMeta) {
    rc = mpQueryInt(
        db, "SELECT value FROM mp_meta WHERE key = 'schema_version'", piFrom);
  }
  if (rc != SQLITE_OK) {
    *pzErr = mpDbErrorText(db, "mp_init", sqlite3_errmsg(db));
    return rc;
  }
  if (bMessages && *piFrom == 0) {
    *pzErr = sqlite3_mprintf(
        "mp_init: a table named messages exists and was not made by mp; "
        "rename it or use another database");
    return SQLITE_ERROR;
  }
  if (*piFrom > MP_SCHEMA_VERSION) {
    *pzErr = sqlite3_mprintf("mp_init: the database has schema version %lld, "
                             "newer than this mp (%d); upgrade mp",
                             *piFrom, MP_SCHEMA_VERSION);
    return SQLITE_ERROR;
  }
  for (i64 v = *piFrom; v < MP_SCHEMA_VERSION; v++) {
    char *zErr = 0;
    rc = sqlite3_exec(db, mpMigrations[v], 0, 0, &zErr);
    if (rc != SQLITE_OK) {
      *pzErr = sqlite3_mprintf("mp_init: migration %lld failed: %s", v + 1,
                               zErr ? zErr : sqlite3_errstr(rc));
      sqlite3_free(zErr);
      return rc;
    }
  }
  if (*piFrom < MP_SCHEMA_VERSION) {
    char *zSql = sqlite3_mprintf(
        "INSERT INTO mp_meta(key, value) VALUES ('schema_version', %d) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        MP_SCHEMA_VERSION);
    rc = zSql ? sqlite3_exec(db, zSql, 0, 0, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) {
      *pzErr = mpDbErrorText(db, "mp_init", sqlite3_errmsg(db));
      return rc;
    }
  }
  return SQLITE_OK;
}

/*
** Prepares what ends mp_init()'s transaction: apEnd[0] undoes it, apEnd[1]
** commits it (bOwn: ROLLBACK and COMMIT; else ROLLBACK TO and RELEASE of
** the nested savepoint). Any statements in apEnd are replaced. Returns an
** SQLite result code.
*/
static int mpInitPrepareEnd(sqlite3 *db, int bOwn, sqlite3_stmt **apEnd) {
  int rc;
  sqlite3_finalize(apEnd[0]);
  sqlite3_finalize(apEnd[1]);
  apEnd[0] = apEnd[1] = 0;
  rc = sqlite3_prepare_v2(db, bOwn ? "ROLLBACK" : "ROLLBACK TO mp_txn", -1,
                          &apEnd[0], 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db, bOwn ? "COMMIT" : "RELEASE mp_txn", -1,
                            &apEnd[1], 0);
  }
  return rc;
}

/*
** Rolls back a transaction that an earlier mp_init() on this connection
** opened and could not end (see mpInitFunc); such a transaction holds the
** savepoint mp_init_txn. A transaction of the caller's has no such
** savepoint and is left alone. Returns an SQLite result code.
*/
static int mpInitEndStale(sqlite3 *db) {
  int rc;
  if (sqlite3_get_autocommit(db)) return SQLITE_OK;
  rc = sqlite3_exec(db, "ROLLBACK TO mp_init_txn", 0, 0, 0);
  if (rc == SQLITE_ERROR) return SQLITE_OK; /* no such savepoint: not ours */
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  return rc;
}

/*
** mp_init([config_json]): creates or migrates the schema, applies the
** settings, and returns a JSON summary. Idempotent. MP_FN_UNSAFE: it
** changes the schema.
**
** Ending the transaction must not depend on memory being available, so
** the statements that end it are prepared before it opens, and again
** after the migration: SQLite expires every prepared statement when an
** index is created, and re-preparing one needs memory. An error is put on
** ctx only after the rollback, because an out-of-memory result marks the
** connection as failed, and an expired statement cannot be re-prepared
** then. Should the rollback still fail (memory stays short during the
** migration), the transaction stays open and the next mp_init() rolls it
** back first (mpInitEndStale).
*/
static void mpInitFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MpState *p = sqlite3_user_data(ctx);
  const char *zConfig = 0;
  int nConfig = 0;
  i64 iFrom = 0;
  int rc, bOwn, bReported = 0; /* bReported: the error is on ctx */
  char *zErr = 0;              /* The error to report, once rolled back */
  sqlite3_str *pOut = 0;
  sqlite3_stmt *apEnd[2] = { 0, 0 }; /* ROLLBACK and COMMIT, prepared */
  if (argc == 1) {
    if (mpArgText(ctx, argv[0], "mp_init", "config", 65536, 1, &zConfig,
                  &nConfig)) {
      return;
    }
    if (zConfig && !mpJsonValid(zConfig, nConfig)) {
      mpResultErrorf(ctx, "mp_init: config is not valid JSON");
      return;
    }
  }
  rc = mpInitEndStale(p->db);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, "mp_init", p->db, rc);
    return;
  }
  /*
  ** The schema is read before it is written (to choose auto_vacuum and to
  ** find the version), so outside a transaction mp_init() takes the write
  ** lock first with BEGIN IMMEDIATE: two processes initializing at once,
  ** or a runner writing meanwhile, then wait in the busy timeout instead of
  ** failing. Inside the caller's transaction it nests in a savepoint.
  */
  bOwn = sqlite3_get_autocommit(p->db);
  rc = mpInitPrepareEnd(p->db, bOwn, apEnd);
  if (rc == SQLITE_OK) rc = sqlite3_exec(p->db, "SAVEPOINT mp_txn", 0, 0, 0);
  if (rc == SQLITE_OK && bOwn) {
    rc = sqlite3_exec(p->db,
                      "RELEASE mp_txn; BEGIN IMMEDIATE; SAVEPOINT mp_init_txn",
                      0, 0, 0);
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(p->db)) {
      sqlite3_step(apEnd[0]);
    }
  }
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, "mp_init", p->db, rc);
    goto init_end;
  }
  rc = mpMigrate(p, &iFrom, &zErr);
  if (rc == SQLITE_OK) {
    rc = mpInitPrepareEnd(p->db, bOwn, apEnd);
    if (rc != SQLITE_OK) {
      zErr = mpDbErrorText(p->db, "mp_init", sqlite3_errmsg(p->db));
    }
  }
  if (rc == SQLITE_OK && zConfig) {
    rc = mpConfigApplyJson(ctx, p, "mp_init", zConfig, nConfig);
    bReported = rc != SQLITE_OK;
  }
  if (rc == SQLITE_OK) {
    /* The summary is built before the commit: once committed, the call
    ** must not fail for want of memory. */
    pOut = sqlite3_str_new(p->db);
    sqlite3_str_appendf(pOut,
                        "{\"version\":\"%s\",\"schema_version\":%d,"
                        "\"previous_schema_version\":%lld,\"config\":",
                        MP_VERSION, MP_SCHEMA_VERSION, iFrom);
    mpConfigAppendJson(p, pOut);
    sqlite3_str_appendchar(pOut, 1, '}');
    rc = sqlite3_str_errcode(pOut);
  }
  if (rc == SQLITE_OK) {
    sqlite3_step(apEnd[1]);
    rc = sqlite3_reset(apEnd[1]);
    if (rc != SQLITE_OK) {
      zErr = mpDbErrorText(p->db, "mp_init", sqlite3_errmsg(p->db));
    }
  }
  if (rc != SQLITE_OK) {
    sqlite3_step(apEnd[0]);
    if (!bOwn) sqlite3_step(apEnd[1]);
    if (!bReported) mpResultMsg(ctx, rc, zErr);
    sqlite3_free(sqlite3_str_finish(pOut));
    goto init_end;
  }
  sqlite3_result_text(ctx, sqlite3_str_finish(pOut), -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');

init_end:
  sqlite3_finalize(apEnd[0]);
  sqlite3_finalize(apEnd[1]);
}

/*
** Registers mp_init(). Returns an SQLite result code.
*/
int mpRegisterSchema(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_init", 0, MP_FN_UNSAFE, mpInitFunc },
    { "mp_init", 1, MP_FN_UNSAFE, mpInitFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
