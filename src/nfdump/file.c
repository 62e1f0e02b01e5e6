/*
 * nfdump/file.c — one nfdump file: header, appendix, blocks, decompression.
 *
 * An nfdump file is a header, then data blocks, each a 12-byte block
 * header (record count, payload size, type, flags) and a payload
 * compressed as the file header says, then (layout 2) appendix blocks
 * holding the ident and the statistics record. This file owns framing:
 * it walks blocks by their sizes, decompresses one payload at a time into
 * a buffer of at most FL_NFDUMP_MAX_BLOCK bytes and hands the records to
 * decode.c. A bad payload costs that block only when the framing around
 * it is intact; a bad block header ends the file (nothing after it can be
 * located). Everything is read with pread so a memory image (fuzzer,
 * tests) and a file share one code path.
 */
#include "nfdump_int.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <lzo/lzo1x.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define NFD_MAGIC 0xA50C
#define V1_HEADER 140 /* magic, version, flags, NumBlocks, ident[128] */
#define V1_STAT 136
#define V2_HEADER 40
#define BLOCK_HEADER 12

/* read len bytes at off; FL_ETRUNCATED when the file is shorter */
static fl_rc src_read(fl_nfdump_file *f, uint64_t off, void *buf, size_t len)
{
    if (off > f->size || len > f->size - off)
        return FL_ETRUNCATED;
    if (f->fd < 0) {
        memcpy(buf, f->mem + off, len);
        return FL_OK;
    }
    while (len > 0) {
        ssize_t n = pread(f->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return FL_EIO;
        if (n == 0)
            return FL_ETRUNCATED;
        buf = (uint8_t *)buf + n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return FL_OK;
}

static fl_rc block_err(fl_nfdump_file *f, fl_err *e, fl_rc rc, uint32_t blk, uint64_t off,
                       const char *what)
{
    return fl_err_at(e, rc, f->path, 0, (long long)off, "block %u: %s", blk, what);
}

/*
 * Framing: read the block header at f->rd_off into s and move rd_off past
 * the block. Cheap and sequential; with read-ahead it runs under the lock.
 * A bad header or a short file sets rd_done (nothing after it can be
 * located) and s->rc.
 */
static void frame_block(fl_nfdump_file *f, nfd_slot *s, uint32_t blk)
{
    uint8_t h[BLOCK_HEADER];
    uint64_t off = f->rd_off;
    fl_rc rc;

    s->recs = NULL;
    s->end = 0;
    s->rc = FL_OK;
    s->no = blk;
    s->off = off;
    s->size = 0;
    rc = src_read(f, off, h, sizeof h);
    if (rc != FL_OK) {
        f->rd_done = 1;
        s->rc = block_err(f, &s->err, rc, blk, off,
                          rc == FL_EIO ? "read error" : "file ends inside the block header");
        return;
    }
    s->nrec = nfd_u32(f, h);
    s->size = nfd_u32(f, h + 4);
    s->type = nfd_u16(f, h + 8);
    s->flags = nfd_u16(f, h + 10);
    if (s->size == 0 || s->size > FL_NFDUMP_MAX_BLOCK) {
        f->rd_done = 1;
        s->rc = fl_err_at(&s->err, FL_ECORRUPT, f->path, 0, (long long)off,
                          "block %u: bad block size %u", blk, s->size);
        return;
    }
    if (off + BLOCK_HEADER + s->size > f->size) {
        f->rd_done = 1;
        s->rc = fl_err_at(&s->err, FL_ETRUNCATED, f->path, 0, (long long)off,
                          "block %u: truncated: %u payload bytes announced, %llu present", blk,
                          s->size, (unsigned long long)(f->size - off - BLOCK_HEADER));
        return;
    }
    f->rd_off = off + BLOCK_HEADER + s->size;
}

/*
 * Payload of a framed block: read and decompress into s's buffers. Touches
 * only s and read-only file state, so read-ahead threads run it in
 * parallel. s->recs is NULL for a block type without flows.
 */
static void fill_block(fl_nfdump_file *f, nfd_slot *s, int compressed_file)
{
    unsigned comp = compressed_file ? f->info.compression : FL_NFDUMP_COMP_NONE;
    uint32_t size = s->size, blk = s->no;
    uint64_t off = s->off;
    fl_err *e = &s->err;
    fl_rc rc;
    size_t out_len = 0;

    if (s->rc != FL_OK || s->end)
        return;
    if (size > s->raw_cap) {
        /* grow to what this block needs; FL_NFDUMP_MAX_BLOCK bounds it */
        uint8_t *n = realloc(s->raw, size);
        if (n == NULL) {
            s->rc = block_err(f, e, FL_ENOMEM, blk, off, "out of memory");
            return;
        }
        s->raw = n;
        s->raw_cap = size;
    }
    if (f->info.layout == 2 && (s->flags & 1)) /* FLAG_BLOCK_UNCOMPRESSED */
        comp = FL_NFDUMP_COMP_NONE;
    if (comp != FL_NFDUMP_COMP_NONE && s->plain == NULL) {
        s->plain = malloc(FL_NFDUMP_MAX_BLOCK);
        if (s->plain == NULL) {
            s->rc = block_err(f, e, FL_ENOMEM, blk, off, "out of memory");
            return;
        }
    }
    rc = src_read(f, off + BLOCK_HEADER, s->raw, size);
    if (rc != FL_OK) {
        s->rc = block_err(f, e, rc, blk, off, "read error");
        return;
    }
    switch (comp) {
    case FL_NFDUMP_COMP_NONE:
        out_len = size; /* records are read in place */
        break;
    case FL_NFDUMP_COMP_LZO: {
        lzo_uint ol = FL_NFDUMP_MAX_BLOCK;
        if (lzo1x_decompress_safe(s->raw, size, s->plain, &ol, NULL) != LZO_E_OK)
            s->rc = block_err(f, e, FL_ECORRUPT, blk, off, "LZO decompression failed");
        out_len = ol;
        break;
    }
    case FL_NFDUMP_COMP_LZ4: {
        int n = LZ4_decompress_safe((const char *)s->raw, (char *)s->plain, (int)size,
                                    (int)FL_NFDUMP_MAX_BLOCK);
        if (n <= 0)
            s->rc = block_err(f, e, FL_ECORRUPT, blk, off, "LZ4 decompression failed");
        out_len = n > 0 ? (size_t)n : 0;
        break;
    }
    case FL_NFDUMP_COMP_BZ2: {
        unsigned int ol = FL_NFDUMP_MAX_BLOCK;
        if (BZ2_bzBuffToBuffDecompress((char *)s->plain, &ol, (char *)s->raw, size, 0, 0) !=
            BZ_OK)
            s->rc = block_err(f, e, FL_ECORRUPT, blk, off, "BZ2 decompression failed");
        out_len = ol;
        break;
    }
    case FL_NFDUMP_COMP_ZSTD: {
        size_t n = ZSTD_decompress(s->plain, FL_NFDUMP_MAX_BLOCK, s->raw, size);
        if (ZSTD_isError(n))
            s->rc = block_err(f, e, FL_ECORRUPT, blk, off, "ZSTD decompression failed");
        out_len = ZSTD_isError(n) ? 0 : n;
        break;
    }
    default:
        s->rc = block_err(f, e, FL_EUNSUPPORTED, blk, off, "unknown compression");
        break;
    }
    if (s->rc != FL_OK || (s->type != 2 && s->type != 3))
        return; /* bad, or not a flow block: nothing to decode */
    s->recs = comp == FL_NFDUMP_COMP_NONE ? s->raw : s->plain;
    s->len = (uint32_t)out_len;
}

/* frame the next data block into s, or mark s->end when there is none */
static void frame_next(fl_nfdump_file *f, nfd_slot *s)
{
    s->rc = FL_OK;
    s->recs = NULL;
    s->end = 0;
    s->size = 0;
    /* the header announces how many data blocks follow */
    if (f->rd_done || f->rd_next >= f->info.blocks || f->rd_off >= f->data_end) {
        s->end = 1;
        return;
    }
    frame_block(f, s, f->rd_next++);
}

/*
 * Read-ahead: NFD_WORKERS threads each claim the next block number, frame
 * it under the lock (sequential, cheap), then read and decompress its
 * payload into slot number % NFD_SLOTS without the lock, so blocks
 * decompress in parallel while the caller decodes earlier ones. The caller
 * consumes slots strictly in block order. Threads own rd_* while they run.
 */
static void *reader_main(void *arg)
{
    fl_nfdump_file *f = arg;

    pthread_mutex_lock(&f->mu);
    for (;;) {
        nfd_slot *s;
        while (!f->stop && !f->claimed_end &&
               f->slot[f->claim % NFD_SLOTS].state != NFD_FREE)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop || f->claimed_end)
            break;
        s = &f->slot[f->claim % NFD_SLOTS];
        f->claim++;
        s->state = NFD_BUSY;
        frame_next(f, s);
        if (s->end)
            f->claimed_end = 1;
        pthread_mutex_unlock(&f->mu);
        fill_block(f, s, 1);
        pthread_mutex_lock(&f->mu);
        s->state = NFD_READY;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static nfd_slot *acquire(fl_nfdump_file *f)
{
    nfd_slot *s;
    if (!f->threaded) {
        s = &f->slot[0];
        frame_next(f, s);
        if (!s->end)
            fill_block(f, s, 1);
        return s;
    }
    s = &f->slot[f->cons % NFD_SLOTS];
    pthread_mutex_lock(&f->mu);
    while (s->state != NFD_READY)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    return s;
}

static void release(fl_nfdump_file *f)
{
    if (f->threaded) {
        pthread_mutex_lock(&f->mu);
        f->slot[f->cons % NFD_SLOTS].state = NFD_FREE;
        f->cons++;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
    f->held = 0;
}

static void start_reader(fl_nfdump_file *f)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cpus >= 2 ? NFD_WORKERS : 1;

    if (pthread_mutex_init(&f->mu, NULL) != 0)
        return;
    if (pthread_cond_init(&f->cv, NULL) != 0) {
        pthread_mutex_destroy(&f->mu);
        return;
    }
    f->threaded = 1;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&f->th[i], NULL, reader_main, f) != 0)
            break;
        f->nth++;
    }
    if (f->nth == 0) {
        f->threaded = 0; /* read without threads */
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
    }
}

/* Appendix (layout 2): ident and statistics records. */
static void read_appendix(fl_nfdump_file *f, uint64_t off, unsigned nblocks)
{
    uint64_t save = f->rd_off;
    nfd_slot *s = &f->slot[0];

    f->rd_off = off;
    for (unsigned i = 0; i < nblocks && !f->rd_done; i++) {
        frame_block(f, s, i);
        fill_block(f, s, 1);
        if (s->rc != FL_OK) {
            f->info.appendix_bad = 1;
            break;
        }
        /* appendix blocks are type 3 (records) */
        const uint8_t *p = s->recs;
        uint32_t len = p != NULL ? s->len : 0, pos = 0;
        for (uint32_t r = 0; r < s->nrec && len - pos >= 4; r++) {
            uint16_t type = nfd_u16(f, p + pos), size = nfd_u16(f, p + pos + 2);
            if (size < 4 || size > len - pos) {
                f->info.appendix_bad = 1;
                break;
            }
            if (type == 0x8001) { /* ident */
                size_t n = size - 4u;
                if (n >= sizeof f->info.ident)
                    n = sizeof f->info.ident - 1;
                memcpy(f->info.ident, p + pos + 4, n);
                f->info.ident[n] = 0;
                f->info.ident[strnlen(f->info.ident, n)] = 0;
            } else if (type == 0x8002 && size >= 4 + 18 * 8) { /* stat record */
                const uint8_t *st = p + pos + 4;
                f->info.has_stat = 1;
                f->info.stat_flows = nfd_u64(f, st);
                f->info.stat_bytes = nfd_u64(f, st + 8);
                f->info.stat_packets = nfd_u64(f, st + 16);
                f->info.stat_first = (fl_time)nfd_u64(f, st + 15 * 8);
                f->info.stat_last = (fl_time)nfd_u64(f, st + 16 * 8);
                f->info.stat_seq_failures = nfd_u64(f, st + 17 * 8);
            }
            pos += size;
        }
    }
    f->rd_done = 0;
    f->rd_off = save;
}

static fl_rc parse_header(fl_nfdump_file *f, fl_err *e)
{
    uint8_t h[V1_HEADER + V1_STAT];
    uint16_t magic, version;
    fl_rc rc;

    if (f->size == 0)
        return fl_err_at(e, FL_ETRUNCATED, f->path, 0, -1, "empty file");
    rc = src_read(f, 0, h, f->size < sizeof h ? (size_t)f->size : sizeof h);
    if (rc != FL_OK)
        return fl_err_at(e, rc, f->path, 0, 0, "cannot read the file header");
    if (f->size < 4)
        return fl_err_at(e, FL_ETRUNCATED, f->path, 0, 0, "file shorter than its header");
    memcpy(&magic, h, 2);
    if (magic == NFD_MAGIC)
        f->swap = 0;
    else if (magic == __builtin_bswap16(NFD_MAGIC))
        f->swap = 1;
    else
        return fl_err_at(e, FL_ECORRUPT, f->path, 0, 0,
                         "not an nfdump file (magic 0x%04x, expected 0xa50c)", magic);
    f->info.big_endian = (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) ? !f->swap : f->swap;
    version = nfd_u16(f, h + 2);
    f->info.layout = version;
    if (version == 1) {
        uint32_t flags;
        if (f->size < V1_HEADER + V1_STAT)
            return fl_err_at(e, FL_ETRUNCATED, f->path, 0, 0,
                             "file shorter than its layout 1 header");
        flags = nfd_u32(f, h + 4);
        f->info.compression = (flags & 0x1)    ? FL_NFDUMP_COMP_LZO
                              : (flags & 0x8)  ? FL_NFDUMP_COMP_BZ2
                              : (flags & 0x10) ? FL_NFDUMP_COMP_LZ4
                                               : FL_NFDUMP_COMP_NONE;
        f->info.blocks = nfd_u32(f, h + 8);
        memcpy(f->info.ident, h + 12, 127);
        f->info.ident[127] = 0;
        {
            const uint8_t *s = h + V1_HEADER;
            f->info.has_stat = 1;
            f->info.stat_flows = nfd_u64(f, s);
            f->info.stat_bytes = nfd_u64(f, s + 8);
            f->info.stat_packets = nfd_u64(f, s + 16);
            f->info.stat_first =
                (fl_time)nfd_u32(f, s + 120) * 1000 + nfd_u16(f, s + 128);
            f->info.stat_last = (fl_time)nfd_u32(f, s + 124) * 1000 + nfd_u16(f, s + 130);
            f->info.stat_seq_failures = nfd_u32(f, s + 132);
        }
        f->rd_off = V1_HEADER + V1_STAT;
        f->data_end = f->size;
        return FL_OK;
    }
    if (version != 2)
        return fl_err_at(e, FL_EVERSION, f->path, 0, 2, "unknown file layout version %u",
                         version);
    if (f->size < V2_HEADER)
        return fl_err_at(e, FL_ETRUNCATED, f->path, 0, 0, "file shorter than its header");
    f->info.nfdversion = nfd_u32(f, h + 4);
    f->info.created = (int64_t)nfd_u64(f, h + 8);
    f->info.compression = h[16];
    if (h[17] != 0)
        return fl_err_at(e, FL_EUNSUPPORTED, f->path, 0, 17, "encrypted files are not supported");
    if (f->info.compression > FL_NFDUMP_COMP_ZSTD)
        return fl_err_at(e, FL_EUNSUPPORTED, f->path, 0, 16, "unknown compression %u",
                         f->info.compression);
    {
        uint16_t app_blocks = nfd_u16(f, h + 18);
        uint64_t app_off = nfd_u64(f, h + 24);
        f->info.blocks = nfd_u32(f, h + 36);
        f->rd_off = V2_HEADER;
        f->data_end = f->size;
        if (app_blocks > 0) {
            if (app_off >= V2_HEADER && app_off < f->size) {
                f->data_end = app_off;
                read_appendix(f, app_off, app_blocks);
            } else {
                f->info.appendix_bad = 1;
            }
        }
    }
    return FL_OK;
}

static fl_rc file_new(const char *name, fl_nfdump_file **out, fl_err *e)
{
    fl_nfdump_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory opening %s", name);
    f->fd = -1;
    f->path = strdup(name);
    if (f->path == NULL) {
        fl_nfdump_close(f);
        return fl_err_set(e, FL_ENOMEM, "out of memory opening %s", name);
    }
    *out = f;
    return FL_OK;
}

fl_rc fl_nfdump_open(const char *path, fl_nfdump_file **out, fl_err *e)
{
    fl_nfdump_file *f = NULL;
    struct stat st;
    fl_rc rc;

    *out = NULL;
    if (lzo_init() != LZO_E_OK)
        return fl_err_set(e, FL_EIO, "liblzo2 failed to initialise");
    rc = file_new(path, &f, e);
    if (rc != FL_OK)
        return rc;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        int err = errno;
        fl_nfdump_close(f);
        return fl_err_at(e, err == ENOENT ? FL_ENOTFOUND : FL_EIO, path, 0, -1, "cannot open: %s",
                         strerror(err));
    }
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fl_nfdump_close(f);
        return fl_err_at(e, FL_EIO, path, 0, -1, "not a regular file");
    }
    f->size = (uint64_t)st.st_size;
    rc = parse_header(f, e);
    if (rc != FL_OK) {
        fl_nfdump_close(f);
        return rc;
    }
    if (f->info.blocks >= 2)
        start_reader(f);
    *out = f;
    return FL_OK;
}

fl_rc fl_nfdump_open_mem(const void *data, size_t len, const char *name, fl_nfdump_file **out,
                         fl_err *e)
{
    fl_nfdump_file *f = NULL;
    fl_rc rc;

    *out = NULL;
    if (lzo_init() != LZO_E_OK)
        return fl_err_set(e, FL_EIO, "liblzo2 failed to initialise");
    rc = file_new(name, &f, e);
    if (rc != FL_OK)
        return rc;
    f->mem = data;
    f->size = len;
    rc = parse_header(f, e);
    if (rc != FL_OK) {
        fl_nfdump_close(f);
        return rc;
    }
    *out = f;
    return FL_OK;
}

void fl_nfdump_close(fl_nfdump_file *f)
{
    if (f == NULL)
        return;
    if (f->threaded) {
        pthread_mutex_lock(&f->mu);
        f->stop = 1;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        for (int i = 0; i < f->nth; i++)
            pthread_join(f->th[i], NULL);
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
    }
    if (f->fd >= 0)
        close(f->fd);
    if (f->maps != NULL) {
        for (size_t i = 0; i < NFD_MAX_MAPS; i++)
            free(f->maps[i]);
        free(f->maps);
    }
    free(f->exp);
    free(f->smp);
    free(f->ifn);
    free(f->vrfn);
    for (int i = 0; i < NFD_SLOTS; i++) {
        free(f->slot[i].raw);
        free(f->slot[i].plain);
    }
    free(f->path);
    free(f);
}

const fl_nfdump_info *fl_nfdump_file_info(const fl_nfdump_file *f)
{
    return &f->info;
}

const char *fl_nfdump_file_path(const fl_nfdump_file *f)
{
    return f->path;
}

uint64_t fl_nfdump_file_skipped(const fl_nfdump_file *f)
{
    return f->skipped;
}

/*
 * fl_batch_clear zeroes every column; a column no row marked present is
 * still all zero (writers mark what they write), so only present columns
 * need it. Flow files fill ~30 of the schema's columns, and the memset of
 * the rest was a third of the read time.
 */
void nfd_batch_clear(fl_batch *b)
{
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (fl_batch_has(b, (fl_col)c))
            memset(b->col[c], 0, (size_t)fl_col_get((fl_col)c)->width * b->n);
    memset(b->present, 0, sizeof b->present);
    b->n = 0;
}

fl_rc fl_nfdump_read(fl_nfdump_file *f, fl_batch *b, fl_err *e)
{
    fl_rc rc = FL_OK;

    nfd_batch_clear(b);
    while (b->n < b->cap) {
        if (!f->in_block) {
            nfd_slot *s;
            if (f->held)
                release(f); /* its records are decoded */
            if (f->ended)
                break;
            s = acquire(f);
            f->held = 1;
            if (s->end) {
                f->ended = 1;
                break;
            }
            if (s->rc != FL_OK) {
                if (e != NULL)
                    *e = s->err;
                rc = s->rc;
                break;
            }
            if (s->recs == NULL)
                continue;
            f->blk = s->recs;
            f->blk_len = s->len;
            f->blk_pos = 0;
            f->blk_recs = s->nrec;
            f->blk_rec_i = 0;
            f->blk_no = s->no;
            f->blk_off = s->off;
            f->in_block = 1;
            continue;
        }
        rc = nfd_decode_block(f, b, e);
        if (rc != FL_OK)
            break;
    }
    return rc;
}
