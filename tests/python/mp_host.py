# SPDX-License-Identifier: MIT
"""What the Python host tests share (tests/python/test_load.py and
tests/concurrency/test_two_producers_two_consumers.py): a connection of
the standard library's sqlite3 with mp loaded, and the command line that
names build/mp.so.

Standard library only. The tests run with Debian's /usr/bin/python3,
whose sqlite3 module can load extensions; a script outside this folder
puts it on sys.path before importing this module.
"""

import os
import sqlite3
import sys
import unittest


def connect(path, extension, busy_timeout_ms=10000):
    """An autocommit connection to path that waits busy_timeout_ms for a
    lock, with mp loaded from the file extension (None: not loaded)."""
    conn = sqlite3.connect(path, isolation_level=None,
                           timeout=busy_timeout_ms / 1000.0)
    conn.execute("PRAGMA busy_timeout = %d" % busy_timeout_ms)
    if extension is not None:
        conn.enable_load_extension(True)
        conn.load_extension(extension)
        conn.enable_load_extension(False)
    return conn


def extension_from_command_line():
    """(the absolute path of mp.so, the arguments left for unittest): the
    path is the first argument unless that is an option, else
    $MP_EXTENSION. Exits with status 2 and says why when there is none,
    the file does not exist, or this Python's sqlite3 cannot load
    extensions."""
    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        extension = args.pop(0)
    else:
        extension = os.environ.get("MP_EXTENSION")
    if not extension:
        sys.stderr.write("usage: %s PATH/TO/mp.so [unittest options] "
                         "(or set MP_EXTENSION)\n" % sys.argv[0])
        sys.exit(2)
    extension = os.path.abspath(extension)
    if not os.path.exists(extension):
        sys.stderr.write("%s: no such file\n" % extension)
        sys.exit(2)
    probe = sqlite3.connect(":memory:")
    if not hasattr(probe, "enable_load_extension"):
        sys.stderr.write("%s: this Python's sqlite3 cannot load extensions; "
                         "use /usr/bin/python3\n" % sys.executable)
        sys.exit(2)
    probe.close()
    # sqlite3 adds the platform suffix itself; the full name works too.
    return extension, args


def run_unittest(args):
    """Runs the tests of __main__ with the unittest arguments args, one
    line per test. Returns the exit status: 0 if all passed, else 1."""
    prog = unittest.main(argv=[sys.argv[0]] + args, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1
