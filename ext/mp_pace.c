/*
** SPDX-License-Identifier: MIT
**
** mp_pace.c: Telegram's rate limits, kept by the claim.
**
**   pace_chat_ms            least gap between two messages to one chat
**                           (Telegram: about 1 per second; default 1000)
**   pace_group_per_minute   messages per minute to one group chat, a
**                           negative chat id (Telegram: 20)
**   pace_global_per_second  messages per second overall (Telegram: 30)
**
** 0 turns a limit off. mp_claim() hands out a message only when every
** limit allows it now, so a runner never has to wait or guess; a 429 that
** still comes back pauses the chat for Telegram's retry_after.
**
** The limits hold across processes: they are kept in the database. A
** chat's row in mp_chat holds the earliest time of its next send and, for
** a group, the send times of the last minute; the last second's sends
** overall live in mp_meta ('pace_global_recent'). Windows are sliding and
** exact, widened by MP_PACE_SLACK_PCT so that a send that reaches the
** server a little late still lands inside Telegram's limit.
**
** With every limit off the claim reads mp_chat (for 429 pauses) and
** writes nothing here.
*/
#include "mp_int.h"

#include <string.h>

#define MP_PACE_SLACK_PCT 2 /* widen every window by this much */

/*
** Returns w widened by the slack.
*/
static i64 mpPaceWiden(i64 w) {
  return w + w * MP_PACE_SLACK_PCT / 100;
}

/*
** Reads a blob of send times into a new array, keeping only those after
** iAfter. Sets *paOut (sqlite3_malloc64, NULL when empty) and *pnOut.
** Returns SQLITE_OK or SQLITE_NOMEM.
*/
static int mpPaceWindowRead(const void *pBlob, int nBytes, i64 iAfter,
                            i64 **paOut, int *pnOut) {
  int n = nBytes / (int)sizeof(i64);
  i64 *a;
  int nKeep = 0;
  *paOut = 0;
  *pnOut = 0;
  if (n == 0) return SQLITE_OK;
  a = sqlite3_malloc64(sizeof(i64) * (u64)(n + 1));
  if (a == 0) return SQLITE_NOMEM;
  memcpy(a, pBlob, sizeof(i64) * (size_t)n);
  for (int i = 0; i < n; i++) {
    if (a[i] > iAfter) a[nKeep++] = a[i];
  }
  *paOut = a;
  *pnOut = nKeep;
  return SQLITE_OK;
}

/*
** Loads the limits and the global window. Returns an SQLite result code;
** on success pass pPace to mpPaceClose() afterwards.
*/
int mpPaceOpen(MpState *p, i64 iNow, MpPace *pPace) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  memset(pPace, 0, sizeof(*pPace));
  rc = mpConfigInt(p, "pace_chat_ms", &pPace->iChatGapMs);
  if (rc == SQLITE_OK)
    rc = mpConfigInt(p, "pace_group_per_minute", &pPace->nGroupPerMin);
  if (rc == SQLITE_OK)
    rc = mpConfigInt(p, "pace_global_per_second", &pPace->nGlobalPerSec);
  if (rc == SQLITE_OK && pPace->iChatGapMs == 0 && pPace->nGroupPerMin == 0) {
    /* Only a 429 pause can hold a chat back then: one look for any. */
    pStmt = mpStmt(p, MP_STMT_PACE_ANY,
                   "SELECT NOT EXISTS (SELECT 1 FROM mp_chat)");
    if (pStmt == 0) return sqlite3_errcode(p->db);
    if (sqlite3_step(pStmt) == SQLITE_ROW) {
      pPace->bNoChatRows = sqlite3_column_int(pStmt, 0);
    }
    rc = mpStmtFinish(pStmt);
    pStmt = 0;
  }
  if (rc != SQLITE_OK || pPace->nGlobalPerSec == 0) return rc;
  rc = sqlite3_prepare_v2(p->db,
                          "SELECT value FROM mp_meta "
                          "WHERE key = 'pace_global_recent'",
                          -1, &pStmt, 0);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    rc = mpPaceWindowRead(
        sqlite3_column_blob(pStmt, 0), sqlite3_column_bytes(pStmt, 0),
        iNow - mpPaceWiden(1000), &pPace->aGlobal, &pPace->nGlobal);
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/*
** Returns how many more messages the global limit allows at iNow
** (a large number when it is off). When none, sets *piWaitUntil to when
** the next one will be allowed.
*/
int mpPaceBudget(const MpPace *pPace, i64 iNow, i64 *piWaitUntil) {
  int nIn = 0;
  if (pPace->nGlobalPerSec == 0) return 1 << 30;
  for (int i = 0; i < pPace->nGlobal; i++) {
    if (pPace->aGlobal[i] > iNow - mpPaceWiden(1000)) nIn++;
  }
  if (nIn < pPace->nGlobalPerSec) return (int)(pPace->nGlobalPerSec - nIn);
  *piWaitUntil = pPace->aGlobal[pPace->nGlobal - (int)pPace->nGlobalPerSec] +
                 mpPaceWiden(1000) + 1;
  return 0;
}

/*
** Sets *piReadyAt to the earliest time iChat may receive a message: its
** next_at (the chat gap, or a 429 pause) and, for a group, the minute
** window. Returns an SQLite result code.
*/
int mpPaceChatReadyAt(MpState *p, const MpPace *pPace, i64 iChat, i64 iNow,
                      i64 *piReadyAt) {
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_PACE_GET,
             "SELECT next_at, recent FROM mp_chat WHERE chat_id = ?1");
  int rc = SQLITE_OK;
  *piReadyAt = 0;
  if (pPace->bNoChatRows) return SQLITE_OK;
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pStmt, 1, iChat);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *piReadyAt = sqlite3_column_int64(pStmt, 0);
    if (iChat < 0 && pPace->nGroupPerMin > 0) {
      i64 *a = 0;
      int n = 0;
      i64 iWindow = mpPaceWiden(60000);
      rc = mpPaceWindowRead(sqlite3_column_blob(pStmt, 1),
                            sqlite3_column_bytes(pStmt, 1), iNow - iWindow, &a,
                            &n);
      if (rc == SQLITE_OK && n >= pPace->nGroupPerMin) {
        i64 iAt = a[n - pPace->nGroupPerMin] + iWindow + 1;
        if (iAt > *piReadyAt) *piReadyAt = iAt;
      }
      sqlite3_free(a);
    }
  }
  if (rc == SQLITE_OK) {
    rc = mpStmtFinish(pStmt);
  } else {
    mpStmtFinish(pStmt);
  }
  return rc;
}

/*
** Writes iChat's pacing row: next_at at least iNextAt and, when aRecent is
** not NULL, its minute window. Returns an SQLite result code.
*/
static int mpPaceStore(MpState *p, i64 iChat, i64 iNextAt, const i64 *aRecent,
                       int nRecent) {
  sqlite3_stmt *pStmt = mpStmt(
      p, MP_STMT_PACE_PUT,
      "INSERT INTO mp_chat(chat_id, next_at, recent) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(chat_id) DO UPDATE SET "
      "next_at = max(next_at, excluded.next_at), "
      "recent = CASE WHEN ?4 THEN excluded.recent ELSE recent END");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_int64(pStmt, 1, iChat);
  sqlite3_bind_int64(pStmt, 2, iNextAt);
  if (aRecent) {
    sqlite3_bind_blob(pStmt, 3, aRecent, (int)sizeof(i64) * nRecent,
                      SQLITE_STATIC);
  }
  sqlite3_bind_int(pStmt, 4, aRecent != 0);
  sqlite3_step(pStmt);
  return mpStmtFinish(pStmt);
}

/*
** Records a send to iChat at iNow in every limit that is on. Returns an
** SQLite result code.
*/
int mpPaceRecord(MpState *p, MpPace *pPace, i64 iChat, i64 iNow) {
  int rc = SQLITE_OK;
  if (pPace->nGlobalPerSec > 0) {
    i64 *a = sqlite3_realloc64(pPace->aGlobal,
                               sizeof(i64) * (u64)(pPace->nGlobal + 1));
    if (a == 0) return SQLITE_NOMEM;
    a[pPace->nGlobal++] = iNow;
    pPace->aGlobal = a;
    pPace->bGlobalDirty = 1;
  }
  if (iChat < 0 && pPace->nGroupPerMin > 0) {
    sqlite3_stmt *pStmt =
        mpStmt(p, MP_STMT_PACE_GET,
               "SELECT next_at, recent FROM mp_chat WHERE chat_id = ?1");
    i64 *a = 0;
    int n = 0;
    if (pStmt == 0) return sqlite3_errcode(p->db);
    sqlite3_bind_int64(pStmt, 1, iChat);
    if (sqlite3_step(pStmt) == SQLITE_ROW) {
      rc = mpPaceWindowRead(sqlite3_column_blob(pStmt, 1),
                            sqlite3_column_bytes(pStmt, 1),
                            iNow - mpPaceWiden(60000), &a, &n);
    }
    mpStmtFinish(pStmt);
    if (rc == SQLITE_OK && a == 0) {
      a = sqlite3_malloc64(sizeof(i64));
      if (a == 0) rc = SQLITE_NOMEM;
    }
    if (rc == SQLITE_OK) {
      a[n++] = iNow;
      rc = mpPaceStore(p, iChat, iNow + mpPaceWiden(pPace->iChatGapMs), a, n);
    }
    sqlite3_free(a);
  } else if (pPace->iChatGapMs > 0) {
    rc = mpPaceStore(p, iChat, iNow + mpPaceWiden(pPace->iChatGapMs), 0, 0);
  }
  return rc;
}

/*
** Saves the global window when bSave and it changed, and frees pPace.
** Returns an SQLite result code.
*/
int mpPaceClose(MpState *p, MpPace *pPace, int bSave) {
  int rc = SQLITE_OK;
  if (bSave && pPace->bGlobalDirty) {
    sqlite3_stmt *pStmt = 0;
    rc = sqlite3_prepare_v2(p->db,
                            "INSERT INTO mp_meta(key, value) "
                            "VALUES ('pace_global_recent', ?1) "
                            "ON CONFLICT(key) DO UPDATE SET value = ?1",
                            -1, &pStmt, 0);
    if (rc == SQLITE_OK) {
      sqlite3_bind_blob(pStmt, 1, pPace->aGlobal,
                        (int)sizeof(i64) * pPace->nGlobal, SQLITE_STATIC);
      sqlite3_step(pStmt);
      rc = sqlite3_finalize(pStmt);
    }
  }
  sqlite3_free(pPace->aGlobal);
  memset(pPace, 0, sizeof(*pPace));
  return rc;
}

/*
** Moves iChat's next send to at least pace_chat_ms after iSentAt, when a
** sender reports when it really sent (mp_report() with a duration): the
** gap Telegram sees is between sends, not between claims, and a request
** that left late must not bring the next one closer. Returns an SQLite
** result code.
*/
int mpPaceAfterSend(MpState *p, i64 iChat, i64 iSentAt) {
  i64 iGap = 0;
  int rc = mpConfigInt(p, "pace_chat_ms", &iGap);
  if (rc != SQLITE_OK || iGap <= 0) return rc;
  return mpPaceStore(p, iChat, iSentAt + mpPaceWiden(iGap), 0, 0);
}

/*
** Pauses iChat until iUntilMs (a 429's retry_after). Returns an SQLite
** result code.
*/
int mpPacePause(MpState *p, i64 iChat, i64 iUntilMs) {
  return mpPaceStore(p, iChat, iUntilMs, 0, 0);
}
