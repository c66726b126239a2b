/*
 * rpt_file: atomic publication of output files, shared by submissions, manifests and quarantine
 * files.
 *
 * A file is written under DIR/.NAME.tmp (O_EXCL, mode 0640), fsync'd and closed, then renamed to
 * DIR/NAME and the directory fsync'd: a reader sees the whole file or nothing, also after a crash.
 * DIR must be trusted: a directory (not a symbolic link) owned by the running user and writable by
 * no one else, checked each time it is opened; files are made, renamed and removed relative to it
 * (openat, renameat, unlinkat), never through a link.
 * Every failure is logged as "PATH: what failed: reason" and returned as TDI_ERR_OUTPUT.
 */
#ifndef RPT_FILE_H
#define RPT_FILE_H

#include "../common/tdi_status.h"

#include <limits.h>
#include <stddef.h>

typedef enum rpt_file_state {
    RPT_FILE_NONE = 0,  /* nothing on disk; a zeroed rpt_file is in this state */
    RPT_FILE_TEMP,      /* the temp file exists */
    RPT_FILE_PUBLISHED, /* renamed to its final name */
} rpt_file_state;

typedef struct rpt_file {
    int fd; /* open on the temp file while writing (state TEMP), else -1 */
    rpt_file_state state;
    char dir[PATH_MAX];
    char tmp[PATH_MAX];  /* DIR/.NAME.tmp */
    char path[PATH_MAX]; /* DIR/NAME */
    const char *name;    /* basename of path, points into path */
} rpt_file;

/* Creates dir and its missing parents (mode 0750), fsyncing each new entry's parent. */
tdi_status rpt_dir_ensure(const char *dir);
/* Opens DIR/.NAME.tmp for writing; f needs no prior initialisation. */
tdi_status rpt_file_create(rpt_file *f, const char *dir, const char *name);
/* rpt_file_create() in ROOT/SUB, creating that directory inside a trusted ROOT when missing. */
tdi_status rpt_file_create_under(rpt_file *f, const char *root, const char *sub, const char *name);
/* Writes all of buf, retrying short writes and EINTR. */
tdi_status rpt_file_write(rpt_file *f, const void *buf, size_t len);
/* fsync and close the temp file. */
tdi_status rpt_file_close(rpt_file *f);
/* Renames the closed temp file to its final name and fsyncs the directory. When the directory
 * sync fails the file stays published (state) so that rpt_file_discard() removes it. */
tdi_status rpt_file_publish(rpt_file *f);
/* Closes the file if open and removes whatever of it is on disk (temp or published). */
void rpt_file_discard(rpt_file *f);
/* Hands a published file over to its readers: rpt_file_discard() will no longer remove it. */
void rpt_file_keep(rpt_file *f);
/* A small file in one go: create, write buf, close, publish (manifests). */
tdi_status rpt_file_put(rpt_file *f, const char *dir, const char *name, const void *buf,
                        size_t len);

tdi_status rpt_fsync_dir(const char *dir);

#endif
