/* run_sealed: an encrypted unnamed temp file as a stdio stream; see run_sealed.h. */
#define _GNU_SOURCE /* fopencookie */
#include "run_sealed.h"

#include "run_spool.h"

#include "../common/tdi_log.h"
#include "../common/tdi_random.h"

#include <nettle/aes.h>
#include <nettle/ctr.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SEALED_CHUNK (64 * 1024) /* the stream's buffer; ciphertext is made this much at a time */

typedef struct sealed {
    FILE *raw; /* owned: the unnamed file, ciphertext */
    struct aes256_ctx aes;
    unsigned char iv[AES_BLOCK_SIZE];
    /* The keystream at the stream's position: the next counter block, and what is left of the
     * block before it (the last ks_left bytes of ks) when the position is inside a block. */
    unsigned char ctr[AES_BLOCK_SIZE], ks[AES_BLOCK_SIZE];
    size_t ks_left;
    off64_t pos; /* the stream's position (bytes written, or read since the last rewind) */
    int rewound; /* read mode: a seek to 0 happened, writes are refused */
    unsigned char text[SEALED_CHUNK]; /* ciphertext on its way to or from raw */
} sealed;

static void aes_blocks(const void *aes, size_t len, uint8_t *dst, const uint8_t *src)
{
    aes256_encrypt(aes, len, dst, src);
}

/* The keystream back at the start. */
static void keystream_start(sealed *c)
{
    memcpy(c->ctr, c->iv, sizeof c->ctr);
    c->ks_left = 0;
}

/* n bytes of src into dst (in place is fine) under the keystream from the stream's position:
 * CTR, so encrypting and decrypting are the same. Nettle's ctr_crypt() starts each call at a
 * block's start, so a call that ends inside a block keeps the rest of its keystream here. */
static void keystream_xor(sealed *c, unsigned char *dst, const unsigned char *src, size_t n)
{
    size_t whole;

    for (; n > 0 && c->ks_left > 0; n--, c->ks_left--)
        *dst++ = *src++ ^ c->ks[AES_BLOCK_SIZE - c->ks_left];
    whole = n - n % AES_BLOCK_SIZE;
    ctr_crypt(&c->aes, aes_blocks, AES_BLOCK_SIZE, c->ctr, whole, dst, src);
    dst += whole;
    src += whole;
    n -= whole;
    if (n == 0)
        return;
    memset(c->ks, 0, sizeof c->ks);
    ctr_crypt(&c->aes, aes_blocks, AES_BLOCK_SIZE, c->ctr, sizeof c->ks, c->ks, c->ks);
    for (c->ks_left = AES_BLOCK_SIZE; n > 0; n--, c->ks_left--)
        *dst++ = *src++ ^ c->ks[AES_BLOCK_SIZE - c->ks_left];
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
        size_t chunk = n - done < sizeof c->text ? n - done : sizeof c->text;

        keystream_xor(c, c->text, (const unsigned char *)buf + done, chunk);
        if (fwrite(c->text, 1, chunk, c->raw) != chunk)
            return -1; /* errno from the write */
        done += chunk;
        c->pos += (off64_t)chunk;
    }
    return (ssize_t)n;
}

static ssize_t sealed_read(void *cookie, char *buf, size_t n)
{
    sealed *c = cookie;
    size_t got;

    if (!c->rewound) { /* reading what is being written: not this stream's use */
        errno = EINVAL;
        return -1;
    }
    got = fread(c->text, 1, n < sizeof c->text ? n : sizeof c->text, c->raw);
    if (got == 0)
        return ferror(c->raw) ? -1 : 0;
    keystream_xor(c, (unsigned char *)buf, c->text, got);
    c->pos += (off64_t)got;
    return (ssize_t)got;
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
    keystream_start(c);
    c->pos = 0;
    c->rewound = 1;
    return 0;
}

static void sealed_free(sealed *c)
{
    if (!c)
        return;
    if (c->raw)
        fclose(c->raw);
    explicit_bzero(c, sizeof *c); /* the key schedule and the keystream */
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
    unsigned char key[AES256_KEY_SIZE];
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
    st = tdi_random_bytes(dir, key, sizeof key);
    if (st == TDI_OK)
        st = tdi_random_bytes(dir, c->iv, sizeof c->iv);
    if (st != TDI_OK)
        goto done;
    aes256_set_encrypt_key(&c->aes, key);
    keystream_start(c);
    st = TDI_ERR_INTERNAL;
    *out = fopencookie(c, "w+", io);
    if (!*out) {
        tdi_error("%s: spool: out of memory", dir);
        goto done;
    }
    (void)setvbuf(*out, NULL, _IOFBF, SEALED_CHUNK); /* fewer, larger writes; else stdio's own */
    c = NULL;                                        /* the stream owns it */
    st = TDI_OK;
done:
    explicit_bzero(key, sizeof key);
    sealed_free(c);
    return st;
}
