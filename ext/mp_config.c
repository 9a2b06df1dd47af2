/*
** SPDX-License-Identifier: MIT
**
** mp_config.c: validated, persistent settings.
**
**   SELECT mp_config('max_retry_count');        -- 3 (the default)
**   SELECT mp_config('max_retry_count', 5);     -- 5, stored in mp_meta
**   SELECT mp_config('max_retry_count', NULL);  -- back to the default
**   SELECT mp_init('{"lease_seconds": 120, "pace_chat_ms": 0}');
**
** Settings live in mp_meta under their own names, so every connection and
** process sees the same values. Unknown keys and out-of-range values are
** errors that change nothing. The table below is the whole list; chat_id
** (0: none) is the chat mp_enqueue_event() uses when given none, and
** backup_key says where scheduled backups find their encryption key
** (env:NAME or file:PATH; the key itself is never stored).
*/
#include "mp_int.h"

#include <string.h>

#define MP_CFG_INT  1 /* whole number within [iMin, iMax] */
#define MP_CFG_ENUM 2 /* one of the '|'-separated words in zChoices */
#define MP_CFG_TEXT 3 /* non-empty text, or unset */
#define MP_CFG_KEY  4 /* unset, or where a key is: env:NAME or file:PATH */

typedef struct MpConfigKey MpConfigKey;
struct MpConfigKey {
  const char *zName;    /* Key, as in mp_meta and in JSON */
  int eType;            /* MP_CFG_* */
  i64 iDefault;         /* Default of an MP_CFG_INT key */
  i64 iMin, iMax;       /* Range of an MP_CFG_INT key */
  const char *zChoices; /* MP_CFG_ENUM: words; the first is the default */
};

// clang-format off
static const MpConfigKey aConfigKey[] = {
  { "retention_days",         MP_CFG_INT,  30,   0, 36500,    0 },
  { "max_retry_count",        MP_CFG_INT,  3,    0, 1000,     0 },
  { "retry_interval_seconds", MP_CFG_INT,  30,   1, 86400,    0 },
  { "backoff_max_seconds",    MP_CFG_INT,  3600, 1, 604800,   0 },
  { "lease_seconds",          MP_CFG_INT,  60,   1, 86400,    0 },
  { "recovery_policy",        MP_CFG_ENUM, 0,    0, 0,
    "at_least_once|at_most_once" },
  { "pace_chat_ms",           MP_CFG_INT,  1000, 0, 3600000,  0 },
  { "pace_group_per_minute",  MP_CFG_INT,  20,   0, 100000,   0 },
  { "pace_global_per_second", MP_CFG_INT,  30,   0, 100000,   0 },
  { "cleanup_interval_hours", MP_CFG_INT,  24,   0, 8760,     0 },
  { "backup_interval_hours",  MP_CFG_INT,  168,  0, 87600,    0 },
  { "backup_path",            MP_CFG_TEXT, 0,    0, 0,        0 },
  { "backup_keep",            MP_CFG_INT,  7,    1, 1000,     0 },
  { "backup_key",             MP_CFG_KEY,  0,    0, 0,        0 },
  { "batch_size",             MP_CFG_INT,  100,  1, 10000,    0 },
  { "chat_id",                MP_CFG_INT,  0, -9007199254740991,
    9007199254740991, 0 },
};
// clang-format on

#define MP_CONFIG_KEYS ((int)(sizeof(aConfigKey) / sizeof(aConfigKey[0])))

/*
** Returns the descriptor of key z[0..n), or NULL if there is none.
*/
static const MpConfigKey *mpConfigFind(const char *z, int n) {
  for (int i = 0; i < MP_CONFIG_KEYS; i++) {
    if ((int)strlen(aConfigKey[i].zName) == n &&
        memcmp(aConfigKey[i].zName, z, n) == 0) {
      return &aConfigKey[i];
    }
  }
  return 0;
}

/*
** Returns the index of z[0..n) among the words of an MP_CFG_ENUM key, or
** -1 if it is none of them.
*/
static int mpConfigChoice(const MpConfigKey *pKey, const char *z, int n) {
  const char *zWord = pKey->zChoices;
  for (int i = 0; *zWord; i++) {
    int nWord = (int)strcspn(zWord, "|");
    if (nWord == n && memcmp(zWord, z, n) == 0) return i;
    zWord += nWord;
    if (*zWord == '|') zWord++;
  }
  return -1;
}

/*
** Checks pVal for pKey. Returns SQLITE_OK, or sets an error on ctx that
** names zFunc, the key and the problem, and returns SQLITE_MISMATCH.
*/
static int mpConfigCheck(sqlite3_context *ctx, const char *zFunc,
                         const MpConfigKey *pKey, sqlite3_value *pVal) {
  const char *z;
  int n;
  if (pKey->eType == MP_CFG_INT) {
    i64 v;
    if (mpArgInt(ctx, pVal, zFunc, pKey->zName, &v)) return SQLITE_MISMATCH;
    if (v < pKey->iMin || v > pKey->iMax) {
      mpResultErrorf(ctx, "%s: %s must be between %lld and %lld, got %lld",
                     zFunc, pKey->zName, pKey->iMin, pKey->iMax, v);
      return SQLITE_MISMATCH;
    }
    return SQLITE_OK;
  }
  if (mpArgText(ctx, pVal, zFunc, pKey->zName, 4096, 0, &z, &n)) {
    return SQLITE_MISMATCH;
  }
  if (pKey->eType == MP_CFG_KEY && !((strncmp(z, "env:", 4) == 0 && n > 4) ||
                                     (strncmp(z, "file:", 5) == 0 && n > 5))) {
    /* Never store a key itself in the database: only where to find it. */
    mpResultErrorf(ctx, "%s: %s must be env:NAME or file:PATH", zFunc,
                   pKey->zName);
    return SQLITE_MISMATCH;
  }
  if (pKey->eType == MP_CFG_ENUM && mpConfigChoice(pKey, z, n) < 0) {
    int nFirst = (int)strcspn(pKey->zChoices, "|");
    mpResultErrorf(ctx, "%s: %s must be %.*s or %s, got '%.*s'", zFunc,
                   pKey->zName, nFirst, pKey->zChoices,
                   pKey->zChoices + nFirst + 1, n, z);
    return SQLITE_MISMATCH;
  }
  return SQLITE_OK;
}

/*
** Stores pVal (already checked) as the value of pKey; NULL removes it, so
** the default applies again. Returns an SQLite result code.
*/
static int mpConfigStore(MpState *p, const MpConfigKey *pKey,
                         sqlite3_value *pVal) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (sqlite3_value_type(pVal) == SQLITE_NULL) {
    rc = sqlite3_prepare_v2(p->db, "DELETE FROM mp_meta WHERE key = ?1", -1,
                            &pStmt, 0);
  } else {
    rc = sqlite3_prepare_v2(p->db,
                            "INSERT INTO mp_meta(key, value) VALUES (?1, ?2) "
                            "ON CONFLICT(key) DO UPDATE SET value = ?2",
                            -1, &pStmt, 0);
  }
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, pKey->zName, -1, SQLITE_STATIC);
  if (sqlite3_value_type(pVal) != SQLITE_NULL) {
    if (pKey->eType == MP_CFG_INT) {
      i64 v = sqlite3_value_type(pVal) == SQLITE_FLOAT
                  ? (i64)sqlite3_value_double(pVal)
                  : sqlite3_value_int64(pVal);
      sqlite3_bind_int64(pStmt, 2, v);
    } else {
      sqlite3_bind_value(pStmt, 2, pVal);
    }
  }
  sqlite3_step(pStmt);
  return sqlite3_finalize(pStmt);
}

/*
** Reads the stored value of zKey into a result: the default when unset.
** Returns an SQLite result code. Setting the result allocates nothing that
** can fail unseen (a text is copied here first), so that mp_config() can
** set it before its commit.
*/
static int mpConfigResult(MpState *p, sqlite3_context *ctx,
                          const MpConfigKey *pKey) {
  sqlite3_stmt *pStmt =
      mpStmt(p, MP_STMT_CONFIG_GET, "SELECT value FROM mp_meta WHERE key = ?1");
  int rc = SQLITE_OK;
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_text(pStmt, 1, pKey->zName, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_value *pVal = sqlite3_column_value(pStmt, 0);
    int eType = sqlite3_value_type(pVal);
    if (eType == SQLITE_INTEGER) {
      sqlite3_result_int64(ctx, sqlite3_value_int64(pVal));
    } else if (eType == SQLITE_FLOAT) {
      sqlite3_result_double(ctx, sqlite3_value_double(pVal));
    } else if (eType == SQLITE_NULL) {
      sqlite3_result_null(ctx);
    } else {
      char *z = sqlite3_mprintf("%s", sqlite3_value_text(pVal));
      if (z == 0) rc = SQLITE_NOMEM;
      sqlite3_result_text(ctx, z, -1, sqlite3_free);
    }
  } else if (pKey->eType == MP_CFG_INT) {
    sqlite3_result_int64(ctx, pKey->iDefault);
  } else if (pKey->eType == MP_CFG_ENUM) {
    sqlite3_result_text(ctx, pKey->zChoices, (int)strcspn(pKey->zChoices, "|"),
                        SQLITE_STATIC);
  } else {
    sqlite3_result_null(ctx);
  }
  if (rc == SQLITE_OK) return mpStmtFinish(pStmt);
  mpStmtFinish(pStmt);
  return rc;
}

/*
** Reads an MP_CFG_INT setting (its default when unset) into *piOut.
** Returns an SQLite result code.
*/
int mpConfigInt(MpState *p, const char *zKey, i64 *piOut) {
  const MpConfigKey *pKey = mpConfigFind(zKey, (int)strlen(zKey));
  sqlite3_stmt *pStmt;
  *piOut = pKey ? pKey->iDefault : 0;
  pStmt =
      mpStmt(p, MP_STMT_CONFIG_GET, "SELECT value FROM mp_meta WHERE key = ?1");
  if (pStmt == 0) return sqlite3_errcode(p->db);
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    if (pKey && pKey->eType == MP_CFG_ENUM) {
      /* Enums read as the index of their word: 0 is the default. */
      const char *z = (const char *)sqlite3_column_text(pStmt, 0);
      int i = z ? mpConfigChoice(pKey, z, sqlite3_column_bytes(pStmt, 0)) : 0;
      *piOut = i < 0 ? 0 : i;
    } else {
      *piOut = sqlite3_column_int64(pStmt, 0);
    }
  }
  return mpStmtFinish(pStmt);
}

/*
** Validates every member of the JSON object zJson, then stores them all.
** Returns SQLITE_OK, or sets an error on ctx (the first bad key or value;
** nothing stored) and returns an error code. Runs inside the caller's
** transaction.
*/
int mpConfigApplyJson(sqlite3_context *ctx, MpState *p, const char *zFunc,
                      const char *zJson, int nJson) {
  for (int bStore = 0; bStore < 2; bStore++) {
    MpJson json;
    MpJsonValue key, val;
    int rc;
    if (mpJsonObjectStart(&json, zJson, nJson) != SQLITE_OK) {
      mpResultErrorf(ctx, "%s: config must be a JSON object", zFunc);
      return SQLITE_MISMATCH;
    }
    while ((rc = mpJsonNextMember(&json, &key, &val)) == 1) {
      const MpConfigKey *pKey = mpConfigFind(key.z + 1, key.n - 2);
      sqlite3_value *pVal = 0;
      sqlite3_stmt *pConv = 0;
      int rcItem;
      if (pKey == 0) {
        mpResultErrorf(ctx, "%s: unknown config key '%.*s'", zFunc, key.n - 2,
                       key.z + 1);
        return SQLITE_MISMATCH;
      }
      /* Let SQLite turn the JSON value into an SQL value. */
      rcItem = sqlite3_prepare_v2(p->db, "SELECT ?1 ->> '$'", -1, &pConv, 0);
      if (rcItem == SQLITE_OK) {
        sqlite3_bind_text(pConv, 1, val.z, val.n, SQLITE_STATIC);
        if (sqlite3_step(pConv) == SQLITE_ROW) {
          pVal = sqlite3_column_value(pConv, 0);
        }
      }
      if (pVal == 0) {
        rcItem = sqlite3_errcode(p->db);
        mpResultDbError(ctx, zFunc, p->db, rcItem);
        sqlite3_finalize(pConv);
        return rcItem;
      }
      if (val.eType == MP_JSON_STRING) {
        int n = 0;
        char *z = mpJsonString(&val, &n);
        int bNul = z && (int)strlen(z) != n;
        sqlite3_free(z);
        if (z == 0) {
          sqlite3_finalize(pConv);
          sqlite3_result_error_nomem(ctx);
          return SQLITE_NOMEM;
        }
        if (bNul) {
          mpResultErrorf(ctx, "%s: %s must not contain NUL", zFunc,
                         pKey->zName);
          sqlite3_finalize(pConv);
          return SQLITE_MISMATCH;
        }
      }
      if (val.eType == MP_JSON_NULL) {
        /* null restores the default, as mp_config(key, NULL) does. */
        rcItem = bStore ? mpConfigStore(p, pKey, pVal) : SQLITE_OK;
        if (rcItem != SQLITE_OK) mpResultDbError(ctx, zFunc, p->db, rcItem);
      } else if (val.eType == MP_JSON_OBJECT || val.eType == MP_JSON_ARRAY ||
                 val.eType == MP_JSON_TRUE || val.eType == MP_JSON_FALSE) {
        mpResultErrorf(ctx, "%s: %s must be %s", zFunc, pKey->zName,
                       pKey->eType == MP_CFG_INT ? "an integer" : "text");
        rcItem = SQLITE_MISMATCH;
      } else if (bStore == 0) {
        rcItem = mpConfigCheck(ctx, zFunc, pKey, pVal);
      } else {
        rcItem = mpConfigStore(p, pKey, pVal);
        if (rcItem != SQLITE_OK) mpResultDbError(ctx, zFunc, p->db, rcItem);
      }
      sqlite3_finalize(pConv);
      if (rcItem != SQLITE_OK) return rcItem;
    }
    if (rc < 0) {
      mpResultErrorf(ctx, "%s: config is not valid JSON", zFunc);
      return SQLITE_MISMATCH;
    }
  }
  return SQLITE_OK;
}

/*
** Appends {"key": value, ...} with every setting's effective value.
*/
void mpConfigAppendJson(MpState *p, sqlite3_str *pOut) {
  sqlite3_str_appendchar(pOut, 1, '{');
  for (int i = 0; i < MP_CONFIG_KEYS; i++) {
    const MpConfigKey *pKey = &aConfigKey[i];
    sqlite3_stmt *pStmt = mpStmt(p, MP_STMT_CONFIG_GET,
                                 "SELECT value FROM mp_meta WHERE key = ?1");
    sqlite3_str_appendf(pOut, "%s\"%s\":", i ? "," : "", pKey->zName);
    if (pStmt) sqlite3_bind_text(pStmt, 1, pKey->zName, -1, SQLITE_STATIC);
    if (pStmt && sqlite3_step(pStmt) == SQLITE_ROW &&
        sqlite3_column_type(pStmt, 0) != SQLITE_NULL) {
      if (sqlite3_column_type(pStmt, 0) == SQLITE_INTEGER) {
        sqlite3_str_appendf(pOut, "%lld", sqlite3_column_int64(pStmt, 0));
      } else {
        mpJsonAppendString(pOut, (const char *)sqlite3_column_text(pStmt, 0),
                           sqlite3_column_bytes(pStmt, 0));
      }
    } else if (pKey->eType == MP_CFG_INT) {
      sqlite3_str_appendf(pOut, "%lld", pKey->iDefault);
    } else if (pKey->eType == MP_CFG_ENUM) {
      sqlite3_str_appendf(pOut, "\"%.*s\"", (int)strcspn(pKey->zChoices, "|"),
                          pKey->zChoices);
    } else {
      sqlite3_str_appendall(pOut, "null");
    }
    if (pStmt) mpStmtFinish(pStmt);
  }
  sqlite3_str_appendchar(pOut, 1, '}');
}

/*
** mp_config(key [, value]): reads a setting, or (with a value) validates,
** stores and returns it; a NULL value restores the default. MP_FN_UNSAFE:
** it writes to the database.
*/
static void mpConfigFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MpState *p = sqlite3_user_data(ctx);
  const MpConfigKey *pKey;
  const char *zKey;
  int nKey;
  int rc;
  if (mpArgText(ctx, argv[0], "mp_config", "key", 64, 0, &zKey, &nKey)) return;
  pKey = mpConfigFind(zKey, nKey);
  if (pKey == 0) {
    mpResultErrorf(ctx, "mp_config: unknown key '%s'", zKey);
    return;
  }
  if (mpRequireSchema(ctx, p, "mp_config")) return;
  if (argc == 2) {
    if (sqlite3_value_type(argv[1]) != SQLITE_NULL &&
        mpConfigCheck(ctx, "mp_config", pKey, argv[1])) {
      return;
    }
    rc = mpBegin(p);
    if (rc == SQLITE_OK) rc = mpConfigStore(p, pKey, argv[1]);
    /* The result is set before the commit: once committed, the call must
    ** not fail for want of memory. */
    if (rc == SQLITE_OK) rc = mpConfigResult(p, ctx, pKey);
    if (rc != SQLITE_OK) {
      mpResultDbError(ctx, "mp_config", p->db, rc);
      mpRollback(p);
      return;
    }
    rc = mpCommit(p);
    if (rc != SQLITE_OK) mpResultDbError(ctx, "mp_config", p->db, rc);
    return;
  }
  rc = mpConfigResult(p, ctx, pKey);
  if (rc != SQLITE_OK) mpResultDbError(ctx, "mp_config", p->db, rc);
}

/*
** Registers mp_config(). Returns an SQLite result code.
*/
int mpRegisterConfig(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_config", 1, MP_FN_UNSAFE, mpConfigFunc },
    { "mp_config", 2, MP_FN_UNSAFE, mpConfigFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
