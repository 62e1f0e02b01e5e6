/*
 * store/scan.c — reading the store: scans with zone-map pruning, verify,
 * and retention.
 *
 * A scan lists the segments of its time range and exporters (catalog),
 * then walks each file's blocks: a block whose zone maps (min/max per
 * chunk, address blooms) exclude the predicate is skipped without reading
 * its data; the others have their requested chunks read, checked against
 * their CRC and decoded straight into the scan's batch. A block with a bad
 * chunk, or a segment with a bad header or footer, is skipped with one
 * warning naming file, column and chunk; the scan goes on.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fl_store_scan {
    fl_store *s;
    uint64_t cols[FL_PRESENT_WORDS];
    uint64_t need[FL_PRESENT_WORDS]; /* cols + predicate columns (exact) */
    fl_store_pred pred;
    int has_pred, flags;
    fl_store_seginfo *segs;
    size_t nseg, iseg;
    int cur; /* a segment is open */
    seg_src src;
    seg_header h;
    seg_blocks bl;
    size_t iblk;
    fl_batch *batch;   /* own arrays for needed and time columns only */
    void *zero;        /* the shared all-zero array behind the others */
    uint64_t dirty[FL_PRESENT_WORDS];
    uint8_t *stored, *scratch;
    fl_batch *fill_cur; /* fl_store_scan_fill: batch being copied out */
    uint32_t fill_pos;
    fl_store_scan_stats st;
};

static int bit(const uint64_t *m, int c) { return (int)(m[c / 64] >> (c % 64) & 1); }
static void setbit(uint64_t *m, int c) { m[c / 64] |= (uint64_t)1 << (c % 64); }

/* The scan's batch: arrays for the columns it decodes (needed ones and the
 * time columns others may be stored relative to); every other column
 * points at one shared zero array, so a narrow scan costs little memory. */
static fl_batch *scan_batch_new(const uint64_t *need, void **zero)
{
    fl_batch *b = calloc(1, sizeof *b);
    size_t tot = 0, off = 0;

    if (b == NULL)
        return NULL;
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (bit(need, c) || fl_col_get((fl_col)c)->kind == FL_KIND_TIME)
            tot += ((size_t)fl_col_get((fl_col)c)->width * FL_STORE_GROUP_ROWS + 63) & ~(size_t)63;
    b->mem = calloc(1, tot + 64);
    *zero = calloc(FL_STORE_GROUP_ROWS, 16);
    if (b->mem == NULL || *zero == NULL) {
        free(b->mem);
        free(*zero);
        free(b);
        return NULL;
    }
    for (int c = 0; c < FL_COL_COUNT; c++) {
        if (bit(need, c) || fl_col_get((fl_col)c)->kind == FL_KIND_TIME) {
            b->col[c] = (uint8_t *)b->mem + off;
            off += ((size_t)fl_col_get((fl_col)c)->width * FL_STORE_GROUP_ROWS + 63) & ~(size_t)63;
        } else {
            b->col[c] = *zero;
        }
    }
    b->cap = FL_STORE_GROUP_ROWS;
    return b;
}

fl_rc fl_store_scan_open(fl_store *s, const uint64_t *cols, const fl_store_pred *pred, int flags,
                         fl_store_scan **out, fl_err *e)
{
    fl_store_scan *sc = calloc(1, sizeof *sc);
    fl_rc rc;

    *out = NULL;
    if (sc == NULL)
        return FL_ENOMEM;
    sc->s = s;
    sc->flags = flags;
    sc->src.fd = -1;
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (cols == NULL || bit(cols, c))
            setbit(sc->cols, c);
    memcpy(sc->need, sc->cols, sizeof sc->need);
    if (pred) {
        sc->pred = *pred;
        sc->has_pred = 1;
        if (sc->pred.nexporters > FL_STORE_PRED_MAX || sc->pred.nranges > FL_STORE_PRED_MAX ||
            sc->pred.naddrs > FL_STORE_PRED_MAX) {
            free(sc);
            return fl_err_set(e, FL_EINVAL, "predicate has more than %d terms of a kind",
                              FL_STORE_PRED_MAX);
        }
        for (uint32_t i = 0; i < sc->pred.nranges; i++) {
            int c = sc->pred.ranges[i].col;
            if (c < 0 || c >= FL_COL_COUNT || fl_col_get((fl_col)c)->kind == FL_KIND_ADDR) {
                free(sc);
                return fl_err_set(e, FL_EINVAL, "range term %u: column %d is not numeric", i, c);
            }
        }
        for (uint32_t i = 0; i < sc->pred.naddrs; i++) {
            int c = sc->pred.addrs[i].col;
            if (c != FL_STORE_ANY_ADDR &&
                (c < 0 || c >= FL_COL_COUNT || fl_col_get((fl_col)c)->kind != FL_KIND_ADDR)) {
                free(sc);
                return fl_err_set(e, FL_EINVAL, "address term %u: column %d is not an address",
                                  i, c);
            }
        }
        if (flags & FL_STORE_SCAN_EXACT) {
            setbit(sc->need, FL_COL_TIME_FIRST);
            setbit(sc->need, FL_COL_EXPORTER);
            for (uint32_t i = 0; i < sc->pred.nranges; i++)
                setbit(sc->need, sc->pred.ranges[i].col);
            for (uint32_t i = 0; i < sc->pred.naddrs; i++) {
                int c = sc->pred.addrs[i].col;
                if (c == FL_STORE_ANY_ADDR) {
                    setbit(sc->need, FL_COL_SRC_ADDR);
                    setbit(sc->need, FL_COL_DST_ADDR);
                } else {
                    setbit(sc->need, c);
                }
            }
        }
    }
    sc->batch = scan_batch_new(sc->need, &sc->zero);
    sc->stored = malloc(CHUNK_RAW_MAX + 1024);
    sc->scratch = malloc(CHUNK_SCRATCH);
    if (!sc->batch || !sc->stored || !sc->scratch) {
        fl_store_scan_free(sc);
        return FL_ENOMEM;
    }
    rc = fl_store_list(s, pred ? pred->t_start : 0, pred ? pred->t_end : 0,
                       pred ? pred->exporter : NULL, pred ? pred->nexporters : 0, &sc->segs,
                       &sc->nseg, e);
    if (rc != FL_OK) {
        fl_store_scan_free(sc);
        return rc;
    }
    {
        /* how many the catalog pruned: everything listed minus kept */
        fl_store_seginfo *all;
        size_t nall;
        if (pred && fl_store_list(s, 0, 0, NULL, 0, &all, &nall, NULL) == FL_OK) {
            sc->st.segments_pruned = nall - sc->nseg;
            sc->st.segments = nall;
            free(all);
        } else {
            sc->st.segments = sc->nseg;
        }
    }
    *out = sc;
    return FL_OK;
}

static void seg_close(fl_store_scan *sc)
{
    if (sc->src.fd >= 0)
        close(sc->src.fd);
    sc->src.fd = -1;
    seg_blocks_free(&sc->bl);
    sc->cur = 0;
}

void fl_store_scan_free(fl_store_scan *sc)
{
    if (sc == NULL)
        return;
    seg_close(sc);
    if (sc->batch) {
        free(sc->batch->mem);
        free(sc->batch);
    }
    free(sc->zero);
    free(sc->stored);
    free(sc->scratch);
    free(sc->segs);
    free(sc);
}

void fl_store_scan_get_stats(const fl_store_scan *sc, fl_store_scan_stats *st)
{
    *st = sc->st;
}

double fl_store_scan_progress(const fl_store_scan *sc)
{
    uint64_t total = 0, done = 0;

    for (size_t i = 0; i < sc->nseg; i++) {
        total += sc->segs[i].bytes;
        if (i < sc->iseg)
            done += sc->segs[i].bytes;
    }
    if (sc->cur && sc->iseg < sc->nseg && sc->bl.n)
        done += sc->segs[sc->iseg].bytes * sc->iblk / sc->bl.n;
    return total ? (double)done / (double)total : (sc->iseg >= sc->nseg ? 1.0 : 0.0);
}

static void warn(fl_store_scan *sc, const fl_err *le, const char *what)
{
    char buf[900];
    fl_err_format(le, buf, sizeof buf);
    sc->st.warnings++;
    fl_log_warn("store: %s skipped: %s", what, buf);
}

/* Open segment sc->segs[sc->iseg]; 0 on success, -1 to skip it. */
static int seg_open(fl_store_scan *sc)
{
    const fl_store_seginfo *si = &sc->segs[sc->iseg];
    char path[STORE_PATH_MAX + 80];
    struct stat st;
    fl_err le;
    fl_rc rc;

    snprintf(path, sizeof path, "%s/%s", sc->s->segdir, si->name);
    sc->src.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (sc->src.fd < 0 && si->open && errno == ENOENT) {
        /* published since the listing: read the closed segment instead */
        snprintf(path, sizeof path, "%s/%013lld-%06u.fls", sc->s->segdir,
                 (long long)si->slot_start, si->seq);
        sc->src.fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (sc->src.fd < 0) {
        if (errno != ENOENT) { /* expired meanwhile is not a problem */
            fl_err_at(&le, FL_EIO, si->name, 0, -1, "open: %s", strerror(errno));
            warn(sc, &le, "segment");
        }
        return -1;
    }
    if (fstat(sc->src.fd, &st) != 0) {
        seg_close(sc);
        return -1;
    }
    sc->src.size = (uint64_t)st.st_size;
    sc->src.name = si->name;
    sc->src.mem = NULL;
    if ((rc = seg_header_parse(&sc->src, &sc->h, &le)) != FL_OK ||
        (rc = seg_load_blocks(&sc->src, &sc->h, &sc->bl, &le)) != FL_OK) {
        /* an open slot just created has no header yet: nothing to read */
        if (!(si->open && rc == FL_ETRUNCATED))
            warn(sc, &le, "segment");
        seg_close(sc);
        return -1;
    }
    if (sc->bl.bad) {
        fl_err_at(&le, FL_ECORRUPT, si->name, 0, -1, "%u damaged block(s) skipped: %s",
                  sc->bl.bad, sc->bl.bad_msg);
        warn(sc, &le, "segment blocks");
    }
    if (!si->open && !sc->bl.closed) {
        fl_err_at(&le, FL_ECORRUPT, si->name, 0, -1,
                  "footer missing or damaged; reading its %zu intact blocks", sc->bl.n);
        warn(sc, &le, "segment footer");
    }
    sc->iblk = 0;
    sc->cur = 1;
    return 0;
}

/* Value range of column c in block b (absent = all zero). */
static const seg_chunk *find_chunk(const seg_block *b, int c)
{
    for (uint16_t i = 0; i < b->ncols; i++)
        if (b->chunks[i].col == c)
            return &b->chunks[i];
    return NULL;
}

static fl_addr prefix_last(const fl_prefix *p)
{
    fl_addr a = p->addr;
    unsigned len = p->len;
    if (len < 64) {
        a.hi |= len == 0 ? UINT64_MAX : (UINT64_MAX >> len);
        a.lo = UINT64_MAX;
    } else if (len < 128) {
        a.lo |= UINT64_MAX >> (len - 64);
    }
    return a;
}

static int addr_chunk_may(const seg_chunk *ch, const fl_prefix *p)
{
    fl_addr zero = {0, 0}, last = prefix_last(p);
    if (ch == NULL)
        return fl_prefix_contains(p, zero);
    if (fl_addr_cmp(ch->max, p->addr) < 0 || fl_addr_cmp(ch->min, last) > 0)
        return 0;
    if (ch->bloom) {
        if (p->len == 128)
            return bloom_maybe(ch->bloom, ch->bloom_len, p->addr, 0);
        if (fl_addr_is_v4(p->addr) && p->len >= 120)
            return bloom_maybe(ch->bloom, ch->bloom_len, fl_addr_mask(p->addr, 120), 1);
        if (!fl_addr_is_v4(p->addr) && p->len >= 48)
            return bloom_maybe(ch->bloom, ch->bloom_len, fl_addr_mask(p->addr, 48), 1);
    }
    return 1;
}

static int range_may(const seg_chunk *ch, uint64_t lo, uint64_t hi)
{
    uint64_t mn = ch ? ch->min.lo : 0, mx = ch ? ch->max.lo : 0;
    return !(mx < lo || mn > hi);
}

static int block_may(const fl_store_scan *sc, const seg_block *b)
{
    const fl_store_pred *p = &sc->pred;

    if (!sc->has_pred)
        return 1;
    if (p->t_start > 0 || p->t_end > 0) {
        uint64_t hi = p->t_end > 0 ? (uint64_t)p->t_end - 1 : UINT64_MAX;
        if (!range_may(find_chunk(b, FL_COL_TIME_FIRST), (uint64_t)p->t_start, hi))
            return 0;
    }
    if (p->nexporters) {
        const seg_chunk *ch = find_chunk(b, FL_COL_EXPORTER);
        int any = 0;
        for (uint32_t i = 0; i < p->nexporters && !any; i++)
            any = range_may(ch, p->exporter[i], p->exporter[i]);
        if (!any)
            return 0;
    }
    for (uint32_t i = 0; i < p->nranges; i++)
        if (!range_may(find_chunk(b, p->ranges[i].col), p->ranges[i].lo, p->ranges[i].hi))
            return 0;
    for (uint32_t i = 0; i < p->naddrs; i++) {
        const fl_store_pred_addr *a = &p->addrs[i];
        int ok;
        if (a->col == FL_STORE_ANY_ADDR)
            ok = addr_chunk_may(find_chunk(b, FL_COL_SRC_ADDR), &a->prefix) ||
                 addr_chunk_may(find_chunk(b, FL_COL_DST_ADDR), &a->prefix);
        else
            ok = addr_chunk_may(find_chunk(b, a->col), &a->prefix);
        if (!ok)
            return 0;
    }
    return 1;
}

static int row_match(const fl_store_pred *p, const fl_batch *b, uint32_t r)
{
    if (p->t_start > 0 || p->t_end > 0) {
        fl_time t = FL_TIMES(b, FL_COL_TIME_FIRST)[r];
        if (t < p->t_start || (p->t_end > 0 && t >= p->t_end))
            return 0;
    }
    if (p->nexporters) {
        uint16_t x = FL_U16(b, FL_COL_EXPORTER)[r];
        int any = 0;
        for (uint32_t i = 0; i < p->nexporters && !any; i++)
            any = p->exporter[i] == x;
        if (!any)
            return 0;
    }
    for (uint32_t i = 0; i < p->nranges; i++) {
        uint64_t v = fl_batch_get_u64(b, (fl_col)p->ranges[i].col, r);
        if (v < p->ranges[i].lo || v > p->ranges[i].hi)
            return 0;
    }
    for (uint32_t i = 0; i < p->naddrs; i++) {
        const fl_store_pred_addr *a = &p->addrs[i];
        int ok;
        if (a->col == FL_STORE_ANY_ADDR)
            ok = fl_prefix_contains(&a->prefix, FL_ADDRS(b, FL_COL_SRC_ADDR)[r]) ||
                 fl_prefix_contains(&a->prefix, FL_ADDRS(b, FL_COL_DST_ADDR)[r]);
        else
            ok = fl_prefix_contains(&a->prefix, FL_ADDRS(b, a->col)[r]);
        if (!ok)
            return 0;
    }
    return 1;
}

static void filter_rows(fl_store_scan *sc)
{
    fl_batch *b = sc->batch;
    uint32_t w = 0;

    for (uint32_t r = 0; r < b->n; r++) {
        if (!row_match(&sc->pred, b, r))
            continue;
        if (w != r)
            for (int c = 0; c < FL_COL_COUNT; c++)
                if (bit(sc->need, c)) {
                    unsigned wd = fl_col_get((fl_col)c)->width;
                    memcpy((uint8_t *)b->col[c] + (size_t)w * wd,
                           (uint8_t *)b->col[c] + (size_t)r * wd, wd);
                }
        w++;
    }
    b->n = w;
}

static int decode_one(fl_store_scan *sc, const seg_block *b, size_t bi, const seg_chunk *ch,
                      const fl_time *ref)
{
    fl_batch *bt = sc->batch;
    fl_err le;

    if (seg_read_chunk(&sc->src, b, ch, fl_col_get((fl_col)ch->col)->kind, ref,
                       bt->col[ch->col], sc->stored, sc->scratch, &le) != FL_OK) {
        char what[160];
        snprintf(what, sizeof what, "column %s, chunk %zu (%u rows)",
                 fl_col_get((fl_col)ch->col)->name, bi, b->nrows);
        warn(sc, &le, what);
        return -1;
    }
    setbit(sc->dirty, ch->col);
    fl_batch_mark(bt, (fl_col)ch->col);
    sc->st.values += b->nrows;
    return 0;
}

/* Decode column c of block b (if stored) into the batch, after the time
 * column it is stored relative to. 0 ok, -1 skipped (warned). */
static int load_col(fl_store_scan *sc, const seg_block *b, size_t bi, int c, int *have,
                    int depth)
{
    const seg_chunk *ch = find_chunk(b, c);
    const fl_time *ref = NULL;

    if (have[c] || ch == NULL)
        return 0;
    if (ch->enc == ENC_REF) {
        if (depth > 4) {
            fl_err le;
            fl_err_at(&le, FL_ECORRUPT, sc->src.name, 0, (long long)b->off,
                      "time columns refer to each other in a loop");
            warn(sc, &le, "block");
            return -1;
        }
        if (load_col(sc, b, bi, ch->ref_col, have, depth + 1) != 0)
            return -1;
        if (have[ch->ref_col])
            ref = FL_TIMES(sc->batch, ch->ref_col);
    }
    if (decode_one(sc, b, bi, ch, ref) != 0)
        return -1;
    have[c] = 1;
    return 0;
}

/* Decode block b into the batch; 0 ok, -1 skipped (warned). */
static int load_block(fl_store_scan *sc, const seg_block *b, size_t bi)
{
    fl_batch *bt = sc->batch;
    int have[FL_COL_COUNT];

    memset(have, 0, sizeof have);
    memset(bt->present, 0, sizeof bt->present);
    for (uint16_t i = 0; i < b->ncols; i++) {
        int c = b->chunks[i].col;
        if (c >= 0 && bit(sc->need, c) && load_col(sc, b, bi, c, have, 0) != 0)
            return -1;
    }
    /* columns holding an earlier block's values are zeroed: requested
     * ones this block lacks, and references decoded before */
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (!have[c] && bit(sc->dirty, c)) {
            memset(bt->col[c], 0, (size_t)fl_col_get((fl_col)c)->width * FL_STORE_GROUP_ROWS);
            sc->dirty[c / 64] &= ~((uint64_t)1 << (c % 64));
        }
    bt->n = b->nrows;
    return 0;
}

fl_rc fl_store_scan_next(fl_store_scan *sc, fl_batch **out, fl_err *e)
{
    (void)e; /* every per-file problem is a warning; e is for future errors */
    *out = NULL;
    for (;;) {
        if (!sc->cur) {
            if (sc->iseg >= sc->nseg)
                return FL_OK;
            if (sc->segs[sc->iseg].open && (sc->flags & FL_STORE_SCAN_NO_OPEN)) {
                sc->iseg++;
                continue;
            }
            if (seg_open(sc) != 0) {
                sc->iseg++;
                continue;
            }
        }
        while (sc->iblk < sc->bl.n) {
            size_t bi = sc->iblk++;
            const seg_block *b = &sc->bl.v[bi];
            sc->st.groups++;
            if (!block_may(sc, b)) {
                sc->st.groups_pruned++;
                continue;
            }
            if (load_block(sc, b, bi) != 0)
                continue;
            if (sc->has_pred && (sc->flags & FL_STORE_SCAN_EXACT))
                filter_rows(sc);
            if (sc->batch->n == 0)
                continue;
            sc->st.rows += sc->batch->n;
            *out = sc->batch;
            return FL_OK;
        }
        seg_close(sc);
        sc->iseg++;
    }
}

fl_rc fl_store_scan_fill(fl_store_scan *sc, fl_batch *dst, fl_err *e)
{
    uint32_t m;
    fl_rc rc;

    if (sc->fill_cur == NULL || sc->fill_pos >= sc->fill_cur->n) {
        sc->fill_pos = 0;
        if ((rc = fl_store_scan_next(sc, &sc->fill_cur, e)) != FL_OK)
            return rc;
        if (sc->fill_cur == NULL)
            return FL_OK;
    }
    m = sc->fill_cur->n - sc->fill_pos;
    if (m > dst->cap - dst->n)
        m = dst->cap - dst->n;
    for (int c = 0; c < FL_COL_COUNT; c++) {
        unsigned w;
        if (!fl_batch_has(sc->fill_cur, (fl_col)c))
            continue;
        w = fl_col_get((fl_col)c)->width;
        memcpy((uint8_t *)dst->col[c] + (size_t)dst->n * w,
               (const uint8_t *)sc->fill_cur->col[c] + (size_t)sc->fill_pos * w, (size_t)m * w);
        fl_batch_mark(dst, (fl_col)c);
    }
    dst->n += m;
    sc->fill_pos += m;
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Verify                                                              */

static void report(fl_store_verify_stats *st, fl_store_report_fn fn, void *ctx, const char *file,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(fl_store_verify_stats *st, fl_store_report_fn fn, void *ctx, const char *file,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (st)
        st->problems++;
    if (fn)
        fn(ctx, file, msg);
}

static void check_stats(const seg_chunk *ch, fl_kind k, const void *vals, uint32_t n,
                        char *why, size_t len)
{
    fl_addr mn, mx;
    why[0] = '\0';
    if (n == 0)
        return;
    if (k == FL_KIND_ADDR) {
        const fl_addr *a = vals;
        mn = mx = a[0];
        for (uint32_t i = 1; i < n; i++) {
            if (fl_addr_cmp(a[i], mn) < 0) mn = a[i];
            if (fl_addr_cmp(a[i], mx) > 0) mx = a[i];
        }
        if (ch->bloom)
            for (uint32_t i = 0; i < n; i++)
                if (!bloom_maybe(ch->bloom, ch->bloom_len, a[i], 0)) {
                    snprintf(why, len, "bloom filter lacks row %u's address", i);
                    return;
                }
    } else {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t v;
            switch (k) {
            case FL_KIND_U8: v = ((const uint8_t *)vals)[i]; break;
            case FL_KIND_U16: v = ((const uint16_t *)vals)[i]; break;
            case FL_KIND_U32: v = ((const uint32_t *)vals)[i]; break;
            default: v = ((const uint64_t *)vals)[i]; break;
            }
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        mn.hi = mx.hi = 0;
        mn.lo = lo;
        mx.lo = hi;
    }
    if (fl_addr_cmp(mn, ch->min) != 0 || fl_addr_cmp(mx, ch->max) != 0)
        snprintf(why, len, "zone map min/max do not match the data");
}

/* Decode (once per block) the time column chunk ch refers to, and what
 * that refers to, into tb[]; tdone[c]: 1 decoded, 2 absent or failed. */
static fl_rc verify_time_refs(const seg_src *src, const seg_block *b, const seg_chunk *ch,
                              fl_time **tb, int *tdone, uint8_t *stored, uint8_t *scratch,
                              int depth, fl_err *e)
{
    const seg_chunk *rc_ch;
    fl_rc rc;

    if (ch->enc != ENC_REF || tdone[ch->ref_col])
        return FL_OK;
    if (depth > 4)
        return fl_err_set(e, FL_ECORRUPT, "time columns refer to each other in a loop");
    rc_ch = find_chunk(b, ch->ref_col);
    tdone[ch->ref_col] = 2;
    if (rc_ch == NULL || tb[ch->ref_col] == NULL)
        return FL_OK; /* an absent reference reads as zero */
    if ((rc = verify_time_refs(src, b, rc_ch, tb, tdone, stored, scratch, depth + 1, e)) != FL_OK)
        return rc;
    rc = seg_read_chunk(src, b, rc_ch, FL_KIND_TIME,
                        rc_ch->enc == ENC_REF && tdone[rc_ch->ref_col] == 1 ? tb[rc_ch->ref_col]
                                                                              : NULL,
                        tb[ch->ref_col], stored, scratch, e);
    if (rc == FL_OK)
        tdone[ch->ref_col] = 1;
    return rc;
}

fl_rc fl_store_verify(fl_store *s, int deep, fl_store_report_fn fn, void *ctx,
                      fl_store_verify_stats *st, fl_err *e)
{
    fl_store_verify_stats dummy;
    fl_store_seginfo *segs = NULL;
    size_t nseg = 0;
    uint8_t *stored = malloc(CHUNK_RAW_MAX + 1024), *scratch = malloc(CHUNK_SCRATCH);
    fl_time *tb[FL_COL_COUNT];
    void *vals = malloc((size_t)FL_STORE_GROUP_ROWS * 16);
    fl_rc rc;

    if (st == NULL)
        st = &dummy;
    memset(st, 0, sizeof *st);
    memset(tb, 0, sizeof tb);
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (fl_col_get((fl_col)c)->kind == FL_KIND_TIME &&
            (tb[c] = malloc(sizeof(fl_time) * FL_STORE_GROUP_ROWS)) == NULL)
            stored = NULL; /* reported as out of memory below */
    if (!stored || !scratch || !vals) {
        rc = FL_ENOMEM;
        goto out;
    }
    if ((rc = fl_store_list(s, 0, 0, NULL, 0, &segs, &nseg, e)) != FL_OK)
        goto out;
    for (size_t i = 0; i < nseg; i++) {
        char path[STORE_PATH_MAX + 80];
        seg_src src = {-1, NULL, 0, segs[i].name};
        seg_header h;
        seg_blocks bl;
        struct stat sb;
        fl_err le;
        memset(&bl, 0, sizeof bl);
        snprintf(path, sizeof path, "%s/%s", s->segdir, segs[i].name);
        if (segs[i].open)
            st->open_slots++;
        else
            st->segments++;
        src.fd = open(path, O_RDONLY | O_CLOEXEC);
        if (src.fd < 0 || fstat(src.fd, &sb) != 0) {
            if (errno != ENOENT)
                report(st, fn, ctx, segs[i].name, "cannot open: %s", strerror(errno));
            if (src.fd >= 0)
                close(src.fd);
            continue;
        }
        src.size = (uint64_t)sb.st_size;
        if (seg_header_parse(&src, &h, &le) != FL_OK || seg_load_blocks(&src, &h, &bl, &le) != FL_OK) {
            char m[900];
            if (segs[i].open && le.rc == FL_ETRUNCATED && src.size < 4096) {
                close(src.fd); /* created, header not written yet */
                continue;
            }
            fl_err_format(&le, m, sizeof m);
            report(st, fn, ctx, segs[i].name, "%s", m);
            close(src.fd);
            continue;
        }
        if (!segs[i].open && !bl.closed)
            report(st, fn, ctx, segs[i].name, "closed segment has no valid footer/trailer");
        if (bl.bad)
            report(st, fn, ctx, segs[i].name, "%u damaged block(s): %s", bl.bad, bl.bad_msg);
        if (segs[i].open && bl.tail_bad && fn)
            fn(ctx, segs[i].name, "note: open slot ends in an incomplete block (cut at recovery)");
        for (size_t bi = 0; bi < bl.n; bi++) {
            const seg_block *b = &bl.v[bi];
            int tdone[FL_COL_COUNT];
            st->groups++;
            memset(tdone, 0, sizeof tdone);
            st->rows += b->nrows;
            for (uint16_t c = 0; c < b->ncols; c++) {
                const seg_chunk *ch = &b->chunks[c];
                const char *cname = ch->col >= 0 ? fl_col_get((fl_col)ch->col)->name : "?";
                fl_rc r;
                st->chunks++;
                if (!deep)
                    continue;
                if (ch->col < 0) {
                    uint64_t off = b->off + BLK_HDR + b->meta_len + ch->off;
                    if (seg_read(&src, off, stored, ch->stored, &le) != FL_OK ||
                        store_crc32c(0, stored, ch->stored) != ch->crc)
                        report(st, fn, ctx, segs[i].name,
                               "column #%u (unknown to this build), chunk %zu: checksum mismatch",
                               ch->fcol, bi);
                    continue;
                }
                r = verify_time_refs(&src, b, ch, tb, tdone, stored, scratch, 0, &le);
                if (r == FL_OK)
                    r = seg_read_chunk(&src, b, ch, fl_col_get((fl_col)ch->col)->kind,
                                       ch->enc == ENC_REF && tdone[ch->ref_col] == 1
                                           ? tb[ch->ref_col]
                                           : NULL,
                                       vals, stored, scratch, &le);
                if (r != FL_OK) {
                    report(st, fn, ctx, segs[i].name, "column %s, chunk %zu (offset %lld): %s",
                           cname, bi, le.offset, le.msg);
                } else {
                    char why[128];
                    check_stats(ch, fl_col_get((fl_col)ch->col)->kind, vals, b->nrows, why,
                                sizeof why);
                    if (why[0])
                        report(st, fn, ctx, segs[i].name, "column %s, chunk %zu: %s", cname, bi,
                               why);
                }
            }
        }
        if (!segs[i].open && segs[i].rows != 0 && bl.closed) {
            uint64_t rows = 0;
            for (size_t bi = 0; bi < bl.n; bi++)
                rows += bl.v[bi].nrows;
            if (rows != segs[i].rows)
                report(st, fn, ctx, segs[i].name, "catalog says %llu rows, file holds %llu",
                       (unsigned long long)segs[i].rows, (unsigned long long)rows);
        }
        seg_blocks_free(&bl);
        close(src.fd);
    }
    {
        /* leftovers */
        char p[STORE_PATH_MAX + 16];
        struct stat sb;
        snprintf(p, sizeof p, "%s/FORMAT", s->dir);
        if (stat(p, &sb) != 0 && nseg > 0)
            report(st, fn, ctx, "FORMAT", "missing");
    }
    rc = st->problems ? FL_ECORRUPT : FL_OK;
    if (rc != FL_OK)
        fl_err_set(e, rc, "%llu problem(s) found", (unsigned long long)st->problems);
out:
    free(segs);
    free(stored);
    free(scratch);
    free(vals);
    for (int c = 0; c < FL_COL_COUNT; c++)
        free(tb[c]);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Expire                                                              */

fl_rc fl_store_expire(fl_store *s, const fl_store_expire_opts *o, fl_store_report_fn fn,
                      void *ctx, fl_store_expire_stats *st, fl_err *e)
{
    fl_store_expire_stats dummy;
    fl_store_seginfo *segs = NULL;
    size_t nseg = 0, ndel = 0;
    cat_entry *del = NULL;
    uint64_t total = 0, target;
    fl_time now = o->now ? o->now : fl_time_now();
    unsigned lw = o->low_water_pct ? o->low_water_pct : 90;
    char *gone = NULL;
    int shrinking;
    fl_rc rc;

    if (st == NULL)
        st = &dummy;
    memset(st, 0, sizeof *st);
    if (lw > 100)
        return fl_err_set(e, FL_EINVAL, "low-water mark %u%% above 100%%", lw);
    if ((rc = fl_store_list(s, 0, 0, NULL, 0, &segs, &nseg, e)) != FL_OK)
        return rc;
    del = calloc(nseg ? nseg : 1, sizeof *del);
    gone = calloc(nseg ? nseg : 1, 1);
    if (!del || !gone) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nseg; i++)
        total += segs[i].bytes;
    target = o->max_bytes ? (uint64_t)((double)o->max_bytes * lw / 100.0) : 0;
    shrinking = o->max_bytes > 0 && total > o->max_bytes;
    /* segs: closed ones in slot order first, open ones last */
    for (size_t i = 0; i < nseg; i++) {
        const fl_store_seginfo *x = &segs[i];
        int by_age, by_size;
        if (x->open)
            continue;
        by_age = o->max_age_ms > 0 && x->tmax < now - o->max_age_ms &&
                 x->slot_start + s->o.slot_ms <= now - o->max_age_ms;
        by_size = shrinking && total > target;
        if (!by_age && !by_size)
            continue;
        gone[i] = 1;
        if (fn) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s %llu bytes (%s)", o->dry_run ? "would delete" : "deleted",
                     (unsigned long long)x->bytes, by_age ? "age" : "size");
            fn(ctx, x->name, msg);
        }
        if (!o->dry_run) {
            char p[STORE_PATH_MAX + 80];
            snprintf(p, sizeof p, "%s/%s", s->segdir, x->name);
            if (unlink(p) != 0 && errno != ENOENT) {
                rc = fl_err_at(e, FL_EIO, x->name, 0, -1, "unlink: %s", strerror(errno));
                goto out;
            }
            del[ndel].slot_start = x->slot_start;
            del[ndel].seq = x->seq;
            ndel++;
        }
        st->deleted++;
        st->deleted_bytes += x->bytes;
        total -= x->bytes < total ? x->bytes : total;
    }
    for (size_t i = 0; i < nseg; i++)
        if (!gone[i]) {
            st->kept++;
            st->kept_bytes += segs[i].bytes;
        }
    rc = FL_OK;
    if (ndel)
        rc = store_cat_drop(s, del, ndel, e);
out:
    free(segs);
    free(del);
    free(gone);
    return rc;
}
