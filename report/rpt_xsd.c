/* rpt_xsd: the submission schema for tdi run's own check; see rpt_xsd.h. */
#include "rpt_xsd.h"

#include "rpt_names.h"

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

static tdi_status stand_in(xmlNode *root, const rpt_xsd_stand_in *s, char *why, size_t whylen)
{
    xmlNode *pattern = the_pattern(root, s->type);
    xmlNode *f[2] = {NULL, NULL};

    if (!pattern || !attr_is(pattern, "value", s->pattern)) {
        snprintf(why, whylen, "type %s: its pattern is not %s, which tdi run checks in code",
                 s->type, s->pattern);
        return TDI_ERR_INTERNAL;
    }
    if (s->max_length) {
        int same = s->min_length == s->max_length;

        f[0] = length_facet(pattern, same ? "length" : "minLength", s->min_length);
        f[1] = same ? NULL : length_facet(pattern, "maxLength", s->max_length);
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
        no_defaults(root->children);
    return st;
}
