/*
 * transform: turns a tdi_raw_row into a tdi_record or a tdi_rejection.
 *
 * Owns the crosswalks (local code -> TDI code, by effective date), the row-level business rules
 * (raised through common/tdi_rules: the table with stable ids), the setting classification and the
 * keyed pseudonyms (HMAC-SHA256 under keys derived per receiving body from the master key file).
 * After transform_row() the record holds no identifier of the row and no pseudonym yet:
 * transform_pseudonymise() gives it those of one body.
 */
#ifndef TDI_TRANSFORM_H
#define TDI_TRANSFORM_H

#include "../common/tdi_config.h"
#include "../common/tdi_record.h"
#include "../common/tdi_rules.h"
#include "../common/tdi_status.h"

#include <stdio.h>

typedef struct transform_ctx transform_ctx;

/* Per-source counters, filled by transform_row(). */
typedef struct transform_stats {
    unsigned long rows;     /* rows seen */
    unsigned long accepted; /* rows turned into records */
    unsigned long rejected; /* rows quarantined by transform (R007 is the run's) */
} transform_stats;

/* Turns core dumps off, runs the HMAC and HKDF self-tests, reads cfg's master key file
 * (refusing one readable by group or others) and derives one key per body of cfg, in cfg's
 * order; the master key is wiped. year is the reporting year; today (YYYYMMDD as int) bounds
 * start dates. *out is freed with transform_close(), which also wipes the keys. */
tdi_status transform_open(const tdi_config *cfg, int year, int today, transform_ctx **out);
void transform_close(transform_ctx *tx);

/* Loads the crosswalk of src and resets the per-source counters. */
tdi_status transform_begin_source(transform_ctx *tx, const tdi_source_config *src);

/* *accepted = 1 and rec filled, or *accepted = 0 and rej filled. Only TDI_ERR_INTERNAL fails. */
tdi_status transform_row(transform_ctx *tx, const tdi_raw_row *row, tdi_record *rec,
                         tdi_rejection *rej, int *accepted);

/* Fills rec->person and rec->episode with the pseudonyms for body (index in the config's
 * bodies) of the row transform_row() last accepted; call it once per body that takes the
 * record, before the next transform_row(). */
tdi_status transform_pseudonymise(transform_ctx *tx, size_t body, tdi_record *rec);

/* The key id of body (8 hex digits: it changes when the master key does), for file headers. */
const char *transform_body_key_id(const transform_ctx *tx, size_t body);

/* Key of a rejected row for the quarantine file: the episode pseudonym under the quarantine key,
 * or "row:N". */
void transform_rejection_key(transform_ctx *tx, const tdi_raw_row *row, char *buf, size_t len);

/* The key of an episode id of the current source in the state database, as its 16 bytes ("e1:"
 * + their hex is its text; under the state key: body-independent, unlike the pseudonyms in
 * submissions, and unlike the quarantine files' keys). *has_key = 0 when episode_id is missing
 * or blank (such a row never has a key). Only TDI_ERR_INTERNAL fails. */
#define TRANSFORM_STATE_KEY_BYTES 16
tdi_status transform_state_key_bytes(transform_ctx *tx, const char *episode_id,
                                     unsigned char out[TRANSFORM_STATE_KEY_BYTES], int *has_key);

/* The state key's text ("e1:" + hex) of the episode id of the row transform_row() last accepted
 * (such a row always has one), from the digest transform_row() made of it. TDI_ERR_INTERNAL
 * without one. */
tdi_status transform_episode_state_key(transform_ctx *tx, char *buf, size_t len);

/* The person key of the row transform_row() last accepted, for the state database only
 * ("p1:" + hex, under the state key): the same person, as far as personKind links, gets the same
 * key whatever the source, body or year. Never written to a file or a log. */
tdi_status transform_person_state_key(transform_ctx *tx, char *buf, size_t len);

/* What the state database decided of a record (README.md, "Counting"): rec->entrant, and, when
 * the person has a treatment start in an earlier year, a treatment status "not known" (3)
 * becomes "previously treated" (2). A "never previously treated" (1) is kept: returns 1 then,
 * rule R018 (warn); else 0. Needs no context: the state's SQL counts R018 per source, the run
 * raises it (tdi_rules.h). */
int transform_history(tdi_record *rec, int entrant, int treated_earlier);

/* Creates path (O_EXCL, mode 0600) holding a new random master key in the key file format. */
tdi_status transform_keygen(const char *path);

const transform_stats *transform_source_stats(const transform_ctx *tx);

/* Prints, for the current source, unmapped local codes by item with counts, and rule counts:
 * transform's own plus more (may be NULL), the rules the caller raised for the source (R007). */
void transform_print_source_report(const transform_ctx *tx, const tdi_rule_hits *more, FILE *fp);
/* The rules raised for the source being read so far (those transform raises). */
void transform_rule_hits(const transform_ctx *tx, tdi_rule_hits *out);

#endif
