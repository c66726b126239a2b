/*
 * tx_rules: the business rules, as one table with stable ids.
 *
 * Private to transform/ (the CLI raises R007 through transform_reject_no_body()).
 */
#ifndef TX_RULES_H
#define TX_RULES_H

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

/* Fills rej for rule idx: item is the rule's own when it has one, else the given one; value is
 * cleaned (tdi_clean_value) and truncated. Callers never pass an identifier as value. */
void tx_rule_raise(tx_rule_idx idx, const char *item, const char *value, tdi_rejection *rej);

/* What the consistency rules look at: facts derived from a row, no identifier. */
typedef struct tx_facts {
    int start_ymd; /* treatment start, YYYYMMDD */
    int age_known; /* 0 without a birth date: no age rule applies */
    int age;       /* completed years at start; may be negative (birth after start) */
    int year;      /* reporting year */
    int today;     /* YYYYMMDD */
} tx_facts;

/* Applies the consistency rules in table order (R005, R003, R004). Each hit counts in
 * hits[rule]; warnings go on, the first reject fills rej and stops. Returns 1 when rejected. */
int tx_rules_check(const tx_facts *f, unsigned long hits[TX_RULE_COUNT], tdi_rejection *rej);

#endif
