/* tdi_hash: a reusable SHA-256 context; see tdi_hash.h. */
#include "tdi_hash.h"

#include "tdi_log.h"
#include "tdi_text.h"

#include <nettle/sha2.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536

struct tdi_hash {
    struct sha256_ctx ctx;
};

tdi_status tdi_hash_new(tdi_hash **out)
{
    tdi_hash *h = calloc(1, sizeof *h);

    *out = h;
    if (!h) {
        tdi_error("SHA-256: out of memory");
        return TDI_ERR_INTERNAL;
    }
    sha256_init(&h->ctx);
    return TDI_OK;
}

void tdi_hash_free(tdi_hash *h)
{
    free(h);
}

void tdi_hash_begin(tdi_hash *h)
{
    sha256_init(&h->ctx);
}

void tdi_hash_update(tdi_hash *h, const void *buf, size_t len)
{
    sha256_update(&h->ctx, len, buf);
}

void tdi_hash_field(tdi_hash *h, const char *s)
{
    tdi_hash_update(h, s, strlen(s) + 1);
}

void tdi_hash_end(tdi_hash *h, char *hex, size_t hexlen)
{
    unsigned char md[SHA256_DIGEST_SIZE];
    size_t n = hexlen / 2 < sizeof md ? hexlen / 2 : sizeof md;

    sha256_digest(&h->ctx, sizeof md, md); /* and ready for the next digest */
    tdi_hex_encode(hex, md, n);
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
        tdi_hash_update(h, buf, (size_t)n);
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
        st = tdi_hash_file_into(h, path, TDI_ERR_OUTPUT);
    if (st == TDI_OK)
        tdi_hash_end(h, hex, 64);
    tdi_hash_free(h);
    return st;
}
