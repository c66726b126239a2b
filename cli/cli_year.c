/* cli_year: `tdi year close|reopen|status YYYY`, the operator's hold on a reporting year. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../state/state.h"

#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_year_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi year close|reopen|status YYYY --config FILE\n\n"
                "close: runs for YYYY are refused (exit 13) from now on: the year's submissions\n"
                "are final. reopen: runs may change it again (corrections). status: says\n"
                "which. Every close and reopen is kept in the state database with the user.\n"
                "Refused (exit 9) while a run is active.\n\n"
                "  -c, --config FILE  configuration file\n"
                "  -h, --help         this text\n");
}

/* The OS user, for the record of who closed a year. */
static const char *user_name(void)
{
    struct passwd *pw = getpwuid(geteuid());

    return pw && pw->pw_name ? pw->pw_name : "unknown";
}

tdi_status cli_year(int argc, char **argv)
{
    const char *config = NULL, *action;
    tdi_config *cfg = NULL;
    state_db *state = NULL;
    char since[128], *end;
    tdi_status st;
    long year;
    int help = 0, changed = 0, closed = 0;

    st = cli_config_opts(argc, argv, "year", cli_year_usage, &config, NULL, &help);
    if (st != TDI_OK || help)
        return st;
    if (argc - optind != 2) {
        cli_year_usage(stderr);
        return TDI_ERR_USAGE;
    }
    action = argv[optind];
    year = strtol(argv[optind + 1], &end, 10);
    if (*end || end == argv[optind + 1] || year < 1990 || year > 2999) {
        fprintf(stderr, "tdi year: wants a year such as 2025, not '%s'\n", argv[optind + 1]);
        return TDI_ERR_USAGE;
    }
    if (strcmp(action, "close") != 0 && strcmp(action, "reopen") != 0 &&
        strcmp(action, "status") != 0) {
        fprintf(stderr, "tdi year: '%s' is not close, reopen or status\n", action);
        return TDI_ERR_USAGE;
    }
    st = cli_open_state(config, 0, 1, &cfg, &state);
    /* A run checks the year when it starts: do not change it under one. */
    if (st == TDI_OK && strcmp(action, "status") != 0)
        st = state_lock(state);
    if (st == TDI_OK && strcmp(action, "status") == 0) {
        st = state_year_closed(state, (int)year, &closed, since, sizeof since);
        if (st == TDI_OK && closed)
            printf("reporting year %ld is closed (since %s)\n", year, since);
        else if (st == TDI_OK)
            printf("reporting year %ld is open\n", year);
    } else if (st == TDI_OK) {
        int close = strcmp(action, "close") == 0;
        st = state_year_set(state, (int)year, close, user_name(), &changed);
        if (st == TDI_OK)
            printf("reporting year %ld %s%s\n", year, changed ? "" : "was already ",
                   close ? "closed" : (changed ? "reopened" : "open"));
    }
    state_close(state);
    tdi_config_free(cfg);
    return st;
}
