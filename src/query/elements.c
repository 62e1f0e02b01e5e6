/*
 * query/elements.c — the statistics elements and ordering names users type
 * (nfdump's -s / -A vocabulary) and how their values print.
 *
 * Every element maps to one or two schema columns; a dual element (ip,
 * port, as, ...) counts a flow under both of its values, as nfdump does.
 * Names and headers follow nfdump 1.7 so scripts and eyes find what they
 * know.
 */
#include "query_int.h"

#include <stdio.h>
#include <string.h>

#define E1(n, h, c, t) {n, h, {FL_COL_##c, FL_COL_##c}, 1, t}
#define E2(n, h, c1, c2, t) {n, h, {FL_COL_##c1, FL_COL_##c2}, 2, t}

static const qelem elems[] = {
    E1("srcip", "Src IP Addr", SRC_ADDR, QK_ADDR),
    E1("dstip", "Dst IP Addr", DST_ADDR, QK_ADDR),
    E2("ip", "IP Addr", SRC_ADDR, DST_ADDR, QK_ADDR),
    E1("nhip", "Nexthop IP", NEXT_HOP, QK_ADDR),
    E1("nhbip", "Nexthop BGP IP", BGP_NEXT_HOP, QK_ADDR),
    E1("srcport", "Src Port", SRC_PORT, QK_NUMBER),
    E1("dstport", "Dst Port", DST_PORT, QK_NUMBER),
    E2("port", "Port", SRC_PORT, DST_PORT, QK_NUMBER),
    E1("proto", "Protocol", PROTO, QK_NUMBER), /* nfdump prints -s proto as a number */
    E1("tos", "Tos", SRC_TOS, QK_NUMBER),
    E1("srctos", "Src Tos", SRC_TOS, QK_NUMBER),
    E1("dsttos", "Dst Tos", DST_TOS, QK_NUMBER),
    E1("dir", "Dir", DIRECTION, QK_NUMBER),
    E1("srcas", "Src AS", SRC_AS, QK_NUMBER),
    E1("dstas", "Dst AS", DST_AS, QK_NUMBER),
    E2("as", "AS", SRC_AS, DST_AS, QK_NUMBER),
    E1("prevas", "Prev AS", PREV_AS, QK_NUMBER),
    E1("nextas", "Next AS", NEXT_AS, QK_NUMBER),
    E1("inif", "Input If", IN_IF, QK_NUMBER),
    E1("outif", "Output If", OUT_IF, QK_NUMBER),
    E2("if", "In/Out If", IN_IF, OUT_IF, QK_NUMBER),
    E1("srcmask", "Src Mask", SRC_MASK, QK_NUMBER),
    E1("dstmask", "Dst Mask", DST_MASK, QK_NUMBER),
    E2("mask", "Mask", SRC_MASK, DST_MASK, QK_NUMBER),
    E1("srcvlan", "Src Vlan", SRC_VLAN, QK_NUMBER),
    E1("dstvlan", "Dst Vlan", DST_VLAN, QK_NUMBER),
    E2("vlan", "Vlan", SRC_VLAN, DST_VLAN, QK_NUMBER),
    E1("insrcmac", "In Src Mac", IN_SRC_MAC, QK_MAC),
    E1("outdstmac", "Out Dst Mac", OUT_DST_MAC, QK_MAC),
    E1("indstmac", "In Dst Mac", IN_DST_MAC, QK_MAC),
    E1("outsrcmac", "Out Src Mac", OUT_SRC_MAC, QK_MAC),
    E2("srcmac", "Src Mac", IN_SRC_MAC, OUT_SRC_MAC, QK_MAC),
    E2("dstmac", "Dst Mac", OUT_DST_MAC, IN_DST_MAC, QK_MAC),
    E2("inmac", "In Mac", IN_SRC_MAC, IN_DST_MAC, QK_MAC),
    E2("outmac", "Out Mac", OUT_SRC_MAC, OUT_DST_MAC, QK_MAC),
    E1("mpls1", "MPLS lab 1", MPLS_LABEL1, QK_MPLS),
    E1("sysid", "SysID", EXPORTER, QK_NUMBER),
    E1("vrf", "I-vrf ID", INGRESS_VRF, QK_NUMBER),
    E1("ivrf", "I-vrf ID", INGRESS_VRF, QK_NUMBER),
    E1("evrf", "E-vrf ID", EGRESS_VRF, QK_NUMBER),
    E1("xsrcip", "X-Src IP Addr", XLATE_SRC_ADDR, QK_ADDR),
    E1("xdstip", "X-Dst IP Addr", XLATE_DST_ADDR, QK_ADDR),
    E1("xsrcport", "X-Src Port", XLATE_SRC_PORT, QK_NUMBER),
    E1("xdstport", "X-Dst Port", XLATE_DST_PORT, QK_NUMBER),
    E1("nevent", "NAT Event", NAT_EVENT, QK_NUMBER),
    E1("srcgeo", "Src Geo", SRC_COUNTRY, QK_COUNTRY),
    E1("dstgeo", "Dst Geo", DST_COUNTRY, QK_COUNTRY),
    E1("flags", "Flags", TCP_FLAGS, QK_NUMBER),
    E1("engine", "Engine Type", ENGINE_TYPE, QK_NUMBER),
};
#define N_ELEMS (sizeof elems / sizeof elems[0])

const qelem *query_elem(const char *name, size_t len)
{
    for (size_t i = 0; i < N_ELEMS; i++)
        if (strlen(elems[i].name) == len && memcmp(elems[i].name, name, len) == 0)
            return &elems[i];
    return NULL;
}

const qelem *query_elem_by_col(fl_col c)
{
    for (size_t i = 0; i < N_ELEMS; i++)
        if (elems[i].ncols == 1 && elems[i].col[0] == c)
            return &elems[i];
    return NULL;
}

const char *const *fl_query_stat_elements(void)
{
    static const char *names[N_ELEMS + 1];

    if (names[0] == NULL)
        for (size_t i = 0; i < N_ELEMS; i++)
            names[i] = elems[i].name;
    return names;
}

const char *query_proto_name(uint8_t proto, int plain)
{
    static const struct {
        uint8_t p;
        const char *name;
    } names[] = {{1, "ICMP"}, {2, "IGMP"}, {6, "TCP"}, {17, "UDP"}, {41, "IPv6"},
                 {47, "GRE"}, {50, "ESP"}, {51, "AH"}, {58, "ICMP6"}, {89, "OSPF"},
                 {103, "PIM"}, {112, "VRRP"}, {132, "SCTP"}};
    static char num[256][4];

    if (!plain)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (names[i].p == proto)
                return names[i].name;
    if (num[proto][0] == '\0')
        snprintf(num[proto], sizeof num[proto], "%u", proto);
    return num[proto];
}

void query_key_format(fl_col c, fl_addr v, int plain, char *buf, size_t len)
{
    const qelem *el = query_elem_by_col(c);
    qkey_type t = el ? el->type : (fl_col_get(c)->kind == FL_KIND_ADDR ? QK_ADDR : QK_NUMBER);

    switch (t) {
    case QK_ADDR:
        fl_addr_format(v, buf, len);
        break;
    case QK_MAC:
        fl_mac_format(v.lo, buf, len);
        break;
    case QK_MPLS:
        snprintf(buf, len, "%8llu-%1llu-%1llu", (unsigned long long)(v.lo >> 4),
                 (unsigned long long)((v.lo & 0xf) >> 1), (unsigned long long)(v.lo & 1));
        break;
    case QK_PROTO:
        snprintf(buf, len, "%s", query_proto_name((uint8_t)v.lo, plain));
        break;
    case QK_COUNTRY:
        if (v.lo == 0)
            snprintf(buf, len, "..");
        else
            snprintf(buf, len, "%c%c", (char)(v.lo >> 8), (char)(v.lo & 0xff));
        break;
    case QK_NUMBER:
        snprintf(buf, len, "%llu", (unsigned long long)v.lo);
        break;
    }
}

/* "srcip4/24", "dstip6/48", "srcnet4/24": an address field with a prefix. */
static int parse_prefixed(const char *s, size_t len, fl_qfield *f, fl_err *e)
{
    static const struct {
        const char *name;
        fl_col col;
        int v6;
    } forms[] = {{"srcip4", FL_COL_SRC_ADDR, 0}, {"dstip4", FL_COL_DST_ADDR, 0},
                 {"srcip6", FL_COL_SRC_ADDR, 1}, {"dstip6", FL_COL_DST_ADDR, 1},
                 {"srcnet4", FL_COL_SRC_ADDR, 0}, {"dstnet4", FL_COL_DST_ADDR, 0},
                 {"srcnet6", FL_COL_SRC_ADDR, 1}, {"dstnet6", FL_COL_DST_ADDR, 1}};
    const char *slash = memchr(s, '/', len);
    size_t nlen = slash ? (size_t)(slash - s) : len;
    unsigned bits = 0;

    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        if (strlen(forms[i].name) != nlen || memcmp(forms[i].name, s, nlen) != 0)
            continue;
        if (slash == NULL || slash + 1 == s + len) {
            fl_err_at(e, FL_EPARSE, "query", 0, (long long)nlen,
                      "'%.*s' needs a prefix length, like %s/24", (int)nlen, s, forms[i].name);
            return -1;
        }
        for (const char *p = slash + 1; p < s + len; p++) {
            if (*p < '0' || *p > '9' || bits > 128) {
                fl_err_at(e, FL_EPARSE, "query", 0, (long long)(p - s),
                          "bad prefix length in '%.*s'", (int)len, s);
                return -1;
            }
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > (forms[i].v6 ? 128u : 32u)) {
            fl_err_at(e, FL_ERANGE, "query", 0, (long long)nlen + 1,
                      "prefix length %u too long for %s", bits, forms[i].v6 ? "IPv6" : "IPv4");
            return -1;
        }
        memset(f, 0, sizeof *f);
        f->col[0] = f->col[1] = forms[i].col;
        f->ncols = 1;
        f->prefix = (uint8_t)bits;
        f->v6 = (uint8_t)forms[i].v6;
        f->has_prefix = 1;
        return 1;
    }
    return 0;
}

fl_rc fl_query_parse_order(const char *name, fl_order *o, fl_err *e)
{
    static const char *const names[] = {"flows", "packets", "bytes", "pps",
                                        "bps",   "bpp",     "tstart", "tend"};
    for (int i = 0; i < 8; i++)
        if (strcmp(name, names[i]) == 0) {
            *o = (fl_order)i;
            return FL_OK;
        }
    return fl_err_at(e, FL_EINVAL, "query", 0, -1,
                     "unknown order '%s' (flows, packets, bytes, pps, bps, bpp, tstart, tend)",
                     name);
}

fl_rc fl_query_parse_metric(const char *name, fl_metric *m, fl_err *e)
{
    static const char *const names[] = {"flows", "packets", "bytes", "pps", "bps", "fps", "bpp"};
    for (int i = 0; i < 7; i++)
        if (strcmp(name, names[i]) == 0) {
            *m = (fl_metric)i;
            return FL_OK;
        }
    return fl_err_at(e, FL_EINVAL, "query", 0, -1,
                     "unknown metric '%s' (flows, packets, bytes, pps, bps, fps, bpp)", name);
}

static void unknown_element(const char *s, size_t len, fl_err *e)
{
    char list[700];
    size_t n = 0;

    for (size_t i = 0; i < N_ELEMS && n + 12 < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? " " : "", elems[i].name);
    fl_err_at(e, FL_EINVAL, "query", 0, -1,
              "unknown statistic element '%.*s' (known: %s, srcip4/N, dstip6/N)", (int)len, s,
              list);
}

fl_rc fl_query_parse_stat(fl_query_spec *s, const char *arg, fl_err *e)
{
    size_t len = strlen(arg), nlen = strcspn(arg, ":/");
    const char *rest = arg + nlen;
    const qelem *el;
    fl_qfield f;
    int pr;

    s->op = FL_QOP_STATS;
    s->element = arg;
    s->order = FL_ORDER_FLOWS;
    s->per_proto = 0;
    /* an address prefix form consumes "/N" */
    if (nlen < len && arg[nlen] == '/' && arg[nlen + 1] >= '0' && arg[nlen + 1] <= '9') {
        size_t plen = nlen + 1 + strspn(arg + nlen + 1, "0123456789");
        pr = parse_prefixed(arg, plen, &f, e);
        if (pr < 0)
            return e ? e->rc : FL_EPARSE;
        if (pr == 0) {
            unknown_element(arg, nlen, e);
            return FL_EINVAL;
        }
        s->keys[0] = f;
        rest = arg + plen;
    } else {
        el = query_elem(arg, nlen);
        if (el == NULL) {
            unknown_element(arg, nlen, e);
            return FL_EINVAL;
        }
        memset(&s->keys[0], 0, sizeof s->keys[0]);
        s->keys[0].col[0] = el->col[0];
        s->keys[0].col[1] = el->col[1];
        s->keys[0].ncols = (uint8_t)el->ncols;
    }
    s->nkeys = 1;
    if (*rest == ':') {
        if (rest[1] != 'p')
            return fl_err_at(e, FL_EINVAL, "query", 0, (long long)(rest - arg + 1),
                             "only ':p' (split by protocol) may follow a statistic element");
        s->per_proto = 1;
        rest += 2;
    }
    if (*rest == '/') {
        char ord[16];
        size_t olen = strcspn(rest + 1, "/");
        if (olen == 0 || olen >= sizeof ord)
            return fl_err_at(e, FL_EINVAL, "query", 0, (long long)(rest - arg + 1),
                             "bad order in '%s'", arg);
        memcpy(ord, rest + 1, olen);
        ord[olen] = '\0';
        if (fl_query_parse_order(ord, &s->order, e) != FL_OK)
            return FL_EINVAL;
        if (s->order == FL_ORDER_TSTART || s->order == FL_ORDER_TEND)
            return fl_err_at(e, FL_EINVAL, "query", 0, (long long)(rest - arg + 1),
                             "statistics order by flows, packets, bytes, pps, bps or bpp");
    } else if (*rest != '\0') {
        return fl_err_at(e, FL_EINVAL, "query", 0, (long long)(rest - arg),
                         "unexpected '%s' after statistic element", rest);
    }
    return FL_OK;
}

fl_rc fl_query_parse_aggregate(fl_query_spec *s, const char *arg, fl_err *e)
{
    const char *p = arg;

    s->op = FL_QOP_AGGREGATE;
    s->nkeys = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        fl_qfield f;
        int pr;

        if (len == 0)
            return fl_err_at(e, FL_EINVAL, "query", 0, (long long)(p - arg),
                             "empty field in aggregation list '%s'", arg);
        if (s->nkeys == FL_QUERY_MAX_KEYS)
            return fl_err_at(e, FL_ELIMIT, "query", 0, (long long)(p - arg),
                             "at most %d aggregation fields", FL_QUERY_MAX_KEYS);
        pr = parse_prefixed(p, len, &f, e);
        if (pr < 0)
            return e ? e->rc : FL_EPARSE;
        if (pr == 0) {
            const qelem *el = query_elem(p, len);
            if (el == NULL || el->ncols != 1) {
                fl_err_at(e, FL_EINVAL, "query", 0, (long long)(p - arg),
                          "unknown aggregation field '%.*s'", (int)len, p);
                return FL_EINVAL;
            }
            memset(&f, 0, sizeof f);
            f.col[0] = f.col[1] = el->col[0];
            f.ncols = 1;
        }
        s->keys[s->nkeys++] = f;
        p += len;
        if (*p == ',')
            p++;
    }
    if (s->nkeys == 0)
        return fl_err_at(e, FL_EINVAL, "query", 0, 0, "empty aggregation list");
    return FL_OK;
}

fl_rc fl_query_parse_having(fl_query_spec *s, const char *arg, fl_err *e)
{
    size_t nlen = strcspn(arg, "<>=");
    char name[16];
    const char *p;
    uint64_t v = 0;

    if (arg[nlen] == '\0' || nlen == 0 || nlen >= sizeof name)
        return fl_err_at(e, FL_EINVAL, "having", 0, (long long)nlen,
                         "expected METRIC<N, METRIC>N or METRIC=N (e.g. bytes>1000000)");
    memcpy(name, arg, nlen);
    name[nlen] = '\0';
    if (fl_query_parse_order(name, &s->having_metric, e) != FL_OK)
        return FL_EINVAL;
    p = arg + nlen + 1;
    if (*p < '0' || *p > '9')
        return fl_err_at(e, FL_EINVAL, "having", 0, (long long)(p - arg), "expected a number");
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return fl_err_at(e, FL_ERANGE, "having", 0, (long long)(p - arg), "number too large");
        v = v * 10 + (uint64_t)(*p - '0');
    }
    switch (*p) {
    case 'k': v *= 1000; p++; break;
    case 'm': case 'M': v *= 1000000; p++; break;
    case 'g': case 'G': v *= 1000000000; p++; break;
    default: break;
    }
    if (*p != '\0')
        return fl_err_at(e, FL_EINVAL, "having", 0, (long long)(p - arg),
                         "unexpected '%s' after the number", p);
    s->having_op = arg[nlen];
    s->having_value = v;
    return FL_OK;
}
