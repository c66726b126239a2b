/* Unit tests for rpt_xsd: the submission schema in tdi run's form (the pseudonym, name and year
 * patterns checked in code and the items' code patterns, as lengths; no attribute defaults) and
 * tdi run's check with it (rpt_validate_fd). */
#include "test_scratch.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_codes.h"
#include "../../report/report.h"
#include "../../report/rpt_validate.h"
#include "../../report/rpt_xsd.h"
#include "test_log.h"

#include <libxml/parser.h>
#include <libxml/xmlregexp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TDI_FIXTURE_DIR
#define TDI_FIXTURE_DIR TDI_SCHEMA_DIR "/../tests/fixtures/xml"
#endif

#define FIX(name) TDI_FIXTURE_DIR "/" name

typedef test_scratch fixture;

static int setup(void **state)
{
    return test_scratch_setup(state, "xsd");
}

/* Right values of each stand-in's type (rpt_xsd_stand_ins), longest last. */
static const char *const right_values[RPT_XSD_STAND_INS][3] = {
    {"e1:0123456789abcdef0123456789abcdef"},
    {"v1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"bench", "a", "Bench_2-ABCDEFGHIJKLMNOPQRSTUVWX"},
    {"CTR-089", "BE1.00", "centre.2_A-BCDEFGHIJKLMNOPQRSTUV"},
    {"2025", "1900", "0999"},
};

/* Near misses of good into c (room for 16), as many as made: one short, one long, white space,
 * case, a character of another class, a non-ASCII one, halves, empty. */
static size_t near_misses(const char *good, char c[][132])
{
    size_t n = 0, len = strlen(good);
    const char swaps[] = "Fg._/-:0";

    snprintf(c[n++], sizeof c[0], "%.*s", (int)len - 1, good);
    snprintf(c[n++], sizeof c[0], "%s0", good);
    snprintf(c[n++], sizeof c[0], "%s ", good);
    snprintf(c[n++], sizeof c[0], " %s", good);
    snprintf(c[n++], sizeof c[0], "%.*s\xc3\xa9", (int)len - 1, good); /* é */
    for (size_t k = 0; k < sizeof swaps - 1; k++) {
        snprintf(c[n++], sizeof c[0], "%s", good);
        c[n - 1][len - 1] = swaps[k];
    }
    snprintf(c[n++], sizeof c[0], "%s", good);
    c[n - 1][0] = c[n - 1][0] == 'e' ? 'v' : c[n - 1][0] == 'v' ? 'e' : 'E'; /* E1:, the other */
    snprintf(c[n++], sizeof c[0], "%.3s", good);
    c[n++][0] = '\0';
    return n;
}

/* tdi run's own check (rpt_validate_fd) takes the episode key, person, names, local codes and
 * year without their patterns, since the writer checks them in code: each check must accept
 * exactly what libxml2's compiled pattern accepts, of the right values and their near misses, and
 * what it accepts must have the lengths that take the pattern's place. */
static void stand_ins_match_the_patterns(void **state)
{
    (void)state;
    for (size_t i = 0; i < RPT_XSD_STAND_INS; i++) {
        const rpt_xsd_stand_in *s = &rpt_xsd_stand_ins[i];
        xmlRegexpPtr re = xmlRegexpCompile((const xmlChar *)s->pattern);

        assert_non_null(re);
        for (size_t g = 0; g < 3 && right_values[i][g]; g++) {
            char c[17][132];
            size_t n = near_misses(right_values[i][g], c);

            snprintf(c[n++], sizeof c[0], "%s", right_values[i][g]);
            for (size_t k = 0; k < n; k++) {
                int by_pattern = xmlRegexpExec(re, (const xmlChar *)c[k]) == 1;
                size_t len = strlen(c[k]);

                if (by_pattern != (s->ok(c[k]) != 0))
                    fail_msg("%s: \"%s\": pattern %d, code %d", s->type, c[k], by_pattern,
                             s->ok(c[k]));
                if (by_pattern && s->max_length)
                    assert_true(len >= s->min_length && len <= s->max_length);
            }
            assert_true(s->ok(right_values[i][g]));
        }
        if (s->max_length > s->min_length) /* the longest right value is as long as it gets */
            assert_int_equal(strlen(right_values[i][2]), s->max_length);
        xmlRegFreeRegexp(re);
    }
}

/* rpt_validate_fd on the file at path with the schemas of dir. */
static tdi_status run_check(const char *path, const char *dir)
{
    FILE *fp = fopen(path, "rb");
    tdi_status st;

    assert_non_null(fp);
    st = rpt_validate_fd(fileno(fp), "doc", dir, NULL, 0);
    fclose(fp);
    return st;
}

#define KEY1 "key=\"e1:00000000000000000000000000000001\""

/* valid-2.4.xml with the first from replaced by to, written into fx's directory as path. */
static void doc_with(const fixture *fx, const char *from, const char *to, char *path, size_t len)
{
    char doc[16384], *k;
    size_t n = test_fs_read(FIX("valid-2.4.xml"), doc, sizeof doc - 1);

    assert_true(n < sizeof doc - 1);
    doc[n] = '\0';
    k = strstr(doc, from);
    assert_non_null(k);
    assert_true(n - strlen(from) + strlen(to) < sizeof doc);
    memmove(k + strlen(to), k + strlen(from), strlen(k + strlen(from)) + 1);
    memcpy(k, to, strlen(to));
    snprintf(path, len, "%s/changed.xml", fx->dir);
    assert_int_equal(test_fs_write(path, doc), 0);
}

/* The published schema with the first from after after (from the start when NULL) made to, in
 * fx's directory: the run's check refuses to load it, saying why. */
static void schema_refused(fixture *fx, const char *after, const char *from, const char *to,
                           const char *why)
{
    static char doc[262144];
    char xsd[128], expect[512], *p;
    size_t n = test_fs_read(TDI_SCHEMA_DIR "/tdi-submission.xsd", doc, sizeof doc - 1);

    assert_true(n < sizeof doc - 1);
    doc[n] = '\0';
    p = after ? strstr(doc, after) : doc;
    assert_non_null(p);
    p = strstr(p, from);
    assert_non_null(p);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
    snprintf(xsd, sizeof xsd, "%s/tdi-submission.xsd", fx->dir);
    assert_int_equal(test_fs_write(xsd, doc), 0);
    test_log_start(&fx->log);
    assert_int_equal(run_check(FIX("valid-2.4.xml"), fx->dir), TDI_ERR_INTERNAL);
    snprintf(expect, sizeof expect, "%1$s: %2$s\n%1$s: cannot load schema\n", xsd, why);
    assert_string_equal(fx->log.text, expect);
}

/* The run's check takes the key, person, names, local codes and year without their patterns and
 * everything else as published; it refuses a schema whose pattern is not the one the writer
 * checks in code. */
static void run_check_in_code(void **state)
{
    fixture *fx = *state;
    static const char *const writers[][2] = {
        {KEY1, "key=\"e1:0000000000000000000000000000000F\""},
        {"centre=\"C01\"", "centre=\"C 1\""},
        {"source=\"clinic_en\"", "source=\"clinic.en\""},
        {"year=\"2025\" setting", "year=\"02025\" setting"},
    };
    char path[128];

    assert_int_equal(run_check(FIX("valid-2.4.xml"), TDI_SCHEMA_DIR), TDI_OK);
    assert_int_equal(run_check(FIX("bad-code.xml"), TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    /* 34 characters, an empty centre: their lengths refuse them. */
    doc_with(fx, KEY1, "key=\"e1:0000000000000000000000000000001\"", path, sizeof path);
    test_log_start(&fx->log);
    assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_non_null(strstr(fx->log.text, "[facet 'length']"));
    doc_with(fx, "centre=\"C01\"", "centre=\"\"", path, sizeof path);
    test_log_start(&fx->log);
    assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_non_null(strstr(fx->log.text, "attribute 'centre': [facet 'minLength']"));
    /* Uppercase hex, a space in a centre, a dot in a source, a year of five digits: the
     * published schema refuses each; in a run the writer's check does (test_report.c). */
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++) {
        doc_with(fx, writers[i][0], writers[i][1], path, sizeof path);
        assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
        assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_OK);
    }
    /* A code of no list, as long as a code of the item: the writer's check_record refuses it (its
     * index out of the list); longer than any, the run's check does. */
    doc_with(fx, "sex=\"2\"", "sex=\"7\"", path, sizeof path);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_OK);
    doc_with(fx, "sex=\"2\"", "sex=\"299\"", path, sizeof path);
    test_log_start(&fx->log);
    assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_non_null(strstr(fx->log.text, "attribute 'sex': [facet 'maxLength']"));
    /* Its range stays the schema's. */
    doc_with(fx, "year=\"2025\" setting", "year=\"1850\" setting", path, sizeof path);
    test_log_start(&fx->log);
    assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_non_null(strstr(fx->log.text, "[facet 'minInclusive']"));

    schema_refused(fx, NULL, "\"e1:[0-9a-f]{32}\"", "\"e1:[0-9a-f]{31}\"",
                   "type episodeKey: its pattern is not e1:[0-9a-f]{32}, which tdi run checks in "
                   "code");
    /* A code pattern that refuses a code the writer writes. */
    schema_refused(fx, "<xs:simpleType name=\"sex_code\">", "\"[12]|99\"", "\"[11]|99\"",
                   "type sex_code: its pattern refuses sex's code 2, which tdi run writes");
}

/* The xs:NAME child of node whose name is value (any when NULL), or NULL. */
static xmlNode *xs_named(xmlNode *node, const char *name, const char *value)
{
    for (xmlNode *c = node ? node->children : NULL; c; c = c->next) {
        xmlChar *v;
        int same;

        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, name) != 0)
            continue;
        if (!value)
            return c;
        v = xmlGetProp(c, (const xmlChar *)"name");
        same = v && strcmp((const char *)v, value) == 0;
        xmlFree(v);
        if (same)
            return c;
    }
    return NULL;
}

/* The value of facet (a child of the restriction of type), or -1 when it has none. */
static long facet(xmlNode *type, const char *facet_name)
{
    xmlNode *f = xs_named(xs_named(type, "restriction", NULL), facet_name, NULL);
    xmlChar *v = f ? xmlGetProp(f, (const xmlChar *)"value") : NULL;
    long n = v ? strtol((const char *)v, NULL, 10) : -1;

    xmlFree(v);
    return n;
}

/* In the run's form each item's code type has no pattern left but the lengths of the codes of
 * the items of that type (computed here from the lists): xs:length when they are all as long,
 * else xs:minLength and xs:maxLength. */
static void run_form_codes_by_length(void **state)
{
    xmlDocPtr doc = xmlReadFile(TDI_SCHEMA_DIR "/tdi-submission.xsd", NULL, XML_PARSE_NONET);
    xmlNode *root, *episode;
    char why[256] = "";

    (void)state;
    assert_non_null(doc);
    assert_int_equal(rpt_xsd_in_code(doc, why, sizeof why), TDI_OK);
    root = xmlDocGetRootElement(doc);
    episode = xs_named(root, "complexType", "episode");
    assert_non_null(episode);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        xmlNode *decl = xs_named(episode, "attribute", def->name);
        xmlChar *qname = decl ? xmlGetProp(decl, (const xmlChar *)"type") : NULL;
        xmlNode *type;
        size_t min = 1000, max = 0;

        assert_non_null(qname);
        assert_true(strncmp((const char *)qname, "tdi:", 4) == 0);
        type = xs_named(root, "simpleType", (const char *)qname + 4);
        assert_non_null(type);
        for (int k = 0; k < TDI_ITEM_COUNT; k++) {
            const tdi_item_def *other = tdi_item_get((tdi_item)k);
            xmlNode *d = xs_named(episode, "attribute", other->name);
            xmlChar *q = xmlGetProp(d, (const xmlChar *)"type");

            if (strcmp((const char *)q, (const char *)qname) == 0)
                for (size_t c = 0; c < other->ncodes; c++) {
                    size_t len = strlen(other->codes[c].code);
                    min = len < min ? len : min;
                    max = len > max ? len : max;
                }
            xmlFree(q);
        }
        if (facet(type, "pattern") != -1 ||
            (min == max
                 ? facet(type, "length") != (long)min
                 : facet(type, "minLength") != (long)min || facet(type, "maxLength") != (long)max))
            fail_msg("%s (%s): a pattern, or not the lengths %zu..%zu", def->name,
                     (const char *)qname, min, max);
        xmlFree(qname);
    }
    xmlFreeDoc(doc);
}

/* The xs:attribute elements at or under node with a default. */
static int defaults_in(const xmlNode *node)
{
    int n = 0;

    for (; node; node = node->next) {
        if (node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, "attribute") == 0 &&
            xmlHasProp(node, (const xmlChar *)"default"))
            n++;
        n += defaults_in(node->children);
    }
    return n;
}

/* The run's form of the schema has no attribute defaults (libxml2 checks each absent attribute's
 * default again for every element; a default changes no document's validity), and nothing else
 * of the published schema's attributes goes: valid-2.4.xml, which leaves items at their default
 * out, passes (run_check_in_code). */
static void run_form_has_no_defaults(void **state)
{
    xmlDocPtr doc = xmlReadFile(TDI_SCHEMA_DIR "/tdi-submission.xsd", NULL, XML_PARSE_NONET);
    char why[256] = "";
    int before;

    (void)state;
    assert_non_null(doc);
    before = defaults_in(xmlDocGetRootElement(doc));
    assert_true(before >= 20); /* every item that applies to every episode, and action */
    assert_int_equal(rpt_xsd_in_code(doc, why, sizeof why), TDI_OK);
    assert_string_equal(why, "");
    assert_int_equal(defaults_in(xmlDocGetRootElement(doc)), 0);
    xmlFreeDoc(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stand_ins_match_the_patterns),
        cmocka_unit_test_setup_teardown(run_check_in_code, setup, test_scratch_teardown),
        cmocka_unit_test(run_form_has_no_defaults),
        cmocka_unit_test(run_form_codes_by_length),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
