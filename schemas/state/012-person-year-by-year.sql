-- schemas/state/012-person-year-by-year.sql: state database migration 12, applied by `tdi init` in
-- one transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- tdi.person_year partitioned by year, as tdi.sent is (migration 11): one table per year,
-- tdi."person_year_YYYY", made with the year's table of tdi.sent. A run's commit counts its
-- persons into its year's table and index only; as one table, that index held every year's
-- person years, so a night's commit touched more of it the more years were held (issue 16;
-- docs/benchmark.md, 2026-12-05: the nightly run flat in the years held). The ranking's question
-- "a start for a drug in an earlier year" reads the earlier years' tables, and none when no
-- earlier year is held. Rows, columns, key and comments are as before; a query of your own reads
-- tdi.person_year as before. The rows are copied once.
--
-- description: per person and year the starts for a drug sent, one table per year
ALTER TABLE tdi.person_year RENAME TO person_year_unpartitioned;
ALTER INDEX tdi.person_year_pkey RENAME TO person_year_unpartitioned_pkey;
CREATE TABLE tdi.person_year (LIKE tdi.person_year_unpartitioned INCLUDING DEFAULTS
                              INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE)
    PARTITION BY LIST (year);
ALTER TABLE tdi.person_year ADD PRIMARY KEY (person, year);
COMMENT ON TABLE tdi.person_year IS 'per person key (never in a file) and year: rows of tdi.sent that are a start for a drug; the counting unit''s earlier years';
-- The year's tables of tdi.sent and tdi.person_year, each made when missing: by the migrations
-- for the years held, by the first run of a year for its own (state/st_pass.c), in a statement
-- of its own (making a partition locks the table against every reader until its transaction
-- ends). tdi.year_table(t, y): tdi.t's table of year y.
CREATE FUNCTION tdi.year_table(t text, y integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass(format('tdi.%I', t || '_' || y)) IS NULL THEN
        EXECUTE format('CREATE TABLE tdi.%I PARTITION OF tdi.%I FOR VALUES IN (%s)',
                       t || '_' || y, t, y);
    END IF;
END
$$;
CREATE OR REPLACE FUNCTION tdi.sent_year_table(y integer) RETURNS void LANGUAGE sql AS $$
    SELECT tdi.year_table('sent', y);
    SELECT tdi.year_table('person_year', y);
$$;
SELECT tdi.sent_year_table(y)
  FROM (SELECT year FROM tdi.person_year_unpartitioned UNION SELECT year FROM tdi.sent) s(y);
INSERT INTO tdi.person_year SELECT * FROM tdi.person_year_unpartitioned ORDER BY person, year;
DROP TABLE tdi.person_year_unpartitioned;
ANALYZE tdi.person_year;
