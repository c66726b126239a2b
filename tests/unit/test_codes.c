/* Unit tests for common/tdi_codes against schemas/tdi-submission.xsd: the same codes, in the same
 * order, with the same labels, for every item; the person kinds; and the schema versions the
 * writers put in their files (submission and tables). */
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

/* The DOM is fine here: the schemas are small and ours. */
static xmlDocPtr load_schema(const char *file)
{
    xmlDocPtr doc = xmlReadFile(file, NULL, XML_PARSE_NONET);

    assert_non_null(doc);
    return doc;
}

static xmlDocPtr load_xsd(void)
{
    return load_schema(TDI_SCHEMA_DIR "/tdi-submission.xsd");
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
    /* age and first_use_age: 2.0 and 2.1 writers' only (since 2.2 ages leave as bands) */
    static const char *const fields[] = {"key",     "person",  "personKind",    "source",
                                         "centre",  "region",  "year",          "entrant",
                                         "quarter", "age",     "first_use_age", "action"};
    xmlDocPtr doc = load_xsd();
    xmlNodePtr schema = xmlDocGetRootElement(doc);
    xmlNodePtr episode = find_child(schema, "complexType", "episode");
    size_t n = 0, expected = sizeof fields / sizeof fields[0] + TDI_ITEM_COUNT;
    /* action is the delta's (append, replace), not the record's: fields has it too */

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

/* The enumeration values of the simple type NAME, joined by blanks, into buf. */
static void enumeration(xmlNodePtr schema, const char *name, char *buf, size_t len)
{
    xmlNodePtr type = find_child(schema, "simpleType", name);
    xmlNodePtr restriction = type ? find_child(type, "restriction", NULL) : NULL;

    assert_non_null(restriction);
    buf[0] = '\0';
    for (xmlNodePtr e = restriction->children; e; e = e->next) {
        xmlChar *v;

        if (!is_xsd(e, "enumeration"))
            continue;
        v = xmlGetProp(e, XC("value"));
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? " " : "",
                 (const char *)v);
        xmlFree(v);
    }
}

/* Each schema's version and namespace are its writer's; its schemaVersion attribute accepts
 * every version of the major version up to the writer's (2.0 was a new major version; 2.1 added
 * the entrant attribute, 2.2 the quarter and blanked attributes). */
static void schema_version_is_the_writers(void **state)
{
    static const struct {
        const char *file, *ns, *version, *root, *accepted;
    } schemas[] = {
        {TDI_SCHEMA_DIR "/tdi-submission.xsd", REPORT_NAMESPACE, REPORT_SCHEMA_VERSION,
         "submission", "2.0 2.1 2.2"},
        {TDI_SCHEMA_DIR "/tdi-tables.xsd", REPORT_TABLES_NAMESPACE, REPORT_TABLES_SCHEMA_VERSION,
         "tables", "1.0"},
    };
    char buf[256];

    (void)state;
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        xmlDocPtr doc = load_schema(schemas[i].file);
        xmlNodePtr schema = xmlDocGetRootElement(doc);
        xmlNodePtr root = find_child(schema, "complexType", schemas[i].root);
        xmlNodePtr version;

        assert_true(attr_is(schema, "targetNamespace", schemas[i].ns));
        assert_true(attr_is(schema, "version", schemas[i].version));
        assert_non_null(root);
        version = find_child(root, "attribute", "schemaVersion");
        assert_non_null(version);
        assert_true(attr_is(version, "use", "required"));
        enumeration(schema, "schemaVersion", buf, sizeof buf);
        assert_string_equal(buf, schemas[i].accepted);
        assert_non_null(strstr(buf, schemas[i].version));
        xmlFreeDoc(doc);
    }
}

/* personKind lists tdi_person_kind_names, in order. */
static void person_kinds_match(void **state)
{
    xmlDocPtr doc = load_xsd();
    char buf[256], want[256] = "";

    (void)state;
    for (int k = 0; k < TDI_PERSON_KIND_COUNT; k++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", k ? " " : "",
                 tdi_person_kind_names[k]);
    enumeration(xmlDocGetRootElement(doc), "personKind", buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_string_equal(buf, "nid slk581 client");
    xmlFreeDoc(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_item_matches_its_enumeration),
        cmocka_unit_test(episode_attributes_are_the_items_and_the_record_fields),
        cmocka_unit_test(not_known_and_crosswalk_names),
        cmocka_unit_test(schema_version_is_the_writers),
        cmocka_unit_test(person_kinds_match),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    xmlCleanupParser();
    return rc;
}
