/*
 * tx_pseudo: keyed pseudonyms (HMAC-SHA256 through OpenSSL 3 EVP_MAC) and the key file.
 *
 * Private to transform/. One EVP_MAC is fetched and one EVP_MAC_CTX is keyed once; every
 * pseudonym re-initialises that context without a key, which reuses it.
 */
#ifndef TX_PSEUDO_H
#define TX_PSEUDO_H

#include "../common/tdi_status.h"

#include <stddef.h>

#define TX_KEY_BYTES  32
#define TX_HMAC_BYTES 32

typedef struct tx_pseudo tx_pseudo;

/* Reads the key file (checks in tx_pseudo.c: regular file, owned by the euid, mode 0600 or
 * 0400, 64 hex digits and an optional newline) and runs the RFC 4231 self-test. Every failure
 * is logged naming the file and returns TDI_ERR_KEY (TDI_ERR_INTERNAL when OpenSSL itself
 * fails). *out is released with tx_pseudo_close(), which wipes the key. */
tdi_status tx_pseudo_open(const char *key_file, tx_pseudo **out);

/* Same from a raw key of any length (the RFC 4231 vectors and tests); no self-test. */
tdi_status tx_pseudo_open_key(const unsigned char *key, size_t keylen, tx_pseudo **out);

void tx_pseudo_close(tx_pseudo *p);

/* Creates path (O_EXCL, mode 0600, never following a link) holding a new random key in the key
 * file format: 64 lowercase hex digits and a newline. On failure nothing is left behind;
 * TDI_ERR_KEY (logged naming the file) or TDI_ERR_INTERNAL (no random bytes). */
tdi_status tx_pseudo_keygen(const char *path);

/* HMAC(key, msg) into out. TDI_ERR_INTERNAL when OpenSSL fails. */
tdi_status tx_pseudo_hmac(tx_pseudo *p, const void *msg, size_t len,
                          unsigned char out[TX_HMAC_BYTES]);

/* Runs RFC 4231 test cases 1 and 2 through the same code path as the pseudonyms (each MAC
 * computed twice on one context, so key reuse is tested too). TDI_OK or TDI_ERR_KEY. */
tdi_status tx_pseudo_self_test(void);

/* 1 when client_id holds at least one [0-9A-Za-z], i.e. has a non-empty normalised form. */
int tx_pseudo_client_id_ok(const char *client_id);

/* "v1:" + hex HMAC(key, "tdi/person/v1" \0 normalised id); normalised = [0-9A-Za-z] kept,
 * uppercased. out must hold 68 bytes. TDI_ERR_INTERNAL on an id with an empty normalised form
 * (callers check tx_pseudo_client_id_ok first) or an OpenSSL failure. */
tdi_status tx_pseudo_person(tx_pseudo *p, const char *client_id, char *out, size_t outlen);

/* "e1:" + hex of the first 16 bytes of HMAC(key, "tdi/episode/v1" \0 source \0 episode_id),
 * episode_id as given. out must hold 36 bytes. */
tdi_status tx_pseudo_episode(tx_pseudo *p, const char *source, const char *episode_id, char *out,
                             size_t outlen);

#endif
