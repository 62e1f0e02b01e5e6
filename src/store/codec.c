/*
 * store/codec.c — one column chunk to bytes and back.
 *
 * A chunk is up to FL_STORE_GROUP_ROWS values of one column. The encoder
 * tries the integer encodings that fit the kind (frame of reference, delta,
 * delta of delta for times, a dictionary for up to 256 distinct values;
 * IPv4-only or raw for addresses), keeps the smallest, writes the codes as
 * byte planes (all low bytes, then all next bytes: compressors see long runs)
 * and compresses that (zstd where it is a third smaller than lz4, else lz4;
 * or lz4 only; none when neither shrinks it).
 * Alongside it computes the zone map (min/max) and, for address columns, a
 * bloom filter of addresses and their /24 (IPv4) or /48 (IPv6) networks.
 * Also here: CRC32C (hardware when the CPU has SSE4.2) and the bounded
 * byte buffer the writer uses.
 */
/* The decoders are plane-by-plane loops over a whole row group; GCC's
 * -O2 vectorises only loops of a known multiple of the vector width, so
 * this file asks for -O3's vectoriser (about 2x on FOR/REF decoding). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include "store/store_int.h"

#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* ------------------------------------------------------------------ */
/* sbuf                                                                */

int sbuf_reserve(sbuf *b, size_t extra)
{
    size_t want, cap;
    uint8_t *p;

    if (b->max == 0)
        b->max = (size_t)1 << 30;
    if (extra > b->max || b->n > b->max - extra)
        return -1;
    want = b->n + extra;
    if (want <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap < want)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int sbuf_put(sbuf *b, const void *p, size_t n)
{
    if (sbuf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

void sbuf_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* CRC32C (Castagnoli)                                                 */

static uint32_t crc_table[8][256];
static int crc_hw_ok;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
static void crc_shift_init(void);
#endif

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_hw_ok = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (crc_hw_ok)
        crc_shift_init();
#endif
}

#if defined(__x86_64__)
/* The hardware instruction takes 3 cycles but can start one per cycle:
 * long inputs run as three interleaved streams of CRC_LANE bytes each,
 * joined by crc_shift, the CRC state moved past CRC_LANE zero bytes (a
 * linear map of 32 bits, tabulated by bytes from the images of the 32
 * single bits). About 2.5x the speed of one stream on chunk-sized input. */
#define CRC_LANE 4096
static uint32_t crc_shift_tab[4][256];

static uint32_t crc_shift(uint32_t x)
{
    return crc_shift_tab[0][x & 0xff] ^ crc_shift_tab[1][(x >> 8) & 0xff] ^
           crc_shift_tab[2][(x >> 16) & 0xff] ^ crc_shift_tab[3][x >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw1(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
    while (n >= 3 * CRC_LANE) {
        uint64_t a = c, b = 0, d = 0;
        for (size_t i = 0; i < CRC_LANE; i += 8) {
            uint64_t va, vb, vd;
            memcpy(&va, p + i, 8);
            memcpy(&vb, p + CRC_LANE + i, 8);
            memcpy(&vd, p + 2 * CRC_LANE + i, 8);
            a = __builtin_ia32_crc32di(a, va);
            b = __builtin_ia32_crc32di(b, vb);
            d = __builtin_ia32_crc32di(d, vd);
        }
        c = crc_shift(crc_shift((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
        p += 3 * CRC_LANE;
        n -= 3 * CRC_LANE;
    }
    return crc_hw1(c, p, n);
}

static void crc_shift_init(void)
{
    static const uint8_t zeros[CRC_LANE];
    uint32_t img[32];

    for (int i = 0; i < 32; i++)
        img[i] = crc_hw1((uint32_t)1 << i, zeros, CRC_LANE);
    for (int k = 0; k < 4; k++)
        for (uint32_t v = 0; v < 256; v++) {
            uint32_t x = 0;
            for (int bit = 0; bit < 8; bit++)
                if (v >> bit & 1)
                    x ^= img[8 * k + bit];
            crc_shift_tab[k][v] = x;
        }
}
#endif

uint32_t store_crc32c(uint32_t crc, const void *vp, size_t n)
{
    const uint8_t *p = vp;
    uint32_t c = ~crc;

    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
    if (crc_hw_ok)
        return ~crc_hw(c, p, n);
#endif
    while (n >= 8) {
        uint32_t lo = get32(p) ^ c, hi = get32(p + 4);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
            crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    return ~c;
}

/* ------------------------------------------------------------------ */
/* Bloom filter                                                        */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t addr_hash(fl_addr a, unsigned tag)
{
    return mix64(a.hi * 0x9e3779b97f4a7c15ULL ^ mix64(a.lo + tag));
}

static fl_addr addr_net(fl_addr a)
{
    return fl_addr_is_v4(a) ? fl_addr_mask(a, 120) : fl_addr_mask(a, 48);
}

static void bloom_add(uint8_t *bl, uint32_t len, uint64_t h)
{
    uint64_t bits = (uint64_t)len * 8, h2 = (h >> 32) | 1;
    for (int i = 0; i < 4; i++) {
        uint64_t bit = (h + (uint64_t)i * h2) & (bits - 1);
        bl[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    }
}

static int bloom_has(const uint8_t *bl, uint32_t len, uint64_t h)
{
    uint64_t bits = (uint64_t)len * 8, h2 = (h >> 32) | 1;
    for (int i = 0; i < 4; i++) {
        uint64_t bit = (h + (uint64_t)i * h2) & (bits - 1);
        if (!(bl[bit >> 3] & (1u << (bit & 7))))
            return 0;
    }
    return 1;
}

int bloom_maybe(const uint8_t *bloom, uint32_t len, fl_addr a, int net)
{
    if (bloom == NULL || len == 0 || (len & (len - 1)) != 0)
        return 1;
    if (net)
        return bloom_has(bloom, len, addr_hash(addr_net(a), 1));
    return bloom_has(bloom, len, addr_hash(a, 0));
}

/* ------------------------------------------------------------------ */
/* Encoder                                                             */

struct chunk_enc {
    int codec, level;
    ZSTD_CCtx *zc;
    uint64_t *u;      /* values widened */
    uint64_t *codes;  /* chosen codes */
    uint8_t *raw;     /* dict + planes before compression */
    uint8_t *comp;
    size_t comp_cap;
    uint64_t *hset;   /* distinct counting (open addressing) */
    uint8_t *bloom;
    fl_addr *adict;   /* address dictionary being built */
    uint32_t last_dict; /* entries of the last address chunk's dictionary,
                           UINT32_MAX when it had none */
    struct apair { fl_addr a; uint32_t idx; } *pairs, *pairs2;
    uint32_t (*cnt)[256]; /* radix histograms, 16 x 256 */
    uint32_t *remap;
};

#define HSET_SIZE ((size_t)FL_STORE_GROUP_ROWS * 4)

chunk_enc *chunk_enc_new(int codec, int level)
{
    chunk_enc *c = calloc(1, sizeof *c);
    size_t rawmax = CHUNK_RAW_MAX;

    if (c == NULL)
        return NULL;
    c->codec = codec;
    c->level = level > 0 ? level : 1;
    c->u = malloc(sizeof(uint64_t) * FL_STORE_GROUP_ROWS);
    c->codes = malloc(sizeof(uint64_t) * FL_STORE_GROUP_ROWS);
    c->raw = malloc(rawmax);
    c->comp_cap = ZSTD_compressBound(rawmax) + (size_t)LZ4_compressBound((int)rawmax);
    c->comp = malloc(c->comp_cap);
    c->hset = malloc(sizeof(uint64_t) * HSET_SIZE);
    c->bloom = malloc(BLOOM_MAX_BYTES);
    c->adict = malloc(sizeof(fl_addr) * FL_STORE_GROUP_ROWS);
    c->pairs = malloc(sizeof(struct apair) * FL_STORE_GROUP_ROWS);
    c->pairs2 = malloc(sizeof(struct apair) * FL_STORE_GROUP_ROWS);
    c->cnt = malloc(sizeof(uint32_t) * 16 * 256);
    c->remap = malloc(sizeof(uint32_t) * FL_STORE_GROUP_ROWS);
    if (codec == CODEC_ZSTD)
        c->zc = ZSTD_createCCtx();
    if (!c->u || !c->codes || !c->raw || !c->comp || !c->hset || !c->bloom || !c->adict ||
        !c->pairs || !c->pairs2 || !c->cnt || !c->remap ||
        (codec == CODEC_ZSTD && !c->zc)) {
        chunk_enc_free(c);
        return NULL;
    }
    return c;
}

void chunk_enc_free(chunk_enc *c)
{
    if (c == NULL)
        return;
    ZSTD_freeCCtx(c->zc);
    free(c->u);
    free(c->codes);
    free(c->raw);
    free(c->comp);
    free(c->hset);
    free(c->bloom);
    free(c->adict);
    free(c->pairs);
    free(c->pairs2);
    free(c->cnt);
    free(c->remap);
    free(c);
}

static unsigned bytes_for(uint64_t v)
{
    unsigned w = 0;
    while (v) {
        w++;
        v >>= 8;
    }
    return w;
}

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Write n codes of w bytes as byte planes. */
static void planes_put(uint8_t *out, const uint64_t *codes, uint32_t n, unsigned w)
{
    for (unsigned j = 0; j < w; j++) {
        uint8_t *pl = out + (size_t)j * n;
        unsigned sh = 8 * j;
        for (uint32_t i = 0; i < n; i++)
            pl[i] = (uint8_t)(codes[i] >> sh);
    }
}

/* Count distinct values up to limit; returns limit+1 when more. */
/* Distinct values of u (up to limit) into vals in first-seen order, each
 * row's first-seen index into codes; limit+1 when there are more. */
static uint32_t distinct(uint64_t *set, const uint64_t *u, uint32_t n, uint32_t limit,
                         uint64_t *vals, uint64_t *codes)
{
    uint16_t idx[1024];
    size_t mask = 1023; /* small table: only for dictionary candidates */
    uint32_t k = 0;
    uint8_t used[1024];

    memset(used, 0, sizeof used);
    for (uint32_t i = 0; i < n; i++) {
        size_t h = (size_t)mix64(u[i]) & mask;
        while (used[h] && set[h] != u[i])
            h = (h + 1) & mask;
        if (!used[h]) {
            if (++k > limit)
                return k;
            used[h] = 1;
            set[h] = u[i];
            vals[k - 1] = u[i];
            idx[h] = (uint16_t)(k - 1);
        }
        codes[i] = idx[h];
    }
    return k;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Widen to 64 bits and find min/max in the same pass (branch-free: the
 * values are often random). */
static void widen(uint64_t *u, fl_kind k, const void *vals, uint32_t n, uint64_t *pmn,
                  uint64_t *pmx)
{
    uint64_t mn = UINT64_MAX, mx = 0;
#define WIDEN(T)                                                  \
    for (uint32_t i = 0; i < n; i++) {                            \
        uint64_t v = ((const T *)vals)[i];                        \
        u[i] = v;                                                 \
        mn = v < mn ? v : mn;                                     \
        mx = v > mx ? v : mx;                                     \
    }
    switch (k) {
    case FL_KIND_U8: WIDEN(uint8_t) break;
    case FL_KIND_U16: WIDEN(uint16_t) break;
    case FL_KIND_U32: WIDEN(uint32_t) break;
    default: WIDEN(uint64_t) break;
    }
#undef WIDEN
    *pmn = mn;
    *pmx = mx;
}

/* Integer chunk: choose encoding, fill c->raw; returns raw length. */
static size_t enc_int(chunk_enc *c, fl_kind k, const void *vals, const fl_time *const refs[2],
                      uint32_t n, uint8_t *meta)
{
    uint64_t *u = c->u, mn = UINT64_MAX, mx = 0, dmax = 0, ddmax = 0;
    unsigned w_for, w_d = 9, w_dd = 9, w_ref = 9;
    int64_t rmin = INT64_MAX;
    const fl_time *ref = NULL;
    int ref_col = 0;
    size_t best, sz;
    int enc = ENC_FOR;
    uint32_t nd;

    widen(u, k, vals, n, &mn, &mx);
    w_for = bytes_for(mx - mn);
    best = (size_t)w_for * n;
    /* times relative to time_first (refs[0]) or time_last (refs[1]):
     * durations and export delays are small */
    for (int r = 0; r < 2 && k == FL_KIND_TIME && w_for > 0; r++) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        unsigned w;
        if (refs == NULL || refs[r] == NULL)
            continue;
        for (uint32_t i = 0; i < n; i++) {
            int64_t d = (int64_t)(u[i] - (uint64_t)refs[r][i]);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        w = bytes_for((uint64_t)hi - (uint64_t)lo);
        if ((size_t)w * n <= best) { /* ties: small offsets compress better */
            best = (size_t)w * n;
            enc = ENC_REF;
            ref = refs[r];
            ref_col = r == 0 ? FL_COL_TIME_FIRST : FL_COL_TIME_LAST;
            rmin = lo;
            w_ref = w;
        }
    }
    if (w_for > 1 && n > 2) {
        for (uint32_t i = 1; i < n; i++) {
            uint64_t d = zz((int64_t)(u[i] - u[i - 1]));
            dmax = d > dmax ? d : dmax;
            if (k == FL_KIND_TIME && i >= 2) {
                uint64_t dd = zz((int64_t)((u[i] - u[i - 1]) - (u[i - 1] - u[i - 2])));
                ddmax = dd > ddmax ? dd : ddmax;
            }
        }
        w_d = bytes_for(dmax);
        if ((size_t)w_d * n < best) {
            best = (size_t)w_d * n;
            enc = ENC_DELTA;
        }
        if (k == FL_KIND_TIME) {
            w_dd = bytes_for(ddmax);
            if ((size_t)w_dd * n < best) {
                best = (size_t)w_dd * n;
                enc = ENC_DOD;
            }
        }
    }
    nd = 0;
    if (w_for > 1 && (nd = distinct(c->hset, u, n, 256, c->hset + 2048, c->codes)) <= 256) {
        sz = (size_t)n + (size_t)nd * 8;
        if (sz < best) {
            best = sz;
            enc = ENC_DICT;
        }
    }
    meta[2] = (uint8_t)enc;
    put64(meta + 40, mn);
    put64(meta + 56, mx);
    switch (enc) {
    case ENC_FOR:
        for (uint32_t i = 0; i < n; i++) c->codes[i] = u[i] - mn;
        meta[4] = (uint8_t)w_for;
        put64(meta + 24, mn);
        planes_put(c->raw, c->codes, n, w_for);
        return (size_t)w_for * n;
    case ENC_REF:
        for (uint32_t i = 0; i < n; i++)
            c->codes[i] = (u[i] - (uint64_t)ref[i]) - (uint64_t)rmin;
        meta[4] = (uint8_t)w_ref;
        put64(meta + 24, (uint64_t)rmin);
        put64(meta + 32, (uint64_t)ref_col); /* file column = schema column */
        planes_put(c->raw, c->codes, n, w_ref);
        return (size_t)w_ref * n;
    case ENC_DELTA:
        c->codes[0] = 0;
        for (uint32_t i = 1; i < n; i++) c->codes[i] = zz((int64_t)(u[i] - u[i - 1]));
        meta[4] = (uint8_t)w_d;
        put64(meta + 24, u[0]);
        planes_put(c->raw, c->codes, n, w_d);
        return (size_t)w_d * n;
    case ENC_DOD:
        c->codes[0] = c->codes[1] = 0;
        for (uint32_t i = 2; i < n; i++)
            c->codes[i] = zz((int64_t)((u[i] - u[i - 1]) - (u[i - 1] - u[i - 2])));
        meta[4] = (uint8_t)w_dd;
        put64(meta + 24, u[0]);
        put64(meta + 32, u[1] - u[0]);
        planes_put(c->raw, c->codes, n, w_dd);
        return (size_t)w_dd * n;
    default: { /* DICT */
        uint64_t *dict = c->hset + 2048, *seen = c->hset + 4096;
        uint32_t m = nd;
        uint8_t remap[256];
        /* sort the dictionary; codes were first-seen indexes */
        memcpy(seen, dict, sizeof(uint64_t) * m);
        qsort(dict, m, sizeof dict[0], cmp_u64);
        for (uint32_t j = 0; j < m; j++) {
            uint32_t lo = 0, hi = m;
            while (lo + 1 < hi) {
                uint32_t mid = (lo + hi) / 2;
                if (dict[mid] <= seen[j]) lo = mid; else hi = mid;
            }
            remap[j] = (uint8_t)lo;
        }
        for (uint32_t i = 0; i < m; i++) put64(c->raw + 8 * i, dict[i]);
        for (uint32_t i = 0; i < n; i++)
            c->raw[(size_t)m * 8 + i] = remap[c->codes[i]];
        meta[4] = 1;
        put64(meta + 32, m);
        return (size_t)m * 8 + n;
    }
    }
}

/* Sort p[0..n) by address: LSD radix over the 16 key bytes (lo's low
 * byte first, hi's high byte last), skipping bytes every key shares — an
 * IPv4 dictionary needs 4 passes. Returns the sorted array (p or tmp). */
static struct apair *radix_pairs(struct apair *p, struct apair *tmp, uint32_t n,
                                 uint32_t (*cnt)[256])
{
    memset(cnt, 0, sizeof(uint32_t) * 16 * 256);
    for (uint32_t i = 0; i < n; i++)
        for (unsigned b = 0; b < 16; b++) {
            uint64_t w = b < 8 ? p[i].a.lo : p[i].a.hi;
            cnt[b][(w >> (8 * (b & 7))) & 0xff]++;
        }
    for (unsigned b = 0; b < 16; b++) {
        uint64_t w0 = b < 8 ? p[0].a.lo : p[0].a.hi;
        uint32_t sum = 0;
        struct apair *t;
        if (n == 0 || cnt[b][(w0 >> (8 * (b & 7))) & 0xff] == n)
            continue; /* every key has this byte: nothing to order */
        for (unsigned v = 0; v < 256; v++) {
            uint32_t c = cnt[b][v];
            cnt[b][v] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint64_t w = b < 8 ? p[i].a.lo : p[i].a.hi;
            tmp[cnt[b][(w >> (8 * (b & 7))) & 0xff]++] = p[i];
        }
        t = p;
        p = tmp;
        tmp = t;
    }
    return p;
}

/* Distinct addresses of a[0..n) into c->adict (sorted) and each row's
 * index into c->codes; UINT32_MAX when more than limit are distinct. */
static uint32_t addr_dict(chunk_enc *c, const fl_addr *a, uint32_t n, uint32_t limit)
{
    uint32_t *tab = (uint32_t *)(void *)c->hset, d = 0;
    size_t mask = 63;

    while (mask + 1 < (size_t)n * 2) /* at most half full */
        mask = mask * 2 + 1;
    memset(tab, 0, sizeof(uint32_t) * (mask + 1));
    for (uint32_t i = 0; i < n; i++) {
        size_t h = (size_t)addr_hash(a[i], 0) & mask;
        while (tab[h] && (c->adict[tab[h] - 1].lo != a[i].lo || c->adict[tab[h] - 1].hi != a[i].hi))
            h = (h + 1) & mask;
        if (!tab[h]) {
            if (d >= limit)
                return UINT32_MAX;
            c->adict[d] = a[i];
            tab[h] = ++d;
        }
        c->codes[i] = tab[h] - 1;
    }
    for (uint32_t k = 0; k < d; k++) {
        c->pairs[k].a = c->adict[k];
        c->pairs[k].idx = k;
    }
    {
        struct apair *sorted = radix_pairs(c->pairs, c->pairs2, d, c->cnt);
        for (uint32_t k = 0; k < d; k++) {
            c->remap[sorted[k].idx] = k;
            c->adict[k] = sorted[k].a;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        c->codes[i] = c->remap[c->codes[i]];
    return d;
}

/* Address chunk: a sorted dictionary (byte planes) + 1- or 2-byte codes
 * when few enough are distinct, else IPv4-only FOR, else raw planes. */
static size_t enc_addr(chunk_enc *c, const fl_addr *a, uint32_t n, uint8_t *meta)
{
    fl_addr mn = a[0], mx = a[0];
    int all4 = 1;
    uint32_t d;

    d = addr_dict(c, a, n, n * 3 / 8 + 1);
    c->last_dict = d;
    if (d != UINT32_MAX) {
        /* the sorted dictionary gives the zone map */
        mn = c->adict[0];
        mx = c->adict[d - 1];
    } else {
        uint64_t not4 = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (fl_addr_cmp(a[i], mn) < 0) mn = a[i];
            if (fl_addr_cmp(a[i], mx) > 0) mx = a[i];
            /* IPv4-mapped or the zero address: hi 0, lo bits 48..63 zero
             * and bits 32..47 all ones or all zero */
            not4 |= a[i].hi | (a[i].lo >> 48) |
                    ((a[i].lo >> 32 & 0xffff) != 0xffff && a[i].lo != 0);
        }
        all4 = not4 == 0;
    }
    put64(meta + 40, mn.hi);
    put64(meta + 48, mn.lo);
    put64(meta + 56, mx.hi);
    put64(meta + 64, mx.lo);
    if (d != UINT32_MAX) {
        unsigned w = d <= 256 ? 1 : 2;
        for (uint32_t k = 0; k < d; k++)
            for (unsigned j = 0; j < 8; j++) {
                c->raw[(size_t)j * d + k] = (uint8_t)(c->adict[k].hi >> (56 - 8 * j));
                c->raw[(size_t)(j + 8) * d + k] = (uint8_t)(c->adict[k].lo >> (56 - 8 * j));
            }
        planes_put(c->raw + (size_t)16 * d, c->codes, n, w);
        meta[2] = ENC_DICT;
        meta[4] = (uint8_t)w;
        put64(meta + 32, d);
        return (size_t)16 * d + (size_t)w * n;
    }
    if (all4) {
        /* zero (absent) addresses are coded as 0, others as v4 + 1 */
        uint64_t lo = UINT64_MAX, hi = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t v = (a[i].lo == 0 && a[i].hi == 0) ? 0 : (uint64_t)fl_addr_v4(a[i]) + 1;
            c->u[i] = v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        unsigned w = bytes_for(hi - lo);
        for (uint32_t i = 0; i < n; i++) c->codes[i] = c->u[i] - lo;
        meta[2] = ENC_V4;
        meta[4] = (uint8_t)w;
        put64(meta + 24, lo);
        planes_put(c->raw, c->codes, n, w);
        return (size_t)w * n;
    }
    meta[2] = ENC_RAW16;
    meta[4] = 16;
    for (uint32_t i = 0; i < n; i++) {
        for (unsigned j = 0; j < 8; j++) {
            c->raw[(size_t)j * n + i] = (uint8_t)(a[i].hi >> (56 - 8 * j));
            c->raw[(size_t)(j + 8) * n + i] = (uint8_t)(a[i].lo >> (56 - 8 * j));
        }
    }
    return (size_t)16 * n;
}

static uint32_t bloom_build(chunk_enc *c, const fl_addr *a, uint32_t n)
{
    if (c->last_dict != UINT32_MAX) {
        /* the chunk's distinct addresses are c->adict[0..d): insert those */
        uint32_t d = c->last_dict, len = 64;
        while (len < BLOOM_MAX_BYTES && (uint64_t)len * 8 < (uint64_t)d * 12)
            len *= 2;
        memset(c->bloom, 0, len);
        for (uint32_t i = 0; i < d; i++) {
            bloom_add(c->bloom, len, addr_hash(c->adict[i], 0));
            bloom_add(c->bloom, len, addr_hash(addr_net(c->adict[i]), 1));
        }
        return len;
    }
    /* size from the distinct count: 10 bits per distinct key */
    size_t mask = HSET_SIZE - 1;
    uint32_t k = 0, len = 64;
    uint64_t *set = c->hset;

    memset(set, 0, sizeof(uint64_t) * HSET_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t hs[2] = {addr_hash(a[i], 0), addr_hash(addr_net(a[i]), 1)};
        for (int t = 0; t < 2; t++) {
            uint64_t h = hs[t] | 1;
            size_t p = (size_t)h & mask;
            while (set[p] && set[p] != h) p = (p + 1) & mask;
            if (!set[p]) { set[p] = h; k++; }
        }
    }
    while (len < BLOOM_MAX_BYTES && (uint64_t)len * 8 < (uint64_t)k * 10)
        len *= 2;
    memset(c->bloom, 0, len);
    for (uint32_t i = 0; i < n; i++) {
        bloom_add(c->bloom, len, addr_hash(a[i], 0));
        bloom_add(c->bloom, len, addr_hash(addr_net(a[i]), 1));
    }
    return len;
}

/* The codec policy (codec zstd, the default): zstd only where it pays
 * for its decoding. zstd was 42-45% of a host search's CPU, and lz4
 * decodes several times faster; so each chunk is compressed with both
 * and stored as lz4 unless zstd is at least ZSTD_MIN_SAVING percent
 * smaller (lz4 or none also whenever zstd is no smaller). On the 50 M-flow
 * bench store zstd saves 15-16% over lz4 on address and bytes chunks,
 * 20-25% on ports, 25-30% on time_last, and 35% or more on packets,
 * flags, times received, ASes, masks and interfaces; almost no chunk
 * falls between 30 and 35%, so 33 cuts in that gap. Measured there
 * (docs/store-format.md): the store 17% larger, queries 20-25% less CPU;
 * all-lz4 was 53% larger for 15-30%. A 20% threshold (lz4 for addresses
 * and bytes only) gave +7% size for 11-19% less CPU. */
#define ZSTD_MIN_SAVING 33
/* And lz4 only where it saves at least this many percent: ports of
 * ephemeral-heavy traffic are near random (the bench store's dst_port
 * chunks: 99.8% of their size), and decompressing them cost the filtered
 * count (which reads dst_port) time for nothing. */
#define LZ4_MIN_SAVING 5

/* Columns nearly every question decodes (the window's start time; packets,
 * in every count) stay lz4 whatever zstd saves on them (about 35%): with
 * zstd they were a quarter of a host search's CPU, and lz4 for them costs
 * the bench store 2.4% (838 -> 858 MB) for 8-12% less query time
 * (docs/store-format.md). */
static int lz4_always(uint16_t col)
{
    return col == FL_COL_TIME_FIRST || col == FL_COL_PACKETS;
}

/* Compress the rawlen bytes of c->raw with c->codec (lz4, or zstd under
 * the policy above when zstd_ok); *out and *stored get the bytes to store
 * (c->raw itself when nothing shrinks it) and the codec they are in is
 * returned. */
static int compress(chunk_enc *c, size_t rawlen, int zstd_ok, const uint8_t **out,
                    size_t *stored)
{
    size_t zcap = ZSTD_compressBound(CHUNK_RAW_MAX), zs = SIZE_MAX, ls = SIZE_MAX;
    uint8_t *lbuf = c->comp + zcap;
    int r;

    r = LZ4_compress_default((const char *)c->raw, (char *)lbuf, (int)rawlen,
                             (int)(c->comp_cap - zcap));
    if (r > 0 && (size_t)r * 100 <= rawlen * (100 - LZ4_MIN_SAVING))
        ls = (size_t)r;
    if (c->codec == CODEC_ZSTD && zstd_ok) {
        size_t z = ZSTD_compressCCtx(c->zc, c->comp, zcap, c->raw, rawlen, c->level);
        if (!ZSTD_isError(z) && z < rawlen)
            zs = z;
    }
    /* zstd must beat what would be stored otherwise: lz4, or the raw bytes */
    if (zs != SIZE_MAX && zs * 100 <= (ls == SIZE_MAX ? rawlen : ls) * (100 - ZSTD_MIN_SAVING)) {
        *out = c->comp;
        *stored = zs;
        return CODEC_ZSTD;
    }
    if (ls != SIZE_MAX) {
        *out = lbuf;
        *stored = ls;
        return CODEC_LZ4;
    }
    return CODEC_NONE;
}

fl_rc chunk_encode(chunk_enc *c, uint16_t fcol, fl_kind k, const void *vals,
                   const fl_time *const refs[2],
                   uint32_t n, int with_bloom, uint32_t data_off, sbuf *meta, sbuf *data)
{
    uint8_t m[CHUNK_META];
    size_t rawlen, stored;
    const uint8_t *out;
    uint32_t blen = 0;
    int codec = c->codec;

    memset(m, 0, sizeof m);
    put16(m, fcol);
    if (k == FL_KIND_ADDR)
        rawlen = enc_addr(c, vals, n, m);
    else
        rawlen = enc_int(c, k, vals, refs, n, m);
    out = c->raw;
    stored = rawlen;
    if (rawlen >= 64 && codec != CODEC_NONE)
        codec = compress(c, rawlen, !lz4_always(fcol), &out, &stored);
    else
        codec = CODEC_NONE;
    m[3] = (uint8_t)codec;
    put32(m + 8, data_off);
    put32(m + 12, (uint32_t)stored);
    put32(m + 16, (uint32_t)rawlen);
    put32(m + 20, store_crc32c(0, out, stored));
    if (with_bloom) {
        m[5] = 1;
        blen = bloom_build(c, vals, n);
    }
    if (sbuf_put(meta, m, sizeof m) != 0 || sbuf_put(data, out, stored) != 0)
        return FL_ENOMEM;
    if (with_bloom) {
        uint8_t lb[4];
        put32(lb, blen);
        if (sbuf_put(meta, lb, 4) != 0 || sbuf_put(meta, c->bloom, blen) != 0)
            return FL_ENOMEM;
    }
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Decoder                                                             */

static void narrow_store(void *out, fl_kind k, uint32_t i, uint64_t v)
{
    switch (k) {
    case FL_KIND_U8: ((uint8_t *)out)[i] = (uint8_t)v; break;
    case FL_KIND_U16: ((uint16_t *)out)[i] = (uint16_t)v; break;
    case FL_KIND_U32: ((uint32_t *)out)[i] = (uint32_t)v; break;
    default: ((uint64_t *)out)[i] = v; break;
    }
}

/* FOR with small widths straight into the column: the hot path. */
static void for_fast(void *out, fl_kind k, const uint8_t *raw, uint32_t n, unsigned w,
                     uint64_t base)
{
#define FOR_LOOP(T)                                                                       \
    do {                                                                                  \
        T *o = out;                                                                       \
        if (w == 0) {                                                                     \
            for (uint32_t i = 0; i < n; i++) o[i] = (T)base;                              \
        } else if (w == 1) {                                                              \
            for (uint32_t i = 0; i < n; i++) o[i] = (T)(base + raw[i]);                   \
        } else if (w == 2) {                                                              \
            const uint8_t *p1 = raw + n;                                                  \
            for (uint32_t i = 0; i < n; i++) o[i] = (T)(base + (raw[i] | (uint32_t)p1[i] << 8)); \
        } else {                                                                          \
            /* plane by plane (sequential loops that vectorise); planes    \
             * past T's width vanish in the cast, as does base's carry */   \
            for (uint32_t i = 0; i < n; i++) o[i] = (T)raw[i];                            \
            for (unsigned j = 1; j < w && 8 * j < 8 * sizeof(T); j++) {                  \
                const uint8_t *pl = raw + (size_t)j * n;                                  \
                for (uint32_t i = 0; i < n; i++) o[i] |= (T)((T)pl[i] << (8 * j));        \
            }                                                                             \
            if ((T)base != 0)                                                             \
                for (uint32_t i = 0; i < n; i++) o[i] = (T)(o[i] + (T)base);              \
        }                                                                                 \
    } while (0)
    switch (k) {
    case FL_KIND_U8: FOR_LOOP(uint8_t); break;
    case FL_KIND_U16: FOR_LOOP(uint16_t); break;
    case FL_KIND_U32: FOR_LOOP(uint32_t); break;
    default: FOR_LOOP(uint64_t); break;
    }
#undef FOR_LOOP
}

/* All n codes of width w out of their byte planes, plane by plane (the
 * loops are sequential and vectorise). */
static void unpack(const uint8_t *raw, uint32_t n, unsigned w, uint64_t *codes)
{
    if (w == 0) {
        memset(codes, 0, sizeof(uint64_t) * n);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        codes[i] = raw[i];
    for (unsigned j = 1; j < w; j++) {
        const uint8_t *pl = raw + (size_t)j * n;
        unsigned sh = 8 * j;
        for (uint32_t i = 0; i < n; i++)
            codes[i] |= (uint64_t)pl[i] << sh;
    }
}

static void store_all(void *out, fl_kind k, const uint64_t *v, uint32_t n)
{
    if (k == FL_KIND_U64 || k == FL_KIND_TIME || k == FL_KIND_MAC)
        memcpy(out, v, sizeof(uint64_t) * n);
    else
        for (uint32_t i = 0; i < n; i++)
            narrow_store(out, k, i, v[i]);
}

/* One zstd decompression context per thread, kept for the thread's life:
 * ZSTD_decompress would allocate and initialise one for every chunk. */
static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static int dctx_key_ok;

static void dctx_free(void *p) { ZSTD_freeDCtx(p); }
static void dctx_init(void) { dctx_key_ok = pthread_key_create(&dctx_key, dctx_free) == 0; }

static ZSTD_DCtx *thread_dctx(void)
{
    ZSTD_DCtx *dc;

    pthread_once(&dctx_once, dctx_init);
    if (!dctx_key_ok)
        return NULL;
    dc = pthread_getspecific(dctx_key);
    if (dc == NULL && (dc = ZSTD_createDCtx()) != NULL && pthread_setspecific(dctx_key, dc) != 0) {
        ZSTD_freeDCtx(dc);
        dc = NULL;
    }
    return dc;
}

/* The chunk's raw bytes (decompressed into scratch, or stored as is)
 * into *rawp, after checking that the encoding fits the kind and its
 * exact raw length. */
static fl_rc chunk_raw(const seg_chunk *ch, const uint8_t *stored, fl_kind k, uint32_t n,
                       uint8_t *scratch, const uint8_t **rawp, fl_err *e)
{
    const uint8_t *raw;
    size_t need;
    unsigned w = ch->width;

    if (n > FL_STORE_GROUP_ROWS || ch->raw > CHUNK_RAW_MAX)
        return fl_err_set(e, FL_ECORRUPT, "chunk sizes out of range");
    if (ch->codec == CODEC_NONE) {
        if (ch->stored != ch->raw)
            return fl_err_set(e, FL_ECORRUPT, "stored and raw lengths differ");
        raw = stored;
    } else if (ch->codec == CODEC_ZSTD) {
        ZSTD_DCtx *dc = thread_dctx();
        size_t r = dc ? ZSTD_decompressDCtx(dc, scratch, ch->raw, stored, ch->stored)
                      : ZSTD_decompress(scratch, ch->raw, stored, ch->stored);
        if (ZSTD_isError(r) || r != ch->raw)
            return fl_err_set(e, FL_ECORRUPT, "zstd: %s",
                              ZSTD_isError(r) ? ZSTD_getErrorName(r) : "wrong length");
        raw = scratch;
    } else if (ch->codec == CODEC_LZ4) {
        int r = LZ4_decompress_safe((const char *)stored, (char *)scratch, (int)ch->stored,
                                    (int)ch->raw);
        if (r < 0 || (uint32_t)r != ch->raw)
            return fl_err_set(e, FL_ECORRUPT, "lz4: bad compressed data");
        raw = scratch;
    } else {
        return fl_err_set(e, FL_ECORRUPT, "unknown codec %u", ch->codec);
    }
    /* every encoding's exact raw length is known from its parameters */
    switch (ch->enc) {
    case ENC_FOR: case ENC_DELTA: case ENC_DOD: case ENC_V4: case ENC_REF:
        if (w > 8) return fl_err_set(e, FL_ECORRUPT, "code width %u", w);
        need = (size_t)w * n;
        break;
    case ENC_DICT:
        if (w < 1 || w > 2 || ch->dict_n == 0 || ch->dict_n > FL_STORE_GROUP_ROWS)
            return fl_err_set(e, FL_ECORRUPT, "bad dictionary (%u entries, %u-byte codes)",
                              ch->dict_n, w);
        need = (size_t)ch->dict_n * (k == FL_KIND_ADDR ? 16 : 8) + (size_t)w * n;
        break;
    case ENC_RAW16:
        need = (size_t)16 * n;
        break;
    default:
        return fl_err_set(e, FL_ECORRUPT, "unknown encoding %u", ch->enc);
    }
    if (need != ch->raw)
        return fl_err_set(e, FL_ECORRUPT, "raw length %u, encoding needs %zu", ch->raw, need);
    if ((k == FL_KIND_ADDR) != (ch->enc == ENC_V4 || ch->enc == ENC_RAW16 ||
                                (ch->enc == ENC_DICT && k == FL_KIND_ADDR)) ||
        (ch->enc == ENC_REF && k != FL_KIND_TIME))
        return fl_err_set(e, FL_ECORRUPT, "encoding %u does not fit the column kind", ch->enc);
    *rawp = raw;
    return FL_OK;
}

/* n addresses out of 16 big-endian byte planes of n bytes each. */
/* Address i of n stored as 16 big-endian byte planes. */
static inline fl_addr addr_at(const uint8_t *raw, uint32_t n, uint32_t i)
{
    uint64_t hi = 0, lo = 0;

    for (unsigned j = 0; j < 8; j++) {
        hi = hi << 8 | raw[(size_t)j * n + i];
        lo = lo << 8 | raw[(size_t)(j + 8) * n + i];
    }
    return (fl_addr){hi, lo};
}

static void addr_planes(const uint8_t *raw, uint32_t n, fl_addr *o)
{
    for (uint32_t i = 0; i < n; i++)
        o[i] = addr_at(raw, n, i);
}

/* The d entries of a dictionary chunk's raw bytes into dict (addresses
 * from their byte planes, integers in .lo); returns where its codes
 * start. */
static const uint8_t *dict_entries(const uint8_t *raw, uint32_t d, fl_kind k, fl_addr *dict)
{
    if (k != FL_KIND_ADDR) {
        for (uint32_t c = 0; c < d; c++) {
            dict[c].hi = 0;
            dict[c].lo = get64(raw + 8 * (size_t)c);
        }
        return raw + (size_t)d * 8;
    }
    addr_planes(raw, d, dict);
    return raw + (size_t)d * 16;
}

/* Whether a code of the n (w-byte planes at cp) is past the d entries:
 * checked all at once, so the decoding loops need no test per row. */
static int dict_codes_bad(const uint8_t *cp, uint32_t n, unsigned w, uint32_t d)
{
    uint32_t bad = 0;

    if (w == 1)
        for (uint32_t i = 0; i < n; i++)
            bad |= (uint32_t)(cp[i] >= d);
    else
        for (uint32_t i = 0; i < n; i++)
            bad |= (uint32_t)((uint32_t)(cp[i] | cp[n + i] << 8) >= d);
    return bad != 0;
}

fl_rc chunk_decode(const seg_chunk *ch, const uint8_t *stored, fl_kind k, const fl_time *ref,
                   uint32_t n, void *out, uint8_t *scratch, fl_err *e)
{
    const uint8_t *raw;
    unsigned w = ch->width;
    fl_rc rc = chunk_raw(ch, stored, k, n, scratch, &raw, e);

    /* 8-byte values (times, counters) are decoded in place in out: one
     * pass over a group's 512 KB less per column */
    uint64_t *wide = k == FL_KIND_U64 || k == FL_KIND_TIME || k == FL_KIND_MAC
                         ? (uint64_t *)out
                         : (uint64_t *)(void *)(scratch + CHUNK_RAW_MAX);

    if (rc != FL_OK)
        return rc;
    switch (ch->enc) {
    case ENC_FOR:
        for_fast(out, k, raw, n, w, ch->base);
        break;
    case ENC_DELTA: {
        uint64_t v = ch->base, *c = wide;
        unpack(raw, n, w, c);
        for (uint32_t i = 0; i < n; i++) {
            if (i) v += (uint64_t)unzz(c[i]);
            c[i] = v;
        }
        if (c != out)
            store_all(out, k, c, n);
        break;
    }
    case ENC_DOD: {
        uint64_t v = ch->base, d = ch->aux, *c = wide;
        unpack(raw, n, w, c);
        for (uint32_t i = 0; i < n; i++) {
            if (i == 1) v += d;
            else if (i >= 2) { d += (uint64_t)unzz(c[i]); v += d; }
            c[i] = v;
        }
        if (c != out)
            store_all(out, k, c, n);
        break;
    }
    case ENC_REF: {
        uint64_t *c = wide;
        unpack(raw, n, w, c);
        for (uint32_t i = 0; i < n; i++)
            c[i] += (ref ? (uint64_t)ref[i] : 0) + ch->base;
        if (c != out)
            store_all(out, k, c, n);
        break;
    }
    case ENC_DICT: {
        uint32_t d = ch->dict_n;
        const uint8_t *codes = raw + (size_t)d * (k == FL_KIND_ADDR ? 16 : 8);
        if (dict_codes_bad(codes, n, w, d))
            return fl_err_set(e, FL_ECORRUPT, "dictionary code out of its %u entries", d);
        if (k == FL_KIND_ADDR) {
            fl_addr *o = out, *dict = (fl_addr *)(void *)(scratch + CHUNK_RAW_MAX);
            dict_entries(raw, d, k, dict);
            for (uint32_t i = 0; i < n; i++)
                o[i] = dict[w == 1 ? codes[i] : (uint32_t)(codes[i] | codes[n + i] << 8)];
        } else {
            for (uint32_t i = 0; i < n; i++) {
                uint32_t c = w == 1 ? codes[i] : (uint32_t)(codes[i] | codes[n + i] << 8);
                narrow_store(out, k, i, get64(raw + 8 * (size_t)c));
            }
        }
        break;
    }
    case ENC_V4: {
        fl_addr *o = out;
        uint64_t *c = (uint64_t *)(void *)(scratch + CHUNK_RAW_MAX);
        unpack(raw, n, w, c);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t v = ch->base + c[i];
            /* 0 is the zero address; else IPv4-mapped v - 1 */
            o[i].hi = 0;
            o[i].lo = v ? 0x0000ffff00000000ULL | (uint32_t)(v - 1) : 0;
        }
        break;
    }
    case ENC_RAW16:
        addr_planes(raw, n, out);
        break;
    default:
        break;
    }
    return FL_OK;
}

fl_rc chunk_decode_dict(const seg_chunk *ch, const uint8_t *stored, fl_kind k, uint32_t n,
                        void *out, uint16_t *codes, fl_addr *dict, uint8_t *scratch, fl_err *e)
{
    const uint8_t *raw, *cp;
    uint32_t d = ch->dict_n;
    fl_rc rc;

    if (ch->enc != ENC_DICT)
        return fl_err_set(e, FL_EINVAL, "chunk is not dictionary-coded");
    if ((rc = chunk_raw(ch, stored, k, n, scratch, &raw, e)) != FL_OK)
        return rc;
    cp = dict_entries(raw, d, k, dict);
    if (dict_codes_bad(cp, n, ch->width, d))
        return fl_err_set(e, FL_ECORRUPT, "dictionary code out of its %u entries", d);
    if (ch->width == 1)
        for (uint32_t i = 0; i < n; i++)
            codes[i] = cp[i];
    else
        for (uint32_t i = 0; i < n; i++)
            codes[i] = (uint16_t)(cp[i] | cp[n + i] << 8);
    if (out == NULL)
        return FL_OK;
    if (k == FL_KIND_ADDR) {
        fl_addr *o = out;
        for (uint32_t i = 0; i < n; i++)
            o[i] = dict[codes[i]];
    } else {
        for (uint32_t i = 0; i < n; i++)
            narrow_store(out, k, i, dict[codes[i]].lo);
    }
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Selective reading: a predicate on encoded addresses, rows by index   */

/* Intervals an IPv4 chunk may be tested against: up to 3 stored forms of
 * each of an address set's FL_STORE_ASET_MAX intervals, and the zero
 * address. */
#define FL_V4_IVL_MAX (3 * FL_STORE_ASET_MAX + 1)

/* The stored interval [lo, hi] as an interval of an ENC_V4 chunk's codes
 * (value v = base + code; v 0 is the zero address, v >= 1 the IPv4-mapped
 * v - 1); 0 when no code of the chunk's width can fall in it. */
static int v4_code_range(fl_addr lo, fl_addr hi, uint64_t base, unsigned w, uint64_t *clo,
                         uint64_t *chi)
{
    fl_addr m0 = fl_addr_from_v4(0), m1 = fl_addr_from_v4(UINT32_MAX);
    uint64_t vlo, vhi, cmax = w >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * w)) - 1;

    if (fl_addr_cmp(hi, m0) < 0 || fl_addr_cmp(lo, m1) > 0)
        return 0;
    vlo = fl_addr_cmp(lo, m0) <= 0 ? 1 : (uint64_t)(uint32_t)lo.lo + 1;
    vhi = fl_addr_cmp(hi, m1) >= 0 ? (uint64_t)UINT32_MAX + 1 : (uint64_t)(uint32_t)hi.lo + 1;
    if (vhi < base)
        return 0;
    *clo = vlo > base ? vlo - base : 0;
    *chi = vhi - base;
    if (*clo > cmax)
        return 0;
    if (*chi > cmax)
        *chi = cmax;
    return 1;
}

static inline int addr_le(fl_addr a, fl_addr b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

static int in_any(fl_addr a, const fl_addr *lo, const fl_addr *hi, unsigned nivl)
{
    for (unsigned j = 0; j < nivl; j++)
        if (addr_le(lo[j], a) && addr_le(a, hi[j]))
            return 1;
    return 0;
}

/* mark[i] |= 1 where the w byte planes (n bytes apart) at row i hold the
 * bytes of key, low plane first; restrict lets the loops vectorise. */
static void match_planes(uint8_t *restrict mark, const uint8_t *restrict p, uint32_t n,
                         unsigned w, uint64_t key)
{
    const uint8_t *restrict p1 = p + n, *restrict p2 = p + 2 * (size_t)n,
                            *restrict p3 = p + 3 * (size_t)n;
    uint8_t k0 = (uint8_t)key, k1 = (uint8_t)(key >> 8), k2 = (uint8_t)(key >> 16),
            k3 = (uint8_t)(key >> 24);

    switch (w) {
    case 1:
        for (uint32_t i = 0; i < n; i++)
            mark[i] |= (uint8_t)(p[i] == k0);
        break;
    case 2:
        for (uint32_t i = 0; i < n; i++)
            mark[i] |= (uint8_t)((p[i] == k0) & (p1[i] == k1));
        break;
    case 3:
        for (uint32_t i = 0; i < n; i++)
            mark[i] |= (uint8_t)((p[i] == k0) & (p1[i] == k1) & (p2[i] == k2));
        break;
    default:
        for (uint32_t i = 0; i < n; i++)
            mark[i] |= (uint8_t)((p[i] == k0) & (p1[i] == k1) & (p2[i] == k2) & (p3[i] == k3));
        break;
    }
}

/* The dictionary entries equal to one address a, by their 16 big-endian
 * byte planes (d bytes each): eq[c] is 1 for a match. */
static void dict_equal(const uint8_t *restrict raw, uint32_t d, fl_addr a, uint8_t *restrict eq)
{
    memset(eq, 1, d);
    for (unsigned j = 0; j < 16; j++) {
        const uint8_t *restrict pl = raw + (size_t)j * d;
        uint8_t k = (uint8_t)(j < 8 ? a.hi >> (8 * (7 - j)) : a.lo >> (8 * (15 - j)));
        for (uint32_t c = 0; c < d; c++)
            eq[c] &= (uint8_t)(pl[c] == k);
    }
}

fl_rc chunk_addr_match(const seg_chunk *ch, const uint8_t *stored, uint32_t n, const fl_addr *lo,
                       const fl_addr *hi, unsigned nivl, uint8_t *mark, uint8_t *scratch,
                       fl_err *e)
{
    const uint8_t *raw;
    fl_rc rc = chunk_raw(ch, stored, FL_KIND_ADDR, n, scratch, &raw, e);
    fl_addr zero = {0, 0};

    if (rc != FL_OK)
        return rc;
    if (nivl >= FL_V4_IVL_MAX)
        return fl_err_set(e, FL_EINVAL, "%u address intervals, at most %d", nivl,
                          FL_V4_IVL_MAX - 1);
    if (ch->enc == ENC_V4) {
        uint64_t a[FL_V4_IVL_MAX], b[FL_V4_IVL_MAX];
        unsigned m = 0, w = ch->width;
        int zero_in = in_any(zero, lo, hi, nivl);
        for (unsigned j = 0; j < nivl; j++) {
            if (v4_code_range(lo[j], hi[j], ch->base, w, &a[m], &b[m])) {
                b[m] -= a[m];
                m++;
            }
        }
        /* v 0 (the zero address) is code 0 - base, which exists only
         * with base 0 */
        if (zero_in && ch->base == 0) {
            a[m] = 0;
            b[m] = 0;
            m++;
        }
        if (m == 0)
            return FL_OK;
        if (m == 1 && b[0] == 0 && w >= 1 && w <= 4) {
            /* one address: its code's bytes compared plane by plane */
            if (a[0] >> (8 * w) == 0)
                match_planes(mark, raw, n, w, a[0]);
            return FL_OK;
        }
        if (w <= 4) {
            /* one pass: each code assembled from its planes and tested */
            const uint8_t *p0 = raw, *p1 = raw + n, *p2 = raw + 2 * (size_t)n,
                          *p3 = raw + 3 * (size_t)n;
            uint32_t a32[FL_V4_IVL_MAX], b32[FL_V4_IVL_MAX];
            for (unsigned j = 0; j < m; j++) {
                a32[j] = (uint32_t)a[j];
                b32[j] = (uint32_t)b[j];
            }
            for (uint32_t i = 0; i < n; i++) {
                uint32_t c = w == 0 ? 0 : p0[i];
                uint8_t hit = 0;
                if (w > 1) c |= (uint32_t)p1[i] << 8;
                if (w > 2) c |= (uint32_t)p2[i] << 16;
                if (w > 3) c |= (uint32_t)p3[i] << 24;
                for (unsigned j = 0; j < m; j++)
                    hit |= (uint8_t)(c - a32[j] <= b32[j]);
                mark[i] |= hit;
            }
            return FL_OK;
        }
        {
            uint64_t *c = (uint64_t *)(void *)(scratch + CHUNK_RAW_MAX);
            unpack(raw, n, w, c);
            for (unsigned j = 0; j < m; j++)
                for (uint32_t i = 0; i < n; i++)
                    mark[i] |= (uint8_t)(c[i] - a[j] <= b[j]);
        }
        return FL_OK;
    }
    if (ch->enc == ENC_DICT) {
        /* the entries are distinct: a host hits at most one, a few
         * addresses a few, each found by comparing the code planes
         * (vectorised); more go through a table of every 16-bit code,
         * zero past the dictionary, so a corrupt code matches nothing */
        uint32_t d = ch->dict_n, nh = 0;
        unsigned w = ch->width;
        fl_addr *dict = (fl_addr *)(void *)(scratch + CHUNK_RAW_MAX);
        uint8_t *hit = scratch + CHUNK_RAW_MAX + (size_t)FL_STORE_GROUP_ROWS * 16;
        uint32_t few[4];
        const uint8_t *cp = raw + (size_t)d * 16;
        unsigned points = 0;
        while (points < nivl && lo[points].hi == hi[points].hi && lo[points].lo == hi[points].lo)
            points++;
        /* hit[c]: entry c matches. A few addresses (a host is two: its
         * IPv4-mapped and IPv4-compatible forms) are found in the entries'
         * planes without building them; the dictionary's room holds each
         * one's matches */
        if (points == nivl && nivl <= 4) {
            uint8_t *eq = (uint8_t *)dict;
            memset(hit, 0, d);
            for (unsigned j = 0; j < nivl; j++) {
                dict_equal(raw, d, lo[j], eq);
                for (uint32_t c = 0; c < d; c++)
                    hit[c] |= eq[c];
            }
        } else {
            dict_entries(raw, d, FL_KIND_ADDR, dict);
            for (uint32_t c = 0; c < d; c++)
                hit[c] = (uint8_t)in_any(dict[c], lo, hi, nivl);
        }
        for (uint32_t c = 0; c < d; c++)
            if (hit[c]) {
                if (nh < 4)
                    few[nh] = c;
                nh++;
            }
        if (nh == 0)
            return FL_OK;
        if (nh <= 4) {
            for (uint32_t j = 0; j < nh; j++)
                match_planes(mark, cp, n, w, few[j]);
            return FL_OK;
        }
        memset(hit + d, 0, 65536 - (size_t)d);
        if (w == 1)
            for (uint32_t i = 0; i < n; i++)
                mark[i] |= hit[cp[i]];
        else
            for (uint32_t i = 0; i < n; i++)
                mark[i] |= hit[cp[i] | cp[n + i] << 8];
        return FL_OK;
    }
    {
        /* raw 16-byte planes: decoded, then tested row by row */
        fl_addr *a = (fl_addr *)(void *)(scratch + CHUNK_RAW_MAX);
        addr_planes(raw, n, a);
        for (uint32_t i = 0; i < n; i++)
            mark[i] |= (uint8_t)in_any(a[i], lo, hi, nivl);
    }
    return FL_OK;
}

/* The plane-coded value of row r (w byte planes of n bytes each). */
static inline uint64_t plane_get(const uint8_t *raw, uint32_t n, unsigned w, uint32_t r)
{
    uint64_t v = 0;
    for (unsigned j = 0; j < w; j++)
        v |= (uint64_t)raw[(size_t)j * n + r] << (8 * j);
    return v;
}

fl_rc chunk_decode_rows(const seg_chunk *ch, const uint8_t *stored, fl_kind k,
                        const fl_time *ref, uint32_t n, const uint32_t *idx, uint32_t nsel,
                        void *out, uint8_t *scratch, void *full, fl_err *e)
{
    const uint8_t *raw;
    unsigned w = ch->width;
    fl_rc rc;

    if (ch->enc == ENC_DELTA || ch->enc == ENC_DOD) {
        /* each value needs all before it: the whole chunk, then the rows */
        unsigned wd = k == FL_KIND_ADDR ? 16 : k == FL_KIND_U8 ? 1 : k == FL_KIND_U16 ? 2
                    : k == FL_KIND_U32 ? 4 : 8;
        if ((rc = chunk_decode(ch, stored, k, NULL, n, full, scratch, e)) != FL_OK)
            return rc;
        for (uint32_t i = 0; i < nsel; i++)
            memcpy((uint8_t *)out + (size_t)i * wd, (const uint8_t *)full + (size_t)idx[i] * wd, wd);
        return FL_OK;
    }
    if ((rc = chunk_raw(ch, stored, k, n, scratch, &raw, e)) != FL_OK)
        return rc;
    switch (ch->enc) {
    case ENC_FOR:
        for (uint32_t i = 0; i < nsel; i++)
            narrow_store(out, k, i, ch->base + plane_get(raw, n, w, idx[i]));
        break;
    case ENC_REF:
        /* ref holds the reference column at the selected rows */
        for (uint32_t i = 0; i < nsel; i++)
            narrow_store(out, k, i,
                         plane_get(raw, n, w, idx[i]) + (ref ? (uint64_t)ref[i] : 0) + ch->base);
        break;
    case ENC_V4: {
        fl_addr *o = out;
        for (uint32_t i = 0; i < nsel; i++) {
            uint64_t v = ch->base + plane_get(raw, n, w, idx[i]);
            o[i].hi = 0;
            o[i].lo = v ? 0x0000ffff00000000ULL | (uint32_t)(v - 1) : 0;
        }
        break;
    }
    case ENC_DICT: {
        uint32_t d = ch->dict_n;
        const uint8_t *cp = raw + (size_t)d * (k == FL_KIND_ADDR ? 16 : 8);
        /* only the entries of the rows kept are built */
        for (uint32_t i = 0; i < nsel; i++) {
            uint32_t c = (uint32_t)plane_get(cp, n, w, idx[i]);
            if (c >= d)
                return fl_err_set(e, FL_ECORRUPT, "dictionary code out of its %u entries", d);
            if (k == FL_KIND_ADDR) {
                ((fl_addr *)out)[i] = addr_at(raw, d, c);
            } else {
                narrow_store(out, k, i, get64(raw + 8 * (size_t)c));
            }
        }
        break;
    }
    case ENC_RAW16:
        for (uint32_t i = 0; i < nsel; i++)
            ((fl_addr *)out)[i] = addr_at(raw, n, idx[i]);
        break;
    default:
        break;
    }
    return FL_OK;
}
