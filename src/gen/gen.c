/*
 * gen/gen.c — deterministic, realistic flow generator.
 *
 * Shaped for three users: tests (exact repeatability from a seed),
 * benchmarks (tens of millions of flows quickly, written straight into
 * batch columns) and the demo (traffic that looks like a real edge link).
 * All randomness comes from one xoshiro256** state seeded by splitmix64,
 * so a config fully determines the output. Times follow a diurnal curve:
 * the window is cut into minutes weighted by a sine of the hour of day,
 * and flow i is placed at the i-th quantile of that cumulative weight, so
 * times never decrease and the count is exact.
 */
#include "gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GEN_INT_HOSTS 2000    /* internal hosts, Zipf over this many */
#define GEN_EXT_HOSTS 50000   /* external hosts, Zipf over this many */
#define GEN_ZIPF_S 1.1
#define GEN_MAX_MINUTES (366 * 24 * 60)
#define GEN_LOCAL_AS 64500

/* Provider prefixes external hosts live in, with their origin AS. */
static const struct {
    const char *prefix;
    uint32_t asn;
} ext_prefixes[] = {
    {"8.8.8.0/24", 15169},        {"142.250.0.0/15", 15169},  {"1.1.1.0/24", 13335},
    {"104.16.0.0/13", 13335},     {"31.13.64.0/18", 32934},   {"157.240.0.0/16", 32934},
    {"151.101.0.0/16", 54113},    {"140.82.112.0/20", 36459}, {"52.0.0.0/11", 16509},
    {"13.64.0.0/11", 8075},       {"17.0.0.0/8", 714},        {"185.199.108.0/22", 36459},
    {"91.198.174.0/24", 14907},   {"193.0.0.0/21", 3333},     {"2001:4860::/32", 15169},
    {"2606:4700::/32", 13335},    {"2a03:2880::/32", 32934},  {"2a04:4e42::/32", 54113},
    {"2620:1ec::/36", 8075},      {"2a00:1450::/32", 15169},
};
#define N_EXT_PREFIXES (sizeof ext_prefixes / sizeof ext_prefixes[0])
#define N_EXT_V4 14 /* the first 14 are IPv4 */

/* Service mix: protocol, server port, weight (per mille), mean packet size. */
static const struct {
    uint8_t proto;
    uint16_t port;
    uint16_t weight;
    uint16_t pkt_size;
} services[] = {
    {6, 443, 430, 900}, {17, 443, 110, 1100}, {6, 80, 90, 700},  {17, 53, 110, 90},
    {6, 22, 25, 300},   {6, 25, 20, 600},     {6, 993, 20, 500}, {6, 3389, 10, 400},
    {17, 123, 25, 76},  {1, 0, 30, 84},       {58, 0, 10, 96},   {17, 4500, 20, 500},
    {6, 8080, 30, 800}, {47, 0, 5, 600},      {50, 0, 5, 700},   {6, 5222, 20, 200},
    {17, 3478, 20, 150}, {6, 853, 20, 200},
};
#define N_SERVICES (sizeof services / sizeof services[0])

struct fl_gen {
    fl_gen_config cfg;
    uint64_t s[4]; /* xoshiro256** state */
    uint64_t produced;
    double *zipf_int, *zipf_ext; /* cumulative distributions */
    double *minute_cum;          /* cumulative diurnal weight per minute */
    uint32_t minutes;
    uint32_t cur_minute;
    uint32_t service_cum[N_SERVICES];
    fl_prefix prefixes[N_EXT_PREFIXES];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rnd(fl_gen *g)
{
    uint64_t *s = g->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1). */
static double rnd01(fl_gen *g) { return (double)(rnd(g) >> 11) * (1.0 / 9007199254740992.0); }

static uint32_t rnd_below(fl_gen *g, uint32_t n) { return (uint32_t)((rnd(g) >> 32) * n >> 32); }

static double *zipf_table(uint32_t n)
{
    double *c = malloc(sizeof *c * n), sum = 0;

    if (c == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        sum += 1.0 / pow((double)(i + 1), GEN_ZIPF_S);
        c[i] = sum;
    }
    for (uint32_t i = 0; i < n; i++)
        c[i] /= sum;
    return c;
}

static uint32_t pick_cum(const double *cum, uint32_t n, double u)
{
    uint32_t lo = 0, hi = n - 1;

    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void fl_gen_config_default(fl_gen_config *c)
{
    fl_time now = fl_time_now();

    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->end = now - now % 3600000;
    c->start = c->end - 3600000;
    c->flows = 100000;
    c->exporters = 4;
    c->ipv6_share = 0.2;
    c->sampling = 1;
}

/* Relative traffic at an hour of day: low at 04:00, peak at 20:00. */
static double diurnal(fl_time t)
{
    double h = (double)(t % 86400000) / 3600000.0;
    return 1.0 + 0.7 * sin((h - 10.0) * 3.14159265358979 / 12.0);
}

fl_gen *fl_gen_new(const fl_gen_config *c)
{
    fl_gen *g = calloc(1, sizeof *g);
    uint64_t x;
    uint32_t acc = 0;

    if (g == NULL)
        return NULL;
    g->cfg = *c;
    if (g->cfg.seed == 0)
        g->cfg.seed = 1;
    if (g->cfg.end <= g->cfg.start)
        g->cfg.end = g->cfg.start + 3600000;
    if (g->cfg.exporters == 0)
        g->cfg.exporters = 1;
    if (g->cfg.sampling == 0)
        g->cfg.sampling = 1;
    x = g->cfg.seed;
    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix64(&x);
    g->zipf_int = zipf_table(GEN_INT_HOSTS);
    g->zipf_ext = zipf_table(GEN_EXT_HOSTS);
    g->minutes = (uint32_t)((g->cfg.end - g->cfg.start + 59999) / 60000);
    if (g->minutes > GEN_MAX_MINUTES)
        g->minutes = GEN_MAX_MINUTES;
    g->minute_cum = malloc(sizeof *g->minute_cum * g->minutes);
    if (g->zipf_int == NULL || g->zipf_ext == NULL || g->minute_cum == NULL) {
        fl_gen_free(g);
        return NULL;
    }
    {
        double sum = 0;
        for (uint32_t m = 0; m < g->minutes; m++) {
            sum += diurnal(g->cfg.start + (fl_time)m * 60000);
            g->minute_cum[m] = sum;
        }
        for (uint32_t m = 0; m < g->minutes; m++)
            g->minute_cum[m] /= sum;
    }
    for (size_t i = 0; i < N_SERVICES; i++) {
        acc += services[i].weight;
        g->service_cum[i] = acc;
    }
    for (size_t i = 0; i < N_EXT_PREFIXES; i++) {
        fl_err e;
        if (fl_prefix_parse(ext_prefixes[i].prefix, strlen(ext_prefixes[i].prefix), 0,
                            &g->prefixes[i], &e) != FL_OK) {
            fl_gen_free(g);
            return NULL;
        }
    }
    return g;
}

void fl_gen_free(fl_gen *g)
{
    if (g == NULL)
        return;
    free(g->zipf_int);
    free(g->zipf_ext);
    free(g->minute_cum);
    free(g);
}

uint64_t fl_gen_produced(const fl_gen *g) { return g->produced; }

/* Internal host of a rank: 10.<site>.x.y, or 2001:db8:<site>::<n> for v6. */
static fl_addr internal_host(uint32_t rank, int v6)
{
    if (!v6)
        return fl_addr_from_v4(0x0a000000u | ((rank / 250) << 8 & 0xffff00u) | (rank % 250 + 1));
    {
        fl_addr a = {0x20010db800000000ULL | ((uint64_t)(rank / 250) << 16), rank % 250 + 1};
        return a;
    }
}

/* External host of a rank inside one of the provider prefixes. */
static fl_addr external_host(fl_gen *g, uint32_t rank, int v6, uint32_t *asn, uint8_t *mask)
{
    uint32_t pi = v6 ? N_EXT_V4 + rank % (uint32_t)(N_EXT_PREFIXES - N_EXT_V4)
                     : rank % N_EXT_V4;
    const fl_prefix *p = &g->prefixes[pi];
    unsigned host_bits = 128 - p->len;
    uint64_t h = splitmix64(&(uint64_t){rank * 2654435761ULL + pi});
    fl_addr a = p->addr;

    if (host_bits > 64)
        host_bits = 64;
    a.lo |= host_bits == 64 ? h : (h & ((1ULL << host_bits) - 1));
    *asn = ext_prefixes[pi].asn;
    *mask = (uint8_t)(v6 ? p->len : p->len - 96);
    return a;
}

/* Minute index and offset for flow number i. */
static fl_time flow_time(fl_gen *g, uint64_t i)
{
    double q = ((double)i + 0.5) / (double)g->cfg.flows;
    double lo, frac;

    while (g->cur_minute + 1 < g->minutes && g->minute_cum[g->cur_minute] < q)
        g->cur_minute++;
    lo = g->cur_minute ? g->minute_cum[g->cur_minute - 1] : 0.0;
    frac = (q - lo) / (g->minute_cum[g->cur_minute] - lo);
    if (frac < 0)
        frac = 0;
    if (frac > 0.999)
        frac = 0.999;
    return g->cfg.start + (fl_time)g->cur_minute * 60000 + (fl_time)(frac * 60000.0);
}

static void gen_one(fl_gen *g, fl_batch *b, uint32_t r)
{
    uint32_t svc_u = rnd_below(g, g->service_cum[N_SERVICES - 1]), si = 0;
    int v6 = rnd01(g) < g->cfg.ipv6_share;
    int inbound = rnd(g) & 1; /* server outside, client inside, or reverse */
    uint32_t in_rank = pick_cum(g->zipf_int, GEN_INT_HOSTS, rnd01(g));
    uint32_t ex_rank = pick_cum(g->zipf_ext, GEN_EXT_HOSTS, rnd01(g));
    uint32_t ext_as;
    uint8_t ext_mask, proto;
    fl_addr in_addr, ex_addr;
    uint16_t cport = (uint16_t)(32768 + rnd_below(g, 28232)), sport;
    uint64_t pkts, bytes;
    fl_time first, dur;
    uint32_t exporter = 1 + (uint32_t)(g->produced % g->cfg.exporters);

    while (g->service_cum[si] <= svc_u)
        si++;
    proto = services[si].proto;
    if (v6 && proto == 1)
        proto = 58;
    if (!v6 && proto == 58)
        proto = 1;
    sport = services[si].port;
    in_addr = internal_host(in_rank, v6);
    ex_addr = external_host(g, ex_rank, v6, &ext_as, &ext_mask);
    /* heavy tail: most flows are a few packets, a few are huge */
    /* Pareto-like: half the flows are 1-2 packets, a few reach the cap; a
     * cap of 200k packets (~200 MB) keeps one flow from dwarfing an hour
     * of a link, as active timeouts do on real exporters */
    pkts = 1 + (uint64_t)(pow(rnd01(g) + 1e-9, -1.2) - 1.0);
    if (pkts > 200000)
        pkts = 200000;
    bytes = pkts * (uint64_t)(services[si].pkt_size / 2 + rnd_below(g, services[si].pkt_size));
    if (bytes < pkts * 28)
        bytes = pkts * 28;
    first = flow_time(g, g->produced);
    dur = pkts == 1 ? 0 : (fl_time)rnd_below(g, pkts > 100 ? 120000 : 20000);

    FL_TIMES(b, FL_COL_TIME_FIRST)[r] = first;
    FL_TIMES(b, FL_COL_TIME_LAST)[r] = first + dur;
    FL_TIMES(b, FL_COL_TIME_RECEIVED)[r] = first + dur + 1000 + rnd_below(g, 4000);
    FL_U16(b, FL_COL_EXPORTER)[r] = (uint16_t)exporter;
    FL_U8(b, FL_COL_PROTO)[r] = proto;
    FL_U64(b, FL_COL_PACKETS)[r] = pkts;
    FL_U64(b, FL_COL_BYTES)[r] = bytes;
    FL_U32(b, FL_COL_SAMPLING_RATE)[r] = g->cfg.sampling;
    FL_U8(b, FL_COL_SRC_TOS)[r] = rnd_below(g, 20) == 0 ? 0xb8 : (rnd_below(g, 10) == 0 ? 0x28 : 0);
    if (inbound) {
        /* external server answering an internal client */
        FL_ADDRS(b, FL_COL_SRC_ADDR)[r] = ex_addr;
        FL_ADDRS(b, FL_COL_DST_ADDR)[r] = in_addr;
        FL_U16(b, FL_COL_SRC_PORT)[r] = (proto == 6 || proto == 17) ? sport : 0;
        FL_U16(b, FL_COL_DST_PORT)[r] = (proto == 6 || proto == 17) ? cport : 0;
        FL_U32(b, FL_COL_SRC_AS)[r] = ext_as;
        FL_U32(b, FL_COL_DST_AS)[r] = GEN_LOCAL_AS;
        FL_U8(b, FL_COL_SRC_MASK)[r] = ext_mask;
        FL_U8(b, FL_COL_DST_MASK)[r] = v6 ? 64 : 24;
        FL_U32(b, FL_COL_IN_IF)[r] = 1 + (exporter + ex_rank) % 4;  /* uplinks 1-4 */
        FL_U32(b, FL_COL_OUT_IF)[r] = 10 + in_rank % 8;             /* access 10-17 */
    } else {
        FL_ADDRS(b, FL_COL_SRC_ADDR)[r] = in_addr;
        FL_ADDRS(b, FL_COL_DST_ADDR)[r] = ex_addr;
        FL_U16(b, FL_COL_SRC_PORT)[r] = (proto == 6 || proto == 17) ? cport : 0;
        FL_U16(b, FL_COL_DST_PORT)[r] = (proto == 6 || proto == 17) ? sport : 0;
        FL_U32(b, FL_COL_SRC_AS)[r] = GEN_LOCAL_AS;
        FL_U32(b, FL_COL_DST_AS)[r] = ext_as;
        FL_U8(b, FL_COL_SRC_MASK)[r] = v6 ? 64 : 24;
        FL_U8(b, FL_COL_DST_MASK)[r] = ext_mask;
        FL_U32(b, FL_COL_IN_IF)[r] = 10 + in_rank % 8;
        FL_U32(b, FL_COL_OUT_IF)[r] = 1 + (exporter + ex_rank) % 4;
    }
    FL_U8(b, FL_COL_DIRECTION)[r] = 0;
    if (proto == 6) {
        /* SYN+ACK always; PSH when data; FIN or RST at the end */
        uint8_t fl = 0x12;
        if (pkts > 2)
            fl |= 0x08;
        fl |= rnd_below(g, 10) == 0 ? 0x04 : 0x01;
        FL_U8(b, FL_COL_TCP_FLAGS)[r] = pkts == 1 ? 0x02 : fl;
    }
    if (proto == 1 || proto == 58) {
        uint8_t type = inbound ? (proto == 1 ? 0 : 129) : (proto == 1 ? 8 : 128);
        FL_U8(b, FL_COL_ICMP_TYPE)[r] = type;
        /* nfdump convention: ICMP type/code in the destination port */
        FL_U16(b, FL_COL_DST_PORT)[r] = (uint16_t)(type << 8);
    }
    {
        fl_addr nh = v6 ? (fl_addr){0x20010db8ffff0000ULL, exporter}
                        : fl_addr_from_v4(0x0affff00u | exporter);
        FL_ADDRS(b, FL_COL_NEXT_HOP)[r] = nh;
    }
    g->produced++;
}

uint32_t fl_gen_next(fl_gen *g, fl_batch *b, uint32_t n)
{
    uint32_t added = 0;
    static const fl_col cols[] = {
        FL_COL_TIME_FIRST, FL_COL_TIME_LAST, FL_COL_TIME_RECEIVED, FL_COL_EXPORTER,
        FL_COL_SRC_ADDR,   FL_COL_DST_ADDR,  FL_COL_SRC_PORT,      FL_COL_DST_PORT,
        FL_COL_PROTO,      FL_COL_TCP_FLAGS, FL_COL_SRC_TOS,       FL_COL_BYTES,
        FL_COL_PACKETS,    FL_COL_IN_IF,     FL_COL_OUT_IF,        FL_COL_SRC_AS,
        FL_COL_DST_AS,     FL_COL_SRC_MASK,  FL_COL_DST_MASK,      FL_COL_NEXT_HOP,
        FL_COL_ICMP_TYPE,  FL_COL_SAMPLING_RATE,
    };

    while (added < n && g->produced < g->cfg.flows) {
        int64_t r = fl_batch_add_row(b);
        if (r < 0)
            break;
        gen_one(g, b, (uint32_t)r);
        added++;
    }
    if (added > 0)
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            fl_batch_mark(b, cols[i]);
    return added;
}
