#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The TDI counting unit (README.md, "Counting"): one treatment demand per person per year, the
# first start, at each body's counting level (national: once across every centre and clinic;
# regional: once per region; antwerp, the default: once per centre), through the person key of
# the state database, which
# links the clinics; treatment status from earlier years (3 -> 2, rule R018); and the hard case
# of incremental reads: an episode the run does not read changes its entrant flag (a backdated
# episode arrives, then goes), so the run reads that episode again in the snapshot of its read
# (or, where that cannot be done, the source again in full) and sends exactly the replace that
# is due.
#
# The sample clinics: patient 1 of Riverside (episodes 1 at RR-NORTH on 2025-02-10, 11 at
# RR-RESI on 2025-10-07) is BH-25-0101 of De Brug (DB-BRU, 2025-04-15); patient 2 has episodes
# 2 (2025-01-06) and 13 (2025-12-15), both at RR-NORTH.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# entrant_of FILE.xml.gz KEY: the entrant attribute of the episode KEY ("" when not there).
entrant_of() {
    episode_lines "$1" | grep -F " key=\"$2\" " | sed -n 's/.* entrant="\([01]\)".*/\1/p'
}

# expect_entrant FILE BODY SOURCE EPISODE_ID WANT
expect_entrant() {
    local got
    got=$(entrant_of "$1" "$(episode_key "$2" "$3" "$4")")
    [ "$got" = "$5" ] || fail "$2: $3 episode $4 has entrant=\"$got\", expected \"$5\""
}

# status_of FILE BODY SOURCE EPISODE_ID: its treatment_status.
status_of() {
    episode_lines_full "$1" | grep -F " key=\"$(episode_key "$2" "$3" "$4")\" " |
        sed -n 's/.* treatment_status="\([0-9]*\)".*/\1/p'
}

# flags_of FILE: its episode lines cut to action, key and entrant.
flags_of() {
    episode_lines "$1" | sed -E 's/ person=.*entrant=/ entrant=/; s/( entrant="[01]").*/\1/'
}

# nth_submission DIR BODY N: the body's Nth file of 2025 (after exactly N).
nth_submission() {
    local -a files
    mapfile -t files < <(submissions "$1" "$2")
    [ "${#files[@]}" = "$3" ] || fail "$2: ${#files[@]} submissions, expected $3"
    printf '%s\n' "${files[$(($3 - 1))]}"
}

# Both levels in one run of the sample configuration: national counts each person once, antwerp
# once per centre. The state database's person keys give the same counts.
case_levels() {
    local nat ant
    run_setup "$CASE_DIR"
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    nat=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    ant=$(one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.xml.gz")
    gzip -dc "$nat" | grep -E '^<submission .* schemaVersion="2\.5" .* countingLevel="national" ' >/dev/null ||
        fail "national's header does not say schemaVersion 2.5, countingLevel national"
    gzip -dc "$ant" | grep -E '^<submission .* countingLevel="centre" ' >/dev/null || fail "antwerp's header does not say countingLevel centre"
    # the person in both clinics: once nationally (the first start, at Riverside) ...
    expect_entrant "$nat" national riverside 1 1
    expect_entrant "$nat" national debrug BH-25-0101 0
    expect_entrant "$nat" national riverside 11 0
    # ... at each centre in antwerp
    expect_entrant "$ant" antwerp riverside 1 1
    expect_entrant "$ant" antwerp riverside 11 1
    # two starts at one centre: the first of the year
    expect_entrant "$nat" national riverside 2 1
    expect_entrant "$nat" national riverside 13 0
    expect_entrant "$ant" antwerp riverside 2 1
    expect_entrant "$ant" antwerp riverside 13 0
    # the TDI population: patient 3 of Riverside starts for alcohol (episode 3, RR-DETOX), then
    # for amphetamines (17, RR-SOUTH): 17 is her national entrant; De Brug's CL-9902-KD has only
    # an alcohol episode (BH-25-0104): no entrant
    expect_entrant "$nat" national riverside 3 0
    expect_entrant "$nat" national riverside 17 1
    expect_entrant "$nat" national debrug BH-25-0104 0
    expect_entrant "$ant" antwerp riverside 3 0
    expect_entrant "$ant" antwerp riverside 17 1
    [ "$(episode_lines "$nat" | grep -c ' entrant="1" ')" = 18 ] || fail "national: not 18 entrants of 28"
    [ "$(episode_lines "$nat" | grep ' entrant="0" ' | grep -vc ' continuing="1" ')" = 10 ] ||
        fail "national: not 10 later or non-drug starts"
    # the continuing clients (started before 2025, open in it): sent, never entrants
    [ "$(episode_lines "$nat" | grep -c ' continuing="1" ')" = 34 ] || fail "national: not 34 continuing clients"
    [ "$(episode_lines "$nat" | grep ' continuing="1" ' | grep -vc ' entrant="0" ')" = 0 ] ||
        fail "national: a continuing client is an entrant"
    [ "$(episode_lines "$ant" | grep -c ' entrant="1" ')" = 15 ] || fail "antwerp: not 15 entrants of 19"
    # the state counts no continuing client (drug false, as a non-drug episode): 2 + 34 not counted
    [ "$(ledger "$CASE_DIR" "SELECT count(DISTINCT person) FILTER (WHERE drug) || ' ' || count(*) FILTER (WHERE entrant) || ' ' || count(*) FILTER (WHERE NOT drug) FROM tdi.sent WHERE body = 'national'")" = "18 18 36" ] ||
        fail "national: the state's persons with a drug start, entrants and uncounted episodes are not 18, 18 and 36"
    [ "$(ledger "$CASE_DIR" "SELECT count(DISTINCT (person, centre)) FILTER (WHERE drug) || ' ' || count(*) FILTER (WHERE entrant) FROM tdi.sent WHERE body = 'antwerp'")" = "15 15" ] ||
        fail "antwerp: the state's persons per centre with a drug start and entrants are not 15 and 15"
    # the person key is the state's: not a pseudonym of any file
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE octet_length(person) IS DISTINCT FROM 32")" = 0 ] ||
        fail "a person key in the state is not the 32 bytes of p1: and 64 hex digits"
}

# Counting per centre across clinics: De Brug's episode of the shared person moves to a centre
# code Riverside uses too (RR-NORTH); with national counting per centre, it is a later start at
# that centre, so not an entrant; Riverside's RR-RESI episode is, at its centre.
case_shared_centre() {
    local conf=$CASE_DIR/tdi.conf nat
    clinic_copy clinic_shared clinic_nl
    pg_sql clinic_shared -c "UPDATE behandelingen SET locatie = 'RR-NORTH' WHERE behandeling_id = 'BH-25-0101'"
    run_setup "$CASE_DIR"
    use_db "$conf" debrug clinic_shared
    set_body "$conf" national counting centre
    tdi_try "$CASE_DIR/run" 0 run --config "$conf" --year 2025
    nat=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    gzip -dc "$nat" | grep -E '^<submission .* countingLevel="centre" ' >/dev/null || fail "national's header does not say countingLevel centre"
    expect_entrant "$nat" national riverside 1 1
    expect_entrant "$nat" national debrug BH-25-0101 0
    expect_entrant "$nat" national riverside 11 1
    episode_lines "$nat" | grep -F " key=\"$(episode_key national debrug BH-25-0101)\" " | grep -qF ' centre="RR-NORTH" ' ||
        fail "De Brug's episode is not at RR-NORTH"
    # Both on one day: the smaller state key is the entrant, whatever clinic was read first.
    pg_sql clinic_shared -c "UPDATE behandelingen SET startdatum = '2025-02-10' WHERE behandeling_id = 'BH-25-0101'"
    tdi_try "$CASE_DIR/tie" 0 run --config "$conf" --year 2025
    ledger "$CASE_DIR" "SELECT encode(eid, 'hex') || ' e1:' || encode(ekey, 'hex') || ' ' || entrant FROM tdi.sent WHERE body = 'national' AND 'e1:' || encode(ekey, 'hex') IN ('$(episode_key national riverside 1)', '$(episode_key national debrug BH-25-0101)')" |
        LC_ALL=C sort >"$CASE_DIR/tie.sent"
    [ "$(wc -l <"$CASE_DIR/tie.sent")" = 2 ] || fail "the two episodes of the tie are not both sent"
    [ "$(cut -d' ' -f3 "$CASE_DIR/tie.sent" | tr '\n' ' ')" = 'true false ' ] ||
        fail "the tie did not go to the smaller state key: $(cat "$CASE_DIR/tie.sent")"
    nat=$(nth_submission "$CASE_DIR" national 2)
    [ "$(episode_lines "$nat" | grep -c ' entrant=')" -le 2 ] || fail "the tie sent more than the two episodes"
}

# Counting per region: the national body counts once per person and region of the sources; the
# person in both clinics is an entrant in each region (Riverside BE211, De Brug BE100).
case_regional() {
    local conf=$CASE_DIR/tdi.conf nat
    run_setup "$CASE_DIR"
    set_body "$conf" national counting regional
    tdi_try "$CASE_DIR/run" 0 run --config "$conf" --year 2025
    nat=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    gzip -dc "$nat" | grep -E '^<submission .* countingLevel="regional" ' >/dev/null || fail "national's header does not say countingLevel regional"
    expect_entrant "$nat" national riverside 1 1
    expect_entrant "$nat" national riverside 11 0
    expect_entrant "$nat" national debrug BH-25-0101 1
    [ "$(episode_lines "$nat" | grep -c ' entrant="1" ')" = 19 ] || fail "national: not 19 entrants (18 persons with a drug start, one in two regions)"
}

# Earlier years: a run for 2024 first, then 2025. Patient 4 says "never previously treated" in
# 2025 (episode 4) but started at RR-SOUTH on 2024-12-31: kept, warned as R018. Patient 5's status
# is "not known" (episode 5) and she started on 2024-05-02 in this copy: previously treated (2).
case_earlier_year() {
    local conf=$CASE_DIR/tdi.conf nat first n
    clinic_copy clinic_earlier clinic_en
    pg_sql clinic_earlier -c "UPDATE admissions SET admitted_on = '2024-05-02' WHERE adm_id = 22"
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_earlier
    tdi_try "$CASE_DIR/run2024" 0 run --config "$conf" --year 2024
    n=$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE year = 2024 AND body = 'national'")
    # 6 starts of 2024, and the 34 episodes that started in 2024 (or are open in it: 116, 122-125)
    # and are continuing clients in 2025 (De Brug's BH-24-0844 ends in the future: R031)
    [ "$n" = 40 ] || fail "the 2024 run sent $n episodes to national, not 40"
    ! grep -q 'R018' "$CASE_DIR/run2024.out" || fail "R018 in a year without an earlier one"
    tdi_try "$CASE_DIR/run" 0 run --config "$conf" --year 2025
    grep -qxF 'source riverside, against earlier years:' "$CASE_DIR/run.out" || fail "no R018 heading for riverside"
    stdout_has "  rule R018 (warn) never previously treated, but the person started a treatment in an earlier year: kept as given: 1"
    [ "$(grep -c 'R018' "$CASE_DIR/run.out")" = 1 ] || fail "R018 counted for more than one source"
    nat=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    [ "$(status_of "$nat" national riverside 4)" = 1 ] || fail "episode 4: treatment_status is not the source's 1"
    [ "$(status_of "$nat" national riverside 5)" = 2 ] || fail "episode 5: treatment_status 3 did not become 2"
    [ "$(status_of "$nat" national riverside 10)" = 1 ] || fail "episode 10 (no earlier year): treatment_status is not 1"
    # not known without an earlier year stays not known (De Brug's BH-25-0105)
    [ "$(status_of "$nat" national debrug BH-25-0105)" = 3 ] || fail "BH-25-0105: treatment_status is not 3"
    # a rerun changes nothing; a full run into a fresh state database without 2024 sends 3
    tdi_try "$CASE_DIR/again" 0 run --config "$conf" --year 2025
    stdout_has "body national: no changes, nothing published"
    first=$(ledger "$CASE_DIR" "SELECT count(*) FILTER (WHERE earlier) FROM tdi.sent WHERE year = 2025 AND body = 'national'")
    # patients 1 (episodes 1, 11 and BH-25-0101), 4 (episode 4) and 5 (episodes 5, 26), and the
    # 30 continuing clients that started in 2024 (the state knows that start; the five open since
    # 2020 were continuing clients in 2024 too, no start of it). Their records are unchanged.
    [ "$first" = 36 ] || fail "$first national episodes of 2025 are of persons treated in 2024, expected 36"
}

# two_years DB REF: DB a copy of the sample clinics where patient 5 also started in 2024 (episode
# 22); CASE_DIR and REF each a state database that ran 2024 and 2025 with riverside on DB.
two_years() {
    local d
    clinic_copy "$1" clinic_en
    pg_sql "$1" -c "UPDATE admissions SET admitted_on = '2024-05-02' WHERE adm_id = 22"
    run_setup "$CASE_DIR"
    run_setup "$2"
    for d in "$CASE_DIR" "$2"; do
        use_db "$d/tdi.conf" riverside "$1"
        tdi_try "$d/run2024" 0 run --config "$d/tdi.conf" --year 2024
        tdi_try "$d/run2025" 0 run --config "$d/tdi.conf" --year 2025
    done
}

# Migrations 5 and 6 on a database of version 4 that holds two years (case_earlier_year's): the person
# years and the bodies' counts it builds equal what tdi.sent implies, and the next runs act as on a
# database that never lacked them (ref), also when a run of the earlier year takes a person's
# earlier start away (patient 5's 2024 episode 22 goes): her 2025 episodes 5 and 26 are replaced,
# no longer earlier, episode 5's status "not known" again.
case_summary_migration() {
    local conf=$CASE_DIR/tdi.conf ref=$CASE_DIR/ref d f g
    two_years clinic_mig "$ref"
    # back to version 4, rows kept, then tdi init
    state_sql "$(cat "$CASE_DIR/state.db")" "$STATE_UNDO_AFTER_4; DELETE FROM tdi.schema_version WHERE version > 4" >/dev/null
    tdi_try "$CASE_DIR/init5" 0 init --config "$conf"
    stdout_has "state database: schema version 4 -> $STATE_VERSION"
    # 2024: 4 persons with a drug start; 2025: 10 at Riverside and De Brug, the shared patient once
    [ "$(summaries_match "$CASE_DIR")" = "$(summaries_match "$ref")" ] || fail "the migrated summaries differ from ref's"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(year || ':' || c, ' ' ORDER BY year) FROM (SELECT year, count(*) c FROM tdi.person_year WHERE n > 0 GROUP BY year) y")" = "$(ledger "$CASE_DIR" "SELECT string_agg(year || ':' || c, ' ' ORDER BY year) FROM (SELECT year, count(DISTINCT person) c FROM tdi.sent WHERE drug GROUP BY year) y")" ] ||
        fail "the person years per year are not tdi.sent's distinct persons with a drug start"

    pg_sql clinic_mig -c "DELETE FROM intake WHERE adm_id = 22" -c "DELETE FROM admissions WHERE adm_id = 22" >/dev/null
    for d in "$CASE_DIR" "$ref"; do
        tdi_try "$d/again2024" 0 run --config "$d/tdi.conf" --year 2024
        tdi_try "$d/again2025" 0 run --config "$d/tdi.conf" --year 2025
        summaries_match "$d" >/dev/null
    done
    f=$(nth_submission "$CASE_DIR" national 2)
    g=$(nth_submission "$ref" national 2)
    [ "$(episode_lines "$f")" = "$(episode_lines "$g")" ] || fail "the migrated database's 2025 run sent other records than ref's"
    [ "$(episode_lines "$f" | grep -c ' action="replace" ')" = 2 ] || fail "the 2025 run did not replace exactly patient 5's 2 episodes"
    [ "$(status_of "$f" national riverside 5)" = 3 ] || fail "episode 5: treatment_status is not 3 without the earlier year"
    # the same earlier-year flags as the never-migrated database (33 with the sample clinics:
    # patients 1 and 4 and the continuing clients that started in 2024)
    local q="SELECT count(*) FILTER (WHERE earlier) FROM tdi.sent WHERE year = 2025 AND body = 'national'"
    [ "$(ledger "$CASE_DIR" "$q")" = "$(ledger "$ref" "$q")" ] ||
        fail "earlier-year flags of 2025: $(ledger "$CASE_DIR" "$q") migrated, $(ledger "$ref" "$q") never migrated"
    [ "$(ledger "$CASE_DIR" "$q")" = 33 ] || fail "national episodes of 2025 of persons treated in 2024: $(ledger "$CASE_DIR" "$q"), not 33"
}

# Migration 8 on a database of version 7 that holds two years (case_earlier_year's): the keys of
# tdi.sent and tdi.person_year become bytes, every row keeps its values (read back in the text
# form, they equal what version 7 held), a key of another form stops it with nothing changed, and
# the next runs act as on a database that was never at 7 (ref).
case_narrow_migration() {
    local conf=$CASE_DIR/tdi.conf ref=$CASE_DIR/ref d f g before after held
    local q="SELECT body, year, eid, ekey, person, encode(hash, 'hex'), source, sequence, centre, start_ymd, status, drug, entrant, earlier, qi, sens FROM tdi.sent ORDER BY 1, 2, 3"
    local q8="SELECT body, year, 'e1:' || encode(eid, 'hex'), 'e1:' || encode(ekey, 'hex'), 'p1:' || encode(person, 'hex'), encode(hash, 'hex'), source, sequence, centre, start_ymd, status, drug, entrant, earlier, qi, sens FROM tdi.sent ORDER BY 1, 2, 3"
    local types="SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ' ' ORDER BY table_name, column_name) FROM information_schema.columns WHERE table_schema = 'tdi' AND ((table_name = 'sent' AND column_name IN ('eid', 'ekey', 'person')) OR (table_name = 'person_year' AND column_name = 'person'))"
    two_years clinic_narrow "$ref"
    state_sql "$(cat "$CASE_DIR/state.db")" "$STATE_UNDO_AFTER_7; DELETE FROM tdi.schema_version WHERE version > 7" >/dev/null
    before=$(ledger "$CASE_DIR" "$q")
    # per body and year the rows sent (national 2024: case_earlier_year's 40), and the person years
    held=$(ledger "$CASE_DIR" "SELECT string_agg(body || ':' || year || ':' || n, ' ' ORDER BY body, year) FROM (SELECT body, year, count(*) n FROM tdi.sent GROUP BY 1, 2) c")
    held="$held $(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.person_year")"
    [ "$held" = "antwerp:2024:29 antwerp:2025:45 national:2024:40 national:2025:63 52" ] || fail "version 7 holds other rows than the two years' runs sent: $held"
    # a key of another form: the migration stops, nothing changed
    ledger "$CASE_DIR" "UPDATE tdi.sent SET ekey = 'e2:' || substr(ekey, 4) WHERE eid = (SELECT min(eid) FROM tdi.sent)" >/dev/null
    tdi_try "$CASE_DIR/init8bad" 12 init --config "$conf"
    stderr_has "tdi.sent or tdi.person_year holds a key that is not e1:/p1: and lowercase hex"
    [ "$(ledger "$CASE_DIR" "SELECT max(version) FROM tdi.schema_version")" = 7 ] || fail "the refused migration recorded version 8"
    ledger "$CASE_DIR" "UPDATE tdi.sent SET ekey = 'e1:' || substr(ekey, 4) WHERE ekey LIKE 'e2:%'" >/dev/null
    tdi_try "$CASE_DIR/init8" 0 init --config "$conf"
    stdout_has "state database: schema version 7 -> $STATE_VERSION"
    [ "$(ledger "$CASE_DIR" "$types")" = "person_year.person:bytea sent.eid:bytea sent.ekey:bytea sent.person:bytea" ] ||
        fail "the keys are not bytes after migration 8: $(ledger "$CASE_DIR" "$types")"
    after=$(ledger "$CASE_DIR" "$q8")
    [ "$after" = "$before" ] || fail "migration 8 changed what tdi.sent holds"
    [ "$(ledger "$CASE_DIR" "$q8")" = "$(ledger "$ref" "$q8")" ] || fail "the migrated tdi.sent differs from ref's"
    [ "$(summaries_match "$CASE_DIR")" = 52 ] || fail "the migrated person years are not 52"

    # the next runs: patient 5's 2024 start goes (2 replaces in 2025), as in ref
    pg_sql clinic_narrow -c "DELETE FROM intake WHERE adm_id = 22" -c "DELETE FROM admissions WHERE adm_id = 22" >/dev/null
    for d in "$CASE_DIR" "$ref"; do
        tdi_try "$d/again2024" 0 run --config "$d/tdi.conf" --year 2024
        tdi_try "$d/again2025" 0 run --config "$d/tdi.conf" --year 2025
    done
    f=$(nth_submission "$CASE_DIR" national 2)
    g=$(nth_submission "$ref" national 2)
    [ "$(episode_lines "$f")" = "$(episode_lines "$g")" ] || fail "the migrated database's 2025 run sent other records than ref's"
    [ "$(episode_lines "$f" | grep -c ' action="replace" ')" = 2 ] || fail "the 2025 run did not replace exactly patient 5's 2 episodes"
    [ "$(ledger "$CASE_DIR" "$q8")" = "$(ledger "$ref" "$q8")" ] || fail "after the next runs tdi.sent differs from ref's"
}

# year_tables TABLE: tdi's tables whose name starts with TABLE, each as name:relkind.
year_tables() {
    ledger "$CASE_DIR" "SELECT string_agg(c.relname || ':' || c.relkind::text, ' ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tdi' AND c.relname LIKE '$1%' AND c.relkind IN ('r', 'p')"
}

# year_tables_migration DB TABLE FROM Q COUNTS: two_years (DB) taken back to schema version FROM,
# where tdi.TABLE is one table holding COUNTS rows a year ("2024:N 2025:N"), then tdi init:
# TABLE is one table per year, its rows (Q) as before and as in a database never at FROM (ref).
year_tables_migration() {
    local t=$2 from=$3 q=$4 undo=STATE_UNDO_AFTER_$3 before
    two_years "$1" "$CASE_DIR/ref"
    state_sql "$(cat "$CASE_DIR/state.db")" "${!undo}; DELETE FROM tdi.schema_version WHERE version > $from" >/dev/null
    [ "$(year_tables "$t")" = "$t:r" ] || fail "version $from has other tables: $(year_tables "$t")"
    before=$(ledger "$CASE_DIR" "$q")
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(year || ':' || n, ' ' ORDER BY year) FROM (SELECT year, count(*) n FROM tdi.$t GROUP BY 1) c")" = "$5" ] ||
        fail "version $from holds other rows of tdi.$t than the two years' runs made"
    tdi_try "$CASE_DIR/init$((from + 1))" 0 init --config "$CASE_DIR/tdi.conf"
    stdout_has "state database: schema version $from -> $STATE_VERSION"
    [ "$(year_tables "$t")" = "$t:p ${t}_2024:r ${t}_2025:r" ] ||
        fail "tdi.$t is not one table per year after migration $((from + 1)): $(year_tables "$t")"
    [ "$(ledger "$CASE_DIR" "$q")" = "$before" ] || fail "migration $((from + 1)) changed what tdi.$t holds"
    [ "$(ledger "$CASE_DIR" "$q")" = "$(ledger "$CASE_DIR/ref" "$q")" ] || fail "the migrated tdi.$t differs from ref's"
}

# Migration 11 on a database of version 10 that holds two years (case_earlier_year's): tdi.sent
# becomes one table per year, every row as it was, and the next runs act as on a database that
# was never at 10 (ref). On a night (riverside incremental) patient 5's 2025 episode 5 changes:
# the night reads that row and the 2025 table only, and the replace keeps her earlier start,
# whose row is in the 2024 table (treatment_status 2, not 3). A run of 2026 makes its table.
case_by_year_migration() {
    local conf=$CASE_DIR/tdi.conf ref=$CASE_DIR/ref d f g
    local q="SELECT body, year, eid, ekey, person, encode(hash, 'hex'), source, sequence, centre, start_ymd, status, drug, entrant, earlier, qi, sens FROM tdi.sent ORDER BY 1, 2, 3"
    year_tables_migration clinic_byyear sent 10 "$q" "2024:69 2025:108"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent_2024 WHERE year <> 2024")" = 0 ] || fail "tdi.sent_2024 holds rows of another year"

    incremental_en clinic_byyear
    for d in "$CASE_DIR" "$ref"; do
        use_db "$d/tdi.conf" riverside clinic_byyear 'SELECT * FROM tdi_episodes_inc'
        set_source "$d/tdi.conf" riverside incremental changed_at
        top_key "$d/tdi.conf" 'incremental_overlap = 0'
        tdi_try "$d/first" 0 run --config "$d/tdi.conf" --year 2025
    done
    pg_sql clinic_byyear -c "UPDATE admissions SET route = CASE route WHEN 'SMOKE' THEN 'ORAL' ELSE 'SMOKE' END WHERE adm_id = 5" >/dev/null
    for d in "$CASE_DIR" "$ref"; do
        tdi_try "$d/night" 0 run --config "$d/tdi.conf" --year 2025
        grep -qE '^source riverside: extracted 1, written 1, quarantined 0 \(changed since ' "$d/night.out" ||
            fail "the night did not read exactly episode 5 of riverside: $(grep '^source riverside' "$d/night.out")"
    done
    f=$(nth_submission "$CASE_DIR" national 2)
    g=$(nth_submission "$ref" national 2)
    [ "$(replace_lines "$f" | grep -c .)" = 1 ] && [ "$(episode_lines "$f" | grep -cvF ' action="replace" ')" = 0 ] ||
        fail "the night did not send exactly one replace"
    [ "$(status_of "$f" national riverside 5)" = 2 ] || fail "episode 5: treatment_status is not 2 (the 2024 start not found)"
    [ "$(episode_lines "$f")" = "$(episode_lines "$g")" ] || fail "the migrated database's night sent other records than ref's"
    [ "$(ledger "$CASE_DIR" "$q")" = "$(ledger "$ref" "$q")" ] || fail "after the night tdi.sent differs from ref's"
    tdi_try "$CASE_DIR/run2026" 0 run --config "$conf" --year 2026
    [ "$(year_tables sent)" = "sent:p sent_2024:r sent_2025:r sent_2026:r" ] ||
        fail "the run of 2026 did not make its table: $(year_tables sent)"
}

# Migration 12 on a database of version 11 that holds two years (case_earlier_year's):
# tdi.person_year becomes one table per year, every row as it was, as in a database that was never
# at 11 (ref); a run of 2026 makes its table with tdi.sent's; and a year of tdi.sent dropped as
# docs/operations.md says (Housekeeping) still counts as treated before: a 2025 run in full
# after it changes nothing, the same 36 national episodes of 2025 earlier.
case_person_year_migration() {
    local conf=$CASE_DIR/tdi.conf
    local earlier="SELECT count(*) FILTER (WHERE earlier) FROM tdi.sent WHERE year = 2025 AND body = 'national'"
    year_tables_migration clinic_pyyear person_year 11 "SELECT encode(person, 'hex'), year, n FROM tdi.person_year ORDER BY 1, 2" "2024:34 2025:18"
    [ "$(summaries_match "$CASE_DIR")" = 52 ] || fail "the migrated person years are not 52"
    tdi_try "$CASE_DIR/run2026" 0 run --config "$conf" --year 2026
    [ "$(year_tables person_year)" = "person_year:p person_year_2024:r person_year_2025:r person_year_2026:r" ] ||
        fail "the run of 2026 did not make its table: $(year_tables person_year)"

    # 36: the national episodes of 2025 whose person has a start for a drug in 2024's tdi.sent
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent s WHERE year = 2025 AND body = 'national' AND EXISTS (SELECT 1 FROM tdi.sent p WHERE p.person = s.person AND p.year = 2024 AND p.drug)")" = 36 ] &&
        [ "$(ledger "$CASE_DIR" "$earlier")" = 36 ] || fail "national episodes of 2025 of persons treated in 2024: $(ledger "$CASE_DIR" "$earlier"), not 36"
    ledger "$CASE_DIR" "DROP TABLE tdi.sent_2024" >/dev/null
    tdi_try "$CASE_DIR/full2025" 0 run --config "$conf" --year 2025 --full
    stdout_has "body national: no changes, nothing published"
    [ "$(ledger "$CASE_DIR" "$earlier")" = 36 ] || fail "after 2024 of tdi.sent was dropped, 2025 has $(ledger "$CASE_DIR" "$earlier") national episodes earlier, not 36"
}

# flip_setup DIR DB: DIR's state database and config with riverside (DB, a copy of the sample
# clinic, incremental, overlap 0) and its first run, DIR/run1.
flip_setup() {
    local conf=$1/tdi.conf
    run_setup "$1"
    use_db "$conf" riverside "$2" 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$1/run1" 0 run --config "$conf" --year 2025
}

# flip_arrives DB: the backdated episode 27 of patient 2 (RR-NORTH, 2025-01-02) arrives in DB.
flip_arrives() {
    pg_sql "$1" -c "INSERT INTO admissions (adm_id, patient_id, site_code, admitted_on, programme, gender, prior_tx, main_substance, route) VALUES (27, 2, 'RR-NORTH', '2025-01-02', 'OUTPT', 'M', 'N', 'CANNABIS', 'SMOKE')" >/dev/null
}

# The hard case. Riverside reads incrementally. A backdated episode of patient 2 arrives (RR-NORTH,
# 2025-01-02): it is the first start now, and episode 2, unchanged and not read, stops being the
# entrant. The run reads episode 2 again in the snapshot of its incremental read (one row, not the
# source in full) and each body gets exactly an append of the new episode (entrant 1) and a
# replace of episode 2 (entrant 0). When the new episode goes again, each body gets its delete
# and a replace of episode 2 (entrant 1). What the bodies hold is then what one full run sends,
# entrant flags included.
case_flip() {
    local conf=$CASE_DIR/tdi.conf body f new old
    clinic_copy clinic_flip clinic_en
    incremental_en clinic_flip
    flip_setup "$CASE_DIR" clinic_flip

    flip_arrives clinic_flip
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    grep -qE '^source riverside: extracted 1, written 1, quarantined 0 \(changed since ' "$CASE_DIR/run2.out" ||
        fail "run 2 did not first read riverside incrementally"
    stdout_has "source riverside: the counting of 1 episode not read this run changed: reading it again in the same snapshot"
    stdout_has "source riverside: read again 1, written 1, quarantined 0 (the same snapshot)"
    ! grep -q 'reading it in full' "$CASE_DIR/run2.out" || fail "run 2 read riverside again in full"
    # debrug 30 = 22 + 8, riverside 1 + 1 read again
    stdout_has "balance: extracted 32 = written 24 + quarantined 8"
    [ "$(ledger "$CASE_DIR" "SELECT mode || ' ' || extracted FROM tdi.run_source WHERE source = 'riverside' ORDER BY run_no DESC LIMIT 1")" = "incremental 2" ] ||
        fail "the ledger does not say riverside was read incrementally, 2 rows"
    for body in national antwerp; do
        new=$(episode_key "$body" riverside 27)
        old=$(episode_key "$body" riverside 2)
        f=$(nth_submission "$CASE_DIR" "$body" 2)
        valid_both "$f"
        flags_of "$f" >"$CASE_DIR/$body.2"
        printf '%s\n' "<episode action=\"replace\" key=\"$old\" entrant=\"0\"" "<episode key=\"$new\" entrant=\"1\"" |
            LC_ALL=C sort >"$CASE_DIR/$body.2.want"
        LC_ALL=C sort "$CASE_DIR/$body.2" | diff "$CASE_DIR/$body.2.want" - >&2 ||
            fail "$body: run 2 did not send exactly the append of episode 27 and the replace of episode 2"
        [ -z "$(delete_lines "$f")" ] || fail "$body: run 2 deletes something"
    done

    pg_sql clinic_flip -c "DELETE FROM admissions WHERE adm_id = 27"
    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025
    stdout_has "source riverside: the counting of 1 episode not read this run changed: reading it again in the same snapshot"
    for body in national antwerp; do
        new=$(episode_key "$body" riverside 27)
        old=$(episode_key "$body" riverside 2)
        f=$(nth_submission "$CASE_DIR" "$body" 3)
        valid_both "$f"
        [ "$(flags_of "$f")" = "<episode action=\"replace\" key=\"$old\" entrant=\"1\"" ] ||
            fail "$body: run 3 did not send exactly the replace of episode 2 as the entrant"
        [ "$(delete_lines "$f")" = "<delete key=\"$new\"/>" ] || fail "$body: run 3's deletes are '$(delete_lines "$f")'"
    done
    tdi_try "$CASE_DIR/run4" 0 run --config "$conf" --year 2025
    ! grep -q 'reading it in full' "$CASE_DIR/run4.out" || fail "run 4 read riverside again with nothing changed"
    stdout_has "body national: no changes, nothing published"
    summaries_match "$CASE_DIR" >/dev/null

    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

# A nightly run ranks only the persons it touches, unless what the ranking depends on besides the
# records changed. Riverside reads incrementally; patient 2's episode 13 is at RR-RESI in this
# copy (episode 2 at RR-NORTH), so with national counting per centre it becomes an entrant too,
# though no row of patient 2 changed: the run after the level changed ranks the whole year.
case_level_change() {
    local conf=$CASE_DIR/tdi.conf f
    clinic_copy clinic_level clinic_en
    incremental_en clinic_level
    pg_sql clinic_level -c "UPDATE admissions SET site_code = 'RR-RESI' WHERE adm_id = 13" >/dev/null
    flip_setup "$CASE_DIR" clinic_level
    f=$(nth_submission "$CASE_DIR" national 1)
    expect_entrant "$f" national riverside 13 0
    set_body "$conf" national counting centre
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    ! grep -q 'riverside: its crosswalk, query, the columns the query yields, routing or key changed' "$CASE_DIR/run2.err" ||
        fail "the level's change made riverside read in full: the case tests nothing"
    f=$(nth_submission "$CASE_DIR" national 2)
    expect_entrant "$f" national riverside 13 1
    [ "$(replace_lines "$f" | grep -cF " key=\"$(episode_key national riverside 13)\" ")" = 1 ] ||
        fail "episode 13 is not replaced"
    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

# earlier_taken_away DB: DIR's (CASE_DIR) runs of 2024 and 2025 with riverside (DB, a copy of the
# sample clinic, incremental) where patient 5 (riverside only, episodes 5 and 26 in 2025) started
# on 2024-05-02; then that episode goes and 2024 is run again.
earlier_taken_away() {
    local conf=$CASE_DIR/tdi.conf f
    clinic_copy "$1" clinic_en
    incremental_en "$1"
    pg_sql "$1" -c "UPDATE admissions SET admitted_on = '2024-05-02' WHERE adm_id = 22" \
        -c "INSERT INTO discharges VALUES (22, '2024-06-30', 'COMPL', 'NONE')" >/dev/null
    run_setup "$CASE_DIR"
    use_db "$conf" riverside "$1" 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run2024" 0 run --config "$conf" --year 2024
    tdi_try "$CASE_DIR/run2025" 0 run --config "$conf" --year 2025
    f=$(nth_submission "$CASE_DIR" national 1)
    [ "$(status_of "$f" national riverside 5)" = 2 ] || fail "episode 5: treatment_status 3 did not become 2"
    pg_sql "$1" -c "DELETE FROM intake WHERE adm_id = 22" -c "DELETE FROM discharges WHERE adm_id = 22" \
        -c "DELETE FROM admissions WHERE adm_id = 22" >/dev/null
    tdi_try "$CASE_DIR/again2024" 0 run --config "$conf" --year 2024
}

# no_longer_earlier: after earlier_taken_away, the 2025 run (again2025) replaced patient 5's two
# episodes, no longer earlier (episode 5's status "not known" again), and every row of 2025 is
# earlier exactly when tdi.person_year (checked against tdi.sent) says so.
no_longer_earlier() {
    local f
    f=$(nth_submission "$CASE_DIR" national 2)
    [ "$(replace_lines "$f" | wc -l)" = 2 ] || fail "the 2025 run did not replace exactly patient 5's 2 episodes"
    [ -z "$(delete_lines "$f")" ] || fail "the 2025 run deletes something: patient 5 was touched"
    [ "$(status_of "$f" national riverside 5)" = 3 ] || fail "episode 5: treatment_status is not 3 without the earlier year"
    summaries_match "$CASE_DIR" >/dev/null
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent s WHERE year = 2025 AND earlier IS DISTINCT FROM EXISTS (SELECT 1 FROM tdi.person_year p WHERE p.person = s.person AND p.year < 2025 AND p.n > 0)")" = 0 ] ||
        fail "rows of 2025 whose earlier flag is not what the person years say"
}

# The same when a run of an earlier year takes a person's earlier start away after the year's last
# file (earlier_taken_away): the next nightly run of 2025 reads no row of patient 5, yet replaces
# both her episodes, no longer earlier.
case_earlier_year_nightly() {
    earlier_taken_away clinic_night
    tdi_try "$CASE_DIR/again2025" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    grep -qE '^source riverside: extracted 0, ' "$CASE_DIR/again2025.out" ||
        fail "the 2025 run did not read riverside incrementally, nothing changed"
    no_longer_earlier
}

# The same when the night also reads a row of patient 5 (episode 5's route changes): a touched
# person's earlier flag as sent (her episode 26, kept, and episode 5's row as sent) is not taken
# for hers after a run of an earlier year (st_pass.c: EARLIER_AS_SENT).
case_earlier_year_touched() {
    earlier_taken_away clinic_touched
    pg_sql clinic_touched -c "UPDATE admissions SET route = CASE route WHEN 'SMOKE' THEN 'ORAL' ELSE 'SMOKE' END WHERE adm_id = 5" >/dev/null
    tdi_try "$CASE_DIR/again2025" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    grep -qE '^source riverside: extracted 1, ' "$CASE_DIR/again2025.out" ||
        fail "the 2025 run did not read riverside incrementally, episode 5 only"
    no_longer_earlier
}

# A source taken out of the config: its episodes are gone from every body at the next run, also
# a nightly one (riverside read incrementally: the pass lists only the touched persons, here De
# Brug's, and finds the source's rows by its name missing from the run's sources).
case_source_removed() {
    local conf=$CASE_DIR/tdi.conf held
    clinic_copy clinic_nodebrug clinic_en
    incremental_en clinic_nodebrug
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_nodebrug 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    held=$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE body = 'national' AND source = 'debrug'")
    [ "$held" -gt 0 ] || fail "national holds nothing of debrug"
    awk '/^\[/ { skip = $0 == "[source debrug]" } !skip' "$conf" >"$conf.new"
    mv "$conf.new" "$conf"
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    grep -q '^source riverside: extracted 0, ' "$CASE_DIR/run2.out" || fail "run 2 did not read riverside incrementally"
    grep -q "^body national: 0 records, 0 replaces, $held deletes, " "$CASE_DIR/run2.out" ||
        fail "run 2: $(grep '^body national' "$CASE_DIR/run2.out"), not $held deletes"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE source = 'debrug'")" = 0 ] ||
        fail "the state database still holds debrug's episodes"
    summaries_match "$CASE_DIR" >/dev/null
}

# body_file GZ: a submission without what names its run (run id, time): what is left must be
# the same whichever way the run read its rows.
body_file() {
    gzip -dc "$1" | sed -E 's/ (runId|generated)="[^"]*"//g'
}

# flip_pair HOOK DB A B: the test build's HOOK is there; DB is a copy of the sample clinic read
# incrementally, and flip_setup of it made CASE_DIR/A and CASE_DIR/B (two state databases, one key).
flip_pair() {
    grep -aq "$1" "$TDI" || fail "$TDI has no $1 hook: run the test build (make check)"
    clinic_copy "$2" clinic_en
    incremental_en "$2"
    flip_setup "$CASE_DIR/$3" "$2"
    flip_setup "$CASE_DIR/$4" "$2"
}

# case_flip's runs, once reading episode 2 again in the snapshot and once with the run made to
# read riverside again in full as before (TDI_TEST_REREAD_FULL, the test build), into two state
# databases with the same key: every file of each body is the same byte for byte but for the
# run's id and time, and so is what the bodies hold.
case_flip_same_as_full() {
    local d body n
    local -a a b
    flip_pair TDI_TEST_REREAD_FULL clinic_same snap full
    flip_arrives clinic_same
    tdi_try "$CASE_DIR/snap/run2" 0 run --config "$CASE_DIR/snap/tdi.conf" --year 2025
    stdout_has "source riverside: read again 1, written 1, quarantined 0 (the same snapshot)"
    TDI_TEST_REREAD_FULL=1 tdi_try "$CASE_DIR/full/run2" 0 run --config "$CASE_DIR/full/tdi.conf" --year 2025
    stdout_has "source riverside: the counting of episodes not read this run changed: reading it in full"
    grep -qxF 'tdi: info: source riverside: episodes whose counting changed cannot be read again in the same snapshot (TDI_TEST_REREAD_FULL is set)' "$CASE_DIR/full/run2.err" ||
        fail "the full re-read does not say why: $(cat "$CASE_DIR/full/run2.err")"
    pg_sql clinic_same -c "DELETE FROM admissions WHERE adm_id = 27" >/dev/null
    tdi_try "$CASE_DIR/snap/run3" 0 run --config "$CASE_DIR/snap/tdi.conf" --year 2025
    TDI_TEST_REREAD_FULL=1 tdi_try "$CASE_DIR/full/run3" 0 run --config "$CASE_DIR/full/tdi.conf" --year 2025
    for body in national antwerp; do
        mapfile -t a < <(submissions "$CASE_DIR/snap" "$body")
        mapfile -t b < <(submissions "$CASE_DIR/full" "$body")
        [ "${#a[@]}" = 3 ] && [ "${#b[@]}" = 3 ] || fail "$body: ${#a[@]} and ${#b[@]} files, expected 3 each"
        for n in 0 1 2; do
            cmp <(body_file "${a[n]}") <(body_file "${b[n]}") >&2 ||
                fail "$body: file $((n + 1)) differs between reading again in the snapshot and in full"
        done
        [ "$(replace_lines "${a[1]}" | wc -l)" = 1 ] || fail "$body: run 2 did not replace exactly one episode"
    done
    [ "$(ledger "$CASE_DIR/snap" "SELECT body, ekey, encode(hash, 'hex'), entrant, earlier FROM tdi.sent ORDER BY 1, 2")" = \
        "$(ledger "$CASE_DIR/full" "SELECT body, ekey, encode(hash, 'hex'), entrant, earlier FROM tdi.sent ORDER BY 1, 2")" ] ||
        fail "the bodies hold other records after reading again in the snapshot than in full"
}

# outputs_of DIR [GLOB]: the files DIR's runs published (submissions, manifests, tables,
# quarantine; GLOB: those whose names match), in the order of their run ids, each as its content
# (gzip undone) without what names its run: run ids, run numbers (a run id taken in the same
# second takes the next number), times, the hashes of the files (which hold the run id). The run
# page and the workbook (made from the tables file) are left out: they hold durations and times.
outputs_of() {
    local f mask='s/[0-9]{8}T[0-9]{6}Z/RUN/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+Z?/TIME/g; s/"sha256":"[0-9a-f]+"/"sha256":"HASH"/g; s/("runNo":|runNo=")[0-9]+/\1N/g'
    (cd "$1/out" && find . -type f -name "${2:-*}" ! -name '*.html' ! -name '*.xlsx' | LC_ALL=C sort) | while read -r f; do
        printf '== %s\n' "$f" | sed -E "$mask"
        case $f in *.gz) gzip -dc "$1/out/$f" ;; *) cat "$1/out/$f" ;; esac | sed -E "$mask"
    done
}

# same_outputs A B [GLOB]: A's and B's runs published the same files (outputs_of), and their
# state databases hold the same rows sent and person years, every column but the file's sequence.
same_outputs() {
    local q
    diff <(outputs_of "$1" "${3:-*}") <(outputs_of "$2" "${3:-*}") >&2 || fail "$(basename "$1") and $(basename "$2") published other files"
    for q in "SELECT body, year, eid, ekey, source, encode(hash, 'hex'), person, centre, start_ymd, status, drug, entrant, earlier, qi, sens FROM tdi.sent ORDER BY 1, 2, 3" \
        "SELECT person, year, n FROM tdi.person_year ORDER BY 1, 2"; do
        [ "$(ledger "$1" "$q" | md5sum)" = "$(ledger "$2" "$q" | md5sum)" ] ||
            fail "$(basename "$1") and $(basename "$2") differ in: $q"
    done
}

# case_flip's nights with episode 2 read again as it was sent: the run patches its first pass
# (--verbose says so) rather than computing it again; the same nights with the pass computed
# again (TDI_TEST_SECOND_PASS_FULL, the test build), in a state database with the same key, publish
# the same files and leave the same rows sent and person years.
case_flip_patched() {
    local -a files
    local d n patched='tdi: debug: delta: the episodes read again are as the bodies were sent them: the pass patched, not computed again'
    flip_pair TDI_TEST_SECOND_PASS_FULL clinic_patch patch full
    flip_arrives clinic_patch
    for n in 2 3; do
        tdi_try "$CASE_DIR/patch/run$n" 0 run --config "$CASE_DIR/patch/tdi.conf" --year 2025 --verbose
        stdout_has "source riverside: read again 1, written 1, quarantined 0 (the same snapshot)"
        grep -qxF "$patched" "$CASE_DIR/patch/run$n.err" || fail "run $n did not patch its pass: $(grep -F 'delta:' "$CASE_DIR/patch/run$n.err")"
        TDI_TEST_SECOND_PASS_FULL=1 tdi_try "$CASE_DIR/full/run$n" 0 run --config "$CASE_DIR/full/tdi.conf" --year 2025 --verbose
        stdout_has "source riverside: read again 1, written 1, quarantined 0 (the same snapshot)"
        grep -qxF 'tdi: debug: delta: the pass computed again (TDI_TEST_SECOND_PASS_FULL is set)' "$CASE_DIR/full/run$n.err" ||
            fail "run $n did not compute its pass again: $(grep -F 'delta:' "$CASE_DIR/full/run$n.err")"
        pg_sql clinic_patch -c "DELETE FROM admissions WHERE adm_id = 27" >/dev/null
    done
    for d in national antwerp; do
        mapfile -t files < <(submissions "$CASE_DIR/patch" "$d")
        [ "${#files[@]}" = 3 ] || fail "$d: ${#files[@]} files, expected 3"
        [ "$(flags_of "${files[1]}" | LC_ALL=C sort)" = "$(printf '%s\n' "<episode action=\"replace\" key=\"$(episode_key "$d" riverside 2)\" entrant=\"0\"" "<episode key=\"$(episode_key "$d" riverside 27)\" entrant=\"1\"" | LC_ALL=C sort)" ] ||
            fail "$d: run 2 did not send exactly the append of episode 27 and the replace of episode 2"
    done
    same_outputs "$CASE_DIR/patch" "$CASE_DIR/full"
    summaries_match "$CASE_DIR/patch" >/dev/null
}

# The episode read again is not what the bodies were sent: episode 2 moved to 2025-01-01, before
# episode 27's start, without moving the watermark (the trigger off), then episode 27 arrives. The
# run's first pass takes episode 2 as sent (a later start) and finds its counting changed; read
# again it differs, so the pass is computed again (--verbose says so) and episode 2 stays the
# entrant (a replace: its content changed) while episode 27 is appended as not the entrant, as
# when the run reads riverside in full (TDI_TEST_REREAD_FULL), whose files and rows it equals.
case_flip_reread_differs() {
    local d f
    flip_pair TDI_TEST_REREAD_FULL clinic_differ snap full
    pg_sql clinic_differ -c "ALTER TABLE admissions DISABLE TRIGGER touch" \
        -c "UPDATE admissions SET admitted_on = '2025-01-01' WHERE adm_id = 2" \
        -c "ALTER TABLE admissions ENABLE TRIGGER touch" >/dev/null
    flip_arrives clinic_differ
    tdi_try "$CASE_DIR/snap/run2" 0 run --config "$CASE_DIR/snap/tdi.conf" --year 2025 --verbose
    stdout_has "source riverside: read again 1, written 1, quarantined 0 (the same snapshot)"
    grep -qxF 'tdi: debug: delta: the pass computed again (2 records read again differ from what the bodies were sent)' "$CASE_DIR/snap/run2.err" ||
        fail "the pass was not computed again: $(grep -F 'delta:' "$CASE_DIR/snap/run2.err")"
    TDI_TEST_REREAD_FULL=1 tdi_try "$CASE_DIR/full/run2" 0 run --config "$CASE_DIR/full/tdi.conf" --year 2025
    stdout_has "source riverside: the counting of episodes not read this run changed: reading it in full"
    for d in national antwerp; do
        f=$(nth_submission "$CASE_DIR/snap" "$d" 2)
        valid_both "$f"
        [ "$(flags_of "$f" | LC_ALL=C sort)" = "$(printf '%s\n' "<episode action=\"replace\" key=\"$(episode_key "$d" riverside 2)\" entrant=\"1\"" "<episode key=\"$(episode_key "$d" riverside 27)\" entrant=\"0\"" | LC_ALL=C sort)" ] ||
            fail "$d: run 2 did not send the replace of episode 2 as the entrant and episode 27 as not: $(flags_of "$f")"
    done
    # the full read also publishes the tables and another quarantine file: the submissions only
    same_outputs "$CASE_DIR/snap" "$CASE_DIR/full" 'tdi-*.xml.gz'
    same_as_full_run "$CASE_DIR/snap" "encode(hash, 'hex'), entrant, earlier"
}

# The snapshot of riverside's incremental read is gone when the run wants episode 2 again
# (debrug, read after it one source at a time, ends riverside's session as it is read): the run
# says so and reads riverside in full, a new snapshot, and the bodies get what case_flip's get.
case_flip_snapshot_lost() {
    local conf=$CASE_DIR/tdi.conf body f
    clinic_copy clinic_lost clinic_en
    incremental_en clinic_lost
    flip_setup "$CASE_DIR" clinic_lost
    top_key "$conf" 'max_parallel_sources = 1'
    set_source "$conf" debrug query "SELECT * FROM tdi_episodes WHERE (SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = 'clinic_lost' AND state = 'idle in transaction') >= 0"
    flip_arrives clinic_lost
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    stdout_has "source riverside: the counting of 1 episode not read this run changed: reading it again in the same snapshot"
    grep -qxF 'tdi: info: source riverside: episodes whose counting changed cannot be read again in the same snapshot (the source failed)' "$CASE_DIR/run2.err" ||
        fail "the run does not say why it reads riverside in full: $(cat "$CASE_DIR/run2.err")"
    stdout_has "source riverside: the counting of episodes not read this run changed: reading it in full"
    stdout_has "source riverside: extracted 48, written 41, quarantined 7"
    stdout_has "balance: extracted 78 = written 63 + quarantined 15"
    [ "$(ledger "$CASE_DIR" "SELECT mode FROM tdi.run_source WHERE source = 'riverside' ORDER BY run_no DESC LIMIT 1")" = full ] ||
        fail "the ledger does not say riverside was read in full"
    for body in national antwerp; do
        f=$(nth_submission "$CASE_DIR" "$body" 2)
        printf '%s\n' "<episode action=\"replace\" key=\"$(episode_key "$body" riverside 2)\" entrant=\"0\"" "<episode key=\"$(episode_key "$body" riverside 27)\" entrant=\"1\"" |
            LC_ALL=C sort >"$CASE_DIR/$body.want"
        flags_of "$f" | LC_ALL=C sort | diff "$CASE_DIR/$body.want" - >&2 ||
            fail "$body: run 2 did not send exactly the append of episode 27 and the replace of episode 2"
    done
}

# ---- the TDI population (README.md, "Counting"): a treatment entrant is the first start *for a
# drug*. Patient 3 has two episodes of 2025, moved to one centre (RR-DETOX): episode 3
# (2025-03-21) and episode 17 (2025-07-01). Antwerp counts per centre, national at LEVEL.

# population_run LEVEL SUBSTANCE3 SUBSTANCE17: the run of the sample clinics with those main
# substances, into $CASE_DIR/LEVEL (the national file in $NAT, antwerp's in $ANT).
population_run() {
    local dir=$CASE_DIR/$1
    clinic_copy clinic_pop clinic_en
    pg_sql clinic_pop -c "UPDATE admissions SET site_code = 'RR-DETOX', main_substance = CASE adm_id WHEN 3 THEN '$2' ELSE '$3' END WHERE adm_id IN (3, 17)" >/dev/null
    run_setup "$dir"
    use_db "$dir/tdi.conf" riverside clinic_pop
    set_body "$dir/tdi.conf" national counting "$1"
    # Counts, not their protection, are tested here: no cell is suppressed (threshold 1), so the
    # grand total is there to compare (under threshold 5 a grand total can be withheld too).
    sed -i 's/^suppression_threshold.*/suppression_threshold = 1/' "$dir/tdi.conf"
    tdi_try "$dir/run" 0 run --config "$dir/tdi.conf" --year 2025
    NAT=$(one_file "$dir/out/national/tdi-national-2025-*.xml.gz")
    ANT=$(one_file "$dir/out/antwerp/tdi-antwerp-2025-*.xml.gz")
    gzip -dc "$NAT" | grep -E "^<submission .* countingLevel=\"$1\" " >/dev/null || fail "national does not count at $1"
}

# expect_population LEVEL DRUG_EPISODE OTHER_EPISODE OTHER_CODE: the drug episode is the entrant
# in both bodies, the other keeps its own code and is none; the tables count exactly the entrants
# (header and grand total) and say so.
expect_population() {
    local dir=$CASE_DIR/$1 body f tables n
    for body in national antwerp; do
        f=$NAT
        [ "$body" = national ] || f=$ANT
        expect_entrant "$f" "$body" riverside "$2" 1
        expect_entrant "$f" "$body" riverside "$3" 0
        episode_lines "$f" | grep -F " key=\"$(episode_key "$body" riverside "$3")\" " | grep -qF " primary_drug=\"$4\" " ||
            fail "$body: episode $3 is not sent with primary_drug $4"
        n=$(episode_lines "$f" | grep -c ' entrant="1" ')
        tables=$(one_file "$dir/out/$body/tdi-$body-2025-*.tables.xml")
        grep -qE "^<tables .* records=\"$(episode_lines "$f" | wc -l)\" entrants=\"$n\"" "$tables" ||
            fail "$body: the tables header does not say records $(episode_lines "$f" | wc -l), entrants $n: $(grep '^<tables ' "$tables")"
        [ "$(table_cells "$tables" | grep '^8\.1\.1 total total ')" = "8.1.1 total total $n" ] ||
            fail "$body: table 8.1.1 counts $(table_cells "$tables" | grep '^8\.1\.1 total total ') of $n entrants"
    done
}

case_alcohol_then_drug() {
    local level
    for level in national regional; do
        population_run "$level" ALCOHOL AMPHET
        expect_population "$level" 17 3 8
    done
}

case_drug_then_alcohol() {
    local level
    for level in national regional; do
        population_run "$level" AMPHET ALCOHOL
        expect_population "$level" 3 17 8
    done
}

# Gambling has its own code (the crosswalk maps it so: never alcohol).
case_gambling_then_drug() {
    local level
    for level in national regional; do
        population_run "$level" GAMBLING AMPHET
        expect_population "$level" 17 3 gambling
        stdout_has "tables national: counting $(episode_lines "$NAT" | grep -c ' entrant="1" ') entrants (TDI population: first start for a drug) of $(episode_lines "$NAT" | wc -l) records"
    done
}

# ---- clients in treatment (README.md, "Clients in treatment"): each person once at the counting
# level, the entrant before a continuing episode. Patient 3's episode 3 moves to 2024 (a heroin
# start, open in 2025: a continuing client), episode 17 (amphetamines, 2025-07-01) is the entrant;
# both at RR-DETOX. Table 43.1.1 counts the person once, as an entrant (state/st_delta.c ranks the
# continuing episodes only of persons who have one). The count is worked out from the episode lines.
case_clients_entrant_and_continuing() {
    local dir=$CASE_DIR f want both body
    clinic_copy clinic_cit clinic_en
    pg_sql clinic_cit -c "UPDATE admissions SET site_code = 'RR-DETOX', main_substance = CASE adm_id WHEN 3 THEN 'HEROIN' ELSE 'AMPHET' END, admitted_on = CASE adm_id WHEN 3 THEN DATE '2024-11-02' ELSE admitted_on END WHERE adm_id IN (3, 17)" >/dev/null
    run_setup "$dir"
    use_db "$dir/tdi.conf" riverside clinic_cit
    sed -i 's/^suppression_threshold.*/suppression_threshold = 1/' "$dir/tdi.conf"
    tdi_try "$dir/run" 0 run --config "$dir/tdi.conf" --year 2025
    for body in national antwerp; do
        f=$(one_file "$dir/out/$body/tdi-$body-2025-*.xml.gz")
        # Of the episodes of the TDI population (not alcohol nor a behaviour), the persons (per
        # centre in antwerp) counted: the entrants, and the continuing ones without an entrant.
        episode_lines "$f" | grep -vE ' primary_drug="(8|gambling|gaming|tobacco|other_behaviour)"' |
            awk -v level="$body" '{ p = $0; sub(/.* person="/, "", p); sub(/".*/, "", p)
                   k = $0; sub(/.* centre="/, "", k); sub(/".*/, "", k)
                   if (level == "antwerp") p = p " " k # antwerp counts per centre
                   if ($0 ~ / entrant="1"/) e[p] = 1; else if ($0 ~ / continuing="1"/) c[p] = 1 }
                 END { n = 0; b = 0; for (p in e) n++; for (p in c) if (p in e) b++; else n++
                       print n, b }' >"$dir/$body.want"
        read -r want both <"$dir/$body.want"
        [ "$body" = antwerp ] || [ "$both" -ge 1 ] ||
            fail "national: no person with an entrant and a continuing episode: the case tests nothing"
        [ "$(table_cells "$(one_file "$dir/out/$body/tdi-$body-2025-*.tables.xml")" | grep '^43\.1\.1 total total ')" = "43.1.1 total total $want" ] ||
            fail "$body: 43.1.1 counts $(table_cells "$(one_file "$dir/out/$body/tdi-$body-2025-*.tables.xml")" | grep '^43\.1\.1 total total ') clients, the episodes $want"
    done
}

# A first submission of the year (the served bodies hold nothing of it) takes a pass of its own
# (state/st_pass.c: run_held and run_rank views of the records, the ranking straight into
# run_action). national's first file of 2025 is the same byte for byte, but for the run's id and
# time, and so is what it holds, when the general pass computes it ("general": antwerp alone ran
# 2025 before, so the bodies hold something of the year); with 2024 held, for the earlier flags.
case_first_pass_same_as_general() {
    # every column of what national was sent but its sequence (a first pass's commit reads the
    # records from its run_action, the general one from run_rec: st_commit.c)
    local d a b q="SELECT eid, ekey, source, encode(hash, 'hex'), person, centre, start_ymd, status, drug, entrant, earlier, qi, sens FROM tdi.sent WHERE body = 'national' AND year = 2025 ORDER BY 1"
    local first="tdi: debug: delta: a first submission of 2025: the bodies hold nothing of it"
    clinic_copy clinic_firstpass clinic_en
    pg_sql clinic_firstpass -c "UPDATE admissions SET admitted_on = '2024-05-02' WHERE adm_id = 22"
    for d in first general; do
        run_setup "$CASE_DIR/$d"
        use_db "$CASE_DIR/$d/tdi.conf" riverside clinic_firstpass
        tdi_try "$CASE_DIR/$d/run2024" 0 run --config "$CASE_DIR/$d/tdi.conf" --year 2024
    done
    awk '/^\[/ { skip = $0 == "[body national]" } !skip' "$CASE_DIR/general/tdi.conf" >"$CASE_DIR/general/antwerp.conf"
    tdi_try "$CASE_DIR/general/run1" 0 run --config "$CASE_DIR/general/antwerp.conf" --year 2025 --verbose
    grep -qxF "$first" "$CASE_DIR/general/run1.err" || fail "antwerp's first run of 2025 did not take the first submission's pass"
    tdi_try "$CASE_DIR/general/run2" 0 run --config "$CASE_DIR/general/tdi.conf" --year 2025 --verbose
    ! grep -qF "first submission" "$CASE_DIR/general/run2.err" || fail "the general run took the first submission's pass"
    tdi_try "$CASE_DIR/first/run" 0 run --config "$CASE_DIR/first/tdi.conf" --year 2025 --verbose
    grep -qxF "$first" "$CASE_DIR/first/run.err" || fail "the first run of 2025 did not take the first submission's pass"
    a=$(one_file "$CASE_DIR/first/out/national/tdi-national-2025-*.xml.gz")
    b=$(one_file "$CASE_DIR/general/out/national/tdi-national-2025-*.xml.gz")
    [ "$(ledger "$CASE_DIR/first" "SELECT count(*) FILTER (WHERE earlier) FROM tdi.sent WHERE body = 'national' AND year = 2025")" = 36 ] ||
        fail "national's episodes of 2025 of persons treated in 2024 are not 36 (case_earlier_year's)"
    # the run numbers differ (the general side ran once more, and a run that starts in the
    # second of the one before finds its id taken and tries the next second: the ledger's
    # number it drew is used up): not compared
    cmp <(body_file "$a" | sed -E 's/ runNo="[0-9]+"//') <(body_file "$b" | sed -E 's/ runNo="[0-9]+"//') >&2 ||
        fail "national's first file differs between the two passes"
    cmp <(sed -E 's/ (runId|generated)="[^"]*"//g' "$(one_file "$CASE_DIR/first/out/national/tdi-national-2025-*.tables.xml")") \
        <(sed -E 's/ (runId|generated)="[^"]*"//g' "$(one_file "$CASE_DIR/general/out/national/tdi-national-2025-*.tables.xml")") >&2 ||
        fail "national's tables differ between the two passes"
    [ "$(grep -c R018 "$CASE_DIR/first/run.out")" = 1 ] && grep -F R018 "$CASE_DIR/first/run.out" | cmp - <(grep -F R018 "$CASE_DIR/general/run2.out") >&2 ||
        fail "R018 is not counted alike: $(grep -F R018 "$CASE_DIR/first/run.out" "$CASE_DIR/general/run2.out")"
    [ "$(ledger "$CASE_DIR/first" "$q")" = "$(ledger "$CASE_DIR/general" "$q")" ] ||
        fail "national holds other records after the two passes"
    # the person years as tdi.sent implies them: antwerp's first run counted them into an empty
    # year (general/run1), the first run's second body into a year its first body had just filled
    # (st_commit.c, sent_first_sql: a plain INSERT or the upsert)
    summaries_match "$CASE_DIR/first" >/dev/null
    summaries_match "$CASE_DIR/general" >/dev/null
}

# A night that reads few records beside what the bodies hold looks the persons the records had as
# sent up by key (state/st_pass.c, touched_probe_sql), and their other rows by person
# (held_probe_sql; 10000 more Riverside episodes of patients 4-10 make the year large: the
# night's records fewer than a two-hundredth of it). De Brug, read in full, moves episode
# BH-25-0101 (here the shared person's first start, 2025-01-05) to client CL-0456-RT:
# Riverside's episode 1 of that person, not read (Riverside reads incrementally), becomes its
# entrant, which only BH-25-0101's person as sent tells; BH-25-0101 is CL-0456-RT's first start
# now, BH-25-0103 no longer.
case_touched_by_key() {
    local conf=$CASE_DIR/tdi.conf f
    clinic_copy clinic_tkey clinic_en
    incremental_en clinic_tkey
    pg_sql clinic_tkey -c "INSERT INTO admissions (patient_id, site_code, admitted_on, programme, gender, prior_tx, main_substance, route) SELECT 4 + i % 7, 'RR-NORTH', date '2025-03-01' + i % 200, 'OUTPT', 'M', 'N', 'CANNABIS', 'SMOKE' FROM generate_series(1, 10000) i" >/dev/null
    clinic_copy clinic_tkey_nl clinic_nl
    pg_sql clinic_tkey_nl -c "UPDATE behandelingen SET startdatum = '2025-01-05' WHERE behandeling_id = 'BH-25-0101'" >/dev/null
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_tkey 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    use_db "$conf" debrug clinic_tkey_nl
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    f=$(nth_submission "$CASE_DIR" national 1)
    expect_entrant "$f" national debrug BH-25-0101 1
    expect_entrant "$f" national riverside 1 0
    expect_entrant "$f" national debrug BH-25-0103 1
    pg_sql clinic_tkey_nl -c "UPDATE behandelingen SET client_nr = 'CL-0456-RT' WHERE behandeling_id = 'BH-25-0101'" >/dev/null
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025 --verbose
    grep -qxF 'tdi: debug: delta: few records read beside what the bodies hold: the persons as sent looked up by key, their other rows by person' "$CASE_DIR/run2.err" ||
        fail "run 2 did not look the persons as sent up by key and their other rows by person"
    # their other rows sent by the year's index by person, which the first such night makes
    # (migration 15; state/st_pass.c, held_probe_sql): riverside's episode 1 is found by it
    grep -q "the year's rows sent indexed by person" "$CASE_DIR/run2.err" ||
        fail "run 2 did not index the year's rows sent by person"
    [ "$(ledger "$CASE_DIR" "SELECT pg_get_indexdef('tdi.sent_2025_person'::regclass)")" = \
        "CREATE INDEX sent_2025_person ON tdi.sent_2025 USING btree (body, COALESCE(person, eid))" ] ||
        fail "the year's index by person is not there after run 2"
    f=$(nth_submission "$CASE_DIR" national 2)
    valid_both "$f"
    expect_entrant "$f" national riverside 1 1
    expect_entrant "$f" national debrug BH-25-0101 1
    expect_entrant "$f" national debrug BH-25-0103 0
    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

it_case counting-levels case_levels
it_case counting-shared-centre case_shared_centre
it_case counting-regional case_regional
it_case counting-earlier-year case_earlier_year
it_case counting-summary-migration case_summary_migration
it_case counting-narrow-migration case_narrow_migration
it_case counting-by-year-migration case_by_year_migration
it_case counting-person-year-migration case_person_year_migration
it_case counting-flip case_flip
it_case counting-flip-same-as-full case_flip_same_as_full
it_case counting-first-pass-same-as-general case_first_pass_same_as_general
it_case counting-flip-snapshot-lost case_flip_snapshot_lost
it_case counting-flip-patched case_flip_patched
it_case counting-flip-reread-differs case_flip_reread_differs
it_case counting-level-change case_level_change
it_case counting-earlier-year-nightly case_earlier_year_nightly
it_case counting-earlier-year-touched case_earlier_year_touched
it_case counting-source-removed case_source_removed
it_case counting-alcohol-then-drug case_alcohol_then_drug
it_case counting-drug-then-alcohol case_drug_then_alcohol
it_case counting-gambling-then-drug case_gambling_then_drug
it_case counting-clients-entrant-and-continuing case_clients_entrant_and_continuing
it_case counting-touched-by-key case_touched_by_key
it_end
