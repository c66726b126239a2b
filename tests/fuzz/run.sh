#!/usr/bin/env bash
# tests/fuzz/run.sh RUNS BIN_DIR [TARGET...]: runs each fuzz target (config, crosswalk, validate,
# or the ones named) for RUNS inputs, starting from the repository's sample files, under
# AddressSanitizer and UndefinedBehaviorSanitizer. Prints "ok fuzz-TARGET: RUNS inputs" or
# "FAIL fuzz-TARGET: ..." with the end of libFuzzer's log; a crashing input is kept as
# BIN_DIR/crash-TARGET-* (reproduce: BIN_DIR/fuzz_TARGET FILE). Exit status 0 when none failed.
# The corpus grows in BIN_DIR/corpus-TARGET across runs.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:?RUNS}
bin=${2:?BIN_DIR}
shift 2
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(config crosswalk validate)

seeds() {
    case $1 in
    config) printf '%s\n' "$root/examples/tdi.conf.in" "$root"/tests/fuzz/seeds/config/* ;;
    crosswalk) printf '%s\n' "$root"/tests/fixtures/crosswalk/* "$root"/examples/crosswalks/* ;;
    validate) printf '%s\n' "$root"/tests/fixtures/xml/* "$root"/tests/fuzz/seeds/validate/* ;;
    esac
}

dict() {
    case $1 in
    validate) printf '%s\n' "$root/tests/fuzz/xml.dict" ;;
    *) printf '%s\n' "$root/tests/fuzz/$1.dict" ;;
    esac
}

# The targets write each input to a scratch file under TMPDIR (tests/fuzz/fuzz_common.h): one
# directory for this run, removed at the end, so no run leaves files in /tmp.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tdi-fuzz.XXXXXX") || exit 1
trap 'rm -rf -- "$scratch"' EXIT

failed=0
for t in "${targets[@]}"; do
    corpus=$bin/corpus-$t log=$bin/fuzz-$t.log
    mkdir -p "$corpus"
    while IFS= read -r f; do cp -n "$f" "$corpus/" 2>/dev/null || true; done < <(seeds "$t")
    # detect_leaks: a reader that leaks on some input fails here like a crash would.
    if TMPDIR=$scratch ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$bin/fuzz_$t" -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -dict="$(dict "$t")" -artifact_prefix="$bin/crash-$t-" -print_final_stats=1 \
        "$corpus" </dev/null >"$log" 2>&1; then
        printf 'ok fuzz-%s: %s inputs (%s in the corpus)\n' "$t" "$runs" "$(find "$corpus" -type f | wc -l)"
    else
        printf 'FAIL fuzz-%s: libFuzzer stopped; log %s:\n' "$t" "$log"
        tail -n 30 "$log" | sed 's/^/  | /'
        failed=1
    fi
done
exit "$failed"
