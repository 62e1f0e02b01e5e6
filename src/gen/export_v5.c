/*
 * gen/export_v5.c — NetFlow v5 datagrams.
 *
 * A 24-byte header (sysUptime, unix secs/nsecs, flow sequence = flows
 * this exporter sent before, engine type/id = exporter id's high/low byte,
 * sampling mode 1 with the interval) and up to 30 fixed 48-byte records.
 * v5 carries IPv4 only: IPv6 rows are skipped and counted. Fields wider
 * than v5's are narrowed the way routers do: AS numbers above 65535 become
 * AS_TRANS 23456, interfaces above 65535 and counters above 2^32-1 are
 * clamped.
 */
#include "export_int.h"

#define V5_HDR 24
#define V5_REC 48
#define V5_MAX_RECS 30
#define AS_TRANS 23456

static uint32_t as16(uint32_t as)
{
    return as > 0xffff ? AS_TRANS : as;
}

static uint32_t sat(uint64_t v, uint64_t max)
{
    return (uint32_t)(v > max ? max : v);
}

size_t exp_v5_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n,
                     exp_w *w, uint32_t *consumed)
{
    uint32_t take[V5_MAX_RECS], k = 0, i;
    const fl_addr *sa = FL_ADDRS(b, FL_COL_SRC_ADDR), *da = FL_ADDRS(b, FL_COL_DST_ADDR);
    const fl_addr *nh = FL_ADDRS(b, FL_COL_NEXT_HOP);
    uint32_t uptime, sampling = exp_sampling(x);

    for (i = 0; i < n && k < V5_MAX_RECS; i++)
        if (fl_addr_is_v4(sa[rows[i]]) && fl_addr_is_v4(da[rows[i]]))
            take[k++] = rows[i];
    *consumed = i;
    if (k == 0)
        return 0;
    exp_clock_advance(x, b, take, k);
    uptime = (uint32_t)(x->clock - x->cfg.boot);

    exp_u16(w, 5);
    exp_u16(w, k);
    exp_u32(w, uptime);
    exp_u32(w, (uint64_t)(x->clock / 1000));
    exp_u32(w, (uint64_t)(x->clock % 1000) * 1000000u);
    exp_u32(w, x->seq);
    exp_u8(w, x->cfg.exporter >> 8);   /* engine type: 0 below exporter 256 */
    exp_u8(w, x->cfg.exporter & 0xff); /* engine id */
    exp_u16(w, sampling > 1 ? (1u << 14) | (sampling & 0x3fff) : 0);

    for (uint32_t j = 0; j < k; j++) {
        uint32_t r = take[j];
        exp_u32(w, fl_addr_v4(sa[r]));
        exp_u32(w, fl_addr_v4(da[r]));
        exp_u32(w, fl_addr_is_v4(nh[r]) ? fl_addr_v4(nh[r]) : 0);
        exp_u16(w, sat(FL_U32(b, FL_COL_IN_IF)[r], 0xffff));
        exp_u16(w, sat(FL_U32(b, FL_COL_OUT_IF)[r], 0xffff));
        exp_u32(w, sat(FL_U64(b, FL_COL_PACKETS)[r], 0xffffffffu));
        exp_u32(w, sat(FL_U64(b, FL_COL_BYTES)[r], 0xffffffffu));
        exp_u32(w, (uint64_t)(FL_TIMES(b, FL_COL_TIME_FIRST)[r] - x->cfg.boot));
        exp_u32(w, (uint64_t)(FL_TIMES(b, FL_COL_TIME_LAST)[r] - x->cfg.boot));
        exp_u16(w, FL_U16(b, FL_COL_SRC_PORT)[r]);
        exp_u16(w, FL_U16(b, FL_COL_DST_PORT)[r]);
        exp_u8(w, 0);
        exp_u8(w, FL_U8(b, FL_COL_TCP_FLAGS)[r]);
        exp_u8(w, FL_U8(b, FL_COL_PROTO)[r]);
        exp_u8(w, FL_U8(b, FL_COL_SRC_TOS)[r]);
        exp_u16(w, as16(FL_U32(b, FL_COL_SRC_AS)[r]));
        exp_u16(w, as16(FL_U32(b, FL_COL_DST_AS)[r]));
        exp_u8(w, FL_U8(b, FL_COL_SRC_MASK)[r]);
        exp_u8(w, FL_U8(b, FL_COL_DST_MASK)[r]);
        exp_u16(w, 0);
    }
    x->seq += k;
    x->st.flows += k;
    return w->len;
}
