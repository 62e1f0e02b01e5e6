/*
 * collect/ie.c — information elements to columns, and template building.
 *
 * The IE -> column map comes from core/schema.def's ipfix list, parsed once
 * (pthread_once), so adding an IE to a column there makes every decoder
 * fill it. What the table cannot say is how an IE is encoded: which IEs
 * are times and in what unit, which carry sampling, which are ICMP
 * type+code combined, which options IEs name interfaces and VRFs. That
 * semantic knowledge is the short switch below, and a handful of IEs the
 * schema does not list (NSEL initiator/responder counters, RFC 5103
 * reverse counters) are aliased to the columns nfdump puts them in.
 * A template's fields are bound to operations once, when the template
 * arrives, so the per-record loop is a switch over small integers.
 */
#include "collect_int.h"

#include <stdlib.h>
#include <string.h>

#define IE_MAX 512
#define PEN_REVERSE 29305u /* RFC 5103 reverse information elements */

static uint8_t ie_col[IE_MAX][2]; /* column + 1, 0 = none */
static pthread_once_t ie_once = PTHREAD_ONCE_INIT;

static void ie_add(unsigned ie, fl_col c)
{
    if (ie >= IE_MAX)
        return;
    if (ie_col[ie][0] == 0)
        ie_col[ie][0] = (uint8_t)(c + 1);
    else if (ie_col[ie][1] == 0 && ie_col[ie][0] != c + 1)
        ie_col[ie][1] = (uint8_t)(c + 1);
}

static void ie_init(void)
{
    for (int c = 0; c < FL_COL_COUNT; c++) {
        const char *s = fl_col_get((fl_col)c)->ipfix;
        unsigned v = 0;
        int have = 0;
        for (;; s++) {
            if (*s >= '0' && *s <= '9') {
                if (v < 100000)
                    v = v * 10 + (unsigned)(*s - '0');
                have = 1;
            } else {
                if (have)
                    ie_add(v, (fl_col)c);
                v = 0;
                have = 0;
                if (*s == '\0')
                    break;
            }
        }
    }
    /* NSEL (Cisco ASA) counters, as nfdump maps them */
    ie_add(231, FL_COL_BYTES);       /* initiatorOctets */
    ie_add(232, FL_COL_OUT_BYTES);   /* responderOctets */
    ie_add(298, FL_COL_PACKETS);     /* initiatorPackets */
    ie_add(299, FL_COL_OUT_PACKETS); /* responderPackets */
}

/* Bind f (ie, len, pen set) to its operation. v9 options scope fields use
 * their own type space (1 system, 2 interface, ...). */
void cl_field_bind(cl_field *f, int is_v9_scope)
{
    unsigned ie = f->ie;
    int c0, c1;

    pthread_once(&ie_once, ie_init);
    f->op = CL_OP_SKIP;
    f->col = 0;
    f->arg = 0;
    if (is_v9_scope) {
        if (ie == 2 && f->len >= 1 && f->len <= 8)
            f->op = CL_OP_IFINDEX;
        return;
    }
    if (f->pen == PEN_REVERSE) {
        if ((ie == 1 || ie == 85) && f->len <= 8) {
            f->op = CL_OP_UINT;
            f->col = FL_COL_OUT_BYTES;
        } else if ((ie == 2 || ie == 86) && f->len <= 8) {
            f->op = CL_OP_UINT;
            f->col = FL_COL_OUT_PACKETS;
        }
        return;
    }
    if (f->pen == 0 && ie >= 40001 && ie <= 40004) {
        /* Cisco NSEL (v9) translated addresses and ports, as nfdump reads them */
        static const uint8_t nsel[4] = {FL_COL_XLATE_SRC_ADDR, FL_COL_XLATE_DST_ADDR,
                                        FL_COL_XLATE_SRC_PORT, FL_COL_XLATE_DST_PORT};
        f->col = nsel[ie - 40001];
        if (ie <= 40002 && (f->len == 4 || f->len == 16))
            f->op = CL_OP_ADDR;
        else if (ie > 40002 && f->len >= 1 && f->len <= 8)
            f->op = CL_OP_UINT;
        return;
    }
    if (f->pen != 0 || ie >= IE_MAX)
        return; /* enterprise-specific or unknown: skipped by length */
    switch (ie) {
    case 150: case 151: f->arg = CL_T_SEC; goto time;
    case 152: case 153: f->arg = CL_T_MS; goto time;
    case 154: case 155: f->arg = CL_T_US; goto time;
    case 156: case 157: f->arg = CL_T_NS; goto time;
    case 21: case 22: f->arg = CL_T_UPTIME; goto time;
    case 158: case 159: f->arg = CL_T_DELTA_US; goto time;
    case 161: f->op = f->len <= 8 ? CL_OP_DUR_MS : CL_OP_SKIP; return;
    case 162: f->op = f->len <= 8 ? CL_OP_DUR_US : CL_OP_SKIP; return;
    case 32: case 139:
        f->op = f->len <= 8 ? CL_OP_ICMP : CL_OP_SKIP;
        return;
    case 48: case 302:
        f->op = f->len <= 8 ? CL_OP_SAMPLER : CL_OP_SKIP;
        return;
    case 34: case 50: case 305:
        f->op = f->len <= 8 ? CL_OP_INTERVAL : CL_OP_SKIP;
        return;
    case 306:
        f->op = f->len <= 8 ? CL_OP_SPACE : CL_OP_SKIP;
        return;
    case 309:
        f->op = f->len <= 8 ? CL_OP_SIZE : CL_OP_SKIP;
        return;
    case 310:
        f->op = f->len <= 8 ? CL_OP_POP : CL_OP_SKIP;
        return;
    case 160:
        f->op = f->len <= 8 ? CL_OP_SYSINIT : CL_OP_SKIP;
        return;
    case 82: case 83:
        f->op = CL_OP_IFNAME;
        return;
    case 236:
        f->op = CL_OP_VRFNAME;
        return;
    default:
        break;
    }
    c0 = ie_col[ie][0] - 1;
    c1 = ie_col[ie][1] - 1;
    (void)c1;
    if (c0 < 0)
        return;
    switch (fl_col_get((fl_col)c0)->kind) {
    case FL_KIND_ADDR:
        if (f->len == 4 || f->len == 16) {
            f->op = CL_OP_ADDR;
            f->col = (uint8_t)c0;
        }
        return;
    case FL_KIND_MAC:
        if (f->len == 6) {
            f->op = CL_OP_MAC;
            f->col = (uint8_t)c0;
        }
        return;
    case FL_KIND_TIME:
        return; /* times handled above */
    default:
        if (f->len >= 1 && f->len <= 8) {
            f->op = CL_OP_UINT;
            f->col = (uint8_t)c0;
        }
        return;
    }
time:
    if (f->len >= 1 && f->len <= 8) {
        f->op = CL_OP_TIME;
        /* even ids are flowEnd..., except 22 (flowStartSysUpTime) */
        if (ie == 21 || ie == 151 || ie == 153 || ie == 155 || ie == 157 || ie == 159)
            f->col = FL_COL_TIME_LAST;
        else
            f->col = FL_COL_TIME_FIRST;
    }
}

/* A template from n bound fields; NULL when absurd or out of memory. The
 * caller validated n <= CL_MAX_FIELDS. */
cl_template *cl_tpl_build(uint16_t id, int options, uint16_t nscope, const cl_field *f,
                          uint16_t n)
{
    cl_template *t = calloc(1, sizeof *t + (size_t)n * sizeof *f);
    uint32_t min = 0;

    if (t == NULL)
        return NULL;
    t->id = id;
    t->nfields = n;
    t->nscope = nscope;
    t->options = (uint8_t)(options != 0);
    for (uint16_t i = 0; i < n; i++) {
        t->f[i] = f[i];
        if (f[i].len == CL_VARLEN) {
            t->varlen = 1;
            min += 1;
        } else {
            min += f[i].len;
        }
        if (f[i].op == CL_OP_UINT)
            t->f[i].arg = (uint8_t)fl_col_get((fl_col)f[i].col)->width;
        switch (f[i].op) {
        case CL_OP_UINT: case CL_OP_ADDR: case CL_OP_MAC:
            t->present[f[i].col / 64] |= (uint64_t)1 << (f[i].col % 64);
            break;
        case CL_OP_ICMP:
            t->present[FL_COL_ICMP_TYPE / 64] |= (uint64_t)1 << (FL_COL_ICMP_TYPE % 64);
            t->present[FL_COL_ICMP_CODE / 64] |= (uint64_t)1 << (FL_COL_ICMP_CODE % 64);
            break;
        default:
            break;
        }
    }
    t->min_len = min;
    /* A column fed by one field only needs no "first non-zero wins" check:
     * the decoder stores into it without reading the row first (those
     * reads of fresh batch memory were most of the decoder's time). */
    for (uint16_t i = 0; i < n; i++) {
        int users = 0;
        if (t->f[i].op != CL_OP_UINT && t->f[i].op != CL_OP_ADDR && t->f[i].op != CL_OP_MAC)
            continue;
        for (uint16_t j = 0; j < n; j++) {
            const cl_field *g = &t->f[j];
            if (((g->op == CL_OP_UINT || g->op == CL_OP_ADDR || g->op == CL_OP_MAC) &&
                 g->col == t->f[i].col) ||
                (g->op == CL_OP_ICMP &&
                 (t->f[i].col == FL_COL_ICMP_TYPE || t->f[i].col == FL_COL_ICMP_CODE)))
                users++;
        }
        t->f[i].sole = users == 1;
    }
    return t;
}
