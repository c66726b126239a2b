/* tdi_log: level filter, sink, syslog, last error and the terminal progress line; see tdi_log.h. */
#include "tdi_log.h"

#include "tdi_text.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 2048

/* report/ and run/ (the sources' readers) log from worker threads too: one message at a time
 * reaches the sink, and the progress line is drawn by one thread at a time. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static tdi_log_level log_max = TDI_LOG_INFO;
static tdi_log_sink log_sink;
static void *log_sink_ctx;
static int log_syslog;
static char last_error[MSG_MAX];
static _Thread_local char thread_error[MSG_MAX];
static int progress_shown; /* a progress line is on the terminal and must be cleared first */
static struct timespec progress_last;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int syslog_priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void tdi_log_set_level(tdi_log_level max)
{
    log_max = max;
}

void tdi_log_set_sink(tdi_log_sink sink, void *ctx)
{
    log_sink = sink;
    log_sink_ctx = ctx;
}

void tdi_log_open_syslog(void)
{
    if (!log_syslog)
        openlog("tdi", LOG_PID, LOG_DAEMON);
    log_syslog = 1;
}

const char *tdi_log_last_error(void)
{
    return last_error;
}

void tdi_log_clear_last_error(void)
{
    (void)pthread_mutex_lock(&log_lock);
    last_error[0] = '\0';
    (void)pthread_mutex_unlock(&log_lock);
}

const char *tdi_log_thread_error(void)
{
    return thread_error;
}

void tdi_log_clear_thread_error(void)
{
    thread_error[0] = '\0';
}

void tdi_log_set_thread_error(const char *msg)
{
    snprintf(thread_error, sizeof thread_error, "%s", msg);
}

/* tdi_progress_end() with log_lock held. */
static void progress_end_locked(void)
{
    if (!progress_shown)
        return;
    progress_shown = 0;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

void tdi_log(tdi_log_level level, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A server may answer in its database's encoding and vsnprintf may cut a character: the
     * ledger (a UTF8 database) would refuse the line, and with it the run's record. */
    tdi_utf8_repair(msg);
    (void)pthread_mutex_lock(&log_lock); /* a static default mutex: cannot fail */
    /* Kept whatever the level filter: the ledger wants the reason even from a quiet run. */
    if (level == TDI_LOG_ERROR) {
        memcpy(last_error, msg, sizeof last_error);
        memcpy(thread_error, msg, sizeof thread_error);
    }
    if (level <= log_max) {
        if (log_syslog)
            syslog(syslog_priority[level], "%s: %s", level_names[level], msg);
        if (log_sink) {
            log_sink(log_sink_ctx, level, msg);
        } else {
            progress_end_locked();
            fprintf(stderr, "tdi: %s: %s\n", level_names[level], msg);
        }
    }
    (void)pthread_mutex_unlock(&log_lock);
}

void tdi_progress(const char *fmt, ...)
{
    struct timespec now;
    char line[256];
    va_list ap;

    if (!isatty(STDERR_FILENO))
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    (void)pthread_mutex_lock(&log_lock);
    /* At most four updates a second: a terminal is slow next to a million rows. */
    if (log_sink || (progress_shown && (now.tv_sec - progress_last.tv_sec) * 1000 +
                                               (now.tv_nsec - progress_last.tv_nsec) / 1000000 <
                                           250)) {
        (void)pthread_mutex_unlock(&log_lock);
        return;
    }
    progress_last = now;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\rtdi: %s\033[K", line);
    fflush(stderr);
    progress_shown = 1;
    (void)pthread_mutex_unlock(&log_lock);
}

void tdi_progress_end(void)
{
    (void)pthread_mutex_lock(&log_lock);
    progress_end_locked();
    (void)pthread_mutex_unlock(&log_lock);
}
