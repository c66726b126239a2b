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

#include <stdint.h>

/* The columns every source query must yield (by name; order and extra columns are free). */
typedef enum tdi_column {
    TDI_COL_EPISODE_ID,
    TDI_COL_CLIENT_ID,
    TDI_COL_CENTRE_ID,
    TDI_COL_START_DATE,
    TDI_COL_BIRTH_DATE,
    TDI_COL_SETTING,
    TDI_COL_SEX,
    TDI_COL_TREATMENT_STATUS,
    TDI_COL_PRIMARY_DRUG,
    TDI_COL_ROUTE,
    TDI_COL_COUNT
} tdi_column;

typedef struct tdi_column_def {
    const char *name;     /* column name in the source query */
    const char *sql_type; /* the type extract casts it to */
    int identifying;      /* 1: personal identifier, must never reach an output or a log */
    int item;             /* tdi_item mapped from it through the crosswalk, or -1 */
} tdi_column_def;

extern const tdi_column_def tdi_columns[TDI_COL_COUNT];

/* One row as extracted. Strings are NUL-terminated; NULL means SQL NULL. Owned by extract/ and
 * valid until the next extract_next() call. */
typedef struct tdi_raw_row {
    const char *col[TDI_COL_COUNT];
    unsigned long row_number; /* 1-based position in the source's COPY stream */
} tdi_raw_row;

#define TDI_PSEUDONYM_MAX 80 /* "v1:" + 64 hex digits */
#define TDI_EPISODE_KEY_MAX 40 /* "e1:" + 32 hex digits */
#define TDI_CENTRE_MAX 32
#define TDI_AGE_NOT_KNOWN (-1)

/* One anonymised treatment episode, ready for report/. Holds no identifier. */
typedef struct tdi_record {
    char person[TDI_PSEUDONYM_MAX + 1];     /* keyed pseudonym of the client */
    char episode[TDI_EPISODE_KEY_MAX + 1];  /* keyed pseudonym of (source, episode id) */
    char centre[TDI_CENTRE_MAX + 1];        /* centre code, [A-Za-z0-9._-] only */
    const char *source;                     /* source name; owned by the config */
    const char *region;                     /* region code; owned by the config */
    int year;                               /* year of treatment start */
    int age;                                /* age at treatment start, or TDI_AGE_NOT_KNOWN */
    uint8_t code[TDI_ITEM_COUNT];           /* index into each item's code list */
} tdi_record;

#define TDI_VALUE_MAX 48

/* Why a row went to quarantine. value never holds an identifier: for identifying columns it
 * holds a derived fact (an age, "missing") instead. */
typedef struct tdi_rejection {
    const char *rule_id;       /* stable rule id, e.g. "R003"; static storage */
    const char *item;          /* column or item name; static storage */
    const char *message;       /* rule message; static storage */
    char value[TDI_VALUE_MAX]; /* offending value, cleaned and truncated */
} tdi_rejection;

#endif
