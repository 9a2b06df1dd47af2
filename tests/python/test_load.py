#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mp from Python: load build/mp.so into the standard library's sqlite3 and
drive the queue the way a Python host application would.

Run with Debian's interpreter (a pyenv or other python3 built without
loadable-extension support cannot load it):

    /usr/bin/python3 tests/python/test_load.py build/mp.so [unittest args]
    MP_EXTENSION=build/mp.so /usr/bin/python3 tests/python/test_load.py

Standard library only. Every test uses its own file database in a fresh
temporary directory, in WAL mode; the connection is in autocommit
(isolation_level=None) unless a test opens a transaction itself.
"""

import json
import os
import re
import sqlite3
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mp_host  # noqa: E402

EXTENSION = None  # the path of mp.so, set at the end when run as a script

T0 = 1_700_000_000_000  # a fixed mp clock (ms) for tests that need one
NO_PACING = {"pace_chat_ms": 0, "pace_group_per_minute": 0,
             "pace_global_per_second": 0}
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                   r"[0-9a-f]{12}$")
CLAIM_COLUMNS = ["id", "chat_id", "message_text", "parse_mode", "retry_count",
                 "lease_token", "priority", "attempts", "event_data",
                 "in_doubt"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def open_db(path, load=True, wal=True):
    conn = mp_host.connect(path, EXTENSION if load else None)
    if wal:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        assert mode == "wal", mode
    return conn


class MpTestCase(unittest.TestCase):
    """A fresh WAL database with mp loaded and initialized (no pacing)."""

    maxDiff = None

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="mp-py-")
        self.path = os.path.join(self._tmp.name, "queue.db")
        self.conn = open_db(self.path)
        self.init_result = json.loads(self.one("SELECT mp_init(?)",
                                               json.dumps(NO_PACING)))

    def tearDown(self):
        try:
            self.conn.close()
        finally:
            self._tmp.cleanup()

    # helpers ---------------------------------------------------------------
    def one(self, sql, *args):
        """The first column of the only row of sql."""
        rows = self.conn.execute(sql, args).fetchall()
        self.assertEqual(len(rows), 1, sql)
        return rows[0][0]

    def rows(self, sql, *args):
        return self.conn.execute(sql, args).fetchall()

    def stats(self):
        return dict(self.rows("SELECT name, value FROM mp_stats"))

    def assertStats(self, **want):
        got = self.stats()
        self.assertEqual({k: got.get(k, "<missing>") for k in want}, want)

    def assertError(self, sql, args, fragment, exc=sqlite3.OperationalError):
        """sql fails with exc, and the message contains fragment."""
        with self.assertRaises(exc, msg=sql) as cm:
            self.conn.execute(sql, args).fetchall()
        self.assertIn(fragment, str(cm.exception), sql)
        return str(cm.exception)

    def claim(self, n, *extra):
        """SELECT * FROM mp_claim(n, ...) as a list of dicts."""
        marks = ", ".join(["?"] * (1 + len(extra)))
        cur = self.conn.execute("SELECT * FROM mp_claim(%s)" % marks,
                                (n,) + extra)
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r)) for r in cur.fetchall()]
        cur.close()
        return out

    def row(self, mid, *cols):
        return self.conn.execute("SELECT %s FROM messages WHERE id = ?"
                                 % ", ".join(cols), (mid,)).fetchone()

    def assertIntact(self):
        self.assertEqual(self.rows("PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(self.one("SELECT mp_verify()"), 0)


class LoadAndInit(MpTestCase):

    def test_version_and_debug(self):
        version = self.one("SELECT mp_version()")
        self.assertRegex(version, r"^\d+\.\d+\.\d+")
        version_file = os.path.join(REPO, "VERSION")
        if os.path.exists(version_file):
            with open(version_file) as f:
                self.assertEqual(version, f.read().split()[0])
        debug = self.one("SELECT mp_debug()")
        self.assertIn("version: " + version, debug)
        self.assertIn("sqlite running: " + sqlite3.sqlite_version, debug)

    def test_wal_file_database(self):
        self.assertEqual(self.one("PRAGMA journal_mode"), "wal")
        self.assertTrue(os.path.exists(self.path))
        self.one("SELECT mp_enqueue(1, 'x')")
        self.assertTrue(os.path.exists(self.path + "-wal"))

    def test_init_result_and_idempotence(self):
        r = self.init_result
        self.assertEqual(r["previous_schema_version"], 0)
        self.assertGreaterEqual(r["schema_version"], 1)
        self.assertEqual(r["version"], self.one("SELECT mp_version()"))
        for key, value in NO_PACING.items():
            self.assertEqual(r["config"][key], value)
        self.assertEqual(r["config"]["max_retry_count"], 3)
        self.assertEqual(r["config"]["recovery_policy"], "at_least_once")
        self.assertEqual(r["config"]["batch_size"], 100)
        self.one("SELECT mp_enqueue(1, 'kept')")
        again = json.loads(self.one("SELECT mp_init()"))
        self.assertEqual(again["previous_schema_version"], r["schema_version"])
        self.assertEqual(again["config"], r["config"])  # settings kept
        self.assertEqual(self.one("SELECT count(*) FROM messages"), 1)
        self.assertEqual(self.one("SELECT value FROM mp_meta WHERE key = "
                                  "'schema_version'"), r["schema_version"])
        self.assertEqual(self.one("PRAGMA user_version"), 0)  # not mp's
        self.assertEqual(self.one("SELECT mp_config('pace_chat_ms')"), 0)
        self.assertEqual(self.one("SELECT mp_config('lease_seconds', 120)"), 120)
        self.assertEqual(self.one("SELECT mp_config('lease_seconds')"), 120)
        # config as whole-number REALs too (what other drivers bind)
        self.assertEqual(self.one("SELECT mp_config('lease_seconds', ?)", 90.0), 90)
        self.assertEqual(self.one("SELECT typeof(value) FROM mp_meta "
                                  "WHERE key = 'lease_seconds'"), "integer")

    def test_init_refuses_foreign_messages_table(self):
        path = os.path.join(self._tmp.name, "foreign.db")
        conn = open_db(path)
        try:
            conn.execute("CREATE TABLE messages(x)")
            with self.assertRaises(sqlite3.OperationalError) as cm:
                conn.execute("SELECT mp_init()").fetchall()
            self.assertIn("mp_init", str(cm.exception))
            self.assertIn("messages", str(cm.exception))
            self.assertEqual(conn.execute(
                "SELECT name FROM sqlite_schema").fetchall(), [("messages",)])
        finally:
            conn.close()

    def test_bad_config_changes_nothing(self):
        before = self.one("SELECT mp_config('lease_seconds')")
        self.assertError("SELECT mp_init(?)",
                         ('{"lease_seconds": 5, "pace_chat_ms": -1}',),
                         "mp_init: pace_chat_ms must be between 0 and")
        self.assertEqual(self.one("SELECT mp_config('lease_seconds')"), before)
        self.assertError("SELECT mp_init(?)", ('{"no_such_key": 1}',),
                         "mp_init: unknown config key")
        self.assertError("SELECT mp_init(?)", ("{not json",), "mp_init")


class Enqueue(MpTestCase):

    def setUp(self):
        super().setUp()
        self.assertEqual(self.one("SELECT mp_clock_set(?)", T0), T0)

    def test_plain_enqueue_row(self):
        mid = self.one("SELECT mp_enqueue(?, ?)", 12345, "Build finished")
        self.assertRegex(mid, UUID7)
        r = self.row(mid, "chat_id", "message_text", "status", "retry_count",
                     "priority", "parse_mode", "dedup_key", "event_data",
                     "timestamp", "created_at", "updated_at", "order_at",
                     "due_at", "typeof(chat_id)", "length(checksum)",
                     "telegram_message_id", "tier_used", "error_message")
        self.assertEqual(r, (12345, "Build finished", "pending", 0, 1, None, None,
                             None, T0 // 1000, T0 // 1000, T0 // 1000, 0, T0,
                             "integer", 32, None, None, None))
        # ids sort by time: a later enqueue has a larger id
        self.one("SELECT mp_clock_advance(1)")
        self.assertGreater(self.one("SELECT mp_enqueue(1, 'b')"), mid)

    def test_priority_names_and_numbers(self):
        cases = [('"low"', 0), ('"normal"', 1), ('"high"', 2), ('"critical"', 3),
                 ("0", 0), ("1", 1), ("2", 2), ("3", 3), ("2.0", 2)]
        for i, (value, want) in enumerate(cases):
            mid = self.one("SELECT mp_enqueue(?, 'p', NULL, ?)", i + 1,
                           '{"priority": %s}' % value)
            self.assertEqual(self.row(mid, "priority")[0], want, value)

    def test_delay_ms(self):
        mid = self.one("SELECT mp_enqueue(7, 'later', NULL, ?)",
                       '{"delay_ms": 5000}')
        self.assertEqual(self.row(mid, "order_at", "due_at"), (T0 + 5000, T0 + 5000))
        self.assertEqual(self.claim(10), [])  # not due yet
        self.one("SELECT mp_clock_advance(4999)")
        self.assertEqual(self.claim(10), [])
        self.one("SELECT mp_clock_advance(1)")
        self.assertEqual([c["id"] for c in self.claim(10)], [mid])

    def test_dedup_key(self):
        opts = '{"dedup_key": "deploy-42"}'
        first = self.one("SELECT mp_enqueue(1, 'Deploy?', NULL, ?)", opts)
        stored = self.stats()["messages_stored"]
        again = self.one("SELECT mp_enqueue(1, 'Deploy? (again)', NULL, ?)", opts)
        self.assertEqual(again, first)
        self.assertEqual(self.one("SELECT count(*) FROM messages"), 1)
        self.assertEqual(self.row(first, "message_text", "dedup_key"),
                         ("Deploy?", "deploy-42"))
        self.assertEqual(self.stats()["messages_stored"], stored)
        other = self.one("SELECT mp_enqueue(1, 'x', NULL, ?)",
                         '{"dedup_key": "deploy-43"}')
        self.assertNotEqual(other, first)

    def test_parse_mode(self):
        for given, stored in [("HTML", "HTML"), ("html", "HTML"),
                              ("MarkdownV2", "MarkdownV2"),
                              ("markdownv2", "MarkdownV2"),
                              ("Markdown", "Markdown")]:
            mid = self.one("SELECT mp_enqueue(5, '<b>x</b>', NULL, ?)",
                           json.dumps({"parse_mode": given}))
            self.assertEqual(self.row(mid, "parse_mode")[0], stored, given)
        mid = self.one("SELECT mp_enqueue(5, 'x', NULL, ?)", '{"parse_mode": null}')
        self.assertIsNone(self.row(mid, "parse_mode")[0])

    def test_event_json_and_all_options_together(self):
        event = json.dumps({"type": "approval_request", "title": "Deploy",
                            "data": {"env": "prod", "n": [1, 2]}})
        opts = json.dumps({"priority": "critical", "delay_ms": 250,
                           "dedup_key": "all-options", "parse_mode": "HTML"})
        text = "Ünïcode ✓ 🚀 <b>bold</b>"
        mid = self.one("SELECT mp_enqueue(?, ?, ?, ?)", -1001234567890, text,
                       event, opts)
        self.assertEqual(self.row(mid, "chat_id", "message_text", "event_data",
                                  "priority", "order_at", "dedup_key",
                                  "parse_mode"),
                         (-1001234567890, text, event, 3, T0 + 250,
                          "all-options", "HTML"))
        # NULL event with options, and options NULL
        m2 = self.one("SELECT mp_enqueue(1, 't', NULL, NULL)")
        self.assertIsNone(self.row(m2, "event_data")[0])
        self.one("SELECT mp_clock_advance(250)")
        got = self.claim(1)
        self.assertEqual(len(got), 1)
        self.assertEqual((got[0]["id"], got[0]["message_text"],
                          got[0]["parse_mode"], got[0]["event_data"],
                          got[0]["priority"]),
                         (mid, text, "HTML", event, 3))
        self.assertIntact()

    def test_python_numbers_as_chat_id(self):
        """Python ints bind as INTEGER, floats as REAL: a whole REAL is an
        integer argument, a fractional one is refused."""
        self.assertEqual(self.one("SELECT typeof(?)", 2.0), "real")
        for value, want in [(2, 2), (2.0, 2), (-1001234567890, -1001234567890),
                            (-1001234567890.0, -1001234567890),
                            (2**62, 2**62), (-(2**63), -(2**63))]:
            mid = self.one("SELECT mp_enqueue(?, 'n')", value)
            self.assertEqual(self.row(mid, "chat_id", "typeof(chat_id)"),
                             (want, "integer"), repr(value))
        count = self.one("SELECT count(*) FROM messages")
        msg = self.assertError("SELECT mp_enqueue(?, 'n')", (2.5,),
                               "mp_enqueue: chat_id must be an integer")
        self.assertIn("2.5", msg)
        for bad in (1e300, float("inf"), -0.5, "12345", b"\x01"):
            self.assertError("SELECT mp_enqueue(?, 'n')", (bad,),
                             "mp_enqueue: chat_id must be an integer")
        self.assertError("SELECT mp_enqueue(?, 'n')", (None,),
                         "mp_enqueue: chat_id must be an integer, got NULL")
        self.assertEqual(self.one("SELECT count(*) FROM messages"), count)

    def test_python_numbers_as_other_integer_arguments(self):
        for chat in (1, 2, 3):
            self.one("SELECT mp_enqueue(?, 'x')", chat)
        got = self.claim(2.0, 30.0)  # n and lease_seconds as whole REALs
        self.assertEqual(len(got), 2)
        self.assertEqual(self.row(got[0]["id"], "lease_until")[0], T0 + 30000)
        self.assertEqual(self.one("SELECT mp_confirm(?, ?)", got[0]["id"], 777.0), 1)
        self.assertEqual(self.row(got[0]["id"], "telegram_message_id",
                                  "typeof(telegram_message_id)"), (777, "integer"))
        self.assertError("SELECT mp_confirm(?, ?)", (got[1]["id"], 7.5),
                         "mp_confirm: telegram_message_id must be an integer")
        self.assertEqual(self.one("SELECT mp_mark_failed(?, 'x', ?, ?)",
                                  got[1]["id"], 1.0, 60.0), "pending")
        self.assertEqual(self.row(got[1]["id"], "due_at")[0], T0 + 60000)
        self.assertError("SELECT mp_mark_failed(?, 'x', ?)", (got[1]["id"], 0.5),
                         "mp_mark_failed: retryable must be an integer")
        with self.assertRaises(sqlite3.DatabaseError) as cm:
            self.claim(1.5)
        self.assertIn("mp_claim: n must be an integer", str(cm.exception))

    def test_enqueue_in_transactions(self):
        before = self.stats()
        self.conn.execute("BEGIN")
        self.one("SELECT mp_enqueue(1, 'rolled back')")
        self.conn.execute("ROLLBACK")
        self.assertEqual(self.one("SELECT count(*) FROM messages"), 0)
        self.assertEqual(self.stats(), before)
        self.conn.execute("BEGIN IMMEDIATE")
        ids = [self.one("SELECT mp_enqueue(?, ?)", i % 3 + 1, "m%d" % i)
               for i in range(50)]
        self.conn.execute("COMMIT")
        self.assertEqual(len(set(ids)), 50)
        self.assertStats(pending=50, total=50, messages_stored=50)
        self.assertIntact()


class ClaimAndConfirm(MpTestCase):

    def test_claim_columns_and_confirm_with_lease_token(self):
        ids = [self.one("SELECT mp_enqueue(?, ?)", 1000 + i, "msg %d" % i)
               for i in range(32)]
        cur = self.conn.execute("SELECT * FROM mp_claim(?)", (32,))
        self.assertEqual([d[0] for d in cur.description], CLAIM_COLUMNS)
        got = [dict(zip(CLAIM_COLUMNS, r)) for r in cur.fetchall()]
        cur.close()
        self.assertEqual([g["id"] for g in got], ids)  # oldest first
        for i, g in enumerate(got):
            self.assertEqual((g["chat_id"], g["message_text"], g["parse_mode"],
                              g["retry_count"], g["priority"], g["attempts"],
                              g["event_data"], g["in_doubt"]),
                             (1000 + i, "msg %d" % i, None, 0, 1, 1, None, 0))
            self.assertRegex(g["lease_token"],
                             "^" + re.escape(g["id"]) + ":[0-9a-f]{16}$")
        self.assertStats(pending=0, sent=32, in_flight=32)
        # 32 tokens: their random parts cover both halves of the hex range.
        failures = []
        for i, g in enumerate(got):
            try:
                self.assertEqual(self.one("SELECT mp_confirm(?, ?, 'telegram')",
                                          g["lease_token"], 5000 + i), 1)
            except sqlite3.Error as e:
                failures.append("%s -> %s" % (g["lease_token"], e))
        self.assertEqual(failures, [], "mp_confirm refused valid lease tokens")
        for i, g in enumerate(got):
            self.assertEqual(self.row(g["id"], "status", "telegram_message_id",
                                      "tier_used", "lease_token", "lease_until"),
                             ("confirmed", 5000 + i, "telegram", None, None))
        self.assertStats(pending=0, sent=0, confirmed=32)
        self.assertError("SELECT mp_confirm(?, 1)", (got[0]["lease_token"],),
                         "mp_confirm")
        self.assertError("SELECT mp_confirm(?, 1)", (got[0]["id"],),
                         "mp_confirm: illegal transition confirmed -> confirmed")
        self.assertIntact()

    def test_mark_failed_with_lease_token(self):
        for chat in range(1, 17):
            self.one("SELECT mp_enqueue(?, 'x')", chat)
        failures = []
        for g in self.claim(16):
            try:
                self.assertEqual(self.one("SELECT mp_mark_failed(?, 'HTTP 502')",
                                          g["lease_token"]), "pending")
            except sqlite3.Error as e:
                failures.append("%s -> %s" % (g["lease_token"], e))
        self.assertEqual(failures, [], "mp_mark_failed refused valid lease tokens")
        self.assertStats(pending=16, sent=0, retries=16)

    def test_stale_lease_token_refused(self):
        self.one("SELECT mp_clock_set(?)", T0)
        mid = self.one("SELECT mp_enqueue(1, 'x')")
        first = self.claim(1, 10)[0]
        # By id, not token: what is being tested is the second claim's token.
        self.assertEqual(self.one("SELECT mp_mark_failed(?, 'HTTP 503', 1, 0)",
                                  mid), "pending")
        second = self.claim(1, 10)[0]
        self.assertEqual(second["id"], mid)
        self.assertNotEqual(second["lease_token"], first["lease_token"])
        self.assertEqual(second["attempts"], 2)
        self.assertEqual(second["retry_count"], 1)
        self.assertError("SELECT mp_confirm(?, 1)", (first["lease_token"],),
                         "mp_confirm: stale lease token")
        self.assertEqual(self.row(mid, "status")[0], "sent")  # unchanged
        self.assertEqual(self.one("SELECT mp_confirm(?, 1)", second["lease_token"]), 1)

    def test_order_priority_and_one_in_flight_per_chat(self):
        self.one("SELECT mp_clock_set(?)", T0)
        a1 = self.one("SELECT mp_enqueue(1, 'a1')")
        a2 = self.one("SELECT mp_enqueue(1, 'a2')")
        b1 = self.one("SELECT mp_enqueue(2, 'b1', NULL, '{\"priority\":\"low\"}')")
        c1 = self.one("SELECT mp_enqueue(3, 'c1', NULL, '{\"priority\":\"critical\"}')")
        got = self.claim(10, 60, "worker-1")
        self.assertEqual([g["id"] for g in got], [c1, a1, b1])
        self.assertEqual(self.row(a1, "worker", "lease_until"), ("worker-1", T0 + 60000))
        self.assertEqual(self.claim(10), [])  # a2 waits for a1
        self.assertError("SELECT mp_mark_sent(?)", (a2,),
                         "mp_mark_sent: chat 1 already has a message in flight")
        self.assertEqual(self.one("SELECT mp_confirm(?, 1)", a1), 1)
        self.assertEqual([g["id"] for g in self.claim(10)], [a2])

    def test_mark_sent_returns_a_token(self):
        mid = self.one("SELECT mp_enqueue(1, 'x')")
        token = self.one("SELECT mp_mark_sent(?, 30)", mid)
        self.assertRegex(token, "^" + re.escape(mid) + ":[0-9a-f]{16}$")
        self.assertError("SELECT mp_mark_sent(?)", (mid,),
                         "mp_mark_sent: illegal transition sent -> sent")
        self.assertEqual(self.one("SELECT mp_confirm(?, 1)", mid), 1)


class Stats(MpTestCase):

    def test_values_exact_through_a_lifecycle(self):
        self.one("SELECT mp_clock_set(?)", T0)
        # Every metric this test relies on, and SPEC's list, at zero; more
        # metrics are welcome.
        self.assertStats(
            pending=0, sent=0, confirmed=0, failed=0, in_flight=0, total=0,
            messages_stored=0, messages_updated=0, messages_deleted=0,
            messages_cleaned=0, retries=0, recovered=0, requeued=0,
            oldest_pending_age=None, last_cleanup=None, last_backup=None,
            schema_version=self.init_result["schema_version"])
        self.assertGreater(self.stats()["database_size_bytes"], 0)
        a, b, c, d, e = [self.one("SELECT mp_enqueue(?, ?)", chat, "m%d" % chat)
                         for chat in (1, 2, 3, 4, 5)]
        self.assertStats(pending=5, sent=0, confirmed=0, failed=0, in_flight=0,
                         total=5, messages_stored=5, messages_updated=0,
                         oldest_pending_age=0)
        self.assertEqual([g["id"] for g in self.claim(3)], [a, b, c])
        self.assertStats(pending=2, sent=3, in_flight=3, total=5,
                         messages_updated=3)
        self.one("SELECT mp_clock_advance(10000)")
        self.assertStats(oldest_pending_age=10)
        self.one("SELECT mp_confirm(?, 101, 'telegram')", a)
        self.one("SELECT mp_confirm(?, 102, 'webhook')", b)
        self.assertStats(pending=2, sent=1, confirmed=2, failed=0, total=5,
                         messages_updated=5)
        self.assertEqual(self.one("SELECT mp_mark_failed(?, 'chat not found', 0)",
                                  c), "failed")
        self.assertStats(pending=2, sent=0, confirmed=2, failed=1,
                         messages_updated=6, retries=0)
        self.assertEqual(self.one("SELECT mp_mark_failed(?, 'HTTP 502')", d),
                         "pending")
        self.assertStats(pending=2, failed=1, retries=1, messages_updated=7)
        self.assertEqual(self.one("SELECT mp_requeue(?)", c), 1)
        self.assertStats(pending=3, failed=0, requeued=1, messages_updated=8)
        # Plain SQL, as in the seed's troubleshooting guide.
        self.conn.execute("DELETE FROM messages WHERE id = ?", (a,))
        self.assertStats(pending=3, sent=0, confirmed=1, failed=0, total=4,
                         messages_stored=5, messages_deleted=1,
                         messages_cleaned=0, messages_updated=8)
        self.conn.execute("UPDATE messages SET status = 'failed' WHERE id = ?", (e,))
        self.assertStats(pending=2, failed=1, total=4, messages_updated=9)
        # The same numbers by counting, which mp_stats must not need to do.
        by_status = dict(self.rows("SELECT status, count(*) FROM messages "
                                   "GROUP BY status"))
        s = self.stats()
        for status in ("pending", "sent", "confirmed", "failed"):
            self.assertEqual(s[status], by_status.get(status, 0), status)
        self.assertEqual(s["database_size_bytes"],
                         self.one("PRAGMA page_count") * self.one("PRAGMA page_size"))
        self.assertEqual(self.one("SELECT value FROM mp_stats WHERE name = 'pending'"), 2)
        # A rolled-back transition leaves every number as it was.
        before = self.stats()
        self.conn.execute("BEGIN")
        self.claim(10)
        self.conn.execute("ROLLBACK")
        self.assertEqual(self.stats(), before)


class Errors(MpTestCase):

    def test_messages_name_the_function(self):
        mid = self.one("SELECT mp_enqueue(1, 'x')")
        cases = [
            ("SELECT mp_enqueue(?, 'x')", (2.5,), "mp_enqueue: chat_id must be an integer"),
            ("SELECT mp_enqueue(0, 'x')", (), "mp_enqueue: chat_id must not be 0"),
            ("SELECT mp_enqueue(1, '')", (), "mp_enqueue: text must not be empty"),
            ("SELECT mp_enqueue(1, NULL)", (), "mp_enqueue: text must be text"),
            ("SELECT mp_enqueue(1, ?)", (b"\xff",), "mp_enqueue: text must be text"),
            ("SELECT mp_enqueue(1, 'x', 'not json')", (), "mp_enqueue: event_json must be a JSON object"),
            ("SELECT mp_enqueue(1, 'x', '[1]')", (), "mp_enqueue: event_json must be a JSON object"),
            ("SELECT mp_enqueue(1, 'x', NULL, '[1]')", (), "mp_enqueue: options must be a JSON object"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"colour":1}',), "mp_enqueue: unknown option"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"priority":"urgent"}',), "mp_enqueue: priority must be"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"priority":4}',), "mp_enqueue: priority must be"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"priority":1.5}',), "mp_enqueue: priority must be"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"delay_ms":-1}',), "mp_enqueue: delay_ms must be"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"delay_ms":0.5}',), "mp_enqueue: delay_ms must be"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"parse_mode":"rtf"}',), "mp_enqueue: parse_mode must be"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"dedup_key":5}',), "mp_enqueue: dedup_key must be a string"),
            ("SELECT mp_enqueue(1, 'x', NULL, ?)", ('{"dedup_key":""}',), "mp_enqueue: dedup_key must be"),
            ("SELECT mp_confirm('no-such-id', 1)", (), "mp_confirm: no message with id 'no-such-id'"),
            ("SELECT mp_confirm(?, 1)", (mid,), "mp_confirm: illegal transition pending -> confirmed"),
            ("SELECT mp_confirm(?, ?)", (mid, 1.5), "mp_confirm: telegram_message_id must be an integer"),
            ("SELECT mp_confirm(?, 1, '')", (mid,), "mp_confirm: tier must not be empty"),
            ("SELECT mp_mark_failed(?, '')", (mid,), "mp_mark_failed: error must not be empty"),
            ("SELECT mp_mark_failed(?, 'e', 2)", (mid,), "mp_mark_failed: retryable must be 0 or 1"),
            ("SELECT mp_mark_failed(?, 'e', 1, -1)", (mid,), "mp_mark_failed: retry_after_s must be"),
            ("SELECT mp_requeue(?)", (mid,), "mp_requeue: illegal transition pending -> pending"),
            ("SELECT mp_mark_sent(?, 0)", (mid,), "mp_mark_sent: lease_seconds must be"),
            ("SELECT mp_verify('nope')", (), "mp_verify: no message with id 'nope'"),
            ("SELECT mp_config('nope')", (), "mp_config: unknown key 'nope'"),
            ("SELECT mp_config('lease_seconds', 0)", (), "mp_config: lease_seconds must be between 1 and"),
            ("SELECT mp_config('lease_seconds', 1.5)", (), "mp_config: lease_seconds must be an integer"),
            ("SELECT mp_config('recovery_policy', 'maybe')", (), "mp_config: recovery_policy must be"),
            ("SELECT mp_init('{\"max_retry_count\": \"x\"}')", (), "mp_init: max_retry_count"),
            ("SELECT mp_clock_advance(1)", (), "mp_clock_advance: the clock is not fixed"),
        ]
        for sql, args, fragment in cases:
            with self.subTest(sql=sql, args=args):
                self.assertError(sql, args, fragment)
        # The row is untouched by every refused call.
        self.assertEqual(self.row(mid, "status", "retry_count", "revision",
                                  "error_message"), ("pending", 0, 0, None))
        self.assertStats(pending=1, total=1, messages_updated=0, retries=0)

    def test_claim_argument_errors(self):
        # mp_claim is a table-valued function: its errors come from xFilter,
        # and sqlite3 may map their code to another DatabaseError subclass.
        for args, fragment in [((2.5,), "mp_claim: n must be an integer"),
                               (("ten",), "mp_claim: n must be an integer"),
                               ((-1,), "mp_claim: n must be between 0 and"),
                               ((1, 0), "mp_claim: lease_seconds must be between 1 and"),
                               ((1, 1.5), "mp_claim: lease_seconds must be an integer"),
                               ((1, 10, 5), "mp_claim: worker must be text"),
                               ((1, 10, ""), "mp_claim: worker must be text")]:
            with self.subTest(args=args):
                with self.assertRaises(sqlite3.DatabaseError) as cm:
                    self.claim(*args)
                self.assertIn(fragment, str(cm.exception))
        self.assertEqual(self.claim(0), [])

    def test_side_effects_are_direct_only(self):
        self.conn.execute("CREATE VIEW v_enqueue AS SELECT mp_enqueue(1, 'x') AS id")
        self.assertError("SELECT * FROM v_enqueue", (), "unsafe use of mp_enqueue")
        self.conn.execute("CREATE VIEW v_claim AS SELECT * FROM mp_claim(1)")
        self.assertError("SELECT * FROM v_claim", (), "mp_claim")
        self.conn.execute("CREATE TABLE t(x)")
        self.conn.execute("CREATE TRIGGER t_enqueue AFTER INSERT ON t BEGIN "
                          "SELECT mp_enqueue(NEW.x, 'from trigger'); END")
        self.assertError("INSERT INTO t VALUES (7)", (), "unsafe use of mp_enqueue")
        self.assertEqual(self.one("SELECT count(*) FROM messages"), 0)
        # reading is fine from a view
        self.conn.execute("CREATE VIEW v_stats AS SELECT * FROM mp_stats")
        self.assertEqual(self.one("SELECT value FROM v_stats WHERE name = 'total'"), 0)


class BeforeInit(unittest.TestCase):
    """A database where mp_init() has not run: every function says so."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="mp-py-")
        self.conn = open_db(os.path.join(self._tmp.name, "empty.db"))

    def tearDown(self):
        self.conn.close()
        self._tmp.cleanup()

    def test_errors_point_to_mp_init(self):
        for func, sql in [
                ("mp_enqueue", "SELECT mp_enqueue(1, 'x')"),
                ("mp_stats", "SELECT * FROM mp_stats"),
                ("mp_config", "SELECT mp_config('lease_seconds')"),
                ("mp_claim", "SELECT * FROM mp_claim(1)"),
                ("mp_confirm", "SELECT mp_confirm('x', 1)"),
                ("mp_mark_failed", "SELECT mp_mark_failed('x', 'e')"),
                ("mp_requeue", "SELECT mp_requeue('x')")]:
            with self.subTest(func=func):
                with self.assertRaises(sqlite3.DatabaseError) as cm:
                    self.conn.execute(sql).fetchall()
                msg = str(cm.exception)
                self.assertIn(func, msg)
                self.assertIn("mp_init", msg)
                self.assertNotIn("not an error", msg)


class CloseAndReopen(MpTestCase):

    def test_close_then_reopen_and_read(self):
        ids = [self.one("SELECT mp_enqueue(?, ?)", chat, "keep %d" % chat)
               for chat in (1, 2, 3)]
        got = self.claim(2)
        self.one("SELECT mp_confirm(?, 42)", got[0]["id"])
        stats = self.stats()
        self.conn.close()
        with self.assertRaises(sqlite3.ProgrammingError):
            self.conn.execute("SELECT 1")
        # The connection really closed: as the last one it checkpointed and
        # removed the WAL, and nothing holds the file any more.
        self.assertFalse(os.path.exists(self.path + "-wal"),
                         "WAL file left behind: the connection did not close")
        plain = open_db(self.path, load=False, wal=False)
        try:
            self.assertEqual(plain.execute("PRAGMA journal_mode").fetchone()[0], "wal")
            # The seed's troubleshooting SQL works without the extension.
            self.assertEqual(plain.execute(
                "SELECT id, chat_id, message_text, status, retry_count, "
                "telegram_message_id FROM messages ORDER BY timestamp, seq").fetchall(),
                [(ids[0], 1, "keep 1", "confirmed", 0, 42),
                 (ids[1], 2, "keep 2", "sent", 0, None),
                 (ids[2], 3, "keep 3", "pending", 0, None)])
            # Exclusive access is possible: nobody else has the file open.
            self.assertEqual(plain.execute("PRAGMA journal_mode = DELETE").fetchone()[0],
                             "delete")
            self.assertEqual(plain.execute("PRAGMA journal_mode = WAL").fetchone()[0],
                             "wal")
        finally:
            plain.close()
        self.conn = open_db(self.path)
        self.assertEqual(self.stats(), stats)
        self.assertEqual(self.one("SELECT mp_confirm(?, 43)", got[1]["id"]), 1)
        self.assertIntact()

    def test_open_close_cycles(self):
        self.conn.close()
        for i in range(25):
            conn = open_db(self.path)
            conn.execute("SELECT mp_enqueue(?, 'cycle')", (i + 1,)).fetchall()
            if i % 2:
                conn.execute("SELECT * FROM mp_stats").fetchall()
            if i % 3 == 0:
                cur = conn.execute("SELECT * FROM mp_claim(1)")
                cur.fetchall()
                cur.close()
            conn.close()
            self.assertFalse(os.path.exists(self.path + "-wal"), "cycle %d" % i)
        self.conn = open_db(self.path)
        self.assertStats(total=25, messages_stored=25, sent=9, pending=16)

    def test_claim_commits_as_a_whole(self):
        for chat in (1, 2, 3):
            self.one("SELECT mp_enqueue(?, 'x')", chat)
        cur = self.conn.execute("SELECT * FROM mp_claim(3)")
        cur.fetchone()  # read one row of three
        cur.close()
        self.conn.close()
        self.conn = open_db(self.path)
        self.assertStats(sent=3, pending=0)


if __name__ == "__main__":
    EXTENSION, UNITTEST_ARGS = mp_host.extension_from_command_line()
    sys.exit(mp_host.run_unittest(UNITTEST_ARGS))
