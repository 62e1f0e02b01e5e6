/*
 * bench/bench_store.c — the store's own figures, for bench/store.sh.
 *
 *   bench_store N SEED DIR
 *
 * Generates N flows with the generator's default mix (seed SEED, the same
 * config `flowlens gen --seed SEED --count N` uses) into memory first, so
 * generation is not timed; then for zstd and lz4: writes them into a fresh
 * store DIR/<codec> on one core with the default options (5-minute slots,
 * flush + fsync every second), measures bytes on disk, scans everything
 * back (all stored columns, then four typical query columns) and checks
 * the scan returns N rows whose `bytes` sum equals what was written (the
 * benchmark verifies its own output). Prints one `key=value` line per
 * codec for store.sh to parse.
 */
#include "gen/gen.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A copy of b with only its present columns (absent ones NULL): the store
 * reads only present columns, so the pool of 10M flows stays small. */
static fl_batch *compact(const fl_batch *b)
{
    fl_batch *c = calloc(1, sizeof *c);
    size_t tot = 0, off = 0;

    if (c == NULL)
        return NULL;
    for (int k = 0; k < FL_COL_COUNT; k++)
        if (fl_batch_has(b, (fl_col)k))
            tot += ((size_t)fl_col_get((fl_col)k)->width * b->n + 63) & ~(size_t)63;
    c->mem = aligned_alloc(64, tot ? tot : 64);
    if (c->mem == NULL) {
        free(c);
        return NULL;
    }
    c->n = c->cap = b->n;
    memcpy(c->present, b->present, sizeof c->present);
    for (int k = 0; k < FL_COL_COUNT; k++)
        if (fl_batch_has(b, (fl_col)k)) {
            size_t len = (size_t)fl_col_get((fl_col)k)->width * b->n;
            c->col[k] = (uint8_t *)c->mem + off;
            memcpy(c->col[k], b->col[k], len);
            off += (len + 63) & ~(size_t)63;
        }
    return c;
}

static uint64_t dir_bytes(const char *dir)
{
    char p[2048];
    DIR *d = opendir(dir);
    struct dirent *de;
    uint64_t total = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            total += dir_bytes(p);
        else
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static int fail(const char *what, const fl_err *e)
{
    char buf[900];
    fl_err_format(e, buf, sizeof buf);
    fprintf(stderr, "bench_store: %s: %s\n", what, buf);
    return 1;
}

/* Scan cols (NULL = all); returns values decoded per second. */
static int scan(fl_store *s, const uint64_t *cols, uint64_t want_rows, uint64_t want_sum,
                double *vps, uint64_t *values)
{
    fl_store_scan *sc;
    fl_store_scan_stats st;
    fl_batch *b;
    fl_err e;
    uint64_t sum = 0;
    double t0 = now_s(), dt;

    if (fl_store_scan_open(s, cols, NULL, 0, &sc, &e) != FL_OK)
        return fail("scan", &e);
    for (;;) {
        if (fl_store_scan_next(sc, &b, &e) != FL_OK)
            return fail("scan", &e);
        if (b == NULL)
            break;
        if (cols == NULL || (cols[FL_COL_BYTES / 64] >> (FL_COL_BYTES % 64) & 1))
            for (uint32_t i = 0; i < b->n; i++)
                sum += FL_U64(b, FL_COL_BYTES)[i];
    }
    dt = now_s() - t0;
    fl_store_scan_get_stats(sc, &st);
    fl_store_scan_free(sc);
    if (st.rows != want_rows || st.warnings != 0 ||
        ((cols == NULL || (cols[FL_COL_BYTES / 64] >> (FL_COL_BYTES % 64) & 1)) &&
         sum != want_sum)) {
        fprintf(stderr, "bench_store: scan returned %llu rows (want %llu), sum %llu (want %llu)\n",
                (unsigned long long)st.rows, (unsigned long long)want_rows,
                (unsigned long long)sum, (unsigned long long)want_sum);
        return 1;
    }
    *vps = (double)st.values / dt;
    *values = st.values;
    return 0;
}

int main(int argc, char **argv)
{
    fl_gen_config gc;
    fl_gen *g;
    fl_batch *b, **pool = NULL;
    size_t npool = 0, cap = 0;
    uint64_t n, sum = 0;
    double t0;
    const char *codecs[2] = {"zstd", "lz4"};

    if (argc != 4) {
        fprintf(stderr, "usage: bench_store N SEED DIR\n");
        return 2;
    }
    n = strtoull(argv[1], NULL, 10);
    fl_log_set_level(FL_LOG_WARN);
    fl_gen_config_default(&gc);
    gc.seed = strtoull(argv[2], NULL, 10);
    gc.flows = n;
    g = fl_gen_new(&gc);
    b = fl_batch_new(0);
    if (g == NULL || b == NULL)
        return 1;
    t0 = now_s();
    for (;;) {
        fl_batch_clear(b);
        if (fl_gen_next(g, b, b->cap) == 0)
            break;
        for (uint32_t i = 0; i < b->n; i++)
            sum += FL_U64(b, FL_COL_BYTES)[i];
        if (npool == cap) {
            cap = cap ? cap * 2 : 1024;
            pool = realloc(pool, cap * sizeof *pool);
            if (pool == NULL)
                return 1;
        }
        if ((pool[npool++] = compact(b)) == NULL)
            return 1;
    }
    printf("generated flows=%llu gen_s=%.2f\n", (unsigned long long)n, now_s() - t0);
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
        char dir[1024];
        fl_store_opts o;
        fl_store *s;
        fl_err e;
        double tw, tc, vps_all, vps4;
        uint64_t bytes, vall, v4;
        uint64_t cols4[FL_PRESENT_WORDS] = {0};

        snprintf(dir, sizeof dir, "%s/%s", argv[3], codecs[k]);
        fl_store_opts_default(&o);
        o.codec = k == 0 ? FL_STORE_ZSTD : FL_STORE_LZ4;
        if (getenv("BENCH_NO_FSYNC")) /* to separate CPU from fsync waits */
            o.fsync = 0;
        /* the segment format against nfcapd's files: by-address copies
         * (about 1.9x the segments' bytes) only with BENCH_BY_ADDR */
        o.by_addr = getenv("BENCH_BY_ADDR") != NULL;
        if (getenv("BENCH_ZSTD_LEVEL")) /* explore levels */
            o.level = (int)strtol(getenv("BENCH_ZSTD_LEVEL"), NULL, 10);
        if (fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) != FL_OK)
            return fail("open", &e);
        t0 = now_s();
        tc = cpu_s();
        for (size_t i = 0; i < npool; i++)
            if (fl_store_append(s, pool[i], &e) != FL_OK)
                return fail("append", &e);
        if (fl_store_close(s, &e) != FL_OK)
            return fail("close", &e);
        tw = now_s() - t0;
        tc = cpu_s() - tc;
        bytes = dir_bytes(dir);
        if (fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) != FL_OK)
            return fail("open", &e);
        if (scan(s, NULL, n, sum, &vps_all, &vall) != 0)
            return 1;
        cols4[FL_COL_TIME_FIRST / 64] |= 1ULL << (FL_COL_TIME_FIRST % 64);
        cols4[FL_COL_SRC_ADDR / 64] |= 1ULL << (FL_COL_SRC_ADDR % 64);
        cols4[FL_COL_DST_PORT / 64] |= 1ULL << (FL_COL_DST_PORT % 64);
        cols4[FL_COL_BYTES / 64] |= 1ULL << (FL_COL_BYTES % 64);
        if (scan(s, cols4, n, sum, &vps4, &v4) != 0)
            return 1;
        fl_store_close(s, NULL);
        printf("flowlens codec=%s flows=%llu bytes=%llu bytes_per_flow=%.2f write_s=%.2f "
               "write_flows_per_s=%.0f write_flows_per_cpu_s=%.0f scan_all_values=%llu "
               "scan_all_values_per_s=%.0f "
               "scan4_values_per_s=%.0f\n",
               codecs[k], (unsigned long long)n, (unsigned long long)bytes, (double)bytes / (double)n,
               tw, (double)n / tw, (double)n / tc, (unsigned long long)vall, vps_all, vps4);
        fflush(stdout);
    }
    for (size_t i = 0; i < npool; i++)
        fl_batch_free(pool[i]);
    free(pool);
    fl_batch_free(b);
    fl_gen_free(g);
    return 0;
}
