/* Unit tests for run/run_keys.c's parsing of state keys: the bucket a key falls in and the sum of
 * its last 8 bytes (the key scan's digest), checked against strtoull of the same digits; keys
 * left out of it; a key packed into its bytes and back; and run_read.c's scan of a key scan's
 * (key, id) pairs, which reads them a block at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../run/run_int.h"
#include "test_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_A "e1:abcd0123456789ab0123456789abcdef"
#define KEY_B "e1:abcdffffffffffff8000000000000001"
#define KEY_C "e1:00010000000000000000000000000002"

/* The last 16 hex digits of key as a number, independently of run_keys.c. */
static uint64_t tail_of(const char *key)
{
    return strtoull(key + strlen(key) - 16, NULL, 16);
}

static void prefix_of_keys(void **state)
{
    unsigned prefix = 0;

    (void)state;
    assert_int_equal(run_key_prefix(KEY_A, &prefix), 1);
    assert_int_equal(prefix, 0xabcd);
    assert_int_equal(run_key_prefix(KEY_C, &prefix), 1);
    assert_int_equal(prefix, 0x0001);
}

static void not_state_keys(void **state)
{
    static const char *const bad[] = {
        "e2:abcd0123456789ab0123456789abcdef",  /* another version */
        "e1:ABCD0123456789AB0123456789ABCDEF",  /* upper case: never written so */
        "e1:abcd0123456789ab0123456789abcde",   /* 31 digits */
        "e1:abcd0123456789ab0123456789abcdef0", /* 33 digits */
        "e1:abcd0123456789ab0123456789abcdeg",  /* not hex */
        "e1:",
        "",
    };
    unsigned prefix = 7;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(run_key_prefix(bad[i], &prefix), 0);
        assert_int_equal(prefix, 7); /* untouched */
    }
}

/* A key as text into s's digest, packed as the key scan has it. */
static void add_key(run_source *s, const char *key)
{
    unsigned char k[RUN_KEY_BYTES];

    assert_int_equal(run_key_pack(key, k), 1);
    assert_int_equal(run_keys_add(s, k), TDI_OK);
}

static void digest_sums_tails(void **state)
{
    tdi_source_config cfg = {.name = "riverside"};
    run_source s = {.cfg = &cfg};

    (void)state;
    add_key(&s, KEY_A);
    add_key(&s, KEY_B);
    add_key(&s, KEY_C);
    assert_int_equal(s.nkeys, 3);
    assert_true(s.keysum[0xabcd] == tail_of(KEY_A) + tail_of(KEY_B)); /* modulo 2^64 */
    assert_true(s.keysum[0x0001] == tail_of(KEY_C));
    assert_true(s.keysum[0xabce] == 0);
    free(s.keysum);
}

/* Leaving a key out takes its tail from its bucket's sum: the sums are those of the other keys,
 * computed apart; a malformed key is refused. */
static void digest_leaves_out(void **state)
{
    tdi_source_config cfg = {.name = "riverside"};
    run_source s = {.cfg = &cfg};
    char keys[3 * STATE_KEY_WIDTH] = {0};

    (void)state;
    add_key(&s, KEY_A);
    add_key(&s, KEY_B);
    add_key(&s, KEY_C);
    strcpy(keys, KEY_B);
    strcpy(keys + STATE_KEY_WIDTH, KEY_C);
    assert_int_equal(run_keys_leave_out(s.keysum, keys, 2), 1);
    assert_true(s.keysum[0xabcd] == tail_of(KEY_A));
    assert_true(s.keysum[0x0001] == 0);
    strcpy(keys, KEY_A); /* left out twice: the sum wraps below zero, modulo 2^64 */
    strcpy(keys + STATE_KEY_WIDTH, KEY_A);
    assert_int_equal(run_keys_leave_out(s.keysum, keys, 2), 1);
    assert_true(s.keysum[0xabcd] == (uint64_t)0 - tail_of(KEY_A));
    strcpy(keys + 2 * STATE_KEY_WIDTH, "e1:abcd");
    assert_int_equal(run_keys_leave_out(s.keysum, keys + 2 * STATE_KEY_WIDTH, 1), 0);
    free(s.keysum);
}

/* A key packed is its 16 bytes (the digits read two at a time), and unpacked its text again. */
static void packed_keys(void **state)
{
    static const unsigned char a[RUN_KEY_BYTES] = {0xab, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                                                   0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    unsigned char k[RUN_KEY_BYTES];
    char text[RUN_KEY_CHARS + 1];

    (void)state;
    assert_int_equal(run_key_pack(KEY_A, k), 1);
    assert_memory_equal(k, a, sizeof a);
    assert_int_equal(run_key_bucket(k), 0xabcd);
    run_key_unpack(k, text);
    assert_string_equal(text, KEY_A);
    assert_int_equal(run_key_pack(KEY_B, k), 1);
    run_key_unpack(k, text);
    assert_string_equal(text, KEY_B);
    assert_int_equal(run_key_pack("e1:abcd0123456789ab0123456789abcdeg", k), 0);
}

/* The pairs of pairs_file(): key i's bytes are i's and NULs (a key may hold a \0), id i is
 * "id-i" but for a few: empty, and one longer than the scan's block. */
#define PAIRS    20000
#define LONG_AT  7777
#define LONG_LEN 150000

static void pair_of(int i, unsigned char key[RUN_KEY_BYTES], char *id, size_t cap)
{
    memset(key, 0, RUN_KEY_BYTES);
    key[3] = (unsigned char)(i >> 8);
    key[RUN_KEY_BYTES - 1] = (unsigned char)i;
    if (i % 1000 == 1)
        id[0] = '\0';
    else if (i == LONG_AT) {
        memset(id, 'x', LONG_LEN);
        id[LONG_LEN] = '\0';
    } else
        snprintf(id, cap, "id-%d", i);
}

typedef struct pairs_seen {
    int n, wrong;
    char *id;
} pairs_seen;

static tdi_status check_pair(void *arg, const unsigned char key[RUN_KEY_BYTES], const char *id)
{
    pairs_seen *p = arg;
    unsigned char want[RUN_KEY_BYTES];

    pair_of(p->n, want, p->id, LONG_LEN + 1);
    p->wrong += memcmp(key, want, RUN_KEY_BYTES) != 0 || strcmp(id, p->id) != 0;
    p->n++;
    return TDI_OK;
}

/* Every pair back, in order, across the blocks' ends and past a block's length. */
static void pairs_scanned(void **state)
{
    unsigned char key[RUN_KEY_BYTES];
    pairs_seen seen = {0, 0, malloc(LONG_LEN + 1)};
    FILE *fp = tmpfile();
    long size;

    (void)state;
    assert_non_null(fp);
    assert_non_null(seen.id);
    for (int i = 0; i < PAIRS; i++) {
        pair_of(i, key, seen.id, LONG_LEN + 1);
        assert_int_equal(fwrite(key, RUN_KEY_BYTES, 1, fp), 1);
        assert_int_equal(fwrite(seen.id, strlen(seen.id) + 1, 1, fp), 1);
    }
    size = ftell(fp);
    assert_int_equal(run_ids_scan(fp, check_pair, &seen), TDI_OK);
    assert_int_equal(seen.n, PAIRS);
    assert_int_equal(seen.wrong, 0);
    /* again from the start, then cut in its last id: what came whole, and the cut refused */
    seen.n = 0;
    assert_int_equal(run_ids_scan(fp, check_pair, &seen), TDI_OK);
    assert_int_equal(seen.n, PAIRS);
    assert_int_equal(ftruncate(fileno(fp), size - 2), 0);
    seen.n = 0;
    assert_int_equal(run_ids_scan(fp, check_pair, &seen), TDI_ERR_OUTPUT);
    assert_int_equal(seen.n, PAIRS - 1);
    assert_int_equal(seen.wrong, 0);
    assert_int_equal(run_ids_scan(NULL, check_pair, &seen), TDI_ERR_OUTPUT);
    fclose(fp);
    free(seen.id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_of_keys),    cmocka_unit_test(not_state_keys),
        cmocka_unit_test(digest_sums_tails), cmocka_unit_test(digest_leaves_out),
        cmocka_unit_test(packed_keys),       cmocka_unit_test(pairs_scanned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
