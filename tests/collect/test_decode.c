/*
 * tests/collect/test_decode.c — the decoders on datagrams built here byte
 * by byte: every column a protocol carries, every time encoding, sampling
 * from headers and options data (sampler-id aware), template refresh,
 * replacement and withdrawal, several source ids, sequence-gap accounting
 * per protocol, every malformed reason, and template persistence across a
 * restart.
 */
#include "collect/collect.h"
#include "test.h"

#include <stdio.h>
#include <unistd.h>

/* ---- a datagram builder ----------------------------------------------- */

typedef struct wb {
    uint8_t p[9000];
    size_t n;
} wb;

static void u8(wb *b, unsigned v) { b->p[b->n++] = (uint8_t)v; }
static void u16(wb *b, unsigned v) { u8(b, v >> 8); u8(b, v); }
static void u32(wb *b, uint32_t v) { u16(b, v >> 16); u16(b, v & 0xffff); }
static void u64(wb *b, uint64_t v) { u32(b, (uint32_t)(v >> 32)); u32(b, (uint32_t)v); }
static void bytes(wb *b, const void *d, size_t n) { memcpy(b->p + b->n, d, n); b->n += n; }
static size_t mark(wb *b) { return b->n; }
static void patch16(wb *b, size_t at, unsigned v) { b->p[at] = (uint8_t)(v >> 8); b->p[at + 1] = (uint8_t)v; }
static void set_len_here(wb *b, size_t at) { patch16(b, at + 2, (unsigned)(b->n - at)); }

/* ---- a capturing sink ------------------------------------------------- */

#define MAXF 256
static fl_flow got[MAXF];
static uint64_t got_present[FL_PRESENT_WORDS];
static int ngot;
static int nexporters_announced;

static fl_rc cap_batch(void *ctx, const fl_batch *b)
{
    (void)ctx;
    for (uint32_t i = 0; i < b->n && ngot < MAXF; i++)
        fl_batch_get(b, i, &got[ngot++]);
    for (int w = 0; w < FL_PRESENT_WORDS; w++)
        got_present[w] |= b->present[w];
    return FL_OK;
}

static void cap_exporter(void *ctx, const fl_collect_exporter *x)
{
    (void)ctx;
    (void)x;
    nexporters_announced++;
}

static fl_collect *c;
static fl_collect_worker *w;
static fl_addr A1, A2;
static fl_err err;

static void setup(const fl_collect_config *cfg)
{
    fl_collect_sink s = {NULL, cap_batch, cap_exporter, NULL, NULL};
    fl_collect_free(c);
    fl_collect_worker_free(w);
    c = fl_collect_new(cfg, &s, &err);
    w = fl_collect_worker_new(c);
    ngot = 0;
    nexporters_announced = 0;
    memset(got, 0, sizeof got);
    memset(got_present, 0, sizeof got_present);
    A1 = fl_addr_from_v4(0xc0000201);
    A2 = fl_addr_from_v4(0xc0000202);
}

static fl_rc feed_at(fl_addr src, const wb *b, fl_time now)
{
    fl_err_clear(&err);
    fl_rc rc = fl_collect_datagram(w, src, 2055, b->p, b->n, now, &err);
    fl_collect_worker_flush(w);
    return rc;
}

static fl_rc feed(fl_addr src, const wb *b)
{
    return feed_at(src, b, 1700000000000LL);
}

static fl_collect_exporter exporter(size_t i)
{
    fl_collect_exporter x;
    memset(&x, 0, sizeof x);
    fl_collect_exporter_get(c, i, &x);
    return x;
}

static int has(fl_col col)
{
    return (int)((got_present[col / 64] >> (col % 64)) & 1);
}

/* ---- NetFlow v5 --------------------------------------------------------- */

static void v5(wb *b, uint32_t seq, unsigned count, unsigned sampling)
{
    b->n = 0;
    u16(b, 5); u16(b, count); u32(b, 100000); /* sysUptime ms */
    u32(b, 1700000000); u32(b, 500000000);   /* unix secs, nsecs */
    u32(b, seq); u8(b, 1); u8(b, 7); u16(b, sampling);
    for (unsigned i = 0; i < count; i++) {
        u32(b, 0x0a000001 + i); u32(b, 0x0a000002); u32(b, 0x0a0000fe);
        u16(b, 3); u16(b, 4); u32(b, 10 + i); u32(b, 1000 + i);
        u32(b, 90000); u32(b, 99000);           /* first/last uptime */
        u16(b, 1234); u16(b, 80); u8(b, 0); u8(b, 0x12); u8(b, 6); u8(b, 0x20);
        u16(b, 64500); u16(b, 64501); u8(b, 24); u8(b, 16); u16(b, 0);
    }
}

TEST(nf5_columns_and_sampling)
{
    wb b;
    setup(NULL);
    v5(&b, 0, 2, 0x4000 | 100);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 2);
    CHECK_EQ_INT(fl_addr_v4(got[1].SRC_ADDR), 0x0a000002);
    CHECK_EQ_INT(fl_addr_v4(got[0].NEXT_HOP), 0x0a0000fe);
    CHECK_EQ_INT(got[0].IN_IF, 3);
    CHECK_EQ_INT(got[0].OUT_IF, 4);
    CHECK_EQ_INT(got[1].PACKETS, 11);
    CHECK_EQ_INT(got[1].BYTES, 1001);
    /* unix 1700000000.5 s at uptime 100 s: first at uptime 90 s */
    CHECK_EQ_INT(got[0].TIME_FIRST, 1700000000500LL - 10000);
    CHECK_EQ_INT(got[0].TIME_LAST, 1700000000500LL - 1000);
    CHECK_EQ_INT(got[0].SRC_PORT, 1234);
    CHECK_EQ_INT(got[0].DST_PORT, 80);
    CHECK_EQ_INT(got[0].TCP_FLAGS, 0x12);
    CHECK_EQ_INT(got[0].PROTO, 6);
    CHECK_EQ_INT(got[0].SRC_TOS, 0x20);
    CHECK_EQ_INT(got[0].SRC_AS, 64500);
    CHECK_EQ_INT(got[0].DST_AS, 64501);
    CHECK_EQ_INT(got[0].SRC_MASK, 24);
    CHECK_EQ_INT(got[0].DST_MASK, 16);
    CHECK_EQ_INT(got[0].ENGINE_TYPE, 1);
    CHECK_EQ_INT(got[0].ENGINE_ID, 7);
    CHECK_EQ_INT(got[0].SAMPLING_RATE, 100);
    CHECK_EQ_INT(got[0].FLOW_FLAGS, 0);
    CHECK_EQ_INT(got[0].EXPORTER, 1);
    CHECK_EQ_INT(exporter(0).domain, 0x0107);
    CHECK_EQ_INT(nexporters_announced >= 1, 1);
}

TEST(nf5_sequence_gaps_exact)
{
    wb b;
    setup(NULL);
    /* datagrams of 3 flows each; sequence counts flows. Drop the 2nd and
     * the 4th of six: 6 flows lost. */
    for (uint32_t i = 0; i < 6; i++) {
        v5(&b, i * 3, 3, 0);
        if (i == 1 || i == 3)
            continue;
        CHECK_EQ_INT(feed(A1, &b), FL_OK);
    }
    CHECK_EQ_INT(exporter(0).stats.seq_lost, 6);
    CHECK_EQ_INT(exporter(0).stats.flows, 12);
    /* the late 4th arrives: the gap it filled is given back */
    v5(&b, 9, 3, 0);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(exporter(0).stats.seq_lost, 3);
    CHECK_EQ_INT(exporter(0).stats.seq_reorder, 1);
    /* wrap around 2^32 is not a loss */
    setup(NULL);
    v5(&b, 0xfffffffeu, 2, 0);
    feed(A1, &b);
    v5(&b, 0, 2, 0);
    feed(A1, &b);
    CHECK_EQ_INT(exporter(0).stats.seq_lost, 0);
}

TEST(nf5_bad_count_rejected)
{
    wb b;
    setup(NULL);
    v5(&b, 0, 2, 0);
    patch16(&b, 2, 3); /* says 3 records, carries 2 */
    CHECK_EQ_INT(feed(A1, &b), FL_EPARSE);
    CHECK_EQ_INT(ngot, 0);
    CHECK_EQ_INT(exporter(0).stats.malformed[FL_BAD_LENGTH], 1);
    CHECK(strstr(err.where, "exporter 192.0.2.1") != NULL);
    CHECK(strstr(err.msg, "count 3") != NULL);
    b.n = 10;
    CHECK_EQ_INT(feed(A1, &b), FL_ETRUNCATED);
    CHECK_EQ_INT(fl_collect_unattributed(c), 1);
}

/* ---- NetFlow v9 --------------------------------------------------------- */

static void v9_hdr(wb *b, uint32_t seq, uint32_t source_id)
{
    b->n = 0;
    u16(b, 9); u16(b, 0); u32(b, 100000); u32(b, 1700000000); u32(b, seq); u32(b, source_id);
}

/* template 256: src, dst (v4), ports, proto, bytes, packets, first/last
 * uptime, in/out if */
static void v9_tpl256(wb *b)
{
    size_t s = mark(b);
    static const uint16_t f[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 4},
                                    {2, 4}, {22, 4}, {21, 4}, {10, 2}, {14, 2}};
    u16(b, 0); u16(b, 0);
    u16(b, 256); u16(b, 11);
    for (int i = 0; i < 11; i++) {
        u16(b, f[i][0]); u16(b, f[i][1]);
    }
    set_len_here(b, s);
}

static void v9_data256(wb *b, unsigned n, uint32_t base)
{
    size_t s = mark(b);
    u16(b, 256); u16(b, 0);
    for (unsigned i = 0; i < n; i++) {
        u32(b, base + i); u32(b, 0x08080808); u16(b, 5000 + i); u16(b, 53); u8(b, 17);
        u32(b, 100 + i); u32(b, 1); u32(b, 95000); u32(b, 99500); u16(b, 1); u16(b, 2);
    }
    while ((b->n - s) % 4)
        u8(b, 0);
    set_len_here(b, s);
}

TEST(nf9_template_data_and_unknown_sampling)
{
    wb b;
    setup(NULL);
    v9_hdr(&b, 0, 1);
    v9_tpl256(&b);
    v9_data256(&b, 3, 0x0a000001);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 3);
    CHECK_EQ_INT(fl_addr_v4(got[2].SRC_ADDR), 0x0a000003);
    CHECK_EQ_INT(got[2].SRC_PORT, 5002);
    CHECK_EQ_INT(got[0].PROTO, 17);
    CHECK_EQ_INT(got[1].BYTES, 101);
    CHECK_EQ_INT(got[0].TIME_FIRST, 1700000000000LL - 5000);
    CHECK_EQ_INT(got[0].TIME_LAST, 1700000000000LL - 500);
    CHECK_EQ_INT(got[0].IN_IF, 1);
    CHECK_EQ_INT(got[0].OUT_IF, 2);
    /* no sampling said anywhere: flagged, rate 0 */
    CHECK_EQ_INT(got[0].SAMPLING_RATE, 0);
    CHECK_EQ_INT(got[0].FLOW_FLAGS & FL_FLOW_SAMPLING_UNKNOWN, FL_FLOW_SAMPLING_UNKNOWN);
    CHECK(!has(FL_COL_IN_SRC_MAC));
    /* a configured default replaces "unknown" */
    {
        fl_collect_config cfg;
        fl_collect_config_default(&cfg);
        cfg.default_sampling = 512;
        setup(&cfg);
        feed(A1, &b);
        CHECK_EQ_INT(got[0].SAMPLING_RATE, 512);
        CHECK_EQ_INT(got[0].FLOW_FLAGS & FL_FLOW_SAMPLING_UNKNOWN, 0);
    }
}

TEST(nf9_missing_template_then_refresh_and_replacement)
{
    wb b;
    setup(NULL);
    v9_hdr(&b, 0, 1);
    v9_data256(&b, 2, 0x0a000001);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 0);
    CHECK_EQ_INT(exporter(0).stats.missing_template_sets, 1);
    v9_hdr(&b, 1, 1);
    v9_tpl256(&b);
    feed(A1, &b);
    v9_hdr(&b, 2, 1);
    v9_data256(&b, 2, 0x0a000001);
    feed(A1, &b);
    CHECK_EQ_INT(ngot, 2);
    /* replacement: id 256 now only carries a 16-byte IPv6 source + bytes(8) */
    v9_hdr(&b, 3, 1);
    {
        size_t s = mark(&b);
        u16(&b, 0); u16(&b, 0); u16(&b, 256); u16(&b, 2);
        u16(&b, 27); u16(&b, 16); u16(&b, 1); u16(&b, 8);
        set_len_here(&b, s);
        s = mark(&b);
        u16(&b, 256); u16(&b, 0);
        u32(&b, 0x20010db8); u32(&b, 0); u32(&b, 0); u32(&b, 1); u64(&b, 1ULL << 40);
        set_len_here(&b, s);
    }
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 3);
    CHECK_EQ_INT(got[2].BYTES, 1ULL << 40);
    CHECK_EQ_INT(got[2].SRC_ADDR.hi, 0x20010db800000000ULL);
    CHECK_EQ_INT(got[2].SRC_ADDR.lo, 1);
    CHECK_EQ_INT(exporter(0).templates, 1);
    CHECK_EQ_INT(exporter(0).stats.templates_seen, 2);
}

TEST(nf9_source_ids_are_separate_exporters)
{
    wb b;
    setup(NULL);
    v9_hdr(&b, 0, 1);
    v9_tpl256(&b);
    feed(A1, &b);
    v9_hdr(&b, 0, 2);
    v9_data256(&b, 1, 1);
    feed(A1, &b); /* source id 2 has no template */
    CHECK_EQ_INT(ngot, 0);
    CHECK_EQ_INT(fl_collect_exporter_count(c), 2);
    CHECK_EQ_INT(exporter(1).stats.missing_template_sets, 1);
    v9_hdr(&b, 1, 1);
    v9_data256(&b, 1, 1);
    feed(A1, &b);
    v9_hdr(&b, 0, 1);
    v9_data256(&b, 1, 1);
    feed(A2, &b); /* another address, same source id: another exporter */
    CHECK_EQ_INT(ngot, 1);
    CHECK_EQ_INT(got[0].EXPORTER, 1);
    CHECK_EQ_INT(fl_collect_exporter_count(c), 3);
}

TEST(nf9_sequence_counts_datagrams)
{
    wb b;
    setup(NULL);
    v9_hdr(&b, 0, 1);
    v9_tpl256(&b);
    feed(A1, &b);
    for (uint32_t s = 1; s <= 10; s++) {
        if (s == 4 || s == 5 || s == 9)
            continue;
        v9_hdr(&b, s, 1);
        v9_data256(&b, 5, 1);
        feed(A1, &b);
    }
    CHECK_EQ_INT(exporter(0).stats.seq_lost, 3);
    CHECK_EQ_INT(exporter(0).stats.flows, 35);
}

static void v9_sampling_options(wb *b)
{
    size_t s = mark(b);
    /* options template 300: scope system(1)/4, fields 48 sampler id (1),
     * 50 random interval (4) */
    u16(b, 1); u16(b, 0); u16(b, 300); u16(b, 4); u16(b, 8);
    u16(b, 1); u16(b, 4); u16(b, 48); u16(b, 1); u16(b, 50); u16(b, 4);
    while ((b->n - s) % 4)
        u8(b, 0);
    set_len_here(b, s);
    s = mark(b);
    u16(b, 300); u16(b, 0);
    u32(b, 0); u8(b, 1); u32(b, 100);
    u32(b, 0); u8(b, 2); u32(b, 1000);
    while ((b->n - s) % 4)
        u8(b, 0);
    set_len_here(b, s);
}

TEST(nf9_sampling_per_sampler_id)
{
    wb b;
    setup(NULL);
    v9_hdr(&b, 0, 1);
    v9_sampling_options(&b);
    /* template 257: src addr + sampler id */
    {
        size_t s = mark(&b);
        u16(&b, 0); u16(&b, 0); u16(&b, 257); u16(&b, 2);
        u16(&b, 8); u16(&b, 4); u16(&b, 48); u16(&b, 1);
        set_len_here(&b, s);
        s = mark(&b);
        u16(&b, 257); u16(&b, 0);
        u32(&b, 1); u8(&b, 2);
        u32(&b, 2); u8(&b, 1);
        u32(&b, 3); u8(&b, 9); /* unknown sampler */
        while ((b.n - s) % 4)
            u8(&b, 0);
        set_len_here(&b, s);
    }
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 3);
    CHECK_EQ_INT(got[0].SAMPLING_RATE, 1000);
    CHECK_EQ_INT(got[1].SAMPLING_RATE, 100);
    CHECK_EQ_INT(got[2].SAMPLING_RATE, 0);
    CHECK_EQ_INT(got[2].FLOW_FLAGS & FL_FLOW_SAMPLING_UNKNOWN, FL_FLOW_SAMPLING_UNKNOWN);
    CHECK_EQ_INT(exporter(0).stats.option_records, 2);
}

/* ---- IPFIX -------------------------------------------------------------- */

static size_t ipfix_hdr(wb *b, uint32_t seq, uint32_t domain)
{
    b->n = 0;
    u16(b, 10); u16(b, 0); u32(b, 1700000000); u32(b, seq); u32(b, domain);
    return 0;
}

static void ipfix_end(wb *b)
{
    patch16(b, 2, (unsigned)b->n);
}

/* template 400: every time encoding and the kinds of fields */
static void ipfix_tpl400(wb *b)
{
    size_t s = mark(b);
    u16(b, 2); u16(b, 0);
    u16(b, 400); u16(b, 15);
    u16(b, 27); u16(b, 16);                 /* src v6 */
    u16(b, 12); u16(b, 4);                  /* dst v4 */
    u16(b, 0x8000 | 100); u16(b, 4); u32(b, 9); /* enterprise field, skipped */
    u16(b, 150); u16(b, 4);                 /* start seconds */
    u16(b, 153); u16(b, 8);                 /* end ms */
    u16(b, 85); u16(b, 8);                  /* total octets */
    u16(b, 2); u16(b, 2);                   /* packets, reduced size */
    u16(b, 56); u16(b, 6);                  /* src mac */
    u16(b, 70); u16(b, 3);                  /* mpls top label */
    u16(b, 82); u16(b, 0xffff);             /* a variable-length string */
    u16(b, 139); u16(b, 2);                 /* ICMPv6 type/code */
    u16(b, 58); u16(b, 2);                  /* vlan */
    u16(b, 136); u16(b, 1);                 /* end reason */
    u16(b, 225); u16(b, 4);                 /* NAT src */
    u16(b, 302); u16(b, 4);                 /* selector id */
    set_len_here(b, s);
}

static void ipfix_rec400(wb *b, const char *name)
{
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};
    bytes(b, v6, 16);
    u32(b, 0xc6336401);
    u32(b, 0xdeadbeef);
    u32(b, 1700000000 - 60);
    u64(b, 1700000000000ULL - 1500);
    u64(b, 123456789012ULL);
    u16(b, 77);
    bytes(b, "\x00\x11\x22\x33\x44\x55", 6);
    u8(b, 0x01); u8(b, 0x2c); u8(b, 0x31); /* label 0x012c3, exp 0, bos 1 */
    u8(b, (unsigned)strlen(name));
    bytes(b, name, strlen(name));
    u16(b, 0x8000 | 3);
    u16(b, 42);
    u8(b, 3);
    u32(b, 0xcb007101);
    u32(b, 5);
}

TEST(ipfix_fields_varlen_enterprise)
{
    wb b;
    setup(NULL);
    ipfix_hdr(&b, 0, 77);
    ipfix_tpl400(&b);
    {
        size_t s = mark(&b);
        u16(&b, 400); u16(&b, 0);
        ipfix_rec400(&b, "eth0");
        ipfix_rec400(&b, "a-longer-name");
        set_len_here(&b, s);
    }
    ipfix_end(&b);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 2);
    CHECK_EQ_INT(got[0].SRC_ADDR.hi, 0x20010db800000000ULL);
    CHECK_EQ_INT(got[0].SRC_ADDR.lo, 7);
    CHECK_EQ_INT(fl_addr_v4(got[1].DST_ADDR), 0xc6336401);
    CHECK_EQ_INT(got[0].TIME_FIRST, (1700000000LL - 60) * 1000);
    CHECK_EQ_INT(got[0].TIME_LAST, 1700000000000LL - 1500);
    CHECK_EQ_INT(got[1].BYTES, 123456789012ULL);
    CHECK_EQ_INT(got[1].PACKETS, 77);
    CHECK_EQ_INT(got[0].IN_SRC_MAC, 0x001122334455ULL);
    CHECK_EQ_INT(got[0].MPLS_LABEL1, 0x012c31);
    CHECK_EQ_INT(got[1].ICMP_TYPE, 128);
    CHECK_EQ_INT(got[1].ICMP_CODE, 3);
    CHECK_EQ_INT(got[0].SRC_VLAN, 42);
    CHECK_EQ_INT(got[0].END_REASON, 3);
    CHECK_EQ_INT(fl_addr_v4(got[0].XLATE_SRC_ADDR), 0xcb007101);
    CHECK_EQ_INT(exporter(0).domain, 77);
    CHECK_EQ_INT(exporter(0).proto, FL_PROTO_IPFIX);
}

/* one record per time encoding pair; returns flows' (first, last) */
static void ipfix_time(uint16_t ie_s, uint16_t ie_e, int len, uint64_t vs, uint64_t ve,
                       fl_time *first, fl_time *last)
{
    wb b;
    setup(NULL);
    ipfix_hdr(&b, 0, 1);
    size_t s = mark(&b);
    u16(&b, 2); u16(&b, 0); u16(&b, 500); u16(&b, 3);
    u16(&b, 160); u16(&b, 8); u16(&b, ie_s); u16(&b, (unsigned)len); u16(&b, ie_e); u16(&b, (unsigned)len);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 500); u16(&b, 0);
    u64(&b, 1699990000000ULL); /* system init time */
    if (len == 8) { u64(&b, vs); u64(&b, ve); } else { u32(&b, (uint32_t)vs); u32(&b, (uint32_t)ve); }
    set_len_here(&b, s);
    ipfix_end(&b);
    feed(A1, &b);
    *first = ngot ? got[0].TIME_FIRST : -1;
    *last = ngot ? got[0].TIME_LAST : -1;
}

TEST(ipfix_time_encodings)
{
    fl_time f, l;
    const uint64_t ntp = 2208988800ULL;
    ipfix_time(150, 151, 4, 1699999000, 1699999010, &f, &l);
    CHECK_EQ_INT(f, 1699999000000LL);
    CHECK_EQ_INT(l, 1699999010000LL);
    ipfix_time(152, 153, 8, 1699999000123ULL, 1699999000456ULL, &f, &l);
    CHECK_EQ_INT(f, 1699999000123LL);
    CHECK_EQ_INT(l, 1699999000456LL);
    /* micro/nanoseconds: NTP format, seconds since 1900 + binary fraction */
    ipfix_time(154, 155, 8, (1699999000 + ntp) << 32 | 0x80000000u, (1699999001 + ntp) << 32,
               &f, &l);
    CHECK_EQ_INT(f, 1699999000500LL);
    CHECK_EQ_INT(l, 1699999001000LL);
    ipfix_time(156, 157, 8, (1699999002 + ntp) << 32 | 0x40000000u, (1699999003 + ntp) << 32,
               &f, &l);
    CHECK_EQ_INT(f, 1699999002250LL);
    CHECK_EQ_INT(l, 1699999003000LL);
    /* sysUpTime relative to systemInitTimeMilliseconds (160) */
    ipfix_time(22, 21, 4, 5000, 7000, &f, &l);
    CHECK_EQ_INT(f, 1699990005000LL);
    CHECK_EQ_INT(l, 1699990007000LL);
    /* delta microseconds before the export time */
    ipfix_time(158, 159, 4, 3000000, 1000000, &f, &l);
    CHECK_EQ_INT(f, 1700000000000LL - 3000);
    CHECK_EQ_INT(l, 1700000000000LL - 1000);
}

TEST(ipfix_duration_and_missing_times)
{
    wb b;
    setup(NULL);
    ipfix_hdr(&b, 0, 1);
    size_t s = mark(&b);
    u16(&b, 2); u16(&b, 0); u16(&b, 501); u16(&b, 2);
    u16(&b, 152); u16(&b, 8); u16(&b, 161); u16(&b, 4);
    u16(&b, 502); u16(&b, 1); u16(&b, 4); u16(&b, 1);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 501); u16(&b, 0); u64(&b, 1699999000000ULL); u32(&b, 2500);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 502); u16(&b, 0); u8(&b, 6);
    set_len_here(&b, s);
    ipfix_end(&b);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 2);
    CHECK_EQ_INT(got[0].TIME_LAST, 1699999002500LL);
    /* no time at all: export time, flagged as estimated */
    CHECK_EQ_INT(got[1].TIME_FIRST, 1700000000000LL);
    CHECK_EQ_INT(got[1].FLOW_FLAGS & FL_FLOW_TIME_ESTIMATED, FL_FLOW_TIME_ESTIMATED);
}

TEST(ipfix_withdrawal_and_options_sampling)
{
    wb b;
    setup(NULL);
    ipfix_hdr(&b, 0, 1);
    ipfix_tpl400(&b);
    /* options template 600: scope selectorId(302), then 305/306 */
    size_t s = mark(&b);
    u16(&b, 3); u16(&b, 0); u16(&b, 600); u16(&b, 3); u16(&b, 1);
    u16(&b, 302); u16(&b, 4); u16(&b, 305); u16(&b, 4); u16(&b, 306); u16(&b, 4);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 600); u16(&b, 0); u32(&b, 5); u32(&b, 1); u32(&b, 99);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 400); u16(&b, 0); ipfix_rec400(&b, "x");
    set_len_here(&b, s);
    ipfix_end(&b);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(ngot, 1);
    CHECK_EQ_INT(got[0].SAMPLING_RATE, 100); /* 1 taken, 99 skipped */
    CHECK_EQ_INT(exporter(0).sampling_rate, 100);
    /* withdraw 400 */
    ipfix_hdr(&b, 2, 1);
    s = mark(&b);
    u16(&b, 2); u16(&b, 0); u16(&b, 400); u16(&b, 0);
    set_len_here(&b, s);
    ipfix_end(&b);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(exporter(0).stats.templates_withdrawn, 1);
    ipfix_hdr(&b, 2, 1);
    s = mark(&b);
    u16(&b, 400); u16(&b, 0); ipfix_rec400(&b, "x");
    set_len_here(&b, s);
    ipfix_end(&b);
    feed(A1, &b);
    CHECK_EQ_INT(ngot, 1);
    CHECK_EQ_INT(exporter(0).stats.missing_template_sets, 1);
}

TEST(ipfix_sequence_counts_records)
{
    wb b;
    uint32_t seq = 0;
    setup(NULL);
    ipfix_hdr(&b, 0, 1);
    ipfix_tpl400(&b);
    ipfix_end(&b);
    feed(A1, &b);
    for (int i = 0; i < 8; i++) {
        ipfix_hdr(&b, seq, 1);
        size_t s = mark(&b);
        u16(&b, 400); u16(&b, 0);
        for (int r = 0; r < 1 + i % 3; r++)
            ipfix_rec400(&b, "n");
        set_len_here(&b, s);
        ipfix_end(&b);
        seq += (uint32_t)(1 + i % 3);
        if (i == 2 || i == 6)
            continue; /* dropped: 3 + 1 records */
        feed(A1, &b);
    }
    CHECK_EQ_INT(exporter(0).stats.seq_lost, 4);
}

/* ---- malformed input, each reason --------------------------------------- */

TEST(malformed_reasons)
{
    wb b;
    fl_collect_config cfg;
    setup(NULL);
    b.n = 0;
    u16(&b, 7); u16(&b, 0); u32(&b, 0);
    CHECK_EQ_INT(feed(A1, &b), FL_EPARSE);
    CHECK(strstr(err.msg, "version") != NULL);
    /* set longer than the datagram */
    v9_hdr(&b, 0, 1);
    u16(&b, 256); u16(&b, 400); u32(&b, 0);
    CHECK_EQ_INT(feed(A1, &b), FL_EPARSE);
    CHECK_EQ_INT(exporter(0).stats.malformed[FL_BAD_SET], 1);
    /* template: absurd field count, then an id below 256 */
    v9_hdr(&b, 1, 1);
    u16(&b, 0); u16(&b, 8); u16(&b, 256); u16(&b, 5000);
    CHECK_EQ_INT(feed(A1, &b), FL_EPARSE);
    v9_hdr(&b, 2, 1);
    u16(&b, 0); u16(&b, 12); u16(&b, 12); u16(&b, 1); u16(&b, 8); u16(&b, 4);
    CHECK_EQ_INT(feed(A1, &b), FL_EPARSE);
    CHECK_EQ_INT(exporter(0).stats.malformed[FL_BAD_TEMPLATE], 2);
    CHECK(strstr(err.where, "template 12") != NULL);
    /* record: a variable-length field that overruns its set */
    ipfix_hdr(&b, 0, 1);
    size_t s = mark(&b);
    u16(&b, 2); u16(&b, 0); u16(&b, 700); u16(&b, 1); u16(&b, 82); u16(&b, 0xffff);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 700); u16(&b, 0); u8(&b, 200); bytes(&b, "abc", 3);
    set_len_here(&b, s);
    ipfix_end(&b);
    CHECK_EQ_INT(feed(A1, &b), FL_ETRUNCATED);
    CHECK_EQ_INT(exporter(1).stats.malformed[FL_BAD_RECORD], 1);
    CHECK_EQ_INT(ngot, 0);
    /* IPFIX length beyond the datagram */
    ipfix_hdr(&b, 0, 1);
    patch16(&b, 2, 100);
    CHECK_EQ_INT(feed(A1, &b), FL_EPARSE);
    CHECK_EQ_INT(exporter(1).stats.malformed[FL_BAD_LENGTH], 1);
    /* sFlow sample length beyond the datagram */
    b.n = 0;
    u32(&b, 5); u32(&b, 1); u32(&b, 0x7f000001); u32(&b, 0); u32(&b, 1); u32(&b, 1000);
    u32(&b, 1); u32(&b, 1); u32(&b, 500);
    CHECK_EQ_INT(feed(A1, &b), FL_EPARSE);
    CHECK_EQ_INT(exporter(2).stats.malformed[FL_BAD_SAMPLE], 1);
    /* limit: one template per exporter */
    fl_collect_config_default(&cfg);
    cfg.max_templates = 1;
    setup(&cfg);
    v9_hdr(&b, 0, 1);
    v9_tpl256(&b);
    s = mark(&b);
    u16(&b, 0); u16(&b, 0); u16(&b, 257); u16(&b, 1); u16(&b, 8); u16(&b, 4);
    set_len_here(&b, s);
    CHECK_EQ_INT(feed(A1, &b), FL_ELIMIT);
    CHECK_EQ_INT(exporter(0).stats.malformed[FL_BAD_LIMIT], 1);
    /* rejected: not in the allowed networks */
    {
        fl_prefix p;
        fl_prefix_parse("10.0.0.0/8", 10, 0, &p, NULL);
        fl_collect_config_default(&cfg);
        cfg.allow = &p;
        cfg.nallow = 1;
        setup(&cfg);
        v9_hdr(&b, 0, 1);
        v9_tpl256(&b);
        CHECK_EQ_INT(feed(A1, &b), FL_EINVAL);
        CHECK_EQ_INT(fl_collect_exporter_count(c), 0);
        CHECK_EQ_INT(fl_collect_unattributed(c), 1);
        CHECK_EQ_INT(feed(fl_addr_from_v4(0x0a010101), &b), FL_OK);
        CHECK_EQ_INT(fl_collect_exporter_count(c), 1);
    }
}

/* ---- sFlow -------------------------------------------------------------- */

static void sflow_hdr(wb *b, uint32_t seq, unsigned nsamples)
{
    b->n = 0;
    u32(b, 5); u32(b, 1); u32(b, 0x0a0a0a0a); u32(b, 3); u32(b, seq); u32(b, 1000); u32(b, nsamples);
}

static void sflow_flow_sample(wb *b, const uint8_t *hdr, size_t hlen, uint32_t frame_len)
{
    size_t s = mark(b), r;
    u32(b, 1); u32(b, 0);
    u32(b, 1); u32(b, 7); u32(b, 2048); u32(b, 100000); u32(b, 0); u32(b, 7); u32(b, 9);
    u32(b, 3);
    /* raw header */
    u32(b, 1); r = mark(b); u32(b, 0);
    u32(b, 1); u32(b, frame_len); u32(b, 4); u32(b, (uint32_t)hlen);
    bytes(b, hdr, hlen);
    while ((b->n - r) % 4)
        u8(b, 0);
    b->p[r + 2] = (uint8_t)((b->n - r - 4) >> 8);
    b->p[r + 3] = (uint8_t)(b->n - r - 4);
    /* extended router */
    u32(b, 1002); u32(b, 16); u32(b, 1); u32(b, 0x0a000001); u32(b, 24); u32(b, 16);
    /* extended gateway: AS path 64501 64502 */
    u32(b, 1003); u32(b, 48); u32(b, 1); u32(b, 0x0a000002); u32(b, 64500); u32(b, 64499);
    u32(b, 64498); u32(b, 1); u32(b, 2); u32(b, 2); u32(b, 64501); u32(b, 64502); u32(b, 0);
    u32(b, 100);
    b->p[s + 6] = (uint8_t)((b->n - s - 8) >> 8);
    b->p[s + 7] = (uint8_t)(b->n - s - 8);
}

TEST(sflow_raw_headers_and_counters)
{
    /* Ethernet, 802.1Q 100, 802.1ad inner 200 (QinQ), MPLS 2 labels, IPv4, TCP */
    static const uint8_t h1[] = {
        0x00, 0x11, 0x11, 0x11, 0x11, 0x11, 0x00, 0x22, 0x22, 0x22, 0x22, 0x22, 0x88, 0xa8,
        0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02,
        0x01, 0x40, 0x45, 0x10, 0x00, 0x28, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198,
        51, 100, 2, 0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x12, 0, 0};
    /* Ethernet, IPv6 with a hop-by-hop header, UDP */
    static const uint8_t h2[] = {
        0x00, 0x11, 0x11, 0x11, 0x11, 0x11, 0x00, 0x22, 0x22, 0x22, 0x22, 0x22, 0x86, 0xdd,
        0x60, 0x00, 0, 0, 0, 16, 0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 1, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 17, 0, 1, 4,
        0, 0, 0, 0, 0x00, 0x35, 0x04, 0xd2, 0, 8, 0, 0};
    wb b;
    setup(NULL);
    sflow_hdr(&b, 1, 3);
    sflow_flow_sample(&b, h1, sizeof h1, 1500);
    sflow_flow_sample(&b, h2, sizeof h2, 90);
    /* counter sample with generic interface counters */
    {
        size_t s = mark(&b);
        u32(&b, 2); u32(&b, 0); u32(&b, 1); u32(&b, 7); u32(&b, 1);
        u32(&b, 1); u32(&b, 88);
        u32(&b, 7); u32(&b, 6); u64(&b, 10000000000ULL); u32(&b, 1); u32(&b, 3);
        u64(&b, 123456); u32(&b, 10); u32(&b, 0); u32(&b, 0); u32(&b, 0); u32(&b, 0); u32(&b, 0);
        u64(&b, 654321); u32(&b, 20); u32(&b, 0); u32(&b, 0); u32(&b, 0); u32(&b, 0); u32(&b, 0);
        b.p[s + 6] = (uint8_t)((b.n - s - 8) >> 8);
        b.p[s + 7] = (uint8_t)(b.n - s - 8);
    }
    CHECK_EQ_INT(feed(A2, &b), FL_OK);
    CHECK_EQ_INT(ngot, 2);
    CHECK_EQ_INT(got[0].IN_DST_MAC, 0x001111111111ULL);
    CHECK_EQ_INT(got[0].IN_SRC_MAC, 0x002222222222ULL);
    CHECK_EQ_INT(got[0].SRC_VLAN, 100);
    CHECK_EQ_INT(got[0].MPLS_LABEL1, 0x000100); /* label 16, exp 0, not bottom */
    CHECK_EQ_INT(fl_addr_v4(got[0].SRC_ADDR), 0xc0000201);
    CHECK_EQ_INT(fl_addr_v4(got[0].DST_ADDR), 0xc6336402);
    CHECK_EQ_INT(got[0].SRC_TOS, 0x10);
    CHECK_EQ_INT(got[0].PROTO, 6);
    CHECK_EQ_INT(got[0].SRC_PORT, 12345);
    CHECK_EQ_INT(got[0].DST_PORT, 443);
    CHECK_EQ_INT(got[0].TCP_FLAGS, 0x12);
    CHECK_EQ_INT(got[0].BYTES, 1500);
    CHECK_EQ_INT(got[0].PACKETS, 1);
    CHECK_EQ_INT(got[0].SAMPLING_RATE, 2048);
    CHECK_EQ_INT(got[0].IN_IF, 7);
    CHECK_EQ_INT(got[0].OUT_IF, 9);
    CHECK_EQ_INT(fl_addr_v4(got[0].NEXT_HOP), 0x0a000001);
    CHECK_EQ_INT(got[0].SRC_MASK, 24);
    CHECK_EQ_INT(fl_addr_v4(got[0].BGP_NEXT_HOP), 0x0a000002);
    CHECK_EQ_INT(got[0].SRC_AS, 64499);
    CHECK_EQ_INT(got[0].DST_AS, 64502);
    CHECK_EQ_INT(got[0].NEXT_AS, 64501);
    CHECK_EQ_INT(got[0].FLOW_FLAGS, FL_FLOW_TIME_ESTIMATED);
    CHECK_EQ_INT(got[1].SRC_ADDR.hi, 0x20010db800000000ULL);
    CHECK_EQ_INT(got[1].DST_ADDR.lo, 2);
    CHECK_EQ_INT(got[1].PROTO, 17);
    CHECK_EQ_INT(got[1].SRC_PORT, 53);
    CHECK_EQ_INT(got[1].DST_PORT, 1234);
    CHECK_EQ_INT(exporter(0).stats.counter_samples, 1);
    CHECK_EQ_INT(exporter(0).domain, 3);
    CHECK_EQ_INT(fl_addr_v4(exporter(0).addr), 0x0a0a0a0a);
    /* sequence: datagrams; 2 and 3 lost */
    sflow_hdr(&b, 4, 0);
    feed(A2, &b);
    CHECK_EQ_INT(exporter(0).stats.seq_lost, 2);
}

/* ---- persistence -------------------------------------------------------- */

TEST(templates_survive_restart)
{
    char path[] = "/tmp/fl-tpl-XXXXXX";
    int fd = mkstemp(path);
    fl_collect_config cfg;
    wb b;
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    fl_collect_config_default(&cfg);
    cfg.template_file = path;
    setup(&cfg);
    v9_hdr(&b, 0, 1);
    v9_tpl256(&b);
    v9_sampling_options(&b);
    feed(A1, &b);
    ipfix_hdr(&b, 0, 9);
    ipfix_tpl400(&b);
    ipfix_end(&b);
    feed(A2, &b);
    CHECK_EQ_INT(fl_collect_save(c, NULL, &err), FL_OK);
    /* "restart": a new collector; data decodes at once */
    setup(&cfg);
    CHECK_EQ_INT(fl_collect_exporter_count(c), 2);
    v9_hdr(&b, 1, 1);
    v9_data256(&b, 2, 0x0a000009);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    ipfix_hdr(&b, 1, 9);
    {
        size_t s = mark(&b);
        u16(&b, 400); u16(&b, 0); ipfix_rec400(&b, "after restart");
        set_len_here(&b, s);
    }
    ipfix_end(&b);
    CHECK_EQ_INT(feed(A2, &b), FL_OK);
    CHECK_EQ_INT(ngot, 3);
    CHECK_EQ_INT(fl_addr_v4(got[1].SRC_ADDR), 0x0a00000a);
    CHECK_EQ_INT(got[2].BYTES, 123456789012ULL);
    CHECK_EQ_INT(exporter(0).stats.missing_template_sets, 0);
    /* the exporter ids are those of before */
    CHECK_EQ_INT(got[0].EXPORTER, 1);
    CHECK_EQ_INT(got[2].EXPORTER, 2);
    /* a damaged file is reported and ignored */
    {
        FILE *f = fopen(path, "r+b");
        CHECK(f != NULL);
        fseek(f, 20, SEEK_SET);
        fputc(0x5a, f);
        fclose(f);
        fl_collect_sink s = {NULL, cap_batch, NULL, NULL, NULL};
        fl_collect *c2;
        fl_err e2;
        fl_err_clear(&e2);
        c2 = fl_collect_new(&cfg, &s, &e2);
        CHECK(c2 != NULL);
        CHECK_EQ_INT(e2.rc, FL_ECORRUPT);
        CHECK_EQ_INT(fl_collect_exporter_count(c2), 0);
        fl_collect_free(c2);
    }
    unlink(path);
}

TEST(interface_and_vrf_names)
{
    wb b;
    char name[64];
    setup(NULL);
    ipfix_hdr(&b, 0, 1);
    size_t s = mark(&b);
    u16(&b, 3); u16(&b, 0); u16(&b, 800); u16(&b, 2); u16(&b, 1);
    u16(&b, 10); u16(&b, 4); u16(&b, 82); u16(&b, 0xffff);
    u16(&b, 801); u16(&b, 2); u16(&b, 1);
    u16(&b, 234); u16(&b, 4); u16(&b, 236); u16(&b, 0xffff);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 800); u16(&b, 0); u32(&b, 3); u8(&b, 5); bytes(&b, "ge0/1", 5);
    set_len_here(&b, s);
    s = mark(&b);
    u16(&b, 801); u16(&b, 0); u32(&b, 42); u8(&b, 4); bytes(&b, "blue", 4);
    set_len_here(&b, s);
    ipfix_end(&b);
    CHECK_EQ_INT(feed(A1, &b), FL_OK);
    CHECK_EQ_INT(fl_collect_ifname(c, 1, 3, name, sizeof name), FL_OK);
    CHECK_STR(name, "ge0/1");
    CHECK_EQ_INT(fl_collect_vrfname(c, 1, 42, name, sizeof name), FL_OK);
    CHECK_STR(name, "blue");
    CHECK_EQ_INT(fl_collect_ifname(c, 1, 4, name, sizeof name), FL_ENOTFOUND);
}

static fl_rc refuse_batch(void *ctx, const fl_batch *b)
{
    (void)ctx;
    (void)b;
    return FL_ELIMIT;
}

TEST(sink_refusal_counted_as_drops)
{
    fl_collect_sink s = {NULL, refuse_batch, NULL, NULL, NULL};
    fl_collect *c2 = fl_collect_new(NULL, &s, &err);
    fl_collect_worker *w2 = fl_collect_worker_new_cap(c2, 4);
    fl_collect_exporter x;
    wb b;
    v5(&b, 0, 10, 0);
    /* 10 flows through a 4-row batch: full batches go to the sink, which
     * refuses them; every refused row is a queue drop of the exporter */
    CHECK_EQ_INT(fl_collect_datagram(w2, A1, 2055, b.p, b.n, 0, &err), FL_OK);
    CHECK(fl_collect_worker_flush(w2) != FL_OK);
    CHECK_EQ_INT(fl_collect_exporter_get(c2, 0, &x), FL_OK);
    CHECK_EQ_INT(x.stats.flows, 10);
    CHECK_EQ_INT(x.stats.queue_drops, 10);
    fl_collect_worker_free(w2);
    fl_collect_free(c2);
}

int main(void)
{
    fl_log_set_level(FL_LOG_ERROR);
    RUN(nf5_columns_and_sampling);
    RUN(nf5_sequence_gaps_exact);
    RUN(nf5_bad_count_rejected);
    RUN(nf9_template_data_and_unknown_sampling);
    RUN(nf9_missing_template_then_refresh_and_replacement);
    RUN(nf9_source_ids_are_separate_exporters);
    RUN(nf9_sequence_counts_datagrams);
    RUN(nf9_sampling_per_sampler_id);
    RUN(ipfix_fields_varlen_enterprise);
    RUN(ipfix_time_encodings);
    RUN(ipfix_duration_and_missing_times);
    RUN(ipfix_withdrawal_and_options_sampling);
    RUN(ipfix_sequence_counts_records);
    RUN(malformed_reasons);
    RUN(sflow_raw_headers_and_counters);
    RUN(templates_survive_restart);
    RUN(interface_and_vrf_names);
    RUN(sink_refusal_counted_as_drops);
    fl_collect_worker_free(w);
    fl_collect_free(c);
    TEST_EXIT();
}
