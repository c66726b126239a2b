#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The TDI tables by a second, independent route: SQL on the sample clinic databases themselves,
# not on anything tdi wrote. test_tables.sh recounts every table from the published records, so
# it trusts transform's coding; here the coding is done again in SQL:
#
# - the crosswalks (examples/crosswalks/en.cw, nl.cw) are parsed by awk into rows of a temp table
#   (README "Crosswalk files": quotes, comments, VALID_FROM: the latest in force at the start);
#   local codes are mapped onto TDI codes by a join, the setting class onto the centre type by
#   README's typology table, the birth date onto the age at start and its band;
# - the reject rules are recomputed in SQL (R001, R002, R006 over every coded column, R014,
#   R020 with the be_rrn check digits, R005, R009-R012, R015, R016, R004, R030, R031; first one
#   wins),
#   and their counts per source and rule must equal the quarantine files' (the keys there are
#   pseudonymous, the rules are not), so what the tables leave out is checked too;
# - the counting unit (README "Counting") per the config template: body national counts a person
#   once a year (counting = national), body antwerp once per centre (the default). A person is
#   the digits of the national id (both clinics use be_rrn; an invalid one is rejected by R020),
#   else the source and its normalised client id. That is how tdi links here because the
#   fixture's persons without a national id (two SLK-581, one client) each have one client id at
#   one clinic and one sex, and no two of their SLK-581 keys are equal; a fixture where two
#   persons' starts tie on one day (tdi breaks ties by a key SQL cannot see) fails the case.
#
# Four table families of different shapes, all variants, against the tables XML of a run with
# suppression_threshold = 1 (nothing suppressed), cell by cell and exact: 8.1.x treatment status
# x centre type (by sex), 10.1.x primary drug with group subtotals x sex (by treatment status),
# 12.1.x primary drug x age band at entry (by status), 14.1.x drug group x living with whom (by
# sex). Alcohol (8) has no row: it is left out, as the tables do. The counting unit ranks only
# the TDI population (a start for a drug): patient 3 of Riverside starts for alcohol (episode 3)
# and later for amphetamines at another centre (17), so 17 is her national entrant (it was not
# while the first start of any kind was ranked: 17 entrants then, 18 now).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

RUN=$IT_TMP/run
TABLES='^(8\.1|10\.1|12\.1|14\.1|43\.2)\.[0-9]+$'

# cw_rows FILE: the crosswalk FILE as COPY text rows: item, local code, TDI code, valid from (\N
# when none). Blanks separate fields, a field may be in double quotes (\" and \\ inside), # starts
# a comment. Byte by byte (LC_ALL=C): UTF-8 codes pass through unchanged.
cw_rows() {
    LC_ALL=C awk '
    function esc(s) { gsub(/\\/, "\\\\", s); gsub(/\t/, "\\t", s); return s }
    {
        n = 0; i = 1; len = length($0)
        while (i <= len) {
            c = substr($0, i, 1)
            if (c == " " || c == "\t" || c == "\r") { i++; continue }
            if (c == "#") break
            f = ""
            if (c == "\"") {
                for (i++; i <= len && (c = substr($0, i, 1)) != "\""; i++) {
                    if (c == "\\") c = substr($0, ++i, 1)
                    f = f c
                }
                i++
            } else {
                for (; i <= len && (c = substr($0, i, 1)) !~ /[ \t\r]/; i++) f = f c
            }
            fld[++n] = f
        }
        if (n == 0) next
        if (n < 3 || n > 4) { printf "%s:%d: not ITEM LOCAL_CODE TDI_CODE [VALID_FROM]\n", FILENAME, NR > "/dev/stderr"; exit 1 }
        printf "%s\t%s\t%s\t%s\n", esc(fld[1]), esc(fld[2]), esc(fld[3]), n == 4 ? esc(fld[4]) : "\\N"
    }' "$1"
}

# source_episodes SOURCE DB CROSSWALK: one COPY row per episode of 2025 (or without a start date)
# of the clinic database DB: source, episode id, the first reject rule (\N: none), person (MD5 of
# the link), centre,
# start, then the TDI codes of treatment status, sex, centre type, primary drug, age band, living
# with, the item's not-known code where the source gives none.
source_episodes() {
    local rows
    rows=$(cw_rows "$3") || fail "cannot parse $3"
    {
        printf '%s\n' "CREATE TEMP TABLE cw (item text, local text, tdi text, valid_from date);" "COPY cw FROM STDIN;"
        printf '%s\n' "$rows" '\.'
        cat <<'SQL'
-- the TDI code of a local code: NULL when blank (not known), '?' when the crosswalk lacks it
CREATE FUNCTION pg_temp.map(it text, code text, d date) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN nullif(btrim(code), '') IS NULL THEN NULL ELSE coalesce(
        (SELECT tdi FROM cw WHERE item = it AND local = btrim(code) AND (valid_from IS NULL OR valid_from <= d)
          ORDER BY valid_from DESC NULLS LAST LIMIT 1), '?') END $$;
-- secondary drugs: the secondary_drug lines first, then the primary_drug ones
CREATE FUNCTION pg_temp.map_col(col text, code text, d date) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN col ~ '^secondary_drug_[1-4]$'
                THEN coalesce(nullif(pg_temp.map('secondary_drug', code, d), '?'), pg_temp.map('primary_drug', code, d))
                ELSE pg_temp.map(col, code, d) END $$;
-- an integer column: NULL when blank, -1 when not a whole number in LO..HI
CREATE FUNCTION pg_temp.int_in(v text, lo int, hi int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN nullif(btrim(v), '') IS NULL THEN NULL
                WHEN btrim(v) ~ '^[0-9]{1,9}$' AND btrim(v)::int BETWEEN lo AND hi THEN btrim(v)::int
                ELSE -1 END $$;

CREATE TEMP TABLE src AS
SELECT j, j->>'episode_id' AS episode_id, j->>'client_id' AS client_id, j->>'centre_id' AS centre,
       (j->>'start_date')::date AS start, (j->>'birth_date')::date AS birth,
       regexp_replace(coalesce(j->>'national_id', ''), '[ ./-]', '', 'g') AS nid,
       extract(year FROM age((j->>'start_date')::date, (j->>'birth_date')::date))::int AS age,
       pg_temp.int_in(j->>'first_use_age', 0, 120) AS first_use_age,
       pg_temp.int_in(j->>'first_injection_age', 0, 120) AS first_injection_age,
       pg_temp.int_in(j->>'first_injection_year', 1900, 2999) AS first_injection_year,
       pg_temp.int_in(j->>'first_ost_year', 1900, 2999) AS first_ost_year
  FROM (SELECT to_jsonb(e) AS j FROM tdi_episodes e) x
 WHERE j->>'start_date' IS NULL OR extract(year FROM (j->>'start_date')::date) = 2025
    -- the continuing window: started before the year, open in it
    OR ((j->>'start_date')::date < '2025-01-01' AND coalesce((j->>'end_date')::date >= '2025-01-01', true));

CREATE TEMP TABLE coded AS
SELECT s.*, pg_temp.map('treatment_status', j->>'treatment_status', start) AS status,
       pg_temp.map('sex', j->>'sex', start) AS sex, pg_temp.map('setting', j->>'setting', start) AS setting,
       pg_temp.map('primary_drug', j->>'primary_drug', start) AS drug,
       pg_temp.map('living_with', j->>'living_with', start) AS living_with,
       pg_temp.map('age_band', j->>'age_band', start) AS age_band_col,
       pg_temp.map('route', j->>'route', start) AS route, pg_temp.map('injecting', j->>'injecting', start) AS injecting,
       pg_temp.map('ost', j->>'ost', start) AS ost,
       pg_temp.map('residential_approach', j->>'residential_approach', start) AS approach,
       pg_temp.map('planned_duration', j->>'planned_duration', start) AS duration,
       pg_temp.map('detox_phase', j->>'detox_phase', start) AS detox,
       pg_temp.map('discharge_reason', j->>'discharge_reason', start) AS reason,
       pg_temp.map('aftercare', j->>'aftercare', start) AS aftercare,
       EXISTS (SELECT 1 FROM jsonb_each_text(j) kv
                WHERE kv.key IN ('setting', 'residential_approach', 'planned_duration', 'detox_phase', 'sex',
                                 'age_band', 'nationality', 'treatment_status', 'referral_source', 'living_with',
                                 'living_with_children', 'living_where', 'education', 'labour_status',
                                 'primary_drug', 'route', 'frequency', 'first_use_age_band', 'secondary_drug_1',
                                 'secondary_drug_2', 'secondary_drug_3', 'secondary_drug_4', 'polydrug',
                                 'injecting', 'needle_sharing', 'hiv_testing', 'hcv_testing', 'ost',
                                 'discharge_reason', 'aftercare')
                  AND pg_temp.map_col(kv.key, kv.value, start) = '?') AS unmapped,
       -1 IN (first_use_age, first_injection_age, first_injection_year, first_ost_year) AS bad_int,
       CASE WHEN nid = '' THEN false WHEN nid !~ '^[0-9]{11}$' THEN true
            ELSE right(nid, 2)::int NOT IN (97 - left(nid, 9)::bigint % 97, 97 - (2000000000 + left(nid, 9)::bigint) % 97)
       END AS bad_nid
  FROM src s;

COPY (
SELECT :'source', episode_id,
       CASE WHEN nullif(btrim(episode_id), '') IS NULL OR nullif(btrim(client_id), '') IS NULL
                 OR nullif(btrim(centre), '') IS NULL OR start IS NULL THEN 'R001'
            WHEN centre !~ '^[A-Za-z0-9._-]{1,32}$' THEN 'R002'
            WHEN unmapped THEN 'R006'
            WHEN bad_int THEN 'R014'
            WHEN bad_nid THEN 'R020'
            WHEN age NOT BETWEEN 10 AND 99 THEN 'R005'
            WHEN first_use_age > age THEN 'R009'
            WHEN first_injection_age > age OR first_injection_year > extract(year FROM start) THEN 'R010'
            WHEN coalesce(first_injection_age, first_injection_year) IS NOT NULL AND injecting = '1' THEN 'R011'
            WHEN route = '1' AND injecting = '1' THEN 'R012'
            WHEN first_ost_year > extract(year FROM start) THEN 'R015'
            WHEN first_ost_year IS NOT NULL AND ost = '1' THEN 'R016'
            WHEN start > current_date THEN 'R004'
            WHEN (j->>'end_date')::date < start THEN 'R030'
            WHEN (j->>'end_date')::date > current_date THEN 'R031'
       END,
       md5(CASE WHEN nid <> '' THEN 'nid:' || nid   -- hashed: no identifier in a test file
                ELSE :'source' || ':' || upper(regexp_replace(client_id, '[^A-Za-z0-9]', '', 'g')) END),
       centre, start, coalesce(status, '3'), coalesce(sex, '99'),
       CASE coalesce(setting, 'not_known')
            WHEN 'outpatient' THEN '1' WHEN 'residential_community' THEN '2' WHEN 'residential_hospital' THEN '2'
            WHEN 'inpatient_detox' THEN '2' WHEN 'prison' THEN '3' WHEN 'general_practitioner' THEN '4'
            WHEN 'low_threshold' THEN '5' WHEN 'other' THEN '6' ELSE '99' END,
       coalesce(drug, '99'),
       CASE WHEN age IS NULL THEN coalesce(age_band_col, '99') WHEN age < 15 THEN '0-14' WHEN age >= 65 THEN '65+'
            ELSE (15 + (age - 15) / 5 * 5) || '-' || (19 + (age - 15) / 5 * 5) END,
       coalesce(living_with, '99'),
       start < '2025-01-01', (j->>'end_date')::date, coalesce(setting, 'not_known'), coalesce(approach, 'not_known'),
       coalesce(duration, 'not_known'), coalesce(detox, 'not_known'), coalesce(reason, 'not_known'),
       coalesce(aftercare, 'not_known')
  FROM coded) TO STDOUT;
SQL
    } | pg_sql "$2" -v source="$1"
}

# episodes_table EPISODES: SQL that loads the episode rows (source_episodes) into temp table ep.
episodes_table() {
    printf '%s\n' "CREATE TEMP TABLE ep (source text, episode_id text, rule text, person text, centre text," \
        " start date, status text, sex text, ctype text, drug text, age_band text, living_with text," \
        " continuing boolean, end_date date, setting text, approach text, duration text, detox text," \
        " reason text, aftercare text);" "COPY ep FROM STDIN;"
    cat "$1"
    printf '%s\n' '\.'
}

# expected_cells EPISODES: "BODY TABLE ROW COLUMN COUNT" for every non-zero cell of the four
# families, from the episode rows of both sources (source_episodes); also "tie BODY PERSON" for
# two first starts of a person on one day, which this route cannot order as tdi does.
expected_cells() {
    {
        episodes_table "$1"
        cat <<'SQL'
-- the bodies of examples/tdi.conf.in: which episodes each takes, and its counting level. Only
-- episodes of the TDI population are ranked (the first start *for a drug*): alcohol and the
-- non-drug problems are never entrants and never hide a drug start.
CREATE TEMP TABLE body (name text, level text);
INSERT INTO body VALUES ('national', 'national'), ('antwerp', 'centre');
CREATE TEMP TABLE held AS
SELECT e.*, rank() OVER (PARTITION BY body, person, part ORDER BY start) AS nth
  FROM (SELECT b.name AS body, CASE b.level WHEN 'centre' THEN e.centre ELSE '' END AS part, e.*
          FROM ep e JOIN body b ON b.name = 'national' OR e.source = 'riverside' OR e.centre = 'DB-ANTW'
         WHERE e.rule IS NULL AND NOT e.continuing
           AND e.drug NOT IN ('8', 'gambling', 'gaming', 'tobacco', 'other_behaviour')) e;

CREATE FUNCTION pg_temp.flat(c text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[c, 'total'] $$;
CREATE FUNCTION pg_temp.tree(c text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN c LIKE '%.%' THEN ARRAY[c, split_part(c, '.', 1), 'total'] ELSE ARRAY[c, 'total'] END $$;
CREATE FUNCTION pg_temp.grp(c text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[split_part(c, '.', 1), 'total'] $$;
-- the variants a record is in: .1 all, .2 code 1 (male; never treated), .3 code 2
CREATE FUNCTION pg_temp.variants(c text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['1'] || CASE c WHEN '1' THEN ARRAY['2'] WHEN '2' THEN ARRAY['3'] ELSE ARRAY[]::text[] END $$;

SELECT 'tie', body, count(*) FROM held WHERE nth = 1 GROUP BY body, person, part HAVING count(*) > 1;
SELECT body, t.family || '.' || v, r, c, count(*)
  FROM held e,
       LATERAL (VALUES ('8.1', pg_temp.variants(e.sex), pg_temp.flat(e.status), pg_temp.flat(e.ctype)),
                       ('10.1', pg_temp.variants(e.status), pg_temp.tree(e.drug), pg_temp.flat(e.sex)),
                       ('12.1', pg_temp.variants(e.status), pg_temp.tree(e.drug), pg_temp.flat(e.age_band)),
                       ('14.1', pg_temp.variants(e.sex), pg_temp.grp(e.drug), pg_temp.flat(e.living_with)),
                       -- residential entrants only: the approach and duration apply to them alone
                       ('43.2', ARRAY['1'], CASE WHEN e.setting IN ('residential_community', 'residential_hospital')
                                                 THEN pg_temp.flat(e.approach) ELSE ARRAY[]::text[] END,
                        pg_temp.flat(e.duration)))
           AS t(family, vs, rs, cs),
       unnest(t.vs) v, unnest(t.rs) r, unnest(t.cs) c
 WHERE e.nth = 1
 GROUP BY 1, 2, 3, 4;
SQL
    } | pg_sql postgres -F ' ' | LC_ALL=C sort
}

# outcome_cells EPISODES: "BODY TABLE ROW COLUMN VALUE" for every non-zero cell, rate and median
# of the residential-outcome tables 40.1.1-42.1.1 (README *Setting typology*), from the episode
# rows of both sources (source_episodes): every accepted episode of the TDI population with an
# end date in 2025, entrant, later start or continuing client alike, in each body it goes to.
outcome_cells() {
    {
        episodes_table "$1"
        cat <<'SQL'
CREATE TEMP TABLE d AS
SELECT b.body, e.*, e.end_date - e.start AS days,
       e.setting IN ('residential_community', 'residential_hospital') AS residential,
       CASE WHEN e.reason = 'completed' THEN 'completed' WHEN e.reason = 'not_known' THEN 'not_known'
            ELSE 'not_completed' END AS completion,
       CASE WHEN e.aftercare IN ('outpatient', 'self_help', 'housing', 'other') THEN 'referred'
            ELSE e.aftercare END AS referral
  FROM ep e
  JOIN (VALUES ('national'), ('antwerp')) b(body)
    ON b.body = 'national' OR e.source = 'riverside' OR e.centre = 'DB-ANTW'
 WHERE e.rule IS NULL AND e.drug NOT IN ('8', 'gambling', 'gaming', 'tobacco', 'other_behaviour')
   AND extract(year FROM e.end_date) = 2025;

-- one row per table cell a discharged episode counts in: (table, row, column, days)
CREATE TEMP TABLE c AS
SELECT body, t, r, col, days
  FROM d,
       LATERAL (VALUES ('40.1.1', setting, completion, true), ('40.2.1', setting, referral, true),
                       ('41.1.1', approach, completion, residential), ('41.2.1', approach, referral, residential),
                       ('41.1.2', approach, completion, residential AND duration = 'short'),
                       ('41.2.2', approach, referral, residential AND duration = 'short'),
                       ('41.1.3', approach, completion, residential AND duration = 'long'),
                       ('41.2.3', approach, referral, residential AND duration = 'long'),
                       ('42.1.1', duration, CASE WHEN days <= 28 THEN 'within_28' ELSE 'over_28' END,
                        residential AND detox = 'yes')) x(t, rr, cc, keep),
       unnest(ARRAY[rr, 'total']) r, unnest(ARRAY[cc, 'total']) col
 WHERE keep;

SELECT body, t, r, col, count(*) FROM c GROUP BY 1, 2, 3, 4;
-- per row: the share of completed or referred among the discharged, and the median stay
SELECT body, t, r, CASE WHEN t LIKE '%.1.%' THEN 'completion_rate' ELSE 'aftercare_share' END,
       to_char(100.0 * count(*) FILTER (WHERE col IN ('completed', 'referred')) / count(*) FILTER (WHERE col = 'total'), 'FM9990.00')
  FROM c WHERE t <> '42.1.1' GROUP BY 1, 2, 3;
SELECT body, t, r, 'median_stay', to_char(percentile_cont(0.5) WITHIN GROUP (ORDER BY days), 'FM99990.00')
  FROM c WHERE t LIKE '4_.1.%' AND t <> '42.1.1' AND col = 'total' GROUP BY 1, 2, 3;
SQL
    } | pg_sql postgres -F ' ' | LC_ALL=C sort
}

# client_cells EPISODES: "BODY 43.1.1 ROW COLUMN COUNT" for every non-zero cell of the clients in
# treatment (README "Clients in treatment"), from the episode rows of both sources: per body and
# counting part, the persons with a first start for a drug in 2025 (column entrants, at its
# centre type) or else a continuing episode of the TDI population (column continuing, at the
# centre type of the latest one); "tie" when two latest continuing episodes of a person start on
# one day at two centre types (tdi breaks it by a key SQL cannot see).
client_cells() {
    {
        episodes_table "$1"
        cat <<'SQL'
CREATE TEMP TABLE body (name text, level text);
INSERT INTO body VALUES ('national', 'national'), ('antwerp', 'centre');
CREATE TEMP TABLE cl AS
SELECT b.name AS body, CASE b.level WHEN 'centre' THEN e.centre ELSE '' END AS part, e.*
  FROM ep e JOIN body b ON b.name = 'national' OR e.source = 'riverside' OR e.centre = 'DB-ANTW'
 WHERE e.rule IS NULL AND e.drug NOT IN ('8', 'gambling', 'gaming', 'tobacco', 'other_behaviour');
CREATE TEMP TABLE latest AS
SELECT body, part, person, ctype, continuing,
       rank() OVER w AS nth, row_number() OVER w AS rn
  FROM (SELECT * FROM cl WHERE continuing
        UNION ALL
        (SELECT DISTINCT ON (body, part, person) * FROM cl WHERE NOT continuing
          ORDER BY body, part, person, start)) x
WINDOW w AS (PARTITION BY body, part, person ORDER BY continuing, start DESC);
SELECT 'tie', body, count(DISTINCT ctype) FROM latest WHERE nth = 1 GROUP BY body, part, person HAVING count(DISTINCT ctype) > 1;
SELECT body, '43.1.1', r, c, count(*)
  FROM latest, unnest(ARRAY[ctype, 'total']) r,
       unnest(ARRAY[CASE WHEN continuing THEN 'continuing' ELSE 'entrants' END, 'total']) c
 WHERE rn = 1
 GROUP BY 1, 2, 3, 4;
SQL
    } | pg_sql postgres -F ' ' | LC_ALL=C sort
}

# want_got ALL BODY TABLE: CASE_DIR/BODY.want, ALL's lines of BODY without it, and BODY.got, the
# non-zero cells of table TABLE in BODY's tables file.
want_got() {
    awk -v body="$2" '$1 == body { $1 = ""; print substr($0, 2) }' "$1" >"$CASE_DIR/$2.want"
    table_cells "$(one_file "$RUN/out/$2/tdi-$2-2025-*.tables.xml")" |
        awk -v t="$3" '$1 == t && $4 != "0"' | LC_ALL=C sort >"$CASE_DIR/$2.got"
}

# Every cell of 43.1.1 (clients in treatment: continuing, entrants, total) equals the SQL's.
case_clients() {
    local body
    [ -s "$IT_TMP/episodes" ] || fail "no episode rows (case rejects failed)"
    client_cells "$IT_TMP/episodes" >"$CASE_DIR/all"
    ! grep '^tie ' "$CASE_DIR/all" >&2 ||
        fail "two latest continuing episodes of a person on one day: the SQL cannot break the tie as tdi does"
    for body in "${TDI_BODIES[@]}"; do
        want_got "$CASE_DIR/all" "$body" 43.1.1
        diff -u "$CASE_DIR/$body.want" "$CASE_DIR/$body.got" >&2 ||
            fail "$body: 43.1.1 differs from the SQL on the clinic databases (- SQL, + tdi)"
        grep -q '^43\.1\.1 total continuing [1-9]' "$CASE_DIR/$body.want" ||
            fail "$body: the fixture has no continuing client: too small to test"
    done
}

# Every cell, rate and median of tables 40-42 equals the SQL's.
case_outcome() {
    local body t
    [ -s "$IT_TMP/episodes" ] || fail "no episode rows (case rejects failed)"
    outcome_cells "$IT_TMP/episodes" >"$CASE_DIR/all"
    for body in "${TDI_BODIES[@]}"; do
        awk -v body="$body" '$1 == body { $1 = ""; print substr($0, 2) }' "$CASE_DIR/all" >"$CASE_DIR/$body.want"
        t=$(one_file "$RUN/out/$body/tdi-$body-2025-*.tables.xml")
        table_cells "$t" | awk '$1 ~ /^4[0-2]\./ && $4 != "0" && $4 != "E"' | LC_ALL=C sort >"$CASE_DIR/$body.got"
        for id in 40.1.1 40.2.1 41.1.1 41.1.2 41.1.3 41.2.1 42.1.1; do
            grep -q "^$id " "$CASE_DIR/$body.want" || fail "$body: the fixture has nothing in table $id"
        done
        diff -u "$CASE_DIR/$body.want" "$CASE_DIR/$body.got" >&2 ||
            fail "$body: outcome tables differ from the SQL on the clinic databases (- SQL, + tdi)"
    done
}

case_run() {
    run_with_threshold "$RUN" 1
    grep -q '^tables national: 81 tables, 0 cells suppressed (0 of them added by the audit) -> ' "$RUN/run.out" ||
        fail "threshold 1 suppressed something: $(grep '^tables' "$RUN/run.out")"
}

# The bodies this route models: the config template must still say what expected_cells assumes.
case_config() {
    local want
    want=$'[body national]\nregions = *\ncounting = national\n[body antwerp]\nregions = BE211\ncentres = DB-ANTW'
    [ "$(grep -E '^(\[body |regions|centres|counting)' "$TDI_CONF_TEMPLATE")" = "$want" ] ||
        fail "the bodies of $TDI_CONF_TEMPLATE changed: update expected_cells"
}

# The SQL rejects are tdi's: per source and rule, as many as the quarantine file holds.
case_rejects() {
    local src
    source_episodes riverside clinic_en "$TDI_EXAMPLES/crosswalks/en.cw" >"$CASE_DIR/episodes"
    source_episodes debrug clinic_nl "$TDI_EXAMPLES/crosswalks/nl.cw" >>"$CASE_DIR/episodes"
    [ "$(wc -l <"$CASE_DIR/episodes")" -ge 40 ] || fail "fewer than 40 episodes read from the clinics"
    awk -F '\t' '$3 != "\\N" { print $1, $3 }' "$CASE_DIR/episodes" | LC_ALL=C sort | uniq -c >"$CASE_DIR/want"
    for src in riverside debrug; do
        tail -n +2 "$(one_file "$RUN/out/quarantine/quarantine-$src-2025-*.tsv")" |
            awk -F '\t' -v src="$src" '{ print src, $2 }'
    done | LC_ALL=C sort | uniq -c >"$CASE_DIR/got"
    [ "$(wc -l <"$CASE_DIR/want")" -ge 10 ] || fail "fewer than 10 source/rule pairs rejected: the fixture is too small to test"
    diff -u "$CASE_DIR/want" "$CASE_DIR/got" >&2 || fail "rejects per source and rule differ from the quarantine files (- SQL, + tdi)"
    cp "$CASE_DIR/episodes" "$IT_TMP/episodes"
}

case_cells() {
    local body t id n
    [ -s "$IT_TMP/episodes" ] || fail "no episode rows (case rejects failed)"
    expected_cells "$IT_TMP/episodes" >"$CASE_DIR/all"
    if grep '^tie ' "$CASE_DIR/all" >&2; then
        fail "two first starts of one person on one day: the SQL route cannot break the tie as tdi does"
    fi
    for body in "${TDI_BODIES[@]}"; do
        awk -v body="$body" '$1 == body { $1 = ""; print substr($0, 2) }' "$CASE_DIR/all" >"$CASE_DIR/$body.want"
        t=$(one_file "$RUN/out/$body/tdi-$body-2025-*.tables.xml")
        table_cells "$t" | awk -v re="$TABLES" '$1 ~ re && $4 != "0"' | LC_ALL=C sort >"$CASE_DIR/$body.got"
        [ "$(wc -l <"$CASE_DIR/$body.want")" -ge 100 ] || fail "$body: fewer than 100 non-zero cells expected: the fixture is too small to test"
        for id in 8.1.1 8.1.2 8.1.3 10.1.1 10.1.2 10.1.3 12.1.1 12.1.2 12.1.3 14.1.1 14.1.2 14.1.3 43.2.1; do
            grep -q "^$id " "$CASE_DIR/$body.want" || fail "$body: the fixture has nothing in table $id"
        done
        diff -u "$CASE_DIR/$body.want" "$CASE_DIR/$body.got" >&2 ||
            fail "$body: tables differ from the SQL on the clinic databases (- SQL, + tdi)"
        # the entrants the header and the manifest say the tables count: the SQL's drug entrants
        n=$(awk '$1 == "8.1.1" && $2 == "total" && $3 == "total" { print $4 }' "$CASE_DIR/$body.want")
        grep -qE "^<tables .* entrants=\"$n\"" "$t" || fail "$body: the tables header does not say entrants $n"
        [ "$(json_field "$(one_file "$RUN/out/$body/tdi-$body-2025-*.tables.manifest.json")" entrants)" = "$n" ] ||
            fail "$body: the tables manifest does not say entrants $n"
    done
    # the grand totals of this fixture (the TDI population: first starts for a drug)
    grep -qx '8.1.1 total total 18' "$CASE_DIR/national.want" || fail "national: the SQL does not count 18 drug entrants"
    grep -qx '8.1.1 total total 15' "$CASE_DIR/antwerp.want" || fail "antwerp: the SQL does not count 15 drug entrants"
}

it_case tables-sql-run case_run
it_case tables-sql-config case_config
it_case tables-sql-rejects case_rejects
it_case tables-sql-cells case_cells
# The clinic fixtures get their end dates with issue 17's discharge fields; until then this waits.
if [ "$(pg_sql clinic_en -At -c "SELECT count(*) FROM information_schema.columns
          WHERE table_name = 'tdi_episodes' AND column_name = 'end_date'")" = 1 ]; then
    it_case tables-sql-outcome case_outcome
    it_case tables-sql-clients case_clients
else
    it_skip tables-sql-outcome "the clinic fixtures have no end_date column yet (issue 17)"
    it_skip tables-sql-clients "the clinic fixtures have no end_date column yet (issue 17)"
fi
it_end
