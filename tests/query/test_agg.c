/* tests/query/test_agg.c — the partitioned aggregation table (query/agg.c)
 * against brute force: several threads folding into one table under the
 * partition locks, its shared memory budget, and the engine's stats and
 * aggregate answers with one and several threads. */
#include "gen/gen.h"
#include "query/query_int.h"
#include "test.h"

#include <pthread.h>

#define NDOM 5000     /* distinct keys of the brute-force streams */
#define NROWS 200000  /* rows per thread */
#define NTHREADS 3

static fl_addr key_of(uint32_t k, unsigned i)
{
    fl_addr a;
    if (i == 0)
        return fl_addr_from_v4(0x0a000000u + k * 7919u);
    /* odd keys have a high half: they live in the wide tables */
    a.hi = k & 1 ? (uint64_t)k * 0x9e3779b97f4a7c15ULL : 0;
    a.lo = k;
    return a;
}

typedef struct feeder {
    agg_ptable *pt;
    uint32_t seed;
    uint64_t count[NDOM]; /* rows of each key this thread folded */
    fl_rc rc;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    uint32_t x = f->seed;

    f->rc = FL_OK;
    for (uint32_t r = 0; r < NROWS && f->rc == FL_OK; r++) {
        fl_addr k[2];
        uint32_t d;
        uint64_t h;
        agg_part *part;
        agg_entry *en;
        fl_qcounters c;
        x = x * 1103515245u + 12345u;
        d = (x >> 8) % NDOM;
        k[0] = key_of(d, 0);
        k[1] = key_of(d, 1);
        h = agg_hash(k, 2);
        part = &f->pt->part[agg_part_of(h)];
        memset(&c, 0, sizeof c);
        c.flows = 1;
        c.bytes = d;
        c.first = c.last = (fl_time)r;
        /* keys from 4000 on bring reverse counters: the first such row
         * makes every table hold them (any thread may be first) */
        if (d >= 4000) {
            c.out_bytes = 1;
            if (!__atomic_load_n(&f->pt->out, __ATOMIC_ACQUIRE) &&
                (f->rc = agg_ptable_add_out(f->pt)) != FL_OK)
                break;
        }
        pthread_mutex_lock(&part->lock);
        {
            agg_table *t = &part->t[agg_key_wide(k, 2)];
            f->rc = agg_find(t, k, h, &en);
            if (f->rc == FL_OK)
                agg_add(t, en, &c);
        }
        pthread_mutex_unlock(&part->lock);
        if (f->rc == FL_OK)
            f->count[d]++;
    }
    return NULL;
}

static size_t table_bytes(const agg_ptable *pt)
{
    size_t b = 0;
    for (unsigned p = 0; p < AGG_PARTS; p++)
        for (int w = 0; w < 2; w++)
            b += pt->part[p].t[w].slots * pt->part[p].t[w].stride;
    return b;
}

static void run_feeders(agg_ptable *pt, feeder *f)
{
    pthread_t tid[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        memset(&f[i], 0, sizeof f[i]);
        f[i].pt = pt;
        f[i].seed = 17u + (uint32_t)i * 1000u;
        CHECK(pthread_create(&tid[i], NULL, feed, &f[i]) == 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(tid[i], NULL);
}

TEST(threads_fold_into_one_table_like_brute_force)
{
    static feeder f[NTHREADS];
    agg_ptable pt;
    uint64_t want[NDOM] = {0};
    size_t distinct = 0, seen = 0;

    CHECK(agg_ptable_init(&pt, 2, (size_t)1 << 30) == FL_OK);
    run_feeders(&pt, f);
    for (int i = 0; i < NTHREADS; i++) {
        CHECK(f[i].rc == FL_OK);
        for (uint32_t d = 0; d < NDOM; d++)
            want[d] += f[i].count[d];
    }
    for (uint32_t d = 0; d < NDOM; d++)
        distinct += want[d] != 0;
    CHECK_EQ_INT(agg_ptable_used(&pt), distinct);
    for (unsigned p = 0; p < AGG_TABLES; p++) {
        const agg_table *t = agg_ptable_at(&pt, p);
        for (size_t i = 0; i < t->slots; i++) {
            const agg_entry *en = agg_at(t, i);
            fl_addr k[2];
            uint32_t d;
            if (en->c.flows == 0)
                continue;
            k[0] = agg_key(t, en, 0);
            k[1] = agg_key(t, en, 1);
            CHECK_EQ_INT(agg_part_of(agg_hash(k, 2)), p / 2);
            d = (uint32_t)k[1].lo;
            CHECK(d < NDOM);
            CHECK(fl_addr_cmp(k[0], key_of(d, 0)) == 0);
            CHECK(fl_addr_cmp(k[1], key_of(d, 1)) == 0);
            CHECK_EQ_INT(t->wide, d & 1);
            CHECK_EQ_INT(en->c.flows, want[d]);
            CHECK_EQ_INT(en->c.bytes, want[d] * d);
            {
                fl_qcounters c;
                agg_counters(t, en, &c);
                CHECK_EQ_INT(c.out_bytes, d >= 4000 ? want[d] : 0);
            }
            seen++;
        }
    }
    CHECK_EQ_INT(seen, distinct);
    /* the shared budget counts exactly the partitions' tables */
    CHECK_EQ_INT(pt.budget.used, table_bytes(&pt));
    agg_ptable_free(&pt);
}

TEST(shared_budget_bounds_all_partitions)
{
    static feeder f[NTHREADS];
    agg_ptable pt;
    size_t limit = 640 * 1024;
    int limited = 0;

    /* 5000 keys of 2 x 16 bytes need about 1 MiB at 3/4 load */
    CHECK(agg_ptable_init(&pt, 2, limit) == FL_OK);
    run_feeders(&pt, f);
    for (int i = 0; i < NTHREADS; i++) {
        CHECK(f[i].rc == FL_OK || f[i].rc == FL_ELIMIT);
        limited |= f[i].rc == FL_ELIMIT;
    }
    CHECK(limited);
    CHECK(pt.budget.used <= limit);
    CHECK_EQ_INT(pt.budget.used, table_bytes(&pt));
    /* no partition filled past 7/8 */
    for (unsigned p = 0; p < AGG_PARTS; p++)
        for (int w = 0; w < 2; w++)
            CHECK(pt.part[p].t[w].used * 8 <= pt.part[p].t[w].slots * 7);
    agg_ptable_free(&pt);

    /* too small for even the empty partitions */
    CHECK(agg_ptable_init(&pt, 2, 4096) == FL_ELIMIT);
    agg_ptable_free(&pt);
}

/* ------------------------------------------------------------------ */
/* The engine over generated flows                                     */
/* ------------------------------------------------------------------ */

#define NFLOWS 30000
#define NB ((NFLOWS + FL_BATCH_CAP - 1) / FL_BATCH_CAP)
static fl_batch *batches[NB];

static void make_flows(void)
{
    fl_gen_config c;
    fl_gen *g;

    fl_gen_config_default(&c);
    c.seed = 5;
    c.start = 1714521600000LL;
    c.end = c.start + 3600000LL;
    c.flows = NFLOWS;
    c.sampling = 1;
    g = fl_gen_new(&c);
    for (int i = 0; i < NB; i++) {
        batches[i] = fl_batch_new(0);
        fl_gen_next(g, batches[i], FL_BATCH_CAP);
    }
    fl_gen_free(g);
}

static fl_rc run(const char *agg, unsigned threads, size_t budget, fl_qresult **r, fl_err *e)
{
    fl_query_spec s;
    fl_mem_source m;

    fl_query_spec_init(&s);
    fl_err_clear(e);
    CHECK(fl_query_parse_aggregate(&s, agg, e) == FL_OK);
    s.order = FL_ORDER_BYTES;
    s.limit = 0;
    s.threads = threads;
    s.memory_budget = budget;
    return fl_query_run(&s, fl_mem_source_init(&m, batches, NB), r, e);
}

static int same_rows(const fl_qresult *a, const fl_qresult *b, unsigned nk)
{
    if (a->nrows != b->nrows || a->distinct != b->distinct)
        return 0;
    for (size_t i = 0; i < a->nrows; i++) {
        for (unsigned k = 0; k < nk; k++)
            if (fl_addr_cmp(a->rows[i].key[k], b->rows[i].key[k]) != 0)
                return 0;
        if (memcmp(&a->rows[i].c, &b->rows[i].c, sizeof a->rows[i].c) != 0)
            return 0;
    }
    return 1;
}

TEST(aggregate_threads_equal_and_match_brute_force)
{
    fl_qresult *r1 = NULL, *r4 = NULL;
    fl_err e;
    uint64_t flows = 0;

    CHECK(run("srcip,dstport", 1, 0, &r1, &e) == FL_OK);
    CHECK(run("srcip,dstport", 4, 0, &r4, &e) == FL_OK);
    CHECK(r1->nrows > 1000);
    CHECK(same_rows(r1, r4, 2));
    for (size_t i = 0; i < r1->nrows; i++) {
        flows += r1->rows[i].c.flows;
        if (i > 0)
            CHECK(r1->rows[i - 1].c.bytes + r1->rows[i - 1].c.out_bytes >=
                  r1->rows[i].c.bytes + r1->rows[i].c.out_bytes);
    }
    CHECK_EQ_INT(flows, NFLOWS);
    /* every 97th row against a scan of the flows */
    for (size_t i = 0; i < r1->nrows; i += 97) {
        uint64_t f = 0, by = 0;
        for (int b = 0; b < NB; b++)
            for (uint32_t k = 0; k < batches[b]->n; k++)
                if (fl_addr_cmp(FL_ADDRS(batches[b], FL_COL_SRC_ADDR)[k], r1->rows[i].key[0]) ==
                        0 &&
                    FL_U16(batches[b], FL_COL_DST_PORT)[k] == r1->rows[i].key[1].lo) {
                    f++;
                    by += FL_U64(batches[b], FL_COL_BYTES)[k];
                }
        CHECK_EQ_INT(r1->rows[i].c.flows, f);
        CHECK_EQ_INT(r1->rows[i].c.bytes, by);
    }
    fl_qresult_free(r1);
    fl_qresult_free(r4);
}

TEST(aggregate_budget_fails_cleanly_then_fits)
{
    fl_qresult *big = NULL, *r = NULL;
    fl_err e;
    size_t budget = 384 * 1024;

    CHECK(run("srcip,dstip,srcport,dstport", 2, 0, &big, &e) == FL_OK);
    CHECK(big->distinct > 10000);
    /* too small: a clear error naming the budget and the keys, no result */
    CHECK(run("srcip,dstip,srcport,dstport", 2, budget, &r, &e) == FL_ELIMIT);
    CHECK(r == NULL);
    CHECK(strstr(e.msg, "budget of 384 KiB") != NULL);
    CHECK(strstr(e.msg, "distinct keys") != NULL);
    /* raise it until it fits: the same answer as with no limit */
    while (r == NULL && budget < ((size_t)1 << 30)) {
        budget *= 2;
        if (run("srcip,dstip,srcport,dstport", 2, budget, &r, &e) != FL_OK) {
            CHECK(e.rc == FL_ELIMIT);
            r = NULL;
        }
    }
    CHECK(r != NULL);
    CHECK(same_rows(big, r, 4));
    fl_qresult_free(big);
    fl_qresult_free(r);
}

/* Reverse counters that start part way through the flows: the tables
 * take them on (agg_ptable_add_out) with the keys already held, and every
 * key's sums still equal a scan of the flows. */
TEST(reverse_counters_arriving_late_are_all_counted)
{
    fl_qresult *r1 = NULL, *r2 = NULL;
    fl_err e;
    uint64_t out = 0, got = 0;

    for (int b = NB / 2; b < NB; b++) {
        for (uint32_t k = 0; k < batches[b]->n; k++) {
            FL_U64(batches[b], FL_COL_OUT_BYTES)[k] = 1000 + k % 7;
            FL_U64(batches[b], FL_COL_OUT_PACKETS)[k] = 1 + k % 3;
            out += 1000 + k % 7;
        }
        fl_batch_mark(batches[b], FL_COL_OUT_BYTES);
        fl_batch_mark(batches[b], FL_COL_OUT_PACKETS);
    }
    CHECK(run("srcip,dstip", 1, 0, &r1, &e) == FL_OK);
    CHECK(run("srcip,dstip", 2, 0, &r2, &e) == FL_OK);
    CHECK(same_rows(r1, r2, 2));
    for (size_t i = 0; i < r1->nrows; i++)
        got += r1->rows[i].c.out_bytes;
    CHECK_EQ_INT(got, out);
    for (size_t i = 0; i < r1->nrows; i += 97) {
        uint64_t f = 0, ob = 0, op = 0;
        for (int b = 0; b < NB; b++)
            for (uint32_t k = 0; k < batches[b]->n; k++)
                if (fl_addr_cmp(FL_ADDRS(batches[b], FL_COL_SRC_ADDR)[k], r1->rows[i].key[0]) ==
                        0 &&
                    fl_addr_cmp(FL_ADDRS(batches[b], FL_COL_DST_ADDR)[k], r1->rows[i].key[1]) ==
                        0) {
                    f++;
                    ob += FL_U64(batches[b], FL_COL_OUT_BYTES)[k];
                    op += FL_U64(batches[b], FL_COL_OUT_PACKETS)[k];
                }
        CHECK_EQ_INT(r1->rows[i].c.flows, f);
        CHECK_EQ_INT(r1->rows[i].c.out_bytes, ob);
        CHECK_EQ_INT(r1->rows[i].c.out_packets, op);
    }
    fl_qresult_free(r1);
    fl_qresult_free(r2);
}

int main(void)
{
    make_flows();
    RUN(threads_fold_into_one_table_like_brute_force);
    RUN(shared_budget_bounds_all_partitions);
    RUN(aggregate_threads_equal_and_match_brute_force);
    RUN(aggregate_budget_fails_cleanly_then_fits);
    RUN(reverse_counters_arriving_late_are_all_counted); /* last: it changes the flows */
    for (int i = 0; i < NB; i++)
        fl_batch_free(batches[i]);
    TEST_EXIT();
}
