#!/usr/bin/env bash
# bench/gen.sh — how fast `flowlens gen` sends, and against nfreplay.
#
# 1. gen with a fixed seed sends N flows as fast as it can (--rate 0) in
#    each protocol to a local sink (a bound UDP socket that reads nothing,
#    so the kernel drops and the sender is never slowed by a receiver);
#    prints flows/s, datagrams/s and MB/s from gen's own summary.
# 2. The peer: nfdump's nfreplay sends the same flows (collected by nfcapd
#    from gen at a lossless rate, so the flow count is checked) as v5 and
#    v9 to the same sink; the script prints gen/nfreplay ratios.
#
# Usage: bash bench/gen.sh [N]   (default 2000000 flows; the machine is
# shared, so keep N modest). Builds the release binary if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000000}
M=200000 # flows in the nfcapd file nfreplay sends
BIN=build/release/flowlens
[ -x "$BIN" ] || make -j2 release >/dev/null
TMP=$(mktemp -d /tmp/flowlens-bench-gen.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }

SINK=$(udp_port)
python3 -c "import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',$SINK)); time.sleep(3600)" &
PIDS="$PIDS $!"
sleep 0.3

echo "gen: $N flows, seed 1, 4 exporters, 20% IPv6, to a UDP sink on 127.0.0.1:$SINK"
printf "%-8s %10s %10s %12s %12s %8s\n" proto flows datagrams flows/s dgrams/s MB/s
# "+pb": --prebuild 4096 (a ring encoded once, resent with new sequence
# numbers; whole datagrams, so up to one datagram short of N)
for p in v5 v9 ipfix sflow v5+pb v9+pb ipfix+pb; do
  pb=""; [ "${p%+pb}" = "$p" ] || pb="--prebuild 4096"
  # shellcheck disable=SC2086
  "$BIN" gen --to 127.0.0.1:$SINK --proto "${p%+pb}" --count "$N" --rate 0 --seed 1 \
    --start 2024-05-01T00:00:00Z --window 1d $pb 2>"$TMP/$p.log"
  line=$(tail -1 "$TMP/$p.log")
  flows=$(sed -E 's/.*: ([0-9]+) flows \(.*/\1/' <<<"$line")
  skipped=$(sed -E 's/.* flows \(([0-9]+) skipped.*/\1/' <<<"$line")
  if [ -n "$pb" ] && [ "$flows" -le "$N" ] && [ "$flows" -gt $((N - 31)) ]; then
    skipped=$((N - flows))
  fi
  if [ $((flows + skipped)) -ne "$N" ]; then
    echo "bench/gen: $p sent $flows + $skipped skipped, wanted $N: $line" >&2; exit 1
  fi
  dg=$(sed -E 's/.* in ([0-9]+) datagrams.*/\1/' <<<"$line")
  bytes=$(sed -E 's/.* datagrams, ([0-9]+) bytes.*/\1/' <<<"$line")
  fps=$(sed -E 's/.* s, ([0-9]+) flows\/s.*/\1/' <<<"$line")
  dps=$(sed -E 's/.* flows\/s, ([0-9]+) datagrams\/s.*/\1/' <<<"$line")
  python3 -c "print('%-8s %10d %10d %12d %12d %8.1f' % ('$p', $flows, $dg, $fps, $dps, $bytes / $dg * $dps / 1e6))"
done

# the peer: nfreplay sends an nfcapd file of gen's flows
CAP=$(udp_port)
mkdir -p "$TMP/cap"
nfcapd -b 127.0.0.1 -p "$CAP" -w "$TMP/cap" -t 3600 -B 8000000 >"$TMP/nfcapd.log" 2>&1 &
NP=$!
PIDS="$PIDS $NP"
sleep 0.5
"$BIN" gen --to 127.0.0.1:$CAP --proto v9 --count $M --rate 100000 --seed 1 \
  --start 2024-05-01T00:00:00Z --window 1d --ipv6 0 2>/dev/null
sleep 0.5
kill -TERM $NP; wait $NP 2>/dev/null || true
FILE=$(ls "$TMP"/cap/nfcapd.2* | head -1)
GOT=$(nfdump -r "$FILE" -q -o csv -N 2>/dev/null | grep -c '^[0-9]' || true)
if [ "$GOT" -ne "$M" ]; then
  echo "bench/gen: nfcapd stored $GOT of the $M flows sent at 100k flows/s (loaded machine?); nfreplay sends those" >&2
fi
[ "$GOT" -gt 0 ] || { echo "bench/gen: nfcapd stored nothing" >&2; exit 1; }
echo
echo "peer: nfreplay -d 0 of an nfcapd file holding $GOT of $M flows gen sent (IPv4 only)"
printf "%-10s %12s %12s\n" sender flows/s "gen/nfreplay"
for v in 5 9; do
  t0=$(now)
  nfreplay -r "$FILE" -H 127.0.0.1 -p "$SINK" -v $v -d 0 >/dev/null 2>&1
  t1=$(now)
  "$BIN" gen --to 127.0.0.1:$SINK --proto v$v --count "$GOT" --rate 0 --seed 1 \
    --start 2024-05-01T00:00:00Z --window 1d --ipv6 0 2>"$TMP/g$v.log"
  g=$(sed -E 's/.* s, ([0-9]+) flows\/s.*/\1/' "$TMP/g$v.log")
  python3 -c "r=$GOT/($t1-$t0); print('%-10s %12.0f' % ('nfreplay v$v', r)); print('%-10s %12.0f %12.2f' % ('gen v$v', $g, $g/r))"
done
