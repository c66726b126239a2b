#!/usr/bin/env bash
# tests/run-integration.sh [TEST...]: runs the integration tests (tests/integration/test_*.sh, or
# the ones named) against $TDI, sharing one throwaway PostgreSQL cluster loaded with the sample
# clinics. Each test prints "ok CASE" or "FAIL CASE: reason" per case; this ends with
#   integration: N passed, N failed
# A case counts once however many FAIL lines it printed; a test script that exits non-zero
# without a FAIL line counts as one failure. With
# TDI_RESULTS=FILE, also appends "integration PASSED FAILED" to FILE (for run-all.sh).
# Exit status: 0 when nothing failed.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${TDI:?set TDI to the tdi binary to test, e.g. TDI=build/asan/tdi}"
case $TDI in /*) ;; *) TDI=$PWD/$TDI ;; esac
export TDI

passed=0
failed=0
TDI_PG_DIR=""
log=""
cleanup() {
    [ -z "$log" ] || rm -f -- "$log"
    [ -z "$TDI_PG_DIR" ] || pg_stop "$TDI_PG_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log=$(mktemp "${TMPDIR:-/tmp}/tdi-integration.XXXXXX")
TDI_PG_DIR=$(mktemp -d /tmp/tdi-pg.XXXXXX)
rmdir "$TDI_PG_DIR"
pg_start "$TDI_PG_DIR"
pg_load "$TDI_PG_DIR"
export TDI_PG_DIR

if [ "$#" -gt 0 ]; then
    tests=("$@")
else
    tests=("$TDI_ROOT"/tests/integration/test_*.sh)
fi

for t in "${tests[@]}"; do
    printf '== %s\n' "${t#"$TDI_ROOT"/}"
    rc=0
    bash "$t" </dev/null 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    p=$(grep -c '^ok ' "$log" || true)
    f=$( (grep '^FAIL ' "$log" || true) | cut -d: -f1 | sort -u | wc -l)
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        printf 'FAIL %s: exited with status %s\n' "${t##*/}" "$rc"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

printf 'integration: %d passed, %d failed\n' "$passed" "$failed"
[ -z "${TDI_RESULTS:-}" ] || printf 'integration %d %d\n' "$passed" "$failed" >>"$TDI_RESULTS"
[ "$failed" = 0 ]
