#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# A watermark moves only when the run's delta pass completed and every body its source feeds got
# its file (red team finding 1). A run that fails after reading a source incrementally must leave
# the watermark where it was, so that the next run reads the same changes again: a change is
# never lost because a run failed.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# Two incremental sources: riverside, with 3,000 more episodes than the sample, and second (a copy
# of the sample clinic in another region). A backdated episode of patient 2 makes the run read
# riverside again in full (the counting of an unread episode changes: the test build's
# TDI_TEST_REREAD_FULL makes the run read it in full rather than that one episode in the snapshot of
# its read); under a file size limit that re-read fails writing the spool (exit 7, nothing
# published). second had two changes, one
# after the other. Neither watermark may move: with second's at its later change, the next run
# (overlap 0) would never read the earlier one again. The next run, without the limit, sends
# everything, and the bodies then hold what one full run sends.
case_failed_reread() {
    local conf=$CASE_DIR/tdi.conf wm1 wm2 b1 b2 rc=0
    grep -aq TDI_TEST_REREAD_FULL "$TDI" || fail "$TDI has no TDI_TEST_REREAD_FULL hook: run the test build (make check)"
    clinic_copy clinic_wm clinic_en
    incremental_en clinic_wm
    clinic_copy clinic_wm_b clinic_en
    incremental_en clinic_wm_b
    pg_sql clinic_wm -c "INSERT INTO admissions (patient_id, site_code, admitted_on, programme, gender, prior_tx, main_substance, route) SELECT 1 + i % 10, 'RR-NORTH', date '2025-03-01' + i % 200, 'OUTPT', 'M', 'N', 'CANNABIS', 'SMOKE' FROM generate_series(1, 3000) i" >/dev/null
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_wm 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    printf '%s\n' '[source second]' "conninfo = host=$PGHOST port=$PGPORT dbname=clinic_wm_b user=tdi_reader" \
        'query = SELECT * FROM tdi_episodes_inc' "crosswalk = $TDI_EXAMPLES/crosswalks/en.cw" \
        'region = BE100' 'national_id = be_rrn' 'incremental = changed_at' >>"$conf"
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    wm1=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")
    b1=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'second'")
    [ -n "$wm1" ] && [ -n "$b1" ] || fail "run 1 stored no watermark"

    pg_sql clinic_wm -c "INSERT INTO admissions (patient_id, site_code, admitted_on, programme, gender, prior_tx, main_substance, route) VALUES (2, 'RR-NORTH', '2025-01-02', 'OUTPT', 'M', 'N', 'CANNABIS', 'SMOKE')" >/dev/null
    pg_sql clinic_wm_b -c "UPDATE admissions SET gender = 'F' WHERE adm_id = 2" >/dev/null
    pg_sql clinic_wm_b -c "UPDATE admissions SET gender = 'F' WHERE adm_id = 3" >/dev/null
    (ulimit -f 1024 && TDI_TEST_REREAD_FULL=1 exec "$TDI" run --config "$conf" --year 2025 >"$CASE_DIR/run2.out" 2>"$CASE_DIR/run2.err") || rc=$?
    [ "$rc" = 7 ] || fail "run 2 under a file size limit exited $rc, expected 7: $(cat "$CASE_DIR/run2.err")"
    grep -q 'reading it in full' "$CASE_DIR/run2.out" || fail "run 2 did not read riverside again in full"
    grep -q 'nothing of this run was published' "$CASE_DIR/run2.err" || fail "run 2 does not say nothing was published"
    wm2=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")
    [ "$wm2" = "$wm1" ] || fail "the failed run moved riverside's watermark from $wm1 to $wm2"
    b2=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'second'")
    [ "$b2" = "$b1" ] || fail "the failed run moved second's watermark from $b1 to $b2"

    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025
    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

# Continuing clients read incrementally (README.md, "Discharges and continuing clients": the
# watermark covers both windows). Run 1 reads riverside in full. Then episode 117 (open since
# 2024-11-05, a continuing client) is discharged in 2025: run 2 reads that one row (changed since
# the watermark) and each body gets exactly its replace, still continuing="1", entrant="0", now
# with its stay band and reason. Then episode 115 (since 2024-09-10, closed in 2025) turns out to
# have ended in 2024: it leaves the window, the incremental read does not see it, the key scan
# does, and each body gets exactly its delete. Run 4 changes nothing; the state then holds what
# one full run sends.
case_continuing() {
    local conf=$CASE_DIR/tdi.conf body f k117 k115 line
    clinic_copy clinic_cont clinic_en
    incremental_en clinic_cont
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_cont 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    grep -qx 'source riverside: extracted 47, written 40, quarantined 7' "$CASE_DIR/run1.out" ||
        fail "run 1: $(grep '^source riverside' "$CASE_DIR/run1.out")"

    # the discharge letter of 117 arrives; the clinic's admission row records the change
    pg_sql clinic_cont -c "UPDATE discharges SET discharged_on = '2025-03-14', reason = 'COMPL', aftercare = 'AA' WHERE adm_id = 117" \
        -c "UPDATE admissions SET changed_at = clock_timestamp() WHERE adm_id = 117" >/dev/null
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    grep -qE '^source riverside: extracted 1, written 1, quarantined 0 \(changed since ' "$CASE_DIR/run2.out" ||
        fail "run 2 did not read the one change incrementally: $(grep '^source riverside' "$CASE_DIR/run2.out")"
    ! grep -q 'R033' "$CASE_DIR/run2.out" || fail "run 2 still warns R033 for a discharged episode"
    for body in national antwerp; do
        f=$(compgen -G "$CASE_DIR/out/$body/tdi-$body-2025-*.xml.gz" | LC_ALL=C sort | sed -n 2p)
        [ -n "$f" ] || fail "$body: no file from run 2"
        k117=$(episode_key "$body" riverside 117)
        line=$(episode_lines "$f")
        [ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] || fail "$body: run 2 sent more than one record"
        printf '%s\n' "$line" | grep -F " action=\"replace\" key=\"$k117\" " | grep -F ' year="2024" entrant="0" continuing="1" ' |
            grep -F ' discharge_reason="completed" aftercare="self_help" stay_band="91-180"' >/dev/null ||
            fail "$body: run 2 did not replace 117 as a discharged continuing client: $line"
        [ -z "$(delete_lines "$f")" ] || fail "$body: run 2 deletes something"
    done

    # 115 ended in 2024 after all: out of the window, a delete
    pg_sql clinic_cont -c "UPDATE discharges SET discharged_on = '2024-12-20' WHERE adm_id = 115" \
        -c "UPDATE admissions SET changed_at = clock_timestamp() WHERE adm_id = 115" >/dev/null
    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025 --verbose
    grep -qE '^source riverside: extracted 0, written 0, quarantined 0 \(changed since ' "$CASE_DIR/run3.out" ||
        fail "run 3 did not read riverside incrementally: $(grep '^source riverside' "$CASE_DIR/run3.out")"
    # the digest kept, read back, differs from this scan's in the one bucket of adm 12's key only
    grep -qxF 'tdi: debug: source riverside: key scan: 1 of 256 buckets changed since the digest kept, leaving out the 0 rows read now that no body holds' "$CASE_DIR/run3.err" ||
        fail "run 3's key scan: $(grep -F 'key scan' "$CASE_DIR/run3.err")"
    for body in national antwerp; do
        f=$(compgen -G "$CASE_DIR/out/$body/tdi-$body-2025-*.xml.gz" | LC_ALL=C sort | sed -n 3p)
        [ -n "$f" ] || fail "$body: no file from run 3"
        k115=$(episode_key "$body" riverside 115)
        [ "$(delete_lines "$f")" = "<delete key=\"$k115\"/>" ] || fail "$body: run 3's deletes are '$(delete_lines "$f")'"
        [ -z "$(episode_lines "$f")" ] || fail "$body: run 3 sent a record"
    done
    tdi_try "$CASE_DIR/run4" 0 run --config "$conf" --year 2025
    stdout_has "body national: no changes, nothing published"
    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

# The key scan's digest (run/run_keys.c): a full read leaves none; the next incremental read
# compares every key and leaves one (256 buckets of 8 bytes for the sample's ~50 keys); a night
# whose only change is a delete (the last episode of its person) finds it through the buckets
# that changed, each body exactly that delete. Then a run whose source `second` (national only)
# fails reads riverside and appends a new episode to antwerp without moving riverside's watermark:
# the digest goes (antwerp holds an episode it does not cover), so when that episode is deleted
# the next night compares every key and antwerp gets its delete. The bodies end where one full
# run ends.
case_key_digest() {
    local conf=$CASE_DIR/tdi.conf body f gone wm added
    clinic_copy clinic_kd clinic_en
    incremental_en clinic_kd
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_kd 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    printf '%s\n' '[source second]' "conninfo = host=$PGHOST port=$PGPORT dbname=clinic_en user=tdi_reader" \
        'query = SELECT * FROM tdi_episodes WHERE false' "crosswalk = $TDI_EXAMPLES/crosswalks/en.cw" \
        'region = BE100' 'national_id = be_rrn' >>"$conf"
    top_key "$conf" 'incremental_overlap = 0'
    digest() { ledger "$CASE_DIR" "SELECT coalesce(octet_length(keys)::text, 'none') FROM tdi.source_state WHERE source = 'riverside'"; }
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    [ "$(digest)" = none ] || fail "a full read left a key digest of $(digest) bytes"
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    [ "$(digest)" = 2048 ] || fail "the first incremental read left a key digest of $(digest) bytes, expected 2048"

    # adm 12: patient 12's only admission
    [ "$(pg_sql clinic_kd -Atc "SELECT count(*) FROM admissions WHERE patient_id = (SELECT patient_id FROM admissions WHERE adm_id = 12)")" = 1 ] ||
        fail "the sample changed: adm 12 is not its patient's only admission"
    pg_sql clinic_kd -c "DELETE FROM intake WHERE adm_id = 12" -c "DELETE FROM admissions WHERE adm_id = 12" >/dev/null
    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025 --verbose
    grep -qE '^source riverside: extracted 0, written 0, quarantined 0 \(changed since ' "$CASE_DIR/run3.out" ||
        fail "run 3 did not read riverside incrementally: $(grep '^source riverside' "$CASE_DIR/run3.out")"
    # the digest kept, read back, differs from this scan's in the one bucket of adm 12's key only
    grep -qxF 'tdi: debug: source riverside: key scan: 1 of 256 buckets changed since the digest kept, leaving out the 0 rows read now that no body holds' "$CASE_DIR/run3.err" ||
        fail "run 3's key scan: $(grep -F 'key scan' "$CASE_DIR/run3.err")"
    for body in national antwerp; do
        f=$(submissions "$CASE_DIR" "$body" | sed -n 2p)
        [ -n "$f" ] || fail "$body: no file from run 3"
        gone=$(episode_key "$body" riverside 12)
        [ "$(delete_lines "$f")" = "<delete key=\"$gone\"/>" ] || fail "$body: run 3's deletes are '$(delete_lines "$f")', expected adm 12's"
        [ -z "$(episode_lines "$f")" ] || fail "$body: run 3 sent a record: $(episode_lines "$f")"
    done
    [ "$(digest)" = 2048 ] || fail "run 3 left a key digest of $(digest) bytes"

    wm=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")
    added=$(pg_sql clinic_kd -Atc "INSERT INTO admissions (patient_id, site_code, admitted_on, programme, gender, prior_tx, main_substance, route) VALUES (2, 'RR-NORTH', '2025-06-02', 'OUTPT', 'M', 'N', 'CANNABIS', 'SMOKE') RETURNING adm_id" | head -n 1)
    set_source "$conf" second query 'SELECT * FROM no_such_view'
    tdi_try "$CASE_DIR/run4" 5 run --config "$conf" --year 2025
    stdout_has "body national: nothing published: source second failed"
    f=$(submissions "$CASE_DIR" antwerp | sed -n 3p)
    episode_lines "$f" | grep -F " key=\"$(episode_key antwerp riverside "$added")\" " >/dev/null ||
        fail "antwerp did not get the new episode $added in run 4"
    [ "$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")" = "$wm" ] ||
        fail "run 4 moved riverside's watermark with national not served"
    [ "$(digest)" = none ] || fail "run 4 kept a key digest that does not cover antwerp's new episode"

    set_source "$conf" second query 'SELECT * FROM tdi_episodes WHERE false'
    pg_sql clinic_kd -c "DELETE FROM admissions WHERE adm_id = $added" >/dev/null
    tdi_try "$CASE_DIR/run5" 0 run --config "$conf" --year 2025 --verbose
    grep -qxF 'tdi: debug: source riverside: key scan: no digest kept to compare with: every key to the state database' "$CASE_DIR/run5.err" ||
        fail "run 5's key scan: $(grep -F 'key scan' "$CASE_DIR/run5.err")"
    f=$(submissions "$CASE_DIR" antwerp | sed -n 4p)
    [ "$(delete_lines "$f")" = "<delete key=\"$(episode_key antwerp riverside "$added")\"/>" ] ||
        fail "antwerp's deletes in run 5 are '$(delete_lines "$f")', expected episode $added's"
    [ "$(digest)" = 2048 ] || fail "run 5 left a key digest of $(digest) bytes"

    # A night with a new episode and a delete: the new key changes its bucket's sum but nothing
    # held is gone there; left out of the comparison, only the delete's bucket is compared.
    # Each body gets both.
    added=$(pg_sql clinic_kd -Atc "INSERT INTO admissions (patient_id, site_code, admitted_on, programme, gender, prior_tx, main_substance, route) VALUES (3, 'RR-NORTH', '2025-07-01', 'OUTPT', 'F', 'N', 'CANNABIS', 'SMOKE') RETURNING adm_id" | head -n 1)
    gone=
    for a in $(pg_sql clinic_kd -Atc "SELECT adm_id FROM admissions a WHERE adm_id < $added AND (SELECT count(*) FROM admissions b WHERE b.patient_id = a.patient_id) = 1 ORDER BY adm_id"); do
        for f in $(submissions "$CASE_DIR" national); do
            episode_lines "$f" | grep -F " key=\"$(episode_key national riverside "$a")\" " >/dev/null && gone=$a && break 2
        done
    done
    [ -n "$gone" ] || fail "the sample changed: no other patient with one admission that national holds"
    pg_sql clinic_kd -c "DELETE FROM intake WHERE adm_id = $gone" -c "DELETE FROM discharges WHERE adm_id = $gone" \
        -c "DELETE FROM admissions WHERE adm_id = $gone" >/dev/null
    tdi_try "$CASE_DIR/run6" 0 run --config "$conf" --year 2025 --verbose
    grep -qxF 'tdi: debug: source riverside: key scan: 1 of 256 buckets changed since the digest kept, leaving out the 1 row read now that no body holds' "$CASE_DIR/run6.err" ||
        fail "run 6's key scan: $(grep -F 'key scan' "$CASE_DIR/run6.err")"
    for body in national antwerp; do
        f=$(submissions "$CASE_DIR" "$body" | tail -n 1)
        [ "$(delete_lines "$f")" = "<delete key=\"$(episode_key "$body" riverside "$gone")\"/>" ] ||
            fail "$body: run 6's deletes are '$(delete_lines "$f")', expected episode $gone's"
        episode_lines "$f" | grep -F " key=\"$(episode_key "$body" riverside "$added")\" " >/dev/null ||
            fail "$body did not get the new episode $added in run 6"
    done
    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

# A clinic whose database runs in Europe/Brussels keeps admission moments as timestamptz and its
# view derives the dates (admitted_at::date); the change time is a timestamp without time zone.
# tdi reads in the clinic's own TimeZone: 2025-01-01 00:00 local is 2025 Q1 (in UTC it was
# 2024-12-31, lost), 2025-04-01 00:30 Q2 (not Q1), 2026-01-01 00:15 not 2025 (not Q4); the same
# with tdi's own ::date of the timestamptz (query tz2). The change time is taken as UTC, as before
# (the watermark then is the largest changed_at + Z): a watermark saved by an earlier version
# still skips nothing, and a change 30 minutes after it is read.
tz_clinic() {
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS clinic_tz" \
        -c "CREATE DATABASE clinic_tz" -c "ALTER DATABASE clinic_tz SET timezone = 'Europe/Brussels'" >/dev/null
    pg_sql clinic_tz <<'SQL' >/dev/null
SET client_min_messages = warning;
SET TimeZone = 'Europe/Brussels';
CREATE TABLE adm (adm_id text, patient text, site text, admitted_at timestamptz, sex text,
  drug text, programme text, changed_at timestamp);
INSERT INTO adm VALUES
 ('T1', 'ZZCLIENT401', 'C1', '2025-01-01 00:00', 'M', 'HEROIN', 'OUTPT', '2025-03-01 10:00'),
 ('T2', 'ZZCLIENT402', 'C1', '2025-04-01 00:30', 'F', 'HEROIN', 'OUTPT', '2025-03-01 10:00'),
 ('T3', 'ZZCLIENT403', 'C1', '2025-06-15 10:00', 'M', 'CANNABIS', 'OUTPT', '2025-03-02 10:00'),
 ('T4', 'ZZCLIENT404', 'C1', '2026-01-01 00:15', 'M', 'HEROIN', 'OUTPT', '2025-03-01 10:00');
CREATE VIEW tdi_episodes AS SELECT adm_id AS episode_id, patient AS client_id, site AS centre_id,
  admitted_at::date AS start_date, sex, drug AS primary_drug, programme AS setting, changed_at FROM adm;
GRANT SELECT ON adm, tdi_episodes TO tdi_reader;
SQL
}

case_source_timezone() {
    local conf=$CASE_DIR/tdi.conf f body quarters
    tz_clinic
    run_setup "$CASE_DIR"
    printf '%s\n' 'output_dir = out' 'key_file = tdi.key' 'suppression_threshold = 1' 'k_min = 1' \
        "state = host=$PGHOST port=$PGPORT dbname=$(cat "$CASE_DIR/state.db") user=postgres" \
        'incremental_overlap = 0' '[source tz]' "conninfo = host=$PGHOST port=$PGPORT dbname=clinic_tz user=tdi_reader" \
        'query = SELECT * FROM tdi_episodes' "crosswalk = $TDI_EXAMPLES/crosswalks/en.cw" 'region = BE211' \
        'national_id = none' 'incremental = changed_at' '[source tz2]' \
        "conninfo = host=$PGHOST port=$PGPORT dbname=clinic_tz user=tdi_reader" \
        'query = SELECT adm_id AS episode_id, patient AS client_id, site AS centre_id, admitted_at AS start_date, sex, drug AS primary_drug, programme AS setting FROM adm' \
        "crosswalk = $TDI_EXAMPLES/crosswalks/en.cw" 'region = BE100' 'national_id = none' \
        '[body tz]' 'regions = BE211' 'quarter = yes' '[body tz2]' 'regions = BE100' 'quarter = yes' >"$conf"
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    for body in tz tz2; do
        f=$(submissions "$CASE_DIR" "$body" | head -n 1)
        [ -n "$f" ] || fail "$body: no file from run 1"
        quarters=$(episode_lines "$f" | grep -o 'year="[0-9]*" quarter="[0-9]"' | LC_ALL=C sort | tr '\n' ' ')
        [ "$quarters" = 'year="2025" quarter="1" year="2025" quarter="2" year="2025" quarter="2" ' ] ||
            fail "$body: the episodes' quarters are $quarters, expected Q1, Q2, Q2 (T1, T2, T3 in the clinic's own time zone)"
    done
    [ "$(ledger "$CASE_DIR" "SELECT to_char(watermark AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM tdi.source_state WHERE source = 'tz'")" = '2025-03-02 10:00' ] ||
        fail "the watermark is not the largest changed_at taken as UTC: $(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'tz'")"
    pg_sql clinic_tz -c "UPDATE adm SET sex = 'F', changed_at = '2025-03-02 10:30' WHERE adm_id = 'T1'" >/dev/null
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    grep -qE '^source tz: extracted 1, written 1, quarantined 0 \(changed since ' "$CASE_DIR/run2.out" ||
        fail "run 2 did not read the change 30 minutes after the watermark: $(grep '^source tz:' "$CASE_DIR/run2.out")"
}

# Clinic IT adds sex to the view; no row changes. What the query yields is part of the source's
# fingerprint: the next run reads riverside in full and each body gets a replace of each of the
# 40 riverside episodes it holds whose sex is known (38: one is NULL, one U, records unchanged), as
# --full would send; the state then holds what one full run sends.
case_view_columns() {
    local conf=$CASE_DIR/tdi.conf cols body f1 f2
    clinic_copy clinic_cols clinic_en
    incremental_en clinic_cols
    cols=$(pg_sql clinic_cols -Atc "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'tdi_episodes_inc' AND column_name <> 'sex'")
    pg_sql clinic_cols -c "CREATE VIEW tdi_cols AS SELECT $cols FROM tdi_episodes_inc" -c "GRANT SELECT ON tdi_cols TO tdi_reader" >/dev/null
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_cols 'SELECT * FROM tdi_cols'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    pg_sql clinic_cols -c "CREATE OR REPLACE VIEW tdi_cols AS SELECT $cols, sex FROM tdi_episodes_inc" >/dev/null
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    grep -qx 'source riverside: extracted 47, written 40, quarantined 7' "$CASE_DIR/run2.out" ||
        fail "run 2 did not read riverside in full: $(grep '^source riverside' "$CASE_DIR/run2.out")"
    grep -qF 'tdi: info: source riverside: its crosswalk, query, the columns the query yields, routing or key changed since the last run: reading it in full' "$CASE_DIR/run2.err" ||
        fail "run 2 does not say why it read riverside in full"
    for body in national antwerp; do
        f1=$(submissions "$CASE_DIR" "$body" | sed -n 1p)
        f2=$(submissions "$CASE_DIR" "$body" | sed -n 2p)
        [ -n "$f2" ] || fail "$body: no file from run 2"
        [ "$(episode_lines "$f1" | grep -c ' source="riverside" ')" = 40 ] || fail "$body: run 1 did not send the 40 riverside episodes"
        [ "$(replace_lines "$f2" | grep ' source="riverside" ' | grep -c ' sex="[12]" ')" = 38 ] ||
            fail "$body: run 2 replaced $(replace_lines "$f2" | grep -c ' sex="[12]" ') riverside episodes with their sex, expected 38"
        [ "$(episode_lines "$f2" | grep -c .)" = 38 ] || fail "$body: run 2 sent $(episode_lines "$f2" | grep -c .) records, expected 38"
        [ -z "$(delete_lines "$f2")" ] || fail "$body: run 2 deletes something"
    done
    # once: the new fingerprint is kept, the next night reads incrementally again
    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025
    grep -qE '^source riverside: extracted 0, written 0, quarantined 0 \(changed since ' "$CASE_DIR/run3.out" ||
        fail "run 3 did not read riverside incrementally: $(grep '^source riverside' "$CASE_DIR/run3.out")"
    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

# An incremental source (red team, "A view that suddenly returns no rows"): a night with no
# change reads no rows and is no error; once the clinic's table is truncated, the read finds
# nothing changed and its key scan no episode of 2025, which deleted all 40 of riverside's from
# every body. Now the source fails (exit 5, the message), nothing is published and its watermark
# stays; --allow-empty=riverside then deletes them.
case_empty_incremental() {
    local conf=$CASE_DIR/tdi.conf wm body f msg
    clinic_copy clinic_wm_empty clinic_en
    incremental_en clinic_wm_empty
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_wm_empty 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    grep -qE '^source riverside: extracted 0, written 0, quarantined 0 \(changed since ' "$CASE_DIR/run2.out" ||
        fail "run 2 did not read riverside incrementally: $(grep '^source riverside' "$CASE_DIR/run2.out")"
    stdout_has "body national: no changes, nothing published"
    wm=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")

    pg_sql clinic_wm_empty -c "SET client_min_messages = warning" -c "TRUNCATE admissions CASCADE" >/dev/null
    tdi_try "$CASE_DIR/run3" 5 run --config "$conf" --year 2025
    msg="source riverside: its key scan found no episode of 2025, while the bodies hold 40 of its episodes of 2025: nothing of it is published. Check the source query and the tables behind it; if the clinic really has no episodes of 2025, run with --allow-empty=riverside to delete them"
    stderr_has "tdi: error: $msg"
    stdout_has "source riverside: FAILED after 1 attempt: $msg"
    for body in national antwerp; do
        [ "$(submissions "$CASE_DIR" "$body" | wc -l)" = 1 ] || fail "$body: run 3 published a file"
    done
    [ "$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")" = "$wm" ] ||
        fail "run 3 moved riverside's watermark"
    expect_last_run "$CASE_DIR" source 5

    tdi_try "$CASE_DIR/run4" 0 run --config "$conf" --year 2025 --allow-empty riverside
    stderr_has "source riverside: its key scan found no episode of 2025: its 40 episodes of 2025 are deleted from every body (--allow-empty)"
    for body in national antwerp; do
        f=$(submissions "$CASE_DIR" "$body" | sed -n 2p)
        [ -n "$f" ] || fail "$body: no file from run 4"
        [ "$(delete_lines "$f" | wc -l)" = 40 ] || fail "$body: run 4 deleted $(delete_lines "$f" | wc -l) episodes, not 40"
    done
    pg_sql postgres -c "DROP DATABASE clinic_wm_empty"
}

it_case watermark-failed-reread case_failed_reread
it_case watermark-continuing case_continuing
it_case watermark-key-digest case_key_digest
it_case watermark-source-timezone case_source_timezone
it_case watermark-view-columns case_view_columns
it_case watermark-empty-incremental case_empty_incremental
it_end
