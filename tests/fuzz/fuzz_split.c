/*
** SPDX-License-Identifier: MIT
**
** fuzz_split.c: a libFuzzer harness for mpSplit() in mp_split.c.
**
** Each input that is valid UTF-8 (mpUtf8Valid) is split in every parse mode
** (plain text, HTML, MarkdownV2, Markdown) at the limits 16, 17, 100 and
** 4096, and mpTestSplitCheck() checks the properties that
** tests/unit/test_split.c describes, against its port of Telegram's
** parsers: no empty part, valid UTF-8, each part within the limit in
** visible UTF-16 units and accepted by Telegram's parser when the input
** is, the visible text and its entities unchanged, a text that fits kept
** as one part, SQLITE_ERROR only for markup Telegram refuses. Any failure
** aborts with the input and the parts.
**
** Inputs that are not valid UTF-8 (callers never pass them) are still split
** in every mode, only to check that nothing crashes, hangs or leaks.
**
** The oracle and mpTestSplitCheck() come from including the unit test with
** MP_TEST_SPLIT_NO_MAIN defined.
**
** Build and run (from the repository root):
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -DSQLITE_CORE -Iext \
**       ext/mp_split.c ext/mp_json.c ext/mp_util.c tests/fuzz/fuzz_split.c \
**       -lsqlite3 -o fuzz_split
**   ./fuzz_split -max_total_time=120 -max_len=2048 corpus/
**
** A dictionary (-dict=FILE, one quoted token a line) of the tokens in
** azToken below speeds it up.
**
** Without libFuzzer (gcc, ctest), -DMP_FUZZ_STANDALONE adds a main() that
** runs the properties over any files named, then over -runs=N (default
** 3000) inputs made of random tokens and random bytes:
**
**   gcc -std=c11 -DMP_FUZZ_STANDALONE -DSQLITE_CORE -Iext ext/mp_split.c \
**       ext/mp_json.c ext/mp_util.c tests/fuzz/fuzz_split.c -lsqlite3 \
**       -o fuzz_split && ./fuzz_split -runs=3000
*/
#define MP_TEST_SPLIT_NO_MAIN
#include "../unit/test_split.c"

/*
** The libFuzzer entry point. Returns 0; aborts when a property fails.
*/
int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData);
int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
  static const char *const azMode[] = { 0, "HTML", "MarkdownV2", "Markdown" };
  static const int aLimit[] = { 16, 17, 100, 4096 };
  const char *z = (const char *)aData;
  int n;
  if (nData > 100000) return 0;
  n = (int)nData;
  if (!mpUtf8Valid(aData, n)) {
    for (int e = 0; e < 4; e++) {
      MpSplit s;
      if (mpSplit(z, n, azMode[e], 16, &s) == SQLITE_OK) mpSplitFree(&s);
    }
    return 0;
  }
  for (int e = 0; e < 4; e++) {
    for (size_t k = 0; k < sizeof(aLimit) / sizeof(aLimit[0]); k++) {
      const char *zFail = mpTestSplitCheck(z, n, azMode[e], aLimit[k], 0);
      if (zFail) {
        fprintf(stderr,
                "fuzz_split: %s\nmode %s, limit %d, input (%d "
                "bytes): %.*s\n",
                zFail, azMode[e] ? azMode[e] : "plain", aLimit[k], n, n, z);
        abort();
      }
    }
  }
  return 0;
}

#ifdef MP_FUZZ_STANDALONE
/* Markup and text tokens the generated inputs are made of. */
static const char *const azToken[] = {
  "<b>",
  "</b>",
  "<i>",
  "</i>",
  "<a href=\"x\">",
  "</a>",
  "<a>",
  "<pre>",
  "</pre>",
  "<code class=\"language-c\">",
  "</code>",
  "<blockquote expandable>",
  "</blockquote>",
  "<tg-emoji emoji-id=\"1\">",
  "</tg-emoji>",
  "&amp;",
  "&#128512;",
  "&amp",
  "&#x",
  "&#10;",
  "*",
  "_",
  "__",
  "~",
  "||",
  "`",
  "```",
  "```c\n",
  "](u)",
  "![",
  "[",
  "]",
  ">",
  "**>",
  "\\",
  "\\.",
  "\\_",
  "\n",
  "\n\n",
  "\r\n",
  " ",
  "word",
  "abcdefghijklmnopq",
  "\xF0\x9F\x98\x80",
  "\xE2\x80\x8D",
  "e\xCC\x81",
  "\xF0\x9F\x87\xA9",
  "\xC3\xA9",
};

/*
** Runs the properties over the files named on the command line, then over
** generated inputs: random tokens from azToken, now and then a random
** byte. Returns 0; a failed property aborts.
*/
int main(int argc, char **argv) {
  static unsigned char a[70000];
  u64 s = 0x9e3779b97f4a7c15ull;
  int nRound = 3000;
  for (int i = 1; i < argc; i++) {
    FILE *f;
    size_t n;
    if (strncmp(argv[i], "-runs=", 6) == 0) {
      nRound = atoi(argv[i] + 6);
      continue;
    }
    f = fopen(argv[i], "rb");
    if (f == 0) continue;
    n = fread(a, 1, sizeof(a), f);
    fclose(f);
    LLVMFuzzerTestOneInput(a, n);
  }
  for (int r = 0; r < nRound; r++) {
    size_t n = 0, nWant;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    nWant = (size_t)(s % (r % 50 == 0 ? 20000 : 400));
    while (n < nWant) {
      const char *zTok;
      size_t nTok;
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      if (s % 16 == 0) {
        a[n++] = (unsigned char)(s >> 40);
        continue;
      }
      zTok = azToken[(s >> 8) % (sizeof(azToken) / sizeof(azToken[0]))];
      nTok = strlen(zTok);
      if (n + nTok > sizeof(a)) break;
      memcpy(a + n, zTok, nTok);
      n += nTok;
    }
    LLVMFuzzerTestOneInput(a, n);
  }
  printf("fuzz_split: %d generated inputs passed\n", nRound);
  return 0;
}
#endif /* MP_FUZZ_STANDALONE */
