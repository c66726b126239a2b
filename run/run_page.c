/*
 * run_page: the run report's figures (report_page, report/) from the state database's report
 * queries (state_report_load), for the run's own page (run_publish_page) and `tdi report`. The
 * copy keeps report/ free of the state database's types; the fields are the same, field by
 * field, so the page is the same.
 */
#include "run.h"

#include "../common/tdi_log.h"

#include <stdio.h>
#include <stdlib.h>

/* Equal sizes: nothing is cut in the copy that the state database's struct held. */
_Static_assert(REPORT_NAME_MAX == STATE_NAME_MAX, "report and state name sizes differ");
_Static_assert(REPORT_TIME_MAX == STATE_TIME_MAX, "report and state time sizes differ");

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

static void copy_run(report_page_run *d, const state_report_run *s)
{
    COPY(d->run_id, s->run_id);
    d->year = s->year;
    COPY(d->mode, s->mode);
    COPY(d->status, s->status);
    d->exit_code = s->exit_code;
    d->seconds = s->seconds;
    COPY(d->started, s->started);
}

static void copy_source(report_page_source *d, const state_report_source *s)
{
    COPY(d->name, s->name);
    COPY(d->status, s->status);
    COPY(d->mode, s->mode);
    d->attempts = s->attempts;
    d->extracted = s->extracted;
    d->written = s->written;
    d->quarantined = s->quarantined;
    d->has_prev = s->has_prev;
    d->prev_extracted = s->prev_extracted;
    d->prev_written = s->prev_written;
    d->prev_quarantined = s->prev_quarantined;
}

static void copy_file(report_page_file *d, const state_report_file *s)
{
    COPY(d->kind, s->kind);
    COPY(d->owner, s->owner);
    d->sequence = s->sequence;
    d->records = s->records;
    d->replaces = s->replaces;
    d->deletes = s->deletes;
    COPY(d->path, s->path);
    COPY(d->sha256, s->sha256);
}

static void copy_year(report_page_year *d, const state_report_year *s)
{
    COPY(d->owner, s->owner);
    d->year = s->year;
    d->episodes = s->episodes;
    d->entrants = s->entrants;
}

/* calloc of n (at least one, so that 0 is not a failure) */
static void *alloc(size_t n, size_t size, int *failed)
{
    void *p = calloc(n ? n : 1, size);

    if (!p)
        *failed = 1;
    return p;
}

tdi_status run_report_load(state_db *st, const char *run_id, const char *source, report_page *out)
{
    state_report rep = {0};
    tdi_status rc;
    int failed = 0;

    *out = (report_page){0};
    rc = state_report_load(st, run_id, source, &rep);
    if (rc != TDI_OK)
        goto done;
    out->sources = alloc(rep.nsources, sizeof *out->sources, &failed);
    out->files = alloc(rep.nfiles, sizeof *out->files, &failed);
    out->history = alloc(rep.nhistory, sizeof *out->history, &failed);
    out->years = alloc(rep.nyears, sizeof *out->years, &failed);
    if (failed) {
        tdi_error("the run report: out of memory");
        rc = TDI_ERR_INTERNAL;
        goto done;
    }
    copy_run(&out->run, &rep.run);
    for (size_t i = 0; i < rep.nsources; i++)
        copy_source(&out->sources[i], &rep.sources[i]);
    for (size_t i = 0; i < rep.nfiles; i++)
        copy_file(&out->files[i], &rep.files[i]);
    for (size_t i = 0; i < rep.nhistory; i++)
        copy_run(&out->history[i], &rep.history[i]);
    for (size_t i = 0; i < rep.nyears; i++)
        copy_year(&out->years[i], &rep.years[i]);
    out->nsources = rep.nsources;
    out->nfiles = rep.nfiles;
    out->nhistory = rep.nhistory;
    out->nyears = rep.nyears;
done:
    if (rc != TDI_OK)
        report_page_free(out);
    state_report_free(&rep);
    return rc;
}
