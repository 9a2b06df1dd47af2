-- 005_foreign_id_unchecked.sql: the index of foreign ids, chosen by the
-- checksum instead of by the id's shape.
--
-- 004's condition called GLOB. A function in a partial index's WHERE may
-- fail, and with the plain-insert trigger on the table SQLite then opens a
-- statement journal for every INSERT: about 10,000 instructions, a quarter
-- of an enqueue. A column test costs nothing of the kind.
--
-- Every row mp writes carries a checksum (mp_enqueue, mp_enqueue_batch and
-- the chat migration of mp_report rewrite it, nothing clears it), so the
-- rows without one are the rows written with plain SQL: the only rows whose
-- ids mp may not be able to read. mp finds a message by the seq its id
-- carries, or else here (ext/mp_id.c, mpFindForeign()). A row written with
-- plain SQL that sets a checksum but not an mp id is not found by id.
DROP INDEX IF EXISTS messages_foreign_id;
CREATE INDEX messages_foreign_id ON messages(id) WHERE checksum IS NULL;
