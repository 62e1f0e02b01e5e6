/*
 * nfdump/nfdump_int.h — private to src/nfdump: the open-file state shared
 * by the block reader (file.c) and the record decoders (decode.c).
 */
#ifndef FL_NFDUMP_INT_H
#define FL_NFDUMP_INT_H

#include "nfdump.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* record types (nfdump id.h) */
enum {
    NFD_REC_EXTMAP = 2,
    NFD_REC_EXPORTER = 7,
    NFD_REC_EXPSTAT = 8,
    NFD_REC_SAMPLER_V0 = 9,
    NFD_REC_COMMON = 10,
    NFD_REC_V3 = 11,
    NFD_REC_NBAR = 12,
    NFD_REC_IFNAME = 13,
    NFD_REC_VRFNAME = 14,
    NFD_REC_SAMPLER = 15
};

#define NFD_MAX_EXPORTERS 4096
#define NFD_MAX_SAMPLERS 4096
#define NFD_MAX_NAMES 65536
#define NFD_MAX_MAPS 65536

typedef struct nfd_sampler {
    uint16_t sysid;
    int64_t id;
    uint32_t rate;
} nfd_sampler;

typedef struct nfd_name {
    uint32_t key;
    char name[64];
} nfd_name;

/* a v1 extension map: ids in order, 0-terminated */
typedef struct nfd_map {
    uint16_t n;
    uint16_t ids[64];
} nfd_map;

/* one loaded block: its buffers and what loading it found */
typedef struct nfd_slot {
    uint8_t *raw;           /* payload as stored */
    uint32_t raw_cap;
    uint8_t *plain;         /* decompressed payload, FL_NFDUMP_MAX_BLOCK */
    const uint8_t *recs;    /* its records; NULL for a block without flows */
    uint32_t len, nrec, no;
    uint64_t off;
    fl_rc rc;               /* != FL_OK: this block is bad (err says why) */
    fl_err err;
    int end;                /* no block: the file's blocks are over */
    int state;              /* read-ahead: NFD_FREE, NFD_BUSY, NFD_READY */
    /* framing found by the header read, for the payload read */
    uint32_t size;
    uint16_t type, flags;
} nfd_slot;

enum { NFD_FREE = 0, NFD_BUSY = 1, NFD_READY = 2 };
#define NFD_SLOTS 4   /* blocks in flight with read-ahead */
#define NFD_WORKERS 2 /* read-ahead threads (read + decompress) */

struct fl_nfdump_file {
    char *path;
    int fd;                 /* -1 for a memory image */
    const uint8_t *mem;
    uint64_t size;          /* bytes in the file */
    int swap;               /* file byte order differs from ours */
    fl_nfdump_info info;

    /* block reader: where the next block header is (owned by the
     * read-ahead thread while one runs) */
    uint64_t rd_off;
    uint64_t data_end;      /* where data blocks end (appendix or EOF) */
    uint32_t rd_next;       /* number of the next block to load */
    int rd_done;            /* framing lost or end reached */

    nfd_slot slot[NFD_SLOTS]; /* loaded blocks (sync mode uses slot 0) */
    unsigned claim, cons;   /* next block number to claim / to consume */
    int held, ended;        /* consumer holds slot[cons % NFD_SLOTS]; end seen */
    int threaded, stop, claimed_end;
    int nth;
    pthread_t th[NFD_WORKERS];
    pthread_mutex_t mu;
    pthread_cond_t cv;

    const uint8_t *blk;     /* records of the current block */
    uint32_t blk_len, blk_pos, blk_recs, blk_rec_i, blk_no;
    uint64_t blk_off;
    int in_block;

    uint64_t skipped;

    fl_nfdump_exporter *exp;
    size_t nexp, capexp;
    size_t exp_hint;        /* index of the exporter found last */
    nfd_sampler *smp;
    size_t nsmp;
    nfd_name *ifn, *vrfn;
    size_t nifn, nvrfn;
    nfd_map **maps;         /* v1 only, NFD_MAX_MAPS slots */
};

/* byte-order aware loads from an unaligned pointer */
static inline uint16_t nfd_u16(const fl_nfdump_file *f, const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return f->swap ? __builtin_bswap16(v) : v;
}
static inline uint32_t nfd_u32(const fl_nfdump_file *f, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return f->swap ? __builtin_bswap32(v) : v;
}
static inline uint64_t nfd_u64(const fl_nfdump_file *f, const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return f->swap ? __builtin_bswap64(v) : v;
}

/*
 * Decode records of the current block into b until b is full or the block
 * ends. Returns FL_OK (block may continue: check f->in_block), or
 * FL_ECORRUPT when the block's record framing is broken (the block is
 * abandoned; e is filled).
 */
fl_rc nfd_decode_block(fl_nfdump_file *f, fl_batch *b, fl_err *e);

/* fl_batch_clear for batches whose writers mark what they write: zeroes
 * only present columns (file.c) */
void nfd_batch_clear(fl_batch *b);

/* exporter table helpers (decode.c) */
fl_nfdump_exporter *nfd_exporter_slot(fl_nfdump_file *f, uint16_t sysid);

#endif
