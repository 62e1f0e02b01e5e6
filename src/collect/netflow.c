/*
 * collect/netflow.c — NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC
 * 7011) datagrams.
 *
 * v5 is a fixed layout and is decoded column by column from the header's
 * count. v9 and IPFIX share the set walk: template sets define templates
 * in the exporter's cache (same id = replacement; IPFIX field count 0 =
 * withdrawal), options template sets define options templates whose
 * records update sampling and names, data sets run records through their
 * template (record.c). Every length is checked against what is left of
 * its container before it is used; a set that does not fit ends the
 * datagram's decoding with the reason counted, records decoded before it
 * are kept. A data set whose template is unknown is counted (and logged,
 * rate-limited) as a missing-template drop.
 *
 * Sequence numbers: v5 and IPFIX number records, v9 numbers datagrams.
 */
#include "collect_int.h"

#include <stdlib.h>
#include <string.h>

#define NF5_HDR 24
#define NF5_REC 48
#define NF9_HDR 20
#define IPFIX_HDR 16

static void missing_template(cl_ctx *k, uint16_t tid, size_t bytes, size_t off)
{
    cl_exporter *x = k->x;
    char a[FL_ADDR_STRLEN];

    x->x.stats.missing_template_sets++;
    x->x.stats.missing_template_bytes += bytes;
    if (x->last_log == 0 || k->now - x->last_log >= 10000) {
        x->last_log = k->now;
        fl_addr_format(x->x.addr, a, sizeof a);
        fl_log_info("collect: exporter %s domain %u template %u: data set at offset %zu "
                    "dropped, template not seen yet",
                    a, x->x.domain, tid, off);
    }
}

/* ---- NetFlow v5 -------------------------------------------------------- */

fl_rc cl_nf5(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len)
{
    uint32_t count, uptime, seq, rate;
    uint16_t sampling;
    fl_collect_worker *w = k->w;
    fl_rc rc = FL_OK;

    if (len < NF5_HDR)
        return cl_bad(k, FL_BAD_SHORT, -1, 0, "NetFlow v5 datagram of %zu bytes", len);
    k->x = cl_exporter_get(k->c, FL_PROTO_NF5, src, (uint32_t)p[20] << 8 | p[21], k->now, k->e);
    if (k->x == NULL)
        return k->e ? k->e->rc : FL_EINVAL;
    k->x->x.stats.datagrams++;
    k->x->x.stats.bytes += len;
    count = cl_be16(p + 2);
    if (count == 0 || (size_t)count * NF5_REC > len - NF5_HDR) {
        rc = cl_bad(k, FL_BAD_LENGTH, -1, 2, "NetFlow v5 count %u needs %zu bytes, datagram has %zu",
                    count, NF5_HDR + (size_t)count * NF5_REC, len);
        goto out;
    }
    uptime = cl_be32(p + 4);
    k->unix_ms = (int64_t)cl_be32(p + 8) * 1000 + cl_be32(p + 12) / 1000000;
    seq = cl_be32(p + 16);
    sampling = cl_be16(p + 22);
    /* mode in the top 2 bits, interval below; an exporter that samples
     * nothing says interval 0 */
    rate = sampling & 0x3fff;
    if (rate == 0)
        rate = 1;
    if (k->x->eff_override) {
        rate = cl_rate(k->x, rate, FL_SAMPLING_SRC_V5);
    } else if (k->x->x.sampling_rate != rate ||
               k->x->x.sampling_source != FL_SAMPLING_SRC_V5) {
        k->x->x.sampling_rate = rate;
        k->x->x.sampling_source = FL_SAMPLING_SRC_V5;
        k->x->announce = 1;
    }
    cl_seq(k->x, seq, count);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *r = p + NF5_HDR + (size_t)i * NF5_REC;
        int64_t row = cl_worker_row(k);
        fl_batch *b = w->b;
        if (row < 0) {
            rc = cl_bad(k, FL_BAD_LIMIT, -1, 0, "sink refused batches");
            goto out;
        }
        FL_ADDRS(b, FL_COL_SRC_ADDR)[row] = fl_addr_from_v4(cl_be32(r));
        FL_ADDRS(b, FL_COL_DST_ADDR)[row] = fl_addr_from_v4(cl_be32(r + 4));
        FL_ADDRS(b, FL_COL_NEXT_HOP)[row] = fl_addr_from_v4(cl_be32(r + 8));
        FL_U32(b, FL_COL_IN_IF)[row] = cl_be16(r + 12);
        FL_U32(b, FL_COL_OUT_IF)[row] = cl_be16(r + 14);
        FL_U64(b, FL_COL_PACKETS)[row] = cl_be32(r + 16);
        FL_U64(b, FL_COL_BYTES)[row] = cl_be32(r + 20);
        FL_TIMES(b, FL_COL_TIME_FIRST)[row] = k->unix_ms + (int32_t)(cl_be32(r + 24) - uptime);
        FL_TIMES(b, FL_COL_TIME_LAST)[row] = k->unix_ms + (int32_t)(cl_be32(r + 28) - uptime);
        FL_U16(b, FL_COL_SRC_PORT)[row] = cl_be16(r + 32);
        FL_U16(b, FL_COL_DST_PORT)[row] = cl_be16(r + 34);
        FL_U8(b, FL_COL_TCP_FLAGS)[row] = r[37];
        FL_U8(b, FL_COL_PROTO)[row] = r[38];
        FL_U8(b, FL_COL_SRC_TOS)[row] = r[39];
        FL_U32(b, FL_COL_SRC_AS)[row] = cl_be16(r + 40);
        FL_U32(b, FL_COL_DST_AS)[row] = cl_be16(r + 42);
        FL_U8(b, FL_COL_SRC_MASK)[row] = r[44];
        FL_U8(b, FL_COL_DST_MASK)[row] = r[45];
        if (r[38] == 1 || r[38] == 58) {
            /* v5 puts ICMP type<<8|code in the destination port */
            FL_U8(b, FL_COL_ICMP_TYPE)[row] = r[34];
            FL_U8(b, FL_COL_ICMP_CODE)[row] = r[35];
        }
        FL_U8(b, FL_COL_ENGINE_TYPE)[row] = p[20];
        FL_U8(b, FL_COL_ENGINE_ID)[row] = p[21];
        FL_U32(b, FL_COL_SAMPLING_RATE)[row] = rate;
        FL_U16(b, FL_COL_EXPORTER)[row] = k->x->x.id;
        FL_TIMES(b, FL_COL_TIME_RECEIVED)[row] = k->now;
    }
    {
        static const fl_col cols[] = {
            FL_COL_SRC_ADDR, FL_COL_DST_ADDR, FL_COL_NEXT_HOP, FL_COL_IN_IF, FL_COL_OUT_IF,
            FL_COL_PACKETS, FL_COL_BYTES, FL_COL_TIME_FIRST, FL_COL_TIME_LAST, FL_COL_SRC_PORT,
            FL_COL_DST_PORT, FL_COL_TCP_FLAGS, FL_COL_PROTO, FL_COL_SRC_TOS, FL_COL_SRC_AS,
            FL_COL_DST_AS, FL_COL_SRC_MASK, FL_COL_DST_MASK, FL_COL_ICMP_TYPE, FL_COL_ICMP_CODE,
            FL_COL_ENGINE_TYPE, FL_COL_ENGINE_ID, FL_COL_SAMPLING_RATE, FL_COL_EXPORTER,
            FL_COL_TIME_RECEIVED};
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            fl_batch_mark(w->b, cols[i]);
    }
    k->x->x.stats.flows += count;
out:
    cl_exporter_unlock(k->c, k->x);
    return rc;
}

/* ---- templates (v9 and IPFIX) ------------------------------------------ */

/* Parse nf field specifiers at p[*off..end) into f; IPFIX ones may carry an
 * enterprise number. Returns FL_OK or the cl_bad code. */
static fl_rc parse_fields(cl_ctx *k, const uint8_t *p, size_t *off, size_t end, uint16_t tid,
                          uint16_t nf, uint16_t nscope, int ipfix, cl_field *f)
{
    for (uint16_t i = 0; i < nf; i++) {
        if (end - *off < 4)
            return cl_bad(k, FL_BAD_TEMPLATE, tid, *off, "field %u of %u runs past the set", i, nf);
        f[i].ie = cl_be16(p + *off);
        f[i].len = cl_be16(p + *off + 2);
        f[i].pen = 0;
        *off += 4;
        if (ipfix && (f[i].ie & 0x8000)) {
            if (end - *off < 4)
                return cl_bad(k, FL_BAD_TEMPLATE, tid, *off, "enterprise number runs past the set");
            f[i].ie &= 0x7fff;
            f[i].pen = cl_be32(p + *off);
            *off += 4;
        }
        /* v9 has no variable-length fields, but H3C/Huawei NetStream send
         * length 65535 with IPFIX's encoding; decode them the same way */
        cl_field_bind(&f[i], !ipfix && i < nscope);
    }
    return FL_OK;
}

static fl_rc add_template(cl_ctx *k, uint16_t tid, int options, uint16_t nscope,
                          const cl_field *f, uint16_t nf, size_t off)
{
    cl_template *t = cl_tpl_build(tid, options, nscope, f, nf);
    fl_rc rc;

    if (t == NULL)
        return cl_bad(k, FL_BAD_LIMIT, tid, off, "out of memory for a template");
    if (t->min_len == 0 || t->min_len > 65535) {
        rc = cl_bad(k, FL_BAD_TEMPLATE, tid, off, "template record length %u is absurd",
                    t->min_len);
        free(t);
        return rc;
    }
    rc = cl_tpl_put(k->c, k->x, t);
    if (rc != FL_OK)
        return cl_bad(k, FL_BAD_LIMIT, tid, off, "template cache of the exporter is full (%u)",
                      k->c->cfg.max_templates);
    k->x->x.stats.templates_seen++;
    return FL_OK;
}

/* A template set (v9 id 0, IPFIX id 2): [off, end). */
static fl_rc template_set(cl_ctx *k, const uint8_t *p, size_t off, size_t end, int ipfix,
                          cl_field *f)
{
    while (end - off >= 4) {
        uint16_t tid = cl_be16(p + off), nf = cl_be16(p + off + 2);
        size_t at = off;
        fl_rc rc;

        if (tid == 0 && nf == 0)
            break; /* padding */
        off += 4;
        if (ipfix && nf == 0) {
            if (tid == 2)
                k->x->x.stats.templates_withdrawn += cl_tpl_withdraw_all(k->x, 0);
            else
                k->x->x.stats.templates_withdrawn += (uint64_t)cl_tpl_withdraw(k->x, tid);
            continue;
        }
        if (tid < 256)
            return cl_bad(k, FL_BAD_TEMPLATE, tid, at, "template id %u below 256", tid);
        if (nf == 0 || nf > CL_MAX_FIELDS)
            return cl_bad(k, FL_BAD_TEMPLATE, tid, at, "template with %u fields", nf);
        rc = parse_fields(k, p, &off, end, tid, nf, 0, ipfix, f);
        if (rc != FL_OK)
            return rc;
        rc = add_template(k, tid, 0, 0, f, nf, at);
        if (rc != FL_OK)
            return rc;
    }
    return FL_OK;
}

/* An options template set (v9 id 1, IPFIX id 3). */
static fl_rc options_set(cl_ctx *k, const uint8_t *p, size_t off, size_t end, int ipfix,
                         cl_field *f)
{
    while (end - off >= 6) {
        uint16_t tid = cl_be16(p + off), a = cl_be16(p + off + 2), b = cl_be16(p + off + 4);
        uint16_t nf, nscope;
        size_t at = off;
        fl_rc rc;

        if (tid == 0)
            break; /* padding */
        if (ipfix) {
            nf = a;
            nscope = b;
            off += nf == 0 ? 4 : 6;
            if (nf == 0) {
                if (tid == 3)
                    k->x->x.stats.templates_withdrawn += cl_tpl_withdraw_all(k->x, 1);
                else
                    k->x->x.stats.templates_withdrawn += (uint64_t)cl_tpl_withdraw(k->x, tid);
                continue;
            }
            if (nscope > nf)
                return cl_bad(k, FL_BAD_TEMPLATE, tid, at, "%u scope fields of %u", nscope, nf);
        } else {
            /* v9: scope and option lengths in bytes, 4 per field */
            if (a % 4 != 0 || b % 4 != 0)
                return cl_bad(k, FL_BAD_TEMPLATE, tid, at,
                              "options template lengths %u/%u not multiples of 4", a, b);
            nscope = a / 4;
            nf = (uint16_t)(nscope + b / 4);
            off += 6;
        }
        if (tid < 256)
            return cl_bad(k, FL_BAD_TEMPLATE, tid, at, "template id %u below 256", tid);
        if (nf == 0 || nf > CL_MAX_FIELDS)
            return cl_bad(k, FL_BAD_TEMPLATE, tid, at, "options template with %u fields", nf);
        rc = parse_fields(k, p, &off, end, tid, nf, nscope, ipfix, f);
        if (rc != FL_OK)
            return rc;
        rc = add_template(k, tid, 1, nscope, f, nf, at);
        if (rc != FL_OK)
            return rc;
        if (!ipfix)
            break; /* v9 pads after the one options template of a set */
    }
    return FL_OK;
}

/* A data set: records of template tid until less than one record is left
 * (the rest is padding). *nrec counts records decoded. */
static fl_rc data_set(cl_ctx *k, uint16_t tid, const uint8_t *p, size_t off, size_t end,
                      uint32_t *nrec)
{
    const cl_template *t = cl_tpl_find(k->x, tid);

    if (t == NULL) {
        missing_template(k, tid, end - off, off);
        return FL_ENOTFOUND;
    }
    while (end - off >= t->min_len) {
        size_t used = 0;
        fl_rc rc = cl_record(k, t, p + off, end - off, &used);
        if (rc != FL_OK) {
            if (k->e)
                k->e->offset += (long long)off;
            return rc;
        }
        off += used;
        (*nrec)++;
    }
    return FL_OK;
}

/* Walk the sets of a v9 or IPFIX message body [off, end). */
static fl_rc walk_sets(cl_ctx *k, const uint8_t *p, size_t off, size_t end, int ipfix,
                       uint32_t *nrec, int *missing)
{
    cl_field f[CL_MAX_FIELDS];
    fl_rc rc = FL_OK;

    while (end - off >= 4 && rc == FL_OK) {
        uint16_t id = cl_be16(p + off), slen = cl_be16(p + off + 2);
        if (slen < 4 || slen > end - off) {
            if (!ipfix && id == 0 && slen == 0)
                break; /* zero padding after the last flowset */
            return cl_bad(k, FL_BAD_SET, id >= 256 ? id : -1, off,
                          "set id %u length %u, %zu bytes left", id, slen, end - off);
        }
        if (id == (ipfix ? 2 : 0))
            rc = template_set(k, p, off + 4, off + slen, ipfix, f);
        else if (id == (ipfix ? 3 : 1))
            rc = options_set(k, p, off + 4, off + slen, ipfix, f);
        else if (id >= 256) {
            rc = data_set(k, id, p, off + 4, off + slen, nrec);
            if (rc == FL_ENOTFOUND) {
                *missing = 1;
                rc = FL_OK;
            }
        }
        off += slen;
    }
    return rc;
}

/* ---- NetFlow v9 -------------------------------------------------------- */

fl_rc cl_nf9(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len)
{
    uint32_t nrec = 0;
    int missing = 0;
    fl_rc rc;

    if (len < NF9_HDR)
        return cl_bad(k, FL_BAD_SHORT, -1, 0, "NetFlow v9 datagram of %zu bytes", len);
    k->x = cl_exporter_get(k->c, FL_PROTO_NF9, src, cl_be32(p + 16), k->now, k->e);
    if (k->x == NULL)
        return k->e ? k->e->rc : FL_EINVAL;
    k->x->x.stats.datagrams++;
    k->x->x.stats.bytes += len;
    k->uptime_ms = cl_be32(p + 4);
    k->unix_ms = (int64_t)cl_be32(p + 8) * 1000;
    cl_seq(k->x, cl_be32(p + 12), 1);
    rc = walk_sets(k, p, NF9_HDR, len, 0, &nrec, &missing);
    cl_exporter_unlock(k->c, k->x);
    return rc;
}

/* ---- IPFIX ------------------------------------------------------------- */

fl_rc cl_ipfix(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len)
{
    uint32_t nrec = 0, mlen;
    int missing = 0;
    fl_rc rc;

    if (len < IPFIX_HDR)
        return cl_bad(k, FL_BAD_SHORT, -1, 0, "IPFIX message of %zu bytes", len);
    k->x = cl_exporter_get(k->c, FL_PROTO_IPFIX, src, cl_be32(p + 12), k->now, k->e);
    if (k->x == NULL)
        return k->e ? k->e->rc : FL_EINVAL;
    k->x->x.stats.datagrams++;
    k->x->x.stats.bytes += len;
    mlen = cl_be16(p + 2);
    if (mlen < IPFIX_HDR || mlen > len) {
        rc = cl_bad(k, FL_BAD_LENGTH, -1, 2, "IPFIX message length %u, datagram has %zu", mlen,
                    len);
        goto out;
    }
    k->unix_ms = (int64_t)cl_be32(p + 4) * 1000;
    rc = walk_sets(k, p, IPFIX_HDR, mlen, 1, &nrec, &missing);
    /* the sequence counts data records sent before this message */
    cl_seq_ipfix(k->x, cl_be32(p + 8), nrec);
    if (missing || rc != FL_OK)
        k->x->have_seq = 0; /* records we could not count: resynchronise */
out:
    cl_exporter_unlock(k->c, k->x);
    return rc;
}
