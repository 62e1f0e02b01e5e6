/*
 * collect/output.c — decoded flows and exporter stats as JSON lines.
 *
 * Used by `flowlens collect --print ndjson`, `flowlens decode --json` and
 * the golden tests. Columns come from the schema table in schema order,
 * only those present in the batch; addresses, MACs and times print as
 * text (times ISO 8601 UTC with milliseconds), everything else as
 * numbers. One fprintf per value keeps it simple; this is not the store's
 * hot path.
 */
#include "collect_int.h"

#include <inttypes.h>
#include <stdio.h>

static const char *proto_name(fl_collect_proto p)
{
    switch (p) {
    case FL_PROTO_NF5: return "netflow5";
    case FL_PROTO_NF9: return "netflow9";
    case FL_PROTO_IPFIX: return "ipfix";
    case FL_PROTO_SFLOW: return "sflow5";
    default: return "none";
    }
}

void fl_collect_print_ndjson(const fl_batch *b, void *fp)
{
    FILE *f = fp;

    for (uint32_t r = 0; r < b->n; r++) {
        fl_batch_write_json(b, r, f);
        fputc('\n', f);
    }
}

/* JSON text of s (names are already free of '"', '\\' and controls, but
 * a configured name may hold anything). */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void print_exporter(const fl_collect_exporter *x, int ext, uint16_t store_id, FILE *f)
{
    const fl_collect_stats *s = &x->stats;
    char a[FL_ADDR_STRLEN];

    fl_addr_format(x->addr, a, sizeof a);
    fprintf(f,
            "{\"type\":\"exporter\",\"exporter\":%u,\"proto\":\"%s\",\"addr\":\"%s\","
            "\"domain\":%" PRIu32 ",\"sampling_rate\":%" PRIu32 ",\"templates\":%" PRIu32
            ",\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"flows\":%" PRIu64
            ",\"option_records\":%" PRIu64 ",\"counter_samples\":%" PRIu64
            ",\"templates_seen\":%" PRIu64 ",\"templates_withdrawn\":%" PRIu64
            ",\"seq_lost\":%" PRIu64 ",\"seq_reorder\":%" PRIu64
            ",\"missing_template_sets\":%" PRIu64 ",\"queue_drops\":%" PRIu64 ",\"malformed\":{",
            x->id, proto_name(x->proto), a, x->domain, x->sampling_rate, x->templates,
            s->datagrams, s->bytes, s->flows, s->option_records, s->counter_samples,
            s->templates_seen, s->templates_withdrawn, s->seq_lost, s->seq_reorder,
            s->missing_template_sets,
            __atomic_load_n(&s->queue_drops, __ATOMIC_RELAXED));
    for (int i = 0; i < FL_BAD_COUNT; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", fl_collect_bad_name((fl_collect_bad)i),
                s->malformed[i]);
    fputc('}', f);
    if (ext) {
        char t0[40] = "", t1[40] = "";
        fl_time_format(s->first_seen, FL_TFMT_ISO, 0, t0, sizeof t0);
        fl_time_format(s->last_seen, FL_TFMT_ISO, 0, t1, sizeof t1);
        fprintf(f, ",\"store_id\":%u,\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"name\":",
                store_id, t0, t1);
        put_str(f, x->name);
        fprintf(f, ",\"sampling_source\":\"%s\"",
                fl_collect_sampling_src_name((fl_collect_sampling_src)x->sampling_source));
    }
    fputs("}\n", f);
}

void fl_collect_print_exporter(const fl_collect_exporter *x, void *fp)
{
    print_exporter(x, 0, 0, fp);
}

void fl_collect_print_exporter_ext(const fl_collect_exporter *x, uint16_t store_id, void *fp)
{
    print_exporter(x, 1, store_id, fp);
}

void fl_collect_print_counters(const fl_collect_ifcounters *c, uint16_t store_id, void *fp)
{
    FILE *f = fp;
    char t[40] = "";

    fl_time_format(c->time, FL_TFMT_ISO, 0, t, sizeof t);
    fprintf(f,
            "{\"type\":\"counters\",\"exporter\":%u,\"store_id\":%u,\"ifindex\":%" PRIu32
            ",\"time\":\"%s\",\"speed\":%" PRIu64 ",\"status\":%" PRIu32
            ",\"in_octets\":%" PRIu64 ",\"in_ucast\":%" PRIu64 ",\"in_errors\":%" PRIu64
            ",\"out_octets\":%" PRIu64 ",\"out_ucast\":%" PRIu64 ",\"out_errors\":%" PRIu64 "}\n",
            c->exporter, store_id, c->ifindex, t, c->speed, c->status, c->in_octets,
            c->in_ucast, c->in_errors, c->out_octets, c->out_ucast, c->out_errors);
}
