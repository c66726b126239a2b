/* Unit tests for run/run_spool, run/run_sealed (what is written reads back the same from the
 * start, as often as asked; the bytes on disk, found through /proc/self/fd since the file has no
 * name, are not the bytes written) and the stop flag of common/tdi_signal the spool relies on. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_signal.h"
#include "../../run/run_sealed.h"
#include "../../run/run_spool.h"
#include "test_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct entry {
    uint64_t n;
    char pad[1000]; /* big entries: a few hundred fill the write buffer */
} entry;

static char dir[] = "/tmp/tdi-test-spool-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

static entry make(uint64_t n)
{
    entry e;

    memset(&e, 0, sizeof e);
    e.n = n;
    snprintf(e.pad, sizeof e.pad, "entry %llu", (unsigned long long)n);
    return e;
}

/* The directory holds no file: the spool is never visible, so a killed run leaves nothing. */
static void assert_dir_empty(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    assert_int_equal(n, 0);
}

static void append_truncate_read(void **state)
{
    run_spool *sp = NULL;
    entry e;

    (void)state;
    assert_int_equal(run_spool_open(dir, sizeof(entry), &sp), TDI_OK);
    assert_dir_empty();
    for (uint64_t i = 0; i < 1000; i++) { /* past the buffer: some on disk, some buffered */
        e = make(i);
        assert_int_equal(run_spool_append(sp, &e), TDI_OK);
    }
    /* a failed attempt's entries go: one cut inside the file, one inside the buffer */
    assert_int_equal(run_spool_truncate(sp, 100), TDI_OK);
    assert_int_equal(run_spool_count(sp), 100);
    for (uint64_t i = 100; i < 700; i++) {
        e = make(i + 1000000);
        assert_int_equal(run_spool_append(sp, &e), TDI_OK);
    }
    assert_int_equal(run_spool_truncate(sp, 650), TDI_OK);
    assert_int_equal(run_spool_count(sp), 650);
    /* in order, then back and forth */
    for (uint64_t i = 0; i < 650; i++) {
        assert_int_equal(run_spool_read(sp, i, &e), TDI_OK);
        assert_int_equal(e.n, i < 100 ? i : i + 1000000);
    }
    assert_int_equal(run_spool_read(sp, 3, &e), TDI_OK);
    assert_int_equal(e.n, 3);
    assert_int_equal(run_spool_read(sp, 649, &e), TDI_OK);
    assert_int_equal(e.n, 1000649);
    assert_string_equal(e.pad, "entry 1000649");
    assert_int_equal(run_spool_read(sp, 650, &e), TDI_ERR_INTERNAL);
    /* scattered (a body's file in its key order: one entry a read), then in order again */
    for (uint64_t k = 0; k < 650; k++) {
        uint64_t i = k * 397 % 650;
        assert_int_equal(run_spool_read(sp, i, &e), TDI_OK);
        assert_int_equal(e.n, i < 100 ? i : i + 1000000);
    }
    for (uint64_t i = 0; i < 650; i++) {
        assert_int_equal(run_spool_read(sp, i, &e), TDI_OK);
        assert_int_equal(e.n, i < 100 ? i : i + 1000000);
    }
    /* writing goes on after reads (a source read again), and reads see it */
    for (uint64_t i = 650; i < 1400; i++) {
        e = make(i + 2000000);
        assert_int_equal(run_spool_append(sp, &e), TDI_OK);
    }
    assert_int_equal(run_spool_count(sp), 1400);
    assert_int_equal(run_spool_read(sp, 649, &e), TDI_OK);
    assert_int_equal(e.n, 1000649);
    assert_int_equal(run_spool_read(sp, 650, &e), TDI_OK);
    assert_int_equal(e.n, 2000650);
    assert_int_equal(run_spool_read(sp, 1399, &e), TDI_OK);
    assert_int_equal(e.n, 2001399);
    assert_int_equal(run_spool_truncate(sp, 1000), TDI_OK); /* after reads too */
    e = make(7);
    assert_int_equal(run_spool_append(sp, &e), TDI_OK);
    assert_int_equal(run_spool_read(sp, 999, &e), TDI_OK);
    assert_int_equal(e.n, 2000999);
    assert_int_equal(run_spool_read(sp, 1000, &e), TDI_OK);
    assert_int_equal(e.n, 7);
    assert_int_equal(run_spool_read(sp, 1001, &e), TDI_ERR_INTERNAL);
    run_spool_close(sp);
    assert_dir_empty();
}

/* ---- sorted runs ---- */

/* The key of entry n: its part (n / 2 % 3, big-endian, as a body), a byte of few values (so the
 * first 8 bytes often tie), then 8 bytes that scatter the entries; the same for n and n + 1 when n
 * is even (ties, kept in the order appended). */
static void test_key(const void *ent, unsigned char key[RUN_SPOOL_KEY])
{
    uint64_t n = ((const entry *)ent)->n, h = (n / 2) * 0x9E3779B97F4A7C15u;

    memset(key, 0, RUN_SPOOL_KEY);
    key[3] = (unsigned char)(n / 2 % 3);
    key[4] = (unsigned char)(n / 2 % 5);
    for (int i = 0; i < 8; i++)
        key[8 + i] = (unsigned char)(h >> (56 - 8 * i));
}

/* What the sink saw: each placed entry's n by position; fail_at: the sink's failure. */
typedef struct placed {
    uint64_t n[2000];
    uint64_t count;
    uint64_t fail_at;
} placed;

static tdi_status test_sink(void *arg, uint64_t pos, const void *e)
{
    placed *p = arg;

    if (pos != p->count || pos >= 2000)
        return TDI_ERR_INTERNAL; /* positions come in order, each once */
    if (p->fail_at && pos == p->fail_at)
        return TDI_ERR_STATE;
    p->n[p->count++] = ((const entry *)e)->n;
    return TDI_OK;
}

/* The expected merge from part: every placed entry of that part or a later one, by key then
 * position, by a plain insertion sort over what the sink saw. */
static size_t expected_order(const placed *p, unsigned part, uint64_t *pos)
{
    size_t k = 0;

    for (uint64_t i = 0; i < p->count; i++) {
        entry e = make(p->n[i]);
        unsigned char key[RUN_SPOOL_KEY], other[RUN_SPOOL_KEY];
        size_t j = k;

        test_key(&e, key);
        if (key[3] < part)
            continue;
        while (j > 0) {
            entry f = make(p->n[pos[j - 1]]);

            test_key(&f, other);
            if (memcmp(other, key, RUN_SPOOL_KEY) <= 0)
                break;
            pos[j] = pos[j - 1];
            j--;
        }
        pos[j] = i;
        k++;
    }
    return k;
}

static void merge_matches(run_spool *sp, const placed *p, unsigned part, size_t budget)
{
    static uint64_t want[2000];
    unsigned char from[RUN_SPOOL_KEY] = {0};
    run_spool_merge *m = NULL;
    uint64_t pos = 0;
    entry e;
    size_t n;
    int eof = 0;

    from[3] = (unsigned char)part;
    assert_int_equal(run_spool_merge_open(sp, from, budget, &m), TDI_OK);
    n = expected_order(p, part, want); /* the open placed what was pending */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(run_spool_merge_next(m, &pos, &e, &eof), TDI_OK);
        assert_int_equal(eof, 0);
        assert_int_equal(pos, want[i]);
        assert_int_equal(e.n, p->n[pos]);
        assert_string_equal(e.pad, make(e.n).pad);
    }
    assert_int_equal(run_spool_merge_next(m, &pos, &e, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(run_spool_merge_next(m, &pos, &e, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    run_spool_merge_close(m);
}

/* An empty spool sorted in runs of 7, its sink p (emptied; its failure at fail_at, 0: none). */
static run_spool *sorted_spool(placed *p, uint64_t fail_at)
{
    run_spool *sp = NULL;

    memset(p, 0, sizeof *p);
    p->fail_at = fail_at;
    assert_int_equal(run_spool_open(dir, sizeof(entry), &sp), TDI_OK);
    assert_int_equal(run_spool_sorted(sp, 7, test_key, test_sink, p), TDI_OK);
    return sp;
}

/* Entries from..to-1 (each n plus add) appended to sp. */
static void append_range(run_spool *sp, uint64_t from, uint64_t to, uint64_t add)
{
    for (uint64_t i = from; i < to; i++) {
        entry e = make(i + add);
        assert_int_equal(run_spool_append(sp, &e), TDI_OK);
    }
}

/* Runs of 7: the sink sees every entry once, in position order, each run by key; a merge from
 * any part gives what a sort of everything placed gives, whatever its buffers hold; reads by
 * position agree; appends after a merge make new runs. */
static void sorted_runs_merge(void **state)
{
    static placed p;
    run_spool *sp = sorted_spool(&p, 0);
    entry e;

    (void)state;
    append_range(sp, 0, 300, 0);
    assert_int_equal(run_spool_count(sp), 300);
    assert_int_equal(p.count, 294); /* 42 runs placed, 6 pending */
    assert_int_equal(run_spool_settle(sp), TDI_OK);
    assert_int_equal(p.count, 300);
    /* run k holds the entries appended 7k..7k+6, by key, ties in the order appended */
    for (uint64_t pos = 0; pos < 300; pos++) {
        entry x = make(p.n[pos]), y = make(pos % 7 ? p.n[pos - 1] : 0);
        unsigned char a[RUN_SPOOL_KEY], b[RUN_SPOOL_KEY];
        int c;

        assert_int_equal(p.n[pos] / 7, pos / 7);
        test_key(&x, a);
        test_key(&y, b);
        c = memcmp(b, a, RUN_SPOOL_KEY);
        if (pos % 7)
            assert_true(c < 0 || (c == 0 && y.n < x.n));
    }
    for (unsigned part = 0; part < 4; part++) {
        merge_matches(sp, &p, part, 1 << 20); /* a buffer holds a whole run */
        merge_matches(sp, &p, part, 1);       /* an entry a read */
        merge_matches(sp, &p, part, 3 * sizeof(entry) * 43);
    }
    for (uint64_t pos = 0; pos < 300; pos += 37) {
        assert_int_equal(run_spool_read(sp, pos, &e), TDI_OK);
        assert_int_equal(e.n, p.n[pos]);
    }
    append_range(sp, 300, 320, 0);
    merge_matches(sp, &p, 0, 4096);
    assert_int_equal(p.count, 320);
    run_spool_close(sp);
    assert_dir_empty();
}

/* A cut drops placed runs past it and what is pending; it cannot split the pending run, whose
 * order is not made yet. A spool already written cannot be made sorted. */
static void sorted_truncate(void **state)
{
    static placed p;
    run_spool *sp = sorted_spool(&p, 0);
    test_log tl;
    entry e;

    (void)state;
    append_range(sp, 0, 5, 0);
    test_log_start(&tl);
    assert_int_equal(run_spool_truncate(sp, 3), TDI_ERR_INTERNAL);
    test_log_stop();
    assert_non_null(strstr(tl.text, "spool: cut to 3 entries, inside the run not yet placed\n"));
    assert_int_equal(run_spool_truncate(sp, 5), TDI_OK);
    assert_int_equal(run_spool_settle(sp), TDI_OK);
    assert_int_equal(p.count, 5);
    {
        uint64_t mark = 0;

        append_range(sp, 5, 7, 0); /* a mark places what is pending and gives the count */
        assert_int_equal(run_spool_mark(sp, &mark), TDI_OK);
        assert_int_equal(mark, 7);
        assert_int_equal(p.count, 7);
        assert_int_equal(run_spool_truncate(sp, 5), TDI_OK);
        p.count = 5;
    }
    append_range(sp, 5, 15, 1000); /* a failed attempt: one run placed, three pending */
    assert_int_equal(p.count, 12);
    assert_int_equal(run_spool_truncate(sp, 5), TDI_OK);
    assert_int_equal(run_spool_count(sp), 5);
    p.count = 5; /* the sink's COPY of the attempt is dropped with it */
    append_range(sp, 5, 9, 0);
    merge_matches(sp, &p, 0, 1 << 20);
    assert_int_equal(p.count, 9);
    for (uint64_t pos = 0; pos < 9; pos++) {
        assert_int_equal(run_spool_read(sp, pos, &e), TDI_OK);
        assert_true(e.n < 9);
    }
    run_spool_close(sp);

    assert_int_equal(run_spool_open(dir, sizeof(entry), &sp), TDI_OK);
    e = make(1);
    assert_int_equal(run_spool_append(sp, &e), TDI_OK);
    test_log_start(&tl);
    assert_int_equal(run_spool_sorted(sp, 7, test_key, NULL, NULL), TDI_ERR_INTERNAL);
    {
        unsigned char from[RUN_SPOOL_KEY] = {0};
        run_spool_merge *m = NULL;

        assert_int_equal(run_spool_merge_open(sp, from, 4096, &m), TDI_ERR_INTERNAL);
        assert_null(m);
    }
    test_log_stop();
    assert_non_null(strstr(tl.text, "spool: cannot sort runs of 7 entries here\n"));
    assert_non_null(strstr(tl.text, "spool: merged, but its runs are not sorted\n"));
    run_spool_close(sp);
    assert_dir_empty();
}

/* The sink's failure fails the append that placed the run, and a settle. */
static void sorted_sink_failure(void **state)
{
    static placed p;
    run_spool *sp = sorted_spool(&p, 9);
    entry e = make(14);

    (void)state;
    append_range(sp, 0, 14, 0);
    assert_int_equal(p.count, 7);
    assert_int_equal(run_spool_append(sp, &e), TDI_ERR_STATE); /* places 7..13 */
    assert_int_equal(p.count, 9);
    run_spool_close(sp);

    sp = sorted_spool(&p, 2);
    append_range(sp, 0, 5, 0);
    assert_int_equal(run_spool_settle(sp), TDI_ERR_STATE);
    assert_int_equal(p.count, 2);
    run_spool_close(sp);
    assert_dir_empty();
}

/* A file size limit (the way tests make a disk full): the write fails with EFBIG, reported. */
static void write_failure_is_reported(void **state)
{
    struct rlimit old, small = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    run_spool *sp = NULL;
    test_log log;
    char expect[256];
    entry e = make(1);
    tdi_status st = TDI_OK;

    (void)state;
    tdi_signal_setup(); /* SIGXFSZ ignored */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    assert_int_equal(run_spool_open(dir, sizeof(entry), &sp), TDI_OK);
    test_log_start(&log);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    for (int i = 0; i < 1000 && st == TDI_OK; i++)
        st = run_spool_append(sp, &e);
    if (st == TDI_OK)
        st = run_spool_read(sp, 0, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    test_log_stop();
    assert_int_equal(st, TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s: spool: write failed: File too large\n", dir);
    assert_string_equal(log.text, expect);
    run_spool_close(sp);
    assert_dir_empty();
}

static void missing_dir(void **state)
{
    run_spool *sp = (run_spool *)1;
    FILE *fp = (FILE *)1;
    test_log log;

    (void)state;
    test_log_start(&log);
    assert_int_equal(run_spool_open("/nonexistent/dir", 16, &sp), TDI_ERR_OUTPUT);
    test_log_stop();
    assert_null(sp);
    assert_string_equal(log.text,
                        "/nonexistent/dir: spool: cannot create: No such file or directory\n");
    test_log_start(&log);
    assert_int_equal(run_sealed_open("/nonexistent/dir", &fp), TDI_ERR_OUTPUT);
    test_log_stop();
    assert_null(fp);
    assert_string_equal(log.text,
                        "/nonexistent/dir: spool: cannot create: No such file or directory\n");
}

/* SIGTERM only sets the flag; a wait then ends at once, until the stop is acknowledged. */
static void stop_signal_ends_waits(void **state)
{
    int ready = 1;

    (void)state;
    tdi_signal_setup();
    assert_int_equal(tdi_stop_requested(), 0);
    assert_int_equal(tdi_sleep_ms(1), TDI_OK);
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(tdi_stop_requested(), SIGTERM);
    assert_int_equal(tdi_sleep_ms(3600 * 1000), TDI_ERR_INTERRUPTED);
    assert_int_equal(tdi_wait_fd(STDIN_FILENO, 0, -1, &ready), TDI_ERR_INTERRUPTED);
    assert_int_equal(ready, 0);
    tdi_stop_acknowledge();
    assert_int_equal(tdi_wait_fd(STDIN_FILENO, 0, 10, &ready), TDI_OK); /* times out or reads */
}

#define SECRET "episode-4711-of-riverside"

/* A descriptor of this process open on an unnamed file in dir, or -1. */
static int file_in_dir(void)
{
    char link[PATH_MAX], target[PATH_MAX];
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;

    while (d && (e = readdir(d)) && found < 0) {
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, dir, strlen(dir)) == 0 && target[strlen(dir)] == '/')
            found = atoi(e->d_name);
    }
    if (d)
        closedir(d);
    return found;
}

/* Many records, so the stream crosses its buffers and the cipher's chunks. */
static void sealed_reads_back_twice(void **state)
{
    FILE *fp = NULL;
    char *line = NULL;
    size_t cap = 0;

    (void)state;
    assert_int_equal(run_sealed_open(dir, &fp), TDI_OK);
    for (int i = 0; i < 5000; i++)
        assert_true(fprintf(fp, "%s-%d", SECRET, i) > 0 && fputc('\0', fp) == 0);
    for (int round = 0; round < 2; round++) {
        int i = 0;
        ssize_t n;
        char want[64];

        assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
        while ((n = getdelim(&line, &cap, '\0', fp)) > 0) {
            snprintf(want, sizeof want, "%s-%d", SECRET, i++);
            assert_string_equal(line, want);
        }
        assert_int_equal(i, 5000);
        assert_false(ferror(fp));
    }
    free(line);
    assert_int_equal(fclose(fp), 0);
}

/* Unbuffered, so every write and read reaches the cipher as it is: pieces of 1 to 40 bytes
 * written, read back 7 at a time, cross the cipher's 16-byte blocks at every offset. */
static void sealed_odd_pieces(void **state)
{
    unsigned char text[820], back[820];
    size_t at = 0;
    FILE *fp = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (unsigned char)(i * 7 + i / 13);
    assert_int_equal(run_sealed_open(dir, &fp), TDI_OK);
    assert_int_equal(setvbuf(fp, NULL, _IONBF, 0), 0);
    for (size_t len = 1; at < sizeof text; len++) {
        size_t n = len < sizeof text - at ? len : sizeof text - at;

        assert_int_equal(fwrite(text + at, 1, n, fp), n);
        at += n;
    }
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    for (at = 0; at < sizeof back; at += 7) {
        size_t n = sizeof back - at < 7 ? sizeof back - at : 7;

        assert_int_equal(fread(back + at, 1, n, fp), n);
    }
    assert_memory_equal(back, text, sizeof text);
    assert_int_equal(fgetc(fp), EOF);
    assert_int_equal(fclose(fp), 0);
}

/* What reaches the disk is as long as what was written and holds none of it. */
static void sealed_disk_holds_no_clear_text(void **state)
{
    FILE *fp = NULL;
    char buf[4096];
    struct stat sb;
    int fd;
    ssize_t n;

    (void)state;
    assert_int_equal(run_sealed_open(dir, &fp), TDI_OK);
    for (int i = 0; i < 100; i++)
        assert_true(fputs(SECRET, fp) >= 0);
    assert_int_equal(fflush(fp), 0);
    fd = file_in_dir();
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &sb), 0);
    assert_int_equal(sb.st_size, 100 * (int)strlen(SECRET));
    n = pread(fd, buf, sizeof buf - 1, 0);
    assert_int_equal(n, sb.st_size);
    assert_null(memmem(buf, (size_t)n, SECRET, strlen(SECRET)));
    assert_null(memmem(buf, (size_t)n, "episode", 7));
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(file_in_dir(), -1); /* gone with the stream */
}

/* The stream is written once, then read from its start: nothing else. */
static void sealed_other_uses_refused(void **state)
{
    FILE *fp = NULL;

    (void)state;
    assert_int_equal(run_sealed_open(dir, &fp), TDI_OK);
    assert_true(fputs(SECRET, fp) >= 0);
    errno = 0;
    assert_int_equal(fseek(fp, 0, SEEK_END), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    assert_int_equal(fgetc(fp), 'e');
    assert_true(fputs(SECRET, fp) < 0 || fflush(fp) != 0);
    fclose(fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_truncate_read),
        cmocka_unit_test(sorted_runs_merge),
        cmocka_unit_test(sorted_truncate),
        cmocka_unit_test(sorted_sink_failure),
        cmocka_unit_test(write_failure_is_reported),
        cmocka_unit_test(missing_dir),
        cmocka_unit_test(stop_signal_ends_waits),
        cmocka_unit_test(sealed_reads_back_twice),
        cmocka_unit_test(sealed_odd_pieces),
        cmocka_unit_test(sealed_disk_holds_no_clear_text),
        cmocka_unit_test(sealed_other_uses_refused),
    };
    return cmocka_run_group_tests_name("spool", tests, setup, teardown);
}
