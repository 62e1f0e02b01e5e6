/*
 * cli/collect_stats.c — what `flowlens collect` and `flowlens serve` share
 * around the collector: the per-exporter configuration flags (names,
 * allowlist, unknown-exporter policy, sampling defaults and overrides)
 * turned into a fl_collect_config, and the statistics file
 * DIR/collector-stats.jsonl that makes the collector's counters visible
 * outside the process (`flowlens exporters` reads it).
 *
 * The stats file is rewritten whole every 5 s by a thread of its own and
 * once more at shutdown: written to a temporary file and renamed over the
 * old one, so a reader sees either the previous or the new version. Its
 * lines: one {"type":"server",...} (with "stopped" in the last version,
 * written at shutdown), one {"type":"exporter",...} per
 * exporter (fl_collect_print_exporter_ext, with the exporter's id in the
 * store), then one {"type":"counters",...} per (exporter, ifindex) with the
 * latest sFlow interface counters.
 */
#include "cli.h"
#include "collect/collect.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATS_INTERVAL_MS 5000

/* ---- configuration --------------------------------------------------- */

static int parse_rate(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static size_t trim(const char **s, size_t n)
{
    while (n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        n--;
    }
    while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
        n--;
    return n;
}

/* "ADDR[/DOMAIN]=VALUE" -> the rule of (ADDR, DOMAIN) in o (merged with an
 * earlier one of the same key) and VALUE. */
static fl_collect_rule *rule_for(cli_collect_opts *o, const char *arg, const char **val,
                                 size_t *vlen, char *why, size_t whylen)
{
    const char *eq = strchr(arg, '=');
    const char *a = arg, *slash;
    size_t alen;
    fl_addr addr;
    uint32_t domain = 0;
    int any = 1;
    fl_err e;

    if (eq == NULL) {
        snprintf(why, whylen, "'%.100s' is not ADDR[/DOMAIN]=VALUE", arg);
        return NULL;
    }
    alen = trim(&a, (size_t)(eq - arg));
    *val = eq + 1;
    *vlen = trim(val, strlen(eq + 1));
    slash = memchr(a, '/', alen);
    if (slash != NULL) {
        uint64_t d = 0;
        size_t dl = alen - (size_t)(slash - a) - 1;
        if (dl == 0 || dl > 10) {
            snprintf(why, whylen, "'%.100s': bad observation domain", arg);
            return NULL;
        }
        for (size_t i = 0; i < dl; i++) {
            if (slash[1 + i] < '0' || slash[1 + i] > '9') {
                snprintf(why, whylen, "'%.100s': bad observation domain", arg);
                return NULL;
            }
            d = d * 10 + (uint64_t)(slash[1 + i] - '0');
        }
        if (d > UINT32_MAX) {
            snprintf(why, whylen, "'%.100s': observation domain above 4294967295", arg);
            return NULL;
        }
        domain = (uint32_t)d;
        any = 0;
        alen = (size_t)(slash - a);
    }
    fl_err_clear(&e);
    if (fl_addr_parse(a, alen, &addr, &e) != FL_OK) {
        snprintf(why, whylen, "'%.100s': %.150s", arg, e.msg);
        return NULL;
    }
    for (size_t i = 0; i < o->nrules; i++) {
        fl_collect_rule *r = &o->rules[i];
        if (r->any_domain == any && r->domain == domain && fl_addr_cmp(r->addr, addr) == 0)
            return r;
    }
    if (o->nrules == CLI_COLLECT_MAX_RULES) {
        snprintf(why, whylen, "more than %d exporter entries", CLI_COLLECT_MAX_RULES);
        return NULL;
    }
    {
        fl_collect_rule *r = &o->rules[o->nrules++];
        memset(r, 0, sizeof *r);
        r->addr = addr;
        r->any_domain = any;
        r->domain = domain;
        return r;
    }
}

int cli_collect_opts_parse(const cli_cmd *cmd, const cli_args *args, cli_collect_opts *o)
{
    const char *s;
    char why[300];

    memset(o, 0, sizeof *o);
    fl_collect_config_default(&o->cfg);
    for (int i = 0; i < args->n; i++) {
        const char *opt = args->v[i].opt->lng, *arg = args->v[i].val, *val;
        size_t vlen;
        fl_collect_rule *r;
        fl_err e;

        if (strcmp(opt, "allow") == 0) {
            if (o->nallow == CLI_COLLECT_MAX_ALLOW)
                return cli_usage_error(cmd, "at most %d --allow prefixes",
                                       CLI_COLLECT_MAX_ALLOW);
            fl_err_clear(&e);
            if (fl_prefix_parse(arg, strlen(arg), 0, &o->allow[o->nallow], &e) != FL_OK)
                return cli_usage_error(cmd, "--allow %s: %s", arg, e.msg);
            o->nallow++;
            continue;
        }
        if (strcmp(opt, "exporter-name") != 0 && strcmp(opt, "exporter-sampling") != 0 &&
            strcmp(opt, "exporter-sampling-override") != 0)
            continue;
        r = rule_for(o, arg, &val, &vlen, why, sizeof why);
        if (r == NULL)
            return cli_usage_error(cmd, "--%s %s", opt, why);
        if (strcmp(opt, "exporter-name") == 0) {
            if (vlen == 0 || vlen >= sizeof r->name)
                return cli_usage_error(cmd, "--exporter-name %s: a name of 1..%zu bytes", arg,
                                       sizeof r->name - 1);
            for (size_t k = 0; k < vlen; k++)
                r->name[k] = ((unsigned char)val[k] < 0x20 || val[k] == 0x7f) ? '?' : val[k];
            r->name[vlen] = '\0';
        } else if (parse_rate(val, vlen, strcmp(opt, "exporter-sampling") == 0
                                             ? &r->default_sampling
                                             : &r->override_sampling) != 0) {
            return cli_usage_error(cmd, "--%s %s: a rate 1..4294967295", opt, arg);
        }
    }
    if ((s = cli_get(args, "sampling")) != NULL &&
        parse_rate(s, strlen(s), &o->cfg.default_sampling) != 0)
        return cli_usage_error(cmd, "--sampling takes a rate 1..4294967295");
    if ((s = cli_get(args, "sampling-override")) != NULL &&
        parse_rate(s, strlen(s), &o->cfg.override_sampling) != 0)
        return cli_usage_error(cmd, "--sampling-override takes a rate 1..4294967295");
    if ((s = cli_get(args, "unknown-exporters")) != NULL) {
        if (strcmp(s, "accept") == 0)
            o->cfg.unknown = FL_UNKNOWN_ACCEPT;
        else if (strcmp(s, "reject") == 0)
            o->cfg.unknown = FL_UNKNOWN_REJECT;
        else
            return cli_usage_error(cmd, "--unknown-exporters: accept or reject, not '%s'", s);
    }
    o->cfg.allow = o->allow;
    o->cfg.nallow = o->nallow;
    o->cfg.rules = o->rules;
    o->cfg.nrules = o->nrules;
    return CLI_EXIT_OK;
}

/* ---- the statistics file --------------------------------------------- */

struct cli_stats_writer {
    char path[4200], tmp[4220];
    fl_collect *c;
    fl_collect_server *s;
    cli_store_id_fn store_id;
    void *ctx;
    fl_time started;
    fl_time stopped; /* set for the last write, at shutdown */
    fl_collect_server_stats last; /* server counters, kept at halt */
    pthread_t th;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void write_stats(cli_stats_writer *w)
{
    FILE *f = fopen(w->tmp, "w");
    char t0[40] = "", t1[40] = "";
    size_t n;

    if (f == NULL) {
        fl_log_warn("collect: cannot write %s", w->tmp);
        return;
    }
    if (w->s != NULL)
        fl_collect_server_get_stats(w->s, &w->last);
    fl_time_format(w->started, FL_TFMT_ISO, 0, t0, sizeof t0);
    fl_time_format(fl_time_now(), FL_TFMT_ISO, 0, t1, sizeof t1);
    fprintf(f,
            "{\"type\":\"server\",\"started\":\"%s\",\"written\":\"%s\",\"datagrams\":%" PRIu64
            ",\"kernel_drops\":%" PRIu64 ",\"queue_drops\":%" PRIu64 ",\"batches\":%" PRIu64
            ",\"tcp_connections\":%" PRIu64 ",\"rejected\":%" PRIu64
            ",\"unattributed\":%" PRIu64 "%s%s%s}\n",
            t0, t1, w->last.datagrams, w->last.kernel_drops, w->last.queue_drops,
            w->last.batches, w->last.tcp_connections, fl_collect_rejected(w->c),
            fl_collect_unattributed(w->c), w->stopped ? ",\"stopped\":\"" : "",
            w->stopped ? t1 : "", w->stopped ? "\"" : "");
    n = fl_collect_exporter_count(w->c);
    for (size_t i = 0; i < n; i++) {
        fl_collect_exporter x;
        if (fl_collect_exporter_get(w->c, i, &x) == FL_OK)
            fl_collect_print_exporter_ext(&x, w->store_id ? w->store_id(w->ctx, x.id) : 0, f);
    }
    for (size_t i = 0; i < n; i++) {
        fl_collect_ifcounters ic;
        uint16_t cid = (uint16_t)(i + 1);
        for (uint32_t j = 0; fl_collect_ifcounters_at(w->c, cid, j, &ic) == FL_OK; j++)
            fl_collect_print_counters(&ic, w->store_id ? w->store_id(w->ctx, cid) : 0, f);
    }
    if (fflush(f) != 0 || ferror(f)) {
        fclose(f);
        remove(w->tmp);
        fl_log_warn("collect: cannot write %s", w->tmp);
        return;
    }
    fclose(f);
    if (rename(w->tmp, w->path) != 0)
        fl_log_warn("collect: cannot rename %s into place", w->tmp);
}

static void *stats_main(void *arg)
{
    cli_stats_writer *w = arg;

    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts, now;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += STATS_INTERVAL_MS / 1000;
        /* wake-ups before the deadline (spurious, signals) wait again */
        do {
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            clock_gettime(CLOCK_REALTIME, &now);
        } while (!w->stop && (now.tv_sec < ts.tv_sec ||
                              (now.tv_sec == ts.tv_sec && now.tv_nsec < ts.tv_nsec)));
        if (w->stop)
            break;
        pthread_mutex_unlock(&w->mu);
        write_stats(w);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

cli_stats_writer *cli_stats_start(const char *dir, fl_collect *c, fl_collect_server *s,
                                  cli_store_id_fn store_id, void *ctx)
{
    cli_stats_writer *w = calloc(1, sizeof *w);

    if (w == NULL)
        return NULL;
    snprintf(w->path, sizeof w->path, "%s/collector-stats.jsonl", dir);
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp", w->path);
    w->c = c;
    w->s = s;
    w->store_id = store_id;
    w->ctx = ctx;
    w->started = fl_time_now();
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    write_stats(w); /* at once: a running collector always has a file */
    if (pthread_create(&w->th, NULL, stats_main, w) == 0)
        w->running = 1;
    else
        fl_log_warn("collect: no statistics thread; %s is written at shutdown only", w->path);
    return w;
}

void cli_stats_halt(cli_stats_writer *w)
{
    if (w == NULL)
        return;
    if (w->running) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        w->running = 0;
    }
    if (w->s != NULL)
        fl_collect_server_get_stats(w->s, &w->last);
    w->s = NULL; /* about to be stopped: keep the last figures */
}

void cli_stats_finish(cli_stats_writer *w, const fl_collect_server_stats *final)
{
    if (w == NULL)
        return;
    cli_stats_halt(w);
    if (final != NULL)
        w->last = *final;
    w->stopped = fl_time_now();
    write_stats(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
