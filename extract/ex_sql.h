/*
 * ex_sql: the statements extract sends for one source read (the rows' COPY, the key scan, the
 * episodes read again), pure functions of the config and what the describe step learnt; the
 * public builders are declared in extract.h (extract_copy_sql, ...).
 */
#ifndef TDI_EX_SQL_H
#define TDI_EX_SQL_H

#include "extract.h"

#include <stddef.h>

#define CHANGED_LEN 27 /* YYYY-MM-DDTHH:MM:SS.ffffffZ */
/* The transaction-local setting that carries the episode ids read again. */
#define EXTRACT_IDS_SETTING "tdi.episode_ids"

/* 1 when s has the shape CHANGED_LEN digits and separators of a change time we wrote. */
int ex_changed_ok(const char *s);
/* Length of query without the trailing blanks and semicolons that would end it early. */
size_t ex_query_len(const char *query);

#endif
