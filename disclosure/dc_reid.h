/*
 * dc_reid: the re-identification check's policy (README.md, "Re-identification check"). Which
 * blankings of a body's records are tried (least first), whether one reaches k_min and which is
 * taken, why none does, and how the figures read: the summary lines and the manifest's JSON.
 *
 * The grouping itself is the caller's (the run asks the state database, which holds what the
 * body has after this run): dc_reid_check() receives the figures through a callback.
 */
#ifndef DC_REID_H
#define DC_REID_H

#include "../common/tdi_config.h"
#include "../common/tdi_status.h"
#include "dc_qi.h"

#include <stddef.h>

#define DC_REID_NAMES_MAX 128  /* blank-separated quasi-identifier names, NUL included */
#define DC_REID_JSON_MAX  1024 /* the manifest's figures */
#define DC_REID_WHY_MAX   512  /* why a body gets nothing */

/* The figures of a body's records grouped by one set of quasi-identifiers. */
typedef struct dc_reid_figures {
    unsigned long records; /* the body's records after this run (with a stored tuple) */
    unsigned long groups;  /* distinct tuples of the quasi-identifiers grouped by */
    unsigned long k;       /* the fewest persons in a group; 0 without records */
    unsigned long at_risk; /* records in groups of fewer than k_min persons */
    double average;        /* mean over records of 1 / the persons of the record's group */
    unsigned long legacy;  /* records sent before tuples were kept (state schema 3) */
    unsigned long l[DC_QI_NSENSITIVE]; /* per sensitive item: its fewest distinct values in a
                                        * group */
} dc_reid_figures;

/* Groups the body's records by the quasi-identifiers (bits of tdi_qi) of each of
 * masks[0..nmasks-1] into out[m]. Masks after the first need be grouped only when the first
 * falls short (their out[] zero otherwise). */
typedef tdi_status (*dc_reid_group_fn)(void *arg, const unsigned *masks, size_t nmasks, int k_min,
                                       dc_reid_figures *out);

typedef struct dc_reid_body {
    const char *name;            /* for the summary and messages */
    const tdi_reid_config *reid; /* its quasi-identifiers, k_min, blank order */
    const char *held;            /* the blanking its files have now, as stored ("" for none);
                                  * NULL: none recorded, no file of the year was sent yet */
    const char *partial;         /* a source feeding it read incrementally this run; NULL when
                                  * every one was read in full */
} dc_reid_body;

typedef struct dc_reid_outcome {
    int met;                         /* 0: nothing may be published for the body (why) */
    int changed;                     /* the blanking differs from the held one: every record
                                      * is sent again */
    unsigned blank_mask;             /* the quasi-identifiers to blank in its records */
    char blanked[DC_REID_NAMES_MAX]; /* their names, for the header and the state */
    char json[DC_REID_JSON_MAX];     /* the figures of the last blanking tried */
    unsigned long k, records;        /* of them: the fewest persons in a group, the records */
    char why[DC_REID_WHY_MAX];       /* when not met */
} dc_reid_outcome;

/* The check of one body. Only a full read (partial NULL) may change the body's blanking: a new
 * blanking changes every record, so every record is sent again, and only such a run has them
 * all. Then the least blanking (in blank_order) that reaches k_min is taken; an incremental run
 * keeps the held blanking. Prints each blanking tried ("disclosure BODY: ...") and the one taken
 * on stdout; logs a failure and a change. Returns what group returned when it failed. */
tdi_status dc_reid_check(const dc_reid_body *body, dc_reid_group_fn group, void *arg,
                         dc_reid_outcome *out);
/* The tuple positions dc_reid_check() groups body by first (the masks[0] its group is given). */
unsigned dc_reid_first_mask(const dc_reid_body *body);

/* The names of the quasi-identifiers in mask, in tdi_qi order, blank-separated ("" for none). */
void dc_reid_names(unsigned mask, char *out, size_t len);
/* The blankable quasi-identifiers named in names (as dc_reid_names() writes them). */
unsigned dc_reid_mask_of(const char *names);

#endif
