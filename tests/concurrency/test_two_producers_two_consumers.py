#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""SPEC's concurrency promise, measured: several processes share one WAL
database file through mp's functions and nothing is lost, duplicated,
reordered or refused with "database is locked".

Two producer processes each enqueue 2,000 messages over the same 50 chats
(producer 0 one message per autocommit transaction, producer 1 in
BEGIN IMMEDIATE batches of 20) while two consumer processes claim batches
of 10 (lease 60 s; consumer 0 in autocommit, consumer 1 inside
BEGIN IMMEDIATE) and confirm each message with its lease token (in
autocommit), until everything is confirmed. Every process has its own
connection with busy_timeout 10000. Each process writes a JSON log of what
it did; the parent then checks:

  - no process saw any SQLite error (no SQLITE_BUSY / "database is
    locked", no stale lease token, nothing else);
  - no message was claimed twice, and none was confirmed twice;
  - none was lost: every produced id was confirmed, and nothing else was;
  - per chat, messages were confirmed in enqueue order: each producer's
    own messages in the order it enqueued them, and across producers in
    real-time order (an enqueue that committed before another was called
    goes first; enqueues that overlapped may go either way). The global
    confirm order comes from a test-owned trigger writing to confirm_log
    inside the confirm's own transaction;
  - mp_stats: pending 0, sent 0, confirmed 4000, failed 0, total 4000,
    messages_stored 4000, messages_updated 8000 (scaled with
    MP_CONC_MESSAGES);
  - PRAGMA integrity_check is ok and mp_verify() is 0.

Run with Debian's interpreter (the pyenv python3 cannot load extensions):

    /usr/bin/python3 tests/concurrency/test_two_producers_two_consumers.py build/mp.so

or set MP_EXTENSION instead of passing the path. Environment knobs:
MP_CONC_MESSAGES (per producer, default 2000), MP_CONC_CHATS (default 50),
MP_CONC_THINK_MS (pause per message between write transactions, default
0.5; 0 = flat out, for raw throughput) and MP_CONC_CLAIM_MODES (how each
consumer claims, default "autocommit,immediate").
"""

import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
import traceback
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "python"))
import mp_host  # noqa: E402  (tests/python/mp_host.py)

EXTENSION = None  # the path of mp.so, set at the end when run as a script

N_PER_PRODUCER = int(os.environ.get("MP_CONC_MESSAGES", "2000"))
N_CHATS = int(os.environ.get("MP_CONC_CHATS", "50"))
N_PRODUCERS = 2
N_CONSUMERS = 2
CLAIM_BATCH = 10
LEASE_SECONDS = 60
PRODUCER_TXN_BATCH = 20
DEADLINE_SECONDS = 120  # a process that is still working then has failed
BUSY_TIMEOUT_MS = 10000
# Think time per message, in ms (jittered 0.5x-1.5x): a producer's work
# making each event (after each transaction, times the messages in it), a
# consumer's send between claim and confirm. Without any, four processes
# that do nothing but write keep the write lock busy all the time, and
# SQLite's busy handler (which polls, sleeping up to 100 ms, with no queue)
# can starve one of them past any busy_timeout: that is SQLite's
# scheduling, not mp's. 0 = flat out. Slow builds (sanitizers) need more:
# cmake/tests_hosts.cmake sets it for them.
THINK_MS = float(os.environ.get("MP_CONC_THINK_MS", "0.5"))
# A write call slower than this waited for the lock (counted, not failed).
WAITED_MS = 2.0
# How consumer i runs its claim: "autocommit" (SELECT * FROM mp_claim(...)
# on its own) or "immediate" (inside BEGIN IMMEDIATE ... COMMIT). Both are
# ways a user calls mp; the default covers one consumer of each.
CLAIM_MODES = os.environ.get("MP_CONC_CLAIM_MODES",
                             "autocommit,immediate").split(",")

# Group chats (negative ids) and private chats, all of them valid Telegram ids.
CHATS = [(-1001000000000 - i) if i % 2 else (100000 + i) for i in range(N_CHATS)]


def connect(path, extension):
    """One process's connection: autocommit, busy timeout, mp loaded."""
    conn = mp_host.connect(path, extension, BUSY_TIMEOUT_MS)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        raise RuntimeError("journal_mode is %r, expected wal" % mode)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def describe(e):
    """An exception as text, with SQLite's extended error code if any."""
    code = getattr(e, "sqlite_errorname", None)
    return "%s%s: %s\n%s" % (type(e).__name__, " [%s]" % code if code else "",
                             e, traceback.format_exc())


def think(n=1):
    """Work between write transactions: n times THINK_MS, jittered."""
    if THINK_MS > 0:
        time.sleep(n * random.uniform(0.5, 1.5) * THINK_MS / 1000.0)


def timed(log, fn, *args):
    """Runs a write call; counts the calls that waited for the lock."""
    t = time.monotonic()
    result = fn(*args)
    ms = (time.monotonic() - t) * 1000.0
    log["writes"] += 1
    if ms > WAITED_MS:
        log["waited"] += 1
    log["max_wait_ms"] = max(log["max_wait_ms"], ms)
    return result


def write_log(path, log):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(log, f)
    os.replace(tmp, path)


def run_process(body, log, log_path, db, extension, *args):
    """The frame of each child process: runs body(conn, log, *args) on a
    connection of its own to db, records every exception in log["errors"]
    (each is a finding), rolls back what it left open, closes, writes log
    to log_path and exits: status 1 if there were errors, else 0."""
    conn = None
    try:
        conn = connect(db, extension)
        body(conn, log, *args)
    except Exception as e:  # noqa: BLE001 -- every error is a finding
        log["errors"].append(describe(e))
    finally:
        if conn is not None:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.close()
            except Exception as e:  # noqa: BLE001
                log["errors"].append("close: %s: %s" % (type(e).__name__, e))
        write_log(log_path, log)
    sys.exit(1 if log["errors"] else 0)


def producer(index, db, extension, log_path, go, n):
    """Producer process number index: see produce()."""
    log = {"role": "producer", "index": index, "produced": [], "errors": [],
           "seconds": 0.0, "writes": 0, "waited": 0, "max_wait_ms": 0.0}
    run_process(produce, log, log_path, db, extension, index, go, n)


def produce(conn, log, index, go, n):
    """Enqueues n messages round-robin over CHATS; logs (id, chat, k,
    call start, commit end), times from the system-wide CLOCK_MONOTONIC."""
    go.wait(60)  # a barrier: everyone connected, start together
    t0 = time.monotonic()
    k = 0
    while k < n:
        if index == 0:
            batch = 1  # one autocommit transaction per message
        else:
            batch = min(PRODUCER_TXN_BATCH, n - k)
            timed(log, conn.execute, "BEGIN IMMEDIATE")
        rows = []
        for j in range(k, k + batch):
            chat = CHATS[j % len(CHATS)]
            text = "p%d-k%d chat %d" % (index, j, chat)
            event = json.dumps({"type": "test", "producer": index, "k": j})
            opts = json.dumps({"priority": "normal",
                               "dedup_key": "p%d-%d" % (index, j)})
            started = time.monotonic_ns()
            sql = "SELECT mp_enqueue(?, ?, ?, ?)"
            params = (chat, text, event, opts)
            if index == 0:
                mid = timed(log, lambda: conn.execute(sql, params).fetchone()[0])
            else:
                mid = conn.execute(sql, params).fetchone()[0]
            rows.append([mid, chat, j, started, 0])
        if index != 0:
            conn.execute("COMMIT")
        committed = time.monotonic_ns()
        for row in rows:
            row[4] = committed
        log["produced"].extend(rows)
        k += batch
        think(batch)  # making the next events
    log["seconds"] = time.monotonic() - t0


def consumer(index, db, extension, log_path, go, producers_done):
    """Consumer process number index: see consume()."""
    log = {"role": "consumer", "index": index, "claimed": [], "confirmed": [],
           "errors": [], "claims": 0, "empty_claims": 0, "seconds": 0.0,
           "writes": 0, "waited": 0, "max_wait_ms": 0.0}
    run_process(consume, log, log_path, db, extension, index, go,
                producers_done)


def consume(conn, log, index, go, producers_done):
    """Claims batches and confirms each message with its lease token until
    the producers are done and nothing is pending."""
    worker = "consumer-%d" % index
    claim_mode = CLAIM_MODES[index % len(CLAIM_MODES)]
    go.wait(60)  # a barrier: everyone connected, start together
    t0 = time.monotonic()
    tg_id = index * 10_000_000
    while True:
        if time.monotonic() - t0 > DEADLINE_SECONDS:
            raise RuntimeError("%s still working after %d s"
                               % (worker, DEADLINE_SECONDS))
        if claim_mode == "immediate":
            timed(log, conn.execute, "BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT id, chat_id, lease_token, message_text, attempts "
                "FROM mp_claim(?, ?, ?)",
                (CLAIM_BATCH, LEASE_SECONDS, worker)).fetchall()
            conn.execute("COMMIT")
        else:
            rows = timed(log, lambda: conn.execute(
                "SELECT id, chat_id, lease_token, message_text, attempts "
                "FROM mp_claim(?, ?, ?)",
                (CLAIM_BATCH, LEASE_SECONDS, worker)).fetchall())
        log["claims"] += 1
        if not rows:
            log["empty_claims"] += 1
            # Done only when the producers are finished and nothing is
            # left to claim; messages in flight belong to the other one.
            if producers_done.is_set():
                pending = conn.execute(
                    "SELECT value FROM mp_stats WHERE name = 'pending'"
                ).fetchone()[0]
                if pending == 0:
                    break
            time.sleep(0.005)  # nothing due: a runner would wait too
            continue
        for mid, chat, token, text, attempts in rows:
            log["claimed"].append([mid, chat, attempts, text])
        for mid, chat, token, text, attempts in rows:
            think()  # "sending" the message
            tg_id += 1
            ok = timed(log, lambda: conn.execute(
                "SELECT mp_confirm(?, ?, 'telegram')",
                (token, tg_id)).fetchone()[0])
            if ok != 1:
                raise RuntimeError("mp_confirm(%s) returned %r"
                                   % (token, ok))
            log["confirmed"].append([mid, chat, tg_id])
    log["seconds"] = time.monotonic() - t0


class TwoProducersTwoConsumers(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mp-conc-")
        self.db = os.path.join(self.tmp.name, "queue.db")
        conn = mp_host.connect(self.db, EXTENSION)
        self.assertEqual(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0],
                         "wal")
        conn.execute("SELECT mp_init(?)", (json.dumps({
            "pace_chat_ms": 0, "pace_group_per_minute": 0,
            "pace_global_per_second": 0, "lease_seconds": LEASE_SECONDS}),))
        # The test's own witness of the global confirm order: written inside
        # each confirm's transaction, so its rowids follow commit order.
        conn.executescript("""
            CREATE TABLE confirm_log(n INTEGER PRIMARY KEY, seq INTEGER,
                                     chat_id INTEGER, id TEXT);
            CREATE TRIGGER confirm_witness AFTER UPDATE OF status ON messages
            WHEN NEW.status = 'confirmed'
            BEGIN
              INSERT INTO confirm_log(seq, chat_id, id)
              VALUES (NEW.seq, NEW.chat_id, NEW.id);
            END;
        """)
        conn.close()

    def tearDown(self):
        self.tmp.cleanup()

    def test_concurrent_enqueue_claim_confirm(self):
        ctx = multiprocessing.get_context("spawn")
        go = ctx.Barrier(N_PRODUCERS + N_CONSUMERS + 1)
        producers_done = ctx.Event()
        procs = []
        for i in range(N_PRODUCERS):
            path = os.path.join(self.tmp.name, "producer-%d.json" % i)
            procs.append((path, ctx.Process(
                target=producer, name="producer-%d" % i,
                args=(i, self.db, EXTENSION, path, go, N_PER_PRODUCER))))
        for i in range(N_CONSUMERS):
            path = os.path.join(self.tmp.name, "consumer-%d.json" % i)
            procs.append((path, ctx.Process(
                target=consumer, name="consumer-%d" % i,
                args=(i, self.db, EXTENSION, path, go, producers_done))))
        for _, p in procs:
            p.start()
        go.wait(60)  # every process has connected: start the clock
        t0 = time.monotonic()
        for _, p in procs[:N_PRODUCERS]:
            p.join(DEADLINE_SECONDS + 30)
        t_produced = time.monotonic() - t0
        producers_done.set()
        for _, p in procs[N_PRODUCERS:]:
            p.join(DEADLINE_SECONDS + 30)
        t_all = time.monotonic() - t0
        hung = [p.name for _, p in procs if p.is_alive()]
        for _, p in procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
        self.assertEqual(hung, [], "processes did not finish in time")

        logs = {}
        for path, p in procs:
            self.assertTrue(os.path.exists(path),
                            "%s wrote no log (exit code %s)" % (p.name, p.exitcode))
            with open(path) as f:
                logs[p.name] = json.load(f)

        # 1. No process saw any error: no SQLITE_BUSY, no stale token.
        errors = {name: log["errors"] for name, log in logs.items() if log["errors"]}
        if errors:
            self.fail("errors surfaced to the processes:\n" + "\n".join(
                "%s: %s" % (n, "\n".join(e)) for n, e in sorted(errors.items())))
        for _, p in procs:
            self.assertEqual(p.exitcode, 0, "%s exit code" % p.name)

        produced = [row for i in range(N_PRODUCERS)
                    for row in logs["producer-%d" % i]["produced"]]
        claimed = [row for i in range(N_CONSUMERS)
                   for row in logs["consumer-%d" % i]["claimed"]]
        confirmed = [row for i in range(N_CONSUMERS)
                     for row in logs["consumer-%d" % i]["confirmed"]]
        total = N_PRODUCERS * N_PER_PRODUCER
        produced_ids = [r[0] for r in produced]
        self.assertEqual(len(produced), total)
        self.assertEqual(len(set(produced_ids)), total, "duplicate ids from mp_enqueue")

        # 2. Nothing claimed twice, nothing confirmed twice.
        claimed_ids = [r[0] for r in claimed]
        dup_claims = sorted({i for i in claimed_ids if claimed_ids.count(i) > 1}) \
            if len(set(claimed_ids)) != len(claimed_ids) else []
        self.assertEqual(dup_claims, [], "messages claimed more than once")
        confirmed_ids = [r[0] for r in confirmed]
        self.assertEqual(len(set(confirmed_ids)), len(confirmed_ids),
                         "messages confirmed more than once")
        self.assertTrue(all(r[2] == 1 for r in claimed),
                        "a claim returned attempts != 1")

        # Both consumers really took part.
        for i in range(N_CONSUMERS):
            self.assertGreater(len(logs["consumer-%d" % i]["confirmed"]), 0,
                               "consumer %d confirmed nothing: no contention "
                               "was tested" % i)

        # 3. Nothing lost: every produced id confirmed, nothing else.
        self.assertEqual(len(confirmed_ids), total)
        self.assertEqual(set(confirmed_ids), set(produced_ids))
        chat_of = {r[0]: r[1] for r in produced}
        for mid, chat, _ in confirmed:
            self.assertEqual(chat_of[mid], chat, "chat_id changed for %s" % mid)
        text_of = {r[0]: "p%d-k%d chat %d" % (i, r[2], r[1])
                   for i in range(N_PRODUCERS)
                   for r in logs["producer-%d" % i]["produced"]}
        for mid, _, _, text in claimed:
            self.assertEqual(text, text_of[mid], "text changed for %s" % mid)

        conn = mp_host.connect(self.db, EXTENSION)
        try:
            seq_of = dict(conn.execute("SELECT id, seq FROM messages"))
            self.assertEqual(len(seq_of), total)

            # 4. Per chat, messages are confirmed in enqueue order. Each
            #    producer's own messages keep their program order, and across
            #    producers real-time order holds: a message whose enqueue had
            #    committed before another's mp_enqueue was even called is
            #    confirmed first. (Enqueues that overlapped in time may go
            #    either way, so commit (seq) order is reported, not asserted.)
            info = {r[0]: (i, r[2], r[3], r[4]) for i in range(N_PRODUCERS)
                    for r in logs["producer-%d" % i]["produced"]}
            per_chat = {}
            for seq, chat, mid in conn.execute(
                    "SELECT seq, chat_id, id FROM confirm_log ORDER BY n"):
                per_chat.setdefault(chat, []).append((mid, seq))
            self.assertEqual(sorted(per_chat), sorted(CHATS))
            self.assertEqual(sum(len(v) for v in per_chat.values()), total)
            inversions = 0
            for chat, entries in per_chat.items():
                last_k = {}
                latest_start = None  # latest call start among those confirmed
                latest_mid = None
                for mid, seq in entries:
                    prod, k, started, committed = info[mid]
                    self.assertGreater(k, last_k.get(prod, -1),
                                       "chat %d: producer %d's message k=%d "
                                       "confirmed after k=%d" % (
                                           chat, prod, k, last_k.get(prod, -1)))
                    last_k[prod] = k
                    if latest_start is not None:
                        self.assertGreaterEqual(
                            committed, latest_start,
                            "chat %d: %s was confirmed after %s although its "
                            "enqueue committed before that one's mp_enqueue "
                            "was called" % (chat, mid, latest_mid))
                    if latest_start is None or started > latest_start:
                        latest_start, latest_mid = started, mid
                seqs = [seq for _, seq in entries]
                inversions += sum(1 for a, b in zip(seqs, seqs[1:]) if a > b)

            # The rows themselves.
            tg_of = {r[0]: r[2] for r in confirmed}
            rows = conn.execute(
                "SELECT id, status, telegram_message_id, tier_used, attempts, "
                "retry_count, lease_token FROM messages").fetchall()
            for mid, status, tg, tier, attempts, retries, token in rows:
                self.assertEqual((status, tg, tier, attempts, retries, token),
                                 ("confirmed", tg_of[mid], "telegram", 1, 0, None),
                                 mid)

            # 5. mp_stats, exactly.
            stats = dict(conn.execute("SELECT name, value FROM mp_stats"))
            want = {"pending": 0, "sent": 0, "in_flight": 0, "confirmed": total,
                    "failed": 0, "total": total, "messages_stored": total,
                    "messages_updated": 2 * total, "messages_deleted": 0,
                    "retries": 0, "recovered": 0, "requeued": 0,
                    "oldest_pending_age": None}
            self.assertEqual({k: stats.get(k) for k in want}, want)

            # 6. Integrity.
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)])
            self.assertEqual(conn.execute("SELECT mp_verify()").fetchone()[0], 0)
        finally:
            conn.close()

        waits = "; ".join(
            "%s %d of %d write calls waited for the lock (longest %.0f ms)"
            % (name, logs[name]["waited"], logs[name]["writes"],
               logs[name]["max_wait_ms"])
            for name in sorted(logs) if logs[name]["writes"])
        sys.stderr.write("\ncontention: %s\n" % waits)
        c0, c1 = logs["consumer-0"], logs["consumer-1"]
        sys.stderr.write(
            "\n%d messages (think time %.1f ms per message): produced in %.2f s (%.0f msg/s; producer 0 "
            "autocommit %.2f s, producer 1 batched %.2f s), all confirmed in "
            "%.2f s (%.0f msg/s end to end); consumer 0 confirmed %d in %d "
            "claims (%d empty), consumer 1 confirmed %d in %d claims (%d empty); "
            "%d adjacent per-chat pairs confirmed against commit order, all "
            "from overlapping enqueues\n"
            % (total, THINK_MS, t_produced, total / t_produced,
               logs["producer-0"]["seconds"], logs["producer-1"]["seconds"],
               t_all, total / t_all, len(c0["confirmed"]), c0["claims"],
               c0["empty_claims"], len(c1["confirmed"]), c1["claims"],
               c1["empty_claims"], inversions))


if __name__ == "__main__":
    EXTENSION, UNITTEST_ARGS = mp_host.extension_from_command_line()
    sys.exit(mp_host.run_unittest(UNITTEST_ARGS))
