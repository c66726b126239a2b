/* tdi_hash: a reusable SHA-256 context; see tdi_hash.h. */
#include "tdi_hash.h"

#include "tdi_log.h"
#include "tdi_text.h"

#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536
/* Small updates (a fingerprint's fields) are gathered here and handed to OpenSSL together: one
 * EVP_DigestUpdate per field of a record's 80 cost more than the hashing (issue 16). */
#define HASH_BUF 1024

struct tdi_hash {
    EVP_MD_CTX *ctx;
    EVP_MD *md;  /* owned: fetched once; EVP_sha256() would be fetched again by every init */
    size_t used; /* bytes waiting in buf */
    unsigned char buf[HASH_BUF];
};

tdi_status tdi_hash_new(tdi_hash **out)
{
    tdi_hash *h = calloc(1, sizeof *h);

    *out = NULL;
    if (!h || !(h->ctx = EVP_MD_CTX_new()) || !(h->md = EVP_MD_fetch(NULL, "SHA256", NULL))) {
        tdi_hash_free(h);
        tdi_error("SHA-256: out of memory, or unavailable in OpenSSL");
        return TDI_ERR_INTERNAL;
    }
    *out = h;
    return TDI_OK;
}

void tdi_hash_free(tdi_hash *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

static tdi_status failed(const char *what)
{
    tdi_error("SHA-256: %s failed", what);
    return TDI_ERR_INTERNAL;
}

tdi_status tdi_hash_begin(tdi_hash *h)
{
    h->used = 0;
    return EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 ? TDI_OK : failed("init");
}

static tdi_status flush(tdi_hash *h)
{
    size_t n = h->used;

    h->used = 0;
    return n == 0 || EVP_DigestUpdate(h->ctx, h->buf, n) == 1 ? TDI_OK : failed("update");
}

tdi_status tdi_hash_update(tdi_hash *h, const void *buf, size_t len)
{
    tdi_status st;

    if (len <= HASH_BUF - h->used) {
        memcpy(h->buf + h->used, buf, len);
        h->used += len;
        return TDI_OK;
    }
    st = flush(h);
    if (st != TDI_OK)
        return st;
    if (len < HASH_BUF) {
        memcpy(h->buf, buf, len);
        h->used = len;
        return TDI_OK;
    }
    return EVP_DigestUpdate(h->ctx, buf, len) == 1 ? TDI_OK : failed("update");
}

tdi_status tdi_hash_field(tdi_hash *h, const char *s)
{
    return tdi_hash_update(h, s, strlen(s) + 1);
}

tdi_status tdi_hash_end(tdi_hash *h, char *hex, size_t hexlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (flush(h) != TDI_OK || EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != 32 ||
        hexlen > 64 || hexlen % 2)
        return failed("final");
    tdi_hex_encode(hex, md, hexlen / 2);
    return TDI_OK;
}

tdi_status tdi_hash_file_into(tdi_hash *h, const char *path, tdi_status err_class)
{
    unsigned char buf[READ_CHUNK];
    tdi_status st = TDI_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        tdi_error("%s: cannot open: %s", path, strerror(errno));
        return err_class;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tdi_error("%s: read failed: %s", path, strerror(errno));
            st = err_class;
            break;
        }
        if (n == 0)
            break;
        st = tdi_hash_update(h, buf, (size_t)n);
        if (st != TDI_OK)
            break;
    }
    if (close(fd) != 0 && st == TDI_OK) {
        tdi_error("%s: close failed: %s", path, strerror(errno));
        st = err_class;
    }
    return st;
}

tdi_status tdi_sha256_file(const char *path, char hex[TDI_SHA256_HEX])
{
    tdi_hash *h = NULL;
    tdi_status st = tdi_hash_new(&h);

    if (st == TDI_OK)
        st = tdi_hash_begin(h);
    if (st == TDI_OK)
        st = tdi_hash_file_into(h, path, TDI_ERR_OUTPUT);
    if (st == TDI_OK)
        st = tdi_hash_end(h, hex, 64);
    tdi_hash_free(h);
    return st;
}
