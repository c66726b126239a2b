#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# A clinic server that accepts the connection and then sends nothing must not hold the night's
# run: after source_stall_timeout seconds of silence the source is given up (its statement
# cancelled), retried, then treated like a source that could not be read (issue 16).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# pg_sleeping DB: how many backends of DB sleep in pg_sleep.
pg_sleeping() {
    pg_sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND wait_event = 'PgSleep'"
}

# Riverside's view sleeps a minute at episode 9, on every attempt; source_stall_timeout = 1. Each
# attempt is given up after a second of silence, the second too: riverside failed, the bodies
# that take it get nothing, brussels (De Brug's region only) is served, exit 5, the ledger says
# why, and no backend of riverside's is left sleeping (the statements were cancelled).
case_stalled_source() {
    local conf=$CASE_DIR/tdi.conf w i
    clinic_copy clinic_stall clinic_en
    pg_sql clinic_stall <<'SQL'
CREATE VIEW tdi_episodes_slow AS
  SELECT * FROM tdi_episodes
   WHERE CASE WHEN episode_id = '9' THEN (SELECT true FROM pg_sleep(60)) ELSE true END;
GRANT SELECT ON tdi_episodes_slow TO tdi_reader;
SQL
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_stall 'SELECT * FROM tdi_episodes_slow'
    printf '\n[body brussels]\nregions = BE100\n' >>"$conf"
    top_key "$conf" 'source_stall_timeout = 1'
    top_key "$conf" 'retry_delay = 0.05'

    tdi_try "$CASE_DIR/run" 5 run --config "$conf" --year 2025
    stderr_has "source riverside: sent nothing for 1 s: given up"
    stderr_has "source riverside: attempt 1 of 2 failed; trying again in 50 ms"
    [ "$(grep -c 'source riverside: sent nothing for 1 s: given up' "$CASE_DIR/run.err")" = 2 ] ||
        fail "riverside was not given up twice: $(cat "$CASE_DIR/run.err")"
    stdout_has "source riverside: FAILED after 2 attempts: source riverside: sent nothing for 1 s: given up"
    stdout_has "body national: nothing published: source riverside failed"
    stdout_has "body antwerp: nothing published: source riverside failed"
    w=$(sed -n 's/^source debrug: extracted [0-9]*, written \([0-9]*\), .*/\1/p' "$CASE_DIR/run.out")
    grep -qE "^body brussels: $w records, 0 replaces, 0 deletes, sequence 1 -> " "$CASE_DIR/run.out" ||
        fail "brussels was not served with De Brug's $w records: $(grep '^body brussels' "$CASE_DIR/run.out")"
    no_submission "$CASE_DIR" national antwerp
    valid_both "$(one_file "$CASE_DIR/out/brussels/tdi-brussels-2025-*.xml.gz")"
    expect_last_run "$CASE_DIR" source 5
    [ "$(ledger "$CASE_DIR" "SELECT status || ' ' || attempts || ' ' || error FROM tdi.run_source WHERE source = 'riverside'")" = \
        "source 2 source riverside: sent nothing for 1 s: given up" ] ||
        fail "the ledger does not say why riverside failed"
    # The cancel reaches the backend through the postmaster: give it a moment, not a minute.
    for ((i = 0; i < 100; i++)); do
        [ "$(pg_sleeping clinic_stall)" != 0 ] || break
        sleep 0.05
    done
    [ "$(pg_sleeping clinic_stall)" = 0 ] || fail "a backend of riverside still sleeps: its statement was not cancelled"
}

it_case stall-source-given-up case_stalled_source
it_end
