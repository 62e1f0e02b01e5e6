#!/usr/bin/env python3
"""tests/gen/sfacctcompare.py — compare pmacct sfacctd's view of gen's sFlow.

usage: sfacctcompare.py DUMP.csv SFACCTD.csv SAMPLING

DUMP.csv is `flowlens gen --dump`; SFACCTD.csv is sfacctd's print plugin
output (csv, numeric protocols) aggregated on agent, interfaces, addresses,
masks, ports, protocol, TOS and AS numbers, with renormalization on. Every
flow is one sample of its first packet, so sfacctd must count SAMPLING
packets and SAMPLING * frame length bytes (mean packet size + 18) per flow.
pmacct 1.7.7 reports an IPv6 packet's traffic class shifted right by four
(0xb8 -> 11); tshark decodes the full byte gen writes (sfcompare.py), so
that quirk is applied to the expected side here.
Prints one PASS/FAIL line per check.
"""
import csv
import sys
from collections import defaultdict

ok = True


def check(name, cond, detail=""):
    global ok
    print(("PASS " if cond else "FAIL ") + "sfacctd_" + name + ("" if cond else f": {detail}"))
    ok = ok and cond


def main():
    dump, got_csv, rate = sys.argv[1], sys.argv[2], int(sys.argv[3])
    exp = defaultdict(lambda: [0, 0])
    nflows = 0
    for row in csv.reader(open(dump)):
        (exporter, first, last, sa, da, sp, dp, pr, flg, tos, byt, pkt, inif, outif, sas, das,
         smk, dmk, nh, svl, dvl, dirn, samp) = row
        pr, byt, pkt = int(pr), int(byt), int(pkt)
        v4 = ":" not in sa
        hmin = (20 if v4 else 40) + (20 if pr == 6 else 8)
        frame = min(max(byt // pkt if pkt else byt, hmin), 9000) + 18
        ports = (int(sp), int(dp)) if pr in (6, 17) else (0, 0)
        e = int(exporter)
        tos = int(tos) if v4 else int(tos) >> 4
        key = (f"10.255.{e >> 8}.{e & 255}", int(inif), int(outif), sa, da, int(smk), int(dmk),
               ports[0], ports[1], pr, tos, int(sas), int(das))
        exp[key][0] += rate
        exp[key][1] += rate * frame
        nflows += 1

    got = {}
    rows = list(csv.DictReader(open(got_csv)))
    for r in rows:
        key = (r["PEER_SRC_IP"], int(r["IN_IFACE"]), int(r["OUT_IFACE"]), r["SRC_IP"], r["DST_IP"],
               int(r["SRC_MASK"]), int(r["DST_MASK"]), int(r["SRC_PORT"]), int(r["DST_PORT"]),
               int(r["PROTOCOL"]), int(r["TOS"]), int(r["SRC_AS"]), int(r["DST_AS"]))
        p = got.setdefault(key, [0, 0])
        p[0] += int(r["PACKETS"])
        p[1] += int(r["BYTES"])
    exp = {k: v for k, v in exp.items()}

    check("packet_sum", sum(v[0] for v in got.values()) == nflows * rate,
          f"sfacctd {sum(v[0] for v in got.values())}, want {nflows * rate}")
    check("byte_sum", sum(v[1] for v in got.values()) == sum(v[1] for v in exp.values()),
          f"sfacctd {sum(v[1] for v in got.values())}, want {sum(v[1] for v in exp.values())}")
    missing = [k for k in exp if got.get(k) != exp[k]]
    extra = [k for k in got if k not in exp]
    check("per_flow_fields", not missing and not extra,
          f"{len(missing)} flows differ, e.g. {missing[:1]} -> {got.get(missing[0]) if missing else None}"
          f" want {exp[missing[0]] if missing else None}; {len(extra)} unexpected, e.g. {extra[:1]}")
    check("has_ipv6", any(":" in k[3] for k in got), "no IPv6 flow")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
