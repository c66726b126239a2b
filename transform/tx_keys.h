/*
 * tx_keys: the master key and the keys derived from it.
 *
 * Private to transform/. The key file holds the master key; it is read once, used only as the
 * input of HKDF-SHA256 (RFC 5869, nettle's hkdf_extract and hkdf_expand over its HMAC-SHA256)
 * and wiped. Derived, each into its own HMAC context (tx_pseudo) keyed once and reused:
 *
 *   link key        info "tdi/link/v1"            per-row digests kept in memory only
 *   quarantine key  info "tdi/quarantine/v1"      episode keys in quarantine files
 *   state key       info "tdi/state/v1"           episode keys in the state database
 *   body key        info "tdi/body/v1" \0 NAME    pseudonyms in that body's files
 *
 * all with the fixed, public salt "tdi-hkdf-salt-v1". Two bodies' pseudonyms of one person are
 * unrelated without the master key; a body's key id (first 8 hex digits of
 * SHA-256(HMAC(body key, "tdi/key-id/v1"))) tells receivers when the key changed and reveals
 * nothing of it.
 */
#ifndef TX_KEYS_H
#define TX_KEYS_H

#include "tx_pseudo.h"

#include "../common/tdi_status.h"

#include <stddef.h>

#define TX_KEY_BYTES    32
#define TX_KEY_ID_CHARS 8
#define TX_HKDF_SALT    "tdi-hkdf-salt-v1"

typedef struct tx_keyring tx_keyring;

/* Turns core dumps off for the process (the key will be in its memory), runs the self-tests,
 * reads and checks the key file (regular file, owned by the euid, mode 0600 or 0400, 64 hex
 * digits and an optional newline), derives the keys for the nbodies body names and wipes the
 * master key. Every failure is logged naming the file, never quoting it, and returns
 * TDI_ERR_KEY (TDI_ERR_INTERNAL when out of memory). *out is released with
 * tx_keys_close(), which wipes every derived key. */
tdi_status tx_keys_open(const char *key_file, const char *const *bodies, size_t nbodies,
                        tx_keyring **out);
/* The same from master key bytes (tests): no file, no self-test, core dumps left alone. */
tdi_status tx_keys_open_master(const unsigned char *master, size_t len, const char *const *bodies,
                               size_t nbodies, tx_keyring **out);
void tx_keys_close(tx_keyring *k);

tx_pseudo *tx_keys_link(tx_keyring *k);
tx_pseudo *tx_keys_quarantine(tx_keyring *k);
tx_pseudo *tx_keys_state(tx_keyring *k);
/* NULL when b >= nbodies. */
tx_pseudo *tx_keys_body(tx_keyring *k, size_t b);
/* 8 lowercase hex digits, or NULL when b >= nbodies. */
const char *tx_keys_body_id(const tx_keyring *k, size_t b);

/* HKDF-SHA256 (extract and expand) of ikm into outlen (at most 255 * 32) bytes of out. */
void tx_keys_hkdf(const unsigned char *ikm, size_t ikmlen, const void *salt, size_t saltlen,
                  const void *info, size_t infolen, unsigned char *out, size_t outlen);

/* Known-answer vectors, so a test can hand the runner a wrong one. */
typedef struct tx_hmac_kat {
    const char *name; /* "RFC 4231 test case 1" */
    unsigned char key[20];
    size_t keylen;
    const char *data;
    unsigned char mac[TX_HMAC_BYTES];
} tx_hmac_kat;

typedef struct tx_hkdf_kat {
    const char *name; /* "RFC 5869 test case 1" */
    unsigned char ikm[22];
    size_t ikmlen;
    unsigned char salt[13];
    size_t saltlen;
    unsigned char info[10];
    size_t infolen;
    unsigned char okm[42];
    size_t okmlen;
} tx_hkdf_kat;

/* Runs the vectors through the code paths the keys use (each HMAC twice on one context, so
 * key reuse is tested too). The first wrong answer is logged as "SELF-TEST FAILED: ... (NAME)
 * gives a wrong result: OpenSSL's ... is broken; refusing to run" and returns TDI_ERR_KEY. */
tdi_status tx_keys_run_kats(const tx_hmac_kat *hmac, size_t nhmac, const tx_hkdf_kat *hkdf,
                            size_t nhkdf);
/* tx_keys_run_kats() on RFC 4231 test cases 1 and 2 and RFC 5869 test case 1. A build with
 * -DTDI_TEST_HOOKS breaks one expected value when TDI_TEST_BREAK_SELFTEST is "hmac" or "hkdf",
 * so the integration tests can watch the real binary refuse to run. */
tdi_status tx_keys_self_test(void);

/* Sets RLIMIT_CORE to 0 and, on Linux, PR_SET_DUMPABLE to 0 (no core file, no ptrace by other
 * processes of the user, no /proc/PID/mem). TDI_ERR_KEY when either fails. */
tdi_status tx_keys_no_core_dumps(void);

/* Creates path (O_EXCL, mode 0600, never following a link) holding a new random master key in
 * the key file format: 64 lowercase hex digits and a newline. On failure nothing is left
 * behind; TDI_ERR_KEY (logged naming the file) or TDI_ERR_INTERNAL (no random bytes). */
tdi_status tx_keys_keygen(const char *path);

#endif
