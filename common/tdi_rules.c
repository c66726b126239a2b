/*
 * tdi_rules: the rule table and raising a rule (see tdi_rules.h). The table is data: one row per
 * rule, indexed by tdi_rule_idx.
 */
#include "tdi_rules.h"

#include "tdi_text.h"

#include <string.h>

static const tdi_rule rules[TDI_RULE_COUNT] = {
    [TDI_R001] = {"R001", TDI_RULE_REJECT, NULL, "required value missing"},
    [TDI_R002] = {"R002", TDI_RULE_REJECT, "centre_id",
                  "centre code must be 1-32 characters of A-Z a-z 0-9 . _ -"},
    /* R003 retired (start outside the reporting year): extract's year filter never yields such a
     * row. The id is not reused. */
    [TDI_R004] = {"R004", TDI_RULE_REJECT, "start_date", "treatment start in the future"},
    [TDI_R005] = {"R005", TDI_RULE_REJECT, "birth_date", "age at treatment start outside 10-99"},
    [TDI_R006] = {"R006", TDI_RULE_REJECT, NULL, "local code has no crosswalk entry"},
    [TDI_R007] = {"R007", TDI_RULE_REJECT, "centre_id", "no receiving body takes this centre"},
    [TDI_R008] = {"R008", TDI_RULE_REJECT, NULL, "date is not a valid YYYY-MM-DD date"},
    [TDI_R009] = {"R009", TDI_RULE_REJECT, "first_use_age",
                  "age at first use above the age at treatment start"},
    [TDI_R010] = {"R010", TDI_RULE_REJECT, NULL, "first injection after the treatment start"},
    [TDI_R011] = {"R011", TDI_RULE_REJECT, NULL,
                  "first injection given for a person who never injected"},
    [TDI_R012] = {"R012", TDI_RULE_REJECT, "route", "route inject for a person who never injected"},
    [TDI_R013] = {"R013", TDI_RULE_WARN, NULL,
                  "secondary drug repeats the primary drug or an earlier secondary drug"},
    [TDI_R014] = {"R014", TDI_RULE_REJECT, NULL, "not a whole number in the accepted range"},
    [TDI_R015] = {"R015", TDI_RULE_REJECT, "first_ost_year",
                  "first opioid substitution treatment after the treatment start year"},
    [TDI_R016] = {"R016", TDI_RULE_REJECT, "first_ost_year",
                  "first opioid substitution treatment given for a person never in it"},
    [TDI_R017] = {"R017", TDI_RULE_WARN, NULL,
                  "residential attribute given for a non-residential setting: left out"},
    [TDI_R018] = {"R018", TDI_RULE_WARN, "treatment_status",
                  "never previously treated, but the person started a treatment in an earlier "
                  "year: kept as given"},
    [TDI_R019] = {"R019", TDI_RULE_REJECT, NULL,
                  "text is not valid UTF-8, or not convertible to it"},
    /* R020-R029 are pseudonymisation's. */
    [TDI_R020] = {"R020", TDI_RULE_REJECT, "national_id",
                  "national id fails the length or check digits of its scheme"},
    /* R030 on: discharges (end_date, discharge_reason, aftercare). */
    [TDI_R030] = {"R030", TDI_RULE_REJECT, "end_date", "treatment end before its start"},
    [TDI_R031] = {"R031", TDI_RULE_REJECT, "end_date", "treatment end in the future"},
    [TDI_R032] = {"R032", TDI_RULE_WARN, "end_date",
                  "stay longer than 5 years (open: up to today): kept"},
    [TDI_R033] = {"R033", TDI_RULE_WARN, "discharge_reason",
                  "discharge reason without an end date: left out"},
    [TDI_R034] = {"R034", TDI_RULE_WARN, "aftercare", "aftercare without an end date: left out"},
};

const tdi_rule *tdi_rule_at(tdi_rule_idx idx)
{
    if ((unsigned)idx >= TDI_RULE_COUNT)
        return NULL;
    return &rules[idx];
}

const tdi_rule *tdi_rule_get(const char *id, tdi_rule_idx *idx_out)
{
    for (size_t i = 0; i < TDI_RULE_COUNT; i++) {
        if (strcmp(rules[i].id, id) == 0) {
            if (idx_out)
                *idx_out = (tdi_rule_idx)i;
            return &rules[i];
        }
    }
    return NULL;
}

const char *tdi_severity_name(tdi_severity sev)
{
    return sev == TDI_RULE_WARN ? "warn" : "reject";
}

void tdi_rule_raise(tdi_rule_hits *hits, tdi_rule_idx idx, const char *item, const char *value,
                    tdi_rejection *rej)
{
    const tdi_rule *r = &rules[idx];

    tdi_rule_count(hits, idx, 1);
    if (!rej)
        return;
    rej->rule_id = r->id;
    rej->item = r->item ? r->item : item;
    rej->message = r->message;
    tdi_clean_value(rej->value, sizeof rej->value, value);
}

void tdi_rule_count(tdi_rule_hits *hits, tdi_rule_idx idx, unsigned long n)
{
    hits->n[idx] += n;
}

void tdi_rule_hits_add(tdi_rule_hits *to, const tdi_rule_hits *from)
{
    for (size_t i = 0; i < TDI_RULE_COUNT; i++)
        to->n[i] += from->n[i];
}

void tdi_rule_print(const tdi_rule_hits *hits, FILE *fp)
{
    for (size_t i = 0; i < TDI_RULE_COUNT; i++)
        if (hits->n[i])
            fprintf(fp, "  rule %s (%s) %s: %lu\n", rules[i].id,
                    tdi_severity_name(rules[i].severity), rules[i].message, hits->n[i]);
}
