#!/usr/bin/env bash
# bench/collect.sh — the collector against nfcapd, side by side on loopback.
#
#   1. decode rate per core (in process, generated v9 / IPFIX, captures)
#   2. loss-free rate: bench_collect sends generated flows at a set rate
#      for DURATION seconds to `flowlens collect` (1 and 2 receiver
#      threads; with 2 threads two senders, the kernel spreads exporters
#      over the SO_REUSEPORT sockets) and to nfcapd; the highest rate of
#      RATES at which each stored 100% is printed with CPU per million flows
#   3. memory for 1,000 exporters x 10 templates
# Environment: DURATION (default 10 s; the issue asks 30), RATES (flows/s).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
RATES=${RATES:-"100000 200000 400000 800000 1600000"}
BIN=build/release/flowlens
B=build/release/bench_collect
make -j2 release >/dev/null
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc bench/bench_collect.c \
   build/release/libflowlens.a -o "$B" -lzstd -llz4 -llzo2 -lbz2 -lm -lpthread
TMP=$(mktemp -d /tmp/bench-collect.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

echo "--- decode rate, one core"
$B decode v9 2000000
$B decode ipfix 2000000
$B pcap "${FLOWLENS_CAPTURES:-../shared/captures}/netflow9/graylog_nprobe_netflow9-3.pcap" 200
$B pcap "${FLOWLENS_CAPTURES:-../shared/captures}/ipfix/ipfixcol2_example_flows.ipfix" 50

# send PROTO FLOWS RATE PORT SENDERS
send() {
  local per=$(( $2 / $5 )) r pids=""
  r=$(python3 -c "print($3 / $5)")
  for _ in $(seq "$5"); do $B send "$1" "$per" "$r" 127.0.0.1 "$4" >/dev/null & pids="$pids $!"; done
  for p in $pids; do wait "$p"; done
}

# run_flowlens PROTO RATE THREADS -> "stored sent cpu_s"
run_flowlens() {
  local p flows=$(( $2 * DURATION )) pid t0 t1 stored
  p=$(port)
  $BIN collect --listen 127.0.0.1:$p --print none --threads "$3" --log-level warn 2>"$TMP/fl.err" &
  pid=$!
  sleep 0.5
  t0=$(cpu_ticks $pid)
  send "$1" "$flows" "$2" "$p" "$3"
  sleep 1
  t1=$(cpu_ticks $pid)
  kill -TERM $pid; wait $pid || true
  stored=$(python3 -c 'import json,sys; print(sum(json.loads(l)["flows"] for l in open(sys.argv[1]) if "\"type\":\"exporter\"" in l))' "$TMP/fl.err")
  echo "$stored $(( flows / $3 * $3 )) $(python3 -c "print(($t1 - $t0) / $TCK)")"
}

# run_nfcapd PROTO RATE SENDERS -> "stored sent cpu_s"
run_nfcapd() {
  local p flows=$(( $2 * DURATION )) pid t0 t1 stored
  p=$(port)
  rm -rf "$TMP/nf"; mkdir -p "$TMP/nf"
  nfcapd -w "$TMP/nf" -p "$p" -b 127.0.0.1 -B 33554432 >/dev/null 2>&1 &
  pid=$!
  sleep 0.5
  t0=$(cpu_ticks $pid)
  send "$1" "$flows" "$2" "$p" "$3"
  sleep 1
  t1=$(cpu_ticks $pid)
  kill -TERM $pid; wait $pid || true
  stored=$(nfdump -R "$TMP/nf" -I 2>/dev/null | awk '/^Flows:/ {print $2; exit}')
  echo "${stored:-0} $(( flows / $3 * $3 )) $(python3 -c "print(($t1 - $t0) / $TCK)")"
}

echo "--- loss-free rate on loopback, $DURATION s per rate"
for proto in v9 ipfix; do
  for th in 1 2; do
    best_fl=0; best_nf=0; cpu_fl="-"; cpu_nf="-"
    for r in $RATES; do
      read -r st se cpu < <(run_flowlens $proto $r $th)
      echo "flowlens $proto threads=$th rate=$r: stored $st of $se, cpu ${cpu}s"
      if [ "$st" = "$se" ]; then best_fl=$r; cpu_fl=$(python3 -c "print('%.2f' % ($cpu / ($se / 1e6)))"); fi
      read -r st se cpu < <(run_nfcapd $proto $r $th)
      echo "nfcapd   $proto senders=$th rate=$r: stored $st of $se, cpu ${cpu}s"
      if [ "$st" = "$se" ]; then best_nf=$r; cpu_nf=$(python3 -c "print('%.2f' % ($cpu / ($se / 1e6)))"); fi
    done
    echo "RESULT $proto threads=$th: flowlens loss-free $best_fl flows/s (cpu ${cpu_fl} s/M flows), nfcapd $best_nf flows/s (cpu ${cpu_nf} s/M flows), ratio $(python3 -c "print('%.2f' % ($best_fl / $best_nf) if $best_nf else 'inf')")"
  done
done

echo "--- memory"
$B exporters 1000 10
