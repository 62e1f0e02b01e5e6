/*
 * query/agg.c — the hash tables behind stats, aggregate and topseries.
 *
 * agg_table: open addressing with linear probing over fixed-stride
 * entries (the counters, then the keys: query_int.h has the layout; no
 * hash is kept, it is computed again from the key when the table grows).
 * It grows by doubling, by less near its byte budget (any table size
 * works: the hash is scaled to it, agg_slot), and refuses to grow past the
 * budget, which turns a runaway query into a clear FL_ELIMIT instead of an
 * OOM kill.
 *
 * agg_ptable: the engine's one table per query, split by the top bits of
 * the key hash into AGG_PARTS agg_tables, each with its own lock and all
 * drawing on one shared budget. Scanning threads sort each window of rows
 * by partition and fold a partition's rows under its lock, so every key is
 * held once (not once per thread, then merged: for millions of keys that
 * doubled the memory and left a serial merge at the end), a partition
 * grows on its own (rehashing 1/AGG_PARTS of the keys at a time), and the
 * threads rarely meet (each starts its sweep at another partition and
 * first skips the partitions it cannot lock at once).
 *
 * Large tables are mapped directly and asked for transparent huge pages:
 * faulting in gigabytes of 4 KiB pages cost more system time than the
 * aggregation itself.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define AGG_MIN_SLOTS 1024
#define AGG_PART_MIN_SLOTS 16
#define AGG_MAP_MIN ((size_t)2 << 20) /* map (and ask for huge pages) from 2 MiB */

/* An entry of up to 64 bytes takes a whole (aligned) cache line: the
 * probe that prefetched its first byte then finds all of it there. */
static size_t entry_stride(unsigned nk, int wide, int out)
{
    size_t n = sizeof(agg_entry) + (out ? 16 : 0) + (size_t)nk * (wide ? 16 : 8);
    return n <= 64 ? 64 : n;
}

void agg_counters(const agg_table *t, const agg_entry *en, fl_qcounters *c)
{
    c->flows = en->c.flows;
    c->packets = en->c.packets;
    c->bytes = en->c.bytes;
    c->out_packets = t->out ? en->w[0] : 0;
    c->out_bytes = t->out ? en->w[1] : 0;
    c->first = en->c.first;
    c->last = en->c.last;
    c->tcp_flags = (uint8_t)en->c.tcp_flags;
}

/* Key k (t->nk parts) into entry en, in t's width. */
static void entry_set_keys(const agg_table *t, agg_entry *en, const fl_addr *k)
{
    uint64_t *kw = en->w + (t->out ? 2 : 0);

    for (unsigned j = 0; j < t->nk; j++) {
        if (t->wide) {
            kw[2 * j] = k[j].hi;
            kw[2 * j + 1] = k[j].lo;
        } else {
            kw[j] = k[j].lo;
        }
    }
}

/* Entry en's keys into k (t->nk of them). */
static void entry_keys(const agg_table *t, const agg_entry *en, fl_addr *k)
{
    for (unsigned j = 0; j < t->nk; j++)
        k[j] = agg_key(t, en, j);
}

/* Entry from of table f into the empty entry to of table t (the same
 * key width; t holds the reverse counters). */
static void entry_copy(agg_table *t, agg_entry *to, const agg_table *f, const agg_entry *from)
{
    to->c = from->c;
    to->w[0] = 0;
    to->w[1] = 0;
    memcpy((uint64_t *)(uintptr_t)agg_keyw(t, to), agg_keyw(f, from),
           (size_t)t->nk * (t->wide ? 16 : 8));
}

/* Zeroed memory for a table of the given size; *mapped says how to free. */
static void *table_alloc(size_t bytes, int *mapped)
{
    void *p;

    *mapped = 0;
    if (bytes < AGG_MAP_MIN) {
        /* cache-line aligned (a mapping is page aligned) */
        p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        if (p != NULL)
            memset(p, 0, bytes);
        return p;
    }
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    *mapped = 1;
    return p;
}

/* The memory of a table not made yet (no slots): a line the hot path may
 * prefetch without testing for it, never read or written (agg_find grows
 * a table with no slots first). */
static _Alignas(64) unsigned char no_slots[64];

static void table_release(void *p, size_t bytes, int mapped)
{
    if (p == NULL || p == no_slots)
        return;
    if (mapped)
        munmap(p, bytes);
    else
        free(p);
}

/* Take bytes from the shared budget; 0 when that would pass its limit. */
int agg_budget_take(agg_budget *b, size_t bytes)
{
    size_t cur = __atomic_load_n(&b->used, __ATOMIC_RELAXED);

    do {
        if (cur + bytes > b->limit || cur + bytes < cur)
            return 0;
    } while (!__atomic_compare_exchange_n(&b->used, &cur, cur + bytes, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return 1;
}

void agg_budget_give(agg_budget *b, size_t bytes)
{
    __atomic_fetch_sub(&b->used, bytes, __ATOMIC_RELAXED);
}

static fl_rc table_init(agg_table *t, unsigned nk, int wide, int out, size_t slots,
                        size_t budget, agg_budget *shared)
{
    size_t bytes;

    memset(t, 0, sizeof *t);
    t->nk = nk;
    t->wide = wide;
    t->out = out;
    t->stride = entry_stride(nk, wide, out);
    t->budget = budget;
    t->shared = shared;
    t->slots = slots;
    bytes = t->slots * t->stride;
    if (slots == 0) {
        t->mem = no_slots; /* memory on first insert (agg_grow) */
        return FL_OK;
    }
    if (shared && !agg_budget_take(shared, bytes))
        return FL_ELIMIT;
    t->mem = table_alloc(bytes, &t->mapped);
    if (t->mem == NULL) {
        if (shared)
            agg_budget_give(shared, bytes);
        return FL_ENOMEM;
    }
    return FL_OK;
}

fl_rc agg_init(agg_table *t, unsigned nk, size_t budget)
{
    return table_init(t, nk, 1, 1, AGG_MIN_SLOTS, budget, NULL);
}

void agg_free(agg_table *t)
{
    if (t->mem && t->shared)
        agg_budget_give(t->shared, t->slots * t->stride);
    table_release(t->mem, t->slots * t->stride, t->mapped);
    t->mem = NULL;
}

uint64_t agg_hash(const fl_addr *k, unsigned nk)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;

    for (unsigned i = 0; i < nk; i++) {
        h ^= k[i].hi + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdULL;
        h ^= k[i].lo;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 29;
    }
    return h | 1; /* 0 marks an empty slot */
}

/* Rehash into a table of nslots (more than now). */
static fl_rc agg_resize(agg_table *t, size_t nslots)
{
    size_t nbytes = nslots * t->stride;
    unsigned char *old = t->mem;
    size_t oslots = t->slots;
    int omapped = t->mapped, nmapped;
    unsigned char *nmem;

    if (nslots <= oslots || nbytes / t->stride != nslots)
        return FL_ELIMIT;
    if (t->shared ? !agg_budget_take(t->shared, nbytes) : nbytes > t->budget)
        return FL_ELIMIT;
    nmem = table_alloc(nbytes, &nmapped);
    if (nmem == NULL) {
        if (t->shared)
            agg_budget_give(t->shared, nbytes);
        return FL_ENOMEM;
    }
    t->mem = nmem;
    t->mapped = nmapped;
    t->slots = nslots;
    for (size_t i = 0; i < oslots; i++) {
        agg_entry *o = (agg_entry *)(void *)(old + i * t->stride);
        fl_addr k[FL_QUERY_MAX_KEYS];
        size_t j;
        if (o->c.flows == 0)
            continue;
        entry_keys(t, o, k);
        j = agg_slot(t, agg_hash(k, t->nk));
        while (agg_at(t, j)->c.flows != 0)
            j = agg_next(t, j);
        memcpy(agg_at(t, j), o, t->stride);
    }
    table_release(old, oslots * t->stride, omapped);
    if (t->shared)
        agg_budget_give(t->shared, oslots * t->stride);
    return FL_OK;
}

/* Double, or up to the table's cap; where that would pass the budget,
 * grow by 1/2, 1/4 or 1/8. */
static fl_rc agg_grow(agg_table *t)
{
    fl_rc rc = FL_ELIMIT;
    size_t most = t->cap ? t->cap / t->stride : SIZE_MAX / 2;

    if (t->slots == 0) /* made on first use */
        return agg_resize(t, AGG_PART_MIN_SLOTS < most ? AGG_PART_MIN_SLOTS : most);
    for (unsigned shift = 0; shift < 4 && rc == FL_ELIMIT; shift++) {
        size_t n = t->slots + (t->slots >> shift);
        rc = agg_resize(t, n < most ? n : most);
    }
    return rc;
}

fl_rc agg_find_grow(agg_table *t, const fl_addr *k, agg_entry **out)
{
    size_t i;

    /* grow at 3/4 full; where even 1/8 more would pass the budget, keep
     * filling up to 7/8 (longer probes, but a question that fits still
     * runs) */
    if ((t->used + 1) * 4 > t->slots * 3) {
        fl_rc rc = agg_grow(t);
        if (rc == FL_ELIMIT && (t->used + 1) * 8 <= t->slots * 7)
            rc = FL_OK;
        if (rc != FL_OK)
            return rc;
    }
    i = agg_slot(t, agg_hash(k, t->nk));
    for (;;) {
        agg_entry *en = agg_at(t, i);
        if (en->c.flows == 0) {
            entry_set_keys(t, en, k);
            en->c.first = INT64_MAX;
            en->c.last = INT64_MIN;
            t->used++;
            *out = en;
            return FL_OK;
        }
        if (agg_key_eq(t, en, k)) {
            *out = en;
            return FL_OK;
        }
        i = agg_next(t, i);
    }
}

fl_rc agg_drain_below(agg_table *t, unsigned j, fl_addr floor,
                      void (*fn)(void *ctx, const agg_table *t, const agg_entry *en), void *ctx)
{
    unsigned char *keep;
    size_t m = 0;

    if (t->used == 0 || t->slots == 0)
        return FL_OK;
    keep = malloc(t->used * t->stride);
    if (keep == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < t->slots; i++) {
        const agg_entry *en = agg_at(t, i);
        if (en->c.flows == 0)
            continue;
        if (fl_addr_cmp(agg_key(t, en, j), floor) < 0)
            fn(ctx, t, en);
        else
            memcpy(keep + m++ * t->stride, en, t->stride);
    }
    if (m < t->used) {
        memset(t->mem, 0, t->slots * t->stride);
        t->used = m;
        for (size_t i = 0; i < m; i++) {
            agg_entry *o = (agg_entry *)(void *)(keep + i * t->stride);
            fl_addr k[FL_QUERY_MAX_KEYS];
            size_t at;
            entry_keys(t, o, k);
            at = agg_slot(t, agg_hash(k, t->nk));
            while (agg_at(t, at)->c.flows != 0)
                at = agg_next(t, at);
            memcpy(agg_at(t, at), o, t->stride);
        }
    }
    free(keep);
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Partitioned table                                                   */
/* ------------------------------------------------------------------ */

fl_rc agg_ptable_init(agg_ptable *t, unsigned nk, size_t budget)
{
    fl_rc rc = FL_OK;

    memset(t, 0, sizeof *t);
    t->nk = nk;
    t->budget.limit = budget;
    for (unsigned p = 0; p < AGG_PARTS; p++)
        pthread_mutex_init(&t->part[p].lock, NULL);
    for (unsigned p = 0; p < AGG_PARTS && rc == FL_OK; p++)
        for (int w = 0; w < 2 && rc == FL_OK; w++) {
            agg_table *pt = &t->part[p].t[w];
            /* the wide table only once an IPv6 key comes */
            rc = table_init(pt, nk, w, 0, w ? 0 : AGG_PART_MIN_SLOTS, 0, &t->budget);
            /* a fair share each, with room for two growing at once (old
             * and new table held together), so the first partitions to
             * fill do not take the budget the others will need */
            pt->cap = budget / (AGG_PARTS + 2);
        }
    t->ready = 1;
    return rc;
}

void agg_ptable_free(agg_ptable *t)
{
    if (!t->ready)
        return;
    for (unsigned p = 0; p < AGG_PARTS; p++) {
        agg_free(&t->part[p].t[0]);
        agg_free(&t->part[p].t[1]);
        pthread_mutex_destroy(&t->part[p].lock);
    }
    t->ready = 0;
}

size_t agg_ptable_used(const agg_ptable *t)
{
    size_t n = 0;

    for (unsigned i = 0; i < AGG_TABLES; i++)
        n += agg_ptable_at(t, i)->used;
    return n;
}

/* Table t with room for the reverse counters: the same number of slots,
 * every entry at the slot it was in (a slot depends only on the key's
 * hash and the table's size). */
static fl_rc table_add_out(agg_table *t)
{
    agg_table n = *t;
    size_t bytes;

    n.out = 1;
    n.stride = entry_stride(t->nk, t->wide, 1);
    bytes = n.slots * n.stride;
    if (t->slots == 0) { /* not made yet */
        *t = n;
        return FL_OK;
    }
    if (!agg_budget_take(t->shared, bytes))
        return FL_ELIMIT;
    n.mem = table_alloc(bytes, &n.mapped);
    if (n.mem == NULL) {
        agg_budget_give(t->shared, bytes);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < t->slots; i++) {
        const agg_entry *en = agg_at(t, i);
        if (en->c.flows != 0)
            entry_copy(&n, agg_at(&n, i), t, en);
    }
    agg_free(t);
    *t = n;
    return FL_OK;
}

fl_rc agg_ptable_add_out(agg_ptable *t)
{
    fl_rc rc = FL_OK;

    for (unsigned p = 0; p < AGG_PARTS; p++)
        pthread_mutex_lock(&t->part[p].lock);
    /* out of budget half way, the query fails on rc; tables left without
     * the reverse counters are only freed */
    for (unsigned p = 0; p < AGG_PARTS && rc == FL_OK && !t->out; p++)
        for (int w = 0; w < 2 && rc == FL_OK; w++)
            if (!t->part[p].t[w].out)
                rc = table_add_out(&t->part[p].t[w]);
    if (rc == FL_OK)
        __atomic_store_n(&t->out, 1, __ATOMIC_RELEASE);
    for (unsigned p = 0; p < AGG_PARTS; p++)
        pthread_mutex_unlock(&t->part[p].lock);
    return rc;
}
