#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The re-identification check's first grouping on a second connection to the state database,
# beside the ranking of a first submission of the year (state/st_beside.c):
#   reid-beside-same   a first run of two bodies (national falls short by sex and year and is
#                      blanked; antwerp reaches k grouped by year) with the grouping beside the
#                      ranking, and the same run with it on the first connection (the test build's
#                      TDI_TEST_BESIDE_OFF): the same summary lines, files, manifests' figures,
#                      rows sent and groups kept; the run's unlogged tables are empty after it;
#   reid-beside-noconn no second connection (the test build's TDI_TEST_BESIDE_NOCONN): the run
#                      warns, groups on the first connection after the ranking, and sends the same;
#   reid-beside-fails  the second connection's grouping fails (the test build's
#                      TDI_TEST_BESIDE_FAIL: its statements time out): the run fails as a failure
#                      of the state database (exit 12) naming the statement, publishes nothing,
#                      and the next run (the tables emptied at its start) succeeds.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

BESIDE='state database: the check'"'"'s first grouping of 2 bodies on a second connection, beside the ranking'

# beside_setup DIR: run_setup with national grouped by sex and year (k_min 5: falls short, sex
# blanked) and antwerp by year (k_min 5: reached).
beside_setup() {
    run_setup "$1"
    awk '{ print }
         $0 == "[body national]" { print "quasi_identifiers = sex year"; print "blank_order = sex"; print "k_min = 5" }
         $0 == "[body antwerp]" { print "quasi_identifiers = year"; print "k_min = 5" }' \
        "$1/tdi.conf" >"$1/tdi.conf.new"
    mv "$1/tdi.conf.new" "$1/tdi.conf"
}

# fingerprint DIR: what a run decided, stamps masked: its summary's check lines, each body's file
# and manifest figures, the rows sent and the groups kept.
fingerprint() {
    local f
    grep '^disclosure ' "$1/run.out"
    for f in "$1"/out/*/tdi-*-2025-*[0-9]Z.xml.gz; do
        gzip -dc "$f" | sed -E 's/ (runId|generated)="[^"]*"//g' | md5sum
        grep -o '"disclosure":{[^}]*}[^}]*}' "${f%.xml.gz}.manifest.json"
    done
    ledger "$1" "COPY (SELECT body, year, eid, ekey, hash, person, qi, sens, entrant, earlier FROM tdi.sent ORDER BY body, eid) TO STDOUT" | md5sum
    ledger "$1" "COPY (SELECT * FROM tdi.reid_group ORDER BY body, year, gkey) TO STDOUT"
    ledger "$1" "COPY (SELECT * FROM tdi.reid_sens ORDER BY body, year, gkey, item, code) TO STDOUT"
    ledger "$1" "COPY (SELECT body, year, mask FROM tdi.reid_kept ORDER BY body, year) TO STDOUT"
    ledger "$1" "COPY (SELECT body, year, blanked FROM tdi.body_blanking ORDER BY body, year) TO STDOUT"
}

case_same() {
    beside_setup "$CASE_DIR/a"
    tdi_try "$CASE_DIR/a/run" 0 run --config "$CASE_DIR/a/tdi.conf" --year 2025 --verbose
    stderr_has "$BESIDE"
    stdout_has 'disclosure national: k reached with sex blanked'
    stdout_has 'disclosure antwerp: blanked none: 44 records in 2 groups by year; k 12 (minimum 5), 0 at risk, highest risk 0.0833, average risk 0.0587; fewest distinct per group: primary_drug 8, injecting 2, hiv_testing 1, hcv_testing 1'
    beside_setup "$CASE_DIR/b"
    TDI_TEST_BESIDE_OFF=1 tdi_try "$CASE_DIR/b/run" 0 run --config "$CASE_DIR/b/tdi.conf" --year 2025 --verbose
    ! grep -qF "$BESIDE" "$CASE_DIR/b/run.err" || fail "TDI_TEST_BESIDE_OFF: grouped beside the ranking"
    fingerprint "$CASE_DIR/a" >"$CASE_DIR/a.fp"
    fingerprint "$CASE_DIR/b" >"$CASE_DIR/b.fp"
    [ "$(grep -c '^disclosure ' "$CASE_DIR/a.fp")" = 4 ] || fail "not four check lines: $(cat "$CASE_DIR/a.fp")"
    [ "$(ledger "$CASE_DIR/a" "SELECT count(*) FROM tdi.reid_group")" -gt 0 ] || fail "no groups kept"
    diff "$CASE_DIR/b.fp" "$CASE_DIR/a.fp" >&2 || fail "beside the ranking and on the first connection differ (above)"
    [ "$(ledger "$CASE_DIR/a" "SELECT (SELECT count(*) FROM tdi.run_rec) + (SELECT count(*) FROM tdi.run_reid_g) + (SELECT count(*) FROM tdi.run_reid_v) + (SELECT count(*) FROM tdi.run_reid_prep)")" = 0 ] ||
        fail "the run's records or groups stay in the state database after it"
}

case_fails() {
    beside_setup "$CASE_DIR"
    TDI_TEST_BESIDE_FAIL=1 tdi_try "$CASE_DIR/run" 12 run --config "$CASE_DIR/tdi.conf" --year 2025 --verbose
    stderr_has "$BESIDE"
    # A timeout of 1 ms: on a slow host the statement that starts a body's groups may be the
    # first over it, before the grouping itself; either is the second connection's work.
    grep -qE "state database: (starting the check's groups|grouping the records by their quasi-identifiers) failed: " \
        "$TDI_LAST.err" || fail "no statement of the second connection named as failed: $(cat "$TDI_LAST.err")"
    stderr_has 'statement timeout'
    no_submission "$CASE_DIR"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent")" = 0 ] || fail "rows sent by a failed run"
    tdi_try "$CASE_DIR/again" 0 run --config "$CASE_DIR/tdi.conf" --year 2025 --verbose
    stderr_has "$BESIDE"
    stdout_has 'disclosure national: k reached with sex blanked'
}

# No second connection (a role's CONNECTION LIMIT): the run groups after the ranking, warns, and
# decides and sends what a run with the second connection does.
case_noconn() {
    beside_setup "$CASE_DIR/a"
    tdi_try "$CASE_DIR/a/run" 0 run --config "$CASE_DIR/a/tdi.conf" --year 2025 --verbose
    beside_setup "$CASE_DIR/b"
    TDI_TEST_BESIDE_NOCONN=1 tdi_try "$CASE_DIR/b/run" 0 run --config "$CASE_DIR/b/tdi.conf" --year 2025 --verbose
    grep -qF 'warning: state database: no second connection (above): the check groups after the ranking' "$CASE_DIR/b/run.err" ||
        fail "no warning of the missing second connection: $(cat "$CASE_DIR/b/run.err")"
    fingerprint "$CASE_DIR/a" >"$CASE_DIR/a.fp"
    fingerprint "$CASE_DIR/b" >"$CASE_DIR/b.fp"
    diff "$CASE_DIR/a.fp" "$CASE_DIR/b.fp" >&2 || fail "without a second connection the run differs (above)"
    [ "$(ledger "$CASE_DIR/b" "SELECT status FROM tdi.run ORDER BY run_no DESC LIMIT 1")" = ok ] ||
        fail "the run without a second connection is not ok in the ledger"
}

it_case reid-beside-same case_same
it_case reid-beside-noconn case_noconn
it_case reid-beside-fails case_fails
it_end
