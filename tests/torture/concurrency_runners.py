#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""4 producer processes and 2 runners on one WAL database, sustained.

    python3 tests/torture/concurrency_runners.py --runner build/mp-runner \\
        --ext build/mp.so --server tests/botapi/fake_botapi.py  # ~15 s (CI)
    python3 tests/torture/concurrency_runners.py ... --seconds 60 --rate 60

For --seconds, --producers processes (half of them one message per
transaction, half in BEGIN IMMEDIATE batches) each enqueue --rate
messages per second over --chats chats plus a blocked one, while
--runners mp-runner daemons (--worker wA, wB, ...) deliver to the fake Bot
API server with faults (5xx, 429, dropped connections, lost replies, slow
replies). --kills times (default 2) the first runner is SIGKILLed and
restarted with the same --worker while the other goes on: its start-up
mp_recover(worker) must take back only its own leases. When every row is
terminal the runners get SIGTERM and must exit 0. Then:

  * no double claim: the attempts of one message (mp_attempt: reported at
    at_ms after duration_ms) never overlap in time, and a message
    delivered twice is in doubt (its reply was lost or dropped);
  * none lost, nothing unexpected, per-chat order of first deliveries is
    seq order, the blocked chat's rows failed with the reason, database
    intact, mp_stats exact (the checker of common.py);
  * no process printed SQLITE_BUSY / "database is locked", and every
    producer finished without an error;
  * each runner delivered a share of the messages.

It reports the throughput: enqueues acked per second, deliveries per
second while the producers ran, and the enqueue-to-delivery latency.
Exit status: 0 all held, 1 a violation (files kept).
"""

import collections
import os
import random
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Failure  # noqa: E402


def parse_args():
    ap = common.arg_parser(__doc__, drain_timeout=120, fail_5xx=0.02,
                           rate_429=0.005, drop=0.01, lost_reply=0.01,
                           slow_rate=0.05, slow_ms=50)
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--producers", type=int, default=4)
    ap.add_argument("--runners", type=int, default=2)
    ap.add_argument("--rate", type=float, default=25,
                    help="messages per second per producer")
    ap.add_argument("--chats", type=int, default=40)
    ap.add_argument("--kills", type=int, default=2,
                    help="SIGKILL the first runner this many times while "
                    "the producers run, restarting it with the same "
                    "--worker (its recovery must not touch the other's)")
    return ap.parse_args()


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def run(opts, h):
    rng = random.Random(opts.seed)
    chats = common.make_chats(opts.chats, rng)
    blocked = 8888
    common.init_db(h.db_path, opts.ext)
    h.start_faulty_server(opts, blocked)
    workers = ["w%c" % (ord("A") + i) for i in range(opts.runners)]

    def spawn(w):
        p = h.spawn_runner(["--worker", w, "--concurrency", opts.concurrency,
                            "--batch", opts.concurrency, "--poll-ms", 200,
                            "--lease", 60, "--timeout-ms", 10000],
                           level="debug")
        p.worker = w
        return p

    runners = [spawn(w) for w in workers]
    killed = []
    kill_at = sorted(rng.uniform(0.1, 0.9) * opts.seconds
                     for _ in range(opts.kills))
    count = int(opts.rate * opts.seconds)
    t0 = time.time()
    producers = [h.start_producer(k, count, chats + [blocked], opts.seed,
                                  rate=opts.rate,
                                  batch=1 if k % 2 == 0 else 5)
                 for k in range(opts.producers)]
    while any(p.poll() is None for p in producers):
        h.check_producers(producers)
        if kill_at and time.time() - t0 >= kill_at[0]:
            kill_at.pop(0)
            # Right after a request reached the server, so that the victim
            # more likely has requests on the wire.
            n0, end = h.request_count(), time.time() + 1.0
            while h.request_count() == n0 and time.time() < end:
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.01))
            victim = runners[0]
            h.kill(victim)
            killed.append(victim)
            runners[0] = spawn(victim.worker)
        for r in runners:
            if r.poll() is not None:
                raise Failure("%s exited by itself with %d:\n%s"
                              % (r.name, r.returncode,
                                 h.runner_output(r)[-3000:]))
        time.sleep(0.1)
    t_produced = time.time()
    problems = []
    for k in killed:
        common.check_runner_output(k.name, h.runner_output(k), problems)
    for p in producers:
        err = h.finish_producer(p, 10)
        for line in err.splitlines():
            if common.BUSY_RE.search(line):
                problems.append("%s: %s" % (p.name, line))

    # Wait until every row is terminal, then stop the runners.
    c = common.connect(h.db_path, opts.ext)
    end = time.time() + opts.drain_timeout
    while True:
        left = c.execute("SELECT count(*) FROM messages WHERE status IN "
                         "('pending', 'sent')").fetchone()[0]
        if left == 0:
            break
        if time.time() > end:
            problems.append("%d rows still pending/sent after %d s"
                            % (left, opts.drain_timeout))
            break
        time.sleep(0.2)
    c.close()
    t_drained = time.time()
    for r in runners:
        if r.poll() is None:
            os.kill(r.pid, signal.SIGTERM)
    for r in runners:
        rc, out = h.finish(r, 30)
        common.check_runner_output(r.name, out, problems)
        if rc != 0:
            problems.append("%s exited with %d after SIGTERM" % (r.name, rc))

    acks = common.read_acks([p.ack for p in producers], problems)
    delivered = h.delivered()
    fig = common.check_total_queue(h.db_path, opts.ext, acks, delivered,
                                   {blocked}, problems, check_overlap=True)

    # Who delivered what: each runner logs its confirmations (debug).
    conf_re = re.compile(r"message (\S+) chat \S+: confirmed via")
    by_worker = {}
    confirmed_by = collections.defaultdict(set)
    for r in killed + runners:
        ids = conf_re.findall(h.runner_output(r))
        by_worker[r.worker] = by_worker.get(r.worker, 0) + len(ids)
        for i in ids:
            confirmed_by[i].add(r.worker)
    both = [i for i, ws in confirmed_by.items() if len(ws) > 1]
    if both:
        problems.append("confirmed by two runners: %r" % both[:5])
    for w, n in by_worker.items():
        if n == 0:
            problems.append("runner %s delivered nothing" % w)
    fig["confirmed_per_runner"] = by_worker
    fig["runner_kills"] = len(killed)

    # Throughput.
    produce_s = t_produced - t0
    fig["producers"] = opts.producers
    fig["runners"] = opts.runners
    fig["produce_seconds"] = round(produce_s, 1)
    fig["enqueue_per_second"] = round(len(acks) / produce_s, 1)
    times = [d["time"] for d in delivered]
    in_window = sum(1 for t in times if t <= t_produced)
    fig["deliveries_per_second_while_producing"] = round(
        in_window / produce_s, 1)
    if times:
        fig["deliveries_per_second_overall"] = round(
            len(times) / max(1e-3, max(times) - t0), 1)
    fig["drain_after_producers_seconds"] = round(t_drained - t_produced, 1)
    first = {}
    for d in delivered:
        first.setdefault(d["text"], d["time"])
    lat = [1000 * (first[t] - a["t"]) for t, a in acks.items() if t in first]
    fig["latency_ms_p50_p99_max"] = [
        round(percentile(lat, 50) or 0), round(percentile(lat, 99) or 0),
        round(max(lat) if lat else 0)]
    fig["seed"] = opts.seed
    return fig, problems


def main():
    opts = parse_args()
    return common.main(
        "concurrency", opts, "%d producers x %.0f msg/s for %.0f s, "
        "%d runners, seed %d" % (opts.producers, opts.rate, opts.seconds,
                                 opts.runners, opts.seed), run)


if __name__ == "__main__":
    sys.exit(main())
