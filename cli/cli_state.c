/* cli_state: what init, status and year share with run: their options, opening the config and
 * the state database. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../common/tdi_log.h"
#include "../state/state.h"

#include <getopt.h>
#include <stdlib.h>

tdi_status cli_config_opts(int argc, char **argv, const char *cmd, void (*usage)(FILE *),
                           const char **config, long *runs, int *help)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"runs", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    *config = NULL;
    *help = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, runs ? "c:n:h" : "c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            *config = optarg;
        } else if (c == 'n' && runs) {
            *runs = strtol(optarg, &end, 10);
            if (*end || end == optarg || *runs < 1 || *runs > 1000) {
                fprintf(stderr, "tdi %s: --runs wants a number from 1 to 1000, not '%s'\n", cmd,
                        optarg);
                return TDI_ERR_USAGE;
            }
        } else if (c == 'h') {
            usage(stdout);
            *help = 1;
            return TDI_OK;
        } else {
            usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (!*config) {
        fprintf(stderr, "tdi %s: --config FILE is required\n", cmd);
        return TDI_ERR_USAGE;
    }
    return TDI_OK;
}

tdi_status cli_open_state(const char *config, int use_syslog, int check, tdi_config **cfg,
                          state_db **state)
{
    tdi_status st;

    *cfg = NULL;
    *state = NULL;
    st = tdi_config_load(config, cfg);
    if (st != TDI_OK)
        return st;
    if (use_syslog || (*cfg)->syslog)
        tdi_log_open_syslog();
    if (!(*cfg)->state) {
        tdi_error("%s: 'state' is not set: tdi keeps its run ledger and what each body was sent "
                  "in a PostgreSQL database (README.md, \"State database\")",
                  config);
        return TDI_ERR_CONFIG;
    }
    st = state_open((*cfg)->state, state);
    if (st == TDI_OK && check)
        st = state_check(*state);
    return st;
}
