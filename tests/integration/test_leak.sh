#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# No identifier leaves: after a run on the sample clinics, no name, national number (as written in
# either clinic and digits only), birth date (YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY), street, postcode,
# raw client number, raw episode id or SLK-581 linkage key of any client appears in the
# submissions (decompressed), tables, workbooks (unzipped), the run's page, manifests, quarantine
# files, file names, or the stdout and
# stderr of a --verbose run; nor does a person key of the state database (which links a person
# across bodies). The names and national numbers do reach tdi (the pseudonyms are made
# from them): the fixtures' views hand them over.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

RUN=$IT_TMP/run
NEEDLES=$IT_TMP/needles
CORPUS=$IT_TMP/corpus
PKEYS=$IT_TMP/pkeys

# Identifiers planted in the fixtures, as written there: the test must be able to find them.
PLANTED=(
    'Zebulon' 'Quartermaine' 'Wilhelmina' 'Vandersloot-Ekker' 'Joëlle' 'Ruÿsbroeck'
    '85.07.30-033.28' '85073003328' '90021128429' '1985-07-30' '2017-10-05'
    'Lange Kievitstraat 111' 'Rogierlaan 212 bus 3' 'B-2018 Antwerpen' 'B-1030 Schaarbeek'
    'CL-7781-XQ' 'CL-3310-MB' 'BH-25-0101'
    'B-2018' 'B-2140' 'B-2930'
)
# Derived forms the list below must hold too.
DERIVED=('19850730' '30/07/1985' '85.07.30-033.28' '85073003328' 'Zebulon Quartermaine'
    'UATEB300719851' 'OIVAR010719982' 'B2018' 'B2140')

# Every identifying value of every client of both clinics, with its usual other spellings.
# National numbers: YY.MM.DD-SSS.CC and digits only, whichever way the clinic writes them.
natno_forms="regexp_replace(n, '[^0-9A-Za-z]', '', 'g'),
    regexp_replace(regexp_replace(n, '[^0-9A-Za-z]', '', 'g'),
                   '^(..)(..)(..)(...)(..)$', '\\1.\\2.\\3-\\4.\\5')"
date_forms="to_char(d, 'YYYY-MM-DD'), to_char(d, 'YYYYMMDD'), to_char(d, 'DD/MM/YYYY')"
# SLK-581, for each sex digit: letters 2, 3, 5 of the family name and 2, 3 of the given name
# (A-Z only, diacritics dropped, '2' for a missing letter), then DDMMYYYY.
slk() {
    local f="regexp_replace(upper(translate($1, 'ëÿïéèöüäËŸ', 'eyieeouaEY')), '[^A-Z]', '', 'g')"
    local g="regexp_replace(upper(translate($2, 'ëÿïéèöüäËŸ', 'eyieeouaEY')), '[^A-Z]', '', 'g')"
    printf "%s" "rpad(substr($f, 2, 2), 2, '2') || rpad(substr($f, 5, 1), 1, '2') ||
        rpad(substr($g, 2, 2), 2, '2') || to_char(d, 'DDMMYYYY') || s"
}

write_needles() {
    pg_sql clinic_en -c "
        SELECT unnest(ARRAY[n, $natno_forms, first_name, last_name, first_name || ' ' || last_name,
                            $date_forms, postcode, street, $(slk last_name first_name),
                            split_part(postcode, ' ', 1),
                            replace(split_part(postcode, ' ', 1), '-', '')])
          FROM (SELECT national_no AS n, dob AS d, * FROM patients) p,
               unnest(ARRAY['1', '2', '9']) AS s"
    pg_sql clinic_nl -c "
        SELECT unnest(ARRAY[n, $natno_forms, client_nr, voornaam, achternaam,
                            voornaam || ' ' || achternaam, $date_forms, postcode, adres,
                            $(slk achternaam voornaam), split_part(postcode, ' ', 1),
                            replace(split_part(postcode, ' ', 1), '-', '')])
          FROM (SELECT rrn AS n, geboortedatum AS d, * FROM clienten) c,
               unnest(ARRAY['1', '2', '9']) AS s;
        SELECT behandeling_id FROM behandelingen"
}

case_needles() {
    local s fixtures=("$TDI_FIXTURES/clinic_en.sql" "$TDI_FIXTURES/clinic_nl.sql")
    write_needles | awk 'length($0) >= 4' | LC_ALL=C sort -u >"$CASE_DIR/needles"
    [ "$(wc -l <"$CASE_DIR/needles")" -ge 100 ] || fail "only $(wc -l <"$CASE_DIR/needles") identifiers read from the clinics"
    for s in "${PLANTED[@]}"; do
        LC_ALL=C grep -qF -- "$s" "${fixtures[@]}" || fail "planted identifier '$s' not found in the fixtures"
        LC_ALL=C grep -qxF -- "$s" "$CASE_DIR/needles" || fail "planted identifier '$s' missing from the search list"
    done
    for s in "${DERIVED[@]}"; do
        LC_ALL=C grep -qxF -- "$s" "$CASE_DIR/needles" || fail "derived identifier '$s' missing from the search list"
    done
    # and the search does find them where they are
    LC_ALL=C grep -qF -f "$CASE_DIR/needles" "${fixtures[@]}" || fail "grep -F -f finds nothing in the fixtures"
    mv "$CASE_DIR/needles" "$NEEDLES"
}

# --verbose: the most log lines there can be
case_run() {
    run_setup "$RUN"
    tdi_try "$RUN/run" 0 run --config "$RUN/tdi.conf" --year 2025 --verbose
    local f
    {
        cat "$RUN/run.out" "$RUN/run.err"
        (cd "$RUN/out" && find . -print)
        while IFS= read -r -d '' f; do
            case $f in
            *.gz) gzip -dc "$f" ;;
            # every value of every cell and the document properties (cell references such as
            # B2018 would match postcode needles, so the XML is not searched as it is)
            *.xlsx) /usr/bin/python3 -c 'import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
print("<workbook", wb.properties.creator, wb.properties.title, wb.properties.description)
for ws in wb: print(ws.title, *(c for r in ws.iter_rows(values_only=True) for c in r if c is not None), sep="\n")' "$f" ;;
            *) cat "$f" ;;
            esac
        done < <(find "$RUN/out" -type f -print0)
    } >"$CASE_DIR/corpus"
    [ "$(grep -c '<episode ' "$CASE_DIR/corpus")" -ge 10 ] || fail "the output holds fewer than 10 episodes: nothing to search"
    [ "$(grep -c '^<tables ' "$CASE_DIR/corpus")" = 2 ] || fail "the output does not hold both bodies' tables"
    grep -q '<h1>tdi run ' "$CASE_DIR/corpus" || fail "the output does not hold the run's page"
    [ "$(grep -c '^<workbook' "$CASE_DIR/corpus")" = 2 ] || fail "the output does not hold both workbooks"
    mv "$CASE_DIR/corpus" "$CORPUS"
    # the person keys of the state database (under the state key), without their prefix
    ledger "$RUN" "SELECT DISTINCT encode(person, 'hex') FROM tdi.sent" >"$PKEYS"
}

case_no_identifier() {
    [ -s "$NEEDLES" ] || fail "no search list: leak-needles failed"
    [ -s "$CORPUS" ] || fail "no output to search: leak-run failed"
    if LC_ALL=C grep -oF -f "$NEEDLES" "$CORPUS" >"$CASE_DIR/found"; then
        msg "  identifiers found in the output:"
        LC_ALL=C sort -u "$CASE_DIR/found" | sed 's/^/  | /' >&2
        fail "$(LC_ALL=C sort -u "$CASE_DIR/found" | wc -l) identifier(s) leaked into the output"
    fi
    # The state's person keys link a person across bodies: they stay in the state database.
    [ "$(grep -cE '^[0-9a-f]{64}$' "$PKEYS")" -ge 10 ] || fail "fewer than 10 person keys in the state database"
    if LC_ALL=C grep -oF -f "$PKEYS" "$CORPUS" >"$CASE_DIR/found"; then
        fail "$(LC_ALL=C sort -u "$CASE_DIR/found" | wc -l) person key(s) of the state database in the output"
    fi
}

it_case leak-needles case_needles
it_case leak-run case_run
it_case leak-none case_no_identifier
it_end
