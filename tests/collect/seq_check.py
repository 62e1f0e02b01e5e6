#!/usr/bin/env python3
"""tests/collect/seq_check.py — sequence-gap accounting is exact.

For one capture per protocol, drop known datagrams of its busiest exporter
(never one that carries a template), decode the rest with `flowlens
decode`, and compare the exporter's seq_lost with what was dropped, in
each protocol's unit: v5 flows (header count), v9 datagrams, IPFIX data
records (from the surrounding sequence numbers), sFlow datagrams.
Prints PASS/FAIL lines.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcaputil  # noqa: E402

BIN = os.environ["FL_BIN"]
CAPS = os.environ["FLOWLENS_CAPTURES"]
CASES = [("netflow5/nf5_generic_ls.pcap", "netflow5"),
         ("netflow9/graylog_nprobe_netflow9-3.pcap", "netflow9"),
         ("ipfix/pmacct_501-IPFIXv10-BGP-IPv6-CISCO-MPLS.pcap", "ipfix"),
         ("sflow/tcpdump_sflow-print-v6.pcap", "sflow5")]


def key(proto, src, p):
    if proto == "netflow5":
        return (src, p[20] << 8 | p[21], struct.unpack(">I", p[16:20])[0])
    if proto == "netflow9":
        return (src, struct.unpack(">I", p[16:20])[0], struct.unpack(">I", p[12:16])[0])
    if proto == "ipfix":
        return (src, struct.unpack(">I", p[12:16])[0], struct.unpack(">I", p[8:12])[0])
    off = 8 if struct.unpack(">I", p[4:8])[0] == 1 else 20
    agent = p[8:off]
    return (agent, struct.unpack(">I", p[off:off + 4])[0], struct.unpack(">I", p[off + 4:off + 8])[0])


def has_template(proto, p):
    if proto == "netflow9":
        o = 20
        while o + 4 <= len(p):
            sid, sl = struct.unpack(">HH", p[o:o + 4])
            if sid < 256:
                return True
            if sl < 4:
                break
            o += sl
    if proto == "ipfix":
        o = 16
        while o + 4 <= len(p):
            sid, sl = struct.unpack(">HH", p[o:o + 4])
            if sid in (2, 3):
                return True
            if sl < 4:
                break
            o += sl
    return False


def decode(path):
    out = subprocess.run([BIN, "decode", "--json", path], stdout=subprocess.PIPE,
                         check=False).stdout.decode()
    return [json.loads(l) for l in out.splitlines() if '"type":"exporter"' in l]


def main():
    failed = 0
    for rel, proto in CASES:
        ghdr, frames = pcaputil.read(os.path.join(CAPS, rel))
        pk = []
        for i, (h, fr, p, src) in enumerate(frames):
            if p is None:
                continue
            if proto == "sflow5" and p[:4] != b"\0\0\0\5":
                continue
            if proto != "sflow5" and p[:2] != {"netflow5": b"\0\5", "netflow9": b"\0\x09", "ipfix": b"\0\x0a"}[proto]:
                continue
            k = key(proto, src, p)
            pk.append((i, k[:2], k[2], p))
        # busiest exporter
        counts = {}
        for _, ex, _, _ in pk:
            counts[ex] = counts.get(ex, 0) + 1
        ex = max(counts, key=counts.get)
        mine = [x for x in pk if x[1] == ex]
        # drop every 4th datagram after the first few that carries no template
        drop = set()
        expect = 0
        for j in range(3, len(mine) - 1, 4):
            i, _, seq, p = mine[j]
            if has_template(proto, p) or has_template(proto, mine[j + 1][3]) or j - 1 in drop:
                continue
            drop.add(j)
            if proto == "netflow5":
                expect += struct.unpack(">H", p[2:4])[0]
            elif proto == "ipfix":
                expect += (mine[j + 1][2] - seq) & 0xffffffff
            else:
                expect += 1
        dropped_frames = {mine[j][0] for j in drop}
        with tempfile.TemporaryDirectory() as td:
            path = os.path.join(td, "cut.pcap")
            pcaputil.write(path, ghdr, [(h, fr) for i, (h, fr, _, _) in enumerate(frames)
                                        if i not in dropped_frames])
            base = decode(os.path.join(CAPS, rel))
            cut = decode(path)
        b0 = max(base, key=lambda x: x["datagrams"])
        c0 = max(cut, key=lambda x: x["datagrams"])
        ok = (b0["seq_lost"] == 0 and len(drop) >= 2 and c0["seq_lost"] == expect and
              c0["datagrams"] == b0["datagrams"] - len(drop))
        print("%s seq_exact/%s: dropped %d datagrams, expected %d lost, counted %d (full file %d)" % (
            "PASS" if ok else "FAIL", proto, len(drop), expect, c0["seq_lost"], b0["seq_lost"]))
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
