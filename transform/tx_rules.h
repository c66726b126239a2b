/*
 * tx_rules: the business rules, as one table with stable ids.
 *
 * Private to transform/ (the CLI raises R007 through transform_reject_no_body()).
 */
#ifndef TX_RULES_H
#define TX_RULES_H

#include "tx_pseudo.h"

#include "../common/tdi_record.h"

#include <stddef.h>

/* Index of each rule in the table; the id string ("R001") is what is stable, not the index. */
typedef enum tx_rule_idx {
    TX_R001, /* required value missing */
    TX_R002, /* centre code format */
    TX_R003, /* start outside the reporting year */
    TX_R004, /* start in the future */
    TX_R005, /* implausible age */
    TX_R006, /* local code without crosswalk entry */
    TX_R007, /* no receiving body takes the centre (raised by the CLI) */
    TX_R008, /* invalid date */
    TX_R009, /* age at first use above the age at start */
    TX_R010, /* first injection after the start */
    TX_R011, /* first injection given, never injected */
    TX_R012, /* route inject, never injected */
    TX_R013, /* secondary drug repeats the primary or an earlier secondary drug (warn) */
    TX_R014, /* number not whole or out of range */
    TX_R015, /* first OST after the start year */
    TX_R016, /* first OST given, never in OST */
    TX_R017, /* residential attribute given outside the residential classes (warn) */
    TX_R018, /* "never previously treated" for a person treated in an earlier year (warn; counted
              * by the state database's pass, see transform_history()) */
    TX_R019, /* a cell is not valid UTF-8 (a SQL_ASCII source) */
    TX_R020, /* national id fails its scheme's check */
    TX_RULE_COUNT
} tx_rule_idx;

typedef enum tx_severity {
    TX_REJECT, /* the row goes to quarantine */
    TX_WARN    /* counted, the row goes on */
} tx_severity;

typedef struct tx_rule {
    const char *id; /* stable: in quarantine files and reports */
    tx_severity severity;
    const char *item; /* column or item checked; NULL when it depends on the row */
    const char *message;
} tx_rule;

const tx_rule *tx_rule_at(tx_rule_idx idx);
/* The rule with that id, or NULL; *idx_out (may be NULL) gets its index. */
const tx_rule *tx_rule_get(const char *id, tx_rule_idx *idx_out);
const char *tx_severity_name(tx_severity sev);

/* What a quarantine line or the run summary may show of a clinic's cell: the cell (without the
 * blanks around it) when it has the shape of a code, at most TX_ECHO_MAX of A-Z a-z 0-9 . _ - +
 * / and at most TX_ECHO_DIGITS digits; otherwise "len=N hmac=HEX12": its length in bytes and the
 * first 12 hex digits of HMAC(quarantine key, "tdi/quarantine/value/v1" \0 cell), so a name or a
 * national number in a code column never leaves in clear, and one bad value is recognisable
 * across rows and runs. out must hold TDI_VALUE_MAX bytes. */
#define TX_ECHO_MAX    16
#define TX_ECHO_DIGITS 4
void tx_rule_echo(tx_pseudo *quarantine_key, const char *cell, char out[TDI_VALUE_MAX]);

/* Fills rej for rule idx: item is the rule's own when it has one, else the given one; value is
 * cleaned (tdi_clean_value) and truncated. Callers never pass an identifier as value. */
void tx_rule_raise(tx_rule_idx idx, const char *item, const char *value, tdi_rejection *rej);

/* What the consistency rules look at: facts derived from a row, no identifier. Numbers are -1
 * when not known. An age is an interval [lo, hi]: lo = hi for an exact age, the group's bounds
 * when only an age group is known, lo = -1 when neither; desc is how it is shown ("25", "20-24").
 */
typedef struct tx_age {
    int lo, hi;
    char desc[16];
} tx_age;

#define TX_DRUGS 5 /* the primary drug and four secondary drugs */

typedef struct tx_facts {
    int start_ymd; /* treatment start, YYYYMMDD */
    int age_known; /* 0 without a birth date: R005 does not apply */
    int age;       /* completed years at start; may be negative (birth after start) */
    int year;      /* reporting year */
    int today;     /* YYYYMMDD */
    tx_age age_at_start, first_use;
    int first_injection_age, first_injection_year, first_ost_year;
    int never_injected;            /* the injecting answer is "never injected" */
    int route_inject;              /* the primary drug's usual route is inject */
    int never_ost;                 /* the OST answer is "never" */
    int residential;               /* the setting class is a residential one */
    const char *residential_item;  /* a residential attribute given (not "not known") ... */
    const char *residential_value; /* ... and its code; NULL when none is given */
    const char *drug[TX_DRUGS];    /* TDI codes of the primary and secondary drugs; NULL when
                                    * none or not known */
} tx_facts;

/* Applies the consistency rules in table order (R005, R009, R010, R011, R012, R015, R016, R003,
 * R004, then the warnings R013, R017). Each hit counts in hits[rule]; warnings go on, the first
 * reject fills rej and stops. Returns 1 when rejected. */
int tx_rules_check(const tx_facts *f, unsigned long hits[TX_RULE_COUNT], tdi_rejection *rej);

#endif
