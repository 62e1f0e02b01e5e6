/* tests/gen/test_gen.c — the generator is deterministic, exact in count,
 * ordered in time, inside its window, and has the mix it promises. */
#include "gen/gen.h"
#include "test.h"

static fl_gen_config cfg(uint64_t seed, uint64_t flows)
{
    fl_gen_config c;
    fl_gen_config_default(&c);
    c.seed = seed;
    c.start = 1714521600000LL; /* 2024-05-01T00:00Z */
    c.end = c.start + 86400000LL;
    c.flows = flows;
    return c;
}

TEST(deterministic_and_exact)
{
    fl_gen_config c = cfg(7, 10000);
    fl_gen *a = fl_gen_new(&c), *b = fl_gen_new(&c);
    fl_batch *ba = fl_batch_new(4096), *bb = fl_batch_new(4096);
    uint64_t total = 0;
    uint32_t n;

    CHECK(a && b && ba && bb);
    while ((n = fl_gen_next(a, ba, 4096)) > 0) {
        CHECK_EQ_INT(fl_gen_next(b, bb, 4096), n);
        for (uint32_t r = 0; r < n; r++) {
            fl_flow fa, fb;
            fl_batch_get(ba, r, &fa);
            fl_batch_get(bb, r, &fb);
            CHECK(memcmp(&fa, &fb, sizeof fa) == 0);
        }
        total += n;
        fl_batch_clear(ba);
        fl_batch_clear(bb);
    }
    CHECK_EQ_INT(total, 10000);
    CHECK_EQ_INT(fl_gen_produced(a), 10000);
    CHECK_EQ_INT(fl_gen_next(a, ba, 10), 0);
    fl_gen_free(a);
    fl_gen_free(b);
    fl_batch_free(ba);
    fl_batch_free(bb);
}

TEST(seeds_differ)
{
    fl_gen_config c1 = cfg(1, 100), c2 = cfg(2, 100);
    fl_gen *a = fl_gen_new(&c1), *b = fl_gen_new(&c2);
    fl_batch *ba = fl_batch_new(128), *bb = fl_batch_new(128);
    int same = 0;

    fl_gen_next(a, ba, 100);
    fl_gen_next(b, bb, 100);
    for (int r = 0; r < 100; r++)
        same += fl_addr_cmp(FL_ADDRS(ba, FL_COL_SRC_ADDR)[r], FL_ADDRS(bb, FL_COL_SRC_ADDR)[r]) == 0;
    CHECK(same < 50);
    fl_gen_free(a);
    fl_gen_free(b);
    fl_batch_free(ba);
    fl_batch_free(bb);
}

TEST(times_ordered_in_window_and_diurnal)
{
    fl_gen_config c = cfg(3, 50000);
    fl_gen *g = fl_gen_new(&c);
    fl_batch *b = fl_batch_new(50000);
    uint64_t night = 0, evening = 0, v6 = 0, tcp = 0, exporters[8] = {0};

    CHECK_EQ_INT(fl_gen_next(g, b, 50000), 50000);
    for (uint32_t r = 0; r < b->n; r++) {
        fl_time t = FL_TIMES(b, FL_COL_TIME_FIRST)[r];
        CHECK(t >= c.start && t < c.end);
        CHECK(FL_TIMES(b, FL_COL_TIME_LAST)[r] >= t);
        if (r > 0)
            CHECK(t >= FL_TIMES(b, FL_COL_TIME_FIRST)[r - 1]);
        if ((t - c.start) / 3600000 == 4)
            night++;
        if ((t - c.start) / 3600000 == 20)
            evening++;
        v6 += !fl_addr_is_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]);
        tcp += FL_U8(b, FL_COL_PROTO)[r] == 6;
        CHECK(FL_U64(b, FL_COL_BYTES)[r] >= FL_U64(b, FL_COL_PACKETS)[r]);
        CHECK(FL_U64(b, FL_COL_PACKETS)[r] >= 1);
        exporters[FL_U16(b, FL_COL_EXPORTER)[r] & 7]++;
    }
    CHECK(evening > 3 * night);              /* the diurnal curve */
    CHECK(v6 > 50000 / 10 && v6 < 50000 * 3 / 10); /* ~20% IPv6 */
    CHECK(tcp > 50000 / 2);                  /* TCP dominates */
    for (int e = 1; e <= 4; e++)
        CHECK(exporters[e] == 12500);        /* 4 exporters, round robin */
    CHECK(fl_batch_has(b, FL_COL_SRC_AS));
    fl_gen_free(g);
    fl_batch_free(b);
}

TEST(hosts_are_skewed)
{
    fl_gen_config c = cfg(5, 20000);
    fl_gen *g = fl_gen_new(&c);
    fl_batch *b = fl_batch_new(20000);
    fl_addr top = fl_addr_from_v4(0x0a000001); /* rank 0 internal host */
    uint32_t hits = 0;

    fl_gen_next(g, b, 20000);
    for (uint32_t r = 0; r < b->n; r++)
        hits += fl_addr_cmp(FL_ADDRS(b, FL_COL_SRC_ADDR)[r], top) == 0 ||
                fl_addr_cmp(FL_ADDRS(b, FL_COL_DST_ADDR)[r], top) == 0;
    CHECK(hits > 20000 / 50); /* Zipf: the top host of 2000 sees > 2% */
    fl_gen_free(g);
    fl_batch_free(b);
}

int main(void)
{
    RUN(deterministic_and_exact);
    RUN(seeds_differ);
    RUN(times_ordered_in_window_and_diurnal);
    RUN(hosts_are_skewed);
    TEST_EXIT();
}
