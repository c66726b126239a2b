/*
 * tx_rules: owns the rule table (ids, severities, messages) and the consistency checks made on
 * the facts derived from a row. Parse-level rules (R001, R002, R006, R008) are raised by id
 * where transform.c meets them; R007 is checked by the CLI.
 *
 * Ids are stable: they appear in quarantine files, reports and scripts. A retired rule keeps
 * its id unused; a new rule takes the next free id.
 */
#include "tx_rules.h"

#include "../common/tdi_text.h"

#include <stdio.h>
#include <string.h>

static const tx_rule rules[TX_RULE_COUNT] = {
    [TX_R001] = {"R001", TX_REJECT, NULL, "required value missing"},
    [TX_R002] = {"R002", TX_REJECT, "centre_id",
                 "centre code must be 1-32 characters of A-Z a-z 0-9 . _ -"},
    [TX_R003] = {"R003", TX_REJECT, "start_date", "treatment start outside the reporting year"},
    [TX_R004] = {"R004", TX_REJECT, "start_date", "treatment start in the future"},
    [TX_R005] = {"R005", TX_REJECT, "birth_date", "age at treatment start outside 10-99"},
    [TX_R006] = {"R006", TX_REJECT, NULL, "local code has no crosswalk entry"},
    [TX_R007] = {"R007", TX_REJECT, "centre_id", "no receiving body takes this centre"},
    [TX_R008] = {"R008", TX_REJECT, NULL, "date is not a valid YYYY-MM-DD date"},
};

const tx_rule *tx_rule_at(tx_rule_idx idx)
{
    if ((unsigned)idx >= TX_RULE_COUNT)
        return NULL;
    return &rules[idx];
}

const tx_rule *tx_rule_get(const char *id, tx_rule_idx *idx_out)
{
    for (size_t i = 0; i < TX_RULE_COUNT; i++) {
        if (strcmp(rules[i].id, id) == 0) {
            if (idx_out)
                *idx_out = (tx_rule_idx)i;
            return &rules[i];
        }
    }
    return NULL;
}

const char *tx_severity_name(tx_severity sev)
{
    return sev == TX_WARN ? "warn" : "reject";
}

void tx_rule_raise(tx_rule_idx idx, const char *item, const char *value, tdi_rejection *rej)
{
    const tx_rule *r = &rules[idx];

    rej->rule_id = r->id;
    rej->item = r->item ? r->item : item;
    rej->message = r->message;
    tdi_clean_value(rej->value, sizeof rej->value, value);
}

/* ---- consistency checks: each returns 1 on a hit and writes the value to quarantine ---- */

typedef int (*tx_check_fn)(const tx_facts *f, char *value, size_t len);

/* Age only when a birth date was given; the value is the age, never the birth date. */
static int check_age(const tx_facts *f, char *value, size_t len)
{
    if (!f->age_known || (f->age >= 10 && f->age <= 99))
        return 0;
    snprintf(value, len, "%d", f->age);
    return 1;
}

static int check_in_year(const tx_facts *f, char *value, size_t len)
{
    if (f->start_ymd / 10000 == f->year)
        return 0;
    snprintf(value, len, "%d", f->start_ymd / 10000); /* the year only: the day could identify */
    return 1;
}

static int check_not_future(const tx_facts *f, char *value, size_t len)
{
    if (f->start_ymd <= f->today)
        return 0;
    snprintf(value, len, "%d", f->start_ymd / 10000);
    return 1;
}

/* Applied in this order; the first reject wins. */
static const struct {
    tx_rule_idx rule;
    tx_check_fn check;
} checks[] = {
    {TX_R005, check_age},
    {TX_R003, check_in_year},
    {TX_R004, check_not_future},
};

int tx_rules_check(const tx_facts *f, unsigned long hits[TX_RULE_COUNT], tdi_rejection *rej)
{
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        char value[TDI_VALUE_MAX];

        if (!checks[i].check(f, value, sizeof value))
            continue;
        hits[checks[i].rule]++;
        if (rules[checks[i].rule].severity == TX_WARN)
            continue;
        tx_rule_raise(checks[i].rule, NULL, value, rej);
        return 1;
    }
    return 0;
}
