-- The receiver's schema, version 3 (`tdi load` applies it once, in one transaction, after 002;
-- a released file never changes: the next change is 004): the discharge items and continuing
-- clients of submission schema 2.4 (README.md, "Discharges and continuing clients").
--
-- A continuing client's row has the file's year like every other (the year of the submission it
-- came in); its own start was in an earlier year.
ALTER TABLE tdi_receiver.episode ADD COLUMN continuing smallint;
ALTER TABLE tdi_receiver.episode ADD COLUMN discharge_reason text;
ALTER TABLE tdi_receiver.episode ADD COLUMN aftercare text;
ALTER TABLE tdi_receiver.episode ADD COLUMN stay_band text;
COMMENT ON COLUMN tdi_receiver.episode.continuing IS '1: started before the file''s year, open in it (never an entrant); NULL: a start of the year';
COMMENT ON COLUMN tdi_receiver.episode.stay_band IS 'length of stay band of a source with end dates (open: no end date); NULL: the source has none';
