/*
 * tx_pseudo: owns one HMAC-SHA256 context per key and computes the digests and pseudonyms of
 * tx_pseudo.h from it. Knows nothing of key files: tx_keys hands it derived keys.
 */
#include "tx_pseudo.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <nettle/hmac.h>

#include <stdlib.h>
#include <string.h>

/* Nettle's HMAC rather than OpenSSL 3's EVP_MAC: the same MAC (tests/unit/test_pseudo.c checks
 * RFC 4231's vectors), its keyed pad states kept in this struct, where each EVP_MAC_init() and
 * EVP_MAC_final() copies a digest context through the provider layer (malloc, free, parameter
 * lookups): 210 against 115 ns a MAC of a short message, and a night of 2M ids makes 4M of them
 * (docs/benchmark.md, 2026-12-07 07:45). */
struct tx_pseudo {
    struct hmac_sha256_ctx ctx; /* keyed once; tx_pseudo_close() wipes it */
};

/* sizeof includes the \0 that separates a domain from what follows. */
static const char person_domain[] = "tdi/person/v1";
static const char episode_domain[] = "tdi/episode/v1";
static const char *const person_digest_domains[TDI_PERSON_KIND_COUNT] = {
    [TDI_PERSON_NID] = "tdi/person/nid/v1",
    [TDI_PERSON_SLK581] = "tdi/person/slk581/v1",
    [TDI_PERSON_CLIENT] = "tdi/person/client/v1",
};

static int is_alnum_ascii(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

tdi_status tx_pseudo_open_key(const unsigned char *key, size_t keylen, tx_pseudo **out)
{
    tx_pseudo *p = calloc(1, sizeof *p);

    *out = NULL;
    if (!p) {
        tdi_error("out of memory");
        return TDI_ERR_INTERNAL;
    }
    hmac_sha256_set_key(&p->ctx, keylen, key);
    *out = p;
    return TDI_OK;
}

void tx_pseudo_close(tx_pseudo *p)
{
    if (!p)
        return;
    explicit_bzero(p, sizeof *p);
    free(p);
}

/* One MAC in parts, so messages need not be copied together: nettle's digest leaves the
 * context ready for the next message with the same key. Neither step can fail, so a MAC begun
 * is always ended (a value refused is refused before its MAC begins). */
static void mac_add(tx_pseudo *p, const void *data, size_t len)
{
    hmac_sha256_update(&p->ctx, len, data);
}

static void mac_end(tx_pseudo *p, unsigned char out[TX_HMAC_BYTES])
{
    hmac_sha256_digest(&p->ctx, TX_HMAC_BYTES, out);
}

void tx_pseudo_hmac(tx_pseudo *p, const void *msg, size_t len, unsigned char out[TX_HMAC_BYTES])
{
    mac_add(p, msg, len);
    mac_end(p, out);
}

int tx_pseudo_client_id_ok(const char *client_id)
{
    for (const unsigned char *s = (const unsigned char *)client_id; *s; s++)
        if (is_alnum_ascii(*s))
            return 1;
    return 0;
}

/* Feeds the [0-9A-Za-z] of s, upper-cased, a chunk at a time (ids have no length bound). */
static void add_normalised(tx_pseudo *p, const char *s)
{
    unsigned char chunk[64];
    size_t n = 0;

    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (!is_alnum_ascii(*c))
            continue;
        chunk[n++] = (unsigned char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        if (n == sizeof chunk) {
            mac_add(p, chunk, n);
            n = 0;
        }
    }
    mac_add(p, chunk, n);
    explicit_bzero(chunk, sizeof chunk);
}

tdi_status tx_pseudo_person_digest(tx_pseudo *link, tdi_person_kind kind, const char *scope,
                                   const char *value, unsigned char out[TX_HMAC_BYTES])
{
    const char *domain;

    if ((unsigned)kind >= TDI_PERSON_KIND_COUNT || !value || !*value ||
        (kind == TDI_PERSON_CLIENT && !tx_pseudo_client_id_ok(value)))
        return TDI_ERR_INTERNAL;
    domain = person_digest_domains[kind];
    mac_add(link, domain, strlen(domain) + 1);
    if (scope)
        mac_add(link, scope, strlen(scope) + 1);
    if (kind == TDI_PERSON_CLIENT)
        add_normalised(link, value);
    else
        mac_add(link, value, strlen(value));
    mac_end(link, out);
    return TDI_OK;
}

void tx_pseudo_episode_digest(tx_pseudo *link, const char *source, const char *episode_id,
                              unsigned char out[TX_HMAC_BYTES])
{
    mac_add(link, episode_domain, sizeof episode_domain);
    mac_add(link, source, strlen(source) + 1); /* with its \0 separator */
    mac_add(link, episode_id, strlen(episode_id));
    mac_end(link, out);
}

/* HMAC(body key, domain \0 digest) into mac. */
static void body_mac(tx_pseudo *body, const char *domain, size_t domain_size,
                     const unsigned char digest[TX_HMAC_BYTES], unsigned char mac[TX_HMAC_BYTES])
{
    mac_add(body, domain, domain_size);
    mac_add(body, digest, TX_HMAC_BYTES);
    mac_end(body, mac);
}

/* prefix + hex of the first nbytes of HMAC(body key, domain \0 digest). */
static tdi_status body_pseudonym(tx_pseudo *body, const char *domain, size_t domain_size,
                                 const unsigned char digest[TX_HMAC_BYTES], const char *prefix,
                                 size_t nbytes, char *out, size_t outlen)
{
    unsigned char mac[TX_HMAC_BYTES];
    size_t plen = strlen(prefix);

    if (outlen < plen + 2 * nbytes + 1)
        return TDI_ERR_INTERNAL;
    body_mac(body, domain, domain_size, digest, mac);
    memcpy(out, prefix, plen);
    tdi_hex_encode(out + plen, mac, nbytes);
    return TDI_OK;
}
tdi_status tx_pseudo_person(tx_pseudo *body, const unsigned char digest[TX_HMAC_BYTES], char *out,
                            size_t outlen)
{
    return body_pseudonym(body, person_domain, sizeof person_domain, digest, "v1:", TX_HMAC_BYTES,
                          out, outlen);
}

tdi_status tx_pseudo_state_person(tx_pseudo *state, const unsigned char digest[TX_HMAC_BYTES],
                                  char *out, size_t outlen)
{
    return body_pseudonym(state, person_domain, sizeof person_domain, digest, "p1:", TX_HMAC_BYTES,
                          out, outlen);
}

tdi_status tx_pseudo_episode(tx_pseudo *body, const unsigned char digest[TX_HMAC_BYTES], char *out,
                             size_t outlen)
{
    return body_pseudonym(body, episode_domain, sizeof episode_domain, digest,
                          "e1:", TX_EPISODE_BYTES, out, outlen);
}

void tx_pseudo_episode_bytes(tx_pseudo *body, const unsigned char digest[TX_HMAC_BYTES],
                             unsigned char out[TX_EPISODE_BYTES])
{
    unsigned char mac[TX_HMAC_BYTES];

    body_mac(body, episode_domain, sizeof episode_domain, digest, mac);
    memcpy(out, mac, TX_EPISODE_BYTES);
}
