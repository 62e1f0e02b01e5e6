/*
 * query/query_int.h — what the query module's files share.
 */
#ifndef FL_QUERY_INT_H
#define FL_QUERY_INT_H

#include "query.h"

#include <pthread.h>

/* How a key value prints. */
typedef enum qkey_type { QK_NUMBER, QK_ADDR, QK_MAC, QK_MPLS, QK_PROTO, QK_COUNTRY } qkey_type;

typedef struct qelem {
    const char *name;
    const char *header; /* nfdump's column header */
    fl_col col[2];
    int ncols;
    qkey_type type;
} qelem;

/* Element by name (exact), NULL if unknown. */
const qelem *query_elem(const char *name, size_t len);
/* Element whose first column is c, NULL if none. */
const qelem *query_elem_by_col(fl_col c);
/* Print a key value of the given column into buf. */
void query_key_format(fl_col c, fl_addr v, int plain, char *buf, size_t len);
const char *query_proto_name(uint8_t proto, int plain);

/* agg.c: hash aggregation table */
typedef struct agg_entry {
    uint64_t hash; /* 0 = empty */
    fl_qcounters c;
    fl_addr key[]; /* nk slots */
} agg_entry;

/* Bytes several tables draw on together (atomic). */
typedef struct agg_budget {
    size_t limit, used;
} agg_budget;

typedef struct agg_table {
    unsigned char *mem;
    size_t slots, used, stride, budget;
    agg_budget *shared; /* when set, the budget that counts (budget unused) */
    size_t cap;         /* with shared: this table's most bytes (its fair share) */
    unsigned nk;
    int mapped;         /* mem is an mmap, not a malloc */
} agg_table;

/* A table of nk keys that may grow to budget bytes. FL_ENOMEM. */
fl_rc agg_init(agg_table *t, unsigned nk, size_t budget);
void agg_free(agg_table *t);
uint64_t agg_hash(const fl_addr *k, unsigned nk);
static inline agg_entry *agg_at(const agg_table *t, size_t i)
{
    return (agg_entry *)(t->mem + i * t->stride);
}
/* The slot hash h probes first: h's bits below the partition bits
 * scaled to the table's size (any size, not only powers of two, so a
 * table near its budget can grow by less than double). */
static inline size_t agg_slot(const agg_table *t, uint64_t h)
{
    return (size_t)(((unsigned __int128)(h << 5) * t->slots) >> 64);
}
/* The slot after i (linear probing, wrapping). */
static inline size_t agg_next(const agg_table *t, size_t i)
{
    return i + 1 == t->slots ? 0 : i + 1;
}
/* 1 when entry en holds key k (its t->nk parts) */
static inline int agg_key_eq(const agg_table *t, const agg_entry *en, const fl_addr *k)
{
    unsigned j = 0;
    while (j < t->nk && en->key[j].lo == k[j].lo && en->key[j].hi == k[j].hi)
        j++;
    return j == t->nk;
}

/* agg_find's general path: grows the table when due (agg.c). */
fl_rc agg_find_grow(agg_table *t, const fl_addr *k, uint64_t h, agg_entry **out);
/* Find or insert key k (hash h). FL_ELIMIT past the budget. The probe of
 * a key already held (the common case) is inline. */
static inline fl_rc agg_find(agg_table *t, const fl_addr *k, uint64_t h, agg_entry **out)
{
    size_t i;

    if ((t->used + 1) * 4 > t->slots * 3)
        return agg_find_grow(t, k, h, out);
    for (i = agg_slot(t, h);; i = agg_next(t, i)) {
        agg_entry *en = agg_at(t, i);
        if (en->hash == 0)
            return agg_find_grow(t, k, h, out);
        if (en->hash == h && agg_key_eq(t, en, k)) {
            *out = en;
            return FL_OK;
        }
    }
}
/* Start loading the slot hash h probes first. */
static inline void agg_prefetch(const agg_table *t, uint64_t h)
{
    __builtin_prefetch(t->mem + agg_slot(t, h) * t->stride, 1);
}
static inline void agg_add_counters(fl_qcounters *into, const fl_qcounters *c)
{
    into->flows += c->flows;
    into->packets += c->packets;
    into->bytes += c->bytes;
    into->out_packets += c->out_packets;
    into->out_bytes += c->out_bytes;
    if (c->first < into->first)
        into->first = c->first;
    if (c->last > into->last)
        into->last = c->last;
    into->tcp_flags |= c->tcp_flags;
}
fl_rc agg_merge(agg_table *into, const agg_table *from);
/* Take bytes from a shared budget (atomic); 0 when that would pass its
 * limit. Give them back with agg_budget_give. */
int agg_budget_take(agg_budget *b, size_t bytes);
void agg_budget_give(agg_budget *b, size_t bytes);

/* One table split by hash into AGG_PARTS locked partitions over one
 * budget, shared by every scanning thread (see agg.c). A key of hash h
 * lives in partition agg_part_of(h); fold into part[p].t only holding
 * part[p].lock. */
#define AGG_PART_BITS 5 /* agg_slot skips these top hash bits */
#define AGG_PARTS (1u << AGG_PART_BITS)
typedef struct agg_part {
    agg_table t;
    pthread_mutex_t lock;
} __attribute__((aligned(64))) agg_part;

typedef struct agg_ptable {
    agg_part part[AGG_PARTS];
    agg_budget budget;
    unsigned nk;
    int ready;
} agg_ptable;

static inline unsigned agg_part_of(uint64_t h)
{
    return (unsigned)(h >> (64 - AGG_PART_BITS));
}
/* FL_ELIMIT when even the empty partitions pass the budget, FL_ENOMEM.
 * agg_ptable_free must be called either way. */
fl_rc agg_ptable_init(agg_ptable *t, unsigned nk, size_t budget);
void agg_ptable_free(agg_ptable *t);
/* Keys held (no fold may be running). */
size_t agg_ptable_used(const agg_ptable *t);

#endif
