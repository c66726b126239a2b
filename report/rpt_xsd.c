/* rpt_xsd: the submission schema for tdi run's own check; see rpt_xsd.h. */
#include "rpt_xsd.h"

#include "rpt_names.h"

#include <stdio.h>
#include <string.h>

#define XS "http://www.w3.org/2001/XMLSchema"

const rpt_xsd_stand_in rpt_xsd_stand_ins[RPT_XSD_STAND_INS] = {
    {"episodeKey", "e1:[0-9a-f]{32}", 35, rpt_episode_key_ok},
    {"personKey", "v1:[0-9a-f]{64}", 67, rpt_person_key_ok},
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

static tdi_status stand_in(xmlNode *root, const rpt_xsd_stand_in *s, char *why, size_t whylen)
{
    xmlNode *pattern = the_pattern(root, s->type);
    xmlNode *length;
    char n[24];

    if (!pattern || !attr_is(pattern, "value", s->pattern)) {
        snprintf(why, whylen, "type %s: its pattern is not %s, which tdi run checks in code",
                 s->type, s->pattern);
        return TDI_ERR_INTERNAL;
    }
    snprintf(n, sizeof n, "%zu", s->length);
    length = xmlNewDocNode(pattern->doc, pattern->ns, (const xmlChar *)"length", NULL);
    if (!length || !xmlSetProp(length, (const xmlChar *)"value", (const xmlChar *)n)) {
        xmlFreeNode(length);
        snprintf(why, whylen, "out of memory");
        return TDI_ERR_INTERNAL;
    }
    xmlReplaceNode(pattern, length);
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
