/*
 * rpt_outcome: the residential-outcome tables' own parts (tables 40-42; README.md, *Setting
 * typology*): which records a family counts (its base: entrants, or episodes discharged in the
 * reporting year), the stays kept for a median, the values derived from the counts (completion
 * rate, share referred to aftercare, median length of stay) and when each is withheld, and the
 * relations between the outcome tables that the cell predicates of rpt_link_tables() cannot see
 * (the two residential classes add up to the approach tables' total row).
 *
 * The counts are cells like any other (rpt_tables.h) and are suppressed in the body's one linked
 * set. A derived value is not a cell: it is written after its row's counts and published only
 * where its base count (the row's discharged episodes) is published and at least the threshold,
 * and its numerator (a rate's) is published: a median or a rate of a small group discloses.
 */
#ifndef RPT_OUTCOME_H
#define RPT_OUTCOME_H

#include "rpt_tables.h"

#include "../disclosure/disclosure.h"

#include "../common/tdi_record.h"
#include "../common/tdi_status.h"

#include <stddef.h>

/* Stays are counted by the day up to this (10 years); a longer one counts as this long. */
#define RPT_STAY_CAP 3660

/* The dimensions and variants of the outcome tables (rpt_tables.c's family lines). */
extern const rpt_dim_def rpt_setting_rows, rpt_approach_rows, rpt_duration_rows;
extern const rpt_dim_def rpt_completion_cols, rpt_aftercare_cols, rpt_stay_cols;
extern const rpt_dim_def rpt_centre_rows, rpt_client_cols;
extern const rpt_variant_def rpt_clients_all[1], rpt_residential_entrants[1];
extern const rpt_variant_def rpt_by_duration[3], rpt_detox_only[1], rpt_discharged_all[1];
extern const rpt_derived rpt_completion_derived[2], rpt_aftercare_derived[1];

/* 1 when rec counts in family f's base (rpt_base); the TDI population is checked by the caller.
 * Inline: asked per record and family. */
static inline int rpt_outcome_counts(const rpt_family *f, const tdi_record *rec)
{
    if (f->def->base == RPT_BASE_DISCHARGED)
        return rec->end_ymd != 0 && rec->end_ymd / 10000 == f->year;
    if (f->def->base == RPT_BASE_CLIENTS)
        return rec->client;
    return rec->entrant != TDI_ENTRANT_NO && !rec->continuing;
}

/* The stay histograms of a family with a median (else nothing). TDI_ERR_INTERNAL when out of
 * memory (logged). Released by rpt_outcome_free(). */
tdi_status rpt_outcome_init(rpt_family *f);
void rpt_outcome_free(rpt_family *f);

/* Keeps rec's stay for the medians of variant v, row r and the aggregates above it. */
void rpt_outcome_add(rpt_family *f, size_t v, int r, const tdi_record *rec);

/* Derived value d of variant v, row r: 1 when withheld (file comment), else 0 with *x its value
 * and *defined 0 when there is none (no discharged episode). */
int rpt_outcome_value(const rpt_family *f, size_t v, size_t r, size_t d, unsigned long threshold,
                      double *x, int *defined);

/* Relations between outcome families of fams[0..n) (grid k is set grid k) that predicates miss:
 * per column, the approach table's total row (all durations) = the two residential classes'
 * rows of the setting table of the same columns; per centre type, the entrants of the clients
 * in treatment (43.1.1) = 8.1.1's total row. TDI_ERR_INTERNAL when out of memory. */
tdi_status rpt_outcome_link(const rpt_family *fams, size_t n, dc_set *set);

/* A cell predicate's item masks (one per tdi_item, all ones: no restriction) in a family of
 * base base: an item every record of the base has (a discharge reason among discharged
 * episodes) restricted to every code that can occur is no restriction. Returns the base. */
uint64_t rpt_outcome_normalise(rpt_base base, uint64_t *mask);

/* A family line of tables 40-41 (rpt_tables.c). */
#define RPT_OUTCOME(id, title, rows, cols, variants, derived)                                      \
    {                                                                                              \
        id, title, &rows, &cols, variants, sizeof variants / sizeof *variants,                     \
            sizeof variants / sizeof *variants > 1, 1, NULL, 0, NULL, 0, RPT_BASE_DISCHARGED,      \
            derived, sizeof derived / sizeof *derived, 1                                           \
    }

#endif
