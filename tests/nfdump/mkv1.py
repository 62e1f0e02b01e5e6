#!/usr/bin/env python3
"""tests/nfdump/mkv1.py — write an nfdump layout-1 file (nfdump 1.6.x format).

usage: mkv1.py OUT [--endian little|big] [--compress none|bz2] [--seed N]
                   [--flows N] [--per-block N]

Debian's nfdump 1.7.1 reads layout-1 files but can no longer write them, so
the tests build one from the documented layout (nfdump 1.6 nffile.h/nfx.h):
a 140-byte file header (magic 0xA50C, version 1, flags, NumBlocks, ident),
a 136-byte stat record, then blocks of type 2 holding extension maps
(type 2 records), exporter records (type 7) and common records (type 10)
whose optional fields follow their map. Flows are pseudo-random from the
seed and cover IPv4/IPv6, 32/64-bit counters, ICMP, interfaces, AS, masks,
next hops, BGP next hop (v4), VLAN, MAC, MPLS, router IP/ID, received time,
adjacent AS and out counters. Written in either byte order: nfdump reads
only the host's, flowlens both, so a big-endian twin must list the same
flows as the little-endian file.
"""
import argparse
import bz2
import random
import struct

# extension id -> payload size (nfdump 1.6 extension_descriptor)
EXT_SIZE = {4: 4, 5: 8, 6: 4, 7: 8, 8: 4, 9: 4, 10: 16, 11: 4, 13: 4, 14: 4, 15: 8,
            16: 4, 17: 8, 18: 4, 19: 8, 20: 16, 21: 16, 22: 40, 23: 4, 24: 16, 25: 4,
            26: 8, 27: 8}
# extension maps used (id 12, IPv6 BGP next hop, is left out: nfdump 1.7.1's
# converter files it as the router address, see nffile_compat.c)
MAPS = {
    0: [4, 6, 8, 9, 11, 13, 23, 25, 27],
    1: [5, 7, 8, 10, 14, 16, 20, 21, 22, 26, 23, 25, 27],
    2: [5, 7, 15, 17, 18, 24, 27],
    3: [23],
}
EXPORTERS = {1: ("v4", "192.0.2.1"), 2: ("v4", "198.51.100.7"), 3: ("v6", "2001:db8::99")}


def ip4(s):
    return struct.unpack("!I", bytes(int(x) for x in s.split(".")))[0]


def ip6_words(s):
    import socket
    b = socket.inet_pton(socket.AF_INET6, s)
    return struct.unpack("!QQ", b)


class W:
    def __init__(self, e):
        self.e = e
        self.b = bytearray()

    def u8(self, v):
        self.b += struct.pack("B", v & 0xFF)

    def u16(self, v):
        self.b += struct.pack(self.e + "H", v & 0xFFFF)

    def u32(self, v):
        self.b += struct.pack(self.e + "I", v & 0xFFFFFFFF)

    def u64(self, v):
        self.b += struct.pack(self.e + "Q", v & 0xFFFFFFFFFFFFFFFF)


def map_record(e, mid, ids):
    w = W(e)
    body = W(e)
    for i in ids:
        body.u16(i)
    body.u16(0)
    size = 8 + len(body.b)
    if size % 4:
        body.u16(0)
        size += 2
    w.u16(2)
    w.u16(size)
    w.u16(mid)
    w.u16(sum(EXT_SIZE[i] for i in ids))
    w.b += body.b
    return bytes(w.b)


def exporter_record(e, sysid):
    kind, addr = EXPORTERS[sysid]
    w = W(e)
    w.u16(7)
    w.u16(32)
    w.u32(9)  # NetFlow version
    if kind == "v4":
        # ip_addr_t: V4 in the low half of the second 64-bit word
        w.u64(0)
        w.u64(ip4(addr))
        w.u16(2)  # AF_INET
    else:
        hi, lo = ip6_words(addr)
        w.u64(hi)
        w.u64(lo)
        w.u16(10)  # AF_INET6
    w.u16(sysid)
    w.u32(sysid * 100)
    return bytes(w.b)


def rand_v6(rng):
    return (0x20010DB8 << 32) | rng.getrandbits(32), rng.getrandbits(64)


def flow_record(e, rng, mid, t0):
    ids = MAPS[mid]
    v6 = rng.random() < 0.3
    wide_p = rng.random() < 0.3
    wide_b = rng.random() < 0.5
    flags = (1 if v6 else 0) | (2 if wide_p else 0) | (4 if wide_b else 0)
    proto = rng.choice([6, 17, 1, 58, 47, 132, 6, 17])
    if proto in (1, 58):
        sport, dport = 0, (rng.choice([0, 3, 8, 11]) << 8) | rng.randrange(4)
    else:
        sport, dport = rng.randrange(65536), rng.choice([53, 80, 443, rng.randrange(65536)])
    first = t0 + rng.randrange(300)
    last = first + rng.randrange(60)
    sysid = 3 if 24 in ids else rng.choice([1, 2])
    body = W(e)
    if v6:
        s, d = rand_v6(rng), rand_v6(rng)
        body.u64(s[0]); body.u64(s[1]); body.u64(d[0]); body.u64(d[1])
    else:
        body.u32(rng.getrandbits(32)); body.u32(rng.getrandbits(32))
    pk = rng.randrange(1, 1 << 40) if wide_p else rng.randrange(1, 1 << 31)
    by = rng.randrange(1, 1 << 50) if wide_b else rng.randrange(1, 1 << 32)
    (body.u64 if wide_p else body.u32)(pk)
    (body.u64 if wide_b else body.u32)(by)
    for x in ids:
        if x == 4:
            body.u16(rng.randrange(65536)); body.u16(rng.randrange(65536))
        elif x == 5:
            body.u32(rng.getrandbits(32)); body.u32(rng.getrandbits(32))
        elif x == 6:
            body.u16(rng.randrange(65536)); body.u16(rng.randrange(65536))
        elif x == 7:
            body.u32(rng.getrandbits(32)); body.u32(rng.getrandbits(32))
        elif x == 8:
            body.u8(rng.randrange(256)); body.u8(rng.randrange(2))
            body.u8(rng.randrange(33)); body.u8(rng.randrange(33))
        elif x == 9 or x == 11:
            body.u32(rng.getrandbits(32))
        elif x == 10:
            h = rand_v6(rng); body.u64(h[0]); body.u64(h[1])
        elif x == 13:
            body.u16(rng.randrange(4096)); body.u16(rng.randrange(4096))
        elif x in (14, 16, 18):
            body.u32(rng.getrandbits(31))
        elif x in (15, 17):
            body.u64(rng.getrandbits(45))
        elif x in (20, 21):
            body.u64(rng.getrandbits(48)); body.u64(rng.getrandbits(48))
        elif x == 22:
            for _ in range(10):
                body.u32((rng.randrange(1 << 20) << 4) | (rng.randrange(8) << 1) | rng.randrange(2))
        elif x == 23:
            body.u32(ip4(EXPORTERS[sysid][1]))
        elif x == 24:
            h = ip6_words(EXPORTERS[sysid][1]); body.u64(h[0]); body.u64(h[1])
        elif x == 25:
            body.u16(0); body.u8(rng.randrange(256)); body.u8(rng.randrange(256))
        elif x == 26:
            body.u32(rng.getrandbits(32)); body.u32(rng.getrandbits(32))
        elif x == 27:
            body.u64(last * 1000 + 5000 + rng.randrange(1000))
        else:
            raise SystemExit("no generator for extension %d" % x)
    w = W(e)
    w.u16(10)
    w.u16(32 + len(body.b))
    w.u16(flags)
    w.u16(mid)
    w.u16(rng.randrange(1000)); w.u16(rng.randrange(1000))
    w.u32(first); w.u32(last)
    w.u8(rng.randrange(4)); w.u8(rng.randrange(256) if proto == 6 else 0)
    w.u8(proto); w.u8(rng.randrange(256))
    w.u16(sport); w.u16(dport)
    w.u16(sysid)
    w.u8(0); w.u8(rng.randrange(5))
    w.b += body.b
    return bytes(w.b), pk, by, proto


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--endian", default="little", choices=["little", "big"])
    ap.add_argument("--compress", default="none", choices=["none", "bz2"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flows", type=int, default=300)
    ap.add_argument("--per-block", type=int, default=120)
    a = ap.parse_args()
    e = "<" if a.endian == "little" else ">"
    rng = random.Random(a.seed)
    t0 = 1714564800  # 2024-05-01 12:00:00 UTC
    blocks = []
    recs = [map_record(e, m, ids) for m, ids in MAPS.items()]
    recs += [exporter_record(e, s) for s in EXPORTERS]
    stat = [0] * 15
    done = 0
    while done < a.flows:
        n = min(a.per_block, a.flows - done)
        for _ in range(n):
            r, pk, by, proto = flow_record(e, rng, rng.choice(list(MAPS)), t0)
            recs.append(r)
            stat[0] += 1; stat[1] += by; stat[2] += pk
        done += n
        blocks.append(recs)
        recs = []
    out = bytearray()
    w = W(e)
    w.u16(0xA50C); w.u16(1)
    w.u32(0x8 if a.compress == "bz2" else 0)
    w.u32(len(blocks))
    w.b += b"mkv1-test".ljust(128, b"\0")
    for v in stat:
        w.u64(v)
    w.u32(t0); w.u32(t0 + 400); w.u16(0); w.u16(0); w.u32(0)
    out += w.b
    for recs in blocks:
        payload = b"".join(recs)
        if a.compress == "bz2":
            payload = bz2.compress(payload, 9)
        h = W(e)
        h.u32(len(recs)); h.u32(len(payload)); h.u16(2); h.u16(0)
        out += h.b + payload
    with open(a.out, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
