#!/usr/bin/env bash
# tests/run-all.sh UNIT_BIN...: make lint's checks (tests/lint.sh, beside the unit tests: those
# use one core; its output is shown after theirs), the unit tests (the cmocka binaries given),
# then the integration tests against $TDI; ends with one line counting every case of the three:
#   N passed, N failed, N skipped
# followed on the same line by ", N todo (...)" when lint reported findings it does not fail on
# (LINT_STRICT=0). Exit status: 0 when nothing failed. `make check` runs this.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

results=$(mktemp "${TMPDIR:-/tmp}/tdi-results.XXXXXX") || exit 1
lint_log=$(mktemp "${TMPDIR:-/tmp}/tdi-lint-log.XXXXXX") || exit 1
trap 'rm -f -- "$results" "$lint_log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TDI_RESULTS=$results

"$here/lint.sh" >"$lint_log" 2>&1 &
lint_pid=$!
"$here/run-unit.sh" "$@"
unit_rc=$?
wait "$lint_pid"
lint_rc=$?
printf '== make lint\n'
cat "$lint_log"
"$here/run-integration.sh"
integration_rc=$?

read -r passed failed skipped todo < <(awk '{p += $2; f += $3; s += $4; t += $5}
    END {print p + 0, f + 0, s + 0, t + 0}' "$results")
# A runner that died before writing its counts still fails the whole run.
if [ "$lint_rc" != 0 ] || [ "$unit_rc" != 0 ] || [ "$integration_rc" != 0 ]; then
    [ "$failed" != 0 ] || failed=1
fi
line=$(printf '%d passed, %d failed, %d skipped' "$passed" "$failed" "$skipped")
[ "$todo" = 0 ] || line="$line, $todo todo (lint findings not fatal with LINT_STRICT=0)"
printf '%s\n' "$line"
[ "$failed" = 0 ]
