/*
** SPDX-License-Identifier: MIT
**
** fuzz_standalone.c: a main() for the libFuzzer harnesses when there is no
** libFuzzer (gcc, or a build without -fsanitize=fuzzer), so that any
** compiler and the sanitizer build run their properties too.
**
**   fuzz_report_replay [-runs=N] [-seed=S] [-dict=FILE] [-max_len=N]
**                      FILE_OR_DIR...
**
** It calls LLVMFuzzerTestOneInput() on every file named and on every file
** in each directory named (in name order), then on N inputs (default
** 2000) made by a simple mutator: a corpus input, or random bytes when
** there is none, changed one to eight times by bit flips, random and
** "interesting" bytes, inserted and deleted ranges, duplicated ranges,
** numbers at their limits, tokens of the dictionary (libFuzzer's format:
** one "quoted" token a line, with \\ \" and \xNN escapes) and splices
** with another corpus input. The same seed gives the same inputs.
**
** It prints "<program>: F files, N generated inputs passed" and returns 0;
** a failed property aborts inside the harness (with -verbose=1 each
** generated input is first printed to stderr in hex, to reproduce it).
**
** Link it with one harness (cmake/fuzz.cmake does):
**
**   cc -DSQLITE_CORE -Iext -Ibuild/generated tests/fuzz/fuzz_report.c \
**       tests/fuzz/fuzz_standalone.c build/libmp_static.a -lsqlite3 \
**       -lcrypto -o fuzz_report_replay
*/
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData);

/* One input held in memory. */
typedef struct FuzzBuf FuzzBuf;
struct FuzzBuf {
  unsigned char *a; /* Bytes (malloc) */
  size_t n;         /* Their number */
};

/* A growing list of inputs. */
typedef struct FuzzList FuzzList;
struct FuzzList {
  FuzzBuf *a;    /* Entries (malloc) */
  size_t n;      /* Entries used */
  size_t nAlloc; /* Entries allocated */
};

static uint64_t iRand = 0x9e3779b97f4a7c15ull; /* xorshift64 state */

/*
** Returns 64 pseudo-random bits.
*/
static uint64_t fuzzRand(void) {
  iRand ^= iRand << 13;
  iRand ^= iRand >> 7;
  iRand ^= iRand << 17;
  return iRand;
}

/*
** Returns a pseudo-random number in [0, n), n > 0.
*/
static size_t fuzzBelow(size_t n) {
  return (size_t)(fuzzRand() % (uint64_t)n);
}

/*
** Appends a copy of a[0..n) to pList. Exits on OOM.
*/
static void fuzzListAdd(FuzzList *pList, const unsigned char *a, size_t n) {
  FuzzBuf *p;
  if (pList->n == pList->nAlloc) {
    size_t nNew = pList->nAlloc ? pList->nAlloc * 2 : 64;
    FuzzBuf *aNew = realloc(pList->a, nNew * sizeof(FuzzBuf));
    if (aNew == 0) exit(2);
    pList->a = aNew;
    pList->nAlloc = nNew;
  }
  p = &pList->a[pList->n++];
  p->a = malloc(n ? n : 1);
  if (p->a == 0) exit(2);
  if (n) memcpy(p->a, a, n);
  p->n = n;
}

/*
** Frees every entry of pList and the list.
*/
static void fuzzListFree(FuzzList *pList) {
  for (size_t i = 0; i < pList->n; i++)
    free(pList->a[i].a);
  free(pList->a);
  memset(pList, 0, sizeof(*pList));
}

/*
** Reads file zPath into a new buffer. Returns 0 and fills *pBuf, or 1 if it
** cannot be read.
*/
static int fuzzReadFile(const char *zPath, FuzzBuf *pBuf) {
  FILE *f = fopen(zPath, "rb");
  unsigned char *a = 0;
  size_t n = 0, nAlloc = 0;
  if (f == 0) return 1;
  for (;;) {
    size_t nGot;
    if (n == nAlloc) {
      unsigned char *aNew;
      nAlloc = nAlloc ? nAlloc * 2 : 4096;
      aNew = realloc(a, nAlloc);
      if (aNew == 0) exit(2);
      a = aNew;
    }
    nGot = fread(a + n, 1, nAlloc - n, f);
    if (nGot == 0) break;
    n += nGot;
  }
  fclose(f);
  pBuf->a = a;
  pBuf->n = n;
  return 0;
}

/*
** qsort comparison of two file names.
*/
static int fuzzNameCmp(const void *p1, const void *p2) {
  return strcmp(*(char *const *)p1, *(char *const *)p2);
}

/*
** Adds zPath to pList: the file itself, or every regular file directly in
** the directory, in name order. Returns the number of files added.
*/
static int fuzzAddPath(FuzzList *pList, const char *zPath) {
  struct stat st;
  FuzzBuf buf;
  DIR *pDir;
  struct dirent *pEnt;
  char **azName = 0;
  size_t nName = 0, nAlloc = 0;
  int nAdded = 0;
  if (stat(zPath, &st) != 0) {
    fprintf(stderr, "fuzz_standalone: cannot read %s\n", zPath);
    exit(2);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (fuzzReadFile(zPath, &buf)) {
      fprintf(stderr, "fuzz_standalone: cannot read %s\n", zPath);
      exit(2);
    }
    fuzzListAdd(pList, buf.a, buf.n);
    free(buf.a);
    return 1;
  }
  pDir = opendir(zPath);
  if (pDir == 0) return 0;
  while ((pEnt = readdir(pDir)) != 0) {
    size_t nPath = strlen(zPath) + strlen(pEnt->d_name) + 2;
    char *zFull;
    if (pEnt->d_name[0] == '.') continue;
    zFull = malloc(nPath);
    if (zFull == 0) exit(2);
    snprintf(zFull, nPath, "%s/%s", zPath, pEnt->d_name);
    if (stat(zFull, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(zFull);
      continue;
    }
    if (nName == nAlloc) {
      char **azNew;
      nAlloc = nAlloc ? nAlloc * 2 : 64;
      azNew = realloc(azName, nAlloc * sizeof(char *));
      if (azNew == 0) exit(2);
      azName = azNew;
    }
    azName[nName++] = zFull;
  }
  closedir(pDir);
  if (nName) qsort(azName, nName, sizeof(char *), fuzzNameCmp);
  for (size_t i = 0; i < nName; i++) {
    if (fuzzReadFile(azName[i], &buf) == 0) {
      fuzzListAdd(pList, buf.a, buf.n);
      free(buf.a);
      nAdded++;
    }
    free(azName[i]);
  }
  free(azName);
  return nAdded;
}

/*
** Loads a libFuzzer dictionary: lines of [name=]"token", '#' comments.
*/
static void fuzzLoadDict(FuzzList *pDict, const char *zPath) {
  FuzzBuf file;
  size_t i = 0;
  if (fuzzReadFile(zPath, &file)) {
    fprintf(stderr, "fuzz_standalone: cannot read %s\n", zPath);
    exit(2);
  }
  while (i < file.n) {
    size_t iEnd = i;
    unsigned char aTok[256];
    size_t nTok = 0;
    while (iEnd < file.n && file.a[iEnd] != '\n')
      iEnd++;
    while (i < iEnd && file.a[i] != '"' && file.a[i] != '#')
      i++;
    if (i < iEnd && file.a[i] == '"') {
      size_t j = i + 1;
      size_t iClose = iEnd;
      while (iClose > j && file.a[iClose - 1] != '"')
        iClose--;
      if (iClose > j) iClose--;
      while (j < iClose && nTok < sizeof(aTok)) {
        unsigned char c = file.a[j++];
        if (c == '\\' && j < iClose) {
          c = file.a[j++];
          if (c == 'x' && j + 2 <= iClose && isxdigit(file.a[j]) &&
              isxdigit(file.a[j + 1])) {
            char zHex[3] = { (char)file.a[j], (char)file.a[j + 1], 0 };
            c = (unsigned char)strtol(zHex, 0, 16);
            j += 2;
          }
        }
        aTok[nTok++] = c;
      }
      if (nTok) fuzzListAdd(pDict, aTok, nTok);
    }
    i = iEnd + 1;
  }
  free(file.a);
}

/* Bytes and texts that often matter to parsers. */
static const unsigned char aInteresting[] = {
  0,    1,    0x7f, 0x80, 0xff, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, '"',
  '\\', '{',  '}',  '[',  ']',  ',',  ':',  '0',  '-',  '.',  'e',  ' ',
  '\n', '\t', '<',  '>',  '&',  '*',  '_',  '`',  'u',  '/',
};
static const char *const azNumber[] = {
  "0",
  "-0",
  "1",
  "-1",
  "1.5",
  "1e3",
  "1E-2",
  "2147483647",
  "2147483648",
  "4294967296",
  "9007199254740993",
  "9223372036854775807",
  "9223372036854775808",
  "-9223372036854775808",
  "-9223372036854775809",
  "99999999999999999999999",
  "1e308",
  "1e309",
  "-1e-400",
  "0.000000000000000000001e21",
};

/*
** Inserts a[0..n) at position i of the buffer *pBuf, whose size is
** *pnBuf and whose room is nMax; what does not fit is dropped.
*/
static void fuzzInsert(unsigned char *aBuf, size_t *pnBuf, size_t nMax,
                       size_t i, const unsigned char *a, size_t n) {
  if (*pnBuf + n > nMax) n = nMax - *pnBuf;
  if (n == 0) return;
  memmove(aBuf + i + n, aBuf + i, *pnBuf - i);
  memmove(aBuf + i, a, n);
  *pnBuf += n;
}

/*
** Makes one input into aBuf (room for nMax bytes) from the corpus and the
** dictionary. Returns its size.
*/
static size_t fuzzMutate(const FuzzList *pCorpus, const FuzzList *pDict,
                         unsigned char *aBuf, size_t nMax) {
  size_t n = 0;
  int nStep = 1 + (int)fuzzBelow(8);
  if (pCorpus->n && fuzzBelow(16) != 0) {
    const FuzzBuf *p = &pCorpus->a[fuzzBelow(pCorpus->n)];
    n = p->n < nMax ? p->n : nMax;
    memcpy(aBuf, p->a, n);
  } else {
    n = fuzzBelow(64);
    for (size_t i = 0; i < n; i++)
      aBuf[i] = (unsigned char)fuzzRand();
  }
  for (int s = 0; s < nStep; s++) {
    size_t i = n ? fuzzBelow(n) : 0;
    switch (fuzzBelow(11)) {
      case 0:
        if (n) aBuf[i] ^= (unsigned char)(1u << fuzzBelow(8));
        break;
      case 1:
        if (n) aBuf[i] = (unsigned char)fuzzRand();
        break;
      case 2:
        if (n) aBuf[i] = aInteresting[fuzzBelow(sizeof(aInteresting))];
        break;
      case 3: {
        unsigned char c = aInteresting[fuzzBelow(sizeof(aInteresting))];
        fuzzInsert(aBuf, &n, nMax, i, &c, 1);
        break;
      }
      case 4: { /* delete a range */
        size_t nDel = n - i ? 1 + fuzzBelow(n - i < 16 ? n - i : 16) : 0;
        memmove(aBuf + i, aBuf + i + nDel, n - i - nDel);
        n -= nDel;
        break;
      }
      case 5: { /* duplicate a range */
        size_t nDup = n - i ? 1 + fuzzBelow(n - i < 32 ? n - i : 32) : 0;
        unsigned char aTmp[32];
        memcpy(aTmp, aBuf + i, nDup);
        fuzzInsert(aBuf, &n, nMax, i, aTmp, nDup);
        break;
      }
      case 6: { /* a number at a limit */
        const char *z =
            azNumber[fuzzBelow(sizeof(azNumber) / sizeof(azNumber[0]))];
        fuzzInsert(aBuf, &n, nMax, i, (const unsigned char *)z, strlen(z));
        break;
      }
      case 7:
      case 8: /* a dictionary token, inserted or replacing */
        if (pDict->n) {
          const FuzzBuf *p = &pDict->a[fuzzBelow(pDict->n)];
          if (fuzzBelow(2) && n - i >= p->n) {
            memcpy(aBuf + i, p->a, p->n);
          } else {
            fuzzInsert(aBuf, &n, nMax, i, p->a, p->n);
          }
        }
        break;
      case 9: /* splice: the tail of another corpus input */
        if (pCorpus->n) {
          const FuzzBuf *p = &pCorpus->a[fuzzBelow(pCorpus->n)];
          size_t iFrom = p->n ? fuzzBelow(p->n) : 0;
          n = i;
          fuzzInsert(aBuf, &n, nMax, i, p->a + iFrom, p->n - iFrom);
        }
        break;
      default: /* truncate */ n = i; break;
    }
  }
  return n;
}

/*
** Replays the files and directories named, then runs -runs=N mutated
** inputs. Returns 0; a harness that finds a failure aborts.
*/
int main(int argc, char **argv) {
  FuzzList corpus = { 0, 0, 0 };
  FuzzList dict = { 0, 0, 0 };
  long nRun = 2000;
  size_t nMax = 8192;
  int nFile = 0;
  int bVerbose = 0;
  unsigned char *aBuf;
  const char *zProg =
      strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "-runs=", 6) == 0) {
      nRun = atol(argv[i] + 6);
    } else if (strncmp(argv[i], "-seed=", 6) == 0) {
      iRand = strtoull(argv[i] + 6, 0, 10) * 0x9e3779b97f4a7c15ull + 1;
    } else if (strncmp(argv[i], "-dict=", 6) == 0) {
      fuzzLoadDict(&dict, argv[i] + 6);
    } else if (strncmp(argv[i], "-max_len=", 9) == 0) {
      nMax = (size_t)atol(argv[i] + 9);
      if (nMax < 16) nMax = 16;
    } else if (strncmp(argv[i], "-verbose=", 9) == 0) {
      bVerbose = atoi(argv[i] + 9);
    } else if (argv[i][0] == '-') {
      /* Other libFuzzer flags mean nothing here. */
    } else {
      nFile += fuzzAddPath(&corpus, argv[i]);
    }
  }
  for (size_t i = 0; i < corpus.n; i++) {
    LLVMFuzzerTestOneInput(corpus.a[i].a, corpus.a[i].n);
  }
  aBuf = malloc(nMax);
  if (aBuf == 0) return 2;
  for (long r = 0; r < nRun; r++) {
    size_t n = fuzzMutate(&corpus, &dict, aBuf, nMax);
    if (bVerbose) {
      fprintf(stderr, "input %ld (%zu bytes):", r, n);
      for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", aBuf[i]);
      fprintf(stderr, "\n");
    }
    LLVMFuzzerTestOneInput(aBuf, n);
  }
  free(aBuf);
  fuzzListFree(&corpus);
  fuzzListFree(&dict);
  printf("%s: %d files, %ld generated inputs passed\n", zProg, nFile, nRun);
  return 0;
}
