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
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *stored, *scratch, *vals, *vals2;
    static uint16_t *codes;
    static fl_addr *dict;
    seg_src src = {-1, data, size, "fuzz"};
    seg_header h;
    seg_blocks bl;
    fl_err e;

    if (stored == NULL) {
        stored = malloc(CHUNK_RAW_MAX + 1024);
        scratch = malloc(CHUNK_SCRATCH);
        vals = malloc((size_t)FL_STORE_GROUP_ROWS * 16);
        vals2 = malloc((size_t)FL_STORE_GROUP_ROWS * 16);
        codes = malloc(sizeof *codes * FL_STORE_GROUP_ROWS);
        dict = malloc(sizeof *dict * FL_STORE_GROUP_ROWS);
        if (!stored || !scratch || !vals || !vals2 || !codes || !dict)
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
            {
                fl_rc r1 = chunk_decode(ch, stored, k, NULL, b->nrows, vals, scratch, &e);
                /* a dictionary as codes must give what the values decoder
                 * gives, and refuse what it refuses */
                if (ch->enc == ENC_DICT) {
                    fl_rc r2 = chunk_decode_dict(ch, stored, k, b->nrows, vals2, codes, dict,
                                                 scratch, &e);
                    if ((r1 == FL_OK) != (r2 == FL_OK) ||
                        (r1 == FL_OK &&
                         memcmp(vals, vals2, (size_t)b->nrows * fl_col_get((fl_col)ch->col)->width)))
                        abort();
                }
            }
        }
    }
    seg_blocks_free(&bl);
    return 0;
}
