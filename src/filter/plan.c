/*
 * filter/plan.c — what happens to the parsed tree before it runs, and how
 * it is shown.
 *
 * Simplification keeps meaning exactly (nfdump's primitives have no side
 * effects, so and/or are commutative): nested ANDs and ORs are flattened,
 * `any` and impossible branches folded, double negation dropped, and the
 * children of an AND ordered cheapest first so the expensive predicates
 * (address lists, computed rates) see the fewest rows. Sets on 8- and
 * 16-bit columns get a bitmap so membership is one load.
 *
 * Range analysis derives, per column, an interval every matching flow lies
 * in — what a store needs to skip chunks by their min/max zone maps.
 *
 * Explain prints the tree one node per line with the text of each primitive
 * as written, then the ranges; golden tests pin this format.
 */
#include "filter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Simplification                                                      */
/* ------------------------------------------------------------------ */

static int cost(const fnode *n)
{
    switch (n->kind) {
    case FN_TRUE:
    case FN_FALSE: return 0;
    case FN_CMP: return n->shift || n->mask != UINT64_MAX ? 2 : 1;
    case FN_FAMILY: return 2;
    case FN_PREFIX: return 2;
    case FN_SET: return n->bitmap ? 2 : 3;
    case FN_ASET: return 4;
    case FN_CALC: return 4;
    case FN_NOT: return 1 + cost(n->kids[0]);
    case FN_AND:
    case FN_OR: {
        int c = 0;
        for (uint32_t i = 0; i < n->nkids; i++)
            c += cost(n->kids[i]);
        return c;
    }
    }
    return 9;
}

static int cmp_addr(const void *a, const void *b)
{
    return fl_addr_cmp(*(const fl_addr *)a, *(const fl_addr *)b);
}

static fl_addr prefix_last(const fl_prefix *p);

typedef struct ivl {
    fl_addr lo, hi;
} ivl;

static int cmp_ivl(const void *a, const void *b)
{
    return fl_addr_cmp(((const ivl *)a)->lo, ((const ivl *)b)->lo);
}

/* An address list as sorted, merged intervals in nfdump's space, so a row
 * is one binary search whatever mix of hosts and networks the list has. */
static fl_rc build_intervals(fl_filter *f, fnode *n)
{
    uint32_t m = n->nhosts + n->nnets, k = 0;
    ivl *v = malloc((m ? m : 1) * sizeof *v);

    if (v == NULL)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < n->nhosts; i++)
        v[i].lo = v[i].hi = n->chosts[i];
    for (uint32_t i = 0; i < n->nnets; i++) {
        v[n->nhosts + i].lo = n->cnets[i].addr;
        v[n->nhosts + i].hi = prefix_last(&n->cnets[i]);
    }
    qsort(v, m, sizeof *v, cmp_ivl);
    for (uint32_t i = 0; i < m; i++) {
        if (k > 0) {
            fl_addr next = v[k - 1].hi;
            /* merge when overlapping or adjacent (hi + 1 == lo) */
            if (++next.lo == 0)
                next.hi++;
            if (fl_addr_cmp(v[i].lo, v[k - 1].hi) <= 0 || fl_addr_cmp(v[i].lo, next) == 0) {
                if (fl_addr_cmp(v[i].hi, v[k - 1].hi) > 0)
                    v[k - 1].hi = v[i].hi;
                continue;
            }
        }
        v[k++] = v[i];
    }
    n->ilo = fl_arena_alloc(f->arena, (k ? k : 1) * sizeof *n->ilo);
    n->ihi = fl_arena_alloc(f->arena, (k ? k : 1) * sizeof *n->ihi);
    if (n->ilo == NULL || n->ihi == NULL) {
        free(v);
        return FL_ENOMEM;
    }
    for (uint32_t i = 0; i < k; i++) {
        n->ilo[i] = v[i].lo;
        n->ihi[i] = v[i].hi;
    }
    n->nivl = k;
    /* IPv4 rows live below 2^32 in nfdump's space: a 32-bit copy of that
     * part lets them take a branch-free search */
    n->v4lo = fl_arena_alloc(f->arena, (k ? k : 1) * sizeof *n->v4lo);
    n->v4hi = fl_arena_alloc(f->arena, (k ? k : 1) * sizeof *n->v4hi);
    if (n->v4lo == NULL || n->v4hi == NULL) {
        free(v);
        return FL_ENOMEM;
    }
    n->nv4 = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (v[i].lo.hi != 0 || (v[i].lo.lo >> 32) != 0)
            break;
        n->v4lo[n->nv4] = (uint32_t)v[i].lo.lo;
        n->v4hi[n->nv4++] = (v[i].hi.hi != 0 || (v[i].hi.lo >> 32) != 0) ? UINT32_MAX
                                                                         : (uint32_t)v[i].hi.lo;
    }
    free(v);
    return FL_OK;
}

static int cmp_u64v(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int set_mergeable(const fnode *c)
{
    fl_kind k = fl_col_get(c->col)->kind;

    if (k == FL_KIND_ADDR)
        return 0;
    return (c->kind == FN_CMP && c->op == OP_EQ && c->shift == 0 && c->mask == UINT64_MAX) ||
           c->kind == FN_SET;
}

/* Inside an OR, equality tests and sets on the same column become one set:
 * `port 80 or port 443` is then two set lookups instead of four scans. */
static fl_rc merge_or_sets(fl_filter *f, fnode *n)
{
    for (uint32_t i = 0; i < n->nkids; i++) {
        fnode *a = n->kids[i];
        uint32_t total = 0, cnt = 0;
        uint64_t *vals;
        fnode *s;
        if (!set_mergeable(a))
            continue;
        for (uint32_t j = i; j < n->nkids; j++)
            if (set_mergeable(n->kids[j]) && n->kids[j]->col == a->col) {
                total += n->kids[j]->kind == FN_SET ? n->kids[j]->nset : 1;
                cnt++;
            }
        if (cnt < 2)
            continue;
        vals = fl_arena_alloc(f->arena, total * sizeof *vals);
        s = fl_arena_calloc(f->arena, 1, sizeof *s);
        if (vals == NULL || s == NULL)
            return FL_ENOMEM;
        total = 0;
        for (uint32_t j = i, w = i; j < n->nkids; j++) {
            fnode *c = n->kids[j];
            if (set_mergeable(c) && c->col == a->col) {
                if (c->kind == FN_SET) {
                    memcpy(vals + total, c->set, c->nset * sizeof *vals);
                    total += c->nset;
                } else {
                    vals[total++] = c->val;
                }
                continue;
            }
            n->kids[++w] = c; /* compact the others after slot i */
            (void)w;
        }
        qsort(vals, total, sizeof *vals, cmp_u64v);
        {
            uint32_t u = 1;
            for (uint32_t j = 1; j < total; j++)
                if (vals[j] != vals[u - 1])
                    vals[u++] = vals[j];
            total = u;
        }
        s->kind = FN_SET;
        s->mask = UINT64_MAX;
        s->col = a->col;
        s->set = vals;
        s->nset = total;
        n->kids[i] = s;
        n->nkids -= cnt - 1;
        f->nodes++;
    }
    return FL_OK;
}

static fnode *simplify(fl_filter *f, fnode *n)
{
    switch (n->kind) {
    case FN_NOT: {
        fnode *k = simplify(f, n->kids[0]);
        if (k == NULL)
            return NULL;
        if (k->kind == FN_TRUE || k->kind == FN_FALSE) {
            k->kind = k->kind == FN_TRUE ? FN_FALSE : FN_TRUE;
            k->text = NULL;
            return k;
        }
        if (k->kind == FN_NOT)
            return k->kids[0];
        n->kids[0] = k;
        return n;
    }
    case FN_AND:
    case FN_OR: {
        fnode_kind absorb = n->kind == FN_AND ? FN_FALSE : FN_TRUE;
        fnode_kind neutral = n->kind == FN_AND ? FN_TRUE : FN_FALSE;
        uint32_t total = 0, k = 0;
        fnode **kids;
        for (uint32_t i = 0; i < n->nkids; i++) {
            n->kids[i] = simplify(f, n->kids[i]);
            if (n->kids[i] == NULL)
                return NULL;
            if (n->kids[i]->kind == absorb)
                return n->kids[i];
            total += n->kids[i]->kind == n->kind ? n->kids[i]->nkids : 1;
        }
        kids = fl_arena_alloc(f->arena, (total ? total : 1) * sizeof *kids);
        if (kids == NULL)
            return NULL;
        for (uint32_t i = 0; i < n->nkids; i++) {
            fnode *c = n->kids[i];
            if (c->kind == neutral)
                continue;
            if (c->kind == n->kind)
                for (uint32_t j = 0; j < c->nkids; j++)
                    kids[k++] = c->kids[j];
            else
                kids[k++] = c;
        }
        if (k == 0) {
            n->kind = neutral;
            n->nkids = 0;
            return n;
        }
        if (n->kind == FN_OR) {
            n->kids = kids;
            n->nkids = k;
            if (merge_or_sets(f, n) != FL_OK)
                return NULL;
            for (uint32_t i = 0; i < n->nkids; i++) /* new sets need bitmaps */
                if (n->kids[i]->kind == FN_SET && (n->kids[i] = simplify(f, n->kids[i])) == NULL)
                    return NULL;
            kids = n->kids;
            k = n->nkids;
        }
        if (k == 1)
            return kids[0];
        if (n->kind == FN_AND) {
            /* stable insertion sort by cost: cheap, narrow predicates first */
            for (uint32_t i = 1; i < k; i++) {
                fnode *c = kids[i];
                int cc = cost(c);
                uint32_t j = i;
                while (j > 0 && cost(kids[j - 1]) > cc) {
                    kids[j] = kids[j - 1];
                    j--;
                }
                kids[j] = c;
            }
        }
        n->kids = kids;
        n->nkids = k;
        return n;
    }
    case FN_SET: {
        fl_kind kd = fl_col_get(n->col)->kind;
        if ((kd == FL_KIND_U8 || kd == FL_KIND_U16) && n->bitmap == NULL) {
            size_t words = kd == FL_KIND_U8 ? 4 : 1024;
            n->bitmap = fl_arena_calloc(f->arena, words, sizeof *n->bitmap);
            if (n->bitmap == NULL)
                return NULL;
            for (uint32_t i = 0; i < n->nset; i++)
                if (n->set[i] < words * 64)
                    n->bitmap[n->set[i] >> 6] |= (uint64_t)1 << (n->set[i] & 63);
        }
        return n;
    }
    case FN_ASET:
        if (n->chosts == NULL && n->cnets == NULL) {
            /* the lists in nfdump's address space, hosts re-sorted there */
            n->chosts = fl_arena_alloc(f->arena, (n->nhosts + 1) * sizeof *n->chosts);
            n->cnets = fl_arena_alloc(f->arena, (n->nnets + 1) * sizeof *n->cnets);
            if (n->chosts == NULL || n->cnets == NULL)
                return NULL;
            for (uint32_t i = 0; i < n->nhosts; i++)
                n->chosts[i] = flt_compat(n->hosts[i]);
            for (uint32_t i = 0; i < n->nnets; i++)
                n->cnets[i] = flt_compat_prefix(n->nets[i]);
            qsort(n->chosts, n->nhosts, sizeof *n->chosts, cmp_addr);
            if (build_intervals(f, n) != FL_OK)
                return NULL;
        }
        return n;
    default:
        return n;
    }
}

/*
 * nfdump quirk, kept for exactness: its engine negates a `flags LETTERS`
 * test under an odd number of `not`s by testing "any of the bits" and then
 * inverting, so `not flags AS` means "neither A nor S" rather than "not
 * both" (the man page's `flags S and not flags AFRPU` relies on it). Under
 * odd parity the all-bits test becomes an any-bit test; the NOT above then
 * yields "none".
 */
static void flags_parity(fnode *n, int odd)
{
    if (n->kind == FN_CMP && n->col == FL_COL_TCP_FLAGS && n->op == OP_ALL && odd)
        n->op = OP_ANY;
    for (uint32_t i = 0; i < n->nkids; i++)
        flags_parity(n->kids[i], odd ^ (n->kind == FN_NOT));
}

static uint32_t depth_of(const fnode *n)
{
    uint32_t d = 0;

    for (uint32_t i = 0; i < n->nkids; i++) {
        uint32_t c = depth_of(n->kids[i]);
        if (c > d)
            d = c;
    }
    return d + (n->kind == FN_OR || n->kind == FN_NOT);
}

/* ------------------------------------------------------------------ */
/* Ranges                                                              */
/* ------------------------------------------------------------------ */

static uint64_t kmax(fl_kind k)
{
    switch (k) {
    case FL_KIND_U8: return UINT8_MAX;
    case FL_KIND_U16: return UINT16_MAX;
    case FL_KIND_U32: return UINT32_MAX;
    case FL_KIND_MAC: return 0xffffffffffffULL;
    default: return UINT64_MAX;
    }
}

static void set_u(frange *r, fl_col c, uint64_t lo, uint64_t hi)
{
    if (lo > hi) {
        r->never = 1;
        return;
    }
    r->set[c] = 1;
    r->lo[c] = lo;
    r->hi[c] = hi;
}

static void set_a(frange *r, fl_col c, fl_addr lo, fl_addr hi)
{
    r->set[c] = 1;
    r->alo[c] = lo;
    r->ahi[c] = hi;
}

static fl_addr prefix_last(const fl_prefix *p)
{
    fl_addr a = p->addr;
    unsigned len = p->len;

    if (len < 64) {
        a.hi |= len == 0 ? UINT64_MAX : UINT64_MAX >> len;
        a.lo = UINT64_MAX;
    } else if (len < 128) {
        a.lo |= len == 64 ? UINT64_MAX : UINT64_MAX >> (len - 64);
    }
    return a;
}

static int is_addr(fl_col c) { return fl_col_get(c)->kind == FL_KIND_ADDR; }

static fl_rc ranges_of(const fnode *n, frange *r)
{
    memset(r, 0, sizeof *r);
    switch (n->kind) {
    case FN_TRUE:
        return FL_OK;
    case FN_FALSE:
        r->never = 1;
        return FL_OK;
    case FN_CMP: {
        uint64_t v = n->val, mx = kmax(fl_col_get(n->col)->kind);
        if (n->shift || n->mask != UINT64_MAX || fl_col_get(n->col)->kind == FL_KIND_TIME)
            return FL_OK;
        switch (n->op) {
        case OP_EQ: set_u(r, n->col, v, v); break;
        case OP_LT: if (v == 0) r->never = 1; else set_u(r, n->col, 0, v - 1); break;
        case OP_LE: set_u(r, n->col, 0, v); break;
        case OP_GT: if (v >= mx) r->never = 1; else set_u(r, n->col, v + 1, mx); break;
        case OP_GE: set_u(r, n->col, v, mx); break;
        case OP_ALL: set_u(r, n->col, v, mx); break;
        case OP_ANY: break;
        }
        return FL_OK;
    }
    case FN_SET:
        if (n->nset)
            set_u(r, n->col, n->set[0], n->set[n->nset - 1]);
        return FL_OK;
    case FN_PREFIX:
        /* the low end in nfdump's space too: ::a.b.c.d also matches */
        set_a(r, n->col, flt_compat_prefix(n->pfx).addr, prefix_last(&n->pfx));
        return FL_OK;
    case FN_ASET: {
        fl_addr lo = {UINT64_MAX, UINT64_MAX}, hi = {0, 0};
        for (uint32_t i = 0; i < n->nhosts; i++) {
            if (fl_addr_cmp(n->hosts[i], lo) < 0) lo = n->hosts[i];
            if (fl_addr_cmp(n->hosts[i], hi) > 0) hi = n->hosts[i];
        }
        for (uint32_t i = 0; i < n->nhosts; i++)
            if (fl_addr_cmp(n->chosts[i], lo) < 0) lo = n->chosts[i];
        for (uint32_t i = 0; i < n->nnets; i++) {
            fl_addr l = n->cnets[i].addr, h = prefix_last(&n->nets[i]);
            if (fl_addr_cmp(l, lo) < 0) lo = l;
            if (fl_addr_cmp(h, hi) > 0) hi = h;
        }
        set_a(r, n->col, lo, hi);
        return FL_OK;
    }
    case FN_FAMILY:
        if (n->val == 4)
            set_a(r, n->col, fl_addr_from_v4(0), fl_addr_from_v4(UINT32_MAX));
        return FL_OK;
    case FN_CALC:
    case FN_NOT:
        return FL_OK;
    case FN_AND:
    case FN_OR: {
        frange *k = malloc(sizeof *k);
        int first = 1;
        if (k == NULL)
            return FL_ENOMEM;
        if (n->kind == FN_OR)
            r->never = 1;
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (ranges_of(n->kids[i], k) != FL_OK) {
                free(k);
                return FL_ENOMEM;
            }
            if (n->kind == FN_AND) {
                if (k->never)
                    r->never = 1;
                for (int c = 0; c < FL_COL_COUNT; c++) {
                    if (!k->set[c])
                        continue;
                    if (!r->set[c]) {
                        r->set[c] = 1;
                        r->lo[c] = k->lo[c]; r->hi[c] = k->hi[c];
                        r->alo[c] = k->alo[c]; r->ahi[c] = k->ahi[c];
                    } else if (is_addr((fl_col)c)) {
                        if (fl_addr_cmp(k->alo[c], r->alo[c]) > 0) r->alo[c] = k->alo[c];
                        if (fl_addr_cmp(k->ahi[c], r->ahi[c]) < 0) r->ahi[c] = k->ahi[c];
                        if (fl_addr_cmp(r->alo[c], r->ahi[c]) > 0) r->never = 1;
                    } else {
                        if (k->lo[c] > r->lo[c]) r->lo[c] = k->lo[c];
                        if (k->hi[c] < r->hi[c]) r->hi[c] = k->hi[c];
                        if (r->lo[c] > r->hi[c]) r->never = 1;
                    }
                }
            } else {
                if (k->never)
                    continue; /* contributes no flows */
                if (first) {
                    memcpy(r, k, sizeof *r);
                    first = 0;
                    continue;
                }
                for (int c = 0; c < FL_COL_COUNT; c++) {
                    if (!r->set[c])
                        continue;
                    if (!k->set[c]) {
                        r->set[c] = 0;
                    } else if (is_addr((fl_col)c)) {
                        if (fl_addr_cmp(k->alo[c], r->alo[c]) < 0) r->alo[c] = k->alo[c];
                        if (fl_addr_cmp(k->ahi[c], r->ahi[c]) > 0) r->ahi[c] = k->ahi[c];
                    } else {
                        if (k->lo[c] < r->lo[c]) r->lo[c] = k->lo[c];
                        if (k->hi[c] > r->hi[c]) r->hi[c] = k->hi[c];
                    }
                }
            }
        }
        free(k);
        return FL_OK;
    }
    }
    return FL_OK;
}

fl_rc flt_finish(fl_filter *f)
{
    fnode *r;

    flags_parity(f->root, 0);
    r = simplify(f, f->root);

    if (r == NULL)
        return FL_ENOMEM;
    f->root = r;
    f->depth = depth_of(r);
    return ranges_of(r, &f->rng);
}

static void mark_col(uint64_t *mask, fl_col c)
{
    mask[c / 64] |= (uint64_t)1 << (c % 64);
}

static void columns_of(const fnode *n, uint64_t *mask)
{
    switch (n->kind) {
    case FN_CMP:
    case FN_SET:
    case FN_PREFIX:
    case FN_ASET:
    case FN_FAMILY:
        mark_col(mask, n->col);
        break;
    case FN_CALC:
        mark_col(mask, FL_COL_TIME_FIRST);
        mark_col(mask, FL_COL_TIME_LAST);
        mark_col(mask, FL_COL_BYTES);
        mark_col(mask, FL_COL_PACKETS);
        break;
    default:
        break;
    }
    for (uint32_t i = 0; i < n->nkids; i++)
        columns_of(n->kids[i], mask);
}

void fl_filter_columns(const fl_filter *f, uint64_t *mask)
{
    if (f != NULL && mask != NULL)
        columns_of(f->root, mask);
}

int fl_filter_is_all(const fl_filter *f)
{
    return f != NULL && f->root->kind == FN_TRUE;
}

fl_filter_urange fl_filter_col_range(const fl_filter *f, fl_col c)
{
    fl_filter_urange u = {0, 0, UINT64_MAX};

    if (f == NULL || (unsigned)c >= FL_COL_COUNT || is_addr(c))
        return u;
    if (f->rng.set[c]) {
        u.set = 1;
        u.lo = f->rng.lo[c];
        u.hi = f->rng.hi[c];
    }
    return u;
}

void fl_filter_ranges_get(const fl_filter *f, fl_filter_ranges *r)
{
    memset(r, 0, sizeof *r);
    r->time.hi = UINT64_MAX;
    if (f == NULL)
        return;
    r->never = f->rng.never;
    r->exporter = fl_filter_col_range(f, FL_COL_EXPORTER);
    r->proto = fl_filter_col_range(f, FL_COL_PROTO);
    r->src_port = fl_filter_col_range(f, FL_COL_SRC_PORT);
    r->dst_port = fl_filter_col_range(f, FL_COL_DST_PORT);
    r->src_addr.set = f->rng.set[FL_COL_SRC_ADDR];
    r->src_addr.lo = f->rng.alo[FL_COL_SRC_ADDR];
    r->src_addr.hi = f->rng.ahi[FL_COL_SRC_ADDR];
    r->dst_addr.set = f->rng.set[FL_COL_DST_ADDR];
    r->dst_addr.lo = f->rng.alo[FL_COL_DST_ADDR];
    r->dst_addr.hi = f->rng.ahi[FL_COL_DST_ADDR];
}

/* ------------------------------------------------------------------ */
/* Explain                                                             */
/* ------------------------------------------------------------------ */

typedef struct out {
    char *buf;
    size_t len, need;
} out;

__attribute__((format(printf, 2, 3)))
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t room = o->need < o->len ? o->len - o->need : 0;

    va_start(ap, fmt);
    n = vsnprintf(room ? o->buf + o->need : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->need += (size_t)n;
}

static const char *op_str(fop op)
{
    switch (op) {
    case OP_EQ: return "=";
    case OP_LT: return "<";
    case OP_GT: return ">";
    case OP_LE: return "<=";
    case OP_GE: return ">=";
    case OP_ALL: return "has-all-bits";
    case OP_ANY: return "has-any-bit";
    }
    return "?";
}

static void put_val(out *o, fl_col c, uint64_t v)
{
    if (fl_col_get(c)->kind == FL_KIND_MAC) {
        char m[FL_MAC_STRLEN];
        fl_mac_format(v, m, sizeof m);
        put(o, "%s", m);
    } else if (c == FL_COL_TCP_FLAGS) {
        put(o, "0x%02llx", (unsigned long long)v);
    } else {
        put(o, "%llu", (unsigned long long)v);
    }
}

static void put_pfx(out *o, const fl_prefix *p)
{
    char b[FL_ADDR_STRLEN + 8];

    if (p->len == 128) {
        fl_addr_format(p->addr, b, sizeof b);
    } else {
        fl_prefix_format(p, b, sizeof b);
    }
    put(o, "%s", b);
}

static void explain_node(out *o, const fnode *n, int ind)
{
    const char *cn = fl_col_get(n->col)->name;

    put(o, "%*s", ind * 2, "");
    switch (n->kind) {
    case FN_TRUE: put(o, "TRUE"); break;
    case FN_FALSE: put(o, "FALSE"); break;
    case FN_AND: put(o, "AND"); break;
    case FN_OR: put(o, "OR"); break;
    case FN_NOT: put(o, "NOT"); break;
    case FN_CMP:
        if (n->shift || n->mask != UINT64_MAX)
            put(o, "(%s >> %u) & 0x%llx %s ", cn, n->shift, (unsigned long long)n->mask,
                op_str(n->op));
        else
            put(o, "%s %s ", cn, op_str(n->op));
        put_val(o, n->col, n->val);
        break;
    case FN_SET:
        put(o, "%s in {", cn);
        for (uint32_t i = 0; i < n->nset && i < 16; i++) {
            put(o, i ? ", " : "");
            put_val(o, n->col, n->set[i]);
        }
        if (n->nset > 16)
            put(o, ", ... %u more", n->nset - 16);
        put(o, "}");
        break;
    case FN_PREFIX:
        put(o, "%s %s ", cn, n->pfx.len == 128 ? "=" : "in");
        put_pfx(o, &n->pfx);
        break;
    case FN_ASET: {
        uint32_t shown = 0;
        put(o, "%s in [", cn);
        for (uint32_t i = 0; i < n->nhosts && shown < 16; i++, shown++) {
            char b[FL_ADDR_STRLEN];
            fl_addr_format(n->hosts[i], b, sizeof b);
            put(o, "%s%s", shown ? ", " : "", b);
        }
        for (uint32_t i = 0; i < n->nnets && shown < 16; i++, shown++) {
            put(o, shown ? ", " : "");
            put_pfx(o, &n->nets[i]);
        }
        if (n->nhosts + n->nnets > shown)
            put(o, ", ... %u more", n->nhosts + n->nnets - shown);
        put(o, "]");
        break;
    }
    case FN_FAMILY:
        put(o, "%s is ipv%llu", cn, (unsigned long long)n->val);
        break;
    case FN_CALC: {
        static const char *const names[] = {
            "duration(time_last - time_first, ms)", "pps(1000 * packets / duration)",
            "bps(8000 * bytes / duration)", "bpp(bytes / packets)"};
        put(o, "%s %s %llu", names[n->calc], op_str(n->op), (unsigned long long)n->val);
        break;
    }
    }
    if (n->text != NULL) {
        put(o, "    # ");
        for (const char *s = n->text; *s; s++)
            put(o, "%c", (*s == '\n' || *s == '\t' || *s == '\r') ? ' ' : *s);
    }
    put(o, "\n");
    for (uint32_t i = 0; i < n->nkids; i++)
        explain_node(o, n->kids[i], ind + 1);
}

size_t fl_filter_explain(const fl_filter *f, char *buf, size_t len)
{
    out o = {buf, len, 0};
    int any = 0;

    if (len > 0)
        buf[0] = '\0';
    if (f == NULL)
        return 0;
    put(&o, "plan:\n");
    explain_node(&o, f->root, 1);
    put(&o, "ranges:\n");
    if (f->rng.never) {
        put(&o, "  never matches\n");
        any = 1;
    }
    for (int c = 0; c < FL_COL_COUNT && !f->rng.never; c++) {
        if (!f->rng.set[c])
            continue;
        any = 1;
        if (is_addr((fl_col)c)) {
            char a[FL_ADDR_STRLEN], b[FL_ADDR_STRLEN];
            fl_addr_format(f->rng.alo[c], a, sizeof a);
            fl_addr_format(f->rng.ahi[c], b, sizeof b);
            put(&o, "  %s [%s, %s]\n", fl_col_get((fl_col)c)->name, a, b);
        } else {
            put(&o, "  %s [", fl_col_get((fl_col)c)->name);
            put_val(&o, (fl_col)c, f->rng.lo[c]);
            put(&o, ", ");
            put_val(&o, (fl_col)c, f->rng.hi[c]);
            put(&o, "]\n");
        }
    }
    if (!any)
        put(&o, "  (none)\n");
    return o.need;
}
