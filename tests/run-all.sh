#!/usr/bin/env bash
# tests/run-all.sh UNIT_BIN...: make lint's checks (tests/lint.sh, beside the unit tests: those
# use one core; its output is shown after theirs), the unit tests (the cmocka binaries given),
# then the integration tests against $TDI; ends with one line counting every case of the three:
#   N passed, N failed, N skipped
# followed on the same line by ", N todo (...)" when lint reported findings it does not fail on
# (LINT_STRICT=0). With TDI_CHECK_COV=COMMAND (make check: the unit tests under coverage against
# their floors), COMMAND runs after lint on lint's core and its output follows lint's: both use one
# core while the unit tests use the other (check-cov before them kept a core idle for 30 s).
# Exit status: 0 when nothing failed. `make check` runs this.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

results=$(mktemp "${TMPDIR:-/tmp}/tdi-results.XXXXXX") || exit 1
lint_log=$(mktemp "${TMPDIR:-/tmp}/tdi-lint-log.XXXXXX") || exit 1
cov_log=$(mktemp "${TMPDIR:-/tmp}/tdi-cov-log.XXXXXX") || exit 1
trap 'rm -f -- "$results" "$lint_log" "$lint_log.rc" "$cov_log" "$cov_log.rc"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TDI_RESULTS=$results

# lint, then the coverage command, on one core; each one's status in its file
(
    "$here/lint.sh" >"$lint_log" 2>&1
    echo $? >"$lint_log.rc"
    if [ -n "${TDI_CHECK_COV:-}" ]; then
        TDI_RESULTS='' bash -c "$TDI_CHECK_COV" >"$cov_log" 2>&1
        echo $? >"$cov_log.rc"
    fi
) &
side_pid=$!
"$here/run-unit.sh" "$@"
unit_rc=$?
wait "$side_pid"
lint_rc=$(cat "$lint_log.rc" 2>/dev/null || echo 1)
printf '== make lint\n'
cat "$lint_log"
cov_rc=0
if [ -n "${TDI_CHECK_COV:-}" ]; then
    cov_rc=$(cat "$cov_log.rc" 2>/dev/null || echo 1)
    printf '== coverage\n'
    cat "$cov_log"
fi
"$here/run-integration.sh"
integration_rc=$?

read -r passed failed skipped todo < <(awk '{p += $2; f += $3; s += $4; t += $5}
    END {print p + 0, f + 0, s + 0, t + 0}' "$results")
# A runner that died before writing its counts still fails the whole run.
if [ "$lint_rc" != 0 ] || [ "$cov_rc" != 0 ] || [ "$unit_rc" != 0 ] || [ "$integration_rc" != 0 ]; then
    [ "$failed" != 0 ] || failed=1
fi
line=$(printf '%d passed, %d failed, %d skipped' "$passed" "$failed" "$skipped")
[ "$todo" = 0 ] || line="$line, $todo todo (lint findings not fatal with LINT_STRICT=0)"
printf '%s\n' "$line"
[ "$failed" = 0 ]
