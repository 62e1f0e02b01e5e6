/*
 * cli/query_args.c — nfdump-style flags of `flowlens query` into a query
 * spec.
 *
 * Kept apart from the command itself so the HTTP API can share the same
 * vocabulary later and so each flag's meaning is in one place: -s, -A, -a,
 * -n, -O, -o, -c, -t, -N, -q plus flowlens' own --series/--topseries/
 * --step/--metric/--window-mode.
 */
#include "cli.h"
#include "query/query.h"

#include <stdlib.h>
#include <string.h>

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

/* "5m", "300s", "1h", "300" (seconds) -> ms */
static int parse_step(const char *s, fl_time *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    fl_time unit = 1000;

    if (end == s)
        return -1;
    if (*end == 's' || *end == '\0')
        unit = 1000;
    else if (*end == 'm')
        unit = 60000;
    else if (*end == 'h')
        unit = 3600000;
    else if (*end == 'd')
        unit = 86400000;
    else
        return -1;
    if (*end != '\0' && end[1] != '\0')
        return -1;
    *out = (fl_time)v * unit;
    return v > 0 ? 0 : -1;
}

int cli_query_spec(const cli_cmd *cmd, const cli_args *a, fl_query_spec *s,
                   int *fmtp, int *flags, char *filter, size_t filter_len)
{
    const char *v;
    fl_err e;
    size_t n = 0;

    fl_query_spec_init(s);
    fl_err_clear(&e);
    fl_render_fmt fmtv = FL_FMT_TABLE, *fmt = &fmtv;
    *flags = 0;
    if (cli_has(a, "utc"))
        *flags |= FL_RENDER_UTC;
    if (cli_has(a, "plain"))
        *flags |= FL_RENDER_PLAIN;
    if (cli_has(a, "quiet"))
        *flags |= FL_RENDER_QUIET;
    s->no_scale = cli_has(a, "no-scale");

    if ((v = cli_get(a, "stat")) != NULL && fl_query_parse_stat(s, v, &e) != FL_OK)
        return cli_usage_error(cmd, "-s %s: %s", v, e.msg);
    if ((v = cli_get(a, "aggregate")) != NULL) {
        if (cli_has(a, "stat"))
            return cli_usage_error(cmd, "-s and -A cannot be combined yet");
        if (fl_query_parse_aggregate(s, v, &e) != FL_OK)
            return cli_usage_error(cmd, "-A %s: %s", v, e.msg);
    }
    if (cli_has(a, "aggr") && !cli_has(a, "aggregate") &&
        fl_query_parse_aggregate(s, "srcip,dstip,srcport,dstport,proto", &e) != FL_OK)
        return cli_usage_error(cmd, "-a: %s", e.msg);
    if (cli_has(a, "summary"))
        s->op = FL_QOP_SUMMARY;
    if ((v = cli_get(a, "series")) != NULL || (v = cli_get(a, "topseries")) != NULL) {
        if (cli_get(a, "topseries")) {
            if (fl_query_parse_stat(s, cli_get(a, "topseries"), &e) != FL_OK)
                return cli_usage_error(cmd, "--topseries: %s", e.msg);
            s->op = FL_QOP_TOPSERIES;
            s->per_step_top = cli_has(a, "per-step");
        } else {
            s->op = FL_QOP_SERIES;
        }
        if (fl_query_parse_metric(cli_get(a, "series") ? cli_get(a, "series")
                                                       : (cli_get(a, "metric") ? cli_get(a, "metric") : "bytes"),
                                  &s->metric, &e) != FL_OK)
            return cli_usage_error(cmd, "%s", e.msg);
        s->step = 300000;
        if ((v = cli_get(a, "step")) != NULL && parse_step(v, &s->step) != 0)
            return cli_usage_error(cmd, "bad --step '%s' (e.g. 300s, 5m, 1h)", v);
        s->linear = cli_has(a, "linear");
        s->window_mode = FL_WIN_START;
    }
    if ((v = cli_get(a, "having")) != NULL && fl_query_parse_having(s, v, &e) != FL_OK)
        return cli_usage_error(cmd, "--having '%s': %s", v, e.msg);
    if ((v = cli_get(a, "top")) != NULL && parse_u64(v, &s->top) != 0)
        return cli_usage_error(cmd, "-n needs a number, not '%s'", v);
    if ((v = cli_get(a, "count")) != NULL && parse_u64(v, &s->limit) != 0)
        return cli_usage_error(cmd, "-c needs a number, not '%s'", v);
    if ((v = cli_get(a, "order")) != NULL) {
        if (fl_query_parse_order(v, &s->order, &e) != FL_OK)
            return cli_usage_error(cmd, "-O: %s", e.msg);
    }
    if (s->op == FL_QOP_AGGREGATE && cli_get(a, "top") && !cli_get(a, "count"))
        s->limit = s->top;
    if ((v = cli_get(a, "time")) != NULL) {
        fl_time_range tr;
        int tflags = cli_has(a, "utc") ? 0 : FL_TIME_LOCAL;
        if (fl_time_range_parse(v, strlen(v), fl_time_now(), tflags, &tr, &e) != FL_OK) {
            char msg[700];
            fl_err_format(&e, msg, sizeof msg);
            return cli_usage_error(cmd, "-t '%s': %s", v, msg);
        }
        s->start = tr.start;
        /* nfdump's -t end is inclusive to the second */
        s->end = tr.end;
    }
    if ((v = cli_get(a, "window-mode")) != NULL) {
        static const char *const modes[] = {"inside", "start", "end", "overlap"};
        int found = 0;
        for (int i = 0; i < 4; i++)
            if (strcmp(v, modes[i]) == 0) {
                s->window_mode = (fl_window_mode)i;
                found = 1;
            }
        if (!found)
            return cli_usage_error(cmd, "--window-mode: inside, start, end or overlap, not '%s'", v);
    }
    if ((v = cli_get(a, "threads")) != NULL) {
        uint64_t t;
        if (parse_u64(v, &t) != 0 || t > 64)
            return cli_usage_error(cmd, "--threads needs a number 0-64, not '%s'", v);
        s->threads = (unsigned)t;
    }
    if ((v = cli_get(a, "memory")) != NULL) {
        uint64_t mb;
        if (parse_u64(v, &mb) != 0 || mb == 0)
            return cli_usage_error(cmd, "--memory needs a size in MiB, not '%s'", v);
        s->memory_budget = (size_t)mb << 20;
    }
    if ((v = cli_get(a, "output")) != NULL) {
        if (strcmp(v, "csv") == 0)
            *fmt = FL_FMT_CSV;
        else if (strcmp(v, "json") == 0)
            *fmt = FL_FMT_JSON;
        else if (strcmp(v, "ndjson") == 0)
            *fmt = FL_FMT_NDJSON;
        else if (strcmp(v, "table") == 0)
            *fmt = FL_FMT_TABLE;
        else {
            /* nfdump's text formats: line, long, extended, fmt:... */
            fl_query_fmt *qf = NULL;
            int fflags = *flags | (cli_has(a, "ipv6-long") ? FL_RENDER_LONGV6 : 0);
            if (fl_query_fmt_parse(v, fflags, &qf, &e) != FL_OK)
                return cli_usage_error(cmd, "-o: %s (formats: line, long, extended, biline, "
                                            "bilong, csv, json, ndjson, fmt:%%tag...)", e.msg);
            fl_query_fmt_free(qf);
            *fmt = FL_FMT_NFDUMP;
            s->format = v;
        }
    }
    if (cli_has(a, "ipv6-long"))
        *flags |= FL_RENDER_LONGV6;
    *fmtp = (int)*fmt;
    /* the filter is the remaining words, joined like nfdump does */
    filter[0] = '\0';
    for (int i = 0; i < a->npos; i++) {
        size_t l = strlen(a->pos[i]);
        if (n + l + 2 > filter_len)
            return cli_usage_error(cmd, "filter longer than %zu bytes", filter_len - 1);
        if (i)
            filter[n++] = ' ';
        memcpy(filter + n, a->pos[i], l + 1);
        n += l;
    }
    return CLI_EXIT_OK;
}
