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
#include <string.h>

void cli_run_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi run --config FILE [--year YYYY] [--full] [--allow-empty SOURCE[,...]]\n"
                "               [--syslog] [--verbose]\n\n"
                "Reads every source of FILE (incrementally where configured), maps and checks its\n"
                "rows, and publishes per receiving body one validated .xml.gz delta submission\n"
                "(appends, replaces, deletes since the body's last file) with a manifest, and per\n"
                "source a quarantine file of the rows held back. Records the run in the state\n"
                "database; prints a summary in which every row is accounted for.\n\n"
                "  -c, --config FILE  configuration file (see README.md)\n"
                "  -y, --year YYYY    reporting year (default: the current year)\n"
                "  -f, --full         read every source in full, ignoring the watermarks\n"
                "      --allow-empty SOURCE[,SOURCE...]\n"
                "                     a read of SOURCE that gives no records deletes its episodes\n"
                "                     of the year from every body; without it that read fails the\n"
                "                     source (repeatable)\n"
                "      --syslog       log to syslog too\n"
                "  -v, --verbose      more log lines on stderr\n"
                "  -h, --help         this text\n\n");
    cli_print_exit_codes(fp);
}

/* --allow-empty's names, comma-separated, appended to opt's list (room for every argument's
 * worth: at most one name a character). */
static tdi_status add_allowed(run_options *opt, char *names, char **list)
{
    char *save = NULL, *name;

    if (!*names || names[0] == ',' || names[strlen(names) - 1] == ',' || strstr(names, ",,")) {
        fprintf(stderr,
                "tdi run: --allow-empty wants source names, as in "
                "--allow-empty=riverside,debrug, not '%s'\n",
                names);
        return TDI_ERR_USAGE;
    }
    for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save))
        list[opt->nallow_empty++] = name;
    return TDI_OK;
}

static tdi_status parse_args(int argc, char **argv, run_options *opt, char **allow, int *use_syslog)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"year", required_argument, NULL, 'y'},
        {"full", no_argument, NULL, 'f'},         {"allow-empty", required_argument, NULL, 'e'},
        {"syslog", no_argument, NULL, 's'},       {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    char *end;
    long y;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:y:fvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opt->config_path = optarg;
            break;
        case 'y':
            y = strtol(optarg, &end, 10);
            if (*end || end == optarg || y < 1990 || y > 2999) {
                fprintf(stderr, "tdi run: --year wants a year such as 2025, not '%s'\n", optarg);
                return TDI_ERR_USAGE;
            }
            opt->year = (int)y;
            break;
        case 'f':
            opt->full = 1;
            break;
        case 'e':
            if (add_allowed(opt, optarg, allow) != TDI_OK)
                return TDI_ERR_USAGE;
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
    if (!opt->config_path) {
        fprintf(stderr, "tdi run: --config FILE is required\n");
        return TDI_ERR_USAGE;
    }
    return TDI_OK;
}

/* A name --allow-empty gives that is no source of the config is a typo that would let nothing
 * through: refused. */
static tdi_status check_allowed(const run_options *opt)
{
    for (size_t i = 0; i < opt->nallow_empty; i++) {
        size_t si = 0;

        while (si < opt->cfg->nsources && strcmp(opt->cfg->sources[si].name, opt->allow_empty[i]))
            si++;
        if (si == opt->cfg->nsources) {
            fprintf(stderr, "tdi run: --allow-empty: %s has no source '%s'\n", opt->config_path,
                    opt->allow_empty[i]);
            return TDI_ERR_USAGE;
        }
    }
    return TDI_OK;
}

tdi_status cli_run(int argc, char **argv)
{
    run_options opt = {0};
    int use_syslog = 0;
    size_t room = 1;
    char **allow;
    tdi_status st;

    /* --allow-empty's names point into argv (cut at the commas): one a character at most */
    for (int i = 1; i < argc; i++)
        room += strlen(argv[i]);
    allow = calloc(room, sizeof *allow);
    if (!allow) {
        fprintf(stderr, "tdi run: out of memory\n");
        return TDI_ERR_INTERNAL;
    }
    opt.allow_empty = allow;
    st = parse_args(argc, argv, &opt, allow, &use_syslog);
    if (st != TDI_OK)
        goto done;
    st = cli_open_state(opt.config_path, use_syslog, 1, &opt.cfg, &opt.state);
    if (st == TDI_OK)
        st = check_allowed(&opt);
    opt.page = 1;
    if (st == TDI_OK)
        st = run_main(&opt);
    state_close(opt.state);
    tdi_config_free(opt.cfg);
done:
    free(allow);
    return st;
}
