#!/usr/bin/env bash
# tests/run-unit.sh BIN...: runs each cmocka unit-test binary, shows its output, and ends with
#   unit: N passed, N failed, N skipped
# N counts test cases, read from cmocka's "[  PASSED  ] N test(s).", "[  FAILED  ] N test(s)" and
# "[  SKIPPED ] N test(s)" lines (each skipped case is listed again at the end); a binary that ends badly (crash, sanitizer report) with no failed case counts as one
# failure. The ThreadSanitizer binaries (build/tsan/tests) are run the same way; a data race
# fails the binary (TSAN_OPTIONS, tests/lib.sh). With TDI_RESULTS=FILE, also appends
# "unit PASSED FAILED SKIPPED 0" to FILE (for run-all.sh).
# Exit status: 0 when nothing failed.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

passed=0
failed=0
skipped=0
log=$(mktemp "${TMPDIR:-/tmp}/tdi-unit.XXXXXX")
skips=$(mktemp "${TMPDIR:-/tmp}/tdi-unit-skips.XXXXXX")
trap 'rm -f -- "$log" "$skips"' EXIT

# cmocka_count LOG WORD: the sum of N over the "[  WORD  ] N test(s)" lines of LOG (WORD padded
# as cmocka does: "PASSED  ", "FAILED  ", "SKIPPED ").
cmocka_count() {
    sed -n "s/^\[  $2\] \([0-9]\{1,\}\) test(s).*/\1/p" "$1" | awk '{n += $1} END {print n + 0}'
}

for bin in "$@"; do
    printf '== %s\n' "${bin#"$TDI_ROOT"/}"
    rc=0
    if [ -x "$bin" ]; then
        "$bin" </dev/null >"$log" 2>&1 || rc=$?
    else
        printf 'not an executable: %s\n' "$bin" >"$log"
        rc=127
    fi
    cat "$log"
    p=$(cmocka_count "$log" 'PASSED  ')
    f=$(cmocka_count "$log" 'FAILED  ')
    s=$(cmocka_count "$log" 'SKIPPED ')
    # the names: cmocka prints "[  SKIPPED ] NAME" when it happens and again in its summary
    sed -n 's/^\[  SKIPPED \] \([^ ]*\)$/\1/p' "$log" | sort -u | sed "s|^|skipped: ${bin#"$TDI_ROOT"/}: |" >>"$skips"
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        printf 'FAIL %s: exited with status %s\n' "${bin##*/}" "$rc"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
done

cat "$skips"
printf 'unit: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ -z "${TDI_RESULTS:-}" ] || printf 'unit %d %d %d 0\n' "$passed" "$failed" "$skipped" >>"$TDI_RESULTS"
[ "$failed" = 0 ]
