/* cli_audit_tables: `tdi audit-tables`, a received tables file's protection audited by linear
 * programming, without tdi's state. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../report/report.h"

#include <getopt.h>
#include <stdlib.h>

void cli_audit_tables_usage(FILE *fp)
{
    fprintf(
        fp,
        "Usage: tdi audit-tables [--protection N] [--schema-dir DIR] FILE...\n\n"
        "Audits the suppression of each tables file (tdi-BODY-YEAR-RUNID.tables.xml) by\n"
        "linear programming, without tdi's state: for every suppressed cell, the smallest\n"
        "and largest value consistent with the published cells, every relation between\n"
        "cells that tdi's tables define and non-negativity. A cell fails when its interval\n"
        "is narrower than it needs (the protection level, or less where the grand totals\n"
        "alone pin it) and shows a small count. Prints each failing cell as\n"
        "  FILE: table T row R column C: value in [LO, HI], needs N\n"
        "and per file \"FILE: N suppressed cells audited, M fail\". Exit 8 when a cell\n"
        "fails or a file is not a valid tables file.\n\n"
        "  --protection N    the width a suppressed cell needs (default: the file's threshold)\n"
        "  --schema-dir DIR  schemas (default %s)\n"
        "  -h, --help        this text\n",
        tdi_default_schema_dir());
}

tdi_status cli_audit_tables(int argc, char **argv)
{
    static const struct option opts[] = {
        {"protection", required_argument, NULL, 'p'},
        {"schema-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *schema_dir = tdi_default_schema_dir();
    unsigned long protection = 0;
    char *end;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            protection = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || protection == 0 || protection > 1000000) {
                fprintf(stderr, "tdi audit-tables: --protection needs a whole number 1-1000000\n");
                return TDI_ERR_USAGE;
            }
            break;
        case 's':
            schema_dir = optarg;
            break;
        case 'h':
            cli_audit_tables_usage(stdout);
            return TDI_OK;
        default:
            cli_audit_tables_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tdi audit-tables: no tables file given\n");
        cli_audit_tables_usage(stderr);
        return TDI_ERR_USAGE;
    }
    return report_audit_tables(argv + optind, argc - optind, schema_dir, protection, stdout, NULL);
}
