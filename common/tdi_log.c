/* tdi_log: level filter and sink for diagnostics; see tdi_log.h. */
#include "tdi_log.h"

#include <stdarg.h>
#include <stdio.h>

static tdi_log_level log_max = TDI_LOG_INFO;
static tdi_log_sink log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void tdi_log_set_level(tdi_log_level max)
{
    log_max = max;
}

void tdi_log_set_sink(tdi_log_sink sink, void *ctx)
{
    log_sink = sink;
    log_sink_ctx = ctx;
}

void tdi_log(tdi_log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    if (level > log_max)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_sink) {
        log_sink(log_sink_ctx, level, msg);
        return;
    }
    fprintf(stderr, "tdi: %s: %s\n", level_names[level], msg);
}
