/*
 * tests/store/test_crash.c — kill -9 a writer mid-stream, many times, and
 * compare what it acknowledged with what the store serves afterwards.
 *
 * `test_crash writer DIR FIRST_ID` is the writer: it appends flows with
 * ids FIRST_ID, FIRST_ID+1, ... (the id is in `bytes`, every other column
 * derives from it), flushes every few batches and prints "ACK <last id>"
 * after each flush returned; on SIGTERM it closes the store and prints
 * "CLOSED <last id>". Without arguments the program is the test: it runs
 * 20 writers, kills 19 with SIGKILL at pseudo-random moments (fixed seed)
 * and the last with SIGTERM; each writer's start-up recovers what the
 * previous one left. Then every acknowledged row must be there, exactly
 * once and intact; the rows of a run form a prefix of what it sent (a
 * crash loses a tail, never a middle); the deep verify finds nothing; no
 * temporary or open-slot file is left.
 */
#include "store/store.h"
#include "store_test_util.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 20
#define RUN_IDS 10000000ULL
#define T0 ((fl_time)1714564800000LL)

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static void row_of(uint64_t id, fl_flow *f)
{
    tu_flow(f, id, T0 + (fl_time)(id / 4), id % 5 == 0);
    f->BYTES = id + 1;
}

static int writer(const char *dir, uint64_t first)
{
    fl_store_opts o;
    fl_store *s;
    fl_batch *b = fl_batch_new(500);
    fl_err e;
    uint64_t id = first;
    char buf[1024];
    int nb = 0;

    signal(SIGTERM, on_term);
    fl_store_opts_default(&o);
    o.slot_ms = 500; /* 2000 rows per slot: several slot changes per run */
    o.flush_ms = 20;
    if (fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) != FL_OK) {
        fl_err_format(&e, buf, sizeof buf);
        fprintf(stderr, "writer: %s\n", buf);
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    while (!stop && id < first + RUN_IDS) {
        fl_flow f;
        fl_batch_clear(b);
        for (int i = 0; i < 500; i++) {
            row_of(id++, &f);
            fl_batch_append(b, &f);
        }
        if (fl_store_append(s, b, &e) != FL_OK)
            break;
        if (++nb % 4 == 0) {
            uint64_t d;
            if (fl_store_flush(s, &d, &e) != FL_OK)
                break;
            printf("ACK %llu\n", (unsigned long long)(id - 1));
            fflush(stdout);
        }
        usleep(1000);
    }
    if (fl_store_close(s, &e) != FL_OK) {
        fl_err_format(&e, buf, sizeof buf);
        fprintf(stderr, "writer close: %s\n", buf);
        return 1;
    }
    printf("CLOSED %llu\n", (unsigned long long)(id - 1));
    fflush(stdout);
    fl_batch_free(b);
    return 0;
}

typedef struct run_result {
    uint64_t first;
    uint64_t acked; /* last acknowledged id + 1, or first if none */
    uint64_t sent;  /* CLOSED id + 1 for the SIGTERM run */
} run_result;

static char g_self[1024];
static char g_dir[512];

TEST(kill9_loses_only_unacknowledged_rows)
{
    run_result runs[RUNS];
    unsigned seed = 12345;
    fl_store *s;
    fl_store_scan *sc;
    fl_batch *b;
    fl_err e;
    uint64_t *count, *maxid, total = 0;
    uint64_t *seen_n;
    int acked_runs = 0;

    for (int i = 0; i < RUNS; i++) {
        int last = i == RUNS - 1;
        int delay = 40 + (int)(rand_r(&seed) % 260);
        runs[i].first = (uint64_t)(i + 1) * RUN_IDS;
        CHECK(tu_run_writer(g_self, g_dir, runs[i].first, delay, last ? SIGTERM : SIGKILL,
                            &runs[i].acked, &runs[i].sent) == 0);
        acked_runs += runs[i].acked > runs[i].first;
    }
    CHECK(acked_runs >= RUNS / 2); /* the kills did land mid-stream */
    CHECK(runs[RUNS - 1].sent > runs[RUNS - 1].first);

    count = calloc(RUNS, sizeof *count);
    maxid = calloc(RUNS, sizeof *maxid);
    seen_n = calloc(RUNS, sizeof *seen_n);
    CHECK(fl_store_open(g_dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_scan_open(s, NULL, NULL, 0, &sc, &e) == FL_OK);
    {
        /* per run: a bitmap of seen ids to find duplicates and gaps */
        uint8_t **bits = calloc(RUNS, sizeof *bits);
        for (int i = 0; i < RUNS; i++)
            bits[i] = calloc(RUN_IDS / 8, 1);
        for (;;) {
            CHECK(fl_store_scan_next(sc, &b, &e) == FL_OK);
            if (b == NULL)
                break;
            for (uint32_t r = 0; r < b->n; r++) {
                fl_flow got, want;
                const char *col = "";
                uint64_t id = FL_U64(b, FL_COL_BYTES)[r] - 1;
                int run = (int)(id / RUN_IDS) - 1;
                uint64_t off = id % RUN_IDS;
                CHECK(run >= 0 && run < RUNS);
                fl_batch_get(b, r, &got);
                row_of(id, &want);
                if (!tu_flow_eq(&got, &want, &col)) {
                    snprintf(test_msg, sizeof test_msg, "row id %llu differs in %s",
                             (unsigned long long)id, col);
                    longjmp(test_jmp, 1);
                }
                CHECK(!(bits[run][off / 8] & (1u << (off % 8)))); /* no duplicate */
                bits[run][off / 8] |= (uint8_t)(1u << (off % 8));
                count[run]++;
                if (id + 1 > maxid[run])
                    maxid[run] = id + 1;
                total++;
            }
        }
        for (int i = 0; i < RUNS; i++) {
            /* everything acknowledged is there; what is there is a prefix */
            uint64_t have = count[i];
            if (runs[i].acked > runs[i].first)
                CHECK(have >= runs[i].acked - runs[i].first);
            if (have)
                CHECK_EQ_INT(maxid[i] - runs[i].first, have);
            if (runs[i].sent)
                CHECK_EQ_INT(have, runs[i].sent - runs[i].first);
            free(bits[i]);
        }
        free(bits);
    }
    fl_store_scan_free(sc);
    {
        fl_store_verify_stats vs;
        CHECK(fl_store_verify(s, 1, NULL, NULL, &vs, &e) == FL_OK);
        CHECK_EQ_INT(vs.rows, total);
        CHECK_EQ_INT(vs.open_slots, 0);
    }
    fl_store_close(s, NULL);
    {
        /* no temporary or open file left after the clean SIGTERM close */
        char p[600];
        DIR *d;
        struct dirent *de;
        snprintf(p, sizeof p, "%s/seg", g_dir);
        d = opendir(p);
        CHECK(d != NULL);
        while ((de = readdir(d)) != NULL)
            CHECK(strstr(de->d_name, ".tmp") == NULL && strstr(de->d_name, ".open") == NULL);
        closedir(d);
    }
    printf("info: %d runs, %llu rows kept\n", RUNS, (unsigned long long)total);
    free(count);
    free(maxid);
    free(seen_n);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "writer") == 0)
        return writer(argv[2], strtoull(argv[3], NULL, 10));
    fl_log_set_level(FL_LOG_ERROR);
    if (readlink("/proc/self/exe", g_self, sizeof g_self - 1) < 0)
        return 2;
    tu_tmpdir(g_dir, sizeof g_dir, "crash");
    RUN(kill9_loses_only_unacknowledged_rows);
    if (test_failed_count == 0)
        tu_rmrf(g_dir);
    else
        printf("store left in %s\n", g_dir);
    TEST_EXIT();
}
