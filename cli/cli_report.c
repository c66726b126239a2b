/* cli_report: `tdi report`, the HTML page of one run, for everyone or for one clinic. */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../common/tdi_log.h"
#include "../report/report.h"
#include "../run/run.h"
#include "../state/state.h"

#include <getopt.h>
#include <limits.h>
#include <string.h>

void cli_report_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi report --config FILE [--run RUNID] [--source NAME] [-o FILE.html]\n\n"
                "Writes the report of a run (default: the newest) from the state database as one\n"
                "self-contained HTML page: per source the rows extracted, written and quarantined\n"
                "against its previous run and why rows were held back; per body the files with\n"
                "their sequence and SHA-256; the last runs and the episodes held per year. With\n"
                "--source the page is that clinic's only, fit to send to it.\n"
                "Default file: OUTPUT_DIR/report-RUNID.html (report-RUNID-SOURCE.html).\n\n"
                "  -c, --config FILE  configuration file\n"
                "  -r, --run RUNID    the run (YYYYMMDDTHHMMSSZ)\n"
                "  -s, --source NAME  one source of the config only\n"
                "  -o, --output FILE  where to write the page\n"
                "  -h, --help         this text\n");
}

static int known_source(const tdi_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nsources; i++)
        if (strcmp(cfg->sources[i].name, name) == 0)
            return 1;
    return 0;
}

tdi_status cli_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"run", required_argument, NULL, 'r'},
        {"source", required_argument, NULL, 's'}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *run = NULL, *source = NULL, *output = NULL;
    char path[PATH_MAX];
    tdi_config *cfg = NULL;
    state_db *state = NULL;
    tdi_page rep = {0};
    tdi_status st;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'r':
            run = optarg;
            break;
        case 's':
            source = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            cli_report_usage(stdout);
            return TDI_OK;
        default:
            cli_report_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (!config || optind < argc) {
        fprintf(stderr, "tdi report: --config FILE is needed, and no other argument\n");
        cli_report_usage(stderr);
        return TDI_ERR_USAGE;
    }
    st = cli_open_state(config, 0, 1, &cfg, &state);
    if (st == TDI_OK && source && !known_source(cfg, source)) {
        tdi_error("%s: no source '%s'", config, source);
        st = TDI_ERR_USAGE;
    }
    if (st == TDI_OK)
        st = state_report_load(state, run, source, &rep);
    if (st == TDI_OK && !output) {
        /* the run id is the ledger's (a timestamp), the source a config name: both safe */
        snprintf(path, sizeof path, "%s/report-%s%s%s.html", cfg->output_dir, rep.run.run_id,
                 source ? "-" : "", source ? source : "");
        output = path;
    }
    if (st == TDI_OK)
        st = report_html_write(&rep, source, output);
    if (st == TDI_OK)
        printf("report of run %s -> %s\n", rep.run.run_id, output);
    tdi_page_free(&rep);
    state_close(state);
    tdi_config_free(cfg);
    return st;
}
