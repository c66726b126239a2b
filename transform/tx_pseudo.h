/*
 * tx_pseudo: keyed digests and pseudonyms (HMAC-SHA256, nettle's).
 *
 * Private to transform/. A tx_pseudo is one HMAC context keyed once; every MAC re-initialises
 * it without a key, which reuses it. Pseudonyms are made in two steps (README.md, "Pseudonyms"):
 *
 *   digest    = HMAC(link key, DOMAIN \0 [SCOPE \0] VALUE)        kept in memory, never written
 *   pseudonym = "v1:" + hex HMAC(body key, "tdi/person/v1" \0 digest)
 *   episode   = "e1:" + hex of the first 16 bytes of HMAC(body key, "tdi/episode/v1" \0 digest)
 *
 * so a body's pseudonyms need the master key to be recomputed from an identifier, and two
 * bodies' pseudonyms of one person are unrelated.
 */
#ifndef TX_PSEUDO_H
#define TX_PSEUDO_H

#include "../common/tdi_record.h"
#include "../common/tdi_status.h"

#include <stddef.h>

#define TX_HMAC_BYTES 32

typedef struct tx_pseudo tx_pseudo;

/* An HMAC-SHA256 context keyed with key (its pad states computed from it: the key is not kept).
 * TDI_ERR_INTERNAL when out of memory (logged). *out is released with tx_pseudo_close(), which
 * wipes it. */
tdi_status tx_pseudo_open_key(const unsigned char *key, size_t keylen, tx_pseudo **out);
void tx_pseudo_close(tx_pseudo *p);

/* HMAC(key, msg) into out. */
void tx_pseudo_hmac(tx_pseudo *p, const void *msg, size_t len, unsigned char out[TX_HMAC_BYTES]);

/* 1 when client_id is UTF-8 and has a non-empty normalised form (a letter or digit of any
 * script: tx_pseudo_person_digest()), 0 when not, -1 out of memory (logged). */
int tx_pseudo_client_id_ok(const char *client_id);

/* The person digest under the link key. Domains: "tdi/person/nid/v1" (scope: the scheme name,
 * value: the checked digits), "tdi/person/slk581/v1" (no scope, value: the 14-character key),
 * "tdi/person/client/v1" (scope: the source name, value: the client id normalised here: NFKC,
 * upper-cased, NFKC, then only its letters and digits of any script, uc_is_alnum(); an ASCII id
 * keeps its [0-9A-Za-z], upper-cased). TDI_ERR_INTERNAL on an empty (normalised) value, a client
 * id that is no UTF-8, or out of memory. */
tdi_status tx_pseudo_person_digest(tx_pseudo *link, tdi_person_kind kind, const char *scope,
                                   const char *value, unsigned char out[TX_HMAC_BYTES]);

/* HMAC(link key, "tdi/episode/v1" \0 source \0 episode_id), episode_id as given. */
void tx_pseudo_episode_digest(tx_pseudo *link, const char *source, const char *episode_id,
                              unsigned char out[TX_HMAC_BYTES]);

/* The body pseudonyms of a digest. out must hold 68 (person) or 36 (episode) bytes. */
tdi_status tx_pseudo_person(tx_pseudo *body, const unsigned char digest[TX_HMAC_BYTES], char *out,
                            size_t outlen);
tdi_status tx_pseudo_episode(tx_pseudo *body, const unsigned char digest[TX_HMAC_BYTES], char *out,
                             size_t outlen);
/* The episode pseudonym's bytes (what tx_pseudo_episode() writes in hex after "e1:"). */
#define TX_EPISODE_BYTES 16
void tx_pseudo_episode_bytes(tx_pseudo *body, const unsigned char digest[TX_HMAC_BYTES],
                             unsigned char out[TX_EPISODE_BYTES]);
/* The person key of the state database: "p1:" + hex HMAC(state key, "tdi/person/v1" \0 digest),
 * like a body pseudonym under the state key, so it links the person across bodies and years
 * but no file's pseudonym. out must hold 68 bytes. */
tdi_status tx_pseudo_state_person(tx_pseudo *state, const unsigned char digest[TX_HMAC_BYTES],
                                  char *out, size_t outlen);

#endif
