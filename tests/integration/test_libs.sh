#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The libraries tdi loads only when a command first needs them (common/tdi_dl.h): libpq when it
# connects to a database (common/tdi_pq.c), GLPK when it audits a table (disclosure/dc_glpk.c),
# libxlsxwriter when it writes a workbook (report/rpt_xlsx.c). `tdi validate` and `tdi --version`
# map none of them nor what they bring, OpenSSL's libcrypto among it (tdi's own cryptography is
# nettle's; issue 16: start-up no slower than xmllint's); the commands
# that need one load it, and when it cannot be loaded they say so, naming the library, with their
# failure class's exit code.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# traced PREFIX WANT ARGS...: tdi_try with the dynamic loader's trace of tdi alone (LD_DEBUG=files)
# in PREFIX.trace.
traced() {
    local prefix=$1 want=$2 rc=0
    shift 2
    LD_DEBUG=files LD_DEBUG_OUTPUT=$prefix.ld "$TDI" "$@" </dev/null >"$prefix.out" 2>"$prefix.err" || rc=$?
    [ "$rc" = "$want" ] || { sed 's/^/  | /' "$prefix.err" >&2; fail "tdi $* exited $rc, expected $want"; }
    cat "$prefix".ld.* >"$prefix.trace"
}

# loaded PREFIX LIB: the trace in PREFIX.trace opened LIB (an extended regular expression).
loaded() { grep -qE "file=$2 \[" "$1.trace"; }

case_validate_without_libs() {
    traced "$CASE_DIR/validate" 0 validate "$TDI_FIXTURES/xml/valid.xml"
    # the trace is there: the check below can see a library
    loaded "$CASE_DIR/validate" 'libxml2\.so\.2' || fail "LD_DEBUG=files shows no libxml2.so.2"
    if loaded "$CASE_DIR/validate" 'libpq\.so\.5'; then
        fail "tdi validate loaded libpq.so.5"
    fi
    if loaded "$CASE_DIR/validate" 'libgssapi_krb5\.so\.2'; then
        fail "tdi validate loaded libgssapi_krb5.so.2"
    fi
    local lib
    for lib in 'libglpk\.so\.40' 'libxlsxwriter\.so\.4' 'libminizip\.so\.1' 'libcrypto\.so\.3'; do
        if loaded "$CASE_DIR/validate" "$lib"; then
            fail "tdi validate loaded $lib"
        fi
    done
    traced "$CASE_DIR/version" 0 --version
    if loaded "$CASE_DIR/version" 'libpq\.so\.5'; then
        fail "tdi --version loaded libpq.so.5"
    fi
}

case_audit_loads_glpk() {
    traced "$CASE_DIR/audit" 0 audit-tables "$TDI_FIXTURES/tables-protected.xml"
    loaded "$CASE_DIR/audit" 'libglpk\.so\.40' || fail "tdi audit-tables did not load libglpk.so.40"
    if loaded "$CASE_DIR/audit" 'libxlsxwriter\.so\.4'; then
        fail "tdi audit-tables loaded libxlsxwriter.so.4"
    fi
    TDI_TEST_LIBGLPK=libglpk-not-installed.so.40 tdi_try "$CASE_DIR/missing" 11 audit-tables \
        "$TDI_FIXTURES/tables-protected.xml"
    stderr_has "disclosure: the linear-programming library libglpk-not-installed.so.40 cannot be loaded"
    stderr_has "(Debian: apt-get install libglpk40)"
}

case_workbook_loads_xlsxwriter() {
    local out=$CASE_DIR/fixture.xlsx
    traced "$CASE_DIR/wb" 0 workbook "$TDI_FIXTURES/tables-protected.xml" -o "$out"
    loaded "$CASE_DIR/wb" 'libxlsxwriter\.so\.4' || fail "tdi workbook did not load libxlsxwriter.so.4"
    [ -s "$out" ] || fail "no workbook written"
    TDI_TEST_LIBXLSXWRITER=libxlsxwriter-not-installed.so.4 tdi_try "$CASE_DIR/missing" 7 \
        workbook "$TDI_FIXTURES/tables-protected.xml" -o "$CASE_DIR/missing.xlsx"
    stderr_has "$CASE_DIR/missing.xlsx: cannot write the workbook: the spreadsheet library libxlsxwriter-not-installed.so.4 cannot be loaded"
    stderr_has "(Debian: apt-get install libxlsxwriter4)"
    [ ! -e "$CASE_DIR/missing.xlsx" ] || fail "a workbook was written without the library"
    local left
    for left in "$CASE_DIR"/.*.tmp "$CASE_DIR"/*.tmp; do
        [ ! -e "$left" ] || fail "a temp file was left: $left"
    done
}

case_database_loads_libpq() {
    run_setup "$CASE_DIR"
    traced "$CASE_DIR/status" 0 status --config "$CASE_DIR/tdi.conf"
    loaded "$CASE_DIR/status" 'libpq\.so\.5' || fail "tdi status did not load libpq.so.5"
}

# The test build's TDI_TEST_LIBPQ names the library to load instead of libpq.so.5.
case_libpq_missing() {
    local lib=libpq-not-installed.so.5
    run_setup "$CASE_DIR"
    TDI_TEST_LIBPQ=$lib tdi_try "$CASE_DIR/status" 12 status --config "$CASE_DIR/tdi.conf"
    stderr_has "state database: connecting failed: the PostgreSQL client library $lib cannot be loaded"
    stderr_has "(Debian: apt-get install libpq5)"
    TDI_TEST_LIBPQ=$lib tdi_try "$CASE_DIR/run" 12 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "$lib cannot be loaded"
    # validate does not need it
    TDI_TEST_LIBPQ=$lib tdi_try "$CASE_DIR/validate" 0 validate "$TDI_FIXTURES/xml/valid.xml"
}

it_case validate-without-libs case_validate_without_libs
it_case libpq-database-loads case_database_loads_libpq
it_case libpq-missing case_libpq_missing
it_case audit-loads-glpk case_audit_loads_glpk
it_case workbook-loads-xlsxwriter case_workbook_loads_xlsxwriter
it_end
