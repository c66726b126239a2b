/*
 * tx_derive: the values transform computes rather than maps, from data tables.
 *
 * Private to transform/. Owns the tables of residential-typology.md and tdi-protocol.md
 * ("Derived values"): setting class -> centre type and residential or not; the age groups (age at
 * entry, age at first use); the classes of years since first injection and since first OST; what
 * each injecting and OST answer says about "ever"; and the derivation order of tx_derive_record().
 */
#ifndef TX_DERIVE_H
#define TX_DERIVE_H

#include "../common/tdi_record.h"
#include "../common/tdi_status.h"

#include <stdint.h>

#define TX_CODES_MAX 40 /* bound on any code list, for the lookup tables below */

/* What an answer to "ever injected" or "ever in OST" says. */
typedef enum tx_ever {
    TX_EVER_NOT_KNOWN, /* not known, or the person would not answer */
    TX_EVER_NEVER,
    TX_EVER_YES,
} tx_ever;

/* The tables resolved to code indices once, at transform_open(). */
typedef struct tx_derive {
    uint8_t centre_type_of[TX_CODES_MAX];    /* setting index -> centre_type index */
    uint8_t residential[TX_CODES_MAX];       /* setting index -> 1 when residential */
    uint8_t injecting_ever[TX_CODES_MAX];    /* injecting index -> tx_ever */
    uint8_t ost_ever[TX_CODES_MAX];          /* ost index -> tx_ever */
    uint8_t age_band_of_class[TX_CODES_MAX]; /* age band class (table order) -> code index */
    uint8_t injection_years_code[TX_CODES_MAX];
    uint8_t ost_years_code[TX_CODES_MAX];
    uint8_t injected_ever;  /* injecting index of "ever injected, timing not known" */
    uint8_t route_inject;   /* route index of "inject" */
    uint8_t secondary_none; /* secondary drug index of "no secondary drug" */
} tx_derive;

/* The numbers of a row, -1 when not known. */
typedef struct tx_numbers {
    int start_year;
    int age; /* completed years at the start, from the birth date */
    int first_use_age;
    int first_injection_age;
    int first_injection_year;
    int first_ost_year;
} tx_numbers;

/* Resolves every table against tdi_codes; a code missing from a list (or a list code missing from
 * a table) is logged and TDI_ERR_INTERNAL: the tables and the code lists are out of step. */
tdi_status tx_derive_init(tx_derive *d);

/* The age-group code index of an age in years (not known when age < 0). */
uint8_t tx_derive_age_band(const tx_derive *d, int age);
/* The bounds of an age-group code index: 0 and *lo, *hi filled, or -1 for "not known". */
int tx_derive_age_band_bounds(const tx_derive *d, uint8_t code, int *lo, int *hi);

int tx_derive_is_residential(const tx_derive *d, const tdi_record *rec);
tx_ever tx_derive_injecting_ever(const tx_derive *d, const tdi_record *rec);
tx_ever tx_derive_ost_ever(const tx_derive *d, const tdi_record *rec);
int tx_derive_route_inject(const tx_derive *d, const tdi_record *rec);
/* 1 and *item when a residential attribute of rec is given (not "not known"): the first one. */
int tx_derive_residential_given(const tx_derive *d, const tdi_record *rec, tdi_item *item);

/* Completes rec (its mapped codes set, numbers given) with every derived value, in this order:
 *   centre type from the setting; residential attributes not applicable outside the residential
 *   classes; age groups from exact ages (a crosswalked group stays when the age is not known);
 *   a secondary drug after "none" that is not known becomes "none"; injecting "not known"
 *   becomes "ever" when the route is inject or a first injection is given; years since first
 *   injection (ever-injectors) and since first OST (persons ever in OST). */
void tx_derive_record(const tx_derive *d, const tx_numbers *n, tdi_record *rec);

/* After the state database ranked rec (transform_history()): sets rec->entrant (1 yes, else no)
 * and, when the person was treated in an earlier year, turns treatment status "not known" into
 * "previously treated". Returns 1 when R018 applies (given "never", treated earlier). */
int tx_derive_history(tdi_record *rec, int entrant, int treated_earlier);

#endif
