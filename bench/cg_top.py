#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/cg_top.py CALLGRIND_OUT MESSAGES [N]: the total instructions per
message of a callgrind profile of mp-bench, and the N (default 12) ext/
functions with the most inclusive instructions per message, with their
own (self) share. Used by bench/profile.sh."""

import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?):(\S+)\s+\[")


def costs(path, inclusive):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
         "--threshold=100", path], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m and re.search(r"(^|/)ext/", m.group(2)):
            key = m.group(2).split("/")[-1] + ":" + m.group(3)
            found[key] = found.get(key, 0) + int(m.group(1).replace(",", ""))
    return found


def main():
    path, n = sys.argv[1], float(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    total = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    incl, own = costs(path, True), costs(path, False)
    print("%s: %.0f instructions per message" % (path, total / n))
    for key in sorted(incl, key=lambda k: -incl[k])[:top]:
        print("  %9.0f incl %9.0f self  %s" % (incl[key] / n, own.get(key, 0) / n, key))


if __name__ == "__main__":
    main()
