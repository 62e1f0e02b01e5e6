/* tests/core/test_addr.c — IPv4/IPv6 addresses, prefixes, MACs. */
#include "core/core.h"
#include "test.h"

static fl_addr addr_ok(const char *s)
{
    fl_addr a;
    fl_err e;
    if (fl_addr_parse(s, strlen(s), &a, &e) != FL_OK) {
        snprintf(test_msg, sizeof test_msg, "parse '%s': %s", s, e.msg);
        longjmp(test_jmp, 1);
    }
    return a;
}

static void addr_bad(const char *s, const char *want)
{
    fl_addr a;
    fl_err e;
    fl_err_clear(&e);
    if (fl_addr_parse(s, strlen(s), &a, &e) == FL_OK || strstr(e.msg, want) == NULL) {
        snprintf(test_msg, sizeof test_msg, "'%s': wanted error with '%s', got '%s'", s, want,
                 e.msg);
        longjmp(test_jmp, 1);
    }
}

static const char *fmt(fl_addr a)
{
    static char buf[FL_ADDR_STRLEN];
    fl_addr_format(a, buf, sizeof buf);
    return buf;
}

TEST(ipv4)
{
    fl_addr a = addr_ok("192.0.2.1");
    CHECK(fl_addr_is_v4(a));
    CHECK_EQ_INT(fl_addr_v4(a), 0xc0000201);
    CHECK_EQ_INT(a.lo, 0x0000ffffc0000201ULL);
    CHECK_STR(fmt(a), "192.0.2.1");
    CHECK_STR(fmt(addr_ok("0.0.0.0")), "0.0.0.0");
    CHECK_STR(fmt(addr_ok("255.255.255.255")), "255.255.255.255");
}

TEST(ipv6)
{
    fl_addr a = addr_ok("2001:db8::1");
    CHECK(!fl_addr_is_v4(a));
    CHECK_EQ_INT(a.hi, 0x20010db800000000ULL);
    CHECK_EQ_INT(a.lo, 1);
    CHECK_STR(fmt(a), "2001:db8::1");
    CHECK_STR(fmt(addr_ok("::")), "::");
    CHECK_STR(fmt(addr_ok("::1")), "::1");
    CHECK_STR(fmt(addr_ok("fe80::")), "fe80::");
    CHECK_STR(fmt(addr_ok("2001:DB8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
    CHECK_STR(fmt(addr_ok("1:2:3:4:5:6:7:8")), "1:2:3:4:5:6:7:8");
    CHECK_STR(fmt(addr_ok("[2001:db8::2]")), "2001:db8::2");
    CHECK_STR(fmt(addr_ok("64:ff9b::192.0.2.33")), "64:ff9b::c000:221");
    /* the mapped form is our IPv4 */
    CHECK(fl_addr_is_v4(addr_ok("::ffff:10.1.2.3")));
    CHECK_STR(fmt(addr_ok("::ffff:10.1.2.3")), "10.1.2.3");
    {
        uint8_t b[16];
        fl_addr_to_v6(a, b);
        CHECK(b[0] == 0x20 && b[1] == 0x01 && b[15] == 1);
        CHECK(fl_addr_cmp(fl_addr_from_v6(b), a) == 0);
    }
}

TEST(bad_addresses)
{
    addr_bad("", "empty");
    addr_bad("1.2.3", "four parts");
    addr_bad("1.2.3.256", "out of range");
    addr_bad("1.2.3.4.5", "too many parts");
    addr_bad("1.2.3.", "ends with '.'");
    addr_bad("1.2x.4", "unexpected character 'x'");
    addr_bad("1.2.x.4", "expected a decimal number");
    addr_bad("2001:db8::1::2", "only once");
    addr_bad("2001:db8:1", "needs 8");
    addr_bad("1:2:3:4:5:6:7:8:9", "too many groups");
    addr_bad("12345::", "longer than 4");
    addr_bad(":1::", "single ':'");
    addr_bad("1:", "single ':'");
    addr_bad("[::1", "missing ']'");
    addr_bad("::1.2.3", "four parts");
    addr_bad("fe80::1%eth0", "unexpected character '%'");
}

TEST(prefixes)
{
    fl_prefix p;
    fl_err e;
    char buf[64];
    const char *s;

    s = "10.0.0.0/8";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_OK);
    CHECK_EQ_INT(p.len, 104);
    CHECK(fl_prefix_contains(&p, addr_ok("10.255.1.2")));
    CHECK(!fl_prefix_contains(&p, addr_ok("11.0.0.1")));
    CHECK(!fl_prefix_contains(&p, addr_ok("::a00:1")));
    fl_prefix_format(&p, buf, sizeof buf);
    CHECK_STR(buf, "10.0.0.0/8");
    s = "172.16/16"; /* nfdump's abbreviated form */
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_OK);
    fl_prefix_format(&p, buf, sizeof buf);
    CHECK_STR(buf, "172.16.0.0/16");
    s = "2001:db8::/32";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_OK);
    CHECK_EQ_INT(p.len, 32);
    CHECK(fl_prefix_contains(&p, addr_ok("2001:db8:ffff::1")));
    CHECK(!fl_prefix_contains(&p, addr_ok("2001:db9::1")));
    fl_prefix_format(&p, buf, sizeof buf);
    CHECK_STR(buf, "2001:db8::/32");
    s = "2001:db8::1/127";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_EINVAL);
    CHECK(strstr(e.msg, "beyond the /127") != NULL);
    CHECK(fl_prefix_parse(s, strlen(s), 1, &p, &e) == FL_OK);
    s = "192.0.2.1";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_OK);
    CHECK_EQ_INT(p.len, 128);
    s = "0.0.0.0/0";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_OK);
    CHECK(fl_prefix_contains(&p, addr_ok("8.8.8.8")));
    s = "10.0.0.0/33";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_ERANGE);
    CHECK(strstr(e.msg, "exceeds /32") != NULL);
    s = "10.0.0.0/";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_EPARSE);
    CHECK(strstr(e.msg, "missing prefix length") != NULL);
    s = "10.0/x";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_EPARSE);
    CHECK(strstr(e.msg, "decimal") != NULL);
    CHECK_EQ_INT(e.offset, 5);
    s = "10.1";
    CHECK(fl_prefix_parse(s, strlen(s), 0, &p, &e) == FL_EPARSE);
    CHECK(strstr(e.msg, "needs a /length") != NULL);
}

TEST(masking)
{
    fl_addr a = addr_ok("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
    CHECK_STR(fmt(fl_addr_mask(a, 48)), "2001:db8:aaaa::");
    CHECK_STR(fmt(fl_addr_mask(a, 64)), "2001:db8:aaaa:bbbb::");
    CHECK_STR(fmt(fl_addr_mask(a, 80)), "2001:db8:aaaa:bbbb:cccc::");
    CHECK_STR(fmt(fl_addr_mask(a, 0)), "::");
    CHECK_STR(fmt(fl_addr_mask(addr_ok("10.1.2.3"), 96 + 24)), "10.1.2.0");
}

TEST(macs)
{
    uint64_t m;
    fl_err e;
    char buf[FL_MAC_STRLEN];
    const char *ok[] = {"00:11:22:aa:BB:cc", "00-11-22-aa-bb-cc", "0011.22aa.bbcc", "001122aabbcc"};
    for (size_t i = 0; i < 4; i++) {
        CHECK(fl_mac_parse(ok[i], strlen(ok[i]), &m, &e) == FL_OK);
        CHECK_EQ_INT(m, 0x001122aabbccULL);
    }
    fl_mac_format(m, buf, sizeof buf);
    CHECK_STR(buf, "00:11:22:aa:bb:cc");
    CHECK(fl_mac_parse("00:11:22:aa:bb", 14, &m, &e) == FL_EPARSE);
    CHECK(strstr(e.msg, "12 hex digits") != NULL);
    CHECK(fl_mac_parse("00:11-22:aa:bb:cc", 17, &m, &e) == FL_EPARSE);
    CHECK(strstr(e.msg, "mixed separators") != NULL);
    CHECK(fl_mac_parse("00:11:22:aa:bb:zz", 17, &m, &e) == FL_EPARSE);
    CHECK(strstr(e.msg, "'z'") != NULL);
    CHECK(fl_mac_parse("0:011:22:aa:bb:cc", 17, &m, &e) == FL_EPARSE);
}

int main(void)
{
    RUN(ipv4);
    RUN(ipv6);
    RUN(bad_addresses);
    RUN(prefixes);
    RUN(masking);
    RUN(macs);
    TEST_EXIT();
}
