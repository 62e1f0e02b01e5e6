/* tests/gen/test_export.c — the export encoders, decoded back by hand.
 *
 * A small independent reader for each protocol parses the datagrams the
 * encoders wrote (v9/IPFIX through the templates found in the datagrams
 * themselves) and compares every field with the batch row it came from;
 * headers, sequence numbers, template refresh, size limits, determinism and
 * the error paths are checked too. */
#include "gen/gen.h"
#include "test.h"

#define BOOT 1714518000000LL /* 2024-04-30T23:00Z: an hour before the flows */

static uint32_t g16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t g32(const uint8_t *p) { return g16(p) << 16 | g16(p + 2); }
static uint64_t gn(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static fl_batch *flows(uint64_t n, double v6, uint32_t sampling)
{
    fl_gen_config c;
    fl_gen *g;
    fl_batch *b = fl_batch_new((uint32_t)n);

    fl_gen_config_default(&c);
    c.seed = 11;
    c.start = BOOT + 3600000;
    c.end = c.start + 600000;
    c.flows = n;
    c.exporters = 1;
    c.ipv6_share = v6;
    c.sampling = sampling;
    g = fl_gen_new(&c);
    if (g == NULL || b == NULL || fl_gen_next(g, b, (uint32_t)n) != n) {
        fl_gen_free(g);
        fl_batch_free(b);
        return NULL;
    }
    fl_gen_free(g);
    return b;
}

static fl_gen_exporter *exporter(fl_gen_proto p, uint32_t sampling, uint32_t tpl_every)
{
    fl_gen_export_config xc = {p, 7, BOOT, sampling, tpl_every, 0};
    return fl_gen_exporter_new(&xc);
}

static uint32_t *all_rows(const fl_batch *b)
{
    uint32_t *r = malloc(b->n * sizeof *r);
    for (uint32_t i = 0; r && i < b->n; i++)
        r[i] = i;
    return r;
}

static int is_v4(const fl_batch *b, uint32_t r)
{
    return fl_addr_is_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]) &&
           fl_addr_is_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r]);
}

TEST(v5_decodes_back)
{
    fl_batch *b = flows(1000, 0.3, 1);
    uint32_t *rows = b ? all_rows(b) : NULL;
    fl_gen_exporter *x = exporter(FL_GEN_V5, 1, 0);
    uint8_t buf[2048];
    uint32_t off = 0, seq = 0, v4 = 0, recs = 0;
    fl_gen_export_stats st;

    CHECK(b && rows && x);
    for (uint32_t r = 0; r < b->n; r++)
        v4 += (uint32_t)is_v4(b, r);
    while (off < b->n) {
        uint32_t used = 0, cnt;
        fl_err e;
        size_t len = fl_gen_export_next(x, b, rows + off, b->n - off, buf, sizeof buf, &used, &e);
        CHECK(used > 0);
        if (len == 0) {
            off += used;
            continue;
        }
        cnt = g16(buf + 2);
        CHECK_EQ_INT(g16(buf), 5);
        CHECK(cnt >= 1 && cnt <= 30);
        CHECK_EQ_INT(len, 24 + 48 * cnt);
        CHECK_EQ_INT(g32(buf + 16), seq); /* flows sent before */
        CHECK_EQ_INT(buf[20], 0);         /* engine type: exporter >> 8 */
        CHECK_EQ_INT(buf[21], 7);         /* engine id = exporter & 255 */
        {
            /* boot = unix time - uptime, exactly */
            int64_t now = (int64_t)g32(buf + 8) * 1000 + g32(buf + 12) / 1000000;
            CHECK_EQ_INT(now - g32(buf + 4), BOOT);
        }
        for (uint32_t k = 0, i = off; k < cnt; i++) {
            const uint8_t *rec = buf + 24 + 48 * k;
            uint32_t r = rows[i];
            CHECK(i < off + used);
            if (!is_v4(b, r))
                continue;
            CHECK_EQ_INT(g32(rec), fl_addr_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]));
            CHECK_EQ_INT(g32(rec + 4), fl_addr_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r]));
            CHECK_EQ_INT(g16(rec + 12), FL_U32(b, FL_COL_IN_IF)[r]);
            CHECK_EQ_INT(g16(rec + 14), FL_U32(b, FL_COL_OUT_IF)[r]);
            CHECK_EQ_INT(g32(rec + 16), FL_U64(b, FL_COL_PACKETS)[r]);
            {
                uint64_t by = FL_U64(b, FL_COL_BYTES)[r];
                CHECK_EQ_INT(g32(rec + 20), by > 0xffffffffu ? 0xffffffffu : by);
            }
            CHECK_EQ_INT(g32(rec + 24), FL_TIMES(b, FL_COL_TIME_FIRST)[r] - BOOT);
            CHECK_EQ_INT(g32(rec + 28), FL_TIMES(b, FL_COL_TIME_LAST)[r] - BOOT);
            CHECK_EQ_INT(g16(rec + 32), FL_U16(b, FL_COL_SRC_PORT)[r]);
            CHECK_EQ_INT(g16(rec + 34), FL_U16(b, FL_COL_DST_PORT)[r]);
            CHECK_EQ_INT(rec[37], FL_U8(b, FL_COL_TCP_FLAGS)[r]);
            CHECK_EQ_INT(rec[38], FL_U8(b, FL_COL_PROTO)[r]);
            CHECK_EQ_INT(rec[39], FL_U8(b, FL_COL_SRC_TOS)[r]);
            {
                uint32_t sas = FL_U32(b, FL_COL_SRC_AS)[r];
                CHECK_EQ_INT(g16(rec + 40), sas > 65535 ? 23456 : sas);
            }
            CHECK_EQ_INT(rec[44], FL_U8(b, FL_COL_SRC_MASK)[r]);
            CHECK_EQ_INT(rec[45], FL_U8(b, FL_COL_DST_MASK)[r]);
            k++;
        }
        seq += cnt;
        recs += cnt;
        off += used;
    }
    CHECK_EQ_INT(recs, v4);
    fl_gen_exporter_stats(x, &st);
    CHECK_EQ_INT(st.flows, v4);
    CHECK_EQ_INT(st.skipped, b->n - v4);
    CHECK(st.skipped > 0);
    free(rows);
    fl_gen_exporter_free(x);
    fl_batch_free(b);
}

/* A template as found in a datagram. */
typedef struct tpl {
    uint16_t id, n, scope;
    uint16_t ie[64], len[64];
} tpl;

/* Compare one decoded data record with row r. */
static void check_record(const fl_batch *b, uint32_t r, const tpl *t, const uint8_t *p, int ipfix)
{
    for (uint16_t i = 0; i < t->n; i++) {
        uint64_t v = gn(p, t->len[i] > 8 ? 8 : t->len[i]);
        switch (t->ie[i]) {
        case 1: CHECK_EQ_INT(v, FL_U64(b, FL_COL_BYTES)[r]); break;
        case 2: CHECK_EQ_INT(v, FL_U64(b, FL_COL_PACKETS)[r]); break;
        case 4: CHECK_EQ_INT(v, FL_U8(b, FL_COL_PROTO)[r]); break;
        case 7: CHECK_EQ_INT(v, FL_U16(b, FL_COL_SRC_PORT)[r]); break;
        case 11: CHECK_EQ_INT(v, FL_U16(b, FL_COL_DST_PORT)[r]); break;
        case 10: CHECK_EQ_INT(v, FL_U32(b, FL_COL_IN_IF)[r]); break;
        case 14: CHECK_EQ_INT(v, FL_U32(b, FL_COL_OUT_IF)[r]); break;
        case 16: CHECK_EQ_INT(v, FL_U32(b, FL_COL_SRC_AS)[r]); break;
        case 17: CHECK_EQ_INT(v, FL_U32(b, FL_COL_DST_AS)[r]); break;
        case 9: case 29: CHECK_EQ_INT(v, FL_U8(b, FL_COL_SRC_MASK)[r]); break;
        case 13: case 30: CHECK_EQ_INT(v, FL_U8(b, FL_COL_DST_MASK)[r]); break;
        case 8: CHECK_EQ_INT(v, fl_addr_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r])); break;
        case 12: CHECK_EQ_INT(v, fl_addr_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r])); break;
        case 27: case 28: {
            fl_addr a = fl_addr_from_v6(p);
            CHECK(fl_addr_cmp(a, FL_ADDRS(b, t->ie[i] == 27 ? FL_COL_SRC_ADDR : FL_COL_DST_ADDR)[r]) == 0);
            break;
        }
        case 21: CHECK(!ipfix); CHECK_EQ_INT(v, FL_TIMES(b, FL_COL_TIME_LAST)[r] - BOOT); break;
        case 22: CHECK(!ipfix); CHECK_EQ_INT(v, FL_TIMES(b, FL_COL_TIME_FIRST)[r] - BOOT); break;
        case 152: CHECK(ipfix); CHECK_EQ_INT(v, FL_TIMES(b, FL_COL_TIME_FIRST)[r]); break;
        case 153: CHECK(ipfix); CHECK_EQ_INT(v, FL_TIMES(b, FL_COL_TIME_LAST)[r]); break;
        default: break;
        }
        p += t->len[i];
    }
}

static void tpl_protocol(fl_gen_proto proto)
{
    int ipfix = proto == FL_GEN_IPFIX;
    fl_batch *b = flows(1500, 0.3, 1);
    uint32_t *rows = b ? all_rows(b) : NULL;
    fl_gen_exporter *x = exporter(proto, 1, 3);
    uint8_t buf[FL_GEN_DGRAM_MAX];
    tpl tpls[8];
    int ntpl = 0, sampling_seen = 0, ifnames_seen = 0;
    uint32_t off = 0, dg = 0, seq = 0, v6_recs = 0;

    CHECK(b && rows && x);
    while (off < b->n) {
        uint32_t used = 0, data = 0, odata = 0, trecs = 0;
        fl_err e;
        size_t len = fl_gen_export_next(x, b, rows + off, b->n - off, buf, sizeof buf, &used, &e);
        size_t pos = ipfix ? 16 : 20;
        int has_tpl = 0;
        uint32_t k = off;

        CHECK(len > 0 && used > 0 && len <= FL_GEN_DGRAM_MAX);
        CHECK_EQ_INT(g16(buf), ipfix ? 10 : 9);
        if (ipfix) {
            CHECK_EQ_INT(g16(buf + 2), len);
            CHECK_EQ_INT(g32(buf + 8), seq);
            CHECK_EQ_INT(g32(buf + 12), 7);
        } else {
            CHECK_EQ_INT(g32(buf + 12), dg);
            CHECK_EQ_INT(g32(buf + 16), 7);
            /* whole-second export clock: unix secs - uptime is exactly boot */
            CHECK_EQ_INT((int64_t)g32(buf + 8) * 1000 - g32(buf + 4), BOOT);
        }
        while (pos < len) {
            uint32_t sid, slen;
            CHECK(pos + 4 <= len);
            sid = g16(buf + pos);
            slen = g16(buf + pos + 4 - 2);
            CHECK(slen >= 4 && pos + slen <= len);
            CHECK_EQ_INT(slen % 4, 0);
            if (sid == (ipfix ? 2u : 0u) || sid == (ipfix ? 3u : 1u)) {
                size_t q = pos + 4;
                int opt = sid == (ipfix ? 3u : 1u);
                has_tpl = 1;
                while (q + 4 <= pos + slen) {
                    tpl t;
                    uint32_t nf;
                    memset(&t, 0, sizeof t);
                    t.id = (uint16_t)g16(buf + q);
                    if (t.id == 0)
                        break; /* padding */
                    if (opt && !ipfix) {
                        nf = (g16(buf + q + 2) + g16(buf + q + 4)) / 4;
                        t.scope = (uint16_t)(g16(buf + q + 2) / 4);
                        q += 6;
                    } else if (opt) {
                        nf = g16(buf + q + 2);
                        t.scope = (uint16_t)g16(buf + q + 4);
                        q += 6;
                    } else {
                        nf = g16(buf + q + 2);
                        q += 4;
                    }
                    CHECK(nf > 0 && nf <= 64);
                    for (uint32_t i = 0; i < nf; i++, q += 4) {
                        t.ie[i] = (uint16_t)g16(buf + q);
                        t.len[i] = (uint16_t)g16(buf + q + 2);
                    }
                    t.n = (uint16_t)nf;
                    trecs++;
                    if (ntpl < 8) {
                        int j = 0;
                        while (j < ntpl && tpls[j].id != t.id)
                            j++;
                        tpls[j] = t;
                        if (j == ntpl)
                            ntpl++;
                    }
                }
            } else {
                const tpl *t = NULL;
                size_t rl = 0, q = pos + 4;
                for (int j = 0; j < ntpl; j++)
                    if (tpls[j].id == sid)
                        t = &tpls[j];
                CHECK(t != NULL); /* data never comes before its template */
                for (uint16_t i = 0; i < t->n; i++)
                    rl += t->len[i];
                for (; q + rl <= pos + slen; q += rl) {
                    if (t->scope > 0) {
                        /* options: sampling interval or an interface name */
                        for (uint16_t i = 0, o = 0; i < t->n; o += t->len[i], i++) {
                            if (t->ie[i] == 34 && i >= t->scope) {
                                CHECK_EQ_INT(gn(buf + q + o, t->len[i]), 1);
                                sampling_seen = 1;
                            }
                            if (t->ie[i] == 82 && i >= t->scope) {
                                CHECK(memcmp(buf + q + o, "ge-0/0/", 7) == 0);
                                ifnames_seen = 1;
                            }
                        }
                        odata++;
                        continue;
                    }
                    CHECK(k < off + used);
                    CHECK_EQ_INT(is_v4(b, rows[k]), sid == 256);
                    v6_recs += sid == 257;
                    check_record(b, rows[k], t, buf + q, ipfix);
                    k++;
                    data++;
                }
            }
            pos += slen;
        }
        CHECK_EQ_INT(pos, len);
        CHECK_EQ_INT(k, off + used); /* every consumed row was encoded */
        if (!ipfix) /* v9 count: every record, templates included */
            CHECK_EQ_INT(g16(buf + 2), trecs + data + odata);
        CHECK_EQ_INT(has_tpl, dg % 3 == 0);
        seq += ipfix ? data + odata : 1;
        off += used;
        dg++;
    }
    CHECK(sampling_seen && ifnames_seen && v6_recs > 0);
    free(rows);
    fl_gen_exporter_free(x);
    fl_batch_free(b);
}

TEST(v9_decodes_back) { tpl_protocol(FL_GEN_V9); }
TEST(ipfix_decodes_back) { tpl_protocol(FL_GEN_IPFIX); }

TEST(sflow_structure)
{
    fl_batch *b = flows(600, 0.3, 4);
    uint32_t *rows = b ? all_rows(b) : NULL;
    fl_gen_exporter *x = exporter(FL_GEN_SFLOW, 4, 0);
    uint8_t buf[FL_GEN_DGRAM_MAX];
    uint32_t off = 0, dg = 0, counters = 0;

    CHECK(b && rows && x);
    while (off < b->n) {
        uint32_t used = 0, ns;
        fl_err e;
        size_t len = fl_gen_export_next(x, b, rows + off, b->n - off, buf, sizeof buf, &used, &e);
        size_t pos = 28;
        uint32_t k = off;
        CHECK(len > 0 && used > 0 && len <= FL_GEN_DGRAM_MAX);
        CHECK_EQ_INT(g32(buf), 5);
        CHECK_EQ_INT(g32(buf + 4), 1);
        CHECK_EQ_INT(g32(buf + 8), 0x0aff0007u); /* agent 10.255.0.7 */
        CHECK_EQ_INT(g32(buf + 16), dg + 1);
        ns = g32(buf + 24);
        for (uint32_t s = 0; s < ns; s++) {
            uint32_t tag, slen;
            CHECK(pos + 8 <= len);
            tag = g32(buf + pos);
            slen = g32(buf + pos + 4);
            CHECK(pos + 8 + slen <= len);
            if (tag == 2) {
                counters++;
            } else {
                const uint8_t *p = buf + pos + 8, *h;
                uint32_t r = rows[k++];
                CHECK_EQ_INT(tag, 1);
                CHECK_EQ_INT(g32(p + 8), 4); /* sampling rate */
                CHECK_EQ_INT(g32(p + 20), FL_U32(b, FL_COL_IN_IF)[r]);
                CHECK_EQ_INT(g32(p + 24), FL_U32(b, FL_COL_OUT_IF)[r]);
                CHECK_EQ_INT(g32(p + 32), 1); /* raw header record first */
                h = p + 32 + 8 + 16;          /* the Ethernet frame */
                if (is_v4(b, r)) {
                    CHECK_EQ_INT(g16(h + 12), 0x0800);
                    CHECK_EQ_INT(h[14 + 9], FL_U8(b, FL_COL_PROTO)[r]);
                    CHECK_EQ_INT(g32(h + 14 + 12), fl_addr_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]));
                    CHECK_EQ_INT(g32(h + 14 + 16), fl_addr_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r]));
                } else {
                    CHECK_EQ_INT(g16(h + 12), 0x86dd);
                    CHECK_EQ_INT(h[14 + 6], FL_U8(b, FL_COL_PROTO)[r]);
                    CHECK(fl_addr_cmp(fl_addr_from_v6(h + 14 + 8),
                                      FL_ADDRS(b, FL_COL_SRC_ADDR)[r]) == 0);
                }
            }
            pos += 8 + slen;
        }
        CHECK_EQ_INT(pos, len);
        CHECK_EQ_INT(k, off + used);
        off += used;
        dg++;
    }
    CHECK(counters > 0);
    free(rows);
    fl_gen_exporter_free(x);
    fl_batch_free(b);
}

TEST(same_rows_same_bytes)
{
    fl_gen_proto ps[] = {FL_GEN_V5, FL_GEN_V9, FL_GEN_IPFIX, FL_GEN_SFLOW};
    fl_batch *b = flows(300, 0.2, 1);
    uint32_t *rows = b ? all_rows(b) : NULL;

    CHECK(b && rows);
    for (int i = 0; i < 4; i++) {
        fl_gen_exporter *x = exporter(ps[i], 1, 0), *y = exporter(ps[i], 1, 0);
        uint8_t a[FL_GEN_DGRAM_MAX], c[FL_GEN_DGRAM_MAX];
        uint32_t off = 0;
        CHECK(x && y);
        while (off < b->n) {
            uint32_t u1 = 0, u2 = 0;
            size_t l1 = fl_gen_export_next(x, b, rows + off, b->n - off, a, sizeof a, &u1, NULL);
            size_t l2 = fl_gen_export_next(y, b, rows + off, b->n - off, c, sizeof c, &u2, NULL);
            CHECK_EQ_INT(l1, l2);
            CHECK_EQ_INT(u1, u2);
            CHECK(u1 > 0);
            CHECK(memcmp(a, c, l1) == 0);
            off += u1;
        }
        fl_gen_exporter_free(x);
        fl_gen_exporter_free(y);
    }
    free(rows);
    fl_batch_free(b);
}

TEST(errors)
{
    fl_batch *b = flows(50, 1.0, 1); /* all IPv6 */
    uint32_t *rows = b ? all_rows(b) : NULL;
    fl_gen_exporter *x = exporter(FL_GEN_V5, 1, 0);
    fl_gen_export_config late = {FL_GEN_V9, 1, BOOT + 7200000, 1, 0, 0};
    fl_gen_export_config zero = {FL_GEN_V9, 0, BOOT, 1, 0, 0};
    fl_gen_exporter *y = fl_gen_exporter_new(&late);
    uint8_t buf[FL_GEN_DGRAM_MAX];
    uint32_t used = 99, bad = 1000;
    fl_gen_proto p;
    fl_err e;

    CHECK(b && rows && x && y);
    /* v5 carries no IPv6: everything skipped, nothing to send */
    CHECK_EQ_INT(fl_gen_export_next(x, b, rows, b->n, buf, sizeof buf, &used, &e), 0);
    CHECK_EQ_INT(used, b->n);
    /* too small a buffer */
    fl_err_clear(&e);
    CHECK_EQ_INT(fl_gen_export_next(x, b, rows, b->n, buf, 100, &used, &e), 0);
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(e.rc, FL_EINVAL);
    /* a row outside the batch */
    fl_err_clear(&e);
    CHECK_EQ_INT(fl_gen_export_next(x, b, &bad, 1, buf, sizeof buf, &used, &e), 0);
    CHECK(strstr(e.msg, "outside the batch") != NULL);
    /* flows before the exporter booted */
    fl_err_clear(&e);
    CHECK_EQ_INT(fl_gen_export_next(y, b, rows, b->n, buf, sizeof buf, &used, &e), 0);
    CHECK_EQ_INT(used, 0);
    CHECK(strstr(e.msg, "sysUptime") != NULL);
    CHECK(fl_gen_exporter_new(&zero) == NULL);
    fl_gen_exporter_free(NULL);
    /* protocol names */
    CHECK_EQ_INT(fl_gen_proto_parse("ipfix", &p, NULL), FL_OK);
    CHECK_EQ_INT(p, FL_GEN_IPFIX);
    CHECK_STR(fl_gen_proto_name(FL_GEN_SFLOW), "sflow");
    fl_err_clear(&e);
    CHECK_EQ_INT(fl_gen_proto_parse("v8", &p, &e), FL_EINVAL);
    CHECK(strstr(e.msg, "'v8'") != NULL);
    free(rows);
    fl_gen_exporter_free(x);
    fl_gen_exporter_free(y);
    fl_batch_free(b);
}

/* --prebuild's header patching: what get reads is what the encoder wrote
 * (the exporter's stats name the next sequence number), set changes only
 * those fields, and sFlow or a short buffer are refused. */
TEST(dgram_hdr_patch)
{
    fl_gen_proto ps[] = {FL_GEN_V5, FL_GEN_V9, FL_GEN_IPFIX};
    fl_batch *b = flows(300, 0.0, 1);
    uint32_t *rows = b ? all_rows(b) : NULL;
    fl_err e;

    CHECK(b && rows);
    for (int i = 0; i < 3; i++) {
        fl_gen_exporter *x = exporter(ps[i], 1, 0);
        uint8_t a[FL_GEN_DGRAM_MAX], c[FL_GEN_DGRAM_MAX];
        fl_gen_dgram_hdr h, h2, want = {0x01020304u, 0x05060708u, 0x090a0b0cu};
        fl_gen_export_stats st;
        uint32_t u = 0, seq0;
        size_t len;
        CHECK(x != NULL);
        len = fl_gen_export_next(x, b, rows, b->n, a, sizeof a, &u, NULL);
        CHECK(len > 0);
        fl_gen_exporter_stats(x, &st);
        seq0 = st.seq;
        len = fl_gen_export_next(x, b, rows + u, b->n - u, a, sizeof a, &u, NULL);
        CHECK(len > 0);
        CHECK_EQ_INT(fl_gen_dgram_hdr_get(ps[i], a, len, &h, NULL), FL_OK);
        CHECK_EQ_INT(h.seq, seq0);
        CHECK(h.secs > 1600000000u);
        CHECK(ps[i] == FL_GEN_IPFIX ? h.uptime == 0 : h.uptime > 0);
        memcpy(c, a, len);
        CHECK_EQ_INT(fl_gen_dgram_hdr_set(ps[i], c, len, &want, NULL), FL_OK);
        CHECK_EQ_INT(fl_gen_dgram_hdr_get(ps[i], c, len, &h2, NULL), FL_OK);
        CHECK_EQ_INT(h2.seq, want.seq);
        CHECK_EQ_INT(h2.secs, want.secs);
        CHECK_EQ_INT(h2.uptime, ps[i] == FL_GEN_IPFIX ? 0 : want.uptime);
        CHECK(memcmp(a, c, len) != 0);
        CHECK_EQ_INT(fl_gen_dgram_hdr_set(ps[i], c, len, &h, NULL), FL_OK);
        CHECK(memcmp(a, c, len) == 0); /* nothing else moved */
        fl_err_clear(&e);
        CHECK_EQ_INT(fl_gen_dgram_hdr_get(ps[i], a, 12, &h, &e), FL_EINVAL);
        CHECK(strstr(e.msg, "shorter than") != NULL);
        fl_gen_exporter_free(x);
    }
    {
        uint8_t z[64] = {0};
        fl_gen_dgram_hdr h;
        fl_err_clear(&e);
        CHECK_EQ_INT(fl_gen_dgram_hdr_get(FL_GEN_SFLOW, z, sizeof z, &h, &e), FL_EINVAL);
        CHECK(strstr(e.msg, "sflow") != NULL);
    }
    free(rows);
    fl_batch_free(b);
}

int main(void)
{
    RUN(v5_decodes_back);
    RUN(v9_decodes_back);
    RUN(ipfix_decodes_back);
    RUN(sflow_structure);
    RUN(same_rows_same_bytes);
    RUN(errors);
    RUN(dgram_hdr_patch);
    TEST_EXIT();
}
