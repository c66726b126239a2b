/*
 * tdi_config_reid: the re-identification settings of the configuration (k_min,
 * quasi_identifiers, blank_order; README.md, "Re-identification check"): read in the global part
 * or a body's section, and each body's settings resolved from its own, the global ones and the
 * defaults. Part of tdi_config (tdi_config_int.h).
 */
#include "tdi_config.h"
#include "tdi_config_int.h"

#include <stdlib.h>
#include <string.h>

/* The quasi-identifier list of key (quasi_identifiers or blank_order) into r. */
static void parse_qi_list(parser *p, unsigned long line, const char *key, const char *val,
                          tdi_reid_config *r)
{
    char *copy = tdi_cfg_dup(p, val), *save = NULL;
    int blank = strcmp(key, "blank_order") == 0;

    if (!copy)
        return;
    if ((blank && r->blank_set) || (!blank && r->qi_mask)) {
        tdi_cfg_perr(p, line, "'%s' is set twice in this section", key);
        free(copy);
        return;
    }
    r->blank_set |= blank;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        int qi = tdi_qi_by_name(tok);

        if (blank && strcmp(tok, "none") == 0)
            continue;
        if (qi < 0) {
            tdi_cfg_perr(
                p, line,
                "'%s' in %s is not a quasi-identifier (sex, age_band, nationality, region, "
                "year, centre_type, quarter, centre)",
                tok, key);
        } else if (blank && !tdi_qi_blankable((tdi_qi)qi)) {
            tdi_cfg_perr(p, line, "'%s' in blank_order cannot be blanked (year and centre cannot)",
                         tok);
        } else if (blank) {
            for (size_t i = 0; i < r->nblank; i++)
                if (r->blank[i] == qi) {
                    tdi_cfg_perr(p, line, "'%s' is twice in blank_order", tok);
                    qi = -1;
                }
            if (qi >= 0)
                r->blank[r->nblank++] = (uint8_t)qi;
        } else {
            r->qi_mask |= 1u << qi;
        }
    }
    free(copy);
}

/* k_min, quasi_identifiers, blank_order: in the global part or a body's; 1 when key is one. */
int tdi_cfg_reid_key(parser *p, unsigned long line, const char *key, const char *val,
                     tdi_reid_config *r)
{
    long n;

    if (strcmp(key, "k_min") == 0) {
        if (!tdi_cfg_whole_number(val, 1, 1000, &n))
            tdi_cfg_perr(p, line, "k_min must be a whole number from 1 to 1000, not '%s'", val);
        else if (r->k_min)
            tdi_cfg_perr(p, line, "'%s' is set twice in this section", key);
        else
            r->k_min = (int)n;
    } else if (strcmp(key, "quasi_identifiers") == 0 || strcmp(key, "blank_order") == 0) {
        parse_qi_list(p, line, key, val, r);
    } else {
        return 0;
    }
    return 1;
}

/* The body's re-identification settings: its own, else the global ones, else the defaults
 * (README.md, "Re-identification check"). Every blanked quasi-identifier must be one. */
void tdi_cfg_resolve_reid(parser *p, tdi_body_config *b)
{
    static const tdi_qi default_blank[] = {TDI_QI_QUARTER, TDI_QI_REGION, TDI_QI_NATIONALITY,
                                           TDI_QI_AGE_BAND, TDI_QI_SEX};
    const tdi_reid_config *g = &p->cfg->reid;
    tdi_reid_config *r = &b->reid;

    if (!r->k_min)
        r->k_min = g->k_min ? g->k_min : TDI_K_MIN_DEFAULT;
    /* Inherited settings fit themselves to the body: the quarter only where the body gets it. */
    if (!r->qi_mask)
        r->qi_mask = g->qi_mask & ~(b->quarter ? 0u : 1u << TDI_QI_QUARTER);
    if (!r->qi_mask) {
        r->qi_mask = 1u << TDI_QI_SEX | 1u << TDI_QI_AGE_BAND | 1u << TDI_QI_NATIONALITY |
                     1u << TDI_QI_REGION | 1u << TDI_QI_YEAR | 1u << TDI_QI_CENTRE_TYPE;
        if (b->quarter)
            r->qi_mask |= 1u << TDI_QI_QUARTER;
    }
    if (!r->blank_set && g->blank_set) {
        for (size_t i = 0; i < g->nblank; i++)
            if (r->qi_mask & 1u << g->blank[i])
                r->blank[r->nblank++] = g->blank[i];
        r->blank_set = 1;
    }
    if (!r->blank_set) {
        for (size_t i = 0; i < sizeof default_blank / sizeof default_blank[0]; i++)
            if (r->qi_mask & 1u << default_blank[i])
                r->blank[r->nblank++] = (uint8_t)default_blank[i];
        r->blank_set = 1;
    }
    for (size_t i = 0; i < r->nblank; i++)
        if (!(r->qi_mask & 1u << r->blank[i]))
            tdi_cfg_perr(
                p, (unsigned long)b->line,
                "[body %s] blank_order names %s, which is not one of its quasi_identifiers",
                b->name, tdi_qi_name((tdi_qi)r->blank[i]));
    if ((r->qi_mask & 1u << TDI_QI_QUARTER) && !b->quarter)
        tdi_cfg_perr(
            p, (unsigned long)b->line,
            "[body %s] quasi_identifiers names quarter, but the body does not get it (quarter = "
            "yes)",
            b->name);
}
