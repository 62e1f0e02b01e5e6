/*
 * cli/cli.h — the flowlens command: subcommand table and option parsing.
 *
 * Private to src/cli. Every subcommand declares its options in a table;
 * the parser turns argv into (option, value) pairs and positional
 * arguments, prints `--help` from the same table, and rejects anything
 * unknown with one line and exit code 2 — so help, parsing and errors can
 * never disagree.
 */
#ifndef FL_CLI_H
#define FL_CLI_H

#include "core/core.h"
#include "collect/collect.h"

#define CLI_MAX_ARGS 128

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_opt {
    const char *lng;      /* long name without "--", NULL ends the table */
    char shrt;            /* short letter, 0 if none */
    const char *arg;      /* argument name, NULL for a flag */
    const char *help;
} cli_opt;

typedef struct cli_args {
    int n;
    struct {
        const cli_opt *opt;
        const char *val; /* NULL for flags */
    } v[CLI_MAX_ARGS];
    int npos;
    const char *pos[CLI_MAX_ARGS];
} cli_args;

typedef struct cli_cmd {
    const char *name;
    const char *summary;
    const char *usage;      /* after "flowlens NAME " */
    const cli_opt *opts;
    int (*run)(const struct cli_cmd *cmd, const cli_args *args);
} cli_cmd;

/*
 * Parse argv (after the subcommand name). Returns CLI_EXIT_OK with *args
 * filled, CLI_EXIT_USAGE after printing a one-line error, or -1 after
 * printing help (the caller exits 0).
 */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *args);
void cli_print_help(const cli_cmd *cmd);
/* Last value of option `lng`, or NULL. */
const char *cli_get(const cli_args *a, const char *lng);
int cli_has(const cli_args *a, const char *lng);
/* Add the config entries of section "" and [cmd] that the command line
 * did not set. Unknown keys and sections are usage errors naming the line.
 * Values point into c, which must outlive args. */
int cli_apply_config(const cli_cmd *cmd, cli_args *a, const fl_config *c);
/* One-line usage error for cmd, exit code 2. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Subcommand entry points (cmd_*.c). */
int cmd_not_built(const cli_cmd *cmd, const cli_args *args);
int cmd_serve(const cli_cmd *cmd, const cli_args *args);
int cmd_collect(const cli_cmd *cmd, const cli_args *args);
int cmd_decode(const cli_cmd *cmd, const cli_args *args);
int cmd_exporters(const cli_cmd *cmd, const cli_args *args);
int cmd_gen(const cli_cmd *cmd, const cli_args *args);
int cmd_query(const cli_cmd *cmd, const cli_args *args);
int cmd_import(const cli_cmd *cmd, const cli_args *args);
int cmd_filter(const cli_cmd *cmd, const cli_args *args);
int cmd_verify(const cli_cmd *cmd, const cli_args *args);
int cmd_expire(const cli_cmd *cmd, const cli_args *args);

extern const cli_cmd cli_commands[];

/* query_args.c: nfdump-style query flags into a spec (query/query.h types
 * are passed as void to keep this header light). */
struct fl_query_spec;
int cli_query_spec(const cli_cmd *cmd, const cli_args *a, struct fl_query_spec *s,
                   int *fmt, int *flags, char *filter, size_t filter_len);

/* query_backend.c: the filter and the backends of `flowlens query` (and of
 * serve's API). Both print their errors (with the filter's position) and
 * return a CLI exit code. */
struct fl_filter;
struct fl_store;
struct fl_store_scan;
struct fl_source;
int cli_filter_compile(const cli_cmd *cmd, const char *text, const char *filters_dir,
                       struct fl_filter **out);
/* The store's pruning predicate for spec qs and filter f (may be NULL):
 * the window, and the filter's protocol, port and exporter ranges. */
struct fl_store_pred;
void cli_store_pred(const struct fl_query_spec *qs, const struct fl_filter *f,
                    struct fl_store_pred *p);
/* 1 when the exact scan of pred applies filter f whole: f is exactly the
 * conjunction of its address terms and every one is in pred. */
int cli_store_filter_applied(const struct fl_filter *f, const struct fl_store_pred *pred);
/* FL_STORE_SCAN_EXACT when pred has address terms, and ANY_ORDER unless
 * the question lists flows (query_backend.c). */
int cli_store_scan_flags(const struct fl_query_spec *qs, const struct fl_store_pred *p);
/* Source src (a scan opened with cli_store_scan_flags(qs, ...)) tells the
 * engine its address order where qs can use it. */
void cli_store_source_order(const struct fl_query_spec *qs, struct fl_source *src);
/* Let scan sc answer qs from the by-address copies' sums where it can:
 * with no filter, fl_query_sums_col (fl_store_scan_sums over qs's window);
 * with a filter the scan applies whole (applied), sums by protocol
 * (fl_query_host_sums_ok, fl_store_scan_host_sums). */
struct fl_store_scan;
void cli_store_scan_sums(const struct fl_query_spec *qs, struct fl_store_scan *sc, int applied);
/* Open the store at dir read-only and a scan for spec qs (and filter f,
 * may be NULL) with the window and filter ranges pushed down. When the
 * scan applies f exactly (cli_store_filter_applied), src->filter_applied
 * is set and f's own columns are not read: the caller must not evaluate f
 * again. */
int cli_store_source(const cli_cmd *cmd, const char *dir, const struct fl_query_spec *qs,
                     const struct fl_filter *f, struct fl_store **st, struct fl_store_scan **sc,
                     struct fl_source *src);
/* fl_source.next_codes over store scan sc: the batch, and up to ncd of the
 * columns cd names as the row group's dictionary codes where it holds them
 * so (cd[i].ndict 0 where not). */
struct fl_qcodes;
struct fl_batch;
fl_rc cli_store_fill_codes(struct fl_store_scan *sc, struct fl_batch *b, struct fl_qcodes *cd,
                           unsigned ncd, fl_err *e);

/* query_cache.c: the fingerprint of the store data a window [start, end)
 * may read (0 on success), and the cache key of a query command line
 * (malloc'd; NULL when the question cannot be cached, e.g. @include). */
int cli_store_data_version(struct fl_store *st, fl_time start, fl_time end, uint64_t *version);
char *cli_query_cache_key(const cli_args *args, const struct fl_query_spec *qs);

/* cmd_store.c: "30d", "12h", "90m" -> ms and "500G", "10M", "1024" ->
 * bytes, as `expire` and `serve` read them; 0 on success. */
int cli_parse_duration(const char *s, fl_time *out);
int cli_parse_size(const char *s, uint64_t *out);

/* cmd_collect.c: the collector as `flowlens serve` runs it — listeners
 * writing into an open store writer (which the caller owns and closes
 * after cli_collector_stop), with retention run from the writer thread. */
typedef struct cli_collector cli_collector;
struct fl_store_expire_opts;
int cli_collector_start(const cli_cmd *cmd, const cli_args *args, const char *const *listen, size_t nlisten,
                        struct fl_store *st, const char *store_dir,
                        const struct fl_store_expire_opts *expire, cli_collector **out,
                        fl_err *e);
uint16_t cli_collector_port(const cli_collector *k, size_t i);
uint64_t cli_collector_stored(const cli_collector *k);
void cli_collector_stop(cli_collector *k);

/* collect_stats.c: the per-exporter flags (--allow, --exporter-name,
 * --exporter-sampling[-override], --sampling[-override],
 * --unknown-exporters) as a collector config (CLI_EXIT_OK or a usage
 * error), and DIR/collector-stats.jsonl rewritten every 5 s. */
#define CLI_COLLECT_MAX_RULES 1024
#define CLI_COLLECT_MAX_ALLOW 64
typedef struct cli_collect_opts {
    fl_collect_config cfg;
    fl_prefix allow[CLI_COLLECT_MAX_ALLOW];
    size_t nallow;
    fl_collect_rule rules[CLI_COLLECT_MAX_RULES];
    size_t nrules;
} cli_collect_opts;
int cli_collect_opts_parse(const cli_cmd *cmd, const cli_args *args, cli_collect_opts *o);
typedef struct cli_stats_writer cli_stats_writer;
typedef uint16_t (*cli_store_id_fn)(void *ctx, uint16_t collector_id);
cli_stats_writer *cli_stats_start(const char *dir, fl_collect *c, fl_collect_server *s,
                                  cli_store_id_fn store_id, void *ctx);
void cli_stats_halt(cli_stats_writer *w);
void cli_stats_finish(cli_stats_writer *w, const fl_collect_server_stats *final);
/* DIR/ifcounters/YYYY-MM-DD.csv: sFlow counter samples, one row each */
#define CLI_IFC_HEADER                                                                        \
    "time_ms,exporter_addr,domain,store_id,ifindex,speed,type,direction,status,in_octets,"    \
    "in_ucast,in_mcast,in_bcast,in_discards,in_errors,out_octets,out_ucast,out_mcast,"       \
    "out_bcast,out_discards,out_errors"

/* serve_demo.c: `serve --demo` on the store: a day of history written into
 * an empty store, and live IPFIX from the same demo exporters sent to the
 * collector's port on loopback. */
fl_rc cli_demo_backfill(struct fl_store *st, uint64_t flows, fl_time end, fl_err *e);
typedef struct cli_demo_live cli_demo_live;
fl_rc cli_demo_live_start(uint16_t port, uint32_t rate, cli_demo_live **out, fl_err *e);
void cli_demo_live_stop(cli_demo_live *d);

#endif
