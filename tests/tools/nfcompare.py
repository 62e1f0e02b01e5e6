#!/usr/bin/env python3
"""tests/tools/nfcompare.py — compare flowlens and nfdump CSV outputs.

usage:
  nfcompare.py stat ORDER OURS THEIRS_TOP THEIRS_ALL
      -s statistics CSV (ts,te,td,pr,val,fl,...). ORDER is the order column
      (fl, pkt/ipkt, byt/ibyt, pps, bps, bpp). Passes when: the row count
      equals nfdump's; the sequence of order values equals nfdump's; and
      every row of ours appears, field for field, in nfdump's full (-n 0)
      listing. Rows tied on the order value may come in any order (nfdump
      leaves ties in hash order; flowlens orders them by key).
  nfcompare.py rows OURS THEIRS [COL...]
      Same multiset of rows over the named columns (all when none named).
  nfcompare.py listing OURS THEIRS
      nfdump text listings whose rows start with the -O order value and a
      '|' (e.g. -o "fmt:%byt|%ts %sap"): header and closing lines equal, the
      same rows, and the same sequence of order values. nfdump sorts -O
      with an unstable quicksort, so rows tied on the order value may come
      in any order; everything else must be byte for byte.
  nfcompare.py rowset OURS THEIRS
      nfdump text output whose records start with a date (-A, -s): every
      other line equal and in order, the records the same multiset and
      their count equal (nfdump leaves tied rows in hash order).
  nfcompare.py topseries MODE N OURS.json DIR
      `flowlens query --topseries ELEM --metric bytes -o json` against
      nfdump -s ELEM/bytes run on one nfcapd file per step: DIR holds
      step_K.top (nfdump -n N -o csv) and step_K.all (-n 0) for each step K
      and, for MODE window, whole.top / whole.all over the whole window.
      MODE step (FlowGraph's per-step top N): in each step our non-zero
      series are nfdump's top N of that step file (same values in the same
      order; tied keys may differ as nfdump leaves ties in hash order, but
      each must carry nfdump's value for it) and Other is the step's
      remaining bytes. MODE window: our series keys are nfdump's top N over
      the whole window, each step's value of each key equals nfdump's value
      for that key in that step file (0 when absent) and Other the rest.
Prints one line saying what matched or the first difference; exit 0 / 1.
"""
import csv
import re
import sys
from collections import Counter


def read_rows(path, header=None):
    """Rows of a CSV table; header=None reads it from the first line, a
    list is used for files without one (nfdump -q -A prints none)."""
    rows = []
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    for line in lines:
        if line.startswith("No matching flows"):
            continue  # nfdump's note before an empty table
        if not line.strip():
            if header is not None:
                break  # the blank line before the summary ends the table
            continue
        if header is None:
            header = next(csv.reader([line]))
            continue
        if line.startswith("Summary"):
            break
        rows.append(dict(zip(header, next(csv.reader([line])))))
    return header or [], rows


V4COMPAT = re.compile(r"^::(\d+\.\d+\.\d+\.\d+)$")


def norm(v):
    return v.strip()


def norm_addr(v):
    """nfdump -A prints a key holding both IPv4 a.b.c.d and IPv6 ::a.b.c.d
    in the form of the first flow it saw; flowlens prints IPv4. Compare
    the value, not the spelling."""
    v = v.strip()
    if v == "::":
        return "0.0.0.0"
    m = V4COMPAT.match(v)
    return m.group(1) if m else v


def stat(order, ours, top, full):
    _, a = read_rows(ours)
    _, b = read_rows(top)
    _, c = read_rows(full)
    if len(a) != len(b):
        return f"row count {len(a)} != nfdump's {len(b)}"
    if not a and not b:
        return None
    col = order if order in a[0] else ("i" + order if "i" + order in a[0] else order)
    va = [norm(r.get(col, "")) for r in a]
    vb = [norm(r.get(col, "")) for r in b]
    if va != vb:
        for i, (x, y) in enumerate(zip(va, vb)):
            if x != y:
                return f"order column {col} differs at row {i + 1}: {x} != nfdump {y} ({a[i]['val']} vs {b[i]['val']})"
    full_rows = Counter(tuple(sorted((k, norm(v)) for k, v in r.items())) for r in c)
    for r in a:
        key = tuple(sorted((k, norm(v)) for k, v in r.items()))
        if full_rows[key] == 0:
            match = [x for x in c if norm(x["val"]) == norm(r["val"]) and x["pr"] == r["pr"]]
            return f"row {r} not in nfdump's listing; nfdump has {match[:1]}"
        full_rows[key] -= 1
    return None


def rows(ours, theirs, cols):
    ha, a = read_rows(ours)
    with open(theirs) as f:
        first = f.readline()
    hb, b = read_rows(theirs, None if first.startswith("ts,") else ha)
    cols = cols or [h for h in ha if h in hb]
    ca = Counter(tuple(norm_addr(r.get(k, "")) for k in cols) for r in a)
    cb = Counter(tuple(norm_addr(r.get(k, "")) for k in cols) for r in b)
    if ca != cb:
        extra = list((ca - cb).elements())[:2]
        missing = list((cb - ca).elements())[:2]
        return f"{len(a)} vs {len(b)} rows over {cols}; only ours: {extra}; only nfdump: {missing}"
    return None


def listing(ours, theirs):
    with open(ours) as f:
        a = f.read().splitlines()
    with open(theirs) as f:
        b = f.read().splitlines()
    ra = [x for x in a if "|" in x]
    rb = [x for x in b if "|" in x]
    oa = [x for x in a if "|" not in x]
    ob = [x for x in b if "|" not in x]
    if oa != ob:
        for x, y in zip(oa + [""], ob + [""]):
            if x != y:
                return f"non-row line differs: {x!r} != nfdump {y!r}"
    if Counter(ra) != Counter(rb):
        extra = list((Counter(ra) - Counter(rb)).elements())[:2]
        missing = list((Counter(rb) - Counter(ra)).elements())[:2]
        return f"rows differ; only ours: {extra}; only nfdump: {missing}"
    ka = [x.split("|", 1)[0] for x in ra]
    kb = [x.split("|", 1)[0] for x in rb]
    if ka != kb:
        i = next(i for i, (x, y) in enumerate(zip(ka, kb)) if x != y)
        return f"order value at row {i + 1}: {ka[i]!r} != nfdump {kb[i]!r}"
    return None


def nf_stat(path):
    """nfdump -s csv: ({value: bytes}, [(value, bytes)] in order, total bytes)"""
    import os
    if not os.path.exists(path):
        return {}, [], 0
    _, rows_ = read_rows(path)
    seq = [(norm(r["val"]), int(r["byt"])) for r in rows_]
    total = 0
    with open(path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("flows,bytes") and i + 1 < len(lines):
            total = int(lines[i + 1].split(",")[1])
    return dict(seq), seq, total


def topseries(mode, n, ours, d):
    import json
    with open(ours) as f:
        res = json.load(f)
    series = res["series"]
    other = [s_ for s_ in series if s_["name"] == "Other"]
    keys = [s_ for s_ in series if s_["name"] != "Other"]
    if len(other) != 1:
        return "no Other series"
    nb = len(other[0]["values"])
    if mode == "window":
        _, wtop, _ = nf_stat(f"{d}/whole.top")
        wall, _, _ = nf_stat(f"{d}/whole.all")
        if len(keys) != len(wtop):
            return f"{len(keys)} series, nfdump's top has {len(wtop)}"
        ours_tot = []
        for s_ in keys:
            if s_["name"] not in wall:
                return f"series {s_['name']} not in nfdump's listing"
            ours_tot.append(wall[s_["name"]])
        if sorted(ours_tot, reverse=True) != [v for _, v in wtop]:
            return f"window totals {ours_tot} != nfdump top {wtop}"
    checked = 0
    for k in range(nb):
        allm, _, total = nf_stat(f"{d}/step_{k}.all")
        _, top, _ = nf_stat(f"{d}/step_{k}.top")
        mine = [(s_["name"], s_["values"][k]) for s_ in keys]
        if mode == "step":
            mine = sorted([(x, v) for x, v in mine if v > 0], key=lambda t: -t[1])
            if [v for _, v in mine] != [v for _, v in top]:
                return f"step {k}: top values {mine} != nfdump {top}"
            for x, v in mine:
                if allm.get(x) != v:
                    return f"step {k}: {x}={v}, nfdump has {allm.get(x)}"
        else:
            for x, v in mine:
                if allm.get(x, 0) != v:
                    return f"step {k}: {x}={v}, nfdump has {allm.get(x, 0)}"
        rest = total - sum(v for _, v in mine)
        if other[0]["values"][k] != rest:
            return f"step {k}: Other {other[0]['values'][k]} != nfdump's rest {rest}"
        checked += 1
    if checked == 0:
        return "no steps"
    return None


def rowset(ours, theirs):
    date = re.compile(r"^\d{4}-\d\d-\d\d ")
    with open(ours) as f:
        a = f.read().splitlines()
    with open(theirs) as f:
        b = f.read().splitlines()
    ra = [x for x in a if date.match(x)]
    rb = [x for x in b if date.match(x)]
    oa = [x for x in a if not date.match(x)]
    ob = [x for x in b if not date.match(x)]
    if oa != ob:
        for x, y in zip(oa + [""], ob + [""]):
            if x != y:
                return f"non-record line differs: {x!r} != nfdump {y!r}"
    if Counter(ra) != Counter(rb):
        extra = list((Counter(ra) - Counter(rb)).elements())[:2]
        missing = list((Counter(rb) - Counter(ra)).elements())[:2]
        return f"records differ ({len(ra)} vs {len(rb)}); only ours: {extra}; only nfdump: {missing}"
    return None


def main(argv):
    if len(argv) >= 5 and argv[0] == "stat":
        err = stat(argv[1], argv[2], argv[3], argv[4])
    elif len(argv) == 5 and argv[0] == "topseries":
        err = topseries(argv[1], int(argv[2]), argv[3], argv[4])
    elif len(argv) == 3 and argv[0] == "rowset":
        err = rowset(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "listing":
        err = listing(argv[1], argv[2])
    elif len(argv) >= 3 and argv[0] == "rows":
        err = rows(argv[1], argv[2], argv[3:])
    else:
        raise SystemExit(__doc__)
    if err:
        print("DIFF: " + err)
        return 1
    print("same")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
