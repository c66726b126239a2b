#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Generalisation and the re-identification check of the record files (README.md, sections
# "Generalisation" and "Re-identification check").
#   generalised      no age in years, no date: the year, and the quarter only for the body with
#                    quarter = yes; postcodes through a region map (a hit gives its region, a miss
#                    the source's, counted in the summary), routing still by the source's region;
# The re-identification check's
# figures (records, groups, smallest group k, records at risk, highest and average risk, fewest
# distinct sensitive values per group) are computed here a second way, by awk over the episodes
# the body was published, and compared with tdi's summary line by line:
#   reid-reached     k reached without blanking (national, default quasi-identifiers, k_min 1;
#                    antwerp grouped by year only, k_min 5), figures in the manifests too;
#   reid-blanked     k only reached by blanking sex: the published records carry sex 99 and
#                    nothing else differs, the header says blanked="sex", xmllint and tdi
#                    validate accept the file, the state database keeps the blanking;
#   reid-unreachable nothing suffices for national: exit 11, the message, no file for national,
#                    antwerp served, the ledger row;
#   reid-every-blanking  every step of the default blank_order tried, none enough: five lines;
#   reid-incremental an incremental run that would need a new blanking publishes nothing for the
#                    body and says to run --full (exit 11); the full run blanks and sends every
#                    record again as a replace;
#   reid-continuing  a continuing client open since a year no one else started in (2017) is no
#                    group of one: its year is bottom-coded to the file's year minus one, so
#                    antwerp grouped by year reaches k_min 5 (exit 0) and the record reads
#                    year="2024" continuing="1";
#   reid-nightly-delete  a night's delete takes a group under k_min: the nightly check (the
#                    touched persons from the pass, the others as sent) equals awk and a --full run;
#   reid-blanked-tables  a first submission with sex blanked: its tables are counted while its
#                    file is written (each record read back from the spool once, by a merge of
#                    its sorted runs: --verbose's counts equal the episodes in the files, the
#                    first twice that with the test build's second read, TDI_TEST_TABLES_REREAD,
#                    by position), from the records as they are (sex counted,
#                    the file's sex all 99), and the files and tables equal the second read's;
#   reid-nightly-legacy  a row sent without a person, read again on a night, counts once.
#   reid-nightly-kept    the check's groups kept in the state database (migration 9), moved by
#                    several nights (sex changed, episodes deleted, one night under k_min, a new
#                    blanking by --full): each night's check equals awk over the files sent so
#                    far, and the kept groups equal SQL over tdi.sent; a database of schema 8
#                    migrated to 9 builds them with its next file.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

SCHEMA=$TDI_ROOT/schemas/tdi-submission.xsd
REACHED=$IT_TMP/reached # the national file of reid-reached: unblanked, default settings
DEFAULT_QIS="sex age_band nationality region year centre_type"

# body_settings DIR BODY LINE...: the LINEs into DIR/tdi.conf right after [body BODY].
body_settings() {
    local conf=$1/tdi.conf body=$2
    shift 2
    awk -v body="$body" -v lines="$(printf '%s\n' "$@")" '
        { print }
        $0 == "[body " body "]" { print lines }' "$conf" >"$conf.new"
    mv "$conf.new" "$conf"
}

# reid_line BODY QIS K_MIN BLANKED FILE.xml.gz: the summary line of the check of BODY grouping by
# the attributes QIS (tdi's order), computed from FILE's episodes; a group's size is its distinct
# person pseudonyms.
reid_line() {
    episode_lines "$5" | awk -v body="$1" -v qis="$2" -v kmin="$3" -v blanked="$4" '
    function attr(name,   m) {
        if (match($0, " " name "=\"[^\"]*\"")) { m = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", m); sub(/"$/, "", m); return m }
        return ""
    }
    BEGIN { nq = split(qis, q, " "); split("primary_drug injecting hiv_testing hcv_testing", sens, " ") }
    {
        key = ""
        for (i = 1; i <= nq; i++) key = key "|" attr(q[i])
        size[key]++; records++
        # a group is as large as its persons: one person'"'"'s episodes are one to find
        if (!((key, attr("person")) in met)) { met[key, attr("person")] = 1; persons[key]++ }
        for (s = 1; s <= 4; s++) {
            v = attr(sens[s])
            if (!((key, s, v) in seen)) { seen[key, s, v] = 1; distinct[key, s]++ }
        }
    }
    END {
        for (g in size) {
            groups++
            if (k == 0 || persons[g] < k) k = persons[g]
            if (persons[g] < kmin) risk += size[g]
            average += size[g] / persons[g]
            for (s = 1; s <= 4; s++) if (!(s in l) || distinct[g, s] < l[s]) l[s] = distinct[g, s]
        }
        printf "disclosure %s: blanked %s: %d records in %d groups by %s; k %d (minimum %d), %d at risk, highest risk %.4f, average risk %.4f; fewest distinct per group: primary_drug %d, injecting %d, hiv_testing %d, hcv_testing %d\n",
            body, blanked, records, groups, qis, k, kmin, risk, 1 / k, average / records, l[1], l[2], l[3], l[4]
    }'
}

# valid FILE.xml.gz: tdi validate and xmllint both accept it.
valid() {
    "$TDI" validate "$1" >/dev/null 2>&1 || fail "tdi validate refuses $1"
    gzip -dc "$1" | xmllint --noout --schema "$SCHEMA" - 2>/dev/null || fail "xmllint refuses $1"
}

# episode_of BODY ID FILE: riverside's episode ID in BODY's FILE.
episode_of() {
    episode_lines "$3" | grep -F " key=\"$(episode_key "$1" riverside "$2")\" " ||
        fail "$1: no riverside episode $2"
}

case_generalised() {
    local national antwerp line
    run_setup "$CASE_DIR"
    # B-2018 (patient 1: episodes 1 and 11) to BE212, B-2060 (patient 2) to BE211; the other
    # postcodes of riverside's 40 records are not in this map (30 records: five continuing
    # clients live in B-2018 or B-2060 too; patient 12 has none)
    printf '%s\n' '# test map' 'B-2018 BE212' '"b 2060" BE211' >"$CASE_DIR/test.map"
    sed -i "s|^region_map = .*|region_map = $CASE_DIR/test.map|" "$CASE_DIR/tdi.conf"
    body_settings "$CASE_DIR" antwerp 'quarter = yes'
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    stdout_has '  postcode not in the region map, source region BE211 used: 30'
    national=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    antwerp=$(one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.xml.gz")
    for id in 1 11; do
        episode_of national "$id" "$national" | grep -q ' region="BE212" ' || fail "national: episode $id is not in BE212"
        episode_of antwerp "$id" "$antwerp" | grep -q ' region="BE212" ' || fail "antwerp: episode $id is not in BE212"
    done
    episode_of national 2 "$national" | grep -q ' region="BE211" ' || fail "national: episode 2 is not in BE211"
    episode_of national 3 "$national" | grep -q ' region="BE211" ' || fail "national: episode 3 (a miss) is not in BE211"
    episode_of national 12 "$national" | grep -q ' region="BE211" ' || fail "national: episode 12 (no postcode) is not in BE211"
    # the quarter: antwerp only (episode 1 starts 2025-02-10, episode 11 2025-10-07)
    episode_of antwerp 1 "$antwerp" | grep -q ' year="2025" quarter="1" ' || fail "antwerp: episode 1 is not in quarter 1"
    episode_of antwerp 11 "$antwerp" | grep -q ' year="2025" quarter="4" ' || fail "antwerp: episode 11 is not in quarter 4"
    # a continuing client's start is bottom-coded (year 2024, "then or earlier"): no quarter
    [ "$(episode_lines "$antwerp" | grep -v ' continuing="1" ' | grep -vc ' quarter="[1-4]" ' || true)" = 0 ] ||
        fail "antwerp: an episode that started in 2025 without its quarter"
    # (the fixtures' [continuing] rows: 24 of riverside, 1 of De Brug)
    [ "$(episode_lines "$antwerp" | grep -c ' continuing="1" ')" = 25 ] || fail "antwerp: not 25 continuing clients"
    [ "$(episode_lines "$antwerp" | grep -c ' year="2024" entrant="0" continuing="1" ')" = 25 ] ||
        fail "antwerp: a continuing client not of year 2024, or with a quarter"
    [ "$(episode_lines "$national" | grep -c ' quarter=')" = 0 ] || fail "national got quarters"
    # no age in years, no date, in either file
    for line in "$national" "$antwerp"; do
        [ "$(gzip -dc "$line" | grep -cE ' (age|first_use_age)="')" = 0 ] || fail "an age in years in $line"
        [ "$(gzip -dc "$line" | grep -cE '[0-9]{4}-[0-9]{2}-[0-9]{2}"')" = 0 ] || fail "a date in $line"
        valid "$line"
    done
    # the quasi-identifiers the state keeps: generalised values only
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE qi !~ '^(1|2|99)\|[0-9+-]+\|(1|2|3|99)\|(BE21[12]|BE100)\|(2024|2025)\|[0-9]+\|[0-4]\|[A-Za-z0-9._-]+\$'")" = 0 ] ||
        fail "the state keeps a tuple that is not generalised: $(ledger "$CASE_DIR" "SELECT qi FROM tdi.sent LIMIT 3")"
}

case_reached() {
    local national antwerp want
    run_setup "$CASE_DIR"
    body_settings "$CASE_DIR" antwerp 'quasi_identifiers = year' 'k_min = 5'
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    national=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    antwerp=$(one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.xml.gz")
    stdout_has "$(reid_line national "$DEFAULT_QIS" 1 none "$national")"
    stdout_has "$(reid_line antwerp year 5 none "$antwerp")"
    # the numbers themselves, for this fixture: 62 records in 51 groups; antwerp's 44 in two
    # years (2025, and 2024: every continuing client, also the five open since 2020: k 12)
    want='disclosure national: blanked none: 62 records in 51 groups by sex age_band nationality region year centre_type; k 1 (minimum 1), 0 at risk, highest risk 1.0000, average risk 0.8548; fewest distinct per group: primary_drug 1, injecting 1, hiv_testing 1, hcv_testing 1'
    stdout_has "$want"
    stdout_has 'disclosure antwerp: blanked none: 44 records in 2 groups by year; k 12 (minimum 5), 0 at risk, highest risk 0.0833, average risk 0.0587; fewest distinct per group: primary_drug 8, injecting 2, hiv_testing 1, hcv_testing 1'
    ! grep -q 'blanked=' <(gzip -dc "$national") || fail "an unblanked file has a blanked attribute"
    [ "$(json_field "${antwerp%.xml.gz}.manifest.json" k)" = 12 ] || fail "antwerp manifest: k is not 12"
    grep -qF '"disclosure":{"quasiIdentifiers":"year","blanked":"","kMin":5,"records":44,"groups":2,"k":12,"recordsAtRisk":0,"highestRisk":0.0833,"averageRisk":0.0587,"fewestDistinct":{"primary_drug":8,"injecting":2,"hiv_testing":1,"hcv_testing":1}}' \
        "${antwerp%.xml.gz}.manifest.json" || fail "antwerp manifest: $(cat "${antwerp%.xml.gz}.manifest.json")"
    valid "$national"
    valid "$antwerp"
    cp "$national" "$REACHED"
}

case_blanked() {
    local national qis="sex year"
    [ -s "$REACHED" ] || fail "no file from reid-reached"
    run_setup "$CASE_DIR"
    body_settings "$CASE_DIR" national "quasi_identifiers = $qis" 'blank_order = sex' 'k_min = 5'
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    national=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    # first grouped by sex and year (too small), then by year alone
    stdout_has "$(reid_line national "$qis" 5 none "$REACHED")"
    stdout_has 'disclosure national: blanked none: 62 records in 5 groups by sex year; k 3 (minimum 5), 3 at risk, highest risk 0.3333, average risk 0.0959; fewest distinct per group: primary_drug 3, injecting 1, hiv_testing 1, hcv_testing 1'
    stdout_has "$(reid_line national year 5 sex "$national")"
    stdout_has 'disclosure national: k reached with sex blanked'
    # the published records: sex 99 in every one, nothing else changed
    [ "$(episode_lines_full "$national" | grep -vc ' sex="99" ' || true)" = 0 ] || fail "a published record keeps its sex"
    diff <(episode_lines_full "$REACHED" | sed 's/ sex="[^"]*" / sex="99" /' | sort) \
        <(episode_lines_full "$national" | sort) >&2 || fail "the blanked file differs in more than sex"
    gzip -dc "$national" | grep '^<submission .* blanked="sex">$' >/dev/null || fail "the header does not say blanked=\"sex\""
    grep -qF '"blanked":"sex"' "${national%.xml.gz}.manifest.json" || fail "the manifest does not say blanked sex"
    valid "$national"
    [ "$(ledger "$CASE_DIR" "SELECT blanked FROM tdi.body_blanking WHERE body = 'national' AND year = 2025")" = sex ] ||
        fail "the state database does not keep the blanking"
    # a rerun: the same blanking, nothing changed, nothing published
    tdi_try "$CASE_DIR/rerun" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    stdout_has 'body national: no changes, nothing published'
}

case_unreachable() {
    local msg
    [ -s "$REACHED" ] || fail "no file from reid-reached"
    run_setup "$CASE_DIR"
    body_settings "$CASE_DIR" national 'blank_order = none' 'k_min = 3'
    body_settings "$CASE_DIR" antwerp 'quasi_identifiers = year' 'k_min = 5'
    tdi_try "$CASE_DIR/run" 11 run --config "$CASE_DIR/tdi.conf" --year 2025
    stdout_has "$(reid_line national "$DEFAULT_QIS" 3 none "$REACHED")"
    stdout_has 'disclosure national: blanked none: 62 records in 51 groups by sex age_band nationality region year centre_type; k 1 (minimum 3), 53 at risk, highest risk 1.0000, average risk 0.8548; fewest distinct per group: primary_drug 1, injecting 1, hiv_testing 1, hcv_testing 1'
    msg='disclosure control not met: groups smaller than k_min 3 remain with every quasi-identifier of blank_order blanked'
    stderr_has "tdi: error: body national: $msg"
    stdout_has "body national: nothing published: $msg"
    no_submission "$CASE_DIR" national
    one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.xml.gz" >/dev/null
    one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.tables.xml" >/dev/null
    expect_last_run "$CASE_DIR" disclosure 11
    [ "$(ledger "$CASE_DIR" "SELECT message FROM tdi.run ORDER BY run_no DESC LIMIT 1")" = "$msg" ] ||
        fail "ledger message: $(ledger "$CASE_DIR" "SELECT message FROM tdi.run ORDER BY run_no DESC LIMIT 1")"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE body = 'national'")" = 0 ] ||
        fail "the state database records national as sent"
}

# Every step of the default blank_order tried (region, nationality, age_band, sex; one
# statement groups the records all five ways), none reaching k_min 5: each line against awk.
case_every_blanking() {
    [ -s "$REACHED" ] || fail "no file from reid-reached"
    run_setup "$CASE_DIR"
    body_settings "$CASE_DIR" national 'k_min = 5'
    tdi_try "$CASE_DIR/run" 11 run --config "$CASE_DIR/tdi.conf" --year 2025
    stdout_has "$(reid_line national "$DEFAULT_QIS" 5 none "$REACHED")"
    stdout_has "$(reid_line national "sex age_band nationality year centre_type" 5 region "$REACHED")"
    stdout_has "$(reid_line national "sex age_band year centre_type" 5 "nationality region" "$REACHED")"
    stdout_has "$(reid_line national "sex year centre_type" 5 "age_band nationality region" "$REACHED")"
    stdout_has "$(reid_line national "year centre_type" 5 "sex age_band nationality region" "$REACHED")"
    [ "$(grep -c '^disclosure national: blanked ' "$CASE_DIR/run.out")" = 5 ] || fail "not five blankings tried"
    stdout_has 'disclosure national: blanked sex age_band nationality region: 62 records in 7 groups by year centre_type; k 1 (minimum 5), 7 at risk, highest risk 1.0000, average risk 0.1331; fewest distinct per group: primary_drug 2, injecting 1, hiv_testing 1, hcv_testing 1'
    stderr_has 'tdi: error: body national: disclosure control not met: groups smaller than k_min 5 remain with every quasi-identifier of blank_order blanked'
    no_submission "$CASE_DIR" national
}

# Riverside read incrementally: run 1 (its first read is full) needs no blanking at k_min 3;
# run 2 (incremental) at k_min 4 would need sex blanked, which changes every record: nothing for
# national, exit 11, "run --full"; run 3 (--full) blanks sex and replaces all 62 records.
case_incremental() {
    local conf=$CASE_DIR/tdi.conf national
    clinic_copy clinic_reid clinic_en
    pg_sql clinic_reid <<'SQL'
SET client_min_messages = warning;
ALTER TABLE admissions ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();
CREATE VIEW tdi_episodes_inc AS
  SELECT v.*, a.changed_at FROM tdi_episodes v JOIN admissions a ON a.adm_id::text = v.episode_id;
GRANT SELECT ON tdi_episodes_inc TO tdi_reader;
SQL
    run_setup "$CASE_DIR"
    sed -i -e 's/dbname=clinic_en /dbname=clinic_reid /' -e '1i incremental_overlap = 0' "$conf"
    awk '/^\[/ { riverside = $0 == "[source riverside]" }
         riverside && /^query / { print "query = SELECT * FROM tdi_episodes_inc"; next }
         { print }
         $0 == "[source riverside]" { print "incremental = changed_at" }' "$conf" >"$conf.new"
    mv "$conf.new" "$conf"
    grep -q 'tdi_episodes_inc' "$conf" || fail "the config does not read the incremental view"
    body_settings "$CASE_DIR" national 'quasi_identifiers = sex year' 'blank_order = sex' 'k_min = 3'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    stdout_has 'disclosure national: blanked none: 62 records in 5 groups by sex year; k 3 (minimum 3), 0 at risk, highest risk 0.3333, average risk 0.0959; fewest distinct per group: primary_drug 3, injecting 1, hiv_testing 1, hcv_testing 1'

    sed -i 's/^k_min = 3$/k_min = 4/' "$conf"
    tdi_try "$CASE_DIR/run2" 11 run --config "$conf" --year 2025
    grep -q '^source riverside: extracted 0, written 0, quarantined 0 (changed since ' "$CASE_DIR/run2.out" ||
        fail "run 2 did not read riverside incrementally"
    stdout_has 'disclosure national: blanked none: 62 records in 5 groups by sex year; k 3 (minimum 4), 3 at risk, highest risk 0.3333, average risk 0.0959; fewest distinct per group: primary_drug 3, injecting 1, hiv_testing 1, hcv_testing 1'
    stderr_has "tdi: error: body national: disclosure control not met at the body's blanking (none): a new blanking changes every record, and source riverside was read incrementally; run 'tdi run --full'"
    [ "$(find "$CASE_DIR/out/national" -name 'tdi-*.xml.gz' | wc -l)" = 1 ] || fail "run 2 published a file for national"
    expect_last_run "$CASE_DIR" disclosure 11

    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025 --full
    stdout_has 'disclosure national: k reached with sex blanked'
    grep -q '^body national: 62 records, 62 replaces, 0 deletes, sequence 2 -> ' "$CASE_DIR/run3.out" ||
        fail "run 3: $(grep '^body national' "$CASE_DIR/run3.out")"
    national=$(find "$CASE_DIR/out/national" -name 'tdi-*.xml.gz' -newer "$CASE_DIR/run2.out")
    [ -n "$national" ] || fail "run 3 published no file for national"
    [ "$(episode_lines_full "$national" | grep -c ' action="replace" .* sex="99" ')" = 62 ] || fail "run 3 did not replace every record with sex blanked"
    valid "$national"
}

# Issue 17: riverside gets one more continuing client, open since 2017 at RR-NORTH, a start year
# no other client has. Before bottom-coding that was a group of one by year, which year (never
# blankable) could not grow: exit 11 at k_min 5.
case_continuing() {
    local antwerp national line
    clinic_copy clinic_cont clinic_en
    pg_sql clinic_cont <<'SQL'
SET client_min_messages = warning;
INSERT INTO patients (patient_id, national_no, first_name, last_name, dob, postcode, street)
  VALUES (39, NULL, 'Invented', 'Person', '1970-04-02', 'B-2060 Antwerpen', 'Nowhere 1');
INSERT INTO admissions (adm_id, patient_id, site_code, admitted_on, programme, gender, prior_tx,
                        main_substance, route)
  VALUES (126, 39, 'RR-NORTH', '2017-06-12', 'OUTPT', 'M', 'Y', 'METHADONE', 'ORAL');
SQL
    run_setup "$CASE_DIR"
    use_db "$CASE_DIR/tdi.conf" riverside clinic_cont
    body_settings "$CASE_DIR" antwerp 'quasi_identifiers = year' 'k_min = 5'
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    antwerp=$(one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.xml.gz")
    national=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    stdout_has "$(reid_line antwerp year 5 none "$antwerp")"
    # 45 records: 19 of 2025 (12 persons: k 12) and 26 continuing clients (2017, 2020, 2024;
    # 26 persons) all of year 2024
    stdout_has 'disclosure antwerp: blanked none: 45 records in 2 groups by year; k 12 (minimum 5), 0 at risk, highest risk 0.0833, average risk 0.0574; fewest distinct per group: primary_drug 8, injecting 2, hiv_testing 1, hcv_testing 1'
    for body in antwerp national; do
        [ "$body" = antwerp ] && line=$antwerp || line=$national
        episode_of "$body" 126 "$line" | grep -q ' year="2024" entrant="0" continuing="1" ' ||
            fail "$body: episode 126 is not year 2024, continuing: $(episode_of "$body" 126 "$line")"
        # no continuing client keeps another year, no other record has 2024
        [ "$(episode_lines "$line" | grep -c ' continuing="1" ')" = \
            "$(episode_lines "$line" | grep -c ' year="2024" ')" ] || fail "$body: a year 2024 that is not continuing"
        [ "$(episode_lines "$line" | grep -c ' year="20\(1[0-9]\|2[0-3]\)" ')" = 0 ] || fail "$body: a year before 2024"
        valid "$line"
    done
}

# Riverside read incrementally, national grouped by sex and year at k_min 3 (blank_order sex):
# run 1 reaches k 3. The night deletes riverside's episode 8, one of the three persons of the
# group sex 99 / 2025: k 2, a new blanking, which an incremental run may not make (exit 11). The
# nightly check (run_held lists only the persons the night touched, the others are read as sent)
# must give the figures awk computes over run 1's file less that episode, and the very lines of
# the --full run after it (from scratch: every held record grouped), which then blanks sex.
# nightly_first DB: riverside read incrementally from a copy DB of clinic_en, national grouped by
# sex and year at k_min 3 (blank_order sex), and the first run (riverside read in full).
nightly_first() {
    local conf=$CASE_DIR/tdi.conf
    clinic_copy "$1" clinic_en
    incremental_en "$1"
    run_setup "$CASE_DIR"
    use_db "$conf" riverside "$1" 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    body_settings "$CASE_DIR" national 'quasi_identifiers = sex year' 'blank_order = sex' 'k_min = 3'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    stdout_has "$NIGHTLY_FIRST"
}
NIGHTLY_FIRST='disclosure national: blanked none: 62 records in 5 groups by sex year; k 3 (minimum 3), 0 at risk, highest risk 0.3333, average risk 0.0959; fewest distinct per group: primary_drug 3, injecting 1, hiv_testing 1, hcv_testing 1'

case_nightly_delete() {
    local conf=$CASE_DIR/tdi.conf first key line n=0
    nightly_first clinic_reidd
    first=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    key=$(episode_key national riverside 8)
    [ "$(ledger "$CASE_DIR" "SELECT count(DISTINCT person) FROM tdi.sent WHERE body = 'national' AND qi LIKE '99|%|2025|%' AND '$key' IN (SELECT 'e1:' || encode(ekey, 'hex') FROM tdi.sent WHERE body = 'national' AND qi LIKE '99|%|2025|%')")" = 3 ] ||
        fail "episode 8 is not one of three persons of sex 99 in 2025"
    pg_sql clinic_reidd -c "DELETE FROM intake WHERE adm_id = 8" -c "DELETE FROM discharges WHERE adm_id = 8" \
        -c "DELETE FROM admissions WHERE adm_id = 8" >/dev/null
    episode_lines_full "$first" | grep -vF " key=\"$key\" " | gzip >"$CASE_DIR/less8.xml.gz"

    tdi_try "$CASE_DIR/night" 11 run --config "$conf" --year 2025
    grep -q '^source riverside: extracted 0, written 0, quarantined 0 (changed since ' "$CASE_DIR/night.out" ||
        fail "the night did not read riverside incrementally"
    stdout_has "$(reid_line national "sex year" 3 none "$CASE_DIR/less8.xml.gz")"
    stdout_has 'disclosure national: blanked none: 61 records in 5 groups by sex year; k 2 (minimum 3), 2 at risk, highest risk 0.5000, average risk 0.0974; fewest distinct per group: primary_drug 2, injecting 1, hiv_testing 1, hcv_testing 1'
    stderr_has "tdi: error: body national: disclosure control not met at the body's blanking (none): a new blanking changes every record, and source riverside was read incrementally; run 'tdi run --full'"

    tdi_try "$CASE_DIR/full" 0 run --config "$conf" --year 2025 --full
    while IFS= read -r line; do
        n=$((n + 1))
        grep -qxF "$line" "$CASE_DIR/full.out" || fail "the --full run's check differs from the night's: $line"
    done < <(grep '^disclosure national: blanked ' "$CASE_DIR/night.out")
    [ "$n" -ge 1 ] || fail "the night printed no check of national"
    stdout_has 'disclosure national: k reached with sex blanked'
}

# A row sent before migration 2 has no person; read again on a night (De Brug's BH-25-0101: De
# Brug is read in full every run), it is one record, not also one as sent: the night's check is
# run 1's. A database with such a row was migrated from before 2, so it kept no groups of the check
# (migration 9): the night groups every record, and keeps no groups while the row stays as sent.
case_nightly_legacy() {
    local conf=$CASE_DIR/tdi.conf key
    nightly_first clinic_reidl
    key=$(episode_key national debrug BH-25-0101)
    [ "$(ledger "$CASE_DIR" "WITH k AS (DELETE FROM tdi.reid_kept) UPDATE tdi.sent SET person = NULL WHERE body = 'national' AND ekey = decode('${key#e1:}', 'hex') RETURNING 1")" = 1 ] ||
        fail "national holds no episode BH-25-0101"
    tdi_try "$CASE_DIR/night" 0 run --config "$conf" --year 2025
    grep -q '^source riverside: extracted 0, written 0, quarantined 0 (changed since ' "$CASE_DIR/night.out" ||
        fail "the night did not read riverside incrementally"
    stdout_has "$NIGHTLY_FIRST"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.reid_kept")" = 0 ] || fail "groups kept while a row without a person stays"
}

# held_now BODY OUT.xml.gz: the episodes BODY holds after every file of CASE_DIR so far (each
# file's appends and replaces by key, its deletes), defaults spelled out, as one file for reid_line.
held_now() {
    local f
    for f in $(submissions "$CASE_DIR" "$1"); do
        delete_lines "$f" | sed 's/^/D /'
        episode_lines_full "$f" | sed 's/^/E /'
    done | awk '
        { match($0, / key="[^"]*"/); k = substr($0, RSTART, RLENGTH) }
        $1 == "D" { if (k in line) { delete line[k]; n-- } next }
        { if (!(k in line)) { order[++m] = k; n++ } line[k] = substr($0, 3) }
        END { for (i = 1; i <= m; i++) if (order[i] in line) { print line[order[i]]; delete line[order[i]] } }' |
        gzip >"$2"
}

# kept_match MASK QIS: the groups kept for national 2025 are those of tdi.sent grouped by QIS
# (positions of the tuple, SQL), with their records, persons and distinct sensitive codes.
kept_match() {
    local key implied kept d i
    key="concat_ws('|'"
    for i in $2; do key="$key, split_part(qi, '|', $i)"; done
    key="$key)"
    implied="SELECT $key AS g, count(*), count(DISTINCT coalesce(person, eid)),
        nullif(count(DISTINCT nullif(split_part(sens, '|', 1), '')), 0), nullif(count(DISTINCT nullif(split_part(sens, '|', 2), '')), 0),
        nullif(count(DISTINCT nullif(split_part(sens, '|', 3), '')), 0), nullif(count(DISTINCT nullif(split_part(sens, '|', 4), '')), 0)
        FROM tdi.sent WHERE body = 'national' AND year = 2025 GROUP BY 1"
    kept="SELECT gkey, records, persons, d1, d2, d3, d4 FROM tdi.reid_group WHERE body = 'national' AND year = 2025"
    [ "$(ledger "$CASE_DIR" "SELECT mask FROM tdi.reid_kept WHERE body = 'national' AND year = 2025")" = "$1" ] ||
        fail "national: the kept grouping is not $1"
    d=$(ledger "$CASE_DIR" "SELECT count(*) FROM (($kept EXCEPT $implied) UNION ALL ($implied EXCEPT $kept)) d")
    [ "$d" = 0 ] || fail "national: $d kept groups differ from tdi.sent"
    d=$(ledger "$CASE_DIR" "SELECT count(*) FROM ((SELECT gkey, item, code, n FROM tdi.reid_sens WHERE body = 'national' EXCEPT
        SELECT $key, i, split_part(sens, '|', i), count(*) FROM tdi.sent, generate_series(1, 4) i WHERE body = 'national' AND split_part(sens, '|', i) <> '' GROUP BY 1, 2, 3)
        UNION ALL (SELECT $key, i, split_part(sens, '|', i), count(*) FROM tdi.sent, generate_series(1, 4) i WHERE body = 'national' AND split_part(sens, '|', i) <> '' GROUP BY 1, 2, 3
        EXCEPT SELECT gkey, item, code, n FROM tdi.reid_sens WHERE body = 'national')) d")
    [ "$d" = 0 ] || fail "national: $d kept sensitive codes differ from tdi.sent"
}

# night NAME RC [FROM]: a night's run (exit RC) reading riverside incrementally that groups
# national FROM (default: from its kept groups and the run's changes; --verbose says).
night() {
    local from="from its kept groups and the run's changes"
    [ -z "${3:-}" ] || from=$3
    tdi_try "$CASE_DIR/$1" "$2" run --config "$CASE_DIR/tdi.conf" --year 2025 --verbose
    grep -q '^source riverside: extracted [0-9]*, written [0-9]*, quarantined [0-9]* (changed since ' "$CASE_DIR/$1.out" ||
        fail "$1 did not read riverside incrementally"
    grep -qF "state database: body 0 grouped $from" "$CASE_DIR/$1.err" || fail "$1 did not group national $from"
}

case_nightly_kept() {
    local conf=$CASE_DIR/tdi.conf key line n=0
    nightly_first clinic_reidk
    kept_match 17 "1 5"
    # night 1: two episodes change sex (a person of another group; its pseudonym changes too)
    pg_sql clinic_reidk -c "UPDATE admissions SET gender = CASE gender WHEN 'M' THEN 'F' ELSE 'M' END WHERE adm_id IN (3, 5)" >/dev/null
    night night1 0
    grep -q '^body national: ' "$CASE_DIR/night1.out" && ! grep -q '^body national: no changes' "$CASE_DIR/night1.out" ||
        fail "night 1 sent national nothing"
    held_now national "$CASE_DIR/held1.xml.gz"
    stdout_has "$(reid_line national "sex year" 3 none "$CASE_DIR/held1.xml.gz")"
    kept_match 17 "1 5"
    # night 2: episode 8 goes, one of the three persons of sex 99 in 2025: k 2, exit 11
    key=$(episode_key national riverside 8)
    held_now national "$CASE_DIR/held2.xml.gz"
    gzip -dc "$CASE_DIR/held2.xml.gz" | grep -vF " key=\"$key\" " | gzip >"$CASE_DIR/less8.xml.gz"
    pg_sql clinic_reidk -c "DELETE FROM intake WHERE adm_id = 8" -c "DELETE FROM discharges WHERE adm_id = 8" \
        -c "DELETE FROM admissions WHERE adm_id = 8" >/dev/null
    night night2 11
    line=$(reid_line national "sex year" 3 none "$CASE_DIR/less8.xml.gz")
    stdout_has "$line"
    case $line in *"; k 2 (minimum 3), "*) ;; *) fail "night 2 did not take a group under k_min: $line" ;; esac
    kept_match 17 "1 5"
    # --full: every record grouped; the same first line, then sex blanked and kept so
    tdi_try "$CASE_DIR/full" 0 run --config "$conf" --year 2025 --full
    grep -qxF "$line" "$CASE_DIR/full.out" || fail "the --full run's check differs from night 2's"
    stdout_has 'disclosure national: k reached with sex blanked'
    # the check grouped by sex and year first: nothing kept of the grouping by year
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.reid_kept WHERE body = 'national'")" = 0 ] || fail "--full kept a grouping it did not make"
    # night 3: another episode goes; grouped by year alone from every record, then kept
    pg_sql clinic_reidk -c "CREATE TABLE admissions_gone AS SELECT * FROM admissions WHERE adm_id = 4" \
        -c "DELETE FROM intake WHERE adm_id = 4" -c "DELETE FROM discharges WHERE adm_id = 4" \
        -c "DELETE FROM admissions WHERE adm_id = 4" >/dev/null
    night night3 0 'from every record'
    held_now national "$CASE_DIR/held3.xml.gz"
    stdout_has "$(reid_line national year 3 sex "$CASE_DIR/held3.xml.gz")"
    kept_match 16 5
    # night 4: episode 4 again, from the groups night 3 kept
    pg_sql clinic_reidk -c "INSERT INTO admissions SELECT * FROM admissions_gone" \
        -c "UPDATE admissions SET gender = gender WHERE adm_id = 4" >/dev/null
    night night4 0
    held_now national "$CASE_DIR/held4.xml.gz"
    stdout_has "$(reid_line national year 3 sex "$CASE_DIR/held4.xml.gz")"
    kept_match 16 5
}

# masked FILE: FILE (a tables file, or a submission when .xml.gz) without its run id and time.
masked() {
    case $1 in
        *.gz) gzip -dc "$1" ;;
        *) cat "$1" ;;
    esac | sed -E 's/ (runId|generated)="[^"]*"//g'
}

case_blanked_tables() {
    local d n f body spool='tdi: debug: bodies: %s records read back from the spool for the files and tables, %s of them in key order from its sorted runs'
    grep -aq TDI_TEST_TABLES_REREAD "$TDI" || fail "$TDI has no TDI_TEST_TABLES_REREAD hook: run the test build (make check)"
    for d in once twice; do
        run_setup "$CASE_DIR/$d"
        sed -i 's/^suppression_threshold *=.*/suppression_threshold = 1/' "$CASE_DIR/$d/tdi.conf"
        body_settings "$CASE_DIR/$d" national 'quasi_identifiers = sex year' 'blank_order = sex' 'k_min = 5'
    done
    tdi_try "$CASE_DIR/once/run" 0 run --config "$CASE_DIR/once/tdi.conf" --year 2025 --verbose
    TDI_TEST_TABLES_REREAD=1 tdi_try "$CASE_DIR/twice/run" 0 run --config "$CASE_DIR/twice/tdi.conf" --year 2025 --verbose
    for d in once twice; do
        grep -qxF 'disclosure national: k reached with sex blanked' "$CASE_DIR/$d/run.out" || fail "$d: national's sex not blanked"
        grep -qxF 'tdi: debug: delta: a first submission of 2025: the bodies hold nothing of it' "$CASE_DIR/$d/run.err" ||
            fail "$d: not a first submission's pass"
    done
    # the episodes of both bodies' files, counted from the files
    n=$(for f in "$CASE_DIR"/once/out/*/tdi-*-2025-*.xml.gz; do episode_lines "$f"; done | wc -l)
    [ "$n" -gt 100 ] || fail "only $n episodes published"
    # shellcheck disable=SC2059 # the line's format
    # each by a merge of the spool's sorted runs (a read per record costs more), the tables'
    # second read by position
    grep -qxF "$(printf "$spool" "$n" "$n")" "$CASE_DIR/once/run.err" ||
        fail "the first submission read back other than each of its $n records once: $(grep -F 'read back from the spool' "$CASE_DIR/once/run.err")"
    # shellcheck disable=SC2059
    grep -qxF "$(printf "$spool" $((2 * n)) "$n")" "$CASE_DIR/twice/run.err" ||
        fail "the second read did not read back each of the $n records twice: $(grep -F 'read back from the spool' "$CASE_DIR/twice/run.err")"
    for body in national antwerp; do
        grep -qF "tdi: debug: body $body: file written and its tables counted in " "$CASE_DIR/once/run.err" ||
            fail "$body's tables were not counted with its file"
        for f in xml.gz tables.xml; do
            cmp <(masked "$(one_file "$CASE_DIR/once/out/$body/tdi-$body-2025-*.$f")") \
                <(masked "$(one_file "$CASE_DIR/twice/out/$body/tdi-$body-2025-*.$f")") >&2 ||
                fail "$body's $f differs from the second read's"
        done
    done
    # national's file shows sex blanked, its tables count each sex
    f=$(one_file "$CASE_DIR/once/out/national/tdi-national-2025-*.xml.gz")
    [ "$(episode_lines_full "$f" | grep -vc ' sex="99" ' || true)" = 0 ] || fail "a published record keeps its sex"
    table_cells "$(one_file "$CASE_DIR/once/out/national/tdi-national-2025-*.tables.xml")" >"$CASE_DIR/cells"
    [ "$(awk '$1 == "10.1.1" && $2 == "total" && ($3 == "1" || $3 == "2") && $4 > 0' "$CASE_DIR/cells" | wc -l)" = 2 ] ||
        fail "national's table 10.1.1 does not count both sexes: $(grep '^10\.1\.1 total ' "$CASE_DIR/cells")"
}

# A state database of schema 8 (run 1 sent by this tdi, the tables of 9 dropped: what a database of
# 8 holds) migrated to 9 by tdi init: nothing kept, so the next night groups every record and
# keeps the groups, which the night after moves.
case_nightly_migrated() {
    local conf=$CASE_DIR/tdi.conf
    nightly_first clinic_reidm
    ledger "$CASE_DIR" "$STATE_UNDO_AFTER_8; DELETE FROM tdi.schema_version WHERE version > 8" >/dev/null
    tdi_try "$CASE_DIR/init" 0 init --config "$conf"
    stdout_has "state database: schema version 8 -> $STATE_VERSION"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.reid_kept")" = 0 ] || fail "a migrated database keeps groups"
    pg_sql clinic_reidm -c "UPDATE admissions SET gender = CASE gender WHEN 'M' THEN 'F' ELSE 'M' END WHERE adm_id = 3" >/dev/null
    night night1 0 'from every record'
    held_now national "$CASE_DIR/held1.xml.gz"
    stdout_has "$(reid_line national "sex year" 3 none "$CASE_DIR/held1.xml.gz")"
    kept_match 17 "1 5"
    pg_sql clinic_reidm -c "UPDATE admissions SET gender = CASE gender WHEN 'M' THEN 'F' ELSE 'M' END WHERE adm_id = 5" >/dev/null
    night night2 0
    held_now national "$CASE_DIR/held2.xml.gz"
    stdout_has "$(reid_line national "sex year" 3 none "$CASE_DIR/held2.xml.gz")"
    kept_match 17 "1 5"
}

it_case generalised case_generalised
it_case reid-reached case_reached
it_case reid-blanked case_blanked
it_case reid-unreachable case_unreachable
it_case reid-every-blanking case_every_blanking
it_case reid-incremental case_incremental
it_case reid-continuing case_continuing
it_case reid-blanked-tables case_blanked_tables
it_case reid-nightly-delete case_nightly_delete
it_case reid-nightly-legacy case_nightly_legacy
it_case reid-nightly-kept case_nightly_kept
it_case reid-nightly-migrated case_nightly_migrated
it_end
