/* cli_validate: `tdi validate`, the auditors' command. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../common/tdi_log.h"
#include "../report/report.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

void cli_validate_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: tdi validate [--schema-dir DIR] [--max-bytes N] FILE...\n\n"
            "Validates .xml and .xml.gz submission and tables files against the XML schema\n"
            "of their root element's namespace, streaming. Every error names the file and\n"
            "line. FILE - is standard input (read once, like any pipe). Exit 0 only when\n"
            "every file is valid, 8 when one is invalid, 7 when one cannot be read.\n\n"
            "  --schema-dir DIR  schemas to use (default %s)\n"
            "  --max-bytes N     refuse a file whose XML (inflated) is over N bytes\n"
            "  -h, --help        this text\n",
            tdi_default_schema_dir());
}

tdi_status cli_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"schema-dir", required_argument, NULL, 's'},
        {"max-bytes", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *schema_dir = tdi_default_schema_dir();
    unsigned long long max_bytes = 0;
    char *end;
    tdi_status worst = TDI_OK;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            schema_dir = optarg;
            break;
        case 'm':
            errno = 0;
            max_bytes = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || max_bytes == 0) {
                fprintf(stderr, "tdi validate: --max-bytes takes a whole number of bytes > 0\n");
                return TDI_ERR_USAGE;
            }
            break;
        case 'h':
            cli_validate_usage(stdout);
            return TDI_OK;
        default:
            cli_validate_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tdi validate: no file given\n");
        cli_validate_usage(stderr);
        return TDI_ERR_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        tdi_status st = report_validate_file_max(argv[i], schema_dir, max_bytes);
        if (st == TDI_OK)
            printf("%s: valid\n", argv[i]);
        else
            printf("%s: %s\n", argv[i], st == TDI_ERR_INVALID ? "INVALID" : "NOT CHECKED");
        /* An unreadable file outranks an invalid one: it says nothing was checked. */
        if (st == TDI_ERR_INTERNAL || st == TDI_ERR_OUTPUT)
            worst = st;
        else if (st != TDI_OK && worst == TDI_OK)
            worst = st;
    }
    return worst;
}
