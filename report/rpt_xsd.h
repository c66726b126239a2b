/*
 * rpt_xsd: the submission schema as tdi run's own check of its files loads it.
 *
 * The episode key and the person pseudonym are checked on every record by the writer, in code,
 * before they are written (rpt_episode_key_ok, rpt_person_key_ok: report.c's check_record and
 * report_delete). libxml2 checks the same patterns with its regular expression engine a character
 * at a time: at 1M episodes 1.2 of the check's 5 s of CPU (docs/benchmark.md, 2026-12-06
 * 21:29-22:30). The run's check therefore takes the schema with those two xs:pattern facets
 * replaced by the length every value of them has; everything else, and every file given to `tdi
 * validate` or xmllint, is checked against the schema as published. The table below names each
 * stand-in; rpt_xsd_in_code refuses a schema whose pattern is not the one the code checks, so the
 * two cannot drift apart, and test_rpt_xsd.c compares each check with libxml2's compiled pattern.
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
    const char *type;         /* the xs:simpleType's name in the schema */
    const char *pattern;      /* its one xs:pattern, as the schema spells it */
    size_t length;            /* the length of every value the pattern accepts */
    int (*ok)(const char *s); /* the writer's check of the same pattern */
} rpt_xsd_stand_in;

#define RPT_XSD_STAND_INS 2
extern const rpt_xsd_stand_in rpt_xsd_stand_ins[RPT_XSD_STAND_INS];

/* Makes doc, a submission schema, the run's form: the pattern of each type of rpt_xsd_stand_ins
 * replaced by an xs:length of its length, and the default of every xs:attribute removed.
 * TDI_ERR_INTERNAL with why (a sentence, not logged: the caller says it) when a type is missing,
 * its pattern is not the expected one, or memory runs out. */
tdi_status rpt_xsd_in_code(xmlDocPtr doc, char *why, size_t whylen);

#endif
