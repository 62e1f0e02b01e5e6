/*
 * nfdump/csv.c — flows printed the way `nfdump -o csv` prints them.
 *
 * Users and tests compare flowlens listings with nfdump's line by line, so
 * this writer follows nfdump 1.7's csv layout: the same 48 columns, local
 * times, the protocol names nfdump uses, TCP flags as eight letters or
 * dots, MAC and MPLS notation, IPv6 through inet_ntop. Columns flowlens
 * does not keep (MPLS labels 2-10, nprobe latencies) print as nfdump prints
 * them for a flow without them. An address column with no value prints as
 * 0.0.0.0, as nfdump does.
 */
#include "nfdump_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

/* nfdump's short protocol names, by IANA protocol number (0..137) */
static const char *const proto_names[138] = {
    "0", "ICMP", "IGMP", "GGP", "IPIP", "ST", "TCP", "CBT", "EGP", "IGP",
    "BBN", "NVPII", "PUP", "ARGUS", "ENCOM", "XNET", "CHAOS", "UDP", "MUX", "DCN",
    "HMP", "PRM", "XNS", "Trnk1", "Trnk2", "Leaf1", "Leaf2", "RDP", "IRTP", "ISO-4",
    "NETBK", "MFESP", "MEINP", "DCCP", "3PC", "IDPR", "XTP", "DDP", "IDPR", "TP++",
    "IL", "IPv6", "SDRP", "Rte6", "Frag6", "IDRP", "RSVP", "GRE", "MHRP", "BNA",
    "ESP", "AH", "INLSP", "SWIPE", "NARP", "MOBIL", "TLSP", "SKIP", "ICMP6", "NOHE6",
    "OPTS6", "HOST", "CFTP", "NET", "SATNT", "KLAN", "RVD", "IPPC", "FS", "SATM",
    "VISA", "IPCV", "CPNX", "CPHB", "WSN", "PVP", "BSATM", "SUNND", "WBMON", "WBEXP",
    "ISOIP", "VMTP", "SVMTP", "VINES", "TTP", "NSIGP", "DGP", "TCF", "EIGRP", "OSPF",
    "S-RPC", "LARP", "MTP", "AX.25", "OS", "MICP", "SCCSP", "ETHIP", "ENCAP", "99",
    "GMTP", "IFMP", "PNNI", "PIM", "ARIS", "SCPS", "QNX", "A/N", "IPcmp", "SNP",
    "CpqPP", "IPXIP", "VRRP", "PGM", "0hop", "L2TP", "DDX", "IATP", "STP", "SRP",
    "UTI", "SMP", "SM", "PTP", "ISIS4", "FIRE", "CRTP", "CRUDP", "128", "IPLT",
    "SPS", "PIPE", "SCTP", "FC", "134", "MHEAD", "UDP-L", "MPLS"};

const char *fl_nfdump_proto_name(uint8_t proto, char tmp[8])
{
    if (proto < 138)
        return proto_names[proto];
    snprintf(tmp, 8, "%-5u", proto);
    return tmp;
}

const char *fl_nfdump_csv_header(void)
{
    return "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,"
           "dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,"
           "mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr\n";
}

static void addr_str(fl_addr a, int force_v6, char *out, size_t len)
{
    if (!force_v6 && (fl_addr_is_v4(a) || (a.hi == 0 && a.lo == 0))) {
        uint32_t v4 = htonl(fl_addr_v4(a));
        inet_ntop(AF_INET, &v4, out, (socklen_t)len);
    } else {
        uint8_t b16[16];
        fl_addr_to_v6(a, b16);
        inet_ntop(AF_INET6, b16, out, (socklen_t)len);
    }
}

static void local_time(fl_time ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, len, "?");
}

static void mac_str(uint64_t m, char *out, size_t len)
{
    fl_mac_format(m, out, len);
}

size_t fl_nfdump_csv_row(const fl_batch *b, uint32_t r, const fl_nfdump_file *f, char *buf,
                         size_t len)
{
    char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], nh[INET6_ADDRSTRLEN],
        nhb[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];
    char ts[32], te[32], tr[32], ptmp[8];
    char m1[FL_MAC_STRLEN], m2[FL_MAC_STRLEN], m3[FL_MAC_STRLEN], m4[FL_MAC_STRLEN];
    fl_addr s = FL_ADDRS(b, FL_COL_SRC_ADDR)[r], d = FL_ADDRS(b, FL_COL_DST_ADDR)[r];
    fl_addr rip = {0, 0};
    fl_time first = FL_TIMES(b, FL_COL_TIME_FIRST)[r], last = FL_TIMES(b, FL_COL_TIME_LAST)[r];
    fl_time recv = FL_TIMES(b, FL_COL_TIME_RECEIVED)[r];
    uint8_t flags = FL_U8(b, FL_COL_TCP_FLAGS)[r];
    uint32_t mpls = FL_U32(b, FL_COL_MPLS_LABEL1)[r];
    char flg[9];
    const char *fl = "CEUAPRSF";
    int v6 = !(fl_addr_is_v4(s) && fl_addr_is_v4(d)) && !(s.hi == 0 && s.lo == 0 && d.hi == 0 &&
                                                           d.lo == 0);
    int n;

    addr_str(s, v6, sa, sizeof sa);
    addr_str(d, v6, da, sizeof da);
    addr_str(FL_ADDRS(b, FL_COL_NEXT_HOP)[r], 0, nh, sizeof nh);
    addr_str(FL_ADDRS(b, FL_COL_BGP_NEXT_HOP)[r], 0, nhb, sizeof nhb);
    if (f != NULL) {
        const fl_nfdump_exporter *x = fl_nfdump_exporter_get(f, FL_U16(b, FL_COL_EXPORTER)[r]);
        if (x != NULL)
            rip = x->addr;
    }
    addr_str(rip, 0, ra, sizeof ra);
    local_time(first, ts, sizeof ts);
    local_time(last, te, sizeof te);
    local_time(recv, tr, sizeof tr);
    for (int i = 0; i < 8; i++)
        flg[i] = (flags & (0x80 >> i)) ? fl[i] : '.';
    flg[8] = 0;
    mac_str(FL_MACS(b, FL_COL_IN_SRC_MAC)[r], m1, sizeof m1);
    mac_str(FL_MACS(b, FL_COL_OUT_DST_MAC)[r], m2, sizeof m2);
    mac_str(FL_MACS(b, FL_COL_IN_DST_MAC)[r], m3, sizeof m3);
    mac_str(FL_MACS(b, FL_COL_OUT_SRC_MAC)[r], m4, sizeof m4);
    n = snprintf(
        buf, len,
        "%s,%s,%.3f,%s,%s,%u,%u,%s,%s,%u,%u,%llu,%llu,%llu,%llu,%u,%u,%u,%u,%u,%u,%u,%u,%s,%s,"
        "%u,%u,%s,%s,%s,%s,%u-%u-%u,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,"
        "%9.3f,%9.3f,%9.3f,%s,%u/%u,%u,%s.%03llu\n",
        ts, te, (double)((uint64_t)last - (uint64_t)first) / 1000.0, sa, da,
        FL_U16(b, FL_COL_SRC_PORT)[r], FL_U16(b, FL_COL_DST_PORT)[r],
        fl_nfdump_proto_name(FL_U8(b, FL_COL_PROTO)[r], ptmp), flg,
        FL_U8(b, FL_COL_FWD_STATUS)[r], FL_U8(b, FL_COL_SRC_TOS)[r],
        (unsigned long long)FL_U64(b, FL_COL_PACKETS)[r],
        (unsigned long long)FL_U64(b, FL_COL_BYTES)[r],
        (unsigned long long)FL_U64(b, FL_COL_OUT_PACKETS)[r],
        (unsigned long long)FL_U64(b, FL_COL_OUT_BYTES)[r], FL_U32(b, FL_COL_IN_IF)[r],
        FL_U32(b, FL_COL_OUT_IF)[r], FL_U32(b, FL_COL_SRC_AS)[r], FL_U32(b, FL_COL_DST_AS)[r],
        FL_U8(b, FL_COL_SRC_MASK)[r], FL_U8(b, FL_COL_DST_MASK)[r],
        FL_U8(b, FL_COL_DST_TOS)[r], FL_U8(b, FL_COL_DIRECTION)[r], nh, nhb,
        FL_U16(b, FL_COL_SRC_VLAN)[r], FL_U16(b, FL_COL_DST_VLAN)[r], m1, m2, m3, m4,
        mpls >> 4, (mpls & 0xF) >> 1, mpls & 1, 0.0, 0.0, 0.0, ra,
        FL_U8(b, FL_COL_ENGINE_TYPE)[r], FL_U8(b, FL_COL_ENGINE_ID)[r],
        FL_U16(b, FL_COL_EXPORTER)[r], tr, (unsigned long long)(recv % 1000));
    if (n < 0 || (size_t)n >= len)
        return 0;
    return (size_t)n;
}
