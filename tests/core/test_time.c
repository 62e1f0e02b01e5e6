/* tests/core/test_time.c — time parsing, ranges and printing, including
 * DST in a real zone and bad input that must name what was wrong. */
#include "core/core.h"
#include "test.h"

#include <time.h>

static const fl_time NOW = 1714564800000LL; /* 2024-05-01T12:00:00Z */

static fl_time parse_ok(const char *s, int flags)
{
    fl_time t = -1;
    fl_err e;
    fl_err_clear(&e);
    if (fl_time_parse(s, strlen(s), NOW, flags, &t, &e) != FL_OK) {
        snprintf(test_msg, sizeof test_msg, "parse '%s' failed: %s", s, e.msg);
        longjmp(test_jmp, 1);
    }
    return t;
}

/* Parses must fail with an error message containing `want`. */
static void parse_bad(const char *s, const char *want)
{
    fl_time t;
    fl_err e;
    fl_err_clear(&e);
    if (fl_time_parse(s, strlen(s), NOW, 0, &t, &e) == FL_OK) {
        snprintf(test_msg, sizeof test_msg, "'%s' parsed but should fail", s);
        longjmp(test_jmp, 1);
    }
    if (strstr(e.msg, want) == NULL) {
        snprintf(test_msg, sizeof test_msg, "'%s': error '%s' lacks '%s'", s, e.msg, want);
        longjmp(test_jmp, 1);
    }
}

TEST(iso8601)
{
    CHECK_EQ_INT(parse_ok("2024-05-01T12:00:00Z", 0), NOW);
    CHECK_EQ_INT(parse_ok("2024-05-01T14:00:00+02:00", 0), NOW);
    CHECK_EQ_INT(parse_ok("2024-05-01T07:30:00-0430", 0), NOW);
    CHECK_EQ_INT(parse_ok("2024-05-01 12:00:00.250Z", 0), NOW + 250);
    CHECK_EQ_INT(parse_ok("2024-05-01T12:00Z", 0), NOW);
    CHECK_EQ_INT(parse_ok("2024-05-01", 0), NOW - 12 * 3600 * 1000);
    CHECK_EQ_INT(parse_ok("1970-01-01T00:00:00Z", 0), 0);
    CHECK_EQ_INT(parse_ok("2000-02-29T00:00:00Z", 0), 951782400000LL);
}

TEST(nfdump_format)
{
    CHECK_EQ_INT(parse_ok("2024/05/01.12:00:00", 0), NOW);
    CHECK_EQ_INT(parse_ok("2024/05/01.12:00", 0), NOW);
    CHECK_EQ_INT(parse_ok("2024/05/01.12", 0), NOW);
    CHECK_EQ_INT(parse_ok("2024/05/01", 0), NOW - 12 * 3600 * 1000);
}

TEST(epoch_and_relative)
{
    CHECK_EQ_INT(parse_ok("1714564800", 0), NOW);
    CHECK_EQ_INT(parse_ok("1714564800123", 0), NOW + 123);
    CHECK_EQ_INT(parse_ok("1714564800s", 0), NOW);
    CHECK_EQ_INT(parse_ok("1714564800000ms", 0), NOW);
    CHECK_EQ_INT(parse_ok("now", 0), NOW);
    CHECK_EQ_INT(parse_ok("-1h", 0), NOW - 3600 * 1000);
    CHECK_EQ_INT(parse_ok("now-15m", 0), NOW - 15 * 60 * 1000);
    CHECK_EQ_INT(parse_ok("now+30s", 0), NOW + 30 * 1000);
    CHECK_EQ_INT(parse_ok("-1h30m", 0), NOW - 90 * 60 * 1000);
    CHECK_EQ_INT(parse_ok("-2d", 0), NOW - 2 * 86400 * 1000LL);
    CHECK_EQ_INT(parse_ok("-1w", 0), NOW - 7 * 86400 * 1000LL);
}

TEST(local_time_follows_dst)
{
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    /* summer: UTC+2 */
    CHECK_EQ_INT(parse_ok("2024/05/01.14:00:00", FL_TIME_LOCAL), NOW);
    /* winter: UTC+1 */
    CHECK_EQ_INT(parse_ok("2024/01/15.13:00:00", FL_TIME_LOCAL), 1705320000000LL);
    /* an explicit zone wins over FL_TIME_LOCAL */
    CHECK_EQ_INT(parse_ok("2024-05-01T12:00:00Z", FL_TIME_LOCAL), NOW);
    /* one hour either side of the 2024-03-31 switch is two real hours */
    CHECK_EQ_INT(parse_ok("2024/03/31.03:30:00", FL_TIME_LOCAL) -
                     parse_ok("2024/03/31.01:30:00", FL_TIME_LOCAL),
                 3600 * 1000);
    {
        char buf[64];
        fl_time_format(NOW, FL_TFMT_ISO, FL_TIME_LOCAL, buf, sizeof buf);
        CHECK_STR(buf, "2024-05-01T14:00:00.000+02:00");
        fl_time_format(1705320000000LL, FL_TFMT_NFDUMP, FL_TIME_LOCAL, buf, sizeof buf);
        CHECK_STR(buf, "2024-01-15 13:00:00.000");
    }
    setenv("TZ", "UTC", 1);
    tzset();
}

TEST(format_utc)
{
    char buf[64];
    CHECK_EQ_INT(fl_time_format(NOW + 7, FL_TFMT_ISO, 0, buf, sizeof buf), 24);
    CHECK_STR(buf, "2024-05-01T12:00:00.007Z");
    fl_time_format(NOW, FL_TFMT_NFDUMP, 0, buf, sizeof buf);
    CHECK_STR(buf, "2024-05-01 12:00:00.000");
    fl_time_format(NOW, FL_TFMT_ISO, 0, buf, 5); /* truncates, stays a string */
    CHECK_STR(buf, "2024");
}

TEST(bad_times_name_the_problem)
{
    parse_bad("", "empty");
    parse_bad("2024-13-01", "month 13");
    parse_bad("2023-02-29", "day 29 does not exist");
    parse_bad("2024-05-01T25:00Z", "time of day");
    parse_bad("2024-05-01T12:00:00+25:00", "zone offset");
    parse_bad("2024-05-01Tnoon", "hour");
    parse_bad("2024/05/01.12:00:00junk", "unexpected text");
    parse_bad("1969-12-31", "year 1969");
    parse_bad("-1y", "unit");
    parse_bad("-", "number after the sign");
    parse_bad("now-", "number after the sign");
    parse_bad("nope", "expected '+' or '-'");
    parse_bad("123abc", "unexpected text after epoch");
    parse_bad("99999999999999999", "too large");
    parse_bad("-999999999w999999999w999999999w999999999w", "too large");
    parse_bad("tomorrow", "not a time");
}

TEST(error_offsets_point_at_the_fault)
{
    fl_time t;
    fl_err e;
    fl_err_clear(&e);
    CHECK(fl_time_parse("2024-05-01T12:x0", 16, NOW, 0, &t, &e) == FL_EPARSE);
    CHECK_EQ_INT(e.offset, 14);
    CHECK_STR(e.where, "time");
}

TEST(ranges)
{
    fl_time_range r;
    fl_err e;
    const char *s;

    s = "2024/05/01.10:00:00-2024/05/01.12:00:00";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) == FL_OK);
    CHECK_EQ_INT(r.start, NOW - 7200000);
    CHECK_EQ_INT(r.end, NOW);
    s = "2024-05-01T10:00:00Z..2024-05-01T11:00:00Z";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) == FL_OK);
    CHECK_EQ_INT(r.end - r.start, 3600000);
    s = "2024-05-01-2024-05-02";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) == FL_OK);
    CHECK_EQ_INT(r.end - r.start, 86400000);
    s = "-2h--1h";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) == FL_OK);
    CHECK_EQ_INT(r.start, NOW - 7200000);
    CHECK_EQ_INT(r.end, NOW - 3600000);
    s = "now-1h";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) == FL_OK);
    CHECK_EQ_INT(r.start, NOW - 3600000);
    CHECK_EQ_INT(r.end, NOW);
    s = "1714564800-1714568400";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) == FL_OK);
    CHECK_EQ_INT(r.end - r.start, 3600000);
    s = "-1h..-2h";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) == FL_EINVAL);
    CHECK(strstr(e.msg, "starts after it ends") != NULL);
    s = "-1h..junk";
    CHECK(fl_time_range_parse(s, strlen(s), NOW, 0, &r, &e) != FL_OK);
    CHECK_EQ_INT(e.offset, 5);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    RUN(iso8601);
    RUN(nfdump_format);
    RUN(epoch_and_relative);
    RUN(local_time_follows_dst);
    RUN(format_utc);
    RUN(bad_times_name_the_problem);
    RUN(error_offsets_point_at_the_fault);
    RUN(ranges);
    TEST_EXIT();
}
