/*
** SPDX-License-Identifier: MIT
**
** fuzz_common.c: the database, statement cache, queries, queue checks and
** oracles that the SQL-driven harnesses share; fuzz_common.h has the
** contracts.
*/
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db = 0; /* The :memory: database, opened once */

static const char *zHarnessName = "fuzz"; /* Prefix of every message */
static FuzzPrintInput xPrintInput = 0;    /* Prints the input, or NULL */
static const void *pCurrentInput = 0;     /* What xPrintInput prints */

/* Prepared statements, cached by the address of their SQL text (each
** call site passes a string literal). */
static struct {
  const char *zSql;    /* The SQL text, or NULL for a free slot */
  sqlite3_stmt *pStmt; /* Its statement */
} aCache[64];

/*
** Names the harness (zHarness, a string literal) in every message and
** says how to print the input being run: xPrint(pInput), or nothing when
** xPrint is NULL. Call it at the start of each input, before anything
** here may fail.
*/
void fuzzBegin(const char *zHarness, FuzzPrintInput xPrint,
               const void *pInput) {
  zHarnessName = zHarness;
  xPrintInput = xPrint;
  pCurrentInput = pInput;
}

/*
** Prints "<harness>: zWhy", then zMore (NULL: nothing) and the input, to
** stderr, and aborts.
*/
_Noreturn void fuzzFail(const char *zWhy, const char *zMore) {
  fprintf(stderr, "%s: %s\n", zHarnessName, zWhy);
  if (zMore) fprintf(stderr, "  %s\n", zMore);
  if (xPrintInput) xPrintInput(pCurrentInput);
  abort();
}

/*
** Returns a malloc'd copy of z[0..n) with a NUL after it. Aborts on OOM.
*/
char *fuzzDup(const char *z, int n) {
  char *zOut = malloc((size_t)n + 1);
  if (zOut == 0) abort();
  if (n) memcpy(zOut, z, (size_t)n);
  zOut[n] = 0;
  return zOut;
}

/*
** Returns a malloc'd copy of the C string z ("" for NULL). Aborts on OOM.
*/
char *fuzzDupStr(const char *z) {
  return fuzzDup(z ? z : "", z ? (int)strlen(z) : 0);
}

/*
** Returns column iCol of the current row of pStmt as malloc'd text, all
** its bytes ("" for NULL). Aborts on OOM.
*/
char *fuzzColumnDup(sqlite3_stmt *pStmt, int iCol) {
  const char *z = (const char *)sqlite3_column_text(pStmt, iCol);
  return fuzzDup(z ? z : "", z ? sqlite3_column_bytes(pStmt, iCol) : 0);
}

/*
** Opens the :memory: database and registers mp in it, on first use.
** Returns 1 when this call opened it, 0 when it was open already. Aborts
** when it cannot.
*/
int fuzzOpen(void) {
  char *zErr = 0;
  if (db) return 0;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
      sqlite3_mp_init(db, &zErr, 0) != SQLITE_OK) {
    fprintf(stderr, "%s: cannot set up SQLite: %s\n", zHarnessName,
            zErr ? zErr : sqlite3_errmsg(db));
    abort();
  }
  return 1;
}

/*
** Creates mp's schema with mp_init(zConfigJson) and fixes the clock at
** MP_FUZZ_NOW. Aborts when either fails.
*/
void fuzzInitQueue(const char *zConfigJson) {
  sqlite3_stmt *pInit = fuzzPrepare("SELECT mp_init(?1), mp_clock_set(?2)");
  sqlite3_bind_text(pInit, 1, zConfigJson, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pInit, 2, MP_FUZZ_NOW);
  if (sqlite3_step(pInit) != SQLITE_ROW) {
    fuzzFail("mp_init or mp_clock_set failed", sqlite3_errmsg(db));
  }
  if (sqlite3_column_int64(pInit, 1) != MP_FUZZ_NOW) {
    fuzzFail("mp_clock_set did not fix the clock", 0);
  }
  fuzzDone(pInit);
}

/*
** Returns the message of the database's last error.
*/
const char *fuzzErrmsg(void) {
  return sqlite3_errmsg(db);
}

/*
** Returns the statement for zSql, a string literal (or other text that
** lives as long as the program): prepared on first use, afterwards the
** cached one (the cache is keyed by the text's address). Hand it back with fuzzDone(). Aborts when it cannot be
** prepared.
*/
sqlite3_stmt *fuzzPrepare(const char *zSql) {
  int i;
  for (i = 0; i < (int)(sizeof(aCache) / sizeof(aCache[0])); i++) {
    if (aCache[i].zSql == zSql) return aCache[i].pStmt;
    if (aCache[i].zSql == 0) break;
  }
  if (i == (int)(sizeof(aCache) / sizeof(aCache[0])) ||
      sqlite3_prepare_v3(db, zSql, -1, SQLITE_PREPARE_PERSISTENT,
                         &aCache[i].pStmt, 0) != SQLITE_OK) {
    fprintf(stderr, "%s: cannot prepare %s: %s\n", zHarnessName, zSql,
            sqlite3_errmsg(db));
    abort();
  }
  aCache[i].zSql = zSql;
  return aCache[i].pStmt;
}

/*
** Resets a statement from fuzzPrepare() and clears its bindings.
*/
void fuzzDone(sqlite3_stmt *pStmt) {
  sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
}

/*
** Runs zSql, one or more statements that must succeed; aborts otherwise.
*/
void fuzzExec(const char *zSql) {
  char *zErr = 0;
  if (sqlite3_exec(db, zSql, 0, 0, &zErr) != SQLITE_OK) {
    fuzzFail("statement failed", zErr ? zErr : zSql);
  }
}

/*
** Prepares zSql with fuzzPrepare(), binds the text parameters z1 and z2
** (NULL: left unbound) and steps it to its first row. Returns the
** statement, to be handed back with fuzzDone(); aborts when there is no
** row.
*/
static sqlite3_stmt *fuzzQueryRow(const char *zSql, const char *z1,
                                  const char *z2) {
  sqlite3_stmt *pStmt = fuzzPrepare(zSql);
  if (z1) sqlite3_bind_text(pStmt, 1, z1, -1, SQLITE_TRANSIENT);
  if (z2) sqlite3_bind_text(pStmt, 2, z2, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(pStmt) != SQLITE_ROW) {
    fuzzFail("query failed", sqlite3_errmsg(db));
  }
  return pStmt;
}

/*
** Runs a one-value query with up to two text parameters (NULL: left
** unbound) and returns its integer result (0 for NULL). Aborts when it
** returns no row.
*/
i64 fuzzInt(const char *zSql, const char *z1, const char *z2) {
  sqlite3_stmt *pStmt = fuzzQueryRow(zSql, z1, z2);
  i64 v = sqlite3_column_int64(pStmt, 0);
  fuzzDone(pStmt);
  return v;
}

/*
** Runs a one-value query with an optional text parameter (NULL: left
** unbound) and returns its result as malloc'd text ("" for NULL). Aborts
** when it returns no row.
*/
char *fuzzText(const char *zSql, const char *z1) {
  sqlite3_stmt *pStmt = fuzzQueryRow(zSql, z1, 0);
  char *zOut = fuzzColumnDup(pStmt, 0);
  fuzzDone(pStmt);
  return zOut;
}

/*
** Returns the query of fuzzSnapshot(), written once from the schema: for
** each table of the main database, in name order, a JSON array of its
** rows, each an array of the typeof() and hex() of every column, all
** concatenated. Aborts when it cannot be written.
*/
static const char *fuzzSnapshotSql(void) {
  static char *zSql = 0;
  sqlite3_str *pStr;
  sqlite3_stmt *pCol;
  char *zTable = 0; /* The table whose columns are being written */
  if (zSql) return zSql;
  pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, "SELECT ''");
  pCol = fuzzPrepare("SELECT t.name, c.name FROM sqlite_schema AS t, "
                     "pragma_table_info(t.name) AS c WHERE t.type = 'table' "
                     "AND t.name NOT LIKE 'sqlite%' ORDER BY t.name, c.cid");
  while (sqlite3_step(pCol) == SQLITE_ROW) {
    const char *zName = (const char *)sqlite3_column_text(pCol, 0);
    const char *zColumn = (const char *)sqlite3_column_text(pCol, 1);
    if (zTable && strcmp(zTable, zName) == 0) {
      sqlite3_str_appendall(pStr, ", ");
    } else {
      if (zTable) sqlite3_str_appendf(pStr, ")) FROM \"%w\")", zTable);
      sqlite3_free(zTable);
      zTable = sqlite3_mprintf("%s", zName);
      if (zTable == 0) abort();
      sqlite3_str_appendall(pStr, " || (SELECT json_group_array(json_array(");
    }
    sqlite3_str_appendf(pStr, "typeof(\"%w\") || hex(\"%w\")", zColumn,
                        zColumn);
  }
  fuzzDone(pCol);
  if (zTable) sqlite3_str_appendf(pStr, ")) FROM \"%w\")", zTable);
  sqlite3_free(zTable);
  zSql = sqlite3_str_finish(pStr);
  if (zSql == 0) abort();
  return zSql;
}

/*
** Returns the whole state a call of mp may change, as one text: every
** column of every message (texts and blobs in hex), the attempt log, the
** counters, the pacing rows and the settings. Two snapshots are equal
** exactly when nothing changed. The caller frees it.
*/
char *fuzzSnapshot(void) {
  return fuzzText(fuzzSnapshotSql(), 0);
}

/*
** Checks what must hold after every input of a queue harness:
** mp_verify() is 0, mp_stats agrees with the messages table for every
** status and the total, and PRAGMA integrity_check is ok. Aborts
** otherwise.
*/
void fuzzCheckQueue(void) {
  char *zCheck;
  if (fuzzInt("SELECT mp_verify()", 0, 0) != 0) {
    fuzzFail("mp_verify() is not 0", 0);
  }
  if (fuzzInt("SELECT count(*) = 5 FROM mp_stats AS s WHERE "
              "s.name IN ('pending', 'sent', 'confirmed', 'failed', "
              "'total') AND s.value IS (SELECT count(*) FROM messages "
              "WHERE s.name = 'total' OR status = s.name)",
              0, 0) != 1) {
    fuzzFail("mp_stats disagrees with the messages table", 0);
  }
  zCheck = fuzzText("PRAGMA integrity_check", 0);
  if (strcmp(zCheck, "ok") != 0) fuzzFail("integrity_check", zCheck);
  free(zCheck);
}

/*
** Returns 1 if z[0..n) is UTF-8 without NUL, overlong forms, surrogates
** or code points above U+10FFFF, else 0. An independent decoder: it
** shares nothing with mp's own checks.
*/
int fuzzUtf8(const unsigned char *z, int n) {
  int i = 0;
  while (i < n) {
    unsigned c = z[i], v;
    int nTrail;
    if (c == 0) return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      nTrail = 1;
      v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      nTrail = 2;
      v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      nTrail = 3;
      v = c & 0x07;
    } else {
      return 0;
    }
    if (n - i - 1 < nTrail) return 0;
    for (int k = 1; k <= nTrail; k++) {
      if ((z[i + k] & 0xC0) != 0x80) return 0;
      v = (v << 6) | (z[i + k] & 0x3F);
    }
    if ((nTrail == 1 && v < 0x80) || (nTrail == 2 && v < 0x800) ||
        (nTrail == 3 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF)) {
      return 0;
    }
    i += nTrail + 1;
  }
  return 1;
}

/*
** Returns 1 if z[0..n) is UTF-8 as fuzzUtf8() reads it, apart from NUL
** bytes, which it allows, else 0.
*/
int fuzzUtf8WithNul(const unsigned char *z, int n) {
  int i = 0;
  while (i < n) {
    const unsigned char *zNul = memchr(z + i, 0, (size_t)(n - i));
    int j = zNul ? (int)(zNul - z) : n;
    if (!fuzzUtf8(z + i, j - i)) return 0;
    i = j + 1;
  }
  return 1;
}

/*
** Returns the deepest nesting of arrays and objects in the JSON text
** z[0..n), strings skipped.
*/
int fuzzJsonDepth(const char *z, int n) {
  int nDepth = 0, nMax = 0, bStr = 0;
  for (int i = 0; i < n; i++) {
    if (bStr) {
      if (z[i] == '\\') {
        i++;
      } else if (z[i] == '"') {
        bStr = 0;
      }
    } else if (z[i] == '"') {
      bStr = 1;
    } else if (z[i] == '[' || z[i] == '{') {
      if (++nDepth > nMax) nMax = nDepth;
    } else if (z[i] == ']' || z[i] == '}') {
      nDepth--;
    }
  }
  return nMax;
}
