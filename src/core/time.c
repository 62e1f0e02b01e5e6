/*
 * core/time.c — parsing and printing times and time windows.
 *
 * Everything is stored as UTC epoch milliseconds; only parsing and
 * printing know about zones. Zone-less input is UTC unless the caller asks
 * for local time (nfdump's -t is local), and local times go through the C
 * library's zone rules (mktime with tm_isdst = -1) so DST changes are the
 * system's business, not ours. Parsers take (pointer, length) and are
 * fuzzed (fuzz/fuzz_time.c).
 */
#define _DEFAULT_SOURCE
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

fl_time fl_time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (fl_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

/* A small cursor over the input so every read is bounds-checked. */
typedef struct cur {
    const char *s;
    size_t len, i;
    fl_err *e;
} cur;

static int peek(const cur *c) { return c->i < c->len ? (unsigned char)c->s[c->i] : -1; }

static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }

/* Exactly n digits into *v. */
static fl_rc digits(cur *c, int n, int *v, const char *what)
{
    *v = 0;
    for (int k = 0; k < n; k++) {
        if (!is_digit(peek(c)))
            return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                             "expected %d-digit %s", n, what);
        *v = *v * 10 + (c->s[c->i++] - '0');
    }
    return FL_OK;
}

static fl_rc expect(cur *c, char ch, const char *what)
{
    if (peek(c) != ch)
        return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i, "expected '%c' %s", ch,
                         what);
    c->i++;
    return FL_OK;
}

typedef struct civil {
    int y, mo, d, h, mi, s, ms;
} civil;

static fl_rc check_civil(cur *c, const civil *t)
{
    if (t->y < 1970 || t->y > 9999)
        return fl_err_at(c->e, FL_ERANGE, "time", 0, 0, "year %d outside 1970-9999", t->y);
    if (t->mo < 1 || t->mo > 12)
        return fl_err_at(c->e, FL_ERANGE, "time", 0, 5, "month %d outside 1-12", t->mo);
    if (t->d < 1 || (unsigned)t->d > days_in_month(t->y, (unsigned)t->mo))
        return fl_err_at(c->e, FL_ERANGE, "time", 0, 8, "day %d does not exist in %04d-%02d",
                         t->d, t->y, t->mo);
    if (t->h > 23 || t->mi > 59 || t->s > 59)
        return fl_err_at(c->e, FL_ERANGE, "time", 0, 11, "time of day %02d:%02d:%02d is invalid",
                         t->h, t->mi, t->s);
    return FL_OK;
}

/* Civil time to epoch ms, as UTC minus offset_min, or through the local
 * zone when local. */
static fl_rc civil_to_ms(cur *c, const civil *t, int local, int offset_min, fl_time *out)
{
    fl_rc rc = check_civil(c, t);

    if (rc != FL_OK)
        return rc;
    if (local) {
        struct tm tm;
        time_t tt;

        memset(&tm, 0, sizeof tm);
        tm.tm_year = t->y - 1900;
        tm.tm_mon = t->mo - 1;
        tm.tm_mday = t->d;
        tm.tm_hour = t->h;
        tm.tm_min = t->mi;
        tm.tm_sec = t->s;
        tm.tm_isdst = -1;
        tt = mktime(&tm);
        if (tt == (time_t)-1)
            return fl_err_at(c->e, FL_ERANGE, "time", 0, 0, "local time cannot be represented");
        *out = (fl_time)tt * 1000 + t->ms;
        return FL_OK;
    }
    *out = ((days_from_civil(t->y, (unsigned)t->mo, (unsigned)t->d) * 86400 + t->h * 3600 +
             t->mi * 60 + t->s) -
            (int64_t)offset_min * 60) * 1000 + t->ms;
    if (*out < FL_TIME_MIN || *out > FL_TIME_MAX)
        return fl_err_at(c->e, FL_ERANGE, "time", 0, 0, "time outside 1970-9999");
    return FL_OK;
}

/* ISO 8601: YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|+hh[:mm]|-hh[:mm]] */
static fl_rc parse_iso(cur *c, int local, fl_time *out)
{
    civil t = {0, 0, 0, 0, 0, 0, 0};
    int has_zone = 0, offset = 0;
    fl_rc rc;

    if ((rc = digits(c, 4, &t.y, "year")) || (rc = expect(c, '-', "after year")) ||
        (rc = digits(c, 2, &t.mo, "month")) || (rc = expect(c, '-', "after month")) ||
        (rc = digits(c, 2, &t.d, "day")))
        return rc;
    if (peek(c) == 'T' || peek(c) == 't' || peek(c) == ' ') {
        c->i++;
        if ((rc = digits(c, 2, &t.h, "hour")) || (rc = expect(c, ':', "after hour")) ||
            (rc = digits(c, 2, &t.mi, "minute")))
            return rc;
        if (peek(c) == ':') {
            c->i++;
            if ((rc = digits(c, 2, &t.s, "second")))
                return rc;
            if (peek(c) == '.' || peek(c) == ',') {
                int scale = 100, n = 0;
                c->i++;
                if (!is_digit(peek(c)))
                    return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                                     "expected digits after the decimal point");
                while (is_digit(peek(c))) {
                    if (++n > 9)
                        return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                                         "more than 9 fractional digits");
                    t.ms += (c->s[c->i++] - '0') * scale;
                    scale /= 10;
                }
            }
        }
    }
    if (peek(c) == 'Z' || peek(c) == 'z') {
        c->i++;
        has_zone = 1;
    } else if (peek(c) == '+' || peek(c) == '-') {
        int sign = peek(c) == '-' ? -1 : 1, oh, om = 0;
        c->i++;
        if ((rc = digits(c, 2, &oh, "zone hour")))
            return rc;
        if (peek(c) == ':')
            c->i++;
        if (is_digit(peek(c)) && (rc = digits(c, 2, &om, "zone minute")))
            return rc;
        if (oh > 23 || om > 59)
            return fl_err_at(c->e, FL_ERANGE, "time", 0, (long long)c->i,
                             "zone offset out of range");
        offset = sign * (oh * 60 + om);
        has_zone = 1;
    }
    if (c->i != c->len)
        return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                         "unexpected text after ISO 8601 time");
    return civil_to_ms(c, &t, local && !has_zone, offset, out);
}

/* nfdump -t: YYYY/MM/DD[.hh[:mm[:ss]]] */
static fl_rc parse_nfdump(cur *c, int local, fl_time *out)
{
    civil t = {0, 0, 0, 0, 0, 0, 0};
    fl_rc rc;

    if ((rc = digits(c, 4, &t.y, "year")) || (rc = expect(c, '/', "after year")) ||
        (rc = digits(c, 2, &t.mo, "month")) || (rc = expect(c, '/', "after month")) ||
        (rc = digits(c, 2, &t.d, "day")))
        return rc;
    if (peek(c) == '.') {
        c->i++;
        if ((rc = digits(c, 2, &t.h, "hour")))
            return rc;
        if (peek(c) == ':') {
            c->i++;
            if ((rc = digits(c, 2, &t.mi, "minute")))
                return rc;
            if (peek(c) == ':') {
                c->i++;
                if ((rc = digits(c, 2, &t.s, "second")))
                    return rc;
            }
        }
    }
    if (c->i != c->len)
        return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                         "unexpected text after nfdump time (YYYY/MM/DD.hh:mm:ss)");
    return civil_to_ms(c, &t, local, 0, out);
}

static fl_rc parse_epoch(cur *c, fl_time *out)
{
    uint64_t v = 0;
    size_t start = c->i, nd;

    while (is_digit(peek(c))) {
        if (c->i - start >= 16)
            return fl_err_at(c->e, FL_ERANGE, "time", 0, (long long)start,
                             "epoch number too large");
        v = v * 10 + (uint64_t)(c->s[c->i++] - '0');
    }
    nd = c->i - start;
    if (c->len - c->i == 2 && c->s[c->i] == 'm' && c->s[c->i + 1] == 's') {
        c->i += 2;
    } else if (c->len - c->i == 1 && c->s[c->i] == 's') {
        c->i++;
        v *= 1000;
    } else if (c->i == c->len) {
        if (nd <= 12)
            v *= 1000; /* seconds; 13+ digits are milliseconds */
    } else {
        return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                         "unexpected text after epoch number (use 's' or 'ms')");
    }
    if (v > (uint64_t)FL_TIME_MAX)
        return fl_err_at(c->e, FL_ERANGE, "time", 0, (long long)start, "time after year 9999");
    *out = (fl_time)v;
    return FL_OK;
}

/* [now] (+|-) N unit [N unit]... ; at least one term unless "now" alone. */
static fl_rc parse_relative(cur *c, fl_time now, fl_time *out)
{
    int64_t total = 0;
    int sign;

    if (c->len - c->i >= 3 && memcmp(c->s + c->i, "now", 3) == 0) {
        c->i += 3;
        if (c->i == c->len) {
            *out = now;
            return FL_OK;
        }
    }
    if (peek(c) != '+' && peek(c) != '-')
        return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                         "expected '+' or '-' in relative time");
    sign = peek(c) == '-' ? -1 : 1;
    c->i++;
    if (c->i == c->len)
        return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                         "expected a number after the sign");
    while (c->i < c->len) {
        int64_t n = 0, unit;
        size_t start = c->i;

        while (is_digit(peek(c))) {
            if (c->i - start >= 9)
                return fl_err_at(c->e, FL_ERANGE, "time", 0, (long long)start,
                                 "relative time too large");
            n = n * 10 + (c->s[c->i++] - '0');
        }
        if (c->i == start)
            return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                             "expected a number in relative time");
        switch (peek(c)) {
        case 's': unit = 1000; break;
        case 'm': unit = 60 * 1000; break;
        case 'h': unit = 3600 * 1000; break;
        case 'd': unit = 86400 * 1000; break;
        case 'w': unit = 7 * 86400 * 1000; break;
        default:
            return fl_err_at(c->e, FL_EPARSE, "time", 0, (long long)c->i,
                             "expected a unit (s, m, h, d, w) after %lld", (long long)n);
        }
        c->i++;
        total += n * unit;
        if (total > FL_TIME_MAX)
            return fl_err_at(c->e, FL_ERANGE, "time", 0, (long long)start,
                             "relative time too large");
    }
    *out = now + sign * total;
    if (*out < FL_TIME_MIN || *out > FL_TIME_MAX)
        return fl_err_at(c->e, FL_ERANGE, "time", 0, 0, "relative time outside 1970-9999");
    return FL_OK;
}

fl_rc fl_time_parse(const char *s, size_t len, fl_time now, int flags, fl_time *out,
                    fl_err *e)
{
    cur c = {s, len, 0, e};
    int local = (flags & FL_TIME_LOCAL) != 0;

    if (len == 0)
        return fl_err_at(e, FL_EPARSE, "time", 0, 0, "empty time");
    if (s[0] == '+' || s[0] == '-' || s[0] == 'n')
        return parse_relative(&c, now, out);
    if (len >= 5 && is_digit(s[0]) && s[4] == '/')
        return parse_nfdump(&c, local, out);
    if (len >= 5 && is_digit(s[0]) && s[4] == '-')
        return parse_iso(&c, local, out);
    if (is_digit(s[0]))
        return parse_epoch(&c, out);
    return fl_err_at(e, FL_EPARSE, "time", 0, 0,
                     "not a time: expected ISO 8601, YYYY/MM/DD.hh:mm:ss, epoch seconds or "
                     "a relative time like -1h");
}

fl_rc fl_time_range_parse(const char *s, size_t len, fl_time now, int flags,
                          fl_time_range *out, fl_err *e)
{
    const char *dots = NULL;
    fl_time a, b;
    fl_rc rc;

    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '.' && s[i + 1] == '.') {
            dots = s + i;
            break;
        }
    if (dots != NULL) {
        size_t alen = (size_t)(dots - s);
        rc = fl_time_parse(s, alen, now, flags, &a, e);
        if (rc != FL_OK)
            return rc;
        rc = fl_time_parse(dots + 2, len - alen - 2, now, flags, &b, e);
        if (rc != FL_OK) {
            if (e && e->offset >= 0)
                e->offset += (long long)alen + 2;
            return rc;
        }
    } else {
        /* nfdump's START-END: the first '-' where both sides parse */
        size_t i;
        for (i = 1; i < len; i++) {
            if (s[i] != '-')
                continue;
            if (fl_time_parse(s, i, now, flags, &a, NULL) == FL_OK &&
                fl_time_parse(s + i + 1, len - i - 1, now, flags, &b, NULL) == FL_OK)
                break;
        }
        if (i >= len) {
            rc = fl_time_parse(s, len, now, flags, &a, e);
            if (rc != FL_OK)
                return rc;
            b = now;
        }
    }
    if (a > b)
        return fl_err_at(e, FL_EINVAL, "time", 0, 0, "time window starts after it ends");
    out->start = a;
    out->end = b;
    return FL_OK;
}

size_t fl_time_format(fl_time t, int style, int flags, char *buf, size_t len)
{
    time_t sec;
    int ms;
    struct tm tm;
    int n;

    if (len == 0)
        return 0;
    if (t < 0)
        t = 0;
    sec = (time_t)(t / 1000);
    ms = (int)(t % 1000);
    if (flags & FL_TIME_LOCAL)
        localtime_r(&sec, &tm);
    else
        gmtime_r(&sec, &tm);
    if (style == FL_TFMT_NFDUMP) {
        n = snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    } else if (flags & FL_TIME_LOCAL) {
        long off = tm.tm_gmtoff / 60;
        char sign = off < 0 ? '-' : '+';
        if (off < 0)
            off = -off;
        n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02ld:%02ld",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ms, sign, off / 60, off % 60);
    } else {
        n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    }
    if (n < 0)
        return 0;
    return (size_t)n < len ? (size_t)n : len - 1;
}
