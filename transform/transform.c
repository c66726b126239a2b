/*
 * transform: owns the per-run context (key, reporting year, today), the current source's
 * crosswalk and counters, and the order in which a row is checked and turned into a record:
 *
 *   required values (R001) -> centre code (R002) -> dates (R008) -> crosswalk of every mapped
 *   column (R006) -> centre type from the setting -> age, R005 -> R003, R004 -> pseudonyms.
 *
 * The first reject wins; the crosswalk step still looks at every mapped column so one run
 * lists all the missing mappings. Nothing here keeps or logs an identifier of a row.
 */
#include "transform.h"

#include "tx_crosswalk.h"
#include "tx_pseudo.h"
#include "tx_rules.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNMAPPED_MAX 1000 /* distinct unmapped codes listed per source; the rest are "other" */
#define SETTING_MAX  32   /* bound on the setting code list, for the centre type map */

/* One unmapped (item, local code) pair and how many rows had it. */
typedef struct tx_unmapped {
    uint8_t item;
    char code[TDI_VALUE_MAX]; /* cleaned with tdi_clean_value, as in the quarantine file */
    unsigned long count;
} tx_unmapped;

struct transform_ctx {
    tx_pseudo *pseudo;                   /* owned */
    int year;                            /* reporting year */
    int today;                           /* YYYYMMDD */
    uint8_t centre_type_of[SETTING_MAX]; /* setting code index -> centre_type code index */

    const tdi_source_config *src; /* borrowed from the config; NULL until a source is begun */
    tx_crosswalk *cw;             /* owned; the current source's */
    transform_stats stats;
    unsigned long hits[TX_RULE_COUNT];
    tx_unmapped *unmapped; /* owned, UNMAPPED_MAX slots; sorted by item name, then code */
    size_t nunmapped;
    unsigned long unmapped_other[TDI_ITEM_COUNT]; /* codes beyond UNMAPPED_MAX, by item */
    char last_centre[TDI_CENTRE_MAX + 1];         /* of the last accepted row, for R007 */
};

/* The TDI centre type of each setting class (residential-typology.md): both residential
 * classes and inpatient detox are inpatient treatment. */
static const struct {
    const char *setting;
    const char *centre_type;
} centre_types[] = {
    {"outpatient", "1"},
    {"residential_community", "2"},
    {"residential_hospital", "2"},
    {"inpatient_detox", "2"},
    {"prison", "3"},
    {"general_practitioner", "4"},
    {"low_threshold", "5"},
    {"other", "6"},
    {"not_known", "99"},
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

/* tdi_clean_value of s without the blanks around it. */
static void clean_trimmed(char *dst, size_t dstlen, const char *s)
{
    char tmp[TDI_VALUE_MAX + 16]; /* longer than dst, so truncation still shows as "..." */
    size_t len;
    const char *t = trimmed(s, &len);

    if (len >= sizeof tmp)
        len = sizeof tmp - 1;
    memcpy(tmp, t, len);
    tmp[len] = '\0';
    tdi_clean_value(dst, dstlen, tmp);
}

/* Fills the setting -> centre type map; every setting class must have a centre type. */
static tdi_status build_centre_types(transform_ctx *tx)
{
    const tdi_item_def *setting = tdi_item_get(TDI_ITEM_SETTING);
    const tdi_item_def *ctype = tdi_item_get(TDI_ITEM_CENTRE_TYPE);

    if (setting->ncodes > SETTING_MAX)
        return TDI_ERR_INTERNAL;
    for (size_t i = 0; i < setting->ncodes; i++) {
        int found = -1;

        for (size_t j = 0; j < sizeof centre_types / sizeof centre_types[0]; j++)
            if (strcmp(centre_types[j].setting, setting->codes[i].code) == 0)
                found = tdi_code_index(ctype, centre_types[j].centre_type);
        if (found < 0) {
            tdi_error("setting class %s has no centre type", setting->codes[i].code);
            return TDI_ERR_INTERNAL;
        }
        tx->centre_type_of[i] = (uint8_t)found;
    }
    return TDI_OK;
}

tdi_status transform_open(const char *key_file, int year, int today, transform_ctx **out)
{
    tdi_status st = TDI_ERR_INTERNAL;
    transform_ctx *tx = calloc(1, sizeof *tx);

    *out = NULL;
    if (tx)
        tx->unmapped = calloc(UNMAPPED_MAX, sizeof *tx->unmapped);
    if (!tx || !tx->unmapped) {
        tdi_error("transform: out of memory");
        goto done;
    }
    tx->year = year;
    tx->today = today;
    st = build_centre_types(tx);
    if (st != TDI_OK)
        goto done;
    st = tx_pseudo_open(key_file, &tx->pseudo);
    if (st != TDI_OK)
        goto done;
    *out = tx;
    tx = NULL;
done:
    transform_close(tx);
    return st;
}

void transform_close(transform_ctx *tx)
{
    if (!tx)
        return;
    tx_pseudo_close(tx->pseudo); /* wipes the key */
    tx_crosswalk_free(tx->cw);
    free(tx->unmapped);
    free(tx);
}

static void reset_counters(transform_ctx *tx)
{
    memset(&tx->stats, 0, sizeof tx->stats);
    memset(tx->hits, 0, sizeof tx->hits);
    memset(tx->unmapped_other, 0, sizeof tx->unmapped_other);
    tx->nunmapped = 0;
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
    tx->src = src;
    return TDI_OK;
}

static const char *item_name(uint8_t item)
{
    return tdi_item_get((tdi_item)item)->name;
}

static int cmp_unmapped(uint8_t item, const char *code, const tx_unmapped *u)
{
    int c = strcmp(item_name(item), item_name(u->item));

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
static int reject(transform_ctx *tx, tx_rule_idx idx, const char *item, const char *value,
                  tdi_rejection *rej)
{
    tx->hits[idx]++;
    tx_rule_raise(idx, item, value, rej);
    return 1;
}

/* Maps every crosswalked column; NULL or blank is the item's "not known". */
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

        if (tdi_columns[c].item < 0)
            continue;
        item = (tdi_item)tdi_columns[c].item;
        def = tdi_item_get(item);
        if (is_missing(v)) {
            rec->code[item] = (uint8_t)def->not_known;
            continue;
        }
        idx = tx_crosswalk_lookup(tx->cw, item, v, start_ymd);
        if (idx >= 0) {
            rec->code[item] = (uint8_t)idx;
            continue;
        }
        clean_trimmed(code, sizeof code, v);
        count_unmapped(tx, item, code);
        if (!rejected) /* the first unmapped column is the row's rejection; go on counting */
            rejected = reject(tx, TX_R006, def->name, code, rej);
    }
    return rejected;
}

/* The steps of the file comment. Returns 1 when rejected (rej filled), 0 when rec is complete,
 * -1 on an internal error. */
static int row_to_record(transform_ctx *tx, const tdi_raw_row *row, tdi_record *rec,
                         tdi_rejection *rej)
{
    static const tdi_column required[] = {TDI_COL_EPISODE_ID, TDI_COL_CLIENT_ID, TDI_COL_CENTRE_ID,
                                          TDI_COL_START_DATE};
    const char *centre, *birth = row->col[TDI_COL_BIRTH_DATE];
    int start_ymd = 0, birth_ymd = 0;
    size_t len;
    tx_facts facts;

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (is_missing(row->col[required[i]]))
            return reject(tx, TX_R001, tdi_columns[required[i]].name, "missing", rej);
    if (!tx_pseudo_client_id_ok(row->col[TDI_COL_CLIENT_ID])) /* no letter or digit in it */
        return reject(tx, TX_R001, tdi_columns[TDI_COL_CLIENT_ID].name, "missing", rej);

    centre = trimmed(row->col[TDI_COL_CENTRE_ID], &len);
    if (len <= TDI_CENTRE_MAX) {
        memcpy(rec->centre, centre, len);
        rec->centre[len] = '\0';
    }
    if (len > TDI_CENTRE_MAX || !tdi_name_ok(rec->centre, TDI_CENTRE_MAX)) {
        char value[TDI_VALUE_MAX];

        clean_trimmed(value, sizeof value, row->col[TDI_COL_CENTRE_ID]);
        return reject(tx, TX_R002, NULL, value, rej);
    }

    if (tdi_parse_date(row->col[TDI_COL_START_DATE], &start_ymd) != 0)
        return reject(tx, TX_R008, tdi_columns[TDI_COL_START_DATE].name, "invalid", rej);
    if (!is_missing(birth) && tdi_parse_date(birth, &birth_ymd) != 0)
        return reject(tx, TX_R008, tdi_columns[TDI_COL_BIRTH_DATE].name, "invalid", rej);

    if (map_codes(tx, row, start_ymd, rec, rej))
        return 1;
    rec->code[TDI_ITEM_CENTRE_TYPE] = tx->centre_type_of[rec->code[TDI_ITEM_SETTING]];

    /* Kept apart from rec->age: a birth date after the start gives -1, which is no "not known". */
    facts.age_known = !is_missing(birth);
    facts.age = facts.age_known ? tdi_age_years(birth_ymd, start_ymd) : 0;
    facts.start_ymd = start_ymd;
    facts.year = tx->year;
    facts.today = tx->today;
    if (tx_rules_check(&facts, tx->hits, rej))
        return 1;
    rec->age = facts.age_known ? facts.age : TDI_AGE_NOT_KNOWN;

    if (tx_pseudo_person(tx->pseudo, row->col[TDI_COL_CLIENT_ID], rec->person,
                         sizeof rec->person) != TDI_OK ||
        tx_pseudo_episode(tx->pseudo, tx->src->name, row->col[TDI_COL_EPISODE_ID], rec->episode,
                          sizeof rec->episode) != TDI_OK)
        return -1;
    rec->source = tx->src->name;
    rec->region = tx->src->region;
    rec->year = start_ymd / 10000;
    return 0;
}

tdi_status transform_row(transform_ctx *tx, const tdi_raw_row *row, tdi_record *rec,
                         tdi_rejection *rej, int *accepted)
{
    int r;

    *accepted = 0;
    memset(rec, 0, sizeof *rec);
    memset(rej, 0, sizeof *rej);
    if (!tx->src || !tx->cw) {
        tdi_error("transform_row called before transform_begin_source");
        return TDI_ERR_INTERNAL;
    }
    tx->stats.rows++;
    r = row_to_record(tx, row, rec, rej);
    if (r < 0) {
        memset(rec, 0, sizeof *rec);
        tdi_error("row:%lu: pseudonym computation failed", row->row_number);
        return TDI_ERR_INTERNAL;
    }
    if (r > 0) {
        memset(rec, 0, sizeof *rec); /* a rejected row leaves nothing behind in rec */
        tx->stats.rejected++;
        return TDI_OK;
    }
    tx->stats.accepted++;
    memcpy(tx->last_centre, rec->centre, sizeof tx->last_centre);
    *accepted = 1;
    return TDI_OK;
}

void transform_reject_no_body(transform_ctx *tx, tdi_rejection *rej)
{
    /* The value is the centre of the record just accepted: centre codes are not personal. */
    tx_rule_raise(TX_R007, NULL, tx->last_centre, rej);
    tx->hits[TX_R007]++;
    if (tx->stats.accepted > 0) {
        tx->stats.accepted--;
        tx->stats.rejected++;
    }
}

tdi_status transform_keygen(const char *path)
{
    return tx_pseudo_keygen(path);
}

void transform_rejection_key(transform_ctx *tx, const tdi_raw_row *row, char *buf, size_t len)
{
    const char *episode = row->col[TDI_COL_EPISODE_ID];

    if (len == 0)
        return;
    if (tx->src && !is_missing(episode) &&
        tx_pseudo_episode(tx->pseudo, tx->src->name, episode, buf, len) == TDI_OK)
        return;
    snprintf(buf, len, "row:%lu", row->row_number);
}

const transform_stats *transform_source_stats(const transform_ctx *tx)
{
    return &tx->stats;
}

void transform_print_source_report(const transform_ctx *tx, FILE *fp)
{
    int order[TDI_ITEM_COUNT];

    /* Items by name, as the unmapped table is sorted. */
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        int j = i;

        while (j > 0 && strcmp(item_name((uint8_t)order[j - 1]), item_name((uint8_t)i)) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const char *name = item_name((uint8_t)order[i]);

        for (size_t k = 0; k < tx->nunmapped; k++)
            if (tx->unmapped[k].item == order[i])
                fprintf(fp, "  unmapped %s '%s': %lu\n", name, tx->unmapped[k].code,
                        tx->unmapped[k].count);
        if (tx->unmapped_other[order[i]])
            fprintf(fp, "  unmapped %s (other codes): %lu\n", name, tx->unmapped_other[order[i]]);
    }
    for (int r = 0; r < TX_RULE_COUNT; r++) {
        const tx_rule *rule = tx_rule_at((tx_rule_idx)r);

        if (tx->hits[r])
            fprintf(fp, "  rule %s (%s) %s: %lu\n", rule->id, tx_severity_name(rule->severity),
                    rule->message, tx->hits[r]);
    }
}
