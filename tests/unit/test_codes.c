/* Unit tests for common/tdi_codes against schemas/tdi-submission.xsd: the same codes, in the same
 * order, with the same labels, for every item. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_codes.h"
#include "../../report/report.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <string.h>

#define XSD_NS "http://www.w3.org/2001/XMLSchema"
#define XC(s)  ((const xmlChar *)(s))

/* The DOM is fine here: the schema is small and ours. */
static xmlDocPtr load_xsd(void)
{
    xmlDocPtr doc = xmlReadFile(TDI_SCHEMA_DIR "/tdi-submission.xsd", NULL, XML_PARSE_NONET);

    assert_non_null(doc);
    return doc;
}

static int is_xsd(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, XC(XSD_NS)) &&
           xmlStrEqual(n->name, XC(name));
}

static int attr_is(const xmlNode *n, const char *attr, const char *value)
{
    xmlChar *v = xmlGetProp(n, XC(attr));
    int eq = v && xmlStrEqual(v, XC(value));

    xmlFree(v);
    return eq;
}

/* The first xs:NAME child of parent with @name = value (any value when NULL). */
static xmlNodePtr find_child(xmlNodePtr parent, const char *name, const char *value)
{
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (is_xsd(c, name) && (!value || attr_is(c, "name", value)))
            return c;
    return NULL;
}

/* Text of xs:annotation/xs:documentation under n, or NULL; the caller frees it. */
static xmlChar *documentation(xmlNodePtr n)
{
    xmlNodePtr ann = find_child(n, "annotation", NULL);
    xmlNodePtr doc = ann ? find_child(ann, "documentation", NULL) : NULL;

    return doc ? xmlNodeGetContent(doc) : NULL;
}

/* The simple type that the attribute of episode named attr uses. */
static xmlNodePtr attribute_type(xmlNodePtr schema, const char *attr)
{
    xmlNodePtr episode = find_child(schema, "complexType", "episode");
    xmlNodePtr decl;
    xmlChar *qname;
    const char *local;
    xmlNodePtr type;

    assert_non_null(episode);
    decl = find_child(episode, "attribute", attr);
    if (!decl)
        fail_msg("episode has no attribute %s", attr);
    /* An item that does not apply to every episode is left out there, and only such an item. */
    if (!attr_is(decl, "use", tdi_item_by_name(attr, NULL)->conditional ? "optional" : "required"))
        fail_msg("attribute %s: wrong use", attr);
    qname = xmlGetProp(decl, XC("type"));
    assert_non_null(qname);
    local = strchr((const char *)qname, ':');
    local = local ? local + 1 : (const char *)qname;
    type = find_child(schema, "simpleType", local);
    if (!type)
        fail_msg("no simpleType %s for attribute %s", local, attr);
    xmlFree(qname);
    return type;
}

static void each_item_matches_its_enumeration(void **state)
{
    xmlDocPtr doc = load_xsd();
    xmlNodePtr schema = xmlDocGetRootElement(doc);

    (void)state;
    assert_true(is_xsd(schema, "schema"));
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        xmlNodePtr type = attribute_type(schema, def->name);
        xmlNodePtr restriction = find_child(type, "restriction", NULL);
        size_t k = 0;

        assert_non_null(restriction);
        assert_true(attr_is(restriction, "base", "xs:string"));
        for (xmlNodePtr e = restriction->children; e; e = e->next) {
            xmlChar *value, *label;

            if (e->type != XML_ELEMENT_NODE)
                continue;
            if (!is_xsd(e, "enumeration"))
                fail_msg("%s: unexpected facet %s", def->name, (const char *)e->name);
            if (k >= def->ncodes)
                fail_msg("%s: the schema lists more than the %zu codes", def->name, def->ncodes);
            value = xmlGetProp(e, XC("value"));
            label = documentation(e);
            assert_non_null(value);
            assert_non_null(label);
            assert_string_equal((const char *)value, def->codes[k].code);
            assert_string_equal((const char *)label, def->codes[k].label);
            xmlFree(value);
            xmlFree(label);
            k++;
        }
        if (k != def->ncodes)
            fail_msg("%s: the schema lists %zu of %zu codes", def->name, k, def->ncodes);
    }
    xmlFreeDoc(doc);
}

/* The episode type has exactly the record's attributes plus one per item: nothing the writer
 * does not write, so a required attribute cannot be forgotten on either side. */
static void episode_attributes_are_the_items_and_the_record_fields(void **state)
{
    static const char *const fields[] = {"key",    "person", "source", "centre",
                                         "region", "year",   "age",    "first_use_age"};
    xmlDocPtr doc = load_xsd();
    xmlNodePtr schema = xmlDocGetRootElement(doc);
    xmlNodePtr episode = find_child(schema, "complexType", "episode");
    size_t n = 0, expected = sizeof fields / sizeof fields[0] + TDI_ITEM_COUNT;

    (void)state;
    assert_non_null(episode);
    for (xmlNodePtr a = episode->children; a; a = a->next) {
        xmlChar *name;
        int known = 0;

        if (!is_xsd(a, "attribute"))
            continue;
        name = xmlGetProp(a, XC("name"));
        assert_non_null(name);
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            known |= strcmp((const char *)name, fields[f]) == 0;
        known |= tdi_item_by_name((const char *)name, NULL) != NULL;
        if (!known)
            fail_msg("episode attribute %s is neither a record field nor an item",
                     (const char *)name);
        xmlFree(name);
        n++;
    }
    assert_int_equal(n, expected);
    xmlFreeDoc(doc);
}

/* Each list's "not known" is where not_known says, and the crosswalk names resolve. */
static void not_known_and_crosswalk_names(void **state)
{
    (void)state;
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        tdi_item owner;

        assert_true(def->not_known < def->ncodes);
        assert_string_equal(def->codes[def->not_known].label, "Not known");
        assert_ptr_equal(tdi_item_by_name(def->name, NULL), def);
        if (def->cw_name) {
            assert_non_null(tdi_item_by_cw_name(def->cw_name, &owner));
            assert_ptr_equal(tdi_item_get(owner)->codes, def->codes);
        }
    }
    assert_null(tdi_item_by_cw_name("centre_type", NULL));
    assert_null(tdi_item_by_cw_name("secondary_drug_2", NULL));
    assert_ptr_equal(tdi_item_by_cw_name("secondary_drug", NULL),
                     tdi_item_get(TDI_ITEM_SECONDARY_DRUG_1));
    assert_int_equal(tdi_item_get(TDI_ITEM_SECONDARY_DRUG_4)->fallback, TDI_ITEM_PRIMARY_DRUG);
    assert_null(tdi_item_get(TDI_ITEM_COUNT));
}

static void schema_version_is_the_writers(void **state)
{
    xmlDocPtr doc = load_xsd();
    xmlNodePtr schema = xmlDocGetRootElement(doc);
    xmlNodePtr submission = find_child(schema, "complexType", "submission");
    xmlNodePtr version;

    (void)state;
    assert_true(attr_is(schema, "targetNamespace", REPORT_NAMESPACE));
    assert_true(attr_is(schema, "version", REPORT_SCHEMA_VERSION));
    assert_non_null(submission);
    version = find_child(submission, "attribute", "schemaVersion");
    assert_non_null(version);
    assert_true(attr_is(version, "fixed", REPORT_SCHEMA_VERSION));
    xmlFreeDoc(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_item_matches_its_enumeration),
        cmocka_unit_test(episode_attributes_are_the_items_and_the_record_fields),
        cmocka_unit_test(not_known_and_crosswalk_names),
        cmocka_unit_test(schema_version_is_the_writers),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    xmlCleanupParser();
    return rc;
}
