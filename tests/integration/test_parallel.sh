#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Sources read at once (max_parallel_sources, issue 16): the same files as one at a time, reads
# that really overlap, a failed source that does not hold the others back, and the setting's
# checks. The parallel runs use the ThreadSanitizer build when $TDI_TSAN names it (make check).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# dup_source CONF FROM NAME: appends a copy of [source FROM] named NAME (same database and query).
dup_source() {
    awk -v from="[source $2]" -v name="$3" '
        /^\[/ { in_sec = ($0 == from); if (in_sec) { print ""; print "[source " name "]" } next }
        in_sec' "$1" >"$1.dup"
    cat "$1.dup" >>"$1"
    rm -f "$1.dup"
}

# parallel PREFIX WANT ARGS...: tdi_try with the ThreadSanitizer build when there is one; a
# report of it fails the case.
parallel() {
    local prefix=$1
    TDI=${TDI_TSAN:-$TDI} tdi_try "$@"
    if grep -q 'ThreadSanitizer' "$prefix.err"; then
        cat "$prefix.err" >&2
        fail "ThreadSanitizer report from the parallel run"
    fi
}

# normalised DIR: every published file of DIR/out but the run's page and the workbooks (which
# carry the time they were made; they are made from the tables), with the run's id, number and
# time taken out:
# "== NAME" then its content (submissions and tables decompressed), one file after the other.
normalised() {
    local f name
    while IFS= read -r f; do
        name=${f#"$1"/out/}
        case $name in
        *.gz) content() { gzip -dc "$f"; } ;;
        *) content() { cat "$f"; } ;;
        esac
        printf '== %s\n' "$(printf '%s' "$name" | sed -E 's/[0-9]{8}T[0-9]{6}Z/RUNID/g')"
        content | sed -E 's/[0-9]{8}T[0-9]{6}Z/RUNID/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/TIME/g; s/ runNo="[0-9]+"/ runNo="N"/g; s/"(sha256|run_no)": *"?[0-9a-f]+"?/"\1": X/g'
    done < <(cd / && find "$1/out" -type f ! -name '*.html' ! -name '*.xlsx' | LC_ALL=C sort)
}

# Six sources (the two sample clinics, each three times under other names), read one at a time
# and four at a time into state databases of their own: the same submissions, tables, quarantine
# files and manifests (run id and time aside), the same summary lines in the same order, the same
# counts in the ledger. The two bodies' tables are protected one after the other in the first
# run (held to one processor) and at once in the second: the same tables files.
case_same_as_serial() {
    local n db rows threads cpu
    for n in serial parallel; do
        run_setup "$CASE_DIR/$n"
        dup_source "$CASE_DIR/$n/tdi.conf" riverside riverside_b
        dup_source "$CASE_DIR/$n/tdi.conf" debrug debrug_b
        dup_source "$CASE_DIR/$n/tdi.conf" riverside riverside_c
        dup_source "$CASE_DIR/$n/tdi.conf" debrug debrug_c
    done
    top_key "$CASE_DIR/serial/tdi.conf" 'max_parallel_sources = 1'
    top_key "$CASE_DIR/parallel/tdi.conf" 'max_parallel_sources = 4'
    # The serial run held to one processor: its two bodies' tables are protected one after the
    # other; the parallel run protects them at once, one a processor (run/run_publish.c).
    cpu=$(taskset -pc $$ | awk -F': ' '{print $2}' | cut -d, -f1 | cut -d- -f1) # the first one allowed
    printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$cpu" "$TDI" >"$CASE_DIR/tdi-one-cpu"
    chmod +x "$CASE_DIR/tdi-one-cpu"
    TDI=$CASE_DIR/tdi-one-cpu tdi_try "$CASE_DIR/serial/run" 0 run --config "$CASE_DIR/serial/tdi.conf" --year 2025 --verbose
    parallel "$CASE_DIR/parallel/run" 0 run --config "$CASE_DIR/parallel/tdi.conf" --year 2025 --verbose
    grep -F 'tdi: debug: tables of ' "$CASE_DIR/serial/run.err" >"$CASE_DIR/serial.tables"
    printf 'tdi: debug: tables of 1 body protected on 1 thread\n%.0s' 1 2 >"$CASE_DIR/serial.tables.want"
    diff "$CASE_DIR/serial.tables.want" "$CASE_DIR/serial.tables" >&2 ||
        fail "the run held to one processor did not protect the bodies' tables one after the other"
    threads="2 bodies protected on 2 threads"
    [ "$(nproc)" -ge 2 ] || threads="1 body protected on 1 thread"
    grep -qx "tdi: debug: tables of $threads" "$CASE_DIR/parallel/run.err" ||
        fail "$(nproc) processors, want the tables of $threads: $(grep -F 'tdi: debug: tables of ' "$CASE_DIR/parallel/run.err")"
    # One at a time: each source's read ends before the next begins.
    grep -oE 'source [a-z_]+: (reading|read in)' "$CASE_DIR/serial/run.err" | sed 's/ in$//' >"$CASE_DIR/serial.order"
    printf 'source %s: reading\nsource %s: read\n' riverside riverside debrug debrug riverside_b \
        riverside_b debrug_b debrug_b riverside_c riverside_c debrug_c debrug_c >"$CASE_DIR/serial.want"
    diff "$CASE_DIR/serial.want" "$CASE_DIR/serial.order" >&2 || fail "max_parallel_sources = 1 did not read the sources one after the other"
    normalised "$CASE_DIR/serial" >"$CASE_DIR/serial.files"
    normalised "$CASE_DIR/parallel" >"$CASE_DIR/parallel.files"
    [ "$(grep -c '^== ' "$CASE_DIR/serial.files")" -ge 14 ] || fail "the serial run published too few files: $(grep '^== ' "$CASE_DIR/serial.files")"
    grep -q '^== quarantine/quarantine-debrug_c-2025-RUNID.tsv$' "$CASE_DIR/serial.files" || fail "no quarantine file of debrug_c"
    diff "$CASE_DIR/serial.files" "$CASE_DIR/parallel.files" >&2 || fail "the parallel run published other files than the serial one"
    for n in serial parallel; do
        sed -E "s|$CASE_DIR/$n/|DIR/|g; s/[0-9]{8}T[0-9]{6}Z/RUNID/g" "$CASE_DIR/$n/run.out" >"$CASE_DIR/$n.out"
        ledger "$CASE_DIR/$n" "SELECT source, mode, attempts, extracted, written, quarantined, status FROM tdi.run_source ORDER BY source" >"$CASE_DIR/$n.ledger"
    done
    diff "$CASE_DIR/serial.out" "$CASE_DIR/parallel.out" >&2 || fail "the parallel run printed other lines than the serial one"
    # Every row of 2025 (or with a start date the year filter cannot read) of both clinics, and
    # every continuing client (started before 2025, open in it), three times, counted by SQL.
    rows=0
    for db in clinic_en clinic_nl; do
        rows=$((rows + $(pg_sql "$db" -c "SELECT count(*) FROM tdi_episodes WHERE start_date IS NULL OR start_date::text LIKE '2025%' OR start_date::text !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
                                             OR (start_date < '2025-01-01' AND (end_date IS NULL OR end_date >= '2025-01-01'))")))
    done
    [ "$rows" = 77 ] || fail "the sample clinics changed: $rows rows of 2025 or continuing, not 77"
    grep -qx "balance: extracted $((3 * rows)) = written 186 + quarantined 45" "$CASE_DIR/parallel/run.out" ||
        fail "balance: $(grep '^balance' "$CASE_DIR/parallel/run.out")"
    diff "$CASE_DIR/serial.ledger" "$CASE_DIR/parallel.ledger" >&2 || fail "the ledgers count other rows"
    [ "$(wc -l <"$CASE_DIR/parallel.ledger")" = 6 ] || fail "the ledger does not list six sources"
}

# Two sources whose queries each wait (in the server, up to 10 s) until the other's COPY is
# running (its connection's application_name, active), else fail: read one after the other, the first would give up. Read at once, both
# wait for each other only as long as it takes to start, and both reads begin before either ends.
case_reads_overlap() {
    local conf=$CASE_DIR/tdi.conf
    clinic_copy clinic_par clinic_en
    pg_sql clinic_par <<'SQL'
CREATE FUNCTION wait_for(peer text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..200 LOOP
        PERFORM pg_stat_clear_snapshot();
        IF EXISTS (SELECT 1 FROM pg_stat_activity
                    WHERE pid <> pg_backend_pid() AND state = 'active' AND application_name = peer)
        THEN
            PERFORM pg_sleep(1); -- long enough for the peer to see this one too
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RAISE EXCEPTION 'the read of % never overlapped this one', peer;
END$$;
CREATE VIEW episodes_left AS SELECT * FROM tdi_episodes WHERE (SELECT wait_for('tdi_right'));
CREATE VIEW episodes_right AS SELECT * FROM tdi_episodes WHERE (SELECT wait_for('tdi_left'));
GRANT SELECT ON episodes_left, episodes_right TO tdi_reader;
SQL
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_par 'SELECT * FROM episodes_left'
    dup_source "$conf" riverside riverside_right
    set_source "$conf" riverside conninfo "host=$PGHOST port=$PGPORT dbname=clinic_par user=tdi_reader application_name=tdi_left"
    set_source "$conf" riverside_right conninfo "host=$PGHOST port=$PGPORT dbname=clinic_par user=tdi_reader application_name=tdi_right"
    set_source "$conf" riverside_right query 'SELECT * FROM episodes_right'
    top_key "$conf" 'max_parallel_sources = 3'
    parallel "$CASE_DIR/run" 0 run --config "$conf" --year 2025 --verbose
    grep -oE 'source (riverside|riverside_right): (reading|read in)' "$CASE_DIR/run.err" |
        sed 's/ in$//' | head -n 2 | sort >"$CASE_DIR/first-two"
    printf 'source riverside: reading\nsource riverside_right: reading\n' >"$CASE_DIR/want"
    diff "$CASE_DIR/want" "$CASE_DIR/first-two" >&2 || fail "a read ended before the other began: $(grep -E 'reading|read in' "$CASE_DIR/run.err")"
    # The summaries still come in the configured order.
    grep -oE '^source [a-z_]+: extracted' "$CASE_DIR/run.out" | cut -d: -f1 >"$CASE_DIR/order"
    printf 'source riverside\nsource debrug\nsource riverside_right\n' >"$CASE_DIR/want"
    diff "$CASE_DIR/want" "$CASE_DIR/order" >&2 || fail "the summaries are not in the configured order"
}

# Three sources read at once; the incremental one fails on the second run (its reader lost the
# right to read its view: not transient, one attempt). The others are read and published to the
# body that does not depend on it; the failed source keeps the watermark of the first run; exit 5.
case_one_fails() {
    local conf=$CASE_DIR/tdi.conf wm1 wm2 w
    clinic_copy clinic_parinc clinic_en
    incremental_en clinic_parinc
    run_setup "$CASE_DIR"
    use_db "$conf" riverside clinic_parinc 'SELECT * FROM tdi_episodes_inc'
    set_source "$conf" riverside incremental changed_at
    dup_source "$conf" debrug ghent
    top_key "$conf" 'max_parallel_sources = 3'
    parallel "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    wm1=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")
    [ -n "$wm1" ] || fail "run 1 stored no watermark for riverside"

    pg_sql clinic_parinc -c "REVOKE SELECT ON tdi_episodes_inc FROM tdi_reader"
    printf '\n[body brussels]\nregions = BE100\n' >>"$conf"
    parallel "$CASE_DIR/run2" 5 run --config "$conf" --year 2025
    stdout_has "body national: nothing published: source riverside failed"
    stdout_has "body antwerp: nothing published: source riverside failed"
    grep -qE '^source riverside: FAILED after 1 attempt: source riverside: .*permission denied' "$CASE_DIR/run2.out" ||
        fail "riverside did not fail as expected: $(grep '^source riverside' "$CASE_DIR/run2.out")"
    w=$(sed -n 's/^source \(debrug\|ghent\): extracted [0-9]*, written \([0-9]*\), .*/\2/p' "$CASE_DIR/run2.out" | awk '{s += $1} END {print s + 0}')
    [ "$w" -gt 0 ] || fail "debrug and ghent wrote nothing"
    grep -qE "^body brussels: $w records, 0 replaces, 0 deletes, sequence 1 -> " "$CASE_DIR/run2.out" ||
        fail "brussels was not served with debrug's and ghent's $w records: $(grep '^body brussels' "$CASE_DIR/run2.out")"
    valid_both "$(one_file "$CASE_DIR/out/brussels/tdi-brussels-2025-*.xml.gz")"
    expect_last_run "$CASE_DIR" source 5
    wm2=$(ledger "$CASE_DIR" "SELECT watermark FROM tdi.source_state WHERE source = 'riverside'")
    [ "$wm2" = "$wm1" ] || fail "the failed source's watermark moved from $wm1 to $wm2"
}

# 0, a negative number, too many and no number: a clear error at load, exit 3, nothing read.
case_setting_checked() {
    local conf=$CASE_DIR/tdi.conf v
    run_setup "$CASE_DIR"
    cp "$conf" "$CASE_DIR/tdi.conf.orig"
    for v in 0 -2 257 100000000000000000000 four; do
        cp "$CASE_DIR/tdi.conf.orig" "$conf"
        top_key "$conf" "max_parallel_sources = $v"
        tdi_try "$CASE_DIR/run" 3 run --config "$conf" --year 2025
        stderr_has "max_parallel_sources must be a whole number from 1 to 256, not '$v'"
    done
    [ "$(run_count "$CASE_DIR")" = 0 ] || fail "a run with a bad setting was recorded"
}

it_case parallel-same-as-serial case_same_as_serial
it_case parallel-reads-overlap case_reads_overlap
it_case parallel-one-source-fails case_one_fails
it_case parallel-setting-checked case_setting_checked
it_end
