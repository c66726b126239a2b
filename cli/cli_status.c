/* cli_status: `tdi status`, the last runs from the ledger. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../state/state.h"

#include <getopt.h>

void cli_status_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi status --config FILE [--runs N]\n\n"
                "Prints the last N runs (default 10) from the run ledger in the state database,\n"
                "newest first: status and exit code, sources (mode, attempts, row counts,\n"
                "error), published files (sequence, counts, sha256).\n\n"
                "  -c, --config FILE  configuration file\n"
                "  -n, --runs N       how many runs (1-1000)\n"
                "  -h, --help         this text\n");
}

tdi_status cli_status(int argc, char **argv)
{
    const char *config = NULL;
    tdi_config *cfg = NULL;
    state_db *state = NULL;
    tdi_status st;
    long runs = 10;
    int help = 0;

    st = cli_config_opts(argc, argv, "status", cli_status_usage, &config, &runs, &help);
    if (st != TDI_OK || help)
        return st;
    if (optind < argc) {
        fprintf(stderr, "tdi status: unexpected argument '%s'\n", argv[optind]);
        return TDI_ERR_USAGE;
    }
    st = cli_open_state(config, 0, 1, &cfg, &state);
    if (st == TDI_OK)
        st = state_print_runs(state, (int)runs, stdout);
    state_close(state);
    tdi_config_free(cfg);
    return st;
}
