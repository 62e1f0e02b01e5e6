/*
 * fuzz/fuzz_nf9.c — the collector's nf9 decoder on arbitrary bytes
 * (see fuzz_collect.h for the input format and the invariants).
 */
#include "fuzz_collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run(data, size, 9);
}
