#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The command line: help, usage errors (exit 2), `tdi keygen`; and the clinic-side access pattern
# the pipeline relies on (tdi_reader reads the view tdi_episodes and nothing else, read-only).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

case_help() {
    local word
    tdi_try "$CASE_DIR/help" 0 --help
    for word in run validate keygen; do
        grep -qw -- "$word" "$CASE_DIR/help.out" || fail "tdi --help on stdout does not mention '$word'"
    done
}

case_run_help() {
    local word
    tdi_try "$CASE_DIR/help" 0 run --help
    for word in --config --year; do
        grep -qF -- "$word" "$CASE_DIR/help.out" || fail "tdi run --help on stdout does not mention '$word'"
    done
}

case_usage() {
    tdi_try "$CASE_DIR/nocmd" 2 no-such-command
    [ -s "$CASE_DIR/nocmd.err" ] || fail "no message on stderr for an unknown command"
    tdi_try "$CASE_DIR/noopt" 2 run --no-such-option
    tdi_try "$CASE_DIR/noyear" 2 run --config "$CASE_DIR/x.conf" --year twenty
    tdi_try "$CASE_DIR/nofile" 2 validate
}

case_keygen() {
    local key=$CASE_DIR/new.key
    tdi_try "$CASE_DIR/keygen" 0 keygen "$key"
    [ -f "$key" ] || fail "tdi keygen wrote no file"
    [ "$(stat -c %a "$key")" = 600 ] || fail "the key file has mode $(stat -c %a "$key"), not 600"
    grep -qxE '[0-9a-fA-F]{64}' "$key" || fail "the key file does not hold 64 hex digits"
    [ "$(wc -l <"$key")" -le 1 ] || fail "the key file has more than one line"
    cp "$key" "$CASE_DIR/before"
    tdi_exec "$CASE_DIR/again" keygen "$key"
    [ "$TDI_RC" != 0 ] || fail "tdi keygen overwrote an existing key file (exit 0)"
    cmp -s "$key" "$CASE_DIR/before" || fail "tdi keygen changed an existing key file"
    tdi_try "$CASE_DIR/other" 0 keygen "$CASE_DIR/other.key"
    ! cmp -s "$key" "$CASE_DIR/other.key" || fail "two keygen runs gave the same key"
}

case_reader_role() {
    local db table
    for db in "${TDI_CLINIC_DBS[@]}"; do
        [ "$(pg_reader_sql "$db" -c 'SELECT count(*) > 0 FROM tdi_episodes')" = t ] ||
            fail "$db: tdi_reader cannot read tdi_episodes"
        [ "$(pg_reader_sql "$db" -c 'SHOW default_transaction_read_only')" = on ] ||
            fail "$db: tdi_reader sessions are not read-only"
        for table in $(pg_sql "$db" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"); do
            ! pg_reader_sql "$db" -c "SELECT 1 FROM $table LIMIT 1" >/dev/null 2>&1 ||
                fail "$db: tdi_reader can read the table $table"
        done
        ! pg_reader_sql "$db" -c 'CREATE TEMP TABLE t (a int)' >/dev/null 2>&1 ||
            fail "$db: tdi_reader can create a table"
    done
}

it_case cli-help case_help
it_case cli-run-help case_run_help
it_case cli-usage case_usage
it_case cli-keygen case_keygen
it_case cli-reader-role case_reader_role
it_end
