/*
 * cli/cmd_gen.c — `flowlens gen`: an exporter simulator.
 *
 * Flows come from the deterministic generator (gen.h) and leave as real
 * NetFlow v5/v9, IPFIX or sFlow datagrams on one UDP socket sending to
 * --to (unconnected, so a collector that is not up yet costs datagrams,
 * not errors). Each generator exporter id is its own simulated device (engine id,
 * source id, observation domain or agent address), since every datagram
 * comes from the same socket. A token bucket holds the flow rate; the loop
 * ends after --count flows. --dump writes the flows as sent, one CSV line
 * each, so tests can compare what a collector decoded with what was sent.
 *
 * --prebuild N takes generating and encoding out of the send loop, so the
 * sender is not what limits a collector benchmark: N datagrams are encoded
 * once into a ring, then sent round and round with sendmmsg, each time with
 * only the header patched (fl_gen_dgram_hdr_set): the sequence number
 * continues where the exporter's previous round ended, and sysUptime and
 * unix seconds move on by the ring's time span, together, so every
 * exporter's clock stays monotonic while the flows' times (relative to
 * sysUptime in v5/v9, absolute in IPFIX) repeat exactly. The flows repeat
 * once per round; --dump lists the ring's flows once.
 */
#include "cli.h"
#include "gen/gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define GEN_BATCH 1024
#define GEN_MAX_EXPORTERS 1000
#define GEN_MAX_WINDOW_MS (30LL * 86400 * 1000) /* keeps sysUptime in 32 bits */
#define GEN_BOOT_BEFORE_MS (3600LL * 1000)      /* devices booted an hour before */
#define GEN_RING_MAX 1000000                    /* --prebuild: 1.4 GB at most */
#define GEN_MMSG 64                             /* datagrams per sendmmsg */

typedef struct gen_opts {
    struct sockaddr_storage to;
    socklen_t tolen;
    fl_gen_proto proto;
    double rate;
    fl_gen_config gc;
    const char *dump;
    uint32_t prebuild; /* datagrams in the ring; 0: encode as we send */
} gen_opts;

/* --prebuild: datagrams encoded once, their header as encoded, the
 * exporter (index) and the flow records each carries. */
typedef struct gen_ring {
    uint8_t *buf; /* cap slots of FL_GEN_DGRAM_MAX bytes */
    uint16_t *len, *xi;
    uint32_t *flows;
    fl_gen_dgram_hdr *hdr;
    uint32_t n, cap;
} gen_ring;

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "90", "90s", "15m", "2h", "1d" -> ms */
static int parse_duration(const char *s, int64_t *ms)
{
    char num[32];
    size_t n = strlen(s);
    uint64_t v, unit = 1000;

    if (n == 0 || n >= sizeof num)
        return -1;
    switch (s[n - 1]) {
    case 's': unit = 1000; n--; break;
    case 'm': unit = 60000; n--; break;
    case 'h': unit = 3600000; n--; break;
    case 'd': unit = 86400000; n--; break;
    default: break;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    if (parse_u64(num, 1000000000, &v) != 0 || v == 0)
        return -1;
    *ms = (int64_t)(v * unit);
    return 0;
}

/* "127.0.0.1:9995" or "[::1]:9995" */
static int parse_dest(const cli_cmd *cmd, const char *s, gen_opts *o)
{
    const char *colon, *host = s;
    size_t hlen;
    uint64_t port;
    fl_addr a;
    fl_err e;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return cli_usage_error(cmd, "bad --to '%s': want [IPV6]:PORT", s);
        host = s + 1;
        hlen = (size_t)(rb - host);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return cli_usage_error(cmd, "bad --to '%s': want ADDR:PORT", s);
        if (memchr(s, ':', (size_t)(colon - s)) != NULL)
            return cli_usage_error(cmd, "bad --to '%s': put an IPv6 address in brackets, "
                                        "[ADDR]:PORT", s);
        hlen = (size_t)(colon - s);
    }
    if (parse_u64(colon + 1, 65535, &port) != 0 || port == 0)
        return cli_usage_error(cmd, "bad --to '%s': port must be 1..65535", s);
    fl_err_clear(&e);
    if (hlen == 0 || hlen >= FL_ADDR_STRLEN || fl_addr_parse(host, hlen, &a, &e) != FL_OK)
        return cli_usage_error(cmd, "bad --to '%s': '%.*s' is not an IPv4 or IPv6 address", s,
                               (int)hlen, host);
    memset(&o->to, 0, sizeof o->to);
    if (fl_addr_is_v4(a)) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&o->to;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(fl_addr_v4(a));
        o->tolen = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o->to;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        fl_addr_to_v6(a, sin6->sin6_addr.s6_addr);
        o->tolen = sizeof *sin6;
    }
    return CLI_EXIT_OK;
}

static int parse_opts(const cli_cmd *cmd, const cli_args *args, gen_opts *o)
{
    const char *v;
    uint64_t u;
    int64_t window = 3600000;
    fl_err e;
    int rc;

    memset(o, 0, sizeof *o);
    fl_gen_config_default(&o->gc);
    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    if ((v = cli_get(args, "to")) == NULL)
        return cli_usage_error(cmd, "missing --to ADDR:PORT");
    if ((rc = parse_dest(cmd, v, o)) != CLI_EXIT_OK)
        return rc;
    if ((v = cli_get(args, "proto")) == NULL)
        return cli_usage_error(cmd, "missing --proto v5|v9|ipfix|sflow");
    fl_err_clear(&e);
    if (fl_gen_proto_parse(v, &o->proto, &e) != FL_OK)
        return cli_usage_error(cmd, "%s", e.msg);
    if ((v = cli_get(args, "rate")) != NULL) {
        if (parse_u64(v, 100000000, &u) != 0)
            return cli_usage_error(cmd, "bad --rate '%s': flows per second, 0..100000000", v);
        o->rate = (double)u;
    }
    o->gc.flows = 100000;
    if ((v = cli_get(args, "count")) != NULL) {
        if (parse_u64(v, 1000000000000ULL, &u) != 0 || u == 0)
            return cli_usage_error(cmd, "bad --count '%s': a number of flows, 1 or more", v);
        o->gc.flows = u;
    }
    if ((v = cli_get(args, "seed")) != NULL) {
        if (parse_u64(v, UINT64_MAX, &u) != 0)
            return cli_usage_error(cmd, "bad --seed '%s': a non-negative integer", v);
        o->gc.seed = u;
    }
    if ((v = cli_get(args, "exporters")) != NULL) {
        if (parse_u64(v, GEN_MAX_EXPORTERS, &u) != 0 || u == 0)
            return cli_usage_error(cmd, "bad --exporters '%s': 1..%d", v, GEN_MAX_EXPORTERS);
        o->gc.exporters = (uint32_t)u;
    }
    if (o->gc.exporters == 0)
        o->gc.exporters = 1;
    if ((v = cli_get(args, "sampling")) != NULL) {
        if (parse_u64(v, 16383, &u) != 0 || u == 0)
            return cli_usage_error(cmd, "bad --sampling '%s': 1-in-N with N in 1..16383", v);
        o->gc.sampling = (uint32_t)u;
    }
    if ((v = cli_get(args, "ipv6")) != NULL) {
        if (parse_u64(v, 100, &u) != 0)
            return cli_usage_error(cmd, "bad --ipv6 '%s': a percentage, 0..100", v);
        o->gc.ipv6_share = (double)u / 100.0;
    }
    if ((v = cli_get(args, "window")) != NULL) {
        if (parse_duration(v, &window) != 0 || window > GEN_MAX_WINDOW_MS)
            return cli_usage_error(cmd, "bad --window '%s': a duration such as 90s, 15m, 2h "
                                        "or 1d, at most 30d", v);
    }
    if ((v = cli_get(args, "start")) != NULL) {
        fl_err_clear(&e);
        if (fl_time_parse(v, strlen(v), fl_time_now(), 0, &o->gc.start, &e) != FL_OK)
            return cli_usage_error(cmd, "bad --start '%s': %s", v, e.msg);
        if (o->gc.start < GEN_BOOT_BEFORE_MS + 86400000LL)
            return cli_usage_error(cmd, "bad --start '%s': before 1970-01-02", v);
    } else if (cli_get(args, "window") != NULL) {
        o->gc.start = fl_time_now() - window;
        o->gc.start -= o->gc.start % 1000;
    }
    o->gc.end = o->gc.start + window;
    o->dump = cli_get(args, "dump");
    if ((v = cli_get(args, "prebuild")) != NULL) {
        if (parse_u64(v, GEN_RING_MAX, &u) != 0 || u == 0)
            return cli_usage_error(cmd, "bad --prebuild '%s': datagrams, 1..%d", v, GEN_RING_MAX);
        if (o->proto == FL_GEN_SFLOW)
            return cli_usage_error(cmd, "--prebuild takes v5, v9 or ipfix (sFlow samples carry "
                                        "sequence numbers of their own)");
        o->prebuild = (uint32_t)u;
    }
    return CLI_EXIT_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts;
    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static void dump_rows(FILE *f, const fl_batch *b, const uint32_t *rows, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rows ? rows[i] : i;
        char sa[FL_ADDR_STRLEN], da[FL_ADDR_STRLEN], nh[FL_ADDR_STRLEN];
        fl_addr_format(FL_ADDRS(b, FL_COL_SRC_ADDR)[r], sa, sizeof sa);
        fl_addr_format(FL_ADDRS(b, FL_COL_DST_ADDR)[r], da, sizeof da);
        fl_addr_format(FL_ADDRS(b, FL_COL_NEXT_HOP)[r], nh, sizeof nh);
        fprintf(f,
                "%u,%" PRId64 ",%" PRId64 ",%s,%s,%u,%u,%u,%u,%u,%" PRIu64 ",%" PRIu64
                ",%u,%u,%u,%u,%u,%u,%s,%u,%u,%u,%u\n",
                FL_U16(b, FL_COL_EXPORTER)[r], FL_TIMES(b, FL_COL_TIME_FIRST)[r],
                FL_TIMES(b, FL_COL_TIME_LAST)[r], sa, da, FL_U16(b, FL_COL_SRC_PORT)[r],
                FL_U16(b, FL_COL_DST_PORT)[r], FL_U8(b, FL_COL_PROTO)[r],
                FL_U8(b, FL_COL_TCP_FLAGS)[r], FL_U8(b, FL_COL_SRC_TOS)[r],
                FL_U64(b, FL_COL_BYTES)[r], FL_U64(b, FL_COL_PACKETS)[r],
                FL_U32(b, FL_COL_IN_IF)[r], FL_U32(b, FL_COL_OUT_IF)[r],
                FL_U32(b, FL_COL_SRC_AS)[r], FL_U32(b, FL_COL_DST_AS)[r],
                FL_U8(b, FL_COL_SRC_MASK)[r], FL_U8(b, FL_COL_DST_MASK)[r], nh,
                FL_U16(b, FL_COL_SRC_VLAN)[r], FL_U16(b, FL_COL_DST_VLAN)[r],
                FL_U8(b, FL_COL_DIRECTION)[r], FL_U32(b, FL_COL_SAMPLING_RATE)[r]);
    }
}

/* Send one datagram. The socket is not connected, so an absent collector
 * (ICMP port unreachable) never fails a later send; a full socket buffer is
 * retried briefly, anything else is an error. */
static int send_dgram(int fd, const gen_opts *o, const uint8_t *buf, size_t len)
{
    for (int tries = 0; tries < 200; tries++) {
        if (sendto(fd, buf, len, 0, (const struct sockaddr *)&o->to, o->tolen) == (ssize_t)len)
            return 0;
        if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
            return -1;
        sleep_s(0.0005);
    }
    errno = ENOBUFS;
    return -1;
}

static void ring_free(gen_ring *rg)
{
    free(rg->buf);
    free(rg->len);
    free(rg->xi);
    free(rg->flows);
    free(rg->hdr);
}

static int ring_alloc(gen_ring *rg, uint32_t cap)
{
    memset(rg, 0, sizeof *rg);
    rg->cap = cap;
    rg->buf = malloc((size_t)cap * FL_GEN_DGRAM_MAX);
    rg->len = calloc(cap, sizeof *rg->len);
    rg->xi = calloc(cap, sizeof *rg->xi);
    rg->flows = calloc(cap, sizeof *rg->flows);
    rg->hdr = calloc(cap, sizeof *rg->hdr);
    return rg->buf && rg->len && rg->xi && rg->flows && rg->hdr ? 0 : -1;
}

/* Wait until the bucket holds `need` flows (no wait when rate is 0), then
 * return how many flows may go now. */
static double bucket_take(double rate, double need, double burst, double *tokens, double *last)
{
    for (int i = 0; rate > 0 && i < 1000000; i++) {
        double t = now_s();
        *tokens += (t - *last) * rate;
        *last = t;
        if (*tokens > burst)
            *tokens = burst;
        if (*tokens >= need)
            break;
        sleep_s((need - *tokens) / rate);
    }
    return rate > 0 ? *tokens : 1e18;
}

/* sendmmsg all of msg[0..m), retrying a full socket buffer briefly. */
static int send_all(int fd, struct mmsghdr *msg, unsigned m)
{
    unsigned done = 0;

    for (int tries = 0; done < m && tries < 2000; tries++) {
        int k = sendmmsg(fd, msg + done, m - done, 0);
        if (k > 0) {
            done += (unsigned)k;
            tries = 0;
            continue;
        }
        if (k < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
            return -1;
        sleep_s(0.0005);
    }
    if (done < m) {
        errno = ENOBUFS;
        return -1;
    }
    return 0;
}

/* --prebuild: send the ring round and round until `count` flows went out
 * (whole datagrams: never more than count), patching each header as its
 * exporter's next round. seqspan[i]: how far exporter i's sequence number
 * moves in one round. Adds what was sent to tot. */
static int ring_send(int fd, const gen_opts *o, gen_ring *rg, const uint32_t *seqspan,
                     uint64_t count, fl_gen_export_stats *tot)
{
    struct mmsghdr msg[GEN_MMSG];
    struct iovec iov[GEN_MMSG];
    uint32_t lo = UINT32_MAX, hi = 0, span, pos = 0, wrap = 0;
    double tokens, last = now_s(), need, burst;
    uint64_t sent = 0;
    struct sockaddr_storage to = o->to;
    fl_err e;

    /* one round moves the clocks on by the ring's time span + 1 s */
    for (uint32_t j = 0; j < rg->n; j++) {
        lo = rg->hdr[j].secs < lo ? rg->hdr[j].secs : lo;
        hi = rg->hdr[j].secs > hi ? rg->hdr[j].secs : hi;
    }
    span = hi - lo + 1;
    need = o->rate / 500; /* 2 ms of flows a sendmmsg, at most GEN_MMSG datagrams */
    if (need > 20.0 * GEN_MMSG)
        need = 20.0 * GEN_MMSG;
    burst = 2 * need + 60;
    tokens = need;
    memset(msg, 0, sizeof msg);
    while (sent < count) {
        unsigned m = 0;
        uint64_t f = 0;
        double may = bucket_take(o->rate, need > rg->flows[pos] ? need : rg->flows[pos], burst,
                                 &tokens, &last);
        /* at most one use of a slot per call: it is patched in place */
        while (m < GEN_MMSG && m < rg->n && sent + f + rg->flows[pos] <= count &&
               (double)(f + rg->flows[pos]) <= may) {
            fl_gen_dgram_hdr h = rg->hdr[pos];
            uint8_t *p = rg->buf + (size_t)pos * FL_GEN_DGRAM_MAX;
            h.seq += wrap * seqspan[rg->xi[pos]];
            h.uptime += wrap * span * 1000u;
            h.secs += wrap * span;
            fl_err_clear(&e);
            if (fl_gen_dgram_hdr_set(o->proto, p, rg->len[pos], &h, &e) != FL_OK) {
                fprintf(stderr, "flowlens gen: %s\n", e.msg);
                return -1;
            }
            iov[m].iov_base = p;
            iov[m].iov_len = rg->len[pos];
            msg[m].msg_hdr.msg_iov = &iov[m];
            msg[m].msg_hdr.msg_iovlen = 1;
            msg[m].msg_hdr.msg_name = &to;
            msg[m].msg_hdr.msg_namelen = o->tolen;
            f += rg->flows[pos];
            tot->bytes += rg->len[pos];
            m++;
            if (++pos == rg->n) {
                pos = 0;
                wrap++;
            }
        }
        if (m == 0)
            break; /* the next datagram would pass count */
        if (send_all(fd, msg, m) != 0) {
            fprintf(stderr, "flowlens gen: send failed: %s\n", strerror(errno));
            return -1;
        }
        tokens -= (double)f;
        sent += f;
        tot->datagrams += m;
    }
    tot->flows += sent;
    return 0;
}

int cmd_gen(const cli_cmd *cmd, const cli_args *args)
{
    gen_opts o;
    int rc, fd = -1, ret = CLI_EXIT_FAIL;
    fl_gen *g = NULL;
    fl_batch *b = NULL;
    fl_gen_exporter **xs = NULL;
    uint32_t *rows = NULL, *nrows = NULL, *seqspan = NULL, nx;
    FILE *dump = NULL;
    uint8_t buf[FL_GEN_DGRAM_MAX];
    double t0, tokens = 0, last, chunk, burst;
    uint64_t flows = 0, count;
    fl_gen_export_stats tot = {0, 0, 0, 0, 0, 0};
    gen_ring rgs, *ring = NULL;
    fl_err e;

    if ((rc = parse_opts(cmd, args, &o)) != CLI_EXIT_OK)
        return rc;
    nx = o.gc.exporters;
    count = o.gc.flows;
    memset(&rgs, 0, sizeof rgs);
    if (o.prebuild > 0) {
        ring = &rgs;
        o.gc.flows = (uint64_t)o.prebuild * 30; /* enough: <= 30 records a datagram */
        if (ring_alloc(ring, o.prebuild) != 0) {
            fprintf(stderr, "flowlens gen: out of memory for %u prebuilt datagrams\n",
                    o.prebuild);
            goto out;
        }
    }
    fl_err_clear(&e);
    g = fl_gen_new(&o.gc);
    b = fl_batch_new(GEN_BATCH);
    xs = calloc(nx, sizeof *xs);
    rows = calloc((size_t)nx * GEN_BATCH, sizeof *rows);
    nrows = calloc(nx, sizeof *nrows);
    seqspan = calloc(nx, sizeof *seqspan);
    if (g == NULL || b == NULL || xs == NULL || rows == NULL || nrows == NULL || !seqspan) {
        fprintf(stderr, "flowlens gen: out of memory\n");
        goto out;
    }
    for (uint32_t i = 0; i < nx; i++) {
        fl_gen_export_config xc = {o.proto, (uint16_t)(i + 1), 0, o.gc.sampling, 0, 0};
        /* the devices booted an hour before the window, a second apart */
        xc.boot = o.gc.start - o.gc.start % 1000 - GEN_BOOT_BEFORE_MS - (fl_time)i * 1000;
        if ((xs[i] = fl_gen_exporter_new(&xc)) == NULL) {
            fprintf(stderr, "flowlens gen: out of memory\n");
            goto out;
        }
    }
    if (o.dump != NULL && (dump = fopen(o.dump, "w")) == NULL) {
        fprintf(stderr, "flowlens gen: cannot write --dump %s: %s\n", o.dump, strerror(errno));
        goto out;
    }
    fd = socket(o.to.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        fprintf(stderr, "flowlens gen: cannot open a UDP socket to %s: %s\n",
                cli_get(args, "to"), strerror(errno));
        goto out;
    }

    /* token bucket: refill at rate, spend a chunk of ~20 ms of flows at a
     * time so datagrams stay reasonably full at low rates (a ring is built
     * at full speed) */
    chunk = o.rate > 0 && ring == NULL ? o.rate / 50 : GEN_BATCH;
    if (chunk < 1)
        chunk = 1;
    if (chunk > GEN_BATCH)
        chunk = GEN_BATCH;
    burst = chunk * 2;
    tokens = chunk; /* the first chunk goes at once */
    t0 = last = now_s();
    while (ring ? ring->n < ring->cap : flows < o.gc.flows) {
        uint32_t want = GEN_BATCH, got;
        if (o.rate > 0 && ring == NULL) {
            double t = now_s();
            tokens += (t - last) * o.rate;
            last = t;
            if (tokens > burst)
                tokens = burst;
            if (tokens < chunk) {
                sleep_s((chunk - tokens) / o.rate);
                continue;
            }
            want = (uint32_t)tokens;
            if (want > GEN_BATCH)
                want = GEN_BATCH;
        }
        fl_batch_clear(b);
        got = fl_gen_next(g, b, want);
        if (got == 0)
            break;
        tokens -= got;
        flows += got;
        if (dump && ring == NULL)
            dump_rows(dump, b, NULL, b->n);
        memset(nrows, 0, nx * sizeof *nrows);
        for (uint32_t r = 0; r < b->n; r++) {
            uint32_t id = FL_U16(b, FL_COL_EXPORTER)[r];
            uint32_t i = (id >= 1 && id <= nx) ? id - 1 : 0;
            rows[(size_t)i * GEN_BATCH + nrows[i]++] = r;
        }
        for (uint32_t i = 0; i < nx && (ring == NULL || ring->n < ring->cap); i++) {
            const uint32_t *xr = rows + (size_t)i * GEN_BATCH;
            uint32_t off = 0;
            while (off < nrows[i] && (ring == NULL || ring->n < ring->cap)) {
                uint32_t used = 0;
                uint8_t *p = ring ? ring->buf + (size_t)ring->n * FL_GEN_DGRAM_MAX : buf;
                fl_gen_export_stats s0, s1;
                size_t len;
                fl_gen_exporter_stats(xs[i], &s0);
                len = fl_gen_export_next(xs[i], b, xr + off, nrows[i] - off, p,
                                         FL_GEN_DGRAM_MAX, &used, &e);
                if (used == 0 && len == 0) {
                    fprintf(stderr, "flowlens gen: %s\n", e.msg[0] ? e.msg : "encoder stalled");
                    goto out;
                }
                if (ring != NULL && len > 0) {
                    fl_gen_exporter_stats(xs[i], &s1);
                    ring->len[ring->n] = (uint16_t)len;
                    ring->xi[ring->n] = (uint16_t)i;
                    ring->flows[ring->n] = (uint32_t)(s1.flows - s0.flows);
                    if (fl_gen_dgram_hdr_get(o.proto, p, len, &ring->hdr[ring->n], &e) != FL_OK) {
                        fprintf(stderr, "flowlens gen: %s\n", e.msg);
                        goto out;
                    }
                    ring->n++;
                    if (dump)
                        dump_rows(dump, b, xr + off, used);
                } else if (len > 0 && send_dgram(fd, &o, buf, len) != 0) {
                    fprintf(stderr, "flowlens gen: send to %s failed: %s\n", cli_get(args, "to"),
                            strerror(errno));
                    goto out;
                }
                off += used;
            }
        }
    }
    if (ring != NULL) {
        uint64_t rflows = 0;
        for (uint32_t i = 0; i < nx; i++) {
            fl_gen_export_stats s;
            fl_gen_exporter_stats(xs[i], &s);
            seqspan[i] = s.seq;
        }
        for (uint32_t j = 0; j < ring->n; j++)
            rflows += ring->flows[j];
        if (rflows == 0) {
            fprintf(stderr, "flowlens gen: the prebuilt datagrams carry no flows\n");
            goto out;
        }
        fprintf(stderr, "flowlens gen: prebuilt %u datagrams, %" PRIu64 " flows, in %.3f s\n",
                ring->n, rflows, now_s() - t0);
        t0 = now_s();
        if (ring_send(fd, &o, ring, seqspan, count, &tot) != 0)
            goto out;
    }
    {
        double el = now_s() - t0;
        for (uint32_t i = 0; i < nx && ring == NULL; i++) {
            fl_gen_export_stats s;
            fl_gen_exporter_stats(xs[i], &s);
            tot.flows += s.flows;
            tot.skipped += s.skipped;
            tot.datagrams += s.datagrams;
            tot.bytes += s.bytes;
        }
        fprintf(stderr,
                "flowlens gen: %s to %s: %" PRIu64 " flows (%" PRIu64 " skipped) from %u "
                "exporters in %" PRIu64 " datagrams, %" PRIu64 " bytes, %.3f s, %.0f flows/s, "
                "%.0f datagrams/s\n",
                fl_gen_proto_name(o.proto), cli_get(args, "to"), tot.flows, tot.skipped, nx,
                tot.datagrams, tot.bytes, el, el > 0 ? (double)tot.flows / el : 0.0,
                el > 0 ? (double)tot.datagrams / el : 0.0);
    }
    ret = CLI_EXIT_OK;
out:
    if (dump != NULL && fclose(dump) != 0 && ret == CLI_EXIT_OK) {
        fprintf(stderr, "flowlens gen: writing --dump %s failed\n", o.dump);
        ret = CLI_EXIT_FAIL;
    }
    if (fd >= 0)
        close(fd);
    for (uint32_t i = 0; xs != NULL && i < nx; i++)
        fl_gen_exporter_free(xs[i]);
    free(xs);
    free(rows);
    free(nrows);
    free(seqspan);
    ring_free(&rgs);
    fl_batch_free(b);
    fl_gen_free(g);
    return ret;
}
