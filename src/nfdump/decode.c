/*
 * nfdump/decode.c — records of one nfdump block into fl_batch columns.
 *
 * A block is a run of records, each starting with (type, size). Flow
 * records come in two shapes: layout 2's V3 record (a 12-byte header and
 * numElements extension elements, each (type, length, payload) so unknown
 * ones are skipped by length) and layout 1's common record, whose optional
 * fields follow in the order an extension map (a record of its own, met
 * earlier in the file) lists them, each of a fixed size per extension id.
 * Exporter, sampler and interface/VRF name records feed per-file tables.
 *
 * Each flow is written straight into row b->n of the batch; a record that
 * turns out malformed half-way has its row zeroed and is counted as
 * skipped. Every read is bounds-checked against the record's own size,
 * which has been checked against the block.
 */
#include "nfdump_int.h"

#include <stdlib.h>

/* ---- per-file tables ------------------------------------------------ */

fl_nfdump_exporter *nfd_exporter_slot(fl_nfdump_file *f, uint16_t sysid)
{
    for (size_t i = 0; i < f->nexp; i++)
        if (f->exp[i].sysid == sysid)
            return &f->exp[i];
    if (f->nexp >= NFD_MAX_EXPORTERS)
        return NULL;
    if (f->nexp == f->capexp) {
        size_t cap = f->capexp ? f->capexp * 2 : 8;
        fl_nfdump_exporter *n = realloc(f->exp, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        f->exp = n;
        f->capexp = cap;
    }
    memset(&f->exp[f->nexp], 0, sizeof f->exp[0]);
    f->exp[f->nexp].sysid = sysid;
    return &f->exp[f->nexp++];
}

const fl_nfdump_exporter *fl_nfdump_exporter_get(const fl_nfdump_file *f, uint16_t sysid)
{
    for (size_t i = 0; i < f->nexp; i++)
        if (f->exp[i].sysid == sysid)
            return &f->exp[i];
    return NULL;
}

/* per-flow lookup: flows of one exporter come in runs, so remember the
 * last hit */
static fl_nfdump_exporter *exp_find(fl_nfdump_file *f, uint16_t sysid)
{
    if (f->exp_hint < f->nexp && f->exp[f->exp_hint].sysid == sysid)
        return &f->exp[f->exp_hint];
    for (size_t i = 0; i < f->nexp; i++)
        if (f->exp[i].sysid == sysid) {
            f->exp_hint = i;
            return &f->exp[i];
        }
    return NULL;
}

size_t fl_nfdump_exporter_count(const fl_nfdump_file *f)
{
    return f->nexp;
}

const fl_nfdump_exporter *fl_nfdump_exporter_at(const fl_nfdump_file *f, size_t i)
{
    return i < f->nexp ? &f->exp[i] : NULL;
}

static const char *name_find(const nfd_name *t, size_t n, uint32_t key)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].key == key)
            return t[i].name;
    return NULL;
}

const char *fl_nfdump_ifname(const fl_nfdump_file *f, uint32_t ifindex)
{
    return name_find(f->ifn, f->nifn, ifindex);
}

const char *fl_nfdump_vrfname(const fl_nfdump_file *f, uint32_t vrf)
{
    return name_find(f->vrfn, f->nvrfn, vrf);
}

/* sampler records: rate = (packet + space) / packet, nfdump's meaning */
static void add_sampler(fl_nfdump_file *f, uint16_t sysid, int64_t id, uint32_t rate)
{
    fl_nfdump_exporter *x;
    size_t i;

    if (rate == 0)
        rate = 1;
    for (i = 0; i < f->nsmp; i++)
        if (f->smp[i].sysid == sysid && f->smp[i].id == id)
            break;
    if (i == f->nsmp) {
        if (f->nsmp >= NFD_MAX_SAMPLERS)
            return;
        nfd_sampler *n = realloc(f->smp, (f->nsmp + 1) * sizeof *n);
        if (n == NULL)
            return;
        f->smp = n;
        f->nsmp++;
    }
    f->smp[i].sysid = sysid;
    f->smp[i].id = id;
    f->smp[i].rate = rate;
    /* ids < 0 are nfcapd's generic/default/overwrite samplers: they apply
     * to every flow of the exporter */
    if (id < 0 && (x = nfd_exporter_slot(f, sysid)) != NULL)
        x->sampling = rate;
}

static uint32_t sampler_rate(const fl_nfdump_file *f, uint16_t sysid, int64_t id)
{
    for (size_t i = 0; i < f->nsmp; i++)
        if (f->smp[i].sysid == sysid && f->smp[i].id == id)
            return f->smp[i].rate;
    return 0;
}

static void add_names(fl_nfdump_file *f, const uint8_t *p, uint32_t size, int vrf)
{
    uint16_t num, esz;
    nfd_name **tab = vrf ? &f->vrfn : &f->ifn;
    size_t *cnt = vrf ? &f->nvrfn : &f->nifn;

    if (size < 12)
        return;
    num = nfd_u16(f, p + 4);
    esz = nfd_u16(f, p + 6);
    if (esz < 5)
        return;
    for (uint32_t i = 0, off = 12; i < num && size - off >= esz; i++, off += esz) {
        uint32_t key = nfd_u32(f, p + off);
        size_t nl = strnlen((const char *)p + off + 4, esz - 4u), j;
        nfd_name *slot = NULL;
        for (j = 0; j < *cnt; j++)
            if ((*tab)[j].key == key) {
                slot = &(*tab)[j];
                break;
            }
        if (slot == NULL) {
            if (*cnt >= NFD_MAX_NAMES)
                return;
            nfd_name *n = realloc(*tab, (*cnt + 1) * sizeof *n);
            if (n == NULL)
                return;
            *tab = n;
            slot = &n[(*cnt)++];
            slot->key = key;
        }
        if (nl >= sizeof slot->name)
            nl = sizeof slot->name - 1;
        memcpy(slot->name, p + off + 4, nl);
        slot->name[nl] = 0;
    }
}

static void add_exporter(fl_nfdump_file *f, const uint8_t *p, uint32_t size)
{
    fl_nfdump_exporter *x;
    uint16_t family;

    if (size < 32)
        return;
    x = nfd_exporter_slot(f, nfd_u16(f, p + 26));
    if (x == NULL)
        return;
    x->version = nfd_u32(f, p + 4);
    x->id = nfd_u32(f, p + 28);
    family = nfd_u16(f, p + 24);
    /* ip_addr_t is two host-order 64-bit words; IPv4 sits in the low 32
     * bits of the second one in either byte order */
    if (family == 2) {
        x->addr = fl_addr_from_v4((uint32_t)nfd_u64(f, p + 16));
    } else {
        x->addr.hi = nfd_u64(f, p + 8);
        x->addr.lo = nfd_u64(f, p + 16);
    }
}

/* ---- flow rows ------------------------------------------------------- */

static void zero_row(fl_batch *b, uint32_t r)
{
    for (int c = 0; c < FL_COL_COUNT; c++) {
        unsigned w = fl_col_get((fl_col)c)->width;
        memset((uint8_t *)b->col[c] + (size_t)r * w, 0, w);
    }
}

#define SET(kind, col, v)                 \
    do {                                  \
        kind(b, FL_COL_##col)[r] = (v);   \
        fl_batch_mark(b, FL_COL_##col);   \
    } while (0)

static fl_addr rd_v6(const fl_nfdump_file *f, const uint8_t *p)
{
    fl_addr a;
    a.hi = nfd_u64(f, p);
    a.lo = nfd_u64(f, p + 8);
    return a;
}

/* remember the "received from" address as the exporter's when unknown */
static inline void note_router(fl_nfdump_file *f, uint16_t sysid, fl_addr a)
{
    fl_nfdump_exporter *x = exp_find(f, sysid);
    if (x == NULL)
        x = nfd_exporter_slot(f, sysid);
    if (x != NULL && x->addr.hi == 0 && x->addr.lo == 0)
        x->addr = a;
}

static inline void finish_row(fl_nfdump_file *f, fl_batch *b, uint32_t r, uint16_t sysid, int sampled,
                       int has_sampler, int32_t samp_id, uint32_t samp_iv)
{
    uint8_t proto = FL_U8(b, FL_COL_PROTO)[r];
    uint32_t rate = 0;

    SET(FL_U16, EXPORTER, sysid);
    if (proto == 1 || proto == 58) {
        uint16_t dp = FL_U16(b, FL_COL_DST_PORT)[r];
        SET(FL_U8, ICMP_TYPE, (uint8_t)(dp >> 8));
        SET(FL_U8, ICMP_CODE, (uint8_t)(dp & 0xff));
    }
    if (sampled) {
        rate = 1; /* nfcapd already multiplied the counters */
    } else {
        if (has_sampler) {
            rate = sampler_rate(f, sysid, samp_id);
            if (rate == 0)
                rate = samp_iv;
        }
        if (rate == 0) {
            const fl_nfdump_exporter *x = exp_find(f, sysid);
            rate = x != NULL && x->sampling != 0 ? x->sampling : 1;
        }
    }
    SET(FL_U32, SAMPLING_RATE, rate);
}

/* One V3 record (layout 2). Returns 0 on success, -1 when malformed. */
static int decode_v3(fl_nfdump_file *f, const uint8_t *p, uint32_t size, fl_batch *b)
{
    uint32_t r = b->n, pos = 12;
    uint16_t nel, sysid;
    int has_sampler = 0;
    int32_t samp_id = 0;
    uint32_t samp_iv = 0;

    if (size < 12)
        return -1;
    nel = nfd_u16(f, p + 4);
    sysid = nfd_u16(f, p + 8);
    SET(FL_U8, ENGINE_TYPE, p[6]);
    SET(FL_U8, ENGINE_ID, p[7]);
    for (uint32_t i = 0; i < nel; i++) {
        uint16_t type, len;
        const uint8_t *d;
        uint32_t dl;

        if (size - pos < 4)
            return -1;
        type = nfd_u16(f, p + pos);
        len = nfd_u16(f, p + pos + 2);
        if (len < 4 || len > size - pos)
            return -1;
        d = p + pos + 4;
        dl = len - 4u;
        switch (type) {
        case 1: /* EXgenericFlow */
            if (dl < 48)
                return -1;
            SET(FL_TIMES, TIME_FIRST, (fl_time)nfd_u64(f, d));
            SET(FL_TIMES, TIME_LAST, (fl_time)nfd_u64(f, d + 8));
            SET(FL_TIMES, TIME_RECEIVED, (fl_time)nfd_u64(f, d + 16));
            SET(FL_U64, PACKETS, nfd_u64(f, d + 24));
            SET(FL_U64, BYTES, nfd_u64(f, d + 32));
            SET(FL_U16, SRC_PORT, nfd_u16(f, d + 40));
            SET(FL_U16, DST_PORT, nfd_u16(f, d + 42));
            SET(FL_U8, PROTO, d[44]);
            SET(FL_U8, TCP_FLAGS, d[45]);
            SET(FL_U8, FWD_STATUS, d[46]);
            SET(FL_U8, SRC_TOS, d[47]);
            break;
        case 2: /* EXipv4Flow */
            if (dl < 8)
                return -1;
            SET(FL_ADDRS, SRC_ADDR, fl_addr_from_v4(nfd_u32(f, d)));
            SET(FL_ADDRS, DST_ADDR, fl_addr_from_v4(nfd_u32(f, d + 4)));
            break;
        case 3: /* EXipv6Flow */
            if (dl < 32)
                return -1;
            SET(FL_ADDRS, SRC_ADDR, rd_v6(f, d));
            SET(FL_ADDRS, DST_ADDR, rd_v6(f, d + 16));
            break;
        case 4: /* EXflowMisc */
            if (dl < 14)
                return -1;
            SET(FL_U32, IN_IF, nfd_u32(f, d));
            SET(FL_U32, OUT_IF, nfd_u32(f, d + 4));
            SET(FL_U8, SRC_MASK, d[8]);
            SET(FL_U8, DST_MASK, d[9]);
            SET(FL_U8, DIRECTION, d[10]);
            SET(FL_U8, DST_TOS, d[11]);
            SET(FL_U8, END_REASON, d[13]);
            break;
        case 5: /* EXcntFlow */
            if (dl < 24)
                return -1;
            SET(FL_U64, OUT_PACKETS, nfd_u64(f, d + 8));
            SET(FL_U64, OUT_BYTES, nfd_u64(f, d + 16));
            break;
        case 6: /* EXvLan */
            if (dl < 8)
                return -1;
            SET(FL_U16, SRC_VLAN, (uint16_t)nfd_u32(f, d));
            SET(FL_U16, DST_VLAN, (uint16_t)nfd_u32(f, d + 4));
            break;
        case 7: /* EXasRouting */
            if (dl < 8)
                return -1;
            SET(FL_U32, SRC_AS, nfd_u32(f, d));
            SET(FL_U32, DST_AS, nfd_u32(f, d + 4));
            break;
        case 8: /* EXbgpNextHopV4 */
            if (dl < 4)
                return -1;
            SET(FL_ADDRS, BGP_NEXT_HOP, fl_addr_from_v4(nfd_u32(f, d)));
            break;
        case 9: /* EXbgpNextHopV6 */
            if (dl < 16)
                return -1;
            SET(FL_ADDRS, BGP_NEXT_HOP, rd_v6(f, d));
            break;
        case 10: /* EXipNextHopV4 */
            if (dl < 4)
                return -1;
            SET(FL_ADDRS, NEXT_HOP, fl_addr_from_v4(nfd_u32(f, d)));
            break;
        case 11: /* EXipNextHopV6 */
            if (dl < 16)
                return -1;
            SET(FL_ADDRS, NEXT_HOP, rd_v6(f, d));
            break;
        case 12: /* EXipReceivedV4 */
            if (dl < 4)
                return -1;
            note_router(f, sysid, fl_addr_from_v4(nfd_u32(f, d)));
            break;
        case 13: /* EXipReceivedV6 */
            if (dl < 16)
                return -1;
            note_router(f, sysid, rd_v6(f, d));
            break;
        case 14: /* EXmplsLabel: the first label stack entry */
            if (dl < 4)
                return -1;
            SET(FL_U32, MPLS_LABEL1, nfd_u32(f, d));
            break;
        case 15: /* EXmacAddr */
            if (dl < 32)
                return -1;
            SET(FL_MACS, IN_SRC_MAC, nfd_u64(f, d) & 0xffffffffffffULL);
            SET(FL_MACS, OUT_DST_MAC, nfd_u64(f, d + 8) & 0xffffffffffffULL);
            SET(FL_MACS, IN_DST_MAC, nfd_u64(f, d + 16) & 0xffffffffffffULL);
            SET(FL_MACS, OUT_SRC_MAC, nfd_u64(f, d + 24) & 0xffffffffffffULL);
            break;
        case 16: /* EXasAdjacent */
            if (dl < 8)
                return -1;
            SET(FL_U32, NEXT_AS, nfd_u32(f, d));
            SET(FL_U32, PREV_AS, nfd_u32(f, d + 4));
            break;
        case 18: /* EXsamplerInfo */
            if (dl < 12)
                return -1;
            has_sampler = 1;
            samp_id = (int32_t)nfd_u32(f, d);
            samp_iv = nfd_u32(f, d + 4);
            break;
        case 20: /* EXnselXlateIPv4 */
            if (dl < 8)
                return -1;
            SET(FL_ADDRS, XLATE_SRC_ADDR, fl_addr_from_v4(nfd_u32(f, d)));
            SET(FL_ADDRS, XLATE_DST_ADDR, fl_addr_from_v4(nfd_u32(f, d + 4)));
            break;
        case 21: /* EXnselXlateIPv6 */
            if (dl < 32)
                return -1;
            SET(FL_ADDRS, XLATE_SRC_ADDR, rd_v6(f, d));
            SET(FL_ADDRS, XLATE_DST_ADDR, rd_v6(f, d + 16));
            break;
        case 22: /* EXnselXlatePort */
            if (dl < 4)
                return -1;
            SET(FL_U16, XLATE_SRC_PORT, nfd_u16(f, d));
            SET(FL_U16, XLATE_DST_PORT, nfd_u16(f, d + 2));
            break;
        case 25: /* EXnelCommon; the older 24-byte form carries VRFs too */
            if (dl >= 24) {
                SET(FL_U32, EGRESS_VRF, nfd_u32(f, d + 8));
                SET(FL_U32, INGRESS_VRF, nfd_u32(f, d + 12));
                SET(FL_U8, NAT_EVENT, d[20]);
            } else if (dl >= 16) {
                SET(FL_U8, NAT_EVENT, d[12]);
            } else {
                return -1;
            }
            break;
        case 36: /* EXvrf */
            if (dl < 8)
                return -1;
            SET(FL_U32, EGRESS_VRF, nfd_u32(f, d));
            SET(FL_U32, INGRESS_VRF, nfd_u32(f, d + 4));
            break;
        default: /* no column for it (latency, NSEL events, payload, ...) */
            break;
        }
        pos += len;
    }
    finish_row(f, b, r, sysid, (p[10] & 2) != 0, has_sampler, samp_id, samp_iv);
    return 0;
}

/* ---- layout 1 -------------------------------------------------------- */

/* payload size of each layout-1 extension id (0 = unknown / reserved) */
static const uint8_t v1_ext_size[49] = {
    0, 0, 0, 0, 4, 8, 4, 8, 4, 4,        /* 0-9 */
    16, 4, 16, 4, 4, 8, 4, 8, 4, 8,      /* 10-19 */
    16, 16, 40, 4, 16, 4, 8, 8, 0, 0,    /* 20-29 */
    0, 0, 0, 0, 0, 0, 0, 20, 4, 8,       /* 30-39 */
    32, 24, 24, 72, 0, 24, 12, 8, 8};    /* 40-48 */

static void add_map(fl_nfdump_file *f, const uint8_t *p, uint32_t size)
{
    uint16_t id;
    nfd_map *m;

    if (size < 8)
        return;
    id = nfd_u16(f, p + 4);
    if (f->maps == NULL) {
        f->maps = calloc(NFD_MAX_MAPS, sizeof *f->maps);
        if (f->maps == NULL)
            return;
    }
    m = f->maps[id];
    if (m == NULL) {
        m = calloc(1, sizeof *m);
        if (m == NULL)
            return;
        f->maps[id] = m;
    }
    m->n = 0;
    for (uint32_t off = 8; off + 2 <= size && m->n < 64; off += 2) {
        uint16_t x = nfd_u16(f, p + off);
        if (x == 0)
            break;
        m->ids[m->n++] = x;
    }
}

static int decode_v1(fl_nfdump_file *f, const uint8_t *p, uint32_t size, fl_batch *b)
{
    uint32_t r = b->n, pos = 32;
    uint16_t flags, sysid, mapid;
    const nfd_map *m;

    if (size < 32)
        return -1;
    flags = nfd_u16(f, p + 4);
    mapid = nfd_u16(f, p + 6);
    m = f->maps != NULL ? f->maps[mapid] : NULL;
    if (m == NULL)
        return -1; /* no map seen for it: cannot locate the fields */
    sysid = nfd_u16(f, p + 28);
    SET(FL_TIMES, TIME_FIRST, (fl_time)nfd_u32(f, p + 12) * 1000 + nfd_u16(f, p + 8));
    SET(FL_TIMES, TIME_LAST, (fl_time)nfd_u32(f, p + 16) * 1000 + nfd_u16(f, p + 10));
    SET(FL_U8, FWD_STATUS, p[20]);
    SET(FL_U8, TCP_FLAGS, p[21]);
    SET(FL_U8, PROTO, p[22]);
    SET(FL_U8, SRC_TOS, p[23]);
    SET(FL_U16, SRC_PORT, nfd_u16(f, p + 24));
    SET(FL_U16, DST_PORT, nfd_u16(f, p + 26));
    SET(FL_U8, END_REASON, p[31]);
    if (flags & 1) {
        if (size - pos < 32)
            return -1;
        SET(FL_ADDRS, SRC_ADDR, rd_v6(f, p + pos));
        SET(FL_ADDRS, DST_ADDR, rd_v6(f, p + pos + 16));
        pos += 32;
    } else {
        if (size - pos < 8)
            return -1;
        SET(FL_ADDRS, SRC_ADDR, fl_addr_from_v4(nfd_u32(f, p + pos)));
        SET(FL_ADDRS, DST_ADDR, fl_addr_from_v4(nfd_u32(f, p + pos + 4)));
        pos += 8;
    }
    for (int k = 0; k < 2; k++) { /* packets, then bytes: 4 or 8 bytes */
        int wide = (flags & (k == 0 ? 2 : 4)) != 0;
        uint64_t v;
        if (size - pos < (wide ? 8u : 4u))
            return -1;
        v = wide ? nfd_u64(f, p + pos) : nfd_u32(f, p + pos);
        pos += wide ? 8 : 4;
        if (k == 0)
            SET(FL_U64, PACKETS, v);
        else
            SET(FL_U64, BYTES, v);
    }
    for (unsigned i = 0; i < m->n; i++) {
        uint16_t id = m->ids[i];
        const uint8_t *d = p + pos;
        unsigned need;

        if (id <= 3)
            continue; /* the required blocks, never listed */
        need = id < sizeof v1_ext_size ? v1_ext_size[id] : 0;
        if (need == 0)
            return -1; /* unknown size: the rest cannot be located */
        if (size - pos < need)
            return -1;
        switch (id) {
        case 4:
            SET(FL_U32, IN_IF, nfd_u16(f, d));
            SET(FL_U32, OUT_IF, nfd_u16(f, d + 2));
            break;
        case 5:
            SET(FL_U32, IN_IF, nfd_u32(f, d));
            SET(FL_U32, OUT_IF, nfd_u32(f, d + 4));
            break;
        case 6:
            SET(FL_U32, SRC_AS, nfd_u16(f, d));
            SET(FL_U32, DST_AS, nfd_u16(f, d + 2));
            break;
        case 7:
            SET(FL_U32, SRC_AS, nfd_u32(f, d));
            SET(FL_U32, DST_AS, nfd_u32(f, d + 4));
            break;
        case 8:
            SET(FL_U8, DST_TOS, d[0]);
            SET(FL_U8, DIRECTION, d[1]);
            SET(FL_U8, SRC_MASK, d[2]);
            SET(FL_U8, DST_MASK, d[3]);
            break;
        case 9:
            SET(FL_ADDRS, NEXT_HOP, fl_addr_from_v4(nfd_u32(f, d)));
            break;
        case 10:
            SET(FL_ADDRS, NEXT_HOP, rd_v6(f, d));
            break;
        case 11:
            SET(FL_ADDRS, BGP_NEXT_HOP, fl_addr_from_v4(nfd_u32(f, d)));
            break;
        case 12:
            SET(FL_ADDRS, BGP_NEXT_HOP, rd_v6(f, d));
            break;
        case 13:
            SET(FL_U16, SRC_VLAN, nfd_u16(f, d));
            SET(FL_U16, DST_VLAN, nfd_u16(f, d + 2));
            break;
        case 14:
            SET(FL_U64, OUT_PACKETS, nfd_u32(f, d));
            break;
        case 15:
            SET(FL_U64, OUT_PACKETS, nfd_u64(f, d));
            break;
        case 16:
            SET(FL_U64, OUT_BYTES, nfd_u32(f, d));
            break;
        case 17:
            SET(FL_U64, OUT_BYTES, nfd_u64(f, d));
            break;
        case 20:
            SET(FL_MACS, IN_SRC_MAC, nfd_u64(f, d) & 0xffffffffffffULL);
            SET(FL_MACS, OUT_DST_MAC, nfd_u64(f, d + 8) & 0xffffffffffffULL);
            break;
        case 21:
            SET(FL_MACS, IN_DST_MAC, nfd_u64(f, d) & 0xffffffffffffULL);
            SET(FL_MACS, OUT_SRC_MAC, nfd_u64(f, d + 8) & 0xffffffffffffULL);
            break;
        case 22:
            SET(FL_U32, MPLS_LABEL1, nfd_u32(f, d));
            break;
        case 23:
            note_router(f, sysid, fl_addr_from_v4(nfd_u32(f, d)));
            break;
        case 24:
            note_router(f, sysid, rd_v6(f, d));
            break;
        case 25:
            SET(FL_U8, ENGINE_TYPE, d[2]);
            SET(FL_U8, ENGINE_ID, d[3]);
            break;
        case 26:
            SET(FL_U32, NEXT_AS, nfd_u32(f, d));
            SET(FL_U32, PREV_AS, nfd_u32(f, d + 4));
            break;
        case 27:
            SET(FL_TIMES, TIME_RECEIVED, (fl_time)nfd_u64(f, d));
            break;
        case 38:
            SET(FL_U16, XLATE_SRC_PORT, nfd_u16(f, d));
            SET(FL_U16, XLATE_DST_PORT, nfd_u16(f, d + 2));
            break;
        case 39:
            SET(FL_ADDRS, XLATE_SRC_ADDR, fl_addr_from_v4(nfd_u32(f, d)));
            SET(FL_ADDRS, XLATE_DST_ADDR, fl_addr_from_v4(nfd_u32(f, d + 4)));
            break;
        case 40:
            SET(FL_ADDRS, XLATE_SRC_ADDR, rd_v6(f, d));
            SET(FL_ADDRS, XLATE_DST_ADDR, rd_v6(f, d + 16));
            break;
        case 46:
            SET(FL_U8, NAT_EVENT, d[0]);
            SET(FL_U32, EGRESS_VRF, nfd_u32(f, d + 4));
            SET(FL_U32, INGRESS_VRF, nfd_u32(f, d + 8));
            break;
        default: /* known size, no column: aggregated flows, NSEL, latency */
            break;
        }
        pos += need;
    }
    finish_row(f, b, r, sysid, (flags & 128) != 0, 0, 0, 0);
    return 0;
}

/* ---- block walk ------------------------------------------------------ */

fl_rc nfd_decode_block(fl_nfdump_file *f, fl_batch *b, fl_err *e)
{
    while (b->n < b->cap) {
        const uint8_t *p;
        uint16_t type, size;
        int rc = 0;

        if (f->blk_rec_i >= f->blk_recs || f->blk_len - f->blk_pos < 4) {
            f->in_block = 0;
            return FL_OK;
        }
        p = f->blk + f->blk_pos;
        type = nfd_u16(f, p);
        size = nfd_u16(f, p + 2);
        if (size < 4 || size > f->blk_len - f->blk_pos) {
            f->in_block = 0;
            return fl_err_at(e, FL_ECORRUPT, f->path, 0, (long long)f->blk_off,
                             "block %u: record %u at payload byte %u: bad record size %u",
                             f->blk_no, f->blk_rec_i, f->blk_pos, size);
        }
        switch (type) {
        case NFD_REC_V3:
            rc = decode_v3(f, p, size, b);
            break;
        case NFD_REC_COMMON:
            rc = f->info.layout == 1 ? decode_v1(f, p, size, b) : -1;
            break;
        case NFD_REC_EXTMAP:
            add_map(f, p, size);
            rc = 1;
            break;
        case NFD_REC_EXPORTER:
            add_exporter(f, p, size);
            rc = 1;
            break;
        case NFD_REC_SAMPLER:
            if (size >= 24)
                add_sampler(f, nfd_u16(f, p + 4), (int64_t)nfd_u64(f, p + 8),
                            nfd_u32(f, p + 16) == 0
                                ? 1
                                : (nfd_u32(f, p + 16) + nfd_u32(f, p + 20)) / nfd_u32(f, p + 16));
            rc = 1;
            break;
        case NFD_REC_SAMPLER_V0:
            if (size >= 16)
                add_sampler(f, nfd_u16(f, p + 14), (int32_t)nfd_u32(f, p + 4),
                            nfd_u32(f, p + 8));
            rc = 1;
            break;
        case NFD_REC_IFNAME:
        case NFD_REC_VRFNAME:
            add_names(f, p, size, type == NFD_REC_VRFNAME);
            rc = 1;
            break;
        case NFD_REC_EXPSTAT:
        case NFD_REC_NBAR:
            rc = 1;
            break;
        default:
            rc = -1;
            break;
        }
        if (rc == 0) {
            b->n++;
        } else if (rc < 0) {
            if (type == NFD_REC_V3 || type == NFD_REC_COMMON)
                zero_row(b, b->n);
            f->skipped++;
        }
        f->blk_pos += size;
        f->blk_rec_i++;
    }
    return FL_OK;
}
