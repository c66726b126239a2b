#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Real data: the TEDS-A 2017 sample (../shared/realdata/teds-a-2017-sample.csv from the repository
# root: 416 US admissions and 9 empty rows) loaded as a clinic table (examples/teds/), run with
# `tdi run --year 2017` through the shipped TEDS -> TDI crosswalk. The expected figures are
# counted here from the CSV itself with awk and the codebook's meaning of each code, never from
# tdi's output or its crosswalk: episodes by TDI primary drug group and by setting class, the
# residential planned durations, the age groups TEDS cannot place, cocaine split by route
# (smoked: crack 2.2, snorted: powder 2.1, else 2), labour status (from EMPLOY and DETNLF; the
# sample has no EMPLOY: all not known), and the balance extracted 425 = written 416 +
# quarantined 9, the 9 empty rows quarantined with rule R001. One admission with SUB1 = 1
# ("none") is added to the table: the source query leaves it out of scope, so it is neither
# extracted nor unmapped.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

CSV=$TDI_ROOT/../shared/realdata/teds-a-2017-sample.csv
TEDS=$TDI_EXAMPLES/teds
SCHEMA=$TDI_ROOT/schemas/tdi-submission.xsd
RUN=$IT_TMP/run
EXPECT=$IT_TMP/expect

# The figures the run must give, from the CSV. Columns are found by their header names; the
# fields up to the last one used hold no quote in any row (the first quoted field, NAME, comes
# later), so splitting on commas is exact there, and the test checks it.
count_csv() {
    awk -F, '
    function code(v) { sub(/\.0$/, "", v); return v }
    NR == 1 {
        for (i = 1; i <= NF; i++) col[$i] = i
        n = split("CASEID SERVICES SUB1 ROUTE1 AGE DETNLF", need, " ")
        for (k = 1; k <= n; k++) {
            if (!(need[k] in col)) { print "no column " need[k] > "/dev/stderr"; exit 2 }
            if (col[need[k]] > last) last = col[need[k]]
        }
        # SUB1 (codebook) -> TDI primary drug group: 1 opioids, 2 cocaine, 3 other stimulants,
        # 4 hypnotics and sedatives, 5 hallucinogens, 6 inhalants, 7 cannabis, 8 alcohol,
        # 9 other substances, 99 not known (TEDS 19 "other" mixes GHB, ketamine and others).
        split("2:8 3:2 4:7 5:1 6:1 7:1 8:5 9:5 10:3 11:3 12:3 13:4 14:4 15:4 16:4 17:6 18:9 19:99 -9:99", m, " ")
        for (k in m) { split(m[k], kv, ":"); group[kv[1]] = kv[2] }
        # SERVICES -> setting class (residential-typology.md)
        split("1:inpatient_detox 2:inpatient_detox 3:residential_hospital 4:residential_community 5:residential_community 6:outpatient 7:outpatient 8:outpatient", m, " ")
        for (k in m) { split(m[k], kv, ":"); setting[kv[1]] = kv[2] }
        # EMPLOY -> TDI labour status: 1 full time: 2 regularly employed; 2 part time: 99 (regular
        # or occasional); 3 unemployed: 4; 4 not in labour force: by DETNLF (1 homemaker: 5,
        # 2 student: 3, 3 retired/disabled: 5, 4 in an institution: 6, 5 other: 6); else 99
        split("1:2 2:99 3:4 -9:99", m, " ")
        for (k in m) { split(m[k], kv, ":"); employ[kv[1]] = kv[2] }
        split("1:5 2:3 3:5 4:6 5:6 -9:99", m, " ")
        for (k in m) { split(m[k], kv, ":"); detnlf[kv[1]] = kv[2] }
        next
    }
    {
        rows++
        for (i = 1; i <= last; i++)
            if (index($i, "\"")) { print "row " NR ": a quote before column " last > "/dev/stderr"; exit 2 }
        if ($col["CASEID"] == "") { empty++; next }
        s = code($col["SUB1"]); v = code($col["SERVICES"]); a = code($col["AGE"])
        if (!(s in group) || !(v in setting)) { print "row " NR ": SUB1 " s " SERVICES " v > "/dev/stderr"; exit 2 }
        cnt["drug " group[s]]++
        cnt["setting " setting[v]]++
        if (v == 4) cnt["duration short"]++
        if (v == 5) cnt["duration not_known"]++
        if (a == 3 || a == 11 || a == -9) cnt["age_band 99"]++
        if (s == 3) {
            r = code($col["ROUTE1"])
            cnt["cocaine " (r == 2 ? "2.2" : r == 3 ? "2.1" : "2")]++
        }
        e = ("EMPLOY" in col) ? code($col["EMPLOY"]) : ""
        l = e == "" ? 99 : e == 4 ? detnlf[code($col["DETNLF"])] : employ[e]
        cnt["labour_status " (l == "" ? 99 : l)]++
    }
    END {
        for (k in cnt) print k, cnt[k]
        print "rows", rows
        print "empty", empty + 0
    }' "$CSV" | LC_ALL=C sort >"$EXPECT"
}

# The same figures from the published submission.
count_xml() {
    local gz=$1
    episode_lines_full "$gz" | awk '
    function attr(name,   m) {
        if (match($0, " " name "=\"[^\"]*\"")) { m = substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 4); return m }
        return ""
    }
    {
        full = attr("primary_drug"); d = full; sub(/\..*/, "", d)
        cnt["drug " d]++
        if (d == "2") cnt["cocaine " full]++
        cnt["labour_status " attr("labour_status")]++
        cnt["setting " attr("setting")]++
        p = attr("planned_duration")
        if (p != "") cnt["duration " p]++
        if (attr("age_band") == "99") cnt["age_band 99"]++
    }
    END { for (k in cnt) print k, cnt[k] }' | LC_ALL=C sort
}

case_load() {
    [ -r "$CSV" ] || fail "no TEDS sample at $CSV (the repository's ../shared/realdata)"
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS teds" \
        -c "CREATE DATABASE teds TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    pg_sql teds -f "$TEDS/teds_a_2017.sql"
    pg_sql teds -c "\\copy teds_a_2017 FROM '$CSV' WITH (FORMAT csv, HEADER true)"
    pg_sql teds -c "GRANT CONNECT ON DATABASE teds TO $TDI_READER" \
        -c "GRANT SELECT ON teds_a_2017 TO $TDI_READER"
    [ "$(pg_reader_sql teds -c 'SELECT count(*) FROM teds_a_2017')" = 425 ] ||
        fail "teds_a_2017 does not hold the 425 rows of the CSV"
    # An admission with no substance (SUB1 = 1, as the full file has them): out of scope.
    pg_sql teds -c "INSERT INTO teds_a_2017 (caseid, stusab, services, age, sub1, route1)
                    VALUES ('20179999999.0', 'AK', '7.0', '5.0', '1.0', '-9.0')"
}

# teds_run DIR [LINE]: a state database, DIR/tdi.conf from the TEDS template (with the top-level
# setting LINE), the test key, `tdi init` and `tdi run --year 2017`, which must succeed.
teds_run() {
    local dir=$1 db
    mkdir -p "$dir"
    db=$(state_db_name "$dir")
    state_db_create "$db"
    sed -e "s|@PGHOST@|$PGHOST|g" -e "s|@PGPORT@|$PGPORT|g" -e "s|@TEDS_DIR@|$TEDS|g" \
        -e "s|@STATE_DB@|$db|g" "$TEDS/tdi.conf.in" >"$dir/tdi.conf"
    [ -z "${2:-}" ] || top_key "$dir/tdi.conf" "$2"
    cp "$TDI_FIXTURES/test.key" "$dir/tdi.key"
    chmod 600 "$dir/tdi.key"
    tdi_try "$dir/init" 0 init --config "$dir/tdi.conf"
    tdi_try "$dir/run" 0 run --config "$dir/tdi.conf" --year 2017
}

case_run() {
    teds_run "$RUN"
}

case_expected() {
    count_csv
    # what the CSV itself says, before comparing anything with tdi
    grep -qx 'rows 425' "$EXPECT" || fail "the CSV does not hold 425 data rows"
    grep -qx 'empty 9' "$EXPECT" || fail "the CSV does not hold 9 empty rows"
    cp "$EXPECT" "$CASE_DIR/expect"
    [ -z "${TEDS_SHOW:-}" ] || cat "$EXPECT" >&2
}

case_balance() {
    grep -qx 'source teds: extracted 425, written 416, quarantined 9' "$RUN/run.out" ||
        fail "no 'source teds: extracted 425, written 416, quarantined 9' line (got: $(grep '^source teds' "$RUN/run.out"))"
    [ "$(tail -n 1 "$RUN/run.out")" = 'balance: extracted 425 = written 416 + quarantined 9' ] ||
        fail "the summary does not end with the balance 425 = 416 + 9"
}

case_quarantine() {
    local q
    q=$(one_file "$RUN/out/quarantine/quarantine-teds-2017-*.tsv")
    [ "$(tail -n +2 "$q" | wc -l)" = 9 ] || fail "$(tail -n +2 "$q" | wc -l) quarantined rows, expected the 9 empty ones"
    if tail -n +2 "$q" | grep -vqP '^row:[0-9]+\tR001\tepisode_id\tmissing\trequired value missing$'; then
        tail -n +2 "$q" >&2
        fail "a quarantined row is not 'row:N R001 episode_id missing'"
    fi
}

case_counts() {
    local gz
    gz=$(one_file "$RUN/out/us/tdi-us-2017-*.xml.gz")
    grep -v -e '^rows ' -e '^empty ' "$EXPECT" >"$CASE_DIR/want"
    count_xml "$gz" >"$CASE_DIR/got"
    [ "$(grep -c '^drug ' "$CASE_DIR/want")" -ge 8 ] || fail "fewer than 8 drug groups counted from the CSV"
    diff -u "$CASE_DIR/want" "$CASE_DIR/got" >&2 ||
        fail "counts by primary drug group, setting class, planned duration or age group differ (- CSV, + tdi)"
}

case_valid() {
    local gz
    gz=$(one_file "$RUN/out/us/tdi-us-2017-*.xml.gz")
    gzip -dc "$gz" >"$CASE_DIR/us.xml"
    xmllint --noout --nonet --schema "$SCHEMA" "$CASE_DIR/us.xml" 2>"$CASE_DIR/xmllint.err" ||
        { cat "$CASE_DIR/xmllint.err" >&2; fail "xmllint rejects the TEDS submission"; }
    tdi_try "$CASE_DIR/validate" 0 validate "$gz"
}

# Columns TEDS does not have are said once, as not known, and nothing is unmapped.
case_log() {
    local line
    line=$(grep -F 'tdi: info: source teds: ' "$RUN/run.err" || true)
    [ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] || fail "expected one info line about source teds, got: $line"
    [[ $line == *"optional columns not in the source query, not known in every row: birth_date, "* ]] ||
        fail "the info line does not list the missing optional columns: $line"
    # sex, referral_source and labour_status are in the query (GENDER, PSOURCE, EMPLOY of the
    # full file, NULL in the sample): not listed
    [[ $line != *" sex,"* && $line != *"referral_source"* && $line != *"labour_status"* ]] ||
        fail "sex, referral_source or labour_status listed as missing: $line"
    if grep -q '^  unmapped ' "$RUN/run.out"; then
        grep '^  unmapped ' "$RUN/run.out" >&2
        fail "TEDS codes left unmapped by examples/teds/teds.cw"
    fi
}

# The official workbook from the TEDS tables: every number at its cell (test_workbook.sh's check).
case_workbook() {
    local t tables form=$TDI_ROOT/../shared/spec/tdi-workbook-2022.xlsx
    [ -r "$form" ] || form=-
    tables=("$RUN"/out/*/tdi-*-2017-*.tables.xml)
    t=${tables[0]}
    [ -f "$t" ] || fail "no tables file"
    tdi_try "$CASE_DIR/wb" 0 workbook "$t" -o "$CASE_DIR/teds.xlsx"
    /usr/bin/python3 "$TDI_ROOT/tests/integration/workbook_check.py" "$form" \
        "$TDI_ROOT/schemas/tdi-workbook-2022.map" "$t" "$CASE_DIR/teds.xlsx" >"$CASE_DIR/check.out" 2>&1 ||
        { cat "$CASE_DIR/check.out" >&2; fail "the TEDS workbook differs from its tables"; }
}

# TEDS-A has no end_date: the discharge work (tables 40-42, the continuing-clients window) must
# leave its TDI tables as they were. TEDS_TDI_COUNTS is the SHA-256 of the cells of tables 8-29
# (table_cells lines, sorted) of a run with suppression_threshold = 1 (every count shown), made
# by tdi before that work (commit c7f6471, the parent of the merge of h-disch); the same digest
# came from the merge of h-disch itself (963b958).
TEDS_TDI_COUNTS=81a79b697bb5f613dc9a766dde0f03ab1929dab6b49038c226d6a37af6a08440
case_tdi_tables() {
    local dir=$CASE_DIR/open t got
    teds_run "$dir" 'suppression_threshold = 1'
    t=$(one_file "$dir/out/*/tdi-*-2017-*.tables.xml")
    table_cells "$t" | awk '$1 ~ /^([89]|[12][0-9])\./' | LC_ALL=C sort >"$CASE_DIR/cells"
    [ -z "${TEDS_DUMP:-}" ] || cp "$CASE_DIR/cells" "$TEDS_DUMP"
    [ "$(wc -l <"$CASE_DIR/cells")" -ge 1000 ] || fail "fewer than 1000 TDI table cells"
    ! grep -q ' S$' "$CASE_DIR/cells" || fail "threshold 1 suppressed a cell"
    got=$(sha256sum <"$CASE_DIR/cells" | cut -d' ' -f1)
    [ "$got" = "$TEDS_TDI_COUNTS" ] || fail "the TDI tables of the TEDS sample changed: cells digest $got"
    # and no discharge: the outcome tables are all zero or empty
    ! table_cells "$t" | awk '$1 ~ /^4[0-2]\./ && $4 != "0" && $4 != "E"' | grep . >&2 ||
        fail "an outcome table of TEDS-A (no end dates) is not empty"
}

it_case teds-load case_load
it_case teds-run case_run
it_case teds-expected case_expected
it_case teds-balance case_balance
it_case teds-quarantine case_quarantine
it_case teds-counts case_counts
it_case teds-valid case_valid
it_case teds-log case_log
it_case teds-workbook case_workbook
it_case teds-tdi-tables case_tdi_tables
it_end
