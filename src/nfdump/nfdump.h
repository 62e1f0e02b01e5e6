/*
 * nfdump/nfdump.h — read nfdump/nfcapd binary files into fl_batch columns.
 *
 * Two levels:
 *   - one file: fl_nfdump_open() → fl_nfdump_read() batch by batch →
 *     fl_nfdump_close(). Reads file layout 1 (nfdump 1.6: common records
 *     with extension maps) and layout 2 (nfdump 1.7: V3 records with
 *     extension elements), either byte order (the magic decides), blocks
 *     uncompressed or LZO, BZ2, LZ4, ZSTD compressed, the appendix (ident,
 *     statistics), exporter and sampler records, interface and VRF names.
 *   - a selection of files as nfdump's users name them (-r, -R, -M):
 *     fl_nfdump_select() → fl_nfdump_sel_next() batch by batch. A missing,
 *     empty, corrupt or truncated file is reported through the warning
 *     callback and skipped; the rest of the selection is still read. This is
 *     the nfcapd-archive backend of the query engine.
 *
 * Values land in the schema's columns exactly as nfdump holds them:
 * counters as stored (nfcapd already scaled sampled NetFlow v5 counters,
 * and such flows get sampling_rate 1), ICMP type/code in dst_port as
 * type<<8|code and also split into icmp_type/icmp_code, exporter = the
 * file's exporter sysid (see fl_nfdump_exporter_get for its address).
 */
#ifndef FL_NFDUMP_H
#define FL_NFDUMP_H

#include "core/core.h"

#include <stdint.h>

/* Largest block payload accepted (nfdump's BUFFSIZE); larger is corrupt. */
#define FL_NFDUMP_MAX_BLOCK (5u * 1048576u)

enum {
    FL_NFDUMP_COMP_NONE = 0,
    FL_NFDUMP_COMP_LZO = 1,
    FL_NFDUMP_COMP_BZ2 = 2,
    FL_NFDUMP_COMP_LZ4 = 3,
    FL_NFDUMP_COMP_ZSTD = 4
};

/* What a file's header and appendix say about it. */
typedef struct fl_nfdump_info {
    unsigned layout;      /* 1 (nfdump 1.6) or 2 (nfdump 1.7+) */
    unsigned compression; /* FL_NFDUMP_COMP_* */
    int big_endian;       /* file written on a big-endian host */
    uint32_t nfdversion;  /* creating nfdump version (layout 2), else 0 */
    int64_t created;      /* creation time, epoch s (layout 2), else 0 */
    uint32_t blocks;      /* data blocks the header announces */
    char ident[128];      /* ident string ("" when none) */
    int has_stat;         /* statistics record present */
    uint64_t stat_flows, stat_bytes, stat_packets;
    fl_time stat_first, stat_last; /* epoch ms */
    uint64_t stat_seq_failures;
    int appendix_bad;     /* the appendix could not be read (data still is) */
} fl_nfdump_info;

/* One exporter of a file (exporter info record, sysid = EXPORTER column). */
typedef struct fl_nfdump_exporter {
    uint16_t sysid;
    uint32_t version;  /* NetFlow version: 5, 9, 10 (IPFIX), 9999 sFlow */
    uint32_t id;       /* observation domain / source id */
    fl_addr addr;      /* exporter address ({0,0} when unknown) */
    uint32_t sampling; /* default packet sampling 1:N, 0 when none known */
} fl_nfdump_exporter;

typedef struct fl_nfdump_file fl_nfdump_file;

/*
 * Open a file and read its header and appendix. Returns FL_ENOTFOUND /
 * FL_EIO when it cannot be opened, FL_ETRUNCATED for an empty or short
 * file, FL_ECORRUPT for a bad magic or header, FL_EVERSION for an unknown
 * layout, FL_EUNSUPPORTED for encryption or an unknown compression. e
 * names the file. The caller owns *out (fl_nfdump_close).
 */
fl_rc fl_nfdump_open(const char *path, fl_nfdump_file **out, fl_err *e);
/* Same over a memory image (data must outlive the handle); name is used in
 * messages. For tests and the fuzzer. */
fl_rc fl_nfdump_open_mem(const void *data, size_t len, const char *name, fl_nfdump_file **out,
                         fl_err *e);
/* Accepts NULL. */
void fl_nfdump_close(fl_nfdump_file *f);

const fl_nfdump_info *fl_nfdump_file_info(const fl_nfdump_file *f);
const char *fl_nfdump_file_path(const fl_nfdump_file *f);

/*
 * Clear b and decode the next flows into it, at most b->cap. Returns FL_OK
 * with b->n > 0, or FL_OK with b->n == 0 at the end of the file.
 * A bad block returns FL_ECORRUPT / FL_ETRUNCATED with e naming file, block
 * number and byte offset; rows decoded before it stay in b. When the
 * block's framing was intact the next call goes on with the next block;
 * otherwise the file is at its end. Bad records inside a good block are
 * skipped and counted (fl_nfdump_file_skipped).
 */
fl_rc fl_nfdump_read(fl_nfdump_file *f, fl_batch *b, fl_err *e);
/* Records skipped so far (unknown types, bad lengths, missing maps). */
uint64_t fl_nfdump_file_skipped(const fl_nfdump_file *f);

/* Exporter with this sysid as known so far in the file, or NULL. The
 * address falls back to the flows' "received from" address when the file
 * has no exporter record. */
const fl_nfdump_exporter *fl_nfdump_exporter_get(const fl_nfdump_file *f, uint16_t sysid);
size_t fl_nfdump_exporter_count(const fl_nfdump_file *f);
const fl_nfdump_exporter *fl_nfdump_exporter_at(const fl_nfdump_file *f, size_t i);
/* Interface / VRF name records: name for an ifindex / VRF id, or NULL. */
const char *fl_nfdump_ifname(const fl_nfdump_file *f, uint32_t ifindex);
const char *fl_nfdump_vrfname(const fl_nfdump_file *f, uint32_t vrf);

/* ------------------------------------------------------------------ */
/* Selections                                                          */
/* ------------------------------------------------------------------ */

/*
 * nfdump's ways of naming files:
 *   read  (-r)  a file, or a directory read recursively
 *   range (-R)  a directory (recursive), a file, or first:last — first is
 *               a path, last is relative to first's directory and may
 *               carry the same sub-directory levels (nfcapd -S layouts):
 *               /flows/2024/05/01/nfcapd.202405010000:2024/05/02/nfcapd.202405022355
 *   multi (-M)  base/dir1:dir2:... — read or range is then applied inside
 *               each of these directories and must not contain '/' at its
 *               start.
 * Inside directories, entries are visited in name order (subdirectories
 * included, like nfdump's fts walk); names starting with nfcapd.current,
 * containing ".stat", "pcap" or ".DS_Store", and .nfstat are skipped.
 */
typedef struct fl_nfdump_spec {
    const char *read;  /* -r, or NULL */
    const char *range; /* -R, or NULL */
    const char *multi; /* -M, or NULL */
} fl_nfdump_spec;

typedef struct fl_nfdump_sel fl_nfdump_sel;

/* Warning callback: one call per skipped file or bad block. */
typedef void (*fl_nfdump_warn_fn)(void *ctx, const fl_err *w);

/*
 * Resolve spec into a list of files. Errors only for a spec that cannot
 * mean anything (no -r/-R, both, bad syntax, no directory at all); files
 * missing from a range are reported through warn when iteration reaches
 * them. warn may be NULL (warnings go to fl_log_warn). Caller owns *out.
 */
fl_rc fl_nfdump_select(const fl_nfdump_spec *spec, fl_nfdump_warn_fn warn, void *warn_ctx,
                       fl_nfdump_sel **out, fl_err *e);
void fl_nfdump_sel_free(fl_nfdump_sel *s);

size_t fl_nfdump_sel_count(const fl_nfdump_sel *s);
const char *fl_nfdump_sel_path(const fl_nfdump_sel *s, size_t i);

/*
 * Clear b and fill it with the next flows of the selection; a batch never
 * mixes files. FL_OK with b->n == 0 means the selection is exhausted.
 * Unreadable files and bad blocks are reported through the warning
 * callback and skipped; only FL_ENOMEM ends the iteration early.
 */
fl_rc fl_nfdump_sel_next(fl_nfdump_sel *s, fl_batch *b, fl_err *e);
/* fl_nfdump_sel_next with a void * handle: plugs straight into the query
 * engine's source, fl_source{ .ctx = sel, .next = fl_nfdump_sel_source_next }. */
fl_rc fl_nfdump_sel_source_next(void *sel, fl_batch *b, fl_err *e);
/* Fraction of the selection's files opened so far, 0..1 (for progress). */
double fl_nfdump_sel_progress(void *sel);
/* The file the last batch came from (exporter table, names), valid until
 * the next fl_nfdump_sel_next; NULL before the first batch. */
const fl_nfdump_file *fl_nfdump_sel_file(const fl_nfdump_sel *s);

typedef struct fl_nfdump_sel_stats {
    uint64_t files_read;    /* opened and read to the end */
    uint64_t files_skipped; /* missing, empty, unreadable */
    uint64_t blocks_bad;    /* corrupt or truncated blocks */
    uint64_t records_skipped;
    uint64_t flows;
} fl_nfdump_sel_stats;
void fl_nfdump_sel_stats_get(const fl_nfdump_sel *s, fl_nfdump_sel_stats *st);

/* ------------------------------------------------------------------ */
/* nfdump-compatible text                                              */
/* ------------------------------------------------------------------ */

/* nfdump -o csv header line (with '\n'). */
const char *fl_nfdump_csv_header(void);
/*
 * Row r of b as one nfdump -o csv line (with '\n') into buf; f (may be
 * NULL) supplies the exporter address for the "ra" column. Times print in
 * local time, as nfdump does. Columns flowlens does not keep (mpls2..10,
 * latencies) print as nfdump prints them when absent. Returns the length
 * written, or 0 when len is too small (1024 bytes is always enough).
 */
size_t fl_nfdump_csv_row(const fl_batch *b, uint32_t r, const fl_nfdump_file *f, char *buf,
                         size_t len);
/* nfdump's protocol name ("TCP", "ICMP6", or the number). */
const char *fl_nfdump_proto_name(uint8_t proto, char tmp[8]);

#endif /* FL_NFDUMP_H */
