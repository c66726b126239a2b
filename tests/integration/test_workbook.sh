#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The official TDI workbook: after a run on the sample clinics, `tdi workbook` fills the form from
# each body's tables file, and an independent reader (openpyxl, tests/integration/
# workbook_check.py) finds every label of the official form (../shared/spec, when at hand) at its
# cell, every number of the tables file at its row and column, every suppressed cell as "c" on
# grey, the methodological cells, and nothing else. A tables file that is not valid gives no
# workbook; the workbook is replaced atomically (no temp file left).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
TDI_TEST_THRESHOLD=5 # the tables as protected (cells shown as "c")
it_begin

RUN=$IT_TMP/run
PY=/usr/bin/python3
CHECK=$TDI_ROOT/tests/integration/workbook_check.py
MAP=$TDI_ROOT/schemas/tdi-workbook-2022.map
FORM=$TDI_ROOT/../shared/spec/tdi-workbook-2022.xlsx
[ -r "$FORM" ] || FORM=-

case_run() {
    run_pipeline "$RUN"
}

case_every_body() {
    local t n=0 out
    for t in "$RUN"/out/*/tdi-*-2025-*.tables.xml; do
        out=$CASE_DIR/$(basename "$t" .tables.xml).xlsx
        tdi_try "$CASE_DIR/wb" 0 workbook "$t" -o "$out"
        grep -q "cells suppressed -> $out\$" "$CASE_DIR/wb.out" || fail "no summary line"
        "$PY" "$CHECK" "$FORM" "$MAP" "$t" "$out" >"$CASE_DIR/check.out" 2>&1 ||
            { cat "$CASE_DIR/check.out" >&2; fail "$(basename "$out") differs from its tables"; }
        grep -q 'differences 0$' "$CASE_DIR/check.out" || fail "checker said nothing"
        n=$((n + 1))
    done
    [ "$n" = "${#TDI_BODIES[@]}" ] || fail "$n workbooks for ${#TDI_BODIES[@]} bodies"
    [ -z "$(find "$CASE_DIR" -name '.*.tmp')" ] || fail "temp file left"
}

# tdi run publishes each body's workbook next to its tables, with a manifest naming its SHA-256.
case_run_publishes() {
    local t wb mf sum
    for t in "$RUN"/out/*/tdi-*-2025-*.tables.xml; do
        wb=${t%.tables.xml}.workbook.xlsx
        mf=${t%.tables.xml}.workbook.manifest.json
        [ -f "$wb" ] && [ -f "$mf" ] || fail "no workbook or manifest next to $(basename "$t")"
        sum=$(sha256sum "$wb" | cut -d' ' -f1)
        grep -q "\"file\":\"$(basename "$wb")\",\"sha256\":\"$sum\"" "$mf" ||
            fail "$(basename "$mf") does not name the workbook's SHA-256"
        "$PY" "$CHECK" "$FORM" "$MAP" "$t" "$wb" >"$CASE_DIR/check.out" 2>&1 ||
            { cat "$CASE_DIR/check.out" >&2; fail "$(basename "$wb") differs from its tables"; }
    done
    grep -q '^workbook national: [0-9]* numbers -> ' "$RUN/run.out" || fail "no workbook line"
}

# The checker can fail: a number changed in the tables is found.
case_checker_fails() {
    local t out
    t=$(ls "$RUN"/out/national/tdi-national-2025-*.tables.xml)
    out=$CASE_DIR/wb.xlsx
    tdi_try "$CASE_DIR/wb" 0 workbook "$t" -o "$out"
    sed '0,/<cell row="total" column="total" value="\([0-9]*\)"/s//<cell row="total" column="total" value="1\1"/' \
        "$t" >"$CASE_DIR/changed.xml"
    ! cmp -s "$t" "$CASE_DIR/changed.xml" || fail "nothing changed"
    if "$PY" "$CHECK" "$FORM" "$MAP" "$CASE_DIR/changed.xml" "$out" >/dev/null 2>&1; then
        fail "the checker did not see a changed total"
    fi
}

case_invalid_tables() {
    local t
    t=$(ls "$RUN"/out/national/tdi-national-2025-*.tables.xml)
    sed 's/countingLevel="[a-z]*"/countingLevel="galaxy"/' "$t" >"$CASE_DIR/bad.tables.xml"
    tdi_try "$CASE_DIR/wb" 8 workbook "$CASE_DIR/bad.tables.xml" -o "$CASE_DIR/bad.xlsx"
    [ ! -e "$CASE_DIR/bad.xlsx" ] || fail "a workbook from an invalid tables file"
    [ -z "$(find "$CASE_DIR" -name '.*.tmp')" ] || fail "temp file left"
    tdi_try "$CASE_DIR/usage" 2 workbook "$t"
}

it_case run case_run
it_case every_body case_every_body
it_case run_publishes case_run_publishes
it_case checker_fails case_checker_fails
it_case invalid_tables case_invalid_tables
it_end
