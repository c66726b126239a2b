#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The state database's schema from its .sql files alone (schemas/state/NNN-*.sql), without tdi:
# applied in order with psql to a fresh database, each file in one transaction with its
# tdi.schema_version row (version = the file's number, description = its "-- description:" line),
# as `tdi init` applies the copies embedded in tdi. Then:
# - the schema equals the one `tdi init` builds (pg_dump --schema-only of schema tdi, comments and
#   session settings removed), and so do the recorded versions and descriptions;
# - `tdi init` on the psql-built database finds it up to date and changes nothing;
# - `tdi status` and a run work on it;
# - with the last file left out the schemas differ (the comparison can fail), and `tdi init`
#   upgrades that database to the same schema.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

mapfile -t SQL_FILES < <(compgen -G "$TDI_ROOT/schemas/state/[0-9][0-9][0-9]-*.sql" | LC_ALL=C sort)
LAST=${#SQL_FILES[@]}

# apply_sql DB FILE...: each FILE in its own transaction, with its schema_version row.
apply_sql() {
    local db=$1 f base desc
    shift
    for f in "$@"; do
        base=$(basename "$f")
        desc=$(sed -n 's/^-- description: //p' "$f" | head -n 1)
        [ -n "$desc" ] || fail "$base has no description line"
        { cat "$f"; printf '%s\n' "INSERT INTO tdi.schema_version (version, tdi_version, description) VALUES (:ver, 'psql', :'desc');"; } |
            pg_sql "$db" -1 -v ver="$((10#${base:0:3}))" -v desc="$desc" -f - ||
            fail "psql could not apply $base"
    done
}

# schema DB: the tdi schema as pg_dump shows it, without comments, blank lines, session settings
# and pg_dump's per-run \restrict key.
schema() {
    "$TDI_PG_BIN/pg_dump" -U postgres --schema-only --schema=tdi --no-owner --no-privileges "$1" |
        grep -Ev '^(--|$|SET |SELECT pg_catalog\.set_config|\\(un)?restrict )'
}

# versions DB: the recorded migrations, "version|description", tdi's version left out.
versions() {
    state_sql "$1" "SELECT version || '|' || description FROM tdi.schema_version ORDER BY version"
}

# init_db DIR: a state database of DIR made by `tdi init` (run_setup); prints its name.
init_db() {
    run_setup "$1"
    cat "$1/state.db"
}

# psql_db DIR FILE...: run_setup's configuration and key for DIR, but its state database made
# by psql from FILEs; prints its name.
psql_db() {
    local dir=$1 db
    shift
    mkdir -p "$dir"
    db=$(state_db_name "$dir")
    state_db_create "$db"
    printf '%s\n' "$db" >"$dir/state.db"
    TDI_STATE_DB=$db tdi_write_config "$dir"
    cp "$TDI_FIXTURES/test.key" "$dir/tdi.key"
    chmod 600 "$dir/tdi.key"
    apply_sql "$db" "$@"
    printf '%s\n' "$db"
}

# same_schema DB1 DB2: fails unless both schemas and recorded versions are equal.
same_schema() {
    schema "$1" >"$CASE_DIR/schema.1"
    schema "$2" >"$CASE_DIR/schema.2"
    grep -q '^CREATE TABLE tdi\.sent ' "$CASE_DIR/schema.1" || fail "no tdi.sent in the dump of $1"
    diff "$CASE_DIR/schema.1" "$CASE_DIR/schema.2" >&2 || fail "the schemas of $1 and $2 differ"
    diff <(versions "$1") <(versions "$2") >&2 || fail "the recorded versions of $1 and $2 differ"
}

case_same_as_init() {
    local a b
    [ "$LAST" -gt 0 ] || fail "no migration files under schemas/state"
    a=$(psql_db "$CASE_DIR/psql" "${SQL_FILES[@]}")
    b=$(init_db "$CASE_DIR/init")
    [ "$(versions "$b" | wc -l)" = "$LAST" ] || fail "tdi init recorded other versions than the $LAST files"
    same_schema "$a" "$b"
}

case_init_changes_nothing() {
    local a
    a=$(psql_db "$CASE_DIR/psql" "${SQL_FILES[@]}")
    schema "$a" >"$CASE_DIR/before"
    tdi_try "$CASE_DIR/init" 0 init --config "$CASE_DIR/psql/tdi.conf"
    stdout_has "state database: schema version $LAST, up to date"
    [ "$(wc -l <"$CASE_DIR/init.out")" = 1 ] || fail "tdi init printed more than one line"
    schema "$a" | diff "$CASE_DIR/before" - >&2 || fail "tdi init changed the schema"
    [ "$(state_sql "$a" "SELECT count(*) || ' ' || count(*) FILTER (WHERE tdi_version = 'psql') FROM tdi.schema_version")" = "$LAST $LAST" ] ||
        fail "tdi init recorded a migration again"
}

case_status_and_run() {
    local dir=$CASE_DIR/psql
    psql_db "$dir" "${SQL_FILES[@]}" >/dev/null
    tdi_try "$CASE_DIR/status0" 0 status --config "$dir/tdi.conf"
    stdout_has "no runs recorded yet"
    tdi_try "$dir/run" 0 run --config "$dir/tdi.conf" --year 2025
    expect_last_run "$dir" ok 0
    tdi_try "$CASE_DIR/status1" 0 status --config "$dir/tdi.conf"
    grep -Eq '^run [^ ]+: year 2025, ok \(exit 0\)$' "$CASE_DIR/status1.out" ||
        fail "tdi status does not show the run: $(head -n 1 "$CASE_DIR/status1.out")"
}

case_one_left_out() {
    local a b
    a=$(psql_db "$CASE_DIR/psql" "${SQL_FILES[@]:0:LAST-1}")
    b=$(init_db "$CASE_DIR/init")
    schema "$a" >"$CASE_DIR/short"
    schema "$b" | diff -q "$CASE_DIR/short" - >/dev/null &&
        fail "the schemas compare equal without $(basename "${SQL_FILES[LAST - 1]}")"
    tdi_try "$CASE_DIR/upgrade" 0 init --config "$CASE_DIR/psql/tdi.conf"
    stdout_has "state database: schema version $((LAST - 1)) -> $LAST"
    schema "$a" >"$CASE_DIR/upgraded"
    schema "$b" | diff "$CASE_DIR/upgraded" - >&2 || fail "tdi init did not upgrade to the same schema"
}

it_case same_as_init case_same_as_init
it_case init_changes_nothing case_init_changes_nothing
it_case status_and_run case_status_and_run
it_case one_left_out case_one_left_out
it_end
