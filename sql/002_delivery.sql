-- 002_delivery.sql: what delivery needs besides the messages: per-chat
-- pacing state and a log of every attempt.

-- One row per chat that has been paced or paused. Written by mp_claim()
-- only while pacing is on, and by mp_report() on a 429.
CREATE TABLE IF NOT EXISTS mp_chat(
  chat_id INTEGER PRIMARY KEY,
  next_at INTEGER NOT NULL DEFAULT 0,  -- ms: nothing goes to it before then
  recent BLOB                          -- group chats: send times (ms) in
                                       -- the last minute, 8 bytes each
);

-- One row per delivery attempt, written by mp_report().
CREATE TABLE IF NOT EXISTS mp_attempt(
  seq INTEGER NOT NULL,                -- messages.seq
  at_ms INTEGER NOT NULL,              -- when it was reported
  tier TEXT NOT NULL,                  -- telegram, webhook, file
  http_status INTEGER NOT NULL,        -- 0: never sent, -1: no answer
  duration_ms INTEGER,                 -- as measured by the sender
  outcome TEXT NOT NULL,               -- what mp_report() returned
  detail TEXT                          -- Telegram's description or error
);
CREATE INDEX IF NOT EXISTS mp_attempt_seq ON mp_attempt(seq);

INSERT OR IGNORE INTO mp_counter(name) VALUES
  ('attempts.telegram'), ('successes.telegram'), ('duration_ms.telegram'),
  ('attempts.webhook'), ('successes.webhook'), ('duration_ms.webhook'),
  ('attempts.file'), ('successes.file'), ('duration_ms.file'),
  ('timed.telegram'), ('timed.webhook'), ('timed.file');

-- Attempts go with their message.
DROP TRIGGER IF EXISTS messages_delete_attempts;
CREATE TRIGGER messages_delete_attempts
AFTER DELETE ON messages
BEGIN
  DELETE FROM mp_attempt WHERE seq = OLD.seq;
END;
