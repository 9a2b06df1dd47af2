#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/run.sh: reproduces every number and plot of BENCHMARKS.md.
#
#   bench/run.sh            the full run (6 to 20 minutes on a busy 2-core
#                           machine; needs ~7 GB free under $TMPDIR or /tmp)
#   bench/run.sh --quick    a few-minute run with smaller sizes (the scale
#                           test stops at 1 million rows)
#
# It builds mp-bench and mp-scale (Release) in $MP_BENCH_BUILD (default
# $TMPDIR/mp-bench-build), then writes into bench/results/:
#
#   machine.txt             nproc, CPU, kernel, SQLite, load before/after
#   mp-bench.{txt,json}     W1-W6: mp, raw-same and raw-min (mp-bench)
#   sweep-B.json            enqueue with B = 1, 10, 100, 1000 per transaction
#   mp-scale.{txt,json}     flat costs at 10k, 1M and 10M rows (mp-scale)
#   *.dat                   the plotted series
#
# and draws bench/enqueue-batch.png and bench/scale-latency.png with
# gnuplot (installed with apt-get when missing and we are root).
# Environment: MP_BENCH_ROUNDS (default 3), MP_BENCH_BUILD.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MP_BENCH_BUILD:-${TMPDIR:-/tmp}/mp-bench-build}
OUT=$ROOT/bench/results
ROUNDS=${MP_BENCH_ROUNDS:-3}
QUICK=0

for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '3,24p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

say() { printf '== %s\n' "$*" >&2; }

# --- Tools ------------------------------------------------------------------
if ! command -v gnuplot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing gnuplot-nox"
    apt-get install -y gnuplot-nox >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y gnuplot-nox >/dev/null 2>&1; } ||
      say "cannot install gnuplot-nox: plots will be skipped"
  else
    say "gnuplot not found (apt-get install gnuplot-nox): plots will be skipped"
  fi
fi

# --- Build --------------------------------------------------------------------
HOOK=
if ! grep -q 'cmake/perf.cmake' "$ROOT/CMakeLists.txt"; then
  HOOK="-DCMAKE_PROJECT_INCLUDE=$ROOT/bench/perf-hook.cmake"
fi
GEN=
if command -v ninja >/dev/null 2>&1; then GEN="-G Ninja"; fi
say "building in $BUILD"
# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release \
  -DMP_BUILD_RUNNER=OFF $HOOK >/dev/null
cmake --build "$BUILD" --target mp-bench mp-scale >/dev/null

mkdir -p "$OUT"

# --- The machine ----------------------------------------------------------------
machine() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "kernel: $(uname -sr)"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "sqlite: $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')"
  echo "disk: $(df -h "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $1, $2, "free", $4}')"
}
{
  machine
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

# --- mp-bench: W1-W6 ------------------------------------------------------------
if [ "$QUICK" = 1 ]; then
  SIZES="--w1 2000 --w2 20000 --w3 1000 --w4 10000 --w5 20000 --w6 20000"
else
  SIZES=""
fi
say "mp-bench W1-W6 ($ROUNDS rounds)"
# shellcheck disable=SC2086
"$BUILD/mp-bench" --rounds "$ROUNDS" $SIZES --json "$OUT/mp-bench.json" \
  | tee "$OUT/mp-bench.txt"

# --- mp-bench: enqueue throughput against the batch size ----------------------
for B in 1 10 100 1000; do
  case $B in
    1) N=5000 ;;
    10) N=20000 ;;
    100) N=50000 ;;
    *) N=100000 ;;
  esac
  if [ "$QUICK" = 1 ]; then N=$((N / 5)); fi
  say "mp-bench enqueue sweep, $B per transaction"
  "$BUILD/mp-bench" --only W2,W5 --batch "$B" --w2 "$N" --w5 "$N" \
    --rounds "$ROUNDS" --json "$OUT/sweep-$B.json" >"$OUT/sweep-$B.txt"
done

# --- mp-scale: flat costs ---------------------------------------------------------
if [ "$QUICK" = 1 ]; then
  SCALE="--sizes 10000,1000000 --reps 50 --recover 200000"
else
  SCALE=""
fi
say "mp-scale (the 10-million-row load takes a few minutes)"
# shellcheck disable=SC2086
"$BUILD/mp-scale" $SCALE --verbose --json "$OUT/mp-scale.json" \
  | tee "$OUT/mp-scale.txt"

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

# --- Plots ------------------------------------------------------------------------
python3 "$ROOT/bench/plot.py" "$OUT" "$ROOT/bench"
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot -e "results='$OUT'; out='$ROOT/bench/enqueue-batch.png'" \
    "$ROOT/bench/enqueue-batch.gp"
  gnuplot -e "results='$OUT'; out='$ROOT/bench/scale-latency.png'" \
    "$ROOT/bench/scale-latency.gp"
  say "plots: bench/enqueue-batch.png bench/scale-latency.png"
fi
say "results in $OUT"
