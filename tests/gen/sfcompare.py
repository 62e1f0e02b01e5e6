#!/usr/bin/env python3
"""tests/gen/sfcompare.py — compare tshark's decode of gen's sFlow with what was sent.

usage: sfcompare.py DUMP.csv CAPTURE.pdml

DUMP.csv is `flowlens gen --dump`; CAPTURE.pdml is `tshark -r CAP -d
udp.port==P,sflow -T pdml`. Each flow must appear as exactly one flow sample
from agent 10.255.0.<exporter>, whose raw packet header tshark decodes to the
flow's addresses, protocol, ports, TOS and TCP flags, whose frame length is
the flow's mean packet size plus 18 (Ethernet + FCS), and whose extended
router/gateway records carry next hop, masks and AS numbers. Sequence
numbers and sample pools (rate packets per sample) are checked per agent and
data source. Prints one
PASS/FAIL line per check.
"""
import csv
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

ok = True


def check(name, cond, detail=""):
    global ok
    print(("PASS " if cond else "FAIL ") + "sflow_" + name + ("" if cond else f": {detail}"))
    ok = ok and cond


def first_fields(node):
    out = {}
    for f in node.iter("field"):
        n = f.get("name")
        if n and n not in out:
            out[n] = f.get("show")
    return out


def main():
    dump, pdml = sys.argv[1], sys.argv[2]
    exp = []
    pool = defaultdict(int)
    for row in csv.reader(open(dump)):
        (exporter, first, last, sa, da, sp, dp, pr, flg, tos, byt, pkt, inif, outif, sas, das,
         smk, dmk, nh, svl, dvl, dirn, samp) = row
        pr, byt, pkt = int(pr), int(byt), int(pkt)
        v4 = ":" not in sa
        l4 = 20 if pr == 6 else 8
        hmin = (20 if v4 else 40) + l4
        size = min(max(byt // pkt if pkt else byt, hmin), 9000)
        if pr in (6, 17):
            ports = (int(sp), int(dp))
        else:
            ports = (0, 0)
        flags = int(flg) if pr == 6 else 0
        agent = f"10.255.{int(exporter) >> 8}.{int(exporter) & 255}"
        exp.append((agent, int(inif), int(outif), int(samp) or 1, sa, da, pr, ports, int(tos),
                    flags, size + 18, int(sas), int(das), int(smk), int(dmk), nh))
        pool[(agent, int(inif))] += int(samp) or 1  # each sample stands for `rate` packets

    got = []
    dgram_seq = defaultdict(list)
    sample_seq = defaultdict(list)
    last_pool = {}
    counters = 0
    root = ET.parse(pdml).getroot()
    for packet in root.iter("packet"):
        sflow = None
        for proto in packet.iter("proto"):
            if proto.get("name") == "sflow":
                sflow = proto
                break
        if sflow is None:
            continue
        agent = None
        for f in sflow.findall("field"):
            if f.get("name") == "sflow_245.agent":
                agent = f.get("show")
            if f.get("name") == "sflow_245.sequence_number":
                dgram_seq[agent].append(int(f.get("show")))
        for s in sflow.findall("field"):
            show = s.get("show") or ""
            if show.startswith("Counters sample"):
                counters += 1
                continue
            if not show.startswith("Flow sample"):
                continue
            f = first_fields(s)
            v4 = "ip.src" in f
            src = f.get("ip.src") if v4 else f.get("ipv6.src")
            dst = f.get("ip.dst") if v4 else f.get("ipv6.dst")
            pr = int(f.get("ip.proto") if v4 else f.get("ipv6.nxt"))
            if pr == 6:
                ports = (int(f["tcp.srcport"]), int(f["tcp.dstport"]))
            elif pr == 17:
                ports = (int(f["udp.srcport"]), int(f["udp.dstport"]))
            else:
                ports = (0, 0)
            tos = int(f.get("ip.dsfield", "0x0"), 16) if v4 else int(f.get("ipv6.tclass", "0x0"), 16)
            flags = int(f.get("tcp.flags", "0x0"), 16) if pr == 6 else 0
            inif = int(f["sflow.flow_sample.input_interface"])
            got.append((agent, inif, int(f["sflow.flow_sample.output_interface_value"]),
                        int(f["sflow.flow_sample.sampling_rate"]), src, dst, pr, ports, tos, flags,
                        int(f["sflow_245.header.frame_length"]), int(f["sflow_245.srcAS"]),
                        int(f["sflow_245.dstAS"]), int(f["sflow_245.nexthop.src_mask"]),
                        int(f["sflow_245.nexthop.dst_mask"]),
                        f.get("sflow_245.nexthop", f.get("sflow_245.nexthop.v6"))))
            sample_seq[(agent, inif)].append(int(f["sflow.flow_sample.sequence_number"]))
            last_pool[(agent, inif)] = int(f["sflow.flow_sample.sample_pool"])

    check("flow_sample_count", len(got) == len(exp), f"tshark {len(got)}, sent {len(exp)}")
    check("agents", sorted(set(g[0] for g in got)) == sorted(set(e[0] for e in exp)),
          f"tshark {sorted(set(g[0] for g in got))}")
    ce, cg = Counter(exp), Counter(got)
    missing, extra = list((ce - cg).elements()), list((cg - ce).elements())
    check("per_sample_fields", not missing and not extra,
          f"{len(missing)} sent flows not found, e.g. {missing[:1]}; {len(extra)} unexpected, "
          f"e.g. {extra[:1]}")
    check("has_ipv6", any(":" in e[4] for e in got), "no IPv6 sample decoded")
    check("datagram_sequence", all(v == list(range(1, len(v) + 1)) for v in dgram_seq.values()),
          str({a: v[:5] for a, v in dgram_seq.items()}))
    check("sample_sequence", all(v == list(range(1, len(v) + 1)) for v in sample_seq.values()),
          "flow sample sequence numbers not 1..n per data source")
    check("sample_pool", last_pool == dict(pool), f"tshark {last_pool}, sent {dict(pool)}")
    check("counter_samples", counters > 0, "no counter sample")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
