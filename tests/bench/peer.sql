-- tests/bench/peer.sql: the server-built XML peer of `tdi run`, one <episode/> line per accepted
-- row, streamed by COPY TO STDOUT (tests/bench/bench.sh adds the document's first and last lines
-- and pipes it to gzip at tdi's level). It does what tdi does to a row of the benchmark clinic,
-- in SQL: the crosswalk (table bench_cw, loaded from the same crosswalk file) by join, the rules
-- tdi would quarantine by as a filter, the derived items (centre type, age band, the residential
-- items only for residential settings, injecting from an injected route), the items the source
-- does not have as "not known", which schema 2.4 leaves out (xmlattributes drops a NULL: each
-- item's not-known code, the schema's default, is NULL here), and the pseudonyms with pgcrypto's hmac(): HKDF-SHA256 of the
-- master key into the link and body keys (once per query), then per row the person and episode
-- digests under the link key and the pseudonyms under the body key (README, Pseudonyms), and
-- the entrant flag of the counting unit over the TDI population (alcohol and non-drug problems
-- never entrants). Its lines equal tdi's byte for byte; bench.sh checks that.
--   psql -v tbl=TABLE -v key=HEX -v source=NAME -v region=CODE -v body=NAME -v year=YYYY -f peer.sql
COPY (
WITH prk AS MATERIALIZED (
    SELECT hmac(decode(:'key', 'hex'), convert_to('tdi-hkdf-salt-v1', 'UTF8'), 'sha256') AS prk
), k AS MATERIALIZED (
    SELECT hmac(convert_to('tdi/link/v1', 'UTF8') || '\x01'::bytea, prk, 'sha256') AS link,
           hmac(convert_to('tdi/body/v1', 'UTF8') || '\x00'::bytea || convert_to(:'body', 'UTF8') ||
                '\x01'::bytea, prk, 'sha256') AS body,
           hmac(convert_to('tdi/state/v1', 'UTF8') || '\x01'::bytea, prk, 'sha256') AS state
      FROM prk
), r AS (
    SELECT e.*, s.tdi AS setting_code, x.tdi AS sex_code, ts.tdi AS status_code,
           d.tdi AS drug_code, rt.tdi AS route_code,
           extract(year FROM age(e.start_date, e.birth_date))::int AS age_years,
           hmac(convert_to('tdi/person/client/v1', 'UTF8') || '\x00'::bytea ||
                convert_to(:'source', 'UTF8') || '\x00'::bytea ||
                convert_to(upper(regexp_replace(e.client_id, '[^A-Za-z0-9]', '', 'g')), 'UTF8'),
                k.link, 'sha256') AS person_digest,
           hmac(convert_to('tdi/episode/v1', 'UTF8') || '\x00'::bytea ||
                convert_to(:'source', 'UTF8') || '\x00'::bytea || convert_to(e.episode_id, 'UTF8'),
                k.link, 'sha256') AS episode_digest,
           k.body, k.state
      FROM :"tbl" e
     CROSS JOIN k
      JOIN bench_cw s  ON s.item = 'setting'           AND s.local  = coalesce(btrim(e.setting, E' \t'), '')
      JOIN bench_cw x  ON x.item = 'sex'               AND x.local  = coalesce(btrim(e.sex, E' \t'), '')
      JOIN bench_cw ts ON ts.item = 'treatment_status' AND ts.local = coalesce(btrim(e.treatment_status, E' \t'), '')
      JOIN bench_cw d  ON d.item = 'primary_drug'      AND d.local  = coalesce(btrim(e.primary_drug, E' \t'), '')
      JOIN bench_cw rt ON rt.item = 'route'            AND rt.local = coalesce(btrim(e.route, E' \t'), '')
     WHERE e.start_date >= make_date(:year, 1, 1)
       AND e.start_date < make_date(:year, 1, 1) + interval '1 year'
       AND btrim(e.episode_id, E' \t') <> ''
       AND e.client_id ~ '[A-Za-z0-9]'
       AND e.centre_id ~ E'^[ \t]*[A-Za-z0-9._-]{1,32}[ \t]*$'
       AND (e.birth_date IS NULL OR extract(year FROM age(e.start_date, e.birth_date)) BETWEEN 10 AND 99)
), p AS (
    -- The TDI population (tdi_in_population): a start for a drug or not known; alcohol and the
    -- non-drug problems are never entrants and never hide a start for a drug.
    SELECT r.*, drug_code NOT IN ('8', 'gambling', 'gaming', 'tobacco', 'other_behaviour') AS in_population
      FROM r
), c AS (
    -- The counting unit at tdi's default level: the first start for a drug of each person at
    -- each centre, ties to the smaller state key (the episode under the state key, as tdi's state
    -- database).
    SELECT p.*,
           in_population AND
           row_number() OVER (PARTITION BY person_digest, btrim(centre_id, E' \t'), in_population
                              ORDER BY start_date,
                                       'e1:' || left(encode(hmac(convert_to('tdi/episode/v1', 'UTF8') ||
                                                                 '\x00'::bytea || episode_digest,
                                                                 state, 'sha256'), 'hex'), 32)) = 1
               AS first_start
      FROM p
)
SELECT xmlelement(name episode, xmlattributes(
           'e1:' || left(encode(hmac(convert_to('tdi/episode/v1', 'UTF8') || '\x00'::bytea ||
                                     episode_digest, body, 'sha256'), 'hex'), 32) AS key,
           'v1:' || encode(hmac(convert_to('tdi/person/v1', 'UTF8') || '\x00'::bytea ||
                                person_digest, body, 'sha256'), 'hex') AS person,
           'client' AS "personKind",
           :'source' AS source,
           btrim(centre_id, E' \t') AS centre,
           :'region' AS region,
           extract(year FROM start_date)::int AS year,
           CASE WHEN first_start THEN '1' ELSE '0' END AS entrant,
           nullif(setting_code, 'not_known') AS setting,
           CASE setting_code WHEN 'outpatient' THEN '1' WHEN 'residential_community' THEN '2'
                WHEN 'residential_hospital' THEN '2' WHEN 'inpatient_detox' THEN '2'
                WHEN 'prison' THEN '3' WHEN 'general_practitioner' THEN '4'
                WHEN 'low_threshold' THEN '5' WHEN 'other' THEN '6' END AS centre_type,
           CASE WHEN setting_code IN ('residential_community', 'residential_hospital')
                THEN 'not_known' END AS residential_approach,
           CASE WHEN setting_code IN ('residential_community', 'residential_hospital')
                THEN 'not_known' END AS planned_duration,
           CASE WHEN setting_code IN ('residential_community', 'residential_hospital')
                THEN 'not_known' END AS detox_phase,
           nullif(sex_code, '99') AS sex,
           CASE WHEN age_years IS NULL THEN NULL WHEN age_years < 15 THEN '0-14'
                WHEN age_years >= 65 THEN '65+'
                ELSE (age_years / 5 * 5) || '-' || (age_years / 5 * 5 + 4) END AS age_band,
           nullif(status_code, '3') AS treatment_status,
           nullif(drug_code, '99') AS primary_drug,
           nullif(route_code, '99') AS route,
           CASE WHEN route_code = '1' THEN '2' END AS injecting,
           CASE WHEN route_code = '1' THEN '99' END AS years_since_first_injection))
  FROM c
) TO STDOUT;
