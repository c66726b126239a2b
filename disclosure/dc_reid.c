/* dc_reid: the re-identification check's policy (see dc_reid.h). */
#include "dc_reid.h"

#include "../common/tdi_log.h"

#include <stdio.h>
#include <string.h>

void dc_reid_names(unsigned mask, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (int q = 0; q < TDI_QI_COUNT && used < len; q++)
        if (mask & 1u << q)
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "",
                                     tdi_qi_name((tdi_qi)q));
}

unsigned dc_reid_mask_of(const char *names)
{
    char copy[DC_REID_NAMES_MAX], *save = NULL;
    unsigned mask = 0;

    snprintf(copy, sizeof copy, "%s", names);
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        int q = tdi_qi_by_name(t);
        if (q >= 0 && tdi_qi_blankable((tdi_qi)q))
            mask |= 1u << q;
    }
    return mask;
}

/* The figures f of the body's records with blank blanked, on the summary and (kept for the
 * manifest) as JSON. Returns 1 when k reaches k_min (or there is nothing). */
static int report(const dc_reid_body *body, unsigned blank, const dc_reid_figures *f,
                  dc_reid_outcome *out)
{
    unsigned by = body->reid->qi_mask & ~blank;
    int k_min = body->reid->k_min;
    char bnames[DC_REID_NAMES_MAX], gnames[DC_REID_NAMES_MAX];
    double highest = f->k ? 1.0 / (double)f->k : 0;
    double average = f->records ? f->average : 0;
    const char *s0 = tdi_item_get(dc_qi_sensitive[0])->name;
    const char *s1 = tdi_item_get(dc_qi_sensitive[1])->name;
    const char *s2 = tdi_item_get(dc_qi_sensitive[2])->name;
    const char *s3 = tdi_item_get(dc_qi_sensitive[3])->name;

    dc_reid_names(blank, bnames, sizeof bnames);
    dc_reid_names(by, gnames, sizeof gnames);
    printf("disclosure %s: blanked %s: %lu records in %lu groups by %s; k %lu (minimum %d), %lu "
           "at risk, highest risk %.4f, average risk %.4f; fewest distinct per group: %s %lu, %s "
           "%lu, %s %lu, %s %lu\n",
           body->name, blank ? bnames : "none", f->records, f->groups, by ? gnames : "nothing",
           f->k, k_min, f->at_risk, highest, average, s0, f->l[0], s1, f->l[1], s2, f->l[2], s3,
           f->l[3]);
    snprintf(out->json, sizeof out->json,
             "{\"quasiIdentifiers\":\"%s\",\"blanked\":\"%s\",\"kMin\":%d,\"records\":%lu,"
             "\"groups\":%lu,\"k\":%lu,\"recordsAtRisk\":%lu,\"highestRisk\":%.4f,"
             "\"averageRisk\":%.4f,\"fewestDistinct\":{\"%s\":%lu,\"%s\":%lu,\"%s\":%lu,\"%s\":"
             "%lu}}",
             gnames, bnames, k_min, f->records, f->groups, f->k, f->at_risk, highest, average, s0,
             f->l[0], s1, f->l[1], s2, f->l[2], s3, f->l[3]);
    out->k = f->k;
    out->records = f->records;
    return (f->k >= (unsigned long)k_min || f->records == 0) && f->legacy == 0;
}

/* Why no blanking tried reaches k_min. */
static void failed(const dc_reid_body *body, unsigned held, unsigned long legacy,
                   dc_reid_outcome *out)
{
    if (legacy)
        snprintf(out->why, sizeof out->why,
                 "%lu of its records were sent before tdi kept their quasi-identifiers "
                 "(state schema 3): run 'tdi run --full' once",
                 legacy);
    else if (!body->partial)
        snprintf(out->why, sizeof out->why,
                 "disclosure control not met: groups smaller than k_min %d remain with "
                 "every quasi-identifier of blank_order blanked",
                 body->reid->k_min);
    else
        snprintf(out->why, sizeof out->why,
                 "disclosure control not met at the body's blanking (%s): a new "
                 "blanking changes every record, and source %s was read incrementally; "
                 "run 'tdi run --full'",
                 held ? body->held : "none", body->partial);
    tdi_error("body %s: %s", body->name, out->why);
}

/* The blanking tried first: the held one on a partial read, else none (the least). */
static unsigned first_blank(const dc_reid_body *body)
{
    return body->partial && body->held ? dc_reid_mask_of(body->held) : 0;
}

unsigned dc_reid_first_mask(const dc_reid_body *body)
{
    return body->reid->qi_mask & ~first_blank(body);
}

tdi_status dc_reid_check(const dc_reid_body *body, dc_reid_group_fn group, void *arg,
                         dc_reid_outcome *out)
{
    const tdi_reid_config *reid = body->reid;
    unsigned held = body->held ? dc_reid_mask_of(body->held) : 0, blank = 0;
    unsigned blanks[TDI_QI_COUNT + 1], masks[TDI_QI_COUNT + 1];
    dc_reid_figures figures[TDI_QI_COUNT + 1];
    char names[DC_REID_NAMES_MAX];
    size_t nlevels;
    tdi_status st;

    memset(out, 0, sizeof *out);
    memset(figures, 0, sizeof figures);
    /* The blankings to try, least first: with a full read every step of blank_order, else only
     * the body's own. The least is grouped first, the others only if it falls short. */
    nlevels = body->partial ? 1 : reid->nblank + 1;
    for (size_t n = 0; n < nlevels; n++) {
        blanks[n] = !n ? first_blank(body) : blanks[n - 1] | 1u << reid->blank[n - 1];
        masks[n] = reid->qi_mask & ~blanks[n];
    }
    st = group(arg, masks, nlevels, reid->k_min, figures);
    if (st != TDI_OK)
        return st;
    for (size_t n = 0; n < nlevels && !out->met; n++) {
        blank = blanks[n];
        out->met = report(body, blank, &figures[n], out);
    }
    if (!out->met) {
        failed(body, held, figures[0].legacy, out);
        return TDI_OK;
    }
    out->blank_mask = blank;
    dc_reid_names(blank, out->blanked, sizeof out->blanked);
    if (blank)
        printf("disclosure %s: k reached with %s blanked\n", body->name, out->blanked);
    out->changed = blank != held;
    /* Nothing sent before (held NULL): there is nothing to send again. */
    if (out->changed && body->held) {
        dc_reid_names(held, names, sizeof names);
        tdi_info("body %s: blanking changes from %s to %s: every record it holds is sent again",
                 body->name, held ? names : "none", blank ? out->blanked : "none");
    }
    return TDI_OK;
}
