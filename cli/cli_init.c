/* cli_init: `tdi init`, creates or upgrades the schema of the state database. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../state/state.h"

#include <getopt.h>

void cli_init_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi init --config FILE\n\n"
                "Creates the schema 'tdi' in the state database of FILE (key 'state'), or\n"
                "upgrades it to the version this tdi needs. Safe to run again: it does only\n"
                "what is missing. Refused (exit 9) while a run is active.\n\n"
                "  -c, --config FILE  configuration file\n"
                "  -h, --help         this text\n");
}

tdi_status cli_init(int argc, char **argv)
{
    const char *config = NULL;
    tdi_config *cfg = NULL;
    state_db *state = NULL;
    tdi_status st;
    int help = 0, from = 0, to = 0;

    st = cli_config_opts(argc, argv, "init", cli_init_usage, &config, NULL, &help);
    if (st != TDI_OK || help)
        return st;
    if (optind < argc) {
        fprintf(stderr, "tdi init: unexpected argument '%s'\n", argv[optind]);
        return TDI_ERR_USAGE;
    }
    st = cli_open_state(config, 0, 0, &cfg, &state);
    if (st == TDI_OK)
        st = state_lock(state);
    if (st == TDI_OK)
        st = state_migrate(state, &from, &to);
    if (st == TDI_OK && from == to)
        printf("state database: schema version %d, up to date\n", to);
    else if (st == TDI_OK)
        printf("state database: schema version %d -> %d\n", from, to);
    state_close(state);
    tdi_config_free(cfg);
    return st;
}
