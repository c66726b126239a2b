/*
 * tx_checks: the consistency checks made on the facts derived from a row (see tx_checks.h).
 * Parse-level rules (R001, R002, R006, R008, R014, R020) are raised where transform.c meets
 * them; R007 and R018 by the run. The rule table is common/tdi_rules.c.
 */
#include "tx_checks.h"

#include "../common/tdi_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int check_not_future(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (f->start_ymd <= f->today)
        return 0;
    snprintf(value, len, "%d", f->start_ymd / 10000);
    return 1;
}

static int check_end_before_start(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (!f->end_ymd || f->end_ymd >= f->start_ymd)
        return 0;
    snprintf(value, len, "%ld days", tdi_days_between(f->start_ymd, f->end_ymd));
    return 1;
}

static int check_end_not_future(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (f->end_ymd <= f->today)
        return 0;
    snprintf(value, len, "%d", f->end_ymd / 10000);
    return 1;
}

/* Longer than TX_STAY_YEARS_MAX years: the end (today for an open stay) after the start's day
 * that many years later; YYYYMMDD numbers order as dates, 29 February included. */
static int check_long_stay(const tx_facts *f, char *value, size_t len, const char **item)
{
    int until = f->end_ymd ? f->end_ymd : f->today;

    (void)item;
    if ((!f->end_ymd && !f->stay_open) || until <= f->start_ymd + TX_STAY_YEARS_MAX * 10000)
        return 0;
    snprintf(value, len, "%s %ld days", f->end_ymd ? "closed" : "open",
             tdi_days_between(f->start_ymd, until));
    return 1;
}

static int check_open_reason(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (!f->open_reason)
        return 0;
    snprintf(value, len, "%s", f->open_reason);
    return 1;
}

static int check_open_aftercare(const tx_facts *f, char *value, size_t len, const char **item)
{
    (void)item;
    if (!f->open_aftercare)
        return 0;
    snprintf(value, len, "%s", f->open_aftercare);
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
    tdi_rule_idx rule;
    tx_check_fn check;
} checks[] = {
    {TDI_R005, check_age},
    {TDI_R009, check_first_use},
    {TDI_R010, check_first_injection},
    {TDI_R011, check_injection_never},
    {TDI_R012, check_route_never},
    {TDI_R015, check_ost_after},
    {TDI_R016, check_ost_never},
    {TDI_R004, check_not_future},
    {TDI_R030, check_end_before_start},
    {TDI_R031, check_end_not_future},
    {TDI_R013, check_secondary},
    {TDI_R017, check_residential},
    {TDI_R032, check_long_stay},
    {TDI_R033, check_open_reason},
    {TDI_R034, check_open_aftercare},
};

int tx_checks_apply(const tx_facts *f, tdi_rule_hits *hits, tdi_rejection *rej)
{
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        char value[TDI_VALUE_MAX];
        const char *item = NULL;

        if (!checks[i].check(f, value, sizeof value, &item))
            continue;
        if (tdi_rule_at(checks[i].rule)->severity == TDI_RULE_WARN) {
            tdi_rule_raise(hits, checks[i].rule, item, value, NULL);
            continue;
        }
        tdi_rule_raise(hits, checks[i].rule, item, value, rej);
        return 1;
    }
    return 0;
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
    if (!msg) {
        snprintf(out, TDI_VALUE_MAX, "len=%zu", len); /* never the value itself */
        return;
    }
    memcpy(msg, domain, sizeof domain);
    memcpy(msg + sizeof domain, t, len);
    tx_pseudo_hmac(quarantine_key, msg, sizeof domain + len, mac);
    snprintf(out, TDI_VALUE_MAX, "len=%zu hmac=%02x%02x%02x%02x%02x%02x", len, mac[0], mac[1],
             mac[2], mac[3], mac[4], mac[5]);
    explicit_bzero(msg, sizeof domain + len);
    free(msg);
}
