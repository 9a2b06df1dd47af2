/*
** SPDX-License-Identifier: MIT
**
** Shared declarations of mp-slt, the sqllogictest runner of the mp project.
**
** The runner is split by concern:
**
**   slt.c           command line, one fresh database per file, leak check
**   slt_util.c      allocation, string lists, tokens, file reading
**   slt_md5.c       a small MD5 for result hashing
**   slt_parse.c     lines and records of a script, include, halt
**   slt_result.c    rendering, sorting, hashing and comparing results
**   slt_run.c       running the records against a database
**   slt_complete.c  the --complete rewrite of query result blocks
**
** The dialect is described in SLT.md of the project.
*/
#ifndef SLT_H
#define SLT_H

#include <regex.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Sort modes of a query or of "control sortmode". */
#define SLT_SORT_DEFAULT (-1) /* Use the mode set by "control sortmode" */
#define SLT_SORT_NONE    0    /* nosort */
#define SLT_SORT_ROW     1    /* rowsort */
#define SLT_SORT_VALUE   2    /* valuesort */

/* Result layouts set by "control resultmode". */
#define SLT_MODE_ROWWISE   0 /* One row per line (the default) */
#define SLT_MODE_VALUEWISE 1 /* One value per line (classic SQLite) */

/* Record types that survive parsing and are run in order. */
#define SLT_REC_STATEMENT  1 /* statement ok / statement error */
#define SLT_REC_QUERY      2 /* query <types> / query error */
#define SLT_REC_HASH       3 /* hash-threshold <N> */
#define SLT_REC_SORTMODE   4 /* control sortmode <mode> */
#define SLT_REC_RESULTMODE 5 /* control resultmode <mode> */

/* Lets GCC and Clang check the arguments of printf-like functions. */
#if defined(__GNUC__)
# define SLT_PRINTF(F, A) __attribute__((format(printf, F, A)))
#else
# define SLT_PRINTF(F, A)
#endif

/* Deepest allowed nesting of "include" records. */
#define SLT_MAX_INCLUDE_DEPTH 16

typedef struct SltList SltList;
typedef struct SltLine SltLine;
typedef struct SltFile SltFile;
typedef struct SltRecord SltRecord;
typedef struct SltScript SltScript;
typedef struct SltOptions SltOptions;
typedef struct SltResult SltResult;
typedef struct SltPatch SltPatch;
typedef struct SltPatchList SltPatchList;
typedef struct SltMd5 SltMd5;

/* A growable list of strings, each owned by the list. */
struct SltList {
  char **az;  /* The strings */
  int n;      /* Number of strings in az[] */
  int nAlloc; /* Allocated slots in az[] */
};

/* One line of a script file. */
struct SltLine {
  const char *z; /* Text without "\n" and trailing "\r", NUL-terminated */
  size_t iOff;   /* Offset of the line's first byte in SltFile.zData */
  size_t iNext;  /* Offset just past the line's "\n" (or end of data) */
  int isComment; /* True if the line starts with "#" */
  int isBlank;   /* True if the line is empty or all whitespace */
};

/* A script file, kept in memory for messages and for --complete. */
struct SltFile {
  char *zPath;    /* Path as given or as produced by glob(3) */
  char *zData;    /* Raw bytes of the file */
  size_t nData;   /* Number of bytes in zData */
  char *zText;    /* Copy of zData split into NUL-terminated lines */
  SltLine *aLine; /* The lines */
  int nLine;      /* Number of lines */
  SltFile *pNext; /* Next file loaded for the same script */
};

/* One parsed record, ready to run. */
struct SltRecord {
  int eType;      /* One of the SLT_REC_* codes */
  SltFile *pFile; /* File that holds the record */
  int iLine;      /* 0-based index of the record's first line */
  int bSkip;      /* True if skipif/onlyif say to skip it */
  int iArg;       /* Threshold, sort mode or result mode of a control */
  char *zSql;     /* SQL text of a statement or query */
  int bError;     /* True if the SQL is expected to fail */
  int bErrRe;     /* True if re holds a compiled error pattern */
  regex_t re;     /* Error pattern, valid when bErrRe */
  char *zErrRe;   /* Source of the error pattern, for messages */
  char *zErrText; /* Expected message of a "----" error block, or NULL */
  char *zTypes;   /* Column types of a query, such as "ITR" */
  int eSort;      /* Query sort mode or SLT_SORT_DEFAULT */
  char *zLabel;   /* Query label, or NULL */
  int bResult;    /* True if the query has a "----" line */
  SltList expect; /* Expected result lines of a query */
  int iSqlEnd;    /* Line index just past the last SQL line */
  int iResFirst;  /* Line index of the first expected result line */
  int iResEnd;    /* Line index just past the last expected line */
};

/* Every record of one top-level file, with its includes spliced in. */
struct SltScript {
  SltFile *pFiles; /* All loaded files; the first is the top file */
  SltRecord *aRec; /* The records in run order */
  int nRec;        /* Number of records */
  int nAlloc;      /* Allocated slots in aRec[] */
  int nParseErr;   /* Number of parse errors reported */
};

/* Options from the command line. */
struct SltOptions {
  SltList load;  /* Extensions to load, in order */
  SltList label; /* Labels; "sqlite" and "mp" are always present */
  int bComplete; /* True for --complete */
};

/* The rendered values of one query, row by row. */
struct SltResult {
  SltList value; /* Rendered values, nCol per row */
  int nCol;      /* Values per row */
};

/* One replacement of bytes [iStart,iEnd) of a file by zText. */
struct SltPatch {
  size_t iStart; /* First byte replaced */
  size_t iEnd;   /* Byte just past the last one replaced */
  char *zText;   /* Replacement text, owned by the patch */
};

/* Patches of one file, in increasing order of offset. */
struct SltPatchList {
  SltPatch *a; /* The patches */
  int n;       /* Number of patches */
  int nAlloc;  /* Allocated slots in a[] */
};

/* State of an MD5 computation. */
struct SltMd5 {
  uint32_t h[4];         /* Hash state */
  uint64_t nByte;        /* Bytes hashed so far */
  unsigned char buf[64]; /* Bytes waiting for a full block */
};

/* slt_util.c */
void *sltMalloc(size_t n);
void *sltRealloc(void *p, size_t n);
char *sltStrdup(const char *z);
char *sltStrndup(const char *z, size_t n);
char *sltMprintf(const char *zFmt, ...) SLT_PRINTF(1, 2);
void sltListAppend(SltList *p, char *z);
void sltListFree(SltList *p);
char *sltListJoin(const SltList *p, int iFirst, const char *zSep);
void sltTokenize(const char *z, SltList *p);
char *sltTrim(const char *z);
char *sltNormalize(const char *z);
int sltReadFile(const char *zPath, char **pzData, size_t *pnData);

/* slt_md5.c */
void sltMd5Init(SltMd5 *p);
void sltMd5Update(SltMd5 *p, const void *pData, size_t n);
void sltMd5Final(SltMd5 *p, char *zHex);

/* slt_parse.c */
SltFile *sltFileLoad(const char *zPath);
void sltFileFree(SltFile *p);
void sltScriptParse(SltScript *p, const char *zPath, const SltOptions *pOpt);
void sltScriptFree(SltScript *p);
int sltHasLabel(const SltOptions *pOpt, const char *zLabel);

/* slt_result.c */
void sltResultSort(SltResult *p, int eSort);
void sltResultHash(const SltResult *p, char *zHex);
void sltResultLines(const SltResult *p, int eMode, int nThreshold,
                    SltList *pOut);
int sltLinesEqual(const SltList *pExpect, const SltList *pActual,
                  int bNormalize);
void sltPrintLines(const char *zTitle, const SltList *p);

/* slt_run.c */
int sltScriptRun(sqlite3 *db, SltScript *pScript, const SltOptions *pOpt,
                 int *pnCmd, int *pnSkip);

/* slt_complete.c */
void sltPatchQuery(SltPatchList *p, const SltRecord *pRec,
                   const SltList *pLines);
int sltPatchApply(const SltFile *pFile, SltPatchList *p);
void sltPatchFree(SltPatchList *p);

#endif /* SLT_H */
