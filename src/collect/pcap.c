/*
 * collect/pcap.c — datagrams from files: classic pcap captures and IPFIX
 * files (RFC 5655).
 *
 * Offline input for `flowlens decode`, golden tests and fuzz seeds. The
 * pcap reader unwraps link layer (Ethernet with VLAN tags, Linux cooked
 * v1/v2, raw IP, BSD loopback), IPv4 or IPv6 (extension headers, fragments
 * skipped) and UDP itself, every step bounds-checked against the captured
 * length, and hands the payload to fl_collect_datagram with the packet's
 * source address and capture time. The whole file is read into memory
 * (bounded) because captures used this way are small.
 */
#include "collect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (512u << 20)
#define SNAP_MAX (256u << 10)

typedef struct udp_pkt {
    fl_addr src;
    uint16_t sport;
    const uint8_t *p;
    size_t n;
} udp_pkt;

static int udp(const uint8_t *h, size_t n, udp_pkt *u)
{
    size_t l;

    if (n < 8)
        return 0;
    u->sport = cl_be16(h);
    l = cl_be16(h + 4);
    if (l < 8)
        return 0;
    l -= 8;
    u->p = h + 8;
    u->n = l < n - 8 ? l : n - 8;
    return 1;
}

static int ip(const uint8_t *h, size_t n, udp_pkt *u)
{
    if (n < 1)
        return 0;
    if ((h[0] >> 4) == 4) {
        size_t ihl = (size_t)(h[0] & 15) * 4, tot;
        if (n < 20 || ihl < 20 || ihl > n)
            return 0;
        tot = cl_be16(h + 2);
        if (tot < ihl)
            return 0;
        if (tot < n)
            n = tot;
        if ((cl_be16(h + 6) & 0x3fff) != 0 || h[9] != 17)
            return 0; /* fragment or not UDP */
        u->src = fl_addr_from_v4(cl_be32(h + 12));
        return udp(h + ihl, n - ihl, u);
    }
    if ((h[0] >> 4) == 6) {
        size_t off = 40, pl;
        uint8_t nh;
        if (n < 40)
            return 0;
        pl = cl_be16(h + 4);
        if (40 + pl < n)
            n = 40 + pl;
        nh = h[6];
        for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60); i++) {
            if (n - off < 8)
                return 0;
            size_t el = ((size_t)h[off + 1] + 1) * 8;
            nh = h[off];
            if (el > n - off)
                return 0;
            off += el;
        }
        if (nh != 17)
            return 0;
        u->src = fl_addr_from_v6(h + 8);
        return udp(h + off, n - off, u);
    }
    return 0;
}

static int link_layer(uint32_t lt, const uint8_t *h, size_t n, udp_pkt *u)
{
    size_t off;
    uint16_t et;

    switch (lt) {
    case 1: /* Ethernet */
        if (n < 14)
            return 0;
        off = 14;
        et = cl_be16(h + 12);
        for (int i = 0; i < 4 && (et == 0x8100 || et == 0x88a8) && n - off >= 4; i++) {
            et = cl_be16(h + off + 2);
            off += 4;
        }
        if (et != 0x0800 && et != 0x86dd)
            return 0;
        return ip(h + off, n - off, u);
    case 113: /* Linux cooked v1 */
        return n >= 16 && ip(h + 16, n - 16, u);
    case 276: /* Linux cooked v2 */
        return n >= 20 && ip(h + 20, n - 20, u);
    case 0: case 109: /* BSD loopback / enc: 4-byte family */
        return n >= 4 && ip(h + 4, n - 4, u);
    case 12: case 14: case 101: case 228: case 229:
        return ip(h, n, u);
    default:
        return 0;
    }
}

static uint32_t rd32(const uint8_t *p, int swap)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return swap ? __builtin_bswap32(v) : v;
}

static fl_rc read_pcap(fl_collect_worker *w, const uint8_t *b, size_t n, const char *path,
                       uint64_t *count, fl_collect_error_fn on_error, void *ctx, fl_err *e)
{
    uint32_t magic = rd32(b, 0), lt;
    int swap, nano;
    size_t off = 24;

    if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
        swap = 0;
    } else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
        swap = 1;
    } else {
        return fl_err_at(e, FL_EPARSE, path, 0, 0, "not a pcap file (magic %08x)", magic);
    }
    nano = (swap ? __builtin_bswap32(magic) : magic) == 0xa1b23c4du;
    lt = rd32(b + 20, swap) & 0xffff;
    while (off < n) {
        uint32_t sec, frac, incl;
        udp_pkt u;
        if (n - off < 16)
            return fl_err_at(e, FL_ETRUNCATED, path, 0, (long long)off,
                             "truncated pcap record header");
        sec = rd32(b + off, swap);
        frac = rd32(b + off + 4, swap);
        incl = rd32(b + off + 8, swap);
        off += 16;
        if (incl > SNAP_MAX || incl > n - off)
            return fl_err_at(e, FL_ETRUNCATED, path, 0, (long long)off - 16,
                             "pcap record of %u bytes overruns the file", incl);
        memset(&u, 0, sizeof u);
        if (link_layer(lt, b + off, incl, &u)) {
            fl_err de;
            fl_time t = (fl_time)sec * 1000 + (nano ? frac / 1000000 : frac / 1000);
            fl_err_clear(&de);
            (*count)++;
            if (fl_collect_datagram(w, u.src, u.sport, u.p, u.n, t, &de) != FL_OK && on_error)
                on_error(ctx, *count, &de);
        }
        off += incl;
    }
    return FL_OK;
}

static fl_rc read_ipfix_file(fl_collect_worker *w, const uint8_t *b, size_t n, const char *path,
                             uint64_t *count, fl_collect_error_fn on_error, void *ctx,
                             fl_err *e)
{
    size_t off = 0;

    while (off < n) {
        size_t ml;
        fl_err de;
        if (n - off < 16 || cl_be16(b + off) != 10)
            return fl_err_at(e, FL_EPARSE, path, 0, (long long)off, "not an IPFIX message");
        ml = cl_be16(b + off + 2);
        if (ml < 16 || ml > n - off)
            return fl_err_at(e, FL_ETRUNCATED, path, 0, (long long)off,
                             "IPFIX message length %zu overruns the file", ml);
        fl_err_clear(&de);
        (*count)++;
        if (fl_collect_datagram(w, fl_addr_from_v4(0), 0, b + off, ml,
                                (fl_time)cl_be32(b + off + 4) * 1000, &de) != FL_OK &&
            on_error)
            on_error(ctx, *count, &de);
        off += ml;
    }
    return FL_OK;
}

fl_rc fl_collect_read_mem(fl_collect_worker *w, const uint8_t *buf, size_t n, const char *name,
                          uint64_t *datagrams, fl_collect_error_fn on_error, void *ctx,
                          fl_err *e)
{
    uint64_t count = 0;
    fl_rc rc;

    if (n >= 24 && (rd32(buf, 0) == 0xa1b2c3d4u || rd32(buf, 0) == 0xa1b23c4du ||
                    rd32(buf, 0) == 0xd4c3b2a1u || rd32(buf, 0) == 0x4d3cb2a1u))
        rc = read_pcap(w, buf, n, name, &count, on_error, ctx, e);
    else if (n >= 16 && cl_be16(buf) == 10)
        rc = read_ipfix_file(w, buf, n, name, &count, on_error, ctx, e);
    else
        rc = fl_err_at(e, FL_EPARSE, name, 0, 0, "neither a pcap nor an IPFIX file");
    if (datagrams)
        *datagrams = count;
    return rc;
}

fl_rc fl_collect_read_file(fl_collect_worker *w, const char *path, uint64_t *datagrams,
                           fl_collect_error_fn on_error, void *ctx, fl_err *e)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    uint64_t count = 0;
    fl_rc rc;

    if (f == NULL)
        return fl_err_at(e, FL_ENOTFOUND, path, 0, -1, "cannot open");
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *q;
            if (ncap > FILE_MAX) {
                rc = fl_err_at(e, FL_ELIMIT, path, 0, -1, "file larger than %u bytes", FILE_MAX);
                goto out;
            }
            q = realloc(buf, ncap);
            if (q == NULL) {
                rc = fl_err_set(e, FL_ENOMEM, "out of memory reading %s", path);
                goto out;
            }
            buf = q;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        rc = fl_err_at(e, FL_EIO, path, 0, -1, "read error");
        goto out;
    }
    rc = fl_collect_read_mem(w, buf, n, path, &count, on_error, ctx, e);
out:
    fclose(f);
    free(buf);
    if (datagrams)
        *datagrams = count;
    return rc;
}
