/* tx_region: postcode -> region map and quarters (see tx_region.h). */
#include "tx_region.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char postcode[TX_POSTCODE_MAX + 1];
    char region[TDI_REGION_MAX + 1];
} entry;

struct tx_region_map {
    entry *e; /* sorted by postcode */
    size_t n, cap;
};

int tx_postcode_normalise(const char *postcode, char out[TX_POSTCODE_MAX + 1])
{
    size_t n = 0;

    out[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)postcode; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '-' || *p == '.')
            continue;
        if (!isalnum(*p) || *p >= 0x80 || n == TX_POSTCODE_MAX) {
            explicit_bzero(out, TX_POSTCODE_MAX + 1);
            return -1;
        }
        out[n++] = (char)toupper(*p);
    }
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

int tx_quarter(int ymd)
{
    int month = ymd / 100 % 100;

    return month >= 1 && month <= 12 ? (month + 2) / 3 : 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->postcode, ((const entry *)b)->postcode);
}

tdi_status tx_region_map_load(const char *path, tx_region_map **out)
{
    tx_region_map *m = calloc(1, sizeof *m);
    tdi_status st = TDI_OK;
    tdi_lines lr;
    char *line;
    int rc, errors = 0;

    *out = NULL;
    memset(&lr, 0, sizeof lr);
    if (!m)
        return TDI_ERR_INTERNAL;
    st = tdi_lines_open(&lr, path, TDI_ERR_CONFIG);
    if (st != TDI_OK)
        goto done;
    while ((rc = tdi_lines_next(&lr, &line)) == 1) {
        char *f[3];
        const char *why = NULL;
        int nf = tdi_split_fields(line, f, 3, &why);

        if (nf == 0)
            continue;
        if (nf != 2) {
            tdi_error("%s:%lu: expected 'POSTCODE REGION'%s%s", path, lr.lineno, why ? ": " : "",
                      why ? why : "");
            errors++;
            continue;
        }
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 256;
            entry *ne = realloc(m->e, cap * sizeof *ne);

            if (!ne) {
                st = TDI_ERR_INTERNAL;
                goto done;
            }
            m->e = ne;
            m->cap = cap;
        }
        /* A map lists postcodes, not people: its lines may be quoted in messages. */
        if (tx_postcode_normalise(f[0], m->e[m->n].postcode) != 0) {
            tdi_error("%s:%lu: '%s' is not a postcode (1-%d of A-Z a-z 0-9, blanks - . ignored)",
                      path, lr.lineno, f[0], TX_POSTCODE_MAX);
            errors++;
            continue;
        }
        if (!tdi_name_ok(f[1], TDI_REGION_MAX)) {
            tdi_error("%s:%lu: region '%s' is not a code of 1-%d characters of A-Z a-z 0-9 . _ -",
                      path, lr.lineno, f[1], TDI_REGION_MAX);
            errors++;
            continue;
        }
        snprintf(m->e[m->n].region, sizeof m->e[m->n].region, "%s", f[1]);
        m->n++;
    }
    if (rc < 0) {
        st = TDI_ERR_CONFIG;
        goto done;
    }
    qsort(m->e, m->n, sizeof *m->e, cmp_entry);
    for (size_t i = 1; i < m->n; i++)
        if (strcmp(m->e[i - 1].postcode, m->e[i].postcode) == 0) {
            tdi_error("%s: postcode %s is given twice", path, m->e[i].postcode);
            errors++;
        }
    if (errors)
        st = TDI_ERR_CONFIG;
done:
    if (lr.fp || lr.buf)
        tdi_lines_close(&lr);
    if (st == TDI_OK)
        *out = m;
    else
        tx_region_map_free(m);
    return st;
}

void tx_region_map_free(tx_region_map *m)
{
    if (!m)
        return;
    free(m->e);
    free(m);
}

size_t tx_region_map_size(const tx_region_map *m)
{
    return m ? m->n : 0;
}

const char *tx_region_of(const tx_region_map *m, const char *postcode)
{
    entry key;
    const entry *hit;

    if (!m || !postcode || tx_postcode_normalise(postcode, key.postcode) != 0)
        return NULL;
    hit = bsearch(&key, m->e, m->n, sizeof *m->e, cmp_entry);
    explicit_bzero(key.postcode, sizeof key.postcode);
    return hit ? hit->region : NULL;
}
