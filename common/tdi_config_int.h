/*
 * tdi_config_int: what the parts of the config reader share (tdi_config.c reads the file,
 * tdi_config_reid.c the re-identification settings). Private to common/tdi_config*.c.
 */
#ifndef TDI_CONFIG_INT_H
#define TDI_CONFIG_INT_H

#include "tdi_config.h"

enum section { SEC_TOP, SEC_SOURCE, SEC_BODY, SEC_BAD };

typedef struct parser {
    const char *path;
    char *dir; /* directory of the config file, absolute */
    tdi_config *cfg;
    enum section sec;
    int errors;
    int oom;
    int query_line; /* line of the current source's query or query_file, 0 if none yet */
} parser;

/* Logs "PATH:LINE: message" (PATH: message when line is 0) and counts an error. */
void tdi_cfg_perr(parser *p, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A copy of s, owned by the config (NULL, and counted, when out of memory). */
char *tdi_cfg_dup(parser *p, const char *s);
/* 1 and *out when val is a whole number in lo..hi. */
int tdi_cfg_whole_number(const char *val, long lo, long hi, long *out);

/* k_min, quasi_identifiers, blank_order: in the global part or a body's; 1 when key is one. */
int tdi_cfg_reid_key(parser *p, unsigned long line, const char *key, const char *val,
                     tdi_reid_config *r);
/* The body's re-identification settings: its own, else the global ones, else the defaults. */
void tdi_cfg_resolve_reid(parser *p, tdi_body_config *b);

#endif
