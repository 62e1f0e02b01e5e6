/*
 * gen/export_int.h — private to the export encoders (src/gen/export*.c).
 *
 * The exporter state every encoder shares, a bounded big-endian writer and
 * the per-field value writer that NetFlow v9 and IPFIX templates both use.
 * Nothing here is visible outside src/gen.
 */
#ifndef FL_GEN_EXPORT_INT_H
#define FL_GEN_EXPORT_INT_H

#include "gen.h"

#define EXP_MAX_IFS 16     /* interface names announced per options record set */
#define EXP_MAX_SOURCES 64 /* sFlow data sources tracked per exporter */

typedef struct exp_source {
    uint32_t ifindex;
    uint32_t seq;      /* flow samples of this source */
    uint32_t pool;     /* packets seen by this source (sFlow sample_pool) */
    uint64_t octets;   /* estimated octets seen, for counter samples */
    uint64_t packets;
} exp_source;

struct fl_gen_exporter {
    fl_gen_export_config cfg;
    fl_gen_export_stats st;
    fl_time clock;     /* export clock: epoch ms, whole seconds, monotonic */
    uint32_t seq;      /* v5 flows, v9 datagrams, IPFIX data records, sFlow datagrams */
    uint32_t ifs[EXP_MAX_IFS];
    uint32_t nifs;
    exp_source src[EXP_MAX_SOURCES];
    uint32_t nsrc;
    uint32_t counter_seq; /* sFlow counter samples */
    uint32_t counter_next; /* next source to report counters for */
};

/* A bounded writer: writes past cap are dropped and flag `over`. The
 * encoders size everything beforehand, so `over` is a bug check. */
typedef struct exp_w {
    uint8_t *p;
    size_t len, cap;
    int over;
} exp_w;

static inline int exp_room(const exp_w *w, size_t n)
{
    return w->len + n <= w->cap;
}
static inline void exp_u8(exp_w *w, uint64_t v)
{
    if (!exp_room(w, 1)) {
        w->over = 1;
        return;
    }
    w->p[w->len++] = (uint8_t)v;
}
static inline void exp_be(exp_w *w, uint64_t v, unsigned n)
{
    if (!exp_room(w, n)) {
        w->over = 1;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        w->p[w->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    w->len += n;
}
static inline void exp_u16(exp_w *w, uint64_t v) { exp_be(w, v, 2); }
static inline void exp_u32(exp_w *w, uint64_t v) { exp_be(w, v, 4); }
static inline void exp_u64(exp_w *w, uint64_t v) { exp_be(w, v, 8); }
static inline void exp_bytes(exp_w *w, const void *s, size_t n)
{
    if (!exp_room(w, n)) {
        w->over = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        w->p[w->len + i] = ((const uint8_t *)s)[i];
    w->len += n;
}
/* Overwrite 2 bytes at off (lengths filled in after the body). */
static inline void exp_patch16(exp_w *w, size_t off, uint64_t v)
{
    if (off + 2 <= w->cap) {
        w->p[off] = (uint8_t)(v >> 8);
        w->p[off + 1] = (uint8_t)v;
    }
}

/* One template field: information element and its length on the wire. */
typedef struct exp_field {
    uint16_t ie, len;
} exp_field;

/* Write row r's value of element `ie` in `len` bytes: counters, ports,
 * addresses (4 or 16 bytes by the element), masks, interfaces, AS, VLANs,
 * direction, and the times (21/22 relative to x's boot, 152/153 absolute
 * ms). Unknown elements are written as zeros. */
void exp_put_field(exp_w *w, const fl_gen_exporter *x, const fl_batch *b, uint32_t r,
                   exp_field f);
size_t exp_template_len(const exp_field *f, size_t n);

/* Advance x's export clock to cover the last flow end of rows[0..n),
 * rounded up to a whole second; the clock never goes back. */
void exp_clock_advance(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n);
/* Remember the interfaces of rows[0..n) (up to EXP_MAX_IFS). */
void exp_note_ifs(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n);
/* 1-in-N sampling to announce: the config's, else 1. */
uint32_t exp_sampling(const fl_gen_exporter *x);
/* Interface name and description written in v9/IPFIX options:
 * "ge-0/0/N" and "port N", NUL-padded. */
void exp_if_name(uint32_t ifindex, char name[16], char desc[16]);

size_t exp_v5_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n,
                     exp_w *w, uint32_t *consumed);
size_t exp_v9_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows, uint32_t n,
                     exp_w *w, uint32_t *consumed);
size_t exp_ipfix_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows,
                        uint32_t n, exp_w *w, uint32_t *consumed);
size_t exp_sflow_encode(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows,
                        uint32_t n, exp_w *w, uint32_t *consumed);

#endif
