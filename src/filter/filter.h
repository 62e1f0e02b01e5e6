/*
 * filter/filter.h — nfdump's filter language, compiled to column predicates.
 *
 * A filter text in nfdump 1.7 syntax ("src net 10.0/16 and port in [80 443]
 * and not flags R") is parsed into a tree whose leaves are predicates on
 * one schema column each (or on a value computed from a few columns: pps,
 * bps, bpp, duration). Evaluation runs the tree node by node over whole
 * columns of an fl_batch with a selection vector: a leaf keeps the selected
 * rows its predicate accepts, AND narrows the selection child by child, OR
 * merges what its children accept, NOT complements. No flow is ever walked
 * through the tree one at a time.
 *
 * Every keyword nfdump knows either maps to a schema column or fails to
 * compile with an error naming it (never a silent false). Errors carry the
 * source ("filter" or the include file), the 1-based line and the 0-based
 * byte offset of the offending token in that source.
 *
 * Thread model: a compiled fl_filter is immutable and may be shared; each
 * thread evaluates through its own fl_filter_exec (scratch selections).
 */
#ifndef FL_FILTER_H
#define FL_FILTER_H

#include "core/core.h"

typedef struct fl_filter fl_filter;
typedef struct fl_filter_exec fl_filter_exec;

/*
 * Maps an exporter's address (the `router ip ADDR` primitive) to exporter
 * ids. Writes up to max ids into ids and returns how many exist (may be
 * more than max: the compiler then fails with FL_ELIMIT). 0 = no exporter
 * has that address (the primitive then matches nothing).
 */
typedef size_t (*fl_filter_router_fn)(void *ctx, fl_addr addr, uint16_t *ids, size_t max);

typedef struct fl_filter_opts {
    /* Directory of filter files: `@include NAME` reads NAME from here and
     * `%filters%` in an include name expands to it. NULL: includes are an
     * error. Includes may not leave this directory. */
    const char *filters_dir;
    /* Name of the top-level source in messages; NULL means "filter". */
    const char *source_name;
    /* Resolver for `router ip`; NULL: `router ip` is an error. */
    fl_filter_router_fn router;
    void *router_ctx;
} fl_filter_opts;

/* Limits (hard maxima; exceeding one is FL_ELIMIT with a position). */
#define FL_FILTER_MAX_TEXT (4u << 20)     /* bytes of filter text, includes counted */
#define FL_FILTER_MAX_INCLUDE_DEPTH 8     /* nested @include levels */
#define FL_FILTER_MAX_NODES 200000        /* tree nodes */
#define FL_FILTER_MAX_DEPTH 256           /* nesting of ( ) and not */
#define FL_FILTER_MAX_LIST 1000000        /* entries of one `in [list]` */

/*
 * Compile text[0..len) (need not be NUL-terminated). opts may be NULL.
 * On success *out owns everything it needs (text may be freed); free it
 * with fl_filter_free. An empty filter (only blanks/comments) matches all.
 * On failure returns FL_EPARSE (syntax), FL_ERANGE (number out of range),
 * FL_EINVAL (bad address/value), FL_EUNSUPPORTED (an nfdump keyword with
 * no flowlens column), FL_ENOTFOUND/FL_EIO (include file), FL_ELIMIT
 * (a limit above, include depth or cycle) and fills e with where/line/
 * offset and a message such as
 *   unknown keyword 'prot' (did you mean 'proto'?)
 */
fl_rc fl_filter_compile(const char *text, size_t len, const fl_filter_opts *opts,
                        fl_filter **out, fl_err *e);
/* Read a filter file (nfdump -f) and compile it; the file is the top-level
 * source and is named in messages by its path. */
fl_rc fl_filter_compile_file(const char *path, const fl_filter_opts *opts, fl_filter **out,
                             fl_err *e);
void fl_filter_free(fl_filter *f);

/* Per-thread evaluation scratch for f (which must outlive it). NULL on
 * allocation failure. */
fl_filter_exec *fl_filter_exec_new(const fl_filter *f);
void fl_filter_exec_free(fl_filter_exec *x);

/*
 * Narrow sel to the rows of b that match. sel holds ascending row indexes
 * of b on entry (fl_sel_all for the whole batch) and the matching subset
 * on return; sel->cap must be >= b->n. FL_ENOMEM if scratch cannot grow,
 * FL_EINVAL if sel does not fit b.
 */
fl_rc fl_filter_eval(fl_filter_exec *x, const fl_batch *b, fl_sel *sel);

/*
 * One-shot, thread-safe evaluation: f is passed as `filter` (a const
 * fl_filter *), scratch is allocated for the call. The signature is the
 * query module's fl_select_fn, so a compiled filter plugs in as
 *   spec.select = fl_filter_select; spec.select_ctx = f;
 * Errors as fl_filter_eval, with a message in e (may be NULL).
 */
fl_rc fl_filter_select(void *filter, const fl_batch *b, fl_sel *sel, fl_err *e);

/* The columns the filter reads, as bits of mask[FL_PRESENT_WORDS] (bit c
 * of word c / 64 set), OR-ed into mask: a backend decodes at least these. */
void fl_filter_columns(const fl_filter *f, uint64_t *mask);

/* True when the filter matches every flow (empty filter or `any`). */
int fl_filter_is_all(const fl_filter *f);

/*
 * Pushdown ranges: for each listed column, an inclusive [lo, hi] interval
 * that holds the column's value of every flow the filter can match. A
 * store skips a chunk whose zone map [min, max] does not meet an interval
 * whose `set` is 1. Derived conservatively from the tree: AND intersects,
 * OR takes the hull of two constrained sides (unconstrained if either side
 * is not), NOT and computed values constrain nothing. `never` = the filter
 * matches no flow at all (e.g. `proto 6 and proto 17`).
 * nfdump's language has no time primitive, so `time` is always unset here;
 * the query layer fills it from its -t window before pushing it down.
 */
typedef struct fl_filter_urange {
    int set;
    uint64_t lo, hi;
} fl_filter_urange;

typedef struct fl_filter_arange {
    int set;
    fl_addr lo, hi; /* in fl_addr order (IPv4-mapped addresses sort together) */
} fl_filter_arange;

typedef struct fl_filter_ranges {
    int never;
    fl_filter_urange time;      /* time_first/time_last window, epoch ms */
    fl_filter_urange exporter;  /* FL_COL_EXPORTER */
    fl_filter_urange proto;     /* FL_COL_PROTO */
    fl_filter_urange src_port;  /* FL_COL_SRC_PORT */
    fl_filter_urange dst_port;  /* FL_COL_DST_PORT */
    fl_filter_arange src_addr;  /* FL_COL_SRC_ADDR */
    fl_filter_arange dst_addr;  /* FL_COL_DST_ADDR */
} fl_filter_ranges;

void fl_filter_ranges_get(const fl_filter *f, fl_filter_ranges *r);
/* Interval of any numeric column (U8..U64, TIME); set = 0 when the filter
 * does not constrain it. */
fl_filter_urange fl_filter_col_range(const fl_filter *f, fl_col c);

/*
 * Address terms for pruning (conservative, like the ranges): every flow
 * the filter matches has, for each term, an address in one of the term's
 * columns (one column, or src_addr and dst_addr for `host`/`ip`) lying in
 * one of its intervals — in nfdump's address space, where IPv4 is
 * ::a.b.c.d (a stored ::ffff:a.b.c.d reads as that, so an IPv4 filter
 * also matches IPv6 ::a.b.c.d). Intervals are inclusive, sorted, disjoint;
 * long lists are coalesced into hulls. Writes at most max terms to out and
 * returns how many; *never (may be NULL) is set when no flow can match.
 */
#define FL_FILTER_ATERM_MAX 64
typedef struct fl_filter_aterm {
    fl_col col[2];
    uint8_t ncols;
    uint32_t n;
    fl_addr lo[FL_FILTER_ATERM_MAX], hi[FL_FILTER_ATERM_MAX];
} fl_filter_aterm;
size_t fl_filter_addr_terms(const fl_filter *f, fl_filter_aterm *out, size_t max, int *never);
/* The number of address terms fl_filter_addr_terms gives when f matches
 * exactly the flows that satisfy every one of them (a conjunction of
 * host/net/ip-list primitives, `host X` and `ip in [...]` included, no
 * interval list coalesced), else 0: a store that applies all those terms
 * exactly needs no evaluation of f after it. */
int fl_filter_addr_exact(const fl_filter *f);

/*
 * Print the compiled plan: one node per line, indented, then the pushdown
 * ranges. The format is stable (golden tests compare it). Returns the
 * length it needed (like snprintf); buf is always NUL-terminated.
 */
size_t fl_filter_explain(const fl_filter *f, char *buf, size_t len);

#endif
