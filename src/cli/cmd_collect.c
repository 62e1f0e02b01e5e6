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
#include <dirent.h>
#include <sys/stat.h>
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
    fl_collect_sink sink = {&ps, print_batch, log_exporter, print_counters, NULL};
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
 * view of the batch (its columns, shared, with the exporter column
 * swapped for a remapped copy) carries the store's ids: only that one
 * column is copied per batch. When an exporter's sampling,
 * name or interface/VRF names change (dirty), every exporter is mapped
 * and its description copied into the store's exporter table.
 *
 * sFlow counter samples are appended to DIR/ifcounters/YYYY-MM-DD.csv
 * (UTC day of receipt; at most IFC_DAY_MAX bytes a day) from the receiver
 * thread that decoded them; rows name the exporter by address and domain
 * (the store id may not be known yet).
 */
#define IFC_DAY_MAX (256ull << 20)

typedef struct ident {
    fl_addr addr;
    uint32_t domain;
} ident;

typedef struct store_sink {
    fl_store *st;
    fl_collect *c;
    print_sink *print;
    uint16_t *exp;            /* remapped exporter column */
    uint32_t exp_cap;
    char dir[4096];
    uint16_t map[65536];      /* collector id -> store id (atomic access) */
    uint32_t rate[65536];
    char name[65536][8];      /* first bytes of the name last written */
    ident *ids;               /* collector id -> identity, from on_exporter */
    volatile int dirty;       /* an exporter's description changed */
    uint64_t stored;
    fl_rc failed;
    /* retention, run from this (the writer) thread at most once a minute */
    int expire;
    fl_store_expire_opts expire_opts;
    fl_time last_expire;
    /* counters file, written under the collector's table lock */
    FILE *cf;
    char cday[16];
    uint64_t cbytes;
    uint64_t cdropped;
} store_sink;

static uint16_t map_get(store_sink *ss, uint16_t cid)
{
    return __atomic_load_n(&ss->map[cid], __ATOMIC_RELAXED);
}

static uint16_t stats_store_id(void *ctx, uint16_t cid) { return map_get(ctx, cid); }

static void sync_names(store_sink *ss, uint16_t cid, uint16_t sid)
{
    char buf[FL_COLLECT_NAME_MAX];
    uint32_t key;
    fl_err e;

    for (int vrf = 0; vrf < 2; vrf++)
        for (uint32_t i = 0; fl_collect_name_at(ss->c, cid, vrf, i, &key, buf, sizeof buf) == FL_OK;
             i++) {
            fl_err_clear(&e);
            if ((vrf ? fl_store_exporter_set_vrfname(ss->st, sid, key, buf, &e)
                     : fl_store_exporter_set_ifname(ss->st, sid, key, buf, &e)) != FL_OK) {
                fl_log_warn("collect: store: names of exporter %u: %s", sid, e.msg);
                return;
            }
        }
}

static uint16_t store_id(store_sink *ss, uint16_t cid, int names)
{
    fl_collect_exporter x;
    fl_err e;
    uint16_t id = 0;

    if (cid == 0 || fl_collect_exporter_get(ss->c, (size_t)cid - 1, &x) != FL_OK)
        return 0;
    fl_err_clear(&e);
    if (ss->map[cid] == 0 && fl_store_exporter_id(ss->st, x.addr, x.domain, &id, &e) == FL_OK)
        __atomic_store_n(&ss->map[cid], id, __ATOMIC_RELAXED);
    id = ss->map[cid];
    if (id == 0)
        return 0;
    if (x.sampling_rate != ss->rate[cid] ||
        (x.name[0] && strncmp(x.name, ss->name[cid], sizeof ss->name[cid]) != 0)) {
        fl_store_exporter se;
        ss->rate[cid] = x.sampling_rate;
        memcpy(ss->name[cid], x.name, sizeof ss->name[cid]);
        if (fl_store_exporter_get(ss->st, id, &se) == FL_OK &&
            (se.sampling != x.sampling_rate || (x.name[0] && strcmp(se.name, x.name) != 0)))
            fl_store_exporter_update(ss->st, id, x.name[0] ? x.name : se.name, x.sampling_rate,
                                     &e);
    }
    if (names)
        sync_names(ss, cid, id);
    return id;
}

/* Every exporter of the collector into the store's table (writer only). */
static void sync_all(store_sink *ss)
{
    size_t n = fl_collect_exporter_count(ss->c);

    ss->dirty = 0;
    for (size_t i = 0; i < n && i < 65535; i++)
        store_id(ss, (uint16_t)(i + 1), 1);
}

static void expire_counters(store_sink *ss, fl_time now)
{
    char dir[4200], day[16], path[4480];
    fl_time cut = now - ss->expire_opts.max_age_ms;
    time_t t = (time_t)(cut / 1000);
    struct tm tm;
    DIR *d;
    struct dirent *de;

    if (ss->expire_opts.max_age_ms <= 0 || gmtime_r(&t, &tm) == NULL)
        return;
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(dir, sizeof dir, "%s/ifcounters", ss->dir);
    if ((d = opendir(dir)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        /* a day file whose whole day ended before the cut */
        if (l == 14 && strcmp(de->d_name + 10, ".csv") == 0 && strncmp(de->d_name, day, 10) < 0) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            if (remove(path) == 0)
                fl_log_info("collect: expired %s", path);
        }
    }
    closedir(d);
}

/* Between batches: the store's time-based work (flush of the open slot
 * every second, closing a slot whose time is past) happens here too, so
 * the last flows of a quiet exporter become visible without more traffic;
 * and the by-address copies older segments lack are made, one at a time. */
static void store_idle(void *ctx)
{
    store_sink *ss = ctx;
    int more;
    fl_err e;

    if (ss->failed)
        return;
    fl_err_clear(&e);
    if (fl_store_tick(ss->st, fl_time_now(), &e) != FL_OK) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fl_log_error("collect: store: %s", buf);
        ss->failed = e.rc ? e.rc : FL_EIO;
        return;
    }
    if (fl_store_backfill(ss->st, &more, &e) != FL_OK) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fl_log_warn("collect: store: by-address copies: %s", buf);
    }
}

static fl_rc store_batch(void *ctx, const fl_batch *b)
{
    store_sink *ss = ctx;
    fl_batch v = *b; /* a view: b's columns but the exporter column */
    const uint16_t *src = FL_U16(b, FL_COL_EXPORTER);
    fl_err e;
    fl_rc rc;

    if (ss->print)
        print_batch(ss->print, b);
    fl_err_clear(&e);
    if (b->n > ss->exp_cap) {
        uint16_t *p = realloc(ss->exp, (size_t)b->n * sizeof *p);
        if (p == NULL) {
            fl_log_error("collect: store: out of memory");
            return FL_ENOMEM;
        }
        ss->exp = p;
        ss->exp_cap = b->n;
    }
    for (uint32_t r = 0; r < b->n; r++) {
        uint16_t m = ss->map[src[r]];
        ss->exp[r] = m ? m : store_id(ss, src[r], 1);
    }
    v.col[FL_COL_EXPORTER] = ss->exp;
    fl_batch_mark(&v, FL_COL_EXPORTER);
    if (ss->dirty)
        sync_all(ss);
    rc = fl_store_append(ss->st, &v, &e);
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
        expire_counters(ss, ss->last_expire);
    }
    return FL_OK;
}

static void store_exporter(void *ctx, const fl_collect_exporter *x)
{
    store_sink *ss = ctx;

    log_exporter(NULL, x);
    if (ss->ids != NULL && x->id != 0) {
        ss->ids[x->id].addr = x->addr;
        ss->ids[x->id].domain = x->domain;
    }
    ss->dirty = 1;
}

static void store_counters(void *ctx, const fl_collect_ifcounters *c)
{
    store_sink *ss = ctx;
    char day[16], path[4200], a[FL_ADDR_STRLEN] = "";
    time_t t = (time_t)(c->time / 1000);
    struct tm tm;
    int n;

    if (ss->print)
        print_counters(ss->print, c);
    if (ss->dir[0] == '\0' || gmtime_r(&t, &tm) == NULL)
        return;
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    if (ss->cf == NULL || strcmp(day, ss->cday) != 0) {
        if (ss->cf != NULL)
            fclose(ss->cf);
        snprintf(path, sizeof path, "%s/ifcounters", ss->dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/ifcounters/%s.csv", ss->dir, day);
        ss->cf = fopen(path, "a");
        if (ss->cf == NULL) {
            fl_log_warn("collect: cannot append to %s", path);
            return;
        }
        memcpy(ss->cday, day, sizeof day);
        fseek(ss->cf, 0, SEEK_END);
        ss->cbytes = (uint64_t)ftell(ss->cf);
        if (ss->cbytes == 0)
            ss->cbytes += (uint64_t)fprintf(ss->cf, "%s\n", CLI_IFC_HEADER);
    }
    if (ss->cbytes >= IFC_DAY_MAX) {
        if (ss->cdropped++ == 0)
            fl_log_warn("collect: %s/ifcounters/%s.csv reached %llu bytes; counters of the day "
                        "dropped", ss->dir, day, (unsigned long long)IFC_DAY_MAX);
        return;
    }
    if (ss->ids != NULL)
        fl_addr_format(ss->ids[c->exporter].addr, a, sizeof a);
    n = fprintf(ss->cf,
                "%" PRId64 ",%s,%" PRIu32 ",%u,%" PRIu32 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32
                ",%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
                (int64_t)c->time, a, ss->ids ? ss->ids[c->exporter].domain : 0,
                map_get(ss, c->exporter), c->ifindex, c->speed, c->type, c->direction, c->status,
                c->in_octets, c->in_ucast, c->in_mcast, c->in_bcast, c->in_discards, c->in_errors,
                c->out_octets, c->out_ucast, c->out_mcast, c->out_bcast, c->out_discards,
                c->out_errors);
    if (n > 0)
        ss->cbytes += (uint64_t)n;
    fflush(ss->cf);
}

static store_sink *store_sink_new(fl_store *st, const char *dir)
{
    store_sink *ss = calloc(1, sizeof *ss);

    if (ss == NULL)
        return NULL;
    ss->ids = calloc(65536, sizeof *ss->ids);
    if (ss->ids == NULL) {
        free(ss);
        return NULL;
    }
    ss->st = st;
    snprintf(ss->dir, sizeof ss->dir, "%s", dir);
    return ss;
}

static void store_sink_free(store_sink *ss)
{
    if (ss == NULL)
        return;
    if (ss->cf != NULL)
        fclose(ss->cf);
    free(ss->exp);
    free(ss->ids);
    free(ss);
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
    uint64_t threads = 1, count = 0, duration = 0, rcvbuf = 0, pause_ms = 0;
    print_sink ps = {0, 0};
    fl_collect_sink sink = {&ps, print_batch, log_exporter, print_counters, NULL};
    cli_collect_opts *co = NULL;
    fl_collect_server_config scfg;
    fl_collect *c = NULL;
    fl_collect_server *s = NULL;
    store_sink *ss = NULL;
    cli_stats_writer *sw = NULL;
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
        (cli_get(args, "duration") && parse_u64(cli_get(args, "duration"), &duration) != 0) ||
        (cli_get(args, "rcvbuf") &&
         (parse_u64(cli_get(args, "rcvbuf"), &rcvbuf) != 0 || rcvbuf > (1u << 30))) ||
        (cli_get(args, "test-pause-ms") &&
         (parse_u64(cli_get(args, "test-pause-ms"), &pause_ms) != 0 || pause_ms > 60000)))
        return cli_usage_error(cmd, "--threads (1..32), --count, --duration, --rcvbuf (bytes) "
                                    "and --test-pause-ms (0..60000) take numbers");
    co = calloc(1, sizeof *co);
    if (co == NULL) {
        fprintf(stderr, "flowlens collect: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    rc = cli_collect_opts_parse(cmd, args, co);
    if (rc != CLI_EXIT_OK)
        goto out;
    if (tfile == NULL && store != NULL) {
        snprintf(tpath, sizeof tpath, "%s/collector-templates.bin", store);
        tfile = tpath;
    }
    co->cfg.template_file = tfile;
    fl_err_clear(&e);
    if (store != NULL) {
        fl_store *st = NULL;
        fl_store_opts wo;
        fl_store_opts_default(&wo);
        /* copies the copier cannot keep up with wait for an idle moment */
        wo.by_addr = cli_has(args, "no-by-address") ? 0 : 2;
        if (fl_store_open(store, &wo, FL_STORE_WRITE, &st, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens collect: store %s: %s\n", store, buf);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        ss = store_sink_new(st, store);
        if (ss == NULL) {
            fl_store_close(st, NULL);
            fprintf(stderr, "flowlens collect: out of memory\n");
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        ss->print = print != NULL ? &ps : NULL;
        sink.ctx = ss;
        sink.on_batch = store_batch;
        sink.on_exporter = store_exporter;
        sink.on_counters = store_counters;
        sink.on_idle = store_idle;
    }
    c = fl_collect_new(&co->cfg, &sink, &e);
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
    scfg.rcvbuf = (int)rcvbuf;
    scfg.test_pause_ms = (fl_time)pause_ms;
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
    if (store != NULL)
        sw = cli_stats_start(store, c, s, ss ? stats_store_id : NULL, ss);
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
        cli_stats_halt(sw);
        fl_collect_server_get_stats(s, &st);
        fl_collect_server_stop(s);
        s = NULL;
        if (ss != NULL)
            sync_all(ss); /* names and sampling that arrived without flows */
        cli_stats_finish(sw, &st);
        sw = NULL;
        fprintf(stderr,
                "{\"type\":\"listener\",\"datagrams\":%" PRIu64 ",\"kernel_drops\":%" PRIu64
                ",\"queue_drops\":%" PRIu64 ",\"tcp_connections\":%" PRIu64
                ",\"rejected\":%" PRIu64 ",\"flows_out\":%" PRIu64 "}\n",
                st.datagrams, st.kernel_drops, st.queue_drops, st.tcp_connections,
                fl_collect_rejected(c), ss != NULL ? ss->stored : ps.flows);
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
    cli_stats_halt(sw);
    fl_collect_server_stop(s);
    cli_stats_finish(sw, NULL);
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
        store_sink_free(ss);
    }
    fl_collect_free(c);
    free(co);
    return rc;
}

/* ---- the collector inside `flowlens serve` ------------------------------ */

struct cli_collector {
    fl_collect *c;
    fl_collect_server *s;
    store_sink *ss;
    cli_stats_writer *sw;
    cli_collect_opts *co;
    char tfile[4096];
};

int cli_collector_start(const cli_cmd *cmd, const cli_args *args, const char *const *listen, size_t nlisten,
                        fl_store *st, const char *store_dir, const fl_store_expire_opts *expire,
                        cli_collector **out, fl_err *e)
{
    cli_collector *k = calloc(1, sizeof *k);
    fl_collect_sink sink;
    fl_collect_server_config scfg;

    *out = NULL;
    if (k == NULL || (k->ss = store_sink_new(st, store_dir)) == NULL ||
        (k->co = calloc(1, sizeof *k->co)) == NULL) {
        cli_collector_stop(k);
        return fl_err_set(e, FL_ENOMEM, "out of memory starting the collector");
    }
    if (cmd != NULL && args != NULL) {
        if (cli_collect_opts_parse(cmd, args, k->co) != CLI_EXIT_OK) {
            cli_collector_stop(k);
            return fl_err_set(e, FL_EINVAL, "bad exporter configuration");
        }
    } else {
        fl_collect_config_default(&k->co->cfg);
    }
    if (expire != NULL && (expire->max_age_ms || expire->max_bytes)) {
        k->ss->expire = 1;
        k->ss->expire_opts = *expire;
    }
    snprintf(k->tfile, sizeof k->tfile, "%s/collector-templates.bin", store_dir);
    k->co->cfg.template_file = k->tfile;
    sink.ctx = k->ss;
    sink.on_batch = store_batch;
    sink.on_exporter = store_exporter;
    sink.on_counters = store_counters;
    sink.on_idle = store_idle;
    k->c = fl_collect_new(&k->co->cfg, &sink, e);
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
    k->sw = cli_stats_start(store_dir, k->c, k->s, stats_store_id, k->ss);
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
    fl_collect_server_stats st;
    fl_err e;

    if (k == NULL)
        return;
    memset(&st, 0, sizeof st);
    cli_stats_halt(k->sw);
    if (k->s != NULL)
        fl_collect_server_get_stats(k->s, &st);
    fl_collect_server_stop(k->s); /* drains the queue into the store */
    if (k->c != NULL && k->ss != NULL && k->ss->st != NULL)
        sync_all(k->ss);
    cli_stats_finish(k->sw, k->s ? &st : NULL);
    if (k->c != NULL) {
        fl_err_clear(&e);
        if (fl_collect_save(k->c, NULL, &e) != FL_OK)
            fl_log_warn("serve: saving templates: %s", e.msg);
    }
    fl_collect_free(k->c);
    store_sink_free(k->ss);
    free(k->co);
    free(k);
}
