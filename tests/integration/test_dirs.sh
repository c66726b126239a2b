#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The output and work directories are trusted only when only the user running tdi can change
# them, and tdi never follows a symbolic link there (red team finding 7):
#   - a body directory planted as a symbolic link is refused: nothing is written where it points;
#   - symbolic links planted at the predictable temp names are swept, never followed;
#   - an output or work directory writable by others (mode 1777), or owned by another user, is
#     refused with a message naming it: exit 7, nothing read, nothing published.
# The tests run as root: another user is nobody.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# refused DIR WHY: the last run exited 7, named DIR and WHY, and published nothing.
refused() {
    expect_rc 7
    stderr_has "$1: refused as an output or work directory: $2"
    [ -z "$(find "$CASE_DIR/out" -name 'tdi-*' 2>/dev/null)" ] || fail "a file was published: $(find "$CASE_DIR/out" -name 'tdi-*')"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent")" = 0 ] || fail "the refused run recorded what it sent"
}

# out/national is a symbolic link to a directory elsewhere: before, the submission went there.
case_symlink_body() {
    run_setup "$CASE_DIR"
    mkdir -m 0750 "$CASE_DIR/out" "$CASE_DIR/elsewhere"
    ln -s "$CASE_DIR/elsewhere" "$CASE_DIR/out/national"
    tdi_exec "$CASE_DIR/run" run --config "$CASE_DIR/tdi.conf" --year 2025
    refused "$CASE_DIR/out/national" "it is a symbolic link"
    [ -z "$(ls -A "$CASE_DIR/elsewhere")" ] || fail "tdi wrote through the link: $(ls -A "$CASE_DIR/elsewhere")"
    [ -L "$CASE_DIR/out/national" ] || fail "the link is gone"
}

# Symbolic links at the temp names of the next two minutes' runs (the run id is the UTC time):
# before, each blocked its run's publishing ("File exists"). Now the sweep removes them, without
# following them, and the run publishes.
case_symlink_temp() {
    local now t id
    run_setup "$CASE_DIR"
    mkdir -m 0750 "$CASE_DIR/out" "$CASE_DIR/out/national"
    : >"$CASE_DIR/target"
    now=$(date -u +%s)
    for ((t = now; t < now + 120; t++)); do
        id=$(date -u -d "@$t" +%Y%m%dT%H%M%SZ)
        ln -s "$CASE_DIR/target" "$CASE_DIR/out/national/.tdi-national-2025-$id.xml.gz.tmp"
    done
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "tdi: info: removed 120 temp files left by an interrupted run"
    one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz" >/dev/null
    [ -z "$(find "$CASE_DIR/out" -name '.*.tmp')" ] || fail "a planted link is left: $(find "$CASE_DIR/out" -name '.*.tmp' | head -1)"
    [ ! -s "$CASE_DIR/target" ] || fail "tdi wrote through a planted link"
}

# out/ with mode 1777: anyone may plant names in it. Refused; so is a work directory alike.
case_world_writable() {
    run_setup "$CASE_DIR"
    mkdir "$CASE_DIR/out"
    chmod 1777 "$CASE_DIR/out"
    tdi_exec "$CASE_DIR/run" run --config "$CASE_DIR/tdi.conf" --year 2025
    refused "$CASE_DIR/out" "writable by group or others (mode 1777)"
    chmod 0750 "$CASE_DIR/out"
    mkdir -m 0770 "$CASE_DIR/work"
    top_key "$CASE_DIR/tdi.conf" "work_dir = $CASE_DIR/work"
    tdi_exec "$CASE_DIR/run2" run --config "$CASE_DIR/tdi.conf" --year 2025
    refused "$CASE_DIR/work" "writable by group or others (mode 0770)"
}

# out/ (then out/antwerp) owned by another user: refused.
case_other_owner() {
    local uid
    uid=$(id -u nobody)
    run_setup "$CASE_DIR"
    mkdir -m 0755 "$CASE_DIR/out"
    chown nobody "$CASE_DIR/out"
    tdi_exec "$CASE_DIR/run" run --config "$CASE_DIR/tdi.conf" --year 2025
    refused "$CASE_DIR/out" "owned by uid $uid, not by the user running tdi (uid $(id -u))"
    chown "$(id -u)" "$CASE_DIR/out"
    mkdir -m 0755 "$CASE_DIR/out/antwerp"
    chown nobody "$CASE_DIR/out/antwerp"
    tdi_exec "$CASE_DIR/run2" run --config "$CASE_DIR/tdi.conf" --year 2025
    refused "$CASE_DIR/out/antwerp" "owned by uid $uid"
}

it_case dirs-symlink-body case_symlink_body
it_case dirs-symlink-temp case_symlink_temp
it_case dirs-world-writable case_world_writable
it_case dirs-other-owner case_other_owner
it_end
