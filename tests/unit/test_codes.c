/* Unit tests for common/tdi_codes against schemas/tdi-submission.xsd: the same codes, in the same
 * order, with the same labels, for every item, and a pattern that accepts exactly them; the person
 * kinds; and the schema versions the writers put in their files (submission and tables). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_codes.h"
#include "../../common/tdi_record.h"
#include "../../report/report.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <stdio.h>
#include <stdlib.h>
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

/* The simple type that the attribute of episode named attr uses. */
static xmlNodePtr attribute_type(xmlNodePtr schema, const char *attr)
{
    xmlNodePtr episode = find_child(schema, "complexType", "episode");
    xmlNodePtr decl;
    xmlChar *qname;
    const char *local;
    xmlNodePtr type;
    const tdi_item_def *item;
    tdi_item which;

    assert_non_null(episode);
    decl = find_child(episode, "attribute", attr);
    if (!decl)
        fail_msg("episode has no attribute %s", attr);
    /* An item that does not apply to every episode is left out there (use="optional", no
     * default); every other item has its "not known" code as default (schema 2.4), which is
     * what the writer leaves out and the readers put back (tdi_item_default). */
    item = tdi_item_by_name(attr, &which);
    if (item->conditional ? !attr_is(decl, "use", "optional") || xmlHasProp(decl, XC("default"))
                          : xmlHasProp(decl, XC("use")) != NULL)
        fail_msg("attribute %s: wrong use", attr);
    if (!item->conditional && !attr_is(decl, "default", item->codes[item->not_known].code))
        fail_msg("attribute %s: its default is not its not-known code %s", attr,
                 item->codes[item->not_known].code);
    if (item->conditional ? tdi_item_default(which) != NULL
                          : strcmp(tdi_item_default(which), item->codes[item->not_known].code))
        fail_msg("attribute %s: tdi_item_default is not the schema's default", attr);
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

/* ---- The canonical pattern of a code list ----
 * A code type of the schema is one xs:pattern, not a list of xs:enumeration facets: libxml2
 * compares a value with each enumeration in turn (half of the validation cost), and runs a
 * pattern as an automaton. The pattern accepts exactly the codes because it is this function of
 * the list: a trie written as a regular expression, alternatives in the order of the codes,
 * siblings with the same continuation merged into one character class (runs of 3 or more as a
 * range), an optional continuation where a code is a prefix of others ("1(\.[1-5])?").
 * Alternatives never start with the same character, so libxml2's automaton never backtracks. */

#define ALT_MAX  64
#define ALT_LEN  512
#define CODE_MAX 64

typedef struct alts {
    size_t n;
    char s[ALT_MAX][ALT_LEN];
} alts;

static void append(char *buf, const char *s)
{
    assert_true(strlen(buf) + strlen(s) < ALT_LEN);
    strcat(buf, s);
}

static void append_char(char *buf, char c)
{
    char e[3] = {'\\', c, '\0'};

    append(buf, strchr(".\\?*+()[]{}|-^", c) ? e : e + 1);
}

static void alternatives(const char *const *words, size_t n, alts *out);

/* What follows a character whose continuations are words[0..n), "" among them when end. */
static void continuation(const char *const *words, size_t n, int end, char *tail)
{
    alts *a = calloc(1, sizeof *a);
    char body[ALT_LEN] = "";

    assert_non_null(a);
    tail[0] = '\0';
    alternatives(words, n, a);
    for (size_t i = 0; i < a->n; i++) {
        append(body, i ? "|" : "");
        append(body, a->s[i]);
    }
    if (a->n > 0 && end && (a->n > 1 || strlen(a->s[0]) > 1)) {
        append(tail, "(");
        append(tail, body);
        append(tail, ")?");
    } else if (a->n > 0 && end) {
        append(tail, body);
        append(tail, "?");
    } else if (a->n > 1) {
        append(tail, "(");
        append(tail, body);
        append(tail, ")");
    } else
        append(tail, body);
    free(a);
}

/* The alternatives that match exactly the non-empty words[0..n). */
static void alternatives(const char *const *words, size_t n, alts *out)
{
    char firsts[CODE_MAX], tails[CODE_MAX][ALT_LEN];
    size_t nf = 0;

    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rest[CODE_MAX];
        size_t nr = 0;
        int end = 0, seen = 0;

        for (size_t f = 0; f < nf; f++)
            seen |= firsts[f] == words[i][0];
        if (!words[i][0] || seen)
            continue;
        for (size_t j = i; j < n; j++) {
            if (words[j][0] != words[i][0])
                continue;
            if (words[j][1])
                rest[nr++] = words[j] + 1;
            else
                end = 1;
        }
        assert_true(nf < CODE_MAX);
        firsts[nf] = words[i][0];
        continuation(rest, nr, end, tails[nf]);
        nf++;
    }
    /* one alternative per distinct continuation, its first characters as a class */
    for (size_t f = 0; f < nf; f++) {
        char group[CODE_MAX];
        size_t ng = 0, done = 0;
        char *alt;

        for (size_t g = 0; g < f; g++)
            done |= strcmp(tails[g], tails[f]) == 0;
        if (done)
            continue;
        for (size_t g = f; g < nf; g++)
            if (strcmp(tails[g], tails[f]) == 0)
                group[ng++] = firsts[g];
        assert_true(out->n < ALT_MAX);
        alt = out->s[out->n++];
        alt[0] = '\0';
        if (ng == 1)
            append_char(alt, group[0]);
        else {
            /* sorted, runs of 3 or more as a range */
            for (size_t a = 1; a < ng; a++)
                for (size_t b = a; b > 0 && group[b - 1] > group[b]; b--) {
                    char t = group[b];

                    group[b] = group[b - 1];
                    group[b - 1] = t;
                }
            append(alt, "[");
            for (size_t a = 0; a < ng;) {
                size_t b = a;

                while (b + 1 < ng && group[b + 1] == group[b] + 1)
                    b++;
                if (b - a >= 2) {
                    append_char(alt, group[a]);
                    append(alt, "-");
                    append_char(alt, group[b]);
                } else
                    for (size_t k = a; k <= b; k++)
                        append_char(alt, group[k]);
                a = b + 1;
            }
            append(alt, "]");
        }
        append(alt, tails[f]);
    }
}

/* The canonical pattern of codes[0..n) into buf (ALT_LEN). */
static void canonical_pattern(const char *const *codes, size_t n, char *buf)
{
    alts *a = calloc(1, sizeof *a);

    assert_non_null(a);
    alternatives(codes, n, a);
    buf[0] = '\0';
    for (size_t i = 0; i < a->n; i++) {
        append(buf, i ? "|" : "");
        append(buf, a->s[i]);
    }
    free(a);
}

/* A code type: documentation "Codes:" then one "CODE = LABEL" line per code, in order, and a
 * restriction of xs:string with one facet, the code list's canonical pattern. The codes go to
 * codes[], their labels to labels[] (NULL: not wanted); returns how many. The caller frees
 * both with free_codes(). */
static size_t code_type(xmlNodePtr type, const char *name, char **codes, char **labels)
{
    xmlNodePtr ann = find_child(type, "annotation", NULL);
    xmlNodePtr restriction = find_child(type, "restriction", NULL);
    xmlNodePtr doc = NULL;
    xmlChar *text, *value = NULL;
    char *line, *save = NULL, want[ALT_LEN];
    size_t n = 0, facets = 0;

    assert_non_null(ann);
    for (xmlNodePtr d = ann->children; d; d = d->next)
        if (is_xsd(d, "documentation"))
            doc = d; /* the last one */
    assert_non_null(doc);
    text = xmlNodeGetContent(doc);
    assert_non_null(text);
    line = strtok_r((char *)text, "\n", &save);
    if (!line || strcmp(line, "Codes:") != 0)
        fail_msg("%s: its last documentation does not start with 'Codes:'", name);
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *eq;

        line += strspn(line, " ");
        eq = strstr(line, " = ");
        if (!eq)
            fail_msg("%s: code line '%s' is not 'CODE = LABEL'", name, line);
        assert_true(n < CODE_MAX);
        codes[n] = strndup(line, (size_t)(eq - line));
        if (labels)
            labels[n] = strdup(eq + 3);
        n++;
    }
    xmlFree(text);

    assert_non_null(restriction);
    if (!attr_is(restriction, "base", "xs:string"))
        fail_msg("%s: not a restriction of xs:string", name);
    for (xmlNodePtr e = restriction->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE)
            continue;
        if (!is_xsd(e, "pattern"))
            fail_msg("%s: unexpected facet %s", name, (const char *)e->name);
        value = xmlGetProp(e, XC("value"));
        facets++;
    }
    if (facets != 1)
        fail_msg("%s: %zu facets, want one pattern", name, facets);
    canonical_pattern((const char *const *)codes, n, want);
    if (strcmp((const char *)value, want) != 0)
        fail_msg("%s: the pattern is '%s', its code list needs '%s'", name, (const char *)value,
                 want);
    xmlFree(value);
    return n;
}

static void free_codes(char **codes, char **labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(codes[i]);
        if (labels)
            free(labels[i]);
    }
}

static void each_item_matches_its_code_list(void **state)
{
    xmlDocPtr doc = load_xsd();
    xmlNodePtr schema = xmlDocGetRootElement(doc);

    (void)state;
    assert_true(is_xsd(schema, "schema"));
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        char *codes[CODE_MAX], *labels[CODE_MAX];
        size_t n = code_type(attribute_type(schema, def->name), def->name, codes, labels);

        if (n != def->ncodes)
            fail_msg("%s: the schema lists %zu of %zu codes", def->name, n, def->ncodes);
        for (size_t k = 0; k < n; k++) {
            assert_string_equal(codes[k], def->codes[k].code);
            assert_string_equal(labels[k], def->codes[k].label);
        }
        free_codes(codes, labels, n);
    }
    xmlFreeDoc(doc);
}

/* The generator itself, on lists whose pattern is known. */
static void canonical_patterns(void **state)
{
    static const char *const drugs[] = {"0", "1", "1.1", "1.2", "1.3", "2", "9", "99"};
    static const char *const words[] = {"yes", "no", "not_known"};
    static const char *const bands[] = {"0-14", "15-19", "65+", "99"};
    static const char *const ost[] = {"0", "1", "2", "3", "10", "11-15", "16+"};
    char buf[ALT_LEN];

    (void)state;
    canonical_pattern(drugs, 8, buf);
    assert_string_equal(buf, "[02]|1(\\.[1-3])?|99?");
    canonical_pattern(words, 3, buf);
    assert_string_equal(buf, "yes|no(t_known)?");
    canonical_pattern(bands, 4, buf);
    assert_string_equal(buf, "0\\-14|15\\-19|65\\+|99");
    canonical_pattern(ost, 7, buf);
    assert_string_equal(buf, "[023]|1(0|1\\-15|6\\+)?");
}

/* The episode type has exactly the record's attributes plus one per item: nothing the writer
 * does not write, so a required attribute cannot be forgotten on either side. */
static void episode_attributes_are_the_items_and_the_record_fields(void **state)
{
    /* no age or first_use_age: since 2.2 ages leave as bands, and the schema refuses them */
    static const char *const fields[] = {"key",     "person", "personKind", "source",
                                         "centre",  "region", "year",       "entrant",
                                         "quarter", "action", "continuing"};
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

/* The TDI population (tdi_in_population): every primary drug of the list and "not known", but
 * alcohol and the non-drug problems, each with a code of its own (gambling is never alcohol);
 * those are no secondary drugs. */
static void the_population_is_the_drug_list(void **state)
{
    const tdi_item_def *p = tdi_item_get(TDI_ITEM_PRIMARY_DRUG);
    const tdi_item_def *s = tdi_item_get(TDI_ITEM_SECONDARY_DRUG_1);
    char outside[128] = "";

    (void)state;
    for (size_t i = 0; i < p->ncodes; i++) {
        assert_int_equal(tdi_in_population((unsigned)i), !p->codes[i].outside);
        if (!tdi_in_population((unsigned)i)) {
            snprintf(outside + strlen(outside), sizeof outside - strlen(outside), "%s ",
                     p->codes[i].code);
            assert_true(strcmp(p->codes[i].code, "8") == 0 ||
                        tdi_code_index(s, p->codes[i].code) < 0);
        }
    }
    assert_string_equal(outside, "8 gambling gaming tobacco other_behaviour ");
    assert_true(tdi_in_population((unsigned)tdi_code_index(p, "1.1")));
    assert_true(tdi_in_population((unsigned)tdi_code_index(p, "9")));
    assert_true(tdi_in_population((unsigned)p->not_known));
    assert_false(tdi_in_population((unsigned)p->ncodes));
    assert_false(tdi_in_population(0xFF)); /* not applicable */
    for (size_t i = 0; i < s->ncodes; i++)
        assert_false(s->codes[i].outside && strcmp(s->codes[i].code, "8") != 0);
}

/* The stay bands at each boundary (7/8, 28/29, 90/91, 180/181, 365/366), open, and the record's
 * days from its start and end dates. */
static void stay_bands(void **state)
{
    static const struct {
        long days;
        const char *band;
    } cases[] = {{0, "0-7"},    {7, "0-7"},     {8, "8-28"},     {28, "8-28"},     {29, "29-90"},
                 {90, "29-90"}, {91, "91-180"}, {180, "91-180"}, {181, "181-365"}, {365, "181-365"},
                 {366, "366+"}, {5000, "366+"}, {-1, "open"}};
    const tdi_item_def *def = tdi_item_get(TDI_ITEM_STAY_BAND);
    tdi_record rec = {.start_ymd = 20231215};

    (void)state;
    assert_string_equal(def->name, "stay_band");
    assert_true(def->conditional);
    assert_null(def->cw_name);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(def->codes[tdi_stay_band(cases[i].days)].code, cases[i].band);
    assert_int_equal(tdi_record_stay_days(&rec), -1); /* open */
    rec.end_ymd = 20231215;
    assert_int_equal(tdi_record_stay_days(&rec), 0);
    rec.end_ymd = 20240112; /* across the year boundary: 16 + 12 */
    assert_int_equal(tdi_record_stay_days(&rec), 28);
    assert_string_equal(def->codes[tdi_stay_band(tdi_record_stay_days(&rec))].code, "8-28");
    rec.end_ymd = 20240113;
    assert_string_equal(def->codes[tdi_stay_band(tdi_record_stay_days(&rec))].code, "29-90");
    assert_string_equal(tdi_item_get(TDI_ITEM_DISCHARGE_REASON)->cw_name, "discharge_reason");
    assert_string_equal(tdi_item_get(TDI_ITEM_AFTERCARE)->cw_name, "aftercare");
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
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? " " : "", (const char *)v);
        xmlFree(v);
    }
}

/* Each schema's version and namespace are its writer's; its schemaVersion attribute accepts
 * the versions since exact ages were withdrawn (2.2; 2.3 added runNo, 2.4 discharges and the
 * items' defaults, which leave files before it valid as they are, 2.5 the continuing clients'
 * bottom-coded year): 2.0 and 2.1, which may hold
 * them, have the kept schema tdi-submission-2.1.xsd; the tables every version up to the writer's).
 */
static void schema_version_is_the_writers(void **state)
{
    static const struct {
        const char *file, *ns, *version, *root, *accepted;
    } schemas[] = {
        {TDI_SCHEMA_DIR "/tdi-submission.xsd", REPORT_NAMESPACE, REPORT_SCHEMA_VERSION,
         "submission", "2.2 2.3 2.4 2.5"},
        {TDI_SCHEMA_DIR "/tdi-submission-2.1.xsd", REPORT_NAMESPACE, "2.1", "submission",
         "2.0 2.1"},
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

/* personKind lists tdi_person_kind_names, in order; action and entrant their values. */
/* 1 when s is written into an attribute as it is: printable ASCII but markup and the quote. */
static int plain_text(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s >= 0x7f || strchr("&<>\"", *s))
            return 0;
    return 1;
}

/* report.c copies the codes and the person kinds into a record's line without looking at their
 * bytes (xml_attr.plain): none may need escaping. */
static void codes_need_no_escaping(void **state)
{
    (void)state;
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        for (size_t k = 0; k < def->ncodes; k++)
            if (!plain_text(def->codes[k].code))
                fail_msg("%s code %s needs escaping", def->name, def->codes[k].code);
    }
    for (int k = 0; k < TDI_PERSON_KIND_COUNT; k++)
        assert_true(plain_text(tdi_person_kind_names[k]));
    assert_false(plain_text("a&b"));
    assert_false(plain_text("caf\xc3\xa9"));
}

static void person_kinds_match(void **state)
{
    static const struct {
        const char *type, *values;
    } others[] = {{"action", "append replace"}, {"entrant", "1 0"}};
    xmlDocPtr doc = load_xsd();
    xmlNodePtr schema = xmlDocGetRootElement(doc);
    char buf[256], want[256] = "", *codes[CODE_MAX];
    size_t n;

    (void)state;
    for (int k = 0; k < TDI_PERSON_KIND_COUNT; k++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", k ? " " : "",
                 tdi_person_kind_names[k]);
    n = code_type(find_child(schema, "simpleType", "personKind"), "personKind", codes, NULL);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", codes[i]);
    free_codes(codes, NULL, n);
    assert_string_equal(buf, want);
    assert_string_equal(buf, "nid slk581 client");
    for (size_t t = 0; t < sizeof others / sizeof others[0]; t++) {
        n = code_type(find_child(schema, "simpleType", others[t].type), others[t].type, codes,
                      NULL);
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", codes[i]);
        free_codes(codes, NULL, n);
        assert_string_equal(buf, others[t].values);
    }
    xmlFreeDoc(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_item_matches_its_code_list),
        cmocka_unit_test(canonical_patterns),
        cmocka_unit_test(episode_attributes_are_the_items_and_the_record_fields),
        cmocka_unit_test(not_known_and_crosswalk_names),
        cmocka_unit_test(the_population_is_the_drug_list),
        cmocka_unit_test(stay_bands),
        cmocka_unit_test(schema_version_is_the_writers),
        cmocka_unit_test(person_kinds_match),
        cmocka_unit_test(codes_need_no_escaping),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    xmlCleanupParser();
    return rc;
}
