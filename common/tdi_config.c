/*
 * tdi_config: reads the INI-style configuration file into a tdi_config (format in README.md).
 *
 * The whole file is read and checked before anything runs, and every problem is reported with
 * its line, so a data manager fixes a config in one pass instead of one error per night.
 */
#include "tdi_config.h"
#include "tdi_config_int.h"

#include "tdi_log.h"
#include "tdi_text.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef TDI_SCHEMA_DIR
#define TDI_SCHEMA_DIR "/usr/local/share/tdi/schemas"
#endif

#define REGION_MAX 32

const char *const tdi_nid_scheme_names[TDI_NID_SCHEME_COUNT] = {
    [TDI_NID_NONE] = "none",     [TDI_NID_BE_RRN] = "be_rrn",     [TDI_NID_NL_BSN] = "nl_bsn",
    [TDI_NID_FR_NIR] = "fr_nir", [TDI_NID_ES_DNI] = "es_dni",     [TDI_NID_IT_CF] = "it_cf",
    [TDI_NID_SE_PNR] = "se_pnr", [TDI_NID_DK_CPR] = "dk_cpr",     [TDI_NID_FI_HETU] = "fi_hetu",
    [TDI_NID_NO_FNR] = "no_fnr", [TDI_NID_PL_PESEL] = "pl_pesel", [TDI_NID_CZ_RC] = "cz_rc",
    [TDI_NID_PLAIN] = "plain",
};

const char *const tdi_counting_names[TDI_COUNTING_COUNT] = {
    [TDI_COUNTING_CENTRE] = "centre",
    [TDI_COUNTING_REGIONAL] = "regional",
    [TDI_COUNTING_NATIONAL] = "national",
};

/* The index of val in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *val)
{
    for (int i = 0; i < n; i++)
        if (strcmp(val, names[i]) == 0)
            return i;
    return -1;
}

void tdi_cfg_perr(parser *p, unsigned long line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line)
        tdi_error("%s:%lu: %s", p->path, line, msg);
    else
        tdi_error("%s: %s", p->path, msg);
    p->errors++;
}

char *tdi_cfg_dup(parser *p, const char *s)
{
    char *d = strdup(s);

    if (!d)
        p->oom = 1;
    return d;
}

/* Absolute path of s, taken relative to the config file's directory. */
static char *resolve_path(parser *p, const char *s)
{
    char *out;
    size_t n;

    if (s[0] == '/')
        return tdi_cfg_dup(p, s);
    n = strlen(p->dir) + 1 + strlen(s) + 1;
    out = malloc(n);
    if (!out) {
        p->oom = 1;
        return NULL;
    }
    snprintf(out, n, "%s/%s", p->dir, s);
    return out;
}

/* Replaces *slot, reporting a key given twice in one section. */
static void set_once(parser *p, unsigned long line, const char *key, char **slot, char *val)
{
    if (*slot) {
        tdi_cfg_perr(p, line, "'%s' is set twice in this section", key);
        free(val);
        return;
    }
    *slot = val;
}

static char *read_small_file(parser *p, unsigned long line, const char *path)
{
    FILE *fp = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!fp) {
        tdi_cfg_perr(p, line, "cannot open query_file %s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - len < 4096) {
            char *nb;
            if (cap > (1u << 20)) {
                tdi_cfg_perr(p, line, "query_file %s is larger than 1 MiB", path);
                goto fail;
            }
            nb = realloc(buf, cap + 8192);
            if (!nb) {
                p->oom = 1;
                goto fail;
            }
            buf = nb;
            cap += 8192;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        tdi_cfg_perr(p, line, "cannot read query_file %s", path);
        goto fail;
    }
    /* The server would read a byte order mark as part of the query's first word. */
    if (len >= 3 && memcmp(buf, TDI_UTF8_BOM, 3) == 0) {
        len -= 3;
        memmove(buf, buf + 3, len);
    }
    buf[len] = '\0';
    fclose(fp);
    return buf;
fail:
    free(buf);
    fclose(fp);
    return NULL;
}

/* Splits a list value ("a, b c") into a NULL-free array of copies. */
static void parse_list(parser *p, unsigned long line, const char *key, const char *val,
                       char ***items, size_t *nitems)
{
    char *copy = tdi_cfg_dup(p, val), *save = NULL;

    if (!copy)
        return;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        char **grown;
        if (strcmp(tok, "*") != 0 && !tdi_name_ok(tok, REGION_MAX)) {
            tdi_cfg_perr(p, line,
                         "'%s' in %s is not a code of 1-%d characters of A-Z a-z 0-9 . _ -", tok,
                         key, REGION_MAX);
            continue;
        }
        grown = realloc(*items, (*nitems + 1) * sizeof **items);
        if (!grown) {
            p->oom = 1;
            break;
        }
        *items = grown;
        (*items)[(*nitems)++] = tdi_cfg_dup(p, tok);
    }
    free(copy);
}

#define OPS_KEYS                                                                                   \
    "state, work_dir, retry_attempts, retry_delay, incremental_overlap, source_stall_timeout, "    \
    "max_parallel_sources, syslog"

/* A whole number in [lo, hi] into *out; 0 when val is not one. */
int tdi_cfg_whole_number(const char *val, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(val, &end, 10);
    if (errno || *end || end == val || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* The settings of unattended operation; 1 when key is one of them. */
static int ops_key(parser *p, unsigned long line, const char *key, const char *val)
{
    tdi_config *c = p->cfg;
    long n;

    if (strcmp(key, "state") == 0) {
        set_once(p, line, key, &c->state, tdi_cfg_dup(p, val));
    } else if (strcmp(key, "work_dir") == 0) {
        set_once(p, line, key, &c->work_dir, resolve_path(p, val));
    } else if (strcmp(key, "retry_attempts") == 0) {
        if (!tdi_cfg_whole_number(val, 1, 100, &n))
            tdi_cfg_perr(p, line, "retry_attempts must be a whole number from 1 to 100, not '%s'",
                         val);
        else
            c->retry_attempts = (int)n;
    } else if (strcmp(key, "retry_delay") == 0) {
        char *end;
        double d;
        errno = 0;
        d = strtod(val, &end);
        /* Seconds, with a fraction for tests that cannot wait (0.01 is 10 ms). */
        if (errno || *end || end == val || !(d >= 0 && d <= 3600))
            tdi_cfg_perr(p, line,
                         "retry_delay must be a number of seconds from 0 to 3600, not '%s'", val);
        else
            c->retry_delay_ms = (long)(d * 1000 + 0.5);
    } else if (strcmp(key, "incremental_overlap") == 0) {
        if (!tdi_cfg_whole_number(val, 0, 7 * 24 * 3600, &n))
            tdi_cfg_perr(p, line,
                         "incremental_overlap must be a whole number of seconds from 0 to 604800, "
                         "not '%s'",
                         val);
        else
            c->incremental_overlap = n;
    } else if (strcmp(key, "source_stall_timeout") == 0) {
        if (!tdi_cfg_whole_number(val, 0, 24 * 3600, &n))
            tdi_cfg_perr(p, line,
                         "source_stall_timeout must be a whole number of seconds from 0 to 86400, "
                         "not '%s'",
                         val);
        else
            c->source_stall_timeout = n;
    } else if (strcmp(key, "max_parallel_sources") == 0) {
        if (!tdi_cfg_whole_number(val, 1, TDI_PARALLEL_SOURCES_MAX, &n))
            tdi_cfg_perr(p, line,
                         "max_parallel_sources must be a whole number from 1 to %d, not '%s'",
                         TDI_PARALLEL_SOURCES_MAX, val);
        else
            c->max_parallel_sources = (int)n;
    } else if (strcmp(key, "syslog") == 0) {
        if (strcmp(val, "yes") == 0 || strcmp(val, "on") == 0 || strcmp(val, "true") == 0)
            c->syslog = 1;
        else if (strcmp(val, "no") == 0 || strcmp(val, "off") == 0 || strcmp(val, "false") == 0)
            c->syslog = 0;
        else
            tdi_cfg_perr(p, line, "syslog must be yes or no, not '%s'", val);
    } else {
        return 0;
    }
    return 1;
}

/* 1 when s is a plain SQL column name: a letter or _, then letters, digits, _; at most 63. */
static int column_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

static void top_key(parser *p, unsigned long line, const char *key, const char *val)
{
    tdi_config *c = p->cfg;

    if (strcmp(key, "output_dir") == 0) {
        set_once(p, line, key, &c->output_dir, resolve_path(p, val));
    } else if (strcmp(key, "key_file") == 0) {
        set_once(p, line, key, &c->key_file, resolve_path(p, val));
    } else if (strcmp(key, "schema_dir") == 0) {
        set_once(p, line, key, &c->schema_dir, resolve_path(p, val));
    } else if (strcmp(key, "gzip_level") == 0) {
        char *end;
        long lvl = strtol(val, &end, 10);
        if (*end || end == val || lvl < 1 || lvl > 9)
            tdi_cfg_perr(p, line, "gzip_level must be a whole number from 1 to 9, not '%s'", val);
        else
            c->gzip_level = (int)lvl;
    } else if (strcmp(key, "suppression_threshold") == 0) {
        char *end;
        long t = strtol(val, &end, 10);
        if (*end || end == val || t < 0 || t > 1000)
            tdi_cfg_perr(p, line,
                         "suppression_threshold must be a whole number from 0 to 1000, not '%s'",
                         val);
        else
            c->suppression_threshold = (int)t;
    } else if (strcmp(key, "protection_level") == 0) {
        char *end;
        long t = strtol(val, &end, 10);
        if (*end || end == val || t < 0 || t > 1000)
            tdi_cfg_perr(p, line,
                         "protection_level must be a whole number from 0 to 1000, not '%s'", val);
        else
            c->protection_level = (int)t;
    } else if (strcmp(key, "region_map") == 0) {
        set_once(p, line, key, &c->region_map, resolve_path(p, val));
    } else if (!ops_key(p, line, key, val) && !tdi_cfg_reid_key(p, line, key, val, &c->reid)) {
        tdi_cfg_perr(p, line,
                     "unknown setting '%s' (before any section: output_dir, key_file, schema_dir, "
                     "gzip_level, suppression_threshold, protection_level, region_map, k_min, "
                     "quasi_identifiers, "
                     "blank_order, " OPS_KEYS ")",
                     key);
    }
}

static void source_key(parser *p, unsigned long line, const char *key, const char *val)
{
    tdi_source_config *s = &p->cfg->sources[p->cfg->nsources - 1];

    if (strcmp(key, "conninfo") == 0) {
        set_once(p, line, key, &s->conninfo, tdi_cfg_dup(p, val));
    } else if (strcmp(key, "query") == 0 || strcmp(key, "query_file") == 0) {
        char *q;
        if (s->query) {
            tdi_cfg_perr(p, line, "give either query or query_file, once");
            return;
        }
        if (key[5] == '_') {
            char *path = resolve_path(p, val);
            q = path ? read_small_file(p, line, path) : NULL;
            free(path);
        } else {
            q = tdi_cfg_dup(p, val);
        }
        s->query = q;
        p->query_line = (int)line;
    } else if (strcmp(key, "crosswalk") == 0) {
        set_once(p, line, key, &s->crosswalk, resolve_path(p, val));
    } else if (strcmp(key, "region") == 0) {
        if (!tdi_name_ok(val, REGION_MAX))
            tdi_cfg_perr(p, line,
                         "region '%s' is not a code of 1-%d characters of A-Z a-z 0-9 . _ -", val,
                         REGION_MAX);
        else
            set_once(p, line, key, &s->region, tdi_cfg_dup(p, val));
    } else if (strcmp(key, "national_id") == 0) {
        int found = name_index(tdi_nid_scheme_names, TDI_NID_SCHEME_COUNT, val);
        if (found < 0)
            tdi_cfg_perr(
                p, line,
                "national_id must be be_rrn, nl_bsn, fr_nir, es_dni, it_cf, se_pnr, dk_cpr, "
                "fi_hetu, no_fnr, pl_pesel, cz_rc, plain or none, not '%s'",
                val);
        else
            s->national_id = (tdi_nid_scheme)found;
    } else if (strcmp(key, "region_map") == 0) {
        set_once(p, line, key, &s->region_map, resolve_path(p, val));
    } else if (strcmp(key, "incremental") == 0) {
        if (!column_name_ok(val))
            tdi_cfg_perr(p, line,
                         "incremental names the change-time column, e.g. changed_at, not '%s'",
                         val);
        else
            set_once(p, line, key, &s->incremental, tdi_cfg_dup(p, val));
    } else {
        tdi_cfg_perr(p, line,
                     "unknown setting '%s' in [source %s] (conninfo, query, query_file, crosswalk, "
                     "region, region_map, national_id, incremental)",
                     key, s->name);
    }
}

static void body_key(parser *p, unsigned long line, const char *key, const char *val)
{
    tdi_body_config *b = &p->cfg->bodies[p->cfg->nbodies - 1];

    if (strcmp(key, "regions") == 0) {
        if (b->nregions)
            tdi_cfg_perr(p, line, "'regions' is set twice in this section");
        else
            parse_list(p, line, key, val, &b->regions, &b->nregions);
    } else if (strcmp(key, "centres") == 0) {
        if (b->ncentres)
            tdi_cfg_perr(p, line, "'centres' is set twice in this section");
        else
            parse_list(p, line, key, val, &b->centres, &b->ncentres);
    } else if (strcmp(key, "counting") == 0) {
        int found = name_index(tdi_counting_names, TDI_COUNTING_COUNT, val);
        if (found < 0)
            tdi_cfg_perr(p, line, "counting must be centre, regional or national, not '%s'", val);
        else
            b->counting = (tdi_counting)found;
    } else if (strcmp(key, "quarter") == 0) {
        if (strcmp(val, "yes") == 0)
            b->quarter = 1;
        else if (strcmp(val, "no") == 0)
            b->quarter = 0;
        else
            tdi_cfg_perr(p, line, "quarter must be yes or no, not '%s'", val);
    } else if (!tdi_cfg_reid_key(p, line, key, val, &b->reid)) {
        tdi_cfg_perr(
            p, line,
            "unknown setting '%s' in [body %s] (regions, centres, counting, quarter, k_min, "
            "quasi_identifiers, blank_order)",
            key, b->name);
    }
}

static int name_taken(const tdi_config *c, const char *name, int body)
{
    if (body) {
        for (size_t i = 0; i < c->nbodies; i++)
            if (strcmp(c->bodies[i].name, name) == 0)
                return 1;
    } else {
        for (size_t i = 0; i < c->nsources; i++)
            if (strcmp(c->sources[i].name, name) == 0)
                return 1;
    }
    return 0;
}

static void check_source_done(parser *p)
{
    tdi_source_config *s;

    if (p->sec != SEC_SOURCE)
        return;
    s = &p->cfg->sources[p->cfg->nsources - 1];
    if (!s->conninfo)
        tdi_cfg_perr(p, (unsigned long)s->line, "[source %s] needs conninfo", s->name);
    if (!s->query && !p->query_line)
        tdi_cfg_perr(p, (unsigned long)s->line, "[source %s] needs query or query_file", s->name);
    if (!s->crosswalk)
        tdi_cfg_perr(p, (unsigned long)s->line, "[source %s] needs crosswalk", s->name);
    if (!s->region)
        tdi_cfg_perr(p, (unsigned long)s->line, "[source %s] needs region", s->name);
}

/* Appends a zeroed element to the array *arr of *n elements; returns it, or NULL when out of
 * memory. Config files hold a handful of sections, so growing by one is fine. */
static void *grow_one(parser *p, void **arr, size_t *n, size_t elem)
{
    char *grown = realloc(*arr, (*n + 1) * elem);

    if (!grown) {
        p->oom = 1;
        return NULL;
    }
    *arr = grown;
    memset(grown + *n * elem, 0, elem);
    return grown + (*n)++ * elem;
}

/* Folders of OUTPUT_DIR that are not a body's: a body's files go to OUTPUT_DIR/BODY/, so a body
 * of one of these names would mix its files with them. Compared ignoring case, for filesystems
 * that do. */
static const struct reserved {
    const char *folder, *holds;
} reserved[] = {
    {"quarantine", "quarantine files"},
};

static const struct reserved *reserved_folder(const char *name)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(name, reserved[i].folder) == 0)
            return &reserved[i];
    return NULL;
}

static void section(parser *p, unsigned long line, char *text)
{
    char *kind = text, *name, *end = strchr(text, ']');
    tdi_config *c = p->cfg;

    check_source_done(p);
    p->sec = SEC_BAD;
    p->query_line = 0;
    if (!end || tdi_trim(end + 1)[0] != '\0') {
        tdi_cfg_perr(p, line, "a section header looks like [source NAME] or [body NAME]");
        return;
    }
    *end = '\0';
    kind = tdi_trim(kind);
    name = strpbrk(kind, " \t");
    if (!name) {
        tdi_cfg_perr(p, line, "a section header looks like [source NAME] or [body NAME]");
        return;
    }
    *name++ = '\0';
    name = tdi_trim(name);
    if (!tdi_name_ok(name, TDI_NAME_MAX) || strchr(name, '.')) {
        tdi_cfg_perr(p, line, "section name '%s' must be 1-%d characters of A-Z a-z 0-9 _ -", name,
                     TDI_NAME_MAX);
        return;
    }
    if (strcmp(kind, "source") == 0) {
        tdi_source_config *src;
        if (name_taken(c, name, 0)) {
            tdi_cfg_perr(p, line, "source '%s' is defined twice", name);
            return;
        }
        src = grow_one(p, (void **)&c->sources, &c->nsources, sizeof *src);
        if (!src)
            return;
        src->name = tdi_cfg_dup(p, name);
        src->line = (int)line;
        p->sec = SEC_SOURCE;
    } else if (strcmp(kind, "body") == 0) {
        tdi_body_config *body;
        if (reserved_folder(name)) {
            tdi_cfg_perr(p, line, "body name '%s' is reserved: OUTPUT_DIR/%s/ holds the %s", name,
                         reserved_folder(name)->folder, reserved_folder(name)->holds);
            return;
        }
        if (name_taken(c, name, 1)) {
            tdi_cfg_perr(p, line, "body '%s' is defined twice", name);
            return;
        }
        body = grow_one(p, (void **)&c->bodies, &c->nbodies, sizeof *body);
        if (!body)
            return;
        body->name = tdi_cfg_dup(p, name);
        body->line = (int)line;
        p->sec = SEC_BODY;
    } else {
        tdi_cfg_perr(p, line, "unknown section kind '%s' (source, body)", kind);
    }
}

static int source_has_region(const tdi_config *c, const char *region)
{
    for (size_t i = 0; i < c->nsources; i++)
        if (c->sources[i].region && strcmp(c->sources[i].region, region) == 0)
            return 1;
    return 0;
}

/* Checks that need the whole file: something to do, and no body or source left dangling. */
static void check_whole(parser *p)
{
    tdi_config *c = p->cfg;

    if (!c->output_dir)
        tdi_cfg_perr(p, 0, "output_dir is not set");
    if (!c->key_file)
        tdi_cfg_perr(p, 0, "key_file is not set");
    if (c->nsources == 0)
        tdi_cfg_perr(p, 0, "no [source NAME] section");
    if (c->nbodies == 0)
        tdi_cfg_perr(p, 0, "no [body NAME] section");
    for (size_t i = 0; i < c->nsources; i++)
        if (!c->sources[i].region_map && c->region_map)
            c->sources[i].region_map = tdi_cfg_dup(p, c->region_map);
    for (size_t i = 0; i < c->nbodies; i++) {
        tdi_body_config *b = &c->bodies[i];
        tdi_cfg_resolve_reid(p, b);
        if (b->nregions == 0 && b->ncentres == 0)
            tdi_cfg_perr(p, (unsigned long)b->line, "[body %s] needs regions or centres", b->name);
        for (size_t r = 0; r < b->nregions; r++)
            if (strcmp(b->regions[r], "*") != 0 && !source_has_region(c, b->regions[r]))
                tdi_cfg_perr(p, (unsigned long)b->line,
                             "[body %s] region '%s' is the region of no source", b->name,
                             b->regions[r]);
    }
    for (size_t i = 0; i < c->nsources; i++) {
        tdi_source_config *s = &c->sources[i];
        int taken = 0;
        if (!s->region)
            continue;
        for (size_t b = 0; b < c->nbodies && !taken; b++)
            taken =
                c->bodies[b].ncentres > 0 || tdi_config_body_takes(&c->bodies[b], s->region, NULL);
        if (!taken)
            tdi_cfg_perr(p, (unsigned long)s->line,
                         "[source %s] region '%s' is received by no body", s->name, s->region);
    }
}

tdi_status tdi_config_load(const char *path, tdi_config **out)
{
    tdi_status st = TDI_OK;
    tdi_lines lr;
    parser p = {.path = path};
    char *line, *copy = NULL, resolved[PATH_MAX];
    int rc;

    *out = NULL;
    p.cfg = calloc(1, sizeof *p.cfg);
    if (!p.cfg)
        return TDI_ERR_INTERNAL;
    p.cfg->gzip_level = 1;
    p.cfg->suppression_threshold = TDI_SUPPRESSION_DEFAULT;
    p.cfg->retry_attempts = 3;
    p.cfg->retry_delay_ms = 5000;
    p.cfg->incremental_overlap = 3600;
    p.cfg->source_stall_timeout = 300;
    p.cfg->max_parallel_sources = 16;
    st = tdi_lines_open(&lr, path, TDI_ERR_CONFIG);
    if (st != TDI_OK)
        goto done;
    if (!realpath(path, resolved) || !(copy = strdup(resolved))) {
        tdi_error("%s: cannot resolve path: %s", path, strerror(errno));
        st = TDI_ERR_CONFIG;
        goto done;
    }
    p.dir = strdup(dirname(copy));
    p.cfg->path = strdup(path);
    if (!p.dir || !p.cfg->path) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }

    while ((rc = tdi_lines_next(&lr, &line)) == 1) {
        char *t = tdi_trim(line), *eq, *key, *val;
        if (t[0] == '\0' || t[0] == '#' || t[0] == ';')
            continue;
        if (t[0] == '[') {
            section(&p, lr.lineno, t + 1);
            continue;
        }
        eq = strchr(t, '=');
        if (!eq) {
            tdi_cfg_perr(&p, lr.lineno, "expected 'key = value', '[source NAME]' or '[body NAME]'");
            continue;
        }
        *eq = '\0';
        key = tdi_trim(t);
        val = tdi_trim(eq + 1);
        if (val[0] == '\0') {
            tdi_cfg_perr(&p, lr.lineno, "'%s' has no value", key);
            continue;
        }
        switch (p.sec) {
        case SEC_TOP:
            top_key(&p, lr.lineno, key, val);
            break;
        case SEC_SOURCE:
            source_key(&p, lr.lineno, key, val);
            break;
        case SEC_BODY:
            body_key(&p, lr.lineno, key, val);
            break;
        case SEC_BAD:
            break; /* the header was already reported */
        }
    }
    if (rc < 0) {
        st = TDI_ERR_CONFIG;
        goto done;
    }
    check_source_done(&p);
    for (size_t i = 0; i < p.cfg->nsources; i++)
        p.cfg->sources[i].stall_timeout = p.cfg->source_stall_timeout;
    if (!p.cfg->schema_dir)
        p.cfg->schema_dir = tdi_cfg_dup(&p, TDI_SCHEMA_DIR);
    if (!p.cfg->work_dir && p.cfg->output_dir)
        p.cfg->work_dir = tdi_cfg_dup(&p, p.cfg->output_dir);
    check_whole(&p);
    if (p.oom)
        st = TDI_ERR_INTERNAL;
    else if (p.errors)
        st = TDI_ERR_CONFIG;

done:
    if (lr.fp || lr.buf)
        tdi_lines_close(&lr);
    free(copy);
    free(p.dir);
    if (st == TDI_OK)
        *out = p.cfg;
    else
        tdi_config_free(p.cfg);
    return st;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

void tdi_config_free(tdi_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nsources; i++) {
        tdi_source_config *s = &cfg->sources[i];
        free(s->name);
        free(s->conninfo);
        free(s->query);
        free(s->crosswalk);
        free(s->region);
        free(s->incremental);
        free(s->region_map);
    }
    for (size_t i = 0; i < cfg->nbodies; i++) {
        free(cfg->bodies[i].name);
        free_list(cfg->bodies[i].regions, cfg->bodies[i].nregions);
        free_list(cfg->bodies[i].centres, cfg->bodies[i].ncentres);
    }
    free(cfg->sources);
    free(cfg->bodies);
    free(cfg->path);
    free(cfg->output_dir);
    free(cfg->key_file);
    free(cfg->schema_dir);
    free(cfg->state);
    free(cfg->work_dir);
    free(cfg->region_map);
    free(cfg);
}

const char *tdi_default_schema_dir(void)
{
    return TDI_SCHEMA_DIR;
}

int tdi_config_body_takes(const tdi_body_config *body, const char *region, const char *centre)
{
    for (size_t i = 0; i < body->nregions; i++)
        if (strcmp(body->regions[i], "*") == 0 || (region && strcmp(body->regions[i], region) == 0))
            return 1;
    for (size_t i = 0; i < body->ncentres; i++)
        if (centre && strcmp(body->centres[i], centre) == 0)
            return 1;
    return 0;
}
