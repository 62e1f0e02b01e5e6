/*
 * cli/cmd_exporters.c — `flowlens exporters`: the exporter table of a
 * store with what each exporter sent and what the collector counted.
 *
 * Identity (address, observation domain, name, sampling) comes from the
 * store's exporter table; flows, bytes and last flow come from one query
 * over the store (stats by exporter), so the listing shows what is stored.
 * Beside them, the collector's own counters (datagrams, sequence loss,
 * malformed by reason, missing-template sets, queue drops, templates, last
 * seen) come from DIR/collector-stats.jsonl, which `flowlens collect` and
 * `flowlens serve` rewrite every 5 s: the lines of every collector
 * exporter with the same store id are added up. Without that file the
 * listing says so (no collector has written this store).
 *
 * --interfaces lists interface and VRF names learnt from options data;
 * --counters lists the sFlow counter samples of DIR/ifcounters/ in a time
 * window.
 */
#include "cli.h"
#include "query/query.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATS_STALE_MS 15000
#define STATS_MAX_LINES 200000

/* The collector's counters of one store exporter (sums over the lines). */
typedef struct xstats {
    int have;
    char proto[16];
    uint64_t datagrams, flows, templates, seq_lost, seq_reorder, missing_template_sets;
    uint64_t queue_drops, option_records, counter_samples;
    uint64_t malformed[FL_BAD_COUNT];
    uint64_t malformed_total;
    char last_seen[40];
    char sampling_source[16];
} xstats;

typedef struct stats_file {
    int present;
    json_t *server;
    xstats *x; /* by store id, 65536 entries */
    fl_time written;
} stats_file;

static uint64_t jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Read DIR/collector-stats.jsonl; a missing file leaves present = 0. */
static int stats_load(const char *dir, stats_file *sf)
{
    char path[4200], line[8192];
    FILE *f;
    long n = 0;

    memset(sf, 0, sizeof *sf);
    snprintf(path, sizeof path, "%s/collector-stats.jsonl", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? 0 : -1;
    sf->x = calloc(65536, sizeof *sf->x);
    if (sf->x == NULL) {
        fclose(f);
        return -1;
    }
    sf->present = 1;
    while (fgets(line, sizeof line, f) != NULL && n++ < STATS_MAX_LINES) {
        json_t *o = json_loads(line, 0, NULL);
        const char *type = o ? jstr(o, "type") : "";
        if (strcmp(type, "server") == 0) {
            fl_time t;
            json_decref(sf->server);
            sf->server = o;
            if (fl_time_parse(jstr(o, "written"), strlen(jstr(o, "written")), 0, 0, &t, NULL) ==
                FL_OK)
                sf->written = t;
            continue;
        }
        if (strcmp(type, "exporter") == 0) {
            uint64_t id = jnum(o, "store_id");
            json_t *m = json_object_get(o, "malformed");
            if (id > 0 && id < 65536) {
                xstats *x = &sf->x[id];
                x->datagrams += jnum(o, "datagrams");
                x->flows += jnum(o, "flows");
                x->templates += jnum(o, "templates");
                x->seq_lost += jnum(o, "seq_lost");
                x->seq_reorder += jnum(o, "seq_reorder");
                x->missing_template_sets += jnum(o, "missing_template_sets");
                x->queue_drops += jnum(o, "queue_drops");
                x->option_records += jnum(o, "option_records");
                x->counter_samples += jnum(o, "counter_samples");
                for (int i = 0; i < FL_BAD_COUNT; i++) {
                    uint64_t v = jnum(m, fl_collect_bad_name((fl_collect_bad)i));
                    x->malformed[i] += v;
                    x->malformed_total += v;
                }
                if (strcmp(jstr(o, "last_seen"), x->last_seen) > 0)
                    snprintf(x->last_seen, sizeof x->last_seen, "%s", jstr(o, "last_seen"));
                if (!x->have) {
                    snprintf(x->proto, sizeof x->proto, "%s", jstr(o, "proto"));
                    snprintf(x->sampling_source, sizeof x->sampling_source, "%s",
                             jstr(o, "sampling_source"));
                } else if (strcmp(x->proto, jstr(o, "proto")) != 0) {
                    snprintf(x->proto, sizeof x->proto, "mixed");
                }
                x->have = 1;
            }
        }
        json_decref(o);
    }
    fclose(f);
    return 0;
}

static void stats_free(stats_file *sf)
{
    json_decref(sf->server);
    free(sf->x);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json_stats(const xstats *x)
{
    if (x == NULL || !x->have) {
        printf("null");
        return;
    }
    printf("{\"proto\":\"%s\",\"datagrams\":%" PRIu64 ",\"flows\":%" PRIu64
           ",\"templates\":%" PRIu64 ",\"option_records\":%" PRIu64
           ",\"counter_samples\":%" PRIu64 ",\"seq_lost\":%" PRIu64 ",\"seq_reorder\":%" PRIu64
           ",\"missing_template_sets\":%" PRIu64 ",\"queue_drops\":%" PRIu64
           ",\"last_seen\":\"%s\",\"sampling_source\":\"%s\",\"malformed\":{",
           x->proto, x->datagrams, x->flows, x->templates, x->option_records,
           x->counter_samples, x->seq_lost, x->seq_reorder, x->missing_template_sets,
           x->queue_drops, x->last_seen, x->sampling_source);
    for (int i = 0; i < FL_BAD_COUNT; i++)
        printf("%s\"%s\":%" PRIu64, i ? "," : "", fl_collect_bad_name((fl_collect_bad)i),
               x->malformed[i]);
    printf("}}");
}

/* ---- --interfaces ------------------------------------------------------ */

static int list_names(fl_store *st, int json)
{
    uint16_t id;
    int vrf;
    uint32_t key;
    const char *name;
    size_t n = 0;

    if (json)
        printf("[");
    else
        printf("%5s  %-39s %10s  %-4s %10s  %s\n", "id", "address", "domain", "kind", "index",
               "name");
    for (size_t i = 0; fl_store_exporter_name_at(st, i, &id, &vrf, &key, &name) == FL_OK; i++) {
        fl_store_exporter x;
        char addr[FL_ADDR_STRLEN] = "-";
        if (fl_store_exporter_get(st, id, &x) == FL_OK)
            fl_addr_format(x.addr, addr, sizeof addr);
        if (json) {
            printf("%s{\"id\":%u,\"address\":\"%s\",\"domain\":%" PRIu32
                   ",\"kind\":\"%s\",\"index\":%" PRIu32 ",\"name\":",
                   n ? "," : "", id, addr, x.domain, vrf ? "vrf" : "if", key);
            json_str(name);
            printf("}");
        } else {
            printf("%5u  %-39s %10" PRIu32 "  %-4s %10" PRIu32 "  %s\n", id, addr, x.domain,
                   vrf ? "vrf" : "if", key, name);
        }
        n++;
    }
    if (json)
        printf("]\n");
    else if (n == 0)
        printf("(no interface or VRF names: no exporter sent options data naming them)\n");
    return CLI_EXIT_OK;
}

/* ---- --counters -------------------------------------------------------- */

static int split_csv(char *line, char **f, int max)
{
    int k = 0;
    char *p = line;

    while (k < max) {
        f[k++] = p;
        p = strchr(p, ',');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return k;
}

static int list_counters(const cli_cmd *cmd, fl_store *st, const char *dir, const char *window,
                         int json)
{
    fl_time now = fl_time_now();
    fl_time_range r = {now - 86400000LL, now + 1};
    size_t n = 0;
    fl_err e;

    if (window != NULL) {
        fl_err_clear(&e);
        if (fl_time_range_parse(window, strlen(window), now, 0, &r, &e) != FL_OK)
            return cli_usage_error(cmd, "-t %s: %s", window, e.msg);
    }
    if (json)
        printf("[");
    else
        printf("%-24s %5s  %-20s %10s %-12s %12s %6s %16s %12s %8s %16s %12s %8s\n", "time", "id",
               "exporter", "ifindex", "ifname", "speed", "status", "in_octets", "in_ucast",
               "in_err", "out_octets", "out_ucast", "out_err");
    /* one file per UTC day, from the window's first day to its last */
    for (fl_time day = r.start - (r.start % 86400000LL + 86400000LL) % 86400000LL;
         day < r.end && n < 10000000; day += 86400000LL) {
        char name[16], path[4200], line[1024];
        time_t t = (time_t)(day / 1000);
        struct tm tm;
        FILE *f;

        if (gmtime_r(&t, &tm) == NULL)
            break;
        strftime(name, sizeof name, "%Y-%m-%d", &tm);
        snprintf(path, sizeof path, "%s/ifcounters/%s.csv", dir, name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        while (fgets(line, sizeof line, f) != NULL) {
            char *c[21];
            fl_addr a;
            uint16_t id = 0;
            fl_time ts;
            char tbuf[40];
            const char *ifn;
            fl_store_exporter x;
            line[strcspn(line, "\n")] = '\0';
            if (split_csv(line, c, 21) != 21 || c[0][0] < '0' || c[0][0] > '9')
                continue;
            ts = strtoll(c[0], NULL, 10);
            if (ts < r.start || ts >= r.end)
                continue;
            /* the store id when the collector knew it, else by address */
            id = (uint16_t)strtoul(c[3], NULL, 10);
            if (id == 0 && fl_addr_parse(c[1], strlen(c[1]), &a, NULL) == FL_OK)
                fl_store_exporter_id(st, a, (uint32_t)strtoul(c[2], NULL, 10), &id, NULL);
            ifn = id ? fl_store_exporter_ifname(st, id, (uint32_t)strtoul(c[4], NULL, 10)) : NULL;
            fl_time_format(ts, FL_TFMT_ISO, 0, tbuf, sizeof tbuf);
            if (fl_store_exporter_get(st, id, &x) != FL_OK)
                x.name[0] = '\0';
            if (json) {
                printf("%s{\"time\":\"%s\",\"id\":%u,\"exporter_addr\":\"%s\",\"domain\":%s,"
                       "\"name\":",
                       n ? "," : "", tbuf, id, c[1], c[2]);
                json_str(x.name);
                printf(",\"ifindex\":%s,\"ifname\":", c[4]);
                json_str(ifn ? ifn : "");
                printf(",\"speed\":%s,\"type\":%s,\"direction\":%s,\"status\":%s,"
                       "\"in_octets\":%s,\"in_ucast\":%s,\"in_mcast\":%s,\"in_bcast\":%s,"
                       "\"in_discards\":%s,\"in_errors\":%s,\"out_octets\":%s,\"out_ucast\":%s,"
                       "\"out_mcast\":%s,\"out_bcast\":%s,\"out_discards\":%s,\"out_errors\":%s}",
                       c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15],
                       c[16], c[17], c[18], c[19], c[20]);
            } else {
                char ex[80];
                snprintf(ex, sizeof ex, "%s%s%s", x.name[0] ? x.name : c[1],
                         x.name[0] ? "" : "/", x.name[0] ? "" : c[2]);
                printf("%-24s %5u  %-20s %10s %-12s %12s %6s %16s %12s %8s %16s %12s %8s\n", tbuf,
                       id, ex, c[4], ifn ? ifn : "-", c[5], c[8], c[9], c[10], c[14], c[15],
                       c[16], c[20]);
            }
            n++;
        }
        fclose(f);
    }
    if (json)
        printf("]\n");
    else if (n == 0)
        printf("(no interface counter samples in the window: only sFlow exporters send them)\n");
    return CLI_EXIT_OK;
}

/* ---- the listing ------------------------------------------------------- */

int cmd_exporters(const cli_cmd *cmd, const cli_args *args)
{
    const char *dir = cli_get(args, "store") ? cli_get(args, "store") : "./var/store";
    int json = cli_get(args, "output") && strcmp(cli_get(args, "output"), "json") == 0;
    fl_query_spec qs;
    fl_store *st = NULL;
    fl_store_scan *sc = NULL;
    fl_source src;
    fl_qresult *res = NULL;
    stats_file sf;
    fl_err e;
    int rc;
    uint32_t n;

    memset(&sf, 0, sizeof sf);
    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    if (cli_get(args, "output") && !json && strcmp(cli_get(args, "output"), "table") != 0)
        return cli_usage_error(cmd, "-o: table or json, not '%s'", cli_get(args, "output"));
    if (cli_has(args, "time") && !cli_has(args, "counters"))
        return cli_usage_error(cmd, "-t goes with --counters");
    if (cli_has(args, "interfaces") && cli_has(args, "counters"))
        return cli_usage_error(cmd, "--interfaces or --counters, not both");
    fl_query_spec_init(&qs);
    fl_err_clear(&e);
    if (fl_query_parse_stat(&qs, "sysid", &e) != FL_OK)
        return CLI_EXIT_FAIL;
    qs.top = 0;
    rc = cli_store_source(cmd, dir, &qs, NULL, &st, &sc, &src);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (cli_has(args, "interfaces")) {
        rc = list_names(st, json);
        goto out;
    }
    if (cli_has(args, "counters")) {
        rc = list_counters(cmd, st, dir, cli_get(args, "time"), json);
        goto out;
    }
    if (fl_query_run(&qs, src, &res, &e) != FL_OK) {
        char msg[900];
        fl_err_format(&e, msg, sizeof msg);
        fprintf(stderr, "flowlens exporters: %s\n", msg);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (stats_load(dir, &sf) != 0) {
        fprintf(stderr, "flowlens exporters: cannot read %s/collector-stats.jsonl\n", dir);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (!json) {
        if (!sf.present) {
            printf("collector: no statistics (%s/collector-stats.jsonl does not exist: no "
                   "collector is running on this store or ever ran on it)\n", dir);
        } else {
            fl_time age = fl_time_now() - sf.written;
            const char *note = json_object_get(sf.server, "stopped")
                                   ? " (at shutdown: the collector stopped)"
                               : age > STATS_STALE_MS
                                   ? " (not updated since: the collector is not running)"
                                   : "";
            printf("collector: started %s, stats written %s%s; datagrams %" PRIu64
                   ", kernel drops %" PRIu64 ", queue drops %" PRIu64 ", rejected %" PRIu64
                   "\n",
                   jstr(sf.server, "started"), jstr(sf.server, "written"), note,
                   jnum(sf.server, "datagrams"), jnum(sf.server, "kernel_drops"),
                   jnum(sf.server, "queue_drops"), jnum(sf.server, "rejected"));
        }
    }
    n = fl_store_exporter_count(st);
    if (json)
        printf("[");
    else
        printf("%5s  %-39s %10s  %-20s %8s %12s %16s  %-24s  %-8s %9s %10s %10s %9s %9s %9s  %s\n",
               "id", "address", "domain", "name", "sampling", "flows", "bytes", "last flow",
               "proto", "templates", "datagrams", "seq_lost", "malformed", "miss_tpl",
               "q_drops", "last seen");
    for (uint32_t i = 0; i < n; i++) {
        fl_store_exporter x;
        const fl_qrow *row = NULL;
        const xstats *xs;
        char addr[FL_ADDR_STRLEN], last[40] = "-";

        if (fl_store_exporter_at(st, i, &x) != FL_OK)
            continue;
        for (size_t k = 0; k < res->nrows; k++)
            if (res->rows[k].key[0].lo == x.id)
                row = &res->rows[k];
        xs = sf.x != NULL && sf.x[x.id].have ? &sf.x[x.id] : NULL;
        fl_addr_format(x.addr, addr, sizeof addr);
        if (row)
            fl_time_format(row->c.last, FL_TFMT_ISO, 0, last, sizeof last);
        if (json) {
            printf("%s{\"id\":%u,\"address\":\"%s\",\"domain\":%" PRIu32 ",\"name\":",
                   i ? "," : "", x.id, addr, x.domain);
            json_str(x.name);
            printf(",\"sampling\":%" PRIu32 ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64
                   ",\"last\":%s%s%s,\"collector\":",
                   x.sampling, row ? row->c.flows : 0, row ? row->c.bytes + row->c.out_bytes : 0,
                   row ? "\"" : "", row ? last : "null", row ? "\"" : "");
            print_json_stats(xs);
            printf("}");
        } else {
            printf("%5u  %-39s %10" PRIu32 "  %-20s %8" PRIu32 " %12" PRIu64 " %16" PRIu64
                   "  %-24s",
                   x.id, addr, x.domain, x.name[0] ? x.name : "-", x.sampling,
                   row ? row->c.flows : 0, row ? row->c.bytes + row->c.out_bytes : 0, last);
            if (xs)
                printf("  %-8s %9" PRIu64 " %10" PRIu64 " %10" PRIu64 " %9" PRIu64 " %9" PRIu64
                       " %9" PRIu64 "  %s\n",
                       xs->proto, xs->templates, xs->datagrams, xs->seq_lost,
                       xs->malformed_total, xs->missing_template_sets, xs->queue_drops,
                       xs->last_seen);
            else
                printf("  %-8s %9s %10s %10s %9s %9s %9s  %s\n", "-", "-", "-", "-", "-", "-", "-",
                       "-");
        }
    }
    if (json) {
        /* "collector": null on every exporter says there are no statistics */
        printf("]\n");
    } else {
        /* malformed datagrams by reason, for the exporters that sent any */
        for (uint32_t i = 0; i < n && sf.x != NULL; i++) {
            fl_store_exporter x;
            if (fl_store_exporter_at(st, i, &x) != FL_OK || !sf.x[x.id].have ||
                sf.x[x.id].malformed_total == 0)
                continue;
            printf("exporter %u malformed:", x.id);
            for (int k = 0; k < FL_BAD_COUNT; k++)
                if (sf.x[x.id].malformed[k])
                    printf(" %s %" PRIu64, fl_collect_bad_name((fl_collect_bad)k),
                           sf.x[x.id].malformed[k]);
            printf("\n");
        }
    }
    rc = CLI_EXIT_OK;
out:
    stats_free(&sf);
    fl_qresult_free(res);
    fl_store_scan_free(sc);
    fl_store_close(st, NULL);
    return rc;
}
