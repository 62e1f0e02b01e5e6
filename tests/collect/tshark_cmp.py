#!/usr/bin/env python3
"""tests/collect/tshark_cmp.py — compare `flowlens decode --json FILE` with
tshark's decode of the same capture, record by record.

Usage: tshark_cmp.py FLOWLENS_BIN CAPTURE

tshark (Debian's, the oracle) decodes every UDP port the capture uses as
cflow (NetFlow/IPFIX) or sflow. Records are matched per frame (flowlens'
time_received is the frame's capture time) and in order inside a frame.
Compared fields, whenever tshark shows them: source/destination address,
ports, protocol, bytes, packets, NAT addresses and ports; for sFlow
samples: sampling rate, frame length, the sampled header's first IP
addresses, and the number of counter samples.

Prints one JSON object: {"ours": N, "tshark": M, "tshark_all": A,
"options": O, "counters": C, "tshark_counters": TC, "mismatches": K,
"short_frames": F, "detail": [...]}; tshark_all counts every record
tshark decoded (flows and options records, sFlow flow samples);
short_frames counts frames where
tshark decoded fewer records than flowlens (tshark stops at the v9
header's count). Exit 0 always; the shell test decides.
"""
import collections
import datetime
import ipaddress
import json
import re
import subprocess
import sys


def pairs_hook(pairs):
    return pairs  # keep duplicate keys: a list of (key, value)


def walk(node, fn):
    if isinstance(node, list):
        for k, v in node:
            fn(k, v)
            if isinstance(v, list):
                walk(v, fn)


def get(rec, *keys):
    """first value of the keys, preferring one that is not zero"""
    zero = None
    for k, v in rec:
        if k in keys and not isinstance(v, list):
            if v in ("0", "0.0.0.0", "::", "0x00000000"):
                zero = v
                continue
            return v
    return zero


def norm_addr(a):
    if a is None:
        return None
    try:
        ip = ipaddress.ip_address(a)
    except ValueError:
        return a
    return str(ip)


def tshark_records(cap, ports, kind):
    args = ["tshark", "-r", cap, "-T", "json"]
    for p in ports:
        args += ["-d", "udp.port==%s,%s" % (p, kind)]
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
    frames = json.loads(out, object_pairs_hook=pairs_hook)
    result = []  # (frame_time_ms, [records])
    counters = 0
    for fr in frames:
        layers = get_list(get_list(fr, "_source"), "layers")
        t = None
        recs = []
        nctr = [0]
        for k, v in layers:
            if k == "frame":
                sec, _, frac = get(v, "frame.time_epoch").partition(".")
                t = int(sec) * 1000 + int((frac + "000")[:3])
            if k == "cflow":
                def on(k2, v2):
                    if isinstance(v2, list) and (re.match(r"Flow \d+( |$)", k2)
                                                 or k2.startswith("pdu ")):
                        recs.append(("nf", v2))
                walk(v, on)
            if k == "sflow":
                def on_s(k2, v2):
                    if isinstance(v2, list) and (k2.startswith("Flow sample") or
                                                 k2.startswith("Expanded flow sample")):
                        recs.append(("sf", v2))
                    if isinstance(v2, list) and ("ounters sample" in k2):
                        nctr[0] += 1
                walk(v, on_s)
        counters += nctr[0]
        result.append((t, recs))
    return result, counters


def get_list(pairs, key):
    for k, v in pairs:
        if k == key:
            return v
    return []


def nf_expect(rec):
    e = {}
    e["src_addr"] = norm_addr(get(rec, "cflow.srcaddr", "cflow.srcaddrv6"))
    e["dst_addr"] = norm_addr(get(rec, "cflow.dstaddr", "cflow.dstaddrv6"))
    e["src_port"] = get(rec, "cflow.srcport")
    e["dst_port"] = get(rec, "cflow.dstport")
    e["proto"] = get(rec, "cflow.protocol")
    e["bytes"] = get(rec, "cflow.octets", "cflow.permanent_octets", "cflow.initiator_octets")
    e["packets"] = get(rec, "cflow.packets", "cflow.permanent_packets")
    e["xlate_src_addr"] = norm_addr(get(rec, "cflow.post_natsource_ipv4_address"))
    e["xlate_dst_addr"] = norm_addr(get(rec, "cflow.post_natdestination_ipv4_address"))
    e["xlate_src_port"] = get(rec, "cflow.post_naptsource_transport_port")
    e["xlate_dst_port"] = get(rec, "cflow.post_naptdestination_transport_port")
    return {k: v for k, v in e.items() if v is not None}


def is_flow(rec):
    # options records (sampling, names) carry none of the flow keys
    return any(get(rec, k) is not None for k in (
        "cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr", "cflow.dstaddrv6", "cflow.octets",
        "cflow.packets", "cflow.protocol", "cflow.srcport", "cflow.permanent_octets",
        "cflow.initiator_octets"))


def sf_expect(rec):
    e = {"sampling_rate": get(rec, "sflow.flow_sample.sampling_rate")}
    hdr = []

    def on(k, v):
        if k == "Raw packet header" and isinstance(v, list):
            hdr.append(v)
    walk(rec, on)
    if hdr:
        e["bytes"] = get(hdr[0], "sflow_245.header.frame_length")
        tree = get_list(hdr[0], "sflow_245.header_tree")
        ips = []

        def on_ip(k, v):
            if k in ("ip", "ipv6") and isinstance(v, list):
                ips.append((k, v))
        walk(tree, on_ip)
        if ips:
            k, v = ips[0]
            if k == "ip":
                e["src_addr"] = norm_addr(get(v, "ip.src"))
                e["dst_addr"] = norm_addr(get(v, "ip.dst"))
            else:
                e["src_addr"] = norm_addr(get(v, "ipv6.src"))
                e["dst_addr"] = norm_addr(get(v, "ipv6.dst"))
    return {k: v for k, v in e.items() if v is not None}


def ours(binary, cap):
    out = subprocess.run([binary, "decode", "--json", cap], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=False).stdout.decode()
    flows = collections.defaultdict(list)
    exporters = []
    for line in out.splitlines():
        o = json.loads(line)
        if o.get("type") == "exporter":
            exporters.append(o)
        elif "type" not in o:
            t = o["time_received"]
            ms = int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
                     .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)
            flows[ms].append(o)
    return flows, exporters


def ports_of(cap):
    """UDP destination ports of the capture's outer headers (classic pcap,
    Ethernet / VLAN / IPv4 / IPv6), read here to spare a tshark run"""
    import struct
    with open(cap, "rb") as fh:
        data = fh.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    ports = set()
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        o = 12
        while len(pkt) >= o + 2 and pkt[o:o + 2] in (b"\x81\x00", b"\x88\xa8"):
            o += 4
        if len(pkt) < o + 2:
            continue
        et = pkt[o:o + 2]
        o += 2
        if et == b"\x08\x00" and len(pkt) >= o + 20 and pkt[o + 9] == 17:
            o += (pkt[o] & 15) * 4
        elif et == b"\x86\xdd" and len(pkt) >= o + 40 and pkt[o + 6] == 17:
            o += 40
        else:
            continue
        if len(pkt) >= o + 4:
            ports.add(str(struct.unpack(">H", pkt[o + 2:o + 4])[0]))
    return sorted(ports)


def compare(binary, cap):
    kind = "sflow" if "/sflow/" in cap else "cflow"
    frames, counters = tshark_records(cap, ports_of(cap), kind)
    mine, exporters = ours(binary, cap)
    want_proto = {"sflow5"} if kind == "sflow" else {"netflow5", "netflow9", "ipfix"}
    n_ours = sum(x["flows"] for x in exporters if x["proto"] in want_proto)
    n_opts = sum(x["option_records"] for x in exporters)
    n_ctr = sum(x["counter_samples"] for x in exporters)
    n_ts = 0
    n_all = sum(len(recs) for _, recs in frames)
    mism = 0
    short = 0
    detail = []
    used = collections.Counter()
    for t, recs in frames:
        exp = [(sf_expect(r) if k == "sf" else nf_expect(r)) for k, r in recs
               if k == "sf" or is_flow(r)]
        n_ts += len(exp)
        got = mine.get(t, [])
        i0 = used[t]
        used[t] += len(exp)
        got = got[i0:i0 + len(exp)] if len(got) > i0 else []
        if len(got) < len(exp):
            mism += len(exp) - len(got)
            detail.append("frame@%d: tshark %d records, flowlens %d" % (t, len(exp), len(got)))
        for e, g in zip(exp, got):
            for k, v in e.items():
                gv = g.get(k)
                if k.endswith("addr"):
                    gv = norm_addr(gv)
                    ok = gv == v
                else:
                    ok = gv is not None and str(gv) == str(int(v, 0) if v.startswith("0x") else v)
                if not ok:
                    mism += 1
                    if len(detail) < 20:
                        detail.append("frame@%d %s: tshark %s flowlens %s" % (t, k, v, gv))
    for t, lst in mine.items():
        if used[t] < len(lst) and kind == "cflow":
            short += 1
    return {"ours": n_ours, "tshark": n_ts, "tshark_all": n_all, "options": n_opts,
            "counters": n_ctr, "tshark_counters": counters, "mismatches": mism,
            "short_frames": short, "detail": detail}


def main():
    print(json.dumps(compare(sys.argv[1], sys.argv[2])))


if __name__ == "__main__":
    main()
