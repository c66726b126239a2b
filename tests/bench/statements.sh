#!/usr/bin/env bash
# tests/bench/statements.sh: the state database's work of a first full `tdi run`, statement by
# statement, for one or more tdi binaries on the same rows (issue 16: where the server CPU goes).
#
# In a throwaway PostgreSQL with pg_stat_statements (track = top), BENCH_STMT_SIZE synthetic
# episodes (default 200000; tests/bench/gen.sql); then BENCH_RUNS rounds (default 3), each binary
# of BENCH_STMT_TDI once per round, alternating, so machine noise falls on each alike: an empty
# state database (`tdi init`, not timed), the statistics reset, one `tdi run`. Per run: client
# CPU (user+sys), the server's CPU (the postmaster's reaped backends), and every statement of the
# state database and the source by total_exec_time (server time, waits included: under load only
# the proportions count), and the size of tdi.sent and tdi.person_year after it
# (pg_total_relation_size, over the partitions). The table gives medians per statement (the first 70
# characters of its text) and per binary; the binaries' submissions must have the same episode
# lines (checked).
#
# Environment: BENCH_STMT_TDI="label=path ..." (default "tdi=$TDI", else ./tdi), BENCH_STMT_SIZE,
# BENCH_RUNS, BENCH_OUT (default build/bench), BENCH_KEEP=1 keeps the work directory.
# Output: the table on stdout and in BENCH_OUT/stmt-STAMP.txt, every measurement in .tsv.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR=$TDI_ROOT/tests/bench
SIZE=${BENCH_STMT_SIZE:-200000}
RUNS=${BENCH_RUNS:-3}
OUT=${BENCH_OUT:-$TDI_ROOT/build/bench}
read -r -a bins <<<"${BENCH_STMT_TDI:-tdi=${TDI:-$TDI_ROOT/tdi}}"
YEAR=2025
DB=stmt_src
STATE_DB=stmt_state

[[ $SIZE =~ ^[1-9][0-9]*$ && $RUNS =~ ^[1-9][0-9]*$ ]] ||
    { msg "statements: BENCH_STMT_SIZE and BENCH_RUNS want positive numbers"; exit 2; }
labels=()
for b in "${bins[@]}"; do
    [[ $b == *=* && -x ${b#*=} ]] || { msg "statements: '$b' is not label=path of a tdi binary"; exit 2; }
    labels+=("${b%%=*}")
done

mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT/stmt-$STAMP.tsv
REPORT=$OUT/stmt-$STAMP.txt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdi-stmt.XXXXXX")
PG_DIR=$(mktemp -d /tmp/tdi-pg.XXXXXX)
rmdir "$PG_DIR" # pg_start wants to make it
trap 'pg_stop "$PG_DIR"; [ "${BENCH_KEEP:-0}" = 1 ] && msg "statements: kept $WORK" || rm -rf -- "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_start "$PG_DIR"
pg_env "$PG_DIR"
{
    echo "shared_preload_libraries = 'pg_stat_statements'"
    echo "pg_stat_statements.track = top" # a COPY (SELECT ...) once, not twice
    echo "pg_stat_statements.max = 10000"
} >>"$PG_DIR/data/postgresql.conf"
as_pg "$TDI_PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 -s restart
pg_sql postgres -c "CREATE EXTENSION pg_stat_statements"
POSTMASTER=$(head -n 1 "$PG_DIR/data/postmaster.pid")
PG_BACKGROUND=$(pgrep -c -P "$POSTMASTER" || true)
pg_sql postgres -c "CREATE ROLE $TDI_READER LOGIN" \
    -c "ALTER ROLE $TDI_READER SET default_transaction_read_only = on"
pg_sql postgres -c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
pg_sql "$DB" -v n="$SIZE" -v tbl=ep -f "$BENCH_DIR/gen.sql"
"${bins[0]#*=}" keygen "$WORK/tdi.key" >/dev/null
cat >"$WORK/tdi.conf" <<EOF
output_dir = $WORK/out
key_file   = $WORK/tdi.key
state      = host=$PGHOST port=$PGPORT dbname=$STATE_DB user=postgres
k_min      = 1

[source bench]
conninfo  = host=$PGHOST port=$PGPORT dbname=$DB user=$TDI_READER
query     = SELECT * FROM ep
crosswalk = $BENCH_DIR/bench.cw
region    = BE100

[body national]
regions = *
EOF

# The server's CPU seconds so far (postmaster and reaped backends), once the last run's backends
# have ended.
srv_cpu() {
    local i
    for ((i = 0; i < 1000; i++)); do
        [ "$(pgrep -c -P "$POSTMASTER" || true)" -le "$PG_BACKGROUND" ] && break
        sleep 0.01
    done
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13 + $14 + $15) / hz }' \
        "/proc/$POSTMASTER/stat"
}

# one LABEL BIN RUN: one first full run; its figures and statements appended to $RAW as
# label run what ms text ("cpu"/"srv" lines: seconds).
one() {
    local label=$1 bin=$2 run=$3 s0 s1 user sys
    state_db_create "$STATE_DB" >/dev/null
    rm -rf -- "$WORK/out"
    "$bin" init --config "$WORK/tdi.conf" >"$WORK/init.out" 2>&1 ||
        { cat "$WORK/init.out" >&2; msg "statements: tdi init ($label) failed"; exit 1; }
    pg_sql postgres -c "SELECT pg_stat_statements_reset()" >/dev/null
    s0=$(srv_cpu)
    /usr/bin/time -f '%U %S' -o "$WORK/time.out" "$bin" run --config "$WORK/tdi.conf" --year "$YEAR" \
        >"$WORK/run.out" 2>&1 || { tail -n 20 "$WORK/run.out" >&2; msg "statements: tdi run ($label) failed"; exit 1; }
    s1=$(srv_cpu)
    read -r user sys <"$WORK/time.out"
    printf '%s\t%s\tcpu\t%s\t-\n%s\t%s\tsrv\t%s\t-\n' "$label" "$run" "$(echo "$user + $sys" | bc)" \
        "$label" "$run" "$(echo "$s1 - $s0" | bc)" >>"$RAW"
    {
        pg_sql postgres -F $'\t' -c "
            SELECT '$label', $run, 'stmt', round(sum(s.total_exec_time))::bigint,
                   CASE d.datname WHEN '$STATE_DB' THEN '' ELSE d.datname || ': ' END ||
                   left(regexp_replace(s.query, '\s+', ' ', 'g'), 70)
              FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname IN ('$STATE_DB', '$DB')
             GROUP BY 5"
        # what the state keeps: tdi.sent (its years' tables: a partitioned table has no size of
        # its own) and tdi.person_year with their indexes, in MB
        pg_sql "$STATE_DB" -F $'\t' -c "
            SELECT '$label', $run, 'size',
                   round(coalesce((SELECT sum(pg_total_relation_size(p.relid))
                                     FROM pg_partition_tree(('tdi.' || t)::regclass) p),
                                  pg_total_relation_size('tdi.' || t)) / 1048576.0, 1),
                   'size of tdi.' || t || ', MB with indexes'
              FROM unnest(ARRAY['sent', 'person_year']) t"
    } >>"$RAW"
    gzip -dc "$WORK/out/national/"*.xml.gz | grep '<episode ' >"$WORK/episodes.$label"
}

printf 'label\trun\twhat\tvalue\ttext\n' >"$RAW"
for ((r = 1; r <= RUNS; r++)); do
    for b in "${bins[@]}"; do
        one "${b%%=*}" "${b#*=}" "$r"
    done
    msg "statements: round $r of $RUNS done"
done
same=yes
for l in "${labels[@]}"; do
    cmp -s "$WORK/episodes.${labels[0]}" "$WORK/episodes.$l" || same=no
done

# The table, by the throwaway server itself: medians per binary of each figure and statement.
table() {
    local cols="" l
    for l in "${labels[@]}"; do
        cols="$cols, coalesce(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY value) FILTER (WHERE label = '$l')::numeric, 2)::text, '-')"
    done
    pg_sql postgres -F ' | ' -c "CREATE TEMP TABLE m (label text, run int, what text, value float8, text text)" \
        -c "\\copy m FROM '$RAW' WITH (FORMAT text, HEADER true)" -c "
        SELECT CASE what WHEN 'cpu' THEN 'client CPU s' WHEN 'srv' THEN 'server CPU s' ELSE text END
               $cols
          FROM m GROUP BY what, text
        HAVING what <> 'stmt' OR max(value) >= 20
         ORDER BY what <> 'cpu', what <> 'srv', max(value) FILTER (WHERE label = '${labels[-1]}') DESC NULLS LAST" | sed 's/^/| /; s/$/ |/'
}

{
    echo "state database statements (and the source's, named so), first full run of $SIZE episodes;"
    echo "medians of $RUNS; ms of total_exec_time (statements of >= 20 ms); episode lines the same: $same"
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '| statement |'; printf ' %s |' "${labels[@]}"; printf '\n|---|'; printf -- '---|%.0s' "${labels[@]}"; echo
    table
    echo "raw measurements: ${RAW#"$TDI_ROOT"/}"
} >"$REPORT"
cat "$REPORT"
