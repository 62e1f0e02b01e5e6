/*
 * cli/cmd_query.c — `flowlens query` over nfcapd files: plain listings.
 *
 * Until the query engine lands this command lists the flows of an nfdump
 * selection (-r FILE|DIR, -R range, -M dirs) with no filter, statistics or
 * aggregation: `-o csv` prints exactly nfdump's `-o csv` rows (without
 * nfdump's trailing summary) so listings diff against nfdump; `-o json`
 * prints a JSON array of flows keyed by flowlens column names; `-o null`
 * reads and discards (nfdump's -o null, for timing). Files that
 * are missing, empty or corrupt are warned about on stderr and skipped.
 */
#include "cli.h"
#include "nfdump/nfdump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void json_row(FILE *out, const fl_batch *b, uint32_t r, int first)
{
    int any = 0;
    fputs(first ? "{" : ",\n{", out);
    for (int c = 0; c < FL_COL_COUNT; c++) {
        const fl_col_info *ci = fl_col_get((fl_col)c);
        char buf[64];
        if (!fl_batch_has(b, (fl_col)c))
            continue;
        fprintf(out, "%s\"%s\":", any ? "," : "", ci->name);
        any = 1;
        switch (ci->kind) {
        case FL_KIND_ADDR:
            fl_addr_format(FL_ADDRS(b, c)[r], buf, sizeof buf);
            json_str(out, buf);
            break;
        case FL_KIND_MAC:
            fl_mac_format(FL_MACS(b, c)[r], buf, sizeof buf);
            json_str(out, buf);
            break;
        case FL_KIND_TIME:
            fl_time_format(FL_TIMES(b, c)[r], FL_TFMT_ISO, 0, buf, sizeof buf);
            json_str(out, buf);
            break;
        default:
            fprintf(out, "%llu", (unsigned long long)fl_batch_get_u64(b, (fl_col)c, r));
            break;
        }
    }
    fputc('}', out);
}

static int parse_count(const char *s, unsigned long long *out)
{
    char *end;
    if (s == NULL || *s == 0)
        return -1;
    *out = strtoull(s, &end, 10);
    return *end == 0 ? 0 : -1;
}

int cmd_query(const cli_cmd *cmd, const cli_args *args)
{
    static const char *const later[] = {"stat", "aggregate", "aggr", "time", "order", "top",
                                        "store"};
    fl_nfdump_spec spec = {cli_get(args, "read"), cli_get(args, "range"), cli_get(args, "multi")};
    const char *fmt = cli_get(args, "output");
    unsigned long long limit = 0, printed = 0;
    int csv, null_out, quiet = cli_has(args, "quiet"), rc = CLI_EXIT_OK, first = 1;
    fl_nfdump_sel *sel = NULL;
    fl_batch *b = NULL;
    qwarn qw = {0};
    fl_err e;
    static char obuf[1 << 16];

    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (cli_has(args, later[i])) {
            fprintf(stderr,
                    "flowlens query: --%s needs the query engine, not built yet in this "
                    "version; only flow listings of nfcapd files (-r/-R/-M) work\n",
                    later[i]);
            return CLI_EXIT_FAIL;
        }
    if (args->npos > 0) {
        fprintf(stderr, "flowlens query: filters need the query engine, not built yet in this "
                        "version\n");
        return CLI_EXIT_FAIL;
    }
    if (spec.read == NULL && spec.range == NULL)
        return cli_usage_error(cmd, "give -r FILE, -R RANGE (with -M DIRS) to list nfcapd files");
    if (spec.read != NULL && spec.range != NULL)
        return cli_usage_error(cmd, "-r and -R exclude each other");
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
    fflush(stdout);
    if (qw.n > 0)
        fprintf(stderr, "flowlens query: %lu warning%s: files or blocks skipped\n", qw.n,
                qw.n == 1 ? "" : "s");
out:
    fl_batch_free(b);
    fl_nfdump_sel_free(sel);
    return rc;
}
