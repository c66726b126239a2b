/*
 * rpt_tables: the TDI standard tables as data, and their counts.
 *
 * A table family (e.g. "9.1": primary drug by type of treatment centre) is a row dimension, a
 * column dimension and a list of variants (9.1.1 all entrants, 9.1.2 never treated, 9.1.3
 * previously treated). A dimension is built from an item's code list (common/tdi_codes.c) by a
 * rule: one category per code, the primary-drug tree (groups as subtotals of their sub-codes), or
 * the top-level groups only. Adding a table whose items exist is one line of data in
 * rpt_tables.c.
 *
 * Counting: a record counts in its category and every aggregate above it, on both axes, in
 * every variant it matches. rpt_family_add() counts it once, in the cell it enters at under the
 * set of variants it matches (a few sets per family); rpt_family_sum() then adds each such count
 * into every variant and aggregate it stands for: the same additions, once per cell instead of
 * once per record. The population is the TDI's: treatment entrants for drugs, so
 * records of alcohol and the non-drug problems (kept in the submission) are left out of every
 * table (rpt_tables_population(), which is tdi_in_population()). A statistics table (11) has a
 * column per measure instead: its cells count the records with a value, and keep their sum and sum
 * of squares for the mean and standard deviation.
 */
#ifndef RPT_TABLES_H
#define RPT_TABLES_H

#include "../disclosure/disclosure.h"

#include "../common/tdi_record.h"
#include "../common/tdi_status.h"

#include <stddef.h>
#include <stdint.h>

#define RPT_DIM_MAX      48 /* categories of one dimension */
#define RPT_CODE_MAX     32 /* a category code, e.g. "1.1", "15-19", "residential_community" */
#define RPT_VARIANTS_MAX 9
#define RPT_ITEM_CODES   64 /* bound on an item's code list */
#define RPT_CLASS_MAX    32 /* distinct sets of variants a family's records can match */

typedef enum rpt_dim_kind {
    RPT_DIM_CODES,     /* a category per code of the item, in list order; then the total */
    RPT_DIM_DRUG_TREE, /* a code without a dot is a subtotal of the codes "X.n" under it */
    RPT_DIM_GROUPS,    /* a category per code without a dot; "X.n" counts in X */
    RPT_DIM_MAP,       /* the categories of rpt_dim_def.map, each a set of the item's codes */
    RPT_DIM_CONTINUING /* no item: map[0] the continuing clients, map[1] the others (table 43.1) */
} rpt_dim_kind;

/* A category of an RPT_DIM_MAP dimension: its code and the item codes counted in it, blank-
 * separated; "X.*" stands for the codes "X.n". Every code of the item but the skipped one must
 * be in exactly one category. */
typedef struct rpt_map_cat {
    const char *code;
    const char *members;
} rpt_map_cat;

/* A dimension over several items (tables 22, 25.1.6: any drug a record uses): a record counts
 * once in every category one of its codes enters, so the categories do not add up to the total
 * (which counts each record once) and no relation runs along this axis. The items' codes are
 * matched to the dimension item's codes by their text. */
typedef struct rpt_also {
    int items[4];
    size_t nitems;
    const char *skip; /* a code of these items that counts nowhere ("99": a slot not known) */
} rpt_also;

typedef struct rpt_dim_def {
    const char *name; /* names the dimension in the XML: an item name, or "primary_drug_group" */
    rpt_dim_kind kind;
    int item;               /* tdi_item the categories come from */
    const char *skip;       /* a code with no category (outside the population), or NULL */
    const rpt_map_cat *map; /* RPT_DIM_MAP only */
    size_t nmap;
    const struct rpt_also *also; /* more items whose codes count, or NULL */
} rpt_dim_def;

typedef struct rpt_variant_def {
    const char *name;  /* "all", "never_treated", ... */
    const char *title; /* appended to the family title */
    int item;          /* tdi_item the variant selects on, or -1 for every record */
    const char *codes; /* the codes selected, as in rpt_map_cat.members */
    int item2;         /* a second selection (table 11: sex and status), or -1 */
    const char *codes2;
} rpt_variant_def;

/* A statistics table's measure (table 11): mean, standard deviation and number of the records
 * with a value. The number is a count like any cell (suppressed as one); mean and SD are
 * published only where it is published and at least the threshold. */
typedef struct rpt_measure {
    const char *name;                    /* column codes NAME_mean, NAME_sd, NAME_n */
    int (*value)(const tdi_record *rec); /* the value, or -1: none */
    const char *linked;                  /* a table family whose column not_known counts the */
    const char *not_known;               /* records without a value (banded), or NULL */
} rpt_measure;

/* Which records a family counts (rpt_outcome.h): treatment entrants (the TDI tables), the
 * episodes discharged in the reporting year (an end date in it), entrants, later starts and
 * continuing clients alike, or the clients in treatment (tdi_record.client: each person once at
 * the counting level); all only in the TDI population. */
typedef enum rpt_base { RPT_BASE_ENTRANTS, RPT_BASE_DISCHARGED, RPT_BASE_CLIENTS } rpt_base;

/* A value derived from a row's counts, written after them as column NAME (rpt_outcome.h). */
typedef enum rpt_derived_kind {
    RPT_DERIVED_RATE,  /* 100 x the count of column numerator / the row's total, two decimals */
    RPT_DERIVED_MEDIAN /* the median stay in days of the row's total (percentile_cont(0.5)) */
} rpt_derived_kind;

typedef struct rpt_derived {
    const char *name;
    rpt_derived_kind kind;
    const char *numerator; /* RPT_DERIVED_RATE: a column code */
} rpt_derived;

typedef struct rpt_family_def {
    const char *id;    /* "9.1": its tables are "9.1.1", "9.1.2", ... in variant order */
    const char *title; /* the workbook's title without the variant */
    const rpt_dim_def *rows, *cols;
    const rpt_variant_def *variants;
    size_t nvariants;
    int variant_sum;     /* variant 0 counts what the others count, and records they do not */
    int first;           /* the number of variant 0's table: 1, or e.g. 2 for "29.1.2" */
    const dc_vrel *vrel; /* further sums between variants */
    size_t nvrel;
    const rpt_measure *measures; /* a statistics table: cols is NULL, a column per measure */
    size_t nmeasures;
    rpt_base base;
    const rpt_derived *derived; /* written after each row's counts, or NULL */
    size_t nderived;
    /* 0: a TDI table; 1: an extra table (outcomes, clients in treatment), protected after the
     * TDI tables with their decisions kept, so it never changes which TDI cell is suppressed
     * (report_tables_publish) */
    int extra;
} rpt_family_def;

/* The families the report stage writes, in output order. */
extern const rpt_family_def rpt_families[];
extern const size_t rpt_nfamilies;

typedef struct rpt_dim {
    const rpt_dim_def *def;
    size_t n;
    char code[RPT_DIM_MAX][RPT_CODE_MAX];
    int parent[RPT_DIM_MAX];              /* dc_axis.parent */
    unsigned char aggregate[RPT_DIM_MAX]; /* dc_axis.is_aggregate */
    unsigned char exact[RPT_DIM_MAX];     /* dc_axis.exact: no code enters at the aggregate */
    uint64_t up[RPT_DIM_MAX];             /* a category and the aggregates above it (bits) */
    int entry[RPT_ITEM_CODES];            /* item code index -> category, -1: not counted */
    int also_entry[4][RPT_ITEM_CODES];    /* idem for rpt_dim_def.also's items */
    /* the axis suppression sees: parent and aggregate, or for a dimension over several items
     * no parent and only the total an aggregate */
    int gparent[RPT_DIM_MAX];
    unsigned char gaggregate[RPT_DIM_MAX];
} rpt_dim;

typedef struct rpt_family {
    const rpt_family_def *def;
    rpt_dim rows, cols;
    uint64_t variant_codes[RPT_VARIANTS_MAX];  /* code indexes each variant selects (bits) */
    uint64_t variant_codes2[RPT_VARIANTS_MAX]; /* idem, rpt_variant_def.item2 */
    unsigned long *value;                      /* owned; dc_grid layout */
    unsigned char *suppressed;                 /* owned */
    uint64_t *sum, *sumsq; /* owned, statistics tables only: of the values counted in value */
    uint32_t *stays;       /* owned, with a median only: per variant and row, stays by the day */
    /* The counts not yet summed (file comment): a record's variants are sel_mask[0][its code of
     * sel_item[0]] & sel_mask[1][...] (index RPT_ITEM_CODES: not applicable), a set of class
     * class_of[set]; leaf (and leaf_sum, leaf_sumsq) is [class][row][column], the row already
     * every category it counts in for a dimension over several items. */
    int sel_item[2];
    uint16_t sel_mask[2][RPT_ITEM_CODES + 1];
    uint8_t class_of[1u << RPT_VARIANTS_MAX];
    uint16_t class_mask[RPT_CLASS_MAX];
    size_t nclass;
    unsigned long *leaf;             /* owned */
    uint64_t *leaf_sum, *leaf_sumsq; /* owned, statistics tables only */
    int year;                        /* the reporting year (RPT_BASE_DISCHARGED) */
    dc_grid grid;
} rpt_family;

/* Builds def's dimensions and zeroed counts into f. TDI_ERR_INTERNAL (logged) on a definition
 * that does not fit the code lists or out of memory. Release with rpt_family_free(). */
tdi_status rpt_family_init(rpt_family *f, const rpt_family_def *def);
void rpt_family_free(rpt_family *f);

/* Counts rec in every variant and cell it belongs to (nothing when it is outside the
 * population); value, sum and sumsq show it after rpt_family_sum(). */
void rpt_family_add(rpt_family *f, const tdi_record *rec);

/* Adds the records counted since the last call into value, sum and sumsq (file comment): call
 * it before reading them. */
void rpt_family_sum(rpt_family *f);

/* 1 when rec is in the tables' population: tdi_in_population() of its primary drug, the one
 * definition of the TDI population (common/tdi_codes.h). */
int rpt_tables_population(const tdi_record *rec);

#endif
