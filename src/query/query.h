/*
 * query/query.h — the query engine: one query spec, any backend.
 *
 * A query is a spec (window, filter, operation and its parameters) run
 * over a source of fl_batches (the store, nfdump files, ClickHouse later).
 * The engine scans batches on a pool of threads, applies the window and
 * the filter through a selection vector, aggregates into one hash table
 * partitioned by hash with a lock per partition (or per-thread arrays for
 * small integer keys), and returns a result the renderers print as
 * nfdump-style tables, CSV or JSON. The CLI and the HTTP API build the
 * same spec, so they cannot disagree.
 *
 * Semantics that follow nfdump (and are tested against it):
 *   - `stats` (-s): one row per distinct element value; dual elements
 *     (ip, port, as, if, vlan, mask, ...) count a flow under both values.
 *     Ordered by flows (default), packets, bytes, pps, bps or bpp;
 *     packets/bytes include the reverse direction (out_*) except for the
 *     flows order, which reports input counters only — as nfdump does.
 *   - `aggregate` (-A): one row per distinct combination of the fields.
 *   - the nfdump `-t` window keeps flows that lie entirely inside it
 *     (first >= start and last <= end); other modes are selectable.
 *   - ties in any ordering are broken by the key, ascending; nfdump leaves
 *     ties in hash order, so differential tests compare tied rows as sets.
 */
#ifndef FL_QUERY_H
#define FL_QUERY_H

#include "core/core.h"

#include <stdio.h>

/* ------------------------------------------------------------------ */
/* Sources (backends)                                                  */
/* ------------------------------------------------------------------ */

/*
 * A backend yields batches. next() fills b (which the engine clears
 * before each call) and returns FL_OK; b->n == 0 means the end. Unless the
 * source sets `parallel`, the engine serializes calls to next(), so a
 * backend need not be thread-safe.
 * A non-fatal problem (a corrupt chunk, a missing file) should be logged by
 * the backend and skipped, not returned.
 */
/*
 * A column a source may hand as dictionary codes with a batch (see
 * fl_source.next_codes): ndict > 0 when it did — dict[0..ndict) holds the
 * distinct values of the column in the batch (integers in .lo, .hi 0) and
 * codes[r] the entry of row r; the batch holds the values too. codes and
 * dict are the engine's arrays of batch_rows entries.
 */
typedef struct fl_qcodes {
    fl_col col;
    uint32_t ndict;
    uint16_t *codes;
    fl_addr *dict;
    int no_values; /* the source may leave the column's values out where it
                      gives codes (the engine builds them if it must) */
} fl_qcodes;
#define FL_QCODES_MAX 2

typedef struct fl_source {
    void *ctx;
    fl_rc (*next)(void *ctx, fl_batch *b, fl_err *e);
    /* optional: fraction of the input consumed so far, 0..1 */
    double (*progress)(void *ctx);
    /* 1 when next() may be called from several threads at once (each with
     * its own batch); the engine then calls it without its lock */
    int parallel;
    /* optional: rows of the batches the engine hands to next() (0 =
     * FL_BATCH_CAP); a source that decodes in large groups (the store's
     * row groups) asks for their size and decodes straight into them */
    uint32_t batch_rows;
    /* optional: start again from the first batch (no next() call may be
     * running). Lets the engine answer in two passes where that is much
     * cheaper (topseries with N over the window: top keys first, then
     * only their series) */
    fl_rc (*rewind)(void *ctx, fl_err *e);
    /* optional: next() that also hands up to FL_QCODES_MAX columns as
     * dictionary codes where the backend stores them so (the store's
     * dictionary-coded row groups), setting each cd[i].ndict (0 = not
     * this time). Same threading as next(). Lets `-s` count rows per
     * code in a small array and fold each distinct value once per batch
     * instead of probing the hash table once per row */
    fl_rc (*next_codes)(void *ctx, fl_batch *b, fl_qcodes *cd, unsigned ncd, fl_err *e);
    /* set by a backend that applies the question's filter exactly itself
     * (the store, for host/net/ip-list filters): the caller's select hook
     * need not evaluate that filter again, and the filter's columns are
     * not read (the engine itself does not look at this) */
    int filter_applied;
    /* optional: a listing in time order with -c needs no row whose
     * time_first is past t any more (its -c earliest rows so far end at
     * t); the source may stop producing such rows (the store skips
     * segments and row groups that start later). Called from any engine
     * thread, with t only ever lower. */
    void (*time_bound)(void *ctx, fl_time t);
    /* optional: a source whose batches come in ascending order of
     * address column order_col (the store reading its by-address copies
     * in address order, for a question fl_query_order_col names). *out
     * gets an address (stored form) that every row of a batch next()
     * fills after this call has at least; returns 0 when the source is
     * not ordered after all. The engine then sets aside, as it goes, the
     * keys no later row can add to — its table stays a small window of
     * addresses instead of holding every key at once. Thread-safe. */
    int (*order_floor)(void *ctx, fl_addr *out);
    fl_col order_col;
    /* set by a source whose next() writes every column it marks present
     * over all the rows it fills, and zeroes the other columns already
     * marked there (the store's scan): the engine then hands it the last
     * batch back with only its row count reset, instead of clearing every
     * column first (up to 5% of a scan's CPU) */
    int no_clear;
} fl_source;

/* A source over batches held in memory (tests, small tools). The batches
 * are borrowed, not copied. */
typedef struct fl_mem_source {
    fl_batch **batches;
    size_t n, pos;
    const uint64_t *cols; /* columns to copy (FL_PRESENT_WORDS); NULL = all */
} fl_mem_source;
fl_source fl_mem_source_init(fl_mem_source *m, fl_batch **batches, size_t n);

/*
 * The filter hook: narrow `sel` (ascending row indexes of b) in place to
 * the rows that match. The filter module's compiled filters plug in here;
 * NULL means every row matches. Must be safe to call from several threads
 * at once with different batches.
 */
typedef fl_rc (*fl_select_fn)(void *ctx, const fl_batch *b, fl_sel *sel, fl_err *e);

/* ------------------------------------------------------------------ */
/* Spec                                                                */
/* ------------------------------------------------------------------ */

typedef enum fl_qop {
    FL_QOP_LIST,
    FL_QOP_STATS,
    FL_QOP_AGGREGATE,
    FL_QOP_SUMMARY,
    FL_QOP_SERIES,
    FL_QOP_TOPSERIES
} fl_qop;

typedef enum fl_order {
    FL_ORDER_FLOWS,
    FL_ORDER_PACKETS,
    FL_ORDER_BYTES,
    FL_ORDER_PPS,
    FL_ORDER_BPS,
    FL_ORDER_BPP,
    FL_ORDER_TSTART,
    FL_ORDER_TEND,
    FL_ORDER_NONE
} fl_order;

typedef enum fl_window_mode {
    FL_WIN_INSIDE,  /* first >= start && last <= end (nfdump -t) */
    FL_WIN_START,   /* start <= first < end */
    FL_WIN_END,     /* start <= last < end */
    FL_WIN_OVERLAP  /* first < end && last >= start */
} fl_window_mode;

typedef enum fl_metric {
    FL_METRIC_FLOWS,
    FL_METRIC_PACKETS,
    FL_METRIC_BYTES,
    FL_METRIC_PPS,
    FL_METRIC_BPS,
    FL_METRIC_FPS,
    FL_METRIC_BPP
} fl_metric;

#define FL_QUERY_MAX_KEYS 8

/* One key field of a stats element or an aggregation. */
typedef struct fl_qfield {
    fl_col col[2];   /* col[1] valid when ncols == 2 (dual elements) */
    uint8_t ncols;
    uint8_t prefix;  /* address prefix length in the family's terms; 0 = whole */
    uint8_t v6;      /* for prefix: 1 when the prefix applies to IPv6 only, 0 IPv4 only */
    uint8_t has_prefix;
} fl_qfield;

typedef struct fl_query_spec {
    fl_qop op;
    /* window; start == end == 0 means no window */
    fl_time start, end;
    fl_window_mode window_mode;
    /* filter hook */
    fl_select_fn select;
    void *select_ctx;
    int no_scale;        /* report raw counters instead of sampling-scaled */
    /* stats: one element; aggregate: nkeys fields */
    const char *element; /* name as given, for headers ("srcip", "dstip4/24") */
    fl_qfield keys[FL_QUERY_MAX_KEYS];
    unsigned nkeys;
    int per_proto;       /* stats ":p": split by protocol too */
    fl_order order;
    int ascending;
    uint64_t top;        /* rows to return; 0 = all */
    uint64_t limit;      /* list: -c */
    /* series / topseries */
    fl_time step;
    fl_metric metric;
    int linear;          /* spread a flow over its duration (FlowViewer linear) */
    int per_step_top;    /* topseries: top-N per step (FlowGraph) vs over window */
    /* post-aggregation filter (stats, aggregate): keep rows whose
     * having_metric compares to having_value by having_op ('<' '>' '=') */
    fl_order having_metric;
    char having_op;      /* 0 = no post-aggregation filter */
    uint64_t having_value;
    /* list with FL_FMT_NFDUMP: the -o argument (see fl_query_fmt_parse),
     * and for nfdump's closing lines the span of the source's flows
     * ("Time window:", clipped to start/end; 0 = unknown) and the bytes
     * the source read ("Bytes read:") */
    const char *format;
    fl_time span_first, span_last;
    uint64_t bytes_read;
    /* the address of an exporter (EXPORTER column) for %ra; NULL or an
     * unknown exporter prints 0.0.0.0 */
    fl_addr (*exporter_addr)(void *ctx, uint16_t exporter);
    void *exporter_ctx;
    /* execution */
    unsigned threads;    /* 0 = number of CPUs */
    size_t memory_budget; /* bytes for aggregation tables together; 0 = 1 GiB */
    /* called after each batch with the source's progress (0..1) when the
     * source reports it; from scanning threads, one call at a time */
    void (*on_progress)(void *ctx, double fraction);
    void *progress_ctx;
    /* set to non-zero from any thread to stop the query: it returns
     * FL_ECANCELED */
    volatile int *cancel;
} fl_query_spec;

void fl_query_spec_init(fl_query_spec *s);

/* The columns the engine reads to answer spec, as a bit set over fl_col
 * (FL_PRESENT_WORDS words). Backends decode only these (plus the filter's
 * columns, which the caller adds). */
void fl_query_columns(const fl_query_spec *s, uint64_t mask[FL_PRESENT_WORDS]);
/* The address column (FL_COL_SRC_ADDR or FL_COL_DST_ADDR) a source
 * ordered by it (fl_source.order_floor) lets this question run in a small
 * table: an aggregation with it as a key (whole addresses) and a top N
 * (-n). -1 for any other question. */
int fl_query_order_col(const fl_query_spec *s);
/* The address column (FL_COL_SRC_ADDR or FL_COL_DST_ADDR) whose per-block
 * sums (fl_store_scan_sums: rows standing for several flows, through the
 * flows column) answer this question as its rows would: statistics of
 * that one address element (or a network of it), no filter. -1 for any
 * other question. */
int fl_query_sums_col(const fl_query_spec *s);
/* Whether this question reads nothing of a flow but its protocol,
 * exporter, times and counters (a summary; statistics of the protocol or
 * the exporter), so the store's sums by protocol can answer it. The
 * filter is not looked at: the caller knows whether the scan applies it. */
int fl_query_host_sums_ok(const fl_query_spec *s);

/*
 * Parse an nfdump `-s` argument "element[:p][/order[/order...]]" into
 * spec (op, keys, element, per_proto, order). Only the first order is used.
 * Errors name the unknown element or order.
 */
fl_rc fl_query_parse_stat(fl_query_spec *s, const char *arg, fl_err *e);
/* Parse an nfdump `-A` list "srcip,dstport,srcip4/24,..." into keys. */
fl_rc fl_query_parse_aggregate(fl_query_spec *s, const char *arg, fl_err *e);
/* Parse a post-aggregation filter "bytes>1000000", "flows=1", "bpp<100"
 * into spec's having_* fields. */
fl_rc fl_query_parse_having(fl_query_spec *s, const char *arg, fl_err *e);
/* Parse an order name: flows packets bytes pps bps bpp tstart tend. */
fl_rc fl_query_parse_order(const char *name, fl_order *o, fl_err *e);
fl_rc fl_query_parse_metric(const char *name, fl_metric *m, fl_err *e);
/* The stats elements the engine knows, NULL-terminated (for help/API). */
const char *const *fl_query_stat_elements(void);

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

typedef struct fl_qcounters {
    uint64_t flows, packets, bytes, out_packets, out_bytes;
    fl_time first, last;
    uint8_t tcp_flags; /* OR of all flows */
} fl_qcounters;

typedef struct fl_qrow {
    fl_addr key[FL_QUERY_MAX_KEYS];
    uint8_t proto; /* stats ":p" */
    fl_qcounters c;
} fl_qrow;

typedef struct fl_qresult {
    fl_qop op;
    fl_qcounters total;   /* every flow that passed window and filter */
    uint64_t scanned;     /* flows read from the source */
    uint64_t proto_flows[4], proto_packets[4], proto_bytes[4]; /* tcp udp icmp other */
    /* stats / aggregate: rows in order; list: flows */
    fl_qrow *rows;
    size_t nrows;
    uint64_t distinct;    /* distinct keys before top-N */
    uint64_t drained;     /* ... of them let go of as an ordered source
                             passed them (fl_source.order_floor) */
    fl_batch *list;       /* list: the selected flows in order */
    /* series: nbuckets values of each series; topseries: nseries keys
     * (the last one "Other" when other != 0) */
    fl_time series_start, step;
    size_t nbuckets, nseries;
    double *values;       /* nseries * nbuckets, row-major */
    fl_addr *series_keys; /* nseries */
    int has_other;
} fl_qresult;

/*
 * Run spec over src. On success *out is a result the caller frees with
 * fl_qresult_free. Errors: FL_ELIMIT when the memory budget is exceeded
 * (message names the budget), errors from the source or filter as they
 * come, FL_EINVAL for an inconsistent spec.
 */
fl_rc fl_query_run(const fl_query_spec *spec, fl_source src, fl_qresult **out, fl_err *e);
void fl_qresult_free(fl_qresult *r);

/* Order value of a row as nfdump computes it (integer pps/bps over ms). */
uint64_t fl_qrow_order_value(const fl_qcounters *c, fl_order o);

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

typedef enum fl_render_fmt {
    FL_FMT_TABLE, /* nfdump's plain text */
    FL_FMT_CSV,   /* nfdump's -o csv */
    FL_FMT_JSON,
    FL_FMT_NDJSON,
    FL_FMT_NFDUMP /* listings: nfdump's -o line/long/extended/fmt:, spec->format */
} fl_render_fmt;

enum {
    FL_RENDER_PLAIN = 1, /* -N: no k/M/G scaling */
    FL_RENDER_QUIET = 2, /* -q: no header, no summary */
    FL_RENDER_UTC = 4,   /* print times in UTC (default local, like nfdump) */
    FL_RENDER_LONGV6 = 8 /* -6: IPv6 addresses in full in text listings */
};

/*
 * nfdump's text listings (format.c). spec is "line", "long", "extended",
 * "biline", "bilong" (each optionally ending in "6" for full IPv6
 * addresses, as nfdump's "line6") or "fmt:%ts %td ..." with nfdump 1.7.1's
 * tags. flags: FL_RENDER_PLAIN (-N), FL_RENDER_LONGV6 (-6). Errors: an
 * unknown tag (FL_EPARSE) or one for data flowlens does not keep
 * (FL_EUNSUPPORTED), e naming the tag and its 1-based position (e->offset
 * holds the 0-based one). The caller frees *out with fl_query_fmt_free.
 */
typedef struct fl_query_fmt fl_query_fmt;
fl_rc fl_query_fmt_parse(const char *spec, int flags, fl_query_fmt **out, fl_err *e);
void fl_query_fmt_free(fl_query_fmt *f);
/* nfdump's header line for the format (no newline). */
const char *fl_query_fmt_header(const fl_query_fmt *f);
/* %fl of row r is flows[r] (aggregated records); NULL (default) = 1.
 * The array is borrowed until the next call. */
void fl_query_fmt_set_flows(fl_query_fmt *f, const uint64_t *flows);
/* Where %ra finds exporter addresses (default: none, 0.0.0.0). */
void fl_query_fmt_set_exporters(fl_query_fmt *f, fl_addr (*addr)(void *ctx, uint16_t exporter),
                                void *ctx);
/* Print row r of b (which holds every column the format reads) and '\n'. */
void fl_query_fmt_row(const fl_query_fmt *f, const fl_batch *b, uint32_t r, FILE *o);

/* Print r for spec to f. */
fl_rc fl_query_render(const fl_query_spec *spec, const fl_qresult *r, fl_render_fmt fmt,
                      int flags, FILE *f, fl_err *e);

#endif
