// SPDX-License-Identifier: MIT
//
// mp from Node: load build/mp.so into better-sqlite3 (v12, which bundles its
// own SQLite) and drive the queue the way a Node host application would.
//
//   cd tests/node && npm ci && MP_EXTENSION=../../build/mp.so node --test test_load.mjs
//   node test_load.mjs ../../build/mp.so          (direct, same tests)
//   sh tests/node/run.sh build/mp.so              (what ctest runs)
//
// better-sqlite3 binds every JS number as REAL (2, 3.0 and 2.5 alike) and a
// BigInt as INTEGER, so mp's integer arguments must take whole REALs and
// refuse fractional ones (SPEC: argument conventions).

import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = process.argv.slice(2).find((a) => !a.startsWith('-') && /\.(so|dylib|dll)$|mp$/.test(a));
const EXTENSION = path.resolve(process.env.MP_EXTENSION || arg || path.join(here, '../../build/mp.so'));
if (!fs.existsSync(EXTENSION)) {
  throw new Error(`${EXTENSION}: no such file (pass the path of mp.so or set MP_EXTENSION)`);
}

const T0 = 1_700_000_000_000; // a fixed mp clock (ms)
const NO_PACING = { pace_chat_ms: 0, pace_group_per_minute: 0, pace_global_per_second: 0 };
const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CLAIM_COLUMNS = ['id', 'chat_id', 'message_text', 'parse_mode', 'retry_count',
  'lease_token', 'priority', 'attempts', 'event_data', 'in_doubt'];

function openDb(file, { load = true } = {}) {
  const db = new Database(file, { timeout: 10000 });
  if (load) db.loadExtension(EXTENSION);
  assert.equal(db.pragma('journal_mode = WAL', { simple: true }), 'wal');
  return db;
}

// A fresh WAL file database per test, mp loaded and initialized.
let dir, file, db, initResult;
function fresh() {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-node-'));
  file = path.join(dir, 'queue.db');
  db = openDb(file);
  initResult = JSON.parse(db.prepare('SELECT mp_init(?)').pluck().get(JSON.stringify(NO_PACING)));
}
function cleanup() {
  if (db && db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

const one = (sql, ...args) => db.prepare(sql).pluck().get(...args);
const stats = () => Object.fromEntries(db.prepare('SELECT name, value FROM mp_stats').raw().all());
function assertStats(want) {
  const got = stats();
  assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, got[k]])), want);
}
const claim = (...args) =>
  db.prepare(`SELECT * FROM mp_claim(${args.map(() => '?').join(', ')})`).all(...args);
const row = (id, cols) => db.prepare(`SELECT ${cols} FROM messages WHERE id = ?`).get(id);
function assertError(fn, fragment) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Database.SqliteError, `not an SqliteError: ${e}`);
    assert.ok(e.message.includes(fragment), `"${e.message}" does not contain "${fragment}"`);
    return true;
  });
}
function assertIntact() {
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal(one('SELECT mp_verify()'), 0);
}

describe('load and init', () => {
  beforeEach(fresh);
  afterEach(cleanup);

  test('version, WAL file database, mp_init result', () => {
    const version = one('SELECT mp_version()');
    assert.match(version, /^\d+\.\d+\.\d+/);
    const vfile = path.join(here, '../../VERSION');
    if (fs.existsSync(vfile)) assert.equal(version, fs.readFileSync(vfile, 'utf8').trim().split(/\s+/)[0]);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(initResult.previous_schema_version, 0);
    assert.ok(initResult.schema_version >= 1);
    for (const [k, v] of Object.entries(NO_PACING)) assert.equal(initResult.config[k], v);
    const again = JSON.parse(one('SELECT mp_init()'));
    assert.equal(again.previous_schema_version, initResult.schema_version);
    assert.deepEqual(again.config, initResult.config);
    assert.equal(db.pragma('user_version', { simple: true }), 0);
  });

  test('config takes JS numbers', () => {
    assert.equal(one("SELECT mp_config('lease_seconds', ?)", 120), 120);
    assert.equal(one("SELECT typeof(value) FROM mp_meta WHERE key = 'lease_seconds'"), 'integer');
    assertError(() => one("SELECT mp_config('lease_seconds', ?)", 1.5), 'mp_config: lease_seconds must be an integer');
    assertError(() => one('SELECT mp_init(?)', '{"pace_chat_ms": -1}'), 'mp_init: pace_chat_ms must be between');
  });
});

describe('JS numbers as integer arguments', () => {
  beforeEach(() => { fresh(); one('SELECT mp_clock_set(?)', T0); });
  afterEach(cleanup);

  test('how better-sqlite3 binds', () => {
    // Whatever the driver picks for a whole number, mp must accept it;
    // a BigInt is always an INTEGER.
    const t = db.prepare('SELECT typeof(?)').pluck();
    assert.ok(['integer', 'real'].includes(t.get(2)));
    assert.equal(t.get(2.5), 'real');
    assert.equal(t.get(2n), 'integer');
  });

  test('run(2) and a double 3.0 with safeIntegers(false)', () => {
    const info = db.prepare("SELECT mp_enqueue(?, 'two')").run(2);
    assert.equal(info.changes, 1);
    const id3 = db.prepare("SELECT mp_enqueue(?, 'three')").safeIntegers(false).pluck().get(3.0);
    assert.match(id3, UUID7);
    const rows = db.prepare('SELECT chat_id, typeof(chat_id) AS t, message_text FROM messages ORDER BY seq').all();
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { chat_id: 2, t: 'integer', message_text: 'two' },
      { chat_id: 3, t: 'integer', message_text: 'three' },
    ]);
  });

  test('whole REAL, INTEGER (BigInt) and group ids', () => {
    const enq = db.prepare("SELECT mp_enqueue(?, 'n')").pluck();
    const cases = [
      [4, 4], [-1001234567890, -1001234567890], [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
      [5n, 5], [-1001234567891n, -1001234567891],
    ];
    for (const [value, want] of cases) {
      const id = enq.get(value);
      assert.deepEqual({ ...row(id, 'chat_id, typeof(chat_id) AS t') }, { chat_id: want, t: 'integer' }, String(value));
    }
    // REAL for certain, whatever the driver does:
    const id = db.prepare("SELECT mp_enqueue(CAST(? AS REAL), 'cast')").pluck().get(6);
    assert.equal(row(id, 'chat_id').chat_id, 6);
    // Large ids come back exact as BigInt.
    const big = db.prepare("SELECT mp_enqueue(?, 'big')").pluck().get(2n ** 62n);
    assert.equal(db.prepare('SELECT chat_id FROM messages WHERE id = ?').safeIntegers(true).pluck().get(big), 2n ** 62n);
  });

  test('fractional numbers are refused with a clear error', () => {
    const count = one('SELECT count(*) FROM messages');
    assertError(() => db.prepare("SELECT mp_enqueue(?, 'x')").run(2.5), 'mp_enqueue: chat_id must be an integer, got 2.5');
    assertError(() => db.prepare("SELECT mp_enqueue(?, 'x')").run(1e300), 'mp_enqueue: chat_id must be an integer');
    assertError(() => db.prepare("SELECT mp_enqueue(?, 'x')").run(Infinity), 'mp_enqueue: chat_id must be an integer');
    assertError(() => db.prepare("SELECT mp_enqueue(?, 'x')").run('12'), 'mp_enqueue: chat_id must be an integer, got text');
    assert.equal(one('SELECT count(*) FROM messages'), count);
  });

  test('other integer arguments: claim n and lease, confirm id, mark_failed', () => {
    for (const chat of [1, 2, 3]) one("SELECT mp_enqueue(?, 'x')", chat);
    const got = claim(2, 30);
    assert.equal(got.length, 2);
    assert.equal(row(got[0].id, 'lease_until').lease_until, T0 + 30000);
    assert.equal(one('SELECT mp_confirm(?, ?)', got[0].id, 777), 1);
    assert.deepEqual({ ...row(got[0].id, 'telegram_message_id AS tg, typeof(telegram_message_id) AS t') },
      { tg: 777, t: 'integer' });
    assertError(() => one('SELECT mp_confirm(?, ?)', got[1].id, 7.5), 'mp_confirm: telegram_message_id must be an integer');
    assert.equal(one("SELECT mp_mark_failed(?, 'x', ?, ?)", got[1].id, 1, 60), 'pending');
    assert.equal(row(got[1].id, 'due_at').due_at, T0 + 60000);
    assertError(() => claim(1.5), 'mp_claim: n must be an integer');
    assertError(() => claim(1, 0.5), 'mp_claim: lease_seconds must be an integer');
  });
});

describe('enqueue options', () => {
  beforeEach(() => { fresh(); one('SELECT mp_clock_set(?)', T0); });
  afterEach(cleanup);

  test('plain row', () => {
    const id = one('SELECT mp_enqueue(?, ?)', 12345, 'Build finished');
    assert.match(id, UUID7);
    assert.deepEqual({ ...row(id, 'chat_id, message_text, status, retry_count, priority, parse_mode, dedup_key, ' +
      'event_data, timestamp, created_at, order_at, due_at, length(checksum) AS sum') }, {
      chat_id: 12345, message_text: 'Build finished', status: 'pending', retry_count: 0, priority: 1,
      parse_mode: null, dedup_key: null, event_data: null, timestamp: T0 / 1000, created_at: T0 / 1000,
      order_at: 0, due_at: T0, sum: 32,
    });
  });

  test('priority, delay_ms, dedup_key, parse_mode, event_json', () => {
    const enq = db.prepare('SELECT mp_enqueue(?, ?, ?, ?)').pluck();
    const prio = [['low', 0], ['normal', 1], ['high', 2], ['critical', 3], [0, 0], [3, 3]];
    for (const [i, [p, want]] of prio.entries()) {
      const id = enq.get(i + 1, 'p', null, JSON.stringify({ priority: p }));
      assert.equal(row(id, 'priority').priority, want, String(p));
    }
    const later = enq.get(50, 'later', null, '{"delay_ms": 5000}');
    assert.deepEqual({ ...row(later, 'order_at, due_at') }, { order_at: T0 + 5000, due_at: T0 + 5000 });

    const d1 = enq.get(60, 'first', null, '{"dedup_key": "k-1"}');
    const d2 = enq.get(60, 'second', null, '{"dedup_key": "k-1"}');
    assert.equal(d2, d1);
    assert.equal(one("SELECT count(*) FROM messages WHERE dedup_key = 'k-1'"), 1);

    for (const [given, stored] of [['HTML', 'HTML'], ['markdownv2', 'MarkdownV2'], ['Markdown', 'Markdown']]) {
      const id = enq.get(70, 'x', null, JSON.stringify({ parse_mode: given }));
      assert.equal(row(id, 'parse_mode').parse_mode, stored);
    }
    const event = JSON.stringify({ type: 'approval_request', title: 'Deploy', data: { env: 'prod' } });
    const text = 'Ünïcode ✓ 🚀 <b>bold</b>';
    const all = enq.get(-1001234567890, text, event,
      JSON.stringify({ priority: 'critical', delay_ms: 250, dedup_key: 'all', parse_mode: 'HTML' }));
    assert.deepEqual({ ...row(all, 'chat_id, message_text, event_data, priority, order_at, dedup_key, parse_mode') }, {
      chat_id: -1001234567890, message_text: text, event_data: event, priority: 3, order_at: T0 + 250,
      dedup_key: 'all', parse_mode: 'HTML',
    });
    assertIntact();
  });
});

describe('claim and confirm', () => {
  beforeEach(fresh);
  afterEach(cleanup);

  test('columns, order, confirm with the lease token', () => {
    const enq = db.prepare('SELECT mp_enqueue(?, ?)').pluck();
    const ids = Array.from({ length: 32 }, (_, i) => enq.get(1000 + i, `msg ${i}`));
    const stmt = db.prepare('SELECT * FROM mp_claim(?)');
    assert.deepEqual(stmt.columns().map((c) => c.name), CLAIM_COLUMNS);
    const got = stmt.all(32);
    assert.deepEqual(got.map((g) => g.id), ids);
    got.forEach((g, i) => {
      assert.deepEqual([g.chat_id, g.message_text, g.parse_mode, g.retry_count, g.priority, g.attempts, g.in_doubt],
        [1000 + i, `msg ${i}`, null, 0, 1, 1, 0]);
      assert.match(g.lease_token, new RegExp(`^${g.id}:[0-9a-f]{16}$`));
    });
    assertStats({ pending: 0, sent: 32, in_flight: 32 });
    // 32 random tokens cover both halves of the hex range.
    const refused = [];
    got.forEach((g, i) => {
      try {
        assert.equal(one("SELECT mp_confirm(?, ?, 'telegram')", g.lease_token, 5000 + i), 1);
      } catch (e) {
        refused.push(`${g.lease_token} -> ${e.message}`);
      }
    });
    assert.deepEqual(refused, [], 'mp_confirm refused valid lease tokens');
    got.forEach((g, i) => {
      assert.deepEqual({ ...row(g.id, 'status, telegram_message_id AS tg, tier_used, lease_token') },
        { status: 'confirmed', tg: 5000 + i, tier_used: 'telegram', lease_token: null });
    });
    assertStats({ pending: 0, sent: 0, confirmed: 32 });
    assertError(() => one('SELECT mp_confirm(?, 1)', got[0].id), 'mp_confirm: illegal transition confirmed -> confirmed');
    assertIntact();
  });

  test('one in flight per chat, priority first, worker and lease stored', () => {
    one('SELECT mp_clock_set(?)', T0);
    const a1 = one("SELECT mp_enqueue(1, 'a1')");
    const a2 = one("SELECT mp_enqueue(1, 'a2')");
    const c1 = one("SELECT mp_enqueue(3, 'c1', NULL, '{\"priority\":\"critical\"}')");
    assert.deepEqual(claim(10, 60, 'node-worker').map((g) => g.id), [c1, a1]);
    assert.deepEqual({ ...row(a1, 'worker, lease_until') }, { worker: 'node-worker', lease_until: T0 + 60000 });
    assert.deepEqual(claim(10), []);
    assert.equal(one('SELECT mp_confirm(?, 1)', a1), 1);
    assert.deepEqual(claim(10).map((g) => g.id), [a2]);
  });

  test('a claim inside a better-sqlite3 immediate transaction', () => {
    for (const chat of [1, 2, 3]) one("SELECT mp_enqueue(?, 'x')", chat);
    const take = db.transaction((n) => claim(n));
    assert.equal(take.immediate(2).length, 2);
    const rollback = db.transaction(() => { claim(5); throw new Error('abort'); });
    assert.throws(() => rollback.immediate(), /abort/);
    assertStats({ pending: 1, sent: 2 });
  });
});

describe('mp_stats', () => {
  beforeEach(fresh);
  afterEach(cleanup);

  test('values exact through a lifecycle', () => {
    one('SELECT mp_clock_set(?)', T0);
    assertStats({ pending: 0, sent: 0, confirmed: 0, failed: 0, in_flight: 0, total: 0, messages_stored: 0,
      messages_updated: 0, messages_deleted: 0, retries: 0, requeued: 0, oldest_pending_age: null,
      last_cleanup: null, last_backup: null, schema_version: initResult.schema_version });
    const [a, b, c] = [1, 2, 3, 4].map((chat) => one('SELECT mp_enqueue(?, ?)', chat, `m${chat}`));
    assertStats({ pending: 4, total: 4, messages_stored: 4, oldest_pending_age: 0 });
    assert.deepEqual(claim(3).map((g) => g.id), [a, b, c]);
    assertStats({ pending: 1, sent: 3, in_flight: 3, messages_updated: 3 });
    one('SELECT mp_clock_advance(10000)');
    assertStats({ oldest_pending_age: 10 });
    one("SELECT mp_confirm(?, 101, 'telegram')", a);
    assert.equal(one("SELECT mp_mark_failed(?, 'chat not found', 0)", b), 'failed');
    assert.equal(one("SELECT mp_mark_failed(?, 'HTTP 502')", c), 'pending');
    assertStats({ pending: 2, sent: 0, confirmed: 1, failed: 1, retries: 1, total: 4, messages_updated: 6 });
    db.prepare('DELETE FROM messages WHERE id = ?').run(a);
    assertStats({ pending: 2, confirmed: 0, failed: 1, total: 3, messages_stored: 4, messages_deleted: 1 });
    assert.equal(one("SELECT value FROM mp_stats WHERE name = 'database_size_bytes'"),
      db.pragma('page_count', { simple: true }) * db.pragma('page_size', { simple: true }));
  });
});

describe('errors', () => {
  beforeEach(fresh);
  afterEach(cleanup);

  test('messages name the function', () => {
    const id = one("SELECT mp_enqueue(1, 'x')");
    const cases = [
      ["SELECT mp_enqueue(?, 'x')", [2.5], 'mp_enqueue: chat_id must be an integer'],
      ["SELECT mp_enqueue(1, '')", [], 'mp_enqueue: text must not be empty'],
      ["SELECT mp_enqueue(1, 'x', 'nope')", [], 'mp_enqueue: event_json must be a JSON object'],
      ["SELECT mp_enqueue(1, 'x', NULL, ?)", ['{"colour": 1}'], 'mp_enqueue: unknown option'],
      ["SELECT mp_enqueue(1, 'x', NULL, ?)", ['{"priority": "urgent"}'], 'mp_enqueue: priority must be'],
      ["SELECT mp_enqueue(1, 'x', NULL, ?)", ['{"delay_ms": -5}'], 'mp_enqueue: delay_ms must be'],
      ["SELECT mp_enqueue(1, 'x', NULL, ?)", ['{"parse_mode": "rtf"}'], 'mp_enqueue: parse_mode must be'],
      ["SELECT mp_enqueue(1, 'x', NULL, ?)", ['{"dedup_key": 5}'], 'mp_enqueue: dedup_key must be a string'],
      ["SELECT mp_confirm('nope', 1)", [], "mp_confirm: no message with id 'nope'"],
      ['SELECT mp_confirm(?, 1)', [id], 'mp_confirm: illegal transition pending -> confirmed'],
      ["SELECT mp_mark_failed(?, 'e', 2)", [id], 'mp_mark_failed: retryable must be 0 or 1'],
      ['SELECT mp_requeue(?)', [id], 'mp_requeue: illegal transition pending -> pending'],
      ["SELECT mp_config('nope')", [], 'mp_config: unknown key'],
      ["SELECT mp_init('{\"nope\": 1}')", [], 'mp_init: unknown config key'],
      ['SELECT * FROM mp_claim(?)', [-1], 'mp_claim: n must be between 0 and'],
      ["SELECT * FROM mp_claim(1, 10, '')", [], 'mp_claim: worker must be text'],
    ];
    for (const [sql, args, fragment] of cases) {
      assertError(() => db.prepare(sql).all(...args), fragment);
    }
    assert.deepEqual({ ...row(id, 'status, retry_count, revision') }, { status: 'pending', retry_count: 0, revision: 0 });
  });

  test('side effects are direct-only', () => {
    db.exec("CREATE VIEW v AS SELECT mp_enqueue(1, 'x') AS id");
    assertError(() => db.prepare('SELECT * FROM v').all(), 'unsafe use of mp_enqueue');
    assert.equal(one('SELECT count(*) FROM messages'), 0);
  });

  test('before mp_init, errors point to mp_init', () => {
    const other = openDb(path.join(dir, 'empty.db'));
    try {
      for (const [func, sql] of [['mp_enqueue', "SELECT mp_enqueue(1, 'x')"], ['mp_stats', 'SELECT * FROM mp_stats'],
        ['mp_claim', 'SELECT * FROM mp_claim(1)'], ['mp_confirm', "SELECT mp_confirm('x', 1)"]]) {
        assert.throws(() => other.prepare(sql).all(), (e) => {
          assert.ok(e.message.includes(func) && e.message.includes('mp_init'), `${func}: "${e.message}"`);
          return true;
        });
      }
    } finally {
      other.close();
    }
  });
});

describe('close and reopen', () => {
  beforeEach(fresh);
  afterEach(cleanup);

  test('close, then reopen and read', () => {
    const ids = [1, 2, 3].map((chat) => one('SELECT mp_enqueue(?, ?)', chat, `keep ${chat}`));
    const got = claim(2);
    assert.equal(one('SELECT mp_confirm(?, 42)', got[0].id), 1);
    const before = stats();
    db.close();
    assert.equal(db.open, false);
    assert.throws(() => db.prepare('SELECT 1'), TypeError);
    assert.equal(fs.existsSync(`${file}-wal`), false, 'WAL file left behind: the connection did not close');

    const plain = openDb(file, { load: false });
    try {
      assert.deepEqual(plain.prepare('SELECT id, chat_id, status, telegram_message_id AS tg FROM messages ORDER BY seq').all()
        .map((r) => ({ ...r })), [
        { id: ids[0], chat_id: 1, status: 'confirmed', tg: 42 },
        { id: ids[1], chat_id: 2, status: 'sent', tg: null },
        { id: ids[2], chat_id: 3, status: 'pending', tg: null },
      ]);
      assert.equal(plain.pragma('journal_mode = DELETE', { simple: true }), 'delete'); // nobody else has it open
      assert.equal(plain.pragma('journal_mode = WAL', { simple: true }), 'wal');
    } finally {
      plain.close();
    }
    db = openDb(file);
    assert.deepEqual(stats(), before);
    assert.equal(one('SELECT mp_confirm(?, 43)', got[1].id), 1);
    assertIntact();
  });

  test('open/close cycles', () => {
    db.close();
    for (let i = 0; i < 20; i++) {
      const c = openDb(file);
      c.prepare("SELECT mp_enqueue(?, 'cycle')").run(i + 1);
      if (i % 2) c.prepare('SELECT * FROM mp_stats').all();
      if (i % 3 === 0) c.prepare('SELECT * FROM mp_claim(1)').all();
      c.close();
      assert.equal(fs.existsSync(`${file}-wal`), false, `cycle ${i}`);
    }
    db = openDb(file);
    assertStats({ total: 20, sent: 7, pending: 13 });
  });
});
