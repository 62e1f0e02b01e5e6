/*
 * tests/store/test_store_aset.c — address pushdown never loses a row.
 *
 * A store whose slots each hold one address "theme" — IPv4 (stored
 * ::ffff:a.b.c.d), IPv4-compatible IPv6 ::a.b.c.d, IPv6 hosts of one /48,
 * IPv6 spread over one /48's /64s, IPv6 inside ::/80 but outside ::/96
 * mixed with IPv4, and the zero address in both forms — is queried with
 * host/net/ip-list filters of many prefix lengths (longer and shorter
 * than the blooms' /24 and /48 networks, ::/80, ::/96, ::ffff:0:0/96,
 * ::a.b.c.d hosts). For each, the filter's address terms
 * (fl_filter_addr_terms) become the scan's either-form address sets, and
 * the rows the filter selects from the pruned scan must equal those it
 * selects from a full scan — the oracle is the filter itself, so the
 * pushdown is checked against exactly the semantics it must preserve.
 * Row groups must also be skipped where nothing can match.
 *
 * Every closed segment also has a by-address copy (store/byaddr.c): the
 * same filters through the copies (FL_STORE_SCAN_ANY_ORDER) must select
 * the same rows with the same values, each once — flows whose src and
 * dst both match included — and a missing, stale or damaged copy must
 * leave the answer as it is.
 */
#include "filter/filter.h"
#include "store/store.h"
#include "store_test_util.h"
#include "test.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 ((fl_time)1714564800000LL)
#define SLOT ((fl_time)300000)
#define NSLOTS 60
#define ROWS_PER_SLOT 3000

static char g_dir[512];

static fl_addr v6(uint64_t hi, uint64_t lo) { return (fl_addr){hi, lo}; }

/* Address of row i in a slot of theme th (salt varies src/dst). */
static fl_addr theme_addr(int th, int k, uint64_t i, uint64_t salt)
{
    uint64_t r = tu_mix(i * 7919 + salt);
    uint32_t net = (uint32_t)(k % 4);

    switch (th) {
    case 0: /* IPv4 10.<k%4>.x.y; some rows the probe host 10.1.2.3 */
        if (i % 997 == 0 && net == 1)
            return fl_addr_from_v4(0x0a010203u);
        return fl_addr_from_v4(0x0a000000u | net << 16 | (uint32_t)(r & 0xffff));
    case 1: /* IPv4-compatible ::10.<k%4>.x.y */
        if (i % 991 == 0 && net == 1)
            return v6(0, 0x0a010203u);
        return v6(0, 0x0a000000u | net << 16 | (r & 0xffff));
    case 2: /* hosts of 2001:db8:<k%5>::/48 */
        if (i % 983 == 0 && k % 5 == 2)
            return v6(0x20010db800020000ULL, 7);
        return v6(0x20010db800000000ULL | (uint64_t)(k % 5) << 16, 1 + (r & 0xff));
    case 3: /* one /48, many /64s and hosts */
        return v6(0x20010db800000000ULL | (uint64_t)(k % 5) << 16 | (r & 0xff),
                  r >> 8 & 0xffff);
    case 4: /* ::/80 outside ::/96 (::1:0:x .. ::3:0:x), half IPv4 */
        if (r & 1)
            return fl_addr_from_v4(0x0a000000u | net << 16 | (uint32_t)(r >> 1 & 0xff));
        return v6(0, (1 + r % 3) << 32 | (r >> 8 & 0xffff));
    default: /* the zero address in both forms */
        return (r & 1) ? v6(0, 0) : fl_addr_from_v4(0);
    }
}

static void build_store(void)
{
    fl_batch *b = fl_batch_new(ROWS_PER_SLOT);
    fl_store *s;
    fl_store_opts o;
    fl_err e;

    fl_store_opts_default(&o);
    o.fsync = 0;
    tu_tmpdir(g_dir, sizeof g_dir, "aset");
    if (b == NULL || fl_store_open(g_dir, &o, FL_STORE_WRITE, &s, &e) != FL_OK)
        exit(2);
    for (int k = 0; k < NSLOTS; k++) {
        fl_batch_clear(b);
        for (uint32_t i = 0; i < ROWS_PER_SLOT; i++) {
            FL_TIMES(b, FL_COL_TIME_FIRST)[i] = T0 + k * SLOT + i;
            FL_TIMES(b, FL_COL_TIME_LAST)[i] = T0 + k * SLOT + i + 10;
            FL_ADDRS(b, FL_COL_SRC_ADDR)[i] = theme_addr(k % 6, k, i, 1);
            FL_ADDRS(b, FL_COL_DST_ADDR)[i] = theme_addr((k + 3) % 6, k, i, 2);
            if (i % 101 == 0 && k % 6 == 0) /* src and dst the same: found under both */
                FL_ADDRS(b, FL_COL_DST_ADDR)[i] = FL_ADDRS(b, FL_COL_SRC_ADDR)[i];
            FL_U64(b, FL_COL_PACKETS)[i] = 1;
            FL_U64(b, FL_COL_BYTES)[i] = 100 + i;
        }
        b->n = ROWS_PER_SLOT;
        fl_batch_mark(b, FL_COL_TIME_FIRST);
        fl_batch_mark(b, FL_COL_TIME_LAST);
        fl_batch_mark(b, FL_COL_SRC_ADDR);
        fl_batch_mark(b, FL_COL_DST_ADDR);
        fl_batch_mark(b, FL_COL_PACKETS);
        fl_batch_mark(b, FL_COL_BYTES);
        if (fl_store_append(s, b, &e) != FL_OK)
            exit(2);
    }
    if (fl_store_close(s, &e) != FL_OK)
        exit(2);
    fl_batch_free(b);
}

/* The filter's address terms as the scan's address sets (what
 * cli_store_pred does). */
static void pred_of(const fl_filter *f, fl_store_pred *p)
{
    fl_filter_aterm t[FL_STORE_PRED_ASETS];
    size_t n = fl_filter_addr_terms(f, t, FL_STORE_PRED_ASETS, NULL);

    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        fl_store_pred_aset *a = &p->asets[p->nasets];
        if (t[i].n == 0 || t[i].n > FL_STORE_ASET_MAX)
            continue;
        a->col = t[i].ncols == 2 ? FL_STORE_ANY_ADDR : (int)t[i].col[0];
        a->n = t[i].n;
        memcpy(a->lo, t[i].lo, sizeof(fl_addr) * a->n);
        memcpy(a->hi, t[i].hi, sizeof(fl_addr) * a->n);
        p->nasets++;
    }
}

/* Rows the filter selects from a scan with pred (NULL = full scan); *sum
 * (when not NULL) gets a checksum of their values, so an exact scan that
 * decodes only the rows it keeps must also decode them right, and *sum_na
 * (when not NULL) the same without the addresses. exact 1: an exact scan;
 * 2: an exact scan asked for no address column whose rows are taken as
 * they come, without the filter (what `flowlens query` does when
 * fl_filter_addr_exact says the scan applies the whole filter); | COPY:
 * in any order, so through the by-address copies. */
#define COPY 4
static uint64_t count_sum2(fl_filter *f, const fl_store_pred *pred, int exact,
                           fl_store_scan_stats *st, uint64_t *sum, uint64_t *sum_na)
{
    fl_store *s;
    fl_store_scan *sc;
    fl_sel *sel = fl_sel_new(FL_STORE_GROUP_ROWS);
    fl_batch *b;
    uint64_t n = 0;
    fl_err e;

    CHECK(sel != NULL);
    CHECK(fl_store_open(g_dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    uint64_t cols[FL_PRESENT_WORDS] = {0};
    const fl_col noaddr[] = {FL_COL_TIME_FIRST, FL_COL_TIME_LAST, FL_COL_BYTES, FL_COL_PACKETS};

    for (size_t i = 0; i < sizeof noaddr / sizeof noaddr[0]; i++)
        cols[noaddr[i] / 64] |= (uint64_t)1 << (noaddr[i] % 64);
    CHECK(fl_store_scan_open(s, (exact & 3) == 2 ? cols : NULL, pred,
                             (exact ? FL_STORE_SCAN_EXACT : 0) |
                                 (exact & COPY ? FL_STORE_SCAN_ANY_ORDER : 0),
                             &sc, &e) == FL_OK);
    for (int guard = 0; guard < 100000; guard++) {
        CHECK(fl_store_scan_next(sc, &b, &e) == FL_OK);
        if (b == NULL)
            break;
        fl_sel_all(sel, b);
        if ((exact & 3) != 2)
            CHECK(fl_filter_select(f, b, sel, &e) == FL_OK);
        n += sel->n;
        for (uint32_t i = 0; i < sel->n; i++) {
            uint32_t r = sel->idx[i];
            uint64_t v = tu_mix((uint64_t)FL_TIMES(b, FL_COL_TIME_FIRST)[r] ^
                                tu_mix((uint64_t)FL_TIMES(b, FL_COL_TIME_LAST)[r]) ^
                                tu_mix(FL_U64(b, FL_COL_BYTES)[r] * 3 + FL_U64(b, FL_COL_PACKETS)[r]));
            fl_addr sa = FL_ADDRS(b, FL_COL_SRC_ADDR)[r], da = FL_ADDRS(b, FL_COL_DST_ADDR)[r];
            if (sum_na)
                *sum_na += v;
            if (sum)
                *sum += v ^ tu_mix(sa.hi ^ tu_mix(sa.lo)) ^ tu_mix(da.hi * 5 ^ tu_mix(da.lo * 7));
        }
    }
    fl_store_scan_get_stats(sc, st);
    fl_store_scan_free(sc);
    fl_store_close(s, NULL);
    fl_sel_free(sel);
    return n;
}

static uint64_t count_sum(fl_filter *f, const fl_store_pred *pred, int exact,
                          fl_store_scan_stats *st, uint64_t *sum)
{
    return count_sum2(f, pred, exact, st, sum, NULL);
}

static uint64_t count(fl_filter *f, const fl_store_pred *pred, int exact,
                      fl_store_scan_stats *st)
{
    return count_sum2(f, pred, exact, st, NULL, NULL);
}

static const char *const filters[] = {
    "host 10.1.2.3",
    "src host 10.1.2.3",
    "net 10.1.2.0/24",
    "net 10.1.2.0/28",
    "net 10.1.0.0/16",
    "net 10.0.0.0/8",
    "net 10.0.0.0/14",
    "host ::10.1.2.3",
    "net ::10.1.0.0/112",
    "host ::ffff:10.1.2.3",
    "net ::ffff:0:0/96",
    "net ::/96",
    "net ::/80",
    "net ::/64",
    "net ::/0",
    "net ::1:0:0/96",
    "net ::2:0:0/100",
    "host 0.0.0.0",
    "host ::",
    "net 2001:db8::/32",
    "net 2001:db8:2::/48",
    "net 2001:db8:2::/47",
    "net 2001:db8:2::/56",
    "net 2001:db8:2::/64",
    "net 2001:db8:2::/80",
    "net 2001:db8:2::/120",
    "host 2001:db8:2::7",
    "src net 2001:db8:3::/100",
    "dst net 2001:db8:1:5::/64",
    "ip in [10.1.2.3 2001:db8:2::7 ::10.3.0.1]",
    /* more intervals than an IPv4 chunk tests in one pass */
    "ip in [10.1.2.3 10.1.0.7 10.1.1.1 10.1.3.3 10.1.4.4 10.1.5.5 10.1.6.6 10.1.7.7 "
    "10.1.8.8 10.1.9.9 10.1.10.10 10.1.11.11 10.1.12.12 10.1.13.13 10.1.14.14 10.1.15.15 "
    "10.1.16.16 10.1.17.17 10.1.18.18 10.0.1.1 ::10.1.2.3 2001:db8:2::7 0.0.0.0]",
    "src ip in [10.1.0.0/24 10.1.1.0/24 10.1.2.0/24 10.1.3.0/24 10.2.0.0/25 10.3.0.0/26 "
    "10.0.0.0/27 10.0.1.0/28 ::/120]",
    "host 10.1.2.3 or host 2001:db8:4::1",
    "host 10.1.2.3 or proto 17",
    "src net 10.1.0.0/16 and dst net 2001:db8::/32",
    "src host 10.1.2.3 or dst net ::/80",
    "not host 10.1.2.3",
    "host 10.1.2.3 and not net 10.1.2.0/24",
    "host 198.51.100.7",
    "host 2001:db8:77::1",
    "net 192.0.2.0/24 or net 2001:db8:99::/48",
};

TEST(aset_no_row_lost)
{
    size_t nf = sizeof filters / sizeof filters[0];
    int exact_filters = 0, copied = 0;

    for (size_t i = 0; i < nf; i++) {
        fl_filter *f = NULL;
        fl_store_pred p;
        fl_store_scan_stats full, pruned, ex;
        fl_err e;
        uint64_t want, got, got_exact, sum_want = 0, sum_exact = 0, na_want = 0;

        if (fl_filter_compile(filters[i], strlen(filters[i]), NULL, &f, &e) != FL_OK) {
            snprintf(test_msg, sizeof test_msg, "filter '%s' does not compile", filters[i]);
            longjmp(test_jmp, 1);
        }
        pred_of(f, &p);
        want = count_sum2(f, NULL, 0, &full, &sum_want, &na_want);
        got = count(f, &p, 0, &pruned);
        got_exact = count_sum(f, &p, 1, &ex, &sum_exact);
        if (p.nasets > 0) {
            fl_store_scan_stats cp;
            uint64_t sum_copy = 0, got_copy = count_sum(f, &p, 1 | COPY, &cp, &sum_copy);
            if (got_copy != want || sum_copy != sum_want || cp.warnings != 0) {
                snprintf(test_msg, sizeof test_msg,
                         "'%s': %llu rows through the copies, %llu without (values %s, %llu "
                         "warnings)",
                         filters[i], (unsigned long long)got_copy, (unsigned long long)want,
                         sum_copy == sum_want ? "equal" : "DIFFER",
                         (unsigned long long)cp.warnings);
                fl_filter_free(f);
                longjmp(test_jmp, 1);
            }
            /* every term here is on src, dst or either: the copies drive */
            CHECK_EQ_INT(cp.segments_by_addr, NSLOTS);
            copied++;
        }
        if (got != want || got_exact != want || sum_exact != sum_want) {
            snprintf(test_msg, sizeof test_msg,
                     "'%s': %llu rows with pushdown, %llu exact, %llu without (values %s)",
                     filters[i], (unsigned long long)got, (unsigned long long)got_exact,
                     (unsigned long long)want, sum_exact == sum_want ? "equal" : "DIFFER");
            fl_filter_free(f);
            longjmp(test_jmp, 1);
        }
        /* a filter the scan applies whole: its rows alone, no address
         * built, are the filter's rows */
        if (p.nasets > 0 && fl_filter_addr_exact(f) == (int)p.nasets) {
            uint64_t na = 0, alone = count_sum2(f, &p, 2, &ex, NULL, &na);
            uint64_t na_copy = 0, alone_copy = count_sum2(f, &p, 2 | COPY, &ex, NULL, &na_copy);
            exact_filters++;
            if (alone != want || na != na_want || alone_copy != want || na_copy != na_want) {
                snprintf(test_msg, sizeof test_msg,
                         "'%s': the exact scan alone gives %llu rows (through the copies "
                         "%llu), the filter %llu (values %s)",
                         filters[i], (unsigned long long)alone, (unsigned long long)alone_copy,
                         (unsigned long long)want,
                         na == na_want && na_copy == na_want ? "equal" : "DIFFER");
                fl_filter_free(f);
                longjmp(test_jmp, 1);
            }
        }
        fl_filter_free(f);
    }
    /* most of the list is host/net/ip-list conjunctions */
    CHECK(exact_filters >= 30);
    CHECK(copied >= 35);
}

/* Pruning happens where it can, and the terms say what they should. */
TEST(aset_prunes)
{
    static const struct {
        const char *f;
        int min_pruned; /* of NSLOTS groups */
    } cases[] = {
        {"host 10.1.2.3", 40},        /* only the slots of themes 0/1 with net 1 */
        {"host 198.51.100.7", 58},
        {"net 2001:db8:2::/48", 40},
        {"host 2001:db8:2::7", 40},
        {"net 2001:db8:2::/80", 40},
        {"src net 10.1.0.0/16 and dst net 2001:db8::/32", 30},
        {"host 2001:db8:77::1", 55},
        /* the ::192.0.2.0/24 form nfdump also matches lies in ::/48, which
         * the blooms of the zero address's slots hold: those 20 stay */
        {"net 192.0.2.0/24 or net 2001:db8:99::/48", 38},
        {"host ::10.1.2.3", 40},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fl_filter *f = NULL;
        fl_store_pred p;
        fl_store_scan_stats st;
        fl_err e;
        CHECK(fl_filter_compile(cases[i].f, strlen(cases[i].f), NULL, &f, &e) == FL_OK);
        pred_of(f, &p);
        CHECK(p.nasets >= 1);
        (void)count(f, &p, 0, &st);
        fl_filter_free(f);
        if ((int)st.groups_pruned < cases[i].min_pruned) {
            snprintf(test_msg, sizeof test_msg, "'%s': %llu of %llu groups skipped, want >= %d",
                     cases[i].f, (unsigned long long)st.groups_pruned,
                     (unsigned long long)st.groups, cases[i].min_pruned);
            longjmp(test_jmp, 1);
        }
    }
}

TEST(aset_terms)
{
    fl_filter *f = NULL;
    fl_filter_aterm t[4];
    fl_err e;
    size_t n;
    int never;

    /* host: one term over src or dst, the IPv4 host as ::a.b.c.d */
    CHECK(fl_filter_compile("host 10.1.2.3", 13, NULL, &f, &e) == FL_OK);
    n = fl_filter_addr_terms(f, t, 4, &never);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(t[0].ncols, 2);
    CHECK_EQ_INT(t[0].n, 1);
    CHECK(t[0].lo[0].hi == 0 && t[0].lo[0].lo == 0x0a010203u);
    CHECK(t[0].hi[0].hi == 0 && t[0].hi[0].lo == 0x0a010203u);
    CHECK_EQ_INT(fl_filter_addr_exact(f), 1);
    fl_filter_free(f);
    {
        /* which filters the scan applies whole */
        static const struct {
            const char *f;
            int terms;
        } ex[] = {
            {"ip in [10.1.2.3 2001:db8:2::7]", 1},
            {"src net 10.1.0.0/16 and dst net 2001:db8::/32", 2},
            {"src host 10.1.2.3 or src host 10.1.2.4", 1},
            {"host 10.1.2.3 or proto 17", 0},
            {"not host 10.1.2.3", 0},
            {"src host 10.1.2.3 or dst net ::/80", 0}, /* the term joins both sides */
            {"host 10.1.2.3 and proto 6", 0},
            {"src host 10.1.2.3 or next ip 10.1.2.3", 0},
        };
        for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
            CHECK(fl_filter_compile(ex[i].f, strlen(ex[i].f), NULL, &f, &e) == FL_OK);
            if (fl_filter_addr_exact(f) != ex[i].terms) {
                snprintf(test_msg, sizeof test_msg, "'%s': exact %d, want %d", ex[i].f,
                         fl_filter_addr_exact(f), ex[i].terms);
                fl_filter_free(f);
                longjmp(test_jmp, 1);
            }
            fl_filter_free(f);
        }
    }
    /* an OR with an unconstrained side, and NOT, give nothing */
    CHECK(fl_filter_compile("host 10.1.2.3 or proto 17", 25, NULL, &f, &e) == FL_OK);
    CHECK_EQ_INT(fl_filter_addr_terms(f, t, 4, NULL), 0);
    fl_filter_free(f);
    CHECK(fl_filter_compile("not host 10.1.2.3", 17, NULL, &f, &e) == FL_OK);
    CHECK_EQ_INT(fl_filter_addr_terms(f, t, 4, NULL), 0);
    fl_filter_free(f);
    /* AND keeps both sides' terms */
    CHECK(fl_filter_compile("src net 10.0.0.0/8 and dst host 2001:db8::1", 43, NULL, &f, &e) ==
          FL_OK);
    CHECK_EQ_INT(fl_filter_addr_terms(f, t, 4, NULL), 2);
    fl_filter_free(f);
    /* a long list is coalesced, still covering every host */
    {
        char buf[8192];
        size_t off = 0;
        off += (size_t)snprintf(buf + off, sizeof buf - off, "ip in [");
        for (int i = 0; i < 300; i++)
            off += (size_t)snprintf(buf + off, sizeof buf - off, "10.%d.%d.1 ", i / 200, i % 200 * 1);
        off += (size_t)snprintf(buf + off, sizeof buf - off, "]");
        CHECK(fl_filter_compile(buf, off, NULL, &f, &e) == FL_OK);
        n = fl_filter_addr_terms(f, t, 4, NULL);
        CHECK_EQ_INT(n, 1);
        CHECK(t[0].n <= FL_FILTER_ATERM_MAX);
        for (int i = 0; i < 300; i++) {
            fl_addr a = {0, 0x0a000001u | (uint64_t)(i / 200) << 16 | (uint64_t)(i % 200) << 8};
            int in = 0;
            for (uint32_t j = 0; j < t[0].n; j++)
                in |= fl_addr_cmp(t[0].lo[j], a) <= 0 && fl_addr_cmp(a, t[0].hi[j]) <= 0;
            CHECK(in);
        }
        fl_filter_free(f);
    }
}

/* The stored-form prefix terms (fl_store_pred_addr) too: a prefix of
 * ::/48 covers IPv4-mapped rows, whose blooms hold /24 networks, not
 * ::/48 — the scan must not probe the /48 for them. */
TEST(addr_prefix_over_mapped)
{
    static const char *const pf[] = {"::/80", "::/64", "::/50", "::ffff:10.1.0.0/112", "::/100"};
    for (size_t i = 0; i < sizeof pf / sizeof pf[0]; i++) {
        fl_store *s;
        fl_store_scan *sc;
        fl_store_pred p;
        fl_batch *b;
        fl_err e;
        uint64_t want = 0, got = 0;
        memset(&p, 0, sizeof p);
        p.naddrs = 1;
        p.addrs[0].col = FL_STORE_ANY_ADDR;
        CHECK(fl_prefix_parse(pf[i], strlen(pf[i]), 0, &p.addrs[0].prefix, &e) == FL_OK);
        CHECK(fl_store_open(g_dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
        for (int pass = 0; pass < 2; pass++) {
            CHECK(fl_store_scan_open(s, NULL, pass ? &p : NULL, pass ? FL_STORE_SCAN_EXACT : 0,
                                     &sc, &e) == FL_OK);
            for (int guard = 0; guard < 100000; guard++) {
                CHECK(fl_store_scan_next(sc, &b, &e) == FL_OK);
                if (b == NULL)
                    break;
                for (uint32_t r = 0; r < b->n; r++)
                    if (pass)
                        got++;
                    else
                        want += fl_prefix_contains(&p.addrs[0].prefix,
                                                   FL_ADDRS(b, FL_COL_SRC_ADDR)[r]) ||
                                fl_prefix_contains(&p.addrs[0].prefix,
                                                   FL_ADDRS(b, FL_COL_DST_ADDR)[r]);
            }
            fl_store_scan_free(sc);
        }
        fl_store_close(s, NULL);
        if (want == 0 || got != want) {
            snprintf(test_msg, sizeof test_msg, "prefix %s: %llu rows, want %llu", pf[i],
                     (unsigned long long)got, (unsigned long long)want);
            longjmp(test_jmp, 1);
        }
    }
}

/* Path of the copy of the k-th slot (closed segments are SLOT-000001). */
static void copy_path(char *buf, size_t len, int k, const char *ext)
{
    snprintf(buf, len, "%s/seg/%013lld-%06u%s", g_dir, (long long)(T0 + k * SLOT), 1u, ext);
}

static size_t slurp(const char *path, uint8_t **out)
{
    FILE *fp = fopen(path, "rb");
    long n;
    CHECK(fp != NULL);
    CHECK(fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0);
    rewind(fp);
    *out = malloc((size_t)n);
    CHECK(*out != NULL && fread(*out, 1, (size_t)n, fp) == (size_t)n);
    fclose(fp);
    return (size_t)n;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL && fwrite(p, 1, n, fp) == n);
    fclose(fp);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Flip a bit in a chunk of the first block of copy image bad (n bytes):
 * past the block's header and metadata (the directory at the offset the
 * trailer gives; entry 0's block). */
static void damage_first_block(uint8_t *bad, size_t n)
{
    uint64_t doff = le64(bad + n - 24), boff = le64(bad + doff + 40);
    uint64_t data = boff + 32 + (uint32_t)le64(bad + boff + 4);

    CHECK(data + 16 < doff);
    bad[data + 9] ^= 0x10;
}

/* A copy that is missing, belongs to another segment, has a damaged
 * directory or is cut short is not used: the segment is read instead
 * (warned, but for a missing one), and the answer stays the same. A copy
 * whose block holds a damaged chunk is used, and that block's rows are
 * read from the segment. */
TEST(copy_fallback)
{
    const char *flt = "net 10.0.0.0/8";
    char p6[600], p7[600], pf6[600];
    uint8_t *orig, *other;
    size_t n6, n7;
    fl_filter *f = NULL;
    fl_store_pred p;
    fl_store_scan_stats st;
    fl_err e;
    uint64_t want, sum_want = 0;

    CHECK(fl_filter_compile(flt, strlen(flt), NULL, &f, &e) == FL_OK);
    pred_of(f, &p);
    want = count_sum(f, NULL, 0, &st, &sum_want);
    CHECK(want > 0);
    copy_path(p6, sizeof p6, 6, ".fla");
    copy_path(p7, sizeof p7, 7, ".fla");
    copy_path(pf6, sizeof pf6, 6, ".fls");
    n6 = slurp(p6, &orig);
    n7 = slurp(p7, &other);
    for (int c = 0; c < 6; c++) {
        uint64_t sum = 0, got;
        uint8_t *bad = malloc(n6 + 1);
        CHECK(bad != NULL);
        memcpy(bad, orig, n6);
        switch (c) {
        case 0: /* missing */
            CHECK(unlink(p6) == 0);
            break;
        case 1: /* another segment's */
            spit(p6, other, n7);
            break;
        case 2: /* a directory entry damaged */
            bad[n6 - 24 - 48 + 20] ^= 0x40;
            spit(p6, bad, n6);
            break;
        case 3: /* cut short */
            spit(p6, bad, n6 / 2);
            break;
        case 4: /* its header damaged */
            bad[3] ^= 1;
            spit(p6, bad, n6);
            break;
        default: /* a chunk of the first block */
            damage_first_block(bad, n6);
            spit(p6, bad, n6);
            break;
        }
        got = count_sum(f, &p, 1 | COPY, &st, &sum);
        free(bad);
        if (got != want || sum != sum_want ||
            st.segments_by_addr != (uint64_t)(c == 5 ? NSLOTS : NSLOTS - 1) ||
            (c == 0) != (st.warnings == 0)) {
            snprintf(test_msg, sizeof test_msg,
                     "case %d: %llu rows (want %llu, values %s), %llu segments by copy, %llu "
                     "warnings",
                     c, (unsigned long long)got, (unsigned long long)want,
                     sum == sum_want ? "equal" : "DIFFER",
                     (unsigned long long)st.segments_by_addr, (unsigned long long)st.warnings);
            spit(p6, orig, n6);
            longjmp(test_jmp, 1);
        }
    }
    spit(p6, orig, n6);
    CHECK_EQ_INT(count_sum(f, &p, 1 | COPY, &st, NULL), want);
    CHECK_EQ_INT(st.segments_by_addr, NSLOTS);
    CHECK(access(pf6, F_OK) == 0);
    free(orig);
    free(other);
    fl_filter_free(f);
}

/* Expiring a segment deletes its copy; the catalog counts both files. */
TEST(copy_expire)
{
    fl_store *s;
    fl_store_seginfo *v;
    fl_store_expire_opts o;
    fl_store_expire_stats est;
    struct stat s0, s1;
    size_t n;
    char pf[600], pa[600];
    fl_err e;

    copy_path(pf, sizeof pf, 0, ".fls");
    copy_path(pa, sizeof pa, 0, ".fla");
    CHECK(stat(pf, &s0) == 0 && stat(pa, &s1) == 0);
    CHECK(fl_store_open(g_dir, NULL, FL_STORE_WRITE, &s, &e) == FL_OK);
    CHECK(fl_store_list(s, 0, 0, NULL, 0, &v, &n, &e) == FL_OK);
    CHECK(n == NSLOTS && v[0].bytes == (uint64_t)(s0.st_size + s1.st_size));
    free(v);
    memset(&o, 0, sizeof o);
    o.now = T0 + (NSLOTS + 10) * SLOT;
    o.max_age_ms = (NSLOTS + 10) * SLOT - SLOT - 1; /* the first slot only */
    CHECK(fl_store_expire(s, &o, NULL, NULL, &est, &e) == FL_OK);
    CHECK_EQ_INT(est.deleted, 1);
    CHECK(est.deleted_bytes == (uint64_t)(s0.st_size + s1.st_size));
    CHECK(access(pf, F_OK) != 0 && access(pa, F_OK) != 0);
    fl_store_close(s, NULL);
}

/* An order-free checksum of every column of row r of b. */
static uint64_t row_hash(const fl_batch *b, uint32_t r)
{
    uint64_t h = 0;

    for (int c = 0; c < FL_COL_COUNT; c++) {
        unsigned w = fl_col_get((fl_col)c)->width;
        const uint8_t *v = (const uint8_t *)b->col[c] + (size_t)r * w;
        for (unsigned k = 0; k < w; k++)
            h = tu_mix(h ^ ((uint64_t)v[k] << 8 | (uint64_t)c << 16 | k));
    }
    return h;
}

/* Rows of an exact scan of dir with pred (through the copies with copy),
 * and an order-free checksum of every column of them. */
static uint64_t scan_every_column(const char *dir, const fl_store_pred *pred, int copy,
                                  uint64_t *sum, fl_store_scan_stats *st)
{
    fl_store *s;
    fl_store_scan *sc;
    fl_batch *b;
    fl_err e;
    uint64_t n = 0;

    *sum = 0;
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_scan_open(s, NULL, pred,
                             FL_STORE_SCAN_EXACT | (copy ? FL_STORE_SCAN_ANY_ORDER : 0), &sc,
                             &e) == FL_OK);
    for (int guard = 0; guard < 100000; guard++) {
        CHECK(fl_store_scan_next(sc, &b, &e) == FL_OK);
        if (b == NULL)
            break;
        for (uint32_t r = 0; r < b->n; r++)
            *sum += row_hash(b, r);
        n += b->n;
    }
    fl_store_scan_get_stats(sc, st);
    fl_store_scan_free(sc);
    fl_store_close(s, NULL);
    return n;
}

/* Every column goes through a copy unchanged: a store of flows with every
 * column set (IPv4 and IPv6), one slot of it with time_first all zero (no
 * time_first chunk), gets a copy of each segment (verify counts them),
 * and the rows an address filter selects through the copies are the
 * segments' rows, every column equal. */
TEST(copy_every_column)
{
    const char *flt = "net 10.0.0.0/12 or net 2001::/16";
    char dir[512];
    fl_batch *b = fl_batch_new(5000);
    fl_store *s;
    fl_store_opts o;
    fl_store_pred p;
    fl_store_scan_stats st;
    fl_store_verify_stats vs;
    fl_filter *f = NULL;
    fl_err e;
    uint64_t n0, n1, s0, s1;

    fl_store_opts_default(&o);
    o.fsync = 0;
    tu_tmpdir(dir, sizeof dir, "copyall");
    CHECK(b != NULL && fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    for (int k = 0; k < 3; k++) {
        fl_batch_clear(b);
        for (uint64_t i = 0; i < 5000; i++) {
            fl_flow fw;
            tu_flow(&fw, i + 5000 * (uint64_t)k, T0 + k * SLOT, i % 3 == 0);
            if (k == 2)
                fw.TIME_FIRST = 0;
            CHECK(fl_batch_append(b, &fw) == FL_OK);
        }
        CHECK(fl_store_append(s, b, &e) == FL_OK);
    }
    CHECK(fl_store_close(s, &e) == FL_OK);
    CHECK(fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_verify(s, 1, NULL, NULL, &vs, &e) == FL_OK);
    fl_store_close(s, NULL);
    CHECK_EQ_INT(vs.segments, 3);
    CHECK_EQ_INT(vs.copies, 3);
    CHECK(fl_filter_compile(flt, strlen(flt), NULL, &f, &e) == FL_OK);
    pred_of(f, &p);
    fl_filter_free(f);
    n0 = scan_every_column(dir, &p, 0, &s0, &st);
    CHECK_EQ_INT(st.segments_by_addr, 0);
    n1 = scan_every_column(dir, &p, 1, &s1, &st);
    CHECK_EQ_INT(st.segments_by_addr, 3);
    CHECK(n0 > 1000 && n0 < 15000);
    CHECK_EQ_INT(n1, n0);
    CHECK(s1 == s0);
    fl_batch_free(b);
    tu_rmrf(dir);
}

/* What an ordered scan gave: rows, their checksum, whether every row of
 * a batch was at least the floor read before asking for it, how often
 * the floor rose, the floor after the last batch. */
typedef struct ordered_run {
    uint64_t rows, sum;
    int below, rises, ordered;
    fl_addr last;
    fl_store_scan_stats st;
} ordered_run;

/* Scan dir with pred and flags (an order flag) the way the engine does:
 * a whole row group's room per fill, the floor read before each. */
static void scan_ordered(const char *dir, const fl_store_pred *pred, int flags, ordered_run *o)
{
    fl_col col = flags & FL_STORE_SCAN_SRC_ORDER ? FL_COL_SRC_ADDR : FL_COL_DST_ADDR;
    fl_batch *b = fl_batch_new(FL_STORE_GROUP_ROWS);
    fl_store *s;
    fl_store_scan *sc;
    fl_addr prev = {0, 0};
    fl_err e;

    memset(o, 0, sizeof *o);
    CHECK(b != NULL && fl_store_open(dir, NULL, FL_STORE_READ, &s, &e) == FL_OK);
    CHECK(fl_store_scan_open(s, NULL, pred, flags, &sc, &e) == FL_OK);
    for (int guard = 0; guard < 100000; guard++) {
        fl_addr fl;
        o->ordered = fl_store_scan_floor(sc, &fl);
        if (fl_addr_cmp(fl, prev) > 0)
            o->rises++;
        prev = fl;
        fl_batch_clear(b);
        CHECK(fl_store_scan_fill(sc, b, &e) == FL_OK);
        if (b->n == 0)
            break;
        for (uint32_t r = 0; r < b->n; r++) {
            o->below += fl_addr_cmp(FL_ADDRS(b, col)[r], fl) < 0;
            o->sum += row_hash(b, r);
        }
        o->rows += b->n;
    }
    fl_store_scan_floor(sc, &o->last);
    fl_store_scan_get_stats(sc, &o->st);
    fl_store_scan_free(sc);
    fl_store_close(s, NULL);
    fl_batch_free(b);
}

/* An ordered scan hands the copies' blocks out in address order over
 * every segment: the same rows as a plain scan, every row at least the
 * floor read before its batch, the floor rising on the way and all ones
 * at the end. The other address column orders too; a term on either
 * address leaves it unordered. A segment without a copy is read first (the
 * floor stays :: meanwhile), and a damaged copy block (a chunk, or its
 * header) loses the order (floor :: from then on) but no row. */
TEST(copy_ordered)
{
    char dir[512], pa[700];
    fl_batch *b = fl_batch_new(10000);
    fl_store *s;
    fl_store_opts o;
    fl_store_pred p;
    fl_store_scan_stats st;
    ordered_run r;
    fl_addr ones = {UINT64_MAX, UINT64_MAX}, zero = {0, 0};
    fl_err e;
    uint64_t n0, s0;
    uint8_t *orig;
    size_t na;

    fl_store_opts_default(&o);
    o.fsync = 0;
    tu_tmpdir(dir, sizeof dir, "ordered");
    CHECK(b != NULL && fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    for (int k = 0; k < 4; k++) { /* 4 segments of 3 blocks per part */
        fl_batch_clear(b);
        for (uint64_t i = 0; i < 10000; i++) {
            fl_flow fw;
            tu_flow(&fw, i + 10000 * (uint64_t)k, T0 + k * SLOT, i % 3 == 0);
            CHECK(fl_batch_append(b, &fw) == FL_OK);
        }
        CHECK(fl_store_append(s, b, &e) == FL_OK);
    }
    CHECK(fl_store_close(s, &e) == FL_OK);
    fl_batch_free(b);
    n0 = scan_every_column(dir, NULL, 0, &s0, &st);
    CHECK_EQ_INT(n0, 40000);

    scan_ordered(dir, NULL, FL_STORE_SCAN_SRC_ORDER, &r);
    CHECK(r.ordered && r.rows == n0 && r.sum == s0);
    CHECK_EQ_INT(r.below, 0);
    CHECK(r.rises >= 8);
    CHECK(fl_addr_cmp(r.last, ones) == 0);
    CHECK_EQ_INT(r.st.segments_ordered, 4);

    /* dst order with a window and a dst term (exact): as a plain scan */
    memset(&p, 0, sizeof p);
    p.t_start = T0 + SLOT;
    p.t_end = T0 + 3 * SLOT;
    p.nasets = 1;
    p.asets[0].col = FL_COL_DST_ADDR;
    p.asets[0].n = 1;
    p.asets[0].lo[0] = zero;
    p.asets[0].hi[0] = fl_addr_from_v4(0xc0000000u);
    {
        uint64_t n1, s1;
        n1 = scan_every_column(dir, &p, 0, &s1, &st);
        CHECK(n1 > 1000 && n1 < 20000);
        scan_ordered(dir, &p,
                     FL_STORE_SCAN_DST_ORDER | FL_STORE_SCAN_EXACT | FL_STORE_SCAN_ANY_ORDER, &r);
        CHECK(r.ordered && r.rows == n1 && r.sum == s1);
        CHECK_EQ_INT(r.below, 0);
        CHECK(r.rises >= 2);
        /* a term on either address: read through the copies, unordered */
        p.asets[0].col = FL_STORE_ANY_ADDR;
        scan_ordered(dir, &p,
                     FL_STORE_SCAN_SRC_ORDER | FL_STORE_SCAN_EXACT | FL_STORE_SCAN_ANY_ORDER, &r);
        CHECK(!r.ordered && r.rises == 0 && r.st.segments_ordered == 0);
    }

    /* slot 1 without its copy: read first, under a floor of :: */
    snprintf(pa, sizeof pa, "%s/seg/%013lld-%06u.fla", dir, (long long)(T0 + SLOT), 1u);
    na = slurp(pa, &orig);
    CHECK(unlink(pa) == 0);
    scan_ordered(dir, NULL, FL_STORE_SCAN_SRC_ORDER, &r);
    CHECK(r.rows == n0 && r.sum == s0 && r.below == 0);
    CHECK_EQ_INT(r.st.segments_ordered, 3);
    CHECK(fl_addr_cmp(r.last, ones) == 0);

    /* a damaged chunk in the copy's first block: its rows are read from
     * the segment at the end, so the floor falls to :: and stays */
    damage_first_block(orig, na);
    spit(pa, orig, na);
    scan_ordered(dir, NULL, FL_STORE_SCAN_SRC_ORDER, &r);
    if (r.rows != n0 || r.sum != s0 || r.below != 0) {
        snprintf(test_msg, sizeof test_msg, "damaged: %llu rows of %llu (values %s), %d below",
                 (unsigned long long)r.rows, (unsigned long long)n0,
                 r.sum == s0 ? "equal" : "differ", r.below);
        free(orig);
        longjmp(test_jmp, 1);
    }
    CHECK(r.st.warnings > 0);
    CHECK(fl_addr_cmp(r.last, zero) == 0);
    /* the same for a block whose header is damaged: an ordered scan
     * parses a copy's blocks one at a time, as it claims them */
    {
        uint64_t doff = le64(orig + na - 24), boff = le64(orig + doff + 40);
        orig[boff] ^= 0x5a;
        spit(pa, orig, na);
    }
    scan_ordered(dir, NULL, FL_STORE_SCAN_SRC_ORDER, &r);
    free(orig);
    CHECK(r.rows == n0 && r.sum == s0 && r.below == 0);
    CHECK(r.st.warnings > 0);
    CHECK(fl_addr_cmp(r.last, zero) == 0);
    tu_rmrf(dir);
}

/* by_addr 0: no copies are made; turned on, the writer makes them. */
TEST(copy_off)
{
    char dir[512], seg[700];
    fl_batch *b = fl_batch_new(10);
    fl_store *s;
    fl_store_opts o;
    fl_err e;

    fl_store_opts_default(&o);
    CHECK(o.by_addr == 1);
    o.fsync = 0;
    o.by_addr = 0;
    tu_tmpdir(dir, sizeof dir, "nocopy");
    CHECK(b != NULL && fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
    for (uint32_t i = 0; i < 10; i++) {
        FL_TIMES(b, FL_COL_TIME_FIRST)[i] = T0 + i;
        FL_ADDRS(b, FL_COL_SRC_ADDR)[i] = fl_addr_from_v4(0x0a000001u + i);
    }
    b->n = 10;
    fl_batch_mark(b, FL_COL_TIME_FIRST);
    fl_batch_mark(b, FL_COL_SRC_ADDR);
    CHECK(fl_store_append(s, b, &e) == FL_OK);
    CHECK(fl_store_close(s, &e) == FL_OK);
    snprintf(seg, sizeof seg, "%s/seg", dir);
    CHECK_EQ_INT(tu_files_ending(seg, ".fls"), 1);
    CHECK_EQ_INT(tu_files_ending(seg, ".fla"), 0);
    {
        /* a writer with copies on makes the missing one when idle, and
         * the catalog then counts its size */
        fl_store_seginfo *v;
        size_t n;
        int more = 1, calls = 0;
        uint64_t before;
        o.by_addr = 1;
        CHECK(fl_store_open(dir, &o, FL_STORE_WRITE, &s, &e) == FL_OK);
        CHECK(fl_store_list(s, 0, 0, NULL, 0, &v, &n, &e) == FL_OK && n == 1);
        before = v[0].bytes;
        free(v);
        while (more && calls++ < 10)
            CHECK(fl_store_backfill(s, &more, &e) == FL_OK);
        CHECK_EQ_INT(more, 0);
        CHECK(fl_store_list(s, 0, 0, NULL, 0, &v, &n, &e) == FL_OK && n == 1);
        CHECK(v[0].bytes > before);
        free(v);
        CHECK(fl_store_close(s, &e) == FL_OK);
        CHECK_EQ_INT(tu_files_ending(seg, ".fla"), 1);
    }
    fl_batch_free(b);
    tu_rmrf(dir);
}

int main(void)
{
    build_store();
    RUN(aset_terms);
    RUN(aset_no_row_lost);
    RUN(aset_prunes);
    RUN(addr_prefix_over_mapped);
    RUN(copy_every_column);
    RUN(copy_fallback);
    RUN(copy_ordered);
    RUN(copy_expire);
    RUN(copy_off);
    tu_rmrf(g_dir);
    TEST_EXIT();
}
