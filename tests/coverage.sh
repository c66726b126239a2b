#!/usr/bin/env bash
# tests/coverage.sh OBJDIR FLOORS DIR...: line coverage of the product's files in each DIR from
# the gcov data under OBJDIR (`make coverage` runs the unit tests first), one line per file and
# per folder and the total; then checks each folder against its floor in FLOORS ("folder
# minimum-percent" lines, # comments). Exit status 1, naming the folder, when one is under it.
set -euo pipefail
objdir=$1 floors=$2
shift 2
filters=()
for d in "$@"; do filters+=(--filter "$d/"); done

csv=$(gcovr --root . --csv "${filters[@]}" "$objdir")
# gcovr's CSV: filename,line_total,line_covered,... (one row per source file).
printf '%s\n' "$csv" | awk -F, -v floors="$floors" '
    NR == 1 { next }
    {
        dir = $1; sub(/\/[^\/]*$/, "", dir)
        printf "%-32s %5d / %5d lines  %5.1f%%\n", $1, $3, $2, $2 ? 100 * $3 / $2 : 100
        total[dir] += $2; covered[dir] += $3; all += $2; allc += $3
    }
    END {
        print ""
        for (d in total) printf "%-32s %5d / %5d lines  %5.1f%%\n", d "/", covered[d], total[d], 100 * covered[d] / total[d] | "sort"
        close("sort")
        printf "%-32s %5d / %5d lines  %5.1f%%\n", "total", allc, all, all ? 100 * allc / all : 100
        bad = 0
        while ((getline line < floors) > 0) {
            if (line ~ /^[ \t]*(#|$)/) continue
            split(line, f, /[ \t]+/)
            pct = f[1] == "total" ? (all ? 100 * allc / all : 100) \
                : (f[1] in total ? 100 * covered[f[1]] / total[f[1]] : 0)
            if (pct < f[2]) {
                printf "coverage: %s is at %.1f%%, under its floor of %s%% (%s)\n", f[1], pct, f[2], floors
                bad = 1
            }
        }
        exit bad
    }'
