-- The receiver's schema, version 3 (`tdi load` applies it once, in one transaction, after 002;
-- a released file never changes: the next change is 004): schema 2.4's discharge items and
-- continuing clients. Rows loaded before have NULL discharge items and continuing false, as a
-- file before 2.4 loads now.
--
-- discharge_reason, aftercare, stay_band: the attributes of the same names (NULL: left out,
-- "does not apply": an open episode, a source without discharge data, a file before 2.4).
-- continuing: continuing="1", an episode that started before the file's year and is open in it
-- (never an entrant); false when the attribute is left out.
-- start_year: the episode's year attribute, its year of treatment start. It is the row's year
-- (the file's) but for a continuing client, which started earlier and is held under the year
-- of the file that sent it.
-- Added without a default or NOT NULL, which PostgreSQL refuses for a row type that another
-- table's column uses (undo.old): the values of the rows there are set here, then the rules.
ALTER TABLE tdi_receiver.episode
    ADD COLUMN discharge_reason text,
    ADD COLUMN aftercare text,
    ADD COLUMN stay_band text,
    ADD COLUMN continuing boolean,
    ADD COLUMN start_year integer;
UPDATE tdi_receiver.episode SET continuing = false, start_year = year;
-- the rows kept for an undo are put back as they are: they get the same values
UPDATE tdi_receiver.undo SET old.continuing = false, old.start_year = (old).year
 WHERE (old).key IS NOT NULL;
ALTER TABLE tdi_receiver.episode
    ALTER COLUMN continuing SET DEFAULT false,
    ALTER COLUMN continuing SET NOT NULL,
    ALTER COLUMN start_year SET NOT NULL;
COMMENT ON COLUMN tdi_receiver.episode.continuing IS 'continuing="1": started before the file''s year (start_year), open in it; never an entrant';
COMMENT ON COLUMN tdi_receiver.episode.start_year IS 'the episode''s year attribute (treatment start): year, or earlier for a continuing client';
