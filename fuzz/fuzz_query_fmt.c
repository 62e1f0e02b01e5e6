/*
 * fuzz/fuzz_query_fmt.c — nfdump output format parser (-o line/long/
 * fmt:...) on arbitrary bytes. Invariants: no crash; a format that parses
 * has a header and prints a row of IPv4 and IPv6 flows (ICMP, big
 * counters) without faults; a format that fails names its position inside
 * the argument.
 */
#include "query/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fl_batch *rows(void)
{
    static fl_batch *b;

    if (b != NULL)
        return b;
    b = fl_batch_new(2);
    if (b == NULL)
        abort();
    fl_batch_add_row(b);
    fl_batch_add_row(b);
    FL_TIMES(b, FL_COL_TIME_FIRST)[0] = 1714559403000LL;
    FL_TIMES(b, FL_COL_TIME_LAST)[0] = 1714559403000LL + 90061001;
    FL_ADDRS(b, FL_COL_SRC_ADDR)[0] = fl_addr_from_v4(0x0a010003);
    FL_ADDRS(b, FL_COL_DST_ADDR)[0] = fl_addr_from_v4(0xc000020c);
    FL_U8(b, FL_COL_PROTO)[0] = 1;
    FL_U64(b, FL_COL_BYTES)[0] = 2500000000000ULL;
    FL_U64(b, FL_COL_PACKETS)[0] = 3;
    FL_U8(b, FL_COL_SRC_MASK)[0] = 33; /* out of range: must not fault */
    FL_ADDRS(b, FL_COL_SRC_ADDR)[1] = (fl_addr){0x20010db812345678ULL, 0x9abcdef012345678ULL};
    FL_ADDRS(b, FL_COL_DST_ADDR)[1] = (fl_addr){0xff02000000000000ULL, 1};
    FL_U8(b, FL_COL_PROTO)[1] = 58;
    FL_U8(b, FL_COL_SRC_MASK)[1] = 200;
    FL_TIMES(b, FL_COL_TIME_LAST)[1] = -5; /* ends before it starts */
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    fl_query_fmt *q = NULL;
    fl_err e;
    uint64_t flows[2] = {7, 0};
    FILE *devnull;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (int flags = 0; flags < 16; flags += 3) {
        fl_err_clear(&e);
        if (fl_query_fmt_parse(s, flags, &q, &e) == FL_OK) {
            devnull = fopen("/dev/null", "w");
            if (devnull == NULL)
                abort();
            fputs(fl_query_fmt_header(q), devnull);
            fl_query_fmt_row(q, rows(), 0, devnull);
            fl_query_fmt_set_flows(q, flows);
            fl_query_fmt_row(q, rows(), 1, devnull);
            fclose(devnull);
            fl_query_fmt_free(q);
        } else if (q != NULL || (e.offset >= 0 && (size_t)e.offset > strlen(s))) {
            abort();
        }
    }
    free(s);
    return 0;
}
