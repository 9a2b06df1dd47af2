// SPDX-License-Identifier: MIT
//
// mp against plainjob (https://github.com/justplainstuff/plainjob, the npm
// package, run as is) and a hand-written better-sqlite3 queue, in one Node
// process, on the same SQLite (the one better-sqlite3 bundles), same
// machine, same run. bench/competitors/run.sh runs it; by hand:
//
//   cd bench/competitors/node && npm ci
//   node bench.mjs --ext /path/to/mp.so [--rounds R] [--n1 N] [--nb N]
//                  [--batch B] [--only E1,EB,P1,PB] [--dir DIR] [--verbose]
//
// Sides (each sample on a fresh WAL database file; every side gets
// journal_mode=WAL, synchronous=NORMAL, busy_timeout=5000,
// temp_store=MEMORY and better-sqlite3's default cache):
//
//   mp            build/mp.so loaded with db.loadExtension(), mp_init() with
//                 pacing off; one mp_enqueue() / mp_confirm() per message,
//                 mp_claim(n)
//   mp-batch      the same, with mp_enqueue_batch() and mp_confirm_batch()
//   plainjob      plainjob 0.0.14's own code: queue.add(), queue.addMany()
//                 and, for processing, its worker (defineWorker().start(),
//                 as its benchmark's worker processes run it: per job a
//                 BEGIN IMMEDIATE scheduled-job check, the BEGIN IMMEDIATE
//                 SELECT + UPDATE claim, getJobById(), the processor, the
//                 markJobAsDone() UPDATE)
//   plainjob-api  the same claim and done calls without the worker loop:
//                 getAndMarkJobAsProcessing(), getJobById(), markJobAsDone()
//   raw           a minimal hand-written queue (table q, one partial
//                 index, prepared statements) as a reference
//
// Workloads (messages: chat ids cycling over 1000 chats and a 300-byte
// text; plainjob's job data is {chat_id, text}):
//
//   E1  enqueue, one per transaction
//   EB  enqueue, --batch per transaction (plainjob: addMany)
//   P1  claim one and ack it, each in its own transaction (plainjob's
//       worker: three transactions per job)
//   PB  claim --batch and ack them in one transaction (plainjob has no
//       batch claim)
//
// P1 and PB start from stored messages (1000 per transaction, before the
// clock starts, then a WAL checkpoint). Each round runs the sides in a
// rotating order; the table shows medians of wall-clock msg/s and of the
// process's CPU time per message, and mp/x, the median over rounds of x's
// time over mp's in the same round (above 1, mp is faster). Every
// sample's result is checked by counting rows.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker, JobStatus } from 'plainjob';

const require = createRequire(import.meta.url);
const CHATS = 1000;
const TEXT_BYTES = 300;
const PREFILL_TX = 1000;
const MP_CONFIG = JSON.stringify({ pace_chat_ms: 0, pace_group_per_minute: 0, pace_global_per_second: 0 });
const QUIET = { error: console.error, warn: console.warn, info() {}, debug() {} };

const opt = { ext: null, rounds: 5, n1: 5000, nb: 20000, batch: 100, only: null, dir: os.tmpdir(), verbose: false };
function usage(msg) {
  if (msg) console.error(`bench.mjs: ${msg}`);
  console.error('usage: node bench.mjs --ext PATH/mp.so [--rounds R] [--n1 N] [--nb N] [--batch B] ' +
    '[--only E1,EB,P1,PB] [--dir DIR] [--verbose]');
  process.exit(2);
}
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const val = () => process.argv[++i] ?? usage(`${a} needs a value`);
  const int = () => {
    const v = Number(val());
    if (!Number.isInteger(v) || v < 1) usage(`${a} needs a positive integer`);
    return v;
  };
  if (a === '--ext') opt.ext = path.resolve(val());
  else if (a === '--rounds') opt.rounds = int();
  else if (a === '--n1') opt.n1 = int();
  else if (a === '--nb') opt.nb = int();
  else if (a === '--batch') opt.batch = int();
  else if (a === '--only') opt.only = val().split(',');
  else if (a === '--dir') opt.dir = val();
  else if (a === '--verbose') opt.verbose = true;
  else usage(`unknown argument ${a}`);
}
if (!opt.ext) usage('--ext is required');
if (!fs.existsSync(opt.ext)) usage(`${opt.ext}: no such file`);

// Message i: its chat id and its 300-byte text.
const chatOf = (i) => 1 + (i % CHATS);
function textOf(i) {
  const head = `message ${i}: `;
  return head + 'x'.repeat(TEXT_BYTES - head.length);
}

// Opens a fresh database file with the pragmas every side gets.
function openDb(file) {
  const db = new Database(file);
  if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error('not in WAL mode');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('temp_store = MEMORY');
  return db;
}

// ---------------------------------------------------------------------------
// The sides. Each makes, for an open database, an object with
//   enqueue(i)          store message i (one transaction)
//   enqueueMany(i0, n)  store messages i0..i0+n-1 in one transaction
//   processOne()        claim one message and ack it, each its own transaction
//   processMany(n)      claim n and ack them in one transaction (optional)
//   processAll(n)       async: process n messages its own way (optional)
//   live()              how many messages are stored and not acked
//   close()

function mpSide(db, { batch }) {
  db.loadExtension(opt.ext);
  db.prepare('SELECT mp_init(?)').get(MP_CONFIG);
  const enq = db.prepare('SELECT mp_enqueue(?, ?)').pluck();
  const enqBatch = db.prepare('SELECT mp_enqueue_batch(?)').pluck();
  const claim = db.prepare('SELECT id, chat_id, message_text, lease_token FROM mp_claim(?)');
  const confirm = db.prepare('SELECT mp_confirm(?, ?)').pluck();
  const confirmBatch = db.prepare('SELECT mp_confirm_batch(?)').pluck();
  let tg = 1;
  const enqueue = (i) => enq.get(chatOf(i), textOf(i));
  const enqueueLoop = db.transaction((i0, n) => {
    for (let i = i0; i < i0 + n; i++) enqueue(i);
  });
  const enqueueJson = (i0, n) => {
    const list = [];
    for (let i = i0; i < i0 + n; i++) list.push({ chat_id: chatOf(i), text: textOf(i) });
    if (JSON.parse(enqBatch.get(JSON.stringify(list))).length !== n) throw new Error('mp_enqueue_batch fell short');
  };
  const ack = (rows) => {
    if (batch) {
      const arg = JSON.stringify(rows.map((r) => ({ id: r.lease_token, telegram_message_id: tg++ })));
      if (confirmBatch.get(arg).includes('{')) throw new Error('mp_confirm_batch refused one');
    } else {
      for (const r of rows) if (confirm.get(r.lease_token, tg++) !== 1) throw new Error('mp_confirm failed');
    }
  };
  const claimAck = (n) => {
    const rows = claim.all(n);
    if (rows.length !== n) throw new Error(`mp_claim(${n}) returned ${rows.length}`);
    ack(rows);
  };
  return {
    enqueue,
    enqueueMany: batch ? enqueueJson : enqueueLoop,
    processOne: () => claimAck(1),
    processMany: db.transaction(claimAck).immediate,
    live: () => db.prepare("SELECT count(*) FROM messages WHERE status IN ('pending', 'sent')").pluck().get(),
    close: () => db.close(),
  };
}

function plainjobSide(db, { api }) {
  const queue = defineQueue({ connection: better(db), logger: QUIET });
  const data = (i) => ({ chat_id: chatOf(i), text: textOf(i) });
  const processOne = () => {
    const claimed = queue.getAndMarkJobAsProcessing('bench');
    if (!claimed) throw new Error('plainjob found no job');
    const job = queue.getJobById(claimed.id);
    queue.markJobAsDone(job.id);
  };
  // plainjob's worker, as its benchmark's worker process runs it (a
  // processor that returns at once); stopped when the n-th job is done.
  const processAll = async (n) => {
    let done = 0;
    const worker = defineWorker('bench', async () => {}, {
      queue,
      logger: QUIET,
      onCompleted: () => {
        if (++done === n) void worker.stop();
      },
    });
    await worker.start();
    if (done !== n) throw new Error(`plainjob worker processed ${done} of ${n}`);
  };
  return {
    enqueue: (i) => queue.add('bench', data(i)),
    enqueueMany: (i0, n) => {
      const list = [];
      for (let i = i0; i < i0 + n; i++) list.push(data(i));
      queue.addMany('bench', list);
    },
    processOne,
    processAll: api ? null : processAll,
    live: () => queue.countJobs({ status: JobStatus.Pending }) + queue.countJobs({ status: JobStatus.Processing }),
    close: () => queue.close(),
  };
}

function rawSide(db) {
  db.exec(`CREATE TABLE q(id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL,
             message_text TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
             priority INTEGER NOT NULL DEFAULT 1, lease_until INTEGER,
             telegram_message_id INTEGER, created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL);
           CREATE INDEX q_queue ON q(status, priority DESC, id)
             WHERE status = 'pending' OR status = 'sent';`);
  const ins = db.prepare('INSERT INTO q(chat_id, message_text, created_at, updated_at) VALUES (?, ?, ?, ?)');
  const claim = db.prepare(`UPDATE q SET status = 'sent', lease_until = ?, updated_at = ?
    WHERE id IN (SELECT id FROM q WHERE status = 'pending' ORDER BY priority DESC, id LIMIT ?)
    RETURNING id, chat_id, message_text`);
  const confirm = db.prepare(`UPDATE q SET status = 'confirmed', telegram_message_id = ?,
    lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'sent'`);
  let tg = 1;
  const enqueue = (i) => {
    const now = Date.now();
    ins.run(chatOf(i), textOf(i), now, now);
  };
  const claimAck = (n) => {
    const now = Date.now();
    const rows = claim.all(now + 60000, now, n);
    if (rows.length !== n) throw new Error(`raw claim of ${n} returned ${rows.length}`);
    for (const r of rows) {
      if (confirm.run(tg++, Date.now(), r.id).changes !== 1) throw new Error('raw confirm missed');
    }
  };
  return {
    enqueue,
    enqueueMany: db.transaction((i0, n) => {
      for (let i = i0; i < i0 + n; i++) enqueue(i);
    }),
    processOne: () => claimAck(1),
    processMany: db.transaction(claimAck).immediate,
    live: () => db.prepare("SELECT count(*) FROM q WHERE status IN ('pending', 'sent')").pluck().get(),
    close: () => db.close(),
  };
}

const SIDES = [
  { name: 'mp', make: (db) => mpSide(db, { batch: false }), in: ['E1', 'EB', 'P1', 'PB'] },
  { name: 'mp-batch', make: (db) => mpSide(db, { batch: true }), in: ['EB', 'PB'] },
  { name: 'plainjob', make: (db) => plainjobSide(db, { api: false }), in: ['E1', 'EB', 'P1'] },
  { name: 'plainjob-api', make: (db) => plainjobSide(db, { api: true }), in: ['P1'] },
  { name: 'raw', make: rawSide, in: ['E1', 'EB', 'P1', 'PB'] },
];

// ---------------------------------------------------------------------------
// The workloads

function fill(side, n, perTx) {
  for (let i = 0; i < n; i += perTx) side.enqueueMany(i, Math.min(perTx, n - i));
}

const WORKLOADS = [
  { name: 'E1', title: 'enqueue, 1 per tx', n: () => opt.n1, stored: true,
    run: (s, n) => { for (let i = 0; i < n; i++) s.enqueue(i); } },
  { name: 'EB', title: 'enqueue, batch per tx', n: () => opt.nb, stored: true,
    run: (s, n) => fill(s, n, opt.batch) },
  { name: 'P1', title: 'claim 1 + ack 1, own tx each', n: () => opt.n1, prefill: true,
    run: async (s, n) => {
      if (s.processAll) return s.processAll(n);
      for (let i = 0; i < n; i++) s.processOne();
    } },
  { name: 'PB', title: 'claim batch + ack batch, 1 tx', n: () => opt.nb, prefill: true,
    run: (s, n) => { for (let i = 0; i < n; i += opt.batch) s.processMany(Math.min(opt.batch, n - i)); } },
].filter((w) => !opt.only || opt.only.includes(w.name));

// Runs workload w on side sd once; returns [wall seconds, CPU seconds].
async function sample(dir, w, sd, round) {
  const file = path.join(dir, `${w.name}-${sd.name}.db`);
  const db = openDb(file);
  const side = sd.make(db);
  const n = w.n();
  if (w.prefill) {
    fill(side, n, PREFILL_TX);
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await w.run(side, n);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1e6;
  const live = side.live();
  if (live !== (w.stored ? n : 0)) throw new Error(`${w.name} ${sd.name}: ${live} messages not acked after the run`);
  side.close();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  if (opt.verbose) {
    console.error(`${w.name} ${sd.name} round ${round + 1}: ${(n / wall).toFixed(0)} msg/s, ` +
      `${((cpu * 1e6) / n).toFixed(1)} us CPU/msg`);
  }
  return [wall, cpu];
}

// The median of a[i] / b[i] (of a[i] without b).
const median = (a, b) => {
  const s = a.map((v, i) => (b ? v / b[i] : v)).sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const dir = fs.mkdtempSync(path.join(opt.dir, 'mp-node-cmp-'));
  const probe = new Database(':memory:');
  probe.loadExtension(opt.ext);
  const versions = probe.prepare('SELECT sqlite_version() AS sqlite, mp_version() AS mp').get();
  probe.close();
  const pkg = (name) => require(`${name}/package.json`).version;
  console.log(`node-bench: Node ${process.versions.node}, better-sqlite3 ${pkg('better-sqlite3')} ` +
    `(SQLite ${versions.sqlite}), plainjob ${pkg('plainjob')}, mp ${versions.mp}; ` +
    `${opt.rounds} rounds (medians), n1=${opt.n1} nb=${opt.nb} batch=${opt.batch}`);
  const results = new Map(); // "w/side" -> { wall: [], cpu: [] }
  for (let r = 0; r < opt.rounds; r++) {
    for (const w of WORKLOADS) {
      for (let i = 0; i < SIDES.length; i++) {
        const sd = SIDES[(i + r) % SIDES.length];
        if (!sd.in.includes(w.name)) continue;
        const [wall, cpu] = await sample(dir, w, sd, r);
        const key = `${w.name}/${sd.name}`;
        if (!results.has(key)) results.set(key, { wall: [], cpu: [] });
        results.get(key).wall.push(wall);
        results.get(key).cpu.push(cpu);
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  console.log(`${pad('workload', 38)} ${pad('side', 13)} ${lpad('msg/s', 9)} ${lpad('CPU us/msg', 11)} ` +
    `${lpad('mp/x', 8)} ${lpad('CPU mp/x', 9)}`);
  for (const w of WORKLOADS) {
    const n = w.n();
    const mp = results.get(`${w.name}/mp`);
    SIDES.filter((sd) => sd.in.includes(w.name)).forEach((sd, k) => {
      const res = results.get(`${w.name}/${sd.name}`);
      console.log(`${pad(k ? '' : `${w.name} ${w.title}`, 38)} ${pad(sd.name, 13)} ` +
        `${lpad((n / median(res.wall)).toFixed(0), 9)} ${lpad(((median(res.cpu) * 1e6) / n).toFixed(1), 11)} ` +
        `${lpad(median(res.wall, mp.wall).toFixed(2) + 'x', 8)} ${lpad(median(res.cpu, mp.cpu).toFixed(2) + 'x', 9)}`);
    });
  }
}

main().catch((e) => {
  console.error(`bench.mjs: ${e.stack || e}`);
  process.exit(1);
});
