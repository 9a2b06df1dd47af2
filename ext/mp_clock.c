/*
** SPDX-License-Identifier: MIT
**
** mp_clock.c: the one clock that every mp function reads, and the random
** numbers behind ids, lease tokens and retry jitter.
**
** Tests drive time without sleeping:
**
**   SELECT mp_clock_set(1700000000000);  -- fix the clock (ms since epoch)
**   SELECT mp_clock_advance(30000);      -- move it 30 s forward
**   SELECT mp_now();                     -- 1700000030000
**   SELECT mp_clock_set(NULL);           -- back to the system clock
**
** The clock is per connection: fixing it in a test never changes what
** another process sees.
*/
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "mp_int.h"

#include <time.h>

#define MP_CLOCK_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */

/*
** Returns the current time in milliseconds since the Unix epoch: the fixed
** time when a test set one, else the system's real-time clock.
*/
i64 mpNowMs(MpState *p) {
  struct timespec ts;
  if (p->bClockFixed) return p->iClockMs;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (i64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
** Returns 64 random bits from a xorshift128+ generator seeded from
** sqlite3_randomness() when the connection loaded mp. Not for secrets:
** lease tokens only need to differ between claims.
*/
u64 mpRandom(MpState *p) {
  u64 s1 = p->aRandom[0];
  const u64 s0 = p->aRandom[1];
  p->aRandom[0] = s0;
  s1 ^= s1 << 23;
  p->aRandom[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  return p->aRandom[1] + s0;
}

/*
** mp_now(): the mp clock in ms. MP_FN_VOLATILE: it changes between calls
** but has no side effects.
*/
static void mpNowFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_int64(ctx, mpNowMs(sqlite3_user_data(ctx)));
}

/*
** mp_clock_set(ms): fixes the clock at ms; mp_clock_set(NULL) returns to
** the system clock. Returns the new mp_now(). MP_FN_UNSAFE: it changes
** what every later call of this connection does.
*/
static void mpClockSetFunc(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv) {
  MpState *p = sqlite3_user_data(ctx);
  i64 iMs;
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    p->bClockFixed = 0;
  } else {
    if (mpArgInt(ctx, argv[0], "mp_clock_set", "ms", &iMs)) return;
    if (iMs < 0 || iMs > MP_CLOCK_MAX_MS) {
      mpResultErrorf(ctx, "mp_clock_set: ms must be between 0 and %lld",
                     MP_CLOCK_MAX_MS);
      return;
    }
    p->bClockFixed = 1;
    p->iClockMs = iMs;
  }
  sqlite3_result_int64(ctx, mpNowMs(p));
}

/*
** mp_clock_advance(ms): moves a fixed clock forward by ms (>= 0). Returns
** the new mp_now(). Refused when the clock is not fixed. MP_FN_UNSAFE, as
** mp_clock_set().
*/
static void mpClockAdvanceFunc(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv) {
  MpState *p = sqlite3_user_data(ctx);
  i64 iMs;
  (void)argc;
  if (mpArgInt(ctx, argv[0], "mp_clock_advance", "ms", &iMs)) return;
  if (iMs < 0 || iMs > MP_CLOCK_MAX_MS) {
    mpResultErrorf(ctx, "mp_clock_advance: ms must be between 0 and %lld",
                   MP_CLOCK_MAX_MS);
    return;
  }
  if (!p->bClockFixed) {
    mpResultErrorf(ctx, "mp_clock_advance: the clock is not fixed; call "
                        "mp_clock_set(ms) first");
    return;
  }
  if (p->iClockMs > MP_CLOCK_MAX_MS - iMs) {
    mpResultErrorf(ctx, "mp_clock_advance: the clock would pass year 9999");
    return;
  }
  p->iClockMs += iMs;
  sqlite3_result_int64(ctx, p->iClockMs);
}

/*
** Seeds the generator and registers the clock functions. Returns an
** SQLite result code; *pzErrMsg names the function that failed.
*/
int mpRegisterClock(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_now",           0, MP_FN_VOLATILE, mpNowFunc },
    { "mp_clock_set",     1, MP_FN_UNSAFE,   mpClockSetFunc },
    { "mp_clock_advance", 1, MP_FN_UNSAFE,   mpClockAdvanceFunc },
  };
  // clang-format on
  sqlite3_randomness(sizeof(p->aRandom), p->aRandom);
  if ((p->aRandom[0] | p->aRandom[1]) == 0) p->aRandom[1] = 1;
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
