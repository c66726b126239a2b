/*
 * tdi_record: the record types the three stages share, and nothing else.
 *
 *   extract  -> tdi_raw_row   (the columns a source query yields, as text)
 *   transform -> tdi_record   (coded, pseudonymised, no identifier left) or tdi_rejection
 *   report   <- tdi_record
 *
 * A tdi_record holds no pointer to a raw row: once transform has produced it, the identifiers
 * of the row are out of reach of report/.
 */
#ifndef TDI_RECORD_H
#define TDI_RECORD_H

#include "tdi_codes.h"

#include <stddef.h>
#include <stdint.h>

/* The columns of the source column contract (README.md, "Source query"), by name; order and extra
 * columns are free. Only the first four are required: a source that lacks another one has it
 * NULL (not known) in every row. */
typedef enum tdi_column {
    TDI_COL_EPISODE_ID,
    TDI_COL_CLIENT_ID,
    TDI_COL_CENTRE_ID,
    TDI_COL_START_DATE,
    TDI_COL_BIRTH_DATE,
    TDI_COL_SETTING,
    TDI_COL_RESIDENTIAL_APPROACH,
    TDI_COL_PLANNED_DURATION,
    TDI_COL_DETOX_PHASE,
    TDI_COL_SEX,
    TDI_COL_AGE_BAND,
    TDI_COL_NATIONALITY,
    TDI_COL_TREATMENT_STATUS,
    TDI_COL_REFERRAL_SOURCE,
    TDI_COL_LIVING_WITH,
    TDI_COL_LIVING_WITH_CHILDREN,
    TDI_COL_LIVING_WHERE,
    TDI_COL_EDUCATION,
    TDI_COL_LABOUR_STATUS,
    TDI_COL_PRIMARY_DRUG,
    TDI_COL_ROUTE,
    TDI_COL_FREQUENCY,
    TDI_COL_FIRST_USE_AGE,
    TDI_COL_FIRST_USE_AGE_BAND,
    TDI_COL_SECONDARY_DRUG_1,
    TDI_COL_SECONDARY_DRUG_2,
    TDI_COL_SECONDARY_DRUG_3,
    TDI_COL_SECONDARY_DRUG_4,
    TDI_COL_POLYDRUG,
    TDI_COL_INJECTING,
    TDI_COL_FIRST_INJECTION_AGE,
    TDI_COL_FIRST_INJECTION_YEAR,
    TDI_COL_NEEDLE_SHARING,
    TDI_COL_HIV_TESTING,
    TDI_COL_HCV_TESTING,
    TDI_COL_OST,
    TDI_COL_FIRST_OST_YEAR,
    TDI_COL_NATIONAL_ID, /* optional: the person's national id (scheme per source, config) */
    TDI_COL_FAMILY_NAME, /* optional: only for the SLK-581 fallback pseudonym */
    TDI_COL_GIVEN_NAME,  /* optional: idem */
    TDI_COL_POSTCODE,    /* optional: postcode of residence, only mapped to a region code */
    TDI_COL_END_DATE,    /* optional: treatment end (discharge); only the stay band leaves */
    TDI_COL_DISCHARGE_REASON,
    TDI_COL_AFTERCARE,
    TDI_COL_COUNT
} tdi_column;

typedef enum tdi_column_kind {
    TDI_KIND_TEXT,   /* an identifier or a code the pipeline checks itself */
    TDI_KIND_DATE,   /* YYYY-MM-DD */
    TDI_KIND_CODE,   /* a local code, mapped onto item through the crosswalk */
    TDI_KIND_NUMBER, /* a whole number in [min, max] */
} tdi_column_kind;

typedef struct tdi_column_def {
    const char *name;     /* column name in the source query */
    const char *sql_type; /* the type extract casts it to */
    tdi_column_kind kind;
    int required;    /* 1: a source query without it is an error */
    int identifying; /* 1: personal identifier, must never reach an output or a log */
    int item;        /* TDI_KIND_CODE: the tdi_item mapped from it; -1 otherwise */
    int min, max;    /* TDI_KIND_NUMBER: the accepted range */
} tdi_column_def;

extern const tdi_column_def tdi_columns[TDI_COL_COUNT];

/* The column of that name, or -1. */
int tdi_column_by_name(const char *name);

/* One row as extracted. Strings are NUL-terminated; NULL means SQL NULL (or a column the source
 * does not have). Owned by extract/ and valid until the next extract_next() call. */
typedef struct tdi_raw_row {
    const char *col[TDI_COL_COUNT];
    unsigned long row_number;  /* 1-based position in the source's COPY stream */
    unsigned char no_end_date; /* 1: the source has no end_date column (no discharge data: the
                                * discharge items are left out); 0: a NULL end date is open */
    uint64_t unconverted;      /* bit c: column c has a byte its database's encoding cannot convert
                                * to UTF-8 (extract converts on the client; R019) */
} tdi_raw_row;
_Static_assert(TDI_COL_COUNT <= 64, "a bit of tdi_raw_row.unconverted a column");

#define TDI_PSEUDONYM_MAX   80 /* "v1:" + 64 hex digits */
#define TDI_EPISODE_KEY_MAX 40 /* "e1:" + 32 hex digits */
#define TDI_CENTRE_MAX      32
#define TDI_REGION_MAX      32 /* region codes: [A-Za-z0-9._-], as config names */
#define TDI_AGE_NOT_KNOWN   (-1)
/* code[] value of an item that does not apply to the episode (a residential attribute of an
 * outpatient episode, years since first injection of a person who never injected): the XML
 * attribute is left out. Only items with tdi_item_def.conditional take it. */
#define TDI_CODE_NOT_APPLICABLE 0xFF

/* What a record's person pseudonym was computed from (README.md, "Pseudonyms"). */
typedef enum tdi_person_kind {
    TDI_PERSON_NID,    /* the national id, check digits verified: links across sources */
    TDI_PERSON_SLK581, /* name letters, birth date and sex (SLK-581): links, with collisions */
    TDI_PERSON_CLIENT, /* the source's own client id: links within that source only */
    TDI_PERSON_KIND_COUNT
} tdi_person_kind;

/* "nid", "slk581", "client": the personKind attribute. */
extern const char *const tdi_person_kind_names[TDI_PERSON_KIND_COUNT];

/* Whether a record is its person's counted treatment demand (README.md, "Counting"): decided
 * by the state database over everything a body holds, after transform. */
typedef enum tdi_entrant {
    TDI_ENTRANT_UNRANKED = 0, /* not decided (a record straight from transform): no attribute */
    TDI_ENTRANT_YES = 1,      /* the first start of the person in the year at the counting level */
    TDI_ENTRANT_NO = 2        /* a later start of a person already counted */
} tdi_entrant;

/* One anonymised treatment episode, ready for report/. Holds no identifier. */
typedef struct tdi_record {
    char person[TDI_PSEUDONYM_MAX + 1];    /* keyed pseudonym of the client, per body */
    char episode[TDI_EPISODE_KEY_MAX + 1]; /* keyed pseudonym of (source, episode id), per body */
    uint8_t person_kind;                   /* tdi_person_kind */
    char centre[TDI_CENTRE_MAX + 1];       /* centre code, [A-Za-z0-9._-] only */
    const char *source;                    /* source name; owned by the config */
    char region[TDI_REGION_MAX + 1]; /* region of residence from the postcode through the region
                                      * map, else the source's region: never the postcode */
    int year;                        /* year of treatment start */
    uint8_t quarter;    /* quarter of treatment start, 1-4, only for bodies configured to get it;
                         * 0: not written (dates leave as the year only) */
    int start_ymd;      /* treatment start, YYYYMMDD: which start of a person is the first in the
                         * year (the TDI counting unit); not written to the submission */
    int end_ymd;        /* treatment end (discharge), YYYYMMDD, 0: open or no end date given;
                         * not written: the submission carries the stay band only */
    int age;            /* age at treatment start, or TDI_AGE_NOT_KNOWN */
    int first_use_age;  /* age at first use of the primary drug, or TDI_AGE_NOT_KNOWN */
    uint8_t entrant;    /* tdi_entrant */
    uint8_t continuing; /* 1: started before the reporting year, still open in it (a continuing
                         * client): written continuing="1", never an entrant, never in a TDI
                         * table, never a person's first start */
    uint8_t client;     /* 1: the person's counted client in treatment at the counting level (table
                         * 43.1; README.md, "Clients in treatment"), from the state database when
                         * the tables are counted; not written */
    uint8_t code[TDI_ITEM_COUNT]; /* index into each item's code list, or TDI_CODE_NOT_APPLICABLE */
} tdi_record;

/* Days from start to end (0: ended on the day it started), or -1 for an open episode
 * (end_ymd 0). The stay band is tdi_stay_band() of it. */
long tdi_record_stay_days(const tdi_record *rec);

/* Whether rec can be a treatment entrant and count in a TDI table: in the TDI population
 * (tdi_in_population() of its primary drug) and no continuing client. The tables and the state
 * database's counting unit both follow it. */
int tdi_record_in_population(const tdi_record *rec);

#define TDI_VALUE_MAX 48

/* Why a row went to quarantine. value never holds an identifier: for identifying columns it
 * holds a derived fact (an age, "missing") instead. */
typedef struct tdi_rejection {
    const char *rule_id;       /* stable rule id, e.g. "R003"; static storage */
    const char *item;          /* column or item name; static storage */
    const char *message;       /* rule message; static storage */
    char value[TDI_VALUE_MAX]; /* offending value, cleaned and truncated */
} tdi_rejection;

/* ---- quasi-identifiers: the items of a published record that, together, could single a person
 * out. What is done with them (tuples, blanking, the re-identification check) is disclosure/'s. */
/* In the order of the stored tuple (never reorder: the state database keeps tuples). */
typedef enum tdi_qi {
    TDI_QI_SEX,
    TDI_QI_AGE_BAND,
    TDI_QI_NATIONALITY,
    TDI_QI_REGION,
    TDI_QI_YEAR,
    TDI_QI_CENTRE_TYPE,
    TDI_QI_QUARTER,
    TDI_QI_CENTRE,
    TDI_QI_COUNT
} tdi_qi;

/* "sex", "age_band", ...: the config names, which are the XML attributes. */
const char *tdi_qi_name(tdi_qi qi);
/* The quasi-identifier of that name, or -1. */
int tdi_qi_by_name(const char *name);
/* 1 when the quasi-identifier can be blanked (year and centre cannot: a body's file is one
 * year, and the centre code is what the receiving body needs to act on a record). */
int tdi_qi_blankable(tdi_qi qi);

/* How a linked item is blanked. */
typedef enum tdi_qi_blank_to {
    TDI_QI_TO_NOT_KNOWN,     /* its "not known" code; an item that does not apply stays left out */
    TDI_QI_TO_NOT_APPLICABLE /* left out: it only exists for a known value of the qi */
} tdi_qi_blank_to;

/* One coded item blanked with a quasi-identifier: the qi's own item, and every item that bounds
 * the qi (a first use at 55-59 says the person is at least 55). The region is not a coded item:
 * blanking it is disclosure/'s (dc_qi_blank). */
typedef struct tdi_qi_link {
    tdi_qi qi;
    tdi_item item;
    tdi_qi_blank_to to;
} tdi_qi_link;

extern const tdi_qi_link tdi_qi_links[];
extern const size_t tdi_qi_nlinks;

#endif
