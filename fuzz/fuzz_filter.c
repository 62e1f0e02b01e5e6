/*
 * fuzz/fuzz_filter.c — the filter compiler and evaluator on arbitrary text.
 *
 * Invariants: no crash, no leak; a failed compile fills the error with a
 * message and an offset inside the text (or -1); a compiled filter explains
 * without overflowing and evaluates over a small batch to a selection that
 * is an ascending subset of the rows, identical whether it starts dense or
 * from an explicit list of every row; every matching row satisfies the
 * ranges' never flag and every address term meant for pushdown.
 */
#include "filter/filter.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fl_batch *batch(void)
{
    static fl_batch *b;
    if (b == NULL) {
        b = fl_batch_new(64);
        for (uint32_t i = 0; i < 64; i++) {
            fl_flow f;
            memset(&f, 0, sizeof f);
            f.PROTO = (uint8_t)(i % 3 == 0 ? 6 : i % 3 == 1 ? 17 : 1);
            f.SRC_ADDR = fl_addr_from_v4(0x0a000000u + i);
            f.DST_ADDR = fl_addr_from_v4(0xc0a80000u + 7 * i);
            if (i % 5 == 0) {
                uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
                v6[15] = (uint8_t)i;
                f.SRC_ADDR = fl_addr_from_v6(v6);
            }
            f.SRC_PORT = (uint16_t)(i * 1000);
            f.DST_PORT = (uint16_t)(i % 2 ? 80 : 443);
            f.TCP_FLAGS = (uint8_t)i;
            f.BYTES = 100u * i;
            f.PACKETS = i % 7;
            f.TIME_FIRST = 1000;
            f.TIME_LAST = 1000 + 37 * (int64_t)i;
            f.SRC_AS = i * 11;
            f.MPLS_LABEL1 = i << 4;
            f.EXPORTER = (uint16_t)(i % 4);
            fl_batch_append(b, &f);
        }
    }
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_filter *f = NULL;
    fl_err e;
    fl_rc rc = fl_filter_compile((const char *)data, size, NULL, &f, &e);

    if (rc != FL_OK) {
        if (f != NULL || e.msg[0] == '\0' || e.offset < -1 || e.offset > (long long)size)
            abort();
        return 0;
    }
    {
        char buf[512];
        size_t need = fl_filter_explain(f, buf, sizeof buf);
        if (strlen(buf) >= sizeof buf || (need < sizeof buf && strlen(buf) != need))
            abort();
    }
    {
        fl_batch *b = batch();
        fl_filter_exec *x = fl_filter_exec_new(f);
        fl_sel *s1 = fl_sel_new(64), *s2 = fl_sel_new(64);
        fl_filter_ranges r;
        if (x == NULL || s1 == NULL || s2 == NULL)
            abort();
        fl_sel_all(s1, b);
        if (fl_filter_eval(x, b, s1) != FL_OK)
            abort();
        /* the same rows as an explicit (non-dense) list: drop row 0 */
        s2->n = 0;
        for (uint32_t i = 1; i < b->n; i++)
            s2->idx[s2->n++] = i;
        if (fl_filter_eval(x, b, s2) != FL_OK)
            abort();
        {
            uint32_t j = 0;
            for (uint32_t i = 0; i < s1->n; i++) {
                if (i > 0 && s1->idx[i] <= s1->idx[i - 1])
                    abort();
                if (s1->idx[i] == 0)
                    continue;
                if (j >= s2->n || s2->idx[j] != s1->idx[i])
                    abort();
                j++;
            }
            if (j != s2->n)
                abort();
        }
        fl_filter_ranges_get(f, &r);
        if (r.never && s1->n != 0)
            abort();
        {
            /* every matching row satisfies every pushdown address term (in
             * nfdump's space: IPv4 ::ffff:a.b.c.d reads as ::a.b.c.d) */
            static fl_filter_aterm t[4];
            int never;
            size_t nt = fl_filter_addr_terms(f, t, 4, &never);
            if (never && s1->n != 0)
                abort();
            for (uint32_t i = 0; i < s1->n; i++)
                for (size_t k = 0; k < nt; k++) {
                    int ok = 0;
                    for (unsigned c = 0; c < t[k].ncols; c++) {
                        fl_addr a = FL_ADDRS(b, t[k].col[c])[s1->idx[i]];
                        if (fl_addr_is_v4(a))
                            a.lo &= 0xffffffffULL;
                        for (uint32_t j = 0; j < t[k].n; j++)
                            ok |= fl_addr_cmp(t[k].lo[j], a) <= 0 && fl_addr_cmp(a, t[k].hi[j]) <= 0;
                    }
                    if (!ok)
                        abort();
                }
        }
        fl_sel_free(s1);
        fl_sel_free(s2);
        fl_filter_exec_free(x);
    }
    fl_filter_free(f);
    return 0;
}
