/*
 * tests/nfdump/test_reader.c — the nfdump reader on hand-built files.
 *
 * Files are assembled here byte by byte from the documented layout 2
 * (file header, block header, V3 records with elements, exporter, sampler,
 * name records, appendix), in either byte order, to pin down what the
 * differential tests against nfdump cannot reach: every error path and its
 * message (file, block, offset), unknown elements skipped by length,
 * malformed records skipped without losing their neighbours, sampling
 * rates, byte-swapped files, the selection's warnings.
 */
#include "nfdump/nfdump.h"
#include "test.h"

#include <stdio.h>
#include <unistd.h>

typedef struct buf {
    uint8_t d[65536];
    size_t n;
    int swap;
} buf;

static void p8(buf *b, uint64_t v)
{
    b->d[b->n++] = (uint8_t)v;
}
static void pn(buf *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        int sh = b->swap ? (bytes - 1 - i) * 8 : i * 8;
        b->d[b->n++] = (uint8_t)(v >> sh);
    }
}
static void p16(buf *b, uint64_t v)
{
    pn(b, v, 2);
}
static void p32(buf *b, uint64_t v)
{
    pn(b, v, 4);
}
static void p64(buf *b, uint64_t v)
{
    pn(b, v, 8);
}
static void patch16(buf *b, size_t at, uint64_t v)
{
    size_t n = b->n;
    b->n = at;
    p16(b, v);
    b->n = n;
}
static void patch32(buf *b, size_t at, uint64_t v)
{
    size_t n = b->n;
    b->n = at;
    p32(b, v);
    b->n = n;
}

/* file header (layout 2); returns nothing, blocks follow at 40 */
static void header(buf *b, unsigned comp, unsigned nblocks, unsigned app_blocks, uint64_t app_off)
{
    b->n = 0;
    p16(b, 0xA50C);
    p16(b, 2);
    p32(b, 0x01070100);
    p64(b, 1714564800);
    p8(b, comp);
    p8(b, 0);
    p16(b, app_blocks);
    p32(b, 0);
    p64(b, app_off);
    p32(b, 5u << 20);
    p32(b, nblocks);
}

static size_t block_begin(buf *b)
{
    size_t at = b->n;
    p32(b, 0);
    p32(b, 0);
    p16(b, 3);
    p16(b, 0);
    return at;
}
static void block_end(buf *b, size_t at, unsigned nrec)
{
    patch32(b, at, nrec);
    patch32(b, at + 4, b->n - at - 12);
}

/* a V3 flow: generic + ipv4 (+ optional extra elements by the caller) */
static size_t v3_begin(buf *b, uint16_t nel, uint16_t sysid, uint8_t flags)
{
    size_t at = b->n;
    p16(b, 11);
    p16(b, 0);
    p16(b, nel);
    p8(b, 7);  /* engine type */
    p8(b, 9);  /* engine id */
    p16(b, sysid);
    p8(b, flags);
    p8(b, 10);
    return at;
}
static void v3_end(buf *b, size_t at)
{
    patch16(b, at + 2, b->n - at);
}
static void el_generic(buf *b, uint64_t first, uint8_t proto, uint16_t sp, uint16_t dp)
{
    p16(b, 1);
    p16(b, 52);
    p64(b, first);
    p64(b, first + 1500);
    p64(b, first + 3000);
    p64(b, 10);   /* packets */
    p64(b, 1000); /* bytes */
    p16(b, sp);
    p16(b, dp);
    p8(b, proto);
    p8(b, 0x12);
    p8(b, 3);
    p8(b, 4);
}
static void el_ipv4(buf *b, uint32_t s, uint32_t d)
{
    p16(b, 2);
    p16(b, 12);
    p32(b, s);
    p32(b, d);
}

static fl_nfdump_file *open_buf(const buf *b, fl_rc want, fl_err *e)
{
    fl_nfdump_file *f = NULL;
    fl_rc rc = fl_nfdump_open_mem(b->d, b->n, "mem.nf", &f, e);
    if (rc != want) {
        snprintf(test_msg, sizeof test_msg, "open: rc %d (%s), wanted %d", rc, e->msg, want);
        fl_nfdump_close(f);
        longjmp(test_jmp, 1);
    }
    return f;
}

static fl_batch *batch;

TEST(bad_magic_named)
{
    buf b = {.n = 0};
    fl_err e;
    header(&b, 0, 0, 0, 0);
    b.d[0] = 0x12;
    open_buf(&b, FL_ECORRUPT, &e);
    CHECK_STR(e.where, "mem.nf");
    CHECK(strstr(e.msg, "not an nfdump file") != NULL);
}

TEST(empty_and_short)
{
    buf b = {.n = 0};
    fl_err e;
    open_buf(&b, FL_ETRUNCATED, &e);
    CHECK(strstr(e.msg, "empty") != NULL);
    header(&b, 0, 0, 0, 0);
    b.n = 20;
    open_buf(&b, FL_ETRUNCATED, &e);
}

TEST(unknown_version_and_encryption)
{
    buf b = {.n = 0};
    fl_err e;
    header(&b, 0, 0, 0, 0);
    b.d[2] = 3;
    open_buf(&b, FL_EVERSION, &e);
    header(&b, 0, 0, 0, 0);
    b.d[17] = 1;
    open_buf(&b, FL_EUNSUPPORTED, &e);
    header(&b, 9, 0, 0, 0);
    open_buf(&b, FL_EUNSUPPORTED, &e);
}

/* two flows around an unknown element, in either byte order */
static void build_basic(buf *b, int swap)
{
    size_t blk, r;
    b->swap = swap;
    header(b, 0, 1, 0, 0);
    blk = block_begin(b);
    /* exporter record: sysid 5, IPv4 192.0.2.9 */
    p16(b, 7);
    p16(b, 32);
    p32(b, 10);
    p64(b, 0);
    p64(b, 0xC0000209);
    p16(b, 2);
    p16(b, 5);
    p32(b, 77);
    /* default sampler of exporter 5: packet 1, space 99 -> 1:100 */
    p16(b, 15);
    p16(b, 24);
    p16(b, 5);
    p16(b, 0);
    p64(b, (uint64_t)-1);
    p32(b, 1);
    p32(b, 99);
    r = v3_begin(b, 3, 5, 0);
    el_generic(b, 1714564800123ULL, 6, 443, 51000);
    p16(b, 200); /* unknown element: skipped by its length */
    p16(b, 10);
    for (int i = 0; i < 6; i++)
        p8(b, 0xEE);
    el_ipv4(b, 0x0A000001, 0x0A000002);
    v3_end(b, r);
    r = v3_begin(b, 2, 5, 2 /* sampled: counters already scaled */);
    el_generic(b, 1714564801000ULL, 1, 0, (8 << 8) | 3);
    el_ipv4(b, 0x0A000003, 0x0A000004);
    v3_end(b, r);
    block_end(b, blk, 4);
}

static void check_basic(const buf *b)
{
    fl_err e;
    fl_nfdump_file *f = open_buf(b, FL_OK, &e);
    const fl_nfdump_exporter *x;
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 2);
    CHECK_EQ_INT(FL_TIMES(batch, FL_COL_TIME_FIRST)[0], 1714564800123LL);
    CHECK_EQ_INT(FL_TIMES(batch, FL_COL_TIME_LAST)[0], 1714564801623LL);
    CHECK_EQ_INT(FL_U16(batch, FL_COL_SRC_PORT)[0], 443);
    CHECK_EQ_INT(FL_U16(batch, FL_COL_DST_PORT)[0], 51000);
    CHECK_EQ_INT(FL_U64(batch, FL_COL_BYTES)[0], 1000);
    CHECK_EQ_INT(FL_U8(batch, FL_COL_TCP_FLAGS)[0], 0x12);
    CHECK_EQ_INT(FL_U8(batch, FL_COL_SRC_TOS)[0], 4);
    CHECK_EQ_INT(fl_addr_v4(FL_ADDRS(batch, FL_COL_DST_ADDR)[0]), 0x0A000002);
    CHECK(fl_addr_is_v4(FL_ADDRS(batch, FL_COL_SRC_ADDR)[0]));
    CHECK_EQ_INT(FL_U16(batch, FL_COL_EXPORTER)[0], 5);
    CHECK_EQ_INT(FL_U8(batch, FL_COL_ENGINE_TYPE)[0], 7);
    CHECK_EQ_INT(FL_U8(batch, FL_COL_ENGINE_ID)[0], 9);
    CHECK_EQ_INT(FL_U32(batch, FL_COL_SAMPLING_RATE)[0], 100);
    CHECK_EQ_INT(FL_U32(batch, FL_COL_SAMPLING_RATE)[1], 1);
    CHECK_EQ_INT(FL_U8(batch, FL_COL_ICMP_TYPE)[1], 8);
    CHECK_EQ_INT(FL_U8(batch, FL_COL_ICMP_CODE)[1], 3);
    CHECK_EQ_INT(FL_U8(batch, FL_COL_ICMP_TYPE)[0], 0);
    x = fl_nfdump_exporter_get(f, 5);
    CHECK(x != NULL);
    CHECK_EQ_INT(fl_addr_v4(x->addr), 0xC0000209);
    CHECK_EQ_INT(x->version, 10);
    CHECK_EQ_INT(x->id, 77);
    CHECK_EQ_INT(fl_nfdump_file_skipped(f), 0);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 0);
    fl_nfdump_close(f);
}

TEST(v3_elements_and_tables)
{
    static buf b;
    build_basic(&b, 0);
    check_basic(&b);
}

TEST(byte_swapped_file_reads_the_same)
{
    static buf b;
    fl_err e;
    fl_nfdump_file *f;
    build_basic(&b, 1);
    check_basic(&b);
    f = open_buf(&b, FL_OK, &e);
    CHECK_EQ_INT(fl_nfdump_file_info(f)->big_endian,
                 __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
    fl_nfdump_close(f);
}

TEST(csv_line_like_nfdump)
{
    static buf b;
    fl_err e;
    char line[1024];
    const char *want;
    fl_nfdump_file *f;
    build_basic(&b, 0);
    f = open_buf(&b, FL_OK, &e);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK(fl_nfdump_csv_row(batch, 1, f, line, sizeof line) > 0);
    want = "2024-05-01 12:00:01,2024-05-01 12:00:02,1.500,10.0.0.3,10.0.0.4,0,2051,"
                    "ICMP,...A..S.,3,4,10,1000,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,"
                    "00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,"
                    "0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,"
                    "    0.000,    0.000,192.0.2.9,7/9,5,2024-05-01 12:00:04.000\n";
    if (strcmp(line, want) != 0)
        printf("got  %swant %s", line, want);
    CHECK(strcmp(line, want) == 0);
    CHECK(fl_nfdump_csv_row(batch, 1, f, line, 40) == 0);
    fl_nfdump_close(f);
}

TEST(bad_element_skips_record_only)
{
    static buf b;
    fl_err e;
    size_t blk, r;
    fl_nfdump_file *f;
    header(&b, 0, 1, 0, 0);
    blk = block_begin(&b);
    r = v3_begin(&b, 2, 1, 0);
    el_generic(&b, 1000, 17, 1, 2);
    p16(&b, 2);
    p16(&b, 200); /* element longer than its record */
    p32(&b, 1);
    p32(&b, 2);
    v3_end(&b, r);
    r = v3_begin(&b, 2, 1, 0);
    el_generic(&b, 2000, 17, 3, 4);
    el_ipv4(&b, 5, 6);
    v3_end(&b, r);
    block_end(&b, blk, 2);
    f = open_buf(&b, FL_OK, &e);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 1);
    CHECK_EQ_INT(FL_U16(batch, FL_COL_SRC_PORT)[0], 3);
    CHECK_EQ_INT(fl_nfdump_file_skipped(f), 1);
    fl_nfdump_close(f);
}

TEST(bad_record_size_names_block)
{
    static buf b;
    fl_err e;
    size_t blk, r;
    fl_nfdump_file *f;
    header(&b, 0, 2, 0, 0);
    blk = block_begin(&b);
    r = v3_begin(&b, 2, 1, 0);
    el_generic(&b, 1000, 17, 1, 2);
    el_ipv4(&b, 5, 6);
    v3_end(&b, r);
    p16(&b, 11);
    p16(&b, 2); /* record size below its own header */
    p32(&b, 0);
    block_end(&b, blk, 2);
    blk = block_begin(&b); /* block 1 is fine */
    r = v3_begin(&b, 2, 1, 0);
    el_generic(&b, 3000, 6, 7, 8);
    el_ipv4(&b, 5, 6);
    v3_end(&b, r);
    block_end(&b, blk, 1);
    f = open_buf(&b, FL_OK, &e);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_ECORRUPT);
    CHECK_EQ_INT(batch->n, 1);
    CHECK_STR(e.where, "mem.nf");
    CHECK(strstr(e.msg, "block 0: record 1") != NULL);
    CHECK_EQ_INT(e.offset, 40);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 1);
    CHECK_EQ_INT(FL_U16(batch, FL_COL_SRC_PORT)[0], 7);
    fl_nfdump_close(f);
}

TEST(truncated_block_names_block)
{
    static buf b;
    fl_err e;
    size_t blk, r;
    fl_nfdump_file *f;
    header(&b, 0, 2, 0, 0);
    for (int k = 0; k < 2; k++) {
        blk = block_begin(&b);
        r = v3_begin(&b, 2, 1, 0);
        el_generic(&b, 1000, 17, 1, 2);
        el_ipv4(&b, 5, 6);
        v3_end(&b, r);
        block_end(&b, blk, 1);
    }
    b.n -= 10;
    f = open_buf(&b, FL_OK, &e);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_ETRUNCATED);
    CHECK_EQ_INT(batch->n, 1);
    CHECK(strstr(e.msg, "block 1: truncated") != NULL);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 0);
    fl_nfdump_close(f);
}

TEST(corrupt_compressed_block_skipped)
{
    static buf b;
    fl_err e;
    size_t blk, r;
    fl_nfdump_file *f;
    header(&b, 3 /* LZ4 */, 1, 0, 0);
    blk = block_begin(&b);
    for (int i = 0; i < 40; i++)
        p8(&b, 0xF0 | (unsigned)i);
    block_end(&b, blk, 1);
    (void)r;
    f = open_buf(&b, FL_OK, &e);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_ECORRUPT);
    CHECK(strstr(e.msg, "block 0: LZ4 decompression failed") != NULL);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 0);
    fl_nfdump_close(f);
}

TEST(appendix_and_names)
{
    static buf b;
    fl_err e;
    size_t blk, app;
    fl_nfdump_file *f;
    const fl_nfdump_info *in;
    header(&b, 0, 1, 1, 0);
    blk = block_begin(&b);
    p16(&b, 13); /* interface names: 2 elements of 4 + 12 bytes */
    p16(&b, 12 + 2 * 16);
    p16(&b, 2);
    p16(&b, 16);
    p32(&b, 12);
    p32(&b, 3);
    memcpy(b.d + b.n, "ge-0/0/3\0\0\0\0", 12);
    b.n += 12;
    p32(&b, 4);
    memcpy(b.d + b.n, "twelve-chars", 12); /* no NUL: stays bounded */
    b.n += 12;
    block_end(&b, blk, 1);
    app = b.n;
    blk = block_begin(&b);
    p16(&b, 0x8001);
    p16(&b, 4 + 8);
    memcpy(b.d + b.n, "archive\0", 8);
    b.n += 8;
    p16(&b, 0x8002);
    p16(&b, 4 + 18 * 8);
    for (int i = 0; i < 18; i++)
        p64(&b, i == 0 ? 42 : i == 15 ? 1714564800000ULL : 0);
    block_end(&b, blk, 2);
    patch32(&b, 24, app); /* offAppendix (little-endian host) */
    f = open_buf(&b, FL_OK, &e);
    in = fl_nfdump_file_info(f);
    CHECK_STR(in->ident, "archive");
    CHECK(in->has_stat);
    CHECK_EQ_INT(in->stat_flows, 42);
    CHECK_EQ_INT(in->stat_first, 1714564800000LL);
    CHECK(!in->appendix_bad);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 0);
    CHECK_STR(fl_nfdump_ifname(f, 3), "ge-0/0/3");
    CHECK_STR(fl_nfdump_ifname(f, 4), "twelve-chars");
    CHECK(fl_nfdump_ifname(f, 5) == NULL);
    fl_nfdump_close(f);
}

/* blocks: good, bad record size, other type, good, truncated */
static void build_multi(buf *b)
{
    size_t blk, r;
    header(b, 0, 5, 0, 0);
    for (int k = 0; k < 5; k++) {
        blk = block_begin(b);
        if (k == 2) {
            patch16(b, blk + 8, 4); /* a block type without flows */
            p32(b, 0);
            block_end(b, blk, 1);
            continue;
        }
        r = v3_begin(b, 2, 1, 0);
        el_generic(b, 1000, 17, (uint16_t)(100 + k), 2);
        el_ipv4(b, 5, 6);
        v3_end(b, r);
        if (k == 1) {
            p16(b, 11);
            p16(b, 1);
        }
        block_end(b, blk, k == 1 ? 2 : 1);
    }
    b->n -= 5;
}

static void check_multi(fl_nfdump_file *f)
{
    fl_err e;
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_ECORRUPT);
    CHECK(strstr(e.msg, "block 1: record 1") != NULL);
    CHECK_EQ_INT(batch->n, 2);
    CHECK_EQ_INT(FL_U16(batch, FL_COL_SRC_PORT)[0], 100);
    CHECK_EQ_INT(FL_U16(batch, FL_COL_SRC_PORT)[1], 101);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_ETRUNCATED);
    CHECK(strstr(e.msg, "block 4: truncated") != NULL);
    CHECK_EQ_INT(batch->n, 1);
    CHECK_EQ_INT(FL_U16(batch, FL_COL_SRC_PORT)[0], 103);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 0);
    CHECK_EQ_INT(fl_nfdump_read(f, batch, &e), FL_OK);
    CHECK_EQ_INT(batch->n, 0);
}

TEST(multi_block_errors_in_memory_and_with_read_ahead)
{
    static buf b;
    char path[] = "/tmp/fl_nfdump_multi_XXXXXX";
    fl_nfdump_file *f;
    fl_err e;
    int fd;
    build_multi(&b);
    f = open_buf(&b, FL_OK, &e);
    check_multi(f);
    fl_nfdump_close(f);
    fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, b.d, b.n) == (ssize_t)b.n);
    close(fd);
    CHECK_EQ_INT(fl_nfdump_open(path, &f, &e), FL_OK); /* >= 2 blocks: read-ahead thread */
    check_multi(f);
    fl_nfdump_close(f);
    /* closing while the read-ahead thread still has blocks to load */
    CHECK_EQ_INT(fl_nfdump_open(path, &f, &e), FL_OK);
    fl_nfdump_close(f);
    unlink(path);
}

typedef struct wcount {
    int n;
    char last[600];
} wcount;

static void on_warn(void *ctx, const fl_err *w)
{
    wcount *c = ctx;
    c->n++;
    fl_err_format(w, c->last, sizeof c->last);
}

TEST(selection_reports_missing_and_goes_on)
{
    static buf b;
    char dir[] = "/tmp/fl_nfdump_sel_XXXXXX", path[256];
    fl_nfdump_sel *s = NULL;
    fl_nfdump_spec spec = {NULL, NULL, NULL};
    wcount wc = {0, ""};
    fl_err e;
    FILE *fp;
    uint64_t total = 0;
    CHECK(mkdtemp(dir) != NULL);
    build_basic(&b, 0);
    snprintf(path, sizeof path, "%s/nfcapd.202405010000", dir);
    fp = fopen(path, "wb");
    CHECK(fp != NULL);
    fwrite(b.d, 1, b.n, fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/nfcapd.202405010010", dir);
    fp = fopen(path, "wb");
    fwrite(b.d, 1, b.n, fp);
    fclose(fp);
    /* range whose first file is missing (...0005 does not exist as first) */
    snprintf(path, sizeof path, "%s/nfcapd.202405010005:nfcapd.202405010010", dir);
    spec.range = path;
    CHECK_EQ_INT(fl_nfdump_select(&spec, on_warn, &wc, &s, &e), FL_OK);
    CHECK_EQ_INT(fl_nfdump_sel_count(s), 2);
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(fl_nfdump_sel_next(s, batch, &e), FL_OK);
        if (batch->n == 0)
            break;
        CHECK(fl_nfdump_sel_file(s) != NULL);
        total += batch->n;
    }
    CHECK_EQ_INT(total, 2);
    CHECK_EQ_INT(wc.n, 1);
    CHECK(strstr(wc.last, "nfcapd.202405010005") != NULL);
    fl_nfdump_sel_free(s);
    s = NULL;
    spec.read = path; /* both -r and -R: refused */
    CHECK_EQ_INT(fl_nfdump_select(&spec, NULL, NULL, &s, &e), FL_EINVAL);
    spec.read = NULL;
    spec.range = "a:b:c";
    CHECK_EQ_INT(fl_nfdump_select(&spec, NULL, NULL, &s, &e), FL_EINVAL);
    snprintf(path, sizeof path, "%s/nfcapd.202405010000", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/nfcapd.202405010010", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    batch = fl_batch_new(64);
    RUN(bad_magic_named);
    RUN(empty_and_short);
    RUN(unknown_version_and_encryption);
    RUN(v3_elements_and_tables);
    RUN(byte_swapped_file_reads_the_same);
    RUN(csv_line_like_nfdump);
    RUN(bad_element_skips_record_only);
    RUN(bad_record_size_names_block);
    RUN(truncated_block_names_block);
    RUN(corrupt_compressed_block_skipped);
    RUN(appendix_and_names);
    RUN(multi_block_errors_in_memory_and_with_read_ahead);
    RUN(selection_reports_missing_and_goes_on);
    fl_batch_free(batch);
    TEST_EXIT();
}
