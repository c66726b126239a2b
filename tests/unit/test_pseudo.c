/*
 * Unit tests for transform/tx_pseudo: RFC 4231 vectors, exact pseudonyms under a fixed key
 * (expected values computed independently with `openssl dgst -sha256 -mac HMAC -macopt
 * hexkey:...`), normalisation, and every key file refusal with its exact message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../transform/tx_pseudo.h"
#include "test_log.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char dir[] = "/tmp/tdi-test-pseudo-XXXXXX";
static char path[256];

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/key", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(dir);
}

/* Writes the key file afresh with that content and mode (git keeps no modes: set them here). */
static void write_key(const char *text, mode_t mode)
{
    FILE *fp;

    unlink(path);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

/* Opening must fail with TDI_ERR_KEY and log exactly "PATH: <suffix>". */
static void assert_refused(const char *suffix)
{
    tx_pseudo *p = (tx_pseudo *)1;
    test_log tl;
    char want[512];

    test_log_start(&tl);
    assert_int_equal(tx_pseudo_open(path, &p), TDI_ERR_KEY);
    test_log_stop();
    assert_null(p);
    snprintf(want, sizeof want, "%s: %s\n", path, suffix);
    assert_string_equal(tl.text, want);
}

static void test_rfc4231(void **state)
{
    static const unsigned char key1[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                           0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                           0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
    static const unsigned char mac1[32] = {0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53,
                                           0x5c, 0xa8, 0xaf, 0xce, 0xaf, 0x0b, 0xf1, 0x2b,
                                           0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83, 0x3d, 0xa7,
                                           0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7};
    static const unsigned char mac2[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                           0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
                                           0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
                                           0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    unsigned char out[32];
    tx_pseudo *p = NULL;

    (void)state;
    assert_int_equal(tx_pseudo_open_key(key1, sizeof key1, &p), TDI_OK);
    for (int round = 0; round < 3; round++) { /* the key survives re-initialisation */
        memset(out, 0, sizeof out);
        assert_int_equal(tx_pseudo_hmac(p, "Hi There", 8, out), TDI_OK);
        assert_memory_equal(out, mac1, sizeof out);
    }
    tx_pseudo_close(p);

    assert_int_equal(tx_pseudo_open_key((const unsigned char *)"Jefe", 4, &p), TDI_OK);
    assert_int_equal(tx_pseudo_hmac(p, "what do ya want for nothing?", 28, out), TDI_OK);
    assert_memory_equal(out, mac2, sizeof out);
    tx_pseudo_close(p);

    assert_int_equal(tx_pseudo_self_test(), TDI_OK);
}

static void test_pseudonyms_exact(void **state)
{
    char a[TX_HMAC_BYTES * 2 + 8], b[sizeof a];
    tx_pseudo *p = NULL;

    (void)state;
    write_key(KEY_HEX "\n", 0600);
    assert_int_equal(tx_pseudo_open(path, &p), TDI_OK);

    /* HMAC(key, "tdi/person/v1\0" "85073003328") */
    assert_int_equal(tx_pseudo_person(p, "85.07.30-033 28", a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:55bc5736750238894d57138d197a945518bc70ca02f4d22de78b0d09906663f8");
    assert_int_equal(tx_pseudo_person(p, "850730033 28", b, sizeof b), TDI_OK);
    assert_string_equal(a, b);
    assert_int_equal(tx_pseudo_person(p, "85073003328", b, sizeof b), TDI_OK);
    assert_string_equal(a, b);

    /* Letters are uppercased: HMAC(key, "tdi/person/v1\0" "AB12C") */
    assert_int_equal(tx_pseudo_person(p, "ab-12c", a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:6a077054985f8922f4d7594422bc834776dab4407f5a646fb74134f50d7b6d21");
    assert_int_equal(tx_pseudo_person(p, " A B 1 2 C ", b, sizeof b), TDI_OK);
    assert_string_equal(a, b);

    /* Longer than the normalisation chunk: 100 x "a-" -> 100 x "A" */
    {
        char id[201];

        for (int i = 0; i < 100; i++)
            memcpy(id + 2 * i, "a-", 2);
        id[200] = '\0';
        assert_int_equal(tx_pseudo_person(p, id, a, sizeof a), TDI_OK);
        assert_string_equal(a,
                            "v1:427a0911d84f60c3b694897927cb268381bb81408bac8dfb37c5a758ff55c418");
    }

    /* Episode key: first 16 bytes of HMAC(key, "tdi/episode/v1\0gent\0EP-0042") */
    assert_int_equal(tx_pseudo_episode(p, "gent", "EP-0042", a, sizeof a), TDI_OK);
    assert_string_equal(a, "e1:29878582d636af9f8beb1649bde7c485");
    /* The episode id is taken as given. */
    assert_int_equal(tx_pseudo_episode(p, "gent", " EP-0042", b, sizeof b), TDI_OK);
    assert_string_equal(b, "e1:adcf23d8b6cedd96ff85d568878dba96");
    tx_pseudo_close(p);
}

static void test_key_0400_no_newline(void **state)
{
    char a[80];
    tx_pseudo *p = NULL;

    (void)state;
    write_key(KEY_HEX, 0400);
    assert_int_equal(tx_pseudo_open(path, &p), TDI_OK);
    assert_int_equal(tx_pseudo_person(p, "ab12c", a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:6a077054985f8922f4d7594422bc834776dab4407f5a646fb74134f50d7b6d21");
    tx_pseudo_close(p);

    /* Uppercase hex digits are the same key. */
    write_key("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", 0600);
    assert_int_equal(tx_pseudo_open(path, &p), TDI_OK);
    assert_int_equal(tx_pseudo_person(p, "ab12c", a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:6a077054985f8922f4d7594422bc834776dab4407f5a646fb74134f50d7b6d21");
    tx_pseudo_close(p);
}

static void test_client_id_normalisation(void **state)
{
    char a[80];
    tx_pseudo *p = NULL;

    (void)state;
    assert_int_equal(tx_pseudo_client_id_ok("85.07.30-033 28"), 1);
    assert_int_equal(tx_pseudo_client_id_ok("x"), 1);
    assert_int_equal(tx_pseudo_client_id_ok(""), 0);
    assert_int_equal(tx_pseudo_client_id_ok(" .-/ "), 0);
    assert_int_equal(tx_pseudo_client_id_ok("\xc3\xa9"), 0); /* é: not [0-9A-Za-z] */

    write_key(KEY_HEX "\n", 0600);
    assert_int_equal(tx_pseudo_open(path, &p), TDI_OK);
    assert_int_equal(tx_pseudo_person(p, " .-/ ", a, sizeof a), TDI_ERR_INTERNAL);
    tx_pseudo_close(p);
}

static void test_key_too_open(void **state)
{
    (void)state;
    write_key(KEY_HEX "\n", 0644);
    assert_refused("permissions 0644 are too open; use chmod 600");
    write_key(KEY_HEX "\n", 0640);
    assert_refused("permissions 0640 are too open; use chmod 600");
    write_key(KEY_HEX "\n", 0604);
    assert_refused("permissions 0604 are too open; use chmod 600");
}

static void test_key_odd_mode(void **state)
{
    (void)state;
    write_key(KEY_HEX "\n", 0700);
    assert_refused("permissions 0700 are not 0600 or 0400; use chmod 600");
}

static void test_key_missing(void **state)
{
    (void)state;
    unlink(path);
    assert_refused("cannot open key file: No such file or directory");
}

static void test_key_not_regular(void **state)
{
    tx_pseudo *p = NULL;
    test_log tl;
    char want[512];

    (void)state;
    test_log_start(&tl);
    assert_int_equal(tx_pseudo_open(dir, &p), TDI_ERR_KEY);
    test_log_stop();
    assert_null(p);
    snprintf(want, sizeof want, "%s: key file is not a regular file\n", dir);
    assert_string_equal(tl.text, want);
}

static void test_key_wrong_owner(void **state)
{
    char want[200];

    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can give a file away */
    write_key(KEY_HEX "\n", 0600);
    assert_int_equal(chown(path, 65534, (gid_t)-1), 0);
    snprintf(want, sizeof want, "key file is owned by uid 65534, not by the running user (uid %lu)",
             (unsigned long)geteuid());
    assert_refused(want);
}

static void test_key_bad_content(void **state)
{
    static const char *const bad[] = {
        "",
        "0001020304050607",
        KEY_HEX "00\n",                                                       /* 33 bytes */
        KEY_HEX "\n\n",                                                       /* two newlines */
        KEY_HEX " \n",                                                        /* trailing blank */
        KEY_HEX "\r\n",                                                       /* CRLF */
        "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", /* not hex */
        " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_key(bad[i], 0600);
        assert_refused("key file must hold 64 hex digits (a 32-byte key) and an optional newline");
    }
}

static void test_keygen(void **state)
{
    char gen[300], gen2[300], text[80], text2[80], want[400];
    tx_pseudo *p = NULL;
    struct stat sb;
    mode_t old_mask;
    test_log tl;
    FILE *fp;

    (void)state;
    snprintf(gen, sizeof gen, "%s/gen-key", dir);
    snprintf(gen2, sizeof gen2, "%s/gen-key2", dir);
    old_mask = umask(0277); /* the mode is 0600 whatever the umask */
    assert_int_equal(tx_pseudo_keygen(gen), TDI_OK);
    umask(old_mask);
    assert_int_equal(stat(gen, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, 65);
    fp = fopen(gen, "r");
    assert_non_null(fp);
    assert_non_null(fgets(text, sizeof text, fp));
    fclose(fp);
    assert_int_equal(strlen(text), 65);
    assert_int_equal(strspn(text, "0123456789abcdef"), 64);
    assert_int_equal(text[64], '\n');
    assert_int_equal(tx_pseudo_open(gen, &p), TDI_OK); /* the reader takes what keygen writes */
    tx_pseudo_close(p);

    /* Never overwrites a key. */
    test_log_start(&tl);
    assert_int_equal(tx_pseudo_keygen(gen), TDI_ERR_KEY);
    test_log_stop();
    snprintf(want, sizeof want, "%s: cannot create key file: File exists\n", gen);
    assert_string_equal(tl.text, want);
    fp = fopen(gen, "r");
    assert_non_null(fp);
    assert_non_null(fgets(text2, sizeof text2, fp));
    fclose(fp);
    assert_string_equal(text, text2);

    /* Two keys differ. */
    assert_int_equal(tx_pseudo_keygen(gen2), TDI_OK);
    fp = fopen(gen2, "r");
    assert_non_null(fp);
    assert_non_null(fgets(text2, sizeof text2, fp));
    fclose(fp);
    assert_string_not_equal(text, text2);
    unlink(gen);
    unlink(gen2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_pseudonyms_exact),
        cmocka_unit_test(test_key_0400_no_newline),
        cmocka_unit_test(test_client_id_normalisation),
        cmocka_unit_test(test_key_too_open),
        cmocka_unit_test(test_key_odd_mode),
        cmocka_unit_test(test_key_missing),
        cmocka_unit_test(test_key_not_regular),
        cmocka_unit_test(test_key_wrong_owner),
        cmocka_unit_test(test_key_bad_content),
        cmocka_unit_test(test_keygen),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
