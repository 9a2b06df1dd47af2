#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of the fuzz harnesses into tests/fuzz/corpus/.

    python3 tests/fuzz/make_corpus.py [report enqueue json format split]

Each seed is a small named file; the layouts of the first bytes are
described at the top of each harness. The backup seeds are made by
tests/fuzz/make_backup_seeds.c (they need AES-GCM); see FUZZING.md. The
corpora are checked in: run this only after changing a harness's layout,
and look at the diff.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# fuzz_report.c: aStatus[] index of each status (byte 0).
STATUS = {200: 0, 201: 3, 204: 4, 299: 5, 400: 6, 401: 9, 403: 10, 404: 11,
          409: 12, 413: 13, 420: 14, 429: 15, 500: 18, 502: 19, 503: 20,
          504: 21, 0: 22, -1: 24, 100: 26, 302: 27, 999: 28, 300: 29,
          199: 30, 600: 31, -2: 32, 1: 33, 99: 34, 1000: 35}
TIER = {None: 0, "telegram": 1, "webhook": 2, "file": 3}
BODY = {"text": 0, "blob": 2 << 2, "null": 3 << 2}
ID = {"token": 0, "batch": 1 << 4, "id": 2 << 4, "stale": 3 << 4}
DURATION = {None: 0, 0: 1, 183: 2, 86400000: 3, -1: 4, 86400001: 5, 250.0: 6,
            1.5: 7}
MODE = {None: 0, "HTML": 1, "MarkdownV2": 2, "Markdown": 3}


def report(status, body=b"", tier="telegram", body_type="text", id_form="token",
           bad_tier=False, status_real=False, max_retry=3, retry=0,
           at_most_once=False, duration=None, same_chat=0, other_chat=False,
           mark_sent=False, twice=False, mode=None, pacing=False):
    """Returns one fuzz_report input."""
    if isinstance(body, str):
        body = body.encode()
    if status in STATUS:
        head = [STATUS[status]]
        raw = b""
    else:
        head = [0xF0]
        raw = (status & 0xFFFF).to_bytes(2, "big")
    b1 = (TIER[tier] | BODY[body_type] | ID[id_form] | (bad_tier << 6)
          | (status_real << 7))
    b2 = max_retry | (retry << 2) | (at_most_once << 4) | (DURATION[duration] << 5)
    b3 = (same_chat | (other_chat << 2) | (mark_sent << 3) | (twice << 4)
          | (MODE[mode] << 5) | (pacing << 7))
    return bytes(head + [b1, b2, b3]) + raw + body


def tg_error(code, description, **parameters):
    d = {"ok": False, "error_code": code, "description": description}
    if parameters:
        d["parameters"] = parameters
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


SENT = ('{"ok":true,"result":{"message_id":%s,"from":{"id":7000000001,'
        '"is_bot":true,"first_name":"mp","username":"mp_bot"},"chat":'
        '{"id":-1001234567890,"title":"ops","type":"supergroup"},'
        '"date":1700000000,"text":"Build finished"}}')

NGINX_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>"
             "\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>"
             "nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")
CLOUDFLARE = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8"
              "\"><title>api.telegram.org | 504: Gateway time-out</title>"
              "<style>body{font-family:system-ui}</style></head>\n<body><div "
              "id=\"cf-error-details\"><h1>Gateway time-out</h1><p>Error code"
              " 504</p><p>Visit cloudflare.com for more information.</p>"
              "<p>2024-01-01 00:00:00 UTC</p><p>Ray ID: 7d1c2b3a4f5e6d7c</p>"
              "<p>The web server reported a gateway time-out error. Please "
              "try again in a few minutes. \u2014 \u00e9\u00e8\u00ea "
              "\U0001F600\U0001F600\U0001F600</p></div></body>\n</html>\n")


def report_seeds():
    s = {}
    s["200_sent"] = report(200, SENT % "77", duration=183)
    s["200_sent_big_id"] = report(200, SENT % "2147483648")
    s["200_sent_id_max"] = report(200, SENT % "9223372036854775807")
    s["200_sent_id_over"] = report(200, SENT % "9223372036854775808")
    s["200_sent_id_real"] = report(200, SENT % "77.0")
    s["200_sent_id_exp"] = report(200, SENT % "7.7e1", tier=None)
    s["200_sent_id_frac"] = report(200, SENT % "77.5")
    s["200_sent_id_string"] = report(200, SENT % '"77"')
    s["200_sent_id_negative"] = report(200, SENT % "-5", id_form="id")
    s["200_result_true"] = report(200, '{"ok":true,"result":true}')
    s["200_ok_false"] = report(200, '{"ok":false,"result":{"message_id":1}}')
    s["200_dup_ok"] = report(200, '{"ok":false,"ok":true,"result":'
                                  '{"message_id":1,"message_id":2}}')
    s["200_truncated"] = report(200, (SENT % "77")[:40])
    s["200_empty"] = report(200, "")
    s["200_html"] = report(200, "<html><body>OK</body></html>")
    s["200_at_most_once"] = report(200, "{}", at_most_once=True)
    s["200_blob"] = report(200, SENT % "12", body_type="blob")
    s["200_markdown"] = report(200, SENT % "13", mode="MarkdownV2",
                               same_chat=2, other_chat=True)
    s["201_sent"] = report(201, SENT % "1", mark_sent=True)
    s["204_webhook"] = report(204, "", tier="webhook")
    s["200_file"] = report(200, "written", tier="file", duration=0)
    s["200_webhook_with_id"] = report(200, '{"result":{"message_id":9}}',
                                      tier="webhook")
    s["500_webhook"] = report(500, "Internal Server Error", tier="webhook")
    s["429_webhook"] = report(429, '{"parameters":{"retry_after":2}}',
                              tier="file")
    s["429_retry_after"] = report(429, tg_error(
        429, "Too Many Requests: retry after 35", retry_after=35),
        pacing=True, duration=250.0)
    s["429_no_hint"] = report(429, '{"ok":false,"error_code":429}')
    s["429_huge"] = report(429, tg_error(429, "Too Many Requests",
                                         retry_after=99999999))
    s["429_negative"] = report(429, tg_error(429, "x", retry_after=-3))
    s["429_real"] = report(429, '{"ok":false,"parameters":{"retry_after":1.5}}')
    s["429_string"] = report(429, '{"ok":false,"parameters":'
                                  '{"retry_after":"10"}}')
    s["429_over"] = report(429, '{"parameters":{"retry_after":'
                                '99999999999999999999}}')
    s["400_migrate"] = report(400, tg_error(
        400, "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1001234567891), same_chat=3, other_chat=True)
    s["400_migrate_other"] = report(400, tg_error(
        400, "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=777), same_chat=1, other_chat=True, mode="HTML")
    s["400_migrate_same"] = report(400, tg_error(
        400, "upgraded", migrate_to_chat_id=-1001234567890), same_chat=2)
    s["400_migrate_zero"] = report(400, tg_error(400, "x",
                                                 migrate_to_chat_id=0))
    s["400_migrate_string"] = report(400, '{"ok":false,"parameters":'
                                          '{"migrate_to_chat_id":"-100"}}')
    s["400_entities"] = report(400, tg_error(
        400, "Bad Request: can't parse entities: Can't find end of the "
        "entity starting at byte offset 5"), mode="HTML")
    s["400_chat_not_found"] = report(400, tg_error(
        400, "Bad Request: chat not found"), twice=True)
    s["400_too_long"] = report(400, tg_error(
        400, "Bad Request: message is too long"))
    s["400_escaped"] = report(400, '{"ok":false,"error_code":400,'
                                   '"description":"Bad Request: \\"quoted\\" '
                                   '\\u00e9 \\ud83d\\ude00 \\u0000 end"}')
    s["403_blocked"] = report(403, tg_error(
        403, "Forbidden: bot was blocked by the user"), id_form="id")
    s["403_kicked"] = report(403, tg_error(
        403, "Forbidden: bot was kicked from the supergroup chat"))
    s["401_unauthorized"] = report(401, tg_error(401, "Unauthorized"))
    s["404_not_found"] = report(404, tg_error(404, "Not Found"))
    s["409_conflict"] = report(409, tg_error(
        409, "Conflict: terminated by other getUpdates request"))
    s["413_too_large"] = report(413, "Request Entity Too Large")
    s["500_internal"] = report(500, tg_error(500, "Internal Server Error"),
                               retry=1, max_retry=2)
    s["502_nginx"] = report(502, NGINX_502, retry=2, max_retry=2)
    s["503_exhausted"] = report(503, "Service Unavailable", retry=3,
                                max_retry=3)
    s["504_cloudflare"] = report(504, CLOUDFLARE * 2)
    s["0_dns"] = report(0, "Could not resolve host: api.telegram.org",
                        duration=183)
    s["0_null"] = report(0, body_type="null")
    s["minus1_timeout"] = report(-1, "Operation timed out after 30000 "
                                     "milliseconds with 0 bytes received",
                                 duration=86400000)
    s["minus1_exhausted"] = report(-1, "", retry=1, max_retry=1)
    s["minus1_at_most_once"] = report(-1, "reset", at_most_once=True)
    s["100_continue"] = report(100, "")
    s["302_redirect"] = report(302, "<a href=\"https://t.me\">Found</a>")
    s["999_odd"] = report(999, "?")
    s["invalid_status_minus2"] = report(-2, "x")
    s["invalid_status_99"] = report(99, "x")
    s["invalid_status_raw"] = report(-300, "{}")
    s["status_real"] = report(200, SENT % "5", status_real=True)
    s["invalid_tier"] = report(200, SENT % "5", bad_tier=True)
    s["invalid_duration"] = report(200, SENT % "5", duration=-1)
    s["invalid_duration_real"] = report(500, "x", duration=1.5)
    s["invalid_duration_day"] = report(200, SENT % "5", duration=86400001)
    s["invalid_body_integer"] = report(200, b"7", body_type="null")
    s["stale_token"] = report(200, SENT % "5", id_form="stale")
    s["not_utf8"] = report(502, b"bad \xff\xfe bytes \xc3\x28 \xed\xa0\x80")
    s["nul_in_json"] = report(200, b'{"ok":true,"result":{"message_id":1}}\0')
    s["deep_ok"] = report(200, '{"ok":true,"result":{"message_id":3},"x":'
                          + "[" * 300 + "]" * 300 + "}")
    s["deep_too_deep"] = report(200, '{"ok":true,"result":{"message_id":3},'
                                '"x":' + "[" * 600 + "]" * 600 + "}")
    s["deep_unclosed"] = report(400, "{" * 50 + '"a":' * 10)
    s["huge_numbers"] = report(400, '{"ok":false,"error_code":1e999999,'
                                    '"parameters":{"migrate_to_chat_id":'
                                    '-1e2,"retry_after":1e400}}')
    s["description_not_string"] = report(403, '{"ok":false,"description":'
                                              '{"text":"nested"}}')
    s["description_long"] = report(400, tg_error(
        400, "Bad Request: " + "\u00e9" * 300))
    s["array_top"] = report(200, '[{"ok":true,"result":{"message_id":1}}]')
    s["batch_sent"] = report(200, SENT % "78", id_form="batch", duration=183)
    s["batch_429"] = report(429, tg_error(429, "Too Many Requests",
                                          retry_after=7), id_form="batch",
                            tier="webhook", twice=True)
    s["batch_migrate"] = report(400, tg_error(
        400, "upgraded", migrate_to_chat_id=-1001234567891), id_form="batch",
        same_chat=2, other_chat=True)
    s["batch_nul_body"] = report(502, b"a\0b", id_form="batch")
    s["batch_null_body"] = report(-1, id_form="batch", body_type="null")
    s["batch_integer_body"] = report(500, b"7", id_form="batch",
                                     body_type="null")
    s["batch_bad_tier"] = report(200, "{}", id_form="batch", bad_tier=True)
    s["batch_real_status"] = report(503, "x", id_form="batch",
                                    status_real=True, duration=250.0)
    s["batch_bad_duration"] = report(503, "x", id_form="batch", duration=1.5)
    s["batch_minus1_duration"] = report(503, "x", id_form="batch",
                                        duration=-1)
    return s


# fuzz_enqueue.c
def enqueue(text=b"Build finished", event=None, options=None, nargs=None,
            chat="default", built=False, event_null=False, options_null=False,
            twice=False, repeat=0, chat_entry=0, text_blob=False,
            json_blob=False, batch=False, chat_bytes=None):
    """Returns one fuzz_enqueue input; options is bytes, str, or (built) a
    list of key/value pieces."""
    def b(x):
        return x.encode() if isinstance(x, str) else x
    if nargs is None:
        nargs = 4 if options is not None else 3 if event is not None else 2
    b0 = {2: 0, 3: 1, 4: 2}[nargs]
    b0 |= {"default": 0, "bytes": 1, "entry": 2, "real": 3}[chat] << 2
    b0 |= (built << 4) | (event_null << 5) | (options_null << 6) | (twice << 7)
    b1 = (repeat | (chat_entry << 3) | (text_blob << 6) | (batch << 7)
          | (json_blob * (3 << 6)))
    out = bytes([b0, b1])
    if chat == "bytes":
        out += chat_bytes
    out += b(text)
    if event is not None or options is not None:
        out += b"\0" + b(event if event is not None else "")
    if options is not None:
        if built:
            out += b"\0" + b"\0".join(b(x) for x in options)
        else:
            out += b"\0" + b(options)
    return out


def enqueue_seeds():
    s = {}
    s["plain"] = enqueue()
    s["event"] = enqueue(event='{"type":"build_completed","title":"Build"}')
    s["options_high"] = enqueue(event='{"type":"x"}',
                                options='{"priority":"high"}', twice=True)
    s["options_all"] = enqueue(
        event='{"type":"approval_request"}',
        options='{"priority":"critical","delay_ms":60000,'
                '"dedup_key":"deploy-42","parse_mode":"HTML"}', twice=True)
    s["options_numbers"] = enqueue(options='{"priority":0,"delay_ms":0}')
    s["options_real"] = enqueue(options='{"priority":2.0,"delay_ms":1e3}')
    s["options_frac"] = enqueue(options='{"priority":1.5}')
    s["options_bad_priority"] = enqueue(options='{"priority":"urgent"}')
    s["options_priority_4"] = enqueue(options='{"priority":4}')
    s["options_delay_max"] = enqueue(options='{"delay_ms":31536000000}')
    s["options_delay_over"] = enqueue(options='{"delay_ms":31536000001}')
    s["options_delay_neg"] = enqueue(options='{"delay_ms":-1}')
    s["options_delay_huge"] = enqueue(options='{"delay_ms":1e400}')
    s["options_dedup_empty"] = enqueue(options='{"dedup_key":""}')
    s["options_dedup_long"] = enqueue(options='{"dedup_key":"%s"}' % ("k" * 257))
    s["options_dedup_256"] = enqueue(options='{"dedup_key":"%s"}' % ("k" * 256),
                                     twice=True)
    s["options_dedup_nul"] = enqueue(options='{"dedup_key":"a\\u0000b"}')
    s["options_priority_nul"] = enqueue(options='{"priority":"low\\u0000x"}')
    s["options_mode_nul"] = enqueue(options='{"parse_mode":"HTML\\u0000x"}')
    s["options_mode_case"] = enqueue(text="<b>bold</b>",
                                     options='{"parse_mode":"markdownv2"}')
    s["options_mode_null"] = enqueue(options='{"parse_mode":"HTML",'
                                             '"parse_mode":null}')
    s["options_mode_bad"] = enqueue(options='{"parse_mode":"html5"}')
    s["options_unknown"] = enqueue(options='{"priority":"low","ttl":5}')
    s["options_dup_keys"] = enqueue(options='{"priority":"low",'
                                            '"priority":"high"}')
    s["options_escaped_key"] = enqueue(options='{"\\u0070riority":"high"}')
    s["options_array"] = enqueue(options='["priority","high"]')
    s["options_empty_object"] = enqueue(options="{}")
    s["options_empty_text"] = enqueue(options="")
    s["options_null"] = enqueue(options="{}", options_null=True)
    s["options_blob"] = enqueue(options='{"priority":"high"}', json_blob=True)
    s["options_truncated"] = enqueue(options='{"priority":"hi')
    s["options_deep"] = enqueue(options='{"priority":' + "[" * 600 + "]" * 600
                                + "}")
    s["built_all"] = enqueue(built=True, event="{}", options=[
        b"\0", b"\3", b"\1", b"\10", b"\2", b"\12", b"\3", b"\4"])
    s["built_raw"] = enqueue(built=True, options=[b"priority", b"critical",
                                                  b"parse_mode", b"Markdown"])
    s["event_null"] = enqueue(event="{}", event_null=True, nargs=3)
    s["event_not_object"] = enqueue(event="[1,2,3]")
    s["event_invalid"] = enqueue(event='{"a":01}')
    s["event_empty"] = enqueue(event="", nargs=3)
    s["event_deep"] = enqueue(event='{"a":' + "[" * 500 + "]" * 500 + "}")
    s["event_surrogate"] = enqueue(event='{"a":"\\ud800"}')
    s["event_blob"] = enqueue(event="{}", json_blob=True, nargs=3)
    s["text_empty"] = enqueue(text="")
    s["text_not_utf8"] = enqueue(text=b"caf\xe9")
    s["text_nul"] = enqueue(text="abcdef", repeat=3)
    s["text_blob"] = enqueue(text_blob=True)
    s["text_emoji"] = enqueue(text="\U0001F680 deploy \u00e9\u00e8 \u202e")
    s["text_long_plain"] = enqueue(text="0123456789 abcdefghij\n", repeat=6,
                                   twice=True)
    s["text_long_html"] = enqueue(text="<b>bold</b> &amp; text ", repeat=6,
                                  options='{"parse_mode":"HTML"}')
    s["text_long_md2"] = enqueue(text="*bold* _it_ \\. text ", repeat=6,
                                 options='{"parse_mode":"MarkdownV2"}')
    s["text_long_bad_html"] = enqueue(text="<b>unclosed ", repeat=7,
                                      options='{"parse_mode":"HTML"}')
    s["text_long_emoji"] = enqueue(text="\U0001F600", repeat=7)
    s["chat_zero"] = enqueue(chat="entry", chat_entry=0)
    s["chat_supergroup"] = enqueue(chat="entry", chat_entry=1)
    s["chat_min"] = enqueue(chat="entry", chat_entry=2)
    s["chat_max"] = enqueue(chat="entry", chat_entry=3, twice=True)
    s["chat_null"] = enqueue(chat="entry", chat_entry=4)
    s["chat_text"] = enqueue(chat="entry", chat_entry=5)
    s["chat_frac"] = enqueue(chat="entry", chat_entry=6)
    s["chat_real_big"] = enqueue(chat="entry", chat_entry=7)
    s["chat_real"] = enqueue(chat="real")
    s["chat_bytes"] = enqueue(chat="bytes", chat_bytes=b"\xff" * 8)
    s["batch_plain"] = enqueue(batch=True)
    s["batch_all"] = enqueue(
        batch=True, event='{"type":"approval_request"}',
        options='{"priority":"critical","delay_ms":60000,'
                '"dedup_key":"deploy-42","parse_mode":"HTML"}', twice=True)
    s["batch_real_chat"] = enqueue(batch=True, chat="real",
                                   options='{"priority":2.0}')
    s["batch_frac_chat"] = enqueue(batch=True, chat="entry", chat_entry=6)
    s["batch_long"] = enqueue(batch=True, text="0123456789 abcdefghij\n",
                              repeat=6)
    s["batch_blank"] = enqueue(batch=True, text=" \n\t")
    s["batch_nul_text"] = enqueue(batch=True, text="abcdef", repeat=3)
    s["batch_event_null"] = enqueue(batch=True, event="{}", event_null=True,
                                    nargs=3)
    s["batch_bad_option"] = enqueue(batch=True, options='{"priority":9}')
    s["blank_text"] = enqueue(text=" \r\n\t ")
    s["blank_html"] = enqueue(text="<b> </b>", options='{"parse_mode":"HTML"}')
    s["blank_markdown"] = enqueue(text="*_~`|[]()>",
                                  options='{"parse_mode":"MarkdownV2"}')
    s["not_blank_markdown_plain"] = enqueue(text="*_~`")
    s["blank_markdown_legacy"] = enqueue(text="*_`[ ",
                                         options='{"parse_mode":"Markdown"}')
    s["not_blank_markdown_legacy"] = enqueue(
        text="~|()>", options='{"parse_mode":"Markdown"}')
    return s


def json_seeds():
    docs = [
        '{"ok":true,"result":{"message_id":77}}',
        '{"ok":false,"error_code":429,"parameters":{"retry_after":3}}',
        '{"a":[1,2,{"b":null}],"items":[0,1,{"name":"x"}]}',
        '[1,[2,[3]],"x"]', '"\\u00e9\\ud83d\\ude00\\n"', '-0.5e-3', "0",
        "true", "null", '{"a":1,"a":2}', '{"\\u0061":1}', '{"a" : 1 }',
        "[" * 600 + "]" * 600, "[" * 100 + "]" * 100, '{"a":01}', '{"a":1,}',
        '"\\ud800"', '"\x01"', '{"a":"b\\x"}', "9223372036854775808",
        "-9223372036854775808", "1e400", '{"a.b":1,"a":{"b":2}}',
        '{"k":"caf\xc3\xa9"}', '{"k":"caf\xe9"}', "",
        '{"result":{"message_id":1.0}}', '{"parameters":{"retry_after":1e2}}',
    ]
    return {"doc_%02d" % i: d.encode("latin-1") if isinstance(d, str)
            and any(ord(c) > 127 for c in d) else d.encode()
            for i, d in enumerate(docs)}


def format_seeds():
    def built(*pieces):
        return b"\x01" + b"\0".join(p.encode() if isinstance(p, str) else p
                                    for p in pieces)

    def raw(doc):
        return b"\x00" + doc.encode()
    s = {}
    s["raw_build"] = raw('{"type":"build_completed","title":"Build #42",'
                         '"description":"All green","source":"ci",'
                         '"task_id":"t-1","timestamp":"2024-01-01T00:00:00Z"}')
    s["raw_approval"] = raw('{"type":"approval_request","title":"Deploy?",'
                            '"data":{"env":"prod","by":"alice"}}')
    s["raw_unknown_type"] = raw('{"type":"something_else","title":"x"}')
    s["raw_no_type"] = raw('{"title":"x"}')
    s["raw_not_object"] = raw('[1,2]')
    s["raw_invalid"] = raw('{"type":')
    s["built_markup"] = built("task_failed", "<b>*bold*</b> & _x_ `y`",
                              "line1\nline2 ```code```", "src\\", "id",
                              "1700000000", "k", "v<>&", "n", "[1,2]")
    s["built_long"] = built("build_completed", "T" * 300, "D" * 5000,
                            "s", "i", "2024-01-01")
    s["built_emoji"] = built("deploy", "\U0001F680 \u00e9", "\u202e rtl",
                             "src", "t", "0")
    s["built_empty"] = built("", "", "", "", "", "")
    return s


def split_seeds():
    s = {}
    s["plain"] = b"Hello world. " * 40
    s["html"] = b"<b>bold</b> <i>it</i> <a href=\"http://x\">link</a> &amp; " * 20
    s["html_pre"] = b"<pre><code class=\"language-c\">int x;\n</code></pre>" * 10
    s["md2"] = b"*bold* _it_ __u__ ~s~ ||sp|| `c` [l](http://x) \\. " * 12
    s["md2_pre"] = b"```c\nint x;\n```\n>quote\n>more\n" * 10
    s["md"] = b"*bold* _it_ `code` [l](http://x) " * 15
    s["emoji"] = "\U0001F600\u200d\U0001F600 e\u0301 \U0001F1E9\U0001F1EA ".encode() * 20
    s["newlines"] = b"line\n\nline\r\n" * 30
    s["long_word"] = b"x" * 5000
    s["bad_html"] = b"<b>unclosed <i>x</b> &amp" * 5
    s["bad_utf8"] = b"abc\xff\xfe\xc3"
    s["empty"] = b""
    return s


WRITERS = {"report": report_seeds, "enqueue": enqueue_seeds,
           "json": json_seeds, "format": format_seeds, "split": split_seeds}


def main(argv):
    for name in argv or sorted(WRITERS):
        d = os.path.join(CORPUS, name)
        os.makedirs(d, exist_ok=True)
        for seed, data in WRITERS[name]().items():
            with open(os.path.join(d, seed), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (name, len(os.listdir(d))))


if __name__ == "__main__":
    main(sys.argv[1:])
