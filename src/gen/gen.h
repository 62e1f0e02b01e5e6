/*
 * gen/gen.h — a deterministic generator of realistic flows.
 *
 * Used by tests, benchmarks, `flowlens gen` and the demo. The same config
 * (seed included) always yields the same flows, in non-decreasing
 * time_first order, spread over the window along a diurnal rate curve.
 * The mix: Zipf-distributed internal and external hosts, external hosts in
 * real-looking provider prefixes with their AS numbers, a port/protocol mix
 * dominated by HTTPS/QUIC/DNS, heavy-tailed packet counts, IPv4 and IPv6,
 * several exporters and interfaces, optional sampling.
 */
#ifndef FL_GEN_H
#define FL_GEN_H

#include "core/core.h"

typedef struct fl_gen_config {
    uint64_t seed;       /* 0 means 1 */
    fl_time start, end;  /* window; end <= start means start + 1 h */
    uint64_t flows;      /* total flows to produce */
    uint32_t exporters;  /* exporter ids 1..exporters; 0 means 1 */
    double ipv6_share;   /* fraction of IPv6 flows, 0..1 */
    uint32_t sampling;   /* sampling rate written to each flow; 0 means 1 */
} fl_gen_config;

typedef struct fl_gen fl_gen;

/* Defaults: seed 1, the hour before now rounded down, 100000 flows,
 * 4 exporters, 20% IPv6, unsampled. */
void fl_gen_config_default(fl_gen_config *c);
/* NULL on allocation failure. The generator copies the config. */
fl_gen *fl_gen_new(const fl_gen_config *c);
void fl_gen_free(fl_gen *g);
/* Append up to n flows to b (never past b's capacity); returns how many
 * were added, 0 once all flows were produced. */
uint32_t fl_gen_next(fl_gen *g, fl_batch *b, uint32_t n);
/* Flows produced so far. */
uint64_t fl_gen_produced(const fl_gen *g);

/* ------------------------------------------------------------------ */
/* Export encoders (`flowlens gen`): flows -> NetFlow/IPFIX/sFlow       */
/* datagrams. Files src/gen/export_*.c; independent of the generator   */
/* above: they encode any fl_batch rows.                               */
/* ------------------------------------------------------------------ */

typedef enum fl_gen_proto {
    FL_GEN_V5 = 5,     /* NetFlow v5: IPv4 only, 30 records a datagram */
    FL_GEN_V9 = 9,     /* NetFlow v9 (RFC 3954) */
    FL_GEN_IPFIX = 10, /* IPFIX (RFC 7011) */
    FL_GEN_SFLOW = 5000 /* sFlow version 5 */
} fl_gen_proto;

/* Largest datagram the encoders write: fits a 1500-byte Ethernet MTU. */
#define FL_GEN_DGRAM_MAX 1472

/* Parse "v5", "v9", "ipfix" or "sflow"; FL_EINVAL (message in e) else. */
fl_rc fl_gen_proto_parse(const char *s, fl_gen_proto *out, fl_err *e);
const char *fl_gen_proto_name(fl_gen_proto p);

typedef struct fl_gen_export_config {
    fl_gen_proto proto;
    uint16_t exporter;        /* generator exporter id, 1..; becomes the v5
                                 engine type/id (high/low byte), v9 source
                                 id, IPFIX observation domain and sFlow
                                 agent address 10.255.x.y */
    fl_time boot;             /* the exporter's sysUptime zero (v5, v9,
                                 sFlow); flows must not start before it and
                                 must end within 49 days of it */
    uint32_t sampling;        /* 1-in-N packet sampling announced; 0 = 1 */
    uint32_t template_every;  /* v9/IPFIX: templates and options in the
                                 first datagram and every N-th; 0 = 20 */
    uint32_t counter_every;   /* sFlow: a counter sample in every N-th
                                 datagram; 0 = 10 */
} fl_gen_export_config;

typedef struct fl_gen_export_stats {
    uint64_t flows;      /* flow records (or sFlow flow samples) written */
    uint64_t skipped;    /* rows the protocol cannot carry (IPv6 in v5) */
    uint64_t datagrams;  /* datagrams produced */
    uint64_t bytes;      /* their total size */
    uint64_t templates;  /* datagrams that carried templates / counters */
    uint32_t seq;        /* the sequence number the next datagram carries */
} fl_gen_export_stats;

/* One simulated exporter: sequence numbers, template timer, sFlow data
 * sources. Opaque. */
typedef struct fl_gen_exporter fl_gen_exporter;

/* NULL on allocation failure or a config the encoder cannot honour
 * (unknown proto, exporter 0). The exporter copies the config. */
fl_gen_exporter *fl_gen_exporter_new(const fl_gen_export_config *c);
/* Accepts NULL. */
void fl_gen_exporter_free(fl_gen_exporter *x);

/*
 * Encode the next datagram of exporter x from rows[0..n) of b (rows of
 * this exporter, in time order) into buf[0..cap). Returns the datagram
 * length and sets *consumed to how many rows it took (encoded or skipped
 * because the protocol cannot carry them); when n > 0, *consumed > 0 on
 * success. Returns 0 with *consumed == n when every row was skipped (send
 * nothing). Errors: FL_EINVAL (cap < 512, rows outside b, a flow starting
 * before boot or too long after it) in e, return 0 and *consumed 0.
 * Header times follow the flows (the export clock is the last flow end
 * rounded up to a second), so the same rows always give the same bytes.
 */
size_t fl_gen_export_next(fl_gen_exporter *x, const fl_batch *b, const uint32_t *rows,
                          uint32_t n, uint8_t *buf, size_t cap, uint32_t *consumed,
                          fl_err *e);
void fl_gen_exporter_stats(const fl_gen_exporter *x, fl_gen_export_stats *out);

/* The header fields a prebuilt datagram changes when it is sent again
 * (`flowlens gen --prebuild`): the sequence number and the export clock.
 * v5 and v9 have sysUptime (ms) and unix seconds; IPFIX has only the
 * export time in seconds (uptime is 0 and ignored). */
typedef struct fl_gen_dgram_hdr {
    uint32_t seq, uptime, secs;
} fl_gen_dgram_hdr;

/* Read (get) or overwrite (set) those fields of the p datagram buf[0..len)
 * in place; nothing else changes, so the flows' times, which v5/v9 give
 * relative to sysUptime, stay the same when uptime and secs move together.
 * FL_EINVAL (message in e) for sFlow (its samples carry sequence numbers
 * of their own) or a buffer shorter than the header. */
fl_rc fl_gen_dgram_hdr_get(fl_gen_proto p, const uint8_t *buf, size_t len, fl_gen_dgram_hdr *h,
                           fl_err *e);
fl_rc fl_gen_dgram_hdr_set(fl_gen_proto p, uint8_t *buf, size_t len, const fl_gen_dgram_hdr *h,
                           fl_err *e);

#endif
