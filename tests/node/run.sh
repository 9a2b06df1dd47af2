#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the Node tests against an mp build:
#
#   sh tests/node/run.sh build/mp.so
#
# Installs better-sqlite3 (from package-lock.json, with `npm ci`) only when
# it is not installed yet. better-sqlite3 compiles its addon from source
# here (a couple of minutes, once). If npm cannot install it, this fails:
# a missing dependency is an error, never a skipped test.
#
# LD_PRELOAD (a sanitizer runtime that cmake/tests_hosts.cmake preloads for
# the test) is cleared for npm and the compiler it runs.
set -eu

die() {
  echo "tests/node/run.sh: FAIL: $*" >&2
  exit 1
}

[ $# -ge 1 ] || die "usage: sh tests/node/run.sh PATH/TO/mp.so [node --test options]"
case $1 in
  /*) ext=$1 ;;
  *) ext=$(pwd)/$1 ;;
esac
shift
[ -f "$ext" ] || die "$ext: no such file (build mp first)"

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

command -v node >/dev/null 2>&1 || die "node is not installed (Node 20 is needed)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "Node $(node --version) is too old; Node 20 or later is needed"

addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
if [ ! -f "$addon" ]; then
  echo "tests/node/run.sh: installing better-sqlite3 into $here/node_modules" >&2
  if [ -f package-lock.json ]; then
    install="npm ci --no-audit --no-fund"
  else
    install="npm install --no-audit --no-fund"
  fi
  # No prebuilt binaries can be downloaded here (only the npm registry is
  # reachable): compile at once instead of waiting for the download to fail.
  npm_config_build_from_source=${npm_config_build_from_source:-better-sqlite3}
  export npm_config_build_from_source
  env -u LD_PRELOAD $install >&2 ||
    die "'$install' failed: is the npm registry reachable? (see npm's output above)"
  if [ ! -f "$addon" ]; then
    # npm versions that hold back install scripts leave the addon unbuilt.
    env -u LD_PRELOAD npm rebuild better-sqlite3 --foreground-scripts >&2 ||
      die "building better-sqlite3's addon failed (see above)"
  fi
  [ -f "$addon" ] || die "better-sqlite3 installed without its addon ($addon)"
fi

MP_EXTENSION=$ext
export MP_EXTENSION
exec node --test "$@" test_load.mjs
