#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Self-test of the fake Bot API server: its answers have the real shapes.

Usage:

    python3 tests/botapi/test_fake_botapi.py tests/botapi/fake_botapi.py

Starts the server on 127.0.0.1 with a scripted fault list, sends requests
with urllib and checks each answer's status and JSON. Exit status 0 when
every check passed.
"""

import http.client
import json
import subprocess
import sys
import urllib.parse

TOKEN = "123456:SELFTEST-token"


def main():
    server = sys.argv[1]
    proc = subprocess.Popen(
        [sys.executable, server, "--token", TOKEN, "--script",
         "7:429:5,502,drop,500", "--blocked-chat", "8", "--migrate=-9:-1009",
         "--missing-chat", "10"], stdout=subprocess.PIPE, text=True)
    failures = 0
    try:
        port = int(proc.stdout.readline().split()[1])

        def post(path, body, form=False):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if form:
                data = urllib.parse.urlencode(body)
                ctype = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body)
                ctype = "application/json"
            try:
                conn.request("POST", path, data, {"Content-Type": ctype})
                r = conn.getresponse()
                raw = r.read()
                try:
                    return r.status, json.loads(raw)
                except ValueError:
                    return r.status, raw.decode()
            except (ConnectionError, http.client.RemoteDisconnected):
                return 0, None
            finally:
                conn.close()

        send = "/bot%s/sendMessage" % TOKEN
        cases = [
            ("429", post(send, {"chat_id": 7, "text": "a"}),
             lambda s, b: s == 429 and b == {
                 "ok": False, "error_code": 429,
                 "description": "Too Many Requests: retry after 5",
                 "parameters": {"retry_after": 5}}),
            ("502 html", post(send, {"chat_id": 7, "text": "a"}),
             lambda s, b: s == 502 and "<html>" in b),
            ("drop", post(send, {"chat_id": 7, "text": "a"}),
             lambda s, b: s == 0),
            ("500", post(send, {"chat_id": 7, "text": "a"}),
             lambda s, b: s == 500 and b["error_code"] == 500),
            ("ok", post(send, {"chat_id": 7, "text": "<b>x</b> &amp; y",
                               "parse_mode": "HTML"}),
             lambda s, b: s == 200 and b["ok"] is True and
             b["result"]["message_id"] == 1 and
             b["result"]["chat"]["id"] == 7 and
             b["result"]["text"] == "x & y"),
            ("form", post(send, {"chat_id": 7, "text": "form"}, form=True),
             lambda s, b: s == 200 and b["result"]["message_id"] == 2),
            ("401", post("/botWRONG:token/sendMessage",
                         {"chat_id": 7, "text": "a"}),
             lambda s, b: s == 401 and b == {
                 "ok": False, "error_code": 401,
                 "description": "Unauthorized"}),
            ("404", post("/bot%s/noSuchMethod" % TOKEN, {}),
             lambda s, b: s == 404 and b["description"] == "Not Found"),
            ("403", post(send, {"chat_id": 8, "text": "a"}),
             lambda s, b: s == 403 and b["description"] ==
             "Forbidden: bot was blocked by the user"),
            ("migrate", post(send, {"chat_id": -9, "text": "a"}),
             lambda s, b: s == 400 and
             b["parameters"] == {"migrate_to_chat_id": -1009}),
            ("not found", post(send, {"chat_id": 10, "text": "a"}),
             lambda s, b: s == 400 and b["description"] ==
             "Bad Request: chat not found"),
            ("empty", post(send, {"chat_id": 7, "text": ""}),
             lambda s, b: s == 400 and "text is empty" in b["description"]),
            ("too long", post(send, {"chat_id": 7, "text": "x" * 4097}),
             lambda s, b: s == 400 and "too long" in b["description"]),
            ("4096 ok", post(send, {"chat_id": 7, "text": "é" * 4096}),
             lambda s, b: s == 200),
            ("html bad", post(send, {"chat_id": 7, "text": "<b>x",
                                     "parse_mode": "HTML"}),
             lambda s, b: s == 400 and "can't parse entities" in
             b["description"]),
            ("md2 bad", post(send, {"chat_id": 7, "text": "1.5",
                                    "parse_mode": "MarkdownV2"}),
             lambda s, b: s == 400 and "reserved" in b["description"]),
            ("md2 ok", post(send, {"chat_id": 7, "text": "*b* 1\\.5 `c.d`",
                                   "parse_mode": "MarkdownV2"}),
             lambda s, b: s == 200 and b["result"]["text"] == "b 1.5 c.d"),
            ("webhook", post("/webhook", {"id": "x", "chat_id": 7,
                                          "text": "w"}),
             lambda s, b: s == 200 and b == {"ok": True}),
        ]
        for name, (status, body), ok in cases:
            try:
                good = ok(status, body)
            except (KeyError, TypeError):
                good = False
            print("%s %s" % ("ok  " if good else "FAIL", name))
            if not good:
                print("     got %r %r" % (status, body))
                failures += 1
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
