/*
 * tdi_rules: the business rules, as one table with stable ids, and the one way a rule is raised
 * and reported. Every rule is raised through tdi_rule_raise() (or, when something else counted
 * it, tdi_rule_count()) into the hits of the source it applies to, and its summary line is
 * printed by tdi_rule_print(). Who raises which: transform/ the row-level rules (parse-level in
 * transform.c, consistency checks in tx_checks.c), the run R007 (no body takes the record) and
 * R018 (counted by the state database's pass).
 *
 * Ids are stable: they appear in quarantine files, reports and scripts. A retired rule keeps its
 * id unused; a new rule takes the next free id and one row in the table (tdi_rules.c).
 */
#ifndef TDI_RULES_H
#define TDI_RULES_H

#include "tdi_record.h"

#include <stdio.h>

/* Index of each rule in the table; the id string ("R001") is what is stable, not the index. */
typedef enum tdi_rule_idx {
    TDI_R001, /* required value missing */
    TDI_R002, /* centre code format */
    /* R003 retired (start outside the reporting year): extract reads only starts in the year, so
     * it could not fire. Its id stays unused. */
    TDI_R004, /* start in the future */
    TDI_R005, /* implausible age */
    TDI_R006, /* local code without crosswalk entry */
    TDI_R007, /* no receiving body takes the centre (raised by the run) */
    TDI_R008, /* invalid date */
    TDI_R009, /* age at first use above the age at start */
    TDI_R010, /* first injection after the start */
    TDI_R011, /* first injection given, never injected */
    TDI_R012, /* route inject, never injected */
    TDI_R013, /* secondary drug repeats the primary or an earlier secondary drug (warn) */
    TDI_R014, /* number not whole or out of range */
    TDI_R015, /* first OST after the start year */
    TDI_R016, /* first OST given, never in OST */
    TDI_R017, /* residential attribute given outside the residential classes (warn) */
    TDI_R018, /* "never previously treated" for a person treated in an earlier year (warn; counted
               * by the state database's pass, raised by the run) */
    TDI_R019, /* a cell is not valid UTF-8 (a SQL_ASCII source) */
    TDI_R020, /* national id fails its scheme's check */
    /* R021-R029 are kept for pseudonymisation; R030 on: discharges */
    TDI_R030, /* end date before the start */
    TDI_R031, /* end date in the future */
    TDI_R032, /* stay longer than 5 years (warn) */
    TDI_R033, /* discharge reason without an end date (warn) */
    TDI_R034, /* aftercare without an end date (warn) */
    TDI_RULE_COUNT
} tdi_rule_idx;

typedef enum tdi_severity {
    TDI_RULE_REJECT, /* the row goes to quarantine */
    TDI_RULE_WARN    /* counted, the row goes on */
} tdi_severity;

typedef struct tdi_rule {
    const char *id; /* stable: in quarantine files and reports */
    tdi_severity severity;
    const char *item; /* column or item checked; NULL when it depends on the row */
    const char *message;
} tdi_rule;

/* How often each rule was raised for one source. Zero it when the source begins. */
typedef struct tdi_rule_hits {
    unsigned long n[TDI_RULE_COUNT];
} tdi_rule_hits;

const tdi_rule *tdi_rule_at(tdi_rule_idx idx);
/* The rule with that id, or NULL; *idx_out (may be NULL) gets its index. */
const tdi_rule *tdi_rule_get(const char *id, tdi_rule_idx *idx_out);
const char *tdi_severity_name(tdi_severity sev);

/* Raises rule idx once: counts it in hits and, when rej is not NULL (a reject), fills rej: item
 * is the rule's own when it has one, else the given one; value is cleaned (tdi_clean_value)
 * and truncated. Callers never pass an identifier as value. */
void tdi_rule_raise(tdi_rule_hits *hits, tdi_rule_idx idx, const char *item, const char *value,
                    tdi_rejection *rej);
/* Counts n hits of rule idx raised where no row is at hand (R018, from the state database). */
void tdi_rule_count(tdi_rule_hits *hits, tdi_rule_idx idx, unsigned long n);
/* to += from, rule by rule (a source's hits raised by two stages). */
void tdi_rule_hits_add(tdi_rule_hits *to, const tdi_rule_hits *from);
/* The summary line of each rule with hits, in table order:
 * "  rule R007 (reject) no receiving body takes this centre: 3". */
void tdi_rule_print(const tdi_rule_hits *hits, FILE *fp);

#endif
