#!/usr/bin/env python3
"""tests/collect/mkpcap.py — write a deterministic traffic capture.

Usage: mkpcap.py OUT.pcap [FLOWS] [SEED]

FLOWS distinct 5-tuples (TCP, UDP, ICMP; IPv4 and every 5th IPv6), each
with 1..6 packets of varied sizes, over Ethernet, timestamps 10 ms apart.
Prints a JSON summary: flows, packets, ip_bytes (sum of IP total lengths,
what NetFlow exporters count as octets), and the same for IPv4 alone
(v4_flows, v4_packets, v4_bytes: NetFlow v5 carries no IPv6).
"""
import json
import random
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def main():
    out = sys.argv[1]
    nflows = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    pkts = []
    t = 1700000000.0
    ip_bytes = 0
    v4 = [0, 0, 0]
    flows = []
    for i in range(nflows):
        v6 = i % 5 == 4
        proto = [6, 17, 1][i % 3]
        if v6 and proto == 1:
            proto = 58
        flows.append((v6, proto, 10000 + i, [80, 53, 0][i % 3] or 0, rnd.randint(1, 6)))
    seq = []
    for fi, f in enumerate(flows):
        for k in range(f[4]):
            seq.append((fi, k))
    rnd.shuffle(seq)
    for fi, k in seq:
        v6, proto, sport, dport, _ = flows[fi]
        size = 20 + rnd.randint(0, 1200)
        if proto == 6:
            l4 = struct.pack("!HHIIBBHHH", sport, dport, k, 0, 5 << 4, 0x18 if k else 0x02, 8192, 0, 0)
        elif proto == 17:
            l4 = struct.pack("!HHHH", sport, dport, 8 + size, 0)
        else:
            l4 = struct.pack("!BBHHH", 8 if proto == 1 else 128, 0, 0, fi, k)
        payload = bytes(size)
        if v6:
            src = bytes.fromhex("20010db8000000000000000000000001")
            dst = bytes.fromhex("20010db8000000010000000000%06x" % fi)
            ip = struct.pack("!IHBB", 6 << 28, len(l4) + size, proto, 64) + src + dst
            et = 0x86dd
            ip_len = len(ip) + len(l4) + size
        else:
            tot = 20 + len(l4) + size
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, fi & 0xffff, 0, 64, proto, 0,
                             bytes([10, 0, 0, 1]), bytes([10, 1, (fi >> 8) & 255, fi & 255]))
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            et = 0x0800
            ip_len = tot
        ip_bytes += ip_len
        if not v6:
            v4[1] += 1
            v4[2] += ip_len
        frame = bytes.fromhex("020000000002020000000001") + struct.pack("!H", et) + ip + l4 + payload
        pkts.append((t, frame))
        t += 0.01
    with open(out, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in pkts:
            fh.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(fr), len(fr)))
            fh.write(fr)
    v4[0] = sum(1 for f in flows if not f[0])
    print(json.dumps({"flows": nflows, "packets": len(pkts), "ip_bytes": ip_bytes,
                      "v4_flows": v4[0], "v4_packets": v4[1], "v4_bytes": v4[2]}))


if __name__ == "__main__":
    main()
