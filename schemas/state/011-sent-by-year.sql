-- schemas/state/011-sent-by-year.sql: state database migration 11, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- tdi.sent partitioned by year: one table per year, tdi."sent_YYYY", which the first run of a
-- year makes (state/st_pass.c). Every statement of a run reads one year of it. As one table,
-- the scans of a nightly run (the night's records against what was sent, the touched persons'
-- rows) read every earlier year's rows as well, so a night cost more the more years were held
-- (issue 16; docs/benchmark.md, 2026-12-05: the nightly run independent of history). A run now
-- analyses its year's table only. The rows, columns, key and comments are as before; a query
-- of your own reads tdi.sent as before. The rows are copied once (about the table's size again
-- in free disk while it runs).
--
-- description: what each body was sent, one table per year
ALTER TABLE tdi.sent RENAME TO sent_unpartitioned;
ALTER INDEX tdi.sent_pkey RENAME TO sent_unpartitioned_pkey;
CREATE TABLE tdi.sent (LIKE tdi.sent_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                       INCLUDING COMMENTS INCLUDING STORAGE)
    PARTITION BY LIST (year);
ALTER TABLE tdi.sent ADD PRIMARY KEY (body, year, eid);
-- The year's table, made when missing: by the migration for the years held, by the first run
-- of a year for its own (state/st_pass.c), in a statement of its own (making a partition locks
-- tdi.sent against every reader until its transaction ends).
CREATE FUNCTION tdi.sent_year_table(y integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass(format('tdi.%I', 'sent_' || y)) IS NULL THEN
        EXECUTE format('CREATE TABLE tdi.%I PARTITION OF tdi.sent FOR VALUES IN (%s)',
                       'sent_' || y, y);
    END IF;
END
$$;
SELECT tdi.sent_year_table(y) FROM (SELECT DISTINCT year FROM tdi.sent_unpartitioned) s(y);
INSERT INTO tdi.sent SELECT * FROM tdi.sent_unpartitioned ORDER BY body, year, eid;
DROP TABLE tdi.sent_unpartitioned;
ANALYZE tdi.sent;
