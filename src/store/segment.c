/*
 * store/segment.c — segment files: header, blocks, footer, trailer.
 *
 * A segment file is a header (version, slot, the column table by name and
 * kind, so a later build with more columns still reads it), then blocks (a
 * block is one row group: a header, the chunk metadata with zone maps and
 * blooms, then the chunks' bytes), then — once the slot is closed — a
 * footer repeating every block's metadata (one read prunes the whole file)
 * and a fixed trailer pointing at it.
 *
 * The open slot is the same file without footer: blocks are appended as
 * row groups fill up (final blocks) and at every flush (delta blocks
 * holding the rows since the last flush, superseded by the group's final
 * block). Readers and recovery walk its blocks in order and stop at the
 * first one whose checksums fail, which is how a torn tail after a crash
 * is cut off. Closing copies the live blocks into a new file with a footer.
 *
 * Every length read from a file is checked against the file size and the
 * format's bounds before it is used; the fuzz target runs this code.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

fl_rc seg_read(const seg_src *s, uint64_t off, void *dst, size_t n, fl_err *e)
{
    if (off > s->size || n > s->size - off)
        return fl_err_at(e, FL_ETRUNCATED, s->name, 0, (long long)off,
                         "file ends before %zu bytes at this offset", n);
    if (s->mem) {
        memcpy(dst, s->mem + off, n);
        return FL_OK;
    }
    {
        size_t got = 0;
        while (got < n) {
            ssize_t r = pread(s->fd, (uint8_t *)dst + got, n - got, (off_t)(off + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return fl_err_at(e, r == 0 ? FL_ETRUNCATED : FL_EIO, s->name, 0,
                                 (long long)(off + got), "read failed: %s",
                                 r == 0 ? "end of file" : strerror(errno));
            got += (size_t)r;
        }
    }
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Header                                                              */

fl_rc seg_header_build(sbuf *out, fl_time slot_start, fl_time slot_ms, uint32_t seq)
{
    uint8_t fx[SEG_HDR_FIXED];
    size_t start = out->n;

    memcpy(fx, SEG_MAGIC, 8);
    put32(fx + 8, FL_STORE_FORMAT_VERSION);
    put32(fx + 12, 0); /* hdr_len, patched below */
    put64(fx + 16, (uint64_t)slot_start);
    put64(fx + 24, (uint64_t)slot_ms);
    put32(fx + 32, seq);
    put32(fx + 36, FL_COL_COUNT);
    if (sbuf_put(out, fx, sizeof fx) != 0)
        return FL_ENOMEM;
    for (int c = 0; c < FL_COL_COUNT; c++) {
        const fl_col_info *ci = fl_col_get((fl_col)c);
        uint8_t kl[2] = {(uint8_t)ci->kind, (uint8_t)strlen(ci->name)};
        if (sbuf_put(out, kl, 2) != 0 || sbuf_put(out, ci->name, kl[1]) != 0)
            return FL_ENOMEM;
    }
    if (sbuf_reserve(out, 4) != 0)
        return FL_ENOMEM;
    put32(out->p + start + 12, (uint32_t)(out->n - start + 4));
    put32(out->p + out->n, store_crc32c(0, out->p + start, out->n - start));
    out->n += 4;
    return FL_OK;
}

fl_rc seg_header_parse(const seg_src *s, seg_header *h, fl_err *e)
{
    uint8_t fx[SEG_HDR_FIXED], *buf = NULL;
    fl_rc rc;
    size_t p;

    memset(h, 0, sizeof *h);
    if ((rc = seg_read(s, 0, fx, 16, e)) != FL_OK)
        return rc;
    if (memcmp(fx, SEG_MAGIC, 8) != 0)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, 0, "not a flowlens segment (bad magic)");
    h->version = get32(fx + 8);
    if (h->version > FL_STORE_FORMAT_VERSION)
        return fl_err_at(e, FL_EVERSION, s->name, 0, 8,
                         "segment format version %u is newer than this flowlens reads (%d); "
                         "upgrade flowlens to read it",
                         h->version, FL_STORE_FORMAT_VERSION);
    if (h->version == 0)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, 8, "segment format version 0");
    if ((rc = seg_read(s, 0, fx, sizeof fx, e)) != FL_OK)
        return rc;
    h->hdr_len = get32(fx + 12);
    h->slot_start = (fl_time)get64(fx + 16);
    h->slot_ms = (fl_time)get64(fx + 24);
    h->seq = get32(fx + 32);
    h->ncols = get32(fx + 36);
    if (h->ncols == 0 || h->ncols > SEG_MAX_COLS || h->hdr_len < SEG_HDR_FIXED + 4 ||
        h->hdr_len > SEG_HDR_FIXED + 4 + SEG_MAX_COLS * 257u)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, 12, "header length %u / %u columns invalid",
                         h->hdr_len, h->ncols);
    buf = malloc(h->hdr_len);
    if (buf == NULL)
        return FL_ENOMEM;
    if ((rc = seg_read(s, 0, buf, h->hdr_len, e)) != FL_OK)
        goto out;
    if (store_crc32c(0, buf, h->hdr_len - 4) != get32(buf + h->hdr_len - 4)) {
        rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, 0, "header checksum mismatch");
        goto out;
    }
    p = SEG_HDR_FIXED;
    for (uint32_t i = 0; i < h->ncols; i++) {
        char name[256];
        unsigned kind, len;
        int c;
        if (p + 2 > h->hdr_len - 4) {
            rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)p, "column table truncated");
            goto out;
        }
        kind = buf[p];
        len = buf[p + 1];
        if (p + 2 + len > h->hdr_len - 4) {
            rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)p, "column name truncated");
            goto out;
        }
        memcpy(name, buf + p + 2, len);
        name[len] = '\0';
        p += 2 + len;
        c = fl_col_by_name(name);
        /* a column of another kind than ours is ignored (reads as zero) */
        h->map[i] = (c >= 0 && fl_col_get((fl_col)c)->kind == (fl_kind)kind) ? c : -1;
    }
    rc = FL_OK;
out:
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Blocks                                                              */

static int all_zero(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc |= v;
    }
    for (; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

fl_rc block_build(chunk_enc *c, void *const *cols, uint32_t from, uint32_t n, uint32_t group,
                  int kind, int blooms, sbuf *out, sbuf *meta, sbuf *data)
{
    uint8_t hdr[BLK_HDR];
    uint16_t ncols = 0;
    uint32_t crc;
    fl_rc rc;

    meta->n = 0;
    data->n = 0;
    for (int col = 0; col < FL_COL_COUNT; col++) {
        unsigned w = fl_col_get((fl_col)col)->width;
        const uint8_t *v;
        if (cols[col] == NULL)
            continue;
        v = (const uint8_t *)cols[col] + (size_t)from * w;
        if (all_zero(v, (size_t)n * w))
            continue;
        {
            /* candidate references: earlier time columns only */
            const fl_time *refs[2] = {NULL, NULL};
            if (col != FL_COL_TIME_FIRST && cols[FL_COL_TIME_FIRST])
                refs[0] = (const fl_time *)cols[FL_COL_TIME_FIRST] + from;
            if (col != FL_COL_TIME_FIRST && col != FL_COL_TIME_LAST && cols[FL_COL_TIME_LAST])
                refs[1] = (const fl_time *)cols[FL_COL_TIME_LAST] + from;
            rc = chunk_encode(c, (uint16_t)col, fl_col_get((fl_col)col)->kind, v, refs, n,
                              blooms && (col == FL_COL_SRC_ADDR || col == FL_COL_DST_ADDR),
                              (uint32_t)data->n, meta, data);
        }
        if (rc != FL_OK)
            return rc;
        ncols++;
    }
    memset(hdr, 0, sizeof hdr);
    put32(hdr, BLK_MAGIC);
    put32(hdr + 4, (uint32_t)meta->n);
    put32(hdr + 8, (uint32_t)data->n);
    put32(hdr + 12, n);
    put32(hdr + 16, group);
    put16(hdr + 20, (uint16_t)kind);
    put16(hdr + 22, ncols);
    crc = store_crc32c(0, hdr, 24);
    crc = store_crc32c(crc, meta->p, meta->n);
    put32(hdr + 24, crc);
    if (sbuf_put(out, hdr, sizeof hdr) != 0 || sbuf_put(out, meta->p, meta->n) != 0 ||
        sbuf_put(out, data->p, data->n) != 0)
        return FL_ENOMEM;
    return FL_OK;
}

void block_clear(seg_block *b)
{
    free(b->chunks);
    free(b->meta);
    memset(b, 0, sizeof *b);
}

fl_rc block_parse_mem(const seg_header *h, seg_block *b, const char *name, fl_err *e)
{
    const uint8_t *m = b->meta;
    size_t p = BLK_HDR, end;
    uint32_t crc;

    if (get32(m) != BLK_MAGIC)
        return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)b->off, "bad block magic");
    b->meta_len = get32(m + 4);
    b->data_len = get32(m + 8);
    b->nrows = get32(m + 12);
    b->group = get32(m + 16);
    b->kind = get16(m + 20);
    b->ncols = get16(m + 22);
    end = BLK_HDR + (size_t)b->meta_len;
    crc = store_crc32c(0, m, 24);
    crc = store_crc32c(crc, m + BLK_HDR, b->meta_len);
    if (crc != get32(m + 24))
        return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)b->off,
                         "block %u metadata checksum mismatch", b->group);
    if (b->nrows == 0 || b->nrows > FL_STORE_GROUP_ROWS || b->kind > BLK_PSUM_DST ||
        b->ncols > h->ncols)
        return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)b->off,
                         "block with %u rows, kind %u, %u columns", b->nrows, b->kind, b->ncols);
    b->chunks = calloc(b->ncols ? b->ncols : 1, sizeof *b->chunks);
    if (b->chunks == NULL)
        return FL_ENOMEM;
    for (uint16_t i = 0; i < b->ncols; i++) {
        seg_chunk *ch = &b->chunks[i];
        const uint8_t *q = m + p;
        if (p + CHUNK_META > end)
            return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                             "chunk metadata truncated");
        ch->fcol = get16(q);
        ch->enc = q[2];
        ch->codec = q[3];
        ch->width = q[4];
        ch->flags = q[5];
        ch->dict_n = 0;
        ch->off = get32(q + 8);
        ch->stored = get32(q + 12);
        ch->raw = get32(q + 16);
        ch->crc = get32(q + 20);
        ch->base = get64(q + 24);
        ch->aux = get64(q + 32);
        ch->ref_col = -1;
        if (ch->enc == ENC_REF) {
            /* the reference must be another, known time column */
            if (ch->aux >= h->ncols || h->map[ch->aux] < 0 ||
                fl_col_get((fl_col)h->map[ch->aux])->kind != FL_KIND_TIME || ch->aux == ch->fcol)
                return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                                 "chunk refers to column #%llu", (unsigned long long)ch->aux);
            ch->ref_col = h->map[ch->aux];
        }
        if (ch->enc == ENC_DICT) {
            if (ch->aux == 0 || ch->aux > FL_STORE_GROUP_ROWS)
                return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                                 "dictionary of %llu entries", (unsigned long long)ch->aux);
            ch->dict_n = (uint32_t)ch->aux;
        }
        ch->min.hi = get64(q + 40);
        ch->min.lo = get64(q + 48);
        ch->max.hi = get64(q + 56);
        ch->max.lo = get64(q + 64);
        p += CHUNK_META;
        if (ch->fcol >= h->ncols)
            return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                             "chunk of column %u, file has %u", ch->fcol, h->ncols);
        ch->col = h->map[ch->fcol];
        if (ch->col >= 0 && fl_col_get((fl_col)ch->col)->kind != FL_KIND_ADDR) {
            /* integer zone maps live in the first 8 bytes of each */
            ch->min.lo = ch->min.hi;
            ch->max.lo = ch->max.hi;
            ch->min.hi = ch->max.hi = 0;
        }
        if ((uint64_t)ch->off + ch->stored > b->data_len || ch->raw > CHUNK_RAW_MAX)
            return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                             "chunk extent outside its block");
        if (ch->flags & 1) {
            if (p + 4 > end)
                return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                                 "bloom length truncated");
            ch->bloom_len = get32(m + p);
            p += 4;
            if (ch->bloom_len > BLOOM_MAX_BYTES || p + ch->bloom_len > end)
                return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                                 "bloom of %u bytes does not fit", ch->bloom_len);
            ch->bloom = m + p;
            p += ch->bloom_len;
        }
    }
    if (p != end)
        return fl_err_at(e, FL_ECORRUPT, name, 0, (long long)(b->off + p),
                         "block metadata has %zu stray bytes", end - p);
    return FL_OK;
}

fl_rc block_parse_whole(const seg_src *s, const seg_header *h, uint64_t off, uint64_t len,
                        seg_block *b, uint64_t *next, fl_err *e)
{
    uint32_t ml, dl;
    fl_rc rc;

    memset(b, 0, sizeof *b);
    b->off = off;
    if (len < BLK_HDR || len > SEG_MAX_DATA || off + len > s->size)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)off, "block extent out of range");
    if ((b->meta = malloc(len)) == NULL)
        return FL_ENOMEM;
    if ((rc = seg_read(s, off, b->meta, len, e)) != FL_OK)
        goto bad;
    ml = get32(b->meta + 4);
    dl = get32(b->meta + 8);
    if (get32(b->meta) != BLK_MAGIC || (uint64_t)BLK_HDR + ml + dl > len) {
        rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)off,
                       "bad block magic or lengths");
        goto bad;
    }
    if ((rc = block_parse_mem(h, b, s->name, e)) != FL_OK)
        goto bad;
    b->data = b->meta + BLK_HDR + ml;
    *next = off + BLK_HDR + ml + dl;
    return FL_OK;
bad:
    block_clear(b);
    return rc;
}

fl_rc block_parse(const seg_src *s, const seg_header *h, uint64_t off, seg_block *b,
                  uint64_t *next, fl_err *e)
{
    uint8_t hdr[BLK_HDR];
    uint32_t ml, dl;
    fl_rc rc;

    memset(b, 0, sizeof *b);
    b->off = off;
    if ((rc = seg_read(s, off, hdr, sizeof hdr, e)) != FL_OK)
        return rc;
    if (get32(hdr) != BLK_MAGIC)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)off, "bad block magic");
    ml = get32(hdr + 4);
    dl = get32(hdr + 8);
    if (ml > SEG_MAX_META || dl > SEG_MAX_DATA)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)off, "block lengths too large");
    if (off + BLK_HDR + ml + dl > s->size)
        return fl_err_at(e, FL_ETRUNCATED, s->name, 0, (long long)off,
                         "block extends past the end of the file");
    b->meta = malloc(BLK_HDR + (size_t)ml);
    if (b->meta == NULL)
        return FL_ENOMEM;
    memcpy(b->meta, hdr, BLK_HDR);
    if ((rc = seg_read(s, off + BLK_HDR, b->meta + BLK_HDR, ml, e)) != FL_OK ||
        (rc = block_parse_mem(h, b, s->name, e)) != FL_OK) {
        block_clear(b);
        return rc;
    }
    *next = off + BLK_HDR + ml + dl;
    return FL_OK;
}

void seg_blocks_free(seg_blocks *bl)
{
    for (size_t i = 0; i < bl->n; i++)
        block_clear(&bl->v[i]);
    free(bl->v);
    memset(bl, 0, sizeof *bl);
}

int seg_blocks_push(seg_blocks *bl, seg_block *b)
{
    if (bl->n == bl->cap) {
        size_t cap = bl->cap ? bl->cap * 2 : 16;
        seg_block *v;
        if (cap > SEG_MAX_BLOCKS)
            return -1;
        v = realloc(bl->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        bl->v = v;
        bl->cap = cap;
    }
    bl->v[bl->n++] = *b;
    memset(b, 0, sizeof *b);
    return 0;
}

/* Every chunk's stored bytes match their CRC (the block is complete). */
static fl_rc block_check_data(const seg_src *s, const seg_block *b, fl_err *e)
{
    uint8_t *buf;
    fl_rc rc = FL_OK;
    uint64_t base = b->off + BLK_HDR + b->meta_len;

    if (b->data_len == 0)
        return FL_OK;
    buf = malloc(b->data_len);
    if (buf == NULL)
        return FL_ENOMEM;
    if ((rc = seg_read(s, base, buf, b->data_len, e)) != FL_OK)
        goto out;
    for (uint16_t i = 0; i < b->ncols; i++) {
        const seg_chunk *ch = &b->chunks[i];
        if (store_crc32c(0, buf + ch->off, ch->stored) != ch->crc) {
            rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)(base + ch->off),
                           "block %u chunk checksum mismatch", b->group);
            goto out;
        }
    }
out:
    free(buf);
    return rc;
}

static fl_rc load_closed(const seg_src *s, const seg_header *h, seg_blocks *bl, fl_err *e)
{
    uint8_t tr[SEG_TRAILER], *f = NULL;
    uint64_t foff;
    uint32_t flen, nb;
    size_t p;
    fl_rc rc;

    if ((rc = seg_read(s, s->size - SEG_TRAILER, tr, sizeof tr, e)) != FL_OK)
        return rc;
    foff = get64(tr);
    flen = get32(tr + 8);
    if (foff < h->hdr_len || flen < 40 || foff + flen != s->size - SEG_TRAILER ||
        flen > SEG_MAX_META * 4u)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)(s->size - SEG_TRAILER),
                         "trailer points outside the file");
    f = malloc(flen);
    if (f == NULL)
        return FL_ENOMEM;
    if ((rc = seg_read(s, foff, f, flen, e)) != FL_OK)
        goto out;
    if (store_crc32c(0, f, flen) != get32(tr + 12)) {
        rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)foff, "footer checksum mismatch");
        goto out;
    }
    if (get32(f) != FOOT_MAGIC) {
        rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)foff, "bad footer magic");
        goto out;
    }
    nb = get32(f + 4);
    p = 40 + (size_t)get32(f + 36) * 2; /* after the exporter list */
    if (flen < 40 || nb > SEG_MAX_BLOCKS || get32(f + 36) > CAT_MAX_EXP || p > flen) {
        rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)foff, "footer counts invalid");
        goto out;
    }
    if (p + (size_t)nb * (8 + BLK_HDR) != flen) {
        rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)foff, "footer length invalid");
        goto out;
    }
    /* the footer lists each block's offset and header; the metadata is
     * read from the block itself (checked by its CRC). A damaged block is
     * skipped and counted, the others stay readable. */
    for (uint32_t i = 0; i < nb; i++, p += 8 + BLK_HDR) {
        seg_block b;
        uint64_t next;
        fl_err le;
        fl_rc r;
        uint64_t off = get64(f + p);
        memset(&b, 0, sizeof b);
        if (off < h->hdr_len || off >= foff)
            r = fl_err_at(&le, FL_ECORRUPT, s->name, 0, (long long)off,
                          "block %u lies outside the data area", i);
        else if ((r = block_parse(s, h, off, &b, &next, &le)) == FL_OK) {
            if (next > foff || memcmp(b.meta, f + p + 8, BLK_HDR) != 0)
                r = fl_err_at(&le, FL_ECORRUPT, s->name, 0, (long long)off,
                              "block %u does not match the footer", i);
        }
        if (r == FL_ENOMEM) {
            block_clear(&b);
            rc = r;
            goto out;
        }
        if (r != FL_OK) {
            block_clear(&b);
            if (bl->bad++ == 0)
                fl_err_format(&le, bl->bad_msg, sizeof bl->bad_msg);
            continue;
        }
        if (seg_blocks_push(bl, &b) != 0) {
            block_clear(&b);
            rc = FL_ENOMEM;
            goto out;
        }
    }
    bl->closed = 1;
    rc = FL_OK;
out:
    free(f);
    return rc;
}

static fl_rc load_open(const seg_src *s, const seg_header *h, seg_blocks *bl, fl_err *e)
{
    uint64_t off = h->hdr_len;
    fl_err le;

    bl->valid_end = off;
    while (off < s->size) {
        seg_block b;
        uint64_t next;
        fl_rc rc = block_parse(s, h, off, &b, &next, &le);
        if (rc == FL_OK)
            rc = block_check_data(s, &b, &le);
        if (rc == FL_ENOMEM) {
            block_clear(&b);
            return rc;
        }
        if (rc != FL_OK) {
            block_clear(&b);
            bl->tail_bad = 1;
            break;
        }
        if (seg_blocks_push(bl, &b) != 0) {
            block_clear(&b);
            return fl_err_set(e, FL_ENOMEM, "too many blocks");
        }
        off = next;
        bl->valid_end = off;
    }
    /* a group's final block supersedes the delta blocks written before */
    {
        size_t w = 0;
        for (size_t i = 0; i < bl->n; i++) {
            int superseded = 0;
            if (bl->v[i].kind == BLK_DELTA)
                for (size_t j = i + 1; j < bl->n; j++)
                    if (bl->v[j].kind == BLK_FINAL && bl->v[j].group == bl->v[i].group) {
                        superseded = 1;
                        break;
                    }
            if (superseded)
                block_clear(&bl->v[i]);
            else
                bl->v[w++] = bl->v[i];
        }
        bl->n = w;
    }
    return FL_OK;
}

fl_rc seg_load_blocks(const seg_src *s, const seg_header *h, seg_blocks *bl, fl_err *e)
{
    uint8_t tr[SEG_TRAILER];
    fl_rc rc;

    memset(bl, 0, sizeof *bl);
    if (s->size >= (uint64_t)h->hdr_len + SEG_TRAILER &&
        seg_read(s, s->size - 8, tr, 8, e) == FL_OK && memcmp(tr, SEG_TAIL_MAGIC, 8) == 0) {
        rc = load_closed(s, h, bl, e);
        if (rc == FL_ENOMEM)
            return rc;
        if (rc == FL_OK)
            return FL_OK;
        /* damaged footer: the blocks carry their own checksums, so walk
         * them as in an open file; bl->closed stays 0 and callers warn */
        seg_blocks_free(bl);
    }
    rc = load_open(s, h, bl, e);
    if (rc != FL_OK)
        seg_blocks_free(bl);
    return rc;
}

/* Read chunk ch's stored bytes into stored_buf and check its CRC; *off
 * gets its file offset. */
static fl_rc read_stored(const seg_src *s, const seg_block *b, const seg_chunk *ch,
                         uint8_t *stored_buf, uint64_t *off, fl_err *e)
{
    fl_rc rc;

    *off = b->off + BLK_HDR + b->meta_len + ch->off;
    if (ch->stored > CHUNK_RAW_MAX + 1024)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)*off, "chunk of %u bytes",
                         ch->stored);
    if (b->data != NULL) /* read with its block (ch->off checked at parse) */
        memcpy(stored_buf, b->data + ch->off, ch->stored);
    else if ((rc = seg_read(s, *off, stored_buf, ch->stored, e)) != FL_OK)
        return rc;
    if (store_crc32c(0, stored_buf, ch->stored) != ch->crc)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)*off, "checksum mismatch");
    return FL_OK;
}

static fl_rc decoded_at(const seg_src *s, uint64_t off, fl_rc rc, fl_err *e)
{
    if (rc != FL_OK && e != NULL) {
        e->offset = (long long)off;
        snprintf(e->where, sizeof e->where, "%s", s->name);
    }
    return rc;
}

fl_rc seg_read_chunk(const seg_src *s, const seg_block *b, const seg_chunk *ch, fl_kind k,
                     const fl_time *ref, void *out, uint8_t *stored_buf, uint8_t *scratch,
                     fl_err *e)
{
    uint64_t off;
    fl_rc rc = read_stored(s, b, ch, stored_buf, &off, e);

    if (rc != FL_OK)
        return rc;
    return decoded_at(s, off, chunk_decode(ch, stored_buf, k, ref, b->nrows, out, scratch, e), e);
}

fl_rc seg_read_chunk_dict(const seg_src *s, const seg_block *b, const seg_chunk *ch, fl_kind k,
                          void *out, uint16_t *codes, fl_addr *dict, uint8_t *stored_buf,
                          uint8_t *scratch, fl_err *e)
{
    uint64_t off;
    fl_rc rc = read_stored(s, b, ch, stored_buf, &off, e);

    if (rc != FL_OK)
        return rc;
    return decoded_at(s, off,
                      chunk_decode_dict(ch, stored_buf, k, b->nrows, out, codes, dict, scratch, e),
                      e);
}

fl_rc seg_read_chunk_match(const seg_src *s, const seg_block *b, const seg_chunk *ch,
                           const fl_addr *lo, const fl_addr *hi, unsigned nivl, uint8_t *mark,
                           uint8_t *stored_buf, uint8_t *scratch, fl_err *e)
{
    uint64_t off;
    fl_rc rc = read_stored(s, b, ch, stored_buf, &off, e);

    if (rc != FL_OK)
        return rc;
    return decoded_at(s, off,
                      chunk_addr_match(ch, stored_buf, b->nrows, lo, hi, nivl, mark, scratch, e),
                      e);
}

fl_rc seg_read_chunk_rows(const seg_src *s, const seg_block *b, const seg_chunk *ch, fl_kind k,
                          const fl_time *ref, const uint32_t *idx, uint32_t nsel, void *out,
                          uint8_t *stored_buf, uint8_t *scratch, void *full, fl_err *e)
{
    uint64_t off;
    fl_rc rc = read_stored(s, b, ch, stored_buf, &off, e);

    if (rc != FL_OK)
        return rc;
    return decoded_at(s, off,
                      chunk_decode_rows(ch, stored_buf, k, ref, b->nrows, idx, nsel, out, scratch,
                                        full, e),
                      e);
}

/* ------------------------------------------------------------------ */
/* Closing: live blocks + footer                                        */

static fl_rc write_all(int fd, const void *p, size_t n, fl_err *e)
{
    const uint8_t *q = p;
    while (n) {
        ssize_t r = write(fd, q, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return fl_err_set(e, FL_EIO, "write: %s", strerror(errno));
        q += r;
        n -= (size_t)r;
    }
    return FL_OK;
}

void seg_pubbufs_free(seg_pubbufs *p)
{
    free(p->scratch);
    free(p->stored);
    free(p->expbits);
    free(p->vals);
    sbuf_free(&p->buf);
    sbuf_free(&p->fblk);
    memset(p, 0, sizeof *p);
}

fl_rc seg_write_closed(const seg_src *src, const seg_header *h, const seg_blocks *bl, int fd,
                       seg_pubbufs *pb, uint64_t *rows_out, fl_time *tmin_out, fl_time *tmax_out,
                       uint16_t *exp, uint32_t *nexp_out, fl_err *e)
{
    uint8_t tr[SEG_TRAILER], head[40];
    uint64_t off, rows = 0;
    fl_time tmin = FL_TIME_MAX, tmax = 0;
    uint32_t nexp = 0, crc;
    int many = 0;
    fl_rc rc = FL_ENOMEM;
    sbuf *buf = &pb->buf, *fblk = &pb->fblk;
    uint8_t *scratch, *stored, *expbits;
    uint16_t *vals;

    fblk->max = (size_t)SEG_MAX_META * 4;
    fblk->n = 0;
    buf->n = 0;
    if (!pb->scratch)
        pb->scratch = malloc(CHUNK_SCRATCH);
    if (!pb->stored)
        pb->stored = malloc(CHUNK_RAW_MAX + 1024);
    if (!pb->vals)
        pb->vals = malloc(sizeof(uint16_t) * FL_STORE_GROUP_ROWS);
    if (!pb->expbits)
        pb->expbits = malloc(8192);
    scratch = pb->scratch;
    stored = pb->stored;
    vals = pb->vals;
    expbits = pb->expbits;
    if (!expbits || !scratch || !stored || !vals)
        goto out;
    memset(expbits, 0, 8192);
    if (sbuf_reserve(buf, h->hdr_len) != 0)
        goto out;
    if ((rc = seg_read(src, 0, buf->p, h->hdr_len, e)) != FL_OK)
        goto out;
    if ((rc = write_all(fd, buf->p, h->hdr_len, e)) != FL_OK)
        goto out;
    off = h->hdr_len;
    for (size_t i = 0; i < bl->n; i++) {
        const seg_block *b = &bl->v[i];
        size_t len = BLK_HDR + (size_t)b->meta_len + b->data_len;
        uint8_t o8[8];
        int have_exp = 0, have_t = 0;
        buf->n = 0;
        if (sbuf_reserve(buf, len) != 0) {
            rc = FL_ENOMEM;
            goto out;
        }
        if ((rc = seg_read(src, b->off, buf->p, len, e)) != FL_OK)
            goto out;
        if ((rc = write_all(fd, buf->p, len, e)) != FL_OK)
            goto out;
        put64(o8, off);
        if (sbuf_put(fblk, o8, 8) != 0 || sbuf_put(fblk, b->meta, BLK_HDR) != 0) {
            rc = FL_ENOMEM;
            goto out;
        }
        off += len;
        rows += b->nrows;
        for (uint16_t c = 0; c < b->ncols; c++) {
            const seg_chunk *ch = &b->chunks[c];
            if (ch->col == FL_COL_TIME_FIRST) {
                have_t = 1;
                if ((fl_time)ch->min.lo < tmin) tmin = (fl_time)ch->min.lo;
                if ((fl_time)ch->max.lo > tmax) tmax = (fl_time)ch->max.lo;
            }
            if (ch->col == FL_COL_EXPORTER) {
                fl_err le;
                have_exp = 1;
                if (seg_read_chunk(src, b, ch, FL_KIND_U16, NULL, vals, stored, scratch, &le) != FL_OK) {
                    many = 1;
                    continue;
                }
                for (uint32_t r = 0; r < b->nrows; r++)
                    expbits[vals[r] >> 3] |= (uint8_t)(1u << (vals[r] & 7));
            }
        }
        if (!have_exp)
            expbits[0] |= 1; /* rows without exporter column carry id 0 */
        if (!have_t)
            tmin = 0;
    }
    if (bl->n == 0)
        tmin = tmax = 0;
    for (uint32_t v = 0; v < 65536 && !many; v++)
        if (expbits[v >> 3] & (1u << (v & 7))) {
            if (nexp == CAT_MAX_EXP)
                many = 1;
            else
                exp[nexp++] = (uint16_t)v;
        }
    if (many)
        nexp = 0;
    put32(head, FOOT_MAGIC);
    put32(head + 4, (uint32_t)bl->n);
    put64(head + 8, rows);
    put64(head + 16, (uint64_t)tmin);
    put64(head + 24, (uint64_t)tmax);
    put32(head + 32, many ? 1u : 0u);
    put32(head + 36, nexp);
    buf->n = 0;
    if (sbuf_put(buf, head, sizeof head) != 0) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < nexp; i++) {
        uint8_t x[2];
        put16(x, exp[i]);
        if (sbuf_put(buf, x, 2) != 0) {
            rc = FL_ENOMEM;
            goto out;
        }
    }
    if (sbuf_put(buf, fblk->p, fblk->n) != 0) {
        rc = FL_ENOMEM;
        goto out;
    }
    crc = store_crc32c(0, buf->p, buf->n);
    if ((rc = write_all(fd, buf->p, buf->n, e)) != FL_OK)
        goto out;
    put64(tr, off);
    put32(tr + 8, (uint32_t)buf->n);
    put32(tr + 12, crc);
    memcpy(tr + 16, SEG_TAIL_MAGIC, 8);
    if ((rc = write_all(fd, tr, sizeof tr, e)) != FL_OK)
        goto out;
    *rows_out = rows;
    *tmin_out = tmin;
    *tmax_out = tmax;
    *nexp_out = many ? UINT32_MAX : nexp;
    rc = FL_OK;
out:
    return rc;
}
