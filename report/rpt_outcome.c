/*
 * rpt_outcome: owns the residential-outcome tables' dimensions and variants (data), their base,
 * the stays kept for medians, the derived values and when they are withheld, and the relations
 * between the outcome tables that cell predicates miss (see rpt_outcome.h); likewise for the
 * clients in treatment (43.1) and the residential entrants (43.2).
 */
#include "rpt_outcome.h"

#include "../common/tdi_codes.h"
#include "../common/tdi_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the definitions ---- */

const rpt_dim_def rpt_setting_rows = {"setting", RPT_DIM_CODES, TDI_ITEM_SETTING, NULL, NULL,
                                      0,         NULL};
const rpt_dim_def rpt_approach_rows = {
    "residential_approach", RPT_DIM_CODES, TDI_ITEM_RESIDENTIAL_APPROACH, NULL, NULL, 0, NULL};
const rpt_dim_def rpt_duration_rows = {
    "planned_duration", RPT_DIM_CODES, TDI_ITEM_PLANNED_DURATION, NULL, NULL, 0, NULL};

/* Completed against every other reason; a reason not known apart. */
static const rpt_map_cat completion[] = {
    {"completed", "completed"},
    {"not_completed", "dropped_out referred_on transferred incarcerated died other"},
    {"not_known", "not_known"},
};
const rpt_dim_def rpt_completion_cols = {"completion", RPT_DIM_MAP, TDI_ITEM_DISCHARGE_REASON,
                                         NULL,         completion,  COUNT(completion),
                                         NULL};

/* Referred to any continuing care, to none, not known. */
static const rpt_map_cat aftercare[] = {
    {"referred", "outpatient self_help housing other"},
    {"none", "none"},
    {"not_known", "not_known"},
};
const rpt_dim_def rpt_aftercare_cols = {
    "aftercare_referral", RPT_DIM_MAP, TDI_ITEM_AFTERCARE, NULL, aftercare, COUNT(aftercare), NULL};

/* Against the detox phase's 28 days; a discharged episode's stay is never open. */
static const rpt_map_cat stay_28[] = {
    {"within_28", "0-7 8-28"},
    {"over_28", "29-90 91-180 181-365 366+"},
    {"not_known", "not_known"},
};
const rpt_dim_def rpt_stay_cols = {"stay_28",      RPT_DIM_MAP, TDI_ITEM_STAY_BAND, "open", stay_28,
                                   COUNT(stay_28), NULL};

/* Table 43.1: type of treatment centre x the clients who continue from an earlier year, those
 * who entered in it, and the total, each person once (tdi_record.client). */
const rpt_dim_def rpt_centre_rows = {
    "centre_type", RPT_DIM_CODES, TDI_ITEM_CENTRE_TYPE, NULL, NULL, 0, NULL};
static const rpt_map_cat client_status[] = {{"continuing", ""}, {"entrants", ""}};
const rpt_dim_def rpt_client_cols = {"client_status", RPT_DIM_CONTINUING,   -1,  NULL,
                                     client_status,   COUNT(client_status), NULL};
const rpt_variant_def rpt_clients_all[1] = {
    {"all", "All clients in treatment in the year, each person once", -1, NULL, -1, NULL},
};
/* Table 43.2: entrants of the residential settings (the items apply to them only). */
const rpt_variant_def rpt_residential_entrants[1] = {
    {"all", "Treatment entrants in residential settings", -1, NULL, -1, NULL},
};

/* .1 every planned duration = .2 short + .3 long + duration not known. */
const rpt_variant_def rpt_by_duration[3] = {
    {"all", "All planned durations", -1, NULL, -1, NULL},
    {"short", "Planned stay of 3 months or less", TDI_ITEM_PLANNED_DURATION, "short", -1, NULL},
    {"long", "Planned stay of more than 3 months", TDI_ITEM_PLANNED_DURATION, "long", -1, NULL},
};
const rpt_variant_def rpt_detox_only[1] = {
    {"detox_phase", "Programmes starting with a detox phase", TDI_ITEM_DETOX_PHASE, "yes", -1,
     NULL},
};
const rpt_variant_def rpt_discharged_all[1] = {
    {"all", "All episodes discharged in the year", -1, NULL, -1, NULL},
};

const rpt_derived rpt_completion_derived[2] = {
    {"completion_rate", RPT_DERIVED_RATE, "completed"},
    {"median_stay", RPT_DERIVED_MEDIAN, NULL},
};
const rpt_derived rpt_aftercare_derived[1] = {
    {"aftercare_share", RPT_DERIVED_RATE, "referred"},
};

/* ---- counting ---- */

static int has_median(const rpt_family_def *def)
{
    for (size_t d = 0; d < def->nderived; d++)
        if (def->derived[d].kind == RPT_DERIVED_MEDIAN)
            return 1;
    return 0;
}

tdi_status rpt_outcome_init(rpt_family *f)
{
    if (!has_median(f->def))
        return TDI_OK;
    f->stays = calloc(f->def->nvariants * f->rows.n * (RPT_STAY_CAP + 1), sizeof *f->stays);
    if (!f->stays) {
        tdi_error("table %s: out of memory", f->def->id);
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}

void rpt_outcome_free(rpt_family *f)
{
    free(f->stays);
    f->stays = NULL;
}

static uint32_t *stays_of(const rpt_family *f, size_t v, size_t r)
{
    return f->stays + (v * f->rows.n + r) * (RPT_STAY_CAP + 1);
}

void rpt_outcome_add(rpt_family *f, size_t v, int r, const tdi_record *rec)
{
    long days = tdi_record_stay_days(rec);

    if (!f->stays || days < 0)
        return;
    for (; r >= 0; r = f->rows.parent[r])
        stays_of(f, v, (size_t)r)[days < RPT_STAY_CAP ? days : RPT_STAY_CAP]++;
}

/* The k-th smallest stay (0-based) of histogram h. */
static long nth_stay(const uint32_t *h, unsigned long k)
{
    unsigned long seen = 0;

    for (long d = 0; d <= RPT_STAY_CAP; d++) {
        seen += h[d];
        if (seen > k)
            return d;
    }
    return RPT_STAY_CAP;
}

/* The category of code in d, or -1. */
static int cat_of(const rpt_dim *d, const char *code)
{
    for (size_t i = 0; code && i < d->n; i++)
        if (strcmp(d->code[i], code) == 0)
            return (int)i;
    return -1;
}

int rpt_outcome_value(const rpt_family *f, size_t v, size_t r, size_t d, unsigned long threshold,
                      double *x, int *defined)
{
    const rpt_derived *der = &f->def->derived[d];
    size_t base = dc_cell(&f->grid, v, r, f->cols.n - 1); /* the row's total */
    unsigned long n = f->value[base];
    int num = cat_of(&f->cols, der->numerator);

    *x = 0;
    *defined = 0;
    if (n == 0)
        return 0;
    if (f->suppressed[base] || n < threshold)
        return 1;
    if (der->kind == RPT_DERIVED_RATE) {
        size_t c;
        if (num < 0)
            return 1;
        c = dc_cell(&f->grid, v, r, (size_t)num);
        if (f->suppressed[c])
            return 1;
        *x = 100.0 * (double)f->value[c] / (double)n;
    } else {
        const uint32_t *h = stays_of(f, v, r);
        *x = n % 2 ? (double)nth_stay(h, n / 2)
                   : ((double)nth_stay(h, n / 2 - 1) + (double)nth_stay(h, n / 2)) / 2;
    }
    *defined = 1;
    return 0;
}

/* ---- links ---- */

static const rpt_family *find(const rpt_family *fams, size_t n, const rpt_dim_def *rows,
                              const rpt_dim_def *cols, size_t *at)
{
    for (size_t f = 0; f < n; f++)
        if (fams[f].def->rows == rows && fams[f].def->cols == cols &&
            fams[f].def->base == RPT_BASE_DISCHARGED && fams[f].def->variants[0].item < 0) {
            *at = f;
            return &fams[f];
        }
    return NULL;
}

/* 43.1.1's entrants are each person's entrant, counted once: per centre type (and the total)
 * the cell is 8.1.1's total row (every treatment status) of that centre type. */
static tdi_status link_clients(const rpt_family *fams, size_t n, dc_set *set)
{
    size_t fc = n, fe = n;
    tdi_status st = TDI_OK;

    for (size_t f = 0; f < n; f++) {
        if (fams[f].def->base == RPT_BASE_CLIENTS && fams[f].def->cols == &rpt_client_cols)
            fc = f;
        if (strcmp(fams[f].def->id, "8.1") == 0 && fams[f].def->first == 1)
            fe = f;
    }
    if (fc == n || fe == n)
        return TDI_OK;
    for (size_t r = 0; r < fams[fc].rows.n && st == TDI_OK; r++) {
        int c = cat_of(&fams[fe].cols, fams[fc].rows.code[r]);
        size_t pair[2];

        if (c < 0)
            continue;
        pair[0] = dc_set_cell(set, fc, dc_cell(&fams[fc].grid, 0, r, 1));
        pair[1] = dc_set_cell(set, fe, dc_cell(&fams[fe].grid, 0, fams[fe].rows.n - 1, (size_t)c));
        st = dc_set_relate(set, pair, 2, 1);
    }
    return st;
}

tdi_status rpt_outcome_link(const rpt_family *fams, size_t n, dc_set *set)
{
    static const rpt_dim_def *const cols[] = {&rpt_completion_cols, &rpt_aftercare_cols};
    tdi_status st = link_clients(fams, n, set);

    for (size_t k = 0; k < COUNT(cols) && st == TDI_OK; k++) {
        size_t fs, fa;
        const rpt_family *s = find(fams, n, &rpt_setting_rows, cols[k], &fs);
        const rpt_family *a = find(fams, n, &rpt_approach_rows, cols[k], &fa);
        int comm = s ? cat_of(&s->rows, "residential_community") : -1;
        int hosp = s ? cat_of(&s->rows, "residential_hospital") : -1;

        if (!s || !a || comm < 0 || hosp < 0)
            continue;
        for (size_t c = 0; c < a->cols.n && st == TDI_OK; c++) {
            size_t rel[3] = {
                dc_set_cell(set, fa, dc_cell(&a->grid, 0, a->rows.n - 1, c)),
                dc_set_cell(set, fs, dc_cell(&s->grid, 0, (size_t)comm, c)),
                dc_set_cell(set, fs, dc_cell(&s->grid, 0, (size_t)hosp, c)),
            };
            st = dc_set_relate(set, rel, 3, 1);
        }
    }
    return st;
}

uint64_t rpt_outcome_normalise(rpt_base base, uint64_t *mask)
{
    static const tdi_item always[] = {TDI_ITEM_DISCHARGE_REASON, TDI_ITEM_AFTERCARE,
                                      TDI_ITEM_STAY_BAND};

    for (size_t k = 0; base == RPT_BASE_DISCHARGED && k < COUNT(always); k++) {
        const tdi_item_def *def = tdi_item_get(always[k]);
        uint64_t all = (UINT64_C(1) << def->ncodes) - 1;
        int open = tdi_code_index(def, "open"); /* a discharged episode's stay is never open */
        uint64_t none = open < 0 ? 0 : UINT64_C(1) << open;

        if (((mask[always[k]] | none) & all) == all)
            mask[always[k]] = ~UINT64_C(0);
    }
    return (uint64_t)base;
}
