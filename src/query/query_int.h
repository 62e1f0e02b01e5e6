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

/* agg.c: hash aggregation table.
 *
 * An entry is its counters, then (when the table holds them) the reverse
 * counters, then its nk keys: 16 bytes each in a wide table, 8 (the low
 * half) in a narrow one, which holds only keys whose every part has a zero
 * high half, as IPv4 addresses, ports and numbers do. A partitioned table
 * keeps such keys in a narrow table and the others (IPv6) in a wide one,
 * and adds the reverse counters (agg_ptable_add_out) only once a fold
 * brings some: for an IPv4 pair an entry is one 64-byte cache line instead
 * of 104 bytes, and for millions of keys the table's fresh memory was the
 * largest cost of the question. An entry with flows 0 is empty: every fold
 * adds at least one flow. */
typedef struct agg_ctr {
    uint64_t flows, packets, bytes;
    fl_time first, last;
    uint64_t tcp_flags;
} agg_ctr;
typedef struct agg_entry {
    agg_ctr c;
    uint64_t w[]; /* [out_packets, out_bytes] if the table has out, then keys */
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
    int wide;           /* keys of 16 bytes (else 8: the low half) */
    int out;            /* entries hold the reverse counters */
    int mapped;         /* mem is an mmap, not a malloc */
} agg_table;

/* A table of nk wide keys with reverse counters that may grow to budget
 * bytes. FL_ENOMEM. */
fl_rc agg_init(agg_table *t, unsigned nk, size_t budget);
void agg_free(agg_table *t);
uint64_t agg_hash(const fl_addr *k, unsigned nk);
static inline agg_entry *agg_at(const agg_table *t, size_t i)
{
    return (agg_entry *)(void *)(t->mem + i * t->stride);
}
static inline const uint64_t *agg_keyw(const agg_table *t, const agg_entry *en)
{
    return en->w + (t->out ? 2 : 0);
}
/* Key part j of entry en. */
static inline fl_addr agg_key(const agg_table *t, const agg_entry *en, unsigned j)
{
    const uint64_t *kw = agg_keyw(t, en);
    fl_addr a;

    if (t->wide) {
        a.hi = kw[2 * j];
        a.lo = kw[2 * j + 1];
    } else {
        a.hi = 0;
        a.lo = kw[j];
    }
    return a;
}
/* All counters of entry en. */
void agg_counters(const agg_table *t, const agg_entry *en, fl_qcounters *c);
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
/* 1 when entry en holds key k (its t->nk parts; in a narrow table every
 * part of k has a zero high half) */
static inline int agg_key_eq(const agg_table *t, const agg_entry *en, const fl_addr *k)
{
    const uint64_t *kw = agg_keyw(t, en);
    unsigned j = 0;

    if (t->wide)
        while (j < t->nk && kw[2 * j + 1] == k[j].lo && kw[2 * j] == k[j].hi)
            j++;
    else
        while (j < t->nk && kw[j] == k[j].lo)
            j++;
    return j == t->nk;
}

/* agg_find's general path: grows the table when due (agg.c). */
fl_rc agg_find_grow(agg_table *t, const fl_addr *k, agg_entry **out);
/* Find or insert key k (hash h). FL_ELIMIT past the budget. The probe of
 * a key already held (the common case) is inline. A new entry is empty
 * (flows 0) until counters are added or its flows set. */
static inline fl_rc agg_find(agg_table *t, const fl_addr *k, uint64_t h, agg_entry **out)
{
    size_t i;

    if ((t->used + 1) * 4 > t->slots * 3)
        return agg_find_grow(t, k, out);
    for (i = agg_slot(t, h);; i = agg_next(t, i)) {
        agg_entry *en = agg_at(t, i);
        if (en->c.flows == 0)
            return agg_find_grow(t, k, out);
        if (agg_key_eq(t, en, k)) {
            *out = en;
            return FL_OK;
        }
    }
}
/* The entry of key k, NULL if none (nothing inserted). */
static inline const agg_entry *agg_lookup(const agg_table *t, const fl_addr *k)
{
    for (size_t i = agg_slot(t, agg_hash(k, t->nk));; i = agg_next(t, i)) {
        const agg_entry *en = agg_at(t, i);
        if (en->c.flows == 0)
            return NULL;
        if (agg_key_eq(t, en, k))
            return en;
    }
}
/* Start loading the slot hash h probes first. (No test for a table not
 * made yet: its memory is a placeholder line; a branch here cost 20% of
 * a -A's CPU.) */
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
/* Add counters c (flows > 0; reverse ones only if the table has them or
 * they are zero) to entry en. */
static inline void agg_add(const agg_table *t, agg_entry *en, const fl_qcounters *c)
{
    en->c.flows += c->flows;
    en->c.packets += c->packets;
    en->c.bytes += c->bytes;
    if (c->first < en->c.first)
        en->c.first = c->first;
    if (c->last > en->c.last)
        en->c.last = c->last;
    en->c.tcp_flags |= c->tcp_flags;
    if (t->out) {
        en->w[0] += c->out_packets;
        en->w[1] += c->out_bytes;
    }
}
/* Take bytes from a shared budget (atomic); 0 when that would pass its
 * limit. Give them back with agg_budget_give. */
int agg_budget_take(agg_budget *b, size_t bytes);
void agg_budget_give(agg_budget *b, size_t bytes);

/* One table split by hash into AGG_PARTS locked partitions over one
 * budget, shared by every scanning thread (see agg.c). A key k of hash h
 * lives in partition agg_part_of(h), in its table agg_part_table(k); fold
 * into part[p]'s tables only holding part[p].lock. */
#define AGG_PART_BITS 5 /* agg_slot skips these top hash bits */
#define AGG_PARTS (1u << AGG_PART_BITS)
typedef struct agg_part {
    agg_table t[2]; /* [0] narrow keys, [1] wide keys */
    pthread_mutex_t lock;
    size_t drain_at; /* ordered source: keys held when to drain next */
} __attribute__((aligned(64))) agg_part;

typedef struct agg_ptable {
    agg_part part[AGG_PARTS];
    agg_budget budget;
    unsigned nk;
    int out; /* the tables hold reverse counters (atomic reads; set under all locks) */
    int ready;
} agg_ptable;

/* The tables of t one after the other: i in [0, AGG_TABLES). */
#define AGG_TABLES (2 * AGG_PARTS)
static inline const agg_table *agg_ptable_at(const agg_ptable *t, unsigned i)
{
    return &t->part[i / 2].t[i % 2];
}

/* Whether key k (nk parts) needs a wide table: a part's high half is set. */
static inline int agg_key_wide(const fl_addr *k, unsigned nk)
{
    uint64_t hi = 0;

    for (unsigned j = 0; j < nk; j++)
        hi |= k[j].hi;
    return hi != 0;
}

static inline unsigned agg_part_of(uint64_t h)
{
    return (unsigned)(h >> (64 - AGG_PART_BITS));
}
/* No reverse counters yet. FL_ELIMIT when even the empty partitions pass
 * the budget, FL_ENOMEM. agg_ptable_free must be called either way. */
fl_rc agg_ptable_init(agg_ptable *t, unsigned nk, size_t budget);
/* Make every table hold reverse counters, unless they already do. Takes
 * every partition's lock: call it holding none, before folding counters
 * that have some. FL_ELIMIT, FL_ENOMEM. */
fl_rc agg_ptable_add_out(agg_ptable *t);
void agg_ptable_free(agg_ptable *t);
/* Hand every entry of t whose key part j is below floor to fn, then
 * take those out (the others are placed again; the table keeps its size
 * and memory). FL_ENOMEM, with nothing taken out, when the scratch for
 * the others cannot be had. */
fl_rc agg_drain_below(agg_table *t, unsigned j, fl_addr floor,
                      void (*fn)(void *ctx, const agg_table *t, const agg_entry *en), void *ctx);
/* Keys held (no fold may be running). */
size_t agg_ptable_used(const agg_ptable *t);

#endif
