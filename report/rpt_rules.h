/*
 * rpt_rules: the cross-field business rules a published episode must keep, checked on the
 * receiving side (tdi audit). schemas/tdi-rules.sch states the same rules in ISO Schematron for
 * auditors' own tools; tests/integration/test_receiver.sh shows both agree. Private to report/.
 */
#ifndef RPT_RULES_H
#define RPT_RULES_H

#include "rpt_read.h"

typedef struct rpt_rule {
    const char *id;      /* the transform rule it repeats (R009 ...) or a name of its own */
    const char *message; /* what is wrong, without values */
    int (*broken)(const rpt_item *it);
} rpt_rule;

extern const rpt_rule rpt_rules[];
extern const int rpt_nrules;

#endif
