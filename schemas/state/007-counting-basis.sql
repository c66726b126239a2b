-- schemas/state/007-counting-basis.sql: state database migration 7, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- body_sequence.counting: the counting level (national, centre, regional) the body's last file
-- of the year was ranked at. A nightly run ranks only the persons it touched when every served
-- body's level is the one it last ranked at and no run of an earlier year came after that file
-- (which may change whom tdi.person_year says was treated before); else the whole year
-- (state/st_delta.c, rank_sql). NULL (rows of before this migration): the whole year, once.
--
-- description: per body and year the counting level its last file was ranked at
ALTER TABLE tdi.body_sequence ADD COLUMN counting text;
COMMENT ON COLUMN tdi.body_sequence.counting IS 'counting level the body''s last file of the year was ranked at (NULL: not known, the next run ranks the whole year)';
