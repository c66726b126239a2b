#!/usr/bin/env bash
# test_receiver.sh: the receiving side. `tdi load` applies a series of nightly deltas (inserts,
# changes, deletes, a backdated episode that moves the entrant flag, a year closed and reopened)
# to a receiver database, which then holds record for record what one --full run into a fresh
# state database sends; loading everything again changes nothing; a gap is refused. `tdi audit`
# finds a missing file, a tampered file, a repeated key and a rule-breaking record with file and
# line, and nothing in a clean series; its rules and xmllint's Schematron agree.
. "$(dirname "$0")/../lib.sh"
it_begin

SCH=$TDI_ROOT/schemas/tdi-rules.sch

# receiver_db NAME: a fresh empty database for tdi load; prints its conninfo.
receiver_db() {
    state_db_create "$1"
    printf 'host=%s port=%s dbname=%s user=postgres\n' "$PGHOST" "$PGPORT" "$1"
}

# canon_db DB BODY: what the receiver holds for BODY, one "key name=value ..." line per episode
# (names sorted, absent attributes left out), sorted.
canon_db() {
    pg_sql "$1" -c "SELECT (SELECT string_agg(k || '=' || v, ' ' ORDER BY k)
        FROM jsonb_each_text(jsonb_strip_nulls(to_jsonb(e) - 'body' - 'year')) AS j(k, v))
        FROM tdi_receiver.episode e WHERE body = '$2' ORDER BY 1" | LC_ALL=C sort
}

# canon_xml GZ: the same from a full submission's <episode/> lines, independently of tdi.
canon_xml() {
    episode_lines "$1" | awk '{
        n = 0; s = $0
        while (match(s, /[a-zA-Z_0-9]+="[^"]*"/)) {
            kv = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
            k = substr(kv, 1, index(kv, "=") - 1); v = substr(kv, index(kv, "=") + 2); v = substr(v, 1, length(v) - 1)
            if (k == "personKind") k = "person_kind"
            if (k == "year" || k == "action") continue
            a[++n] = k "=" v
        }
        for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
        line = a[1]; for (i = 2; i <= n; i++) line = line " " a[i]
        print line
    }' | LC_ALL=C sort
}

# The series: five runs of riverside (incremental) and De Brug, each changing something.
make_series() {
    local conf=$CASE_DIR/tdi.conf
    clinic_copy clinic_rcv clinic_en
    incremental_en clinic_rcv
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_rcv 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    # a backdated episode of patient 2: an append, and episode 2 is no longer the entrant
    pg_sql clinic_rcv -c "INSERT INTO admissions (adm_id, patient_id, site_code, admitted_on, programme, gender, prior_tx, main_substance, route) VALUES (27, 2, 'RR-NORTH', '2025-01-02', 'OUTPT', 'M', 'N', 'CANNABIS', 'SMOKE')"
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    # a change and a delete
    pg_sql clinic_rcv -c "UPDATE admissions SET main_substance = 'CANNABIS', route = 'SMOKE' WHERE adm_id = 3" \
        -c "DELETE FROM intake WHERE adm_id = 4" -c "DELETE FROM admissions WHERE adm_id = 4"
    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025
    # the year closed and reopened for a correction: the backdated episode goes again
    tdi_try "$CASE_DIR/close" 0 year close 2025 --config "$conf"
    tdi_try "$CASE_DIR/reopen" 0 year reopen 2025 --config "$conf"
    pg_sql clinic_rcv -c "DELETE FROM admissions WHERE adm_id = 27"
    tdi_try "$CASE_DIR/run4" 0 run --config "$conf" --year 2025
    # nothing changed: no file
    tdi_try "$CASE_DIR/run5" 0 run --config "$conf" --year 2025
    [ "$(submissions "$CASE_DIR" national | wc -l)" = 4 ] || fail "expected 4 national files, found $(submissions "$CASE_DIR" national | wc -l)"
}

# The full run of the same clinics into a fresh state database: one file per body.
full_run() {
    run_setup "$CASE_DIR/fresh"
    cp "$CASE_DIR/tdi.conf" "$CASE_DIR/fresh/tdi.conf"
    sed -i "s/dbname=$(cat "$CASE_DIR/state.db")/dbname=$(cat "$CASE_DIR/fresh/state.db")/; s|^output_dir .*|output_dir = $CASE_DIR/fresh/out|" "$CASE_DIR/fresh/tdi.conf"
    tdi_try "$CASE_DIR/fresh/run" 0 run --config "$CASE_DIR/fresh/tdi.conf" --year 2025 --full
}

case_load_series() {
    local db=tdi_receiver_series conn body
    make_series
    full_run
    conn=$(receiver_db "$db")
    tdi_try "$CASE_DIR/load1" 0 load --into "$conn" "$CASE_DIR/out"
    [ "$(grep -c 'appends' "$CASE_DIR/load1.out")" = 8 ] || fail "load did not apply 8 files: $(cat "$CASE_DIR/load1.out")"
    stderr_has "created the schema tdi_receiver"
    for body in national antwerp; do
        canon_db "$db" "$body" >"$CASE_DIR/$body.loaded"
        canon_xml "$(one_file "$CASE_DIR/fresh/out/$body/tdi-$body-2025-*.xml.gz")" >"$CASE_DIR/$body.full"
        [ -s "$CASE_DIR/$body.full" ] || fail "$body: the full run sent nothing"
        diff "$CASE_DIR/$body.full" "$CASE_DIR/$body.loaded" >&2 ||
            fail "$body: the loaded records differ from the full run's"
    done
    [ "$(pg_sql "$db" -c "SELECT count(*) FROM tdi_receiver.episode WHERE body = 'national' AND entrant = 1")" = \
        "$(episode_lines "$(one_file "$CASE_DIR/fresh/out/national/tdi-national-2025-*.xml.gz")" | grep -c ' entrant="1"')" ] ||
        fail "the entrants counted with SQL differ from the full run's"
    pg_sql "$db" -c "SELECT body, key, md5(e::text) FROM tdi_receiver.episode e ORDER BY 1, 2" >"$CASE_DIR/before"
    tdi_try "$CASE_DIR/load2" 0 load --into "$conn" "$CASE_DIR/out"
    [ "$(grep -c 'already loaded, nothing changed' "$CASE_DIR/load2.out")" = 8 ] || fail "the second load did not skip all 8 files"
    pg_sql "$db" -c "SELECT body, key, md5(e::text) FROM tdi_receiver.episode e ORDER BY 1, 2" | diff "$CASE_DIR/before" - >&2 ||
        fail "loading again changed the table"
    [ "$(pg_sql "$db" -c "SELECT count(*) FROM tdi_receiver.file")" = 8 ] || fail "tdi_receiver.file does not hold 8 files"
    # and tdi audit finds nothing in the series
    tdi_try "$CASE_DIR/audit" 0 audit "$CASE_DIR/out"
    [ ! -s "$CASE_DIR/audit.out" ] || fail "audit of a clean series: $(cat "$CASE_DIR/audit.out")"
}

# A gap: sequence 2 missing; 1 loads, 3 and 4 are refused with a clear message.
case_load_gap() {
    local db=tdi_receiver_gap conn files
    make_series
    mapfile -t files < <(submissions "$CASE_DIR" national)
    conn=$(receiver_db "$db")
    tdi_try "$CASE_DIR/load" 8 load --into "$conn" "${files[0]}" "${files[2]}" "${files[3]}"
    stderr_has "sequence 3 of national 2025 follows 1: sequence 2 is missing; nothing of national 2025 from here on is loaded"
    stderr_has "${files[3]}: not loaded: an earlier file of national 2025 is missing or was not taken"
    [ "$(pg_sql "$db" -c "SELECT string_agg(sequence::text, ' ') FROM tdi_receiver.file")" = 1 ] || fail "not only sequence 1 was loaded"
    # the missing file arrives: the rest follows
    tdi_try "$CASE_DIR/load2" 0 load --into "$conn" "${files[@]}"
    [ "$(pg_sql "$db" -c "SELECT string_agg(sequence::text, ' ' ORDER BY sequence) FROM tdi_receiver.file")" = "1 2 3 4" ] ||
        fail "the series was not completed"
}

# A tampered file is refused before anything is applied.
case_load_tampered() {
    local db=tdi_receiver_tamper conn f
    run_pipeline "$CASE_DIR"
    f=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    gzip -dc "$f" | sed 's/sex="1"/sex="2"/' | gzip -1 >"$f.new" && mv "$f.new" "$f"
    conn=$(receiver_db "$db")
    tdi_try "$CASE_DIR/load" 8 load --into "$conn" "$f"
    stderr_has "the manifest says"
    [ "$(pg_sql "$db" -c "SELECT count(*) FROM tdi_receiver.episode")" = 0 ] || fail "a tampered file was applied"
}

# tdi audit on a broken series: each fault with its file and line.
case_audit_faults() {
    local files f line
    make_series
    mapfile -t files < <(submissions "$CASE_DIR" national)
    mkdir "$CASE_DIR/a"
    for f in "${files[@]}"; do cp "$f" "${f%.xml.gz}.manifest.json" "$CASE_DIR/a/"; done
    mapfile -t files < <(compgen -G "$CASE_DIR/a/*.xml.gz" | LC_ALL=C sort)
    # missing: sequence 2 (file and manifest)
    rm "${files[1]}" "${files[1]%.xml.gz}.manifest.json"
    # tampered, a repeated key and a broken rule in sequence 3: an episode line doubled, and the
    # route of the first episode with injecting never set to inject (the manifest kept)
    gzip -dc "${files[2]}" >"$CASE_DIR/s3.xml"
    line=$(grep -n '^<episode ' "$CASE_DIR/s3.xml" | head -n 1 | cut -d: -f1)
    sed -n "${line}p" "$CASE_DIR/s3.xml" >"$CASE_DIR/dup"
    sed -i "${line}r $CASE_DIR/dup" "$CASE_DIR/s3.xml"
    rule=$(grep -n 'injecting="1"' "$CASE_DIR/s3.xml" | head -n 1 | cut -d: -f1)
    [ -n "$rule" ] || { rule=$line; sed -i "${rule}s/injecting=\"[^\"]*\"/injecting=\"1\"/; ${rule}s/ years_since_first_injection=\"[^\"]*\"//" "$CASE_DIR/s3.xml"; }
    sed -i "${rule}s/route=\"[^\"]*\"/route=\"1\"/" "$CASE_DIR/s3.xml"
    gzip -1 <"$CASE_DIR/s3.xml" >"${files[2]}"
    tdi_try "$CASE_DIR/audit" 8 audit "$CASE_DIR/a"
    f=${files[2]}
    grep -qF "$f:2: sequence: sequence 3 follows 1: 2 to 2 missing" "$CASE_DIR/audit.out" || fail "no gap finding: $(cat "$CASE_DIR/audit.out")"
    grep -qE "^$f:1: manifest: SHA-256 [0-9a-f]{64}, its manifest says" "$CASE_DIR/audit.out" || fail "no tampered finding: $(cat "$CASE_DIR/audit.out")"
    grep -qF "$f:$((line + 1)): duplicate-key: key also on line $line" "$CASE_DIR/audit.out" || fail "no duplicate finding: $(cat "$CASE_DIR/audit.out")"
    grep -qF "$f:$rule: R012: route inject for a person who never injected" "$CASE_DIR/audit.out" || fail "no rule finding: $(cat "$CASE_DIR/audit.out")"
}

# Records built to break each rule once: tdi audit and xmllint's Schematron find the same.
case_rules_agree() {
    local f=$CASE_DIR/rules.xml base rc r
    run_pipeline "$CASE_DIR"
    base=$(episode_lines "$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")" |
        grep ' setting="outpatient"' | grep ' injecting="2.3"' | grep ' ost="2"' | head -n 1)
    [ -n "$base" ] || fail "no outpatient ever-injector in OST to build from"
    # rec N [NAME VALUE | -NAME | +NAME VALUE]...: record N from $base with NAME set, dropped or added
    rec() {
        local r=$base k
        k=$(printf '%032x' "$1")
        shift
        while [ $# -gt 0 ]; do
            case $1 in
            -*) r=$(printf '%s' "$r" | sed -E "s/ ${1#-}=\"[^\"]*\"//"); shift ;;
            +*) r=$(printf '%s' "$r" | sed -E "s|/>\$| ${1#+}=\"$2\"/>|"); shift 2 ;;
            *) r=$(printf '%s' "$r" | sed -E "s/ $1=\"[^\"]*\"/ $1=\"$2\"/"); shift 2 ;;
            esac
        done
        printf '%s\n' "$r" | sed -E "s/ key=\"e1:[0-9a-f]{32}\"/ key=\"e1:$k\"/"
    }
    {
        echo '<?xml version="1.0" encoding="UTF-8"?>'
        gzip -dc "$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")" | sed -n 2p
        echo '<episodes>'
        rec 1 age_band 20-24 first_use_age_band 30-34                # R009
        rec 2 injecting 1 route 2 needle_sharing 1                   # R011 (years kept)
        rec 3 injecting 1 route 1 -years_since_first_injection       # R012
        rec 4 ost 1                                                  # R016 (years kept)
        rec 5 +detox_phase yes                                       # R017
        rec 6 centre_type 2                                          # centre-type
        rec 7 -years_since_first_injection                           # injection-years
        rec 8 -years_since_first_ost                                 # ost-years
        rec 9 age_band 20-24 first_use_age_band 20-24                # none
        rec 10 ost 1 -years_since_first_ost                          # none
        echo '</episodes>'
        echo '</submission>'
    } >"$f"
    tdi_exec "$CASE_DIR/audit" audit "$f"
    grep -vE ': (schema|manifest|sequence|order|unknown-key|duplicate-key): ' "$CASE_DIR/audit.out" |
        sed -E 's/^[^:]*:([0-9]+): ([^:]+):.*/\1 \2/' | LC_ALL=C sort >"$CASE_DIR/tdi.found"
    rc=0
    xmllint --noout --schematron "$SCH" "$f" 2>"$CASE_DIR/sch.err" || rc=$?
    [ "$rc" = 3 ] || fail "xmllint --schematron exited $rc, expected 3 (fails to validate): $(cat "$CASE_DIR/sch.err")"
    sed -nE 's/^.* line ([0-9]+): ([^:]+):.*/\1 \2/p' "$CASE_DIR/sch.err" | LC_ALL=C sort >"$CASE_DIR/sch.found"
    diff "$CASE_DIR/sch.found" "$CASE_DIR/tdi.found" >&2 || fail "tdi audit and the Schematron disagree"
    for r in R009 R011 R012 R016 R017 centre-type injection-years ost-years; do
        grep -q " $r\$" "$CASE_DIR/tdi.found" || fail "rule $r was not found: $(cat "$CASE_DIR/tdi.found")"
    done
    # the demo's records break none of them, by either check
    tdi_try "$CASE_DIR/clean" 0 audit "$CASE_DIR/out"
    for f in "$CASE_DIR"/out/*/tdi-*.xml.gz; do
        case $f in *.tables.*) continue ;; esac
        xmllint --noout --schematron "$SCH" "$f" 2>/dev/null || fail "the Schematron rejects $(basename "$f")"
    done
}

it_case receiver-load-series case_load_series
it_case receiver-load-gap case_load_gap
it_case receiver-load-tampered case_load_tampered
it_case receiver-audit-faults case_audit_faults
it_case receiver-rules-agree case_rules_agree
it_end
