#!/usr/bin/env bash
# tests/run-integration.sh [TEST...]: runs the integration tests (tests/integration/test_*.sh, or
# the ones named) against $TDI with prove, TDI_PROVE_JOBS (default 2) scripts at a time, sharing
# one throwaway PostgreSQL cluster loaded with the sample clinics (started here once, exported as
# TDI_PG_DIR; each case makes its own databases). Each script prints TAP (tests/lib.sh: it_case,
# it_skip, it_end). Afterwards this prints, for each script that failed, its TAP and its stderr;
# every skipped case with its reason; and
#   integration: N passed, N failed, N skipped
# A script that exits non-zero or without its plan, with no "not ok" line, counts as one failure.
# The TAP and stderr of each script stay in TDI_IT_LOGS (default build/integration/). With
# TDI_RESULTS=FILE, also appends "integration PASSED FAILED SKIPPED 0" to FILE (for run-all.sh).
# Exit status: 0 when nothing failed.
#
# tests/run-integration.sh --one SCRIPT is how prove runs one script (--exec): its TAP goes to
# prove and to TDI_IT_LOGS/NAME.tap, its stderr to TDI_IT_LOGS/NAME.err, its status to NAME.rc.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${1:-}" = --one ]; then
    name=$(basename "$2" .sh)
    rc=0
    bash "$2" </dev/null 2>"$TDI_IT_LOGS/$name.err" | tee "$TDI_IT_LOGS/$name.tap" || rc=${PIPESTATUS[0]}
    printf '%s\n' "$rc" >"$TDI_IT_LOGS/$name.rc"
    exit "$rc"
fi

: "${TDI:?set TDI to the tdi binary to test, e.g. TDI=build/asan/tdi}"
case $TDI in /*) ;; *) TDI=$PWD/$TDI ;; esac
export TDI
: "${TDI_IT_LOGS:=$TDI_ROOT/build/integration}"
case $TDI_IT_LOGS in /*) ;; *) TDI_IT_LOGS=$PWD/$TDI_IT_LOGS ;; esac
export TDI_IT_LOGS

TDI_PG_DIR=""
cleanup() { [ -z "$TDI_PG_DIR" ] || pg_stop "$TDI_PG_DIR"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$#" -gt 0 ]; then
    tests=()
    for t in "$@"; do
        case $t in /*) tests+=("$t") ;; *) tests+=("$PWD/$t") ;; esac
    done
else
    # The longest scripts first, longest first, so that two at a time end together (seconds in
    # make check on 2 cores, 2026-12-07: tables 224-245, counting 135-155, report and workbook
    # about 48, receiver 42-46, ops 41-43, reid 33-35; with tables fourth, its slot ended a
    # minute after the other); then the others in name order.
    slow=(test_tables test_counting test_report test_workbook test_receiver test_ops test_reid)
    tests=()
    for t in "${slow[@]}"; do
        [ ! -f "$TDI_ROOT/tests/integration/$t.sh" ] || tests+=("$TDI_ROOT/tests/integration/$t.sh")
    done
    for t in "$TDI_ROOT"/tests/integration/test_*.sh; do
        case " ${slow[*]} " in *" $(basename "$t" .sh) "*) ;; *) tests+=("$t") ;; esac
    done
fi

rm -rf -- "$TDI_IT_LOGS"
mkdir -p "$TDI_IT_LOGS"
TDI_PG_DIR=$(mktemp -d /tmp/tdi-pg.XXXXXX)
rmdir "$TDI_PG_DIR"
pg_start "$TDI_PG_DIR"
pg_load "$TDI_PG_DIR"
export TDI_PG_DIR

# prove's own verdict is not needed: the counts below are read from each script's TAP.
(cd "$TDI_ROOT" && prove --jobs "${TDI_PROVE_JOBS:-2}" --timer \
    --exec "$TDI_ROOT/tests/run-integration.sh --one" "${tests[@]#"$TDI_ROOT"/}") || true

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    tap=$TDI_IT_LOGS/$name.tap
    [ -f "$tap" ] || : >"$tap"
    rc=$(cat "$TDI_IT_LOGS/$name.rc" 2>/dev/null || echo "none")
    p=$(grep -Ec '^ok [0-9]+ - ' "$tap" || true)
    s=$(grep -Ec '^ok [0-9]+ - .* # SKIP' "$tap" || true)
    f=$(grep -Ec '^not ok [0-9]+ - ' "$tap" || true)
    p=$((p - s))
    broken=""
    if ! grep -Eq '^1\.\.[0-9]+$' "$tap" || { [ "$rc" != 0 ] && [ "$f" = 0 ]; }; then
        broken="exited with status $rc, plan $(grep -Eo '^1\.\.[0-9]+$' "$tap" || echo missing)"
        [ "$f" != 0 ] || f=1
    fi
    if [ "$f" != 0 ]; then
        printf '== %s failed%s\n' "${t#"$TDI_ROOT"/}" "${broken:+ ($broken)}"
        sed 's/^/  | /' "$tap"
        if [ -s "$TDI_IT_LOGS/$name.err" ]; then
            printf '  stderr:\n'
            sed 's/^/  | /' "$TDI_IT_LOGS/$name.err"
        fi
    fi
    sed -n "s/^ok [0-9]* - \(.*\) # SKIP \(.*\)/skipped: $name: \1: \2/p" "$tap"
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
done

printf 'integration: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ -z "${TDI_RESULTS:-}" ] || printf 'integration %d %d %d 0\n' "$passed" "$failed" "$skipped" >>"$TDI_RESULTS"
[ "$failed" = 0 ]
