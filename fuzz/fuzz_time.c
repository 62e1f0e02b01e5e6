/*
 * fuzz/fuzz_time.c — time and time-window parsers on arbitrary bytes.
 * Invariants: no crash, and what parses lies inside the representable range
 * and formats back to text.
 */
#include "core/core.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    fl_time t;
    fl_time_range r;
    fl_err e;
    char buf[64];

    for (int flags = 0; flags <= FL_TIME_LOCAL; flags++) {
        if (fl_time_parse(s, size, 1714564800000LL, flags, &t, &e) == FL_OK) {
            if (t < FL_TIME_MIN || t > FL_TIME_MAX + 86400000LL)
                abort();
            fl_time_format(t, FL_TFMT_ISO, flags, buf, sizeof buf);
        }
        if (fl_time_range_parse(s, size, 1714564800000LL, flags, &r, &e) == FL_OK &&
            r.start > r.end)
            abort();
    }
    return 0;
}
