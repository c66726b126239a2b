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
--   * SUB1 = 1 ("none": no primary substance, e.g. an admission for a co-dependent or a
--     gambling problem) is no TDI treatment demand for a drug: the WHERE clause leaves it out,
--     rather than have it unmapped and quarantined every night. It is out of scope like an
--     admission of another year; a row without SUB1 is still read (and shown, if unmapped).
--   * Crack: TEDS codes cocaine and crack together (SUB1 = 3). SAMHSA's own reports split them
--     by route: smoked cocaine stands for crack. So SUB1 = 3 is sent as "3-smoked" with ROUTE1 =
--     2 (teds.cw: crack), "3-snorted" with ROUTE1 = 3 (intranasal: powder; crack is smoked, not
--     snorted), and plain "3" otherwise (cocaine, form not known: injected cocaine may be either).
--     SUB2/SUB3 with ROUTE2/ROUTE3 likewise.
--   * Labour status: EMPLOY (1 full time, 2 part time, 3 unemployed, 4 not in labour force)
--     and, for EMPLOY = 4 only, DETNLF (homemaker, student, retired or disabled, resident of an
--     institution, other; -9 "not applicable" for the others). They go as one code: EMPLOY, or
--     "nlf-" || DETNLF when EMPLOY = 4. DETNLF alone says nothing: it is only asked when EMPLOY
--     = 4 (and the sample, imputed by a third party, fills it for everybody).
--   * GENDER, PSOURCE and EMPLOY are in the full TEDS-A file but not in the sample. They are
--     read through to_jsonb(row) ->> 'name', which is NULL when the table has no such column:
--     the same query serves both. With the sample they are "not known" in every row (sex,
--     referral_source, labour_status = 99).
--   * METHUSE (planned medication-assisted therapy in this episode) is not the TDI OST status
--     and is not used.
-- Empty CSV rows have no CASEID: they reach tdi with no episode_id and are quarantined (R001).
SELECT 'TEDS-A-2017-' || t.caseid AS episode_id,
       'TEDS-A-2017-' || t.caseid AS client_id,
       'US-' || t.stusab          AS centre_id,
       DATE '2017-01-01'          AS start_date,
       t.services                 AS setting,
       t.services                 AS planned_duration,
       t.age                      AS age_band,
       t.gender                   AS sex,
       t.psource                  AS referral_source,
       CASE WHEN t.employ = '4' THEN 'nlf-' || coalesce(t.detnlf, '-9')
            ELSE t.employ END     AS labour_status,
       t.noprior                  AS treatment_status,
       t.livarag                  AS living_where,
       t.educ                     AS education,
       t.sub1 || CASE WHEN t.sub1 <> '3' THEN ''
                      WHEN t.route1 = '2' THEN '-smoked'
                      WHEN t.route1 = '3' THEN '-snorted'
                      ELSE '' END AS primary_drug,
       t.route1                   AS route,
       t.freq1                    AS frequency,
       t.frstuse1                 AS first_use_age_band,
       t.sub2 || CASE WHEN t.sub2 <> '3' THEN ''
                      WHEN t.route2 = '2' THEN '-smoked'
                      WHEN t.route2 = '3' THEN '-snorted'
                      ELSE '' END AS secondary_drug_1,
       t.sub3 || CASE WHEN t.sub3 <> '3' THEN ''
                      WHEN t.route3 = '2' THEN '-smoked'
                      WHEN t.route3 = '3' THEN '-snorted'
                      ELSE '' END AS secondary_drug_2,
       t.idu                      AS injecting
  FROM (SELECT regexp_replace(caseid, '\.0$', '')   AS caseid,
               regexp_replace(to_jsonb(x) ->> 'gender', '\.0$', '')  AS gender,
               regexp_replace(to_jsonb(x) ->> 'psource', '\.0$', '') AS psource,
               regexp_replace(to_jsonb(x) ->> 'employ', '\.0$', '')  AS employ,
               regexp_replace(detnlf, '\.0$', '')   AS detnlf,
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
               regexp_replace(route2, '\.0$', '')   AS route2,
               regexp_replace(route3, '\.0$', '')   AS route3,
               regexp_replace(freq1, '\.0$', '')    AS freq1,
               regexp_replace(frstuse1, '\.0$', '') AS frstuse1,
               regexp_replace(idu, '\.0$', '')      AS idu
          FROM teds_a_2017 AS x) AS t
 WHERE t.sub1 IS DISTINCT FROM '1'
