-- 003_counting.sql: status changes count themselves, mp's own included.
--
-- Until now mp's transitions wrote their mp_stats counters with extra
-- statements inside a savepoint, and a trigger counted only plain-SQL
-- changes. Counting every status change in one trigger makes a confirm a
-- single UPDATE: atomic on its own, with no savepoint and no counter
-- statements (about half the instructions).
--
-- What is counted (the values mp_stats reads are unchanged):
--   confirmed, failed  rows in that state: +1 on entry, -1 on exit
--   updated            transitions; a claim (pending -> sent) is counted
--                      when the message leaves 'sent', hence 2 then
-- A transition of one message bumps revision by 1, so a pending -> pending
-- retry counts too; a plain-SQL UPDATE counts when it changes status. The
-- claim itself adds nothing and skips the body. mp_recover() moves many
-- rows in one statement and counts them itself in one statement: it bumps
-- revision by 2, which this trigger leaves alone.
--
-- The other triggers are rewritten with OR: SQLite 3.40 builds a lookup
-- table for a constant IN list each time a trigger runs.

DROP TRIGGER IF EXISTS messages_plain_update;
CREATE TRIGGER messages_count_update
AFTER UPDATE OF status ON messages
WHEN NOT (OLD.status = 'pending' AND NEW.status = 'sent')
  AND (NEW.revision = OLD.revision + 1
       OR (OLD.revision IS NEW.revision AND OLD.status IS NOT NEW.status))
BEGIN
  UPDATE mp_counter SET n = n - 1
   WHERE name = OLD.status AND OLD.status IS NOT NEW.status
     AND (OLD.status = 'confirmed' OR OLD.status = 'failed');
  UPDATE mp_counter SET n = n + 1
   WHERE name = NEW.status AND OLD.status IS NOT NEW.status
     AND (NEW.status = 'confirmed' OR NEW.status = 'failed');
  UPDATE mp_counter SET n = n + 1 + (OLD.status = 'sent') - (NEW.status = 'sent')
   WHERE name = 'updated';
END;

DROP TRIGGER IF EXISTS messages_plain_insert;
CREATE TRIGGER messages_plain_insert
AFTER INSERT ON messages
WHEN NEW.checksum IS NULL OR NEW.status <> 'pending'
BEGIN
  UPDATE mp_counter SET n = n + 1
   WHERE name = NEW.status
     AND (NEW.status = 'confirmed' OR NEW.status = 'failed');
  UPDATE mp_counter SET n = n + 1
   WHERE name = 'seq_reused'
     AND NEW.seq <= (SELECT n FROM mp_counter WHERE name = 'seq_hwm');
  -- A sent row's claim is counted when it leaves 'sent' (see mp_stats.c).
  UPDATE mp_counter SET n = n - 1
   WHERE name = 'updated' AND NEW.status = 'sent';
END;

DROP TRIGGER IF EXISTS messages_delete;
CREATE TRIGGER messages_delete
AFTER DELETE ON messages
BEGIN
  UPDATE mp_counter SET n = n - 1
   WHERE name = OLD.status
     AND (OLD.status = 'confirmed' OR OLD.status = 'failed');
  UPDATE mp_counter SET n = n + 1 WHERE name = 'deleted';
  UPDATE mp_counter SET n = max(n, OLD.seq) WHERE name = 'seq_hwm';
  UPDATE mp_counter SET n = n + 1
   WHERE name = 'updated' AND OLD.status = 'sent';
END;
