/*
** SPDX-License-Identifier: MIT
**
** mp: a durable outgoing-message queue inside SQLite.
**
** Load it and drive the whole message lifecycle from SQL:
**
**   .load build/mp
**   PRAGMA journal_mode = WAL;
**   SELECT mp_init();
**   SELECT mp_enqueue(12345, 'Build finished', '{"type":"build_completed"}',
**                     '{"priority":"high"}');
**   SELECT * FROM mp_claim(10);
**   SELECT mp_confirm('<id>', 777, 'telegram');
**   SELECT * FROM mp_stats;
**
** SQL functions and tables (docs/sql-api.md has each with examples):
**
**   mp_version()                          version string
**   mp_debug()                            version, commit, build, SQLite
**   mp_init([config_json])                create/migrate schema  mp_schema.c
**   mp_config(key [, value])              settings               mp_config.c
**   mp_enqueue(chat, text [, ev [, opt]]) store a message        mp_enqueue.c
**   mp_format(event [, parse_mode])       a seed Event as text   mp_format.c
**   mp_enqueue_event(event [, chat])      format and store it    mp_format.c
**   mp_split(text [, mode [, limit]])     long text -> parts     mp_split.c
**   mp_claim(n [, lease_s [, worker]])    take due messages      mp_claim.c
**   mp_mark_sent(id [, lease_s])          take one message       mp_claim.c
**   mp_confirm(id, tg_id [, tier])        delivered              mp_transition.c
**   mp_mark_failed(id, err [, retry [, after_s]])   failed       mp_transition.c
**   mp_requeue(id)                        redrive a failed one   mp_transition.c
**   mp_release(id)                        unsend a claimed one   mp_transition.c
**   mp_report(id, status, body [, tier [, ms]])   one attempt  mp_report.c
**   mp_next_due()                         ms until a claim finds one  mp_claim.c
**   mp_recover([worker])                  take back lost leases  mp_recover.c
**   mp_verify([id])                       checksum mismatches    mp_verify.c
**   mp_cleanup([retention_days])          delete old terminal    mp_cleanup.c
**   mp_backup(path [, key])               online, encrypted      mp_backup.c
**   mp_tick()                             upkeep that is due     mp_tick.c
**   mp_enqueue_batch(json), mp_confirm_batch(json), mp_report_batch(json)
**                                         many per call          mp_batch.c
**   mp_stats                              metrics table          mp_stats.c
**   mp_now(), mp_clock_set(ms), mp_clock_advance(ms)   the clock mp_clock.c
**
** This file holds only the entry point and the two version functions.
*/
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "mp_int.h"
#include "mp_version.h"

#include <openssl/opensslv.h>
#include <string.h>

#ifdef _WIN32
# define MP_API __declspec(dllexport)
#else
# define MP_API __attribute__((visibility("default")))
#endif

/*
** mp_version(): the version string from VERSION. MP_FN_PURE.
*/
static void mpVersionFunc(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, MP_VERSION, -1, SQLITE_STATIC);
}

/*
** mp_debug(): one "key: value" line each for the version, the commit, the
** build flags, SQLite at compile and run time, and OpenSSL. MP_FN_PURE:
** constant for the life of the process.
*/
static void mpDebugFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char *z;
  (void)argc;
  (void)argv;
  z = sqlite3_mprintf("version: %s\ncommit: %s\nbuild: %s\n"
                      "sqlite compiled: %s\nsqlite running: %s\n"
                      "openssl: %s",
                      MP_VERSION, MP_COMMIT, MP_BUILD_FLAGS, SQLITE_VERSION,
                      sqlite3_libversion(), OPENSSL_VERSION_TEXT);
  if (z == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/*
** Registers everything on db. The only exported symbol. Returns SQLITE_OK,
** or an error code with *pzErrMsg naming what could not be registered.
*/
MP_API int sqlite3_mp_init(sqlite3 *db, char **pzErrMsg,
                           const sqlite3_api_routines *pApi) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_version", 0, MP_FN_PURE, mpVersionFunc },
    { "mp_debug",   0, MP_FN_PURE, mpDebugFunc },
  };
  static int (*const axRegister[])(sqlite3 *, MpState *, char **) = {
    mpRegisterClock,   mpRegisterSchema,     mpRegisterConfig,
    mpRegisterEnqueue, mpRegisterClaim,      mpRegisterTransition,
    mpRegisterRecover, mpRegisterVerify,     mpRegisterReport,
    mpRegisterCleanup, mpRegisterFormat,     mpRegisterSplit,
    mpRegisterBackup,  mpRegisterTick,       mpRegisterBatch,
    mpRegisterDue,
  };
  // clang-format on
  MpState *p;
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  if (sqlite3_libversion_number() < 3038000) {
    *pzErrMsg = sqlite3_mprintf("mp: needs SQLite 3.38.0 or later, this is %s",
                                sqlite3_libversion());
    return SQLITE_ERROR;
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  /* mp_stats first: from here on it owns p and frees it at close. */
  rc = mpRegisterStats(db, p, pzErrMsg);
  if (rc == SQLITE_OK) {
    rc = mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
  }
  for (size_t i = 0;
       rc == SQLITE_OK && i < sizeof(axRegister) / sizeof(axRegister[0]); i++) {
    rc = axRegister[i](db, p, pzErrMsg);
  }
  return rc;
}
