#!/usr/bin/env python3
"""tests/gen/nfcompare.py — compare what nfcapd stored with what gen sent.

usage: nfcompare.py PROTO DUMP.csv NFDUMP.json [SAMPLING [subset]]

DUMP.csv is `flowlens gen --dump` (the generator's flows, one per line);
NFDUMP.json is `nfdump -r FILE -o json`. The protocol's own limits are
applied to the expected side here, independently of the encoder: v5 carries
IPv4 only, 16-bit AS numbers (AS_TRANS 23456 above), 32-bit counters, and
nfcapd 1.7.1 does not store v5 masks. With SAMPLING N (gen --sampling N),
nfcapd must have scaled packets and bytes by N, learnt from the v5 header
or the v9/IPFIX sampling options. With "subset" (a collector that started
late), nfdump's flows must be a non-empty subset of those sent, each
exact. Prints one PASS/FAIL line per check.
"""
import csv
import json
import sys
from collections import Counter
from datetime import datetime, timezone

FLAGS = "CEUAPRSF"


def flags_num(s):
    v = 0
    for i, c in enumerate(s):
        if c != ".":
            v |= 1 << (7 - i)
    return v


def ms(iso):
    d = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return int(round(d.timestamp() * 1000))


def main():
    proto, dump, js = sys.argv[1], sys.argv[2], sys.argv[3]
    scale = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    subset = len(sys.argv) > 5 and sys.argv[5] == "subset"
    if scale > 1:
        proto += "_sampled"
    ok = True

    def check(name, cond, detail=""):
        nonlocal ok
        print(("PASS " if cond else "FAIL ") + f"{proto}_{name}" + ("" if cond else f": {detail}"))
        ok = ok and cond

    exp = []
    for row in csv.reader(open(dump)):
        (exporter, first, last, sa, da, sp, dp, pr, flg, tos, byt, pkt, inif, outif, sas, das,
         smk, dmk, nh, svl, dvl, dirn, samp) = row
        v4 = ":" not in sa and ":" not in da
        if proto.startswith("v5") and not v4:
            continue
        sas, das, byt, pkt = int(sas), int(das), int(byt), int(pkt)
        if proto.startswith("v5"):
            sas = 23456 if sas > 65535 else sas
            das = 23456 if das > 65535 else das
            byt = min(byt, 2**32 - 1)
            pkt = min(pkt, 2**32 - 1)
            smk = dmk = "0"
        byt, pkt = byt * scale, pkt * scale
        exp.append((int(exporter), int(first), int(last), sa, da, int(sp), int(dp), int(pr),
                    int(flg), int(tos), byt, pkt, int(inif), int(outif), sas, das, int(smk),
                    int(dmk), nh))

    got = []
    for f in json.load(open(js)):
        if f.get("type") != "FLOW":
            continue
        sa = f.get("src4_addr", f.get("src6_addr"))
        da = f.get("dst4_addr", f.get("dst6_addr"))
        nh = f.get("ip4_next_hop", f.get("ip6_next_hop", ""))
        pr = f["proto"]
        sp, dp = f.get("src_port", 0), f.get("dst_port", 0)
        if pr in (1, 58) and "icmp_type" in f:
            sp, dp = 0, f["icmp_type"] * 256 + f["icmp_code"]
        got.append((f["export_sysid"], ms(f["first"]), ms(f["last"]), sa, da, sp, dp, pr,
                    flags_num(f.get("tcp_flags", "........")), f["src_tos"], f["in_bytes"], f["in_packets"],
                    f.get("input_snmp", 0), f.get("output_snmp", 0), f.get("src_as", 0),
                    f.get("dst_as", 0), f.get("src_mask", 0), f.get("dst_mask", 0), nh))

    if subset:
        extra = list((Counter(got) - Counter(exp)).elements())
        check("late_collector_decodes", 0 < len(got) <= len(exp),
              f"nfdump {len(got)} of {len(exp)} sent")
        check("late_collector_fields", not extra,
              f"{len(extra)} flows not among those sent, e.g. {extra[:1]}")
        return 0 if ok else 1
    check("flow_count", len(got) == len(exp), f"nfdump {len(got)}, sent {len(exp)}")
    check("byte_sum", sum(g[10] for g in got) == sum(e[10] for e in exp),
          f"nfdump {sum(g[10] for g in got)}, sent {sum(e[10] for e in exp)}")
    check("packet_sum", sum(g[11] for g in got) == sum(e[11] for e in exp),
          f"nfdump {sum(g[11] for g in got)}, sent {sum(e[11] for e in exp)}")
    check("exporters", sorted(set(g[0] for g in got)) == sorted(set(e[0] for e in exp)),
          f"nfdump {sorted(set(g[0] for g in got))}, sent {sorted(set(e[0] for e in exp))}")
    ce, cg = Counter(exp), Counter(got)
    missing = list((ce - cg).elements())
    extra = list((cg - ce).elements())
    check("per_flow_fields", not missing and not extra,
          f"{len(missing)} sent flows not found, e.g. {missing[:1]}; "
          f"{len(extra)} unexpected, e.g. {extra[:1]}")
    v6 = sum(1 for e in exp if ":" in e[3])
    v5 = proto.startswith("v5")
    check("ipv4_only" if v5 else "has_ipv6", v6 == 0 if v5 else v6 > 0,
          f"{v6} IPv6 flows")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
