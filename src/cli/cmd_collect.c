/*
 * cli/cmd_collect.c — `flowlens collect` (listeners -> sink) and
 * `flowlens decode FILE` (pcap / IPFIX file -> JSON lines).
 *
 * Both build a collector with a sink. `collect --store DIR` appends to the
 * store (store_sink below: collector exporter ids are mapped to the
 * store's exporter table, sampling rates copied into it); `--print
 * ndjson` prints flows as JSON lines instead or as well; `decode`
 * prints flows and then one stats line per exporter, and exits 1 when any
 * datagram failed to decode (each failure is named on stderr).
 */
#include "cli.h"
#include "collect/collect.h"
#include "store/store.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct print_sink {
    int json;
    uint64_t flows;
} print_sink;

static fl_rc print_batch(void *ctx, const fl_batch *b)
{
    print_sink *p = ctx;

    p->flows += b->n;
    if (p->json) {
        fl_collect_print_ndjson(b, stdout);
        fflush(stdout);
    }
    return FL_OK;
}

static void log_exporter(void *ctx, const fl_collect_exporter *x)
{
    char a[FL_ADDR_STRLEN];

    (void)ctx;
    fl_addr_format(x->addr, a, sizeof a);
    fl_log_debug("collect: exporter %u: %s domain %u sampling %u", x->id, a, x->domain,
                 x->sampling_rate);
}

static void print_counters(void *ctx, const fl_collect_ifcounters *c)
{
    print_sink *p = ctx;

    if (!p->json)
        return;
    printf("{\"type\":\"counters\",\"exporter\":%u,\"ifindex\":%" PRIu32 ",\"speed\":%" PRIu64
           ",\"status\":%" PRIu32 ",\"in_octets\":%" PRIu64 ",\"in_ucast\":%" PRIu64
           ",\"in_errors\":%" PRIu64 ",\"out_octets\":%" PRIu64 ",\"out_ucast\":%" PRIu64
           ",\"out_errors\":%" PRIu64 "}\n",
           c->exporter, c->ifindex, c->speed, c->status, c->in_octets, c->in_ucast,
           c->in_errors, c->out_octets, c->out_ucast, c->out_errors);
}

static void print_stats(fl_collect *c, FILE *f)
{
    size_t n = fl_collect_exporter_count(c);

    for (size_t i = 0; i < n; i++) {
        fl_collect_exporter x;
        if (fl_collect_exporter_get(c, i, &x) == FL_OK)
            fl_collect_print_exporter(&x, f);
    }
}

/* ---- decode ------------------------------------------------------------ */

typedef struct decode_err {
    const char *path;
    uint64_t n;
} decode_err;

static void on_decode_error(void *ctx, uint64_t dgram, const fl_err *e)
{
    decode_err *d = ctx;
    char buf[900];

    d->n++;
    fl_err_format(e, buf, sizeof buf);
    fprintf(stderr, "flowlens decode: %s: datagram %" PRIu64 ": %s\n", d->path, dgram, buf);
}

int cmd_decode(const cli_cmd *cmd, const cli_args *args)
{
    print_sink ps = {cli_has(args, "json"), 0};
    fl_collect_sink sink = {&ps, print_batch, log_exporter, print_counters};
    fl_collect_config cfg;
    fl_collect *c = NULL;
    fl_collect_worker *w = NULL;
    decode_err de = {NULL, 0};
    uint64_t dgrams = 0, total = 0;
    fl_err e;
    int rc = CLI_EXIT_OK;

    if (args->npos < 1)
        return cli_usage_error(cmd, "needs a capture file");
    if (!cli_has(args, "log-level"))
        fl_log_set_level(FL_LOG_ERROR);
    fl_collect_config_default(&cfg);
    fl_err_clear(&e);
    cfg.template_file = cli_get(args, "templates");
    c = fl_collect_new(&cfg, &sink, &e);
    w = c ? fl_collect_worker_new(c) : NULL;
    if (w == NULL) {
        fprintf(stderr, "flowlens decode: out of memory\n");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    for (int i = 0; i < args->npos; i++) {
        de.path = args->pos[i];
        fl_err_clear(&e);
        if (fl_collect_read_file(w, args->pos[i], &dgrams, on_decode_error, &de, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens decode: %s\n", buf);
            rc = CLI_EXIT_FAIL;
        }
        total += dgrams;
    }
    fl_collect_worker_flush(w);
    if (ps.json)
        print_stats(c, stdout);
    else {
        size_t n = fl_collect_exporter_count(c);
        printf("%" PRIu64 " datagrams, %" PRIu64 " flows, %zu exporters\n", total, ps.flows, n);
        print_stats(c, stdout);
    }
    if (fl_collect_unattributed(c) > 0)
        fprintf(stderr, "flowlens decode: %" PRIu64 " datagrams of no known exporter format\n",
                fl_collect_unattributed(c));
    if (cli_get(args, "templates") != NULL) {
        fl_err_clear(&e);
        if (fl_collect_save(c, NULL, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens decode: %s\n", buf);
            rc = CLI_EXIT_FAIL;
        }
    }
    if (de.n > 0)
        rc = CLI_EXIT_FAIL;
out:
    fl_collect_worker_free(w);
    fl_collect_free(c);
    return rc;
}

/* ---- the store sink ------------------------------------------------------ */

/*
 * Runs in the server's writer thread, the only thread making store writer
 * calls until fl_collect_server_stop returns. The collector numbers
 * exporters per (protocol, address, domain); the store per (address,
 * domain): map[] translates, filled the first time an id is seen, and a
 * copy of the batch carries the store's ids.
 */
typedef struct store_sink {
    fl_store *st;
    fl_collect *c;
    print_sink *print;
    fl_batch *copy;
    uint16_t map[65536];
    uint32_t rate[65536];
    volatile int dirty; /* an exporter's sampling changed */
    uint64_t stored;
    fl_rc failed;
    /* retention, run from this (the writer) thread at most once a minute */
    int expire;
    fl_store_expire_opts expire_opts;
    fl_time last_expire;
} store_sink;

static uint16_t store_id(store_sink *ss, uint16_t cid)
{
    fl_collect_exporter x;
    fl_err e;
    uint16_t id = 0;

    if (cid == 0 || fl_collect_exporter_get(ss->c, (size_t)cid - 1, &x) != FL_OK)
        return 0;
    if (ss->map[cid] == 0 && fl_store_exporter_id(ss->st, x.addr, x.domain, &id, &e) == FL_OK)
        ss->map[cid] = id;
    if (ss->map[cid] != 0 && x.sampling_rate != ss->rate[cid]) {
        fl_store_exporter se;
        ss->rate[cid] = x.sampling_rate;
        if (fl_store_exporter_get(ss->st, ss->map[cid], &se) == FL_OK)
            fl_store_exporter_update(ss->st, ss->map[cid], se.name, x.sampling_rate, &e);
    }
    return ss->map[cid];
}

static fl_rc store_batch(void *ctx, const fl_batch *b)
{
    store_sink *ss = ctx;
    fl_batch *c = ss->copy;
    fl_err e;
    fl_rc rc;

    if (ss->print)
        print_batch(ss->print, b);
    if (ss->dirty) {
        ss->dirty = 0;
        for (uint32_t i = 1; i < 65536; i++)
            if (ss->map[i])
                store_id(ss, (uint16_t)i);
    }
    fl_batch_clear(c);
    for (int col = 0; col < FL_COL_COUNT; col++) {
        if (!fl_batch_has(b, (fl_col)col))
            continue;
        memcpy(c->col[col], b->col[col], (size_t)fl_col_get((fl_col)col)->width * b->n);
        fl_batch_mark(c, (fl_col)col);
    }
    c->n = b->n;
    for (uint32_t r = 0; r < c->n; r++) {
        uint16_t *ex = &FL_U16(c, FL_COL_EXPORTER)[r];
        uint16_t m = ss->map[*ex];
        *ex = m ? m : store_id(ss, *ex);
    }
    fl_err_clear(&e);
    rc = fl_store_append(ss->st, c, &e);
    if (rc == FL_OK)
        rc = fl_store_tick(ss->st, fl_time_now(), &e);
    if (rc != FL_OK) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fl_log_error("collect: store: %s", buf);
        ss->failed = rc;
        return rc;
    }
    ss->stored += b->n;
    if (ss->expire && fl_time_now() - ss->last_expire >= 60000) {
        fl_store_expire_stats xs;
        ss->last_expire = fl_time_now();
        fl_err_clear(&e);
        if (fl_store_expire(ss->st, &ss->expire_opts, NULL, NULL, &xs, &e) != FL_OK)
            fl_log_warn("collect: expire: %s", e.msg);
        else if (xs.deleted)
            fl_log_info("collect: expired %" PRIu64 " segments (%" PRIu64 " bytes)", xs.deleted,
                        xs.deleted_bytes);
    }
    return FL_OK;
}

static void store_exporter(void *ctx, const fl_collect_exporter *x)
{
    store_sink *ss = ctx;

    log_exporter(NULL, x);
    ss->dirty = 1;
}

static void store_counters(void *ctx, const fl_collect_ifcounters *c)
{
    store_sink *ss = ctx;

    if (ss->print)
        print_counters(ss->print, c);
}

/* ---- collect ----------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

static uint64_t total_flows(fl_collect *c)
{
    uint64_t t = 0;
    size_t n = fl_collect_exporter_count(c);
    for (size_t i = 0; i < n; i++) {
        fl_collect_exporter x;
        if (fl_collect_exporter_get(c, i, &x) == FL_OK)
            t += x.stats.flows;
    }
    return t;
}

int cmd_collect(const cli_cmd *cmd, const cli_args *args)
{
    const char *listen[64];
    size_t nlisten = 0;
    const char *print = cli_get(args, "print"), *store = cli_get(args, "store");
    const char *tfile = cli_get(args, "templates");
    char tpath[4096];
    uint64_t threads = 1, count = 0, duration = 0, sampling = 0;
    fl_prefix allow[64];
    size_t nallow = 0;
    print_sink ps = {0, 0};
    fl_collect_sink sink = {&ps, print_batch, log_exporter, print_counters};
    fl_collect_config cfg;
    fl_collect_server_config scfg;
    fl_collect *c = NULL;
    fl_collect_server *s = NULL;
    store_sink *ss = NULL;
    fl_err e;
    int rc = CLI_EXIT_OK;

    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    for (int i = 0; i < args->n; i++)
        if (strcmp(args->v[i].opt->lng, "listen") == 0 && nlisten < 64)
            listen[nlisten++] = args->v[i].val;
    if (nlisten == 0) {
        listen[nlisten++] = "0.0.0.0:2055";
        listen[nlisten++] = "0.0.0.0:4739";
        listen[nlisten++] = "0.0.0.0:6343";
    }
    if (print != NULL && strcmp(print, "ndjson") != 0 && strcmp(print, "none") != 0)
        return cli_usage_error(cmd, "--print takes ndjson or none");
    if (print == NULL && store == NULL)
        store = "./var/store";
    ps.json = print != NULL && strcmp(print, "ndjson") == 0;
    if ((cli_get(args, "threads") && (parse_u64(cli_get(args, "threads"), &threads) != 0 ||
                                      threads < 1 || threads > 32)) ||
        (cli_get(args, "count") && parse_u64(cli_get(args, "count"), &count) != 0) ||
        (cli_get(args, "duration") && parse_u64(cli_get(args, "duration"), &duration) != 0))
        return cli_usage_error(cmd, "--threads (1..32), --count and --duration take numbers");
    for (int i = 0; i < args->n; i++) {
        if (strcmp(args->v[i].opt->lng, "allow") != 0)
            continue;
        if (nallow == 64)
            return cli_usage_error(cmd, "at most 64 --allow prefixes");
        if (fl_prefix_parse(args->v[i].val, strlen(args->v[i].val), 0, &allow[nallow], &e) !=
            FL_OK)
            return cli_usage_error(cmd, "--allow %s: %s", args->v[i].val, e.msg);
        nallow++;
    }
    if (cli_get(args, "sampling") &&
        (parse_u64(cli_get(args, "sampling"), &sampling) != 0 || sampling > UINT32_MAX))
        return cli_usage_error(cmd, "--sampling takes a rate 1..4294967295");
    if (tfile == NULL && store != NULL) {
        snprintf(tpath, sizeof tpath, "%s/collector-templates.bin", store);
        tfile = tpath;
    }
    fl_collect_config_default(&cfg);
    cfg.template_file = tfile;
    cfg.default_sampling = (uint32_t)sampling;
    cfg.allow = allow;
    cfg.nallow = nallow;
    fl_err_clear(&e);
    if (store != NULL) {
        ss = calloc(1, sizeof *ss);
        if (ss == NULL || (ss->copy = fl_batch_new(0)) == NULL) {
            fprintf(stderr, "flowlens collect: out of memory\n");
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        if (fl_store_open(store, NULL, FL_STORE_WRITE, &ss->st, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens collect: store %s: %s\n", store, buf);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        ss->print = print != NULL ? &ps : NULL;
        sink.ctx = ss;
        sink.on_batch = store_batch;
        sink.on_exporter = store_exporter;
        sink.on_counters = store_counters;
    }
    c = fl_collect_new(&cfg, &sink, &e);
    if (c == NULL) {
        fprintf(stderr, "flowlens collect: %s\n", e.msg);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (ss != NULL)
        ss->c = c;
    memset(&scfg, 0, sizeof scfg);
    scfg.listen = listen;
    scfg.nlisten = nlisten;
    scfg.threads = (unsigned)threads;
    s = fl_collect_server_start(c, &scfg, &e);
    if (s == NULL) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fprintf(stderr, "flowlens collect: %s\n", buf);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < nlisten; i++)
        fl_log_info("collect: listening on %s (port %u)", listen[i],
                    fl_collect_server_port(s, i));
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    {
        fl_time start = fl_time_now();
        while (!stop_flag) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
            if (duration && fl_time_now() - start >= (fl_time)duration * 1000)
                break;
            if (count && total_flows(c) >= count)
                break;
        }
    }
    {
        fl_collect_server_stats st;
        fl_collect_server_get_stats(s, &st);
        fl_collect_server_stop(s);
        s = NULL;
        fprintf(stderr,
                "{\"type\":\"listener\",\"datagrams\":%" PRIu64 ",\"kernel_drops\":%" PRIu64
                ",\"queue_drops\":%" PRIu64 ",\"tcp_connections\":%" PRIu64
                ",\"flows_out\":%" PRIu64 "}\n",
                st.datagrams, st.kernel_drops, st.queue_drops, st.tcp_connections,
                ss != NULL ? ss->stored : ps.flows);
    }
    print_stats(c, stderr);
    if (tfile != NULL) {
        fl_err_clear(&e);
        if (fl_collect_save(c, NULL, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens collect: %s\n", buf);
            rc = CLI_EXIT_FAIL;
        }
    }
out:
    fl_collect_server_stop(s);
    if (ss != NULL) {
        if (ss->st != NULL) {
            fl_err_clear(&e);
            if (fl_store_close(ss->st, &e) != FL_OK) {
                char buf[900];
                fl_err_format(&e, buf, sizeof buf);
                fprintf(stderr, "flowlens collect: store: %s\n", buf);
                rc = CLI_EXIT_FAIL;
            } else {
                fl_log_info("collect: %" PRIu64 " flows stored in %s", ss->stored, store);
            }
            if (ss->failed != FL_OK)
                rc = CLI_EXIT_FAIL;
        }
        fl_batch_free(ss->copy);
        free(ss);
    }
    fl_collect_free(c);
    return rc;
}

/* ---- the collector inside `flowlens serve` ------------------------------ */

struct cli_collector {
    fl_collect *c;
    fl_collect_server *s;
    store_sink *ss;
    char tfile[4096];
};

int cli_collector_start(const char *const *listen, size_t nlisten, fl_store *st,
                        const char *store_dir, const fl_store_expire_opts *expire,
                        cli_collector **out, fl_err *e)
{
    cli_collector *k = calloc(1, sizeof *k);
    fl_collect_sink sink;
    fl_collect_config cfg;
    fl_collect_server_config scfg;

    *out = NULL;
    if (k == NULL || (k->ss = calloc(1, sizeof *k->ss)) == NULL ||
        (k->ss->copy = fl_batch_new(0)) == NULL) {
        cli_collector_stop(k);
        return fl_err_set(e, FL_ENOMEM, "out of memory starting the collector");
    }
    k->ss->st = st;
    if (expire != NULL && (expire->max_age_ms || expire->max_bytes)) {
        k->ss->expire = 1;
        k->ss->expire_opts = *expire;
    }
    snprintf(k->tfile, sizeof k->tfile, "%s/collector-templates.bin", store_dir);
    fl_collect_config_default(&cfg);
    cfg.template_file = k->tfile;
    sink.ctx = k->ss;
    sink.on_batch = store_batch;
    sink.on_exporter = store_exporter;
    sink.on_counters = store_counters;
    k->c = fl_collect_new(&cfg, &sink, e);
    if (k->c == NULL) {
        cli_collector_stop(k);
        return e && e->rc ? e->rc : FL_EINVAL;
    }
    k->ss->c = k->c;
    memset(&scfg, 0, sizeof scfg);
    scfg.listen = listen;
    scfg.nlisten = nlisten;
    scfg.threads = 1;
    k->s = fl_collect_server_start(k->c, &scfg, e);
    if (k->s == NULL) {
        cli_collector_stop(k);
        return e && e->rc ? e->rc : FL_EIO;
    }
    *out = k;
    return FL_OK;
}

uint16_t cli_collector_port(const cli_collector *k, size_t i)
{
    return fl_collect_server_port(k->s, i);
}

uint64_t cli_collector_stored(const cli_collector *k) { return k->ss ? k->ss->stored : 0; }

void cli_collector_stop(cli_collector *k)
{
    fl_err e;

    if (k == NULL)
        return;
    fl_collect_server_stop(k->s); /* drains the queue into the store */
    if (k->c != NULL) {
        fl_err_clear(&e);
        if (fl_collect_save(k->c, NULL, &e) != FL_OK)
            fl_log_warn("serve: saving templates: %s", e.msg);
    }
    fl_collect_free(k->c);
    if (k->ss)
        fl_batch_free(k->ss->copy);
    free(k->ss);
    free(k);
}
