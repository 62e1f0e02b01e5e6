/*
 * query/render.c — printing query results.
 *
 * Three audiences: people (nfdump's plain tables, so the eye finds what it
 * knows), scripts that parse nfdump (its -o csv layouts, byte for byte, so
 * they keep working and so tests can diff us against nfdump), and programs
 * (JSON / NDJSON with raw numbers and ISO times). Flow listings are written
 * from the schema table so a new column appears in JSON without edits here.
 */
#include "query_int.h"
#include "nfdump/nfdump.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

/* nfdump's format_number: k = 1000, one decimal, M/G/T suffixes. */
static void fmt_number(uint64_t num, int plain, int fixed, char *s, size_t len)
{
    double f = (double)num;

    if (plain)
        snprintf(s, len, "%" PRIu64, num);
    else if (f >= 1e12)
        snprintf(s, len, fixed ? "%5.1f T" : "%.1f T", f / 1e12);
    else if (f >= 1e9)
        snprintf(s, len, fixed ? "%5.1f G" : "%.1f G", f / 1e9);
    else if (f >= 1e6)
        snprintf(s, len, fixed ? "%5.1f M" : "%.1f M", f / 1e6);
    else
        snprintf(s, len, fixed ? "%4.0f" : "%.0f", f);
}

/* Seconds-resolution date as nfdump prints it (local time unless utc). */
static void fmt_date(fl_time t, int utc, char *buf, size_t len)
{
    time_t sec = (time_t)(t / 1000);
    struct tm tm;

    if (utc)
        gmtime_r(&sec, &tm);
    else
        localtime_r(&sec, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* nfdump's duration: "    hh:mm:ss.mmm", or "Nd hh:mm:ss.mmm" past a day. */
static void fmt_duration(double d, char *buf, size_t len)
{
    /* wide integers: a flow ending before it starts lasts ~2^64 ms */
    long long days = (long long)(d / 86400);
    double sum = 86400.0 * (double)days;
    int hours = (int)((d - sum) / 3600);
    int min;

    sum += 3600.0 * hours;
    min = (int)((d - sum) / 60);
    if (days == 0)
        snprintf(buf, len, "    %02d:%02d:%06.3f", hours, min, d - sum - 60 * min);
    else
        snprintf(buf, len, "%2lldd %02d:%02d:%06.3f", days, hours, min, d - sum - 60 * min);
}

/* Per-row derived values the way nfdump prints them (double division). */
typedef struct derived {
    uint64_t packets, bytes, pps, bps, bpp;
    double duration;
} derived;

static derived derive(const fl_qcounters *c, int inout)
{
    derived d;

    d.packets = c->packets + (inout ? c->out_packets : 0);
    d.bytes = c->bytes + (inout ? c->out_bytes : 0);
    /* unsigned, as nfdump computes it: a flow whose end precedes its start
     * gets a huge duration and rates of 0, not negative rates */
    d.duration = (double)(uint64_t)(c->last - c->first) / 1000.0;
    if (d.duration != 0) {
        double pps = (double)d.packets / d.duration, bps = (double)(8 * d.bytes) / d.duration;
        /* saturate where nfdump's conversion would be undefined */
        d.pps = pps >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)pps;
        d.bps = bps >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)bps;
    } else {
        d.pps = d.bps = 0;
    }
    d.bpp = d.packets ? d.bytes / d.packets : 0;
    return d;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? (double)(part * 100) / (double)whole : 0;
}

static void nfdump_tail(const fl_query_spec *s, uint64_t processed, uint64_t passed, int flags,
                        FILE *f);

static const char *const order_names[] = {"flows", "packets", "bytes", "pps",
                                          "bps",   "bpp",     "tstart", "tend"};

static const char *element_header(const fl_query_spec *s)
{
    static char buf[64];
    size_t n = strcspn(s->element ? s->element : "", ":/");
    const qelem *el = s->element ? query_elem(s->element, n) : NULL;

    if (el)
        return el->header;
    snprintf(buf, sizeof buf, "%.*s", (int)n, s->element ? s->element : "");
    return buf;
}

static void key_string(const fl_query_spec *s, const fl_qfield *f, fl_addr k, int plain,
                       char *buf, size_t len)
{
    (void)s;
    if (f->has_prefix) {
        fl_prefix p;
        p.addr = k;
        p.len = (uint8_t)(fl_addr_is_v4(k) ? (f->v6 ? 128 : 96 + f->prefix)
                                           : (f->v6 ? f->prefix : 128));
        fl_prefix_format(&p, buf, len);
        return;
    }
    query_key_format(f->col[0], k, plain, buf, len);
}

static void summary_csv(const fl_qresult *r, FILE *f)
{
    const fl_qcounters *t = &r->total;
    double dur = t->flows ? (double)(t->last - t->first) / 1000.0 : 0;
    uint64_t bps = 0, pps = 0, bpp = 0, bytes = t->bytes + t->out_bytes,
             packets = t->packets + t->out_packets;

    if (dur > 0 && t->last > 0) {
        bps = (uint64_t)((double)(bytes << 3) / dur);
        pps = (uint64_t)((double)packets / dur);
        bpp = packets ? bytes / packets : 0;
    }
    fprintf(f, "Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n");
    fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
            t->flows, bytes, packets, bps, pps, bpp);
}

static void summary_table(const fl_qresult *r, int flags, FILE *f)
{
    const fl_qcounters *t = &r->total;
    double dur = t->flows ? (double)(t->last - t->first) / 1000.0 : 0;
    uint64_t bps = 0, pps = 0, bpp = 0, bytes = t->bytes + t->out_bytes,
             packets = t->packets + t->out_packets;
    char b[32], p[32], bs[32], ps[32], bp[32];
    int plain = flags & FL_RENDER_PLAIN;

    if (dur > 0 && t->last > 0) {
        bps = (uint64_t)((double)(bytes << 3) / dur);
        pps = (uint64_t)((double)packets / dur);
        bpp = packets ? bytes / packets : 0;
    }
    fmt_number(bytes, plain, 0, b, sizeof b);
    fmt_number(packets, plain, 0, p, sizeof p);
    fmt_number(bps, plain, 0, bs, sizeof bs);
    fmt_number(pps, plain, 0, ps, sizeof ps);
    fmt_number(bpp, plain, 0, bp, sizeof bp);
    fprintf(f,
            "Summary: total flows: %" PRIu64 ", total bytes: %s, total packets: %s, avg bps: %s, "
            "avg pps: %s, avg bpp: %s\n",
            t->flows, b, p, bs, ps, bp);
}

static void render_stats(const fl_query_spec *s, const fl_qresult *r, fl_render_fmt fmt,
                         int flags, FILE *f)
{
    fl_order o = s->order == FL_ORDER_NONE ? FL_ORDER_FLOWS : s->order;
    int inout = o != FL_ORDER_FLOWS;
    int plain = flags & FL_RENDER_PLAIN, utc = flags & FL_RENDER_UTC;
    uint64_t tot_packets = r->total.packets + r->total.out_packets;
    uint64_t tot_bytes = r->total.bytes + r->total.out_bytes;

    if (fmt == FL_FMT_CSV) {
        fprintf(f, inout ? "ts,te,td,pr,val,fl,flP,pkt,pktP,byt,bytP,pps,bps,bpp\n"
                         : "ts,te,td,pr,val,fl,flP,ipkt,ipktP,ibyt,ibytP,ipps,ibps,ibpp\n");
    } else if (fmt == FL_FMT_TABLE && !(flags & FL_RENDER_QUIET)) {
        if (s->top)
            fprintf(f, "Top %" PRIu64 " %s ordered by %s:\n", s->top, element_header(s),
                    order_names[o]);
        else
            fprintf(f, "Top %s ordered by %s:\n", element_header(s), order_names[o]);
        fprintf(f,
                "Date first seen                 Duration Proto %17s    Flows(%%)     "
                "Packets(%%)       Bytes(%%)         pps      bps   bpp\n",
                element_header(s));
    } else if (fmt == FL_FMT_JSON) {
        fprintf(f, "{\"element\":\"%s\",\"order\":\"%s\",\"distinct\":%" PRIu64 ",\"rows\":[",
                s->element ? s->element : "", order_names[o], r->distinct);
    }
    for (size_t i = 0; i < r->nrows; i++) {
        const fl_qrow *row = &r->rows[i];
        derived d = derive(&row->c, inout);
        char val[64], d1[32], d2[32];
        /* nfdump fills the protocol column for -s proto too */
        int is_proto = s->keys[0].col[0] == FL_COL_PROTO && !s->keys[0].has_prefix;
        const char *pr = s->per_proto ? query_proto_name(row->proto, plain)
                         : is_proto   ? query_proto_name((uint8_t)row->key[0].lo, plain)
                                      : "any";

        key_string(s, &s->keys[0], row->key[0], plain, val, sizeof val);
        if (fmt == FL_FMT_CSV) {
            fmt_date(row->c.first, utc, d1, sizeof d1);
            fmt_date(row->c.last, utc, d2, sizeof d2);
            fprintf(f,
                    "%s,%s,%.3f,%s,%s,%" PRIu64 ",%.1f,%" PRIu64 ",%.1f,%" PRIu64 ",%.1f,%" PRIu64
                    ",%" PRIu64 ",%u\n",
                    d1, d2, d.duration, pr, val, row->c.flows, pct(row->c.flows, r->total.flows),
                    d.packets, pct(d.packets, tot_packets), d.bytes, pct(d.bytes, tot_bytes), d.pps,
                    d.bps, (unsigned)d.bpp);
        } else if (fmt == FL_FMT_TABLE) {
            char fl[32], pk[32], by[32], pps[32], bps[32], dur[40];
            fmt_date(row->c.first, utc, d1, sizeof d1);
            fmt_number(row->c.flows, plain, 1, fl, sizeof fl);
            fmt_number(d.packets, plain, 1, pk, sizeof pk);
            fmt_number(d.bytes, plain, 1, by, sizeof by);
            fmt_number(d.pps, plain, 1, pps, sizeof pps);
            fmt_number(d.bps, plain, 1, bps, sizeof bps);
            if (plain)
                snprintf(dur, sizeof dur, "%16.3f", d.duration);
            else
                fmt_duration(d.duration, dur, sizeof dur);
            fprintf(f, "%s.%03u %9s %-5s %17s %8s(%4.1f) %8s(%4.1f) %8s(%4.1f) %8s %8s %5u\n",
                    d1, (unsigned)(row->c.first % 1000), dur, pr, val, fl,
                    pct(row->c.flows, r->total.flows), pk, pct(d.packets, tot_packets), by,
                    pct(d.bytes, tot_bytes), pps, bps, (unsigned)d.bpp);
        } else {
            char t1[40], t2[40];
            fl_time_format(row->c.first, FL_TFMT_ISO, 0, t1, sizeof t1);
            fl_time_format(row->c.last, FL_TFMT_ISO, 0, t2, sizeof t2);
            fprintf(f,
                    "%s{\"key\":\"%s\",%s%s%s\"flows\":%" PRIu64 ",\"packets\":%" PRIu64
                    ",\"bytes\":%" PRIu64 ",\"pps\":%" PRIu64 ",\"bps\":%" PRIu64
                    ",\"bpp\":%" PRIu64 ",\"first\":\"%s\",\"last\":\"%s\",\"flows_pct\":%.3f,"
                    "\"bytes_pct\":%.3f}%s",
                    fmt == FL_FMT_JSON && i ? "," : "", val, s->per_proto ? "\"proto\":\"" : "",
                    s->per_proto ? pr : "", s->per_proto ? "\"," : "", row->c.flows, d.packets,
                    d.bytes, d.pps, d.bps, d.bpp, t1, t2, pct(row->c.flows, r->total.flows),
                    pct(d.bytes, tot_bytes), fmt == FL_FMT_NDJSON ? "\n" : "");
        }
    }
    if (fmt == FL_FMT_JSON)
        fprintf(f, "]}\n");
    if (fmt == FL_FMT_CSV || fmt == FL_FMT_TABLE) {
        fprintf(f, "\n");
        if (!(flags & FL_RENDER_QUIET)) {
            if (fmt == FL_FMT_CSV) {
                summary_csv(r, f);
            } else {
                summary_table(r, flags, f);
                nfdump_tail(s, r->scanned, r->total.flows, flags, f);
            }
        }
    }
}

static const char *field_name(const fl_qfield *k, char *buf, size_t len)
{
    const qelem *el = query_elem_by_col(k->col[0]);

    if (k->has_prefix)
        snprintf(buf, len, "%s%c/%u", k->col[0] == FL_COL_SRC_ADDR ? "srcip" : "dstip",
                 k->v6 ? '6' : '4', k->prefix);
    else
        snprintf(buf, len, "%s", el ? el->name : fl_col_get(k->col[0])->name);
    return buf;
}

static void list_csv_line(const fl_batch *b, uint32_t r, int utc, FILE *f);

/* nfdump prints aggregated records as flows whose non-key fields are
 * zero; -o csv and the text formats keep that layout so scripts (and
 * tests) read both alike (ICMP type/code are not keys, so an ICMP
 * record's port prints 0.0, as nfdump's). Fill row 0 of b with row. */
static void agg_row_batch(const fl_query_spec *s, const fl_qrow *row, fl_batch *b)
{
    fl_batch_clear(b);
    fl_batch_add_row(b);
    for (unsigned k = 0; k < s->nkeys; k++) {
        fl_col c = s->keys[k].col[0];
        if (fl_col_get(c)->kind == FL_KIND_ADDR)
            FL_ADDRS(b, c)[0] = row->key[k];
        else
            fl_batch_set_u64(b, c, 0, row->key[k].lo);
    }
    /* unset addresses print as 0.0.0.0, as nfdump's do */
    for (int c = 0; c < FL_COL_COUNT; c++) {
        int keyed = 0;
        for (unsigned k = 0; k < s->nkeys; k++)
            keyed |= s->keys[k].col[0] == (fl_col)c;
        if (!keyed && fl_col_get((fl_col)c)->kind == FL_KIND_ADDR)
            FL_ADDRS(b, (fl_col)c)[0] = fl_addr_from_v4(0);
    }
    FL_TIMES(b, FL_COL_TIME_FIRST)[0] = row->c.first;
    FL_TIMES(b, FL_COL_TIME_LAST)[0] = row->c.last;
    FL_U64(b, FL_COL_PACKETS)[0] = row->c.packets;
    FL_U64(b, FL_COL_BYTES)[0] = row->c.bytes;
    FL_U64(b, FL_COL_OUT_PACKETS)[0] = row->c.out_packets;
    FL_U64(b, FL_COL_OUT_BYTES)[0] = row->c.out_bytes;
}

static void aggregate_csv(const fl_query_spec *s, const fl_qresult *r, int flags, FILE *f)
{
    fl_batch *b = fl_batch_new(1);

    fputs(fl_nfdump_csv_header(), f);
    for (size_t i = 0; b && i < r->nrows; i++) {
        agg_row_batch(s, &r->rows[i], b);
        list_csv_line(b, 0, flags & FL_RENDER_UTC, f);
    }
    fl_batch_free(b);
    if (!(flags & FL_RENDER_QUIET))
        summary_csv(r, f);
}

/* -A as text: nfdump's automatic format "%ts %td  <key tags>  %pkt %byt
 * %bps %bpp %fl" (or the -o format given), its closing lines after. */
static fl_rc aggregate_text(const fl_query_spec *s, const fl_qresult *r, int flags, FILE *f,
                            fl_err *e)
{
    char spec[512];
    size_t n;
    fl_query_fmt *q = NULL;
    fl_batch *b = NULL;
    fl_rc rc;

    if (s->format != NULL) {
        snprintf(spec, sizeof spec, "%s", s->format);
    } else {
        n = (size_t)snprintf(spec, sizeof spec, "fmt:%%ts %%td  ");
        for (unsigned k = 0; k < s->nkeys && n < sizeof spec; k++) {
            fl_col c = s->keys[k].col[0];
            const char *tag = c == FL_COL_SRC_TOS ? "%tos" : fl_col_get(c)->nf_tag;
            n += (size_t)snprintf(spec + n, sizeof spec - n, "%s ", tag);
        }
        if (n < sizeof spec)
            snprintf(spec + n, sizeof spec - n, " %%pkt %%byt %%bps %%bpp %%fl");
    }
    rc = fl_query_fmt_parse(spec, flags, &q, e);
    if (rc != FL_OK)
        return rc;
    b = fl_batch_new(1);
    if (b == NULL) {
        fl_query_fmt_free(q);
        return fl_err_set(e, FL_ENOMEM, "out of memory");
    }
    fl_query_fmt_set_exporters(q, s->exporter_addr, s->exporter_ctx);
    if (!(flags & FL_RENDER_QUIET))
        fprintf(f, "%s\n", fl_query_fmt_header(q));
    for (size_t i = 0; i < r->nrows; i++) {
        uint64_t flows = r->rows[i].c.flows;
        agg_row_batch(s, &r->rows[i], b);
        fl_query_fmt_set_flows(q, &flows);
        fl_query_fmt_row(q, b, 0, f);
    }
    if (r->total.flows == 0)
        fprintf(f, "No matching flows\n");
    if (!(flags & FL_RENDER_QUIET)) {
        summary_table(r, flags, f);
        nfdump_tail(s, r->scanned, r->total.flows, flags, f);
    }
    fl_batch_free(b);
    fl_query_fmt_free(q);
    return FL_OK;
}

/* -A as csv or JSON (text: aggregate_text) */
static void render_aggregate(const fl_query_spec *s, const fl_qresult *r, fl_render_fmt fmt,
                             int flags, FILE *f)
{
    int plain = flags & FL_RENDER_PLAIN;
    char name[48];

    if (fmt == FL_FMT_CSV) {
        aggregate_csv(s, r, flags, f);
        return;
    }
    if (fmt == FL_FMT_JSON)
        fprintf(f, "{\"distinct\":%" PRIu64 ",\"rows\":[", r->distinct);
    for (size_t i = 0; i < r->nrows; i++) {
        const fl_qrow *row = &r->rows[i];
        derived d = derive(&row->c, 1);
        char val[64], t1[40], t2[40];

        fprintf(f, "%s{", fmt == FL_FMT_JSON && i ? "," : "");
        for (unsigned k = 0; k < s->nkeys; k++) {
            key_string(s, &s->keys[k], row->key[k], plain, val, sizeof val);
            fprintf(f, "\"%s\":\"%s\",", field_name(&s->keys[k], name, sizeof name), val);
        }
        fl_time_format(row->c.first, FL_TFMT_ISO, 0, t1, sizeof t1);
        fl_time_format(row->c.last, FL_TFMT_ISO, 0, t2, sizeof t2);
        fprintf(f,
                "\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
                ",\"pps\":%" PRIu64 ",\"bps\":%" PRIu64 ",\"bpp\":%" PRIu64
                ",\"first\":\"%s\",\"last\":\"%s\"}%s",
                row->c.flows, d.packets, d.bytes, d.pps, d.bps, d.bpp, t1, t2,
                fmt == FL_FMT_NDJSON ? "\n" : "");
    }
    if (fmt == FL_FMT_JSON)
        fprintf(f, "]}\n");
}

/* nfdump's -o csv flow line, from the nfdump module's one writer. */
static void list_csv_line(const fl_batch *b, uint32_t r, int utc, FILE *f)
{
    char line[1024];
    size_t n = fl_nfdump_csv_row(b, r, NULL, line, sizeof line);

    (void)utc; /* the CLI sets TZ=UTC for --utc; nfdump's layout is local time */
    fwrite(line, 1, n < sizeof line ? n : sizeof line - 1, f);
}

/* nfdump's closing lines of a plain listing: the summary over the listed
 * flows, the time window of the data read (clipped to -t) and the counts.
 * The "Sys:" timing line nfdump adds last is left out. */
/* The totals of the listed flows (what nfdump's closing summary counts). */
static void list_totals(const fl_qresult *r, fl_qresult *sum)
{
    const fl_batch *b = r->list;

    memset(sum, 0, sizeof *sum);
    sum->total.first = FL_TIME_MAX;
    for (uint32_t i = 0; b && i < b->n; i++) {
        fl_time t0 = FL_TIMES(b, FL_COL_TIME_FIRST)[i], t1 = FL_TIMES(b, FL_COL_TIME_LAST)[i];
        uint64_t fw = FL_U64(b, FL_COL_FLOWS)[i];
        sum->total.flows += fw ? fw : 1;
        sum->total.bytes += FL_U64(b, FL_COL_BYTES)[i];
        sum->total.out_bytes += FL_U64(b, FL_COL_OUT_BYTES)[i];
        sum->total.packets += FL_U64(b, FL_COL_PACKETS)[i];
        sum->total.out_packets += FL_U64(b, FL_COL_OUT_PACKETS)[i];
        if (t0 < sum->total.first)
            sum->total.first = t0;
        if (t1 > sum->total.last)
            sum->total.last = t1;
    }
    if (sum->total.flows == 0)
        sum->total.first = 0;
}

/* nfdump's "Time window:" and "Total flows processed:" lines (the "Sys:"
 * timing line it prints last is left out) */
static void nfdump_tail(const fl_query_spec *s, uint64_t processed, uint64_t passed, int flags,
                        FILE *f)
{
    fl_time first = s->span_first / 1000, last = s->span_last / 1000;

    if (s->span_last == 0) {
        fprintf(f, "Time window: <unknown>\n");
    } else {
        char t1[32], t2[32];
        if (s->start && s->start / 1000 > first)
            first = s->start / 1000;
        if (s->end && s->end / 1000 < last)
            last = s->end / 1000;
        fmt_date(first * 1000, flags & FL_RENDER_UTC, t1, sizeof t1);
        fmt_date(last * 1000, flags & FL_RENDER_UTC, t2, sizeof t2);
        fprintf(f, "Time window: %s - %s\n", t1, t2);
    }
    fprintf(f, "Total flows processed: %" PRIu64 ", passed: %" PRIu64
               ", Blocks skipped: 0, Bytes read: %" PRIu64 "\n",
            processed, passed, s->bytes_read);
}

/* The closing lines of a listing: summary over the listed flows, tail. */
static void nfdump_epilog(const fl_query_spec *s, const fl_qresult *r, int flags, FILE *f)
{
    fl_qresult sum;

    list_totals(r, &sum);
    summary_table(&sum, flags, f);
    /* nfdump stops reading at the -c-th match; without a filter or window
     * that is the -c-th flow (over files the CLI counts it exactly) */
    nfdump_tail(s,
                s->limit && sum.total.flows >= s->limit && s->select == NULL && s->start == 0 &&
                        s->end == 0
                    ? sum.total.flows
                    : r->scanned,
                sum.total.flows, flags, f);
}

/* -o line / long / extended / fmt:... : nfdump's text, header and epilog */
static fl_rc render_list_nfdump(const fl_query_spec *s, const fl_qresult *r, int flags, FILE *f,
                                fl_err *e)
{
    fl_query_fmt *q = NULL;
    const fl_batch *b = r->list;
    fl_rc rc = fl_query_fmt_parse(s->format ? s->format : "line", flags, &q, e);

    if (rc != FL_OK)
        return rc;
    fl_query_fmt_set_exporters(q, s->exporter_addr, s->exporter_ctx);
    if (!(flags & FL_RENDER_QUIET))
        fprintf(f, "%s\n", fl_query_fmt_header(q));
    for (uint32_t row = 0; b && row < b->n; row++)
        fl_query_fmt_row(q, b, row, f);
    if (b == NULL || b->n == 0)
        fprintf(f, "No matching flows\n");
    if (!(flags & FL_RENDER_QUIET))
        nfdump_epilog(s, r, flags, f);
    fl_query_fmt_free(q);
    return FL_OK;
}

/* -o csv / json / ndjson listings (text listings: render_list_nfdump) */
static void render_list(const fl_query_spec *s, const fl_qresult *r, fl_render_fmt fmt,
                        int flags, FILE *f)
{
    const fl_batch *b = r->list;
    (void)s;

    if (fmt == FL_FMT_CSV)
        fputs(fl_nfdump_csv_header(), f);
    else if (fmt == FL_FMT_JSON)
        fprintf(f, "[");
    for (uint32_t row = 0; b && row < b->n; row++) {
        if (fmt == FL_FMT_CSV) {
            list_csv_line(b, row, flags & FL_RENDER_UTC, f);
        } else {
            if (fmt == FL_FMT_JSON && row)
                fputc(',', f);
            fl_batch_write_json(b, row, f);
            if (fmt == FL_FMT_NDJSON)
                fputc('\n', f);
        }
    }
    if (fmt == FL_FMT_JSON)
        fprintf(f, "]\n");
    if (fmt == FL_FMT_CSV && !(flags & FL_RENDER_QUIET)) {
        /* nfdump sums the flows it printed (-c cuts them) */
        fl_qresult sum;
        list_totals(r, &sum);
        summary_csv(&sum, f);
    }
}

static void render_summary(const fl_qresult *r, fl_render_fmt fmt, int flags, FILE *f)
{
    static const char *const pname[4] = {"tcp", "udp", "icmp", "other"};

    if (fmt == FL_FMT_CSV) {
        summary_csv(r, f);
        fprintf(f, "proto,flows,packets,bytes\n");
        for (int p = 0; p < 4; p++)
            fprintf(f, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", pname[p], r->proto_flows[p],
                    r->proto_packets[p], r->proto_bytes[p]);
    } else if (fmt == FL_FMT_TABLE) {
        summary_table(r, flags, f);
        for (int p = 0; p < 4; p++)
            fprintf(f, "  %-5s flows: %" PRIu64 ", packets: %" PRIu64 ", bytes: %" PRIu64 "\n",
                    pname[p], r->proto_flows[p], r->proto_packets[p], r->proto_bytes[p]);
    } else {
        const fl_qcounters *t = &r->total;
        char t1[40], t2[40];
        fl_time_format(t->first, FL_TFMT_ISO, 0, t1, sizeof t1);
        fl_time_format(t->last, FL_TFMT_ISO, 0, t2, sizeof t2);
        fprintf(f,
                "{\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
                ",\"first\":\"%s\",\"last\":\"%s\",\"protocols\":{",
                t->flows, t->packets + t->out_packets, t->bytes + t->out_bytes, t1, t2);
        for (int p = 0; p < 4; p++)
            fprintf(f, "%s\"%s\":{\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
                    p ? "," : "", pname[p], r->proto_flows[p], r->proto_packets[p],
                    r->proto_bytes[p]);
        fprintf(f, "}}\n");
    }
}

/* Per-step topseries (FlowGraph's mode) ranks every key in every step; a
 * key that is in no step's top N has only zeros and is not drawn, so it is
 * not printed either (Other holds its share). */
static int series_shown(const fl_query_spec *s, const fl_qresult *r, size_t k)
{
    if (r->op != FL_QOP_TOPSERIES || !s->per_step_top || (k + 1 == r->nseries && r->has_other))
        return 1;
    for (size_t i = 0; i < r->nbuckets; i++)
        if (r->values[k * r->nbuckets + i] != 0)
            return 1;
    return 0;
}

static void render_series(const fl_query_spec *s, const fl_qresult *r, fl_render_fmt fmt,
                          int flags, FILE *f)
{
    char name[64];
    int first = 1;

    if (fmt == FL_FMT_JSON) {
        fprintf(f, "{\"start\":%" PRId64 ",\"step\":%" PRId64 ",\"series\":[", r->series_start,
                r->step);
        for (size_t k = 0; k < r->nseries; k++) {
            if (!series_shown(s, r, k))
                continue;
            if (r->op == FL_QOP_TOPSERIES && k + 1 == r->nseries && r->has_other)
                snprintf(name, sizeof name, "Other");
            else if (r->op == FL_QOP_TOPSERIES)
                key_string(s, &s->keys[0], r->series_keys[k], flags & FL_RENDER_PLAIN, name,
                           sizeof name);
            else
                snprintf(name, sizeof name, "total");
            fprintf(f, "%s{\"name\":\"%s\",\"values\":[", first ? "" : ",", name);
            first = 0;
            for (size_t i = 0; i < r->nbuckets; i++)
                fprintf(f, "%s%.17g", i ? "," : "", r->values[k * r->nbuckets + i]);
            fprintf(f, "]}");
        }
        fprintf(f, "]}\n");
        return;
    }
    /* CSV / table / NDJSON: one line per step, one column per series */
    fprintf(f, fmt == FL_FMT_CSV ? "time" : "%-24s", "time");
    for (size_t k = 0; k < r->nseries; k++) {
        if (!series_shown(s, r, k))
            continue;
        if (r->op == FL_QOP_TOPSERIES && k + 1 == r->nseries && r->has_other)
            snprintf(name, sizeof name, "Other");
        else if (r->op == FL_QOP_TOPSERIES)
            key_string(s, &s->keys[0], r->series_keys[k], flags & FL_RENDER_PLAIN, name,
                       sizeof name);
        else
            snprintf(name, sizeof name, "total");
        fprintf(f, fmt == FL_FMT_CSV ? ",%s" : " %18s", name);
    }
    fprintf(f, "\n");
    for (size_t i = 0; i < r->nbuckets; i++) {
        char t[40];
        fl_time_format(r->series_start + (fl_time)i * r->step, FL_TFMT_ISO,
                       flags & FL_RENDER_UTC ? 0 : FL_TIME_LOCAL, t, sizeof t);
        fprintf(f, fmt == FL_FMT_CSV ? "%s" : "%-24s", t);
        for (size_t k = 0; k < r->nseries; k++)
            if (series_shown(s, r, k))
                fprintf(f, fmt == FL_FMT_CSV ? ",%.17g" : " %18.2f",
                        r->values[k * r->nbuckets + i]);
        fprintf(f, "\n");
    }
}

fl_rc fl_query_render(const fl_query_spec *spec, const fl_qresult *r, fl_render_fmt fmt,
                      int flags, FILE *f, fl_err *e)
{
    /* statistics print nfdump's tables whatever the listing format, as
     * nfdump does (-A prints its records in the -o format) */
    if (fmt == FL_FMT_NFDUMP && r->op != FL_QOP_LIST && r->op != FL_QOP_AGGREGATE)
        fmt = FL_FMT_TABLE;
    switch (r->op) {
    case FL_QOP_STATS: render_stats(spec, r, fmt, flags, f); break;
    case FL_QOP_AGGREGATE:
        if (fmt == FL_FMT_TABLE || fmt == FL_FMT_NFDUMP) {
            fl_rc rc = aggregate_text(spec, r, flags, f, e);
            if (rc != FL_OK)
                return rc;
        } else {
            render_aggregate(spec, r, fmt, flags, f);
        }
        break;
    case FL_QOP_LIST:
        /* a plain-text listing is nfdump's, "line" unless -o named one */
        if (fmt == FL_FMT_NFDUMP || fmt == FL_FMT_TABLE) {
            fl_rc rc = render_list_nfdump(spec, r, flags, f, e);
            if (rc != FL_OK)
                return rc;
        } else {
            render_list(spec, r, fmt, flags, f);
        }
        break;
    case FL_QOP_SUMMARY: render_summary(r, fmt, flags, f); break;
    case FL_QOP_SERIES:
    case FL_QOP_TOPSERIES: render_series(spec, r, fmt, flags, f); break;
    }
    if (ferror(f))
        return fl_err_set(e, FL_EIO, "cannot write the query result");
    return FL_OK;
}
