#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Self-test of the mp-slt runner.
#
# Usage: run_selftest.sh MP_SLT_BINARY
#
#   pass_*.slt   must exit 0; run one by one, all together (which shows that
#                each file gets a fresh database), and with CRLF line ends
#   fail_*.slt   must exit non-zero
#   both         every "# expect: TEXT" line of the file must appear in the
#                output (fixed string); "# selftest-args: ARGS" adds options
#   complete/    --complete on a temporary copy of input.slt must give
#                expected.slt, run cleanly, and change nothing a second time
#   load/        with a C compiler and sqlite3ext.h: --load of a good
#                extension passes, a leaking one reports "memory leak:"
#   CLI errors   usage, unknown options, missing files, failed --load
#
# Prints "N passed, M failed" and exits non-zero if anything failed.

set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 MP_SLT_BINARY" >&2
  exit 2
fi
case $1 in
  /*) BIN=$1 ;;
  *) BIN=$(pwd)/$1 ;;
esac
DIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mp-slt-selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
OUT=$TMP/out
NPASS=0
NFAIL=0

# ok NAME: count a passed check.
ok() {
  NPASS=$((NPASS + 1))
  echo "ok   $1"
}

# bad NAME WHY: count a failed check and show the last output.
bad() {
  NFAIL=$((NFAIL + 1))
  echo "FAIL $1: $2"
  if [ -s "$OUT" ]; then sed 's/^/     | /' "$OUT"; fi
}

# file_args FILE: the options of the "# selftest-args:" line of FILE.
file_args() {
  sed -n 's/^# selftest-args: //p' "$1"
}

# missing_expect FILE: print the first "# expect:" text of FILE that is
# not in $OUT; print nothing if all are there.
missing_expect() {
  sed -n 's/^# expect: //p' "$1" | while IFS= read -r want; do
    if ! grep -qF -- "$want" "$OUT"; then
      printf '%s\n' "$want"
      break
    fi
  done
}

# run_slt ARGS...: run mp-slt with output in $OUT; sets RC.
run_slt() {
  "$BIN" "$@" >"$OUT" 2>&1
  RC=$?
}

# check_pass NAME FILE SOURCE ARGS...: FILE must exit 0 and show the
# expects of SOURCE (FILE itself, or the original of a converted copy).
check_pass() {
  name=$1
  file=$2
  source=$3
  shift 3
  run_slt "$@" "$file"
  miss=$(missing_expect "$source")
  if [ "$RC" -ne 0 ]; then
    bad "$name" "exit status $RC, expected 0"
  elif [ -n "$miss" ]; then
    bad "$name" "output lacks: $miss"
  else
    ok "$name"
  fi
}

# check_fail NAME FILE: FILE must exit non-zero and show its expects.
check_fail() {
  name=$1
  file=$2
  # shellcheck disable=SC2046
  run_slt $(file_args "$file") "$file"
  miss=$(missing_expect "$file")
  if ! grep -q '^# expect: ' "$file"; then
    bad "$name" "no '# expect:' line in the file"
  elif [ "$RC" -eq 0 ]; then
    bad "$name" "exit status 0, expected non-zero"
  elif [ -n "$miss" ]; then
    bad "$name" "output lacks: $miss"
  else
    ok "$name"
  fi
}

# check_cli NAME STATUS TEXT ARGS...: mp-slt ARGS must exit with STATUS
# ("nonzero" for any failure) and print TEXT.
check_cli() {
  name=$1
  want=$2
  text=$3
  shift 3
  run_slt "$@"
  if [ "$want" = nonzero ] && [ "$RC" -eq 0 ]; then
    bad "$name" "exit status 0, expected non-zero"
  elif [ "$want" != nonzero ] && [ "$RC" -ne "$want" ]; then
    bad "$name" "exit status $RC, expected $want"
  elif ! grep -qF -- "$text" "$OUT"; then
    bad "$name" "output lacks: $text"
  else
    ok "$name"
  fi
}

# to_crlf IN OUT: copy IN to OUT with "\r\n" line ends.
to_crlf() {
  sed 's/$/\r/' "$1" >"$2"
}

# Every pass file on its own, then with CRLF line ends (files without
# includes, whose fragments would not be converted).
for f in "$DIR"/pass_*.slt; do
  base=$(basename "$f")
  # shellcheck disable=SC2046
  check_pass "$base" "$f" "$f" $(file_args "$f")
  if ! grep -q '^include ' "$f"; then
    to_crlf "$f" "$TMP/$base"
    # shellcheck disable=SC2046
    check_pass "crlf/$base" "$TMP/$base" "$f" $(file_args "$f")
  fi
done

# All pass files in one run: many create the same table, so this passes
# only if every file gets a fresh database.
run_slt --label extra "$DIR"/pass_*.slt
if [ "$RC" -eq 0 ]; then ok "all pass files in one run"; else
  bad "all pass files in one run" "exit status $RC"
fi

for f in "$DIR"/fail_*.slt; do
  check_fail "$(basename "$f")" "$f"
done

# One failing file among passing ones fails the whole run.
run_slt "$DIR/pass_halt.slt" "$DIR/fail_wrong_result.slt"
if [ "$RC" -ne 0 ] && grep -qF "pass_halt.slt: 0 errors" "$OUT" &&
    grep -qF "fail_wrong_result.slt: 1 errors" "$OUT"; then
  ok "mixed run"
else
  bad "mixed run" "expected non-zero status and both summaries"
fi

# --complete on a copy; then the copy must pass and be stable.
check_complete() {
  name=$1
  input=$2
  expected=$3
  copy=$TMP/complete-$name.slt
  cp "$input" "$copy"
  run_slt --complete "$copy"
  if [ "$RC" -ne 0 ]; then
    bad "complete/$name" "exit status $RC"
    return
  fi
  if ! cmp -s "$copy" "$expected"; then
    diff "$expected" "$copy" >"$OUT"
    bad "complete/$name" "completed file differs from the expected one"
    return
  fi
  cp "$copy" "$copy.again"
  run_slt --complete "$copy.again"
  if [ "$RC" -ne 0 ] || ! cmp -s "$copy" "$copy.again"; then
    bad "complete/$name" "a second --complete changed the file"
    return
  fi
  run_slt "$copy"
  if [ "$RC" -ne 0 ]; then
    bad "complete/$name" "completed file does not pass"
    return
  fi
  ok "complete/$name"
}
check_complete lf "$DIR/complete/input.slt" "$DIR/complete/expected.slt"
to_crlf "$DIR/complete/input.slt" "$TMP/input-crlf.slt"
to_crlf "$DIR/complete/expected.slt" "$TMP/expected-crlf.slt"
check_complete crlf "$TMP/input-crlf.slt" "$TMP/expected-crlf.slt"

# Command line errors.
check_cli "cli/no-args" 2 "usage: mp-slt"
check_cli "cli/unknown-option" 2 "unknown option '--frobnicate'" \
  --frobnicate "$DIR/pass_halt.slt"
check_cli "cli/missing-value" 2 "missing value for '--load'" \
  "$DIR/pass_halt.slt" --load
check_cli "cli/missing-file" nonzero "cannot read file" "$TMP/no-such.slt"
check_cli "cli/bad-load" nonzero "cannot load extension $TMP/no-such.so" \
  --load "$TMP/no-such.so" "$DIR/pass_halt.slt"

# Extensions: built only where a compiler and sqlite3ext.h are available.
CC=${CC:-cc}
EXT_SRC=$DIR/load/selftest_ext.c
if "$CC" -shared -fPIC -o "$TMP/okext.so" "$EXT_SRC" >/dev/null 2>&1 &&
    "$CC" -shared -fPIC -o "$TMP/leakext.so" "$EXT_SRC" >/dev/null 2>&1; then
  check_cli "load/ok" 0 "0 errors out of 1 SQL statements" \
    --load "$TMP/okext.so" "$DIR/load/uses_ext.slt"
  check_cli "load/leak" nonzero "mp-slt: memory leak: " \
    --load "$TMP/leakext.so" "$DIR/load/uses_ext.slt"
else
  echo "skip load/*: cannot build a test extension with $CC"
fi

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
