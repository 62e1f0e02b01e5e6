#!/usr/bin/env bash
# bench/collect.sh — the collector against Debian's nfcapd, side by side on
# loopback, as issue 4 asks:
#
#   1. decode rate per core (in process, generated v9 / IPFIX, captures)
#   2. loss-free rate: `flowlens gen --prebuild` (a ring of PREBUILD
#      datagrams encoded once, resent with sendmmsg and new sequence
#      numbers, so the sender is not the limit) sends NetFlow v9 or IPFIX
#      at a set rate for DURATION seconds (4 simulated exporters = observation
#      domains / source ids 1..4, fixed seeds) to `flowlens collect --store`
#      (1 and 2 receiver threads) and to nfcapd writing files (one thread),
#      the same stream. With 2 threads, 2 gen processes each send half the
#      rate (SO_REUSEPORT spreads senders, not datagrams, over the
#      sockets); nfcapd gets the same 2 senders. Stored flows are counted
#      on what each wrote: `flowlens query --summary` on the store,
#      `nfdump -I` on nfcapd's files. The search doubles the rate from
#      START while 100% is stored, then bisects STEPS times between the
#      last loss-free and the first lossy rate. CPU = utime+stime of the
#      receiver (/proc/PID/stat) per million flows stored, at the highest
#      loss-free rate. Both receivers get the same socket buffer (RCVBUF,
#      default net.core.rmem_max, what nfcapd -B can reach without
#      privileges).
#   2b. flow times over gen's default hour (12 store slots, walked again
#      and again) at 250 k flows/s: flows stored and segment files made
#   3. peak memory (VmHWM) of each receiver after 1,000 exporters x 10
#      templates (exporters are observation domains / source ids 1..1000
#      from 127.0.0.1, one datagram of 10 templates + 10 records each),
#      and the collector's table alone in process.
#
# Environment: DURATION (default 30 s; DURATION=5 for a quick run), START
# (flows/s, default 400000), STEPS (default 3), MAXRATE (default 12800000),
# PREBUILD (datagrams in gen's ring, default 4096; 0 = encode while
# sending, the old sender), BIN (the flowlens binary under test, default
# build/release/flowlens), GEN (the sender, default BIN); to measure one
# thing only: PARTS (default "decode loss straddle memory"), CASES (default
# "v9:1 v9:2 ipfix:1 ipfix:2", protocol:receiver threads) and SIDES
# (default "nfcapd flowlens"); e.g. PARTS=loss CASES=ipfix:1 SIDES=flowlens
# START=2400000 MAXRATE=2400000 STEPS=0 tries one rate once.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}
START=${START:-400000}
STEPS=${STEPS:-3}
MAXRATE=${MAXRATE:-12800000}
PREBUILD=${PREBUILD:-4096}
RCVBUF=${RCVBUF:-$(cat /proc/sys/net/core/rmem_max)}
BIN=${BIN:-build/release/flowlens}
GEN=${GEN:-$BIN}
PB=""; [ "$PREBUILD" -gt 0 ] && PB="--prebuild $PREBUILD"
B=build/release/bench_collect
make -j2 release >/dev/null
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc bench/bench_collect.c \
   build/release/libflowlens.a -o "$B" -lzstd -llz4 -llzo2 -lbz2 -lm -lpthread
TMP=$(mktemp -d /tmp/bench-collect.XXXXXX)
RPID=""
trap '[ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$TMP"' EXIT
port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared with other jobs)"
echo "nfcapd: $(nfcapd -V 2>&1 | head -1); socket buffer $RCVBUF bytes for both"
echo "sender: $GEN gen ${PB:-(encoding while sending)}"

PARTS=${PARTS:-decode loss straddle memory}
CASES=${CASES:-v9:1 v9:2 ipfix:1 ipfix:2}
SIDES=${SIDES:-nfcapd flowlens}
part() { [[ " $PARTS " == *" $1 "* ]]; }
side() { [[ " $SIDES " == *" $1 "* ]]; }

if part decode; then
echo "--- decode rate, one core (in process)"
$B decode v9 2000000
$B decode ipfix 2000000
fi

# send PROTO RATE PORT SENDERS -> prints "flows_sent seconds"
send() {
  local per=$(( $2 * DURATION / $4 )) r=$(( $2 / $4 )) pids="" i
  # live-like flow times: a 2-minute window inside the previous 5-minute
  # store slot (gen walks its window again and again; a window of an hour
  # would make the store close and reopen slots all the time, which no
  # live exporter does)
  local start=$(( ($(date +%s) / 300 - 1) * 300 + 60 )) win=${WINDOW:-120s}
  [ "$win" = 120s ] || start=$(( $(date +%s) - 3600 ))
  for i in $(seq "$4"); do
    # shellcheck disable=SC2086
    $GEN gen --to "127.0.0.1:$3" --proto "$1" --rate "$r" --count "$per" --exporters 4 \
      --seed "$i" --ipv6 20 --start "$start" --window "$win" $PB >"$TMP/gen$i.out" 2>&1 & pids="$pids $!"
  done
  for p in $pids; do wait "$p"; done
  # "... N flows (0 skipped) from 4 exporters in D datagrams, B bytes, T s, ..."
  cat "$TMP"/gen*.out | python3 -c '
import re, sys
f = t = 0
for l in sys.stdin:
    m = re.search(r": (\d+) flows \((\d+) skipped\).* ([0-9.]+) s,", l)
    if m: f += int(m.group(1)) - int(m.group(2)); t = max(t, float(m.group(3)))
print(f, t)'
  rm -f "$TMP"/gen*.out
}

# wait_port PID FILE: until the receiver is up (bounded)
wait_up() { for _ in $(seq 100); do [ -e "$2" ] && return 0; sleep 0.05; done; return 0; }

# run_flowlens PROTO RATE THREADS -> "stored sent seconds cpu_s hwm_kb"
run_flowlens() {
  local p st sent secs c hwm
  p=$(port); rm -rf "$TMP/st"
  $BIN collect --store "$TMP/st" --listen 127.0.0.1:$p --threads "$3" --rcvbuf "$RCVBUF" \
    --log-level warn 2>"$TMP/fl.err" &
  RPID=$!
  wait_up $RPID "$TMP/st/collector-stats.jsonl"
  read -r sent secs < <(send "$1" "$2" "$p" "$3")
  sleep 1
  c=$(cpu_ticks $RPID); hwm=$(hwm_kb $RPID)
  kill -TERM $RPID; wait $RPID || true; RPID=""
  st=$($BIN query --store "$TMP/st" --summary -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["flows"])')
  echo "$st $sent $secs $(python3 -c "print($c / $TCK)") $hwm"
}

# run_nfcapd PROTO RATE SENDERS -> "stored sent seconds cpu_s hwm_kb"
run_nfcapd() {
  local p st sent secs c hwm
  p=$(port); rm -rf "$TMP/nf"; mkdir -p "$TMP/nf"
  nfcapd -w "$TMP/nf" -p "$p" -b 127.0.0.1 -B "$RCVBUF" >"$TMP/nf.log" 2>&1 &
  RPID=$!
  for _ in $(seq 100); do grep -q Startup "$TMP/nf.log" 2>/dev/null && break; sleep 0.05; done
  read -r sent secs < <(send "$1" "$2" "$p" "$3")
  sleep 1
  c=$(cpu_ticks $RPID); hwm=$(hwm_kb $RPID)
  kill -TERM $RPID; wait $RPID || true; RPID=""
  st=$(nfdump -R "$TMP/nf" -I 2>/dev/null | awk '/^Flows:/ {print $2; exit}')
  echo "${st:-0} $sent $secs $(python3 -c "print($c / $TCK)") $hwm"
}

# search WHO PROTO THREADS -> "best_achieved_rate cpu_s_per_M note"
# A trial is loss-free when every flow gen sent was stored. The rate
# reported is what the senders achieved (flows / seconds they took), which
# is below the nominal rate when the senders themselves cannot keep up;
# the search stops there (note "sender-limited").
search() {
  local who=$1 proto=$2 th=$3 r=$START good=0 bad=0 cpu="-" best=0 note="" st se secs c h i ach
  while :; do
    read -r st se secs c h < <(run_$who "$proto" "$r" "$th")
    ach=$(python3 -c "print(int($se / max($secs, 1e-9)))")
    echo "  $who $proto x$th rate=$r: stored $st of $se (sent in ${secs}s: $ach flows/s), cpu ${c}s, load $(cut -d" " -f1 /proc/loadavg)" >&2
    if [ "$st" = "$se" ] && [ "$se" -gt 0 ]; then
      good=$r; best=$ach; cpu=$(python3 -c "print('%.2f' % ($c / ($se / 1e6)))")
      if [ "$ach" -lt $(( r * 9 / 10 )) ]; then note="sender-limited"; break; fi
      [ "$r" -ge "$MAXRATE" ] && { note="max-rate"; break; }
      r=$(( r * 2 ))
    else
      bad=$r; break
    fi
  done
  for i in $(seq "$STEPS"); do
    [ "$bad" -eq 0 ] || [ "$good" -eq 0 ] && break
    r=$(( (good + bad) / 2 ))
    read -r st se secs c h < <(run_$who "$proto" "$r" "$th")
    ach=$(python3 -c "print(int($se / max($secs, 1e-9)))")
    echo "  $who $proto x$th rate=$r: stored $st of $se (sent in ${secs}s: $ach flows/s), cpu ${c}s, load $(cut -d" " -f1 /proc/loadavg)" >&2
    if [ "$st" = "$se" ]; then good=$r; best=$ach; cpu=$(python3 -c "print('%.2f' % ($c / ($se / 1e6)))"); else bad=$r; fi
  done
  echo "$best $cpu $note"
}

if part loss; then
echo "--- loss-free rate on loopback, $DURATION s per trial, start $START flows/s, $STEPS bisection steps"
for c in $CASES; do
  proto=${c%%:*} th=${c##*:}
  nf_best=0 nf_cpu=- nf_note="" fl_best=0 fl_cpu=- fl_note=""
  side nfcapd && read -r nf_best nf_cpu nf_note < <(search nfcapd "$proto" "$th")
  side flowlens && read -r fl_best fl_cpu fl_note < <(search flowlens "$proto" "$th")
  echo "RESULT $proto receivers=$th (load $(cut -d" " -f1-3 /proc/loadavg)): flowlens collect --store loss-free $fl_best flows/s $fl_note (cpu $fl_cpu s per M flows); nfcapd (1 thread, $th senders) $nf_best flows/s $nf_note (cpu $nf_cpu s per M flows); ratio $(python3 -c "print('%.2f' % ($fl_best / $nf_best) if $nf_best else '-')")x rate; cpu per flow flowlens/nfcapd $(python3 -c "print('%.2f' % (float('$fl_cpu') / float('$nf_cpu')) if '-' not in ('$fl_cpu', '$nf_cpu') and float('$nf_cpu') > 0 else '-')")x"
done
fi

# Flow times straddling slots: gen's default window (an hour, walked again
# and again, 12 five-minute slots) at a fixed rate; every flow must be
# stored and the store must not churn segments (it keeps 4 slots open).
part straddle && {
echo "--- flow times over an hour (12 store slots), v9, 1 receiver thread, $DURATION s"
for r in 250000; do
  read -r st se secs c h < <(WINDOW=1h run_flowlens v9 "$r" 1)
  echo "RESULT straddle v9 rate=$r: flowlens stored $st of $se, $(ls "$TMP/st/seg" | wc -l) segment files, cpu $(python3 -c "print('%.2f' % ($c / max($se / 1e6, 1e-9)))") s per M flows"
done
}

part memory || exit 0
echo "--- peak memory, 1000 exporters x 10 templates (observation domains 1..1000 from 127.0.0.1)"
for proto in v9 ipfix; do
  p=$(port); rm -rf "$TMP/st"
  $BIN collect --store "$TMP/st" --listen 127.0.0.1:$p --rcvbuf "$RCVBUF" --log-level warn 2>"$TMP/fl.err" &
  RPID=$!; wait_up $RPID "$TMP/st/collector-stats.jsonl"
  base=$(hwm_kb $RPID)
  $B tplsend $proto 1000 10 127.0.0.1 "$p" >/dev/null
  sleep 1
  fl=$(hwm_kb $RPID); kill -TERM $RPID; wait $RPID || true; RPID=""
  nexp=$(grep -c '"type":"exporter"' "$TMP/st/collector-stats.jsonl")
  p=$(port); rm -rf "$TMP/nf"; mkdir -p "$TMP/nf"
  nfcapd -w "$TMP/nf" -p "$p" -b 127.0.0.1 -B "$RCVBUF" >"$TMP/nf.log" 2>&1 &
  RPID=$!
  for _ in $(seq 100); do grep -q Startup "$TMP/nf.log" 2>/dev/null && break; sleep 0.05; done
  nbase=$(hwm_kb $RPID)
  $B tplsend $proto 1000 10 127.0.0.1 "$p" >/dev/null
  sleep 1
  nf=$(hwm_kb $RPID); kill -TERM $RPID; wait $RPID || true; RPID=""
  echo "RESULT memory $proto (load $(cut -d" " -f1 /proc/loadavg)): flowlens collect --store VmHWM $fl KiB (idle $base KiB, $nexp exporters); nfcapd VmHWM $nf KiB (idle $nbase KiB); ratio $(python3 -c "print('%.2f' % ($fl / $nf))")"
done
$B exporters 1000 10
