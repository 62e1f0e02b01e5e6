/*
 * http/http.c — the HTTP server: routing, the JSON API, limits, the result
 * cache, progress/cancel of running queries, and the built-in web files.
 *
 * libmicrohttpd runs one thread per connection, so a long query never
 * blocks /api/v1/progress or /api/v1/cancel. Queries themselves take a
 * slot (max_queries at once, default 1: the engine already uses every
 * core); a request that cannot get one within queue_wait_ms gets 503.
 * The wall-time limit and cancellation are enforced by wrapping the
 * backend's source: the engine calls next() between batches, and the
 * wrapper answers FL_ECANCELED once the deadline passed or a cancel came.
 * That same wrapper counts scanned flows for progress, so the engine needs
 * no hook of its own.
 *
 * Requests are read into a bounded buffer (413 past max_body) and parsed
 * with jansson; GET query strings carry the same keys. A query's result is
 * the engine's own JSON rendering (fl_query_render, as `flowlens query -o
 * json` prints it) wrapped in an envelope with timing and the resolved
 * window; `"format":"csv"` returns the engine's CSV unchanged. Results are
 * cached by the canonical text of the resolved spec (relative windows are
 * resolved against `now` rounded down to 10 s so repeated dashboards hit)
 * and the backend's data version of the window, so an answer is never
 * served after new data landed. The engine gets the backend's source as
 * it is (parallel, batch size, rewind), so it plans each question exactly
 * as `flowlens query` does (topseries in two passes).
 */
#include "http.h"
#include "http_int.h"

#include <jansson.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RUNS_MAX 32
#define ID_MAX 40
#define EXPORTERS_MAX 1024
#define SERIES_MAX_BUCKETS 20000
#define FILTER_MAX 8192
#define TOPSERIES_MAX 100

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

/* A running query, visible to /progress and /cancel while it runs. */
typedef struct run {
    char id[ID_MAX];
    _Atomic uint64_t scanned;
    uint64_t estimate;
    atomic_int cancel;
    atomic_int timed_out;
    fl_time started, deadline;
    fl_source inner;
    int open_failed;
} run;

typedef struct cache_ent {
    char *key;
    char *meta; /* envelope after "elapsed_ms": "...,\"result\":...}" */
    size_t meta_len;
    char *csv;  /* or a CSV body (format csv) */
    fl_time stored, used;
    fl_time ttl;
} cache_ent;

struct fl_http {
    struct MHD_Daemon *d;
    fl_http_config cfg;
    fl_http_backend be;
    uint16_t port;
    pthread_mutex_t lock;
    pthread_cond_t slot_cv;
    unsigned running;
    run *runs[RUNS_MAX];
    cache_ent *cache;
    size_t ncache, cache_total;
    _Atomic uint64_t requests, cache_hits;
    char *filters_dir, *stats_path; /* owned copies of cfg's paths */
};

/* Per-connection request state. */
typedef struct conn {
    char *body;
    size_t len, cap;
    int too_big;
} conn;

/* A parsed query request. */
typedef struct qreq {
    fl_query_spec spec;
    char element[128];
    char *filter;       /* trimmed; "" = none */
    uint16_t *exporters;
    size_t nexporters;
    uint64_t offset;
    int csv;
    char id[ID_MAX];
    char *key;          /* canonical cache key */
} qreq;

/* Combined exporter set + filter, the spec's select hook. */
typedef struct qsel {
    uint8_t *exp_bits; /* 65536 bits, NULL = any exporter */
    fl_select_fn fn;
    void *fctx;
} qsel;

/* An HTTP error on its way out. */
typedef struct herr {
    unsigned status;
    const char *code;
    char msg[600];
    long long offset; /* -1 = none */
    const char *param;
} herr;

static const char *const op_names[] = {"list", "stats", "aggregate", "summary", "series",
                                       "topseries"};
static const char *const order_names[] = {"flows", "packets", "bytes", "pps", "bps",
                                          "bpp",   "tstart",  "tend"};
static const char *const mode_names[] = {"inside", "start", "end", "overlap"};
static const char *const metric_names[] = {"flows", "packets", "bytes", "pps",
                                           "bps",   "fps",     "bpp"};

static unsigned herr_set(herr *h, unsigned status, const char *code, const char *param,
                         long long offset, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static unsigned herr_set(herr *h, unsigned status, const char *code, const char *param,
                         long long offset, const char *fmt, ...)
{
    va_list ap;

    h->status = status;
    h->code = code;
    h->param = param;
    h->offset = offset;
    va_start(ap, fmt);
    vsnprintf(h->msg, sizeof h->msg, fmt, ap);
    va_end(ap);
    return status;
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                               const char *ctype, int must_free, const char *extra_name,
                               const char *extra_val)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, body,
                                        must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        if (must_free)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (extra_name)
        MHD_add_response_header(r, extra_name, extra_val);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL)
        return MHD_NO;
    return respond(c, status, s, strlen(s), "application/json", 1, NULL, NULL);
}

static enum MHD_Result respond_err(struct MHD_Connection *c, const herr *h)
{
    json_t *err = json_pack("{s:s,s:s,s:i}", "code", h->code, "message", h->msg, "status",
                            (json_int_t)h->status);
    if (err == NULL)
        return MHD_NO;
    if (h->offset >= 0)
        json_object_set_new(err, "offset", json_integer(h->offset));
    if (h->param)
        json_object_set_new(err, "param", json_string(h->param));
    return respond_json(c, h->status, json_pack("{s:o}", "error", err));
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *code,
                                     const char *msg)
{
    herr h;
    herr_set(&h, status, code, NULL, -1, "%s", msg);
    return respond_err(c, &h);
}

/* ------------------------------------------------------------------ */
/* Parameters: a JSON object from the body or the query string         */
/* ------------------------------------------------------------------ */

static enum MHD_Result arg_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    if (key && *key)
        json_object_set_new((json_t *)cls, key, json_string(value ? value : ""));
    return MHD_YES;
}

/* The request's parameters; NULL with h set when the body is not a JSON
 * object. */
static json_t *params_of(struct MHD_Connection *c, const conn *cn, herr *h)
{
    json_t *p;
    json_error_t je;

    if (cn->len > 0) {
        p = json_loadb(cn->body, cn->len, JSON_REJECT_DUPLICATES, &je);
        if (p == NULL) {
            herr_set(h, 400, "bad_json", NULL, je.position, "request body is not valid JSON: %s",
                     je.text);
            return NULL;
        }
        if (!json_is_object(p)) {
            json_decref(p);
            herr_set(h, 400, "bad_json", NULL, 0, "request body must be a JSON object");
            return NULL;
        }
        /* query-string keys fill what the body leaves out */
        json_t *q = json_object();
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, arg_iter, q);
        json_object_update_missing(p, q);
        json_decref(q);
        return p;
    }
    p = json_object();
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, arg_iter, p);
    return p;
}

/* String parameter or NULL. Numbers are not strings here. */
static const char *p_str(json_t *p, const char *k)
{
    json_t *v = json_object_get(p, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* 1 set, 0 absent, -1 bad. Accepts integers and decimal strings. */
static int p_u64(json_t *p, const char *k, uint64_t *out)
{
    json_t *v = json_object_get(p, k);
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return -1;
        *out = (uint64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (*s < '0' || *s > '9')
            return -1;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (*end != '\0' || errno)
            return -1;
        *out = x;
        return 1;
    }
    return -1;
}

static int p_bool(json_t *p, const char *k)
{
    json_t *v = json_object_get(p, k);
    if (json_is_true(v))
        return 1;
    if (json_is_string(v))
        return strcmp(json_string_value(v), "1") == 0 || strcmp(json_string_value(v), "true") == 0;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    return 0;
}

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* "5m", "300s", "1h", "1d", "300" (seconds) -> ms; -1 when bad. */
static fl_time parse_step(const char *s)
{
    char *end;
    fl_time unit = 1000;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end == 'm')
        unit = 60000;
    else if (*end == 'h')
        unit = 3600000;
    else if (*end == 'd')
        unit = 86400000;
    else if (*end != 's' && *end != '\0')
        return -1;
    if (*end != '\0' && end[1] != '\0')
        return -1;
    if (v == 0 || v > 365ULL * 86400)
        return -1;
    return (fl_time)v * unit;
}

/* The smallest "nice" step giving at most ~400 points over span. */
static fl_time auto_step(fl_time span)
{
    static const fl_time nice[] = {60000,    120000,   300000,   600000,  900000,
                                   1800000,  3600000,  7200000,  10800000, 21600000,
                                   43200000, 86400000, 604800000};
    for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++)
        if (span / nice[i] <= 400)
            return nice[i];
    return 604800000;
}

/* ------------------------------------------------------------------ */
/* Query requests                                                      */
/* ------------------------------------------------------------------ */

static void qreq_free(qreq *q)
{
    free(q->filter);
    free(q->exporters);
    free(q->key);
}

static unsigned parse_exporters(json_t *p, qreq *q, herr *h)
{
    json_t *v = json_object_get(p, "exporters");
    size_t n = 0;

    if (v == NULL || json_is_null(v))
        return 0;
    q->exporters = calloc(EXPORTERS_MAX, sizeof *q->exporters);
    if (q->exporters == NULL)
        return herr_set(h, 503, "memory_limit", NULL, -1, "out of memory");
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 65535)
                return herr_set(h, 400, "bad_exporters", "exporters", -1,
                                "exporters: a list of exporter ids 0..65535");
            if (n == EXPORTERS_MAX)
                return herr_set(h, 400, "bad_exporters", "exporters", -1,
                                "exporters: at most %d ids", EXPORTERS_MAX);
            q->exporters[n++] = (uint16_t)json_integer_value(x);
        }
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (*s) {
            char *end;
            unsigned long x = strtoul(s, &end, 10);
            if (end == s || x > 65535 || (*end != ',' && *end != '\0'))
                return herr_set(h, 400, "bad_exporters", "exporters", -1,
                                "exporters: comma-separated ids 0..65535, not '%s'",
                                json_string_value(v));
            if (n == EXPORTERS_MAX)
                return herr_set(h, 400, "bad_exporters", "exporters", -1,
                                "exporters: at most %d ids", EXPORTERS_MAX);
            q->exporters[n++] = (uint16_t)x;
            s = *end ? end + 1 : end;
        }
    } else {
        return herr_set(h, 400, "bad_exporters", "exporters", -1,
                        "exporters: a list of exporter ids");
    }
    q->nexporters = n;
    return 0;
}

/* Resolve the window into spec; relative times against now. */
static unsigned parse_window(json_t *p, qreq *q, fl_time now, herr *h)
{
    fl_query_spec *s = &q->spec;
    const char *w = p_str(p, "window"), *st = p_str(p, "start"), *en = p_str(p, "end");
    json_t *jst = json_object_get(p, "start"), *jen = json_object_get(p, "end");
    int tflags = p_bool(p, "local") ? FL_TIME_LOCAL : 0;
    fl_err e;

    fl_err_clear(&e);
    if (w && (strcmp(w, "all") == 0 || *w == '\0')) {
        s->start = s->end = 0;
    } else if (w) {
        fl_time_range tr;
        if (fl_time_range_parse(w, strlen(w), now, tflags, &tr, &e) != FL_OK)
            return herr_set(h, 400, "bad_window", "window", e.offset, "window '%s': %s", w, e.msg);
        s->start = tr.start;
        s->end = tr.end;
    } else if (jst || jen) {
        fl_time t[2] = {0, now};
        json_t *js[2] = {jst, jen};
        const char *ss[2] = {st, en};
        for (int i = 0; i < 2; i++) {
            if (js[i] == NULL)
                continue;
            if (json_is_integer(js[i])) {
                t[i] = (fl_time)json_integer_value(js[i]);
            } else if (ss[i]) {
                if (fl_time_parse(ss[i], strlen(ss[i]), now, tflags, &t[i], &e) != FL_OK)
                    return herr_set(h, 400, "bad_window", i ? "end" : "start", e.offset,
                                    "%s '%s': %s", i ? "end" : "start", ss[i], e.msg);
            } else {
                return herr_set(h, 400, "bad_window", i ? "end" : "start", -1,
                                "%s: a time (epoch ms or text)", i ? "end" : "start");
            }
            if (t[i] < FL_TIME_MIN || t[i] > FL_TIME_MAX)
                return herr_set(h, 400, "bad_window", i ? "end" : "start", -1,
                                "%s out of range", i ? "end" : "start");
        }
        if (t[0] > t[1])
            return herr_set(h, 400, "bad_window", "window", -1, "window starts after it ends");
        s->start = t[0];
        s->end = t[1];
    } else if (s->op == FL_QOP_SERIES || s->op == FL_QOP_TOPSERIES) {
        s->start = now - 86400000;
        s->end = now;
    }
    return 0;
}

/* Fill q from parameters p. Returns 0 or an HTTP status with h set. */
static unsigned parse_query(const fl_http *hs, json_t *p, fl_time now, qreq *q, herr *h)
{
    fl_query_spec *s = &q->spec;
    const char *v;
    fl_err e;
    uint64_t u;
    int r, i;

    memset(q, 0, sizeof *q);
    fl_query_spec_init(s);
    fl_err_clear(&e);
    v = p_str(p, "op");
    if (v == NULL)
        v = p_str(p, "stat") ? "stats" : p_str(p, "aggregate") ? "aggregate" : "summary";
    if ((i = name_index(op_names, 6, v)) < 0)
        return herr_set(h, 400, "bad_op", "op", -1,
                        "op '%s': one of stats, aggregate, list, summary, series, topseries", v);
    s->op = (fl_qop)i;
    if (s->op == FL_QOP_STATS || s->op == FL_QOP_TOPSERIES) {
        v = p_str(p, "stat");
        if (v == NULL)
            v = p_str(p, "element");
        if (v == NULL || *v == '\0')
            return herr_set(h, 400, "missing_stat", "stat", -1,
                            "%s needs \"stat\": an element such as srcip, dstport, proto",
                            op_names[s->op]);
        snprintf(q->element, sizeof q->element, "%s", v);
        if (fl_query_parse_stat(s, q->element, &e) != FL_OK)
            return herr_set(h, 400, "unknown_dimension", "stat", e.offset, "stat '%s': %s", v, e.msg);
        s->element = q->element;
        s->op = (fl_qop)i; /* parse_stat sets STATS */
    } else if (s->op == FL_QOP_AGGREGATE) {
        v = p_str(p, "aggregate");
        if (v == NULL || *v == '\0')
            return herr_set(h, 400, "missing_aggregate", "aggregate", -1,
                            "aggregate needs \"aggregate\": fields such as srcip,dstport");
        snprintf(q->element, sizeof q->element, "%s", v);
        if (fl_query_parse_aggregate(s, q->element, &e) != FL_OK)
            return herr_set(h, 400, "unknown_dimension", "aggregate", e.offset, "aggregate '%s': %s",
                            v, e.msg);
    }
    if ((v = p_str(p, "order")) != NULL && *v) {
        if (fl_query_parse_order(v, &s->order, &e) != FL_OK)
            return herr_set(h, 400, "bad_order", "order", -1, "order '%s': %s", v, e.msg);
    }
    s->ascending = p_bool(p, "ascending");
    if ((r = p_u64(p, "top", &u)) < 0)
        return herr_set(h, 400, "bad_top", "top", -1, "top: a number of rows");
    if (r) {
        if (u == 0 || u > hs->cfg.max_rows)
            u = hs->cfg.max_rows;
        s->top = u;
    }
    /* a page of flows without an order: the earliest, as `flowlens query
     * -c` lists them over the store, so pages follow one another and the
     * command line the page shows gives the same rows */
    if (s->op == FL_QOP_LIST && s->order == FL_ORDER_NONE)
        s->order = FL_ORDER_TSTART;
    if (s->op == FL_QOP_LIST || s->op == FL_QOP_AGGREGATE) {
        uint64_t lim = s->op == FL_QOP_LIST ? 100 : s->top;
        if ((r = p_u64(p, "limit", &lim)) < 0)
            return herr_set(h, 400, "bad_limit", "limit", -1, "limit: a number of rows");
        if ((r = p_u64(p, "offset", &q->offset)) < 0)
            return herr_set(h, 400, "bad_limit", "offset", -1, "offset: a number of rows");
        uint64_t max = s->op == FL_QOP_LIST ? hs->cfg.max_list : hs->cfg.max_rows;
        if (lim == 0 || lim > max || q->offset > max || lim + q->offset > max)
            return herr_set(h, 413, "too_many_rows", "limit", -1,
                            "offset + limit must be 1..%" PRIu64 " rows; narrow the query",
                            max);
        s->limit = lim + q->offset;
    }
    if (s->op == FL_QOP_TOPSERIES && s->top > TOPSERIES_MAX)
        return herr_set(h, 400, "bad_top", "top", -1, "a graph of at most %d series", TOPSERIES_MAX);
    if (s->op == FL_QOP_SERIES || s->op == FL_QOP_TOPSERIES) {
        s->window_mode = FL_WIN_START;
        v = p_str(p, "metric");
        if (v && *v && fl_query_parse_metric(v, &s->metric, &e) != FL_OK)
            return herr_set(h, 400, "bad_metric", "metric", -1, "metric '%s': %s", v, e.msg);
        s->per_step_top = p_bool(p, "per_step");
        s->linear = p_bool(p, "linear");
    }
    if ((v = p_str(p, "window_mode")) != NULL && *v) {
        if ((i = name_index(mode_names, 4, v)) < 0)
            return herr_set(h, 400, "bad_window", "window_mode", -1,
                            "window_mode '%s': inside, start, end or overlap", v);
        s->window_mode = (fl_window_mode)i;
    }
    if ((r = parse_window(p, q, now, h)) != 0)
        return (unsigned)r;
    if (s->op == FL_QOP_SERIES || s->op == FL_QOP_TOPSERIES) {
        json_t *js = json_object_get(p, "step");
        v = p_str(p, "step");
        if (js == NULL || (v && (strcmp(v, "auto") == 0 || *v == '\0')))
            s->step = auto_step(s->end - s->start);
        else if (json_is_integer(js) && json_integer_value(js) > 0)
            s->step = (fl_time)json_integer_value(js) * 1000;
        else if (v == NULL || (s->step = parse_step(v)) < 0)
            return herr_set(h, 400, "bad_step", "step", -1,
                            "step: auto, seconds, or 60s / 5m / 1h / 1d");
        if ((s->end - s->start) / s->step + 1 > SERIES_MAX_BUCKETS)
            return herr_set(h, 400, "bad_step", "step", -1,
                            "a series of more than %d steps; use a larger step",
                            SERIES_MAX_BUCKETS);
    }
    s->no_scale = p_bool(p, "no_scale");
    v = p_str(p, "format");
    if (v && strcmp(v, "csv") == 0)
        q->csv = 1;
    else if (v && *v && strcmp(v, "json") != 0)
        return herr_set(h, 400, "bad_format", "format", -1, "format: json or csv");
    /* filter, trimmed */
    v = p_str(p, "filter");
    if (v == NULL)
        v = "";
    if (strlen(v) > FILTER_MAX)
        return herr_set(h, 413, "filter_too_long", "filter", FILTER_MAX,
                        "filter longer than %d bytes", FILTER_MAX);
    q->filter = strdup(v);
    if (q->filter == NULL)
        return herr_set(h, 503, "memory_limit", NULL, -1, "out of memory");
    if ((r = (int)parse_exporters(p, q, h)) != 0)
        return (unsigned)r;
    if ((v = p_str(p, "id")) != NULL) {
        size_t l = strlen(v);
        if (l == 0 || l >= ID_MAX || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                               "0123456789-_") != l)
            return herr_set(h, 400, "bad_id", "id", -1, "id: 1-%d letters, digits, - or _",
                            ID_MAX - 1);
        memcpy(q->id, v, l + 1);
    }
    s->threads = hs->cfg.threads;
    s->memory_budget = hs->cfg.memory_budget;
    /* canonical key */
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f == NULL)
            return herr_set(h, 503, "memory_limit", NULL, -1, "out of memory");
        fprintf(f, "%d|%s|%d|%d|%" PRIu64 "|%" PRIu64 "|%" PRIu64 "|%" PRId64 "|%" PRId64
                   "|%d|%" PRId64 "|%d|%d|%d|%d|%d|",
                (int)s->op, q->element, (int)s->order, s->ascending, s->top, s->limit, q->offset,
                s->start, s->end, (int)s->window_mode, s->step, (int)s->metric, s->per_step_top,
                s->linear, s->no_scale, q->csv);
        for (size_t k = 0; k < q->nexporters; k++)
            fprintf(f, "%u,", q->exporters[k]);
        fprintf(f, "|%s", q->filter);
        /* a filter that reads saved filters goes stale when one changes */
        if (hs->cfg.filters_dir && (strstr(q->filter, "@include") || strstr(q->filter, "%filters%")))
            fprintf(f, "|filters:%" PRIx64, http_filters_fingerprint(hs->cfg.filters_dir));
        fclose(f);
        q->key = buf;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Select hook: exporters then filter                                  */
/* ------------------------------------------------------------------ */

static fl_rc qsel_fn(void *ctx, const fl_batch *b, fl_sel *sel, fl_err *e)
{
    qsel *q = ctx;

    if (q->exp_bits) {
        const uint16_t *ex = FL_U16(b, FL_COL_EXPORTER);
        uint32_t k = 0;
        for (uint32_t i = 0; i < sel->n; i++) {
            uint16_t id = ex[sel->idx[i]];
            if (q->exp_bits[id >> 3] & (1u << (id & 7)))
                sel->idx[k++] = sel->idx[i];
        }
        sel->n = k;
    }
    if (q->fn && sel->n)
        return q->fn(q->fctx, b, sel, e);
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Running queries: the source wrapper, slots, progress, cancel        */
/* ------------------------------------------------------------------ */

/* FL_ECANCELED once a cancel came or the deadline passed, else FL_OK */
static fl_rc run_check(run *r, fl_err *e)
{
    if (atomic_load(&r->cancel))
        return fl_err_set(e, FL_ECANCELED, "query canceled");
    if (fl_time_now() > r->deadline) {
        atomic_store(&r->timed_out, 1);
        return fl_err_set(e, FL_ECANCELED, "query time limit reached");
    }
    return FL_OK;
}

static fl_rc run_next(void *ctx, fl_batch *b, fl_err *e)
{
    run *r = ctx;
    fl_rc rc = run_check(r, e);

    if (rc != FL_OK)
        return rc;
    rc = r->inner.next(r->inner.ctx, b, e);
    if (rc == FL_OK)
        atomic_fetch_add(&r->scanned, b->n);
    return rc;
}

/* next_codes through the same checks and count as run_next */
static fl_rc run_next_codes(void *ctx, fl_batch *b, fl_qcodes *cd, unsigned ncd, fl_err *e)
{
    run *r = ctx;
    fl_rc rc = run_check(r, e);

    if (rc != FL_OK)
        return rc;
    rc = r->inner.next_codes(r->inner.ctx, b, cd, ncd, e);
    if (rc == FL_OK)
        atomic_fetch_add(&r->scanned, b->n);
    return rc;
}

static double run_progress(void *ctx)
{
    run *r = ctx;
    return r->inner.progress(r->inner.ctx);
}

/* Wait for a query slot; 0 on success. */
static int slot_take(fl_http *hs)
{
    struct timespec ts;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += hs->cfg.queue_wait_ms / 1000;
    ts.tv_nsec += (long)(hs->cfg.queue_wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&hs->lock);
    while (hs->running >= hs->cfg.max_queries && rc == 0)
        rc = pthread_cond_timedwait(&hs->slot_cv, &hs->lock, &ts);
    if (hs->running < hs->cfg.max_queries) {
        hs->running++;
        rc = 0;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&hs->lock);
    return rc;
}

static void slot_give(fl_http *hs)
{
    pthread_mutex_lock(&hs->lock);
    hs->running--;
    pthread_cond_signal(&hs->slot_cv);
    pthread_mutex_unlock(&hs->lock);
}

static void run_register(fl_http *hs, run *r)
{
    if (r->id[0] == '\0')
        return;
    pthread_mutex_lock(&hs->lock);
    for (int i = 0; i < RUNS_MAX; i++)
        if (hs->runs[i] == NULL) {
            hs->runs[i] = r;
            break;
        }
    pthread_mutex_unlock(&hs->lock);
}

static void run_unregister(fl_http *hs, run *r)
{
    pthread_mutex_lock(&hs->lock);
    for (int i = 0; i < RUNS_MAX; i++)
        if (hs->runs[i] == r)
            hs->runs[i] = NULL;
    pthread_mutex_unlock(&hs->lock);
}

/* ------------------------------------------------------------------ */
/* Cache                                                               */
/* ------------------------------------------------------------------ */

static void cache_ent_clear(cache_ent *c)
{
    free(c->key);
    free(c->meta);
    free(c->csv);
    memset(c, 0, sizeof *c);
}

/* Copy of the cached meta/csv for key, or NULL. Caller holds no lock. */
static char *cache_get(fl_http *hs, const char *key, size_t *len, int *is_csv)
{
    char *out = NULL;
    fl_time now = fl_time_now();

    if (hs->cache == NULL)
        return NULL;
    pthread_mutex_lock(&hs->lock);
    for (size_t i = 0; i < hs->ncache; i++) {
        cache_ent *c = &hs->cache[i];
        if (c->key == NULL || strcmp(c->key, key) != 0)
            continue;
        if (now - c->stored > c->ttl) {
            hs->cache_total -= c->meta_len;
            cache_ent_clear(c);
            break;
        }
        c->used = now;
        *is_csv = c->csv != NULL;
        out = malloc(c->meta_len + 1);
        if (out) {
            memcpy(out, c->csv ? c->csv : c->meta, c->meta_len + 1);
            *len = c->meta_len;
        }
        break;
    }
    pthread_mutex_unlock(&hs->lock);
    return out;
}

static void cache_put(fl_http *hs, const char *key, const char *body, size_t len, int is_csv,
                      fl_time ttl)
{
    cache_ent *slot = NULL;

    if (hs->cache == NULL || len > hs->cfg.cache_bytes / 4)
        return;
    pthread_mutex_lock(&hs->lock);
    /* evict least recently used until it fits */
    for (;;) {
        size_t lru = SIZE_MAX, nused = 0;
        slot = NULL;
        for (size_t i = 0; i < hs->ncache; i++) {
            cache_ent *c = &hs->cache[i];
            if (c->key == NULL) {
                if (slot == NULL)
                    slot = c;
                continue;
            }
            nused++;
            if (strcmp(c->key, key) == 0) {
                hs->cache_total -= c->meta_len;
                cache_ent_clear(c);
                slot = c;
                nused--;
                continue;
            }
            if (lru == SIZE_MAX || c->used < hs->cache[lru].used)
                lru = i;
        }
        if (slot != NULL && hs->cache_total + len <= hs->cfg.cache_bytes)
            break;
        if (lru == SIZE_MAX)
            break;
        hs->cache_total -= hs->cache[lru].meta_len;
        cache_ent_clear(&hs->cache[lru]);
    }
    if (slot != NULL && hs->cache_total + len <= hs->cfg.cache_bytes) {
        char *k = strdup(key), *b = malloc(len + 1);
        if (k && b) {
            memcpy(b, body, len);
            b[len] = '\0';
            slot->key = k;
            if (is_csv)
                slot->csv = b;
            else
                slot->meta = b;
            slot->meta_len = len;
            slot->stored = slot->used = fl_time_now();
            slot->ttl = ttl;
            hs->cache_total += len;
        } else {
            free(k);
            free(b);
        }
    }
    pthread_mutex_unlock(&hs->lock);
}

/* How long an answer stays fresh: windows that reach the last two minutes
 * (or have no end) may still grow with live data, so only 10 s. */
static fl_time cache_ttl(const fl_http *hs, const fl_query_spec *s)
{
    fl_time ttl = (fl_time)hs->cfg.cache_ttl_ms;
    if ((s->start == 0 && s->end == 0) || s->end > fl_time_now() - 120000)
        ttl = ttl < 10000 ? ttl : 10000;
    return ttl;
}

/* ------------------------------------------------------------------ */
/* Endpoints                                                           */
/* ------------------------------------------------------------------ */

static char *json_quote(const char *s)
{
    json_t *j = json_string(s);
    char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return out;
}

/* List paging: drop the first `off` rows of the listing. */
static void list_skip(fl_batch *b, uint64_t off)
{
    if (b == NULL)
        return;
    if (off >= b->n) {
        b->n = 0;
        return;
    }
    for (int c = 0; c < FL_COL_COUNT; c++) {
        size_t w = fl_col_get((fl_col)c)->width;
        memmove(b->col[c], (char *)b->col[c] + w * off, w * (b->n - off));
    }
    b->n -= (uint32_t)off;
}

/* Compile q's filter + exporters into sel; 0 or an HTTP status. */
static unsigned compile_select(fl_http *hs, qreq *q, qsel *sel, herr *h)
{
    fl_err e;
    const char *f = q->filter;

    memset(sel, 0, sizeof *sel);
    fl_err_clear(&e);
    while (*f == ' ' || *f == '\t' || *f == '\n' || *f == '\r')
        f++;
    if (*f) {
        size_t lead = (size_t)(f - q->filter);
        if (hs->be.filter_compile == NULL)
            return herr_set(h, 501, "filter_unavailable", "filter", 0,
                            "this backend has no filter support");
        /* the library is created on the first save: until then only a
         * filter that includes something needs it (and is told it is missing) */
        const char *dir = hs->cfg.filters_dir;
        struct stat dst;
        if (dir && stat(dir, &dst) != 0 && !strstr(q->filter, "@include") &&
            !strstr(q->filter, "%filters%"))
            dir = NULL;
        if (hs->be.filter_compile(hs->be.ctx, q->filter, strlen(q->filter), dir, &sel->fn,
                                  &sel->fctx, &e) != FL_OK) {
            long long off = e.offset >= 0 ? e.offset : (long long)lead;
            char in[400] = "";
            if (e.where[0] && strcmp(e.where, "filter") != 0) {
                /* the problem is inside an included saved filter: point at
                 * the include and name the file, line and offset */
                const char *inc = strstr(q->filter, "@include");
                const char *base = strrchr(e.where, '/');
                off = inc ? (long long)(inc - q->filter) : (long long)lead;
                snprintf(in, sizeof in, " (in saved filter '%s', line %ld, offset %lld)",
                         base ? base + 1 : e.where, e.line, e.offset);
            }
            if (e.rc == FL_ELIMIT || e.rc == FL_ENOMEM)
                return herr_set(h, 413, "filter_too_complex", "filter", off, "%s%s", e.msg, in);
            return herr_set(h, 400, "bad_filter", "filter", off, "%s%s", e.msg, in);
        }
    }
    if (q->nexporters) {
        sel->exp_bits = calloc(8192, 1);
        if (sel->exp_bits == NULL)
            return herr_set(h, 503, "memory_limit", NULL, -1, "out of memory");
        for (size_t i = 0; i < q->nexporters; i++)
            sel->exp_bits[q->exporters[i] >> 3] |= (uint8_t)(1u << (q->exporters[i] & 7));
    }
    return 0;
}

fl_rc fl_http_parse_request(const char *body, size_t len, fl_time now, fl_query_spec *spec_out,
                            fl_err *e)
{
    fl_http hs;
    json_t *p;
    json_error_t je;
    qreq q;
    herr h;
    fl_rc rc = FL_OK;

    memset(&hs, 0, sizeof hs);
    fl_http_config_default(&hs.cfg);
    p = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (p == NULL || !json_is_object(p)) {
        json_decref(p);
        return fl_err_at(e, FL_EINVAL, "request", 0, p ? 0 : je.position,
                         "request body is not a JSON object");
    }
    if (parse_query(&hs, p, now, &q, &h) != 0)
        rc = fl_err_at(e, FL_EINVAL, h.param ? h.param : "request", 0, h.offset, "%s: %s",
                       h.code, h.msg);
    else if (spec_out)
        *spec_out = q.spec;
    if (spec_out)
        spec_out->element = NULL;
    qreq_free(&q);
    json_decref(p);
    return rc;
}

static void select_free(fl_http *hs, qsel *sel)
{
    if (sel->fctx && hs->be.filter_free)
        hs->be.filter_free(hs->be.ctx, sel->fctx);
    free(sel->exp_bits);
}

static fl_rc run_rewind(void *ctx, fl_err *e)
{
    run *r = ctx;
    return r->inner.rewind(r->inner.ctx, e);
}

static int run_floor(void *ctx, fl_addr *out)
{
    run *r = ctx;
    return r->inner.order_floor(r->inner.ctx, out);
}

/* 2 when the engine will read src twice (topseries over the window: top
 * keys first, then only their series; see fl_query_run), else 1. */
static unsigned engine_passes(const fl_query_spec *s, const fl_source *src)
{
    return s->op == FL_QOP_TOPSERIES && !s->per_step_top && src->rewind != NULL ? 2 : 1;
}

/*
 * Answer spec from the backend: open a source, run the engine over it
 * through the wrapper (deadline, cancel, scanned count), close. The
 * wrapper keeps the inner source's parallelism, batch size, progress and
 * rewind, so the engine plans exactly as for `flowlens query` over the
 * same backend (one code path: the API and the CLI cannot disagree).
 */
static fl_rc run_query(fl_http *hs, run *r, const fl_query_spec *spec, void *fctx,
                       fl_qresult **res, fl_err *e)
{
    uint64_t cols[FL_PRESENT_WORDS], est = 0;
    fl_source src;
    fl_rc rc;

    fl_query_columns(spec, cols);
    /* the exporter list of the select hook (qsel_fn); the backend adds
     * the filter's own columns */
    if (spec->select != NULL)
        cols[FL_COL_EXPORTER / 64] |= (uint64_t)1 << (FL_COL_EXPORTER % 64);
    memset(&r->inner, 0, sizeof r->inner);
    rc = hs->be.open(hs->be.ctx, spec, cols, fctx, &r->inner, &est, e);
    if (rc != FL_OK) {
        r->open_failed = 1;
        return rc;
    }
    /* the backend applied the filter itself (and did not read its
     * columns): the select hook keeps only the exporter test */
    if (r->inner.filter_applied && spec->select == qsel_fn)
        ((qsel *)spec->select_ctx)->fn = NULL;
    memset(&src, 0, sizeof src);
    src.ctx = r;
    src.next = run_next;
    src.progress = r->inner.progress ? run_progress : NULL;
    src.parallel = r->inner.parallel;
    src.batch_rows = r->inner.batch_rows;
    src.rewind = r->inner.rewind ? run_rewind : NULL;
    src.next_codes = r->inner.next_codes ? run_next_codes : NULL;
    src.order_floor = r->inner.order_floor ? run_floor : NULL;
    src.order_col = r->inner.order_col;
    src.no_clear = r->inner.no_clear;
    r->estimate = est * engine_passes(spec, &src);
    rc = fl_query_run(spec, src, res, e);
    hs->be.close(hs->be.ctx, r->inner.ctx);
    return rc;
}

/*
 * File q's answer under the data version of its window (the backend's
 * data_version): appended to the cache key, so an answer cached before
 * new data landed is never found again. The version is read before the
 * scan: rows that land during it sit in an answer filed under the older
 * version, which later questions no longer ask for. 0, or -1 when the
 * version is unknown (the answer is then neither looked up nor kept).
 */
static int key_add_version(fl_http *hs, qreq *q)
{
    uint64_t v;
    fl_err e;
    char *k;
    size_t n;

    if (hs->be.data_version == NULL)
        return 0;
    fl_err_clear(&e);
    if (hs->be.data_version(hs->be.ctx, &q->spec, &v, &e) != FL_OK) {
        fl_log_warn("http: data version unknown, answer not cached: %s", e.msg);
        return -1;
    }
    n = strlen(q->key) + 32;
    if ((k = malloc(n)) == NULL)
        return -1;
    snprintf(k, n, "%s|data:%016" PRIx64, q->key, v);
    free(q->key);
    q->key = k;
    return 0;
}

static enum MHD_Result ep_query(fl_http *hs, struct MHD_Connection *c, json_t *p)
{
    qreq q;
    qsel sel;
    herr h;
    run r;
    fl_err e;
    fl_qresult *res = NULL;
    char *body = NULL, *meta = NULL, *fq = NULL;
    size_t blen = 0, mlen = 0;
    fl_time t0 = fl_time_now(), now = t0 - t0 % 10000;
    struct timespec c0, c1;
    enum MHD_Result ret;
    int slot = 0, is_csv = 0, cacheable;
    unsigned st;

    clock_gettime(CLOCK_MONOTONIC, &c0);
    memset(&sel, 0, sizeof sel);
    memset(&r, 0, sizeof r);
    fl_err_clear(&e);
    h.status = 0;
    if ((st = parse_query(hs, p, now, &q, &h)) != 0)
        goto out;
    /* cache */
    cacheable = hs->cache != NULL && key_add_version(hs, &q) == 0;
    if (cacheable)
        body = cache_get(hs, q.key, &blen, &is_csv);
    if (body != NULL) {
        atomic_fetch_add(&hs->cache_hits, 1);
        if (is_csv) {
            ret = respond(c, 200, body, blen, "text/csv; charset=utf-8", 1, "X-Flowlens-Cache",
                          "hit");
            body = NULL;
            goto done;
        }
        meta = body;
        mlen = blen;
        body = NULL;
        clock_gettime(CLOCK_MONOTONIC, &c1);
        double ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
        FILE *f = open_memstream(&body, &blen);
        if (f == NULL)
            goto oom;
        fprintf(f, "{\"cached\":true,\"elapsed_ms\":%.3f,%s", ms, meta);
        fclose(f);
        ret = respond(c, 200, body, blen, "application/json", 1, "X-Flowlens-Cache", "hit");
        body = NULL;
        goto done;
    }
    if ((st = compile_select(hs, &q, &sel, &h)) != 0)
        goto out;
    if (sel.fn || sel.exp_bits) {
        q.spec.select = qsel_fn;
        q.spec.select_ctx = &sel;
    }
    if (slot_take(hs) != 0) {
        herr_set(&h, 503, "busy", NULL, -1,
                 "%u queries already running and none finished within %u ms; retry shortly",
                 hs->cfg.max_queries, hs->cfg.queue_wait_ms);
        goto out;
    }
    slot = 1;
    memcpy(r.id, q.id, sizeof r.id);
    r.started = fl_time_now();
    r.deadline = r.started + hs->cfg.time_limit_ms;
    run_register(hs, &r);
    {
        fl_rc rc = run_query(hs, &r, &q.spec, sel.fctx, &res, &e);
        run_unregister(hs, &r);
        if (rc != FL_OK) {
            if (r.open_failed)
                herr_set(&h, 500, "backend", NULL, -1, "cannot open the flow source: %s", e.msg);
            else if (atomic_load(&r.timed_out))
                herr_set(&h, 504, "time_limit", NULL, -1,
                         "the query ran longer than the %u ms limit; narrow the window or filter",
                         hs->cfg.time_limit_ms);
            else if (rc == FL_ECANCELED)
                herr_set(&h, 409, "canceled", NULL, -1, "the query was canceled");
            else if (rc == FL_ELIMIT || rc == FL_ENOMEM)
                herr_set(&h, 503, "memory_limit", NULL, -1, "%s (memory budget %zu MiB)", e.msg,
                         hs->cfg.memory_budget >> 20);
            else if (rc == FL_EINVAL)
                herr_set(&h, 400, "bad_query", NULL, -1, "%s", e.msg);
            else
                herr_set(&h, 500, "query_failed", NULL, -1, "%s: %s", fl_strerror(rc), e.msg);
            goto out;
        }
    }
    if (q.spec.op == FL_QOP_LIST && q.offset)
        list_skip(res->list, q.offset);
    if (q.csv) {
        FILE *f = open_memstream(&body, &blen);
        if (f == NULL)
            goto oom;
        fl_query_render(&q.spec, res, FL_FMT_CSV, FL_RENDER_UTC | FL_RENDER_PLAIN, f, &e);
        fclose(f);
        if (cacheable)
            cache_put(hs, q.key, body, blen, 1, cache_ttl(hs, &q.spec));
        ret = respond(c, 200, body, blen, "text/csv; charset=utf-8", 1, "X-Flowlens-Cache", "miss");
        body = NULL;
        goto done;
    }
    {
        FILE *f = open_memstream(&meta, &mlen);
        char t1[40] = "", t2[40] = "";
        if (f == NULL)
            goto oom;
        fq = json_quote(q.filter);
        if (q.spec.start || q.spec.end) {
            fl_time_format(q.spec.start, FL_TFMT_ISO, 0, t1, sizeof t1);
            fl_time_format(q.spec.end, FL_TFMT_ISO, 0, t2, sizeof t2);
        }
        clock_gettime(CLOCK_MONOTONIC, &c1);
        fprintf(f,
                "\"query_ms\":%.3f,\"op\":\"%s\",\"window\":{\"start\":%" PRId64 ",\"end\":%" PRId64
                ",\"start_iso\":\"%s\",\"end_iso\":\"%s\",\"mode\":\"%s\"},\"step\":%" PRId64
                ",\"filter\":%s,\"scanned\":%" PRIu64 ",\"matched\":%" PRIu64
                ",\"total\":{\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
                "},\"offset\":%" PRIu64 ",\"result\":",
                (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6,
                op_names[q.spec.op], q.spec.start, q.spec.end, t1, t2,
                mode_names[q.spec.window_mode], q.spec.step, fq ? fq : "\"\"", res->scanned,
                res->total.flows, res->total.flows, res->total.packets + res->total.out_packets,
                res->total.bytes + res->total.out_bytes, q.offset);
        fl_query_render(&q.spec, res, FL_FMT_JSON, FL_RENDER_UTC, f, &e);
        fprintf(f, "}");
        if (fclose(f) != 0)
            goto oom;
        /* the engine ends its JSON with a newline; keep it, JSON allows it */
        if (cacheable)
            cache_put(hs, q.key, meta, mlen, 0, cache_ttl(hs, &q.spec));
        clock_gettime(CLOCK_MONOTONIC, &c1);
        f = open_memstream(&body, &blen);
        if (f == NULL)
            goto oom;
        fprintf(f, "{\"cached\":false,\"elapsed_ms\":%.3f,%s",
                (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6,
                meta);
        fclose(f);
        ret = respond(c, 200, body, blen, "application/json", 1, "X-Flowlens-Cache", "miss");
        body = NULL;
        goto done;
    }
oom:
    herr_set(&h, 503, "memory_limit", NULL, -1, "out of memory building the response");
out:
    ret = respond_err(c, &h);
done:
    if (slot)
        slot_give(hs);
    select_free(hs, &sel);
    fl_qresult_free(res);
    qreq_free(&q);
    free(body);
    free(meta);
    free(fq);
    return ret;
}

static enum MHD_Result ep_filter(fl_http *hs, struct MHD_Connection *c, json_t *p)
{
    qreq q;
    qsel sel;
    herr h;
    unsigned st;
    const char *f = p_str(p, "filter");

    memset(&q, 0, sizeof q);
    if (f == NULL)
        return respond_error(c, 400, "missing_filter", "\"filter\": the expression to check");
    if (strlen(f) > FILTER_MAX) {
        herr_set(&h, 413, "filter_too_long", "filter", FILTER_MAX, "filter longer than %d bytes",
                 FILTER_MAX);
        return respond_err(c, &h);
    }
    q.filter = strdup(f);
    if (q.filter == NULL)
        return respond_error(c, 503, "memory_limit", "out of memory");
    st = compile_select(hs, &q, &sel, &h);
    select_free(hs, &sel);
    free(q.filter);
    if (st != 0)
        return respond_err(c, &h);
    return respond_json(c, 200, json_pack("{s:b,s:s}", "valid", 1, "filter", f));
}

/* Sum of the values of the collector's "malformed" object. */
static json_int_t malformed_total(json_t *col)
{
    json_t *m = json_object_get(col, "malformed"), *v;
    const char *k;
    json_int_t t = 0;

    json_object_foreach(m, k, v)
        if (json_is_integer(v) && json_integer_value(v) > 0)
            t = http_sat_add(t, json_integer_value(v));
    return t;
}

static json_int_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/*
 * Derived health of one exporter from its collector statistics: loss in
 * percent of what its sequence numbers count (flows for v5 and IPFIX,
 * export packets for v9 and sFlow), malformed packets, data sets that
 * arrived before their template, queue drops. Adds "malformed_total",
 * "loss_pct" and "health": {"level": ok|warn, "issues": [...]}.
 */
static void add_health(json_t *col)
{
    json_t *issues = json_array();
    json_int_t lost = jint(col, "seq_lost"), bad = malformed_total(col);
    json_int_t miss = jint(col, "missing_template_sets"), qd = jint(col, "queue_drops");
    const char *proto = json_string_value(json_object_get(col, "proto"));
    int per_packet = proto && (strcmp(proto, "netflow9") == 0 || strcmp(proto, "sflow5") == 0);
    json_int_t seen = per_packet ? jint(col, "datagrams") : jint(col, "flows");
    double pct = lost > 0 && seen >= 0 ? 100.0 * (double)lost / ((double)lost + (double)seen) : 0;
    char msg[200];

    json_object_set_new(col, "malformed_total", json_integer(bad));
    json_object_set_new(col, "loss_pct", json_real(pct));
    if (lost > 0) {
        snprintf(msg, sizeof msg, "sequence loss: %" JSON_INTEGER_FORMAT " %s (%.3g%%)", lost,
                 per_packet ? "packets" : "flows", pct);
        json_array_append_new(issues, json_string(msg));
    }
    if (bad > 0) {
        snprintf(msg, sizeof msg, "%" JSON_INTEGER_FORMAT " malformed packets", bad);
        json_array_append_new(issues, json_string(msg));
    }
    if (miss > 0) {
        snprintf(msg, sizeof msg, "%" JSON_INTEGER_FORMAT " data sets without a template", miss);
        json_array_append_new(issues, json_string(msg));
    }
    if (qd > 0) {
        snprintf(msg, sizeof msg, "%" JSON_INTEGER_FORMAT " datagrams dropped in the queue", qd);
        json_array_append_new(issues, json_string(msg));
    }
    json_object_set_new(col, "health",
                        json_pack("{s:s,s:o}", "level", json_array_size(issues) ? "warn" : "ok",
                                  "issues", issues));
}

/*
 * The backend's exporter table merged with the collector's statistics
 * file (read now; missing or broken is reported in "collector", never an
 * error). Statistics whose store id has no exporter in the table yet (an
 * exporter that sent only malformed packets, say) are listed under
 * "unmatched".
 */
static enum MHD_Result ep_exporters(fl_http *hs, struct MHD_Connection *c)
{
    fl_http_exporter *x = calloc(EXPORTERS_MAX, sizeof *x);
    size_t n = 0;
    fl_err e;
    json_t *arr, *server = NULL, *by_store = NULL, *cst, *unmatched, *v;
    const char *k;

    fl_err_clear(&e);
    if (x == NULL)
        return respond_error(c, 503, "memory_limit", "out of memory");
    if (hs->be.exporters == NULL || hs->be.exporters(hs->be.ctx, x, EXPORTERS_MAX, &n, &e) != FL_OK) {
        free(x);
        return respond_error(c, 500, "backend", hs->be.exporters ? e.msg : "no exporter table");
    }
    cst = http_stats_read(hs->cfg.collector_stats, &server, &by_store);
    if (server)
        json_object_update_missing(cst, server);
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char t1[40], t2[40], key[16];
        json_t *o, *ifs = json_array(), *col = NULL;
        fl_time_format(x[i].first_seen, FL_TFMT_ISO, 0, t1, sizeof t1);
        fl_time_format(x[i].last_seen, FL_TFMT_ISO, 0, t2, sizeof t2);
        o = json_pack("{s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:i,s:i}", "id", (json_int_t)x[i].id,
                      "name", x[i].name, "address", x[i].address, "flows",
                      (json_int_t)x[i].flows, "packets", (json_int_t)x[i].packets, "bytes",
                      (json_int_t)x[i].bytes, "first_seen", (json_int_t)x[i].first_seen,
                      "last_seen", (json_int_t)x[i].last_seen, "first_seen_iso", t1,
                      "last_seen_iso", t2, "sampling", (json_int_t)x[i].sampling,
                      "interfaces", (json_int_t)x[i].interfaces);
        for (size_t f = 0; f < x[i].nifs && x[i].ifs; f++)
            json_array_append_new(ifs, json_pack("{s:I,s:s}", "ifindex",
                                                 (json_int_t)x[i].ifs[f].ifindex, "name",
                                                 x[i].ifs[f].name));
        json_object_set_new(o, "interface_names", ifs);
        snprintf(key, sizeof key, "%u", (unsigned)x[i].id);
        if (by_store && (col = json_object_get(by_store, key)) != NULL) {
            add_health(col);
            json_object_set(o, "collector", col);
            json_object_del(by_store, key);
        } else {
            json_object_set_new(o, "collector", json_null());
        }
        json_array_append_new(arr, o);
        free(x[i].ifs);
    }
    free(x);
    unmatched = json_array();
    json_object_foreach(by_store, k, v)
    {
        add_health(v);
        json_array_append(unmatched, v);
    }
    json_decref(by_store);
    json_decref(server);
    return respond_json(c, 200, json_pack("{s:o,s:s,s:o,s:o}", "exporters", arr, "backend",
                                          hs->be.name ? hs->be.name : "", "collector", cst,
                                          "unmatched", unmatched));
}

static json_t *str_array(const char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n || (n == 0 && names[i]); i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static enum MHD_Result ep_capabilities(fl_http *hs, struct MHD_Connection *c)
{
    static const char *const fmts[] = {"json", "csv"};
    fl_select_fn fn = NULL;
    void *fctx = NULL;
    fl_err e;
    int filter_ok = 0;

    fl_err_clear(&e);
    if (hs->be.filter_compile &&
        hs->be.filter_compile(hs->be.ctx, "any", 3, NULL, &fn, &fctx, &e) == FL_OK) {
        filter_ok = 1;
        if (fctx && hs->be.filter_free)
            hs->be.filter_free(hs->be.ctx, fctx);
    }
    json_t *j = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:b,s:s},s:{s:s,s:s,s:s,s:o},"
        "s:{s:I,s:i,s:i,s:I,s:I,s:I,s:i,s:I,s:i}}",
        "version", "1", "backend", hs->be.name ? hs->be.name : "", "ops", str_array(op_names, 6),
        "dimensions", str_array(fl_query_stat_elements(), 0), "metrics",
        str_array(metric_names, 7), "orders", str_array(order_names, 8), "window_modes",
        str_array(mode_names, 4), "formats", str_array(fmts, 2), "filter", "available",
        filter_ok, "message", filter_ok ? "" : e.msg, "time", "storage", "UTC epoch milliseconds",
        "window",
        "\"window\": -1h, now-15m, START..END, START-END (nfdump -t), ISO 8601, epoch s/ms; "
        "or \"start\"/\"end\"; \"all\" for no window",
        "default_mode",
        "inside (nfdump -t: first >= start and last <= end); series use start",
        "series_steps", str_array((const char *const[]){"auto", "60s", "5m", "1h", "1d", NULL}, 0),
        "limits", "max_body", (json_int_t)hs->cfg.max_body, "time_limit_ms",
        (json_int_t)hs->cfg.time_limit_ms, "max_queries", (json_int_t)hs->cfg.max_queries,
        "memory_budget", (json_int_t)hs->cfg.memory_budget, "max_list",
        (json_int_t)hs->cfg.max_list, "max_rows", (json_int_t)hs->cfg.max_rows, "max_steps",
        (json_int_t)SERIES_MAX_BUCKETS, "filter_max", (json_int_t)FILTER_MAX, "max_series",
        (json_int_t)TOPSERIES_MAX);
    if (j == NULL)
        return respond_error(c, 500, "internal", "cannot build capabilities");
    json_object_set_new(j, "saved_filters",
                        json_pack("{s:b,s:s?}", "available", hs->cfg.filters_dir != NULL && filter_ok,
                                  "dir", hs->cfg.filters_dir));
    json_object_set_new(j, "collector_stats", hs->cfg.collector_stats
                                                  ? json_string(hs->cfg.collector_stats)
                                                  : json_null());
    return respond_json(c, 200, j);
}

/*
 * The saved-filter library: GET /api/v1/filters (every name and text),
 * GET|PUT|DELETE /api/v1/filters/NAME. A PUT body is the filter text; it
 * is compiled (with the library, so it may @include others) before it is
 * written, so the library holds only filters that compiled when saved.
 */
static enum MHD_Result ep_filters(fl_http *hs, struct MHD_Connection *c, const char *name,
                                  const char *method, const conn *cn)
{
    const char *dir = hs->cfg.filters_dir;
    herr h;
    fl_err e;

    fl_err_clear(&e);
    if (dir == NULL)
        return respond_error(c, 501, "filters_unavailable",
                             "this server has no filters directory (--filters-dir)");
    if (name == NULL) {
        json_t *j;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            herr_set(&h, 405, "method_not_allowed", NULL, -1,
                     "/api/v1/filters takes GET; save with PUT /api/v1/filters/NAME");
            return respond_err(c, &h);
        }
        j = http_filters_list(dir, FILTER_MAX, &e);
        if (j == NULL)
            return respond_error(c, 500, "filters_io", e.msg);
        return respond_json(c, 200, j);
    }
    if (!http_filter_name_ok(name)) {
        herr_set(&h, 400, "bad_name", "name", -1,
                 "filter name '%.80s': 1-%d letters, digits, '.', '_' or '-', not starting with "
                 "'.'",
                 name, HTTP_FILTER_NAME_MAX);
        return respond_err(c, &h);
    }
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        char *text = NULL;
        size_t len = 0;
        fl_rc rc = http_filter_read(dir, name, FILTER_MAX, &text, &len, &e);
        json_t *j;
        if (rc != FL_OK)
            return respond_error(c, rc == FL_ENOTFOUND ? 404 : rc == FL_ELIMIT ? 413 : 500,
                                 rc == FL_ENOTFOUND  ? "no_such_filter"
                                 : rc == FL_ELIMIT ? "filter_too_long"
                                                   : "filters_io",
                                 e.msg);
        j = json_pack("{s:s,s:s%,s:I}", "name", name, "text", text, len, "bytes", (json_int_t)len);
        free(text);
        if (j == NULL)
            return respond_error(c, 500, "filters_io", "the saved filter is not UTF-8 text");
        return respond_json(c, 200, j);
    }
    if (strcmp(method, "DELETE") == 0) {
        fl_rc rc = http_filter_delete(dir, name, &e);
        if (rc != FL_OK)
            return respond_error(c, rc == FL_ENOTFOUND ? 404 : 500,
                                 rc == FL_ENOTFOUND ? "no_such_filter" : "filters_io", e.msg);
        return respond_json(c, 200, json_pack("{s:s}", "deleted", name));
    }
    if (strcmp(method, "PUT") == 0) {
        qreq q;
        qsel sel;
        unsigned st;
        char path[4200];
        int existed;
        json_t *chk;

        if (cn->len > FILTER_MAX) {
            herr_set(&h, 413, "filter_too_long", "filter", FILTER_MAX,
                     "filter longer than %d bytes", FILTER_MAX);
            return respond_err(c, &h);
        }
        chk = json_stringn(cn->body ? cn->body : "", cn->len);
        if (chk == NULL || memchr(cn->body ? cn->body : "", '\0', cn->len) != NULL) {
            json_decref(chk);
            return respond_error(c, 400, "bad_filter", "the filter must be UTF-8 text");
        }
        json_decref(chk);
        if (http_filters_mkdir(dir, &e) != FL_OK)
            return respond_error(c, 500, "filters_io", e.msg);
        memset(&q, 0, sizeof q);
        q.filter = malloc(cn->len + 1);
        if (q.filter == NULL)
            return respond_error(c, 503, "memory_limit", "out of memory");
        if (cn->len)
            memcpy(q.filter, cn->body, cn->len);
        q.filter[cn->len] = '\0';
        if (q.filter[strspn(q.filter, " \t\r\n")] == '\0') {
            free(q.filter);
            return respond_error(c, 400, "bad_filter",
                                 "empty filter: the request body is the filter text");
        }
        st = compile_select(hs, &q, &sel, &h);
        select_free(hs, &sel);
        free(q.filter);
        if (st != 0)
            return respond_err(c, &h);
        existed = snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path &&
                  access(path, F_OK) == 0;
        if (http_filter_write(dir, name, cn->body ? cn->body : "", cn->len, &e) != FL_OK)
            return respond_error(c, 500, "filters_io", e.msg);
        return respond_json(c, existed ? 200 : 201,
                            json_pack("{s:s,s:I,s:b}", "saved", name, "bytes", (json_int_t)cn->len,
                                      "created", !existed));
    }
    herr_set(&h, 405, "method_not_allowed", NULL, -1,
             "/api/v1/filters/NAME takes GET, PUT or DELETE");
    return respond_err(c, &h);
}

static enum MHD_Result ep_progress(fl_http *hs, struct MHD_Connection *c, json_t *p, int cancel)
{
    const char *id = p_str(p, "id");
    json_t *j = NULL;

    if (id == NULL || *id == '\0')
        return respond_error(c, 400, "missing_id", "\"id\": the id the query was started with");
    pthread_mutex_lock(&hs->lock);
    for (int i = 0; i < RUNS_MAX; i++) {
        run *r = hs->runs[i];
        if (r == NULL || strcmp(r->id, id) != 0)
            continue;
        if (cancel)
            atomic_store(&r->cancel, 1);
        j = json_pack("{s:s,s:b,s:I,s:I,s:I,s:b}", "id", r->id, "running", 1, "scanned",
                      (json_int_t)atomic_load(&r->scanned), "estimate", (json_int_t)r->estimate,
                      "elapsed_ms", (json_int_t)(fl_time_now() - r->started), "cancel_requested",
                      atomic_load(&r->cancel));
        break;
    }
    pthread_mutex_unlock(&hs->lock);
    if (j == NULL)
        return respond_error(c, 404, "no_such_query", "no running query has this id");
    return respond_json(c, 200, j);
}

static enum MHD_Result ep_static(struct MHD_Connection *c, const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (const fl_http_asset *a = fl_http_assets; a->path; a++)
        if (strcmp(a->path, url) == 0) {
            struct MHD_Response *r = MHD_create_response_from_buffer(
                a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
            enum MHD_Result ret;
            if (r == NULL)
                return MHD_NO;
            MHD_add_response_header(r, "Content-Type", a->mime);
            MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
            MHD_add_response_header(r, "Cache-Control", "no-cache");
            MHD_add_response_header(r, "Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data: blob:; "
                                    "style-src 'self' 'unsafe-inline'");
            ret = MHD_queue_response(c, 200, r);
            MHD_destroy_response(r);
            return ret;
        }
    return respond_error(c, 404, "not_found", "no such page");
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    fl_http *hs = cls;
    conn *cn = *con_cls;
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    (void)version;

    if (cn == NULL) {
        cn = calloc(1, sizeof *cn);
        if (cn == NULL)
            return MHD_NO;
        *con_cls = cn;
        /* refuse an announced oversized body before reading it */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > hs->cfg.max_body)
            cn->too_big = 1;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!cn->too_big && cn->len + *upload_size <= hs->cfg.max_body) {
            if (cn->len + *upload_size > cn->cap) {
                size_t ncap = cn->cap ? cn->cap * 2 : 4096;
                while (ncap < cn->len + *upload_size)
                    ncap *= 2;
                if (ncap > hs->cfg.max_body)
                    ncap = hs->cfg.max_body;
                char *nb = realloc(cn->body, ncap);
                if (nb == NULL)
                    return MHD_NO;
                cn->body = nb;
                cn->cap = ncap;
            }
            memcpy(cn->body + cn->len, upload, *upload_size);
            cn->len += *upload_size;
        } else {
            cn->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&hs->requests, 1);
    if (cn->too_big) {
        herr h;
        herr_set(&h, 413, "request_too_large", NULL, -1,
                 "request body larger than %zu bytes", hs->cfg.max_body);
        return respond_err(c, &h);
    }
    if (strncmp(url, "/api/", 5) != 0) {
        if (!get)
            return respond_error(c, 405, "method_not_allowed", "pages are read with GET");
        return ep_static(c, url);
    }
    if (strncmp(url, "/api/v1/", 8) != 0)
        return respond_error(c, 404, "not_found", "unknown API version; use /api/v1/");
    url += 8;
    if (strcmp(url, "filters") == 0 || strncmp(url, "filters/", 8) == 0)
        return ep_filters(hs, c, url[7] == '/' ? url + 8 : NULL, method, cn);
    {
        static const struct {
            const char *name;
            int post_ok, get_ok;
        } eps[] = {{"query", 1, 1},        {"filter", 1, 1},   {"exporters", 0, 1},
                   {"capabilities", 0, 1}, {"progress", 1, 1}, {"cancel", 1, 0}};
        int k;
        for (k = 0; k < 6; k++)
            if (strcmp(url, eps[k].name) == 0)
                break;
        if (k == 6) {
            herr h;
            herr_set(&h, 404, "not_found", NULL, -1,
                     "no endpoint /api/v1/%.100s (query, filter, filters, exporters, "
                     "capabilities, progress, cancel)",
                     url);
            return respond_err(c, &h);
        }
        if ((get && !eps[k].get_ok) || (post && !eps[k].post_ok) || (!get && !post)) {
            herr h;
            herr_set(&h, 405, "method_not_allowed", NULL, -1, "/api/v1/%s takes %s", eps[k].name,
                     eps[k].post_ok && eps[k].get_ok ? "GET or POST" : eps[k].post_ok ? "POST" : "GET");
            return respond_err(c, &h);
        }
        if (k == 2)
            return ep_exporters(hs, c);
        if (k == 3)
            return ep_capabilities(hs, c);
        herr h;
        json_t *p = params_of(c, cn, &h);
        enum MHD_Result ret;
        if (p == NULL)
            return respond_err(c, &h);
        if (k == 0)
            ret = ep_query(hs, c, p);
        else if (k == 1)
            ret = ep_filter(hs, c, p);
        else
            ret = ep_progress(hs, c, p, k == 5);
        json_decref(p);
        return ret;
    }
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    conn *cn = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (cn) {
        free(cn->body);
        free(cn);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

void fl_http_config_default(fl_http_config *c)
{
    memset(c, 0, sizeof *c);
    c->addr = "127.0.0.1";
    c->port = 8080;
    c->max_body = 64 * 1024;
    c->max_queries = 1;
    c->queue_wait_ms = 10000;
    c->time_limit_ms = 30000;
    c->memory_budget = (size_t)512 << 20;
    c->cache_entries = 64;
    c->cache_bytes = (size_t)64 << 20;
    c->cache_ttl_ms = 60000;
    c->max_list = 10000;
    c->max_rows = 100000;
}

fl_rc fl_http_start(const fl_http_config *cfg, const fl_http_backend *be, fl_http **out, fl_err *e)
{
    fl_http *hs;
    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;

    *out = NULL;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (inet_pton(AF_INET, cfg->addr, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons(cfg->port);
        sa = (const struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, cfg->addr, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons(cfg->port);
        sa = (const struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        return fl_err_set(e, FL_EINVAL, "http address '%s' is not an IPv4 or IPv6 address",
                          cfg->addr);
    }
    if (be == NULL || be->open == NULL || be->close == NULL)
        return fl_err_set(e, FL_EINVAL, "http: backend lacks open/close");
    hs = calloc(1, sizeof *hs);
    if (hs == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory");
    hs->cfg = *cfg;
    if (hs->cfg.max_queries == 0)
        hs->cfg.max_queries = 1;
    if (hs->cfg.max_body == 0)
        hs->cfg.max_body = 64 * 1024;
    if (hs->cfg.max_list == 0)
        hs->cfg.max_list = 10000;
    if (hs->cfg.max_rows == 0)
        hs->cfg.max_rows = 100000;
    hs->be = *be;
    /* own copies of the paths: the caller's strings need not outlive this */
    hs->cfg.filters_dir = hs->filters_dir = cfg->filters_dir ? strdup(cfg->filters_dir) : NULL;
    hs->cfg.collector_stats = hs->stats_path =
        cfg->collector_stats ? strdup(cfg->collector_stats) : NULL;
    pthread_mutex_init(&hs->lock, NULL);
    pthread_cond_init(&hs->slot_cv, NULL);
    if (hs->cfg.cache_entries) {
        hs->cache = calloc(hs->cfg.cache_entries, sizeof *hs->cache);
        hs->ncache = hs->cache ? hs->cfg.cache_entries : 0;
    }
    if ((cfg->tls_cert_pem == NULL) != (cfg->tls_key_pem == NULL)) {
        fl_http_stop(hs);
        return fl_err_set(e, FL_EINVAL, "TLS needs both a certificate and a key");
    }
    if (cfg->tls_cert_pem) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fl_http_stop(hs);
            return fl_err_set(e, FL_EUNSUPPORTED, "this libmicrohttpd has no TLS support");
        }
        hs->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handler, hs,
                                 MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_NOTIFY_COMPLETED, completed,
                                 hs, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                                 MHD_OPTION_HTTPS_MEM_KEY, cfg->tls_key_pem,
                                 MHD_OPTION_HTTPS_MEM_CERT, cfg->tls_cert_pem, MHD_OPTION_END);
    } else {
        hs->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, hs, MHD_OPTION_SOCK_ADDR, sa,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, hs,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                                 MHD_OPTION_END);
    }
    if (hs->d == NULL) {
        fl_http_stop(hs);
        return fl_err_set(e, FL_EIO, "cannot listen on %s port %u (in use, not an address "
                                     "of this host, or a bad TLS certificate/key)",
                          cfg->addr, (unsigned)cfg->port);
    }
    {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(hs->d, MHD_DAEMON_INFO_BIND_PORT);
        hs->port = di ? di->port : cfg->port;
    }
    *out = hs;
    return FL_OK;
}

uint16_t fl_http_port(const fl_http *h)
{
    return h->port;
}

void fl_http_stop(fl_http *hs)
{
    if (hs == NULL)
        return;
    if (hs->d)
        MHD_stop_daemon(hs->d);
    for (size_t i = 0; i < hs->ncache; i++)
        cache_ent_clear(&hs->cache[i]);
    free(hs->cache);
    free(hs->filters_dir);
    free(hs->stats_path);
    pthread_mutex_destroy(&hs->lock);
    pthread_cond_destroy(&hs->slot_cv);
    free(hs);
}
