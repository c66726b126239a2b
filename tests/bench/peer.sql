-- tests/bench/peer.sql: the server-built XML peer of `tdi run`, one <episode/> line per accepted
-- row, streamed by COPY TO STDOUT (tests/bench/bench.sh adds the document's first and last lines
-- and pipes it to gzip at tdi's level). It does what tdi does to a row, in SQL: the crosswalk
-- (table bench_cw, loaded from the same crosswalk file) by join, the rules tdi would quarantine
-- by as a filter, the centre type from the setting, the age, and both HMAC-SHA256 pseudonyms with
-- pgcrypto's hmac() under the same key, so its lines equal tdi's byte for byte.
--   psql -v tbl=TABLE -v key=HEX -v source=NAME -v region=CODE -v year=YYYY -f peer.sql
COPY (
SELECT xmlelement(name episode, xmlattributes(
           'e1:' || left(encode(hmac(convert_to('tdi/episode/v1', 'UTF8') || '\x00'::bytea ||
                                     convert_to(:'source', 'UTF8') || '\x00'::bytea ||
                                     convert_to(e.episode_id, 'UTF8'), k.key, 'sha256'), 'hex'), 32)
               AS key,
           'v1:' || encode(hmac(convert_to('tdi/person/v1', 'UTF8') || '\x00'::bytea ||
                                convert_to(upper(regexp_replace(e.client_id, '[^A-Za-z0-9]', '', 'g')),
                                           'UTF8'), k.key, 'sha256'), 'hex') AS person,
           :'source' AS source,
           btrim(e.centre_id, E' \t') AS centre,
           :'region' AS region,
           extract(year FROM e.start_date)::int AS year,
           extract(year FROM age(e.start_date, e.birth_date))::int AS age, -- NULL: left out
           s.tdi AS setting, ct.centre_type AS centre_type, x.tdi AS sex,
           ts.tdi AS treatment_status, d.tdi AS primary_drug, r.tdi AS route))
  FROM :"tbl" e
 CROSS JOIN (SELECT decode(:'key', 'hex') AS key) k
  JOIN bench_cw s  ON s.item = 'setting'          AND s.local  = coalesce(btrim(e.setting, E' \t'), '')
  JOIN bench_cw x  ON x.item = 'sex'              AND x.local  = coalesce(btrim(e.sex, E' \t'), '')
  JOIN bench_cw ts ON ts.item = 'treatment_status' AND ts.local = coalesce(btrim(e.treatment_status, E' \t'), '')
  JOIN bench_cw d  ON d.item = 'primary_drug'     AND d.local  = coalesce(btrim(e.primary_drug, E' \t'), '')
  JOIN bench_cw r  ON r.item = 'route'            AND r.local  = coalesce(btrim(e.route, E' \t'), '')
  JOIN (VALUES ('outpatient', '1'), ('residential_community', '2'), ('residential_hospital', '2'),
               ('inpatient_detox', '2'), ('prison', '3'), ('general_practitioner', '4'),
               ('low_threshold', '5'), ('other', '6'), ('not_known', '99'))
       AS ct (setting, centre_type) ON ct.setting = s.tdi
 WHERE e.start_date >= make_date(:year, 1, 1)
   AND e.start_date < make_date(:year, 1, 1) + interval '1 year'
   AND btrim(e.episode_id, E' \t') <> ''
   AND e.client_id ~ '[A-Za-z0-9]'
   AND e.centre_id ~ E'^[ \t]*[A-Za-z0-9._-]{1,32}[ \t]*$'
   AND (e.birth_date IS NULL OR extract(year FROM age(e.start_date, e.birth_date)) BETWEEN 10 AND 99)
) TO STDOUT;
