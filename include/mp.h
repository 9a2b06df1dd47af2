/*
** SPDX-License-Identifier: MIT
**
** mp.h: embedding mp as a static library (libmp_static.a).
**
** A program that links SQLite itself registers mp on every new connection:
**
**   #include <sqlite3.h>
**   #include <mp.h>
**   sqlite3_auto_extension((void (*)(void))sqlite3_mp_init);
**
** or on one connection: sqlite3_mp_init(db, &zErr, NULL). The loadable
** form (mp.so) needs no header: `.load mp` in the sqlite3 shell.
*/
#ifndef MP_H
#define MP_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
** Registers every mp SQL function and the mp_stats and mp_claim virtual
** tables on db. Returns SQLITE_OK, or an error code with *pzErrMsg set to a
** message from sqlite3_malloc (the caller frees it). pApi is NULL when
** called from a program linked against SQLite.
*/
int sqlite3_mp_init(sqlite3 *db, char **pzErrMsg,
                    const sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif

#endif /* MP_H */
