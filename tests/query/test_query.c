/* tests/query/test_query.c — the engine against brute-force answers
 * computed here over the same generated flows, single and multi-threaded. */
#include "gen/gen.h"
#include "query/query.h"
#include "test.h"

#include <math.h>

#define NFLOWS 20000
#define NB ((NFLOWS + FL_BATCH_CAP - 1) / FL_BATCH_CAP)

static fl_batch *batches[NB];
static const fl_time T0 = 1714521600000LL;

static void make_flows(void)
{
    fl_gen_config c;
    fl_gen *g;

    fl_gen_config_default(&c);
    c.seed = 11;
    c.start = T0;
    c.end = T0 + 6 * 3600000LL;
    c.flows = NFLOWS;
    c.sampling = 1;
    g = fl_gen_new(&c);
    for (int i = 0; i < NB; i++) {
        batches[i] = fl_batch_new(0);
        fl_gen_next(g, batches[i], FL_BATCH_CAP);
    }
    /* some sampled flows: rows of the last batch get rate 10 */
    for (uint32_t r = 0; r < batches[NB - 1]->n; r += 2)
        FL_U32(batches[NB - 1], FL_COL_SAMPLING_RATE)[r] = 10;
    fl_gen_free(g);
}

static fl_qresult *run_spec(const fl_query_spec *s)
{
    fl_mem_source m;
    fl_qresult *r = NULL;
    fl_err e;
    fl_err_clear(&e);
    if (fl_query_run(s, fl_mem_source_init(&m, batches, NB), &r, &e) != FL_OK) {
        snprintf(test_msg, sizeof test_msg, "query failed: %s", e.msg);
        longjmp(test_jmp, 1);
    }
    return r;
}

/* Brute force: bytes (scaled) of all flows whose src or dst equals a. */
static uint64_t brute_bytes_for(fl_col c, fl_addr a, uint64_t *flows)
{
    uint64_t bytes = 0;
    *flows = 0;
    for (int i = 0; i < NB; i++)
        for (uint32_t r = 0; r < batches[i]->n; r++)
            if (fl_addr_cmp(FL_ADDRS(batches[i], c)[r], a) == 0) {
                uint32_t rate = FL_U32(batches[i], FL_COL_SAMPLING_RATE)[r];
                bytes += FL_U64(batches[i], FL_COL_BYTES)[r] * (rate > 1 ? rate : 1);
                (*flows)++;
            }
    return bytes;
}

TEST(summary_counts_everything)
{
    fl_query_spec s;
    fl_qresult *r;
    uint64_t bytes = 0;

    fl_query_spec_init(&s);
    s.op = FL_QOP_SUMMARY;
    s.no_scale = 1;
    r = run_spec(&s);
    for (int i = 0; i < NB; i++)
        for (uint32_t k = 0; k < batches[i]->n; k++)
            bytes += FL_U64(batches[i], FL_COL_BYTES)[k];
    CHECK_EQ_INT(r->total.flows, NFLOWS);
    CHECK_EQ_INT(r->total.bytes, bytes);
    CHECK_EQ_INT(r->scanned, NFLOWS);
    CHECK_EQ_INT(r->proto_flows[0] + r->proto_flows[1] + r->proto_flows[2] + r->proto_flows[3],
                 NFLOWS);
    fl_qresult_free(r);
}

TEST(stats_srcip_by_bytes_matches_brute_force)
{
    fl_query_spec s;
    fl_err e;
    fl_qresult *r;

    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "srcip/bytes", &e) == FL_OK);
    s.top = 10;
    for (unsigned threads = 1; threads <= 4; threads += 3) {
        s.threads = threads;
        r = run_spec(&s);
        CHECK_EQ_INT(r->nrows, 10);
        for (size_t i = 0; i < r->nrows; i++) {
            uint64_t flows, bytes = brute_bytes_for(FL_COL_SRC_ADDR, r->rows[i].key[0], &flows);
            CHECK_EQ_INT(r->rows[i].c.bytes, bytes);
            CHECK_EQ_INT(r->rows[i].c.flows, flows);
            if (i > 0)
                CHECK(r->rows[i - 1].c.bytes >= r->rows[i].c.bytes);
        }
        fl_qresult_free(r);
    }
}

TEST(dual_element_counts_both_sides)
{
    fl_query_spec s;
    fl_err e;
    fl_qresult *r;
    uint64_t sum = 0;

    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "ip", &e) == FL_OK);
    s.top = 0;
    r = run_spec(&s);
    for (size_t i = 0; i < r->nrows; i++)
        sum += r->rows[i].c.flows;
    CHECK_EQ_INT(sum, 2 * NFLOWS);
    fl_qresult_free(r);
}

TEST(aggregate_prefix_and_port)
{
    fl_query_spec s;
    fl_err e;
    fl_qresult *r;
    uint64_t sum = 0;

    fl_query_spec_init(&s);
    CHECK(fl_query_parse_aggregate(&s, "srcip4/16,dstport", &e) == FL_OK);
    CHECK_EQ_INT(s.nkeys, 2);
    s.threads = 2;
    r = run_spec(&s);
    for (size_t i = 0; i < r->nrows; i++) {
        fl_addr k = r->rows[i].key[0];
        sum += r->rows[i].c.flows;
        if (fl_addr_is_v4(k))
            CHECK((fl_addr_v4(k) & 0xffff) == 0);
    }
    CHECK_EQ_INT(sum, NFLOWS);
    CHECK(r->distinct > 10);
    fl_qresult_free(r);
}

TEST(window_modes)
{
    fl_query_spec s;
    fl_qresult *r;
    uint64_t inside, overlap, start;

    fl_query_spec_init(&s);
    s.op = FL_QOP_SUMMARY;
    s.start = T0 + 3600000;
    s.end = T0 + 2 * 3600000;
    s.window_mode = FL_WIN_INSIDE;
    r = run_spec(&s);
    inside = r->total.flows;
    fl_qresult_free(r);
    s.window_mode = FL_WIN_OVERLAP;
    r = run_spec(&s);
    overlap = r->total.flows;
    fl_qresult_free(r);
    s.window_mode = FL_WIN_START;
    r = run_spec(&s);
    start = r->total.flows;
    fl_qresult_free(r);
    CHECK(inside > 0);
    CHECK(inside <= start && start <= overlap);
    CHECK(overlap < NFLOWS);
}

/* A series of metric in 5-minute steps over the flows' 6 hours. */
static void series_spec(fl_query_spec *s, fl_metric metric)
{
    fl_query_spec_init(s);
    s->op = FL_QOP_SERIES;
    s->start = T0;
    s->end = T0 + 6 * 3600000LL;
    s->window_mode = FL_WIN_START;
    s->step = 300000;
    s->metric = metric;
}

TEST(series_sums_to_total)
{
    fl_query_spec s;
    fl_qresult *r, *t;
    double sum = 0;

    series_spec(&s, FL_METRIC_BYTES);
    r = run_spec(&s);
    CHECK_EQ_INT(r->nbuckets, 73);
    for (size_t i = 0; i < r->nbuckets; i++)
        sum += r->values[i];
    s.op = FL_QOP_SUMMARY;
    t = run_spec(&s);
    CHECK(fabs(sum - (double)t->total.bytes) < 1.0);
    fl_qresult_free(r);
    /* linear spreading keeps the total */
    s.op = FL_QOP_SERIES;
    s.linear = 1;
    r = run_spec(&s);
    sum = 0;
    for (size_t i = 0; i < r->nbuckets; i++)
        sum += r->values[i];
    CHECK(fabs(sum - (double)t->total.bytes) < 1e-3 * (double)t->total.bytes);
    fl_qresult_free(r);
    fl_qresult_free(t);
}

/* Rows with a flows column (aggregated records, store sums) count as that
 * many flows, 0 as one: in totals, per-protocol counts, statistics by
 * address and by a small-domain element, series and the scanned count. */
TEST(flows_column_counts_each_row_as_its_flows)
{
    fl_query_spec s;
    fl_qresult *r;
    fl_err e;
    uint64_t want = 0, want_tcp = 0, got = 0;
    double ser = 0;

    for (int i = 0; i < NB; i++) {
        for (uint32_t k = 0; k < batches[i]->n; k++) {
            uint64_t f = k % 3 == 0 ? 4 : 0;
            FL_U64(batches[i], FL_COL_FLOWS)[k] = f;
            want += f ? f : 1;
            want_tcp += FL_U8(batches[i], FL_COL_PROTO)[k] == 6 ? (f ? f : 1) : 0;
        }
        fl_batch_mark(batches[i], FL_COL_FLOWS);
    }
    fl_query_spec_init(&s);
    s.op = FL_QOP_SUMMARY;
    r = run_spec(&s);
    CHECK_EQ_INT(r->total.flows, want);
    CHECK_EQ_INT(r->scanned, want);
    CHECK_EQ_INT(r->proto_flows[0] + r->proto_flows[1] + r->proto_flows[2] + r->proto_flows[3],
                 want);
    fl_qresult_free(r);
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "srcip/flows", &e) == FL_OK);
    s.top = 0;
    r = run_spec(&s);
    for (size_t i = 0; i < r->nrows; i++)
        got += r->rows[i].c.flows;
    CHECK_EQ_INT(got, want);
    fl_qresult_free(r);
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "proto", &e) == FL_OK);
    r = run_spec(&s);
    got = 0;
    for (size_t i = 0; i < r->nrows; i++)
        got += r->rows[i].key[0].lo == 6 ? r->rows[i].c.flows : 0;
    CHECK_EQ_INT(got, want_tcp);
    fl_qresult_free(r);
    series_spec(&s, FL_METRIC_FLOWS);
    r = run_spec(&s);
    for (size_t i = 0; i < r->nbuckets; i++)
        ser += r->values[i];
    fl_qresult_free(r);
    s.op = FL_QOP_SUMMARY;
    r = run_spec(&s);
    CHECK(fabs(ser - (double)r->total.flows) < 0.5);
    CHECK(r->total.flows > NFLOWS);
    fl_qresult_free(r);
    for (int i = 0; i < NB; i++) {
        memset(FL_U64(batches[i], FL_COL_FLOWS), 0, sizeof(uint64_t) * batches[i]->n);
        batches[i]->present[FL_COL_FLOWS / 64] &= ~((uint64_t)1 << (FL_COL_FLOWS % 64));
    }
}

TEST(topseries_columns_sum_to_series)
{
    fl_query_spec s;
    fl_err e;
    fl_qresult *r, *tot;

    for (int per_step = 0; per_step <= 1; per_step++) {
        fl_query_spec_init(&s);
        CHECK(fl_query_parse_stat(&s, "dstport", &e) == FL_OK);
        s.op = FL_QOP_TOPSERIES;
        s.start = T0;
        s.end = T0 + 6 * 3600000LL;
        s.window_mode = FL_WIN_START;
        s.step = 3600000;
        s.top = 3;
        s.per_step_top = per_step;
        s.metric = FL_METRIC_FLOWS;
        r = run_spec(&s);
        CHECK(r->has_other);
        if (!per_step)
            CHECK_EQ_INT(r->nseries, 4);
        s.op = FL_QOP_SERIES;
        tot = run_spec(&s);
        for (size_t b = 0; b < r->nbuckets; b++) {
            double sum = 0;
            int nonzero = 0;
            for (size_t k = 0; k < r->nseries; k++) {
                sum += r->values[k * r->nbuckets + b];
                nonzero += k + 1 < r->nseries && r->values[k * r->nbuckets + b] > 0;
            }
            CHECK(fabs(sum - tot->values[b]) < 1e-6);
            CHECK(nonzero <= 3);
        }
        fl_qresult_free(r);
        fl_qresult_free(tot);
    }
}

static fl_rc mem_rewind(void *ctx, fl_err *e)
{
    (void)e;
    ((fl_mem_source *)ctx)->pos = 0;
    return FL_OK;
}

static double ts_last_progress;
static int ts_progress_back;
static void ts_on_progress(void *ctx, double f)
{
    (void)ctx;
    ts_progress_back |= f + 1e-9 < ts_last_progress;
    ts_last_progress = f;
}

/*
 * The two-pass topseries (a source that can rewind: top keys first, then
 * only their series) answers exactly what the one-pass plan over every
 * (key, step) pair answers: same keys in the same order, same values
 * bit for bit, same distinct count and totals — over elements of every
 * kind (16-bit, address, dual, prefix), every metric, several N, windows
 * that cut flows, and 1 or 3 threads. One series is also checked against
 * a brute-force sum here.
 */
TEST(topseries_two_pass_equals_one_pass)
{
    static const char *const elems[] = {"dstport", "srcip", "port", "proto", "srcip4/24", "ip"};
    static const fl_metric metrics[] = {FL_METRIC_BYTES, FL_METRIC_FLOWS, FL_METRIC_PACKETS,
                                        FL_METRIC_BPS, FL_METRIC_BPP, FL_METRIC_FPS};
    static const uint64_t tops[] = {1, 3, 0, 50};
    fl_err e;

    for (size_t ei = 0; ei < sizeof elems / sizeof elems[0]; ei++)
        for (size_t mi = 0; mi < sizeof metrics / sizeof metrics[0]; mi++)
            for (size_t ti = 0; ti < sizeof tops / sizeof tops[0]; ti++) {
                fl_query_spec s;
                fl_mem_source m;
                fl_source src;
                fl_qresult *one, *two = NULL;
                fl_query_spec_init(&s);
                CHECK(fl_query_parse_stat(&s, elems[ei], &e) == FL_OK);
                s.op = FL_QOP_TOPSERIES;
                s.start = T0 + 1234567;
                s.end = T0 + 5 * 3600000LL + 777;
                s.window_mode = (fl_window_mode)((ei + mi) % 4);
                s.step = 900000;
                s.top = tops[ti];
                s.metric = metrics[mi];
                s.threads = 1 + 2 * (unsigned)(ti % 2);
                one = run_spec(&s);
                src = fl_mem_source_init(&m, batches, NB);
                src.rewind = mem_rewind;
                s.on_progress = ts_on_progress;
                ts_last_progress = 0;
                ts_progress_back = 0;
                CHECK(fl_query_run(&s, src, &two, &e) == FL_OK);
                CHECK(!ts_progress_back && ts_last_progress > 0.999);
                CHECK_EQ_INT(two->nseries, one->nseries);
                CHECK_EQ_INT(two->nbuckets, one->nbuckets);
                CHECK_EQ_INT(two->distinct, one->distinct);
                CHECK_EQ_INT(two->scanned, one->scanned);
                CHECK_EQ_INT(two->total.flows, one->total.flows);
                CHECK_EQ_INT(two->total.bytes, one->total.bytes);
                CHECK(two->has_other && one->has_other);
                for (size_t k = 0; k < one->nseries; k++)
                    CHECK(fl_addr_cmp(two->series_keys[k], one->series_keys[k]) == 0);
                for (size_t i = 0; i < one->nseries * one->nbuckets; i++)
                    CHECK(two->values[i] == one->values[i]);
                if (ei == 0 && metrics[mi] == FL_METRIC_BYTES && two->nseries > 1) {
                    /* brute force: the first port's bytes per step */
                    uint16_t port = (uint16_t)two->series_keys[0].lo;
                    for (size_t b = 0; b < two->nbuckets; b++) {
                        double want = 0;
                        for (int i = 0; i < NB; i++)
                            for (uint32_t r = 0; r < batches[i]->n; r++) {
                                const fl_batch *x = batches[i];
                                fl_time tf = FL_TIMES(x, FL_COL_TIME_FIRST)[r];
                                fl_time tl = FL_TIMES(x, FL_COL_TIME_LAST)[r];
                                fl_time b0 = s.start - s.start % s.step;
                                size_t bk;
                                int in;
                                uint32_t rate = FL_U32(x, FL_COL_SAMPLING_RATE)[r];
                                switch (s.window_mode) {
                                case FL_WIN_INSIDE: in = tf >= s.start && tl <= s.end; break;
                                case FL_WIN_START: in = tf >= s.start && tf < s.end; break;
                                case FL_WIN_END: in = tl >= s.start && tl < s.end; break;
                                default: in = tf < s.end && tl >= s.start; break;
                                }
                                if (!in || FL_U16(x, FL_COL_DST_PORT)[r] != port)
                                    continue;
                                bk = tf < b0 ? 0 : (size_t)((tf - b0) / s.step);
                                if (bk >= two->nbuckets)
                                    bk = two->nbuckets - 1;
                                if (bk == b)
                                    want += (double)(FL_U64(x, FL_COL_BYTES)[r] *
                                                     (rate > 1 ? rate : 1));
                            }
                        CHECK(two->values[b] == want);
                    }
                }
                fl_qresult_free(one);
                fl_qresult_free(two);
            }
}

TEST(list_orders_and_limits)
{
    fl_query_spec s;
    fl_qresult *r;

    fl_query_spec_init(&s);
    s.op = FL_QOP_LIST;
    s.order = FL_ORDER_BYTES;
    s.limit = 25;
    s.threads = 2;
    r = run_spec(&s);
    CHECK_EQ_INT(r->list->n, 25);
    for (uint32_t i = 1; i < r->list->n; i++)
        CHECK(FL_U64(r->list, FL_COL_BYTES)[i - 1] >= FL_U64(r->list, FL_COL_BYTES)[i]);
    CHECK_EQ_INT(r->total.flows, NFLOWS);
    fl_qresult_free(r);
    s.order = FL_ORDER_TSTART;
    s.limit = 0;
    r = run_spec(&s);
    CHECK_EQ_INT(r->list->n, NFLOWS);
    for (uint32_t i = 1; i < r->list->n; i++)
        CHECK(FL_TIMES(r->list, FL_COL_TIME_FIRST)[i - 1] <= FL_TIMES(r->list, FL_COL_TIME_FIRST)[i]);
    fl_qresult_free(r);
}

TEST(memory_budget_is_a_clear_error)
{
    fl_query_spec s;
    fl_mem_source m;
    fl_qresult *r = NULL;
    fl_err e;

    fl_query_spec_init(&s);
    fl_query_parse_aggregate(&s, "srcip,dstip,srcport,dstport", &e);
    s.memory_budget = 64 * 1024;
    s.threads = 1;
    fl_err_clear(&e);
    CHECK(fl_query_run(&s, fl_mem_source_init(&m, batches, NB), &r, &e) == FL_ELIMIT);
    CHECK(r == NULL);
    CHECK(strstr(e.msg, "budget") != NULL);
}

TEST(bad_specs_and_names)
{
    fl_query_spec s;
    fl_err e;
    fl_order o;

    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "srcipp", &e) == FL_EINVAL);
    CHECK(strstr(e.msg, "unknown statistic element 'srcipp'") != NULL);
    CHECK(fl_query_parse_stat(&s, "srcip/bites", &e) == FL_EINVAL);
    CHECK(strstr(e.msg, "unknown order 'bites'") != NULL);
    CHECK(fl_query_parse_stat(&s, "srcip:x", &e) == FL_EINVAL);
    CHECK(fl_query_parse_stat(&s, "dstport:p/bytes", &e) == FL_OK);
    CHECK(s.per_proto && s.order == FL_ORDER_BYTES);
    CHECK(fl_query_parse_stat(&s, "srcip4/24/bps", &e) == FL_OK);
    CHECK(s.keys[0].has_prefix && s.keys[0].prefix == 24 && s.order == FL_ORDER_BPS);
    CHECK(fl_query_parse_aggregate(&s, "srcip,,dstip", &e) == FL_EINVAL);
    CHECK(fl_query_parse_aggregate(&s, "srcip4/33", &e) == FL_ERANGE);
    CHECK(fl_query_parse_aggregate(&s, "ip", &e) == FL_EINVAL);
    CHECK(fl_query_parse_order("tstart", &o, &e) == FL_OK && o == FL_ORDER_TSTART);
    fl_query_spec_init(&s);
    s.op = FL_QOP_SERIES;
    s.step = 60000;
    {
        fl_mem_source m;
        fl_qresult *r;
        CHECK(fl_query_run(&s, fl_mem_source_init(&m, batches, NB), &r, &e) == FL_EINVAL);
        CHECK(strstr(e.msg, "time window") != NULL);
    }
}

TEST(sampling_scales_unless_told_not_to)
{
    fl_query_spec s;
    fl_qresult *a, *b;

    fl_query_spec_init(&s);
    s.op = FL_QOP_SUMMARY;
    a = run_spec(&s);
    s.no_scale = 1;
    b = run_spec(&s);
    CHECK(a->total.bytes > b->total.bytes);
    CHECK_EQ_INT(a->total.flows, b->total.flows);
    fl_qresult_free(a);
    fl_qresult_free(b);
}

TEST(top_n_heap_equals_full_sort)
{
    fl_query_spec s;
    fl_err e;
    fl_qresult *all, *top;

    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "dstip/bytes", &e) == FL_OK);
    s.top = 0;
    all = run_spec(&s);
    s.top = 7; /* far below a quarter of the rows: the heap path */
    top = run_spec(&s);
    CHECK(all->nrows > 28);
    CHECK_EQ_INT(top->nrows, 7);
    for (size_t i = 0; i < 7; i++) {
        CHECK(fl_addr_cmp(top->rows[i].key[0], all->rows[i].key[0]) == 0);
        CHECK_EQ_INT(top->rows[i].c.bytes, all->rows[i].c.bytes);
    }
    fl_qresult_free(all);
    fl_qresult_free(top);
}

/*
 * An ordered source (as the store reading its by-address copies in
 * address order): batches in ascending src address, the floor the lowest
 * src of the batch next() hands out next. Enough keys that the engine's
 * partitions drain on the way: the answers must be those of the same rows
 * from an unordered source, with the keys drained counted as distinct.
 */
#define ORD_ROWS 400000
#define ORD_NB (ORD_ROWS / FL_BATCH_CAP + 1)
static fl_batch *ord_b[ORD_NB];
static fl_mem_source ord_m;
static int ord_floor_calls;

static fl_addr ord_src(uint32_t i)
{
    /* 60000 sources: IPv4 first, then IPv6 (the wide table) */
    uint32_t k = i / 7;
    return k < 45000 ? fl_addr_from_v4(0x0a000000u + k * 3)
                     : (fl_addr){0x20010db800000000ULL, (uint64_t)k};
}

static int ord_floor(void *ctx, fl_addr *out)
{
    fl_mem_source *m = ctx;
    size_t pos = __atomic_load_n(&m->pos, __ATOMIC_RELAXED);

    __atomic_add_fetch(&ord_floor_calls, 1, __ATOMIC_RELAXED);
    *out = pos < m->n && m->batches[pos]->n ? FL_ADDRS(m->batches[pos], FL_COL_SRC_ADDR)[0]
                                            : (fl_addr){UINT64_MAX, UINT64_MAX};
    return 1;
}

static void make_ordered(void)
{
    for (uint32_t i = 0; i < ORD_ROWS; i++) {
        fl_batch *b;
        uint32_t r = i % FL_BATCH_CAP;
        uint64_t h = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
        if (r == 0)
            ord_b[i / FL_BATCH_CAP] = fl_batch_new(0);
        b = ord_b[i / FL_BATCH_CAP];
        FL_ADDRS(b, FL_COL_SRC_ADDR)[r] = ord_src(i);
        /* a pair seen a few times, its rows apart (other batches too) */
        FL_ADDRS(b, FL_COL_DST_ADDR)[r] = fl_addr_from_v4(0xc0a80000u + (uint32_t)(h >> 40) % 5);
        FL_U16(b, FL_COL_DST_PORT)[r] = (uint16_t)(h >> 20);
        FL_U64(b, FL_COL_BYTES)[r] = 40 + (h >> 33) % 100000;
        FL_U64(b, FL_COL_PACKETS)[r] = 1 + (h >> 50) % 50;
        FL_TIMES(b, FL_COL_TIME_FIRST)[r] = T0 + (fl_time)(h >> 44);
        FL_TIMES(b, FL_COL_TIME_LAST)[r] = T0 + (fl_time)(h >> 44) + (fl_time)(i % 5000);
        FL_U8(b, FL_COL_PROTO)[r] = (uint8_t)(h >> 13 & 1 ? 6 : 17);
        b->n = r + 1;
    }
    for (int i = 0; i < ORD_NB; i++) {
        fl_batch_mark(ord_b[i], FL_COL_SRC_ADDR);
        fl_batch_mark(ord_b[i], FL_COL_DST_ADDR);
        fl_batch_mark(ord_b[i], FL_COL_DST_PORT);
        fl_batch_mark(ord_b[i], FL_COL_BYTES);
        fl_batch_mark(ord_b[i], FL_COL_PACKETS);
        fl_batch_mark(ord_b[i], FL_COL_TIME_FIRST);
        fl_batch_mark(ord_b[i], FL_COL_TIME_LAST);
        fl_batch_mark(ord_b[i], FL_COL_PROTO);
    }
}

static fl_qresult *run_ordered(const fl_query_spec *s, int ordered)
{
    fl_source src = fl_mem_source_init(&ord_m, ord_b, ORD_NB);
    fl_qresult *r = NULL;
    fl_err e;

    if (ordered) {
        src.order_floor = ord_floor;
        src.order_col = FL_COL_SRC_ADDR;
    }
    fl_err_clear(&e);
    if (fl_query_run(s, src, &r, &e) != FL_OK) {
        snprintf(test_msg, sizeof test_msg, "query failed: %s", e.msg);
        longjmp(test_jmp, 1);
    }
    return r;
}

TEST(ordered_source_drains_keys)
{
    static const char *const aggs[] = {"srcip,dstip", "dstport,srcip", "srcip,dstport"};
    static const fl_order orders[] = {FL_ORDER_BYTES, FL_ORDER_FLOWS, FL_ORDER_TSTART};
    fl_err e;

    make_ordered();
    for (int a = 0; a < 3; a++)
        for (int t = 1; t <= 2; t++) {
            fl_query_spec s;
            fl_qresult *want, *got;
            fl_query_spec_init(&s);
            s.op = FL_QOP_AGGREGATE;
            CHECK(fl_query_parse_aggregate(&s, aggs[a], &e) == FL_OK);
            s.order = orders[a];
            s.ascending = a == 2;
            s.limit = 25;
            s.threads = (unsigned)t;
            if (a == 1) /* a post-aggregation filter is applied as keys drain */
                CHECK(fl_query_parse_having(&s, "bytes>90000", &e) == FL_OK);
            CHECK_EQ_INT(fl_query_order_col(&s), FL_COL_SRC_ADDR);
            want = run_ordered(&s, 0);
            ord_floor_calls = 0;
            got = run_ordered(&s, 1);
            CHECK(ord_floor_calls > 0);
            CHECK_EQ_INT(want->drained, 0);
            /* most keys were let go of before the end */
            CHECK(got->drained * 2 > got->distinct);
            CHECK_EQ_INT(got->distinct, want->distinct);
            if (got->nrows != 25) {
                snprintf(test_msg, sizeof test_msg, "agg %d threads %d: %zu rows, %llu drained of %llu, want %zu rows", a, t, got->nrows, (unsigned long long)got->drained, (unsigned long long)got->distinct, want->nrows);
                longjmp(test_jmp, 1);
            }
            CHECK_EQ_INT(got->nrows, want->nrows);
            for (size_t i = 0; i < got->nrows; i++) {
                for (unsigned k = 0; k < s.nkeys; k++)
                    if (fl_addr_cmp(got->rows[i].key[k], want->rows[i].key[k]) != 0) {
                        snprintf(test_msg, sizeof test_msg,
                                 "agg %d threads %d row %zu key %u: %llx:%llx (flows %llu bytes "
                                 "%llu) want %llx:%llx (flows %llu bytes %llu)",
                                 a, t, i, k, (unsigned long long)got->rows[i].key[k].hi,
                                 (unsigned long long)got->rows[i].key[k].lo,
                                 (unsigned long long)got->rows[i].c.flows,
                                 (unsigned long long)got->rows[i].c.bytes,
                                 (unsigned long long)want->rows[i].key[k].hi,
                                 (unsigned long long)want->rows[i].key[k].lo,
                                 (unsigned long long)want->rows[i].c.flows,
                                 (unsigned long long)want->rows[i].c.bytes);
                        longjmp(test_jmp, 1);
                    }
                CHECK(memcmp(&got->rows[i].c, &want->rows[i].c, sizeof got->rows[i].c) == 0);
            }
            fl_qresult_free(want);
            fl_qresult_free(got);
        }
    /* no top N, an address prefix or a key on another column: no order */
    {
        fl_query_spec s;
        fl_query_spec_init(&s);
        s.op = FL_QOP_AGGREGATE;
        CHECK(fl_query_parse_aggregate(&s, "srcip,dstip", &e) == FL_OK);
        s.limit = 0;
        CHECK_EQ_INT(fl_query_order_col(&s), -1);
        s.limit = 10;
        CHECK(fl_query_parse_aggregate(&s, "srcip4/24,dstport", &e) == FL_OK);
        CHECK_EQ_INT(fl_query_order_col(&s), -1);
        CHECK(fl_query_parse_aggregate(&s, "dstport,dstip", &e) == FL_OK);
        CHECK_EQ_INT(fl_query_order_col(&s), FL_COL_DST_ADDR);
    }
    for (int i = 0; i < ORD_NB; i++)
        fl_batch_free(ord_b[i]);
}

TEST(having_filters_rows)
{
    fl_query_spec s;
    fl_err e;
    fl_qresult *r;

    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "srcip", &e) == FL_OK);
    CHECK(fl_query_parse_having(&s, "flows>20", &e) == FL_OK);
    s.top = 0;
    r = run_spec(&s);
    CHECK(r->nrows > 0);
    for (size_t i = 0; i < r->nrows; i++)
        CHECK(r->rows[i].c.flows > 20);
    fl_qresult_free(r);
    CHECK(fl_query_parse_having(&s, "bytes>1k", &e) == FL_OK && s.having_value == 1000);
    CHECK(fl_query_parse_having(&s, "bites>1", &e) == FL_EINVAL);
    CHECK(fl_query_parse_having(&s, "bytes", &e) == FL_EINVAL);
    CHECK(fl_query_parse_having(&s, "bytes>x", &e) == FL_EINVAL);
}

static int progress_calls;
static double last_progress;
static volatile int cancel_flag;
static void on_progress(void *ctx, double f)
{
    (void)ctx;
    progress_calls++;
    last_progress = f;
    if (f >= 0.5)
        cancel_flag = 1;
}

TEST(progress_and_cancel)
{
    fl_query_spec s;
    fl_mem_source m;
    fl_qresult *r = NULL;
    fl_err e;

    fl_query_spec_init(&s);
    s.op = FL_QOP_SUMMARY;
    s.threads = 1;
    s.on_progress = on_progress;
    r = run_spec(&s);
    CHECK_EQ_INT(progress_calls, NB);
    CHECK(last_progress == 1.0);
    fl_qresult_free(r);
    s.cancel = &cancel_flag;
    r = NULL;
    CHECK(fl_query_run(&s, fl_mem_source_init(&m, batches, NB), &r, &e) == FL_ECANCELED);
    CHECK(r == NULL);
    CHECK(strstr(e.msg, "canceled") != NULL);
}

int main(void)
{
    make_flows();
    RUN(flows_column_counts_each_row_as_its_flows);
    RUN(top_n_heap_equals_full_sort);
    RUN(having_filters_rows);
    RUN(ordered_source_drains_keys);
    RUN(progress_and_cancel);
    RUN(summary_counts_everything);
    RUN(stats_srcip_by_bytes_matches_brute_force);
    RUN(dual_element_counts_both_sides);
    RUN(aggregate_prefix_and_port);
    RUN(window_modes);
    RUN(series_sums_to_total);
    RUN(topseries_columns_sum_to_series);
    RUN(topseries_two_pass_equals_one_pass);
    RUN(list_orders_and_limits);
    RUN(memory_budget_is_a_clear_error);
    RUN(bad_specs_and_names);
    RUN(sampling_scales_unless_told_not_to);
    for (int i = 0; i < NB; i++)
        fl_batch_free(batches[i]);
    TEST_EXIT();
}
