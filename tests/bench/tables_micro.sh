#!/usr/bin/env bash
# CPU of the tables' counting alone (tests/bench/tables_micro.c) against a release build's objects.
#   tests/bench/tables_micro.sh [N] [bench|random]     (after make -s -j2 build/release/tdi)
# TREE=DIR: another source tree with its release build (a base to compare with); a base without
# rpt_family_sum(): MICRO_CFLAGS=-DTABLES_MICRO_BASE.
set -euo pipefail
TREE=${TREE:-$PWD}
OUT=$TREE/build/release/tables_micro
objs=$(ls "$TREE"/build/release/report/rpt_{tables,outcome}.o "$TREE"/build/release/{common,disclosure}/*.o)
# shellcheck disable=SC2086,SC2046 # one word per object and library
gcc -std=c11 -O2 -g ${MICRO_CFLAGS:-} -I"$TREE" -o "$OUT" "$PWD/tests/bench/tables_micro.c" $objs \
  $(pkg-config --libs libxml-2.0 zlib libisal libcrypto) -lglpk -pthread -lm
"$OUT" "$@"
