#!/usr/bin/env python3
"""tests/collect/roundtrip_cmp.py — compare `flowlens gen --dump` (what was
sent) with `flowlens collect --print ndjson` (what was decoded).

Usage: roundtrip_cmp.py PROTO DUMP.csv DECODED.ndjson
NetFlow v5/v9/IPFIX: the multisets of (times, addresses, ports, protocol,
TCP flags, ToS, bytes, packets, interfaces, AS, masks, next hop) must be
equal (v5: without ToS-free fields it lacks). sFlow (packet samples): every
sample's addresses, ports and protocol belong to a flow that was sent
(ICMP: addresses and protocol).
Prints "ok N" or the first differences; exit 0 when equal.
"""
import collections
import datetime
import json
import sys

FIELDS = ["exporter", "time_first", "time_last", "src_addr", "dst_addr", "src_port", "dst_port",
          "proto", "tcp_flags", "src_tos", "bytes", "packets", "in_if", "out_if", "src_as",
          "dst_as", "src_mask", "dst_mask", "next_hop", "src_vlan", "dst_vlan", "direction",
          "sampling_rate"]
COMPARE = {"v9": ["time_first", "time_last", "src_addr", "dst_addr", "src_port", "dst_port",
                  "proto", "tcp_flags", "src_tos", "bytes", "packets", "in_if", "out_if",
                  "src_as", "dst_as", "src_mask", "dst_mask", "next_hop"],
           "v5": ["time_first", "time_last", "src_addr", "dst_addr", "src_port", "dst_port",
                  "proto", "tcp_flags", "src_tos", "bytes", "packets", "in_if", "out_if",
                  "src_as", "dst_as", "src_mask", "dst_mask", "next_hop"]}
COMPARE["ipfix"] = COMPARE["v9"]


def ms(t):
    return int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def main():
    proto, dump, dec = sys.argv[1:4]
    sent = []
    for line in open(dump):
        v = line.strip().split(",")
        sent.append(dict(zip(FIELDS, v)))
    got = []
    for line in open(dec):
        o = json.loads(line)
        if "type" in o:
            continue
        o["time_first"] = ms(o["time_first"])
        o["time_last"] = ms(o["time_last"])
        got.append(o)
    if proto == "sflow":
        # ICMP: the dump keeps type<<8|code in the destination port, the
        # sampled packet's header has them as ICMP fields
        def key(src, dst, sp, dp, pr):
            return (src, dst, pr) if pr in ("1", "58") else (src, dst, sp, dp, pr)
        keys = {key(s["src_addr"], s["dst_addr"], s["src_port"], s["dst_port"], s["proto"])
                for s in sent}
        bad = [g for g in got if key(g.get("src_addr"), g.get("dst_addr"), str(g.get("src_port", 0)),
                                     str(g.get("dst_port", 0)), str(g.get("proto"))) not in keys]
        if got and not bad:
            print("ok %d samples of %d flows" % (len(got), len(sent)))
            return 0
        print("sflow: %d samples, %d not matching a sent flow, e.g. %s" % (len(got), len(bad), bad[:2]))
        return 1
    cols = COMPARE[proto]
    a = collections.Counter(tuple(str(s[c]) for c in cols) for s in sent)
    b = collections.Counter(tuple(str(g.get(c, 0)) for c in cols) for g in got)
    if a == b:
        print("ok %d flows" % len(got))
        return 0
    print("%s: sent %d, decoded %d; only sent: %s; only decoded: %s" % (
        proto, len(sent), len(got), list((a - b).items())[:2], list((b - a).items())[:2]))
    print("columns:", cols)
    return 1


if __name__ == "__main__":
    sys.exit(main())
