/*
 * fuzz/fuzz_segment.c — the segment reader on arbitrary bytes.
 *
 * The input is taken as a whole segment file (closed or open slot): the
 * header, the block list (footer or sequential walk), every chunk's
 * checksum and decoding, and the bloom probes run over it. Invariants: no
 * crash, no read outside the input, no sanitizer report; a chunk that
 * decodes has as many values as its block has rows.
 */
#include "store/store_int.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *stored, *scratch, *vals;
    seg_src src = {-1, data, size, "fuzz"};
    seg_header h;
    seg_blocks bl;
    fl_err e;

    if (stored == NULL) {
        stored = malloc(CHUNK_RAW_MAX + 1024);
        scratch = malloc(CHUNK_SCRATCH);
        vals = malloc((size_t)FL_STORE_GROUP_ROWS * 16);
        if (!stored || !scratch || !vals)
            abort();
    }
    if (seg_header_parse(&src, &h, &e) != FL_OK)
        return 0;
    if (seg_load_blocks(&src, &h, &bl, &e) != FL_OK)
        return 0;
    for (size_t i = 0; i < bl.n; i++) {
        const seg_block *b = &bl.v[i];
        if (b->nrows == 0 || b->nrows > FL_STORE_GROUP_ROWS)
            abort();
        for (uint16_t c = 0; c < b->ncols; c++) {
            const seg_chunk *ch = &b->chunks[c];
            if (ch->col < 0)
                continue;
            fl_kind k = fl_col_get((fl_col)ch->col)->kind;
            if (seg_read_chunk(&src, b, ch, k, NULL, vals, stored, scratch, &e) == FL_OK &&
                ch->bloom)
                (void)bloom_maybe(ch->bloom, ch->bloom_len, ((const fl_addr *)(void *)vals)[0], 1);
            /* the decoder past the checksum: mutated chunk bytes reach it */
            if (ch->stored <= CHUNK_RAW_MAX &&
                seg_read(&src, b->off + BLK_HDR + b->meta_len + ch->off, stored, ch->stored,
                         &e) == FL_OK)
                (void)chunk_decode(ch, stored, k, NULL, b->nrows, vals, scratch, &e);
        }
    }
    seg_blocks_free(&bl);
    return 0;
}
