-- schemas/state/006-person-years.sql: state database migration 6, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- person_year: per person key and year, how many rows of tdi.sent (over all bodies) are a start
-- for a drug (drug IS NOT FALSE: a row of before schema 4 counts as one). The counting unit asks
-- it, by index and for the run's persons only, whether a person was treated in an earlier year,
-- instead of scanning every earlier year of tdi.sent on every run. Kept by the statement that
-- writes tdi.sent (state/st_commit.c); a row whose count falls to 0 may stay (n > 0 is asked).
-- Its person is compared bytewise (COLLATE "C"), whatever the database's collation.
--
-- body_sequence.episodes, .entrants: what the body holds of the year after its last file (rows
-- of tdi.sent, and those sent as entrant), for the run page, instead of counting tdi.sent.
--
-- description: per person and year the starts for a drug sent, per body and year the rows held
CREATE TABLE tdi.person_year (
    person text COLLATE "C" NOT NULL,
    year   integer NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (person, year));
COMMENT ON TABLE tdi.person_year IS 'per person key (never in a file) and year: rows of tdi.sent that are a start for a drug; the counting unit''s earlier years';
INSERT INTO tdi.person_year (person, year, n)
SELECT person, year, count(*) FROM tdi.sent
 WHERE person IS NOT NULL AND drug IS NOT FALSE
 GROUP BY person, year ORDER BY person, year;
ALTER TABLE tdi.body_sequence ADD COLUMN episodes bigint, ADD COLUMN entrants bigint;
UPDATE tdi.body_sequence q SET episodes = coalesce(c.episodes, 0), entrants = coalesce(c.entrants, 0)
  FROM (SELECT b.body, b.year, count(s.eid) AS episodes, count(s.eid) FILTER (WHERE s.entrant) AS entrants
          FROM tdi.body_sequence b LEFT JOIN tdi.sent s ON s.body = b.body AND s.year = b.year
         GROUP BY b.body, b.year) c
 WHERE c.body = q.body AND c.year = q.year;
ANALYZE tdi.person_year;
