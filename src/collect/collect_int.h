/*
 * collect/collect_int.h — private to src/collect: the exporter table's
 * entries, templates and the decoding context the protocol decoders share.
 */
#ifndef FL_COLLECT_INT_H
#define FL_COLLECT_INT_H

#include "collect.h"

#include <pthread.h>

#define CL_MAX_FIELDS 256      /* fields per template; more is absurd */
#define CL_MAX_SAMPLERS 64
#define CL_MAX_NAMES 4096      /* interface / VRF names per exporter */
#define CL_MAX_IFCOUNTERS 4096
#define CL_NAME_LEN 64
#define CL_VARLEN 65535

/* What the decoder does with one template field. */
enum {
    CL_OP_SKIP = 0,
    CL_OP_UINT,      /* big-endian unsigned of any length 1..8 into col */
    CL_OP_ADDR,      /* 4 (IPv4) or 16 (IPv6) bytes into col */
    CL_OP_MAC,       /* 6 bytes into col */
    CL_OP_ICMP,      /* type<<8 | code into icmp_type and icmp_code */
    CL_OP_TIME,      /* arg: CL_T_* encoding; col: TIME_FIRST/TIME_LAST */
    CL_OP_DUR_MS,    /* flowDurationMilliseconds */
    CL_OP_DUR_US,    /* flowDurationMicroseconds */
    CL_OP_SAMPLER,   /* sampler / selector id (48, 302) */
    CL_OP_INTERVAL,  /* sampling interval (34, 50, 305) */
    CL_OP_SPACE,     /* samplingPacketSpace (306) */
    CL_OP_SIZE,      /* samplingSize (309): n of n-out-of-N */
    CL_OP_POP,       /* samplingPopulation (310): N of n-out-of-N */
    CL_OP_SYSINIT,   /* systemInitTimeMilliseconds (160) */
    CL_OP_IFINDEX,   /* options: interface index the names refer to */
    CL_OP_IFNAME,    /* options: interfaceName / Description (82, 83) */
    CL_OP_VRFID,     /* options: VRF id (234) */
    CL_OP_VRFNAME    /* options: VRFname (236) */
};

enum { CL_T_SEC, CL_T_MS, CL_T_US, CL_T_NS, CL_T_UPTIME, CL_T_DELTA_US };

typedef struct cl_field {
    uint16_t ie;   /* information element id, enterprise bit cleared */
    uint16_t len;  /* CL_VARLEN = variable length (IPFIX) */
    uint32_t pen;  /* enterprise number, 0 = IANA */
    uint8_t op;
    uint8_t col;
    uint8_t arg;   /* CL_OP_TIME: CL_T_*; CL_OP_UINT: column width */
    uint8_t sole;  /* set by cl_tpl_build: the only field of its template
                      writing its column, so it stores without reading it */
} cl_field;

typedef struct cl_template {
    uint16_t id;
    uint16_t nfields;
    uint16_t nscope;     /* options templates: scope fields come first */
    uint8_t options;
    uint8_t varlen;      /* some field is variable length */
    uint32_t min_len;    /* bytes of a record at least (varlen counts 1) */
    uint64_t present[FL_PRESENT_WORDS];
    cl_field f[];
} cl_template;

typedef struct cl_name {
    uint32_t key;
    char name[CL_NAME_LEN];
} cl_name;

typedef struct cl_exporter {
    fl_collect_exporter x;  /* public snapshot fields, stats inside */
    pthread_mutex_t mu;     /* held while one datagram of it is decoded */
    cl_template **tpl;      /* open addressing on id; NULL = empty */
    uint32_t tpl_cap;
    int have_seq;
    int seq_post;           /* IPFIX sequence counts this message too */
    uint32_t next_seq;
    uint32_t last_seq;
    uint32_t rate_default;  /* from options data that named no sampler */
    uint32_t nsamplers;
    struct { uint32_t id, rate; } samplers[CL_MAX_SAMPLERS];
    int64_t sys_init_ms;    /* IPFIX systemInitTimeMilliseconds, 0 unknown */
    cl_name *ifnames;
    uint32_t nifnames;
    cl_name *vrfnames;
    uint32_t nvrfnames;
    fl_collect_ifcounters *ifc;
    uint32_t nifc;
    fl_time last_log;       /* rate limit for bad-input log lines */
    uint64_t log_suppressed;
    int announce;           /* tell the sink again (names/sampling changed) */
    uint32_t eff_default;   /* configured rates: this exporter's rule, */
    uint32_t eff_override;  /* else the collector-wide ones; 0 = none */
} cl_exporter;

struct fl_collect {
    fl_collect_config cfg;
    fl_prefix *allow;
    fl_collect_rule *rules;
    fl_collect_sink sink;
    pthread_mutex_t mu;          /* exporter table */
    cl_exporter **exp;           /* by id - 1 */
    uint32_t nexp, expcap;
    uint32_t *hash;              /* open addressing: id, 0 = empty */
    uint32_t hcap;
    uint64_t unattributed;
    uint64_t rejected;
    fl_time last_log;
};

typedef fl_rc (*cl_emit_fn)(void *ctx, fl_collect_worker *w);

struct fl_collect_worker {
    fl_collect *c;
    fl_batch *b;
    cl_emit_fn emit;  /* NULL: the collector's sink */
    void *emit_ctx;
};

/* Per-datagram decoding context. */
typedef struct cl_ctx {
    fl_collect *c;
    fl_collect_worker *w;
    cl_exporter *x;
    fl_time now;
    int64_t unix_ms;      /* export time from the header */
    uint32_t uptime_ms;   /* v9 sysUptime */
    fl_err *e;
} cl_ctx;

/* exporter.c */
cl_exporter *cl_exporter_get(fl_collect *c, fl_collect_proto proto, fl_addr addr,
                             uint32_t domain, fl_time now, fl_err *e);
void cl_exporter_unlock(fl_collect *c, cl_exporter *x);
void cl_exporters_free(fl_collect *c);
const cl_template *cl_tpl_find(const cl_exporter *x, uint16_t id);
fl_rc cl_tpl_put(fl_collect *c, cl_exporter *x, cl_template *t);
int cl_tpl_withdraw(cl_exporter *x, uint16_t id);
uint32_t cl_tpl_withdraw_all(cl_exporter *x, int options);
void cl_set_sampler(cl_exporter *x, int have_id, uint32_t id, uint32_t rate);
uint32_t cl_lookup_sampler(const cl_exporter *x, int have_id, uint32_t id);
/* The rate of a flow whose export states `stated` (0 = nothing) learnt
 * from `src`: configured override, stated, configured default, else 0
 * (unknown). Keeps the exporter's snapshot rate and source current for
 * configured rates. */
uint32_t cl_rate(cl_exporter *x, uint32_t stated, fl_collect_sampling_src src);
void cl_set_name(cl_exporter *x, int vrf, uint32_t key, const uint8_t *s, size_t len);
void cl_set_ifcounters(fl_collect *c, cl_exporter *x, const fl_collect_ifcounters *ic);
void cl_seq(cl_exporter *x, uint32_t seq, uint32_t advance);
void cl_seq_ipfix(cl_exporter *x, uint32_t seq, uint32_t nrec);
fl_rc cl_bad(cl_ctx *k, fl_collect_bad why, int tid, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ie.c: the field -> column mapping built from core/schema.def */
void cl_field_bind(cl_field *f, int is_v9_scope);
cl_template *cl_tpl_build(uint16_t id, int options, uint16_t nscope, const cl_field *f,
                          uint16_t n);

/* record.c: one data or options record through a template */
fl_rc cl_record(cl_ctx *k, const cl_template *t, const uint8_t *p, size_t len, size_t *used);
int64_t cl_worker_row(cl_ctx *k);
/* zero row r, the batch's last row, and release it */
void cl_row_rollback(fl_batch *b, uint32_t r);

/* decoders */
fl_rc cl_nf5(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len);
fl_rc cl_nf9(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len);
fl_rc cl_ipfix(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len);
fl_rc cl_sflow(cl_ctx *k, fl_addr src, const uint8_t *p, size_t len);

static inline uint16_t cl_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t cl_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t cl_be64(const uint8_t *p)
{
    return (uint64_t)cl_be32(p) << 32 | cl_be32(p + 4);
}
static inline uint64_t cl_beN(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    switch (n) {
    case 1: return p[0];
    case 2: return cl_be16(p);
    case 4: return cl_be32(p);
    case 8: return cl_be64(p);
    default: break;
    }
    if (n > 8) {
        p += n - 8;
        n = 8;
    }
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
