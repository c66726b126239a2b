/*
 * rpt_names: the shapes of the strings report/ puts into file names, manifests and logs.
 *
 * The schema enforces the same patterns, but only when a file is validated at publish time. These
 * checks run up front because the strings reach places the schema never sees: a body name becomes
 * a path component, a run id a file name, a key a log line.
 */
#ifndef RPT_NAMES_H
#define RPT_NAMES_H

#include "report.h"

#define RPT_NAME_MAX       32 /* body and source names: [A-Za-z0-9_-]{1,32} */
#define RPT_LOCAL_CODE_MAX 32 /* centre and region codes: [A-Za-z0-9._-]{1,32} */

/* 1 when s is a body or source name: 1..32 of [A-Za-z0-9_-] (no dot: never "." or ".."). */
int rpt_name_ok(const char *s);
/* 1 when s is a centre or region code: 1..32 of [A-Za-z0-9._-]. */
int rpt_local_code_ok(const char *s);
/* 1 when s is a year as a file writes it: four ASCII digits. */
int rpt_year_ok(const char *s);
/* 1 when s is YYYYMMDDTHHMMSSZ (digits only; the clock is the caller's business). */
int rpt_run_id_ok(const char *s);
/* 1 when s is YYYY-MM-DDTHH:MM:SSZ. */
int rpt_timestamp_ok(const char *s);
/* 1 when s is "e1:" + 32 lowercase hex digits. */
int rpt_episode_key_ok(const char *s);
/* 1 when s is "v1:" + 64 lowercase hex digits. */
int rpt_person_key_ok(const char *s);
/* 1 when s is 8 lowercase hex digits (a key id). */
int rpt_key_id_ok(const char *s);

/* Checks what every writer takes from meta; logs "what: problem" and returns TDI_ERR_INTERNAL
 * (a bad meta is a caller bug, the config has checked what it owns). */
tdi_status rpt_meta_check(const report_meta *meta, const char *what, const char *name);

#endif
