#!/usr/bin/env bash
# tests/bench/parallel.sh (make bench calls it; it runs alone too): many clinics at once (issue 16).
#
# BENCH_PARALLEL_SOURCES sources (default 100), each a view of BENCH_PARALLEL_EPISODES synthetic
# episodes (default 10000, tests/bench/gen.sql) that answers only after BENCH_PARALLEL_DELAY
# seconds (default 0.5: pg_sleep before its first row), all in one throwaway PostgreSQL. `tdi
# run` reads them into an empty state database, BENCH_RUNS times each (default 3, medians,
# round-robin): with max_parallel_sources = 1 (one after the other) and at its default. Prints
# the two runs in the bench table's format and the target, parallel wall time <= 0.3x serial,
# with PASS/FAIL. BENCH_PARALLEL_SOURCES=0 skips the scenario; BENCH_PARALLEL_SETTING=N runs the
# parallel mode with max_parallel_sources = N instead of the default.
#
# Environment: those above, TDI (default ./tdi), BENCH_GZIP_LEVEL (default 1), BENCH_KEEP=1 keeps
# the work directory (each mode's config, output and --verbose log).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NSRC=${BENCH_PARALLEL_SOURCES:-100}
NEP=${BENCH_PARALLEL_EPISODES:-10000}
DELAY=${BENCH_PARALLEL_DELAY:-0.5}
RUNS=${BENCH_RUNS:-3}
SETTING=${BENCH_PARALLEL_SETTING:-} # max_parallel_sources of the parallel mode ("": tdi's default)
LEVEL=${BENCH_GZIP_LEVEL:-1}
TDI_BIN=${TDI:-$TDI_ROOT/tdi}
BENCH_DIR=$TDI_ROOT/tests/bench
DB=bench_par
STATE_DB=bench_par_state

[ "$NSRC" != 0 ] || exit 0
case $TDI_BIN in /*) ;; *) TDI_BIN=$PWD/$TDI_BIN ;; esac
[ -x "$TDI_BIN" ] || { msg "bench: no $TDI_BIN; build it with 'make'"; exit 1; }
for v in "$NSRC" "$NEP" "$RUNS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { msg "bench: BENCH_PARALLEL_SOURCES, BENCH_PARALLEL_EPISODES and BENCH_RUNS want positive numbers"; exit 2; }
done
[ -z "$SETTING" ] || [[ $SETTING =~ ^[1-9][0-9]*$ ]] || { msg "bench: BENCH_PARALLEL_SETTING wants a positive number"; exit 2; }
[[ $DELAY =~ ^[0-9]+(\.[0-9]+)?$ ]] || { msg "bench: BENCH_PARALLEL_DELAY wants seconds, e.g. 0.5"; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdi-bench-par.XXXXXX")
PG_DIR=$(mktemp -d /tmp/tdi-pg.XXXXXX)
rmdir "$PG_DIR" # pg_start makes it; pg_stop does nothing while it is absent
finish() {
    pg_stop "$PG_DIR"
    [ "${BENCH_KEEP:-0}" = 1 ] && msg "bench: work directory kept: $WORK" || rm -rf -- "$WORK"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_start "$PG_DIR" >&2
pg_env "$PG_DIR"
pg_sql postgres -c "CREATE ROLE $TDI_READER LOGIN" \
    -c "ALTER ROLE $TDI_READER SET default_transaction_read_only = on" >/dev/null
pg_sql postgres -c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" >/dev/null
pg_sql "$DB" -v n="$NEP" -v tbl=ep -f "$BENCH_DIR/gen.sql" >/dev/null
# One view a source: the rows after the delay, with episode ids of its own.
for ((i = 1; i <= NSRC; i++)); do
    printf "CREATE VIEW src_%d AS SELECT 'S%d-' || episode_id AS episode_id, client_id, centre_id,
      start_date, birth_date, setting, sex, treatment_status, primary_drug, route
      FROM ep WHERE (SELECT true FROM pg_sleep(%s));
    GRANT SELECT ON src_%d TO %s;\n" "$i" "$i" "$DELAY" "$i" "$TDI_READER"
done | pg_sql "$DB" >/dev/null
"$TDI_BIN" keygen "$WORK/tdi.key" >/dev/null

# config PARALLEL: the run's config with max_parallel_sources = PARALLEL ("" for the default, at
# most 50 connections: the throwaway cluster's max_connections).
config() {
    local i
    printf 'output_dir = out\nkey_file = %s\ngzip_level = %s\nk_min = 1\n' "$WORK/tdi.key" "$LEVEL"
    printf 'state = host=%s port=%s dbname=%s user=postgres\n' "$PGHOST" "$PGPORT" "$STATE_DB"
    [ -z "$1" ] || printf 'max_parallel_sources = %s\n' "$1"
    for ((i = 1; i <= NSRC; i++)); do
        printf '\n[source s%d]\nconninfo = host=%s port=%s dbname=%s user=%s\n' "$i" "$PGHOST" "$PGPORT" "$DB" "$TDI_READER"
        printf 'query = SELECT * FROM src_%d\ncrosswalk = %s\nregion = BE100\n' "$i" "$BENCH_DIR/bench.cw"
    done
    printf '\n[body national]\nregions = *\n'
}

# one MODE RUN: a first full run into an empty state database; appends
# "mode run wall_s user_s sys_s maxrss_kib read_s" to $WORK/raw.
one() {
    local dir=$WORK/$1 t0 t1
    rm -rf -- "$dir/out"
    state_db_create "$STATE_DB" >/dev/null
    "$TDI_BIN" init --config "$dir/tdi.conf" >"$dir/init.out" 2>&1 || { cat "$dir/init.out" >&2; exit 1; }
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$dir/time.out" "$TDI_BIN" run --config "$dir/tdi.conf" --year 2025 --verbose \
        >"$dir/run.out" 2>"$dir/run.err" || { tail -n 20 "$dir/run.err" >&2; msg "bench: tdi run ($1) failed"; exit 1; }
    t1=$EPOCHREALTIME
    awk -F': ' -v m="$1" -v r="$2" -v t0="$t0" -v t1="$t1" '
        /User time \(seconds\)/ { u = $2 } /System time \(seconds\)/ { s = $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%s\t%s\t%.3f\t%.2f\t%.2f\t%d\t", m, r, t1 - t0, u, s, rss }' "$dir/time.out" >>"$WORK/raw"
    # The read phase alone (the sources; the state work and the files after it are the same in
    # both modes), from --verbose.
    sed -n 's/^tdi: debug: sources: read in \([0-9.]*\) s$/\1/p' "$dir/run.err" >>"$WORK/raw"
}

for mode in serial parallel; do
    mkdir -p "$WORK/$mode"
    if [ "$mode" = serial ]; then config 1; else config "$SETTING"; fi >"$WORK/$mode/tdi.conf"
done
: >"$WORK/raw"
for ((r = 1; r <= RUNS; r++)); do
    one serial "$r"
    one parallel "$r"
    msg "bench: parallel sources, run $r of $RUNS done"
done
cmp -s <(grep -v '^tdi run\|^report\|-> ' "$WORK/serial/run.out") <(grep -v '^tdi run\|^report\|-> ' "$WORK/parallel/run.out") ||
    { diff "$WORK/serial/run.out" "$WORK/parallel/run.out" >&2 || true; msg "bench: the parallel run printed other counts"; exit 1; }
extracted=$(sed -n 's/^balance: extracted \([0-9]*\) = .*/\1/p' "$WORK/parallel/run.out")

awk -F'\t' -v nsrc="$NSRC" -v nep="$NEP" -v delay="$DELAY" -v ext="$extracted" '
    function median(k,   n, i, j, t, v) {
        n = cnt[k]; for (i = 1; i <= n; i++) v[i] = val[k, i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { for (f = 3; f <= 7; f++) { k = $1 SUBSEP f; val[k, ++cnt[k]] = f == 4 ? $4 + $5 : $f } }
    END {
        printf "parallel sources: %d sources of %d episodes, each answering after %s s (extracted %d)\n", nsrc, nep, delay, ext
        printf "  %-34s %8s %10s %8s %8s %8s  %s\n", "step", "wall s", "rows/s", "RSS MiB", "CPU s", "srv s", "ratio"
        s = median("serial" SUBSEP 3); p = median("parallel" SUBSEP 3)
        printf "  %-34s %8.2f %10.0f %8.1f %8.2f %8s  %s\n", "tdi run, max_parallel_sources = 1", s, ext / s, median("serial" SUBSEP 6) / 1024, median("serial" SUBSEP 4), "-", sprintf("delays alone %.1f s", nsrc * delay)
        printf "  %-34s %8.2f %10.0f %8.1f %8.2f %8s  %s\n", "tdi run, its default", p, ext / p, median("parallel" SUBSEP 6) / 1024, median("parallel" SUBSEP 4), "-", sprintf("%.2fx serial", p / s)
        rs = median("serial" SUBSEP 7); rp = median("parallel" SUBSEP 7)
        printf "  %-34s %8.2f %10.0f %8s %8s %8s  %s\n", "  of which reading, one at a time", rs, ext / rs, "", "", "", ""
        printf "  %-34s %8.2f %10.0f %8s %8s %8s  %s\n", "  of which reading, at once", rp, ext / rp, "", "", "", sprintf("%.2fx one at a time", rp / rs)
        print ""
        print "targets"
        printf "  %d sources at once <= 0.3x serial:      %.2fx  %s\n", nsrc, p / s, (p / s <= 0.3) ? "PASS" : "FAIL"
        printf "    (the reading alone: %.2fx; the state work and the files after it take as long either way)\n", rp / rs
    }' "$WORK/raw"
