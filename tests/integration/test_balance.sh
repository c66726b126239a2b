#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Every extracted row is accounted for: the run's summary says
#   source NAME: extracted N, written W, quarantined Q      (one per source)
#   body NAME: N records, R replaces, D deletes, sequence S -> PATH   (one per body)
#   balance: extracted N = written W + quarantined Q        (the last line)
# and each figure agrees with the clinic databases (rows of 2025 or with no start date, and the
# continuing clients: started before 2025, no end date or one from 2025 on; counted
# by psql as tdi_reader), the submission of the body that takes every region (distinct episode
# keys) and the quarantine files.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

RUN=$IT_TMP/run
declare -A SOURCE_DB=([riverside]=clinic_en [debrug]=clinic_nl)

# the rows `--year 2025` must extract from DB, as the pipeline's role sees them
db_count() {
    pg_reader_sql "$1" -c "SELECT count(*) FROM tdi_episodes
                            WHERE start_date IS NULL
                               OR (start_date >= DATE '2025-01-01' AND start_date < DATE '2026-01-01')
                               OR (start_date < DATE '2025-01-01'
                                   AND (end_date IS NULL OR end_date >= DATE '2025-01-01'))"
}

# distinct episode keys (of source $1 when given) in the submission of body national, which takes
# every region: episode keys are per body (no two bodies can link their records), so the
# submissions of several bodies cannot be pooled to count episodes.
written_keys() {
    grep -A1 -x '\[body national\]' "$TDI_CONF_TEMPLATE" | grep -qx 'regions = \*' ||
        fail "body national of the config template does not take every region"
    episode_lines "$(one_file "$RUN/out/national/tdi-national-2025-*.xml.gz")" |
        { if [ -n "${1:-}" ]; then grep -F " source=\"$1\"" || true; else cat; fi; } |
        grep -oE ' key="[^"]*"' | LC_ALL=C sort -u | wc -l
}

quarantine_lines() {
    local q
    q=$(one_file "$RUN/out/quarantine/quarantine-$1-2025-*.tsv")
    tail -n +2 "$q" | wc -l
}

case_run() {
    run_pipeline "$RUN"
}

case_total() {
    local last re='^balance: extracted ([0-9]+) = written ([0-9]+) \+ quarantined ([0-9]+)$'
    local n w q want_n=0 want_q=0 src
    last=$(tail -n 1 "$RUN/run.out")
    [[ $last =~ $re ]] || fail "the summary does not end with 'balance: extracted N = written W + quarantined Q' (last line: $last)"
    n=${BASH_REMATCH[1]} w=${BASH_REMATCH[2]} q=${BASH_REMATCH[3]}
    [ "$n" = $((w + q)) ] || fail "extracted $n != written $w + quarantined $q"
    for src in "${TDI_SOURCES[@]}"; do
        want_n=$((want_n + $(db_count "${SOURCE_DB[$src]}")))
        want_q=$((want_q + $(quarantine_lines "$src")))
    done
    [ "$n" = "$want_n" ] || fail "extracted $n, the clinic databases hold $want_n rows of 2025, with no start date or continuing"
    [ "$w" = "$(written_keys)" ] || fail "written $w, the submissions hold $(written_keys) distinct episodes"
    [ "$q" = "$want_q" ] || fail "quarantined $q, the quarantine files hold $want_q rows"
}

case_sources() {
    local src line n w q re
    for src in "${TDI_SOURCES[@]}"; do
        re="^source $src: extracted ([0-9]+), written ([0-9]+), quarantined ([0-9]+)\$"
        line=$(grep -E "^source $src: " "$RUN/run.out" || true)
        [[ $line =~ $re ]] || fail "no line 'source $src: extracted N, written W, quarantined Q' (got: $line)"
        n=${BASH_REMATCH[1]} w=${BASH_REMATCH[2]} q=${BASH_REMATCH[3]}
        [ "$n" = $((w + q)) ] || fail "$src: extracted $n != written $w + quarantined $q"
        [ "$n" = "$(db_count "${SOURCE_DB[$src]}")" ] || fail "$src: extracted $n, the database holds $(db_count "${SOURCE_DB[$src]}")"
        [ "$w" = "$(written_keys "$src")" ] || fail "$src: written $w, the submissions hold $(written_keys "$src")"
        [ "$q" = "$(quarantine_lines "$src")" ] || fail "$src: quarantined $q, its quarantine file holds $(quarantine_lines "$src")"
    done
}

case_bodies() {
    local body line re n path gz
    for body in "${TDI_BODIES[@]}"; do
        re="^body $body: ([0-9]+) records, 0 replaces, 0 deletes, sequence 1 -> (.+)\$"
        line=$(grep -E "^body $body: " "$RUN/run.out" || true)
        [[ $line =~ $re ]] || fail "no line 'body $body: N records, 0 replaces, 0 deletes, sequence 1 -> PATH' (got: $line)"
        n=${BASH_REMATCH[1]} path=${BASH_REMATCH[2]}
        gz=$(one_file "$RUN/out/$body/tdi-$body-2025-*.xml.gz")
        [[ -f $path && $path -ef $gz ]] || fail "$body: the summary names $path, the submission is $gz"
        [ "$n" = "$(episode_lines "$gz" | wc -l)" ] || fail "$body: $n records in the summary, $(episode_lines "$gz" | wc -l) in the file"
    done
}

it_case balance-run case_run
it_case balance-total case_total
it_case balance-sources case_sources
it_case balance-bodies case_bodies
it_end
