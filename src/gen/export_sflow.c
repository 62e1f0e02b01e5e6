/*
 * gen/export_sflow.c — sFlow version 5 datagrams.
 *
 * sFlow samples packets, it does not export flows; the simulation sends
 * one flow sample per flow, standing for the flow's first packet: a raw
 * packet header record (Ethernet + IPv4/IPv6 + TCP/UDP/ICMP header built
 * from the flow, the frame length being the flow's mean packet size plus
 * Ethernet and FCS), an extended switch record (VLANs), an extended router
 * record (next hop, masks) and an extended gateway record (BGP next hop,
 * source AS, destination AS as a one-hop path). The data source is the
 * input interface; each sample stands for `rate` packets (the flow's
 * sampling rate), so the source's sample pool grows by the rate and a
 * collector's pool/sequence estimate equals the rate. sFlow carries no
 * flow counters: a flow's own packet and byte counts reach the collector
 * only as the frame length and the interface counters. Every
 * counter_every-th datagram starts with a counter sample (generic
 * interface counters) for one of the sources seen, in turn. The agent
 * address is 10.255.<id/256>.<id%256> so each exporter is its own agent.
 */
#include "export_int.h"

#include <string.h>

#define SF_HDR 28              /* IPv4 agent */
#define SF_FLOW_FIXED (8 + 32) /* tag, length, the sample's fixed fields */
#define SF_COUNTER_LEN (8 + 12 + 8 + 88)

static exp_source *source(fl_gen_exporter *x, uint32_t ifindex)
{
    for (uint32_t i = 0; i < x->nsrc; i++)
        if (x->src[i].ifindex == ifindex)
            return &x->src[i];
    if (x->nsrc < EXP_MAX_SOURCES) {
        exp_source *s = &x->src[x->nsrc++];
        memset(s, 0, sizeof *s);
        s->ifindex = ifindex;
        return s;
    }
    return &x->src[0]; /* more sources than tracked: share the first */
}

static int row_is_v4(const fl_batch *b, uint32_t r)
{
    return fl_addr_is_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]) &&
           fl_addr_is_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r]);
}

/* Bytes of the packet header this flow gets (before 4-byte padding). */
static uint32_t l4_len(uint8_t proto)
{
    return proto == 6 ? 20 : 8;
}
static uint32_t hdr_len(const fl_batch *b, uint32_t r)
{
    return 14 + (row_is_v4(b, r) ? 20 : 40) + l4_len(FL_U8(b, FL_COL_PROTO)[r]);
}
static uint32_t pad4(uint32_t n)
{
    return (n + 3) & ~3u;
}
static uint32_t addr_len(fl_addr a)
{
    return fl_addr_is_v4(a) ? 4 : 16;
}
/* Next hops take the flow's family when unset. */
static fl_addr nh_of(const fl_batch *b, fl_col c, uint32_t r)
{
    fl_addr a = FL_ADDRS(b, c)[r];
    if (a.hi == 0 && a.lo == 0 && row_is_v4(b, r))
        return fl_addr_from_v4(0);
    return a;
}

static uint32_t sample_len(const fl_batch *b, uint32_t r)
{
    uint32_t n = SF_FLOW_FIXED;
    n += 8 + 16 + pad4(hdr_len(b, r));                                     /* raw header */
    n += 8 + 16;                                                           /* switch */
    n += 8 + 4 + addr_len(nh_of(b, FL_COL_NEXT_HOP, r)) + 8;               /* router */
    n += 8 + 4 + addr_len(nh_of(b, FL_COL_BGP_NEXT_HOP, r)) + 12 + 4 + 12 + 4 + 4; /* gateway */
    return n;
}

/* Mean IP packet size of the flow, within what Ethernet carries. */
static uint32_t ip_len(const fl_batch *b, uint32_t r)
{
    uint64_t p = FL_U64(b, FL_COL_PACKETS)[r], v = FL_U64(b, FL_COL_BYTES)[r];
    uint32_t min = hdr_len(b, r) - 14;
    v = p ? v / p : v;
    if (v < min)
        v = min;
    if (v > 9000)
        v = 9000;
    return (uint32_t)v;
}

static void put_addr(exp_w *w, fl_addr a)
{
    uint8_t v6[16];
    if (fl_addr_is_v4(a)) {
        exp_u32(w, fl_addr_v4(a));
        return;
    }
    fl_addr_to_v6(a, v6);
    exp_bytes(w, v6, 16);
}

static void put_sf_addr(exp_w *w, fl_addr a)
{
    exp_u32(w, fl_addr_is_v4(a) ? 1 : 2);
    put_addr(w, a);
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Ethernet + IP + L4 header of the flow's first packet. */
static void put_packet(exp_w *w, const fl_gen_exporter *x, const fl_batch *b, uint32_t r)
{
    int v4 = row_is_v4(b, r);
    uint8_t proto = FL_U8(b, FL_COL_PROTO)[r], tos = FL_U8(b, FL_COL_SRC_TOS)[r];
    uint32_t iplen = ip_len(b, r), l4 = iplen - (v4 ? 20 : 40);
    uint16_t sp = FL_U16(b, FL_COL_SRC_PORT)[r], dp = FL_U16(b, FL_COL_DST_PORT)[r];
    uint8_t mac[6] = {0x02, 0x00, 0x00, (uint8_t)(x->cfg.exporter >> 8),
                      (uint8_t)x->cfg.exporter, 0};
    size_t ip_start;

    mac[5] = (uint8_t)FL_U32(b, FL_COL_OUT_IF)[r];
    exp_bytes(w, mac, 6); /* destination: the router's egress port */
    mac[0] = 0x06;
    mac[5] = (uint8_t)FL_U32(b, FL_COL_IN_IF)[r];
    exp_bytes(w, mac, 6);
    exp_u16(w, v4 ? 0x0800 : 0x86dd);
    ip_start = w->len;
    if (v4) {
        exp_u8(w, 0x45);
        exp_u8(w, tos);
        exp_u16(w, iplen);
        exp_u16(w, (uint16_t)r); /* identification */
        exp_u16(w, 0x4000);      /* don't fragment */
        exp_u8(w, 64);
        exp_u8(w, proto);
        exp_u16(w, 0); /* checksum, below */
        exp_u32(w, fl_addr_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]));
        exp_u32(w, fl_addr_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r]));
        if (!w->over)
            exp_patch16(w, ip_start + 10, ip_checksum(w->p + ip_start, 20));
    } else {
        exp_u32(w, 0x60000000u | (uint32_t)tos << 20);
        exp_u16(w, l4);
        exp_u8(w, proto);
        exp_u8(w, 64);
        put_addr(w, FL_ADDRS(b, FL_COL_SRC_ADDR)[r]);
        put_addr(w, FL_ADDRS(b, FL_COL_DST_ADDR)[r]);
    }
    if (proto == 6) {
        exp_u16(w, sp);
        exp_u16(w, dp);
        exp_u32(w, 1000u + r); /* sequence */
        exp_u32(w, 0);
        exp_u8(w, 5 << 4);
        exp_u8(w, FL_U8(b, FL_COL_TCP_FLAGS)[r]);
        exp_u16(w, 65535);
        exp_u16(w, 0);
        exp_u16(w, 0);
    } else if (proto == 1 || proto == 58) {
        exp_u8(w, dp >> 8); /* type/code as nfdump keeps them in the port */
        exp_u8(w, dp & 0xff);
        exp_u16(w, 0);
        exp_u32(w, 0);
    } else {
        exp_u16(w, sp);
        exp_u16(w, dp);
        exp_u16(w, l4);
        exp_u16(w, 0);
    }
}

static void put_flow_sample(exp_w *w, fl_gen_exporter *x, const fl_batch *b, uint32_t r)
{
    uint32_t in = FL_U32(b, FL_COL_IN_IF)[r], out = FL_U32(b, FL_COL_OUT_IF)[r];
    uint32_t rate = FL_U32(b, FL_COL_SAMPLING_RATE)[r];
    uint64_t pk = FL_U64(b, FL_COL_PACKETS)[r];
    exp_source *s = source(x, in);
    uint32_t hl = hdr_len(b, r);
    size_t start = w->len;

    if (rate == 0)
        rate = exp_sampling(x);
    s->seq++;
    s->pool += rate; /* the sample stands for `rate` packets of its source */
    s->packets += pk;
    s->octets += FL_U64(b, FL_COL_BYTES)[r];

    exp_u32(w, 1); /* enterprise 0, format 1: flow sample */
    exp_u32(w, sample_len(b, r) - 8);
    exp_u32(w, s->seq);
    exp_u32(w, in & 0xffffff); /* source class 0 (ifIndex), index */
    exp_u32(w, rate);
    exp_u32(w, s->pool);
    exp_u32(w, 0); /* drops */
    exp_u32(w, in);
    exp_u32(w, out);
    exp_u32(w, 4); /* records */

    exp_u32(w, 1); /* raw packet header */
    exp_u32(w, 16 + pad4(hl));
    exp_u32(w, 1); /* ethernet */
    exp_u32(w, ip_len(b, r) + 14 + 4);
    exp_u32(w, 4); /* FCS stripped */
    exp_u32(w, hl);
    put_packet(w, x, b, r);
    for (uint32_t i = hl; i < pad4(hl); i++)
        exp_u8(w, 0);

    exp_u32(w, 1001); /* extended switch */
    exp_u32(w, 16);
    exp_u32(w, FL_U16(b, FL_COL_SRC_VLAN)[r]);
    exp_u32(w, 0);
    exp_u32(w, FL_U16(b, FL_COL_DST_VLAN)[r]);
    exp_u32(w, 0);

    {
        fl_addr nh = nh_of(b, FL_COL_NEXT_HOP, r);
        exp_u32(w, 1002); /* extended router */
        exp_u32(w, 4 + addr_len(nh) + 8);
        put_sf_addr(w, nh);
        exp_u32(w, FL_U8(b, FL_COL_SRC_MASK)[r]);
        exp_u32(w, FL_U8(b, FL_COL_DST_MASK)[r]);
    }
    {
        fl_addr nh = nh_of(b, FL_COL_BGP_NEXT_HOP, r);
        exp_u32(w, 1003); /* extended gateway */
        exp_u32(w, 4 + addr_len(nh) + 12 + 4 + 12 + 4 + 4);
        put_sf_addr(w, nh);
        exp_u32(w, 0);                             /* this router's AS: unknown */
        exp_u32(w, FL_U32(b, FL_COL_SRC_AS)[r]);   /* source AS */
        exp_u32(w, 0);                             /* source peer AS */
        exp_u32(w, 1);                             /* one path segment */
        exp_u32(w, 2);                             /* AS_SEQUENCE */
        exp_u32(w, 1);
        exp_u32(w, FL_U32(b, FL_COL_DST_AS)[r]);   /* ends in the destination AS */
        exp_u32(w, 0);                             /* communities */
        exp_u32(w, 100);                           /* local pref */
    }
    if (w->len - start != sample_len(b, r))
        w->over = 1;
    x->st.flows++;
}

static void put_counter_sample(exp_w *w, fl_gen_exporter *x)
{
    exp_source *s = &x->src[x->counter_next++ % x->nsrc];
    uint32_t rate = exp_sampling(x);

    exp_u32(w, 2); /* counter sample */
    exp_u32(w, SF_COUNTER_LEN - 8);
    exp_u32(w, ++x->counter_seq);
    exp_u32(w, s->ifindex & 0xffffff);
    exp_u32(w, 1); /* records */
    exp_u32(w, 1); /* generic interface counters */
    exp_u32(w, 88);
    exp_u32(w, s->ifindex);
    exp_u32(w, 6);              /* ethernetCsmacd */
    exp_u64(w, 10000000000ULL); /* 10 Gbit/s */
    exp_u32(w, 1);              /* full duplex */
    exp_u32(w, 3);              /* admin and oper up */
    exp_u64(w, s->octets * rate);
    exp_u32(w, (uint32_t)(s->packets * rate));
    exp_u32(w, 0);
    exp_u32(w, 0);
    exp_u32(w, 0);
    exp_u32(w, 0);
    exp_u32(w, 0);
    exp_u64(w, 0); /* out octets: the simulation sees ingress only */
    for (int i = 0; i < 5; i++)
        exp_u32(w, 0);
    exp_u32(w, 0); /* promiscuous */
}

size_t exp_sflow_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows,
                        uint32_t n, exp_w *w, uint32_t *consumed)
{
    size_t used = SF_HDR;
    uint32_t k, nsamples;
    int counters = x->nsrc > 0 && x->st.datagrams % x->cfg.counter_every == 0;

    if (counters)
        used += SF_COUNTER_LEN;
    for (k = 0; k < n; k++) {
        size_t need = sample_len(b, rows[k]);
        if (used + need > w->cap)
            break;
        used += need;
    }
    *consumed = k;
    if (k == 0)
        return 0;
    exp_clock_advance(x, b, rows, k);
    nsamples = k + (counters ? 1u : 0u);

    exp_u32(w, 5);
    exp_u32(w, 1); /* agent address: IPv4 */
    exp_u32(w, 0x0aff0000u | x->cfg.exporter);
    exp_u32(w, 0); /* sub-agent */
    exp_u32(w, ++x->seq);
    exp_u32(w, (uint64_t)(x->clock - x->cfg.boot));
    exp_u32(w, nsamples);
    if (counters) {
        put_counter_sample(w, x);
        x->st.templates++;
    }
    for (uint32_t i = 0; i < k; i++)
        put_flow_sample(w, x, b, rows[i]);
    return w->len;
}
