/* cli_audit: `tdi audit`, the auditors' command for a series of submissions. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../report/report.h"

#include <getopt.h>

void cli_audit_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: tdi audit [--schema-dir DIR] FILE|DIR...\n\n"
            "Checks a series of submissions (.xml.gz; a directory is searched for them) without\n"
            "tdi's state: the schema, the manifests (SHA-256), sequences from 1 without a gap\n"
            "and in run order, keys repeated in a file, replaces and deletes of keys the body\n"
            "does not hold, and the cross-field rules of schemas/tdi-rules.sch. One line per\n"
            "finding: FILE:LINE: RULE: message. Exit 0 when there is none, 8 when there is\n"
            "one, 7 when a path cannot be read.\n\n"
            "  --schema-dir DIR  schemas to use (default %s)\n"
            "  -h, --help        this text\n",
            tdi_default_schema_dir());
}

tdi_status cli_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"schema-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *schema_dir = tdi_default_schema_dir();
    unsigned long findings = 0;
    tdi_status st;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            schema_dir = optarg;
            break;
        case 'h':
            cli_audit_usage(stdout);
            return TDI_OK;
        default:
            cli_audit_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tdi audit: no file given\n");
        cli_audit_usage(stderr);
        return TDI_ERR_USAGE;
    }
    st = report_audit(argv + optind, argc - optind, schema_dir, stdout, &findings);
    fprintf(stderr, "tdi audit: %lu finding%s\n", findings, findings == 1 ? "" : "s");
    return st;
}
