#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# A crosswalk that lacks a code: Riverside's crosswalk without its HEROIN line. The run still
# succeeds; its summary names the source, the crosswalk item, the local code and how many values
# had it, on stdout, in the source's block:
#   source riverside: extracted N, written W, quarantined Q
#     unmapped primary_drug 'HEROIN': 13
#     unmapped primary_drug 'KRATOM': 1
#     unmapped secondary_drug 'HEROIN': 2        (secondary drugs fall back on primary_drug)
# The counts are taken from the clinic database (as tdi_reader, rows of 2025 and continuing
# clients), not from tdi;
# every row with such a code is in quarantine with rule R006, and nothing is turned into
# "not known".
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

RUN=$IT_TMP/run
# the rows --year 2025 reads: starts of 2025, and the continuing clients (started before, open in it)
IN_2025="(start_date >= DATE '2025-01-01' AND start_date < DATE '2026-01-01'
          OR start_date < DATE '2025-01-01' AND (end_date IS NULL OR end_date >= DATE '2025-01-01'))"

case_run() {
    run_setup "$RUN"
    grep -v -E '^primary_drug +HEROIN ' "$TDI_EXAMPLES/crosswalks/en.cw" >"$RUN/en.cw"
    [ "$(grep -c HEROIN "$RUN/en.cw" || true)" = 0 ] || fail "HEROIN still in the copied crosswalk"
    sed -i "s|^crosswalk *=.*/en.cw\$|crosswalk = $RUN/en.cw|" "$RUN/tdi.conf"
    tdi_try "$RUN/run" 0 run --config "$RUN/tdi.conf" --year 2025
}

case_report() {
    local primary secondary kratom
    primary=$(pg_reader_sql clinic_en -c "SELECT count(*) FROM tdi_episodes
                                           WHERE primary_drug = 'HEROIN' AND $IN_2025")
    kratom=$(pg_reader_sql clinic_en -c "SELECT count(*) FROM tdi_episodes
                                          WHERE primary_drug = 'KRATOM' AND $IN_2025")
    secondary=$(pg_reader_sql clinic_en -c "
        SELECT count(*) FROM tdi_episodes,
               LATERAL (VALUES (secondary_drug_1), (secondary_drug_2), (secondary_drug_3),
                               (secondary_drug_4)) AS s(drug)
         WHERE s.drug = 'HEROIN' AND $IN_2025")
    [ "$primary" -ge 2 ] && [ "$secondary" -ge 1 ] || fail "the fixture lost its heroin episodes"
    # the riverside block of the summary: from its source line to the next source line
    sed -n '/^source riverside: /,/^source /p' "$RUN/run.out" | grep '^  unmapped ' >"$CASE_DIR/got" || true
    printf "  unmapped primary_drug 'HEROIN': %s\n  unmapped primary_drug 'KRATOM': %s\n  unmapped secondary_drug 'HEROIN': %s\n" \
        "$primary" "$kratom" "$secondary" >"$CASE_DIR/want"
    diff -u "$CASE_DIR/want" "$CASE_DIR/got" >&2 || fail "the unmapped-code report differs (- want, + got)"
    if sed -n '/^source debrug: /,$p' "$RUN/run.out" | grep -q HEROIN; then
        fail "HEROIN reported under debrug, which has its own crosswalk"
    fi
}

case_quarantine() {
    local q want
    q=$(one_file "$RUN/out/quarantine/quarantine-riverside-2025-*.tsv")
    want=$(pg_reader_sql clinic_en -c "
        SELECT count(*) FROM tdi_episodes
         WHERE $IN_2025 AND ('HEROIN' IN (primary_drug, secondary_drug_1, secondary_drug_2,
                                          secondary_drug_3, secondary_drug_4)
                             OR primary_drug = 'KRATOM')")
    [ "$(grep -cP '\tR006\t' "$q")" = "$want" ] ||
        fail "$(grep -cP '\tR006\t' "$q") rows quarantined with R006, the database has $want with an unmapped code"
    grep -qP '\tR006\tprimary_drug\tHEROIN\tlocal code has no crosswalk entry$' "$q" ||
        fail "no R006 quarantine line for primary_drug HEROIN"
    grep -qP '\tR006\tsecondary_drug_1\tHEROIN\tlocal code has no crosswalk entry$' "$q" ||
        fail "no R006 quarantine line for secondary_drug_1 HEROIN"
    local f
    for f in "$RUN"/out/*/tdi-*.xml.gz; do episode_lines_full "$f"; done >"$CASE_DIR/episodes"
    [ -s "$CASE_DIR/episodes" ] || fail "no episodes published"
    if grep -q 'source="riverside".* primary_drug="99"' "$CASE_DIR/episodes"; then
        fail "a riverside episode has primary drug 'not known': an unmapped code was turned into it"
    fi
}

it_case unmapped-run case_run
it_case unmapped-report case_report
it_case unmapped-quarantine case_quarantine
it_end
