/*
** SPDX-License-Identifier: MIT
**
** mp-slt: the sqllogictest runner of the mp project.
**
** Usage:
**
**   mp-slt [--load PATH]... [--label L]... [--complete] FILE...
**
**   --load PATH   load the SQLite extension PATH into every database
**   --label L     add L to the label set of skipif/onlyif, which always
**                 holds "sqlite" and "mp"
**   --complete    rewrite the "----" block of each query in FILE from the
**                 actual output instead of checking it
**
** Example:
**
**   mp-slt --load build/mp.so tests/core/version.slt
**
** Each FILE runs in a fresh ":memory:" database with extension loading
** enabled and each --load extension loaded. After each file the summary
** "file: E errors out of M SQL statements. S skipped." is printed, where
** M counts the statements and queries that ran. Once every database is
** closed, sqlite3_memory_used() must be 0, which catches leaks in the
** loaded extensions.
**
** Exit status: 0 if every file passed, 1 on any error, parse error, load
** failure or leak, 2 on a usage error.
*/
#include "slt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** Print the usage message to stderr.
*/
static void sltUsage(void) {
  fprintf(stderr, "usage: mp-slt [--load PATH]... [--label L]... [--complete] "
                  "FILE...\n");
}

/*
** If argv[*pi] is option zName, given as "zName VALUE" or "zName=VALUE",
** append a copy of VALUE to pList, advance *pi past it and return 1.
** Return 0 if it is another argument, or -1 if the value is missing.
*/
static int sltOptionValue(int argc, char **argv, int *pi, const char *zName,
                          SltList *pList) {
  const char *zArg = argv[*pi];
  size_t nName = strlen(zName);
  if (strncmp(zArg, zName, nName) != 0) return 0;
  if (zArg[nName] == '=') {
    sltListAppend(pList, sltStrdup(&zArg[nName + 1]));
    return 1;
  }
  if (zArg[nName] != 0) return 0;
  if (*pi + 1 >= argc) return -1;
  *pi += 1;
  sltListAppend(pList, sltStrdup(argv[*pi]));
  return 1;
}

/*
** Parse the command line into pOpt and the list of script files pFiles.
** Returns 0, or 1 after printing a usage error.
*/
static int sltParseArgs(int argc, char **argv, SltOptions *pOpt,
                        SltList *pFiles) {
  int bOptions = 1;
  int i;
  for (i = 1; i < argc; i++) {
    const char *zArg = argv[i];
    int rc;
    if (!bOptions || zArg[0] != '-') {
      sltListAppend(pFiles, sltStrdup(zArg));
      continue;
    }
    if (strcmp(zArg, "--") == 0) {
      bOptions = 0;
      continue;
    }
    if (strcmp(zArg, "--complete") == 0) {
      pOpt->bComplete = 1;
      continue;
    }
    rc = sltOptionValue(argc, argv, &i, "--load", &pOpt->load);
    if (rc == 0) rc = sltOptionValue(argc, argv, &i, "--label", &pOpt->label);
    if (rc == 1) continue;
    fprintf(stderr, "mp-slt: %s '%s'\n",
            rc < 0 ? "missing value for" : "unknown option", zArg);
    return 1;
  }
  if (pFiles->n == 0) {
    fprintf(stderr, "mp-slt: no FILE given\n");
    return 1;
  }
  return 0;
}

/*
** Open a fresh ":memory:" database with extension loading enabled and
** every --load extension of pOpt loaded. Returns 0 and the handle in *pDb,
** or 1 after printing why (the handle is then closed).
*/
static int sltOpenDb(const SltOptions *pOpt, sqlite3 **pDb) {
  sqlite3 *db = NULL;
  int i;
  int rc = sqlite3_open_v2(":memory:", &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "mp-slt: cannot open a :memory: database: %s\n",
            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return 1;
  }
  sqlite3_enable_load_extension(db, 1);
  for (i = 0; i < pOpt->load.n; i++) {
    char *zErr = NULL;
    rc = sqlite3_load_extension(db, pOpt->load.az[i], NULL, &zErr);
    if (rc != SQLITE_OK) {
      fprintf(stderr, "mp-slt: cannot load extension %s: %s\n",
              pOpt->load.az[i], zErr ? zErr : sqlite3_errstr(rc));
      sqlite3_free(zErr);
      sqlite3_close(db);
      return 1;
    }
  }
  *pDb = db;
  return 0;
}

/*
** Close db, used for script zPath. Returns 0, or 1 after printing an
** error if sqlite3_close() fails (for example, because of a statement an
** extension left unfinalized).
*/
static int sltCloseDb(const char *zPath, sqlite3 *db) {
  int rc = sqlite3_close(db);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "mp-slt: %s: sqlite3_close failed: %s\n", zPath,
            sqlite3_errstr(rc));
    return 1;
  }
  return 0;
}

/*
** Parse and run script zPath in a fresh database and print its summary.
** Returns the number of errors. Sets *pbFatal if the database could not
** be set up, which ends the whole run.
*/
static int sltRunFile(const char *zPath, const SltOptions *pOpt, int *pbFatal) {
  SltScript script;
  sqlite3 *db = NULL;
  int nCmd = 0;
  int nSkip = 0;
  int nErr;
  sltScriptParse(&script, zPath, pOpt);
  nErr = script.nParseErr;
  if (nErr == 0 && sltOpenDb(pOpt, &db)) {
    *pbFatal = 1;
    nErr++;
  } else if (nErr == 0) {
    nErr += sltScriptRun(db, &script, pOpt, &nCmd, &nSkip);
    nErr += sltCloseDb(zPath, db);
  }
  printf("%s: %d errors out of %d SQL statements. %d skipped.\n", zPath, nErr,
         nCmd, nSkip);
  sltScriptFree(&script);
  return nErr;
}

/*
** Return 0 if SQLite holds no memory now that every database is closed,
** else print the leak and return 1.
*/
static int sltCheckMemory(void) {
  sqlite3_int64 nUsed = sqlite3_memory_used();
  if (nUsed != 0) {
    fprintf(stderr, "mp-slt: memory leak: %lld bytes\n", (long long)nUsed);
    return 1;
  }
  return 0;
}

/*
** Entry point: run every FILE and exit 0 if all of them passed.
*/
int main(int argc, char **argv) {
  SltOptions opt;
  SltList files = { 0 };
  int nErr = 0;
  int bFatal = 0;
  int rc;
  int i;
  setvbuf(stdout, NULL, _IOLBF, 0);
  memset(&opt, 0, sizeof(opt));
  if (sltParseArgs(argc, argv, &opt, &files)) {
    sltUsage();
    rc = 2;
    goto main_end;
  }
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
  if (sqlite3_initialize() != SQLITE_OK) {
    fprintf(stderr, "mp-slt: sqlite3_initialize failed\n");
    rc = 1;
    goto main_end;
  }
  for (i = 0; i < files.n && !bFatal; i++) {
    nErr += sltRunFile(files.az[i], &opt, &bFatal);
  }
  nErr += sltCheckMemory();
  rc = nErr ? 1 : 0;
main_end:
  sltListFree(&files);
  sltListFree(&opt.load);
  sltListFree(&opt.label);
  return rc;
}
