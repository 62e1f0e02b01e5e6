/*
 * fuzz/fuzz_byaddr.c — the by-address copy reader on arbitrary bytes.
 *
 * The input is taken as a segment's by-address copy (store/byaddr.c):
 * header, directory trailer and entries, then the blocks of each part and
 * of its sums the directory says may hold an address (all of them, and
 * one host; sums blocks are read whole at once), and every chunk of
 * those. Invariants: no crash, no read outside the input,
 * no sanitizer report; every block handed out is of the part asked for
 * and has the rows its directory entry promises.
 */
#include "store/byaddr.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *stored, *scratch, *vals;
    static const fl_addr all_lo = {0, 0}, all_hi = {UINT64_MAX, UINT64_MAX};
    seg_src src = {-1, data, size, "fuzz"};
    seg_header h;
    byaddr_dir d;
    fl_err e;

    if (stored == NULL) {
        stored = malloc(CHUNK_RAW_MAX + 1024);
        scratch = malloc(CHUNK_SCRATCH);
        vals = malloc((size_t)FL_STORE_GROUP_ROWS * 16);
        if (!stored || !scratch || !vals)
            abort();
    }
    if (seg_header_parse(&src, &h, &e) != FL_OK || byaddr_dir_read(&src, &d, &e) != FL_OK)
        return 0;
    (void)byaddr_part_rows(&d, BLK_BY_SRC);
    /* the parts, their sums and sums by protocol, whole and at one host */
    for (int k = 0; k < 2 * (BLK_PSUM_DST - BLK_BY_SRC + 1); k++) {
        int kind = BLK_BY_SRC + k / 2;
        fl_addr host = fl_addr_from_v4(0x0a000001u);
        seg_blocks bl;
        memset(&bl, 0, sizeof bl);
        if (byaddr_blocks(&src, &h, &d, kind, k % 2 ? &host : &all_lo, k % 2 ? &host : &all_hi,
                          1, &bl, &e) == FL_OK)
            for (size_t i = 0; i < bl.n; i++) {
                const seg_block *b = &bl.v[i];
                if (b->kind != kind || b->nrows == 0 || b->nrows > BYADDR_ROWS)
                    abort();
                for (uint16_t c = 0; c < b->ncols; c++)
                    if (b->chunks[c].col >= 0)
                        (void)seg_read_chunk(&src, b, &b->chunks[c],
                                             fl_col_get((fl_col)b->chunks[c].col)->kind, NULL,
                                             vals, stored, scratch, &e);
            }
        seg_blocks_free(&bl);
    }
    byaddr_dir_free(&d);
    return 0;
}
