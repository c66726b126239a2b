#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Nightly operations: the state database (tdi init), incremental runs and delta submissions
# (append, replace, delete, sequence), reruns that publish nothing, closed years, the run lock,
# faults (a source killed mid-COPY, SIGTERM, SIGKILL, disk full) and the run ledger.
# Each fault case asserts the exit code, the message, the ledger row and that no partial or temp
# file is in the output directory.
#
# The clinics are copies of the sample databases made for each case (clinic_<case>), so a case
# may change rows. Incremental copies get a change-time column kept by a trigger and a view
# tdi_episodes_inc with it; "slow" copies a view tdi_episodes_slow that sleeps on one row, so a
# run can be caught mid-COPY deterministically.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# slow DB: the view tdi_episodes_slow, which sleeps a minute on episode 9.
slow() {
    pg_sql "$1" <<'SQL'
CREATE VIEW tdi_episodes_slow AS
  SELECT * FROM tdi_episodes
   WHERE CASE WHEN episode_id = '9' THEN (SELECT true FROM pg_sleep(60)) ELSE true END;
GRANT SELECT ON tdi_episodes_slow TO tdi_reader;
SQL
}

# wait_for_sleep DB: returns once a backend in DB sleeps in pg_sleep (tdi is mid-COPY).
wait_for_sleep() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(pg_sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND wait_event = 'PgSleep'")" = 0 ] ||
            return 0
        sleep 0.05
    done
    return 1
}

# wait_unlocked: returns once no session holds tdi's run lock.
wait_unlocked() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(pg_sql postgres -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7627881 AND objid = 1")" != 0 ] ||
            return 0
        sleep 0.05
    done
    return 1
}

# sigterm_stops PID ERR: sends SIGTERM to the background run PID (stderr in ERR) and expects
# what a stopped run must leave: exit 10, the message, no file under out/, the ledger's
# "interrupted". Clears the caller's EXIT trap that kills PID.
sigterm_stops() {
    local pid=$1 err=$2 rc=0
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    trap - EXIT
    [ "$rc" = 10 ] || { cat "$err" >&2; fail "SIGTERM: exit $rc, expected 10"; }
    grep -qF 'tdi: error: stopped by signal 15; nothing of this run was published' "$err" ||
        { cat "$err" >&2; fail "SIGTERM: no 'stopped by signal 15' message"; }
    [ -z "$(find "$CASE_DIR/out" -type f 2>/dev/null)" ] || fail "SIGTERM left a file: $(find "$CASE_DIR/out" -type f)"
    expect_last_run "$CASE_DIR" interrupted 10
}

# ---------------------------------------------------------------- the state database

V=$STATE_VERSION

case_init() {
    local conf=$CASE_DIR/tdi.conf db
    run_setup "$CASE_DIR"
    db=$(cat "$CASE_DIR/state.db")
    [ "$(cat "$CASE_DIR/init.out")" = "state database: schema version 0 -> $V" ] ||
        fail "first tdi init said: $(cat "$CASE_DIR/init.out")"
    tdi_try "$CASE_DIR/again" 0 init --config "$conf"
    stdout_has "state database: schema version $V, up to date"
    [ "$(state_sql "$db" "SELECT string_agg(version::text, ',' ORDER BY version) FROM tdi.schema_version")" = "$(seq -s, 1 "$V")" ] ||
        fail "tdi.schema_version does not hold exactly versions 1 to $V"
    # a database of version 2 gets migrations 3 and on (and only them)
    state_sql "$db" "$STATE_UNDO_AFTER_4; ALTER TABLE tdi.sent DROP COLUMN qi, DROP COLUMN sens, DROP COLUMN drug; DROP TABLE tdi.body_blanking;
                     DELETE FROM tdi.schema_version WHERE version > 2" >/dev/null
    tdi_try "$CASE_DIR/upgrade" 0 init --config "$conf"
    stdout_has "state database: schema version 2 -> $V"
    [ "$(state_sql "$db" "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'tdi' AND table_name = 'sent' AND column_name IN ('qi', 'sens', 'drug')")" = 3 ] ||
        fail "migrations 3 and 4 did not add tdi.sent.qi, .sens and .drug"
    tdi_try "$CASE_DIR/status" 0 status --config "$conf"
    stdout_has "no runs recorded yet"
    # a database at schema version 1 (before the counting unit) is upgraded in place
    state_sql "$db" "$STATE_UNDO_AFTER_4; ALTER TABLE tdi.sent DROP COLUMN person, DROP COLUMN centre, DROP COLUMN start_ymd, DROP COLUMN status, DROP COLUMN entrant, DROP COLUMN earlier, DROP COLUMN qi, DROP COLUMN sens, DROP COLUMN drug; DROP TABLE tdi.body_blanking; DELETE FROM tdi.schema_version WHERE version > 1" >/dev/null
    tdi_try "$CASE_DIR/upgrade" 0 init --config "$conf"
    [ "$(cat "$CASE_DIR/upgrade.out")" = "state database: schema version 1 -> $V" ] ||
        fail "the upgrade said: $(cat "$CASE_DIR/upgrade.out")"
    [ "$(state_sql "$db" "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'tdi' AND table_name = 'sent' AND column_name IN ('person', 'centre', 'start_ymd', 'status', 'entrant', 'earlier')")" = 6 ] ||
        fail "the upgrade did not add the counting unit's columns"

    # A state database without the schema: run refuses, with the remedy, and touches nothing.
    state_db_create "$db"
    tdi_try "$CASE_DIR/run" 12 run --config "$conf" --year 2025
    stderr_has "state database: no tdi schema in it: run 'tdi init' with this configuration first"
    [ ! -e "$CASE_DIR/out" ] || fail "a run without state schema created the output directory"
    # a schema of another version: older (tdi init would upgrade it), newer (tdi must be newer)
    tdi_try "$CASE_DIR/init2" 0 init --config "$conf"
    state_sql "$db" "DELETE FROM tdi.schema_version" >/dev/null
    tdi_try "$CASE_DIR/old" 12 run --config "$conf" --year 2025
    stderr_has "state database: schema version 0 is older than this tdi needs ($V): run 'tdi init' with this configuration to upgrade it"
    state_sql "$db" "INSERT INTO tdi.schema_version VALUES ($((V + 1)), now(), 'test', 'from the future')" >/dev/null
    tdi_try "$CASE_DIR/new" 12 run --config "$conf" --year 2025
    stderr_has "state database: schema version $((V + 1)) is newer than this tdi knows ($V): use a newer tdi"
    tdi_try "$CASE_DIR/newinit" 12 init --config "$conf"
    stderr_has "state database: schema version $((V + 1)) is newer than this tdi knows ($V): use a newer tdi"
    # no state key at all
    sed -i '/^state *=/d' "$conf"
    tdi_try "$CASE_DIR/nostate" 3 run --config "$conf" --year 2025
    stderr_has "$conf: 'state' is not set"
}

# ---------------------------------------------------------------- corrections

# Riverside reads incrementally. Run 1 sends everything (appends); then one row changes and one
# is deleted: run 2 sends exactly one replace and one delete, to both bodies that hold them, with
# sequence 2; run 3 (nothing changed) publishes nothing and exits 0. A full run into a fresh state
# database ends with exactly what the bodies hold after the three runs.
case_delta() {
    local conf=$CASE_DIR/tdi.conf body first second changed gone files before
    clinic_copy clinic_delta clinic_en
    incremental_en clinic_delta
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_delta 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    top_key "$conf" 'incremental_overlap = 0'
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    for body in national antwerp; do
        changed=$(episode_key "$body" riverside 3)
        gone=$(episode_key "$body" riverside 4)
        first=$(one_file "$CASE_DIR/out/$body/tdi-$body-2025-*.xml.gz")
        episode_lines "$first" | grep -F " key=\"$changed\" " >/dev/null || fail "$body: run 1 did not send episode 3"
        episode_lines "$first" | grep -F " key=\"$gone\" " >/dev/null || fail "$body: run 1 did not send episode 4"
        [ -z "$(replace_lines "$first")$(delete_lines "$first")" ] || fail "$body: a first file has replaces or deletes"
    done

    pg_sql clinic_delta -c "UPDATE admissions SET route = 'SMOKE' WHERE adm_id = 3" \
        -c "DELETE FROM intake WHERE adm_id = 4" -c "DELETE FROM admissions WHERE adm_id = 4"
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    grep -qE '^source riverside: extracted 1, written 1, quarantined 0 \(changed since [0-9-]{10}T[0-9:.]{15}Z\)$' "$CASE_DIR/run2.out" ||
        fail "run 2 did not read riverside incrementally: $(grep '^source riverside' "$CASE_DIR/run2.out")"
    for body in national antwerp; do
        changed=$(episode_key "$body" riverside 3)
        gone=$(episode_key "$body" riverside 4)
        mapfile -t files < <(submissions "$CASE_DIR" "$body")
        [ "${#files[@]}" = 2 ] || fail "$body: ${#files[@]} submissions after run 2, expected 2"
        second=${files[1]}
        valid_both "$second"
        [ "$(episode_lines "$second" | wc -l)" = 1 ] || fail "$body: run 2 sent $(episode_lines "$second" | wc -l) episodes, expected 1"
        [ "$(replace_lines "$second" | wc -l)" = 1 ] || fail "$body: run 2 has no single replace"
        replace_lines "$second" | grep -F "<episode action=\"replace\" key=\"$changed\" " >/dev/null || fail "$body: the replace is not episode 3"
        replace_lines "$second" | grep -E ' route="2"( |/>)' >/dev/null || fail "$body: the replace does not carry the new route (2, smoke)"
        [ "$(delete_lines "$second")" = "<delete key=\"$gone\"/>" ] || fail "$body: the deletes are '$(delete_lines "$second")', expected episode 4 only"
        gzip -dc "$second" | grep -E '^<submission .* sequence="2" ' >/dev/null || fail "$body: run 2's file is not sequence 2"
        [ "$(json_field "${second%.xml.gz}.manifest.json" sequence)" = 2 ] || fail "$body: manifest sequence is not 2"
        [ "$(json_field "${second%.xml.gz}.manifest.json" replaces)" = 1 ] || fail "$body: manifest replaces is not 1"
        [ "$(json_field "${second%.xml.gz}.manifest.json" deletes)" = 1 ] || fail "$body: manifest deletes is not 1"
    done
    grep -qxF "body national: 1 records, 1 replaces, 1 deletes, sequence 2 -> ${files[1]//antwerp/national}" "$CASE_DIR/run2.out" ||
        fail "run 2's summary has no line for national's second file"

    before=$(find "$CASE_DIR/out" -type f | wc -l)
    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025
    stdout_has "body national: no changes, nothing published"
    stdout_has "body antwerp: no changes, nothing published"
    grep -qE '^source riverside: extracted 0, written 0, quarantined 0 \(changed since ' "$CASE_DIR/run3.out" ||
        fail "run 3 read riverside rows that did not change"
    grep -qE '^quarantine debrug: [0-9]+ rows, the same as in the last file, not published again$' "$CASE_DIR/run3.out" ||
        fail "run 3 published De Brug's quarantine file again"
    [ "$(find "$CASE_DIR/out" -type f | wc -l)" = "$before" ] || fail "run 3 published something"
    # run 2 read riverside incrementally: the tables (a snapshot) wait for a full read
    grep -qx 'tables national: not published: source riverside was read incrementally (a full read publishes them)' "$CASE_DIR/run2.out" ||
        fail "run 2 published tables from an incremental read"
    no_temp_files "$CASE_DIR"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(status || ' ' || exit_code, ',' ORDER BY run_no) FROM tdi.run")" = "ok 0,ok 0,ok 0" ] ||
        fail "the ledger does not hold three good runs"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(body || ' ' || sequence, ',' ORDER BY body) FROM tdi.body_sequence")" = "antwerp 2,national 2" ] ||
        fail "the sequence numbers are not 2"

    # A change time in the future (clock skew) does not carry the watermark past the source's
    # clock: the row is read again each run (and sends nothing), later changes are not hidden.
    pg_sql clinic_delta -c "ALTER TABLE admissions DISABLE TRIGGER touch" \
        -c "UPDATE admissions SET changed_at = '2999-01-01' WHERE adm_id = 5" \
        -c "ALTER TABLE admissions ENABLE TRIGGER touch"
    tdi_try "$CASE_DIR/skew" 0 run --config "$conf" --year 2025
    [ "$(ledger "$CASE_DIR" "SELECT watermark < now() + interval '1 hour' FROM tdi.source_state WHERE source = 'riverside'")" = t ] ||
        fail "a future change time moved the watermark into the future"
    tdi_try "$CASE_DIR/skew2" 0 run --config "$conf" --year 2025
    grep -qE '^source riverside: extracted 1, written 1, quarantined 0 \(changed since ' "$CASE_DIR/skew2.out" ||
        fail "the row with a future change time is not read again"
    stdout_has "body national: no changes, nothing published"

    # --full reads every source in full and still finds nothing to send.
    tdi_try "$CASE_DIR/full" 0 run --config "$conf" --year 2025 --full
    stdout_has "body national: no changes, nothing published"
    # ... but the tables the incremental runs left behind: a full read brings them, once
    grep -qE '^tables national: [0-9]+ tables, [0-9]+ cells suppressed \([0-9]+ of them added by the audit\) -> ' "$CASE_DIR/full.out" ||
        fail "the full run did not bring national's tables up to date"
    tdi_try "$CASE_DIR/full2" 0 run --config "$conf" --year 2025 --full
    ! grep -q '^tables ' "$CASE_DIR/full2.out" || fail "tables published again with nothing new"
    [ "$(ledger "$CASE_DIR" "SELECT s.mode FROM tdi.run_source s JOIN tdi.run r USING (run_no) WHERE s.source = 'riverside' ORDER BY run_no DESC LIMIT 1")" = full ] ||
        fail "--full did not read riverside in full"

    # What the bodies hold after the deltas is what one full run sends.
    same_as_full_run "$CASE_DIR" "encode(hash, 'hex'), entrant, earlier"
}

# A full-read source (no change-time column): a row moved to a centre antwerp does not take is a
# delete for antwerp and a replace for national; a row that now breaks a rule is a delete.
case_routed_away() {
    local conf=$CASE_DIR/tdi.conf moved broken nat ant
    clinic_copy clinic_moved clinic_nl
    run_setup "$CASE_DIR"
    use_db "$conf" debrug clinic_moved
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    # the routes the run records (which body depends on which source) are the pairs it sent
    [ "$(ledger "$CASE_DIR" "SELECT body || ' ' || source FROM tdi.route WHERE year = 2025 ORDER BY 1")" = \
        "$(ledger "$CASE_DIR" "SELECT DISTINCT body || ' ' || source FROM tdi.sent WHERE year = 2025 ORDER BY 1")" ] ||
        fail "the routes recorded are not the bodies and sources of what was sent: $(ledger "$CASE_DIR" "SELECT body || ' ' || source FROM tdi.route ORDER BY 1" | tr '\n' ,)"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.route WHERE year = 2025")" -ge 3 ] || fail "fewer than 3 routes recorded"
    moved=$(episode_key antwerp debrug BH-25-0112)
    episode_lines "$(one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.xml.gz")" | grep -F " key=\"$moved\" " >/dev/null ||
        fail "BH-25-0112 (DB-ANTW) did not go to antwerp"
    pg_sql clinic_moved -c "UPDATE behandelingen SET locatie = 'DB-BRU' WHERE behandeling_id = 'BH-25-0112'" \
        -c "UPDATE behandelingen SET hoofdmiddel = 'lachgas' WHERE behandeling_id = 'BH-25-0101'"
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    mapfile -t nat < <(submissions "$CASE_DIR" national)
    mapfile -t ant < <(submissions "$CASE_DIR" antwerp)
    [ "${#nat[@]}" = 2 ] && [ "${#ant[@]}" = 2 ] || fail "expected a second file for both bodies"
    moved=$(episode_key national debrug BH-25-0112)
    broken=$(episode_key national debrug BH-25-0101)
    [ "$(replace_lines "${nat[1]}" | grep -c .)" = 1 ] && replace_lines "${nat[1]}" | grep -F " key=\"$moved\" " >/dev/null ||
        fail "national: not exactly one replace, of BH-25-0112"
    [ "$(delete_lines "${nat[1]}")" = "<delete key=\"$broken\"/>" ] || fail "national: the deletes are '$(delete_lines "${nat[1]}")'"
    moved=$(episode_key antwerp debrug BH-25-0112)
    [ -z "$(episode_lines "${ant[1]}")" ] || fail "antwerp: run 2 sent episodes"
    [ "$(delete_lines "${ant[1]}")" = "<delete key=\"$moved\"/>" ] || fail "antwerp: the deletes are '$(delete_lines "${ant[1]}")'"
    valid_both "${ant[1]}"
}

# A year's table of tdi.sent (migration 11: one per year) is analysed before a pass only when its
# statistics no longer describe a served body's rows, and tdi.sent as a whole (every year's
# table, and the statistics of all years the planner estimates its joins by) when a served body
# is missing from those (state/st_pass.c): a first run of a year holds nothing there yet; the
# next run finds national's and antwerp's rows in no statistics and analyses all; a run after it
# does not; a new body (brussels) gets the analysis of all on the run after its first rows, a new
# year (2024) that of its own table only (2025's table's analyses stay as they were). The years'
# tables are made here, with autovacuum off, so every analysis seen is tdi's; --verbose says.
case_sent_statistics() {
    local conf=$CASE_DIR/tdi.conf y all="analysing what was sent (a served body is not in the statistics of all years)"
    run_setup "$CASE_DIR"
    for y in 2024 2025; do
        ledger "$CASE_DIR" "CREATE TABLE tdi.sent_$y PARTITION OF tdi.sent FOR VALUES IN ($y) WITH (autovacuum_enabled = false)" >/dev/null
    done
    in_stats() { ledger "$CASE_DIR" "SELECT coalesce(string_agg(v, ' ' ORDER BY v), 'none') FROM pg_stats, unnest(most_common_vals::text::text[]) v WHERE schemaname = 'tdi' AND tablename = '$1' AND attname = 'body'"; }
    analyses() { ledger "$CASE_DIR" "SELECT analyze_count FROM pg_stat_user_tables WHERE relid = 'tdi.sent_$1'::regclass"; }
    stats_run() {
        tdi_try "$CASE_DIR/$1" 0 run --config "$conf" --year "$2" --verbose
        grep -qxF "tdi: debug: state database: $3" "$CASE_DIR/$1.err" || fail "$1: stderr does not say '$3': $(grep -F 'what was sent' "$CASE_DIR/$1.err")"
    }
    stats_run run1 2025 'the statistics of what was sent still hold'
    [ "$(in_stats sent_2025) $(in_stats sent)" = "none none" ] || fail "run 1 analysed tdi.sent: $(in_stats sent_2025), $(in_stats sent)"
    stats_run run2 2025 "$all"
    [ "$(in_stats sent_2025)" = "antwerp national" ] || fail "after run 2 the statistics of 2025 hold the bodies '$(in_stats sent_2025)'"
    [ "$(in_stats sent)" = "antwerp national" ] || fail "after run 2 the statistics of all years hold the bodies '$(in_stats sent)'"
    stats_run run3 2025 'the statistics of what was sent still hold'
    printf '\n[body brussels]\nregions = BE100\n' >>"$conf"
    stats_run run4 2025 'the statistics of what was sent still hold'
    [ "$(ledger "$CASE_DIR" "SELECT count(*) > 0 FROM tdi.sent WHERE body = 'brussels'")" = t ] || fail "brussels got nothing"
    stats_run run5 2025 "$all"
    [ "$(in_stats sent_2025)" = "antwerp brussels national" ] || fail "after run 5 the statistics of 2025 hold the bodies '$(in_stats sent_2025)'"
    [ "$(analyses 2025)" = 2 ] || fail "tdi.sent_2025 was analysed $(analyses 2025) times, not 2"
    stats_run run6 2024 'the statistics of what was sent still hold'
    [ "$(in_stats sent_2024)" = none ] || fail "run 6 analysed tdi.sent_2024: $(in_stats sent_2024)"
    stats_run run7 2024 "analysing what was sent (a served body's year is not in its statistics)"
    [ "$(in_stats sent_2024)" = "antwerp brussels national" ] || fail "after run 7 the statistics of 2024 hold the bodies '$(in_stats sent_2024)'"
    [ "$(analyses 2025)" = 2 ] || fail "run 7 analysed tdi.sent_2025 too"
}

# ---------------------------------------------------------------- closed years

case_closed_year() {
    local conf=$CASE_DIR/tdi.conf
    run_setup "$CASE_DIR"
    tdi_try "$CASE_DIR/close" 0 year close 2025 --config "$conf"
    stdout_has "reporting year 2025 closed"
    tdi_try "$CASE_DIR/again" 0 year close 2025 --config "$conf"
    stdout_has "reporting year 2025 was already closed"
    tdi_try "$CASE_DIR/status" 0 year status 2025 --config "$conf"
    grep -qE '^reporting year 2025 is closed \(since [0-9-]+ [0-9:]+Z by [^ ]+\)$' "$CASE_DIR/status.out" ||
        fail "year status says: $(cat "$CASE_DIR/status.out")"
    tdi_try "$CASE_DIR/run" 13 run --config "$conf" --year 2025
    stderr_has "reporting year 2025 is closed (since "
    stderr_has "'tdi year reopen 2025 --config $conf' lets runs change it again"
    [ ! -e "$CASE_DIR/out" ] || no_submission "$CASE_DIR"
    [ -z "$(find "$CASE_DIR/out" -type f 2>/dev/null)" ] || fail "a run for a closed year wrote a file"
    expect_last_run "$CASE_DIR" closed 13
    # another year is not affected; reopening lets 2025 run again
    tdi_try "$CASE_DIR/reopen" 0 year reopen 2025 --config "$conf"
    stdout_has "reporting year 2025 reopened"
    tdi_try "$CASE_DIR/run2" 0 run --config "$conf" --year 2025
    expect_last_run "$CASE_DIR" ok 0
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(action, ',' ORDER BY at) FROM tdi.year_event WHERE year = 2025")" = close,reopen ] ||
        fail "the year's history is not close,reopen"
}

# ---------------------------------------------------------------- faults

# slow_setup DIR CLINIC: run_setup with riverside reading a slow copy; a third body, brussels,
# takes only De Brug's region, so it does not depend on riverside.
slow_setup() {
    clinic_copy "$2" clinic_en
    slow "$2"
    run_setup "$1"
    use_db "$1/tdi.conf" riverside "$2" 'SELECT * FROM tdi_episodes_slow'
    printf '\n[body brussels]\nregions = BE100\n' >>"$1/tdi.conf"
}

# A second run while one is active exits at once with 9 and changes nothing; SIGTERM then stops
# the first cleanly with 10: no partial file, ledger "interrupted".
case_concurrent_and_sigterm() {
    local conf=$CASE_DIR/tdi.conf pid
    slow_setup "$CASE_DIR" clinic_slow1
    "$TDI" run --config "$conf" --year 2025 >"$CASE_DIR/first.out" 2>"$CASE_DIR/first.err" &
    pid=$!
    trap 'kill "$pid" 2>/dev/null || true' EXIT
    wait_for_sleep clinic_slow1 || fail "the first run never reached the slow row"

    tdi_try "$CASE_DIR/second" 9 run --config "$conf" --year 2025
    stderr_has "another tdi run is active (it holds the run lock in the state database, server process "
    stderr_has "this one stops without changing anything"
    kill -0 "$pid" 2>/dev/null || fail "the first run ended before the second was refused"
    [ "$(run_count "$CASE_DIR")" = 1 ] || fail "the refused run left a ledger row"
    [ "$(last_run "$CASE_DIR")" = "running -" ] || fail "the active run is not 'running' in the ledger"
    tdi_try "$CASE_DIR/init" 9 init --config "$conf"
    tdi_try "$CASE_DIR/close" 9 year close 2025 --config "$conf"

    sigterm_stops "$pid" "$CASE_DIR/first.err"
    no_submission "$CASE_DIR"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.source_state")" = 0 ] || fail "an interrupted run moved a watermark"
}

# The source's server ends tdi's backend mid-COPY, on every attempt: retried with backoff, then
# the bodies that take riverside get nothing, brussels is served, exit 5, the ledger says why.
case_source_killed() {
    local conf=$CASE_DIR/tdi.conf killer w
    slow_setup "$CASE_DIR" clinic_slow2
    top_key "$conf" 'retry_delay = 0.05'
    (
        for _ in 1 2; do
            wait_for_sleep clinic_slow2 || exit 1
            pg_sql postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'clinic_slow2' AND wait_event = 'PgSleep'" >/dev/null
        done
    ) &
    killer=$!
    tdi_try "$CASE_DIR/run" 5 run --config "$conf" --year 2025
    wait "$killer" || fail "the killer did not find tdi sleeping twice"
    stderr_has "source riverside: attempt 1 of 2 failed; trying again in 50 ms"
    stderr_has "source riverside: reading the COPY stream failed: terminating connection due to administrator command (SQLSTATE 57P01)"
    stdout_has "source riverside: FAILED after 2 attempts: source riverside: reading the COPY stream failed: terminating connection due to administrator command (SQLSTATE 57P01)"
    stdout_has "body national: nothing published: source riverside failed"
    stdout_has "body antwerp: nothing published: source riverside failed"
    # brussels takes every record of De Brug: as many as De Brug wrote
    w=$(sed -n 's/^source debrug: extracted [0-9]*, written \([0-9]*\), .*/\1/p' "$CASE_DIR/run.out")
    grep -qE "^body brussels: $w records, 0 replaces, 0 deletes, sequence 1 -> " "$CASE_DIR/run.out" ||
        fail "brussels was not served with De Brug's $w records: $(grep '^body brussels' "$CASE_DIR/run.out")"
    no_submission "$CASE_DIR" national antwerp
    valid_both "$(one_file "$CASE_DIR/out/brussels/tdi-brussels-2025-*.xml.gz")"
    expect_last_run "$CASE_DIR" source 5
    [ "$(ledger "$CASE_DIR" "SELECT status || ' ' || attempts || ' ' || error FROM tdi.run_source WHERE source = 'riverside'")" = \
        "source 2 source riverside: reading the COPY stream failed: terminating connection due to administrator command (SQLSTATE 57P01)" ] ||
        fail "the ledger does not say why riverside failed"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(owner, ',' ORDER BY owner) FROM tdi.run_file WHERE kind = 'submission'")" = brussels ] ||
        fail "the ledger does not list brussels' file alone"
    # De Brug also feeds national, which got nothing: its watermark must not move
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.source_state")" = 0 ] || fail "a watermark moved"

    # The source is back: national and antwerp get everything, brussels nothing new.
    use_db "$conf" riverside clinic_slow2 'SELECT * FROM tdi_episodes'
    tdi_try "$CASE_DIR/again" 0 run --config "$conf" --year 2025
    stdout_has "body brussels: no changes, nothing published"
    w=$(sed -n 's/^balance: extracted [0-9]* = written \([0-9]*\) .*/\1/p' "$CASE_DIR/again.out")
    grep -qE "^body national: $w records, 0 replaces, 0 deletes, sequence 1 -> " "$CASE_DIR/again.out" ||
        fail "national did not get all $w records on the next run: $(grep '^body national' "$CASE_DIR/again.out")"
}

# The source's server ends tdi's backend after hundreds of records went on to the state
# database (read on the run's thread, the spool stage's COPY into run_rec open with their lines):
# that COPY is discarded, the retry reads every row again, and each body gets each episode once,
# as a run that was never interrupted gives it. tests/bench/gen.sql's 600 rows: the clinic sleeps
# before its row 500 until the killer clears the pause, then ends the backend.
case_source_lost_loading() {
    local conf=$CASE_DIR/tdi.conf ref=$CASE_DIR/ref killer
    pg_sql postgres -c "DROP DATABASE IF EXISTS clinic_load" -c "CREATE DATABASE clinic_load"
    pg_sql clinic_load -v n=600 -v tbl=eps -f "$TDI_ROOT/tests/bench/gen.sql"
    pg_sql clinic_load <<'SQL'
CREATE TABLE pause (paused boolean);
INSERT INTO pause VALUES (true);
CREATE VIEW eps_slow AS
  SELECT * FROM eps
   WHERE CASE WHEN episode_id = 'ADM00000500' AND (SELECT paused FROM pause)
              THEN (SELECT true FROM pg_sleep(60)) ELSE true END;
GRANT SELECT ON eps, eps_slow, pause TO tdi_reader;
SQL
    for dir in "$ref" "$CASE_DIR"; do
        run_setup "$dir"
        top_key "$dir/tdi.conf" 'max_parallel_sources = 1'
        top_key "$dir/tdi.conf" 'retry_delay = 0.05'
        use_db "$dir/tdi.conf" riverside clinic_load 'SELECT * FROM eps'
        set_source "$dir/tdi.conf" riverside crosswalk "$TDI_ROOT/tests/bench/bench.cw"
        sed -i '/^\[source riverside\]/,/^\[/{/^national_id/d}' "$dir/tdi.conf"
    done
    tdi_try "$ref/run" 0 run --config "$ref/tdi.conf" --year 2025
    set_source "$conf" riverside query 'SELECT * FROM eps_slow'
    (
        wait_for_sleep clinic_load || exit 1
        pg_sql clinic_load -c "UPDATE pause SET paused = false" >/dev/null
        pg_sql postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'clinic_load' AND wait_event = 'PgSleep'" >/dev/null
    ) &
    killer=$!
    tdi_try "$CASE_DIR/run" 0 run --config "$conf" --year 2025
    wait "$killer" || fail "the killer did not find tdi sleeping"
    stderr_has "source riverside: attempt 1 of 2 failed; trying again in 50 ms"
    grep -qxF "$(grep '^source riverside: extracted ' "$ref/run.out")" "$CASE_DIR/run.out" ||
        fail "riverside's counts differ from a run never interrupted: $(grep '^source riverside' "$CASE_DIR/run.out")"
    [ "$(grep -c '^source riverside: extracted 5[0-9][0-9], ' "$CASE_DIR/run.out")" = 1 ] ||
        fail "riverside did not extract its 500-odd rows of 2025: $(grep '^source riverside' "$CASE_DIR/run.out")"
    diff <(episode_lines "$(one_file "$ref/out/national/tdi-national-2025-*.xml.gz")" | LC_ALL=C sort) \
        <(episode_lines "$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")" | LC_ALL=C sort) >&2 ||
        fail "national's episodes differ from a run never interrupted"
}

# SIGKILL mid-run: the ledger row stays "running" and a temp file stays; the next run takes the
# lock, marks the row "abandoned" and sweeps the temp file.
case_killed_run() {
    local conf=$CASE_DIR/tdi.conf pid left
    slow_setup "$CASE_DIR" clinic_slow3
    "$TDI" run --config "$conf" --year 2025 >"$CASE_DIR/first.out" 2>"$CASE_DIR/first.err" &
    pid=$!
    trap 'kill "$pid" 2>/dev/null || true' EXIT
    wait_for_sleep clinic_slow3 || fail "the run never reached the slow row"
    kill -KILL "$pid"
    { wait "$pid"; } 2>/dev/null || true
    trap - EXIT
    # Its quarantine files being written: riverside's, and debrug's when the two were read at once.
    left=$(find "$CASE_DIR/out" -name '.*.tmp' | wc -l)
    [ "$left" -gt 0 ] || fail "the killed run left no temp file to sweep"
    : >"$CASE_DIR/out/.keep"
    use_db "$conf" riverside clinic_slow3 'SELECT * FROM tdi_episodes'
    wait_unlocked || fail "the killed run's session still holds the lock"
    tdi_try "$CASE_DIR/next" 0 run --config "$conf" --year 2025
    if [ "$left" = 1 ]; then
        stderr_has "tdi: info: removed 1 temp file left by an interrupted run"
    else
        stderr_has "tdi: info: removed $left temp files left by an interrupted run"
    fi
    no_temp_files "$CASE_DIR"
    [ -e "$CASE_DIR/out/.keep" ] || fail "the sweep removed a file that is not tdi's"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(status, ',' ORDER BY run_no) FROM tdi.run")" = abandoned,ok ] ||
        fail "the ledger is not abandoned,ok"
}

# SIGKILL between a submission's rename and its manifest's: the manifest is the commit marker,
# so the data file left without one is not published. tdi load and tdi audit skip it with a
# warning (a receiver may have fetched it); the next run removes it, one info line, and publishes
# the change again under the same sequence. A run killed before its page is renamed leaves the
# page's temp file, which the run after removes.
case_killed_publish() {
    local conf=$CASE_DIR/tdi.conf db=tdi_receiver_killpub db2=tdi_receiver_fetched conn conn2 f orphan=""
    clinic_copy clinic_killpub clinic_en
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_killpub
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    pg_sql clinic_killpub -c "UPDATE admissions SET route = 'SMOKE' WHERE adm_id = 3"
    TDI_TEST_KILL_BEFORE_RENAME='tdi-national-*Z.manifest.json' tdi_exec "$CASE_DIR/run2" run --config "$conf" --year 2025
    expect_rc 137
    [ "$(submissions "$CASE_DIR" national | wc -l)" = 2 ] || fail "national does not have run 1's and run 2's submission"
    for f in $(submissions "$CASE_DIR" national); do
        [ -e "${f%.xml.gz}.manifest.json" ] || orphan=$f
    done
    [ -n "$orphan" ] || fail "the killed run left no submission without its manifest"
    cp "$orphan" "$CASE_DIR/orphan.xml.gz"
    state_db_create "$db" >/dev/null
    conn="host=$PGHOST port=$PGPORT dbname=$db user=postgres"
    tdi_try "$CASE_DIR/load1" 0 load --into "$conn" "$CASE_DIR/out/national"
    stderr_has "tdi: warning: $orphan: no manifest, so not published (its run is publishing it or was interrupted): skipped"
    [ "$(grep -c ' appends, ' "$CASE_DIR/load1.out")" = 1 ] || fail "the first load did not apply sequence 1 alone: $(cat "$CASE_DIR/load1.out")"
    tdi_try "$CASE_DIR/audit1" 0 audit "$CASE_DIR/out/national"
    [ ! -s "$CASE_DIR/audit1.out" ] || fail "audit with the unmanifested file: $(cat "$CASE_DIR/audit1.out")"

    TDI_TEST_KILL_BEFORE_RENAME='report-*.html' tdi_exec "$CASE_DIR/run3" run --config "$conf" --year 2025
    expect_rc 137
    stderr_has "tdi: info: removed $(basename "$orphan"): an interrupted run left it without its manifest (not published)"
    [ ! -e "$orphan" ] || fail "the next run did not remove the submission without its manifest"
    [ "$(find "$CASE_DIR/out" -maxdepth 1 -name '.report-*.html.tmp' | wc -l)" = 1 ] || fail "the run killed at its page left no page temp file"
    tdi_try "$CASE_DIR/run4" 0 run --config "$conf" --year 2025
    stderr_has "tdi: info: removed 1 temp file left by an interrupted run"
    no_temp_files "$CASE_DIR"

    tdi_try "$CASE_DIR/load2" 0 load --into "$conn" "$CASE_DIR/out/national"
    [ "$(pg_sql "$db" -c "SELECT string_agg(sequence::text, ' ' ORDER BY sequence) FROM tdi_receiver.file")" = "1 2" ] ||
        fail "the receiver does not hold sequences 1 and 2"
    tdi_try "$CASE_DIR/audit2" 0 audit "$CASE_DIR/out/national"
    [ ! -s "$CASE_DIR/audit2.out" ] || fail "audit after the sweep: $(cat "$CASE_DIR/audit2.out")"
    # a receiver that fetched the unmanifested file before the sweep: the series still loads
    mkdir "$CASE_DIR/fetched"
    cp "$CASE_DIR"/out/national/tdi-* "$CASE_DIR/orphan.xml.gz" "$CASE_DIR/fetched/"
    mv "$CASE_DIR/fetched/orphan.xml.gz" "$CASE_DIR/fetched/$(basename "$orphan")"
    state_db_create "$db2" >/dev/null
    conn2="host=$PGHOST port=$PGPORT dbname=$db2 user=postgres"
    tdi_try "$CASE_DIR/load3" 0 load --into "$conn2" "$CASE_DIR/fetched"
    stderr_has "$(basename "$orphan"): no manifest, so not published"
    [ "$(pg_sql "$db2" -c "SELECT string_agg(sequence::text, ' ' ORDER BY sequence) FROM tdi_receiver.file")" = "1 2" ] ||
        fail "the receiver of the fetched files does not hold sequences 1 and 2"
    tdi_try "$CASE_DIR/audit3" 0 audit "$CASE_DIR/fetched"
    [ ! -s "$CASE_DIR/audit3.out" ] || fail "audit of the fetched files: $(cat "$CASE_DIR/audit3.out")"
}

# Disk full while writing (a file size limit: write() fails with EFBIG, SIGXFSZ is ignored).
case_disk_full() {
    local conf=$CASE_DIR/tdi.conf rc=0
    run_setup "$CASE_DIR"
    (
        ulimit -f 2
        exec "$TDI" run --config "$conf" --year 2025
    ) >"$CASE_DIR/run.out" 2>"$CASE_DIR/run.err" || rc=$?
    TDI_LAST=$CASE_DIR/run
    [ "$rc" = 7 ] || { cat "$CASE_DIR/run.err" >&2; fail "exit $rc, expected 7"; }
    stderr_has "write failed: File too large"
    stderr_has "run failed (output); nothing of this run was published"
    no_submission "$CASE_DIR"
    [ -z "$(find "$CASE_DIR/out" -type f)" ] || fail "a file was left: $(find "$CASE_DIR/out" -type f)"
    expect_last_run "$CASE_DIR" output 7
}

# Disk full for real, on a small tmpfs as the output directory (the spool elsewhere): what was
# published before the disk filled is recorded, nothing partial stays, and the next run (with
# room) sends the rest without sending anything twice.
case_disk_full_tmpfs() {
    local conf=$CASE_DIR/tdi.conf rc=0 mnt=$CASE_DIR/out
    run_setup "$CASE_DIR"
    mkdir -p "$mnt" "$CASE_DIR/work"
    top_key "$conf" "work_dir = $CASE_DIR/work"
    mount -t tmpfs -o size=12k,mode=0755 tdi-test "$mnt"
    trap 'umount "$mnt" 2>/dev/null || true' EXIT
    tdi_exec "$CASE_DIR/run" run --config "$conf" --year 2025
    expect_rc 7
    stderr_has "No space left on device"
    no_temp_files "$CASE_DIR"
    expect_last_run "$CASE_DIR" output 7
    cp -a "$mnt" "$CASE_DIR/full-out"
    umount "$mnt"
    trap - EXIT
    rm -rf "$mnt"
    mv "$CASE_DIR/full-out" "$mnt"
    # each published body is in the ledger with its file; the next run completes the others
    local before
    before=$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.run_file WHERE kind = 'submission'")
    [ "$before" = "$(find "$mnt" -name 'tdi-*.xml.gz' | wc -l)" ] || fail "the ledger lists $before submissions, the disk holds $(find "$mnt" -name 'tdi-*.xml.gz' | wc -l)"
    tdi_try "$CASE_DIR/again" 0 run --config "$conf" --year 2025
    [ "$(find "$mnt" -name 'tdi-*.xml.gz' | wc -l)" = 2 ] || fail "after the rerun the bodies do not have one file each"
}

# refuse_sent DB BODY: a trigger on DB's tdi.sent that runs BODY (PL/pgSQL) before each insert.
refuse_sent() {
    pg_sql "$1" -c "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN $2; RETURN NULL; END\$\$" \
        -c "CREATE TRIGGER test_refuse BEFORE INSERT ON tdi.sent FOR EACH STATEMENT EXECUTE FUNCTION test_refuse()" >/dev/null
}

# The state database refuses what a body was sent, in the statement that runs while the body's
# file is written: the file is not published, nothing is recorded, exit 12; the next run sends
# everything.
case_commit_refused() {
    local conf=$CASE_DIR/tdi.conf db
    run_setup "$CASE_DIR"
    db=$(cat "$CASE_DIR/state.db")
    refuse_sent "$db" "RAISE EXCEPTION 'refused by the test'"
    tdi_try "$CASE_DIR/run" 12 run --config "$conf" --year 2025
    stderr_has "tdi: error: state database: recording what the body was sent failed: refused by the test (SQLSTATE P0001)"
    stderr_has "tdi: error: run failed (state); nothing of this run was published"
    no_submission "$CASE_DIR"
    [ -z "$(find "$CASE_DIR/out" -type f 2>/dev/null)" ] || fail "a file was left: $(find "$CASE_DIR/out" -type f)"
    [ "$(ledger "$CASE_DIR" "SELECT (SELECT count(*) FROM tdi.sent) || ' ' || (SELECT count(*) FROM tdi.run_file) || ' ' || (SELECT count(*) FROM tdi.body_sequence)")" = "0 0 0" ] ||
        fail "the refused run recorded something"
    expect_last_run "$CASE_DIR" running -
    state_sql "$db" "DROP TRIGGER test_refuse ON tdi.sent" >/dev/null
    tdi_try "$CASE_DIR/again" 0 run --config "$conf" --year 2025
    grep -qE '^body national: 62 records, 0 replaces, 0 deletes, sequence 1 -> ' "$CASE_DIR/again.out" ||
        fail "national did not get its 62 records: $(grep '^body national' "$CASE_DIR/again.out")"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(status, ',' ORDER BY run_no) FROM tdi.run")" = abandoned,ok ] ||
        fail "the ledger is not abandoned,ok"
}

# SIGTERM while the run waits for the state database to record what a body was sent (a slow
# trigger): the statement is cancelled, the file is not published, exit 10, ledger interrupted.
# run_slow_sent TRIGGER: a fresh state database whose tdi.sent runs TRIGGER (plpgsql) before
# each insert, and a run in the background (its stdout and stderr CASE_DIR/run.*) waiting in
# the trigger's pg_sleep: the caller's db and pid.
run_slow_sent() {
    run_setup "$CASE_DIR"
    db=$(cat "$CASE_DIR/state.db")
    refuse_sent "$db" "$1"
    "$TDI" run --config "$CASE_DIR/tdi.conf" --year 2025 >"$CASE_DIR/run.out" 2>"$CASE_DIR/run.err" &
    pid=$!
    trap 'kill "$pid" 2>/dev/null || true' EXIT
    wait_for_sleep "$db" || fail "the run never reached the slow insert"
}

case_commit_sigterm() {
    local db pid
    run_slow_sent "PERFORM pg_sleep(60)"
    sigterm_stops "$pid" "$CASE_DIR/run.err"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent")" = 0 ] || fail "the interrupted run recorded what it did not publish"
}

# SIGTERM while the second body's part of the commit waits (a slow trigger that lets the first
# body's rows through): the first body's file is published and stays recorded with what it was
# sent, in the one transaction; the second's is not published and its part is undone; exit 10.
# (Before, the undo's wait broke off on the stop and rolled the whole transaction back, and a new
# one recorded the first body's file and blanking without what it was sent.)
case_sigterm_second_body() {
    local conf=$CASE_DIR/tdi.conf db pid rc=0 n
    run_slow_sent "IF EXISTS (SELECT 1 FROM tdi.sent) THEN PERFORM pg_sleep(60); END IF"
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    trap - EXIT
    [ "$rc" = 10 ] || { cat "$CASE_DIR/run.err" >&2; fail "SIGTERM: exit $rc, expected 10"; }
    grep -qF 'tdi: error: stopped by signal 15; the files listed above are published and recorded' \
        "$CASE_DIR/run.err" || { cat "$CASE_DIR/run.err" >&2; fail "no 'published and recorded' message"; }
    n=$(sed -n 's/^body national: \([0-9]*\) records, .*sequence 1 -> .*/\1/p' "$CASE_DIR/run.out")
    [ -n "$n" ] || fail "national's file is not in the summary"
    one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz" >/dev/null
    no_submission "$CASE_DIR" antwerp
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(body || ' ' || n, ',') FROM (SELECT body, count(*) AS n FROM tdi.sent GROUP BY body) s")" = "national $n" ] ||
        fail "tdi.sent does not hold national's $n records alone"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(body || ' ' || sequence, ',') FROM tdi.body_sequence")" = "national 1" ] ||
        fail "the sequences recorded are not national's 1 alone"
    [ "$(ledger "$CASE_DIR" "SELECT string_agg(owner, ',') FROM tdi.run_file WHERE kind = 'submission'")" = national ] ||
        fail "the ledger's submission files are not national's alone"
    expect_last_run "$CASE_DIR" interrupted 10
    state_sql "$db" "DROP TRIGGER test_refuse ON tdi.sent" >/dev/null
    tdi_try "$CASE_DIR/again" 0 run --config "$conf" --year 2025
    grep -qE '^body antwerp: [0-9]+ records, 0 replaces, 0 deletes, sequence 1 -> ' "$CASE_DIR/again.out" ||
        fail "antwerp did not get its first file: $(grep '^body antwerp' "$CASE_DIR/again.out")"
    stdout_has "body national: no changes, nothing published"
}

case_status() {
    local conf=$CASE_DIR/tdi.conf id src counts
    run_setup "$CASE_DIR"
    tdi_try "$CASE_DIR/run" 0 run --config "$conf" --year 2025
    id=$(sed -n 's/^tdi run \([0-9TZ]*\): .*/\1/p' "$CASE_DIR/run.out")
    tdi_try "$CASE_DIR/status" 0 status --config "$conf" --runs 1
    stdout_has "run $id: year 2025, ok (exit 0)"
    # the ledger's counts are the run's summary's
    for src in riverside debrug; do
        counts=$(sed -n "s/^source $src: \(extracted [0-9]*, written [0-9]*, quarantined [0-9]*\)\$/\1/p" "$CASE_DIR/run.out")
        [ -n "$counts" ] || fail "no summary line for $src"
        stdout_has "  source $src: ok, full, 1 attempt: $counts"
    done
    counts=$(sed -n 's/^body national: \([0-9]*\) records, .*/\1/p' "$CASE_DIR/run.out")
    stdout_has "  body national: sequence 1, $counts records (0 replaces), 0 deletes -> $CASE_DIR/out/national/tdi-national-2025-$id.xml.gz"
    # the tables count the entrants: each person's first start for a drug (national counting),
    # 18 of the 62 (28 starts of 2025 and 34 continuing clients); status says which population
    # the number is
    [ "$counts" = 62 ] || fail "national got $counts records, expected 62"
    stdout_has "  tables national: 18 entrants (TDI population: first start for a drug) -> $CASE_DIR/out/national/tdi-national-2025-$id.tables.xml"
    stdout_has "    sha256 $(sha256sum "$CASE_DIR/out/national/tdi-national-2025-$id.xml.gz" | cut -d' ' -f1)"
    stdout_has "  $(grep '^quarantine debrug: ' "$CASE_DIR/run.out")"
    [ "$(grep -c '^run ' "$CASE_DIR/status.out")" = 1 ] || fail "--runs 1 printed more than one run"
    tdi_try "$CASE_DIR/bad" 2 status --config "$conf" --runs 0
}

# A source whose episode ids repeat breaks the contract: it fails like an unreadable source.
# expect_repeated N: the run of riverside's query failed riverside alone, for N repeated ids.
expect_repeated() {
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "source riverside: $1 episode ids appear more than once (one of them has the state key e1:"
    stdout_has "source riverside: FAILED: $1 episode ids are not unique"
    # the sources are checked in one pass: the other one is not blamed
    [ "$(grep -c 'episode ids are not unique' "$CASE_DIR/run.out")" = 1 ] ||
        fail "a source other than riverside was failed for repeated ids"
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" source 5
}

case_duplicate_ids() {
    run_setup "$CASE_DIR"
    set_source "$CASE_DIR/tdi.conf" riverside query "SELECT * FROM tdi_episodes UNION ALL SELECT * FROM tdi_episodes WHERE episode_id IN ('1', '2')"
    expect_repeated 2
}

# quarantined IDS [FIELDS]: a query of copies of riverside's episodes IDS that end before they
# start (R030: quarantined), with other fields as FIELDS (JSON members) say.
quarantined() {
    printf "SELECT (jsonb_populate_record(e, '{\"end_date\": \"2000-01-01\"%s}')).* FROM tdi_episodes e WHERE episode_id IN (%s)" "${2:+, $2}" "$1"
}

# The copy of a repeated id that is quarantined counts, also when it comes first (sources read at
# once) ...
case_duplicate_ids_quarantined_first() {
    run_setup "$CASE_DIR"
    set_source "$CASE_DIR/tdi.conf" riverside query "$(quarantined "'1'") UNION ALL SELECT * FROM tdi_episodes"
    expect_repeated 1
}

# ... or last (one source at a time: the spool stage on a thread of its own); two quarantined
# copies of one id count; two rows without an id (R001) have no key and do not.
case_duplicate_ids_quarantined_last() {
    run_setup "$CASE_DIR"
    top_key "$CASE_DIR/tdi.conf" 'max_parallel_sources = 1'
    set_source "$CASE_DIR/tdi.conf" riverside query "SELECT * FROM tdi_episodes UNION ALL $(quarantined "'1'") UNION ALL $(quarantined "'3', '4'" '"episode_id": "twice"') UNION ALL $(quarantined "'5', '6'" '"episode_id": null')"
    expect_repeated 2
}

it_case ops-init case_init
it_case ops-delta case_delta
it_case ops-routed-away case_routed_away
it_case ops-sent-statistics case_sent_statistics
it_case ops-closed-year case_closed_year
it_case ops-concurrent-and-sigterm case_concurrent_and_sigterm
it_case ops-source-killed case_source_killed
it_case ops-source-lost-loading case_source_lost_loading
it_case ops-killed-run case_killed_run
it_case ops-killed-publish case_killed_publish
it_case ops-disk-full case_disk_full
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4k tdi-probe "$IT_TMP" 2>/dev/null && umount "$IT_TMP"; then
    it_case ops-disk-full-tmpfs case_disk_full_tmpfs
else
    it_skip ops-disk-full-tmpfs 'mounting a tmpfs is not permitted here (ops-disk-full covers the case)'
fi
it_case ops-commit-refused case_commit_refused
it_case ops-commit-sigterm case_commit_sigterm
it_case ops-sigterm-second-body case_sigterm_second_body
it_case ops-status case_status
it_case ops-duplicate-ids case_duplicate_ids
it_case ops-duplicate-ids-quarantined-first case_duplicate_ids_quarantined_first
it_case ops-duplicate-ids-quarantined-last case_duplicate_ids_quarantined_last
it_end
