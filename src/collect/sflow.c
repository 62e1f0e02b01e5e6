/*
 * collect/sflow.c — sFlow v5 datagrams (sflow.org sflow_version_5.txt).
 *
 * A flow sample (compact or expanded) becomes one flow: packets 1, bytes
 * the sampled frame's length, sampling_rate the sample's rate, the times
 * the collector's receive time (flagged as estimated: sFlow carries no
 * flow times). Its records fill the columns: the raw packet header is
 * decoded through Ethernet, 802.1Q/QinQ tags, MPLS labels, IPv4 (with
 * fragments), IPv6 (with extension headers) and TCP/UDP/SCTP/ICMP;
 * sampled IPv4/IPv6 data, extended switch (VLANs), router (next hop,
 * masks), gateway (BGP next hop, AS path) and NAT records overwrite what
 * the header gave. Counter samples keep the generic interface counters
 * per exporter (and pass them to the sink's on_counters). Every read is
 * bounds-checked against its own record; a sample or record that does not
 * fit drops that sample, counted as malformed "sample".
 */
#include "collect_int.h"

#include <string.h>

#define SF_MAX_SAMPLES 4096
#define SF_MAX_RECORDS 256

typedef struct sf_span {
    const uint8_t *p;
    size_t n, off;
    int bad;
} sf_span;

static uint32_t sp_u32(sf_span *s)
{
    if (s->bad || s->n - s->off < 4) {
        s->bad = 1;
        return 0;
    }
    s->off += 4;
    return cl_be32(s->p + s->off - 4);
}

static uint64_t sp_u64(sf_span *s)
{
    uint64_t hi = sp_u32(s);
    return hi << 32 | sp_u32(s);
}

static const uint8_t *sp_bytes(sf_span *s, size_t n)
{
    if (s->bad || s->n - s->off < n) {
        s->bad = 1;
        return NULL;
    }
    s->off += n;
    return s->p + s->off - n;
}

/* address: type (1 IPv4, 2 IPv6) then the address */
static int sp_addr(sf_span *s, fl_addr *out)
{
    uint32_t t = sp_u32(s);
    const uint8_t *a;

    if (t == 1) {
        a = sp_bytes(s, 4);
        if (a)
            *out = fl_addr_from_v4(cl_be32(a));
        return a != NULL;
    }
    if (t == 2) {
        a = sp_bytes(s, 16);
        if (a)
            *out = fl_addr_from_v6(a);
        return a != NULL;
    }
    if (t != 0)
        s->bad = 1;
    *out = (fl_addr){0, 0};
    return 0;
}

/* ---- packet headers ------------------------------------------------- */

static void l4(fl_batch *b, uint32_t r, uint8_t proto, const uint8_t *h, size_t n)
{
    FL_U8(b, FL_COL_PROTO)[r] = proto;
    fl_batch_mark(b, FL_COL_PROTO);
    switch (proto) {
    case 6: case 17: case 132:
        if (n < 4)
            return;
        FL_U16(b, FL_COL_SRC_PORT)[r] = cl_be16(h);
        FL_U16(b, FL_COL_DST_PORT)[r] = cl_be16(h + 2);
        fl_batch_mark(b, FL_COL_SRC_PORT);
        fl_batch_mark(b, FL_COL_DST_PORT);
        if (proto == 6 && n >= 14) {
            FL_U8(b, FL_COL_TCP_FLAGS)[r] = h[13];
            fl_batch_mark(b, FL_COL_TCP_FLAGS);
        }
        return;
    case 1: case 58:
        if (n < 2)
            return;
        FL_U8(b, FL_COL_ICMP_TYPE)[r] = h[0];
        FL_U8(b, FL_COL_ICMP_CODE)[r] = h[1];
        fl_batch_mark(b, FL_COL_ICMP_TYPE);
        fl_batch_mark(b, FL_COL_ICMP_CODE);
        return;
    default:
        return;
    }
}

static void ipv4(fl_batch *b, uint32_t r, const uint8_t *h, size_t n)
{
    size_t ihl;

    if (n < 20 || (h[0] >> 4) != 4)
        return;
    ihl = (size_t)(h[0] & 15) * 4;
    FL_U8(b, FL_COL_SRC_TOS)[r] = h[1];
    FL_ADDRS(b, FL_COL_SRC_ADDR)[r] = fl_addr_from_v4(cl_be32(h + 12));
    FL_ADDRS(b, FL_COL_DST_ADDR)[r] = fl_addr_from_v4(cl_be32(h + 16));
    fl_batch_mark(b, FL_COL_SRC_TOS);
    fl_batch_mark(b, FL_COL_SRC_ADDR);
    fl_batch_mark(b, FL_COL_DST_ADDR);
    if (ihl < 20 || ihl > n || (cl_be16(h + 6) & 0x1fff) != 0) {
        FL_U8(b, FL_COL_PROTO)[r] = h[9];
        fl_batch_mark(b, FL_COL_PROTO);
        return; /* options overrun, or a non-first fragment: no ports */
    }
    l4(b, r, h[9], h + ihl, n - ihl);
}

static void ipv6(fl_batch *b, uint32_t r, const uint8_t *h, size_t n)
{
    size_t off = 40;
    uint8_t nh;

    if (n < 40 || (h[0] >> 4) != 6)
        return;
    FL_U8(b, FL_COL_SRC_TOS)[r] = (uint8_t)(cl_be32(h) >> 20);
    FL_ADDRS(b, FL_COL_SRC_ADDR)[r] = fl_addr_from_v6(h + 8);
    FL_ADDRS(b, FL_COL_DST_ADDR)[r] = fl_addr_from_v6(h + 24);
    fl_batch_mark(b, FL_COL_SRC_TOS);
    fl_batch_mark(b, FL_COL_SRC_ADDR);
    fl_batch_mark(b, FL_COL_DST_ADDR);
    nh = h[6];
    for (int i = 0; i < 8; i++) {
        size_t el;
        if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51)
            break;
        if (n - off < 8)
            break;
        if (nh == 44) {
            if ((cl_be16(h + off + 2) >> 3) != 0) {
                FL_U8(b, FL_COL_PROTO)[r] = h[off];
                fl_batch_mark(b, FL_COL_PROTO);
                return; /* not the first fragment */
            }
            el = 8;
        } else if (nh == 51) {
            el = ((size_t)h[off + 1] + 2) * 4;
        } else {
            el = ((size_t)h[off + 1] + 1) * 8;
        }
        nh = h[off];
        if (el > n - off) {
            off = n;
            break;
        }
        off += el;
    }
    l4(b, r, nh, h + off, n - off);
}

static void ethernet(fl_batch *b, uint32_t r, const uint8_t *h, size_t n)
{
    size_t off = 14;
    uint16_t et;
    int tags = 0;

    if (n < 14)
        return;
    FL_MACS(b, FL_COL_IN_DST_MAC)[r] = cl_beN(h, 6);
    FL_MACS(b, FL_COL_IN_SRC_MAC)[r] = cl_beN(h + 6, 6);
    fl_batch_mark(b, FL_COL_IN_DST_MAC);
    fl_batch_mark(b, FL_COL_IN_SRC_MAC);
    et = cl_be16(h + 12);
    while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && n - off >= 4 && tags < 4) {
        if (tags == 0) {
            /* the outer tag is the one the switch port sees */
            FL_U16(b, FL_COL_SRC_VLAN)[r] = cl_be16(h + off) & 0x0fff;
            fl_batch_mark(b, FL_COL_SRC_VLAN);
        }
        et = cl_be16(h + off + 2);
        off += 4;
        tags++;
    }
    if (et == 0x8847 || et == 0x8848) {
        for (int i = 0; i < 16 && n - off >= 4; i++) {
            uint32_t lse = cl_be32(h + off);
            if (i == 0) {
                FL_U32(b, FL_COL_MPLS_LABEL1)[r] = lse >> 8;
                fl_batch_mark(b, FL_COL_MPLS_LABEL1);
            }
            off += 4;
            if (lse & 0x100)
                break;
        }
        if (n - off < 1)
            return;
        et = (h[off] >> 4) == 4 ? 0x0800 : (h[off] >> 4) == 6 ? 0x86dd : 0;
    }
    if (et == 0x0800)
        ipv4(b, r, h + off, n - off);
    else if (et == 0x86dd)
        ipv6(b, r, h + off, n - off);
}

/* ---- flow samples ---------------------------------------------------- */

static void raw_header(fl_batch *b, uint32_t r, sf_span *s, uint64_t *frame_len)
{
    uint32_t proto = sp_u32(s), flen = sp_u32(s);
    uint32_t stripped = sp_u32(s), hlen = sp_u32(s);
    const uint8_t *h = sp_bytes(s, hlen);

    (void)stripped;
    if (h == NULL)
        return;
    *frame_len = flen;
    if (proto == 1)
        ethernet(b, r, h, hlen);
    else if (proto == 11)
        ipv4(b, r, h, hlen);
    else if (proto == 12)
        ipv6(b, r, h, hlen);
}

static void flow_record(cl_ctx *k, fl_batch *b, uint32_t r, uint32_t fmt, sf_span *s,
                        uint64_t *frame_len)
{
    fl_addr a;

    switch (fmt) {
    case 1: /* raw packet header */
        raw_header(b, r, s, frame_len);
        return;
    case 2: { /* ethernet frame data */
        uint32_t l = sp_u32(s);
        const uint8_t *src = sp_bytes(s, 8), *dst = sp_bytes(s, 8);
        if (src == NULL || dst == NULL)
            return;
        if (*frame_len == 0)
            *frame_len = l;
        FL_MACS(b, FL_COL_IN_SRC_MAC)[r] = cl_beN(src, 6);
        FL_MACS(b, FL_COL_IN_DST_MAC)[r] = cl_beN(dst, 6);
        fl_batch_mark(b, FL_COL_IN_SRC_MAC);
        fl_batch_mark(b, FL_COL_IN_DST_MAC);
        return;
    }
    case 3: case 4: { /* sampled IPv4 / IPv6 */
        uint32_t l = sp_u32(s), proto = sp_u32(s);
        const uint8_t *src = sp_bytes(s, fmt == 3 ? 4 : 16), *dst = sp_bytes(s, fmt == 3 ? 4 : 16);
        uint32_t sp = sp_u32(s), dp = sp_u32(s), flags = sp_u32(s), tos = sp_u32(s);
        if (s->bad)
            return;
        if (*frame_len == 0)
            *frame_len = l;
        FL_ADDRS(b, FL_COL_SRC_ADDR)[r] = fmt == 3 ? fl_addr_from_v4(cl_be32(src)) : fl_addr_from_v6(src);
        FL_ADDRS(b, FL_COL_DST_ADDR)[r] = fmt == 3 ? fl_addr_from_v4(cl_be32(dst)) : fl_addr_from_v6(dst);
        FL_U8(b, FL_COL_PROTO)[r] = (uint8_t)proto;
        FL_U16(b, FL_COL_SRC_PORT)[r] = (uint16_t)sp;
        FL_U16(b, FL_COL_DST_PORT)[r] = (uint16_t)dp;
        FL_U8(b, FL_COL_TCP_FLAGS)[r] = (uint8_t)flags;
        FL_U8(b, FL_COL_SRC_TOS)[r] = (uint8_t)tos;
        {
            static const fl_col cs[] = {FL_COL_SRC_ADDR, FL_COL_DST_ADDR, FL_COL_PROTO,
                                        FL_COL_SRC_PORT, FL_COL_DST_PORT, FL_COL_TCP_FLAGS,
                                        FL_COL_SRC_TOS};
            for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
                fl_batch_mark(b, cs[i]);
        }
        return;
    }
    case 1001: { /* extended switch */
        uint32_t sv = sp_u32(s), spri = sp_u32(s), dv = sp_u32(s), dpri = sp_u32(s);
        (void)spri;
        (void)dpri;
        if (s->bad)
            return;
        FL_U16(b, FL_COL_SRC_VLAN)[r] = (uint16_t)sv;
        FL_U16(b, FL_COL_DST_VLAN)[r] = (uint16_t)dv;
        fl_batch_mark(b, FL_COL_SRC_VLAN);
        fl_batch_mark(b, FL_COL_DST_VLAN);
        return;
    }
    case 1002: { /* extended router */
        int have = sp_addr(s, &a);
        uint32_t sm = sp_u32(s), dm = sp_u32(s);
        if (s->bad)
            return;
        if (have) {
            FL_ADDRS(b, FL_COL_NEXT_HOP)[r] = a;
            fl_batch_mark(b, FL_COL_NEXT_HOP);
        }
        FL_U8(b, FL_COL_SRC_MASK)[r] = (uint8_t)sm;
        FL_U8(b, FL_COL_DST_MASK)[r] = (uint8_t)dm;
        fl_batch_mark(b, FL_COL_SRC_MASK);
        fl_batch_mark(b, FL_COL_DST_MASK);
        return;
    }
    case 1003: { /* extended gateway */
        int have = sp_addr(s, &a);
        uint32_t as = sp_u32(s), src_as = sp_u32(s), peer_as = sp_u32(s);
        uint32_t nseg = sp_u32(s), first = 0, last = 0;
        (void)as;
        for (uint32_t i = 0; i < nseg && i < 64 && !s->bad; i++) {
            uint32_t type = sp_u32(s), n = sp_u32(s);
            (void)type;
            if (n > 256) {
                s->bad = 1;
                break;
            }
            for (uint32_t j = 0; j < n && !s->bad; j++) {
                uint32_t asn = sp_u32(s);
                if (first == 0)
                    first = asn;
                last = asn;
            }
        }
        if (s->bad)
            return;
        if (have) {
            FL_ADDRS(b, FL_COL_BGP_NEXT_HOP)[r] = a;
            fl_batch_mark(b, FL_COL_BGP_NEXT_HOP);
        }
        FL_U32(b, FL_COL_SRC_AS)[r] = src_as;
        FL_U32(b, FL_COL_PREV_AS)[r] = peer_as;
        FL_U32(b, FL_COL_NEXT_AS)[r] = first;
        FL_U32(b, FL_COL_DST_AS)[r] = last;
        fl_batch_mark(b, FL_COL_SRC_AS);
        fl_batch_mark(b, FL_COL_PREV_AS);
        fl_batch_mark(b, FL_COL_NEXT_AS);
        fl_batch_mark(b, FL_COL_DST_AS);
        return;
    }
    case 1007: { /* extended NAT */
        fl_addr d;
        int hs = sp_addr(s, &a), hd = sp_addr(s, &d);
        if (s->bad)
            return;
        if (hs) {
            FL_ADDRS(b, FL_COL_XLATE_SRC_ADDR)[r] = a;
            fl_batch_mark(b, FL_COL_XLATE_SRC_ADDR);
        }
        if (hd) {
            FL_ADDRS(b, FL_COL_XLATE_DST_ADDR)[r] = d;
            fl_batch_mark(b, FL_COL_XLATE_DST_ADDR);
        }
        return;
    }
    default:
        (void)k;
        return;
    }
}

static fl_rc flow_sample(cl_ctx *k, sf_span *s, int expanded, size_t base)
{
    uint32_t rate, in, out, nrec;
    int64_t row;
    fl_batch *b;
    uint64_t frame_len = 0;
    uint32_t r;

    sp_u32(s); /* sample sequence */
    if (expanded) {
        sp_u32(s);
        sp_u32(s); /* source id type, index */
    } else {
        sp_u32(s);
    }
    rate = sp_u32(s);
    sp_u32(s); /* sample pool */
    sp_u32(s); /* drops */
    if (expanded) {
        uint32_t inf = sp_u32(s), inv = sp_u32(s), outf = sp_u32(s), outv = sp_u32(s);
        in = inf == 0 ? inv : 0;
        out = outf == 0 ? outv : 0;
    } else {
        uint32_t i = sp_u32(s), o = sp_u32(s);
        in = (i >> 30) == 0 ? (i & 0x3fffffff) : 0;
        out = (o >> 30) == 0 ? (o & 0x3fffffff) : 0;
    }
    /* 0x3fffffff is "interface unknown" */
    if (in == 0x3fffffff)
        in = 0;
    if (out == 0x3fffffff)
        out = 0;
    nrec = sp_u32(s);
    if (s->bad || nrec > SF_MAX_RECORDS)
        return cl_bad(k, FL_BAD_SAMPLE, -1, base + s->off, "flow sample header with %u records",
                      nrec);
    row = cl_worker_row(k);
    if (row < 0)
        return cl_bad(k, FL_BAD_LIMIT, -1, base, "sink refused batches");
    b = k->w->b;
    r = (uint32_t)row;
    for (uint32_t i = 0; i < nrec; i++) {
        uint32_t fmt = sp_u32(s), len = sp_u32(s);
        const uint8_t *rp = sp_bytes(s, len);
        sf_span rs = {rp, len, 0, 0};
        if (rp == NULL) {
            cl_row_rollback(b, r);
            return cl_bad(k, FL_BAD_SAMPLE, -1, base + s->off,
                          "flow record %u of %u: length %u overruns the sample", i, nrec, len);
        }
        if ((fmt >> 12) == 0)
            flow_record(k, b, r, fmt & 0xfff, &rs, &frame_len);
        if (rs.bad) {
            cl_row_rollback(b, r);
            return cl_bad(k, FL_BAD_SAMPLE, -1, base + s->off - len,
                          "flow record format %u of %u bytes is malformed", fmt & 0xfff, len);
        }
    }
    FL_U64(b, FL_COL_BYTES)[r] = frame_len;
    FL_U64(b, FL_COL_PACKETS)[r] = 1;
    FL_U32(b, FL_COL_IN_IF)[r] = in;
    FL_U32(b, FL_COL_OUT_IF)[r] = out;
    rate = cl_rate(k->x, rate, FL_SAMPLING_SRC_SFLOW);
    FL_U32(b, FL_COL_SAMPLING_RATE)[r] = rate;
    FL_U8(b, FL_COL_FLOW_FLAGS)[r] =
        (uint8_t)(FL_FLOW_TIME_ESTIMATED | (rate == 0 ? FL_FLOW_SAMPLING_UNKNOWN : 0));
    FL_TIMES(b, FL_COL_TIME_FIRST)[r] = k->now;
    FL_TIMES(b, FL_COL_TIME_LAST)[r] = k->now;
    FL_TIMES(b, FL_COL_TIME_RECEIVED)[r] = k->now;
    FL_U16(b, FL_COL_EXPORTER)[r] = k->x->x.id;
    {
        static const fl_col cs[] = {FL_COL_BYTES, FL_COL_PACKETS, FL_COL_IN_IF, FL_COL_OUT_IF,
                                    FL_COL_SAMPLING_RATE, FL_COL_FLOW_FLAGS, FL_COL_TIME_FIRST,
                                    FL_COL_TIME_LAST, FL_COL_TIME_RECEIVED, FL_COL_EXPORTER};
        for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
            fl_batch_mark(b, cs[i]);
    }
    if (rate && !k->x->eff_override &&
        (k->x->x.sampling_rate != rate || k->x->x.sampling_source != FL_SAMPLING_SRC_SFLOW)) {
        k->x->x.sampling_rate = rate;
        k->x->x.sampling_source = FL_SAMPLING_SRC_SFLOW;
        k->x->announce = 1;
    }
    k->x->x.stats.flows++;
    return FL_OK;
}

static fl_rc counter_sample(cl_ctx *k, sf_span *s, int expanded, size_t base)
{
    uint32_t nrec;

    sp_u32(s); /* sequence */
    sp_u32(s); /* source id (type+index) */
    if (expanded)
        sp_u32(s);
    nrec = sp_u32(s);
    if (s->bad || nrec > SF_MAX_RECORDS)
        return cl_bad(k, FL_BAD_SAMPLE, -1, base + s->off, "counter sample with %u records", nrec);
    for (uint32_t i = 0; i < nrec; i++) {
        uint32_t fmt = sp_u32(s), len = sp_u32(s);
        const uint8_t *rp = sp_bytes(s, len);
        sf_span r = {rp, len, 0, 0};
        fl_collect_ifcounters ic;
        if (rp == NULL)
            return cl_bad(k, FL_BAD_SAMPLE, -1, base + s->off,
                          "counter record %u of %u: length %u overruns the sample", i, nrec, len);
        if (fmt != 1)
            continue;
        memset(&ic, 0, sizeof ic);
        ic.exporter = k->x->x.id;
        ic.time = k->now;
        ic.ifindex = sp_u32(&r);
        ic.type = sp_u32(&r);
        ic.speed = sp_u64(&r);
        ic.direction = sp_u32(&r);
        ic.status = sp_u32(&r);
        ic.in_octets = sp_u64(&r);
        ic.in_ucast = sp_u32(&r);
        ic.in_mcast = sp_u32(&r);
        ic.in_bcast = sp_u32(&r);
        ic.in_discards = sp_u32(&r);
        ic.in_errors = sp_u32(&r);
        sp_u32(&r); /* unknown protos */
        ic.out_octets = sp_u64(&r);
        ic.out_ucast = sp_u32(&r);
        ic.out_mcast = sp_u32(&r);
        ic.out_bcast = sp_u32(&r);
        ic.out_discards = sp_u32(&r);
        ic.out_errors = sp_u32(&r);
        if (r.bad)
            return cl_bad(k, FL_BAD_SAMPLE, -1, base + s->off - len,
                          "generic interface counters of %u bytes", len);
        cl_set_ifcounters(k->c, k->x, &ic);
    }
    k->x->x.stats.counter_samples++;
    return FL_OK;
}

fl_rc cl_sflow(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len)
{
    sf_span s = {p, len, 4, 0};
    fl_addr agent;
    uint32_t sub, seq, n;
    fl_rc rc = FL_OK;

    (void)src;
    if (!sp_addr(&s, &agent) || s.n - s.off < 16)
        return cl_bad(k, FL_BAD_SHORT, -1, s.off, "sFlow header of %zu bytes", len);
    sub = sp_u32(&s);
    seq = sp_u32(&s);
    sp_u32(&s); /* uptime */
    n = sp_u32(&s);
    k->x = cl_exporter_get(k->c, FL_PROTO_SFLOW, agent, sub, k->now, k->e);
    if (k->x == NULL)
        return k->e ? k->e->rc : FL_EINVAL;
    k->x->x.stats.datagrams++;
    k->x->x.stats.bytes += len;
    k->unix_ms = k->now;
    cl_seq(k->x, seq, 1);
    if (n > SF_MAX_SAMPLES) {
        rc = cl_bad(k, FL_BAD_LENGTH, -1, s.off - 4, "%u samples in one datagram", n);
        goto out;
    }
    for (uint32_t i = 0; i < n && rc == FL_OK; i++) {
        uint32_t fmt = sp_u32(&s), slen = sp_u32(&s);
        size_t base = s.off;
        const uint8_t *sp = sp_bytes(&s, slen);
        sf_span ss = {sp, slen, 0, 0};
        if (sp == NULL) {
            rc = cl_bad(k, FL_BAD_SAMPLE, -1, base, "sample %u of %u: length %u, %zu bytes left",
                        i, n, slen, len - (base < len ? base : len));
            break;
        }
        if ((fmt >> 12) != 0)
            continue;
        switch (fmt & 0xfff) {
        case 1: rc = flow_sample(k, &ss, 0, base); break;
        case 3: rc = flow_sample(k, &ss, 1, base); break;
        case 2: rc = counter_sample(k, &ss, 0, base); break;
        case 4: rc = counter_sample(k, &ss, 1, base); break;
        default: break;
        }
    }
out:
    cl_exporter_unlock(k->c, k->x);
    return rc;
}
