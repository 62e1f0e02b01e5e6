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
# absolutes. Flows over flowlens' own store after import need the store
# module (not in this tree yet): that row says so.
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
echo "flowlens over its own store after import: not measured (store module not in this tree)"
