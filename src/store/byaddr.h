/*
 * store/byaddr.h — by-address copies of closed segments (byaddr.c): each
 * closed segment's rows ordered by src_addr and again by dst_addr, with a
 * directory of address ranges, so a one-address question reads a few
 * small blocks instead of every row group. Private to src/store.
 */
#ifndef FL_STORE_BYADDR_H
#define FL_STORE_BYADDR_H

#include "store/store_int.h"

#define BYADDR_ROWS 4096               /* rows per block of a copy */
#define BYADDR_MAX_ROWS (1u << 21)     /* larger segments get no copy */

/* SLOT-SEQ.fla, the copy of SLOT-SEQ.fls. */
void byaddr_name(char *out, size_t len, fl_time slot, uint32_t seq);

/* Write the copy of closed segment (slot, seq) of s (atomically, synced
 * as s->o.fsync says) with encoder enc; *bytes gets its size (0 when the
 * segment gets none: empty, or more than BYADDR_MAX_ROWS rows). An error
 * names the file; the segment itself is never touched. */
fl_rc byaddr_build(fl_store *s, chunk_enc *enc, fl_time slot, uint32_t seq, uint64_t *bytes,
                   fl_err *e);

/* byaddr_build, then the catalog entry recounted (its bytes include the
 * copy); a copy whose segment was expired meanwhile is removed. Problems
 * are logged, not returned: the copy is only an accelerator. */
void byaddr_make(fl_store *s, chunk_enc *enc, fl_time slot, uint32_t seq);

/* The writer's copier thread: copies are made there, so publishing a
 * slot (and an import's decoding) goes on meanwhile. start gives NULL
 * when the thread cannot be had (copies are then made inline); post
 * gives -1 when the queue is full (make it inline); stop waits for the
 * queue to empty. */
typedef struct byaddr_copier byaddr_copier;
byaddr_copier *byaddr_copier_start(fl_store *s);
/* Queue segment (slot, seq) for its copy unless `most` are queued
 * already (or the copier stops): -1 then. */
int byaddr_copier_post(byaddr_copier *c, fl_time slot, uint32_t seq, unsigned most);
void byaddr_copier_stop(byaddr_copier *c);
/* 1 when the copier has nothing queued or under way. */
int byaddr_copier_idle(byaddr_copier *c);

/* One block of a copy, from its directory. */
typedef struct byaddr_ent {
    uint64_t off;
    uint32_t nrows;
    uint16_t kind;        /* BLK_BY_SRC or BLK_BY_DST, or the sums of the entry
                             before (BLK_SUM_SRC, BLK_SUM_DST: same rows) */
    /* its first and last row, as (ordering address in stored form, row
     * number in the segment): the part is ordered by that pair, so the
     * rows of the block are exactly the segment's rows between them */
    uint32_t imin, imax;
    fl_addr kmin, kmax;
} byaddr_ent;

typedef struct byaddr_dir {
    byaddr_ent *v;
    uint32_t n;
    uint64_t rows;        /* rows of the segment (each part holds them all) */
    fl_time tmin, tmax;   /* time_first range, as the segment's catalog entry */
    uint64_t end;         /* where the blocks end (the directory's offset) */
    uint32_t flags;       /* BYADDR_F_* */
} byaddr_dir;
/* The copy was made with sums (blocks of sampled flows have none): copies
 * without this flag were made before sums existed, and backfill remakes
 * them. */
#define BYADDR_F_SUMS 1u

/* Read and check the directory of the copy s (header parsed or not). */
fl_rc byaddr_dir_read(const seg_src *s, byaddr_dir *d, fl_err *e);
void byaddr_dir_free(byaddr_dir *d);
/* Rows in the blocks of one kind. */
uint64_t byaddr_part_rows(const byaddr_dir *d, int kind);

/* Whether some block has sums (copies made before session 9 have none). */
int byaddr_has_sums(const byaddr_dir *d);
/* Whether directory entry i is of kind and its address range meets one
 * of the nivl inclusive intervals [lo[j], hi[j]] (stored form). */
int byaddr_hit(const byaddr_dir *d, uint32_t i, int kind, const fl_addr *lo, const fl_addr *hi,
               unsigned nivl);
/* Parse the block of directory entry i into b, checked against the
 * entry (kind, rows, group number = i, inside the blocks' area). */
fl_rc byaddr_block(const seg_src *s, const seg_header *h, const byaddr_dir *d, uint32_t i,
                   seg_block *b, fl_err *e);
/* Append to bl the parsed blocks of one kind whose address range meets
 * one of the nivl inclusive intervals [lo[j], hi[j]] (stored form). A
 * block's group number is its index in the directory. */
fl_rc byaddr_blocks(const seg_src *s, const seg_header *h, const byaddr_dir *d, int kind,
                    const fl_addr *lo, const fl_addr *hi, unsigned nivl, seg_blocks *bl,
                    fl_err *e);

#endif /* FL_STORE_BYADDR_H */
