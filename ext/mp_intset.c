/*
** SPDX-License-Identifier: MIT
**
** mp_intset.c: a set of non-zero 64-bit integers (chat ids), for scans
** that must treat each chat once (its first message in queue order is its
** head) and know which chats have a message in flight.
**
**   MpIntSet s = { 0, 0, 0 };
**   if (mpIntSetAdd(&s, iChat) == 1) { ... first time ... }
**   if (mpIntSetHas(&s, iChat)) { ... }
**   rc = mpIntSetLoad(&s, pStmt);   -- column 0 of every row
**   mpIntSetClear(&s);
**
** HOW IT WORKS
**
** Open addressing with linear probing in a power-of-two array that grows
** (doubles) before it is half full; 0 marks an empty slot, so 0 itself
** cannot be stored. Values are spread by a Fibonacci hash. No deletion.
*/
#include "mp_int.h"

#include <string.h>

/*
** Returns the slot of iValue in aSlot (nSlot > 0, a power of two), or the
** empty slot where it would go.
*/
static int mpIntSetFind(const i64 *aSlot, int nSlot, i64 iValue) {
  unsigned h = (unsigned)(((u64)iValue * 0x9E3779B97F4A7C15ull) >> 32);
  int i = (int)(h & (unsigned)(nSlot - 1));
  while (aSlot[i] != 0 && aSlot[i] != iValue) {
    i = (i + 1) & (nSlot - 1);
  }
  return i;
}

/*
** Moves the set into an array of twice the slots (64 at first). Returns
** SQLITE_OK or SQLITE_NOMEM (the set is then unchanged).
*/
static int mpIntSetGrow(MpIntSet *pSet) {
  int nNew = pSet->nSlot ? pSet->nSlot * 2 : 64;
  i64 *aNew = sqlite3_malloc64(sizeof(i64) * (u64)nNew);
  if (aNew == 0) return SQLITE_NOMEM;
  memset(aNew, 0, sizeof(i64) * (u64)nNew);
  for (int i = 0; i < pSet->nSlot; i++) {
    i64 v = pSet->aSlot[i];
    if (v != 0) aNew[mpIntSetFind(aNew, nNew, v)] = v;
  }
  sqlite3_free(pSet->aSlot);
  pSet->aSlot = aNew;
  pSet->nSlot = nNew;
  return SQLITE_OK;
}

/*
** Adds iValue (not 0) to the set. Returns 1 if it was added, 0 if it was
** there already, or -1 on OOM.
*/
int mpIntSetAdd(MpIntSet *pSet, i64 iValue) {
  int i;
  if ((pSet->nUsed + 1) * 2 > pSet->nSlot && mpIntSetGrow(pSet) != SQLITE_OK) {
    return -1;
  }
  i = mpIntSetFind(pSet->aSlot, pSet->nSlot, iValue);
  if (pSet->aSlot[i] == iValue) return 0;
  pSet->aSlot[i] = iValue;
  pSet->nUsed++;
  return 1;
}

/*
** Returns 1 if iValue (not 0) is in the set, else 0.
*/
int mpIntSetHas(const MpIntSet *pSet, i64 iValue) {
  if (pSet->nSlot == 0) return 0;
  return pSet->aSlot[mpIntSetFind(pSet->aSlot, pSet->nSlot, iValue)] == iValue;
}

/*
** Adds column 0 of every row of pStmt (a cached statement, bound and
** ready; 0 and NULL are skipped) to the set, and finishes pStmt. Returns
** an SQLite result code (SQLITE_NOMEM when the set cannot grow).
*/
int mpIntSetLoad(MpIntSet *pSet, sqlite3_stmt *pStmt) {
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    i64 v = sqlite3_column_int64(pStmt, 0);
    if (v != 0 && mpIntSetAdd(pSet, v) < 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) return mpStmtFinish(pStmt);
  mpStmtFinish(pStmt);
  return rc;
}

/*
** Frees the set's memory and leaves it empty, ready for reuse.
*/
void mpIntSetClear(MpIntSet *pSet) {
  sqlite3_free(pSet->aSlot);
  memset(pSet, 0, sizeof(*pSet));
}
