/*
 * query/exec.c — running a query spec over a source.
 *
 * Shape: N worker threads pull batches from the source under one mutex
 * (backends need not be thread-safe), narrow each batch to a selection
 * vector (window, then the filter hook), and fold the selected rows into
 * thread-private state (totals, small-key arrays, bucket arrays for
 * series, a list of flows) or, for stats, aggregate and topseries, into
 * the one partitioned hash table of the query (agg.c): a window of rows
 * at a time, sorted by partition, a partition's rows under its lock.
 * After the scan the private states are merged and the rows ordered.
 * Nothing on the per-row path allocates; locks are taken per partition
 * and window, not per row.
 */
#include "query_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BUDGET ((size_t)1 << 30)
#define MAX_THREADS 64
#define MAX_BUCKETS (1u << 20)
#define WINDOW_ROWS 4096u /* rows folded at a time (per-row scratch size) */
_Static_assert(WINDOW_ROWS <= 65536, "fold order indexes are 16-bit");

void fl_query_spec_init(fl_query_spec *s)
{
    memset(s, 0, sizeof *s);
    s->op = FL_QOP_LIST;
    s->window_mode = FL_WIN_INSIDE;
    s->order = FL_ORDER_NONE;
    s->top = 10;
    s->metric = FL_METRIC_BYTES;
}

static fl_rc mem_next(void *ctx, fl_batch *b, fl_err *e)
{
    fl_mem_source *m = ctx;
    const fl_batch *src;
    size_t i = __atomic_fetch_add(&m->pos, 1, __ATOMIC_RELAXED);
    (void)e;

    if (i >= m->n)
        return FL_OK;
    src = m->batches[i];
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (m->cols == NULL || (m->cols[c / 64] >> (c % 64) & 1))
            memcpy(b->col[c], src->col[c], (size_t)fl_col_get((fl_col)c)->width * src->n);
    memcpy(b->present, src->present, sizeof b->present);
    b->n = src->n;
    return FL_OK;
}

static double mem_progress(void *ctx)
{
    const fl_mem_source *m = ctx;
    size_t pos = __atomic_load_n(&m->pos, __ATOMIC_RELAXED);
    return m->n ? (double)(pos < m->n ? pos : m->n) / (double)m->n : 1.0;
}

fl_source fl_mem_source_init(fl_mem_source *m, fl_batch **batches, size_t n)
{
    fl_source s;

    memset(&s, 0, sizeof s);
    m->batches = batches;
    m->n = n;
    m->pos = 0;
    m->cols = NULL;
    s.ctx = m;
    s.next = mem_next;
    s.progress = mem_progress;
    s.parallel = 1;
    return s;
}

/*
 * Only what the question and its output need: times (window, first seen
 * and duration), packets and bytes (scaled by the sampling rate), the
 * reverse counters where an order or a total adds them (every op but
 * series), the protocol where a summary breaks totals down by it, and the
 * key columns. TCP flags are OR-ed into counters but no output prints
 * them, so they are not read. A column a segment lacks costs nothing.
 */
void fl_query_columns(const fl_query_spec *s, uint64_t mask[FL_PRESENT_WORDS])
{
    static const fl_col always[] = {FL_COL_TIME_FIRST, FL_COL_TIME_LAST, FL_COL_PACKETS,
                                    FL_COL_BYTES, FL_COL_SAMPLING_RATE, FL_COL_FLOWS};

    memset(mask, 0, sizeof(uint64_t) * FL_PRESENT_WORDS);
    if (s->op == FL_QOP_LIST) {
        for (int c = 0; c < FL_COL_COUNT; c++)
            mask[c / 64] |= (uint64_t)1 << (c % 64);
        return;
    }
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        mask[always[i] / 64] |= (uint64_t)1 << (always[i] % 64);
    /* a series counts a flow in the step it starts in: unless it is spread
     * over its duration (linear) or the window looks at its end, the end
     * time is never read, so it is not decoded */
    if ((s->op == FL_QOP_SERIES || s->op == FL_QOP_TOPSERIES) && !s->linear &&
        s->window_mode == FL_WIN_START)
        mask[FL_COL_TIME_LAST / 64] &= ~((uint64_t)1 << (FL_COL_TIME_LAST % 64));
    if (s->op != FL_QOP_SERIES) {
        mask[FL_COL_OUT_PACKETS / 64] |= (uint64_t)1 << (FL_COL_OUT_PACKETS % 64);
        mask[FL_COL_OUT_BYTES / 64] |= (uint64_t)1 << (FL_COL_OUT_BYTES % 64);
    }
    if (s->op == FL_QOP_SUMMARY || s->per_proto)
        mask[FL_COL_PROTO / 64] |= (uint64_t)1 << (FL_COL_PROTO % 64);
    for (unsigned k = 0; k < s->nkeys && k < FL_QUERY_MAX_KEYS; k++)
        for (unsigned j = 0; j < s->keys[k].ncols && j < 2; j++)
            mask[s->keys[k].col[j] / 64] |= (uint64_t)1 << (s->keys[k].col[j] % 64);
}

/*
 * Only aggregations: -s of one address folds each row group's distinct
 * addresses once (dictionary codes), so its table sees few probes, and
 * reading the copies' 4096-row blocks cost more than the smaller table
 * saved (50 M flows, -s srcip -n 10: 1.04 CPU s against 0.94). An
 * aggregation probes once per row: -A srcip,dstip -n 10 went from
 * 4.4 CPU s and 880 MB to 2.9 CPU s and 220 MB.
 */
int fl_query_order_col(const fl_query_spec *s)
{
    unsigned n = s->op == FL_QOP_AGGREGATE ? s->nkeys : 0;

    if (s->limit == 0)
        return -1;
    for (unsigned k = 0; k < n && k < FL_QUERY_MAX_KEYS; k++) {
        const fl_qfield *f = &s->keys[k];
        if (f->ncols == 1 && !f->has_prefix &&
            (f->col[0] == FL_COL_SRC_ADDR || f->col[0] == FL_COL_DST_ADDR))
            return (int)f->col[0];
    }
    return -1;
}

int fl_query_sums_col(const fl_query_spec *s)
{
    const fl_qfield *f = &s->keys[0];

    if (s->op != FL_QOP_STATS || s->per_proto || s->nkeys != 1 || f->ncols != 1 ||
        s->select != NULL)
        return -1;
    return f->col[0] == FL_COL_SRC_ADDR || f->col[0] == FL_COL_DST_ADDR ? (int)f->col[0] : -1;
}

int fl_query_host_sums_ok(const fl_query_spec *s)
{
    const fl_qfield *f = &s->keys[0];

    if (s->op == FL_QOP_SUMMARY)
        return 1;
    return s->op == FL_QOP_STATS && !s->per_proto && s->nkeys == 1 && f->ncols == 1 &&
           (f->col[0] == FL_COL_PROTO || f->col[0] == FL_COL_EXPORTER);
}

/* The key part of spec's table that is column c (fl_query_order_col). */
static int order_key_part(const fl_query_spec *s, int c)
{
    unsigned n = s->nkeys;

    for (unsigned k = 0; k < n && k < FL_QUERY_MAX_KEYS; k++)
        if (s->keys[k].ncols == 1 && !s->keys[k].has_prefix && (int)s->keys[k].col[0] == c)
            return (int)k;
    return -1;
}

uint64_t fl_qrow_order_value(const fl_qcounters *c, fl_order o)
{
    uint64_t dur = (uint64_t)(c->last - c->first);
    uint64_t pk = c->packets + c->out_packets, by = c->bytes + c->out_bytes;

    switch (o) {
    case FL_ORDER_FLOWS: return c->flows;
    case FL_ORDER_PACKETS: return pk;
    case FL_ORDER_BYTES: return by;
    case FL_ORDER_PPS: return dur ? 1000 * pk / dur : 0;
    case FL_ORDER_BPS: return dur ? 8000 * by / dur : 0;
    case FL_ORDER_BPP: return pk ? by / pk : 0;
    case FL_ORDER_TSTART: return (uint64_t)c->first;
    case FL_ORDER_TEND: return (uint64_t)c->last;
    case FL_ORDER_NONE: return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Per-thread state                                                    */
/* ------------------------------------------------------------------ */

typedef struct worker {
    struct run *run;
    pthread_t tid;
    fl_batch *b;
    fl_sel *sel;
    fl_qcounters total;
    uint64_t scanned;
    int acc_total; /* this batch's totals are left to fold_codes */
    uint64_t proto_flows[4], proto_packets[4], proto_bytes[4];
    unsigned id;           /* 0..nthreads-1 */
    uint16_t *order;       /* fold scratch: window rows sorted by partition */
    fl_qcounters *buckets; /* series */
    double *bucket_bytes, *bucket_packets, *bucket_flows; /* series, linear */
    fl_batch *list;        /* list */
    uint64_t list_cut;     /* list with -c: order value of the last row kept */
    int has_cut;           /* ... once a compaction has filled -c rows */
    /* stats over one 8- or 16-bit column: counters indexed by the value,
     * no hashing (ports, protocol, ToS, masks, VLANs...) */
    fl_qcounters *small;
    uint32_t small_n;
    /* topseries, second pass of the two-pass plan: counters per (series,
     * step), series nseries-1 is Other; keys -> series index in ts_map */
    uint64_t *ts_flows, *ts_packets, *ts_bytes;
    /* stats over a column the source hands as dictionary codes: counters
     * per code of the current batch (acc[k] for the element's column k,
     * acc_cap entries each, charged to the table's budget), folded into
     * the table once per batch */
    fl_qcodes cd[FL_QCODES_MAX];
    unsigned ncd;
    fl_qcounters *acc[FL_QCODES_MAX];
    uint32_t acc_cap[FL_QCODES_MAX];
    /* ordered source: the floor read before asking for the batch being
     * folded (its rows are at least that), while inflight (under the
     * run's lock) */
    fl_addr lo;
    int inflight;
    /* per-batch scratch: counters, keys and hashes of the selected rows */
    fl_qcounters *cnt;
    fl_addr *keys;
    uint64_t *hash;
    fl_rc rc;
    fl_err err;
} worker;

typedef struct run {
    const fl_query_spec *spec;
    fl_source src;
    pthread_mutex_t lock;
    int done;        /* source exhausted or failed */
    int failed;
    size_t budget_per_thread;
    size_t nbuckets;
    fl_time bstart;
    unsigned nthreads;
    /* topseries, two-pass plan: the top keys found by the first pass, as
     * key -> series index + 1 (in the flows counter), read-only here */
    const agg_table *ts_map;
    size_t ts_nseries;
    /* stats, aggregate, one-pass topseries: the table all threads fold
     * into, NULL for the others */
    agg_ptable *pt;
    /* the workers' per-code counters (worker.acc), within the share of
     * the budget no partition of pt may take (agg_ptable_init caps each
     * at budget / (AGG_PARTS + 2)), so they never starve the table */
    agg_budget codes_budget;
    /* ordered source (fl_source.order_floor): the key part that is the
     * ordering address, or -1; the workers (for their floors); the best
     * top entries set aside so far (drained from pt, copied out) */
    int ord_key;
    struct worker *ws;
    struct ord_keep *keep;
} run;

/* Drain partition part of keys below the ordered source's floor when it
 * holds enough of them (holding its lock). */
static fl_rc part_drain(worker *w, agg_part *part);

static int proto_class(uint8_t p)
{
    return p == 6 ? 0 : p == 17 ? 1 : (p == 1 || p == 58) ? 2 : 3;
}

/* Rows [from, to) of the batch through the window, then the filter hook,
 * into w->sel. */
static fl_rc select_rows(worker *w, uint32_t from, uint32_t to)
{
    const fl_query_spec *s = w->run->spec;
    const fl_batch *b = w->b;
    fl_sel *sel = w->sel;
    uint32_t n = 0;

    if (s->start == 0 && s->end == 0) {
        for (uint32_t r = from; r < to; r++)
            sel->idx[n++] = r;
        sel->n = n;
    } else {
        const fl_time *tf = FL_TIMES(b, FL_COL_TIME_FIRST), *tl = FL_TIMES(b, FL_COL_TIME_LAST);
        for (uint32_t r = from; r < to; r++) {
            int keep;
            switch (s->window_mode) {
            case FL_WIN_INSIDE: keep = tf[r] >= s->start && tl[r] <= s->end; break;
            case FL_WIN_START: keep = tf[r] >= s->start && tf[r] < s->end; break;
            case FL_WIN_END: keep = tl[r] >= s->start && tl[r] < s->end; break;
            default: keep = tf[r] < s->end && tl[r] >= s->start; break;
            }
            sel->idx[n] = r;
            n += (uint32_t)keep;
        }
        sel->n = n;
    }
    if (s->select != NULL && sel->n > 0)
        return s->select(s->select_ctx, b, sel, &w->err);
    return FL_OK;
}

/*
 * srcip4/N and srcip6/N as nfdump applies them: it holds IPv4 as the
 * 128-bit value (0, a) and IPv6 as is, and masks whatever it holds — an
 * IPv4 mask on an IPv6 address clears low bits of its last 32 bits, an
 * IPv6 mask on an IPv4 address masks (0, a).
 */
static fl_addr mask_like_nfdump(fl_addr k, const fl_qfield *f)
{
    int v4 = fl_addr_is_v4(k);

    if (!f->v6) {
        uint32_t m = f->prefix ? ~0u << (32 - f->prefix) : 0;
        if (v4)
            return fl_addr_mask(k, 96u + f->prefix);
        k.lo = (k.lo & ~(uint64_t)0xffffffff) | ((uint32_t)k.lo & m);
        return k;
    }
    if (!v4)
        return fl_addr_mask(k, f->prefix);
    {
        fl_addr raw = {0, fl_addr_v4(k)};
        raw = fl_addr_mask(raw, f->prefix);
        return fl_addr_from_v4((uint32_t)raw.lo);
    }
}

/* Address values out[i * stride] (i < n) as the keys of field f. */
static void addr_keys(fl_addr *out, uint32_t n, unsigned stride, const fl_qfield *f,
                      int stat_keys)
{
    if (stat_keys)
        for (uint32_t i = 0; i < n; i++) {
            fl_addr *a = &out[i * stride];
            /* nfdump holds IPv4 as the 128-bit value (0, a), so for its
             * -s and -A the IPv6 "::" and "0.0.0.0" (and any ::a.b.c.d
             * and a.b.c.d) are one key; -s prints such keys as IPv4 */
            if (a->hi == 0 && (a->lo >> 32) == 0)
                *a = fl_addr_from_v4((uint32_t)a->lo);
        }
    if (f->has_prefix)
        for (uint32_t i = 0; i < n; i++)
            out[i * stride] = mask_like_nfdump(out[i * stride], f);
}

/*
 * Keys of field f (column c) for the selected rows into out[i * stride]:
 * one loop per column kind, so the per-row work is a load and a store.
 */
static void gather_keys(const fl_batch *b, const fl_sel *sel, fl_col c, const fl_qfield *f,
                        fl_addr *out, unsigned stride, int stat_keys)
{
    const uint32_t *idx = sel->idx;
    uint32_t n = sel->n;

    switch (fl_col_get(c)->kind) {
    case FL_KIND_ADDR: {
        const fl_addr *v = FL_ADDRS(b, c);
        for (uint32_t i = 0; i < n; i++)
            out[i * stride] = v[idx[i]];
        addr_keys(out, n, stride, f, stat_keys);
        return;
    }
#define GATHER(T)                                            \
    do {                                                     \
        const T *v = (const T *)b->col[c];                   \
        for (uint32_t i = 0; i < n; i++) {                   \
            out[i * stride].hi = 0;                          \
            out[i * stride].lo = (uint64_t)v[idx[i]];        \
        }                                                    \
    } while (0)
    case FL_KIND_U8: GATHER(uint8_t); return;
    case FL_KIND_U16: GATHER(uint16_t); return;
    case FL_KIND_U32: GATHER(uint32_t); return;
    case FL_KIND_U64:
    case FL_KIND_MAC: GATHER(uint64_t); return;
    case FL_KIND_TIME: GATHER(fl_time); return;
#undef GATHER
    }
}

/* The columns a row's counters come from. */
typedef struct counter_cols {
    const uint64_t *pk, *by, *opk, *oby;
    const uint32_t *rate;
    const fl_time *tf, *tl;
    const uint8_t *fl;
    const uint64_t *fw; /* flows per row (0 = 1), or NULL: one each */
    int scale; /* multiply by the sampling rate */
} counter_cols;

static counter_cols counter_cols_of(const worker *w)
{
    const fl_batch *b = w->b;
    counter_cols cc;

    cc.pk = FL_U64(b, FL_COL_PACKETS);
    cc.by = FL_U64(b, FL_COL_BYTES);
    cc.opk = FL_U64(b, FL_COL_OUT_PACKETS);
    cc.oby = FL_U64(b, FL_COL_OUT_BYTES);
    cc.rate = FL_U32(b, FL_COL_SAMPLING_RATE);
    cc.tf = FL_TIMES(b, FL_COL_TIME_FIRST);
    cc.tl = FL_TIMES(b, FL_COL_TIME_LAST);
    cc.fl = FL_U8(b, FL_COL_TCP_FLAGS);
    cc.fw = fl_batch_has(b, FL_COL_FLOWS) ? FL_U64(b, FL_COL_FLOWS) : NULL;
    cc.scale = !w->run->spec->no_scale && fl_batch_has(b, FL_COL_SAMPLING_RATE);
    return cc;
}

/* Counters of the selected rows, scaled by their sampling rate unless
 * asked not to, into the worker's scratch arrays. */
static void gather_counters(worker *w)
{
    const uint32_t *idx = w->sel->idx;
    uint32_t n = w->sel->n;
    const counter_cols cc = counter_cols_of(w);
    const uint64_t *pk = cc.pk, *by = cc.by, *opk = cc.opk, *oby = cc.oby;
    const uint32_t *rate = cc.rate;
    const fl_time *tf = cc.tf, *tl = cc.tl;
    const uint8_t *fl = cc.fl;
    int scale = cc.scale;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = idx[i];
        fl_qcounters *c = &w->cnt[i];
        uint64_t m = scale && rate[r] > 1 ? rate[r] : 1;
        c->flows = cc.fw && cc.fw[r] ? cc.fw[r] : 1;
        c->packets = pk[r] * m;
        c->bytes = by[r] * m;
        c->out_packets = opk[r] * m;
        c->out_bytes = oby[r] * m;
        c->first = tf[r];
        c->last = tl[r];
        c->tcp_flags = fl[r];
    }
}

static size_t budget_of(const fl_query_spec *s)
{
    return s->memory_budget ? s->memory_budget : DEFAULT_BUDGET;
}

/* "1024 MiB", or "256 KiB" for a budget under 1 MiB. */
static const char *budget_text(size_t b, char *buf, size_t len)
{
    if (b >= ((size_t)1 << 20))
        snprintf(buf, len, "%zu MiB", b >> 20);
    else
        snprintf(buf, len, "%zu KiB", b >> 10);
    return buf;
}

/* The message names the keys held when the scan stops (query_run). */
static fl_rc budget_error(worker *w, fl_rc rc)
{
    char bt[32];

    if (rc == FL_ELIMIT)
        return fl_err_set(&w->err, FL_ELIMIT, "query needs more memory than its budget of %s",
                          budget_text(budget_of(w->run->spec), bt, sizeof bt));
    return fl_err_set(&w->err, rc, "aggregation: %s", fl_strerror(rc));
}

/* Fold rows order[from, to) (all of partition p) under its lock. The
 * table is far larger than the caches for million-key questions, so each
 * probe's slot is prefetched a few rows ahead: the misses overlap instead
 * of stalling one by one. */
#define FOLD_AHEAD 20
static fl_rc fold_part(worker *w, agg_part *part, uint32_t from, uint32_t to)
{
    const uint16_t *ord = w->order;
    unsigned nk = w->run->pt->nk;

    for (uint32_t i = from; i < to && i < from + FOLD_AHEAD; i++) {
        const fl_addr *k = &w->keys[(size_t)ord[i] * nk];
        agg_prefetch(&part->t[agg_key_wide(k, nk)], w->hash[ord[i]]);
    }
    for (uint32_t i = from; i < to; i++) {
        uint32_t r = ord[i];
        const fl_addr *k = &w->keys[(size_t)r * nk];
        agg_table *t = &part->t[agg_key_wide(k, nk)];
        agg_entry *en;
        fl_rc rc;
        if (i + FOLD_AHEAD < to) {
            uint32_t r2 = ord[i + FOLD_AHEAD];
            const fl_addr *k2 = &w->keys[(size_t)r2 * nk];
            agg_prefetch(&part->t[agg_key_wide(k2, nk)], w->hash[r2]);
        }
        rc = agg_find(t, k, w->hash[r], &en);
        if (rc != FL_OK)
            return budget_error(w, rc);
        agg_add(t, en, &w->cnt[r]);
    }
    return FL_OK;
}

/* Fold the scratch keys (nk per row) with the scratch counters into the
 * shared table: rows sorted by partition (a counting sort of their
 * indexes), then each partition's run under its lock — first those free
 * at once, starting from a partition that depends on the thread, then
 * waiting for the rest. */
static fl_rc fold_keys(worker *w, uint32_t n)
{
    agg_ptable *pt = w->run->pt;
    unsigned nk = pt->nk;
    uint32_t start[AGG_PARTS + 1], pos[AGG_PARTS];
    uint64_t pending = 0;
    unsigned first = (w->id * AGG_PARTS / w->run->nthreads) % AGG_PARTS;
    uint64_t out = 0;
    fl_rc rc = FL_OK;

    memset(start, 0, sizeof start);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t h = agg_hash(&w->keys[(size_t)i * nk], nk);
        w->hash[i] = h;
        start[agg_part_of(h) + 1]++;
        out |= w->cnt[i].out_packets | w->cnt[i].out_bytes;
    }
    /* the tables hold no reverse counters until rows bring some */
    if (out && !__atomic_load_n(&pt->out, __ATOMIC_ACQUIRE) &&
        (rc = agg_ptable_add_out(pt)) != FL_OK)
        return budget_error(w, rc);
    for (unsigned p = 0; p < AGG_PARTS; p++) {
        if (start[p + 1])
            pending |= (uint64_t)1 << p;
        start[p + 1] += start[p];
        pos[p] = start[p];
    }
    for (uint32_t i = 0; i < n; i++)
        w->order[pos[agg_part_of(w->hash[i])]++] = (uint16_t)i;
    for (int wait = 0; wait < 2 && pending && rc == FL_OK; wait++)
        for (unsigned k = 0; k < AGG_PARTS && rc == FL_OK; k++) {
            unsigned p = (first + k) % AGG_PARTS;
            agg_part *part = &pt->part[p];
            if (!(pending >> p & 1))
                continue;
            if (wait)
                pthread_mutex_lock(&part->lock);
            else if (pthread_mutex_trylock(&part->lock) != 0)
                continue;
            rc = fold_part(w, part, start[p], start[p + 1]);
            if (rc == FL_OK && w->run->ord_key >= 0)
                rc = part_drain(w, part);
            pthread_mutex_unlock(&part->lock);
            pending &= ~((uint64_t)1 << p);
        }
    return rc;
}

static size_t bucket_of(const run *ru, fl_time t)
{
    if (t < ru->bstart)
        return 0;
    {
        size_t i = (size_t)((t - ru->bstart) / ru->spec->step);
        return i >= ru->nbuckets ? ru->nbuckets - 1 : i;
    }
}

/* Grow w->list to hold at least need rows (bounded by the budget). */
static fl_rc list_reserve(worker *w, uint32_t need)
{
    fl_batch *nb;
    uint32_t cap;
    size_t row_bytes = 0;

    if (w->list && w->list->cap >= need)
        return FL_OK;
    for (int c = 0; c < FL_COL_COUNT; c++)
        row_bytes += fl_col_get((fl_col)c)->width;
    cap = w->list ? w->list->cap : 4096;
    while (cap < need)
        cap *= 2;
    if ((size_t)cap * row_bytes > w->run->budget_per_thread)
        return fl_err_set(&w->err, FL_ELIMIT,
                          "flow listing needs more memory than its budget of %zu MiB; use -c to "
                          "limit the listing or narrow the window",
                          w->run->budget_per_thread >> 20);
    nb = fl_batch_new(cap);
    if (nb == NULL)
        return fl_err_set(&w->err, FL_ENOMEM, "out of memory growing the flow list");
    if (w->list) {
        for (int c = 0; c < FL_COL_COUNT; c++)
            memcpy(nb->col[c], w->list->col[c], (size_t)fl_col_get((fl_col)c)->width * w->list->n);
        memcpy(nb->present, w->list->present, sizeof nb->present);
        nb->n = w->list->n;
        fl_batch_free(w->list);
    }
    w->list = nb;
    return FL_OK;
}

static void copy_row(fl_batch *dst, uint32_t dr, const fl_batch *src, uint32_t sr)
{
    for (int c = 0; c < FL_COL_COUNT; c++) {
        size_t wd = fl_col_get((fl_col)c)->width;
        memcpy((unsigned char *)dst->col[c] + dr * wd, (const unsigned char *)src->col[c] + sr * wd,
               wd);
    }
}

static fl_rc finish_list(const fl_query_spec *s, fl_qresult *res, fl_batch *list);

/* A listing with -c keeps only what can still make the cut: once a
 * worker's list holds well over -c rows, order it as the final merge will
 * and keep the first -c (ties keep arrival order, as the merge does). */
/* Order value of row r of b as finish_list ranks it. */
static uint64_t list_value(const fl_batch *b, uint32_t r, fl_order o)
{
    fl_qcounters c;

    memset(&c, 0, sizeof c);
    c.flows = 1;
    c.packets = FL_U64(b, FL_COL_PACKETS)[r];
    c.bytes = FL_U64(b, FL_COL_BYTES)[r];
    c.first = FL_TIMES(b, FL_COL_TIME_FIRST)[r];
    c.last = FL_TIMES(b, FL_COL_TIME_LAST)[r];
    return fl_qrow_order_value(&c, o);
}

static fl_order list_order(const fl_query_spec *s, int *asc)
{
    fl_order o = s->order == FL_ORDER_NONE ? FL_ORDER_TSTART : s->order;
    /* times ascending by default, counters descending, as finish_list */
    *asc = (o == FL_ORDER_TSTART || o == FL_ORDER_TEND) ? !s->ascending : s->ascending;
    return o;
}

static fl_rc list_compact(worker *w)
{
    fl_query_spec s2 = *w->run->spec;
    fl_qresult tmp;
    int asc;

    memset(&tmp, 0, sizeof tmp);
    s2.order = list_order(&s2, &asc);
    if (finish_list(&s2, &tmp, w->list) != FL_OK)
        return fl_err_set(&w->err, FL_ENOMEM, "out of memory compacting the flow list");
    fl_batch_free(w->list);
    w->list = tmp.list;
    /* a later row that does not beat the last kept one ranks after all
     * kept rows (ties keep arrival order), so it can be skipped */
    if (w->list->n > 0 && w->list->n >= s2.limit) {
        w->list_cut = list_value(w->list, w->list->n - 1, s2.order);
        w->has_cut = 1;
        /* this worker's -c rows end at the cut: no later row can make
         * the answer, whichever thread reads it */
        if (s2.order == FL_ORDER_TSTART && asc && w->run->src.time_bound)
            w->run->src.time_bound(w->run->src.ctx, (fl_time)w->list_cut);
    }
    return FL_OK;
}

/* Look key k up among the top keys: its series index, or Other. */
static size_t ts_series(const run *ru, const fl_addr *k)
{
    const agg_entry *en = agg_lookup(ru->ts_map, k);

    return en ? (size_t)en->c.flows - 1 : ru->ts_nseries - 1;
}

/* Second pass of the two-pass topseries: each selected row's counters to
 * its key's series (or Other) at its step. */
static void ts_fold(worker *w, uint32_t n)
{
    const fl_query_spec *s = w->run->spec;
    const fl_qfield *f = &s->keys[0];
    size_t nb = w->run->nbuckets;

    for (unsigned k = 0; k < f->ncols; k++) {
        gather_keys(w->b, w->sel, f->col[k], f, w->keys, 1, 1);
        for (uint32_t i = 0; i < n; i++) {
            const fl_qcounters *c = &w->cnt[i];
            size_t at = ts_series(w->run, &w->keys[i]) * nb + bucket_of(w->run, c->first);
            w->ts_flows[at] += c->flows;
            w->ts_packets[at] += c->packets;
            w->ts_bytes[at] += c->bytes;
        }
    }
}

/*
 * The selected rows straight from the batch's columns into into[key of
 * the row] — key: an 8-bit column (k8), or a 16-bit column or dictionary
 * codes (k16) — and into the totals when with_total: the counters
 * gather_counters makes, without its per-row scratch. Inlined with
 * constant arguments, so each use is its own loop.
 */
static inline __attribute__((always_inline)) void
fold_direct(worker *w, const uint8_t *k8, const uint16_t *k16, fl_qcounters *into, int with_total,
            int lean)
{
    const uint32_t *idx = w->sel->idx;
    uint32_t n = w->sel->n;
    const counter_cols cc = counter_cols_of(w);
    fl_qcounters t = w->total;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = idx[i];
        uint64_t m = !lean && cc.scale && cc.rate[r] > 1 ? cc.rate[r] : 1;
        uint64_t p = cc.pk[r] * m, y = cc.by[r] * m;
        uint64_t op = lean ? 0 : cc.opk[r] * m, oy = lean ? 0 : cc.oby[r] * m;
        uint64_t f = lean || cc.fw == NULL || cc.fw[r] == 0 ? 1 : cc.fw[r];
        fl_time tf = cc.tf[r], tl = cc.tl[r];
        fl_qcounters *e = &into[k16 ? k16[r] : k8[r]];
        /* 65536 entries do not fit the core's cache: prefetch */
        if (k16 && i + FOLD_AHEAD < n)
            __builtin_prefetch(&into[k16[idx[i + FOLD_AHEAD]]], 1);
        e->flows += f;
        e->packets += p;
        e->bytes += y;
        if (!lean) {
            e->out_packets += op;
            e->out_bytes += oy;
            e->tcp_flags |= cc.fl[r];
        }
        e->first = tf < e->first ? tf : e->first;
        e->last = tl > e->last ? tl : e->last;
        if (with_total) {
            t.flows += f;
            t.packets += p;
            t.bytes += y;
            t.out_packets += op;
            t.out_bytes += oy;
            t.first = tf < t.first ? tf : t.first;
            t.last = tl > t.last ? tl : t.last;
        }
    }
    w->total = t;
}

/* Whether some selected row is to be scaled by its sampling rate (a
 * rate column of ones, as most exporters' flows have, scales nothing). */
static int scales_any(const worker *w)
{
    const counter_cols cc = counter_cols_of(w);
    const uint32_t *idx = w->sel->idx;
    uint32_t over = 0;

    if (!cc.scale)
        return 0;
    for (uint32_t i = 0; i < w->sel->n; i++)
        over |= cc.rate[idx[i]] > 1;
    return over != 0;
}

/* Stats over one 8- or 16-bit column, or over columns the source handed
 * as codes: every column of the element folded by fold_direct. 0 when
 * the batch needs the general path (some column by value). */
static int fold_batch_direct(worker *w)
{
    const fl_qfield *f = &w->run->spec->keys[0];
    const fl_batch *b = w->b;

    if (!w->small) {
        if (w->ncd < f->ncols)
            return 0;
        for (unsigned k = 0; k < f->ncols; k++)
            if (w->cd[k].ndict == 0)
                return 0;
    }
    /* no reverse counters, flags, flow counts or sampling rates in the
     * batch: a lean loop (most stores hold none of them) */
    int lean = !fl_batch_has(b, FL_COL_OUT_PACKETS) && !fl_batch_has(b, FL_COL_OUT_BYTES) &&
               !fl_batch_has(b, FL_COL_TCP_FLAGS) && !fl_batch_has(b, FL_COL_FLOWS) &&
               !scales_any(w);

    for (unsigned k = 0; k < f->ncols; k++) {
        fl_col c = f->col[k];
        if (!w->small) { /* the totals come from acc[0] (fold_codes) */
            lean ? fold_direct(w, NULL, w->cd[k].codes, w->acc[k], 0, 1)
                 : fold_direct(w, NULL, w->cd[k].codes, w->acc[k], 0, 0);
            w->acc_total = 1;
        }
        else if (fl_col_get(c)->kind == FL_KIND_U8 && lean) /* protocol, ToS, masks */
            k ? fold_direct(w, FL_U8(b, c), NULL, w->small, 0, 1)
              : fold_direct(w, FL_U8(b, c), NULL, w->small, 1, 1);
        else if (fl_col_get(c)->kind == FL_KIND_U8)
            k ? fold_direct(w, FL_U8(b, c), NULL, w->small, 0, 0)
              : fold_direct(w, FL_U8(b, c), NULL, w->small, 1, 0);
        else if (lean) /* ports, VLANs */
            k ? fold_direct(w, NULL, FL_U16(b, c), w->small, 0, 1)
              : fold_direct(w, NULL, FL_U16(b, c), w->small, 1, 1);
        else
            k ? fold_direct(w, NULL, FL_U16(b, c), w->small, 0, 0)
              : fold_direct(w, NULL, FL_U16(b, c), w->small, 1, 0);
    }
    return 1;
}

static fl_rc fold_batch(worker *w)
{
    const fl_query_spec *s = w->run->spec;
    const fl_batch *b = w->b;
    const fl_sel *sel = w->sel;
    uint32_t n = sel->n;
    const uint8_t *proto = FL_U8(b, FL_COL_PROTO);
    fl_rc rc = FL_OK;

    if ((w->small || w->ncd) && fold_batch_direct(w))
        return FL_OK;
    gather_counters(w);
    {
        /* totals in registers; one store per batch */
        fl_qcounters t = w->total;
        for (uint32_t i = 0; i < n; i++)
            agg_add_counters(&t, &w->cnt[i]);
        /* the per-protocol breakdown only a summary prints (the protocol
         * column is read for nothing else) */
        if (s->op == FL_QOP_SUMMARY)
            for (uint32_t i = 0; i < n; i++) {
                const fl_qcounters *c = &w->cnt[i];
                int pc = proto_class(proto[sel->idx[i]]);
                w->proto_flows[pc] += c->flows;
                w->proto_packets[pc] += c->packets;
                w->proto_bytes[pc] += c->bytes;
            }
        t.tcp_flags = 0;
        w->total = t;
    }
    switch (s->op) {
    case FL_QOP_TOPSERIES:
        if (w->run->ts_map) {
            ts_fold(w, n);
            break;
        }
        /* one pass over every (key, step) pair, as stats do over keys */
        __attribute__((fallthrough));
    case FL_QOP_STATS: {
        const fl_qfield *f = &s->keys[0];
        unsigned nk = w->run->pt->nk;
        for (unsigned k = 0; k < f->ncols && rc == FL_OK; k++) {
            if (k < w->ncd && w->cd[k].ndict) {
                /* counted per dictionary code; folded after the batch */
                const uint16_t *code = w->cd[k].codes;
                fl_qcounters *acc = w->acc[k];
                for (uint32_t i = 0; i < n; i++) {
                    if (i + FOLD_AHEAD < n)
                        __builtin_prefetch(&acc[code[sel->idx[i + FOLD_AHEAD]]], 1);
                    agg_add_counters(&acc[code[sel->idx[i]]], &w->cnt[i]);
                }
                continue;
            }
            gather_keys(b, sel, f->col[k], f, w->keys, nk, 1);
            if (nk == 2 && s->op == FL_QOP_STATS)
                gather_keys(b, sel, FL_COL_PROTO, f, w->keys + 1, nk, 0);
            else if (nk == 2)
                for (uint32_t i = 0; i < n; i++) {
                    w->keys[2 * i + 1].hi = 0;
                    w->keys[2 * i + 1].lo = bucket_of(w->run, w->cnt[i].first);
                }
            rc = fold_keys(w, n);
        }
        break;
    }
    case FL_QOP_AGGREGATE:
        for (unsigned k = 0; k < s->nkeys; k++)
            gather_keys(b, sel, s->keys[k].col[0], &s->keys[k], w->keys + k, s->nkeys, 1);
        rc = fold_keys(w, n);
        break;
    case FL_QOP_SERIES:
        for (uint32_t i = 0; i < n; i++) {
            const fl_qcounters *c = &w->cnt[i];
            if (s->linear && c->last > c->first) {
                double dur = (double)(c->last - c->first);
                size_t b0 = bucket_of(w->run, c->first), b1 = bucket_of(w->run, c->last);
                for (size_t k = b0; k <= b1; k++) {
                    fl_time lo = w->run->bstart + (fl_time)k * s->step, hi = lo + s->step;
                    double part = (double)((c->last < hi ? c->last : hi) -
                                           (c->first > lo ? c->first : lo)) / dur;
                    w->bucket_bytes[k] += part * (double)c->bytes;
                    w->bucket_packets[k] += part * (double)c->packets;
                }
                w->bucket_flows[b0] += (double)c->flows;
            } else {
                size_t k = bucket_of(w->run, c->first);
                w->bucket_bytes[k] += (double)c->bytes;
                w->bucket_packets[k] += (double)c->packets;
                w->bucket_flows[k] += (double)c->flows;
            }
        }
        break;
    case FL_QOP_LIST:
        /* one thread in arrival order: once -c rows are in, they are final */
        if (s->limit && s->order == FL_ORDER_NONE && w->run->nthreads == 1 && w->list &&
            w->list->n >= s->limit)
            break;
        rc = list_reserve(w, (w->list ? w->list->n : 0) + n);
        if (rc != FL_OK)
            return rc;
        if (w->has_cut) {
            int asc;
            fl_order o = list_order(s, &asc);
            for (uint32_t i = 0; i < n; i++) {
                uint64_t v = list_value(b, sel->idx[i], o);
                if (asc ? v < w->list_cut : v > w->list_cut)
                    copy_row(w->list, w->list->n++, b, sel->idx[i]);
            }
        } else {
            for (uint32_t i = 0; i < n; i++)
                copy_row(w->list, w->list->n++, b, sel->idx[i]);
        }
        for (int k = 0; k < FL_PRESENT_WORDS; k++)
            w->list->present[k] |= b->present[k];
        /* a source that takes a time bound gets its first as soon as -c
         * rows are in, a tighter one each time the list doubles again
         * (sorting stays amortised however large -c is) */
        if (s->limit && ((w->list->n >= 2 * s->limit &&
                          (w->list->n >= 4096 || w->run->src.time_bound)) ||
                         (w->run->src.time_bound && !w->has_cut && w->list->n >= s->limit)))
            rc = list_compact(w);
        break;
    case FL_QOP_SUMMARY:
        break;
    }
    return rc;
}

static void acc_reset(fl_qcounters *a, uint32_t n)
{
    memset(a, 0, sizeof *a * n);
    for (uint32_t i = 0; i < n; i++) {
        a[i].first = INT64_MAX;
        a[i].last = INT64_MIN;
    }
}

/*
 * After a batch's source call: make room for its dictionaries' counters.
 * A column whose counters cannot be had (the budget, memory) is read by
 * value this time (ndict set to 0), so this never fails a query.
 */
/* Read column k by value this batch: its values built from the codes
 * when the source left them out. */
static void codes_off(worker *w, unsigned k)
{
    const fl_qcodes *cd = &w->cd[k];
    fl_batch *b = w->b;

    if (cd->no_values && cd->ndict > 0) {
        if (fl_col_get(cd->col)->kind == FL_KIND_ADDR)
            for (uint32_t i = 0; i < b->n; i++)
                FL_ADDRS(b, cd->col)[i] = cd->dict[cd->codes[i]];
        else
            for (uint32_t i = 0; i < b->n; i++)
                fl_batch_set_u64(b, cd->col, i, cd->dict[cd->codes[i]].lo);
    }
    w->cd[k].ndict = 0;
}

static void codes_ready(worker *w)
{
    agg_budget *bu = &w->run->codes_budget;

    for (unsigned k = 0; k < w->ncd; k++) {
        uint32_t need = w->cd[k].ndict;
        fl_qcounters *a;
        if (need <= w->acc_cap[k])
            continue;
        /* whole dictionaries are at most a row group: grow to it at once
         * past a quarter of it, so growth happens about twice */
        if (need < w->b->cap && need * 4 > w->b->cap)
            need = w->b->cap;
        if (!agg_budget_take(bu, sizeof *a * (need - w->acc_cap[k]))) {
            codes_off(w, k);
            continue;
        }
        a = realloc(w->acc[k], sizeof *a * need);
        if (a == NULL) {
            agg_budget_give(bu, sizeof *a * (need - w->acc_cap[k]));
            codes_off(w, k);
            continue;
        }
        acc_reset(a + w->acc_cap[k], need - w->acc_cap[k]);
        w->acc[k] = a;
        w->acc_cap[k] = need;
    }
}

/* Fold the batch's per-code counters into the table: each code that
 * counted a row once, as a key of its dictionary value; the counters are
 * left zeroed for the next batch. */
static fl_rc fold_codes(worker *w)
{
    const fl_qfield *f = &w->run->spec->keys[0];
    fl_rc rc = FL_OK;

    for (unsigned k = 0; k < w->ncd && rc == FL_OK; k++) {
        fl_qcounters *acc = w->acc[k];
        const fl_addr *dict = w->cd[k].dict;
        uint32_t nd = w->cd[k].ndict, m = 0;
        for (uint32_t c = 0; c < nd && rc == FL_OK; c++) {
            if (acc[c].flows) {
                /* after fold_batch_direct, the first column's codes
                 * counted every row once and no row was totalled: the
                 * totals are theirs (a few thousand codes, not every row) */
                if (k == 0 && w->acc_total)
                    agg_add_counters(&w->total, &acc[c]);
                w->keys[m] = dict[c];
                w->cnt[m++] = acc[c];
                acc_reset(&acc[c], 1);
            }
            if (m == WINDOW_ROWS || (c + 1 == nd && m > 0)) {
                if (fl_col_get(f->col[k])->kind == FL_KIND_ADDR)
                    addr_keys(w->keys, m, 1, f, 1);
                rc = fold_keys(w, m);
                m = 0;
            }
        }
    }
    return rc;
}

/* The flows a batch's rows stand for: one each, unless it has a flows
 * column (store sums, aggregated exports; 0 counts as one). */
static uint64_t flows_of(const fl_batch *b)
{
    const uint64_t *fw = FL_U64(b, FL_COL_FLOWS);
    uint64_t n = 0;

    if (!fl_batch_has(b, FL_COL_FLOWS))
        return b->n;
    for (uint32_t r = 0; r < b->n; r++)
        n += fw[r] ? fw[r] : 1;
    return n;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run *ru = w->run;

    for (;;) {
        fl_rc rc;

        if (ru->src.no_clear)
            w->b->n = 0;
        else
            fl_batch_clear(w->b);
        pthread_mutex_lock(&ru->lock);
        if (ru->done) {
            w->inflight = 0;
            pthread_mutex_unlock(&ru->lock);
            break;
        }
        if (ru->ord_key >= 0) { /* the last batch is folded: a new floor */
            ru->src.order_floor(ru->src.ctx, &w->lo);
            w->inflight = 1;
        }
        if (ru->src.parallel) {
            pthread_mutex_unlock(&ru->lock);
            rc = w->ncd ? ru->src.next_codes(ru->src.ctx, w->b, w->cd, w->ncd, &w->err)
                        : ru->src.next(ru->src.ctx, w->b, &w->err);
            pthread_mutex_lock(&ru->lock);
        } else {
            rc = w->ncd ? ru->src.next_codes(ru->src.ctx, w->b, w->cd, w->ncd, &w->err)
                        : ru->src.next(ru->src.ctx, w->b, &w->err);
        }
        if (rc != FL_OK || w->b->n == 0) {
            ru->done = 1;
            if (rc != FL_OK) {
                ru->failed = 1;
                w->rc = rc;
            }
        }
        if (rc == FL_OK && w->b->n > 0 && ru->spec->on_progress && ru->src.progress)
            ru->spec->on_progress(ru->spec->progress_ctx, ru->src.progress(ru->src.ctx));
        pthread_mutex_unlock(&ru->lock);
        if (rc != FL_OK || w->b->n == 0)
            break;
        if (ru->spec->cancel && *ru->spec->cancel) {
            w->rc = fl_err_set(&w->err, FL_ECANCELED, "query canceled");
            pthread_mutex_lock(&ru->lock);
            ru->done = ru->failed = 1;
            pthread_mutex_unlock(&ru->lock);
            break;
        }
        w->scanned += flows_of(w->b);
        codes_ready(w);
        /* a window of rows at a time, so the per-row scratch (counters,
         * keys, hashes) stays in the core's cache however large the
         * source's batches are */
        rc = FL_OK;
        for (uint32_t from = 0; from < w->b->n && rc == FL_OK; from += WINDOW_ROWS) {
            uint32_t to = w->b->n - from > WINDOW_ROWS ? from + WINDOW_ROWS : w->b->n;
            rc = select_rows(w, from, to);
            if (rc == FL_OK && w->sel->n > 0)
                rc = fold_batch(w);
        }
        if (rc == FL_OK && w->ncd)
            rc = fold_codes(w);
        w->acc_total = 0;
        if (rc != FL_OK) {
            w->rc = rc;
            if (w->err.rc == FL_OK)
                fl_err_set(&w->err, rc, "%s", fl_strerror(rc));
            pthread_mutex_lock(&ru->lock);
            ru->done = ru->failed = 1;
            pthread_mutex_unlock(&ru->lock);
            break;
        }
    }
    return NULL;
}

/* Values of the stats element when it is one small integer column (every
 * column of a dual element of the same small kind), else 0. */
static uint32_t small_domain(const fl_query_spec *s)
{
    const fl_qfield *f = &s->keys[0];
    uint32_t n = 0;

    if (s->op != FL_QOP_STATS || s->per_proto || s->nkeys != 1 || f->has_prefix)
        return 0;
    for (unsigned k = 0; k < f->ncols; k++) {
        fl_kind kind = fl_col_get(f->col[k])->kind;
        uint32_t m = kind == FL_KIND_U8 ? 256 : kind == FL_KIND_U16 ? 65536 : 0;
        if (m == 0 || (n && m != n))
            return 0;
        n = m;
    }
    return n;
}

static fl_rc worker_init(worker *w, run *ru)
{
    const fl_query_spec *s = ru->spec;

    memset(w, 0, sizeof *w);
    w->run = ru;
    fl_err_clear(&w->err);
    w->b = fl_batch_new(ru->src.batch_rows);
    w->sel = fl_sel_new(ru->src.batch_rows);
    if (w->b == NULL || w->sel == NULL)
        return FL_ENOMEM;
    w->total.first = INT64_MAX;
    w->total.last = INT64_MIN;
    w->cnt = malloc(sizeof *w->cnt * WINDOW_ROWS);
    w->hash = malloc(sizeof *w->hash * WINDOW_ROWS);
    if (w->cnt == NULL || w->hash == NULL)
        return FL_ENOMEM;
    w->small_n = small_domain(s);
    if (w->small_n) {
        /* one cache line per value */
        w->small = aligned_alloc(64, sizeof *w->small * w->small_n);
        if (w->small == NULL)
            return FL_ENOMEM;
        for (uint32_t v = 0; v < w->small_n; v++) {
            memset(&w->small[v], 0, sizeof w->small[v]);
            w->small[v].first = INT64_MAX;
            w->small[v].last = INT64_MIN;
        }
        return FL_OK;
    }
    if (s->op == FL_QOP_TOPSERIES && ru->ts_map) {
        size_t cells = ru->ts_nseries * ru->nbuckets;
        w->ts_flows = calloc(cells, sizeof(uint64_t));
        w->ts_packets = calloc(cells, sizeof(uint64_t));
        w->ts_bytes = calloc(cells, sizeof(uint64_t));
        w->keys = malloc(sizeof *w->keys * WINDOW_ROWS);
        if (!w->ts_flows || !w->ts_packets || !w->ts_bytes || !w->keys)
            return FL_ENOMEM;
        return FL_OK;
    }
    if (ru->pt) {
        w->keys = malloc(sizeof *w->keys * ru->pt->nk * WINDOW_ROWS);
        w->order = malloc(sizeof *w->order * WINDOW_ROWS);
        if (w->keys == NULL || w->order == NULL)
            return FL_ENOMEM;
    }
    if (ru->pt && s->op == FL_QOP_STATS && ru->pt->nk == 1 && ru->src.next_codes) {
        /* the element's columns as dictionary codes where stored so */
        size_t rows = w->b->cap;
        for (unsigned k = 0; k < s->keys[0].ncols && k < FL_QCODES_MAX; k++) {
            w->cd[k].col = s->keys[0].col[k];
            w->cd[k].codes = malloc(sizeof(uint16_t) * rows);
            w->cd[k].dict = malloc(sizeof(fl_addr) * rows);
            /* without a filter nothing reads the element's values where
             * codes come: the source need not build them (64 K addresses
             * per group); codes_ready builds them when it must */
            w->cd[k].no_values = s->select == NULL;
            if (w->cd[k].codes == NULL || w->cd[k].dict == NULL)
                return FL_ENOMEM;
            w->ncd = k + 1;
        }
    }
    if (s->op == FL_QOP_SERIES) {
        w->bucket_bytes = calloc(ru->nbuckets, sizeof(double));
        w->bucket_packets = calloc(ru->nbuckets, sizeof(double));
        w->bucket_flows = calloc(ru->nbuckets, sizeof(double));
        if (!w->bucket_bytes || !w->bucket_packets || !w->bucket_flows)
            return FL_ENOMEM;
    }
    return FL_OK;
}

static void worker_free(worker *w)
{
    for (unsigned k = 0; k < FL_QCODES_MAX; k++) {
        free(w->cd[k].codes);
        free(w->cd[k].dict);
        free(w->acc[k]);
        if (w->acc_cap[k])
            agg_budget_give(&w->run->codes_budget, sizeof *w->acc[k] * w->acc_cap[k]);
    }
    free(w->ts_flows);
    free(w->ts_packets);
    free(w->ts_bytes);
    fl_batch_free(w->b);
    fl_sel_free(w->sel);
    free(w->order);
    free(w->bucket_bytes);
    free(w->bucket_packets);
    free(w->bucket_flows);
    fl_batch_free(w->list);
    free(w->cnt);
    free(w->keys);
    free(w->hash);
    free(w->small);
}

/* ------------------------------------------------------------------ */
/* Ordering                                                            */
/* ------------------------------------------------------------------ */

typedef struct sort_item {
    uint64_t v;
    const void *p;      /* an fl_qrow, or an agg_entry of table t */
    const agg_table *t; /* (a table's layout says how to read its keys) */
} sort_item;

/* How items compare (qsort_r's context): keys nk, ascending or not (an
 * item's t says whether it points at a table entry or at a row). */
typedef struct sort_ctx {
    int nk, asc;
} sort_ctx;

static int cmp_keys(const fl_qrow *a, const fl_qrow *b, int nk)
{
    for (int k = 0; k < nk; k++) {
        int c = fl_addr_cmp(a->key[k], b->key[k]);
        if (c)
            return c;
    }
    return (a->proto > b->proto) - (a->proto < b->proto);
}

/* Entries of a stats table with ":p" hold the protocol as their second
 * key, so comparing the nk keys orders them as cmp_keys orders rows. */
static int cmp_entries(const sort_item *a, const sort_item *b, int nk)
{
    for (int k = 0; k < nk; k++) {
        int c = fl_addr_cmp(agg_key(a->t, a->p, (unsigned)k), agg_key(b->t, b->p, (unsigned)k));
        if (c)
            return c;
    }
    return 0;
}

static int cmp_items(const void *pa, const void *pb, void *pc)
{
    const sort_item *a = pa, *b = pb;
    const sort_ctx *c = pc;

    if (a->v != b->v)
        return (a->v < b->v ? -1 : 1) * (c->asc ? 1 : -1);
    return a->t ? cmp_entries(a, b, c->nk) : cmp_keys(a->p, b->p, c->nk);
}

/* A heap of k items holding the worst of the best at its root. */
static void heap_down(sort_item *h, size_t k, size_t i, sort_ctx *c)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        sort_item t;
        /* max-heap by cmp_items: the root is the item that sorts last */
        if (l < k && cmp_items(&h[l], &h[m], c) > 0)
            m = l;
        if (r < k && cmp_items(&h[r], &h[m], c) > 0)
            m = r;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Offer one item to the best k held in h[0..*n): O(log k). */
static void top_n_offer(sort_item *h, size_t *n, size_t k, sort_item it, sort_ctx *c)
{
    if (*n < k) {
        h[(*n)++] = it;
        if (*n == k)
            for (size_t i = k / 2; i-- > 0;)
                heap_down(h, k, i, c);
    } else if (k > 0 && cmp_items(&it, &h[0], c) < 0) {
        h[0] = it;
        heap_down(h, k, 0, c);
    }
}

/* Move the best k of items[0..n) (by cmp_items) to items[0..k), sorted. */
static void top_n_select(sort_item *items, size_t n, size_t k, sort_ctx *c)
{
    size_t held = 0;

    for (size_t i = 0; i < n; i++)
        top_n_offer(items, &held, k, items[i], c);
    qsort_r(items, held, sizeof *items, cmp_items, c);
}

/* Whether counters c pass the post-aggregation filter. */
static int having_keeps(const fl_query_spec *s, const fl_qcounters *c)
{
    uint64_t v;

    if (s->having_op == 0)
        return 1;
    v = fl_qrow_order_value(c, s->having_metric);
    return s->having_op == '<' ? v < s->having_value
           : s->having_op == '>' ? v > s->having_value
                                  : v == s->having_value;
}

/*
 * Ordered source: the top N of the keys drained from the table so far, as
 * a heap of N items whose entries are copies (a slot of stride bytes each,
 * with its table's layout in desc), so the table may let them go.
 */
typedef struct ord_keep {
    pthread_mutex_t lock;
    sort_item *h;
    size_t n, k;
    unsigned char *mem;
    size_t stride;
    agg_table *desc;
    sort_ctx c;
    fl_order o;
    uint64_t drained; /* keys drained (they count as distinct) */
    const fl_query_spec *spec;
} ord_keep;

static fl_rc keep_init(ord_keep *kp, const fl_query_spec *s, unsigned nk, uint64_t top,
                       fl_order o)
{
    memset(kp, 0, sizeof *kp);
    pthread_mutex_init(&kp->lock, NULL);
    kp->k = (size_t)top;
    /* the widest entry: 16-byte keys and the reverse counters */
    kp->stride = sizeof(agg_entry) + 16 + (size_t)nk * 16;
    kp->h = calloc(kp->k, sizeof *kp->h);
    kp->mem = calloc(kp->k, kp->stride);
    kp->desc = calloc(kp->k, sizeof *kp->desc);
    kp->c.nk = (int)nk;
    kp->c.asc = s->ascending;
    kp->o = o;
    kp->spec = s;
    return kp->h && kp->mem && kp->desc ? FL_OK : FL_ENOMEM;
}

static void keep_free(ord_keep *kp)
{
    free(kp->h);
    free(kp->mem);
    free(kp->desc);
    pthread_mutex_destroy(&kp->lock);
}

/* agg_drain_below's callback: offer entry en of table t (under kp's
 * lock: partitions drain at once). */
static void keep_offer(void *ctx, const agg_table *t, const agg_entry *en)
{
    ord_keep *kp = ctx;
    fl_qcounters ec;
    sort_item it;
    size_t slot;

    agg_counters(t, en, &ec);
    kp->drained++;
    if (!having_keeps(kp->spec, &ec))
        return;
    it.v = fl_qrow_order_value(&ec, kp->o);
    it.p = en;
    it.t = t;
    if (kp->n == kp->k && cmp_items(&it, &kp->h[0], &kp->c) >= 0)
        return;
    /* a free slot, or the one of the root it replaces */
    slot = kp->n < kp->k ? kp->n : (size_t)((const unsigned char *)kp->h[0].p - kp->mem) / kp->stride;
    memcpy(kp->mem + slot * kp->stride, en, t->stride);
    kp->desc[slot] = *t;
    it.p = kp->mem + slot * kp->stride;
    it.t = &kp->desc[slot];
    if (kp->n < kp->k) {
        top_n_offer(kp->h, &kp->n, kp->k, it, &kp->c);
    } else { /* (the root's slot holds it now: no comparing with it) */
        kp->h[0] = it;
        heap_down(kp->h, kp->k, 0, &kp->c);
    }
}

/* The lowest address a row still to be folded may have: the source's
 * floor, or a worker's lower one for the batch it holds. */
static fl_addr run_floor(run *ru)
{
    fl_addr f;

    pthread_mutex_lock(&ru->lock);
    ru->src.order_floor(ru->src.ctx, &f);
    for (unsigned i = 0; i < ru->nthreads; i++)
        if (ru->ws[i].inflight && fl_addr_cmp(ru->ws[i].lo, f) < 0)
            f = ru->ws[i].lo;
    pthread_mutex_unlock(&ru->lock);
    return f;
}

/* Keys a partition drains at the least (a window of addresses in a few
 * megabytes: the probes hit the cache instead of memory). */
#define DRAIN_MIN 4096

static fl_rc part_drain(worker *w, agg_part *part)
{
    run *ru = w->run;
    size_t used = part->t[0].used + part->t[1].used;
    fl_addr floor;
    fl_rc rc = FL_OK;

    if (used < part->drain_at || used < DRAIN_MIN)
        return FL_OK;
    floor = run_floor(ru);
    pthread_mutex_lock(&ru->keep->lock);
    for (int k = 0; k < 2 && rc == FL_OK; k++)
        rc = agg_drain_below(&part->t[k], (unsigned)ru->ord_key, floor, keep_offer, ru->keep);
    pthread_mutex_unlock(&ru->keep->lock);
    /* next when the keys held double: draining stays linear however few
     * go (the keys of one busy address wait for the floor to pass it) */
    part->drain_at = 2 * (part->t[0].used + part->t[1].used);
    return rc == FL_OK ? FL_OK : budget_error(w, rc);
}

/* Drop rows failing the post-aggregation filter. */
static void apply_having(const fl_query_spec *s, fl_qresult *res)
{
    size_t k = 0;

    if (s->having_op == 0)
        return;
    for (size_t i = 0; i < res->nrows; i++)
        if (having_keeps(s, &res->rows[i].c))
            res->rows[k++] = res->rows[i];
    res->nrows = k;
}

/* Sort rows by order (descending unless asc), ties by key; keep top. */
static fl_rc order_rows(fl_qresult *res, fl_order o, int asc, uint64_t top, int nk)
{
    sort_item *items;
    fl_qrow *sorted;
    size_t n = res->nrows, keep;

    if (n == 0)
        return FL_OK;
    items = malloc(n * sizeof *items);
    if (items == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        items[i].v = fl_qrow_order_value(&res->rows[i].c, o);
        items[i].p = &res->rows[i];
        items[i].t = NULL;
    }
    keep = top && top < n ? (size_t)top : n;
    {
        sort_ctx c = {nk, asc};
        if (keep * 4 < n)
            top_n_select(items, n, keep, &c);
        else
            qsort_r(items, n, sizeof *items, cmp_items, &c);
    }
    sorted = malloc(keep * sizeof *sorted);
    if (sorted == NULL) {
        free(items);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < keep; i++)
        sorted[i] = *(const fl_qrow *)items[i].p;
    free(items);
    free(res->rows);
    res->rows = sorted;
    res->nrows = keep;
    return FL_OK;
}

/* Entry en of table t as a result row. */
static void entry_to_row(fl_qrow *row, const agg_table *t, const agg_entry *en, unsigned nk,
                         int proto_slot)
{
    for (unsigned k = 0; k < nk; k++)
        row->key[k] = agg_key(t, en, k);
    if (proto_slot)
        row->proto = (uint8_t)row->key[1].lo;
    agg_counters(t, en, &row->c);
}

static fl_rc table_to_rows(fl_qresult *res, const agg_table *t, unsigned nk, int proto_slot)
{
    size_t n = 0;

    res->rows = calloc(t->used ? t->used : 1, sizeof *res->rows);
    if (res->rows == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < t->slots; i++) {
        const agg_entry *en = agg_at(t, i);
        if (en->c.flows == 0)
            continue;
        entry_to_row(&res->rows[n++], t, en, nk, proto_slot);
    }
    res->nrows = n;
    res->distinct = n;
    return FL_OK;
}

/*
 * Stats and aggregate rows straight from the shared table: entries that
 * pass the post-aggregation filter are ranked through pointers (16 bytes
 * each, not a whole fl_qrow — for millions of keys the full row array was
 * gigabytes of fresh memory), then only the rows kept are copied out.
 * Same order as order_rows (ties by key).
 */
static fl_rc ptable_finish(const fl_query_spec *s, fl_qresult *res, const agg_ptable *pt,
                           const ord_keep *kp, fl_order o, uint64_t top, int proto_slot)
{
    size_t used = agg_ptable_used(pt), n = 0, keep;
    /* a short top-N streams the entries through a heap of N (for millions
     * of keys an array of them all was 16 bytes each of fresh memory);
     * otherwise every entry kept is sorted. Entries drained on the way
     * (an ordered source) join the heap first. */
    int stream = top && (top * 4 < used || (kp && kp->drained));
    sort_item *items = malloc((stream ? top : used ? used : 1) * sizeof *items);
    unsigned nk = pt->nk;
    sort_ctx c = {(int)nk, s->ascending};

    if (items == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; stream && kp && i < kp->n; i++)
        top_n_offer(items, &n, (size_t)top, kp->h[i], &c);
    for (unsigned p = 0; p < AGG_TABLES; p++) {
        const agg_table *t = agg_ptable_at(pt, p);
        for (size_t i = 0; i < t->slots; i++) {
            const agg_entry *en = agg_at(t, i);
            fl_qcounters ec;
            sort_item it;
            if (en->c.flows == 0)
                continue;
            agg_counters(t, en, &ec);
            if (!having_keeps(s, &ec))
                continue;
            it.v = fl_qrow_order_value(&ec, o);
            it.p = en;
            it.t = t;
            if (stream)
                top_n_offer(items, &n, (size_t)top, it, &c);
            else
                items[n++] = it;
        }
    }
    res->distinct = used + (kp ? kp->drained : 0);
    res->drained = kp ? kp->drained : 0;
    keep = top && top < n ? (size_t)top : n;
    if (!stream && keep * 4 < n)
        top_n_select(items, n, keep, &c);
    else
        qsort_r(items, n, sizeof *items, cmp_items, &c);
    res->rows = calloc(keep ? keep : 1, sizeof *res->rows);
    if (res->rows == NULL) {
        free(items);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < keep; i++)
        entry_to_row(&res->rows[i], items[i].t, items[i].p, nk, proto_slot);
    res->nrows = keep;
    free(items);
    return FL_OK;
}

static fl_rc small_to_rows(fl_qresult *res, const fl_qcounters *small, uint32_t n)
{
    size_t used = 0, k = 0;

    for (uint32_t v = 0; v < n; v++)
        used += small[v].flows != 0;
    res->rows = calloc(used ? used : 1, sizeof *res->rows);
    if (res->rows == NULL)
        return FL_ENOMEM;
    for (uint32_t v = 0; v < n; v++)
        if (small[v].flows) {
            res->rows[k].key[0].lo = v;
            res->rows[k].c = small[v];
            k++;
        }
    res->nrows = res->distinct = k;
    return FL_OK;
}

/* List: order by -O, then cut at -c. */
/* A listed row by its order value; ties keep arrival order (row). */
typedef struct list_item {
    uint64_t v;
    uint32_t r;
} list_item;

static int cmp_list_items(const void *pa, const void *pb, void *pasc)
{
    const list_item *a = pa, *b = pb;

    if (a->v != b->v)
        return (a->v < b->v ? -1 : 1) * (*(const int *)pasc ? 1 : -1);
    return (a->r > b->r) - (a->r < b->r);
}

static fl_rc finish_list(const fl_query_spec *s, fl_qresult *res, fl_batch *list)
{
    uint32_t n = list ? list->n : 0, keep;
    fl_batch *out;

    keep = s->limit && s->limit < n ? (uint32_t)s->limit : n;
    out = fl_batch_new(keep ? keep : 1);
    if (out == NULL)
        return FL_ENOMEM;
    if (list)
        memcpy(out->present, list->present, sizeof out->present);
    if (n > 0 && s->order != FL_ORDER_NONE) {
        /* order by one counter: 12 bytes per row to sort, not the row */
        list_item *items = malloc(n * sizeof *items);
        /* times ascending by default, counters descending, as nfdump -O */
        int asc = (s->order == FL_ORDER_TSTART || s->order == FL_ORDER_TEND) ? !s->ascending
                                                                             : s->ascending;
        if (items == NULL) {
            fl_batch_free(out);
            return FL_ENOMEM;
        }
        for (uint32_t r = 0; r < n; r++) {
            items[r].v = list_value(list, r, s->order);
            items[r].r = r;
        }
        qsort_r(items, n, sizeof *items, cmp_list_items, &asc);
        for (uint32_t i = 0; i < keep; i++)
            copy_row(out, i, list, items[i].r);
        free(items);
    } else {
        for (uint32_t i = 0; i < keep; i++)
            copy_row(out, i, list, i);
    }
    out->n = keep;
    res->list = out;
    return FL_OK;
}

static double metric_value(fl_metric m, double flows, double packets, double bytes, double step_s)
{
    switch (m) {
    case FL_METRIC_FLOWS: return flows;
    case FL_METRIC_PACKETS: return packets;
    case FL_METRIC_BYTES: return bytes;
    case FL_METRIC_PPS: return packets / step_s;
    case FL_METRIC_BPS: return bytes * 8 / step_s;
    case FL_METRIC_FPS: return flows / step_s;
    case FL_METRIC_BPP: return packets > 0 ? bytes / packets : 0;
    }
    return 0;
}

/* per-step ranking for topseries: one step's column of the matrix */
typedef struct step_col {
    const double *vals;
    size_t stride;
} step_col;
static int cmp_step(const void *pa, const void *pb, void *pc)
{
    const step_col *col = pc;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    double va = col->vals[a * col->stride], vb = col->vals[b * col->stride];
    if (va != vb)
        return va > vb ? -1 : 1;
    return (a > b) - (a < b);
}

/* Topseries: pick the series keys, then fill the matrix (+ Other). */
static fl_rc finish_topseries(const fl_query_spec *s, fl_qresult *res, const agg_ptable *pt,
                              size_t nbuckets)
{
    double step_s = (double)s->step / 1000.0;
    size_t top = s->top ? (size_t)s->top : 10, nkeys;
    agg_table totals;
    fl_qresult tmp;
    fl_rc rc;
    double *flows, *packets, *bytes;

    memset(&tmp, 0, sizeof tmp);
    /* totals per key over the whole window (or per step below) */
    if (agg_init(&totals, 1, (size_t)1 << 40) != FL_OK)
        return FL_ENOMEM;
    for (unsigned p = 0; p < AGG_TABLES; p++) {
        const agg_table *t = agg_ptable_at(pt, p);
        for (size_t i = 0; i < t->slots; i++) {
            const agg_entry *en = agg_at(t, i);
            agg_entry *dst;
            fl_addr k;
            fl_qcounters ec;
            if (en->c.flows == 0)
                continue;
            k = agg_key(t, en, 0);
            rc = agg_find(&totals, &k, agg_hash(&k, 1), &dst);
            if (rc != FL_OK) {
                agg_free(&totals);
                return rc;
            }
            agg_counters(t, en, &ec);
            agg_add(&totals, dst, &ec);
        }
    }
    rc = table_to_rows(&tmp, &totals, 1, 0);
    agg_free(&totals);
    if (rc != FL_OK)
        return rc;
    res->distinct = tmp.nrows;
    {
        fl_order o = s->metric == FL_METRIC_FLOWS || s->metric == FL_METRIC_FPS ? FL_ORDER_FLOWS
                     : s->metric == FL_METRIC_PACKETS || s->metric == FL_METRIC_PPS
                         ? FL_ORDER_PACKETS
                         : FL_ORDER_BYTES;
        rc = order_rows(&tmp, o, 0, s->per_step_top ? 0 : top, 1);
    }
    if (rc != FL_OK) {
        free(tmp.rows);
        return rc;
    }
    nkeys = tmp.nrows;
    res->has_other = 1;
    res->nseries = nkeys + 1;
    res->series_keys = calloc(res->nseries, sizeof(fl_addr));
    res->values = calloc(res->nseries * nbuckets, sizeof(double));
    flows = calloc(res->nseries * nbuckets, sizeof(double));
    packets = calloc(res->nseries * nbuckets, sizeof(double));
    bytes = calloc(res->nseries * nbuckets, sizeof(double));
    if (!res->series_keys || !res->values || !flows || !packets || !bytes) {
        free(tmp.rows);
        free(flows);
        free(packets);
        free(bytes);
        return FL_ENOMEM;
    }
    /* key -> series index (stored as index + 1 in the flows counter) */
    if (agg_init(&totals, 1, (size_t)1 << 40) != FL_OK) {
        free(tmp.rows);
        free(flows);
        free(packets);
        free(bytes);
        return FL_ENOMEM;
    }
    for (size_t k = 0; k < nkeys; k++) {
        agg_entry *en;
        res->series_keys[k] = tmp.rows[k].key[0];
        if (agg_find(&totals, &tmp.rows[k].key[0], agg_hash(&tmp.rows[k].key[0], 1), &en) == FL_OK)
            en->c.flows = k + 1;
    }
    for (unsigned p = 0; p < AGG_TABLES; p++) {
        const agg_table *t = agg_ptable_at(pt, p);
        for (size_t i = 0; i < t->slots; i++) {
            const agg_entry *en = agg_at(t, i);
            const agg_entry *m;
            size_t si = nkeys, bk;
            fl_addr k;
            if (en->c.flows == 0)
                continue;
            k = agg_key(t, en, 0);
            if ((m = agg_lookup(&totals, &k)) != NULL)
                si = (size_t)m->c.flows - 1;
            bk = (size_t)agg_key(t, en, 1).lo;
            flows[si * nbuckets + bk] += (double)en->c.flows;
            packets[si * nbuckets + bk] += (double)en->c.packets;
            bytes[si * nbuckets + bk] += (double)en->c.bytes;
        }
    }
    if (s->per_step_top && nkeys > top) {
        /* FlowGraph's mode: in each step only that step's top N keep their
         * own value; the rest of the step goes to Other */
        double *vals = s->metric == FL_METRIC_FLOWS || s->metric == FL_METRIC_FPS ? flows
                       : s->metric == FL_METRIC_PACKETS || s->metric == FL_METRIC_PPS
                           ? packets
                           : bytes;
        size_t *idx = malloc(nkeys * sizeof *idx);
        if (idx == NULL) {
            free(tmp.rows);
            free(flows);
            free(packets);
            free(bytes);
            return FL_ENOMEM;
        }
        for (size_t bk = 0; bk < nbuckets; bk++) {
            step_col col = {vals + bk, nbuckets};
            for (size_t k = 0; k < nkeys; k++)
                idx[k] = k;
            qsort_r(idx, nkeys, sizeof *idx, cmp_step, &col);
            for (size_t r = top; r < nkeys; r++) {
                size_t o = nkeys * nbuckets + bk, me = idx[r] * nbuckets + bk;
                flows[o] += flows[me];
                packets[o] += packets[me];
                bytes[o] += bytes[me];
                flows[me] = packets[me] = bytes[me] = -1; /* not in this step's top */
            }
        }
        free(idx);
    }
    agg_free(&totals);
    for (size_t i = 0; i < res->nseries * nbuckets; i++)
        res->values[i] = flows[i] < 0 ? 0
                                      : metric_value(s->metric, flows[i], packets[i], bytes[i],
                                                     step_s);
    free(tmp.rows);
    free(flows);
    free(packets);
    free(bytes);
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

static fl_rc check_spec(const fl_query_spec *s, fl_err *e)
{
    if ((s->op == FL_QOP_STATS || s->op == FL_QOP_TOPSERIES) && s->nkeys != 1)
        return fl_err_set(e, FL_EINVAL, "statistics need exactly one element");
    if (s->op == FL_QOP_AGGREGATE && (s->nkeys == 0 || s->nkeys > FL_QUERY_MAX_KEYS))
        return fl_err_set(e, FL_EINVAL, "aggregation needs 1 to %d fields", FL_QUERY_MAX_KEYS);
    if (s->op == FL_QOP_SERIES || s->op == FL_QOP_TOPSERIES) {
        if (s->start == 0 && s->end == 0)
            return fl_err_set(e, FL_EINVAL, "a time series needs a time window (-t)");
        if (s->step <= 0)
            return fl_err_set(e, FL_EINVAL, "a time series needs a positive step");
        if ((s->end - s->start) / s->step + 1 > MAX_BUCKETS)
            return fl_err_set(e, FL_ELIMIT, "a time series of more than %u steps; use a larger step",
                              MAX_BUCKETS);
    }
    if (s->start > s->end)
        return fl_err_set(e, FL_EINVAL, "time window starts after it ends");
    return FL_OK;
}

/* The top keys of a two-pass topseries (see topseries_two_pass). */
typedef struct ts_plan {
    const agg_table *map; /* key -> series index + 1, in the flows counter */
    size_t nseries;       /* top keys + Other */
} ts_plan;

static fl_rc query_run(const fl_query_spec *spec, fl_source src, const ts_plan *ts,
                       fl_qresult **out, fl_err *e)
{
    run ru;
    worker *ws = NULL;
    unsigned nthreads = spec->threads;
    fl_qresult *res = NULL;
    fl_rc rc;
    size_t budget = budget_of(spec);
    agg_ptable *pt = NULL;

    *out = NULL;
    rc = check_spec(spec, e);
    if (rc != FL_OK)
        return rc;
    if (nthreads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (unsigned)n : 1;
    }
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    memset(&ru, 0, sizeof ru);
    ru.spec = spec;
    ru.src = src;
    ru.budget_per_thread = budget / nthreads;
    ru.nthreads = nthreads;
    if (ts) {
        ru.ts_map = ts->map;
        ru.ts_nseries = ts->nseries;
    }
    pthread_mutex_init(&ru.lock, NULL);
    if (spec->op == FL_QOP_SERIES || spec->op == FL_QOP_TOPSERIES) {
        ru.bstart = spec->start - spec->start % spec->step;
        ru.nbuckets = (size_t)((spec->end - ru.bstart) / spec->step) + 1;
    }
    ws = calloc(nthreads, sizeof *ws);
    res = calloc(1, sizeof *res);
    if (ws == NULL || res == NULL) {
        rc = fl_err_set(e, FL_ENOMEM, "out of memory starting the query");
        goto out;
    }
    res->op = spec->op;
    if ((spec->op == FL_QOP_STATS || spec->op == FL_QOP_AGGREGATE ||
         spec->op == FL_QOP_TOPSERIES) &&
        small_domain(spec) == 0 && ts == NULL) {
        unsigned nk = spec->op == FL_QOP_AGGREGATE ? spec->nkeys
                      : (spec->op == FL_QOP_TOPSERIES || spec->per_proto) ? 2 : 1;
        pt = malloc(sizeof *pt);
        if (pt == NULL) {
            rc = fl_err_set(e, FL_ENOMEM, "out of memory starting the query");
            goto out;
        }
        rc = agg_ptable_init(pt, nk, budget);
        if (rc != FL_OK) {
            char bt[32];
            rc = fl_err_set(e, rc, "query needs more memory than its budget of %s%s",
                            budget_text(budget, bt, sizeof bt),
                            rc == FL_ELIMIT ? " for its empty tables" : "");
            goto out;
        }
        ru.pt = pt;
        ru.codes_budget.limit = budget / (AGG_PARTS + 2) * 2;
    }
    ru.ord_key = -1;
    ru.ws = ws;
    if (pt && ts == NULL && spec->op != FL_QOP_TOPSERIES && src.order_floor) {
        fl_addr f;
        int c = fl_query_order_col(spec);
        if (c >= 0 && c == (int)src.order_col && src.order_floor(src.ctx, &f)) {
            fl_order o = spec->order == FL_ORDER_NONE ? FL_ORDER_FLOWS : spec->order;
            ru.keep = malloc(sizeof *ru.keep);
            if (ru.keep == NULL || keep_init(ru.keep, spec, pt->nk, spec->limit, o) != FL_OK) {
                rc = fl_err_set(e, FL_ENOMEM, "out of memory starting the query");
                goto out;
            }
            ru.ord_key = order_key_part(spec, c);
        }
    }
    for (unsigned i = 0; i < nthreads; i++) {
        ws[i].id = i;
        if (worker_init(&ws[i], &ru) != FL_OK) {
            rc = fl_err_set(e, FL_ENOMEM, "out of memory starting the query");
            nthreads = i + 1;
            goto out;
        }
    }
    if (nthreads == 1) {
        worker_main(&ws[0]);
    } else {
        for (unsigned i = 0; i < nthreads; i++)
            if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
                /* run with the threads we have */
                pthread_mutex_lock(&ru.lock);
                nthreads = i;
                pthread_mutex_unlock(&ru.lock);
                break;
            }
        if (nthreads == 0)
            worker_main(&ws[0]), nthreads = 1;
        else
            for (unsigned i = 0; i < nthreads; i++)
                pthread_join(ws[i].tid, NULL);
    }
    for (unsigned i = 0; i < nthreads; i++)
        if (ws[i].rc != FL_OK) {
            rc = ws[i].rc;
            if (rc == FL_ELIMIT && pt) {
                char bt[32];
                rc = fl_err_set(e, FL_ELIMIT,
                                "query needs more memory than its budget of %s for more than %zu "
                                "distinct keys; narrow the window or filter, or raise the budget",
                                budget_text(budget, bt, sizeof bt), agg_ptable_used(pt));
            } else if (e) {
                *e = ws[i].err;
                e->rc = rc;
            }
            goto out;
        }

    /* merge */
    res->total.first = INT64_MAX;
    res->total.last = INT64_MIN;
    for (unsigned i = 0; i < nthreads; i++) {
        if (ws[i].total.flows)
            agg_add_counters(&res->total, &ws[i].total);
        res->scanned += ws[i].scanned;
        for (int p = 0; p < 4; p++) {
            res->proto_flows[p] += ws[i].proto_flows[p];
            res->proto_packets[p] += ws[i].proto_packets[p];
            res->proto_bytes[p] += ws[i].proto_bytes[p];
        }
        if (i > 0 && ws[0].small)
            for (uint32_t v = 0; v < ws[0].small_n; v++)
                if (ws[i].small[v].flows)
                    agg_add_counters(&ws[0].small[v], &ws[i].small[v]);
        if (i > 0 && ru.ts_map)
            for (size_t k = 0; k < ru.ts_nseries * ru.nbuckets; k++) {
                ws[0].ts_flows[k] += ws[i].ts_flows[k];
                ws[0].ts_packets[k] += ws[i].ts_packets[k];
                ws[0].ts_bytes[k] += ws[i].ts_bytes[k];
            }
        if (i > 0 && spec->op == FL_QOP_SERIES)
            for (size_t k = 0; k < ru.nbuckets; k++) {
                ws[0].bucket_bytes[k] += ws[i].bucket_bytes[k];
                ws[0].bucket_packets[k] += ws[i].bucket_packets[k];
                ws[0].bucket_flows[k] += ws[i].bucket_flows[k];
            }
        if (i > 0 && spec->op == FL_QOP_LIST && ws[i].list) {
            rc = list_reserve(&ws[0], (ws[0].list ? ws[0].list->n : 0) + ws[i].list->n);
            if (rc != FL_OK) {
                if (e)
                    *e = ws[0].err;
                goto out;
            }
            for (uint32_t r = 0; r < ws[i].list->n; r++)
                copy_row(ws[0].list, ws[0].list->n++, ws[i].list, r);
            for (int k = 0; k < FL_PRESENT_WORDS; k++)
                ws[0].list->present[k] |= ws[i].list->present[k];
        }
    }
    if (res->total.flows == 0)
        res->total.first = res->total.last = 0;

    switch (spec->op) {
    case FL_QOP_STATS:
        if (ws[0].small) {
            rc = small_to_rows(res, ws[0].small, ws[0].small_n);
            apply_having(spec, res);
            if (rc == FL_OK)
                rc = order_rows(res, spec->order == FL_ORDER_NONE ? FL_ORDER_FLOWS : spec->order,
                                spec->ascending, spec->top, 2);
        } else {
            rc = ptable_finish(spec, res, pt, ru.keep,
                               spec->order == FL_ORDER_NONE ? FL_ORDER_FLOWS : spec->order,
                               spec->top, spec->per_proto);
        }
        break;
    case FL_QOP_AGGREGATE:
        rc = ptable_finish(spec, res, pt, ru.keep,
                           spec->order == FL_ORDER_NONE ? FL_ORDER_FLOWS : spec->order,
                           spec->limit, 0);
        break;
    case FL_QOP_LIST:
        /* rows from several threads arrive interleaved: restore time order
         * unless another order was asked for */
        if (nthreads > 1 && spec->order == FL_ORDER_NONE) {
            fl_query_spec s2 = *spec;
            s2.order = FL_ORDER_TSTART;
            rc = finish_list(&s2, res, ws[0].list);
        } else {
            rc = finish_list(spec, res, ws[0].list);
        }
        break;
    case FL_QOP_SERIES: {
        double step_s = (double)spec->step / 1000.0;
        res->nseries = 1;
        res->values = calloc(ru.nbuckets, sizeof(double));
        if (res->values == NULL) {
            rc = FL_ENOMEM;
            break;
        }
        for (size_t k = 0; k < ru.nbuckets; k++)
            res->values[k] = metric_value(spec->metric, ws[0].bucket_flows[k],
                                          ws[0].bucket_packets[k], ws[0].bucket_bytes[k], step_s);
        break;
    }
    case FL_QOP_TOPSERIES:
        if (ru.ts_map) {
            /* the two-pass plan: the matrix is already folded */
            double step_s = (double)spec->step / 1000.0;
            size_t cells = ru.ts_nseries * ru.nbuckets;
            res->has_other = 1;
            res->nseries = ru.ts_nseries;
            res->series_keys = calloc(ru.ts_nseries, sizeof(fl_addr));
            res->values = calloc(cells ? cells : 1, sizeof(double));
            if (res->series_keys == NULL || res->values == NULL) {
                rc = FL_ENOMEM;
                break;
            }
            for (size_t k = 0; k < cells; k++)
                res->values[k] = metric_value(spec->metric, (double)ws[0].ts_flows[k],
                                              (double)ws[0].ts_packets[k],
                                              (double)ws[0].ts_bytes[k], step_s);
        } else {
            rc = finish_topseries(spec, res, pt, ru.nbuckets);
        }
        break;
    case FL_QOP_SUMMARY:
        break;
    }
    res->series_start = ru.bstart;
    res->step = spec->step;
    res->nbuckets = ru.nbuckets;
    if (rc != FL_OK) {
        fl_err_set(e, rc, "query: %s", fl_strerror(rc));
        goto out;
    }
    *out = res;
    res = NULL;
out:
    if (ws)
        for (unsigned i = 0; i < nthreads; i++)
            worker_free(&ws[i]);
    free(ws);
    if (pt) {
        agg_ptable_free(pt);
        free(pt);
    }
    if (ru.keep) {
        keep_free(ru.keep);
        free(ru.keep);
    }
    fl_qresult_free(res);
    pthread_mutex_destroy(&ru.lock);
    return rc;
}

/* Progress of one pass of a two-pass plan, as half of the whole. */
typedef struct half_progress {
    const fl_query_spec *spec;
    double base;
} half_progress;

static void on_half_progress(void *ctx, double f)
{
    const half_progress *h = ctx;
    h->spec->on_progress(h->spec->progress_ctx, h->base + f / 2);
}

/*
 * Topseries with N chosen over the whole window, in two passes over a
 * source that can start again: the first finds the top N keys (a stats
 * question: one entry per key, ranked exactly as the one-pass plan ranks
 * its per-key totals), the second folds each row into its key's series
 * or Other at its step — (N + 1) x steps counters, instead of a table of
 * every (key, step) pair (3 M pairs for dstport over a day of 5-minute
 * steps). Same answer as the one-pass plan (tests/query compare them).
 */
static fl_rc topseries_two_pass(const fl_query_spec *spec, fl_source src, fl_qresult **out,
                                fl_err *e)
{
    fl_query_spec s1 = *spec, s2 = *spec;
    half_progress h1 = {spec, 0}, h2 = {spec, 0.5};
    fl_qresult *r1 = NULL;
    agg_table map;
    ts_plan ts;
    fl_rc rc;

    s1.op = FL_QOP_STATS;
    s1.order = spec->metric == FL_METRIC_FLOWS || spec->metric == FL_METRIC_FPS ? FL_ORDER_FLOWS
               : spec->metric == FL_METRIC_PACKETS || spec->metric == FL_METRIC_PPS
                   ? FL_ORDER_PACKETS
                   : FL_ORDER_BYTES;
    s1.ascending = 0;
    s1.top = spec->top ? spec->top : 10;
    s1.per_proto = 0;
    s1.having_op = 0;
    if (spec->on_progress) {
        s1.on_progress = on_half_progress;
        s1.progress_ctx = &h1;
        s2.on_progress = on_half_progress;
        s2.progress_ctx = &h2;
    }
    if ((rc = query_run(&s1, src, NULL, &r1, e)) != FL_OK)
        return rc;
    if ((rc = src.rewind(src.ctx, e)) != FL_OK) {
        fl_qresult_free(r1);
        return rc;
    }
    if (agg_init(&map, 1, (size_t)1 << 40) != FL_OK) {
        fl_qresult_free(r1);
        return fl_err_set(e, FL_ENOMEM, "out of memory for the top keys");
    }
    for (size_t k = 0; k < r1->nrows; k++) {
        agg_entry *en;
        if (agg_find(&map, &r1->rows[k].key[0], agg_hash(&r1->rows[k].key[0], 1), &en) != FL_OK) {
            rc = fl_err_set(e, FL_ENOMEM, "out of memory for the top keys");
            goto out;
        }
        en->c.flows = k + 1;
    }
    ts.map = &map;
    ts.nseries = r1->nrows + 1;
    if ((rc = query_run(&s2, src, &ts, out, e)) != FL_OK)
        goto out;
    (*out)->distinct = r1->distinct;
    for (size_t k = 0; k < r1->nrows; k++)
        (*out)->series_keys[k] = r1->rows[k].key[0];
out:
    agg_free(&map);
    fl_qresult_free(r1);
    return rc;
}

fl_rc fl_query_run(const fl_query_spec *spec, fl_source src, fl_qresult **out, fl_err *e)
{
    *out = NULL;
    if (spec->op == FL_QOP_TOPSERIES && !spec->per_step_top && src.rewind != NULL &&
        check_spec(spec, NULL) == FL_OK)
        return topseries_two_pass(spec, src, out, e);
    return query_run(spec, src, NULL, out, e);
}

void fl_qresult_free(fl_qresult *r)
{
    if (r == NULL)
        return;
    free(r->rows);
    fl_batch_free(r->list);
    free(r->values);
    free(r->series_keys);
    free(r);
}
