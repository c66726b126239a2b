/*
 * tx_crosswalk: owns the crosswalk file format, its checks, and the lookup of a local code.
 *
 * Crosswalk file format (one file per source; its path is in the configuration):
 *
 *     # comment
 *     ITEM  LOCAL_CODE  TDI_CODE  [VALID_FROM]
 *
 * One mapping per line. Fields are separated by blanks (spaces or tabs); a field holding blanks
 * is written in double quotes, inside which \" and \\ stand for " and \. A # where a field
 * would start begins a comment that runs to the end of the line; blank lines are ignored. The
 * file is UTF-8.
 *
 *   ITEM        a crosswalk item: the name of a coded item of tdi_codes.c (setting, sex,
 *               primary_drug, route, ...), or secondary_drug for the four secondary drug columns.
 *               Derived items (centre_type, years_since_first_injection, years_since_first_ost)
 *               have no crosswalk. A secondary drug code without a secondary_drug line is looked
 *               up in the primary_drug lines: one drug code list usually serves both.
 *   LOCAL_CODE  the code as the source query yields it, compared exactly (case matters) once
 *               blanks around it are removed, in the file and in the data. A NULL or blank
 *               value needs no mapping: it becomes the item's "not known" code.
 *   TDI_CODE    a code of the item's TDI list (workbook codes: 1.1 heroin, 99 not known, ...;
 *               for setting the class names of residential-typology.md, e.g. outpatient).
 *   VALID_FROM  YYYY-MM-DD: the mapping applies to episodes starting on or after that day;
 *               without it, it always applies. An episode takes the mapping with the latest
 *               VALID_FROM not after its start date.
 *
 * Example:
 *
 *     sex           M                  1
 *     primary_drug  "heroïne"          1.1
 *     primary_drug  11                 1
 *     primary_drug  11                 1.1   2025-01-01   # code 11 narrowed to heroin
 *     setting       "Dagcentrum Gent"  outpatient
 *
 * The whole file is checked before it is used; every problem is reported as "PATH:LINE: ..."
 * (unknown item, TDI code not in the item's list, bad date, wrong number of fields, duplicate
 * ITEM/LOCAL_CODE/VALID_FROM, unterminated quote, invalid UTF-8) and any problem stops the run.
 * An empty file is valid: every non-blank local code is then unmapped.
 */
#include "tx_crosswalk.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8  /* more than the 4 we take, so a wrong count gets our own message */
#define SHOWN_MAX  48 /* a file value quoted in a message, cleaned and truncated */

typedef struct cw_entry {
    const char *local;  /* into the arena; set once loading is over (the arena moves until then) */
    size_t off, len;    /* local code in the arena (stored with a \0 after it), its length */
    int valid_from;     /* YYYYMMDD; 0 = always */
    unsigned long line; /* for duplicate messages */
    uint8_t item;       /* tdi_item */
    uint8_t code;       /* index into the item's code list */
} cw_entry;

struct tx_crosswalk {
    cw_entry *entries; /* owned; sorted by item, local code, valid_from */
    size_t n, cap;
    char *arena; /* owned; every local code, each with its \0, back to back */
    size_t arena_len, arena_cap;
};

/* What a lookup searches for: an (item, local code) pair, any valid_from. */
typedef struct cw_key {
    uint8_t item;
    const char *local;
    size_t len;
} cw_key;

static int cmp_local(uint8_t ia, const char *a, size_t alen, uint8_t ib, const char *b, size_t blen)
{
    int c;

    if (ia != ib)
        return ia < ib ? -1 : 1;
    c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_entries(const void *pa, const void *pb)
{
    const cw_entry *a = pa, *b = pb;
    int c = cmp_local(a->item, a->local, a->len, b->item, b->local, b->len);

    if (c != 0)
        return c;
    if (a->valid_from != b->valid_from)
        return a->valid_from < b->valid_from ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line; /* duplicates: first line first */
}

static int cmp_key_entry(const void *pk, const void *pe)
{
    const cw_key *k = pk;
    const cw_entry *e = pe;

    return cmp_local(k->item, k->local, k->len, e->item, e->local, e->len);
}

void tx_crosswalk_free(tx_crosswalk *cw)
{
    if (!cw)
        return;
    free(cw->entries);
    free(cw->arena);
    free(cw);
}

size_t tx_crosswalk_size(const tx_crosswalk *cw)
{
    return cw->n;
}

/* Appends one mapping; the local code is copied into the arena. */
static tdi_status add_entry(tx_crosswalk *cw, const cw_entry *e, const char *local)
{
    if (cw->n == cw->cap) {
        size_t cap = cw->cap ? 2 * cw->cap : 64;
        cw_entry *p = realloc(cw->entries, cap * sizeof *p);

        if (!p)
            return TDI_ERR_INTERNAL;
        cw->entries = p;
        cw->cap = cap;
    }
    if (cw->arena_cap - cw->arena_len < e->len + 1) {
        size_t cap = cw->arena_cap ? cw->arena_cap : 1024;
        char *p;

        while (cap - cw->arena_len < e->len + 1)
            cap *= 2;
        p = realloc(cw->arena, cap);
        if (!p)
            return TDI_ERR_INTERNAL;
        cw->arena = p;
        cw->arena_cap = cap;
    }
    cw->entries[cw->n] = *e;
    cw->entries[cw->n].off = cw->arena_len;
    memcpy(cw->arena + cw->arena_len, local, e->len + 1);
    cw->arena_len += e->len + 1;
    cw->n++;
    return TDI_OK;
}

/* "setting, residential_approach, ...": the crosswalk items, each once, for the unknown-item
 * message. */
static void mapped_items(char *buf, size_t len)
{
    size_t used = 0;
    tdi_item owner;

    buf[0] = '\0';
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        int n;

        if (!def->cw_name || !tdi_item_by_cw_name(def->cw_name, &owner) || owner != (tdi_item)i)
            continue;
        n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", def->cw_name);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

/* Checks one split line; 0 and *e filled (but for the arena fields) when it is a mapping,
 * -1 when a problem was logged. */
static int parse_mapping(const char *path, unsigned long lineno, char **f, int nf, cw_entry *e)
{
    char shown[SHOWN_MAX];
    const tdi_item_def *def;
    tdi_item item;
    int ok = 1, code = -1;
    char *local;

    if (nf < 3 || nf > 4) {
        tdi_error("%s:%lu: expected ITEM LOCAL_CODE TDI_CODE [VALID_FROM], found %d fields", path,
                  lineno, nf);
        return -1;
    }
    def = tdi_item_by_cw_name(f[0], &item);
    if (!def) {
        char valid[1024];

        mapped_items(valid, sizeof valid);
        tdi_clean_value(shown, sizeof shown, f[0]);
        tdi_error("%s:%lu: unknown item '%s' (valid: %s)", path, lineno, shown, valid);
        ok = 0;
    } else if ((code = tdi_code_index(def, f[2])) < 0) {
        tdi_clean_value(shown, sizeof shown, f[2]);
        tdi_error("%s:%lu: '%s' is not a TDI code of item %s", path, lineno, shown, def->name);
        ok = 0;
    }
    local = tdi_trim(f[1]);
    if (*local == '\0') {
        tdi_error("%s:%lu: empty LOCAL_CODE (blank values need no mapping: they are not known)",
                  path, lineno);
        ok = 0;
    }
    e->valid_from = 0;
    if (nf == 4 && tdi_parse_date(f[3], &e->valid_from) != 0) {
        tdi_clean_value(shown, sizeof shown, f[3]);
        tdi_error("%s:%lu: VALID_FROM '%s' is not a YYYY-MM-DD date", path, lineno, shown);
        ok = 0;
    }
    if (!ok)
        return -1;
    e->local = local; /* until add_entry() copies it */
    e->len = strlen(local);
    e->line = lineno;
    e->item = (uint8_t)item;
    e->code = (uint8_t)code;
    return 0;
}

/* Sorts the entries and logs every duplicate (item, local code, valid_from); returns their
 * number. */
static unsigned long sort_and_check(tx_crosswalk *cw, const char *path)
{
    unsigned long dups = 0;
    size_t first = 0;

    for (size_t i = 0; i < cw->n; i++)
        cw->entries[i].local = cw->arena + cw->entries[i].off;
    if (cw->n > 1)
        qsort(cw->entries, cw->n, sizeof *cw->entries, cmp_entries);
    for (size_t i = 1; i < cw->n; i++) {
        const cw_entry *a = &cw->entries[first], *b = &cw->entries[i];
        char shown[SHOWN_MAX], from[16];

        if (cmp_local(a->item, a->local, a->len, b->item, b->local, b->len) != 0 ||
            a->valid_from != b->valid_from) {
            first = i;
            continue;
        }
        tdi_clean_value(shown, sizeof shown, b->local);
        if (b->valid_from)
            snprintf(from, sizeof from, "%04d-%02d-%02d", b->valid_from / 10000,
                     b->valid_from / 100 % 100, b->valid_from % 100);
        else
            snprintf(from, sizeof from, "always");
        tdi_error("%s:%lu: duplicate mapping of %s '%s' from %s (first at line %lu)", path, b->line,
                  tdi_item_get((tdi_item)b->item)->name, shown, from, a->line);
        dups++;
    }
    return dups;
}

tdi_status tx_crosswalk_load(const char *path, tx_crosswalk **out)
{
    tdi_status st;
    tdi_lines lr;
    unsigned long errors = 0;
    tx_crosswalk *cw = NULL;
    char *line;
    int r;

    *out = NULL;
    st = tdi_lines_open(&lr, path, TDI_ERR_CROSSWALK);
    if (st != TDI_OK)
        return st;
    cw = calloc(1, sizeof *cw);
    if (!cw) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    while ((r = tdi_lines_next(&lr, &line)) != 0) {
        char *f[MAX_FIELDS];
        const char *why = NULL;
        cw_entry e;
        int nf;

        if (r < 0) {
            /* Logged by the reader. A bad line (invalid UTF-8) leaves the stream readable: go
             * on to report the rest; a read error does not. */
            errors++;
            if (ferror(lr.fp))
                break;
            continue;
        }
        nf = tdi_split_fields(line, f, MAX_FIELDS, &why);
        if (nf < 0) {
            tdi_error("%s:%lu: %s", path, lr.lineno, why ? why : "cannot split line");
            errors++;
            continue;
        }
        if (nf == 0)
            continue;
        if (parse_mapping(path, lr.lineno, f, nf, &e) != 0) {
            errors++;
            continue;
        }
        st = add_entry(cw, &e, e.local);
        if (st != TDI_OK) {
            tdi_error("%s: out of memory", path);
            goto done;
        }
    }
    errors += sort_and_check(cw, path);
    if (errors) {
        st = TDI_ERR_CROSSWALK;
        goto done;
    }
    *out = cw;
    cw = NULL;
    st = TDI_OK;
done:
    tx_crosswalk_free(cw);
    tdi_lines_close(&lr);
    return st;
}

int tx_crosswalk_lookup(const tx_crosswalk *cw, tdi_item item, const char *local, int date_ymd)
{
    cw_key key;
    const cw_entry *e, *end;
    int found = -1;

    while (*local == ' ' || *local == '\t')
        local++;
    key.item = (uint8_t)item;
    key.local = local;
    key.len = strlen(local);
    while (key.len > 0 && (local[key.len - 1] == ' ' || local[key.len - 1] == '\t'))
        key.len--;
    /* An empty crosswalk has no entries array: NULL + 0 is undefined (found by fuzzing). */
    if (cw->n == 0)
        return -1;
    end = cw->entries + cw->n;
    e = bsearch(&key, cw->entries, cw->n, sizeof *cw->entries, cmp_key_entry);
    if (!e)
        return -1;
    /* Entries of one (item, local code) are adjacent, by ascending valid_from. */
    while (e > cw->entries && cmp_key_entry(&key, e - 1) == 0)
        e--;
    for (; e < end && cmp_key_entry(&key, e) == 0 && e->valid_from <= date_ymd; e++)
        found = e->code;
    return found;
}
