#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The mp demo: the seed bridge's message_persistence_demo, end to end, on a
# fresh machine with no bot token.
#
#   demo/run.sh            (KEEP=1 keeps the work directory)
#
# 1. builds build/mp.so and build/mp-runner if needed (NO_BUILD=1 skips it;
#    BUILD=DIR uses another build directory)
# 2. starts a local Bot API compatible server (tests/botapi/fake_botapi.py)
#    that enforces Telegram's rate limits and answers one 429 and one 502
# 3. queues a dozen seed events over three chats, and drops two event files
#    (one broken) into the directory the runner watches
# 4. runs mp-runner, kills it with SIGKILL half way, restarts it
# 5. shows that every message arrived, in order, and `mp-runner status`
#
# Needs: cmake, a C compiler, libsqlite3-dev, libssl-dev,
# libcurl4-openssl-dev, python3. Talks to 127.0.0.1 only.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
# A sanitizer build (scripts/test.sh makes one in build/) cannot be loaded
# into Python without preloading ASan: the demo then uses its own build.
if [ -z "${NO_BUILD:-}" ] && grep -qs "MP_SANITIZE:BOOL=ON" "$BUILD/CMakeCache.txt"; then
  BUILD=$ROOT/build-demo
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
RUNNER=$BUILD/mp-runner
EXT=$BUILD/mp.so

say() { printf '%s\n' "$*"; }

# Always let the build system decide: a no-op when everything is current.
if [ "${NO_BUILD:-0}" != 1 ]; then
  [ -x "$RUNNER" ] || say "== building mp (first run only)"
  GEN=""
  command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
  BLOG=$(mktemp "${TMPDIR:-/tmp}/mp-demo-build.XXXXXX")
  { [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" $GEN; } >"$BLOG" 2>&1 &&
    cmake --build "$BUILD" --target mp mp-runner >>"$BLOG" 2>&1 || {
      cat "$BLOG"; say "build failed"; exit 1; }
  rm -f "$BLOG"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mp-demo.XXXXXX")
SERVER_PID=""
RUNNER_PID=""
cleanup() {
  [ -n "$RUNNER_PID" ] && kill "$RUNNER_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then say "(work files kept in $WORK)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# A made-up token: the fake server accepts exactly this one.
TELEGRAM_BOT_TOKEN="123456:DEMO-token-not-a-real-one"
export TELEGRAM_BOT_TOKEN
DB=$WORK/messages.db
LOG=$WORK/telegram.jsonl

say "== 1. fake Telegram Bot API on 127.0.0.1 (rate limits enforced)"
"$PY" "$ROOT/tests/botapi/fake_botapi.py" --token "$TELEGRAM_BOT_TOKEN" \
  --log "$LOG" --enforce-limits --slow-ms 150 \
  --script 1002:429:2 --script=-100777:ok,502 >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  grep -q '^PORT ' "$WORK/server.out" 2>/dev/null && break
  sleep 0.05
done
PORT=$(sed -n 's/^PORT //p' "$WORK/server.out")
[ -n "$PORT" ] || { cat "$WORK/server.out"; exit 1; }
say "   listening on port $PORT"

say "== 2. queue the seed events"
"$PY" "$ROOT/demo/demo.py" seed --ext "$EXT" --db "$DB" --events "$WORK/events" | sed 's/^/   /'
TOTAL=$(cat "$WORK/total")
RUN="$RUNNER --db $DB --api-url http://127.0.0.1:$PORT --worker demo"
[ -d "$WORK/events" ] && RUN="$RUN --watch $WORK/events --chat-id 1001"

say "== 3. run mp-runner, SIGKILL it half way"
MP_LOG=info $RUN >"$WORK/runner1.log" 2>&1 &
RUNNER_PID=$!
"$PY" "$ROOT/demo/demo.py" wait --log "$LOG" --count $((TOTAL / 2)) --timeout 60
kill -9 "$RUNNER_PID"
wait "$RUNNER_PID" 2>/dev/null || true
RUNNER_PID=""
ARRIVED=$(wc -l <"$LOG")
say "   killed after $ARRIVED of $TOTAL messages arrived"
"$RUNNER" status --db "$DB" | awk '$1=="pending"||$1=="sent"{printf "   %s %s\n",$1,$2}'

say "== 4. restart: recover, deliver the rest (--drain exits when done)"
MP_LOG=info $RUN --drain >"$WORK/runner2.log" 2>&1 || {
  say "   runner failed:"; cat "$WORK/runner2.log"; exit 1; }
grep -o 'recovered [0-9]* messages at start' "$WORK/runner2.log" | sed 's/^/   /'
for f in "$WORK"/events/rejected/*.reason; do
  [ -f "$f" ] && say "   bad event file $(basename "$f" .reason) moved to rejected/: $(cat "$f")"
done
grep -ho 'rate_limited\|retry (status 502' "$WORK/runner1.log" "$WORK/runner2.log" | sort | uniq -c | sed 's/^ */   /; s/ retry (status 502/ retry after a 502/; s/rate_limited/rate limited (429), waited retry_after/'

say "== 5. what Telegram received"
STATUS=0
"$PY" "$ROOT/demo/demo.py" check --ext "$EXT" --db "$DB" --log "$LOG" >"$WORK/check.txt" || STATUS=1
sed 's/^/   /' "$WORK/check.txt"

say "== mp-runner status"
"$RUNNER" status --db "$DB" | sed -n '2,10p;/attempts_telegram/p;/avg_processing/p'
exit $STATUS
