/*
 * fuzz/fuzz_http.c — the API's query request parser (JSON body into a query
 * spec) on arbitrary bytes. Invariants: no crash, no leak, and an accepted
 * request is a spec the engine would take (window ordered, series with a
 * positive step and a bounded number of steps, bounded rows).
 */
#include "http/http.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_query_spec s;
    fl_err e;

    if (fl_http_parse_request((const char *)data, size, 1714564800000LL, &s, &e) == FL_OK) {
        if (s.start > s.end)
            abort();
        if ((s.op == FL_QOP_SERIES || s.op == FL_QOP_TOPSERIES) &&
            (s.step <= 0 || (s.end - s.start) / s.step > 20000))
            abort();
        if (s.top > 100000 || s.limit > 100000)
            abort();
    }
    return 0;
}
