/*
** SPDX-License-Identifier: MIT
**
** mp_tick.c: scheduled upkeep in one call.
**
**   SELECT mp_tick();
**   -- {"recovered":0,"cleanup":null,"backup":null}            (nothing due)
**   -- {"recovered":2,"cleanup":{"deleted":1200,"freed_pages":40},
**   --  "backup":{"path":"/var/backups/mp/mp-backup-20261125T120000Z.db",
**   --            "bytes":1040384,"pruned":1}}
**
** What it does, each only when due by the settings:
**
**   recovery   expired leases back per recovery_policy (every call; cheap:
**              it only looks at the messages in flight)
**   cleanup    mp_cleanup() every cleanup_interval_hours (0: never)
**   backup     with backup_path set, a backup every backup_interval_hours
**              (0: never) into that directory, named by its UTC time,
**              encrypted when backup_key names a key (env:NAME or
**              file:PATH); then only the newest backup_keep are kept. The
**              first tick with backup_path set takes one at once.
**
** Times come from last_cleanup and last_backup in mp_meta, so the schedule
** holds across restarts and processes. A runner calls mp_tick() in its
** loop; when nothing is due it costs a few index lookups.
*/
#define _POSIX_C_SOURCE 200809L /* opendir, unlink */
#include "mp_int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MP_BACKUP_PREFIX "mp-backup-"

/*
** Looks up key zKey in mp_meta: prepares the query into *ppStmt and steps
** it once. Returns SQLITE_ROW with the value in column 0 of *ppStmt,
** SQLITE_DONE when the key is unset, or another SQLite result code. The
** caller finalizes *ppStmt (NULL when it could not be prepared), which
** returns the error of a failed step.
*/
static int mpTickMetaStep(MpState *p, const char *zKey, sqlite3_stmt **ppStmt) {
  int rc = sqlite3_prepare_v2(p->db, "SELECT value FROM mp_meta WHERE key = ?1",
                              -1, ppStmt, 0);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(*ppStmt, 1, zKey, -1, SQLITE_STATIC);
  return sqlite3_step(*ppStmt);
}

/*
** Reads an integer from mp_meta into *piOut (left alone when unset).
** Returns an SQLite result code.
*/
static int mpTickMetaInt(MpState *p, const char *zKey, i64 *piOut) {
  sqlite3_stmt *pStmt = 0;
  int rc = mpTickMetaStep(p, zKey, &pStmt);
  if (pStmt == 0) return rc;
  if (rc == SQLITE_ROW && sqlite3_column_type(pStmt, 0) == SQLITE_INTEGER) {
    *piOut = sqlite3_column_int64(pStmt, 0);
  }
  return sqlite3_finalize(pStmt);
}

/*
** Reads a text setting (NULL when unset) as a new sqlite3_malloc'd string
** into *pzOut. Returns an SQLite result code.
*/
static int mpTickMetaText(MpState *p, const char *zKey, char **pzOut) {
  sqlite3_stmt *pStmt = 0;
  int rc = mpTickMetaStep(p, zKey, &pStmt);
  *pzOut = 0;
  if (pStmt == 0) return rc;
  if (rc == SQLITE_ROW && sqlite3_column_type(pStmt, 0) == SQLITE_TEXT) {
    *pzOut = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    if (*pzOut == 0) {
      sqlite3_finalize(pStmt);
      return SQLITE_NOMEM;
    }
  }
  return sqlite3_finalize(pStmt);
}

/*
** Returns 1 if a task last run at iLast (seconds, -1 never) with an
** interval of nHours is due at iNowS. An interval of 0 is never due.
*/
static int mpTickDue(i64 iLast, i64 nHours, i64 iNowS) {
  if (nHours <= 0) return 0;
  return iLast < 0 || iNowS - iLast >= nHours * 3600;
}

/*
** Compares two directory entry names for qsort, newest backup first (the
** names carry the time, so they sort by it).
*/
static int mpTickNameCmp(const void *a, const void *b) {
  return strcmp(*(char *const *)b, *(char *const *)a);
}

/*
** Deletes all but the newest nKeep scheduled backups in zDir. Sets
** *pnPruned. Returns SQLITE_OK or SQLITE_NOMEM.
*/
static int mpTickPrune(const char *zDir, i64 nKeep, i64 *pnPruned) {
  DIR *pDir = opendir(zDir);
  struct dirent *pEnt;
  char **azName = 0;
  int nName = 0, rc = SQLITE_OK;
  *pnPruned = 0;
  if (pDir == 0) return SQLITE_OK;
  while (rc == SQLITE_OK && (pEnt = readdir(pDir)) != 0) {
    char **aNew;
    if (strncmp(pEnt->d_name, MP_BACKUP_PREFIX, strlen(MP_BACKUP_PREFIX)) ||
        strstr(pEnt->d_name, ".tmp")) {
      continue;
    }
    aNew = sqlite3_realloc64(azName, sizeof(char *) * (u64)(nName + 1));
    if (aNew == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    azName = aNew;
    azName[nName] = sqlite3_mprintf("%s", pEnt->d_name);
    if (azName[nName] == 0) rc = SQLITE_NOMEM;
    nName++;
  }
  closedir(pDir);
  if (rc == SQLITE_OK && nName > 1) {
    qsort(azName, (size_t)nName, sizeof(char *), mpTickNameCmp);
  }
  for (int i = 0; i < nName; i++) {
    if (rc == SQLITE_OK && i >= nKeep) {
      char *zPath = sqlite3_mprintf("%s/%s", zDir, azName[i]);
      if (zPath && unlink(zPath) == 0) (*pnPruned)++;
      sqlite3_free(zPath);
    }
    sqlite3_free(azName[i]);
  }
  sqlite3_free(azName);
  return rc;
}

/*
** Takes a scheduled backup into backup_path when one is due, and prunes.
** Appends the "backup" member's value to pOut. Returns an SQLite result
** code (a failed backup is reported in the JSON, not as an error).
*/
static int mpTickBackup(MpState *p, i64 iNowS, sqlite3_str *pOut) {
  char *zDir = 0, *zKey = 0, *zPath = 0, *zErr = 0;
  i64 iLast = -1, nHours = 0, nKeep = 0, nBytes = 0, nPruned = 0;
  int rc = mpTickMetaText(p, "backup_path", &zDir);
  if (rc == SQLITE_OK) rc = mpTickMetaInt(p, "last_backup", &iLast);
  if (rc == SQLITE_OK) rc = mpConfigInt(p, "backup_interval_hours", &nHours);
  if (rc == SQLITE_OK) rc = mpConfigInt(p, "backup_keep", &nKeep);
  if (rc == SQLITE_OK && zDir && mpTickDue(iLast, nHours, iNowS)) {
    time_t t = (time_t)iNowS;
    struct tm tm;
    char zStamp[32];
    gmtime_r(&t, &tm);
    strftime(zStamp, sizeof(zStamp), "%Y%m%dT%H%M%SZ", &tm);
    rc = mpTickMetaText(p, "backup_key", &zKey);
    if (rc == SQLITE_OK) {
      zPath = sqlite3_mprintf("%s/" MP_BACKUP_PREFIX "%s.db%s", zDir, zStamp,
                              zKey ? ".enc" : "");
      if (zPath == 0) rc = SQLITE_NOMEM;
    }
    if (rc == SQLITE_OK) {
      int rcBackup = mpBackupRun(p, zPath, zKey, &nBytes, &zErr);
      sqlite3_str_appendall(pOut, "{\"path\":");
      mpJsonAppendString(pOut, zPath, (int)strlen(zPath));
      if (rcBackup == SQLITE_OK) {
        rc = mpTickPrune(zDir, nKeep, &nPruned);
        sqlite3_str_appendf(pOut, ",\"bytes\":%lld,\"pruned\":%lld}", nBytes,
                            nPruned);
      } else {
        const char *z = zErr ? zErr : sqlite3_errstr(rcBackup);
        sqlite3_str_appendall(pOut, ",\"error\":");
        mpJsonAppendString(pOut, z, (int)strlen(z));
        sqlite3_str_appendchar(pOut, 1, '}');
      }
    }
  } else if (rc == SQLITE_OK) {
    sqlite3_str_appendall(pOut, "null");
  }
  sqlite3_free(zDir);
  sqlite3_free(zKey);
  sqlite3_free(zPath);
  sqlite3_free(zErr);
  return rc;
}

/*
** mp_tick(): runs the upkeep that is due and returns a JSON report of what
** it did. MP_FN_UNSAFE: it writes, deletes and creates files.
*/
static void mpTickFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char zFunc[] = "mp_tick";
  MpState *p = sqlite3_user_data(ctx);
  i64 iNowS = mpNowMs(p) / 1000;
  i64 nRecovered = 0, iLastCleanup = -1, nCleanupHours = 0;
  sqlite3_str *pOut;
  int rc;
  (void)argc;
  (void)argv;
  if (mpRequireSchema(ctx, p, zFunc)) return;
  rc = mpRecoverRun(p, 0, &nRecovered);
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    return;
  }
  pOut = sqlite3_str_new(p->db);
  sqlite3_str_appendf(pOut, "{\"recovered\":%lld,\"cleanup\":", nRecovered);
  rc = mpTickMetaInt(p, "last_cleanup", &iLastCleanup);
  if (rc == SQLITE_OK) {
    rc = mpConfigInt(p, "cleanup_interval_hours", &nCleanupHours);
  }
  if (rc == SQLITE_OK && mpTickDue(iLastCleanup, nCleanupHours, iNowS)) {
    i64 iDays = 0, nDeleted = 0, nFreed = 0;
    char *zErr = 0;
    rc = mpConfigInt(p, "retention_days", &iDays);
    if (rc == SQLITE_OK) {
      rc = mpCleanupRun(p, iDays, &nDeleted, &nFreed, &zErr);
    }
    sqlite3_free(zErr);
    sqlite3_str_appendf(pOut, "{\"deleted\":%lld,\"freed_pages\":%lld}",
                        nDeleted, nFreed);
  } else {
    sqlite3_str_appendall(pOut, "null");
  }
  sqlite3_str_appendall(pOut, ",\"backup\":");
  if (rc == SQLITE_OK) rc = mpTickBackup(p, iNowS, pOut);
  sqlite3_str_appendchar(pOut, 1, '}');
  mpResultJson(ctx, zFunc, p->db, rc, pOut);
}

/*
** Registers mp_tick(). Returns an SQLite result code.
*/
int mpRegisterTick(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_tick", 0, MP_FN_UNSAFE, mpTickFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
