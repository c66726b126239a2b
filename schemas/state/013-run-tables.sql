-- schemas/state/013-run-tables.sql: state database migration 13, applied by `tdi init` in
-- one transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- A run's records (run_rec) and the re-identification check's groups (run_reid_g, run_reid_v,
-- run_reid_prep) as tables of the schema rather than temporary tables of the run's session: on a
-- first submission of the year the check groups the records on a second connection while the
-- first ranks them (state/st_beside.c; issue 16), and a session sees no other session's
-- temporary tables. Scratch, as the temporary tables were: UNLOGGED (no WAL; emptied by a crash
-- recovery), never vacuumed or analysed by autovacuum (the run analyses what it needs), emptied
-- by each run at its start, under the run lock, so that one run at a time uses them.
--
-- description: the run's records and the check's groups as unlogged tables, for a second connection
CREATE UNLOGGED TABLE tdi.run_rec (pos bigint NOT NULL, src integer NOT NULL,
    body integer NOT NULL, eid bytea NOT NULL, ekey bytea NOT NULL, hash bytea NOT NULL,
    person bytea NOT NULL, centre text NOT NULL, start_ymd integer NOT NULL,
    status text NOT NULL, drug boolean NOT NULL, qi text NOT NULL, sens text NOT NULL,
    cont boolean NOT NULL) WITH (autovacuum_enabled = false);
CREATE UNLOGGED TABLE tdi.run_reid_g (body integer NOT NULL, g text, n bigint NOT NULL,
    p bigint NOT NULL, d1 integer, d2 integer, d3 integer, d4 integer)
    WITH (autovacuum_enabled = false);
CREATE UNLOGGED TABLE tdi.run_reid_v (body integer NOT NULL, g text NOT NULL,
    item smallint NOT NULL, code text NOT NULL, n bigint NOT NULL)
    WITH (autovacuum_enabled = false);
CREATE UNLOGGED TABLE tdi.run_reid_prep (body integer PRIMARY KEY, mask integer NOT NULL,
    rebuild boolean NOT NULL) WITH (autovacuum_enabled = false);
COMMENT ON TABLE tdi.run_rec IS 'the running run''s records (scratch: emptied at a run''s start)';
COMMENT ON TABLE tdi.run_reid_g IS 'the running run''s re-identification groups (scratch)';
COMMENT ON TABLE tdi.run_reid_v IS 'the running run''s groups'' sensitive codes (scratch)';
COMMENT ON TABLE tdi.run_reid_prep IS 'which grouping run_reid_g holds per body (scratch)';
