#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Failures end with their own exit code (README.md, "Exit codes"), say where the problem is, and
# leave no submission and no temp file behind:
#   3 config (FILE:LINE), 4 key, 5 source (a required column named), 6 crosswalk (FILE:LINE),
#   8 invalid (FILE:LINE:).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# nothing_published DIR: DIR/out holds no file at all (README: "If any source fails, nothing of the
# run is published"): no submission, manifest, quarantine file or temp file.
nothing_published() {
    local out=$1/out f
    [ -d "$out" ] || return 0
    f=$(find "$out" -mindepth 1 ! -type d -print -quit)
    [ -z "$f" ] || fail "left in the output directory: ${f#"$out"/}"
}

# stderr_has TEXT: the last tdi's stderr contains TEXT.
stderr_has() {
    grep -qF -- "$1" "$TDI_LAST.err" || {
        sed 's/^/  | /' "$TDI_LAST.err" >&2
        fail "stderr does not contain '$1'"
    }
}

# break_line FILE PATTERN REPLACEMENT: replaces the first line matching PATTERN (an ERE) and
# prints its line number.
break_line() {
    local file=$1 pattern=$2 replacement=$3 n
    n=$(grep -nE -m 1 -- "$pattern" "$file" | cut -d: -f1)
    [ -n "$n" ] || fail "no line matching $pattern in $file"
    sed -i "${n}s|.*|$replacement|" "$file"
    printf '%s\n' "$n"
}

case_config_typo() {
    local conf=$CASE_DIR/tdi.conf line
    run_setup "$CASE_DIR"
    line=$(break_line "$conf" '^region +=.*BE100' 'regoin    = BE100')
    tdi_try "$CASE_DIR/run" 3 run --config "$conf" --year 2025
    stderr_has "$conf:$line"
    nothing_published "$CASE_DIR"
}

case_config_missing() {
    tdi_try "$CASE_DIR/run" 3 run --config "$CASE_DIR/no-such.conf" --year 2025
    stderr_has "$CASE_DIR/no-such.conf"
}

case_key_mode() {
    run_setup "$CASE_DIR"
    chmod 644 "$CASE_DIR/tdi.key"
    tdi_try "$CASE_DIR/run" 4 run --config "$CASE_DIR/tdi.conf" --year 2025
    nothing_published "$CASE_DIR"
}

case_key_missing() {
    run_setup "$CASE_DIR"
    rm "$CASE_DIR/tdi.key"
    tdi_try "$CASE_DIR/run" 4 run --config "$CASE_DIR/tdi.conf" --year 2025
    nothing_published "$CASE_DIR"
}

# The first source's server is not there (a port nobody listens on).
case_source_down() {
    local port
    run_setup "$CASE_DIR"
    port=$(pg_free_port)
    break_line "$CASE_DIR/tdi.conf" '^conninfo.*dbname=clinic_en' \
        "conninfo  = host=$PGHOST port=$port dbname=clinic_en user=tdi_reader connect_timeout=5" >/dev/null
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    nothing_published "$CASE_DIR"
}

# The second source's database does not exist: the first source was read, yet nothing is published.
case_source_bad_db() {
    run_setup "$CASE_DIR"
    break_line "$CASE_DIR/tdi.conf" '^conninfo.*dbname=clinic_nl' \
        "conninfo  = host=$PGHOST port=$PGPORT dbname=clinic_gone user=tdi_reader" >/dev/null
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    nothing_published "$CASE_DIR"
}

# The source query lacks a required column: exit 5, the column named, nothing published. (A
# missing optional column is no error: every other test runs sources that lack some.)
case_source_required_column() {
    run_setup "$CASE_DIR"
    break_line "$CASE_DIR/tdi.conf" '^query +=.*' \
        'query     = SELECT episode_id, client_id, start_date, sex FROM tdi_episodes' >/dev/null
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has 'tdi: error: source riverside: the source query has no column centre_id (required; see README.md, "Source query")'
    nothing_published "$CASE_DIR"
}

# A crosswalk line naming a code TDI does not have.
case_crosswalk_bad_code() {
    local cw=$CASE_DIR/en.cw line
    run_setup "$CASE_DIR"
    cp "$TDI_EXAMPLES/crosswalks/en.cw" "$cw"
    line=$(break_line "$cw" '^primary_drug +HEROIN ' 'primary_drug  HEROIN  1.9')
    sed -i "s|^crosswalk *=.*/en.cw\$|crosswalk = $cw|" "$CASE_DIR/tdi.conf"
    tdi_try "$CASE_DIR/run" 6 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "$cw:$line"
    nothing_published "$CASE_DIR"
}

# A submission with one code changed fails `tdi validate` with exit 8 and FILE:LINE: of the change,
# plain and gzipped.
case_validate_invalid() {
    local gz bad=$CASE_DIR/bad.xml line
    run_pipeline "$CASE_DIR"
    gz=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    gzip -dc "$gz" >"$bad"
    line=$(grep -n -m 1 '<episode .* sex="2"' "$bad" | cut -d: -f1)
    [ -n "$line" ] || fail "no episode with sex=\"2\" in the submission"
    sed -i "${line}s/ sex=\"2\"/ sex=\"7\"/" "$bad"
    tdi_try "$CASE_DIR/validate" 8 validate "$bad"
    stderr_has "$bad:$line:"
    gzip -c "$bad" >"$bad.gz"
    tdi_try "$CASE_DIR/validate-gz" 8 validate "$bad.gz"
    stderr_has "$bad.gz:$line:"
    # one bad file among good ones still fails the whole command
    tdi_try "$CASE_DIR/validate-mixed" 8 validate "$gz" "$bad"
}

it_case errors-config-typo case_config_typo
it_case errors-config-missing case_config_missing
it_case errors-key-mode case_key_mode
it_case errors-key-missing case_key_missing
it_case errors-source-down case_source_down
it_case errors-source-bad-db case_source_bad_db
it_case errors-source-required-column case_source_required_column
it_case errors-crosswalk-bad-code case_crosswalk_bad_code
it_case errors-validate-invalid case_validate_invalid
it_end
