#!/usr/bin/env python3
"""tests/tools/pcap_send.py — replay the UDP payloads of pcap files to a collector.

usage: pcap_send.py HOST PORT FILE... [--port-filter N] [--gap-ms MS]

Reads classic pcap (microsecond or nanosecond, either byte order; Ethernet,
Linux cooked or raw IP link types), takes every IPv4/IPv6 UDP payload (or only
those to --port-filter) and sends each one as a datagram to HOST:PORT, in file
order. Prints the number of datagrams sent. Used by tests to feed real exports
to nfcapd and to flowlens; bounded by the size of its input.
"""
import socket
import struct
import sys
import time


def udp_payloads(path, port_filter=None):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit(f"{path}: too short for a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap file (magic {magic.hex()})")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + caplen]
        off += caplen
        if linktype == 1:  # Ethernet, with optional VLAN tags
            if len(pkt) < 14:
                continue
            etype = struct.unpack(">H", pkt[12:14])[0]
            p = 14
            while etype in (0x8100, 0x88A8) and len(pkt) >= p + 4:
                etype = struct.unpack(">H", pkt[p + 2:p + 4])[0]
                p += 4
            ip = pkt[p:]
        elif linktype == 113:  # Linux cooked
            etype = struct.unpack(">H", pkt[14:16])[0] if len(pkt) >= 16 else 0
            ip = pkt[16:]
        elif linktype in (101, 12, 14):  # raw IP
            ip = pkt
            etype = 0x86DD if ip and ip[0] >> 4 == 6 else 0x0800
        else:
            raise SystemExit(f"{path}: unsupported link type {linktype}")
        if etype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
            ihl = (ip[0] & 15) * 4
            udp = ip[ihl:]
        elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 17:
            udp = ip[40:]
        else:
            continue
        if len(udp) < 8:
            continue
        dport = struct.unpack(">H", udp[2:4])[0]
        ulen = struct.unpack(">H", udp[4:6])[0]
        if port_filter is not None and dport != port_filter:
            continue
        yield udp[8:max(8, min(ulen, len(udp)))]


def main(argv):
    args = []
    port_filter = None
    gap = 0.0
    i = 0
    while i < len(argv):
        if argv[i] == "--port-filter":
            port_filter = int(argv[i + 1]); i += 2
        elif argv[i] == "--gap-ms":
            gap = float(argv[i + 1]) / 1000.0; i += 2
        else:
            args.append(argv[i]); i += 1
    if len(args) < 3:
        raise SystemExit(__doc__)
    host, port, files = args[0], int(args[1]), args[2:]
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    sent = 0
    for path in files:
        for payload in udp_payloads(path, port_filter):
            s.sendto(payload, (host, port))
            sent += 1
            if gap:
                time.sleep(gap)
    print(sent)


if __name__ == "__main__":
    main(sys.argv[1:])
