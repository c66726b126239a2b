/*
 * Unit tests for transform/tx_keys and transform/tx_pseudo: the RFC 4231 and RFC 5869 vectors,
 * a broken primitive failing the self-test with its exact message, key ids and pseudonyms under
 * a fixed master key, every key file refusal with its exact message, keygen, and core dumps.
 *
 * Expected keys and pseudonyms were computed independently with the openssl command line:
 *   K=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:MASTER \
 *         -kdfopt salt:tdi-hkdf-salt-v1 -kdfopt hexinfo:HEX(INFO) HKDF)
 *   digest = printf 'DOMAIN\000SCOPE\000VALUE' | openssl dgst -sha256 -mac HMAC -macopt hexkey:LINK
 *   person = (printf 'tdi/person/v1\000'; digest) | openssl dgst ... -macopt hexkey:BODY
 * with INFO "tdi/link/v1", "tdi/quarantine/v1", "tdi/state/v1" or "tdi/body/v1\000NAME".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_text.h"
#include "../../transform/tx_keys.h"
#include "../../transform/tx_pseudo.h"
#include "test_log.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static const unsigned char master[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                         11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                         22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const char *const bodies[] = {"flanders", "national"};

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
    tx_keyring *k = (tx_keyring *)1;
    test_log tl;
    char want[512];

    test_log_start(&tl);
    assert_int_equal(tx_keys_open(path, bodies, 2, &k), TDI_ERR_KEY);
    test_log_stop();
    assert_null(k);
    snprintf(want, sizeof want, "%s: %s\n", path, suffix);
    assert_string_equal(tl.text, want);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    tdi_hex_encode(out, in, n);
}

/* ---- the primitives ---- */

/* Copied from the RFCs, not shared with tx_keys.c: the test's own oracle. */

static const tx_hmac_kat hmac_vectors[] = {
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

static const tx_hkdf_kat hkdf_vectors[] = {
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

static void test_rfc4231(void **state)
{
    unsigned char out[32];
    tx_pseudo *p = NULL;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(tx_pseudo_open_key(hmac_vectors[i].key, hmac_vectors[i].keylen, &p),
                         TDI_OK);
        for (int round = 0; round < 3; round++) { /* the context is ready for the next MAC */
            memset(out, 0, sizeof out);
            tx_pseudo_hmac(p, hmac_vectors[i].data, strlen(hmac_vectors[i].data), out);
            assert_memory_equal(out, hmac_vectors[i].mac, sizeof out);
        }
        tx_pseudo_close(p);
    }
    assert_int_equal(tx_keys_self_test(), TDI_OK);
    assert_int_equal(tx_keys_run_kats(hmac_vectors, 2, hkdf_vectors, 1), TDI_OK);
}

static void test_rfc5869(void **state)
{
    /* RFC 5869 test case 3: no salt (HMAC under HashLen zeros, as an empty key is) and no info */
    static const unsigned char case3[42] = {
        0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c,
        0x5a, 0x31, 0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1, 0x87, 0x9e, 0xc3, 0x45, 0x4e, 0x5f,
        0x3c, 0x73, 0x8d, 0x2d, 0x9d, 0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a, 0x96, 0xc8};
    const tx_hkdf_kat *v = &hkdf_vectors[0];
    unsigned char out[42];

    (void)state;
    tx_keys_hkdf(v->ikm, v->ikmlen, v->salt, v->saltlen, v->info, v->infolen, out, sizeof out);
    assert_memory_equal(out, v->okm, sizeof out);
    memset(out, 0, sizeof out);
    tx_keys_hkdf(v->ikm, v->ikmlen, NULL, 0, NULL, 0, out, sizeof out);
    assert_memory_equal(out, case3, sizeof out);
}

/* A primitive that gives a wrong answer (here: a vector that expects another one) stops
 * everything with TDI_ERR_KEY (exit 4) and this exact message. */
static void test_self_test_fails_loudly(void **state)
{
    tx_hmac_kat h[2];
    tx_hkdf_kat k[1];
    test_log tl;

    (void)state;
    memcpy(h, hmac_vectors, sizeof h);
    h[1].mac[31] ^= 0x80;
    test_log_start(&tl);
    assert_int_equal(tx_keys_run_kats(h, 2, hkdf_vectors, 1), TDI_ERR_KEY);
    test_log_stop();
    assert_string_equal(tl.text, "SELF-TEST FAILED: HMAC-SHA256 (RFC 4231 test case 2) gives a "
                                 "wrong result: nettle's HMAC-SHA256 is broken; refusing to run\n");

    memcpy(k, hkdf_vectors, sizeof k);
    k[0].okm[0] ^= 1;
    test_log_start(&tl);
    assert_int_equal(tx_keys_run_kats(hmac_vectors, 2, k, 1), TDI_ERR_KEY);
    test_log_stop();
    assert_string_equal(tl.text, "SELF-TEST FAILED: HKDF-SHA256 (RFC 5869 test case 1) gives a "
                                 "wrong result: nettle's HKDF-SHA256 is broken; refusing to run\n");
}

/* ---- derived keys and pseudonyms ---- */

static void test_key_ids(void **state)
{
    tx_keyring *k = NULL;

    (void)state;
    assert_int_equal(tx_keys_open_master(master, sizeof master, bodies, 2, &k), TDI_OK);
    assert_string_equal(tx_keys_body_id(k, 0), "b06f95c7");
    assert_string_equal(tx_keys_body_id(k, 1), "88f8b6dc");
    assert_null(tx_keys_body_id(k, 2));
    assert_null(tx_keys_body(k, 2));
    tx_keys_close(k);
}

/* Each kind's digest, then the body pseudonyms of it. */
static void test_pseudonyms_exact(void **state)
{
    unsigned char d[TX_HMAC_BYTES];
    char a[80], h[65];
    tx_keyring *k = NULL;
    tx_pseudo *link, *flanders, *national;

    (void)state;
    assert_int_equal(tx_keys_open_master(master, sizeof master, bodies, 2, &k), TDI_OK);
    link = tx_keys_link(k);
    flanders = tx_keys_body(k, 0);
    national = tx_keys_body(k, 1);

    /* "tdi/person/nid/v1\0be_rrn\085073003328" */
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_NID, "be_rrn", "85073003328", d),
                     TDI_OK);
    hex(d, sizeof d, h);
    assert_string_equal(h, "3bbb9a5f36ea22105c37eaa43918585b8549649e061239775b25ff229c522c29");
    assert_int_equal(tx_pseudo_person(flanders, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:4f54c3afd831b1c784d9e41455dc2db4e1efa3e41fd99aff18b3eacc024ca9e6");
    /* Another body: another pseudonym of the same person. */
    assert_int_equal(tx_pseudo_person(national, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:42d0682ae7d7a817ecf09a13568ec484ab1a84b78b75e97cf0e7a29898969c91");
    /* The state database's person key: under the state key (INFO "tdi/state/v1"), no body's. */
    assert_int_equal(tx_pseudo_state_person(tx_keys_state(k), d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "p1:1fb3a7164ea6a5e20b9f8bc4206c31290e41e0256b4058a92b70d8314a5a048d");
    assert_int_equal(tx_pseudo_state_person(tx_keys_state(k), d, a, 67), TDI_ERR_INTERNAL);

    /* The scheme is part of the domain. */
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_NID, "nl_bsn", "012345672", d),
                     TDI_OK);
    assert_int_equal(tx_pseudo_person(flanders, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:f271afbc29ed817964bb0539ab2f20189fc25103f6e57611608b253e4a243696");

    /* "tdi/person/slk581/v1\0UATEB300719851" */
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_SLK581, NULL, "UATEB300719851", d),
                     TDI_OK);
    assert_int_equal(tx_pseudo_person(flanders, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:9bdd8d7378e2fdca6e8019827c8545a3fd352c59ab1bfc669f3b9c2e7ff61717");

    /* "tdi/person/client/v1\0clinic_a\0C1001": normalised to [0-9A-Z] */
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a", " c-10.01 ", d),
                     TDI_OK);
    assert_int_equal(tx_pseudo_person(flanders, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:10f77eb4aaac907e5e2199c2a0b16e3ebe05d524ce217f3943f735f0cc1880e9");
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a", "ab-12c", d),
                     TDI_OK);
    assert_int_equal(tx_pseudo_person(flanders, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "v1:e5b1374db62d3232d2cc53d7c7d74afaca134b32f46fe950e1707c3b251aa82a");
    {
        char id[201]; /* longer than the normalisation chunk: 100 x "a-" -> 100 x "A" */

        for (int i = 0; i < 100; i++)
            memcpy(id + 2 * i, "a-", 2);
        id[200] = '\0';
        assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a", id, d),
                         TDI_OK);
        assert_int_equal(tx_pseudo_person(flanders, d, a, sizeof a), TDI_OK);
        assert_string_equal(a,
                            "v1:002db08cf2a0152984bd5c28f03a73d7238bcb50c6f30653fdc89b5a3c080838");
    }
    /* An id with nothing left after normalisation has no pseudonym. */
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a", " .-/ ", d),
                     TDI_ERR_INTERNAL);
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_KIND_COUNT, NULL, "x", d),
                     TDI_ERR_INTERNAL);

    /* Episode: "tdi/episode/v1\0gent\0EP-0042", the id taken as given */
    tx_pseudo_episode_digest(link, "gent", "EP-0042", d);
    assert_int_equal(tx_pseudo_episode(flanders, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "e1:5a1e5d2969df340e48280e658c74cc00");
    assert_int_equal(tx_pseudo_episode(national, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "e1:f501271eba613ac0bc79d88344fa14c9");
    assert_int_equal(tx_pseudo_episode(tx_keys_quarantine(k), d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "e1:6b8f650e400058c73979f2afc75294ac");
    tx_pseudo_episode_digest(link, "gent", " EP-0042", d);
    assert_int_equal(tx_pseudo_episode(flanders, d, a, sizeof a), TDI_OK);
    assert_string_equal(a, "e1:9882030e4a36089943a42a238f0424d7");

    /* Too small an output buffer is refused, not overrun. */
    assert_int_equal(tx_pseudo_person(flanders, d, a, 67), TDI_ERR_INTERNAL);
    assert_int_equal(tx_pseudo_episode(flanders, d, a, 35), TDI_ERR_INTERNAL);
    tx_keys_close(k);
}

static void test_client_id_ok(void **state)
{
    (void)state;
    assert_int_equal(tx_pseudo_client_id_ok("85.07.30-033 28"), 1);
    assert_int_equal(tx_pseudo_client_id_ok("x"), 1);
    assert_int_equal(tx_pseudo_client_id_ok(""), 0);
    assert_int_equal(tx_pseudo_client_id_ok(" .-/ "), 0);
}

/* A client id keeps its letters and digits of any script, after NFKC and upper-casing. Each
 * digest is HMAC(link key, "tdi/person/client/v1\0clinic_a\0" KEPT) by the openssl line of the
 * file comment (link key 00e64b43126cf69d488ebecc803aeb0e6d019c819564f35e9b54ca9fa92edb83), KEPT
 * the UTF-8 of the id's kept form (in the comment). The ASCII ids' digests are those of tdi 0.x
 * before non-ASCII letters were kept: they must never change. */
static const struct {
    const char *id, *hex;
} client_digests[] = {
    /* CL7781XQ */
    {"cl-7781.xq", "d66ae23c4fb301a4896abf7abc673737dec7f5d45e16bdbaf2e3fea7efa826e2"},
    {"CL7781XQ", "d66ae23c4fb301a4896abf7abc673737dec7f5d45e16bdbaf2e3fea7efa826e2"},
    /* 1234 */
    {"  12 34 ", "ebd2aa1fbf1f05f9f7758d881fb75fdd337520a9fa4778dc8af664f3dae3d74f"},
    /* C1001 */
    {" c-10.01 ", "1f134725e8442cb10024058006f1b70b9a5639d44b3b3ed7df2ab3b098f8831a"},
    /* ΑΒ100, ΓΔ100: Greek letters are no longer dropped (they made both "100") */
    {"ΑΒ-100", "5bfb4e72eb6b7e454f5eb496752d6cfa1cf5b83f03d8e05cb48b6bef516187e5"},
    {"ΓΔ-100", "b58f573407d820a8be67232fb0dea26bd606ee2e58c306e0d77cfcb3b56aa154"},
    /* КЛ7, МН7 (Cyrillic) */
    {"КЛ-7", "87a86b419e9858bb2536252f32d2f426c286502f3739a698a7916bb9f888801f"},
    {"МН-7", "c3e7b882848514d011be16ea4574f318d364b96132815287f2c957403d912e89"},
    /* ΩΜΈΓΑ (U+0388), upper-cased */
    {"ωμέγα", "68c5bf2493502304dc1be1b15750d4d330934ccdeda707eca5f597762f394eda"},
    {"ΩΜΈΓΑ", "68c5bf2493502304dc1be1b15750d4d330934ccdeda707eca5f597762f394eda"},
    {"Ωμέγα", "68c5bf2493502304dc1be1b15750d4d330934ccdeda707eca5f597762f394eda"},
    /* É1: U+00E9 and e + U+0301 are one letter after NFKC */
    {"\xc3\xa9-1", "3a596423e8b72f6c76529c08a9dc1cc73c96eca4e0ce3e781bf81ad63122ccbe"},
    {"e\xcc\x81-1", "3a596423e8b72f6c76529c08a9dc1cc73c96eca4e0ce3e781bf81ad63122ccbe"},
    /* 123: full-width digits are digits after NFKC */
    {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93",
     "3ece8d20c450715dadc21ef34375a184561fb1ea742e53429cc4b85803de337b"},
    {"123", "3ece8d20c450715dadc21ef34375a184561fb1ea742e53429cc4b85803de337b"},
    /* STRASSE: the full upper case of ß */
    {"straße", "e68ee91f305d332708cd6f12bdf7a8757cf0413d1dc92518982813325b0a3ed9"},
};

static void test_client_digests(void **state)
{
    unsigned char d[TX_HMAC_BYTES];
    char h[65], id[301];
    tx_keyring *k = NULL;
    tx_pseudo *link;

    (void)state;
    assert_int_equal(tx_keys_open_master(master, sizeof master, bodies, 2, &k), TDI_OK);
    link = tx_keys_link(k);
    for (size_t i = 0; i < sizeof client_digests / sizeof client_digests[0]; i++) {
        assert_int_equal(tx_pseudo_client_id_ok(client_digests[i].id), 1);
        assert_int_equal(
            tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a", client_digests[i].id, d),
            TDI_OK);
        hex(d, sizeof d, h);
        assert_string_equal(h, client_digests[i].hex);
    }
    /* Longer than any buffer of the normalisation: 100 x "ω-" -> 100 x "Ω" (200 bytes) */
    for (int i = 0; i < 100; i++)
        memcpy(id + 3 * i, "\xcf\x89-", 3);
    id[300] = '\0';
    assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a", id, d), TDI_OK);
    hex(d, sizeof d, h);
    assert_string_equal(h, "fe68e86bac0db365ce998e691322617e05300591e0a1aa95c6c76412a5c85691");
    /* A vowel sign is a mark, no letter: कि and क are two ids; कि-1 and कि1 one. */
    {
        unsigned char ki[TX_HMAC_BYTES], ka[TX_HMAC_BYTES], ki1[TX_HMAC_BYTES];

        assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a",
                                                 "\xe0\xa4\x95\xe0\xa4\xbf-1", ki),
                         TDI_OK);
        assert_int_equal(
            tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a", "\xe0\xa4\x95-1", ka),
            TDI_OK);
        assert_int_equal(tx_pseudo_person_digest(link, TDI_PERSON_CLIENT, "clinic_a",
                                                 "\xe0\xa4\x95\xe0\xa4\xbf"
                                                 "1",
                                                 ki1),
                         TDI_OK);
        assert_memory_not_equal(ki, ka, sizeof ki);
        assert_memory_equal(ki, ki1, sizeof ki);
    }
    tx_keys_close(k);
}

/* No letter or digit of any script (a dash, an em dash, a no-break space, a combining accent
 * alone), or no UTF-8 (a SQL_ASCII source's bytes; transform raises R019 first): refused, never
 * guessed at, so that "12\xff" and "12" are not one person. */
static void test_client_ids_refused(void **state)
{
    static const char *const refused[] = {
        "--",
        "\xe2\x80\x94",
        "\xc2\xa0",
        " \xcc\x81 ",
        "12\xff",
        "\xc3",
        "AB\xc3",
        "\xc0\xb1",      /* overlong "1" */
        "\xed\xa0\x80x", /* a surrogate */
    };
    unsigned char d[TX_HMAC_BYTES];
    tx_keyring *k = NULL;

    (void)state;
    assert_int_equal(tx_keys_open_master(master, sizeof master, bodies, 2, &k), TDI_OK);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(tx_pseudo_client_id_ok(refused[i]), 0);
        assert_int_equal(
            tx_pseudo_person_digest(tx_keys_link(k), TDI_PERSON_CLIENT, "clinic_a", refused[i], d),
            TDI_ERR_INTERNAL);
    }
    tx_keys_close(k);
}

/* ---- the key file ---- */

/* The file's key is the master key: the same key ids as from the bytes. */
static void test_key_file(void **state)
{
    tx_keyring *k = NULL;

    (void)state;
    write_key(KEY_HEX "\n", 0600);
    assert_int_equal(tx_keys_open(path, bodies, 2, &k), TDI_OK);
    assert_string_equal(tx_keys_body_id(k, 0), "b06f95c7");
    tx_keys_close(k);

    write_key(KEY_HEX, 0400); /* read-only, no newline */
    assert_int_equal(tx_keys_open(path, bodies, 2, &k), TDI_OK);
    assert_string_equal(tx_keys_body_id(k, 1), "88f8b6dc");
    tx_keys_close(k);

    /* Uppercase hex digits are the same key. */
    write_key("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", 0600);
    assert_int_equal(tx_keys_open(path, bodies, 2, &k), TDI_OK);
    assert_string_equal(tx_keys_body_id(k, 0), "b06f95c7");
    tx_keys_close(k);
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
    tx_keyring *k = NULL;
    test_log tl;
    char want[512];

    (void)state;
    test_log_start(&tl);
    assert_int_equal(tx_keys_open(dir, bodies, 2, &k), TDI_ERR_KEY);
    test_log_stop();
    assert_null(k);
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
    tx_keyring *k = NULL;
    struct stat sb;
    mode_t old_mask;
    test_log tl;
    FILE *fp;

    (void)state;
    snprintf(gen, sizeof gen, "%s/gen-key", dir);
    snprintf(gen2, sizeof gen2, "%s/gen-key2", dir);
    old_mask = umask(0277); /* the mode is 0600 whatever the umask */
    assert_int_equal(tx_keys_keygen(gen), TDI_OK);
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
    assert_int_equal(tx_keys_open(gen, bodies, 2, &k), TDI_OK); /* it reads what keygen writes */
    tx_keys_close(k);

    /* Never overwrites a key. */
    test_log_start(&tl);
    assert_int_equal(tx_keys_keygen(gen), TDI_ERR_KEY);
    test_log_stop();
    snprintf(want, sizeof want, "%s: cannot create key file: File exists\n", gen);
    assert_string_equal(tl.text, want);
    fp = fopen(gen, "r");
    assert_non_null(fp);
    assert_non_null(fgets(text2, sizeof text2, fp));
    fclose(fp);
    assert_string_equal(text, text2);

    /* Two keys differ. */
    assert_int_equal(tx_keys_keygen(gen2), TDI_OK);
    fp = fopen(gen2, "r");
    assert_non_null(fp);
    assert_non_null(fgets(text2, sizeof text2, fp));
    fclose(fp);
    assert_string_not_equal(text, text2);
    unlink(gen);
    unlink(gen2);
}

/* Opening the key file turned core dumps off for the process (it ran in earlier tests). */
static void test_no_core_dumps(void **state)
{
    struct rlimit rl;
    tx_keyring *k = NULL;

    (void)state;
    write_key(KEY_HEX "\n", 0600);
    assert_int_equal(tx_keys_open(path, bodies, 2, &k), TDI_OK);
    tx_keys_close(k);
    assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 0);
    assert_int_equal(rl.rlim_max, 0);
#ifdef __linux__
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_rfc5869),
        cmocka_unit_test(test_self_test_fails_loudly),
        cmocka_unit_test(test_key_ids),
        cmocka_unit_test(test_pseudonyms_exact),
        cmocka_unit_test(test_client_id_ok),
        cmocka_unit_test(test_client_digests),
        cmocka_unit_test(test_client_ids_refused),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_key_too_open),
        cmocka_unit_test(test_key_odd_mode),
        cmocka_unit_test(test_key_missing),
        cmocka_unit_test(test_key_not_regular),
        cmocka_unit_test(test_key_wrong_owner),
        cmocka_unit_test(test_key_bad_content),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_no_core_dumps),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
