/*
** SPDX-License-Identifier: MIT
**
** fuzz_format.c: a libFuzzer harness for mp_format() in mp_format.c.
**
** Each input becomes one event JSON text, in one of two ways chosen by its
** first byte: the rest of the input as it is, or an event built from the
** NUL-separated pieces of the rest (type, title, description, source,
** task_id, timestamp, then data keys and values; a value that is valid
** JSON is embedded as it is, anything else as a string), so that hostile
** strings reach the formatter and not only the JSON reader. The event is
** formatted with SELECT mp_format(?1, ?2) for 'HTML' and for 'MarkdownV2'.
** The harness aborts when one of these properties fails:
**
**   - both calls succeed or both fail, and a failure names mp_format;
**   - a result is valid UTF-8 (checked by an independent decoder here)
**     without NUL bytes;
**   - the HTML result uses only the tags <b> <i> <code> <pre>, unnested
**     and never empty, and only the entities &amp; &lt; &gt; &quot;, with
**     no bare '>' anywhere;
**   - the MarkdownV2 result escapes every reserved character outside
**     entities and only ` and \ inside code and pre, opens and closes
**     *bold*, _italic_, `code` and ```pre``` in pairs, unnested and never
**     empty;
**   - both results show the same text once the markup is taken away, and
**     it starts with a non-ASCII emoji, a space and a bold title;
**   - that text stays under MP_FUZZ_MAX_CHARS characters.
**
** Build and run (from the repository root, after the CMake build made
** build/generated; mp.c must call mpRegisterFormat):
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -DSQLITE_CORE \
**       -Iext -Ibuild/generated ext/mp*.c tests/fuzz/fuzz_format.c \
**       tests/fuzz/fuzz_common.c -lsqlite3 -lcrypto -o fuzz_format
**   ./fuzz_format -max_total_time=60 corpus/
*/
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on the visible characters of one message. */
#define MP_FUZZ_MAX_CHARS 12000

/*
** Report a failed property together with the event and the result, and
** abort.
*/
static void mpFuzzFail(const char *zWhy, const char *zEvent, int nEvent,
                       const char *zOut, int nOut) {
  fprintf(stderr, "fuzz_format: %s\nevent (%d bytes): %.*s\n", zWhy, nEvent,
          nEvent, zEvent);
  if (zOut) fprintf(stderr, "result (%d bytes): %.*s\n", nOut, nOut, zOut);
  abort();
}

/*
** The visible text of a result, as Telegram would show it.
*/
typedef struct MpFuzzText MpFuzzText;
struct MpFuzzText {
  char *z;   /* Text, malloc'd */
  int n;     /* Bytes used */
  int nChar; /* Characters */
};

/*
** Append byte c to pText.
*/
static void mpFuzzPut(MpFuzzText *pText, char c) {
  pText->z[pText->n++] = c;
  if (((unsigned char)c & 0xC0) != 0x80) pText->nChar++;
}

/*
** Check an HTML result and extract its visible text into pText (whose
** buffer holds n bytes). Returns NULL, or what is wrong.
*/
static const char *mpFuzzHtml(const char *z, int n, MpFuzzText *pText) {
  static const char *const azTag[] = { "b", "i", "code", "pre" };
  static const char *const azEnt[][2] = {
    { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" }
  };
  int iOpen = -1; /* Open tag, or -1 */
  int iStart = 0; /* Where its content began */
  int i = 0;
  while (i < n) {
    char c = z[i];
    if (c == '<') {
      int bClose = i + 1 < n && z[i + 1] == '/';
      int k, nTag = -1;
      for (k = 0; k < 4; k++) {
        int nName = (int)strlen(azTag[k]);
        int j = i + 1 + bClose;
        if (j + nName < n && memcmp(z + j, azTag[k], nName) == 0 &&
            z[j + nName] == '>') {
          nTag = j + nName + 1 - i;
          break;
        }
      }
      if (nTag < 0) return "unknown tag or bare '<'";
      if (bClose) {
        if (iOpen != k) return "closing tag that is not open";
        if (pText->n == iStart) return "empty entity";
        iOpen = -1;
      } else {
        if (iOpen >= 0) return "nested tags";
        iOpen = k;
        iStart = pText->n;
      }
      i += nTag;
    } else if (c == '&') {
      int k;
      for (k = 0; k < 4; k++) {
        int nEnt = (int)strlen(azEnt[k][0]);
        if (i + nEnt <= n && memcmp(z + i, azEnt[k][0], nEnt) == 0) {
          mpFuzzPut(pText, azEnt[k][1][0]);
          i += nEnt;
          break;
        }
      }
      if (k == 4) return "bare '&'";
    } else if (c == '>') {
      return "bare '>'";
    } else {
      mpFuzzPut(pText, c);
      i++;
    }
  }
  if (iOpen >= 0) return "tag left open";
  return 0;
}

/*
** Check a MarkdownV2 result and extract its visible text into pText.
** Returns NULL, or what is wrong.
*/
static const char *mpFuzzMarkdown(const char *z, int n, MpFuzzText *pText) {
  static const char zSpecial[] = "_*[]()~`>#+-=|{}.!\\";
  char cOpen = 0; /* '*', '_', '`' or 'p' (pre) when inside an entity */
  int iStart = 0;
  int i = 0;
  while (i < n) {
    char c = z[i];
    if (cOpen == '`' || cOpen == 'p') {
      if (c == '\\') {
        if (i + 1 >= n || (z[i + 1] != '`' && z[i + 1] != '\\')) {
          return "bad escape in code";
        }
        mpFuzzPut(pText, z[i + 1]);
        i += 2;
      } else if (c == '`' && cOpen == '`') {
        if (pText->n == iStart) return "empty code";
        cOpen = 0;
        i++;
      } else if (c == '`') {
        /* The pre block closes with "\n```". */
        if (i + 3 > n || memcmp(z + i, "```", 3) != 0 || z[i - 1] != '\n') {
          return "bare ` in pre";
        }
        pText->n--; /* The newline before ``` is markup */
        if (pText->n == iStart) return "empty pre";
        cOpen = 0;
        i += 3;
      } else {
        mpFuzzPut(pText, c);
        i++;
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= n || strchr(zSpecial, z[i + 1]) == 0) {
        return "escape of a character that is not reserved";
      }
      mpFuzzPut(pText, z[i + 1]);
      i += 2;
    } else if (c == '*' || c == '_') {
      if (cOpen == c) {
        if (pText->n == iStart) return "empty entity";
        cOpen = 0;
      } else if (cOpen) {
        return "nested entities";
      } else {
        cOpen = c;
        iStart = pText->n;
      }
      i++;
    } else if (c == '`') {
      if (cOpen) return "nested entities";
      if (i + 3 <= n && memcmp(z + i, "```", 3) == 0) {
        if (i + 3 >= n || z[i + 3] != '\n') return "pre without newline";
        cOpen = 'p';
        i += 4;
      } else {
        cOpen = '`';
        i++;
      }
      iStart = pText->n;
    } else if (c != 0 && strchr(zSpecial, c)) {
      return "reserved character not escaped";
    } else {
      mpFuzzPut(pText, c);
      i++;
    }
  }
  if (cOpen) return "entity left open";
  return 0;
}

/*
** Run mp_format(zEvent, zMode). Returns the result text (malloc'd, with
** *pn), or NULL with *pn = -1 for an error (whose message is checked here)
** or 0 for an SQL NULL.
*/
static char *mpFuzzFormat(const char *zEvent, int nEvent, const char *zMode,
                          int *pn) {
  sqlite3_stmt *pFormat = fuzzPrepare("SELECT mp_format(?1, ?2)");
  char *zOut = 0;
  int rc;
  sqlite3_bind_text(pFormat, 1, zEvent, nEvent, SQLITE_STATIC);
  sqlite3_bind_text(pFormat, 2, zMode, -1, SQLITE_STATIC);
  rc = sqlite3_step(pFormat);
  *pn = 0;
  if (rc == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pFormat, 0);
    int n = sqlite3_column_bytes(pFormat, 0);
    if (z) {
      zOut = fuzzDup(z, n);
      *pn = n;
    }
  } else {
    const char *zErr = fuzzErrmsg();
    if (strncmp(zErr, "mp_format: ", 11) != 0) {
      mpFuzzFail("error without the function name", zEvent, nEvent, zErr,
                 (int)strlen(zErr));
    }
    *pn = -1;
  }
  fuzzDone(pFormat);
  return zOut;
}

/*
** Append z[0..n) to pStr as a JSON value: as it is when it is valid JSON
** and bRaw, else as a string literal.
*/
static void mpFuzzValue(sqlite3_str *pStr, const char *z, int n, int bRaw) {
  if (bRaw && n > 0 && mpJsonValid(z, n)) {
    sqlite3_str_append(pStr, z, n);
  } else {
    mpJsonAppendString(pStr, z, n);
  }
}

/*
** Build an event from the NUL-separated pieces of a[0..n) (see the header
** comment). Returns it from sqlite3_malloc, with its length in *pn.
*/
static char *mpFuzzBuild(const char *a, int n, int *pn) {
  static const char *const azField[] = { "type",   "title",   "description",
                                         "source", "task_id", "timestamp" };
  sqlite3_str *pStr = sqlite3_str_new(0);
  int i = 0, iPiece = 0, bData = 0;
  char *z;
  sqlite3_str_appendchar(pStr, 1, '{');
  while (i <= n) {
    int j = i;
    while (j < n && a[j] != 0)
      j++;
    if (iPiece < 6) {
      if (iPiece > 0) sqlite3_str_appendchar(pStr, 1, ',');
      mpJsonAppendString(pStr, azField[iPiece], -1);
      sqlite3_str_appendchar(pStr, 1, ':');
      mpFuzzValue(pStr, a + i, j - i, iPiece == 5);
    } else if ((iPiece - 6) % 2 == 0) {
      sqlite3_str_appendall(pStr, bData ? "," : ",\"data\":{");
      bData = 1;
      mpJsonAppendString(pStr, a + i, j - i);
      sqlite3_str_appendchar(pStr, 1, ':');
    } else {
      mpFuzzValue(pStr, a + i, j - i, 1);
    }
    iPiece++;
    i = j + 1;
  }
  if (iPiece < 6) {
    /* Fewer pieces than fields: no type yet is fine (an error case). */
  } else if (bData) {
    if ((iPiece - 6) % 2 == 1) sqlite3_str_appendall(pStr, "null");
    sqlite3_str_appendchar(pStr, 1, '}');
  }
  sqlite3_str_appendchar(pStr, 1, '}');
  *pn = sqlite3_str_length(pStr);
  z = sqlite3_str_finish(pStr);
  if (z == 0) abort();
  return z;
}

/*
** Check one result of mode zMode and return its visible text.
*/
static MpFuzzText mpFuzzCheck(const char *zEvent, int nEvent, const char *zOut,
                              int nOut, int bHtml) {
  MpFuzzText text;
  const char *zWhy;
  text.z = malloc((size_t)nOut + 1);
  if (text.z == 0) abort();
  text.n = 0;
  text.nChar = 0;
  if (!fuzzUtf8((const unsigned char *)zOut, nOut)) {
    mpFuzzFail("result is not valid UTF-8", zEvent, nEvent, zOut, nOut);
  }
  zWhy =
      bHtml ? mpFuzzHtml(zOut, nOut, &text) : mpFuzzMarkdown(zOut, nOut, &text);
  if (zWhy) mpFuzzFail(zWhy, zEvent, nEvent, zOut, nOut);
  if (text.nChar > MP_FUZZ_MAX_CHARS) {
    mpFuzzFail("result too long", zEvent, nEvent, zOut, nOut);
  }
  /* The first line: an emoji (non-ASCII), a space, a bold title. */
  if (nOut < 2 || (unsigned char)zOut[0] < 0x80 ||
      strstr(zOut, bHtml ? " <b>" : " *") == 0) {
    mpFuzzFail("first line is not emoji + bold title", zEvent, nEvent, zOut,
               nOut);
  }
  return text;
}

int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData) {
  char *zEvent, *zHtml, *zMd;
  int nEvent, nHtml, nMd;
  if (nData > 100000) return 0;
  fuzzBegin("fuzz_format", 0, 0);
  fuzzOpen();
  if (nData > 0 && aData[0] % 3 == 0) {
    nEvent = (int)nData - 1;
    zEvent = sqlite3_malloc(nEvent + 1);
    if (zEvent == 0) abort();
    memcpy(zEvent, aData + 1, (size_t)nEvent);
    zEvent[nEvent] = 0;
  } else {
    zEvent = mpFuzzBuild((const char *)aData + (nData > 0),
                         (int)nData - (nData > 0), &nEvent);
  }
  zHtml = mpFuzzFormat(zEvent, nEvent, "HTML", &nHtml);
  zMd = mpFuzzFormat(zEvent, nEvent, "MarkdownV2", &nMd);
  if ((nHtml < 0) != (nMd < 0)) {
    mpFuzzFail("one mode failed, the other did not", zEvent, nEvent, 0, 0);
  }
  if (zHtml && zMd) {
    MpFuzzText tHtml = mpFuzzCheck(zEvent, nEvent, zHtml, nHtml, 1);
    MpFuzzText tMd = mpFuzzCheck(zEvent, nEvent, zMd, nMd, 0);
    if (tHtml.n != tMd.n || memcmp(tHtml.z, tMd.z, (size_t)tHtml.n) != 0) {
      fprintf(stderr, "html text: %.*s\nmd text: %.*s\n", tHtml.n, tHtml.z,
              tMd.n, tMd.z);
      mpFuzzFail("HTML and MarkdownV2 show different text", zEvent, nEvent, zMd,
                 nMd);
    }
    free(tHtml.z);
    free(tMd.z);
  } else if (nHtml >= 0 && (zHtml || zMd)) {
    mpFuzzFail("one mode returned NULL", zEvent, nEvent, 0, 0);
  }
  free(zHtml);
  free(zMd);
  sqlite3_free(zEvent);
  return 0;
}
