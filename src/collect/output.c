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

void fl_collect_print_exporter(const fl_collect_exporter *x, void *fp)
{
    FILE *f = fp;
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
            s->missing_template_sets, s->queue_drops);
    for (int i = 0; i < FL_BAD_COUNT; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", fl_collect_bad_name((fl_collect_bad)i),
                s->malformed[i]);
    fputs("}}\n", f);
}
