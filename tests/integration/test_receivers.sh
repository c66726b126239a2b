#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# What receivers can rely on and what they can learn (red team findings 5 and 6):
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

it_case order-bodies-shuffled case_bodies_shuffled
it_end
