/* tests/query/test_format.c — nfdump's text listing formats (format.c):
 * the parser (tags, static text, errors with tag and position) and the
 * printed fields. Expected strings are nfdump 1.7.1's output for the same
 * flows (checked by hand against `nfdump -o ...`; the differential test
 * test_formats_vs_nfdump.sh compares whole listings). */
#include "query/query.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *print_row(const char *fmt, int flags, const fl_batch *b, uint32_t r)
{
    fl_query_fmt *q = NULL;
    fl_err e;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    fl_err_clear(&e);
    CHECK(fl_query_fmt_parse(fmt, flags, &q, &e) == FL_OK);
    f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    fl_query_fmt_row(q, b, r, f);
    fclose(f);
    fl_query_fmt_free(q);
    if (len > 0 && buf[len - 1] == '\n')
        buf[len - 1] = '\0';
    return buf;
}

static fl_addr addr(const char *s)
{
    fl_addr a = {0, 0};
    fl_err e;
    fl_err_clear(&e);
    CHECK(fl_addr_parse(s, strlen(s), &a, &e) == FL_OK);
    return a;
}

/* row 0: IPv4 TCP 1.5 GB; row 1: long IPv6 ICMPv6 128.0; row 2: ICMP 3.3 */
static fl_batch *flows(void)
{
    fl_batch *b = fl_batch_new(4);
    fl_time t0 = 1714559403000LL; /* 2024-05-01 10:30:03 UTC */

    for (int i = 0; i < 3; i++)
        fl_batch_add_row(b);
    FL_TIMES(b, FL_COL_TIME_FIRST)[0] = t0;
    FL_TIMES(b, FL_COL_TIME_LAST)[0] = t0 + 600000;
    FL_ADDRS(b, FL_COL_SRC_ADDR)[0] = addr("10.1.0.3");
    FL_ADDRS(b, FL_COL_DST_ADDR)[0] = addr("192.0.2.12");
    FL_U16(b, FL_COL_SRC_PORT)[0] = 40002;
    FL_U16(b, FL_COL_DST_PORT)[0] = 80;
    FL_U8(b, FL_COL_PROTO)[0] = 6;
    FL_U8(b, FL_COL_TCP_FLAGS)[0] = 0x1f;
    FL_U8(b, FL_COL_SRC_TOS)[0] = 32;
    FL_U64(b, FL_COL_BYTES)[0] = 1500000000;
    FL_U64(b, FL_COL_PACKETS)[0] = 1200000;

    FL_TIMES(b, FL_COL_TIME_FIRST)[1] = t0 + 13000;
    FL_TIMES(b, FL_COL_TIME_LAST)[1] = t0 + 13000;
    FL_ADDRS(b, FL_COL_SRC_ADDR)[1] = addr("2001:db8:1234:5678:9abc:def0:1234:5678");
    FL_ADDRS(b, FL_COL_DST_ADDR)[1] = addr("ff02::1");
    FL_U8(b, FL_COL_PROTO)[1] = 58;
    FL_U8(b, FL_COL_ICMP_TYPE)[1] = 128;
    FL_U16(b, FL_COL_DST_PORT)[1] = 128 << 8;
    FL_U64(b, FL_COL_BYTES)[1] = 64;
    FL_U64(b, FL_COL_PACKETS)[1] = 1;

    FL_TIMES(b, FL_COL_TIME_FIRST)[2] = t0 + 6000;
    FL_TIMES(b, FL_COL_TIME_LAST)[2] = t0 + 8000;
    FL_ADDRS(b, FL_COL_SRC_ADDR)[2] = addr("192.0.2.1");
    FL_ADDRS(b, FL_COL_DST_ADDR)[2] = addr("10.1.0.8");
    FL_U8(b, FL_COL_PROTO)[2] = 1;
    FL_U8(b, FL_COL_ICMP_TYPE)[2] = 3;
    FL_U8(b, FL_COL_ICMP_CODE)[2] = 3;
    FL_U64(b, FL_COL_BYTES)[2] = 1500;
    FL_U64(b, FL_COL_PACKETS)[2] = 3;
    return b;
}

TEST(line_header_and_rows)
{
    fl_query_fmt *q = NULL;
    fl_batch *b = flows();
    fl_err e;
    char *s;

    fl_err_clear(&e);
    CHECK(fl_query_fmt_parse("line", 0, &q, &e) == FL_OK);
    CHECK_STR(fl_query_fmt_header(q),
              "Date first seen             Duration     Proto      Src IP Addr:Port          "
              "Dst IP Addr:Port   Packets    Bytes Flows");
    fl_query_fmt_free(q);
    s = print_row("line", 0, b, 0);
    CHECK_STR(s, "2024-05-01 10:30:03.000     00:10:00.000 TCP           10.1.0.3:40002 ->"
                 "       192.0.2.12:80       1.2 M    1.5 G     1");
    free(s);
    s = print_row("line", FL_RENDER_PLAIN, b, 0);
    CHECK_STR(s, "2024-05-01 10:30:03.000          600.000 6             10.1.0.3:40002 ->"
                 "       192.0.2.12:80     1200000 1500000000     1");
    free(s);
    /* IPv6 shortened to 7+..+7 characters, ICMPv6 type.code as the port */
    s = print_row("line", 0, b, 1);
    CHECK_STR(s, "2024-05-01 10:30:16.000     00:00:00.000 ICMP6 2001:db..34:5678.0     ->"
                 "          ff02::1.128.0        1       64     1");
    free(s);
    s = print_row("line6", 0, b, 1);
    CHECK_STR(s, "2024-05-01 10:30:16.000     00:00:00.000 ICMP6  "
                 "2001:db8:1234:5678:9abc:def0:1234:5678.0     ->"
                 "                                 ff02::1.128.0        1       64     1");
    free(s);
    s = print_row("fmt:%pr %dp %it %ic", 0, b, 2);
    CHECK_STR(s, "ICMP     3.3      3      3");
    free(s);
    fl_batch_free(b);
}

TEST(extended_rates_and_flags)
{
    fl_batch *b = flows();
    char *s = print_row("fmt:%flg %tos %pps %bps %bpp|%sn %dn", 0, b, 0);

    CHECK_STR(s, "...APRSF  32     2000   20.0 M   1250|        10.1.0.3/0        192.0.2.12/0 ");
    free(s);
    fl_batch_free(b);
}

/* %fl: an aggregated record's flows column, 0 (or absent) as one flow */
TEST(flows_tag_reads_the_flows_column)
{
    fl_batch *b = flows();
    char *s = print_row("fmt:%fl", 0, b, 0);

    CHECK_STR(s, "    1");
    free(s);
    FL_U64(b, FL_COL_FLOWS)[1] = 17;
    fl_batch_mark(b, FL_COL_FLOWS);
    s = print_row("fmt:%fl", 0, b, 1);
    CHECK_STR(s, "   17");
    free(s);
    s = print_row("fmt:%fl", 0, b, 0);
    CHECK_STR(s, "    1");
    free(s);
    fl_batch_free(b);
}

TEST(static_text_and_header)
{
    fl_query_fmt *q = NULL;
    fl_err e;

    fl_err_clear(&e);
    CHECK(fl_query_fmt_parse("fmt:<%pr|%sp>", 0, &q, &e) == FL_OK);
    /* static text becomes spaces of the same width in the header */
    CHECK_STR(fl_query_fmt_header(q), " Proto Src Pt ");
    fl_query_fmt_free(q);
    /* nfdump splits "%mpls10" as %mpls1 followed by "0" (its tag order) */
    CHECK(fl_query_fmt_parse("fmt:%mpls10", 0, &q, &e) == FL_OK);
    CHECK_STR(fl_query_fmt_header(q), " MPLS lbl 1  ");
    fl_query_fmt_free(q);
}

TEST(bad_tags_name_tag_and_position)
{
    fl_query_fmt *q = NULL;
    fl_err e;

    fl_err_clear(&e);
    CHECK(fl_query_fmt_parse("fmt:%ts %bogus %pr", 0, &q, &e) == FL_EPARSE);
    CHECK(q == NULL);
    CHECK(strstr(e.msg, "'%bogus'") != NULL);
    CHECK(strstr(e.msg, "position 9") != NULL); /* of the whole -o argument */
    CHECK_EQ_INT(e.offset, 8);
    fl_err_clear(&e);
    CHECK(fl_query_fmt_parse("%ts %cl", 0, &q, &e) == FL_EUNSUPPORTED);
    CHECK(strstr(e.msg, "'%cl'") != NULL && strstr(e.msg, "position 5") != NULL);
    fl_err_clear(&e);
    CHECK(fl_query_fmt_parse("fmt:", 0, &q, &e) == FL_EINVAL);
    CHECK(fl_query_fmt_parse("lines", 0, &q, &e) == FL_EINVAL);
    CHECK(strstr(e.msg, "lines") != NULL);
    CHECK(fl_query_fmt_parse("fmt:%", 0, &q, &e) == FL_EPARSE);
}

TEST(item_limit_is_enforced)
{
    char big[4096];
    size_t n = 0;
    fl_query_fmt *q = NULL;
    fl_err e;

    n += (size_t)snprintf(big, sizeof big, "fmt:");
    for (int i = 0; i < 300 && n + 8 < sizeof big; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%%pr ");
    fl_err_clear(&e);
    CHECK(fl_query_fmt_parse(big, 0, &q, &e) == FL_ELIMIT);
    CHECK(q == NULL);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    RUN(line_header_and_rows);
    RUN(extended_rates_and_flags);
    RUN(flows_tag_reads_the_flows_column);
    RUN(static_text_and_header);
    RUN(bad_tags_name_tag_and_position);
    RUN(item_limit_is_enforced);
    TEST_EXIT();
}
