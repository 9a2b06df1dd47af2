#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Throughput, peak memory and a memory soak of mp-runner.

Usage:

    # Drain: enqueue N messages, time `mp-runner --drain` against the fast
    # local Bot API server (pacing off), check that every one was confirmed.
    python3 tests/runner/throughput.py --runner build/mp-runner \
        --ext build/mp.so --server build/fast_botapi [-n 100000] \
        [--chats 1000] [--concurrency 32] [--batch 64] [--check-order] \
        [--min-rate 5000] [--max-rss-mib 16] [--json result.json]

    # Soak: run the runner as a daemon for M minutes while producing
    # --rate messages a second, sample its RSS every --sample-s seconds and
    # fail when it keeps growing.
    python3 tests/runner/throughput.py ... --minutes 10 [--rate 4000]

The database is prepared through mp.so loaded into Python's sqlite3, with
pacing off (mp_init('{"pace_chat_ms":0,"pace_group_per_minute":0,
"pace_global_per_second":0}')), and filled with mp_enqueue_batch() in
chunks of --chunk messages spread round-robin over --chats chats (every
tenth a group, with a negative id).

Measured:

    msg/s        N / the runner's wall time (process start to exit,
                 including the start-up and the final drain check)
    steady msg/s N / (last - first message seen by the server)
    peak RSS     the runner's VmHWM: sampled from /proc/<pid>/status every
                 20 ms, and the runner's own reading at exit (its last log
                 line). Not wait4()'s ru_maxrss: Linux counts in it the
                 memory of the forked Python before the exec.
    confirmed    every message 'confirmed' in the database, and the server
                 saw exactly N messages (no duplicates); with --check-order
                 each chat's messages reached the server in enqueue order

Soak: after a warm-up (a sixth of the run, at most 60 s), the samples are
split into thirds; the run fails when the highest RSS of the last third
exceeds the highest of the first third by more than max(1 MiB, 5%). The
driver deletes confirmed messages every 20 s with mp_cleanup(0), as
retention would, so the database stays small. At the end the runner is
stopped with SIGTERM, a --drain run delivers the rest, and every message
produced must be confirmed (or cleaned after confirmation).

Exit status: 0 when every check passed, 1 otherwise.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "123456:THROUGHPUT-token"
PACING_OFF = {"pace_chat_ms": 0, "pace_group_per_minute": 0,
              "pace_global_per_second": 0}


def mib(kib):
    return kib / 1024.0


def proc_status(pid):
    """VmRSS and VmHWM of pid in KiB, or None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:",
                            "RssShmem:")):
            key, val = line.split(":", 1)
            out[key] = int(val.split()[0])
    return out if "VmHWM" in out else None


class Server:
    """fast_botapi as a child process."""

    def __init__(self, path, log=None):
        cmd = [path, "--port", "0", "--token", TOKEN]
        if log:
            cmd += ["--log", log]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise SystemExit("fast_botapi did not start: %r" % line)
        self.url = "http://127.0.0.1:%d" % int(line.split()[1])

    def stop(self):
        """Stops it; returns its counters."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out = self.proc.stdout.read()
        self.proc.wait(10)
        self.proc.stdout.close()
        for line in out.splitlines():
            if line.startswith("{"):
                return json.loads(line)
        return {}


def connect(ext, path, config=None):
    c = sqlite3.connect(path, timeout=30, isolation_level=None)
    c.enable_load_extension(True)
    c.load_extension(os.path.splitext(ext)[0])
    c.enable_load_extension(False)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    if config is not None:
        c.execute("BEGIN IMMEDIATE")
        c.execute("SELECT mp_init(?)", (json.dumps(config),))
        c.execute("COMMIT")
    return c


def chat_of(i, chats):
    k = i % chats
    return -(2000000 + k) if k % 10 == 9 else 1000000 + k


class Producer:
    """Enqueues numbered messages with mp_enqueue_batch()."""

    def __init__(self, conn, chats, chunk):
        self.c = conn
        self.chats = chats
        self.chunk = chunk
        self.n = 0

    def add(self, count):
        while count > 0:
            k = min(count, self.chunk)
            arr = [{"chat_id": chat_of(i, self.chats),
                    "text": "throughput message %d of chat %d"
                            % (i, chat_of(i, self.chats))}
                   for i in range(self.n, self.n + k)]
            ids = json.loads(self.c.execute(
                "SELECT mp_enqueue_batch(?)",
                (json.dumps(arr, separators=(",", ":")),)).fetchone()[0])
            if len(ids) != k:
                raise SystemExit("mp_enqueue_batch returned %d ids for %d"
                                 % (len(ids), k))
            self.n += k
            count -= k


def runner_env(opts):
    env = dict(os.environ)
    if env.pop("LD_PRELOAD", None) is not None:
        # A sanitizer build: the runner has its runtime; check its leaks.
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    env["TELEGRAM_BOT_TOKEN"] = TOKEN
    env["MP_LOG"] = opts.log_level
    return env


def runner_cmd(opts, db, url, extra):
    return ([opts.runner, "--db", db, "--api-url", url,
             "--concurrency", str(opts.concurrency),
             "--batch", str(opts.batch)] + extra + list(opts.runner_arg))


def status_counts(conn):
    return dict(conn.execute("SELECT status, count(*) FROM messages "
                             "GROUP BY status").fetchall())


def check_order(log_path, failures):
    """Each chat's messages reached the server in enqueue order."""
    last = {}
    bad = 0
    with open(log_path, encoding="utf-8") as f:
        for line in f:
            body = json.loads(line)
            text = body["text"]
            i = int(text.split()[2])
            chat = body["chat_id"]
            if i <= last.get(chat, -1):
                bad += 1
            last[chat] = i
    if bad:
        failures.append("%d messages out of per-chat order" % bad)
    return bad


def drain(opts, tmp, result, failures):
    db = os.path.join(tmp, "q.db")
    c = connect(opts.ext, db, PACING_OFF)
    prod = Producer(c, opts.chats, opts.chunk)
    t0 = time.time()
    prod.add(opts.n)
    t_enq = time.time() - t0
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result["enqueue_msg_per_s"] = round(opts.n / t_enq)
    log = os.path.join(tmp, "server.jsonl") if opts.check_order else None
    srv = Server(opts.server, log)
    errf = open(os.path.join(tmp, "runner.log"), "w+")
    t0 = time.time()
    p = subprocess.Popen(runner_cmd(opts, db, srv.url, ["--drain"]),
                         env=runner_env(opts), stdout=subprocess.DEVNULL,
                         stderr=errf)
    hwm = rss = 0
    status = None
    while True:
        st = proc_status(p.pid)
        if st:
            hwm = max(hwm, st["VmHWM"])
            rss = st
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() - t0 > opts.timeout:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            failures.append("the runner did not finish in %d s"
                            % opts.timeout)
            break
        time.sleep(0.02)
    elapsed = time.time() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    stats = srv.stop()
    errf.seek(0)
    err = errf.read()
    errf.close()
    m = re.search(r"peak RSS (\d+) KiB", err)
    if m:
        hwm = max(hwm, int(m.group(1)))
    if p.returncode != 0:
        failures.append("runner exit code %d: %s" % (p.returncode,
                                                     err[-2000:]))
    counts = status_counts(c)
    c.close()
    if counts != {"confirmed": opts.n}:
        failures.append("not all confirmed: %r" % counts)
    if stats.get("messages") != opts.n:
        failures.append("the server saw %r messages, not %d"
                        % (stats.get("messages"), opts.n))
    if opts.check_order and log:
        result["out_of_order"] = check_order(log, failures)
    span = (stats.get("last_ms", 0) - stats.get("first_ms", 0)) / 1000.0
    result.update({
        "messages": opts.n, "chats": opts.chats,
        "concurrency": opts.concurrency, "batch": opts.batch,
        "runner_args": list(opts.runner_arg),
        "seconds": round(elapsed, 3),
        "msg_per_s": round(opts.n / elapsed),
        "steady_msg_per_s": round(opts.n / span) if span > 0 else None,
        "peak_rss_kib": hwm, "last_rss": rss,
        "runner_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "runner_cpu_us_per_msg": round((usage.ru_utime + usage.ru_stime)
                                       * 1e6 / opts.n, 1),
        "server_cpu_s": stats.get("cpu_s"),
        "server_connections": stats.get("connections"),
        "confirmed": counts.get("confirmed", 0),
    })
    print("drain: %d messages, %d chats, concurrency %d, batch %d%s"
          % (opts.n, opts.chats, opts.concurrency, opts.batch,
             (" " + " ".join(opts.runner_arg)) if opts.runner_arg else ""))
    print("  enqueue      %8d msg/s (mp_enqueue_batch, chunks of %d)"
          % (result["enqueue_msg_per_s"], opts.chunk))
    print("  runner       %8d msg/s (%.2f s wall; CPU %.2f s, %.0f us/msg; "
          "server CPU %s s)"
          % (result["msg_per_s"], elapsed, result["runner_cpu_s"],
             result["runner_cpu_us_per_msg"], stats.get("cpu_s")))
    if result["steady_msg_per_s"]:
        print("  steady       %8d msg/s (first to last message at the "
              "server)" % result["steady_msg_per_s"])
    print("  peak RSS     %8.2f MiB (VmHWM)" % mib(hwm))
    print("  confirmed    %8d of %d; server saw %s, over %s connections"
          % (counts.get("confirmed", 0), opts.n, stats.get("messages"),
             stats.get("connections")))
    if opts.min_rate and result["msg_per_s"] < opts.min_rate:
        failures.append("%d msg/s is below --min-rate %d"
                        % (result["msg_per_s"], opts.min_rate))
    if opts.max_rss_mib and mib(hwm) > opts.max_rss_mib:
        failures.append("peak RSS %.2f MiB is above --max-rss-mib %g"
                        % (mib(hwm), opts.max_rss_mib))


class Sampler(threading.Thread):
    """Samples the runner's memory every period seconds."""

    def __init__(self, pid, period):
        super().__init__(daemon=True)
        self.pid = pid
        self.period = period
        self.samples = []  # (seconds since start, VmRSS KiB, VmHWM KiB)
        self.stop_event = threading.Event()
        self.t0 = time.time()

    def run(self):
        while not self.stop_event.is_set():
            st = proc_status(self.pid)
            if st is None:
                return
            self.samples.append((round(time.time() - self.t0, 1),
                                 st["VmRSS"], st["VmHWM"],
                                 st.get("RssAnon", 0), st.get("RssFile", 0)))
            self.stop_event.wait(self.period)


def growth_verdict(samples, duration):
    """(growing?, text) from the samples, see the module header."""
    warm = min(60.0, duration / 6.0)
    post = [s for s in samples if s[0] >= warm]
    if len(post) < 6:
        return False, "too few samples to judge (%d)" % len(post)
    third = len(post) // 3
    first = max(s[1] for s in post[:third])
    last = max(s[1] for s in post[-third:])
    allowed = max(1024, first * 0.05)
    n = len(post)
    mx = sum(s[0] for s in post) / n
    my = sum(s[1] for s in post) / n
    var = sum((s[0] - mx) ** 2 for s in post)
    slope = (sum((s[0] - mx) * (s[1] - my) for s in post) / var
             if var else 0.0)
    text = ("after %.0f s warm-up: max RSS first third %.2f MiB, last third "
            "%.2f MiB (allowed +%.2f MiB); trend %+.1f KiB/min"
            % (warm, mib(first), mib(last), mib(allowed), slope * 60))
    return last > first + allowed, text


def soak(opts, tmp, result, failures):
    db = os.path.join(tmp, "q.db")
    c = connect(opts.ext, db, PACING_OFF)
    prod = Producer(c, opts.chats, opts.chunk)
    prod.add(min(opts.rate, 10000))
    srv = Server(opts.server)
    errf = open(os.path.join(tmp, "runner.log"), "w+")
    duration = opts.minutes * 60.0
    p = subprocess.Popen(runner_cmd(opts, db, srv.url, []),
                         env=runner_env(opts), stdout=subprocess.DEVNULL,
                         stderr=errf)
    sampler = Sampler(p.pid, opts.sample_s)
    sampler.start()
    t0 = time.time()
    produced0 = prod.n
    next_clean = t0 + 20
    next_report = t0 + 60
    cleaned = 0
    backlog_max = 0
    while time.time() - t0 < duration and p.poll() is None:
        now = time.time()
        want = produced0 + int((now - t0) * opts.rate)
        backlog = c.execute("SELECT value FROM mp_stats WHERE name = "
                            "'pending'").fetchone()[0]
        backlog_max = max(backlog_max, backlog)
        if want > prod.n and backlog < opts.rate * 5:
            prod.add(min(want - prod.n, opts.rate))
        if now >= next_clean:
            cleaned += c.execute("SELECT mp_cleanup(0)").fetchone()[0]
            next_clean = now + 20
        if now >= next_report and sampler.samples:
            s = sampler.samples[-1]
            print("  %4.0f s: produced %d, backlog %d, RSS %.2f MiB "
                  "(peak %.2f)" % (now - t0, prod.n, backlog, mib(s[1]),
                                   mib(s[2])), flush=True)
            next_report = now + 60
        time.sleep(0.1)
    soak_s = time.time() - t0
    produced_in_soak = prod.n - produced0
    if p.poll() is not None:
        failures.append("the runner exited early with code %d"
                        % p.returncode)
    else:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            failures.append("the runner did not stop on SIGTERM")
    sampler.stop_event.set()
    sampler.join()
    if p.returncode != 0:
        failures.append("runner exit code %d" % p.returncode)
    # Deliver the rest, then every message produced must be confirmed.
    rc = subprocess.run(runner_cmd(opts, db, srv.url, ["--drain"]),
                        env=runner_env(opts), stdout=subprocess.DEVNULL,
                        stderr=errf, timeout=600).returncode
    if rc != 0:
        failures.append("final drain: exit code %d" % rc)
    stats = srv.stop()
    errf.close()
    counts = status_counts(c)
    cleaned_total = c.execute("SELECT value FROM mp_stats WHERE name = "
                              "'messages_cleaned'").fetchone()[0]
    db_size = os.path.getsize(db)
    c.close()
    confirmed = counts.get("confirmed", 0) + cleaned_total
    if set(counts) - {"confirmed"} or confirmed != prod.n:
        failures.append("produced %d, confirmed %d (+ cleaned), left %r"
                        % (prod.n, confirmed, counts))
    if stats.get("messages") != prod.n:
        failures.append("the server saw %r messages, not %d"
                        % (stats.get("messages"), prod.n))
    growing, verdict = growth_verdict(sampler.samples, soak_s)
    if growing:
        failures.append("RSS keeps growing: " + verdict)
    samples = sampler.samples
    # The first samples see the process before and while it starts.
    warm = min(60.0, soak_s / 6.0)
    steady = [s for s in samples if s[0] >= warm] or samples
    result.update({
        "minutes": opts.minutes, "rate_target": opts.rate,
        "produced": prod.n, "produced_msg_per_s": round(produced_in_soak
                                                        / soak_s),
        "backlog_max": backlog_max, "cleaned": cleaned_total,
        "db_bytes_at_end": db_size,
        "concurrency": opts.concurrency, "batch": opts.batch,
        "runner_args": list(opts.runner_arg),
        "rss_first_kib": steady[0][1] if samples else None,
        "rss_last_kib": steady[-1][1] if samples else None,
        "rss_min_kib": min(s[1] for s in steady) if samples else None,
        "rss_max_kib": max(s[1] for s in steady) if samples else None,
        "peak_rss_kib": max(s[2] for s in samples) if samples else None,
        "verdict": verdict, "samples": samples,
    })
    print("soak: %.1f min at %d msg/s target, concurrency %d, batch %d%s"
          % (soak_s / 60, opts.rate, opts.concurrency, opts.batch,
             (" " + " ".join(opts.runner_arg)) if opts.runner_arg else ""))
    print("  produced     %d (%d msg/s), max backlog %d, cleaned %d"
          % (prod.n, result["produced_msg_per_s"], backlog_max,
             cleaned_total))
    if samples:
        print("  RSS          after warm-up: first %.2f, min %.2f, max %.2f, "
              "last %.2f MiB; peak (VmHWM) %.2f MiB; %d samples"
              % (mib(result["rss_first_kib"]), mib(result["rss_min_kib"]),
                 mib(result["rss_max_kib"]), mib(result["rss_last_kib"]),
                 mib(result["peak_rss_kib"]), len(samples)))
    print("  growth       " + verdict)
    print("  confirmed    %d of %d produced; server saw %s"
          % (confirmed, prod.n, stats.get("messages")))
    if opts.max_rss_mib and result["peak_rss_kib"] and \
            mib(result["peak_rss_kib"]) > opts.max_rss_mib:
        failures.append("peak RSS %.2f MiB is above --max-rss-mib %g"
                        % (mib(result["peak_rss_kib"]), opts.max_rss_mib))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", required=True)
    ap.add_argument("--ext", required=True)
    ap.add_argument("--server", required=True, help="fast_botapi binary")
    ap.add_argument("-n", type=int, default=100000, help="messages (drain)")
    ap.add_argument("--chats", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--runner-arg", action="append", default=[],
                    help="extra runner option (repeatable)")
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--check-order", action="store_true")
    ap.add_argument("--min-rate", type=float, default=0)
    ap.add_argument("--max-rss-mib", type=float, default=0)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--minutes", type=float, default=0,
                    help="soak for this long instead of a drain")
    ap.add_argument("--rate", type=int, default=4000,
                    help="messages per second produced in the soak")
    ap.add_argument("--sample-s", type=float, default=5.0)
    ap.add_argument("--json", help="write the result here")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mp-throughput-")
    result = {}
    failures = []
    try:
        if opts.minutes > 0:
            soak(opts, tmp, result, failures)
        else:
            drain(opts, tmp, result, failures)
    finally:
        if opts.json:
            result["failures"] = failures
            with open(opts.json, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=1)
        if failures or opts.keep:
            print("  files kept in " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
