/* rpt_file: temp file, fsync, rename, directory fsync, and the sweep of temp files left behind;
 * see rpt_file.h and report.h. */
#include "rpt_file.h"

#include "report.h"

#include "../common/tdi_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static tdi_status io_error(const char *path, const char *what, int err)
{
    tdi_error("%s: %s: %s", path, what, strerror(err));
    return TDI_ERR_OUTPUT;
}

/* Opens dir (O_DIRECTORY, never through a symbolic link) into *fd when only the running user can
 * change it: owned by that user, not writable by group or others (a sticky bit does not help:
 * others could still plant names in it). Anything else is refused as TDI_ERR_OUTPUT, naming dir:
 * a name planted there could redirect or block what tdi publishes. ENOENT is returned in *err
 * (when err is not NULL) without a message, for the callers that accept a missing directory. */
static tdi_status trusted_dir(const char *dir, int *fd, int *err)
{
    struct stat sb;
    int e;

    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0) {
        e = errno;
        if (err && e == ENOENT) {
            *err = e;
            return TDI_ERR_OUTPUT;
        }
        if (e == ELOOP || (e == ENOTDIR && lstat(dir, &sb) == 0 && S_ISLNK(sb.st_mode))) {
            tdi_error("%s: refused as an output or work directory: it is a symbolic link", dir);
            return TDI_ERR_OUTPUT;
        }
        return io_error(dir, "cannot open directory", e);
    }
    if (fstat(*fd, &sb) != 0) {
        e = errno;
        close(*fd);
        *fd = -1;
        return io_error(dir, "cannot stat directory", e);
    }
    if (sb.st_uid != geteuid())
        tdi_error("%s: refused as an output or work directory: owned by uid %lu, not by the user "
                  "running tdi (uid %lu)",
                  dir, (unsigned long)sb.st_uid, (unsigned long)geteuid());
    else if (sb.st_mode & (S_IWGRP | S_IWOTH))
        tdi_error("%s: refused as an output or work directory: writable by group or others (mode "
                  "%04o); only the user running tdi may change it",
                  dir, (unsigned)(sb.st_mode & 07777));
    else
        return TDI_OK;
    close(*fd);
    *fd = -1;
    return TDI_ERR_OUTPUT;
}

static tdi_status fsync_fd(int fd, const char *dir)
{
    return fsync(fd) != 0 ? io_error(dir, "fsync failed", errno) : TDI_OK;
}

tdi_status rpt_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    tdi_status st = TDI_OK;

    if (fd < 0)
        return io_error(dir, "cannot open directory", errno);
    if (fsync(fd) != 0)
        st = io_error(dir, "fsync failed", errno);
    if (close(fd) != 0 && st == TDI_OK)
        st = io_error(dir, "close failed", errno);
    return st;
}

/* Copies the parent of dir into parent; returns 0, or -1 when dir has no parent to name. */
static int parent_of(const char *dir, char *parent, size_t len)
{
    const char *slash = strrchr(dir, '/');

    if (!slash)
        return snprintf(parent, len, ".") >= (int)len ? -1 : 0;
    if (slash == dir)
        return snprintf(parent, len, "/") >= (int)len ? -1 : 0;
    if ((size_t)(slash - dir) >= len)
        return -1;
    memcpy(parent, dir, (size_t)(slash - dir));
    parent[slash - dir] = '\0';
    return 0;
}

tdi_status rpt_dir_ensure(const char *dir)
{
    char parent[PATH_MAX];
    struct stat sb;
    int rc = mkdir(dir, 0750);

    /* A first run on a new machine: create output_dir and its missing parents too. */
    if (rc != 0 && errno == ENOENT && parent_of(dir, parent, sizeof parent) == 0 &&
        strcmp(parent, dir) != 0 && strcmp(parent, "/") != 0 && strcmp(parent, ".") != 0) {
        tdi_status st = rpt_dir_ensure(parent);
        if (st != TDI_OK)
            return st;
        rc = mkdir(dir, 0750);
    }
    if (rc != 0) {
        if (errno != EEXIST)
            return io_error(dir, "cannot create directory", errno);
        if (stat(dir, &sb) != 0)
            return io_error(dir, "cannot stat directory", errno);
        if (!S_ISDIR(sb.st_mode))
            return io_error(dir, "cannot create directory", ENOTDIR);
        return TDI_OK;
    }
    /* A new directory entry is durable only once its parent is synced. */
    if (parent_of(dir, parent, sizeof parent) != 0)
        return io_error(dir, "cannot sync parent directory", ENAMETOOLONG);
    return rpt_fsync_dir(parent);
}

/* The temp file's name in its directory: .NAME.tmp. */
static const char *temp_base(const rpt_file *f)
{
    return f->tmp + strlen(f->dir) + 1;
}

tdi_status rpt_file_create(rpt_file *f, const char *dir, const char *name)
{
    int n1, n2, n3, dfd, err;

    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->state = RPT_FILE_NONE;
    n1 = snprintf(f->dir, sizeof f->dir, "%s", dir);
    n2 = snprintf(f->path, sizeof f->path, "%s/%s", dir, name);
    n3 = snprintf(f->tmp, sizeof f->tmp, "%s/.%s.tmp", dir, name);
    if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n1 >= sizeof f->dir || (size_t)n2 >= sizeof f->path ||
        (size_t)n3 >= sizeof f->tmp)
        return io_error(dir, "cannot create file", ENAMETOOLONG);
    f->name = f->path + strlen(dir) + 1;
    if (trusted_dir(dir, &dfd, NULL) != TDI_OK)
        return TDI_ERR_OUTPUT;
    f->fd = openat(dfd, temp_base(f), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    err = errno;
    close(dfd);
    if (f->fd < 0)
        return io_error(f->tmp, "cannot create", err);
    f->state = RPT_FILE_TEMP;
    return TDI_OK;
}

tdi_status rpt_file_create_under(rpt_file *f, const char *root, const char *sub, const char *name)
{
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/%s", root, sub);
    tdi_status st;

    int rfd = -1;

    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (n < 0 || (size_t)n >= sizeof dir)
        return io_error(root, "output directory path too long", ENAMETOOLONG);
    /* SUB is made inside ROOT only once ROOT is trusted, relative to it, never through a link. */
    st = rpt_dir_ensure(root);
    if (st == TDI_OK)
        st = trusted_dir(root, &rfd, NULL);
    if (st == TDI_OK && mkdirat(rfd, sub, 0750) == 0)
        st = fsync_fd(rfd, root);
    else if (st == TDI_OK && errno != EEXIST)
        st = io_error(dir, "cannot create directory", errno);
    if (rfd >= 0)
        close(rfd);
    return st != TDI_OK ? st : rpt_file_create(f, dir, name);
}

tdi_status rpt_file_write(rpt_file *f, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_error(f->tmp, "write failed", errno);
        }
        if (n == 0) /* no progress and no errno: do not spin */
            return io_error(f->tmp, "write failed", EIO);
        p += n;
        len -= (size_t)n;
    }
    return TDI_OK;
}

tdi_status rpt_file_close(rpt_file *f)
{
    int fd = f->fd;

    if (f->state != RPT_FILE_TEMP || fd < 0) {
        tdi_error("%s: closed twice or never opened", f->tmp);
        return TDI_ERR_INTERNAL;
    }
    f->fd = -1;
    if (fsync(fd) != 0) {
        int err = errno;
        close(fd); /* already failing; the fsync error is the one to report */
        return io_error(f->tmp, "fsync failed", err);
    }
    /* After a successful fsync a close error still means the data may not be on disk. */
    if (close(fd) != 0)
        return io_error(f->tmp, "close failed", errno);
    return TDI_OK;
}

tdi_status rpt_file_publish(rpt_file *f)
{
    tdi_status st;
    int dfd;

#ifdef TDI_TEST_HOOKS
    /* A kill at an exact point of publishing: before the rename of the first file whose name
     * matches the pattern (fnmatch), as power loss would stop the run there. */
    const char *kill_at = getenv("TDI_TEST_KILL_BEFORE_RENAME");

    if (kill_at && fnmatch(kill_at, f->name, 0) == 0)
        raise(SIGKILL);
#endif
    if (trusted_dir(f->dir, &dfd, NULL) != TDI_OK)
        return TDI_ERR_OUTPUT;
    if (renameat(dfd, temp_base(f), dfd, f->name) != 0) {
        st = io_error(f->tmp, "rename failed", errno);
    } else {
        f->state = RPT_FILE_PUBLISHED;
        st = fsync_fd(dfd, f->dir);
    }
    close(dfd);
    return st;
}

void rpt_file_discard(rpt_file *f)
{
    int dfd = -1;

    if (f->state == RPT_FILE_TEMP && f->fd >= 0) {
        close(f->fd); /* the file goes away; nothing to report about its close */
        f->fd = -1;
    }
    /* unlinkat never follows a link; the directory is the one the file was made in. */
    if (f->state != RPT_FILE_NONE && trusted_dir(f->dir, &dfd, NULL) == TDI_OK) {
        const char *base = f->state == RPT_FILE_TEMP ? temp_base(f) : f->name;
        if (unlinkat(dfd, base, 0) != 0 && errno != ENOENT)
            io_error(f->state == RPT_FILE_TEMP ? f->tmp : f->path, "cannot remove", errno);
        close(dfd);
    }
    f->state = RPT_FILE_NONE;
}

void rpt_file_keep(rpt_file *f)
{
    f->state = RPT_FILE_NONE;
}

tdi_status rpt_file_put(rpt_file *f, const char *dir, const char *name, const void *buf, size_t len)
{
    tdi_status st = rpt_file_create(f, dir, name);

    if (st == TDI_OK)
        st = rpt_file_write(f, buf, len);
    if (st == TDI_OK)
        st = rpt_file_close(f);
    if (st == TDI_OK)
        st = rpt_file_publish(f);
    return st;
}

tdi_status report_ensure_dir(const char *dir)
{
    int fd = -1;
    tdi_status st = rpt_dir_ensure(dir);

    if (st == TDI_OK)
        st = trusted_dir(dir, &fd, NULL);
    if (fd >= 0)
        close(fd);
    return st;
}

/* 1 when name is one of ours: .tdi-*.tmp, .quarantine-*.tmp or a run page's .report-*.tmp
 * (rpt_file_create's temp names). */
static int temp_name(const char *name)
{
    size_t n = strlen(name);

    if (n < 5 || strcmp(name + n - 4, ".tmp") != 0)
        return 0;
    return strncmp(name, ".tdi-", 5) == 0 || strncmp(name, ".quarantine-", 12) == 0 ||
           strncmp(name, ".report-", 8) == 0;
}

/* The data files a run publishes in a body's folder, each with the manifest written after it. */
static const struct {
    const char *data, *manifest;
} published[] = {
    {".tables.xml", ".tables.manifest.json"},
    {".workbook.xlsx", ".workbook.manifest.json"},
    {".xml.gz", ".manifest.json"},
};

/* 1 when name is a data file of ours (tdi-*, published[]) and its manifest's name fits mf. */
static int data_name(const char *name, char *mf, size_t len)
{
    size_t n = strlen(name);

    if (strncmp(name, "tdi-", 4) != 0)
        return 0;
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
        size_t k = strlen(published[i].data);

        if (n > k && strcmp(name + n - k, published[i].data) == 0)
            return snprintf(mf, len, "%.*s%s", (int)(n - k), name, published[i].manifest) <
                   (int)len;
    }
    return 0;
}

/* 1 when name in dfd is a data file of ours whose manifest is surely not there (ENOENT). */
static int unmanifested(int dfd, const char *name)
{
    char mf[NAME_MAX + 64];
    struct stat sb;

    return data_name(name, mf, sizeof mf) && fstatat(dfd, mf, &sb, AT_SYMLINK_NOFOLLOW) != 0 &&
           errno == ENOENT;
}

static int temp_file(int dfd, const char *name)
{
    (void)dfd;
    return temp_name(name);
}

/* Removes from dir what pick(dir's fd, name) chooses, when a plain file, or a link planted at one
 * of our names (which would block the name): unlinkat removes the link itself, never what it
 * points to. Nothing else is touched. *removed counts them; said: each in an info line. */
static tdi_status sweep(const char *dir, int (*pick)(int, const char *), int said,
                        unsigned long *removed)
{
    tdi_status st = TDI_OK;
    struct dirent *de;
    unsigned long n = 0;
    DIR *d;
    int fd, err = 0;

    /* The directory is checked here first: a run refuses an untrusted one before reading. */
    if (trusted_dir(dir, &fd, &err) != TDI_OK)
        return err == ENOENT ? TDI_OK : TDI_ERR_OUTPUT;
    d = fdopendir(fd);
    if (!d) {
        err = errno;
        close(fd);
        return io_error(dir, "cannot open directory", err);
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;

        if (!pick(dirfd(d), de->d_name) ||
            fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !(S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode))) {
            errno = 0; /* a failed look is not readdir's error */
            continue;
        }
        if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
            st = io_error(dir,
                          said ? "cannot remove a file without its manifest"
                               : "cannot remove a temp file",
                          errno);
            break;
        }
        if (said)
            tdi_info("removed %s: an interrupted run left it without its manifest (not "
                     "published)",
                     de->d_name);
        n++;
        errno = 0;
    }
    if (st == TDI_OK && errno != 0)
        st = io_error(dir, "cannot read directory", errno);
    if (st == TDI_OK && n > 0)
        st = fsync_fd(dirfd(d), dir);
    closedir(d);
    *removed += n;
    return st;
}

tdi_status report_sweep_unmanifested(const char *dir)
{
    unsigned long removed = 0;

    return sweep(dir, unmanifested, 1, &removed);
}

tdi_status report_sweep_temp(const char *dir, unsigned long *removed)
{
    return sweep(dir, temp_file, 0, removed);
}
