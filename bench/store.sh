#!/usr/bin/env bash
# bench/store.sh — the flow store against nfcapd/nfdump on the same flows.
#
#   bash bench/store.sh            (or: bash bench/run.sh store)
#   N=10000000 SEED=1 RATE=200000 bash bench/store.sh
#
# flowlens side (bench/bench_store.c, one core): N generated flows (seed
# SEED, the generator's default mix) written with zstd and with lz4 —
# bytes per flow on disk, write throughput, scan/decode throughput; the
# program checks that what it reads back is what it wrote. The segments
# alone: BENCH_BY_ADDR=1 adds the by-address copies a store keeps by
# default (docs/store-format.md).
# nfdump side: the same flows sent by `flowlens gen --proto v9` over
# loopback at RATE flows/s to Debian's nfcapd, then rewritten by nfdump
# with LZO (-z), LZ4 (-y) and BZ2 (-j); bytes per flow = file size / flows
# nfdump counts in it. Prints both and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
N=${N:-10000000}
SEED=${SEED:-1}
RATE=${RATE:-200000}
BIN=build/release

make -j2 release >/dev/null
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc bench/bench_store.c \
  $BIN/libflowlens.a -o $BIN/bench_store -lzstd -llz4 -lm

W=$(mktemp -d /tmp/flowlens-bench-store.XXXXXX)
NFPID=""
cleanup() {
  [ -n "$NFPID" ] && kill "$NFPID" 2>/dev/null && wait "$NFPID" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

echo "flows: $N, seed $SEED ($(nproc) cores; flowlens figures are one core)"
$BIN/bench_store "$N" "$SEED" "$W/fl" | tee "$W/fl.txt"
val() { grep "codec=$1 " "$W/fl.txt" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
fl_zstd=$(val zstd bytes_per_flow)
fl_lz4=$(val lz4 bytes_per_flow)

# ---- nfdump side --------------------------------------------------------
# The sender: `flowlens gen --proto v9`, the same generator and seed.
nf_ok=0
send() { $BIN/flowlens gen --to "127.0.0.1:$1" --proto v9 --count "$N" --seed "$SEED" --rate "$RATE"; }
if true; then
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  mkdir -p "$W/nf"
  nfcapd -b 127.0.0.1 -p "$port" -w "$W/nf" -t 86400 -B 16777216 >"$W/nfcapd.log" 2>&1 &
  NFPID=$!
  sleep 1
  t0=$(date +%s.%N)
  send "$port"
  t1=$(date +%s.%N)
  sleep 2
  kill -TERM "$NFPID"
  wait "$NFPID" 2>/dev/null || true
  NFPID=""
  nf_flows=$(nfdump -R "$W/nf" -I | awk '/^Flows:/ {print $2; exit}')
  echo "nfcapd received $nf_flows of $N flows in $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s (rate limit $RATE/s)"
  if [ -n "$nf_flows" ] && [ "$nf_flows" -gt 0 ]; then
    nf_ok=1
    for c in lzo:-z lz4:-y bz2:-j; do
      name=${c%%:*}
      flag=${c#*:}
      nfdump -R "$W/nf" -w "$W/nf.$name" "$flag" >/dev/null
      sz=$(stat -c %s "$W/nf.$name")
      bpf=$(div "$sz" "$nf_flows")
      eval "nf_$name=$bpf"
      echo "nfdump codec=$name flows=$nf_flows bytes=$sz bytes_per_flow=$bpf"
    done
  fi
fi

# ---- summary -----------------------------------------------------------
echo
echo "== bytes per flow on disk"
printf '  %-22s %8s\n' "flowlens zstd" "$fl_zstd" "flowlens lz4" "$fl_lz4"
if [ "$nf_ok" = 1 ]; then
  printf '  %-22s %8s\n' "nfdump LZO (-z)" "$nf_lzo" "nfdump LZ4 (-y)" "$nf_lz4" "nfdump BZ2 (-j)" "$nf_bz2"
  best=$(printf '%s\n' "$nf_lzo" "$nf_lz4" "$nf_bz2" | sort -n | head -1)
  echo "  ratio nfdump smallest / flowlens zstd: $(div "$best" "$fl_zstd")x (target >= 3x)"
  echo "  ratio nfdump LZ4 / flowlens lz4:       $(div "$nf_lz4" "$fl_lz4")x"
  echo "  ratio nfdump LZO / flowlens zstd:      $(div "$nf_lzo" "$fl_zstd")x"
else
  echo "  nfdump: not measured (see above)"
fi
echo "== write, one core (target >= 3000000 flows/s)"
echo "  wall clock: zstd $(val zstd write_flows_per_s) flows/s, lz4 $(val lz4 write_flows_per_s) flows/s"
echo "  per CPU second (less sensitive to other load): zstd $(val zstd write_flows_per_cpu_s), lz4 $(val lz4 write_flows_per_cpu_s)"
echo "== scan/decode, one core (values/s)"
echo "  all stored columns: zstd $(val zstd scan_all_values_per_s), lz4 $(val lz4 scan_all_values_per_s)"
echo "  4 query columns:    zstd $(val zstd scan4_values_per_s), lz4 $(val lz4 scan4_values_per_s)"
