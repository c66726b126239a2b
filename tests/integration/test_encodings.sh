#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# Clinic databases in an encoding other than UTF-8: tdi reads their bytes as stored and converts
# each cell with iconv (extract/ex_conv.c), so one byte the encoding cannot convert costs its row
# (R019), not the source, and what converts gives the same UTF-8, hence the same pseudonyms, as
# the server's own conversion would.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

# enc_clinic DB ENCODING: clinic_en loaded into a new database of ENCODING, with the view
# tdi_enc: tdi_episodes whose [client] person (patient 12, keyed by the client id) has the client
# id $ENC_ID (UTF-8 here), a literal of the view, so stored in ENCODING.
enc_clinic() {
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
        -c "CREATE DATABASE $1 TEMPLATE template0 ENCODING '$2' LC_COLLATE 'C' LC_CTYPE 'C'"
    pg_sql "$1" -f "$TDI_FIXTURES/clinic_en.sql" >/dev/null
    local -x PGCLIENTENCODING=UTF8 # psql sends $ENC_ID as UTF-8 whatever the locale
    pg_sql "$1" -c "CREATE VIEW tdi_enc AS SELECT $(pg_sql "$1" -c "SELECT string_agg(CASE column_name
        WHEN 'client_id' THEN 'CASE WHEN client_id = ''12'' THEN ''$ENC_ID'' ELSE client_id END AS client_id'
        ELSE quote_ident(column_name) END, ', ' ORDER BY ordinal_position)
        FROM information_schema.columns WHERE table_name = 'tdi_episodes'") FROM tdi_episodes" \
        -c "GRANT SELECT ON tdi_enc TO $TDI_READER"
}

# enc_run DIR DB: a run of 2025 with riverside reading DB's tdi_enc; exit 0.
enc_run() {
    run_setup "$1"
    use_db "$1/tdi.conf" riverside "$2" "SELECT * FROM tdi_enc"
    tdi_try "$1/run" 0 run --config "$1/tdi.conf" --year 2025 --verbose
}

# The person pseudonym of riverside's episode $2 in run directory $1's national file.
person_of() {
    local key line
    key=$(episode_key national riverside "$2")
    line=$(episode_lines "$(one_file "$1/out/national/tdi-national-2025-*.xml.gz")" | grep -F " key=\"$key\"") ||
        fail "episode $2 is not in $1's national file"
    printf '%s\n' "$line" | sed -n 's/.* person="\([^"]*\)".*/\1/p'
}

# enc_compare ENCODING DB_ENC ICONV: runs the UTF-8 twin (DB_ENC_utf8, the same rows) and DB_ENC; both
# publish the same episodes, the [client] person under the same pseudonym; tdi converted DB_ENC
# (with iconv's ICONV).
enc_compare() {
    local enc=$1 db=$2 utf=${2}_utf8 p_enc p_utf
    enc_run "$CASE_DIR/utf8" "$utf"
    enc_run "$CASE_DIR/enc" "$db"
    stderr_has "source riverside: server encoding $enc: read as stored, converted to UTF-8 by tdi (iconv $3)"
    diff <(episode_lines "$(one_file "$CASE_DIR/utf8/out/national/tdi-national-2025-*.xml.gz")") \
        <(episode_lines "$(one_file "$CASE_DIR/enc/out/national/tdi-national-2025-*.xml.gz")") ||
        fail "the $enc source's episodes differ from the UTF-8 source's"
    p_utf=$(person_of "$CASE_DIR/utf8" 12)
    p_enc=$(person_of "$CASE_DIR/enc" 12)
    [ -n "$p_utf" ] && [ "$p_enc" = "$p_utf" ] ||
        fail "client id $ENC_ID: $p_enc from $enc, $p_utf from UTF-8"
}

# A WIN1252 clinic: 0x81 (no character in WIN1252) in one row's primary drug, é (0xE9) in a
# client id. The run succeeds; that row alone goes to quarantine with R019, named by its key and
# column; every other episode is published as from a UTF-8 copy of the same rows, the é person
# under the same pseudonym. (Before: SQLSTATE 22P05 failed the whole source.)
case_win1252() {
    local db=clinic_win1252 e q
    ENC_ID='Clé-12'
    enc_clinic "$db" WIN1252
    enc_clinic "${db}_utf8" UTF8
    [ "$(pg_sql "$db" -c "SELECT encode(convert_to(client_id, 'WIN1252'), 'hex') FROM tdi_enc
        WHERE episode_id = '12'")" = 436ce92d3132 ] || fail "é is not stored as 0xE9"
    e=$(pg_sql "$db" -c "SELECT min(adm_id) FROM admissions WHERE admitted_on >= '2025-01-01'
        AND admitted_on < '2026-01-01' AND adm_id <> 12")
    pg_sql "$db" -c "UPDATE admissions SET main_substance = E'HERO\\x81NE' WHERE adm_id = $e"
    [ "$(pg_sql "$db" -c "SELECT encode(convert_to(main_substance, 'WIN1252'), 'hex')
        FROM admissions WHERE adm_id = $e")" = 4845524f814e45 ] || fail "0x81 is not stored"
    # the twin without that row (to the year 2030), so that both publish the same episodes
    pg_sql "${db}_utf8" -c "UPDATE admissions SET admitted_on = '2030-01-01' WHERE adm_id = $e"
    enc_compare WIN1252 "$db" CP1252
    q=$(one_file "$CASE_DIR/enc/out/quarantine/quarantine-riverside-2025-*.tsv")
    [ "$(grep -cP "\tR019\t" "$q")" = 1 ] || fail "not one R019 in $q"
    grep -qP "^e1:[0-9a-f]{32}\tR019\tprimary_drug\tnot convertible\t" "$q" ||
        fail "no R019 for the byte 0x81: $(grep R019 "$q")"
    ! grep -qF "$(printf 'HERO\x81NE')" "$CASE_DIR"/enc/run.* "$q" || fail "the cell is echoed"
    pg_sql postgres -c "DROP DATABASE $db" -c "DROP DATABASE ${db}_utf8"
}

# A multi-byte encoding: a client id in katakana stored as EUC_JP.
case_euc_jp() {
    local db=clinic_eucjp
    ENC_ID='クライアント-12'
    enc_clinic "$db" EUC_JP
    enc_clinic "${db}_utf8" UTF8
    [ "$(pg_sql "$db" -c "SELECT encode(convert_to(client_id, 'EUC_JP'), 'hex') FROM tdi_enc
        WHERE episode_id = '12'")" = a5afa5e9a5a4a5a2a5f3a5c82d3132 ] || fail "not stored as EUC_JP"
    enc_compare EUC_JP "$db" EUC-JP-MS
    pg_sql postgres -c "DROP DATABASE $db" -c "DROP DATABASE ${db}_utf8"
}

# conv_check DB ENC ICONV: every sequence of seqs of ENC converted by PostgreSQL (convert_from
# in DB, a UTF8 database; empty when it refuses) and by glibc's iconv from ICONV (iconv -c: empty
# when it refuses), compared. Prints "ENC HEX pg=UTF8HEX iconv=UTF8HEX" for each difference where
# PostgreSQL converts (iconv refusing a byte PostgreSQL refuses too, or converting one it refuses,
# changes no pseudonym tdi has made); returns 1 when there is one.
conv_check() {
    local db=$1 enc=$2 name=$3 dir=$CASE_DIR/$2
    mkdir -p "$dir"
    pg_sql "$db" -c "SELECT encode(b, 'hex') || E'\t' || coalesce(conv(b, '$enc'), '')
        FROM seqs WHERE enc = '$enc' ORDER BY n" >"$dir/pg"
    cut -f1 "$dir/pg" | sed 's/$/0a/' | xxd -r -p | iconv -c -f "$name" -t UTF-8 >"$dir/iconv" 2>/dev/null || true
    [ "$(wc -l <"$dir/pg")" = "$(wc -l <"$dir/iconv")" ] || fail "$enc: iconv gave $(wc -l <"$dir/iconv") lines of $(wc -l <"$dir/pg")"
    paste "$dir/pg" "$dir/iconv" | awk -F'\t' -v enc="$enc" '
        $2 != $3 && $2 != "" { bad = 1; printf "%s %s pg=%s iconv=%s\n", enc, $1, $2, $3 }
        END { exit bad }'
}

# glibc's iconv gives the UTF-8 PostgreSQL gives, for each encoding ex_conv.c converts: every byte
# 0x80-0xFF and every pair of them of a single-byte encoding (the pairs catch iconv composing a
# letter and an accent), every 2-byte (and the 3- and 4-byte prefixed) sequence of an EUC one. So a
# client id keeps its pseudonym whichever side converts. The table's names are read from the
# source: what tdi uses is what is checked.
case_iconv_agrees() {
    local db=enc_check pg name n=0 bad=0
    pg_sql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
        -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    pg_sql "$db" <<'SQL'
CREATE FUNCTION conv(b bytea, enc name) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN RETURN convert_from(b, enc); EXCEPTION WHEN others THEN RETURN NULL; END$$;
CREATE TABLE seqs (enc text, n bigint, b bytea);
CREATE FUNCTION hx(VARIADIC v int[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS
  $$SELECT decode(string_agg(lpad(to_hex(x), 2, '0'), '' ORDER BY i), 'hex')
    FROM unnest(v) WITH ORDINALITY AS u(x, i)$$;
-- single bytes and their pairs (the bytes PostgreSQL converts) of a single-byte encoding
CREATE FUNCTION single(e text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO seqs SELECT e, b, hx(b) FROM generate_series(128, 255) b;
  INSERT INTO seqs SELECT e, 256 * x.b + y.b, hx(x.b, y.b)
    FROM generate_series(128, 255) x(b), generate_series(128, 255) y(b)
   WHERE conv(hx(x.b), e) IS NOT NULL AND conv(hx(y.b), e) IS NOT NULL$$;
-- the 94 x 94 sequences after prefix p (none, 0x8E, 0x8F, 0x8E 0xA1-0xB0), and 0x8E's kana
CREATE FUNCTION multi(e text, p int[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO seqs SELECT e, 65536 * coalesce(p[array_upper(p, 1)], 0) + 256 * x + y,
         coalesce(hx(VARIADIC p), '') || hx(x, y)
    FROM generate_series(161, 254) x, generate_series(161, 254) y$$;
SQL
    while read -r pg name; do
        case $pg in # (the void results: one empty line each)
        EUC_JP | EUC_JIS_2004)
            pg_sql "$db" -c "SELECT multi('$pg', '{}'), multi('$pg', '{143}')" \
                -c "INSERT INTO seqs SELECT '$pg', 142 * 256 + b, hx(142, b) FROM generate_series(161, 223) b" ;;
        EUC_TW) pg_sql "$db" -c "SELECT multi('$pg', '{}'), multi('$pg', ARRAY[142, p]) FROM generate_series(161, 176) p" ;;
        EUC_*) pg_sql "$db" -c "SELECT multi('$pg', '{}')" ;;
        *) pg_sql "$db" -c "SELECT single('$pg')" ;;
        esac >/dev/null
        conv_check "$db" "$pg" "$name" >>"$CASE_DIR/differ" || bad=$((bad + 1))
        awk -F'\t' -v enc="$pg" '$2 == "" && $3 != "" { n++ } END { print enc, n + 0 }' \
            <(paste "$CASE_DIR/$pg/pg" "$CASE_DIR/$pg/iconv") >>"$CASE_DIR/iconv-only"
        n=$((n + 1))
    done < <(sed -n 's/^ *{"\([A-Z0-9_]*\)", "\([A-Z0-9-]*\)"},.*/\1 \2/p' "$TDI_ROOT/extract/ex_conv.c")
    [ "$n" -ge 20 ] || fail "only $n encodings read from extract/ex_conv.c"
    [ "$bad" = 0 ] || fail "$bad encodings differ: $(awk '{print $1}' "$CASE_DIR/differ" | uniq -c | tr '\n' ' ')"
    pg_sql postgres -c "DROP DATABASE $db"
}

# The server's own message comes in the source's encoding once tdi reads as stored: a query naming
# a table "tdi_épisodes" that does not exist (42P01, a class whose message tdi shows) gives é as
# the byte 0xE9. Every log line, the ledger's error and tdi status are still UTF-8 (a byte that is
# not becomes '?'), and the run records the failed source (exit 5), not a failed ledger write.
case_server_message() {
    local db=clinic_win1252_msg
    ENC_ID='12'
    enc_clinic "$db" WIN1252
    run_setup "$CASE_DIR"
    use_db "$CASE_DIR/tdi.conf" riverside "$db" 'SELECT * FROM "tdi_épisodes"'
    tdi_try "$CASE_DIR/run" 5 run --config "$CASE_DIR/tdi.conf" --year 2025
    iconv -f UTF-8 -t UTF-8 "$CASE_DIR/run.err" >/dev/null || fail "stderr is not UTF-8: $(cat -v "$CASE_DIR/run.err")"
    stderr_has 'relation "tdi_?pisodes" does not exist'
    [ "$(ledger "$CASE_DIR" "SELECT status, error LIKE '%relation \"tdi_?pisodes\" does not exist%' FROM tdi.run_source WHERE source = 'riverside'")" = "source|t" ] ||
        fail "the ledger does not hold riverside's failure: $(ledger "$CASE_DIR" "SELECT status, error FROM tdi.run_source")"
    expect_last_run "$CASE_DIR" source 5
    pg_sql postgres -c "DROP DATABASE $db"
}

it_case encodings-iconv-agrees case_iconv_agrees
it_case encodings-win1252 case_win1252
it_case encodings-euc-jp case_euc_jp
it_case encodings-server-message case_server_message
it_end
