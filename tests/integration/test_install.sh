#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# `make install` puts the binary, the schemas, tdi(1) and the scheduling examples under PREFIX
# (staged under DESTDIR), and the installed tdi finds its schemas there by default. The man page
# renders without a warning and covers every command and exit code.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# make_install LOG ARGS...: a nested make of this tree, independent of the make running the tests.
make_install() {
    local log=$1
    shift
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$TDI_ROOT" --no-print-directory install "$@" \
        >"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "make install $* failed"; }
}

case_prefix() {
    local p=$CASE_DIR/prefix f
    make_install "$CASE_DIR/make.log" PREFIX="$p"
    for f in bin/tdi share/tdi/schemas/tdi-submission.xsd share/tdi/schemas/tdi-submission-1.xsd share/tdi/schemas/tdi-tables.xsd \
        share/tdi/schemas/tdi-rules.sch share/tdi/schemas/receiver/001-receiver.sql share/tdi/schemas/receiver/002-run-no.sql \
        share/man/man1/tdi.1 share/doc/tdi/operations.md share/doc/tdi/examples/tdi.service \
        share/doc/tdi/examples/tdi.timer share/doc/tdi/examples/tdi.cron; do
        [ -f "$p/$f" ] || fail "not installed: $f"
    done
    [ "$(stat -c %a "$p/bin/tdi")" = 755 ] || fail "the binary is not mode 755"
    "$p/bin/tdi" validate --help >"$CASE_DIR/help" 2>&1
    grep -qF "(default $p/share/tdi/schemas)" "$CASE_DIR/help" || fail "the installed tdi does not default to $p/share/tdi/schemas"
    # from another directory, without --schema-dir: the installed schemas are used
    (cd / && "$p/bin/tdi" validate "$TDI_FIXTURES/xml/valid.xml") >/dev/null 2>"$CASE_DIR/validate.err" ||
        { cat "$CASE_DIR/validate.err" >&2; fail "the installed tdi cannot validate with its own schemas"; }
    grep -qx "ExecStart=$p/bin/tdi run --config /etc/tdi/tdi.conf" "$p/share/doc/tdi/examples/tdi.service" ||
        fail "the installed tdi.service does not run $p/bin/tdi"
    # and again, now that everything is built: nothing changes
    make_install "$CASE_DIR/make2.log" PREFIX="$p"
}

case_destdir() {
    local d=$CASE_DIR/stage
    make_install "$CASE_DIR/make.log" PREFIX=/opt/tdi DESTDIR="$d"
    [ -x "$d/opt/tdi/bin/tdi" ] || fail "no $d/opt/tdi/bin/tdi"
    [ -f "$d/opt/tdi/share/man/man1/tdi.1" ] || fail "no staged man page"
    "$d/opt/tdi/bin/tdi" validate --help 2>&1 | grep -qF "(default /opt/tdi/share/tdi/schemas)" ||
        fail "a staged tdi does not default to PREFIX/share/tdi/schemas"
}

case_man() {
    local out word code
    out=$(groff -man -Tutf8 -ww -z "$TDI_ROOT/docs/tdi.1" 2>&1) || fail "groff failed: $out"
    [ -z "$out" ] || fail "groff warns: $out"
    man -l "$TDI_ROOT/docs/tdi.1" 2>/dev/null | col -b >"$CASE_DIR/man.txt" ||
        groff -man -Tutf8 "$TDI_ROOT/docs/tdi.1" | col -b >"$CASE_DIR/man.txt"
    for word in run init status year validate keygen; do
        grep -qE "^ +tdi $word|^ +$word\$" "$CASE_DIR/man.txt" || fail "the man page does not describe '$word'"
    done
    for code in 0 1 2 3 4 5 6 7 8 9 10 11 12 13; do
        grep -qE "^ +$code +[A-Z]" "$CASE_DIR/man.txt" || fail "the man page has no exit status $code"
    done
}

it_case install-prefix case_prefix
it_case install-destdir case_destdir
it_case install-man case_man
it_end
