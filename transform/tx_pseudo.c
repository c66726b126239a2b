/*
 * tx_pseudo: owns one HMAC-SHA256 context per key and computes the digests and pseudonyms of
 * tx_pseudo.h from it. Knows nothing of key files: tx_keys hands it derived keys.
 */
#include "tx_pseudo.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdlib.h>
#include <string.h>

struct tx_pseudo {
    EVP_MAC *mac;     /* owned: fetched once */
    EVP_MAC_CTX *ctx; /* owned: keyed once; EVP_MAC_CTX_free() wipes the key it holds */
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
    tdi_status st = TDI_ERR_INTERNAL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    tx_pseudo *p = calloc(1, sizeof *p);

    *out = NULL;
    if (!p)
        goto done;
    p->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!p->mac)
        goto done;
    p->ctx = EVP_MAC_CTX_new(p->mac);
    if (!p->ctx || !EVP_MAC_init(p->ctx, key, keylen, params))
        goto done;
    *out = p;
    p = NULL;
    st = TDI_OK;
done:
    if (st != TDI_OK)
        tdi_error("HMAC-SHA256 unavailable in OpenSSL");
    tx_pseudo_close(p);
    return st;
}

void tx_pseudo_close(tx_pseudo *p)
{
    if (!p)
        return;
    EVP_MAC_CTX_free(p->ctx);
    EVP_MAC_free(p->mac);
    free(p);
}

/* One MAC in three steps, so messages can be fed in parts without being copied together. */
static int mac_begin(tx_pseudo *p)
{
    /* No key: reuse the one set at creation (half the cost of a one-shot HMAC). */
    return EVP_MAC_init(p->ctx, NULL, 0, NULL);
}

static int mac_add(tx_pseudo *p, const void *data, size_t len)
{
    return EVP_MAC_update(p->ctx, data, len);
}

static int mac_end(tx_pseudo *p, unsigned char out[TX_HMAC_BYTES])
{
    size_t outl = 0;

    return EVP_MAC_final(p->ctx, out, &outl, TX_HMAC_BYTES) && outl == TX_HMAC_BYTES;
}

tdi_status tx_pseudo_hmac(tx_pseudo *p, const void *msg, size_t len,
                          unsigned char out[TX_HMAC_BYTES])
{
    if (!mac_begin(p) || !mac_add(p, msg, len) || !mac_end(p, out))
        return TDI_ERR_INTERNAL;
    return TDI_OK;
}

int tx_pseudo_client_id_ok(const char *client_id)
{
    for (const unsigned char *s = (const unsigned char *)client_id; *s; s++)
        if (is_alnum_ascii(*s))
            return 1;
    return 0;
}

/* Feeds the [0-9A-Za-z] of s, upper-cased, a chunk at a time (ids have no length bound).
 * Returns the number of characters fed, or -1 when OpenSSL fails. */
static long add_normalised(tx_pseudo *p, const char *s)
{
    unsigned char chunk[64];
    size_t n = 0;
    long total = 0;
    int ok = 1;

    for (const unsigned char *c = (const unsigned char *)s; *c && ok; c++) {
        if (!is_alnum_ascii(*c))
            continue;
        chunk[n++] = (unsigned char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        total++;
        if (n == sizeof chunk) {
            ok = mac_add(p, chunk, n);
            n = 0;
        }
    }
    if (ok)
        ok = mac_add(p, chunk, n);
    OPENSSL_cleanse(chunk, sizeof chunk);
    return ok ? total : -1;
}

tdi_status tx_pseudo_person_digest(tx_pseudo *link, tdi_person_kind kind, const char *scope,
                                   const char *value, unsigned char out[TX_HMAC_BYTES])
{
    const char *domain;
    long fed;

    if ((unsigned)kind >= TDI_PERSON_KIND_COUNT || !value)
        return TDI_ERR_INTERNAL;
    domain = person_digest_domains[kind];
    if (!mac_begin(link) || !mac_add(link, domain, strlen(domain) + 1) ||
        (scope && !mac_add(link, scope, strlen(scope) + 1)))
        return TDI_ERR_INTERNAL;
    if (kind == TDI_PERSON_CLIENT)
        fed = add_normalised(link, value);
    else
        fed = mac_add(link, value, strlen(value)) ? (long)strlen(value) : -1;
    if (fed <= 0 || !mac_end(link, out))
        return TDI_ERR_INTERNAL;
    return TDI_OK;
}

tdi_status tx_pseudo_episode_digest(tx_pseudo *link, const char *source, const char *episode_id,
                                    unsigned char out[TX_HMAC_BYTES])
{
    if (!mac_begin(link) || !mac_add(link, episode_domain, sizeof episode_domain) ||
        !mac_add(link, source, strlen(source) + 1) || /* with its \0 separator */
        !mac_add(link, episode_id, strlen(episode_id)) || !mac_end(link, out))
        return TDI_ERR_INTERNAL;
    return TDI_OK;
}

/* HMAC(body key, domain \0 digest) into mac. */
static int body_mac(tx_pseudo *body, const char *domain, size_t domain_size,
                    const unsigned char digest[TX_HMAC_BYTES], unsigned char mac[TX_HMAC_BYTES])
{
    return mac_begin(body) && mac_add(body, domain, domain_size) &&
           mac_add(body, digest, TX_HMAC_BYTES) && mac_end(body, mac);
}

/* prefix + hex of the first nbytes of HMAC(body key, domain \0 digest). */
static tdi_status body_pseudonym(tx_pseudo *body, const char *domain, size_t domain_size,
                                 const unsigned char digest[TX_HMAC_BYTES], const char *prefix,
                                 size_t nbytes, char *out, size_t outlen)
{
    unsigned char mac[TX_HMAC_BYTES];
    size_t plen = strlen(prefix);

    if (outlen < plen + 2 * nbytes + 1 || !body_mac(body, domain, domain_size, digest, mac))
        return TDI_ERR_INTERNAL;
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

tdi_status tx_pseudo_episode_bytes(tx_pseudo *body, const unsigned char digest[TX_HMAC_BYTES],
                                   unsigned char out[TX_EPISODE_BYTES])
{
    unsigned char mac[TX_HMAC_BYTES];

    if (!body_mac(body, episode_domain, sizeof episode_domain, digest, mac))
        return TDI_ERR_INTERNAL;
    memcpy(out, mac, TX_EPISODE_BYTES);
    return TDI_OK;
}
