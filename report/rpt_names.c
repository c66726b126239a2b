/* rpt_names: pattern checks for names, run ids, timestamps and pseudonyms; see rpt_names.h. */
#include "rpt_names.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1 when s matches shape, where '9' stands for a digit and any other character for itself. */
static int matches_shape(const char *s, const char *shape)
{
    for (; *shape; s++, shape++) {
        if (*shape == '9' ? !is_digit(*s) : *s != *shape)
            return 0;
    }
    return *s == '\0';
}

static int prefixed_hex_ok(const char *s, const char *prefix, size_t ndigits)
{
    size_t plen = strlen(prefix);

    if (strncmp(s, prefix, plen) != 0)
        return 0;
    s += plen;
    /* strspn: checked twice per record, a per-character loop was 4% of tdi run. */
    return strspn(s, "0123456789abcdef") == ndigits && s[ndigits] == '\0';
}

int rpt_name_ok(const char *s)
{
    size_t n = 0;

    if (!s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
              c == '-'))
            return 0;
        if (n >= RPT_NAME_MAX)
            return 0;
    }
    return n > 0;
}

int rpt_run_id_ok(const char *s)
{
    return s && matches_shape(s, "99999999T999999Z");
}

int rpt_timestamp_ok(const char *s)
{
    return s && matches_shape(s, "9999-99-99T99:99:99Z");
}

int rpt_episode_key_ok(const char *s)
{
    return prefixed_hex_ok(s, "e1:", 32);
}

int rpt_person_key_ok(const char *s)
{
    return prefixed_hex_ok(s, "v1:", 64);
}

int rpt_local_code_ok(const char *s)
{
    return s && tdi_name_ok(s, RPT_LOCAL_CODE_MAX);
}

int rpt_year_ok(const char *s)
{
    return s && matches_shape(s, "9999");
}

int rpt_key_id_ok(const char *s)
{
    return prefixed_hex_ok(s, "", 8);
}

tdi_status rpt_meta_check(const report_meta *meta, const char *what, const char *name)
{
    const char *problem = NULL;

    if (!meta || !meta->output_dir || !*meta->output_dir || !meta->schema_dir)
        problem = "output or schema directory not set";
    else if (!rpt_name_ok(name))
        problem = "name is not 1..32 of [A-Za-z0-9_-]";
    else if (!rpt_run_id_ok(meta->run_id))
        problem = "run id is not YYYYMMDDTHHMMSSZ";
    else if (!rpt_timestamp_ok(meta->generated))
        problem = "generation time is not YYYY-MM-DDTHH:MM:SSZ";
    else if (meta->year < 1900 || meta->year > 2999)
        problem = "reporting year out of range 1900..2999";
    else if (meta->gzip_level < 1 || meta->gzip_level > 9)
        problem = "gzip level out of range 1..9";
    else if (meta->key_id && !rpt_key_id_ok(meta->key_id))
        problem = "key id is not 8 lowercase hex digits";
    if (problem) {
        tdi_error("%s: %s", what, problem);
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}
