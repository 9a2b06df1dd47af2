/*
** SPDX-License-Identifier: MIT
**
** mp_format.c: turning a seed bridge Event into a Telegram message, and
** enqueueing it.
**
**   mp_format(event_json [, parse_mode])     the message text
**   mp_enqueue_event(event_json [, chat_id]) format, prioritize, enqueue
**
**   SELECT mp_format('{"type":"build_completed","title":"Build #42",'
**                    '"description":"All green",'
**                    '"source":"ci","task_id":"b-42",'
**                    '"timestamp":"2024-01-15T10:30:00Z",'
**                    '"data":{"duration_ms":45000,"branch_name":"main"}}');
**   -- ✅ <b>Build #42</b>
**   --
**   -- All green
**   --
**   -- <b>Duration:</b> 45.0 s
**   -- <b>Branch:</b> <code>main</code>
**   --
**   -- <i>ci · task b-42 · 2024-01-15 10:30:00 UTC</i>
**
**   SELECT mp_format('{"type":"task_failed"}', 'MarkdownV2');
**   -- ❌ *Task Failed*
**
**   SELECT mp_config('chat_id', 12345);
**   SELECT mp_enqueue_event('{"type":"build_failed","title":"Build #43",'
**                           '"event_id":"ev-43"}');
**   -- 0190f3a2-7c41-7a3e-8000-000000000002  (priority 3, critical)
**
** parse_mode is 'HTML' (the default; also for NULL) or 'MarkdownV2', in
** any case. mp_format(NULL) is NULL. Errors name the function and the
** member: "mp_format: event_json must be a JSON object", "... event type
** is missing", "... event type must be a string", "... event title must
** be a string" (likewise description, source, task_id), "... event
** timestamp must be a string or a number", "... event data must be an
** object", "mp_format: parse_mode must be HTML or MarkdownV2, got X";
** mp_enqueue_event adds "... event event_id must be a string", "... no
** chat_id given and no default chat_id configured (mp_config('chat_id',
** N))" and the argument errors of mp_enqueue.
**
** THE EVENT
**
** A JSON object, as the seed bridge writes it: "type" (a non-empty string,
** required), "title", "description", "source", "task_id" (strings),
** "timestamp" (an RFC 3339 string or unix seconds or milliseconds) and
** "data" (an object). A member that is null counts as absent (serde writes
** None as null); other members are ignored; with repeated keys the first
** one counts. Any other type for a known member is an error naming it.
**
** THE MESSAGE
**
**   <emoji> <b>title</b>          the type's emoji; the title, or the type's
**                                 name when there is none
**   description                   up to 3000 characters
**   <b>Label:</b> value           data fields, one a line (see aField)
**   <i>source · task id · time</i>
**
** Sections are separated by a blank line and left out when empty. Every
** seed type has its emoji and name (aKind); other types in a known family
** (build_, test_, git_, code_, file_, task_, directory_, pull_request_) get
** the family's emoji, and anything else a pin; both use the type itself,
** humanized, as the name. Types match without regard to ASCII case.
**
** Data fields that the table aField knows are shown first, in its order,
** with units and markup (durations, percentages, code spans, lists); the
** members of data.metadata count as data fields. Other members follow in
** their own order: scalars and lists of scalars; nested objects are left
** out. At most 20 lines and about 3000 characters of values are shown;
** what is left is counted in a last "... and N more fields" line. A text
** value equal to the title or description is not repeated.
**
** All text from the event is escaped for the parse mode: for HTML, & < >;
** for MarkdownV2, every character Telegram reserves, and only ` and \
** inside code. Control characters are dropped, so the result is always
** valid UTF-8 that Telegram parses. Limits count characters (code points);
** a cut text ends with an ellipsis.
**
** PRIORITY AND DEDUPLICATION (mp_enqueue_event)
**
**   critical  error_occurred, build_failed, security_alert, performance_alert
**   high      task_failed, approval_request, alert_notification
**   normal    progress_update and any type ending in _started or _progress
**   low       everything else
**
** An event with a string "event_id" is stored with dedup_key
** "event:<event_id>", so ingesting the same event file twice sends it once:
** the second call returns the first message's id.
*/
#include "mp_int.h"

#include <string.h>

/* Parse modes of the output. */
#define MP_MODE_HTML 0
#define MP_MODE_MDV2 1

/* Limits, in characters (code points) of text after cleaning. */
#define MP_FMT_TITLE_MAX    256  /* the title */
#define MP_FMT_DESC_MAX     3000 /* the description */
#define MP_FMT_FOOT_MAX     100  /* each of source, task id and time */
#define MP_FMT_NAME_MAX     64   /* a humanized type or key */
#define MP_FMT_LINE_MAX     200  /* a one-line data value */
#define MP_FMT_TEXT_MAX     1000 /* a multi-line data value */
#define MP_FMT_ITEM_MAX     100  /* one list item */
#define MP_FMT_NUM_MAX      40   /* the text of one number */
#define MP_FMT_ITEMS_MAX    5    /* list items shown */
#define MP_FMT_FIELDS_MAX   20   /* data lines shown */
#define MP_FMT_DATA_BUDGET  3000 /* characters of all data values together */
#define MP_FMT_MEMBERS_MAX  64   /* data members looked at (with metadata) */
#define MP_FMT_EVENT_ID_MAX (MP_KEY_MAX_BYTES - 6) /* "event:" + event_id */

/* How a text is wrapped when it is written out. */
#define MP_WRAP_NONE   0
#define MP_WRAP_BOLD   1
#define MP_WRAP_ITALIC 2
#define MP_WRAP_CODE   3
#define MP_WRAP_PRE    4

/*
** One event type, or (when zType ends in '_') one family of types.
*/
typedef struct MpEventKind MpEventKind;
struct MpEventKind {
  const char *zType;  /* Type in lower case, or a family prefix */
  const char *zEmoji; /* UTF-8 emoji */
  const char *zName;  /* Default title; NULL: the humanized type */
};

// clang-format off
static const MpEventKind aKind[] = {
  /* Task management */
  { "task_completion",      u8"\u2705",           "Task Completed" },
  { "task_started",         u8"\U0001F680",       "Task Started" },
  { "task_failed",          u8"\u274C",           "Task Failed" },
  { "task_progress",        u8"\U0001F4CA",       "Task Progress" },
  { "task_cancelled",       u8"\U0001F6AB",       "Task Cancelled" },
  /* Code operations */
  { "code_generation",      u8"\u2728",           "Code Generated" },
  { "code_analysis",        u8"\U0001F50D",       "Code Analysis" },
  { "code_refactoring",     u8"\U0001F527",       "Code Refactored" },
  { "code_review",          u8"\U0001F440",       "Code Review" },
  { "code_testing",         u8"\U0001F9EA",       "Code Testing" },
  { "code_deployment",      u8"\U0001F6A2",       "Code Deployed" },
  /* File system */
  { "file_created",         u8"\U0001F4C4",       "File Created" },
  { "file_modified",        u8"\U0001F4DD",       "File Modified" },
  { "file_deleted",         u8"\U0001F5D1\uFE0F", "File Deleted" },
  { "directory_created",    u8"\U0001F4C1",       "Directory Created" },
  { "directory_deleted",    u8"\U0001F5D1\uFE0F", "Directory Deleted" },
  /* Build and development */
  { "build_started",        u8"\U0001F528",       "Build Started" },
  { "build_completed",      u8"\u2705",           "Build Completed" },
  { "build_failed",         u8"\u274C",           "Build Failed" },
  { "test_suite_run",       u8"\U0001F9EA",       "Test Suite Run" },
  { "test_passed",          u8"\u2705",           "Tests Passed" },
  { "test_failed",          u8"\u274C",           "Tests Failed" },
  { "lint_check",           u8"\U0001F9F9",       "Lint Check" },
  { "type_check",           u8"\U0001F50E",       "Type Check" },
  /* Git and version control */
  { "git_commit",           u8"\U0001F4BE",       "Git Commit" },
  { "git_push",             u8"\u2B06\uFE0F",     "Git Push" },
  { "git_merge",            u8"\U0001F500",       "Git Merge" },
  { "git_branch",           u8"\U0001F33F",       "Git Branch" },
  { "git_tag",              u8"\U0001F3F7\uFE0F", "Git Tag" },
  { "pull_request_created", u8"\U0001F4EC",       "Pull Request Created" },
  { "pull_request_merged",  u8"\U0001F7E3",       "Pull Request Merged" },
  /* System and monitoring */
  { "system_health",        u8"\U0001F49A",       "System Health" },
  { "performance_alert",    u8"\u26A1",           "Performance Alert" },
  { "security_alert",       u8"\U0001F512",       "Security Alert" },
  { "error_occurred",       u8"\U0001F6D1",       "Error Occurred" },
  { "resource_usage",       u8"\U0001F4C8",       "Resource Usage" },
  /* User interaction */
  { "approval_request",     u8"\U0001F510",       "Approval Required" },
  { "user_response",        u8"\U0001F4AC",       "User Response" },
  { "command_executed",     u8"\U0001F4BB",       "Command Executed" },
  /* Notifications */
  { "progress_update",      u8"\U0001F504",       "Progress Update" },
  { "status_change",        u8"\U0001F501",       "Status Change" },
  { "alert_notification",   u8"\U0001F6A8",       "Alert" },
  { "info_notification",    u8"\u2139\uFE0F",     "Information" },
  /* Integrations */
  { "api_call",             u8"\U0001F310",       "API Call" },
  { "webhook_received",     u8"\U0001F4E1",       "Webhook Received" },
  { "service_integration",  u8"\U0001F517",       "Service Integration" },
  /* Custom */
  { "custom_event",         u8"\U0001F3AF",       "Custom Event" },
};

static const MpEventKind aFamily[] = {
  { "task_",                u8"\U0001F4CB",       0 },
  { "code_",                u8"\U0001F9E9",       0 },
  { "file_",                u8"\U0001F4C4",       0 },
  { "directory_",           u8"\U0001F4C1",       0 },
  { "build_",               u8"\U0001F3D7\uFE0F", 0 },
  { "test_",                u8"\U0001F9EA",       0 },
  { "git_",                 u8"\U0001F33F",       0 },
  { "pull_request_",        u8"\U0001F4EC",       0 },
};
// clang-format on

/* The emoji of types that are neither known nor in a family: a pin. */
#define MP_EMOJI_OTHER u8"\U0001F4CC"

/* How the value of a known data field is shown. */
#define MP_FK_LINE     1  /* one line of text */
#define MP_FK_TEXT     2  /* text, line breaks kept */
#define MP_FK_CODE     3  /* one line in a code span */
#define MP_FK_PRE      4  /* a preformatted block on the next line */
#define MP_FK_DURATION 5  /* milliseconds, shown as ms, s, min, h or d */
#define MP_FK_PERCENT  6  /* a number, shown with % */
#define MP_FK_MB       7  /* a number of megabytes */
#define MP_FK_BYTES    8  /* a number of bytes, shown in B, KB, MB, ... */
#define MP_FK_BOOL     9  /* true or false, shown as yes or no */
#define MP_FK_LIST     10 /* an array (or one string), items as text */
#define MP_FK_CODES    11 /* an array (or one string), items as code */
#define MP_FK_TESTS    12 /* test counts, gathered on one line */
#define MP_FK_SKIP     13 /* never shown (action buttons) */

/*
** One known data field.
*/
typedef struct MpField MpField;
struct MpField {
  const char *zKeys;  /* Key, or keys separated by '|': the first wins */
  const char *zLabel; /* Label shown */
  int eKind;          /* MP_FK_* */
};

// clang-format off
static const MpField aField[] = {
  { "status",                      "Status",        MP_FK_LINE },
  { "success",                     "Success",       MP_FK_BOOL },
  { "progress|progress_percentage|percentage",
                                   "Progress",      MP_FK_PERCENT },
  { "current_step",                "Step",          MP_FK_LINE },
  { "total_steps",                 "Total steps",   MP_FK_LINE },
  { "severity",                    "Severity",      MP_FK_LINE },
  { "metric",                      "Metric",        MP_FK_LINE },
  { "value|current_value",         "Value",         MP_FK_LINE },
  { "threshold",                   "Threshold",     MP_FK_LINE },
  { "error_message|error",         "Error",         MP_FK_TEXT },
  { "error_code",                  "Error code",    MP_FK_CODE },
  { "exit_code",                   "Exit code",     MP_FK_LINE },
  { "results",                     "Results",       MP_FK_TEXT },
  { "build_target|target",         "Target",        MP_FK_CODE },
  { "test_count|tests_total",      "Tests",         MP_FK_TESTS },
  { "coverage_percentage|coverage","Coverage",      MP_FK_PERCENT },
  { "duration_ms",                 "Duration",      MP_FK_DURATION },
  { "branch_name|branch",          "Branch",        MP_FK_CODE },
  { "commit_hash|commit|hash",     "Commit",        MP_FK_CODE },
  { "author",                      "Author",        MP_FK_LINE },
  { "commit_message|message",      "Message",       MP_FK_TEXT },
  { "files_changed|files_affected|files",
                                   "Files",         MP_FK_CODES },
  { "artifacts",                   "Artifacts",     MP_FK_CODES },
  { "file_path|file",              "File",          MP_FK_CODE },
  { "line_number",                 "Line",          MP_FK_LINE },
  { "directory",                   "Directory",     MP_FK_CODE },
  { "language",                    "Language",      MP_FK_LINE },
  { "function_name",               "Function",      MP_FK_CODE },
  { "class_name",                  "Class",         MP_FK_CODE },
  { "module_name",                 "Module",        MP_FK_CODE },
  { "command",                     "Command",       MP_FK_CODE },
  { "arguments",                   "Arguments",     MP_FK_CODES },
  { "approval_prompt",             "Request",       MP_FK_TEXT },
  { "options",                     "Options",       MP_FK_LIST },
  { "response",                    "Response",      MP_FK_TEXT },
  { "user_id",                     "User",          MP_FK_CODE },
  { "memory_usage_mb",             "Memory",        MP_FK_MB },
  { "cpu_usage_percent",           "CPU",           MP_FK_PERCENT },
  { "disk_usage_mb",               "Disk",          MP_FK_MB },
  { "network_bytes",               "Network",       MP_FK_BYTES },
  { "service_name",                "Service",       MP_FK_LINE },
  { "endpoint",                    "Endpoint",      MP_FK_CODE },
  { "request_id",                  "Request id",    MP_FK_CODE },
  { "response_code",               "Response code", MP_FK_LINE },
  { "url",                         "URL",           MP_FK_LINE },
  { "priority",                    "Priority",      MP_FK_LINE },
  { "category",                    "Category",      MP_FK_LINE },
  { "tags",                        "Tags",          MP_FK_LIST },
  { "stack_trace",                 "Stack trace",   MP_FK_PRE },
  { "code_snippet",                "Code",          MP_FK_PRE },
  { "actions",                     0,               MP_FK_SKIP },
};
// clang-format on

/* The counts that an MP_FK_TESTS line gathers, after the total. */
static const char *const azTestKey[] = { "tests_passed", "tests_failed",
                                         "tests_skipped" };
static const char *const azTestWord[] = { "passed", "failed", "skipped" };

/*
** One member of data (or of data.metadata).
*/
typedef struct MpMember MpMember;
struct MpMember {
  char *zKey;      /* Decoded key, from sqlite3_malloc64 */
  int nKey;        /* Bytes of zKey (it may hold a NUL from \u0000) */
  MpJsonValue val; /* The value, a span of the event text */
  int bDone;       /* Shown, or never to be shown */
};

/*
** The parts of one event. The strings are decoded (sqlite3_malloc64) and
** NULL when absent; the spans point into the caller's event text.
*/
typedef struct MpEvent MpEvent;
struct MpEvent {
  char *zType;      /* "type", decoded */
  int nType;        /* Bytes of zType */
  char *zTitle;     /* "title" */
  int nTitle;       /* Bytes of zTitle */
  char *zDesc;      /* "description" */
  int nDesc;        /* Bytes of zDesc */
  char *zSource;    /* "source" */
  int nSource;      /* Bytes of zSource */
  char *zTask;      /* "task_id" */
  int nTask;        /* Bytes of zTask */
  char *zEventId;   /* "event_id", when a string */
  int nEventId;     /* Bytes of zEventId */
  MpJsonValue time; /* "timestamp"; eType MP_JSON_NULL when absent */
  MpJsonValue data; /* "data"; eType MP_JSON_NULL when absent */
  int eEventIdType; /* JSON type of "event_id"; MP_JSON_NULL when absent */
};

/*
** The state of one formatting run.
*/
typedef struct MpFmt MpFmt;
struct MpFmt {
  sqlite3_str *pOut;  /* The message */
  sqlite3_str *pVal;  /* The value of the data line being built */
  sqlite3_str *pTmp;  /* One cleaned text, before it is escaped */
  sqlite3_str *pKey;  /* The label of a data line, humanized */
  int eMode;          /* MP_MODE_HTML or MP_MODE_MDV2 */
  const MpEvent *pEv; /* The event */
  int nBudget;        /* Characters of data values still allowed */
  int nLine;          /* Data lines written */
  int nMember;        /* Entries used in aMember */
  int nExtra;         /* Members past MP_FMT_MEMBERS_MAX that had a value */
  MpMember aMember[MP_FMT_MEMBERS_MAX]; /* Members of data, in order */
};

/*
** Returns 1 if byte c is dropped from both ends of a text: ASCII
** whitespace and control characters.
*/
static int mpFmtIsBlank(u8 c) {
  return c <= 0x20 || c == 0x7F;
}

/*
** Writes the cleaned form of z[0..n) to pF->pTmp, replacing what it held,
** and returns its length in characters (0: nothing left). Cleaning trims
** whitespace and control characters from both ends, drops the control
** characters inside (keeping line breaks and tabs unless bLine) and
** replaces malformed UTF-8 with U+FFFD. With bLine, every run of
** whitespace becomes one space. After nMax characters the text is cut and
** an ellipsis (U+2026) appended.
*/
static int mpFmtClean(MpFmt *pF, const char *z, int n, int nMax, int bLine) {
  const u8 *zU = (const u8 *)z;
  int i = 0, nChar = 0, bSpace = 0;
  sqlite3_str_reset(pF->pTmp);
  if (z == 0 || nMax <= 0) return 0;
  while (n > 0 && mpFmtIsBlank(zU[n - 1]))
    n--;
  while (i < n && mpFmtIsBlank(zU[i]))
    i++;
  while (i < n) {
    unsigned c;
    int k = mpUtf8Decode(zU + i, (size_t)(n - i), &c);
    int bWs;
    if (k == 0) {
      /* A byte that starts no well-formed character becomes U+FFFD. */
      c = 0xFFFD;
      k = 1;
    }
    bWs = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (bLine && bWs) {
      bSpace = 1;
      i += k;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
      i += k;
      continue;
    }
    if (nChar + bSpace >= nMax) {
      sqlite3_str_appendall(pF->pTmp, u8"\u2026");
      return nChar + 1;
    }
    if (bSpace) {
      sqlite3_str_appendchar(pF->pTmp, 1, ' ');
      nChar++;
      bSpace = 0;
    }
    if (c == 0xFFFD && k == 1) {
      sqlite3_str_appendall(pF->pTmp, u8"\uFFFD");
    } else {
      sqlite3_str_append(pF->pTmp, z + i, k);
    }
    nChar++;
    i += k;
  }
  return nChar;
}

/*
** Appends z[0..n), which is valid UTF-8, to pDst escaped for the parse
** mode: outside code (bCode==0) or inside a code span or block.
*/
static void mpFmtEscape(MpFmt *pF, sqlite3_str *pDst, const char *z, int n,
                        int bCode) {
  int i, iRun = 0;
  for (i = 0; i < n; i++) {
    char c = z[i];
    const char *zRep = 0;
    if (pF->eMode == MP_MODE_HTML) {
      if (c == '&') zRep = "&amp;";
      if (c == '<') zRep = "&lt;";
      if (c == '>') zRep = "&gt;";
    } else if (c == '`' || c == '\\' ||
               (!bCode && c != 0 && strchr("_*[]()~>#+-=|{}.!", c))) {
      zRep = "\\";
    }
    if (zRep == 0) continue;
    sqlite3_str_append(pDst, z + iRun, i - iRun);
    sqlite3_str_appendall(pDst, zRep);
    /* MarkdownV2 keeps the character after its backslash. */
    iRun = pF->eMode == MP_MODE_HTML ? i + 1 : i;
  }
  sqlite3_str_append(pDst, z + iRun, n - iRun);
}

/*
** Appends the opening (bClose==0) or closing markup of eWrap to pDst.
*/
static void mpFmtMarkup(MpFmt *pF, sqlite3_str *pDst, int eWrap, int bClose) {
  static const char *const azHtml[][2] = {
    { "", "" },
    { "<b>", "</b>" },
    { "<i>", "</i>" },
    { "<code>", "</code>" },
    { "<pre>", "</pre>" },
  };
  static const char *const azMd[][2] = {
    { "", "" }, { "*", "*" }, { "_", "_" }, { "`", "`" }, { "```\n", "\n```" },
  };
  const char *z =
      pF->eMode == MP_MODE_HTML ? azHtml[eWrap][bClose] : azMd[eWrap][bClose];
  sqlite3_str_appendall(pDst, z);
}

/*
** Cleans z[0..n) (see mpFmtClean) and appends it to pDst, escaped and
** wrapped in eWrap, after the raw separator zSep (NULL: none). Returns
** its length in characters; when that is 0, nothing is appended, neither
** zSep nor the markup (Telegram refuses empty entities).
*/
static int mpFmtPutAfter(MpFmt *pF, sqlite3_str *pDst, const char *zSep,
                         const char *z, int n, int nMax, int bLine, int eWrap) {
  int nChar = mpFmtClean(pF, z, n, nMax, bLine);
  const char *zClean = sqlite3_str_value(pF->pTmp);
  if (nChar == 0 || zClean == 0) return 0;
  if (zSep) sqlite3_str_appendall(pDst, zSep);
  mpFmtMarkup(pF, pDst, eWrap, 0);
  mpFmtEscape(pF, pDst, zClean, sqlite3_str_length(pF->pTmp),
              eWrap == MP_WRAP_CODE || eWrap == MP_WRAP_PRE);
  mpFmtMarkup(pF, pDst, eWrap, 1);
  return nChar;
}

/*
** mpFmtPutAfter() without a separator.
*/
static int mpFmtPut(MpFmt *pF, sqlite3_str *pDst, const char *z, int n,
                    int nMax, int bLine, int eWrap) {
  return mpFmtPutAfter(pF, pDst, 0, z, n, nMax, bLine, eWrap);
}

/*
** Appends z[0..n) humanized to pDst: '_', '-' and '.' become spaces, and
** the first ASCII letter of each word (bTitle) or of the first word only
** is made upper case. The result is raw text, for mpFmtPut().
*/
static void mpFmtHumanize(sqlite3_str *pDst, const char *z, int n, int bTitle) {
  int bStart = 1, bFirst = 1;
  for (int i = 0; i < n; i++) {
    char c = z[i];
    if (c == '_' || c == '-' || c == '.' || c == ' ') {
      sqlite3_str_appendchar(pDst, 1, ' ');
      bStart = 1;
      continue;
    }
    if (bStart && (bTitle || bFirst) && c >= 'a' && c <= 'z') c -= 'a' - 'A';
    if (bStart) bFirst = 0;
    bStart = 0;
    sqlite3_str_appendchar(pDst, 1, c);
  }
}

/*
** Returns the entry of aKind for type z[0..n) (ASCII case ignored), else
** the entry of its family in aFamily, else NULL.
*/
static const MpEventKind *mpFmtKind(const char *z, int n) {
  for (size_t i = 0; i < sizeof(aKind) / sizeof(aKind[0]); i++) {
    if ((int)strlen(aKind[i].zType) == n &&
        sqlite3_strnicmp(z, aKind[i].zType, n) == 0) {
      return &aKind[i];
    }
  }
  for (size_t i = 0; i < sizeof(aFamily) / sizeof(aFamily[0]); i++) {
    int nPrefix = (int)strlen(aFamily[i].zType);
    if (n > nPrefix && sqlite3_strnicmp(z, aFamily[i].zType, nPrefix) == 0) {
      return &aFamily[i];
    }
  }
  return 0;
}

/*
** Returns 1 if z[0..n) ends with the NUL-terminated zSuffix, ignoring
** ASCII case.
*/
static int mpFmtEndsWith(const char *z, int n, const char *zSuffix) {
  int nSuffix = (int)strlen(zSuffix);
  return n >= nSuffix &&
         sqlite3_strnicmp(z + n - nSuffix, zSuffix, nSuffix) == 0;
}

/*
** Returns the MP_PRIORITY_* that mp_enqueue_event() gives type z[0..n).
*/
static int mpFmtPriority(const char *z, int n) {
  static const char *const azCritical[] = { "error_occurred", "build_failed",
                                            "security_alert",
                                            "performance_alert" };
  static const char *const azHigh[] = { "task_failed", "approval_request",
                                        "alert_notification" };
  for (size_t i = 0; i < sizeof(azCritical) / sizeof(azCritical[0]); i++) {
    if ((int)strlen(azCritical[i]) == n &&
        sqlite3_strnicmp(z, azCritical[i], n) == 0) {
      return MP_PRIORITY_CRITICAL;
    }
  }
  for (size_t i = 0; i < sizeof(azHigh) / sizeof(azHigh[0]); i++) {
    if ((int)strlen(azHigh[i]) == n && sqlite3_strnicmp(z, azHigh[i], n) == 0) {
      return MP_PRIORITY_HIGH;
    }
  }
  if ((n == 15 && sqlite3_strnicmp(z, "progress_update", n) == 0) ||
      mpFmtEndsWith(z, n, "_started") || mpFmtEndsWith(z, n, "_progress")) {
    return MP_PRIORITY_NORMAL;
  }
  return MP_PRIORITY_LOW;
}

/*
** Frees the strings of pEv.
*/
static void mpEventClear(MpEvent *pEv) {
  sqlite3_free(pEv->zType);
  sqlite3_free(pEv->zTitle);
  sqlite3_free(pEv->zDesc);
  sqlite3_free(pEv->zSource);
  sqlite3_free(pEv->zTask);
  sqlite3_free(pEv->zEventId);
  memset(pEv, 0, sizeof(*pEv));
}

/*
** Decodes string member pVal (when it is a string) into *pz and *pn, or
** checks that it is null. Returns SQLITE_OK, SQLITE_NOMEM, or
** SQLITE_MISMATCH after setting "zFunc: event zName must be a string".
*/
static int mpEventString(sqlite3_context *ctx, const char *zFunc,
                         const char *zName, const MpJsonValue *pVal, char **pz,
                         int *pn) {
  if (pVal->eType == MP_JSON_NULL) return SQLITE_OK;
  if (pVal->eType != MP_JSON_STRING) {
    mpResultErrorf(ctx, "%s: event %s must be a string", zFunc, zName);
    return SQLITE_MISMATCH;
  }
  *pz = mpJsonString(pVal, pn);
  if (*pz == 0) {
    sqlite3_result_error_nomem(ctx);
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/*
** Reads event text z[0..n) (valid UTF-8) into *pEv, which the caller
** zeroed and later clears with mpEventClear(). Returns SQLITE_OK, or sets
** an error on ctx naming zFunc and the member at fault and returns an
** error code.
*/
static int mpEventParse(sqlite3_context *ctx, const char *zFunc, const char *z,
                        int n, MpEvent *pEv) {
  static const char *const azName[] = { "type",   "title",   "description",
                                        "source", "task_id", "timestamp",
                                        "data",   "event_id" };
  MpJsonValue aVal[8];
  MpJsonValue key, val;
  MpJson json;
  int rc;
  memset(aVal, 0, sizeof(aVal));
  if (!mpJsonValid(z, n) || mpJsonObjectStart(&json, z, n) != SQLITE_OK) {
    mpResultErrorf(ctx, "%s: event_json must be a JSON object", zFunc);
    return SQLITE_MISMATCH;
  }
  /* Keep the first occurrence of each known member; aVal[i].z marks it. */
  while ((rc = mpJsonNextMember(&json, &key, &val)) == 1) {
    for (int i = 0; i < 8; i++) {
      if (aVal[i].z == 0 && mpJsonKeyIs(&key, azName[i])) {
        aVal[i] = val;
        break;
      }
    }
  }
  if (aVal[0].z == 0 || aVal[0].eType == MP_JSON_NULL) {
    mpResultErrorf(ctx, "%s: event type is missing", zFunc);
    return SQLITE_MISMATCH;
  }
  rc = mpEventString(ctx, zFunc, "type", &aVal[0], &pEv->zType, &pEv->nType);
  if (rc == SQLITE_OK && pEv->nType == 0) {
    mpResultErrorf(ctx, "%s: event type must not be empty", zFunc);
    rc = SQLITE_MISMATCH;
  }
  if (rc == SQLITE_OK && aVal[1].z) {
    rc = mpEventString(ctx, zFunc, "title", &aVal[1], &pEv->zTitle,
                       &pEv->nTitle);
  }
  if (rc == SQLITE_OK && aVal[2].z) {
    rc = mpEventString(ctx, zFunc, "description", &aVal[2], &pEv->zDesc,
                       &pEv->nDesc);
  }
  if (rc == SQLITE_OK && aVal[3].z) {
    rc = mpEventString(ctx, zFunc, "source", &aVal[3], &pEv->zSource,
                       &pEv->nSource);
  }
  if (rc == SQLITE_OK && aVal[4].z) {
    rc = mpEventString(ctx, zFunc, "task_id", &aVal[4], &pEv->zTask,
                       &pEv->nTask);
  }
  if (rc != SQLITE_OK) return rc;
  pEv->time.eType = MP_JSON_NULL;
  if (aVal[5].z) {
    if (aVal[5].eType != MP_JSON_NULL && aVal[5].eType != MP_JSON_STRING &&
        aVal[5].eType != MP_JSON_NUMBER) {
      mpResultErrorf(ctx, "%s: event timestamp must be a string or a number",
                     zFunc);
      return SQLITE_MISMATCH;
    }
    pEv->time = aVal[5];
  }
  pEv->data.eType = MP_JSON_NULL;
  if (aVal[6].z) {
    if (aVal[6].eType != MP_JSON_NULL && aVal[6].eType != MP_JSON_OBJECT) {
      mpResultErrorf(ctx, "%s: event data must be an object", zFunc);
      return SQLITE_MISMATCH;
    }
    pEv->data = aVal[6];
  }
  pEv->eEventIdType = MP_JSON_NULL;
  if (aVal[7].z) {
    pEv->eEventIdType = aVal[7].eType;
    if (aVal[7].eType == MP_JSON_STRING) {
      pEv->zEventId = mpJsonString(&aVal[7], &pEv->nEventId);
      if (pEv->zEventId == 0) {
        sqlite3_result_error_nomem(ctx);
        return SQLITE_NOMEM;
      }
    }
  }
  return SQLITE_OK;
}

/*
** Walks the elements of a JSON array. pIter->z is the array's text,
** pIter->i the position after '[' or after the previous element. Fills
** *pOut and returns 1 for each element, 0 after the last. The text must be
** valid JSON (mpJsonValid): the walk only tracks strings and nesting, but
** never reads outside z[0..n) whatever the text.
*/
static int mpFmtArrayNext(MpJson *pIter, MpJsonValue *pOut) {
  const char *z = pIter->z;
  int n = pIter->n, i = pIter->i, iStart, iEnd, nDepth = 0;
  while (i < n && (z[i] == ' ' || z[i] == '\t' || z[i] == '\n' ||
                   z[i] == '\r' || z[i] == ',')) {
    i++;
  }
  if (i >= n || z[i] == ']') {
    pIter->i = n;
    return 0;
  }
  iStart = i;
  for (; i < n; i++) {
    char c = z[i];
    if (c == '"') {
      for (i++; i < n && z[i] != '"'; i++) {
        if (z[i] == '\\') i++;
      }
    } else if (c == '[' || c == '{') {
      nDepth++;
    } else if (c == ']' || c == '}') {
      if (nDepth == 0) break;
      nDepth--;
    } else if (c == ',' && nDepth == 0) {
      break;
    }
  }
  if (i > n) i = n;
  iEnd = i;
  while (iEnd > iStart && (z[iEnd - 1] == ' ' || z[iEnd - 1] == '\t' ||
                           z[iEnd - 1] == '\n' || z[iEnd - 1] == '\r')) {
    iEnd--;
  }
  pIter->i = i;
  pOut->z = z + iStart;
  pOut->n = iEnd - iStart;
  switch (z[iStart]) {
    case '"': pOut->eType = MP_JSON_STRING; break;
    case '{': pOut->eType = MP_JSON_OBJECT; break;
    case '[': pOut->eType = MP_JSON_ARRAY; break;
    case 't': pOut->eType = MP_JSON_TRUE; break;
    case 'f': pOut->eType = MP_JSON_FALSE; break;
    case 'n': pOut->eType = MP_JSON_NULL; break;
    default: pOut->eType = MP_JSON_NUMBER; break;
  }
  return 1;
}

/*
** Writes number text z[0..n) (valid JSON, n <= MP_FMT_NUM_MAX) to zOut
** rounded half up to nDec decimals, trailing zeros and a bare point
** dropped, and returns its length. Numbers with an exponent, or with
** nDec decimals or fewer, are copied as they are. zOut needs n + 2 bytes.
*/
static int mpFmtRound(const char *z, int n, int nDec, char *zOut) {
  int iDot = -1, bNeg = z[0] == '-', nDigit, k, i = 0, bZero = 1;
  char zDigit[MP_FMT_NUM_MAX + 2];
  for (k = 0; k < n; k++) {
    if (z[k] == 'e' || z[k] == 'E') iDot = -2;
    if (z[k] == '.' && iDot == -1) iDot = k;
  }
  if (iDot < 0 || n - iDot - 1 <= nDec) {
    memcpy(zOut, z, (size_t)n);
    return n;
  }
  /* zDigit: a spare leading '0' for the carry, then the kept digits. */
  zDigit[0] = '0';
  nDigit = iDot - bNeg + 1 + nDec;
  memcpy(zDigit + 1, z + bNeg, (size_t)nDigit);
  nDigit++;
  if (z[iDot + 1 + nDec] >= '5') {
    for (k = nDigit - 1; k >= 0; k--) {
      if (zDigit[k] == '.') continue;
      if (zDigit[k] != '9') {
        zDigit[k]++;
        break;
      }
      zDigit[k] = '0';
    }
  }
  while (zDigit[nDigit - 1] == '0')
    nDigit--;
  if (zDigit[nDigit - 1] == '.') nDigit--;
  k = zDigit[0] == '0' && nDigit > 1 ? 1 : 0;
  for (int j = k; j < nDigit; j++) {
    if (zDigit[j] >= '1' && zDigit[j] <= '9') bZero = 0;
  }
  if (bNeg && !bZero) zOut[i++] = '-';
  memcpy(zOut + i, zDigit + k, (size_t)(nDigit - k));
  return i + nDigit - k;
}

/*
** Appends number pVal to pDst rounded to nDec decimals (mpFmtRound) and
** followed by zUnit (at most 8 bytes). A number longer than
** MP_FMT_NUM_MAX is cut instead, without its unit. Returns the characters
** appended.
*/
static int mpFmtNumber(MpFmt *pF, sqlite3_str *pDst, const MpJsonValue *pVal,
                       int nDec, const char *zUnit) {
  char zBuf[MP_FMT_NUM_MAX + 12];
  int n, nUnit = (int)strlen(zUnit);
  if (pVal->n > MP_FMT_NUM_MAX || nUnit > 8) {
    return mpFmtPut(pF, pDst, pVal->z, pVal->n, MP_FMT_NUM_MAX, 1, 0);
  }
  n = mpFmtRound(pVal->z, pVal->n, nDec, zBuf);
  memcpy(zBuf + n, zUnit, (size_t)nUnit);
  return mpFmtPut(pF, pDst, zBuf, n + nUnit, (int)sizeof(zBuf), 1, 0);
}

/*
** Appends a duration of iMs milliseconds to pDst the way people read it:
** "350 ms", "45.2 s", "3 min 5 s", "2 h 10 min", "3 d 4 h".
*/
static int mpFmtDuration(MpFmt *pF, sqlite3_str *pDst, i64 iMs) {
  char zBuf[64];
  if (iMs < 1000) {
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%lld ms", iMs);
  } else if (iMs < 60000) {
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%lld.%lld s", iMs / 1000,
                     iMs % 1000 / 100);
  } else if (iMs < 3600000) {
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%lld min %lld s", iMs / 60000,
                     iMs % 60000 / 1000);
  } else if (iMs < 86400000) {
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%lld h %lld min", iMs / 3600000,
                     iMs % 3600000 / 60000);
  } else {
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%lld d %lld h", iMs / 86400000,
                     iMs % 86400000 / 3600000);
  }
  return mpFmtPut(pF, pDst, zBuf, (int)strlen(zBuf), 64, 1, MP_WRAP_NONE);
}

/*
** Appends a size of iBytes bytes to pDst: "512 B", "1.5 KB", "3.2 MB",
** "1.1 GB" (powers of 1024).
*/
static int mpFmtBytes(MpFmt *pF, sqlite3_str *pDst, i64 iBytes) {
  static const char *const azUnit[] = { "KB", "MB", "GB", "TB", "PB" };
  char zBuf[64];
  if (iBytes < 1024) {
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%lld B", iBytes);
  } else {
    int iUnit = 0;
    u64 uTenths = (u64)iBytes * 10 / 1024;
    while (uTenths >= 10240 && iUnit < 4) {
      uTenths /= 1024;
      iUnit++;
    }
    sqlite3_snprintf(sizeof(zBuf), zBuf, "%llu.%llu %s", uTenths / 10,
                     uTenths % 10, azUnit[iUnit]);
  }
  return mpFmtPut(pF, pDst, zBuf, (int)strlen(zBuf), 64, 1, MP_WRAP_NONE);
}

/*
** Returns 1 if decoded string z[0..n) equals the event's title or
** description, which are shown already.
*/
static int mpFmtIsRepeat(MpFmt *pF, const char *z, int n) {
  const MpEvent *pEv = pF->pEv;
  return (pEv->zDesc && pEv->nDesc == n && memcmp(pEv->zDesc, z, n) == 0) ||
         (pEv->zTitle && pEv->nTitle == n && memcmp(pEv->zTitle, z, n) == 0);
}

/*
** Appends string value pVal to pDst as one line (bLine) or as text, at
** most nMax characters, wrapped in eWrap; skipped when it repeats the title
** or description. Returns the characters appended, or -1 on OOM.
*/
static int mpFmtString(MpFmt *pF, sqlite3_str *pDst, const MpJsonValue *pVal,
                       int nMax, int bLine, int eWrap) {
  int n, nChar = 0;
  char *z = mpJsonString(pVal, &n);
  if (z == 0) return -1;
  if (!mpFmtIsRepeat(pF, z, n)) {
    nChar = mpFmtPut(pF, pDst, z, n, nMax, bLine, eWrap);
  }
  sqlite3_free(z);
  return nChar;
}

/*
** Appends the items of array pVal to pDst, separated by ", ": at most
** MP_FMT_ITEMS_MAX of them, each at most MP_FMT_ITEM_MAX characters and
** in a code span when bCode, then "(+N more)" for the rest. Nested arrays
** and objects show as "[...]" and "{...}", null and empty strings not at
** all. Returns the characters appended, or -1 on OOM.
*/
static int mpFmtList(MpFmt *pF, sqlite3_str *pDst, const MpJsonValue *pVal,
                     int bCode) {
  MpJson it;
  MpJsonValue item;
  int nShown = 0, nMore = 0, nChar = 0;
  it.z = pVal->z;
  it.n = pVal->n;
  it.i = 1;
  while (mpFmtArrayNext(&it, &item)) {
    const char *zSep = nShown > 0 ? ", " : 0;
    int k = 0;
    if (item.eType == MP_JSON_NULL) continue;
    if (nShown >= MP_FMT_ITEMS_MAX || nChar >= pF->nBudget) {
      nMore++;
      continue;
    }
    if (item.eType == MP_JSON_STRING) {
      int nItem;
      char *z = mpJsonString(&item, &nItem);
      if (z == 0) return -1;
      k = mpFmtPutAfter(pF, pDst, zSep, z, nItem, MP_FMT_ITEM_MAX, 1,
                        bCode ? MP_WRAP_CODE : MP_WRAP_NONE);
      sqlite3_free(z);
    } else if (item.eType == MP_JSON_ARRAY || item.eType == MP_JSON_OBJECT) {
      const char *zNest = item.eType == MP_JSON_ARRAY ? "[...]" : "{...}";
      k = mpFmtPutAfter(pF, pDst, zSep, zNest, 5, 5, 1, MP_WRAP_NONE);
    } else {
      k = mpFmtPutAfter(pF, pDst, zSep, item.z, item.n, MP_FMT_NUM_MAX, 1,
                        bCode ? MP_WRAP_CODE : MP_WRAP_NONE);
    }
    if (k == 0) continue;
    nChar += k + (zSep ? 2 : 0);
    nShown++;
  }
  if (nMore > 0) {
    char zBuf[48];
    sqlite3_snprintf(sizeof(zBuf), zBuf, "(+%d more)", nMore);
    if (nShown > 0) {
      sqlite3_str_appendchar(pDst, 1, ' ');
      nChar++;
    }
    nChar += mpFmtPut(pF, pDst, zBuf, (int)strlen(zBuf), 48, 1, MP_WRAP_NONE);
  }
  return nChar;
}

/*
** Appends value pVal to pDst in the form that works for any key: strings
** as one line, numbers as written, true and false, arrays as lists. Null
** and objects append nothing. Returns the characters appended, or -1 on
** OOM.
*/
static int mpFmtGeneric(MpFmt *pF, sqlite3_str *pDst, const MpJsonValue *pVal,
                        int nMax) {
  switch (pVal->eType) {
    case MP_JSON_STRING:
      return mpFmtString(pF, pDst, pVal, nMax, 1, MP_WRAP_NONE);
    case MP_JSON_NUMBER:
      return mpFmtPut(pF, pDst, pVal->z, pVal->n, MP_FMT_NUM_MAX, 1,
                      MP_WRAP_NONE);
    case MP_JSON_TRUE: return mpFmtPut(pF, pDst, "true", 4, 4, 1, 0);
    case MP_JSON_FALSE: return mpFmtPut(pF, pDst, "false", 5, 5, 1, 0);
    case MP_JSON_ARRAY: return mpFmtList(pF, pDst, pVal, 0);
    default: return 0;
  }
}

/*
** Appends value pVal of a known field of kind eKind to pDst, in at most
** nMax characters where the kind allows. A value of a type the kind does
** not expect is shown as mpFmtGeneric() shows it. Returns the characters
** appended, or -1 on OOM.
*/
static int mpFmtKnown(MpFmt *pF, sqlite3_str *pDst, const MpJsonValue *pVal,
                      int eKind, int nMax) {
  int eType = pVal->eType;
  i64 v = 0;
  int bInt = eType == MP_JSON_NUMBER && mpJsonInt(pVal, &v) == SQLITE_OK;
  switch (eKind) {
    case MP_FK_TEXT:
      if (eType != MP_JSON_STRING) break;
      return mpFmtString(pF, pDst, pVal, nMax, 0, MP_WRAP_NONE);
    case MP_FK_CODE:
      if (eType == MP_JSON_STRING) {
        return mpFmtString(pF, pDst, pVal, nMax, 1, MP_WRAP_CODE);
      }
      break;
    case MP_FK_PRE:
      if (eType != MP_JSON_STRING) break;
      return mpFmtString(pF, pDst, pVal, nMax, 0, MP_WRAP_PRE);
    case MP_FK_DURATION:
      if (bInt && v >= 0) return mpFmtDuration(pF, pDst, v);
      if (eType == MP_JSON_NUMBER) return mpFmtNumber(pF, pDst, pVal, 1, " ms");
      break;
    case MP_FK_PERCENT:
      if (eType == MP_JSON_NUMBER) return mpFmtNumber(pF, pDst, pVal, 2, "%");
      break;
    case MP_FK_MB:
      if (eType == MP_JSON_NUMBER) return mpFmtNumber(pF, pDst, pVal, 1, " MB");
      break;
    case MP_FK_BYTES:
      if (bInt && v >= 0) return mpFmtBytes(pF, pDst, v);
      break;
    case MP_FK_BOOL:
      if (eType == MP_JSON_TRUE) return mpFmtPut(pF, pDst, "yes", 3, 3, 1, 0);
      if (eType == MP_JSON_FALSE) return mpFmtPut(pF, pDst, "no", 2, 2, 1, 0);
      break;
    case MP_FK_LIST:
    case MP_FK_CODES:
      if (eType == MP_JSON_ARRAY) {
        return mpFmtList(pF, pDst, pVal, eKind == MP_FK_CODES);
      }
      if (eType == MP_JSON_STRING && eKind == MP_FK_CODES) {
        return mpFmtString(pF, pDst, pVal, nMax, 1, MP_WRAP_CODE);
      }
      break;
  }
  return mpFmtGeneric(pF, pDst, pVal, nMax);
}

/*
** Writes the data line held in pF->pVal, of nChar characters, as
** "<b>Label:</b> value", or with the value on the next line when bBlock.
** zLabel[0..nLabel) is raw text, cleaned and escaped here. Writes nothing
** when nChar is 0.
*/
static void mpFmtCommit(MpFmt *pF, const char *zLabel, int nLabel, int nChar,
                        int bBlock) {
  const char *zVal = sqlite3_str_value(pF->pVal);
  if (nChar <= 0 || zVal == 0) return;
  sqlite3_str_appendall(pF->pOut, pF->nLine == 0 ? "\n\n" : "\n");
  mpFmtMarkup(pF, pF->pOut, MP_WRAP_BOLD, 0);
  mpFmtPut(pF, pF->pOut, zLabel, nLabel, MP_FMT_NAME_MAX, 1, MP_WRAP_NONE);
  sqlite3_str_appendchar(pF->pOut, 1, ':');
  mpFmtMarkup(pF, pF->pOut, MP_WRAP_BOLD, 1);
  sqlite3_str_appendchar(pF->pOut, 1, bBlock ? '\n' : ' ');
  sqlite3_str_append(pF->pOut, zVal, sqlite3_str_length(pF->pVal));
  pF->nLine++;
  pF->nBudget -= nChar;
}

/*
** Returns 1 if member pM has key z[0..n).
*/
static int mpFmtKeyIs(const MpMember *pM, const char *z, int n) {
  return pM->nKey == n && memcmp(pM->zKey, z, n) == 0;
}

/*
** Returns the first member not yet shown whose key is one of the
** '|'-separated zKeys, trying the keys in their order, or NULL.
*/
static MpMember *mpFmtFind(MpFmt *pF, const char *zKeys) {
  const char *z = zKeys;
  while (*z) {
    int n = 0;
    while (z[n] && z[n] != '|')
      n++;
    for (int i = 0; i < pF->nMember; i++) {
      MpMember *pM = &pF->aMember[i];
      if (!pM->bDone && mpFmtKeyIs(pM, z, n)) return pM;
    }
    z += n + (z[n] == '|');
  }
  return 0;
}

/*
** Returns 1 if a data line may still be written: fewer than
** MP_FMT_FIELDS_MAX lines so far and some budget left.
*/
static int mpFmtRoom(MpFmt *pF) {
  return pF->nLine < MP_FMT_FIELDS_MAX && pF->nBudget > 0;
}

/*
** Returns the budget for the next value: the kind's own limit nMax, or
** less when the data budget is nearly used up.
*/
static int mpFmtCap(MpFmt *pF, int nMax) {
  return nMax < pF->nBudget ? nMax : pF->nBudget;
}

/*
** Writes the "Tests" line: the total (member pTotal, which may be NULL)
** and the passed, failed and skipped counts that are numbers. Returns
** SQLITE_OK or SQLITE_NOMEM.
*/
static int mpFmtTests(MpFmt *pF, MpMember *pTotal, const char *zLabel) {
  MpMember *apPart[3];
  int nChar = 0;
  sqlite3_str_reset(pF->pVal);
  for (int i = 0; i < 3; i++) {
    apPart[i] = mpFmtFind(pF, azTestKey[i]);
    if (apPart[i] && apPart[i]->val.eType != MP_JSON_NUMBER) apPart[i] = 0;
  }
  if (pTotal && pTotal->val.eType != MP_JSON_NUMBER) pTotal = 0;
  for (int i = 0; i < 3; i++) {
    MpMember *pM = apPart[i];
    int k;
    if (pM == 0) continue;
    if (nChar > 0) {
      sqlite3_str_appendall(pF->pVal, ", ");
      nChar += 2;
    }
    k = mpFmtNumber(pF, pF->pVal, &pM->val, 0, "");
    if (k > 0) {
      sqlite3_str_appendchar(pF->pVal, 1, ' ');
      nChar += k + 1 +
               mpFmtPut(pF, pF->pVal, azTestWord[i], (int)strlen(azTestWord[i]),
                        8, 1, 0);
    }
    pM->bDone = 1;
  }
  if (pTotal) {
    int k;
    if (nChar > 0) {
      sqlite3_str_appendall(pF->pVal, ", ");
      nChar += 2;
    }
    k = mpFmtNumber(pF, pF->pVal, &pTotal->val, 0, "");
    if (k > 0) {
      sqlite3_str_appendchar(pF->pVal, 1, ' ');
      nChar += k + 1 + mpFmtPut(pF, pF->pVal, "total", 5, 5, 1, 0);
    }
    pTotal->bDone = 1;
  }
  mpFmtCommit(pF, zLabel, (int)strlen(zLabel), nChar, 0);
  return SQLITE_OK;
}

/*
** Adds the members of object pObj to pF->aMember, skipping keys seen
** before; with bNest, a member "metadata" holding an object adds its
** members instead (one level). Members past MP_FMT_MEMBERS_MAX are only
** counted. Returns SQLITE_OK or SQLITE_NOMEM.
*/
static int mpFmtCollect(MpFmt *pF, const MpJsonValue *pObj, int bNest) {
  MpJson json;
  MpJsonValue key, val;
  if (mpJsonObjectStart(&json, pObj->z, pObj->n) != SQLITE_OK) {
    return SQLITE_OK;
  }
  while (mpJsonNextMember(&json, &key, &val) == 1) {
    MpMember *pM;
    char *zKey;
    int nKey, bSeen = 0;
    if (bNest && val.eType == MP_JSON_OBJECT && mpJsonKeyIs(&key, "metadata")) {
      int rc = mpFmtCollect(pF, &val, 0);
      if (rc != SQLITE_OK) return rc;
      continue;
    }
    if (val.eType == MP_JSON_NULL || val.eType == MP_JSON_OBJECT) continue;
    if (pF->nMember >= MP_FMT_MEMBERS_MAX) {
      pF->nExtra++;
      continue;
    }
    zKey = mpJsonString(&key, &nKey);
    if (zKey == 0) return SQLITE_NOMEM;
    for (int i = 0; i < pF->nMember && !bSeen; i++) {
      bSeen = mpFmtKeyIs(&pF->aMember[i], zKey, nKey);
    }
    if (bSeen) {
      sqlite3_free(zKey);
      continue;
    }
    pM = &pF->aMember[pF->nMember++];
    pM->zKey = zKey;
    pM->nKey = nKey;
    pM->val = val;
    pM->bDone = 0;
  }
  return SQLITE_OK;
}

/*
** Writes the data section: the known fields in the order of aField, then
** the other members in their order, then a count of what did not fit.
** Returns SQLITE_OK or SQLITE_NOMEM.
*/
static int mpFmtData(MpFmt *pF) {
  int rc = mpFmtCollect(pF, &pF->pEv->data, 1);
  int nMore = pF->nExtra;
  if (rc != SQLITE_OK) return rc;
  for (size_t i = 0; i < sizeof(aField) / sizeof(aField[0]); i++) {
    const MpField *pField = &aField[i];
    MpMember *pM = mpFmtFind(pF, pField->zKeys);
    int nChar, nMax;
    if (pField->eKind == MP_FK_TESTS) {
      if (!mpFmtRoom(pF)) break;
      rc = mpFmtTests(pF, pM, pField->zLabel);
      if (rc != SQLITE_OK) return rc;
      continue;
    }
    if (pM == 0) continue;
    if (pField->eKind == MP_FK_SKIP) {
      pM->bDone = 1;
      continue;
    }
    if (!mpFmtRoom(pF)) break;
    nMax = pField->eKind == MP_FK_TEXT || pField->eKind == MP_FK_PRE
               ? MP_FMT_TEXT_MAX
               : MP_FMT_LINE_MAX;
    sqlite3_str_reset(pF->pVal);
    nChar =
        mpFmtKnown(pF, pF->pVal, &pM->val, pField->eKind, mpFmtCap(pF, nMax));
    if (nChar < 0) return SQLITE_NOMEM;
    mpFmtCommit(pF, pField->zLabel, (int)strlen(pField->zLabel), nChar,
                pField->eKind == MP_FK_PRE && nChar > 0 &&
                    pM->val.eType == MP_JSON_STRING);
    pM->bDone = 1;
  }
  for (int i = 0; i < pF->nMember; i++) {
    MpMember *pM = &pF->aMember[i];
    int nChar;
    if (pM->bDone) continue;
    if (!mpFmtRoom(pF)) break;
    /* The label: the key humanized; a key with nothing to show is left
    ** out with its value. */
    sqlite3_str_reset(pF->pKey);
    mpFmtHumanize(pF->pKey, pM->zKey, pM->nKey, 0);
    if (mpFmtClean(pF, sqlite3_str_value(pF->pKey),
                   sqlite3_str_length(pF->pKey), MP_FMT_NAME_MAX, 1) > 0) {
      sqlite3_str_reset(pF->pVal);
      nChar =
          mpFmtGeneric(pF, pF->pVal, &pM->val, mpFmtCap(pF, MP_FMT_LINE_MAX));
      if (nChar < 0) return SQLITE_NOMEM;
      mpFmtCommit(pF, sqlite3_str_value(pF->pKey), sqlite3_str_length(pF->pKey),
                  nChar, 0);
    }
    pM->bDone = 1;
  }
  /* Members left out for want of room. */
  for (int i = 0; i < pF->nMember; i++) {
    if (!pF->aMember[i].bDone) nMore++;
    pF->aMember[i].bDone = 1;
  }
  if (nMore > 0) {
    char zBuf[64];
    sqlite3_snprintf(sizeof(zBuf), zBuf, u8"\u2026 and %d more field%s", nMore,
                     nMore == 1 ? "" : "s");
    sqlite3_str_appendall(pF->pOut, pF->nLine == 0 ? "\n\n" : "\n");
    mpFmtPut(pF, pF->pOut, zBuf, (int)strlen(zBuf), 64, 1, MP_WRAP_ITALIC);
  }
  return SQLITE_OK;
}

/*
** Returns 1 if z[0..n) are all ASCII digits.
*/
static int mpFmtDigits(const char *z, int n) {
  for (int i = 0; i < n; i++) {
    if (z[i] < '0' || z[i] > '9') return 0;
  }
  return 1;
}

/*
** Appends the time of the event to pDst: "YYYY-MM-DD HH:MM:SS UTC" for
** unix seconds or milliseconds (values of 10^11 and more) from 1970 to
** 9999, or for an RFC 3339 string ("Z" or an offset kept as written);
** anything else as written, cut to MP_FMT_FOOT_MAX characters. Returns
** the characters appended.
*/
static int mpFmtTime(MpFmt *pF, sqlite3_str *pDst, const char *zSep,
                     const MpJsonValue *pVal) {
  char zBuf[64];
  if (pVal->eType == MP_JSON_NUMBER) {
    i64 v;
    if (mpJsonInt(pVal, &v) == SQLITE_OK && v >= 0) {
      if (v >= 100000000000LL) v /= 1000;
      if (v <= 253402300799LL) {
        /* Civil date from days since the epoch (H. Hinnant's algorithm). */
        i64 iDay = v / 86400, iSec = v % 86400;
        i64 iZ = iDay + 719468;
        i64 iEra = iZ / 146097;
        i64 iDoe = iZ - iEra * 146097;
        i64 iYoe = (iDoe - iDoe / 1460 + iDoe / 36524 - iDoe / 146096) / 365;
        i64 iDoy = iDoe - (365 * iYoe + iYoe / 4 - iYoe / 100);
        i64 iMp = (5 * iDoy + 2) / 153;
        i64 iD = iDoy - (153 * iMp + 2) / 5 + 1;
        i64 iM = iMp < 10 ? iMp + 3 : iMp - 9;
        i64 iY = iYoe + iEra * 400 + (iM <= 2);
        sqlite3_snprintf(sizeof(zBuf), zBuf,
                         "%04lld-%02lld-%02lld %02lld:%02lld:%02lld UTC", iY,
                         iM, iD, iSec / 3600, iSec % 3600 / 60, iSec % 60);
        return mpFmtPutAfter(pF, pDst, zSep, zBuf, (int)strlen(zBuf), 64, 1, 0);
      }
    }
    return mpFmtPutAfter(pF, pDst, zSep, pVal->z, pVal->n, MP_FMT_NUM_MAX, 1,
                         0);
  } else {
    int n, nChar, i = 16;
    char *z = mpJsonString(pVal, &n);
    if (z == 0) return -1;
    /* YYYY-MM-DDTHH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM] */
    if (n >= 16 && mpFmtDigits(z, 4) && z[4] == '-' && mpFmtDigits(z + 5, 2) &&
        z[7] == '-' && mpFmtDigits(z + 8, 2) &&
        (z[10] == 'T' || z[10] == 't' || z[10] == ' ') &&
        mpFmtDigits(z + 11, 2) && z[13] == ':' && mpFmtDigits(z + 14, 2)) {
      const char *zZone = "";
      int nTime = 16;
      if (i + 3 <= n && z[i] == ':' && mpFmtDigits(z + i + 1, 2)) {
        i += 3;
        nTime = 19;
        if (i < n && z[i] == '.') {
          for (i++; i < n && z[i] >= '0' && z[i] <= '9'; i++) {
          }
        }
      }
      if (i < n && (z[i] == 'Z' || z[i] == 'z')) {
        zZone = " UTC";
        i++;
      } else if (i + 6 == n && (z[i] == '+' || z[i] == '-') &&
                 mpFmtDigits(z + i + 1, 2) && z[i + 3] == ':' &&
                 mpFmtDigits(z + i + 4, 2)) {
        zZone = memcmp(z + i + 1, "00:00", 5) == 0 ? " UTC" : 0;
        i = n;
      }
      if (i == n) {
        sqlite3_snprintf(sizeof(zBuf), zBuf, "%.10s %.*s%s%s", z, nTime - 11,
                         z + 11, zZone ? zZone : " ", zZone ? "" : z + n - 6);
        sqlite3_free(z);
        return mpFmtPutAfter(pF, pDst, zSep, zBuf, (int)strlen(zBuf), 64, 1, 0);
      }
    }
    nChar = mpFmtPutAfter(pF, pDst, zSep, z, n, MP_FMT_FOOT_MAX, 1, 0);
    sqlite3_free(z);
    return nChar;
  }
}

/*
** Writes the footer, "source · task <id> · time" in italics, leaving out
** the parts the event does not have. Returns SQLITE_OK or SQLITE_NOMEM.
*/
static int mpFmtFooter(MpFmt *pF) {
  const MpEvent *pEv = pF->pEv;
  sqlite3_str *pFoot = sqlite3_str_new(0);
  int nPart = 0, rc = SQLITE_OK;
  for (int i = 0; i < 3; i++) {
    const char *zSep = nPart > 0 ? u8" \u00B7 " : "";
    int k = 0;
    if (i == 0 && pEv->zSource) {
      k = mpFmtPutAfter(pF, pFoot, zSep, pEv->zSource, pEv->nSource,
                        MP_FMT_FOOT_MAX, 1, 0);
    } else if (i == 1 && pEv->zTask) {
      k = mpFmtPutAfter(pF, pFoot, nPart > 0 ? u8" \u00B7 task " : "task ",
                        pEv->zTask, pEv->nTask, MP_FMT_FOOT_MAX, 1, 0);
    } else if (i == 2 && pEv->time.eType != MP_JSON_NULL) {
      k = mpFmtTime(pF, pFoot, zSep, &pEv->time);
      if (k < 0) rc = SQLITE_NOMEM;
    }
    if (k > 0) nPart++;
  }
  if (sqlite3_str_errcode(pFoot)) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK && nPart > 0) {
    /* The parts are escaped already: add the markup around them. */
    sqlite3_str_appendall(pF->pOut, "\n\n");
    mpFmtMarkup(pF, pF->pOut, MP_WRAP_ITALIC, 0);
    sqlite3_str_append(pF->pOut, sqlite3_str_value(pFoot),
                       sqlite3_str_length(pFoot));
    mpFmtMarkup(pF, pF->pOut, MP_WRAP_ITALIC, 1);
  }
  sqlite3_free(sqlite3_str_finish(pFoot));
  return rc;
}

/*
** Formats event pEv for parse mode eMode. Returns the message (from
** sqlite3_malloc64; the caller frees it) with its length in *pnOut, or
** NULL with *pRc set to SQLITE_NOMEM or SQLITE_TOOBIG. db supplies the
** length limit.
*/
static char *mpFmtEvent(sqlite3 *db, const MpEvent *pEv, int eMode, int *pnOut,
                        int *pRc) {
  MpFmt *pF;
  const MpEventKind *pKind = mpFmtKind(pEv->zType, pEv->nType);
  char *zOut = 0;
  int rc = SQLITE_OK;
  *pnOut = 0;
  pF = sqlite3_malloc64(sizeof(*pF));
  if (pF == 0) {
    *pRc = SQLITE_NOMEM;
    return 0;
  }
  memset(pF, 0, sizeof(*pF));
  pF->pOut = sqlite3_str_new(db);
  pF->pVal = sqlite3_str_new(db);
  pF->pTmp = sqlite3_str_new(db);
  pF->pKey = sqlite3_str_new(db);
  pF->eMode = eMode;
  pF->pEv = pEv;
  pF->nBudget = MP_FMT_DATA_BUDGET;

  /* First line: emoji and bold title. */
  sqlite3_str_appendall(pF->pOut, pKind ? pKind->zEmoji : MP_EMOJI_OTHER);
  sqlite3_str_appendchar(pF->pOut, 1, ' ');
  if (pEv->zTitle == 0 || mpFmtPut(pF, pF->pOut, pEv->zTitle, pEv->nTitle,
                                   MP_FMT_TITLE_MAX, 1, MP_WRAP_BOLD) == 0) {
    if (pKind && pKind->zName) {
      mpFmtPut(pF, pF->pOut, pKind->zName, (int)strlen(pKind->zName),
               MP_FMT_NAME_MAX, 1, MP_WRAP_BOLD);
    } else {
      sqlite3_str_reset(pF->pVal);
      mpFmtHumanize(pF->pVal, pEv->zType, pEv->nType, 1);
      if (sqlite3_str_value(pF->pVal) == 0 ||
          mpFmtPut(pF, pF->pOut, sqlite3_str_value(pF->pVal),
                   sqlite3_str_length(pF->pVal), MP_FMT_NAME_MAX, 1,
                   MP_WRAP_BOLD) == 0) {
        mpFmtPut(pF, pF->pOut, "Event", 5, 5, 1, MP_WRAP_BOLD);
      }
    }
  }

  /* The description. */
  if (pEv->zDesc) {
    mpFmtPutAfter(pF, pF->pOut, "\n\n", pEv->zDesc, pEv->nDesc, MP_FMT_DESC_MAX,
                  0, MP_WRAP_NONE);
  }

  if (pEv->data.eType == MP_JSON_OBJECT) rc = mpFmtData(pF);
  if (rc == SQLITE_OK) rc = mpFmtFooter(pF);

  for (int i = 0; i < pF->nMember; i++) {
    sqlite3_free(pF->aMember[i].zKey);
  }
  if (rc == SQLITE_OK) rc = sqlite3_str_errcode(pF->pOut);
  if (rc == SQLITE_OK) rc = sqlite3_str_errcode(pF->pVal);
  if (rc == SQLITE_OK) rc = sqlite3_str_errcode(pF->pTmp);
  if (rc == SQLITE_OK) rc = sqlite3_str_errcode(pF->pKey);
  if (rc == SQLITE_OK) {
    *pnOut = sqlite3_str_length(pF->pOut);
    zOut = sqlite3_str_finish(pF->pOut);
    if (zOut == 0) rc = SQLITE_NOMEM;
  } else {
    sqlite3_free(sqlite3_str_finish(pF->pOut));
  }
  sqlite3_free(sqlite3_str_finish(pF->pVal));
  sqlite3_free(sqlite3_str_finish(pF->pTmp));
  sqlite3_free(sqlite3_str_finish(pF->pKey));
  sqlite3_free(pF);
  *pRc = rc;
  return zOut;
}

/*
** Sets the error of a failed mpFmtEvent() on ctx.
*/
static void mpFmtError(sqlite3_context *ctx, const char *zFunc, int rc) {
  if (rc == SQLITE_TOOBIG) {
    mpResultErrorf(ctx, "%s: the formatted message is too long", zFunc);
    sqlite3_result_error_code(ctx, SQLITE_TOOBIG);
  } else {
    sqlite3_result_error_nomem(ctx);
  }
}

/*
** Reads the event_json argument: TEXT, valid UTF-8, at most
** MP_EVENT_MAX_BYTES. An empty text is reported as not an object. Returns
** SQLITE_OK with *pz and *pn set, or sets an error on ctx.
*/
static int mpFmtArgEvent(sqlite3_context *ctx, sqlite3_value *pArg,
                         const char *zFunc, const char **pz, int *pn) {
  if (sqlite3_value_type(pArg) == SQLITE_TEXT &&
      sqlite3_value_bytes(pArg) == 0) {
    mpResultErrorf(ctx, "%s: event_json must be a JSON object", zFunc);
    return SQLITE_MISMATCH;
  }
  return mpArgText(ctx, pArg, zFunc, "event_json", MP_EVENT_MAX_BYTES, 0, pz,
                   pn);
}

/*
** mp_format(event_json [, parse_mode]): the message text for an event,
** escaped for parse_mode ('HTML', the default, or 'MarkdownV2', in any
** case; NULL means the default). NULL event_json gives NULL.
** MP_FN_PURE: the text depends on the arguments only.
*/
static void mpFormatFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char zFunc[] = "mp_format";
  MpEvent ev;
  const char *zEvent;
  char *zOut;
  int nEvent, nOut, rc, eMode = MP_MODE_HTML;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  if (argc >= 2 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    const char *zMode;
    if (mpArgText(ctx, argv[1], zFunc, "parse_mode", 64, 0, &zMode, 0)) {
      return;
    }
    if (sqlite3_stricmp(zMode, "MarkdownV2") == 0) {
      eMode = MP_MODE_MDV2;
    } else if (sqlite3_stricmp(zMode, "HTML") != 0) {
      mpResultErrorf(ctx, "%s: parse_mode must be HTML or MarkdownV2, got %s",
                     zFunc, zMode);
      return;
    }
  }
  if (mpFmtArgEvent(ctx, argv[0], zFunc, &zEvent, &nEvent)) return;
  memset(&ev, 0, sizeof(ev));
  if (mpEventParse(ctx, zFunc, zEvent, nEvent, &ev) == SQLITE_OK) {
    zOut = mpFmtEvent(sqlite3_context_db_handle(ctx), &ev, eMode, &nOut, &rc);
    if (zOut) {
      sqlite3_result_text(ctx, zOut, nOut, sqlite3_free);
    } else {
      mpFmtError(ctx, zFunc, rc);
    }
  }
  mpEventClear(&ev);
}

/*
** mp_enqueue_event(event_json [, chat_id]): formats the event as HTML,
** derives the priority from its type, and stores it with mpEnqueueMessage()
** together with the event JSON as event_data. chat_id defaults (when
** absent or NULL) to the chat_id setting. A string event_id becomes the
** dedup key "event:<event_id>". Returns the message id. MP_FN_UNSAFE: it
** writes.
*/
static void mpEnqueueEventFunc(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv) {
  static const char zFunc[] = "mp_enqueue_event";
  MpState *p = sqlite3_user_data(ctx);
  MpMessage msg;
  MpEvent ev;
  char *zText = 0;
  int rc;
  memset(&msg, 0, sizeof(msg));
  memset(&ev, 0, sizeof(ev));
  if (mpFmtArgEvent(ctx, argv[0], zFunc, &msg.zEvent, &msg.nEvent)) return;
  if (argc >= 2 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    if (mpArgInt(ctx, argv[1], zFunc, "chat_id", &msg.iChat)) return;
    if (msg.iChat == 0) {
      mpResultErrorf(ctx, "%s: chat_id must not be 0", zFunc);
      return;
    }
  }
  if (mpEventParse(ctx, zFunc, msg.zEvent, msg.nEvent, &ev) != SQLITE_OK) {
    goto enqueue_event_done;
  }
  if (ev.eEventIdType != MP_JSON_NULL) {
    if (ev.eEventIdType != MP_JSON_STRING) {
      mpResultErrorf(ctx, "%s: event event_id must be a string", zFunc);
      goto enqueue_event_done;
    }
    if (ev.nEventId == 0 || ev.nEventId > MP_FMT_EVENT_ID_MAX ||
        (int)strlen(ev.zEventId) != ev.nEventId) {
      mpResultErrorf(ctx,
                     "%s: event event_id must be 1 to %d bytes without "
                     "NUL",
                     zFunc, MP_FMT_EVENT_ID_MAX);
      goto enqueue_event_done;
    }
    msg.zDedup = sqlite3_mprintf("event:%s", ev.zEventId);
    if (msg.zDedup == 0) {
      sqlite3_result_error_nomem(ctx);
      goto enqueue_event_done;
    }
  }
  if (msg.iChat == 0) {
    rc = mpConfigInt(p, "chat_id", &msg.iChat);
    if (rc != SQLITE_OK) {
      mpResultDbError(ctx, zFunc, p->db, rc);
      goto enqueue_event_done;
    }
    if (msg.iChat == 0) {
      mpResultErrorf(ctx,
                     "%s: no chat_id given and no default chat_id "
                     "configured (mp_config('chat_id', N))",
                     zFunc);
      goto enqueue_event_done;
    }
  }
  zText = mpFmtEvent(p->db, &ev, MP_MODE_HTML, &msg.nText, &rc);
  if (zText == 0) {
    mpFmtError(ctx, zFunc, rc);
    goto enqueue_event_done;
  }
  msg.zText = zText;
  msg.iPriority = mpFmtPriority(ev.zType, ev.nType);
  msg.zParseMode = "HTML";
  mpEnqueueMessage(ctx, p, zFunc, &msg);

enqueue_event_done:
  sqlite3_free(zText);
  sqlite3_free(msg.zDedup);
  mpEventClear(&ev);
}

/*
** Registers mp_format() and mp_enqueue_event(). Returns an SQLite result
** code; *pzErrMsg names the function that failed.
*/
int mpRegisterFormat(sqlite3 *db, MpState *p, char **pzErrMsg) {
  // clang-format off
  static const MpFunction aFunc[] = {
    { "mp_format",        1, MP_FN_PURE,   mpFormatFunc },
    { "mp_format",        2, MP_FN_PURE,   mpFormatFunc },
    { "mp_enqueue_event", 1, MP_FN_UNSAFE, mpEnqueueEventFunc },
    { "mp_enqueue_event", 2, MP_FN_UNSAFE, mpEnqueueEventFunc },
  };
  // clang-format on
  return mpRegisterFunctions(db, p, aFunc, sizeof(aFunc) / sizeof(aFunc[0]),
                             pzErrMsg);
}
