#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# A short fuzzing run of each libFuzzer target (the config reader, the crosswalk reader, the
# validator): $TDI_FUZZ_RUNS inputs each (make check: 500) under ASan/UBSan, no crash, no leak.
# `make fuzz` runs the same targets for 10,000 inputs (FUZZ_RUNS).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

fuzz_case() {
    tests_out=$CASE_DIR/fuzz.out
    "$TDI_ROOT/tests/fuzz/run.sh" "$TDI_FUZZ_RUNS" "$TDI_FUZZ_DIR" "$1" >"$tests_out" 2>&1 ||
        { sed 's/^/  | /' "$tests_out" >&2; fail "fuzz target $1 failed"; }
    grep -qE "^ok fuzz-$1: $TDI_FUZZ_RUNS inputs" "$tests_out" || fail "no ok line from the fuzz run of $1"
}

case_config() { fuzz_case config; }
case_crosswalk() { fuzz_case crosswalk; }
case_validate() { fuzz_case validate; }

if [ -z "${TDI_FUZZ_DIR:-}" ] || [ ! -x "$TDI_FUZZ_DIR/fuzz_config" ]; then
    for t in config crosswalk validate; do
        it_skip "fuzz-$t" 'no fuzz targets built (make check builds them; make fuzz runs them longer)'
    done
    it_end
fi
: "${TDI_FUZZ_RUNS:=500}"
it_case fuzz-config case_config
it_case fuzz-crosswalk case_crosswalk
it_case fuzz-validate case_validate
it_end
