/*
 * tests/store/test_store_slots.c — the writer's open slots under flow
 * times that straddle slots.
 *
 * Exporters send flows whose times cross slot boundaries (long flows,
 * buffered exports, skewed clocks), often interleaved in one batch. The
 * writer keeps up to four slots open, each with its own journal, so such a
 * stream stores every flow in its own slot without closing and reopening
 * slots; rows older than every open slot join the oldest open one; and a
 * kill -9 in the middle of such a stream loses only unacknowledged rows.
 * Every row carries its id in `bytes` (id + 1); every other column
 * derives from the id and the row's time, so each row is checked whole.
 *
 * `test_store_slots writer DIR FIRST_ID` is the crash test's writer.
 */
#include "store/store.h"
#include "store_test_util.h"
#include "test.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOT 60000
#define T0 ((fl_time)1714564800000LL) /* a slot start */
#define BATCH 1000

/* The time of row id in a stream interleaving `nslots` slots row by row;
 * `walk` slots wide when walk > 0: the slot advances every `per` rows and
 * wraps around (gen's flow window walked again and again). */
typedef struct stream {
    int nslots; /* interleave: row id goes to slot id % nslots */
    int walk;   /* or walk: slot (id / per) % walk */
    uint64_t per;
} stream;

static fl_time row_time(const stream *st, uint64_t id)
{
    uint64_t k = st->walk ? (id / st->per) % (uint64_t)st->walk : id % (uint64_t)st->nslots;
    return T0 + (fl_time)k * SLOT + (fl_time)(id % 50000);
}

static void row_of(const stream *st, uint64_t id, fl_flow *f)
{
    tu_flow(f, id, row_time(st, id), id % 7 == 0);
    f->BYTES = id + 1;
}

static fl_store_opts slot_opts(void)
{
    fl_store_opts o;
    fl_store_opts_default(&o);
    o.slot_ms = SLOT;
    o.fsync = 0;
    o.flush_ms = 1000000000u; /* flushed explicitly */
    return o;
}

/* Append ids [first, first+n) of stream st in batches of BATCH. */
static void put_stream(fl_store *s, const stream *st, uint64_t first, uint64_t n)
{
    fl_batch *b = fl_batch_new(BATCH);
    fl_err e;
    CHECK(b != NULL);
    for (uint64_t id = first; id < first + n;) {
        fl_batch_clear(b);
        while (id < first + n && b->n < b->cap) {
            fl_flow f;
            row_of(st, id++, &f);
            CHECK(fl_batch_append(b, &f) == FL_OK);
        }
        if (fl_store_append(s, b, &e) != FL_OK) {
            fl_batch_free(b);
            CHECK(!"append failed");
        }
    }
    fl_batch_free(b);
}

/* Scan everything: each row intact, each id in [first, first+n) once;
 * returns how many ids were seen. */
static uint64_t check_rows(fl_store *s, const stream *st, uint64_t first, uint64_t n)
{
    fl_store_scan *sc;
    fl_batch *b;
    fl_err e;
    uint8_t *seen = calloc(n / 8 + 1, 1);
    uint64_t got = 0;

    CHECK(seen != NULL);
    CHECK(fl_store_scan_open(s, NULL, NULL, 0, &sc, &e) == FL_OK);
    for (;;) {
        CHECK(fl_store_scan_next(sc, &b, &e) == FL_OK);
        if (b == NULL)
            break;
        for (uint32_t r = 0; r < b->n; r++) {
            fl_flow have, want;
            const char *col = "";
            uint64_t id = FL_U64(b, FL_COL_BYTES)[r] - 1, off = id - first;
            CHECK(id >= first && off < n);
            fl_batch_get(b, r, &have);
            row_of(st, id, &want);
            if (!tu_flow_eq(&have, &want, &col)) {
                snprintf(test_msg, sizeof test_msg, "row id %llu differs in %s",
                         (unsigned long long)id, col);
                longjmp(test_jmp, 1);
            }
            CHECK(!(seen[off / 8] & (1u << (off % 8))));
            seen[off / 8] |= (uint8_t)(1u << (off % 8));
            got++;
        }
    }
    fl_store_scan_free(sc);
    free(seen);
    return got;
}

static void check_verify(fl_store *s, uint64_t rows)
{
    fl_store_verify_stats vs;
    fl_err e;
    CHECK(fl_store_verify(s, 1, NULL, NULL, &vs, &e) == FL_OK);
    CHECK_EQ_INT(vs.rows, rows);
    CHECK_EQ_INT(vs.problems, 0);
}

/* Rows interleaved across three slots, row by row, in every batch: each
 * slot gets one segment holding exactly its rows, nothing is dropped. */
TEST(interleaved_slots_each_row_in_its_slot)
{
    char dir[512];
    fl_store_opts o = slot_opts();
    stream st = {3, 0, 0};
    const uint64_t n = 60000;
    fl_store *s;
    fl_store_seginfo *segs;
    size_t ns;
    fl_err e;

    tu_tmpdir(dir, sizeof dir, "slots");
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    put_stream(s, &st, 0, n);
    /* while open: all three journals flushed and visible to a reader */
    {
        fl_store *r;
        CHECK(fl_store_flush(s, NULL, &e) == FL_OK);
        CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &r, &e) == FL_OK);
        CHECK(fl_store_list(r, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
        CHECK_EQ_INT(ns, 3);
        for (size_t i = 0; i < ns; i++)
            CHECK(segs[i].open);
        free(segs);
        CHECK_EQ_INT(check_rows(r, &st, 0, n), n);
        fl_store_close(r, NULL);
    }
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_list(s, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
    CHECK_EQ_INT(ns, 3);
    for (size_t i = 0; i < ns; i++) {
        CHECK(!segs[i].open);
        CHECK_EQ_INT(segs[i].slot_start, T0 + (fl_time)i * SLOT);
        CHECK_EQ_INT(segs[i].seq, 1);
        CHECK_EQ_INT(segs[i].rows, n / 3);
        /* the segment's rows lie inside its slot */
        CHECK(segs[i].tmin >= segs[i].slot_start);
        CHECK(segs[i].tmax < segs[i].slot_start + SLOT);
    }
    free(segs);
    CHECK_EQ_INT(check_rows(s, &st, 0, n), n);
    check_verify(s, n);
    fl_store_close(s, NULL);
    tu_rmrf(dir);
}

/* A slot busier than seg_groups row groups goes on in its next segment
 * (sequence number), the full one published with its by-address copy
 * (a segment over 2 M rows would get none): here two interleaved slots
 * of 146,072 rows each with segments of 2 groups (131,072 rows). */
TEST(busy_slot_rolls_over_into_segments)
{
    char dir[512], seg[600];
    fl_store_opts o = slot_opts();
    stream st = {2, 0, 0};
    const uint64_t n = 2 * (2 * (uint64_t)FL_STORE_GROUP_ROWS + 15000);
    fl_store *s;
    fl_store_seginfo *segs;
    size_t ns;
    fl_err e;

    o.seg_groups = 2;
    tu_tmpdir(dir, sizeof dir, "rollover");
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    put_stream(s, &st, 0, n);
    CHECK(fl_store_flush(s, NULL, &e) == FL_OK);
    CHECK(fl_store_list(s, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
    CHECK_EQ_INT(ns, 4); /* per slot: a published segment, an open one */
    for (size_t i = 0; i < ns; i++)
        CHECK_EQ_INT(segs[i].open, segs[i].seq == 2);
    free(segs);
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_list(s, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
    CHECK_EQ_INT(ns, 4);
    for (size_t i = 0; i < ns; i++) {
        CHECK(!segs[i].open);
        CHECK_EQ_INT(segs[i].slot_start, T0 + (fl_time)(i / 2) * SLOT);
        CHECK_EQ_INT(segs[i].seq, 1 + i % 2);
        CHECK_EQ_INT(segs[i].rows, i % 2 ? 15000 : 2 * FL_STORE_GROUP_ROWS);
    }
    free(segs);
    CHECK_EQ_INT(check_rows(s, &st, 0, n), n);
    check_verify(s, n);
    fl_store_close(s, NULL);
    snprintf(seg, sizeof seg, "%s/seg", dir);
    CHECK_EQ_INT(tu_files_ending(seg, ".fla"), 4);
    tu_rmrf(dir);
}

/* A collector's store (by_addr 2) queues few copies: segments published
 * faster than the copier makes them are left without, and backfill makes
 * every one of them later. */
TEST(collector_copies_left_to_backfill)
{
    char dir[512], seg[600];
    fl_store_opts o = slot_opts();
    stream st = {1, 0, 0};
    const uint64_t n = 12 * (uint64_t)FL_STORE_GROUP_ROWS;
    fl_store *s;
    fl_err e;
    int more = 1, calls = 0;

    o.seg_groups = 1;
    o.by_addr = 2;
    tu_tmpdir(dir, sizeof dir, "bylater");
    snprintf(seg, sizeof seg, "%s/seg", dir);
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    put_stream(s, &st, 0, n);
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK_EQ_INT(tu_files_ending(seg, ".fls"), 12);
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    while (more && calls++ < 100)
        CHECK(fl_store_backfill(s, &more, &e) == FL_OK);
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK_EQ_INT(tu_files_ending(seg, ".fla"), 12);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    check_verify(s, n);
    fl_store_close(s, NULL);
    tu_rmrf(dir);
}

/* A flow window of 12 slots walked again and again (gen's default hour
 * over 5-minute slots): one segment per slot, not one per pass; rows of a
 * slot older than every open slot join the oldest open one. */
TEST(walked_window_bounded_segments)
{
    char dir[512];
    fl_store_opts o = slot_opts();
    stream st = {0, 12, 700};
    const uint64_t n = 12 * 700 * 8; /* eight passes */
    fl_store *s;
    fl_store_seginfo *segs;
    size_t ns;
    uint64_t rows = 0;
    fl_err e;

    tu_tmpdir(dir, sizeof dir, "walk");
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    put_stream(s, &st, 0, n);
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_list(s, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
    CHECK_EQ_INT(ns, 12);
    for (size_t i = 0; i < ns; i++) {
        CHECK_EQ_INT(segs[i].slot_start, T0 + (fl_time)i * SLOT);
        CHECK_EQ_INT(segs[i].seq, 1);
        rows += segs[i].rows;
        if (i < 8) {
            /* first pass only: later passes' rows went to slot 8 */
            CHECK_EQ_INT(segs[i].rows, 700);
        } else if (i == 8) {
            CHECK_EQ_INT(segs[i].rows, 700 * 8 + 7 * 700 * 8);
            CHECK(segs[i].tmin >= T0 && segs[i].tmin < T0 + SLOT); /* slot 0 rows joined */
        } else {
            CHECK_EQ_INT(segs[i].rows, 700 * 8);
            CHECK(segs[i].tmin >= segs[i].slot_start && segs[i].tmax < segs[i].slot_start + SLOT);
        }
    }
    CHECK_EQ_INT(rows, n);
    free(segs);
    CHECK_EQ_INT(check_rows(s, &st, 0, n), n);
    check_verify(s, n);
    /* a time query for slot 2 finds its rows of every pass, in slot 8's
     * segment too */
    {
        fl_store_pred p;
        fl_store_scan *sc;
        fl_batch *b;
        uint64_t k = 0;
        memset(&p, 0, sizeof p);
        p.t_start = T0 + 2 * SLOT;
        p.t_end = T0 + 3 * SLOT;
        CHECK(fl_store_scan_open(s, NULL, &p, FL_STORE_SCAN_EXACT, &sc, &e) == FL_OK);
        while (fl_store_scan_next(sc, &b, &e) == FL_OK && b != NULL)
            k += b->n;
        fl_store_scan_free(sc);
        CHECK_EQ_INT(k, 700 * 8);
    }
    fl_store_close(s, NULL);
    tu_rmrf(dir);
}

/* tick closes an open slot only once it is past and quiet: one still
 * getting rows stays open. A far-future slot (a broken exporter clock)
 * is closed by the same quiet rule, though it is never past. */
TEST(tick_keeps_busy_slots_open)
{
    char dir[512];
    fl_store_opts o = slot_opts();
    stream st = {2, 0, 0};
    fl_store *s, *r;
    fl_store_seginfo *segs;
    size_t ns;
    fl_batch *b = fl_batch_new(4);
    fl_flow f;
    fl_err e;
    int open = 0;
    uint64_t rows = 0;

    o.flush_ms = 100; /* quiet = 10 flush intervals = 1 s */
    tu_tmpdir(dir, sizeof dir, "tick");
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &r, &e) == FL_OK);
    put_stream(s, &st, 0, 2000);
    CHECK(b != NULL);
    tu_flow(&f, 2000, T0 + 10000LL * SLOT, 0);
    CHECK(fl_batch_append(b, &f) == FL_OK);
    CHECK(fl_store_append(s, b, &e) == FL_OK);
    /* long past (or far ahead), but rows just came: all stay open */
    CHECK(fl_store_tick(s, T0 + 100 * SLOT, &e) == FL_OK);
    CHECK(fl_store_list(r, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
    CHECK_EQ_INT(ns, 3);
    for (size_t i = 0; i < ns; i++)
        open += segs[i].open;
    CHECK_EQ_INT(open, 3);
    free(segs);
    usleep(1300000);
    CHECK(fl_store_tick(s, T0 + 100 * SLOT, &e) == FL_OK);
    CHECK(fl_store_list(r, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
    CHECK_EQ_INT(ns, 3);
    for (size_t i = 0; i < ns; i++) {
        CHECK(!segs[i].open);
        rows += segs[i].rows;
    }
    CHECK_EQ_INT(rows, 2001);
    free(segs);
    fl_store_close(s, NULL);
    fl_store_close(r, NULL);
    fl_batch_free(b);
    tu_rmrf(dir);
}

/* Timed flushes with fsync (their syncs on the syncer thread), a row
 * group growing by deltas between flushes: fl_store_flush then reports
 * every row durable, and every row reads back once. */
TEST(timed_flushes_sync_in_background)
{
    char dir[512];
    fl_store_opts o = slot_opts();
    stream st = {2, 0, 0};
    fl_store *s, *r;
    uint64_t durable = 0;
    fl_err e;

    o.flush_ms = 1;
    o.fsync = 1;
    tu_tmpdir(dir, sizeof dir, "bgsync");
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    for (uint64_t k = 0; k < 60; k++) {
        put_stream(s, &st, k * 1000, 1000);
        CHECK(fl_store_tick(s, T0, &e) == FL_OK);
        usleep(1500);
    }
    CHECK(fl_store_flush(s, &durable, &e) == FL_OK);
    CHECK_EQ_INT(durable, 60000);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &r, &e) == FL_OK);
    CHECK_EQ_INT(check_rows(r, &st, 0, 60000), 60000); /* open slots, read live */
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK_EQ_INT(check_rows(r, &st, 0, 60000), 60000); /* published */
    check_verify(r, 60000);
    fl_store_close(r, NULL);
    tu_rmrf(dir);
}

/* ---- kill -9 in an interleaved stream ---------------------------------- */

#define RUNS 6
#define RUN_IDS 10000000ULL
static const stream crash_stream = {3, 0, 0};
static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static int writer(const char *dir, uint64_t first)
{
    fl_store_opts o = slot_opts();
    fl_store *s;
    fl_batch *b = fl_batch_new(BATCH);
    fl_err e;
    uint64_t id = first;
    int nb = 0;

    signal(SIGTERM, on_term);
    o.flush_ms = 20;
    o.fsync = 1;
    if (fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) != FL_OK) {
        fprintf(stderr, "writer: %s\n", e.msg);
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    while (!stop && id < first + RUN_IDS) {
        fl_flow f;
        fl_batch_clear(b);
        for (int i = 0; i < BATCH; i++) {
            row_of(&crash_stream, id++, &f);
            fl_batch_append(b, &f);
        }
        if (fl_store_append(s, b, &e) != FL_OK)
            break;
        if (++nb % 3 == 0) {
            if (fl_store_flush(s, NULL, &e) != FL_OK)
                break;
            printf("ACK %llu\n", (unsigned long long)(id - 1));
            fflush(stdout);
        }
        usleep(1000);
    }
    if (fl_store_close(s, &e) != FL_OK) {
        fprintf(stderr, "writer close: %s\n", e.msg);
        return 1;
    }
    printf("CLOSED %llu\n", (unsigned long long)(id - 1));
    fflush(stdout);
    fl_batch_free(b);
    return 0;
}

static char g_self[1024];

TEST(kill9_mid_interleaved_stream)
{
    char dir[512];
    uint64_t acked[RUNS], sent[RUNS], count[RUNS] = {0}, total = 0;
    unsigned seed = 777;
    int acked_runs = 0;
    fl_store *s;
    fl_store_scan *sc;
    fl_store_seginfo *segs;
    size_t ns;
    fl_batch *b;
    fl_err e;

    tu_tmpdir(dir, sizeof dir, "slotcrash");
    for (int i = 0; i < RUNS; i++) {
        int last = i == RUNS - 1;
        CHECK(tu_run_writer(g_self, dir, (uint64_t)(i + 1) * RUN_IDS, 60 + (int)(rand_r(&seed) % 200),
                         last ? SIGTERM : SIGKILL, &acked[i], &sent[i]) == 0);
        acked_runs += acked[i] > (uint64_t)(i + 1) * RUN_IDS;
    }
    CHECK(acked_runs >= RUNS / 2);
    CHECK(sent[RUNS - 1] > (uint64_t)RUNS * RUN_IDS);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_scan_open(s, NULL, NULL, 0, &sc, &e) == FL_OK);
    for (;;) {
        CHECK(fl_store_scan_next(sc, &b, &e) == FL_OK);
        if (b == NULL)
            break;
        for (uint32_t r = 0; r < b->n; r++) {
            fl_flow have, want;
            const char *col = "";
            uint64_t id = FL_U64(b, FL_COL_BYTES)[r] - 1;
            int run = (int)(id / RUN_IDS) - 1;
            CHECK(run >= 0 && run < RUNS);
            fl_batch_get(b, r, &have);
            row_of(&crash_stream, id, &want);
            if (!tu_flow_eq(&have, &want, &col)) {
                snprintf(test_msg, sizeof test_msg, "row id %llu differs in %s",
                         (unsigned long long)id, col);
                longjmp(test_jmp, 1);
            }
            count[run]++;
            total++;
        }
    }
    fl_store_scan_free(sc);
    for (int i = 0; i < RUNS; i++) {
        uint64_t first = (uint64_t)(i + 1) * RUN_IDS;
        /* everything acknowledged is there (ids are unique: the count
         * cannot exceed what was sent without a duplicate) */
        CHECK(count[i] >= acked[i] - first);
        if (sent[i])
            CHECK_EQ_INT(count[i], sent[i] - first);
    }
    check_verify(s, total);
    /* bounded: each run leaves at most its three slots' segments */
    CHECK(fl_store_list(s, 0, 0, NULL, 0, &segs, &ns, &e) == FL_OK);
    CHECK(ns <= 3 * RUNS);
    for (size_t i = 0; i < ns; i++) {
        CHECK(!segs[i].open);
        CHECK(segs[i].tmin >= segs[i].slot_start && segs[i].tmax < segs[i].slot_start + SLOT);
    }
    printf("info: %d runs, %llu rows kept, %zu segments\n", RUNS, (unsigned long long)total, ns);
    free(segs);
    fl_store_close(s, NULL);
    tu_rmrf(dir);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "writer") == 0)
        return writer(argv[2], strtoull(argv[3], NULL, 10));
    fl_log_set_level(FL_LOG_ERROR);
    if (readlink("/proc/self/exe", g_self, sizeof g_self - 1) < 0)
        return 2;
    RUN(interleaved_slots_each_row_in_its_slot);
    RUN(walked_window_bounded_segments);
    RUN(busy_slot_rolls_over_into_segments);
    RUN(collector_copies_left_to_backfill);
    RUN(tick_keeps_busy_slots_open);
    RUN(timed_flushes_sync_in_background);
    RUN(kill9_mid_interleaved_stream);
    TEST_EXIT();
}
