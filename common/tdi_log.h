/*
 * tdi_log: the only way any module prints a diagnostic.
 *
 * Messages go to stderr prefixed with "tdi: " and the level, and also to syslog once
 * tdi_log_open_syslog() was called. Callers must never pass a raw value from a clinic row
 * (identifiers, dates, names); pass record keys, rule ids and local codes only: the run ledger
 * stores the last error message as the reason a run or a source failed.
 * Tests install a sink to capture messages and assert their exact text.
 */
#ifndef TDI_LOG_H
#define TDI_LOG_H

typedef enum tdi_log_level {
    TDI_LOG_ERROR = 0,
    TDI_LOG_WARN = 1,
    TDI_LOG_INFO = 2,
    TDI_LOG_DEBUG = 3
} tdi_log_level;

typedef void (*tdi_log_sink)(void *ctx, tdi_log_level level, const char *msg);

void tdi_log(tdi_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Messages above this level are dropped. Default TDI_LOG_INFO. */
void tdi_log_set_level(tdi_log_level max);
/* Send messages to sink instead of stderr; NULL restores stderr. */
void tdi_log_set_sink(tdi_log_sink sink, void *ctx);
/* Also send every message to syslog (ident "tdi", facility daemon). */
void tdi_log_open_syslog(void);

/* The text of the last error-level message since tdi_log_clear_last_error(), or "", whichever
 * thread logged it. Read it when no other thread logs (before workers start, after they are
 * joined). */
const char *tdi_log_last_error(void);
void tdi_log_clear_last_error(void);
/* The same for the calling thread's messages only: what one source's reader ran into while the
 * readers of other sources log too (run/, max_parallel_sources). */
const char *tdi_log_thread_error(void);
void tdi_log_clear_thread_error(void);
/* Makes msg the calling thread's last error: one a helper thread logged on its behalf (a
 * consumer of run/run_queue.c). */
void tdi_log_set_thread_error(const char *msg);

/* A progress line on stderr, rewritten in place, only when stderr is a terminal and at most a
 * few times a second; tdi_progress_end() clears it. Never part of the log or syslog. Locked like
 * the log: the readers of several sources report progress at once. */
void tdi_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tdi_progress_end(void);

#define tdi_error(...) tdi_log(TDI_LOG_ERROR, __VA_ARGS__)
#define tdi_warn(...)  tdi_log(TDI_LOG_WARN, __VA_ARGS__)
#define tdi_info(...)  tdi_log(TDI_LOG_INFO, __VA_ARGS__)
#define tdi_debug(...) tdi_log(TDI_LOG_DEBUG, __VA_ARGS__)

#endif
