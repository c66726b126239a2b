/*
 * tdi_page: the figures of one run's report page, in one place for the two stages that share
 * them: the state database fills them (state_report_load()), report/ writes the page
 * (report_html_write()). Counts and names of runs, sources, bodies and files only; no identifier.
 */
#ifndef TDI_PAGE_H
#define TDI_PAGE_H

#include <stddef.h>

#define TDI_PAGE_NAME_MAX 64
#define TDI_PAGE_TIME_MAX 32 /* YYYY-MM-DD HH:MM:SSZ and more, with room */

typedef struct tdi_page_run {
    char run_id[TDI_PAGE_NAME_MAX];
    int year;
    char mode[16];
    char status[TDI_PAGE_NAME_MAX]; /* running, abandoned, or the exit code's name */
    int exit_code;                  /* -1 while running or abandoned */
    double seconds;                 /* duration, -1 when not ended */
    char started[TDI_PAGE_TIME_MAX];
} tdi_page_run;

typedef struct tdi_page_source {
    char name[TDI_PAGE_NAME_MAX];
    char status[TDI_PAGE_NAME_MAX];
    char mode[16];
    int attempts;
    unsigned long extracted, written, quarantined;
    int has_prev; /* the source's previous run: */
    unsigned long prev_extracted, prev_written, prev_quarantined;
} tdi_page_source;

typedef struct tdi_page_file {
    char kind[16]; /* submission, tables, workbook, quarantine */
    char owner[TDI_PAGE_NAME_MAX];
    long long sequence; /* -1: none */
    unsigned long records, replaces, deletes;
    char path[4096];
    char sha256[65];
} tdi_page_file;

typedef struct tdi_page_year {
    char owner[TDI_PAGE_NAME_MAX]; /* a body, or the source asked for */
    int year;
    unsigned long episodes, entrants;
} tdi_page_year;

/* One TDI item of one source's records written this run: how many it applies to, how many
 * have its "not known" code; the same of the source's previous run that recorded it. */
typedef struct tdi_page_item {
    char source[TDI_PAGE_NAME_MAX];
    char item[TDI_PAGE_NAME_MAX];
    unsigned long applicable, not_known;
    int has_prev;
    unsigned long prev_applicable, prev_not_known;
} tdi_page_item;

/* One body's disclosure figures of the run. */
typedef struct tdi_page_body {
    char name[TDI_PAGE_NAME_MAX];
    int k_min;
    unsigned long k, records;
    int met;               /* 0: nothing was published for the body */
    char blanked[128];     /* quasi-identifiers withheld, blank-separated; "" none */
    long long suppressed;  /* cells its tables suppressed; -1: no tables this run */
    long long audit_added; /* cells an audit added; -1: none recorded */
} tdi_page_body;

/* One published cell of a body's tables for one year, from the latest run that published the
 * body's tables of that year: a trend point. A suppressed cell has no value (never the count). */
typedef struct tdi_page_cell {
    char body[TDI_PAGE_NAME_MAX];
    int year;
    char table[16], row[32], col[32]; /* a residential approach is up to 23 characters */
    unsigned long value;
    int suppressed;
} tdi_page_cell;

/* What the report of one run shows: the run, its sources (with their previous run), its
 * files, the bodies' blanking, the last runs (oldest first), and the episodes held per body
 * (or, with a source, of that source) and year; the completeness of each source's records, each
 * body's disclosure figures and the trend cells of its published tables. Arrays are owned by the
 * filler; when it allocated them (malloc), tdi_page_free(). */
typedef struct tdi_page {
    tdi_page_run run;
    tdi_page_source *sources;
    size_t nsources;
    tdi_page_file *files;
    size_t nfiles;
    tdi_page_run *history; /* oldest first */
    size_t nhistory;
    tdi_page_year *years;
    size_t nyears;
    tdi_page_item *items; /* by source, then item (the items' order, common/tdi_codes.h) */
    size_t nitems;
    tdi_page_body *bodies; /* none with a source */
    size_t nbodies;
    tdi_page_cell *cells; /* by body, table, year; none with a source */
    size_t ncells;
} tdi_page;

/* Frees r's arrays and empties it (NULL is fine). */
void tdi_page_free(tdi_page *r);

#endif
