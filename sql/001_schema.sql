-- 001_schema.sql: the messages table, the queue index, mp's bookkeeping
-- tables, and the triggers that keep mp_stats exact when rows are changed
-- with plain SQL.
--
-- The seed's columns keep their names, types and meanings (times in Unix
-- seconds), so its troubleshooting SQL works unchanged. The columns after
-- updated_at are mp's.

CREATE TABLE IF NOT EXISTS mp_meta(
  key TEXT PRIMARY KEY,
  value
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages(
  seq INTEGER PRIMARY KEY,         -- rowid; an id's low 62 bits
  id TEXT NOT NULL,                -- UUID v7 text
  chat_id INTEGER NOT NULL,        -- Telegram chat id
  message_text TEXT NOT NULL,      -- formatted message content
  timestamp INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  -- (OR, not IN: SQLite 3.40 builds a lookup table for IN on every run.)
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status = 'pending' OR status = 'sent' OR status = 'confirmed'
           OR status = 'failed'),
  retry_count INTEGER NOT NULL DEFAULT 0,  -- retries scheduled so far
  telegram_message_id INTEGER,     -- set when confirmed
  event_data TEXT,                 -- JSON of the event, if any
  tier_used TEXT,                  -- tier that delivered it
  error_message TEXT,              -- last error
  created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  priority INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 3),
  parse_mode TEXT,                 -- NULL, 'HTML', 'MarkdownV2', 'Markdown'
  dedup_key TEXT,                  -- unique while the row exists
  order_at INTEGER NOT NULL DEFAULT 0,  -- 0, or for a delayed message
                                        -- the ms it is due: its place
                                        -- after priority (then seq)
  due_at INTEGER NOT NULL DEFAULT 0,    -- ms: earliest next attempt
  lease_until INTEGER,             -- ms: while sent, when the lease ends
  lease_token TEXT,                -- while sent, the claim's token
  worker TEXT,                     -- while sent, who claimed it
  attempts INTEGER NOT NULL DEFAULT 0,  -- claims so far
  in_doubt INTEGER NOT NULL DEFAULT 0,  -- 1: may have been delivered twice
  revision INTEGER NOT NULL DEFAULT 0,  -- bumped by every mp transition
  checksum BLOB                    -- SHA-256, see mp_checksum.c
);

-- The only index an enqueue touches: exactly the claim's ORDER BY, over the
-- rows that are still moving. 'sent' rows sit under their own prefix, for
-- recovery and the one-in-flight-per-chat rule.
CREATE INDEX IF NOT EXISTS messages_queue
  ON messages(status, priority DESC, order_at, seq, chat_id, due_at)
  WHERE status = 'pending' OR status = 'sent';

CREATE UNIQUE INDEX IF NOT EXISTS messages_dedup
  ON messages(dedup_key) WHERE dedup_key IS NOT NULL;

-- Counters behind mp_stats. An enqueue writes none of them: the number of
-- rows ever stored is the highest seq, and pending is what remains of the
-- total after sent, confirmed and failed.
CREATE TABLE IF NOT EXISTS mp_counter(
  name TEXT PRIMARY KEY,
  n INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

INSERT OR IGNORE INTO mp_counter(name) VALUES
  ('seq_hwm'), ('seq_reused'), ('deleted'), ('confirmed'), ('failed'),
  ('updated'), ('retries'), ('recovered'), ('requeued'), ('cleaned');

-- Rows inserted with plain SQL: mp_enqueue always writes a checksum and
-- status 'pending', so its own inserts never run this trigger's body.
CREATE TRIGGER IF NOT EXISTS messages_plain_insert
AFTER INSERT ON messages
WHEN NEW.checksum IS NULL OR NEW.status <> 'pending'
BEGIN
  UPDATE mp_counter SET n = n + 1
   WHERE name = NEW.status AND name IN ('confirmed', 'failed');
  UPDATE mp_counter SET n = n + 1
   WHERE name = 'seq_reused'
     AND NEW.seq <= (SELECT n FROM mp_counter WHERE name = 'seq_hwm');
  -- A sent row's claim is counted when it leaves 'sent' (see mp_stats.c).
  UPDATE mp_counter SET n = n - 1
   WHERE name = 'updated' AND NEW.status = 'sent';
END;

-- Status changes made with plain SQL: mp's own transitions bump revision,
-- and count themselves.
CREATE TRIGGER IF NOT EXISTS messages_plain_update
AFTER UPDATE OF status ON messages
WHEN OLD.status IS NOT NEW.status AND OLD.revision IS NEW.revision
BEGIN
  UPDATE mp_counter SET n = n - 1
   WHERE name = OLD.status AND name IN ('confirmed', 'failed');
  UPDATE mp_counter SET n = n + 1
   WHERE name = NEW.status AND name IN ('confirmed', 'failed');
  UPDATE mp_counter SET n = n + 1 + (OLD.status = 'sent') - (NEW.status = 'sent')
   WHERE name = 'updated';
END;

-- Every delete, by mp_cleanup or by hand (the seed's manual DELETE).
CREATE TRIGGER IF NOT EXISTS messages_delete
AFTER DELETE ON messages
BEGIN
  UPDATE mp_counter SET n = n - 1
   WHERE name = OLD.status AND name IN ('confirmed', 'failed');
  UPDATE mp_counter SET n = n + 1 WHERE name = 'deleted';
  UPDATE mp_counter SET n = max(n, OLD.seq) WHERE name = 'seq_hwm';
  UPDATE mp_counter SET n = n + 1
   WHERE name = 'updated' AND OLD.status = 'sent';
END;
