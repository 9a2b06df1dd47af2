-- 004_foreign_id.sql: an index on the ids that mp did not make.
-- (Its condition is replaced by 005_foreign_id_unchecked.sql.)
--
-- mp finds its own messages by the seq that their id carries (a rowid
-- lookup, see ext/mp_id.c). Rows inserted with plain SQL may carry any id
-- (the seed's UUID v4, say); finding one of those read the whole table,
-- under the write lock. This partial index holds only the rows whose id
-- does not have the shape of an mp id, so mp's own inserts never enter it
-- (they pay one GLOB of 36 characters). Keep the pattern in step with
-- MP_ID_SHAPE in ext/mp_id.c: the lookup repeats it to use the index.
CREATE INDEX IF NOT EXISTS messages_foreign_id ON messages(id)
  WHERE id NOT GLOB '????????-????-7???-[89ab]???-????????????';
