/* cli_load: `tdi load`, the receivers' command: a body's submissions into their database. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../report/report.h"

#include <getopt.h>

void cli_load_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: tdi load --into CONNINFO [--schema-dir DIR] FILE|DIR...\n\n"
            "Applies a receiving body's submissions (.xml.gz; a directory is searched for them)\n"
            "to the PostgreSQL database CONNINFO, schema tdi_receiver (created on first use):\n"
            "per body and year in sequence order, one transaction per file, each file only\n"
            "after its manifest's SHA-256 and its schema check. Appends insert, replaces\n"
            "update, deletes delete; tdi_receiver.episode then holds what the body holds.\n"
            "A file loaded already changes nothing; of two files with one sequence the later\n"
            "run's is kept; a missing sequence stops that body's year. Exit 0 when every file\n"
            "was taken or was loaded already, 8 when one was not taken, 12 when the database\n"
            "failed.\n\n"
            "  --into CONNINFO   the receiver's database (libpq connection string)\n"
            "  --schema-dir DIR  schemas to use (default %s)\n"
            "  -h, --help        this text\n",
            tdi_default_schema_dir());
}

tdi_status cli_load(int argc, char **argv)
{
    static const struct option opts[] = {
        {"into", required_argument, NULL, 'i'},
        {"schema-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *schema_dir = tdi_default_schema_dir(), *into = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            into = optarg;
            break;
        case 's':
            schema_dir = optarg;
            break;
        case 'h':
            cli_load_usage(stdout);
            return TDI_OK;
        default:
            cli_load_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (!into || optind >= argc) {
        fprintf(stderr, "tdi load: %s\n", into ? "no file given" : "--into is required");
        cli_load_usage(stderr);
        return TDI_ERR_USAGE;
    }
    return report_load(into, argv + optind, argc - optind, schema_dir, stdout);
}
