#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Failures end with their own exit code (README.md, "Exit codes"), say where the problem is, are
# in the run ledger (a config error is not: it stops before the state database is known), and
# leave no submission and no temp file behind:
#   3 config (FILE:LINE), 4 key, 5 source (a required column named), 6 crosswalk (FILE:LINE),
#   8 invalid (FILE:LINE:).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

case_config_typo() {
    local conf=$CASE_DIR/tdi.conf line
    run_setup "$CASE_DIR"
    line=$(break_line "$conf" '^region +=.*BE100' 'regoin    = BE100')
    tdi_try "$CASE_DIR/run" 3 run --config "$conf" --year 2025
    stderr_has "$conf:$line: unknown setting 'regoin' in [source debrug]"
    no_submission "$CASE_DIR"
    [ "$(run_count "$CASE_DIR")" = 0 ] || fail "a config error left a ledger row"
}

# Bytes that are no text at all, in the middle of a config: one clear error, no crash.
case_config_corrupt() {
    local conf=$CASE_DIR/tdi.conf n
    run_setup "$CASE_DIR"
    n=$(($(wc -l <"$conf") + 1))
    printf '\377\376\000\001garbage\n' >>"$conf"
    tdi_try "$CASE_DIR/run" 3 run --config "$conf" --year 2025
    stderr_has "$conf:$n: line is not valid UTF-8 text"
    no_submission "$CASE_DIR"
    [ "$(run_count "$CASE_DIR")" = 0 ] || fail "a config error left a ledger row"
}

case_config_missing() {
    tdi_try "$CASE_DIR/run" 3 run --config "$CASE_DIR/no-such.conf" --year 2025
    stderr_has "$CASE_DIR/no-such.conf"
}

case_key_mode() {
    run_setup "$CASE_DIR"
    chmod 644 "$CASE_DIR/tdi.key"
    tdi_try "$CASE_DIR/run" 4 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "$CASE_DIR/tdi.key"
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" key 4
}

case_key_missing() {
    run_setup "$CASE_DIR"
    rm "$CASE_DIR/tdi.key"
    tdi_try "$CASE_DIR/run" 4 run --config "$CASE_DIR/tdi.conf" --year 2025
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" key 4
}

# The first source's server is not there (a port nobody listens on): tried retry_attempts times,
# then both bodies (national takes every region, antwerp riverside's) get nothing.
case_source_down() {
    local port
    run_setup "$CASE_DIR"
    port=$(pg_free_port)
    break_line "$CASE_DIR/tdi.conf" '^conninfo.*dbname=clinic_en' \
        "conninfo  = host=$PGHOST port=$port dbname=clinic_en user=tdi_reader connect_timeout=5" >/dev/null
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "source riverside: attempt 1 of 2 failed; trying again in 200 ms"
    stderr_has "source riverside: connecting failed:"
    stdout_has "body national: nothing published: source riverside failed"
    stdout_has "body antwerp: nothing published: source riverside failed"
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" source 5
    [ "$(ledger "$CASE_DIR" "SELECT status, attempts, error LIKE 'source riverside: connecting failed: %' FROM tdi.run_source WHERE source = 'riverside'")" = "source|2|t" ] ||
        fail "the ledger does not say riverside failed to connect after 2 attempts"
}

# The second source's database does not exist: the first source was read, yet no submission is
# published (every body depends on the second); the first source's quarantine file is.
case_source_bad_db() {
    run_setup "$CASE_DIR"
    break_line "$CASE_DIR/tdi.conf" '^conninfo.*dbname=clinic_nl' \
        "conninfo  = host=$PGHOST port=$PGPORT dbname=clinic_gone user=tdi_reader" >/dev/null
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has 'source debrug: connecting failed: connection to server on socket'
    no_submission "$CASE_DIR"
    one_file "$CASE_DIR/out/quarantine/quarantine-riverside-2025-*.tsv" >/dev/null
    expect_last_run "$CASE_DIR" source 5
}

# The source query lacks a required column: exit 5, the column named, nothing published. (A
# missing optional column is no error: every other test runs sources that lack some.)
case_source_required_column() {
    run_setup "$CASE_DIR"
    break_line "$CASE_DIR/tdi.conf" '^query +=.*' \
        'query     = SELECT episode_id, client_id, start_date, sex FROM tdi_episodes' >/dev/null
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has 'tdi: error: source riverside: the source query has no column centre_id (required; see README.md, "Source query")'
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" source 5
}

# An incremental column of no time type (text): refused at the describe step, before any COPY,
# naming the source, the column and its type and what to do; not a 22007 from the first value
# that is no time ('not a time' here), which named neither the column nor the row.
case_source_incremental_text() {
    run_setup "$CASE_DIR"
    break_line "$CASE_DIR/tdi.conf" '^query +=.*' \
        "query     = SELECT t.*, CASE WHEN t.episode_id = (SELECT min(episode_id) FROM tdi_episodes) THEN 'not a time' ELSE '2025-03-01 10:00:00+00' END AS changed_at FROM tdi_episodes t" >/dev/null
    set_source "$CASE_DIR/tdi.conf" riverside incremental changed_at
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025 --verbose
    stderr_has 'tdi: error: source riverside: incremental = changed_at: the column is of type text; a change time must be timestamptz, timestamp or date. Cast it in the source query (changed_at::timestamptz AS changed_at: a value that is no time then fails there) or remove incremental from the config'
    ! grep -q 'SQLSTATE' "$CASE_DIR/run.err" || fail "the run still failed on a value: $(grep SQLSTATE "$CASE_DIR/run.err")"
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" source 5
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
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" crosswalk 6
    [ "$(ledger "$CASE_DIR" "SELECT status, error LIKE '$cw:$line: %' FROM tdi.run_source WHERE source = 'riverside'")" = "crosswalk|t" ] ||
        fail "the ledger does not name the crosswalk line"
}

# A crosswalk that is no text: the run says where, riverside's bodies get nothing.
case_crosswalk_corrupt() {
    local cw=$CASE_DIR/en.cw n
    run_setup "$CASE_DIR"
    n=$(($(wc -l <"$TDI_EXAMPLES/crosswalks/en.cw") + 1))
    { cat "$TDI_EXAMPLES/crosswalks/en.cw"; printf 'sex \377\376 1\n\000\001\002\n'; } >"$cw"
    sed -i "s|^crosswalk *=.*/en.cw\$|crosswalk = $cw|" "$CASE_DIR/tdi.conf"
    tdi_try "$CASE_DIR/run" 6 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "$cw:$n: line is not valid UTF-8 text"
    no_submission "$CASE_DIR"
    expect_last_run "$CASE_DIR" crosswalk 6
}

# Hostile XML given to the validator: an external entity and an entity expansion bomb are refused
# at the DOCTYPE, before anything is resolved or expanded (no ledger: validate needs no state).
case_validate_hostile() {
    local f
    for f in xxe billion-laughs external-dtd; do
        tdi_try "$CASE_DIR/$f" 8 validate "$TDI_FIXTURES/xml/$f.xml"
        stderr_has "$TDI_FIXTURES/xml/$f.xml:2: DOCTYPE not allowed: a submission has no DTD and no entities"
        ! grep -q 'root:' "$CASE_DIR/$f.out" "$CASE_DIR/$f.err" || fail "$f: /etc/passwd was read"
    done
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
    # through a pipe, as with xmllint: read once, so the bytes checked are the bytes given
    tdi_try "$CASE_DIR/validate-pipe" 0 validate <(gzip -dc "$gz")
    tdi_try "$CASE_DIR/validate-pipe-bad" 8 validate <(cat "$bad.gz")
    stderr_has ":$line: Element '{urn:tdi:submission:2}episode', attribute 'sex'"
    gzip -dc "$gz" | "$TDI" validate - >"$CASE_DIR/stdin.out" 2>"$CASE_DIR/stdin.err" ||
        { cat "$CASE_DIR/stdin.err" >&2; fail "zcat FILE | tdi validate - failed"; }
    grep -qxF -- '-: valid' "$CASE_DIR/stdin.out" || fail "standard input was not said valid"
    # an exact age in a 2.2 file: refused by the schema itself, for tdi validate and xmllint alike
    gzip -dc "$gz" >"$CASE_DIR/age.xml"
    line=$(grep -n -m 1 '<episode ' "$CASE_DIR/age.xml" | cut -d: -f1)
    sed -i "${line}s/ age_band=/ age=\"34\" age_band=/" "$CASE_DIR/age.xml"
    tdi_try "$CASE_DIR/validate-age" 8 validate "$CASE_DIR/age.xml"
    stderr_has "$CASE_DIR/age.xml:$line: Element '{urn:tdi:submission:2}episode', attribute 'age': The attribute 'age' is not allowed."
    ! xmllint --noout --nonet --schema "$TDI_ROOT/schemas/tdi-submission.xsd" "$CASE_DIR/age.xml" 2>/dev/null ||
        fail "xmllint accepts an exact age in a 2.2 file"
}

# The attributes tdi validate matches against their patterns in its own code (the key, person,
# source, centre, region and the header's body: report/rpt_xsd.h), each made a near miss in a
# run's file: tdi validate refuses it at its line in libxml2's words, and xmllint, which checks
# the schema as published, refuses it too. Each changed file, the change undone, is valid again.
case_validate_patterns() {
    local gz good=$CASE_DIR/good.xml bad=$CASE_DIR/bad.xml line l attr from to n=0
    run_pipeline "$CASE_DIR"
    gz=$(one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz")
    gzip -dc "$gz" >"$good"
    line=$(grep -n -m 1 '<episode ' "$good" | cut -d: -f1)
    while read -r attr from to; do
        cp "$good" "$bad"
        l=$line
        if [ "$attr" = body ]; then l=2; fi # the header
        sed -i -E "${l}s/ $attr=\"$from/ $attr=\"$to/" "$bad"
        ! cmp -s "$good" "$bad" || fail "$attr: nothing changed"
        tdi_try "$CASE_DIR/validate-$attr" 8 validate "$bad"
        stderr_has "$bad:$l: Element '{urn:tdi:submission:2}"
        stderr_has "attribute '$attr': [facet 'pattern'] The value '"
        ! xmllint --noout --nonet --schema "$TDI_ROOT/schemas/tdi-submission.xsd" "$bad" \
            2>/dev/null || fail "$attr: xmllint accepts what tdi validate refuses"
        n=$((n + 1))
    done <<'EOF_CHANGES'
key e1:([0-9a-f]) e1:F
person v1:([0-9a-f]) v1:g
source ([A-Za-z0-9_-]+) \1.x
centre ([A-Za-z0-9._-]+) \1 x
region ([A-Za-z0-9._-]+) \1\&amp;
body ([A-Za-z0-9_-]+) \1:
EOF_CHANGES
    [ "$n" = 6 ] || fail "$n changes made, not 6"
    tdi_try "$CASE_DIR/validate-good" 0 validate "$good"
}

# One bad cell costs one row, not the source: in a SQL_ASCII clinic database (no encoding check
# on the server), a text birth date that is no date, a start date that is no date and a byte that
# is no UTF-8 each send their row to the quarantine with its rule; the rest is published.
case_source_bad_cells() {
    local db=clinic_ascii cols e1 e2 e3 q
    run_setup "$CASE_DIR"
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
        -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'"
    pg_sql "$db" -f "$TDI_FIXTURES/clinic_en.sql" >/dev/null
    read -r e1 e2 e3 < <(pg_sql "$db" -c "SELECT string_agg(episode_id, ' ') FROM
        (SELECT episode_id FROM tdi_episodes WHERE start_date >= '2025-01-01'
         ORDER BY episode_id LIMIT 3) t")
    pg_sql "$db" -c "UPDATE admissions SET main_substance = E'HERO\\xefNE' WHERE adm_id::text = '$e3'"
    # the dates as text, as a clinic keeping them in text columns has them
    cols=$(pg_sql "$db" -c "SELECT string_agg(CASE column_name
        WHEN 'birth_date' THEN 'CASE WHEN episode_id = ''$e1'' THEN ''1985-02-30'' ELSE birth_date::text END AS birth_date'
        WHEN 'start_date' THEN 'CASE WHEN episode_id = ''$e2'' THEN ''2025-02-30'' ELSE start_date::text END AS start_date'
        ELSE quote_ident(column_name) END, ', ' ORDER BY ordinal_position)
        FROM information_schema.columns WHERE table_name = 'tdi_episodes'")
    use_db "$CASE_DIR/tdi.conf" riverside "$db" "SELECT $cols FROM tdi_episodes"
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    q=$(one_file "$CASE_DIR/out/quarantine/quarantine-riverside-2025-*.tsv")
    grep -qP "^e1:[0-9a-f]{32}\tR008\tbirth_date\tinvalid\t" "$q" || fail "no R008 for the birth date"
    grep -qP "^e1:[0-9a-f]{32}\tR008\tstart_date\tinvalid\t" "$q" || fail "no R008 for the start date"
    grep -qP "^e1:[0-9a-f]{32}\tR019\tprimary_drug\tnot UTF-8\t" "$q" || fail "no R019 for the byte"
    one_file "$CASE_DIR/out/national/tdi-national-2025-*.xml.gz" >/dev/null
    pg_sql postgres -c "DROP DATABASE $db"
}

# A clinic's own function says a patient's name: as a warning while the rows are read, then as
# the error that ends the read. Neither reaches tdi's output, the ledger or `tdi status`: only
# the severity and SQLSTATE do (libpq printed notices to stderr word for word; every class but
# 22 and 23 was shown).
case_source_says_names() {
    local db=clinic_says name='Snarfbottom Yolanthe' e
    run_setup "$CASE_DIR"
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
        -c "CREATE DATABASE $db"
    pg_sql "$db" -f "$TDI_FIXTURES/clinic_en.sql" >/dev/null
    pg_sql "$db" -c "CREATE FUNCTION says(e text, fail boolean) RETURNS text LANGUAGE plpgsql AS \$\$
        BEGIN
            RAISE WARNING 'patient $name of episode %', e;
            IF fail THEN RAISE EXCEPTION 'patient $name is malformed'; END IF;
            RETURN e;
        END \$\$"
    e=$(pg_sql "$db" -c "SELECT min(episode_id::text) FROM tdi_episodes")
    use_db "$CASE_DIR/tdi.conf" riverside "$db" \
        "SELECT * FROM tdi_episodes WHERE says(episode_id::text, false) IS NOT NULL"
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025 --verbose
    stderr_has "source riverside: the server sent a WARNING (SQLSTATE 01000; its text is not shown"
    use_db "$CASE_DIR/tdi.conf" riverside "$db" \
        "SELECT * FROM tdi_episodes WHERE says(episode_id::text, episode_id::text = '$e') IS NOT NULL"
    tdi_try "$CASE_DIR/again" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    stderr_has "failed: SQLSTATE P0001 (the server's message is not shown: it may quote personal data)"
    "$TDI" status --config "$CASE_DIR/tdi.conf" >"$CASE_DIR/status.out" 2>&1
    ledger "$CASE_DIR" "SELECT coalesce(error, '') FROM tdi.run_source" >"$CASE_DIR/ledger.out"
    grep -q 'SQLSTATE P0001' "$CASE_DIR/ledger.out" || fail "the ledger does not hold the failure"
    ! grep -lF Snarfbottom "$CASE_DIR"/run.* "$CASE_DIR"/again.* "$CASE_DIR/status.out" \
        "$CASE_DIR/ledger.out" || fail "the name is in the files above"
    pg_sql postgres -c "DROP DATABASE $db"
}

# The message a source that suddenly reads nothing fails with (check_empty, run/run_read.c).
empty_msg() {
    printf 'source %s: %s, while the bodies hold %s of its episodes of 2025: nothing of it is published. Check the source query and the tables behind it; if the clinic really has no episodes of 2025, run with --allow-empty=%s to delete them' "$1" "$2" "$3" "$1"
}

# riverside's view suddenly gives no rows (a year filter gone wrong) while the bodies hold its 40
# episodes of 2025 (red team, "A view that suddenly returns no rows": every one was deleted from
# every body, exit 0). It fails like a source that cannot be read: exit 5, the count and the way
# out in stderr, the summary, the ledger and `tdi status`; national and antwerp, which it feeds,
# get nothing and keep its episodes, while brussels, fed by debrug alone, gets debrug's one
# change. --allow-empty=riverside then deletes exactly what each body held of riverside, and the
# next run, the bodies holding nothing of it now, reads the empty source without complaint.
case_source_empty() {
    local conf=$CASE_DIR/tdi.conf msg body f k want
    clinic_copy clinic_empty_nl clinic_nl
    run_setup "$CASE_DIR"
    use_db "$conf" debrug clinic_empty_nl
    printf '%s\n' '[body brussels]' 'regions = BE100' >>"$conf"
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    for body in national antwerp; do
        f=$(submissions "$CASE_DIR" "$body")
        episode_lines "$f" | grep -F ' source="riverside" ' | sed 's/.* key="\([^"]*\)".*/<delete key="\1"\/>/' |
            LC_ALL=C sort >"$CASE_DIR/$body.held"
    done
    [ "$(wc -l <"$CASE_DIR/national.held")" = 40 ] || fail "national holds $(wc -l <"$CASE_DIR/national.held") riverside episodes, not 40"

    pg_sql clinic_empty_nl -c "UPDATE behandelingen SET geslacht = 'man' WHERE behandeling_id = 'BH-25-0102'" >/dev/null
    set_source "$conf" riverside query "SELECT * FROM tdi_episodes WHERE start_date >= '2099-01-01'"
    tdi_try "$CASE_DIR/run2" 5 run --config "$conf" --year 2025
    msg=$(empty_msg riverside 'a full read gave no rows' 40)
    stderr_has "tdi: error: $msg"
    stdout_has "source riverside: FAILED after 1 attempt: $msg"
    stdout_has "body national: nothing published: source riverside failed"
    stdout_has "body antwerp: nothing published: source riverside failed"
    for body in national antwerp; do
        [ "$(submissions "$CASE_DIR" "$body" | wc -l)" = 1 ] || fail "$body: run 2 published a file"
    done
    f=$(submissions "$CASE_DIR" brussels | sed -n 2p)
    [ -n "$f" ] || fail "brussels: no file from run 2"
    k=$(episode_key brussels debrug BH-25-0102)
    [ "$(episode_lines "$f" | grep -c .)" = 1 ] && episode_lines "$f" | grep -qF " action=\"replace\" key=\"$k\" " ||
        fail "brussels: run 2 did not send exactly debrug's replace: $(episode_lines "$f")"
    [ -z "$(delete_lines "$f")" ] || fail "brussels: run 2 deletes something"
    expect_last_run "$CASE_DIR" source 5
    [ "$(ledger "$CASE_DIR" "SELECT status || '|' || error FROM tdi.run_source WHERE source = 'riverside' AND run_no = (SELECT max(run_no) FROM tdi.run)")" = "source|$msg" ] ||
        fail "the ledger does not hold riverside's failure"
    "$TDI" status --config "$conf" >"$CASE_DIR/status.out" 2>&1
    grep -qxF "    error: $msg" "$CASE_DIR/status.out" || fail "tdi status does not say why: $(cat "$CASE_DIR/status.out")"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE source = 'riverside' AND body = 'national'")" = 40 ] ||
        fail "national no longer holds riverside's 40 episodes"

    tdi_try "$CASE_DIR/run3" 0 run --config "$conf" --year 2025 --allow-empty=riverside
    stderr_has "source riverside: a full read gave no rows: its 40 episodes of 2025 are deleted from every body (--allow-empty)"
    for body in national antwerp; do
        f=$(submissions "$CASE_DIR" "$body" | sed -n 2p)
        [ -n "$f" ] || fail "$body: no file from run 3"
        delete_lines "$f" | LC_ALL=C sort >"$CASE_DIR/$body.deleted"
        want=$(wc -l <"$CASE_DIR/$body.held")
        cmp -s "$CASE_DIR/$body.held" "$CASE_DIR/$body.deleted" ||
            fail "$body: run 3 deleted $(wc -l <"$CASE_DIR/$body.deleted") episodes, not the $want riverside ones it held"
        [ "$(episode_lines "$f" | grep -vcF ' action="replace" ')" = 0 ] || fail "$body: run 3 appended a record"
    done
    # national's replaces: debrug's change it was not sent in run 2, and the person riverside
    # shared with debrug, whose debrug episode now counts as the entrant
    [ "$(replace_lines "$(submissions "$CASE_DIR" national | sed -n 2p)" | grep -c .)" = 2 ] ||
        fail "national: run 3 did not send 2 replaces"
    [ "$(ledger "$CASE_DIR" "SELECT count(*) FROM tdi.sent WHERE source = 'riverside'")" = 0 ] ||
        fail "the bodies still hold riverside's episodes"

    tdi_try "$CASE_DIR/run4" 0 run --config "$conf" --year 2025
    stdout_has "source riverside: extracted 0, written 0, quarantined 0"
    pg_sql postgres -c "DROP DATABASE clinic_empty_nl"
}

# A full read whose every row is quarantined deletes what the bodies hold as surely as one that
# reads nothing (a held episode whose row breaks a rule now is deleted): a centre_id column gone
# NULL (R001 for all 47 rows) fails riverside too, and no quarantine file of it is published: the
# message names the rule that quarantined most.
case_source_empty_quarantined() {
    local conf=$CASE_DIR/tdi.conf msg body
    run_setup "$CASE_DIR"
    tdi_try "$CASE_DIR/run1" 0 run --config "$conf" --year 2025
    set_source "$conf" riverside query "SELECT episode_id, client_id, national_id, NULL::text AS centre_id, start_date, end_date FROM tdi_episodes"
    tdi_try "$CASE_DIR/run2" 5 run --config "$conf" --year 2025
    msg=$(empty_msg riverside 'a full read gave no records (all 47 rows quarantined, most by R001: 47)' 40)
    stderr_has "tdi: error: $msg"
    stdout_has "source riverside: FAILED after 1 attempt: $msg"
    for body in national antwerp; do
        [ "$(submissions "$CASE_DIR" "$body" | wc -l)" = 1 ] || fail "$body: run 2 published a file"
    done
    [ "$(compgen -G "$CASE_DIR/out/quarantine/quarantine-riverside-2025-*.tsv" | wc -l)" = 1 ] ||
        fail "run 2 published a quarantine file of riverside"
    expect_last_run "$CASE_DIR" source 5
}

# A new source (the bodies hold nothing of it) that reads no rows is no error.
case_source_empty_new() {
    run_setup "$CASE_DIR"
    set_source "$CASE_DIR/tdi.conf" riverside query 'SELECT * FROM tdi_episodes WHERE false'
    tdi_try "$CASE_DIR/run" 0 run --config "$CASE_DIR/tdi.conf" --year 2025
    stdout_has "source riverside: extracted 0, written 0, quarantined 0"
    ! grep -q 'allow-empty' "$CASE_DIR/run.err" || fail "a new empty source was warned about"
}

# --allow-empty names sources of the config: a name that is none is a typo, refused before the
# run (exit 2, no ledger row); a comma list and the option given twice are both taken.
case_source_empty_option() {
    run_setup "$CASE_DIR"
    tdi_try "$CASE_DIR/typo" 2 run --config "$CASE_DIR/tdi.conf" --year 2025 --allow-empty=rivrside
    stderr_has "tdi run: --allow-empty: $CASE_DIR/tdi.conf has no source 'rivrside'"
    tdi_try "$CASE_DIR/blank" 2 run --config "$CASE_DIR/tdi.conf" --year 2025 --allow-empty=riverside,
    stderr_has "tdi run: --allow-empty wants source names, as in --allow-empty=riverside,debrug, not 'riverside,'"
    [ "$(run_count "$CASE_DIR")" = 0 ] || fail "a refused option left a ledger row"
    tdi_try "$CASE_DIR/list" 0 run --config "$CASE_DIR/tdi.conf" --year 2025 --allow-empty=riverside,debrug
    tdi_try "$CASE_DIR/twice" 0 run --config "$CASE_DIR/tdi.conf" --year 2025 --allow-empty riverside --allow-empty=debrug
}

it_case errors-config-typo case_config_typo
it_case errors-config-corrupt case_config_corrupt
it_case errors-config-missing case_config_missing
it_case errors-key-mode case_key_mode
it_case errors-key-missing case_key_missing
it_case errors-source-down case_source_down
it_case errors-source-bad-db case_source_bad_db
it_case errors-source-required-column case_source_required_column
it_case errors-source-incremental-text case_source_incremental_text
it_case errors-source-bad-cells case_source_bad_cells
it_case errors-source-says-names case_source_says_names
it_case errors-source-empty case_source_empty
it_case errors-source-empty-quarantined case_source_empty_quarantined
it_case errors-source-empty-new case_source_empty_new
it_case errors-source-empty-option case_source_empty_option
it_case errors-crosswalk-bad-code case_crosswalk_bad_code
it_case errors-crosswalk-corrupt case_crosswalk_corrupt
it_case errors-validate-hostile case_validate_hostile
it_case errors-validate-invalid case_validate_invalid
it_case errors-validate-patterns case_validate_patterns
it_end
