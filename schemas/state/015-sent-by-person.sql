-- schemas/state/015-sent-by-person.sql: state database migration 15, applied by `tdi init` in
-- one transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- A year's rows sent findable by person: the index tdi."sent_YYYY_person" on (body,
-- coalesce(person, eid)) of the year's table, made by the first pass of the year that looks the
-- touched persons' rows up (a night of a large year: its records fewer than a two-hundredth of
-- what the bodies hold; state/st_pass.c), not by this migration and not by the year's first
-- submission, whose million appends would each pay an insert into it at a random place (first
-- runs +20% of server CPU at 200k; docs/benchmark.md, 2026-12-05 10:40). Without it a night scans the whole year for the
-- touched persons' other rows (2M held: 0.36 s a night; docs/benchmark.md, 2026-12-07). A row
-- sent before migration 2 has no person and is its own person, as in the pass: coalesce. Returns
-- whether it made the index (false: there, or the year has no table yet).
--
-- description: a year's rows sent findable by person, made by its first night
CREATE FUNCTION tdi.sent_person_index(y integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass(format('tdi.%I', 'sent_' || y)) IS NULL
       OR to_regclass(format('tdi.%I', 'sent_' || y || '_person')) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE INDEX %I ON tdi.%I (body, (coalesce(person, eid)))',
                   'sent_' || y || '_person', 'sent_' || y);
    RETURN true;
END
$$;
COMMENT ON FUNCTION tdi.sent_person_index(integer) IS
    'makes the year''s index of tdi.sent by (body, coalesce(person, eid)) when missing';
