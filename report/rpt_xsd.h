/*
 * rpt_xsd: the submission schema as tdi run's own check of its files loads it.
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

#endif
