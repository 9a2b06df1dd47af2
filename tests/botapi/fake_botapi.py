#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A local, fault-injecting stand-in for the Telegram Bot API.

Usage:

    python3 tests/botapi/fake_botapi.py --token 123456:TEST-token \
        --log delivered.jsonl [fault options]
    # stdout line 1: "PORT <n>"; then point the runner at it:
    TELEGRAM_BOT_TOKEN=123456:TEST-token build/mp-runner --db q.db \
        --api-url http://127.0.0.1:<n>

It listens on 127.0.0.1 only (port 0 = any free port, printed as the first
line of stdout) and speaks the Bot API's real response shapes:

    POST /bot<token>/sendMessage   JSON, form or query parameters
      200 {"ok":true,"result":{"message_id":N,"from":{...},"chat":{"id":..,
           "type":..},"date":..,"text":..}}
      400 {"ok":false,"error_code":400,"description":"Bad Request: ..."}
          (chat not found, message text is empty, message is too long,
           can't parse entities, or "parameters":{"migrate_to_chat_id":N})
      401 {"ok":false,"error_code":401,"description":"Unauthorized"}
      403 {"ok":false,"error_code":403,
           "description":"Forbidden: bot was blocked by the user"}
      404 {"ok":false,"error_code":404,"description":"Not Found"}
      429 {"ok":false,"error_code":429,
           "description":"Too Many Requests: retry after 3",
           "parameters":{"retry_after":3}}
      5xx JSON (500) or nginx's HTML page (502, 503, 504)
    POST /webhook                  the runner's webhook tier: 200 {"ok":true}
    GET  /stats                    counters as JSON
    POST /control                  JSON object: change fault options live

Faults (each also a key of the --config JSON file, dashes as underscores):

    --token T            the valid token (repeatable); others get 401
    --fail-rate-5xx P    answer 500/502/503/504 with probability P
    --rate-429 P         answer 429 with probability P (--retry-after S)
    --drop-rate P        read the request, then close without answering
                         (not delivered)
    --lost-reply-rate P  deliver, then close without answering (the
                         runner cannot know it arrived: in doubt)
    --slow-ms MS         answer after MS ms (--slow-rate P: only sometimes);
                         the message is delivered before the wait
    --blocked-chat ID    403 bot was blocked by the user (repeatable)
    --missing-chat ID    400 chat not found (repeatable)
    --migrate C:N        400 migrate_to_chat_id N for chat C (repeatable)
    --enforce-limits     Telegram's limits: 1 msg/s per chat, 20/min per
                         group chat (negative id), 30/s overall; excess
                         gets 429 with retry_after (--limit-slack-ms)
    --script C:A,A,...   the next answers for chat C ("*" = any chat), in
                         order: ok, 429[:S], 500, 502, 503, 504, drop,
                         lost, slow:MS, 400, 403, 401 (repeatable)
    --webhook-status N   answer the webhook with status N (default 200)
    --no-parse-check     accept any text, whatever its parse_mode
    --seed N             seed of the random faults

Every delivered message is appended to --log as one JSON line: time,
via ("telegram" or "webhook"), chat_id, text, parse_mode, message_id (and
id, in_doubt for the webhook). --requests-log gets one line per request
with the status answered. The token is never written anywhere.
"""

import argparse
import json
import math
import random
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
             "span", "tg-spoiler", "a", "code", "pre", "blockquote",
             "tg-emoji"}
MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")


class ParseError(Exception):
    """Text that Telegram would refuse with "can't parse entities"."""


def utf16_len(text):
    """Length in UTF-16 code units, the unit of Telegram's 4096 limit."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text):
    """Returns the visible text of Telegram-HTML, or raises ParseError."""
    out = []
    stack = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "<":
            m = re.match(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+"
                         r"(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>",
                         text[i:])
            if not m:
                raise ParseError("Unsupported start tag at byte offset %d"
                                 % len(text[:i].encode()))
            closing, name = m.group(1) == "/", m.group(2).lower()
            if name not in HTML_TAGS:
                raise ParseError('Unsupported start tag "%s" at byte offset '
                                 "%d" % (name, len(text[:i].encode())))
            if closing:
                if not stack or stack[-1] != name:
                    raise ParseError("Unmatched end tag at byte offset %d, "
                                     'expected "</%s>", found "</%s>"'
                                     % (len(text[:i].encode()),
                                        stack[-1] if stack else "", name))
                stack.pop()
            else:
                stack.append(name)
            i += m.end()
        elif c == "&":
            m = re.match(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});",
                         text[i:])
            if m:
                ent = m.group(1)
                if ent.startswith("#x"):
                    out.append(chr(int(ent[2:], 16)))
                elif ent.startswith("#"):
                    out.append(chr(int(ent[1:])))
                else:
                    out.append({"lt": "<", "gt": ">", "amp": "&",
                                "quot": '"'}[ent])
                i += m.end()
            elif re.match(r"&[a-zA-Z]+;", text[i:]):
                raise ParseError("Unsupported HTML entity at byte offset %d"
                                 % len(text[:i].encode()))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    if stack:
        raise ParseError('Can\'t find end tag corresponding to start tag "%s"'
                         % stack[-1])
    return "".join(out)


def parse_markdown_v2(text):
    """Returns the visible text of MarkdownV2, or raises ParseError."""
    out = []
    open_ents = []  # stack of (kind, offset)
    i = 0
    n = len(text)
    line_start = True

    def toggle(kind):
        if open_ents and open_ents[-1][0] == kind:
            open_ents.pop()
        elif any(k == kind for k, _ in open_ents):
            raise ParseError("Can't find end of %s entity at byte offset %d"
                             % (kind, len(text[:i].encode())))
        else:
            open_ents.append((kind, i))

    while i < n:
        c = text[i]
        in_code = bool(open_ents) and open_ents[-1][0] in ("Code", "Pre")
        if c == "\\":
            if i + 1 >= n or not 1 <= ord(text[i + 1]) <= 126:
                raise ParseError("Character '\\' is reserved and must be "
                                 "escaped with the preceding '\\'")
            out.append(text[i + 1])
            i += 2
            line_start = False
            continue
        if in_code:
            if text.startswith("```", i) and open_ents[-1][0] == "Pre":
                open_ents.pop()
                i += 3
            elif c == "`" and open_ents[-1][0] == "Code":
                open_ents.pop()
                i += 1
            else:
                out.append(c)
                i += 1
            continue
        if c == "\n":
            out.append(c)
            i += 1
            line_start = True
            continue
        if c == ">" and line_start:
            i += 1
            line_start = False
            continue
        line_start = False
        if text.startswith("```", i):
            open_ents.append(("Pre", i))
            i += 3
        elif c == "`":
            open_ents.append(("Code", i))
            i += 1
        elif text.startswith("||", i):
            toggle("Spoiler")
            i += 2
        elif text.startswith("__", i):
            toggle("Underline")
            i += 2
        elif c == "_":
            toggle("Italic")
            i += 1
        elif c == "*":
            toggle("Bold")
            i += 1
        elif c == "~":
            toggle("Strikethrough")
            i += 1
        elif c == "[":
            open_ents.append(("TextUrl", i))
            i += 1
        elif c == "]" and open_ents and open_ents[-1][0] == "TextUrl":
            open_ents.pop()
            m = re.match(r"\]\(((?:\\.|[^)\\])*)\)", text[i:])
            if not m:
                raise ParseError("Can't find end of a url at byte offset %d"
                                 % len(text[:i].encode()))
            i += m.end()
        elif c in MD2_RESERVED:
            raise ParseError("Character '%s' is reserved and must be escaped "
                             "with the preceding '\\'" % c)
        else:
            out.append(c)
            i += 1
    if open_ents:
        kind, at = open_ents[-1]
        raise ParseError("Can't find end of %s entity at byte offset %d"
                         % (kind, len(text[:at].encode())))
    return "".join(out)


def parse_markdown(text):
    """Returns the visible text of legacy Markdown, or raises ParseError."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
        elif text.startswith("```", i):
            j = text.find("```", i + 3)
            if j < 0:
                raise ParseError("Can't find end of the entity starting at "
                                 "byte offset %d" % len(text[:i].encode()))
            out.append(text[i + 3:j])
            i = j + 3
        elif c in "*_`":
            j = text.find(c, i + 1)
            if j < 0:
                raise ParseError("Can't find end of the entity starting at "
                                 "byte offset %d" % len(text[:i].encode()))
            out.append(text[i + 1:j])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Faults:
    """The server's configuration and shared state, behind one lock."""

    KEYS = ("fail_rate_5xx", "rate_429", "retry_after", "drop_rate",
            "lost_reply_rate", "slow_ms", "slow_rate", "enforce_limits",
            "limit_slack_ms", "webhook_status", "parse_check")

    def __init__(self, args):
        self.lock = threading.Lock()
        self.tokens = set(args.token or ["123456:TEST-token"])
        self.fail_rate_5xx = args.fail_rate_5xx
        self.rate_429 = args.rate_429
        self.retry_after = args.retry_after
        self.drop_rate = args.drop_rate
        self.lost_reply_rate = args.lost_reply_rate
        self.slow_ms = args.slow_ms
        self.slow_rate = args.slow_rate
        self.enforce_limits = args.enforce_limits
        self.limit_slack_ms = args.limit_slack_ms
        self.webhook_status = args.webhook_status
        self.parse_check = not args.no_parse_check
        self.blocked = {int(c) for c in args.blocked_chat or []}
        self.missing = {int(c) for c in args.missing_chat or []}
        self.migrate = {}
        for m in args.migrate or []:
            old, new = m.split(":")
            self.migrate[int(old)] = int(new)
        self.scripts = {}
        for s in args.script or []:
            self.add_script(s)
        self.rng = random.Random(args.seed)
        self.log_path = args.log
        self.requests_path = args.requests_log
        self.next_message_id = {}
        self.chat_last = {}
        self.group_recent = {}
        self.global_recent = deque()
        self.stats = {"requests": 0, "delivered": 0, "webhook": 0}

    def add_script(self, spec):
        chat, _, actions = spec.partition(":")
        key = chat if chat == "*" else int(chat)
        self.scripts.setdefault(key, deque()).extend(
            a.strip() for a in actions.split(",") if a.strip())

    def apply(self, conf):
        """Applies a JSON object of options (config file or /control)."""
        with self.lock:
            for key, value in conf.items():
                key = key.replace("-", "_")
                if key in self.KEYS:
                    setattr(self, key, value)
                elif key == "token":
                    self.tokens = set(value if isinstance(value, list)
                                      else [value])
                elif key == "blocked_chat":
                    self.blocked = {int(c) for c in value}
                elif key == "missing_chat":
                    self.missing = {int(c) for c in value}
                elif key == "migrate":
                    self.migrate = {int(k): int(v) for k, v in
                                    (m.split(":") for m in value)}
                elif key == "script":
                    for s in value:
                        self.add_script(s)
                elif key == "seed":
                    self.rng = random.Random(value)
                else:
                    raise ValueError("unknown option %s" % key)

    def chance(self, p):
        return p > 0 and self.rng.random() < p

    def next_action(self, chat):
        """The scripted action for this request, or None (caller locks)."""
        for key in (chat, "*"):
            queue = self.scripts.get(key)
            if queue:
                return queue.popleft()
        return None

    def limit_wait(self, chat, now):
        """Seconds until Telegram's limits allow a message to chat (0 = now).
        The caller holds the lock."""
        slack = self.limit_slack_ms / 1000.0
        wait = 0.0
        last = self.chat_last.get(chat)
        if last is not None and now - last < 1.0 - slack:
            wait = max(wait, 1.0 - (now - last))
        if chat < 0:
            recent = self.group_recent.setdefault(chat, deque())
            while recent and now - recent[0] >= 60.0 - slack:
                recent.popleft()
            if len(recent) >= 20:
                wait = max(wait, 60.0 - (now - recent[0]))
        while self.global_recent and now - self.global_recent[0] >= 1.0 - slack:
            self.global_recent.popleft()
        if len(self.global_recent) >= 30:
            wait = max(wait, 1.0 - (now - self.global_recent[0]))
        return wait

    def note_sent(self, chat, now):
        self.chat_last[chat] = now
        if chat < 0:
            self.group_recent.setdefault(chat, deque()).append(now)
        self.global_recent.append(now)

    def write_line(self, path, record):
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")


def telegram_error(code, description, parameters=None):
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


NGINX_PAGE = ("<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n"
              "<center><h1>{0}</h1></center>\r\n<hr><center>nginx/1.18.0"
              "</center>\r\n</body>\r\n</html>\r\n")
REASONS = {500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Time-out"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes
    server_version = "nginx/1.18.0"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: the logs are the files
        pass

    def read_params(self):
        """The request's parameters from the query, a JSON or a form body."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        url = urllib.parse.urlsplit(self.path)
        params = {k: v[-1] for k, v in
                  urllib.parse.parse_qs(url.query).items()}
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if raw and ctype == "application/json":
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return url.path, None
            if not isinstance(body, dict):
                return url.path, None
            params.update(body)
        elif raw:
            params.update({k: v[-1] for k, v in urllib.parse.parse_qs(
                raw.decode("utf-8", "replace")).items()})
        return url.path, params

    def answer(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (
            json.dumps(body, separators=(",", ":")).encode()
            if not isinstance(body, str)
            else body.encode())
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def drop(self):
        """Closes the connection without a byte of answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        f = self.server.faults
        if self.path == "/stats":
            with f.lock:
                self.answer(200, dict(f.stats))
        else:
            self.answer(*telegram_error(404, "Not Found"))

    def do_POST(self):
        f = self.server.faults
        path, params = self.read_params()
        if path == "/control":
            try:
                f.apply(params or {})
                self.answer(200, {"ok": True})
            except (ValueError, TypeError) as e:
                self.answer(400, {"ok": False, "description": str(e)})
            return
        if path == "/webhook":
            self.webhook(params)
            return
        m = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not m:
            self.answer(*telegram_error(404, "Not Found"))
            return
        token, method = m.group(1), m.group(2)
        if token not in f.tokens:
            self.record(None, 401, "bad token")
            self.answer(*telegram_error(401, "Unauthorized"))
            return
        if method.lower() != "sendmessage":
            self.answer(*telegram_error(404, "Not Found"))
            return
        if params is None:
            self.answer(*telegram_error(400, "Bad Request: can't parse JSON "
                                             "encoded request"))
            return
        self.send_message(params)

    def record(self, chat, status, action):
        f = self.server.faults
        with f.lock:
            f.stats["requests"] += 1
            key = "status_%s" % status
            f.stats[key] = f.stats.get(key, 0) + 1
            f.write_line(f.requests_path, {"time": time.time(),
                                           "chat_id": chat, "status": status,
                                           "action": action})

    def send_message(self, params):
        f = self.server.faults
        try:
            chat = int(params.get("chat_id"))
        except (TypeError, ValueError):
            self.record(None, 400, "chat")
            self.answer(*telegram_error(400, "Bad Request: chat_id is empty"
                                        if params.get("chat_id") in (None, "")
                                        else "Bad Request: chat not found"))
            return
        text = params.get("text")
        parse_mode = params.get("parse_mode") or None
        if not isinstance(text, str) or not text.strip():
            self.record(chat, 400, "empty")
            self.answer(*telegram_error(400, "Bad Request: message text is "
                                             "empty"))
            return
        with f.lock:
            action = f.next_action(chat)
            if action is None:
                if f.chance(f.drop_rate):
                    action = "drop"
                elif f.chance(f.lost_reply_rate):
                    action = "lost"
                elif f.chance(f.rate_429):
                    action = "429"
                elif f.chance(f.fail_rate_5xx):
                    action = str(f.rng.choice([500, 502, 503, 504]))
            slow = f.slow_ms if (f.slow_ms and (f.slow_rate >= 1 or
                                                f.chance(f.slow_rate))) else 0
            parse_check = f.parse_check
        if action and action.startswith("slow:"):
            slow, action = int(action[5:]), None
        if action == "drop":
            self.record(chat, 0, "drop")
            self.drop()
            return
        if action and action.startswith("429"):
            after = int(action[4:]) if action.startswith("429:") else \
                f.retry_after
            self.record(chat, 429, "script")
            self.answer(*telegram_error(
                429, "Too Many Requests: retry after %d" % after,
                {"retry_after": after}))
            return
        if action in ("500", "502", "503", "504"):
            code = int(action)
            self.record(chat, code, "5xx")
            if code == 500:
                self.answer(*telegram_error(500, "Internal Server Error"))
            else:
                self.answer(code, NGINX_PAGE.format("%d %s" % (code,
                                                               REASONS[code])),
                            "text/html")
            return
        if action == "401":
            self.record(chat, 401, "script")
            self.answer(*telegram_error(401, "Unauthorized"))
            return
        if action == "400":
            self.record(chat, 400, "script")
            self.answer(*telegram_error(400, "Bad Request: chat not found"))
            return
        if action == "403" or chat in f.blocked:
            self.record(chat, 403, "blocked")
            self.answer(*telegram_error(403, "Forbidden: bot was blocked by "
                                             "the user"))
            return
        if chat in f.missing:
            self.record(chat, 400, "missing")
            self.answer(*telegram_error(400, "Bad Request: chat not found"))
            return
        if chat in f.migrate:
            self.record(chat, 400, "migrate")
            self.answer(*telegram_error(
                400, "Bad Request: group chat was upgraded to a supergroup "
                     "chat", {"migrate_to_chat_id": f.migrate[chat]}))
            return
        visible = text
        if parse_check:
            try:
                if parse_mode == "HTML":
                    visible = parse_html(text)
                elif parse_mode == "MarkdownV2":
                    visible = parse_markdown_v2(text)
                elif parse_mode == "Markdown":
                    visible = parse_markdown(text)
                elif parse_mode is not None:
                    self.record(chat, 400, "parse_mode")
                    self.answer(*telegram_error(400, "Bad Request: unsupported"
                                                     " parse_mode"))
                    return
            except ParseError as e:
                self.record(chat, 400, "parse")
                self.answer(*telegram_error(
                    400, "Bad Request: can't parse entities: %s" % e))
                return
        if not visible.strip():
            self.record(chat, 400, "empty")
            self.answer(*telegram_error(400, "Bad Request: message text is "
                                             "empty"))
            return
        if utf16_len(visible) > 4096:
            self.record(chat, 400, "too long")
            self.answer(*telegram_error(400, "Bad Request: message is too "
                                             "long"))
            return
        with f.lock:
            now = time.time()
            if f.enforce_limits:
                wait = f.limit_wait(chat, now)
                if wait > 0:
                    after = max(1, int(math.ceil(wait)))
                    f.stats["limit_429"] = f.stats.get("limit_429", 0) + 1
                    f.stats["requests"] += 1
                    f.write_line(f.requests_path, {
                        "time": now, "chat_id": chat, "status": 429,
                        "action": "limit"})
                    code, body = telegram_error(
                        429, "Too Many Requests: retry after %d" % after,
                        {"retry_after": after})
                    limited = True
                else:
                    limited = False
            else:
                limited = False
            if not limited:
                f.note_sent(chat, now)
                mid = f.next_message_id.get(chat, 0) + 1
                f.next_message_id[chat] = mid
                f.stats["delivered"] += 1
                f.stats["requests"] += 1
                f.write_line(f.log_path, {
                    "time": now, "via": "telegram", "chat_id": chat,
                    "text": text, "parse_mode": parse_mode,
                    "message_id": mid})
                f.write_line(f.requests_path, {
                    "time": now, "chat_id": chat, "status": 200,
                    "action": action or "ok"})
        if limited:
            self.answer(code, body)
            return
        if slow:
            time.sleep(slow / 1000.0)
        if action == "lost":
            self.drop()
            return
        chat_type = ("private" if chat > 0 else
                     "supergroup" if str(chat).startswith("-100") else "group")
        self.answer(200, {"ok": True, "result": {
            "message_id": mid,
            "from": {"id": 123456, "is_bot": True, "first_name": "mp test",
                     "username": "mp_test_bot"},
            "chat": {"id": chat, "type": chat_type},
            "date": int(now), "text": visible}})

    def webhook(self, params):
        f = self.server.faults
        with f.lock:
            action = f.next_action("webhook")
            status = int(action) if action and action.isdigit() else \
                f.webhook_status
        if action == "drop":
            self.drop()
            return
        if params is None or "chat_id" not in params or "text" not in params:
            self.answer(400, {"ok": False, "description": "bad webhook body"})
            return
        if not 200 <= status < 300:
            self.answer(status, {"ok": False, "description": "webhook down"})
            return
        with f.lock:
            f.stats["webhook"] += 1
            f.write_line(f.log_path, {
                "time": time.time(), "via": "webhook",
                "id": params.get("id"), "chat_id": params.get("chat_id"),
                "text": params.get("text"),
                "parse_mode": params.get("parse_mode"),
                "in_doubt": params.get("in_doubt"),
                "idempotency_key": self.headers.get("Idempotency-Key")})
        self.answer(status, {"ok": True})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", action="append")
    p.add_argument("--log")
    p.add_argument("--requests-log")
    p.add_argument("--config")
    p.add_argument("--seed", type=int)
    p.add_argument("--fail-rate-5xx", type=float, default=0.0)
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--retry-after", type=int, default=3)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--lost-reply-rate", type=float, default=0.0)
    p.add_argument("--slow-ms", type=int, default=0)
    p.add_argument("--slow-rate", type=float, default=1.0)
    p.add_argument("--blocked-chat", action="append")
    p.add_argument("--missing-chat", action="append")
    p.add_argument("--migrate", action="append")
    p.add_argument("--enforce-limits", action="store_true")
    p.add_argument("--limit-slack-ms", type=int, default=50)
    p.add_argument("--script", action="append")
    p.add_argument("--webhook-status", type=int, default=200)
    p.add_argument("--no-parse-check", action="store_true")
    args = p.parse_args(argv)
    faults = Faults(args)
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            faults.apply(json.load(fh))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.faults = faults

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
