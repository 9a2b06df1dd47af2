#!/bin/sh
# SPDX-License-Identifier: MIT
# mp-runner and the mp extension under valgrind memcheck.
#
#   tests/torture/valgrind.sh --bin DIR          # DIR: a non-sanitized build
#   tests/torture/valgrind.sh --build-dir DIR    # configure and build one
#
# DIR must hold mp-runner, mp.so and mp-slt built without sanitizers
# (valgrind and ASan exclude each other). With --build-dir the script
# configures DIR from the source tree (RelWithDebInfo, MP_SANITIZE=OFF) and
# builds just those three targets; a second run only rebuilds what changed.
#
# What runs under valgrind (--leak-check=full, definite and indirect leaks
# and every memory error count, --error-exitcode=99):
#   1. mp-runner --drain: N messages over several chats against the fake
#      Bot API server with 5xx, 429, dropped connections, lost and slow
#      replies and a blocked chat (403);
#   2. mp-runner as a daemon with --watch (good and bad event files) and
#      the tiers telegram,webhook,file, Telegram and the webhook failing
#      so that the breaker moves on to the file spool; stopped by SIGTERM;
#   3. mp-runner status;
#   4. mp-slt --load mp.so over a set of .slt files (the extension loaded
#      as a module, its error paths included).
# libcurl and OpenSSL keep "still reachable" blocks at exit; those are not
# errors. tests/torture/valgrind.supp lists the third-party reports that
# are not ours, each with its reason.
#
# Options: --source DIR (default: this script's ../..), --python PATH
# (default /usr/bin/python3), --messages N (default 200), --keep.
# Exit: 0 clean, 1 a failure (valgrind's reports are printed), 77 skipped
# (no valgrind).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bin=
build_dir=
python=/usr/bin/python3
messages=200
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --source) src=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "valgrind.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$python" ] || python=$(command -v python3)

# Nothing of a sanitizer build may leak into valgrind's processes.
unset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS || true

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind.sh: valgrind not found; skipped"
  exit 77
fi

if [ -n "$build_dir" ]; then
  echo "== building a non-sanitized copy in $build_dir"
  gen=
  command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    # shellcheck disable=SC2086
    cmake -S "$src" -B "$build_dir" $gen -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMP_SANITIZE=OFF -DMP_WERROR=OFF >"$build_dir.configure.log" 2>&1 || {
      cat "$build_dir.configure.log"; exit 1; }
  fi
  cmake --build "$build_dir" --target mp mp-runner mp-slt >"$build_dir.build.log" 2>&1 || {
    tail -50 "$build_dir.build.log"; exit 1; }
  bin=$build_dir
fi
[ -n "$bin" ] || { echo "valgrind.sh: give --bin DIR or --build-dir DIR" >&2; exit 2; }
runner=$bin/mp-runner
ext=$bin/mp.so
slt=$bin/mp-slt
for f in "$runner" "$ext" "$slt"; do
  [ -f "$f" ] || { echo "valgrind.sh: $f is missing" >&2; exit 2; }
  if nm -D "$f" 2>/dev/null | grep -q '__asan_init'; then
    echo "valgrind.sh: $f is built with ASan; valgrind needs a build without sanitizers (use --build-dir)" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mp-valgrind-XXXXXX")
server_pid=
runner_pid=
cleanup() {
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -KILL "$runner_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$failed" = 0 ] && [ "$keep" = 0 ]; then
    rm -rf "$work"
  else
    echo "files kept in $work"
  fi
}
failed=1
trap cleanup EXIT
trap 'exit 1' INT TERM

supp=$here/valgrind.supp
vg() {
  # $1: name of the log; the rest: the command. Replaces the shell: call it
  # in a subshell, "(vg name cmd...)", so that $! of "(vg ...) &" is
  # valgrind's pid.
  name=$1; shift
  exec valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --num-callers=30 --suppressions="$supp" \
    --log-file="$work/vg-$name.log" "$@"
}
vg_check() {
  # $1: name, $2: exit status of the command, $3: the statuses wanted
  # ("0", or "0 1"); 99 is valgrind's own.
  case " $3 " in *" $2 "*) st_ok=1 ;; *) st_ok=0 ;; esac
  if [ $st_ok = 0 ] || [ -s "$work/vg-$1.log" ]; then
    echo "FAIL $1: exit $2 (want $3; 99: valgrind found errors)"
    cat "$work/vg-$1.log"
    [ -f "$work/$1.out" ] && tail -40 "$work/$1.out"
    exit 1
  fi
  echo "ok   $1"
}

token=123456:VALGRIND-token-abc
db=$work/q.db

# --- the fake Bot API server --------------------------------------------------
"$python" "$src/tests/botapi/fake_botapi.py" --token "$token" \
  --log "$work/delivered.jsonl" --seed 3 --fail-rate-5xx 0.05 --rate-429 0.03 \
  --retry-after 1 --drop-rate 0.03 --lost-reply-rate 0.03 --slow-ms 30 \
  --slow-rate 0.1 --blocked-chat 777 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
i=0
while ! grep -q '^PORT ' "$work/server.out" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 100 ] || { echo "fake server did not start"; cat "$work/server.err"; exit 1; }
  sleep 0.1
done
url=http://127.0.0.1:$(sed -n 's/^PORT //p' "$work/server.out")

# --- 1. a delivery run through faults ------------------------------------------
"$python" - "$db" "$ext" "$messages" <<'EOF'
import json, sqlite3, sys
db, ext, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None)
c.enable_load_extension(True)
c.load_extension(ext.rsplit(".", 1)[0])
c.execute("PRAGMA journal_mode=WAL")
c.execute("SELECT mp_init(?)", (json.dumps({
    "pace_chat_ms": 0, "pace_group_per_minute": 0,
    "pace_global_per_second": 0, "retry_interval_seconds": 1,
    "backoff_max_seconds": 2, "max_retry_count": 1000}),))
chats = [101, 102, -103, -1001234, 105, 106, 777]
c.execute("BEGIN")
for i in range(n):
    chat = chats[i % len(chats)]
    if i % 50 == 7:   # a long text: split into parts at enqueue
        c.execute("SELECT mp_enqueue(?, ?)", (chat, ("long %d " % i) * 900))
    elif i % 10 == 3:
        c.execute("SELECT mp_enqueue(?, ?, ?, ?)", (chat, "<b>m%d</b> &amp;" % i,
                  '{"type":"x"}', '{"parse_mode":"HTML","priority":"high"}'))
    else:
        c.execute("SELECT mp_enqueue(?, ?)", (chat, "m%d" % i))
c.execute("COMMIT")
EOF
set +e
(export TELEGRAM_BOT_TOKEN="$token" MP_LOG=info; vg drain "$runner" --db "$db" \
  --api-url "$url" --drain --worker vg --concurrency 4 --batch 4 \
  --timeout-ms 20000 --poll-ms 200) >"$work/drain.out" 2>&1
rc=$?
set -e
vg_check drain $rc 0
left=$("$python" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM messages WHERE status IN ('pending','sent') OR (status='failed' AND chat_id<>777)\").fetchone()[0])" "$db")
[ "$left" = 0 ] || { echo "FAIL drain: $left messages not delivered"; exit 1; }

# --- 2. daemon: watch, failover to the file tier, SIGTERM -----------------------
watch=$work/events
spool=$work/spool
mkdir -p "$watch" "$spool"
printf '{"type":"build_failed","title":"Build <7> & co","event_id":"e1"}' >"$watch/a.json"
printf '{"type":"task_completion","title":"done","event_id":"e2","data":{"k":[1,2]}}' >"$watch/b.json"
printf '{"type":"task_completion","title":' >"$watch/broken.json"
printf '{"title":"no type"}' >"$watch/notype.json"
touch -d '1 minute ago' "$watch"/*.json
"$python" -c "
import json, sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/control',
    data=json.dumps({'fail_rate_5xx': 1.0, 'webhook_status': 500}).encode(),
    headers={'Content-Type': 'application/json'})).read()" "$url"
set +e
(export TELEGRAM_BOT_TOKEN="$token" MP_LOG=debug; vg daemon "$runner" --db "$db" \
  --api-url "$url" --worker vg2 --watch "$watch" --chat-id 4242 \
  --tiers telegram,webhook,file --webhook-url "$url/webhook" \
  --spool-dir "$spool" --breaker-failures 1 --poll-ms 200) \
  >"$work/daemon.out" 2>&1 &
runner_pid=$!
i=0
while [ "$(ls "$spool" | grep -c '\.json$')" -lt 2 ]; do
  i=$((i + 1))
  if [ $i -ge 600 ] || ! kill -0 $runner_pid 2>/dev/null; then
    echo "FAIL daemon: the events did not reach the spool"; tail -40 "$work/daemon.out"
    cat "$work/vg-daemon.log"; exit 1
  fi
  sleep 0.1
done
kill -TERM $runner_pid
wait $runner_pid
rc=$?
runner_pid=
set -e
vg_check daemon $rc 0
[ -f "$watch/rejected/broken.json.reason" ] || { echo "FAIL daemon: broken.json not rejected"; exit 1; }

# --- 3. status ------------------------------------------------------------------
set +e
(vg status "$runner" status --db "$db") >"$work/status.out" 2>&1
rc=$?
set -e
vg_check status $rc 0

# --- 4. the extension under mp-slt ------------------------------------------------
for f in lifecycle/claim.slt lifecycle/report.slt lifecycle/recover.slt \
         lifecycle/retry.slt lifecycle/long_text.slt errors/report.slt \
         errors/enqueue.slt format/format.slt split/split.slt \
         stats/metrics.slt maintenance/tick.slt backup/backup_args.slt \
         errors/hostile.slt; do
  [ -f "$src/tests/$f" ] || continue
  name=slt-$(echo "$f" | tr '/' '-')
  set +e
  (cd "$work" && vg "$name" "$slt" --load "$ext" "$src/tests/$f" >"$work/$name.out" 2>&1)
  rc=$?
  set -e
  # mp-slt's own verdict (exit 1: a record failed) is the business of the
  # slt/ test of that file; here only memory errors and leaks count.
  vg_check "$name" $rc "0 1"
  [ $rc = 0 ] || echo "     (mp-slt reported failing records in $f; see its own test)"
done

failed=0
echo "valgrind: no errors, no definite or indirect leaks"
