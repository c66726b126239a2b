/*
 * report_validate: the streaming schema validator (report_validate_file).
 *
 * The file is read through rpt_gz_reader (igzip's inflate: gzip or plain, by content; one gzip
 * member and nothing after it, as gzip -t wants) into a libxml2 parser of
 * our own with the XSD validator plugged into its SAX stream: no tree is built, memory does not
 * grow with the file. The parser gets no network (XML_PARSE_NONET), no entity substitution, no
 * DTD loading, and any DOCTYPE at all ends the parse with an error, so neither external entities
 * nor entity expansion bombs are ever processed. Every message is logged as "PATH:LINE: message",
 * at most MAX_SHOWN of them.
 *
 * The schema is the one of the root element's namespace (submission or tables). The file is read
 * once, so a pipe (`zcat x.xml.gz | tdi validate -`) is checked like a file: a first parser reads
 * up to the root element's start tag and keeps the bytes it read (the prolog, at most PROBE_MAX);
 * under the root's schema, those bytes and then the rest of the stream are inflated on the calling
 * thread and handed through a pipe (rpt_pipe) to the validating parser on a second thread, so
 * inflating adds nothing to the time of the check, which takes the other core.
 *
 * A submission of the current schema is checked against tdi validate's form of it (rpt_xsd.h):
 * the key, person, name and local code patterns are checked in code by check_attributes(), the
 * rest by libxml2; a schema that form does not fit is checked as published.
 *
 * The same parser runs inside `tdi run` on a submission's XML stream as it is written
 * (rpt_validate_fd, on the writer's check thread), so a submission is checked while it is
 * produced, not read back afterwards; there the schema's patterns are left to the writer's own
 * check of each record (the run's form, rpt_xsd.h).
 */
#include "report.h"

#include "rpt_gz.h"
#include "rpt_pipe.h"
#include "rpt_validate.h"
#include "rpt_xml.h"
#include "rpt_xsd.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlschemastypes.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SHOWN         100
#define SUBMISSION_SCHEMA "tdi-submission.xsd"
#define IN_BUFFER         65536 /* libxml2 asks for 4000 bytes a call: one read(2) per call is slow */
#define PROBE_MAX         (1024 * 1024) /* a prolog longer than this is refused */
/* The most attributes and namespace declarations one element may have: a TDI element has at most
 * 43 attributes (an episode) and declares one namespace; the rest is margin. */
#define MAX_ATTRIBUTES 100
#define MAX_NS_DECLS   16
#define STR_(x)        #x
#define STR(x)         STR_(x)

/* What the inflating side ran into, for the parsing side to report when its input ends. */
typedef struct feed_state {
    int err;            /* errno of RPT_GZ_READ_ERROR */
    atomic_int problem; /* RPT_GZ_*, stored after err, before the pipe is closed */
} feed_state;

typedef struct validation {
    const char *path;             /* the document, borrowed */
    unsigned long long max_bytes; /* of XML, 0: no limit */
    const char *label;            /* prefix of messages: the schema while loading it, then path */
    rpt_gz_reader *gz;            /* the file, read on the calling thread; owned, as is its fd */
    unsigned char *probed;        /* what the first parser read, replayed to the second; owned */
    size_t probed_len, probed_cap;
    int fd;            /* the second pass: plain XML from the read end of a pipe */
    feed_state *feed;  /* how the producer of fd ended, or NULL */
    unsigned char *in; /* IN_BUFFER bytes read from fd ahead of the parser */
    size_t in_used, in_have;
    unsigned long long delivered; /* bytes read_input gave the parser */
    xmlSchemaPtr xsd;             /* the loaded schema */
    xmlParserCtxtPtr pctxt;
    unsigned long errors;     /* error-level messages, shown or not */
    unsigned long shown;      /* messages logged */
    unsigned long hidden;     /* messages past MAX_SHOWN */
    int read_errno;           /* reading the file failed: nothing was really checked */
    int gz_broken;            /* the gzip data is truncated or corrupt */
    int parse_broken;         /* a fatal well-formedness error was reported */
    int internal;             /* out of memory for the inflate state */
    int probing;              /* first pass: looking for the root element only */
    int root_seen;            /* the first pass met the root element and stopped there */
    const char *schema;       /* file name of the root's schema, once the first pass found it */
    const atomic_int *cancel; /* set by the producer of a stream it abandons; may be NULL */
    int cancelled;            /* seen set: the stream is cut on purpose, nothing more is said */
    long quiet_lines;         /* errors on lines 1..quiet_lines are counted, not said */
    int quiet_schema;         /* nothing is said about loading the schema (another thread does) */
    int loading;              /* the schema is being loaded */
    int limit_hit;            /* an element had too many attributes: the parse was stopped */
    rpt_xsd_attrs attrs;      /* tdi validate's form: the attributes checked in code (rpt_xsd.h) */
} validation;

/* The forms of a schema load_schema() makes (rpt_xsd.h). */
typedef enum schema_form {
    FORM_PUBLISHED, /* as the file has it */
    FORM_RUN,       /* tdi run's check of what it writes */
    FORM_VALIDATE,  /* a submission checked by tdi validate: v->attrs in code; else as published */
} schema_form;

/* The document kinds and their schemas, by the root element's namespace. */
static const struct {
    const char *ns, *schema;
} kinds[] = {
    {REPORT_NAMESPACE, SUBMISSION_SCHEMA},
    {REPORT_TABLES_NAMESPACE, "tdi-tables.xsd"},
    /* Files of tdi 0.1 (full snapshots): auditors keep them, so they stay checkable. */
    {"urn:tdi:submission:1", "tdi-submission-1.xsd"},
};

/* Submissions of schemaVersion 2.0 and 2.1 may hold exact ages, which 2.2 refuses: they are
 * checked against the kept schema of those versions. */
#define SUBMISSION_2_1_SCHEMA "tdi-submission-2.1.xsd"

/* The schema of a submission of namespace REPORT_NAMESPACE, by its schemaVersion (SAX2
 * attributes: 5 pointers each, the value from [3] to [4]). */
static const char *submission_schema(int nb_attributes, const xmlChar **attributes)
{
    for (int i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attributes + 5 * i;
        size_t len = (size_t)(a[4] - a[3]);

        if (a[1] || strcmp((const char *)a[0], "schemaVersion") != 0)
            continue;
        if (len == 3 && (memcmp(a[3], "2.0", 3) == 0 || memcmp(a[3], "2.1", 3) == 0))
            return SUBMISSION_2_1_SCHEMA;
    }
    return SUBMISSION_SCHEMA;
}

static void note(validation *v, tdi_log_level level, long line, const char *msg)
{
    if (v->cancelled)
        return;
    if (level == TDI_LOG_ERROR)
        v->errors++;
    if ((line > 0 && line <= v->quiet_lines) || (v->loading && v->quiet_schema))
        return;
    if (v->shown >= MAX_SHOWN) {
        v->hidden++;
        return;
    }
    v->shown++;
    if (line > 0)
        tdi_log(level, "%s:%ld: %s", v->label, line, msg);
    else
        tdi_log(level, "%s: %s", v->label, msg);
}

/* 1 (counted, not said) for a validity error once the input is broken: the validator then only
 * complains about the consequences. For libxml2's validator and check_attributes() alike. */
static int after_broken_input(validation *v)
{
    if (!v->gz_broken && !v->parse_broken)
        return 0;
    v->errors++;
    return 1;
}

/* Parser, schema parser and validator messages all arrive here. */
static void on_xml_error(void *ctx, xmlErrorPtr err)
{
    validation *v = ctx;
    char msg[512];

    if (!err || (v->probing && v->root_seen) || v->limit_hit)
        return; /* the first pass stopped on purpose at the root element, or we stopped it */
    /* Our read callback has already said why the input ended; libxml2's I/O error adds
     * nothing. */
    if (err->domain == XML_FROM_IO && (v->gz_broken || v->read_errno))
        return;
    if (err->domain == XML_FROM_SCHEMASV && after_broken_input(v))
        return;
    if (err->domain == XML_FROM_PARSER && err->level == XML_ERR_FATAL)
        v->parse_broken = 1;
    rpt_xml_message(msg, sizeof msg, err);
    note(v, err->level == XML_ERR_WARNING ? TDI_LOG_WARN : TDI_LOG_ERROR, err->line, msg);
}

/* SAX internalSubset: called at <!DOCTYPE before any declaration in it is parsed. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *public_id,
                       const xmlChar *system_id)
{
    validation *v = ctx;

    (void)name;
    (void)public_id;
    (void)system_id;
    note(v, TDI_LOG_ERROR, xmlSAX2GetLineNumber(v->pctxt),
         "DOCTYPE not allowed: a submission has no DTD and no entities");
    xmlStopParser(v->pctxt);
}

/* Where the validator is in the document; SAX validation has no tree to ask. */
static int locate(void *ctx, const char **file, unsigned long *line)
{
    validation *v = ctx;
    long l = v->pctxt ? xmlSAX2GetLineNumber(v->pctxt) : 0;

    *file = v->path;
    *line = l > 0 ? (unsigned long)l : 0;
    return 0;
}

/* Says why the input ended early (problem: RPT_GZ_*, detail: the errno of RPT_GZ_READ_ERROR),
 * marks v, and returns -1 for libxml2. */
static int input_broken(validation *v, int problem, int detail)
{
    switch (problem) {
    case RPT_GZ_READ_ERROR:
        v->read_errno = detail ? detail : EIO;
        tdi_error("%s: read failed: %s", v->path, strerror(v->read_errno));
        break;
    case RPT_GZ_TRUNCATED:
    case RPT_GZ_CORRUPT:
    case RPT_GZ_TRAILING:
        v->gz_broken = 1;
        note(v, TDI_LOG_ERROR, 0, rpt_gz_why(problem));
        break;
    case RPT_GZ_TOO_BIG: {
        char msg[96];

        v->gz_broken = 1;
        snprintf(msg, sizeof msg, "the XML is larger than %llu bytes (--max-bytes)", v->max_bytes);
        note(v, TDI_LOG_ERROR, 0, msg);
        break;
    }
    default:
        v->internal = 1;
        tdi_error("%s: gzip reader failed: out of memory", v->path);
        break;
    }
    return -1;
}

/* One read of the file: bytes read, 0 at its end, or -1 with *problem (RPT_GZ_*) and *detail. */
static int gz_read(validation *v, unsigned char *buf, unsigned len, int *problem, int *detail)
{
    return rpt_gz_read(v->gz, buf, len, problem, detail);
}

/* Called by both parsers' input callbacks, which libxml2 calls while it parses a start tag: an
 * element with more attributes than a TDI element can have stops the parse there. libxml2 2.9
 * checks a start tag's attributes (and namespace declarations) for duplicates pairwise once it has
 * read them all, before any SAX callback: 200,000 of them took 22 s, 1,000,000 took 556 s. Its
 * attribute array (maxatts, 5 slots an attribute) grows as they are read, doubling to twice the
 * slots needed: past 10 * (MAX_ATTRIBUTES + 1) slots, the element has more than MAX_ATTRIBUTES.
 * Returns 1 when the input must end here (said why). */
static int too_many_attributes(validation *v)
{
    const char *what = NULL;

    if (!v->pctxt || v->limit_hit)
        return v->limit_hit;
    if (v->pctxt->maxatts > 10 * (MAX_ATTRIBUTES + 1))
        what = "an element with more than " STR(MAX_ATTRIBUTES) " attributes is refused";
    else if (v->pctxt->nsNr > 2 * MAX_NS_DECLS) /* the open elements', a prefix and a URI each */
        what = "more than " STR(MAX_NS_DECLS) " namespace declarations in scope are refused";
    if (!what)
        return 0;
    note(v, TDI_LOG_ERROR, xmlSAX2GetLineNumber(v->pctxt), what);
    v->limit_hit = 1; /* every read fails from here: the parser runs out of input and stops (not
                       * xmlStopParser: inside its input callback, it frees the buffer in use) */
    return 1;
}

/* Keeps what the first parser read, for the second. -1 (said why) past PROBE_MAX bytes. */
static int keep_probed(validation *v, const char *buf, int n)
{
    size_t cap = v->probed_cap ? v->probed_cap : 8192;
    unsigned char *p;

    if (v->probed_len + (size_t)n > PROBE_MAX) {
        note(v, TDI_LOG_ERROR, 0, "no root element in the first 1 MiB");
        v->parse_broken = 1;
        return -1;
    }
    while (cap < v->probed_len + (size_t)n)
        cap *= 2;
    if (cap != v->probed_cap) {
        p = realloc(v->probed, cap);
        if (!p) {
            v->internal = 1;
            tdi_error("%s: out of memory", v->path);
            return -1;
        }
        v->probed = p;
        v->probed_cap = cap;
    }
    memcpy(v->probed + v->probed_len, buf, (size_t)n);
    v->probed_len += (size_t)n;
    return n;
}

/* libxml2's input callback of the first pass, reading the file and keeping what it read. A plain
 * end of file is 0; anything else stops the parse with -1 after saying what happened, since a
 * truncated gzip member can end exactly on a well-formed prefix of the document. */
static int read_gz(void *ctx, char *buf, int len)
{
    validation *v = ctx;
    int n, problem, detail;

    if (v->read_errno || v->gz_broken || v->internal || v->parse_broken || too_many_attributes(v))
        return -1;
    if (len <= 0)
        return 0;
    n = gz_read(v, (unsigned char *)buf, (unsigned)len, &problem, &detail);
    if (n < 0)
        return input_broken(v, problem, detail);
    return n > 0 ? keep_probed(v, buf, n) : 0;
}

/* libxml2's input callback of the second pass, on the parsing thread: plain XML from the pipe.
 * At its end, what the inflating side ran into is said as read_gz would have said it. */
static int read_input(void *ctx, char *buf, int len)
{
    validation *v = ctx;
    ssize_t n = 1;
    size_t k;
    int problem;

    if (v->read_errno || v->gz_broken || v->internal || v->cancelled || too_many_attributes(v))
        return -1;
    if (v->cancel && atomic_load(v->cancel)) {
        v->cancelled = 1;
        return -1;
    }
    if (len <= 0)
        return 0;
    if (v->in_used == v->in_have) {
        while ((n = read(v->fd, v->in, IN_BUFFER)) < 0 && errno == EINTR)
            ;
        v->in_used = 0;
        v->in_have = n > 0 ? (size_t)n : 0;
    }
    if (n > 0) {
        k = v->in_have - v->in_used;
        if (k > (size_t)len)
            k = (size_t)len;
        memcpy(buf, v->in + v->in_used, k);
        v->in_used += k;
        v->delivered += k;
        return (int)k;
    }
    if (n < 0) {
        v->internal = 1;
        tdi_error("%s: cannot read the XML stream: %s", v->path, strerror(errno));
        return -1;
    }
    /* The end of an abandoned stream: the producer set cancel before it closed the pipe. */
    if (v->cancel && atomic_load(v->cancel)) {
        v->cancelled = 1;
        return -1;
    }
    problem = v->feed ? atomic_load(&v->feed->problem) : RPT_GZ_OK;
    if (problem == RPT_GZ_OK)
        return 0;
    return input_broken(v, problem, v->feed->err);
}

/* One read of the second pass, on the calling thread: bytes read, 0 at the end, -1 after
 * recording the problem in feed for the parsing thread to say. */
static int read_file(validation *v, feed_state *feed, unsigned char *buf, unsigned len)
{
    int problem, detail, n = gz_read(v, buf, len, &problem, &detail);

    if (n < 0) {
        feed->err = detail;
        atomic_store(&feed->problem, problem);
    }
    return n;
}

/* SAX startElementNs of the first pass: picks the schema of the root element's namespace. */
static void on_root(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                    int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                    int nb_defaulted, const xmlChar **attributes)
{
    validation *v = ctx;
    char ns[128], name[64], msg[400];

    (void)prefix;
    (void)nb_namespaces;
    (void)namespaces;
    (void)nb_defaulted;
    v->root_seen = 1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (uri && strcmp((const char *)uri, kinds[i].ns) == 0)
            v->schema = kinds[i].schema;
    if (v->schema && strcmp(v->schema, SUBMISSION_SCHEMA) == 0)
        v->schema = submission_schema(nb_attributes, attributes);
    if (!v->schema) {
        /* The names come from the document: cleaned before they reach the log. */
        tdi_clean_value(ns, sizeof ns, uri ? (const char *)uri : "");
        tdi_clean_value(name, sizeof name, (const char *)localname);
        snprintf(msg, sizeof msg,
                 "root element {%s}%s is neither a TDI submission (%s, or urn:tdi:submission:1 "
                 "of tdi 0.1) nor TDI tables (%s)",
                 ns, name, REPORT_NAMESPACE, REPORT_TABLES_NAMESPACE);
        note(v, TDI_LOG_ERROR, xmlSAX2GetLineNumber(v->pctxt), msg);
    }
    xmlStopParser(v->pctxt);
}

/* tdi_error, unless v is a second check thread of a document (another thread says it). */
#define SAY(v, ...)                                                                                \
    do {                                                                                           \
        if (!(v)->quiet_schema)                                                                    \
            tdi_error(__VA_ARGS__);                                                                \
    } while (0)

/* schema_dir/FILE (path) as a tree in *doc in the given form, or NULL in *doc for the schema as
 * published: a submission schema that tdi validate's form does not fit is checked as it is. */
static tdi_status schema_tree(validation *v, const char *path, schema_form form, xmlDocPtr *doc)
{
    char why[256] = "";
    tdi_status st;

    *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    if (!*doc) {
        SAY(v, "%s: cannot load schema", path);
        return TDI_ERR_INTERNAL;
    }
    st = form == FORM_RUN ? rpt_xsd_in_code(*doc, why, sizeof why)
                          : rpt_xsd_for_validate(*doc, &v->attrs, why, sizeof why);
    if (st == TDI_OK)
        return TDI_OK;
    xmlFreeDoc(*doc);
    *doc = NULL;
    if (form == FORM_VALIDATE) {
        tdi_debug("%s: checked as published: %s", path, why);
        return TDI_OK;
    }
    if (why[0])
        SAY(v, "%s: %s", path, why);
    SAY(v, "%s: cannot load schema", path);
    return st;
}

/* Parses schema_dir/FILE into *out, in the given form (rpt_xsd.h), from a tree kept in *doc,
 * which the caller frees after the schema (NULL: the file as published). */
static tdi_status load_schema(validation *v, const char *schema_dir, const char *file,
                              schema_form form, xmlSchemaPtr *out, xmlDocPtr *doc)
{
    xmlSchemaParserCtxtPtr pc = NULL;
    char path[PATH_MAX];
    tdi_status st = TDI_OK;
    int n, fd;

    v->loading = 1;
    n = snprintf(path, sizeof path, "%s/%s", schema_dir, file);
    if (n < 0 || (size_t)n >= sizeof path) {
        SAY(v, "%s: schema directory path too long", schema_dir);
        v->loading = 0;
        return TDI_ERR_INTERNAL;
    }
    /* Open it ourselves first: a clear "cannot open" beats libxml2's I/O warning. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        SAY(v, "%s: cannot open schema: %s", path, strerror(errno));
        v->loading = 0;
        return TDI_ERR_INTERNAL;
    }
    close(fd); /* only probed */

    v->label = path;
    *doc = NULL;
    if (form != FORM_PUBLISHED)
        st = schema_tree(v, path, form, doc);
    if (st != TDI_OK)
        goto done;
    pc = *doc ? xmlSchemaNewDocParserCtxt(*doc) : xmlSchemaNewParserCtxt(path);
    if (!pc) {
        SAY(v, "%s: cannot create schema parser", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    xmlSchemaSetParserStructuredErrors(pc, on_xml_error, v);
    *out = xmlSchemaParse(pc);
    if (!*out) {
        SAY(v, "%s: cannot load schema", path);
        st = TDI_ERR_INTERNAL;
    }

done:
    xmlSchemaFreeParserCtxt(pc);
    v->label = v->path;
    v->errors = v->shown = v->hidden = 0;
    v->loading = 0;
    return st;
}

/* The first parser: reads v->gz up to its root element, keeping what it read in v->probed, and sets
 * v->schema. TDI_ERR_INVALID (said why) when there is no root element, its namespace is not a TDI
 * one, or the input broke before it. */
static tdi_status find_schema(validation *v)
{
    xmlSAXHandler sax;
    tdi_status st = TDI_OK;

    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.internalSubset = on_doctype;
    sax.startElementNs = on_root;
    v->probing = 1;
    v->pctxt = xmlCreateIOParserCtxt(&sax, v, read_gz, NULL, v, XML_CHAR_ENCODING_NONE);
    if (!v->pctxt || xmlCtxtUseOptions(v->pctxt, XML_PARSE_NONET) != 0) {
        tdi_error("%s: cannot create XML parser", v->path);
        st = TDI_ERR_INTERNAL;
    } else {
        xmlParseDocument(v->pctxt); /* stops at the root element: its result says nothing */
    }
    if (st == TDI_OK && v->internal)
        st = TDI_ERR_INTERNAL;
    else if (st == TDI_OK && v->read_errno)
        st = TDI_ERR_OUTPUT;
    else if (st == TDI_OK && (!v->schema || v->gz_broken || v->parse_broken || v->limit_hit))
        st = TDI_ERR_INVALID;
    if (st == TDI_ERR_INVALID && v->errors == 0)
        note(v, TDI_LOG_ERROR, 0, "no root element");
    if (v->pctxt)
        xmlFreeParserCtxt(v->pctxt);
    v->pctxt = NULL;
    v->probing = 0;
    return st;
}

/* SAX startElementNs of tdi validate's form, called before libxml2's validator sees the element:
 * the attributes the form leaves to code (rpt_xsd.h), each checked as the pattern it stands for,
 * and said as libxml2 says a value its pattern refuses. */
static void check_attributes(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    validation *v = ctx;
    char raw[1400], msg[1024];

    (void)prefix;
    (void)nb_namespaces;
    (void)namespaces;
    (void)nb_defaulted;
    for (int i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attributes + 5 * i; /* local name, prefix, URI, value, its end */
        const rpt_xsd_stand_in *type = a[2] ? NULL : rpt_xsd_attr_type(&v->attrs, a[0]);

        if (!type || rpt_xsd_attr_check(type, localname, uri, a[0], a[3], (size_t)(a[4] - a[3]),
                                        raw, sizeof raw))
            continue;
        if (v->limit_hit) /* as on_xml_error() takes the validator's messages */
            return;
        if (after_broken_input(v))
            continue;
        tdi_clean_value(msg, sizeof msg, raw);
        note(v, TDI_LOG_ERROR, xmlSAX2GetLineNumber(v->pctxt), msg);
    }
}

/* After a parse that ended well, reads the rest of v->fd: libxml2 takes a NUL byte for the end of
 * its input, so a document, a NUL and anything after it would pass. Every byte delivered must have
 * been parsed (xmlByteConsumed counts the input's bytes, in its encoding, e.g. UTF-16). */
static void check_all_parsed(validation *v)
{
    long consumed = xmlByteConsumed(v->pctxt);
    char rest[4096], msg[160];
    int n;

    while ((n = read_input(v, rest, sizeof rest)) > 0)
        ;
    if (n < 0 || (consumed >= 0 && (unsigned long long)consumed == v->delivered))
        return; /* said why, or all parsed */
    snprintf(msg, sizeof msg, "Extra content at the end of the document: from byte %ld on, of %llu",
             consumed, v->delivered);
    note(v, TDI_LOG_ERROR, xmlSAX2GetLineNumber(v->pctxt), msg);
}

/* The parse and the check of the document on v->fd against v->xsd, on the thread that reads
 * v->fd. Says every error; returns the verdict. */
static tdi_status parse_stream(validation *v)
{
    const char *path = v->path;
    xmlSchemaValidCtxtPtr vctxt = NULL;
    xmlSchemaSAXPlugPtr plug = NULL;
    xmlSAXHandler sax;
    rpt_xml_guard guard;
    tdi_status st;
    int rc, valid;

    rpt_xml_capture(&guard, on_xml_error, v);
    st = TDI_OK;
    v->in = malloc(IN_BUFFER);
    if (!v->in) {
        tdi_error("%s: out of memory", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    vctxt = xmlSchemaNewValidCtxt(v->xsd);
    if (!vctxt) {
        tdi_error("%s: cannot create schema validator", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    xmlSchemaSetValidStructuredErrors(vctxt, on_xml_error, v);
    xmlSchemaValidateSetLocator(vctxt, locate, v);

    /* Only a DOCTYPE hook: without startDocument and friends no tree is built, and the
     * schema plug below adds the element and text events it needs. */
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.internalSubset = on_doctype;
    /* The schema plug calls it before its own handler, with v. */
    if (v->attrs.n > 0)
        sax.startElementNs = check_attributes;
    v->pctxt = xmlCreateIOParserCtxt(&sax, v, read_input, NULL, v, XML_CHAR_ENCODING_NONE);
    if (!v->pctxt) {
        tdi_error("%s: cannot create XML parser", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    /* No NOENT, DTDLOAD, DTDATTR or HUGE: entities stay unexpanded, libxml2's limits hold. */
    if (xmlCtxtUseOptions(v->pctxt, XML_PARSE_NONET) != 0) {
        tdi_error("%s: cannot set XML parser options", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    plug = xmlSchemaSAXPlug(vctxt, &v->pctxt->sax, &v->pctxt->userData);
    if (!plug) {
        tdi_error("%s: cannot plug schema validator into the parser", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }

    rc = xmlParseDocument(v->pctxt);
    if (rc == 0 && v->pctxt->wellFormed && !v->pctxt->disableSAX) /* not stopped */
        check_all_parsed(v);
    /* Ask before unplugging: unplugging ends the validation run. */
    valid = xmlSchemaIsValid(vctxt) == 1;
    if (xmlSchemaSAXUnplug(plug) != 0) {
        plug = NULL;
        tdi_error("%s: cannot unplug schema validator", path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    plug = NULL;

    if (v->internal)
        st = TDI_ERR_INTERNAL;
    else if (v->read_errno)
        st = TDI_ERR_OUTPUT;
    else if (rc != 0 || !v->pctxt->wellFormed || !valid || v->errors > 0 || v->gz_broken)
        st = TDI_ERR_INVALID;
    if (st == TDI_ERR_INVALID && v->errors == 0) /* never fail without saying why */
        note(v, TDI_LOG_ERROR, 0, "not valid (no message from libxml2)");

done:
    if (plug)
        xmlSchemaSAXUnplug(plug); /* an error path; its result changes nothing */
    if (v->pctxt)
        xmlFreeParserCtxt(v->pctxt);
    v->pctxt = NULL;
    free(v->in);
    v->in = NULL;
    xmlSchemaFreeValidCtxt(vctxt);
    rpt_xml_restore(&guard);
    return st;
}

/* The parsing thread of report_validate_file. */
static tdi_status parse_pipe(int fd, void *arg)
{
    validation *v = arg;

    v->fd = fd;
    return parse_stream(v);
}

/* libxml2's lazily built globals, set up before a second thread uses them (not thread-safe). */
static void init_libxml2(void)
{
    xmlInitParser();
    xmlSchemaInitTypes();
}

tdi_status report_validate_file(const char *path, const char *schema_dir)
{
    return report_validate_file_max(path, schema_dir, 0);
}

tdi_status report_validate_file_max(const char *path, const char *schema_dir,
                                    unsigned long long max_bytes)
{
    validation v = {.path = path, .label = path, .fd = -1, .max_bytes = max_bytes};
    xmlDocPtr xsd_doc = NULL;
    feed_state feed = {0};
    rpt_pipe *pipe = NULL;
    unsigned char *buf = NULL;
    rpt_xml_guard guard;
    tdi_status st, pst;

    init_libxml2();
    rpt_xml_capture(&guard, on_xml_error, &v);
    st = rpt_gz_open(path, max_bytes, &v.gz);
    if (st == TDI_OK)
        st = find_schema(&v);
    if (st == TDI_OK)
        st = load_schema(&v, schema_dir, v.schema,
                         strcmp(v.schema, SUBMISSION_SCHEMA) == 0 ? FORM_VALIDATE : FORM_PUBLISHED,
                         &v.xsd, &xsd_doc);
    rpt_xml_restore(&guard);
    if (st == TDI_OK) {
        pipe = calloc(1, sizeof *pipe);
        buf = malloc(RPT_PIPE_CHUNK);
        if (!pipe || !buf) {
            tdi_error("%s: out of memory", path);
            st = TDI_ERR_INTERNAL;
        }
    }
    if (st != TDI_OK)
        goto done;
    v.feed = &feed;
    /* Inflate here, parse there; the parser stops us early once it has given up. */
    st = rpt_pipe_start(pipe, parse_pipe, &v, RPT_PIPE_STOP_EARLY);
    if (st == TDI_OK && v.probed_len > 0) /* what the first parser read, again */
        st = rpt_pipe_write(pipe, v.probed, v.probed_len);
    while (st == TDI_OK) {
        int n = read_file(&v, &feed, buf, RPT_PIPE_CHUNK);

        if (n <= 0)
            break;
        st = rpt_pipe_write(pipe, buf, (size_t)n);
    }
    pst = rpt_pipe_close(pipe); /* the parser's verdict, once it has read to the end */
    if (pst != TDI_OK || st == TDI_ERR_INVALID)
        st = pst;

done:
    if (v.hidden > 0)
        tdi_error("%s: ... %lu more errors", path, v.hidden);
    free(buf);
    free(pipe);
    free(v.probed);
    xmlSchemaFree(v.xsd);
    xmlFreeDoc(xsd_doc);
    rpt_gz_close(v.gz);
    return st;
}

tdi_status rpt_validate_fd(int fd, const char *label, const char *schema_dir,
                           const atomic_int *cancel, long quiet_lines)
{
    validation v = {.path = label,
                    .label = label,
                    .fd = fd,
                    .cancel = cancel,
                    .quiet_lines = quiet_lines,
                    .quiet_schema = quiet_lines > 0};
    xmlDocPtr xsd_doc = NULL;
    rpt_xml_guard guard;
    tdi_status st;

    init_libxml2();
    rpt_xml_capture(&guard, on_xml_error, &v);
    st = load_schema(&v, schema_dir, SUBMISSION_SCHEMA, FORM_RUN, &v.xsd, &xsd_doc);
    rpt_xml_restore(&guard);
    if (st == TDI_OK)
        st = parse_stream(&v);
    if (v.hidden > 0)
        tdi_error("%s: ... %lu more errors", label, v.hidden);
    xmlSchemaFree(v.xsd);
    xmlFreeDoc(xsd_doc);
    return st;
}
