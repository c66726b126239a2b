/* Shared by unit tests: scratch directories. Include it first in a test file that uses it (it
 * asks for nftw with _XOPEN_SOURCE before any system header). */
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

#endif
