/*
 * cli/cmd_serve.c — `flowlens serve`: collector, store writer, expiry and
 * the HTTP server in one process.
 *
 * The default is the embedded store (--store DIR, default ./var/store,
 * created when missing): the collector listens (--listen, default the
 * NetFlow/IPFIX/sFlow ports) and writes into the store from its writer
 * thread, which also runs retention (--max-age/--max-size); the HTTP API
 * and web UI (src/http) read the store with one read-only scan per query.
 * --demo puts a day of generated history into an empty store and keeps
 * four simulated exporters sending live IPFIX to the collector on
 * loopback (serve_demo.c). --demo-flows N instead serves generated flows
 * from memory with no store and no collector (try-outs and tests). Both
 * backends get the filter module as the API's filter hook.
 */
#include "cli.h"
#include "filter/filter.h"
#include "http/http.h"
#include "store/store.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_u64_opt(const char *s, uint64_t *out)
{
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    *out = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* "ADDR:PORT", "[v6]:PORT" or ":PORT" into addr (static storage) and port. */
static int parse_http(const char *s, char *addr, size_t alen, uint16_t *port)
{
    const char *colon;
    uint64_t p;
    size_t n;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return -1;
        n = (size_t)(rb - s - 1);
        if (n + 1 > alen)
            return -1;
        memcpy(addr, s + 1, n);
        addr[n] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        n = (size_t)(colon - s);
        if (n + 1 > alen)
            return -1;
        memcpy(addr, s, n);
        addr[n] = '\0';
        if (n == 0)
            snprintf(addr, alen, "127.0.0.1");
    }
    if (parse_u64_opt(colon + 1, &p) != 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

/* ---- the filter module behind the API's filter hook ---- */

static fl_rc serve_filter_compile(void *ctx, const char *text, size_t len, const char *dir,
                                  fl_select_fn *fn, void **fctx, fl_err *e)
{
    fl_filter *f = NULL;
    fl_filter_opts fo = {.filters_dir = dir};
    fl_rc rc;
    (void)ctx;

    rc = fl_filter_compile(text, len, &fo, &f, e);
    if (rc != FL_OK)
        return rc;
    *fn = fl_filter_select;
    *fctx = f;
    return FL_OK;
}

static void serve_filter_free(void *ctx, void *fctx)
{
    (void)ctx;
    fl_filter_free(fctx);
}

/* ---- the store backend ---- */

typedef struct store_src {
    fl_store *st;
    fl_store_scan *sc;
} store_src;

static fl_rc store_next(void *ctx, fl_batch *b, fl_err *e)
{
    return fl_store_scan_fill(((store_src *)ctx)->sc, b, e);
}

static fl_rc store_next_codes(void *ctx, fl_batch *b, fl_qcodes *cd, unsigned ncd, fl_err *e)
{
    return cli_store_fill_codes(((store_src *)ctx)->sc, b, cd, ncd, e);
}

static fl_rc store_rewind(void *ctx, fl_err *e)
{
    return fl_store_scan_rewind(((store_src *)ctx)->sc, e);
}

static double store_progress(void *ctx)
{
    return fl_store_scan_progress(((store_src *)ctx)->sc);
}

static int store_floor(void *ctx, fl_addr *out)
{
    return fl_store_scan_floor(((store_src *)ctx)->sc, out);
}


static void store_close(void *ctx, void *src_ctx)
{
    store_src *ss = src_ctx;
    (void)ctx;
    if (ss == NULL)
        return;
    fl_store_scan_free(ss->sc);
    fl_store_close(ss->st, NULL);
    free(ss);
}

/* Rows of the segments the scan may read (from the catalog, no file
 * opened): the denominator of the API's progress. Row groups pruned by
 * zone maps make the scan finish early, never overrun. 0 = unknown. */
static uint64_t store_estimate(fl_store *st, const fl_store_pred *pred)
{
    fl_store_seginfo *v = NULL;
    size_t n = 0;
    uint64_t rows = 0;
    fl_err e;

    fl_err_clear(&e);
    if (fl_store_list(st, pred->t_start, pred->t_end, pred->exporter, pred->nexporters, &v, &n,
                      &e) != FL_OK)
        return 0;
    for (size_t i = 0; i < n; i++)
        rows += v[i].rows;
    free(v);
    return rows;
}

/* A read-only scan per query; the window and the filter's simple ranges
 * prune slots and row groups (the filter decides rows; its columns are
 * decoded too), except that a filter of address terms only is applied by
 * the exact scan alone, as in `flowlens query` (src->filter_applied). */
static fl_rc store_open(void *ctx, const fl_query_spec *spec, const uint64_t *cols, void *fctx,
                        fl_source *src, uint64_t *estimate, fl_err *e)
{
    const char *dir = ctx;
    store_src *ss = calloc(1, sizeof *ss);
    fl_store_opts so;
    fl_store_pred pred;
    uint64_t c[FL_PRESENT_WORDS];
    int applied;
    fl_rc rc;

    if (ss == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory");
    memcpy(c, cols, sizeof c);
    /* the same pruning as `flowlens query`: window and filter ranges */
    cli_store_pred(spec, fctx, &pred);
    applied = cli_store_filter_applied(fctx, &pred);
    if (fctx && !applied)
        fl_filter_columns(fctx, c);
    fl_store_opts_default(&so);
    if ((rc = fl_store_open(dir, &so, FL_STORE_READ, &ss->st, e)) != FL_OK ||
        (rc = fl_store_scan_open(ss->st, c, &pred, cli_store_scan_flags(spec, &pred), &ss->sc, e)) != FL_OK) {
        store_close(NULL, ss);
        return rc;
    }
    memset(src, 0, sizeof *src);
    src->ctx = ss;
    src->next = store_next;
    src->progress = store_progress;
    /* as in `flowlens query`: every engine thread decodes whole row groups */
    src->parallel = 1;
    src->batch_rows = FL_STORE_GROUP_ROWS;
    src->rewind = store_rewind;
    src->next_codes = store_next_codes;
    src->filter_applied = applied;
    src->no_clear = 1; /* as in `flowlens query` */
    cli_store_scan_sums(spec, ss->sc, applied);
    if (fl_query_order_col(spec) >= 0) { /* as cli_store_source_order */
        src->order_floor = store_floor;
        src->order_col = (fl_col)fl_query_order_col(spec);
    }
    *estimate = store_estimate(ss->st, &pred);
    return FL_OK;
}

/* The data version of what a query over spec's window reads, as
 * `flowlens query` files its cached answers (cli_store_data_version), over
 * the slots the scan's window predicate admits. */
static fl_rc store_data_version(void *ctx, const fl_query_spec *spec, uint64_t *version,
                                fl_err *e)
{
    fl_store *st = NULL;
    fl_store_opts so;
    fl_store_pred pred;
    fl_rc rc;

    cli_store_pred(spec, NULL, &pred);
    fl_store_opts_default(&so);
    if ((rc = fl_store_open(ctx, &so, FL_STORE_READ, &st, e)) != FL_OK)
        return rc;
    if (cli_store_data_version(st, pred.t_start, pred.t_end, version) != 0)
        rc = fl_err_set(e, FL_EIO, "cannot list the store's segments");
    fl_store_close(st, NULL);
    return rc;
}

/* Add ifindex to x's interface list (distinct, at most 256, 0 = unknown). */
static void exporter_add_if(fl_store *st, fl_http_exporter *x, uint64_t ifindex)
{
    const char *name;

    if (ifindex == 0 || ifindex > UINT32_MAX)
        return;
    for (size_t i = 0; i < x->nifs; i++)
        if (x->ifs[i].ifindex == ifindex)
            return;
    x->interfaces++;
    if (x->nifs == 256)
        return;
    if (x->ifs == NULL && (x->ifs = calloc(256, sizeof *x->ifs)) == NULL)
        return;
    x->ifs[x->nifs].ifindex = (uint32_t)ifindex;
    name = fl_store_exporter_ifname(st, x->id, (uint32_t)ifindex);
    snprintf(x->ifs[x->nifs].name, sizeof x->ifs[x->nifs].name, "%s", name ? name : "");
    x->nifs++;
}

/* The store's exporter table, with flows/bytes/first/last and the
 * interfaces seen (named from the table) from one scan of three columns. */
static fl_rc store_exporters(void *ctx, fl_http_exporter *out, size_t max, size_t *n, fl_err *e)
{
    const char *dir = ctx;
    fl_store *st = NULL;
    fl_store_opts so;
    fl_query_spec qs;
    fl_qresult *res = NULL;
    fl_source src;
    uint64_t cols[FL_PRESENT_WORDS], est;
    fl_rc rc;

    *n = 0;
    fl_query_spec_init(&qs);
    if ((rc = fl_query_parse_aggregate(&qs, "sysid,inif,outif", e)) != FL_OK)
        return rc;
    qs.op = FL_QOP_AGGREGATE;
    qs.top = 0;
    qs.limit = 0;
    fl_query_columns(&qs, cols);
    if ((rc = store_open(ctx, &qs, cols, NULL, &src, &est, e)) != FL_OK)
        return rc;
    rc = fl_query_run(&qs, src, &res, e);
    store_close(NULL, src.ctx);
    if (rc != FL_OK)
        return rc;
    fl_store_opts_default(&so);
    if ((rc = fl_store_open(dir, &so, FL_STORE_READ, &st, e)) != FL_OK) {
        fl_qresult_free(res);
        return rc;
    }
    for (uint32_t i = 0; i < fl_store_exporter_count(st) && *n < max; i++) {
        fl_store_exporter x;
        fl_http_exporter *o = &out[*n];
        if (fl_store_exporter_at(st, i, &x) != FL_OK)
            continue;
        memset(o, 0, sizeof *o);
        o->id = x.id;
        snprintf(o->name, sizeof o->name, "%s", x.name);
        fl_addr_format(x.addr, o->address, sizeof o->address);
        o->sampling = x.sampling;
        for (size_t k = 0; k < res->nrows; k++) {
            const fl_qrow *r = &res->rows[k];
            if (r->key[0].lo != x.id)
                continue;
            if (o->flows == 0 || r->c.first < o->first_seen)
                o->first_seen = r->c.first;
            if (r->c.last > o->last_seen)
                o->last_seen = r->c.last;
            o->flows += r->c.flows;
            o->packets += r->c.packets + r->c.out_packets;
            o->bytes += r->c.bytes + r->c.out_bytes;
            exporter_add_if(st, o, r->key[1].lo);
            exporter_add_if(st, o, r->key[2].lo);
        }
        (*n)++;
    }
    fl_store_close(st, NULL);
    fl_qresult_free(res);
    return FL_OK;
}

/* A whole PEM file, at most 1 MiB, NUL-terminated; NULL with msg set. */
static char *read_pem(const char *path, char *msg, size_t mlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, max = 1 << 20;

    if (f == NULL) {
        snprintf(msg, mlen, "cannot open %s", path);
        return NULL;
    }
    buf = malloc(max + 1);
    if (buf != NULL) {
        n = fread(buf, 1, max + 1, f);
        if (n == 0 || n > max || memmem(buf, n, "-----BEGIN", 10) == NULL) {
            snprintf(msg, mlen, "%s is not a PEM file of at most 1 MiB", path);
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

int cmd_serve(const cli_cmd *cmd, const cli_args *args)
{
    fl_http_config hc;
    fl_http_demo *demo = NULL;
    fl_http_backend be;
    fl_http *h = NULL;
    fl_err e;
    char addr[64];
    uint64_t flows = 1500000, seed = 1, v;
    fl_time end = fl_time_now(), span = 86400000;
    const char *s, *store_dir = cli_get(args, "store") ? cli_get(args, "store") : "./var/store";
    sigset_t set;
    int sig, rc = CLI_EXIT_FAIL;
    char *cert = NULL, *key = NULL;
    int memory_demo = cli_get(args, "demo-flows") || cli_get(args, "demo-seed") ||
                      cli_get(args, "demo-end") || cli_get(args, "demo-span");
    fl_store *st = NULL;
    cli_collector *coll = NULL;
    cli_demo_live *live = NULL;
    char filters_dir[4200], stats_path[4200];

    fl_err_clear(&e);
    fl_http_config_default(&hc);
    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    s = cli_get(args, "http");
    if (s && parse_http(s, addr, sizeof addr, &hc.port) != 0)
        return cli_usage_error(cmd, "--http wants ADDR:PORT ([::1]:8080, 127.0.0.1:0), not '%s'", s);
    hc.addr = s ? addr : "127.0.0.1";
    if ((s = cli_get(args, "demo-flows")) && (parse_u64_opt(s, &flows) != 0 || flows == 0))
        return cli_usage_error(cmd, "--demo-flows needs a positive number, not '%s'", s);
    if ((s = cli_get(args, "demo-seed")) && parse_u64_opt(s, &seed) != 0)
        return cli_usage_error(cmd, "--demo-seed needs a number, not '%s'", s);
    if ((s = cli_get(args, "demo-end")) &&
        fl_time_parse(s, strlen(s), fl_time_now(), 0, &end, &e) != FL_OK)
        return cli_usage_error(cmd, "--demo-end '%s': %s", s, e.msg);
    if ((s = cli_get(args, "time-limit")) && (parse_u64_opt(s, &v) != 0 || v == 0 || v > 3600000))
        return cli_usage_error(cmd, "--time-limit needs milliseconds 1..3600000, not '%s'", s);
    else if (s)
        hc.time_limit_ms = (unsigned)v;
    /* each query's engine already uses every core: more than one at once
     * only helps a small question not to wait behind a large one (and each
     * has its own --memory budget) */
    if ((s = cli_get(args, "max-queries")) && (parse_u64_opt(s, &v) != 0 || v == 0 || v > 64))
        return cli_usage_error(cmd, "--max-queries needs a number 1..64, not '%s'", s);
    else if (s)
        hc.max_queries = (unsigned)v;
    if ((s = cli_get(args, "memory")) && (parse_u64_opt(s, &v) != 0 || v == 0 || v > 1048576))
        return cli_usage_error(cmd, "--memory needs MiB 1..1048576, not '%s'", s);
    else if (s)
        hc.memory_budget = (size_t)v << 20;
    if ((s = cli_get(args, "cache")) && parse_u64_opt(s, &v) != 0)
        return cli_usage_error(cmd, "--cache needs a number of entries, not '%s'", s);
    else if (s)
        hc.cache_entries = (size_t)v;
    if ((s = cli_get(args, "demo-span")) != NULL) {
        char *unit;
        unsigned long long n = strtoull(s, &unit, 10);
        fl_time mul = *unit == 'd' ? 86400000 : *unit == 'h' ? 3600000 : *unit == 'm' ? 60000 : 0;
        if (*s < '0' || *s > '9' || n == 0 || n > 3660 || mul == 0 || unit[1] != '\0')
            return cli_usage_error(cmd, "--demo-span wants a duration like 24h, 7d or 90m, not '%s'", s);
        span = (fl_time)n * mul;
    }
    if (cli_get(args, "tls-cert") || cli_get(args, "tls-key")) {
        char msg[300];
        if (!cli_get(args, "tls-cert") || !cli_get(args, "tls-key"))
            return cli_usage_error(cmd, "--tls-cert and --tls-key go together");
        if ((cert = read_pem(cli_get(args, "tls-cert"), msg, sizeof msg)) == NULL ||
            (key = read_pem(cli_get(args, "tls-key"), msg, sizeof msg)) == NULL) {
            free(cert);
            return cli_usage_error(cmd, "%s", msg);
        }
        hc.tls_cert_pem = cert;
        hc.tls_key_pem = key;
    }
    printf("flowlens serve: store %s, http %s\n", cli_get(args, "store") ? cli_get(args, "store") : "./var/store",
           cli_get(args, "http") ? cli_get(args, "http") : "127.0.0.1:8080");
    if (cli_has(args, "check")) {
        free(cert);
        free(key);
        return CLI_EXIT_OK;
    }
    fflush(stdout);
    /* round the demo's end to the minute so graphs start on whole steps */
    end -= end % 60000;

    /* block the stop signals before any thread starts, so every thread
     * inherits the mask and this one alone waits for them */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (memory_demo) {
        fl_log_info("serve: generating %" PRIu64 " demo flows over %" PRId64 " min in memory",
                    flows, span / 60000);
        if (fl_http_demo_new(flows, end, span, seed, &demo, &e) != FL_OK) {
            fprintf(stderr, "flowlens serve: demo data: %s\n", e.msg);
            goto out;
        }
        be = fl_http_demo_backend(demo);
        /* live traffic unless the history was pinned to a fixed end (tests) */
        if (!cli_get(args, "demo-end") && fl_http_demo_live(demo, 5000, &e) != FL_OK)
            fl_log_warn("serve: no live demo traffic: %s", e.msg);
    } else {
        /* the embedded store: the collector writes it, expiry trims it, the
         * API reads it with one read-only scan per query */
        const char *listen[64];
        size_t nlisten = 0;
        fl_store_expire_opts xo;

        fl_store_opts wo;

        memset(&xo, 0, sizeof xo);
        fl_store_opts_default(&wo);
        /* copies the copier cannot keep up with wait for an idle moment */
        wo.by_addr = cli_has(args, "no-by-address") ? 0 : 2;
        if (fl_store_open(store_dir, &wo, FL_STORE_WRITE, &st, &e) != FL_OK) {
            char msg[900];
            fl_err_format(&e, msg, sizeof msg);
            fprintf(stderr, "flowlens serve: store %s: %s\n", store_dir, msg);
            goto out;
        }
        if (cli_has(args, "demo") && fl_store_exporter_count(st) == 0) {
            fl_log_info("serve: empty store: writing a day of demo history (%" PRIu64 " flows)",
                        flows);
            if (cli_demo_backfill(st, flows, end, &e) != FL_OK) {
                fprintf(stderr, "flowlens serve: demo history: %s\n", e.msg);
                goto out;
            }
        }
        for (int i = 0; i < args->n && nlisten < 64; i++)
            if (strcmp(args->v[i].opt->lng, "listen") == 0)
                listen[nlisten++] = args->v[i].val;
        if (nlisten == 0) {
            listen[nlisten++] = "0.0.0.0:2055";
            listen[nlisten++] = "0.0.0.0:4739";
            listen[nlisten++] = "0.0.0.0:6343";
        }
        if (((s = cli_get(args, "max-age")) && cli_parse_duration(s, &xo.max_age_ms) != 0) ||
            ((s = cli_get(args, "max-size")) && cli_parse_size(s, &xo.max_bytes) != 0)) {
            rc = cli_usage_error(cmd, "bad --max-age (30d, 12h) or --max-size (500G): '%s'", s);
            goto out;
        }
        if (cli_collector_start(cmd, args, listen, nlisten, st, store_dir, &xo, &coll, &e) != FL_OK) {
            char msg[900];
            fl_err_format(&e, msg, sizeof msg);
            fprintf(stderr, "flowlens serve: collector: %s\n", msg);
            goto out;
        }
        for (size_t i = 0; i < nlisten; i++)
            printf("flowlens serve: collecting on %s (port %u)\n", listen[i],
                   (unsigned)cli_collector_port(coll, i));
        if (cli_has(args, "demo") && cli_demo_live_start(cli_collector_port(coll, 0), 200, &live,
                                                         &e) != FL_OK)
            fl_log_warn("serve: no live demo traffic: %s", e.msg);
        memset(&be, 0, sizeof be);
        be.ctx = (void *)(uintptr_t)store_dir;
        be.open = store_open;
        be.close = store_close;
        be.exporters = store_exporters;
        be.data_version = store_data_version;
        be.name = "store";
    }
    be.filter_compile = serve_filter_compile;
    be.filter_free = serve_filter_free;
    /* saved filters (created on the first save) and, with a collector,
     * the statistics file it keeps in the store */
    snprintf(filters_dir, sizeof filters_dir, "%s/filters", store_dir);
    hc.filters_dir = cli_get(args, "filters-dir") ? cli_get(args, "filters-dir") : filters_dir;
    snprintf(stats_path, sizeof stats_path, "%s/collector-stats.jsonl", store_dir);
    hc.collector_stats = coll ? stats_path : NULL;

    if (fl_http_start(&hc, &be, &h, &e) != FL_OK) {
        fprintf(stderr, "flowlens serve: %s\n", e.msg);
        goto out;
    }
    if (demo == NULL) {
        printf("flowlens serve: listening on %s://%s%s%s:%u/ (store %s)\n", cert ? "https" : "http",
               strchr(hc.addr, ':') ? "[" : "", hc.addr, strchr(hc.addr, ':') ? "]" : "",
               (unsigned)fl_http_port(h), store_dir);
    } else {
        printf("flowlens serve: listening on %s://%s%s%s:%u/ (demo data, %" PRIu64 " flows%s)\n",
           cert ? "https" : "http", strchr(hc.addr, ':') ? "[" : "", hc.addr,
           strchr(hc.addr, ':') ? "]" : "",
           (unsigned)fl_http_port(h), flows, cli_get(args, "demo-end") ? "" : ", live");
    }
    fflush(stdout);
    sigwait(&set, &sig);
    fl_log_info("serve: signal %d, stopping", sig);
    rc = CLI_EXIT_OK;
out:
    fl_http_stop(h);
    fl_http_demo_free(demo);
    cli_demo_live_stop(live);
    cli_collector_stop(coll); /* drains what was received into the store */
    if (st != NULL) {
        fl_err_clear(&e);
        if (fl_store_close(st, &e) != FL_OK) {
            fprintf(stderr, "flowlens serve: closing the store: %s\n", e.msg);
            rc = CLI_EXIT_FAIL;
        }
    }
    free(cert);
    free(key);
    return rc;
}
