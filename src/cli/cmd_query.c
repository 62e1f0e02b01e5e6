/*
 * cli/cmd_query.c — `flowlens query` over nfcapd files.
 *
 * The nfdump reader is the backend: -r FILE|DIR, -R range, -M dirs select
 * the files (missing, empty or corrupt ones are warned about on stderr and
 * skipped). A plain listing streams batch by batch: `-o csv` prints exactly
 * what nfdump's `-o csv` prints (header, rows, closing summary; -q leaves
 * out header and summary) so listings diff against nfdump, `-o json` a JSON array keyed by flowlens column
 * names, `-o null` reads and discards (timing). Everything else (-s, -A,
 * -a, -t, -O, --summary, series, nfdump's text formats line/long/extended/
 * fmt:, filters) runs through the query engine with the selection as its
 * source. Without -r/-R/-M the embedded store (--store, default
 * ./var/store) is the source. Text listings end with nfdump's closing
 * lines, whose time window and byte count come from the files or store
 * read (files_span, store_span).
 */
#include "cli.h"
#include "cache/cache.h"
#include "filter/filter.h"
#include "nfdump/nfdump.h"
#include "query/query.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct qwarn {
    unsigned long n;
} qwarn;

static void on_warn(void *ctx, const fl_err *w)
{
    qwarn *q = ctx;
    char buf[900];
    fl_err_format(w, buf, sizeof buf);
    fprintf(stderr, "flowlens query: warning: %s\n", buf);
    q->n++;
}

static void json_row(FILE *out, const fl_batch *b, uint32_t r, int first)
{
    fputs(first ? "" : ",\n", out);
    fl_batch_write_json(b, r, out);
}

/* nfdump's closing csv summary over the listed flows (its PrintSummary) */
typedef struct qsum {
    uint64_t flows, bytes, packets;
    fl_time first, last;
} qsum;

static void sum_rows(qsum *q, const fl_batch *b, uint32_t from, uint32_t to)
{
    for (uint32_t r = from; r < to; r++) {
        fl_time t0 = FL_TIMES(b, FL_COL_TIME_FIRST)[r], t1 = FL_TIMES(b, FL_COL_TIME_LAST)[r];
        uint64_t fw = FL_U64(b, FL_COL_FLOWS)[r];
        q->flows += fw ? fw : 1; /* an aggregated record's flows */
        q->bytes += FL_U64(b, FL_COL_BYTES)[r] + FL_U64(b, FL_COL_OUT_BYTES)[r];
        q->packets += FL_U64(b, FL_COL_PACKETS)[r] + FL_U64(b, FL_COL_OUT_PACKETS)[r];
        if (t0 < q->first)
            q->first = t0;
        if (t1 > q->last)
            q->last = t1;
    }
}

static void print_summary(const qsum *q)
{
    uint64_t bps = 0, pps = 0, bpp = 0;
    double duration = q->last != 0 ? (double)(q->last - q->first) / 1000.0 : 0.0;
    if (duration > 0 && q->last > 0) {
        bps = (uint64_t)((double)(q->bytes << 3) / duration);
        pps = (uint64_t)((double)q->packets / duration);
        bpp = q->packets ? q->bytes / q->packets : 0;
    }
    printf("Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n%llu,%llu,%llu,%llu,%llu,%llu\n",
           (unsigned long long)q->flows, (unsigned long long)q->bytes,
           (unsigned long long)q->packets, (unsigned long long)bps, (unsigned long long)pps,
           (unsigned long long)bpp);
}

static int parse_count(const char *s, unsigned long long *out)
{
    char *end;
    if (s == NULL || *s == 0)
        return -1;
    *out = strtoull(s, &end, 10);
    return *end == 0 ? 0 : -1;
}

/* options only the query engine answers */
static int needs_engine(const cli_args *args)
{
    static const char *const eng[] = {"stat",   "aggregate", "aggr",  "time",
                                      "order",  "summary",   "series", "topseries",
                                      "having", "window-mode"};
    const char *fmt = cli_get(args, "output");
    for (size_t i = 0; i < sizeof eng / sizeof eng[0]; i++)
        if (cli_has(args, eng[i]))
            return 1;
    return fmt != NULL && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0 &&
           strcmp(fmt, "null") != 0;
}

/* The filter text: positional words, or the file of -f. */
static int compile_filter(const cli_cmd *cmd, const cli_args *args, const char *text,
                          fl_filter **f)
{
    const char *file = cli_get(args, "file");
    fl_filter_opts fo;
    fl_err e;

    *f = NULL;
    if (file != NULL) {
        if (text[0] != '\0')
            return cli_usage_error(cmd, "give the filter as words or with -f, not both");
        memset(&fo, 0, sizeof fo);
        fo.filters_dir = cli_get(args, "filters-dir");
        fl_err_clear(&e);
        if (fl_filter_compile_file(file, &fo, f, &e) != FL_OK) {
            char msg[900];
            fl_err_format(&e, msg, sizeof msg);
            fprintf(stderr, "flowlens %s: %s\n", cmd->name, msg);
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    }
    if (text[0] == '\0')
        return CLI_EXIT_OK;
    return cli_filter_compile(cmd, text, cli_get(args, "filters-dir"), f);
}

/* nfdump's "Time window:" after a listing spans the data read, not the
 * flows listed: for nfcapd files their statistics records (and the bytes
 * of the files), for the store the first and last time of its flows. */
static void files_span(const fl_nfdump_sel *sel, fl_query_spec *qs, int bytes_only)
{
    for (size_t i = 0; i < fl_nfdump_sel_count(sel); i++) {
        fl_nfdump_file *nf = NULL;
        const fl_nfdump_info *in;
        fl_err e;
        FILE *fp;

        fl_err_clear(&e);
        if (fl_nfdump_open(fl_nfdump_sel_path(sel, i), &nf, &e) != FL_OK)
            continue;
        in = fl_nfdump_file_info(nf);
        if (!bytes_only && in->has_stat && in->stat_last != 0) {
            if (qs->span_last == 0 || in->stat_first < qs->span_first)
                qs->span_first = in->stat_first;
            if (in->stat_last > qs->span_last)
                qs->span_last = in->stat_last;
        }
        fl_nfdump_close(nf);
        fp = fopen(fl_nfdump_sel_path(sel, i), "rb");
        if (fp != NULL && fseek(fp, 0, SEEK_END) == 0) {
            long sz = ftell(fp);
            if (sz > 0)
                qs->bytes_read += (uint64_t)sz;
        }
        if (fp != NULL)
            fclose(fp);
    }
}

static void store_span(fl_store *st, fl_query_spec *qs)
{
    uint64_t cols[FL_PRESENT_WORDS] = {0};
    fl_store_scan *sc = NULL;
    fl_batch *b = NULL;
    fl_err e;

    cols[FL_COL_TIME_FIRST / 64] |= (uint64_t)1 << (FL_COL_TIME_FIRST % 64);
    cols[FL_COL_TIME_LAST / 64] |= (uint64_t)1 << (FL_COL_TIME_LAST % 64);
    fl_err_clear(&e);
    if (fl_store_scan_open(st, cols, NULL, 0, &sc, &e) != FL_OK)
        return;
    while (fl_store_scan_next(sc, &b, &e) == FL_OK && b != NULL) {
        for (uint32_t r = 0; r < b->n; r++) {
            fl_time t0 = FL_TIMES(b, FL_COL_TIME_FIRST)[r], t1 = FL_TIMES(b, FL_COL_TIME_LAST)[r];
            if (qs->span_last == 0 || t0 < qs->span_first)
                qs->span_first = t0;
            if (t1 > qs->span_last)
                qs->span_last = t1;
        }
    }
    fl_store_scan_free(sc);
}

/* Exporter addresses for %ra. nfcapd files number their exporters per
 * file (sysid); the listing learns each sysid's address from the file that
 * holds the flow, the first time it is seen (one nfcapd numbers its
 * exporters the same way in every file it writes). */
typedef struct qexp {
    fl_source inner;
    fl_nfdump_sel *sel;
    fl_store *st;
    uint8_t known[65536];
    fl_addr addr[65536];
} qexp;

static fl_rc qexp_next(void *ctx, fl_batch *b, fl_err *e)
{
    qexp *x = ctx;
    fl_rc rc = x->inner.next(x->inner.ctx, b, e);
    const fl_nfdump_file *f;

    if (rc != FL_OK || b->n == 0 || (f = fl_nfdump_sel_file(x->sel)) == NULL)
        return rc;
    for (uint32_t r = 0; r < b->n; r++) {
        uint16_t id = FL_U16(b, FL_COL_EXPORTER)[r];
        if (!x->known[id]) {
            const fl_nfdump_exporter *ex = fl_nfdump_exporter_get(f, id);
            x->known[id] = 1;
            if (ex != NULL)
                x->addr[id] = ex->addr;
        }
    }
    return rc;
}

static double qexp_progress(void *ctx)
{
    qexp *x = ctx;
    return x->inner.progress ? x->inner.progress(x->inner.ctx) : 0;
}

static fl_addr qexp_addr(void *ctx, uint16_t id)
{
    qexp *x = ctx;
    fl_store_exporter se;

    if (x->st != NULL && !x->known[id]) {
        x->known[id] = 1;
        if (fl_store_exporter_get(x->st, id, &se) == FL_OK)
            x->addr[id] = se.addr;
    }
    return x->addr[id];
}

/* A -c listing over nfcapd files stops reading where nfdump stops: at the
 * -c-th flow that passes the window and the filter. The wrapper applies
 * both itself (as the engine does) to know that point, ends the source
 * there, and so knows nfdump's "processed" count and which files nfdump
 * opened (their statistics make the "Time window" line). */
typedef struct qlimit {
    fl_source inner;
    fl_nfdump_sel *sel;
    const fl_query_spec *qs;
    fl_filter *flt;
    fl_sel rows;
    uint64_t passed, processed;
    int done;
    const fl_nfdump_file *file;
    fl_time first, last;
} qlimit;

static int in_window(const fl_query_spec *s, fl_time tf, fl_time tl)
{
    switch (s->window_mode) {
    case FL_WIN_INSIDE: return tf >= s->start && tl <= s->end;
    case FL_WIN_START: return tf >= s->start && tf < s->end;
    case FL_WIN_END: return tl >= s->start && tl < s->end;
    default: return tf < s->end && tl >= s->start;
    }
}

static fl_rc qlimit_next(void *ctx, fl_batch *b, fl_err *e)
{
    qlimit *q = ctx;
    const fl_nfdump_file *f;
    fl_rc rc;
    uint32_t n = 0;

    if (q->done) {
        b->n = 0;
        return FL_OK;
    }
    rc = q->inner.next(q->inner.ctx, b, e);
    if (rc != FL_OK || b->n == 0)
        return rc;
    if (b->n > q->rows.cap) {
        uint32_t *idx = realloc(q->rows.idx, (size_t)b->n * sizeof *idx);
        if (idx == NULL)
            return fl_err_set(e, FL_ENOMEM, "out of memory");
        q->rows.idx = idx;
        q->rows.cap = b->n;
    }
    f = fl_nfdump_sel_file(q->sel);
    if (f != NULL && f != q->file) {
        const fl_nfdump_info *in = fl_nfdump_file_info(f);
        q->file = f;
        if (in->has_stat && in->stat_last != 0) {
            if (q->last == 0 || in->stat_first < q->first)
                q->first = in->stat_first;
            if (in->stat_last > q->last)
                q->last = in->stat_last;
        }
    }
    for (uint32_t r = 0; r < b->n; r++)
        if ((q->qs->start == 0 && q->qs->end == 0) ||
            in_window(q->qs, FL_TIMES(b, FL_COL_TIME_FIRST)[r], FL_TIMES(b, FL_COL_TIME_LAST)[r]))
            q->rows.idx[n++] = r;
    q->rows.n = n;
    if (q->flt != NULL && n > 0) {
        rc = fl_filter_select(q->flt, b, &q->rows, e);
        if (rc != FL_OK)
            return rc;
    }
    if (q->passed + q->rows.n >= q->qs->limit) {
        uint32_t last = q->rows.idx[q->qs->limit - q->passed - 1];
        q->processed += (uint64_t)last + 1;
        q->passed = q->qs->limit;
        q->done = 1;
    } else {
        q->processed += b->n;
        q->passed += q->rows.n;
    }
    return FL_OK;
}

static double qlimit_progress(void *ctx)
{
    qlimit *q = ctx;
    return q->inner.progress ? q->inner.progress(q->inner.ctx) : 0;
}

static fl_rc list_first_then_order(const fl_query_spec *qs, fl_source src, fl_qresult **out,
                                    fl_err *e)
{
    fl_query_spec first = *qs, order = *qs;
    fl_qresult *head = NULL;
    fl_mem_source m;
    fl_batch *lb;
    fl_rc rc;

    first.order = FL_ORDER_NONE;
    first.threads = 1;
    rc = fl_query_run(&first, src, &head, e);
    if (rc != FL_OK)
        return rc;
    lb = head->list;
    order.select = NULL;
    order.start = order.end = 0;
    order.limit = 0;
    order.threads = 1;
    rc = fl_query_run(&order, fl_mem_source_init(&m, &lb, lb ? 1 : 0), out, e);
    if (rc == FL_OK)
        (*out)->scanned = head->scanned;
    fl_qresult_free(head);
    return rc;
}

/* The answer cache of a store query: where, under which key and data
 * version (src/cache). key NULL = not cached. */
typedef struct qcache {
    fl_cache *cache;
    char *key;
    uint64_t version;
} qcache;

/* 1 after printing a cached answer; 0 otherwise, with qc ready for
 * render_cached when the question can be cached. Any cache trouble is a
 * miss: the question is answered from the store. */
static int cache_lookup(const char *dir, const cli_args *args, const fl_query_spec *qs,
                        fl_store *st, qcache *qc)
{
    char path[4200];
    char *body = NULL;
    size_t len = 0;
    fl_err e;

    snprintf(path, sizeof path, "%s/cache", dir);
    fl_err_clear(&e);
    if (cli_store_data_version(st, qs->start, qs->end, &qc->version) != 0 ||
        fl_cache_open(path, 0, &qc->cache, &e) != FL_OK)
        return 0;
    qc->key = cli_query_cache_key(args, qs);
    if (qc->key == NULL || !fl_cache_get(qc->cache, qc->key, qc->version, &body, &len))
        return 0;
    fl_log_debug("query: answer from the cache in %s (%zu bytes)", path, len);
    fwrite(body, 1, len, stdout);
    fflush(stdout);
    free(body);
    return 1;
}

/* Render into memory, print it and keep it in the cache. */
static int render_cached(const fl_query_spec *qs, const fl_qresult *res, int fmt, int flags,
                         qcache *qc, fl_err *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    fl_rc rc;

    if (m == NULL)
        return fl_query_render(qs, res, (fl_render_fmt)fmt, flags, stdout, e) == FL_OK
                   ? CLI_EXIT_OK
                   : CLI_EXIT_FAIL;
    rc = fl_query_render(qs, res, (fl_render_fmt)fmt, flags, m, e);
    fclose(m);
    if (rc == FL_OK) {
        fwrite(buf, 1, len, stdout);
        fl_cache_put(qc->cache, qc->key, qc->version, buf, len);
        fl_log_debug("query: answer computed (%zu bytes), offered to the cache", len);
    }
    free(buf);
    return rc == FL_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int run_engine(const cli_cmd *cmd, const cli_args *args, const fl_nfdump_spec *spec)
{
    fl_query_spec qs;
    fl_qresult *res = NULL;
    fl_nfdump_sel *sel = NULL;
    fl_store *st = NULL;
    fl_store_scan *sc = NULL;
    fl_filter *flt = NULL;
    qexp *xp = NULL;
    qlimit *ql = NULL;
    char filter[4096];
    int fmt = 0, flags = 0, rc;
    qwarn qw = {0};
    qcache qc = {NULL, NULL, 0};
    fl_source src;
    fl_err e;

    rc = cli_query_spec(cmd, args, &qs, &fmt, &flags, filter, sizeof filter);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = compile_filter(cmd, args, filter, &flt);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (flt != NULL && !fl_filter_is_all(flt)) {
        qs.select = fl_filter_select;
        qs.select_ctx = flt;
    }
    fl_err_clear(&e);
    if (spec == NULL) {
        const char *dir = cli_get(args, "store") ? cli_get(args, "store") : "./var/store";
        rc = cli_store_source(cmd, dir, &qs, flt, &st, &sc, &src);
        if (rc != CLI_EXIT_OK)
            goto out;
        if (src.filter_applied)
            qs.select = NULL;
        /* a store keeps flows by time slot, not in one arrival order: -c N
         * without -O lists the N earliest by start time (nfdump's first N
         * of files written in time order), whatever the scan's threads */
        if (qs.op == FL_QOP_LIST && qs.limit && qs.order == FL_ORDER_NONE)
            qs.order = FL_ORDER_TSTART;
        if (!cli_has(args, "no-cache") && cache_lookup(dir, args, &qs, st, &qc) == 1) {
            rc = CLI_EXIT_OK;
            goto out;
        }
    } else {
        if (fl_nfdump_select(spec, on_warn, &qw, &sel, &e) != FL_OK)
            goto fail;
        memset(&src, 0, sizeof src);
        src.ctx = sel;
        /* aggregations read files side by side; listings keep file order
         * (one scanning thread, so -c takes the first flows, as nfdump) */
        src.parallel = qs.op != FL_QOP_LIST;
        if (qs.op == FL_QOP_LIST && qs.order == FL_ORDER_NONE && !cli_has(args, "threads"))
            qs.threads = 1;
        src.next = src.parallel ? fl_nfdump_sel_source_next_mt : fl_nfdump_sel_source_next;
        src.progress = fl_nfdump_sel_progress;
    }
    if (qs.op == FL_QOP_LIST && fmt == FL_FMT_NFDUMP && qs.format != NULL &&
        strstr(qs.format, "%ra") != NULL) {
        xp = calloc(1, sizeof *xp);
        if (xp == NULL) {
            fl_err_set(&e, FL_ENOMEM, "out of memory");
            goto fail;
        }
        xp->sel = sel;
        xp->st = st;
        qs.exporter_addr = qexp_addr;
        qs.exporter_ctx = xp;
        if (sel != NULL) {
            xp->inner = src;
            src.ctx = xp;
            src.next = qexp_next;
            src.next_codes = NULL; /* rows pass through the wrapper */
            src.progress = qexp_progress;
        }
    }
    if (sel != NULL && qs.op == FL_QOP_LIST && qs.limit != 0) {
        ql = calloc(1, sizeof *ql);
        if (ql != NULL)
            ql->rows.idx = malloc(FL_BATCH_CAP * sizeof *ql->rows.idx);
        if (ql == NULL || ql->rows.idx == NULL) {
            fl_err_set(&e, FL_ENOMEM, "out of memory");
            goto fail;
        }
        ql->rows.cap = FL_BATCH_CAP;
        ql->inner = src;
        ql->sel = sel;
        ql->qs = &qs;
        ql->flt = qs.select != NULL ? flt : NULL;
        src.ctx = ql;
        src.next = qlimit_next;
        src.next_codes = NULL; /* rows pass through the wrapper */
        src.progress = qlimit_progress;
        src.parallel = 0;
    }
    if (sel != NULL && qs.op == FL_QOP_LIST && qs.order != FL_ORDER_NONE && qs.limit != 0) {
        /* nfdump's -c counts flows as they pass, before -O sorts them:
         * over nfcapd files, list the first -c flows, then order those */
        if (list_first_then_order(&qs, src, &res, &e) != FL_OK)
            goto fail;
    } else if (fl_query_run(&qs, src, &res, &e) != FL_OK) {
        goto fail;
    }
    if ((qs.op == FL_QOP_LIST || qs.op == FL_QOP_STATS || qs.op == FL_QOP_AGGREGATE) &&
        (fmt == FL_FMT_NFDUMP || fmt == FL_FMT_TABLE) && !(flags & FL_RENDER_QUIET)) {
        if (ql != NULL && ql->done) {
            /* nfdump stopped at the -c-th match: what it read, and the
             * statistics of the files it opened */
            res->scanned = ql->processed;
            qs.span_first = ql->first;
            qs.span_last = ql->last;
            files_span(sel, &qs, 1);
        } else if (sel != NULL) {
            files_span(sel, &qs, 0);
        } else if (st != NULL && qs.op != FL_QOP_LIST) {
            /* statistics over the store: the span of the flows counted
             * (a second scan just for this line would double the work) */
            qs.span_first = res->total.first;
            qs.span_last = res->total.last;
        } else if (st != NULL) {
            store_span(st, &qs);
        }
    }
    if (res->drained)
        fl_log_debug("query: %llu of %llu distinct keys let go of as the scan passed their "
                     "address", (unsigned long long)res->drained,
                     (unsigned long long)res->distinct);
    if (qc.key != NULL) {
        rc = render_cached(&qs, res, fmt, flags, &qc, &e);
        if (rc != CLI_EXIT_OK)
            goto fail;
    } else if (fl_query_render(&qs, res, (fl_render_fmt)fmt, flags, stdout, &e) != FL_OK)
        goto fail;
    fflush(stdout);
    rc = CLI_EXIT_OK;
    goto out;
fail : {
    char buf[900];
    fl_err_format(&e, buf, sizeof buf);
    fprintf(stderr, "flowlens query: %s\n", buf);
    rc = CLI_EXIT_FAIL;
}
out:
    free(qc.key);
    fl_cache_close(qc.cache);
    fl_qresult_free(res);
    free(xp);
    if (ql != NULL)
        free(ql->rows.idx);
    free(ql);
    fl_nfdump_sel_free(sel);
    if (sc != NULL) {
        fl_store_scan_stats ss;
        fl_store_scan_get_stats(sc, &ss);
        fl_log_debug("query: store scan: %llu segments (%llu pruned, %llu read through their "
                     "by-address copy, %llu of them in address order), %llu row groups (%llu "
                     "pruned, %llu read as their sums), %llu rows, %llu values decoded, %llu "
                     "warnings",
                     (unsigned long long)ss.segments, (unsigned long long)ss.segments_pruned,
                     (unsigned long long)ss.segments_by_addr,
                     (unsigned long long)ss.segments_ordered, (unsigned long long)ss.groups,
                     (unsigned long long)ss.groups_pruned, (unsigned long long)ss.groups_summed,
                     (unsigned long long)ss.rows,
                     (unsigned long long)ss.values, (unsigned long long)ss.warnings);
        fl_store_scan_free(sc);
    }
    if (st)
        fl_store_close(st, NULL);
    fl_filter_free(flt);
    return rc;
}

int cmd_query(const cli_cmd *cmd, const cli_args *args)
{
    fl_nfdump_spec spec = {cli_get(args, "read"), cli_get(args, "range"), cli_get(args, "multi")};
    const char *fmt = cli_get(args, "output");
    unsigned long long limit = 0, printed = 0;
    int csv, null_out, quiet = cli_has(args, "quiet"), rc = CLI_EXIT_OK, first = 1;
    fl_nfdump_sel *sel = NULL;
    fl_batch *b = NULL;
    qwarn qw = {0};
    qsum sum = {0, 0, 0, FL_TIME_MAX, 0};
    fl_err e;
    static char obuf[1 << 16];

    if (cli_has(args, "utc")) {
        /* nfdump prints and reads local time; --utc makes local UTC */
        setenv("TZ", "UTC", 1);
        tzset();
    }
    if (cli_has(args, "store") && (spec.read != NULL || spec.range != NULL))
        return cli_usage_error(cmd, "--store and -r/-R/-M exclude each other");
    if (spec.read == NULL && spec.range == NULL) {
        if (spec.multi != NULL)
            return cli_usage_error(cmd, "-M needs -r or -R naming the files");
        return run_engine(cmd, args, NULL);
    }
    if (spec.read != NULL && spec.range != NULL)
        return cli_usage_error(cmd, "-r and -R exclude each other");
    if (needs_engine(args) || args->npos > 0 || cli_has(args, "file"))
        return run_engine(cmd, args, &spec);
    if (fmt == NULL)
        fmt = "csv";
    if (strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0 && strcmp(fmt, "null") != 0)
        return cli_usage_error(cmd, "output '%s' not built yet: use -o csv, json or null", fmt);
    csv = strcmp(fmt, "csv") == 0;
    null_out = strcmp(fmt, "null") == 0;
    if (cli_get(args, "count") != NULL && parse_count(cli_get(args, "count"), &limit) != 0)
        return cli_usage_error(cmd, "-c needs a number");

    fl_err_clear(&e);
    if (fl_nfdump_select(&spec, on_warn, &qw, &sel, &e) != FL_OK) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fprintf(stderr, "flowlens query: %s\n", buf);
        return CLI_EXIT_FAIL;
    }
    b = fl_batch_new(0);
    if (b == NULL) {
        fprintf(stderr, "flowlens query: out of memory\n");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    if (csv && !quiet)
        fputs(fl_nfdump_csv_header(), stdout);
    if (!csv && !null_out)
        fputs("[\n", stdout);
    for (;;) {
        const fl_nfdump_file *f;
        if (fl_nfdump_sel_next(sel, b, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens query: %s\n", buf);
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (b->n == 0)
            break;
        f = fl_nfdump_sel_file(sel);
        if (null_out) {
            printed += b->n;
            continue;
        }
        if (csv && !quiet) {
            uint64_t left = limit == 0 ? b->n : limit - printed;
            sum_rows(&sum, b, 0, left < b->n ? (uint32_t)left : b->n);
        }
        for (uint32_t r = 0; r < b->n && (limit == 0 || printed < limit); r++, printed++) {
            if (csv) {
                char line[1024];
                size_t n = fl_nfdump_csv_row(b, r, f, line, sizeof line);
                fwrite(line, 1, n, stdout);
            } else {
                json_row(stdout, b, r, first);
                first = 0;
            }
        }
        if (limit != 0 && printed >= limit)
            break;
    }
    if (!csv && !null_out)
        fputs("\n]\n", stdout);
    if (csv && !quiet && rc == CLI_EXIT_OK)
        print_summary(&sum);
    fflush(stdout);
    if (qw.n > 0)
        fprintf(stderr, "flowlens query: %lu warning%s: files or blocks skipped\n", qw.n,
                qw.n == 1 ? "" : "s");
out:
    fl_batch_free(b);
    fl_nfdump_sel_free(sel);
    return rc;
}
