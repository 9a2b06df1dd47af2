/*
** SPDX-License-Identifier: MIT
**
** mp_utf8.h: the one UTF-8 validator, shared by the extension and
** mp-runner (which must decide, before it builds JSON, whether a body will
** pass the extension's check), and the decoder of one character it is
** built on. Plain C: no SQLite API.
*/
#ifndef MP_UTF8_H
#define MP_UTF8_H

#include <stddef.h>

int mpUtf8Decode(const unsigned char *z, size_t n, unsigned *pc);
int mpUtf8Valid(const unsigned char *z, size_t n);

#endif /* MP_UTF8_H */
