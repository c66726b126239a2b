/* Unit tests for common/tdi_hash: the gathered small updates give the digest of the bytes fed, in
 * order, whatever their sizes (compared with OpenSSL's one-shot EVP_Digest of the same bytes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_hash.h"

#include <openssl/evp.h>

#include <stdlib.h>
#include <string.h>

/* Hex SHA-256 of buf by OpenSSL's one-shot digest, as tdi_hash_end() writes it. */
static void one_shot(const unsigned char *buf, size_t len, char hex[TDI_SHA256_HEX])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    assert_int_equal(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL), 1);
    assert_int_equal(mdlen, 32);
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    hex[64] = '\0';
}

/* Fields of every length from 0 to 1500 bytes (around the buffer's size), NUL-terminated, with
 * a 70,000-byte update between them now and then: the digest of their concatenation. */
static void fields_and_large_updates(void **state)
{
    size_t cap = 4u << 20, len = 0;
    unsigned char *all = malloc(cap), *big = malloc(70000);
    char *field = malloc(1501), got[TDI_SHA256_HEX], want[TDI_SHA256_HEX];
    tdi_hash *h = NULL;

    (void)state;
    assert_non_null(all);
    assert_non_null(big);
    assert_non_null(field);
    for (size_t i = 0; i < 70000; i++)
        big[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(tdi_hash_new(&h), TDI_OK);
    tdi_hash_begin(h);
    for (size_t n = 0; n <= 1500; n++) {
        for (size_t i = 0; i < n; i++)
            field[i] = (char)('a' + (n + i) % 26);
        field[n] = '\0';
        tdi_hash_field(h, field);
        memcpy(all + len, field, n + 1);
        len += n + 1;
        if (n % 250 == 7) {
            tdi_hash_update(h, big, 70000);
            memcpy(all + len, big, 70000);
            len += 70000;
        }
    }
    assert_true(len < cap);
    tdi_hash_end(h, got, 64);
    one_shot(all, len, want);
    assert_string_equal(got, want);

    /* a digest begun again forgets what an unfinished one gathered; 32 hex digits: the first 16
     * bytes */
    tdi_hash_begin(h);
    tdi_hash_field(h, "left over");
    tdi_hash_begin(h);
    tdi_hash_update(h, "abc", 3);
    tdi_hash_end(h, got, 32);
    assert_string_equal(got, "ba7816bf8f01cfea414140de5dae2223");
    /* and a digest ended leaves h ready for the next: SHA-256 of nothing */
    tdi_hash_end(h, got, 64);
    assert_string_equal(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    tdi_hash_free(h);
    free(all);
    free(big);
    free(field);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_and_large_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
