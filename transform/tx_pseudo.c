/*
 * tx_pseudo: owns the pseudonymisation key (from the key file to the wiped buffers) and the
 * HMAC-SHA256 context keyed with it; computes person pseudonyms and episode keys.
 *
 * The key file is opened once and checked on that same descriptor (fstat, then read), so the
 * file checked is the file read. A symbolic link is followed: the checks apply to its target.
 */
#include "tx_pseudo.h"

#include "../common/tdi_log.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tx_pseudo {
    EVP_MAC *mac;     /* owned: fetched once */
    EVP_MAC_CTX *ctx; /* owned: keyed once; EVP_MAC_CTX_free() wipes the key it holds */
};

static const char person_domain[] = "tdi/person/v1";   /* sizeof includes the \0 separator */
static const char episode_domain[] = "tdi/episode/v1"; /* idem */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int is_alnum_ascii(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Keys a new context on mac (which the caller keeps owning; we take our own reference). */
static tdi_status pseudo_new(EVP_MAC *mac, const unsigned char *key, size_t keylen, tx_pseudo **out)
{
    tdi_status st = TDI_ERR_INTERNAL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    tx_pseudo *p = calloc(1, sizeof *p);

    *out = NULL;
    if (!p || !EVP_MAC_up_ref(mac))
        goto done;
    p->mac = mac;
    p->ctx = EVP_MAC_CTX_new(mac);
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

/* RFC 4231, HMAC-SHA256 test cases 1 and 2. */
static const struct {
    unsigned char key[20];
    size_t keylen;
    const char *data;
    unsigned char mac[TX_HMAC_BYTES];
} rfc4231[] = {
    {{0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
      0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b},
     20,
     "Hi There",
     {0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf,
      0xce, 0xaf, 0x0b, 0xf1, 0x2b, 0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83,
      0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7}},
    {{'J', 'e', 'f', 'e'},
     4,
     "what do ya want for nothing?",
     {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
      0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
      0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43}},
};

static tdi_status self_test(EVP_MAC *mac)
{
    tdi_status st = TDI_OK;

    for (size_t i = 0; i < sizeof rfc4231 / sizeof rfc4231[0] && st == TDI_OK; i++) {
        tx_pseudo *p = NULL;
        unsigned char out[TX_HMAC_BYTES];

        if (pseudo_new(mac, rfc4231[i].key, rfc4231[i].keylen, &p) != TDI_OK) {
            st = TDI_ERR_KEY;
            break;
        }
        /* Twice on the same context: the second run checks the key survives a re-init. */
        for (int round = 0; round < 2 && st == TDI_OK; round++) {
            memset(out, 0, sizeof out);
            if (tx_pseudo_hmac(p, rfc4231[i].data, strlen(rfc4231[i].data), out) != TDI_OK ||
                CRYPTO_memcmp(out, rfc4231[i].mac, sizeof out) != 0)
                st = TDI_ERR_KEY;
        }
        tx_pseudo_close(p);
    }
    if (st != TDI_OK)
        tdi_error("HMAC self-test failed");
    return st;
}

static EVP_MAC *fetch_hmac(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

    if (!mac)
        tdi_error("HMAC unavailable in OpenSSL");
    return mac;
}

tdi_status tx_pseudo_self_test(void)
{
    EVP_MAC *mac = fetch_hmac();
    tdi_status st;

    if (!mac)
        return TDI_ERR_INTERNAL;
    st = self_test(mac);
    EVP_MAC_free(mac);
    return st;
}

tdi_status tx_pseudo_open_key(const unsigned char *key, size_t keylen, tx_pseudo **out)
{
    EVP_MAC *mac = fetch_hmac();
    tdi_status st;

    *out = NULL;
    if (!mac)
        return TDI_ERR_INTERNAL;
    st = pseudo_new(mac, key, keylen, out);
    EVP_MAC_free(mac);
    return st;
}

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
    for (size_t i = 0; i < TX_KEY_BYTES; i++) {
        int hi = hex_value(buf[2 * i]), lo = hex_value(buf[2 * i + 1]);

        if (hi < 0 || lo < 0)
            goto bad_content;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    st = TDI_OK;
    goto done;
bad_content:
    tdi_error("%s: key file must hold 64 hex digits (a 32-byte key) and an optional newline", path);
done:
    OPENSSL_cleanse(buf, sizeof buf);
    close(fd);
    return st;
}

tdi_status tx_pseudo_keygen(const char *path)
{
    tdi_status st = TDI_ERR_KEY;
    unsigned char key[TX_KEY_BYTES];
    char text[2 * TX_KEY_BYTES + 2];
    size_t len = 2 * TX_KEY_BYTES + 1, done_len = 0;
    int fd = -1, created = 0;

    if (RAND_bytes(key, sizeof key) != 1) {
        tdi_error("%s: no random bytes from OpenSSL", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    hex_encode(key, sizeof key, text);
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
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(text, sizeof text);
    return st;
}

tdi_status tx_pseudo_open(const char *key_file, tx_pseudo **out)
{
    unsigned char key[TX_KEY_BYTES];
    EVP_MAC *mac = NULL;
    tdi_status st;

    *out = NULL;
    mac = fetch_hmac();
    if (!mac)
        return TDI_ERR_INTERNAL;
    st = self_test(mac);
    if (st != TDI_OK)
        goto done;
    st = read_key_file(key_file, key);
    if (st != TDI_OK)
        goto done;
    st = pseudo_new(mac, key, sizeof key, out);
done:
    OPENSSL_cleanse(key, sizeof key);
    EVP_MAC_free(mac);
    return st;
}

int tx_pseudo_client_id_ok(const char *client_id)
{
    for (const unsigned char *s = (const unsigned char *)client_id; *s; s++)
        if (is_alnum_ascii(*s))
            return 1;
    return 0;
}

tdi_status tx_pseudo_person(tx_pseudo *p, const char *client_id, char *out, size_t outlen)
{
    tdi_status st = TDI_ERR_INTERNAL;
    unsigned char chunk[64]; /* normalised id, fed to the MAC a chunk at a time */
    unsigned char mac[TX_HMAC_BYTES];
    size_t n = 0, total = 0;

    if (outlen < 3 + 2 * TX_HMAC_BYTES + 1 || !mac_begin(p) ||
        !mac_add(p, person_domain, sizeof person_domain))
        goto done;
    for (const unsigned char *s = (const unsigned char *)client_id; *s; s++) {
        if (!is_alnum_ascii(*s))
            continue;
        chunk[n++] = (unsigned char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
        total++;
        if (n == sizeof chunk) {
            if (!mac_add(p, chunk, n))
                goto done;
            n = 0;
        }
    }
    if (total == 0 || !mac_add(p, chunk, n) || !mac_end(p, mac))
        goto done;
    memcpy(out, "v1:", 3);
    hex_encode(mac, TX_HMAC_BYTES, out + 3);
    st = TDI_OK;
done:
    OPENSSL_cleanse(chunk, sizeof chunk);
    return st;
}

tdi_status tx_pseudo_episode(tx_pseudo *p, const char *source, const char *episode_id, char *out,
                             size_t outlen)
{
    unsigned char mac[TX_HMAC_BYTES];

    if (outlen < 3 + 32 + 1 || !mac_begin(p) ||
        !mac_add(p, episode_domain, sizeof episode_domain) ||
        !mac_add(p, source, strlen(source) + 1) || /* with its \0 separator */
        !mac_add(p, episode_id, strlen(episode_id)) || !mac_end(p, mac))
        return TDI_ERR_INTERNAL;
    memcpy(out, "e1:", 3);
    hex_encode(mac, 16, out + 3);
    return TDI_OK;
}
