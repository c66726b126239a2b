/* Shared by unit tests: scratch directories and files. Include it first in a test file that uses
 * it (it asks for nftw with _XOPEN_SOURCE before any system header). */
#ifndef TEST_FS_H
#define TEST_FS_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw */
#endif

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static int test_fs_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything under it, links not followed. */
static inline void test_fs_remove_tree(const char *dir)
{
    nftw(dir, test_fs_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reads up to cap bytes of path into buf; returns how many, or (size_t)-1 when it cannot be
 * opened. */
static inline size_t test_fs_read(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n;

    if (!fp)
        return (size_t)-1;
    n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

/* Writes text to path (created or truncated); 0 when all of it was written. */
static inline int test_fs_write(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    int bad;

    if (!fp)
        return -1;
    bad = fputs(text, fp) < 0;
    return fclose(fp) != 0 || bad ? -1 : 0;
}

#endif
