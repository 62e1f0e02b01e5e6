/*
 * cli/query_backend.c — what `flowlens query` runs over: the filter and the
 * backends (the embedded store, nfcapd files).
 *
 * The query engine knows neither; it gets an fl_source and a select hook.
 * Here the filter is compiled once, plugged in as the hook, and its simple
 * ranges (protocol, ports, exporter), its address terms (host, net, ip
 * lists, as either-form address sets) and the -t window become the
 * store's pruning predicate, so a one-IP question reads only the row
 * groups whose zone maps and blooms may hold that address.
 */
#include "cli.h"
#include "filter/filter.h"
#include "nfdump/nfdump.h"
#include "query/query.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_filter_compile(const cli_cmd *cmd, const char *text, const char *filters_dir,
                       fl_filter **out)
{
    fl_filter_opts fo;
    fl_err e;

    memset(&fo, 0, sizeof fo);
    fo.filters_dir = filters_dir;
    fl_err_clear(&e);
    if (fl_filter_compile(text, strlen(text), &fo, out, &e) != FL_OK) {
        char msg[900];
        fl_err_format(&e, msg, sizeof msg);
        fprintf(stderr, "flowlens %s: %s\n", cmd->name, msg);
        if (e.offset >= 0 && (size_t)e.offset <= strlen(text) && e.where[0] != '\0' &&
            strcmp(e.where, "filter") == 0)
            fprintf(stderr, "  %s\n  %*s^\n", text, (int)e.offset, "");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

void cli_store_pred(const fl_query_spec *qs, const fl_filter *f, fl_store_pred *p)
{
    fl_filter_ranges r;

    memset(p, 0, sizeof *p);
    if (qs->start || qs->end) {
        /* every window mode needs flows starting before the window's end;
         * only "start" bounds the start from below (others may begin
         * earlier and still end inside) */
        p->t_start = qs->window_mode == FL_WIN_START || qs->window_mode == FL_WIN_INSIDE
                         ? qs->start
                         : 0;
        p->t_end = qs->end + 1;
    }
    if (f == NULL)
        return;
    fl_filter_ranges_get(f, &r);
    if (r.proto.set && p->nranges < FL_STORE_PRED_MAX)
        p->ranges[p->nranges++] = (fl_store_pred_range){FL_COL_PROTO, r.proto.lo, r.proto.hi};
    if (r.src_port.set && p->nranges < FL_STORE_PRED_MAX)
        p->ranges[p->nranges++] =
            (fl_store_pred_range){FL_COL_SRC_PORT, r.src_port.lo, r.src_port.hi};
    if (r.dst_port.set && p->nranges < FL_STORE_PRED_MAX)
        p->ranges[p->nranges++] =
            (fl_store_pred_range){FL_COL_DST_PORT, r.dst_port.lo, r.dst_port.hi};
    if (r.exporter.set && p->nranges < FL_STORE_PRED_MAX)
        p->ranges[p->nranges++] =
            (fl_store_pred_range){FL_COL_EXPORTER, r.exporter.lo, r.exporter.hi};
    /* Addresses push down as address sets in nfdump's space (the store
     * checks each interval in every stored form it covers: IPv4-mapped,
     * IPv4-compatible, IPv6), never as the hull ranges above, whose one
     * prefix cannot cover both forms. */
    {
        fl_filter_aterm *t = malloc(sizeof *t * FL_STORE_PRED_ASETS);
        size_t n = t ? fl_filter_addr_terms(f, t, FL_STORE_PRED_ASETS, NULL) : 0;
        for (size_t i = 0; i < n && p->nasets < FL_STORE_PRED_ASETS; i++) {
            fl_store_pred_aset *a = &p->asets[p->nasets];
            if (t[i].ncols == 2)
                a->col = FL_STORE_ANY_ADDR;
            else
                a->col = (int)t[i].col[0];
            a->n = t[i].n <= FL_STORE_ASET_MAX ? t[i].n : 0;
            if (a->n == 0)
                continue; /* an empty set is a filter matching nothing: no pruning needed */
            memcpy(a->lo, t[i].lo, sizeof(fl_addr) * a->n);
            memcpy(a->hi, t[i].hi, sizeof(fl_addr) * a->n);
            p->nasets++;
        }
        free(t);
    }
}

int cli_store_filter_applied(const fl_filter *f, const fl_store_pred *pred)
{
    return f != NULL && pred->nasets > 0 && fl_filter_addr_exact(f) == (int)pred->nasets;
}

/* The scan flags for pred: exact when it has address terms, so the store
 * tests them on the encoded chunks and decodes only the rows that may
 * match (a one-IP search over a day builds no address it drops). Every
 * term of pred is a necessary condition of the filter and window, which
 * still decide each row the scan returns. Any order unless flows are
 * listed (a listing keeps arrival order among equal keys): the store may
 * then answer from its by-address copies. */
int cli_store_scan_flags(const fl_query_spec *qs, const fl_store_pred *p)
{
    int c = fl_query_order_col(qs), f = 0;

    /* a top N of addresses, or of aggregates keyed by one: the copies in
     * address order, so the engine's table holds a window of addresses */
    if (c == FL_COL_SRC_ADDR)
        f = FL_STORE_SCAN_SRC_ORDER;
    else if (c == FL_COL_DST_ADDR)
        f = FL_STORE_SCAN_DST_ORDER;
    if (p->nasets + p->naddrs == 0)
        return f;
    return f | FL_STORE_SCAN_EXACT | (qs->op != FL_QOP_LIST ? FL_STORE_SCAN_ANY_ORDER : 0);
}

static fl_rc store_next(void *ctx, fl_batch *b, fl_err *e) { return fl_store_scan_fill(ctx, b, e); }
fl_rc cli_store_fill_codes(fl_store_scan *scan, fl_batch *b, fl_qcodes *cd, unsigned ncd,
                           fl_err *e)
{
    fl_store_codes sc[FL_STORE_CODES_MAX];
    fl_rc rc;

    if (ncd > FL_STORE_CODES_MAX)
        ncd = FL_STORE_CODES_MAX;
    for (unsigned i = 0; i < ncd; i++) {
        sc[i].col = (int)cd[i].col;
        sc[i].codes = cd[i].codes;
        sc[i].dict = cd[i].dict;
        sc[i].no_values = cd[i].no_values;
    }
    rc = fl_store_scan_fill_codes(scan, b, sc, ncd, e);
    for (unsigned i = 0; i < ncd; i++)
        cd[i].ndict = sc[i].ndict;
    return rc;
}
static fl_rc store_next_codes(void *ctx, fl_batch *b, fl_qcodes *cd, unsigned ncd, fl_err *e)
{
    return cli_store_fill_codes(ctx, b, cd, ncd, e);
}
static double store_progress(void *ctx) { return fl_store_scan_progress(ctx); }
static void store_time_bound(void *ctx, fl_time t) { fl_store_scan_time_bound(ctx, t); }
static fl_rc store_rewind(void *ctx, fl_err *e) { return fl_store_scan_rewind(ctx, e); }
static int store_floor(void *ctx, fl_addr *out) { return fl_store_scan_floor(ctx, out); }

void cli_store_scan_sums(const fl_query_spec *qs, fl_store_scan *sc, int applied)
{
    int c = fl_query_sums_col(qs);
    /* every window mode keeps a flow that starts and ends inside */
    fl_time end = qs->end ? qs->end : (qs->start ? FL_TIME_MAX : 0);

    if (c >= 0)
        (void)fl_store_scan_sums(sc, (fl_col)c, qs->start, end);
    else if (applied && fl_query_host_sums_ok(qs))
        (void)fl_store_scan_host_sums(sc, qs->start, end);
}

void cli_store_source_order(const fl_query_spec *qs, fl_source *src)
{
    int c = fl_query_order_col(qs);

    if (c >= 0) {
        src->order_floor = store_floor;
        src->order_col = (fl_col)c;
    }
}

int cli_store_source(const cli_cmd *cmd, const char *dir, const fl_query_spec *qs,
                     const fl_filter *f, fl_store **st, fl_store_scan **sc, fl_source *src)
{
    fl_store_opts so;
    fl_store_pred pred;
    uint64_t cols[FL_PRESENT_WORDS];
    int applied;
    fl_err e;

    fl_err_clear(&e);
    fl_store_opts_default(&so);
    if (fl_store_open(dir, &so, FL_STORE_READ, st, &e) != FL_OK)
        goto fail;
    fl_query_columns(qs, cols);
    cli_store_pred(qs, f, &pred);
    /* a filter of address terms only, every one pushed down, is applied by
     * the exact scan on the encoded chunks: the addresses of the rows it
     * keeps are then never built (unless the question itself shows them),
     * and the engine does not test each row again */
    applied = cli_store_filter_applied(f, &pred);
    if (f != NULL && !applied)
        fl_filter_columns(f, cols); /* adds the filter's columns */
    if (fl_store_scan_open(*st, cols, &pred, cli_store_scan_flags(qs, &pred), sc, &e) != FL_OK)
        goto fail;
    cli_store_scan_sums(qs, *sc, applied);
    memset(src, 0, sizeof *src);
    src->ctx = *sc;
    src->next = store_next;
    src->progress = store_progress;
    /* the scan is thread-safe: every engine thread decodes row groups,
     * each straight into its own batch of a whole group */
    src->parallel = 1;
    src->batch_rows = FL_STORE_GROUP_ROWS;
    src->rewind = store_rewind;
    src->next_codes = store_next_codes;
    src->filter_applied = applied;
    /* `-c N` lists the N earliest flows (cmd_query): segments and row
     * groups that start after the N-th found so far are skipped */
    src->time_bound = store_time_bound;
    src->no_clear = 1;
    cli_store_source_order(qs, src);
    return CLI_EXIT_OK;
fail : {
    char msg[900];
    fl_err_format(&e, msg, sizeof msg);
    fprintf(stderr, "flowlens %s: %s\n", cmd->name, msg);
    return CLI_EXIT_FAIL;
}
}
