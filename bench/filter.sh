#!/usr/bin/env bash
# bench/filter.sh — filter throughput: flowlens vs nfdump over the same flows.
#
# N generated flows (src/gen, fixed seed) are exported as NetFlow v9 to
# Debian's nfcapd on a free loopback port; nfdump -o null then runs each
# filter of bench/filters.txt over that nfcapd file, and bench_filter
# evaluates the same filters over the same generated flows. The script
# checks that both count the same matches (when nfcapd received every flow)
# and prints flows/s per core: flowlens on one core; nfdump's total flows
# divided by its user+sys CPU seconds (it is multi-threaded), and by wall.
# Environment: N (default 10000000), SEED (default 1), KEEP=1 keeps files.
set -eu
cd "$(dirname "$0")/.."
N=${N:-10000000}
SEED=${SEED:-1}
make -s -j2 release
CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Isrc"
cc $CFLAGS bench/bench_filter.c build/release/libflowlens.a -o build/release/bench_filter -lm
W=$(mktemp -d /tmp/flowlens-bench-filter.XXXXXX)
cleanup() { [ -n "${NFPID:-}" ] && kill "$NFPID" 2>/dev/null || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$W"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nfcapd -w "$W" -p "$PORT" -b 127.0.0.1 -t 86400 -B 4194304 >"$W/nfcapd.log" 2>&1 &
NFPID=$!
sleep 0.5
echo "exporting $N flows (seed $SEED) to nfcapd on 127.0.0.1:$PORT ..."
build/release/bench_filter export "$PORT" "$N" "$SEED"
sleep 2
kill "$NFPID"; wait "$NFPID" 2>/dev/null || true; NFPID=
F=$(ls "$W"/nfcapd.2* | head -1)
GOT=$(nfdump -r "$F" -N -o null 2>/dev/null | sed -n 's/.*total flows: \([0-9]*\).*/\1/p')
echo "nfcapd stored $GOT of $N flows in $(du -h "$F" | cut -f1) ($(basename "$F"))"

echo "flowlens: evaluating (pass 1 counts all flows, pass 2 times one core) ..."
build/release/bench_filter run "$N" "$SEED" bench/filters.txt >"$W/fl.txt"

printf '\n%-10s %-10s %-12s %-12s %-12s %-8s %-8s %s\n' "flowlens" "nfdump" "flowlens" "nfdump" "nfdump" "ratio" "ratio" "filter"
printf '%-10s %-10s %-12s %-12s %-12s %-8s %-8s %s\n' "matches" "matches" "Mflows/s/core" "Mflows/cpu-s" "Mflows/s wall" "per-core" "wall" ""
TIMEFORMAT='%R %U %S'
while IFS=$'\t' read -r cnt rate expr; do
  { time nfdump -r "$F" -N -o null "$expr" >"$W/nf.out" 2>&1 ; } 2>"$W/time"
  read -r real user sys <"$W/time"
  ncnt=$(sed -n 's/.*total flows: \([0-9]*\).*/\1/p' "$W/nf.out")
  proc=$(sed -n 's/.*Total flows processed: \([0-9]*\).*/\1/p' "$W/nf.out")
  awk -v c="$cnt" -v n="$ncnt" -v r="$rate" -v p="$proc" -v re="$real" -v u="$user" -v s="$sys" -v e="$expr" -v got="$GOT" -v N="$N" 'BEGIN {
    cpu = u + s; if (cpu < 0.001) cpu = 0.001; if (re < 0.001) re = 0.001;
    ncpu = p / cpu; nwall = p / re;
    mark = (c == n) ? "" : (got == N ? "  COUNT MISMATCH" : "  (nfcapd dropped flows)");
    printf "%-10d %-10d %-12.1f %-12.1f %-12.1f %-8.1f %-8.1f %s%s\n", c, n, r / 1e6, ncpu / 1e6, nwall / 1e6, r / ncpu, r / nwall, e, mark }'
done <"$W/fl.txt"
