/*
** SPDX-License-Identifier: MIT
**
** fuzz_enqueue.c: a libFuzzer harness for mp_enqueue() in mp_enqueue.c:
** its chat id, text, event JSON and options JSON.
**
** One :memory: database with mp registered (the extension is compiled in
** with -DSQLITE_CORE), mp_init() and a fixed clock. Each input becomes one
** call
**
**   SELECT mp_enqueue(?chat_id, ?text [, ?event_json [, ?options_json]])
**
** and, as the input says, the same call a second time. The harness aborts,
** printing the arguments, when one of these properties fails:
**
**   - the call returns an id or fails with an error naming mp_enqueue,
**     never NULL, and it fails exactly when an independent reading of the
**     arguments says it must: chat_id not a non-zero integer; text not
**     non-empty UTF-8 without NUL, or showing nothing but white space
**     once HTML tags or Markdown markup characters are set aside (see
**     fuzzBlank()); event not a JSON object; options not a JSON object
**     whose members are priority ("low" ... "critical" or 0-3), delay_ms
**     (0-31536000000), dedup_key (1-256 bytes) and parse_mode (HTML,
**     MarkdownV2 or Markdown in any case, or null).
**     SQLite's JSON functions are the oracle; where SQLite 3.40 reads
**     differently from RFC 8259 (backslash escapes, nesting of 400 and
**     more, whole numbers written as 1.0 or 1e0) either answer is taken,
**     and a long marked-up text may be refused when its markup is;
**   - after an error nothing in the database changed;
**   - after success the rows are exactly what was asked: one row (or, for
**     a text longer than Telegram's limit, consecutive rows whose texts
**     joined give back a plain text) in the chat, pending, with the
**     priority (0-3), the canonical parse_mode name, the event as given,
**     the dedup_key on the first row only, due at now + delay_ms and
**     ordered at 0 (due at once) or at that time, no lease, no retries,
**     and a checksum: mp_verify() is 0;
**   - a second identical call with a dedup_key returns the same id and
**     stores nothing; without one it stores new rows with a new id;
**   - mp_stats agrees with the table, and PRAGMA integrity_check is ok.
**
** Input layout:
**
**   byte 0  bits 0-1 arguments (2, 3, 4, 4), bits 2-3 chat_id (12345, 8
**           bytes of the input, an entry of aChat[], 12345.0), bit 4
**           options built from pieces, bit 5 event NULL, bit 6 options
**           NULL, bit 7 call twice
**   byte 1  bits 0-2 how often the text repeats (aRepeat[]; 3: once,
**           with a NUL put in its middle), bits 3-5 the aChat[] entry,
**           bits 6-7: 0 as above, 1 the text as a BLOB, 2 through
**           mp_enqueue_batch() with one element (which must behave
**           exactly as mp_enqueue(); a text with NUL goes there only with
**           MP_FUZZ_STRICT, see FUZZING.md), 3 the last JSON argument as
**           a BLOB
**   rest    NUL-separated pieces: text, event, options; or, with bit 4,
**           text, event, then option keys and values (a one-byte key
**           picks a known name, a one-byte value a known value; other
**           values go in as they are when they are valid JSON, else as
**           strings)
**
** Build and run (from the repository root, after the CMake build made
** build/generated):
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -DSQLITE_CORE \
**       -Iext -Ibuild/generated ext/mp*.c tests/fuzz/fuzz_enqueue.c \
**       tests/fuzz/fuzz_common.c -lsqlite3 -lcrypto -o fuzz_enqueue
**   cp -r tests/fuzz/corpus/enqueue /tmp/corpus  # libFuzzer adds to it
**   ./fuzz_enqueue -max_total_time=60 -dict=tests/fuzz/enqueue.dict /tmp/corpus
**
** Without libFuzzer, link tests/fuzz/fuzz_standalone.c instead of
** -fsanitize=fuzzer (cmake/fuzz.cmake does, as fuzz/enqueue_replay).
*/
#include "fuzz_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MP_FUZZ_DELAY_MX 31536000000LL /* largest delay_ms */
#define MP_FUZZ_MAX_IN   65536         /* longer inputs are skipped */

/* Predictions. */
#define PR_OK     0 /* must succeed */
#define PR_ERROR  1 /* must fail */
#define PR_EITHER 2 /* the oracle cannot tell */

/* Chat ids of byte 1, bits 3-5: eType 1 integer, 2 real, 3 text, 0 NULL. */
static const struct {
  int eType;
  i64 iValue;
  double rValue;
} aChat[] = {
  { 1, 0, 0 },
  { 1, -1001234567890LL, 0 },
  { 1, (i64)(-0x7FFFFFFFFFFFFFFFLL - 1), 0 },
  { 1, 0x7FFFFFFFFFFFFFFFLL, 0 },
  { 0, 0, 0 },
  { 3, 0, 0 },
  { 2, 0, 1.5 },
  { 2, 0, -9007199254740991.0 },
};

/* How often the text repeats, byte 1 bits 0-2. */
static const int aRepeat[] = { 1, 1, 1, 1, 3, 50, 400, 2000 };

/* Option names and values that one-byte pieces pick. */
static const char *const azKey[] = { "priority", "delay_ms", "dedup_key",
                                     "parse_mode", "Priority" };
static const char *const azValue[] = {
  "\"high\"", "3",    "0",  "\"HTML\"",     "\"markdownv2\"",
  "null",     "1.0",  "-1", "31536000000",  "31536000001",
  "\"k1\"",   "\"\"", "4",  "\"Critical\"", "2e0",
  "true",
};

/* One call, decoded from the input. */
typedef struct FuzzCall FuzzCall;
struct FuzzCall {
  int nArg;     /* 2, 3 or 4 */
  int eChat;    /* 0 NULL, 1 integer, 2 real, 3 text */
  i64 iChat;    /* The integer chat id */
  double rChat; /* The real one */
  char *zText;  /* Text (malloc), nText bytes */
  int nText;
  int bTextBlob; /* Pass the text as a BLOB */
  int bBatch;    /* Call mp_enqueue_batch() with one element instead */
  char *zBatch;  /* Its argument (sqlite3_malloc), once built */
  char *zEvent;  /* Event JSON (malloc), or NULL for SQL NULL */
  int nEvent;
  char *zOpt; /* Options JSON (malloc), or NULL for SQL NULL */
  int nOpt;
  int bJsonBlob; /* Pass the last JSON argument as a BLOB */
  int bTwice;    /* Call a second time */
};

/* What the oracle expects of a successful call. */
typedef struct FuzzWant FuzzWant;
struct FuzzWant {
  int ePredict;      /* PR_* */
  int iPriority;     /* Expected priority, or -1 when unsure */
  i64 iDelay;        /* Expected delay_ms, or -1 when unsure */
  char *zDedup;      /* Expected dedup_key (malloc), or NULL */
  const char *zMode; /* Expected parse_mode, or NULL */
  int bModeUnsure;   /* zMode may be wrong (an unsure member) */
};

/*
** Prints the call being run (a FuzzCall) to stderr, for fuzzFail().
*/
static void fuzzPrintCall(const void *pInput) {
  const FuzzCall *p = pInput;
  fprintf(stderr, "  %d arguments, chat type %d (%lld / %g)\n", p->nArg,
          p->eChat, p->iChat, p->rChat);
  fprintf(stderr, "  text (%d bytes%s): %.*s\n", p->nText,
          p->bTextBlob ? ", blob" : "", p->nText > 300 ? 300 : p->nText,
          p->zText);
  if (p->zEvent) {
    fprintf(stderr, "  event (%d bytes): %.*s\n", p->nEvent, p->nEvent,
            p->zEvent);
  }
  if (p->zOpt) {
    fprintf(stderr, "  options (%d bytes): %.*s\n", p->nOpt, p->nOpt, p->zOpt);
  }
}

/*
** Says whether z[0..n) is a JSON object by SQLite's reading: PR_OK (it
** is), PR_ERROR (it is not) or PR_EITHER (SQLite 3.40 cannot tell for
** mp: escapes, deep nesting).
*/
static int fuzzIsObject(const char *z, int n) {
  sqlite3_stmt *pStmt;
  int bObject = 0;
  if (n == 0 || !fuzzUtf8((const unsigned char *)z, n)) return PR_ERROR;
  pStmt = fuzzPrepare("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = "
                      "'object' ELSE 0 END");
  sqlite3_bind_text(pStmt, 1, z, n, SQLITE_STATIC);
  if (sqlite3_step(pStmt) != SQLITE_ROW) {
    fuzzFail("oracle query failed", fuzzErrmsg());
  }
  bObject = sqlite3_column_int(pStmt, 0);
  fuzzDone(pStmt);
  if (memchr(z, '\\', (size_t)n) || fuzzJsonDepth(z, n) >= 400)
    return PR_EITHER;
  return bObject ? PR_OK : PR_ERROR;
}

/*
** Reads a whole number from an option value of json_each: its type in
** column 1, its atom in column 2. Returns PR_OK with *piOut set, PR_EITHER
** with *piOut set to the nearest integer (a REAL that looks whole: mp
** reads 1.0 and 1e0 as 1, but the double may have lost a fraction), or
** PR_ERROR.
*/
static int fuzzOptInt(sqlite3_stmt *pStmt, i64 *piOut) {
  const char *zType = (const char *)sqlite3_column_text(pStmt, 1);
  double r;
  if (strcmp(zType, "integer") == 0) {
    if (sqlite3_column_type(pStmt, 2) != SQLITE_INTEGER) return PR_ERROR;
    *piOut = sqlite3_column_int64(pStmt, 2);
    return PR_OK;
  }
  if (strcmp(zType, "real") != 0) return PR_ERROR;
  r = sqlite3_column_double(pStmt, 2);
  if (!(fabs(r) < 9.2e18)) return PR_ERROR;
  if (fabs(r - nearbyint(r)) > 1e-6 * (fabs(r) + 1)) return PR_ERROR;
  *piOut = (i64)nearbyint(r);
  return PR_EITHER;
}

/*
** Maps a parse_mode name to the canonical one, ignoring ASCII case, or
** NULL.
*/
static const char *fuzzMode(const char *z, int n) {
  static const char *const azMode[] = { "HTML", "MarkdownV2", "Markdown" };
  for (int i = 0; i < 3; i++) {
    int k = 0;
    if ((int)strlen(azMode[i]) != n) continue;
    while (k < n) {
      char a = z[k], b = azMode[i][k];
      if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
      if (a != b) break;
      k++;
    }
    if (k == n) return azMode[i];
  }
  return 0;
}

/*
** Returns 1 if z[0..n) shows nothing in Telegram under parse mode zMode
** (NULL: plain text): only spaces, tabs, CR and LF once HTML tags or the
** markup characters (MarkdownV2: *_~`|[]()>, legacy Markdown: *_`[) are
** set aside. mp refuses such texts.
*/
static int fuzzBlank(const char *z, int n, const char *zMode) {
  int bHtml = zMode && strcmp(zMode, "HTML") == 0;
  const char *zMarkup = zMode == 0 || bHtml              ? ""
                        : strcmp(zMode, "Markdown") == 0 ? "*_`["
                                                         : "*_~`|[]()>";
  for (int i = 0; i < n; i++) {
    if (bHtml && z[i] == '<') {
      while (i < n && z[i] != '>')
        i++;
    } else if (z[i] != ' ' && z[i] != '\t' && z[i] != '\n' && z[i] != '\r' &&
               !(z[i] && strchr(zMarkup, z[i]))) {
      return 0;
    }
  }
  return 1;
}

/*
** The oracle: predicts the outcome of the call and, for a success, the
** row. Fills *pW.
*/
static void fuzzPredict(const FuzzCall *p, FuzzWant *pW) {
  static const char *const azPrio[] = { "low", "normal", "high", "critical" };
  int eJson;
  memset(pW, 0, sizeof(*pW));
  pW->iPriority = MP_PRIORITY_NORMAL;
  pW->ePredict = PR_OK;

  /* chat_id: a non-zero integer, or a REAL holding one. */
  if (p->eChat == 0 || p->eChat == 3 || (p->eChat == 1 && p->iChat == 0) ||
      (p->eChat == 2 && (p->rChat == 0 || p->rChat != floor(p->rChat) ||
                         fabs(p->rChat) >= 9.2e18))) {
    pW->ePredict = PR_ERROR;
    return;
  }
  /* text: non-empty UTF-8 without NUL, at most 1 MiB. */
  if (p->bTextBlob || p->nText == 0 || p->nText > MP_TEXT_MAX_BYTES ||
      !fuzzUtf8((const unsigned char *)p->zText, p->nText)) {
    pW->ePredict = PR_ERROR;
    return;
  }
  /* event_json: NULL or a JSON object. */
  if (p->nArg >= 3 && p->zEvent) {
    if (p->bJsonBlob && p->nArg == 3) {
      pW->ePredict = PR_ERROR;
      return;
    }
    eJson = p->nEvent > MP_EVENT_MAX_BYTES ? PR_ERROR
                                           : fuzzIsObject(p->zEvent, p->nEvent);
    if (eJson == PR_ERROR) {
      pW->ePredict = PR_ERROR;
      return;
    }
    if (eJson == PR_EITHER) pW->ePredict = PR_EITHER;
  }
  /* options: NULL or an object of known members. */
  if (p->nArg == 4 && p->zOpt) {
    sqlite3_stmt *pStmt;
    if (p->bJsonBlob || p->nOpt > 65536) {
      pW->ePredict = PR_ERROR;
      return;
    }
    eJson = fuzzIsObject(p->zOpt, p->nOpt);
    if (eJson == PR_ERROR) {
      pW->ePredict = PR_ERROR;
      return;
    }
    if (eJson == PR_EITHER) {
      /* Too unsure to say anything about the members. */
      pW->ePredict = PR_EITHER;
      pW->iPriority = -1;
      pW->iDelay = -1;
      pW->bModeUnsure = 1;
      return;
    }
    pStmt = fuzzPrepare("SELECT key, type, atom, CAST(value AS BLOB) "
                        "FROM json_each(?1)");
    sqlite3_bind_text(pStmt, 1, p->zOpt, p->nOpt, SQLITE_STATIC);
    while (sqlite3_step(pStmt) == SQLITE_ROW) {
      const char *zKey = (const char *)sqlite3_column_text(pStmt, 0);
      const char *zType = (const char *)sqlite3_column_text(pStmt, 1);
      const char *zVal = (const char *)sqlite3_column_blob(pStmt, 3);
      int nVal = sqlite3_column_bytes(pStmt, 3);
      int bText = strcmp(zType, "text") == 0;
      int e = PR_ERROR;
      i64 v = -1;
      if (strcmp(zKey, "priority") == 0) {
        if (bText) {
          for (int i = 0; i < 4; i++) {
            if ((int)strlen(azPrio[i]) == nVal &&
                memcmp(zVal, azPrio[i], (size_t)nVal) == 0) {
              v = i;
              e = PR_OK;
            }
          }
        } else {
          e = fuzzOptInt(pStmt, &v);
          if (v < 0 || v > 3) e = PR_ERROR;
        }
        pW->iPriority = e == PR_OK ? (int)v : -1;
      } else if (strcmp(zKey, "delay_ms") == 0) {
        e = fuzzOptInt(pStmt, &v);
        if (v < 0 || v > MP_FUZZ_DELAY_MX) e = PR_ERROR;
        pW->iDelay = e == PR_OK ? v : -1;
      } else if (strcmp(zKey, "dedup_key") == 0) {
        if (bText && nVal >= 1 && nVal <= MP_KEY_MAX_BYTES &&
            memchr(zVal, 0, (size_t)nVal) == 0) {
          e = PR_OK;
          free(pW->zDedup);
          pW->zDedup = fuzzDup(zVal, nVal);
        }
      } else if (strcmp(zKey, "parse_mode") == 0) {
        if (strcmp(zType, "null") == 0) {
          e = PR_OK;
          pW->zMode = 0;
        } else if (bText && fuzzMode(zVal, nVal)) {
          e = PR_OK;
          pW->zMode = fuzzMode(zVal, nVal);
        }
      }
      if (e == PR_ERROR) {
        pW->ePredict = PR_ERROR;
        break;
      }
      if (e == PR_EITHER) pW->ePredict = PR_EITHER;
    }
    fuzzDone(pStmt);
    if (pW->ePredict == PR_ERROR) return;
  }
  /* A text that shows nothing is refused. */
  if (pW->bModeUnsure) {
    int nBlank = fuzzBlank(p->zText, p->nText, 0) +
                 fuzzBlank(p->zText, p->nText, "HTML") +
                 fuzzBlank(p->zText, p->nText, "MarkdownV2") +
                 fuzzBlank(p->zText, p->nText, "Markdown");
    if (nBlank == 4) {
      pW->ePredict = PR_ERROR;
      return;
    }
    if (nBlank > 0) pW->ePredict = PR_EITHER;
  } else if (fuzzBlank(p->zText, p->nText, pW->zMode)) {
    pW->ePredict = PR_ERROR;
    return;
  }
  /* A long text is cut by its markup, which may be refused. */
  if (p->nText > MP_TELEGRAM_LIMIT && (pW->zMode || pW->bModeUnsure)) {
    pW->ePredict = PR_EITHER;
  }
}

/*
** Builds the mp_enqueue_batch() argument that asks for what the call asks
** for, [{"chat_id":..., "text":..., "event":..., <options>}], into
** p->zBatch; leaves it NULL when the call cannot be written so with the
** same meaning: text that is not UTF-8, an event or options that SQLite
** does not read as an object, options with escapes or naming chat_id,
** text or event. A text with NUL is written only with MP_FUZZ_STRICT:
** mp_enqueue_batch() cuts it at the NUL (see FUZZING.md, known bugs).
*/
static void fuzzBatchJson(FuzzCall *p) {
  sqlite3_str *pStr;
  if (!fuzzUtf8WithNul((const unsigned char *)p->zText, p->nText)) return;
#ifndef MP_FUZZ_STRICT
  if (memchr(p->zText, 0, (size_t)p->nText)) return;
#endif
  if (p->nArg >= 3 && p->zEvent &&
      fuzzIsObject(p->zEvent, p->nEvent) != PR_OK) {
    return;
  }
  if (p->nArg == 4 && p->zOpt) {
    if (fuzzIsObject(p->zOpt, p->nOpt) != PR_OK) return;
    if (fuzzInt("SELECT count(*) FROM json_each(?1) "
                "WHERE key IN ('chat_id', 'text', 'event')",
                p->zOpt, 0) != 0) {
      return;
    }
  }
  pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, "[{\"chat_id\":");
  switch (p->eChat) {
    case 1: sqlite3_str_appendf(pStr, "%lld", p->iChat); break;
    case 2: sqlite3_str_appendf(pStr, "%!.17g", p->rChat); break;
    case 3: sqlite3_str_appendall(pStr, "\"12345\""); break;
    default: sqlite3_str_appendall(pStr, "null"); break;
  }
  sqlite3_str_appendall(pStr, ",\"text\":");
  mpJsonAppendString(pStr, p->zText, p->nText);
  if (p->nArg >= 3) {
    sqlite3_str_appendall(pStr, ",\"event\":");
    if (p->zEvent) {
      sqlite3_str_append(pStr, p->zEvent, p->nEvent);
    } else {
      sqlite3_str_appendall(pStr, "null");
    }
  }
  if (p->nArg == 4 && p->zOpt) {
    /* The members of the options object, between its braces. */
    const char *zOpen = memchr(p->zOpt, '{', (size_t)p->nOpt);
    int iClose = p->nOpt - 1;
    while (iClose > 0 && p->zOpt[iClose] != '}')
      iClose--;
    if (zOpen && zOpen - p->zOpt < iClose) {
      int iOpen = (int)(zOpen - p->zOpt) + 1;
      int k = iOpen;
      while (k < iClose && strchr(" \t\r\n", p->zOpt[k]))
        k++;
      if (k < iClose) {
        sqlite3_str_appendchar(pStr, 1, ',');
        sqlite3_str_append(pStr, p->zOpt + iOpen, iClose - iOpen);
      }
    }
  }
  sqlite3_str_appendall(pStr, "}]");
  p->zBatch = sqlite3_str_finish(pStr);
  if (p->zBatch == 0) abort();
}

/*
** Calls mp_enqueue_batch() with p->zBatch. Returns the one id (malloc'd),
** or NULL with the error message in *pzErr (malloc'd).
*/
static char *fuzzCallBatch(const FuzzCall *p, char **pzErr) {
  sqlite3_stmt *pStmt = fuzzPrepare("SELECT mp_enqueue_batch(?1)");
  sqlite3_stmt *pRead;
  char *zOut = 0, *zId = 0;
  sqlite3_bind_text(pStmt, 1, p->zBatch, -1, SQLITE_STATIC);
  *pzErr = 0;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    zOut = fuzzColumnDup(pStmt, 0);
  } else {
    *pzErr = fuzzDupStr(fuzzErrmsg());
  }
  fuzzDone(pStmt);
  if (zOut == 0) return 0;
  pRead = fuzzPrepare("SELECT json_array_length(?1), json_extract(?1, '$[0]')");
  sqlite3_bind_text(pRead, 1, zOut, -1, SQLITE_STATIC);
  if (sqlite3_step(pRead) != SQLITE_ROW || sqlite3_column_int(pRead, 0) != 1 ||
      sqlite3_column_type(pRead, 1) != SQLITE_TEXT) {
    fuzzFail("mp_enqueue_batch did not return one id", zOut);
  }
  zId = fuzzColumnDup(pRead, 1);
  fuzzDone(pRead);
  free(zOut);
  return zId;
}

/*
** Calls mp_enqueue. Returns the id (malloc'd) or NULL with the error
** message in *pzErr (malloc'd).
*/
static char *fuzzCall(const FuzzCall *p, char **pzErr) {
  static const char *const azSql[] = {
    "SELECT mp_enqueue(?1, ?2)",
    "SELECT mp_enqueue(?1, ?2, ?3)",
    "SELECT mp_enqueue(?1, ?2, ?3, ?4)",
  };
  sqlite3_stmt *pStmt;
  char *zId = 0;
  if (p->zBatch) return fuzzCallBatch(p, pzErr);
  pStmt = fuzzPrepare(azSql[p->nArg - 2]);
  switch (p->eChat) {
    case 1: sqlite3_bind_int64(pStmt, 1, p->iChat); break;
    case 2: sqlite3_bind_double(pStmt, 1, p->rChat); break;
    case 3: sqlite3_bind_text(pStmt, 1, "12345", -1, SQLITE_STATIC); break;
    default: break;
  }
  if (p->bTextBlob) {
    sqlite3_bind_blob(pStmt, 2, p->zText, p->nText, SQLITE_STATIC);
  } else {
    sqlite3_bind_text(pStmt, 2, p->zText, p->nText, SQLITE_STATIC);
  }
  if (p->nArg >= 3 && p->zEvent) {
    if (p->bJsonBlob && p->nArg == 3) {
      sqlite3_bind_blob(pStmt, 3, p->zEvent, p->nEvent, SQLITE_STATIC);
    } else {
      sqlite3_bind_text(pStmt, 3, p->zEvent, p->nEvent, SQLITE_STATIC);
    }
  }
  if (p->nArg == 4 && p->zOpt) {
    if (p->bJsonBlob) {
      sqlite3_bind_blob(pStmt, 4, p->zOpt, p->nOpt, SQLITE_STATIC);
    } else {
      sqlite3_bind_text(pStmt, 4, p->zOpt, p->nOpt, SQLITE_STATIC);
    }
  }
  *pzErr = 0;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    if (sqlite3_column_type(pStmt, 0) != SQLITE_TEXT) {
      fuzzFail("mp_enqueue returned something other than text", 0);
    }
    zId = fuzzColumnDup(pStmt, 0);
  } else {
    *pzErr = fuzzDupStr(fuzzErrmsg());
  }
  fuzzDone(pStmt);
  return zId;
}

/*
** Checks the rows that the call returning zId stored; nNew is how many
** rows it added. Returns nothing; aborts on a failed property.
*/
static void fuzzCheckRows(const FuzzCall *p, const FuzzWant *pW,
                          const char *zId, i64 nNew) {
  sqlite3_stmt *pStmt;
  i64 iFirst = -1, iChat;
  int nRow = 0;
  sqlite3_str *pJoined = sqlite3_str_new(0);
  char *zJoined;
  if (strlen(zId) != 36) fuzzFail("the id is not 36 characters", zId);
  iChat = p->eChat == 1 ? p->iChat : (i64)p->rChat;
  pStmt = fuzzPrepare(
      "SELECT seq, id, chat_id, message_text, status, priority, parse_mode, "
      "dedup_key, order_at, due_at, event_data, retry_count, attempts, "
      "in_doubt, lease_token IS NULL AND lease_until IS NULL AND worker IS "
      "NULL, revision, length(checksum) IS 32 AND typeof(checksum) = 'blob' "
      "FROM messages WHERE seq >= (SELECT seq FROM messages WHERE id = ?1) "
      "ORDER BY seq");
  sqlite3_bind_text(pStmt, 1, zId, -1, SQLITE_STATIC);
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
    i64 iSeq = sqlite3_column_int64(pStmt, 0);
    i64 iDue;
    const char *zMode = (const char *)sqlite3_column_text(pStmt, 6);
    const char *zDedup = (const char *)sqlite3_column_text(pStmt, 7);
    int iPrio = sqlite3_column_int(pStmt, 5);
    if (iFirst < 0) {
      iFirst = iSeq;
      if (strcmp((const char *)sqlite3_column_text(pStmt, 1), zId) != 0) {
        fuzzFail("the id is not the first new row", zId);
      }
    }
    if (iSeq != iFirst + nRow) fuzzFail("parts are not consecutive", 0);
    if (sqlite3_column_int64(pStmt, 2) != iChat) {
      fuzzFail("chat_id differs", 0);
    }
    if (strcmp((const char *)sqlite3_column_text(pStmt, 4), "pending") != 0) {
      fuzzFail("a new row is not pending", 0);
    }
    if (iPrio < 0 || iPrio > 3 ||
        (pW->iPriority >= 0 && iPrio != pW->iPriority)) {
      fuzzFail("priority differs", 0);
    }
    if (zMode && strcmp(zMode, "HTML") != 0 &&
        strcmp(zMode, "MarkdownV2") != 0 && strcmp(zMode, "Markdown") != 0) {
      fuzzFail("parse_mode is not a canonical name", zMode);
    }
    if (!pW->bModeUnsure && pW->ePredict == PR_OK &&
        (zMode ? !pW->zMode || strcmp(zMode, pW->zMode) != 0 : !!pW->zMode)) {
      fuzzFail("parse_mode differs", zMode);
    }
    if (nRow == 0 && pW->ePredict == PR_OK &&
        (zDedup ? !pW->zDedup || strcmp(zDedup, pW->zDedup) != 0
                : !!pW->zDedup)) {
      fuzzFail("dedup_key differs", zDedup);
    }
    if (nRow > 0 && zDedup) fuzzFail("dedup_key on a later part", 0);
    /* Due at now + delay_ms; queued by seq alone (order_at 0) when due at
    ** once, else by when it becomes due. */
    iDue = sqlite3_column_int64(pStmt, 9);
    if (iDue < MP_FUZZ_NOW || iDue > MP_FUZZ_NOW + MP_FUZZ_DELAY_MX ||
        (pW->iDelay >= 0 && iDue != MP_FUZZ_NOW + pW->iDelay) ||
        sqlite3_column_int64(pStmt, 8) != (iDue > MP_FUZZ_NOW ? iDue : 0)) {
      fuzzFail("due_at is not now + delay_ms, or order_at not 0/due_at", 0);
    }
    if (p->nArg >= 3 && p->zEvent
            ? sqlite3_column_bytes(pStmt, 10) != p->nEvent ||
                  memcmp(sqlite3_column_text(pStmt, 10), p->zEvent,
                         (size_t)p->nEvent) != 0
            : sqlite3_column_type(pStmt, 10) != SQLITE_NULL) {
      fuzzFail("event_data is not the event", 0);
    }
    if (sqlite3_column_int(pStmt, 11) != 0 ||
        sqlite3_column_int(pStmt, 12) != 0 ||
        sqlite3_column_int(pStmt, 13) != 0 || !sqlite3_column_int(pStmt, 14) ||
        !sqlite3_column_int(pStmt, 16)) {
      fuzzFail("a new row has retries, a lease or no checksum", 0);
    }
    sqlite3_str_append(pJoined, (const char *)sqlite3_column_text(pStmt, 3),
                       sqlite3_column_bytes(pStmt, 3));
    nRow++;
  }
  fuzzDone(pStmt);
  if (nRow != nNew) fuzzFail("rows after the id are not the new ones", 0);
  if (p->nText <= MP_TELEGRAM_LIMIT && nRow != 1) {
    fuzzFail("a short text was not stored as one row", 0);
  }
  zJoined = sqlite3_str_finish(pJoined);
  if (zJoined == 0 && nRow) abort();
  if ((nRow == 1 || (!pW->zMode && !pW->bModeUnsure)) &&
      ((int)strlen(zJoined ? zJoined : "") != p->nText ||
       memcmp(zJoined, p->zText, (size_t)p->nText) != 0)) {
    fuzzFail("the stored text is not the text", 0);
  }
  sqlite3_free(zJoined);
}

/*
** Appends z[0..n) to pStr as an option value: as it is when it is valid
** JSON, else as a string; one byte picks from azValue.
*/
static void fuzzAppendValue(sqlite3_str *pStr, const char *z, int n) {
  if (n == 1) {
    sqlite3_str_appendall(
        pStr,
        azValue[(unsigned char)z[0] % (sizeof(azValue) / sizeof(azValue[0]))]);
  } else if (n > 0 && mpJsonValid(z, n)) {
    sqlite3_str_append(pStr, z, n);
  } else {
    mpJsonAppendString(pStr, z, n);
  }
}

/*
** Builds an options object from the pieces of a[0..n) (key, value, key,
** value, ...). Returns it (malloc'd) with its length in *pn.
*/
static char *fuzzBuildOptions(const char *a, int n, int *pn) {
  sqlite3_str *pStr = sqlite3_str_new(0);
  int i = 0, iPiece = 0;
  char *z, *zOut;
  sqlite3_str_appendchar(pStr, 1, '{');
  while (i <= n && n > 0) {
    int j = i;
    while (j < n && a[j] != 0)
      j++;
    if (iPiece % 2 == 0) {
      if (iPiece) sqlite3_str_appendchar(pStr, 1, ',');
      if (j - i == 1) {
        mpJsonAppendString(
            pStr,
            azKey[(unsigned char)a[i] % (sizeof(azKey) / sizeof(azKey[0]))],
            -1);
      } else {
        mpJsonAppendString(pStr, a + i, j - i);
      }
      sqlite3_str_appendchar(pStr, 1, ':');
    } else {
      fuzzAppendValue(pStr, a + i, j - i);
    }
    iPiece++;
    i = j + 1;
  }
  if (iPiece % 2 == 1) sqlite3_str_appendall(pStr, "null");
  sqlite3_str_appendchar(pStr, 1, '}');
  *pn = sqlite3_str_length(pStr);
  z = sqlite3_str_finish(pStr);
  if (z == 0) abort();
  zOut = fuzzDup(z, *pn);
  sqlite3_free(z);
  return zOut;
}

/*
** Decodes the input into *p. Returns 0 when it is too long to run.
*/
static int fuzzDecode(const unsigned char *aData, size_t nData, FuzzCall *p) {
  unsigned char b0 = nData > 0 ? aData[0] : 0;
  unsigned char b1 = nData > 1 ? aData[1] : 0;
  const char *a = (const char *)aData + (nData < 2 ? nData : 2);
  int n = nData < 2 ? 0 : (int)nData - 2;
  const char *azPiece[3] = { "", 0, 0 };
  int anPiece[3] = { 0, 0, 0 };
  int nRepeat = aRepeat[b1 & 7];
  int i = 0;
  memset(p, 0, sizeof(*p));
  if (nData > MP_FUZZ_MAX_IN) return 0;
  p->nArg = (b0 & 3) == 0 ? 2 : (b0 & 3) == 1 ? 3 : 4;
  switch ((b0 >> 2) & 3) {
    case 0:
      p->eChat = 1;
      p->iChat = 12345;
      break;
    case 1: {
      u64 v = 0;
      for (int k = 0; k < 8 && k < n; k++)
        v = v << 8 | (unsigned char)a[k];
      p->eChat = 1;
      p->iChat = (i64)v;
      a += n < 8 ? n : 8;
      n -= n < 8 ? n : 8;
      break;
    }
    case 2:
      p->eChat = aChat[(b1 >> 3) & 7].eType;
      p->iChat = aChat[(b1 >> 3) & 7].iValue;
      p->rChat = aChat[(b1 >> 3) & 7].rValue;
      break;
    default:
      p->eChat = 2;
      p->rChat = 12345.0;
      break;
  }
  p->bTextBlob = (b1 >> 6) == 1;
  p->bBatch = (b1 >> 6) == 2;
  p->bJsonBlob = (b1 >> 6) == 3;
  p->bTwice = (b0 >> 7) & 1;

  /* The first pieces: text, event, and options unless built. */
  for (int k = 0; k < 3 && i <= n && n > 0; k++) {
    int j = i;
    if ((b0 & 0x10) && k == 2) break;
    while (j < n && (k == 2 || a[j] != 0))
      j++;
    azPiece[k] = a + i;
    anPiece[k] = j - i;
    i = j + 1;
  }
  if ((long long)anPiece[0] * nRepeat > 1200000) nRepeat = 1;
  p->nText = anPiece[0] * nRepeat;
  p->zText = malloc((size_t)p->nText + 1);
  if (p->zText == 0) abort();
  for (int k = 0; k < nRepeat; k++) {
    memcpy(p->zText + (size_t)k * anPiece[0], azPiece[0], (size_t)anPiece[0]);
  }
  p->zText[p->nText] = 0;
  if ((b1 & 7) == 3 && p->nText >= 2) p->zText[p->nText / 2] = 0;
  if (!(b0 & 0x20) && azPiece[1]) {
    p->nEvent = anPiece[1];
    p->zEvent = fuzzDup(azPiece[1], anPiece[1]);
  }
  if (!(b0 & 0x40)) {
    if (b0 & 0x10) {
      p->zOpt = fuzzBuildOptions(i <= n ? a + i : a + n, i <= n ? n - i : 0,
                                 &p->nOpt);
    } else if (azPiece[2]) {
      p->nOpt = anPiece[2];
      p->zOpt = fuzzDup(azPiece[2], anPiece[2]);
    }
  }
  return 1;
}

/*
** The libFuzzer entry point. Returns 0; aborts when a property fails.
*/
int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData) {
  FuzzCall c;
  FuzzWant w;
  char *zId, *zErr = 0, *zBefore, *zAfter;
  i64 nRows, nNew;
  if (!fuzzDecode(aData, nData, &c)) return 0;
  fuzzBegin("fuzz_enqueue", fuzzPrintCall, &c);
  if (fuzzOpen()) {
    fuzzInitQueue("{\"pace_chat_ms\": 0, \"pace_group_per_minute\": 0, "
                  "\"pace_global_per_second\": 0}");
  }
  fuzzExec("DELETE FROM messages");
  if (c.bBatch) fuzzBatchJson(&c);
  fuzzPredict(&c, &w);
  zBefore = fuzzSnapshot();
  zId = fuzzCall(&c, &zErr);
  if (zId == 0) {
    if (w.ePredict == PR_OK) {
      fuzzFail("mp_enqueue refused valid arguments", zErr);
    }
    if (strncmp(zErr, c.zBatch ? "mp_enqueue_batch: " : "mp_enqueue: ",
                c.zBatch ? 18 : 12) != 0) {
      fuzzFail("error does not name mp_enqueue", zErr);
    }
    zAfter = fuzzSnapshot();
    if (strcmp(zBefore, zAfter) != 0) {
      fuzzFail("a failed mp_enqueue changed the database", zErr);
    }
    free(zAfter);
  } else {
    if (w.ePredict == PR_ERROR) {
      fuzzFail("mp_enqueue accepted invalid arguments", zId);
    }
    nNew = fuzzInt("SELECT count(*) FROM messages", 0, 0);
    fuzzCheckRows(&c, &w, zId, nNew);
    if (c.bTwice) {
      char *zErr2 = 0;
      char *zId2 = fuzzCall(&c, &zErr2);
      if (zId2 == 0) fuzzFail("the same call failed the second time", 0);
      nRows = fuzzInt("SELECT count(*) FROM messages", 0, 0);
      if (w.zDedup || (w.ePredict == PR_EITHER &&
                       fuzzInt("SELECT dedup_key IS NOT NULL FROM messages "
                               "WHERE id = ?1",
                               zId, 0))) {
        if (strcmp(zId, zId2) != 0 || nRows != nNew) {
          fuzzFail("a repeated dedup_key stored a new message", zId2);
        }
      } else {
        if (strcmp(zId, zId2) == 0 || nRows != 2 * nNew) {
          fuzzFail("a repeated call without dedup_key did not store "
                   "new rows",
                   zId2);
        }
        fuzzCheckRows(&c, &w, zId2, nNew);
      }
      free(zId2);
      free(zErr2);
    }
  }
  fuzzCheckQueue();
  free(zBefore);
  free(zId);
  free(zErr);
  free(w.zDedup);
  free(c.zText);
  free(c.zEvent);
  free(c.zOpt);
  sqlite3_free(c.zBatch);
  return 0;
}
