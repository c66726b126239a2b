/*
 * run_keys: an incremental read's key scan as a digest, and what of it the state database needs.
 *
 * Owns the digest of a key scan (every episode state key of the year the source holds): per
 * bucket of the keys' leading 16 bits the sum, modulo 2^64, of their last 8 bytes. State keys are
 * HMAC outputs, so the buckets fill evenly and a bucket whose set of keys changed keeps its sum
 * with a chance of 2^-64. The merge compares this scan's digest with the one the last scan left
 * (folded to its number of buckets) and sends the state database only the keys of the buckets
 * that differ, with those buckets' ranges: deletes are looked for only there (state/st_keys.c).
 * The rows read now that no body holds (a night's new episodes) are left out of the comparison:
 * they change their buckets, but nothing held can be gone there because of them.
 * The digest kept is folded to about four keys a bucket (256 to 65536 buckets), so a small
 * source keeps a small one. Memory: one STATE_KEY_BUCKETS array per source being read.
 */
#include "run_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_FOLD   8     /* a kept digest has at least 2^8 buckets */
#define KEYS_PER_B 4     /* about this many keys a bucket in a kept digest */
#define UNHELD_MAX 16384 /* rows read now left out of the comparison at most (768 KiB of keys) */

int run_key_pack(const char *key, unsigned char out[RUN_KEY_BYTES])
{
    return tdi_hex_key(out, key, "e1:", RUN_KEY_BYTES);
}

void run_key_unpack(const unsigned char key[RUN_KEY_BYTES], char out[RUN_KEY_CHARS + 1])
{
    memcpy(out, "e1:", 3);
    tdi_hex_encode(out + 3, key, RUN_KEY_BYTES);
}

unsigned run_key_bucket(const unsigned char key[RUN_KEY_BYTES])
{
    return (unsigned)key[0] << 8 | key[1];
}

int run_key_prefix(const char *key, unsigned *prefix)
{
    unsigned char k[RUN_KEY_BYTES];

    if (!run_key_pack(key, k))
        return 0;
    *prefix = run_key_bucket(k);
    return 1;
}

/* A packed key's last 8 bytes, big-endian: what its bucket's sum adds. */
static uint64_t key_tail(const unsigned char k[RUN_KEY_BYTES])
{
    uint64_t tail = 0;

    for (int i = RUN_KEY_BYTES - 8; i < RUN_KEY_BYTES; i++)
        tail = tail << 8 | k[i];
    return tail;
}

tdi_status run_keys_add(run_source *s, const unsigned char key[RUN_KEY_BYTES])
{
    if (!s->keysum) {
        s->keysum = calloc(STATE_KEY_BUCKETS, sizeof *s->keysum);
        if (!s->keysum) {
            tdi_error("source %s: out of memory", s->cfg->name);
            return TDI_ERR_INTERNAL;
        }
        s->nkeys = 0;
    }
    s->keysum[run_key_bucket(key)] += key_tail(key);
    s->nkeys++;
    return TDI_OK;
}

int run_keys_leave_out(uint64_t *sum, const char *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char k[RUN_KEY_BYTES];

        if (!run_key_pack(keys + i * STATE_KEY_WIDTH, k))
            return 0;
        sum[run_key_bucket(k)] -= key_tail(k);
    }
    return 1;
}

/* sum (STATE_KEY_BUCKETS) folded to 2^bits buckets into out, big-endian, 8 bytes a bucket. */
static void fold(const uint64_t *sum, int bits, unsigned char *out)
{
    size_t nb = (size_t)1 << bits;

    memset(out, 0, nb * 8);
    for (size_t b = 0; b < nb; b++) {
        uint64_t v = 0;
        size_t per = STATE_KEY_BUCKETS / nb;

        for (size_t i = 0; i < per; i++)
            v += sum ? sum[b * per + i] : 0;
        for (int k = 0; k < 8; k++)
            out[b * 8 + (size_t)k] = (unsigned char)(v >> (56 - 8 * k));
    }
}

/* The number of bits of a digest of len bytes (a power of two of 8-byte buckets, 2^8 to 2^16);
 * -1 when it is not one. */
static int digest_bits(size_t len)
{
    for (int bits = MIN_FOLD; bits <= 16; bits++)
        if (len == ((size_t)8 << bits))
            return bits;
    return -1;
}

/* The buckets (of 2^bits) where this scan's digest differs from last (len bytes), as ranges of
 * 16-bit prefixes [lo, hi) in lo/hi (each of 2^bits / 2 + 1 entries at most), *n of them. */
static tdi_status changed_ranges(const uint64_t *sum, const unsigned char *last, int bits,
                                 unsigned *lo, unsigned *hi, size_t *n, unsigned char *now)
{
    size_t nb = (size_t)1 << bits;
    unsigned width = STATE_KEY_BUCKETS >> bits;

    *n = 0;
    fold(sum, bits, now);
    for (size_t b = 0; b < nb; b++) {
        if (memcmp(now + b * 8, last + b * 8, 8) == 0)
            continue;
        if (*n > 0 && hi[*n - 1] == b * width)
            hi[*n - 1] += width; /* adjacent: one range */
        else {
            lo[*n] = (unsigned)b * width;
            hi[*n] = lo[*n] + width;
            (*n)++;
        }
    }
    return TDI_OK;
}

/* The buckets (of 2^bits) in the n ranges of changed_ranges(). */
static unsigned changed_buckets(const unsigned *lo, const unsigned *hi, size_t n, int bits)
{
    unsigned prefixes = 0;

    for (size_t r = 0; r < n; r++)
        prefixes += hi[r] - lo[r];
    return prefixes / (STATE_KEY_BUCKETS >> bits);
}

/* What copy_keys sends: every key, or those whose bucket is marked in `in`. */
typedef struct key_copy {
    run_ctx *rc;
    int si;
    const unsigned char *in; /* STATE_KEY_BUCKETS flags, or NULL: all */
} key_copy;

static tdi_status copy_key(void *arg, const unsigned char key[RUN_KEY_BYTES], const char *id)
{
    key_copy *kc = arg;
    char hex[RUN_KEY_CHARS + 1];

    (void)id;
    if (kc->in && !kc->in[run_key_bucket(key)])
        return TDI_OK;
    run_key_unpack(key, hex);
    return state_put_key(kc->rc->state, kc->si, hex);
}

/* The keys of fp (the pairs of s->ids) whose prefix lies in a range (every key when all) into
 * PRESENT; ranges are sorted and apart, so a table of the prefixes' buckets finds them. */
static tdi_status copy_keys(run_ctx *rc, size_t si, FILE *fp, const unsigned *lo,
                            const unsigned *hi, size_t n, int all)
{
    unsigned char *in = all ? NULL : calloc(STATE_KEY_BUCKETS, 1);
    key_copy kc = {rc, (int)si, in};
    tdi_status st, cst;

    if (!all && !in) {
        tdi_error("source %s: out of memory", rc->src[si].cfg->name);
        return TDI_ERR_INTERNAL;
    }
    for (size_t r = 0; in && r < n; r++)
        memset(in + lo[r], 1, hi[r] - lo[r]);
    st = state_copy_begin(rc->state, STATE_COPY_PRESENT);
    if (st == TDI_OK)
        st = run_ids_scan(fp, copy_key, &kc);
    free(in);
    cst = state_copy_end(rc->state, st != TDI_OK);
    return st != TDI_OK ? st : cst;
}

/* The bits of the digest kept for nkeys keys: about KEYS_PER_B keys a bucket. */
static int keep_bits(unsigned long nkeys)
{
    int bits = MIN_FOLD;

    while (bits < 16 && ((unsigned long)1 << bits) * KEYS_PER_B < nkeys)
        bits++;
    return bits;
}

/* The buckets that changed (lo, hi, *n of changed_ranges()) again, leaving out of this scan's
 * sums the rows read now that no body holds (*left_out of them; UNHELD_MAX + 1: more, none left
 * out). Such a key changes its bucket's sum but nothing held is gone there: left out, a night's
 * appends no longer make their buckets compared, only its deletes (and a row the bodies were
 * not sent, read again, as before). Only rows in a bucket that changed are asked about: a key
 * left out of a bucket that did not would only make it look changed. */
static tdi_status leave_out_unheld(run_ctx *rc, size_t si, const unsigned char *last, int bits,
                                   unsigned *lo, unsigned *hi, size_t *n, unsigned char *now,
                                   size_t *left_out)
{
    run_source *s = &rc->src[si];
    unsigned char in[STATE_KEY_BUCKETS / 8] = {0};
    unsigned width = STATE_KEY_BUCKETS >> bits;
    uint64_t *own = NULL;
    char *keys = NULL;
    tdi_status st;

    for (size_t r = 0; r < *n; r++)
        for (unsigned b = lo[r] / width; b < hi[r] / width; b++)
            in[b / 8] |= (unsigned char)(1u << (b % 8));
    st = state_keys_unheld(rc->state, (int)si, s->cfg->name, rc->year, in, bits, UNHELD_MAX, &keys,
                           left_out);
    if (st == TDI_OK && keys && !(own = malloc(STATE_KEY_BUCKETS * sizeof *own))) {
        tdi_error("source %s: out of memory", s->cfg->name);
        st = TDI_ERR_INTERNAL;
    }
    if (own && s->keysum)
        memcpy(own, s->keysum, STATE_KEY_BUCKETS * sizeof *own);
    else if (own)
        memset(own, 0, STATE_KEY_BUCKETS * sizeof *own);
    if (own && !run_keys_leave_out(own, keys, *left_out)) {
        tdi_error("source %s: a state key is malformed", s->cfg->name);
        st = TDI_ERR_INTERNAL;
    }
    if (st == TDI_OK && own)
        st = changed_ranges(own, last, bits, lo, hi, n, now);
    free(own);
    free(keys);
    return st;
}

tdi_status run_keys_merge(run_ctx *rc, size_t si)
{
    run_source *s = &rc->src[si];
    unsigned char *last = NULL, *now = NULL;
    unsigned *lo = NULL, *hi = NULL;
    size_t len = 0, n = 0, out = 0;
    int bits, kbits = keep_bits(s->nkeys);
    tdi_status st;

    if (!s->ids)
        return TDI_OK;
    st = state_keys_last(rc->state, s->cfg->name, rc->year, s->fingerprint, &last, &len);
    bits = st == TDI_OK ? digest_bits(len) : -1;
    now = malloc((size_t)8 << (bits > kbits ? bits : kbits));
    lo = calloc(STATE_KEY_BUCKETS / 2 + 1, sizeof *lo);
    hi = calloc(STATE_KEY_BUCKETS / 2 + 1, sizeof *hi);
    if (st == TDI_OK && (!now || !lo || !hi)) {
        tdi_error("source %s: out of memory", s->cfg->name);
        st = TDI_ERR_INTERNAL;
    }
    if (st == TDI_OK && bits >= 0)
        st = changed_ranges(s->keysum, last, bits, lo, hi, &n, now);
    if (st == TDI_OK && bits >= 0 && n > 0)
        st = leave_out_unheld(rc, si, last, bits, lo, hi, &n, now, &out);
    /* What the digest kept saved: the nights' tests read it (a digest read back wrong costs
     * only time, every bucket then looking changed). */
    if (st == TDI_OK && bits < 0)
        tdi_debug("source %s: key scan: no digest kept to compare with: every key to the state "
                  "database",
                  s->cfg->name);
    else if (st == TDI_OK && out > UNHELD_MAX)
        tdi_debug("source %s: key scan: %u of %u buckets changed since the digest kept, "
                  "leaving out none: more than %d rows read now that no body holds",
                  s->cfg->name, changed_buckets(lo, hi, n, bits), 1u << bits, UNHELD_MAX);
    else if (st == TDI_OK)
        tdi_debug("source %s: key scan: %u of %u buckets changed since the digest kept, "
                  "leaving out the %zu row%s read now that no body holds",
                  s->cfg->name, changed_buckets(lo, hi, n, bits), 1u << bits, out,
                  out == 1 ? "" : "s");
    if (st == TDI_OK)
        st = copy_keys(rc, si, s->ids, lo, hi, n, bits < 0);
    if (st == TDI_OK) {
        fold(s->keysum, kbits, now);
        st = state_keys_keep(rc->state, (int)si, s->cfg->name, now, (size_t)8 << kbits, bits >= 0,
                             lo, hi, n);
    }
    free(last);
    free(now);
    free(lo);
    free(hi);
    return st;
}
