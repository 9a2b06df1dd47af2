/*
** SPDX-License-Identifier: MIT
**
** fuzz_backup.c: a libFuzzer harness for the backup decoder that
** mp-restore uses (tools/restore/restore_codec.c).
**
** The first input byte picks a mode; the harness aborts when a property
** fails.
**
** Even: the rest of the input is taken as a backup file and decoded with
** a fixed key, its size known or not (bit 1 of the first byte), read in
** short pieces of a size chosen by the input.
**
**   - the decoder never crashes, leaks or reads out of bounds, and every
**     result other than MP_RESTORE_OK comes with a message;
**   - only valid tagged input decrypts: on MP_RESTORE_OK the input is,
**     byte for byte, what an independent reference encoder (below) makes
**     of the decoded plaintext with the header's nonce;
**   - mpRestoreKind, mpRestoreCheckPlain and mpRestoreHexKey accept any
**     bytes.
**
** Odd: the input supplies a nonce, a flip position, a cut position and a
** plaintext. The reference encoder makes a valid backup of it; then
**
**   - decoding it gives back exactly the plaintext;
**   - with one bit flipped anywhere (header, ciphertext or tag) it is
**     refused;
**   - cut short anywhere, or with a byte appended, it is refused;
**   - with another key it is refused as MP_RESTORE_WRONG_KEY;
**
** and in every refused case nothing that was passed to the writer may be
** kept (the harness only checks the result code).
**
** Build and run (from the repository root):
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -Itools/restore -Iext \
**       tools/restore/restore_codec.c ext/mp_backup_format.c \
**       tests/fuzz/fuzz_backup.c -lcrypto -o fuzz_backup
**   ./fuzz_backup -max_total_time=60 corpus/
**
** Without libFuzzer (gcc, ctest), -DMP_FUZZ_STANDALONE adds a main() that
** runs the properties over generated inputs and any files named:
**
**   gcc -DMP_FUZZ_STANDALONE -Itools/restore -Iext \
**       tools/restore/restore_codec.c ext/mp_backup_format.c \
**       tests/fuzz/fuzz_backup.c -lcrypto -o fuzz_backup && ./fuzz_backup
*/
#include "restore_codec.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData);

/* The key every backup of mode 0 is decoded with, and another one. */
static const unsigned char aKeyA[MP_RESTORE_KEY_BYTES] = {
  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
  0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
  0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};
static const unsigned char aKeyB[MP_RESTORE_KEY_BYTES] = {
  0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
  0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
  0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

/* A byte source over memory, handing out at most nPiece bytes a call. */
typedef struct FuzzIn FuzzIn;
struct FuzzIn {
  const unsigned char *a; /* The input */
  size_t n;               /* Its size */
  size_t i;               /* Read position */
  size_t nPiece;          /* Most bytes one read returns, > 0 */
};

/* A byte sink collecting everything into a growing buffer. */
typedef struct FuzzOut FuzzOut;
struct FuzzOut {
  unsigned char *a; /* Collected bytes (malloc) */
  size_t n;         /* Bytes collected */
  size_t nAlloc;    /* Bytes allocated */
};

/*
** Reports a failed property and aborts.
*/
static void fuzzFail(const char *zWhy, size_t nData) {
  fprintf(stderr, "fuzz_backup: %s (input of %zu bytes)\n", zWhy, nData);
  abort();
}

/*
** MpRestoreRead over memory: at most p->nPiece bytes a call, 0 at the end.
*/
static long fuzzRead(void *pArg, unsigned char *a, size_t n) {
  FuzzIn *p = pArg;
  size_t nLeft = p->n - p->i;
  if (n > nLeft) n = nLeft;
  if (n > p->nPiece) n = p->nPiece;
  memcpy(a, p->a + p->i, n);
  p->i += n;
  return (long)n;
}

/*
** MpRestoreWrite into a growing buffer. Returns 0, or 1 on OOM.
*/
static int fuzzWrite(void *pArg, const unsigned char *a, size_t n) {
  FuzzOut *p = pArg;
  if (p->n + n > p->nAlloc) {
    size_t nNew = (p->n + n) * 2 + 64;
    unsigned char *aNew = realloc(p->a, nNew);
    if (aNew == 0) return 1;
    p->a = aNew;
    p->nAlloc = nNew;
  }
  memcpy(p->a + p->n, a, n);
  p->n += n;
  return 0;
}

/*
** The reference encoder, written from the format in restore_codec.h
** without using the decoder's code. Returns a malloc'd backup of
** aPlain[0..nPlain) with nonce aNonce and key aKey, its size in *pnOut.
** Aborts on failure.
*/
static unsigned char *fuzzEncode(const unsigned char *aKey,
                                 const unsigned char *aNonce,
                                 const unsigned char *aPlain, size_t nPlain,
                                 size_t *pnOut) {
  static const char zLabel[] = "MPBK key check v1";
  unsigned char aCheckIn[sizeof(zLabel) - 1 + 12 + 32];
  unsigned char aMd[EVP_MAX_MD_SIZE];
  unsigned char aTag[16];
  unsigned int nMd = 0;
  size_t nOut = 44 + nPlain + 16;
  unsigned char *aOut = malloc(nOut);
  EVP_CIPHER_CTX *pCtx = EVP_CIPHER_CTX_new();
  int n = 0;
  uint64_t v = nPlain;
  if (aOut == 0 || pCtx == 0) fuzzFail("out of memory", nPlain);
  memcpy(aOut, "MPBK", 4);
  aOut[4] = 1;
  aOut[5] = 1;
  aOut[6] = 0;
  aOut[7] = 0;
  for (int i = 15; i >= 8; i--) {
    aOut[i] = (unsigned char)(v & 0xff);
    v >>= 8;
  }
  memcpy(aOut + 16, aNonce, 12);
  memcpy(aCheckIn, zLabel, sizeof(zLabel) - 1);
  memcpy(aCheckIn + sizeof(zLabel) - 1, aNonce, 12);
  memcpy(aCheckIn + sizeof(zLabel) - 1 + 12, aKey, 32);
  if (EVP_Digest(aCheckIn, sizeof(aCheckIn), aMd, &nMd, EVP_sha256(), 0) != 1)
    fuzzFail("sha256 failed", nPlain);
  memcpy(aOut + 28, aMd, 16);
  if (EVP_EncryptInit_ex(pCtx, EVP_aes_256_gcm(), 0, aKey, aNonce) != 1 ||
      EVP_EncryptUpdate(pCtx, 0, &n, aOut, 44) != 1 ||
      (nPlain > 0 &&
       EVP_EncryptUpdate(pCtx, aOut + 44, &n, aPlain, (int)nPlain) != 1) ||
      EVP_EncryptFinal_ex(pCtx, aOut + 44 + nPlain, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(pCtx, EVP_CTRL_GCM_GET_TAG, 16, aTag) != 1) {
    fuzzFail("reference encoder failed", nPlain);
  }
  memcpy(aOut + 44 + nPlain, aTag, 16);
  EVP_CIPHER_CTX_free(pCtx);
  *pnOut = nOut;
  return aOut;
}

/*
** Decodes a[0..n) with aKey, its size known or not, reading nPiece bytes
** at most at a time. Returns the decoder's result; the plaintext goes to
** *pOut (the caller frees pOut->a).
*/
static int fuzzDecode(const unsigned char *aKey, const unsigned char *a,
                      size_t n, int bSizeKnown, size_t nPiece, FuzzOut *pOut) {
  FuzzIn in = { a, n, 0, nPiece ? nPiece : 1 };
  char zErr[256];
  int rc;
  zErr[0] = 0;
  rc = mpRestoreDecrypt(aKey, bSizeKnown ? (int64_t)n : -1, fuzzRead, &in,
                        fuzzWrite, pOut, zErr, sizeof(zErr));
  if (rc != MP_RESTORE_OK && zErr[0] == 0) fuzzFail("error without message", n);
  if (rc == MP_RESTORE_IO) fuzzFail("I/O error from memory callbacks", n);
  return rc;
}

/*
** Mode 0: arbitrary bytes as a backup.
*/
static void fuzzArbitrary(const unsigned char *aData, size_t nData,
                          unsigned mode) {
  FuzzOut out = { 0, 0, 0 };
  MpRestoreHeader hdr;
  unsigned char aKey[MP_RESTORE_KEY_BYTES];
  char zErr[128];
  size_t nPiece = nData > 0 ? (size_t)aData[nData - 1] * 97 + 1 : 1;
  int rc;

  (void)mpRestoreKind(aData, nData);
  (void)mpRestoreCheckPlain(aData, nData, (int64_t)nData, zErr, sizeof(zErr));
  (void)mpRestoreHexKey((const char *)aData, nData, aKey);
  (void)mpRestoreParseHeader(aData, nData, -1, &hdr, zErr, sizeof(zErr));

  rc = fuzzDecode(aKeyA, aData, nData, (mode & 2) != 0, nPiece, &out);
  if (rc == MP_RESTORE_OK) {
    size_t nRef = 0;
    unsigned char *aRef;
    if (nData < MP_RESTORE_OVERHEAD) fuzzFail("accepted a short input", nData);
    aRef = fuzzEncode(aKeyA, aData + 16, out.a, out.n, &nRef);
    if (nRef != nData || memcmp(aRef, aData, nData) != 0) {
      fuzzFail("accepted input that is not a valid backup", nData);
    }
    free(aRef);
  }
  free(out.a);
}

/*
** Mode 1: a valid backup, then damaged copies of it.
*/
static void fuzzStructured(const unsigned char *aData, size_t nData) {
  unsigned char aNonce[12] = { 0 };
  const unsigned char *aPlain;
  unsigned char *aEnc;
  unsigned char *aBad;
  size_t nPlain;
  size_t nEnc = 0;
  size_t iFlip = 0;
  size_t iCut = 0;
  unsigned bit;
  FuzzOut out = { 0, 0, 0 };
  int rc;

  if (nData < 12 + 4 + 4 + 1) return;
  memcpy(aNonce, aData, 12);
  for (int i = 0; i < 4; i++) {
    iFlip = iFlip << 8 | aData[12 + i];
    iCut = iCut << 8 | aData[16 + i];
  }
  bit = aData[20] & 7;
  aPlain = aData + 21;
  nPlain = nData - 21;
  aEnc = fuzzEncode(aKeyA, aNonce, aPlain, nPlain, &nEnc);

  /* The valid backup decodes to the plaintext, size known or not. */
  for (int bKnown = 0; bKnown < 2; bKnown++) {
    out.n = 0;
    rc = fuzzDecode(aKeyA, aEnc, nEnc, bKnown, (size_t)aData[20] + 1, &out);
    if (rc != MP_RESTORE_OK) fuzzFail("refused a valid backup", nData);
    if (out.n != nPlain || (nPlain && memcmp(out.a, aPlain, nPlain) != 0)) {
      fuzzFail("plaintext changed in the round trip", nData);
    }
  }

  /* Another key: refused as a wrong key, before any output. */
  out.n = 0;
  rc = fuzzDecode(aKeyB, aEnc, nEnc, 1, nEnc, &out);
  if (rc != MP_RESTORE_WRONG_KEY || out.n != 0) {
    fuzzFail("another key was not refused as wrong", nData);
  }

  /* One bit flipped anywhere: refused. */
  aBad = malloc(nEnc + 1);
  if (aBad == 0) fuzzFail("out of memory", nData);
  memcpy(aBad, aEnc, nEnc);
  aBad[iFlip % nEnc] ^= (unsigned char)(1u << bit);
  for (int bKnown = 0; bKnown < 2; bKnown++) {
    out.n = 0;
    rc = fuzzDecode(aKeyA, aBad, nEnc, bKnown, nEnc, &out);
    if (rc == MP_RESTORE_OK) fuzzFail("accepted a flipped bit", nData);
  }

  /* Cut short anywhere: refused. */
  memcpy(aBad, aEnc, nEnc);
  for (int bKnown = 0; bKnown < 2; bKnown++) {
    out.n = 0;
    rc = fuzzDecode(aKeyA, aBad, iCut % nEnc, bKnown, 4096, &out);
    if (rc == MP_RESTORE_OK) fuzzFail("accepted a truncated backup", nData);
    if (bKnown && rc != MP_RESTORE_TRUNCATED && rc != MP_RESTORE_FORMAT) {
      fuzzFail("truncation not reported as such", nData);
    }
  }

  /* One byte appended: refused. */
  aBad[nEnc] = aData[20];
  for (int bKnown = 0; bKnown < 2; bKnown++) {
    out.n = 0;
    rc = fuzzDecode(aKeyA, aBad, nEnc + 1, bKnown, 4096, &out);
    if (rc == MP_RESTORE_OK) fuzzFail("accepted trailing data", nData);
  }

  free(aBad);
  free(aEnc);
  free(out.a);
}

/*
** The libFuzzer entry point: one input, both modes chosen by its first
** byte (see the top of this file). Returns 0; failures abort.
*/
int LLVMFuzzerTestOneInput(const unsigned char *aData, size_t nData) {
  if (nData == 0 || nData > 1 << 20) return 0;
  if (aData[0] & 1) {
    fuzzStructured(aData + 1, nData - 1);
  } else {
    fuzzArbitrary(aData + 1, nData - 1, aData[0]);
  }
  return 0;
}

#ifdef MP_FUZZ_STANDALONE
/*
** Runs the properties over files named on the command line, then over
** generated inputs: random bytes, valid backups with random damage, and
** valid backups themselves pushed through mode 0 (which must accept them).
*/
int main(int argc, char **argv) {
  unsigned long long s = 0x9e3779b97f4a7c15ull;
  unsigned char *a = malloc(70000);
  int nRound = argc > 1 && strncmp(argv[1], "-runs=", 6) == 0
                   ? atoi(argv[1] + 6)
                   : 20000;
  if (a == 0) return 1;
  for (int i = 1; i < argc; i++) {
    FILE *f;
    size_t n;
    if (strncmp(argv[i], "-runs=", 6) == 0) continue;
    f = fopen(argv[i], "rb");
    if (f == 0) continue;
    n = fread(a, 1, 70000, f);
    fclose(f);
    LLVMFuzzerTestOneInput(a, n);
  }
  for (int r = 0; r < nRound; r++) {
    size_t n;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    n = (size_t)(s % (r % 100 == 0 ? 70000 : 300));
    for (size_t i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      a[i] = (unsigned char)(s >> 24);
    }
    if (r % 3 == 2 && n > 60) {
      /* A valid backup as a mode-0 input: must be accepted. */
      size_t nEnc = 0;
      unsigned char *aEnc = fuzzEncode(aKeyA, a + 1, a + 13, n - 61, &nEnc);
      FuzzOut out = { 0, 0, 0 };
      if (fuzzDecode(aKeyA, aEnc, nEnc, r & 1, 7, &out) != MP_RESTORE_OK) {
        fuzzFail("refused a valid backup in mode 0", nEnc);
      }
      a[0] = (unsigned char)(r & 2);
      memcpy(a + 1, aEnc, nEnc);
      LLVMFuzzerTestOneInput(a, nEnc + 1);
      free(out.a);
      free(aEnc);
      continue;
    }
    LLVMFuzzerTestOneInput(a, n);
  }
  free(a);
  printf("fuzz_backup: %d generated inputs passed\n", nRound);
  return 0;
}
#endif
