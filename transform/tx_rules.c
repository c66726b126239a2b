/*
 * tx_rules: owns the rule table (ids, severities, messages) and the consistency checks made on
 * the facts derived from a row. Parse-level rules (R001, R002, R006, R008, R014, R020) are
 * raised by id where transform.c meets them; R007 is checked by the CLI.
 *
 * Ids are stable: they appear in quarantine files, reports and scripts. A retired rule keeps
 * its id unused; a new rule takes the next free id.
 */
#include "tx_rules.h"

#include "../common/tdi_text.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
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
    [TX_R009] = {"R009", TX_REJECT, "first_use_age",
                 "age at first use above the age at treatment start"},
    [TX_R010] = {"R010", TX_REJECT, NULL, "first injection after the treatment start"},
    [TX_R011] = {"R011", TX_REJECT, NULL, "first injection given for a person who never injected"},
    [TX_R012] = {"R012", TX_REJECT, "route", "route inject for a person who never injected"},
    [TX_R013] = {"R013", TX_WARN, NULL,
                 "secondary drug repeats the primary drug or an earlier secondary drug"},
    [TX_R014] = {"R014", TX_REJECT, NULL, "not a whole number in the accepted range"},
    [TX_R015] = {"R015", TX_REJECT, "first_ost_year",
                 "first opioid substitution treatment after the treatment start year"},
    [TX_R016] = {"R016", TX_REJECT, "first_ost_year",
                 "first opioid substitution treatment given for a person never in it"},
    [TX_R017] = {"R017", TX_WARN, NULL,
                 "residential attribute given for a non-residential setting: left out"},
    [TX_R018] = {"R018", TX_WARN, "treatment_status",
                 "never previously treated, but the person started a treatment in an earlier "
                 "year: kept as given"},
    [TX_R019] = {"R019", TX_REJECT, NULL, "text is not valid UTF-8"},
    /* R020 on is pseudonymisation. */
    [TX_R020] = {"R020", TX_REJECT, "national_id",
                 "national id fails the length or check digits of its scheme"},
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

/* At most TX_ECHO_MAX code characters, at most TX_ECHO_DIGITS of them digits. */
static int code_shaped(const char *t, size_t len)
{
    size_t digits = 0;

    if (len == 0 || len > TX_ECHO_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];

        if (c >= '0' && c <= '9')
            digits++;
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || strchr("._-+/", c)))
            return 0;
    }
    return digits <= TX_ECHO_DIGITS;
}

void tx_rule_echo(tx_pseudo *quarantine_key, const char *cell, char out[TDI_VALUE_MAX])
{
    static const char domain[] = "tdi/quarantine/value/v1"; /* with its \0 */
    unsigned char mac[TX_HMAC_BYTES], *msg;
    size_t len;
    const char *t = cell ? cell : "";

    while (*t == ' ' || *t == '\t')
        t++;
    len = strlen(t);
    while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
        len--;
    if (code_shaped(t, len)) {
        memcpy(out, t, len); /* len <= TX_ECHO_MAX < TDI_VALUE_MAX */
        out[len] = '\0';
        return;
    }
    msg = malloc(sizeof domain + len);
    if (msg) {
        memcpy(msg, domain, sizeof domain);
        memcpy(msg + sizeof domain, t, len);
    }
    if (msg && tx_pseudo_hmac(quarantine_key, msg, sizeof domain + len, mac) == TDI_OK)
        snprintf(out, TDI_VALUE_MAX, "len=%zu hmac=%02x%02x%02x%02x%02x%02x", len, mac[0], mac[1],
                 mac[2], mac[3], mac[4], mac[5]);
    else
        snprintf(out, TDI_VALUE_MAX, "len=%zu", len); /* never the value itself */
    if (msg)
        OPENSSL_cleanse(msg, sizeof domain + len);
    free(msg);
}

void tx_rule_raise(tx_rule_idx idx, const char *item, const char *value, tdi_rejection *rej)
{
    const tx_rule *r = &rules[idx];

    rej->rule_id = r->id;
    rej->item = r->item ? r->item : item;
    rej->message = r->message;
    tdi_clean_value(rej->value, sizeof rej->value, value);
}

/* ---- consistency checks: each returns 1 on a hit, with the value for quarantine and, for rules
 * without an item of their own, the item ---- */

typedef int (*tx_check_fn)(const tx_facts *f, char *value, size_t len, const char **item);

/* Age only when a birth date was given; the value is the age, never the birth date. */
static int check_age(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (!f->age_known || (f->age >= 10 && f->age <= 99))
        return 0;
    snprintf(value, len, "%d", f->age);
    return 1;
}

/* Exact ages or groups: a hit only when the first use is surely later ("30-34>20-24"). */
static int check_first_use(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (f->first_use.lo < 0 || f->age_at_start.lo < 0 || f->first_use.lo <= f->age_at_start.hi)
        return 0;
    snprintf(value, len, "%s>%s", f->first_use.desc, f->age_at_start.desc);
    return 1;
}

static int check_first_injection(const tx_facts *f, char *value, size_t len, const char **item)
{
    int start_year = f->start_ymd / 10000;

    if (f->first_injection_age >= 0 && f->age_at_start.lo >= 0 &&
        f->first_injection_age > f->age_at_start.hi) {
        *item = "first_injection_age";
        snprintf(value, len, "%d>%s", f->first_injection_age, f->age_at_start.desc);
        return 1;
    }
    if (f->first_injection_year > start_year) {
        *item = "first_injection_year";
        snprintf(value, len, "%d>%d", f->first_injection_year, start_year);
        return 1;
    }
    return 0;
}

static int check_injection_never(const tx_facts *f, char *value, size_t len, const char **item)
{
    if (!f->never_injected)
        return 0;
    if (f->first_injection_age >= 0) {
        *item = "first_injection_age";
        snprintf(value, len, "%d", f->first_injection_age);
        return 1;
    }
    if (f->first_injection_year >= 0) {
        *item = "first_injection_year";
        snprintf(value, len, "%d", f->first_injection_year);
        return 1;
    }
    return 0;
}

static int check_route_never(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (!f->route_inject || !f->never_injected)
        return 0;
    snprintf(value, len, "1"); /* the TDI route code of inject */
    return 1;
}

static int check_ost_after(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (f->first_ost_year <= f->start_ymd / 10000)
        return 0;
    snprintf(value, len, "%d>%d", f->first_ost_year, f->start_ymd / 10000);
    return 1;
}

static int check_ost_never(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (!f->never_ost || f->first_ost_year < 0)
        return 0;
    snprintf(value, len, "%d", f->first_ost_year);
    return 1;
}

static int check_in_year(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (f->start_ymd / 10000 == f->year)
        return 0;
    snprintf(value, len, "%d", f->start_ymd / 10000); /* the year only: the day could identify */
    return 1;
}

static int check_not_future(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (f->start_ymd <= f->today)
        return 0;
    snprintf(value, len, "%d", f->start_ymd / 10000);
    return 1;
}

/* The first secondary drug equal to the primary or to an earlier one. */
static int check_secondary(const tx_facts *f, char *value, size_t len, const char **item)
{
    static const char *const names[TX_DRUGS] = {"primary_drug", "secondary_drug_1",
                                                "secondary_drug_2", "secondary_drug_3",
                                                "secondary_drug_4"};

    for (int i = 1; i < TX_DRUGS; i++) {
        for (int j = 0; f->drug[i] && j < i; j++) {
            if (f->drug[j] && strcmp(f->drug[i], f->drug[j]) == 0) {
                *item = names[i];
                snprintf(value, len, "%s", f->drug[i]);
                return 1;
            }
        }
    }
    return 0;
}

static int check_residential(const tx_facts *f, char *value, size_t len, const char **item)
{
    if (f->residential || !f->residential_item)
        return 0;
    *item = f->residential_item;
    snprintf(value, len, "%s", f->residential_value);
    return 1;
}

/* Applied in this order; the first reject wins. Warnings come last, so that a rejected row does
 * not count one. */
static const struct {
    tx_rule_idx rule;
    tx_check_fn check;
} checks[] = {
    {TX_R005, check_age},
    {TX_R009, check_first_use},
    {TX_R010, check_first_injection},
    {TX_R011, check_injection_never},
    {TX_R012, check_route_never},
    {TX_R015, check_ost_after},
    {TX_R016, check_ost_never},
    {TX_R003, check_in_year},
    {TX_R004, check_not_future},
    {TX_R013, check_secondary},
    {TX_R017, check_residential},
};

int tx_rules_check(const tx_facts *f, unsigned long hits[TX_RULE_COUNT], tdi_rejection *rej)
{
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        char value[TDI_VALUE_MAX];
        const char *item = NULL;

        if (!checks[i].check(f, value, sizeof value, &item))
            continue;
        hits[checks[i].rule]++;
        if (rules[checks[i].rule].severity == TX_WARN)
            continue;
        tx_rule_raise(checks[i].rule, item, value, rej);
        return 1;
    }
    return 0;
}
