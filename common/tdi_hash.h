/*
 * tdi_hash: SHA-256 (nettle) for what tdi fingerprints: published files (manifests, the ledger),
 * record contents (what changed since the last submission) and the inputs of a source's
 * transformation (crosswalk, query, routing: a change forces a full read).
 *
 * One context is reused for every digest. Nettle's context is a plain struct that buffers a
 * block itself, so a fingerprint's many short fields cost a copy each, not a library call
 * through a provider layer (OpenSSL 3's EVP, before: issue 16). Hashing cannot fail: only
 * making a context and reading a file return a status.
 */
#ifndef TDI_HASH_H
#define TDI_HASH_H

#include "tdi_status.h"

#include <stddef.h>

#define TDI_SHA256_HEX 65 /* 64 hex digits and a NUL */

typedef struct tdi_hash tdi_hash;

tdi_status tdi_hash_new(tdi_hash **out);
void tdi_hash_free(tdi_hash *h);
/* Starts a new digest on h (a new context has one started; so does tdi_hash_end). */
void tdi_hash_begin(tdi_hash *h);
void tdi_hash_update(tdi_hash *h, const void *buf, size_t len);
/* Adds s and its terminating NUL: fields hashed this way cannot run into each other. */
void tdi_hash_field(tdi_hash *h, const char *s);
/* Ends the digest: its first hexlen/2 bytes (hexlen even, at most 64) as lowercase hex, NUL
 * terminated, into hex[hexlen + 1]; h is ready for the next digest. */
void tdi_hash_end(tdi_hash *h, char *hex, size_t hexlen);
/* Adds the contents of the file at path, read in chunks; errors are logged naming path and
 * returned as err_class. */
tdi_status tdi_hash_file_into(tdi_hash *h, const char *path, tdi_status err_class);
/* Hex SHA-256 of the file at path; read errors are TDI_ERR_OUTPUT. */
tdi_status tdi_sha256_file(const char *path, char hex[TDI_SHA256_HEX]);

#endif
