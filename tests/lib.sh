# shellcheck shell=bash
# shellcheck disable=SC2030,SC2031 # it_case runs each case in a subshell: CASE and CASE_DIR are its own
# tests/lib.sh: shell helpers shared by the test runners, the integration tests and the demo.
# Source it (bash only). It defines functions and a few variables; it starts nothing by itself.
#
#   throwaway PostgreSQL cluster: pg_start DIR, pg_load DIR, pg_stop DIR, pg_env DIR, pg_sql DB ...
#   state database: state_db_create NAME, state_sql NAME SQL...
#   configuration from the template: tdi_write_config DIR [TEMPLATE] (state database: $TDI_STATE_DB)
#   integration tests (TAP): it_begin, it_case NAME FUNCTION, it_skip NAME REASON, it_end, fail,
#   tdi_exec, ...

TDI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TDI_FIXTURES=$TDI_ROOT/tests/fixtures
TDI_EXAMPLES=$TDI_ROOT/examples
TDI_CONF_TEMPLATE=$TDI_EXAMPLES/tdi.conf.in
TDI_CLINIC_DBS=(clinic_en clinic_nl)
TDI_READER=tdi_reader
TDI_CLUSTER_MARK=.tdi-throwaway-cluster

# Sanitizer settings for the ASan/UBSan and the TSan builds; a caller's own settings win.
: "${ASAN_OPTIONS:=halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1}"
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
: "${TSAN_OPTIONS:=halt_on_error=1:second_deadlock_stack=1}"
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

msg() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- throwaway PostgreSQL cluster

# The bin directory of the newest PostgreSQL server installed.
pg_bindir() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] || continue
        if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1)" = "$d" ]; then
            best=$d
        fi
    done
    if [ -z "$best" ] && command -v pg_config >/dev/null 2>&1; then
        best=$(pg_config --bindir)
        [ -x "$best/initdb" ] || best=""
    fi
    if [ -z "$best" ]; then
        msg "tdi tests: no PostgreSQL server found (initdb under /usr/lib/postgresql/*/bin); install 'postgresql'"
        return 1
    fi
    printf '%s\n' "$best"
}

# Runs a command as the cluster's owner: the postgres OS user when we are root (initdb and the
# server refuse root), the current user otherwise. Paths given must be absolute.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# 0 when something listens on TCP port $1.
port_in_use() {
    local port=$1 hex
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn 2>/dev/null | awk '{print $4}' | grep -q ":$port\$"
        return
    fi
    hex=$(printf '%04X' "$port")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" {print $2}' | grep -qi ":$hex\$"
}

# A TCP port nobody listens on, searched from a random base.
pg_free_port() {
    local base port i
    base=$((20000 + RANDOM % 30000))
    for ((i = 0; i < 200; i++)); do
        port=$((base + i))
        if ! port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    msg "tdi tests: no free TCP port found from $base"
    return 1
}

# pg_start DIR: initdb into DIR/data and start a server listening on the Unix socket DIR/sock only.
# Writes DIR/env (PGHOST, PGPORT; source it). DIR must be absent or empty.
pg_start() {
    local dir=$1 bin port
    bin=$(pg_bindir) || return 1
    case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
    mkdir -p "$dir"
    if [ -n "$(ls -A "$dir")" ]; then
        msg "pg_start: $dir is not empty"
        return 1
    fi
    : >"$dir/$TDI_CLUSTER_MARK"
    mkdir "$dir/sock"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir" "$dir/sock"
    fi
    chmod 755 "$dir" "$dir/sock"

    if ! as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
        --locale=C >"$dir/initdb.log" 2>&1; then
        msg "pg_start: initdb failed:"
        cat "$dir/initdb.log" >&2
        return 1
    fi
    port=$(pg_free_port) || return 1
    cat >>"$dir/data/postgresql.conf" <<EOF

# tdi throwaway test cluster
port = $port
listen_addresses = ''
unix_socket_directories = '$dir/sock'
unix_socket_permissions = 0777
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 16MB
log_min_messages = warning
log_min_error_statement = panic
EOF
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s start; then
        msg "pg_start: the server did not start:"
        tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
        return 1
    fi
    printf 'PGHOST=%q\nPGPORT=%q\nTDI_PG_BIN=%q\nexport PGHOST PGPORT TDI_PG_BIN\n' \
        "$dir/sock" "$port" "$bin" >"$dir/env"
}

# pg_stop DIR: stops the server (fast) and removes DIR. Does nothing when DIR does not exist;
# refuses a directory pg_start did not make.
pg_stop() {
    local dir=$1 bin
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    if [ ! -e "$dir/$TDI_CLUSTER_MARK" ]; then
        msg "pg_stop: $dir is not a throwaway cluster; not removing it"
        return 1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        bin=$(pg_bindir) || return 1
        as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s stop >/dev/null 2>&1 ||
            as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 -s stop >/dev/null 2>&1 ||
            msg "pg_stop: could not stop the server in $dir/data"
    fi
    rm -rf -- "$dir"
}

# pg_env DIR: exports PGHOST and PGPORT of the cluster in DIR (and TDI_PG_BIN, its bin directory)
# into the current shell.
pg_env() {
    # shellcheck source=/dev/null
    . "$1/env"
}

# pg_sql DB [psql args...]: psql as the superuser on the cluster of the last pg_env, stopping at
# the first error, unaligned and quiet (good for scripts).
pg_sql() {
    local db=$1
    shift
    "${TDI_PG_BIN:?run pg_env first}/psql" -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -d "$db" "$@"
}

# pg_reader_sql DB [psql args...]: the same as the read-only role the pipeline uses.
pg_reader_sql() {
    local db=$1
    shift
    "${TDI_PG_BIN:?run pg_env first}/psql" -X -q -A -t -v ON_ERROR_STOP=1 -U "$TDI_READER" -d "$db" "$@"
}

# pg_load DIR: creates the role tdi_reader and the clinic databases from tests/fixtures, and of
# each an untouched copy NAME_tpl that nobody connects to, for clinic_copy: PostgreSQL copies only
# a database no one else is connected to, and the integration scripts run in parallel.
pg_load() {
    local db
    pg_env "$1"
    pg_sql postgres -c "CREATE ROLE $TDI_READER LOGIN" \
        -c "ALTER ROLE $TDI_READER SET default_transaction_read_only = on" || return 1
    for db in "${TDI_CLINIC_DBS[@]}"; do
        if ! pg_sql postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" ||
            ! pg_sql "$db" -f "$TDI_FIXTURES/$db.sql" ||
            ! pg_sql postgres -c "CREATE DATABASE ${db}_tpl TEMPLATE $db" \
                -c "ALTER DATABASE ${db}_tpl ALLOW_CONNECTIONS false"; then
            msg "pg_load: loading $TDI_FIXTURES/$db.sql failed"
            return 1
        fi
    done
}

# pg_at_rest: the cluster of the last pg_env checkpointed and the kernel's dirty pages written
# out, so a timed step does not pay for what the steps before it wrote (the benches:
# docs/benchmark.md, 2026-12-06 07:08-08:40).
pg_at_rest() {
    pg_sql postgres -c "CHECKPOINT"
    sync
}

# ---------------------------------------------------------------- state database

# state_db_create NAME: an empty database NAME on the cluster of the last pg_env, for tdi's state
# (the receiving side's database; `tdi init` creates its schema). Dropped first if it exists.
state_db_create() {
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
        -c "CREATE DATABASE $1 TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
}

# The state schema version this tree builds (state/state.h), and the SQL that takes a database
# of a later version back to 12 (13: the run's unlogged tables; 14: their marks; 15: the
# year's index by person, made by a night; 16: the bodies being published), to 11 (12: tdi.person_year one
# table per year), to 10 (11: tdi.sent one table per year), to 9 (10: the key scan's digest), to 8 (9: the check's kept groups), to 7 (8: the keys as bytes) and to 4 (5:
# the run report's tables; 6: the person years, the bodies' counts; 7: the bodies' counting level),
# rows kept, for upgrade tests.
# shellcheck disable=SC2034 # used by the integration scripts that source this file
STATE_VERSION=$(sed -n 's/^#define STATE_SCHEMA_VERSION *\([0-9]*\).*/\1/p' "$TDI_ROOT/state/state.h")
# shellcheck disable=SC2034
STATE_UNDO_AFTER_12="DROP TABLE IF EXISTS tdi.publishing; DROP FUNCTION IF EXISTS tdi.sent_person_index(integer); DROP TABLE tdi.run_rec, tdi.run_reid_g, tdi.run_reid_v, tdi.run_reid_prep"
# shellcheck disable=SC2034
STATE_UNDO_AFTER_11="$STATE_UNDO_AFTER_12; CREATE TABLE tdi.person_year_plain (LIKE tdi.person_year INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE);
  INSERT INTO tdi.person_year_plain SELECT * FROM tdi.person_year; DROP TABLE tdi.person_year; ALTER TABLE tdi.person_year_plain RENAME TO person_year;
  ALTER TABLE tdi.person_year ADD PRIMARY KEY (person, year);
  DROP FUNCTION tdi.sent_year_table(integer);
  CREATE FUNCTION tdi.sent_year_table(y integer) RETURNS void LANGUAGE plpgsql AS \$\$
  BEGIN IF to_regclass(format('tdi.%I', 'sent_' || y)) IS NULL THEN
      EXECUTE format('CREATE TABLE tdi.%I PARTITION OF tdi.sent FOR VALUES IN (%s)', 'sent_' || y, y); END IF; END \$\$;
  DROP FUNCTION tdi.year_table(text, integer)"
# shellcheck disable=SC2034
STATE_UNDO_AFTER_10="$STATE_UNDO_AFTER_11; CREATE TABLE tdi.sent_plain (LIKE tdi.sent INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE);
  INSERT INTO tdi.sent_plain SELECT * FROM tdi.sent; DROP TABLE tdi.sent; ALTER TABLE tdi.sent_plain RENAME TO sent;
  ALTER TABLE tdi.sent ADD PRIMARY KEY (body, year, eid); DROP FUNCTION tdi.sent_year_table(integer)"
# shellcheck disable=SC2034
STATE_UNDO_AFTER_9="$STATE_UNDO_AFTER_10; ALTER TABLE tdi.source_state DROP COLUMN keys"
# shellcheck disable=SC2034
STATE_UNDO_AFTER_8="$STATE_UNDO_AFTER_9; DROP TABLE tdi.reid_kept, tdi.reid_group, tdi.reid_sens"
# shellcheck disable=SC2034
STATE_UNDO_AFTER_7="$STATE_UNDO_AFTER_8; ALTER TABLE tdi.sent ALTER COLUMN eid TYPE text USING 'e1:' || encode(eid, 'hex'),
    ALTER COLUMN ekey TYPE text USING 'e1:' || encode(ekey, 'hex'),
    ALTER COLUMN person TYPE text USING 'p1:' || encode(person, 'hex');
  ALTER TABLE tdi.person_year ALTER COLUMN person TYPE text COLLATE \"C\" USING 'p1:' || encode(person, 'hex')"
# shellcheck disable=SC2034
STATE_UNDO_AFTER_4="$STATE_UNDO_AFTER_7; DROP TABLE tdi.person_year; ALTER TABLE tdi.body_sequence DROP COLUMN episodes, DROP COLUMN entrants, DROP COLUMN counting;
  DROP TABLE tdi.run_completeness, tdi.run_body, tdi.run_cell"

# state_sql NAME SQL: one query on the state database NAME, unaligned, no headers.
state_sql() {
    local db=$1
    shift
    pg_sql "$db" -c "$*"
}

# state_db_name DIR: the name of the state database of a test directory (one per directory, so
# that cases do not see each other's runs).
state_db_name() {
    printf 'tdi_state_%s\n' "$(printf '%s' "$1" | md5sum | cut -c1-16)"
}

# ---------------------------------------------------------------- configuration

# tdi_write_config DIR [TEMPLATE]: writes DIR/tdi.conf from the template for the cluster in
# PGHOST/PGPORT, with the sample crosswalks of examples/crosswalks and the state database
# $TDI_STATE_DB (default tdi_state), and suppression_threshold = $TDI_TEST_THRESHOLD when set.
tdi_write_config() {
    local dir=$1 template=${2:-$TDI_CONF_TEMPLATE}
    : "${PGHOST:?no cluster: PGHOST is not set}" "${PGPORT:?no cluster: PGPORT is not set}"
    sed -e "s|@PGHOST@|$PGHOST|g" -e "s|@PGPORT@|$PGPORT|g" \
        -e "s|@STATE_DB@|${TDI_STATE_DB:-tdi_state}|g" \
        -e "s|@CROSSWALK_DIR@|$TDI_EXAMPLES/crosswalks|g" "$template" >"$dir/tdi.conf"
    if [ -n "${TDI_TEST_THRESHOLD:-}" ]; then
        sed -i "s/^suppression_threshold *=.*/suppression_threshold = $TDI_TEST_THRESHOLD/" "$dir/tdi.conf"
    fi
}

# ---------------------------------------------------------------- integration tests
#
# A test script prints TAP (prove runs the scripts, tests/run-integration.sh):
#   . "$(dirname "$0")/../lib.sh"
#   it_begin                       # checks $TDI, joins (or starts) the cluster, makes IT_TMP
#   case_foo() { ...; fail "why"; }
#   it_case foo case_foo           # prints "ok 1 - foo", or "# FAIL foo: why" and "not ok 1 - foo"
#   it_skip bar "why not here"     # prints "ok 2 - bar # SKIP why not here": counted, shown
#   it_end                         # prints the plan "1..2"; exit status: 0 when no case failed
#
# Each case runs in a subshell with `set -e`, in its own fresh directory $CASE_DIR.

it_begin() {
    set -euo pipefail
    # shellcheck disable=SC2034 # for the test scripts
    mapfile -t TDI_BODIES < <(tdi_bodies)
    # shellcheck disable=SC2034
    mapfile -t TDI_SOURCES < <(tdi_sources)
    IT_FAILED=0
    IT_N=0
    IT_OWN_CLUSTER=""
    # Runs publish tables at threshold 1 (nothing to suppress, so no audit loop: seconds of CPU a
    # run on the sample clinics) unless the script sets another before it_begin; the scripts
    # about the tables' protection run at the template's 5. Every run's tables are scanned for
    # small counts either way (run_tables_scan).
    : "${TDI_TEST_THRESHOLD=1}"
    : "${TDI:?set TDI to the tdi binary (make check does)}"
    if [ ! -x "$TDI" ]; then
        msg "tdi tests: $TDI is not an executable"
        exit 1
    fi
    IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tdi-it.XXXXXX")
    trap it_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 141' PIPE # the runner's tee is gone: still clean up
    if [ -z "${TDI_PG_DIR:-}" ]; then
        # Run on its own (not from run-integration.sh): bring up a cluster for this script.
        IT_OWN_CLUSTER=$(mktemp -d /tmp/tdi-pg.XXXXXX)
        rmdir "$IT_OWN_CLUSTER"
        pg_start "$IT_OWN_CLUSTER"
        pg_load "$IT_OWN_CLUSTER"
        TDI_PG_DIR=$IT_OWN_CLUSTER
    fi
    pg_env "$TDI_PG_DIR"
}

it_cleanup() {
    [ -z "${IT_TMP:-}" ] || [ -n "${IT_KEEP:-}" ] || rm -rf -- "$IT_TMP"
    [ -z "${IT_OWN_CLUSTER:-}" ] || pg_stop "$IT_OWN_CLUSTER"
}

# fail REASON: ends the current case as failed. Writes a TAP comment to fd 3 (the case's stdout,
# set up by it_case) so that a fail inside $(...) is still seen, and leaves a mark so that a fail
# inside a process substitution, which cannot end the case, still fails it.
fail() {
    printf '# FAIL %s: %s\n' "$CASE" "$*" >&3
    : >"$CASE_DIR/.failed"
    exit 99
}

it_case() {
    local name=$1 fn=$2 rc
    set +e
    (
        exec 3>&1
        set -e
        CASE=$name
        CASE_DIR=$IT_TMP/$name
        mkdir -p "$CASE_DIR"
        # where an unexpected command failure ended the case (99 is a fail already reported)
        # shellcheck disable=SC2154 # st is set inside the trap
        trap 'st=$?; [ "$st" = 99 ] || msg "  $CASE: command failed (status $st) at line $LINENO: $BASH_COMMAND"' ERR
        "$fn"
    )
    rc=$?
    set -e
    IT_N=$((IT_N + 1))
    if [ -e "$IT_TMP/$name/.failed" ]; then
        printf 'not ok %d - %s\n' "$IT_N" "$name"
        IT_FAILED=1
    elif [ "$rc" = 0 ]; then
        printf 'ok %d - %s\n' "$IT_N" "$name"
    else
        printf '# FAIL %s: exited with status %s\n' "$name" "$rc"
        printf 'not ok %d - %s\n' "$IT_N" "$name"
        IT_FAILED=1
    fi
}

# it_skip NAME REASON: a case that cannot run here; counted and shown as skipped, never as passed.
it_skip() {
    IT_N=$((IT_N + 1))
    printf 'ok %d - %s # SKIP %s\n' "$IT_N" "$1" "$2"
}

it_end() {
    printf '1..%d\n' "$IT_N"
    exit "$IT_FAILED"
}

# tdi_exec PREFIX ARGS...: runs $TDI ARGS with stdout in PREFIX.out and stderr in PREFIX.err;
# sets TDI_RC. Fails the case when a sanitizer reported something.
tdi_exec() {
    local prefix=$1
    shift
    TDI_RC=0
    TDI_LAST=$prefix
    "$TDI" "$@" </dev/null >"$prefix.out" 2>"$prefix.err" || TDI_RC=$?
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' \
        "$prefix.err"; then
        cat "$prefix.err" >&2
        fail "sanitizer report from: tdi $*"
    fi
    [ "${1:-}" != run ] || run_tables_scan "$@"
}

# small_counts TABLES.xml: "TABLE ROW COLUMN VALUE" for every count the file publishes from 1 to
# its threshold - 1 outside a grand total (row and column "total", or a statistic's number over
# all rows); means, SDs, rates, shares and medians are not counts. Nothing: none (issue 12).
small_counts() {
    awk '
    /<tables / { match($0, / threshold="[0-9]*"/); k = substr($0, RSTART + 12, RLENGTH - 13) + 0 }
    /<table / { match($0, / id="[^"]*"/); t = substr($0, RSTART + 5, RLENGTH - 6) }
    /<cell / {
        match($0, / row="[^"]*"/); r = substr($0, RSTART + 6, RLENGTH - 7)
        match($0, / column="[^"]*"/); c = substr($0, RSTART + 9, RLENGTH - 10)
        match($0, / value="[^"]*"/); v = substr($0, RSTART + 8, RLENGTH - 9)
        if (c ~ /_(mean|sd)$/ || c ~ /^(completion_rate|median_stay|aftercare_share)$/) next
        if (r == "total" && (c == "total" || c ~ /_n$/)) next
        if (v + 0 > 0 && v + 0 < k) print t, r, c, v
    }' "$1"
}

# run_tables_scan ARGS...: after `tdi ARGS` (a run), every tables file under the output directory
# of its --config holds no small count (small_counts): every test run's tables are checked.
run_tables_scan() {
    local conf="" out f
    while [ $# -gt 0 ]; do
        [ "$1" != --config ] || conf=${2:-}
        shift
    done
    [ -n "$conf" ] && [ -f "$conf" ] || return 0
    out=$(sed -n 's/^output_dir *= *//p' "$conf" | tail -n 1)
    case $out in /*) ;; "") return 0 ;; *) out=$(dirname "$conf")/$out ;; esac
    [ -d "$out" ] || return 0
    while IFS= read -r f; do
        if small_counts "$f" | grep . >&2; then
            fail "$f publishes a count under its threshold outside a grand total (above)"
        fi
    done < <(find "$out" -name '*.tables.xml' -type f)
}

# expect_rc WANT: fails unless the last tdi_exec exited with WANT; shows its stderr.
expect_rc() {
    if [ "$TDI_RC" != "$1" ]; then
        msg "  --- stderr of tdi:"
        sed 's/^/  | /' "$TDI_LAST.err" >&2 || true
        fail "tdi exited $TDI_RC, expected $1"
    fi
}

# tdi_try PREFIX WANT ARGS...: tdi_exec then expect_rc.
tdi_try() {
    local prefix=$1 want=$2
    shift 2
    tdi_exec "$prefix" "$@"
    expect_rc "$want"
}

# run_setup DIR: a fresh DIR/tdi.conf and DIR/tdi.key (the fixed test key, mode 0600), and a
# fresh state database of its own (DIR/state.db holds its name) initialised with `tdi init`. The
# output directory DIR/out does not exist yet: tdi creates it.
run_setup() {
    local dir=$1 db
    mkdir -p "$dir"
    db=$(state_db_name "$dir")
    state_db_create "$db"
    printf '%s\n' "$db" >"$dir/state.db"
    TDI_STATE_DB=$db tdi_write_config "$dir"
    cp "$TDI_FIXTURES/test.key" "$dir/tdi.key"
    chmod 600 "$dir/tdi.key"
    "$TDI" init --config "$dir/tdi.conf" >"$dir/init.out" 2>"$dir/init.err" ||
        fail "tdi init failed: $(cat "$dir/init.err")"
}

# ledger DIR SQL: a query on the state database of DIR (run_setup made it).
ledger() {
    state_sql "$(cat "$1/state.db")" "$2"
}

# run_pipeline DIR: run_setup, then `tdi run --year 2025`, which must succeed. Output under
# DIR/out, stdout/stderr in DIR/run.out and DIR/run.err.
run_pipeline() {
    local dir=$1
    run_setup "$dir"
    tdi_try "$dir/run" 0 run --config "$dir/tdi.conf" --year 2025
}

# stderr_has TEXT: the last tdi's stderr contains TEXT.
stderr_has() {
    grep -qF -- "$1" "$TDI_LAST.err" || {
        sed 's/^/  | /' "$TDI_LAST.err" >&2
        fail "stderr does not contain '$1'"
    }
}

# stdout_has TEXT: the last tdi's stdout contains TEXT as a whole line.
stdout_has() {
    grep -qxF -- "$1" "$TDI_LAST.out" || {
        sed 's/^/  | /' "$TDI_LAST.out" >&2
        fail "stdout has no line '$1'"
    }
}

# break_line FILE PATTERN REPLACEMENT: replaces the first line matching PATTERN (an ERE) and
# prints its line number.
break_line() {
    local file=$1 pattern=$2 replacement=$3 n
    n=$(grep -nE -m 1 -- "$pattern" "$file" | cut -d: -f1)
    [ -n "$n" ] || fail "no line matching $pattern in $file"
    sed -i "${n}s|.*|$replacement|" "$file"
    printf '%s\n' "$n"
}

# no_temp_files DIR: nothing half-written under DIR/out: no temp file (.*.tmp) at all.
no_temp_files() {
    local out=$1/out f
    [ -d "$out" ] || return 0
    f=$(find "$out" -name '.*.tmp' -print -quit)
    [ -z "$f" ] || fail "temp file left in the output directory: ${f#"$out"/}"
}

# no_submission DIR [BODY...]: no submission or manifest under DIR/out (of the BODYs named, or
# of any body), and no temp file.
no_submission() {
    local dir=$1 out=$1/out f b
    shift
    no_temp_files "$dir"
    [ -d "$out" ] || return 0
    if [ "$#" = 0 ]; then
        f=$(find "$out" -name 'tdi-*' -print -quit)
        [ -z "$f" ] || fail "published: ${f#"$out"/}"
        return 0
    fi
    for b in "$@"; do
        f=$(find "$out" -name "tdi-$b-*" -print -quit)
        [ -z "$f" ] || fail "published: ${f#"$out"/}"
    done
}

# last_run DIR: "status exit_code" of the newest run in the ledger of DIR's state database.
last_run() {
    ledger "$1" "SELECT status || ' ' || coalesce(exit_code::text, '-') FROM tdi.run ORDER BY run_no DESC LIMIT 1"
}

# expect_last_run DIR STATUS CODE: the newest ledger row has that status and exit code.
expect_last_run() {
    local got
    got=$(last_run "$1")
    [ "$got" = "$2 $3" ] || fail "ledger: the last run is '$got', expected '$2 $3'"
}

# run_count DIR: how many runs the ledger of DIR holds.
run_count() {
    ledger "$1" "SELECT count(*) FROM tdi.run"
}

# ---------------------------------------------------------------- pseudonyms, independently
# The keys and pseudonyms of README.md ("Pseudonyms") computed with the openssl command line, so
# tests compare tdi's output with values tdi did not make. The master key is $MASTER (default:
# the test key).

hex() { od -An -v -tx1 | tr -d ' \n'; }
unhex() {
    local h
    h=$(cat)
    printf '%b' "$(printf '%s' "$h" | sed 's/../\\x&/g')"
}
# hkdf INFO_HEX: HKDF-SHA256 of the master key with tdi's salt, 32 bytes, hex
hkdf() {
    openssl kdf -keylen 32 -kdfopt digest:SHA256 \
        -kdfopt "hexkey:${MASTER:-$(cat "$TDI_FIXTURES/test.key")}" \
        -kdfopt salt:tdi-hkdf-salt-v1 -kdfopt "hexinfo:$1" HKDF | tr -d ':\n' | tr 'A-F' 'a-f'
}
# hmac KEY_HEX: HMAC-SHA256 of stdin, hex
hmac() { openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" -binary | hex; }
body_key() { hkdf "$( (printf 'tdi/body/v1\000'; printf '%s' "$1") | hex)"; }
# episode_key BODY SOURCE ID: the key of episode ID of SOURCE in BODY's files
episode_key() {
    local link digest
    link=$(hkdf "$(printf 'tdi/link/v1' | hex)")
    digest=$( (printf 'tdi/episode/v1\000%s\000' "$2"; printf '%s' "$3") | hmac "$link")
    printf 'e1:%s\n' "$( (printf 'tdi/episode/v1\000'; printf '%s' "$digest" | unhex) |
        hmac "$(body_key "$1")" | cut -c1-32)"
}

# ---- clinic copies and config edits, for cases that change rows or settings

# clinic_copy NAME TEMPLATE: a fresh copy of a sample clinic database (copied from its untouched
# twin TEMPLATE_tpl, see pg_load, when there is one).
clinic_copy() {
    local from=$2
    [ -z "$(pg_sql postgres -c "SELECT 1 FROM pg_database WHERE datname = '${2}_tpl'")" ] || from=${2}_tpl
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
        -c "CREATE DATABASE $1 TEMPLATE $from"
}

# incremental_en DB: riverside's schema gets admissions.changed_at (set on every update) and the
# view tdi_episodes_inc = tdi_episodes + changed_at.
incremental_en() {
    pg_sql "$1" <<'SQL'
SET client_min_messages = warning;
ALTER TABLE admissions ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.changed_at := clock_timestamp(); RETURN NEW; END$$;
CREATE TRIGGER touch BEFORE UPDATE ON admissions FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW tdi_episodes_inc AS
  SELECT v.*, a.changed_at FROM tdi_episodes v JOIN admissions a ON a.adm_id::text = v.episode_id;
GRANT SELECT ON tdi_episodes_inc TO tdi_reader;
SQL
}

# set_in CONF SECTION KEY VALUE: sets KEY in the section headed SECTION ("[body national]"),
# replaced or added; set_source CONF SOURCE KEY VALUE and set_body CONF BODY KEY VALUE name it.
set_in() {
    awk -v sec="$2" -v key="$3" -v val="$4" '
        /^\[/ { if (in_sec && !done) { print key " = " val; done = 1 }
                in_sec = ($0 == sec) }
        in_sec && $1 == key { if (!done) print key " = " val; done = 1; next }
        { print }
        END { if (in_sec && !done) print key " = " val }' "$1" >"$1.new"
    mv "$1.new" "$1"
}
set_source() { set_in "$1" "[source $2]" "$3" "$4"; }
set_body() { set_in "$1" "[body $2]" "$3" "$4"; }

# use_db CONF SOURCE DB [QUERY]: the source reads DB (with QUERY).
use_db() {
    set_source "$1" "$2" conninfo "host=$PGHOST port=$PGPORT dbname=$3 user=tdi_reader"
    [ -z "${4:-}" ] || set_source "$1" "$2" query "$4"
}

# top_key CONF LINE: adds a top-level setting (before the first section).
top_key() {
    awk -v line="$2" '/^\[/ && !done { print line; print ""; done = 1 } { print }' "$1" >"$1.new"
    mv "$1.new" "$1"
}

# delete_lines GZ / replace_lines GZ: the <delete/> and action="replace" lines of a submission.
delete_lines() { gzip -dc "$1" | grep -E '^<delete ' || true; }
replace_lines() { episode_lines "$1" | grep -F ' action="replace" ' || true; }

# submissions DIR BODY: the body's submissions, oldest first (run ids sort by time).
submissions() {
    compgen -G "$1/out/$2/tdi-$2-2025-*.xml.gz" | LC_ALL=C sort || true
}

# valid_both GZ: tdi validate and xmllint both accept the submission.
valid_both() {
    tdi_try "$CASE_DIR/validate" 0 validate "$1"
    gzip -dc "$1" | xmllint --noout --nonet --schema "$TDI_ROOT/schemas/tdi-submission.xsd" - 2>"$CASE_DIR/xmllint.err" ||
        { cat "$CASE_DIR/xmllint.err" >&2; fail "xmllint rejects $(basename "$1")"; }
}

# same_as_full_run DIR COLUMNS: what the bodies hold in DIR's state database (tdi.sent: body,
# ekey and COLUMNS) equals what one full run of DIR's config into a fresh state database sends.
same_as_full_run() {
    local q="SELECT body, ekey, $2 FROM tdi.sent ORDER BY 1, 2"
    run_setup "$1/fresh"
    cp "$1/tdi.conf" "$1/fresh/tdi.conf"
    sed -i "s/dbname=$(cat "$1/state.db")/dbname=$(cat "$1/fresh/state.db")/; s|^output_dir .*|output_dir = fresh/out|" "$1/fresh/tdi.conf"
    tdi_try "$1/fresh/run" 0 run --config "$1/fresh/tdi.conf" --year 2025
    ledger "$1" "$q" >"$1/sent.delta"
    ledger "$1/fresh" "$q" >"$1/sent.full"
    diff "$1/sent.full" "$1/sent.delta" >&2 || fail "the bodies hold other records after the deltas than after one full run"
}

# summaries_match DIR: the summaries of DIR's state database equal what its tdi.sent implies,
# recomputed in SQL: per person and year the rows that are a start for a drug (tdi.person_year),
# per body and year the rows and entrants held (tdi.body_sequence). Prints the number of person
# years, for the caller to check too.
summaries_match() {
    local implied="SELECT person, year, count(*) AS n FROM tdi.sent WHERE person IS NOT NULL AND drug IS NOT FALSE GROUP BY person, year"
    local kept="SELECT person, year, n FROM tdi.person_year WHERE n > 0" held d
    d=$(ledger "$1" "SELECT count(*) FROM (($kept EXCEPT $implied) UNION ALL ($implied EXCEPT $kept)) d")
    [ "$d" = 0 ] || fail "tdi.person_year differs from what tdi.sent implies in $d rows"
    held="SELECT body, year, count(*), count(*) FILTER (WHERE entrant) FROM tdi.sent GROUP BY body, year"
    d=$(ledger "$1" "SELECT count(*) FROM ((SELECT body, year, episodes, entrants FROM tdi.body_sequence WHERE episodes > 0 EXCEPT $held) UNION ALL ($held EXCEPT SELECT body, year, episodes, entrants FROM tdi.body_sequence)) d")
    [ "$d" = 0 ] || fail "tdi.body_sequence's counts differ from tdi.sent in $d bodies and years"
    ledger "$1" "SELECT count(*) FROM tdi.person_year WHERE n > 0"
}

# episode_lines FILE.xml.gz: the <episode .../> elements, one a line, leading blanks removed.
episode_lines() {
    gzip -dc "$1" | sed -n 's/^[[:space:]]*\(<episode[[:space:]].*\)$/\1/p'
}

# episode_items: "NAME DEFAULT" for each coded item of an episode (an attribute of a *_code type)
# in tdi-submission.xsd's order, DEFAULT "-" for an item without one (it applies only to some
# episodes). Read from the schema itself, not from tdi.
episode_items() {
    awk '/<xs:complexType name="episode">/ { on = 1 }
        on && /<\/xs:complexType>/ { exit }
        on && match($0, /<xs:attribute name="[a-z_0-9]+" type="tdi:[a-z_]+_code"/) {
            n = substr($0, RSTART, RLENGTH); sub(/^<xs:attribute name="/, "", n); sub(/".*/, "", n)
            d = "-"
            if (match($0, / default="[^"]*"/)) d = substr($0, RSTART + 10, RLENGTH - 11)
            print n, d
        }' "$TDI_ROOT/schemas/tdi-submission.xsd"
}

# spell_defaults: <episode/> lines on stdin with every coded item left out at its schema default
# (schema 2.4: "not known"; episode_items) spelled out, as files before 2.4 have them: what a
# reader of the file must see. Attributes that are no coded item keep their place; the items
# follow them in the schema's order (the writer's).
spell_defaults() {
    awk -v items="$(episode_items)" '
    BEGIN {
        ni = split(items, lines, "\n")
        if (ni < 20) { print "spell_defaults: no coded items in the schema" > "/dev/stderr"; exit 1 }
        for (i = 1; i <= ni; i++) {
            split(lines[i], w, " "); item[i] = w[1]; is_item[w[1]] = 1
            if (w[2] != "-") dflt[w[1]] = w[2]
        }
    }
    {
        s = $0; out = "<episode"; delete val
        while (match(s, / [a-zA-Z_0-9]+="[^"]*"/)) {
            kv = substr(s, RSTART + 1, RLENGTH - 1); s = substr(s, RSTART + RLENGTH)
            k = substr(kv, 1, index(kv, "=") - 1)
            if (k in is_item) val[k] = kv
            else out = out " " kv
        }
        for (i = 1; i <= ni; i++)
            if (item[i] in val) out = out " " val[item[i]]
            else if (item[i] in dflt) out = out " " item[i] "=\"" dflt[item[i]] "\""
        print out "/>"
    }'
}

# episode_lines_full FILE.xml.gz: episode_lines with the defaults spelled out (spell_defaults).
episode_lines_full() {
    episode_lines "$1" | spell_defaults
}

# one_file GLOB: the single file matching GLOB (quoted by the caller), or fail.
one_file() {
    local -a found=()
    mapfile -t found < <(compgen -G "$1" || true)
    [ "${#found[@]}" = 1 ] || fail "expected one file matching $1, found ${#found[@]}"
    printf '%s\n' "${found[0]}"
}

# table_cells TABLES.xml: "TABLE ROW COLUMN VALUE" for every cell element, "TABLE ROW COLUMN S"
# for every suppressed one, "TABLE ROW COLUMN E" for every empty one (a statistic with no value).
table_cells() {
    awk '
    /<table / { match($0, / id="[^"]*"/); t = substr($0, RSTART + 5, RLENGTH - 6) }
    /<cell / || /<suppressed / || /<empty / {
        match($0, / row="[^"]*"/); r = substr($0, RSTART + 6, RLENGTH - 7)
        match($0, / column="[^"]*"/); c = substr($0, RSTART + 9, RLENGTH - 10)
        if ($0 ~ /<suppressed /) v = "S"
        else if ($0 ~ /<empty /) v = "E"
        else { match($0, / value="[^"]*"/); v = substr($0, RSTART + 8, RLENGTH - 9) }
        print t, r, c, v
    }' "$1"
}

# run_with_threshold DIR THRESHOLD: run_setup, suppression_threshold = THRESHOLD in DIR/tdi.conf,
# then `tdi run --year 2025`, which must succeed.
run_with_threshold() {
    local dir=$1 threshold=$2
    run_setup "$dir"
    sed -i "s/^suppression_threshold *=.*/suppression_threshold = $threshold/" "$dir/tdi.conf"
    grep -qx "suppression_threshold = $threshold" "$dir/tdi.conf" || fail "could not set the threshold"
    tdi_try "$dir/run" 0 run --config "$dir/tdi.conf" --year 2025
}

# json_field FILE NAME: the value of a top-level "NAME": scalar in a small JSON file (no jq needed).
json_field() {
    tr -d '\n' <"$1" | sed -nE "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"?([^\",}]*)\"?[[:space:]]*[,}].*/\1/p"
}

# the bodies and sources of examples/tdi.conf.in
tdi_bodies() { sed -n 's/^[[:space:]]*\[body[[:space:]]\{1,\}\([^]]*\)\].*/\1/p' "$TDI_CONF_TEMPLATE"; }
tdi_sources() { sed -n 's/^[[:space:]]*\[source[[:space:]]\{1,\}\([^]]*\)\].*/\1/p' "$TDI_CONF_TEMPLATE"; }
