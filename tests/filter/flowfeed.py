#!/usr/bin/env python3
"""tests/filter/flowfeed.py — send flow exports to a collector on loopback.

  flowfeed.py pcap PORT FILE...       replay the UDP payloads of classic pcap
                                      files (NetFlow/IPFIX exports) in order
  flowfeed.py synth PORT SEED COUNT   NetFlow v9 with every field the filter
                                      language tests, values from small
                                      domains so filters hit; deterministic

Only 127.0.0.1 is ever addressed. Every loop is bounded by the input size
or COUNT. Written for the filter differential test (test_diff.sh).
"""
import random
import socket
import struct
import sys
import time

MAX_PACKETS = 100000


def pcap_payloads(path):
    """Yield UDP payloads of a classic pcap (Ethernet, raw IP or Linux SLL)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        return  # not a classic pcap (pcapng, raw ipfix file): skipped
    linktype = struct.unpack(e + 'I', data[20:24])[0]
    off, n = 24, 0
    while off + 16 <= len(data) and n < MAX_PACKETS:
        n += 1
        incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        p = udp_payload(pkt, linktype)
        if p:
            yield p


def udp_payload(pkt, linktype):
    i = 0
    if linktype == 1:  # Ethernet
        if len(pkt) < 14:
            return None
        et = struct.unpack('>H', pkt[12:14])[0]
        i = 14
        for _ in range(2):  # up to two VLAN tags
            if et in (0x8100, 0x88a8) and len(pkt) >= i + 4:
                et = struct.unpack('>H', pkt[i + 2:i + 4])[0]
                i += 4
    elif linktype == 113:  # Linux cooked
        if len(pkt) < 16:
            return None
        et = struct.unpack('>H', pkt[14:16])[0]
        i = 16
    elif linktype in (101, 12, 14):  # raw IP
        et = 0x0800 if pkt and (pkt[0] >> 4) == 4 else 0x86dd
    else:
        return None
    if et == 0x0800:
        if len(pkt) < i + 20:
            return None
        ihl = (pkt[i] & 15) * 4
        if pkt[i + 9] != 17:
            return None
        i += ihl
    elif et == 0x86dd:
        if len(pkt) < i + 40 or pkt[i + 6] != 17:
            return None
        i += 40
    else:
        return None
    if len(pkt) < i + 8:
        return None
    ulen = struct.unpack('>H', pkt[i + 4:i + 6])[0]
    return pkt[i + 8:i + max(8, ulen)] or None


# NetFlow v9 synthetic exports --------------------------------------------
V4_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (5, 1), (55, 1),
             (1, 8), (2, 8), (23, 8), (24, 8), (22, 4), (21, 4), (10, 4), (14, 4),
             (16, 4), (17, 4), (15, 4), (18, 4), (9, 1), (13, 1), (61, 1),
             (58, 2), (59, 2), (56, 6), (57, 6), (80, 6), (81, 6), (70, 3),
             (89, 1), (128, 4), (129, 4), (32, 2),
             (225, 4), (226, 4), (227, 2), (228, 2), (230, 1), (234, 4), (235, 4)]
V6_FIELDS = [(27, 16), (28, 16)] + V4_FIELDS[2:18] + [(62, 16), (63, 16)] + \
            [(29, 1), (30, 1)] + V4_FIELDS[22:]


def synth_flow(r, v6, uptime):
    hosts4 = [0x0a000001 + i for i in range(6)] + [0xac100001, 0xac10ff02, 0xc0a80101,
                                                    0x08080808, 0x01010101, 0xc0000201]
    hosts6 = [bytes.fromhex('20010db8000000000000000000000001'),
              bytes.fromhex('20010db8000000010000000000000002'),
              bytes.fromhex('fe800000000000000000000000000001'),
              bytes.fromhex('2a0014500000000000000000000000aa'),
              bytes.fromhex('00000000000000000000000000000001')]
    proto = r.choice([6, 6, 6, 17, 17, 1, 58, 47, 50])
    if v6 and proto == 1:
        proto = 58
    if not v6 and proto == 58:
        proto = 1
    if proto in (1, 58):
        sport = 0
        dport = r.choice([0x0800, 0x0000, 0x0303, 0x0b00, 0x8000, 0x8100])
    else:
        sport = r.choice([53, 80, 443, 123, 1024, 40000, 65535, r.randrange(65536)])
        dport = r.choice([53, 80, 443, 22, 8080, 3389, r.randrange(65536)])
    flags = r.choice([0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x1b, 0x3f, 0x00]) if proto == 6 else 0
    pkts = r.choice([1, 2, 3, 10, 100, 1000, 5000, r.randrange(1, 100000)])
    byts = pkts * r.choice([40, 64, 576, 1000, 1500])
    dur = r.choice([0, 0, 1, 10, 999, 1000, 1500, 60000, r.randrange(0, 300000)])
    last = uptime - r.randrange(0, 1000)
    first = last - dur
    vals = {
        7: sport, 11: dport, 4: proto, 6: flags,
        5: r.choice([0, 0, 8, 32, 46, 184]), 55: r.choice([0, 0, 8, 46]),
        1: byts, 2: pkts,
        23: r.choice([0, 0, 100, 5000]), 24: r.choice([0, 0, 1, 10]),
        22: first, 21: last,
        10: r.choice([0, 1, 2, 3, 10, 4095]), 14: r.choice([0, 1, 2, 5, 10]),
        16: r.choice([0, 0, 13335, 15169, 64512, 4200000000]),
        17: r.choice([0, 3320, 15169, 65535, 4200000001]),
        15: r.choice([0, 0x0a0000fe, 0xc0a801fe]),
        18: r.choice([0, 0x0a0000fd, 0x01010101]),
        9: r.choice([0, 8, 16, 24, 32]), 13: r.choice([0, 8, 16, 24, 32]),
        29: r.choice([0, 32, 48, 64, 128]), 30: r.choice([0, 32, 48, 64, 128]),
        61: r.choice([0, 1]),
        58: r.choice([0, 0, 1, 10, 100, 4094]), 59: r.choice([0, 0, 1, 20, 100]),
        56: r.choice([0, 0x001122334455, 0xaabbccddeeff]),
        57: r.choice([0, 0x001122334455, 0x020000000001]),
        80: r.choice([0, 0xaabbccddeeff, 0x020000000002]),
        81: r.choice([0, 0x001122334455]),
        70: r.choice([0, 0, (16 << 4) | 1, (100 << 4) | (5 << 1) | 1, (1000 << 4) | (7 << 1)]),
        89: r.choice([0, 1, 2, 64, 128]),
        128: r.choice([0, 0, 3356, 174]), 129: r.choice([0, 0, 1299, 6939]),
        32: dport if proto in (1, 58) else 0,
        225: r.choice([0, 0x64400001, 0x64400002]), 226: r.choice([0, 0x08080404]),
        227: r.choice([0, 1024, 50000]), 228: r.choice([0, 53, 443]),
        230: r.choice([0, 1, 2]), 234: r.choice([0, 5, 100]), 235: r.choice([0, 7]),
    }
    if v6:
        vals[27] = r.choice(hosts6)
        vals[28] = r.choice(hosts6)
        vals[62] = r.choice([bytes(16), hosts6[0]])
        vals[63] = r.choice([bytes(16), hosts6[3]])
    else:
        vals[8] = r.choice(hosts4)
        vals[12] = r.choice(hosts4)
    out = b''
    for (t, l) in (V6_FIELDS if v6 else V4_FIELDS):
        v = vals[t]
        out += v if isinstance(v, bytes) else (v & ((1 << (8 * l)) - 1)).to_bytes(l, 'big')
    return out


def template_set():
    body = b''
    for tid, fields in ((256, V4_FIELDS), (257, V6_FIELDS)):
        body += struct.pack('>HH', tid, len(fields))
        for (t, l) in fields:
            body += struct.pack('>HH', t, l)
    return struct.pack('>HH', 0, 4 + len(body)) + body


def synth_packets(seed, count):
    r = random.Random(seed)
    seq = 0
    now = int(time.time())
    uptime = 3600000
    left = count
    while left > 0:
        n = min(left, 10)
        left -= n
        recs4, recs6 = b'', b''
        n4 = n6 = 0
        for _ in range(n):
            if r.random() < 0.25:
                recs6 += synth_flow(r, True, uptime)
                n6 += 1
            else:
                recs4 += synth_flow(r, False, uptime)
                n4 += 1
        sets = template_set()
        for tid, recs in ((256, recs4), (257, recs6)):
            if recs:
                pad = (4 - (len(recs) + 4) % 4) % 4
                sets += struct.pack('>HH', tid, 4 + len(recs) + pad) + recs + b'\0' * pad
        source_id = r.choice([1, 2])
        hdr = struct.pack('>HHIIII', 9, n4 + n6 + 2, uptime, now, seq, source_id)
        seq += 1
        yield hdr + sets


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    if mode == 'pcap':
        gen = (p for f in sys.argv[3:] for p in pcap_payloads(f))
    elif mode == 'synth':
        gen = synth_packets(int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
    for p in gen:
        s.sendto(p, ('127.0.0.1', port))
        sent += 1
        if sent % 50 == 0:
            time.sleep(0.002)  # let the collector keep up
        if sent >= MAX_PACKETS:
            break
    print(sent)


if __name__ == '__main__':
    main()
