/*
 * tables_micro: CPU of the tables' counting alone (rpt_family_add over every family, as
 * report_tables_add does), on synthetic records; prints the CPU seconds and a checksum of every
 * count, sum and stay histogram, so two builds of rpt_tables can be compared on the same records.
 *
 *   make -s -j2 build/release/tdi && tests/bench/tables_micro.sh [N] [MODE]
 *
 * MODE "bench": the items tests/bench/gen.sql fills vary, the others are not known (as in the
 * 1M lab); "random": every item varies, a conditional one not applicable one time in three.
 */
#include "report/rpt_outcome.h"
#include "report/rpt_tables.h"

#include "common/tdi_codes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL 4096

/* A base from before rpt_family_sum() (its adds count every cell at once). */
#ifdef TABLES_MICRO_BASE
#define rpt_family_sum(f) ((void)(f))
#endif

static uint64_t seed = 20261206;

static unsigned rnd(unsigned n)
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((seed >> 33) % n);
}

static int varies(int item, int all)
{
    static const int filled[] = {
        TDI_ITEM_SETTING, TDI_ITEM_SEX,         TDI_ITEM_TREATMENT_STATUS, TDI_ITEM_PRIMARY_DRUG,
        TDI_ITEM_ROUTE,   TDI_ITEM_CENTRE_TYPE, TDI_ITEM_AGE_BAND,         TDI_ITEM_STAY_BAND};
    for (size_t i = 0; i < sizeof filled / sizeof *filled; i++)
        if (filled[i] == item)
            return 1;
    return all;
}

static void make_record(tdi_record *rec, int all)
{
    memset(rec, 0, sizeof *rec);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        if (!varies(i, all))
            rec->code[i] = (uint8_t)def->not_known;
        else
            rec->code[i] = def->conditional && rnd(3) == 0 ? TDI_CODE_NOT_APPLICABLE
                                                           : (uint8_t)rnd((unsigned)def->ncodes);
    }
    rec->age = rnd(8) ? 12 + (int)rnd(60) : TDI_AGE_NOT_KNOWN;
    rec->first_use_age = rnd(8) ? 10 + (int)rnd(40) : TDI_AGE_NOT_KNOWN;
    rec->entrant = rnd(10) ? TDI_ENTRANT_YES : TDI_ENTRANT_NO;
    rec->continuing = rnd(20) == 0;
    rec->client = rnd(3) != 0;
    rec->start_ymd = 20250101 + (int)rnd(12) * 100 + (int)rnd(28);
    rec->end_ymd = rnd(3) ? 0 : 20251201 + (int)rnd(28);
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    return (h ^ x) * 1099511628211ULL;
}

static uint64_t checksum(const rpt_family *f)
{
    size_t n = f->def->nvariants * f->rows.n * f->cols.n;
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < n; i++) {
        h = mix(h, f->value[i]);
        if (f->sum)
            h = mix(mix(h, f->sum[i]), f->sumsq[i]);
    }
    for (size_t i = 0; f->stays && i < f->def->nvariants * f->rows.n * (RPT_STAY_CAP + 1); i++)
        h = mix(h, f->stays[i]);
    return h;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int all = argc > 2 && strcmp(argv[2], "random") == 0;
    static tdi_record pool[POOL];
    rpt_family *f = calloc(rpt_nfamilies, sizeof *f);
    struct timespec t0, t1;
    uint64_t h = 0;

    if (!f)
        return 1;
    for (size_t i = 0; i < POOL; i++)
        make_record(&pool[i], all);
    for (size_t k = 0; k < rpt_nfamilies; k++) {
        if (rpt_family_init(&f[k], &rpt_families[k]) != TDI_OK)
            return 1;
        f[k].year = 2025;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (long i = 0; i < n; i++)
        for (size_t k = 0; k < rpt_nfamilies; k++)
            rpt_family_add(&f[k], &pool[i % POOL]);
    for (size_t k = 0; k < rpt_nfamilies; k++)
        rpt_family_sum(&f[k]);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    for (size_t k = 0; k < rpt_nfamilies; k++) {
        h = mix(h, checksum(&f[k]));
        rpt_family_free(&f[k]);
    }
    printf("%ld records, %s: %.3f s CPU, checksum %016llx\n", n, all ? "random" : "bench",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           (unsigned long long)h);
    free(f);
    return 0;
}
