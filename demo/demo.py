#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Helper of demo/run.sh: seeds the queue and checks what arrived.

Usage:

    python3 demo/demo.py seed  --ext build/mp.so --db DB --events DIR
    python3 demo/demo.py wait  --log LOG --count N [--timeout S]
    python3 demo/demo.py check --ext build/mp.so --db DB --log LOG

seed   creates the database's schema (with a short retry interval, so the
       demo's scripted failures clear in seconds), enqueues the seed
       bridge's message_persistence_demo events over three chats with
       mp_enqueue_event(), and writes two more event files into DIR for
       the runner's --watch (one of them broken, to show rejected/).
wait   returns once LOG (the fake server's delivery log) has N lines.
check  compares the queue with what the fake Telegram received: every
       message arrived, in queue order per chat (priority, then age),
       duplicates only where mp marked the message in_doubt. Exit status
       0 when all is well.

Standard library only (Debian's /usr/bin/python3).
"""

import argparse
import collections
import json
import os
import sqlite3
import sys
import time

CHATS = {"alice": 1001, "bob": 1002, "team": -100777}

# The seed bridge's demo: a dozen events of various types over a few chats.
EVENTS = [
    ("alice", {"type": "task_started", "title": "Refactor storage layer",
               "source": "claude-code", "task_id": "t-101",
               "description": "Splitting persistence into its own module"}),
    ("team", {"type": "build_started", "title": "Build #42",
              "source": "ci", "data": {"branch_name": "main"}}),
    ("alice", {"type": "task_progress", "title": "Refactor storage layer",
               "task_id": "t-101", "data": {"progress": 40}}),
    ("bob", {"type": "code_review", "title": "Review PR #17",
             "description": "3 comments, 1 suggestion",
             "data": {"files_affected": ["src/db.rs", "src/queue.rs"]}}),
    ("team", {"type": "build_failed", "title": "Build #42",
              "description": "error[E0308]: mismatched types <u32> & <i64>",
              "data": {"duration_ms": 45000, "exit_code": 101}}),
    ("team", {"type": "test_suite_run", "title": "Integration tests",
              "data": {"tests_passed": 118, "tests_failed": 2}}),
    ("alice", {"type": "approval_request", "title": "Deploy to production?",
               "description": "Build #43 is green", "task_id": "t-102"}),
    ("bob", {"type": "git_push", "title": "Pushed 3 commits",
             "data": {"branch_name": "feature/persistence"}}),
    ("team", {"type": "performance_alert", "title": "p99 latency 1.8 s",
              "description": "Above the 500 ms budget for 10 minutes"}),
    ("alice", {"type": "task_completion", "title": "Refactor storage layer",
               "task_id": "t-101", "data": {"duration_ms": 5400000}}),
    ("bob", {"type": "security_alert", "title": "Token found in a log file",
             "description": "Rotate the bot token"}),
    ("team", {"type": "info_notification", "title": "Nightly backup done",
              "data": {"size_bytes": 10485760}}),
]

# Dropped into the watch directory: ingested by the runner itself.
WATCH_EVENTS = {
    "0001-custom.json": {"type": "custom_event", "title": "Hello from --watch",
                         "event_id": "demo-watch-1"},
    "0002-broken.json": '{"type": "error_occurred", "title": ',
}


def connect(ext, db):
    c = sqlite3.connect(db, timeout=10, isolation_level=None)
    c.enable_load_extension(True)
    c.load_extension(os.path.splitext(ext)[0])
    c.enable_load_extension(False)
    return c


def has_function(c, name):
    return c.execute("SELECT 1 FROM pragma_function_list WHERE name = ?",
                     (name,)).fetchone() is not None


def seed(args):
    c = connect(args.ext, args.db)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("BEGIN IMMEDIATE")
    c.execute("SELECT mp_init(?)", (json.dumps(
        {"retry_interval_seconds": 1, "backoff_max_seconds": 4,
         "chat_id": CHATS["alice"]}),))
    c.execute("COMMIT")
    events = has_function(c, "mp_enqueue_event")
    for who, ev in EVENTS:
        if events:
            c.execute("SELECT mp_enqueue_event(?, ?)",
                      (json.dumps(ev), CHATS[who]))
        else:  # an older mp: store the title as plain text
            c.execute("SELECT mp_enqueue(?, ?, ?)",
                      (CHATS[who], "%s: %s" % (ev["type"], ev["title"]),
                       json.dumps(ev)))
    # The claim order is priority first, then age: keep the priorities as
    # enqueued (recovery raises a recovered message's priority later).
    prio = dict(c.execute("SELECT seq, priority FROM messages"))
    c.close()
    with open(os.path.join(os.path.dirname(os.path.abspath(args.db)),
                           "priorities.json"), "w") as f:
        json.dump(prio, f)
    total = len(EVENTS)
    if events:
        os.makedirs(args.events, exist_ok=True)
        total += 1  # the broken file is rejected, not sent
        for name, ev in WATCH_EVENTS.items():
            tmp = os.path.join(args.events, "." + name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(ev if isinstance(ev, str) else json.dumps(ev))
            os.rename(tmp, os.path.join(args.events, name))
    with open(os.path.join(os.path.dirname(os.path.abspath(args.db)),
                           "total"), "w") as f:
        f.write("%d\n" % total)
    print("queued %d events for %d chats%s" % (
        len(EVENTS), len(CHATS),
        ", plus %d event files in the watch directory" % len(WATCH_EVENTS)
        if events else ""))
    return 0


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def wait(args):
    end = time.time() + args.timeout
    while time.time() < end:
        if len(read_log(args.log)) >= args.count:
            return 0
        time.sleep(0.05)
    return 1


def check(args):
    c = connect(args.ext, args.db)
    rows = c.execute("SELECT chat_id, message_text, status, in_doubt, "
                     "seq, priority FROM messages").fetchall()
    c.close()
    path = os.path.join(os.path.dirname(os.path.abspath(args.db)),
                        "priorities.json")
    prio = {}
    if os.path.exists(path):
        with open(path) as f:
            prio = {int(k): v for k, v in json.load(f).items()}
    rows.sort(key=lambda r: (-prio.get(r[4], r[5]), r[4]))
    log = read_log(args.log)
    got = collections.Counter((r["chat_id"], r["text"]) for r in log)
    missing = [r for r in rows if got[(r[0], r[1])] == 0]
    dups = [r for r in rows if got[(r[0], r[1])] > 1]
    bad_dups = [r for r in dups if not r[3]]
    order_ok = True
    for chat in {r[0] for r in rows}:
        want = [r[1] for r in rows if r[0] == chat]
        seen = []
        for rec in log:
            if rec["chat_id"] == chat and rec["text"] not in seen:
                seen.append(rec["text"])
        order_ok &= seen == want
    not_done = [r for r in rows if r[2] != "confirmed"]
    print("arrived: %d of %d messages%s; order per chat %s" % (
        len(rows) - len(missing), len(rows),
        "" if not missing else " (MISSING %d)" % len(missing),
        "kept" if order_ok else "BROKEN"))
    print("duplicates: %d, from requests in flight at the kill (each marked "
          "in_doubt by mp: %s)" % (
        len(dups), "yes" if not bad_dups else "NO"))
    ok = not missing and not bad_dups and order_ok and not not_done
    print("result: %s" % ("every message arrived" if ok else "PROBLEM"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["seed", "wait", "check"])
    ap.add_argument("--ext")
    ap.add_argument("--db")
    ap.add_argument("--events")
    ap.add_argument("--log")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    return {"seed": seed, "wait": wait, "check": check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
