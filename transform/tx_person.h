/*
 * tx_person: what a person pseudonym is computed from, normalised.
 *
 * Private to transform/. In order of preference (README.md, "Pseudonyms"):
 *   1. the national id, when the source's scheme is not none and the row has one: normalised
 *      to the scheme's canonical form, its check verified (README.md lists the schemes);
 *   2. else the Australian statistical linkage key SLK-581, when the row has a family name, a
 *      given name and a birth date: letters 2, 3 and 5 of the family name, 2 and 3 of the given
 *      name, the birth date as DDMMYYYY and the sex as 1, 2 or 9;
 *   3. else the source's own client id.
 * Pure functions: no key, no I/O. Their outputs are identifiers: callers wipe them after use.
 */
#ifndef TX_PERSON_H
#define TX_PERSON_H

#include "../common/tdi_config.h"

#define TX_NID_MAX    64 /* characters of the longest canonical national id (plain) */
#define TX_SLK581_LEN 14

/* Normalises raw to scheme's canonical form (separators dropped, letters upper-cased, and per
 * scheme: a dropped leading zero restored, a Swedish number written with its century) and checks
 * it. ref_year (the reporting year) gives the century of a Swedish number written with 10
 * digits. Returns 0 with out set, or -1 with *why set to "not digits", "characters" (one the
 * scheme does not allow there), "length", "date" (the birth date in the id is no date), "check
 * digits" or "placeholder" (static text, never the value). TDI_NID_NONE gives "length". */
int tx_person_nid(tdi_nid_scheme scheme, const char *raw, int ref_year, char out[TX_NID_MAX + 1],
                  const char **why);

/* The SLK-581 of a person. Letters are A-Z after upper-casing; Latin letters with diacritics
 * (U+00C0-U+017F) count as their base letter; anything else (blanks, hyphens, apostrophes,
 * digits, other scripts) is skipped; a name too short for a position gives '2' there.
 * birth_ymd is YYYYMMDD; sex_digit is '1', '2' or '9'. Returns 0, or -1 when a name has no
 * letter at all or birth_ymd is 0 (the SLK would link unrelated people). */
int tx_person_slk581(const char *family, const char *given, int birth_ymd, char sex_digit,
                     char out[TX_SLK581_LEN + 1]);

#endif
