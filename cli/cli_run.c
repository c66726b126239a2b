/*
 * cli_run: the options of `tdi run`; the run itself is run/ (run_main()).
 */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../common/tdi_log.h"
#include "../run/run.h"
#include "../state/state.h"

#include <getopt.h>
#include <stdlib.h>

void cli_run_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi run --config FILE [--year YYYY] [--full] [--syslog] [--verbose]\n\n"
                "Reads every source of FILE (incrementally where configured), maps and checks its\n"
                "rows, and publishes per receiving body one validated .xml.gz delta submission\n"
                "(appends, replaces, deletes since the body's last file) with a manifest, and per\n"
                "source a quarantine file of the rows held back. Records the run in the state\n"
                "database; prints a summary in which every row is accounted for.\n\n"
                "  -c, --config FILE  configuration file (see README.md)\n"
                "  -y, --year YYYY    reporting year (default: the current year)\n"
                "  -f, --full         read every source in full, ignoring the watermarks\n"
                "      --syslog       log to syslog too\n"
                "  -v, --verbose      more log lines on stderr\n"
                "  -h, --help         this text\n\n");
    cli_print_exit_codes(fp);
}

static tdi_status parse_args(int argc, char **argv, const char **config, int *year, int *full,
                             int *use_syslog)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"year", required_argument, NULL, 'y'},
        {"full", no_argument, NULL, 'f'},
        {"syslog", no_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    long y;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:y:fvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'y':
            y = strtol(optarg, &end, 10);
            if (*end || end == optarg || y < 1990 || y > 2999) {
                fprintf(stderr, "tdi run: --year wants a year such as 2025, not '%s'\n", optarg);
                return TDI_ERR_USAGE;
            }
            *year = (int)y;
            break;
        case 'f':
            *full = 1;
            break;
        case 's':
            *use_syslog = 1;
            break;
        case 'v':
            tdi_log_set_level(TDI_LOG_DEBUG);
            break;
        case 'h':
            cli_run_usage(stdout);
            exit(TDI_OK);
        default:
            cli_run_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tdi run: unexpected argument '%s'\n", argv[optind]);
        return TDI_ERR_USAGE;
    }
    if (!*config) {
        fprintf(stderr, "tdi run: --config FILE is required\n");
        return TDI_ERR_USAGE;
    }
    return TDI_OK;
}

tdi_status cli_run(int argc, char **argv)
{
    run_options opt = {0};
    int use_syslog = 0;
    tdi_status st;

    st = parse_args(argc, argv, &opt.config_path, &opt.year, &opt.full, &use_syslog);
    if (st != TDI_OK)
        return st;
    st = cli_open_state(opt.config_path, use_syslog, 1, &opt.cfg, &opt.state);
    opt.page = 1;
    if (st == TDI_OK)
        st = run_main(&opt);
    state_close(opt.state);
    tdi_config_free(opt.cfg);
    return st;
}
