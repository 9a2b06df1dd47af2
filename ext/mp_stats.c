/*
** SPDX-License-Identifier: MIT
**
** mp_stats.c: the mp_stats virtual table, one row per metric.
**
**   SELECT * FROM mp_stats;
**   SELECT value FROM mp_stats WHERE name = 'pending';
**
** Metrics (value INTEGER; times are Unix seconds; NULL = not yet known):
**
**   pending, sent, confirmed, failed   messages in each state
**   in_flight                          = sent
**   total                              rows in the messages table
**   messages_stored                    messages ever stored
**   messages_updated                   status changes ever made
**   messages_deleted                   rows ever deleted (any way)
**   messages_cleaned                   rows deleted by mp_cleanup()
**   retries, recovered, requeued       retries scheduled, leases taken
**                                      back, failed messages redriven
**   oldest_pending_age                 seconds the oldest due pending
**                                      message has waited (NULL: none)
**   attempts_<tier>, successes_<tier>  delivery attempts reported with
**                                      mp_report() and how many confirmed,
**                                      for tiers telegram, webhook, file
**   avg_processing_ms                  mean duration_ms of the attempts
**                                      reported with one (NULL: none yet)
**   database_size_bytes                page_count * page_size
**   last_cleanup, last_backup          when they last ran (NULL: never)
**   schema_version                     mp's schema version
**
** HOW IT WORKS
**
** Reading the table costs the same at 100 rows and at 10 million: it never
** counts the messages table. An enqueue writes no counter (that would add
** a page to every commit); instead:
**
**   messages_stored = highest seq ever used (max(seq), or the highest
**                     deleted one) + plain-SQL inserts that reused a seq
**   total           = messages_stored - messages_deleted
**   sent            = entries under 'sent' in the queue index: the
**                     messages in flight, a small set
**   confirmed, failed come from mp_counter, kept by mp's transitions and
**                     by triggers for changes made with plain SQL
**   pending         = total - sent - confirmed - failed
**
** A claim writes no counter either: the status change it makes is counted
** when the message leaves 'sent', so messages_updated = the 'updated'
** counter + sent. The triggers in sql/001_schema.sql keep every number
** exact when rows are inserted, updated or deleted with plain SQL.
**
** The module also owns the connection's MpState: its destructor frees it
** when the connection closes, and xDisconnect finalizes the cached
** statements (see mpAnchor() in mp_util.c).
*/
#include "mp_int.h"

#include <string.h>

/* The raw numbers every metric is computed from. */
typedef struct MpStatsBase MpStatsBase;
struct MpStatsBase {
  i64 nSeqTop;      /* max(max(seq), seq_hwm) */
  i64 nSent;        /* entries under 'sent' in the queue index */
  i64 iOldestMs;    /* order_at of the oldest due pending message, or -1 */
  i64 nDbBytes;     /* page_count * page_size */
  i64 iNowMs;       /* the mp clock when read */
  i64 aCounter[32]; /* mp_counter values, by index in azCounter */
  i64 iLastCleanup; /* mp_meta 'last_cleanup', or -1 */
  i64 iLastBackup;  /* mp_meta 'last_backup', or -1 */
  i64 iSchema;      /* mp_meta 'schema_version' */
};

static const char *const azCounter[] = {
  "seq_hwm",
  "seq_reused",
  "deleted",
  "confirmed",
  "failed",
  "updated",
  "retries",
  "recovered",
  "requeued",
  "cleaned",
  "attempts.telegram",
  "successes.telegram",
  "duration_ms.telegram",
  "attempts.webhook",
  "successes.webhook",
  "duration_ms.webhook",
  "attempts.file",
  "successes.file",
  "duration_ms.file",
  "timed.telegram",
  "timed.webhook",
  "timed.file",
};
#define MP_COUNTERS ((int)(sizeof(azCounter) / sizeof(azCounter[0])))

/*
** Returns the counter named z from pBase.
*/
static i64 mpCounter(const MpStatsBase *pBase, const char *z) {
  for (int i = 0; i < MP_COUNTERS; i++) {
    if (strcmp(azCounter[i], z) == 0) return pBase->aCounter[i];
  }
  return 0;
}

/* Derived numbers; see HOW IT WORKS. */
static i64 mpStored(const MpStatsBase *b) {
  return b->nSeqTop + mpCounter(b, "seq_reused");
}
static i64 mpTotal(const MpStatsBase *b) {
  return mpStored(b) - mpCounter(b, "deleted");
}

/*
** Sets *pValue to metric iMetric; returns 0 when the value is NULL.
*/
typedef int (*MpStatFn)(const MpStatsBase *, i64 *);

#define MP_STAT_COUNTER(NAME, COUNTER)                     \
 static int mpStat_##NAME(const MpStatsBase *b, i64 *pV) { \
  *pV = mpCounter(b, COUNTER);                             \
  return 1;                                                \
 }
MP_STAT_COUNTER(confirmed, "confirmed")
MP_STAT_COUNTER(failed, "failed")
MP_STAT_COUNTER(deleted, "deleted")
MP_STAT_COUNTER(cleaned, "cleaned")
MP_STAT_COUNTER(retries, "retries")
MP_STAT_COUNTER(recovered, "recovered")
MP_STAT_COUNTER(requeued, "requeued")
MP_STAT_COUNTER(attemptsTelegram, "attempts.telegram")
MP_STAT_COUNTER(successesTelegram, "successes.telegram")
MP_STAT_COUNTER(attemptsWebhook, "attempts.webhook")
MP_STAT_COUNTER(successesWebhook, "successes.webhook")
MP_STAT_COUNTER(attemptsFile, "attempts.file")
MP_STAT_COUNTER(successesFile, "successes.file")

static int mpStat_avgMs(const MpStatsBase *b, i64 *pV) {
  i64 nAttempts = mpCounter(b, "timed.telegram") +
                  mpCounter(b, "timed.webhook") + mpCounter(b, "timed.file");
  i64 nMs = mpCounter(b, "duration_ms.telegram") +
            mpCounter(b, "duration_ms.webhook") +
            mpCounter(b, "duration_ms.file");
  if (nAttempts == 0) return 0;
  *pV = nMs / nAttempts;
  return 1;
}

static int mpStat_pending(const MpStatsBase *b, i64 *pV) {
  *pV = mpTotal(b) - b->nSent - mpCounter(b, "confirmed") -
        mpCounter(b, "failed");
  return 1;
}
static int mpStat_sent(const MpStatsBase *b, i64 *pV) {
  *pV = b->nSent;
  return 1;
}
static int mpStat_total(const MpStatsBase *b, i64 *pV) {
  *pV = mpTotal(b);
  return 1;
}
static int mpStat_stored(const MpStatsBase *b, i64 *pV) {
  *pV = mpStored(b);
  return 1;
}
static int mpStat_updated(const MpStatsBase *b, i64 *pV) {
  *pV = mpCounter(b, "updated") + b->nSent;
  return 1;
}
static int mpStat_oldest(const MpStatsBase *b, i64 *pV) {
  if (b->iOldestMs < 0) return 0;
  *pV = (b->iNowMs - b->iOldestMs) / 1000;
  return 1;
}
static int mpStat_dbsize(const MpStatsBase *b, i64 *pV) {
  *pV = b->nDbBytes;
  return 1;
}
static int mpStat_lastCleanup(const MpStatsBase *b, i64 *pV) {
  *pV = b->iLastCleanup;
  return b->iLastCleanup >= 0;
}
static int mpStat_lastBackup(const MpStatsBase *b, i64 *pV) {
  *pV = b->iLastBackup;
  return b->iLastBackup >= 0;
}
static int mpStat_schema(const MpStatsBase *b, i64 *pV) {
  *pV = b->iSchema;
  return 1;
}

/* The rows of mp_stats, in order. */
typedef struct MpStatDef MpStatDef;
struct MpStatDef {
  const char *zName;
  MpStatFn xValue;
};

// clang-format off
static const MpStatDef aStat[] = {
  { "pending",             mpStat_pending },
  { "sent",                mpStat_sent },
  { "confirmed",           mpStat_confirmed },
  { "failed",              mpStat_failed },
  { "in_flight",           mpStat_sent },
  { "total",               mpStat_total },
  { "messages_stored",     mpStat_stored },
  { "messages_updated",    mpStat_updated },
  { "messages_deleted",    mpStat_deleted },
  { "messages_cleaned",    mpStat_cleaned },
  { "retries",             mpStat_retries },
  { "recovered",           mpStat_recovered },
  { "requeued",            mpStat_requeued },
  { "oldest_pending_age",  mpStat_oldest },
  { "attempts_telegram",   mpStat_attemptsTelegram },
  { "successes_telegram",  mpStat_successesTelegram },
  { "attempts_webhook",    mpStat_attemptsWebhook },
  { "successes_webhook",   mpStat_successesWebhook },
  { "attempts_file",       mpStat_attemptsFile },
  { "successes_file",      mpStat_successesFile },
  { "avg_processing_ms",   mpStat_avgMs },
  { "database_size_bytes", mpStat_dbsize },
  { "last_cleanup",        mpStat_lastCleanup },
  { "last_backup",         mpStat_lastBackup },
  { "schema_version",      mpStat_schema },
};
// clang-format on
#define MP_STATS ((int)(sizeof(aStat) / sizeof(aStat[0])))

/* The enqueue time (ms) of the first due pending message of priority P
** (?1 = now ms), NULL when there is none. An mp id starts with the
** enqueue ms in hex (see mp_id.c). */
#define MP_STATS_OLDEST_SQL(P)                                         \
 "(SELECT CASE WHEN order_at > 0 THEN order_at "                       \
 "WHEN length(id) = 36 AND substr(id, 15, 1) = '7' THEN "              \
 "((((instr('0123456789abcdef', substr(id, 1, 1)) - 1) << 28) + "      \
 "((instr('0123456789abcdef', substr(id, 2, 1)) - 1) << 24) + "        \
 "((instr('0123456789abcdef', substr(id, 3, 1)) - 1) << 20) + "        \
 "((instr('0123456789abcdef', substr(id, 4, 1)) - 1) << 16) + "        \
 "((instr('0123456789abcdef', substr(id, 5, 1)) - 1) << 12) + "        \
 "((instr('0123456789abcdef', substr(id, 6, 1)) - 1) << 8) + "         \
 "((instr('0123456789abcdef', substr(id, 7, 1)) - 1) << 4) + "         \
 "((instr('0123456789abcdef', substr(id, 8, 1)) - 1) << 0)) << 16) + " \
 "(((instr('0123456789abcdef', substr(id, 10, 1)) - 1) << 12) + "      \
 "((instr('0123456789abcdef', substr(id, 11, 1)) - 1) << 8) + "        \
 "((instr('0123456789abcdef', substr(id, 12, 1)) - 1) << 4) + "        \
 "((instr('0123456789abcdef', substr(id, 13, 1)) - 1) << 0)) "         \
 "ELSE created_at * 1000 END FROM messages "                           \
 "WHERE status = 'pending' AND priority = " P " "                      \
 "AND order_at <= ?1 AND due_at <= ?1 ORDER BY order_at, seq LIMIT 1)"

/*
** Every raw number but the counters, in one row (?1 = now ms): each
** subquery is a rowid, primary-key or index lookup, or a walk over the
** messages in flight. The oldest due pending message is looked up one
** priority at a time: four index lookups, whatever the table size.
*/
// clang-format off
#define MP_STATS_READ_SQL                                          \
 "SELECT (SELECT max(seq) FROM messages), "                        \
 "(SELECT count(*) FROM messages WHERE status = 'sent'), "         \
 MP_STATS_OLDEST_SQL("0") ", " MP_STATS_OLDEST_SQL("1") ", "       \
 MP_STATS_OLDEST_SQL("2") ", " MP_STATS_OLDEST_SQL("3") ", "       \
 "(SELECT page_count * page_size "                                 \
 "FROM pragma_page_count(), pragma_page_size()), "                 \
 "(SELECT value FROM mp_meta WHERE key = 'last_cleanup'), "        \
 "(SELECT value FROM mp_meta WHERE key = 'last_backup'), "         \
 "(SELECT value FROM mp_meta WHERE key = 'schema_version')"
// clang-format on

/*
** Sets *piOut to column iCol of pStmt unless it is NULL.
*/
static void mpStatsColumnInt(sqlite3_stmt *pStmt, int iCol, i64 *piOut) {
  if (sqlite3_column_type(pStmt, iCol) != SQLITE_NULL) {
    *piOut = sqlite3_column_int64(pStmt, iCol);
  }
}

/*
** Reads the raw numbers with two cached statements: the counters, then
** everything else in one row. Returns an SQLite result code.
*/
static int mpStatsLoad(MpState *p, MpStatsBase *b) {
  sqlite3_stmt *pStmt;
  int rc;
  memset(b, 0, sizeof(*b));
  b->iOldestMs = b->iLastCleanup = b->iLastBackup = -1;
  b->iNowMs = mpNowMs(p);
  pStmt = mpStmt(p, MP_STMT_STATS_COUNTERS, "SELECT name, n FROM mp_counter");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    for (int i = 0; z && i < MP_COUNTERS; i++) {
      if (strcmp(azCounter[i], z) == 0) {
        b->aCounter[i] = sqlite3_column_int64(pStmt, 1);
      }
    }
  }
  rc = mpStmtFinish(pStmt);
  if (rc != SQLITE_OK) return rc;
  pStmt = mpStmt(p, MP_STMT_STATS_READ, MP_STATS_READ_SQL);
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pStmt, 1, b->iNowMs);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    mpStatsColumnInt(pStmt, 0, &b->nSeqTop);
    mpStatsColumnInt(pStmt, 1, &b->nSent);
    for (int iPrio = 0; iPrio <= MP_PRIORITY_CRITICAL; iPrio++) {
      /* The first due message in queue order: for one enqueued due at
      ** once (order_at 0) its wait counts from the enqueue, the ms in its
      ** id (or created_at for an id written by plain SQL); for a delayed
      ** one, from its order_at. */
      i64 iAt = -1;
      mpStatsColumnInt(pStmt, 2 + iPrio, &iAt);
      if (iAt >= 0 && (b->iOldestMs < 0 || iAt < b->iOldestMs)) {
        b->iOldestMs = iAt;
      }
    }
    mpStatsColumnInt(pStmt, 6, &b->nDbBytes);
    mpStatsColumnInt(pStmt, 7, &b->iLastCleanup);
    mpStatsColumnInt(pStmt, 8, &b->iLastBackup);
    mpStatsColumnInt(pStmt, 9, &b->iSchema);
  }
  rc = mpStmtFinish(pStmt);
  if (b->nSeqTop < mpCounter(b, "seq_hwm"))
    b->nSeqTop = mpCounter(b, "seq_hwm");
  return rc;
}

typedef struct MpStatsTab MpStatsTab;
struct MpStatsTab {
  sqlite3_vtab base; /* Base class, must be first */
  MpState *p;        /* Connection state */
};

typedef struct MpStatsCursor MpStatsCursor;
struct MpStatsCursor {
  sqlite3_vtab_cursor base; /* Base class, must be first */
  MpStatsBase b;            /* Numbers read by xFilter */
  int iRow;                 /* Index into aStat */
};

/*
** xConnect: declares (name, value); anchors the statement cache.
*/
static int mpStatsConnect(sqlite3 *db, void *pAux, int argc,
                          const char *const *argv, sqlite3_vtab **ppVtab,
                          char **pzErr) {
  MpStatsTab *pTab;
  int rc;
  (void)argc;
  (void)argv;
  (void)pzErr;
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(name TEXT, value INTEGER)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if (pTab == 0) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->p = pAux;
  pTab->p->bAnchored = 1;
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

/*
** xDisconnect: finalizes the cached statements, which sqlite3_close()
** needs before it checks for open statements.
*/
static int mpStatsDisconnect(sqlite3_vtab *pVtab) {
  MpStatsTab *pTab = (MpStatsTab *)pVtab;
  mpStmtFinalizeAll(pTab->p);
  pTab->p->bAnchored = 0;
  sqlite3_free(pTab);
  return SQLITE_OK;
}

static int mpStatsOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  MpStatsCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  (void)pVtab;
  if (pCur == 0) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static int mpStatsClose(sqlite3_vtab_cursor *pCursor) {
  sqlite3_free(pCursor);
  return SQLITE_OK;
}

/*
** xBestIndex: always a full scan of the few metric rows.
*/
static int mpStatsBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  (void)pVtab;
  pInfo->estimatedCost = (double)MP_STATS;
  pInfo->estimatedRows = MP_STATS;
  return SQLITE_OK;
}

/*
** xFilter: reads the raw numbers once per scan.
*/
static int mpStatsFilter(sqlite3_vtab_cursor *pCursor, int idxNum,
                         const char *idxStr, int argc, sqlite3_value **argv) {
  MpStatsCursor *pCur = (MpStatsCursor *)pCursor;
  MpStatsTab *pTab = (MpStatsTab *)pCursor->pVtab;
  int rc;
  (void)idxNum;
  (void)idxStr;
  (void)argc;
  (void)argv;
  pCur->iRow = 0;
  rc = mpStatsLoad(pTab->p, &pCur->b);
  if (rc != SQLITE_OK) {
    const char *zMsg = sqlite3_errmsg(pTab->p->db);
    sqlite3_free(pTab->base.zErrMsg);
    pTab->base.zErrMsg = sqlite3_mprintf("mp_stats: %s%s", zMsg,
                                         strncmp(zMsg, "no such table", 13) == 0
                                             ? " (run SELECT mp_init() first)"
                                             : "");
  }
  return rc;
}

static int mpStatsNext(sqlite3_vtab_cursor *pCursor) {
  ((MpStatsCursor *)pCursor)->iRow++;
  return SQLITE_OK;
}

static int mpStatsEof(sqlite3_vtab_cursor *pCursor) {
  return ((MpStatsCursor *)pCursor)->iRow >= MP_STATS;
}

static int mpStatsColumn(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx,
                         int iCol) {
  MpStatsCursor *pCur = (MpStatsCursor *)pCursor;
  const MpStatDef *pDef = &aStat[pCur->iRow];
  i64 v = 0;
  if (iCol == 0) {
    sqlite3_result_text(ctx, pDef->zName, -1, SQLITE_STATIC);
  } else if (pDef->xValue(&pCur->b, &v)) {
    sqlite3_result_int64(ctx, v);
  }
  return SQLITE_OK;
}

static int mpStatsRowid(sqlite3_vtab_cursor *pCursor, sqlite_int64 *pRowid) {
  *pRowid = ((MpStatsCursor *)pCursor)->iRow;
  return SQLITE_OK;
}

static const sqlite3_module mpStatsModule = {
  .iVersion = 0,
  .xConnect = mpStatsConnect,
  .xBestIndex = mpStatsBestIndex,
  .xDisconnect = mpStatsDisconnect,
  .xOpen = mpStatsOpen,
  .xClose = mpStatsClose,
  .xFilter = mpStatsFilter,
  .xNext = mpStatsNext,
  .xEof = mpStatsEof,
  .xColumn = mpStatsColumn,
  .xRowid = mpStatsRowid,
};

/*
** Frees the connection state; the destructor of the mp_stats module.
*/
static void mpStateFree(void *pArg) {
  MpState *p = pArg;
  mpStmtFinalizeAll(p);
  mpChecksumFree(p);
  sqlite3_free(p->zSavedErr);
  sqlite3_free(p);
}

/*
** Registers mp_stats, which from now on owns p (even on failure, when the
** destructor runs at once). Returns an SQLite result code.
*/
int mpRegisterStats(sqlite3 *db, MpState *p, char **pzErrMsg) {
  int rc =
      sqlite3_create_module_v2(db, "mp_stats", &mpStatsModule, p, mpStateFree);
  if (rc != SQLITE_OK) {
    *pzErrMsg =
        sqlite3_mprintf("mp: cannot register mp_stats: %s", sqlite3_errmsg(db));
  }
  return rc;
}
