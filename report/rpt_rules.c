/*
 * rpt_rules: the cross-field rules of a published episode (rpt_rules.h). Each is a
 * contradiction tdi's own transform never lets out (its rule, or its derivation), so a file
 * from tdi breaks none; a record that does was changed or made elsewhere (R033 and R034: the
 * sender warns of a discharge reason or aftercare without an end date and leaves it out).
 */
#include "rpt_rules.h"

#include "../common/tdi_codes.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* An item's value; rpt_reader_next has put an absent item's default (not known) in. */
#define A(ITEM) it->attr[RPT_ATTR_ITEMS + TDI_ITEM_##ITEM]
/* The attributes that are no coded item, by their index in rpt_attrs (rpt_read.h). */
#define F(FIELD) it->attr[RPT_ATTR_##FIELD]

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
    return band(A(AGE_BAND), &alo, &ahi) && band(A(FIRST_USE_AGE_BAND), &flo, &fhi) && flo > ahi;
}

static int injection_years_never(const rpt_item *it)
{
    return A(YEARS_SINCE_FIRST_INJECTION) && is(A(INJECTING), "1");
}

static int route_inject_never(const rpt_item *it)
{
    return is(A(ROUTE), "1") && is(A(INJECTING), "1");
}

static int ost_years_never(const rpt_item *it)
{
    return A(YEARS_SINCE_FIRST_OST) && is(A(OST), "1");
}

static int residential(const char *setting)
{
    return is(setting, "residential_community") || is(setting, "residential_hospital");
}

static int residential_outside(const rpt_item *it)
{
    return (A(RESIDENTIAL_APPROACH) || A(PLANNED_DURATION) || A(DETOX_PHASE)) &&
           !residential(A(SETTING));
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
        if (is(A(SETTING), map[i][0]))
            return !is(A(CENTRE_TYPE), map[i][1]);
    return 0; /* an unknown class: the schema check says so */
}

static int ever_injected(const char *v)
{
    return is(v, "2") || is(v, "2.1") || is(v, "2.2") || is(v, "2.3");
}

static int injector_without_years(const rpt_item *it)
{
    return ever_injected(A(INJECTING)) && !A(YEARS_SINCE_FIRST_INJECTION);
}

static int ost_without_years(const rpt_item *it)
{
    return (is(A(OST), "2") || is(A(OST), "3")) && !A(YEARS_SINCE_FIRST_OST);
}

/* An episode with no end date: stay band open, or none (a source without discharge data). */
static int not_closed(const rpt_item *it)
{
    return !A(STAY_BAND) || is(A(STAY_BAND), "open");
}

static int reason_not_closed(const rpt_item *it)
{
    return A(DISCHARGE_REASON) && not_closed(it);
}

static int aftercare_not_closed(const rpt_item *it)
{
    return A(AFTERCARE) && not_closed(it);
}

static int continuing_entrant(const rpt_item *it)
{
    return is(F(CONTINUING), "1") && !is(F(ENTRANT), "0");
}

/* A continuing client started before the file's year (the schema checked the year's digits). */
static int continuing_year(const rpt_item *it)
{
    return is(F(CONTINUING), "1") && F(YEAR) && atoi(F(YEAR)) >= it->file_year;
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
    {"R033", "a discharge reason for an episode without an end date (stay band open or left out)",
     reason_not_closed},
    {"R034", "aftercare for an episode without an end date (stay band open or left out)",
     aftercare_not_closed},
    {"continuing-entrant", "a continuing client that is not entrant 0", continuing_entrant},
    {"continuing-year", "a continuing client not of a year before the file's", continuing_year},
};

const int rpt_nrules = (int)(sizeof rpt_rules / sizeof rpt_rules[0]);
