/*
** SPDX-License-Identifier: MIT
**
** make_backup_seeds.c: writes the seed corpus of fuzz_backup.c into a
** directory, using that harness's reference encoder (the backups need
** AES-GCM, which make_corpus.py does not have).
**
**   cc -Itools/restore -Iext tests/fuzz/make_backup_seeds.c \
**       tools/restore/restore_codec.c ext/mp_backup_format.c -lcrypto \
**       -o /tmp/make_backup_seeds
**   /tmp/make_backup_seeds tests/fuzz/corpus/backup
**
** Mode 0 seeds (first byte even) are backup files: valid ones under the
** harness's key, one under another key, damaged, truncated and plain
** SQLite headers. Mode 1 seeds (first byte odd) are the structured inputs
** (nonce, flip and cut positions, read size, plaintext).
*/
#include "fuzz_backup.c"

/*
** Writes a mode byte and a[0..n) to DIR/zName. Exits on failure.
*/
static void seedWrite(const char *zDir, const char *zName, unsigned char mode,
                      const unsigned char *a, size_t n) {
  char zPath[1024];
  FILE *f;
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  f = fopen(zPath, "wb");
  if (f == 0 || fwrite(&mode, 1, 1, f) != 1 || (n && fwrite(a, 1, n, f) != n) ||
      fclose(f) != 0) {
    fprintf(stderr, "make_backup_seeds: cannot write %s\n", zPath);
    exit(1);
  }
}

/*
** Writes the seeds into argv[1].
*/
int main(int argc, char **argv) {
  static const unsigned char aNonce[12] = { 1, 2, 3, 4,  5,  6,
                                            7, 8, 9, 10, 11, 12 };
  unsigned char aPlain[4096];
  unsigned char aStruct[21 + 200];
  unsigned char *aEnc;
  size_t nEnc = 0;
  const char *zDir;
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 1;
  }
  zDir = argv[1];
  memset(aPlain, 0, sizeof(aPlain));
  memcpy(aPlain, "SQLite format 3", 16);
  for (size_t i = 100; i < sizeof(aPlain); i++)
    aPlain[i] = (unsigned char)(i * 7);

  aEnc = fuzzEncode(aKeyA, aNonce, aPlain, 0, &nEnc);
  seedWrite(zDir, "valid_empty", 0, aEnc, nEnc);
  seedWrite(zDir, "valid_empty_sized", 2, aEnc, nEnc);
  free(aEnc);
  aEnc = fuzzEncode(aKeyA, aNonce, aPlain, 100, &nEnc);
  seedWrite(zDir, "valid_header", 0, aEnc, nEnc);
  seedWrite(zDir, "truncated", 2, aEnc, nEnc - 7);
  seedWrite(zDir, "header_only", 0, aEnc, 44);
  aEnc[50] ^= 1;
  seedWrite(zDir, "flipped_ciphertext", 2, aEnc, nEnc);
  aEnc[50] ^= 1;
  aEnc[4] = 2;
  seedWrite(zDir, "version_2", 0, aEnc, nEnc);
  aEnc[4] = 1;
  aEnc[6] = 1;
  seedWrite(zDir, "flags_set", 0, aEnc, nEnc);
  aEnc[6] = 0;
  aEnc[8] = 0x80;
  seedWrite(zDir, "huge_length", 2, aEnc, nEnc);
  free(aEnc);
  aEnc = fuzzEncode(aKeyA, aNonce, aPlain, sizeof(aPlain), &nEnc);
  seedWrite(zDir, "valid_page", 2, aEnc, nEnc);
  free(aEnc);
  aEnc = fuzzEncode(aKeyB, aNonce, aPlain, 100, &nEnc);
  seedWrite(zDir, "other_key", 0, aEnc, nEnc);
  free(aEnc);
  seedWrite(zDir, "plain_sqlite", 0, aPlain, 100);
  seedWrite(zDir, "magic_only", 0, (const unsigned char *)"MPBK", 4);
  seedWrite(zDir, "empty", 0, aPlain, 0);
  seedWrite(zDir, "hex_key", 0,
            (const unsigned char *)"00112233445566778899aabbccddeeff0123456789"
                                   "abcdeffedcba9876543210",
            64);

  /* Mode 1: nonce, flip position, cut position, read size, plaintext. */
  memset(aStruct, 0, sizeof(aStruct));
  memcpy(aStruct, aNonce, 12);
  aStruct[15] = 3;  /* flip in the header */
  aStruct[19] = 50; /* cut in the ciphertext */
  aStruct[20] = 5;
  memcpy(aStruct + 21, aPlain, 200);
  seedWrite(zDir, "struct_small", 1, aStruct, 21 + 200);
  aStruct[14] = 1; /* flip far: modulo the size, in the tag */
  aStruct[18] = 2;
  aStruct[20] = 0xff;
  seedWrite(zDir, "struct_tag", 1, aStruct, 21 + 17);
  seedWrite(zDir, "struct_empty", 1, aStruct, 21);
  printf("make_backup_seeds: wrote 18 seeds to %s\n", zDir);
  return 0;
}
