#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/competitors/run.sh: mp against the common SQLite queues, same
# machine, same run (BENCHMARKS.md, "Compared with other SQLite queues").
#
#   bench/competitors/run.sh           5 rounds (4-10 minutes on a busy
#                                      2-core machine, plus a one-time
#                                      npm install of ~3 minutes)
#   bench/competitors/run.sh --quick   1 round, small sizes (a smoke test)
#
# It builds mp.so (Release) with the project's CMake in $MP_CMP_BUILD
# (default $TMPDIR/mp-cmp-build) and bench/competitors/replay.c with cc,
# installs bench/competitors/node/node_modules from package-lock.json
# when missing (better-sqlite3 compiles its addon from source: only the
# npm registry has to be reachable), then runs
#
#   node bench/competitors/node/bench.mjs   mp, plainjob, raw (Node)
#   replay                                  mp, goqite's and honker's SQL,
#                                           raw (C, the system SQLite);
#                                           P1 and PB once more with a
#                                           tenth of the backlog
#
# and writes both tables to bench/results/competitors.txt.
# Environment: MP_CMP_ROUNDS (default 5), MP_CMP_BUILD, CC.
# Not part of ctest or CI.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${MP_CMP_BUILD:-${TMPDIR:-/tmp}/mp-cmp-build}
OUT=$ROOT/bench/results/competitors.txt
ROUNDS=${MP_CMP_ROUNDS:-5}
SIZES=

for arg in "$@"; do
  case $arg in
    --quick) ROUNDS=1 SIZES="--n1 500 --nb 2000" ;;
    -h|--help) sed -n '3,26p' "$0"; exit 0 ;;
    *) echo "bench/competitors/run.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/competitors/run.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node is not installed (Node 20 or later)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] ||
  die "Node $(node --version) is too old; Node 20 or later is needed"

# --- Build: mp.so with the project's CMake, replay with cc -----------------
GEN=
if command -v ninja >/dev/null 2>&1; then GEN="-G Ninja"; fi
say "building mp.so in $BUILD"
# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release \
  -DMP_BUILD_RUNNER=OFF >/dev/null
cmake --build "$BUILD" --target mp >/dev/null
EXT=$BUILD/mp.so
say "building replay"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$BUILD/mp-replay" "$HERE/replay.c" \
  -lsqlite3

# --- Node dependencies (plainjob, better-sqlite3) ---------------------------
if [ ! -f "$HERE/node/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ] ||
   [ ! -f "$HERE/node/node_modules/plainjob/package.json" ]; then
  say "npm ci in bench/competitors/node (compiles better-sqlite3, ~3 min)"
  # No prebuilt binaries can be downloaded here: compile at once.
  (cd "$HERE/node" &&
    env -u LD_PRELOAD npm_config_build_from_source=better-sqlite3 \
      npm ci --no-audit --no-fund >&2) || die "npm ci failed (is the npm registry reachable?)"
  if [ ! -f "$HERE/node/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
    (cd "$HERE/node" && env -u LD_PRELOAD npm rebuild better-sqlite3 --foreground-scripts >&2) ||
      die "building better-sqlite3's addon failed"
  fi
fi

# --- Run ---------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo "machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
} >"$OUT"
say "Node: mp, plainjob, raw ($ROUNDS rounds)"
# shellcheck disable=SC2086
node "$HERE/node/bench.mjs" --ext "$EXT" --rounds "$ROUNDS" $SIZES | tee -a "$OUT"
echo >>"$OUT"
say "C: mp, goqite's and honker's SQL, raw ($ROUNDS rounds)"
# shellcheck disable=SC2086
"$BUILD/mp-replay" --ext "$EXT" --rounds "$ROUNDS" $SIZES | tee -a "$OUT"
if [ -z "$SIZES" ]; then
  # honker's claim walks every due pending job (its dead-letter sweep),
  # so P1 and PB depend on the backlog: the same with a tenth of it, in
  # twice the rounds (the samples are short).
  say "C: P1 and PB with a small backlog ($((ROUNDS * 2)) rounds)"
  echo >>"$OUT"
  "$BUILD/mp-replay" --ext "$EXT" --rounds "$((ROUNDS * 2))" --only P1,PB \
    --n1 500 --nb 2000 | tee -a "$OUT"
fi
{
  echo
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$OUT"
say "results in $OUT"
