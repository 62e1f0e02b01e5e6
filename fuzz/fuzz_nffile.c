/*
 * fuzz/fuzz_nffile.c — the nfdump file reader on arbitrary bytes.
 *
 * The input is a whole nfdump file image: header, blocks (any of the
 * compressions), appendix. Every batch is read and every row printed as an
 * nfdump csv line. Invariants: no crash or sanitizer report; the read loop
 * ends (each call either returns rows or moves past a block); rows never
 * exceed the batch; every csv line fits the documented 1024 bytes.
 */
#include "nfdump/nfdump.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fl_batch *b;
    fl_nfdump_file *f = NULL;
    fl_err e;
    char line[1024];

    if (b == NULL && (b = fl_batch_new(256)) == NULL)
        abort();
    if (fl_nfdump_open_mem(data, size, "fuzz", &f, &e) != FL_OK)
        return 0;
    (void)fl_nfdump_file_info(f);
    for (int calls = 0; calls < 100000; calls++) {
        fl_rc rc = fl_nfdump_read(f, b, &e);
        if (b->n > b->cap)
            abort();
        for (uint32_t r = 0; r < b->n; r++)
            if (fl_nfdump_csv_row(b, r, f, line, sizeof line) == 0)
                abort();
        if (rc == FL_OK && b->n == 0)
            break;
    }
    for (size_t i = 0; i < fl_nfdump_exporter_count(f); i++)
        (void)fl_nfdump_exporter_at(f, i);
    (void)fl_nfdump_ifname(f, 1);
    fl_nfdump_close(f);
    return 0;
}
