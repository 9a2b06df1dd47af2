#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Kill -9 torture of mp-runner, checked like Jepsen checks a total queue.

    python3 tests/torture/torture.py --runner build/mp-runner \\
        --ext build/mp.so --server tests/botapi/fake_botapi.py    # CI size
    python3 tests/torture/torture.py ... --messages 10000 --kills 120 \\
        --seed 7                                                  # long run

What happens:

 1. The database is created with pacing off and near-unlimited retries
    (mp_init, see common.FAST), and the fake Bot API server starts with
    random faults: 5xx, 429 with retry_after 1, connections dropped after
    the request was read (--drop-rate: not delivered), replies lost after
    delivery (--lost-reply-rate: delivered, the runner cannot know), slow
    replies, and one blocked chat (403).
 2. --producers processes enqueue --messages unique texts "p<k>-<n>" over
    --chats chats (private, group and supergroup ids, plus the blocked
    chat), some one message per transaction, some in batches.
 3. mp-runner (daemon mode, --worker torture) is started and SIGKILLed
    --kills times, at random moments drawn from --seed: mostly after a
    random number of server requests plus a random sub-delay (so kills
    fall while requests are on the wire, between a reply and its report,
    inside commits), some within the first 150 ms (start-up, mp_init,
    mp_recover). A runner that exits by itself in this phase fails the
    test.
 4. The runner is restarted once more with --drain and must exit 0.
 5. The checker (common.check_total_queue) compares the producers' acks,
    the server's delivery log and the database: lost = 0, unexpected = 0,
    duplicates only for rows in doubt, per-chat first deliveries in seq
    order, nothing left pending/sent, the blocked chat's rows failed with
    Telegram's reason, integrity_check ok, mp_verify() = 0, mp_stats exact,
    each confirmed row confirmed by exactly one attempt whose message_id
    the server gave to that very text.

Exit status: 0 all held, 1 a violation (files kept and listed), 2 usage.
"""

import os
import random
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Failure, log  # noqa: E402


def parse_args():
    ap = common.arg_parser(__doc__, drain_timeout=240, fail_5xx=0.03,
                           rate_429=0.01, drop=0.02, lost_reply=0.02,
                           slow_rate=0.1, slow_ms=40)
    ap.add_argument("--messages", type=int, default=1500)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--producers", type=int, default=3)
    ap.add_argument("--chats", type=int, default=30,
                    help="chats besides the blocked one")
    ap.add_argument("--blocked-share", type=float, default=0.02,
                    help="share of the messages sent to the blocked chat")
    ap.add_argument("--produce-seconds", type=float, default=4.0,
                    help="spread the enqueues over this long (0: at once)")
    ap.add_argument("--time-limit", type=float, default=0,
                    help="fail if the whole run takes longer (0: no limit)")
    return ap.parse_args()


def kill_plan(rng, kills, expected_requests):
    """(kind, value) per kill: ("early", seconds after the start) or
    ("after", requests to wait for, then a sub-delay in seconds)."""
    plan = []
    mean = max(1.0, expected_requests / max(1, kills))
    for _ in range(kills):
        if rng.random() < 0.15:
            plan.append(("early", rng.uniform(0.0, 0.15), 0.0))
        else:
            plan.append(("after", rng.randint(1, max(1, int(2 * mean))),
                         rng.uniform(0.0, 0.03)))
    return plan


def run(opts, h):
    rng = random.Random(opts.seed)
    t_start = time.time()
    chats = common.make_chats(opts.chats, rng)
    blocked = -1009999999999 if opts.seed % 2 else 9999
    common.init_db(h.db_path, opts.ext)
    h.start_faulty_server(opts, blocked)

    # The blocked chat gets about blocked_share of the messages: it is in
    # each producer's list often enough.
    weight = max(1, int(round(opts.blocked_share * len(chats)
                              / max(1e-9, 1 - opts.blocked_share))))
    pchats = chats + [blocked] * weight if opts.blocked_share > 0 else chats
    per = [opts.messages // opts.producers] * opts.producers
    per[0] += opts.messages - sum(per)
    producers = []
    for k in range(opts.producers):
        rate = per[k] / opts.produce_seconds if opts.produce_seconds > 0 \
            else 0.0
        producers.append(h.start_producer(k, per[k], pchats, opts.seed,
                                          rate=rate,
                                          batch=1 if k % 2 == 0 else 7))

    faults = opts.fail_5xx + opts.rate_429 + opts.drop + opts.lost_reply
    expected = int(opts.messages * (1 + 2 * faults))
    plan = kill_plan(rng, opts.kills, expected)
    args = ["--worker", "torture", "--concurrency", opts.concurrency,
            "--batch", opts.concurrency, "--lease", 30, "--poll-ms", 200,
            "--timeout-ms", 5000, "--connect-timeout-ms", 2000]
    problems = []
    kills_done = 0
    idle_kills = 0
    for i, (kind, value, sub) in enumerate(plan):
        h.check_producers(producers)
        n0 = h.request_count()
        p = h.spawn_runner(args)
        if kind == "early":
            time.sleep(value)
        else:
            # Wait for the requests; a runner that makes no progress for
            # 2 s (everything waits for a retry or is done) is killed anyway.
            last_n, last_t, end = n0, time.time(), time.time() + 20
            while p.poll() is None and time.time() < end:
                n = h.request_count()
                if n >= n0 + value:
                    break
                if n != last_n:
                    last_n, last_t = n, time.time()
                elif time.time() - last_t > 2.0:
                    break
                time.sleep(0.002)
            if h.request_count() == n0:
                idle_kills += 1
            time.sleep(sub)
        if p.poll() is not None:
            out = h.runner_output(p)
            raise Failure("runner exited by itself with %d before kill %d:"
                          "\n%s" % (p.returncode, i + 1, out[-3000:]))
        h.kill(p)
        kills_done += 1
        common.check_runner_output(p.name, h.runner_output(p), problems)
        if (i + 1) % 20 == 0:
            log("  %d kills, %d requests so far" % (i + 1, h.request_count()))

    for p in producers:
        h.finish_producer(p, 120)
    t_drain = time.time()
    p = h.spawn_runner(["--worker", "torture", "--drain", "--concurrency",
                        opts.concurrency, "--batch", opts.concurrency,
                        "--poll-ms", 200, "--timeout-ms", 5000])
    rc, out = h.finish(p, opts.drain_timeout)
    common.check_runner_output(p.name, out, problems)
    if rc != 0:
        problems.append("the draining runner exited with %d:\n%s"
                        % (rc, out[-3000:]))
    drain_s = time.time() - t_drain

    acks = common.read_acks([q.ack for q in producers], problems)
    fig = common.check_total_queue(h.db_path, opts.ext, acks, h.delivered(),
                                   {blocked}, problems)
    reqs = h.requests()
    by_action = {}
    for r in reqs:
        by_action[r["action"]] = by_action.get(r["action"], 0) + 1
    fig["kills"] = kills_done
    fig["idle_kills"] = idle_kills
    fig["runner_starts"] = h.runner_runs
    fig["server_requests"] = len(reqs)
    fig["server_actions"] = dict(sorted(by_action.items()))
    fig["drain_seconds"] = round(drain_s, 1)
    fig["seconds"] = round(time.time() - t_start, 1)
    fig["seed"] = opts.seed
    if opts.time_limit and fig["seconds"] > opts.time_limit:
        problems.append("took %.1f s, the limit is %.0f s"
                        % (fig["seconds"], opts.time_limit))
    return fig, problems


def main():
    opts = parse_args()
    return common.main(
        "torture", opts, "%d messages, %d producers, %d kills, seed %d"
        % (opts.messages, opts.producers, opts.kills, opts.seed), run)


if __name__ == "__main__":
    sys.exit(main())
