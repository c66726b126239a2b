/*
 * tx_pseudo: owns one HMAC-SHA256 context per key and computes the digests and pseudonyms of
 * tx_pseudo.h from it. Knows nothing of key files: tx_keys hands it derived keys.
 */
#include "tx_pseudo.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <nettle/hmac.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

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

/* A client id before its other characters are dropped: NFKC (full-width digits, ligatures and
 * composed or decomposed accents each one way), upper-cased (full mapping: ß -> SS), NFKC again
 * (upper-casing can undo it). An ASCII id is used as it is and upper-cased by add_kept(): both
 * steps leave ASCII ASCII, and libunistring's take about 0.8 us an id. */
typedef struct {
    const uint8_t *s;
    size_t len;
    uint8_t *heap;    /* libunistring's result when it did not fit buf, else NULL */
    uint8_t buf[128]; /* the result when it fits */
} client_form;

static int ascii_alnum(ucs4_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Wipes and frees a libunistring result r (of len bytes) unless it is buf. */
static void wipe_result(uint8_t *r, size_t len, const uint8_t *buf)
{
    explicit_bzero(r, len);
    if (r != buf)
        free(r);
}

/* 0 with f filled, 1 when id is no UTF-8 (refused, not guessed at: libunistring would read a bad
 * byte as U+FFFD and merge ids), -1 out of memory (logged). form_free(f) in every case. */
static int form_make(const char *id, client_form *f)
{
    uint8_t nfkc[128], *r, *u = NULL;
    size_t n = 0, nlen = sizeof nfkc;
    int ascii = 1;

    f->heap = NULL;
    f->len = 0;
    for (; id[n]; n++)
        ascii &= (unsigned char)id[n] < 0x80;
    f->s = (const uint8_t *)id;
    if (ascii) {
        f->len = n;
        return 0;
    }
    f->s = f->buf;
    if (!tdi_utf8_str_ok(id))
        return 1;
    r = u8_normalize(UNINORM_NFKC, (const uint8_t *)id, n, nfkc, &nlen);
    if (r) {
        f->len = sizeof f->buf;
        u = u8_toupper(r, nlen, NULL, UNINORM_NFKC, f->buf, &f->len);
        wipe_result(r, nlen, nfkc);
    }
    explicit_bzero(nfkc, sizeof nfkc); /* even when the result did not fit it */
    if (!u) {
        f->len = 0;
        tdi_error("out of memory normalising a client id");
        return -1;
    }
    f->s = u;
    f->heap = u == f->buf ? NULL : u;
    return 0;
}

static void form_free(client_form *f)
{
    if (f->heap)
        wipe_result(f->heap, f->len, f->buf);
    explicit_bzero(f->buf, sizeof f->buf);
}

/* Feeds the letters and digits of any script in f (uc_is_alnum) and the marks that go with them
 * (category M: a Devanagari vowel sign is no letter, yet कि and क are two ids) to p a chunk at a
 * time (ids have no length bound), or only counts them when p is NULL. Returns how many letters
 * and digits were kept: marks alone make no id. */
static size_t add_kept(tx_pseudo *p, const client_form *f)
{
    unsigned char chunk[64];
    size_t n = 0, kept = 0;
    ucs4_t uc;

    for (size_t i = 0, k; i < f->len; i += k) {
        k = (size_t)u8_mbtouc(&uc, f->s + i, f->len - i);
        /* ASCII tested as such (no ASCII character is a mark): the same answer as libunistring's
         * calls, which were 1% of a 1M run's client CPU for ids that are all ASCII. */
        if (uc < 0x80 ? ascii_alnum(uc) : uc_is_alnum(uc))
            kept++;
        else if (uc < 0x80 || !uc_is_general_category(uc, UC_CATEGORY_M))
            continue;
        if (!p)
            continue;
        if (n + k > sizeof chunk) {
            mac_add(p, chunk, n);
            n = 0;
        }
        memcpy(chunk + n, f->s + i, k);
        if (uc >= 'a' && uc <= 'z')
            chunk[n] = (unsigned char)(uc - 'a' + 'A');
        n += k;
    }
    if (p)
        mac_add(p, chunk, n);
    explicit_bzero(chunk, sizeof chunk);
    return kept;
}

int tx_pseudo_client_id_ok(const char *client_id)
{
    client_form f;
    int r = form_make(client_id, &f);

    if (r == 0)
        r = add_kept(NULL, &f) > 0;
    else if (r == 1)
        r = 0;
    form_free(&f);
    return r;
}

/* domain \0 [scope \0]: what a person digest's input starts with. */
static void person_begin(tx_pseudo *link, tdi_person_kind kind, const char *scope)
{
    const char *domain = person_digest_domains[kind];

    mac_add(link, domain, strlen(domain) + 1);
    if (scope)
        mac_add(link, scope, strlen(scope) + 1);
}

/* The client kind's digest: its MAC begins once the id is known to be usable, so it always ends. */
static tdi_status client_digest(tx_pseudo *link, const char *scope, const char *id,
                                unsigned char out[TX_HMAC_BYTES])
{
    client_form f;
    tdi_status st = TDI_ERR_INTERNAL;

    if (form_make(id, &f) != 0 || add_kept(NULL, &f) == 0)
        goto done;
    person_begin(link, TDI_PERSON_CLIENT, scope);
    add_kept(link, &f);
    mac_end(link, out);
    st = TDI_OK;
done:
    form_free(&f);
    return st;
}

tdi_status tx_pseudo_person_digest(tx_pseudo *link, tdi_person_kind kind, const char *scope,
                                   const char *value, unsigned char out[TX_HMAC_BYTES])
{
    if ((unsigned)kind >= TDI_PERSON_KIND_COUNT || !value || !*value)
        return TDI_ERR_INTERNAL;
    if (kind == TDI_PERSON_CLIENT)
        return client_digest(link, scope, value, out);
    person_begin(link, kind, scope);
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
