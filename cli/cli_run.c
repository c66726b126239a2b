/*
 * cli_run: `tdi run`, the nightly job. Wires the stages together and owns the run's bookkeeping:
 * every extracted row is counted as written or quarantined and the balance is printed and checked.
 *
 * All or nothing for now: if any source fails, nothing of this run is published.
 */
#include "cli.h"

#include "../common/tdi_config.h"
#include "../common/tdi_log.h"
#include "../extract/extract.h"
#include "../report/report.h"
#include "../transform/transform.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

void cli_run_usage(FILE *fp)
{
    fprintf(fp, "Usage: tdi run --config FILE [--year YYYY] [--verbose]\n\n"
                "Extracts every source of FILE, maps and checks its rows, and publishes one\n"
                "validated .xml.gz submission with a manifest per receiving body, and one\n"
                "quarantine file per source. Prints a summary; every row is accounted for.\n\n"
                "  -c, --config FILE  configuration file (see README.md)\n"
                "  -y, --year YYYY    reporting year (default: the current year)\n"
                "  -v, --verbose      more log lines on stderr\n"
                "  -h, --help         this text\n\n");
    cli_print_exit_codes(fp);
}

typedef struct run_totals {
    unsigned long extracted, written, quarantined;
} run_totals;

typedef struct run_state {
    tdi_config *cfg;
    transform_ctx *tx;
    report_meta meta;
    report_writer **writers;     /* one per body, same order as cfg->bodies */
    report_tables **tables;      /* idem */
    unsigned long *body_records; /* records added per body */
    report_quarantine **quarantine; /* one per source */
    run_totals totals;
    int published; /* files published so far: a late failure cannot take them back */
} run_state;

/* Hands one accepted record, with that body's pseudonyms, to every body that takes it; a record
 * no body takes is rejected. */
static tdi_status route_record(run_state *rs, const tdi_record *rec, int *taken)
{
    tdi_record out = *rec;

    *taken = 0;
    for (size_t b = 0; b < rs->cfg->nbodies; b++) {
        if (!tdi_config_body_takes(&rs->cfg->bodies[b], rec->region, rec->centre))
            continue;
        tdi_status st = transform_pseudonymise(rs->tx, b, &out);
        if (st == TDI_OK)
            st = report_add(rs->writers[b], &out);
        if (st == TDI_OK)
            st = report_tables_add(rs->tables[b], &out);
        if (st != TDI_OK)
            return st;
        rs->body_records[b]++;
        (*taken)++;
    }
    return TDI_OK;
}

static tdi_status run_source(run_state *rs, size_t si, int year)
{
    const tdi_source_config *src = &rs->cfg->sources[si];
    extract_source *ex = NULL;
    tdi_raw_row row;
    tdi_record rec;
    tdi_rejection rej;
    unsigned long written = 0, quarantined = 0;
    char key[TDI_EPISODE_KEY_MAX + 32];
    tdi_status st;
    int eof = 0, accepted, taken;

    st = transform_begin_source(rs->tx, src);
    if (st == TDI_OK)
        st = report_quarantine_open(&rs->meta, src->name, &rs->quarantine[si]);
    if (st == TDI_OK)
        st = extract_open(src, year, &ex);
    while (st == TDI_OK) {
        if (stop_signal) {
            st = TDI_ERR_INTERRUPTED;
            break;
        }
        st = extract_next(ex, &row, &eof);
        if (st != TDI_OK || eof)
            break;
        st = transform_row(rs->tx, &row, &rec, &rej, &accepted);
        if (st == TDI_OK && accepted) {
            st = route_record(rs, &rec, &taken);
            if (st == TDI_OK && !taken) {
                transform_reject_no_body(rs->tx, &rej);
                accepted = 0;
            }
        }
        if (st != TDI_OK)
            break;
        if (accepted) {
            written++;
        } else {
            transform_rejection_key(rs->tx, &row, key, sizeof key);
            st = report_quarantine_add(rs->quarantine[si], key, &rej);
            quarantined++;
        }
    }
    if (ex) {
        tdi_status cst = extract_close(ex);
        if (st == TDI_OK)
            st = cst;
    }
    if (st != TDI_OK)
        return st;

    printf("source %s: extracted %lu, written %lu, quarantined %lu\n", src->name,
           written + quarantined, written, quarantined);
    transform_print_source_report(rs->tx, stdout);
    rs->totals.extracted += written + quarantined;
    rs->totals.written += written;
    rs->totals.quarantined += quarantined;
    return TDI_OK;
}

static tdi_status publish_all(run_state *rs)
{
    report_published pub;
    tdi_status st = TDI_OK;

    for (size_t b = 0; b < rs->cfg->nbodies && st == TDI_OK; b++) {
        st = report_publish(rs->writers[b], &pub);
        rs->writers[b] = NULL;
        rs->published += st == TDI_OK;
        if (st == TDI_OK)
            printf("body %s: %lu records -> %s\n", rs->cfg->bodies[b].name, pub.records,
                   pub.path);
    }
    for (size_t b = 0; b < rs->cfg->nbodies && st == TDI_OK; b++) {
        size_t hidden = 0;
        st = report_tables_publish(rs->tables[b], &pub, &hidden);
        rs->tables[b] = NULL;
        rs->published += st == TDI_OK;
        if (st == TDI_OK)
            printf("tables %s: %zu tables, %zu cells suppressed -> %s\n",
                   rs->cfg->bodies[b].name, report_tables_count(), hidden, pub.path);
    }
    for (size_t s = 0; s < rs->cfg->nsources && st == TDI_OK; s++) {
        st = report_quarantine_publish(rs->quarantine[s], &pub);
        rs->quarantine[s] = NULL;
        rs->published += st == TDI_OK;
        if (st == TDI_OK)
            printf("quarantine %s: %lu rows -> %s\n", rs->cfg->sources[s].name, pub.records,
                   pub.path);
    }
    return st;
}

static int today_ymd(time_t now)
{
    struct tm tm;

    localtime_r(&now, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static tdi_status parse_args(int argc, char **argv, const char **config, int *year)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"year", required_argument, NULL, 'y'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    long y;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:y:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'y':
            y = strtol(optarg, &end, 10);
            if (*end || end == optarg || y < 1990 || y > 2999) {
                fprintf(stderr, "tdi run: --year wants a year such as 2025, not '%s'\n", optarg);
                return TDI_ERR_USAGE;
            }
            *year = (int)y;
            break;
        case 'v':
            tdi_log_set_level(TDI_LOG_DEBUG);
            break;
        case 'h':
            cli_run_usage(stdout);
            exit(TDI_OK);
        default:
            cli_run_usage(stderr);
            return TDI_ERR_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tdi run: unexpected argument '%s'\n", argv[optind]);
        return TDI_ERR_USAGE;
    }
    if (!*config) {
        fprintf(stderr, "tdi run: --config FILE is required\n");
        return TDI_ERR_USAGE;
    }
    return TDI_OK;
}

tdi_status cli_run(int argc, char **argv)
{
    run_state rs = {0};
    const char *config = NULL;
    char run_id[32], generated[32];
    time_t now = time(NULL);
    struct tm utc;
    struct sigaction sa = {0};
    tdi_status st;
    int year = 0;

    st = parse_args(argc, argv, &config, &year);
    if (st != TDI_OK)
        return st;
    if (!year)
        year = today_ymd(now) / 10000;
    gmtime_r(&now, &utc);
    strftime(run_id, sizeof run_id, "%Y%m%dT%H%M%SZ", &utc);
    strftime(generated, sizeof generated, "%Y-%m-%dT%H:%M:%SZ", &utc);

    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    st = tdi_config_load(config, &rs.cfg);
    if (st != TDI_OK)
        goto done;
    st = transform_open(rs.cfg, year, today_ymd(now), &rs.tx);
    if (st != TDI_OK)
        goto done;
    rs.meta = (report_meta){
        .output_dir = rs.cfg->output_dir,
        .schema_dir = rs.cfg->schema_dir,
        .run_id = run_id,
        .generated = generated,
        .year = year,
        .gzip_level = rs.cfg->gzip_level,
    };
    rs.writers = calloc(rs.cfg->nbodies, sizeof *rs.writers);
    rs.tables = calloc(rs.cfg->nbodies, sizeof *rs.tables);
    rs.body_records = calloc(rs.cfg->nbodies, sizeof *rs.body_records);
    rs.quarantine = calloc(rs.cfg->nsources, sizeof *rs.quarantine);
    if (!rs.writers || !rs.tables || !rs.body_records || !rs.quarantine) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    printf("tdi run %s: reporting year %d, %zu sources, %zu bodies\n", run_id, year,
           rs.cfg->nsources, rs.cfg->nbodies);
    for (size_t b = 0; b < rs.cfg->nbodies && st == TDI_OK; b++) {
        report_meta body_meta = rs.meta;
        body_meta.key_id = transform_body_key_id(rs.tx, b);
        st = report_open(&body_meta, rs.cfg->bodies[b].name, &rs.writers[b]);
        if (st == TDI_OK)
            st = report_tables_open(&rs.meta, rs.cfg->bodies[b].name,
                                    rs.cfg->suppression_threshold, &rs.tables[b]);
    }
    for (size_t s = 0; s < rs.cfg->nsources && st == TDI_OK; s++)
        st = run_source(&rs, s, year);
    if (st == TDI_OK && stop_signal)
        st = TDI_ERR_INTERRUPTED;
    if (st == TDI_OK)
        st = publish_all(&rs);
    if (st == TDI_OK) {
        printf("balance: extracted %lu = written %lu + quarantined %lu\n", rs.totals.extracted,
               rs.totals.written, rs.totals.quarantined);
        if (rs.totals.extracted != rs.totals.written + rs.totals.quarantined) {
            tdi_error("row counts do not balance");
            st = TDI_ERR_INTERNAL;
        }
    }

done:
    if (st == TDI_ERR_INTERRUPTED)
        tdi_error("stopped by signal %d; nothing of this run was published",
                  (int)stop_signal);
    else if (st != TDI_OK && rs.published)
        tdi_error("run failed (%s) after publishing the %d files listed above",
                  tdi_status_name(st), rs.published);
    else if (st != TDI_OK && rs.cfg)
        tdi_error("run failed (%s); nothing of this run was published", tdi_status_name(st));
    if (rs.cfg) {
        for (size_t b = 0; rs.writers && b < rs.cfg->nbodies; b++)
            report_abort(rs.writers[b]);
        for (size_t b = 0; rs.tables && b < rs.cfg->nbodies; b++)
            report_tables_abort(rs.tables[b]);
        for (size_t s = 0; rs.quarantine && s < rs.cfg->nsources; s++)
            report_quarantine_abort(rs.quarantine[s]);
    }
    free(rs.writers);
    free(rs.tables);
    free(rs.body_records);
    free(rs.quarantine);
    transform_close(rs.tx);
    tdi_config_free(rs.cfg);
    fflush(stdout);
    return st;
}
