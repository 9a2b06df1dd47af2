#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Backups taken while another process keeps writing are consistent
snapshots, and mp-restore turns each one back into the database it was.

The database (WAL) is preloaded with PRELOAD messages of about 500 bytes,
so that a backup takes a while. A writer process then enqueues with
mp_enqueue as fast as it can, in BEGIN IMMEDIATE transactions of exactly
BATCH messages to chat 1 and single autocommit messages to chat 2, while
this process takes BACKUPS backups on its own connection, plain and
encrypted (key in an environment variable) in turn. The writer then stops
and every backup is restored with mp-restore and compared with the source:

  - mp-restore exits 0 and prints "integrity_check: ok" and "mp_verify: 0";
  - the restored rows are a prefix of the source: seq 1..n with no gap,
    and every restored row equals the source row in every column;
  - n lies between the rows committed before the backup started and after
    it returned (the snapshot was taken during the call);
  - no transaction is torn: chat 1 holds whole batches only;
  - mp_stats of the restored database agrees with its rows;
  - the writer committed rows while backups were running (the test really
    overlapped them), and never saw an error;
  - every backup file has mode 0600, encrypted ones start with "MPBK" and
    hold no plaintext, and no .tmp file is left anywhere.

Run with Debian's interpreter (the pyenv python3 cannot load extensions):

    /usr/bin/python3 tests/backup/test_backup_concurrent.py build/mp.so \
        build/mp-restore

MP_BACKUP_PRELOAD (default 20000) and MP_BACKUP_COUNT (default 8) scale it.
"""

import os
import secrets
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

PRELOAD = int(os.environ.get("MP_BACKUP_PRELOAD", "20000"))
BACKUPS = int(os.environ.get("MP_BACKUP_COUNT", "8"))
BATCH = 7
BUSY_TIMEOUT_MS = 20000
MARKER = "plaintext-marker-"


def connect(path, extension):
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000.0,
                           isolation_level=None)
    conn.execute("PRAGMA busy_timeout = %d" % BUSY_TIMEOUT_MS)
    conn.enable_load_extension(True)
    conn.load_extension(extension)
    conn.enable_load_extension(False)
    return conn


def tool_env():
    """The environment for mp-restore: without the sanitizer runtime that
    ctest preloads into Python, and with leak checking back on."""
    env = dict(os.environ)
    if env.pop("LD_PRELOAD", None) is not None:
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    return env


def writer(path, extension, stop_file):
    """The writer process: enqueue until stop_file exists; print counts."""
    conn = connect(path, extension)
    conn.execute("PRAGMA synchronous = NORMAL")
    text = "w" * 300
    batches = singles = 0
    while not os.path.exists(stop_file):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(BATCH):
            conn.execute("SELECT mp_enqueue(1, ?)",
                         ("%s batch %d row %d" % (text, batches, i),))
        conn.execute("COMMIT")
        batches += 1
        conn.execute("SELECT mp_enqueue(2, ?)", ("%s single %d" % (text, singles),))
        singles += 1
    conn.close()
    print("%d %d" % (batches, singles))


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--writer":
        writer(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    if len(sys.argv) != 3:
        print("usage: test_backup_concurrent.py MP_EXTENSION MP_RESTORE",
              file=sys.stderr)
        sys.exit(2)
    extension = os.path.abspath(sys.argv[1])
    restore = os.path.abspath(sys.argv[2])
    key = secrets.token_hex(32)
    os.environ["MP_BACKUP_TEST_KEY"] = key

    with tempfile.TemporaryDirectory(prefix="mp-backup-conc-") as tmp:
        src = os.path.join(tmp, "queue.db")
        stop = os.path.join(tmp, "stop")
        conn = connect(src, extension)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("SELECT mp_init()")
        conn.execute("BEGIN")
        for i in range(PRELOAD):
            conn.execute("SELECT mp_enqueue(3, ?)",
                         ("%s%d %s" % (MARKER, i, "p" * 480),))
        conn.execute("COMMIT")

        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--writer", src,
             extension, stop], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        # Let the writer get going before the first backup.
        deadline = time.time() + 30
        while conn.execute("SELECT max(seq) FROM messages").fetchone()[0] \
                < PRELOAD + 5 * (BATCH + 1):
            if time.time() > deadline or proc.poll() is not None:
                fail("the writer did not start: %s" % proc.stderr.read())
            time.sleep(0.01)

        backups = []  # (path, encrypted, rows before, rows after)
        overlap = 0
        for i in range(BACKUPS):
            encrypted = i % 2 == 1
            path = os.path.join(tmp, "backup-%d.%s" % (i, "mpbk" if encrypted else "db"))
            before = conn.execute("SELECT max(seq) FROM messages").fetchone()[0]
            if encrypted:
                n = conn.execute("SELECT mp_backup(?, 'env:MP_BACKUP_TEST_KEY')",
                                 (path,)).fetchone()[0]
            else:
                n = conn.execute("SELECT mp_backup(?)", (path,)).fetchone()[0]
            after = conn.execute("SELECT max(seq) FROM messages").fetchone()[0]
            overlap += after - before
            if n != os.path.getsize(path):
                fail("mp_backup returned %d, the file has %d bytes"
                     % (n, os.path.getsize(path)))
            backups.append((path, encrypted, before, after))
            time.sleep(0.02)

        with open(stop, "w"):
            pass
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            fail("writer failed: %s" % err)
        batches, singles = map(int, out.split())
        print("writer: %d batches of %d, %d single rows; %d rows committed "
              "while backups ran" % (batches, BATCH, singles, overlap))
        if overlap == 0:
            fail("no row was committed while a backup ran: no concurrency tested")

        last = conn.execute(
            "SELECT value FROM mp_meta WHERE key = 'last_backup'").fetchone()
        if last is None or abs(last[0] - time.time()) > 600:
            fail("last_backup not recorded: %r" % (last,))
        conn.close()

        src_conn = sqlite3.connect(src, isolation_level=None)
        total_src = src_conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        for path, encrypted, before, after in backups:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode != 0o600:
                fail("%s has mode %o" % (path, mode))
            with open(path, "rb") as f:
                data = f.read()
            if encrypted:
                if data[:4] != b"MPBK" or MARKER.encode() in data:
                    fail("%s is not encrypted" % path)
            elif data[:16] != b"SQLite format 3\0":
                fail("%s is not a SQLite database" % path)
            new_db = path + ".restored"
            cmd = [restore, path, new_db]
            if encrypted:
                cmd += ["--key", "env:MP_BACKUP_TEST_KEY"]
            r = subprocess.run(cmd, capture_output=True, text=True, env=tool_env())
            if r.returncode != 0 or "integrity_check: ok\n" not in r.stdout \
                    or "mp_verify: 0\n" not in r.stdout:
                fail("mp-restore %s: exit %d\n%s%s"
                     % (path, r.returncode, r.stdout, r.stderr))
            if key in r.stdout + r.stderr:
                fail("the key appears in mp-restore's output")
            if stat.S_IMODE(os.stat(new_db).st_mode) != 0o600:
                fail("%s is not 0600" % new_db)

            src_conn.execute("ATTACH ? AS r", (new_db,))
            n, top = src_conn.execute(
                "SELECT count(*), max(seq) FROM r.messages").fetchone()
            if n != top:
                fail("%s: %d rows but max(seq) %d: not a prefix" % (path, n, top))
            if not before <= n <= after:
                fail("%s: %d rows, outside [%d, %d] committed around the call"
                     % (path, n, before, after))
            differ = src_conn.execute(
                "SELECT count(*) FROM (SELECT * FROM r.messages "
                "EXCEPT SELECT * FROM main.messages)").fetchone()[0]
            if differ:
                fail("%s: %d rows differ from the source" % (path, differ))
            chat1 = src_conn.execute(
                "SELECT count(*) FROM r.messages WHERE chat_id = 1").fetchone()[0]
            if chat1 % BATCH:
                fail("%s: %d rows of chat 1: a torn transaction" % (path, chat1))
            src_conn.execute("DETACH r")

            check = connect(new_db, extension)
            stats = dict(check.execute(
                "SELECT name, value FROM mp_stats WHERE name IN "
                "('total', 'pending', 'messages_stored')").fetchall())
            check.close()
            if stats != {"total": n, "pending": n, "messages_stored": n}:
                fail("%s: mp_stats %r for %d rows" % (path, stats, n))
            print("%s: %s, %d bytes, %d rows (committed: %d..%d) ok"
                  % (os.path.basename(path),
                     "encrypted" if encrypted else "plain", len(data), n,
                     before, after))
        src_conn.close()
        leftovers = [f for f in os.listdir(tmp)
                     if f.endswith((".tmp", "-journal", "-wal", "-shm"))]
        if leftovers:
            fail("temporary or journal files left: %r" % leftovers)
        print("ok: %d backups of a database growing to %d rows"
              % (len(backups), total_src))


if __name__ == "__main__":
    main()
