#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mp_backup() and mp-restore under attack and misuse.

  - encrypted round trips with the key in a variable, a file (trailing
    newline) and literally; a fresh nonce per file; the file is exactly
    60 + database bytes; several 1 MiB chunks;
  - mp-restore refuses, with a clear message, exit status 1 and no output
    file (neither NEW_DB nor NEW_DB.tmp): a wrong key, a flipped bit at
    many offsets (header fields, nonce, key check, first/middle/last
    ciphertext byte, tag), a truncated file (many lengths), an appended
    byte, an encrypted backup without --key, a plain one with --key, a
    file that is not a backup, an existing NEW_DB or a leftover NEW_DB-wal;
  - a truncated plain backup is refused; a plain one whose message was
    changed restores with exit status 3 and "mp_verify: 1";
  - key files readable by group or others are refused by both; missing or
    empty variables and files are errors, never an empty key;
  - under umask 000, backups and restored databases are mode 0600;
  - failures leave nothing behind; a stale .tmp is never overwritten; the
    live database cannot be the target; last_backup follows the mp clock;
  - the key never appears in any error message or output, nor in any
    file written (backups, restored databases, the source).

Run with Debian's interpreter (the pyenv python3 cannot load extensions):

    /usr/bin/python3 tests/backup/test_backup_security.py build/mp.so \
        build/mp-restore
"""

import os
import re
import secrets
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import unittest

EXTENSION = None
RESTORE = None
KEY = secrets.token_hex(32)
OTHER_KEY = secrets.token_hex(32)
MARKER = "top-secret-message-body"
HEADER = 44
OVERHEAD = 60


def tool_env(**extra):
    """The environment for mp-restore: without the sanitizer runtime that
    ctest preloads into Python, and with leak checking back on."""
    env = dict(os.environ)
    if env.pop("LD_PRELOAD", None) is not None:
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    env.update(extra)
    return env


class BackupSecurity(unittest.TestCase):
    outputs = []  # every message and output seen, searched for the key

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.TemporaryDirectory(prefix="mp-backup-sec-")
        cls.dir = cls.tmpdir.name
        os.environ["MP_BK_KEY"] = KEY
        os.environ["MP_BK_OTHER"] = OTHER_KEY
        os.environ["MP_BK_EMPTY"] = ""
        os.environ["MP_BK_SHORT"] = KEY[:-1]
        os.environ.pop("MP_BK_UNSET", None)
        cls.src = os.path.join(cls.dir, "source.db")
        cls.conn = cls.connect(cls.src)
        cls.conn.execute("PRAGMA journal_mode = WAL")
        cls.conn.execute("SELECT mp_init()")
        cls.conn.execute("BEGIN")
        # About 2.5 MB: several 1 MiB chunks through the cipher.
        for i in range(4000):
            cls.conn.execute("SELECT mp_enqueue(?, ?)",
                             (1000 + i % 7, "%s %d %s" % (MARKER, i, "x" * 500)))
        cls.conn.execute("COMMIT")
        cls.enc = os.path.join(cls.dir, "good.mpbk")
        cls.conn.execute("SELECT mp_backup(?, 'env:MP_BK_KEY')", (cls.enc,))
        with open(cls.enc, "rb") as f:
            cls.enc_bytes = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()
        cls.tmpdir.cleanup()

    @staticmethod
    def connect(path):
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        conn.enable_load_extension(True)
        conn.load_extension(EXTENSION)
        conn.enable_load_extension(False)
        return conn

    # Helpers.

    def path(self, name):
        return os.path.join(self.dir, name)

    def assert_no_key(self, text):
        for k in (KEY, OTHER_KEY):
            self.assertNotIn(k, text)
            self.assertNotIn(k.upper(), text)
        BackupSecurity.outputs.append(text)

    def backup(self, path, *key):
        """Runs mp_backup; returns the byte count or raises with the error
        text checked for key material."""
        sql = "SELECT mp_backup(?%s)" % (", ?" if key else "")
        try:
            return self.conn.execute(sql, (path,) + key).fetchone()[0]
        except sqlite3.Error as e:
            self.assert_no_key(str(e))
            raise

    def backup_error(self, path, *key):
        with self.assertRaises(sqlite3.Error) as cm:
            self.backup(path, *key)
        return str(cm.exception)

    def restore(self, backup, new_db, *args, **env):
        r = subprocess.run([RESTORE, backup, new_db] + list(args),
                           capture_output=True, text=True, env=tool_env(**env))
        self.assert_no_key(r.stdout + r.stderr)
        return r

    def assert_refused(self, backup, new_db, pattern, *args, **env):
        r = self.restore(backup, new_db, *args, **env)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, pattern)
        self.assertFalse(os.path.lexists(new_db), "%s left behind" % new_db)
        self.assertFalse(os.path.lexists(new_db + ".tmp"), "tmp left behind")
        return r

    def assert_restored(self, backup, new_db, *args, **env):
        r = self.restore(backup, new_db, *args, **env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("integrity_check: ok\n", r.stdout)
        self.assertIn("mp_verify: 0\n", r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(new_db).st_mode), 0o600)
        for suffix in (".tmp", "-wal", "-shm", "-journal"):
            self.assertFalse(os.path.lexists(new_db + suffix), suffix)
        c = sqlite3.connect(self.src)
        c.execute("ATTACH ? AS r", (new_db,))
        self.assertEqual(c.execute(
            "SELECT count(*) FROM (SELECT * FROM r.messages EXCEPT "
            "SELECT * FROM main.messages)").fetchone()[0], 0)
        self.assertEqual(c.execute("SELECT count(*) FROM r.messages").fetchone(),
                         c.execute("SELECT count(*) FROM main.messages").fetchone())
        c.close()
        return r

    def write(self, name, data, mode=0o600):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        return p

    # Round trips.

    def test_encrypted_round_trip_env(self):
        data = self.enc_bytes
        page_bytes = self.conn.execute(
            "SELECT page_count * page_size FROM pragma_page_count, "
            "pragma_page_size").fetchone()[0]
        self.assertEqual(data[:4], b"MPBK")
        self.assertEqual(data[4:8], b"\x01\x01\x00\x00")
        n = int.from_bytes(data[8:16], "big")
        self.assertEqual(n, page_bytes)
        self.assertEqual(len(data), OVERHEAD + n)
        self.assertGreater(n, 2 * 1024 * 1024)
        self.assertNotIn(MARKER.encode(), data)
        self.assertNotIn(b"SQLite format 3", data)
        self.assertEqual(stat.S_IMODE(os.stat(self.enc).st_mode), 0o600)
        r = self.assert_restored(self.enc, self.path("rt-env.db"),
                                 "--key", "env:MP_BK_KEY")
        self.assertIn("encrypted", r.stdout)

    def test_encrypted_round_trip_file_key(self):
        key_file = self.write("key.hex", (KEY + "\n").encode())
        out = self.path("rt-file.mpbk")
        self.assertEqual(self.backup(out, "file:" + key_file),
                         os.path.getsize(out))
        self.assert_restored(out, self.path("rt-file.db"), "--key=file:" + key_file)
        # Either key source opens a backup made with the other.
        self.assert_restored(self.enc, self.path("rt-file2.db"),
                             "--key", "file:" + key_file)

    def test_encrypted_round_trip_literal_key(self):
        out = self.path("rt-literal.mpbk")
        self.backup(out, KEY.upper())
        r = self.assert_restored(out, self.path("rt-literal.db"), "--key", KEY)
        self.assertIn("warning: a key given on the command line", r.stderr)

    def test_plain_round_trip(self):
        out = self.path("plain.db")
        n = self.backup(out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\0")
        self.assertEqual(n, os.path.getsize(out))
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        r = self.assert_restored(out, self.path("plain-restored.db"))
        self.assertIn("plain", r.stdout)

    def test_fresh_nonce_per_file(self):
        a, b = self.path("n1.mpbk"), self.path("n2.mpbk")
        self.backup(a, "env:MP_BK_KEY")
        self.backup(b, "env:MP_BK_KEY")
        with open(a, "rb") as f:
            da = f.read()
        with open(b, "rb") as f:
            db = f.read()
        self.assertNotEqual(da[16:28], db[16:28])
        self.assertNotEqual(da[HEADER:HEADER + 64], db[HEADER:HEADER + 64])

    def test_replaces_existing_backup(self):
        out = self.path("again.mpbk")
        self.backup(out, "env:MP_BK_KEY")
        first = os.stat(out).st_ino
        self.backup(out, "env:MP_BK_KEY")
        self.assertNotEqual(os.stat(out).st_ino, first)
        self.assert_restored(out, self.path("again.db"), "--key", "env:MP_BK_KEY")

    def test_last_backup_follows_the_clock(self):
        c = self.connect(self.src)
        c.execute("SELECT mp_clock_set(1700000000123)")
        c.execute("SELECT mp_backup(?)", (self.path("clock.db"),))
        self.assertEqual(c.execute(
            "SELECT value FROM mp_stats WHERE name = 'last_backup'").fetchone()[0],
            1700000000)
        c.close()

    # Damaged and wrong input to mp-restore.

    def test_wrong_key(self):
        self.assert_refused(self.enc, self.path("wrong.db"), r"wrong key",
                            "--key", "env:MP_BK_OTHER")

    def test_flipped_bytes(self):
        size = len(self.enc_bytes)
        offsets = {
            0: r"not an mp backup", 3: r"not an mp backup",
            4: r"unsupported backup format version",
            5: r"unsupported encryption algorithm",
            6: r"unsupported header flags", 7: r"unsupported header flags",
            8: r"damaged header|the header says", 15: r"the header says",
            16: r"wrong key .*header is damaged", 27: r"wrong key",
            28: r"wrong key", 43: r"wrong key",
            HEADER: r"authentication failed", HEADER + 1: r"authentication failed",
            size // 2: r"authentication failed",
            size - 17: r"authentication failed",  # last ciphertext byte
            size - 16: r"authentication failed",  # first tag byte
            size - 1: r"authentication failed",   # last tag byte
        }
        for off, pattern in sorted(offsets.items()):
            for bit in (0x01, 0x80):
                with self.subTest(offset=off, bit=bit):
                    data = bytearray(self.enc_bytes)
                    data[off] ^= bit
                    bad = self.write("flip.mpbk", bytes(data))
                    self.assert_refused(bad, self.path("flip.db"), pattern,
                                        "--key", "env:MP_BK_KEY")

    def test_truncated(self):
        size = len(self.enc_bytes)
        for n in (0, 3, 4, 20, HEADER - 1, HEADER, OVERHEAD - 1, OVERHEAD,
                  1000, 1024 * 1024 + HEADER, size // 2, size - 17, size - 16,
                  size - 1):
            with self.subTest(length=n):
                bad = self.write("trunc.mpbk", self.enc_bytes[:n])
                self.assert_refused(
                    bad, self.path("trunc.db"),
                    r"truncated|not an mp backup", "--key", "env:MP_BK_KEY")

    def test_appended_byte(self):
        bad = self.write("long.mpbk", self.enc_bytes + b"\0")
        self.assert_refused(bad, self.path("long.db"), r"the header says",
                            "--key", "env:MP_BK_KEY")

    def test_encrypted_without_key(self):
        self.assert_refused(self.enc, self.path("nokey.db"), r"is encrypted; give --key")

    def test_plain_with_key(self):
        out = self.path("plain-k.db")
        self.backup(out)
        self.assert_refused(out, self.path("plain-k-restored.db"),
                            r"plain \(unencrypted\) backup but --key was given",
                            "--key", "env:MP_BK_KEY")

    def test_not_a_backup(self):
        bad = self.write("junk.bin", b"hello, this is not a backup at all" * 10)
        self.assert_refused(bad, self.path("junk.db"), r"is not an mp backup")
        self.assert_refused(self.path("nonexistent.mpbk"), self.path("junk.db"),
                            r"cannot open .*No such file")

    def test_plain_truncated(self):
        out = self.path("plain-t.db")
        self.backup(out)
        with open(out, "rb") as f:
            data = f.read()
        for n in (50, 4096, len(data) // 2 + 1, len(data) - 4096, len(data) - 1):
            with self.subTest(length=n):
                bad = self.write("plain-trunc.db", data[:n])
                self.assert_refused(bad, self.path("plain-trunc-restored.db"),
                                    r"truncated|not a complete SQLite database")

    def test_plain_tampered_fails_checks(self):
        out = self.path("plain-x.db")
        self.backup(out)
        c = sqlite3.connect(out)
        c.execute("UPDATE messages SET message_text = 'tampered' WHERE seq = 5")
        c.commit()
        c.close()
        new_db = self.path("plain-x-restored.db")
        r = self.restore(out, new_db)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("integrity_check: ok\n", r.stdout)
        self.assertIn("mp_verify: 1\n", r.stdout)
        self.assertTrue(os.path.exists(new_db))

    def test_never_replaces(self):
        existing = self.write("existing.db", b"precious")
        r = self.restore(self.enc, existing, "--key", "env:MP_BK_KEY")
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists; not replacing it", r.stderr)
        with open(existing, "rb") as f:
            self.assertEqual(f.read(), b"precious")
        new_db = self.path("stale-wal.db")
        self.write("stale-wal.db-wal", b"stale")
        self.assert_refused(self.enc, new_db, r"leftover -wal", "--key",
                            "env:MP_BK_KEY")
        self.write("stale-tmp.db.tmp", b"stale")
        r = self.restore(self.enc, self.path("stale-tmp.db"), "--key",
                         "env:MP_BK_KEY")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot create", r.stderr)
        self.assertFalse(os.path.exists(self.path("stale-tmp.db")))

    def test_signal_leaves_no_tmp(self):
        """SIGTERM at various moments: NEW_DB.tmp never survives, and NEW_DB
        exists only if the restore got past the tag check."""
        for i, delay in enumerate((0, 0.005, 0.01, 0.02, 0.04, 0.08)):
            with self.subTest(delay=delay):
                new_db = self.path("sig-%d.db" % i)
                p = subprocess.Popen([RESTORE, self.enc, new_db, "--key",
                                      "env:MP_BK_KEY"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=tool_env())
                time.sleep(delay)
                p.terminate()
                out, err = p.communicate()
                self.assert_no_key((out + err).decode())
                self.assertIn(p.returncode, (0, -signal.SIGTERM))
                self.assertFalse(os.path.lexists(new_db + ".tmp"))
                if p.returncode != 0 and os.path.exists(new_db):
                    # Killed during the checks: the file is complete.
                    self.assertEqual(os.path.getsize(new_db),
                                     len(self.enc_bytes) - OVERHEAD)

    def test_usage(self):
        r = subprocess.run([RESTORE, self.enc], capture_output=True, text=True,
                           env=tool_env())
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: mp-restore", r.stderr)

    # Keys.

    def test_key_file_modes(self):
        for mode in (0o644, 0o640, 0o604, 0o620, 0o601, 0o610):
            with self.subTest(mode=oct(mode)):
                key_file = self.write("loose.key", KEY.encode(), mode)
                out = self.path("loose.mpbk")
                msg = self.backup_error(out, "file:" + key_file)
                self.assertIn("is accessible to group or others (mode %04o); "
                              "chmod 600 it" % mode, msg)
                self.assertFalse(os.path.lexists(out))
                self.assertFalse(os.path.lexists(out + ".tmp"))
                self.assert_refused(self.enc, self.path("loose.db"),
                                    r"accessible to group or others", "--key",
                                    "file:" + key_file)
        key_file = self.write("tight.key", KEY.encode(), 0o400)
        self.backup(self.path("tight.mpbk"), "file:" + key_file)

    def test_key_file_content(self):
        for name, data in (("empty.key", b""), ("short.key", KEY[:-2].encode()),
                           ("long.key", (KEY + "00").encode()),
                           ("nothex.key", ("g" + KEY[1:]).encode()),
                           ("huge.key", KEY.encode() * 10)):
            with self.subTest(name=name):
                key_file = self.write(name, data)
                msg = self.backup_error(self.path("kc.mpbk"), "file:" + key_file)
                self.assertRegex(msg, r"is empty|must hold 64 hex digits")
                self.assert_refused(self.enc, self.path("kc.db"),
                                    r"is empty|must hold 64 hex digits",
                                    "--key", "file:" + key_file)
        msg = self.backup_error(self.path("kc.mpbk"), "file:" + self.path("none.key"))
        self.assertIn("cannot open key file", msg)
        self.assertFalse(os.path.lexists(self.path("kc.mpbk.tmp")))

    def test_key_variables(self):
        cases = (("env:MP_BK_UNSET", r"key variable MP_BK_UNSET is not set"),
                 ("env:MP_BK_EMPTY", r"key variable MP_BK_EMPTY is empty"),
                 ("env:MP_BK_SHORT", r"must hold 64 hex digits"),
                 ("env:", r"needs a variable name"))
        for spec, pattern in cases:
            with self.subTest(spec=spec):
                out = self.path("kv.mpbk")
                self.assertRegex(self.backup_error(out, spec), pattern)
                self.assertFalse(os.path.lexists(out))
                self.assert_refused(self.enc, self.path("kv.db"), pattern,
                                    "--key", spec)
        for spec in (KEY[:-1], KEY + "0", "z" * 64, "key:" + KEY):
            with self.subTest(spec=spec[:6]):
                msg = self.backup_error(self.path("kv.mpbk"), spec)
                self.assertEqual(
                    msg, "mp_backup: key must be env:NAME, file:PATH or 64 hex digits")
                self.assert_refused(self.enc, self.path("kv.db"),
                                    r"key must be env:NAME", "--key", spec)

    # Files and modes.

    def test_umask_000(self):
        old = os.umask(0)
        try:
            plain, enc = self.path("umask.db"), self.path("umask.mpbk")
            self.backup(plain)
            self.backup(enc, "env:MP_BK_KEY")
            restored = self.path("umask-restored.db")
            r = self.restore(enc, restored, "--key", "env:MP_BK_KEY")
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            os.umask(old)
        for p in (plain, enc, restored):
            self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600, p)

    def test_failures_leave_nothing(self):
        missing = os.path.join(self.dir, "no-such-dir", "x.db")
        msg = self.backup_error(missing, "env:MP_BK_KEY")
        self.assertIn("cannot create %s.tmp: No such file or directory" % missing, msg)
        # A stale .tmp (another backup, or a crash) is never overwritten.
        stale = self.write("stale.mpbk.tmp", b"someone else's")
        msg = self.backup_error(self.path("stale.mpbk"), "env:MP_BK_KEY")
        self.assertIn("cannot create %s: File exists" % stale, msg)
        with open(stale, "rb") as f:
            self.assertEqual(f.read(), b"someone else's")
        self.assertFalse(os.path.lexists(self.path("stale.mpbk")))
        # Not the live database, nor its WAL.
        before = os.path.getsize(self.src)
        for target in (self.src, self.src + "-wal"):
            msg = self.backup_error(target)
            self.assertRegex(msg, r"(is|belongs to) the live database")
        self.assertEqual(os.path.getsize(self.src), before)
        if os.geteuid() != 0:
            ro = self.path("readonly")
            os.mkdir(ro, 0o500)
            msg = self.backup_error(os.path.join(ro, "x.db"))
            self.assertIn("Permission denied", msg)

    def test_zz_key_in_no_file(self):
        """Last: no file in the test directory holds the key, in hex or raw."""
        raw = bytes.fromhex(KEY)
        for root, _, files in os.walk(self.dir):
            for name in files:
                p = os.path.join(root, name)
                if name.endswith(".key") or name.endswith(".hex"):
                    continue
                with open(p, "rb") as f:
                    data = f.read()
                for needle in (KEY.encode(), KEY.upper().encode(), raw):
                    self.assertNotIn(needle, data, p)
        self.assertGreater(len(BackupSecurity.outputs), 50)


def main():
    global EXTENSION, RESTORE
    if len(sys.argv) < 3:
        print("usage: test_backup_security.py MP_EXTENSION MP_RESTORE "
              "[unittest args]", file=sys.stderr)
        sys.exit(2)
    EXTENSION = os.path.abspath(sys.argv[1])
    RESTORE = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)


if __name__ == "__main__":
    main()
