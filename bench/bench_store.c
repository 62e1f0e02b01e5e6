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

/* ------------------------------------------------------------------ */
/* v9send: the fallback NetFlow v9 exporter for the nfcapd side, used by
 * store.sh only while `flowlens gen --proto v9` is not built. One
 * template per family (IPv4 256, IPv6 257) per exporter (source id =
 * exporter id), data records with the fields both sides store, times as
 * sysUptime-relative first/last switched (IE 22/21). */

enum { V9_MTU = 1400, V9_MAXEXP = 64 };

typedef struct v9buf {
    uint8_t p[V9_MTU];
    size_t n;
    uint16_t count;
    fl_time tmax;
    int fam; /* 4 or 6 */
    uint16_t src;
    uint32_t toff[64]; /* where each record's first/last switched go */
    fl_time tf[64], tl[64];
} v9buf;

static uint32_t v9_seq[V9_MAXEXP];
static uint64_t v9_pkts[V9_MAXEXP];

static void w8(uint8_t **q, uint8_t v) { *(*q)++ = v; }
static void w16(uint8_t **q, uint16_t v) { w8(q, (uint8_t)(v >> 8)); w8(q, (uint8_t)v); }
static void w32(uint8_t **q, uint32_t v) { w16(q, (uint16_t)(v >> 16)); w16(q, (uint16_t)v); }
static void w64(uint8_t **q, uint64_t v) { w32(q, (uint32_t)(v >> 32)); w32(q, (uint32_t)v); }

/* fields: id, length (v4 and v6 differ in addresses, masks, next hop) */
static const uint16_t v9_f4[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {5, 1},
                                    {1, 8}, {2, 8}, {10, 4}, {14, 4}, {16, 4}, {17, 4},
                                    {9, 1}, {13, 1}, {15, 4}, {22, 4}, {21, 4}};
static const uint16_t v9_f6[][2] = {{27, 16}, {28, 16}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {5, 1},
                                    {1, 8}, {2, 8}, {10, 4}, {14, 4}, {16, 4}, {17, 4},
                                    {29, 1}, {30, 1}, {62, 16}, {22, 4}, {21, 4}};
#define V9_NF 18
#define V9_UPTIME 86400000u /* the exporter claims one day of uptime */

static void v9_send(int fd, const struct sockaddr_in *to, v9buf *b)
{
    uint8_t pkt[V9_MTU + 200], *q = pkt, *fs;
    uint32_t secs = (uint32_t)(b->tmax / 1000 + 1);
    unsigned e = b->src % V9_MAXEXP;
    int with_tpl = v9_pkts[e] % 64 == 0;
    uint16_t cnt = b->count;

    if (b->count == 0)
        return;
    w16(&q, 9);
    w16(&q, (uint16_t)(cnt + (with_tpl ? 2 : 0)));
    w32(&q, V9_UPTIME);
    w32(&q, secs);
    w32(&q, v9_seq[e]++);
    w32(&q, b->src);
    if (with_tpl) {
        fs = q;
        w16(&q, 0);
        w16(&q, 0);
        for (int fam = 0; fam < 2; fam++) {
            w16(&q, (uint16_t)(256 + fam));
            w16(&q, V9_NF);
            for (int i = 0; i < V9_NF; i++) {
                w16(&q, fam ? v9_f6[i][0] : v9_f4[i][0]);
                w16(&q, fam ? v9_f6[i][1] : v9_f4[i][1]);
            }
        }
        fs[2] = (uint8_t)((q - fs) >> 8);
        fs[3] = (uint8_t)(q - fs);
    }
    /* first/last switched relative to sysUptime at export time */
    for (uint16_t i = 0; i < b->count; i++) {
        uint8_t *r = b->p + b->toff[i];
        int64_t exp_ms = (int64_t)secs * 1000;
        w32(&r, (uint32_t)(V9_UPTIME - (uint32_t)(exp_ms - b->tf[i])));
        w32(&r, (uint32_t)(V9_UPTIME - (uint32_t)(exp_ms - b->tl[i])));
    }
    fs = q;
    w16(&q, b->fam == 6 ? 257 : 256);
    w16(&q, 0);
    memcpy(q, b->p, b->n);
    q += b->n;
    while ((q - fs) % 4)
        w8(&q, 0);
    fs[2] = (uint8_t)((q - fs) >> 8);
    fs[3] = (uint8_t)(q - fs);
    /* times were written relative to this packet's export time */
    (void)sendto(fd, pkt, (size_t)(q - pkt), 0, (const struct sockaddr *)to, sizeof *to);
    v9_pkts[e]++;
    b->n = 0;
    b->count = 0;
    b->tmax = 0;
}

static int v9send(const char *host, int port, uint64_t n, uint64_t seed, double rate)
{
    fl_gen_config gc;
    fl_gen *g;
    fl_batch *b = fl_batch_new(0);
    struct sockaddr_in to;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    static v9buf bufs[V9_MAXEXP][2];
    uint64_t sent = 0;
    double t0 = now_s();

    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    if (fd < 0 || b == NULL || inet_pton(AF_INET, host, &to.sin_addr) != 1)
        return 1;
    fl_gen_config_default(&gc);
    gc.seed = seed;
    gc.flows = n;
    g = fl_gen_new(&gc);
    if (g == NULL)
        return 1;
    /* flows are held until their packet is sent; a packet's export time
     * is the newest time_last in it, so relative times stay >= 0 */
    for (;;) {
        fl_batch_clear(b);
        if (fl_gen_next(g, b, b->cap) == 0)
            break;
        for (uint32_t r = 0; r < b->n; r++) {
            fl_flow f;
            fl_batch_get(b, r, &f);
            int v6 = !fl_addr_is_v4(f.SRC_ADDR);
            unsigned e = f.EXPORTER % V9_MAXEXP;
            v9buf *vb = &bufs[e][v6];
            size_t rec = v6 ? 97 : 61; /* record lengths of the two templates */
            uint8_t *q;
            uint8_t a[16];
            vb->fam = v6 ? 6 : 4;
            vb->src = f.EXPORTER;
            q = vb->p + vb->n;
            if (v6) {
                fl_addr_to_v6(f.SRC_ADDR, a);
                memcpy(q, a, 16), q += 16;
                fl_addr_to_v6(f.DST_ADDR, a);
                memcpy(q, a, 16), q += 16;
            } else {
                w32(&q, fl_addr_v4(f.SRC_ADDR));
                w32(&q, fl_addr_v4(f.DST_ADDR));
            }
            w16(&q, f.SRC_PORT);
            w16(&q, f.DST_PORT);
            w8(&q, f.PROTO);
            w8(&q, f.TCP_FLAGS);
            w8(&q, f.SRC_TOS);
            w64(&q, f.BYTES);
            w64(&q, f.PACKETS);
            w32(&q, f.IN_IF);
            w32(&q, f.OUT_IF);
            w32(&q, f.SRC_AS);
            w32(&q, f.DST_AS);
            w8(&q, f.SRC_MASK);
            w8(&q, f.DST_MASK);
            if (v6) {
                fl_addr_to_v6(f.NEXT_HOP, a);
                memcpy(q, a, 16), q += 16;
            } else {
                w32(&q, fl_addr_v4(f.NEXT_HOP));
            }
            /* first/last switched: filled in at send time */
            vb->toff[vb->count] = (uint32_t)(q - vb->p);
            w32(&q, 0);
            w32(&q, 0);
            vb->tf[vb->count] = f.TIME_FIRST;
            vb->tl[vb->count] = f.TIME_LAST > f.TIME_FIRST ? f.TIME_LAST : f.TIME_FIRST;
            if (vb->tl[vb->count] > vb->tmax)
                vb->tmax = vb->tl[vb->count];
            vb->count++;
            vb->n = (size_t)(q - vb->p);
            if (vb->count == 64 || vb->n + rec > V9_MTU - 400)
                v9_send(fd, &to, vb);
            sent++;
            if (rate > 0 && sent % 256 == 0) {
                double ahead = (double)sent / rate - (now_s() - t0);
                if (ahead > 0.0005) {
                    struct timespec ts = {(time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)};
                    nanosleep(&ts, NULL);
                }
            }
        }
    }
    for (int e = 0; e < V9_MAXEXP; e++)
        for (int v = 0; v < 2; v++)
            v9_send(fd, &to, &bufs[e][v]);
    printf("v9send: %llu flows sent in %.1f s\n", (unsigned long long)sent, now_s() - t0);
    close(fd);
    fl_batch_free(b);
    fl_gen_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "v9send") == 0)
        return v9send(argv[2], (int)strtol(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                      strtoull(argv[5], NULL, 10), strtod(argv[6], NULL));
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
