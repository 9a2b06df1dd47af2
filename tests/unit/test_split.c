/*
** SPDX-License-Identifier: MIT
**
** test_split.c: unit tests for mpSplit() in mp_split.c.
**
** Two kinds of tests:
**
**   - tables of cases with the exact parts expected;
**   - a property test over generated texts in every parse mode (mixes of
**     ASCII words, newlines, multi-byte UTF-8, 4-byte emoji, ZWJ sequences,
**     flags, HTML tags and entities, MarkdownV2 entities and escapes, and
**     now and then random markup characters that break the markup).
**
** THE ORACLE
**
** The properties are checked against an oracle that is independent of
** mp_split.c: a port of the three parsers of TDLib (parse_html,
** parse_markdown_v2, parse_markdown), which the Bot API runs on every text.
** For a text it says whether Telegram accepts the markup and, if it does,
** gives the visible text and, for each of its bytes, the set of entities
** over it (bold, italic, ..., block quote, expandable) and a hash of the
** URLs and languages of those entities. mpTestSplitCheck() then checks:
**
**   - rc is SQLITE_OK, or SQLITE_ERROR only when the text does not fit and
**     the oracle refuses its markup (or, in MarkdownV2, has a block quote
**     inside another entity, the documented case with no allowed cut);
**   - there is at least one part; no part is empty (an empty text is one
**     empty part); each part is NUL-terminated and valid UTF-8;
**   - a text that fits (raw, or visible when the oracle accepts it) is one
**     part equal to the text, and one part is always the text itself;
**   - plain text: the parts joined are the text, byte for byte;
**   - markup the oracle accepts: the oracle accepts every part, each shows
**     between 1 and limit UTF-16 units, the visible texts of the parts
**     joined equal the visible text of the input, and every byte that is
**     not whitespace has the same entities, URLs and languages. (Closing
**     and re-opening markup is invisible, so this compares exactly what the
**     reader sees; whitespace is left out because a newline moved out of a
**     MarkdownV2 quote may leave the entities inside it.)
**
** The program prints "N passed, M failed" and exits non-zero if M is not 0.
** An argument sets the seed of the generator (default 1).
**
** Build (from the repository root):
**
**   gcc -std=c11 -g -fsanitize=address,undefined -DSQLITE_CORE -Iext \
**       ext/mp_split.c ext/mp_json.c ext/mp_util.c tests/unit/test_split.c \
**       -lsqlite3 -o /tmp/test_split && /tmp/test_split
**
** tests/fuzz/fuzz_split.c includes this file with MP_TEST_SPLIT_NO_MAIN
** defined, to use the oracle and mpTestSplitCheck().
*/
#include "mp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entity bits of the oracle's masks. */
#define TG_BOLD      0x001
#define TG_ITALIC    0x002
#define TG_UNDERLINE 0x004
#define TG_STRIKE    0x008
#define TG_SPOILER   0x010
#define TG_CODE      0x020
#define TG_PRE       0x040
#define TG_LINK      0x080
#define TG_EMOJI     0x100
#define TG_QUOTE     0x200
#define TG_EXPAND    0x400
#define TG_TIME      0x800

/* Entries of a static array. */
#define TG_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Parse modes of the tests. */
#define TG_PLAIN 0
#define TG_HTML  1
#define TG_MDV2  2
#define TG_MD    3

/*
** What the oracle makes of a text.
*/
typedef struct TgText TgText;
struct TgText {
  char *z;          /* The visible text, UTF-8, from malloc() */
  int n;            /* Its length in bytes */
  int nAlloc;       /* Bytes allocated for z, aMask and aArg */
  unsigned *aMask;  /* Per byte of z: the TG_* entities over it */
  unsigned *aArg;   /* Per byte of z: sum of the hashes of their arguments */
  int bNestedQuote; /* MarkdownV2: a block quote inside another entity */
  const char *zErr; /* Why Telegram refuses the markup, or NULL */
};

/* One entity open in the oracle. */
typedef struct TgOpen TgOpen;
struct TgOpen {
  int eType;     /* TG_* bit (MarkdownV2, Markdown) or tag bits (HTML) */
  int iByte;     /* Offset of its markup in the input */
  int iName;     /* HTML: offset of the tag name */
  int nName;     /* HTML: length of the tag name */
  int iRes;      /* Length of the visible text when it opened */
  unsigned uArg; /* Hash of its URL or language, or 0 */
};

/*
** Exit on OOM: the tests cannot go on without memory.
*/
static void *tgAlloc(void *p, size_t n) {
  void *pNew = realloc(p, n ? n : 1);
  if (pNew == 0) {
    fprintf(stderr, "test_split: out of memory\n");
    exit(2);
  }
  return pNew;
}

/*
** Appends byte c to the visible text, with no entity over it yet.
*/
static void tgPut(TgText *p, int c) {
  if (p->n >= p->nAlloc) {
    p->nAlloc = 2 * p->nAlloc + 64;
    p->z = tgAlloc(p->z, (size_t)p->nAlloc);
    p->aMask = tgAlloc(p->aMask, (size_t)p->nAlloc * sizeof(unsigned));
    p->aArg = tgAlloc(p->aArg, (size_t)p->nAlloc * sizeof(unsigned));
  }
  p->z[p->n] = (char)c;
  p->aMask[p->n] = 0;
  p->aArg[p->n] = 0;
  p->n++;
}

/*
** Appends code point c as UTF-8 (surrogates as 3 bytes, as TDLib does).
*/
static void tgPutCp(TgText *p, unsigned c) {
  if (c < 0x80) {
    tgPut(p, (int)c);
  } else if (c < 0x800) {
    tgPut(p, (int)(0xC0 | (c >> 6)));
    tgPut(p, (int)(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    tgPut(p, (int)(0xE0 | (c >> 12)));
    tgPut(p, (int)(0x80 | ((c >> 6) & 0x3F)));
    tgPut(p, (int)(0x80 | (c & 0x3F)));
  } else {
    tgPut(p, (int)(0xF0 | (c >> 18)));
    tgPut(p, (int)(0x80 | ((c >> 12) & 0x3F)));
    tgPut(p, (int)(0x80 | ((c >> 6) & 0x3F)));
    tgPut(p, (int)(0x80 | (c & 0x3F)));
  }
}

/*
** Marks the visible bytes from iFrom to the end as inside an entity.
*/
static void tgPaint(TgText *p, int iFrom, unsigned uBit, unsigned uArg) {
  for (int i = iFrom; i < p->n; i++) {
    p->aMask[i] |= uBit;
    p->aArg[i] += uArg;
  }
}

/*
** Records why the markup is refused (the first reason only).
*/
static void tgFail(TgText *p, const char *zErr) {
  if (p->zErr == 0) p->zErr = zErr;
}

/*
** Frees what the oracle allocated and zeroes *p.
*/
static void tgFree(TgText *p) {
  free(p->z);
  free(p->aMask);
  free(p->aArg);
  memset(p, 0, sizeof(*p));
}

/*
** Byte i of z[0..n), or 0 outside it (TDLib's strings end with NUL).
*/
static int tgAt(const char *z, int n, int i) {
  return i >= 0 && i < n ? (u8)z[i] : 0;
}

/*
** TDLib's is_space().
*/
static int tgSpace(int c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 || c == '\v';
}

/*
** ASCII letter or digit.
*/
static int tgAlnum(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/*
** A non-zero FNV-1a hash of z[0..n).
*/
static unsigned tgHash(const char *z, int n) {
  unsigned h = 2166136261u;
  for (int i = 0; i < n; i++) {
    h = (h ^ (u8)z[i]) * 16777619u;
  }
  return h | 1;
}

/*
** Reads what follows an opening ``` whose next character is z[i]: a
** language name up to the first space or backtick (its hash into *puArg,
** when it has one and the text goes on after it), then one line break
** (\n, \r, \r\n or \n\r). Returns the index of the block's first
** character.
*/
static int tgPreOpen(const char *z, int n, int i, unsigned *puArg) {
  int iEnd = i, cc;
  while (!tgSpace(tgAt(z, n, iEnd)) && tgAt(z, n, iEnd) != '`')
    iEnd++;
  if (iEnd != i && iEnd < n && tgAt(z, n, iEnd) != '`') {
    *puArg = tgHash(z + i, iEnd - i);
    i = iEnd;
  }
  cc = tgAt(z, n, i);
  if (cc == '\n' || cc == '\r') {
    int c2 = tgAt(z, n, i + 1);
    i += ((c2 == '\n' || c2 == '\r') && c2 != cc) ? 2 : 1;
  }
  return i;
}

/*
** 1 if z[0..n) is zWord in any ASCII case.
*/
static int tgIs(const char *z, int n, const char *zWord) {
  return (int)strlen(zWord) == n && sqlite3_strnicmp(z, zWord, n) == 0;
}

/*
** TDLib's decode_html_entity(): the code point of the entity at z[*pi],
** with *pi moved past it, or 0.
*/
static unsigned tgEntity(const char *z, int n, int *pi) {
  int i = *pi, j = i + 1;
  unsigned v = 0;
  if (tgAt(z, n, j) == '#') {
    j++;
    if (tgAt(z, n, j) == 'x') {
      j++;
      for (;;) {
        int c = tgAt(z, n, j), d;
        if (c >= '0' && c <= '9') {
          d = c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
          d = (c | 0x20) - 'a' + 10;
        } else {
          break;
        }
        if (v < 0x1000000) v = v * 16 + (unsigned)d;
        j++;
      }
    } else {
      while (tgAt(z, n, j) >= '0' && tgAt(z, n, j) <= '9') {
        if (v < 0x1000000) v = v * 10 + (unsigned)(tgAt(z, n, j) - '0');
        j++;
      }
    }
    if (v == 0 || v >= 0x10FFFF || j - i >= 10) return 0;
  } else {
    int iName = j;
    while (((tgAt(z, n, j) | 0x20) >= 'a' && (tgAt(z, n, j) | 0x20) <= 'z'))
      j++;
    if (j - iName == 2 && memcmp(z + iName, "lt", 2) == 0) {
      v = '<';
    } else if (j - iName == 2 && memcmp(z + iName, "gt", 2) == 0) {
      v = '>';
    } else if (j - iName == 3 && memcmp(z + iName, "amp", 3) == 0) {
      v = '&';
    } else if (j - iName == 4 && memcmp(z + iName, "quot", 4) == 0) {
      v = '"';
    } else {
      return 0;
    }
  }
  if (tgAt(z, n, j) == ';') j++;
  *pi = j;
  return v;
}

/*
** The TG_* bit of a supported HTML tag name, or 0.
*/
static unsigned tgTagBit(const char *z, int n) {
  static const struct {
    const char *zName;
    unsigned uBit;
  } aTag[] = {
    { "a", TG_LINK },
    { "b", TG_BOLD },
    { "strong", TG_BOLD },
    { "i", TG_ITALIC },
    { "em", TG_ITALIC },
    { "s", TG_STRIKE },
    { "strike", TG_STRIKE },
    { "del", TG_STRIKE },
    { "u", TG_UNDERLINE },
    { "ins", TG_UNDERLINE },
    { "tg-spoiler", TG_SPOILER },
    { "tg-emoji", TG_EMOJI },
    { "tg-time", TG_TIME },
    { "span", TG_SPOILER },
    { "pre", TG_PRE },
    { "code", TG_CODE },
    { "blockquote", TG_QUOTE },
  };
  for (size_t k = 0; k < sizeof(aTag) / sizeof(aTag[0]); k++) {
    if (tgIs(z, n, aTag[k].zName)) return aTag[k].uBit;
  }
  return 0;
}

/*
** TDLib's parse_html(). URLs are not checked; a link without a URL has
** argument 0. A numeric entity for a surrogate is refused.
*/
static void tgHtml(const char *z, int n, TgText *p) {
  TgOpen *aOpen = tgAlloc(0, sizeof(*aOpen) * ((size_t)n + 1));
  int nOpen = 0;
  for (int i = 0; i < n && p->zErr == 0; i++) {
    int c = (u8)z[i], iBegin;
    if (c == '&') {
      int j = i;
      unsigned cp = tgEntity(z, n, &j);
      if (cp != 0) {
        if (cp >= 0xD800 && cp <= 0xDFFF) tgFail(p, "surrogate entity");
        tgPutCp(p, cp);
        i = j - 1;
        continue;
      }
    }
    if (c != '<') {
      tgPut(p, c);
      continue;
    }
    iBegin = i++;
    if (tgAt(z, n, i) != '/') {
      int iName = i, nName, bExpand = 0, bSpoiler = 0, bEmojiOk = 1;
      unsigned uBit, uArg = 0;
      while (!tgSpace(tgAt(z, n, i)) && tgAt(z, n, i) != '>')
        i++;
      if (tgAt(z, n, i) == 0) {
        tgFail(p, "unclosed start tag");
        break;
      }
      nName = i - iName;
      uBit = tgTagBit(z + iName, nName);
      if (uBit == 0) {
        tgFail(p, "unsupported start tag");
        break;
      }
      if (uBit == TG_EMOJI) bEmojiOk = 0;
      while (tgAt(z, n, i) != '>' && p->zErr == 0) {
        int iAttr, nAttr, iValue, nValue, cc;
        while (tgAt(z, n, i) != 0 && tgSpace(tgAt(z, n, i)))
          i++;
        if (tgAt(z, n, i) == '>') break;
        iAttr = i;
        while (!tgSpace(cc = tgAt(z, n, i)) && cc != '=' && cc != '>' &&
               cc != '/' && cc != '"' && cc != '\'')
          i++;
        nAttr = i - iAttr;
        if (nAttr == 0) {
          tgFail(p, "empty attribute name");
          break;
        }
        while (tgAt(z, n, i) != 0 && tgSpace(tgAt(z, n, i)))
          i++;
        if (tgAt(z, n, i) != '=') {
          if (tgAt(z, n, i) == 0) tgFail(p, "unclosed start tag");
          if (uBit == TG_QUOTE && nAttr == 10 &&
              memcmp(z + iAttr, "expandable", 10) == 0) {
            bExpand = 1;
          }
          continue;
        }
        i++;
        while (tgAt(z, n, i) != 0 && tgSpace(tgAt(z, n, i)))
          i++;
        if (tgAt(z, n, i) == 0) {
          tgFail(p, "unclosed start tag");
          break;
        }
        if (tgAt(z, n, i) != '\'' && tgAt(z, n, i) != '"') {
          iValue = i;
          while (tgAlnum(cc = tgAt(z, n, i)) || cc == '.' || cc == '-')
            i++;
          nValue = i - iValue;
          if (!tgSpace(tgAt(z, n, i)) && tgAt(z, n, i) != '>') {
            tgFail(p, "unexpected end of name token");
            break;
          }
        } else {
          int cQuote = tgAt(z, n, i++);
          iValue = i;
          while (tgAt(z, n, i) != cQuote && tgAt(z, n, i) != 0)
            i++;
          nValue = i - iValue;
          if (tgAt(z, n, i) == cQuote) i++;
        }
        if (tgAt(z, n, i) == 0) {
          tgFail(p, "unclosed start tag");
          break;
        }
        if (uBit == TG_LINK && nAttr == 4 &&
            memcmp(z + iAttr, "href", 4) == 0) {
          uArg = nValue > 0 ? tgHash(z + iValue, nValue) : 0;
        } else if (uBit == TG_CODE && nAttr == 5 &&
                   memcmp(z + iAttr, "class", 5) == 0 && nValue >= 9 &&
                   memcmp(z + iValue, "language-", 9) == 0) {
          uArg = nValue > 9 ? tgHash(z + iValue + 9, nValue - 9) : 0;
        } else if (uBit == TG_SPOILER && nAttr == 5 &&
                   memcmp(z + iAttr, "class", 5) == 0 && nValue >= 3 &&
                   memcmp(z + iValue, "tg-", 3) == 0) {
          bSpoiler = nValue == 10 && memcmp(z + iValue + 3, "spoiler", 7) == 0;
        } else if (uBit == TG_EMOJI && nAttr == 8 &&
                   memcmp(z + iAttr, "emoji-id", 8) == 0) {
          bEmojiOk = nValue > 0 && nValue < 19;
          for (int k = 0; k < nValue; k++) {
            if (z[iValue + k] < '0' || z[iValue + k] > '9') bEmojiOk = 0;
          }
          uArg = tgHash(z + iValue, nValue);
        } else if (uBit == TG_QUOTE && nAttr == 10 &&
                   memcmp(z + iAttr, "expandable", 10) == 0) {
          bExpand = 1;
        }
      }
      if (p->zErr) break;
      if (tgIs(z + iName, nName, "span") && !bSpoiler) {
        tgFail(p, "span without class tg-spoiler");
        break;
      }
      if (!bEmojiOk) {
        tgFail(p, "invalid custom emoji identifier");
        break;
      }
      aOpen[nOpen].eType = (int)(uBit | (bExpand ? TG_EXPAND : 0));
      aOpen[nOpen].iByte = iBegin;
      aOpen[nOpen].iName = iName;
      aOpen[nOpen].nName = nName;
      aOpen[nOpen].iRes = p->n;
      aOpen[nOpen].uArg = uArg;
      nOpen++;
    } else {
      int nEnd;
      TgOpen *pTop;
      if (nOpen == 0) {
        tgFail(p, "unexpected end tag");
        break;
      }
      while (!tgSpace(tgAt(z, n, i)) && tgAt(z, n, i) != '>')
        i++;
      nEnd = i - iBegin - 2;
      while (tgSpace(tgAt(z, n, i)) && tgAt(z, n, i) != 0)
        i++;
      if (tgAt(z, n, i) != '>') {
        tgFail(p, "unclosed end tag");
        break;
      }
      pTop = &aOpen[nOpen - 1];
      if (nEnd > 0 &&
          !(nEnd == pTop->nName &&
            sqlite3_strnicmp(z + iBegin + 2, z + pTop->iName, nEnd) == 0)) {
        tgFail(p, "unmatched end tag");
        break;
      }
      if (p->n > pTop->iRes) {
        tgPaint(p, pTop->iRes, (unsigned)pTop->eType, pTop->uArg);
      }
      nOpen--;
    }
  }
  if (p->zErr == 0 && nOpen > 0) tgFail(p, "start tag without end tag");
  free(aOpen);
}

/*
** Scans the URL of a MarkdownV2 link or custom emoji that starts at *pi,
** unescaping it; *pi ends on the ')'. Returns the hash of the URL, or 0
** if no ')' ends it.
*/
static unsigned tgMdv2Url(const char *z, int n, int *pi) {
  char *zUrl = tgAlloc(0, (size_t)n + 1);
  int i = *pi, nUrl = 0;
  unsigned h;
  while (i < n && z[i] != ')') {
    int c1 = tgAt(z, n, i + 1);
    if (z[i] == '\\' && c1 > 0 && c1 <= 126) {
      zUrl[nUrl++] = (char)c1;
      i += 2;
      continue;
    }
    zUrl[nUrl++] = z[i++];
  }
  h = tgAt(z, n, i) == ')' ? tgHash(zUrl, nUrl) : 0;
  free(zUrl);
  *pi = i;
  return h;
}

/*
** TDLib's parse_markdown_v2(). URLs are not checked; a link without a URL
** has argument 0.
*/
static void tgMdv2(const char *z, int n, TgText *p) {
  TgOpen *aOpen = tgAlloc(0, sizeof(*aOpen) * ((size_t)n + 1));
  int nOpen = 0, bQuote = 0, bCanQuote = 1;
  for (int i = 0; i < n && p->zErr == 0; i++) {
    int c = (u8)z[i], c1 = tgAt(z, n, i + 1), eTop, bEnd = 0;
    const char *zReserved = "_*[]()~`>#+-=|{}.!\n";
    if (c == '\\' && c1 > 0 && c1 <= 126) {
      i++;
      tgPut(p, c1);
      if (c1 != '\r') bCanQuote = c1 == '\n';
      continue;
    }
    eTop = nOpen ? aOpen[nOpen - 1].eType : 0;
    if (eTop == TG_CODE || eTop == TG_PRE) zReserved = "`";
    if (c == 0 || strchr(zReserved, c) == 0) {
      if ((c & 0xC0) != 0x80 && c != '\r') bCanQuote = 0;
      tgPut(p, c);
      continue;
    }
    if (nOpen > 0) {
      if (bQuote && c == '\n' && (i + 1 == n || c1 != '>')) {
        bEnd = 1;
      } else {
        switch (eTop) {
          case TG_BOLD: bEnd = c == '*'; break;
          case TG_ITALIC: bEnd = c == '_' && c1 != '_'; break;
          case TG_CODE: bEnd = c == '`'; break;
          case TG_PRE:
            bEnd = c == '`' && c1 == '`' && tgAt(z, n, i + 2) == '`';
            break;
          case TG_LINK:
          case TG_EMOJI: bEnd = c == ']'; break;
          case TG_UNDERLINE: bEnd = c == '_' && c1 == '_'; break;
          case TG_STRIKE: bEnd = c == '~'; break;
          case TG_SPOILER: bEnd = c == '|' && c1 == '|'; break;
          default: bEnd = 0; break;
        }
      }
    }
    if (!bEnd) {
      int eType = 0, iByte = i;
      unsigned uArg = 0;
      switch (c) {
        case '_':
          if (c1 == '_') {
            eType = TG_UNDERLINE;
            i++;
          } else {
            eType = TG_ITALIC;
          }
          break;
        case '*': eType = TG_BOLD; break;
        case '~': eType = TG_STRIKE; break;
        case '|':
          if (c1 == '|') {
            i++;
            eType = TG_SPOILER;
          } else {
            tgFail(p, "reserved character");
          }
          break;
        case '[': eType = TG_LINK; break;
        case '`':
          if (c1 == '`' && tgAt(z, n, i + 2) == '`') {
            eType = TG_PRE;
            i = tgPreOpen(z, n, i + 3, &uArg) - 1;
          } else {
            eType = TG_CODE;
          }
          break;
        case '!':
          if (c1 == '[') {
            i++;
            eType = TG_EMOJI;
          } else {
            tgFail(p, "reserved character");
          }
          break;
        case '\n':
          tgPut(p, '\n');
          bCanQuote = 1;
          continue;
        case '>':
          if (!bCanQuote) {
            tgFail(p, "reserved character");
          } else if (!bQuote) {
            if (nOpen > 0) p->bNestedQuote = 1;
            eType = TG_QUOTE;
            bQuote = 1;
          }
          break;
        default: tgFail(p, "reserved character"); break;
      }
      if (p->zErr || eType == 0) continue;
      aOpen[nOpen].eType = eType;
      aOpen[nOpen].iByte = iByte;
      aOpen[nOpen].iRes = p->n;
      aOpen[nOpen].uArg = uArg;
      nOpen++;
    } else {
      int eType = aOpen[nOpen - 1].eType, bSkip;
      unsigned uArg = aOpen[nOpen - 1].uArg, uExpand = 0;
      if (c == '\n' && eType != TG_QUOTE) {
        TgOpen *pTop = &aOpen[nOpen - 1];
        if (eType != TG_SPOILER ||
            !(pTop->iByte == i - 2 ||
              (pTop->iByte == i - 3 && p->n > 0 && p->z[p->n - 1] == '\r'))) {
          tgFail(p, "entity not closed before the end of a quote");
          break;
        }
        nOpen--;
        if (aOpen[nOpen - 1].eType != TG_QUOTE) {
          tgFail(p, "entity not closed before the end of a quote");
          break;
        }
        eType = TG_QUOTE;
        uExpand = TG_EXPAND;
      }
      bSkip = p->n == aOpen[nOpen - 1].iRes;
      switch (eType) {
        case TG_UNDERLINE:
        case TG_SPOILER: i++; break;
        case TG_PRE: i += 2; break;
        case TG_LINK:
          if (c1 != '(') {
            uArg = 0;
          } else {
            i += 2;
            uArg = tgMdv2Url(z, n, &i);
            if (uArg == 0) tgFail(p, "unclosed URL");
          }
          break;
        case TG_EMOJI:
          if (c1 != '(') {
            tgFail(p, "custom emoji without a URL");
          } else {
            i += 2;
            uArg = tgMdv2Url(z, n, &i);
            if (uArg == 0) tgFail(p, "unclosed URL");
          }
          break;
        case TG_QUOTE:
          bQuote = 0;
          tgPut(p, '\n');
          bCanQuote = 1;
          bSkip = 0;
          break;
        default: break;
      }
      if (p->zErr) break;
      if (!bSkip) {
        tgPaint(p, aOpen[nOpen - 1].iRes, (unsigned)eType | uExpand, uArg);
      }
      nOpen--;
    }
  }
  if (p->zErr == 0 && bQuote) {
    unsigned uExpand = 0;
    if (aOpen[nOpen - 1].eType == TG_SPOILER &&
        aOpen[nOpen - 1].iByte == n - 2) {
      nOpen--;
      uExpand = TG_EXPAND;
    }
    if (aOpen[nOpen - 1].eType == TG_QUOTE) {
      if (p->n > aOpen[nOpen - 1].iRes) {
        tgPaint(p, aOpen[nOpen - 1].iRes, TG_QUOTE | uExpand, 0);
      }
      nOpen--;
    }
  }
  if (p->zErr == 0 && nOpen > 0) tgFail(p, "entity not closed");
  free(aOpen);
}

/*
** TDLib's parse_markdown() (legacy Markdown). URLs are not checked.
*/
static void tgMd(const char *z, int n, TgText *p) {
  for (int i = 0; i < n; i++) {
    int c = (u8)z[i], c1 = tgAt(z, n, i + 1), cEnd, bPre = 0, iRes;
    unsigned uBit, uArg = 0;
    if (c == '\\' && (c1 == '_' || c1 == '*' || c1 == '`' || c1 == '[')) {
      i++;
      tgPut(p, c1);
      continue;
    }
    if (c != '_' && c != '*' && c != '`' && c != '[') {
      tgPut(p, c);
      continue;
    }
    cEnd = c == '[' ? ']' : c;
    uBit = c == '_'   ? TG_ITALIC
           : c == '*' ? TG_BOLD
           : c == '[' ? TG_LINK
                      : TG_CODE;
    i++;
    if (c == '`' && tgAt(z, n, i) == '`' && tgAt(z, n, i + 1) == '`') {
      bPre = 1;
      uBit = TG_PRE;
      i = tgPreOpen(z, n, i + 2, &uArg);
    }
    iRes = p->n;
    while (i < n &&
           (tgAt(z, n, i) != cEnd || (bPre && !(tgAt(z, n, i + 1) == '`' &&
                                                tgAt(z, n, i + 2) == '`')))) {
      tgPut(p, (u8)z[i++]);
    }
    if (i >= n) {
      tgFail(p, "entity not closed");
      return;
    }
    if (c == '[') {
      if (c1 == 0 || tgAt(z, n, i + 1) != '(') {
        uArg = 0;
      } else {
        int iUrl = i + 2;
        i += 2;
        while (i < n && z[i] != ')')
          i++;
        uArg = tgHash(z + iUrl, i - iUrl);
      }
    }
    if (p->n > iRes) tgPaint(p, iRes, uBit, uArg);
    if (bPre) i += 2;
  }
}

/*
** Parses z[0..n) in mode eMode into *p (zeroed first).
*/
static void tgParse(int eMode, const char *z, int n, TgText *p) {
  memset(p, 0, sizeof(*p));
  switch (eMode) {
    case TG_HTML: tgHtml(z, n, p); break;
    case TG_MDV2: tgMdv2(z, n, p); break;
    case TG_MD: tgMd(z, n, p); break;
    default:
      for (int i = 0; i < n; i++)
        tgPut(p, (u8)z[i]);
      break;
  }
}

/*
** UTF-16 units of UTF-8 text z[0..n), counted as TDLib counts them.
*/
static int tgUnits(const char *z, int n) {
  int nUnit = 0;
  for (int i = 0; i < n; i++) {
    u8 c = (u8)z[i];
    nUnit += ((c & 0xC0) != 0x80) + (c >= 0xF0);
  }
  return nUnit;
}

/*
** The TG_* mode of a parse mode name.
*/
static int tgMode(const char *zMode) {
  if (zMode == 0) return TG_PLAIN;
  if (strcmp(zMode, "HTML") == 0) return TG_HTML;
  if (strcmp(zMode, "MarkdownV2") == 0) return TG_MDV2;
  return TG_MD;
}

/*
** 1 for the bytes left out of the entity comparison.
*/
static int tgIsWhite(int c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/*
** Runs mpSplit(z, n, zMode, nLimit) and checks its properties (see the
** header comment). Returns NULL if they hold, else a description of the
** first that fails. *pnPart, if not NULL, gets the number of parts.
*/
static const char *mpTestSplitCheck(const char *z, int n, const char *zMode,
                                    int nLimit, int *pnPart) {
  MpSplit s;
  TgText orig, part, joined;
  int eMode = tgMode(zMode);
  int bUtf8 = mpUtf8Valid((const u8 *)z, n);
  int bFitsRaw = tgUnits(z, n) <= nLimit;
  int rc = mpSplit(z, n, zMode, nLimit, &s);
  const char *zFail = 0;
  memset(&joined, 0, sizeof(joined));
  tgParse(eMode, z, n, &orig);
  if (pnPart) *pnPart = s.nPart;
  if (rc == SQLITE_ERROR) {
    if (s.nPart != 0 || s.azPart != 0 || s.anPart != 0) {
      zFail = "an error leaves parts";
    } else if (bFitsRaw) {
      zFail = "an error on a text that fits";
    } else if (orig.zErr == 0 && !(eMode == TG_MDV2 && orig.bNestedQuote)) {
      zFail = "an error on markup that Telegram accepts";
    }
    goto check_done;
  }
  if (rc != SQLITE_OK) {
    zFail = "an unexpected result code";
    goto check_done;
  }
  if (s.nPart < 1) {
    zFail = "no parts";
    goto check_done;
  }
  if (n == 0) {
    if (s.nPart != 1 || s.anPart[0] != 0)
      zFail = "empty text, not one empty part";
    goto check_done;
  }
  for (int k = 0; k < s.nPart; k++) {
    if (s.anPart[k] <= 0) {
      zFail = "an empty part";
    } else if (s.azPart[k][s.anPart[k]] != 0) {
      zFail = "a part without its NUL";
    } else if (bUtf8 && !mpUtf8Valid((const u8 *)s.azPart[k], s.anPart[k])) {
      zFail = "a part that is not valid UTF-8";
    }
    if (zFail) goto check_done;
  }
  if (s.nPart == 1 &&
      (s.anPart[0] != n || memcmp(s.azPart[0], z, (size_t)n) != 0)) {
    zFail = "one part that is not the text";
    goto check_done;
  }
  if ((bFitsRaw || (orig.zErr == 0 && tgUnits(orig.z, orig.n) <= nLimit)) &&
      s.nPart != 1) {
    zFail = "a text that fits cut in several parts";
    goto check_done;
  }
  if (eMode == TG_PLAIN) {
    int iAt = 0;
    for (int k = 0; k < s.nPart && zFail == 0; k++) {
      if (tgUnits(s.azPart[k], s.anPart[k]) > nLimit) {
        zFail = "a plain part longer than the limit";
      } else if (iAt + s.anPart[k] > n ||
                 memcmp(z + iAt, s.azPart[k], (size_t)s.anPart[k]) != 0) {
        zFail = "plain parts do not join into the text";
      }
      iAt += s.anPart[k];
    }
    if (zFail == 0 && iAt != n) zFail = "plain parts are shorter than the text";
    goto check_done;
  }
  if (orig.zErr != 0) goto check_done;
  for (int k = 0; k < s.nPart && zFail == 0; k++) {
    int nUnit;
    tgParse(eMode, s.azPart[k], s.anPart[k], &part);
    nUnit = tgUnits(part.z, part.n);
    if (part.zErr) {
      zFail = "Telegram would refuse a part";
      fprintf(stderr, "part %d refused (%s): [%.*s]\n", k, part.zErr,
              s.anPart[k], s.azPart[k]);
    } else if (nUnit > nLimit) {
      zFail = "a part longer than the limit";
    } else if (nUnit < 1 && s.nPart > 1) {
      zFail = "a part with no visible character";
    } else {
      for (int i = 0; i < part.n; i++) {
        tgPut(&joined, (u8)part.z[i]);
        joined.aMask[joined.n - 1] = part.aMask[i];
        joined.aArg[joined.n - 1] = part.aArg[i];
      }
    }
    tgFree(&part);
  }
  if (zFail) goto check_done;
  if (joined.n != orig.n ||
      (orig.n > 0 && memcmp(joined.z, orig.z, (size_t)orig.n) != 0)) {
    zFail = "the visible texts of the parts do not join into the text's";
    goto check_done;
  }
  for (int i = 0; i < orig.n; i++) {
    if (tgIsWhite((u8)orig.z[i])) continue;
    if (joined.aMask[i] != orig.aMask[i]) {
      fprintf(stderr, "visible byte %d: entities %#x, expected %#x\n", i,
              joined.aMask[i], orig.aMask[i]);
      zFail = "a character lost or gained an entity";
      break;
    }
    if (joined.aArg[i] != orig.aArg[i]) {
      zFail = "a character lost the URL or language of its entity";
      break;
    }
  }

check_done:
  if (zFail) {
    fprintf(stderr, "mode %s, limit %d, rc %d, %d parts:\n",
            zMode ? zMode : "plain", nLimit, rc, s.nPart);
    for (int k = 0; k < s.nPart && k < 12; k++) {
      fprintf(stderr, "  part %d: [%.*s]\n", k, s.anPart[k], s.azPart[k]);
    }
  }
  mpSplitFree(&s);
  tgFree(&orig);
  tgFree(&joined);
  return zFail;
}

#ifndef MP_TEST_SPLIT_NO_MAIN

# include "unit_check.h"

/* A growable text for the generators. */
typedef struct TBuf TBuf;
struct TBuf {
  char *z;    /* The text, NUL-terminated, from malloc() */
  int n;      /* Its length */
  int nAlloc; /* Bytes allocated */
};

/*
** Append n bytes (n < 0: strlen) of z to b.
*/
static void tbAdd(TBuf *b, const char *z, int n) {
  if (n < 0) n = (int)strlen(z);
  if (b->n + n + 1 > b->nAlloc) {
    b->nAlloc = 2 * (b->n + n + 1) + 64;
    b->z = tgAlloc(b->z, (size_t)b->nAlloc);
  }
  memcpy(b->z + b->n, z, (size_t)n);
  b->n += n;
  b->z[b->n] = 0;
}

/*
** Return a new string of n copies of z, from malloc(); the caller frees it.
*/
static char *tbRepeat(const char *z, int n) {
  TBuf b = { 0, 0, 0 };
  tbAdd(&b, "", 0);
  for (int i = 0; i < n; i++)
    tbAdd(&b, z, -1);
  return b.z;
}

/* ---------------------------------------------------------------------
** Table of cases with exact parts.
*/

/* One case: a text, how to split it and the parts expected. */
typedef struct SplitCase SplitCase;
struct SplitCase {
  const char *zMode;     /* Parse mode, or NULL */
  int nLimit;            /* The limit */
  const char *zText;     /* The text */
  const char *azPart[6]; /* The parts expected, then NULL */
};

static const SplitCase aCase[] = {
  /* Plain text that fits is one part, the text itself. */
  { 0, 16, "hello", { "hello", 0 } },
  { 0, 16, "exactly sixteen!", { "exactly sixteen!", 0 } },
  /* After the last space that keeps half the limit. */
  { 0,
    16,
    "one two three four five six",
    { "one two three ", "four five six", 0 } },
  /* A newline beats a later space. */
  { 0,
    16,
    "line one\nline two is long",
    { "line one\n", "line two is long", 0 } },
  /* A paragraph break beats a newline, when it keeps half the limit. */
  { 0, 16, "aaaaaaaa\n\nbb cc\ndd ee", { "aaaaaaaa\n\n", "bb cc\ndd ee", 0 } },
  /* ... and is skipped when it does not. */
  { 0, 16, "aaaa\n\nbbbb cccc dddd", { "aaaa\n\nbbbb cccc ", "dddd", 0 } },
  /* No space: after any character. */
  { 0,
    16,
    "abcdefghijklmnopqrstuvwxyz",
    { "abcdefghijklmnop", "qrstuvwxyz", 0 } },
  /* Emoji count two units; a surrogate pair is never cut. */
  { 0,
    16,
    "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
    "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
    "\xF0\x9F\x98\x80",
    { "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
      "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
      "\xF0\x9F\x98\x80", 0 } },
  /* 17 units: the odd one out goes to the next part. */
  { 0,
    16,
    "a\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
    "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
    { "a\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
      "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
      "\xF0\x9F\x98\x80", 0 } },
  /* A family emoji (11 units with its zero-width joiners) stays whole. */
  { 0,
    16,
    "ab\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91"
    "\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F"
    "\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6",
    { "ab\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91"
      "\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6",
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91"
      "\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6",
      0 } },
  /* A flag is two letters; seven flags and a letter: no cut inside one. */
  { 0,
    16,
    "x\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7"
    "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
    { "x\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7"
      "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA",
      "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", 0 } },
  /* A combining accent stays with its letter. */
  { 0,
    16,
    "abcdefghijklmnoe\xCC\x81xyz",
    { "abcdefghijklmno", "e\xCC\x81xyz", 0 } },

  /* HTML: tags are closed and opened again, attributes kept. */
  { "HTML",
    16,
    "<b>bold words, many of them</b>",
    { "<b>bold words, </b>", "<b>many of them</b>", 0 } },
  { "HTML",
    16,
    "<a href=\"https://t.me/x?a=1&amp;b=2\">aaaa bbbb cccc dddd</a>",
    { "<a href=\"https://t.me/x?a=1&amp;b=2\">aaaa bbbb cccc </a>",
      "<a href=\"https://t.me/x?a=1&amp;b=2\">dddd</a>", 0 } },
  { "HTML",
    16,
    "<b>x <i>yy zz</i></b> and then some more",
    { "<b>x <i>yy zz</i></b> and ", "then some more", 0 } },
  { "HTML",
    16,
    "<B>one <I>two three four five</I> six</b>",
    { "<B>one <I>two three </I></b>", "<B><I>four five</I> six</b>", 0 } },
  /* Entities are one character and never cut. */
  { "HTML",
    16,
    "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&lt;&gt;"
    "&quot;&#128512;&#x1F600;",
    { "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&lt;&gt;"
      "&quot;",
      "&#128512;&#x1F600;", 0 } },
  /* A & that starts no entity is not cut from what follows it. */
  { "HTML",
    16,
    "abcdefghijkl &ampxyz &#12345678901",
    { "abcdefghijkl ", "&ampxyz ", "&#12345678901", 0 } },
  { "HTML", 16, "abcdefghijklm&ampxyzw", { "abcdefghijklm&am", "pxyzw", 0 } },
  { "HTML", 16, "abcdefghijkl&ampxyzw", { "abcdefghijkl&am", "pxyzw", 0 } },
  /* &#10; is a newline to cut after. */
  { "HTML",
    16,
    "first line&#10;second line here",
    { "first line&#10;", "second line here", 0 } },
  /* A pre block keeps its language. */
  { "HTML",
    16,
    "<pre><code class=\"language-c\">int a;\nint b;\nint c;\n</code></pre>",
    { "<pre><code class=\"language-c\">int a;\nint b;\n</code></pre>",
      "<pre><code class=\"language-c\">int c;\n</code></pre>", 0 } },
  { "HTML",
    16,
    "<blockquote expandable>quoted words go on and on</blockquote>",
    { "<blockquote expandable>quoted words go </blockquote>",
      "<blockquote expandable>on and on</blockquote>", 0 } },
  /* A custom emoji is not cut away from its text; the cut goes before. */
  { "HTML",
    16,
    "abcdefghij <tg-emoji emoji-id=\"5368324170671202286\">\xF0\x9F\x91\x8D"
    "\xF0\x9F\x91\x8D\xF0\x9F\x91\x8D</tg-emoji>",
    { "abcdefghij ",
      "<tg-emoji emoji-id=\"5368324170671202286\">\xF0\x9F\x91\x8D\xF0\x9F"
      "\x91\x8D\xF0\x9F\x91\x8D</tg-emoji>",
      0 } },

  /* MarkdownV2. */
  { "MarkdownV2",
    16,
    "*bold words, many of them*",
    { "*bold words, *", "*many of them*", 0 } },
  /* Escapes are one character and never cut. */
  { "MarkdownV2",
    16,
    "1\\.2\\.3\\.4\\.5\\.6\\.7\\.8\\.9",
    { "1\\.2\\.3\\.4\\.5\\.6\\.7\\.8\\.", "9", 0 } },
  /* A link keeps its URL in every part. */
  { "MarkdownV2",
    16,
    "[aaaa bbbb cccc dddd](https://t.me/a\\)b)",
    { "[aaaa bbbb cccc ](https://t.me/a\\)b)", "[dddd](https://t.me/a\\)b)",
      0 } },
  /* A pre block keeps its language. */
  { "MarkdownV2",
    16,
    "```python\nprint(1)\nprint(2)\nprint(3)\n```",
    { "```python\nprint(1)\n```", "```python\nprint(2)\n```",
      "```python\nprint(3)\n```", 0 } },
  { "MarkdownV2",
    16,
    "```\nline one\nline two\n```",
    { "```\nline one\n```", "```\nline two\n```", 0 } },
  /* _ then __: an empty bold goes between, as Telegram advises. */
  { "MarkdownV2",
    16,
    "_a __bbbbbbbbbbbbbbbbbbbb__ c_",
    { "_a __bbbbbbbbbbbbbb__**_", "_**__bbbbbb__ c_", 0 } },
  /* Block quotes: the next part starts with the line's own >. */
  { "MarkdownV2",
    16,
    ">quoted line one\n>quoted line two",
    { ">quoted line one\n", ">quoted line two", 0 } },
  /* An entity inside a quote closes before the newline. */
  { "MarkdownV2",
    16,
    ">*bold line one\n>bold two*",
    { ">*bold line one*\n", ">*bold two*", 0 } },
  { "MarkdownV2",
    16,
    "**>expandable quote text here||",
    { "**>expandable ||", ">quote text here||", 0 } },
  /* A quote inside bold: cut only after its newlines. */
  { "MarkdownV2",
    16,
    "*x\n>aaaa bbbb\n>cccc dddd\n>eeee ffff\n*",
    { "*x\n>aaaa bbbb\n*", "*>cccc dddd\n*", "*>eeee ffff\n*", 0 } },
  /* A link whose text is its URL is kept whole if it can be. */
  { "MarkdownV2",
    16,
    "abcd [efghijklmnopqrst]",
    { "abcd ", "[efghijklmnopqrst]", 0 } },
  /* Inside code only ` and \ are escaped; the rest is text. */
  { "MarkdownV2",
    16,
    "`a_b*c [d] e.f-g h`",
    { "`a_b*c [d] e.f-g `", "`h`", 0 } },

  /* Markdown (legacy). */
  { "Markdown",
    16,
    "*bold words, many of them*",
    { "*bold words, *", "*many of them*", 0 } },
  { "Markdown",
    16,
    "[aaaa bbbb cccc dddd](http://t.me/x)",
    { "[aaaa bbbb cccc ](http://t.me/x)", "[dddd](http://t.me/x)", 0 } },
  /* No cut after a ` inside a pre block: it would end the block. */
  { "Markdown",
    16,
    "```\n0123456789abcd``ef```",
    { "```\n0123456789abcd```", "```\n``ef```", 0 } },
  { "Markdown",
    16,
    "```go\nfmt.Print()\nx := 1\n```",
    { "```go\nfmt.Print()\n```", "```go\nx := 1\n```", 0 } },
  { "Markdown",
    16,
    "\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_ \\*\\*\\*\\*\\*\\*",
    { "\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_ ", "\\*\\*\\*\\*\\*\\*", 0 } },
};

/*
** The table cases: exact parts, then the properties.
*/
static void mpTestCases(void) {
  for (size_t k = 0; k < sizeof(aCase) / sizeof(aCase[0]); k++) {
    const SplitCase *pCase = &aCase[k];
    MpSplit s;
    int nExpect = 0, rc;
    while (pCase->azPart[nExpect])
      nExpect++;
    rc = mpSplit(pCase->zText, -1, pCase->zMode, pCase->nLimit, &s);
    if (CHECK(rc == SQLITE_OK, pCase->zText) &&
        CHECK(s.nPart == nExpect, pCase->zText)) {
      for (int i = 0; i < nExpect; i++) {
        if (!CHECK(s.anPart[i] == (int)strlen(pCase->azPart[i]) &&
                       strcmp(s.azPart[i], pCase->azPart[i]) == 0,
                   pCase->zText)) {
          fprintf(stderr, "  part %d: got [%s], expected [%s]\n", i,
                  s.azPart[i], pCase->azPart[i]);
        }
      }
    } else {
      for (int i = 0; i < s.nPart; i++) {
        fprintf(stderr, "  part %d: [%s]\n", i, s.azPart[i]);
      }
    }
    mpSplitFree(&s);
    CHECK(mpTestSplitCheck(pCase->zText, (int)strlen(pCase->zText),
                           pCase->zMode, pCase->nLimit, 0) == 0,
          pCase->zText);
  }
}

/*
** Errors and edge cases.
*/
static void mpTestErrors(void) {
  MpSplit s;
  char *z;
  int rc;

  /* A zeroed MpSplit can be freed, twice. */
  memset(&s, 0, sizeof(s));
  mpSplitFree(&s);
  mpSplitFree(&s);
  CHECK(s.nPart == 0 && s.azPart == 0 && s.anPart == 0, "free zeroed");

  /* The limit must be at least 16. */
  rc = mpSplit("hello", 5, 0, 15, &s);
  CHECK(rc == SQLITE_ERROR && s.nPart == 0, "limit 15");
  rc = mpSplit("hello", 5, 0, 16, &s);
  CHECK(rc == SQLITE_OK && s.nPart == 1, "limit 16");
  mpSplitFree(&s);

  /* Unknown parse modes are refused; known ones in any case. */
  rc = mpSplit("hello", 5, "markdownv3", 100, &s);
  CHECK(rc == SQLITE_ERROR && s.nPart == 0, "unknown mode");
  rc = mpSplit("<b>aaaa bbbb cccc dddd</b>", -1, "html", 16, &s);
  CHECK(rc == SQLITE_OK && s.nPart == 2 &&
            strcmp(s.azPart[0], "<b>aaaa bbbb cccc </b>") == 0,
        "html in lower case");
  mpSplitFree(&s);

  /* An empty text is one empty part. */
  rc = mpSplit("", 0, "HTML", 16, &s);
  CHECK(rc == SQLITE_OK && s.nPart == 1 && s.anPart[0] == 0 &&
            s.azPart[0][0] == 0,
        "empty text");
  mpSplitFree(&s);

  /* Broken markup: returned whole if it fits as it is... */
  rc = mpSplit("<b>abc", -1, "HTML", 16, &s);
  CHECK(rc == SQLITE_OK && s.nPart == 1 && strcmp(s.azPart[0], "<b>abc") == 0,
        "short broken HTML");
  mpSplitFree(&s);
  /* ... and refused when it must be cut. */
  z = tbRepeat("abc ", 10);
  {
    static const char *const azBroken[][2] = {
      { "HTML", "<b>" },          { "HTML", "</b>" },
      { "HTML", "<b" },           { "HTML", "<b>x</i>" },
      { "HTML", "< b>" },         { "HTML", "<a href=\"x>" },
      { "HTML", "<a href=x:y>" }, { "HTML", "<a =\"x\">y</a>" },
      { "MarkdownV2", "*" },      { "MarkdownV2", "." },
      { "MarkdownV2", "[x](y" },  { "MarkdownV2", "|" },
      { "MarkdownV2", "x>" },     { "MarkdownV2", "![x]" },
      { "Markdown", "*" },        { "Markdown", "```" },
    };
    for (size_t k = 0; k < sizeof(azBroken) / sizeof(azBroken[0]); k++) {
      TBuf b = { 0, 0, 0 };
      tbAdd(&b, z, -1);
      tbAdd(&b, azBroken[k][1], -1);
      tbAdd(&b, z, -1);
      rc = mpSplit(b.z, b.n, azBroken[k][0], 16, &s);
      CHECK(rc == SQLITE_ERROR && s.nPart == 0, azBroken[k][1]);
      CHECK(mpTestSplitCheck(b.z, b.n, azBroken[k][0], 16, 0) == 0,
            azBroken[k][1]);
      /* As plain text the same bytes are fine. */
      CHECK(mpTestSplitCheck(b.z, b.n, 0, 16, 0) == 0, azBroken[k][1]);
      free(b.z);
    }
  }
  free(z);

  /* A quote inside bold with a line longer than the limit. */
  z = tbRepeat("a", 40);
  {
    TBuf b = { 0, 0, 0 };
    tbAdd(&b, "*x\n>", -1);
    tbAdd(&b, z, -1);
    tbAdd(&b, "\n*", -1);
    rc = mpSplit(b.z, b.n, "MarkdownV2", 16, &s);
    CHECK(rc == SQLITE_ERROR && s.nPart == 0, "nested quote, long line");
    free(b.z);
  }
  free(z);

  /* A text that fits only once its markup is left out is one part. */
  rc = mpSplit("<b><i><u>0123456789abcdef</u></i></b>", -1, "HTML", 16, &s);
  CHECK(rc == SQLITE_OK && s.nPart == 1 &&
            strcmp(s.azPart[0], "<b><i><u>0123456789abcdef</u></i></b>") == 0,
        "fits after parsing");
  mpSplitFree(&s);

  /* A whole Telegram-size text: 10000 characters at 4096. */
  z = tbRepeat("word ", 2000);
  rc = mpSplit(z, -1, 0, MP_TELEGRAM_LIMIT, &s);
  CHECK(rc == SQLITE_OK && s.nPart == 3 && s.anPart[0] == 4095 &&
            s.anPart[1] == 4095 && s.anPart[2] == 1810,
        "10000 at 4096");
  mpSplitFree(&s);
  CHECK(mpTestSplitCheck(z, (int)strlen(z), "MarkdownV2", 4096, 0) == 0,
        "10000 at 4096, MarkdownV2");
  free(z);

  /* Deep nesting re-opened in every part: too much output is refused. */
  {
    char *zOpen = tbRepeat("<b>", 2000), *zMid = tbRepeat("x", 2000);
    char *zClose = tbRepeat("</b>", 2000);
    TBuf b = { 0, 0, 0 };
    tbAdd(&b, zOpen, -1);
    tbAdd(&b, zMid, -1);
    tbAdd(&b, zClose, -1);
    rc = mpSplit(b.z, b.n, "HTML", 16, &s);
    CHECK(rc == SQLITE_TOOBIG && s.nPart == 0, "deep nesting at 16");
    rc = mpSplit(b.z, b.n, "HTML", 1000, &s);
    CHECK(rc == SQLITE_OK && s.nPart == 2, "deep nesting at 1000");
    mpSplitFree(&s);
    free(zOpen);
    free(zMid);
    free(zClose);
    free(b.z);
  }

  /* Markup that does not count keeps parts within the limit. */
  z = tbRepeat("<b>x</b> ", 1000);
  CHECK(mpTestSplitCheck(z, (int)strlen(z), "HTML", 100, 0) == 0,
        "many small entities");
  free(z);
}

/* ---------------------------------------------------------------------
** Out of memory: every allocation from the N-th on fails.
*/

static sqlite3_mem_methods memDefault; /* SQLite's own allocator */
static int nMallocLeft = -1; /* Allocations until they fail; -1: never */

/*
** xMalloc of the failing allocator.
*/
static void *oomMalloc(int n) {
  if (nMallocLeft == 0) return 0;
  if (nMallocLeft > 0) nMallocLeft--;
  return memDefault.xMalloc(n);
}

/*
** xRealloc of the failing allocator.
*/
static void *oomRealloc(void *p, int n) {
  if (nMallocLeft == 0) return 0;
  if (nMallocLeft > 0) nMallocLeft--;
  return memDefault.xRealloc(p, n);
}

/*
** Splits some texts with allocations failing from the 1st, 2nd, ... on:
** each attempt either succeeds or returns SQLITE_NOMEM with *pOut zeroed,
** and nothing leaks (LeakSanitizer checks at exit).
*/
static void mpTestOom(void) {
  static const char *const azText[][2] = {
    { 0, "one two three four five six seven eight nine ten eleven" },
    { "HTML",
      "<b>bold <a href=\"u\">words, many</a> of them &amp; more</b> x" },
    { "MarkdownV2", ">*quoted bold line\n>and more of it* \\. done\n\n_x_ y" },
    { "Markdown", "```c\nint a;\nint b;\nint c;\n``` and [link text](u) z" },
  };
  sqlite3_mem_methods oom;
  sqlite3_shutdown();
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &memDefault) != SQLITE_OK) {
    CHECK(0, "cannot read the allocator");
    return;
  }
  oom = memDefault;
  oom.xMalloc = oomMalloc;
  oom.xRealloc = oomRealloc;
  sqlite3_config(SQLITE_CONFIG_MALLOC, &oom);
  sqlite3_initialize();
  for (size_t k = 0; k < sizeof(azText) / sizeof(azText[0]); k++) {
    int nWrong = 0, bDone = 0, iFail;
    for (iFail = 0; iFail < 1000 && !bDone; iFail++) {
      MpSplit s;
      int rc;
      nMallocLeft = iFail;
      rc = mpSplit(azText[k][1], -1, azText[k][0], 16, &s);
      nMallocLeft = -1;
      if (rc == SQLITE_OK) {
        bDone = s.nPart > 1;
        mpSplitFree(&s);
      } else if (rc != SQLITE_NOMEM || s.nPart || s.azPart || s.anPart) {
        nWrong++;
      }
    }
    /* Several allocations failed before one attempt got through. */
    CHECK(bDone && nWrong == 0 && iFail > 5, azText[k][1]);
  }
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_MALLOC, &memDefault);
  sqlite3_initialize();
}

/* ---------------------------------------------------------------------
** Generated texts.
*/

static u64 iRand = 1; /* State of the generator (xorshift64*) */

/*
** A pseudo-random number below n (n > 0).
*/
static int tRand(int n) {
  iRand ^= iRand >> 12;
  iRand ^= iRand << 25;
  iRand ^= iRand >> 27;
  return (int)((iRand * 2685821657736338717ULL >> 33) % (u64)n);
}

/* Words without any character that markup reserves. */
static const char *const azWord[] = {
  "a",
  "to",
  "word",
  "Telegram",
  "queue",
  "x1",
  "caf\xC3\xA9",
  "\xD0\xB6\xD1\x83\xD0\xBA",
  "\xE4\xB8\xAD\xE6\x96\x87",
  "\xF0\x9F\x98\x80",
  "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
  "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
  "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA",
  "e\xCC\x81",
  "\xF0\x9D\x84\x9E",
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij",
  "\xE2\x9C\x85",
  "\xE2\x9D\xA4\xEF\xB8\x8F",
};

/*
** Append a word (mostly short).
*/
static void genWord(TBuf *b) {
  tbAdd(b, azWord[tRand(TG_COUNT(azWord))], -1);
}

/*
** Append a special character as mode eMode writes it outside code.
*/
static void genSpecial(TBuf *b, int eMode) {
  static const char *const azHtml[] = {
    "&amp;", "&lt;", "&gt;", "&quot;", "&#128512;", "&#x1F600;", "&#10;",
    "&#32;", "&amp", ">",    "& ",     "\"",        "'",         "-",
  };
  static const char *const azMdv2[] = {
    "\\_", "\\*", "\\[",  "\\]", "\\(",        "\\)",  "\\~", "\\`",
    "\\>", "\\#", "\\+",  "\\-", "\\=",        "\\|",  "\\{", "\\}",
    "\\.", "\\!", "\\\\", "\\a", "\\\xC3\xA9", "\\\n", ",",   "?",
  };
  static const char *const azMd[] = {
    "\\_", "\\*", "\\`", "\\[", "]", "(", ")", "\\", ".", "-", "!", ">",
  };
  static const char *const azPlain[] = {
    "<", ">", "&", "*", "_", "[", "]", "`", "\\", "|", "~", "\t", "\r\n",
  };
  switch (eMode) {
    case TG_HTML: tbAdd(b, azHtml[tRand(TG_COUNT(azHtml))], -1); break;
    case TG_MDV2: tbAdd(b, azMdv2[tRand(TG_COUNT(azMdv2))], -1); break;
    case TG_MD: tbAdd(b, azMd[tRand(TG_COUNT(azMd))], -1); break;
    default: tbAdd(b, azPlain[tRand(TG_COUNT(azPlain))], -1); break;
  }
}

/*
** Append code text for mode eMode: characters markup reserves elsewhere
** appear as they are; only what code itself reserves is escaped.
*/
static void genCode(TBuf *b, int eMode, int bNewline) {
  int nItem = 1 + tRand(6);
  for (int i = 0; i < nItem; i++) {
    int r = tRand(10);
    if (i > 0) tbAdd(b, bNewline && r == 0 ? "\n" : " ", -1);
    if (r < 6) {
      genWord(b);
    } else if (eMode == TG_HTML) {
      tbAdd(b, r == 6 ? "a &lt; b" : r == 7 ? "*_[x]_*" : "&amp;&#10;", -1);
    } else if (eMode == TG_MDV2) {
      tbAdd(b, r == 6 ? "a_b*c[d]" : r == 7 ? "\\`\\\\" : "x.y-z!", -1);
    } else {
      /* Legacy Markdown: no character that could end the entity. */
      tbAdd(b, r == 6 ? "(x)" : r == 7 ? "\\x" : "x.y-z!", -1);
    }
  }
}

static void genInline(TBuf *b, int eMode, int nDepth, unsigned mOpen,
                      int bNewline);

/*
** Append one entity of mode eMode around generated content, of a type not
** already open (mOpen). Returns 0 if it chose none.
*/
static int genEntity(TBuf *b, int eMode, int nDepth, unsigned mOpen,
                     int bNewline) {
  int r = tRand(12);
  if (eMode == TG_HTML) {
    static const char *const azTag[][2] = {
      { "<b>", "</b>" },
      { "<strong>", "</strong>" },
      { "<i>", "</i>" },
      { "<em>", "</em>" },
      { "<u>", "</u>" },
      { "<s>", "</s>" },
      { "<tg-spoiler>", "</tg-spoiler>" },
      { "<span class=\"tg-spoiler\">", "</span>" },
      { "<a href=\"https://example.com/?q=1&amp;r=2\">", "</a>" },
      { "<B>", "</b>" },
      { "<a href='tg://user?id=42'>", "</A>" },
      { "<blockquote>", "</blockquote>" },
    };
    if (r == 11 && nDepth > 0) return 0;
    if (r >= 8 && r <= 10 && (mOpen & TG_LINK)) return 0;
    tbAdd(b, azTag[r][0], -1);
    if (tRand(8) == 0) {
      int bPre = tRand(2);
      tbAdd(b, bPre ? "<pre><code class=\"language-c\">" : "<code>", -1);
      genCode(b, eMode, bNewline);
      tbAdd(b, bPre ? "</code></pre>" : "</code>", -1);
    } else {
      genInline(b, eMode, nDepth + 1, mOpen | (r >= 8 && r <= 10 ? TG_LINK : 0),
                bNewline);
    }
    tbAdd(b, azTag[r][1], -1);
    return 1;
  }
  if (eMode == TG_MDV2) {
    static const struct {
      const char *zOpen, *zClose;
      unsigned uBit;
    } aEnt[] = {
      { "*", "*", TG_BOLD },
      { "_", "_", TG_ITALIC },
      { "__", "__", TG_UNDERLINE },
      { "~", "~", TG_STRIKE },
      { "||", "||", TG_SPOILER },
      { "[", "](https://example.com/a\\)b)", TG_LINK },
      { "[", "](tg://user?id=42)", TG_LINK },
    };
    if (r < 7) {
      if (mOpen & aEnt[r].uBit) return 0;
      /* Italic inside underline inside italic would be ambiguous. */
      if ((aEnt[r].uBit & (TG_ITALIC | TG_UNDERLINE)) &&
          (mOpen & (TG_ITALIC | TG_UNDERLINE))) {
        return 0;
      }
      tbAdd(b, aEnt[r].zOpen, -1);
      genInline(b, eMode, nDepth + 1, mOpen | aEnt[r].uBit, bNewline);
      tbAdd(b, aEnt[r].zClose, -1);
      return 1;
    }
    if (r == 7) {
      tbAdd(b, "`", -1);
      genCode(b, eMode, bNewline);
      tbAdd(b, "`", -1);
      return 1;
    }
    if (r == 8) {
      tbAdd(b, "![\xF0\x9F\x91\x8D](tg://emoji?id=5368324170671202286)", -1);
      return 1;
    }
    return 0;
  }
  if (eMode == TG_MD && nDepth == 0) {
    static const char *const azEnt[][2] = {
      { "*", "*" }, { "_", "_" },
      { "`", "`" }, { "[", "](http://example.com/x)" },
      { "[", "]" },
    };
    if (r >= 5) return 0;
    tbAdd(b, azEnt[r][0], -1);
    genCode(b, TG_MD, bNewline);
    tbAdd(b, azEnt[r][1], -1);
    return 1;
  }
  return 0;
}

/*
** Append inline content: words, spaces, newlines (if bNewline), special
** characters and entities, starting and ending with a word.
*/
static void genInline(TBuf *b, int eMode, int nDepth, unsigned mOpen,
                      int bNewline) {
  int nItem = 1 + tRand(nDepth ? 5 : 12);
  genWord(b);
  for (int i = 0; i < nItem; i++) {
    int r = tRand(20);
    if (r < 8) {
      tbAdd(b, " ", -1);
      genWord(b);
    } else if (r < 10) {
      tbAdd(b, bNewline ? "\n" : " ", -1);
      genWord(b);
    } else if (r < 13) {
      genSpecial(b, eMode);
      genWord(b);
    } else if (r < 17 && nDepth < 3) {
      tbAdd(b, " ", -1);
      genEntity(b, eMode, nDepth, mOpen, bNewline);
      tbAdd(b, " ", -1);
      genWord(b);
    } else {
      genWord(b);
    }
  }
}

/*
** Append a block: a paragraph, a pre block or a block quote.
*/
static void genBlock(TBuf *b, int eMode) {
  int r = tRand(10);
  if (r < 6) {
    genInline(b, eMode, 0, 0, 1);
  } else if (r == 6 && eMode == TG_HTML) {
    int bCode = tRand(2);
    tbAdd(b, bCode ? "<pre><code class=\"language-python\">" : "<pre>", -1);
    genCode(b, eMode, 1);
    tbAdd(b, bCode ? "\n</code></pre>" : "\n</pre>", -1);
  } else if (r == 6 && (eMode == TG_MDV2 || eMode == TG_MD)) {
    tbAdd(b, tRand(2) ? "```\n" : "```python\n", -1);
    genCode(b, eMode, 1);
    tbAdd(b, "\n```", -1);
  } else if (r == 7 && eMode == TG_HTML) {
    tbAdd(b, tRand(2) ? "<blockquote>" : "<blockquote expandable>", -1);
    genInline(b, eMode, 1, 0, 1);
    tbAdd(b, "</blockquote>", -1);
  } else if (r == 7 && eMode == TG_MDV2) {
    /* A block quote: at the start of a line, ended by a newline. */
    int nLine = 1 + tRand(4), bExpand = tRand(3) == 0;
    if (b->n > 0 && b->z[b->n - 1] != '\n') tbAdd(b, "\n", -1);
    for (int i = 0; i < nLine; i++) {
      tbAdd(b, i == 0 && bExpand ? "**>" : ">", -1);
      genInline(b, eMode, 1, 0, 0);
      if (i == nLine - 1 && bExpand) tbAdd(b, "||", -1);
      tbAdd(b, "\n", -1);
    }
  } else if (r == 8 && eMode == TG_MDV2) {
    /* A block quote inside bold. */
    if (b->n > 0 && b->z[b->n - 1] != '\n') tbAdd(b, "\n", -1);
    tbAdd(b, "*", -1);
    genWord(b);
    tbAdd(b, "\n>", -1);
    genInline(b, eMode, 1, TG_BOLD, 0);
    tbAdd(b, "\n>", -1);
    genInline(b, eMode, 1, TG_BOLD, 0);
    tbAdd(b, "\n*", -1);
  } else {
    genInline(b, eMode, 0, 0, 1);
  }
}

/*
** A generated text of about nTarget bytes for mode eMode, from malloc().
** Now and then a few markup characters are thrown in at random places
** (on character boundaries), which usually breaks the markup.
*/
static char *genText(int eMode, int nTarget, int *pn) {
  TBuf b = { 0, 0, 0 };
  tbAdd(&b, "", 0);
  while (b.n < nTarget) {
    genBlock(&b, eMode);
    if (b.n < nTarget) {
      int r = tRand(4);
      tbAdd(&b, r == 0 ? "\n\n" : r == 1 ? "\n" : " ", -1);
    }
  }
  if (tRand(8) == 0 && b.n > 0) {
    static const char zJunk[] = "<>&*_[]()`|~\\\n#/";
    int nJunk = 1 + tRand(3);
    for (int k = 0; k < nJunk; k++) {
      int i = tRand(b.n);
      while (i > 0 && ((u8)b.z[i] & 0xC0) == 0x80)
        i--;
      tbAdd(&b, " ", 1);
      memmove(b.z + i + 1, b.z + i, (size_t)(b.n - 1 - i));
      b.z[i] = zJunk[tRand((int)sizeof(zJunk) - 1)];
    }
  }
  *pn = b.n;
  return b.z;
}

/*
** The property test: many generated texts in each mode, checked with
** mpTestSplitCheck(). Also checks that enough of them are accepted by the
** oracle for the test to mean something.
*/
static void mpTestProperties(int nIter) {
  static const char *const azMode[] = { 0, "HTML", "MarkdownV2", "Markdown" };
  static const int aLimit[] = { 16, 17, 19, 24, 32, 50, 100, 333, 4096 };
  int anValid[4] = { 0, 0, 0, 0 }, anTotal[4] = { 0, 0, 0, 0 };
  int anCut[4] = { 0, 0, 0, 0 };
  for (int iter = 0; iter < nIter; iter++) {
    int eMode = iter % 4, n, nPart = 0;
    int nLimit = aLimit[tRand(sizeof(aLimit) / sizeof(aLimit[0]))];
    int nTarget = nLimit == 4096 ? tRand(20000) : tRand(nLimit * 10);
    char *z = genText(eMode, nTarget, &n);
    const char *zFail;
    TgText t;
    tgParse(eMode, z, n, &t);
    anTotal[eMode]++;
    if (t.zErr == 0) anValid[eMode]++;
    tgFree(&t);
    zFail = mpTestSplitCheck(z, n, azMode[eMode], nLimit, &nPart);
    if (nPart > 1) anCut[eMode]++;
    if (!CHECK(zFail == 0, zFail)) {
      fprintf(stderr, "  iteration %d, text (%d bytes): [%s]\n", iter, n, z);
    }
    free(z);
  }
  printf("property test: %d texts", nIter);
  for (int e = 0; e < 4; e++) {
    printf("; %s %d valid of %d, %d cut", azMode[e] ? azMode[e] : "plain",
           anValid[e], anTotal[e], anCut[e]);
    CHECK(anValid[e] * 2 > anTotal[e], "generator makes valid markup");
    CHECK(anCut[e] * 2 > anTotal[e], "generator makes texts to cut");
  }
  printf("\n");
}

/*
** ASCII words: every part but the last keeps at least half the limit, so
** there are few parts.
*/
static void mpTestFewParts(int nIter) {
  for (int iter = 0; iter < nIter; iter++) {
    int nLimit = 16 + tRand(200), bOk = 1;
    TBuf b = { 0, 0, 0 };
    MpSplit s;
    int nTarget = tRand(nLimit * 12);
    tbAdd(&b, "", 0);
    while (b.n < nTarget) {
      static const char *const azSep[] = { " ", " ", " ", "\n", "\n\n" };
      int nWord = 1 + tRand(20);
      for (int i = 0; i < nWord; i++)
        tbAdd(&b, "w", 1);
      tbAdd(&b, azSep[tRand(5)], -1);
    }
    if (mpSplit(b.z, b.n, 0, nLimit, &s) != SQLITE_OK) bOk = 0;
    for (int k = 0; bOk && k + 1 < s.nPart; k++) {
      if (2 * s.anPart[k] < nLimit) bOk = 0;
    }
    CHECK(bOk, b.z);
    mpSplitFree(&s);
    free(b.z);
  }
}

int main(int argc, char **argv) {
  if (argc > 1) iRand = strtoull(argv[1], 0, 10) | 1;
  mpTestCases();
  mpTestErrors();
  mpTestFewParts(500);
  mpTestProperties(argc > 2 ? atoi(argv[2]) : 4000);
  mpTestOom();
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail != 0;
}

#endif /* MP_TEST_SPLIT_NO_MAIN */
