/* cli_workbook: `tdi workbook`, the official TDI form filled in from a tables file. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../report/report.h"

#include <getopt.h>

void cli_workbook_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: tdi workbook [--schema-dir DIR] TABLES.xml -o FILE.xlsx\n\n"
            "Fills the official TDI reporting workbook (the EMCDDA's 2022 form) from a tables\n"
            "file tdi published (tdi-BODY-YEAR-RUNID.tables.xml): every number at its row and\n"
            "column of the form, suppressed cells as \"c\" on grey, the collection year, body,\n"
            "year of treatment and counting level in the methodological cells. The tables file\n"
            "is checked against its schema first. FILE is replaced atomically.\n\n"
            "  -o, --output FILE  the workbook to write (required)\n"
            "  --schema-dir DIR   schemas and the workbook layout (default %s)\n"
            "  -h, --help         this text\n",
            tdi_default_schema_dir());
}

tdi_status cli_workbook(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"schema-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *schema_dir = tdi_default_schema_dir(), *output = NULL;
    report_workbook_info info;
    tdi_status st;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 's':
            schema_dir = optarg;
            break;
        case 'h':
            cli_workbook_usage(stdout);
            return TDI_OK;
        default:
            cli_workbook_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (optind != argc - 1 || !output) {
        fprintf(stderr, "tdi workbook: one tables file and -o FILE are needed\n");
        cli_workbook_usage(stderr);
        return TDI_ERR_USAGE;
    }
    st = report_workbook_write(argv[optind], schema_dir, output, &info);
    if (st == TDI_OK)
        printf("workbook %s %d: %lu numbers, %lu cells suppressed -> %s\n", info.body, info.year,
               info.numbers, info.suppressed, output);
    return st;
}
