/*
 * filter/pushdown.c — address terms a storage layer can prune with.
 *
 * fl_filter_ranges gives one hull per column, which cannot say "src or
 * dst" (so `host X`, the commonest one-IP question, pushed down nothing)
 * and whose address hull spans both forms nfdump reads IPv4 in. This walks
 * the plan once more and derives, conservatively, a conjunction of terms
 * "one of these columns holds an address inside one of these intervals",
 * with the intervals in nfdump's address space (IPv4 as ::a.b.c.d, see
 * flt_compat): exactly what the primitives compare, so a store that maps
 * each interval to every stored form it covers (store.h's address sets)
 * can never drop a matching row.
 *
 * Rules: a prefix or address list gives one term on its column; AND keeps
 * its children's terms (up to the maximum; dropping one only loosens);
 * OR joins one term of each child into a term over the union of their
 * columns and intervals (a child without a term, or columns other than
 * one column or src+dst, leaves none); NOT and everything else give none.
 * Interval lists past FL_FILTER_ATERM_MAX are coalesced into hulls.
 */
#include "filter_int.h"

#include <stdlib.h>
#include <string.h>

#define TERMS_MAX 4

typedef struct tlist {
    int never;
    size_t n;
    fl_filter_aterm t[TERMS_MAX];
} tlist;

static fl_addr last_of(fl_prefix p)
{
    fl_addr a = p.addr;

    if (p.len < 64) {
        a.hi |= p.len == 0 ? UINT64_MAX : UINT64_MAX >> p.len;
        a.lo = UINT64_MAX;
    } else if (p.len < 128) {
        a.lo |= p.len == 64 ? UINT64_MAX : UINT64_MAX >> (p.len - 64);
    }
    return a;
}

typedef struct ivl {
    fl_addr lo, hi;
} ivl;

static int cmp_ivl(const void *pa, const void *pb)
{
    const ivl *a = pa, *b = pb;
    int c = fl_addr_cmp(a->lo, b->lo);
    return c ? c : fl_addr_cmp(a->hi, b->hi);
}

static int adjacent(fl_addr hi, fl_addr lo)
{
    /* lo <= hi + 1 */
    fl_addr n = hi;
    if (++n.lo == 0 && ++n.hi == 0)
        return 1; /* hi is the last address */
    return fl_addr_cmp(lo, n) <= 0;
}

/* Sort, merge and, past the maximum, coalesce v[0..n) into term t. */
static void put_ivls(fl_filter_aterm *t, ivl *v, size_t n)
{
    size_t m = 0;

    qsort(v, n, sizeof *v, cmp_ivl);
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && adjacent(v[m - 1].hi, v[i].lo)) {
            if (fl_addr_cmp(v[i].hi, v[m - 1].hi) > 0)
                v[m - 1].hi = v[i].hi;
        } else {
            v[m++] = v[i];
        }
    }
    if (m <= FL_FILTER_ATERM_MAX) {
        for (size_t i = 0; i < m; i++) {
            t->lo[i] = v[i].lo;
            t->hi[i] = v[i].hi;
        }
        t->n = (uint32_t)m;
        return;
    }
    /* hulls of consecutive runs, FL_FILTER_ATERM_MAX of them */
    for (size_t j = 0; j < FL_FILTER_ATERM_MAX; j++) {
        size_t a = j * m / FL_FILTER_ATERM_MAX, b = (j + 1) * m / FL_FILTER_ATERM_MAX;
        t->lo[j] = v[a].lo;
        t->hi[j] = v[b - 1].hi;
    }
    t->n = FL_FILTER_ATERM_MAX;
}

static int leaf_term(const fnode *n, fl_filter_aterm *t)
{
    memset(t, 0, sizeof *t);
    t->col[0] = n->col;
    t->ncols = 1;
    if (n->kind == FN_PREFIX) {
        fl_prefix cp = flt_compat_prefix(n->pfx);
        t->lo[0] = cp.addr;
        t->hi[0] = last_of(cp);
        t->n = 1;
        return 0;
    }
    {
        ivl *v = malloc((n->nivl ? n->nivl : 1) * sizeof *v);
        if (v == NULL)
            return -1;
        for (uint32_t i = 0; i < n->nivl; i++) {
            v[i].lo = n->ilo[i];
            v[i].hi = n->ihi[i];
        }
        put_ivls(t, v, n->nivl);
        free(v);
    }
    return 0;
}

static int cols_union(fl_filter_aterm *acc, const fl_filter_aterm *t)
{
    for (unsigned i = 0; i < t->ncols; i++) {
        unsigned j = 0;
        while (j < acc->ncols && acc->col[j] != t->col[i])
            j++;
        if (j < acc->ncols)
            continue;
        if (acc->ncols == 2)
            return -1;
        acc->col[acc->ncols++] = t->col[i];
    }
    if (acc->ncols == 2 &&
        !((acc->col[0] == FL_COL_SRC_ADDR && acc->col[1] == FL_COL_DST_ADDR) ||
          (acc->col[0] == FL_COL_DST_ADDR && acc->col[1] == FL_COL_SRC_ADDR)))
        return -1;
    return 0;
}

static int terms_of(const fnode *n, tlist *out);

static int or_terms(const fnode *n, tlist *out)
{
    tlist *k = malloc(sizeof *k);
    ivl *v = NULL;
    size_t nv = 0, cap = 0;
    fl_filter_aterm acc;
    int any = 0, rc = 0;

    if (k == NULL)
        return -1;
    memset(&acc, 0, sizeof acc);
    out->never = 1;
    for (uint32_t i = 0; i < n->nkids && rc == 0; i++) {
        if ((rc = terms_of(n->kids[i], k)) != 0)
            break;
        if (k->never)
            continue; /* matches no flow: adds nothing */
        out->never = 0;
        if (k->n == 0 || cols_union(&acc, &k->t[0]) != 0) {
            any = -1; /* one side unconstrained: no term */
            continue;
        }
        if (any == 0)
            any = 1;
        if (nv + k->t[0].n > cap) {
            size_t nc = (nv + k->t[0].n) * 2;
            ivl *nvp = realloc(v, nc * sizeof *v);
            if (nvp == NULL) {
                rc = -1;
                break;
            }
            v = nvp;
            cap = nc;
        }
        for (uint32_t j = 0; j < k->t[0].n; j++) {
            v[nv].lo = k->t[0].lo[j];
            v[nv].hi = k->t[0].hi[j];
            nv++;
        }
    }
    if (rc == 0 && any == 1 && !out->never) {
        put_ivls(&acc, v, nv);
        out->t[0] = acc;
        out->n = 1;
    }
    free(v);
    free(k);
    return rc;
}

/* Terms of node n into out; -1 when out of memory. */
static int terms_of(const fnode *n, tlist *out)
{
    out->never = 0;
    out->n = 0;
    switch (n->kind) {
    case FN_FALSE:
        out->never = 1;
        return 0;
    case FN_PREFIX:
    case FN_ASET:
        if (fl_col_get(n->col)->kind != FL_KIND_ADDR)
            return 0;
        if (leaf_term(n, &out->t[0]) != 0)
            return -1;
        out->n = 1;
        return 0;
    case FN_AND: {
        tlist *k = malloc(sizeof *k);
        if (k == NULL)
            return -1;
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (terms_of(n->kids[i], k) != 0) {
                free(k);
                return -1;
            }
            out->never |= k->never;
            for (size_t j = 0; j < k->n && out->n < TERMS_MAX; j++)
                out->t[out->n++] = k->t[j];
        }
        free(k);
        return 0;
    }
    case FN_OR:
        return or_terms(n, out);
    default:
        return 0;
    }
}

size_t fl_filter_addr_terms(const fl_filter *f, fl_filter_aterm *out, size_t max, int *never)
{
    tlist *l;
    size_t n = 0;

    if (never)
        *never = 0;
    if (f == NULL || max == 0 || (l = malloc(sizeof *l)) == NULL)
        return 0;
    if (terms_of(f->root, l) == 0) {
        if (never)
            *never = l->never;
        for (; n < l->n && n < max; n++)
            out[n] = l->t[n];
    }
    free(l);
    return n;
}

/* Leaf n (a prefix or address list on an address column) as its term, in
 * *t; 0 when it is one, exactly (its intervals not coalesced). */
static int exact_leaf(const fnode *n, fl_filter_aterm *t)
{
    if ((n->kind != FN_PREFIX && n->kind != FN_ASET) || fl_col_get(n->col)->kind != FL_KIND_ADDR)
        return -1;
    if (n->kind == FN_ASET && n->nivl > FL_FILTER_ATERM_MAX)
        return -1;
    return leaf_term(n, t);
}

static int same_ivls(const fl_filter_aterm *a, const fl_filter_aterm *b)
{
    if (a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (fl_addr_cmp(a->lo[i], b->lo[i]) != 0 || fl_addr_cmp(a->hi[i], b->hi[i]) != 0)
            return 0;
    return 1;
}

/* Terms node n contributes when its matches are exactly their conjunction
 * (-1 when not): a leaf gives one; OR of leaves gives one when they are
 * all on one column (their intervals' union, uncoalesced) or on src and
 * dst with the same intervals (`host X`, `ip in [...]`); AND adds its
 * children's. */
static int exact_terms(const fnode *n)
{
    fl_filter_aterm *a, *b;
    int rc = -1, same_col = 1, same_set = 1;
    uint32_t total = 0;

    if (n->kind == FN_AND) {
        int sum = 0;
        for (uint32_t i = 0; i < n->nkids; i++) {
            int k = exact_terms(n->kids[i]);
            if (k < 0)
                return -1;
            sum += k;
        }
        return sum;
    }
    if ((a = malloc(2 * sizeof *a)) == NULL)
        return -1;
    b = a + 1;
    if (n->kind != FN_OR) {
        rc = exact_leaf(n, a) == 0 ? 1 : -1;
        free(a);
        return rc;
    }
    for (uint32_t i = 0; i < n->nkids; i++) {
        if (exact_leaf(n->kids[i], i ? b : a) != 0) {
            free(a);
            return -1;
        }
        if (i) {
            same_col &= b->col[0] == a->col[0];
            same_set &= same_ivls(a, b);
        }
        total += (i ? b : a)->n;
    }
    if (n->nkids >= 1 && same_col && total <= FL_FILTER_ATERM_MAX)
        rc = 1;
    else if (n->nkids == 2 && same_set && !same_col)
        rc = 1; /* src and dst (two address columns of one OR; cols_union
                   leaves no term for any other pair, checked below) */
    if (rc == 1 && !same_col) {
        fl_col c0 = n->kids[0]->col, c1 = n->kids[1]->col;
        if (!((c0 == FL_COL_SRC_ADDR && c1 == FL_COL_DST_ADDR) ||
              (c0 == FL_COL_DST_ADDR && c1 == FL_COL_SRC_ADDR)))
            rc = -1;
    }
    free(a);
    return rc;
}

int fl_filter_addr_exact(const fl_filter *f)
{
    int k;

    if (f == NULL)
        return 0;
    k = exact_terms(f->root);
    return k >= 1 && k <= TERMS_MAX ? k : 0;
}
