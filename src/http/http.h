/*
 * http/http.h — `flowlens serve`'s HTTP server: the JSON API under
 * /api/v1/ and the web UI built into the binary.
 *
 * The server knows nothing about where flows live. Its caller injects a
 * backend: a table of callbacks that open a source of batches for a time
 * window, compile a filter, and list exporters. `flowlens serve` wires the
 * store and the filter module in; until those land it uses the in-memory
 * demo backend below (generated history held as batches). Every request is
 * answered by the query engine (query/query.h) over that source, so the API
 * and `flowlens query` run the same spec and cannot disagree.
 *
 * Limits are part of the contract: request body size, concurrent queries,
 * query wall time and the engine's memory budget are bounded, and each hit
 * returns a JSON error {"error":{"code","message",...}} with a fitting
 * status (400 bad input, 404, 405, 409 canceled, 413 too large, 501 filter
 * unavailable, 503 busy / memory, 504 time limit). No request ever runs a
 * shell command.
 */
#ifndef FL_HTTP_H
#define FL_HTTP_H

#include "core/core.h"
#include "query/query.h"

/* One interface of an exporter: an ifindex seen in its flows (or its
 * counters), and its name when the exporter told one ("" otherwise). */
typedef struct fl_http_iface {
    uint32_t ifindex;
    char name[64];
} fl_http_iface;

/* One exporter as the API lists it. */
typedef struct fl_http_exporter {
    uint16_t id;
    char name[64];
    char address[FL_ADDR_STRLEN];
    uint64_t flows, packets, bytes;
    fl_time first_seen, last_seen;
    uint32_t sampling;   /* 1 = unsampled, 0 = unknown */
    uint32_t interfaces; /* distinct interfaces seen */
    /* Optional: the interfaces, malloc'd by the backend (NULL = not
     * known); the server frees it with free() after answering. */
    fl_http_iface *ifs;
    size_t nifs;
} fl_http_exporter;

/*
 * The backend cmd_serve provides. Callbacks may be called from several
 * request threads at once; they must be thread-safe.
 */
typedef struct fl_http_backend {
    void *ctx;
    /*
     * Open a source over the flows that may fall in spec's window
     * (start == end == 0: everything; window_mode says which flows count).
     * The source may yield flows outside the window (the engine applies
     * the window exactly). cols: the columns the query reads
     * (FL_PRESENT_WORDS words: fl_query_columns plus the exporter column);
     * other columns may be left unfilled. fctx: the query's compiled
     * filter (from filter_compile) or NULL, so the backend can add the
     * filter's columns and push its ranges down. *estimate: flows the
     * source will yield, for progress (0 if unknown). The server calls
     * close(ctx, src->ctx) when the query is done, also after an error.
     */
    fl_rc (*open)(void *ctx, const fl_query_spec *spec, const uint64_t *cols, void *fctx,
                  fl_source *src, uint64_t *estimate, fl_err *e);
    void (*close)(void *ctx, void *src_ctx);
    /*
     * Compile an nfdump-syntax filter (text[0..len), never empty) into a
     * select function and its context (freed with filter_free). filters_dir
     * (may be NULL) is where `@include NAME` reads saved filters. On error,
     * e->offset is the byte offset of the problem in text (-1 if unknown);
     * e->where names the source ("filter" or an included file).
     */
    fl_rc (*filter_compile)(void *ctx, const char *text, size_t len, const char *filters_dir,
                            fl_select_fn *fn, void **fctx, fl_err *e);
    void (*filter_free)(void *ctx, void *fctx);
    /* Fill up to max exporters; *n = how many. */
    fl_rc (*exporters)(void *ctx, fl_http_exporter *out, size_t max, size_t *n, fl_err *e);
    /* Free-form name of the backend for /api/v1/capabilities ("demo", "store"). */
    const char *name;
    /*
     * Optional: the version of the data a query over spec's window reads.
     * Any change that can change an answer (new rows, a published,
     * rewritten or expired segment, an exporter's name or sampling) gives
     * another number. Answers are cached under it, so a cached answer is
     * never served once new data has landed. An error means "do not
     * cache this one". NULL: answers are cached by time-to-live alone.
     */
    fl_rc (*data_version)(void *ctx, const fl_query_spec *spec, uint64_t *version, fl_err *e);
} fl_http_backend;

typedef struct fl_http_config {
    const char *addr;          /* "127.0.0.1" (default), "::1", "0.0.0.0" */
    uint16_t port;             /* 0 = pick a free port (see fl_http_port) */
    size_t max_body;           /* request body bytes; default 64 KiB */
    unsigned max_queries;      /* queries run at once; default 1 */
    unsigned queue_wait_ms;    /* wait for a query slot before 503; default 10000 */
    unsigned time_limit_ms;    /* wall time of one query; default 30000 */
    size_t memory_budget;      /* engine memory per query; default 512 MiB */
    unsigned threads;          /* engine threads; 0 = all cores */
    size_t cache_entries;      /* result cache entries; default 64, 0 disables */
    size_t cache_bytes;        /* result cache total bytes; default 64 MiB */
    unsigned cache_ttl_ms;     /* default 60000 */
    uint64_t max_list;         /* flows one listing may return; default 10000 */
    uint64_t max_rows;         /* rows one stats/aggregate may return; default 100000 */
    const char *tls_cert_pem;  /* serve HTTPS with this certificate (PEM text) ... */
    const char *tls_key_pem;   /* ... and key; both NULL = plain HTTP */
    /* The saved-filter library (/api/v1/filters, `@include NAME`): one file
     * per filter, created on the first save. NULL: no library (501). */
    const char *filters_dir;
    /* The collector's statistics file (STORE/collector-stats.jsonl), read
     * by /api/v1/exporters at request time. NULL: no collector. */
    const char *collector_stats;
} fl_http_config;

typedef struct fl_http fl_http;

void fl_http_config_default(fl_http_config *c);

/* Start serving on its own threads. The backend is borrowed and must
 * outlive the server. Errors: FL_EINVAL bad address, FL_EIO cannot bind. */
fl_rc fl_http_start(const fl_http_config *c, const fl_http_backend *be, fl_http **out, fl_err *e);
/* The port actually bound (useful with port 0). */
uint16_t fl_http_port(const fl_http *h);
/* Stop serving and free. Accepts NULL. */
void fl_http_stop(fl_http *h);

/*
 * Parse a /api/v1/query request body (JSON) exactly as the server does,
 * without running it: FL_OK with *spec_out (optional) filled, or FL_EINVAL
 * with the API's message in e. Strings in *spec_out do not outlive the call.
 * Relative windows resolve against `now`. For the fuzz target and tests.
 */
fl_rc fl_http_parse_request(const char *body, size_t len, fl_time now, fl_query_spec *spec_out,
                            fl_err *e);

/* ------------------------------------------------------------------ */
/* The demo backend (until the store lands; also used by tests)        */
/* ------------------------------------------------------------------ */

/*
 * Generated history held in memory: `flows` flows from src/gen over
 * [end - span, end), seed `seed`, kept as batches in time order. The same
 * arguments always give the same flows. Its filter hook is a TEMPORARY
 * placeholder until the filter module lands: it accepts only the empty
 * filter and answers anything else with FL_EUNSUPPORTED "filter module not
 * built yet".
 */
typedef struct fl_http_demo fl_http_demo;
fl_rc fl_http_demo_new(uint64_t flows, fl_time end, fl_time span, uint64_t seed,
                       fl_http_demo **out, fl_err *e);
void fl_http_demo_free(fl_http_demo *d);
/* Live traffic: from now on, every interval_ms (0 = 5000) a thread appends
 * the flows since the last tick at the history's average rate (the demo's
 * "plus live traffic"). Stopped by fl_http_demo_free. */
fl_rc fl_http_demo_live(fl_http_demo *d, unsigned interval_ms, fl_err *e);
/* The callback table over d (valid while d lives). */
fl_http_backend fl_http_demo_backend(fl_http_demo *d);

#endif
