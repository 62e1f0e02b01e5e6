/*
 * cli/main.c — the `flowlens` binary: the subcommand table and dispatch.
 *
 * Every subcommand of DESIGN.md's command surface is listed here with its
 * options, so `flowlens help`, `flowlens CMD --help` and the parser all read
 * one table. Subcommands whose module has not landed say so and exit 1.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FL_VERSION
#define FL_VERSION "0.1.0-dev"
#endif

#define OPT_STORE {"store", 0, "DIR", "flow store directory (default ./var/store)"}
#define OPT_CONFIG {"config", 0, "FILE", "configuration file"}
#define OPT_LOG {"log-level", 0, "LEVEL", "error, warn, info (default) or debug"}
#define OPT_LISTEN {"listen", 0, "ADDR:PORT", "receive flows here (repeatable)"}
#define OPT_NO_BY_ADDRESS                                                                     \
    {"no-by-address", 0, NULL, "keep no by-address copy of each segment (saves about half "  \
                               "the disk; one-IP searches then read every row group)"}
#define OPT_EXPORTER_CONFIG                                                                   \
    {"allow", 0, "PREFIX", "accept exporters only from these networks (repeatable)"},         \
    {"unknown-exporters", 0, "POLICY", "accept or reject exporters no --allow/--exporter-* names " \
                                       "(default: reject when --allow is given)"},            \
    {"exporter-name", 0, "ADDR[/DOMAIN]=NAME", "friendly name of an exporter (repeatable)"}, \
    {"exporter-sampling", 0, "ADDR[/DOMAIN]=N", "exporter's rate when its export states none"}, \
    {"exporter-sampling-override", 0, "ADDR[/DOMAIN]=N", "exporter's rate, whatever it states"}, \
    {"sampling", 0, "N", "sampling rate for flows whose export states none (default: unknown)"}, \
    {"sampling-override", 0, "N", "sampling rate of every flow, whatever the export states"}

static const cli_opt serve_opts[] = {
    OPT_STORE, OPT_LISTEN,
    {"http", 0, "ADDR:PORT", "serve the web UI and API here (default 127.0.0.1:8080)"},
    {"demo", 0, NULL, "simulated exporters: a day of history into an empty store, then live"},
    {"max-age", 0, "DURATION", "expire flows older than this (e.g. 30d)"},
    {"max-size", 0, "BYTES", "keep the store below this size (e.g. 500G)"},
    OPT_NO_BY_ADDRESS,
    {"demo-flows", 0, "N", "serve N generated flows from memory, no store (try-outs, tests)"},
    {"demo-seed", 0, "N", "in-memory demo: generator seed (default 1)"},
    {"demo-end", 0, "TIME", "in-memory demo: end of the history (default now)"},
    {"demo-span", 0, "DURATION", "in-memory demo: length of the history (default 24h; 7d, 90m)"},
    {"time-limit", 0, "MS", "wall-time limit of one API query (default 30000)"},
    {"max-queries", 0, "N", "API queries run at once; more wait up to 10 s (default 1)"},
    {"memory", 0, "MIB", "memory budget of one API query (default 512)"},
    {"cache", 0, "N", "API result cache entries (default 64, 0 disables)"},
    {"tls-cert", 0, "FILE", "serve HTTPS with this PEM certificate (needs --tls-key)"},
    {"tls-key", 0, "FILE", "PEM private key of --tls-cert"},
    {"check", 0, NULL, "print the settings and exit without serving"},
    OPT_EXPORTER_CONFIG,
    {"filters-dir", 0, "DIR", "saved filters for the page and @include (default STORE/filters)"},
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt collect_opts[] = {
    OPT_STORE, OPT_LISTEN,
    {"print", 0, "FORMAT", "print decoded flows: ndjson, or none (count only)"},
    {"threads", 0, "N", "UDP receiver threads per listen address (SO_REUSEPORT)"},
    {"templates", 0, "FILE", "template cache file (default STORE/collector-templates.bin)"},
    {"count", 0, "N", "stop after N flows"},
    {"duration", 0, "SECONDS", "stop after this many seconds"},
    {"rcvbuf", 0, "BYTES", "UDP receive buffer (default 32 MiB)"},
    OPT_NO_BY_ADDRESS,
    {"test-pause-ms", 0, "MS", "tests only: receivers wait this long before reading"},
    OPT_EXPORTER_CONFIG,
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt decode_opts[] = {
    {"json", 0, NULL, "print flows and exporter stats as JSON lines"},
    {"templates", 0, "FILE", "load templates from FILE first and save them back"},
    OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt query_opts[] = {
    OPT_STORE,
    {"read", 'r', "FILE", "read one nfcapd file"},
    {"range", 'R', "FILES", "read a range of nfcapd files (dir, dir/file1:file2)"},
    {"multi", 'M', "DIRS", "read the same files from several directories (base/a:b)"},
    {"time", 't', "WINDOW", "time window: START[-END], START..END, -1h, now-15m"},
    {"stat", 's', "ELEM[/ORDER]", "top-N statistic of an element (srcip, dstport, ...)"},
    {"aggregate", 'A', "FIELDS", "aggregate flows on these fields (srcip,dstport,...)"},
    {"aggr", 'a', NULL, "aggregate on the 5-tuple"},
    {"top", 'n', "N", "number of rows for statistics (0 = all)"},
    {"order", 'O', "KEY", "order listings by tstart, tend, bytes, packets, flows, ..."},
    {"output", 'o', "FORMAT", "line, long, extended, csv, json, ndjson or fmt:..."},
    {"count", 'c', "N", "list at most N flows"},
    {"plain", 'N', NULL, "plain numbers, no k/M/G scaling"},
    {"quiet", 'q', NULL, "no header or summary"},
    {"ipv6-long", '6', NULL, "print IPv6 addresses in full"},
    {"utc", 0, NULL, "read and print times in UTC instead of local time"},
    {"no-scale", 0, NULL, "report raw counters, not scaled by sampling rate"},
    {"summary", 0, NULL, "totals and per-protocol breakdown only"},
    {"having", 0, "COND", "keep aggregated rows where e.g. bytes>1M, flows=1, bpp<100"},
    {"file", 'f', "FILE", "read the filter from FILE (nfdump -f)"},
    {"filters-dir", 0, "DIR", "directory of filter files for @include and %filters%"},
    {"series", 0, "METRIC", "time series of bytes, packets, flows, bps, pps, fps or bpp"},
    {"topseries", 0, "ELEM", "time series of the top -n values of ELEM, plus Other"},
    {"metric", 0, "METRIC", "metric of --topseries (default bytes)"},
    {"step", 0, "STEP", "series step: 60s, 5m (default), 1h"},
    {"per-step", 0, NULL, "topseries: choose the top N in each step (FlowGraph)"},
    {"linear", 0, NULL, "series: spread each flow over its duration"},
    {"window-mode", 0, "MODE", "which flows -t keeps: inside (nfdump), start, end, overlap"},
    {"threads", 0, "N", "scan threads (default: all cores)"},
    {"memory", 0, "MIB", "memory budget of the query (default 1024)"},
    {"no-cache", 0, NULL, "neither read nor write the answer cache (STORE/cache)"},
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt import_opts[] = {
    {"into", 0, "DIR", "store to import into (default ./var/store)"},
    OPT_NO_BY_ADDRESS,
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt gen_opts[] = {
    {"to", 0, "ADDR:PORT", "send exports to this collector"},
    {"proto", 0, "PROTO", "v5, v9, ipfix or sflow"},
    {"rate", 0, "N", "flows per second (0 = as fast as possible)"},
    {"count", 0, "N", "stop after N flows"},
    {"seed", 0, "N", "random seed (default 1)"},
    {"exporters", 0, "N", "simulated exporters (default 4)"},
    {"start", 0, "TIME", "start of the flows' time window (default: an hour ago)"},
    {"window", 0, "DURATION", "length of the time window (default 1h)"},
    {"sampling", 0, "N", "announce 1-in-N packet sampling (default 1)"},
    {"ipv6", 0, "PERCENT", "share of IPv6 flows (default 20)"},
    {"dump", 0, "FILE", "also write the flows sent as CSV (for tests)"},
    {"prebuild", 0, "N", "encode N datagrams once, then resend them (new sequence numbers) with sendmmsg"},
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};


static const cli_opt exporters_opts[] = {
    OPT_STORE, {"output", 'o', "FORMAT", "table (default) or json"},
    {"interfaces", 0, NULL, "list interface and VRF names learnt from options data"},
    {"counters", 0, NULL, "list sFlow interface counter samples (with -t)"},
    {"time", 't', "WINDOW", "--counters: time window (default: the last 24 hours)"},
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt verify_opts[] = {
    OPT_STORE, {"deep", 0, NULL, "decompress and check every chunk"},
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt expire_opts[] = {
    OPT_STORE,
    {"max-age", 0, "DURATION", "delete slots older than this (e.g. 30d)"},
    {"max-size", 0, "BYTES", "keep the store below this size (e.g. 500G)"},
    {"dry-run", 0, NULL, "print what would be deleted"},
    OPT_CONFIG, OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt filter_opts[] = {
    {"explain", 0, NULL, "print the compiled plan of the filter"},
    {"filters-dir", 0, "DIR", "directory of filter files for @include and %filters%"},
    {"file", 'f', "FILE", "read the filter from FILE (nfdump -f)"},
    OPT_LOG, {NULL, 0, NULL, NULL}};

static const cli_opt no_opts[] = {{NULL, 0, NULL, NULL}};

static int cmd_help(const cli_cmd *cmd, const cli_args *args);
static int cmd_version(const cli_cmd *cmd, const cli_args *args);

const cli_cmd cli_commands[] = {
    {"serve", "Collect flows, store them and serve the web UI and API.",
     "[--store DIR] [--http ADDR:PORT] [--listen ADDR:PORT]... [--demo]", serve_opts, cmd_serve},
    {"collect", "Receive NetFlow/IPFIX/sFlow and write it to the store (no UI).",
     "[--store DIR] [--listen ADDR:PORT]...", collect_opts, cmd_collect},
    {"decode", "Decode NetFlow/IPFIX/sFlow datagrams from a pcap or IPFIX file.",
     "FILE... [--json]", decode_opts, cmd_decode},
    {"query", "Answer nfdump-style questions over the store or nfcapd files.",
     "[--store DIR | -r FILE | -R FILES | -M DIRS] [nfdump-style flags] [FILTER]", query_opts,
     cmd_query},
    {"import", "Import nfcapd files into the store.", "SRC... [--into DIR]", import_opts,
     cmd_import},
    {"gen", "Send simulated flow exports to a collector.",
     "--to ADDR:PORT --proto v5|v9|ipfix|sflow [--rate N] [--count N]", gen_opts, cmd_gen},
    {"exporters", "List the exporters the store knows, with what each sent.",
     "[--store DIR] [-o table|json] [--interfaces] [--counters [-t WINDOW]]", exporters_opts, cmd_exporters},
    {"verify", "Check a store's segments and checksums.", "[--store DIR] [--deep]", verify_opts,
     cmd_verify},
    {"expire", "Delete old flows by age or total size.",
     "[--store DIR] [--max-age DURATION] [--max-size BYTES]", expire_opts, cmd_expire},
    {"filter", "Check an nfdump-syntax filter and show its compiled plan.",
     "[--explain] [--filters-dir DIR] 'EXPR' | -f FILE", filter_opts, cmd_filter},
    {"help", "List the subcommands, or show one's help.", "[COMMAND]", no_opts, cmd_help},
    {"version", "Print the version.", "", no_opts, cmd_version},
    {NULL, NULL, NULL, NULL, NULL}};

static const cli_cmd *find_cmd(const char *name)
{
    for (const cli_cmd *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static const cli_opt *find_opt(const cli_cmd *c, const char *lng)
{
    for (const cli_opt *o = c->opts; o && o->lng; o++)
        if (strcmp(o->lng, lng) == 0)
            return o;
    return NULL;
}

static void print_overview(FILE *f)
{
    fprintf(f, "usage: flowlens COMMAND [options]\n\ncommands:\n");
    for (const cli_cmd *c = cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n'flowlens COMMAND --help' shows a command's options.\n");
}

static int cmd_help(const cli_cmd *cmd, const cli_args *args)
{
    const cli_cmd *c;

    if (args->npos == 0) {
        print_overview(stdout);
        return CLI_EXIT_OK;
    }
    c = find_cmd(args->pos[0]);
    if (c == NULL)
        return cli_usage_error(cmd, "unknown command '%s'", args->pos[0]);
    cli_print_help(c);
    return CLI_EXIT_OK;
}

static int cmd_version(const cli_cmd *cmd, const cli_args *args)
{
    (void)cmd;
    (void)args;
    printf("flowlens %s\n", FL_VERSION);
    return CLI_EXIT_OK;
}

/* Which issue brings each subcommand that has not landed yet. */
int cmd_not_built(const cli_cmd *cmd, const cli_args *args)
{
    (void)args;
    fprintf(stderr, "flowlens %s: not built yet in this version\n", cmd->name);
    return CLI_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    const cli_cmd *cmd;
    cli_args args;
    fl_config *config = NULL;
    int rc;

    if (argc < 2) {
        print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_overview(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(NULL, NULL);
    cmd = find_cmd(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "flowlens: unknown command '%s' (see 'flowlens help')\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    rc = cli_parse(cmd, argc - 2, argv + 2, &args);
    if (rc < 0)
        return CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    {
        const char *path = cli_get(&args, "config");
        if (path == NULL)
            path = getenv("FLOWLENS_CONFIG");
        if (path != NULL && path[0] != '\0' && find_opt(cmd, "config")) {
            fl_err e;
            fl_err_clear(&e);
            if (fl_config_load(path, &config, &e) != FL_OK) {
                char msg[800];
                fl_err_format(&e, msg, sizeof msg);
                fprintf(stderr, "flowlens %s: %s\n", cmd->name, msg);
                return CLI_EXIT_USAGE;
            }
            rc = cli_apply_config(cmd, &args, config);
            if (rc != CLI_EXIT_OK) {
                fl_config_free(config);
                return rc;
            }
        }
    }
    {
        const char *lvl = cli_get(&args, "log-level");
        if (lvl != NULL) {
            int l = fl_log_level_parse(lvl);
            if (l < 0) {
                rc = cli_usage_error(cmd, "unknown log level '%s'", lvl);
                fl_config_free(config);
                return rc;
            }
            fl_log_set_level((fl_log_level)l);
        }
    }
    rc = cmd->run(cmd, &args);
    fl_config_free(config);
    return rc;
}
