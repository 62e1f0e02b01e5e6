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

#endif
