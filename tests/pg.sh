#!/usr/bin/env bash
# tests/pg.sh: a throwaway PostgreSQL cluster for the tests and the demo.
#
#   tests/pg.sh start DIR   initdb into DIR/data, start a server on the Unix socket DIR/sock only
#                           (no TCP), write DIR/env (PGHOST, PGPORT: `. DIR/env`)
#   tests/pg.sh load DIR    create the role tdi_reader and the sample clinic databases
#                           (tests/fixtures/clinic_en.sql, clinic_nl.sql)
#   tests/pg.sh stop DIR    stop the server (fast) and remove DIR
#
# Trust authentication, fsync off: for tests only. As root the server runs as the `postgres` OS
# user. A caller that starts a cluster should stop it from a trap on EXIT, INT and TERM.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    msg "usage: $0 start|load|stop DIR"
    exit 2
}

[ "$#" = 2 ] || usage
case $1 in
start) pg_start "$2" ;;
load) pg_load "$2" ;;
stop) pg_stop "$2" ;;
*) usage ;;
esac
