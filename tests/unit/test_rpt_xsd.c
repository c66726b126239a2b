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
#include <libxml/xmlschemas.h>

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

/* The text of the file at path with the first from after after (from the start when NULL) made
 * to; the text is static, until the next call. */
static const char *text_with(const char *path, const char *after, const char *from, const char *to)
{
    static char doc[262144], out[262144 + 1024];
    size_t n = test_fs_read(path, doc, sizeof doc - 1);
    char *p;

    assert_true(n < sizeof doc - 1);
    doc[n] = '\0';
    p = after ? strstr(doc, after) : doc;
    assert_non_null(p);
    p = strstr(p, from);
    assert_non_null(p);
    assert_true(n + strlen(to) < sizeof out);
    snprintf(out, sizeof out, "%.*s%s%s", (int)(p - doc), doc, to, p + strlen(from));
    return out;
}

/* valid-2.4.xml with the first from replaced by to, written into fx's directory as path. */
static void doc_with(const fixture *fx, const char *from, const char *to, char *path, size_t len)
{
    snprintf(path, len, "%s/changed.xml", fx->dir);
    assert_int_equal(test_fs_write(path, text_with(FIX("valid-2.4.xml"), NULL, from, to)), 0);
}

/* The published schema's text with the first from after after made to (text_with). */
static const char *schema_text(const char *after, const char *from, const char *to)
{
    return text_with(TDI_SCHEMA_DIR "/tdi-submission.xsd", after, from, to);
}

/* schema_text() in fx's directory: the run's check refuses to load it, saying why. */
static void schema_refused(fixture *fx, const char *after, const char *from, const char *to,
                           const char *why)
{
    char xsd[128], expect[512];

    snprintf(xsd, sizeof xsd, "%s/tdi-submission.xsd", fx->dir);
    assert_int_equal(test_fs_write(xsd, schema_text(after, from, to)), 0);
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

/* ---- tdi validate's form ---- */

#define NS "urn:tdi:submission:2"

/* schema_text(), parsed. */
static xmlDocPtr schema_changed(const char *after, const char *from, const char *to)
{
    const char *text = schema_text(after, from, to);

    return xmlReadMemory(text, (int)strlen(text), "changed.xsd", NULL, XML_PARSE_NONET);
}

/* tdi validate's form of the published schema: the key, person, body, source, centre and region
 * checked in code by their types, those types without a pattern or anything in its place, the
 * year and the items' codes with theirs, no defaults. */
static void validate_form_of_the_schema(void **state)
{
    static const char *const by_code[][2] = {
        {"body", "name"},   {"key", "episodeKey"},   {"person", "personKey"},
        {"source", "name"}, {"centre", "localCode"}, {"region", "localCode"},
    };
    xmlDocPtr doc = xmlReadFile(TDI_SCHEMA_DIR "/tdi-submission.xsd", NULL, XML_PARSE_NONET);
    rpt_xsd_attrs attrs;
    xmlNode *root;
    char why[256] = "";

    (void)state;
    assert_non_null(doc);
    assert_int_equal(rpt_xsd_for_validate(doc, &attrs, why, sizeof why), TDI_OK);
    assert_string_equal(why, "");
    assert_int_equal(attrs.n, sizeof by_code / sizeof by_code[0]);
    for (size_t i = 0; i < sizeof by_code / sizeof by_code[0]; i++) {
        const rpt_xsd_stand_in *t = rpt_xsd_attr_type(&attrs, (const xmlChar *)by_code[i][0]);

        assert_non_null(t);
        assert_string_equal(t->type, by_code[i][1]);
    }
    assert_null(rpt_xsd_attr_type(&attrs, (const xmlChar *)"year"));
    assert_null(rpt_xsd_attr_type(&attrs, (const xmlChar *)"sex"));
    assert_null(rpt_xsd_attr_type(&attrs, (const xmlChar *)"keyId"));
    root = xmlDocGetRootElement(doc);
    for (size_t i = 0; i < 4; i++) {
        xmlNode *type = xs_named(root, "simpleType", rpt_xsd_stand_ins[i].type);

        assert_non_null(type);
        assert_int_equal(facet(type, "pattern"), -1);
        assert_int_equal(facet(type, "length"), -1);
        assert_int_equal(facet(type, "minLength"), -1);
        assert_null(xs_named(xs_named(type, "restriction", NULL), "maxLength", NULL));
    }
    assert_non_null(xs_named(xs_named(xs_named(root, "simpleType", "year"), "restriction", NULL),
                             "pattern", NULL));
    assert_non_null(xs_named(
        xs_named(xs_named(root, "simpleType", "sex_code"), "restriction", NULL), "pattern", NULL));
    assert_int_equal(defaults_in(root), 0);
    xmlFreeDoc(doc);
}

/* A character of the values the random strings are made of: the patterns' classes, their
 * neighbours, white space, non-ASCII (é), markup's. */
static const char *const pieces[] = {"0",  "9",        "a", "f",   "g",   "z", "A", "F", "Z",
                                     "_",  "-",        ".", ":",   "e",   "v", "1", "2", " ",
                                     "\t", "\xc3\xa9", "/", "e1:", "v1:", ";", "#"};

/* Each type tdi validate checks in code, on right values, their near misses and random strings:
 * the check accepts exactly what libxml2's compiled pattern accepts, and says what libxml2 says
 * of a value it refuses. An ampersand comes as "&#38;" (libxml2's SAX2) and is refused. */
static void validate_checks_are_the_patterns(void **state)
{
    char msg[1400], expect[1400];

    (void)state;
    srand(20261207);
    for (size_t i = 0; i < 4; i++) {
        const rpt_xsd_stand_in *s = &rpt_xsd_stand_ins[i];
        xmlRegexpPtr re = xmlRegexpCompile((const xmlChar *)s->pattern);

        assert_non_null(re);
        for (int k = 0; k < 20000; k++) {
            char v[300] = "";
            size_t len = 0;
            int accepted, by_pattern;

            if (k < 3 * 17) { /* the near misses first */
                char c[17][132];
                const char *good =
                    right_values[i][k / 17 % 3] ? right_values[i][k / 17 % 3] : right_values[i][0];
                size_t n = near_misses(good, c);

                snprintf(v, sizeof v, "%s", (size_t)(k % 17) < n ? c[k % 17] : good);
            } else {
                /* A right value cut at a random place, then: its own characters at random up to
                 * its length (often right again), or random pieces. */
                const char *right =
                    right_values[i][k % 3] ? right_values[i][k % 3] : right_values[i][0];
                size_t rlen = strlen(right);

                snprintf(v, sizeof v, "%.*s", rand() % (int)(rlen + 1), right);
                if (k % 2)
                    while (strlen(v) < rlen)
                        strncat(v, right + rand() % (int)rlen, 1);
                else
                    for (int p = rand() % 70; p > 0 && strlen(v) < 200; p--)
                        strcat(v, pieces[rand() % (int)(sizeof pieces / sizeof pieces[0])]);
            }
            len = strlen(v);
            by_pattern = xmlRegexpExec(re, (const xmlChar *)v) == 1;
            accepted =
                rpt_xsd_attr_check(s, (const xmlChar *)"episode", (const xmlChar *)NS,
                                   (const xmlChar *)"a", (const xmlChar *)v, len, msg, sizeof msg);
            if (accepted != by_pattern)
                fail_msg("%s: \"%s\": pattern %d, code %d", s->type, v, by_pattern, accepted);
            if (!accepted) {
                snprintf(expect, sizeof expect,
                         "Element '{" NS "}episode', attribute 'a': [facet 'pattern'] The value "
                         "'%s' is not accepted by the pattern '%s'.",
                         v, s->pattern);
                assert_string_equal(msg, expect);
            }
        }
        xmlRegFreeRegexp(re);
    }
    assert_int_equal(rpt_xsd_attr_check(&rpt_xsd_stand_ins[2], (const xmlChar *)"submission", NULL,
                                        (const xmlChar *)"body", (const xmlChar *)"a&#38;b", 7, msg,
                                        sizeof msg),
                     0);
    assert_string_equal(msg, "Element 'submission', attribute 'body': [facet 'pattern'] The "
                             "value 'a&b' is not accepted by the pattern '[A-Za-z0-9_\\-]{1,32}'.");
}

/* A schema tdi validate's form is not sound for is refused, saying why; a type with more than its
 * pattern is left to libxml2. */
static void validate_form_refuses(void **state)
{
    static const char *const cases[][4] = {
        {"<xs:complexType name=\"delete\">", "type=\"tdi:episodeKey\"", "type=\"tdi:name\"",
         "an attribute declared with two types: key"},
        {"<xs:complexType name=\"episode\">", "<xs:attribute ",
         "<xs:anyAttribute processContents=\"skip\"/><xs:attribute ",
         "the schema has an xs:anyAttribute"},
        {NULL, "attributeFormDefault=\"unqualified\"", "attributeFormDefault=\"qualified\"",
         "attributes are qualified"},
        {NULL, "<xs:simpleType name=\"localCode\">",
         "<xs:simpleType name=\"codes\"><xs:list itemType=\"tdi:localCode\"/></xs:simpleType>"
         "<xs:simpleType name=\"localCode\">",
         "a stand-in type used other than as an attribute's type"},
        {"<xs:complexType name=\"episode\">", "<xs:attribute name=\"centre\"",
         "<xs:attribute form=\"unqualified\" name=\"centre\"",
         "an xs:attribute with a ref or a form"},
    };
    rpt_xsd_attrs attrs;
    char why[256];
    xmlDocPtr doc;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        doc = schema_changed(cases[i][0], cases[i][1], cases[i][2]);
        assert_non_null(doc);
        why[0] = '\0';
        assert_int_equal(rpt_xsd_for_validate(doc, &attrs, why, sizeof why), TDI_ERR_INTERNAL);
        assert_string_equal(why, cases[i][3]);
        assert_int_equal(attrs.n, 0);
        xmlFreeDoc(doc);
    }
    /* The key's type restricts by a length too: libxml2 checks it, pattern and all. */
    doc = schema_changed("<xs:simpleType name=\"episodeKey\">", "<xs:pattern ",
                         "<xs:maxLength value=\"35\"/><xs:pattern ");
    assert_non_null(doc);
    assert_int_equal(rpt_xsd_for_validate(doc, &attrs, why, sizeof why), TDI_OK);
    assert_int_equal(attrs.n, 5);
    assert_null(rpt_xsd_attr_type(&attrs, (const xmlChar *)"key"));
    assert_non_null(
        xs_named(xs_named(xs_named(xmlDocGetRootElement(doc), "simpleType", "episodeKey"),
                          "restriction", NULL),
                 "pattern", NULL));
    xmlFreeDoc(doc);
}

static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

/* The published schema's verdict on path, by libxml2 alone. */
static tdi_status as_published(const char *path)
{
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(TDI_SCHEMA_DIR "/tdi-submission.xsd");
    xmlSchemaPtr xsd = pc ? xmlSchemaParse(pc) : NULL;
    xmlSchemaValidCtxtPtr vc = xsd ? xmlSchemaNewValidCtxt(xsd) : NULL;
    int rc;

    assert_non_null(vc);
    xmlSchemaSetValidStructuredErrors(vc, quiet, NULL);
    rc = xmlSchemaValidateFile(vc, path, 0);
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(xsd);
    xmlSchemaFreeParserCtxt(pc);
    return rc == 0 ? TDI_OK : TDI_ERR_INVALID;
}

/* tdi validate gives the published schema's verdict on each attribute it checks in code, right or
 * one of its near misses, in the header, an episode and a delete; and says what libxml2 says. A
 * schema it cannot take its form of is checked as published. */
static void validate_verdicts_as_published(void **state)
{
    fixture *fx = *state;
#define PERSON_A "v1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    /* The text replaced, what replaces it around the value, the right value it had. */
    static const char *const places[][4] = {
        {"body=\"flanders\"", "body=\"", "\"", "flanders"},
        {KEY1, "key=\"", "\"", "e1:00000000000000000000000000000001"},
        {"person=\"" PERSON_A "\"", "person=\"", "\"", PERSON_A},
        {"source=\"clinic_en\"", "source=\"", "\"", "clinic_en"},
        {"centre=\"C01\"", "centre=\"", "\"", "C01"},
        {"region=\"VL\"", "region=\"", "\"", "VL"},
        {"</episodes>", "<delete key=\"", "\"/>\n</episodes>",
         "e1:00000000000000000000000000000009"},
    };
    static const size_t type_of[] = {2, 0, 1, 2, 3, 3, 0};
    char path[128], to[512], c[19][132];
    size_t valid = 0, invalid = 0;

    for (size_t p = 0; p < sizeof places / sizeof places[0]; p++) {
        size_t n = near_misses(places[p][3], c);

        snprintf(c[n++], sizeof c[0], "%s", places[p][3]);
        snprintf(c[n++], sizeof c[0], "%s", right_values[type_of[p]][0]);
        for (size_t k = 0; k < n; k++) {
            tdi_status want;

            snprintf(to, sizeof to, "%s%s%s", places[p][1], c[k], places[p][2]);
            doc_with(fx, places[p][0], to, path, sizeof path);
            want = as_published(path);
            test_log_start(&fx->log);
            if (report_validate_file(path, TDI_SCHEMA_DIR) != want)
                fail_msg("%s: verdict differs from the published schema's", to);
            valid += want == TDI_OK;
            invalid += want != TDI_OK;
            if (want != TDI_OK && !strstr(fx->log.text, "[facet 'pattern'] The value '"))
                fail_msg("%s: %s", to, fx->log.text);
        }
    }
    /* 7 places, 18 values each: of a name or code, its near misses a character shorter or
     * longer, with another letter or a '-' or '_' are right too. */
    assert_int_equal(valid, 55);
    assert_int_equal(invalid, 71);
    /* An ampersand in a source, as libxml2 says it. */
    doc_with(fx, "source=\"clinic_en\"", "source=\"clinic&amp;en\"", path, sizeof path);
    test_log_start(&fx->log);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_non_null(strstr(fx->log.text,
                           ":4: Element '{" NS "}episode', attribute 'source': [facet 'pattern'] "
                           "The value 'clinic&en' is not accepted by the pattern "
                           "'[A-Za-z0-9_\\-]{1,32}'.\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stand_ins_match_the_patterns),
        cmocka_unit_test_setup_teardown(run_check_in_code, setup, test_scratch_teardown),
        cmocka_unit_test(run_form_has_no_defaults),
        cmocka_unit_test(run_form_codes_by_length),
        cmocka_unit_test(validate_form_of_the_schema),
        cmocka_unit_test(validate_checks_are_the_patterns),
        cmocka_unit_test(validate_form_refuses),
        cmocka_unit_test_setup_teardown(validate_verdicts_as_published, setup,
                                        test_scratch_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
