/*
 * query/query_int.h — what the query module's files share.
 */
#ifndef FL_QUERY_INT_H
#define FL_QUERY_INT_H

#include "query.h"

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

typedef struct agg_table {
    unsigned char *mem;
    size_t slots, used, stride, budget;
    unsigned nk;
} agg_table;

fl_rc agg_init(agg_table *t, unsigned nk, size_t budget);
void agg_free(agg_table *t);
uint64_t agg_hash(const fl_addr *k, unsigned nk);
/* Find or insert key k (hash h). FL_ELIMIT past the budget. */
fl_rc agg_find(agg_table *t, const fl_addr *k, uint64_t h, agg_entry **out);
agg_entry *agg_at(const agg_table *t, size_t i);
void agg_add_counters(fl_qcounters *into, const fl_qcounters *c);
fl_rc agg_merge(agg_table *into, const agg_table *from);

#endif
