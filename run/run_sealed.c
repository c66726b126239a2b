/* run_sealed: an encrypted unnamed temp file as a stdio stream; see run_sealed.h. */
#define _GNU_SOURCE /* fopencookie */
#include "run_sealed.h"

#include "run_spool.h"

#include "../common/tdi_log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SEALED_CHUNK (64 * 1024) /* the stream's buffer; ciphertext is made this much at a time */

typedef struct sealed {
    FILE *raw;           /* owned: the unnamed file, ciphertext */
    EVP_CIPHER_CTX *ctx; /* owned: the keystream at the stream's position */
    unsigned char key[32], iv[16];
    off64_t pos; /* the stream's position (bytes written, or read since the last rewind) */
    int rewound; /* read mode: a seek to 0 happened, writes are refused */
    unsigned char text[SEALED_CHUNK]; /* ciphertext on its way to or from raw */
} sealed;

/* The keystream back at the start: CTR makes encryption and decryption the same operation,
 * but OpenSSL wants to be told which. */
static int keystream_start(sealed *c, int enc)
{
    return EVP_CipherInit_ex(c->ctx, EVP_aes_256_ctr(), NULL, c->key, c->iv, enc) == 1;
}

static ssize_t sealed_write(void *cookie, const char *buf, size_t n)
{
    sealed *c = cookie;
    size_t done = 0;

    if (c->rewound) {
        errno = EINVAL;
        return -1;
    }
    while (done < n) {
        int chunk = (int)(n - done < sizeof c->text ? n - done : sizeof c->text), outl = 0;

        if (EVP_EncryptUpdate(c->ctx, c->text, &outl, (const unsigned char *)buf + done, chunk) !=
                1 ||
            outl != chunk) {
            errno = EIO;
            return -1;
        }
        if (fwrite(c->text, 1, (size_t)outl, c->raw) != (size_t)outl)
            return -1; /* errno from the write */
        done += (size_t)chunk;
        c->pos += chunk;
    }
    return (ssize_t)n;
}

static ssize_t sealed_read(void *cookie, char *buf, size_t n)
{
    sealed *c = cookie;
    int inl, outl = 0;
    size_t got;

    if (!c->rewound) { /* reading what is being written: not this stream's use */
        errno = EINVAL;
        return -1;
    }
    got = fread(c->text, 1, n < sizeof c->text ? n : sizeof c->text, c->raw);
    if (got == 0)
        return ferror(c->raw) ? -1 : 0;
    inl = (int)got;
    if (EVP_DecryptUpdate(c->ctx, (unsigned char *)buf, &outl, c->text, inl) != 1 || outl != inl) {
        errno = EIO;
        return -1;
    }
    c->pos += inl;
    return inl;
}

/* Only to the start (and "where am I", which stdio may ask). */
static int sealed_seek(void *cookie, off64_t *off, int whence)
{
    sealed *c = cookie;

    if (whence == SEEK_CUR && *off == 0) {
        *off = c->pos;
        return 0;
    }
    if (whence != SEEK_SET || *off != 0) {
        errno = EINVAL;
        return -1;
    }
    if (fseeko(c->raw, 0, SEEK_SET) != 0)
        return -1;
    if (!keystream_start(c, 0)) {
        errno = EIO;
        return -1;
    }
    c->pos = 0;
    c->rewound = 1;
    return 0;
}

static void sealed_free(sealed *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->ctx); /* wipes the key schedule it holds */
    if (c->raw)
        fclose(c->raw);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

static int sealed_close(void *cookie)
{
    sealed *c = cookie;
    sealed_free(c);
    return 0;
}

tdi_status run_sealed_open(const char *dir, FILE **out)
{
    static const cookie_io_functions_t io = {
        .read = sealed_read, .write = sealed_write, .seek = sealed_seek, .close = sealed_close};
    sealed *c = calloc(1, sizeof *c);
    tdi_status st = TDI_ERR_INTERNAL;

    *out = NULL;
    if (!c) {
        tdi_error("%s: spool: out of memory", dir);
        return TDI_ERR_INTERNAL;
    }
    st = run_spool_stream(dir, &c->raw);
    if (st != TDI_OK)
        goto done;
    setvbuf(c->raw, NULL, _IONBF, 0); /* the sealed stream buffers: its fflush reaches the disk */
    st = TDI_ERR_INTERNAL;
    if (RAND_bytes(c->key, sizeof c->key) != 1 || RAND_bytes(c->iv, sizeof c->iv) != 1 ||
        !(c->ctx = EVP_CIPHER_CTX_new()) || !keystream_start(c, 1)) {
        tdi_error("%s: spool: AES-256-CTR unavailable in OpenSSL", dir);
        goto done;
    }
    *out = fopencookie(c, "w+", io);
    if (!*out) {
        tdi_error("%s: spool: out of memory", dir);
        goto done;
    }
    (void)setvbuf(*out, NULL, _IOFBF, SEALED_CHUNK); /* fewer, larger writes; else stdio's own */
    c = NULL;                                        /* the stream owns it */
    st = TDI_OK;
done:
    sealed_free(c);
    return st;
}
