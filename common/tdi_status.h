/*
 * tdi_status: the status every function returns and the process exit code it becomes.
 *
 * Each failure class has its own value so cron monitoring can tell "a clinic was down" from
 * "the config is wrong" from "the disk is full" without reading logs. Values are stable: they
 * are documented in README.md and scripts depend on them.
 */
#ifndef TDI_STATUS_H
#define TDI_STATUS_H

typedef enum tdi_status {
    TDI_OK = 0,
    TDI_ERR_INTERNAL = 1,     /* a bug or out of memory */
    TDI_ERR_USAGE = 2,        /* bad command line */
    TDI_ERR_CONFIG = 3,       /* configuration file wrong or unreadable */
    TDI_ERR_KEY = 4,          /* pseudonymisation key missing, unreadable, too open, or self-test */
    TDI_ERR_SOURCE = 5,       /* a source failed: unreadable, repeated ids, empty */
    TDI_ERR_CROSSWALK = 6,    /* a crosswalk file is wrong or unreadable */
    TDI_ERR_OUTPUT = 7,       /* an output file could not be written or published */
    TDI_ERR_INVALID = 8,      /* a file failed schema validation */
    TDI_ERR_LOCKED = 9,       /* another run is active */
    TDI_ERR_INTERRUPTED = 10, /* stopped by SIGINT or SIGTERM */
    TDI_ERR_DISCLOSURE = 11,  /* disclosure control could not be met */
    TDI_ERR_STATE = 12,       /* state database unreachable, without its schema, or too old */
    TDI_ERR_CLOSED = 13,      /* the reporting year is closed */
    TDI_STATUS_COUNT
} tdi_status;

/* Short stable name ("config", "source", ...) for logs and the README table. */
const char *tdi_status_name(tdi_status st);
/* One-line description of the failure class. */
const char *tdi_status_text(tdi_status st);

#endif
