/*
 * tests/store/test_store_query.c — the store's reading API plugged into the
 * query engine as an fl_source (fl_store_scan_fill + progress), end to end:
 * generated flows written to a store, a top-N statistic and a summary run
 * over it with two threads, both checked against counts made while the
 * flows were generated. Also: a predicate pushed down (a dst port range)
 * gives the same answer as the engine over everything; a listing of the
 * -c earliest flows that bounds the scan in time still finds late flows
 * stored in a later segment.
 */
#include "gen/gen.h"
#include "query/query.h"
#include "store/store.h"
#include "store_test_util.h"
#include "test.h"

#define T0 ((fl_time)1714564800000LL)
#define NFLOWS 200000

typedef struct src_ctx {
    fl_store_scan *sc;
} src_ctx;

static fl_rc src_next(void *ctx, fl_batch *b, fl_err *e)
{
    return fl_store_scan_fill(((src_ctx *)ctx)->sc, b, e);
}

static double src_progress(void *ctx)
{
    return fl_store_scan_progress(((src_ctx *)ctx)->sc);
}

static char g_dir[512];
static uint64_t port_flows[65536], total_flows, total_bytes;

static void build_store(void)
{
    fl_gen_config c;
    fl_gen *g;
    fl_batch *b = fl_batch_new(0);
    fl_store *s;
    fl_store_opts o;
    fl_err e;

    fl_gen_config_default(&c);
    c.seed = 5;
    c.flows = NFLOWS;
    c.start = T0;
    c.end = T0 + 3600000;
    g = fl_gen_new(&c);
    fl_store_opts_default(&o);
    o.fsync = 0;
    tu_tmpdir(g_dir, sizeof g_dir, "query");
    if (fl_store_open(g_dir, &o, FL_STORE_WRITE, &s, &e) != FL_OK)
        exit(2);
    for (;;) {
        fl_batch_clear(b);
        if (fl_gen_next(g, b, b->cap) == 0)
            break;
        for (uint32_t i = 0; i < b->n; i++) {
            port_flows[FL_U16(b, FL_COL_DST_PORT)[i]]++;
            total_bytes += FL_U64(b, FL_COL_BYTES)[i];
            total_flows++;
        }
        if (fl_store_append(s, b, &e) != FL_OK)
            exit(2);
    }
    if (fl_store_close(s, &e) != FL_OK)
        exit(2);
    fl_batch_free(b);
    fl_gen_free(g);
}

/* how run() offers the scan to the engine (see parallel_scan_modes) */
static int g_parallel;
static uint32_t g_batch_rows;
static double g_last_progress;

static void on_progress(void *ctx, double f)
{
    (void)ctx;
    g_last_progress = f;
}

static fl_qresult *run(const fl_query_spec *spec, const fl_store_pred *pred)
{
    fl_store *s;
    src_ctx ctx;
    fl_source src;
    fl_qresult *res = NULL;
    fl_err e;

    CHECK(fl_store_open(g_dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_scan_open(s, NULL, pred, FL_STORE_SCAN_EXACT, &ctx.sc, &e) == FL_OK);
    memset(&src, 0, sizeof src);
    src.ctx = &ctx;
    src.next = src_next;
    src.progress = src_progress;
    src.parallel = g_parallel;
    src.batch_rows = g_batch_rows;
    CHECK(fl_query_run(spec, src, &res, &e) == FL_OK);
    fl_store_scan_free(ctx.sc);
    fl_store_close(s, NULL);
    return res;
}

static void stats_spec(fl_query_spec *q)
{
    memset(q, 0, sizeof *q);
    q->op = FL_QOP_STATS;
    q->element = "dstport";
    q->keys[0].col[0] = FL_COL_DST_PORT;
    q->keys[0].ncols = 1;
    q->nkeys = 1;
    q->order = FL_ORDER_FLOWS;
    q->top = 10;
    q->no_scale = 1;
    q->threads = 2;
    q->having_metric = FL_ORDER_NONE;
}

TEST(top_dst_ports_over_store)
{
    fl_query_spec q;
    fl_qresult *r;

    stats_spec(&q);
    r = run(&q, NULL);
    CHECK_EQ_INT(r->scanned, NFLOWS);
    CHECK_EQ_INT(r->total.flows, total_flows);
    CHECK_EQ_INT(r->total.bytes, total_bytes);
    CHECK(r->nrows == 10);
    for (size_t i = 0; i < r->nrows; i++) {
        uint16_t port = (uint16_t)r->rows[i].key[0].lo;
        CHECK_EQ_INT(r->rows[i].c.flows, port_flows[port]);
        if (i > 0)
            CHECK(r->rows[i].c.flows <= r->rows[i - 1].c.flows);
    }
    fl_qresult_free(r);
}

TEST(pushed_down_port_range_same_answer)
{
    fl_query_spec q;
    fl_store_pred p;
    fl_qresult *r;
    uint64_t want = 0;

    stats_spec(&q);
    q.top = 0;
    memset(&p, 0, sizeof p);
    p.nranges = 1;
    p.ranges[0].col = FL_COL_DST_PORT;
    p.ranges[0].lo = 1;
    p.ranges[0].hi = 1023;
    for (int port = 1; port <= 1023; port++)
        want += port_flows[port];
    r = run(&q, &p);
    CHECK_EQ_INT(r->total.flows, want);
    CHECK(want > 0);
    for (size_t i = 0; i < r->nrows; i++) {
        uint16_t port = (uint16_t)r->rows[i].key[0].lo;
        CHECK(port >= 1 && port <= 1023);
        CHECK_EQ_INT(r->rows[i].c.flows, port_flows[port]);
    }
    fl_qresult_free(r);
}

/*
 * The scan read by several engine threads at once (fl_source.parallel):
 * whole row groups decoded straight into large batches, and groups
 * handed out in pieces to small batches (rows one caller leaves in a lane
 * are copied out by the next), with and without a predicate — every mode
 * must count every flow exactly once, and progress must reach 1.
 */
TEST(parallel_scan_modes)
{
    static const uint32_t rows[] = {0, 1000, 10000, FL_STORE_GROUP_ROWS};
    static const unsigned threads[] = {1, 2, 4, 7};
    uint64_t want_low = 0;

    for (int port = 1; port <= 1023; port++)
        want_low += port_flows[port];
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++)
        for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++)
            for (int with_pred = 0; with_pred < 2; with_pred++) {
                fl_query_spec q;
                fl_store_pred p;
                fl_qresult *r;
                stats_spec(&q);
                q.top = 0;
                q.threads = threads[ti];
                q.on_progress = on_progress;
                memset(&p, 0, sizeof p);
                p.nranges = 1;
                p.ranges[0].col = FL_COL_DST_PORT;
                p.ranges[0].lo = 1;
                p.ranges[0].hi = 1023;
                g_parallel = 1;
                g_batch_rows = rows[ri];
                g_last_progress = 0;
                r = run(&q, with_pred ? &p : NULL);
                g_parallel = 0;
                g_batch_rows = 0;
                CHECK_EQ_INT(r->total.flows, with_pred ? want_low : total_flows);
                if (!with_pred)
                    CHECK_EQ_INT(r->total.bytes, total_bytes);
                for (size_t i = 0; i < r->nrows; i++)
                    CHECK_EQ_INT(r->rows[i].c.flows, port_flows[r->rows[i].key[0].lo & 0xffff]);
                CHECK(g_last_progress > 0.999);
                fl_qresult_free(r);
            }
}

static void src_time_bound(void *ctx, fl_time t)
{
    fl_store_scan_time_bound(((src_ctx *)ctx)->sc, t);
}

/*
 * Five slots of 100 flows each, then 10 late flows older than all of
 * them: with 4 slots open they join the oldest open one (slot 1), so the
 * segment of slot 1 holds the earliest flows of the store. The 15
 * earliest (-c 15 in time order), with the scan bounded as the cut falls,
 * are those 10 and the first 5 of slot 0 — with 1 and 2 threads — and
 * the bound skips the segments that start after the cut.
 */
TEST(time_bound_keeps_late_flows)
{
    const fl_time slot = 300000;
    char dir[512];
    fl_batch *b = fl_batch_new(200);
    fl_store *s;
    fl_store_opts o;
    fl_err e;

    fl_store_opts_default(&o);
    o.fsync = 0;
    o.by_addr = 0;
    tu_tmpdir(dir, sizeof dir, "tbound");
    CHECK(b != NULL && fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    for (int k = 0; k <= 5; k++) {
        uint32_t n = k < 5 ? 100 : 10;
        fl_batch_clear(b);
        for (uint32_t i = 0; i < n; i++) {
            FL_TIMES(b, FL_COL_TIME_FIRST)[i] = k < 5 ? T0 + k * slot + 1000 + i * 10 : T0 + 500 + i;
            FL_TIMES(b, FL_COL_TIME_LAST)[i] = FL_TIMES(b, FL_COL_TIME_FIRST)[i] + 5;
            FL_U64(b, FL_COL_BYTES)[i] = k < 5 ? 100 : 7;
            FL_U64(b, FL_COL_PACKETS)[i] = 1;
        }
        b->n = n;
        fl_batch_mark(b, FL_COL_TIME_FIRST);
        fl_batch_mark(b, FL_COL_TIME_LAST);
        fl_batch_mark(b, FL_COL_BYTES);
        fl_batch_mark(b, FL_COL_PACKETS);
        CHECK(fl_store_append(s, b, &e) == FL_OK);
    }
    CHECK(fl_store_close(s, &e) == FL_OK);
    for (unsigned threads = 1; threads <= 2; threads++) {
        fl_query_spec q;
        fl_qresult *res = NULL;
        fl_store_scan_stats st;
        src_ctx ctx;
        fl_source src;
        uint64_t late = 0;
        fl_query_spec_init(&q);
        q.op = FL_QOP_LIST;
        q.limit = 15;
        q.order = FL_ORDER_TSTART;
        q.threads = threads;
        CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
        CHECK(fl_store_scan_open(s, NULL, NULL, 0, &ctx.sc, &e) == FL_OK);
        memset(&src, 0, sizeof src);
        src.ctx = &ctx;
        src.next = src_next;
        src.parallel = 1;
        src.batch_rows = FL_STORE_GROUP_ROWS;
        src.time_bound = src_time_bound;
        CHECK(fl_query_run(&q, src, &res, &e) == FL_OK);
        fl_store_scan_get_stats(ctx.sc, &st);
        fl_store_scan_free(ctx.sc);
        fl_store_close(s, NULL);
        CHECK(res->list != NULL && res->list->n == 15);
        for (uint32_t r = 0; r < 15; r++) {
            fl_time t = FL_TIMES(res->list, FL_COL_TIME_FIRST)[r];
            late += FL_U64(res->list, FL_COL_BYTES)[r] == 7;
            CHECK(t == (r < 10 ? T0 + 500 + r : T0 + 1000 + (fl_time)(r - 10) * 10));
        }
        CHECK_EQ_INT(late, 10);
        /* slots 2-4 start after the cut */
        CHECK(st.segments_pruned >= 3);
        fl_qresult_free(res);
    }
    fl_batch_free(b);
    tu_rmrf(dir);
}

int main(void)
{
    fl_log_set_level(FL_LOG_ERROR);
    build_store();
    RUN(top_dst_ports_over_store);
    RUN(pushed_down_port_range_same_answer);
    RUN(parallel_scan_modes);
    RUN(time_bound_keeps_late_flows);
    tu_rmrf(g_dir);
    TEST_EXIT();
}
