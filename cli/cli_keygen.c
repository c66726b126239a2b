/* cli_keygen: `tdi keygen FILE`, creates a master key file. */
#include "cli.h"

#include "../transform/transform.h"

#include <getopt.h>

void cli_keygen_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi keygen FILE\n\n"
                "Creates FILE (mode 0600, refusing to overwrite) holding a new random 256-bit\n"
                "master key; each receiving body's pseudonymisation key is derived from it.\n"
                "Keep it secret and backed up: a new key gives every person a new pseudonym.\n");
}

tdi_status cli_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            cli_keygen_usage(stdout);
            return TDI_OK;
        }
        cli_keygen_usage(stderr);
        return TDI_ERR_USAGE;
    }
    if (argc - optind != 1) {
        cli_keygen_usage(stderr);
        return TDI_ERR_USAGE;
    }
    return transform_keygen(argv[optind]);
}
