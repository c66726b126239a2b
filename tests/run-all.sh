#!/usr/bin/env bash
# tests/run-all.sh UNIT_BIN...: the unit tests (the cmocka binaries given), then the integration
# tests against $TDI; ends with one line counting every test case of both:
#   N passed, N failed
# Exit status: 0 when nothing failed. `make check` runs this.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

results=$(mktemp "${TMPDIR:-/tmp}/tdi-results.XXXXXX") || exit 1
trap 'rm -f -- "$results"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TDI_RESULTS=$results

"$here/run-unit.sh" "$@"
unit_rc=$?
"$here/run-integration.sh"
integration_rc=$?

read -r passed failed < <(awk '{p += $2; f += $3} END {print p + 0, f + 0}' "$results")
# A runner that died before writing its counts still fails the whole run.
if [ "$unit_rc" != 0 ] || [ "$integration_rc" != 0 ]; then
    [ "$failed" != 0 ] || failed=1
fi
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
