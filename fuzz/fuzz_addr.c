/*
 * fuzz/fuzz_addr.c — address, prefix and MAC parsers on arbitrary bytes.
 * Invariants: no crash; a parsed address prints and parses back to itself;
 * a parsed prefix contains its own address.
 */
#include "core/core.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    fl_addr a, b;
    fl_prefix p;
    uint64_t m;
    fl_err e;
    char buf[FL_ADDR_STRLEN + 8];

    if (fl_addr_parse(s, size, &a, &e) == FL_OK) {
        size_t n = fl_addr_format(a, buf, sizeof buf);
        if (fl_addr_parse(buf, n, &b, &e) != FL_OK || fl_addr_cmp(a, b) != 0)
            abort();
    }
    if (fl_prefix_parse(s, size, 1, &p, &e) == FL_OK && !fl_prefix_contains(&p, p.addr))
        abort();
    if (fl_mac_parse(s, size, &m, &e) == FL_OK && (m >> 48) != 0)
        abort();
    return 0;
}
