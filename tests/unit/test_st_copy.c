/* Unit tests for state/st_delta.c's COPYs into the run's tables (state_copy_begin,
 * state_put_record, state_put_key, state_copy_end) against the scripted libpq (harness_pq): the
 * binary stream read back field by field as the server reads it (test_copy.h), header and
 * trailer, a COPY discarded without a trailer, what cannot go into the stream refused, the
 * buffer sent whole tuples at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_copy.h"
#include "test_st.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Keys as transform/ makes them (e1: 32, p1: 64 lowercase hex digits); each goes into the COPY
 * stream as the bytes of its digits, without the prefix (schema 8: tdi.sent keeps the bytes). */
#define E1(d)  "e1:0000000000000000000000000000000" d
#define P1(d)  "p1:000000000000000000000000000000000000000000000000000000000000000" d
#define E1H(d) "0000000000000000000000000000000" d
#define P1H(d) "000000000000000000000000000000000000000000000000000000000000000" d

/* A run_rec tuple as the test wants it: the bytea columns in hex, the booleans 0 or 1. */
typedef struct want_rec {
    uint64_t pos;
    int src, body;
    const char *eid, *ekey, *hash, *person, *centre;
    int start_ymd;
    const char *status;
    int drug;
    const char *qi, *sens;
    int cont, again;
} want_rec;

/* The next tuple of a run_rec COPY, field by field in the COPY's column order. */
static void read_rec(copy_read *c, const want_rec *w)
{
    char f[160];

    copy_read_tuple(c, 15);
    assert_int_equal(copy_read_int(c, 8), w->pos);
    assert_int_equal(copy_read_int(c, 4), (uint32_t)w->src);
    assert_int_equal(copy_read_int(c, 4), (uint32_t)w->body);
    assert_string_equal(copy_read_field(c, f, sizeof f, 1), w->eid);
    assert_string_equal(copy_read_field(c, f, sizeof f, 1), w->ekey);
    assert_string_equal(copy_read_field(c, f, sizeof f, 1), w->hash);
    assert_string_equal(copy_read_field(c, f, sizeof f, 1), w->person);
    assert_string_equal(copy_read_field(c, f, sizeof f, 0), w->centre);
    assert_int_equal(copy_read_int(c, 4), (uint32_t)w->start_ymd);
    assert_string_equal(copy_read_field(c, f, sizeof f, 0), w->status);
    assert_int_equal(copy_read_int(c, 1), w->drug);
    assert_string_equal(copy_read_field(c, f, sizeof f, 0), w->qi);
    assert_string_equal(copy_read_field(c, f, sizeof f, 0), w->sens);
    assert_int_equal(copy_read_int(c, 1), w->cont);
    assert_int_equal(copy_read_int(c, 1), w->again);
}

/* w put as a record: its keys with their prefixes, drug and cont as the state_drug they say. */
static tdi_status put_want(state_db *st, const want_rec *w)
{
    char eid[40], ekey[40], person[72];

    snprintf(eid, sizeof eid, "e1:%s", w->eid);
    snprintf(ekey, sizeof ekey, "e1:%s", w->ekey);
    snprintf(person, sizeof person, "p1:%s", w->person);
    return state_put_record(st, w->pos, w->src, w->body, eid, ekey, w->hash, person, w->centre,
                            w->start_ymd, w->status,
                            w->drug   ? STATE_DRUG_START
                            : w->cont ? STATE_DRUG_CONTINUING
                                      : STATE_DRUG_NONE,
                            w->qi, w->sens);
}

/* The run's tables filled by COPY: records, keys (rows seen, present, quarantined) as bytes; a
 * COPY discarded; refusals of what cannot go into the stream (a key of another form, a hash that
 * is not whole bytes of hex); a key marked again at its second sight in the run, to the same body
 * from the same source only. */
static void delta_copies(void **state)
{
    static const want_rec want[7] = {
        {7, 0, 1, E1H("1"), E1H("a"), "abcd", P1H("1"), "C1", 20250102, "1", 1, "q|i", "s|e", 0, 0},
        {8, 0, 1, E1H("2"), E1H("b"), "ef", P1H("2"), "C1", 20250103, "2", 0, "q", "s", 0, 0},
        /* a continuing client in the TDI population: not a start (drug f), a client (cont t) */
        {10, 0, 1, E1H("4"), E1H("d"), "ef", P1H("2"), "C1", 20240103, "", 0, "q", "s", 1, 0},
        /* record 7's key again: to another body, from another source, then as record 7 */
        {11, 0, 2, E1H("1"), E1H("a"), "ab", P1H("1"), "C1", 20250102, "1", 0, "q", "s", 0, 0},
        {12, 1, 1, E1H("1"), E1H("a"), "ab", P1H("1"), "C1", 20250102, "1", 0, "q", "s", 0, 0},
        {13, 0, 1, E1H("1"), E1H("e"), "ab", P1H("1"), "C1", 20250102, "1", 0, "q", "s", 0, 1},
        {14, 1, 1, E1H("1"), E1H("a"), "ab", P1H("1"), "C1", 20250102, "1", 0, "q", "s", 0, 1}};
    char rec[HPQ_CAPTURE_MAX], keys[HPQ_CAPTURE_MAX], rej[HPQ_CAPTURE_MAX], f[40];
    copy_read c;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(
        HPQ_COMMAND("TRUNCATE tdi.run_rec"), HPQ_SEND("cont, again) FROM STDIN (FORMAT binary)"),
        HPQ_RESULT(PGRES_COPY_IN), {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = rec, HPQ_AT},
        HPQ_PUT_END, HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND("COPY run_seen (src, eid) FROM STDIN (FORMAT binary)"), HPQ_RESULT(PGRES_COPY_IN),
        {.fn = HPQ_FN_COPY_END, .match = "discarded by tdi", .ret = 1, HPQ_AT},
        HPQ_RESULT_ERROR("57014", "COPY from stdin failed: discarded by tdi"), HPQ_RESULT_NONE,
        HPQ_SEND("COPY run_present (src, eid) FROM STDIN (FORMAT binary)"),
        HPQ_RESULT(PGRES_COPY_IN), {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = keys, HPQ_AT},
        HPQ_PUT_END, HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND("COPY run_rej (src, eid, probe) FROM STDIN (FORMAT binary)"),
        HPQ_RESULT(PGRES_COPY_IN), {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = rej, HPQ_AT},
        HPQ_PUT_END, HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE);
    assert_int_equal(state_delta_begin(st), TDI_OK);
    assert_int_equal(state_put_key(st, 0, E1("0")), TDI_ERR_INTERNAL); /* no COPY open */
    assert_int_equal(state_copy_begin(st, STATE_COPY_RECORDS), TDI_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(put_want(st, &want[i]), TDI_OK);
    assert_int_equal(state_put_record(st, 9, 0, 1, "eid\t3", E1("c"), "ef", P1("3"), "C1", 20250103,
                                      "2", 0, "q", "s"),
                     TDI_ERR_INTERNAL);
    /* uppercase hex, a short person key, another prefix: not a key tdi.sent can keep as bytes */
    assert_int_equal(state_put_record(st, 9, 0, 1, E1("3"), E1("C"), "ef", P1("3"), "C1", 20250103,
                                      "2", 0, "q", "s"),
                     TDI_ERR_INTERNAL);
    assert_int_equal(state_put_record(st, 9, 0, 1, E1("3"), E1("c"), "ef", "p1:03", "C1", 20250103,
                                      "2", 0, "q", "s"),
                     TDI_ERR_INTERNAL);
    assert_int_equal(state_put_record(st, 9, 0, 1, "e2:00000000000000000000000000000003", E1("c"),
                                      "ef", P1("3"), "C1", 20250103, "2", 0, "q", "s"),
                     TDI_ERR_INTERNAL);
    /* a hash of an odd number of digits, of a digit that is not hex, of more than 32 bytes */
    assert_int_equal(state_put_record(st, 9, 0, 1, E1("3"), E1("c"), "efa", P1("3"), "C1", 20250103,
                                      "2", 0, "q", "s"),
                     TDI_ERR_INTERNAL);
    assert_int_equal(state_put_record(st, 9, 0, 1, E1("3"), E1("c"), "eg", P1("3"), "C1", 20250103,
                                      "2", 0, "q", "s"),
                     TDI_ERR_INTERNAL);
    assert_int_equal(state_put_record(st, 9, 0, 1, E1("3"), E1("c"), P1H("00"), P1("3"), "C1",
                                      20250103, "2", 0, "q", "s"),
                     TDI_ERR_INTERNAL);
    assert_int_equal(state_copy_end(st, 0), TDI_OK);
    assert_int_equal(state_copy_end(st, 0), TDI_OK); /* none open: nothing */
    assert_int_equal(state_copy_begin(st, STATE_COPY_SEEN), TDI_OK);
    assert_int_equal(state_put_key(st, 1, E1("5")), TDI_OK);
    assert_int_equal(state_copy_end(st, 1), TDI_OK);
    assert_int_equal(state_copy_begin(st, STATE_COPY_PRESENT), TDI_OK);
    assert_int_equal(state_put_key(st, 2, "eid\n9"), TDI_ERR_INTERNAL);
    assert_int_equal(state_put_key(st, 2, E1("9")), TDI_OK);
    assert_int_equal(state_copy_end(st, 0), TDI_OK);
    assert_int_equal(state_copy_begin(st, STATE_COPY_REJECTED), TDI_OK);
    assert_int_equal(state_put_key(st, 0, E1("1")), TDI_OK);
    assert_int_equal(state_put_key(st, 3, E1("b")), TDI_OK);
    assert_int_equal(state_copy_end(st, 0), TDI_OK);
    assert_string_equal(logged.text, "state database: an episode key cannot go into the COPY "
                                     "stream\n"
                                     "state database: a record cannot go into the COPY stream\n"
                                     "state database: a record cannot go into the COPY stream\n"
                                     "state database: a record cannot go into the COPY stream\n"
                                     "state database: a record cannot go into the COPY stream\n"
                                     "state database: a record cannot go into the COPY stream\n"
                                     "state database: a record cannot go into the COPY stream\n"
                                     "state database: a record cannot go into the COPY stream\n"
                                     "state database: an episode key cannot go into the COPY "
                                     "stream\n");
    closed(st);
    /* the records taken, none of those refused */
    copy_read_open(&c, rec);
    copy_read_header(&c);
    for (int i = 0; i < 7; i++)
        read_rec(&c, &want[i]);
    copy_read_trailer(&c);
    copy_read_open(&c, keys);
    copy_read_header(&c);
    copy_read_tuple(&c, 2);
    assert_int_equal(copy_read_int(&c, 4), 2);
    assert_string_equal(copy_read_field(&c, f, sizeof f, 1), E1H("9"));
    copy_read_trailer(&c);
    /* the rows quarantined: keys as those of the rows seen, each with whether a record put may
     * have it (source 0's key 1 went to bodies 1 and 2; source 3 put none) */
    copy_read_open(&c, rej);
    copy_read_header(&c);
    copy_read_tuple(&c, 3);
    assert_int_equal(copy_read_int(&c, 4), 0);
    assert_string_equal(copy_read_field(&c, f, sizeof f, 1), E1H("1"));
    assert_int_equal(copy_read_int(&c, 1), 1);
    copy_read_tuple(&c, 3);
    assert_int_equal(copy_read_int(&c, 4), 3);
    assert_string_equal(copy_read_field(&c, f, sizeof f, 1), E1H("b"));
    assert_int_equal(copy_read_int(&c, 1), 0);
    copy_read_trailer(&c);
}

/* One record of known bytes, read back from the stream as the server reads the binary form:
 * the header, each field (the numbers' bytes in network order, the keys' and the hash's bytes,
 * text as it is), the trailer. A COPY discarded sends nothing more, no trailer: PQputCopyEnd's
 * error alone ends it. */
static void delta_copy_binary(void **state)
{
    static const want_rec w = {0x0102030405060708,
                               0x0a0b0c0d,
                               0x10203,
                               "005c090a0d7f80ff0123456789abcdef",
                               "ffeeddccbbaa99887766554433221100",
                               "00ff7f80a0b1c2d3e4f5061728394a5b",
                               "0123456789abcdef0123456789abcdef0123456789abcdeffedcba9876543210",
                               "C01",
                               20250102,
                               "3",
                               1,
                               "1|2\t3",
                               "s\\e",
                               0,
                               1}; /* no state_delta_begin(), no filter: every record marked */
    char rec[HPQ_CAPTURE_MAX];
    copy_read c;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(HPQ_SEND("cont, again) FROM STDIN (FORMAT binary)"), HPQ_RESULT(PGRES_COPY_IN),
               {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = rec, HPQ_AT}, HPQ_PUT_END,
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_SEND("cont, again) FROM STDIN (FORMAT binary)"), HPQ_RESULT(PGRES_COPY_IN),
               {.fn = HPQ_FN_COPY_END, .match = "discarded by tdi", .ret = 1, HPQ_AT},
               HPQ_RESULT_ERROR("57014", "COPY from stdin failed: discarded by tdi"),
               HPQ_RESULT_NONE);
    assert_int_equal(state_copy_begin(st, STATE_COPY_RECORDS), TDI_OK);
    /* the hash in upper case as well: its bytes are the same */
    assert_int_equal(
        state_put_record(st, w.pos, w.src, w.body,
                         "e1:"
                         "005c090a0d7f80ff0123456789abcdef",
                         "e1:ffeeddccbbaa99887766554433221100", "00FF7F80A0B1C2D3e4f5061728394a5b",
                         "p1:0123456789abcdef0123456789abcdef0123456789abcdeffedcba9876543210",
                         w.centre, w.start_ymd, w.status, STATE_DRUG_START, w.qi, w.sens),
        TDI_OK);
    assert_int_equal(state_copy_end(st, 0), TDI_OK);
    copy_read_open(&c, rec);
    copy_read_header(&c);
    read_rec(&c, &w);
    copy_read_trailer(&c);

    assert_int_equal(state_copy_begin(st, STATE_COPY_RECORDS), TDI_OK);
    assert_int_equal(
        state_put_record(st, w.pos, w.src, w.body,
                         "e1:"
                         "005c090a0d7f80ff0123456789abcdef",
                         "e1:ffeeddccbbaa99887766554433221100", w.hash,
                         "p1:0123456789abcdef0123456789abcdef0123456789abcdeffedcba9876543210",
                         w.centre, w.start_ymd, w.status, STATE_DRUG_START, w.qi, w.sens),
        TDI_OK);
    assert_int_equal(state_copy_end(st, 1), TDI_OK);
    assert_string_equal(logged.text, "");
    closed(st);
}

/* Four zero bytes, rendered by the harness. */
#define Z4 "\\x00\\x00\\x00\\x00"

/* Many keys: the COPY buffer is sent whenever the next tuple does not fit, whole tuples only and
 * the header once; a failed send ends the COPY. */
static void delta_copy_flushes(void **state)
{
    state_db *st;
    char eid[40], last[HPQ_CAPTURE_MAX], f[40];
    copy_read c;
    int i;

    (void)state;
    st = opened();
    hpq_script(HPQ_SEND("COPY run_seen"), HPQ_RESULT(PGRES_COPY_IN),
               /* the header, then key 0 of source 0: 2 fields, int4 0, 16 bytes */
               HPQ_PUT("PGCOPY\n\\xff\\x0d\n\\x00" Z4 Z4 "\\x00\\x02\\x00\\x00\\x00\\x04" Z4
                       "\\x00\\x00\\x00\\x10" Z4 Z4 Z4 Z4 "\\x00\\x02"),
               {.fn = HPQ_FN_COPY_PUT,
                .ret = -1,
                .error = "could not send data\n",
                .capture = last,
                HPQ_AT},
               {.fn = HPQ_FN_COPY_END, .match = "discarded", .ret = 1, HPQ_AT},
               HPQ_RESULT_ERROR("57014", "COPY from stdin failed"), HPQ_RESULT_NONE);
    assert_int_equal(state_copy_begin(st, STATE_COPY_SEEN), TDI_OK);
    /* 30 bytes a tuple (a field count, two lengths, 4 + 16 bytes): after the 19 of the header the
     * 64 KiB buffer holds 2183 of them. */
    for (i = 0; i < 2184; i++) {
        snprintf(eid, sizeof eid, "e1:%032d", i);
        assert_int_equal(state_put_key(st, 0, eid), TDI_OK);
    }
    assert_int_equal(state_copy_end(st, 0), TDI_ERR_STATE);
    assert_string_equal(logged.text, "state database: COPY failed: could not send data\n");
    closed(st);
    /* what the end sent: the tuple that did not fit, whole, and the trailer, no header */
    copy_read_open(&c, last);
    copy_read_tuple(&c, 2);
    assert_int_equal(copy_read_int(&c, 4), 0);
    assert_string_equal(copy_read_field(&c, f, sizeof f, 1), "00000000000000000000000000002183");
    copy_read_trailer(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(delta_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(delta_copy_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(delta_copy_flushes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
