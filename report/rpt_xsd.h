/*
 * rpt_xsd: the submission schema as tdi run's own check of its files loads it, and as tdi validate
 * loads it (below).
 *
 * The writer checks some of the schema's patterns on every record, in code, before it writes it
 * (report.c's check_record, report_delete): the episode key and the person pseudonym
 * (rpt_episode_key_ok, rpt_person_key_ok), because a raw id must never reach a file; the source,
 * centre and region (rpt_name_ok, rpt_local_code_ok) and the year (rpt_year_ok). libxml2 checks
 * the same patterns a second time with its regular expression engine, a character at a time: at
 * 1M episodes 1.2 s of CPU for the two pseudonyms, 0.6 s for the other four attributes of every
 * record (docs/benchmark.md, 2026-12-06 21:29-22:30 and 2026-12-07 00:00-01:00). The run's check
 * therefore takes the schema with those xs:pattern facets replaced by the lengths their values
 * have (the year, an integer with its range, keeps the range only); everything else, and every
 * file given to `tdi validate` or xmllint, is checked against the schema as published. The table
 * below names each stand-in; rpt_xsd_in_code refuses a schema whose pattern is not the one the
 * code checks, so the two cannot drift apart, and test_rpt_xsd.c compares each check with
 * libxml2's compiled pattern.
 *
 * The items' code types go the same way: the writer can only put a code of the item's own list
 * there (check_record refuses an index out of it), so rpt_xsd_in_code checks once, with libxml2's
 * compiled pattern, that the schema accepts every code of each list, refuses the schema if not,
 * and leaves the lengths of the codes in the pattern's place: 0.4 s of a 1M run's client CPU
 * (docs/benchmark.md, 2026-12-07 10:40). test_report's every_code_pairs_with_its_item writes
 * every code of every item and checks the file against the schema as published.
 *
 * The run's form also has no attribute defaults. A default changes no document's validity (it
 * is what a reader assumes for an absent attribute), but libxml2 checks the default value of each
 * absent attribute again for every element: 0.4 s of the check at 1M, where a record leaves its
 * not-known items out.
 */
#ifndef RPT_XSD_H
#define RPT_XSD_H

#include "../common/tdi_status.h"

#include <libxml/tree.h>

#include <stddef.h>

typedef struct rpt_xsd_stand_in {
    const char *type;    /* the xs:simpleType's name in the schema */
    const char *pattern; /* its one xs:pattern, as the schema spells it */
    /* The lengths of the values the pattern accepts, which take its place: one xs:length when
     * they are equal, xs:minLength and xs:maxLength when not, nothing when both are 0 (a type
     * whose base has no length: an integer). */
    size_t min_length, max_length;
    int (*ok)(const char *s); /* the writer's check of the same pattern */
} rpt_xsd_stand_in;

#define RPT_XSD_STAND_INS 5
extern const rpt_xsd_stand_in rpt_xsd_stand_ins[RPT_XSD_STAND_INS];

/* Makes doc, a submission schema, the run's form: the pattern of each type of rpt_xsd_stand_ins
 * replaced by the facets of its lengths, and the default of every xs:attribute removed.
 * TDI_ERR_INTERNAL with why (a sentence, not logged: the caller says it) when a type is missing,
 * its pattern is not the expected one, or memory runs out. */
tdi_status rpt_xsd_in_code(xmlDocPtr doc, char *why, size_t whylen);

/* ---- tdi validate's form ----
 * `tdi validate` (and tdi load, tdi audit) checks any file, not one tdi just wrote, so nothing
 * was checked before it. Its form of the schema leaves out the patterns of the stand-ins whose
 * type restricts xs:string by that pattern alone (the episode key, the person pseudonym, the
 * names and local codes: whiteSpace preserve, so libxml2 matches the pattern against the value
 * exactly as the parser hands it to the SAX callbacks), and every attribute default; the caller
 * checks each attribute of those types in its own SAX callback, before libxml2's validator sees
 * the element (rpt_xsd_attr_type, rpt_xsd_attr_check). The year (an xs:integer, whose white space
 * is collapsed first) and the items' codes keep their patterns. At 1M episodes tdi validate takes
 * 5.5 -> 3.6 s (docs/benchmark.md, 2026-12-07 20:00-20:15). The verdict is the published schema's:
 * - a stand-in's check in code accepts exactly the strings its pattern does (test_rpt_xsd.c
 *   compares the two on random strings and near misses);
 * - every attribute of a given name has one type in the schema, so checking by name checks every
 *   place the schema would; only unqualified attributes are declared (no form="qualified", no
 *   ref), and no wildcard (xs:any, xs:anyAttribute) lets an undeclared one through unchecked;
 * - the stand-in types are used by xs:attribute/@type alone (no element, base, list or union
 *   refers to them), and the schema includes, imports and redefines nothing;
 * - a default changes no document's validity.
 * A schema for which any of this does not hold is refused: the caller then checks against the
 * schema as published. */
#define RPT_XSD_ATTRS_MAX 16

typedef struct rpt_xsd_attrs {
    size_t n;
    char name[RPT_XSD_ATTRS_MAX][64];                /* attribute names, unqualified */
    const rpt_xsd_stand_in *type[RPT_XSD_ATTRS_MAX]; /* each one's type */
} rpt_xsd_attrs;

/* Makes doc, a submission schema, tdi validate's form and fills *attrs with the attributes the
 * caller checks. TDI_ERR_INTERNAL with why when the schema is not one this form is sound for
 * (above) or memory runs out; doc is then half changed: free it. */
tdi_status rpt_xsd_for_validate(xmlDocPtr doc, rpt_xsd_attrs *attrs, char *why, size_t whylen);

/* The type of the unqualified attribute name when the caller checks it, else NULL. */
const rpt_xsd_stand_in *rpt_xsd_attr_type(const rpt_xsd_attrs *attrs, const xmlChar *name);

/* 1 when value (len bytes, as a SAX2 callback hands it: "&#38;" for an ampersand) is one of
 * type's pattern; else 0, with what libxml2 would say of it in msg ("Element '{NS}NAME',
 * attribute 'ATTR': [facet 'pattern'] The value '...' is not accepted by the pattern '...'."). */
int rpt_xsd_attr_check(const rpt_xsd_stand_in *type, const xmlChar *element, const xmlChar *ns,
                       const xmlChar *attr, const xmlChar *value, size_t len, char *msg,
                       size_t msglen);

#endif
