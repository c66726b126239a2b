-- schemas/state/008-narrow-sent.sql: state database migration 8, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- The keys of tdi.sent as their bytes, not as text: eid and ekey ("e1:" + 32 hex digits: 16
-- bytes), person ("p1:" + 64 hex digits: 32 bytes), and tdi.person_year's person with it. The
-- prefix is the same on every row, so it is not stored: state/ writes and reads the keys in
-- their text form at its edge (COPY in as bytea, `'e1:' || encode(ekey, 'hex')` out). Lowercase
-- hex of equal length sorts as its bytes do, so every order by key (the entrant's tie, the
-- files' record order) stays as it was. Issue 16, docs/benchmark.md: rows and indexes narrower.
-- A key of another form stops the migration (nothing is changed) rather than lose its prefix.
--
-- description: the keys of what each body was sent (episode, its key in the files, person) as bytes
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM tdi.sent
                WHERE eid !~ '^e1:[0-9a-f]{32}$' OR ekey !~ '^e1:[0-9a-f]{32}$'
                   OR person !~ '^p1:[0-9a-f]{64}$')
       OR EXISTS (SELECT 1 FROM tdi.person_year WHERE person !~ '^p1:[0-9a-f]{64}$') THEN
        RAISE EXCEPTION 'tdi.sent or tdi.person_year holds a key that is not e1:/p1: and lowercase hex';
    END IF;
END
$$;
ALTER TABLE tdi.sent
    ALTER COLUMN eid TYPE bytea USING decode(substr(eid, 4), 'hex'),
    ALTER COLUMN ekey TYPE bytea USING decode(substr(ekey, 4), 'hex'),
    ALTER COLUMN person TYPE bytea USING decode(substr(person, 4), 'hex');
COMMENT ON COLUMN tdi.sent.eid IS 'the episode under the state key: the 16 bytes of e1:HEX';
COMMENT ON COLUMN tdi.sent.ekey IS 'the episode''s key in the body''s files: the 16 bytes of e1:HEX';
COMMENT ON COLUMN tdi.sent.person IS 'the person under the state key, the 32 bytes of p1:HEX: links sources, bodies and years; never written to a file';
ALTER TABLE tdi.person_year
    ALTER COLUMN person TYPE bytea USING decode(substr(person, 4), 'hex');
ANALYZE tdi.sent, tdi.person_year;
