#!/usr/bin/env bash
# tests/demo.sh (make demo): runs ./tdi on the two sample clinics and shows what it produced.
#
# Starts a throwaway PostgreSQL cluster (removed again at the end, also on failure or Ctrl-C),
# loads Riverside Recovery (English codes) and Kliniek De Brug (Dutch codes) from tests/fixtures,
# creates the state database tdi_state there (`tdi init`), makes a key in demo-out/tdi.key (kept
# across demos), writes demo-out/tdi.conf from examples/tdi.conf.in, runs `./tdi run --year 2025`
# into demo-out/out/ (emptied first), runs it again (nothing changed: nothing new is published),
# shows `tdi status`, checks the submissions with `./tdi validate` and lists the files.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$TDI_ROOT"
TDI_BIN=$TDI_ROOT/tdi
DEMO=$TDI_ROOT/demo-out
[ -x "$TDI_BIN" ] || { msg "demo: no ./tdi; build it with 'make'"; exit 1; }

PG_DIR=""
cleanup() { [ -z "$PG_DIR" ] || pg_stop "$PG_DIR"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PG_DIR=$(mktemp -d /tmp/tdi-pg.XXXXXX)
rmdir "$PG_DIR"
echo "demo: starting a throwaway PostgreSQL cluster in $PG_DIR"
pg_start "$PG_DIR"
pg_load "$PG_DIR"
pg_env "$PG_DIR"
echo "demo: loaded clinic_en (Riverside Recovery) and clinic_nl (Kliniek De Brug), read by role $TDI_READER"

mkdir -p "$DEMO"
rm -rf -- "$DEMO/out" # only this run's files, so the list at the end is this run's
if [ ! -f "$DEMO/tdi.key" ]; then
    "$TDI_BIN" keygen "$DEMO/tdi.key"
    echo "demo: new master key $DEMO/tdi.key"
fi
TDI_STATE_DB=tdi_state
state_db_create "$TDI_STATE_DB"
TDI_STATE_DB=$TDI_STATE_DB tdi_write_config "$DEMO"
echo "demo: configuration $DEMO/tdi.conf"
"$TDI_BIN" init --config "$DEMO/tdi.conf"
echo

run_demo() {
    local rc=0
    "$TDI_BIN" run --config "$DEMO/tdi.conf" --year 2025 || rc=$?
    if [ "$rc" != 0 ]; then
        msg "demo: tdi run failed with exit code $rc"
        exit "$rc"
    fi
}
run_demo
echo
echo "demo: the same run again: the sources did not change, so nothing new is published"
echo
run_demo
echo
"$TDI_BIN" status --config "$DEMO/tdi.conf" --runs 2
pg_stop "$PG_DIR"
PG_DIR=""

shopt -s nullglob
submissions=("$DEMO"/out/*/tdi-*-2025-*.xml.gz)
tables=("$DEMO"/out/*/tdi-*-2025-*.tables.xml)
workbooks=("$DEMO"/out/*/tdi-*-2025-*.workbook.xlsx)
manifests=("$DEMO"/out/*/tdi-*-2025-*.manifest.json)
quarantine=("$DEMO"/out/quarantine/quarantine-*-2025-*.tsv)
shopt -u nullglob
echo
if [ "${#submissions[@]}" = 0 ]; then
    msg "demo: no submission under $DEMO/out"
    exit 1
fi
"$TDI_BIN" validate "${submissions[@]}" "${tables[@]}"
echo "demo: every submission and tables file is valid against schemas/tdi-submission.xsd and"
echo "      schemas/tdi-tables.xsd"
# No count under the threshold outside a grand total, and every suppressed count as wide as the
# threshold asks (the disclosure audit a receiver runs, without tdi's state).
for t in "${tables[@]}"; do
    if small_counts "$t" | grep . >&2; then
        msg "demo: $t publishes a count under its threshold outside a grand total (above)"
        exit 1
    fi
done
"$TDI_BIN" audit-tables "${tables[@]}"
echo "demo: no tables file publishes a count under its threshold outside a grand total"
echo
echo "Submissions (gzip XML, one per receiving body):"
printf '  %s\n' "${submissions[@]}"
echo "TDI standard tables (XML, one per receiving body; small counts suppressed):"
printf '  %s\n' "${tables[@]}"
echo "The official TDI workbook, filled in from the tables (tdi workbook):"
printf '  %s\n' "${workbooks[@]}"
echo "Manifests (records, SHA-256):"
printf '  %s\n' "${manifests[@]}"
echo "Quarantine (rows held back, with the rule that stopped them):"
printf '  %s\n' "${quarantine[@]}"
echo "Look inside: zcat ${submissions[0]} | head"
