/*
 * core/addr.c — IPv4/IPv6 addresses, prefixes and MAC addresses.
 *
 * One 128-bit representation for both families (IPv4-mapped) so every
 * column, zone map and comparison has one code path. The parsers take
 * (pointer, length), never rely on a NUL, and say what was wrong and at
 * which byte; they are fuzzed (fuzz/fuzz_addr.c).
 */
#include "core.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define V4_MAPPED_HI 0
#define V4_MAPPED_LO 0x0000ffff00000000ULL

fl_addr fl_addr_from_v4(uint32_t v4)
{
    fl_addr a = {V4_MAPPED_HI, V4_MAPPED_LO | v4};
    return a;
}

fl_addr fl_addr_from_v6(const uint8_t b[16])
{
    fl_addr a = {0, 0};

    for (int i = 0; i < 8; i++) {
        a.hi = (a.hi << 8) | b[i];
        a.lo = (a.lo << 8) | b[i + 8];
    }
    return a;
}

void fl_addr_to_v6(fl_addr a, uint8_t b[16])
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)a.hi;
        b[i + 8] = (uint8_t)a.lo;
        a.hi >>= 8;
        a.lo >>= 8;
    }
}

int fl_addr_is_v4(fl_addr a)
{
    return a.hi == V4_MAPPED_HI && (a.lo >> 32) == 0xffff;
}

uint32_t fl_addr_v4(fl_addr a) { return (uint32_t)a.lo; }

int fl_addr_cmp(fl_addr a, fl_addr b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

fl_addr fl_addr_mask(fl_addr a, unsigned len)
{
    if (len >= 128)
        return a;
    if (len == 0) {
        a.hi = a.lo = 0;
    } else if (len <= 64) {
        a.hi &= len == 64 ? ~0ULL : ~(~0ULL >> len);
        a.lo = 0;
    } else {
        a.lo &= ~(~0ULL >> (len - 64));
    }
    return a;
}

int fl_prefix_contains(const fl_prefix *p, fl_addr a)
{
    fl_addr m = fl_addr_mask(a, p->len);
    return m.hi == p->addr.hi && m.lo == p->addr.lo;
}

/* Parse up to `max_parts` dotted decimal parts; *parts gets how many. */
static fl_rc parse_v4_parts(const char *s, size_t len, int max_parts, uint32_t *out,
                            int *parts, fl_err *e)
{
    uint32_t v = 0;
    int n = 0;
    size_t i = 0;

    while (i < len) {
        unsigned val = 0;
        size_t start = i;

        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 4) {
            val = val * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (i == start)
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)i,
                             "expected a decimal number in IPv4 address");
        if (i - start > 3 || val > 255)
            return fl_err_at(e, FL_ERANGE, "address", 0, (long long)start,
                             "IPv4 address part out of range 0-255");
        if (n == max_parts)
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)start,
                             "too many parts in IPv4 address");
        v = (v << 8) | val;
        n++;
        if (i < len) {
            if (s[i] != '.')
                return fl_err_at(e, FL_EPARSE, "address", 0, (long long)i,
                                 "unexpected character '%c' in IPv4 address",
                                 s[i] >= 32 && s[i] < 127 ? s[i] : '?');
            i++;
            if (i == len)
                return fl_err_at(e, FL_EPARSE, "address", 0, (long long)i,
                                 "IPv4 address ends with '.'");
        }
    }
    if (n == 0)
        return fl_err_at(e, FL_EPARSE, "address", 0, 0, "empty address");
    *out = v << (8 * (4 - n)); /* abbreviated: 172.16 -> 172.16.0.0 */
    *parts = n;
    return FL_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static fl_rc parse_v6(const char *s, size_t len, fl_addr *out, fl_err *e)
{
    uint16_t g[8] = {0};
    int ng = 0, gap = -1;
    size_t i = 0;

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len >= 1 && s[0] == ':') {
        return fl_err_at(e, FL_EPARSE, "address", 0, 0, "IPv6 address starts with a single ':'");
    }
    while (i < len) {
        size_t start = i;
        unsigned v = 0;

        while (i < len && hexval(s[i]) >= 0 && i - start < 5) {
            v = (v << 4) | (unsigned)hexval(s[i]);
            i++;
        }
        if (i < len && s[i] == '.') {
            /* embedded IPv4 in the last 32 bits */
            uint32_t v4;
            int parts;
            fl_rc rc;

            if (ng > 6)
                return fl_err_at(e, FL_EPARSE, "address", 0, (long long)start,
                                 "no room for embedded IPv4 in IPv6 address");
            rc = parse_v4_parts(s + start, len - start, 4, &v4, &parts, e);
            if (rc != FL_OK) {
                if (e)
                    e->offset += (long long)start;
                return rc;
            }
            if (parts != 4)
                return fl_err_at(e, FL_EPARSE, "address", 0, (long long)start,
                                 "embedded IPv4 needs four parts");
            g[ng++] = (uint16_t)(v4 >> 16);
            g[ng++] = (uint16_t)v4;
            i = len;
            break;
        }
        if (i == start)
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)i,
                             "expected a hex group in IPv6 address");
        if (i - start > 4)
            return fl_err_at(e, FL_ERANGE, "address", 0, (long long)start,
                             "IPv6 group longer than 4 hex digits");
        if (ng == 8)
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)start,
                             "too many groups in IPv6 address");
        g[ng++] = (uint16_t)v;
        if (i == len)
            break;
        if (s[i] != ':')
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)i,
                             "unexpected character '%c' in IPv6 address",
                             s[i] >= 32 && s[i] < 127 ? s[i] : '?');
        i++;
        if (i < len && s[i] == ':') {
            if (gap >= 0)
                return fl_err_at(e, FL_EPARSE, "address", 0, (long long)i,
                                 "'::' may appear only once in an IPv6 address");
            gap = ng;
            i++;
        } else if (i == len) {
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)i,
                             "IPv6 address ends with a single ':'");
        }
    }
    if (gap < 0 && ng != 8)
        return fl_err_at(e, FL_EPARSE, "address", 0, (long long)len,
                         "IPv6 address has %d groups, needs 8 or '::'", ng);
    if (gap >= 0 && ng == 8)
        return fl_err_at(e, FL_EPARSE, "address", 0, 0,
                         "'::' in an IPv6 address that already has 8 groups");
    {
        uint8_t b[16] = {0};
        int tail = gap >= 0 ? ng - gap : 0;
        int head = gap >= 0 ? gap : ng;

        for (int k = 0; k < head; k++) {
            b[2 * k] = (uint8_t)(g[k] >> 8);
            b[2 * k + 1] = (uint8_t)g[k];
        }
        for (int k = 0; k < tail; k++) {
            int pos = 8 - tail + k;
            b[2 * pos] = (uint8_t)(g[gap + k] >> 8);
            b[2 * pos + 1] = (uint8_t)g[gap + k];
        }
        *out = fl_addr_from_v6(b);
    }
    return FL_OK;
}

static int has_char(const char *s, size_t len, char c) { return memchr(s, c, len) != NULL; }

fl_rc fl_addr_parse(const char *s, size_t len, fl_addr *out, fl_err *e)
{
    if (len == 0)
        return fl_err_at(e, FL_EPARSE, "address", 0, 0, "empty address");
    if (s[0] == '[') {
        fl_rc rc;
        if (len < 2 || s[len - 1] != ']')
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)len,
                             "missing ']' after bracketed IPv6 address");
        rc = parse_v6(s + 1, len - 2, out, e);
        if (rc != FL_OK && e && e->offset >= 0)
            e->offset++;
        return rc;
    }
    if (has_char(s, len, ':'))
        return parse_v6(s, len, out, e);
    {
        uint32_t v4;
        int parts;
        fl_rc rc = parse_v4_parts(s, len, 4, &v4, &parts, e);

        if (rc != FL_OK)
            return rc;
        if (parts != 4)
            return fl_err_at(e, FL_EPARSE, "address", 0, (long long)len,
                             "IPv4 address needs four parts (got %d)", parts);
        *out = fl_addr_from_v4(v4);
    }
    return FL_OK;
}

fl_rc fl_prefix_parse(const char *s, size_t len, int allow_host_bits, fl_prefix *out,
                      fl_err *e)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    int v6 = has_char(s, alen, ':');
    unsigned plen, maxlen = v6 ? 128 : 32;
    fl_addr a;
    fl_rc rc;

    if (alen == 0)
        return fl_err_at(e, FL_EPARSE, "prefix", 0, 0, "empty address before '/'");
    if (v6) {
        rc = fl_addr_parse(s, alen, &a, e);
    } else {
        uint32_t v4;
        int parts;
        rc = parse_v4_parts(s, alen, 4, &v4, &parts, e);
        if (rc == FL_OK && parts != 4 && slash == NULL)
            rc = fl_err_at(e, FL_EPARSE, "prefix", 0, (long long)alen,
                           "abbreviated IPv4 address needs a /length");
        a = fl_addr_from_v4(v4);
    }
    if (rc != FL_OK)
        return rc;
    plen = maxlen;
    if (slash != NULL) {
        size_t i = alen + 1;
        if (i == len)
            return fl_err_at(e, FL_EPARSE, "prefix", 0, (long long)i,
                             "missing prefix length after '/'");
        plen = 0;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return fl_err_at(e, FL_EPARSE, "prefix", 0, (long long)i,
                                 "prefix length must be a decimal number");
            plen = plen * 10 + (unsigned)(s[i] - '0');
            if (plen > maxlen)
                return fl_err_at(e, FL_ERANGE, "prefix", 0, (long long)alen + 1,
                                 "prefix length exceeds /%u", maxlen);
        }
    }
    if (!v6)
        plen += 96;
    out->len = (uint8_t)plen;
    out->addr = fl_addr_mask(a, plen);
    if (!allow_host_bits && fl_addr_cmp(out->addr, a) != 0)
        return fl_err_at(e, FL_EINVAL, "prefix", 0, 0,
                         "address has bits set beyond the /%u prefix length",
                         v6 ? plen : plen - 96);
    return FL_OK;
}

size_t fl_addr_format(fl_addr a, char *buf, size_t len)
{
    char tmp[INET6_ADDRSTRLEN];

    if (fl_addr_is_v4(a)) {
        uint32_t v = fl_addr_v4(a);
        snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255,
                 v & 255);
    } else {
        uint8_t b[16];
        fl_addr_to_v6(a, b);
        if (inet_ntop(AF_INET6, b, tmp, sizeof tmp) == NULL)
            tmp[0] = '\0';
    }
    return (size_t)snprintf(buf, len, "%s", tmp);
}

size_t fl_prefix_format(const fl_prefix *p, char *buf, size_t len)
{
    char a[FL_ADDR_STRLEN];
    int v4 = fl_addr_is_v4(p->addr) && p->len >= 96;

    fl_addr_format(p->addr, a, sizeof a);
    return (size_t)snprintf(buf, len, "%s/%u", a, v4 ? p->len - 96u : p->len);
}

fl_rc fl_mac_parse(const char *s, size_t len, uint64_t *out, fl_err *e)
{
    uint64_t v = 0;
    int digits = 0;
    char sep = 0;
    int cisco = len == 14; /* aabb.ccdd.eeff */

    for (size_t i = 0; i < len; i++) {
        int h = hexval(s[i]);
        if (h >= 0) {
            if (++digits > 12)
                return fl_err_at(e, FL_EPARSE, "mac", 0, (long long)i,
                                 "MAC address has more than 12 hex digits");
            v = (v << 4) | (uint64_t)h;
            continue;
        }
        if (s[i] != ':' && s[i] != '-' && s[i] != '.')
            return fl_err_at(e, FL_EPARSE, "mac", 0, (long long)i,
                             "unexpected character '%c' in MAC address",
                             s[i] >= 32 && s[i] < 127 ? s[i] : '?');
        if (sep == 0)
            sep = s[i];
        if (s[i] != sep)
            return fl_err_at(e, FL_EPARSE, "mac", 0, (long long)i,
                             "mixed separators in MAC address");
        if ((cisco && sep == '.' && digits % 4 != 0) ||
            (!(cisco && sep == '.') && digits % 2 != 0) || digits == 0)
            return fl_err_at(e, FL_EPARSE, "mac", 0, (long long)i,
                             "misplaced '%c' in MAC address", s[i]);
    }
    if (digits != 12)
        return fl_err_at(e, FL_EPARSE, "mac", 0, (long long)len,
                         "MAC address needs 12 hex digits (got %d)", digits);
    if (sep != 0 && !(cisco && sep == '.') && len != 17)
        return fl_err_at(e, FL_EPARSE, "mac", 0, 0,
                         "MAC address must be six pairs like aa:bb:cc:dd:ee:ff");
    if (sep == 0 && len != 12)
        return fl_err_at(e, FL_EPARSE, "mac", 0, 0, "malformed MAC address");
    *out = v;
    return FL_OK;
}

size_t fl_mac_format(uint64_t m, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x",
                            (unsigned)(m >> 40) & 255, (unsigned)(m >> 32) & 255,
                            (unsigned)(m >> 24) & 255, (unsigned)(m >> 16) & 255,
                            (unsigned)(m >> 8) & 255, (unsigned)m & 255);
}
