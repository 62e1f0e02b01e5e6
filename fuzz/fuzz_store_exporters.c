/*
 * fuzz/fuzz_store_exporters.c — the store's exporter table parser
 * (DIR/exporters, text) on arbitrary bytes. Invariants: no crash, no read
 * past the input; a table that parses has at most 65535 exporters.
 */
#include "store/store_int.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t n = 0;
    fl_err e;

    if (xtab_parse_buf((const char *)data, size, &n, &e) == FL_OK && n > 65535)
        abort();
    return 0;
}
