/*
 * tdi_config: the configuration file (format in README.md, "Configuration") as one struct.
 *
 * tdi_config_load() reads and checks the whole file up front: every error names the file and
 * line and the run stops before any source is touched. Paths in the file are taken relative to
 * the directory of the config file and stored absolute. The struct owns all its strings;
 * tdi_config_free() releases everything.
 */
#ifndef TDI_CONFIG_H
#define TDI_CONFIG_H

#include "tdi_record.h"
#include "tdi_status.h"

#include <stddef.h>

#define TDI_NAME_MAX             32 /* source and body names: [A-Za-z0-9_-], also used in file names */
#define TDI_SUPPRESSION_DEFAULT  5   /* tables: non-zero cells below this are suppressed */
#define TDI_K_MIN_DEFAULT        5   /* records: the smallest group a body may hold */
#define TDI_PARALLEL_SOURCES_MAX 256 /* max_parallel_sources: threads and connections */

/* The re-identification check of a body's records (README.md, "Re-identification check"). */
typedef struct tdi_reid_config {
    int k_min;                   /* groups smaller than this are at risk; 0: not set (inherit) */
    unsigned qi_mask;            /* bit (1u << tdi_qi) per quasi-identifier; 0: not set */
    uint8_t blank[TDI_QI_COUNT]; /* tdi_qi values, blanked in this order as needed */
    size_t nblank;               /* 0 with blank_set: nothing may be blanked */
    int blank_set;
} tdi_reid_config;

/* How a source's national_id column is checked (README.md, "Pseudonyms"). */
typedef enum tdi_nid_scheme {
    TDI_NID_NONE,     /* the source has no national id: national_id is not used */
    TDI_NID_BE_RRN,   /* Belgian national register number: 11 digits, mod-97 check */
    TDI_NID_NL_BSN,   /* Dutch BSN: 9 digits (8 with a leading zero dropped), 11-proef */
    TDI_NID_FR_NIR,   /* French NIR: 13 characters (2A/2B for Corsica) + key mod 97 */
    TDI_NID_ES_DNI,   /* Spanish DNI / NIE: 8 digits or X/Y/Z + 7, letter mod 23 */
    TDI_NID_IT_CF,    /* Italian codice fiscale: 16 characters, check letter */
    TDI_NID_SE_PNR,   /* Swedish personnummer: 10 or 12 digits, Luhn */
    TDI_NID_DK_CPR,   /* Danish CPR number: 10 digits, date only (no mod 11 since 2007) */
    TDI_NID_FI_HETU,  /* Finnish henkilötunnus: DDMMYY, century sign, NNN, check mod 31 */
    TDI_NID_NO_FNR,   /* Norwegian fødselsnummer: 11 digits, two mod-11 check digits */
    TDI_NID_PL_PESEL, /* Polish PESEL: 11 digits, weights 1-3-7-9 */
    TDI_NID_CZ_RC,    /* Czech / Slovak rodné číslo: 9 or 10 digits, mod 11 */
    TDI_NID_PLAIN,    /* a register's own id: normalised, no check */
    TDI_NID_SCHEME_COUNT
} tdi_nid_scheme;

/* "none", "be_rrn", "nl_bsn", ...: the config values, also in the pseudonym's domain. */
extern const char *const tdi_nid_scheme_names[TDI_NID_SCHEME_COUNT];

typedef struct tdi_source_config {
    char *name;       /* [source NAME] */
    char *conninfo;   /* libpq connection string or "service=NAME" */
    char *query;      /* SQL yielding the columns of tdi_columns */
    char *crosswalk;  /* absolute path of the crosswalk file */
    char *region;     /* region code of the source's centres */
    char *region_map; /* absolute path of the postcode -> region map, or NULL (the global one,
                       * resolved at load) */
    tdi_nid_scheme national_id; /* default TDI_NID_NONE */
    int line;                   /* line of the section header, for messages */
    char *incremental;  /* column holding the row's last change (timestamptz), or NULL: always
                         * read the whole reporting year */
    long stall_timeout; /* seconds the source may send nothing before it is given up, 0: no
                         * limit (source_stall_timeout, resolved at load) */
} tdi_source_config;

/* The level at which a body's persons are counted once a year (README.md, "Counting"). */
typedef enum tdi_counting {
    TDI_COUNTING_CENTRE,   /* default: once per person, centre and year */
    TDI_COUNTING_REGIONAL, /* once per person, region (of the sources) and year */
    TDI_COUNTING_NATIONAL, /* once per person and year across all the body's centres */
    TDI_COUNTING_COUNT
} tdi_counting;

/* "centre", "regional", "national": the config values, also the countingLevel in headers. */
extern const char *const tdi_counting_names[TDI_COUNTING_COUNT];

typedef struct tdi_body_config {
    char *name;     /* [body NAME] */
    char **regions; /* region codes this body receives; "*" = all */
    size_t nregions;
    char **centres; /* centre codes this body receives besides its regions */
    size_t ncentres;
    tdi_counting counting; /* default TDI_COUNTING_CENTRE */
    int quarter;           /* 1: its records carry the quarter of the treatment start */
    tdi_reid_config reid;  /* resolved at load: the body's own settings, else the global ones,
                            * else the defaults */
    int line;
} tdi_body_config;

typedef struct tdi_config {
    char *path;                /* the config file as given */
    char *output_dir;          /* absolute */
    char *key_file;            /* absolute */
    char *schema_dir;          /* absolute; defaults to the compiled-in schema directory */
    int gzip_level;            /* 1..9, default 1; igzip has 1..3, above 3 as 3 */
    int suppression_threshold; /* tables: 0..1000, default TDI_SUPPRESSION_DEFAULT */
    int protection_level;      /* tables: the width a suppressed cell's interval needs
                                * (disclosure/dc_audit.h), 0..1000; 0: the threshold */
    char *region_map;          /* absolute; the default postcode -> region map, or NULL */
    tdi_reid_config reid;      /* the global re-identification settings, as given */
    /* Operations (README.md, "Operations"). */
    char *state;               /* conninfo of the state database; required by run, init, status,
                                * year (checked there, so the other commands need no database) */
    char *work_dir;            /* absolute; where the run's spool lives; default output_dir */
    int retry_attempts;        /* attempts per source, default 3 */
    long retry_delay_ms;       /* wait before the second attempt, doubled each time; default 5000 */
    long incremental_overlap;  /* seconds re-read below a source's watermark; default 3600 */
    long source_stall_timeout; /* seconds a source may send nothing; 0: no limit; default 300 */
    int max_parallel_sources;  /* sources read at once, each on its own connection; default 16 */
    int syslog;                /* 1: log to syslog too */
    tdi_source_config *sources;
    size_t nsources;
    tdi_body_config *bodies;
    size_t nbodies;
} tdi_config;

/* Reads path into *out (caller frees with tdi_config_free). Logs every problem as
 * "FILE:LINE: message" and returns TDI_ERR_CONFIG. */
tdi_status tdi_config_load(const char *path, tdi_config **out);
void tdi_config_free(tdi_config *cfg);

/* The schema directory compiled in (make install points it at PREFIX/share/tdi/schemas). */
const char *tdi_default_schema_dir(void);

/* 1 when body receives records of this region and centre. */
int tdi_config_body_takes(const tdi_body_config *body, const char *region, const char *centre);

#endif
