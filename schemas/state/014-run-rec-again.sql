-- schemas/state/014-run-rec-again.sql: state database migration 14, applied by `tdi init` in
-- one transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- A mark on each of a run's records (tdi.run_rec, scratch: migration 13) that its key may have
-- come before in the run: the run keeps a filter of the keys it has put (state/st_delta.c), and
-- a record whose key the filter may have seen is marked. The repeated keys (a source whose
-- episode ids are not unique) are then looked for among the marked records' keys only, not by
-- sorting every record's key (issue 16; docs/benchmark.md, 2026-12-06: the repeated keys by a
-- filter). A key that repeats is always marked at its second sight; a mark may be a false alarm.
-- The table is empty between runs: the column costs nothing to add.
--
-- description: the run's records marked when their key may repeat
ALTER TABLE tdi.run_rec ADD COLUMN again boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN tdi.run_rec.again IS 'the record''s key may have come before in the run';
