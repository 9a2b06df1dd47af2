#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/profile.sh: instruction counts per message (callgrind) of every
# mp-bench workload on every side, and the ext/ functions that cost the
# most on the mp side. Instruction counts do not depend on the load of a
# shared machine, so this is the number to compare before and after a
# change. Writes bench/results/callgrind.txt; the raw profiles stay in
# $MP_PROF_DIR (default $TMPDIR/mp-callgrind) for callgrind_annotate.
#
#   bench/profile.sh [W1 W2 ...]      (default: W1 to W6; ~10 minutes)
#   bench/profile.sh --scale [ROWS...] instructions per call of mp_stats,
#                                     mp_next_due(), claim(100) + 100
#                                     confirms and mp_enqueue() at each
#                                     table size (default 10000 1000000
#                                     10000000; loads them natively first,
#                                     ~5 GB for 10M) into
#                                     bench/results/callgrind-scale.txt
#   bench/profile.sh --alternatives   instructions per operation of the
#                                     statement forms of mp-alternatives
#                                     (tests/perf/alternatives.c) into
#                                     bench/results/callgrind-alternatives.txt
#
# Needs valgrind. Builds RelWithDebInfo (-O2 -g) in $MP_PROF_BUILD
# (default $TMPDIR/mp-prof-build). SHA-256 runs without the CPU's SHA
# instructions under valgrind, so mpChecksum() counts more than it costs
# natively.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MP_PROF_BUILD:-${TMPDIR:-/tmp}/mp-prof-build}
DIR=${MP_PROF_DIR:-${TMPDIR:-/tmp}/mp-callgrind}
OUT=$ROOT/bench/results/callgrind.txt
SCALE=0
ALTERNATIVES=0
if [ "${1:-}" = --scale ]; then
  SCALE=1
  shift
elif [ "${1:-}" = --alternatives ]; then
  ALTERNATIVES=1
  shift
fi
WORKLOADS=${*:-W1 W2 W3 W4 W5 W6}

command -v valgrind >/dev/null 2>&1 || { echo "bench/profile.sh: needs valgrind" >&2; exit 1; }
HOOK=
if ! grep -q 'cmake/perf.cmake' "$ROOT/CMakeLists.txt"; then
  HOOK="-DCMAKE_PROJECT_INCLUDE=$ROOT/bench/perf-hook.cmake"
fi
GEN=
if command -v ninja >/dev/null 2>&1; then GEN="-G Ninja"; fi
# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMP_BUILD_RUNNER=OFF $HOOK >/dev/null
cmake --build "$BUILD" --target mp-bench mp-scale mp-alternatives >/dev/null
mkdir -p "$DIR" "$(dirname "$OUT")"

# --- --alternatives: cheaper statement forms, measured ------------------------
if [ "$ALTERNATIVES" = 1 ]; then
  OUT=$ROOT/bench/results/callgrind-alternatives.txt
  echo "# callgrind instructions per operation (tests/perf/alternatives.c; 0 = mp today)" >"$OUT"
  for e in counter:0 counter:1 counter:2 status:0 status:1 status:2 \
           claim:0 claim:1 claim:2 claim:3 confirm:0 confirm:1 confirm:2 \
           insert:0 insert:1 insert:2 insert:3 recover:0 recover:1; do
    exp=${e%%:*}
    v=${e#*:}
    n=10000
    if [ "$exp" = recover ]; then n=20000; fi
    f="$DIR/alt-$exp-$v.out"
    valgrind --tool=callgrind '--toggle-collect=altMeasured*' \
      --callgrind-out-file="$f" "$BUILD/mp-alternatives" "$exp" "$v" "$n" \
      >"$f.txt" 2>"$f.log"
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$f.log")
    heap=$(sed -n 's/.*high-water \([0-9.]*\) MB.*/\1/p' "$f.txt")
    line=$(awk -v e="$exp" -v v="$v" -v a="$ir" -v b="$n" -v h="$heap" \
      'BEGIN { printf "%-8s %2s %10.0f instructions/op  (SQLite heap high-water %s MB)", e, v, a / b, h }')
    echo "$line" >>"$OUT"
    echo "$line" >&2
  done
  cat "$OUT"
  exit 0
fi

# --- --scale: instructions per call against the table size ------------------
if [ "$SCALE" = 1 ]; then
  OUT=$ROOT/bench/results/callgrind-scale.txt
  SIZES=${*:-10000 1000000 10000000}
  REPS=20
  {
    echo "# callgrind instructions per call (mp-scale --reuse, $REPS + 1 calls; claim: 5 + 1)"
    printf '%10s %14s %14s %14s %14s\n' rows mp_stats mp_next_due claim100_tx mp_enqueue
  } >"$OUT"
  for rows in $SIZES; do
    "$BUILD/mp-scale" --sizes "$rows" --keep --only stats --reps 1 \
      --dir "$DIR" >/dev/null
    line=$(printf '%10s' "$rows")
    for m in stats:scaleStatsOnce next_due:scaleNextDueOnce \
             claim:scaleClaimOnce enqueue:scaleEnqueueOnce; do
      what=${m%%:*}
      fn=${m#*:}
      calls=$((REPS + 1))
      if [ "$what" = claim ]; then calls=6; fi
      f="$DIR/scale-$rows-$what.out"
      valgrind --tool=callgrind "--toggle-collect=$fn*" --callgrind-out-file="$f" \
        "$BUILD/mp-scale" --sizes "$rows" --reuse --only "$what" --reps "$REPS" \
        --dir "$DIR" >/dev/null 2>"$f.log"
      ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$f.log")
      line="$line $(awk -v a="$ir" -v b="$calls" 'BEGIN { printf "%14.0f", a / b }')"
    done
    echo "$line" >>"$OUT"
    echo "$line" >&2
    rm -f "$DIR/mp-scale-$rows.db" "$DIR/mp-scale-$rows.db-wal" \
      "$DIR/mp-scale-$rows.db-shm"
  done
  cat "$OUT"
  exit 0
fi

# Messages per workload: small enough for valgrind, large enough that the
# per-message numbers are stable.
size() {
  case $1 in
    W1) echo 2000 ;; W2) echo 20000 ;; W3) echo 1000 ;;
    W4) echo 10000 ;; W5) echo 20000 ;; *) echo 10000 ;;
  esac
}

{
  echo "# callgrind instructions per message, timed part only (mp-bench --rounds 1)"
  printf '%-4s %8s %12s %12s %12s\n' workload msgs mp raw-same raw-min
} >"$OUT"
for w in $WORKLOADS; do
  n=$(size "$w")
  k=$(echo "$w" | tr -d W)
  line=$(printf '%-4s %8s' "$w" "$n")
  for side in mp raw-same raw-min; do
    f="$DIR/$w-$side.out"
    valgrind --tool=callgrind --toggle-collect="benchRunW$k" \
      --callgrind-out-file="$f" "$BUILD/mp-bench" --side "$side" --only "$w" \
      "--w$k" "$n" --rounds 1 >/dev/null 2>"$f.log"
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$f.log")
    line="$line $(awk -v a="$ir" -v b="$n" 'BEGIN { printf "%12.0f", a / b }')"
  done
  echo "$line" >>"$OUT"
  echo "$line" >&2
done
echo >>"$OUT"
for w in $WORKLOADS; do
  python3 "$ROOT/bench/cg_top.py" "$DIR/$w-mp.out" "$(size "$w")" 12 >>"$OUT"
  echo >>"$OUT"
done
cat "$OUT"
