/*
 * core/core.h — the public contract of flowlens' core: the flow schema,
 * columnar batches, arenas, errors, logging, time and address parsing.
 *
 * Every other module depends on this header and on nothing else of core.
 * Objects here are small and visible (batches, addresses, error contexts)
 * because they sit on hot paths; long-lived objects of other modules are
 * opaque handles.
 */
#ifndef FL_CORE_H
#define FL_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * The project's return codes. Values are stable: scripts and the HTTP API
 * may report them; add new codes at the end, never renumber.
 */
typedef enum fl_rc {
    FL_OK = 0,
    FL_ENOMEM = 1,      /* allocation failed or a buffer's maximum was hit */
    FL_EINVAL = 2,      /* bad argument or bad user input */
    FL_EPARSE = 3,      /* text that does not follow its grammar */
    FL_ERANGE = 4,      /* a number or time out of its range */
    FL_EIO = 5,         /* the operating system refused a read/write */
    FL_ECORRUPT = 6,    /* stored data failed a check */
    FL_EVERSION = 7,    /* data written by an unknown (newer) version */
    FL_ENOTFOUND = 8,   /* the named thing does not exist */
    FL_ELIMIT = 9,      /* a configured limit (memory, size, depth) was hit */
    FL_EUNSUPPORTED = 10, /* known but not implemented */
    FL_ETRUNCATED = 11, /* input ended before a complete item */
    FL_EEXIST = 12,     /* the thing already exists */
    FL_ECANCELED = 13,  /* the caller asked to stop */
    FL_RC_COUNT
} fl_rc;

/* Stable one-line description of rc; never NULL. */
const char *fl_strerror(fl_rc rc);

/*
 * An error context, owned by the caller and passed down. The callee fills
 * it when it fails; a message carries the position (file, line, byte
 * offset) when one is known. Never a global: two threads, two contexts.
 */
typedef struct fl_err {
    fl_rc rc;
    char where[256];   /* "file", "filter", exporter address...; "" if none */
    long line;         /* 1-based; 0 when not meaningful */
    long long offset;  /* 0-based byte offset; -1 when not meaningful */
    char msg[512];
} fl_err;

void fl_err_clear(fl_err *e);
/* Set rc and a printf-style message; returns rc so callers can
 * `return fl_err_set(e, FL_EPARSE, ...)`. e may be NULL. */
fl_rc fl_err_set(fl_err *e, fl_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with a position: where (may be NULL), line (0 = none),
 * offset (-1 = none). */
fl_rc fl_err_at(fl_err *e, fl_rc rc, const char *where, long line,
                long long offset, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* "where:line:offset: msg" (the parts that are known) into buf. */
void fl_err_format(const fl_err *e, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

typedef enum fl_log_level {
    FL_LOG_ERROR = 0,
    FL_LOG_WARN = 1,
    FL_LOG_INFO = 2,
    FL_LOG_DEBUG = 3
} fl_log_level;

/* Messages above this level are dropped. Default FL_LOG_INFO. */
void fl_log_set_level(fl_log_level lvl);
fl_log_level fl_log_get_level(void);
/* Parse "error", "warn", "info", "debug"; returns -1 when unknown. */
int fl_log_level_parse(const char *s);
/* One line per event, to stderr, with a UTC timestamp and the level. */
void fl_log(fl_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define fl_log_error(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)
#define fl_log_warn(...) fl_log(FL_LOG_WARN, __VA_ARGS__)
#define fl_log_info(...) fl_log(FL_LOG_INFO, __VA_ARGS__)
#define fl_log_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Arenas                                                              */
/* ------------------------------------------------------------------ */

/*
 * An arena hands out memory from large blocks and frees it all in one
 * call: one per query, one per HTTP request. It has a hard maximum; an
 * allocation past it fails (returns NULL) rather than growing the process.
 */
typedef struct fl_arena fl_arena;

/* max_bytes: total the arena may take from malloc (0 = 1 GiB). */
fl_arena *fl_arena_new(size_t max_bytes);
/* Frees every block. Accepts NULL. */
void fl_arena_free(fl_arena *a);
/* Forget every allocation but keep the first block for reuse. */
void fl_arena_reset(fl_arena *a);
/* 16-byte aligned; NULL when over the maximum or out of memory. */
void *fl_arena_alloc(fl_arena *a, size_t n);
void *fl_arena_calloc(fl_arena *a, size_t count, size_t size);
/* Copy of s[0..len) with a NUL added. */
char *fl_arena_strndup(fl_arena *a, const char *s, size_t len);
size_t fl_arena_used(const fl_arena *a);

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/*
 * A 128-bit address as two host-order halves so comparison and prefix
 * masking are integer operations. IPv4 is stored IPv4-mapped
 * (hi = 0, lo = 0x0000ffff00000000 | v4).
 */
typedef struct fl_addr {
    uint64_t hi, lo;
} fl_addr;

typedef struct fl_prefix {
    fl_addr addr; /* already masked */
    uint8_t len;  /* 0..128, in the 128-bit space (IPv4 /8 is 104) */
} fl_prefix;

#define FL_ADDR_STRLEN 46 /* enough for any printed address + NUL */
#define FL_MAC_STRLEN 18

fl_addr fl_addr_from_v4(uint32_t v4);
/* 16 bytes, network order. */
fl_addr fl_addr_from_v6(const uint8_t b[16]);
void fl_addr_to_v6(fl_addr a, uint8_t b[16]);
int fl_addr_is_v4(fl_addr a);
uint32_t fl_addr_v4(fl_addr a); /* low 32 bits; meaningful if is_v4 */
int fl_addr_cmp(fl_addr a, fl_addr b);
fl_addr fl_addr_mask(fl_addr a, unsigned len128);
int fl_prefix_contains(const fl_prefix *p, fl_addr a);

/*
 * Parse s[0..len) as an IPv4 or IPv6 address (IPv6 may be in brackets and
 * may end in a dotted IPv4). Errors name what was wrong and where.
 */
fl_rc fl_addr_parse(const char *s, size_t len, fl_addr *out, fl_err *e);
/*
 * Parse a prefix "ADDR/LEN" or a bare address (a host prefix). IPv4 may be
 * abbreviated as nfdump allows ("172.16/16"). Lengths are given in the
 * family's own terms (IPv4 0..32) and stored in the 128-bit space. Host
 * bits set beyond the length are an error unless allow_host_bits.
 */
fl_rc fl_prefix_parse(const char *s, size_t len, int allow_host_bits,
                      fl_prefix *out, fl_err *e);
/* IPv4 dotted, IPv6 RFC 5952; returns the length written. */
size_t fl_addr_format(fl_addr a, char *buf, size_t len);
/* "ADDR/LEN" with LEN in the family's own terms. */
size_t fl_prefix_format(const fl_prefix *p, char *buf, size_t len);

/* MAC addresses are the low 48 bits of a uint64_t. Accepts
 * "aa:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff" and "aabb.ccdd.eeff". */
fl_rc fl_mac_parse(const char *s, size_t len, uint64_t *out, fl_err *e);
size_t fl_mac_format(uint64_t mac, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* All stored times are UTC epoch milliseconds. */
typedef int64_t fl_time;

#define FL_TIME_MIN ((fl_time)0)
#define FL_TIME_MAX ((fl_time)253402300799999LL) /* 9999-12-31T23:59:59.999Z */

/* Wall clock now, epoch ms. */
fl_time fl_time_now(void);

enum {
    FL_TIME_LOCAL = 1 /* zone-less absolute times are local, else UTC */
};

/*
 * Parse one time from s[0..len):
 *   ISO 8601   2024-05-01T12:00:00Z, 2024-05-01 12:00:00.250+02:00,
 *              2024-05-01 (midnight); no zone = UTC unless FL_TIME_LOCAL
 *   nfdump -t  2024/05/01.12:00:00, 2024/05/01.12:00, 2024/05/01.12,
 *              2024/05/01; zone-less (local if FL_TIME_LOCAL)
 *   epoch      1714564800 (seconds), 1714564800123 (13+ digits: ms),
 *              or with an explicit suffix "s" / "ms"
 *   relative   now, -15m, +2h, now-1d, now+30s (units s m h d w), taken
 *              from `now`
 */
fl_rc fl_time_parse(const char *s, size_t len, fl_time now, int flags,
                    fl_time *out, fl_err *e);

/*
 * A half-open window [start, end). Parse "A..B" or nfdump's "A-B" form;
 * a single time T means [T, now]. Start after end is an error.
 */
typedef struct fl_time_range {
    fl_time start, end;
} fl_time_range;
fl_rc fl_time_range_parse(const char *s, size_t len, fl_time now, int flags,
                          fl_time_range *out, fl_err *e);

enum {
    FL_TFMT_ISO = 0,    /* 2024-05-01T12:00:00.000Z (UTC) */
    FL_TFMT_NFDUMP = 1  /* 2024-05-01 12:00:00.000, nfdump's listing form */
};
/* Print t; FL_TIME_LOCAL in flags prints local time (ISO gets the
 * offset). Returns the length written (buf is always NUL-terminated). */
size_t fl_time_format(fl_time t, int style, int flags, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Flow schema                                                         */
/* ------------------------------------------------------------------ */

typedef enum fl_kind {
    FL_KIND_U8,
    FL_KIND_U16,
    FL_KIND_U32,
    FL_KIND_U64,
    FL_KIND_TIME, /* fl_time, epoch ms */
    FL_KIND_ADDR, /* fl_addr */
    FL_KIND_MAC   /* uint64_t, low 48 bits */
} fl_kind;

typedef enum fl_col {
#define FL_COL(ID, name, kind, tag, stat, ipfix, unit, desc) FL_COL_##ID,
#include "schema.def"
#undef FL_COL
    FL_COL_COUNT
} fl_col;

typedef struct fl_col_info {
    fl_col id;
    const char *name;
    fl_kind kind;
    unsigned width;      /* bytes per value */
    const char *ctype;   /* C type of one value */
    const char *nf_tag;  /* nfdump -o fmt tag, "" if none */
    const char *nf_stat; /* nfdump -s/-A element, "" if none */
    const char *ipfix;   /* comma-separated IE ids, "" if none */
    const char *unit;
    const char *desc;
} fl_col_info;

/* Description of column c (c < FL_COL_COUNT). */
const fl_col_info *fl_col_get(fl_col c);
/* Lookup by column name, nfdump fmt tag or nfdump stat element; -1 if
 * none. */
int fl_col_by_name(const char *name);
int fl_col_by_nf_tag(const char *tag);
int fl_col_by_nf_stat(const char *stat);
unsigned fl_kind_width(fl_kind k);
const char *fl_kind_name(fl_kind k);

/*
 * One flow as a struct, generated from the schema. For tests, generators
 * and slow paths only: hot paths work on fl_batch columns.
 */
#define FL_CTYPE_U8 uint8_t
#define FL_CTYPE_U16 uint16_t
#define FL_CTYPE_U32 uint32_t
#define FL_CTYPE_U64 uint64_t
#define FL_CTYPE_TIME fl_time
#define FL_CTYPE_ADDR fl_addr
#define FL_CTYPE_MAC uint64_t
typedef struct fl_flow {
#define FL_COL(ID, name, kind, tag, stat, ipfix, unit, desc) \
    FL_CTYPE_##kind ID;
#include "schema.def"
#undef FL_COL
} fl_flow;

/* ------------------------------------------------------------------ */
/* Batches                                                             */
/* ------------------------------------------------------------------ */

#define FL_BATCH_CAP 4096
#define FL_PRESENT_WORDS ((FL_COL_COUNT + 63) / 64)

/*
 * A batch of flows as columns (struct of arrays). Every column has
 * `cap` slots; `n` rows are filled. `present` marks columns any row of the
 * batch set (a decoder that never saw a MAC leaves it clear so writers can
 * skip it); absent columns read as zero. Invariant: whoever writes a
 * non-zero value into a column marks it present (fl_batch_mark), which
 * lets fl_batch_clear touch only present columns.
 */
typedef struct fl_batch {
    uint32_t n;
    uint32_t cap;
    uint64_t present[FL_PRESENT_WORDS];
    void *col[FL_COL_COUNT];
    void *mem; /* one allocation behind all columns */
} fl_batch;

/* A selection vector: indexes of the rows that pass, ascending. */
typedef struct fl_sel {
    uint32_t n;
    uint32_t cap;
    uint32_t *idx;
} fl_sel;

/* cap = 0 means FL_BATCH_CAP. NULL on allocation failure. Columns start
 * zeroed. The batch owns its memory; free with fl_batch_free. */
fl_batch *fl_batch_new(uint32_t cap);
void fl_batch_free(fl_batch *b);
/* Drop all rows and presence; columns are re-zeroed up to the old n. */
void fl_batch_clear(fl_batch *b);
/* Reserve the next row (zeroed); returns its index, or -1 when full. */
int64_t fl_batch_add_row(fl_batch *b);
/* Copy one flow into a new row; marks present the columns that are
 * non-zero. FL_ELIMIT when full. */
fl_rc fl_batch_append(fl_batch *b, const fl_flow *f);
/* Read row r back as a struct. */
void fl_batch_get(const fl_batch *b, uint32_t r, fl_flow *f);

static inline void fl_batch_mark(fl_batch *b, fl_col c)
{
    b->present[c / 64] |= (uint64_t)1 << (c % 64);
}
static inline int fl_batch_has(const fl_batch *b, fl_col c)
{
    return (int)((b->present[c / 64] >> (c % 64)) & 1);
}

/* Typed column access; the kind must match the schema. */
#define FL_U8(b, c) ((uint8_t *)(b)->col[c])
#define FL_U16(b, c) ((uint16_t *)(b)->col[c])
#define FL_U32(b, c) ((uint32_t *)(b)->col[c])
#define FL_U64(b, c) ((uint64_t *)(b)->col[c])
#define FL_TIMES(b, c) ((fl_time *)(b)->col[c])
#define FL_ADDRS(b, c) ((fl_addr *)(b)->col[c])
#define FL_MACS(b, c) ((uint64_t *)(b)->col[c])

/* Read a numeric column of any integer kind (U8..U64, TIME, MAC) as
 * uint64; 0 for ADDR. Slow path helper. */
uint64_t fl_batch_get_u64(const fl_batch *b, fl_col c, uint32_t r);
void fl_batch_set_u64(fl_batch *b, fl_col c, uint32_t r, uint64_t v);

/* Row r as one JSON object of its present columns, keyed by column name
 * (addresses, MACs and ISO times as strings, numbers raw), no newline.
 * The one JSON flow writer: collector, query and CLI listings use it. */
void fl_batch_write_json(const fl_batch *b, uint32_t r, FILE *f);

fl_sel *fl_sel_new(uint32_t cap);
void fl_sel_free(fl_sel *s);
/* Select every row of b. */
void fl_sel_all(fl_sel *s, const fl_batch *b);

/* ------------------------------------------------------------------ */
/* Configuration files                                                 */
/* ------------------------------------------------------------------ */

/*
 * One documented format (docs/config.md): lines of `key = value`, `#` or
 * `;` comments, `[section]` headers naming a subcommand. Values may be
 * double-quoted ("a \"b\"" with \\ and \" escapes). Every flag of a
 * subcommand is a key of the same name; flags given on the command line
 * win. Repeatable keys (listen) may appear several times.
 */
typedef struct fl_config_entry {
    const char *section; /* "" for keys before any section */
    const char *key;
    const char *value;
    long line;
} fl_config_entry;

typedef struct fl_config fl_config;

#define FL_CONFIG_MAX_BYTES (1u << 20)
#define FL_CONFIG_MAX_ENTRIES 4096

/* Parse text[0..len); `name` (the file name) goes into error positions. */
fl_rc fl_config_parse(const char *text, size_t len, const char *name, fl_config **out,
                      fl_err *e);
/* Read and parse a file; errors name the file (and line). */
fl_rc fl_config_load(const char *path, fl_config **out, fl_err *e);
void fl_config_free(fl_config *c);
size_t fl_config_count(const fl_config *c);
const fl_config_entry *fl_config_at(const fl_config *c, size_t i);

#endif /* FL_CORE_H */
