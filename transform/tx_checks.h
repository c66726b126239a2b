/*
 * tx_checks: the consistency rules, checked on the facts derived from a row. The rules
 * themselves (ids, severities, messages) are the table in common/tdi_rules.c; these checks raise
 * them through tdi_rule_raise(). Private to transform/.
 */
#ifndef TX_CHECKS_H
#define TX_CHECKS_H

#include "tx_pseudo.h"

#include "../common/tdi_rules.h"

#include <stddef.h>

/* What the consistency rules look at: facts derived from a row, no identifier. Numbers are -1
 * when not known. An age is an interval [lo, hi]: lo = hi for an exact age, the group's bounds
 * when only an age group is known, lo = -1 when neither; desc is how it is shown ("25", "20-24").
 */
typedef struct tx_age {
    int lo, hi;
    char desc[16];
} tx_age;

#define TX_DRUGS 5

/* R032: a stay longer than this many years is warned of (README.md, "Business rules"). */
#define TX_STAY_YEARS_MAX 5 /* the primary drug and four secondary drugs */

typedef struct tx_facts {
    int start_ymd; /* treatment start, YYYYMMDD */
    int end_ymd;   /* treatment end, YYYYMMDD, 0 when none */
    int stay_open; /* no end date, from a source with end dates: the stay goes on (R032) */
    const char *open_reason;    /* discharge reason code given without an end date, or NULL */
    const char *open_aftercare; /* aftercare code given without an end date, or NULL */
    int age_known;              /* 0 without a birth date: R005 does not apply */
    int age;                    /* completed years at start; may be negative (birth after start) */
    int today;                  /* YYYYMMDD */
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

/* Applies the consistency rules in this order (R005, R009, R010, R011, R012, R015, R016, R004,
 * R030, R031, then the warnings R013, R017, R032, R033, R034). Each hit is raised into hits;
 * warnings go on, the first reject fills rej and stops. Returns 1 when rejected. */
int tx_checks_apply(const tx_facts *f, tdi_rule_hits *hits, tdi_rejection *rej);

/* What a quarantine line or the run summary may show of a clinic's cell: the cell (without the
 * blanks around it) when it has the shape of a code, at most TX_ECHO_MAX of A-Z a-z 0-9 . _ - +
 * / and at most TX_ECHO_DIGITS digits; otherwise "len=N hmac=HEX12": its length in bytes and the
 * first 12 hex digits of HMAC(quarantine key, "tdi/quarantine/value/v1" \0 cell), so a name or a
 * national number in a code column never leaves in clear, and one bad value is recognisable
 * across rows and runs. out must hold TDI_VALUE_MAX bytes. */
#define TX_ECHO_MAX    16
#define TX_ECHO_DIGITS 4
void tx_rule_echo(tx_pseudo *quarantine_key, const char *cell, char out[TDI_VALUE_MAX]);

#endif
