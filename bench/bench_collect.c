/*
 * bench/bench_collect.c — the collector's benchmark driver.
 *
 *   bench_collect decode v9|ipfix FLOWS        decode rate, one core
 *   bench_collect pcap FILE REPEAT             decode rate over a capture
 *   bench_collect send v9|ipfix FLOWS RATE HOST PORT
 *                                              paced sender (flows/s)
 *   bench_collect exporters N T                memory for N exporters with
 *                                              T IPFIX templates each
 *   bench_collect tplsend v9|ipfix N T HOST PORT
 *                                              send T templates (and one
 *                                              record of each) for each of
 *                                              N exporters (observation
 *                                              domain / source id 1..N) to
 *                                              a live collector
 *
 * Flows come from the project's generator (fixed seed 1) and are encoded
 * here as NetFlow v9 / IPFIX datagrams of 24 records (a 15-field IPv4
 * template, as routers send), templates in the first datagram and every
 * 1000 after. The decode mode checks its own output: every flow decoded,
 * byte total equal to the generator's. Prints one line of figures.
 */
#include "collect/collect.h"
#include "gen/gen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PER_DGRAM 24
#define REC_LEN 49

typedef struct dgram {
    uint8_t p[1600];
    uint16_t n;
} dgram;

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }

static const uint16_t tpl[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {5, 1},
                                  {1, 8}, {2, 8}, {10, 4}, {14, 4}, {152, 8}, {153, 8},
                                  {16, 2}, {17, 2}};
#define NTPL 15

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Encode every generated flow; returns the datagram array, *nd its size,
 * *bytes the generator's byte total. IPv6 flows are written as IPv4 with
 * the low address bits (the benchmark measures decoding, not families). */
static dgram *encode(int ipfix, uint64_t flows, size_t *nd, uint64_t *bytes)
{
    fl_gen_config gc;
    fl_gen *g;
    fl_batch *b = fl_batch_new(0);
    size_t cap = (size_t)(flows / PER_DGRAM + 2), n = 0;
    dgram *d = calloc(cap, sizeof *d);
    uint32_t seq = 0, k = 0;
    dgram *cur = NULL;
    size_t setoff = 0;

    fl_gen_config_default(&gc);
    gc.seed = 1;
    gc.flows = flows;
    gc.ipv6_share = 0;
    g = fl_gen_new(&gc);
    *bytes = 0;
    for (;;) {
        uint32_t got = fl_gen_next(g, b, b->cap);
        if (got == 0)
            break;
        for (uint32_t r = 0; r < got; r++) {
            if (cur == NULL || k == PER_DGRAM) {
                if (cur != NULL) {
                    put16(cur->p + setoff + 2, (unsigned)(cur->n - setoff));
                    if (ipfix)
                        put16(cur->p + 2, cur->n);
                }
                cur = &d[n++];
                k = 0;
                cur->n = ipfix ? 16 : 20;
                put16(cur->p, ipfix ? 10 : 9);
                if (ipfix) {
                    put32(cur->p + 4, 1700000000);
                    put32(cur->p + 8, seq);
                    put32(cur->p + 12, 1);
                } else {
                    put16(cur->p + 2, PER_DGRAM);
                    put32(cur->p + 4, 1000000);
                    put32(cur->p + 8, 1700000000);
                    put32(cur->p + 12, (uint32_t)(n - 1));
                    put32(cur->p + 16, 1);
                }
                if ((n - 1) % 1000 == 0) {
                    size_t t = cur->n;
                    put16(cur->p + t, ipfix ? 2 : 0);
                    put16(cur->p + t + 4, 256);
                    put16(cur->p + t + 6, NTPL);
                    cur->n = (uint16_t)(t + 8);
                    for (int i = 0; i < NTPL; i++) {
                        put16(cur->p + cur->n, tpl[i][0]);
                        put16(cur->p + cur->n + 2, tpl[i][1]);
                        cur->n += 4;
                    }
                    put16(cur->p + t + 2, (unsigned)(cur->n - t));
                }
                setoff = cur->n;
                put16(cur->p + setoff, 256);
                cur->n += 4;
            }
            uint8_t *q = cur->p + cur->n;
            put32(q, fl_addr_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]));
            put32(q + 4, fl_addr_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r]));
            put16(q + 8, FL_U16(b, FL_COL_SRC_PORT)[r]);
            put16(q + 10, FL_U16(b, FL_COL_DST_PORT)[r]);
            q[12] = FL_U8(b, FL_COL_PROTO)[r];
            q[13] = FL_U8(b, FL_COL_TCP_FLAGS)[r];
            q[14] = FL_U8(b, FL_COL_SRC_TOS)[r];
            put64(q + 15, FL_U64(b, FL_COL_BYTES)[r]);
            put64(q + 23, FL_U64(b, FL_COL_PACKETS)[r]);
            put32(q + 31, FL_U32(b, FL_COL_IN_IF)[r]);
            put32(q + 35, FL_U32(b, FL_COL_OUT_IF)[r]);
            put64(q + 39, (uint64_t)FL_TIMES(b, FL_COL_TIME_FIRST)[r]);
            cur->n += 47;
            put64(cur->p + cur->n, (uint64_t)FL_TIMES(b, FL_COL_TIME_LAST)[r]);
            put16(cur->p + cur->n + 8, (uint16_t)FL_U32(b, FL_COL_SRC_AS)[r]);
            put16(cur->p + cur->n + 10, (uint16_t)FL_U32(b, FL_COL_DST_AS)[r]);
            cur->n += 12;
            *bytes += FL_U64(b, FL_COL_BYTES)[r];
            k++;
            seq++;
        }
        fl_batch_clear(b);
    }
    if (cur != NULL) {
        put16(cur->p + setoff + 2, (unsigned)(cur->n - setoff));
        if (ipfix)
            put16(cur->p + 2, cur->n);
    }
    fl_gen_free(g);
    fl_batch_free(b);
    *nd = n;
    return d;
}

static uint64_t sink_flows, sink_bytes;

static fl_rc count_batch(void *ctx, const fl_batch *b)
{
    (void)ctx;
    sink_flows += b->n;
    for (uint32_t i = 0; i < b->n; i++)
        sink_bytes += FL_U64(b, FL_COL_BYTES)[i];
    return FL_OK;
}

static int run_decode(int ipfix, uint64_t flows)
{
    size_t nd;
    uint64_t bytes;
    dgram *d = encode(ipfix, flows, &nd, &bytes);
    fl_collect_sink s = {NULL, count_batch, NULL, NULL, NULL};
    fl_collect *c = fl_collect_new(NULL, &s, NULL);
    fl_collect_worker *w = fl_collect_worker_new(c);
    fl_err e;
    double t0 = now_s(), t;

    for (size_t i = 0; i < nd; i++)
        fl_collect_datagram(w, fl_addr_from_v4(0x7f000001), 2055, d[i].p, d[i].n, 0, &e);
    fl_collect_worker_flush(w);
    t = now_s() - t0;
    printf("decode %s: %llu flows in %zu datagrams, %.3f s, %.2f M flows/s/core, check %s\n",
           ipfix ? "ipfix" : "v9", (unsigned long long)sink_flows, nd, t, sink_flows / t / 1e6,
           sink_flows == flows && sink_bytes == bytes ? "ok" : "MISMATCH");
    fl_collect_worker_free(w);
    fl_collect_free(c);
    free(d);
    return sink_flows == flows && sink_bytes == bytes ? 0 : 1;
}

static int run_pcap(const char *path, int repeat)
{
    fl_collect_sink s = {NULL, count_batch, NULL, NULL, NULL};
    double t0 = now_s(), t;
    uint64_t dg = 0, total = 0;

    fl_log_set_level(FL_LOG_ERROR);
    for (int i = 0; i < repeat; i++) {
        fl_collect *c = fl_collect_new(NULL, &s, NULL);
        fl_collect_worker *w = fl_collect_worker_new(c);
        fl_err e;
        fl_collect_read_file(w, path, &dg, NULL, NULL, &e);
        total += dg;
        fl_collect_worker_free(w);
        fl_collect_free(c);
    }
    t = now_s() - t0;
    printf("decode %s x%d: %llu flows, %llu datagrams, %.3f s, %.2f M flows/s/core\n", path,
           repeat, (unsigned long long)sink_flows, (unsigned long long)total, t,
           sink_flows / t / 1e6);
    return 0;
}

static int run_send(int ipfix, uint64_t flows, double rate, const char *host, int port)
{
    size_t nd;
    uint64_t bytes;
    dgram *d = encode(ipfix, flows, &nd, &bytes);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to;
    double t0, per = PER_DGRAM / rate;
    size_t sent = 0;

    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &to.sin_addr);
    t0 = now_s();
    for (size_t i = 0; i < nd; i++) {
        double due = t0 + (double)i * per;
        while (now_s() < due)
            ;
        if (sendto(fd, d[i].p, d[i].n, 0, (struct sockaddr *)&to, sizeof to) == d[i].n)
            sent++;
    }
    printf("sent %zu datagrams (%llu flows, %llu bytes) in %.2f s\n", sent,
           (unsigned long long)flows, (unsigned long long)bytes, now_s() - t0);
    close(fd);
    free(d);
    return sent == nd ? 0 : 1;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static int run_exporters(int nexp, int ntpl)
{
    fl_collect_config cfg;
    fl_collect *c;
    fl_collect_worker *w;
    long before = rss_kb();
    uint8_t p[1600];
    fl_err e;

    fl_collect_config_default(&cfg);
    cfg.max_exporters = (uint32_t)nexp + 1;
    c = fl_collect_new(&cfg, NULL, NULL);
    w = fl_collect_worker_new(c);
    for (int x = 0; x < nexp; x++) {
        size_t n = 16;
        put16(p, 10);
        put32(p + 4, 1700000000);
        put32(p + 8, 0);
        put32(p + 12, 1);
        for (int t = 0; t < ntpl; t++) {
            size_t s = n;
            put16(p + n, 2);
            put16(p + n + 4, (unsigned)(256 + t));
            put16(p + n + 6, NTPL);
            n += 8;
            for (int i = 0; i < NTPL; i++) {
                put16(p + n, tpl[i][0]);
                put16(p + n + 2, tpl[i][1]);
                n += 4;
            }
            put16(p + s + 2, (unsigned)(n - s));
        }
        put16(p + 2, (unsigned)n);
        fl_collect_datagram(w, fl_addr_from_v4(0x0a000000u + (uint32_t)x), 2055, p, n, 0, &e);
    }
    printf("exporters %d x %d templates: %zu exporters, RSS +%ld KiB (%.1f KiB per exporter)\n",
           nexp, ntpl, fl_collect_exporter_count(c), rss_kb() - before,
           (double)(rss_kb() - before) / nexp);
    fl_collect_worker_free(w);
    fl_collect_free(c);
    return 0;
}

/* One datagram per exporter: T templates (ids 256.., each a rotation of
 * the 15-field list, so they differ) then one record of each. */
static int run_tplsend(int ipfix, int nexp, int ntpl, const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to;
    uint8_t p[65000];
    size_t sent = 0;

    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &to.sin_addr);
    for (int x = 1; x <= nexp; x++) {
        size_t n = ipfix ? 16 : 20, s;
        put16(p, ipfix ? 10 : 9);
        if (ipfix) {
            put32(p + 4, 1700000000);
            put32(p + 8, 0);
            put32(p + 12, (uint32_t)x);
        } else {
            put16(p + 2, (unsigned)(2 * ntpl));
            put32(p + 4, 1000000);
            put32(p + 8, 1700000000);
            put32(p + 12, 0);
            put32(p + 16, (uint32_t)x);
        }
        s = n;
        put16(p + n, ipfix ? 2 : 0);
        n += 4;
        for (int t = 0; t < ntpl; t++) {
            put16(p + n, (unsigned)(256 + t));
            put16(p + n + 2, NTPL);
            n += 4;
            for (int i = 0; i < NTPL; i++) {
                put16(p + n, tpl[(i + t) % NTPL][0]);
                put16(p + n + 2, tpl[(i + t) % NTPL][1]);
                n += 4;
            }
        }
        put16(p + s + 2, (unsigned)(n - s));
        for (int t = 0; t < ntpl; t++) {
            size_t rl = 0;
            s = n;
            put16(p + n, (unsigned)(256 + t));
            n += 4;
            for (int i = 0; i < NTPL; i++)
                rl += tpl[i][1];
            memset(p + n, 0, rl);
            p[n] = 10; /* a 10.x.y.z source address in some field */
            n += rl;
            put16(p + s + 2, (unsigned)(n - s));
        }
        if (ipfix)
            put16(p + 2, (unsigned)n);
        if (sendto(fd, p, n, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)n)
            sent++;
        if (x % 50 == 0)
            usleep(2000); /* no loss: this measures memory, not speed */
    }
    printf("sent %zu datagrams: %d exporters x %d templates\n", sent, nexp, ntpl);
    close(fd);
    return sent == (size_t)nexp ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "exporters") == 0)
        return run_exporters(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 4 && strcmp(argv[1], "decode") == 0)
        return run_decode(strcmp(argv[2], "ipfix") == 0, strtoull(argv[3], NULL, 10));
    if (argc >= 4 && strcmp(argv[1], "pcap") == 0)
        return run_pcap(argv[2], atoi(argv[3]));
    if (argc >= 7 && strcmp(argv[1], "tplsend") == 0)
        return run_tplsend(strcmp(argv[2], "ipfix") == 0, atoi(argv[3]), atoi(argv[4]), argv[5],
                           atoi(argv[6]));
    if (argc >= 7 && strcmp(argv[1], "send") == 0)
        return run_send(strcmp(argv[2], "ipfix") == 0, strtoull(argv[3], NULL, 10),
                        atof(argv[4]), argv[5], atoi(argv[6]));
    fprintf(stderr, "usage: bench_collect decode v9|ipfix FLOWS | pcap FILE N | "
                    "send v9|ipfix FLOWS RATE HOST PORT\n");
    return 2;
}
