#!/usr/bin/env bash
# tests/bench/bench.sh (make bench): times `tdi run` and `tdi validate` on synthetic national-scale
# data against the floors and a peer that do the same job on the same rows, in the same run.
#
# For each size of BENCH_SIZES (episodes; default 10000,100000,1000000,2000000) it builds one
# table server-side (tests/bench/gen.sql) in a throwaway PostgreSQL (tests/pg.sh), then, BENCH_RUNS
# times (default 3), round-robin so that machine noise falls on every step alike:
#   copy floor    psql \copy (tdi's own wrapped source query, read from the server log) to /dev/null
#   tdi run       the release ./tdi, end to end (extract, transform, XML, gzip, schema check, publish)
#   gzip floor    igzip -<tdi's level> (tdi's compressor, ISA-L) of the XML tdi produced
#                 (decompressed once beforehand)
#   peer          the server-built XML (tests/bench/peer.sql: xmlelement, pgcrypto hmac) | gzip,
#                 whose episode lines must equal tdi's (checked after the runs)
#   xmllint       xmllint --sax --noout --schema on tdi's .xml.gz
#   tdi validate  the same file
#   tdi load      the same file (with its manifest) into an empty receiver database: `tdi load`
#                 creates the schema, checks the manifest and the schema, COPYs and applies it
# Each under /usr/bin/time -v (peak RSS, client CPU); the server's CPU is read from the
# postmaster's /proc stat (its reaped backends). Medians of the runs are printed as a table with
# the ratios the issue's targets name, then the targets with PASS/FAIL. tdi run also checks what it
# publishes against the schema, which the peer does not: the table adds peer + xmllint (the same
# check of the same episodes) as the like-for-like comparison.
#
# Then, for each size of BENCH_REREAD_SIZES (default 200000; empty: none), the in-run re-read: the
# same synthetic rows as an incremental source (a changed_at column),
#   reread_first  tdi run, the source's first (full) read into an empty state database
#   reread        one backdated episode added (an earlier start of a person already sent): the
#                 incremental read brings it, the counting of episodes it did not read changes,
#                 and the run reads that episode again in the snapshot of its read, or the
#                 source again in full (either checked in its output)
# with the target: the re-read run at most 2x the first full run of the same rows.
#
# Environment: BENCH_SIZES, BENCH_RUNS, BENCH_REREAD_SIZES, BENCH_OUT (default build/bench), TDI
# (default ./tdi), BENCH_GZIP_LEVEL (default 1), BENCH_KEEP=1 keeps the work directory.
# Then tests/bench/incremental.sh (BENCH_INCR_SIZES, BENCH_INCR_CHANGED, BENCH_INCR_YEARS).
# Output: the table on stdout and in BENCH_OUT/bench-STAMP.txt (also BENCH_OUT/latest.txt), every
# single measurement in BENCH_OUT/bench-STAMP.tsv.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR=$TDI_ROOT/tests/bench
SIZES=${BENCH_SIZES:-10000,100000,1000000,2000000}
RUNS=${BENCH_RUNS:-3}
OUT=${BENCH_OUT:-$TDI_ROOT/build/bench}
TDI_BIN=${TDI:-$TDI_ROOT/tdi}
LEVEL=${BENCH_GZIP_LEVEL:-1}
# tdi compresses with igzip, whose levels are 1-3; tdi takes a higher gzip_level as 3.
IGZIP_LEVEL=$((LEVEL > 3 ? 3 : LEVEL))
YEAR=2025
SOURCE=bench
REGION=BE100
BODY=national
DB=bench
STATE_DB=bench_state
RECV_DB=bench_receiver

case $TDI_BIN in /*) ;; *) TDI_BIN=$PWD/$TDI_BIN ;; esac
[ -x "$TDI_BIN" ] || { msg "bench: no $TDI_BIN; build it with 'make'"; exit 1; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { msg "bench: BENCH_RUNS must be a positive number"; exit 2; }
[[ $LEVEL =~ ^[1-9]$ ]] || { msg "bench: BENCH_GZIP_LEVEL must be 1-9"; exit 2; }
IFS=, read -r -a sizes <<<"$SIZES"
for n in "${sizes[@]}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { msg "bench: BENCH_SIZES wants numbers such as 10000,100000, not '$SIZES'"; exit 2; }
done
REREAD_SIZES=${BENCH_REREAD_SIZES-200000}
IFS=, read -r -a reread_sizes <<<"$REREAD_SIZES"
for n in "${reread_sizes[@]}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { msg "bench: BENCH_REREAD_SIZES wants numbers such as 200000, not '$REREAD_SIZES'"; exit 2; }
done
for tool in /usr/bin/time xmllint gzip igzip; do
    command -v "$tool" >/dev/null || { msg "bench: $tool is missing (make bench installs it)"; exit 1; }
done

mkdir -p "$OUT"
STAMP=${BENCH_TABLE:-$(date -u +%Y%m%dT%H%M%SZ)}
RAW=$OUT/bench-$STAMP.tsv
REPORT=$OUT/bench-$STAMP.txt
HEAD=$OUT/bench-$STAMP.head.txt   # the machine, for the table
SIZES_TSV=$OUT/bench-$STAMP.sizes # per size: rows, file sizes, peer check
REREAD_TSV=$OUT/bench-$STAMP.reread # per re-read size: rows extracted by the first run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tdi-bench.XXXXXX")
PG_DIR=""
cleanup() {
    [ -z "$PG_DIR" ] || pg_stop "$PG_DIR"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then msg "bench: work directory kept: $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- measuring

POSTMASTER=""
CLK_TCK=$(getconf CLK_TCK)

# CPU seconds the server has used so far: the postmaster's own and its reaped children's (the
# backends that served finished connections).
server_cpu() {
    awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13 + $14 + $15) / hz }' \
        "/proc/$POSTMASTER/stat"
}

# Waits until the postmaster has reaped every backend (its children are back to the background
# processes), so server_cpu counts the connection that just ended.
server_settle() {
    local i
    for ((i = 0; i < 500; i++)); do
        [ "$(pgrep -c -P "$POSTMASTER" || true)" -le "$PG_BACKGROUND" ] && return 0
        sleep 0.01
    done
    msg "bench: the server still has connections open; its CPU figure may be short"
}

# drop_leftover DB: a database a step filled (a state or receiver database, a million rows or
# more) dropped once the step is measured. Left, it is autovacuumed whenever the launcher next
# visits it, in a later step's time: `tdi validate` at 1M showed 0.53 s of server CPU
# (docs/benchmark.md, 2026-12-06 04:43-06:20).
drop_leftover() {
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1"
}

# Pages of file data the kernel has read again since boot after dropping them from the page cache
# (workingset_refault_file; workingset_refault before Linux 5.9): a virtual machine whose host
# reclaims cold guest memory makes a step read its files from disk again, which shows here.
refaults() {
    awk '/^workingset_refault(_file)? / { n += $2 } END { print n + 0 }' /proc/vmstat
}

# scratch_cache: the bench's own files (the XML decompressed for the gzip floor, the submissions
# copied for xmllint, validate and load, the peer's output) out of the page cache but for the
# step's inputs, $STEP_INPUTS, which are read once so that the step starts with them cached, as it
# would have just after they were written. Left there, the others are cold pages while the step
# runs, and this machine kind reclaims cold pages as it goes (a DAMON pageout scheme in the guest):
# in one quarter hour, the 2M first run took 25.7-27.8 s of server CPU with 800 MB of such pages
# against 20.4-21.1 s without, on the same cluster, and 19.8 s with them and the reclaim off
# (docs/benchmark.md, 2026-12-06 16:30-18:20). Dirty pages stay: pg_at_rest syncs first.
scratch_cache() {
    local f k keep
    while IFS= read -r -d '' f; do
        keep=0
        for k in ${STEP_INPUTS:-}; do [ "$k" = "$f" ] && keep=1; done
        [ "$keep" = 1 ] || dd if="$f" iflag=nocache count=0 status=none 2>/dev/null || true
    done < <(find "$WORK" -type f -size +1M -print0)
    for k in ${STEP_INPUTS:-}; do cat -- "$k" >/dev/null; done
}

# measure SIZE STEP RUN CMD...: runs CMD under /usr/bin/time -v, appends one line to $RAW:
# size step run wall_s user_s sys_s maxrss_kib server_cpu_s refault_pages. CMD must succeed; its
# output goes to $WORK/step.log.
measure() {
    local size=$1 step=$2 run=$3 t0 t1 s0 s1 r0 rc=0
    shift 3
    server_settle
    # At rest (pg_at_rest): else what the steps before wrote (a state database of 2M episodes, a
    # receiver's, the peer's output) is written back and checkpointed in this step's time; the 2M
    # first run's server CPU went from 22.6 to 33.1 s for the same work, 23.7-24.6 s at rest.
    pg_at_rest
    scratch_cache
    s0=$(server_cpu)
    r0=$(refaults)
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$WORK/time.out" "$@" >"$WORK/step.log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" != 0 ]; then
        msg "bench: $step at $size rows failed (exit $rc): $*"
        tail -n 20 "$WORK/step.log" >&2
        exit 1
    fi
    server_settle
    s1=$(server_cpu)
    awk -F': ' -v size="$size" -v step="$step" -v run="$run" -v t0="$t0" -v t1="$t1" \
        -v s0="$s0" -v s1="$s1" -v rf="$(($(refaults) - r0))" '
        /User time \(seconds\)/ { user = $2 }
        /System time \(seconds\)/ { sys = $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%s\t%s\t%s\t%.3f\t%.2f\t%.2f\t%d\t%.2f\t%d\n", size, step, run, t1 - t0, user,
                     sys, rss, s1 - s0, rf }' "$WORK/time.out" >>"$RAW"
}

# ---------------------------------------------------------------- the machine

machine() {
    local cpu mem
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    echo "machine: $(nproc) cores ($cpu), $mem RAM, Linux $(uname -r)"
    # A kernel that reclaims cold pages as it goes slows memory-heavy steps (scratch_cache).
    if grep -qs '^on$' /sys/kernel/mm/damon/admin/kdamonds/*/state; then
        echo "cold-page reclaim: DAMON on (kdamond); the bench's own files are kept out of the page cache but a step's inputs"
    fi
    echo "versions: tdi $(git -C "$TDI_ROOT" describe --always --dirty 2>/dev/null || echo '?')," \
        "$("$CC_VERSION" --version 2>/dev/null | head -n 1 || echo 'cc ?')," \
        "PostgreSQL $(pg_sql postgres -c 'SHOW server_version' | awk '{print $1}')," \
        "libxml2 $(xmllint --version 2>&1 | awk '/using libxml version/ { print $NF; exit }')," \
        "ISA-L $(dpkg-query -W -f '${Version}' libisal2 2>/dev/null || echo '?')," \
        "OpenSSL $(dpkg-query -W -f '${Version}' libssl3 2>/dev/null || echo '?')," \
        "$(gzip --version | head -n 1)"
}
CC_VERSION=${CC:-cc}

# ---------------------------------------------------------------- the table, defined here

# The table from $HEAD, $SIZES_TSV and $RAW, into $REPORT and build/bench/latest.txt.
print_table() {
    {
        cat "$HEAD"
        echo
        awk -F'\t' -v runs="$RUNS" -v page="$(getconf PAGESIZE)" '
            function median(key,    n, i, j, t, a) {
                n = cnt[key]
                for (i = 1; i <= n; i++) a[i] = val[key, i]
                for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            function add(key, v) { cnt[key]++; val[key, cnt[key]] = v }
            function mib(kib) { return kib / 1024 }
            function rate(rows, s) { return s > 0 ? rows / s : 0 }
            FNR == 1 && NR != 1 { file++ }
            file == 0 { nsize++; order[nsize] = $1; ext[$1] = $2; wr[$1] = $3; qu[$1] = $4; xml[$1] = $5; gz[$1] = $6; same[$1] = $7; next }
            FNR == 1 { next }
            file == 2 { nre++; rorder[nre] = $1; rext[$1] = $2; next }
            {
                k = $1 SUBSEP $2
                add(k SUBSEP "wall", $4); add(k SUBSEP "cpu", $5 + $6); add(k SUBSEP "srv", $8)
                if ($7 > rss[k]) rss[k] = $7
                if ($9 > refault[k]) refault[k] = $9
            }
            END {
                split("copy tdi_run gzip peer xmllint tdi_validate tdi_load", steps, " ")
                label["copy"] = "copy floor (\\copy to /dev/null)"; label["tdi_run"] = "tdi run"
                label["gzip"] = "gzip floor (igzip -L of the XML)"; label["peer"] = "server-built XML peer | gzip"
                label["xmllint"] = "xmllint --sax --schema"; label["tdi_validate"] = "tdi validate"
                label["tdi_load"] = "tdi load (into a receiver db)"
                for (s = 1; s <= nsize; s++) {
                    n = order[s]
                    printf "%d episodes: extracted %d, written %d, quarantined %d; XML %.1f MiB, .xml.gz %.1f MiB; peer output = tdi output: %s\n", \
                        n, ext[n], wr[n], qu[n], xml[n] / 1048576, gz[n] / 1048576, same[n]
                    printf "  %-34s %8s %10s %8s %8s %8s  %s\n", "step", "wall s", "rows/s", "RSS MiB", "CPU s", "srv s", "ratio"
                    floor = median(n SUBSEP "copy" SUBSEP "wall"); pw = median(n SUBSEP "peer" SUBSEP "wall")
                    tw = median(n SUBSEP "tdi_run" SUBSEP "wall"); xw = median(n SUBSEP "xmllint" SUBSEP "wall")
                    for (i = 1; i <= 7; i++) {
                        st = steps[i]; k = n SUBSEP st
                        if (!cnt[k SUBSEP "wall"]) continue
                        w = median(k SUBSEP "wall")
                        note = ""
                        if (st == "tdi_run") note = sprintf("%.2fx copy floor; peer/tdi %.2fx; (peer+xmllint)/tdi %.2fx", w / floor, pw / w, (pw + xw) / w)
                        else if (st == "peer") note = sprintf("%.2fx copy floor", w / floor)
                        else if (st == "gzip") note = sprintf("%.2fx copy floor; %.0f MB/s", w / floor, xml[n] / w / 1e6)
                        else if (st == "tdi_validate") note = sprintf("%.2fx xmllint", w / xw)
                        else if (st == "tdi_load") note = sprintf("%.2fx tdi run; %.2fx tdi validate", w / tw, w / median(n SUBSEP "tdi_validate" SUBSEP "wall"))
                        printf "  %-34s %8.2f %10.0f %8.1f %8.2f %8.2f  %s\n", label[st], w, rate(ext[n], w), \
                            mib(rss[k]), median(k SUBSEP "cpu"), median(k SUBSEP "srv"), note
                        # 10 MiB or more of its files read again: the machine, not the step
                        if (refault[k] * page >= 10485760)
                            reread = reread sprintf("%s%s %.0f MiB", reread ? ", " : "", label[st], refault[k] * page / 1048576)
                    }
                    if (reread) printf "  (page cache dropped by the machine and read again during: %s)\n", reread
                    reread = ""
                    print ""
                }
                for (s = 1; s <= nre; s++) {
                    n = rorder[s]
                    printf "re-read at %d: an incremental source whose backdated episode forces a re-read (extracted %d)\n", n, rext[n]
                    printf "  %-34s %8s %10s %8s %8s %8s  %s\n", "step", "wall s", "rows/s", "RSS MiB", "CPU s", "srv s", "ratio"
                    fw = median(n SUBSEP "reread_first" SUBSEP "wall")
                    fc = median(n SUBSEP "reread_first" SUBSEP "cpu") + median(n SUBSEP "reread_first" SUBSEP "srv")
                    for (i = 1; i <= 2; i++) {
                        st = i == 1 ? "reread_first" : "reread"; k = n SUBSEP st
                        w = median(k SUBSEP "wall")
                        c = median(k SUBSEP "cpu") + median(k SUBSEP "srv")
                        note = i == 1 ? "" : sprintf("%.2fx the first full run; CPU client+server %.2fx", w / fw, c / fc)
                        printf "  %-34s %8.2f %10.0f %8.1f %8.2f %8.2f  %s\n", \
                            i == 1 ? "tdi run, first full read" : "tdi run, incremental + re-read", w, \
                            rate(rext[n], w), mib(rss[k]), median(k SUBSEP "cpu"), median(k SUBSEP "srv"), note
                    }
                    print ""
                }
                # The targets of the issue, where the sizes they name were run.
                print "targets:"
                if (cnt["1000000" SUBSEP "tdi_run" SUBSEP "wall"] > 0) {
                    n = 1000000; tw = median(n SUBSEP "tdi_run" SUBSEP "wall")
                    fl = median(n SUBSEP "copy" SUBSEP "wall"); pw = median(n SUBSEP "peer" SUBSEP "wall")
                    xw = median(n SUBSEP "xmllint" SUBSEP "wall")
                    tc = median(n SUBSEP "tdi_run" SUBSEP "cpu") + median(n SUBSEP "tdi_run" SUBSEP "srv")
                    # issue 16; like for like: the peer does not check its output against the schema, tdi does
                    printf "  tdi run at 1M <= 10x copy floor:          %.2fx  %s\n", tw / fl, (tw / fl <= 10) ? "PASS" : "FAIL"
                    printf "  tdi run at 1M >= 2x faster than peer + xmllint --schema: %.2fx (%.2f s)  %s\n", (pw + xw) / tw, pw + xw, ((pw + xw) / tw >= 2) ? "PASS" : "FAIL"
                    printf "  tdi run at 1M CPU client + server <= 20 s: %.2f s  %s\n", tc, (tc <= 20) ? "PASS" : "FAIL"
                } else print "  (1M not run: the wall-time targets are not checked)"
                if (cnt["2000000" SUBSEP "tdi_run" SUBSEP "wall"] > 0 && cnt["10000" SUBSEP "tdi_run" SUBSEP "wall"] > 0) {
                    a = rss["10000" SUBSEP "tdi_run"]; b = rss["2000000" SUBSEP "tdi_run"]
                    printf "  peak RSS at 2M within 10%% of 10k:        %.1f vs %.1f MiB (%+.1f%%)  %s\n", mib(b), mib(a), (b / a - 1) * 100, (b <= a * 1.1) ? "PASS" : "FAIL"
                    printf "  peak RSS at 2M under 32 MiB:              %.1f MiB  %s\n", mib(b), (b < 32 * 1024) ? "PASS" : "FAIL"
                } else print "  (10k and 2M not both run: the memory targets are not checked)"
                for (s = 1; s <= nsize; s++) {
                    n = order[s]
                    v = median(n SUBSEP "tdi_validate" SUBSEP "wall"); x = median(n SUBSEP "xmllint" SUBSEP "wall")
                    printf "  tdi validate at %d no slower than xmllint: %.2f vs %.2f s  %s\n", n, v, x, (v <= x) ? "PASS" : "FAIL"
                }
                for (s = 1; s <= nre; s++) {
                    n = rorder[s]
                    r = median(n SUBSEP "reread" SUBSEP "wall") / median(n SUBSEP "reread_first" SUBSEP "wall")
                    printf "  re-read at %d <= 2x the first full run:  %.2fx  %s\n", n, r, (r <= 2) ? "PASS" : "FAIL"
                }
            }' "$SIZES_TSV" "$RAW" "$REREAD_TSV" | sed "s/igzip -L/igzip -$IGZIP_LEVEL/"
        echo
        echo "wall s, CPU s (client user+sys) and srv s (PostgreSQL server CPU) are medians of $RUNS runs;"
        echo "RSS is the largest peak of the runs (/usr/bin/time -v); rows/s counts extracted rows."
        echo "raw measurements: ${RAW#"$TDI_ROOT"/}"
    } >"$REPORT"
    cp "$REPORT" "$OUT/latest.txt"
    cat "$REPORT"
}
# BENCH_TABLE=STAMP: only print the table of that earlier run again, from its files in BENCH_OUT.
if [ -n "${BENCH_TABLE:-}" ]; then
    for f in "$HEAD" "$SIZES_TSV" "$RAW"; do
        [ -f "$f" ] || { msg "bench: $f is missing"; exit 1; }
    done
    # Tables from before the re-read scenario have no such file.
    [ -f "$REREAD_TSV" ] || REREAD_TSV=/dev/null
    print_table
    exit 0
fi

# ---------------------------------------------------------------- the data

PG_DIR=$(mktemp -d /tmp/tdi-pg.XXXXXX)
rmdir "$PG_DIR"
pg_start "$PG_DIR"
pg_env "$PG_DIR"
POSTMASTER=$(head -n 1 "$PG_DIR/data/postmaster.pid")
PG_BACKGROUND=$(pgrep -c -P "$POSTMASTER" || true)
# Every statement in the server log: the copy floor runs tdi's own COPY statement, read back
# from there, so it stays the same query whatever tdi's column list becomes.
pg_sql postgres -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
pg_sql postgres -c "CREATE ROLE $TDI_READER LOGIN" \
    -c "ALTER ROLE $TDI_READER SET default_transaction_read_only = on"
pg_sql postgres -c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
pg_sql "$DB" -c "CREATE EXTENSION pgcrypto"
# The crosswalk as a table for the peer; blank and NULL local codes are each item's not-known.
{
    echo "CREATE TABLE bench_cw (item text, local text, tdi text);"
    echo "INSERT INTO bench_cw VALUES ('setting', '', 'not_known'), ('sex', '', '99'),"
    echo "  ('treatment_status', '', '3'), ('primary_drug', '', '99'), ('route', '', '99');"
    awk '!/^[[:space:]]*(#|$)/ { gsub(/"/, "", $2); printf "INSERT INTO bench_cw VALUES (%c%s%c, %c%s%c, %c%s%c);\n", 39, $1, 39, 39, $2, 39, 39, $3, 39 }' \
        "$BENCH_DIR/bench.cw"
} | pg_sql "$DB"

"$TDI_BIN" keygen "$WORK/tdi.key" >/dev/null
KEY=$(cat "$WORK/tdi.key")

# generate TABLE N: N synthetic episodes into TABLE, made when its size is measured and dropped
# after it, so that no other size's rows sit in the page cache while a size is timed (for the
# reason scratch_cache gives).
generate() {
    local t0=$EPOCHREALTIME
    pg_sql "$DB" -v n="$2" -v tbl="$1" -f "$BENCH_DIR/gen.sql"
    msg "bench: generated $2 episodes in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
}

{
    machine
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); runs per step: $RUNS (medians); gzip level $LEVEL;" \
        "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$HEAD"
cat "$HEAD" >&2

# ---------------------------------------------------------------- one size

# An empty state database, initialised: every timed run is a body's first, full submission of the
# year (a rerun on unchanged rows would publish nothing).
fresh_state() {
    state_db_create "$STATE_DB" >/dev/null
    "$TDI_BIN" init --config "$1/tdi.conf" >"$1/init.out" 2>&1 || {
        cat "$1/init.out" >&2
        msg "bench: tdi init failed"
        exit 1
    }
}

# The COPY statement tdi sent for table ep_N, from the server log past byte offset $1.
copy_statement() {
    tail -c +"$(($1 + 1))" "$PG_DIR/server.log" | awk -v tbl="ep_$2" '
        /statement: COPY \(/ { grab = 1; sub(/^.*statement: /, ""); s = $0; next }
        grab && /^\t/ { sub(/^\t/, ""); s = s " " $0; next }
        grab { if (index(s, tbl)) last = s; grab = 0 }
        END { if (grab && index(s, tbl)) last = s; print last }'
}

: >"$SIZES_TSV"
printf 'size\tstep\trun\twall_s\tuser_s\tsys_s\tmaxrss_kib\tserver_cpu_s\trefault_pages\n' >"$RAW"
for n in "${sizes[@]}"; do
    dir=$WORK/ep_$n
    mkdir -p "$dir"
    generate "ep_$n" "$n"
    cat >"$dir/tdi.conf" <<EOF
output_dir = out
key_file   = $WORK/tdi.key
gzip_level = $LEVEL
state      = host=$PGHOST port=$PGPORT dbname=$STATE_DB user=postgres
# The re-identification check runs and reports; at k_min 1 it never blanks, which the peer does
# not do either (its episode lines must equal tdi's).
k_min      = 1

[source $SOURCE]
conninfo  = host=$PGHOST port=$PGPORT dbname=$DB user=$TDI_READER
query     = SELECT * FROM ep_$n
crosswalk = $BENCH_DIR/bench.cw
region    = $REGION

[body $BODY]
regions = *
EOF
    # Warm-up run (not timed): fills the page cache, gives the statement and the submission.
    fresh_state "$dir"
    offset=$(stat -c %s "$PG_DIR/server.log")
    "$TDI_BIN" run --verbose --config "$dir/tdi.conf" --year "$YEAR" >"$dir/run.out" 2>"$dir/run.err" || {
        cat "$dir/run.err" >&2
        msg "bench: tdi run failed on ep_$n"
        exit 1
    }
    # the tables' protection: suppressed cells, the audit loop's rounds, programs and seconds
    grep -h '^tables .* cells suppressed\|after the audit' "$dir/run.out" "$dir/run.err" |
        sed "s/^/  ep_$n: /" || true
    server_settle
    drop_leftover "$STATE_DB"
    stmt=$(copy_statement "$offset" "$n")
    [ -n "$stmt" ] || { msg "bench: tdi's COPY statement for ep_$n is not in the server log"; exit 1; }
    query=${stmt#COPY }
    query=${query% TO STDOUT}
    subs=("$dir/out/$BODY/tdi-$BODY-$YEAR-"*.xml.gz)
    [ -f "${subs[0]}" ] || { msg "bench: tdi run published no submission for ep_$n"; exit 1; }
    sub=${subs[0]}
    cp "$sub" "$dir/sub.xml.gz"
    mkdir -p "$dir/load" # the file as a receiver gets it: with its manifest
    cp "$sub" "${sub%.xml.gz}.manifest.json" "$dir/load/"
    gzip -dc "$sub" >"$dir/sub.xml"
    extracted=$(sed -n 's/^balance: extracted \([0-9]*\) = .*/\1/p' "$dir/run.out")
    written=$(sed -n 's/^balance: .* written \([0-9]*\) + .*/\1/p' "$dir/run.out")
    quarantined=$(sed -n 's/^balance: .* quarantined \([0-9]*\)$/\1/p' "$dir/run.out")

    # shellcheck disable=SC2016 # each sh -c '...' expands its own arguments, not ours
    for ((r = 1; r <= RUNS; r++)); do
        measure "$n" copy "$r" "$TDI_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$TDI_READER" -d "$DB" \
            -c "\\copy ($query) to /dev/null"
        rm -rf -- "$dir/out"
        fresh_state "$dir"
        measure "$n" tdi_run "$r" sh -c '"$1" run --config "$2" --year "$3" >/dev/null' sh \
            "$TDI_BIN" "$dir/tdi.conf" "$YEAR"
        drop_leftover "$STATE_DB"
        STEP_INPUTS=$dir/sub.xml measure "$n" gzip "$r" sh -c 'igzip -"$1" -c "$2" >/dev/null' sh "$IGZIP_LEVEL" "$dir/sub.xml"
        measure "$n" peer "$r" sh -c '
            { head -n 3 "$1"; "$2" -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -d "$3" -v tbl="$4" \
                -v key="$5" -v source="$6" -v region="$7" -v year="$8" -v body="${11}" -f "$9";
              printf "</episodes>\n</submission>\n"; } | gzip -"${10}" >"${12}"' sh \
            "$dir/sub.xml" "$TDI_PG_BIN/psql" "$DB" "ep_$n" "$KEY" "$SOURCE" "$REGION" "$YEAR" \
            "$BENCH_DIR/peer.sql" "$LEVEL" "$BODY" "$dir/peer.xml.gz"
        STEP_INPUTS=$dir/sub.xml.gz measure "$n" xmllint "$r" xmllint --sax --noout --schema "$TDI_ROOT/schemas/tdi-submission.xsd" \
            "$dir/sub.xml.gz"
        STEP_INPUTS=$dir/sub.xml.gz measure "$n" tdi_validate "$r" "$TDI_BIN" validate --schema-dir "$TDI_ROOT/schemas" "$dir/sub.xml.gz"
        state_db_create "$RECV_DB" >/dev/null
        STEP_INPUTS=$(echo "$dir"/load/*.xml.gz) measure "$n" tdi_load "$r" "$TDI_BIN" load --schema-dir "$TDI_ROOT/schemas" \
            --into "host=$PGHOST port=$PGPORT dbname=$RECV_DB user=postgres" "$dir/load"
        loaded=$(pg_sql "$RECV_DB" -c "SELECT count(*) FROM tdi_receiver.episode")
        [ "$loaded" = "$written" ] || { msg "bench: tdi load holds $loaded episodes, tdi run wrote $written"; exit 1; }
        drop_leftover "$RECV_DB"
    done
    # The peer must be doing tdi's job: the same episode lines, byte for byte (as sets).
    if cmp -s <(episode_lines "$dir/sub.xml.gz" | sort) <(episode_lines "$dir/peer.xml.gz" | sort); then
        peer_same=yes
    else
        msg "bench: WARNING: at $n rows the peer's episodes differ from tdi's (tests/bench/peer.sql"
        msg "       needs the items or rules tdi gained); its timings are not a like-for-like peer"
        peer_same=no
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$extracted" "$written" "$quarantined" \
        "$(stat -c %s "$dir/sub.xml")" "$(stat -c %s "$dir/sub.xml.gz")" "$peer_same" >>"$SIZES_TSV"
    rm -f -- "$dir/sub.xml" "$dir/peer.xml.gz" # large; the rest of the directory is small
    pg_sql "$DB" -c "DROP TABLE ep_$n" >/dev/null
    msg "bench: $n rows done"
done

# ---------------------------------------------------------------- the in-run re-read

# An earlier start (1 January) of the person of one clean row whose episode starts later: that
# person's counted episode, not read by the incremental run, is no longer the first.
BACKDATED="INSERT INTO %s SELECT 'BACKDATED', client_id, centre_id, DATE '2025-01-01', birth_date,
  setting, sex, treatment_status, primary_drug, route, now() FROM %s
  WHERE client_id IS NOT NULL AND centre_id NOT LIKE '%% %%' AND start_date > DATE '2025-01-15'
    AND birth_date < DATE '2005-01-01' AND primary_drug = 'HEROIN' ORDER BY episode_id LIMIT 1"

printf 'size\textracted\n' >"$REREAD_TSV"
for n in "${reread_sizes[@]}"; do
    dir=$WORK/rr_$n
    mkdir -p "$dir"
    # The same generator, with a change time a day back (a constant default: no table rewrite).
    generate "rr_$n" "$n"
    pg_sql "$DB" -c "ALTER TABLE rr_$n ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now() - interval '1 day'"
    cat >"$dir/tdi.conf" <<EOF
output_dir = out
key_file   = $WORK/tdi.key
gzip_level = $LEVEL
state      = host=$PGHOST port=$PGPORT dbname=$STATE_DB user=postgres
k_min      = 1
# Every row has the same change time: with an overlap the incremental read would take them all.
incremental_overlap = 0

[source $SOURCE]
conninfo    = host=$PGHOST port=$PGPORT dbname=$DB user=$TDI_READER
query       = SELECT * FROM rr_$n
crosswalk   = $BENCH_DIR/bench.cw
region      = $REGION
incremental = changed_at

[body $BODY]
regions = *
EOF
    # shellcheck disable=SC2016 # each sh -c '...' expands its own arguments, not ours
    for ((r = 1; r <= RUNS; r++)); do
        pg_sql "$DB" -c "DELETE FROM rr_$n WHERE episode_id = 'BACKDATED'" >/dev/null
        rm -rf -- "$dir/out"
        fresh_state "$dir"
        measure "$n" reread_first "$r" sh -c '"$1" run --config "$2" --year "$3" >"$4"' sh \
            "$TDI_BIN" "$dir/tdi.conf" "$YEAR" "$dir/first.out"
        # shellcheck disable=SC2059 # the statement is the format
        pg_sql "$DB" -c "$(printf "$BACKDATED" "rr_$n" "rr_$n")" >/dev/null
        measure "$n" reread "$r" sh -c '"$1" run --config "$2" --year "$3" >"$4"' sh \
            "$TDI_BIN" "$dir/tdi.conf" "$YEAR" "$dir/reread.out"
        grep -qE 'reading it in full|again in the same snapshot' "$dir/reread.out" || {
            msg "bench: at $n rows the backdated episode did not make the run read the source again"
            exit 1
        }
    done
    printf '%s\t%s\n' "$n" "$(sed -n 's/^balance: extracted \([0-9]*\) = .*/\1/p' "$dir/first.out")" >>"$REREAD_TSV"
    pg_sql "$DB" -c "DROP TABLE rr_$n" >/dev/null
    msg "bench: re-read at $n rows done"
done

# ---------------------------------------------------------------- the table

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$HEAD"
print_table
# Many clinics at once: tests/bench/parallel.sh (BENCH_PARALLEL_SOURCES=0 skips it).
TDI=$TDI_BIN BENCH_RUNS=$RUNS BENCH_GZIP_LEVEL=$LEVEL "$BENCH_DIR/parallel.sh" | tee -a "$REPORT" "$OUT/latest.txt"
# The nightly incremental run, and with earlier years held (BENCH_INCR_SIZES; empty: not run).
BENCH_OUT=$OUT BENCH_RUNS=$RUNS TDI=$TDI_BIN "$BENCH_DIR/incremental.sh"
# The state database statement by statement (BENCH_STMT_SIZE, e.g. 200000; unset: not run).
[ -z "${BENCH_STMT_SIZE:-}" ] || BENCH_OUT=$OUT BENCH_RUNS=$RUNS TDI=$TDI_BIN "$BENCH_DIR/statements.sh" | tee -a "$REPORT" "$OUT/latest.txt"
