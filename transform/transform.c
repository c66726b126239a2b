/*
 * transform: owns the per-run context (key, reporting year, today), the current source's
 * crosswalk and counters, and the order in which a row is checked and turned into a record:
 *
 *   required values (R001) -> centre code (R002) -> dates (R008) -> crosswalk of every coded
 *   column (R006) -> numbers (R014) -> national id (R020) -> consistency rules on the facts of
 *   the row (tx_checks: R005, R009-R012, R015, R016, R004; warnings R013, R017) -> derived
 *   values (tx_derive) -> person and episode digests.
 *
 * The first reject wins; the crosswalk step still looks at every coded column so one run
 * lists all the missing mappings. The digests (under the link key, tx_pseudo.h) of the row last
 * accepted stay here, out of the record, until the next row: transform_pseudonymise() turns
 * them into one body's pseudonyms. Nothing here keeps or logs an identifier of a row.
 */
#include "transform.h"

#include "tx_crosswalk.h"
#include "tx_derive.h"
#include "tx_keys.h"
#include "tx_person.h"
#include "tx_pseudo.h"
#include "tx_region.h"
#include "tx_checks.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNMAPPED_MAX 1000 /* distinct unmapped codes listed per source; the rest are "other" */

/* One unmapped (item, local code) pair and how many rows had it. */
typedef struct tx_unmapped {
    uint8_t item;
    char code[TDI_VALUE_MAX]; /* as in the quarantine file (tx_rule_echo) */
    unsigned long count;
} tx_unmapped;

#define NO_FALLBACK 0xFF /* a fallback code the item has no counterpart of */

struct transform_ctx {
    tx_keyring *keys;                   /* owned */
    int year;                           /* reporting year */
    int today;                          /* YYYYMMDD */
    tx_derive derive;                   /* the derivation tables, resolved */
    uint8_t cw_item_of[TDI_ITEM_COUNT]; /* the item a mapped item's crosswalk lines are under */
    /* For items with a fallback: index in the fallback item's list -> index in the item's, or
     * NO_FALLBACK */
    uint8_t fallback_code[TDI_ITEM_COUNT][TX_CODES_MAX];

    /* Postcode -> region maps, one per distinct path of the config (a source's or the global). */
    tx_region_map **maps;   /* owned */
    const char **map_paths; /* borrowed from the config */
    size_t nmaps;
    const tx_region_map *map;    /* the current source's, or NULL */
    unsigned long postcode_miss; /* rows of the current source whose postcode gave no region */

    const tdi_source_config *src; /* borrowed from the config; NULL until a source is begun */
    tx_crosswalk *cw;             /* owned; the current source's */
    transform_stats stats;
    tdi_rule_hits hits;    /* of the current source */
    tx_unmapped *unmapped; /* owned, UNMAPPED_MAX slots; sorted by item name, then code */
    size_t nunmapped;
    unsigned long unmapped_other[TDI_ITEM_COUNT]; /* codes beyond UNMAPPED_MAX, by item */

    /* Of the last accepted row, for transform_pseudonymise(); wiped when the next row comes. */
    unsigned char person_digest[TX_HMAC_BYTES];
    unsigned char episode_digest[TX_HMAC_BYTES];
    int have_digests;
};

static int is_blank_char(char c)
{
    return c == ' ' || c == '\t';
}

/* Start and length of s without the blanks around it. */
static const char *trimmed(const char *s, size_t *len)
{
    size_t n;

    while (is_blank_char(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_blank_char(s[n - 1]))
        n--;
    *len = n;
    return s;
}

static int is_missing(const char *s)
{
    size_t len;

    return !s || (trimmed(s, &len), len == 0);
}

/* Resolves the crosswalk item of each mapped item and the fallback code maps. */
static tdi_status build_lookup(transform_ctx *tx)
{
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i), *fb;
        tdi_item owner;

        if (!def->cw_name)
            continue;
        if (!tdi_item_by_cw_name(def->cw_name, &owner))
            return TDI_ERR_INTERNAL;
        tx->cw_item_of[i] = (uint8_t)owner;
        if (def->fallback < 0)
            continue;
        fb = tdi_item_get((tdi_item)def->fallback);
        if (fb->ncodes > TX_CODES_MAX)
            return TDI_ERR_INTERNAL;
        for (size_t k = 0; k < fb->ncodes; k++) {
            int idx = tdi_code_index(def, fb->codes[k].code);

            /* A non-drug primary problem (gambling...) is no secondary drug: not mapped. */
            if (idx < 0 && fb->codes[k].outside) {
                tx->fallback_code[i][k] = NO_FALLBACK;
                continue;
            }
            if (idx < 0) {
                tdi_error("code '%s' of %s is not a code of %s", fb->codes[k].code, fb->name,
                          def->name);
                return TDI_ERR_INTERNAL;
            }
            tx->fallback_code[i][k] = (uint8_t)idx;
        }
    }
    return TDI_OK;
}

/* The region maps of cfg's sources, each file read once. */
static tdi_status load_maps(transform_ctx *tx, const tdi_config *cfg)
{
    tx->maps = calloc(cfg->nsources + 1, sizeof *tx->maps);
    tx->map_paths = calloc(cfg->nsources + 1, sizeof *tx->map_paths);
    if (!tx->maps || !tx->map_paths)
        return TDI_ERR_INTERNAL;
    for (size_t i = 0; i < cfg->nsources; i++) {
        const char *path = cfg->sources[i].region_map;
        size_t k = 0;
        tdi_status st;

        while (k < tx->nmaps && strcmp(tx->map_paths[k], path ? path : "") != 0)
            k++;
        if (!path || k < tx->nmaps)
            continue;
        st = tx_region_map_load(path, &tx->maps[tx->nmaps]);
        if (st != TDI_OK)
            return st;
        tx->map_paths[tx->nmaps++] = path;
    }
    return TDI_OK;
}

tdi_status transform_open(const tdi_config *cfg, int year, int today, transform_ctx **out)
{
    tdi_status st = TDI_ERR_INTERNAL;
    transform_ctx *tx = calloc(1, sizeof *tx);
    const char **bodies = calloc(cfg->nbodies + 1, sizeof *bodies);

    *out = NULL;
    if (tx)
        tx->unmapped = calloc(UNMAPPED_MAX, sizeof *tx->unmapped);
    if (!tx || !tx->unmapped || !bodies) {
        tdi_error("transform: out of memory");
        goto done;
    }
    tx->year = year;
    tx->today = today;
    st = tx_derive_init(&tx->derive);
    if (st == TDI_OK)
        st = build_lookup(tx);
    if (st != TDI_OK)
        goto done;
    st = load_maps(tx, cfg);
    if (st != TDI_OK)
        goto done;
    for (size_t b = 0; b < cfg->nbodies; b++)
        bodies[b] = cfg->bodies[b].name;
    st = tx_keys_open(cfg->key_file, bodies, cfg->nbodies, &tx->keys);
    if (st != TDI_OK)
        goto done;
    *out = tx;
    tx = NULL;
done:
    free(bodies);
    transform_close(tx);
    return st;
}

void transform_close(transform_ctx *tx)
{
    if (!tx)
        return;
    tx_keys_close(tx->keys); /* wipes the keys */
    explicit_bzero(tx->person_digest, sizeof tx->person_digest);
    explicit_bzero(tx->episode_digest, sizeof tx->episode_digest);
    tx_crosswalk_free(tx->cw);
    for (size_t i = 0; i < tx->nmaps; i++)
        tx_region_map_free(tx->maps[i]);
    free(tx->maps);
    free(tx->map_paths);
    free(tx->unmapped);
    free(tx);
}

static void reset_counters(transform_ctx *tx)
{
    memset(&tx->stats, 0, sizeof tx->stats);
    memset(&tx->hits, 0, sizeof tx->hits);
    memset(tx->unmapped_other, 0, sizeof tx->unmapped_other);
    tx->nunmapped = 0;
    tx->postcode_miss = 0;
}

tdi_status transform_begin_source(transform_ctx *tx, const tdi_source_config *src)
{
    tdi_status st;

    tx_crosswalk_free(tx->cw);
    tx->cw = NULL;
    tx->src = NULL;
    reset_counters(tx);
    if (!src->crosswalk) {
        tdi_error("source %s: no crosswalk file", src->name);
        return TDI_ERR_CROSSWALK;
    }
    st = tx_crosswalk_load(src->crosswalk, &tx->cw);
    if (st != TDI_OK)
        return st;
    tx->map = NULL;
    for (size_t k = 0; src->region_map && k < tx->nmaps; k++)
        if (strcmp(tx->map_paths[k], src->region_map) == 0)
            tx->map = tx->maps[k];
    tx->src = src;
    return TDI_OK;
}

/* The crosswalk item name of an item that has one. */
static const char *cw_name(uint8_t item)
{
    return tdi_item_get((tdi_item)item)->cw_name;
}

static int cmp_unmapped(uint8_t item, const char *code, const tx_unmapped *u)
{
    int c = strcmp(cw_name(item), cw_name(u->item));

    return c != 0 ? c : strcmp(code, u->code);
}

/* Counts one unmapped code; memory stays bounded: past UNMAPPED_MAX distinct codes, new ones
 * only count as "other" for their item. */
static void count_unmapped(transform_ctx *tx, tdi_item item, const char *code)
{
    size_t lo = 0, hi = tx->nunmapped;
    tx_unmapped *u = tx->unmapped;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_unmapped((uint8_t)item, code, &u[mid]);

        if (c == 0) {
            u[mid].count++;
            return;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (tx->nunmapped == UNMAPPED_MAX) {
        tx->unmapped_other[item]++;
        return;
    }
    memmove(&u[lo + 1], &u[lo], (tx->nunmapped - lo) * sizeof *u);
    u[lo].item = (uint8_t)item;
    snprintf(u[lo].code, sizeof u[lo].code, "%s", code);
    u[lo].count = 1;
    tx->nunmapped++;
}

/* Raises a parse-level rule: counts it and fills the rejection. Returns 1. */
static int reject(transform_ctx *tx, tdi_rule_idx idx, const char *item, const char *value,
                  tdi_rejection *rej)
{
    tdi_rule_raise(&tx->hits, idx, item, value, rej);
    return 1;
}

/* Index into item's list of the mapping of local in force on date_ymd: the item's crosswalk
 * lines, then its fallback item's. -1 when neither maps it. */
static int lookup_code(const transform_ctx *tx, tdi_item item, const char *local, int date_ymd)
{
    const tdi_item_def *def = tdi_item_get(item);
    int idx = tx_crosswalk_lookup(tx->cw, (tdi_item)tx->cw_item_of[item], local, date_ymd);

    if (idx < 0 && def->fallback >= 0) {
        idx = tx_crosswalk_lookup(tx->cw, (tdi_item)def->fallback, local, date_ymd);
        if (idx >= 0)
            idx = tx->fallback_code[item][idx] == NO_FALLBACK ? -1 : tx->fallback_code[item][idx];
    }
    return idx;
}

/* Maps every coded column; NULL or blank is the item's "not known". */
static int map_codes(transform_ctx *tx, const tdi_raw_row *row, int start_ymd, tdi_record *rec,
                     tdi_rejection *rej)
{
    int rejected = 0;

    for (int c = 0; c < TDI_COL_COUNT; c++) {
        const tdi_item_def *def;
        const char *v = row->col[c];
        char code[TDI_VALUE_MAX];
        tdi_item item;
        int idx;

        if (tdi_columns[c].kind != TDI_KIND_CODE)
            continue;
        item = (tdi_item)tdi_columns[c].item;
        def = tdi_item_get(item);
        if (is_missing(v)) {
            rec->code[item] = (uint8_t)def->not_known;
            continue;
        }
        idx = lookup_code(tx, item, v, start_ymd);
        if (idx >= 0) {
            rec->code[item] = (uint8_t)idx;
            continue;
        }
        tx_rule_echo(tx_keys_quarantine(tx->keys), v, code);
        count_unmapped(tx, (tdi_item)tx->cw_item_of[item], code);
        if (!rejected) /* the first unmapped column is the row's rejection; go on counting */
            rejected = reject(tx, TDI_R006, tdi_columns[c].name, code, rej);
    }
    return rejected;
}

/* A whole number in [min, max], blanks around it allowed: 0 and *out, or -1. */
static int parse_number(const char *s, int min, int max, int *out)
{
    size_t len;
    const char *t = trimmed(s, &len);
    long v = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (t[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* Reads every number column into num[] (-1 when NULL or blank). Returns 1 when one is not a
 * whole number in its range (R014, rej filled). */
static int read_numbers(transform_ctx *tx, const tdi_raw_row *row, int num[TDI_COL_COUNT],
                        tdi_rejection *rej)
{
    for (int c = 0; c < TDI_COL_COUNT; c++) {
        char value[TDI_VALUE_MAX];

        num[c] = -1;
        if (tdi_columns[c].kind != TDI_KIND_NUMBER || is_missing(row->col[c]))
            continue;
        if (parse_number(row->col[c], tdi_columns[c].min, tdi_columns[c].max, &num[c]) == 0)
            continue;
        tx_rule_echo(tx_keys_quarantine(tx->keys), row->col[c], value);
        return reject(tx, TDI_R014, tdi_columns[c].name, value, rej);
    }
    return 0;
}

/* An age for the rules: exact when known, else the bounds of the age-group code. */
static void age_fact(const transform_ctx *tx, int exact, uint8_t band, tx_age *a)
{
    if (exact >= 0) {
        a->lo = a->hi = exact;
        snprintf(a->desc, sizeof a->desc, "%d", exact);
    } else if (tx_derive_age_band_bounds(&tx->derive, band, &a->lo, &a->hi) == 0) {
        snprintf(a->desc, sizeof a->desc, "%s", tdi_item_get(TDI_ITEM_AGE_BAND)->codes[band].code);
    } else {
        a->lo = a->hi = -1;
        a->desc[0] = '\0';
    }
}

/* The drug code of item for R013, or NULL when it is "none" or "not known". */
static const char *drug_fact(const transform_ctx *tx, const tdi_record *rec, tdi_item item)
{
    const tdi_item_def *def = tdi_item_get(item);
    uint8_t c = rec->code[item];

    if (c == def->not_known || (def->fallback >= 0 && c == tx->derive.secondary_none))
        return NULL;
    return def->codes[c].code;
}

/* The facts of a mapped row for tx_checks, but for age_known and age, which the caller set. */
static void row_facts(const transform_ctx *tx, const tdi_record *rec, const tx_numbers *n,
                      int start_ymd, tx_facts *f)
{
    static const tdi_item drugs[TX_DRUGS] = {TDI_ITEM_PRIMARY_DRUG, TDI_ITEM_SECONDARY_DRUG_1,
                                             TDI_ITEM_SECONDARY_DRUG_2, TDI_ITEM_SECONDARY_DRUG_3,
                                             TDI_ITEM_SECONDARY_DRUG_4};
    tdi_item given;

    f->start_ymd = start_ymd;
    f->today = tx->today;
    age_fact(tx, f->age_known ? f->age : -1, rec->code[TDI_ITEM_AGE_BAND], &f->age_at_start);
    age_fact(tx, n->first_use_age, rec->code[TDI_ITEM_FIRST_USE_AGE_BAND], &f->first_use);
    f->first_injection_age = n->first_injection_age;
    f->first_injection_year = n->first_injection_year;
    f->first_ost_year = n->first_ost_year;
    f->never_injected = tx_derive_injecting_ever(&tx->derive, rec) == TX_EVER_NEVER;
    f->route_inject = tx_derive_route_inject(&tx->derive, rec);
    f->never_ost = tx_derive_ost_ever(&tx->derive, rec) == TX_EVER_NEVER;
    f->residential = tx_derive_is_residential(&tx->derive, rec);
    if (tx_derive_residential_given(&tx->derive, rec, &given)) {
        f->residential_item = tdi_item_get(given)->name;
        f->residential_value = tdi_item_get(given)->codes[rec->code[given]].code;
    }
    for (int i = 0; i < TX_DRUGS; i++)
        f->drug[i] = drug_fact(tx, rec, drugs[i]);
}

/* SLK-581's sex digit of the record's TDI sex code. */
static char slk_sex(const tdi_record *rec)
{
    const char *code = tdi_item_get(TDI_ITEM_SEX)->codes[rec->code[TDI_ITEM_SEX]].code;

    return strcmp(code, "1") == 0 ? '1' : strcmp(code, "2") == 0 ? '2' : '9';
}

/* 1 when the row has a national id its source's scheme applies to (it may still be invalid). */
static int has_nid(const transform_ctx *tx, const tdi_raw_row *row)
{
    return tx->src->national_id != TDI_NID_NONE && !is_missing(row->col[TDI_COL_NATIONAL_ID]);
}

/* R020, with the rules that read the row: the national id passes its scheme's check. Returns 1
 * when rejected. The digits are not kept: person_digest() takes them again. */
static int check_nid(transform_ctx *tx, const tdi_raw_row *row, tdi_rejection *rej)
{
    char digits[TX_NID_MAX + 1];
    const char *why = NULL;
    int bad;

    if (!has_nid(tx, row))
        return 0;
    bad = tx_person_nid(tx->src->national_id, row->col[TDI_COL_NATIONAL_ID], tx->year, digits,
                        &why) != 0;
    explicit_bzero(digits, sizeof digits);
    return bad ? reject(tx, TDI_R020, NULL, why, rej) : 0; /* why is static text, no digit */
}

/* Chooses what the person pseudonym is computed from (tx_person.h) and computes its digest into
 * tx->person_digest; rec->person_kind says which. The identifier copies are wiped here. Returns
 * 0 when done, -1 on an internal error (the national id passed check_nid() before). */
static int person_digest(transform_ctx *tx, const tdi_raw_row *row, int birth_ymd, tdi_record *rec)
{
    tx_pseudo *link = tx_keys_link(tx->keys);
    tdi_nid_scheme scheme = tx->src->national_id;
    char digits[TX_NID_MAX + 1], slk[TX_SLK581_LEN + 1];
    const char *why = NULL;
    tdi_status st;

    if (has_nid(tx, row)) {
        if (tx_person_nid(scheme, row->col[TDI_COL_NATIONAL_ID], tx->year, digits, &why) != 0)
            return -1;
        rec->person_kind = TDI_PERSON_NID;
        st = tx_pseudo_person_digest(link, TDI_PERSON_NID, tdi_nid_scheme_names[scheme], digits,
                                     tx->person_digest);
        explicit_bzero(digits, sizeof digits);
    } else if (tx_person_slk581(row->col[TDI_COL_FAMILY_NAME], row->col[TDI_COL_GIVEN_NAME],
                                birth_ymd, slk_sex(rec), slk) == 0) {
        rec->person_kind = TDI_PERSON_SLK581;
        st = tx_pseudo_person_digest(link, TDI_PERSON_SLK581, NULL, slk, tx->person_digest);
        explicit_bzero(slk, sizeof slk);
    } else {
        rec->person_kind = TDI_PERSON_CLIENT;
        st = tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, tx->src->name,
                                     row->col[TDI_COL_CLIENT_ID], tx->person_digest);
    }
    return st == TDI_OK ? 0 : -1;
}

static const char *code_text(const tdi_record *rec, tdi_item item)
{
    return tdi_item_get(item)->codes[rec->code[item]].code;
}

/* The discharge rules' facts: the end date, and a reason or aftercare given without one. */
static void discharge_facts(const tdi_raw_row *row, int end_ymd, const tdi_record *rec, tx_facts *f)
{
    f->end_ymd = end_ymd;
    f->stay_open = !end_ymd && !row->no_end_date;
    if (!end_ymd && !is_missing(row->col[TDI_COL_DISCHARGE_REASON]))
        f->open_reason = code_text(rec, TDI_ITEM_DISCHARGE_REASON);
    if (!end_ymd && !is_missing(row->col[TDI_COL_AFTERCARE]))
        f->open_aftercare = code_text(rec, TDI_ITEM_AFTERCARE);
}

/* README.md, "Discharges and continuing clients": closed, the band, reason and aftercare; open,
 * "open" (a reason or aftercare given is left out: R033, R034); no end_date column, none. Started
 * before the year: continuing, the year bottom-coded to the one before, no quarter (design.md). */
static void discharge_items(const transform_ctx *tx, const tdi_raw_row *row, int end_ymd,
                            tdi_record *rec)
{
    rec->end_ymd = end_ymd;
    rec->continuing = rec->start_ymd < tx->year * 10000 + 101;
    rec->year = rec->continuing ? tx->year - 1 : rec->start_ymd / 10000;
    rec->quarter = rec->continuing ? 0 : (uint8_t)tx_quarter(rec->start_ymd); /* bodies with it */
    if (end_ymd) {
        rec->code[TDI_ITEM_STAY_BAND] = (uint8_t)tdi_stay_band(tdi_record_stay_days(rec));
        return;
    }
    rec->code[TDI_ITEM_STAY_BAND] =
        row->no_end_date ? TDI_CODE_NOT_APPLICABLE : (uint8_t)tdi_stay_band(-1);
    /* Without an end date a reason or aftercare cannot be true yet: left out (R033, R034 warn),
     * so that every file tdi writes meets the receiver's rules of the same ids. */
    rec->code[TDI_ITEM_DISCHARGE_REASON] = TDI_CODE_NOT_APPLICABLE;
    rec->code[TDI_ITEM_AFTERCARE] = TDI_CODE_NOT_APPLICABLE;
}

/* The steps of the file comment. Returns 1 when rejected (rej filled), 0 when rec is complete,
 * -1 on an internal error. */
static int row_to_record(transform_ctx *tx, const tdi_raw_row *row, tdi_record *rec,
                         tdi_rejection *rej)
{
    static const tdi_column required[] = {TDI_COL_EPISODE_ID, TDI_COL_CLIENT_ID, TDI_COL_CENTRE_ID,
                                          TDI_COL_START_DATE};
    const char *centre, *region, *birth = row->col[TDI_COL_BIRTH_DATE];
    int start_ymd = 0, birth_ymd = 0, end_ymd = 0, age_known, age, client_ok;
    int num[TDI_COL_COUNT];
    size_t len;
    tx_numbers n;
    tx_facts facts;

    for (int c = 0; c < TDI_COL_COUNT; c++) { /* a SQL_ASCII source's bytes are not checked */
        if (row->col[c] && row->unconverted >> c & 1) /* nor could another's be converted */
            return reject(tx, TDI_R019, tdi_columns[c].name, "not convertible", rej);
        if (row->col[c] && !tdi_utf8_str_ok(row->col[c]))
            return reject(tx, TDI_R019, tdi_columns[c].name, "not UTF-8", rej);
    }
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (is_missing(row->col[required[i]]))
            return reject(tx, TDI_R001, tdi_columns[required[i]].name, "missing", rej);
    client_ok = tx_pseudo_client_id_ok(row->col[TDI_COL_CLIENT_ID]);
    if (client_ok < 0)
        return -1;
    if (!client_ok) /* no letter or digit in it */
        return reject(tx, TDI_R001, tdi_columns[TDI_COL_CLIENT_ID].name, "missing", rej);

    centre = trimmed(row->col[TDI_COL_CENTRE_ID], &len);
    if (len <= TDI_CENTRE_MAX) {
        memcpy(rec->centre, centre, len);
        rec->centre[len] = '\0';
    }
    if (len > TDI_CENTRE_MAX || !tdi_name_ok(rec->centre, TDI_CENTRE_MAX)) {
        char value[TDI_VALUE_MAX];

        tx_rule_echo(tx_keys_quarantine(tx->keys), row->col[TDI_COL_CENTRE_ID], value);
        return reject(tx, TDI_R002, NULL, value, rej);
    }

    if (tdi_parse_date(row->col[TDI_COL_START_DATE], &start_ymd) != 0)
        return reject(tx, TDI_R008, tdi_columns[TDI_COL_START_DATE].name, "invalid", rej);
    if (!is_missing(birth) && tdi_parse_date(birth, &birth_ymd) != 0)
        return reject(tx, TDI_R008, tdi_columns[TDI_COL_BIRTH_DATE].name, "invalid", rej);
    if (!is_missing(row->col[TDI_COL_END_DATE]) &&
        tdi_parse_date(row->col[TDI_COL_END_DATE], &end_ymd) != 0)
        return reject(tx, TDI_R008, tdi_columns[TDI_COL_END_DATE].name, "invalid", rej);

    if (map_codes(tx, row, start_ymd, rec, rej) || read_numbers(tx, row, num, rej) ||
        check_nid(tx, row, rej))
        return 1;

    /* The age is kept apart from the numbers until R005: a birth date after the start gives -1,
     * which is no "not known". */
    age_known = !is_missing(birth);
    age = age_known ? tdi_age_years(birth_ymd, start_ymd) : 0;
    n.start_year = start_ymd / 10000;
    n.first_use_age = num[TDI_COL_FIRST_USE_AGE];
    n.first_injection_age = num[TDI_COL_FIRST_INJECTION_AGE];
    n.first_injection_year = num[TDI_COL_FIRST_INJECTION_YEAR];
    n.first_ost_year = num[TDI_COL_FIRST_OST_YEAR];
    n.age = age_known ? age : -1;
    memset(&facts, 0, sizeof facts);
    facts.age_known = age_known;
    facts.age = age;
    row_facts(tx, rec, &n, start_ymd, &facts);
    discharge_facts(row, end_ymd, rec, &facts);
    if (tx_checks_apply(&facts, &tx->hits, rej))
        return 1;
    tx_derive_record(&tx->derive, &n, rec);
    rec->age = age_known ? age : TDI_AGE_NOT_KNOWN;
    rec->first_use_age = n.first_use_age >= 0 ? n.first_use_age : TDI_AGE_NOT_KNOWN;
    rec->start_ymd = start_ymd;
    discharge_items(tx, row, end_ymd, rec);

    if (person_digest(tx, row, birth_ymd, rec) != 0)
        return -1;
    tx_pseudo_episode_digest(tx_keys_link(tx->keys), tx->src->name, row->col[TDI_COL_EPISODE_ID],
                             tx->episode_digest);
    tx->have_digests = 1;
    rec->source = tx->src->name;
    region = tx->map ? tx_region_of(tx->map, row->col[TDI_COL_POSTCODE]) : NULL;
    if (tx->map && !region && !is_missing(row->col[TDI_COL_POSTCODE]))
        tx->postcode_miss++; /* a postcode the map does not know: the map needs a line */
    tdi_append(rec->region, sizeof rec->region, 0, region ? region : tx->src->region);
    return 0;
}

tdi_status transform_row(transform_ctx *tx, const tdi_raw_row *row, tdi_record *rec,
                         tdi_rejection *rej, int *accepted)
{
    int r;

    *accepted = 0;
    memset(rec, 0, sizeof *rec);
    memset(rej, 0, sizeof *rej);
    explicit_bzero(tx->person_digest, sizeof tx->person_digest);
    explicit_bzero(tx->episode_digest, sizeof tx->episode_digest);
    tx->have_digests = 0;
    if (!tx->src || !tx->cw) {
        tdi_error("transform_row called before transform_begin_source");
        return TDI_ERR_INTERNAL;
    }
    tx->stats.rows++;
    r = row_to_record(tx, row, rec, rej);
    if (r < 0) {
        memset(rec, 0, sizeof *rec);
        tx->have_digests = 0;
        tdi_error("row:%lu: pseudonym computation failed", row->row_number);
        return TDI_ERR_INTERNAL;
    }
    if (r > 0) {
        memset(rec, 0, sizeof *rec); /* a rejected row leaves nothing behind in rec */
        tx->have_digests = 0;
        tx->stats.rejected++;
        return TDI_OK;
    }
    tx->stats.accepted++;
    *accepted = 1;
    return TDI_OK;
}

tdi_status transform_pseudonymise(transform_ctx *tx, size_t body, tdi_record *rec)
{
    tx_pseudo *key = tx_keys_body(tx->keys, body);

    if (!key || !tx->have_digests) {
        tdi_error("transform_pseudonymise: no accepted row or no body %zu", body);
        return TDI_ERR_INTERNAL;
    }
    if (tx_pseudo_person(key, tx->person_digest, rec->person, sizeof rec->person) != TDI_OK ||
        tx_pseudo_episode(key, tx->episode_digest, rec->episode, sizeof rec->episode) != TDI_OK) {
        tdi_error("pseudonym computation failed");
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}

const char *transform_body_key_id(const transform_ctx *tx, size_t body)
{
    return tx_keys_body_id(tx->keys, body);
}

tdi_status transform_keygen(const char *path)
{
    return tx_keys_keygen(path);
}

void transform_rejection_key(transform_ctx *tx, const tdi_raw_row *row, char *buf, size_t len)
{
    const char *episode = row->col[TDI_COL_EPISODE_ID];
    unsigned char digest[TX_HMAC_BYTES];

    if (len == 0)
        return;
    /* Under the quarantine key: the data manager's file links to no body's submission. */
    if (tx->src && !is_missing(episode)) {
        tx_pseudo_episode_digest(tx_keys_link(tx->keys), tx->src->name, episode, digest);
        if (tx_pseudo_episode(tx_keys_quarantine(tx->keys), digest, buf, len) == TDI_OK)
            return;
    }
    snprintf(buf, len, "row:%lu", row->row_number);
}

tdi_status transform_state_key_bytes(transform_ctx *tx, const char *episode_id,
                                     unsigned char out[TRANSFORM_STATE_KEY_BYTES], int *has_key)
{
    unsigned char digest[TX_HMAC_BYTES];

    _Static_assert(TRANSFORM_STATE_KEY_BYTES == TX_EPISODE_BYTES, "an episode key's bytes");
    *has_key = 0;
    if (!tx->src)
        return TDI_ERR_INTERNAL;
    if (is_missing(episode_id))
        return TDI_OK;
    /* Under the state key: the state database's ids link to no file's pseudonyms by themselves. */
    tx_pseudo_episode_digest(tx_keys_link(tx->keys), tx->src->name, episode_id, digest);
    tx_pseudo_episode_bytes(tx_keys_state(tx->keys), digest, out);
    *has_key = 1;
    return TDI_OK;
}

/* A state key from the digests of the row transform_row() last accepted: its episode's (the
 * digest row_to_record() made of the same source and id: one HMAC fewer a row than
 * transform_state_key_bytes()) or its person's. */
static tdi_status last_row_state_key(transform_ctx *tx, int episode, char *buf, size_t len)
{
    tx_pseudo *state = tx_keys_state(tx->keys);

    if (tx->have_digests &&
        (episode ? tx_pseudo_episode(state, tx->episode_digest, buf, len)
                 : tx_pseudo_state_person(state, tx->person_digest, buf, len)) == TDI_OK)
        return TDI_OK;
    tdi_error("%s: no accepted row, or the HMAC failed",
              episode ? "transform_episode_state_key" : "transform_person_state_key");
    return TDI_ERR_INTERNAL;
}

tdi_status transform_episode_state_key(transform_ctx *tx, char *buf, size_t len)
{
    return last_row_state_key(tx, 1, buf, len);
}

tdi_status transform_person_state_key(transform_ctx *tx, char *buf, size_t len)
{
    return last_row_state_key(tx, 0, buf, len);
}

int transform_history(tdi_record *rec, int entrant, int treated_earlier)
{
    return tx_derive_history(rec, entrant, treated_earlier);
}

const transform_stats *transform_source_stats(const transform_ctx *tx)
{
    return &tx->stats;
}

void transform_rule_hits(const transform_ctx *tx, tdi_rule_hits *out)
{
    *out = tx->hits;
}

void transform_print_source_report(const transform_ctx *tx, const tdi_rule_hits *more, FILE *fp)
{
    tdi_rule_hits hits = tx->hits;
    int order[TDI_ITEM_COUNT], n = 0;

    /* Crosswalk items by name, as the unmapped table is sorted; each once. */
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        int j = n;

        if (!def->cw_name || tx->cw_item_of[i] != i)
            continue;
        while (j > 0 && strcmp(cw_name((uint8_t)order[j - 1]), def->cw_name) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        n++;
    }
    for (int i = 0; i < n; i++) {
        const char *name = cw_name((uint8_t)order[i]);

        for (size_t k = 0; k < tx->nunmapped; k++)
            if (tx->unmapped[k].item == order[i])
                fprintf(fp, "  unmapped %s '%s': %lu\n", name, tx->unmapped[k].code,
                        tx->unmapped[k].count);
        if (tx->unmapped_other[order[i]])
            fprintf(fp, "  unmapped %s (other codes): %lu\n", name, tx->unmapped_other[order[i]]);
    }
    if (tx->postcode_miss)
        fprintf(fp, "  postcode not in the region map, source region %s used: %lu\n",
                tx->src ? tx->src->region : "?", tx->postcode_miss);
    if (more)
        tdi_rule_hits_add(&hits, more);
    tdi_rule_print(&hits, fp);
}
