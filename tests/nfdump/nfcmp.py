#!/usr/bin/env python3
"""tests/nfdump/nfcmp.py — compare flowlens' csv listing with nfdump's, field by field.

usage: nfcmp.py NFDUMP.csv NFDUMP.json FLOWLENS.csv

NFDUMP.csv is `nfdump -q -o csv` of a file, NFDUMP.json `nfdump -o json` of
the same file (same flow order), FLOWLENS.csv `flowlens query -q -o csv`.
Every flow must match in every column flowlens keeps. Three documented
differences are accounted for, nothing else:
  - nhb: nfdump 1.7.1's csv writer prints the IP next hop in the nhb column
    when the BGP next hop is IPv6 (output_csv.c); its json writer prints the
    real value (bgp4_next_hop / bgp6_next_hop), which is what we compare.
  - nh, nhb, ra: an all-zero IPv6 address ("::") and no address ("0.0.0.0")
    are the same value in flowlens' schema (fl_addr {0,0}).
  - every address column: an IPv4-mapped IPv6 address ("::ffff:1.2.3.4") is
    how flowlens stores IPv4, so it reads back as "1.2.3.4".
  - sa, da: a record holding both an IPv4 and an IPv6 address element is
    printed by nfdump's csv through its IPv6 union ("::10.0.0.1") while its
    json lists both (src4_addr and src6_addr); either json value is accepted.
  - mpls2..mpls10, cl, sl, al: columns flowlens does not keep (the schema has
    mpls_label1 only and no latency columns); reported if nfdump has values.
Prints "compared N flows, M fields" and exits 0, or lists the first
mismatches and exits 1.
"""
import csv
import json
import sys

NOT_KEPT = {"mpls%d" % i for i in range(2, 11)} | {"cl", "sl", "al"}
ZERO_SAME = {"nh", "nhb", "ra"}
ADDR = {"sa", "da", "nh", "nhb", "ra"}


def main():
    nf_csv, nf_json, fl_csv = sys.argv[1:4]
    with open(nf_csv) as f:
        nf = [r for r in csv.reader(f) if r]
    with open(fl_csv) as f:
        fl = [r for r in csv.reader(f) if r]
    with open(nf_json) as f:
        js = json.load(f)
    header = ("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,"
              "dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,"
              "mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr").split(",")
    # nfdump -q still prints nothing else; drop a trailing summary if present
    for rows in (nf, fl):
        if rows and rows[0] == header:
            del rows[0]
    cut = next((i for i, r in enumerate(nf) if r and r[0] == "Summary"), None)
    if cut is not None:
        del nf[cut:]
    jsflows = js  # one object per listed record (FLOW or EVENT), same order
    bad = []
    if len(nf) != len(fl):
        bad.append("flow count: nfdump %d, flowlens %d" % (len(nf), len(fl)))
    if len(jsflows) != len(nf):
        bad.append("nfdump json has %d flows, csv %d" % (len(jsflows), len(nf)))
    fields = 0
    not_kept = 0
    for i, (a, b) in enumerate(zip(nf, fl)):
        if len(a) != len(header) or len(b) != len(header):
            bad.append("flow %d: %d/%d columns" % (i, len(a), len(b)))
            continue
        j = jsflows[i] if i < len(jsflows) else {}
        for k, name in enumerate(header):
            want, got = a[k], b[k]
            if name in NOT_KEPT:
                if want.strip() not in ("0-0-0", "0.000"):
                    not_kept += 1
                continue
            if name in ("sa", "da"):
                pre = "src" if name == "sa" else "dst"
                if pre + "4_addr" in j and pre + "6_addr" in j and got == j[pre + "4_addr"]:
                    want = got
            if name == "nhb":
                want = j.get("bgp6_next_hop", j.get("bgp4_next_hop", want))
            if name in ADDR and want.startswith("::ffff:") and "." in want:
                want = want[7:]
            if name in ZERO_SAME:
                want = "0.0.0.0" if want == "::" else want
                got = "0.0.0.0" if got == "::" else got
            fields += 1
            if want != got:
                bad.append("flow %d column %s: nfdump %r, flowlens %r" % (i, name, want, got))
    if not_kept:
        print("note: %d values in columns flowlens does not keep (mpls2-10, latency)" % not_kept)
    if bad:
        print("%d mismatches" % len(bad))
        for m in bad[:15]:
            print("  " + m)
        sys.exit(1)
    print("compared %d flows, %d fields" % (len(fl), fields))


if __name__ == "__main__":
    main()
