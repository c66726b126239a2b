-- tests/bench/gen.sql: one synthetic clinic table of :n treatment episodes, built server-side.
--   psql -v n=1000000 -v tbl=ep_1000000 -f tests/bench/gen.sql
-- Deterministic (hashint4extended of the row number, no random()), so every run and every
-- machine reads the same rows. Codes follow a European TDI-like mix through the local codes of
-- tests/bench/bench.cw; about 3% of the rows break a rule and end in quarantine:
--   1.0% primary_drug KRATOM (not in the crosswalk: R006), 0.5% no start date and 0.3% no
--   client id (R001), 0.4% a centre code with a blank and a '!' (R002), 0.5% aged under 10 (R005).
-- Another 1% start in 2024 and are never extracted for --year 2025.
SET client_min_messages = warning;
DROP TABLE IF EXISTS :"tbl";
CREATE TABLE :"tbl" AS
WITH g AS (
    SELECT i,
           abs(hashint4extended(i, 1)) % 1000 AS r_setting,
           abs(hashint4extended(i, 2)) % 1000 AS r_sex,
           abs(hashint4extended(i, 3)) % 1000 AS r_status,
           abs(hashint4extended(i, 4)) % 1000 AS r_drug,
           abs(hashint4extended(i, 5)) % 1000 AS r_route,
           abs(hashint4extended(i, 6)) % 1000 AS r_bad,
           abs(hashint4extended(i, 7)) AS r_person,
           abs(hashint4extended(i, 8)) % 150 AS r_centre,
           abs(hashint4extended(i, 9)) % 365 AS r_day,
           abs(hashint4extended(i, 10)) % 18250 AS r_age_days
      FROM generate_series(1, :n) AS i
), p AS (
    SELECT g.*, lpad((1 + r_person % greatest(1, (:n * 7) / 10))::text, 11, '0') AS nat,
           DATE '2025-01-01' + r_day::int AS start
      FROM g
)
SELECT 'ADM' || lpad(i::text, 8, '0') AS episode_id,
       CASE WHEN r_bad BETWEEN 15 AND 17 THEN NULL
            ELSE substr(nat, 1, 2) || '.' || substr(nat, 3, 2) || '.' || substr(nat, 5, 2) || '-' ||
                 substr(nat, 7, 3) || '.' || substr(nat, 10, 2) END AS client_id,
       CASE WHEN r_bad BETWEEN 18 AND 21 THEN 'CTR ' || r_centre || '!'
            ELSE 'CTR-' || lpad((1 + r_centre)::text, 3, '0') END AS centre_id,
       CASE WHEN r_bad BETWEEN 10 AND 14 THEN NULL
            WHEN r_bad BETWEEN 30 AND 39 THEN start - 365
            ELSE start END AS start_date,
       CASE WHEN r_bad BETWEEN 22 AND 26 THEN start - (5 * 365 + r_day::int)
            WHEN r_age_days < 730 THEN NULL  -- 4%: birth date not known
            ELSE start - (18 * 365 + r_age_days::int) END AS birth_date,
       CASE WHEN r_setting < 550 THEN 'OUTPT'   WHEN r_setting < 630 THEN 'DAYCARE'
            WHEN r_setting < 650 THEN 'LOWTH'   WHEN r_setting < 740 THEN 'RESI-TC'
            WHEN r_setting < 790 THEN 'RESI-HOSP' WHEN r_setting < 870 THEN 'DETOX'
            WHEN r_setting < 940 THEN 'GP'      WHEN r_setting < 990 THEN 'PRISON'
            ELSE NULL END AS setting,
       CASE WHEN r_sex < 740 THEN 'M' WHEN r_sex < 990 THEN 'F' WHEN r_sex < 995 THEN 'U'
            ELSE NULL END AS sex,
       CASE WHEN r_status < 480 THEN 'Y' WHEN r_status < 900 THEN 'N' WHEN r_status < 980 THEN '?'
            ELSE ' ' END AS treatment_status,
       CASE WHEN r_bad < 10 THEN 'KRATOM'
            WHEN r_drug < 270 THEN 'CANNABIS'  WHEN r_drug < 300 THEN ' Cannabis '
            WHEN r_drug < 480 THEN 'HEROIN'    WHEN r_drug < 500 THEN 'heroin'
            WHEN r_drug < 530 THEN 'METHADONE' WHEN r_drug < 545 THEN 'BUPRENORPHINE'
            WHEN r_drug < 550 THEN 'FENTANYL'  WHEN r_drug < 690 THEN 'COCAINE'
            WHEN r_drug < 730 THEN 'CRACK'     WHEN r_drug < 780 THEN 'AMPHET'
            WHEN r_drug < 800 THEN 'METHAMPHET' WHEN r_drug < 810 THEN 'MDMA'
            WHEN r_drug < 840 THEN 'BENZO'     WHEN r_drug < 845 THEN 'GHB'
            WHEN r_drug < 855 THEN 'KETAMINE'  WHEN r_drug < 865 THEN 'SPICE'
            WHEN r_drug < 945 THEN 'ALCOHOL'   WHEN r_drug < 965 THEN 'OTHER'
            WHEN r_drug < 990 THEN 'UNKNOWN'   ELSE NULL END AS primary_drug,
       CASE WHEN r_route < 400 THEN 'SMOKE' WHEN r_route < 650 THEN 'ORAL'
            WHEN r_route < 770 THEN 'INJ'   WHEN r_route < 950 THEN 'SNIFF'
            WHEN r_route < 970 THEN 'OTHER' ELSE NULL END AS route
  FROM p
 ORDER BY i;
VACUUM (FREEZE, ANALYZE) :"tbl";
GRANT SELECT ON :"tbl" TO tdi_reader;
