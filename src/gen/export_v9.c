/*
 * gen/export_v9.c — NetFlow v9 datagrams, and IPFIX, which shares their
 * template-based layout.
 *
 * Both protocols send the same things in the same order: on the first
 * datagram and every template_every-th one, a template set (an IPv4 and
 * an IPv6 data template), two options template sets (sampling, interface
 * names; one template per set, since nfcapd 1.7.1's v9 reader and pmacct
 * 1.7.7's IPFIX reader take only the first of a set) and the two options
 * data sets; then data sets, one per run of rows of the same address
 * family, filled until the next record would not fit. What differs —
 * header, set ids, the options template's shape, the time elements and
 * what the sequence number counts — is a branch on `ipfix`. Sets are
 * padded to four bytes.
 */
#include "export_int.h"

#include <string.h>

enum { TPL_V4 = 256, TPL_V6 = 257, TPL_SAMPLING = 258, TPL_IFNAME = 259 };

#define V9_HDR 20
#define IPFIX_HDR 16

/* The data templates: v9 and IPFIX share every element but the times and
 * IPFIX's separate ICMPv6 type/code (139); ICMP type/code (type << 8 |
 * code) also stays in the destination port as routers send it. */
#define COMMON_FIELDS                                                             \
    {1, 8}, {2, 8}, {4, 1}, {5, 1}, {6, 1}, {7, 2}, {11, 2}, {10, 4}, {14, 4},     \
    {16, 4}, {17, 4}, {55, 1}, {58, 2}, {59, 2}, {61, 1}
static const exp_field v9_v4[] = {COMMON_FIELDS, {32, 2}, {8, 4}, {12, 4}, {9, 1}, {13, 1},
                                  {15, 4}, {18, 4}, {22, 4}, {21, 4}};
static const exp_field v9_v6[] = {COMMON_FIELDS, {32, 2}, {27, 16}, {28, 16}, {29, 1}, {30, 1},
                                  {62, 16}, {63, 16}, {22, 4}, {21, 4}};
static const exp_field ipfix_v4[] = {COMMON_FIELDS, {32, 2}, {8, 4}, {12, 4}, {9, 1}, {13, 1},
                                     {15, 4}, {18, 4}, {152, 8}, {153, 8}};
static const exp_field ipfix_v6[] = {COMMON_FIELDS, {139, 2}, {27, 16}, {28, 16}, {29, 1}, {30, 1},
                                     {62, 16}, {63, 16}, {152, 8}, {153, 8}};
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Options: scope element then option elements. v9 scope types are its
 * own (1 System); IPFIX scopes are information elements (149
 * observationDomainId, 10 ingressInterface). The v9 sampling record
 * carries SAMPLING_INTERVAL alone: nfcapd 1.7.1 ignores a sampling options
 * template that also has SAMPLING_ALGORITHM (35). Interface records carry
 * the ifIndex, the name and a description (nfcapd reads 10 + 83), the way
 * Cisco's interface table does. */
static const exp_field v9_samp[] = {{1, 4}, {34, 4}};
static const exp_field v9_ifn[] = {{1, 4}, {10, 4}, {82, 16}, {83, 16}};
static const exp_field ipfix_samp[] = {{149, 4}, {34, 4}, {35, 1}, {50, 4}};
static const exp_field ipfix_ifn[] = {{10, 4}, {82, 16}, {83, 16}};

typedef struct tpl_set {
    const exp_field *v4, *v6, *samp, *ifn;
    size_t n4, n6, nsamp, nifn;
} tpl_set;

static const tpl_set v9_set = {v9_v4, v9_v6, v9_samp, v9_ifn, NFIELDS(v9_v4),
                               NFIELDS(v9_v6), NFIELDS(v9_samp), NFIELDS(v9_ifn)};
static const tpl_set ipfix_set = {ipfix_v4, ipfix_v6, ipfix_samp, ipfix_ifn, NFIELDS(ipfix_v4),
                                  NFIELDS(ipfix_v6), NFIELDS(ipfix_samp), NFIELDS(ipfix_ifn)};

static void pad4(exp_w *w, size_t set_start)
{
    while ((w->len - set_start) % 4)
        exp_u8(w, 0);
}

static void put_fields(exp_w *w, const exp_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        exp_u16(w, f[i].ie);
        exp_u16(w, f[i].len);
    }
}

/* Template, options template and options data sets into w; returns the
 * number of records written (v9's header count) and adds the options data
 * records to *odata. */
static uint32_t put_templates(fl_gen_exporter *x, const tpl_set *t, int ipfix, exp_w *w,
                              uint32_t *odata)
{
    size_t s = w->len;
    uint32_t recs = 0;

    /* data templates */
    exp_u16(w, ipfix ? 2 : 0);
    exp_u16(w, 0);
    exp_u16(w, TPL_V4);
    exp_u16(w, t->n4);
    put_fields(w, t->v4, t->n4);
    exp_u16(w, TPL_V6);
    exp_u16(w, t->n6);
    put_fields(w, t->v6, t->n6);
    pad4(w, s);
    exp_patch16(w, s + 2, w->len - s);
    recs += 2;

    /* options templates: one scope element each, one per set */
    for (int k = 0; k < 2; k++) {
        const exp_field *f = k ? t->ifn : t->samp;
        size_t nf = k ? t->nifn : t->nsamp;
        s = w->len;
        exp_u16(w, ipfix ? 3 : 1);
        exp_u16(w, 0);
        exp_u16(w, k ? TPL_IFNAME : TPL_SAMPLING);
        if (ipfix) {
            exp_u16(w, nf); /* field count */
            exp_u16(w, 1);  /* scope field count */
        } else {
            exp_u16(w, 4);            /* scope length in bytes */
            exp_u16(w, 4 * (nf - 1)); /* options length in bytes */
        }
        put_fields(w, f, nf);
        pad4(w, s);
        exp_patch16(w, s + 2, w->len - s);
        recs++;
    }

    /* options data: the sampling record */
    s = w->len;
    exp_u16(w, TPL_SAMPLING);
    exp_u16(w, 0);
    exp_u32(w, x->cfg.exporter); /* scope: system / observation domain */
    exp_u32(w, exp_sampling(x));
    if (ipfix) {
        exp_u8(w, exp_sampling(x) > 1 ? 2 : 0); /* random n-out-of-N */
        exp_u32(w, exp_sampling(x));
    }
    pad4(w, s);
    exp_patch16(w, s + 2, w->len - s);
    recs++;
    (*odata)++;

    /* options data: interface names */
    if (x->nifs > 0) {
        s = w->len;
        exp_u16(w, TPL_IFNAME);
        exp_u16(w, 0);
        for (uint32_t i = 0; i < x->nifs; i++) {
            char name[16], desc[16];
            exp_if_name(x->ifs[i], name, desc);
            if (!ipfix)
                exp_u32(w, x->cfg.exporter); /* scope: system */
            exp_u32(w, x->ifs[i]);
            exp_bytes(w, name, 16);
            exp_bytes(w, desc, 16);
            recs++;
            (*odata)++;
        }
        pad4(w, s);
        exp_patch16(w, s + 2, w->len - s);
    }
    return recs;
}

static int row_is_v4(const fl_batch *b, uint32_t r)
{
    return fl_addr_is_v4(FL_ADDRS(b, FL_COL_SRC_ADDR)[r]) &&
           fl_addr_is_v4(FL_ADDRS(b, FL_COL_DST_ADDR)[r]);
}

static size_t tpl_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n,
                         exp_w *w, uint32_t *consumed, int ipfix)
{
    const tpl_set *t = ipfix ? &ipfix_set : &v9_set;
    size_t rec4 = exp_template_len(t->v4, t->n4), rec6 = exp_template_len(t->v6, t->n6);
    size_t hdr = ipfix ? IPFIX_HDR : V9_HDR, used;
    uint8_t tbuf[FL_GEN_DGRAM_MAX];
    exp_w tw = {tbuf, 0, sizeof tbuf, 0};
    uint32_t recs = 0, odata = 0, k = 0;
    int with_tpl = x->st.datagrams % x->cfg.template_every == 0;
    int fam = -1;

    if (with_tpl) {
        exp_note_ifs(x, b, rows, n);
        recs = put_templates(x, t, ipfix, &tw, &odata);
        if (tw.over) {
            w->over = 1;
            return 0;
        }
        x->st.templates++;
    }
    /* choose the rows that fit: a set header per family run, 3 bytes of
     * padding reserved per set */
    used = hdr + tw.len;
    for (k = 0; k < n; k++) {
        int v4 = row_is_v4(b, rows[k]);
        size_t need = v4 ? rec4 : rec6;
        if (v4 != fam)
            need += 4 + 3;
        if (used + need > w->cap)
            break;
        used += need;
        fam = v4;
    }
    *consumed = k;
    if (k == 0 && tw.len == 0)
        return 0;
    exp_clock_advance(x, b, rows, k);

    if (ipfix) {
        exp_u16(w, 10);
        exp_u16(w, 0); /* length, patched */
        exp_u32(w, (uint64_t)(x->clock / 1000));
        exp_u32(w, x->seq);
        exp_u32(w, x->cfg.exporter);
    } else {
        exp_u16(w, 9);
        exp_u16(w, 0); /* count, patched */
        exp_u32(w, (uint64_t)(x->clock - x->cfg.boot));
        exp_u32(w, (uint64_t)(x->clock / 1000));
        exp_u32(w, x->seq);
        exp_u32(w, x->cfg.exporter);
    }
    exp_bytes(w, tbuf, tw.len);

    fam = -1;
    {
        size_t s = 0;
        for (uint32_t i = 0; i < k; i++) {
            uint32_t r = rows[i];
            int v4 = row_is_v4(b, r);
            const exp_field *f = v4 ? t->v4 : t->v6;
            size_t nf = v4 ? t->n4 : t->n6;
            if (v4 != fam) {
                if (fam >= 0) {
                    pad4(w, s);
                    exp_patch16(w, s + 2, w->len - s);
                }
                s = w->len;
                exp_u16(w, v4 ? TPL_V4 : TPL_V6);
                exp_u16(w, 0);
                fam = v4;
            }
            for (size_t j = 0; j < nf; j++)
                exp_put_field(w, x, b, r, f[j]);
            recs++;
        }
        if (fam >= 0) {
            pad4(w, s);
            exp_patch16(w, s + 2, w->len - s);
        }
    }
    if (ipfix) {
        exp_patch16(w, 2, w->len);
        x->seq += k + odata;
    } else {
        exp_patch16(w, 2, recs);
        x->seq++;
    }
    x->st.flows += k;
    return w->len;
}

size_t exp_v9_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n,
                     exp_w *w, uint32_t *consumed)
{
    return tpl_encode(x, b, rows, n, w, consumed, 0);
}

size_t exp_ipfix_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows,
                        uint32_t n, exp_w *w, uint32_t *consumed)
{
    return tpl_encode(x, b, rows, n, w, consumed, 1);
}
