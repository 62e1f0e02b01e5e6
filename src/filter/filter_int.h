/*
 * filter/filter_int.h — private to src/filter: the plan tree shared by the
 * parser (parse.c), the evaluator (eval.c) and the explainer (plan.c).
 *
 * The parser builds this tree directly: inner nodes are AND / OR / NOT,
 * leaves are predicates on one column (or on a computed value). Every node
 * lives in the filter's arena; nothing is freed on its own.
 */
#ifndef FL_FILTER_INT_H
#define FL_FILTER_INT_H

#include "filter.h"

typedef enum fnode_kind {
    FN_TRUE,
    FN_FALSE,
    FN_AND,
    FN_OR,
    FN_NOT,
    FN_CMP,    /* (col >> shift) & mask  OP  val, integer columns */
    FN_SET,    /* col in set[] (sorted, unique) */
    FN_PREFIX, /* addr col within pfx */
    FN_ASET,   /* addr col within any of hosts[] (sorted) or nets[] */
    FN_FAMILY, /* addr col is IPv4 (val 4) or IPv6 (val 6) */
    FN_CALC    /* computed value OP val */
} fnode_kind;

typedef enum fop {
    OP_EQ,
    OP_LT,
    OP_GT,
    OP_LE,
    OP_GE,
    OP_ALL, /* (v & val) == val: every bit of val set */
    OP_ANY  /* (v & val) != 0: some bit of val set (see plan.c: nfdump's
               `not flags X` means "none of X") */
} fop;

typedef enum fcalc {
    CALC_DURATION, /* time_last - time_first, ms */
    CALC_PPS,      /* 1000 * packets / duration, 0 when duration is 0 */
    CALC_BPS,      /* 8000 * bytes / duration, 0 when duration is 0 */
    CALC_BPP       /* bytes / packets, 0 when packets is 0 */
} fcalc;

typedef struct fnode fnode;
struct fnode {
    fnode_kind kind;
    fop op;
    fcalc calc;
    fl_col col;
    uint8_t shift;
    uint64_t mask; /* applied after shift; UINT64_MAX = none */
    uint64_t val;
    fl_prefix pfx;
    uint64_t *set;
    uint32_t nset;
    uint64_t *bitmap; /* FN_SET on U8/U16 columns: one bit per value */
    fl_addr *hosts;
    uint32_t nhosts;
    fl_prefix *nets;
    uint32_t nnets;
    fl_addr *chosts;   /* hosts/nets in nfdump's address space (see eval.c) */
    fl_prefix *cnets;
    fl_addr *ilo, *ihi; /* FN_ASET as sorted disjoint intervals, nfdump space */
    uint32_t nivl;
    uint32_t *v4lo, *v4hi; /* the part of those intervals below 2^32 (IPv4) */
    uint32_t nv4;
    uint32_t nkids;
    fnode **kids;
    const char *text; /* the primitive as written, for explain */
};

/* Per-column intervals a matching flow must lie in (see fl_filter_ranges). */
typedef struct frange {
    int never;
    uint8_t set[FL_COL_COUNT];
    uint64_t lo[FL_COL_COUNT], hi[FL_COL_COUNT];
    fl_addr alo[FL_COL_COUNT], ahi[FL_COL_COUNT];
} frange;

struct fl_filter {
    fl_arena *arena;
    fnode *root;
    uint32_t nodes;
    uint32_t depth; /* nesting of OR/NOT, sizes the exec scratch */
    frange rng;
};

/* nfdump keeps IPv4 as ::a.b.c.d (upper 96 bits zero) where flowlens keeps
 * ::ffff:a.b.c.d; address predicates compare in nfdump's space so that
 * results are identical (an IPv4 filter also matches an IPv6 ::a.b.c.d). */
static inline fl_addr flt_compat(fl_addr a)
{
    if (a.hi == 0 && (a.lo >> 32) == 0xffffu)
        a.lo &= 0xffffffffu;
    return a;
}
static inline fl_prefix flt_compat_prefix(fl_prefix p)
{
    if (p.len >= 96)
        p.addr = flt_compat(p.addr);
    return p;
}

/* plan.c: simplify the parsed tree in place (flatten, fold constants,
 * order AND children by cost, build set bitmaps), then compute depth and
 * ranges. FL_ENOMEM on allocation failure. */
fl_rc flt_finish(fl_filter *f);

#endif
