/*
 * run: the nightly run, stage by stage: extract -> transform -> spool -> state database (deltas,
 * counting unit, re-identification check) -> report (publish) -> commit. The command line
 * (cli/cli_run.c) parses the options, opens the config and the state database, and calls
 * run_main(); everything between is here.
 */
#ifndef RUN_H
#define RUN_H

#include "../common/tdi_config.h"
#include "../common/tdi_status.h"
#include "../report/report.h"
#include "../state/state.h"

typedef struct run_options {
    tdi_config *cfg;         /* borrowed: loaded by the caller */
    state_db *state;         /* borrowed: connected, schema checked */
    const char *config_path; /* for messages and the source fingerprints */
    int year;                /* reporting year; 0: the current year */
    int full;                /* read every source in full */
    int page;                /* write OUTPUT_DIR/report-RUNID.html once the run is recorded */
    /* Sources whose read may give no records although the bodies hold some of theirs: the
     * clinic really has no episodes of the year now, and every one is deleted (--allow-empty). */
    char *const *allow_empty;
    size_t nallow_empty;
} run_options;

/* Runs once: takes the run lock, records the run in the ledger, and from then on writes every
 * outcome there. Prints the summary on stdout. Returns the run's status (the exit code). */
tdi_status run_main(const run_options *opt);

#endif
