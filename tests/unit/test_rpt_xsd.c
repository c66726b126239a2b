/* Unit tests for rpt_xsd: the submission schema in tdi run's form (the pseudonym patterns checked
 * in code, as lengths; no attribute defaults) and tdi run's check with it (rpt_validate_fd). */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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

typedef struct fixture {
    char dir[64]; /* scratch directory for generated inputs */
    test_log log;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-xsd-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    test_log_start(&fx->log);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    test_log_stop();
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* tdi run's own check (rpt_validate_fd) takes the episode key and person patterns as a length,
 * since the writer checks them in code: each check must accept exactly what libxml2's compiled
 * pattern accepts, of the right values and their near misses. */
static void stand_ins_match_the_patterns(void **state)
{
    (void)state;
    for (size_t i = 0; i < RPT_XSD_STAND_INS; i++) {
        const rpt_xsd_stand_in *s = &rpt_xsd_stand_ins[i];
        xmlRegexpPtr re = xmlRegexpCompile((const xmlChar *)s->pattern);
        char good[128], c[12][132];
        size_t n = 0;

        assert_non_null(re);
        assert_true(s->length < sizeof good && s->length > 3);
        memcpy(good, s->pattern, 3); /* "e1:", "v1:" */
        for (size_t k = 3; k < s->length; k++)
            good[k] = "0123456789abcdef"[k % 16];
        good[s->length] = '\0';
        snprintf(c[n++], sizeof c[0], "%s", good);
        snprintf(c[n++], sizeof c[0], "%.*s", (int)s->length - 1, good); /* one short */
        snprintf(c[n++], sizeof c[0], "%s0", good);                      /* one long */
        snprintf(c[n++], sizeof c[0], "%s ", good);
        snprintf(c[n++], sizeof c[0], "%s", good);
        c[n - 1][0] = (char)(c[n - 1][0] - 'a' + 'A'); /* E1:, V1: */
        snprintf(c[n++], sizeof c[0], "%s", good);
        c[n - 1][s->length - 1] = 'F'; /* uppercase hex */
        snprintf(c[n++], sizeof c[0], "%s", good);
        c[n - 1][s->length - 1] = 'g';
        snprintf(c[n++], sizeof c[0], "%.*s\xc3\xa9", (int)s->length - 1, good); /* é */
        snprintf(c[n++], sizeof c[0], "%s", good);
        c[n - 1][0] = s->pattern[0] == 'e' ? 'v' : 'e'; /* the other pseudonym's prefix */
        snprintf(c[n++], sizeof c[0], "%.3s", good);
        snprintf(c[n++], sizeof c[0], "%s", good + 3);
        c[n++][0] = '\0';
        for (size_t k = 0; k < n; k++) {
            int by_pattern = xmlRegexpExec(re, (const xmlChar *)c[k]) == 1;

            if (by_pattern != (s->ok(c[k]) != 0))
                fail_msg("%s: \"%s\": pattern %d, code %d", s->type, c[k], by_pattern, s->ok(c[k]));
            if (by_pattern)
                assert_int_equal(strlen(c[k]), s->length);
        }
        assert_true(s->ok(good));
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

/* valid-2.4.xml with its first key's last digit replaced by with (NUL: the digit dropped). */
static void key_changed(const fixture *fx, char with, char *path, size_t len)
{
    char doc[16384], *k;
    size_t n = test_fs_read(FIX("valid-2.4.xml"), doc, sizeof doc - 1);

    assert_true(n < sizeof doc - 1);
    doc[n] = '\0';
    k = strstr(doc, "key=\"e1:");
    assert_non_null(k);
    k += strlen("key=\"e1:") + 31;
    if (with)
        *k = with;
    else
        memmove(k, k + 1, strlen(k + 1) + 1);
    snprintf(path, len, "%s/key.xml", fx->dir);
    assert_int_equal(test_fs_write(path, doc), 0);
}

/* The run's check takes the key and person as their lengths and everything else as published;
 * it refuses a schema whose pattern is not the one the writer checks in code. */
static void run_check_in_code(void **state)
{
    fixture *fx = *state;
    char path[128], xsd[128], doc[262144], expect[512], *p;
    size_t n;

    assert_int_equal(run_check(FIX("valid-2.4.xml"), TDI_SCHEMA_DIR), TDI_OK);
    assert_int_equal(run_check(FIX("bad-code.xml"), TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    key_changed(fx, '\0', path, sizeof path); /* 34 characters: its length refuses it */
    test_log_start(&fx->log);
    assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_non_null(strstr(fx->log.text, "[facet 'length']"));
    /* Uppercase hex: the published schema refuses it; in a run the writer's check does. */
    key_changed(fx, 'F', path, sizeof path);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_int_equal(run_check(path, TDI_SCHEMA_DIR), TDI_OK);

    n = test_fs_read(TDI_SCHEMA_DIR "/tdi-submission.xsd", doc, sizeof doc - 1);
    assert_true(n < sizeof doc - 1);
    doc[n] = '\0';
    p = strstr(doc, "\"e1:[0-9a-f]{32}\"");
    assert_non_null(p);
    p[strlen("\"e1:[0-9a-f]{3")] = '1'; /* {31} */
    snprintf(xsd, sizeof xsd, "%s/tdi-submission.xsd", fx->dir);
    assert_int_equal(test_fs_write(xsd, doc), 0);
    test_log_start(&fx->log);
    assert_int_equal(run_check(FIX("valid-2.4.xml"), fx->dir), TDI_ERR_INTERNAL);
    snprintf(expect, sizeof expect,
             "%1$s: type episodeKey: its pattern is not e1:[0-9a-f]{32}, which tdi run checks "
             "in code\n%1$s: cannot load schema\n",
             xsd);
    assert_string_equal(fx->log.text, expect);
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
        cmocka_unit_test_setup_teardown(run_check_in_code, setup, teardown),
        cmocka_unit_test(run_form_has_no_defaults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
