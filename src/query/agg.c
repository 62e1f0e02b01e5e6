/*
 * query/agg.c — the hash tables behind stats, aggregate and topseries.
 *
 * agg_table: open addressing with linear probing over fixed-stride
 * entries (a 64-bit hash, the counters, then nk 128-bit key slots). It
 * grows by doubling, by less near its byte budget (any table size works:
 * the hash is scaled to it, agg_slot), and refuses to grow past the
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
#define AGG_PART_MIN_SLOTS 64
#define AGG_MAP_MIN ((size_t)2 << 20) /* map (and ask for huge pages) from 2 MiB */

static size_t entry_stride(unsigned nk)
{
    return sizeof(agg_entry) + (size_t)nk * sizeof(fl_addr);
}

/* Zeroed memory for a table of the given size; *mapped says how to free. */
static void *table_alloc(size_t bytes, int *mapped)
{
    void *p;

    *mapped = 0;
    if (bytes < AGG_MAP_MIN)
        return calloc(1, bytes);
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    *mapped = 1;
    return p;
}

static void table_release(void *p, size_t bytes, int mapped)
{
    if (p == NULL)
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

static fl_rc table_init(agg_table *t, unsigned nk, size_t slots, size_t budget,
                        agg_budget *shared)
{
    size_t bytes;

    memset(t, 0, sizeof *t);
    t->nk = nk;
    t->stride = entry_stride(nk);
    t->budget = budget;
    t->shared = shared;
    t->slots = slots;
    bytes = t->slots * t->stride;
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
    return table_init(t, nk, AGG_MIN_SLOTS, budget, NULL);
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
        agg_entry *o = (agg_entry *)(old + i * t->stride);
        size_t j;
        if (o->hash == 0)
            continue;
        j = agg_slot(t, o->hash);
        while (agg_at(t, j)->hash != 0)
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

    for (unsigned shift = 0; shift < 4 && rc == FL_ELIMIT; shift++) {
        size_t n = t->slots + (t->slots >> shift);
        rc = agg_resize(t, n < most ? n : most);
    }
    return rc;
}

fl_rc agg_find_grow(agg_table *t, const fl_addr *k, uint64_t h, agg_entry **out)
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
    i = agg_slot(t, h);
    for (;;) {
        agg_entry *en = agg_at(t, i);
        if (en->hash == 0) {
            en->hash = h;
            memcpy(en->key, k, (size_t)t->nk * sizeof(fl_addr));
            en->c.first = INT64_MAX;
            en->c.last = INT64_MIN;
            t->used++;
            *out = en;
            return FL_OK;
        }
        if (en->hash == h && agg_key_eq(t, en, k)) {
            *out = en;
            return FL_OK;
        }
        i = agg_next(t, i);
    }
}

fl_rc agg_merge(agg_table *into, const agg_table *from)
{
    for (size_t i = 0; i < from->slots; i++) {
        const agg_entry *en = agg_at(from, i);
        agg_entry *dst;
        fl_rc rc;
        if (en->hash == 0)
            continue;
        rc = agg_find(into, en->key, en->hash, &dst);
        if (rc != FL_OK)
            return rc;
        agg_add_counters(&dst->c, &en->c);
    }
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
    for (unsigned p = 0; p < AGG_PARTS && rc == FL_OK; p++) {
        rc = table_init(&t->part[p].t, nk, AGG_PART_MIN_SLOTS, 0, &t->budget);
        /* a fair share each, with room for two growing at once (old and
         * new table held together), so the first partitions to fill do
         * not take the budget the others will need */
        t->part[p].t.cap = budget / (AGG_PARTS + 2);
    }
    t->ready = 1;
    return rc;
}

void agg_ptable_free(agg_ptable *t)
{
    if (!t->ready)
        return;
    for (unsigned p = 0; p < AGG_PARTS; p++) {
        agg_free(&t->part[p].t);
        pthread_mutex_destroy(&t->part[p].lock);
    }
    t->ready = 0;
}

size_t agg_ptable_used(const agg_ptable *t)
{
    size_t n = 0;

    for (unsigned p = 0; p < AGG_PARTS; p++)
        n += t->part[p].t.used;
    return n;
}
