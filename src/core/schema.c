/*
 * core/schema.c — the flow schema table expanded into descriptors.
 *
 * schema.def is the only list of columns; this file turns it into the
 * fl_col_info array everything else iterates over, and into lookups by the
 * names users type (column name, nfdump fmt tag, nfdump -s element).
 */
#include "core.h"

#include <string.h>

#define FL_KW_U8 1
#define FL_KW_U16 2
#define FL_KW_U32 4
#define FL_KW_U64 8
#define FL_KW_TIME 8
#define FL_KW_ADDR 16
#define FL_KW_MAC 8

static const fl_col_info schema[FL_COL_COUNT] = {
#define FL_COL(ID, name, kind, tag, stat, ipfix, unit, desc) \
    {FL_COL_##ID, name, FL_KIND_##kind, FL_KW_##kind, ctype_of_##kind, tag, stat, ipfix, unit, desc},
#define ctype_of_U8 "uint8_t"
#define ctype_of_U16 "uint16_t"
#define ctype_of_U32 "uint32_t"
#define ctype_of_U64 "uint64_t"
#define ctype_of_TIME "fl_time"
#define ctype_of_ADDR "fl_addr"
#define ctype_of_MAC "uint64_t"
#include "schema.def"
#undef FL_COL
};

/* The generated C types must have the widths the table claims. */
_Static_assert(sizeof(fl_addr) == 16, "fl_addr is 128 bits");
_Static_assert(sizeof(fl_time) == 8, "fl_time is 64 bits");
_Static_assert(FL_COL_COUNT <= 64 * FL_PRESENT_WORDS, "presence bits");

const fl_col_info *fl_col_get(fl_col c)
{
    if ((unsigned)c >= FL_COL_COUNT)
        return NULL;
    return &schema[c];
}

static int lookup(const char *key, size_t field_offset)
{
    if (key == NULL || key[0] == '\0')
        return -1;
    for (int i = 0; i < FL_COL_COUNT; i++) {
        const char *v = *(const char *const *)((const char *)&schema[i] + field_offset);
        if (v[0] != '\0' && strcmp(v, key) == 0)
            return i;
    }
    return -1;
}

int fl_col_by_name(const char *name) { return lookup(name, offsetof(fl_col_info, name)); }
int fl_col_by_nf_tag(const char *tag) { return lookup(tag, offsetof(fl_col_info, nf_tag)); }
int fl_col_by_nf_stat(const char *stat) { return lookup(stat, offsetof(fl_col_info, nf_stat)); }

unsigned fl_kind_width(fl_kind k)
{
    switch (k) {
    case FL_KIND_U8: return 1;
    case FL_KIND_U16: return 2;
    case FL_KIND_U32: return 4;
    case FL_KIND_U64:
    case FL_KIND_TIME:
    case FL_KIND_MAC: return 8;
    case FL_KIND_ADDR: return 16;
    }
    return 0;
}

const char *fl_kind_name(fl_kind k)
{
    static const char *const names[] = {"u8", "u16", "u32", "u64", "time", "addr", "mac"};

    if ((unsigned)k >= sizeof names / sizeof names[0])
        return "?";
    return names[k];
}
