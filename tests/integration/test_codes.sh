#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The submission schema accepts exactly the codes of common/tdi_codes.c in each coded attribute,
# as auditors check it (xmllint --sax --schema, libxml2's streaming validator):
#   - the code lists are read from common/tdi_codes.c itself (34 items, 359 codes);
#   - per coded attribute, a file with one episode per code validates;
#   - a file with one episode per near miss (blanks around a code, a character more, less or
#     replaced, case variants, the codes of the other lists) gets exactly one error per episode,
#     naming the attribute.
# tests/unit/test_code_values.c checks the same through tdi's validator. SCHEMA_DIR overrides the
# schema directory (to run these cases against another version of the schema).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

SCHEMA=${SCHEMA_DIR:-$TDI_ROOT/schemas}/tdi-submission.xsd

# "ATTRIBUTE CODE..." per item of common/tdi_codes.c, in item order.
item_codes() {
    awk '
        # code lists: static const tdi_code NAME[] = { {"code", "label"}, ... }; and DRUG_LIST
        /^#define DRUG_LIST/ { cur = "DRUG_LIST" }
        /^static const tdi_code [a-z_]+\[\] = \{/ {
            cur = $4; sub(/\[\]$/, "", cur)
        }
        cur != "" {
            line = $0
            while (match(line, /\{"[^"]*", "/)) {
                list[cur] = list[cur] " " substr(line, RSTART + 2, RLENGTH - 6)
                line = substr(line, RSTART + RLENGTH)
            }
            if (cur != "DRUG_LIST" && $0 ~ /DRUG_LIST[,}]/) list[cur] = list[cur] list["DRUG_LIST"]
            if ((cur == "DRUG_LIST" && $0 !~ /\\$/) || (cur != "DRUG_LIST" && $0 ~ /\};$/)) cur = ""
        }
        # items: [TDI_ITEM_X] = MAPPED("name", "label", list) | ITEM("name", "label", list, ...)
        #        | SECONDARY("name", "label"), over one to three lines
        /^    \[TDI_ITEM_[A-Z0-9_]+\] =/ { decl = "" }
        /^    \[TDI_ITEM_/, /\),$/ {
            decl = decl $0
            if ($0 ~ /\),$/) {
                match(decl, /\("[a-z0-9_]+"/); name = substr(decl, RSTART + 2, RLENGTH - 3)
                if (decl ~ /SECONDARY\(/) l = "secondary_drug_codes"
                else { match(decl, /[a-z_]+_codes/); l = substr(decl, RSTART, RLENGTH) }
                print name list[l]
            }
        }
    ' "$TDI_ROOT/common/tdi_codes.c"
}

# The coded attributes that are not items, with their values.
other_codes() {
    printf '%s\n' "personKind nid slk581 client" "entrant 1 0" "action append replace"
}

# near_misses CODE...: one per line, the codes of the list excepted.
near_misses() {
    local -A own=()
    local c k x
    for c in "$@"; do own["$c"]=1; done
    {
        printf '\n'
        for c in "$@"; do
            printf '%s\n' " $c" "$c " "0$c" "${c}0" "$c." "${c}x" "+$c" "${c}9" "$c.10" \
                "${c:0:${#c}-1}" "${c:1}" "${c^^}" "${c^}"
            for ((k = 0; k < ${#c}; k++)); do
                x=x
                [ "${c:k:1}" != x ] || x=y
                printf '%s\n' "${c:0:k}$x${c:k+1}"
            done
        done
        printf '\t%s\n' "$@" # a tab before, as a character reference (below)
        item_codes | cut -d' ' -f2- | tr ' ' '\n'
        other_codes | cut -d' ' -f2- | tr ' ' '\n'
    } | awk '!seen[$0]++' | while IFS= read -r x; do
        [ -n "$x" ] && [ -n "${own[$x]:-}" ] || printf '%s\n' "$x"
    done
}

# doc FILE ATTR < values: one episode per value (lines 4, 5, ...), every other attribute valid
# (each item with its not-known code, the last of its list).
doc() {
    awk -v attr="$2" -v items="$NOT_KNOWN" '
        BEGIN {
            print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            print "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.2\" body=\"b\" year=\"2025\" sequence=\"1\" runId=\"20261123T040000Z\" generated=\"2026-11-23T04:00:00Z\" countingLevel=\"none\">"
            print "<episodes>"
            nf = split("action=append personKind=client source=s centre=c region=r year=2025 entrant=1", fields, " ")
            ni = split(items, lines, "\n")
        }
        {
            v = $0
            gsub(/\t/, "\\&#9;", v)
            printf "<episode key=\"e1:%032x\" person=\"v1:%064x\"", NR, NR
            for (f = 1; f <= nf; f++) {
                split(fields[f], kv, "=")
                printf " %s=\"%s\"", kv[1], kv[1] == attr ? v : kv[2]
            }
            for (i = 1; i <= ni; i++) {
                split(lines[i], kv, " ")
                printf " %s=\"%s\"", kv[1], kv[1] == attr ? v : kv[2]
            }
            print "/>"
        }
        END { print "</episodes>"; print "</submission>" }
    ' >"$1"
}

NOT_KNOWN=$(item_codes | awk '{ print $1, $NF }')

validate() { xmllint --sax --noout --nonet --schema "$SCHEMA" "$1"; }

case_the_lists_are_read() {
    [ "$(item_codes | wc -l)" = 34 ] || fail "$(item_codes | wc -l) items read from tdi_codes.c"
    [ "$(item_codes | awk '{ n += NF - 1 } END { print n }')" = 359 ] ||
        fail "$(item_codes | awk '{ n += NF - 1 } END { print n }') codes read from tdi_codes.c"
    [ "$(item_codes | grep '^secondary_drug_4 ')" = "secondary_drug_4 0 1 1.1 1.2 1.3 1.4 1.5 2 2.1 2.2 2.3 3 3.1 3.2 3.3 3.4 3.5 4 4.1 4.2 4.3 4.4 5 5.1 5.2 5.3 6 7 7.1 7.2 7.3 8 9 99" ] ||
        fail "secondary_drug_4: $(item_codes | grep '^secondary_drug_4 ')"
    [ "$(item_codes | grep '^primary_drug ')" = "primary_drug 1 1.1 1.2 1.3 1.4 1.5 2 2.1 2.2 2.3 3 3.1 3.2 3.3 3.4 3.5 4 4.1 4.2 4.3 4.4 5 5.1 5.2 5.3 6 7 7.1 7.2 7.3 8 9 gambling gaming tobacco other_behaviour 99" ] ||
        fail "primary_drug: $(item_codes | grep '^primary_drug ')"
    [ "$(item_codes | grep '^stay_band ')" = "stay_band 0-7 8-28 29-90 91-180 181-365 366+ open not_known" ] ||
        fail "stay_band: $(item_codes | grep '^stay_band ')"
    [ "$(item_codes | head -1)" = "setting outpatient low_threshold general_practitioner prison residential_community residential_hospital inpatient_detox other not_known" ] ||
        fail "setting: $(item_codes | head -1)"
    near_misses 1 1.1 99 >"$CASE_DIR/misses"
    for x in "" " 1" "1 " "01" "1.10" "1." "99x" "+1" "9" "10" "1x1" $'\t1' "0-14" "nid"; do
        grep -qxF -- "$x" "$CASE_DIR/misses" || fail "near miss '$x' is not tried"
    done
    ! grep -qxF -- "1.1" "$CASE_DIR/misses" || fail "a code of the list is taken for a near miss"
}

case_each_attribute_accepts_exactly_its_codes() {
    local attr codes n errs
    while read -r attr codes; do
        # shellcheck disable=SC2086 # the codes are words
        printf '%s\n' $codes | doc "$CASE_DIR/$attr.xml" "$attr"
        validate "$CASE_DIR/$attr.xml" 2>"$CASE_DIR/$attr.err" ||
            { head -3 "$CASE_DIR/$attr.err" >&2; fail "$attr: a code is refused"; }
        # shellcheck disable=SC2086
        near_misses $codes | doc "$CASE_DIR/$attr-miss.xml" "$attr"
        n=$(($(wc -l <"$CASE_DIR/$attr-miss.xml") - 5))
        if validate "$CASE_DIR/$attr-miss.xml" 2>"$CASE_DIR/$attr-miss.err"; then
            fail "$attr: every near miss accepted"
        fi
        # exactly one error on each episode line 4 .. n+3, each about the attribute
        errs=$(grep -c "^$CASE_DIR/$attr-miss.xml:[0-9]*: Schemas validity error : Element '{urn:tdi:submission:2}episode', attribute '$attr': " "$CASE_DIR/$attr-miss.err" || true)
        [ "$errs" = "$n" ] || fail "$attr: $errs errors for $n near misses"
        [ "$(grep -c 'Schemas validity error' "$CASE_DIR/$attr-miss.err")" = "$n" ] ||
            fail "$attr: errors about something else"
        [ "$(sed -nE 's/^[^:]*:([0-9]+): .*/\1/p' "$CASE_DIR/$attr-miss.err" | sort -n | uniq | wc -l)" = "$n" ] ||
            fail "$attr: a near miss accepted (some line has no error)"
    done < <(item_codes; other_codes)
}

it_case the_lists_are_read case_the_lists_are_read
it_case each_attribute_accepts_exactly_its_codes case_each_attribute_accepts_exactly_its_codes
it_end
