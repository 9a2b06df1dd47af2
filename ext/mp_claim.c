/*
** SPDX-License-Identifier: MIT
**
** mp_claim.c: handing messages to a sender.
**
**   SELECT * FROM mp_claim(10);              -- up to 10, default lease
**   SELECT * FROM mp_claim(10, 30, 'w1');    -- 30 s lease, worker 'w1'
**   SELECT id, lease_token FROM mp_claim();  -- batch_size messages
**   SELECT mp_mark_sent('<id>');             -- claim one given message
**
** mp_claim(n [, lease_seconds [, worker]]) is a table-valued function with
** side effects: each call moves up to n due messages from 'pending' to
** 'sent' in one transaction and returns them, with columns
**
**   id, chat_id, message_text, parse_mode, retry_count, lease_token,
**   priority, attempts, event_data, in_doubt
**
** Pass lease_token (or id) to mp_confirm() / mp_mark_failed(); a token is
** refused once its lease was recovered and the message claimed again.
**
** HOW IT WORKS
**
** The order is priority (critical first), then order_at (0, or the due time
** of a delayed message: see mp_enqueue.c), then seq, the commit order.
** The claim walks the queue index in exactly that order,
** one priority at a time, stopping at the first row whose order_at is
** still in the future. A chat counts once: its first row in that order is
** its head, and only a head can be claimed, and only while no message of
** that chat is 'sent'. So each chat receives its messages one at a time,
** in queue order, and a head waiting for a retry (due_at in the future)
** holds back the rest of its chat.
**
** Registered with SQLITE_VTAB_DIRECTONLY: a trigger or view in an
** untrusted database cannot claim messages.
**
** WHY A TEMP TABLE
**
** A statement that reads a table of the main database opens its read
** transaction before the claim runs, and SQLite never waits (no busy
** handler) to turn a read transaction into a write one: under load the
** claim would fail with SQLITE_BUSY at once. So loading mp also creates
** temp.mp_claim, which shadows the eponymous main.mp_claim: a statement on
** it only reads the private temp database, and the claim's own write
** transaction on main waits its turn in the busy timeout like every other
** mp function.
*/
#include "mp_int.h"

#include <string.h>

#define MP_CLAIM_COLUMNS    10 /* visible columns */
#define MP_CLAIM_ARG_N      10
#define MP_CLAIM_ARG_LEASE  11
#define MP_CLAIM_ARG_WORKER 12

/*
** Loads the chats that have a message in flight into pSet. Returns an
** SQLite result code.
*/
static int mpClaimInflight(MpState *p, MpIntSet *pSet) {
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_CLAIM_INFLIGHT,
             "SELECT chat_id FROM messages WHERE status = 'sent'");
  return pStmt ? mpIntSetLoad(pSet, pStmt) : sqlite3_errcode(p->db);
}

/*
** Picks up to nMax claimable seqs into aSeq (see HOW IT WORKS) and records
** them with the pacer. Sets *pnSeq. Returns an SQLite result code.
*/
static int mpClaimPick(MpState *p, MpPace *pPace, i64 iNow, int nMax, i64 *aSeq,
                       int *pnSeq) {
  MpIntSet inflight = { 0, 0, 0 };
  MpIntSet seen = { 0, 0, 0 };
  sqlite3_stmt *pScan = 0;
  i64 iWait = 0;
  int nBudget = mpPaceBudget(pPace, iNow, &iWait);
  int rc = mpClaimInflight(p, &inflight);
  int nSeq = 0;
  if (nBudget < nMax) nMax = nBudget;
  if (rc == SQLITE_OK) {
    pScan = mpStmt(p, MP_STMT_CLAIM_SCAN,
                   "SELECT seq, chat_id, due_at FROM messages "
                   "WHERE status = 'pending' AND priority = ?1 "
                   "AND order_at <= ?2 ORDER BY order_at, seq");
    if (pScan == 0) rc = sqlite3_errcode(p->db);
  }
  for (int iPrio = MP_PRIORITY_CRITICAL;
       rc == SQLITE_OK && iPrio >= 0 && nSeq < nMax; iPrio--) {
    sqlite3_bind_int(pScan, 1, iPrio);
    sqlite3_bind_int64(pScan, 2, iNow);
    while (rc == SQLITE_OK && nSeq < nMax &&
           sqlite3_step(pScan) == SQLITE_ROW) {
      i64 iChat = sqlite3_column_int64(pScan, 1);
      i64 iReadyAt = 0;
      int bNew = mpIntSetAdd(&seen, iChat);
      if (bNew < 0) rc = SQLITE_NOMEM;
      if (bNew <= 0 || mpIntSetHas(&inflight, iChat)) continue;
      if (sqlite3_column_int64(pScan, 2) > iNow) continue;
      rc = mpPaceChatReadyAt(p, pPace, iChat, iNow, &iReadyAt);
      if (rc != SQLITE_OK || iReadyAt > iNow) continue;
      rc = mpPaceRecord(p, pPace, iChat, iNow);
      aSeq[nSeq++] = sqlite3_column_int64(pScan, 0);
    }
    if (rc == SQLITE_OK) {
      rc = mpStmtFinish(pScan);
    } else {
      mpStmtFinish(pScan);
    }
  }
  mpIntSetClear(&inflight);
  mpIntSetClear(&seen);
  *pnSeq = nSeq;
  return rc;
}

/* One value of a claimed row, as mp_claim returns it. */
typedef struct MpClaimCell MpClaimCell;
struct MpClaimCell {
  int eType; /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB or _NULL */
  int n;     /* bytes of text or blob */
  i64 i;     /* the integer, or the offset of the bytes in the arena */
  double r;  /* the real */
};

/*
** The bytes of a cursor's texts and blobs, in one allocation that starts
** with this header. Each value is preceded by 8 bytes holding its offset
** from the start of the allocation, so that the destructor SQLite calls
** with the value alone finds the arena (mpClaimArenaRelease). xColumn hands
** values over by reference: once the claim is committed, returning it must
** not fail for want of memory (the messages would stay 'sent' under a
** lease nobody holds until recovered as in doubt).
*/
typedef struct MpClaimArena MpClaimArena;
struct MpClaimArena {
  i64 nRef;   /* the cursor's reference, plus one per value handed over */
  i64 nUsed;  /* bytes used, this header included */
  i64 nAlloc; /* bytes allocated */
};

typedef struct MpClaimCursor MpClaimCursor;
struct MpClaimCursor {
  sqlite3_vtab_cursor base; /* Base class, must be first */
  MpClaimCell *aCell;       /* MP_CLAIM_COLUMNS cells per claimed row */
  MpClaimArena *pArena;     /* the bytes of every text and blob, or NULL */
  int nRow;                 /* Number of rows claimed */
  int iRow;                 /* Current row */
};

typedef struct MpClaimTab MpClaimTab;
struct MpClaimTab {
  sqlite3_vtab base; /* Base class, must be first */
  MpState *p;        /* Connection state */
};

/*
** Drops one reference to the arena holding the value z (a destructor for
** sqlite3_result_text()); frees the arena with the last one.
*/
static void mpClaimArenaRelease(void *pValue) {
  char *z = pValue;
  i64 iOff;
  MpClaimArena *pArena;
  memcpy(&iOff, z - sizeof(i64), sizeof(i64));
  pArena = (MpClaimArena *)(void *)(z - iOff);
  if (--pArena->nRef == 0) sqlite3_free(pArena);
}

/*
** Frees the rows held by a cursor (the arena once SQLite is done with the
** values handed over).
*/
static void mpClaimCursorClear(MpClaimCursor *pCur) {
  sqlite3_free(pCur->aCell);
  if (pCur->pArena && --pCur->pArena->nRef == 0) sqlite3_free(pCur->pArena);
  pCur->aCell = 0;
  pCur->pArena = 0;
  pCur->nRow = pCur->iRow = 0;
}

/*
** Makes room for n more bytes in the cursor's arena. Returns SQLITE_OK or
** SQLITE_NOMEM. Only while the claim runs: nothing is handed over yet.
*/
static int mpClaimArenaReserve(MpClaimCursor *pCur, i64 n) {
  MpClaimArena *pA = pCur->pArena;
  i64 nUsed = pA ? pA->nUsed : (i64)sizeof(MpClaimArena);
  i64 nAlloc = pA ? pA->nAlloc : 0;
  if (nUsed + n > nAlloc) {
    i64 nNew = nAlloc ? nAlloc * 2 : 4096;
    while (nNew < nUsed + n)
      nNew *= 2;
    pA = sqlite3_realloc64(pA, (u64)nNew);
    if (pA == 0) return SQLITE_NOMEM;
    if (pCur->pArena == 0) {
      pA->nRef = 1;
      pA->nUsed = nUsed;
    }
    pA->nAlloc = nNew;
    pCur->pArena = pA;
  }
  return SQLITE_OK;
}

/*
** Appends one value made of the nPart pieces azPart[k] (anPart[k] bytes
** each) to the arena, with its offset before it and a NUL after it. Sets
** *piOff to its offset. Returns SQLITE_OK or SQLITE_NOMEM.
*/
static int mpClaimArenaAdd(MpClaimCursor *pCur, int nPart,
                           const void *const *azPart, const int *anPart,
                           i64 *piOff) {
  i64 n = 0, iOff;
  char *a;
  for (int k = 0; k < nPart; k++)
    n += anPart[k];
  if (mpClaimArenaReserve(pCur, n + 2 * (i64)sizeof(i64) + 1) != SQLITE_OK) {
    return SQLITE_NOMEM;
  }
  a = (char *)pCur->pArena;
  iOff = (pCur->pArena->nUsed + 7) & ~(i64)7; /* aligned offset slot */
  iOff += sizeof(i64);
  memcpy(a + iOff - sizeof(i64), &iOff, sizeof(i64));
  *piOff = iOff;
  for (int k = 0; k < nPart; k++) {
    if (anPart[k] > 0) memcpy(a + iOff, azPart[k], (size_t)anPart[k]);
    iOff += anPart[k];
  }
  a[iOff] = 0;
  pCur->pArena->nUsed = iOff + 1;
  return SQLITE_OK;
}

/*
** Stores pVal in *pCell, its bytes in the arena. Returns an SQLite result
** code.
*/
static int mpClaimCellSet(MpClaimCursor *pCur, MpClaimCell *pCell,
                          sqlite3_value *pVal) {
  pCell->eType = sqlite3_value_type(pVal);
  switch (pCell->eType) {
    case SQLITE_INTEGER: pCell->i = sqlite3_value_int64(pVal); break;
    case SQLITE_FLOAT: pCell->r = sqlite3_value_double(pVal); break;
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
      const void *z = pCell->eType == SQLITE_TEXT
                          ? (const void *)sqlite3_value_text(pVal)
                          : sqlite3_value_blob(pVal);
      pCell->n = sqlite3_value_bytes(pVal);
      if (z == 0 && pCell->n > 0) return SQLITE_NOMEM;
      return mpClaimArenaAdd(pCur, 1, &z, &pCell->n, &pCell->i);
    }
  }
  return SQLITE_OK;
}

/*
** Moves message iSeq from 'pending' to 'sent' with a lease and a fresh
** token, and appends the row (the columns of mp_claim) to pCur. Leaves the
** cursor as it was when the row was not pending. Returns an SQLite result
** code.
**
** UPDATE OR FAIL: the only failures are checks made before the row is
** written, so the one-row statement needs no statement journal. The
** columns are read afterwards: RETURNING would make SQLite 3.40 fill an
** ephemeral table on every run.
*/
static int mpClaimRow(MpState *p, MpClaimCursor *pCur, i64 iSeq, i64 iNow,
                      i64 iLeaseMs, const char *zWorker) {
  char zToken[20];
  sqlite3_stmt *pRead;
  MpClaimCell *aCell = &pCur->aCell[pCur->nRow * MP_CLAIM_COLUMNS];
  int rc;
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_CLAIM_ROW,
             "UPDATE OR FAIL messages SET status = 'sent', lease_until = ?2, "
             "lease_token = ?3, worker = ?4, attempts = attempts + 1, "
             "revision = revision + 1, updated_at = ?5 "
             "WHERE seq = ?1 AND status = 'pending'");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  mpHex16(mpRandom(p), zToken);
  sqlite3_bind_int64(pStmt, 1, iSeq);
  sqlite3_bind_int64(pStmt, 2, iNow + iLeaseMs);
  sqlite3_bind_text(pStmt, 3, zToken, 16, SQLITE_STATIC);
  if (zWorker) sqlite3_bind_text(pStmt, 4, zWorker, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 5, iNow / 1000);
  sqlite3_step(pStmt);
  rc = mpStmtFinish(pStmt);
  if (rc != SQLITE_OK || sqlite3_changes(p->db) != 1) return rc;
  pRead = mpStmt(p, MP_STMT_CLAIM_READ,
                 "SELECT id, chat_id, message_text, parse_mode, retry_count, "
                 "priority, attempts, event_data, in_doubt "
                 "FROM messages WHERE seq = ?1");
  if (pRead == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pRead, 1, iSeq);
  if (sqlite3_step(pRead) == SQLITE_ROW) {
    /* Column 5, lease_token, is "<id>:<token>"; the others are read. */
    memset(aCell, 0, sizeof(MpClaimCell) * MP_CLAIM_COLUMNS);
    for (int j = 0; rc == SQLITE_OK && j < MP_CLAIM_COLUMNS; j++) {
      if (j == 5) {
        const void *azPart[3];
        int anPart[3] = { sqlite3_column_bytes(pRead, 0), 1, 16 };
        azPart[0] = sqlite3_column_text(pRead, 0);
        azPart[1] = ":";
        azPart[2] = zToken;
        aCell[5].eType = SQLITE_TEXT;
        aCell[5].n = anPart[0] + 17;
        rc = azPart[0] ? mpClaimArenaAdd(pCur, 3, azPart, anPart, &aCell[5].i)
                       : SQLITE_NOMEM;
      } else {
        rc = mpClaimCellSet(pCur, &aCell[j],
                            sqlite3_column_value(pRead, j < 5 ? j : j - 1));
      }
    }
    if (rc == SQLITE_OK) pCur->nRow++;
  }
  if (rc == SQLITE_OK) {
    rc = mpStmtFinish(pRead);
  } else {
    mpStmtFinish(pRead);
  }
  return rc;
}

/*
** Sets the error message of a virtual table, freeing the previous one.
*/
static void mpClaimError(MpClaimTab *pTab, const char *zFormat,
                         const char *zArg) {
  sqlite3_free(pTab->base.zErrMsg);
  pTab->base.zErrMsg = sqlite3_mprintf(zFormat, zArg);
}

/*
** Sets the table's error for a failed step, as mpResultDbError() does for
** functions. Returns the code to report.
*/
static int mpClaimDbError(MpClaimTab *pTab, int rc) {
  const char *zMsg = mpErrMsg(pTab->p);
  const char *zHint = "";
  if (rc == SQLITE_NOMEM) {
    zMsg = "out of memory";
  } else if (strncmp(zMsg, "cannot open savepoint", 21) == 0) {
    zMsg = "cannot run inside an INSERT, UPDATE or DELETE statement within "
           "BEGIN ... COMMIT; call it from a SELECT";
    rc = SQLITE_ERROR;
  } else if (strncmp(zMsg, "no such table", 13) == 0) {
    zHint = " (run SELECT mp_init() first)";
  }
  sqlite3_free(pTab->base.zErrMsg);
  pTab->base.zErrMsg = sqlite3_mprintf("mp_claim: %s%s", zMsg, zHint);
  mpErrClear(pTab->p); /* reported: never shown again */
  return rc;
}

/*
** Claims up to nMax messages into pCur, in one transaction. Returns an
** SQLite result code, with the message in pTab on error.
*/
static int mpClaimRun(MpClaimTab *pTab, MpClaimCursor *pCur, int nMax,
                      i64 iLeaseMs, const char *zWorker) {
  MpState *p = pTab->p;
  MpPace pace;
  i64 *aSeq = 0;
  int nSeq = 0;
  i64 iNow = mpNowMs(p);
  int rcBegin = mpBegin(p);
  int rc = rcBegin;
  int rcPace = SQLITE_ERROR;
  if (rc == SQLITE_OK) rc = rcPace = mpPaceOpen(p, iNow, &pace);
  if (rc == SQLITE_OK && iLeaseMs < 0) {
    rc = mpConfigInt(p, "lease_seconds", &iLeaseMs);
    iLeaseMs *= 1000;
  }
  if (rc == SQLITE_OK) {
    aSeq = sqlite3_malloc64(sizeof(i64) * (u64)nMax);
    pCur->aCell =
        sqlite3_malloc64(sizeof(MpClaimCell) * MP_CLAIM_COLUMNS * (u64)nMax);
    if (aSeq == 0 || pCur->aCell == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = mpClaimPick(p, &pace, iNow, nMax, aSeq, &nSeq);
  for (int i = 0; rc == SQLITE_OK && i < nSeq; i++) {
    rc = mpClaimRow(p, pCur, aSeq[i], iNow, iLeaseMs, zWorker);
  }
  sqlite3_free(aSeq);
  if (rcPace == SQLITE_OK) {
    int rc2 = mpPaceClose(p, &pace, rc == SQLITE_OK);
    if (rc == SQLITE_OK) rc = rc2;
  }
  if (rc == SQLITE_OK) {
    rc = mpCommit(p);
    if (rc != SQLITE_OK) rc = mpClaimDbError(pTab, rc);
  } else {
    if (rcBegin == SQLITE_OK) mpRollback(p);
    rc = mpClaimDbError(pTab, rc);
  }
  if (rc != SQLITE_OK) mpClaimCursorClear(pCur);
  return rc;
}

/*
** xConnect: declares the columns; the hidden ones are the arguments.
*/
static int mpClaimConnect(sqlite3 *db, void *pAux, int argc,
                          const char *const *argv, sqlite3_vtab **ppVtab,
                          char **pzErr) {
  MpClaimTab *pTab;
  int rc;
  (void)argc;
  (void)argv;
  (void)pzErr;
  rc = sqlite3_declare_vtab(
      db, "CREATE TABLE x(id TEXT, chat_id INTEGER, message_text TEXT, "
          "parse_mode TEXT, retry_count INTEGER, lease_token TEXT, "
          "priority INTEGER, attempts INTEGER, event_data TEXT, "
          "in_doubt INTEGER, n HIDDEN, lease_seconds HIDDEN, worker HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  pTab = sqlite3_malloc64(sizeof(*pTab));
  if (pTab == 0) return SQLITE_NOMEM;
  memset(pTab, 0, sizeof(*pTab));
  pTab->p = pAux;
  *ppVtab = &pTab->base;
  return SQLITE_OK;
}

/*
** xDisconnect: frees the table object.
*/
static int mpClaimDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/*
** xOpen: a cursor with no rows until xFilter claims them.
*/
static int mpClaimOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  MpClaimCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  (void)pVtab;
  if (pCur == 0) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

/*
** xClose: frees the cursor and its rows.
*/
static int mpClaimClose(sqlite3_vtab_cursor *pCursor) {
  mpClaimCursorClear((MpClaimCursor *)pCursor);
  sqlite3_free(pCursor);
  return SQLITE_OK;
}

/*
** xBestIndex: the arguments are equality constraints on the hidden
** columns; idxNum has bit k set when argument k is given. An argument that
** cannot be used makes the plan impossible (SQLITE_CONSTRAINT).
*/
static int mpClaimBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int aArg[3] = { -1, -1, -1 };
  int nArg = 0;
  (void)pVtab;
  for (int i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    int k = pC->iColumn - MP_CLAIM_ARG_N;
    if (k < 0 || k > 2) continue;
    if (!pC->usable || pC->op != SQLITE_INDEX_CONSTRAINT_EQ) {
      return SQLITE_CONSTRAINT;
    }
    aArg[k] = i;
  }
  pInfo->idxNum = 0;
  for (int k = 0; k < 3; k++) {
    if (aArg[k] < 0) continue;
    pInfo->aConstraintUsage[aArg[k]].argvIndex = ++nArg;
    pInfo->aConstraintUsage[aArg[k]].omit = 1;
    pInfo->idxNum |= 1 << k;
  }
  pInfo->estimatedCost = 100.0;
  pInfo->estimatedRows = 100;
  return SQLITE_OK;
}

/*
** xFilter: validates the arguments and claims. See HOW IT WORKS.
*/
static int mpClaimFilter(sqlite3_vtab_cursor *pCursor, int idxNum,
                         const char *idxStr, int argc, sqlite3_value **argv) {
  MpClaimCursor *pCur = (MpClaimCursor *)pCursor;
  MpClaimTab *pTab = (MpClaimTab *)pCursor->pVtab;
  i64 aVal[2] = { -1, -1 };
  const char *zWorker = 0;
  int iArg = 0;
  (void)idxStr;
  (void)argc;
  mpClaimCursorClear(pCur);
  for (int k = 0; k < 2; k++) {
    sqlite3_value *pVal;
    if (!(idxNum & (1 << k))) continue;
    pVal = argv[iArg++];
    if (sqlite3_value_type(pVal) == SQLITE_NULL) continue;
    if (mpValueInt(pVal, &aVal[k]) != SQLITE_OK) {
      mpClaimError(pTab, "mp_claim: %s must be an integer",
                   k == 0 ? "n" : "lease_seconds");
      return SQLITE_MISMATCH;
    }
    if (aVal[k] < (k == 0 ? 0 : 1) || aVal[k] > (k == 0 ? 100000 : 86400)) {
      mpClaimError(pTab, "%s",
                   k == 0 ? "mp_claim: n must be between 0 and 100000"
                          : "mp_claim: lease_seconds must be between 1 and "
                            "86400");
      return SQLITE_MISMATCH;
    }
  }
  if (idxNum & 4) {
    sqlite3_value *pVal = argv[iArg];
    int eType = sqlite3_value_type(pVal);
    if (eType != SQLITE_NULL) {
      const unsigned char *z = sqlite3_value_text(pVal);
      int n = sqlite3_value_bytes(pVal);
      if (eType != SQLITE_TEXT || n == 0 || n > MP_KEY_MAX_BYTES ||
          !mpUtf8Valid(z, n)) {
        mpClaimError(pTab, "%s",
                     "mp_claim: worker must be text of 1 to 256 bytes");
        return SQLITE_MISMATCH;
      }
      zWorker = (const char *)z;
    }
  }
  if (aVal[0] < 0) {
    int rc = mpConfigInt(pTab->p, "batch_size", &aVal[0]);
    if (rc != SQLITE_OK) return mpClaimDbError(pTab, rc);
  }
  if (aVal[0] == 0) return SQLITE_OK;
  return mpClaimRun(pTab, pCur, (int)aVal[0], aVal[1] < 0 ? -1 : aVal[1] * 1000,
                    zWorker);
}

/*
** xNext, xEof, xColumn, xRowid: walk the claimed rows.
*/
static int mpClaimNext(sqlite3_vtab_cursor *pCursor) {
  ((MpClaimCursor *)pCursor)->iRow++;
  return SQLITE_OK;
}

static int mpClaimEof(sqlite3_vtab_cursor *pCursor) {
  MpClaimCursor *pCur = (MpClaimCursor *)pCursor;
  return pCur->iRow >= pCur->nRow;
}

static int mpClaimColumn(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx,
                         int iCol) {
  MpClaimCursor *pCur = (MpClaimCursor *)pCursor;
  const MpClaimCell *pCell;
  if (iCol >= MP_CLAIM_COLUMNS) return SQLITE_OK;
  pCell = &pCur->aCell[pCur->iRow * MP_CLAIM_COLUMNS + iCol];
  switch (pCell->eType) {
    case SQLITE_INTEGER: sqlite3_result_int64(ctx, pCell->i); break;
    case SQLITE_FLOAT: sqlite3_result_double(ctx, pCell->r); break;
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
      /* By reference, no allocation: see MpClaimArena. */
      char *z = (char *)pCur->pArena + pCell->i;
      pCur->pArena->nRef++;
      if (pCell->eType == SQLITE_TEXT) {
        sqlite3_result_text(ctx, z, pCell->n, mpClaimArenaRelease);
      } else {
        sqlite3_result_blob(ctx, z, pCell->n, mpClaimArenaRelease);
      }
      break;
    }
  }
  return SQLITE_OK;
}

static int mpClaimRowid(sqlite3_vtab_cursor *pCursor, sqlite_int64 *pRowid) {
  *pRowid = ((MpClaimCursor *)pCursor)->iRow;
  return SQLITE_OK;
}

static const sqlite3_module mpClaimModule = {
  .iVersion = 0,
  .xCreate = mpClaimConnect,
  .xConnect = mpClaimConnect,
  .xBestIndex = mpClaimBestIndex,
  .xDisconnect = mpClaimDisconnect,
  .xDestroy = mpClaimDisconnect,
  .xOpen = mpClaimOpen,
  .xClose = mpClaimClose,
  .xFilter = mpClaimFilter,
  .xNext = mpClaimNext,
  .xEof = mpClaimEof,
  .xColumn = mpClaimColumn,
  .xRowid = mpClaimRowid,
};

/*
** mp_mark_sent(id [, lease_seconds]): claims one given pending message
** and returns its lease token. Refused when the message is not pending or
** its chat already has a message in flight. It does not wait for its turn
** or for the rate limits, but the send counts in them, so later claims
** keep the limits. MP_FN_UNSAFE: it writes.
*/
static void mpMarkSentFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv) {
  static const char zFunc[] = "mp_mark_sent";
  MpState *p = sqlite3_user_data(ctx);
  MpRow row;
  i64 iLeaseMs = -1;
  int rc = SQLITE_OK;
  if (argc == 2 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    if (mpArgInt(ctx, argv[1], zFunc, "lease_seconds", &iLeaseMs)) return;
    if (iLeaseMs < 1 || iLeaseMs > 86400) {
      mpResultErrorf(ctx, "%s: lease_seconds must be between 1 and 86400",
                     zFunc);
      return;
    }
    iLeaseMs *= 1000;
  }
  if (mpTransitionOpen(ctx, p, zFunc, argv[0], "pending", "sent", &row)) {
    return;
  }
  if (iLeaseMs < 0) {
    rc = mpConfigInt(p, "lease_seconds", &iLeaseMs);
    iLeaseMs *= 1000;
  }
  if (rc == SQLITE_OK) {
    MpIntSet inflight = { 0, 0, 0 };
    rc = mpClaimInflight(p, &inflight);
    if (rc == SQLITE_OK && mpIntSetHas(&inflight, row.iChat)) {
      mpResultErrorf(ctx, "%s: chat %lld already has a message in flight",
                     zFunc, row.iChat);
      mpIntSetClear(&inflight);
      goto mark_sent_abort;
    }
    mpIntSetClear(&inflight);
  }
  if (rc == SQLITE_OK) {
    /* An explicit send skips the order and the limits, but counts in them. */
    MpPace pace;
    i64 iNow = mpNowMs(p);
    rc = mpPaceOpen(p, iNow, &pace);
    if (rc == SQLITE_OK) {
      rc = mpPaceRecord(p, &pace, row.iChat, iNow);
      int rc2 = mpPaceClose(p, &pace, rc == SQLITE_OK);
      if (rc == SQLITE_OK) rc = rc2;
    }
  }
  if (rc == SQLITE_OK) {
    /* A one-row cursor receives the claim; the result is its token. */
    MpClaimCursor one;
    memset(&one, 0, sizeof(one));
    one.aCell = sqlite3_malloc64(sizeof(MpClaimCell) * MP_CLAIM_COLUMNS);
    rc = one.aCell ? mpClaimRow(p, &one, row.iSeq, mpNowMs(p), iLeaseMs, 0)
                   : SQLITE_NOMEM;
    if (rc == SQLITE_OK && one.nRow == 1) {
      one.pArena->nRef++;
      sqlite3_result_text(ctx, (char *)one.pArena + one.aCell[5].i,
                          one.aCell[5].n, mpClaimArenaRelease);
    }
    mpClaimCursorClear(&one);
  }
  if (rc != SQLITE_OK) {
    mpResultDbError(ctx, zFunc, p->db, rc);
    goto mark_sent_abort;
  }
  rc = mpCommit(p);
  if (rc != SQLITE_OK) mpResultDbError(ctx, zFunc, p->db, rc);
  return;

mark_sent_abort:
  mpRollback(p);
}

/*
** Registers mp_claim and mp_mark_sent(). Returns an SQLite result code.
*/
int mpRegisterClaim(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_mark_sent", 1, MP_FN_UNSAFE, mpMarkSentFunc },
    { "mp_mark_sent", 2, MP_FN_UNSAFE, mpMarkSentFunc },
  };
  // clang-format on
  int rc = sqlite3_create_module_v2(db, "mp_claim", &mpClaimModule, p, 0);
  if (rc == SQLITE_OK) {
    /* See WHY A TEMP TABLE above. */
    rc = sqlite3_exec(db,
                      "CREATE VIRTUAL TABLE IF NOT EXISTS temp.mp_claim "
                      "USING mp_claim",
                      0, 0, 0);
  }
  if (rc != SQLITE_OK) {
    *pzErrMsg =
        sqlite3_mprintf("mp: cannot register mp_claim: %s", sqlite3_errmsg(db));
    return rc;
  }
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
