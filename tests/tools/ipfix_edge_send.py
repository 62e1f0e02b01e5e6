#!/usr/bin/env python3
"""tests/tools/ipfix_edge_send.py — send hand-made IPFIX flows that exercise
the corners of nfdump's text output.

usage: ipfix_edge_send.py HOST PORT

One template for IPv4 flows and one for IPv6 flows, then a fixed list of
flows (no randomness): counters past 1 M, 1 G and 1 T (nfdump's k/M/G/T
scaling), ICMP and ICMPv6 type.code (printed in the port column), long and
short IPv6 addresses (nfdump shortens those over 16 characters), durations
of zero, milliseconds and over a day, all TCP flag bits, ToS, interfaces,
AS numbers, next hops. Times fall on 2024-05-01 between 10:00 and 12:00 UTC,
the window the differential tests use. Prints the number of flows sent.
"""
import ipaddress
import socket
import struct
import sys
import time

BASE = 1714557600000  # 2024-05-01T10:00:00Z in ms

# (IE id, length) of each template
V4 = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (5, 1), (1, 8), (2, 8),
      (152, 8), (153, 8), (10, 4), (14, 4), (16, 4), (17, 4), (32, 2), (15, 4)]
V6 = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (6, 1), (5, 1), (1, 8), (2, 8),
      (152, 8), (153, 8), (10, 4), (14, 4), (16, 4), (17, 4), (139, 2), (62, 16)]


def flows():
    """(v6, src, dst, sport, dport, proto, flags, tos, bytes, packets,
    start offset ms, duration ms, in, out, sas, das, icmp type, icmp code, nh)"""
    out = []
    add = out.append
    # unit scaling: below, at and past each boundary
    add((0, "10.1.0.1", "192.0.2.10", 40000, 443, 6, 0x1b, 0, 999999, 999, 1000, 5000, 1, 2, 64500, 15169, 0, 0, "10.1.0.254"))
    add((0, "10.1.0.2", "192.0.2.11", 40001, 443, 6, 0x12, 0, 1000000, 1000, 2000, 3000, 1, 2, 64500, 15169, 0, 0, "10.1.0.254"))
    add((0, "10.1.0.3", "192.0.2.12", 40002, 80, 6, 0x1f, 32, 1500000000, 1200000, 3000, 600000, 3, 4, 64501, 13335, 0, 0, "10.1.0.254"))
    add((0, "10.1.0.4", "198.51.100.7", 40003, 22, 6, 0xff, 184, 2500000000000, 2000000000, 4000, 7200000, 3, 4, 0, 0, 0, 0, "0.0.0.0"))
    add((0, "10.1.0.5", "198.51.100.8", 5353, 53, 17, 0, 0, 999999999, 5, 5000, 0, 5, 6, 64502, 0, 0, 0, "10.1.0.253"))
    add((0, "10.1.0.6", "198.51.100.9", 5353, 53, 17, 0, 0, 1000000000, 7, 6000, 1, 5, 6, 64502, 0, 0, 0, "10.1.0.253"))
    # a flow over a day long
    add((0, "172.16.5.5", "203.0.113.99", 1234, 8080, 6, 0x18, 0, 4242424242, 3333333, 7000, 90061001, 7, 8, 65000, 65001, 0, 0, "172.16.0.1"))
    # ICMP: echo request/reply, unreachable port, time exceeded
    add((0, "10.1.0.7", "8.8.8.8", 0, 0x0800, 1, 0, 0, 84, 1, 8000, 0, 1, 2, 0, 15169, 8, 0, "10.1.0.254"))
    add((0, "8.8.8.8", "10.1.0.7", 0, 0x0000, 1, 0, 0, 84, 1, 8001, 0, 2, 1, 15169, 0, 0, 0, "10.1.0.254"))
    add((0, "192.0.2.1", "10.1.0.8", 0, 0x0303, 1, 0, 0, 1500, 3, 9000, 2000, 2, 1, 0, 0, 3, 3, "10.1.0.254"))
    add((0, "192.0.2.2", "10.1.0.9", 0, 0x0b00, 1, 0, 0, 3000000, 20000, 9500, 40000, 2, 1, 0, 0, 11, 0, "10.1.0.254"))
    # other protocols
    add((0, "10.1.0.10", "10.2.0.10", 0, 0, 47, 0, 0, 123456789, 98765, 10000, 59999, 9, 10, 0, 0, 0, 0, "10.1.0.254"))
    add((0, "10.1.0.11", "10.2.0.11", 0, 0, 50, 0, 0, 5000, 10, 11000, 100, 9, 10, 0, 0, 0, 0, "10.1.0.254"))
    add((0, "10.1.0.12", "10.2.0.12", 0, 0, 200, 0, 0, 77, 1, 12000, 0, 9, 10, 0, 0, 0, 0, "10.1.0.254"))
    # IPv6: short and long addresses, ICMPv6, big counters
    add((1, "2001:db8::1", "2001:db8::2", 50000, 443, 6, 0x1b, 0, 1048576, 1024, 13000, 1000, 11, 12, 64510, 64511, 0, 0, "fe80::1"))
    add((1, "2001:db8:1234:5678:9abc:def0:1234:5678", "2a00:1450:4001:80b::200e", 50001, 443, 6, 0x02, 0, 60, 1, 14000, 0, 11, 12, 64510, 15169, 0, 0, "2001:db8:ffff::1"))
    add((1, "::1", "::2", 1, 2, 17, 0, 0, 3333333333, 2222222, 15000, 86400000, 11, 12, 0, 0, 0, 0, "::"))
    add((1, "2001:db8::a", "ff02::1", 0, 0x8000, 58, 0, 0, 64, 1, 16000, 0, 11, 12, 0, 0, 128, 0, "::"))
    add((1, "fe80::1:2:3:4", "fe80::5:6:7:8", 0, 0x8700, 58, 0, 0, 72, 1, 17000, 0, 11, 12, 0, 0, 135, 0, "::"))
    add((1, "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", "2001:db8:1::1", 443, 61000, 6, 0x11, 72, 9999999999999, 8888888888, 18000, 3600000, 13, 14, 64512, 64513, 0, 0, "2001:db8:ffff::2"))
    # many flows that share counters (ties for -O and -s orders)
    for i in range(24):
        add((i % 3 == 0, f"2001:db8:5::{i + 1:x}" if i % 3 == 0 else f"10.9.{i}.1",
             f"2001:db8:6::{i + 1:x}" if i % 3 == 0 else f"10.8.{i}.1",
             30000 + i, 443 if i % 2 else 53, 6 if i % 2 else 17, 0x10 if i % 2 else 0,
             0, 1000 * (i % 4 + 1), i % 4 + 1, 20000 + 1000 * i, 1500 * (i % 5), 1, 2,
             64500 + i % 3, 15169, 0, 0, "2001:db8:ffff::9" if i % 3 == 0 else "10.1.0.254"))
    return out


def record(f):
    (v6, sa, da, sp, dp, pr, flg, tos, byt, pkt, off, dur, i, o, sas, das, it, ic, nh) = f
    start = BASE + 1800000 + off
    body = ipaddress.ip_address(sa).packed + ipaddress.ip_address(da).packed
    body += struct.pack(">HHBBBQQQQIIIIH", sp, dp, pr, flg, tos, byt, pkt, start, start + dur,
                        i, o, sas, das, (it << 8) | ic)
    body += ipaddress.ip_address(nh).packed
    return body


def template_set():
    body = b""
    for tid, fields in ((256, V4), (257, V6)):
        body += struct.pack(">HH", tid, len(fields))
        for ie, ln in fields:
            body += struct.pack(">HH", ie, ln)
    return struct.pack(">HH", 2, 4 + len(body)) + body


def message(seq, sets):
    payload = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(payload), int(time.time()), seq, 7) + payload


def main(argv):
    if len(argv) != 2:
        raise SystemExit(__doc__)
    host, port = argv[0], int(argv[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fl = flows()
    seq = 0
    s.sendto(message(seq, [template_set()]), (host, port))
    time.sleep(0.05)
    for k in range(0, len(fl), 8):
        chunk = fl[k:k + 8]
        sets = []
        for tid, v6 in ((256, 0), (257, 1)):
            recs = b"".join(record(f) for f in chunk if bool(f[0]) == bool(v6))
            if recs:
                sets.append(struct.pack(">HH", tid, 4 + len(recs)) + recs)
        s.sendto(message(seq, [template_set()] + sets), (host, port))
        seq += len(chunk)
        time.sleep(0.02)
    print(len(fl))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
