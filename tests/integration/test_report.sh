#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031 # cases run indirectly, each in a subshell (it_case)
# The run's page: `tdi run` writes out/report-RUNID.html; headless Chromium loads it and the DOM
# (--dump-dom) holds each source's extracted / written / quarantined equal to the run's summary
# lines; the page is well-formed (xmllint as XML, and as HTML with only the inline SVG's tags
# unknown to its HTML 4 parser), has no script and no external reference; a screenshot is taken
# (TDI_REPORT_SHOT=FILE keeps it). `tdi report --source NAME` gives one clinic's page: no other
# source's name, no body's file. Chromium runs with --no-sandbox (the tests run as root).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
it_begin

RUN=$IT_TMP/run

chrome() {
    command -v chromium >/dev/null || fail "no chromium (make check installs it)"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$CASE_DIR/chrome" "$@" 2>"$CASE_DIR/chrome.err"
}

case_run() {
    run_pipeline "$RUN"
    ls "$RUN"/out/report-*.html >/dev/null 2>&1 || fail "no report-RUNID.html"
    grep -q '^report -> .*/report-[0-9T]*Z\.html$' "$RUN/run.out" || fail "no report line"
}

case_dom() {
    local page src e w q
    page=$(ls "$RUN"/out/report-*.html)
    chrome --dump-dom "file://$page" >"$CASE_DIR/dom.html"
    grep -q '<h1>tdi run ' "$CASE_DIR/dom.html" || fail "Chromium did not render the page"
    for src in "${TDI_SOURCES[@]}"; do
        read -r e w q < <(sed -n "s/^source $src: extracted \([0-9]*\), written \([0-9]*\), quarantined \([0-9]*\)$/\1 \2 \3/p" \
            "$RUN/run.out")
        [ -n "$q" ] || fail "no summary line of source $src"
        grep -q "<td id=\"src-$src-extracted\" class=\"n\">$e</td>" "$CASE_DIR/dom.html" ||
            fail "$src: extracted $e not in the DOM"
        grep -q "<td id=\"src-$src-written\" class=\"n\">$w</td>" "$CASE_DIR/dom.html" ||
            fail "$src: written $w not in the DOM"
        grep -q "<td id=\"src-$src-quarantined\" class=\"n\">$q</td>" "$CASE_DIR/dom.html" ||
            fail "$src: quarantined $q not in the DOM"
    done
    chrome --screenshot="$CASE_DIR/shot.png" --window-size=1100,1500 "file://$page" >/dev/null
    [ -s "$CASE_DIR/shot.png" ] || fail "no screenshot"
    [ -z "${TDI_REPORT_SHOT:-}" ] || cp "$CASE_DIR/shot.png" "$TDI_REPORT_SHOT"
}

case_well_formed() {
    local page
    page=$(ls "$RUN"/out/report-*.html)
    xmllint --noout "$page" 2>"$CASE_DIR/xml.err" || { cat "$CASE_DIR/xml.err" >&2; fail "not well-formed"; }
    xmllint --html --noout "$page" 2>&1 | grep 'error' |
        grep -v 'Tag \(svg\|rect\|text\|g\|title\) invalid' >"$CASE_DIR/html.err" || true
    [ ! -s "$CASE_DIR/html.err" ] || { cat "$CASE_DIR/html.err" >&2; fail "HTML errors"; }
    ! grep -qiE '<script|<link|<img|<iframe|src=|url\(|@import|https?:' \
        <(sed 's|xmlns="http://www.w3.org/2000/svg"||g' "$page") || fail "an external reference or a script"
    # the page's links are the run's own files, relative to the output directory
    grep -o 'href="[^"]*"' "$page" | while read -r h; do
        h=${h#href=\"}
        h=${h%\"}
        [ -f "$RUN/out/$h" ] || fail "link to $h, which is not a published file"
    done
}

case_one_clinic() {
    local src other page
    src=${TDI_SOURCES[0]}
    other=${TDI_SOURCES[1]}
    tdi_try "$CASE_DIR/rep" 0 report --config "$RUN/tdi.conf" --source "$src" -o "$CASE_DIR/one.html"
    page=$CASE_DIR/one.html
    grep -q "id=\"src-$src-written\"" "$page" || fail "its own figures are missing"
    ! grep -q "$other" "$page" || fail "the page names source $other"
    for b in "${TDI_BODIES[@]}"; do
        ! grep -q "tdi-$b-" "$page" || fail "the page shows body $b's files"
    done
    # another run id: a usage error; an unknown source too
    tdi_try "$CASE_DIR/norun" 2 report --config "$RUN/tdi.conf" --run 19990101T000000Z -o "$CASE_DIR/x.html"
    tdi_try "$CASE_DIR/nosrc" 2 report --config "$RUN/tdi.conf" --source nosuch -o "$CASE_DIR/x.html"
    [ ! -e "$CASE_DIR/x.html" ] || fail "a page for nothing"
}

it_case run case_run
it_case dom case_dom
it_case well_formed case_well_formed
it_case one_clinic case_one_clinic
it_end
