/*
** SPDX-License-Identifier: MIT
**
** mp_split.c: cutting a text that is longer than Telegram's limit into
** several messages that Telegram accepts, in order, with their markup.
**
**   mp_split(text [, parse_mode [, limit]])   a JSON array of the parts
**
**   SELECT mp_split('Short text');
**   -- ["Short text"]
**   SELECT mp_split('one two three four five six', NULL, 16);
**   -- ["one two three ","four five six"]
**   SELECT mp_split('<b>bold words, many of them</b>', 'HTML', 16);
**   -- ["<b>bold words, </b>","<b>many of them</b>"]
**   SELECT mp_split('*bold words, many of them*', 'MarkdownV2', 16);
**   -- ["*bold words, *","*many of them*"]
**   SELECT value FROM json_each(mp_split(message_text, parse_mode));
**
** parse_mode is NULL (plain text), 'HTML', 'MarkdownV2' or 'Markdown', in
** any case. limit is 16..4096; NULL or absent means 4096, Telegram's limit.
** Each part holds at most limit characters as Telegram counts them: UTF-16
** code units (most emoji count 2) of the text that is left once Telegram
** has parsed the markup. Tags, markup characters, escaping backslashes and
** link URLs do not count; &amp; or &#128512; counts as its character.
**
** HOW IT WORKS
**
** 1. A text that fits even when every byte of its markup counts is returned
**    whole, as one part equal to the text; its markup is not looked at.
**
** 2. Otherwise the text is read as Telegram reads it (the rules of TDLib's
**    parse_html, parse_markdown_v2 and parse_markdown) into atoms: a visible
**    character (a UTF-8 character, an HTML entity, a Markdown escape such as
**    \*) with its width in UTF-16 units, markup that opens an entity
**    (<a href="...">, *, ```python), markup that closes one (</a>, *,
**    ](url)) and other markup (the > that continues a MarkdownV2 block
**    quotation). Cuts fall only between atoms: never inside a character, a
**    surrogate pair, a tag, an HTML entity or an escape. Markup that
**    Telegram would refuse (an unclosed tag, an end tag that does not match,
**    an unescaped reserved character, an entity left open) makes the split
**    fail with SQLITE_ERROR, and mp_split() with an error that says what and
**    where: there is no safe way to cut what cannot be parsed, and Telegram
**    would refuse every part anyway. Tag names and URLs are not checked.
**
** 3. Each part takes as many visible units as fit. It is cut after its last
**    "\n\n", else its last "\n", else its last space or tab, else after any
**    character: the first of these that keeps at least half the limit in the
**    part, else the latest cut found. Markup that closes an entity right
**    after the cut stays in the part. A cut avoids, unless nothing else
**    fits, the inside of a custom emoji, of a tg-time and of a link that has
**    no URL (its text is its URL), and the middle of a grapheme: before a
**    combining mark, a variation selector or a skin tone, around a zero-width
**    joiner, between \r and \n and between the two letters of a flag.
**
** 4. The entities open at a cut are closed at the end of the part, innermost
**    first, with the markup that closes them in the text, and opened again
**    at the start of the next part, outermost first, with the markup that
**    opened them: the same tag with the same attributes, the same link URL,
**    the same language of a pre block.
**
** WHAT A CUT ADDS AND DROPS
**
** Nothing visible is dropped or added: part k ends with the newline or space
** it was cut after, and the visible texts of the parts, joined, are the
** visible text of the input. Only markup is added, at the ends of parts:
**
**   - the closing and re-opening markup above;
**   - a pre block (``` in Markdown) is re-opened as ``` + its language +
**     "\n" (or "\r\n" before a "\r"), a newline that Telegram drops;
**   - MarkdownV2: "**" (an empty bold entity, which Telegram drops) between
**     two markup tokens when the first ends with _ and the next starts with
**     _, as Telegram's documentation advises for ___ ambiguity;
**   - MarkdownV2: when a part ends with a raw newline inside a block
**     quotation, that newline moves after the markup that closes the
**     entities inside the quotation, because Telegram ends a quotation at a
**     newline. It stays in the part and visible. When the next part starts
**     with the > of the quotation's next line, that > re-opens the
**     quotation (outer entities first, inner ones after it).
**
** LIMITS
**
**   - A run of more spaces or newlines than the limit gives a part that is
**     only whitespace, which Telegram refuses as empty.
**   - MarkdownV2 can only end a block quotation at a newline. When a block
**     quotation lies inside another entity, a part that ends inside it must
**     end after a raw newline; if one of its lines is longer than the limit
**     the split fails with SQLITE_ERROR.
**   - A link without a URL that is longer than the limit is cut, and each
**     part then links to its own piece of text.
**   - The parts may hold at most 16 bytes per byte of input plus 1 MiB
**     (re-opened markup); beyond that the split fails with SQLITE_TOOBIG.
*/
#include "mp_int.h"

#include <string.h>

/* Parse modes. */
#define MP_MODE_PLAIN 0
#define MP_MODE_HTML  1
#define MP_MODE_MDV2  2
#define MP_MODE_MD    3

/* Kinds of atoms. */
#define MP_ATOM_TEXT  0 /* One visible character */
#define MP_ATOM_OPEN  1 /* Markup that opens an entity */
#define MP_ATOM_CLOSE 2 /* Markup that closes the entity of iMatch */
#define MP_ATOM_MARK  3 /* Other markup, invisible */

/* Entity types, in MpAtom.eType of OPEN and CLOSE atoms. */
#define MP_ENT_TAG       1 /* An HTML tag */
#define MP_ENT_BOLD      2
#define MP_ENT_ITALIC    3
#define MP_ENT_UNDERLINE 4
#define MP_ENT_STRIKE    5
#define MP_ENT_SPOILER   6
#define MP_ENT_CODE      7
#define MP_ENT_PRE       8
#define MP_ENT_LINK      9
#define MP_ENT_EMOJI     10
#define MP_ENT_QUOTE     11

/* Flags, in MpAtom.mFlags. */
#define MP_AF_WHOLE   0x01 /* OPEN: keep the entity in one part if possible */
#define MP_AF_EXPAND  0x02 /* OPEN: an expandable MarkdownV2 block quote */
#define MP_AF_LANG    0x04 /* OPEN: a Markdown pre block with a language */
#define MP_AF_NOCUT   0x08 /* TEXT: never cut right after this atom */
#define MP_AF_RAWNL   0x10 /* TEXT: a MarkdownV2 newline that is markup too */
#define MP_AF_INWHOLE 0x20 /* A cut before this atom is inside a WHOLE one */
#define MP_AF_INQUOTE 0x40 /* A cut before this atom is in a NESTED quote */
#define MP_AF_NESTED  0x80 /* OPEN: a MarkdownV2 quote inside an entity */

/* Classes of cuts, best first. */
#define MP_CUT_PARA  0 /* After "\n\n" */
#define MP_CUT_LINE  1 /* After "\n" */
#define MP_CUT_SPACE 2 /* After a space or a tab */
#define MP_CUT_ANY   3 /* After any other character */
#define MP_CUT_WEAK  4 /* Inside a grapheme or a WHOLE entity */
#define MP_CUT_COUNT 5

/* The smallest limit mpSplit() accepts. */
#define MP_SPLIT_MIN_LIMIT 16

/*
** One atom of the text. An atom ends where the next one starts (the last
** one at the end of the text); a zero-length atom is possible (the end of
** a MarkdownV2 block quote, which is the newline before it).
*/
typedef struct MpAtom MpAtom;
struct MpAtom {
  int iStart; /* Offset of its first byte */
  int iMatch; /* OPEN: index of its CLOSE atom; CLOSE: of its OPEN */
  int iCp;    /* TEXT: the code point it shows */
  u8 eKind;   /* MP_ATOM_* */
  u8 eType;   /* OPEN, CLOSE: MP_ENT_* */
  u8 nWeight; /* TEXT: its width in UTF-16 code units, 1 or 2 */
  u8 mFlags;  /* MP_AF_* */
};

/*
** The state of one split: the text, its atoms, and the part being written.
*/
typedef struct MpSplitter MpSplitter;
struct MpSplitter {
  const u8 *z;       /* The text */
  int n;             /* Its length in bytes */
  int eMode;         /* MP_MODE_* */
  MpAtom *aAtom;     /* The atoms, in text order */
  int nAtom;         /* Atoms used */
  int nAtomAlloc;    /* Atoms allocated */
  int *aStack;       /* Indexes of the OPEN atoms of open entities */
  int nStack;        /* Entries used */
  int nStackAlloc;   /* Entries allocated */
  i64 nVisible;      /* Sum of the weights of the TEXT atoms */
  int rc;            /* SQLITE_OK, or the first error */
  const char *zWhy;  /* When rc is SQLITE_ERROR: what is wrong */
  int iWhy;          /* ... and the byte offset it concerns, or -1 */
  sqlite3_str *pOut; /* The part being written */
  int bUnder;        /* MarkdownV2: pOut ends with markup ending in _ */
  i64 nOutMax;       /* Most bytes all parts together may have */
  i64 nOut;          /* Bytes of the parts written so far */
};

/*
** Returns byte i of the text, or 0 outside it. The parsers, like TDLib's,
** treat the end of the text as a NUL byte; reading through this function
** keeps every read inside z[0..n).
*/
static int mpSplitAt(const MpSplitter *p, int i) {
  return i >= 0 && i < p->n ? p->z[i] : 0;
}

/*
** Returns 1 for the bytes TDLib counts as space (NUL included), else 0.
*/
static int mpSplitIsSpace(int c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 || c == '\v';
}

/*
** Returns 1 for an ASCII letter, else 0.
*/
static int mpSplitIsAlpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
** Returns 1 for an ASCII digit, else 0.
*/
static int mpSplitIsDigit(int c) {
  return c >= '0' && c <= '9';
}

/*
** Returns the value of hexadecimal digit c, or -1.
*/
static int mpSplitHex(int c) {
  if (mpSplitIsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/*
** Returns 1 if code point c continues the grapheme before it: a combining
** mark, a variation selector, a zero-width joiner, an emoji skin tone or a
** tag character. Else 0.
*/
static int mpSplitIsExtend(int c) {
  return (c >= 0x300 && c <= 0x36F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
         (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF) ||
         (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFE20 && c <= 0xFE2F) ||
         c == 0x200D || (c >= 0x1F3FB && c <= 0x1F3FF) ||
         (c >= 0xE0020 && c <= 0xE007F) || (c >= 0xE0100 && c <= 0xE01EF);
}

/*
** Returns 1 if c is a regional indicator (two of them make a flag).
*/
static int mpSplitIsFlag(int c) {
  return c >= 0x1F1E6 && c <= 0x1F1FF;
}

/*
** Records the first error: rc becomes SQLITE_ERROR with zWhy (a static
** string) and byte offset i. Returns the length of the text, so that a
** parser can return it to stop.
*/
static int mpSplitBroken(MpSplitter *p, const char *zWhy, int i) {
  if (p->rc == SQLITE_OK) {
    p->rc = SQLITE_ERROR;
    p->zWhy = zWhy;
    p->iWhy = i;
  }
  return p->n;
}

/*
** Appends an atom. Returns its index, or -1 with rc set to SQLITE_NOMEM.
*/
static int mpSplitAdd(MpSplitter *p, int iStart, int eKind, int eType,
                      int nWeight, int iCp, int mFlags) {
  MpAtom *pAtom;
  if (p->rc != SQLITE_OK) return -1;
  if (p->nAtom >= p->nAtomAlloc) {
    i64 nNew = p->nAtomAlloc ? 2 * (i64)p->nAtomAlloc : 64;
    MpAtom *aNew;
    if (nNew > 0x7FFFFFF0) nNew = 0x7FFFFFF0;
    if (nNew <= p->nAtom) {
      p->rc = SQLITE_TOOBIG;
      return -1;
    }
    aNew = sqlite3_realloc64(p->aAtom, (u64)nNew * sizeof(*aNew));
    if (aNew == 0) {
      p->rc = SQLITE_NOMEM;
      return -1;
    }
    memset(aNew + p->nAtomAlloc, 0,
           (size_t)(nNew - p->nAtomAlloc) * sizeof(*aNew));
    p->aAtom = aNew;
    p->nAtomAlloc = (int)nNew;
  }
  pAtom = &p->aAtom[p->nAtom];
  pAtom->iStart = iStart;
  pAtom->iMatch = -1;
  pAtom->iCp = iCp;
  pAtom->eKind = (u8)eKind;
  pAtom->eType = (u8)eType;
  pAtom->nWeight = (u8)nWeight;
  pAtom->mFlags = (u8)mFlags;
  p->nVisible += nWeight;
  return p->nAtom++;
}

/*
** Appends a TEXT atom for the UTF-8 character at byte i, with flags mFlags.
** A malformed sequence (never passed by the callers of mpSplit(), but
** harmless) is one atom of its lead byte and the continuation bytes that
** follow it. Returns the offset after the character.
*/
static int mpSplitChar(MpSplitter *p, int i, int mFlags) {
  int c = p->z[i];
  int nLen = 1, nWant = 0, cp = c;
  if (c >= 0xF0 && c <= 0xF7) {
    nWant = 3;
    cp = c & 0x07;
  } else if (c >= 0xE0 && c <= 0xEF) {
    nWant = 2;
    cp = c & 0x0F;
  } else if (c >= 0xC0 && c <= 0xDF) {
    nWant = 1;
    cp = c & 0x1F;
  }
  while (nLen <= nWant && i + nLen < p->n && (p->z[i + nLen] & 0xC0) == 0x80) {
    cp = (cp << 6) | (p->z[i + nLen] & 0x3F);
    nLen++;
  }
  mpSplitAdd(p, i, MP_ATOM_TEXT, 0, c >= 0xF0 ? 2 : 1, cp, mFlags);
  return i + nLen;
}

/*
** Appends an OPEN atom at byte i for an entity of type eType and pushes
** it. Returns the index of the atom, or -1 on error.
*/
static int mpSplitOpen(MpSplitter *p, int i, int eType, int mFlags) {
  int k = mpSplitAdd(p, i, MP_ATOM_OPEN, eType, 0, 0, mFlags);
  if (k < 0) return -1;
  if (p->nStack >= p->nStackAlloc) {
    int nNew = p->nStackAlloc ? 2 * p->nStackAlloc : 16;
    int *aNew = sqlite3_realloc64(p->aStack, (u64)nNew * sizeof(*aNew));
    if (aNew == 0) {
      p->rc = SQLITE_NOMEM;
      return -1;
    }
    memset(aNew + p->nStackAlloc, 0,
           (size_t)(nNew - p->nStackAlloc) * sizeof(*aNew));
    p->aStack = aNew;
    p->nStackAlloc = nNew;
  }
  p->aStack[p->nStack++] = k;
  return k;
}

/*
** Appends a CLOSE atom at byte i for the innermost open entity (there must
** be one) and pops it.
*/
static void mpSplitClose(MpSplitter *p, int i) {
  int iOpen = p->aStack[p->nStack - 1];
  int k = mpSplitAdd(p, i, MP_ATOM_CLOSE, p->aAtom[iOpen].eType, 0, 0, 0);
  if (k < 0) return;
  p->nStack--;
  p->aAtom[k].iMatch = iOpen;
  p->aAtom[iOpen].iMatch = k;
}

/*
** Returns the type of the innermost open entity, or 0.
*/
static int mpSplitTop(const MpSplitter *p) {
  return p->nStack ? p->aAtom[p->aStack[p->nStack - 1]].eType : 0;
}

/*
** Plain text: every character is visible.
*/
static void mpSplitParsePlain(MpSplitter *p) {
  int i = 0;
  while (i < p->n && p->rc == SQLITE_OK) {
    i = mpSplitChar(p, i, 0);
  }
}

/*
** Decodes the HTML entity at byte i ('&') as TDLib does: &lt; &gt; &amp;
** &quot;, decimal &#NNN; and hexadecimal &#xHHH; below U+10FFFF, the ';'
** optional. Returns its length with *pCp set, or 0 if it is not one (the
** '&' is then an ordinary character).
*/
static int mpSplitEntity(const MpSplitter *p, int i, unsigned *pCp) {
  int j = i + 1;
  unsigned v = 0;
  if (mpSplitAt(p, j) == '#') {
    j++;
    if (mpSplitAt(p, j) == 'x') {
      j++;
      while (mpSplitHex(mpSplitAt(p, j)) >= 0) {
        if (v < 0x110000) v = v * 16 + (unsigned)mpSplitHex(mpSplitAt(p, j));
        j++;
      }
    } else {
      while (mpSplitIsDigit(mpSplitAt(p, j))) {
        if (v < 0x110000) v = v * 10 + (unsigned)(mpSplitAt(p, j) - '0');
        j++;
      }
    }
    if (v == 0 || v >= 0x10FFFF || j - i >= 10) return 0;
  } else {
    int iName = j;
    while (mpSplitIsAlpha(mpSplitAt(p, j)))
      j++;
    if (j - iName == 2 && memcmp(p->z + iName, "lt", 2) == 0) {
      v = '<';
    } else if (j - iName == 2 && memcmp(p->z + iName, "gt", 2) == 0) {
      v = '>';
    } else if (j - iName == 3 && memcmp(p->z + iName, "amp", 3) == 0) {
      v = '&';
    } else if (j - iName == 4 && memcmp(p->z + iName, "quot", 4) == 0) {
      v = '"';
    } else {
      return 0;
    }
  }
  if (mpSplitAt(p, j) == ';') j++;
  *pCp = v;
  return j - i;
}

/*
** Returns 1 if the nName bytes at z[iName] spell zWord (lower case) in any
** ASCII case, else 0.
*/
static int mpSplitNameIs(const MpSplitter *p, int iName, int nName,
                         const char *zWord) {
  return (int)strlen(zWord) == nName &&
         sqlite3_strnicmp((const char *)p->z + iName, zWord, nName) == 0;
}

/*
** Reads the HTML start tag at byte iBegin ('<'), as TDLib does, and opens
** its entity. Returns the offset after the tag.
*/
static int mpSplitStartTag(MpSplitter *p, int iBegin) {
  int i = iBegin + 1;
  int iName = i, nName, bHref = 0, mFlags = 0;
  while (!mpSplitIsSpace(mpSplitAt(p, i)) && mpSplitAt(p, i) != '>')
    i++;
  if (i >= p->n) return mpSplitBroken(p, "unclosed start tag", iBegin);
  nName = i - iName;
  if (nName == 0) return mpSplitBroken(p, "unsupported start tag", iBegin);
  while (mpSplitAt(p, i) != '>') {
    int iAttr, nAttr, nValue;
    while (i < p->n && mpSplitIsSpace(p->z[i]))
      i++;
    if (mpSplitAt(p, i) == '>') break;
    iAttr = i;
    while (!mpSplitIsSpace(mpSplitAt(p, i)) && mpSplitAt(p, i) != '=' &&
           mpSplitAt(p, i) != '>' && mpSplitAt(p, i) != '/' &&
           mpSplitAt(p, i) != '"' && mpSplitAt(p, i) != '\'')
      i++;
    nAttr = i - iAttr;
    if (nAttr == 0) return mpSplitBroken(p, "empty attribute name", iBegin);
    while (i < p->n && mpSplitIsSpace(p->z[i]))
      i++;
    if (mpSplitAt(p, i) != '=') {
      if (i >= p->n) return mpSplitBroken(p, "unclosed start tag", iBegin);
      continue;
    }
    i++;
    while (i < p->n && mpSplitIsSpace(p->z[i]))
      i++;
    if (i >= p->n) return mpSplitBroken(p, "unclosed start tag", iBegin);
    if (p->z[i] != '\'' && p->z[i] != '"') {
      int iValue = i, c;
      while (mpSplitIsAlpha(c = mpSplitAt(p, i)) || mpSplitIsDigit(c) ||
             c == '.' || c == '-')
        i++;
      nValue = i - iValue;
      c = mpSplitAt(p, i);
      if (!mpSplitIsSpace(c) && c != '>') {
        return mpSplitBroken(p, "unexpected end of name token", iValue);
      }
    } else {
      int cQuote = p->z[i++], iValue = i;
      while (i < p->n && p->z[i] != cQuote)
        i++;
      nValue = i - iValue;
      if (i < p->n) i++;
    }
    if (i >= p->n) return mpSplitBroken(p, "unclosed start tag", iBegin);
    if (mpSplitNameIs(p, iName, nName, "a") && nAttr == 4 &&
        memcmp(p->z + iAttr, "href", 4) == 0) {
      bHref = nValue > 0;
    }
  }
  i++;
  if (mpSplitNameIs(p, iName, nName, "tg-emoji") ||
      mpSplitNameIs(p, iName, nName, "tg-time") ||
      (mpSplitNameIs(p, iName, nName, "a") && !bHref)) {
    mFlags |= MP_AF_WHOLE;
  }
  mpSplitOpen(p, iBegin, MP_ENT_TAG, mFlags);
  return i;
}

/*
** Reads the HTML end tag at byte iBegin ("</"), as TDLib does, and closes
** the innermost entity. Returns the offset after the tag.
*/
static int mpSplitEndTag(MpSplitter *p, int iBegin) {
  int i = iBegin + 2, iName = i, nName;
  if (p->nStack == 0) {
    return mpSplitBroken(p, "end tag without a start tag", iBegin);
  }
  while (!mpSplitIsSpace(mpSplitAt(p, i)) && mpSplitAt(p, i) != '>')
    i++;
  nName = i - iName;
  while (i < p->n && mpSplitIsSpace(p->z[i]))
    i++;
  if (mpSplitAt(p, i) != '>') {
    return mpSplitBroken(p, "unclosed end tag", iBegin);
  }
  if (nName > 0) {
    int iOpen = p->aAtom[p->aStack[p->nStack - 1]].iStart + 1, j = iOpen;
    while (!mpSplitIsSpace(mpSplitAt(p, j)) && mpSplitAt(p, j) != '>')
      j++;
    if (j - iOpen != nName ||
        sqlite3_strnicmp((const char *)p->z + iOpen, (const char *)p->z + iName,
                         nName) != 0) {
      return mpSplitBroken(p, "end tag does not match the start tag", iBegin);
    }
  }
  mpSplitClose(p, iBegin);
  return i + 1;
}

/*
** Appends the atoms of an '&' at byte i that starts no HTML entity, and of
** the ASCII letters, digits and '#' after it (at most 10 bytes), flagged so
** that no cut leaves a prefix that would then read as an entity: "&ampx"
** must not become "&amp" + "x", nor "&#12345678901" "&#1234" + "5678901".
** Returns the offset after them.
*/
static int mpSplitAmp(MpSplitter *p, int i) {
  int iEnd = i + 1;
  while (iEnd < p->n && iEnd - i < 10 &&
         (mpSplitIsAlpha(p->z[iEnd]) || mpSplitIsDigit(p->z[iEnd]) ||
          p->z[iEnd] == '#')) {
    iEnd++;
  }
  for (int k = i; k < iEnd; k++) {
    MpSplitter cut = *p; /* The text as a cut after byte k would leave it */
    unsigned cp;
    cut.n = k + 1;
    mpSplitAdd(p, k, MP_ATOM_TEXT, 0, 1, p->z[k],
               mpSplitEntity(&cut, i, &cp) > 0 ? MP_AF_NOCUT : 0);
  }
  return iEnd;
}

/*
** HTML: tags are markup; entities are one visible character each, and a
** pair of entities that encode a surrogate pair is one atom.
*/
static void mpSplitParseHtml(MpSplitter *p) {
  int i = 0;
  while (i < p->n && p->rc == SQLITE_OK) {
    int c = p->z[i];
    if (c == '&') {
      unsigned cp = 0, lo = 0;
      int nLen = mpSplitEntity(p, i, &cp);
      if (nLen > 0) {
        int nLo, nWeight = cp > 0xFFFF ? 2 : 1;
        if (cp >= 0xD800 && cp <= 0xDBFF && mpSplitAt(p, i + nLen) == '&' &&
            (nLo = mpSplitEntity(p, i + nLen, &lo)) > 0 && lo >= 0xDC00 &&
            lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          nLen += nLo;
          nWeight = 2;
        }
        mpSplitAdd(p, i, MP_ATOM_TEXT, 0, nWeight, (int)cp, 0);
        i += nLen;
        continue;
      }
      i = mpSplitAmp(p, i);
      continue;
    }
    if (c != '<') {
      i = mpSplitChar(p, i, 0);
    } else if (mpSplitAt(p, i + 1) != '/') {
      i = mpSplitStartTag(p, i);
    } else {
      i = mpSplitEndTag(p, i);
    }
  }
  if (p->rc == SQLITE_OK && p->nStack > 0) {
    mpSplitBroken(p, "start tag without an end tag",
                  p->aAtom[p->aStack[p->nStack - 1]].iStart);
  }
}

/*
** Scans the language and the skipped newline of a Markdown pre block whose
** ``` ends before byte i, as TDLib does. Returns the offset of its first
** character and sets *pbLang if it has a language.
*/
static int mpSplitPreStart(const MpSplitter *p, int i, int *pbLang) {
  int iEnd = i;
  int c;
  while (!mpSplitIsSpace(mpSplitAt(p, iEnd)) && mpSplitAt(p, iEnd) != '`')
    iEnd++;
  *pbLang = i != iEnd && iEnd < p->n && mpSplitAt(p, iEnd) != '`';
  if (*pbLang) i = iEnd;
  c = mpSplitAt(p, i);
  if (c == '\n' || c == '\r') {
    int c2 = mpSplitAt(p, i + 1);
    i += ((c2 == '\n' || c2 == '\r') && c2 != c) ? 2 : 1;
  }
  return i;
}

/*
** Returns the offset after the MarkdownV2 link URL that starts at byte i
** (after "]("), backslash escapes included, or -1 if no ')' ends it.
*/
static int mpSplitUrlEnd(const MpSplitter *p, int i) {
  while (i < p->n && p->z[i] != ')') {
    int c = mpSplitAt(p, i + 1);
    i += (p->z[i] == '\\' && c > 0 && c <= 126) ? 2 : 1;
  }
  return i < p->n ? i + 1 : -1;
}

/*
** Returns 1 if c is a character that MarkdownV2 reserves outside code.
*/
static int mpSplitIsReserved(int c) {
  return c != 0 && strchr("_*[]()~`>#+-=|{}.!\n", c) != 0;
}

/*
** Handles the MarkdownV2 markup character at byte i that does not close
** the innermost entity. Sets *pbCanQuote as TDLib's can_start_blockquote.
** Returns the offset after it.
*/
static int mpSplitMdv2Begin(MpSplitter *p, int i, int *pbQuote,
                            int *pbCanQuote) {
  int c = p->z[i], c1 = mpSplitAt(p, i + 1);
  switch (c) {
    case '_':
      mpSplitOpen(p, i, c1 == '_' ? MP_ENT_UNDERLINE : MP_ENT_ITALIC, 0);
      return i + (c1 == '_' ? 2 : 1);
    case '*': mpSplitOpen(p, i, MP_ENT_BOLD, 0); return i + 1;
    case '~': mpSplitOpen(p, i, MP_ENT_STRIKE, 0); return i + 1;
    case '[': mpSplitOpen(p, i, MP_ENT_LINK, 0); return i + 1;
    case '|':
      if (c1 != '|') break;
      mpSplitOpen(p, i, MP_ENT_SPOILER, 0);
      return i + 2;
    case '!':
      if (c1 != '[') break;
      mpSplitOpen(p, i, MP_ENT_EMOJI, MP_AF_WHOLE);
      return i + 2;
    case '`':
      if (c1 == '`' && mpSplitAt(p, i + 2) == '`') {
        int bLang;
        int iNext = mpSplitPreStart(p, i + 3, &bLang);
        mpSplitOpen(p, i, MP_ENT_PRE, bLang ? MP_AF_LANG : 0);
        return iNext;
      }
      mpSplitOpen(p, i, MP_ENT_CODE, 0);
      return i + 1;
    case '\n':
      mpSplitAdd(p, i, MP_ATOM_TEXT, 0, 1, '\n', MP_AF_RAWNL);
      *pbCanQuote = 1;
      return i + 1;
    case '>':
      if (!*pbCanQuote) break;
      if (*pbQuote) {
        mpSplitAdd(p, i, MP_ATOM_MARK, 0, 0, 0, 0);
      } else {
        /* Cuts inside a nested quote need care (see LIMITS). */
        mpSplitOpen(p, i, MP_ENT_QUOTE, p->nStack > 0 ? MP_AF_NESTED : 0);
        *pbQuote = 1;
      }
      return i + 1;
    default: break;
  }
  return mpSplitBroken(p, "reserved character not escaped", i);
}

/*
** Handles the MarkdownV2 markup at byte i that closes the innermost entity.
** Returns the offset after it.
*/
static int mpSplitMdv2End(MpSplitter *p, int i, int *pbQuote, int *pbCanQuote) {
  int eType = mpSplitTop(p);
  int c = p->z[i], iEnd;
  if (c == '\n' && eType != MP_ENT_QUOTE) {
    /* "||" before the newline that ends a quote makes it expandable. */
    MpAtom *pSpoiler = &p->aAtom[p->aStack[p->nStack - 1]];
    if (eType != MP_ENT_SPOILER ||
        !(pSpoiler->iStart == i - 2 ||
          (pSpoiler->iStart == i - 3 && p->z[i - 1] == '\r'))) {
      return mpSplitBroken(p, "entity not closed before the end of its quote",
                           pSpoiler->iStart);
    }
    pSpoiler->eKind = MP_ATOM_MARK;
    p->nStack--;
    if (mpSplitTop(p) != MP_ENT_QUOTE) {
      return mpSplitBroken(p, "entity not closed before the end of its quote",
                           p->aAtom[p->aStack[p->nStack - 1]].iStart);
    }
    p->aAtom[p->aStack[p->nStack - 1]].mFlags |= MP_AF_EXPAND;
    eType = MP_ENT_QUOTE;
  }
  switch (eType) {
    case MP_ENT_UNDERLINE:
    case MP_ENT_SPOILER: iEnd = i + 2; break;
    case MP_ENT_PRE: iEnd = i + 3; break;
    case MP_ENT_LINK:
    case MP_ENT_EMOJI:
      if (mpSplitAt(p, i + 1) != '(') {
        if (eType == MP_ENT_EMOJI) {
          return mpSplitBroken(p, "custom emoji without a URL", i);
        }
        p->aAtom[p->aStack[p->nStack - 1]].mFlags |= MP_AF_WHOLE;
        iEnd = i + 1;
      } else {
        iEnd = mpSplitUrlEnd(p, i + 2);
        if (iEnd < 0) return mpSplitBroken(p, "unclosed link URL", i + 2);
      }
      break;
    case MP_ENT_QUOTE:
      /* The newline is part of the quote, which ends after it. */
      mpSplitAdd(p, i, MP_ATOM_TEXT, 0, 1, '\n', MP_AF_RAWNL);
      *pbQuote = 0;
      *pbCanQuote = 1;
      i++;
      iEnd = i;
      break;
    default: iEnd = i + 1; break;
  }
  mpSplitClose(p, i);
  return iEnd;
}

/*
** MarkdownV2, as TDLib's parse_markdown_v2() reads it.
*/
static void mpSplitParseMdv2(MpSplitter *p) {
  int i = 0, bQuote = 0, bCanQuote = 1;
  while (i < p->n && p->rc == SQLITE_OK) {
    int c = p->z[i], c1 = mpSplitAt(p, i + 1), eTop, bEnd = 0;
    if (c == '\\' && c1 > 0 && c1 <= 126) {
      mpSplitAdd(p, i, MP_ATOM_TEXT, 0, 1, c1, 0);
      if (c1 != '\r') bCanQuote = c1 == '\n';
      i += 2;
      continue;
    }
    eTop = mpSplitTop(p);
    if ((eTop == MP_ENT_CODE || eTop == MP_ENT_PRE) ? c != '`'
                                                    : !mpSplitIsReserved(c)) {
      /* A lone backslash must not end a part that markup follows. */
      if (c != '\r') bCanQuote = 0;
      i = mpSplitChar(p, i, c == '\\' ? MP_AF_NOCUT : 0);
      continue;
    }
    if (eTop != 0) {
      if (bQuote && c == '\n' && c1 != '>') {
        bEnd = 1;
      } else {
        switch (eTop) {
          case MP_ENT_BOLD: bEnd = c == '*'; break;
          case MP_ENT_ITALIC: bEnd = c == '_' && c1 != '_'; break;
          case MP_ENT_CODE: bEnd = c == '`'; break;
          case MP_ENT_PRE:
            bEnd = c == '`' && c1 == '`' && mpSplitAt(p, i + 2) == '`';
            break;
          case MP_ENT_LINK:
          case MP_ENT_EMOJI: bEnd = c == ']'; break;
          case MP_ENT_UNDERLINE: bEnd = c == '_' && c1 == '_'; break;
          case MP_ENT_STRIKE: bEnd = c == '~'; break;
          case MP_ENT_SPOILER: bEnd = c == '|' && c1 == '|'; break;
          default: break;
        }
      }
    }
    if (bEnd) {
      i = mpSplitMdv2End(p, i, &bQuote, &bCanQuote);
    } else {
      i = mpSplitMdv2Begin(p, i, &bQuote, &bCanQuote);
    }
  }
  if (p->rc == SQLITE_OK && bQuote) {
    MpAtom *pTop = &p->aAtom[p->aStack[p->nStack - 1]];
    if (pTop->eType == MP_ENT_SPOILER && pTop->iStart == p->n - 2) {
      pTop->eKind = MP_ATOM_MARK;
      p->nStack--;
      pTop = &p->aAtom[p->aStack[p->nStack - 1]];
      if (pTop->eType == MP_ENT_QUOTE) pTop->mFlags |= MP_AF_EXPAND;
    }
    if (pTop->eType == MP_ENT_QUOTE) mpSplitClose(p, p->n);
  }
  if (p->rc == SQLITE_OK && p->nStack > 0) {
    mpSplitBroken(p, "entity not closed",
                  p->aAtom[p->aStack[p->nStack - 1]].iStart);
  }
}

/*
** Markdown (the legacy mode), as TDLib's parse_markdown() reads it:
** entities do not nest and their content is taken as it is.
*/
static void mpSplitParseMd(MpSplitter *p) {
  int i = 0;
  while (i < p->n && p->rc == SQLITE_OK) {
    int c = p->z[i], c1 = mpSplitAt(p, i + 1);
    int iBegin = i, cEnd, bPre = 0, eType, mFlags = 0;
    if (c == '\\' && c1 != 0 && strchr("_*`[", c1)) {
      mpSplitAdd(p, i, MP_ATOM_TEXT, 0, 1, c1, 0);
      i += 2;
      continue;
    }
    if (c != '_' && c != '*' && c != '`' && c != '[') {
      i = mpSplitChar(p, i, 0);
      continue;
    }
    cEnd = c == '[' ? ']' : c;
    eType = c == '_'   ? MP_ENT_ITALIC
            : c == '*' ? MP_ENT_BOLD
            : c == '[' ? MP_ENT_LINK
                       : MP_ENT_CODE;
    i++;
    if (c == '`' && mpSplitAt(p, i) == '`' && mpSplitAt(p, i + 1) == '`') {
      int bLang;
      i = mpSplitPreStart(p, i + 2, &bLang);
      bPre = 1;
      eType = MP_ENT_PRE;
      mFlags = bLang ? MP_AF_LANG : 0;
    }
    if (mpSplitOpen(p, iBegin, eType, mFlags) < 0) return;
    while (i < p->n && p->rc == SQLITE_OK &&
           (p->z[i] != cEnd || (bPre && !(mpSplitAt(p, i + 1) == '`' &&
                                          mpSplitAt(p, i + 2) == '`')))) {
      /* In a pre block, a ` before the closing ``` would end it early. */
      i = mpSplitChar(p, i, bPre && p->z[i] == '`' ? MP_AF_NOCUT : 0);
    }
    if (p->rc != SQLITE_OK) return;
    if (i >= p->n) {
      mpSplitBroken(p, "entity not closed", iBegin);
      return;
    }
    if (bPre) {
      mpSplitClose(p, i);
      i += 3;
    } else if (c == '[' && mpSplitAt(p, i + 1) != '(') {
      p->aAtom[p->aStack[p->nStack - 1]].mFlags |= MP_AF_WHOLE;
      mpSplitClose(p, i);
      i++;
    } else if (c == '[') {
      /* TDLib takes the rest of the text when no ')' ends the URL. */
      int j = i + 2;
      while (j < p->n && p->z[j] != ')')
        j++;
      mpSplitClose(p, i);
      i = j < p->n ? j + 1 : p->n;
    } else {
      mpSplitClose(p, i);
      i++;
    }
  }
}

/*
** Sets MP_AF_INWHOLE and MP_AF_INQUOTE on each atom: whether a cut just
** before it would fall inside a WHOLE entity, or inside a MarkdownV2 block
** quote that is itself inside another entity.
*/
static void mpSplitMarkInside(MpSplitter *p) {
  int nWhole = 0, bInQuote = 0;
  for (int k = 0; k < p->nAtom; k++) {
    MpAtom *pAtom = &p->aAtom[k];
    if (nWhole > 0) pAtom->mFlags |= MP_AF_INWHOLE;
    if (bInQuote) pAtom->mFlags |= MP_AF_INQUOTE;
    if (pAtom->eKind == MP_ATOM_OPEN) {
      if (pAtom->mFlags & MP_AF_WHOLE) nWhole++;
      if (pAtom->mFlags & MP_AF_NESTED) bInQuote = 1;
    } else if (pAtom->eKind == MP_ATOM_CLOSE && pAtom->iMatch >= 0) {
      const MpAtom *pOpen = &p->aAtom[pAtom->iMatch];
      if (pOpen->mFlags & MP_AF_WHOLE) nWhole--;
      if (pOpen->eType == MP_ENT_QUOTE) bInQuote = 0;
    }
  }
}

/*
** Returns the class (MP_CUT_*) of a cut after TEXT atom pAtom, before atom
** iNext. bNewline says the visible character before pAtom was a newline
** ("\r" aside); nFlag counts the flag letters that end with pAtom.
*/
static int mpSplitClass(const MpSplitter *p, const MpAtom *pAtom, int iNext,
                        int bNewline, int nFlag) {
  const MpAtom *pNext = &p->aAtom[iNext];
  int c = pAtom->iCp;
  int cNext = pNext->eKind == MP_ATOM_TEXT ? pNext->iCp : 0;
  if (pNext->mFlags & MP_AF_INWHOLE) return MP_CUT_WEAK;
  if (c == '\n') return bNewline ? MP_CUT_PARA : MP_CUT_LINE;
  if (c == ' ' || c == '\t') return MP_CUT_SPACE;
  if (c == 0x200D || mpSplitIsExtend(cNext) || (c == '\r' && cNext == '\n') ||
      ((nFlag & 1) && mpSplitIsFlag(cNext))) {
    return MP_CUT_WEAK;
  }
  return MP_CUT_ANY;
}

/*
** Chooses where the part that starts at atom iFirst ends: at most nLimit
** visible units, more than that remaining. Sets *piEnd to the index of
** the first atom of the next part and *pnWeight to the visible units of
** this one. Returns SQLITE_OK, or SQLITE_ERROR when no cut is allowed.
*/
static int mpSplitChoose(MpSplitter *p, int iFirst, int nLimit, int *piEnd,
                         int *pnWeight) {
  int aEnd[MP_CUT_COUNT], aWeight[MP_CUT_COUNT];
  int nWeight = 0, bNewline = 0, nFlag = 0, eCut, iBest = -1;
  for (eCut = 0; eCut < MP_CUT_COUNT; eCut++) {
    aEnd[eCut] = -1;
    aWeight[eCut] = 0;
  }
  for (int k = iFirst; k < p->nAtom; k++) {
    const MpAtom *pAtom = &p->aAtom[k];
    int iNext = k + 1;
    if (pAtom->eKind != MP_ATOM_TEXT) continue;
    if (nWeight + pAtom->nWeight > nLimit) break;
    nWeight += pAtom->nWeight;
    nFlag = mpSplitIsFlag(pAtom->iCp) ? nFlag + 1 : 0;
    while (iNext < p->nAtom && p->aAtom[iNext].eKind == MP_ATOM_CLOSE)
      iNext++;
    if (iNext < p->nAtom && !(pAtom->mFlags & MP_AF_NOCUT) &&
        (!(p->aAtom[iNext].mFlags & MP_AF_INQUOTE) ||
         (iNext == k + 1 && (pAtom->mFlags & MP_AF_RAWNL)))) {
      eCut = mpSplitClass(p, pAtom, iNext, bNewline, nFlag);
      aEnd[eCut] = iNext;
      aWeight[eCut] = nWeight;
    }
    if (pAtom->iCp != '\r') bNewline = pAtom->iCp == '\n';
  }
  /* The best class that keeps half the limit, else the latest cut. */
  for (eCut = 0; eCut < MP_CUT_WEAK; eCut++) {
    if (aEnd[eCut] >= 0 && 2 * aWeight[eCut] >= nLimit) break;
  }
  if (eCut == MP_CUT_WEAK) {
    for (int e = 0; e < MP_CUT_WEAK; e++) {
      if (aEnd[e] > iBest) {
        iBest = aEnd[e];
        eCut = e;
      }
    }
  }
  if (aEnd[eCut] < 0) {
    p->rc = SQLITE_ERROR;
    p->zWhy = "no place to cut: a line of a block quotation inside another "
              "entity is longer than the limit";
    p->iWhy = p->aAtom[iFirst].iStart;
    return SQLITE_ERROR;
  }
  *piEnd = aEnd[eCut];
  *pnWeight = aWeight[eCut];
  return SQLITE_OK;
}

/*
** Appends n bytes of markup to the part. In MarkdownV2, an empty bold "**"
** goes between markup that ends with _ and markup that starts with _.
*/
static void mpSplitMarkup(MpSplitter *p, const char *z, int n) {
  if (n <= 0) return;
  if (p->bUnder && z[0] == '_') sqlite3_str_append(p->pOut, "**", 2);
  sqlite3_str_append(p->pOut, z, n);
  p->bUnder = p->eMode == MP_MODE_MDV2 && z[n - 1] == '_';
}

/*
** Returns the offset where atom k ends.
*/
static int mpSplitAtomEnd(const MpSplitter *p, int k) {
  return k + 1 < p->nAtom ? p->aAtom[k + 1].iStart : p->n;
}

/*
** Appends the markup that opens again the entity of OPEN atom iOpen. cNext
** is the byte that will follow it.
*/
static void mpSplitReopen(MpSplitter *p, int iOpen, int cNext) {
  const MpAtom *pOpen = &p->aAtom[iOpen];
  if (pOpen->eType == MP_ENT_PRE) {
    /* ``` + language + a newline that Telegram skips. */
    int i = pOpen->iStart + 3;
    mpSplitMarkup(p, "```", 3);
    if (pOpen->mFlags & MP_AF_LANG) {
      int j = i;
      while (!mpSplitIsSpace(mpSplitAt(p, j)) && mpSplitAt(p, j) != '`')
        j++;
      sqlite3_str_append(p->pOut, (const char *)p->z + i, j - i);
    }
    sqlite3_str_append(p->pOut, cNext == '\r' ? "\r\n" : "\n",
                       cNext == '\r' ? 2 : 1);
    p->bUnder = 0;
    return;
  }
  mpSplitMarkup(p, (const char *)p->z + pOpen->iStart,
                mpSplitAtomEnd(p, iOpen) - pOpen->iStart);
}

/*
** Appends the markup that closes the entity of OPEN atom iOpen. bNewline:
** the part ends with a newline that moved out of a MarkdownV2 quote, to be
** written where the quote ends.
*/
static void mpSplitReclose(MpSplitter *p, int iOpen, int bNewline) {
  const MpAtom *pOpen = &p->aAtom[iOpen];
  if (pOpen->eType == MP_ENT_QUOTE) {
    if (pOpen->mFlags & MP_AF_EXPAND) mpSplitMarkup(p, "||", 2);
    if (bNewline) {
      sqlite3_str_appendchar(p->pOut, 1, '\n');
      p->bUnder = 0;
    }
    return;
  }
  if (pOpen->iMatch >= 0) {
    int k = pOpen->iMatch;
    mpSplitMarkup(p, (const char *)p->z + p->aAtom[k].iStart,
                  mpSplitAtomEnd(p, k) - p->aAtom[k].iStart);
  }
}

/*
** Appends part zPart (nPart bytes, from sqlite3_malloc64) to pOut, which
** takes it over. Returns SQLITE_OK or SQLITE_NOMEM (zPart is then freed).
*/
static int mpSplitPush(MpSplit *pOut, char *zPart, int nPart) {
  /* The arrays hold 4, 8, 16, ... entries: grow when they are full. */
  if (pOut->nPart == 0 ||
      (pOut->nPart >= 4 && (pOut->nPart & (pOut->nPart - 1)) == 0)) {
    i64 nNew = pOut->nPart ? 2 * (i64)pOut->nPart : 4;
    char **azNew;
    int *anNew;
    azNew = sqlite3_realloc64(pOut->azPart, (u64)nNew * sizeof(*azNew));
    if (azNew == 0) {
      sqlite3_free(zPart);
      return SQLITE_NOMEM;
    }
    pOut->azPart = azNew;
    anNew = sqlite3_realloc64(pOut->anPart, (u64)nNew * sizeof(*anNew));
    if (anNew == 0) {
      sqlite3_free(zPart);
      return SQLITE_NOMEM;
    }
    pOut->anPart = anNew;
  }
  pOut->azPart[pOut->nPart] = zPart;
  pOut->anPart[pOut->nPart] = nPart;
  pOut->nPart++;
  return SQLITE_OK;
}

/*
** Writes the part made of atoms iFirst..iEnd-1 to pOut: the entities open
** at iFirst (in aStack) opened again, the atoms, and the entities still
** open at iEnd closed. Leaves in aStack the entities open at iEnd.
** Returns an SQLite result code.
*/
static int mpSplitWrite(MpSplitter *p, int iFirst, int iEnd, MpSplit *pOut) {
  int iFrom = p->aAtom[iFirst].iStart;
  int iTo = iEnd < p->nAtom ? p->aAtom[iEnd].iStart : p->n;
  int bNewline = 0, bQuote = 0, iQuote = -1, rc, nPart, k;
  char *zPart;
  p->pOut = sqlite3_str_new(0);
  p->bUnder = 0;
  if (p->aAtom[iFirst].eKind == MP_ATOM_MARK && p->z[iFrom] == '>') {
    /* The > that continues a quote re-opens it, in its place. */
    for (int j = 0; j < p->nStack; j++) {
      if (p->aAtom[p->aStack[j]].eType == MP_ENT_QUOTE) iQuote = j;
    }
    if (iQuote >= 0) iFrom++;
  }
  for (int j = 0; j < p->nStack; j++) {
    int iNext = j + 1 < p->nStack ? p->aAtom[p->aStack[j + 1]].iStart : iFrom;
    if (j == iQuote) {
      mpSplitMarkup(p, ">", 1);
    } else {
      mpSplitReopen(p, p->aStack[j], mpSplitAt(p, iNext));
    }
  }
  for (k = iFirst; k < iEnd; k++) {
    const MpAtom *pAtom = &p->aAtom[k];
    if (pAtom->eKind == MP_ATOM_OPEN) {
      p->aStack[p->nStack++] = k;
    } else if (pAtom->eKind == MP_ATOM_CLOSE && p->nStack > 0) {
      p->nStack--;
    }
  }
  for (int j = 0; j < p->nStack; j++) {
    if (p->aAtom[p->aStack[j]].eType == MP_ENT_QUOTE) bQuote = 1;
  }
  if (bQuote && (p->aAtom[iEnd - 1].mFlags & MP_AF_RAWNL)) {
    bNewline = 1;
    iTo--;
  }
  if (iTo > iFrom) {
    if (p->bUnder && p->z[iFrom] == '_') sqlite3_str_append(p->pOut, "**", 2);
    sqlite3_str_append(p->pOut, (const char *)p->z + iFrom, iTo - iFrom);
    /* Does the slice end with markup that ends with _? */
    k = iEnd - 1;
    while (k > iFirst && p->aAtom[k].iStart >= iTo)
      k--;
    p->bUnder = p->eMode == MP_MODE_MDV2 && p->z[iTo - 1] == '_' &&
                p->aAtom[k].eKind != MP_ATOM_TEXT;
  }
  for (int j = p->nStack - 1; j >= 0; j--) {
    mpSplitReclose(p, p->aStack[j], bNewline);
  }
  rc = sqlite3_str_errcode(p->pOut);
  nPart = sqlite3_str_length(p->pOut);
  zPart = sqlite3_str_finish(p->pOut);
  p->pOut = 0;
  if (rc == SQLITE_OK && zPart == 0) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK) {
    p->nOut += nPart;
    if (p->nOut > p->nOutMax) rc = SQLITE_TOOBIG;
  }
  if (rc != SQLITE_OK) {
    sqlite3_free(zPart);
    return rc;
  }
  return mpSplitPush(pOut, zPart, nPart);
}

/*
** Cuts the parsed text into parts of at most nLimit visible units.
** Returns an SQLite result code.
*/
static int mpSplitCut(MpSplitter *p, int nLimit, MpSplit *pOut) {
  int iFirst = 0, rc = SQLITE_OK;
  i64 nDone = 0;
  mpSplitMarkInside(p);
  p->nStack = 0;
  while (rc == SQLITE_OK && iFirst < p->nAtom) {
    int iEnd = p->nAtom, nWeight = 0;
    if (p->nVisible - nDone > nLimit) {
      rc = mpSplitChoose(p, iFirst, nLimit, &iEnd, &nWeight);
      if (rc != SQLITE_OK) break;
    }
    rc = mpSplitWrite(p, iFirst, iEnd, pOut);
    nDone += nWeight;
    iFirst = iEnd;
  }
  return rc;
}

/*
** Returns the MP_MODE_* of a parse mode name (any case; NULL is plain
** text), or -1.
*/
static int mpSplitMode(const char *zMode) {
  if (zMode == 0) return MP_MODE_PLAIN;
  if (sqlite3_stricmp(zMode, "HTML") == 0) return MP_MODE_HTML;
  if (sqlite3_stricmp(zMode, "MarkdownV2") == 0) return MP_MODE_MDV2;
  if (sqlite3_stricmp(zMode, "Markdown") == 0) return MP_MODE_MD;
  return -1;
}

/*
** Does the work of mpSplit(). On SQLITE_ERROR, *pzErr (when pzErr is not
** NULL) is set to a message from sqlite3_malloc64 that says why, or NULL
** on OOM; the caller frees it.
*/
int mpSplitRun(const char *z, int n, const char *zParseMode, int nLimit,
               MpSplit *pOut, char **pzErr) {
  MpSplitter s;
  i64 nUnits = 0;
  int rc;
  memset(pOut, 0, sizeof(*pOut));
  if (pzErr) *pzErr = 0;
  memset(&s, 0, sizeof(s));
  s.eMode = mpSplitMode(zParseMode);
  if (n < 0) {
    size_t nz = z ? strlen(z) : 0;
    if (nz > 0x7FFFFFF0) return SQLITE_TOOBIG;
    n = (int)nz;
  }
  if (s.eMode < 0 || nLimit < MP_SPLIT_MIN_LIMIT || (z == 0 && n > 0)) {
    if (pzErr) {
      *pzErr = sqlite3_mprintf(s.eMode < 0 ? "unknown parse mode"
                                           : "the limit is below %d",
                               MP_SPLIT_MIN_LIMIT);
    }
    return SQLITE_ERROR;
  }
  if (n > 0x7FFFFFF0) return SQLITE_TOOBIG;
  for (int i = 0; i < n; i++) {
    u8 c = (u8)z[i];
    nUnits += ((c & 0xC0) != 0x80) + (c >= 0xF0);
  }
  s.z = (const u8 *)z;
  s.n = n;
  if (nUnits > nLimit) {
    /* Too long even as plain text: parse the markup. */
    switch (s.eMode) {
      case MP_MODE_HTML: mpSplitParseHtml(&s); break;
      case MP_MODE_MDV2: mpSplitParseMdv2(&s); break;
      case MP_MODE_MD: mpSplitParseMd(&s); break;
      default: mpSplitParsePlain(&s); break;
    }
  }
  if (s.rc == SQLITE_OK && (nUnits <= nLimit || s.nVisible <= nLimit)) {
    /* It fits: one part, the text itself. */
    char *zPart = sqlite3_malloc64((u64)n + 1);
    if (zPart == 0) {
      s.rc = SQLITE_NOMEM;
    } else {
      if (n > 0) memcpy(zPart, z, (size_t)n);
      zPart[n] = 0;
      s.rc = mpSplitPush(pOut, zPart, n);
    }
  } else if (s.rc == SQLITE_OK) {
    s.nOutMax = 16 * (i64)n + (1 << 20);
    s.rc = mpSplitCut(&s, nLimit, pOut);
  }
  rc = s.rc;
  if (rc == SQLITE_ERROR && pzErr) {
    static const char *const azMode[] = { "text", "HTML", "MarkdownV2",
                                          "Markdown" };
    *pzErr = sqlite3_mprintf("cannot split this %s: %s at byte %d",
                             azMode[s.eMode], s.zWhy, s.iWhy);
  }
  if (s.pOut) sqlite3_free(sqlite3_str_finish(s.pOut));
  sqlite3_free(s.aAtom);
  sqlite3_free(s.aStack);
  if (rc != SQLITE_OK) mpSplitFree(pOut);
  return rc;
}

/*
** Cuts z[0..n) (valid UTF-8; n < 0: up to the first NUL) into parts that
** each show at most nLimit UTF-16 units once Telegram has parsed them in
** parse mode zParseMode: NULL (plain text), "HTML", "MarkdownV2" or
** "Markdown" (any case). See the header comment for how and what a cut
** adds. A text that fits is one part equal to the text (an empty text is
** one empty part); no other part is ever empty.
**
** Returns SQLITE_OK with *pOut filled (free it with mpSplitFree()),
** SQLITE_NOMEM, SQLITE_TOOBIG (see LIMITS), or SQLITE_ERROR if nLimit is
** below 16, the parse mode is unknown, the text needs cutting and its
** markup is not what Telegram accepts, or no cut is allowed (see LIMITS).
** On error *pOut is zeroed.
*/
int mpSplit(const char *z, int n, const char *zParseMode, int nLimit,
            MpSplit *pOut) {
  return mpSplitRun(z, n, zParseMode, nLimit, pOut, 0);
}

/*
** Frees the parts of pSplit and zeroes it. Safe on a zeroed MpSplit.
*/
void mpSplitFree(MpSplit *pSplit) {
  if (pSplit == 0) return;
  for (int i = 0; i < pSplit->nPart; i++) {
    sqlite3_free(pSplit->azPart[i]);
  }
  sqlite3_free(pSplit->azPart);
  sqlite3_free(pSplit->anPart);
  memset(pSplit, 0, sizeof(*pSplit));
}

/*
** mp_split(text [, parse_mode [, limit]]): the parts of text, as a JSON
** array of strings. MP_FN_PURE: the result depends on the arguments only.
**
** Errors: those of mpArgText() for text ("mp_split: text must be text, got
** NULL", "... must not be empty", "... is not valid UTF-8", "... is too
** long"); "mp_split: parse_mode must be HTML, MarkdownV2 or Markdown";
** "mp_split: limit must be an integer, got ..."; "mp_split: limit must be
** between 16 and 4096, got N"; "mp_split: cannot split this HTML: unclosed
** start tag at byte N" and the like for broken markup.
*/
static void mpSplitFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char zFunc[] = "mp_split";
  const char *z, *zMode = 0;
  char *zErr = 0, *zJson;
  int n, nLimit = MP_TELEGRAM_LIMIT, rc, nJson;
  MpSplit split;
  sqlite3_str *pJson;
  if (mpArgText(ctx, argv[0], zFunc, "text", MP_TEXT_MAX_BYTES, 0, &z, &n)) {
    return;
  }
  if (argc >= 2 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    static const char *const azMode[] = { "HTML", "MarkdownV2", "Markdown" };
    const char *zArg = (const char *)sqlite3_value_text(argv[1]);
    for (int i = 0; zArg && i < 3; i++) {
      if (sqlite3_stricmp(zArg, azMode[i]) == 0) zMode = azMode[i];
    }
    if (zMode == 0) {
      mpResultErrorf(ctx, "%s: parse_mode must be %s", zFunc,
                     "HTML, MarkdownV2 or Markdown");
      return;
    }
  }
  if (argc >= 3 && sqlite3_value_type(argv[2]) != SQLITE_NULL) {
    i64 iLimit;
    if (mpArgInt(ctx, argv[2], zFunc, "limit", &iLimit)) return;
    if (iLimit < MP_SPLIT_MIN_LIMIT || iLimit > MP_TELEGRAM_LIMIT) {
      mpResultErrorf(ctx, "%s: limit must be between %d and %d, got %lld",
                     zFunc, MP_SPLIT_MIN_LIMIT, MP_TELEGRAM_LIMIT, iLimit);
      return;
    }
    nLimit = (int)iLimit;
  }
  rc = mpSplitRun(z, n, zMode, nLimit, &split, &zErr);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_NOMEM || (rc == SQLITE_ERROR && zErr == 0)) {
      sqlite3_result_error_nomem(ctx);
    } else if (rc == SQLITE_TOOBIG) {
      mpResultErrorf(ctx, "%s: the parts would be too big", zFunc);
      sqlite3_result_error_code(ctx, SQLITE_TOOBIG);
    } else {
      mpResultErrorf(ctx, "%s: %s", zFunc, zErr);
    }
    sqlite3_free(zErr);
    return;
  }
  pJson = sqlite3_str_new(sqlite3_context_db_handle(ctx));
  sqlite3_str_appendchar(pJson, 1, '[');
  for (int i = 0; i < split.nPart; i++) {
    if (i > 0) sqlite3_str_appendchar(pJson, 1, ',');
    mpJsonAppendString(pJson, split.azPart[i], split.anPart[i]);
  }
  sqlite3_str_appendchar(pJson, 1, ']');
  mpSplitFree(&split);
  rc = sqlite3_str_errcode(pJson);
  nJson = sqlite3_str_length(pJson);
  zJson = sqlite3_str_finish(pJson);
  if (rc == SQLITE_TOOBIG) {
    sqlite3_result_error_toobig(ctx);
  } else if (rc != SQLITE_OK || zJson == 0) {
    sqlite3_result_error_nomem(ctx);
  } else {
    sqlite3_result_text(ctx, zJson, nJson, sqlite3_free);
    zJson = 0;
  }
  sqlite3_free(zJson);
}

/*
** Registers mp_split() with one, two and three arguments. Returns an
** SQLite result code; *pzErrMsg names the function that failed.
*/
int mpRegisterSplit(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_split", 1, MP_FN_PURE, mpSplitFunc },
    { "mp_split", 2, MP_FN_PURE, mpSplitFunc },
    { "mp_split", 3, MP_FN_PURE, mpSplitFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
