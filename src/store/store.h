/*
 * store/store.h — the embedded columnar flow store.
 *
 * A store is a directory. Flows are partitioned into time slots (default
 * 5 minutes) by time_first; each slot becomes one or more segment files of
 * column chunks (docs/store-format.md). One process writes (it holds the
 * store's writer lock); any number of processes read. The open slot lives
 * in an append-only file flushed every flush_interval, which is both the
 * crash journal and what readers see of the last seconds of traffic.
 *
 * Writing:  fl_store_open(dir, &opts, FL_STORE_WRITE, ...), then
 *           fl_store_append() batches; fl_store_tick() from the event loop;
 *           fl_store_close() flushes and publishes everything (call it from
 *           the SIGTERM/SIGINT path).
 * Reading:  fl_store_scan_open() with a column set and a predicate, then
 *           fl_store_scan_next() until it returns no batch.
 *
 * Threads: writer calls (append, flush, tick, close_slot, exporter
 * changes) come from one thread. Scans only read the handle, so several
 * threads may each run their own scans over one handle at once, and one
 * scan may be filled from several threads at once (fl_store_scan_fill).
 */
#ifndef FL_STORE_H
#define FL_STORE_H

#include "core/core.h"

/* The on-disk format version this build writes and the newest it reads.
 * Files of a newer version are refused with FL_EVERSION. */
#define FL_STORE_FORMAT_VERSION 1

/* Rows per row group: every column chunk holds at most this many values,
 * and scan batches hold at most this many rows (batch->cap). */
#define FL_STORE_GROUP_ROWS 65536

typedef enum fl_store_codec {
    FL_STORE_ZSTD = 0, /* default */
    FL_STORE_LZ4 = 1,
    FL_STORE_NONE = 2
} fl_store_codec;

/*
 * Store options. fl_store_opts_default() gives the documented defaults:
 *   slot_ms      300000 (5 min)  time slot length; one segment per slot
 *   flush_ms     1000   (1 s)    open slot flushed + fsynced this often; kill -9
 *                                or power loss loses at most the rows appended
 *                                since the last flush
 *   codec        FL_STORE_ZSTD   per-chunk compression; zstd keeps zstd only where
 *                                it is a third smaller than lz4, else lz4
 *                                (docs/store-format.md)
 *   level        1               zstd level (1..19; on 64k-row chunks higher
 *                                levels are slower and no smaller); ignored for
 *                                lz4/none
 *   fsync        1               0 skips fsync (tests/benchmarks only)
 * Only writers use slot_ms/flush_ms/codec/level; readers take the format
 * from the files.
 */
typedef struct fl_store_opts {
    fl_time slot_ms;
    uint32_t flush_ms;
    fl_store_codec codec;
    int level;
    int fsync;
    int by_addr; /* 1 (default): each published segment gets a by-address
                    copy (docs/store-format.md), made inline when the
                    copier's queue is full; 2: then left to backfill
                    (a collector: receiving comes first); 0: none */
    uint32_t seg_groups; /* row groups a segment holds at most (default 16,
                            1,048,576 rows): a busier slot goes on in its
                            next segment, so every segment gets its copy */
} fl_store_opts;

void fl_store_opts_default(fl_store_opts *o);

typedef struct fl_store fl_store;

enum {
    FL_STORE_READ = 0,  /* read-only: scans, verify, exporter lookups */
    FL_STORE_WRITE = 1  /* take the writer lock, recover, accept appends */
};

/*
 * Open (and with FL_STORE_WRITE create) the store in dir. A writer takes
 * an exclusive lock (FL_EEXIST if another process writes), removes
 * temporary leftovers and turns every open-slot file left by a crash into
 * a published segment (valid blocks only). opts may be NULL (defaults).
 * A store whose FORMAT file names a newer version gives FL_EVERSION.
 * The handle is owned by the caller; free it with fl_store_close.
 */
fl_rc fl_store_open(const char *dir, const fl_store_opts *opts, int mode,
                    fl_store **out, fl_err *e);

/*
 * Writer: publish the open slot (temporary file, fsync, rename) and free
 * the handle. Readers: free the handle. Accepts NULL. Returns the first
 * error met while publishing (the open-slot file stays, so the next open
 * recovers it).
 */
fl_rc fl_store_close(fl_store *s, fl_err *e);

/*
 * Append the b->n rows of b (its present columns; absent ones are zero).
 * Each row goes to the slot of its time_first. Up to 4 slots are open at
 * once (docs/store-format.md): a row of a slot not open opens it, closing
 * the oldest open slot when 4 are open and the row is newer than it; a row
 * older than every open slot joins the oldest one, so a segment's real
 * time range is taken from its data. Flushes when flush_ms has passed
 * since the last flush; the fdatasync of such a timed flush runs on the
 * store's syncer thread (rows count as durable once it finished).
 */
fl_rc fl_store_append(fl_store *s, const fl_batch *b, fl_err *e);

/*
 * Write the rows not yet flushed to the open-slot file and fsync it. On
 * success every appended row is durable and visible to readers;
 * *durable (may be NULL) receives the total rows durable so far.
 */
fl_rc fl_store_flush(fl_store *s, uint64_t *durable, fl_err *e);

/*
 * Call from the writer's loop (about every flush interval): flushes when
 * due and closes an open slot once the clock `now` is a whole slot past
 * its end (late flows of a slot have that long to arrive), or starts more
 * than a slot after `now` (a far-future time), and no row came to it for
 * 10 flush intervals (at most 60 s of wall clock). Its timed flush syncs
 * in the background, as fl_store_append's; a failed background sync is
 * returned (FL_EIO, the file in e) by the next flush or tick.
 */
fl_rc fl_store_tick(fl_store *s, fl_time now, fl_err *e);

/*
 * Writer, when idle: make at most one missing by-address copy, of the
 * newest closed segment that lacks one (stores written before copies
 * existed, by_addr turned on later, a copy deleted after `flowlens
 * verify` named it) or whose copy was made before sums existed or has a
 * damaged directory (made again). Checks at most 64 segments per call
 * (each existing copy's directory is read once per store opened); *more
 * is 1 while some are left to check. Build failures are logged, not
 * returned.
 */
fl_rc fl_store_backfill(fl_store *s, int *more, fl_err *e);

/* Writer: publish every open slot now (no-op when none). */
fl_rc fl_store_close_slot(fl_store *s, fl_err *e);

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

#define FL_STORE_PRED_MAX 16
/* fl_store_pred_addr.col value meaning "src_addr or dst_addr". */
#define FL_STORE_ANY_ADDR (-1)

/* A numeric column inside [lo, hi] (inclusive, values as uint64; times
 * as epoch ms). */
typedef struct fl_store_pred_range {
    int col; /* fl_col of an integer/time/MAC kind */
    uint64_t lo, hi;
} fl_store_pred_range;

/* An address column inside a prefix. */
typedef struct fl_store_pred_addr {
    int col; /* FL_COL_SRC_ADDR, FL_COL_DST_ADDR, another ADDR column, or
                FL_STORE_ANY_ADDR (src or dst) */
    fl_prefix prefix;
} fl_store_pred_addr;

/*
 * An address term in nfdump's address space ("either form"): a stored
 * value matches when, read the way nfdump reads it — IPv4 (stored as
 * ::ffff:a.b.c.d) as ::a.b.c.d — it lies in one of the n inclusive
 * intervals [lo[i], hi[i]]. So an IPv4 interval also selects stored
 * IPv4-compatible ::a.b.c.d, and an IPv6 interval over ::/96 also selects
 * IPv4. The scan checks every form against the zone maps and blooms and
 * never skips a row group that could hold a match. This is what the
 * filter's host/net/ip-list primitives mean, so they push down as is.
 */
#define FL_STORE_ASET_MAX 64
#define FL_STORE_PRED_ASETS 4
typedef struct fl_store_pred_aset {
    int col; /* an ADDR column, or FL_STORE_ANY_ADDR (src or dst) */
    uint32_t n;
    fl_addr lo[FL_STORE_ASET_MAX], hi[FL_STORE_ASET_MAX];
} fl_store_pred_aset;

/*
 * A conjunction (AND of every term) the scan uses to skip segments and
 * row groups through the catalog and zone maps. Zero-initialise it, then
 * set what you need:
 *   time        time_first in [t_start, t_end); t_end == 0 means no bound
 *   exporters   exporter id is one of exporter[0..nexporters) (0 = any)
 *   ranges      each ranges[i].col within [lo, hi] (ports, proto, AS, ...)
 *   addrs       each addrs[i] matches (a host is a prefix of length 128)
 *   asets       each asets[i] matches (nfdump's address space, above)
 * Pruning is conservative: a skipped row group cannot hold a matching row;
 * a kept one may hold none. Without FL_STORE_SCAN_EXACT the rows of kept
 * row groups come back unfiltered (the query's filter decides); with it,
 * only the rows matching the predicate come back.
 */
typedef struct fl_store_pred {
    fl_time t_start, t_end;
    uint32_t nexporters;
    uint16_t exporter[FL_STORE_PRED_MAX];
    uint32_t nranges;
    fl_store_pred_range ranges[FL_STORE_PRED_MAX];
    uint32_t naddrs;
    fl_store_pred_addr addrs[FL_STORE_PRED_MAX];
    uint32_t nasets;
    fl_store_pred_aset asets[FL_STORE_PRED_ASETS];
} fl_store_pred;

enum {
    FL_STORE_SCAN_EXACT = 1, /* return only rows matching the predicate */
    FL_STORE_SCAN_NO_OPEN = 2, /* skip the open slot (closed segments only) */
    /* the caller takes rows in any order: an exact scan whose predicate
     * has an address term on src_addr, dst_addr or either then reads the
     * closed segments' by-address copies (their few blocks that hold the
     * address) instead of every row group of the segments */
    FL_STORE_SCAN_ANY_ORDER = 4,
    /* ordered by address: the closed segments' by-address copies are
     * read (the src or the dst part) with their blocks handed out in
     * ascending address order over every segment, after the segments
     * read without one; fl_store_scan_floor then says below which address
     * no row is to come (an aggregation keyed by that address may let go
     * of every key below it). An address term on the other column or on
     * either (which picks other blocks) leaves the scan unordered. */
    FL_STORE_SCAN_SRC_ORDER = 8,
    FL_STORE_SCAN_DST_ORDER = 16
};

/* Counters of one scan (zone-map effect, warnings); exact once the scan
 * is done. */
typedef struct fl_store_scan_stats {
    uint64_t segments;          /* segments and open slots considered */
    uint64_t segments_pruned;   /* skipped from the catalog / file header, or
                                   starting past the time bound */
    uint64_t segments_by_addr;  /* read through their by-address copy */
    uint64_t segments_ordered;  /* ... of them, in address order */
    uint64_t groups;            /* row groups considered */
    uint64_t groups_pruned;     /* skipped by zone maps (or the time bound) */
    uint64_t groups_summed;     /* ... read as their sums (fl_store_scan_sums) */
    uint64_t rows;              /* rows returned (a sums row counts one) */
    uint64_t values;            /* column values decoded */
    uint64_t warnings;          /* corrupt chunks/segments skipped */
} fl_store_scan_stats;

typedef struct fl_store_scan fl_store_scan;

/*
 * Start a scan of store s. cols: bitmask of fl_col (bit c of word c/64,
 * FL_PRESENT_WORDS words) of the columns to decode; NULL means all.
 * pred may be NULL (everything). Segments are visited in slot order, then
 * the open slot(s) up to their last flush. The scan keeps its own file
 * handles; s must outlive it.
 */
fl_rc fl_store_scan_open(fl_store *s, const uint64_t *cols, const fl_store_pred *pred,
                         int flags, fl_store_scan **out, fl_err *e);

/*
 * Next batch: *out points to a batch owned by the scan, valid until the
 * next call (read-only: do not free it or write into it — columns not
 * requested share one zero array), holding up to FL_STORE_GROUP_ROWS rows with
 * the requested columns filled and marked present when stored; other
 * columns read as zero. *out == NULL at the end. A corrupt or unreadable
 * chunk or segment is skipped with a warning naming file, column and chunk
 * (logged and counted in stats), so the scan goes on over the rest.
 */
fl_rc fl_store_scan_next(fl_store_scan *sc, fl_batch **out, fl_err *e);
/*
 * The same scan as a fl_source for the query engine: put up to
 * dst->cap - dst->n rows (the requested columns) into the caller's batch
 * dst, starting at dst->n; dst->n unchanged means the end. Columns of dst
 * not marked present must hold zeros (fl_batch_clear keeps that); columns
 * marked present that the rows lack are zeroed over the rows put, so a
 * batch need not be cleared between calls (only its row count reset). When
 * dst has room for a whole row group (FL_STORE_GROUP_ROWS) the group is
 * decoded straight into it; otherwise through the scan's buffers.
 * Thread-safe: several threads may call it at once on one scan, each with
 * its own batch (the scan then decodes on all of them), so the engine's
 * fl_source.parallel may be set. Use either this or fl_store_scan_next on
 * one scan, not both.
 */
fl_rc fl_store_scan_fill(fl_store_scan *sc, fl_batch *dst, fl_err *e);
/*
 * The caller needs no row whose time_first is past t any more (a listing
 * of the -c earliest flows): segments and row groups that start later are
 * skipped from now on (counted as pruned). Only ever lowers the bound;
 * thread-safe. Rows past it may still come back.
 */
void fl_store_scan_time_bound(fl_store_scan *sc, fl_time t);
/*
 * A column asked for as dictionary codes (fl_store_scan_fill_codes): when
 * the row group's chunk of col is dictionary-coded, ndict gets its entry
 * count (> 0), dict[0..ndict) its distinct values (sorted; integers in
 * .lo, .hi 0) and codes[r] the entry of row r; the column's values are
 * decoded into the batch as well. ndict 0: not coded this time (another
 * encoding, an absent column, or a group that went through the scan's own
 * buffers) — read the values. codes and dict are the caller's arrays of
 * FL_STORE_GROUP_ROWS entries.
 */
typedef struct fl_store_codes {
    int col;
    uint32_t ndict;
    uint16_t *codes;
    fl_addr *dict;
    int no_values; /* codes only: the column's values are not written (the
                      batch's zeros stay) where codes are given */
} fl_store_codes;
#define FL_STORE_CODES_MAX 2
/*
 * fl_store_scan_fill, with up to FL_STORE_CODES_MAX columns asked for as
 * codes too (cd[0..ncd)). Codes are given only when dst is empty and has
 * room for a whole row group (it then holds exactly one group), and not in
 * FL_STORE_SCAN_EXACT scans.
 */
fl_rc fl_store_scan_fill_codes(fl_store_scan *sc, fl_batch *dst, fl_store_codes *cd,
                               unsigned ncd, fl_err *e);
/*
 * In an ordered scan (FL_STORE_SCAN_SRC_ORDER, _DST_ORDER): *out gets an
 * address (stored form) that every row of a batch filled from now on has
 * at least in the ordering column — the lowest address of the next block
 * to be handed out; :: while segments without a copy are being read or
 * once the order was lost (a damaged copy block, whose rows are read from
 * its segment at the end; a batch not filled whole), all ones past the
 * last block. Rows already handed out may be lower: the caller tracks its
 * own batches (read the floor before asking for a batch). Returns 0 (and
 * ::) when the scan is not ordered. Thread-safe.
 */
int fl_store_scan_floor(fl_store_scan *sc, fl_addr *out);
/*
 * Let scan sc — just opened, not exact or ordered, its predicate at most a
 * time range and exporters — answer from the by-address copies' sums:
 * every closed segment with a copy is read through its part ordered by
 * col (FL_COL_SRC_ADDR or FL_COL_DST_ADDR), and a block of it whose flows
 * all start and end in [start, end) (0, 0: any time) comes back as its
 * sums, one row per (address, exporter): the flows column (how many flows
 * the row stands for), packets, bytes and their reverse summed, the first
 * time_first, the last time_last, tcp_flags ORed; every other column
 * reads zero. Blocks holding sampled flows (1:N, N > 1) have no sums.
 * Only for a caller that counts each row as its flows column says and
 * reads no other column. 1 when sums may come back, 0 when the scan is
 * unchanged (it does not qualify).
 */
int fl_store_scan_sums(fl_store_scan *sc, fl_col col, fl_time start, fl_time end);
/*
 * Let an exact scan that reads the by-address copies (FL_STORE_SCAN_EXACT |
 * _ANY_ORDER) answer from their sums by protocol: its predicate one
 * address term (src, dst or either; with either, one host, not ::), time,
 * exporters and protocol or exporter ranges only. A copy block all of
 * whose addresses lie in the term, and all of whose flows start and end
 * in [start, end) (0, 0: any time), comes back as one row per (address,
 * exporter, protocol, the other address when nfdump reads it as the same
 * host, else ::) with the flows column, counters summed, first start,
 * last end, flags ORed; every other column zero. For a caller that counts
 * rows by their flows column and reads only the protocol, exporter and
 * counters. 1 when sums may come back, 0 when the scan is unchanged.
 */
int fl_store_scan_host_sums(fl_store_scan *sc, fl_time start, fl_time end);
/* Start the scan again from its first segment (same columns and
 * predicate; the segment list is not re-read). Not while another thread
 * is inside fill/next (FL_EINVAL). The stats keep counting. */
fl_rc fl_store_scan_rewind(fl_store_scan *sc, fl_err *e);
void fl_store_scan_get_stats(const fl_store_scan *sc, fl_store_scan_stats *st);
/* Fraction of the scan done, 0..1 (by segment bytes): the query engine's
 * fl_source.progress. */
double fl_store_scan_progress(const fl_store_scan *sc);
void fl_store_scan_free(fl_store_scan *sc);

/* ------------------------------------------------------------------ */
/* Catalog                                                             */
/* ------------------------------------------------------------------ */

typedef struct fl_store_seginfo {
    char name[64];       /* file name inside DIR/seg/ */
    fl_time slot_start;
    uint32_t seq;
    int open;            /* 1 = the open slot (not yet published) */
    uint64_t rows;
    uint64_t bytes;      /* file size, plus its by-address copy's */
    fl_time tmin, tmax;  /* time_first range of its rows */
} fl_store_seginfo;

/*
 * List segments overlapping [t_start, t_end) (t_end 0 = no bound) that may
 * hold one of the exporters (nexp 0 = any), in slot order, from the
 * catalog (files missing from it are read once). *out is malloc'd, the
 * caller frees it.
 */
fl_rc fl_store_list(fl_store *s, fl_time t_start, fl_time t_end, const uint16_t *exp,
                    uint32_t nexp, fl_store_seginfo **out, size_t *n, fl_err *e);

/* ------------------------------------------------------------------ */
/* Integrity and retention                                             */
/* ------------------------------------------------------------------ */

/* Called once per problem found: file (inside the store), message that
 * names column and chunk when it concerns one. */
typedef void (*fl_store_report_fn)(void *ctx, const char *file, const char *msg);

typedef struct fl_store_verify_stats {
    uint64_t segments, open_slots, groups, chunks, rows, problems;
    uint64_t copies; /* by-address copies checked (their chunks count in chunks) */
} fl_store_verify_stats;

/*
 * Check every file of the store: headers, versions, footers, block
 * metadata, the catalog and the by-address copies (made from their
 * segment, every block readable); with deep, also every chunk's checksum,
 * its decompression and its decoded min/max against the zone map. Returns
 * FL_OK when nothing is wrong, FL_ECORRUPT when problems were reported.
 */
fl_rc fl_store_verify(fl_store *s, int deep, fl_store_report_fn report, void *ctx,
                      fl_store_verify_stats *st, fl_err *e);

typedef struct fl_store_expire_opts {
    fl_time max_age_ms;   /* delete segments whose slot ended before now -
                             max_age_ms; 0 = no age limit */
    uint64_t max_bytes;   /* when the store is above this, delete oldest
                             segments down to low_water; 0 = no size limit */
    unsigned low_water_pct; /* percent of max_bytes; 0 means 90 */
    fl_time now;          /* 0 = wall clock */
    int dry_run;          /* report, delete nothing */
} fl_store_expire_opts;

typedef struct fl_store_expire_stats {
    uint64_t deleted, deleted_bytes, kept, kept_bytes;
} fl_store_expire_stats;

/*
 * Retention like nfexpire: by age, then by size with a low-water mark,
 * oldest slots first. Never touches the open slot. report (may be NULL)
 * is called with each segment deleted (or that would be, in dry runs).
 */
fl_rc fl_store_expire(fl_store *s, const fl_store_expire_opts *o, fl_store_report_fn report,
                      void *ctx, fl_store_expire_stats *st, fl_err *e);

/* ------------------------------------------------------------------ */
/* Exporter table                                                      */
/* ------------------------------------------------------------------ */

#define FL_STORE_NAME_MAX 64

/*
 * One exporter: the small id flows carry in the `exporter` column, and
 * what identifies and describes it. domain is the observation domain id
 * (IPFIX), source id (NetFlow v9), or engine_type << 8 | engine_id (v5).
 */
typedef struct fl_store_exporter {
    uint16_t id;      /* 1..65535 */
    fl_addr addr;
    uint32_t domain;
    uint32_t sampling; /* 0 unknown */
    char name[FL_STORE_NAME_MAX]; /* "" when unnamed */
} fl_store_exporter;

/*
 * The id of (addr, domain), adding the exporter when new (writer only;
 * the table file is rewritten atomically). Read-only handles get
 * FL_ENOTFOUND for unknown exporters. FL_ELIMIT past 65535 exporters.
 * A linear search: callers on the packet path keep their own cache
 * (e.g. in their per-exporter state) and call this once per exporter.
 */
fl_rc fl_store_exporter_id(fl_store *s, fl_addr addr, uint32_t domain, uint16_t *id,
                           fl_err *e);
/* Copy exporter id into *out; FL_ENOTFOUND when unknown. */
fl_rc fl_store_exporter_get(fl_store *s, uint16_t id, fl_store_exporter *out);
/* Number of exporters, and the i-th (0-based, id order). */
uint32_t fl_store_exporter_count(fl_store *s);
fl_rc fl_store_exporter_at(fl_store *s, uint32_t i, fl_store_exporter *out);
/* Writer: set name and sampling of an existing exporter (persisted). Names
 * are cut at FL_STORE_NAME_MAX-1 bytes; control characters become '?'. */
fl_rc fl_store_exporter_update(fl_store *s, uint16_t id, const char *name, uint32_t sampling,
                               fl_err *e);
/* Writer: name interface ifindex of exporter id (persisted); "" removes. */
fl_rc fl_store_exporter_set_ifname(fl_store *s, uint16_t id, uint32_t ifindex,
                                   const char *name, fl_err *e);
/* The interface's name, or NULL. Valid until the next table change. */
const char *fl_store_exporter_ifname(fl_store *s, uint16_t id, uint32_t ifindex);
/* The same for VRF names (options data's VRFname by ingress/egress VRF id). */
fl_rc fl_store_exporter_set_vrfname(fl_store *s, uint16_t id, uint32_t vrf, const char *name,
                                    fl_err *e);
const char *fl_store_exporter_vrfname(fl_store *s, uint16_t id, uint32_t vrf);
/* Name entry i (0-based) of every exporter: interface (*vrf 0) or VRF (*vrf
 * 1) names; FL_ENOTFOUND past the end. *name valid until the next change. */
fl_rc fl_store_exporter_name_at(fl_store *s, size_t i, uint16_t *id, int *vrf, uint32_t *key,
                                const char **name);

#endif /* FL_STORE_H */
