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

/* Prints the exit code table (for --help). */
void cli_print_exit_codes(FILE *fp);

#endif
