/* tdi entry point: picks the subcommand and returns its status as the exit code. */
#include "cli.h"

#include "../common/tdi_signal.h"
#include "../common/tdi_version.h"

#include <string.h>

static const cli_command commands[] = {
    {"run", "extract, transform and publish one reporting year", cli_run, cli_run_usage},
    {"status", "show the last runs from the run ledger", cli_status, cli_status_usage},
    {"init", "create or upgrade the state database schema", cli_init, cli_init_usage},
    {"year", "close or reopen a reporting year", cli_year, cli_year_usage},
    {"validate", "validate submission and tables files against the schemas", cli_validate,
     cli_validate_usage},
    {"keygen", "create a new master key file", cli_keygen, cli_keygen_usage},
    {"load", "apply a body's submissions to a receiver's database", cli_load, cli_load_usage},
    {"audit", "check a series of submissions: manifests, sequences, keys, rules", cli_audit,
     cli_audit_usage},
    {"audit-tables", "audit a tables file's suppression by linear programming", cli_audit_tables,
     cli_audit_tables_usage},
    {"workbook", "fill the official TDI workbook from a tables file", cli_workbook,
     cli_workbook_usage},
    {"report", "write the HTML report of a run, for all or for one clinic", cli_report,
     cli_report_usage},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi COMMAND [OPTIONS]\n\n"
                "Turns treatment records into TDI Protocol 3.0 submissions.\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'tdi COMMAND --help' describes a command.\n\n");
    cli_print_exit_codes(fp);
}

void cli_print_exit_codes(FILE *fp)
{
    fprintf(fp, "Exit codes:\n");
    for (int st = 0; st < TDI_STATUS_COUNT; st++)
        fprintf(fp, "  %2d  %s\n", st, tdi_status_text((tdi_status)st));
}

int main(int argc, char **argv)
{
    /* Before anything can block or write: a stop signal only sets a flag, and a file size
     * limit or a closed pipe becomes an error return. */
    tdi_signal_setup();
    if (argc < 2) {
        usage(stderr);
        return TDI_ERR_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TDI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tdi %s\n", TDI_VERSION);
        return TDI_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return (int)commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tdi: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return TDI_ERR_USAGE;
}
