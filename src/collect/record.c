/*
 * collect/record.c — one NetFlow v9 / IPFIX record through its template.
 *
 * Data records are written straight into the worker's batch: each field's
 * bound operation stores into its column at the new row (without reading
 * it first when the field is the only one of its template feeding that
 * column; several fields on one column keep the first non-zero value). Times, durations
 * and sampling need the whole record (a flow may carry an end time and a
 * duration, or a sampler id that names a rate learnt from options data),
 * so those go through a small scratch struct and are resolved once the
 * record is walked. A record that overruns its set is rolled back (the row
 * is zeroed and released) so no half flow ever reaches a sink.
 * Options records update the exporter: sampling per sampler id, the
 * system init time, interface and VRF names.
 */
#include "collect_int.h"

#include <stddef.h>
#include <string.h>

#define NTP_UNIX_OFFSET 2208988800ULL

/* The flags come first: a record clears only them (two stores), not the
 * whole struct; a value is read only when its flag is set. */
typedef struct rec_scratch {
    uint8_t has_t[2], has_up[2];
    uint8_t has_dur, has_sampler, has_interval, has_space, has_size, has_pop, has_sysinit,
        has_ifindex, has_vrfid;
    uint8_t flags_end_; /* clear up to here */
    int64_t t[2];          /* first, last, epoch ms */
    uint64_t up[2];        /* sysUptime-relative values */
    uint64_t dur_us;
    uint64_t sampler, interval, space, size, pop, sysinit, ifindex, vrfid;
    const uint8_t *ifname, *vrfname;
    size_t ifname_len, vrfname_len;
} rec_scratch;

int64_t cl_worker_row(cl_ctx *k)
{
    fl_collect_worker *w = k->w;
    int64_t r = fl_batch_add_row(w->b);

    if (r >= 0)
        return r;
    if (fl_collect_worker_flush(w) != FL_OK && w->b->n == w->b->cap)
        return -1;
    return fl_batch_add_row(w->b);
}

static int64_t ntp_ms(const uint8_t *v, size_t n)
{
    uint64_t x = cl_beN(v, n);
    if (n != 8)
        return (int64_t)x; /* not NTP: take it as ms */
    uint64_t sec = x >> 32, frac = x & 0xffffffffu;
    if (sec < NTP_UNIX_OFFSET)
        return 0;
    return (int64_t)((sec - NTP_UNIX_OFFSET) * 1000 + ((frac * 1000) >> 32));
}

static int is_zero(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != 0)
            return 0;
    return 1;
}

void cl_row_rollback(fl_batch *b, uint32_t r)
{
    for (int c = 0; c < FL_COL_COUNT; c++) {
        unsigned wd = fl_col_get((fl_col)c)->width;
        memset((unsigned char *)b->col[c] + (size_t)wd * r, 0, wd);
    }
    b->n = r;
}

/* The 1-in-N rate a record states: n-out-of-N (309/310), interval and
 * space (305/306: take `interval` packets, skip `space`), or a plain
 * interval (34, 50, 305 alone). 0 when the record says nothing. */
static uint32_t stated_rate(const rec_scratch *s)
{
    uint64_t rate = 0;

    if (s->has_size && s->has_pop && s->size > 0 && s->pop >= s->size)
        rate = s->pop / s->size;
    else if (s->has_interval && s->interval > 0)
        rate = s->has_space ? (s->interval + s->space) / s->interval : s->interval;
    return rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
}

static void finish_options(cl_ctx *k, const rec_scratch *s)
{
    cl_exporter *x = k->x;
    uint32_t rate = stated_rate(s);

    x->x.stats.option_records++;
    if (rate > 0)
        cl_set_sampler(x, s->has_sampler, (uint32_t)s->sampler, rate);
    if (s->has_sysinit && s->sysinit > 0)
        x->sys_init_ms = (int64_t)s->sysinit;
    if (s->has_ifindex && s->ifname != NULL)
        cl_set_name(x, 0, (uint32_t)s->ifindex, s->ifname, s->ifname_len);
    if (s->has_vrfid && s->vrfname != NULL)
        cl_set_name(x, 1, (uint32_t)s->vrfid, s->vrfname, s->vrfname_len);
}

static void finish_flow(cl_ctx *k, const cl_template *t, rec_scratch *s, fl_batch *b, uint32_t r)
{
    cl_exporter *x = k->x;
    uint8_t flags = 0;
    uint32_t rate;

    for (int i = 0; i < 2; i++) {
        if (!s->has_up[i] || s->has_t[i])
            continue;
        if (x->x.proto == FL_PROTO_NF9) {
            /* relative to the header's sysUptime; int32 handles wrap */
            s->t[i] = k->unix_ms + (int32_t)((uint32_t)s->up[i] - k->uptime_ms);
            s->has_t[i] = 1;
        } else {
            int64_t init = s->has_sysinit ? (int64_t)s->sysinit : x->sys_init_ms;
            if (init > 0) {
                s->t[i] = init + (int64_t)s->up[i];
                s->has_t[i] = 1;
            }
        }
    }
    if (s->has_dur) {
        if (s->has_t[0] && !s->has_t[1]) {
            s->t[1] = s->t[0] + (int64_t)(s->dur_us / 1000);
            s->has_t[1] = 1;
        } else if (s->has_t[1] && !s->has_t[0]) {
            s->t[0] = s->t[1] - (int64_t)(s->dur_us / 1000);
            s->has_t[0] = 1;
        }
    }
    if (!s->has_t[0] && !s->has_t[1]) {
        s->t[0] = s->t[1] = k->unix_ms;
        flags |= FL_FLOW_TIME_ESTIMATED;
    } else if (!s->has_t[0]) {
        s->t[0] = s->t[1];
    } else if (!s->has_t[1]) {
        s->t[1] = s->t[0];
    }
    if ((FL_U8(b, FL_COL_PROTO)[r] == 1 || FL_U8(b, FL_COL_PROTO)[r] == 58) &&
        !((t->present[FL_COL_ICMP_TYPE / 64] >> (FL_COL_ICMP_TYPE % 64)) & 1) &&
        FL_U16(b, FL_COL_DST_PORT)[r] != 0) {
        /* exporters without an ICMP IE put type<<8|code in the port */
        FL_U8(b, FL_COL_ICMP_TYPE)[r] = (uint8_t)(FL_U16(b, FL_COL_DST_PORT)[r] >> 8);
        FL_U8(b, FL_COL_ICMP_CODE)[r] = (uint8_t)FL_U16(b, FL_COL_DST_PORT)[r];
        fl_batch_mark(b, FL_COL_ICMP_TYPE);
        fl_batch_mark(b, FL_COL_ICMP_CODE);
    }
    FL_TIMES(b, FL_COL_TIME_FIRST)[r] = s->t[0];
    FL_TIMES(b, FL_COL_TIME_LAST)[r] = s->t[1];

    if (x->eff_override)
        rate = 0;
    else if ((rate = stated_rate(s)) == 0)
        rate = cl_lookup_sampler(x, s->has_sampler, (uint32_t)s->sampler);
    rate = cl_rate(x, rate, FL_SAMPLING_SRC_OPTIONS);
    if (rate == 0)
        flags |= FL_FLOW_SAMPLING_UNKNOWN;
    FL_U32(b, FL_COL_SAMPLING_RATE)[r] = rate;
    FL_U8(b, FL_COL_FLOW_FLAGS)[r] = flags;
    FL_U16(b, FL_COL_EXPORTER)[r] = x->x.id;
    FL_TIMES(b, FL_COL_TIME_RECEIVED)[r] = k->now;
    fl_batch_mark(b, FL_COL_TIME_FIRST);
    fl_batch_mark(b, FL_COL_TIME_LAST);
    fl_batch_mark(b, FL_COL_TIME_RECEIVED);
    fl_batch_mark(b, FL_COL_EXPORTER);
    if (rate)
        fl_batch_mark(b, FL_COL_SAMPLING_RATE);
    if (flags)
        fl_batch_mark(b, FL_COL_FLOW_FLAGS);
    x->x.stats.flows++;
}

fl_rc cl_record(cl_ctx *k, const cl_template *t, const uint8_t *p, size_t len, size_t *used)
{
    rec_scratch s;
    fl_batch *b = k->w->b;
    int64_t row = -1;
    size_t off = 0;

    memset(&s, 0, offsetof(rec_scratch, flags_end_));
    s.sampler = 0;
    s.ifname = s.vrfname = NULL;
    if (!t->options) {
        row = cl_worker_row(k);
        if (row < 0)
            return cl_bad(k, FL_BAD_LIMIT, t->id, 0, "no room for a flow: sink refused batches");
        b = k->w->b;
    }
    for (uint16_t i = 0; i < t->nfields; i++) {
        const cl_field *f = &t->f[i];
        size_t n = f->len;
        const uint8_t *v;
        uint64_t u = 0;

        if (n == CL_VARLEN) {
            if (off + 1 > len)
                goto overrun;
            n = p[off++];
            if (n == 255) {
                if (off + 2 > len)
                    goto overrun;
                n = cl_be16(p + off);
                off += 2;
            }
        }
        if (n > len - off)
            goto overrun;
        v = p + off;
        off += n;
        if (f->op == CL_OP_SKIP || n == 0)
            continue;
        if (n <= 8)
            u = cl_beN(v, n);
        switch (f->op) {
        /* several IEs may feed one column (IPv4 and IPv6 addresses, L4 and
         * TCP/UDP ports, a tunnel's outer and inner header): columns start
         * zeroed and the first non-zero value wins, as tshark shows it */
        case CL_OP_UINT:
            if (row < 0 || n > 8)
                break;
            if (f->sole) {
                switch (f->arg) {
                case 1: ((uint8_t *)b->col[f->col])[row] = (uint8_t)u; break;
                case 2: ((uint16_t *)b->col[f->col])[row] = (uint16_t)u; break;
                case 4: ((uint32_t *)b->col[f->col])[row] = (uint32_t)u; break;
                default: ((uint64_t *)b->col[f->col])[row] = u; break;
                }
                break;
            }
            if (u == 0)
                break;
            switch (f->arg) {
            case 1: {
                uint8_t *cv = (uint8_t *)b->col[f->col] + row;
                if (*cv == 0)
                    *cv = (uint8_t)u;
                break;
            }
            case 2: {
                uint16_t *cv = (uint16_t *)b->col[f->col] + row;
                if (*cv == 0)
                    *cv = (uint16_t)u;
                break;
            }
            case 4: {
                uint32_t *cv = (uint32_t *)b->col[f->col] + row;
                if (*cv == 0)
                    *cv = (uint32_t)u;
                break;
            }
            default: {
                uint64_t *cv = (uint64_t *)b->col[f->col] + row;
                if (*cv == 0)
                    *cv = u;
                break;
            }
            }
            break;
        case CL_OP_ADDR:
            if (row < 0 || is_zero(v, n) ||
                (!f->sole && (FL_ADDRS(b, f->col)[row].lo != 0 || FL_ADDRS(b, f->col)[row].hi != 0)))
                break;
            if (n == 4)
                FL_ADDRS(b, f->col)[row] = fl_addr_from_v4(cl_be32(v));
            else if (n == 16)
                FL_ADDRS(b, f->col)[row] = fl_addr_from_v6(v);
            break;
        case CL_OP_MAC:
            if (row >= 0 && n == 6 && u != 0 && (f->sole || FL_MACS(b, f->col)[row] == 0))
                FL_MACS(b, f->col)[row] = u;
            break;
        case CL_OP_ICMP:
            if (row >= 0) {
                FL_U8(b, FL_COL_ICMP_TYPE)[row] = (uint8_t)(u >> 8);
                FL_U8(b, FL_COL_ICMP_CODE)[row] = (uint8_t)u;
            }
            break;
        case CL_OP_TIME: {
            int j = f->col == FL_COL_TIME_LAST;
            switch (f->arg) {
            case CL_T_SEC: s.t[j] = (int64_t)(u * 1000); s.has_t[j] = 1; break;
            case CL_T_MS: s.t[j] = (int64_t)u; s.has_t[j] = 1; break;
            case CL_T_US: case CL_T_NS: s.t[j] = ntp_ms(v, n); s.has_t[j] = 1; break;
            case CL_T_UPTIME: s.up[j] = u; s.has_up[j] = 1; break;
            case CL_T_DELTA_US: s.t[j] = k->unix_ms - (int64_t)(u / 1000); s.has_t[j] = 1; break;
            default: break;
            }
            break;
        }
        case CL_OP_DUR_MS: s.dur_us = u * 1000; s.has_dur = 1; break;
        case CL_OP_DUR_US: s.dur_us = u; s.has_dur = 1; break;
        case CL_OP_SAMPLER: s.sampler = u; s.has_sampler = 1; break;
        case CL_OP_INTERVAL: s.interval = u; s.has_interval = 1; break;
        case CL_OP_SPACE: s.space = u; s.has_space = 1; break;
        case CL_OP_SIZE: s.size = u; s.has_size = 1; break;
        case CL_OP_POP: s.pop = u; s.has_pop = 1; break;
        case CL_OP_SYSINIT: s.sysinit = u; s.has_sysinit = 1; break;
        case CL_OP_IFINDEX: s.ifindex = u; s.has_ifindex = 1; break;
        case CL_OP_IFNAME:
            if (s.ifname == NULL || f->ie == 82) {
                s.ifname = v;
                s.ifname_len = n;
            }
            break;
        case CL_OP_VRFNAME: s.vrfname = v; s.vrfname_len = n; break;
        default: break;
        }
        /* options: ingress interface and VRF id name what the record is about */
        if (t->options && f->pen == 0 && n <= 8) {
            if (f->ie == 10 && f->op != CL_OP_IFINDEX && !s.has_ifindex) {
                s.ifindex = u;
                s.has_ifindex = 1;
            } else if (f->ie == 234 || f->ie == 235) {
                s.vrfid = u;
                s.has_vrfid = 1;
            }
        }
    }
    *used = off;
    if (t->options) {
        finish_options(k, &s);
    } else {
        for (int w = 0; w < FL_PRESENT_WORDS; w++)
            b->present[w] |= t->present[w];
        finish_flow(k, t, &s, b, (uint32_t)row);
    }
    return FL_OK;
overrun:
    if (row >= 0)
        cl_row_rollback(b, (uint32_t)row);
    *used = 0;
    return cl_bad(k, FL_BAD_RECORD, t->id, off, "record of template %u overruns its set",
                  t->id);
}
