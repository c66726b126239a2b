/*
 * rpt_validate: the schema check of report_validate_file() on a stream that is being written,
 * for the submission writer's check thread (report.c). Private to report/.
 */
#ifndef RPT_VALIDATE_H
#define RPT_VALIDATE_H

#include "../common/tdi_status.h"

#include <stdatomic.h>

/* Validates the document read from fd (plain or gzip XML, read to its end or to the first fatal
 * error; fd stays open) against schema_dir/tdi-submission.xsd in tdi run's form (rpt_xsd.h: the
 * episode key and person patterns as their lengths, the writer checks them in code). Messages are
 * "LABEL:LINE: message". Once *cancel is set (cancel may be NULL) the check stops at its next read
 * and says nothing more: the producer abandoned the document. With quiet_lines > 0, a second check
 * thread of the same document: errors on lines 1..quiet_lines and in loading the schema count but
 * are not said (the first thread says them). Results as report_validate_file(). */
tdi_status rpt_validate_fd(int fd, const char *label, const char *schema_dir,
                           const atomic_int *cancel, long quiet_lines);

#endif
