#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of mp-runner against the fake Bot API server.

Usage:

    python3 tests/runner/test_runner.py --runner build/mp-runner \
        --ext build/mp.so --server tests/botapi/fake_botapi.py TEST...
    python3 tests/runner/test_runner.py ... all      # every test
    python3 tests/runner/test_runner.py ... --list   # their names

Each test gets a fresh temporary directory (kept and printed when the test
fails), a database prepared through mp.so loaded into Python's sqlite3, a
fake server on 127.0.0.1 and the runner as a child process. Everything is
bounded in time. After every runner run the test checks that the token
appears nowhere in its output and that SQLite reported no leak.

Tests: happy, 429, 5xx, dropped, reuse_lost, 403, migrate, 401, secrets, modes,
failover_webhook, failover_file, watch, sigterm, crash, pacing,
pacing_rates, status.
"""

import argparse
import collections
import json
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import traceback

TOKEN = "123456:TEST-secret-token-ABCdef_xyz"
# Tests run fast: no pacing, retries after about a second.
FAST = {"pace_chat_ms": 0, "pace_group_per_minute": 0,
        "pace_global_per_second": 0, "retry_interval_seconds": 1,
        "backoff_max_seconds": 2}


class TestFailure(Exception):
    pass


class TestSkip(Exception):
    """The extension lacks what the test needs (exit status 77)."""


def check(cond, what):
    if not cond:
        raise TestFailure(what)


class Server:
    """The fake Bot API server as a child process."""

    def __init__(self, ctx, *args, name="srv"):
        self.log = os.path.join(ctx.dir, name + ".jsonl")
        self.requests = os.path.join(ctx.dir, name + "-requests.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, ctx.opts.server, "--token", TOKEN, "--log",
             self.log, "--requests-log", self.requests, "--seed", "1"]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise TestFailure("fake server did not start: %r %s"
                              % (line, self.proc.stderr.read()))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def delivered(self, via=None):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            recs = [json.loads(line) for line in f if line.strip()]
        return [r for r in recs if via is None or r["via"] == via]

    def request_log(self):
        if not os.path.exists(self.requests):
            return []
        with open(self.requests, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class Ctx:
    """One test's directory, database, servers and runner processes."""

    def __init__(self, opts, name):
        self.opts = opts
        self.dir = tempfile.mkdtemp(prefix="mp-runner-%s-" % name)
        self.db_path = os.path.join(self.dir, "q.db")
        self.servers = []
        self.procs = []
        self.run_count = 0

    def connect(self, config=None):
        c = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        c.enable_load_extension(True)
        c.load_extension(os.path.splitext(self.opts.ext)[0])
        c.enable_load_extension(False)
        c.execute("PRAGMA journal_mode=WAL")
        if config is not None:
            # BEGIN IMMEDIATE: mp_init() reads before it writes, which fails
            # with "database is locked" when a runner commits in between.
            c.execute("BEGIN IMMEDIATE")
            c.execute("SELECT mp_init(?)", (json.dumps(config),))
            c.execute("COMMIT")
        return c

    def db(self, config=FAST):
        """A connection with mp loaded, the schema created with config."""
        return self.connect(config)

    def query(self, sql, *args):
        c = self.connect()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def server(self, *args, **kw):
        s = Server(self, *args, **kw)
        self.servers.append(s)
        return s

    def runner_cmd(self, args, api=None, db=True):
        cmd = [self.opts.runner]
        if db:
            cmd += ["--db", self.db_path]
        if api is not None:
            cmd += ["--api-url", api]
        return cmd + list(args)

    def env(self, token=TOKEN, extra=None):
        env = dict(os.environ)
        if env.pop("LD_PRELOAD", None) is not None:
            # A sanitizer build: the runner has its runtime; check its leaks.
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
        env.pop("TELEGRAM_BOT_TOKEN", None)
        env["MP_LOG"] = "debug"
        if token is not None:
            env["TELEGRAM_BOT_TOKEN"] = token
        env.update(extra or {})
        return env

    def log_output(self, out, err):
        self.run_count += 1
        with open(os.path.join(self.dir, "runner-%d.log" % self.run_count),
                  "w", encoding="utf-8") as f:
            f.write(out + err)
        check(TOKEN not in out and TOKEN not in err,
              "the token appeared in the runner's output")
        check("memory leak" not in err, "runner reported a leak: " + err)

    def run(self, args, api=None, token=TOKEN, timeout=60, env=None,
            db=True, **kw):
        """Runs the runner to its end; returns (exit code, stdout, stderr)."""
        p = subprocess.run(self.runner_cmd(args, api, db),
                           env=self.env(token, env), capture_output=True,
                           text=True, timeout=timeout, **kw)
        self.log_output(p.stdout, p.stderr)
        return p.returncode, p.stdout, p.stderr

    def spawn(self, args, api=None, token=TOKEN, env=None, **kw):
        errf = open(os.path.join(self.dir, "spawn-%d.err" % len(self.procs)),
                    "w+", encoding="utf-8")
        p = subprocess.Popen(self.runner_cmd(args, api), env=self.env(token,
                                                                      env),
                             stdout=subprocess.DEVNULL, stderr=errf, text=True,
                             **kw)
        p.errf = errf
        self.procs.append(p)
        return p

    def finish(self, p, timeout=30):
        """Waits for a spawned runner; returns (exit code, stderr)."""
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise TestFailure("runner did not exit within %d s" % timeout)
        p.errf.seek(0)
        err = p.errf.read()
        p.errf.close()
        self.log_output("", err)
        return rc, err

    def cleanup(self, ok):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for s in self.servers:
            s.stop()
        if ok and not self.opts.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(cond, timeout, what, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(step)
    raise TestFailure("timed out waiting for " + what)


def enqueue(c, chats, per_chat, prefix="m"):
    """Enqueues per_chat messages to each chat, interleaved; returns texts."""
    texts = collections.defaultdict(list)
    for i in range(per_chat):
        for chat in chats:
            t = "%s %d #%03d" % (prefix, chat, i)
            c.execute("SELECT mp_enqueue(?, ?)", (chat, t))
            texts[chat].append(t)
    return texts


def check_order(delivered, texts):
    """Every text arrived; per chat, first arrivals keep enqueue order."""
    seen = collections.defaultdict(list)
    for rec in delivered:
        if rec["text"] not in seen[rec["chat_id"]]:
            seen[rec["chat_id"]].append(rec["text"])
    for chat, want in texts.items():
        got = [t for t in seen.get(chat, []) if t in want]
        check(got == want, "chat %d order/delivery: got %r want %r"
              % (chat, got[:5], want[:5]))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_counts(ctx):
    return dict(ctx.query("SELECT status, count(*) FROM messages "
                          "GROUP BY status"))


# ---------------------------------------------------------------- tests


def t_happy(ctx):
    c = ctx.db()
    chats = [101, 102, -103, -1001234, 105]
    texts = enqueue(c, chats, 8)
    c.close()
    srv = ctx.server()
    rc, _, err = ctx.run(["--once"], api=srv.url)
    check(rc == 0, "exit code %d: %s" % (rc, err[-2000:]))
    check(status_counts(ctx) == {"confirmed": 40}, status_counts(ctx))
    rows = ctx.query("SELECT count(*) FROM messages WHERE tier_used = "
                     "'telegram' AND telegram_message_id > 0")
    check(rows[0][0] == 40, "tier_used/telegram_message_id missing")
    log = srv.delivered()
    count = collections.Counter(r["text"] for r in log)
    check(len(log) == 40 and max(count.values()) == 1,
          "duplicates or losses: %d lines" % len(log))
    check_order(log, texts)


def t_429(ctx):
    c = ctx.db()
    texts = enqueue(c, [101, 102], 3)
    c.close()
    srv = ctx.server("--script", "101:429:2")
    t0 = time.time()
    rc, _, err = ctx.run(["--drain"], api=srv.url)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 6}, status_counts(ctx))
    check_order(srv.delivered(), texts)
    check(len(srv.delivered()) == 6, "lost or duplicated messages")
    first = texts[101][0]
    rc_row = ctx.query("SELECT retry_count FROM messages WHERE "
                       "message_text = ?", first)
    check(rc_row[0][0] == 0, "a 429 counted as a retry: %r" % rc_row)
    reqs = srv.request_log()
    t429 = [r["time"] for r in reqs if r["status"] == 429]
    t_ok = [r["time"] for r in srv.delivered() if r["text"] == first]
    check(t429 and t_ok and t_ok[0] - t429[0] >= 1.9,
          "retry_after not honoured: %r %r" % (t429, t_ok))
    check("rate_limited" in err, "no rate_limited outcome logged")
    check(time.time() - t0 < 30, "too slow")


def t_5xx(ctx):
    c = ctx.db()
    texts = enqueue(c, [101, 102], 2)
    c.close()
    srv = ctx.server("--script", "101:502,500")
    rc, _, err = ctx.run(["--drain"], api=srv.url)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 4}, status_counts(ctx))
    check_order(srv.delivered(), texts)
    row = ctx.query("SELECT retry_count FROM messages WHERE message_text=?",
                    texts[101][0])
    check(row[0][0] == 2, "expected 2 retries, got %r" % row)
    check(len(srv.delivered()) == 4, "duplicates")


def t_dropped(ctx):
    c = ctx.db()
    texts = enqueue(c, [101, 102, 103, 104], 2)
    c.close()
    # 101: delivered, then the connection drops (the answer is lost).
    # 102: the request is read, then dropped unanswered (not delivered).
    # 104: delivered, but the answer comes after the runner's timeout.
    srv = ctx.server("--script", "101:lost", "--script", "102:drop",
                     "--script", "104:slow:2500")
    rc, _, err = ctx.run(["--drain", "--timeout-ms", "1000"], api=srv.url)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 8}, status_counts(ctx))
    log = srv.delivered()
    check_order(log, texts)
    count = collections.Counter(r["text"] for r in log)
    doubt = dict(ctx.query("SELECT message_text, in_doubt FROM messages"))
    check(count[texts[101][0]] == 2, "lost reply: expected a duplicate, got "
          "%d" % count[texts[101][0]])
    check(doubt[texts[101][0]] == 1 and doubt[texts[102][0]] == 1 and
          doubt[texts[104][0]] == 1, "in_doubt not marked: %r" % doubt)
    check(count[texts[104][0]] == 2, "timeout: expected a duplicate")
    for text, n in count.items():
        check(n == 1 or doubt[text] == 1, "duplicate without in_doubt: "
              + text)
    check(sum(doubt.values()) == 3, "too many in_doubt rows: %r" % doubt)
    check("in_doubt" in err, "no in_doubt outcome logged")


def t_reuse_lost(ctx):
    """A request on a reused keep-alive connection that the server read
    and then dropped unanswered: libcurl would send it again on a fresh
    connection by itself; the runner must refuse that silent re-send and
    report the attempt as in doubt instead."""
    c = ctx.db()
    texts = enqueue(c, [101], 3)
    c.close()
    # One connection: the second request reuses the first one's.
    srv = ctx.server("--script", "101:ok,lost")
    rc, _, err = ctx.run(["--drain", "--concurrency", "1", "--batch", "1"],
                         api=srv.url)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 3}, status_counts(ctx))
    log = srv.delivered()
    check_order(log, texts)
    count = collections.Counter(r["text"] for r in log)
    doubt = dict(ctx.query("SELECT message_text, in_doubt FROM messages"))
    second = texts[101][1]
    check(count[second] == 2 and doubt[second] == 1,
          "the lost request: delivered %d times, in_doubt %r (libcurl "
          "re-sent it silently?)" % (count[second], doubt[second]))
    for text, n in count.items():
        check(n == 1 or doubt[text] == 1, "duplicate without in_doubt: "
              + text)
    reqs = [r for r in srv.request_log() if r["chat_id"] == 101]
    check(len(reqs) == 4, "expected 4 requests, got %d" % len(reqs))


def t_403(ctx):
    c = ctx.db()
    texts = enqueue(c, [101, 102], 3)
    c.close()
    srv = ctx.server("--blocked-chat", "102")
    rc, _, err = ctx.run(["--drain"], api=srv.url)
    check(rc == 0, "exit code %d" % rc)
    rows = ctx.query("SELECT chat_id, status, error_message FROM messages")
    for chat, st, msg in rows:
        if chat == 102:
            check(st == "failed" and "bot was blocked by the user" in msg,
                  "blocked chat row: %r %r" % (st, msg))
        else:
            check(st == "confirmed", "chat %d: %s" % (chat, st))
    check_order(srv.delivered(), {101: texts[101]})
    check("bot was blocked" in err, "reason not logged")


def t_migrate(ctx):
    c = ctx.db()
    texts = enqueue(c, [-555], 3)
    c.close()
    srv = ctx.server("--migrate=-555:-100555")
    rc, _, err = ctx.run(["--drain"], api=srv.url)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 3}, status_counts(ctx))
    log = srv.delivered()
    check([r["chat_id"] for r in log] == [-100555] * 3, "not migrated: %r"
          % log)
    check([r["text"] for r in log] == texts[-555], "order after migration")
    rows = ctx.query("SELECT DISTINCT chat_id FROM messages")
    check(rows == [(-100555,)], "chat_id not rewritten: %r" % rows)


def t_401(ctx):
    c = ctx.db()
    enqueue(c, [101, 102, 103], 3)
    c.close()
    srv = ctx.server()
    wrong = "654321:WRONG-token-abcdefgh"
    rc, out, err = ctx.run(["--drain"], api=srv.url, token=wrong)
    check(rc == 3, "expected exit 3 on 401, got %d" % rc)
    check("401" in err and "token" in err, "no clear message: " + err[-800:])
    check(wrong not in err and wrong not in out, "wrong token in the output")
    counts = status_counts(ctx)
    check(counts.get("sent", 0) == 0, "left messages 'sent': %r" % counts)
    check(counts.get("pending", 0) > 0, "kept claiming after the stop")
    # A wrong URL (404) stops too.
    rc, out, err = ctx.run(["--drain"], api=srv.url + "/wrong/path")
    check(rc == 3, "expected exit 3 on 404, got %d" % rc)
    check("404" in err, "no 404 message")
    counts = status_counts(ctx)
    check(counts.get("sent", 0) == 0, "left messages 'sent': %r" % counts)


def t_secrets(ctx):
    c = ctx.db()
    enqueue(c, [101, 102], 2)
    c.close()
    srv = ctx.server("--script", "101:502", "--script", "102:lost")
    # Never on the command line.
    rc, out, err = ctx.run(["--token", "999:cmdline-token-zzz"], api=srv.url)
    check(rc == 1 and "cmdline-token" not in err, "--token not refused")
    # A token file others can read is refused.
    tf = os.path.join(ctx.dir, "token")
    with open(tf, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tf, 0o644)
    rc, out, err = ctx.run(["--once", "--token-file", tf], api=srv.url,
                           token=None)
    check(rc == 1 and "chmod 600" in err, "loose token file accepted")
    os.chmod(tf, 0o600)
    # A connection error, whose curl text could quote the URL.
    dead = "http://127.0.0.1:%d" % free_port()
    rc, out, err = ctx.run(["--once"], api=dead)
    check(rc == 0, "exit code %d" % rc)
    check("curl error" in err or "not sent" in err or "retry" in err,
          "no transport error seen")
    # Deliver everything with the token file, through 5xx and lost replies.
    p = ctx.spawn(["--drain", "--token-file", tf], api=srv.url, token=None)
    environ = b""
    try:
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            check(TOKEN.encode() not in f.read(), "token in cmdline")
    except FileNotFoundError:
        pass
    rc, err = ctx.finish(p, 60)
    check(rc == 0, "exit code %d" % rc)
    # From the environment: /proc/PID/environ must not keep it either.
    c = ctx.connect()
    enqueue(c, [104], 1, prefix="env")
    c.close()
    srv2 = ctx.server("--slow-ms", "1500", name="slow")
    p = ctx.spawn(["--drain"], api=srv2.url)
    wait_for(lambda: srv2.request_log() != [], 10, "a request")
    try:
        with open("/proc/%d/environ" % p.pid, "rb") as f:
            environ = f.read()
    except FileNotFoundError:
        pass
    rc, err = ctx.finish(p, 30)
    check(TOKEN.encode() not in environ, "token readable in /proc/environ")
    check(status_counts(ctx) == {"confirmed": 5}, status_counts(ctx))
    for name in os.listdir(ctx.dir):
        path = os.path.join(ctx.dir, name)
        if os.path.isfile(path) and name != "token" and \
                not name.startswith(("srv", "slow")):
            with open(path, "rb") as f:
                check(TOKEN.encode() not in f.read(),
                      "token found in " + name)
            check(b"TEST-secret" not in open(path, "rb").read(),
                  "part of the token found in " + name)


def t_modes(ctx):
    spool = os.path.join(ctx.dir, "spool")
    os.mkdir(spool)
    srv = ctx.server()
    p = ctx.spawn(["--tiers", "file", "--spool-dir", spool, "--poll-ms",
                   "200"], api=srv.url, preexec_fn=lambda: os.umask(0))
    wait_for(lambda: os.path.exists(ctx.db_path + "-shm"), 10, "-shm")
    c = ctx.connect(FAST)
    enqueue(c, [101], 2)
    c.close()
    wait_for(lambda: len(os.listdir(spool)) == 2, 10, "spool files")
    for suffix in ("", "-wal", "-shm"):
        mode = stat.S_IMODE(os.stat(ctx.db_path + suffix).st_mode)
        check(mode == 0o600, "q.db%s has mode %o" % (suffix, mode))
    for name in os.listdir(spool):
        mode = stat.S_IMODE(os.stat(os.path.join(spool, name)).st_mode)
        check(mode == 0o600, "spool file %s has mode %o" % (name, mode))
    p.send_signal(signal.SIGTERM)
    rc, err = ctx.finish(p, 15)
    check(rc == 0, "exit code %d after SIGTERM" % rc)


def t_failover_webhook(ctx):
    c = ctx.db()
    texts = enqueue(c, [101, 102, 103, 104, 105], 2)
    c.close()
    srv = ctx.server()
    dead = "http://127.0.0.1:%d" % free_port()
    rc, _, err = ctx.run(["--drain", "--tiers", "telegram,webhook",
                          "--webhook-url", srv.url + "/webhook",
                          "--breaker-failures", "2"], api=dead, timeout=90)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 10}, status_counts(ctx))
    tiers = dict(ctx.query("SELECT tier_used, count(*) FROM messages "
                           "GROUP BY tier_used"))
    check(tiers == {"webhook": 10}, "tier_used: %r" % tiers)
    hooks = srv.delivered("webhook")
    check_order(hooks, texts)
    check(all(h["idempotency_key"] == h["id"] for h in hooks),
          "Idempotency-Key missing")
    check("tier telegram" in err and "skipped" in err, "breaker not logged")
    stats = dict(ctx.query("SELECT name, value FROM mp_stats"))
    check(stats.get("successes_webhook") == 10, "stats: %r" % stats)
    # Telegram answering 5xx fails over the same way.
    c = ctx.connect()
    more = enqueue(c, [201, 202], 2, prefix="w2")
    c.close()
    srv5 = ctx.server("--fail-rate-5xx", "1.0", name="srv5xx")
    rc, _, err = ctx.run(["--drain", "--tiers", "telegram,webhook",
                          "--webhook-url", srv5.url + "/webhook",
                          "--breaker-failures", "2"], api=srv5.url,
                         timeout=90)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 14}, status_counts(ctx))
    check_order(srv5.delivered("webhook"), more)


def t_failover_file(ctx):
    c = ctx.db()
    enqueue(c, [101, 102, 103], 3)
    c.close()
    spool = os.path.join(ctx.dir, "spool")
    os.mkdir(spool)
    dead = "http://127.0.0.1:%d" % free_port()
    rc, _, err = ctx.run(["--drain", "--tiers", "telegram,file",
                          "--spool-dir", spool, "--breaker-failures", "1"],
                         api=dead, timeout=90)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 9}, status_counts(ctx))
    tiers = dict(ctx.query("SELECT tier_used, count(*) FROM messages "
                           "GROUP BY tier_used"))
    check(tiers == {"file": 9}, "tier_used: %r" % tiers)
    ids = {r[0] for r in ctx.query("SELECT id FROM messages")}
    files = [f for f in os.listdir(spool) if f.endswith(".json")]
    check({f[:-5] for f in files} == ids, "spool files: %r" % files)
    check(not [f for f in os.listdir(spool) if f.startswith(".")],
          "temp files left in the spool")
    for f in files:
        with open(os.path.join(spool, f), encoding="utf-8") as fh:
            rec = json.load(fh)
        check(rec["id"] == f[:-5] and rec["text"], "bad spool file " + f)


def t_watch(ctx):
    c = ctx.db()
    has = c.execute("SELECT 1 FROM pragma_function_list WHERE name = "
                    "'mp_enqueue_event'").fetchone()
    c.close()
    if not has:
        raise TestSkip("this mp has no mp_enqueue_event()")
    watch = os.path.join(ctx.dir, "events")
    os.mkdir(watch)
    good = [
        {"type": "task_completion", "title": "Task A done", "event_id": "a"},
        {"type": "build_failed", "title": "Build #7 <failed> & more",
         "description": "exit 1", "event_id": "b"},
        {"type": "approval_request", "title": "Deploy?", "event_id": "c"},
    ]
    for i, ev in enumerate(good):
        with open(os.path.join(watch, "ev%d.json" % i), "w") as f:
            json.dump(ev, f)
    with open(os.path.join(watch, "broken.json"), "w") as f:
        f.write('{"type": "task_completion", "title": ')
    with open(os.path.join(watch, "notype.json"), "w") as f:
        f.write('{"title": "no type"}')
    for name in (".hidden.json", "partial.json.tmp", "notes.txt"):
        with open(os.path.join(watch, name), "w") as f:
            f.write("{}")
    old = time.time() - 60
    for name in os.listdir(watch):
        os.utime(os.path.join(watch, name), (old, old))
    srv = ctx.server()
    rc, _, err = ctx.run(["--once", "--watch", watch, "--chat-id", "4242"],
                         api=srv.url)
    check(rc == 0, "exit code %d: %s" % (rc, err[-1500:]))
    left = sorted(os.listdir(watch))
    check(left == [".hidden.json", "notes.txt", "partial.json.tmp",
                   "rejected"], "left in the watch dir: %r" % left)
    rej = sorted(os.listdir(os.path.join(watch, "rejected")))
    check(rej == ["broken.json", "broken.json.reason", "notype.json",
                  "notype.json.reason"], "rejected/: %r" % rej)
    with open(os.path.join(watch, "rejected", "notype.json.reason")) as f:
        reason = f.read()
    check("type" in reason, "reason does not name the field: " + reason)
    log = srv.delivered()
    check(len(log) == 3 and all(r["chat_id"] == 4242 for r in log),
          "delivered: %r" % log)
    check(any("Build #7 &lt;failed&gt; &amp; more" in r["text"] for r in log),
          "HTML escaping of the title")
    # Live: a file arriving while the runner sleeps is picked up at once.
    p = ctx.spawn(["--watch", watch, "--chat-id", "4242", "--poll-ms",
                   "30000"], api=srv.url)
    time.sleep(0.5)
    tmp = os.path.join(watch, ".late.tmp")
    with open(tmp, "w") as f:
        json.dump({"type": "info_notification", "title": "late",
                   "event_id": "late"}, f)
    os.rename(tmp, os.path.join(watch, "late.json"))
    wait_for(lambda: len(srv.delivered()) == 4, 10, "the late event")
    # The same event again (same event_id): stored once, file still removed.
    with open(tmp, "w") as f:
        json.dump({"type": "info_notification", "title": "late",
                   "event_id": "late"}, f)
    os.rename(tmp, os.path.join(watch, "late2.json"))
    wait_for(lambda: not os.path.exists(os.path.join(watch, "late2.json")),
             10, "late2.json to be consumed")
    p.send_signal(signal.SIGTERM)
    rc, err = ctx.finish(p, 15)
    check(rc == 0, "exit code %d" % rc)
    check(len(srv.delivered()) == 4, "a duplicate event was sent twice")


def t_sigterm(ctx):
    c = ctx.db()
    enqueue(c, list(range(301, 311)), 2)
    c.close()
    srv = ctx.server("--slow-ms", "1000")
    p = ctx.spawn(["--concurrency", "5", "--batch", "10"], api=srv.url)
    wait_for(lambda: srv.request_log() != [], 15, "the first request")
    p.send_signal(signal.SIGTERM)
    t0 = time.time()
    rc, err = ctx.finish(p, 20)
    check(rc == 0, "exit code %d after SIGTERM" % rc)
    counts = status_counts(ctx)
    check(counts.get("sent", 0) == 0, "rows left 'sent': %r" % counts)
    check(counts.get("pending", 0) > 0, "kept claiming after SIGTERM")
    check(counts.get("confirmed", 0) == len(srv.delivered()),
          "delivered and confirmed differ: %r" % counts)
    check(time.time() - t0 < 10, "slow shutdown")
    # Twice: still a clean exit, nothing left 'sent'.
    p = ctx.spawn(["--concurrency", "2", "--batch", "10"], api=srv.url)
    n0 = len(srv.request_log())
    wait_for(lambda: len(srv.request_log()) > n0, 15, "a request")
    p.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    rc, err = ctx.finish(p, 20)
    check(rc == 0, "exit code %d after two signals" % rc)
    counts = status_counts(ctx)
    check(counts.get("sent", 0) == 0, "rows left 'sent': %r" % counts)
    check(counts.get("confirmed", 0) == len(srv.delivered()),
          "delivered and confirmed differ: %r" % counts)


def t_crash(ctx):
    c = ctx.db()
    chats = [401, 402, 403, -404, 405, 406, 407, -1000408]
    texts = enqueue(c, chats, 15)
    c.close()
    total = 8 * 15
    srv = ctx.server("--slow-ms", "20", "--lost-reply-rate", "0.02",
                     "--fail-rate-5xx", "0.02")
    # Kill 1: mid-run, then a new worker name: the leases must expire.
    p = ctx.spawn(["--worker", "w1", "--lease", "2"], api=srv.url)
    wait_for(lambda: len(srv.delivered()) >= total // 4, 30, "deliveries")
    p.kill()
    p.wait()
    p.errf.close()
    sent = status_counts(ctx).get("sent", 0)
    p = ctx.spawn(["--worker", "w2", "--lease", "2"], api=srv.url)
    wait_for(lambda: len(srv.delivered()) >= total // 2, 30, "deliveries")
    # Kill 2: restart with the same worker name: taken back at once.
    p.kill()
    p.wait()
    p.errf.close()
    rc, _, err = ctx.run(["--worker", "w2", "--drain"], api=srv.url,
                         timeout=90)
    check(rc == 0, "exit code %d" % rc)
    check("recovered" in err, "no recovery line")
    check(status_counts(ctx) == {"confirmed": total}, status_counts(ctx))
    log = srv.delivered()
    check_order(log, texts)
    count = collections.Counter(r["text"] for r in log)
    doubt = dict(ctx.query("SELECT message_text, in_doubt FROM messages"))
    dups = [t for t, n in count.items() if n > 1]
    for t in dups:
        check(doubt[t] == 1, "duplicate without in_doubt: " + t)
    print("  crash: %d messages, %d left 'sent' by the first kill, %d "
          "duplicates (all in_doubt)" % (total, sent, len(dups)))


def t_pacing(ctx):
    c = ctx.db({"retry_interval_seconds": 1})
    chats = list(range(501, 541))
    texts = enqueue(c, chats, 1)
    texts.update(enqueue(c, [601, 602, -603], 4, prefix="p"))
    c.close()
    # mp paces at claim time, widening windows by 2%; the first requests
    # also open connections, which may delay them by tens of ms (more under
    # sanitizers), so the server allows 100 ms of jitter.
    srv = ctx.server("--enforce-limits", "--limit-slack-ms", "100")
    t0 = time.time()
    rc, _, err = ctx.run(["--drain"], api=srv.url, timeout=90)
    check(rc == 0, "exit code %d" % rc)
    check(status_counts(ctx) == {"confirmed": 52}, status_counts(ctx))
    limited = [r for r in srv.request_log() if r["status"] == 429]
    check(not limited, "the server had to answer 429: %r" % limited[:3])
    check_order(srv.delivered(), texts)
    check(time.time() - t0 >= 2.5, "pacing not applied")


def t_pacing_rates(ctx):
    """Telegram's default limits, measured: zero 429s from a server that
    enforces them, and each limit reached to at least 90%."""
    c = ctx.db({"retry_interval_seconds": 1})  # mp's pacing defaults
    limits = c.execute("SELECT mp_config('pace_chat_ms'), "
                       "mp_config('pace_group_per_minute'), "
                       "mp_config('pace_global_per_second')").fetchone()
    check(limits == (1000, 20, 30), "not Telegram's limits: %r"
          % (limits,))
    # Enqueued first, so each is claimed as soon as its limit allows: one
    # private chat (1/s), one group (20/min), then enough private chats to
    # keep the global limit (30/s) busy for about 10 s.
    chat, group = 700001, -100700002
    texts = enqueue(c, [chat], 20, prefix="c")
    texts.update(enqueue(c, [group], 21, prefix="g"))
    bulk = list(range(710000, 710150))
    texts.update(enqueue(c, bulk, 2, prefix="b"))
    c.close()
    total = 20 + 21 + 300
    # The server's default 50 ms of slack for the time requests take.
    srv = ctx.server("--enforce-limits")
    rc, _, err = ctx.run(["--drain"], api=srv.url, timeout=150)
    check(rc == 0, "exit code %d: %s" % (rc, err[-2000:]))
    check(status_counts(ctx) == {"confirmed": total}, status_counts(ctx))
    reqs = srv.request_log()
    limited = [r for r in reqs if r["status"] == 429]
    check(not limited, "the server answered 429 %d times: %r"
          % (len(limited), limited[:3]))
    check_order(srv.delivered(), texts)
    sent = sorted((r["time"], r["chat_id"]) for r in reqs
                  if r["status"] == 200)
    # Per chat: 1 per second at most. While the bulk keeps the global limit
    # busy, the chat also waits for global slots, so its rate is measured
    # on the sends after the bulk is done (8 or so).
    t_bulk_end = max(t for t, ch in sent if ch in set(bulk))
    t_all_chat = [t for t, ch in sent if ch == chat]
    gaps = [b - a for a, b in zip(t_all_chat, t_all_chat[1:])]
    t_chat = [t for t in t_all_chat if t > t_bulk_end]
    check(len(t_chat) >= 5, "the chat's messages went out during the bulk: "
          "%r" % t_all_chat)
    chat_rate = (len(t_chat) - 1) / (t_chat[-1] - t_chat[0])
    # Group: 20 per minute, so the 21st waits for the first to be a minute
    # old; 20 sends in (t21 - t1) seconds.
    t_group = [t for t, ch in sent if ch == group]
    group_rate = 20 * 60.0 / (t_group[20] - t_group[0])
    # Global: 30 per second at most, so at most 240 in any 8 s; the bulk
    # keeps it busy for more than 10 s. mp's sliding window sends each
    # second's 30 together, so count whole seconds from the first send.
    t_all = [t for t, _ in sent]
    global_rate = sum(1 for t in t_all if t < t_all[0] + 8.0) / 8.0
    peak = max(sum(1 for u in t_all if t <= u < t + 1.0) for t in t_all)
    print("  pacing_rates: chat %.3f/s (limit 1, min gap %.3f s), group "
          "%.2f/min (limit 20), global %.2f/s (limit 30, busiest second "
          "%d), 0 x 429" % (chat_rate, min(gaps), group_rate, global_rate,
                            peak))
    check(chat_rate >= 0.9, "chat rate %.3f/s is under 90%% of 1/s"
          % chat_rate)
    check(group_rate >= 18, "group rate %.2f/min is under 90%% of 20/min"
          % group_rate)
    check(global_rate >= 27, "global rate %.2f/s is under 90%% of 30/s"
          % global_rate)


def t_status(ctx):
    c = ctx.db()
    enqueue(c, [101], 3)
    c.close()
    srv = ctx.server("--blocked-chat", "999")
    rc, _, _ = ctx.run(["--once"], api=srv.url)
    check(rc == 0, "exit code %d" % rc)
    rc, out, err = ctx.run(["status"], token=None)
    check(rc == 0, "status exit code %d: %s" % (rc, err))
    lines = dict(line.split(None, 1) for line in out.splitlines()[1:]
                 if line.strip())
    check(lines.get("confirmed", "").strip() == "3", "status: " + out)
    check("pending" in lines and "database_size_bytes" in lines, out)
    rc, out, err = ctx.run(["status", "--db", os.path.join(ctx.dir, "nope")],
                           token=None, db=False)
    check(rc == 2, "missing database: exit %d" % rc)
    check(not os.path.exists(os.path.join(ctx.dir, "nope")),
          "status created a database")
    rc, out, err = ctx.run(["--help"], token=None, db=False)
    check(rc == 0 and "Exit codes" in out, "--help")
    rc, out, err = ctx.run(["--version"], token=None, db=False)
    check(rc == 0 and out.startswith("mp-runner "), "--version")
    rc, out, err = ctx.run(["--bogus"], token=None)
    check(rc == 1, "unknown option: exit %d" % rc)
    rc, out, err = ctx.run(["--once"], token=None)
    check(rc == 1 and "TELEGRAM_BOT_TOKEN" in err, "missing token")


TESTS = {
    "happy": t_happy, "429": t_429, "5xx": t_5xx, "dropped": t_dropped,
    "reuse_lost": t_reuse_lost,
    "403": t_403, "migrate": t_migrate, "401": t_401, "secrets": t_secrets,
    "modes": t_modes, "failover_webhook": t_failover_webhook,
    "failover_file": t_failover_file, "watch": t_watch, "sigterm": t_sigterm,
    "crash": t_crash, "pacing": t_pacing, "pacing_rates": t_pacing_rates,
    "status": t_status,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", required=True)
    ap.add_argument("--ext", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--keep", action="store_true",
                    help="keep the directories of passing tests")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("tests", nargs="*")
    opts = ap.parse_args()
    if opts.list:
        print("\n".join(TESTS))
        return 0
    names = list(TESTS) if opts.tests in ([], ["all"]) else opts.tests
    failed = skipped = 0
    for name in names:
        if name not in TESTS:
            print("unknown test %s" % name)
            return 2
        ctx = Ctx(opts, name)
        t0 = time.time()
        ok = False
        try:
            TESTS[name](ctx)
            ok = True
            print("ok   %-18s %5.1f s" % (name, time.time() - t0))
        except TestSkip as e:
            ok = True
            skipped += 1
            print("SKIP %-18s %s" % (name, e))
        except Exception as e:  # report and keep the directory
            failed += 1
            print("FAIL %-18s %s" % (name, e))
            traceback.print_exc()
            print("     files kept in %s" % ctx.dir)
        finally:
            ctx.cleanup(ok)
    return 1 if failed else 77 if skipped == len(names) else 0


if __name__ == "__main__":
    sys.exit(main())
