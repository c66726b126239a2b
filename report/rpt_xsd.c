/* rpt_xsd: the submission schema for tdi run's own check; see rpt_xsd.h. */
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
