/*
 * cli: the tdi command line. main.c dispatches to one function per subcommand; each parses its
 * own options with getopt_long and returns a tdi_status, which is the process exit code.
 */
#ifndef TDI_CLI_H
#define TDI_CLI_H

#include "../common/tdi_status.h"

#include <stdio.h>

typedef struct cli_command {
    const char *name;
    const char *summary;
    tdi_status (*run)(int argc, char **argv);
    void (*usage)(FILE *fp);
} cli_command;

tdi_status cli_run(int argc, char **argv);
void cli_run_usage(FILE *fp);
tdi_status cli_validate(int argc, char **argv);
void cli_validate_usage(FILE *fp);
tdi_status cli_keygen(int argc, char **argv);
void cli_keygen_usage(FILE *fp);
tdi_status cli_load(int argc, char **argv);
void cli_load_usage(FILE *fp);
tdi_status cli_audit(int argc, char **argv);
void cli_audit_usage(FILE *fp);
tdi_status cli_audit_tables(int argc, char **argv);
void cli_audit_tables_usage(FILE *fp);
tdi_status cli_workbook(int argc, char **argv);
void cli_workbook_usage(FILE *fp);
tdi_status cli_report(int argc, char **argv);
void cli_report_usage(FILE *fp);

tdi_status cli_init(int argc, char **argv);
void cli_init_usage(FILE *fp);
tdi_status cli_status(int argc, char **argv);
void cli_status_usage(FILE *fp);
tdi_status cli_year(int argc, char **argv);
void cli_year_usage(FILE *fp);

/* Prints the exit code table (for --help). */
void cli_print_exit_codes(FILE *fp);

/* The options of init, status and year: -c/--config FILE (required), -h/--help (prints usage to
 * stdout, *help = 1) and, when runs is not NULL, -n/--runs N (1-1000). Positional arguments
 * are left from optind on. */
tdi_status cli_config_opts(int argc, char **argv, const char *cmd, void (*usage)(FILE *),
                           const char **config, long *runs, int *help);

struct tdi_config;
struct state_db;
/* What run, init, status and year share: loads the config (TDI_ERR_CONFIG, also when it names
 * no state database), turns on syslog when asked (flag or config), connects to the state
 * database and, when check, refuses a schema that is missing or not this tdi's (TDI_ERR_STATE).
 * Installs the signal handlers. */
tdi_status cli_open_state(const char *config, int use_syslog, int check, struct tdi_config **cfg,
                          struct state_db **state);

#endif
