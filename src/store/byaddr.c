/*
 * store/byaddr.c — by-address copies of closed segments.
 *
 * A question about one address over a day ("host X", "src net N") cannot
 * skip a row group of the segments: flows of a busy host, or of a host
 * that talks a little all day, sit in every group, and zone maps and
 * blooms only say "maybe". So every closed segment SLOT-SEQ.fls gets a
 * copy SLOT-SEQ.fla holding its rows twice, once ordered by src_addr
 * (blocks of kind BLK_BY_SRC) and once by dst_addr (BLK_BY_DST), in
 * blocks of BYADDR_ROWS rows, with a directory of each block's address
 * range. A scan whose predicate names an address reads the directory and
 * then only the few blocks whose range holds it (scan.c decides when a
 * question may use the copy: rows come back in address order).
 *
 * The copy is made when the segment is published (store.c) and is only
 * ever an accelerator: a missing, stale or damaged copy makes the scan
 * read the segment itself, so a crash between the two loses nothing.
 * Segments of more than BYADDR_MAX_ROWS rows get no copy (the builder
 * holds the segment's columns in memory). Layout: docs/store-format.md.
 */
#include "store/byaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DIR_MAGIC "FLBYADDR"
#define DIR_TAIL "FLBATAIL"
#define DIR_FIXED 40
#define DIR_ENT 56
#define DIR_TRAILER 24

void byaddr_name(char *out, size_t len, fl_time slot, uint32_t seq)
{
    snprintf(out, len, "%013lld-%06u.fla", (long long)slot, seq);
}

static void put_addr(uint8_t *p, fl_addr a)
{
    put64(p, a.hi);
    put64(p + 8, a.lo);
}

static fl_addr get_addr(const uint8_t *p)
{
    fl_addr a = {get64(p), get64(p + 8)};
    return a;
}

/* ------------------------------------------------------------------ */
/* Building                                                            */

/* The segment's columns decoded whole (absent columns stay NULL). */
typedef struct seg_cols {
    void *col[FL_COL_COUNT];
    uint64_t rows;
} seg_cols;

static void seg_cols_free(seg_cols *c)
{
    for (int i = 0; i < FL_COL_COUNT; i++)
        free(c->col[i]);
    memset(c, 0, sizeof *c);
}

static int block_has(const seg_block *b, int col)
{
    for (uint16_t k = 0; k < b->ncols; k++)
        if (b->chunks[k].col == col)
            return 1;
    return 0;
}

/* Decode every chunk of every block of a closed segment into c. Time
 * columns first: other chunks may be stored relative to them. FL_ECORRUPT
 * (named) when a chunk cannot be read. */
static fl_rc load_cols(const seg_src *src, const seg_blocks *bl, seg_cols *c, fl_err *e)
{
    uint8_t *stored = malloc(CHUNK_RAW_MAX + 1024), *scratch = malloc(CHUNK_SCRATCH);
    uint64_t at = 0;
    fl_rc rc = FL_OK;

    if (stored == NULL || scratch == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < bl->n; i++)
        for (uint16_t k = 0; k < bl->v[i].ncols; k++) {
            int col = bl->v[i].chunks[k].col;
            if (col >= 0 && c->col[col] == NULL &&
                (c->col[col] = calloc(c->rows, fl_col_get((fl_col)col)->width)) == NULL) {
                rc = FL_ENOMEM;
                goto out;
            }
        }
    for (size_t i = 0; i < bl->n && rc == FL_OK; i++) {
        const seg_block *b = &bl->v[i];
        int done[FL_COL_COUNT] = {0};
        for (int pass = 0; pass < 3 && rc == FL_OK; pass++)
            for (uint16_t k = 0; k < b->ncols && rc == FL_OK; k++) {
                const seg_chunk *ch = &b->chunks[k];
                const fl_time *ref = NULL;
                unsigned w;
                if (ch->col < 0 || done[ch->col] ||
                    (pass == 0) != (ch->col == FL_COL_TIME_FIRST) ||
                    (pass == 1) != (ch->col == FL_COL_TIME_LAST))
                    continue;
                if (ch->enc == ENC_REF && ch->ref_col >= 0 && done[ch->ref_col]) {
                    ref = (const fl_time *)c->col[ch->ref_col] + at;
                } else if (ch->enc == ENC_REF && ch->ref_col >= 0 && block_has(b, ch->ref_col)) {
                    rc = fl_err_at(e, FL_ECORRUPT, src->name, 0, (long long)b->off,
                                   "column %s refers to a time column not read before it",
                                   fl_col_get((fl_col)ch->col)->name);
                    goto out;
                } /* else a reference the block lacks: zeros, as scans read it */
                w = fl_col_get((fl_col)ch->col)->width;
                rc = seg_read_chunk(src, b, ch, fl_col_get((fl_col)ch->col)->kind, ref,
                                    (uint8_t *)c->col[ch->col] + at * w, stored, scratch, e);
                done[ch->col] = 1;
            }
        at += b->nrows;
    }
out:
    free(stored);
    free(scratch);
    return rc;
}

/* A row's ordering address beside its index. */
typedef struct keyed {
    fl_addr a;
    uint64_t i;
} keyed;

/* Byte k (0 = least significant) of an address as it sorts. */
static unsigned key_byte(const fl_addr *a, unsigned k)
{
    return (unsigned)((k < 8 ? a->lo >> (8 * k) : a->hi >> (8 * (k - 8))) & 0xff);
}

/*
 * Order v[0..n) by address, rows of one address in row order: a stable
 * byte-wise radix sort from the least significant byte, skipping the
 * bytes every row shares (an IPv4-mapped column differs in 4 of 16).
 * tmp holds n records. Returns the array holding the result.
 */
static keyed *sort_keyed(keyed *v, keyed *tmp, uint64_t n)
{
    static const unsigned nb = 16;
    uint64_t (*cnt)[256] = calloc(nb, sizeof *cnt);

    if (cnt == NULL)
        return NULL;
    for (uint64_t i = 0; i < n; i++)
        for (unsigned k = 0; k < nb; k++)
            cnt[k][key_byte(&v[i].a, k)]++;
    for (unsigned k = 0; k < nb; k++) {
        uint64_t pos = 0;
        keyed *t;
        if (n == 0 || cnt[k][key_byte(&v[0].a, k)] == n)
            continue; /* one value in every row */
        for (unsigned b = 0; b < 256; b++) {
            uint64_t c = cnt[k][b];
            cnt[k][b] = pos;
            pos += c;
        }
        for (uint64_t i = 0; i < n; i++)
            tmp[cnt[k][key_byte(&v[i].a, k)]++] = v[i];
        t = v;
        v = tmp;
        tmp = t;
    }
    free(cnt);
    return v;
}

/* Rows ix[0..n) of src (width w) into dst, one after the other. */
static void gather(void *dst, const void *src, const keyed *ix, uint32_t n, unsigned w)
{
    switch (w) {
    case 1:
        for (uint32_t j = 0; j < n; j++)
            ((uint8_t *)dst)[j] = ((const uint8_t *)src)[ix[j].i];
        break;
    case 2:
        for (uint32_t j = 0; j < n; j++)
            ((uint16_t *)dst)[j] = ((const uint16_t *)src)[ix[j].i];
        break;
    case 4:
        for (uint32_t j = 0; j < n; j++)
            ((uint32_t *)dst)[j] = ((const uint32_t *)src)[ix[j].i];
        break;
    case 8:
        for (uint32_t j = 0; j < n; j++)
            ((uint64_t *)dst)[j] = ((const uint64_t *)src)[ix[j].i];
        break;
    case 16:
        for (uint32_t j = 0; j < n; j++)
            ((fl_addr *)dst)[j] = ((const fl_addr *)src)[ix[j].i];
        break;
    default:
        for (uint32_t j = 0; j < n; j++)
            memcpy((uint8_t *)dst + (size_t)j * w, (const uint8_t *)src + ix[j].i * w, w);
    }
}

/* The columns a block's sums hold, beside its ordering address. */
static const fl_col sum_cols[] = {FL_COL_EXPORTER, FL_COL_TIME_FIRST, FL_COL_TIME_LAST,
                                  FL_COL_PACKETS,  FL_COL_BYTES,      FL_COL_OUT_PACKETS,
                                  FL_COL_OUT_BYTES, FL_COL_TCP_FLAGS, FL_COL_FLOWS};
#define NSUM (sizeof sum_cols / sizeof sum_cols[0])

/* Zeros standing for a column the segment lacks (8 bytes a row at most). */
static const uint64_t no_col[BYADDR_ROWS];

/* The address column a part's rows are not ordered by. */
static fl_col other_col(fl_col keycol)
{
    return keycol == FL_COL_SRC_ADDR ? FL_COL_DST_ADDR : FL_COL_SRC_ADDR;
}

/* Whether nfdump reads a and b as one address: IPv4 ::ffff:a.b.c.d as
 * the IPv4-compatible ::a.b.c.d (filters select both forms of a host). */
static int nf_same(fl_addr a, fl_addr b)
{
    if (fl_addr_is_v4(a))
        a.lo &= 0xffffffffULL;
    if (fl_addr_is_v4(b))
        b.lo &= 0xffffffffULL;
    return fl_addr_cmp(a, b) == 0;
}

/* Sums row j of one address moves up one (a new one goes at j): every
 * sums column, and by protocol the protocol and the other address. */
static void sums_open_row(void **sg, uint32_t *ck, uint32_t j, uint32_t m, fl_col other,
                          int by_proto)
{
    for (size_t k = 0; k < NSUM + 2; k++) {
        fl_col c = k < NSUM ? sum_cols[k] : k == NSUM ? FL_COL_PROTO : other;
        unsigned w = fl_col_get(c)->width;
        uint8_t *p = (uint8_t *)sg[c] + (size_t)j * w;
        if (k >= NSUM && !by_proto)
            break;
        memmove(p + w, p, (size_t)(m - j) * w);
        memset(p, 0, w);
    }
    memmove(ck + j + 1, ck + j, sizeof *ck * (m - j));
}

/*
 * The sums of one part block g[0..n) (rows in address order): one row per
 * (address, exporter) — by_proto: per (address, exporter, protocol, the
 * other address when nfdump reads it as this one, else ::) — in that
 * order, holding the flows (rows, or the sum of their flows column, 0
 * counting as 1), packets, bytes and reverse counters summed, the first
 * start and last end, the flags ORed. 0 when the block gets none: a row
 * is sampled (1:N, N > 1), whose sum could not be scaled. sg: arrays of
 * BYADDR_ROWS for keycol, sum_cols, the protocol and the other address;
 * ck: BYADDR_ROWS scratch.
 */
static uint32_t make_sums(void *const *g, uint32_t n, fl_col keycol, int by_proto, void **sg,
                          uint32_t *ck)
{
#define SRC(c, T) ((const T *)(g[c] ? g[c] : (const void *)no_col))
    fl_col other = other_col(keycol);
    const fl_addr *key = g[keycol], *oth = g[other];
    const uint32_t *rate = SRC(FL_COL_SAMPLING_RATE, uint32_t);
    const uint16_t *x = SRC(FL_COL_EXPORTER, uint16_t);
    const uint8_t *pr = SRC(FL_COL_PROTO, uint8_t);
    const fl_time *tf = SRC(FL_COL_TIME_FIRST, fl_time), *tl = SRC(FL_COL_TIME_LAST, fl_time);
    const uint64_t *pk = SRC(FL_COL_PACKETS, uint64_t), *by = SRC(FL_COL_BYTES, uint64_t);
    const uint64_t *opk = SRC(FL_COL_OUT_PACKETS, uint64_t), *oby = SRC(FL_COL_OUT_BYTES, uint64_t);
    const uint64_t *fw = SRC(FL_COL_FLOWS, uint64_t);
    const uint8_t *fg = SRC(FL_COL_TCP_FLAGS, uint8_t);
#undef SRC
    fl_addr *sk = sg[keycol], *so = sg[other];
    uint16_t *sx = sg[FL_COL_EXPORTER];
    uint8_t *spr = sg[FL_COL_PROTO];
    fl_time *sf = sg[FL_COL_TIME_FIRST], *sl = sg[FL_COL_TIME_LAST];
    uint64_t *sp = sg[FL_COL_PACKETS], *sb = sg[FL_COL_BYTES];
    uint64_t *sop = sg[FL_COL_OUT_PACKETS], *sob = sg[FL_COL_OUT_BYTES], *sw = sg[FL_COL_FLOWS];
    uint8_t *sfg = sg[FL_COL_TCP_FLAGS];
    uint32_t m = 0, first = 0;

    for (uint32_t r = 0; r < n; r++)
        if (rate[r] > 1)
            return 0;
    for (uint32_t r = 0; r < n; r++) {
        uint32_t j, c = (uint32_t)x[r] << 16;
        /* the other address, where it is this one in nfdump's eyes: 1 the
         * same value, 2 the other form (a filter on this host matches it) */
        unsigned self = 0;
        if (r == 0 || fl_addr_cmp(key[r], key[r - 1]) != 0)
            first = m; /* a new address: its rows start here */
        if (by_proto) {
            if (oth != NULL && nf_same(oth[r], key[r]))
                self = fl_addr_cmp(oth[r], key[r]) == 0 ? 1 : 2;
            c |= (uint32_t)pr[r] << 8 | self;
        }
        /* its sums row, kept in (exporter, protocol, self) order */
        j = first;
        while (j < m && ck[j] < c)
            j++;
        if (j == m || ck[j] != c) {
            sums_open_row(sg, ck, j, m, other, by_proto);
            ck[j] = c;
            sx[j] = x[r];
            sf[j] = tf[r];
            sl[j] = tl[r];
            if (by_proto) {
                spr[j] = pr[r];
                so[j] = self ? oth[r] : (fl_addr){0, 0};
            }
            sk[m++] = key[r]; /* rows first..m: one address */
        }
        sw[j] += fw[r] ? fw[r] : 1;
        sp[j] += pk[r];
        sb[j] += by[r];
        sop[j] += opk[r];
        sob[j] += oby[r];
        sf[j] = tf[r] < sf[j] ? tf[r] : sf[j];
        sl[j] = tl[r] > sl[j] ? tl[r] : sl[j];
        sfg[j] |= fg[r];
    }
    return m;
}

/* Append the sums block of kind (make_sums into the arrays of sg, by
 * protocol when kind is a PSUM) after the block whose entry is ent, and
 * its entry: none when make_sums makes none. */
static fl_rc put_sums(chunk_enc *enc, void *const *g, uint32_t n, fl_col keycol, int kind,
                      void **sg, uint32_t *ck, uint8_t *ent, uint32_t *nblk, sbuf *out,
                      sbuf *dir, sbuf *meta, sbuf *data)
{
    int by_proto = kind >= BLK_PSUM_SRC;
    void *cols[FL_COL_COUNT];
    uint32_t m = make_sums(g, n, keycol, by_proto, sg, ck);
    fl_rc rc;

    if (m == 0)
        return FL_OK;
    /* the block holds the sums columns only */
    memset(cols, 0, sizeof cols);
    cols[keycol] = sg[keycol];
    for (size_t k = 0; k < NSUM; k++)
        cols[sum_cols[k]] = sg[sum_cols[k]];
    if (by_proto) {
        cols[FL_COL_PROTO] = sg[FL_COL_PROTO];
        cols[other_col(keycol)] = sg[other_col(keycol)];
    }
    put64(ent, out->n);
    put32(ent + 8, m);
    put16(ent + 12, (uint16_t)kind);
    if ((rc = block_build(enc, cols, 0, m, *nblk, kind, 0, out, meta, data)) != FL_OK)
        return rc;
    (*nblk)++;
    return sbuf_put(dir, ent, DIR_ENT) != 0 ? FL_ENOMEM : FL_OK;
}

/* Append the blocks of one part (rows ordered by key) and their
 * directory entries, each followed by its sums block (make_sums). */
static fl_rc build_part(chunk_enc *enc, const seg_cols *c, const fl_addr *key, int kind,
                        keyed *ix, keyed *tmp, sbuf *out, sbuf *dir, uint32_t *nblk)
{
    void *g[FL_COL_COUNT], *sg[FL_COL_COUNT];
    fl_col keycol = kind == BLK_BY_DST ? FL_COL_DST_ADDR : FL_COL_SRC_ADDR;
    int dst = kind == BLK_BY_DST;
    sbuf meta = {0}, data = {0};
    uint32_t *ck = malloc(sizeof *ck * BYADDR_ROWS);
    fl_rc rc = FL_OK;

    memset(g, 0, sizeof g);
    memset(sg, 0, sizeof sg);
    if (ck == NULL || (sg[keycol] = malloc((size_t)BYADDR_ROWS * 16)) == NULL ||
        (sg[other_col(keycol)] = malloc((size_t)BYADDR_ROWS * 16)) == NULL ||
        (sg[FL_COL_PROTO] = malloc(BYADDR_ROWS)) == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < NSUM; k++)
        if ((sg[sum_cols[k]] = malloc((size_t)BYADDR_ROWS * fl_col_get(sum_cols[k])->width)) ==
            NULL) {
            rc = FL_ENOMEM;
            goto out;
        }
    meta.max = (size_t)SEG_MAX_META;
    data.max = (size_t)SEG_MAX_DATA;
    for (uint64_t i = 0; i < c->rows; i++) {
        ix[i].a = key ? key[i] : (fl_addr){0, 0};
        ix[i].i = i;
    }
    if ((ix = sort_keyed(ix, tmp, c->rows)) == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (int col = 0; col < FL_COL_COUNT; col++)
        if (c->col[col] && (g[col] = malloc((size_t)BYADDR_ROWS * fl_col_get((fl_col)col)->width)) == NULL) {
            rc = FL_ENOMEM;
            goto out;
        }
    for (uint64_t from = 0; from < c->rows && rc == FL_OK; from += BYADDR_ROWS) {
        uint32_t n = c->rows - from > BYADDR_ROWS ? BYADDR_ROWS : (uint32_t)(c->rows - from);
        uint8_t ent[DIR_ENT];
        for (int col = 0; col < FL_COL_COUNT; col++)
            if (g[col])
                gather(g[col], c->col[col], ix + from, n, fl_col_get((fl_col)col)->width);
        memset(ent, 0, sizeof ent);
        put64(ent, out->n);
        put32(ent + 8, n);
        put16(ent + 12, (uint16_t)kind);
        put32(ent + 16, (uint32_t)ix[from].i);
        put32(ent + 20, (uint32_t)ix[from + n - 1].i);
        put_addr(ent + 24, ix[from].a);
        put_addr(ent + 40, ix[from + n - 1].a);
        if ((rc = block_build(enc, g, 0, n, (*nblk)++, kind, 0, out, &meta, &data)) == FL_OK &&
            sbuf_put(dir, ent, sizeof ent) != 0)
            rc = FL_ENOMEM;
        /* its sums, then its sums by protocol (both, or neither: a
         * sampled block has none) */
        if (rc == FL_OK && g[keycol] != NULL &&
            (rc = put_sums(enc, g, n, keycol, dst ? BLK_SUM_DST : BLK_SUM_SRC, sg, ck, ent, nblk,
                           out, dir, &meta, &data)) == FL_OK)
            rc = put_sums(enc, g, n, keycol, dst ? BLK_PSUM_DST : BLK_PSUM_SRC, sg, ck, ent, nblk,
                          out, dir, &meta, &data);
    }
out:
    for (int col = 0; col < FL_COL_COUNT; col++) {
        free(g[col]);
        free(sg[col]);
    }
    free(ck);
    sbuf_free(&meta);
    sbuf_free(&data);
    return rc;
}

fl_rc byaddr_build(fl_store *s, chunk_enc *enc, fl_time slot, uint32_t seq, uint64_t *bytes,
                   fl_err *e)
{
    char sname[64], cname[64], path[STORE_PATH_MAX + 80];
    seg_src src = {-1, NULL, 0, sname};
    seg_header h;
    seg_blocks bl;
    seg_cols c;
    struct stat st;
    sbuf out = {0}, dir = {0};
    keyed *ix = NULL, *tmp = NULL;
    uint32_t nblk = 0;
    fl_time tmin = FL_TIME_MAX, tmax = 0;
    fl_rc rc;

    *bytes = 0;
    memset(&bl, 0, sizeof bl);
    memset(&c, 0, sizeof c);
    snprintf(sname, sizeof sname, "%013lld-%06u.fls", (long long)slot, seq);
    byaddr_name(cname, sizeof cname, slot, seq);
    snprintf(path, sizeof path, "%s/%s", s->segdir, sname);
    src.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (src.fd < 0)
        return fl_err_at(e, FL_EIO, sname, 0, -1, "open: %s", strerror(errno));
    if (fstat(src.fd, &st) != 0) {
        rc = fl_err_at(e, FL_EIO, sname, 0, -1, "stat: %s", strerror(errno));
        goto out;
    }
    src.size = (uint64_t)st.st_size;
    if ((rc = seg_header_parse(&src, &h, e)) != FL_OK ||
        (rc = seg_load_blocks(&src, &h, &bl, e)) != FL_OK)
        goto out;
    if (!bl.closed || bl.bad) {
        rc = fl_err_at(e, FL_ECORRUPT, sname, 0, -1, "damaged segment: no by-address copy");
        goto out;
    }
    for (size_t i = 0; i < bl.n; i++)
        c.rows += bl.v[i].nrows;
    if (c.rows == 0 || c.rows > BYADDR_MAX_ROWS) {
        rc = FL_OK; /* nothing to find, or too large to sort in memory */
        goto out;
    }
    if ((rc = load_cols(&src, &bl, &c, e)) != FL_OK)
        goto out;
    out.max = dir.max = (size_t)1 << 40;
    ix = malloc(sizeof *ix * c.rows);
    tmp = malloc(sizeof *tmp * c.rows);
    if (ix == NULL || tmp == NULL || seg_header_build(&out, h.slot_start, h.slot_ms, h.seq) != FL_OK) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (uint64_t r = 0; r < c.rows && c.col[FL_COL_TIME_FIRST]; r++) {
        fl_time t = ((const fl_time *)c.col[FL_COL_TIME_FIRST])[r];
        tmin = t < tmin ? t : tmin;
        tmax = t > tmax ? t : tmax;
    }
    if (c.col[FL_COL_TIME_FIRST] == NULL)
        tmin = tmax = 0;
    {
        uint8_t fx[DIR_FIXED];
        memset(fx, 0, sizeof fx);
        if (sbuf_put(&dir, fx, sizeof fx) != 0) {
            rc = FL_ENOMEM;
            goto out;
        }
    }
    for (int part = 0; part < 2 && rc == FL_OK; part++) {
        rc = build_part(enc, &c, c.col[part ? FL_COL_DST_ADDR : FL_COL_SRC_ADDR],
                        part ? BLK_BY_DST : BLK_BY_SRC, ix, tmp, &out, &dir, &nblk);
    }
    if (rc != FL_OK)
        goto out;
    {
        uint8_t tr[DIR_TRAILER];
        uint64_t doff = out.n;
        memcpy(dir.p, DIR_MAGIC, 8);
        put32(dir.p + 8, nblk);
        put32(dir.p + 12, BYADDR_F_SUMS);
        put64(dir.p + 16, c.rows);
        put64(dir.p + 24, (uint64_t)tmin);
        put64(dir.p + 32, (uint64_t)tmax);
        put64(tr, doff);
        put32(tr + 8, (uint32_t)dir.n);
        put32(tr + 12, store_crc32c(0, dir.p, dir.n));
        memcpy(tr + 16, DIR_TAIL, 8);
        if (sbuf_put(&out, dir.p, dir.n) != 0 || sbuf_put(&out, tr, sizeof tr) != 0) {
            rc = FL_ENOMEM;
            goto out;
        }
    }
    if ((rc = store_write_atomic(s->segdir, cname, out.p, out.n, s->o.fsync, e)) == FL_OK)
        *bytes = out.n;
out:
    if (rc == FL_ENOMEM)
        fl_err_at(e, FL_ENOMEM, cname, 0, -1, "out of memory building the by-address copy");
    free(ix);
    free(tmp);
    sbuf_free(&out);
    sbuf_free(&dir);
    seg_cols_free(&c);
    seg_blocks_free(&bl);
    close(src.fd);
    return rc;
}

void byaddr_make(fl_store *s, chunk_enc *enc, fl_time slot, uint32_t seq)
{
    char sname[64], path[STORE_PATH_MAX + 80];
    uint64_t bytes;
    fl_err le;

    snprintf(sname, sizeof sname, "%013lld-%06u.fls", (long long)slot, seq);
    if (byaddr_build(s, enc, slot, seq, &bytes, &le) != FL_OK) {
        char msg[600];
        fl_err_format(&le, msg, sizeof msg);
        fl_log_warn("%s: no by-address copy: %s", sname, msg);
        return;
    }
    if (bytes == 0)
        return;
    snprintf(path, sizeof path, "%s/%s", s->segdir, sname);
    if (access(path, F_OK) != 0) { /* expired while the copy was made */
        char cname[64];
        byaddr_name(cname, sizeof cname, slot, seq);
        snprintf(path, sizeof path, "%s/%s", s->segdir, cname);
        unlink(path);
        return;
    }
    if (store_cat_recount(s, sname, &le) != FL_OK) {
        char msg[600];
        fl_err_format(&le, msg, sizeof msg);
        fl_log_warn("%s: catalog not updated for its by-address copy: %s", sname, msg);
    }
}

#define COPIER_QUEUE 256

struct byaddr_copier {
    fl_store *s;
    chunk_enc *enc; /* its own: the writer's is in use meanwhile */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct {
        fl_time slot;
        uint32_t seq;
    } q[COPIER_QUEUE];
    unsigned head, n;
    int stop;
};

static void *copier_main(void *arg)
{
    byaddr_copier *c = arg;

    /* below the receivers and the writer: a copy can wait, a datagram
     * cannot (Linux: a thread's own nice value) */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    pthread_mutex_lock(&c->mu);
    for (;;) {
        fl_time slot;
        uint32_t seq;
        while (c->n == 0 && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->n == 0)
            break;
        slot = c->q[c->head].slot;
        seq = c->q[c->head].seq;
        pthread_mutex_unlock(&c->mu);
        byaddr_make(c->s, c->enc, slot, seq);
        pthread_mutex_lock(&c->mu);
        c->head = (c->head + 1) % COPIER_QUEUE;
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

byaddr_copier *byaddr_copier_start(fl_store *s)
{
    byaddr_copier *c = calloc(1, sizeof *c);
    int codec = s->o.codec == FL_STORE_LZ4 ? CODEC_LZ4
                : s->o.codec == FL_STORE_NONE ? CODEC_NONE : CODEC_ZSTD;

    if (c == NULL)
        return NULL;
    c->s = s;
    if ((c->enc = chunk_enc_new(codec, s->o.level)) == NULL) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->th, NULL, copier_main, c) != 0) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        chunk_enc_free(c->enc);
        free(c);
        return NULL;
    }
    return c;
}

int byaddr_copier_post(byaddr_copier *c, fl_time slot, uint32_t seq, unsigned most)
{
    int rc = -1;

    pthread_mutex_lock(&c->mu);
    if (c->n < COPIER_QUEUE && c->n < most && !c->stop) {
        unsigned at = (c->head + c->n) % COPIER_QUEUE;
        c->q[at].slot = slot;
        c->q[at].seq = seq;
        c->n++;
        pthread_cond_signal(&c->cv);
        rc = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int byaddr_copier_idle(byaddr_copier *c)
{
    int idle;

    pthread_mutex_lock(&c->mu);
    idle = c->n == 0; /* n counts the copy being made until it is done */
    pthread_mutex_unlock(&c->mu);
    return idle;
}

void byaddr_copier_stop(byaddr_copier *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL); /* after the queue is done */
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    chunk_enc_free(c->enc);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

fl_rc byaddr_dir_read(const seg_src *s, byaddr_dir *d, fl_err *e)
{
    uint8_t tr[DIR_TRAILER], *p = NULL;
    uint64_t doff;
    uint32_t dlen, n;
    fl_rc rc;

    memset(d, 0, sizeof *d);
    if (s->size < DIR_TRAILER + DIR_FIXED)
        return fl_err_at(e, FL_ETRUNCATED, s->name, 0, -1, "too short for a by-address copy");
    if ((rc = seg_read(s, s->size - DIR_TRAILER, tr, sizeof tr, e)) != FL_OK)
        return rc;
    doff = get64(tr);
    dlen = get32(tr + 8);
    if (memcmp(tr + 16, DIR_TAIL, 8) != 0 || dlen < DIR_FIXED ||
        doff + dlen != s->size - DIR_TRAILER || (dlen - DIR_FIXED) % DIR_ENT != 0)
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)(s->size - DIR_TRAILER),
                         "bad by-address directory trailer");
    if ((p = malloc(dlen)) == NULL)
        return FL_ENOMEM;
    if ((rc = seg_read(s, doff, p, dlen, e)) != FL_OK)
        goto out;
    n = (dlen - DIR_FIXED) / DIR_ENT;
    if (store_crc32c(0, p, dlen) != get32(tr + 12) || memcmp(p, DIR_MAGIC, 8) != 0 ||
        get32(p + 8) != n) {
        rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)doff,
                       "by-address directory checksum or count mismatch");
        goto out;
    }
    d->flags = get32(p + 12);
    d->rows = get64(p + 16);
    d->tmin = (fl_time)get64(p + 24);
    d->tmax = (fl_time)get64(p + 32);
    d->v = calloc(n ? n : 1, sizeof *d->v);
    if (d->v == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *q = p + DIR_FIXED + (size_t)i * DIR_ENT;
        byaddr_ent *x = &d->v[i];
        x->off = get64(q);
        x->nrows = get32(q + 8);
        x->kind = get16(q + 12);
        x->imin = get32(q + 16);
        x->imax = get32(q + 20);
        x->kmin = get_addr(q + 24);
        x->kmax = get_addr(q + 40);
        if (x->off >= doff || x->nrows == 0 || x->nrows > BYADDR_ROWS ||
            x->kind < BLK_BY_SRC || x->kind > BLK_PSUM_DST) {
            rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)doff,
                           "by-address directory entry %u invalid", i);
            goto out;
        }
        /* sums follow their block, sums by protocol the sums, over the
         * same rows, no more of them than the block */
        if (x->kind >= BLK_SUM_SRC &&
            (i == 0 || x[-1].kind != x->kind - 2 || x[-1].imin != x->imin ||
             x[-1].imax != x->imax || fl_addr_cmp(x[-1].kmin, x->kmin) != 0 ||
             fl_addr_cmp(x[-1].kmax, x->kmax) != 0 ||
             x->nrows > (x->kind >= BLK_PSUM_SRC ? BYADDR_ROWS : x[-1].nrows))) {
            rc = fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)doff,
                           "by-address directory entry %u: sums not of the block before", i);
            goto out;
        }
    }
    d->n = n;
    d->end = doff;
    rc = FL_OK;
out:
    free(p);
    if (rc != FL_OK)
        byaddr_dir_free(d);
    return rc;
}

void byaddr_dir_free(byaddr_dir *d)
{
    free(d->v);
    memset(d, 0, sizeof *d);
}

uint64_t byaddr_part_rows(const byaddr_dir *d, int kind)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < d->n; i++)
        if (d->v[i].kind == kind)
            n += d->v[i].nrows;
    return n;
}

int byaddr_has_sums(const byaddr_dir *d)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (d->v[i].kind >= BLK_SUM_SRC)
            return 1;
    return 0;
}

int byaddr_hit(const byaddr_dir *d, uint32_t i, int kind, const fl_addr *lo, const fl_addr *hi,
               unsigned nivl)
{
    const byaddr_ent *x = &d->v[i];

    if (x->kind != kind)
        return 0;
    for (unsigned j = 0; j < nivl; j++)
        if (fl_addr_cmp(x->kmax, lo[j]) >= 0 && fl_addr_cmp(x->kmin, hi[j]) <= 0)
            return 1;
    return 0;
}

#define SUMS_READ_MAX (256u << 10)

fl_rc byaddr_block(const seg_src *s, const seg_header *h, const byaddr_dir *d, uint32_t i,
                   seg_block *b, fl_err *e)
{
    const byaddr_ent *x = &d->v[i];
    uint64_t next, end = i + 1 < d->n ? d->v[i + 1].off : d->end;
    fl_rc rc;

    /* sums blocks are small: header, metadata and data in one read (the
     * next block, or the directory, starts where this one ends) */
    if (x->kind >= BLK_SUM_SRC && end > x->off && end - x->off <= SUMS_READ_MAX)
        rc = block_parse_whole(s, h, x->off, end - x->off, b, &next, e);
    else
        rc = block_parse(s, h, x->off, b, &next, e);
    if (rc != FL_OK)
        return rc;
    if (b->kind != x->kind || b->nrows != x->nrows || b->group != i || next > d->end) {
        block_clear(b);
        return fl_err_at(e, FL_ECORRUPT, s->name, 0, (long long)x->off,
                         "block %u does not match the by-address directory", i);
    }
    return FL_OK;
}

fl_rc byaddr_blocks(const seg_src *s, const seg_header *h, const byaddr_dir *d, int kind,
                    const fl_addr *lo, const fl_addr *hi, unsigned nivl, seg_blocks *bl,
                    fl_err *e)
{
    for (uint32_t i = 0; i < d->n; i++) {
        seg_block b;
        fl_rc rc;
        if (!byaddr_hit(d, i, kind, lo, hi, nivl))
            continue;
        if ((rc = byaddr_block(s, h, d, i, &b, e)) != FL_OK)
            return rc;
        if (seg_blocks_push(bl, &b) != 0) {
            block_clear(&b);
            return FL_ENOMEM;
        }
    }
    bl->closed = 1;
    return FL_OK;
}
