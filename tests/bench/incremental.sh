#!/usr/bin/env bash
# tests/bench/incremental.sh (make bench, from tests/bench/bench.sh): the nightly incremental run
# against the first full run, and with earlier years held against none (issue 16's targets).
#
# For each size N of BENCH_INCR_SIZES (default 2000000; empty: nothing runs), in a throwaway
# PostgreSQL (tests/pg.sh), with the synthetic rows of tests/bench/gen.sql as an incremental
# source (a changed_at column with an index, the episode id its primary key: keyed()):
#   full          tdi run, the year's first (full) read of N rows into an empty state database
#   nightly       then BENCH_INCR_CHANGED rows changed (default 10000: a third new rows, a third
#                 rows changed, a third rows deleted) and the next run, incremental; the first
#                 follows a night with nothing changed (not timed), as nights follow nights: a
#                 full read leaves no key scan to compare the next one with (run/run_keys.c)
#   nightly_hist  the same nightly run when the state database already holds BENCH_INCR_YEARS
#                 earlier years (default 5) of N episodes each, of the same persons, sent by
#                 `tdi run --year Y` (not timed)
# The two state databases are kept side by side, and nights follow nights in both, as in a real
# register: each of the BENCH_RUNS rounds (default 3) changes the source as above, then runs the
# night in each (the order alternates by round), so the two nights of a round read the same
# changes and must take the same actions (checked). No state is copied back between nights: a
# copy of 0.65 or 3.9 GB before a night put what it left in the kernel's memory into that night's
# time (docs/benchmark.md, 2026-12-06 10:00). Targets: nightly <= 10% of full; nightly_hist
# within 10% of nightly (medians).
#
# BENCH_INCR_PROFILE=1 also loads pg_stat_statements and writes, per step, the state database's
# statements by total time, with their shared blocks (hit and read, which a loaded machine does
# not blur) and of those the ones read (not in shared_buffers) (BENCH_OUT/incr-STAMP.profile.txt;
# docs/benchmark.md).
#
# Environment: BENCH_INCR_SIZES, BENCH_INCR_CHANGED, BENCH_INCR_YEARS, BENCH_RUNS, BENCH_OUT
# (default build/bench), TDI (default ./tdi), BENCH_KEEP=1 keeps the work directory.
# Output: the table on stdout and in BENCH_OUT/incr-STAMP.txt, every measurement in .tsv.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR=$TDI_ROOT/tests/bench
SIZES=${BENCH_INCR_SIZES-2000000}
CHANGED=${BENCH_INCR_CHANGED:-10000}
YEARS=${BENCH_INCR_YEARS:-5}
RUNS=${BENCH_RUNS:-3}
PROFILE=${BENCH_INCR_PROFILE:-0}
OUT=${BENCH_OUT:-$TDI_ROOT/build/bench}
TDI_BIN=${TDI:-$TDI_ROOT/tdi}
YEAR=2025
DB=incr_src
STATE_DB=incr_state     # this year only
HIST_DB=incr_state_hist # the earlier years and this year

[ -n "$SIZES" ] || exit 0
case $TDI_BIN in /*) ;; *) TDI_BIN=$PWD/$TDI_BIN ;; esac
[ -x "$TDI_BIN" ] || { msg "incremental: no $TDI_BIN; build it with 'make'"; exit 1; }
for v in "$CHANGED" "$YEARS" "$RUNS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { msg "incremental: BENCH_INCR_CHANGED, BENCH_INCR_YEARS and BENCH_RUNS want positive numbers"; exit 2; }
done
IFS=, read -r -a sizes <<<"$SIZES"
for n in "${sizes[@]}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] && [ "$n" -ge $((CHANGED * 2)) ] ||
        { msg "incremental: BENCH_INCR_SIZES wants numbers of at least twice BENCH_INCR_CHANGED, not '$SIZES'"; exit 2; }
done

mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT/incr-$STAMP.tsv
REPORT=$OUT/incr-$STAMP.txt
PROF=$OUT/incr-$STAMP.profile.txt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdi-incr.XXXXXX")
PG_DIR=$(mktemp -d /tmp/tdi-pg.XXXXXX)
rmdir "$PG_DIR" # pg_start wants to make it; pg_stop does nothing while it is not there
# The cluster stopped and the work directory gone however the script ends (BENCH_KEEP=1 keeps it).
trap 'pg_stop "$PG_DIR"; [ "${BENCH_KEEP:-0}" = 1 ] && msg "incremental: kept $WORK" || rm -rf -- "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_start "$PG_DIR"
pg_env "$PG_DIR"
if [ "$PROFILE" = 1 ]; then
    echo "shared_preload_libraries = 'pg_stat_statements'" >>"$PG_DIR/data/postgresql.conf"
    echo "pg_stat_statements.track = all" >>"$PG_DIR/data/postgresql.conf"
    as_pg "$TDI_PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 -s restart
    pg_sql postgres -c "CREATE EXTENSION pg_stat_statements"
    : >"$PROF"
fi
POSTMASTER=$(head -n 1 "$PG_DIR/data/postmaster.pid")
PG_BACKGROUND=$(pgrep -c -P "$POSTMASTER" || true)
pg_sql postgres -c "CREATE ROLE $TDI_READER LOGIN" \
    -c "ALTER ROLE $TDI_READER SET default_transaction_read_only = on"
pg_sql postgres -c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
"$TDI_BIN" keygen "$WORK/tdi.key" >/dev/null

# ---------------------------------------------------------------- measuring

# Waits until every backend of the last step has ended: a loaded server may still be ending the
# last run's session (and its run lock, and its hold on the state database) after tdi exited.
settle() {
    local i
    for ((i = 0; i < 1000; i++)); do
        [ "$(pgrep -c -P "$POSTMASTER" || true)" -le "$PG_BACKGROUND" ] && return 0
        sleep 0.01
    done
}

# The server's CPU seconds so far: the postmaster's and its reaped backends' (utime, stime,
# cutime, cstime), once every backend of the last step has ended.
srv_cpu() {
    settle
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13 + $14 + $15) / hz }' \
        "/proc/$POSTMASTER/stat"
}

# timed SIZE STEP RUN CONF: one `tdi run`, its figures appended to $RAW (size step run wall user+sys
# rss_kib server_cpu sys minor_faults), its stdout kept in $WORK/STEP.out.
timed() {
    local size=$1 step=$2 run=$3 conf=$4 s0 t0 t1 rc=0
    # At rest (pg_at_rest), as a real night's state has been all day: what the steps before it
    # wrote (the rows generated, the earlier years' runs, the other database's night) is not
    # this step's work, and its writeback would land in its time.
    pg_at_rest
    [ "$PROFILE" != 1 ] || pg_sql postgres -c "SELECT pg_stat_statements_reset()" >/dev/null
    s0=$(srv_cpu)
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M %R' -o "$WORK/time.out" "$TDI_BIN" run --config "$conf" --year "$YEAR" \
        >"$WORK/$step.out" 2>"$WORK/$step.err" || rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" != 0 ]; then
        msg "incremental: $step at $size failed (exit $rc)"
        tail -n 20 "$WORK/$step.err" >&2
        exit 1
    fi
    read -r user sys rss minflt <"$WORK/time.out"
    awk -v a="$t0" -v b="$t1" -v u="$user" -v s="$sys" -v m="$rss" -v c0="$s0" -v c1="$(srv_cpu)" \
        -v f="$minflt" -v pre="$size	$step	$run" \
        'BEGIN { printf "%s\t%.3f\t%.2f\t%d\t%.2f\t%.2f\t%d\n", pre, b - a, u + s, m, c1 - c0, s, f }' >>"$RAW"
    [ "$PROFILE" != 1 ] || profile "$size" "$step" "$run" "$(sed -n 's/^state .*dbname=\([^ ]*\).*/\1/p' "$conf")"
}

# profile SIZE STEP RUN DB: the state database DB's statements of the last step by total time,
# into $PROF.
profile() {
    {
        echo "== $1 $2 run $3"
        pg_sql postgres -F $'\t' -c "
            SELECT round(s.total_exec_time)::bigint AS ms, s.calls, s.rows,
                   s.shared_blks_hit + s.shared_blks_read AS blocks, s.shared_blks_read AS read,
                   left(regexp_replace(s.query, '\s+', ' ', 'g'), 110)
              FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = '$4' AND s.total_exec_time >= 20
             ORDER BY s.total_exec_time DESC LIMIT 25"
    } >>"$PROF"
}

# ---------------------------------------------------------------- the data

# config FILE TABLE DB OUT: a config reading TABLE incrementally into the state database DB, its
# files into OUT.
config() {
    cat >"$1" <<EOF
output_dir = $4
key_file   = $WORK/tdi.key
state      = host=$PGHOST port=$PGPORT dbname=$3 user=postgres
k_min      = 1
incremental_overlap = 0

[source bench]
conninfo    = host=$PGHOST port=$PGPORT dbname=$DB user=$TDI_READER
query       = SELECT * FROM $2
crosswalk   = $BENCH_DIR/bench.cw
region      = BE100
incremental = changed_at

[body national]
regions = *
EOF
}

# gen N TABLE: gen.sql's rows with a change time two days back (a constant default: no rewrite).
gen() {
    pg_sql "$DB" -v n="$1" -v tbl="$2" -f "$BENCH_DIR/gen.sql"
    pg_sql "$DB" -c "ALTER TABLE $2 ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now() - interval '2 days'"
}

# keyed TABLE: the indexes of a clinic set up as docs/clinic-access.md says for incremental reads
# (one on the change time) and its episodes' primary key: the night's changed rows and the
# episodes it reads again by id are then found by index, not by scanning 2M rows twice (0.10 and
# 0.26 s of the clinic's server a night without them; docs/benchmark.md, 2026-12-06 06:20).
keyed() {
    pg_sql "$DB" -c "ALTER TABLE $1 ADD PRIMARY KEY (episode_id)" -c "CREATE INDEX ON $1 (changed_at)" \
        -c "ANALYZE $1"
}

# change TABLE ROUND: the changes of a night: new episodes of known persons (ids of the round's
# own), changed and deleted ones, a third each.
change() {
    local t=$1 third=$((CHANGED / 3))
    pg_sql "$DB" -c "
        INSERT INTO $t SELECT 'NEW$2-' || episode_id, client_id, centre_id, start_date, birth_date,
               setting, sex, treatment_status, primary_drug, route, now()
          FROM $t ORDER BY episode_id LIMIT $third;
        UPDATE $t SET route = CASE route WHEN 'ORAL' THEN 'SMOKE' ELSE 'ORAL' END, changed_at = now()
         WHERE episode_id IN (SELECT episode_id FROM $t WHERE episode_id LIKE 'ADM%'
                               ORDER BY episode_id DESC LIMIT $third);
        DELETE FROM $t WHERE episode_id IN (SELECT episode_id FROM $t WHERE episode_id LIKE 'ADM%'
                               ORDER BY md5(episode_id) LIMIT $((CHANGED - 2 * third)));"
}

# quiet_night CONF: an incremental run with nothing changed (not timed), after a first full run.
quiet_night() {
    "$TDI_BIN" run --config "$1" --year "$YEAR" >"$WORK/quiet.out" 2>&1 ||
        { tail -n 20 "$WORK/quiet.out" >&2; msg "incremental: the quiet night failed"; exit 1; }
    settle
}

# fresh_state DB CONF: an empty state database DB, initialised.
fresh_state() {
    state_db_create "$1" >/dev/null
    "$TDI_BIN" init --config "$2" >"$WORK/init.out" 2>&1 ||
        { cat "$WORK/init.out" >&2; msg "incremental: tdi init failed"; exit 1; }
}

# What a run's output says the body got ("N records, N replaces, N deletes"), without the file.
actions() { sed -n 's/^body national: \(.*\), sequence .*/\1/p' "$1"; }

printf 'size\tstep\trun\twall_s\tcpu_s\tmaxrss_kib\tserver_cpu_s\tsys_s\tminor_faults\n' >"$RAW"
for n in "${sizes[@]}"; do
    gen "$n" "src_$n"
    # Earlier years: the same generator, moved back k years, with episode ids of their own.
    pg_sql "$DB" -c "DROP TABLE IF EXISTS hist_$n" \
        -c "CREATE TABLE hist_$n (LIKE src_$n)"
    for ((k = 1; k <= YEARS; k++)); do
        gen "$n" "tmp_$n"
        pg_sql "$DB" -c "INSERT INTO hist_$n SELECT 'Y$k' || episode_id, client_id, centre_id,
               (start_date - make_interval(years => $k))::date, (birth_date - make_interval(years => $k))::date,
               setting, sex, treatment_status, primary_drug, route, changed_at FROM tmp_$n" -c "DROP TABLE tmp_$n"
    done
    pg_sql "$DB" -c "GRANT SELECT ON hist_$n TO $TDI_READER" -c "VACUUM ANALYZE hist_$n"
    keyed "src_$n"
    keyed "hist_$n"
    config "$WORK/cur.conf" "src_$n" "$STATE_DB" "$WORK/out"
    config "$WORK/hist.conf" "hist_$n" "$HIST_DB" "$WORK/out_hist"
    config "$WORK/cur_hist.conf" "src_$n" "$HIST_DB" "$WORK/out_hist"
    msg "incremental: $n rows and $YEARS earlier years generated"

    # The first full run, timed; the last one's state kept for the nightly runs.
    for ((r = 1; r <= RUNS; r++)); do
        rm -rf -- "$WORK/out"
        fresh_state "$STATE_DB" "$WORK/cur.conf"
        timed "$n" full "$r" "$WORK/cur.conf"
    done
    quiet_night "$WORK/cur.conf"
    # Earlier years, then the same first run of this year, in the other state database.
    rm -rf -- "$WORK/out_hist"
    fresh_state "$HIST_DB" "$WORK/hist.conf"
    for ((k = YEARS; k >= 1; k--)); do
        "$TDI_BIN" run --config "$WORK/hist.conf" --year $((YEAR - k)) >"$WORK/hist.out" 2>&1 ||
            { tail -n 20 "$WORK/hist.out" >&2; msg "incremental: the run of $((YEAR - k)) failed"; exit 1; }
        settle
    done
    timed "$n" full_hist 1 "$WORK/cur_hist.conf"
    quiet_night "$WORK/cur_hist.conf"
    held=$(pg_sql "$HIST_DB" -c "SELECT count(*) FROM tdi.sent")
    msg "incremental: $n rows: first runs done ($held rows sent with the earlier years)"

    for ((r = 1; r <= RUNS; r++)); do
        change "src_$n" "$r"
        if ((r % 2)); then
            timed "$n" nightly "$r" "$WORK/cur.conf"
            timed "$n" nightly_hist "$r" "$WORK/cur_hist.conf"
        else
            timed "$n" nightly_hist "$r" "$WORK/cur_hist.conf"
            timed "$n" nightly "$r" "$WORK/cur.conf"
        fi
        a=$(actions "$WORK/nightly.out")
        b=$(actions "$WORK/nightly_hist.out")
        [ -n "$a" ] && [ "$a" = "$b" ] ||
            { msg "incremental: night $r differs: '$a' without history, '$b' with"; exit 1; }
        msg "incremental: $n, night $r: $a"
    done
    printf '%s\t%s\t%s\n' "$n" "$held" "$a" >>"$WORK/sizes.tsv"
    msg "incremental: $n done: $a"
done

# ---------------------------------------------------------------- the table

{
    echo "machine: $(nproc) cores, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo);" \
        "tdi $(git -C "$TDI_ROOT" describe --always --dirty 2>/dev/null || echo '?');" \
        "$(date -u '+%Y-%m-%d %H:%M UTC'); runs per step: $RUNS (medians); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    awk -F'\t' -v changed="$CHANGED" -v years="$YEARS" '
        # the middle value (of an even count the lower one): fewer than half below it
        function median(key,    n, i, j, lo, eq) {
            n = cnt[key]
            for (i = 1; i <= n; i++) {
                lo = eq = 0
                for (j = 1; j <= n; j++) { lo += val[key, j] < val[key, i]; eq += val[key, j] == val[key, i] }
                if (lo * 2 < n && (lo + eq) * 2 >= n) return val[key, i]
            }
        }
        function add(key, v) { cnt[key]++; val[key, cnt[key]] = v + 0 }
        FNR == 1 && NR != 1 { file++ }
        file == 0 { ns++; order[ns] = $1; held[$1] = $2; act[$1] = $3; next }
        FNR == 1 { next }
        {
            k = $1 SUBSEP $2
            add(k SUBSEP "wall", $4); add(k SUBSEP "cpu", $5); add(k SUBSEP "srv", $7)
            if ($6 > rss[k]) rss[k] = $6
        }
        END {
            split("full full_hist nightly nightly_hist", steps, " ")
            label["full"] = "tdi run, first full read"
            label["full_hist"] = "  the same, earlier years held"
            label["nightly"] = "tdi run, nightly (" changed " changed)"
            label["nightly_hist"] = "  the same, " years " earlier years held"
            for (s = 1; s <= ns; s++) {
                n = order[s]
                printf "\nincremental at %d: %d rows sent with %d earlier years; the last night: %s\n", n, held[n], years, act[n]
                printf "  %-40s %8s %8s %8s %8s  %s\n", "step", "wall s", "RSS MiB", "CPU s", "srv s", "ratio"
                fw = median(n SUBSEP "full" SUBSEP "wall"); nw = median(n SUBSEP "nightly" SUBSEP "wall")
                for (i = 1; i <= 4; i++) {
                    k = n SUBSEP steps[i]
                    w = median(k SUBSEP "wall")
                    note = i == 3 ? sprintf("%.3fx the first full run", w / fw) : i == 4 ? sprintf("%+.1f%% vs none held", (w / nw - 1) * 100) : ""
                    printf "  %-40s %8.2f %8.1f %8.2f %8.2f  %s\n", label[steps[i]], w, rss[k] / 1024, median(k SUBSEP "cpu"), median(k SUBSEP "srv"), note
                }
                hw = median(n SUBSEP "nightly_hist" SUBSEP "wall")
                printf "targets:\n"
                printf "  nightly at %d <= 10%% of the first full run:      %.1f%%  %s\n", n, 100 * nw / fw, nw <= fw * 0.1 ? "PASS" : "FAIL"
                printf "  nightly with %d earlier years within 10%% of none: %+.1f%%  %s\n", years, (hw / nw - 1) * 100, hw <= nw * 1.1 ? "PASS" : "FAIL"
            }
        }' "$WORK/sizes.tsv" "$RAW"
    echo
    echo "wall s, CPU s (client user+sys) and srv s (PostgreSQL server CPU) are medians; RSS the largest peak."
    echo "raw measurements: ${RAW#"$TDI_ROOT"/}"
    [ "$PROFILE" != 1 ] || echo "statements by time: ${PROF#"$TDI_ROOT"/}"
} >"$REPORT"
cat "$REPORT"
