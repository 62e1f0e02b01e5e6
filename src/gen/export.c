/*
 * gen/export.c — the simulated exporter shared by every export encoder.
 *
 * An fl_gen_exporter is one device as a collector sees it: its sequence
 * numbers, its clock, the interfaces it has announced and, for sFlow, its
 * data sources. fl_gen_export_next checks the rows it is given, hands a
 * bounded window of them to the protocol's encoder (export_v5.c,
 * export_v9.c, export_ipfix.c, export_sflow.c) and counts what came out.
 * The export clock follows the flows, not the wall clock, so a seed always
 * gives the same datagrams and a collector's reconstructed times are exact.
 */
#include "export_int.h"

#include <stdlib.h>
#include <string.h>

/* Rows one call looks at: more than any datagram holds (v5 30, v9 ~20),
 * few enough that checking them each call stays cheap. */
#define EXP_WINDOW 64
/* sysUptime is 32-bit milliseconds: about 49.7 days. */
#define EXP_UPTIME_MAX 0xffffffffLL

fl_rc fl_gen_proto_parse(const char *s, fl_gen_proto *out, fl_err *e)
{
    static const struct {
        const char *name;
        fl_gen_proto p;
    } t[] = {{"v5", FL_GEN_V5}, {"v9", FL_GEN_V9}, {"ipfix", FL_GEN_IPFIX}, {"sflow", FL_GEN_SFLOW}};

    for (size_t i = 0; s != NULL && i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].p;
            return FL_OK;
        }
    return fl_err_set(e, FL_EINVAL, "unknown protocol '%s' (want v5, v9, ipfix or sflow)",
                      s ? s : "");
}

const char *fl_gen_proto_name(fl_gen_proto p)
{
    switch (p) {
    case FL_GEN_V5: return "v5";
    case FL_GEN_V9: return "v9";
    case FL_GEN_IPFIX: return "ipfix";
    case FL_GEN_SFLOW: return "sflow";
    }
    return "?";
}

fl_gen_exporter *fl_gen_exporter_new(const fl_gen_export_config *c)
{
    fl_gen_exporter *x;

    if (c == NULL || c->exporter == 0)
        return NULL;
    if (c->proto != FL_GEN_V5 && c->proto != FL_GEN_V9 && c->proto != FL_GEN_IPFIX &&
        c->proto != FL_GEN_SFLOW)
        return NULL;
    x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->cfg = *c;
    if (x->cfg.template_every == 0)
        x->cfg.template_every = 20;
    if (x->cfg.counter_every == 0)
        x->cfg.counter_every = 10;
    x->clock = c->boot - c->boot % 1000;
    if (x->clock < c->boot)
        x->clock += 1000;
    return x;
}

void fl_gen_exporter_free(fl_gen_exporter *x)
{
    free(x);
}

void fl_gen_exporter_stats(const fl_gen_exporter *x, fl_gen_export_stats *out)
{
    *out = x->st;
    out->seq = x->seq;
}

/* Header offsets of the sequence number, sysUptime and unix seconds (0:
 * absent); v5 24 bytes, v9 20, IPFIX 16. */
static fl_rc hdr_layout(fl_gen_proto p, size_t len, size_t off[3], fl_err *e)
{
    size_t need = 0;

    switch (p) {
    case FL_GEN_V5: off[0] = 16; off[1] = 4; off[2] = 8; need = 24; break;
    case FL_GEN_V9: off[0] = 12; off[1] = 4; off[2] = 8; need = 20; break;
    case FL_GEN_IPFIX: off[0] = 8; off[1] = 0; off[2] = 4; need = 16; break;
    case FL_GEN_SFLOW: break;
    }
    if (need == 0)
        return fl_err_set(e, FL_EINVAL, "%s datagrams cannot be resent with new sequence numbers",
                          fl_gen_proto_name(p));
    if (len < need)
        return fl_err_set(e, FL_EINVAL, "%s datagram of %zu bytes is shorter than its %zu-byte "
                          "header", fl_gen_proto_name(p), len, need);
    return FL_OK;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

fl_rc fl_gen_dgram_hdr_get(fl_gen_proto p, const uint8_t *buf, size_t len, fl_gen_dgram_hdr *h,
                           fl_err *e)
{
    size_t off[3] = {0, 0, 0};
    fl_rc rc = hdr_layout(p, len, off, e);

    if (rc != FL_OK)
        return rc;
    h->seq = get32(buf + off[0]);
    h->uptime = off[1] ? get32(buf + off[1]) : 0;
    h->secs = get32(buf + off[2]);
    return FL_OK;
}

fl_rc fl_gen_dgram_hdr_set(fl_gen_proto p, uint8_t *buf, size_t len, const fl_gen_dgram_hdr *h,
                           fl_err *e)
{
    size_t off[3] = {0, 0, 0};
    fl_rc rc = hdr_layout(p, len, off, e);

    if (rc != FL_OK)
        return rc;
    put32(buf + off[0], h->seq);
    if (off[1])
        put32(buf + off[1], h->uptime);
    put32(buf + off[2], h->secs);
    return FL_OK;
}

uint32_t exp_sampling(const fl_gen_exporter *x)
{
    return x->cfg.sampling ? x->cfg.sampling : 1;
}

void exp_clock_advance(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n)
{
    const fl_time *last = FL_TIMES(b, FL_COL_TIME_LAST);
    fl_time m = x->clock;

    for (uint32_t i = 0; i < n; i++)
        if (last[rows[i]] > m)
            m = last[rows[i]];
    if (m % 1000)
        m += 1000 - m % 1000;
    x->clock = m;
}

void exp_note_ifs(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n)
{
    const uint32_t *in = FL_U32(b, FL_COL_IN_IF), *out = FL_U32(b, FL_COL_OUT_IF);

    for (uint32_t i = 0; i < n && x->nifs < EXP_MAX_IFS; i++) {
        uint32_t v[2] = {in[rows[i]], out[rows[i]]};
        for (int k = 0; k < 2; k++) {
            uint32_t j = 0;
            if (v[k] == 0)
                continue;
            while (j < x->nifs && x->ifs[j] != v[k])
                j++;
            if (j == x->nifs && x->nifs < EXP_MAX_IFS)
                x->ifs[x->nifs++] = v[k];
        }
    }
}

void exp_if_name(uint32_t ifindex, char name[16], char desc[16])
{
    char tmp[16];
    int k = 0;
    uint32_t v = ifindex;

    memset(name, 0, 16);
    memset(desc, 0, 16);
    memcpy(name, "ge-0/0/", 7);
    memcpy(desc, "port ", 5);
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && k < 8);
    for (int i = 0; i < k; i++) {
        name[7 + i] = tmp[k - 1 - i];
        desc[5 + i] = tmp[k - 1 - i];
    }
}

size_t exp_template_len(const exp_field *f, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += f[i].len;
    return s;
}

static void put_addr(exp_w *w, fl_addr a, unsigned len)
{
    uint8_t v6[16];

    if (len == 4) {
        exp_u32(w, fl_addr_is_v4(a) ? fl_addr_v4(a) : 0);
        return;
    }
    fl_addr_to_v6(a, v6);
    if (fl_addr_is_v4(a))
        memset(v6, 0, 16); /* an IPv4 value in an IPv6 field: leave it unset */
    exp_bytes(w, v6, 16);
}

static uint64_t clamp(uint64_t v, unsigned len)
{
    if (len >= 8)
        return v;
    uint64_t max = (1ULL << (8 * len)) - 1;
    return v > max ? max : v;
}

void exp_put_field(exp_w *w, const fl_gen_exporter *x, const fl_batch *b, uint32_t r,
                   exp_field f)
{
    uint64_t v = 0;

    switch (f.ie) {
    case 1: v = FL_U64(b, FL_COL_BYTES)[r]; break;
    case 2: v = FL_U64(b, FL_COL_PACKETS)[r]; break;
    case 4: v = FL_U8(b, FL_COL_PROTO)[r]; break;
    case 5: v = FL_U8(b, FL_COL_SRC_TOS)[r]; break;
    case 6: v = FL_U8(b, FL_COL_TCP_FLAGS)[r]; break;
    case 7: v = FL_U16(b, FL_COL_SRC_PORT)[r]; break;
    case 11: v = FL_U16(b, FL_COL_DST_PORT)[r]; break;
    case 9: case 29: v = FL_U8(b, FL_COL_SRC_MASK)[r]; break;
    case 13: case 30: v = FL_U8(b, FL_COL_DST_MASK)[r]; break;
    case 10: v = FL_U32(b, FL_COL_IN_IF)[r]; break;
    case 14: v = FL_U32(b, FL_COL_OUT_IF)[r]; break;
    case 16: v = FL_U32(b, FL_COL_SRC_AS)[r]; break;
    case 17: v = FL_U32(b, FL_COL_DST_AS)[r]; break;
    case 55: v = FL_U8(b, FL_COL_DST_TOS)[r]; break;
    case 58: v = FL_U16(b, FL_COL_SRC_VLAN)[r]; break;
    case 59: v = FL_U16(b, FL_COL_DST_VLAN)[r]; break;
    case 61: v = FL_U8(b, FL_COL_DIRECTION)[r]; break;
    case 32: case 139: /* ICMP type << 8 | code, kept in the destination port */
        if (FL_U8(b, FL_COL_PROTO)[r] == 1 || FL_U8(b, FL_COL_PROTO)[r] == 58)
            v = FL_U16(b, FL_COL_DST_PORT)[r];
        break;
    case 21: v = (uint64_t)(FL_TIMES(b, FL_COL_TIME_LAST)[r] - x->cfg.boot); break;
    case 22: v = (uint64_t)(FL_TIMES(b, FL_COL_TIME_FIRST)[r] - x->cfg.boot); break;
    case 152: v = (uint64_t)FL_TIMES(b, FL_COL_TIME_FIRST)[r]; break;
    case 153: v = (uint64_t)FL_TIMES(b, FL_COL_TIME_LAST)[r]; break;
    case 8: case 27: put_addr(w, FL_ADDRS(b, FL_COL_SRC_ADDR)[r], f.len); return;
    case 12: case 28: put_addr(w, FL_ADDRS(b, FL_COL_DST_ADDR)[r], f.len); return;
    case 15: case 62: put_addr(w, FL_ADDRS(b, FL_COL_NEXT_HOP)[r], f.len); return;
    case 18: case 63: put_addr(w, FL_ADDRS(b, FL_COL_BGP_NEXT_HOP)[r], f.len); return;
    default: break;
    }
    exp_be(w, clamp(v, f.len), f.len);
}

/* Check rows[0..n) before any encoder reads them. */
static fl_rc check_rows(const fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows,
                        uint32_t n, fl_err *e)
{
    const fl_time *first = FL_TIMES(b, FL_COL_TIME_FIRST), *last = FL_TIMES(b, FL_COL_TIME_LAST);
    int relative = x->cfg.proto != FL_GEN_IPFIX;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rows[i];
        if (r >= b->n)
            return fl_err_set(e, FL_EINVAL, "exporter %u: row %u outside the batch (%u rows)",
                              x->cfg.exporter, r, b->n);
        if (last[r] < first[r])
            return fl_err_set(e, FL_EINVAL, "exporter %u: row %u ends before it starts",
                              x->cfg.exporter, r);
        if (relative && (first[r] < x->cfg.boot || last[r] + 1000 - x->cfg.boot > EXP_UPTIME_MAX))
            return fl_err_set(e, FL_EINVAL,
                              "exporter %u: flow at %lld ms is outside the 49 days of sysUptime "
                              "after boot %lld ms",
                              x->cfg.exporter, (long long)first[r], (long long)x->cfg.boot);
    }
    return FL_OK;
}

size_t fl_gen_export_next(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows,
                          uint32_t n, uint8_t *buf, size_t cap, uint32_t *consumed, fl_err *e)
{
    exp_w w = {buf, 0, cap > FL_GEN_DGRAM_MAX ? FL_GEN_DGRAM_MAX : cap, 0};
    size_t len = 0;
    uint64_t flows0 = x->st.flows;

    *consumed = 0;
    if (cap < 512) {
        fl_err_set(e, FL_EINVAL, "datagram buffer of %zu bytes is too small (512 at least)", cap);
        return 0;
    }
    if (n > EXP_WINDOW)
        n = EXP_WINDOW;
    if (check_rows(x, b, rows, n, e) != FL_OK)
        return 0;
    if (n == 0)
        return 0;
    switch (x->cfg.proto) {
    case FL_GEN_V5: len = exp_v5_encode(x, b, rows, n, &w, consumed); break;
    case FL_GEN_V9: len = exp_v9_encode(x, b, rows, n, &w, consumed); break;
    case FL_GEN_IPFIX: len = exp_ipfix_encode(x, b, rows, n, &w, consumed); break;
    case FL_GEN_SFLOW: len = exp_sflow_encode(x, b, rows, n, &w, consumed); break;
    }
    if (w.over) {
        fl_err_set(e, FL_EINVAL, "exporter %u: %s datagram overflowed %zu bytes (encoder bug)",
                   x->cfg.exporter, fl_gen_proto_name(x->cfg.proto), w.cap);
        *consumed = 0;
        return 0;
    }
    x->st.skipped += *consumed - (x->st.flows - flows0);
    if (len > 0) {
        x->st.datagrams++;
        x->st.bytes += len;
    }
    return len;
}
