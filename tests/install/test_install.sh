#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs a build into a temporary prefix and checks what it promises:
# the loadable mp.so exporting only sqlite3_mp_init, the header, the static
# library and a pkg-config file that a program can link with.
#   sh tests/install/test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
so=$(find "$prefix" -name mp.so | head -n 1)
[ -n "$so" ] || { echo "FAIL: no mp.so installed"; exit 1; }
exports=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDB]$/ {print $3}')
[ "$exports" = "sqlite3_mp_init" ] || {
  echo "FAIL: mp.so exports more than sqlite3_mp_init:"; echo "$exports"; exit 1; }
pc=$(find "$prefix" -name mp.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no mp.pc installed"; exit 1; }
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs --static mp)
# A sanitized build needs the sanitizer at link time too.
extra=""
grep -q "MP_SANITIZE:BOOL=ON" "$build/CMakeCache.txt" && extra="-fsanitize=address,undefined"
cc $extra "$src/tests/install/embed.c" -o "$prefix/embed" $flags
out=$("$prefix/embed")
case $out in
  *" "[1-9]*) echo "installed build works: mp $out"; echo "1 passed, 0 failed" ;;
  *) echo "FAIL: embed printed '$out'"; exit 1 ;;
esac
