/*
 * filter/eval.c — run a compiled filter over an fl_batch, column at a time.
 *
 * The plan tree is walked once per batch, not once per flow. Each node
 * receives the selection it applies to (ascending row indexes) and narrows
 * it in place:
 *   leaf  one tight loop over the column, branch-free compaction
 *         (idx[k] = row; k += pred) — when the selection is still the whole
 *         batch ("dense") the loop reads the column directly, no gather
 *   AND   children in order, each narrowing what the previous kept
 *   OR    accepted rows are marked in a byte map, then collected in
 *         order; over a dense input a leaf ORs its predicate into the map
 *         in one streaming pass, a subtree sees only rows not yet marked
 *   NOT   the child's accepted rows are removed from the input
 * Scratch selections come from the per-thread fl_filter_exec, sized by the
 * tree's OR/NOT nesting, so evaluation allocates nothing per batch.
 */
#include "filter_int.h"

#include <stdlib.h>
#include <string.h>

#define EXEC_MAX_ROWS (1u << 24)

struct fl_filter_exec {
    const fl_filter *f;
    uint32_t cap;  /* rows per scratch buffer */
    uint32_t nbuf; /* buffers available */
    uint32_t top;  /* buffers in use */
    uint32_t *mem;
    uint8_t *mark; /* one byte per row, all zero between uses (eval_or) */
};

fl_filter_exec *fl_filter_exec_new(const fl_filter *f)
{
    fl_filter_exec *x;

    if (f == NULL)
        return NULL;
    x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->f = f;
    x->nbuf = 3 * (f->depth + 1);
    return x;
}

void fl_filter_exec_free(fl_filter_exec *x)
{
    if (x == NULL)
        return;
    free(x->mem);
    free(x->mark);
    free(x);
}

static uint32_t *buf_push(fl_filter_exec *x)
{
    if (x->top >= x->nbuf)
        return NULL; /* cannot happen: nbuf is sized from the tree depth */
    return x->mem + (size_t)x->top++ * x->cap;
}

static void buf_pop(fl_filter_exec *x, uint32_t n) { x->top -= n; }

/* ------------------------------------------------------------------ */
/* Leaf kernels                                                        */
/* ------------------------------------------------------------------ */

/* Compaction loop over a typed column; PRED uses `v`. */
#define SCAN(T, colp, PRED)                                   \
    do {                                                      \
        const T *c_ = (const T *)(colp);                      \
        if (mk != NULL) { /* mark mode: dense, OR into mk */  \
            for (uint32_t i = 0; i < cnt; i++) {              \
                T v = c_[i];                                  \
                mk[i] |= (PRED) ? 1u : 0u;                    \
            }                                                 \
        } else if (dense) {                                   \
            for (uint32_t i = 0; i < cnt; i++) {              \
                T v = c_[i];                                  \
                idx[k] = i;                                   \
                k += (PRED) ? 1u : 0u;                        \
            }                                                 \
        } else {                                              \
            for (uint32_t i = 0; i < cnt; i++) {              \
                uint32_t r_ = idx[i];                         \
                T v = c_[r_];                                 \
                idx[k] = r_;                                  \
                k += (PRED) ? 1u : 0u;                        \
            }                                                 \
        }                                                     \
    } while (0)

#define SCAN_OPS(T, colp, val)                                \
    do {                                                      \
        T w_ = (T)(val);                                      \
        switch (op) {                                         \
        case OP_EQ: SCAN(T, colp, v == w_); break;            \
        case OP_LT: SCAN(T, colp, v < w_); break;             \
        case OP_GT: SCAN(T, colp, v > w_); break;             \
        case OP_LE: SCAN(T, colp, v <= w_); break;            \
        case OP_GE: SCAN(T, colp, v >= w_); break;            \
        case OP_ALL: SCAN(T, colp, (v & w_) == w_); break;    \
        case OP_ANY: SCAN(T, colp, (v & w_) != 0); break;     \
        }                                                     \
    } while (0)

static uint64_t kind_max(fl_kind k)
{
    switch (k) {
    case FL_KIND_U8: return UINT8_MAX;
    case FL_KIND_U16: return UINT16_MAX;
    case FL_KIND_U32: return UINT32_MAX;
    default: return UINT64_MAX;
    }
}

/* Keep all (1) or none (0) of the selection. */
static uint32_t keep_all(uint32_t *idx, uint32_t cnt, int dense, int all)
{
    if (!all)
        return 0;
    if (dense)
        for (uint32_t i = 0; i < cnt; i++)
            idx[i] = i;
    return cnt;
}

static uint32_t eval_cmp(const fnode *n, const fl_batch *b, uint32_t *idx, uint32_t cnt,
                         int dense, uint8_t *mk)
{
    const fl_col_info *ci = fl_col_get(n->col);
    const void *col = b->col[n->col];
    fop op = n->op;
    uint32_t k = 0;

    if (n->shift != 0 || n->mask != UINT64_MAX || ci->kind == FL_KIND_TIME ||
        ci->kind == FL_KIND_MAC) {
        /* generic path: value transform or 64-bit kinds read as uint64 */
        uint64_t w = n->val, m = n->mask;
        unsigned sh = n->shift;
        switch (ci->kind) {
        case FL_KIND_U8: {
            switch (op) {
            case OP_EQ: SCAN(uint8_t, col, (((uint64_t)v >> sh) & m) == w); break;
            case OP_LT: SCAN(uint8_t, col, (((uint64_t)v >> sh) & m) < w); break;
            case OP_GT: SCAN(uint8_t, col, (((uint64_t)v >> sh) & m) > w); break;
            case OP_LE: SCAN(uint8_t, col, (((uint64_t)v >> sh) & m) <= w); break;
            case OP_GE: SCAN(uint8_t, col, (((uint64_t)v >> sh) & m) >= w); break;
            case OP_ALL: SCAN(uint8_t, col, ((((uint64_t)v >> sh) & m) & w) == w); break;
            case OP_ANY: SCAN(uint8_t, col, ((((uint64_t)v >> sh) & m) & w) != 0); break;
            }
            break;
        }
        case FL_KIND_U16:
        case FL_KIND_U32:
        case FL_KIND_U64:
        case FL_KIND_TIME:
        case FL_KIND_MAC:
        default:
            if (ci->kind == FL_KIND_U16) {
                switch (op) {
                case OP_EQ: SCAN(uint16_t, col, (((uint64_t)v >> sh) & m) == w); break;
                case OP_LT: SCAN(uint16_t, col, (((uint64_t)v >> sh) & m) < w); break;
                case OP_GT: SCAN(uint16_t, col, (((uint64_t)v >> sh) & m) > w); break;
                case OP_LE: SCAN(uint16_t, col, (((uint64_t)v >> sh) & m) <= w); break;
                case OP_GE: SCAN(uint16_t, col, (((uint64_t)v >> sh) & m) >= w); break;
                case OP_ALL: SCAN(uint16_t, col, ((((uint64_t)v >> sh) & m) & w) == w); break;
            case OP_ANY: SCAN(uint16_t, col, ((((uint64_t)v >> sh) & m) & w) != 0); break;
                }
            } else if (ci->kind == FL_KIND_U32) {
                switch (op) {
                case OP_EQ: SCAN(uint32_t, col, (((uint64_t)v >> sh) & m) == w); break;
                case OP_LT: SCAN(uint32_t, col, (((uint64_t)v >> sh) & m) < w); break;
                case OP_GT: SCAN(uint32_t, col, (((uint64_t)v >> sh) & m) > w); break;
                case OP_LE: SCAN(uint32_t, col, (((uint64_t)v >> sh) & m) <= w); break;
                case OP_GE: SCAN(uint32_t, col, (((uint64_t)v >> sh) & m) >= w); break;
                case OP_ALL: SCAN(uint32_t, col, ((((uint64_t)v >> sh) & m) & w) == w); break;
            case OP_ANY: SCAN(uint32_t, col, ((((uint64_t)v >> sh) & m) & w) != 0); break;
                }
            } else if (ci->kind == FL_KIND_ADDR) {
                return 0;
            } else {
                /* U64, TIME (int64 read as two's complement), MAC */
                switch (op) {
                case OP_EQ: SCAN(uint64_t, col, ((v >> sh) & m) == w); break;
                case OP_LT: SCAN(uint64_t, col, ((v >> sh) & m) < w); break;
                case OP_GT: SCAN(uint64_t, col, ((v >> sh) & m) > w); break;
                case OP_LE: SCAN(uint64_t, col, ((v >> sh) & m) <= w); break;
                case OP_GE: SCAN(uint64_t, col, ((v >> sh) & m) >= w); break;
                case OP_ALL: SCAN(uint64_t, col, (((v >> sh) & m) & w) == w); break;
            case OP_ANY: SCAN(uint64_t, col, (((v >> sh) & m) & w) != 0); break;
                }
            }
            break;
        }
        return k;
    }
    if (n->val > kind_max(ci->kind)) {
        /* a constant larger than any stored value */
        int all = (op == OP_LT || op == OP_LE || op == OP_ANY);
        if (mk != NULL) {
            if (all)
                memset(mk, 1, cnt);
            return 0;
        }
        return keep_all(idx, cnt, dense, all);
    }
    switch (ci->kind) {
    case FL_KIND_U8: SCAN_OPS(uint8_t, col, n->val); break;
    case FL_KIND_U16: SCAN_OPS(uint16_t, col, n->val); break;
    case FL_KIND_U32: SCAN_OPS(uint32_t, col, n->val); break;
    case FL_KIND_U64: SCAN_OPS(uint64_t, col, n->val); break;
    default: break;
    }
    return k;
}

static int in_sorted(const uint64_t *s, uint32_t n, uint64_t v)
{
    uint32_t lo = 0, hi = n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo] == v;
}

static uint32_t eval_set(const fnode *n, const fl_batch *b, uint32_t *idx, uint32_t cnt,
                         int dense, uint8_t *mk)
{
    const void *col = b->col[n->col];
    const uint64_t *bm = n->bitmap;
    uint32_t k = 0;

    switch (fl_col_get(n->col)->kind) {
    case FL_KIND_U8: SCAN(uint8_t, col, (bm[v >> 6] >> (v & 63)) & 1); break;
    case FL_KIND_U16: SCAN(uint16_t, col, (bm[v >> 6] >> (v & 63)) & 1); break;
    case FL_KIND_U32: SCAN(uint32_t, col, in_sorted(n->set, n->nset, v)); break;
    case FL_KIND_U64:
    case FL_KIND_TIME:
    case FL_KIND_MAC: SCAN(uint64_t, col, in_sorted(n->set, n->nset, v)); break;
    default: break;
    }
    return k;
}

static uint32_t eval_prefix(const fnode *n, const fl_batch *b, uint32_t *idx, uint32_t cnt,
                            int dense, uint8_t *mk)
{
    const fl_addr *col = (const fl_addr *)b->col[n->col];
    fl_prefix cp = flt_compat_prefix(n->pfx);
    uint64_t ph = cp.addr.hi, plo = cp.addr.lo;
    unsigned len = cp.len;
    uint64_t mh = len >= 64 ? UINT64_MAX : len == 0 ? 0 : UINT64_MAX << (64 - len);
    uint64_t ml = len <= 64 ? 0 : len >= 128 ? UINT64_MAX : UINT64_MAX << (128 - len);
    uint32_t k = 0;

    if (len >= 96 && ph == 0 && (plo >> 32) == 0) {
        /* an IPv4 prefix: IPv4 rows (::ffff:a.b.c.d) and, as in nfdump,
         * IPv4-compatible ::a.b.c.d rows */
        uint32_t m32 = (uint32_t)ml, n32 = (uint32_t)plo;
        SCAN(fl_addr, col,
             (v.hi == 0) & (((v.lo >> 32) == 0xffffu) | ((v.lo >> 32) == 0)) &
                 (((uint32_t)v.lo & m32) == n32));
        return k;
    }
    /* v.lo in nfdump's space: drop the ::ffff: marker of IPv4 */
    SCAN(fl_addr, col,
         ((v.hi & mh) == ph) &
             (((v.lo & ~((uint64_t)((v.hi == 0) & ((v.lo >> 32) == 0xffffu)) *
                         0xffff00000000ULL)) &
               ml) == plo));
    return k;
}

/* Is a (nfdump space) inside one of the sorted disjoint intervals? */
static inline int in_intervals(const fnode *n, fl_addr a)
{
    uint32_t lo = 0, hi = n->nivl;

    /* first interval whose low end is above a */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const fl_addr *m = &n->ilo[mid];
        if (m->hi < a.hi || (m->hi == a.hi && m->lo <= a.lo))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    lo--;
    return a.hi < n->ihi[lo].hi || (a.hi == n->ihi[lo].hi && a.lo <= n->ihi[lo].lo);
}

/* Branch-free search of the IPv4 part: last interval starting <= a. */
static inline int in_v4(const fnode *n, uint32_t a)
{
    const uint32_t *base = n->v4lo;
    uint32_t len = n->nv4;

    if (len == 0 || a < base[0])
        return 0;
    while (len > 1) {
        uint32_t half = len / 2;
        base = base[half] <= a ? base + half : base;
        len -= half;
    }
    return a <= n->v4hi[base - n->v4lo];
}

static inline int in_aset(const fnode *n, fl_addr v)
{
    fl_addr a = flt_compat(v);

    if (a.hi == 0 && (a.lo >> 32) == 0)
        return in_v4(n, (uint32_t)a.lo);
    return in_intervals(n, a);
}

static uint32_t eval_aset(const fnode *n, const fl_batch *b, uint32_t *idx, uint32_t cnt,
                          int dense)
{
    const fl_addr *col = (const fl_addr *)b->col[n->col];
    uint8_t *mk = NULL;
    uint32_t k = 0;

    SCAN(fl_addr, col, in_aset(n, v));
    return k;
}

static uint32_t eval_family(const fnode *n, const fl_batch *b, uint32_t *idx, uint32_t cnt,
                            int dense, uint8_t *mk)
{
    const fl_addr *col = (const fl_addr *)b->col[n->col];
    int want4 = n->val == 4;
    uint32_t k = 0;

    SCAN(fl_addr, col, ((v.hi == 0 && (v.lo >> 32) == 0xffffu) ? 1 : 0) == want4);
    return k;
}

/* nfdump's computed values: unsigned 64-bit arithmetic, ms durations. */
static inline uint64_t calc_value(fcalc c, uint64_t first, uint64_t last, uint64_t bytes,
                                  uint64_t pkts)
{
    uint64_t dur = last - first;

    switch (c) {
    case CALC_DURATION: return dur;
    case CALC_PPS: return dur ? (1000ULL * pkts) / dur : 0;
    case CALC_BPS: return dur ? (8000ULL * bytes) / dur : 0;
    case CALC_BPP: return pkts ? bytes / pkts : 0;
    }
    return 0;
}

static uint32_t eval_calc(const fnode *n, const fl_batch *b, uint32_t *idx, uint32_t cnt,
                          int dense)
{
    const fl_time *tf = FL_TIMES(b, FL_COL_TIME_FIRST), *tl = FL_TIMES(b, FL_COL_TIME_LAST);
    const uint64_t *by = FL_U64(b, FL_COL_BYTES), *pk = FL_U64(b, FL_COL_PACKETS);
    uint64_t w = n->val;
    fcalc c = n->calc;
    uint32_t k = 0;

    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t r = dense ? i : idx[i];
        uint64_t v = calc_value(c, (uint64_t)tf[r], (uint64_t)tl[r], by[r], pk[r]);
        int ok;
        switch (n->op) {
        case OP_EQ: ok = v == w; break;
        case OP_LT: ok = v < w; break;
        case OP_GT: ok = v > w; break;
        case OP_LE: ok = v <= w; break;
        case OP_GE: ok = v >= w; break;
        case OP_ANY: ok = (v & w) != 0; break;
        default: ok = (v & w) == w; break;
        }
        idx[k] = r;
        k += ok ? 1u : 0u;
    }
    return k;
}

/* ------------------------------------------------------------------ */
/* Selection algebra                                                   */
/* ------------------------------------------------------------------ */

/* Keep the rows of a whose mark is clear (order kept, branch-free). */
static uint32_t keep_unmarked(uint32_t *a, uint32_t na, const uint8_t *mark)
{
    uint32_t k = 0;

    for (uint32_t i = 0; i < na; i++) {
        uint32_t r = a[i];
        a[k] = r;
        k += mark[r] ^ 1u;
    }
    return k;
}

static uint32_t eval_node(fl_filter_exec *x, const fnode *n, const fl_batch *b, uint32_t *idx,
                          uint32_t cnt, int dense);

static void eval_leaf_mark(const fnode *n, const fl_batch *b, uint32_t cnt, uint8_t *mk)
{
    switch (n->kind) {
    case FN_CMP: eval_cmp(n, b, NULL, cnt, 1, mk); break;
    case FN_SET: eval_set(n, b, NULL, cnt, 1, mk); break;
    case FN_PREFIX: eval_prefix(n, b, NULL, cnt, 1, mk); break;
    case FN_FAMILY: eval_family(n, b, NULL, cnt, 1, mk); break;
    default: break;
    }
}

static int is_leaf(const fnode *n)
{
    return n->kind == FN_CMP || n->kind == FN_SET || n->kind == FN_PREFIX ||
           n->kind == FN_FAMILY;
}

/*
 * OR: accepted rows are marked in a byte map and collected in input order
 * at the end. Cheap leaves scan the whole input (a mark twice is harmless,
 * and a dense scan beats maintaining a remainder); expensive children
 * (subtrees, address lists, computed values) see only the rows no earlier
 * child accepted. One map serves nested ORs: an inner OR only sees rows the
 * outer one has not marked, and clears its own marks before returning.
 */
static uint32_t eval_or(fl_filter_exec *x, const fnode *n, const fl_batch *b, uint32_t *idx,
                        uint32_t cnt, int dense)
{
    uint32_t *rem = buf_push(x), *tmp = buf_push(x);
    uint8_t *mark = x->mark;
    uint32_t remn = cnt, k = 0;
    int stale = 0;

    if (dense)
        for (uint32_t i = 0; i < cnt; i++)
            rem[i] = i;
    else
        memcpy(rem, idx, (size_t)cnt * sizeof *idx);
    for (uint32_t c = 0; c < n->nkids; c++) {
        const fnode *kid = n->kids[c];
        uint32_t tn;
        if (is_leaf(kid) && dense) {
            /* one streaming pass OR-ing the predicate into the marks */
            eval_leaf_mark(kid, b, cnt, mark);
            stale = 1;
            continue;
        }
        if (is_leaf(kid)) {
            memcpy(tmp, idx, (size_t)cnt * sizeof *idx);
            tn = eval_node(x, kid, b, tmp, cnt, 0);
            for (uint32_t i = 0; i < tn; i++)
                mark[tmp[i]] = 1;
            stale = 1;
            continue;
        }
        if (stale) { /* rebuild the remainder: rows not yet marked */
            remn = keep_unmarked(rem, remn, mark);
            stale = 0;
        }
        if (remn == 0)
            break;
        memcpy(tmp, rem, (size_t)remn * sizeof *rem);
        tn = eval_node(x, kid, b, tmp, remn, dense && remn == cnt);
        if (tn == 0)
            continue;
        for (uint32_t i = 0; i < tn; i++)
            mark[tmp[i]] = 1;
        if (c + 1 < n->nkids)
            remn = keep_unmarked(rem, remn, mark);
    }
    if (dense) {
        for (uint32_t i = 0; i < cnt; i++) {
            idx[k] = i;
            k += mark[i];
            mark[i] = 0;
        }
    } else {
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t r = idx[i];
            idx[k] = r;
            k += mark[r];
            mark[r] = 0;
        }
    }
    buf_pop(x, 2);
    return k;
}

static uint32_t eval_node(fl_filter_exec *x, const fnode *n, const fl_batch *b, uint32_t *idx,
                          uint32_t cnt, int dense)
{
    switch (n->kind) {
    case FN_TRUE:
        return keep_all(idx, cnt, dense, 1);
    case FN_FALSE:
        return 0;
    case FN_AND:
        for (uint32_t c = 0; c < n->nkids && cnt > 0; c++) {
            uint32_t before = cnt;
            cnt = eval_node(x, n->kids[c], b, idx, cnt, dense);
            dense = dense && cnt == before;
        }
        if (dense)
            keep_all(idx, cnt, 1, 1);
        return cnt;
    case FN_OR:
        return eval_or(x, n, b, idx, cnt, dense);
    case FN_NOT: {
        uint32_t *tmp = buf_push(x), tn;
        if (dense)
            for (uint32_t i = 0; i < cnt; i++)
                idx[i] = i;
        memcpy(tmp, idx, (size_t)cnt * sizeof *idx);
        tn = eval_node(x, n->kids[0], b, tmp, cnt, dense);
        /* input minus the child's rows, through the mark map (branch-free) */
        for (uint32_t i = 0; i < tn; i++)
            x->mark[tmp[i]] = 1;
        cnt = keep_unmarked(idx, cnt, x->mark);
        for (uint32_t i = 0; i < tn; i++)
            x->mark[tmp[i]] = 0;
        buf_pop(x, 1);
        return cnt;
    }
    case FN_CMP:
        return eval_cmp(n, b, idx, cnt, dense, NULL);
    case FN_SET:
        return eval_set(n, b, idx, cnt, dense, NULL);
    case FN_PREFIX:
        return eval_prefix(n, b, idx, cnt, dense, NULL);
    case FN_ASET:
        return eval_aset(n, b, idx, cnt, dense);
    case FN_FAMILY:
        return eval_family(n, b, idx, cnt, dense, NULL);
    case FN_CALC:
        return eval_calc(n, b, idx, cnt, dense);
    }
    return 0;
}

fl_rc fl_filter_eval(fl_filter_exec *x, const fl_batch *b, fl_sel *sel)
{
    int dense;

    if (x == NULL || b == NULL || sel == NULL || sel->n > b->n || sel->cap < sel->n)
        return FL_EINVAL;
    if (sel->n == 0)
        return FL_OK; /* nothing selected stays nothing */
    if (b->n > x->cap) {
        uint32_t *m;
        if (b->n > EXEC_MAX_ROWS)
            return FL_ELIMIT;
        uint8_t *mk;
        m = realloc(x->mem, (size_t)x->nbuf * b->n * sizeof *m);
        if (m == NULL)
            return FL_ENOMEM;
        x->mem = m;
        mk = calloc(b->n, 1);
        if (mk == NULL)
            return FL_ENOMEM;
        free(x->mark);
        x->mark = mk;
        x->cap = b->n;
    }
    x->top = 0;
    /* ascending unique indexes below n: n of them means every row */
    dense = sel->n == b->n;
    sel->n = eval_node(x, x->f->root, b, sel->idx, sel->n, dense);
    return FL_OK;
}

fl_rc fl_filter_select(void *filter, const fl_batch *b, fl_sel *sel, fl_err *e)
{
    fl_filter_exec *x = fl_filter_exec_new((const fl_filter *)filter);
    fl_rc rc;

    if (x == NULL)
        return fl_err_set(e, FL_ENOMEM, "filter: out of memory for evaluation scratch");
    rc = fl_filter_eval(x, b, sel);
    fl_filter_exec_free(x);
    if (rc != FL_OK)
        fl_err_set(e, rc, "filter: evaluation failed: %s", fl_strerror(rc));
    return rc;
}
