#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# What receivers can rely on and what they can learn (red team findings 5 and 6):
#   - which of two files with one sequence number is the later one, without trusting clocks: a
#     run that published and died before its commit leaves a file that the rerun publishes again
#     under the same sequence; runNo (the ledger's run number, in the header and both manifests)
#     is larger in the rerun whatever the run ids (clock times) say;
#   - the order of two bodies' files: each body's records come in an order keyed by that body's
#     key (its episode keys), so two bodies that receive the same records cannot pair them up by
#     position; the order is the same in every run with the same key.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# stripped FILE.xml.gz: its episodes without what differs between bodies (key, person, entrant),
# in file order.
stripped() {
    episode_lines "$1" | sed -E 's/ (key|person|entrant)="[^"]*"//g'
}

# keys FILE.xml.gz: the episode keys, in file order.
keys() {
    episode_lines "$1" | sed -nE 's/.* key="([^"]*)".*/\1/p'
}

# antwerp's records are all in national's file too. Stripped of what differs per body, the two
# files' records must not come in the same order: before, antwerp's equalled national's (the
# records of antwerp, in national's order), so a receiver of both could pair them one by one. A
# second run into a fresh state database with the same key writes the same order.
case_bodies_shuffled() {
    local nat ant n
    run_pipeline "$CASE_DIR"
    nat=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    ant=$(one_file "$CASE_DIR/out/antwerp/tdi-antwerp-2025-*.xml.gz")
    stripped "$ant" >"$CASE_DIR/ant"
    stripped "$nat" | grep -Fxf "$CASE_DIR/ant" >"$CASE_DIR/nat" || true
    n=$(wc -l <"$CASE_DIR/ant")
    [ "$n" -ge 10 ] || fail "antwerp has $n records: nothing to compare"
    [ "$(LC_ALL=C sort "$CASE_DIR/ant" | md5sum)" = "$(LC_ALL=C sort "$CASE_DIR/nat" | md5sum)" ] ||
        fail "national does not hold antwerp's records: the comparison is void"
    if cmp -s "$CASE_DIR/ant" "$CASE_DIR/nat"; then
        fail "antwerp's $n records come in national's order: the bodies can link them one by one"
    fi
    # each file in its body's own key order: the order follows from the key alone
    keys "$nat" >"$CASE_DIR/nat.keys"
    LC_ALL=C sort -c "$CASE_DIR/nat.keys" 2>/dev/null || fail "national's records are not in episode key order"
    # the same key, a fresh state database: the same order
    run_setup "$CASE_DIR/again"
    tdi_try "$CASE_DIR/again/run" 0 run --config "$CASE_DIR/again/tdi.conf" --year 2025
    keys "$(one_file "$CASE_DIR/again/out/national/tdi-national-2025-*.xml.gz")" >"$CASE_DIR/again.keys"
    cmp -s "$CASE_DIR/nat.keys" "$CASE_DIR/again.keys" || fail "a rerun with the same key wrote national's records in another order"
}

# attr NAME FILE.xml.gz: the header's attribute NAME ("" when absent).
attr() {
    gzip -dc "$2" | sed -n "s/^<submission .* $1=\"\([^\"]*\)\".*/\1/p" | head -1
}

# Run A's clock is 2 hours fast (the test build's clock hook): it publishes national's sequence 2
# and dies before its commit (the state database refuses the run's files: exit 12). Run B, clock
# right, publishes sequence 2 again with other content. B's run id is the earlier one; a receiver
# that keeps "the later runId" keeps A's stale file. runNo says B's is the later one.
case_rerun_runno() {
    local conf=$CASE_DIR/tdi.conf db a b mf
    clinic_copy clinic_rerun clinic_en
    run_setup "$CASE_DIR"
    db=$(cat "$CASE_DIR/state.db")
    use_db "$conf" riverside clinic_rerun
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025

    pg_sql clinic_rerun -c "UPDATE admissions SET route = 'SMOKE' WHERE adm_id = 3" >/dev/null
    state_sql "$db" "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RAISE EXCEPTION 'refused by the test'; END\$\$" >/dev/null
    state_sql "$db" "CREATE TRIGGER test_refuse BEFORE INSERT ON tdi.run_file FOR EACH STATEMENT EXECUTE FUNCTION test_refuse()" >/dev/null
    TDI_TEST_CLOCK_OFFSET=7200 tdi_try "$CASE_DIR/runA" 12 run --config "$conf" --year 2025
    stderr_has "after publishing the"
    state_sql "$db" "DROP TRIGGER test_refuse ON tdi.run_file" >/dev/null

    pg_sql clinic_rerun -c "UPDATE admissions SET gender = 'F' WHERE adm_id = 2" >/dev/null
    tdi_try "$CASE_DIR/runB" 0 run --config "$conf" --year 2025
    a=$(sed -n 's/^body national: .*sequence 2 -> //p' "$CASE_DIR/runA.out")
    b=$(sed -n 's/^body national: .*sequence 2 -> //p' "$CASE_DIR/runB.out")
    [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] || fail "runs A and B did not both publish national's sequence 2"
    cmp -s <(episode_lines "$a") <(episode_lines "$b") && fail "A's and B's sequence 2 hold the same records"
    [[ "$(attr runId "$b")" < "$(attr runId "$a")" ]] || fail "B's runId is not the earlier one: the clock hook did not work"
    [ -n "$(attr runNo "$a")" ] && [ -n "$(attr runNo "$b")" ] || fail "a submission header has no runNo"
    [ "$(attr runNo "$b")" -gt "$(attr runNo "$a")" ] || fail "B's runNo $(attr runNo "$b") is not above A's $(attr runNo "$a")"
    [ "$(attr runNo "$b")" = "$(ledger "$CASE_DIR" "SELECT max(run_no) FROM tdi.run")" ] || fail "B's runNo is not its ledger run number"
    for mf in "${a%.xml.gz}.manifest.json" "${b%.xml.gz}.manifest.json"; do
        [ "$(json_field "$mf" runNo)" = "$(attr runNo "${mf%.manifest.json}.xml.gz")" ] || fail "$mf: runNo is not the header's"
    done
    mf=$(one_file "$CASE_DIR/out/national/tdi-national-2025-$(attr runId "$b").tables.manifest.json")
    [ "$(json_field "$mf" runNo)" = "$(attr runNo "$b")" ] || fail "the tables manifest has not B's runNo"
    valid_both "$b"
}

it_case order-rerun-runno case_rerun_runno
it_case order-bodies-shuffled case_bodies_shuffled
it_end
