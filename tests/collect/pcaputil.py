"""tests/collect/pcaputil.py — read and write classic pcap files for the
collector's tests: frames with their UDP payloads (Ethernet / VLAN /
IPv4 / IPv6), and a UDP sender replaying payloads to a collector."""
import socket
import struct
import time


def read(path):
    """list of (header16, frame, payload or None, src ip string or None)"""
    d = open(path, "rb").read()
    end = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out = []
    off = 24
    while off + 16 <= len(d):
        incl = struct.unpack(end + "I", d[off + 8:off + 12])[0]
        hdr = d[off:off + 16]
        fr = d[off + 16:off + 16 + incl]
        off += 16 + incl
        out.append((hdr, fr) + udp_payload(fr))
    return d[:24], out


def udp_payload(fr):
    o = 12
    while fr[o:o + 2] in (b"\x81\x00", b"\x88\xa8"):
        o += 4
    et = fr[o:o + 2]
    o += 2
    if et == b"\x08\x00" and len(fr) >= o + 20 and fr[o + 9] == 17:
        src = socket.inet_ntop(socket.AF_INET, fr[o + 12:o + 16])
        o += (fr[o] & 15) * 4
    elif et == b"\x86\xdd" and len(fr) >= o + 40 and fr[o + 6] == 17:
        src = socket.inet_ntop(socket.AF_INET6, fr[o + 8:o + 24])
        o += 40
    else:
        return (None, None)
    ulen = struct.unpack(">H", fr[o + 4:o + 6])[0]
    return (fr[o + 8:o + ulen], src)


def write(path, ghdr, frames):
    with open(path, "wb") as fh:
        fh.write(ghdr)
        for hdr, fr in frames:
            fh.write(hdr)
            fh.write(fr)


def send(payloads, addr, port, family=socket.AF_INET, gap=0.0005):
    s = socket.socket(family, socket.SOCK_DGRAM)
    for p in payloads:
        s.sendto(p, (addr, port))
        time.sleep(gap)
    s.close()
