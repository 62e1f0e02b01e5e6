#!/usr/bin/env python3
"""tests/collect/captures_check.py — every capture in $FLOWLENS_CAPTURES
decoded by `flowlens decode` and checked against tshark (tshark_cmp.py).

Prints PASS/FAIL lines. Rules per capture:
  - decoding never crashes (no sanitizer report, exit 0 or 1);
  - exit status 1 with a named reason for the negative captures, 0 else;
  - NetFlow/IPFIX: flows + options records == every record tshark decodes,
    and every compared field equal (tshark_cmp.py);
  - sFlow: flow samples and counter samples == tshark's, fields equal;
  - known differences, each with its reason below, are asserted as such.
"""
import glob
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_cmp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ["FL_BIN"]
CAPS = os.environ["FLOWLENS_CAPTURES"]

# capture -> (expected exit, stderr pattern) for negative captures
NEGATIVE = {
    "nf5_invalid01.pcap": "length: NetFlow v5 count 55582 needs",
    "nf5_invalid02.pcap": "length: NetFlow v5 count 163 needs",
    # a second v9 datagram glued after the first: its header read as a set
    "nf9_graylog_v9_1.pcap": "set: set id 0 length 7496",
    "tcpdump_sflow_print-segv.pcap": "short: sFlow header",
}
# tshark stops at the v9 header's record count, which these exporters set
# lower than what they send; flowlens decodes every set that fits.
TSHARK_STOPS_AT_COUNT = {"graylog_softflowd_netflow9.pcap", "nf9_graylog_v9_1.pcap",
                         "nf9_invalid01.pcap"}
# tshark cannot read IPFIX files (RFC 5655); MANIFEST.md's record count
FILE_COUNTS = {"ipfixcol2_example_flows.ipfix": 3979}

passed = failed = 0


def result(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS %s" % name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, why))


def check_one(f):
    """all checks of one capture: a list of (ok, name, why)"""
    out = []
    name = os.path.basename(f)
    p = subprocess.run([BIN, "decode", "--json", f], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    err = p.stderr.decode(errors="replace")
    crash = "Sanitizer" in err or "runtime error" in err or p.returncode not in (0, 1)
    out.append((not crash, "decode_no_crash/" + name, err[-300:]))
    if name in NEGATIVE:
        out.append((p.returncode == 1 and NEGATIVE[name] in err, "negative_named/" + name,
                    "exit %d, stderr %r" % (p.returncode, err[:300])))
        if name.startswith("nf5_invalid") or "segv" in name:
            return out
    else:
        out.append((p.returncode == 0, "decode_clean/" + name, err[:300]))
    if name in FILE_COUNTS:
        flows = sum(json.loads(l)["flows"] for l in p.stdout.decode().splitlines()
                    if '"type":"exporter"' in l)
        out.append((flows == FILE_COUNTS[name], "manifest_count/" + name,
                    "%d flows, manifest %d" % (flows, FILE_COUNTS[name])))
        return out
    c = tshark_cmp.compare(BIN, f)
    mine = c["ours"] + c["options"]
    if "/sflow/" in f:
        ok = c["ours"] == c["tshark_all"] and c["counters"] == c["tshark_counters"]
    elif name in TSHARK_STOPS_AT_COUNT:
        ok = mine > c["tshark_all"]
    else:
        ok = mine == c["tshark_all"]
    out.append((ok, "tshark_count/" + name, json.dumps(c)[:400]))
    out.append((c["mismatches"] == 0, "tshark_fields/" + name, "; ".join(c["detail"])[:400]))
    return out


def main():
    files = sorted(f for d in ("netflow5", "netflow9", "ipfix", "sflow")
                   for f in glob.glob(os.path.join(CAPS, d, "*")))
    result("captures_found", len(files) >= 80, "only %d captures" % len(files))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for lines in pool.map(check_one, files):
            for ok, name, why in lines:
                result(name, ok, why)
    # the truncated v9 capture: its data set is counted as template-less
    p = subprocess.run([BIN, "decode", "--json",
                        os.path.join(CAPS, "netflow9", "nf9_graylog_v9_3_incomplete.pcap")],
                       stdout=subprocess.PIPE, check=False)
    ex = [json.loads(l) for l in p.stdout.decode().splitlines() if '"type":"exporter"' in l]
    result("incomplete_counts_missing_template",
           len(ex) == 1 and ex[0]["missing_template_sets"] == 1 and ex[0]["flows"] == 0, str(ex))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
