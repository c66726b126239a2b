/*
 * tx_keys: owns the master key from the key file to its wiping, the HKDF derivation of the
 * link, quarantine and body keys (tx_keys.h), the known-answer self-tests of the primitives
 * they rest on, and the process settings that keep keys out of core files.
 *
 * The key file is opened once and checked on that same descriptor (fstat, then read), so the
 * file checked is the file read. A symbolic link is followed: the checks apply to its target.
 */
#include "tx_keys.h"

#include "../common/tdi_log.h"
#include "../common/tdi_random.h"
#include "../common/tdi_text.h"

#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static const char link_info[] = "tdi/link/v1";
static const char quarantine_info[] = "tdi/quarantine/v1";
static const char state_info[] = "tdi/state/v1";
static const char body_info[] = "tdi/body/v1"; /* sizeof includes the \0 before the name */
static const char key_id_label[] = "tdi/key-id/v1";

typedef struct tx_body_key {
    tx_pseudo *mac;
    char id[TX_KEY_ID_CHARS + 1];
} tx_body_key;

struct tx_keyring {
    tx_pseudo *link;       /* owned */
    tx_pseudo *quarantine; /* owned */
    tx_pseudo *state;      /* owned */
    tx_body_key *bodies;   /* owned, nbodies */
    size_t nbodies;
};

/* ---- HKDF ---- */

/* Nettle's HKDF takes the MAC as functions over an untyped context. */
static void mac_update(void *ctx, size_t len, const uint8_t *data)
{
    hmac_sha256_update(ctx, len, data);
}

static void mac_digest(void *ctx, size_t len, uint8_t *dst)
{
    hmac_sha256_digest(ctx, len, dst);
}

void tx_keys_hkdf(const unsigned char *ikm, size_t ikmlen, const void *salt, size_t saltlen,
                  const void *info, size_t infolen, unsigned char *out, size_t outlen)
{
    struct hmac_sha256_ctx mac;
    unsigned char prk[SHA256_DIGEST_SIZE];

    /* extract: PRK = HMAC(salt, IKM); expand: T(i) = HMAC(PRK, T(i-1) | info | i) */
    hmac_sha256_set_key(&mac, saltlen, salt);
    hkdf_extract(&mac, mac_update, mac_digest, SHA256_DIGEST_SIZE, ikmlen, ikm, prk);
    hmac_sha256_set_key(&mac, sizeof prk, prk);
    hkdf_expand(&mac, mac_update, mac_digest, SHA256_DIGEST_SIZE, infolen, info, outlen, out);
    explicit_bzero(prk, sizeof prk);
    explicit_bzero(&mac, sizeof mac);
}

/* ---- self-tests ---- */

static const tx_hmac_kat rfc4231[] = {
    {"RFC 4231 test case 1",
     {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
      0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b},
     20,
     "Hi There",
     {0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf,
      0xce, 0xaf, 0x0b, 0xf1, 0x2b, 0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83,
      0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7}},
    {"RFC 4231 test case 2",
     {'J', 'e', 'f', 'e'},
     4,
     "what do ya want for nothing?",
     {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
      0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
      0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43}},
};

static const tx_hkdf_kat rfc5869[] = {
    {"RFC 5869 test case 1",
     {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
      0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b},
     22,
     {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c},
     13,
     {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9},
     10,
     {0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
      0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
      0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65},
     42},
};

static tdi_status kat_failed(const char *what, const char *name)
{
    tdi_error("SELF-TEST FAILED: %s (%s) gives a wrong result: nettle's %s is broken; "
              "refusing to run",
              what, name, what);
    return TDI_ERR_KEY;
}

tdi_status tx_keys_run_kats(const tx_hmac_kat *hmac, size_t nhmac, const tx_hkdf_kat *hkdf,
                            size_t nhkdf)
{
    unsigned char out[64];

    for (size_t i = 0; i < nhmac; i++) {
        tx_pseudo *p = NULL;
        int ok = 1;

        if (tx_pseudo_open_key(hmac[i].key, hmac[i].keylen, &p) != TDI_OK)
            return TDI_ERR_INTERNAL;
        /* Twice on the same context: the second MAC checks it is ready for the next message. */
        for (int round = 0; round < 2 && ok; round++) {
            memset(out, 0, sizeof out);
            tx_pseudo_hmac(p, hmac[i].data, strlen(hmac[i].data), out);
            ok = memeql_sec(out, hmac[i].mac, TX_HMAC_BYTES);
        }
        tx_pseudo_close(p);
        if (!ok)
            return kat_failed("HMAC-SHA256", hmac[i].name);
    }
    for (size_t i = 0; i < nhkdf; i++) {
        memset(out, 0, sizeof out);
        if (hkdf[i].okmlen > sizeof out)
            return TDI_ERR_INTERNAL;
        tx_keys_hkdf(hkdf[i].ikm, hkdf[i].ikmlen, hkdf[i].salt, hkdf[i].saltlen, hkdf[i].info,
                     hkdf[i].infolen, out, hkdf[i].okmlen);
        if (!memeql_sec(out, hkdf[i].okm, hkdf[i].okmlen))
            return kat_failed("HKDF-SHA256", hkdf[i].name);
    }
    return TDI_OK;
}

tdi_status tx_keys_self_test(void)
{
#ifdef TDI_TEST_HOOKS
    /* Test builds only: a wrong expected value stands for a broken primitive. */
    const char *brk = getenv("TDI_TEST_BREAK_SELFTEST");
    tx_hmac_kat h[sizeof rfc4231 / sizeof rfc4231[0]];
    tx_hkdf_kat k[sizeof rfc5869 / sizeof rfc5869[0]];

    memcpy(h, rfc4231, sizeof h);
    memcpy(k, rfc5869, sizeof k);
    if (brk && strcmp(brk, "hmac") == 0)
        h[0].mac[0] ^= 1;
    if (brk && strcmp(brk, "hkdf") == 0)
        k[0].okm[41] ^= 1;
    return tx_keys_run_kats(h, sizeof h / sizeof h[0], k, sizeof k / sizeof k[0]);
#else
    return tx_keys_run_kats(rfc4231, sizeof rfc4231 / sizeof rfc4231[0], rfc5869,
                            sizeof rfc5869 / sizeof rfc5869[0]);
#endif
}

tdi_status tx_keys_no_core_dumps(void)
{
    struct rlimit rl = {0, 0};

    if (setrlimit(RLIMIT_CORE, &rl) != 0) {
        tdi_error("cannot turn core dumps off (setrlimit): %s", strerror(errno));
        return TDI_ERR_KEY;
    }
#ifdef __linux__
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        tdi_error("cannot turn core dumps off (prctl): %s", strerror(errno));
        return TDI_ERR_KEY;
    }
#endif
    return TDI_OK;
}

/* ---- the key file ---- */

/* Reads and checks the key file into key. Every refusal names the file; none quotes it. */
static tdi_status read_key_file(const char *path, unsigned char key[TX_KEY_BYTES])
{
    tdi_status st = TDI_ERR_KEY;
    char buf[2 * TX_KEY_BYTES + 16]; /* room to notice a file that is too long */
    size_t got = 0;
    struct stat sb;
    mode_t mode;
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused as not a regular file below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        tdi_error("%s: cannot open key file: %s", path, strerror(errno));
        return TDI_ERR_KEY;
    }
    if (fstat(fd, &sb) != 0) {
        tdi_error("%s: cannot stat key file: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        tdi_error("%s: key file is not a regular file", path);
        goto done;
    }
    if (sb.st_uid != geteuid()) {
        tdi_error("%s: key file is owned by uid %lu, not by the running user (uid %lu)", path,
                  (unsigned long)sb.st_uid, (unsigned long)geteuid());
        goto done;
    }
    mode = sb.st_mode & 07777;
    if (mode != 0600 && mode != 0400) {
        if (mode & 077)
            tdi_error("%s: permissions %04o are too open; use chmod 600", path, (unsigned)mode);
        else
            tdi_error("%s: permissions %04o are not 0600 or 0400; use chmod 600", path,
                      (unsigned)mode);
        goto done;
    }
    while (got < sizeof buf) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tdi_error("%s: cannot read key file: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (!(got == 2 * TX_KEY_BYTES || (got == 2 * TX_KEY_BYTES + 1 && buf[got - 1] == '\n')))
        goto bad_content;
    if (!tdi_hex_decode(key, buf, 2 * TX_KEY_BYTES, 1))
        goto bad_content;
    st = TDI_OK;
    goto done;
bad_content:
    tdi_error("%s: key file must hold 64 hex digits (a 32-byte key) and an optional newline", path);
done:
    explicit_bzero(buf, sizeof buf);
    close(fd);
    return st;
}

tdi_status tx_keys_keygen(const char *path)
{
    tdi_status st = TDI_ERR_KEY;
    unsigned char key[TX_KEY_BYTES];
    char text[2 * TX_KEY_BYTES + 2];
    size_t len = 2 * TX_KEY_BYTES + 1, done_len = 0;
    int fd = -1, created = 0;

    if (tdi_random_bytes(path, key, sizeof key) != TDI_OK) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    tdi_hex_encode(text, key, sizeof key);
    text[len - 1] = '\n';
    /* O_EXCL: never overwrite a key (a new key gives every person a new pseudonym). */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        tdi_error("%s: cannot create key file: %s", path, strerror(errno));
        goto done;
    }
    created = 1;
    if (fchmod(fd, 0600) != 0) { /* exactly 0600 whatever the umask */
        tdi_error("%s: cannot set key file mode: %s", path, strerror(errno));
        goto done;
    }
    while (done_len < len) {
        ssize_t n = write(fd, text + done_len, len - done_len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tdi_error("%s: cannot write key file: %s", path, strerror(errno));
            goto done;
        }
        done_len += (size_t)n;
    }
    if (fsync(fd) != 0) {
        tdi_error("%s: cannot write key file: %s", path, strerror(errno));
        goto done;
    }
    st = TDI_OK;
done:
    if (fd >= 0 && close(fd) != 0 && st == TDI_OK) {
        tdi_error("%s: cannot write key file: %s", path, strerror(errno));
        st = TDI_ERR_KEY;
    }
    if (st != TDI_OK && created)
        unlink(path); /* no half-written key left behind */
    explicit_bzero(key, sizeof key);
    explicit_bzero(text, sizeof text);
    return st;
}

/* ---- the keyring ---- */

/* Derives a key with info (info_len bytes, then name and its \0 when name is given) into a new
 * HMAC context; the derived key bytes are wiped before returning. */
static tdi_status derive(const unsigned char *master, size_t len, const char *info, size_t info_len,
                         const char *name, tx_pseudo **out)
{
    unsigned char key[TX_KEY_BYTES];
    char buf[64];
    size_t n = info_len;
    tdi_status st;

    memcpy(buf, info, info_len);
    if (name) {
        size_t nl = strlen(name);
        if (info_len + nl > sizeof buf)
            return TDI_ERR_INTERNAL;
        memcpy(buf + info_len, name, nl);
        n += nl;
    }
    tx_keys_hkdf(master, len, TX_HKDF_SALT, sizeof TX_HKDF_SALT - 1, buf, n, key, sizeof key);
    st = tx_pseudo_open_key(key, sizeof key, out);
    explicit_bzero(key, sizeof key);
    return st;
}

/* First 8 hex digits of SHA-256(HMAC(body key, "tdi/key-id/v1")). */
static void key_id(tx_pseudo *body, char id[TX_KEY_ID_CHARS + 1])
{
    unsigned char mac[TX_HMAC_BYTES], sha[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;
    char hex[2 * SHA256_DIGEST_SIZE + 1];

    tx_pseudo_hmac(body, key_id_label, sizeof key_id_label - 1, mac);
    sha256_init(&ctx);
    sha256_update(&ctx, sizeof mac, mac);
    sha256_digest(&ctx, sizeof sha, sha);
    tdi_hex_encode(hex, sha, sizeof sha);
    memcpy(id, hex, TX_KEY_ID_CHARS);
    id[TX_KEY_ID_CHARS] = '\0';
}

tdi_status tx_keys_open_master(const unsigned char *master, size_t len, const char *const *bodies,
                               size_t nbodies, tx_keyring **out)
{
    tdi_status st = TDI_ERR_INTERNAL;
    tx_keyring *k = calloc(1, sizeof *k);

    *out = NULL;
    if (k && nbodies)
        k->bodies = calloc(nbodies, sizeof *k->bodies);
    if (!k || (nbodies && !k->bodies)) {
        tdi_error("keys: out of memory");
        goto done;
    }
    k->nbodies = nbodies;
    st = derive(master, len, link_info, sizeof link_info - 1, NULL, &k->link);
    if (st == TDI_OK)
        st = derive(master, len, quarantine_info, sizeof quarantine_info - 1, NULL, &k->quarantine);
    if (st == TDI_OK)
        st = derive(master, len, state_info, sizeof state_info - 1, NULL, &k->state);
    for (size_t b = 0; b < nbodies && st == TDI_OK; b++) {
        st = derive(master, len, body_info, sizeof body_info, bodies[b], &k->bodies[b].mac);
        if (st == TDI_OK)
            key_id(k->bodies[b].mac, k->bodies[b].id);
    }
    if (st == TDI_OK) {
        *out = k;
        k = NULL;
    }
done:
    tx_keys_close(k);
    return st;
}

tdi_status tx_keys_open(const char *key_file, const char *const *bodies, size_t nbodies,
                        tx_keyring **out)
{
    unsigned char master[TX_KEY_BYTES];
    tdi_status st;

    *out = NULL;
    st = tx_keys_no_core_dumps();
    if (st == TDI_OK)
        st = tx_keys_self_test();
    if (st == TDI_OK)
        st = read_key_file(key_file, master);
    if (st == TDI_OK)
        st = tx_keys_open_master(master, sizeof master, bodies, nbodies, out);
    explicit_bzero(master, sizeof master);
    return st;
}

void tx_keys_close(tx_keyring *k)
{
    if (!k)
        return;
    tx_pseudo_close(k->link);
    tx_pseudo_close(k->quarantine);
    tx_pseudo_close(k->state);
    for (size_t b = 0; b < k->nbodies; b++)
        tx_pseudo_close(k->bodies[b].mac);
    free(k->bodies);
    free(k);
}

tx_pseudo *tx_keys_link(tx_keyring *k)
{
    return k->link;
}

tx_pseudo *tx_keys_quarantine(tx_keyring *k)
{
    return k->quarantine;
}

tx_pseudo *tx_keys_state(tx_keyring *k)
{
    return k->state;
}

tx_pseudo *tx_keys_body(tx_keyring *k, size_t b)
{
    return b < k->nbodies ? k->bodies[b].mac : NULL;
}

const char *tx_keys_body_id(const tx_keyring *k, size_t b)
{
    return b < k->nbodies ? k->bodies[b].id : NULL;
}
