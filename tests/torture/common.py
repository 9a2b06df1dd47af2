#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Shared harness of the torture tests (torture.py, concurrency_runners.py).

It runs Debian's python3 (standard library only):

  * producer processes: ``python3 common.py produce ...`` loads mp.so into
    sqlite3, calls mp_enqueue() with unique texts "p<producer>-<n>" and
    appends one JSON line per committed message to its ack file (the
    Jepsen "ok" of the operation: written only after the commit returned);
  * the fake Bot API server (tests/botapi/fake_botapi.py), whose JSONL log
    is the record of what "Telegram" accepted;
  * mp-runner, with LD_PRELOAD removed from its environment (sanitizer
    builds: the runner carries its own ASan runtime, and its leaks count);
  * the total-queue checker: the acks, the server's log and the database
    must tell one consistent story (see check_total_queue);
  * what the drivers share besides: their common options (arg_parser)
    and their main (main: the banner, the figures, the verdict).

Every child process is started here and ended here by its own pid.
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

TOKEN = "123456:TORTURE-secret-token-xyz"

# Pacing off (the point is the queue, not Telegram's limits), retries fast
# and practically unlimited: the only permanent failure is the blocked chat.
FAST = {"pace_chat_ms": 0, "pace_group_per_minute": 0,
        "pace_global_per_second": 0, "retry_interval_seconds": 1,
        "backoff_max_seconds": 2, "max_retry_count": 1000}

BLOCKED_REASON = "bot was blocked by the user"

# What a process must never print: SQLite's busy/locked errors surfaced.
BUSY_RE = re.compile(r"SQLITE_BUSY|SQLITE_LOCKED|database is locked|"
                     r"database table is locked|database is busy",
                     re.IGNORECASE)


# The fake server's faults, as the drivers' options: (driver option, the
# server's option, type). The defaults are each driver's.
FAULT_OPTIONS = (
    ("--fail-5xx", "--fail-rate-5xx", float),
    ("--rate-429", "--rate-429", float),
    ("--drop", "--drop-rate", float),
    ("--lost-reply", "--lost-reply-rate", float),
    ("--slow-rate", "--slow-rate", float),
    ("--slow-ms", "--slow-ms", int),
)


class Failure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def option_dest(option):
    """The attribute argparse stores option in: "--fail-5xx" -> "fail_5xx"."""
    return option[2:].replace("-", "_")


def arg_parser(doc, drain_timeout, **faults):
    """The options both drivers take: the programs under test, the runners'
    --concurrency, --seed, the server's faults (defaults in faults, keyed
    as option_dest() names them), --drain-timeout and where the files go.
    The driver adds its own options and parses."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--runner", required=True)
    ap.add_argument("--ext", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    for option, _, kind in FAULT_OPTIONS:
        ap.add_argument(option, type=kind, default=faults[option_dest(option)])
    ap.add_argument("--drain-timeout", type=float, default=drain_timeout)
    ap.add_argument("--dir", help="work in this directory (kept)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the directory even when everything held")
    ap.add_argument("--json", help="write the figures to this file")
    return ap


def connect(db_path, ext, timeout=30.0):
    c = sqlite3.connect(db_path, timeout=timeout, isolation_level=None)
    c.enable_load_extension(True)
    c.load_extension(os.path.splitext(ext)[0])
    c.enable_load_extension(False)
    return c


def init_db(db_path, ext, config=None):
    old = os.umask(0o077)  # as mp-runner would create it: mode 0600
    try:
        c = connect(db_path, ext)
    finally:
        os.umask(old)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("BEGIN IMMEDIATE")
    c.execute("SELECT mp_init(?)", (json.dumps(config or FAST),))
    c.execute("COMMIT")
    c.close()


def make_chats(n_chats, rng):
    """n_chats chat ids: private (positive), groups (small negative) and
    supergroups (-100...). The blocked chat is separate."""
    chats = []
    for i in range(n_chats):
        kind = i % 3
        if kind == 0:
            chats.append(1000 + i)
        elif kind == 1:
            chats.append(-(4000 + i))
        else:
            chats.append(-1001000000000 - i)
    rng.shuffle(chats)
    return chats


class Harness:
    """A directory, the fake server and the child processes of one run."""

    def __init__(self, opts, name):
        self.opts = opts
        if opts.dir:
            self.dir = opts.dir
            os.makedirs(self.dir, exist_ok=True)
        else:
            self.dir = tempfile.mkdtemp(prefix="mp-%s-" % name)
        self.db_path = os.path.join(self.dir, "q.db")
        self.procs = []
        self.server = None
        self.runner_runs = 0

    # -- the fake Bot API server -------------------------------------------

    def start_server(self, *args):
        self.server_log = os.path.join(self.dir, "delivered.jsonl")
        self.requests_log = os.path.join(self.dir, "requests.jsonl")
        errf = open(os.path.join(self.dir, "server.err"), "w")
        p = subprocess.Popen(
            [sys.executable, self.opts.server, "--token", TOKEN, "--log",
             self.server_log, "--requests-log", self.requests_log]
            + [str(a) for a in args],
            stdout=subprocess.PIPE, stderr=errf, text=True)
        p.errf = errf
        self.procs.append(p)
        line = p.stdout.readline()
        if not line.startswith("PORT "):
            raise Failure("fake server did not start: %r" % line)
        self.server = p
        self.url = "http://127.0.0.1:%d" % int(line.split()[1])
        self._req_count = 0
        self._req_off = 0
        return p

    def request_count(self):
        """Requests the server has answered so far (incremental read)."""
        try:
            with open(self.requests_log, "rb") as f:
                f.seek(self._req_off)
                data = f.read()
        except FileNotFoundError:
            return 0
        n = data.rfind(b"\n") + 1
        self._req_count += data[:n].count(b"\n")
        self._req_off += n
        return self._req_count

    def start_faulty_server(self, opts, blocked):
        """The fake server with the faults of opts (see arg_parser),
        retry_after 1 for its 429s, and chat blocked answered 403."""
        faults = []
        for option, server_option, _ in FAULT_OPTIONS:
            faults += [server_option, getattr(opts, option_dest(option))]
        return self.start_server("--seed", opts.seed, "--retry-after", 1,
                                 "--blocked-chat", blocked, *faults)

    def delivered(self):
        """The messages the server accepted, in order."""
        return read_jsonl(self.server_log)

    def requests(self):
        """Every request the server answered, in order."""
        return read_jsonl(self.requests_log)

    # -- producers ------------------------------------------------------------

    def start_producer(self, k, count, chats, seed, rate=0.0, batch=1):
        ack = os.path.join(self.dir, "acks-%d.jsonl" % k)
        errf = open(os.path.join(self.dir, "producer-%d.err" % k), "w+")
        p = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "produce",
             "--db", self.db_path, "--ext", self.opts.ext, "--id", str(k),
             "--count", str(count), "--chats=" + ",".join(map(str, chats)),
             "--seed", str(seed), "--rate", str(rate), "--batch",
             str(batch), "--ack", ack],
            stdout=subprocess.DEVNULL, stderr=errf)
        p.errf = errf
        p.ack = ack
        p.name = "producer-%d" % k
        self.procs.append(p)
        return p

    def check_producers(self, producers):
        """Raises if a producer already failed."""
        for p in producers:
            if p.poll() not in (None, 0):
                self.finish_producer(p, 1)

    def finish_producer(self, p, timeout):
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("%s did not finish within %d s" % (p.name, timeout))
        p.errf.seek(0)
        err = p.errf.read()
        if rc != 0:
            raise Failure("%s exited with %d: %s" % (p.name, rc, err[-2000:]))
        return err

    # -- the runner -----------------------------------------------------------

    def runner_env(self, level="info"):
        env = dict(os.environ)
        if env.pop("LD_PRELOAD", None) is not None:
            # A sanitizer build: mp-runner links its own ASan runtime; its
            # leaks are ours, so they are checked.
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
        env["TELEGRAM_BOT_TOKEN"] = TOKEN
        env["MP_LOG"] = level
        return env

    def spawn_runner(self, args, level="info"):
        self.runner_runs += 1
        path = os.path.join(self.dir, "runner-%03d.log" % self.runner_runs)
        errf = open(path, "w+", encoding="utf-8", errors="replace")
        cmd = [self.opts.runner, "--db", self.db_path, "--api-url", self.url]
        p = subprocess.Popen(cmd + [str(a) for a in args],
                             env=self.runner_env(level),
                             stdout=errf, stderr=subprocess.STDOUT)
        p.errf = errf
        p.logpath = path
        p.name = "runner-%03d" % self.runner_runs
        self.procs.append(p)
        return p

    def runner_output(self, p):
        p.errf.flush()
        p.errf.seek(0)
        return p.errf.read()

    def kill(self, p):
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        return p.wait()

    def finish(self, p, timeout):
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(p)
            raise Failure("%s did not exit within %d s" % (p.name, timeout))
        return rc, self.runner_output(p)

    def cleanup(self, ok):
        for p in self.procs:
            if p.poll() is None:
                if p is self.server:
                    p.terminate()
                    try:
                        p.wait(5)
                        continue
                    except subprocess.TimeoutExpired:
                        pass
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        for p in self.procs:
            for f in (getattr(p, "errf", None), p.stdout):
                if f is not None and not f.closed:
                    f.close()
        if ok and not self.opts.keep and not self.opts.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def check_runner_output(name, text, problems):
    """Problems every runner log is checked for."""
    if "memory leak" in text:
        problems.append("%s reported a leak" % name)
    if "ERROR: AddressSanitizer" in text or "runtime error:" in text or \
            "ERROR: LeakSanitizer" in text:
        problems.append("%s: sanitizer report:\n%s" % (name, text[-3000:]))
    if TOKEN in text:
        problems.append("%s printed the token" % name)
    for line in text.splitlines():
        if BUSY_RE.search(line):
            problems.append("%s surfaced a busy database: %s" % (name, line))
            break


def read_jsonl(path):
    """The records of a JSON-lines file; none when it does not exist."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_acks(paths, problems):
    """The acknowledged enqueues: text -> {"chat", "id", "t", "producer"}.
    A text acked twice is appended to problems."""
    acks = {}
    dup = []
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    continue  # a torn last line: the producer died writing
                rec = json.loads(line)
                if rec["text"] in acks:
                    dup.append(rec["text"])
                acks[rec["text"]] = rec
    if dup:
        problems.append("producers acked a text twice: %r" % dup[:3])
    return acks


def check_total_queue(db_path, ext, acks, delivered, blocked, problems,
                      check_overlap=False):
    """The Jepsen-style total-queue check. Appends every violation to
    problems (a list of strings) and returns the figures as a dict.

    acks: the enqueues the producers saw committed; delivered: the
    server's log (every message it accepted, in acceptance order);
    blocked: chat ids answered 403."""
    c = connect(db_path, ext)
    fig = collections.OrderedDict()

    def bad(kind, what, limit=20):
        key = "_n_" + kind
        fig[key] = fig.get(key, 0) + 1
        if fig[key] <= limit:
            problems.append("%s: %s" % (kind, what))

    rows = c.execute(
        "SELECT seq, id, chat_id, message_text, status, in_doubt, "
        "telegram_message_id, error_message, retry_count, attempts "
        "FROM messages ORDER BY seq").fetchall()
    by_text = {}
    for r in rows:
        if r[3] in by_text:
            bad("duplicate-row", "text %r stored twice" % r[3])
        by_text[r[3]] = r
    fig["enqueued_acked"] = len(acks)
    fig["rows"] = len(rows)

    # The database holds exactly the acknowledged enqueues.
    for text, a in acks.items():
        r = by_text.get(text)
        if r is None:
            bad("lost-enqueue", "acked %r (id %s) is not in the database"
                % (text, a.get("id")))
        elif r[1] != a["id"] or r[2] != a["chat"]:
            bad("wrong-row", "%r: acked id %s chat %s, row id %s chat %s"
                % (text, a["id"], a["chat"], r[1], r[2]))
    for text in by_text:
        if text not in acks:
            bad("phantom-row", "row %r was never acknowledged" % text)

    # Deliveries: only what was enqueued, to its chat.
    count = collections.Counter()
    first_order = collections.defaultdict(list)
    by_mid = {}
    for rec in delivered:
        text, chat = rec.get("text"), rec.get("chat_id")
        r = by_text.get(text)
        if r is None or r[2] != chat:
            bad("unexpected", "delivered %r to chat %s" % (text, chat))
            continue
        if count[text] == 0:
            first_order[chat].append(r[0])
        count[text] += 1
        by_mid[(chat, rec.get("message_id"))] = text
    fig["deliveries"] = len(delivered)
    fig["delivered_unique"] = len(count)

    attempts_m1 = {s for (s,) in c.execute(
        "SELECT DISTINCT seq FROM mp_attempt WHERE http_status = -1")}
    confirmed_att = collections.Counter(s for (s,) in c.execute(
        "SELECT seq FROM mp_attempt WHERE outcome = 'confirmed'"))

    lost = dups = dups_ok = 0
    per_chat_seq = collections.defaultdict(list)
    for r in rows:
        seq, mid, chat, text, status, in_doubt, tg_id, err = r[:8]
        per_chat_seq[chat].append(seq)
        if status in ("pending", "sent"):
            bad("not-terminal", "%r left %s" % (text, status))
        if chat in blocked:
            if status != "failed" or BLOCKED_REASON not in (err or ""):
                bad("blocked-row", "%r: status %s error %r"
                    % (text, status, err))
            if count[text]:
                bad("blocked-delivered", "%r reached a blocked chat" % text)
            continue
        if count[text] == 0:
            lost += 1
            bad("lost", "%r (chat %d, status %s, error %r) never delivered"
                % (text, chat, status, err))
        if status != "confirmed":
            bad("not-confirmed", "%r: %s (%r)" % (text, status, err))
        else:
            if by_mid.get((chat, tg_id)) != text:
                bad("wrong-message-id", "%r confirmed with message_id %s, "
                    "which the server gave to %r"
                    % (text, tg_id, by_mid.get((chat, tg_id))))
            if confirmed_att[seq] != 1:
                bad("confirmed-attempts", "%r has %d 'confirmed' attempts"
                    % (text, confirmed_att[seq]))
        if count[text] > 1:
            dups += 1
            if in_doubt == 1 or seq in attempts_m1:
                dups_ok += 1
            else:
                bad("duplicate", "%r delivered %d times, not in doubt"
                    % (text, count[text]))
    fig["lost"] = lost
    fig["duplicated"] = dups
    fig["duplicated_in_doubt"] = dups_ok
    fig["in_doubt_rows"] = sum(1 for r in rows if r[5] == 1)

    # Per chat, first deliveries in enqueue (seq) order.
    order_at = dict(c.execute("SELECT seq, order_at FROM messages"))
    # Rows whose order_at is earlier than that of an earlier seq of their
    # chat: the claim (by order_at, then seq) would overtake.
    n_inv = 0
    for chat, seqs in per_chat_seq.items():
        top = None
        for q in sorted(seqs):
            if top is not None and order_at[q] < top:
                n_inv += 1
            top = order_at[q] if top is None else max(top, order_at[q])
    fig["rows_order_at_before_earlier_seq"] = n_inv
    for chat, seqs in per_chat_seq.items():
        if chat in blocked:
            continue
        got = first_order.get(chat, [])
        want = sorted(got)  # losses are reported above
        if got != want:
            i = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
            bad("order", "chat %d: first deliveries leave seq order at "
                "#%d: got seqs %r, want %r (order_at %r)"
                % (chat, i, got[i:i + 3], want[i:i + 3],
                   [order_at[q] for q in got[i:i + 3]]))

    # Attempts of one message never overlap in time (no double claim).
    if check_overlap:
        last = {}
        n_overlap = 0
        for seq, at, dur in c.execute(
                "SELECT seq, at_ms, coalesce(duration_ms, 0) FROM mp_attempt "
                "ORDER BY seq, at_ms - coalesce(duration_ms, 0)"):
            start = at - dur
            prev = last.get(seq)
            if prev is not None and start < prev:
                n_overlap += 1
                bad("overlap", "message seq %d: an attempt started at %d ms, "
                    "before the previous one ended (%d ms)"
                    % (seq, start, prev))
            last[seq] = max(prev or 0, at)
        fig["overlapping_attempts"] = n_overlap

    # The database itself.
    ic = c.execute("PRAGMA integrity_check").fetchall()
    if ic != [("ok",)]:
        bad("integrity", repr(ic[:5]))
    nv = c.execute("SELECT mp_verify()").fetchone()[0]
    if nv != 0:
        bad("verify", "mp_verify() = %r" % nv)
    fig["integrity_check"] = ic[0][0] if ic else None
    fig["mp_verify"] = nv

    # mp_stats equals the real counts.
    stats = dict(c.execute("SELECT name, value FROM mp_stats"))
    real = dict(c.execute("SELECT status, count(*) FROM messages "
                          "GROUP BY status"))
    want = {
        "pending": real.get("pending", 0), "sent": real.get("sent", 0),
        "confirmed": real.get("confirmed", 0),
        "failed": real.get("failed", 0), "in_flight": real.get("sent", 0),
        "total": len(rows), "messages_stored": len(rows),
        "attempts_telegram": c.execute(
            "SELECT count(*) FROM mp_attempt WHERE tier = 'telegram'"
        ).fetchone()[0],
        "successes_telegram": c.execute(
            "SELECT count(*) FROM mp_attempt WHERE tier = 'telegram' AND "
            "outcome = 'confirmed'").fetchone()[0],
    }
    for k, v in want.items():
        if stats.get(k) != v:
            bad("stats", "mp_stats %s = %r, real %r" % (k, stats.get(k), v))
    fig["status"] = dict(sorted(real.items()))
    fig["attempts"] = want["attempts_telegram"]
    fig["attempt_outcomes"] = dict(c.execute(
        "SELECT outcome, count(*) FROM mp_attempt GROUP BY outcome"))
    fig["recovered"] = stats.get("recovered")
    c.close()
    fig["violations"] = sum(v for k, v in fig.items() if k.startswith("_n_"))
    return fig


def print_figures(title, fig):
    log(title)
    for k, v in fig.items():
        if not k.startswith("_"):
            log("  %-22s %s" % (k, v))


def main(name, opts, banner, run):
    """Runs run(opts, harness) in a new Harness called name, after logging
    banner; prints the figures it returns (and writes them to --json) and
    the problems. Returns the exit status: 0 when every property held, 1
    otherwise (the files are then kept)."""
    h = Harness(opts, name)
    ok = False
    try:
        log("%s: %s, in %s" % (name, banner, h.dir))
        fig, problems = run(opts, h)
        print_figures("figures:", fig)
        if opts.json:
            with open(opts.json, "w") as f:
                json.dump(fig, f, indent=1)
        if problems:
            log("FAIL: %d problems listed, %d violations of the total-queue "
                "check" % (len(problems), fig.get("violations", 0)))
            for pr in problems:
                log("  " + pr)
        else:
            log("ok: every property held")
            ok = True
    except Failure as e:
        log("FAIL: %s" % e)
    except Exception:
        traceback.print_exc()
    finally:
        h.cleanup(ok)
        if not ok:
            log("files kept in %s" % h.dir)
    return 0 if ok else 1


# ---------------------------------------------------------------- producer


def produce(argv):
    ap = argparse.ArgumentParser(prog="common.py produce")
    ap.add_argument("--db", required=True)
    ap.add_argument("--ext", required=True)
    ap.add_argument("--id", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--chats", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="messages per second (0: as fast as possible)")
    ap.add_argument("--batch", type=int, default=1,
                    help="enqueues per BEGIN IMMEDIATE transaction")
    ap.add_argument("--ack", required=True)
    a = ap.parse_args(argv)
    chats = [int(x) for x in a.chats.split(",")]
    rng = random.Random(a.seed * 7919 + a.id)
    c = connect(a.db, a.ext)
    t0 = time.time()
    n = 0
    with open(a.ack, "a", encoding="utf-8") as ack:
        while n < a.count:
            todo = min(a.batch, a.count - n)
            items = [(rng.choice(chats), "p%d-%d" % (a.id, n + i))
                     for i in range(todo)]
            if a.batch > 1:
                c.execute("BEGIN IMMEDIATE")
            ids = [c.execute("SELECT mp_enqueue(?, ?)", it).fetchone()[0]
                   for it in items]
            if a.batch > 1:
                c.execute("COMMIT")
            now = time.time()
            for (chat, text), mid in zip(items, ids):
                ack.write(json.dumps({"text": text, "chat": chat, "id": mid,
                                      "t": now, "producer": a.id}) + "\n")
            ack.flush()
            n += todo
            if a.rate > 0:
                ahead = t0 + n / a.rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
    c.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "produce":
        sys.exit(produce(sys.argv[2:]))
    print("usage: common.py produce --db F --ext mp.so --id K --count N "
          "--chats C,C,... --ack FILE [--seed S] [--rate R] [--batch B]")
    sys.exit(2)
