#!/usr/bin/env python3
"""tests/collect/mkexport.py — hand-built exports sent to a collector.

Usage: mkexport.py SCENARIO HOST PORT [SRC_ADDR] [ARG]

Datagrams leave from SRC_ADDR (default 127.0.0.1; any 127.x.y.z works on
loopback) so tests can play several exporters. Prints a JSON summary of
what was sent. Scenarios:

  v5seq   NetFlow v5, engine 0: four good datagrams of 2 flows with
          sequence numbers 0, 2, 10, 12 (6 flows lost), then one whose
          count says 30 records but carries 1 ("length").
  ipfix   IPFIX domain 7: a data template without sampling, an options
          template naming interfaces (scope IE 10, IE 82 interfaceName,
          IE 83 interfaceDescription), one naming VRFs (scope IE 234,
          IE 236 VRFname), then 5 flows; domain 8: a data set for a
          template never sent (missing template); domain 9: a set whose
          length runs past the message ("set").
  ipfixdata  the 5 flows of domain 7 alone (templates must be known)
  burst   ARG NetFlow v5 datagrams of 30 flows each, back to back, with
          consecutive sequence numbers (kernel-drop test).
"""
import json
import socket
import struct
import sys
import time


def v5(seq, nrec, count=None, engine=0):
    now = int(time.time())
    hdr = struct.pack("!HHIIIIBBH", 5, nrec if count is None else count, 100000, now, 0, seq,
                      0, engine, 0)
    recs = b""
    for i in range(nrec):
        recs += struct.pack("!IIIHHIIIIHHBBBBHHBBH",
                            0x0a000001 + i, 0xc0a80001, 0, 1, 2, 3, 300 + i, 90000, 99000,
                            1000 + i, 80, 0, 0x18, 6, 0, 0, 0, 24, 24, 0)
    return hdr + recs


def ipfix(domain, seq, sets):
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), int(time.time()), seq, domain) + body


def iset(sid, content):
    return struct.pack("!HH", sid, 4 + len(content)) + content


def fields(fs):
    return b"".join(struct.pack("!HH", ie, ln) for ie, ln in fs)


def fixed(s, n):
    b = s.encode()[:n]
    return b + bytes(n - len(b))


def main():
    scen, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    src = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
    arg = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    out = []
    summary = {}
    if scen == "v5seq":
        for seq in (0, 2, 10, 12):
            out.append(v5(seq, 2))
        out.append(v5(14, 1, count=30))
        summary = {"flows": 8, "seq_lost": 6, "length": 1, "datagrams": 5}
    elif scen in ("ipfix", "ipfixdata"):
        data_tpl = fields([(8, 4), (12, 4), (4, 1), (7, 2), (11, 2), (1, 8), (2, 8), (152, 8),
                           (153, 8)])
        ifopt = struct.pack("!HHH", 257, 3, 1) + fields([(10, 4), (82, 16), (83, 32)])
        vrfopt = struct.pack("!HHH", 258, 2, 1) + fields([(234, 4), (236, 32)])
        now_ms = int(time.time() * 1000)
        recs = b""
        for i in range(5):
            recs += struct.pack("!IIBHHQQQQ", 0x0a000001 + i, 0xc0a80001, 17, 5000 + i, 53,
                                100 * (i + 1), i + 1, now_ms - 2000, now_ms - 1000)
        ifrecs = (struct.pack("!I", 1) + fixed("xe-0/0/1", 16) + fixed("uplink A", 32) +
                  struct.pack("!I", 2) + fixed("xe-0/0/2", 16) + fixed("uplink B", 32))
        vrfrecs = struct.pack("!I", 5) + fixed("CUSTOMER-A", 32)
        # sequence: data records before the message (options records count)
        if scen == "ipfixdata":
            out.append(ipfix(7, 3, [iset(256, recs)]))
            for d in out:
                s.sendto(d, (host, port))
            print(json.dumps({"flows": 5}))
            return
        out.append(ipfix(7, 0, [iset(2, struct.pack("!HH", 256, 9) + data_tpl),
                                iset(3, ifopt), iset(3, vrfopt)]))
        out.append(ipfix(7, 0, [iset(257, ifrecs), iset(258, vrfrecs)]))
        out.append(ipfix(7, 3, [iset(256, recs)]))
        out.append(ipfix(8, 0, [iset(999, recs)]))
        bad = ipfix(9, 0, [iset(256, recs)])
        bad = bad[:18] + struct.pack("!H", 400) + bad[20:]  # set length past the end
        out.append(bad)
        summary = {"flows": 5, "domain7": {"flows": 5, "seq_lost": 0},
                   "domain8": {"missing_template_sets": 1}, "domain9": {"set": 1}}
    elif scen == "burst":
        for i in range(arg):
            out.append(v5(i * 30, 30))
        summary = {"datagrams": arg, "flows": arg * 30}
    else:
        sys.exit("unknown scenario " + scen)
    for d in out:
        s.sendto(d, (host, port))
        if scen != "burst":
            time.sleep(0.01)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
