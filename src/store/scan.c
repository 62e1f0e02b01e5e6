/*
 * store/scan.c — reading the store: scans with zone-map pruning, verify,
 * and retention.
 *
 * A scan lists the segments of its time range and exporters (catalog),
 * then walks each file's blocks: a block whose zone maps (min/max per
 * chunk, address blooms) exclude the predicate is skipped without reading
 * its data; the others have their requested chunks read, checked against
 * their CRC and decoded. A block with a bad chunk, or a segment with a bad
 * header or footer, is skipped with one warning naming file, column and
 * chunk; the scan goes on.
 *
 * One scan may be read by several threads at once (fl_store_scan_fill):
 * each call claims the next row group under the scan's mutex (a cheap
 * step: a cursor and the zone-map test) and decodes it outside the lock
 * with a "lane" of private buffers, straight into the caller's batch when
 * the whole group fits, else into the lane's batch, whose rows the next
 * callers copy out. An open segment is shared by the lanes decoding its
 * groups and freed by the last one (reference count), so the cursor can
 * move on to the next file while earlier groups are still decoding.
 */
#include "store/store_int.h"
#include "store/byaddr.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_MAX_LANES 64

/* A block of a by-address copy that could not be read: its rows are read
 * from the segment itself once the cursor has passed every segment. They
 * are the segment's rows matching the part's predicate whose (ordering
 * address, row number) lies in [(kmin, imin), (kmax, imax)]. */
typedef struct scan_redo {
    size_t iseg;
    byaddr_ent x; /* the block's directory entry */
} scan_redo;

/* One open segment file, shared by the lanes decoding its groups. */
typedef struct scan_seg {
    seg_src src;
    seg_header h;
    seg_blocks bl;
    size_t iseg;  /* index in the scan's segment list */
    int refs;     /* lanes decoding one of its groups (under the lock) */
    int retired;  /* the cursor has moved on: the last reference frees it */
    int copy;     /* src, h and bl are the segment's by-address copy's */
    char cname[64]; /* the copy's file name (src.name) */
    byaddr_dir dir; /* the copy's directory (a block's group is its index) */
    /* an ordered scan's copy: bl.v[i] is directory entry ordix[i]'s
     * block, its metadata parsed when claimed and dropped once decoded
     * (a scan over weeks holds thousands of copies open at once) */
    uint32_t *ordix;
    int is_redo;    /* the segment read again for rd */
    scan_redo rd;
    uint64_t *first_row; /* is_redo: row number in the segment of each block's first */
} scan_seg;

/* Private decoding buffers of one caller at a time. */
typedef struct scan_lane {
    fl_batch *batch; /* decoded group not handed out whole (lazily made) */
    void *zero;      /* the shared all-zero array behind batch's other columns */
    uint64_t dirty[FL_PRESENT_WORDS];
    uint8_t *stored, *scratch;
    /* selective decoding (exact scans with address terms), made on first
     * use: row marks, the selected rows, room for one whole chunk */
    uint8_t *mark, *mark2;
    uint32_t *idx;
    void *full;
    int addr_done;   /* select_rows decided the address terms (and, in a
                        copy's dst part, the driving term on src) of the
                        group just decoded: it holds only rows that pass
                        them, or with dense, all its rows, mark[r] saying
                        which pass */
    int dense;
    uint32_t pos;    /* rows of batch already copied out */
    uint64_t values; /* decoded by this lane since the last fold into stats */
} scan_lane;

struct fl_store_scan {
    fl_store *s;
    uint64_t cols[FL_PRESENT_WORDS];
    uint64_t need[FL_PRESENT_WORDS]; /* cols + predicate columns (exact) */
    fl_store_pred pred;
    int has_pred, flags;
    int sel_rows; /* exact, with address terms: select_rows first */
    /* reading by-address copies (FL_STORE_SCAN_ANY_ORDER): the driving
     * address term's intervals (stored form) pick the copy's blocks. A
     * term on either address reads both parts: the src-ordered one for
     * rows whose src matches, the dst-ordered one for rows whose dst
     * matches and src does not (excl), so each flow comes back once. */
    int by;                 /* bit 0: read the src part, bit 1: the dst part */
    int excl;
    fl_store_pred part[2];  /* the predicate in each part (the driving term
                               on src_addr, on dst_addr) */
    fl_addr dlo[FL_STORE_ASET_MAX * 3], dhi[FL_STORE_ASET_MAX * 3];
    unsigned dn;
    fl_time tbound;         /* fl_store_scan_time_bound (FL_TIME_MAX: none) */
    /* fl_store_scan_sums: a copy's block whose flows all lie in [sum_lo,
     * sum_hi) (0, 0: no window) is read as its sums block */
    int sums;
    fl_time sum_lo, sum_hi;
    /* fl_store_scan_host_sums: a copy's block the driving term picks is
     * read as its sums by protocol (same window) */
    int hsums;
    /* ordered (FL_STORE_SCAN_SRC_ORDER, _DST_ORDER): at the first claim
     * every closed segment's copy is opened (ordk 1), or the segment is
     * left to the cursor (0: read first, unordered) or has no block that
     * may match (2); then the copies' blocks go out lowest address first,
     * from a heap of segments by the lowest address of their next block */
    int ord;                /* 0, or the part: 1 src, 2 dst */
    int ord_ready;
    int ord_broken;         /* the order was lost: the floor stays :: */
    unsigned char *ordk;
    scan_seg **ordg;        /* ordk 1: the open copy (NULL once done) */
    size_t *ordpos;         /* ordk 1: its next block */
    fl_addr *ordlow;        /* ... and that block's lowest address */
    size_t *heap, nheap;
    uint64_t ord_blocks, ord_claimed, ord_bytes; /* for progress */
    scan_redo *redo;        /* copy blocks to read from their segment */
    size_t nredo, capredo, iredo;
    fl_store_seginfo *segs;
    size_t nseg, iseg;
    struct scan_sync {
        pthread_mutex_t lock; /* guards everything below, and the lanes' hand-off */
        pthread_cond_t cond;  /* a busy lane came back */
    } *sy;                    /* apart, so const readers (progress) can lock it */
    scan_seg *cur;        /* the segment the cursor is in, or NULL */
    size_t iblk;
    int exhausted;        /* no group left to claim */
    scan_lane *lanes[SCAN_MAX_LANES];
    unsigned nlanes;
    scan_lane *idle[SCAN_MAX_LANES]; /* lanes not in use */
    unsigned nidle;
    unsigned busy;        /* lanes in use */
    fl_store_scan_stats st;
};

static int bit(const uint64_t *m, int c) { return (int)(m[c / 64] >> (c % 64) & 1); }
static void setbit(uint64_t *m, int c) { m[c / 64] |= (uint64_t)1 << (c % 64); }

/* A lane's batch: arrays for the columns it decodes (needed ones and the
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
        *zero = NULL;
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

static void lane_free(scan_lane *l)
{
    if (l == NULL)
        return;
    if (l->batch) {
        free(l->batch->mem);
        free(l->batch);
    }
    free(l->zero);
    free(l->stored);
    free(l->scratch);
    free(l->mark);
    free(l->mark2);
    free(l->idx);
    free(l->full);
    free(l);
}

static scan_lane *lane_new(void)
{
    scan_lane *l = calloc(1, sizeof *l);

    if (l == NULL)
        return NULL;
    l->stored = malloc(CHUNK_RAW_MAX + 1024);
    l->scratch = malloc(CHUNK_SCRATCH);
    if (!l->stored || !l->scratch) {
        lane_free(l);
        return NULL;
    }
    return l;
}

static int lane_batch(const fl_store_scan *sc, scan_lane *l)
{
    if (l->batch == NULL)
        l->batch = scan_batch_new(sc->need, &l->zero);
    return l->batch != NULL ? 0 : -1;
}

/* Check the predicate's terms; e gets the first problem. */
static fl_rc pred_check(const fl_store_pred *p, fl_err *e)
{
    if (p->nexporters > FL_STORE_PRED_MAX || p->nranges > FL_STORE_PRED_MAX ||
        p->naddrs > FL_STORE_PRED_MAX || p->nasets > FL_STORE_PRED_ASETS)
        return fl_err_set(e, FL_EINVAL, "predicate has more than %d terms of a kind",
                          FL_STORE_PRED_MAX);
    for (uint32_t i = 0; i < p->nranges; i++) {
        int c = p->ranges[i].col;
        if (c < 0 || c >= FL_COL_COUNT || fl_col_get((fl_col)c)->kind == FL_KIND_ADDR)
            return fl_err_set(e, FL_EINVAL, "range term %u: column %d is not numeric", i, c);
    }
    for (uint32_t i = 0; i < p->naddrs + p->nasets; i++) {
        int c = i < p->naddrs ? p->addrs[i].col : p->asets[i - p->naddrs].col;
        if (c != FL_STORE_ANY_ADDR &&
            (c < 0 || c >= FL_COL_COUNT || fl_col_get((fl_col)c)->kind != FL_KIND_ADDR))
            return fl_err_set(e, FL_EINVAL, "address term %u: column %d is not an address", i, c);
    }
    for (uint32_t i = 0; i < p->nasets; i++)
        if (p->asets[i].n > FL_STORE_ASET_MAX)
            return fl_err_set(e, FL_EINVAL, "address set %u: more than %d intervals", i,
                              FL_STORE_ASET_MAX);
    return FL_OK;
}

static void need_addr_col(uint64_t *need, int c)
{
    if (c == FL_STORE_ANY_ADDR) {
        setbit(need, FL_COL_SRC_ADDR);
        setbit(need, FL_COL_DST_ADDR);
    } else {
        setbit(need, c);
    }
}

static fl_addr prefix_last(const fl_prefix *p);
static int nf_preimage(fl_addr lo, fl_addr hi, fl_addr *plo, fl_addr *phi);

/* An exact scan in any order reads by-address copies when a term of its
 * predicate is on src_addr, dst_addr or either: the first such term
 * drives (its intervals pick the copy's blocks). */
static void choose_copies(fl_store_scan *sc)
{
    fl_store_pred *p = &sc->pred;

    for (uint32_t t = 0; t < p->nasets + p->naddrs; t++) {
        int *col = t < p->nasets ? &sc->part[0].asets[t].col
                                 : &sc->part[0].addrs[t - p->nasets].col;
        int c = *col;
        if (c != FL_STORE_ANY_ADDR && c != FL_COL_SRC_ADDR && c != FL_COL_DST_ADDR)
            continue;
        sc->dn = 0;
        if (t < p->nasets) {
            const fl_store_pred_aset *a = &p->asets[t];
            for (uint32_t j = 0; j < a->n; j++)
                sc->dn += (unsigned)nf_preimage(a->lo[j], a->hi[j], sc->dlo + sc->dn,
                                                sc->dhi + sc->dn);
        } else {
            const fl_store_pred_addr *a = &p->addrs[t - p->nasets];
            sc->dlo[0] = a->prefix.addr;
            sc->dhi[0] = prefix_last(&a->prefix);
            sc->dn = 1;
        }
        sc->by = c == FL_STORE_ANY_ADDR ? 3 : c == FL_COL_SRC_ADDR ? 1 : 2;
        sc->excl = c == FL_STORE_ANY_ADDR;
        if (c == FL_STORE_ANY_ADDR) {
            int *col1 = t < p->nasets ? &sc->part[1].asets[t].col
                                      : &sc->part[1].addrs[t - p->nasets].col;
            *col = FL_COL_SRC_ADDR;
            *col1 = FL_COL_DST_ADDR;
        }
        return;
    }
}

fl_rc fl_store_scan_open(fl_store *s, const uint64_t *cols, const fl_store_pred *pred, int flags,
                         fl_store_scan **out, fl_err *e)
{
    fl_store_scan *sc;
    fl_rc rc;

    *out = NULL;
    if (pred && (rc = pred_check(pred, e)) != FL_OK)
        return rc;
    sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return FL_ENOMEM;
    sc->sy = malloc(sizeof *sc->sy);
    if (sc->sy == NULL) {
        free(sc);
        return FL_ENOMEM;
    }
    sc->s = s;
    sc->flags = flags;
    sc->tbound = FL_TIME_MAX;
    pthread_mutex_init(&sc->sy->lock, NULL);
    pthread_cond_init(&sc->sy->cond, NULL);
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (cols == NULL || bit(cols, c))
            setbit(sc->cols, c);
    memcpy(sc->need, sc->cols, sizeof sc->need);
    if (pred) {
        sc->pred = *pred;
        sc->has_pred = 1;
        sc->part[0] = sc->part[1] = sc->pred;
        if (flags & FL_STORE_SCAN_EXACT) {
            setbit(sc->need, FL_COL_TIME_FIRST);
            setbit(sc->need, FL_COL_EXPORTER);
            for (uint32_t i = 0; i < sc->pred.nranges; i++)
                setbit(sc->need, sc->pred.ranges[i].col);
            for (uint32_t i = 0; i < sc->pred.naddrs; i++)
                need_addr_col(sc->need, sc->pred.addrs[i].col);
            for (uint32_t i = 0; i < sc->pred.nasets; i++)
                need_addr_col(sc->need, sc->pred.asets[i].col);
            sc->sel_rows = sc->pred.nasets + sc->pred.naddrs > 0;
            if (sc->sel_rows && (flags & FL_STORE_SCAN_ANY_ORDER))
                choose_copies(sc);
        }
    }
    if (flags & (FL_STORE_SCAN_SRC_ORDER | FL_STORE_SCAN_DST_ORDER)) {
        int want = flags & FL_STORE_SCAN_SRC_ORDER ? 1 : 2;
        if (sc->by == 0) { /* every block of that part */
            sc->by = want;
            sc->dlo[0] = (fl_addr){0, 0};
            sc->dhi[0] = (fl_addr){UINT64_MAX, UINT64_MAX};
            sc->dn = 1;
        }
        if (sc->by == want) {
            sc->ord = want;
            /* (a damaged block's rows are picked from its segment by it) */
            setbit(sc->need, want == 1 ? FL_COL_SRC_ADDR : FL_COL_DST_ADDR);
        }
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

int fl_store_scan_sums(fl_store_scan *sc, fl_col col, fl_time start, fl_time end)
{
    const fl_store_pred *p = &sc->pred;

    if ((col != FL_COL_SRC_ADDR && col != FL_COL_DST_ADDR) || sc->by || sc->ord ||
        (sc->flags & FL_STORE_SCAN_EXACT) ||
        (sc->has_pred && (p->nranges || p->naddrs || p->nasets)))
        return 0;
    sc->sums = 1;
    sc->sum_lo = start;
    sc->sum_hi = end;
    sc->by = col == FL_COL_SRC_ADDR ? 1 : 2;
    sc->dlo[0] = (fl_addr){0, 0};
    sc->dhi[0] = (fl_addr){UINT64_MAX, UINT64_MAX};
    sc->dn = 1;
    /* a damaged sums block's rows are picked from its segment by it */
    setbit(sc->need, col);
    setbit(sc->need, FL_COL_FLOWS);
    return 1;
}

static fl_addr nf_form(fl_addr a);

int fl_store_scan_host_sums(fl_store_scan *sc, fl_time start, fl_time end)
{
    const fl_store_pred *p = &sc->pred;

    if (!sc->by || sc->ord || sc->sums || p->naddrs + p->nasets != 1)
        return 0;
    for (uint32_t i = 0; i < p->nranges; i++)
        if (p->ranges[i].col != FL_COL_PROTO && p->ranges[i].col != FL_COL_EXPORTER)
            return 0;
    if (sc->excl) {
        /* a dst part's sums say whether their src is the same host (in
         * nfdump's eyes) only: the term must be one host, not :: */
        for (unsigned j = 0; j < sc->dn; j++)
            if (fl_addr_cmp(sc->dlo[j], sc->dhi[j]) != 0 ||
                fl_addr_cmp(nf_form(sc->dlo[j]), nf_form(sc->dlo[0])) != 0 ||
                (nf_form(sc->dlo[j]).hi == 0 && nf_form(sc->dlo[j]).lo == 0))
                return 0;
    }
    sc->hsums = 1;
    sc->sum_lo = start;
    sc->sum_hi = end;
    setbit(sc->need, FL_COL_FLOWS);
    return 1;
}

static void seg_free(scan_seg *g)
{
    if (g == NULL)
        return;
    if (g->src.fd >= 0)
        close(g->src.fd);
    seg_blocks_free(&g->bl);
    byaddr_dir_free(&g->dir);
    free(g->first_row);
    free(g->ordix);
    free(g);
}

/* The cursor leaves its segment (under the lock). */
static void seg_leave(fl_store_scan *sc)
{
    if (sc->cur == NULL)
        return;
    if (sc->cur->refs == 0)
        seg_free(sc->cur);
    else
        sc->cur->retired = 1;
    sc->cur = NULL;
}

/* A lane is done with segment g (under the lock). */
static void seg_unref(fl_store_scan *sc, scan_seg *g)
{
    if (--g->refs == 0 && g->retired && g != sc->cur)
        seg_free(g);
}

/* Close the ordered copies (no lane busy) for a rewind or the end. */
static void ord_reset(fl_store_scan *sc)
{
    for (size_t k = 0; sc->ordg && k < sc->nseg; k++)
        seg_free(sc->ordg[k]);
    free(sc->ordk);
    free(sc->ordg);
    free(sc->ordpos);
    free(sc->ordlow);
    free(sc->heap);
    sc->ordk = NULL;
    sc->ordg = NULL;
    sc->ordpos = sc->heap = NULL;
    sc->ordlow = NULL;
    sc->nheap = 0;
    sc->ord_ready = sc->ord_broken = 0;
    sc->ord_blocks = sc->ord_claimed = sc->ord_bytes = 0;
}

void fl_store_scan_free(fl_store_scan *sc)
{
    if (sc == NULL)
        return;
    seg_leave(sc);
    ord_reset(sc);
    for (unsigned i = 0; i < sc->nlanes; i++)
        lane_free(sc->lanes[i]);
    free(sc->segs);
    free(sc->redo);
    pthread_mutex_destroy(&sc->sy->lock);
    pthread_cond_destroy(&sc->sy->cond);
    free(sc->sy);
    free(sc);
}

void fl_store_scan_get_stats(const fl_store_scan *sc, fl_store_scan_stats *st)
{
    pthread_mutex_lock(&sc->sy->lock);
    *st = sc->st;
    for (unsigned i = 0; i < sc->nlanes; i++)
        st->values += sc->lanes[i]->values;
    st->warnings = __atomic_load_n(&sc->st.warnings, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&sc->sy->lock);
}

double fl_store_scan_progress(const fl_store_scan *sc)
{
    uint64_t total = 0, done = 0;
    double r;

    pthread_mutex_lock(&sc->sy->lock);
    for (size_t i = 0; i < sc->nseg; i++) {
        total += sc->segs[i].bytes;
        if (i < sc->iseg && !(sc->ordk && sc->ordk[i] == 1))
            done += sc->segs[i].bytes;
    }
    if (sc->ord_blocks) /* the ordered copies, by blocks handed out */
        done += (uint64_t)((double)sc->ord_bytes * (double)sc->ord_claimed /
                           (double)sc->ord_blocks);
    if (sc->cur && sc->iseg < sc->nseg && sc->cur->bl.n)
        done += sc->segs[sc->iseg].bytes * sc->iblk / sc->cur->bl.n;
    r = total ? (double)done / (double)total : (sc->iseg >= sc->nseg ? 1.0 : 0.0);
    pthread_mutex_unlock(&sc->sy->lock);
    return r;
}

static void warn(fl_store_scan *sc, const fl_err *le, const char *what)
{
    char buf[900];
    fl_err_format(le, buf, sizeof buf);
    __atomic_add_fetch(&sc->st.warnings, 1, __ATOMIC_RELAXED);
    fl_log_warn("store: %s skipped: %s", what, buf);
}

/* Blocks of the part whose address range meets the driving intervals,
 * as empty entries of g->bl with their directory indexes (ordix): parsed
 * one at a time by an ordered scan. */
static fl_rc copy_lazy_blocks(const fl_store_scan *sc, scan_seg *g, int kind)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < g->dir.n; i++)
        n += (uint32_t)byaddr_hit(&g->dir, i, kind, sc->dlo, sc->dhi, sc->dn);
    g->bl.v = calloc(n ? n : 1, sizeof *g->bl.v);
    g->ordix = malloc((n ? n : 1) * sizeof *g->ordix);
    if (g->bl.v == NULL || g->ordix == NULL)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < g->dir.n; i++)
        if (byaddr_hit(&g->dir, i, kind, sc->dlo, sc->dhi, sc->dn))
            g->ordix[g->bl.n++] = i;
    g->bl.cap = g->bl.n;
    g->bl.closed = 1;
    return FL_OK;
}

static const seg_chunk *find_chunk(const seg_block *b, int c);

/* Whether every flow of block b lies in the sums window (both times). */
static int sums_inside(const fl_store_scan *sc, const seg_block *b)
{
    const seg_chunk *tf = find_chunk(b, FL_COL_TIME_FIRST), *tl = find_chunk(b, FL_COL_TIME_LAST);
    fl_time f0 = tf ? (fl_time)tf->min.lo : 0, f1 = tf ? (fl_time)tf->max.lo : 0;
    fl_time l0 = tl ? (fl_time)tl->min.lo : 0, l1 = tl ? (fl_time)tl->max.lo : 0;

    if (sc->sum_lo == 0 && sc->sum_hi == 0)
        return 1;
    return f0 >= sc->sum_lo && l0 >= sc->sum_lo && f1 < sc->sum_hi && l1 < sc->sum_hi;
}

/* The blocks of one part of copy g for a scan of sums: the blocks its
 * address term picks (every one without a term), each as its sums — with
 * host sums, its sums by protocol — when all its flows lie in the window,
 * else as itself. (A sums row is of one address: an exact scan keeps
 * those of its term, as it keeps rows.) */
static fl_rc copy_sum_blocks(fl_store_scan *sc, scan_seg *g, int kind, fl_err *e)
{
    const byaddr_dir *d = &g->dir;
    uint32_t at = sc->hsums ? 2 : 1; /* the sums follow the block, those by protocol the sums */
    fl_rc rc;

    for (uint32_t i = 0; i < d->n; i++) {
        seg_block b;
        if (!byaddr_hit(d, i, kind, sc->dlo, sc->dhi, sc->dn))
            continue;
        if (i + at < d->n && d->v[i + at].kind == kind + 2 * (int)at) {
            fl_err le;
            if (byaddr_block(&g->src, &g->h, d, i + at, &b, &le) != FL_OK) {
                warn(sc, &le, "by-address copy sums (the rows are read)");
            } else if (sums_inside(sc, &b)) {
                if (seg_blocks_push(&g->bl, &b) != 0) {
                    block_clear(&b);
                    return FL_ENOMEM;
                }
                continue;
            } else {
                block_clear(&b);
            }
        }
        if ((rc = byaddr_block(&g->src, &g->h, d, i, &b, e)) != FL_OK)
            return rc;
        if (seg_blocks_push(&g->bl, &b) != 0) {
            block_clear(&b);
            return FL_ENOMEM;
        }
    }
    g->bl.closed = 1;
    return FL_OK;
}

/* The by-address copy of closed segment si with the blocks that may hold
 * the driving address (lazy: not parsed yet, copy_lazy_blocks), or NULL
 * to read the segment itself: no copy, or one that does not match the
 * segment (warned) or cannot be read (warned). */
static scan_seg *copy_open(fl_store_scan *sc, const fl_store_seginfo *si, int lazy)
{
    char path[STORE_PATH_MAX + 80];
    struct stat st;
    scan_seg *g;
    fl_err le;
    fl_rc rc;

    if ((g = calloc(1, sizeof *g)) == NULL)
        return NULL;
    byaddr_name(g->cname, sizeof g->cname, si->slot_start, si->seq);
    snprintf(path, sizeof path, "%s/%s", sc->s->segdir, g->cname);
    g->iseg = sc->iseg;
    g->copy = 1;
    g->src.name = g->cname;
    g->src.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (g->src.fd < 0 || fstat(g->src.fd, &st) != 0) {
        seg_free(g); /* most often none: made after this build, or too large */
        return NULL;
    }
    g->src.size = (uint64_t)st.st_size;
    if ((rc = seg_header_parse(&g->src, &g->h, &le)) == FL_OK &&
        (rc = byaddr_dir_read(&g->src, &g->dir, &le)) == FL_OK) {
        const byaddr_dir *d = &g->dir;
        if (d->rows != si->rows || d->tmin != si->tmin || d->tmax != si->tmax ||
            byaddr_part_rows(d, BLK_BY_SRC) != d->rows ||
            byaddr_part_rows(d, BLK_BY_DST) != d->rows || g->h.slot_start != si->slot_start ||
            g->h.seq != si->seq)
            rc = fl_err_at(&le, FL_ECORRUPT, g->cname, 0, -1,
                           "made from another segment than %s (its slot, rows or time range "
                           "differ)", si->name);
        if (rc == FL_OK && sc->sums && !byaddr_has_sums(d)) {
            seg_free(g); /* made before sums: its rows cost more than the segment's */
            return NULL;
        }
        if (lazy && rc == FL_OK && (rc = copy_lazy_blocks(sc, g, sc->by == 2 ? BLK_BY_DST
                                                                              : BLK_BY_SRC)) != FL_OK)
            fl_err_at(&le, rc, g->cname, 0, -1, "out of memory");
        for (int k = 0; k < 2 && rc == FL_OK && !lazy; k++)
            if ((sc->by & (1 << k)) && (sc->sums || sc->hsums))
                rc = copy_sum_blocks(sc, g, k ? BLK_BY_DST : BLK_BY_SRC, &le);
            else if (sc->by & (1 << k))
                rc = byaddr_blocks(&g->src, &g->h, &g->dir, k ? BLK_BY_DST : BLK_BY_SRC,
                                   sc->dlo, sc->dhi, sc->dn, &g->bl, &le);
    }
    if (rc != FL_OK) {
        warn(sc, &le, "by-address copy (the segment is read instead)");
        seg_free(g);
        return NULL;
    }
    sc->st.segments_by_addr++;
    return g;
}

/* Open segment sc->segs[k] (under the lock: segment opens are rare next
 * to group decoding), or with copies its by-address copy when the scan
 * reads copies; NULL to skip it. */
static scan_seg *seg_open_at(fl_store_scan *sc, size_t k, int copies)
{
    const fl_store_seginfo *si = &sc->segs[k];
    char path[STORE_PATH_MAX + 80];
    struct stat st;
    scan_seg *g;
    fl_err le;
    fl_rc rc;

    if (copies && sc->by && !si->open && (g = copy_open(sc, si, 0)) != NULL)
        return g;
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        fl_err_at(&le, FL_ENOMEM, si->name, 0, -1, "out of memory");
        warn(sc, &le, "segment");
        return NULL;
    }
    g->iseg = k;
    snprintf(path, sizeof path, "%s/%s", sc->s->segdir, si->name);
    g->src.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (g->src.fd < 0 && si->open && errno == ENOENT) {
        /* published since the listing: read the closed segment instead */
        snprintf(path, sizeof path, "%s/%013lld-%06u.fls", sc->s->segdir,
                 (long long)si->slot_start, si->seq);
        g->src.fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (g->src.fd < 0) {
        if (errno != ENOENT) { /* expired meanwhile is not a problem */
            fl_err_at(&le, FL_EIO, si->name, 0, -1, "open: %s", strerror(errno));
            warn(sc, &le, "segment");
        }
        free(g);
        return NULL;
    }
    if (fstat(g->src.fd, &st) != 0) {
        seg_free(g);
        return NULL;
    }
    g->src.size = (uint64_t)st.st_size;
    g->src.name = si->name;
    g->src.mem = NULL;
    if ((rc = seg_header_parse(&g->src, &g->h, &le)) != FL_OK ||
        (rc = seg_load_blocks(&g->src, &g->h, &g->bl, &le)) != FL_OK) {
        /* an open slot just created has no header yet: nothing to read */
        if (!(si->open && rc == FL_ETRUNCATED))
            warn(sc, &le, "segment");
        seg_free(g);
        return NULL;
    }
    if (g->bl.bad) {
        fl_err_at(&le, FL_ECORRUPT, si->name, 0, -1, "%u damaged block(s) skipped: %s",
                  g->bl.bad, g->bl.bad_msg);
        warn(sc, &le, "segment blocks");
    }
    if (!si->open && !g->bl.closed) {
        fl_err_at(&le, FL_ECORRUPT, si->name, 0, -1,
                  "footer missing or damaged; reading its %zu intact blocks", g->bl.n);
        warn(sc, &le, "segment footer");
    }
    return g;
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

/*
 * May the chunk hold a value in [lo, hi] (stored form)? Zone map first;
 * then the bloom, which holds every value and its network — /24 for
 * IPv4-mapped values, /48 for every other — so it answers only when
 * every value of the interval is one host, or lies in one such network.
 */
static int ivl_chunk_may(const seg_chunk *ch, fl_addr lo, fl_addr hi)
{
    fl_addr zero = {0, 0};
    int lo4, hi4;

    if (ch == NULL) /* absent: every value is :: */
        return fl_addr_cmp(lo, zero) <= 0 && fl_addr_cmp(zero, hi) <= 0;
    if (fl_addr_cmp(ch->max, lo) < 0 || fl_addr_cmp(ch->min, hi) > 0)
        return 0;
    if (ch->bloom == NULL)
        return 1;
    if (fl_addr_cmp(lo, hi) == 0)
        return bloom_maybe(ch->bloom, ch->bloom_len, lo, 0);
    lo4 = fl_addr_is_v4(lo);
    hi4 = fl_addr_is_v4(hi);
    if (lo4 && hi4 && fl_addr_cmp(fl_addr_mask(lo, 120), fl_addr_mask(hi, 120)) == 0)
        return bloom_maybe(ch->bloom, ch->bloom_len, lo, 1);
    if (!lo4 && !hi4 && fl_addr_cmp(fl_addr_mask(lo, 48), fl_addr_mask(hi, 48)) == 0) {
        /* one /48, and no IPv4-mapped value inside: ::ffff:0:0/96 lies in
         * ::/48, so an interval of ::/48 straddling it is refused here */
        fl_addr m0 = fl_addr_from_v4(0), m1 = fl_addr_from_v4(UINT32_MAX);
        if (fl_addr_cmp(hi, m0) < 0 || fl_addr_cmp(lo, m1) > 0)
            return bloom_maybe(ch->bloom, ch->bloom_len, lo, 1);
    }
    return 1;
}

static int addr_chunk_may(const seg_chunk *ch, const fl_prefix *p)
{
    return ivl_chunk_may(ch, p->addr, prefix_last(p));
}

/*
 * An interval of nfdump's address space (IPv4 as ::a.b.c.d) as the
 * intervals of stored values that read as one of its addresses: stored
 * IPv4 is ::ffff:a.b.c.d, which nfdump reads as ::a.b.c.d, so
 *   - the part inside ::/96 also matches ::ffff:<that part>;
 *   - the part inside ::ffff:0:0/96 matches nothing stored there (a
 *     stored ::ffff:x reads as ::x), and is cut out.
 * At most three pieces; returns how many.
 */
static int nf_preimage(fl_addr lo, fl_addr hi, fl_addr *plo, fl_addr *phi)
{
    fl_addr c1 = {0, 0xffffffffULL};   /* ::255.255.255.255, end of ::/96 */
    fl_addr m0 = fl_addr_from_v4(0), m1 = fl_addr_from_v4(UINT32_MAX);
    int n = 0;

    if (fl_addr_cmp(lo, hi) > 0)
        return 0;
    /* identity part below ::ffff:0:0 */
    if (fl_addr_cmp(lo, m0) < 0) {
        plo[n] = lo;
        phi[n] = fl_addr_cmp(hi, m0) < 0 ? hi : (fl_addr){0, m0.lo - 1};
        n++;
    }
    /* identity part above ::ffff:255.255.255.255 */
    if (fl_addr_cmp(hi, m1) > 0) {
        plo[n] = fl_addr_cmp(lo, m1) > 0 ? lo : (fl_addr){0, m1.lo + 1};
        phi[n] = hi;
        n++;
    }
    /* the ::/96 part, in its IPv4-mapped form */
    if (fl_addr_cmp(lo, c1) <= 0) {
        uint32_t a = lo.hi == 0 ? (uint32_t)lo.lo : 0;
        uint32_t b = fl_addr_cmp(hi, c1) >= 0 ? UINT32_MAX : (uint32_t)hi.lo;
        plo[n] = fl_addr_from_v4(a);
        phi[n] = fl_addr_from_v4(b);
        n++;
    }
    return n;
}

/* How nfdump reads a stored value: IPv4 ::ffff:a.b.c.d as ::a.b.c.d. */
static fl_addr nf_form(fl_addr a)
{
    if (fl_addr_is_v4(a))
        a.lo &= 0xffffffffULL;
    return a;
}

static int aset_chunk_may(const seg_chunk *ch, const fl_store_pred_aset *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        fl_addr plo[3], phi[3];
        int k = nf_preimage(s->lo[i], s->hi[i], plo, phi);
        for (int j = 0; j < k; j++)
            if (ivl_chunk_may(ch, plo[j], phi[j]))
                return 1;
    }
    return 0;
}

static int aset_has(const fl_store_pred_aset *s, fl_addr v)
{
    fl_addr a = nf_form(v);
    for (uint32_t i = 0; i < s->n; i++)
        if (fl_addr_cmp(s->lo[i], a) <= 0 && fl_addr_cmp(a, s->hi[i]) <= 0)
            return 1;
    return 0;
}

static int range_may(const seg_chunk *ch, uint64_t lo, uint64_t hi)
{
    uint64_t mn = ch ? ch->min.lo : 0, mx = ch ? ch->max.lo : 0;
    return !(mx < lo || mn > hi);
}

static fl_time tbound_of(const fl_store_scan *sc)
{
    return __atomic_load_n(&sc->tbound, __ATOMIC_RELAXED);
}

void fl_store_scan_time_bound(fl_store_scan *sc, fl_time t)
{
    fl_time cur = tbound_of(sc);
    while (t < cur &&
           !__atomic_compare_exchange_n(&sc->tbound, &cur, t, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
}

/* May block b hold a row whose time_first is at most t? */
static int block_before(const seg_block *b, fl_time t)
{
    const seg_chunk *ch;
    if (t == FL_TIME_MAX)
        return 1;
    ch = find_chunk(b, FL_COL_TIME_FIRST);
    return (fl_time)(ch ? ch->min.lo : 0) <= t;
}

/* The predicate of block b of segment g: in a by-address copy, its
 * part's. */
static const fl_store_pred *pred_of(const fl_store_scan *sc, const scan_seg *g,
                                    const seg_block *b)
{
    if (g->copy)
        return &sc->part[blk_dst_part(b->kind)];
    if (g->is_redo)
        return &sc->part[blk_dst_part(g->rd.x.kind)];
    return &sc->pred;
}

/* Rows of a copy's dst part whose src matches the driving term came back
 * from its src part already. */
static int excl_of(const fl_store_scan *sc, const scan_seg *g, const seg_block *b)
{
    return sc->excl && ((g->copy && blk_dst_part(b->kind)) ||
                        (g->is_redo && blk_dst_part(g->rd.x.kind)));
}

/* A row's place in a copy's part: (ordering address, row number). */
static int place_cmp(fl_addr a, uint64_t i, fl_addr b, uint64_t j)
{
    int c = fl_addr_cmp(a, b);
    return c ? c : (i > j) - (i < j);
}

static int excl_hit(const fl_store_scan *sc, fl_addr v)
{
    for (unsigned j = 0; j < sc->dn; j++)
        if (fl_addr_cmp(sc->dlo[j], v) <= 0 && fl_addr_cmp(v, sc->dhi[j]) <= 0)
            return 1;
    return 0;
}

static int block_may(const fl_store_scan *sc, const fl_store_pred *p, const seg_block *b)
{
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
    for (uint32_t i = 0; i < p->nasets; i++) {
        const fl_store_pred_aset *a = &p->asets[i];
        int ok;
        if (a->col == FL_STORE_ANY_ADDR)
            ok = aset_chunk_may(find_chunk(b, FL_COL_SRC_ADDR), a) ||
                 aset_chunk_may(find_chunk(b, FL_COL_DST_ADDR), a);
        else
            ok = aset_chunk_may(find_chunk(b, a->col), a);
        if (!ok)
            return 0;
    }
    return 1;
}

/* addr_done: the address terms were decided already (select_rows). */
static int row_match(const fl_store_pred *p, const fl_batch *b, uint32_t r, int addr_done)
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
    if (addr_done)
        return 1;
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
    for (uint32_t i = 0; i < p->nasets; i++) {
        const fl_store_pred_aset *a = &p->asets[i];
        int ok;
        if (a->col == FL_STORE_ANY_ADDR)
            ok = aset_has(a, FL_ADDRS(b, FL_COL_SRC_ADDR)[r]) ||
                 aset_has(a, FL_ADDRS(b, FL_COL_DST_ADDR)[r]);
        else
            ok = aset_has(a, FL_ADDRS(b, a->col)[r]);
        if (!ok)
            return 0;
    }
    return 1;
}

/* Keep the rows of b[from, b->n) matching the predicate p (exact scans),
 * with excl, whose src does not match the driving term, and with rd, the
 * rows of that damaged copy block (row `from` is row first of its
 * segment). With mark, the address terms were decided by select_rows:
 * row from + i passes them when mark[i]. */
static void filter_rows(const fl_store_scan *sc, const fl_store_pred *p, int excl,
                        const scan_redo *rd, uint64_t first, fl_batch *b, uint32_t from,
                        int addr_done, const uint8_t *mark)
{
    uint32_t w = from;

    for (uint32_t r = from; r < b->n; r++) {
        if ((mark && !mark[r - from]) || !row_match(p, b, r, addr_done))
            continue;
        if (excl && !addr_done && excl_hit(sc, FL_ADDRS(b, FL_COL_SRC_ADDR)[r]))
            continue;
        if (rd) {
            const byaddr_ent *x = &rd->x;
            fl_addr k = FL_ADDRS(b, blk_dst_part(x->kind) ? FL_COL_DST_ADDR : FL_COL_SRC_ADDR)[r];
            uint64_t i = first + (r - from);
            if (place_cmp(k, i, x->kmin, x->imin) < 0 || place_cmp(k, i, x->kmax, x->imax) > 0)
                continue;
        }
        if (w != r)
            for (int c = 0; c < FL_COL_COUNT; c++)
                if (bit(sc->need, c) && fl_batch_has(b, (fl_col)c)) {
                    unsigned wd = fl_col_get((fl_col)c)->width;
                    memcpy((uint8_t *)b->col[c] + (size_t)w * wd,
                           (uint8_t *)b->col[c] + (size_t)r * wd, wd);
                }
        w++;
    }
    /* rows past the new end read as zero again */
    for (int c = 0; c < FL_COL_COUNT && w < b->n; c++)
        if (fl_batch_has(b, (fl_col)c)) {
            unsigned wd = fl_col_get((fl_col)c)->width;
            memset((uint8_t *)b->col[c] + (size_t)w * wd, 0, (size_t)(b->n - w) * wd);
        }
    b->n = w;
}

/* Where one group decodes to: a batch at row `at`; dirty (lane batches
 * only) tracks columns holding an earlier group's values. */
typedef struct dest {
    fl_batch *bt;
    uint32_t at;
    uint64_t *dirty;
    fl_store_codes *cd; /* columns wanted as codes too (at 0 only), or NULL */
    unsigned ncd;
} dest;

/* The codes request for chunk ch, when it can be met. */
static fl_store_codes *codes_for(const dest *d, const seg_chunk *ch)
{
    if (ch->enc != ENC_DICT)
        return NULL;
    for (unsigned i = 0; i < d->ncd; i++)
        if (d->cd[i].col == ch->col)
            return &d->cd[i];
    return NULL;
}

static int decode_one(fl_store_scan *sc, scan_lane *l, const scan_seg *g, const seg_block *b,
                      size_t bi, const seg_chunk *ch, const fl_time *ref, const dest *d,
                      const uint32_t *idx, uint32_t nsel)
{
    fl_err le;
    fl_kind k = fl_col_get((fl_col)ch->col)->kind;
    void *out = (uint8_t *)d->bt->col[ch->col] + (size_t)d->at * fl_col_get((fl_col)ch->col)->width;
    fl_store_codes *cd = codes_for(d, ch);
    fl_rc rc;

    if (idx != NULL)
        rc = seg_read_chunk_rows(&g->src, b, ch, k, ref, idx, nsel, out, l->stored, l->scratch,
                                 l->full, &le);
    else if (cd != NULL)
        rc = seg_read_chunk_dict(&g->src, b, ch, k, cd->no_values ? NULL : out, cd->codes,
                                 cd->dict, l->stored, l->scratch, &le);
    else
        rc = seg_read_chunk(&g->src, b, ch, k, ref, out, l->stored, l->scratch, &le);
    if (cd != NULL)
        cd->ndict = rc == FL_OK && idx == NULL ? ch->dict_n : 0;
    if (rc != FL_OK) {
        char what[160];
        snprintf(what, sizeof what, "column %s, chunk %zu (%u rows)",
                 fl_col_get((fl_col)ch->col)->name, bi, b->nrows);
        warn(sc, &le, what);
        return -1;
    }
    if (d->dirty)
        setbit(d->dirty, ch->col);
    fl_batch_mark(d->bt, (fl_col)ch->col);
    l->values += idx != NULL ? nsel : b->nrows;
    return 0;
}

/* Decode column c of block b (if stored), after the time column it is
 * stored relative to. 0 ok, -1 skipped (warned). */
static int load_col(fl_store_scan *sc, scan_lane *l, const scan_seg *g, const seg_block *b,
                    size_t bi, int c, int *have, int depth, const dest *d, const uint32_t *idx,
                    uint32_t nsel)
{
    const seg_chunk *ch = find_chunk(b, c);
    const fl_time *ref = NULL;

    if (have[c] || ch == NULL)
        return 0;
    if (ch->enc == ENC_REF) {
        if (depth > 4) {
            fl_err le;
            fl_err_at(&le, FL_ECORRUPT, g->src.name, 0, (long long)b->off,
                      "time columns refer to each other in a loop");
            warn(sc, &le, "block");
            return -1;
        }
        if (load_col(sc, l, g, b, bi, ch->ref_col, have, depth + 1, d, idx, nsel) != 0)
            return -1;
        if (have[ch->ref_col])
            ref = FL_TIMES(d->bt, ch->ref_col) + d->at;
    }
    if (decode_one(sc, l, g, b, bi, ch, ref, d, idx, nsel) != 0)
        return -1;
    have[c] = 1;
    return 0;
}

/*
 * The rows of block b that may match the address terms of an exact
 * scan's predicate, into l->idx (ascending); returns how many, or -1
 * when a chunk could not be read (warned). The terms are tested on the
 * encoded chunks (chunk_addr_match, exact): IPv4 and dictionary chunks by
 * their codes, no address built. The rows kept go through filter_rows
 * for the other terms (time, ranges, exporters).
 */
static int select_rows(fl_store_scan *sc, scan_lane *l, const scan_seg *g, const seg_block *b,
                       size_t bi)
{
    const fl_store_pred *p = pred_of(sc, g, b);
    uint32_t n = b->nrows, nsel = 0;
    fl_addr lo[FL_STORE_ASET_MAX * 3], hi[FL_STORE_ASET_MAX * 3], zero = {0, 0};

    memset(l->mark, 1, n);
    for (uint32_t t = 0; t < p->nasets + p->naddrs; t++) {
        unsigned nivl = 0;
        int col;
        if (t < p->nasets) {
            const fl_store_pred_aset *a = &p->asets[t];
            for (uint32_t j = 0; j < a->n; j++)
                nivl += (unsigned)nf_preimage(a->lo[j], a->hi[j], lo + nivl, hi + nivl);
            col = a->col;
        } else {
            const fl_store_pred_addr *a = &p->addrs[t - p->nasets];
            lo[0] = a->prefix.addr;
            hi[0] = prefix_last(&a->prefix);
            nivl = 1;
            col = a->col;
        }
        memset(l->mark2, 0, n);
        for (int k = 0; k < 2; k++) {
            int c = col == FL_STORE_ANY_ADDR ? (k ? FL_COL_DST_ADDR : FL_COL_SRC_ADDR) : col;
            const seg_chunk *ch = find_chunk(b, c);
            if (col != FL_STORE_ANY_ADDR && k)
                break;
            if (ch == NULL) { /* absent: every value is :: */
                for (unsigned j = 0; j < nivl; j++)
                    if (fl_addr_cmp(lo[j], zero) <= 0 && fl_addr_cmp(zero, hi[j]) <= 0) {
                        memset(l->mark2, 1, n);
                        break;
                    }
                continue;
            }
            fl_err le;
            if (seg_read_chunk_match(&g->src, b, ch, lo, hi, nivl, l->mark2, l->stored,
                                     l->scratch, &le) != FL_OK) {
                char what[160];
                snprintf(what, sizeof what, "column %s, chunk %zu (%u rows)",
                         fl_col_get((fl_col)c)->name, bi, n);
                warn(sc, &le, what);
                return -1;
            }
            l->values += n;
        }
        for (uint32_t r = 0; r < n; r++)
            l->mark[r] &= l->mark2[r];
    }
    if (excl_of(sc, g, b)) {
        const seg_chunk *ch = find_chunk(b, FL_COL_SRC_ADDR);
        fl_err le;
        memset(l->mark2, 0, n);
        if (ch == NULL) {
            if (excl_hit(sc, zero))
                memset(l->mark2, 1, n);
        } else if (seg_read_chunk_match(&g->src, b, ch, sc->dlo, sc->dhi, sc->dn, l->mark2,
                                        l->stored, l->scratch, &le) != FL_OK) {
            char what[160];
            snprintf(what, sizeof what, "column src_addr, chunk %zu (%u rows)", bi, n);
            warn(sc, &le, what);
            return -1;
        } else {
            l->values += n;
        }
        for (uint32_t r = 0; r < n; r++)
            l->mark[r] &= (uint8_t)!l->mark2[r];
    }
    for (uint32_t r = 0; r < n; r++) {
        l->idx[nsel] = r;
        nsel += l->mark[r];
    }
    return (int)nsel;
}

/* Decode block b into d (rows [d->at, d->at + nrows)); 0 ok, -1 skipped
 * (warned; the destination's rows from d->at may hold garbage then).
 * Exact scans with address terms decode only the rows select_rows keeps
 * (none at all when it keeps none). */
static int load_block(fl_store_scan *sc, scan_lane *l, const scan_seg *g, const seg_block *b,
                      size_t bi, const dest *d)
{
    fl_batch *bt = d->bt;
    int have[FL_COL_COUNT];
    const uint32_t *idx = NULL;
    uint32_t nrows = b->nrows;

    l->addr_done = 0;
    l->dense = 0;
    /* a segment read again for a damaged copy block decodes whole groups:
     * filter_rows places each row by its address and row number */
    if (sc->sel_rows && !g->is_redo) {
        int k;
        if (l->mark == NULL) {
            l->mark = malloc(FL_STORE_GROUP_ROWS);
            l->mark2 = malloc(FL_STORE_GROUP_ROWS);
            l->idx = malloc(sizeof(uint32_t) * FL_STORE_GROUP_ROWS);
            l->full = malloc((size_t)FL_STORE_GROUP_ROWS * 16);
            if (!l->mark || !l->mark2 || !l->idx || !l->full) {
                fl_err le;
                fl_err_set(&le, FL_ENOMEM, "out of memory for selective decoding");
                warn(sc, &le, "block");
                return -1;
            }
        }
        if ((k = select_rows(sc, l, g, b, bi)) < 0)
            return -1;
        if (k == 0) {
            bt->n = d->at;
            return 0;
        }
        /* row by row gathers beat the vectorised whole-chunk decoders
         * only while few rows are kept; past a quarter, decode all and
         * let filter_rows compact by the marks */
        l->addr_done = 1;
        if ((uint32_t)k * 4 <= b->nrows) {
            idx = l->idx;
            nrows = (uint32_t)k;
        } else {
            l->dense = 1;
        }
    }
    memset(have, 0, sizeof have);
    for (unsigned i = 0; i < d->ncd; i++)
        d->cd[i].ndict = 0;
    for (uint16_t i = 0; i < b->ncols; i++) {
        int c = b->chunks[i].col;
        /* an address column read only for the address terms, which
         * select_rows has applied to every row kept: not built */
        if ((c == FL_COL_SRC_ADDR || c == FL_COL_DST_ADDR) && l->addr_done && !bit(sc->cols, c))
            continue;
        if (c >= 0 && bit(sc->need, c) &&
            load_col(sc, l, g, b, bi, c, have, 0, d, idx, nrows) != 0)
            return -1;
    }
    /* columns holding other values where this group's rows go are zeroed:
     * in a lane batch, requested ones this block lacks and references
     * decoded before; in a caller's batch, present ones this block lacks */
    for (int c = 0; c < FL_COL_COUNT; c++) {
        if (have[c])
            continue;
        if (d->dirty ? bit(d->dirty, c) : fl_batch_has(bt, (fl_col)c)) {
            unsigned w = fl_col_get((fl_col)c)->width;
            memset((uint8_t *)bt->col[c] + (size_t)d->at * w, 0, (size_t)w * nrows);
            if (d->dirty)
                d->dirty[c / 64] &= ~((uint64_t)1 << (c % 64));
        }
    }
    bt->n = d->at + nrows;
    return 0;
}

/* The segment of a failed copy block, read again for its rows (under the
 * lock); NULL when it cannot be (warned by seg_open_at). */
static scan_seg *redo_open(fl_store_scan *sc, const scan_redo *rd)
{
    scan_seg *g = seg_open_at(sc, rd->iseg, 0);
    uint64_t at = 0;

    if (g == NULL)
        return NULL;
    g->is_redo = 1;
    g->rd = *rd;
    g->first_row = malloc(sizeof *g->first_row * (g->bl.n ? g->bl.n : 1));
    if (g->first_row == NULL) {
        fl_err le;
        fl_err_at(&le, FL_ENOMEM, sc->segs[rd->iseg].name, 0, -1, "out of memory");
        warn(sc, &le, "segment read again for a damaged by-address copy");
        seg_free(g);
        return NULL;
    }
    for (size_t i = 0; i < g->bl.n; i++) {
        g->first_row[i] = at;
        at += g->bl.v[i].nrows;
    }
    return g;
}

/* Block b of copy g could not be read (warned): its rows are to be read
 * from the segment (under the lock). */
static void redo_add_ent(fl_store_scan *sc, const byaddr_ent *x, size_t iseg, const char *name);

static void redo_add(fl_store_scan *sc, const scan_seg *g, const seg_block *b)
{
    redo_add_ent(sc, &g->dir.v[b->group], g->iseg, g->cname);
}

/* Directory entry x of segment iseg's copy (file name) could not be read. */
static void redo_add_ent(fl_store_scan *sc, const byaddr_ent *x, size_t iseg, const char *name)
{
    scan_redo *rd;

    sc->ord_broken = 1; /* its rows come at the end, out of order */
    if (sc->nredo == sc->capredo) {
        size_t cap = sc->capredo ? sc->capredo * 2 : 8;
        scan_redo *nv = realloc(sc->redo, cap * sizeof *nv);
        if (nv == NULL) {
            fl_err le;
            fl_err_at(&le, FL_ENOMEM, name, 0, -1, "out of memory");
            warn(sc, &le, "reading a damaged by-address copy's rows from its segment");
            return;
        }
        sc->redo = nv;
        sc->capredo = cap;
    }
    rd = &sc->redo[sc->nredo++];
    rd->iseg = iseg;
    rd->x = *x;
}

/* ------------------------------------------------------------------ */
/* Ordered scans                                                       */

/* Ordered segment k moves to block i: the lowest address there (the
 * directory's address of its first row). */
static void ord_at(fl_store_scan *sc, size_t k, size_t i)
{
    const scan_seg *g = sc->ordg[k];

    sc->ordpos[k] = i;
    sc->ordlow[k] = g->dir.v[g->ordix[i]].kmin; /* its first row's address */
}

/* Heap order: lower next block first, then lower segment index. */
static int ord_before(const fl_store_scan *sc, size_t a, size_t b)
{
    int c = fl_addr_cmp(sc->ordlow[a], sc->ordlow[b]);
    return c ? c < 0 : a < b;
}

static void ord_sift(fl_store_scan *sc, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i, t;
        if (l < sc->nheap && ord_before(sc, sc->heap[l], sc->heap[m]))
            m = l;
        if (r < sc->nheap && ord_before(sc, sc->heap[r], sc->heap[m]))
            m = r;
        if (m == i)
            return;
        t = sc->heap[i];
        sc->heap[i] = sc->heap[m];
        sc->heap[m] = t;
        i = m;
    }
}

/* Open every closed segment's copy (under the lock, at the first claim).
 * A segment without a usable copy is left to the cursor; so are the
 * copies past the file descriptors the process may hold (a quarter of
 * them is left for everything else). Out of memory: no order. */
static void ord_setup(fl_store_scan *sc)
{
    struct rlimit rl;
    size_t most = 256, opened = 0;

    sc->ord_ready = 1;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 65536) {
            rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
            (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 * 3 > most)
            most = rl.rlim_cur / 4 * 3;
    }
    sc->ordk = calloc(sc->nseg ? sc->nseg : 1, 1);
    sc->ordg = calloc(sc->nseg ? sc->nseg : 1, sizeof *sc->ordg);
    sc->ordpos = calloc(sc->nseg ? sc->nseg : 1, sizeof *sc->ordpos);
    sc->ordlow = malloc((sc->nseg ? sc->nseg : 1) * sizeof *sc->ordlow);
    sc->heap = malloc((sc->nseg ? sc->nseg : 1) * sizeof *sc->heap);
    if (!sc->ordk || !sc->ordg || !sc->ordpos || !sc->ordlow || !sc->heap) {
        ord_reset(sc);
        sc->ord_ready = sc->ord_broken = 1;
        return;
    }
    for (size_t k = 0; k < sc->nseg && opened < most; k++) {
        const fl_store_seginfo *si = &sc->segs[k];
        scan_seg *g;
        if (si->open || si->rows == 0 || (g = copy_open(sc, si, 1)) == NULL)
            continue;
        g->iseg = k;
        opened++;
        sc->st.segments_ordered++;
        if (g->bl.n == 0) { /* no block may hold the driving address */
            seg_free(g);
            sc->ordk[k] = 2;
            continue;
        }
        sc->ordk[k] = 1;
        sc->ordg[k] = g;
        ord_at(sc, k, 0);
        sc->heap[sc->nheap++] = k;
        sc->ord_blocks += g->bl.n;
        sc->ord_bytes += si->bytes;
    }
    for (size_t i = sc->nheap / 2; i-- > 0;)
        ord_sift(sc, i);
}

/* Claim the lowest next block of the ordered copies (under the lock), as
 * claim does; -1 once every one was handed out. */
static int ord_claim(fl_store_scan *sc, scan_seg **g, size_t *bi)
{
    while (sc->nheap > 0) {
        size_t k = sc->heap[0], i = sc->ordpos[k];
        scan_seg *sg = sc->ordg[k];
        seg_block *b = &sg->bl.v[i];
        int take;
        fl_err le;
        sc->st.groups++;
        sc->ord_claimed++;
        if (byaddr_block(&sg->src, &sg->h, &sg->dir, sg->ordix[i], b, &le) != FL_OK) {
            /* its rows come from the segment at the end */
            warn(sc, &le, "by-address copy block (its rows are read from the segment)");
            redo_add_ent(sc, &sg->dir.v[sg->ordix[i]], sg->iseg, sg->cname);
            take = 0;
        } else {
            take = block_may(sc, pred_of(sc, sg, b), b) && block_before(b, tbound_of(sc));
            if (!take) {
                sc->st.groups_pruned++;
                block_clear(b);
            }
        }
        if (take)
            sg->refs++;
        if (i + 1 < sg->bl.n) {
            ord_at(sc, k, i + 1);
            ord_sift(sc, 0);
        } else { /* its last block: freed once decoded */
            sc->heap[0] = sc->heap[--sc->nheap];
            ord_sift(sc, 0);
            sc->ordg[k] = NULL;
            if (sg->refs == 0)
                seg_free(sg);
            else
                sg->retired = 1;
        }
        if (take) {
            *g = sg;
            *bi = i;
            return 0;
        }
    }
    return -1;
}

int fl_store_scan_floor(fl_store_scan *sc, fl_addr *out)
{
    *out = (fl_addr){0, 0};
    if (!sc->ord)
        return 0;
    pthread_mutex_lock(&sc->sy->lock);
    if (sc->ord_broken || !sc->ord_ready || sc->cur != NULL || sc->iseg < sc->nseg)
        ; /* :: — not started, the unordered segments first, or order lost */
    else if (sc->nheap > 0)
        *out = sc->ordlow[sc->heap[0]];
    else
        *out = (fl_addr){UINT64_MAX, UINT64_MAX};
    pthread_mutex_unlock(&sc->sy->lock);
    return 1;
}

/*
 * Claim the next row group that may match (under the lock): *g gets its
 * segment (referenced: seg_unref when decoded) and *bi its index. 0 when
 * one was claimed, -1 at the end of the scan.
 */
static int claim(fl_store_scan *sc, scan_seg **g, size_t *bi)
{
    if (sc->ord && !sc->ord_ready)
        ord_setup(sc);
    for (;;) {
        if (sc->cur == NULL && sc->iseg >= sc->nseg) {
            if (sc->nheap > 0 && ord_claim(sc, g, bi) == 0)
                return 0;
            if (sc->iredo >= sc->nredo) {
                sc->exhausted = 1;
                return -1;
            }
            sc->exhausted = 0; /* a copy block failed: read its rows again */
            sc->cur = redo_open(sc, &sc->redo[sc->iredo++]);
            sc->iblk = 0;
            if (sc->cur == NULL)
                continue;
        }
        if (sc->cur == NULL) {
            const fl_store_seginfo *si = &sc->segs[sc->iseg];
            if (sc->ordk && sc->ordk[sc->iseg]) { /* read in order, or nothing to read */
                sc->iseg++;
                continue;
            }
            if ((si->open && (sc->flags & FL_STORE_SCAN_NO_OPEN)) ||
                (!si->open && si->rows > 0 && si->tmin > tbound_of(sc))) {
                if (!si->open)
                    sc->st.segments_pruned++;
                sc->iseg++;
                continue;
            }
            /* an ordered scan tried its copy already */
            sc->cur = seg_open_at(sc, sc->iseg, !sc->ord);
            sc->iblk = 0;
            if (sc->cur == NULL) {
                sc->iseg++;
                continue;
            }
        }
        while (sc->iblk < sc->cur->bl.n) {
            size_t i = sc->iblk++;
            sc->st.groups++;
            if (!block_may(sc, pred_of(sc, sc->cur, &sc->cur->bl.v[i]), &sc->cur->bl.v[i]) ||
                !block_before(&sc->cur->bl.v[i], tbound_of(sc))) {
                sc->st.groups_pruned++;
                continue;
            }
            sc->cur->refs++;
            *g = sc->cur;
            *bi = i;
            return 0;
        }
        seg_leave(sc);
        if (sc->iseg < sc->nseg)
            sc->iseg++;
    }
}

/* Claim and decode groups into d until one leaves rows (exact scans may
 * filter a whole group away). 0 with rows at d, -1 at the end. */
static int next_group(fl_store_scan *sc, scan_lane *l, const dest *d)
{
    for (;;) {
        scan_seg *g;
        size_t bi;
        const fl_store_pred *p;
        scan_redo rd;
        uint64_t first = 0;
        int ok, excl, redo, sums;

        pthread_mutex_lock(&sc->sy->lock);
        if (claim(sc, &g, &bi) != 0) {
            pthread_mutex_unlock(&sc->sy->lock);
            return -1;
        }
        pthread_mutex_unlock(&sc->sy->lock);
        ok = load_block(sc, l, g, &g->bl.v[bi], bi, d) == 0;
        sums = g->copy && g->bl.v[bi].kind >= BLK_SUM_SRC;
        p = pred_of(sc, g, &g->bl.v[bi]);
        excl = excl_of(sc, g, &g->bl.v[bi]);
        if ((redo = g->is_redo) != 0) {
            rd = g->rd;
            first = g->first_row[bi];
        }
        pthread_mutex_lock(&sc->sy->lock);
        if (!ok && g->copy)
            redo_add(sc, g, &g->bl.v[bi]);
        if (g->ordix) /* parsed when claimed, decoded now */
            block_clear(&g->bl.v[bi]);
        seg_unref(sc, g);
        pthread_mutex_unlock(&sc->sy->lock);
        if (!ok) {
            d->bt->n = d->at;
            continue;
        }
        if (sc->has_pred && (sc->flags & FL_STORE_SCAN_EXACT)) {
            filter_rows(sc, p, excl, redo ? &rd : NULL, first, d->bt, d->at, l->addr_done,
                        l->dense ? l->mark : NULL);
        } else if (redo) { /* an ordered scan that is not exact: the block's rows only */
            static const fl_store_pred none;
            filter_rows(sc, &none, 0, &rd, first, d->bt, d->at, 0, NULL);
        }
        if (d->bt->n > d->at) {
            __atomic_add_fetch(&sc->st.rows, d->bt->n - d->at, __ATOMIC_RELAXED);
            if (sums)
                __atomic_add_fetch(&sc->st.groups_summed, 1, __ATOMIC_RELAXED);
            return 0;
        }
    }
}

/* Take a lane (under the lock): one with rows left first when want_rows,
 * else any idle one, else a new one. NULL when none can be had. */
static scan_lane *lane_take(fl_store_scan *sc, int want_rows)
{
    scan_lane *l;

    if (want_rows)
        for (unsigned i = 0; i < sc->nidle; i++) {
            l = sc->idle[i];
            if (l->batch && l->pos < l->batch->n) {
                sc->idle[i] = sc->idle[--sc->nidle];
                sc->busy++;
                return l;
            }
        }
    if (sc->nidle > 0) {
        sc->busy++;
        return sc->idle[--sc->nidle];
    }
    if (sc->nlanes >= SCAN_MAX_LANES || (l = lane_new()) == NULL)
        return NULL;
    sc->lanes[sc->nlanes++] = l;
    sc->busy++;
    return l;
}

static void lane_give(fl_store_scan *sc, scan_lane *l)
{
    pthread_mutex_lock(&sc->sy->lock);
    sc->idle[sc->nidle++] = l;
    sc->busy--;
    pthread_cond_broadcast(&sc->sy->cond);
    pthread_mutex_unlock(&sc->sy->lock);
}

fl_rc fl_store_scan_rewind(fl_store_scan *sc, fl_err *e)
{
    fl_rc rc = FL_OK;

    pthread_mutex_lock(&sc->sy->lock);
    if (sc->busy > 0) {
        rc = fl_err_set(e, FL_EINVAL, "scan rewound while being read");
    } else {
        seg_leave(sc);
        ord_reset(sc);
        sc->iseg = 0;
        sc->iblk = 0;
        sc->exhausted = 0;
        sc->nredo = sc->iredo = 0; /* found again on the way */
        for (unsigned i = 0; i < sc->nlanes; i++)
            if (sc->lanes[i]->batch)
                sc->lanes[i]->pos = sc->lanes[i]->batch->n; /* drop rows left */
    }
    pthread_mutex_unlock(&sc->sy->lock);
    return rc;
}

fl_rc fl_store_scan_next(fl_store_scan *sc, fl_batch **out, fl_err *e)
{
    scan_lane *l;
    dest d;
    int r;

    (void)e; /* every per-file problem is a warning; e is for future errors */
    *out = NULL;
    pthread_mutex_lock(&sc->sy->lock);
    l = lane_take(sc, 0);
    pthread_mutex_unlock(&sc->sy->lock);
    if (l == NULL || lane_batch(sc, l) != 0) {
        if (l)
            lane_give(sc, l);
        return fl_err_set(e, FL_ENOMEM, "out of memory for the scan's buffers");
    }
    memset(l->batch->present, 0, sizeof l->batch->present);
    l->batch->n = 0;
    d.bt = l->batch;
    d.at = 0;
    d.dirty = l->dirty;
    d.cd = NULL;
    d.ncd = 0;
    r = next_group(sc, l, &d);
    l->pos = l->batch->n; /* handed out whole */
    lane_give(sc, l);
    if (r == 0)
        *out = l->batch;
    return FL_OK;
}

/* Copy the lane's rows not handed out yet into dst (as many as fit). */
static void lane_copy(scan_lane *l, fl_batch *dst)
{
    const fl_batch *src = l->batch;
    uint32_t m = src->n - l->pos;

    if (m > dst->cap - dst->n)
        m = dst->cap - dst->n;
    for (int c = 0; c < FL_COL_COUNT; c++) {
        unsigned w = fl_col_get((fl_col)c)->width;
        uint8_t *to = (uint8_t *)dst->col[c] + (size_t)dst->n * w;
        if (!fl_batch_has(src, (fl_col)c)) {
            if (fl_batch_has(dst, (fl_col)c)) /* a caller's batch not cleared */
                memset(to, 0, (size_t)m * w);
            continue;
        }
        memcpy(to, (const uint8_t *)src->col[c] + (size_t)l->pos * w, (size_t)m * w);
        fl_batch_mark(dst, (fl_col)c);
    }
    dst->n += m;
    l->pos += m;
}

fl_rc fl_store_scan_fill(fl_store_scan *sc, fl_batch *dst, fl_err *e)
{
    return fl_store_scan_fill_codes(sc, dst, NULL, 0, e);
}

fl_rc fl_store_scan_fill_codes(fl_store_scan *sc, fl_batch *dst, fl_store_codes *cd,
                               unsigned ncd, fl_err *e)
{
    scan_lane *l;
    uint32_t n0 = dst->n;

    if (ncd > FL_STORE_CODES_MAX)
        return fl_err_set(e, FL_EINVAL, "more than %d columns asked for as codes",
                          FL_STORE_CODES_MAX);
    for (unsigned i = 0; i < ncd; i++)
        cd[i].ndict = 0;
    /* codes index the rows of one group from row 0; exact scans move rows */
    if (dst->n != 0 || (sc->has_pred && (sc->flags & FL_STORE_SCAN_EXACT)))
        ncd = 0;

    for (;;) {
        pthread_mutex_lock(&sc->sy->lock);
        for (;;) {
            /* rows another caller left in a lane come first; past the
             * last group, wait for busy lanes that may still leave rows */
            l = lane_take(sc, 1);
            if (l == NULL && sc->busy == 0) {
                pthread_mutex_unlock(&sc->sy->lock);
                return fl_err_set(e, FL_ENOMEM, "out of memory for the scan's buffers");
            }
            if (l != NULL && (!sc->exhausted || (l->batch && l->pos < l->batch->n)))
                break;
            if (l != NULL) {
                sc->idle[sc->nidle++] = l;
                sc->busy--;
            }
            if (sc->busy == 0) {
                pthread_mutex_unlock(&sc->sy->lock);
                return FL_OK; /* the end: dst->n unchanged */
            }
            pthread_cond_wait(&sc->sy->cond, &sc->sy->lock);
        }
        pthread_mutex_unlock(&sc->sy->lock);
        if (l->batch && l->pos < l->batch->n) {
            lane_copy(l, dst);
            lane_give(sc, l);
            return FL_OK;
        }
        {
            /* a new group: straight into dst when it fits whole */
            dest d;
            int r;
            if (dst->cap - dst->n >= FL_STORE_GROUP_ROWS) {
                d.bt = dst;
                d.at = dst->n;
                d.dirty = NULL;
                d.cd = cd;
                d.ncd = ncd;
                r = next_group(sc, l, &d);
            } else if (lane_batch(sc, l) != 0) {
                lane_give(sc, l);
                return fl_err_set(e, FL_ENOMEM, "out of memory for the scan's buffers");
            } else {
                if (sc->ord) { /* rows left in the lane may go out later */
                    pthread_mutex_lock(&sc->sy->lock);
                    sc->ord_broken = 1;
                    pthread_mutex_unlock(&sc->sy->lock);
                }
                memset(l->batch->present, 0, sizeof l->batch->present);
                l->batch->n = 0;
                l->pos = 0;
                d.bt = l->batch;
                d.at = 0;
                d.dirty = l->dirty;
                d.cd = NULL;
                d.ncd = 0;
                r = next_group(sc, l, &d);
                if (r == 0)
                    lane_copy(l, dst);
            }
            lane_give(sc, l);
            if (r == 0 || dst->n > n0)
                return FL_OK;
        }
        /* no group left for this lane: go round for rows others left */
    }
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

/* What checking one block needs. */
typedef struct verify_ctx {
    fl_store_verify_stats *st;
    fl_store_report_fn fn;
    void *ctx;
    int deep;
    fl_time **tb;
    uint8_t *stored, *scratch;
    void *vals;
} verify_ctx;

/* Count block b's chunks; deep: read, decode and check each. */
static void verify_block(verify_ctx *v, const seg_src *src, const seg_block *b, size_t bi,
                         const char *name)
{
    fl_store_verify_stats *st = v->st;
    int tdone[FL_COL_COUNT];
    fl_err le;

    memset(tdone, 0, sizeof tdone);
    for (uint16_t c = 0; c < b->ncols; c++) {
        const seg_chunk *ch = &b->chunks[c];
        const char *cname = ch->col >= 0 ? fl_col_get((fl_col)ch->col)->name : "?";
        fl_rc r;
        st->chunks++;
        if (!v->deep)
            continue;
        if (ch->col < 0) {
            uint64_t off = b->off + BLK_HDR + b->meta_len + ch->off;
            if (seg_read(src, off, v->stored, ch->stored, &le) != FL_OK ||
                store_crc32c(0, v->stored, ch->stored) != ch->crc)
                report(st, v->fn, v->ctx, name,
                       "column #%u (unknown to this build), chunk %zu: checksum mismatch",
                       ch->fcol, bi);
            continue;
        }
        r = verify_time_refs(src, b, ch, v->tb, tdone, v->stored, v->scratch, 0, &le);
        if (r == FL_OK)
            r = seg_read_chunk(src, b, ch, fl_col_get((fl_col)ch->col)->kind,
                               ch->enc == ENC_REF && tdone[ch->ref_col] == 1 ? v->tb[ch->ref_col]
                                                                              : NULL,
                               v->vals, v->stored, v->scratch, &le);
        if (r != FL_OK) {
            report(st, v->fn, v->ctx, name, "column %s, chunk %zu (offset %lld): %s", cname, bi,
                   le.offset, le.msg);
        } else {
            char why[128];
            check_stats(ch, fl_col_get((fl_col)ch->col)->kind, v->vals, b->nrows, why,
                        sizeof why);
            if (why[0])
                report(st, v->fn, v->ctx, name, "column %s, chunk %zu: %s", cname, bi, why);
        }
    }
}

/* The by-address copy of closed segment si, when it has one: made from
 * it, every block listed readable (deep: every chunk). A damaged copy
 * loses nothing (the segment holds the rows; scans fall back to it), but
 * is reported so it can be deleted. */
static void verify_copy(verify_ctx *v, const fl_store *s, const fl_store_seginfo *si)
{
    static const fl_addr lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    char name[64], path[STORE_PATH_MAX + 80];
    seg_src src = {-1, NULL, 0, name};
    seg_header h;
    byaddr_dir d;
    seg_blocks bl;
    struct stat sb;
    fl_err le;
    fl_rc rc;

    byaddr_name(name, sizeof name, si->slot_start, si->seq);
    snprintf(path, sizeof path, "%s/%s", s->segdir, name);
    if ((src.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(src.fd, &sb) != 0) {
        if (src.fd >= 0)
            close(src.fd);
        return; /* none made: older build, or too large a segment */
    }
    v->st->copies++;
    src.size = (uint64_t)sb.st_size;
    memset(&d, 0, sizeof d);
    memset(&bl, 0, sizeof bl);
    if ((rc = seg_header_parse(&src, &h, &le)) == FL_OK &&
        (rc = byaddr_dir_read(&src, &d, &le)) == FL_OK) {
        if (d.rows != si->rows || d.tmin != si->tmin || d.tmax != si->tmax ||
            byaddr_part_rows(&d, BLK_BY_SRC) != d.rows || byaddr_part_rows(&d, BLK_BY_DST) != d.rows)
            rc = fl_err_at(&le, FL_ECORRUPT, name, 0, -1,
                           "holds %llu rows, %s holds %llu (made from another segment)",
                           (unsigned long long)d.rows, si->name, (unsigned long long)si->rows);
        for (int k = BLK_BY_SRC; k <= BLK_PSUM_DST && rc == FL_OK; k++)
            rc = byaddr_blocks(&src, &h, &d, k, &lo, &hi, 1, &bl, &le);
    }
    if (rc != FL_OK) {
        char m[900];
        fl_err_format(&le, m, sizeof m);
        report(v->st, v->fn, v->ctx, name, "by-address copy: %s (delete it: %s is intact)", m,
               si->name);
    } else {
        for (size_t bi = 0; bi < bl.n; bi++)
            verify_block(v, &src, &bl.v[bi], bi, name);
    }
    seg_blocks_free(&bl);
    byaddr_dir_free(&d);
    close(src.fd);
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
    verify_ctx vb;
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
    vb = (verify_ctx){st, fn, ctx, deep, tb, stored, scratch, vals};
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
            st->groups++;
            st->rows += bl.v[bi].nrows;
            verify_block(&vb, &src, &bl.v[bi], bi, segs[i].name);
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
        if (!segs[i].open)
            verify_copy(&vb, s, &segs[i]);
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
            char p[STORE_PATH_MAX + 80], cname[64];
            /* the copy first: a crash in between leaves a segment
             * without copy (read directly), never a copy without segment */
            byaddr_name(cname, sizeof cname, x->slot_start, x->seq);
            snprintf(p, sizeof p, "%s/%s", s->segdir, cname);
            if (unlink(p) != 0 && errno != ENOENT) {
                rc = fl_err_at(e, FL_EIO, cname, 0, -1, "unlink: %s", strerror(errno));
                goto out;
            }
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
