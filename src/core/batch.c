/*
 * core/batch.c — fl_batch, the one data type that flows through the house.
 *
 * A batch is a struct of arrays with a fixed capacity, all columns carved
 * from one allocation so a batch is one malloc and one free. Rows are
 * added zeroed; decoders write straight into the column arrays. Presence is
 * per batch and per column, so writers can skip columns no row carries.
 */
#include "core.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

fl_batch *fl_batch_new(uint32_t cap)
{
    fl_batch *b;
    size_t total = 0, off = 0;

    if (cap == 0)
        cap = FL_BATCH_CAP;
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    for (int c = 0; c < FL_COL_COUNT; c++)
        total += (size_t)fl_col_get((fl_col)c)->width * cap;
    /* widest columns first would need sorting; 16-byte alignment of every
     * column start is enough because widths are powers of two. calloc,
     * not an aligned allocation cleared here: a batch of every column is
     * ~10 MB at 64 K rows, and calloc's fresh pages cost nothing until a
     * column is written (a narrow query writes few) */
    b->mem = calloc(1, total + (size_t)FL_COL_COUNT * 64);
    if (b->mem == NULL) {
        free(b);
        return NULL;
    }
    for (int c = 0; c < FL_COL_COUNT; c++) {
        b->col[c] = (unsigned char *)b->mem + off;
        off += ((size_t)fl_col_get((fl_col)c)->width * cap + 63) & ~(size_t)63;
    }
    b->cap = cap;
    return b;
}

void fl_batch_free(fl_batch *b)
{
    if (b == NULL)
        return;
    free(b->mem);
    free(b);
}

void fl_batch_clear(fl_batch *b)
{
    /* a column not marked present holds only zeros (writers of non-zero
     * values mark the column), so only present columns need clearing */
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (fl_batch_has(b, (fl_col)c))
            memset(b->col[c], 0, (size_t)fl_col_get((fl_col)c)->width * b->n);
    memset(b->present, 0, sizeof b->present);
    b->n = 0;
}

int64_t fl_batch_add_row(fl_batch *b)
{
    if (b->n >= b->cap)
        return -1;
    /* rows past n are kept zero by clear, so nothing to do here */
    return b->n++;
}

fl_rc fl_batch_append(fl_batch *b, const fl_flow *f)
{
    int64_t r = fl_batch_add_row(b);

    if (r < 0)
        return FL_ELIMIT;
#define FL_COL(ID, name, kind, tag, stat, ipfix, unit, desc)                    \
    do {                                                                        \
        ((FL_CTYPE_##kind *)b->col[FL_COL_##ID])[r] = f->ID;                    \
        if (memcmp(&f->ID, &(FL_CTYPE_##kind){0}, sizeof f->ID) != 0)           \
            fl_batch_mark(b, FL_COL_##ID);                                      \
    } while (0);
#include "schema.def"
#undef FL_COL
    return FL_OK;
}

void fl_batch_get(const fl_batch *b, uint32_t r, fl_flow *f)
{
#define FL_COL(ID, name, kind, tag, stat, ipfix, unit, desc) \
    f->ID = ((const FL_CTYPE_##kind *)b->col[FL_COL_##ID])[r];
#include "schema.def"
#undef FL_COL
}

uint64_t fl_batch_get_u64(const fl_batch *b, fl_col c, uint32_t r)
{
    switch (fl_col_get(c)->kind) {
    case FL_KIND_U8: return FL_U8(b, c)[r];
    case FL_KIND_U16: return FL_U16(b, c)[r];
    case FL_KIND_U32: return FL_U32(b, c)[r];
    case FL_KIND_U64:
    case FL_KIND_MAC: return FL_U64(b, c)[r];
    case FL_KIND_TIME: return (uint64_t)FL_TIMES(b, c)[r];
    case FL_KIND_ADDR: return 0;
    }
    return 0;
}

void fl_batch_set_u64(fl_batch *b, fl_col c, uint32_t r, uint64_t v)
{
    switch (fl_col_get(c)->kind) {
    case FL_KIND_U8: FL_U8(b, c)[r] = (uint8_t)v; break;
    case FL_KIND_U16: FL_U16(b, c)[r] = (uint16_t)v; break;
    case FL_KIND_U32: FL_U32(b, c)[r] = (uint32_t)v; break;
    case FL_KIND_U64:
    case FL_KIND_MAC: FL_U64(b, c)[r] = v; break;
    case FL_KIND_TIME: FL_TIMES(b, c)[r] = (fl_time)v; break;
    case FL_KIND_ADDR: return;
    }
    if (v != 0)
        fl_batch_mark(b, c);
}

fl_sel *fl_sel_new(uint32_t cap)
{
    fl_sel *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->cap = cap ? cap : FL_BATCH_CAP;
    s->idx = malloc(sizeof *s->idx * s->cap);
    if (s->idx == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void fl_sel_free(fl_sel *s)
{
    if (s == NULL)
        return;
    free(s->idx);
    free(s);
}

void fl_sel_all(fl_sel *s, const fl_batch *b)
{
    uint32_t n = b->n < s->cap ? b->n : s->cap;

    for (uint32_t i = 0; i < n; i++)
        s->idx[i] = i;
    s->n = n;
}

void fl_batch_write_json(const fl_batch *b, uint32_t r, FILE *f)
{
    char buf[64];
    int first = 1;

    fputc('{', f);
    for (int c = 0; c < FL_COL_COUNT; c++) {
        const fl_col_info *ci = fl_col_get((fl_col)c);
        if (!fl_batch_has(b, (fl_col)c))
            continue;
        fprintf(f, "%s\"%s\":", first ? "" : ",", ci->name);
        first = 0;
        switch (ci->kind) {
        case FL_KIND_ADDR:
            fl_addr_format(FL_ADDRS(b, c)[r], buf, sizeof buf);
            fprintf(f, "\"%s\"", buf);
            break;
        case FL_KIND_MAC:
            fl_mac_format(FL_MACS(b, c)[r], buf, sizeof buf);
            fprintf(f, "\"%s\"", buf);
            break;
        case FL_KIND_TIME:
            fl_time_format(FL_TIMES(b, c)[r], FL_TFMT_ISO, 0, buf, sizeof buf);
            fprintf(f, "\"%s\"", buf);
            break;
        default:
            fprintf(f, "%" PRIu64, fl_batch_get_u64(b, (fl_col)c, r));
            break;
        }
    }
    fputc('}', f);
}
