/*
** SPDX-License-Identifier: MIT
**
** rel_common.c: SQL helpers, the state digest and the consistency checks
** shared by the reliability tests. See rel_common.h.
**
** THE INVARIANTS
**
** Each entry of aInvariant is a query that returns 0 when the invariant
** holds. Together they say that no transition is visible half-applied:
** the row, its lease and the mp_stats counters always change together.
*/
#define _POSIX_C_SOURCE 200809L
#include "rel_common.h"

#include <mp.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One invariant: a description and a query that returns 0 when it holds. */
typedef struct RelInvariant RelInvariant;
struct RelInvariant {
  const char *zName;
  const char *zSql;
};

// clang-format off
static const RelInvariant aInvariant[] = {
  { "a sent message without a lease",
    "SELECT count(*) FROM messages WHERE status = 'sent' "
    "AND (lease_token IS NULL OR lease_until IS NULL)" },
  { "a lease on a message that is not sent",
    "SELECT count(*) FROM messages WHERE status <> 'sent' "
    "AND (lease_token IS NOT NULL OR lease_until IS NOT NULL "
    "OR worker IS NOT NULL)" },
  { "confirmed by telegram without telegram_message_id",
    "SELECT count(*) FROM messages WHERE status = 'confirmed' "
    "AND tier_used = 'telegram' AND telegram_message_id IS NULL" },
  { "telegram_message_id on a message that is not confirmed",
    "SELECT count(*) FROM messages WHERE status <> 'confirmed' "
    "AND telegram_message_id IS NOT NULL" },
  { "a message without a 32-byte checksum",
    "SELECT count(*) FROM messages WHERE checksum IS NULL "
    "OR length(checksum) <> 32" },
  { "mp_stats pending differs from the real count",
    "SELECT (SELECT value FROM mp_stats WHERE name = 'pending') IS NOT "
    "(SELECT count(*) FROM messages WHERE status = 'pending')" },
  { "mp_stats sent differs from the real count",
    "SELECT (SELECT value FROM mp_stats WHERE name = 'sent') IS NOT "
    "(SELECT count(*) FROM messages WHERE status = 'sent')" },
  { "mp_stats confirmed differs from the real count",
    "SELECT (SELECT value FROM mp_stats WHERE name = 'confirmed') IS NOT "
    "(SELECT count(*) FROM messages WHERE status = 'confirmed')" },
  { "mp_stats failed differs from the real count",
    "SELECT (SELECT value FROM mp_stats WHERE name = 'failed') IS NOT "
    "(SELECT count(*) FROM messages WHERE status = 'failed')" },
  { "mp_stats total differs from the real count",
    "SELECT (SELECT value FROM mp_stats WHERE name = 'total') IS NOT "
    "(SELECT count(*) FROM messages)" },
  { "mp_stats in_flight differs from the real count",
    "SELECT (SELECT value FROM mp_stats WHERE name = 'in_flight') IS NOT "
    "(SELECT count(*) FROM messages WHERE status = 'sent')" },
  { "an attempt logged for a message that does not exist",
    "SELECT count(*) FROM mp_attempt "
    "WHERE seq NOT IN (SELECT seq FROM messages)" },
  { "attempt counters differ from the attempt log (nothing deleted)",
    "SELECT (SELECT n FROM mp_counter WHERE name = 'deleted') = 0 "
    "AND (SELECT sum(n) FROM mp_counter WHERE name LIKE 'attempts.%') <> "
    "(SELECT count(*) FROM mp_attempt)" },
  { "successes exceed attempts for a tier",
    "SELECT count(*) FROM mp_counter a JOIN mp_counter s "
    "ON s.name = 'successes.' || substr(a.name, 10) "
    "WHERE a.name LIKE 'attempts.%' AND s.n > a.n" },
  { "a chat with two messages in flight",
    "SELECT count(*) FROM (SELECT chat_id FROM messages "
    "WHERE status = 'sent' GROUP BY chat_id HAVING count(*) > 1)" },
  { "mp_verify() is not 0",
    "SELECT mp_verify()" },
};
// clang-format on

int relExec(sqlite3 *db, const char *zSql) {
  return sqlite3_exec(db, zSql, 0, 0, 0);
}

int relInt(sqlite3 *db, const char *zSql, i64 *piOut) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *piOut = sqlite3_column_int64(pStmt, 0);
  }
  return sqlite3_finalize(pStmt);
}

int relText(sqlite3 *db, const char *zSql, char *zOut, int nOut) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  zOut[0] = 0;
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    if (z) snprintf(zOut, (size_t)nOut, "%s", z);
  }
  return sqlite3_finalize(pStmt);
}

/*
** Feeds n bytes into a 64-bit FNV-1a digest.
*/
static void relFnv(u64 *pH, const void *p, size_t n) {
  const u8 *a = p;
  for (size_t i = 0; i < n; i++) {
    *pH ^= a[i];
    *pH *= 0x100000001b3ull;
  }
}

/*
** Feeds every row of zSql into the digest. A query on a missing table
** feeds a marker instead. Returns an SQLite result code.
*/
static int relDigestQuery(sqlite3 *db, const char *zSql, u64 *pH) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_ERROR &&
        strncmp(sqlite3_errmsg(db), "no such table", 13) == 0) {
      relFnv(pH, "absent", 6);
      relFnv(pH, zSql, strlen(zSql));
      return SQLITE_OK;
    }
    return rc;
  }
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    int nCol = sqlite3_column_count(pStmt);
    relFnv(pH, "row", 3);
    for (int i = 0; i < nCol; i++) {
      u8 eType = (u8)sqlite3_column_type(pStmt, i);
      relFnv(pH, &eType, 1);
      if (eType == SQLITE_INTEGER) {
        i64 v = sqlite3_column_int64(pStmt, i);
        relFnv(pH, &v, sizeof(v));
      } else if (eType == SQLITE_FLOAT) {
        double r = sqlite3_column_double(pStmt, i);
        relFnv(pH, &r, sizeof(r));
      } else if (eType != SQLITE_NULL) {
        const void *z = sqlite3_column_blob(pStmt, i);
        int n = sqlite3_column_bytes(pStmt, i);
        relFnv(pH, &n, sizeof(n));
        if (n > 0) relFnv(pH, z, (size_t)n);
      }
    }
  }
  sqlite3_finalize(pStmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int relDigest(sqlite3 *db, u64 *piDigest) {
  static const char *const azQuery[] = {
    "SELECT * FROM messages ORDER BY seq",
    "SELECT * FROM mp_counter ORDER BY name",
    "SELECT * FROM mp_chat ORDER BY chat_id",
    "SELECT * FROM mp_attempt ORDER BY rowid",
    "SELECT * FROM mp_meta ORDER BY key",
  };
  u64 h = 0xcbf29ce484222325ull;
  int rc = SQLITE_OK;
  for (size_t i = 0; rc == SQLITE_OK && i < sizeof(azQuery) / sizeof(*azQuery);
       i++) {
    rc = relDigestQuery(db, azQuery[i], &h);
  }
  *piDigest = h;
  return rc;
}

int relHasSchema(sqlite3 *db) {
  i64 n = 0;
  if (relInt(db,
             "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
             "AND name = 'mp_counter'",
             &n) != SQLITE_OK) {
    return -1;
  }
  return n > 0;
}

int relInvariants(sqlite3 *db, char *zWhy, int nWhy) {
  int bSchema = relHasSchema(db);
  zWhy[0] = 0;
  if (bSchema < 0) {
    snprintf(zWhy, (size_t)nWhy, "cannot read the schema: %s",
             sqlite3_errmsg(db));
    return REL_ERR;
  }
  if (bSchema == 0) return REL_OK;
  for (size_t i = 0; i < sizeof(aInvariant) / sizeof(*aInvariant); i++) {
    i64 n = -1;
    int rc = relInt(db, aInvariant[i].zSql, &n);
    if (rc != SQLITE_OK) {
      snprintf(zWhy, (size_t)nWhy, "cannot check %s: %s", aInvariant[i].zName,
               sqlite3_errmsg(db));
      return REL_ERR;
    }
    if (n != 0) {
      snprintf(zWhy, (size_t)nWhy, "%s (query gave %lld)", aInvariant[i].zName,
               n);
      return REL_BAD;
    }
  }
  return REL_OK;
}

int relInvariantsIfChanged(sqlite3 *db, u64 *piLast, char *zWhy, int nWhy) {
  u64 h = 0;
  int rc;
  zWhy[0] = 0;
  if (relDigest(db, &h) == SQLITE_OK && h == *piLast && h != 0) return REL_OK;
  rc = relInvariants(db, zWhy, nWhy);
  *piLast = rc == REL_OK ? h : 0;
  return rc;
}

int relIntegrity(sqlite3 *db, char *zWhy, int nWhy) {
  char zRes[200];
  int rc = relText(db, "PRAGMA integrity_check", zRes, sizeof(zRes));
  zWhy[0] = 0;
  if (rc != SQLITE_OK) {
    snprintf(zWhy, (size_t)nWhy, "integrity_check failed to run: %s",
             sqlite3_errmsg(db));
    return REL_ERR;
  }
  if (strcmp(zRes, "ok") != 0) {
    snprintf(zWhy, (size_t)nWhy, "integrity_check: %s", zRes);
    return REL_BAD;
  }
  if (relHasSchema(db) == 1) {
    i64 n = -1;
    rc = relInt(db, "SELECT mp_verify()", &n);
    if (rc != SQLITE_OK) {
      snprintf(zWhy, (size_t)nWhy, "mp_verify failed to run: %s",
               sqlite3_errmsg(db));
      return REL_ERR;
    }
    if (n != 0) {
      snprintf(zWhy, (size_t)nWhy, "mp_verify() = %lld", n);
      return REL_BAD;
    }
  }
  return REL_OK;
}

sqlite3 *relOpen(const char *zPath, const char *zVfs) {
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc = sqlite3_open_v2(zPath, &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, zVfs);
  if (rc == SQLITE_OK) rc = sqlite3_mp_init(db, &zErr, 0);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "cannot open %s: %s\n", zPath,
            zErr ? zErr : (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_free(zErr);
    sqlite3_close(db);
    return 0;
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

void relRemoveDb(const char *zPath) {
  static const char *const azSuffix[] = { "", "-wal", "-shm", "-journal" };
  for (size_t i = 0; i < sizeof(azSuffix) / sizeof(*azSuffix); i++) {
    char zName[4096];
    snprintf(zName, sizeof(zName), "%s%s", zPath, azSuffix[i]);
    unlink(zName);
  }
}

int relPick(int i, int nTotal, int nStride, int nEdge, int iPhase) {
  if (nStride <= 1 || i <= nEdge || i > nTotal - nEdge) return 1;
  return (i - 1) % nStride == iPhase % nStride;
}

/*
** Under ASan, a smaller quarantine than the default 256 MB: each case
** forks a child that touches fresh pages for every allocation otherwise,
** which doubles the run time. Use-after-free is still caught for the last
** 16 MB freed. ASAN_OPTIONS in the environment overrides this. Exported,
** so that the sanitizer runtime finds it despite hidden visibility.
*/
__attribute__((visibility("default"))) const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *
__asan_default_options(void) {
  return "quarantine_size_mb=16";
}

/*
** Returns the value of a non-negative integer command-line option, or
** exits with a message naming zOpt.
*/
static long relArgLong(const char *zOpt, const char *zVal) {
  char *zEnd = 0;
  long v = zVal ? strtol(zVal, &zEnd, 10) : -1;
  if (zVal == 0 || *zEnd != 0 || v < 0) {
    fprintf(stderr, "%s needs a non-negative integer\n", zOpt);
    exit(2);
  }
  return v;
}

int relArg(RelArgs *p, int argc, char **argv, int *pi, int mArg) {
  const char *z = argv[*pi];
  const char *zVal = *pi + 1 < argc ? argv[*pi + 1] : 0;
  if (strcmp(z, "--long") == 0) {
    if (mArg & REL_ARG_ROUNDS) p->nRound = p->nLongRound;
    p->nStride = 1;
    return 1;
  }
  if (strcmp(z, "-v") == 0) {
    p->bVerbose = 1;
    return 1;
  }
  if (strcmp(z, "--rounds") == 0 && (mArg & REL_ARG_ROUNDS)) {
    p->nRound = (int)relArgLong(z, zVal);
  } else if (strcmp(z, "--stride") == 0) {
    p->nStride = (int)relArgLong(z, zVal);
    if (p->nStride < 1) p->nStride = 1;
  } else if (strcmp(z, "--at") == 0) {
    p->iOnly = (int)relArgLong(z, zVal);
  } else if (strcmp(z, "--persist") == 0 && (mArg & REL_ARG_PERSIST)) {
    p->mPersist = relArgLong(z, zVal) ? 2 : 1;
  } else if (strcmp(z, "--dir") == 0 && zVal) {
    p->zDir = zVal;
  } else {
    return 0;
  }
  (*pi)++;
  return 1;
}

void relUsage(const char *zProgram, const char *zOptions) {
  fprintf(stderr, "usage: %s %s\n", zProgram, zOptions);
  exit(2);
}

i64 relCount(sqlite3 *db, const char *zFormat, ...) {
  va_list ap;
  char *zSql;
  i64 n = 0;
  va_start(ap, zFormat);
  zSql = sqlite3_vmprintf(zFormat, ap);
  va_end(ap);
  if (zSql) relInt(db, zSql, &n);
  sqlite3_free(zSql);
  return n;
}

char *relFillText(int nByte, const char *zWordFormat, int nWordKinds,
                  const char *zHeadFormat, ...) {
  sqlite3_str *p = sqlite3_str_new(0);
  va_list ap;
  va_start(ap, zHeadFormat);
  sqlite3_str_vappendf(p, zHeadFormat, ap);
  va_end(ap);
  while (sqlite3_str_length(p) < nByte) {
    sqlite3_str_appendf(p, zWordFormat, sqlite3_str_length(p) % nWordKinds);
  }
  return sqlite3_str_finish(p);
}

void relBad(RelVerdict *p, const char *zFormat, ...) {
  va_list ap;
  if (p->bBad) return;
  p->bBad = 1;
  va_start(ap, zFormat);
  vsnprintf(p->zWhy, sizeof(p->zWhy), zFormat, ap);
  va_end(ap);
}

void relCheckReopened(const char *zDb, const char *zVfs, RelVerdict *p) {
  char zWhy[600];
  sqlite3 *db = relOpen(zDb, zVfs);
  if (db == 0) {
    relBad(p, "cannot reopen");
    return;
  }
  if (relIntegrity(db, zWhy, sizeof(zWhy)) != REL_OK ||
      relInvariants(db, zWhy, sizeof(zWhy)) != REL_OK) {
    relBad(p, "after reopening: %s", zWhy);
  }
  sqlite3_close(db);
}
