#!/usr/bin/env python3
"""tests/gen/nfacctcompare.py — compare pmacct nfacctd's view of gen's v9/IPFIX.

usage: nfacctcompare.py PROTO DUMP.csv NFACCTD.csv

DUMP.csv is `flowlens gen --dump`; NFACCTD.csv is nfacctd's print plugin
output (csv, numeric protocols, UTC timestamps) aggregated on interfaces,
addresses, masks, ports, protocol, TOS, TCP flags, AS numbers and start/end
timestamps. Each flow must come out once with its packets and bytes; IPFIX
times to the millisecond. nfacctd 1.7.7 computes v9 times in whole seconds
(unix_secs - floor((sysUptime - switched) / 1000)); with gen's whole-second
export clock that is the flow time rounded up to a second, which is what
is expected for v9. Prints one PASS/FAIL line per check.
"""
import csv
import sys
from collections import Counter
from datetime import datetime, timezone

ok = True


def check(name, cond, detail=""):
    global ok
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    ok = ok and cond


def ms(s):
    d = datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return int(round(d.timestamp() * 1000))


def main():
    proto, dump, got_csv = sys.argv[1], sys.argv[2], sys.argv[3]
    pre = f"nfacctd_{proto}_"
    exp = Counter()

    def t(v):
        v = int(v)
        return v if proto != "v9" else (v + 999) // 1000 * 1000

    for row in csv.reader(open(dump)):
        (exporter, first, last, sa, da, sp, dp, pr, flg, tos, byt, pkt, inif, outif, sas, das,
         smk, dmk, nh, svl, dvl, dirn, samp) = row
        exp[(int(inif), int(outif), sa, da, int(smk), int(dmk), int(sp), int(dp), int(flg),
             int(pr), int(tos), t(first), t(last), int(sas), int(das), int(pkt),
             int(byt))] += 1
    got = Counter()
    for r in csv.DictReader(open(got_csv)):
        got[(int(r["IN_IFACE"]), int(r["OUT_IFACE"]), r["SRC_IP"], r["DST_IP"],
             int(r["SRC_MASK"]), int(r["DST_MASK"]), int(r["SRC_PORT"]), int(r["DST_PORT"]),
             int(r["TCP_FLAGS"]), int(r["PROTOCOL"]), int(r["TOS"]), ms(r["TIMESTAMP_START"]),
             ms(r["TIMESTAMP_END"]), int(r["SRC_AS"]), int(r["DST_AS"]), int(r["PACKETS"]),
             int(r["BYTES"]))] += 1
    n_e, n_g = sum(exp.values()), sum(got.values())
    check(pre + "flow_count", n_e == n_g, f"nfacctd {n_g}, sent {n_e}")
    check(pre + "byte_sum", sum(k[16] * v for k, v in got.items()) == sum(k[16] * v for k, v in exp.items()),
          "byte sums differ")
    missing, extra = list((exp - got).elements()), list((got - exp).elements())
    check(pre + "per_flow_fields", not missing and not extra,
          f"{len(missing)} sent flows not found, e.g. {missing[:1]}; {len(extra)} unexpected, "
          f"e.g. {extra[:1]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
