/* rpt_xsd: the submission schema for tdi run's own check and for tdi validate; see rpt_xsd.h. */
#include "rpt_xsd.h"

#include "rpt_names.h"

#include "../common/tdi_codes.h"

#include <libxml/xmlregexp.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define XS "http://www.w3.org/2001/XMLSchema"

const rpt_xsd_stand_in rpt_xsd_stand_ins[RPT_XSD_STAND_INS] = {
    {"episodeKey", "e1:[0-9a-f]{32}", 35, 35, rpt_episode_key_ok},
    {"personKey", "v1:[0-9a-f]{64}", 67, 67, rpt_person_key_ok},
    {"name", "[A-Za-z0-9_\\-]{1,32}", 1, RPT_NAME_MAX, rpt_name_ok},
    {"localCode", "[A-Za-z0-9._\\-]{1,32}", 1, RPT_LOCAL_CODE_MAX, rpt_local_code_ok},
    {"year", "[0-9]{4}", 0, 0, rpt_year_ok},
};

/* 1 when node is the XML Schema element called name. */
static int is_xs(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
           strcmp((const char *)node->ns->href, XS) == 0 &&
           strcmp((const char *)node->name, name) == 0;
}

/* 1 when node's attribute name is value. */
static int attr_is(xmlNode *node, const char *name, const char *value)
{
    xmlChar *got = xmlGetProp(node, (const xmlChar *)name);
    int same = got && strcmp((const char *)got, value) == 0;

    xmlFree(got);
    return same;
}

/* The first child element of node called name, or NULL. */
static xmlNode *xs_child(xmlNode *node, const char *name)
{
    for (xmlNode *c = node ? node->children : NULL; c; c = c->next)
        if (is_xs(c, name))
            return c;
    return NULL;
}

/* The one xs:pattern of the restriction of the top-level xs:simpleType named type: NULL when
 * there is no such type, or its restriction has no pattern or more than one. */
static xmlNode *the_pattern(xmlNode *root, const char *type)
{
    xmlNode *found = NULL;

    for (xmlNode *t = root->children; t; t = t->next) {
        if (!is_xs(t, "simpleType") || !attr_is(t, "name", type))
            continue;
        for (xmlNode *f = xs_child(xs_child(t, "restriction"), "pattern"); f; f = f->next) {
            if (!is_xs(f, "pattern"))
                continue;
            if (found)
                return NULL;
            found = f;
        }
    }
    return found;
}

/* A new xs:FACET value="n" element beside pattern (in its document and namespace), or NULL. */
static xmlNode *length_facet(xmlNode *pattern, const char *facet, size_t n)
{
    xmlNode *f = xmlNewDocNode(pattern->doc, pattern->ns, (const xmlChar *)facet, NULL);
    char v[24];

    snprintf(v, sizeof v, "%zu", n);
    if (f && !xmlSetProp(f, (const xmlChar *)"value", (const xmlChar *)v)) {
        xmlFreeNode(f);
        f = NULL;
    }
    return f;
}

/* pattern replaced by the facets of the lengths min..max (none when max is 0). */
static tdi_status by_lengths(xmlNode *pattern, size_t min, size_t max, char *why, size_t whylen)
{
    xmlNode *f[2] = {NULL, NULL};

    if (max) {
        int same = min == max;

        f[0] = length_facet(pattern, same ? "length" : "minLength", min);
        f[1] = same ? NULL : length_facet(pattern, "maxLength", max);
        if (!f[0] || (!same && !f[1])) {
            xmlFreeNode(f[0]);
            xmlFreeNode(f[1]);
            snprintf(why, whylen, "out of memory");
            return TDI_ERR_INTERNAL;
        }
    }
    for (int i = 0; i < 2; i++)
        if (f[i])
            (void)xmlAddPrevSibling(pattern, f[i]);
    xmlUnlinkNode(pattern);
    xmlFreeNode(pattern);
    return TDI_OK;
}

static tdi_status stand_in(xmlNode *root, const rpt_xsd_stand_in *s, char *why, size_t whylen)
{
    xmlNode *pattern = the_pattern(root, s->type);

    if (!pattern || !attr_is(pattern, "value", s->pattern)) {
        snprintf(why, whylen, "type %s: its pattern is not %s, which tdi run checks in code",
                 s->type, s->pattern);
        return TDI_ERR_INTERNAL;
    }
    return by_lengths(pattern, s->min_length, s->max_length, why, whylen);
}

/* The local name of the type of the xs:attribute named attr of the top-level xs:complexType
 * episode (xmlFree it), or NULL. */
static xmlChar *attribute_type(xmlNode *root, const char *attr)
{
    xmlNode *episode = NULL;
    xmlChar *qname = NULL, *local;
    const xmlChar *colon;

    for (xmlNode *t = root->children; t && !episode; t = t->next)
        if (is_xs(t, "complexType") && attr_is(t, "name", "episode"))
            episode = t;
    for (xmlNode *a = episode ? episode->children : NULL; a && !qname; a = a->next)
        if (is_xs(a, "attribute") && attr_is(a, "name", attr))
            qname = xmlGetProp(a, (const xmlChar *)"type");
    if (!qname)
        return NULL;
    colon = (const xmlChar *)strchr((const char *)qname, ':');
    local = xmlStrdup(colon ? colon + 1 : qname);
    xmlFree(qname);
    return local;
}

/* 1 when every code of item i and of the later items of the same type (types[]) matches re;
 * their shortest and longest into *min, *max. Else 0, the item and code that does not into
 * why. */
static int codes_match(xmlRegexpPtr re, xmlChar *const *types, size_t i, size_t *min, size_t *max,
                       char *why, size_t whylen)
{
    for (size_t k = i; k < TDI_ITEM_COUNT; k++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)k);

        if (k > i && !xmlStrEqual(types[k], types[i]))
            continue;
        for (size_t c = 0; c < def->ncodes; c++) {
            size_t len = strlen(def->codes[c].code);

            if (xmlRegexpExec(re, (const xmlChar *)def->codes[c].code) != 1) {
                snprintf(why, whylen,
                         "type %s: its pattern refuses %s's code %s, which tdi run writes",
                         (const char *)types[i], def->name, def->codes[c].code);
                return 0;
            }
            *min = len < *min ? len : *min;
            *max = len > *max ? len : *max;
        }
    }
    return 1;
}

/* The code type of item i (types[i]), shared by the later items of the same type: its pattern
 * must accept every code of their lists (common/tdi_codes.c), which are all the writer can put
 * there (check_record), and is then replaced by the lengths of those codes. */
static tdi_status code_stand_in(xmlNode *root, xmlChar *const *types, size_t i, char *why,
                                size_t whylen)
{
    xmlNode *pattern = the_pattern(root, (const char *)types[i]);
    xmlChar *value = pattern ? xmlGetProp(pattern, (const xmlChar *)"value") : NULL;
    xmlRegexpPtr re = value ? xmlRegexpCompile(value) : NULL;
    size_t min = SIZE_MAX, max = 0;
    tdi_status st = TDI_ERR_INTERNAL;

    if (!re)
        snprintf(why, whylen, "type %s: not one pattern that compiles", (const char *)types[i]);
    else if (codes_match(re, types, i, &min, &max, why, whylen))
        st = by_lengths(pattern, min, max, why, whylen);
    xmlRegFreeRegexp(re);
    xmlFree(value);
    return st;
}

/* Every item's code type by code_stand_in(), each type once. */
static tdi_status code_stand_ins(xmlNode *root, char *why, size_t whylen)
{
    xmlChar *types[TDI_ITEM_COUNT] = {NULL};
    tdi_status st = TDI_OK;

    for (size_t i = 0; i < TDI_ITEM_COUNT && st == TDI_OK; i++) {
        const char *name = tdi_item_get((tdi_item)i)->name;

        types[i] = attribute_type(root, name);
        if (!types[i]) {
            snprintf(why, whylen, "episode has no attribute %s with a type", name);
            st = TDI_ERR_INTERNAL;
        }
    }
    for (size_t i = 0; i < TDI_ITEM_COUNT && st == TDI_OK; i++) {
        int seen = 0;

        for (size_t j = 0; j < i && !seen; j++)
            seen = xmlStrEqual(types[j], types[i]);
        if (!seen)
            st = code_stand_in(root, types, i, why, whylen);
    }
    for (size_t i = 0; i < TDI_ITEM_COUNT; i++)
        xmlFree(types[i]);
    return st;
}

/* Removes the default of every xs:attribute at or under node. */
static void no_defaults(xmlNode *node)
{
    for (; node; node = node->next) {
        if (is_xs(node, "attribute"))
            (void)xmlUnsetProp(node, (const xmlChar *)"default"); /* -1: it had none */
        no_defaults(node->children);
    }
}

tdi_status rpt_xsd_in_code(xmlDocPtr doc, char *why, size_t whylen)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    tdi_status st = TDI_OK;

    if (!root || !is_xs(root, "schema")) {
        snprintf(why, whylen, "not an XML Schema");
        return TDI_ERR_INTERNAL;
    }
    for (size_t i = 0; i < RPT_XSD_STAND_INS && st == TDI_OK; i++)
        st = stand_in(root, &rpt_xsd_stand_ins[i], why, whylen);
    if (st == TDI_OK)
        st = code_stand_ins(root, why, whylen);
    if (st == TDI_OK)
        no_defaults(root->children);
    return st;
}

/* ---- tdi validate's form (rpt_xsd.h) ---- */

/* The XML Schema elements that would let an attribute through unchecked, or bring in
 * declarations this file does not show. */
static const char *const unsafe_elements[] = {"any",    "anyAttribute", "include",
                                              "import", "redefine",     "override"};
/* The attributes of schema elements whose values name types (QNames, or lists of them). */
static const char *const qname_attributes[] = {"type",     "ref",         "base",
                                               "itemType", "memberTypes", "substitutionGroup"};

/* Every attribute name declared in the schema with its type: the stand-in's index, or -1. */
#define DECLARED_MAX 128

typedef struct validate_form {
    xmlNode *root;
    xmlChar *tns;                     /* the schema's targetNamespace */
    int candidate[RPT_XSD_STAND_INS]; /* the stand-ins this form checks in code */
    size_t ndeclared;
    xmlChar *declared[DECLARED_MAX];
    int declared_type[DECLARED_MAX];
    char *why;
    size_t whylen;
} validate_form;

/* The namespace of qname's prefix at node (a QName value), or NULL: none in scope. */
static const xmlChar *qname_ns(xmlNode *node, const xmlChar *qname, const xmlChar **local)
{
    const xmlChar *colon = xmlStrchr(qname, ':');
    xmlChar *prefix = colon ? xmlStrndup(qname, (int)(colon - qname)) : NULL;
    xmlNs *ns = (colon && !prefix) ? NULL : xmlSearchNs(node->doc, node, prefix);

    *local = colon ? colon + 1 : qname;
    xmlFree(prefix);
    return ns ? ns->href : NULL;
}

/* A top-level xs:simpleType named s->type restricting xs:string by s->pattern and nothing else:
 * libxml2 then matches the pattern against the value as the parser gives it. */
static int string_by_pattern(validate_form *f, const rpt_xsd_stand_in *s)
{
    xmlNode *restriction = NULL, *only = NULL;
    xmlChar *base = NULL;
    const xmlChar *ns, *local;
    int ok = 0;

    for (xmlNode *t = f->root->children; t && !restriction; t = t->next)
        if (is_xs(t, "simpleType") && attr_is(t, "name", s->type))
            restriction = xs_child(t, "restriction");
    base = restriction ? xmlGetProp(restriction, (const xmlChar *)"base") : NULL;
    ns = base ? qname_ns(restriction, base, &local) : NULL;
    if (!ns || !xmlStrEqual(ns, (const xmlChar *)XS) ||
        !xmlStrEqual(local, (const xmlChar *)"string"))
        goto done;
    for (xmlNode *c = restriction->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || is_xs(c, "annotation"))
            continue;
        if (only)
            goto done;
        only = c;
    }
    ok = only && is_xs(only, "pattern") && attr_is(only, "value", s->pattern);
done:
    xmlFree(base);
    return ok;
}

/* TDI_ERR_INTERNAL, with why and then what in f->why. */
static tdi_status refuse(validate_form *f, const char *why, const char *what)
{
    snprintf(f->why, f->whylen, "%s%s", why, what);
    return TDI_ERR_INTERNAL;
}

/* The candidate stand-in a QName names: its index, -1 for another type, -2 (said why) when it
 * names a candidate's local name in another namespace. */
static int named_candidate(validate_form *f, xmlNode *node, const xmlChar *qname)
{
    const xmlChar *local, *ns = qname_ns(node, qname, &local);

    for (int i = 0; i < RPT_XSD_STAND_INS; i++) {
        if (!f->candidate[i] || !xmlStrEqual(local, (const xmlChar *)rpt_xsd_stand_ins[i].type))
            continue;
        if (ns && f->tns && xmlStrEqual(ns, f->tns))
            return i;
        refuse(f,
               "a type of another namespace with a stand-in's name: ", rpt_xsd_stand_ins[i].type);
        return -2;
    }
    return -1;
}

/* Records the xs:attribute node's name with its type; refuses a name declared with two types. */
static tdi_status declare(validate_form *f, xmlNode *node)
{
    xmlChar *name = xmlGetProp(node, (const xmlChar *)"name");
    xmlChar *type = xmlGetProp(node, (const xmlChar *)"type");
    int t = type ? named_candidate(f, node, type) : -1;
    tdi_status st = TDI_OK;
    size_t i;

    xmlFree(type);
    if (t == -2 || !name) {
        xmlFree(name);
        return t == -2 ? TDI_ERR_INTERNAL : refuse(f, "an xs:attribute without a name", "");
    }
    for (i = 0; i < f->ndeclared && !xmlStrEqual(f->declared[i], name); i++)
        ;
    if (i < f->ndeclared) {
        if (f->declared_type[i] != t && (f->declared_type[i] >= 0 || t >= 0))
            st = refuse(f, "an attribute declared with two types: ", (const char *)name);
        xmlFree(name);
        return st;
    }
    if (f->ndeclared == DECLARED_MAX) {
        xmlFree(name);
        return refuse(f, "too many attribute names", "");
    }
    f->declared[f->ndeclared] = name;
    f->declared_type[f->ndeclared++] = t;
    return TDI_OK;
}

/* Refuses a type reference to a candidate anywhere but xs:attribute/@type. */
static tdi_status no_other_use(validate_form *f, xmlNode *node)
{
    for (size_t k = 0; k < sizeof qname_attributes / sizeof qname_attributes[0]; k++) {
        xmlChar *v = xmlGetProp(node, (const xmlChar *)qname_attributes[k]);
        const char *sep = " \t\r\n";
        char *save = NULL;
        int bad = 0;

        if (!v)
            continue;
        if (!(is_xs(node, "attribute") && k == 0))
            for (char *tok = strtok_r((char *)v, sep, &save); tok && !bad;
                 tok = strtok_r(NULL, sep, &save))
                bad = named_candidate(f, node, (const xmlChar *)tok) != -1;
        xmlFree(v);
        if (bad)
            return refuse(f, "a stand-in type used other than as an attribute's type", "");
    }
    return TDI_OK;
}

/* Checks every element at or under node (siblings included) for validate_form's conditions. */
static tdi_status walk(validate_form *f, xmlNode *node)
{
    tdi_status st = TDI_OK;

    for (; node && st == TDI_OK; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        for (size_t k = 0; k < sizeof unsafe_elements / sizeof unsafe_elements[0]; k++)
            if (is_xs(node, unsafe_elements[k]))
                return refuse(f, "the schema has an xs:", unsafe_elements[k]);
        if (is_xs(node, "attribute")) {
            if (xmlHasProp(node, (const xmlChar *)"ref") ||
                xmlHasProp(node, (const xmlChar *)"form"))
                return refuse(f, "an xs:attribute with a ref or a form", "");
            st = declare(f, node);
        }
        if (st == TDI_OK)
            st = no_other_use(f, node);
        if (st == TDI_OK)
            st = walk(f, node->children);
    }
    return st;
}

tdi_status rpt_xsd_for_validate(xmlDocPtr doc, rpt_xsd_attrs *attrs, char *why, size_t whylen)
{
    validate_form f = {.root = xmlDocGetRootElement(doc), .why = why, .whylen = whylen};
    tdi_status st = TDI_OK;

    memset(attrs, 0, sizeof *attrs);
    if (!f.root || !is_xs(f.root, "schema"))
        return refuse(&f, "not an XML Schema", "");
    if (attr_is(f.root, "attributeFormDefault", "qualified"))
        return refuse(&f, "attributes are qualified", "");
    f.tns = xmlGetProp(f.root, (const xmlChar *)"targetNamespace");
    for (int i = 0; i < RPT_XSD_STAND_INS; i++)
        f.candidate[i] = string_by_pattern(&f, &rpt_xsd_stand_ins[i]);
    st = walk(&f, f.root);
    for (size_t i = 0; i < f.ndeclared && st == TDI_OK; i++) {
        if (f.declared_type[i] < 0)
            continue;
        if (attrs->n == RPT_XSD_ATTRS_MAX ||
            (size_t)xmlStrlen(f.declared[i]) >= sizeof attrs->name[0]) {
            st = refuse(&f, "too many or too long attribute names", "");
            break;
        }
        snprintf(attrs->name[attrs->n], sizeof attrs->name[0], "%s", (const char *)f.declared[i]);
        attrs->type[attrs->n++] = &rpt_xsd_stand_ins[f.declared_type[i]];
    }
    /* The patterns go without length facets: the check in code stands for the whole pattern. */
    for (int i = 0; i < RPT_XSD_STAND_INS && st == TDI_OK; i++)
        if (f.candidate[i])
            st = by_lengths(the_pattern(f.root, rpt_xsd_stand_ins[i].type), 0, 0, why, whylen);
    if (st == TDI_OK)
        no_defaults(f.root->children);
    for (size_t i = 0; i < f.ndeclared; i++)
        xmlFree(f.declared[i]);
    xmlFree(f.tns);
    if (st != TDI_OK)
        memset(attrs, 0, sizeof *attrs);
    return st;
}

const rpt_xsd_stand_in *rpt_xsd_attr_type(const rpt_xsd_attrs *attrs, const xmlChar *name)
{
    for (size_t i = 0; i < attrs->n; i++)
        if (attrs->name[i][0] == (char)name[0] && strcmp(attrs->name[i], (const char *)name) == 0)
            return attrs->type[i];
    return NULL;
}

int rpt_xsd_attr_check(const rpt_xsd_stand_in *type, const xmlChar *element, const xmlChar *ns,
                       const xmlChar *attr, const xmlChar *value, size_t len, char *msg,
                       size_t msglen)
{
    char v[1024];
    size_t n = 0, i = 0;
    int whole;

    /* What libxml2's validator does first (xmlSchemaSAXHandleStartElementNs): "&#38;" back to
     * the ampersand it stands for. */
    while (i < len && n < sizeof v - 1) {
        if (value[i] == '&' && len - i >= 5 && memcmp(value + i, "&#38;", 5) == 0) {
            v[n++] = '&';
            i += 5;
        } else {
            v[n++] = (char)value[i++];
        }
    }
    whole = i == len;
    v[n] = '\0';
    if (whole && type->ok(v))
        return 1;
    snprintf(msg, msglen,
             "Element '%s%s%s%s', attribute '%s': [facet 'pattern'] The value '%s' is not "
             "accepted by the pattern '%s'.",
             ns ? "{" : "", ns ? (const char *)ns : "", ns ? "}" : "", (const char *)element,
             (const char *)attr, v, type->pattern);
    return 0;
}
