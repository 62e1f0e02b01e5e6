/*
 * query/format.c — nfdump's text listings: -o line, long, extended and
 * -o "fmt:%ts %td %pr ...".
 *
 * People and scripts read nfdump's listings by column position, so a
 * flowlens listing must be the same text byte for byte: same tags, widths,
 * alignment, k/M/G scaling (none under -N), IPv6 shortening
 * ("2001:db8..::1" unless -6 / "line6") and header line. A format is
 * parsed once into a list of items — static text or a tag — and each row
 * of a batch is printed by walking that list. The parser follows nfdump's
 * rule for where a tag ends (the first tag of its table, in table order,
 * whose name is followed by a non-letter), so "%mpls10" reads as nfdump
 * reads it. %ra asks the caller for exporter addresses (the store's
 * exporter table, an nfcapd file's exporter records). Tags for data
 * flowlens does not keep (latencies, payloads,
 * NSEL ACLs, nbar, ja3, ...) are refused with the tag and its position.
 *
 * Quirks kept on purpose because nfdump prints them: %ter prints the
 * milliseconds modulo 100, %flg prints dots unless the flow is TCP, %sn/%dn
 * with mask 0 leave an IPv4 address whole.
 */
#include "query_int.h"
#include "nfdump/nfdump.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* hard limits: a format is a command-line argument, not data */
#define QF_MAX_ITEMS 256
#define QF_MAX_HEADER 10240

typedef enum qtag {
    T_TS, T_TSR, T_TE, T_TER, T_TR, T_TRR, T_TD, T_TDS, T_EXP, T_PR,
    T_SA, T_DA, T_SN, T_DN, T_NH, T_NHB, T_SAP, T_DAP, T_SP, T_DP, T_IT, T_IC,
    T_SAS, T_DAS, T_NAS, T_PAS, T_IN, T_OUT, T_IPKT, T_OPKT, T_IBYT, T_OBYT, T_FL,
    T_FLG, T_TOS, T_STOS, T_DTOS, T_DIR, T_SMK, T_DMK, T_FWD, T_END, T_SVLN, T_DVLN,
    T_ISMC, T_ODMC, T_IDMC, T_OSMC, T_MPLS1, T_MPLSN, T_MPLS, T_BPS, T_PPS, T_BPP,
    T_ENG, T_LBL, T_NL, T_IVRF, T_EVRF, T_EVT, T_XSA, T_XDA, T_XSP, T_XDP, T_XSAP,
    T_XDAP, T_RA, T_UNSUPPORTED
} qtag;

typedef struct qtagdef {
    const char *name;
    int is_address; /* header widens under long IPv6 */
    const char *header;
    qtag tag;
} qtagdef;

/* nfdump 1.7.1's tag table, in its order (the order decides how a run of
 * letters and digits splits into tags). */
static const qtagdef tags[] = {
    {"%nfv", 0, "Ver", T_UNSUPPORTED},
    {"%cnt", 0, "Count", T_UNSUPPORTED},
    {"%tfs", 0, "Date first seen        ", T_TS},
    {"%ts", 0, "Date first seen        ", T_TS},
    {"%tsr", 0, "Date first seen (raw)    ", T_TSR},
    {"%te", 0, "Date last seen         ", T_TE},
    {"%ter", 0, "Date last seen (raw)     ", T_TER},
    {"%tr", 0, "Date flow received     ", T_TR},
    {"%trr", 0, "Date flow received (raw)  ", T_TRR},
    {"%td", 0, "    Duration    ", T_TD},
    {"%tds", 0, "    Duration    ", T_TDS},
    {"%exp", 0, "Exp ID", T_EXP},
    {"%pr", 0, "Proto", T_PR},
    {"%sa", 1, "     Src IP Addr", T_SA},
    {"%da", 1, "     Dst IP Addr", T_DA},
    {"%gsa", 1, "", T_UNSUPPORTED},
    {"%gda", 1, "", T_UNSUPPORTED},
    {"%sn", 1, "        Src Network", T_SN},
    {"%dn", 1, "        Dst Network", T_DN},
    {"%nh", 1, "     Next-hop IP", T_NH},
    {"%nhb", 1, " BGP next-hop IP", T_NHB},
    {"%ra", 1, "       Router IP", T_RA},
    {"%sap", 1, "     Src IP Addr:Port ", T_SAP},
    {"%dap", 1, "     Dst IP Addr:Port ", T_DAP},
    {"%gsap", 1, "", T_UNSUPPORTED},
    {"%gdap", 1, "", T_UNSUPPORTED},
    {"%sp", 0, "Src Pt", T_SP},
    {"%dp", 0, "Dst Pt", T_DP},
    {"%it", 0, "ICMP-T", T_IT},
    {"%ic", 0, "ICMP-C", T_IC},
    {"%sas", 0, "Src AS", T_SAS},
    {"%das", 0, "Dst AS", T_DAS},
    {"%nas", 0, "Next AS", T_NAS},
    {"%pas", 0, "Prev AS", T_PAS},
    {"%in", 0, " Input", T_IN},
    {"%inam", 0, "", T_UNSUPPORTED},
    {"%out", 0, "Output", T_OUT},
    {"%onam", 0, "", T_UNSUPPORTED},
    {"%pkt", 0, " Packets", T_IPKT},
    {"%ipkt", 0, "  In Pkt", T_IPKT},
    {"%opkt", 0, " Out Pkt", T_OPKT},
    {"%byt", 0, "   Bytes", T_IBYT},
    {"%ibyt", 0, " In Byte", T_IBYT},
    {"%obyt", 0, "Out Byte", T_OBYT},
    {"%fl", 0, "Flows", T_FL},
    {"%flg", 0, "   Flags", T_FLG},
    {"%tos", 0, "Tos", T_TOS},
    {"%stos", 0, "STos", T_STOS},
    {"%dtos", 0, "DTos", T_DTOS},
    {"%dir", 0, "Dir", T_DIR},
    {"%smk", 0, "SMask", T_SMK},
    {"%dmk", 0, "DMask", T_DMK},
    {"%fwd", 0, "Fwd", T_FWD},
    {"%bfd", 0, "", T_UNSUPPORTED},
    {"%end", 0, "End", T_END},
    {"%svln", 0, "SVlan", T_SVLN},
    {"%dvln", 0, "DVlan", T_DVLN},
    {"%ismc", 0, "  In src MAC Addr", T_ISMC},
    {"%odmc", 0, " Out dst MAC Addr", T_ODMC},
    {"%idmc", 0, "  In dst MAC Addr", T_IDMC},
    {"%osmc", 0, " Out src MAC Addr", T_OSMC},
    {"%mpls1", 0, " MPLS lbl 1 ", T_MPLS1},
    {"%mpls2", 0, " MPLS lbl 2 ", T_MPLSN},
    {"%mpls3", 0, " MPLS lbl 3 ", T_MPLSN},
    {"%mpls4", 0, " MPLS lbl 4 ", T_MPLSN},
    {"%mpls5", 0, " MPLS lbl 5 ", T_MPLSN},
    {"%mpls6", 0, " MPLS lbl 6 ", T_MPLSN},
    {"%mpls7", 0, " MPLS lbl 7 ", T_MPLSN},
    {"%mpls8", 0, " MPLS lbl 8 ", T_MPLSN},
    {"%mpls9", 0, " MPLS lbl 9 ", T_MPLSN},
    {"%mpls10", 0, " MPLS lbl 10", T_MPLSN},
    {"%mpls", 0,
     "                                               MPLS labels 1-10"
     "                                                                   ",
     T_MPLS},
    {"%bps", 0, "     bps", T_BPS},
    {"%pps", 0, "     pps", T_PPS},
    {"%bpp", 0, "   Bpp", T_BPP},
    {"%eng", 0, " engine", T_ENG},
    {"%lbl", 0, "           label", T_LBL},
    {"%sc", 0, "", T_UNSUPPORTED},
    {"%dc", 0, "", T_UNSUPPORTED},
    {"%sloc", 0, "", T_UNSUPPORTED},
    {"%dloc", 0, "", T_UNSUPPORTED},
    {"%n", 0, "", T_NL},
    {"%ipl", 0, "", T_UNSUPPORTED},
    {"%opl", 0, "", T_UNSUPPORTED},
    {"%nbid", 0, "", T_UNSUPPORTED},
    {"%ja3", 0, "", T_UNSUPPORTED},
    {"%sni", 0, "", T_UNSUPPORTED},
    {"%nbnam", 0, "", T_UNSUPPORTED},
    {"%odid", 0, "", T_UNSUPPORTED},
    {"%opid", 0, "", T_UNSUPPORTED},
    {"%vrf", 0, "  I-VRF-ID", T_IVRF},
    {"%ivrf", 0, "  I-VRF-ID", T_IVRF},
    {"%ivrfnam", 0, "", T_UNSUPPORTED},
    {"%evrf", 0, "  E-VRF-ID", T_EVRF},
    {"%evrfnam", 0, "", T_UNSUPPORTED},
    {"%nfc", 0, "", T_UNSUPPORTED},
    {"%tevt", 0, "", T_UNSUPPORTED},
    {"%evt", 0, " Event", T_EVT},
    {"%xevt", 0, "", T_UNSUPPORTED},
    {"%sgt", 0, "", T_UNSUPPORTED},
    {"%msec", 0, "", T_UNSUPPORTED},
    {"%iacl", 0, "", T_UNSUPPORTED},
    {"%eacl", 0, "", T_UNSUPPORTED},
    {"%xsa", 0, "   X-late Src IP", T_XSA},
    {"%xda", 0, "   X-late Dst IP", T_XDA},
    {"%xsp", 0, "XsPort", T_XSP},
    {"%xdp", 0, "XdPort", T_XDP},
    {"%xsap", 1, "   X-Src IP Addr:Port ", T_XSAP},
    {"%xdap", 1, "   X-Dst IP Addr:Port ", T_XDAP},
    {"%uname", 0, "", T_UNSUPPORTED},
    {"%nevt", 0, " Event", T_EVT},
    {"%nsa", 0, "   X-late Src IP", T_XSA},
    {"%nda", 0, "   X-late Dst IP", T_XDA},
    {"%nsp", 0, "XsPort", T_XSP},
    {"%ndp", 0, "XdPort", T_XDP},
    {"%nsap", 1, "   X-Src IP Addr:Port ", T_XSAP},
    {"%ndap", 1, "   X-Dst IP Addr:Port ", T_XDAP},
    {"%pbstart", 0, "", T_UNSUPPORTED},
    {"%pbend", 0, "", T_UNSUPPORTED},
    {"%pbstep", 0, "", T_UNSUPPORTED},
    {"%pbsize", 0, "", T_UNSUPPORTED},
    {"%cl", 0, "", T_UNSUPPORTED},
    {"%sl", 0, "", T_UNSUPPORTED},
    {"%al", 0, "", T_UNSUPPORTED},
};

/* nfdump's predefined formats (output_fmt.h of 1.7.1) */
static const struct {
    const char *name, *fmt;
} predefined[] = {
    {"line", "%ts %td %pr %sap -> %dap %pkt %byt %fl"},
    {"long", "%ts %td %pr %sap -> %dap %flg %tos %pkt %byt %fl"},
    {"extended", "%ts %td %pr %sap -> %dap %flg %tos %pkt %byt %pps %bps %bpp %fl"},
    {"biline", "%ts %td %pr %sap <-> %dap %opkt %ipkt %obyt %ibyt %fl"},
    {"bilong", "%ts %td %pr %sap <-> %dap %flg %tos %opkt %ipkt %obyt %ibyt %fl"},
    {"nel", "%tevt %nevt %pr %sap -> %dap %nsap -> %ndap"},
};

typedef struct qitem {
    qtag tag;       /* T_UNSUPPORTED never stored; text when text != NULL */
    uint8_t mpls;   /* T_MPLSN: label index 2..10 */
    char *text;
} qitem;

struct fl_query_fmt {
    qitem items[QF_MAX_ITEMS];
    unsigned n;
    int plain, long_v6;
    fl_addr (*exporter_addr)(void *ctx, uint16_t exporter);
    void *exporter_ctx;
    const uint64_t *flows; /* %fl per row; NULL = 1 (a flow) */
    char header[QF_MAX_HEADER];
    size_t hlen;
};

static int header_add(fl_query_fmt *f, const char *s, size_t pad_to)
{
    size_t l = strlen(s), need = l > pad_to ? l : pad_to;

    if (f->hlen + need + 1 > sizeof f->header)
        return -1;
    memset(f->header + f->hlen, ' ', need - l);
    memcpy(f->header + f->hlen + (need - l), s, l);
    f->hlen += need;
    f->header[f->hlen] = '\0';
    return 0;
}

static fl_rc add_item(fl_query_fmt *f, qtag t, uint8_t mpls, const char *text, size_t tlen,
                      fl_err *e)
{
    qitem *it;

    if (f->n >= QF_MAX_ITEMS)
        return fl_err_set(e, FL_ELIMIT, "output format has more than %d items", QF_MAX_ITEMS);
    it = &f->items[f->n];
    it->tag = t;
    it->mpls = mpls;
    it->text = NULL;
    if (text != NULL) {
        it->text = malloc(tlen + 1);
        if (it->text == NULL)
            return fl_err_set(e, FL_ENOMEM, "out of memory");
        memcpy(it->text, text, tlen);
        it->text[tlen] = '\0';
    }
    f->n++;
    return FL_OK;
}

void fl_query_fmt_free(fl_query_fmt *f)
{
    if (f == NULL)
        return;
    for (unsigned i = 0; i < f->n; i++)
        free(f->items[i].text);
    free(f);
}

/* Parse the tag list of a "fmt:" format (without the prefix). */
/* base: offset of s inside the -o argument, so positions name the argument's */
static fl_rc parse_tags(fl_query_fmt *f, const char *s, size_t base, fl_err *e)
{
    size_t len = strlen(s), i = 0;
    uint8_t mpls_n;
    fl_rc rc;

    while (i < len) {
        if (s[i] == '%') {
            const qtagdef *hit = NULL;
            size_t tl = 0;
            for (size_t k = 0; k < sizeof tags / sizeof tags[0] && hit == NULL; k++) {
                tl = strlen(tags[k].name);
                if (len - i >= tl && memcmp(s + i, tags[k].name, tl) == 0 &&
                    !isalpha((unsigned char)s[i + tl]))
                    hit = &tags[k];
            }
            if (hit == NULL) {
                size_t w = 1;
                while (i + w < len && isalnum((unsigned char)s[i + w]))
                    w++;
                fl_err_at(e, FL_EPARSE, "output format", 0, (long long)(base + i),
                          "unknown tag '%.*s' at position %zu", (int)w, s + i, base + i + 1);
                return FL_EPARSE;
            }
            if (hit->tag == T_UNSUPPORTED) {
                fl_err_at(e, FL_EUNSUPPORTED, "output format", 0, (long long)(base + i),
                          "tag '%s' at position %zu: flowlens keeps no such data", hit->name,
                          base + i + 1);
                return FL_EUNSUPPORTED;
            }
            mpls_n = hit->tag == T_MPLSN ? (uint8_t)strtoul(hit->name + 5, NULL, 10) : 0;
            rc = add_item(f, hit->tag, mpls_n, NULL, 0, e);
            if (rc != FL_OK)
                return rc;
            if (f->long_v6 && hit->is_address && header_add(f, "", 23) != 0)
                return fl_err_set(e, FL_ELIMIT, "output format header too long");
            if (header_add(f, hit->header, 0) != 0)
                return fl_err_set(e, FL_ELIMIT, "output format header too long");
            i += tl;
        } else {
            const char *p = memchr(s + i, '%', len - i);
            size_t tl = p ? (size_t)(p - (s + i)) : len - i;
            rc = add_item(f, T_UNSUPPORTED, 0, s + i, tl, e);
            if (rc != FL_OK)
                return rc;
            if (header_add(f, "", tl) != 0)
                return fl_err_set(e, FL_ELIMIT, "output format header too long");
            i += tl;
        }
    }
    return FL_OK;
}

fl_rc fl_query_fmt_parse(const char *spec, int flags, fl_query_fmt **out, fl_err *e)
{
    fl_query_fmt *f;
    const char *body = NULL;
    size_t base = 0; /* where body starts in spec (for error positions) */
    char name[32];
    size_t sl;
    fl_rc rc;

    *out = NULL;
    if (spec == NULL || spec[0] == '\0')
        return fl_err_set(e, FL_EINVAL, "empty output format");
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory");
    f->plain = (flags & FL_RENDER_PLAIN) != 0;
    f->long_v6 = (flags & FL_RENDER_LONGV6) != 0;
    if (strncmp(spec, "fmt:", 4) == 0 || spec[0] == '%') {
        body = spec[0] == '%' ? spec : spec + 4;
        base = (size_t)(body - spec);
        if (body[0] == '\0') {
            fl_query_fmt_free(f);
            return fl_err_set(e, FL_EINVAL, "missing format description after 'fmt:'");
        }
    } else {
        /* "line6", "long6", "extended6": the same with full IPv6 addresses */
        sl = strlen(spec);
        if (sl >= sizeof name) {
            fl_query_fmt_free(f);
            return fl_err_set(e, FL_EINVAL, "unknown output format '%s'", spec);
        }
        memcpy(name, spec, sl + 1);
        if (sl > 2 && name[sl - 1] == '6') {
            f->long_v6 = 1;
            name[sl - 1] = '\0';
        }
        for (size_t k = 0; k < sizeof predefined / sizeof predefined[0]; k++)
            if (strcmp(name, predefined[k].name) == 0)
                body = predefined[k].fmt;
        if (body == NULL) {
            fl_query_fmt_free(f);
            return fl_err_set(e, FL_EINVAL, "unknown output format '%s'", spec);
        }
    }
    rc = parse_tags(f, body, base, e);
    if (rc != FL_OK) {
        fl_query_fmt_free(f);
        return rc;
    }
    *out = f;
    return FL_OK;
}

const char *fl_query_fmt_header(const fl_query_fmt *f) { return f->header; }

void fl_query_fmt_set_flows(fl_query_fmt *f, const uint64_t *flows) { f->flows = flows; }

void fl_query_fmt_set_exporters(fl_query_fmt *f, fl_addr (*addr)(void *ctx, uint16_t exporter),
                                void *ctx)
{
    f->exporter_addr = addr;
    f->exporter_ctx = ctx;
}

/* ------------------------------------------------------------------ */
/* Printing one row                                                    */
/* ------------------------------------------------------------------ */

/* nfdump's format_number with fixed width */
static void number(uint64_t num, int plain, char *s, size_t len)
{
    double v = (double)num;

    if (plain)
        snprintf(s, len, "%" PRIu64, num);
    else if (v >= 1e12)
        snprintf(s, len, "%5.1f T", v / 1e12);
    else if (v >= 1e9)
        snprintf(s, len, "%5.1f G", v / 1e9);
    else if (v >= 1e6)
        snprintf(s, len, "%5.1f M", v / 1e6);
    else
        snprintf(s, len, "%4.0f", v);
}

/* a rate as nfdump's integer conversion, saturated instead of undefined */
static uint64_t to_u64(double v)
{
    return v >= 18446744073709549568.0 ? UINT64_MAX : v <= 0 ? 0 : (uint64_t)v;
}

static void date_ms(FILE *o, fl_time t, unsigned ms)
{
    time_t sec = (time_t)(t / 1000);
    struct tm tm;
    char s[64];

    if (localtime_r(&sec, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(s, sizeof s, "?");
    fprintf(o, "%s.%03u", s, ms);
}

/* nfdump's CondenseV6: keep 7 characters each side of "..". */
static void condense(char *s)
{
    size_t l = strlen(s);

    if (l <= 16)
        return;
    memmove(s + 9, s + l - 7, 8);
    s[7] = '.';
    s[8] = '.';
}

/* v6 = print in IPv6 form (nfdump's per-record flag) */
static void addr_text(fl_addr a, int v6, int long_v6, char *out, size_t len)
{
    if (!v6) {
        uint32_t v4 = htonl(fl_addr_v4(a));
        inet_ntop(AF_INET, &v4, out, (socklen_t)len);
    } else {
        uint8_t b16[16];
        fl_addr_to_v6(a, b16);
        /* an IPv4-form address in an IPv6 flow (an unset field, an
         * aggregated key) is the IPv6 ::a.b.c.d nfdump holds */
        if (fl_addr_is_v4(a))
            memset(b16 + 10, 0, 2);
        inet_ntop(AF_INET6, b16, out, (socklen_t)len);
        if (!long_v6)
            condense(out);
    }
}

static int single_v6(fl_addr a) { return !(fl_addr_is_v4(a) || (a.hi == 0 && a.lo == 0)); }

static void mac(FILE *o, uint64_t m)
{
    char s[FL_MAC_STRLEN];
    fl_mac_format(m, s, sizeof s);
    fputs(s, o);
}

static void mpls(FILE *o, uint32_t l)
{
    fprintf(o, "%8u-%1u-%1u", l >> 4, (l & 0xF) >> 1, l & 1);
}

static const char *event_name(uint8_t ev)
{
    return ev == 0 ? "INVALID" : ev == 1 ? "ADD" : ev == 2 ? "DELETE" : "UNKNOW";
}

/* The address with its prefix (mask) applied, the way nfdump's %sn does. */
static fl_addr net_of(fl_addr a, int v6, unsigned bits)
{
    if (!v6) {
        uint32_t v = fl_addr_v4(a);
        if (bits > 0 && bits < 32)
            v &= 0xffffffffu << (32 - bits);
        return fl_addr_from_v4(v);
    }
    if (bits > 64) {
        if (bits < 128)
            a.lo &= ~0ULL << (128 - bits);
    } else {
        if (bits > 0)
            a.hi &= ~0ULL << (64 - bits);
        a.lo = 0;
    }
    return a;
}

static void print_item(const fl_query_fmt *f, const qitem *it, const fl_batch *b, uint32_t r,
                       int v6, FILE *o)
{
    char s[64], a[INET6_ADDRSTRLEN + 8], ptmp[8];
    fl_time first = FL_TIMES(b, FL_COL_TIME_FIRST)[r], last = FL_TIMES(b, FL_COL_TIME_LAST)[r];
    double dur = (double)((uint64_t)last - (uint64_t)first) / 1000.0;
    uint8_t proto = FL_U8(b, FL_COL_PROTO)[r];
    uint64_t pk = FL_U64(b, FL_COL_PACKETS)[r], by = FL_U64(b, FL_COL_BYTES)[r];
    int aw = f->long_v6 ? 39 : 16;
    int icmp = proto == 1 || proto == 58;

    switch (it->tag) {
    case T_TS: date_ms(o, first, (unsigned)((uint64_t)first % 1000)); break;
    case T_TE: date_ms(o, last, (unsigned)((uint64_t)last % 1000)); break;
    case T_TR: {
        fl_time t = FL_TIMES(b, FL_COL_TIME_RECEIVED)[r];
        date_ms(o, t, (unsigned)((uint64_t)t % 1000));
        break;
    }
    case T_TSR:
        fprintf(o, "%" PRIu64 ".%03" PRIu64, (uint64_t)first / 1000, (uint64_t)first % 1000);
        break;
    case T_TER: /* nfdump prints the milliseconds modulo 100 here */
        fprintf(o, "%" PRIu64 ".%03" PRIu64, (uint64_t)last / 1000, (uint64_t)last % 100);
        break;
    case T_TRR:
        fprintf(o, "%.3f", (double)(uint64_t)FL_TIMES(b, FL_COL_TIME_RECEIVED)[r] / 1000.0);
        break;
    case T_TD:
        if (f->plain) {
            fprintf(o, "%16.3f", dur);
        } else {
            /* nfdump's DurationString, in wider integers: a flow that ends
             * before it starts has a duration of ~2^64 ms */
            long long days = (long long)(dur / 86400);
            double sum = 86400.0 * (double)days;
            int hours = (int)((dur - sum) / 3600), min;
            sum += 3600.0 * hours;
            min = (int)((dur - sum) / 60);
            if (days == 0)
                fprintf(o, "    %02d:%02d:%06.3f", hours, min, dur - sum - 60 * min);
            else
                fprintf(o, "%2lldd %02d:%02d:%06.3f", days, hours, min, dur - sum - 60 * min);
        }
        break;
    case T_TDS: fprintf(o, "%16.3f", dur); break;
    case T_EXP: fprintf(o, "%6u", FL_U16(b, FL_COL_EXPORTER)[r]); break;
    case T_PR:
        if (f->plain)
            fprintf(o, "%-5u", proto);
        else
            fprintf(o, "%-5s", fl_nfdump_proto_name(proto, ptmp));
        break;
    case T_SA:
    case T_DA:
    case T_SAP:
    case T_DAP:
    case T_SN:
    case T_DN: {
        int src = it->tag == T_SA || it->tag == T_SAP || it->tag == T_SN;
        fl_addr x = FL_ADDRS(b, src ? FL_COL_SRC_ADDR : FL_COL_DST_ADDR)[r];
        unsigned bits = FL_U8(b, src ? FL_COL_SRC_MASK : FL_COL_DST_MASK)[r];
        if (it->tag == T_SN || it->tag == T_DN)
            x = net_of(x, v6, bits);
        addr_text(x, v6, f->long_v6, a, sizeof a);
        if (it->tag == T_SA || it->tag == T_DA)
            fprintf(o, "%*s", aw, a);
        else if (it->tag == T_SN || it->tag == T_DN)
            fprintf(o, "%*s/%-2u", aw, a, bits);
        else if (it->tag == T_SAP)
            fprintf(o, "%*s%c%-5u", aw, a, v6 ? '.' : ':', FL_U16(b, FL_COL_SRC_PORT)[r]);
        else {
            if (icmp)
                snprintf(s, sizeof s, "%u.%u", FL_U8(b, FL_COL_ICMP_TYPE)[r],
                         FL_U8(b, FL_COL_ICMP_CODE)[r]);
            else
                snprintf(s, sizeof s, "%u", FL_U16(b, FL_COL_DST_PORT)[r]);
            fprintf(o, "%*s%c%-5s", aw, a, v6 ? '.' : ':', s);
        }
        break;
    }
    case T_NH:
    case T_NHB:
    case T_XSA:
    case T_XDA:
    case T_XSAP:
    case T_XDAP: {
        static const fl_col cols[] = {FL_COL_NEXT_HOP, FL_COL_BGP_NEXT_HOP, FL_COL_XLATE_SRC_ADDR,
                                      FL_COL_XLATE_DST_ADDR, FL_COL_XLATE_SRC_ADDR,
                                      FL_COL_XLATE_DST_ADDR};
        fl_col c = cols[it->tag == T_NH     ? 0
                        : it->tag == T_NHB  ? 1
                        : it->tag == T_XSA  ? 2
                        : it->tag == T_XDA  ? 3
                        : it->tag == T_XSAP ? 4
                                            : 5];
        fl_addr x = FL_ADDRS(b, c)[r];
        /* an unset next hop of an IPv6 flow prints as nfdump prints the
         * IPv6 next hop an exporter leaves empty */
        int xv6 = single_v6(x) || (v6 && x.hi == 0 && x.lo == 0 &&
                                        (it->tag == T_NH || it->tag == T_NHB));
        addr_text(x, xv6, f->long_v6, a, sizeof a);
        if (it->tag == T_XSAP || it->tag == T_XDAP) {
            fl_col pc = it->tag == T_XSAP ? FL_COL_XLATE_SRC_PORT : FL_COL_XLATE_DST_PORT;
            fprintf(o, "%*s%c%-5u", aw, a, xv6 ? '.' : ':', FL_U16(b, pc)[r]);
        }
        else {
            fprintf(o, "%*s", aw, a);
        }
        break;
    }
    case T_RA: {
        fl_addr x = {0, 0};
        if (f->exporter_addr != NULL)
            x = f->exporter_addr(f->exporter_ctx, FL_U16(b, FL_COL_EXPORTER)[r]);
        addr_text(x, single_v6(x), f->long_v6, a, sizeof a);
        fprintf(o, "%*s", aw, a);
        break;
    }
    case T_SP: fprintf(o, "%6u", FL_U16(b, FL_COL_SRC_PORT)[r]); break;
    case T_DP:
        if (icmp)
            snprintf(s, sizeof s, "%u.%u", FL_U8(b, FL_COL_ICMP_TYPE)[r],
                     FL_U8(b, FL_COL_ICMP_CODE)[r]);
        else
            snprintf(s, sizeof s, "%u", FL_U16(b, FL_COL_DST_PORT)[r]);
        fprintf(o, "%6s", s);
        break;
    case T_IT: fprintf(o, "%6u", icmp ? FL_U8(b, FL_COL_ICMP_TYPE)[r] : 0); break;
    case T_IC: fprintf(o, "%6u", icmp ? FL_U8(b, FL_COL_ICMP_CODE)[r] : 0); break;
    case T_SAS: fprintf(o, "%6u", FL_U32(b, FL_COL_SRC_AS)[r]); break;
    case T_DAS: fprintf(o, "%6u", FL_U32(b, FL_COL_DST_AS)[r]); break;
    case T_NAS: fprintf(o, " %6u", FL_U32(b, FL_COL_NEXT_AS)[r]); break;
    case T_PAS: fprintf(o, " %6u", FL_U32(b, FL_COL_PREV_AS)[r]); break;
    case T_IN: fprintf(o, "%6u", FL_U32(b, FL_COL_IN_IF)[r]); break;
    case T_OUT: fprintf(o, "%6u", FL_U32(b, FL_COL_OUT_IF)[r]); break;
    case T_IPKT:
    case T_OPKT:
    case T_IBYT:
    case T_OBYT:
    case T_BPS:
    case T_PPS: {
        uint64_t v;
        if (it->tag == T_IPKT)
            v = pk;
        else if (it->tag == T_IBYT)
            v = by;
        else if (it->tag == T_OPKT)
            v = FL_U64(b, FL_COL_OUT_PACKETS)[r];
        else if (it->tag == T_OBYT)
            v = FL_U64(b, FL_COL_OUT_BYTES)[r];
        else if (it->tag == T_BPS)
            v = dur != 0 ? to_u64((double)(by << 3) / dur) : 0;
        else
            v = dur != 0 ? to_u64((double)pk / dur) : 0;
        number(v, f->plain, s, sizeof s);
        fprintf(o, "%8s", s);
        break;
    }
    case T_BPP: fprintf(o, "%6u", pk ? (unsigned)(uint32_t)(by / pk) : 0u); break;
    case T_FL: { /* an aggregated record's flows (its flows column, 0 = one) */
        uint64_t n = f->flows ? f->flows[r] : FL_U64(b, FL_COL_FLOWS)[r];
        fprintf(o, "%5" PRIu64, n ? n : (uint64_t)1);
        break;
    }
    case T_FLG: {
        uint8_t fl = proto == 6 ? FL_U8(b, FL_COL_TCP_FLAGS)[r] : 0;
        const char *ch = "CEUAPRSF";
        for (int i = 0; i < 8; i++)
            s[i] = (fl & (0x80 >> i)) ? ch[i] : '.';
        s[8] = '\0';
        fprintf(o, "%8s", s);
        break;
    }
    case T_TOS: fprintf(o, "%3u", FL_U8(b, FL_COL_SRC_TOS)[r]); break;
    case T_STOS: fprintf(o, "%4u", FL_U8(b, FL_COL_SRC_TOS)[r]); break;
    case T_DTOS: fprintf(o, "%4u", FL_U8(b, FL_COL_DST_TOS)[r]); break;
    case T_DIR: fprintf(o, "%3c", FL_U8(b, FL_COL_DIRECTION)[r] ? 'E' : 'I'); break;
    case T_SMK: fprintf(o, "%5u", FL_U8(b, FL_COL_SRC_MASK)[r]); break;
    case T_DMK: fprintf(o, "%5u", FL_U8(b, FL_COL_DST_MASK)[r]); break;
    case T_FWD: fprintf(o, "%3u", FL_U8(b, FL_COL_FWD_STATUS)[r]); break;
    case T_END: fprintf(o, "%3u", FL_U8(b, FL_COL_END_REASON)[r]); break;
    case T_SVLN: fprintf(o, "%5u", FL_U16(b, FL_COL_SRC_VLAN)[r]); break;
    case T_DVLN: fprintf(o, "%5u", FL_U16(b, FL_COL_DST_VLAN)[r]); break;
    case T_ISMC: mac(o, FL_MACS(b, FL_COL_IN_SRC_MAC)[r]); break;
    case T_ODMC: mac(o, FL_MACS(b, FL_COL_OUT_DST_MAC)[r]); break;
    case T_IDMC: mac(o, FL_MACS(b, FL_COL_IN_DST_MAC)[r]); break;
    case T_OSMC: mac(o, FL_MACS(b, FL_COL_OUT_SRC_MAC)[r]); break;
    case T_MPLS1: mpls(o, FL_U32(b, FL_COL_MPLS_LABEL1)[r]); break;
    case T_MPLSN: mpls(o, 0); break; /* flowlens keeps the first label only */
    case T_MPLS:
        mpls(o, FL_U32(b, FL_COL_MPLS_LABEL1)[r]);
        fputc(' ', o);
        for (int i = 1; i < 10; i++) {
            mpls(o, 0);
            fputc(' ', o);
        }
        break;
    case T_ENG:
        fprintf(o, "%3u/%-3u", FL_U8(b, FL_COL_ENGINE_TYPE)[r], FL_U8(b, FL_COL_ENGINE_ID)[r]);
        break;
    case T_LBL: fprintf(o, "%16s", "<none>"); break;
    case T_NL: fputc('\n', o); break;
    case T_IVRF: fprintf(o, "%10u", FL_U32(b, FL_COL_INGRESS_VRF)[r]); break;
    case T_EVRF: fprintf(o, "%10u", FL_U32(b, FL_COL_EGRESS_VRF)[r]); break;
    case T_EVT: fprintf(o, "%7s", event_name(FL_U8(b, FL_COL_NAT_EVENT)[r])); break;
    case T_XSP: fprintf(o, "%6u", FL_U16(b, FL_COL_XLATE_SRC_PORT)[r]); break;
    case T_XDP: fprintf(o, "%6u", FL_U16(b, FL_COL_XLATE_DST_PORT)[r]); break;
    case T_UNSUPPORTED: break;
    }
}

void fl_query_fmt_row(const fl_query_fmt *f, const fl_batch *b, uint32_t r, FILE *o)
{
    fl_addr sa = FL_ADDRS(b, FL_COL_SRC_ADDR)[r], da = FL_ADDRS(b, FL_COL_DST_ADDR)[r];
    /* nfdump keeps one IPv6 flag for both addresses of a flow */
    int v6 = single_v6(sa) || single_v6(da);

    for (unsigned i = 0; i < f->n; i++) {
        if (f->items[i].text != NULL)
            fputs(f->items[i].text, o);
        else
            print_item(f, &f->items[i], b, r, v6, o);
    }
    fputc('\n', o);
}
