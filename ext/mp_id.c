/*
** SPDX-License-Identifier: MIT
**
** mp_id.c: message ids and lease tokens.
**
** An id is a UUID version 7 whose 62 "random" bits carry the row's seq
** (its rowid):
**
**   tttttttt-tttt-7rrr-vsss-ssssssssssss
**   t: 48-bit Unix time in ms     r: 12 random bits
**   v: variant 10 plus 2 bits of seq    s: the rest of the 62-bit seq
**
** So ids sort by time, inserts append to the table's b-tree, and finding a
** row by id is a rowid lookup: no index on id is needed, which keeps each
** enqueue to two b-trees (table and queue index). The row's id column is
** still compared, so a stale id never reaches a reused seq.
**
** A lease token is "<id>:<16 hex digits>", returned by mp_claim() and
** mp_mark_sent(). Every function that takes an id also takes a token; with
** a token, the call is refused unless that claim still holds the message.
**
** Rows inserted with plain SQL may carry any id. They have no checksum
** (mp writes one with every row it stores), so they are in the partial
** index messages_foreign_id (sql/005_foreign_id_unchecked.sql), which mp's
** own rows never enter; an id that mp cannot read is looked up there.
*/
#include "mp_int.h"

#include <string.h>

/*
** Writes the low 4*n bits of v as n lower-case hex digits to z (no NUL).
*/
static void mpHexN(u64 v, int n, char *z) {
  static const char aDigit[] = "0123456789abcdef";
  for (int i = n - 1; i >= 0; i--) {
    z[i] = aDigit[v & 0xF];
    v >>= 4;
  }
}

/*
** Writes v as 16 lower-case hex digits and a NUL into z (17 bytes): a
** lease token's random part.
*/
void mpHex16(u64 v, char *z) {
  mpHexN(v, 16, z);
  z[16] = 0;
}

/*
** Writes the first 18 characters of a new id ("tttttttt-tttt-7rrr") and a
** NUL into zOut (at least 19 bytes). SQL appends the seq part.
*/
void mpIdPrefix(MpState *p, i64 iMs, char *zOut) {
  u64 t = (u64)iMs & 0xFFFFFFFFFFFFull;
  mpHexN(t >> 16, 8, zOut);
  zOut[8] = '-';
  mpHexN(t, 4, zOut + 9);
  zOut[13] = '-';
  zOut[14] = '7';
  mpHexN(mpRandom(p), 3, zOut + 15);
  zOut[18] = 0;
}

/*
** Writes the id of row iSeq, given the 18-character prefix from
** mpIdPrefix(), into zOut (MP_ID_BUFFER bytes). The same text as the
** INSERT of mp_enqueue.c builds in SQL with printf('-%04x-%012x', ...);
** every enqueue test compares the two.
*/
void mpIdFormat(const char *zPrefix, i64 iSeq, char *zOut) {
  memcpy(zOut, zPrefix, 18);
  zOut[18] = '-';
  mpHexN(0x8000 | (((u64)iSeq >> 48) & 0x3FFF), 4, zOut + 19);
  zOut[23] = '-';
  mpHexN((u64)iSeq, 12, zOut + 24);
  zOut[36] = 0;
}

/*
** Returns the value of n hex digits at z, or -1 if one is not a lower-case
** hex digit.
*/
static i64 mpHex(const char *z, int n) {
  i64 v = 0;
  for (int i = 0; i < n; i++) {
    char c = z[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return -1;
    }
    v = (v << 4) | d;
  }
  return v;
}

/*
** Decodes an mp id, optionally followed by ":token". Returns 1 with *piSeq
** set and *pzToken pointing at the token (or NULL), or 0 if z is not in
** mp's form (an id written by plain SQL, say).
*/
int mpIdDecode(const char *z, int n, i64 *piSeq, const char **pzToken) {
  static const int aDash[] = { 8, 13, 18, 23 };
  i64 hi, lo;
  *pzToken = 0;
  if (n != 36 && !(n == 53 && z[36] == ':')) return 0;
  for (int i = 0; i < 4; i++) {
    if (z[aDash[i]] != '-') return 0;
  }
  if (z[14] != '7' || mpHex(z, 8) < 0 || mpHex(z + 9, 4) < 0 ||
      mpHex(z + 14, 4) < 0) {
    return 0;
  }
  hi = mpHex(z + 19, 4);
  lo = mpHex(z + 24, 12);
  if (hi < 0x8000 || hi > 0xBFFF || lo < 0) return 0;
  if (n == 53) {
    if (mpHex(z + 37, 8) < 0 || mpHex(z + 45, 8) < 0) return 0;
    *pzToken = z + 37;
  }
  *piSeq = ((hi & 0x3FFF) << 48) | lo;
  return 1;
}

/*
** Copies the current row of a row statement into pRow.
*/
static void mpRowRead(sqlite3_stmt *pStmt, MpRow *pRow) {
  pRow->iSeq = sqlite3_column_int64(pStmt, 0);
  pRow->iChat = sqlite3_column_int64(pStmt, 1);
  pRow->iPriority = sqlite3_column_int(pStmt, 2);
  pRow->nRetry = sqlite3_column_int(pStmt, 3);
  sqlite3_snprintf(sizeof(pRow->zStatus), pRow->zStatus, "%s",
                   (const char *)sqlite3_column_text(pStmt, 4));
  sqlite3_snprintf(sizeof(pRow->zToken), pRow->zToken, "%s",
                   (const char *)sqlite3_column_text(pStmt, 5));
  sqlite3_snprintf(sizeof(pRow->zId), pRow->zId, "%s",
                   (const char *)sqlite3_column_text(pStmt, 6));
}

#define MP_ROW_COLUMNS                                  \
 "SELECT seq, chat_id, priority, retry_count, status, " \
 "ifnull(lease_token, ''), id FROM messages "

/*
** Looks up the row whose id is zId[0..nId), an id that mp did not make,
** through messages_foreign_id: the rows without a checksum, which are the
** rows written with plain SQL. Sets *pbFound, and pRow when found. Returns
** an SQLite result code, the message on the connection.
*/
static int mpFindForeign(MpState *p, const char *zId, int nId, MpRow *pRow,
                         int *pbFound) {
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_ROW_BY_ID,
             MP_ROW_COLUMNS "WHERE id = ?1 AND checksum IS NULL");
  *pbFound = 0;
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_text(pStmt, 1, zId, nId, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    mpRowRead(pStmt, pRow);
    *pbFound = 1;
  }
  return mpStmtFinish(pStmt);
}

/*
** Finds the message named by zId[0..nId) (an id or a lease token) for
** zFunc. Returns SQLITE_OK with pRow filled (pRow->zGiven holds the token,
** if one was passed), SQLITE_NOTFOUND with *pzErr = "zFunc: no message
** with id '...'", or another error code with *pzErr naming the problem
** (NULL on OOM). The caller frees *pzErr.
*/
int mpFindRowText(MpState *p, const char *zFunc, const char *zId, int nId,
                  MpRow *pRow, char **pzErr) {
  const char *zToken = 0;
  i64 iSeq;
  int rc;
  int bFound = 0;
  int nShown = nId; /* bytes of zId named in "no message" */
  memset(pRow, 0, sizeof(*pRow));
  *pzErr = 0;
  if (mpIdDecode(zId, nId, &iSeq, &zToken)) {
    sqlite3_stmt *pStmt =
        mpStmt(p, MP_STMT_ROW_BY_SEQ, MP_ROW_COLUMNS "WHERE seq = ?1");
    if (pStmt == 0) goto find_error;
    sqlite3_bind_int64(pStmt, 1, iSeq);
    if (sqlite3_step(pStmt) == SQLITE_ROW &&
        sqlite3_column_bytes(pStmt, 6) == 36 &&
        memcmp(sqlite3_column_text(pStmt, 6), zId, 36) == 0) {
      mpRowRead(pStmt, pRow);
      bFound = 1;
    }
    rc = mpStmtFinish(pStmt);
    if (zToken) nShown = 36;
  } else {
    /* An id that mp did not make (a row inserted with plain SQL), or the
    ** lease token "<id>:<16 hex digits>" that mp_claim() made of one. */
    rc = mpFindForeign(p, zId, nId, pRow, &bFound);
    if (rc == SQLITE_OK && !bFound && nId > 17 && zId[nId - 17] == ':' &&
        mpHex(zId + nId - 16, 8) >= 0 && mpHex(zId + nId - 8, 8) >= 0) {
      rc = mpFindForeign(p, zId, nId - 17, pRow, &bFound);
      if (bFound) zToken = zId + nId - 16;
    }
  }
  if (rc != SQLITE_OK) goto find_error;
  if (!bFound) {
    *pzErr =
        sqlite3_mprintf("%s: no message with id '%.*s'", zFunc, nShown, zId);
    return SQLITE_NOTFOUND;
  }
  if (zToken) memcpy(pRow->zGiven, zToken, 16);
  return SQLITE_OK;

find_error:
  rc = sqlite3_errcode(p->db);
  *pzErr = mpErrTake(p, zFunc);
  return rc == SQLITE_OK ? SQLITE_ERROR : rc;
}

/*
** mpFindRowText() for an SQL argument: checks that pId is text, and sets
** the error on ctx. Returns SQLITE_OK or an error code.
*/
int mpFindRow(sqlite3_context *ctx, MpState *p, const char *zFunc,
              sqlite3_value *pId, MpRow *pRow) {
  const char *zId;
  char *zErr = 0;
  int nId, rc;
  memset(pRow, 0, sizeof(*pRow));
  if (mpArgText(ctx, pId, zFunc, "id", MP_ID_ARG_MAX, 0, &zId, &nId)) {
    return SQLITE_MISMATCH;
  }
  rc = mpFindRowText(p, zFunc, zId, nId, pRow, &zErr);
  if (rc != SQLITE_OK) mpResultMsg(ctx, rc, zErr);
  return rc;
}
