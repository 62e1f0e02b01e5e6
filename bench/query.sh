#!/usr/bin/env bash
# bench/query.sh — flowlens query vs nfdump on the same flows.
#
#   bash bench/query.sh                    (or: bash bench/run.sh query)
#   N=50000000 SEED=1 RATE=400000 bash bench/query.sh
#   DATA=/work/perfdata N=50000000 bash bench/query.sh   (keep and reuse the data)
#   REPEAT=3 ...   (best of 3 runs per side; default 1)
#   FL=path/to/flowlens   (time another build, e.g. an older one, on the same data)
#   ONLY='srcip|topseries'  (only the questions whose name matches)
#
# N generated flows over 24 h of flow time (seed SEED) are sent by
# `flowlens gen --proto v9` to Debian's nfcapd (LZ4 files), and the very
# files nfcapd wrote are imported into a flowlens store, so both sides hold
# the same flows. Then each query runs once on each side, nfdump with its
# default threads and flowlens with 2 threads, and the script prints wall
# time, flows/s, peak memory and the ratio — after checking that both
# answered the same (row values compared with tests/tools/nfcompare.py, or
# totals for the filtered counts).
#
# nfdump has no time-series query; FlowGraph draws a 5-minute top-N by
# running nfdump -s once per 5-minute interval. The topseries line times
# one such run over one interval (-t) and multiplies by the 288 intervals
# of the day; it says so in its output.
#
# With DATA=DIR the nfcapd files and the store are kept in DIR/nf and
# DIR/store and reused by later runs (delete DIR to rebuild); the CPU
# seconds (user + sys) of each side are printed too, since wall time on a
# shared machine is noisy. The load average is printed with the table.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50000000}
SEED=${SEED:-1}
RATE=${RATE:-400000}
BIN=${FL:-build/release/flowlens}
REPEAT=${REPEAT:-1}
T="python3 bench/timeit.py"
export TIMEIT_CPU=1
CMP=tests/tools/nfcompare.py
START=2024-05-01T00:00:00Z

[ -n "${FL:-}" ] || make -j2 release >/dev/null
if [ -n "${DATA:-}" ]; then
  W=$DATA
  mkdir -p "$W"
else
  W=$(mktemp -d /tmp/flowlens-bench-query.XXXXXX)
fi
NFPID=""
cleanup() {
  [ -n "$NFPID" ] && kill "$NFPID" 2>/dev/null && wait "$NFPID" 2>/dev/null
  [ -n "${DATA:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
export TZ=UTC

if [ -n "${DATA:-}" ] && [ -f "$W/ready" ]; then
  flows=$(cat "$W/ready")
  echo "reusing $flows flows in $W (nfcapd files $(du -sh "$W/nf" | cut -f1), store $(du -sh "$W/store" | cut -f1))"
else
rm -rf "$W/nf" "$W/store"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$W/nf"
nfcapd -b 127.0.0.1 -p "$port" -w "$W/nf" -t 86400 -y -B 33554432 >"$W/nfcapd.log" 2>&1 &
NFPID=$!
sleep 1
echo "sending $N flows (seed $SEED, 24 h from $START) at $RATE flows/s to nfcapd"
$BIN gen --to "127.0.0.1:$port" --proto v9 --count "$N" --seed "$SEED" --rate "$RATE" \
  --start "$START" --window 24h 2>"$W/gen.log"
sleep 2
kill -TERM "$NFPID"; wait "$NFPID" 2>/dev/null || true; NFPID=""
flows=$(nfdump -R "$W/nf" -I | awk '/^Flows:/ {print $2; exit}')
echo "nfcapd stored $flows flows ($(du -sh "$W/nf" | cut -f1))"
read -r imp_s imp_mb < <($T "$W/import.out" $BIN import "$W/nf" --into "$W/store")
echo "flowlens import: $imp_s s, $(du -sh "$W/store" | cut -f1) on disk"
echo "$flows" >"$W/ready"
fi
echo "load: $(uptime | sed 's/.*load average: //')"
# repeated runs must not be answered from flowlens' answer cache
NOCACHE=""
if $BIN query --help 2>&1 | grep -q -- --no-cache; then NOCACHE=--no-cache; fi

printf '\n%-34s %9s %9s %9s %9s %8s %8s %7s %7s %7s\n' query "nfdump s" "flowl s" "nf Mf/s" "fl Mf/s" \
  "nf MiB" "fl MiB" ratio "nf cpu" "fl cpu"
row() { # NAME NF_S NF_MB FL_S FL_MB CHECK [NF_CPU FL_CPU]
  printf '%-34s %9s %9s %9.1f %9.1f %8s %8s %6.1fx %7s %7s  %s\n' "$1" "$2" "$4" \
    "$(echo "$flows / $2 / 1000000" | bc -l)" "$(echo "$flows / $4 / 1000000" | bc -l)" \
    "$3" "$5" "$(echo "$2 / $4" | bc -l)" "${7:--}" "${8:--}" "$6"
}
# best SEC MIB CPU of REPEAT runs (by wall time): best OUT CMD...
best() {
  local out=$1 bw="" bm="" bc="" w m c; shift
  for _ in $(seq 1 "$REPEAT"); do
    read -r w m c < <($T "$out" "$@")
    if [ -z "$bw" ] || [ "$(echo "$w < $bw" | bc -l)" = 1 ]; then bw=$w; bm=$m; bc=$c; fi
  done
  echo "$bw $bm $bc"
}
# q NAME CHECKMODE ORDERCOL NFDUMP/FLOWLENS ARGS...
q() {
  local name=$1 mode=$2 col=$3; shift 3
  [[ "$name" =~ ${ONLY:-.} ]] || return 0
  local a b c d ac cc
  read -r a b ac < <(best "$W/nf.out" nfdump -R "$W/nf" -q -o csv "$@")
  # shellcheck disable=SC2086
  read -r c d cc < <(best "$W/fl.out" $BIN query --store "$W/store" $NOCACHE --threads 2 ${FLX:-} -q -o csv "$@")
  if [ "$mode" = stat ]; then
    nfdump -R "$W/nf" -q -o csv "$@" -n 0 >"$W/nf.all"
    chk=$(python3 $CMP stat "$col" "$W/fl.out" "$W/nf.out" "$W/nf.all" || true)
  else
    chk=$(python3 $CMP rows "$W/fl.out" "$W/nf.out" $col || true)
  fi
  row "$name" "$a" "$b" "$c" "$d" "$chk" "$ac" "$cc"
}
q "-s srcip/bytes -n 10" stat byt -s srcip/bytes -n 10
q "-s dstport" stat fl -s dstport
# 7.9 million distinct pairs (nfdump took 2.8 GiB): flowlens holds them
# within its default 1 GiB budget
q "-A srcip,dstip -O bytes -n 10" rows "sa da ipkt ibyt" -A srcip,dstip -O bytes -n 10
q "filter dst port 443 and bytes>1000" stat fl -s proto 'dst port 443 and bytes > 1000'
# one IP over the whole range: the busiest internal host (in every chunk,
# so nothing can be skipped), a rare external one, and one that is absent
# (the common "did this address talk to us at all?")
q "one IP: host 10.0.0.1 (busiest)" stat fl -s proto 'host 10.0.0.1'
q "one IP: host 8.8.8.200 (rare)" stat fl -s proto 'host 8.8.8.200'
q "one IP: host 198.51.100.7 (absent)" stat fl -s proto 'host 198.51.100.7'

# topseries: flowlens over the day; nfdump one interval x 288
if [[ "topseries" =~ ${ONLY:-.} ]]; then
# shellcheck disable=SC2086
read -r c d cc < <(best "$W/fl.ts" $BIN query --store "$W/store" $NOCACHE --threads 2 ${TSX:-} --topseries dstport \
  -n 10 --step 5m -t 2024/05/01.00:00:00-2024/05/02.00:00:00 -o csv)
read -r a b ac < <(best "$W/nf.ts" nfdump -R "$W/nf" -q -o csv -s dstport -n 10 \
  -t 2024/05/01.12:00:00-2024/05/01.12:05:00)
a288=$(echo "$a * 288" | bc -l)
ac288=$(echo "$ac * 288" | bc -l)
row "topseries dstport 5m x 24h" "$(printf %.1f "$a288")" "$b" "$c" "$d" \
  "(nfdump: one 5-min run $a s x 288)" "$(printf %.1f "$ac288")" "$cc"
fi
echo "load: $(uptime | sed 's/.*load average: //')"
