-- schemas/state/002-counting.sql: state database migration 2, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- person: the person under the state key (never in a file); earlier years' rows stay, so a
-- person's earlier treatment is known whatever source or body it came from. No index on person:
-- the pass reads earlier years' persons in one scan anyway, and an index over pseudonyms puts
-- every insert on a random page (4.6 s of server CPU per million sent).
--
-- description: the counting unit: person key, centre, start and entrant flag of each episode sent
ALTER TABLE tdi.sent ADD COLUMN person text, ADD COLUMN centre text,
    ADD COLUMN start_ymd integer, ADD COLUMN status text, ADD COLUMN entrant boolean,
    ADD COLUMN earlier boolean;
COMMENT ON COLUMN tdi.sent.person IS 'the person under the state key: links sources, bodies and years; never written to a file';
COMMENT ON COLUMN tdi.sent.status IS 'treatment status as the source gave it';
COMMENT ON COLUMN tdi.sent.entrant IS 'sent as the counted treatment demand (entrant=1)';
COMMENT ON COLUMN tdi.sent.earlier IS 'the person had a treatment start in an earlier year when it was sent';
