/*
 * rpt_read: reading what report/ wrote, on the receiving side (tdi load, tdi audit). Private to
 * report/.
 *
 *   - a submission read as a stream (xmlTextReader over rpt_gz_reader: memory flat for any size; no
 *     network, no DTD, no entity expansion): its header, then one item per <episode/> or
 *     <delete/> with its line and every attribute;
 *   - a manifest's top-level fields (the small flat JSON report.c writes);
 *   - the files named on a command line (files or directories), each with its header, in the
 *     order a body's series is applied: body, year, sequence, run (rpt_run_cmp).
 */
#ifndef RPT_READ_H
#define RPT_READ_H

#include "../common/tdi_status.h"

#include <stddef.h>
#include <stdint.h>

/* Every attribute an <episode/> can carry but action: those of schema 2.0-2.3 in the receiver
 * table's column order, then those 2.4 added (schemas/receiver/003-discharges.sql). */
#define RPT_NATTRS 46
typedef struct rpt_attr {
    const char *name; /* the XML attribute */
    const char
        *column;      /* the receiver table's column (personKind is person_kind, year start_year) */
    const char *type; /* the column's SQL type */
    const char *dflt; /* an <episode/> without the attribute: this value (NULL: none) */
} rpt_attr;
extern const rpt_attr rpt_attrs[RPT_NATTRS];
/* The attributes before the coded items, by their index in rpt_attrs; rpt_attrs[RPT_ATTR_ITEMS
 * + i] is the attribute of the coded item i (tdi_item order); the items are followed by
 * continuing only (RPT_ATTR_CONTINUING). */
enum {
    RPT_ATTR_KEY,
    RPT_ATTR_PERSON,
    RPT_ATTR_PERSON_KIND,
    RPT_ATTR_SOURCE,
    RPT_ATTR_CENTRE,
    RPT_ATTR_REGION,
    RPT_ATTR_YEAR,
    RPT_ATTR_ENTRANT,
    RPT_ATTR_QUARTER,
    RPT_ATTR_AGE,
    RPT_ATTR_FIRST_USE_AGE,
    RPT_ATTR_ITEMS,
    RPT_ATTR_CONTINUING = RPT_NATTRS - 1
};
/* Index in rpt_attrs of the attribute name, or -1. */
int rpt_attr_index(const char *name);

typedef struct rpt_header {
    char body[33];
    int year;
    uint64_t sequence;
    char run_id[32];
    int64_t run_no;  /* runNo, the ledger's run number; 0: none (files before schema 2.3) */
    char key_id[16]; /* empty when the file has none */
    char schema_version[16];
    long line; /* of the <submission> start tag */
} rpt_header;

typedef struct rpt_item {
    int is_delete;
    int replace;   /* action="replace" */
    int file_year; /* the header's year */
    long line;
    /* NULL: absent and without a default; borrowed until the next rpt_reader_next. An
     * <episode/>'s coded item that has a schema default (tdi_item_default: its "not known" code,
     * schema 2.4) is never NULL: absent, it is the default, as the schema says. */
    const char *attr[RPT_NATTRS];
} rpt_item;

typedef struct rpt_reader rpt_reader;

/* Opens path (gzip or plain) and reads up to the root element into *hdr. A file whose root is
 * not a submission of schema 2 is TDI_ERR_INVALID (logged as PATH:LINE). *out is freed with
 * rpt_reader_close() (also on failure, when set). */
tdi_status rpt_reader_open(const char *path, rpt_header *hdr, rpt_reader **out);
/* The next episode or delete into *item, or *eof = 1, an episode's absent coded items at their
 * defaults. Parse errors are logged "PATH:LINE: ..." and returned as TDI_ERR_INVALID. */
tdi_status rpt_reader_next(rpt_reader *r, rpt_item *item, int *eof);
void rpt_reader_close(rpt_reader *r);

/* The counts a submission's manifest states, in the order of rpt_count_names. */
enum { RPT_RECORDS, RPT_APPENDS, RPT_REPLACES, RPT_DELETES, RPT_NCOUNTS };
/* Their names in the manifest: "records" (its <episode/> elements), "appends", ... */
extern const char *const rpt_count_names[RPT_NCOUNTS];

typedef struct rpt_manifest {
    char sha256[65];
    char body[33];
    int year;
    uint64_t sequence;
    char run_id[32];
    int64_t run_no;             /* 0: none (manifests before schema 2.3) */
    int64_t count[RPT_NCOUNTS]; /* -1: not in the manifest */
} rpt_manifest;

/* The manifest path of a submission: tdi-B-Y-R.xml.gz -> tdi-B-Y-R.manifest.json. 0 when path
 * does not end in .xml.gz or .xml. */
int rpt_manifest_path(const char *xml_path, char *out, size_t len);
/* Reads the manifest at path. TDI_ERR_OUTPUT when it cannot be read (errno kept), TDI_ERR_INVALID
 * when a field is missing or malformed (not logged: the caller says it its own way). */
tdi_status rpt_manifest_read(const char *path, rpt_manifest *m);

/* The order of two runs' files of one sequence: < 0 when run a's is the earlier, > 0 when it is
 * the later, 0 when they cannot be told apart (the same run). By runNo when both have one; by
 * runId (the run's clock) only when neither has (files before 2.3); a file with runNo is later
 * than one without (written by a newer tdi). A total order, so it can sort. */
int rpt_run_cmp(int64_t no_a, const char *id_a, int64_t no_b, const char *id_b);
/* 1 when rpt_run_cmp orders a and b by runId (neither has a runNo). */
int rpt_run_by_id(int64_t no_a, int64_t no_b);

typedef struct rpt_entry {
    char *path;
    rpt_header hdr;
    int bad; /* its header could not be read (said already) */
} rpt_entry;

typedef struct rpt_series {
    rpt_entry *e;
    size_t n;
    char **orphans; /* manifests without their submission */
    size_t norphans;
} rpt_series;

/* The submissions among args (files, or directories searched to any depth for *.xml.gz and
 * *.xml but tables files), sorted by body, year, sequence, run (rpt_run_cmp), path. A submission
 * found in a directory whose manifest is not there is not published: left out, with a warning (a
 * gap it leaves among the others is still one); one named in args is kept. A file whose
 * header cannot be read is kept with bad set (first) and makes the result TDI_ERR_INVALID; a path
 * that cannot be read is TDI_ERR_OUTPUT. Everything found is in *out either way. */
tdi_status rpt_series_collect(char *const *args, int nargs, rpt_series *out);
void rpt_series_free(rpt_series *s);

/* ---- a tables file (report_tables_publish wrote it), read as a stream ---- */
typedef struct rpt_tables_head {
    char body[33];
    int year;
    char run_id[17]; /* rpt_run_id_ok */
    char counting_level[16];
    unsigned long threshold;
    unsigned long entrants; /* the header's entrants (every all-entrants grand total) */
    int has_entrants;       /* 0: the file does not say (it is optional) */
} rpt_tables_head;

/* What rpt_tables_read() calls, in file order (each may be NULL): head for the root element,
 * table for each <table> (its id), cell for each element inside a table: kind is "cell",
 * "suppressed" or "empty", an absent attribute NULL. A callback's failure stops the read and is
 * returned. */
typedef struct rpt_tables_visit {
    void *ctx;
    tdi_status (*head)(void *ctx, const rpt_tables_head *h);
    tdi_status (*table)(void *ctx, const char *id);
    tdi_status (*cell)(void *ctx, const char *kind, const char *row, const char *col,
                       const char *value);
} rpt_tables_visit;
/* Reads the tables file at path (no network, no DTD): its root must be a <tables> of
 * REPORT_TABLES_NAMESPACE with body, year, runId, countingLevel and threshold. TDI_ERR_INVALID
 * (logged "PATH: not a tables file tdi can read") when it is not or does not parse, also when a
 * callback says so; TDI_ERR_OUTPUT when it cannot be opened. */
tdi_status rpt_tables_read(const char *path, const rpt_tables_visit *v);

#endif
