/* Unit tests: the submission schema accepts exactly the codes of common/tdi_codes.c in each coded
 * attribute, through the validator (report_validate_file). Every code of the attribute's list is
 * valid; near misses are not: blanks and control characters around it, a digit or character
 * more, less or replaced, case variants, and every code of every other list that is not in this
 * one. TDI_TEST_SCHEMA_DIR overrides the schema directory (to run these cases against another
 * version of the schema). tests/integration/test_codes.sh checks the same with xmllint. */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_codes.h"
#include "../../common/tdi_log.h"
#include "../../report/report.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES 1024
#define PER_FILE   90 /* below the validator's 100 errors shown per file */
#define VALUE_LEN  40

/* Coded attributes that are not items: their values, as the writer writes them. */
static const char *const person_kinds[] = {"nid", "slk581", "client"};
static const char *const entrants[] = {"1", "0"};
static const char *const actions[] = {"append", "replace"};

typedef struct values {
    size_t n;
    char v[MAX_VALUES][VALUE_LEN];
} values;

typedef struct fixture {
    char dir[64];
    const char *schema_dir;
    values codes, misses, all; /* all: every code of every list */
} fixture;

/* What the validator said about one file. */
typedef struct seen {
    const char *path, *attr;
    unsigned char line[PER_FILE + 8]; /* errors per line */
    int other;                        /* messages that are not one attribute error */
} seen;

static void add(values *vs, const char *v)
{
    for (size_t i = 0; i < vs->n; i++)
        if (strcmp(vs->v[i], v) == 0)
            return;
    assert_true(vs->n < MAX_VALUES && strlen(v) < VALUE_LEN);
    snprintf(vs->v[vs->n++], VALUE_LEN, "%s", v);
}

static int has(const values *vs, const char *v)
{
    for (size_t i = 0; i < vs->n; i++)
        if (strcmp(vs->v[i], v) == 0)
            return 1;
    return 0;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    const char *dir = getenv("TDI_TEST_SCHEMA_DIR");

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-codes-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    fx->schema_dir = dir && *dir ? dir : TDI_SCHEMA_DIR;
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);

        for (size_t k = 0; k < def->ncodes; k++)
            add(&fx->all, def->codes[k].code);
    }
    for (size_t k = 0; k < 3; k++)
        add(&fx->all, person_kinds[k]);
    for (size_t k = 0; k < 2; k++) {
        add(&fx->all, entrants[k]);
        add(&fx->all, actions[k]);
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    tdi_log_set_sink(NULL, NULL);
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* The near misses of codes: what a writer or a hand edit could plausibly produce instead. */
static void near_misses(fixture *fx)
{
    static const char *const around[][2] = {{" ", ""}, {"", " "}, {"\t", ""}, {"", "\n"},
                                            {"0", ""}, {"", "0"}, {"", "."},  {"", "x"},
                                            {"+", ""}, {"", "9"}, {"", ".10"}};
    const values *codes = &fx->codes;
    char buf[VALUE_LEN * 2];

    fx->misses.n = 0;
    add(&fx->misses, "");
    for (size_t i = 0; i < codes->n; i++) {
        const char *c = codes->v[i];
        size_t len = strlen(c);

        for (size_t a = 0; a < sizeof around / sizeof around[0]; a++) {
            snprintf(buf, sizeof buf, "%s%s%s", around[a][0], c, around[a][1]);
            add(&fx->misses, buf);
        }
        snprintf(buf, sizeof buf, "%.*s", (int)len - 1, c); /* one character less */
        add(&fx->misses, buf);
        snprintf(buf, sizeof buf, "%s", c + 1);
        add(&fx->misses, buf);
        for (size_t k = 0; k < len; k++) { /* each character replaced */
            snprintf(buf, sizeof buf, "%s", c);
            buf[k] = c[k] == 'x' ? 'y' : 'x';
            add(&fx->misses, buf);
        }
        for (size_t k = 0; k < len; k++) /* upper case, first letter upper case */
            buf[k] = (char)toupper((unsigned char)c[k]);
        add(&fx->misses, buf);
        snprintf(buf, sizeof buf, "%s", c);
        buf[0] = (char)toupper((unsigned char)buf[0]);
        add(&fx->misses, buf);
    }
    for (size_t i = 0; i < fx->all.n; i++)
        add(&fx->misses, fx->all.v[i]);
    /* a near miss that is a code of this list is not one */
    for (size_t i = 0; i < fx->misses.n;)
        if (has(codes, fx->misses.v[i]))
            memmove(fx->misses.v[i], fx->misses.v[--fx->misses.n], VALUE_LEN);
        else
            i++;
}

/* v as an attribute value: control characters as character references (a literal tab or newline
 * would be normalised to a blank by the parser). */
static void put_value(FILE *fp, const char *v)
{
    for (; *v; v++)
        if (*v == '\t' || *v == '\n')
            fprintf(fp, "&#%d;", *v);
        else
            fputc(*v, fp);
}

/* An episode valid in every attribute but attr, which has value v; line numbers of episodes are
 * 4, 5, 6, ... */
static void put_episode(FILE *fp, const char *attr, const char *v, size_t i)
{
    static const char *const fields[][2] = {
        {"action", "append"},     {"key", NULL},    {"person", NULL},
        {"personKind", "client"}, {"source", "s"},  {"centre", "c"},
        {"region", "r"},          {"year", "2025"}, {"entrant", "1"}};
    int done = 0;

    fputs("<episode", fp);
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        fprintf(fp, " %s=\"", fields[f][0]);
        if (strcmp(fields[f][0], "key") == 0)
            fprintf(fp, "e1:%032zx", i + 1);
        else if (strcmp(fields[f][0], "person") == 0)
            fprintf(fp, "v1:%064zx", i + 1);
        else if (strcmp(fields[f][0], attr) == 0) {
            put_value(fp, v);
            done = 1;
        } else
            fputs(fields[f][1], fp);
        fputc('"', fp);
    }
    for (int it = 0; it < TDI_ITEM_COUNT; it++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)it);

        fprintf(fp, " %s=\"", def->name);
        if (strcmp(def->name, attr) == 0) {
            put_value(fp, v);
            done = 1;
        } else
            fputs(def->codes[def->not_known].code, fp);
        fputc('"', fp);
    }
    assert_true(done);
    fputs("/>\n", fp);
}

static void write_doc(const char *path, const char *attr, const values *vs, size_t from, size_t to)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.2\" body=\"b\" "
          "year=\"2025\" sequence=\"1\" runId=\"20261123T040000Z\" "
          "generated=\"2026-11-23T04:00:00Z\" countingLevel=\"none\">\n<episodes>\n",
          fp);
    for (size_t i = from; i < to; i++)
        put_episode(fp, attr, vs->v[i], i);
    fputs("</episodes>\n</submission>\n", fp);
    assert_int_equal(fclose(fp), 0);
}

/* Counts "PATH:LINE: Element '{urn:tdi:submission:2}episode', attribute 'ATTR': ..." per line. */
static void seen_sink(void *ctx, tdi_log_level level, const char *msg)
{
    seen *s = ctx;
    size_t plen = strlen(s->path);
    char want[128];
    char *end;
    long line;

    (void)level;
    if (strncmp(msg, s->path, plen) != 0 || msg[plen] != ':') {
        s->other++;
        return;
    }
    line = strtol(msg + plen + 1, &end, 10);
    snprintf(want, sizeof want,
             ": Element '{urn:tdi:submission:2}episode', attribute '%s': ", s->attr);
    if (strncmp(end, want, strlen(want)) != 0 || line < 4 || line >= 4 + PER_FILE) {
        s->other++;
        return;
    }
    s->line[line - 4]++;
}

/* Validates values vs for attr: all valid (expect_valid), or each episode with one error. */
static void check(fixture *fx, const char *attr, const values *vs, int expect_valid)
{
    char path[128];

    snprintf(path, sizeof path, "%s/%s.xml", fx->dir, attr);
    for (size_t from = 0; from < vs->n; from += PER_FILE) {
        size_t to = from + PER_FILE < vs->n ? from + PER_FILE : vs->n;
        seen s = {.path = path, .attr = attr};
        tdi_status st;

        write_doc(path, attr, vs, from, to);
        tdi_log_set_sink(seen_sink, &s);
        st = report_validate_file(path, fx->schema_dir);
        tdi_log_set_sink(NULL, NULL);
        if (s.other)
            fail_msg("%s: %d messages other than errors of the attribute", attr, s.other);
        for (size_t i = from; i < to; i++)
            if (s.line[i - from] != (expect_valid ? 0 : 1))
                fail_msg("%s=\"%s\": %s", attr, vs->v[i],
                         expect_valid ? "refused, but it is a code of the list"
                                      : "accepted (or refused twice), but it is no code");
        assert_int_equal(st, expect_valid ? TDI_OK : TDI_ERR_INVALID);
    }
}

static void check_list(fixture *fx, const char *attr, const char *const *codes, size_t n)
{
    fx->codes.n = 0;
    for (size_t k = 0; k < n; k++)
        add(&fx->codes, codes[k]);
    near_misses(fx);
    check(fx, attr, &fx->codes, 1);
    check(fx, attr, &fx->misses, 0);
}

static void each_item_accepts_exactly_its_codes(void **state)
{
    fixture *fx = *state;

    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        const char *codes[64];

        assert_true(def->ncodes <= 64);
        for (size_t k = 0; k < def->ncodes; k++)
            codes[k] = def->codes[k].code;
        check_list(fx, def->name, codes, def->ncodes);
    }
}

static void other_coded_attributes_accept_exactly_their_values(void **state)
{
    fixture *fx = *state;

    assert_int_equal(TDI_PERSON_KIND_COUNT, 3);
    for (int k = 0; k < TDI_PERSON_KIND_COUNT; k++)
        assert_string_equal(tdi_person_kind_names[k], person_kinds[k]);
    check_list(fx, "personKind", person_kinds, 3);
    check_list(fx, "entrant", entrants, 2);
    check_list(fx, "action", actions, 2);
}

/* The near misses the issue names are among those tried. */
static void near_misses_include_the_usual_suspects(void **state)
{
    static const char *const drug[] = {"1", "1.1", "99"};
    static const char *const usual[] = {"",    " 1",  "1 ", "01", "1.10", "1.",   "99x",
                                        "\t1", "1\n", "+1", "9",  "10",   "0-14", "1x1"};
    fixture *fx = *state;

    fx->codes.n = 0;
    for (size_t k = 0; k < 3; k++)
        add(&fx->codes, drug[k]);
    near_misses(fx);
    for (size_t k = 0; k < sizeof usual / sizeof usual[0]; k++)
        if (!has(&fx->misses, usual[k]))
            fail_msg("'%s' is not tried", usual[k]);
    assert_false(has(&fx->misses, "1.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(near_misses_include_the_usual_suspects),
        cmocka_unit_test(each_item_accepts_exactly_its_codes),
        cmocka_unit_test(other_coded_attributes_accept_exactly_their_values),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
