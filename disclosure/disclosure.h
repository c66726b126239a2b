/*
 * disclosure: statistical disclosure control, in one place. What a published file or table could
 * give away about a person, and what is withheld so that it gives nothing away:
 *   - dc_qi: the tuple of a record's quasi-identifiers as the state database keeps it, and the
 *     blanking of a quasi-identifier in a record (which items are quasi-identifiers is record
 *     data: tdi_qi in common/tdi_record.h);
 *   - dc_reid: the re-identification check's policy: the blankings tried, least first, which one
 *     is taken or why none reaches k_min, and its figures (the grouping is the caller's, the
 *     run has the state database compute it);
 *   - dc_suppress: primary and secondary suppression of the count tables;
 *   - dc_audit: the audit of suppressed tables by linear programming (GLPK);
 *   - dc_glpk: GLPK itself, loaded when a table is first audited;
 *   - dc_protect: the loop that suppresses more until every suppressed cell passes the audit,
 *     in a bounded number of rounds;
 *   - dc_widen: the linear program that names the cells whose suppression widens a failing
 *     cell enough (dc_protect's choice).
 * Depends on common/ only; the stages (the run, report/) call it, it calls none of them.
 */
#ifndef DISCLOSURE_H
#define DISCLOSURE_H

#include "dc_audit.h"
#include "dc_glpk.h"
#include "dc_protect.h"
#include "dc_qi.h"
#include "dc_reid.h"
#include "dc_suppress.h"
#include "dc_widen.h"

#endif
