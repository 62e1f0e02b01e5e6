/*
 * collect/collect.h — the collector: NetFlow v5/v9, IPFIX and sFlow v5
 * decoders, the exporter table with its template caches and loss
 * accounting, a pcap/IPFIX-file reader and the UDP/TCP listeners.
 *
 * Shape:
 *   fl_collect         the decoding state shared by every receiver: the
 *                      exporter table (address + observation domain ->
 *                      small id), per-exporter templates, sampling,
 *                      interface/VRF names, sequence and error counters.
 *                      Thread-safe: receivers may decode concurrently.
 *   fl_collect_worker  one receiver's output: a fl_batch being filled.
 *                      One per thread, never shared.
 *   fl_collect_sink    where decoded flows go: a callback that receives
 *                      full batches and one that hears about exporters.
 *                      The store, a printer or a queue implements it.
 *   fl_collect_server  the listeners (UDP v4/v6, SO_REUSEPORT threads,
 *                      recvmmsg, IPFIX over TCP) feeding a bounded queue
 *                      whose writer thread calls the sink.
 *
 * Counters are raw; sampling_rate sits beside them (0 = unknown, with
 * flow_flags bit 1 set). Times are UTC epoch ms; flow_flags bit 2 marks
 * times the decoder had to estimate.
 */
#ifndef FL_COLLECT_H
#define FL_COLLECT_H

#include "core/core.h"

/* flow_flags bits written by the decoders */
#define FL_FLOW_SAMPLING_UNKNOWN 1u
#define FL_FLOW_TIME_ESTIMATED 2u

/* Export protocol of an exporter entry. */
typedef enum fl_collect_proto {
    FL_PROTO_NONE = 0,
    FL_PROTO_NF5 = 5,
    FL_PROTO_NF9 = 9,
    FL_PROTO_IPFIX = 10,
    FL_PROTO_SFLOW = 50
} fl_collect_proto;

/* Why a datagram (or part of one) was rejected. Stable order: the names
 * below (fl_collect_bad_name) are printed in stats. */
typedef enum fl_collect_bad {
    FL_BAD_SHORT = 0,     /* shorter than the protocol's header */
    FL_BAD_VERSION,       /* not v5/v9/IPFIX/sFlow v5 */
    FL_BAD_LENGTH,        /* header length/count disagrees with the datagram */
    FL_BAD_SET,           /* a (flow)set length that does not fit */
    FL_BAD_TEMPLATE,      /* a template with absurd field count/length */
    FL_BAD_RECORD,        /* a record or variable-length field overruns */
    FL_BAD_SAMPLE,        /* an sFlow sample or record that does not fit */
    FL_BAD_LIMIT,         /* a hard limit (templates, exporters) was hit */
    FL_BAD_REJECTED,      /* exporter not allowed by configuration */
    FL_BAD_COUNT
} fl_collect_bad;

const char *fl_collect_bad_name(fl_collect_bad b);

/* Per-exporter accounting. Sequence loss is counted in the unit each
 * protocol numbers: flows for v5 and IPFIX (their sequence counts records),
 * datagrams for v9 and sFlow (theirs counts export packets). */
typedef struct fl_collect_stats {
    uint64_t datagrams;        /* accepted (header parsed) */
    uint64_t bytes;            /* UDP payload bytes of those */
    uint64_t flows;            /* data records turned into flows */
    uint64_t option_records;   /* options data records (sampling, names) */
    uint64_t counter_samples;  /* sFlow counter samples */
    uint64_t templates_seen;   /* template records received */
    uint64_t templates_withdrawn;
    uint64_t seq_lost;         /* estimated lost units by sequence gaps */
    uint64_t seq_reorder;      /* sequence went backwards (restart/reorder) */
    uint64_t missing_template_sets; /* data sets dropped: template unknown */
    uint64_t missing_template_bytes;
    uint64_t malformed[FL_BAD_COUNT]; /* datagrams/sets rejected, by reason */
    uint64_t queue_drops;      /* flows dropped at the full writer queue */
    fl_time first_seen, last_seen;
} fl_collect_stats;

/* Where an exporter's sampling rate came from. */
typedef enum fl_collect_sampling_src {
    FL_SAMPLING_SRC_UNKNOWN = 0,
    FL_SAMPLING_SRC_V5,       /* the NetFlow v5 header */
    FL_SAMPLING_SRC_OPTIONS,  /* v9/IPFIX options data */
    FL_SAMPLING_SRC_SFLOW,    /* sFlow sample headers */
    FL_SAMPLING_SRC_CONFIG    /* configured default or override */
} fl_collect_sampling_src;

/* "unknown", "v5 header", "options", "sflow", "config" */
const char *fl_collect_sampling_src_name(fl_collect_sampling_src s);

#define FL_COLLECT_NAME_MAX 64

/* A snapshot of one exporter (copied out; no pointers into the table). */
typedef struct fl_collect_exporter {
    uint16_t id;              /* value of the flows' exporter column, 1.. */
    fl_collect_proto proto;
    fl_addr addr;             /* datagram source (sFlow: agent address) */
    uint32_t domain;          /* v9 source id, IPFIX observation domain,
                               * sFlow sub-agent id, v5 engine type<<8|id */
    uint32_t sampling_rate;   /* last rate learnt for the exporter, 0 none */
    uint32_t templates;       /* templates cached now */
    uint8_t sampling_source;  /* fl_collect_sampling_src of sampling_rate */
    char name[FL_COLLECT_NAME_MAX]; /* configured friendly name, "" none */
    fl_collect_stats stats;
} fl_collect_exporter;

/* Latest sFlow generic interface counters of one interface. */
typedef struct fl_collect_ifcounters {
    uint16_t exporter;
    uint32_t ifindex;
    uint64_t speed;
    uint32_t type, direction, status;
    uint64_t in_octets, in_ucast, in_mcast, in_bcast, in_discards, in_errors;
    uint64_t out_octets, out_ucast, out_mcast, out_bcast, out_discards, out_errors;
    fl_time time;
} fl_collect_ifcounters;

/*
 * The output interface. on_batch receives a batch of decoded flows; it
 * must have consumed (written or copied) the rows when it returns, the
 * collector clears the batch afterwards. A non-FL_OK return means the
 * rows were dropped: they are counted as queue_drops per exporter.
 * on_exporter (may be NULL) is called when an exporter is first seen and
 * whenever its names or sampling change, before any flow of it reaches
 * on_batch. on_counters (may be NULL) receives sFlow interface counters.
 * on_idle (may be NULL) is called by the server's writer thread when no
 * batch has come for flush_ms, so a sink can publish what it buffers
 * (the store's time-based flush) while the exporters are quiet.
 * on_batch and on_idle calls are serialised (one writer thread in the server);
 * on_exporter and on_counters are called under the collector's table
 * lock, serialised among themselves but possibly concurrent with on_batch.
 */
typedef struct fl_collect_sink {
    void *ctx;
    fl_rc (*on_batch)(void *ctx, const fl_batch *b);
    void (*on_exporter)(void *ctx, const fl_collect_exporter *x);
    void (*on_counters)(void *ctx, const fl_collect_ifcounters *c);
    void (*on_idle)(void *ctx);
} fl_collect_sink;

/*
 * Configuration of one exporter (or of every observation domain of an
 * address when any_domain): a friendly name and sampling. An exporter a
 * rule names is "known" (accepted even when unknown exporters are
 * rejected). A rule for the exact domain wins over an any_domain rule.
 */
typedef struct fl_collect_rule {
    fl_addr addr;
    int any_domain;
    uint32_t domain;
    char name[FL_COLLECT_NAME_MAX];
    uint32_t default_sampling;  /* used when the export states none, 0 = - */
    uint32_t override_sampling; /* wins over what the export states, 0 = - */
} fl_collect_rule;

/* What happens to datagrams of exporters no --allow prefix and no rule
 * covers. DEFAULT: reject when allow[] is non-empty, accept otherwise. */
enum { FL_UNKNOWN_DEFAULT = 0, FL_UNKNOWN_ACCEPT, FL_UNKNOWN_REJECT };

typedef struct fl_collect_config {
    /* sampling rate for flows whose export says nothing (0 = unknown:
     * rate 0 and FL_FLOW_SAMPLING_UNKNOWN) */
    uint32_t default_sampling;
    /* force this rate for every flow (0 = no override) */
    uint32_t override_sampling;
    /* reject datagrams of exporters not in allow[] (when nallow > 0) */
    const fl_prefix *allow;
    size_t nallow;
    /* per-exporter names and sampling (copied); unknown-exporter policy */
    const fl_collect_rule *rules;
    size_t nrules;
    int unknown;
    /* hard limits; 0 = defaults (4096 exporters, 1024 templates each) */
    uint32_t max_exporters;
    uint32_t max_templates;
    /* template cache file, loaded by fl_collect_new and written by
     * fl_collect_save (NULL = no persistence) */
    const char *template_file;
} fl_collect_config;

typedef struct fl_collect fl_collect;
typedef struct fl_collect_worker fl_collect_worker;

void fl_collect_config_default(fl_collect_config *c);

/*
 * A collector. cfg is copied (allow[] too). sink is copied; its on_exporter
 * also hears about exporters loaded from the template file. When
 * cfg->template_file exists it is loaded: a damaged file is reported in e
 * and ignored (the collector still starts, empty). NULL on allocation
 * failure (e says so).
 */
fl_collect *fl_collect_new(const fl_collect_config *cfg, const fl_collect_sink *sink,
                           fl_err *e);
/* Frees everything (does not save). Accepts NULL. */
void fl_collect_free(fl_collect *c);

/* Write templates, sampling and names of every exporter to path (NULL =
 * cfg->template_file) atomically (temporary file, fsync, rename). */
fl_rc fl_collect_save(fl_collect *c, const char *path, fl_err *e);
/* Merge a saved file into the collector. */
fl_rc fl_collect_load(fl_collect *c, const char *path, fl_err *e);

/* A worker owns one output batch; flows go to the collector's sink when
 * the batch is full or on fl_collect_worker_flush. NULL on ENOMEM. */
fl_collect_worker *fl_collect_worker_new(fl_collect *c);
/* The same with a batch of cap rows (0 = FL_BATCH_CAP): small batches for
 * low latency or fuzzing. */
fl_collect_worker *fl_collect_worker_new_cap(fl_collect *c, uint32_t cap);
fl_rc fl_collect_worker_flush(fl_collect_worker *w);
/* Flushes, then frees. Accepts NULL. */
void fl_collect_worker_free(fl_collect_worker *w);

/*
 * Decode one datagram (UDP payload, or one IPFIX message from TCP/a file)
 * received from src (port is informational) at time now. The protocol is
 * recognised from the version field. Flows are appended to w's batch.
 * Returns FL_OK when the datagram was fully decoded; otherwise FL_EPARSE /
 * FL_ETRUNCATED / FL_ELIMIT / FL_EINVAL with e naming the exporter,
 * template and byte offset. Records decoded before a fault are kept; the
 * fault is counted in the exporter's stats (malformed by reason, or
 * missing_template_sets, which alone still returns FL_OK). Never crashes
 * on any input.
 */
fl_rc fl_collect_datagram(fl_collect_worker *w, fl_addr src, uint16_t port,
                          const uint8_t *p, size_t len, fl_time now, fl_err *e);

/* Datagrams that could not be attributed to an exporter (too short or
 * unknown version before any header field could be read). */
uint64_t fl_collect_unattributed(const fl_collect *c);

/* Number of exporters; fl_collect_exporter_get copies entry i (0-based
 * in id order); FL_ENOTFOUND past the end. */
size_t fl_collect_exporter_count(const fl_collect *c);
fl_rc fl_collect_exporter_get(const fl_collect *c, size_t i, fl_collect_exporter *out);
/* Interface / VRF name learnt from options data; NULL-terminated copy
 * into buf, FL_ENOTFOUND when unknown. */
fl_rc fl_collect_ifname(const fl_collect *c, uint16_t exporter, uint32_t ifindex,
                        char *buf, size_t len);
fl_rc fl_collect_vrfname(const fl_collect *c, uint16_t exporter, uint32_t vrf,
                         char *buf, size_t len);
/* Names learnt from options data, one at a time: entry i (0-based) of
 * exporter's interface (vrf = 0) or VRF (vrf = 1) names; FL_ENOTFOUND
 * past the end. */
fl_rc fl_collect_name_at(const fl_collect *c, uint16_t exporter, int vrf, uint32_t i,
                         uint32_t *key, char *buf, size_t len);
/* Latest sFlow counters of exporter's i-th interface; FL_ENOTFOUND past
 * the end. */
fl_rc fl_collect_ifcounters_at(const fl_collect *c, uint16_t exporter, uint32_t i,
                               fl_collect_ifcounters *out);
/* Datagrams dropped because their exporter was not allowed. */
uint64_t fl_collect_rejected(const fl_collect *c);
/* Add q_drops flows to the queue_drops of exporter id (used by queues). */
void fl_collect_count_drops(fl_collect *c, uint16_t exporter, uint64_t q_drops);

/* ---- offline input -------------------------------------------------- */

/*
 * Feed every NetFlow/IPFIX/sFlow datagram of a file to w: a classic pcap
 * (Ethernet, Linux SLL, raw IP or loopback link types; IPv4/IPv6, UDP,
 * fragments skipped) or an IPFIX file (RFC 5655: a sequence of IPFIX
 * messages). UDP datagrams of other protocols (e.g. BGP over TCP in the
 * same capture) are ignored. Decoding errors are counted in the stats and
 * do not stop the file; a damaged file (bad pcap header, truncated
 * record) ends the read with an error naming the byte offset, keeping
 * what was decoded. *datagrams gets the count of datagrams fed. on_error
 * (may be NULL) hears about each datagram that failed to decode (its
 * 1-based number in the file and the decoder's error). Each datagram is
 * decoded at its capture time (pcap timestamp; IPFIX files: export time).
 */
typedef void (*fl_collect_error_fn)(void *ctx, uint64_t datagram, const fl_err *e);
fl_rc fl_collect_read_file(fl_collect_worker *w, const char *path, uint64_t *datagrams,
                           fl_collect_error_fn on_error, void *ctx, fl_err *e);
/* The same over a file already in memory; name is used in errors. */
fl_rc fl_collect_read_mem(fl_collect_worker *w, const uint8_t *buf, size_t n, const char *name,
                          uint64_t *datagrams, fl_collect_error_fn on_error, void *ctx,
                          fl_err *e);

/* ---- output helpers ------------------------------------------------- */

/* Append the rows of b as JSON lines (one object per flow with every
 * present column, addresses and times as text) to f (a FILE *). */
void fl_collect_print_ndjson(const fl_batch *b, void *f);
/* One JSON line of an exporter's stats to f (a FILE *). */
void fl_collect_print_exporter(const fl_collect_exporter *x, void *f);
/* The same line extended with "store_id", "first_seen", "last_seen"
 * (ISO 8601 UTC), "name" and "sampling_source" (collector-stats.jsonl). */
void fl_collect_print_exporter_ext(const fl_collect_exporter *x, uint16_t store_id, void *f);
/* One {"type":"counters",...} JSON line of c (exporter = store_id). */
void fl_collect_print_counters(const fl_collect_ifcounters *c, uint16_t store_id, void *f);

/* ---- listeners ------------------------------------------------------ */

typedef struct fl_collect_server fl_collect_server;

typedef struct fl_collect_server_config {
    /* "ADDR:PORT", "[v6]:PORT" (UDP) or "tcp://ADDR:PORT" (IPFIX over TCP) */
    const char *const *listen;
    size_t nlisten;
    unsigned threads;     /* UDP receiver threads per address, 0 = 1 */
    int rcvbuf;           /* SO_RCVBUF bytes, 0 = 32 MiB (best effort) */
    unsigned queue_batches; /* bounded writer queue, 0 = 64 batches */
    fl_time flush_ms;     /* push a partial batch after this long, 0 = 200 */
    fl_time test_pause_ms; /* tests only: receivers sleep this long before
                            * their first read (kernel-drop tests), 0 = no */
} fl_collect_server_config;

typedef struct fl_collect_server_stats {
    uint64_t datagrams;     /* received from the sockets */
    uint64_t kernel_drops;  /* SO_RXQ_OVFL: dropped by the kernel */
    uint64_t queue_drops;   /* flows dropped at the full queue */
    uint64_t batches;       /* handed to the sink */
    uint64_t tcp_connections;
} fl_collect_server_stats;

/*
 * Bind every listen address and start receiver threads and one writer
 * thread. Receivers decode into their own workers and hand full batches
 * to a bounded queue (full queue: the flows are dropped and counted per
 * exporter, receivers never block on storage); the writer thread calls
 * the collector's sink on_batch, so on_batch is never called
 * concurrently. Errors (bad address, bind failure) name the address.
 */
fl_collect_server *fl_collect_server_start(fl_collect *c, const fl_collect_server_config *cfg,
                                           fl_err *e);
/* The port actually bound for listen address i (useful with port 0). */
uint16_t fl_collect_server_port(const fl_collect_server *s, size_t i);
void fl_collect_server_get_stats(const fl_collect_server *s, fl_collect_server_stats *out);
/* Stop receivers, drain the queue into the sink, join threads, free.
 * Accepts NULL. */
void fl_collect_server_stop(fl_collect_server *s);

#endif
