-- TEDS-A 2017 as a tdi source: the source query over the table of teds_a_2017.sql.
--
-- It only renames and tidies; every code keeps its TEDS meaning and is mapped by teds.cw.
--   * Codes come as floats ("5.0", "-9.0"): the inner SELECT drops a trailing ".0", so the
--     crosswalk uses the codebook's codes (5, -9) and also serves the original integer file.
--     Anything else (a real fraction, a stray word) stays as it is and is reported unmapped.
--   * TEDS has no dates. TEDS-A 2017 holds admissions of 2017 (ADMYR = 2017 for all): every
--     episode gets start_date 2017-01-01, the first day of that reporting year. Run it with
--     `tdi run --year 2017`. Nothing date-based is derived from it (no birth date either).
--   * TEDS has no person identifier (CASEID is the admission's): each admission is its own
--     person, client_id = episode_id. Counting persons once is not possible with this file.
--   * TEDS names no facility: the centre is the state ('US-' || STUSAB).
--   * AGE is an age group (12-14, 15-17, 18-20, 21-24, 25-29, ...) that does not align with the
--     TDI groups (<15, 15-19, 20-24, ...): it is passed as age_band and teds.cw maps the groups
--     that fall inside one TDI group; 18-20 and 55-64 straddle two and map to "not known".
--     FRSTUSE1 (age at first use) likewise goes to first_use_age_band.
--   * SERVICES gives the setting class and, for residential care, what it says about the
--     planned duration (teds.cw, after residential-typology.md).
--   * Columns with no TDI counterpart in this file are left out: tdi logs them once as not
--     provided and sends "not known". The sample has no GENDER, PSOURCE or EMPLOY column; with
--     the full TEDS-A file add `gender AS sex`, `psource AS referral_source` (teds.cw maps them).
--     METHUSE (planned medication-assisted therapy in this episode) is not the TDI OST status
--     and is not used.
-- Empty CSV rows have no CASEID: they reach tdi with no episode_id and are quarantined (R001).
SELECT 'TEDS-A-2017-' || t.caseid AS episode_id,
       'TEDS-A-2017-' || t.caseid AS client_id,
       'US-' || t.stusab          AS centre_id,
       DATE '2017-01-01'          AS start_date,
       t.services                 AS setting,
       t.services                 AS planned_duration,
       t.age                      AS age_band,
       t.noprior                  AS treatment_status,
       t.livarag                  AS living_where,
       t.educ                     AS education,
       t.sub1                     AS primary_drug,
       t.route1                   AS route,
       t.freq1                    AS frequency,
       t.frstuse1                 AS first_use_age_band,
       t.sub2                     AS secondary_drug_1,
       t.sub3                     AS secondary_drug_2,
       t.idu                      AS injecting
  FROM (SELECT regexp_replace(caseid, '\.0$', '')   AS caseid,
               stusab,
               regexp_replace(services, '\.0$', '') AS services,
               regexp_replace(age, '\.0$', '')      AS age,
               regexp_replace(noprior, '\.0$', '')  AS noprior,
               regexp_replace(livarag, '\.0$', '')  AS livarag,
               regexp_replace(educ, '\.0$', '')     AS educ,
               regexp_replace(sub1, '\.0$', '')     AS sub1,
               regexp_replace(sub2, '\.0$', '')     AS sub2,
               regexp_replace(sub3, '\.0$', '')     AS sub3,
               regexp_replace(route1, '\.0$', '')   AS route1,
               regexp_replace(freq1, '\.0$', '')    AS freq1,
               regexp_replace(frstuse1, '\.0$', '') AS frstuse1,
               regexp_replace(idu, '\.0$', '')      AS idu
          FROM teds_a_2017) AS t
