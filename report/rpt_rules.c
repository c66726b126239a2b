/*
 * rpt_rules: the cross-field rules of a published episode (rpt_rules.h). Each is a
 * contradiction tdi's own transform never lets out (its rule, or its derivation), so a file
 * from tdi breaks none; a record that does was changed or made elsewhere.
 */
#include "rpt_rules.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define A(name) it->attr[attr_##name]

enum {
    attr_setting = 11,
    attr_centre_type = 12,
    attr_residential_approach = 13,
    attr_planned_duration = 14,
    attr_detox_phase = 15,
    attr_age_band = 17,
    attr_route = 27,
    attr_first_use_age_band = 29,
    attr_injecting = 35,
    attr_years_since_first_injection = 36,
    attr_ost = 40,
    attr_years_since_first_ost = 41,
};

static int is(const char *v, const char *code)
{
    return v && strcmp(v, code) == 0;
}

/* An age group's bounds: "15-19" 15..19, "65+" 65..INT_MAX; 0 for "99" (not known). */
static int band(const char *v, int *lo, int *hi)
{
    char *end;

    if (!v || is(v, "99"))
        return 0;
    *lo = (int)strtol(v, &end, 10);
    *hi = *end == '-' ? (int)strtol(end + 1, NULL, 10) : INT_MAX;
    return 1;
}

/* R009: the whole group at first use lies above the age group at entry. */
static int first_use_after_entry(const rpt_item *it)
{
    int alo, ahi, flo, fhi;
    return band(A(age_band), &alo, &ahi) && band(A(first_use_age_band), &flo, &fhi) && flo > ahi;
}

static int injection_years_never(const rpt_item *it)
{
    return A(years_since_first_injection) && is(A(injecting), "1");
}

static int route_inject_never(const rpt_item *it)
{
    return is(A(route), "1") && is(A(injecting), "1");
}

static int ost_years_never(const rpt_item *it)
{
    return A(years_since_first_ost) && is(A(ost), "1");
}

static int residential(const char *setting)
{
    return is(setting, "residential_community") || is(setting, "residential_hospital");
}

static int residential_outside(const rpt_item *it)
{
    return (A(residential_approach) || A(planned_duration) || A(detox_phase)) &&
           !residential(A(setting));
}

/* The centre type tdi derives from the setting class (README, Setting typology). */
static int centre_type_mismatch(const rpt_item *it)
{
    static const char *const map[][2] = {
        {"outpatient", "1"},
        {"low_threshold", "5"},
        {"general_practitioner", "4"},
        {"prison", "3"},
        {"residential_community", "2"},
        {"residential_hospital", "2"},
        {"inpatient_detox", "2"},
        {"other", "6"},
        {"not_known", "99"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (is(A(setting), map[i][0]))
            return !is(A(centre_type), map[i][1]);
    return 0; /* an unknown class: the schema check says so */
}

static int ever_injected(const char *v)
{
    return is(v, "2") || is(v, "2.1") || is(v, "2.2") || is(v, "2.3");
}

static int injector_without_years(const rpt_item *it)
{
    return ever_injected(A(injecting)) && !A(years_since_first_injection);
}

static int ost_without_years(const rpt_item *it)
{
    return (is(A(ost), "2") || is(A(ost), "3")) && !A(years_since_first_ost);
}

const rpt_rule rpt_rules[] = {
    {"R009", "age group at first use above the age group at treatment start",
     first_use_after_entry},
    {"R011", "years since first injection for a person who never injected", injection_years_never},
    {"R012", "route inject for a person who never injected", route_inject_never},
    {"R016", "years since first OST for a person never in OST", ost_years_never},
    {"R017", "residential attribute for a non-residential setting", residential_outside},
    {"centre-type", "centre type is not the one of the setting class", centre_type_mismatch},
    {"injection-years", "an ever-injector without years since first injection",
     injector_without_years},
    {"ost-years", "a person ever in OST without years since first OST", ost_without_years},
};

const int rpt_nrules = (int)(sizeof rpt_rules / sizeof rpt_rules[0]);
