/*
 * store/store_int.h — private to src/store: on-disk constants, the chunk
 * codec and the segment/block parser shared by the writer, the scan,
 * verify, recovery and the fuzz target.
 *
 * Layout and every constant here are documented in docs/store-format.md;
 * change both together.
 */
#ifndef FL_STORE_INT_H
#define FL_STORE_INT_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#define SEG_MAGIC "FLOWLSEG"          /* 8 bytes, file header */
#define SEG_TAIL_MAGIC "FLSGTAIL"     /* 8 bytes, end of a closed segment */
#define BLK_MAGIC 0x4b424c46u         /* "FLBK" little-endian */
#define FOOT_MAGIC 0x54464c46u        /* "FLFT" */
#define SEG_HDR_FIXED 40
#define BLK_HDR 32
#define CHUNK_META 72
#define SEG_TRAILER 24
#define SEG_MAX_COLS 1024
#define SEG_MAX_META (64u << 20)      /* bound of one block's metadata */
#define SEG_MAX_DATA (256u << 20)     /* bound of one block's data */
#define SEG_MAX_BLOCKS (1u << 20)
#define BLOOM_MAX_BYTES (128u << 10)

/* Block kinds: a segment's blocks are FINAL or DELTA (an open slot's
 * flush of a group not yet full); a by-address copy's (byaddr.h) hold the
 * segment's rows ordered by src_addr or by dst_addr, each followed by the
 * sums of its rows per (address, exporter) (SUM_SRC, SUM_DST), then per
 * (address, exporter, protocol, the other address if the same host)
 * (PSUM_SRC, PSUM_DST). */
enum { BLK_FINAL = 0, BLK_DELTA = 1, BLK_BY_SRC = 2, BLK_BY_DST = 3, BLK_SUM_SRC = 4,
       BLK_SUM_DST = 5, BLK_PSUM_SRC = 6, BLK_PSUM_DST = 7 };
/* 1 when a copy's block of kind k is about dst_addr (odd kinds). */
static inline int blk_dst_part(int k) { return k == BLK_BY_DST || k == BLK_SUM_DST || k == BLK_PSUM_DST; }

/* Chunk encodings. */
enum {
    ENC_FOR = 0,   /* code = v - base, w bytes (w 0 = constant) */
    ENC_DELTA = 1, /* base = v0; code_i = zigzag(v_i - v_{i-1}) */
    ENC_DOD = 2,   /* base = v0, aux = v1 - v0; code_i = zigzag(d_i - d_{i-1}) */
    ENC_DICT = 3,  /* aux sorted values (8 bytes, or 16 for addresses, as
                      byte planes), then w-byte codes (w 1 or 2) */
    ENC_V4 = 4,    /* IPv4-mapped addresses: FOR over the low 32 bits */
    ENC_RAW16 = 5, /* addresses: 16 bytes, big-endian, byte planes */
    ENC_REF = 6,   /* times: code = (v - ref) - base, FOR over that; the
                      reference (aux) is time_first or time_last */
    ENC_COUNT
};
enum { CODEC_NONE = 0, CODEC_ZSTD = 1, CODEC_LZ4 = 2 };

/* A growable byte buffer with a hard maximum. */
typedef struct sbuf {
    uint8_t *p;
    size_t n, cap, max;
} sbuf;
int sbuf_reserve(sbuf *b, size_t extra);
int sbuf_put(sbuf *b, const void *p, size_t n);
void sbuf_free(sbuf *b);

/* Little-endian helpers. */
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

uint32_t store_crc32c(uint32_t crc, const void *p, size_t n);

/* One column chunk's metadata (decoded). */
typedef struct seg_chunk {
    int col;          /* schema column, -1 when this build does not know it */
    uint16_t fcol;    /* index in the file's column table */
    uint8_t enc, codec, width, flags;
    uint32_t dict_n; /* DICT: entries (aux), else 0 */
    int ref_col;     /* REF: schema column of the reference, else -1 */
    uint32_t off, stored, raw, crc;
    uint64_t base, aux;
    fl_addr min, max; /* integer kinds: value in .lo, .hi = 0 */
    const uint8_t *bloom;
    uint32_t bloom_len;
} seg_chunk;

typedef struct seg_block {
    uint64_t off;       /* file offset of the block header */
    uint32_t meta_len, data_len, nrows, group;
    uint16_t kind, ncols;
    seg_chunk *chunks;
    uint8_t *meta;      /* owned: header + meta bytes (+ data, see below) */
    const uint8_t *data; /* the data, when read with the metadata (in meta's
                            allocation), else NULL: chunks are read then */
} seg_block;

/* A segment file's header: the column table mapped to this build. */
typedef struct seg_header {
    uint32_t version, hdr_len, seq, ncols;
    fl_time slot_start, slot_ms;
    int map[SEG_MAX_COLS]; /* file column -> schema column or -1 */
} seg_header;

/* Where bytes come from: a file (fd) or memory (fuzzing). */
typedef struct seg_src {
    int fd;
    const uint8_t *mem;
    uint64_t size;
    const char *name; /* for messages */
} seg_src;
fl_rc seg_read(const seg_src *s, uint64_t off, void *dst, size_t n, fl_err *e);

/* Encoder state reused across chunks (scratch buffers, compressor). */
typedef struct chunk_enc chunk_enc;
chunk_enc *chunk_enc_new(int codec, int level);
void chunk_enc_free(chunk_enc *c);

/* Encode the n values of one column (kind k) into one chunk: meta bytes
 * (CHUNK_META + bloom) appended to meta, stored bytes appended to data.
 * with_bloom: add a membership filter (address columns). */
fl_rc chunk_encode(chunk_enc *c, uint16_t fcol, fl_kind k, const void *vals,
                   const fl_time *const refs[2], uint32_t n, int with_bloom, uint32_t data_off,
                   sbuf *meta, sbuf *data);

/* Decode a chunk whose stored bytes are `stored` (already CRC-checked by
 * the caller or not: the decoder checks every length) into out (n values
 * of kind k). scratch must hold FL_STORE_GROUP_ROWS*16 + 4096 bytes. */
fl_rc chunk_decode(const seg_chunk *ch, const uint8_t *stored, fl_kind k, const fl_time *ref,
                   uint32_t n, void *out, uint8_t *scratch, fl_err *e);
/* A dictionary-coded chunk (ENC_DICT) as its n codes (one per row) and
 * its dict_n entries (integers in .lo, .hi 0), both caller-owned arrays
 * of FL_STORE_GROUP_ROWS; with out, also the values as chunk_decode
 * gives them. FL_EINVAL for another encoding, FL_ECORRUPT as
 * chunk_decode. */
fl_rc chunk_decode_dict(const seg_chunk *ch, const uint8_t *stored, fl_kind k, uint32_t n,
                        void *out, uint16_t *codes, fl_addr *dict, uint8_t *scratch, fl_err *e);
/* Selective reading (exact scans). chunk_addr_match ORs 1 into mark[i]
 * for each of the n rows of an address chunk whose stored value lies in
 * one of the nivl inclusive intervals [lo[j], hi[j]] (stored form),
 * testing IPv4 and dictionary chunks on their codes, without building
 * the addresses. chunk_decode_rows decodes only the nsel rows idx[] (in
 * ascending order) into out[0..nsel); ref, for ENC_REF chunks, holds the
 * reference at those rows; full is room for a whole decoded chunk
 * (FL_STORE_GROUP_ROWS * 16 bytes), used by the encodings whose values
 * depend on all before them. */
fl_rc chunk_addr_match(const seg_chunk *ch, const uint8_t *stored, uint32_t n, const fl_addr *lo,
                       const fl_addr *hi, unsigned nivl, uint8_t *mark, uint8_t *scratch,
                       fl_err *e);
fl_rc chunk_decode_rows(const seg_chunk *ch, const uint8_t *stored, fl_kind k,
                        const fl_time *ref, uint32_t n, const uint32_t *idx, uint32_t nsel,
                        void *out, uint8_t *scratch, void *full, fl_err *e);
/* Largest raw (uncompressed) chunk; scratch also holds a decoded
 * dictionary after it. ref: the block's time_first values (NULL = zeros),
 * needed by ENC_REF chunks. */
#define CHUNK_RAW_MAX ((size_t)FL_STORE_GROUP_ROWS * 18 + 4096)
/* ... and, past the decoded dictionary, chunk_addr_match's table of one
 * byte per possible code (codes are at most 16 bits) */
#define CHUNK_SCRATCH (CHUNK_RAW_MAX + (size_t)FL_STORE_GROUP_ROWS * 16 + 65536)

/* Bloom probe: may addr (or its /24 or /48 network, when net) be in? */
int bloom_maybe(const uint8_t *bloom, uint32_t len, fl_addr a, int net);

/* Build a block from rows [from, from+n) of the columns cols[c] (raw
 * arrays, schema layout; NULL = absent). Appends header+meta+data to out.
 * blooms: give the src/dst address chunks a bloom filter. */
fl_rc block_build(chunk_enc *c, void *const *cols, uint32_t from, uint32_t n, uint32_t group,
                  int kind, int blooms, sbuf *out, sbuf *meta_tmp, sbuf *data_tmp);

/* Parse the block at off (header+meta, checks its CRC); *next gets the
 * offset after it. FL_ETRUNCATED/FL_ECORRUPT when it is not a valid block. */
fl_rc block_parse(const seg_src *s, const seg_header *h, uint64_t off, seg_block *b,
                  uint64_t *next, fl_err *e);
/* block_parse for a small block of known extent [off, off + len): header,
 * metadata and data in one read (b->data), so its chunks cost no read. */
fl_rc block_parse_whole(const seg_src *s, const seg_header *h, uint64_t off, uint64_t len,
                        seg_block *b, uint64_t *next, fl_err *e);
/* Parse header+meta already in memory (b->meta owns them). */
fl_rc block_parse_mem(const seg_header *h, seg_block *b, const char *name, fl_err *e);
void block_clear(seg_block *b);

/* Segment header bytes for a new file. */
fl_rc seg_header_build(sbuf *out, fl_time slot_start, fl_time slot_ms, uint32_t seq);
fl_rc seg_header_parse(const seg_src *s, seg_header *h, fl_err *e);

/* A segment's block list: closed (footer) or open (sequential, stops at
 * the first invalid block; *tail_bad set when bytes remain after it). */
typedef struct seg_blocks {
    seg_block *v;
    size_t n, cap;
    int closed;
    uint64_t valid_end; /* open: end of the last valid block */
    int tail_bad;
    uint32_t bad;       /* closed: damaged blocks skipped */
    char bad_msg[400];  /* the first one's error */
} seg_blocks;
fl_rc seg_load_blocks(const seg_src *s, const seg_header *h, seg_blocks *out, fl_err *e);
void seg_blocks_free(seg_blocks *bl);
/* Append b to bl (bl owns it then, b is zeroed); -1 when out of memory or
 * past SEG_MAX_BLOCKS (b is still the caller's). */
int seg_blocks_push(seg_blocks *bl, seg_block *b);
/* Read + check + decode chunk ch of block b into out. */
fl_rc seg_read_chunk(const seg_src *s, const seg_block *b, const seg_chunk *ch, fl_kind k,
                     const fl_time *ref, void *out, uint8_t *stored_buf, uint8_t *scratch,
                     fl_err *e);
/* The same for a dictionary-coded chunk, through chunk_decode_dict. */
fl_rc seg_read_chunk_dict(const seg_src *s, const seg_block *b, const seg_chunk *ch, fl_kind k,
                          void *out, uint16_t *codes, fl_addr *dict, uint8_t *stored_buf,
                          uint8_t *scratch, fl_err *e);

/* The same through chunk_addr_match and chunk_decode_rows. */
fl_rc seg_read_chunk_match(const seg_src *s, const seg_block *b, const seg_chunk *ch,
                           const fl_addr *lo, const fl_addr *hi, unsigned nivl, uint8_t *mark,
                           uint8_t *stored_buf, uint8_t *scratch, fl_err *e);
fl_rc seg_read_chunk_rows(const seg_src *s, const seg_block *b, const seg_chunk *ch, fl_kind k,
                          const fl_time *ref, const uint32_t *idx, uint32_t nsel, void *out,
                          uint8_t *stored_buf, uint8_t *scratch, void *full, fl_err *e);

/* Write a closed segment (header, live blocks, footer, trailer) from the
 * open file src into fd; *rows gets the row count. */
/* Buffers publishing reuses from one slot to the next (zeroed = none). */
typedef struct seg_pubbufs {
    uint8_t *scratch, *stored, *expbits;
    uint16_t *vals;
    sbuf buf, fblk;
} seg_pubbufs;
void seg_pubbufs_free(seg_pubbufs *p);
fl_rc seg_write_closed(const seg_src *src, const seg_header *h, const seg_blocks *bl, int fd,
                       seg_pubbufs *pb, uint64_t *rows, fl_time *tmin, fl_time *tmax,
                       uint16_t *exp, uint32_t *nexp, fl_err *e);
#define CAT_MAX_EXP 64 /* exporters listed per catalog entry; more = "any" */

/* ------------------------------------------------------------------ */
/* The store handle (store.c), the catalog and the exporter table.      */

#define STORE_PATH_MAX 1024

typedef struct cat_entry {
    fl_time slot_start;
    uint32_t seq;
    uint32_t nexp; /* UINT32_MAX: more than CAT_MAX_EXP exporters */
    uint64_t rows, bytes;
    fl_time tmin, tmax;
    uint16_t exp[CAT_MAX_EXP];
} cat_entry;

typedef struct xtab xtab; /* exporter table (exporters.c) */
fl_rc xtab_load(const char *dir, xtab **out, fl_err *e);
void xtab_free(xtab *x);
/* Parse an exporter table held in memory (fuzzing); *count = exporters. */
fl_rc xtab_parse_buf(const char *buf, size_t len, uint32_t *count, fl_err *e);

struct fl_store {
    char dir[STORE_PATH_MAX];
    char segdir[STORE_PATH_MAX];
    fl_store_opts o;
    int mode;
    int lockfd;
    xtab *x;
    /* writer: the open slots (store.c), at most STORE_OPEN_SLOTS */
    struct store_wslot *ws;
    uint64_t rows_total, rows_durable;
    fl_time last_flush;
    struct store_syncer *sy; /* background fdatasync of timed flushes (store.c) */
    chunk_enc *enc;
    sbuf out, mtmp, dtmp;
    seg_pubbufs pub;
    struct byaddr_copier *cp; /* makes by-address copies (byaddr.h) */
    /* fl_store_backfill: the segments still to check for a copy */
    struct fl_store_seginfo *bf;
    size_t bf_n, bf_i;
    int bf_done;
};

/* Segment file names: SLOT-SEQ.fls (closed), .open (open slot), .tmp. */
int store_name_parse(const char *name, fl_time *slot, uint32_t *seq, int *type);
enum { NAME_FLS = 1, NAME_OPEN = 2, NAME_TMP = 3 };
/* Read closed segment `name`'s catalog entry from its file again (its
 * bytes count its by-address copy) and store it, under the catalog lock. */
fl_rc store_cat_recount(fl_store *s, const char *name, fl_err *e);
/* Drop catalog entries (slot, seq) under the catalog lock. */
fl_rc store_cat_drop(const fl_store *s, const cat_entry *del, size_t n, fl_err *e);

/* Write DIR/name atomically: name.tmp, fsync (when sync), rename, fsync dir. */
fl_rc store_write_atomic(const char *dir, const char *name, const void *p, size_t n, int sync,
                         fl_err *e);

#endif /* FL_STORE_INT_H */
