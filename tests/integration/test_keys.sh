#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Keys and pseudonyms, through the real binary:
#   - one key per receiving body, derived from the master key: the same person has another
#     pseudonym in each body's file, the same one in every run; each file names its key id;
#     pseudonyms and key ids equal those computed here with the openssl command line (HKDF, HMAC);
#   - which identifier each pseudonym came from (personKind) and what links across clinics;
#   - a broken HMAC or HKDF (the test build's self-test hook) stops the run with exit 4;
#   - a key file that is missing, too open, not a key, or a directory: a clear error, exit 4,
#     nothing published.
# Needs the test build of tdi (make check's): its self-test hook is compiled in.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

RUN=$IT_TMP/run
MASTER=$(cat "$TDI_FIXTURES/test.key")
CROSS_NID=85073003328 # the person planted in both clinics (clinic_en.sql, clinic_nl.sql)

# hex, unhex, hkdf, hmac, body_key: tests/lib.sh

# The pseudonym body $1 must give the cross person, computed without tdi.
expected_cross() {
    local link digest
    link=$(hkdf "$(printf 'tdi/link/v1' | hex)")
    digest=$( (printf 'tdi/person/nid/v1\000be_rrn\000'; printf '%s' "$CROSS_NID") | hmac "$link")
    printf 'v1:%s\n' "$( (printf 'tdi/person/v1\000'; printf '%s' "$digest" | unhex) | hmac "$(body_key "$1")")"
}

expected_key_id() {
    printf 'tdi/key-id/v1' | hmac "$(body_key "$1")" | unhex | sha256sum | cut -c1-8
}

# persons FILE.xml.gz: "PERSON KIND SOURCE" per episode
persons() {
    episode_lines "$1" | sed -nE 's/.* person="([^"]*)" personKind="([^"]*)" source="([^"]*)".*/\1 \2 \3/p'
}

case_run() {
    run_pipeline "$RUN"
    command -v openssl >/dev/null || fail "no openssl command (make deps installs it)"
}

case_bodies() {
    local body gz want id
    for body in "${TDI_BODIES[@]}"; do
        gz=$(one_file "$RUN/out/$body/tdi-$body-2025-*.xml.gz")
        id=$(gzip -dc "$gz" | sed -n 's/.*<submission [^>]* keyId="\([0-9a-f]*\)".*/\1/p')
        want=$(expected_key_id "$body")
        [ "$id" = "$want" ] || fail "$body: keyId is '$id', openssl says $want"
        [ "$(json_field "${gz%.xml.gz}.manifest.json" keyId)" = "$want" ] || fail "$body: manifest keyId is not $want"
        want=$(expected_cross "$body")
        persons "$gz" >"$CASE_DIR/$body.persons"
        grep -q "^$want nid " "$CASE_DIR/$body.persons" || fail "$body: the cross person's pseudonym is not openssl's $want"
    done
    # national has the cross person's three episodes, in both clinics, under one pseudonym
    want=$(expected_cross national)
    [ "$(grep -c "^$want nid " "$CASE_DIR/national.persons")" = 3 ] || fail "national: the cross person has not 3 episodes"
    [ "$(grep "^$want " "$CASE_DIR/national.persons" | cut -d' ' -f3 | sort -u | tr '\n' ' ')" = "debrug riverside " ] ||
        fail "national: the cross person is not linked across both clinics"
    # Two bodies share no pseudonym and no episode key, though they share episodes.
    for gz in "$RUN"/out/{national,antwerp}/tdi-*-2025-*.xml.gz; do
        episode_lines "$gz" | grep -oE '(key|person)="[^"]*"' | LC_ALL=C sort -u >"$gz.ids"
    done
    [ "$(episode_lines "$(one_file "$RUN/out/antwerp/tdi-antwerp-2025-*.xml.gz")" | wc -l)" -ge 10 ] ||
        fail "antwerp has fewer than 10 episodes: nothing to compare"
    if LC_ALL=C comm -12 "$RUN"/out/national/*.ids "$RUN"/out/antwerp/*.ids | grep -q .; then
        fail "national and antwerp share a pseudonym: the bodies can link each other's records"
    fi
}

# What each pseudonym came from: the fixtures plant one person of each fallback (the national
# numbers include the 24 + 10 persons of the continuing clients and discharges).
case_kinds() {
    local gz
    gz=$(one_file "$RUN/out/national/tdi-national-2025-*.xml.gz")
    persons "$gz" | awk '{ print $2, $3 }' | LC_ALL=C sort | uniq -c | awk '{ print $2, $3, $1 }' >"$CASE_DIR/kinds"
    cat >"$CASE_DIR/want" <<'EOF'
client riverside 1
nid debrug 21
nid riverside 37
slk581 debrug 1
slk581 riverside 2
EOF
    diff -u "$CASE_DIR/want" "$CASE_DIR/kinds" >&2 || fail "person kinds per source differ (- expected, + actual)"
}

# Same key, second run: every body's pseudonyms and key id are the same.
case_stable() {
    local again=$CASE_DIR/again body a b
    run_pipeline "$again"
    for body in "${TDI_BODIES[@]}"; do
        a=$(one_file "$RUN/out/$body/tdi-$body-2025-*.xml.gz")
        b=$(one_file "$again/out/$body/tdi-$body-2025-*.xml.gz")
        diff <(episode_lines "$a" | LC_ALL=C sort) <(episode_lines "$b" | LC_ALL=C sort) >&2 ||
            fail "$body: a second run with the same key gives other episodes"
        [ "$(gzip -dc "$a" | grep -o 'keyId="[^"]*"')" = "$(gzip -dc "$b" | grep -o 'keyId="[^"]*"')" ] ||
            fail "$body: the key id changed between runs"
    done
}

# nothing_published DIR: DIR/out holds no file at all.
nothing_published() {
    local f
    [ -d "$1/out" ] || return 0
    f=$(find "$1/out" -mindepth 1 ! -type d -print -quit)
    [ -z "$f" ] || fail "left in the output directory: ${f#"$1/out"/}"
}

# expect_key_failure DIR MESSAGE: tdi run exits 4 saying exactly MESSAGE, publishing nothing.
expect_key_failure() {
    local dir=$1 message=$2
    tdi_try "$dir/run" 4 run --config "$dir/tdi.conf" --year 2025
    head -n 1 "$dir/run.err" >"$dir/first"
    printf 'tdi: error: %s\n' "$message" | diff -u - "$dir/first" >&2 || fail "not the message expected"
    grep -qx 'tdi: error: run failed (key); nothing of this run was published' "$dir/run.err" ||
        fail "no closing line saying nothing was published"
    nothing_published "$dir"
}

case_self_test() {
    local kind dir
    grep -aq TDI_TEST_BREAK_SELFTEST "$TDI" || fail "$TDI has no self-test hook: run the test build (make check)"
    for kind in hmac hkdf; do
        dir=$CASE_DIR/$kind
        run_setup "$dir"
        TDI_TEST_BREAK_SELFTEST=$kind tdi_try "$dir/run" 4 run --config "$dir/tdi.conf" --year 2025
        case $kind in
        hmac) want="SELF-TEST FAILED: HMAC-SHA256 (RFC 4231 test case 1) gives a wrong result: nettle's HMAC-SHA256 is broken; refusing to run" ;;
        hkdf) want="SELF-TEST FAILED: HKDF-SHA256 (RFC 5869 test case 1) gives a wrong result: nettle's HKDF-SHA256 is broken; refusing to run" ;;
        esac
        printf 'tdi: error: %s\n' "$want" | diff -u - <(head -n 1 "$dir/run.err") >&2 || fail "$kind: not the message expected"
        nothing_published "$dir"
    done
}

case_key_files() {
    local dir
    dir=$CASE_DIR/open
    run_setup "$dir"
    chmod 640 "$dir/tdi.key"
    expect_key_failure "$dir" "$dir/tdi.key: permissions 0640 are too open; use chmod 600"

    dir=$CASE_DIR/wrong
    run_setup "$dir"
    printf 'not a key\n' >"$dir/tdi.key"
    expect_key_failure "$dir" "$dir/tdi.key: key file must hold 64 hex digits (a 32-byte key) and an optional newline"

    dir=$CASE_DIR/missing
    run_setup "$dir"
    rm "$dir/tdi.key"
    expect_key_failure "$dir" "$dir/tdi.key: cannot open key file: No such file or directory"

    dir=$CASE_DIR/directory
    run_setup "$dir"
    rm "$dir/tdi.key"
    mkdir -m 700 "$dir/tdi.key"
    expect_key_failure "$dir" "$dir/tdi.key: key file is not a regular file"

    # No log line ever holds the key.
    grep -rqiF "$MASTER" "$CASE_DIR" --include='*.err' --include='*.out' && fail "the key is in a log" || true
}

it_case keys-run case_run
it_case keys-bodies case_bodies
it_case keys-kinds case_kinds
it_case keys-stable case_stable
it_case keys-self-test case_self_test
it_case keys-files case_key_files
it_end
