/*
 * query/agg.c — the hash table behind stats, aggregate and topseries.
 *
 * Open addressing with linear probing over fixed-stride entries: a 64-bit
 * hash, the counters, then nk 128-bit key slots. One table per scanning
 * thread, merged at the end, so the hot path takes no lock. The table
 * grows by doubling and refuses to grow past its byte budget, which turns
 * a runaway query into a clear FL_ELIMIT instead of an OOM kill.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

#define AGG_MIN_SLOTS 1024

static size_t entry_stride(unsigned nk)
{
    return sizeof(agg_entry) + (size_t)nk * sizeof(fl_addr);
}

fl_rc agg_init(agg_table *t, unsigned nk, size_t budget)
{
    memset(t, 0, sizeof *t);
    t->nk = nk;
    t->stride = entry_stride(nk);
    t->budget = budget;
    t->slots = AGG_MIN_SLOTS;
    t->mem = calloc(t->slots, t->stride);
    return t->mem ? FL_OK : FL_ENOMEM;
}

void agg_free(agg_table *t)
{
    free(t->mem);
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

static fl_rc agg_grow(agg_table *t)
{
    size_t nslots = t->slots * 2;
    unsigned char *old = t->mem;
    size_t oslots = t->slots;

    if (nslots * t->stride > t->budget)
        return FL_ELIMIT;
    t->mem = calloc(nslots, t->stride);
    if (t->mem == NULL) {
        t->mem = old;
        return FL_ENOMEM;
    }
    t->slots = nslots;
    for (size_t i = 0; i < oslots; i++) {
        agg_entry *o = (agg_entry *)(old + i * t->stride);
        size_t j;
        if (o->hash == 0)
            continue;
        j = o->hash & (nslots - 1);
        while (agg_at(t, j)->hash != 0)
            j = (j + 1) & (nslots - 1);
        memcpy(agg_at(t, j), o, t->stride);
    }
    free(old);
    return FL_OK;
}

fl_rc agg_find(agg_table *t, const fl_addr *k, uint64_t h, agg_entry **out)
{
    size_t mask, i;

    /* grow at 3/4 full; where doubling would pass the budget, first fill
     * up to 7/8 (longer probes, but a question that fits still runs) */
    if ((t->used + 1) * 4 > t->slots * 3 &&
        (t->slots * 2 * t->stride <= t->budget || (t->used + 1) * 8 > t->slots * 7)) {
        fl_rc rc = agg_grow(t);
        if (rc != FL_OK)
            return rc;
    }
    mask = t->slots - 1;
    i = h & mask;
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
        if (en->hash == h) {
            unsigned j = 0;
            while (j < t->nk && en->key[j].lo == k[j].lo && en->key[j].hi == k[j].hi)
                j++;
            if (j == t->nk) {
                *out = en;
                return FL_OK;
            }
        }
        i = (i + 1) & mask;
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
