#!/usr/bin/env bash
# bench/nfdump.sh — read >= 10 million flows from nfcapd files: flowlens'
# reader vs `nfdump -r FILE -o null`, same files, one run each, ratios.
#
# The input is real: nfcapd (loopback, stopped by PID) fed the NetFlow v5,
# v9 and IPFIX captures; `nfdump -R` over N links to that file writes one
# file of >= 10M flows, rewritten LZ4 (-y) and LZO (-z); a ZSTD copy is made
# by tests/nfdump/nfrecompress.py (nfdump 1.7.1 cannot write or read ZSTD,
# so that row has no peer). Both sides print nothing (-o null); the flow
# count is checked against nfdump's before timing. Each timing is one run
# on a shared machine: wall clock, best of nothing — read ratios, not
# absolutes. Last, the LZ4 file is imported into a store and the same
# --summary question is asked of the store and of the file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FL=${FL:-$ROOT/build/release/flowlens}
CAP=${FLOWLENS_CAPTURES:-$ROOT/../shared/captures}
FLOWS=${BENCH_FLOWS:-10000000}
W=$(mktemp -d /tmp/flowlens-bench-nfdump.XXXXXX)
trap 'rm -rf "$W"' EXIT
export TZ=UTC

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W/cap"
nfcapd -b 127.0.0.1 -p "$port" -w "$W/cap" -t 3600 >/dev/null 2>&1 &
pid=$!
sleep 1
python3 tests/tools/pcap_send.py 127.0.0.1 "$port" "$CAP"/netflow5/*.pcap "$CAP"/netflow9/*.pcap "$CAP"/ipfix/*.pcap >/dev/null
sleep 1
kill "$pid"; wait "$pid" || true
base=$(ls "$W/cap"/nfcapd.* | head -1)
n=$(nfdump -r "$base" -q -o csv | wc -l)
copies=$(( (FLOWS + n - 1) / n ))
mkdir -p "$W/links"
for i in $(seq -w 1 "$copies"); do ln -s "$base" "$W/links/nfcapd.2024050100$i"; done
nfdump -R "$W/links" -w "$W/big.none" >/dev/null
nfdump -r "$W/big.none" -y -w "$W/big.lz4" >/dev/null
nfdump -r "$W/big.none" -z -w "$W/big.lzo" >/dev/null
python3 tests/nfdump/nfrecompress.py "$W/big.none" "$W/big.zstd" --level 3
total=$(nfdump -r "$W/big.none" -o null 2>/dev/null | sed -n 's/^Summary: total flows: \([0-9]*\),.*/\1/p')
fl_total=$("$FL" query -r "$W/big.zstd" --summary -o csv | sed -n 3p | cut -d, -f1)
if [ "$total" != "$fl_total" ]; then
  echo "FAIL: nfdump counts $total flows, flowlens $fl_total"; exit 1
fi
echo "input: $total flows per file (base file $n flows x $copies), sizes:"
ls -la "$W"/big.* | awk '{printf "  %-10s %6.1f MB\n", $NF, $5/1e6}' | sed "s|$W/||"

now() { date +%s.%N; }
secs() { python3 -c "print('%.3f' % ($2 - $1))"; }
rate() { python3 -c "print('%.1f' % ($1 / $2 / 1e6))"; }
printf "%-6s %14s %14s %8s\n" comp "nfdump Mflow/s" "flowlens Mfl/s" ratio
for c in none lz4 lzo zstd; do
  f="$W/big.$c"
  cat "$f" >/dev/null # same page-cache state for both
  if [ "$c" != zstd ]; then
    t0=$(now); nfdump -r "$f" -o null >/dev/null 2>&1; t1=$(now)
    nf=$(secs "$t0" "$t1")
  else
    nf=""
  fi
  t0=$(now); "$FL" query -r "$f" -o null; t1=$(now)
  fs=$(secs "$t0" "$t1")
  if [ -n "$nf" ]; then
    printf "%-6s %14s %14s %7sx\n" "$c" "$(rate "$total" "$nf")" "$(rate "$total" "$fs")" \
      "$(python3 -c "print('%.2f' % ($nf / $fs))")"
  else
    printf "%-6s %14s %14s %8s\n" "$c" "(cannot)" "$(rate "$total" "$fs")" "-"
  fi
done
# the same flows as $copies files of one nfcapd interval each (nfdump -R dir)
t0=$(now); nfdump -R "$W/links" -o null >/dev/null 2>&1; t1=$(now)
nf=$(secs "$t0" "$t1")
t0=$(now); "$FL" query -R "$W/links" -o null; t1=$(now)
fs=$(secs "$t0" "$t1")
printf "%-6s %14s %14s %7sx   (-R over %s files)\n" files "$(rate "$total" "$nf")" \
  "$(rate "$total" "$fs")" "$(python3 -c "print('%.2f' % ($nf / $fs))")" "$copies"
# through the query engine: a top-N statistic, same question to both
for args in "-r $W/big.lz4 -s srcip -n 10" "-R $W/links -s proto"; do
  t0=$(now); nfdump $args -o csv -q >"$W/nf.stat" 2>/dev/null; t1=$(now)
  nf=$(secs "$t0" "$t1")
  # shellcheck disable=SC2086
  t0=$(now); "$FL" query $args -o csv -q >"$W/fl.stat"; t1=$(now)
  fs=$(secs "$t0" "$t1")
  # same rows (values; nfdump names the protocol column differently)
  if [ "$(cut -d, -f6- "$W/nf.stat" | sort)" != "$(cut -d, -f6- "$W/fl.stat" | sort)" ]; then
    echo "note: statistic rows differ from nfdump's for: $args"
    diff <(cut -d, -f6- "$W/nf.stat" | sort) <(cut -d, -f6- "$W/fl.stat" | sort) | head -5 || true
  fi
  printf "%-6s %14s %14s %7sx   (%s)\n" stat "$(rate "$total" "$nf")" "$(rate "$total" "$fs")" \
    "$(python3 -c "print('%.2f' % ($nf / $fs))")" "$(echo "$args" | sed "s|$W/||")"
done
# import into the store, then the same question over the store and over
# the nfcapd file (query engine, --summary reads every flow)
S="$W/store"
t0=$(now); "$FL" import "$W/big.lz4" --into "$S" 2>/dev/null; t1=$(now)
imp=$(secs "$t0" "$t1")
printf "import: %s flows in %ss = %s Mflows/s\n" "$total" "$imp" "$(rate "$total" "$imp")"
t0=$(now); "$FL" query --store "$S" --summary -o csv >"$W/s_store.csv"; t1=$(now)
st=$(secs "$t0" "$t1")
t0=$(now); "$FL" query -r "$W/big.lz4" --summary -o csv >"$W/s_file.csv"; t1=$(now)
fi_=$(secs "$t0" "$t1")
t0=$(now); nfdump -r "$W/big.lz4" -o null >/dev/null 2>&1; t1=$(now)
nf=$(secs "$t0" "$t1")
if [ "$(sed -n 3p "$W/s_store.csv" | cut -d, -f1-3)" != "$(sed -n 3p "$W/s_file.csv" | cut -d, -f1-3)" ]; then
  echo "FAIL: store summary $(sed -n 3p "$W/s_store.csv") != file summary $(sed -n 3p "$W/s_file.csv")"; exit 1
fi
printf "summary over: store %s Mflows/s, nfcapd LZ4 file %s Mflows/s, nfdump -o null on it %s Mflows/s\n" \
  "$(rate "$total" "$st")" "$(rate "$total" "$fi_")" "$(rate "$total" "$nf")"
printf "store vs nfdump: %sx; store vs flowlens on the nfcapd file: %sx; store size %s MB vs LZ4 file %s MB\n" \
  "$(python3 -c "print('%.2f' % ($nf / $st))")" "$(python3 -c "print('%.2f' % ($fi_ / $st))")" \
  "$(du -sm "$S" | cut -f1)" "$(du -sm "$W/big.lz4" | cut -f1)"
