#!/usr/bin/env python3
"""tests/tools/udp_to_pcap.py PORT COUNT TIMEOUT OUT.pcap [READY_FILE]

Receive COUNT datagrams on 127.0.0.1:PORT (a 32 MiB socket buffer, so a
loaded machine loses nothing), stopping early after TIMEOUT seconds in
all or 2 seconds of silence after the first datagram, and write
them to OUT.pcap wrapped in Ethernet/IPv4/UDP headers (127.0.0.1 ->
127.0.0.1, destination PORT) for tshark to decode offline. Unlike a live
capture, the kernel keeps datagrams in the socket buffer until read, so
CPU starvation cannot drop them. Touches READY_FILE once bound. Prints
the number of datagrams written.
"""
import socket
import struct
import sys
import time


def ip_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main(argv):
    port, count, timeout, out = int(argv[0]), int(argv[1]), float(argv[2]), argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    s.bind(("127.0.0.1", port))
    if len(argv) > 4:
        open(argv[4], "w").close()
    deadline = time.monotonic() + timeout
    got = []
    while len(got) < count:
        left = deadline - time.monotonic()
        if got:
            left = min(left, 2.0)
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            break
        got.append((time.time(), data))
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in got:
            udp = struct.pack("!HHHH", 40000, port, 8 + len(data), 0) + data
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
            ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
            frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(frame), len(frame)))
            f.write(frame)
    print(len(got))


if __name__ == "__main__":
    main(sys.argv[1:])
