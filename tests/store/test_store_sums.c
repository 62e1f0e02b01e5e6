/*
 * tests/store/test_store_sums.c — a scan of sums (fl_store_scan_sums)
 * answers per-address statistics exactly as the rows do.
 *
 * Each by-address copy block is followed by its sums: one row per
 * (address, exporter) standing for its flows. Folding a scan of sums by
 * address, each row counted as its flows column says, must give the same
 * flows, packets, bytes, reverse counters, first start, last end and ORed
 * flags per address as folding every row — for the src and the dst part,
 * over the whole store and over a window that cuts segments (blocks not
 * wholly inside come back as rows), with sampled blocks (no sums: rows),
 * rows that already stand for several flows, several exporters, and a
 * damaged sums block (its rows are read from the segment). A copy with
 * no sums at all (made before sums existed, or every block sampled) is
 * not read: its segment is. `verify --deep` checks the sums blocks and
 * names a damaged one.
 */
#include "store/store.h"
#include "store/store_int.h"
#include "store_test_util.h"
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 ((fl_time)1714564800000LL)
#define SLOT ((fl_time)300000)
#define NSLOTS 6
#define ROWS 20000

/* Per-address totals, as the engine folds them. */
typedef struct tot {
    fl_addr a;
    uint64_t flows, packets, bytes, opk, oby;
    fl_time first, last;
    uint8_t flags;
} tot;

typedef struct fold {
    tot *v;
    size_t n, cap;
} fold;

static int tot_cmp(const void *x, const void *y)
{
    return fl_addr_cmp(((const tot *)x)->a, ((const tot *)y)->a);
}

/* Sort by address and merge equal ones. */
static void fold_finish(fold *f)
{
    size_t m = 0;

    qsort(f->v, f->n, sizeof *f->v, tot_cmp);
    for (size_t i = 0; i < f->n; i++) {
        tot *t = &f->v[i];
        if (m > 0 && fl_addr_cmp(f->v[m - 1].a, t->a) == 0) {
            tot *u = &f->v[m - 1];
            u->flows += t->flows;
            u->packets += t->packets;
            u->bytes += t->bytes;
            u->opk += t->opk;
            u->oby += t->oby;
            u->first = t->first < u->first ? t->first : u->first;
            u->last = t->last > u->last ? t->last : u->last;
            u->flags |= t->flags;
        } else {
            f->v[m++] = *t;
        }
    }
    f->n = m;
}

/* Fold every row a scan gives by col (an address, or a number as ::N),
 * rows in [lo, hi) of both times only when hi > 0 (what the engine's
 * window keeps). sums 1: ask for sums of col; 2: an exact scan through
 * the copies with the address term of host (nfdump's form, both columns
 * when any) asking for host sums, 3: the same without them. */
static const char *g_host;
static int g_any;
static void scan_fold(const char *dir, fl_col col, int sums, fl_time lo, fl_time hi, fold *f,
                      fl_store_scan_stats *st)
{
    fl_batch *b = fl_batch_new(FL_STORE_GROUP_ROWS);
    fl_store *s;
    fl_store_scan *sc;
    fl_store_pred p;
    fl_err e;

    memset(f, 0, sizeof *f);
    memset(&p, 0, sizeof p);
    p.t_end = hi; /* flows starting before the end, as cli_store_pred */
    if (sums >= 2) {
        fl_addr a;
        CHECK(fl_addr_parse(g_host, strlen(g_host), &a, &e) == FL_OK);
        if (fl_addr_is_v4(a))
            a.lo &= 0xffffffffULL; /* nfdump's form */
        p.nasets = 1;
        p.asets[0].col = g_any ? FL_STORE_ANY_ADDR : FL_COL_SRC_ADDR;
        p.asets[0].n = 1;
        p.asets[0].lo[0] = p.asets[0].hi[0] = a;
    }
    CHECK(b != NULL && fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_scan_open(s, NULL, &p,
                             sums >= 2 ? FL_STORE_SCAN_EXACT | FL_STORE_SCAN_ANY_ORDER : 0, &sc,
                             &e) == FL_OK);
    if (sums == 1)
        CHECK_EQ_INT(fl_store_scan_sums(sc, col, lo, hi), 1);
    if (sums == 2)
        CHECK_EQ_INT(fl_store_scan_host_sums(sc, lo, hi), 1);
    for (int guard = 0; guard < 100000; guard++) {
        const uint64_t *fw = FL_U64(b, FL_COL_FLOWS);
        fl_batch_clear(b);
        CHECK(fl_store_scan_fill(sc, b, &e) == FL_OK);
        if (b->n == 0)
            break;
        for (uint32_t r = 0; r < b->n; r++) {
            fl_time t0 = FL_TIMES(b, FL_COL_TIME_FIRST)[r], t1 = FL_TIMES(b, FL_COL_TIME_LAST)[r];
            tot *t;
            if (hi > 0 && (t0 < lo || t1 < lo || t0 >= hi || t1 >= hi))
                continue;
            if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 4096;
                f->v = realloc(f->v, f->cap * sizeof *f->v);
                CHECK(f->v != NULL);
            }
            t = &f->v[f->n++];
            t->a = fl_col_get(col)->kind == FL_KIND_ADDR
                       ? FL_ADDRS(b, col)[r]
                       : (fl_addr){0, fl_batch_get_u64(b, col, (uint32_t)r)};
            t->flows = fl_batch_has(b, FL_COL_FLOWS) && fw[r] ? fw[r] : 1;
            t->packets = FL_U64(b, FL_COL_PACKETS)[r];
            t->bytes = FL_U64(b, FL_COL_BYTES)[r];
            t->opk = FL_U64(b, FL_COL_OUT_PACKETS)[r];
            t->oby = FL_U64(b, FL_COL_OUT_BYTES)[r];
            t->first = t0;
            t->last = t1;
            t->flags = FL_U8(b, FL_COL_TCP_FLAGS)[r];
        }
    }
    fl_store_scan_get_stats(sc, st);
    fl_store_scan_free(sc);
    fl_store_close(s, NULL);
    fl_batch_free(b);
    fold_finish(f);
}

/* The two folds agree on every address and every counter. */
static void same_folds(const fold *a, const fold *b)
{
    size_t bad = 0;

    /* on a mismatch, name the addresses only one side has */
    for (size_t i = 0, j = 0; a->n != b->n && (i < a->n || j < b->n);) {
        int c = i >= a->n ? 1 : j >= b->n ? -1 : fl_addr_cmp(a->v[i].a, b->v[j].a);
        char t[64];
        if (c != 0) {
            fl_addr_format(c < 0 ? a->v[i].a : b->v[j].a, t, sizeof t);
            printf("  only in the %s: %s\n", c < 0 ? "rows" : "sums", t);
        }
        i += c <= 0;
        j += c >= 0;
    }
    CHECK_EQ_INT(a->n, b->n);
    for (size_t i = 0; i < a->n && i < b->n; i++)
        bad += fl_addr_cmp(a->v[i].a, b->v[i].a) != 0 || a->v[i].flows != b->v[i].flows ||
               a->v[i].packets != b->v[i].packets || a->v[i].bytes != b->v[i].bytes ||
               a->v[i].opk != b->v[i].opk || a->v[i].oby != b->v[i].oby ||
               a->v[i].first != b->v[i].first || a->v[i].last != b->v[i].last ||
               a->v[i].flags != b->v[i].flags;
    CHECK_EQ_INT(bad, 0);
}

static uint64_t fold_flows(const fold *f)
{
    uint64_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->v[i].flows;
    return n;
}

/* Slots of ROWS flows over few addresses (sums are much shorter than the
 * rows), 4 exporters; slot 3 is sampled 1:10 on every other row (its
 * blocks have no sums); a tenth of the rows stand for 3 flows already. */
static void build(const char *dir, int by_addr)
{
    fl_batch *b = fl_batch_new(ROWS);
    fl_store *s;
    fl_store_opts o;
    fl_err e;

    fl_store_opts_default(&o);
    o.fsync = 0;
    o.by_addr = by_addr;
    CHECK(b != NULL && fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    for (int k = 0; k < NSLOTS; k++) {
        fl_batch_clear(b);
        for (uint64_t i = 0; i < ROWS; i++) {
            fl_flow fw;
            uint64_t h = tu_mix(i + 77 * (uint64_t)k);
            tu_flow(&fw, i + ROWS * (uint64_t)k, T0 + k * SLOT + (fl_time)(h % SLOT), (h >> 20) % 5 == 0);
            /* few addresses, skewed: address h % 300 of a /22 */
            fw.SRC_ADDR = fl_addr_from_v4(0x0a000000u + (uint32_t)((h >> 8) % 300 * ((h >> 30) % 3 + 1)));
            if ((h >> 20) % 5 == 0)
                fw.DST_ADDR = (fl_addr){0x20010db800000000ULL, (h >> 12) % 97};
            else
                fw.DST_ADDR = fl_addr_from_v4(0xc0a80000u + (uint32_t)((h >> 12) % 500));
            /* a busy host, 10.0.0.7: half the sources, a third of the
             * destinations (whole copy blocks of it), some flows to
             * itself, some to its IPv4-compatible form (the same host to
             * nfdump) */
            if ((h >> 44) % 2 == 0)
                fw.SRC_ADDR = fl_addr_from_v4(0x0a000007u);
            if ((h >> 47) % 3 == 0)
                fw.DST_ADDR = fl_addr_from_v4(0x0a000007u);
            if ((h >> 50) % 50 == 0)
                fw.DST_ADDR = fw.SRC_ADDR;
            else if ((h >> 50) % 50 == 1)
                fw.DST_ADDR = (fl_addr){0, fw.SRC_ADDR.lo & 0xffffffffULL};
            fw.TIME_LAST = fw.TIME_FIRST + (fl_time)(h >> 40) % 60000;
            fw.SAMPLING_RATE = k == 3 && i % 2 ? 10 : (uint32_t)(i % 2);
            fw.FLOWS = i % 10 == 0 ? 3 : 0;
            CHECK(fl_batch_append(b, &fw) == FL_OK);
        }
        CHECK(fl_store_append(s, b, &e) == FL_OK);
    }
    CHECK(fl_store_close(s, &e) == FL_OK);
    fl_batch_free(b);
}

static void check_sums(const char *dir, fl_col col, fl_time lo, fl_time hi, int want_summed)
{
    fold rows, sums;
    fl_store_scan_stats s0, s1;

    scan_fold(dir, col, 0, lo, hi, &rows, &s0);
    scan_fold(dir, col, 1, lo, hi, &sums, &s1);
    CHECK(rows.n > 100);
    CHECK(fold_flows(&rows) > 1000);
    same_folds(&rows, &sums);
    CHECK_EQ_INT(s0.groups_summed, 0);
    if (want_summed) {
        CHECK(s1.groups_summed > 0);
        CHECK(s1.rows < s0.rows); /* fewer rows read than flows */
    } else {
        CHECK_EQ_INT(s1.groups_summed, 0);
    }
    free(rows.v);
    free(sums.v);
}

TEST(sums_equal_rows)
{
    char dir[512];
    fl_store_scan_stats st;
    fold f;

    tu_tmpdir(dir, sizeof dir, "sums");
    build(dir, 1);
    check_sums(dir, FL_COL_SRC_ADDR, 0, 0, 1);
    check_sums(dir, FL_COL_DST_ADDR, 0, 0, 1);
    /* a window that cuts slots 1 and 4: their blocks come back as rows */
    check_sums(dir, FL_COL_SRC_ADDR, T0 + SLOT + SLOT / 2, T0 + 4 * SLOT + SLOT / 3, 1);
    check_sums(dir, FL_COL_DST_ADDR, T0 + SLOT + SLOT / 2, T0 + 4 * SLOT + SLOT / 3, 1);
    /* a window inside one slot: no block lies wholly in it */
    check_sums(dir, FL_COL_SRC_ADDR, T0 + 2 * SLOT + 1000, T0 + 2 * SLOT + 101000, 0);
    /* the sampled slot's blocks have no sums: its segment is read */
    scan_fold(dir, FL_COL_SRC_ADDR, 1, 0, 0, &f, &st);
    CHECK_EQ_INT(st.segments_by_addr, NSLOTS - 1);
    CHECK(st.groups_summed > 0 && st.groups_summed < st.groups);
    free(f.v);
    tu_rmrf(dir);
}

/* The sums by protocol answer a host's statistics by protocol (and
 * exporter) as its rows do: the busy host as source, and as either
 * address (flows to itself, or to its other form, counted once), over
 * the store and a window. */
TEST(host_sums_equal_rows)
{
    char dir[512];
    fold rows, sums;
    fl_store_scan_stats s0, s1;
    static const fl_col keys[] = {FL_COL_PROTO, FL_COL_EXPORTER};

    tu_tmpdir(dir, sizeof dir, "hsums");
    build(dir, 1);
    g_host = "10.0.0.7";
    for (int any = 0; any < 2; any++)
        for (int k = 0; k < 2; k++)
            for (int win = 0; win < 2; win++) {
                fl_time lo = win ? T0 + SLOT / 2 : 0, hi = win ? T0 + 5 * SLOT : 0;
                g_any = any;
                scan_fold(dir, keys[k], 3, lo, hi, &rows, &s0);
                scan_fold(dir, keys[k], 2, lo, hi, &sums, &s1);
                CHECK(rows.n >= 2);
                CHECK(fold_flows(&rows) > 10000);
                same_folds(&rows, &sums);
                CHECK_EQ_INT(s0.groups_summed, 0);
                CHECK(s1.groups_summed > 0);
                CHECK(s1.rows < s0.rows); /* whole blocks of the host as sums */
                free(rows.v);
                free(sums.v);
            }
    tu_rmrf(dir);
}

/* Only a scan with no other term, not exact, not ordered, takes sums. */
TEST(sums_refused)
{
    char dir[512];
    fl_store *s;
    fl_store_scan *sc;
    fl_store_pred p;
    fl_err e;

    tu_tmpdir(dir, sizeof dir, "sumsno");
    build(dir, 1);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    memset(&p, 0, sizeof p);
    p.nranges = 1;
    p.ranges[0] = (fl_store_pred_range){FL_COL_DST_PORT, 443, 443};
    CHECK(fl_store_scan_open(s, NULL, &p, 0, &sc, &e) == FL_OK);
    CHECK_EQ_INT(fl_store_scan_sums(sc, FL_COL_SRC_ADDR, 0, 0), 0);
    fl_store_scan_free(sc);
    CHECK(fl_store_scan_open(s, NULL, NULL, FL_STORE_SCAN_SRC_ORDER, &sc, &e) == FL_OK);
    CHECK_EQ_INT(fl_store_scan_sums(sc, FL_COL_SRC_ADDR, 0, 0), 0);
    fl_store_scan_free(sc);
    CHECK(fl_store_scan_open(s, NULL, NULL, 0, &sc, &e) == FL_OK);
    CHECK_EQ_INT(fl_store_scan_sums(sc, FL_COL_SRC_PORT, 0, 0), 0);
    CHECK_EQ_INT(fl_store_scan_sums(sc, FL_COL_DST_ADDR, 0, 0), 1);
    fl_store_scan_free(sc);
    fl_store_close(s, NULL);
    tu_rmrf(dir);
}

/* Offset of the first block of kind in copy file path (its directory). */
static long first_block_of(const char *path, int kind)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    uint8_t tr[24], *d;
    long off = -1;

    CHECK(fd >= 0 && fstat(fd, &sb) == 0);
    CHECK(pread(fd, tr, 24, sb.st_size - 24) == 24);
    {
        uint64_t doff = 0;
        uint32_t dlen = 0;
        for (int i = 7; i >= 0; i--)
            doff = doff << 8 | tr[i];
        for (int i = 11; i >= 8; i--)
            dlen = dlen << 8 | tr[i];
        d = malloc(dlen);
        CHECK(d != NULL && pread(fd, d, dlen, (off_t)doff) == (ssize_t)dlen);
        for (uint32_t i = 0; (size_t)40 + (i + 1) * 56 <= dlen && off < 0; i++) {
            const uint8_t *q = d + 40 + (size_t)i * 56;
            if ((q[12] | q[13] << 8) == kind) {
                off = 0;
                for (int j = 7; j >= 0; j--)
                    off = off << 8 | q[j];
            }
        }
        free(d);
    }
    close(fd);
    return off;
}

static int g_named;
static void on_report(void *ctx, const char *file, const char *msg)
{
    (void)ctx;
    (void)msg;
    g_named += strstr(file, "-000001.fla") != NULL;
}

/* A sums block whose data is damaged: warned, its rows read from the
 * segment, the same answer; verify --deep names its file. */
TEST(sums_damaged)
{
    char dir[512], seg[600], path[700];
    fl_store *s;
    fl_store_verify_stats vs;
    fl_store_scan_stats st;
    fold rows, sums;
    fl_err e;
    long off;
    int fd;

    tu_tmpdir(dir, sizeof dir, "sumsbad");
    build(dir, 1);
    snprintf(seg, sizeof seg, "%s/seg", dir);
    {
        /* the first slot's copy */
        char name[64];
        snprintf(name, sizeof name, "%013lld-000001.fla", (long long)T0);
        snprintf(path, sizeof path, "%s/%s", seg, name);
    }
    off = first_block_of(path, 4);
    CHECK(off > 0);
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    {
        /* the block's header says where its data starts: past the meta */
        uint8_t h[32], junk[64];
        uint32_t ml;
        CHECK(pread(fd, h, 32, off) == 32);
        ml = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
        memset(junk, 0xa5, sizeof junk);
        CHECK(pwrite(fd, junk, sizeof junk, off + 32 + ml + 8) == (ssize_t)sizeof junk);
    }
    close(fd);
    scan_fold(dir, FL_COL_SRC_ADDR, 0, 0, 0, &rows, &st);
    scan_fold(dir, FL_COL_SRC_ADDR, 1, 0, 0, &sums, &st);
    same_folds(&rows, &sums);
    CHECK(st.warnings >= 1);
    free(rows.v);
    free(sums.v);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    g_named = 0;
    CHECK(fl_store_verify(s, 1, on_report, NULL, &vs, &e) != FL_OK);
    CHECK(vs.problems >= 1);
    CHECK(g_named >= 1);
    fl_store_close(s, NULL);
    tu_rmrf(dir);
}

/* Make the copy at path look made before sums: its directory's flags 0
 * (checksum kept right). */
static void make_old(const char *path)
{
    int fd = open(path, O_RDWR);
    struct stat sb;
    uint8_t tr[24], *d;
    uint64_t doff;
    uint32_t dlen;

    CHECK(fd >= 0 && fstat(fd, &sb) == 0);
    CHECK(pread(fd, tr, 24, sb.st_size - 24) == 24);
    doff = get64(tr);
    dlen = get32(tr + 8);
    d = malloc(dlen);
    CHECK(d != NULL && pread(fd, d, dlen, (off_t)doff) == (ssize_t)dlen);
    put32(d + 12, 0);
    put32(tr + 12, store_crc32c(0, d, dlen));
    CHECK(pwrite(fd, d, dlen, (off_t)doff) == (ssize_t)dlen);
    CHECK(pwrite(fd, tr, 24, sb.st_size - 24) == 24);
    free(d);
    close(fd);
}

static ino_t inode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* A writer's backfill makes again a copy made before sums (its directory
 * says so) or whose directory is damaged, and leaves current ones. */
TEST(sums_backfill_remakes_old_copies)
{
    char dir[512], p1[700], p2[700], p3[700];
    fl_store *s;
    fl_store_opts o;
    fl_err e;
    ino_t i1, i2, i3;
    int more = 1, calls = 0;

    tu_tmpdir(dir, sizeof dir, "sumsold");
    build(dir, 1);
    snprintf(p1, sizeof p1, "%s/seg/%013lld-000001.fla", dir, (long long)T0);
    snprintf(p2, sizeof p2, "%s/seg/%013lld-000001.fla", dir, (long long)(T0 + SLOT));
    snprintf(p3, sizeof p3, "%s/seg/%013lld-000001.fla", dir, (long long)(T0 + 2 * SLOT));
    make_old(p1);
    {
        int fd = open(p2, O_RDWR);
        struct stat sb;
        CHECK(fd >= 0 && fstat(fd, &sb) == 0);
        CHECK(pwrite(fd, "XXXX", 4, sb.st_size - 8) == 4); /* its trailer's magic */
        close(fd);
    }
    i1 = inode_of(p1);
    i2 = inode_of(p2);
    i3 = inode_of(p3);
    CHECK(i1 && i2 && i3);
    fl_store_opts_default(&o);
    o.fsync = 0;
    CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    while (more && calls++ < 20)
        CHECK(fl_store_backfill(s, &more, &e) == FL_OK);
    CHECK_EQ_INT(more, 0);
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK(inode_of(p1) != i1); /* made again (renamed into place) */
    CHECK(inode_of(p2) != i2);
    CHECK(inode_of(p3) == i3); /* current: left */
    {
        fl_store_verify_stats vs;
        CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
        CHECK(fl_store_verify(s, 1, NULL, NULL, &vs, &e) == FL_OK);
        CHECK_EQ_INT(vs.copies, NSLOTS);
        fl_store_close(s, NULL);
    }
    tu_rmrf(dir);
}

int main(void)
{
    RUN(sums_equal_rows);
    RUN(sums_refused);
    RUN(host_sums_equal_rows);
    RUN(sums_damaged);
    RUN(sums_backfill_remakes_old_copies);
    TEST_EXIT();
}
