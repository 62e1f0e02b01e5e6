#!/usr/bin/env bash
# bench/http.sh — time from request to complete JSON for the API's typical
# questions (issue 8's targets: < 1 s cold, < 50 ms cached, on 2 cores):
#   - a 24 h, 5-minute-step top-10 topseries (srcip and dstport)
#   - a table of the top 100 source IPs
#   - a 24 h total series and a 7-day total series
# asked of `flowlens serve --store` over N (default 20 million) generated
# flows (seed 1): one store of N flows over 24 h, one of N flows over 7 d,
# each made as in bench/query.sh (`flowlens gen --proto v9` to Debian's
# nfcapd, the files imported), so both sides hold the same flows.
#
# "cold": the first request to a freshly started server, best of REPEAT
# (default 3) servers, with the CPU seconds the server spent on it (steadier
# than wall time on a shared machine); "cached": the same question asked
# again of each.
# Every answer is checked: HTTP 200, the second one from the cache, and
# the topseries and the table equal to `flowlens query --store`.
# The peer (FlowGraph: nfdump -s per 5-minute interval) is timed as in
# bench/query.sh: nfdump -s over the day for the table; one 5-minute
# interval x 288 for a day's topseries. The load average is printed with
# every figure (the machine is shared).
#
#   bash bench/http.sh                     (or: bash bench/run.sh http)
#   DATA=/tmp/httpdata bash bench/http.sh  (keep and reuse the stores)
#   N=20000000 RATE=300000 REPEAT=3 ONLY='topseries' bash bench/http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000000}
RATE=${RATE:-300000}
REPEAT=${REPEAT:-3}
BIN=${FL:-./build/release/flowlens}
[ -n "${FL:-}" ] || make -j2 release >/dev/null
if [ -n "${DATA:-}" ]; then W=$DATA; mkdir -p "$W"; else W=$(mktemp -d /tmp/flowlens-bench-http.XXXXXX); fi
PID="" NFPID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [ -n "$NFPID" ] && kill "$NFPID" 2>/dev/null && wait "$NFPID" 2>/dev/null
  rm -f "$W/r.json" "$W/cli.json"
  [ -n "${DATA:-}" ] || rm -rf "$W"
  return 0
}
trap cleanup EXIT
export TZ=UTC
load() { uptime | sed 's/.*load average: //; s/,.*//'; }

# make NAME START WINDOW: N flows over [START, START+WINDOW) into $W/NAME
make_store() {
  local name=$1 start=$2 window=$3 port
  if [ -f "$W/$name.ready" ]; then
    echo "reusing $W/$name: $(cat "$W/$name.ready") flows over $window"
    return
  fi
  rm -rf "$W/$name.nf" "$W/$name"
  mkdir -p "$W/$name.nf"
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  nfcapd -b 127.0.0.1 -p "$port" -w "$W/$name.nf" -t 86400 -y -B 33554432 >"$W/$name.nfcapd.log" 2>&1 &
  NFPID=$!
  sleep 1
  echo "sending $N flows (seed 1, $window from $start) at $RATE flows/s to nfcapd"
  $BIN gen --to "127.0.0.1:$port" --proto v9 --count "$N" --seed 1 --rate "$RATE" \
    --start "$start" --window "$window" 2>"$W/$name.gen.log"
  sleep 2
  kill -TERM "$NFPID"; wait "$NFPID" 2>/dev/null || true; NFPID=""
  $BIN import "$W/$name.nf" --into "$W/$name" >/dev/null 2>"$W/$name.import.log"
  nfdump -R "$W/$name.nf" -I | awk '/^Flows:/ {print $2; exit}' >"$W/$name.ready"
  echo "$W/$name: $(cat "$W/$name.ready") flows over $window, store $(du -sh "$W/$name" | cut -f1)"
}

# serve STORE: start `flowlens serve` on it (collector on a free
# loopback port, nothing sent), wait for the port (bounded), set PID/PORT
serve() {
  "$BIN" serve --store "$1" --http 127.0.0.1:0 --listen 127.0.0.1:0 \
    --log-level warn --time-limit 120000 --memory 4096 >"$W/serve.out" 2>&1 &
  PID=$!
  PORT=""
  for _ in $(seq 1 600); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$W/serve.out")
    [ -n "$PORT" ] && break
    sleep 0.1
  done
  [ -n "$PORT" ] || { echo "serve did not start: $(cat "$W/serve.out")"; exit 1; }
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
# CPU time (user + sys, clock ticks) the server has used so far
srv_cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

# ask BODY: one request; prints "<seconds> <cached 0|1>", the JSON in $W/r.json
ask() {
  local t code
  t=$(curl -s -o "$W/r.json" -w '%{http_code} %{time_total}' -X POST \
       -H 'Content-Type: application/json' --data "$1" "http://127.0.0.1:$PORT/api/v1/query")
  code=${t% *}
  if [ "$code" != 200 ]; then echo "HTTP $code $(head -c 300 "$W/r.json")" >&2; exit 1; fi
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], int(d["cached"]))' \
    "$W/r.json" "${t#* }"
}

# same STORE CLI-ARGS...: the last answer ($W/r.json) equals flowlens query's -o json
same() {
  local store=$1; shift
  $BIN query --store "$store" --no-cache -o json --utc "$@" >"$W/cli.json"
  python3 - "$W/r.json" "$W/cli.json" <<'PY'
import json, sys
api = json.load(open(sys.argv[1]))["result"]
cli = json.load(open(sys.argv[2]))
def close(a, b, path="result"):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)): return
        raise SystemExit(f"{path}: {a} != {b}")
    if type(a) != type(b): raise SystemExit(f"{path}: {type(a)} != {type(b)}")
    if isinstance(a, dict):
        if set(a) != set(b): raise SystemExit(f"{path}: keys differ")
        for k in a: close(a[k], b[k], path + "." + k)
    elif isinstance(a, list):
        if len(a) != len(b): raise SystemExit(f"{path}: {len(a)} != {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)): close(x, y, f"{path}[{i}]")
    elif a != b: raise SystemExit(f"{path}: {a!r} != {b!r}")
close(api, cli)
PY
}

printf '%-40s %7s %7s %9s %6s  %s\n' question "cold s" "cpu s" "cached ms" "load" "check"
# q NAME STORE BODY CLI-ARGS...: REPEAT times: a fresh server (empty answer
# cache), the question (cold) and again (cached); best of each
q() {
  local name=$1 store=$2 body=$3 best="" bestc="" cpu="" t c c0 l chk; shift 3
  [[ "$name" =~ ${ONLY:-.} ]] || return 0
  for _ in $(seq 1 "$REPEAT"); do
    serve "$store"
    c0=$(srv_cpu)
    read -r t c < <(ask "$body")
    [ "$c" = 0 ] || { echo "$name: the first answer came from the cache" >&2; exit 1; }
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then
      best=$t
      cpu=$(echo "($(srv_cpu) - $c0) / $(getconf CLK_TCK)" | bc -l)
    fi
    read -r t c < <(ask "$body")
    [ "$c" = 1 ] || { echo "$name: the second answer was not cached" >&2; exit 1; }
    if [ -z "$bestc" ] || [ "$(echo "$t < $bestc" | bc -l)" = 1 ]; then bestc=$t; fi
    stop
  done
  l=$(load)
  if [ $# -gt 0 ]; then
    if same "$store" "$@" >"$W/cmp" 2>&1; then chk="= flowlens query"; else chk="DIFFERS: $(head -c 200 "$W/cmp")"; fi
  else
    chk="200"
  fi
  printf '%-40s %7.3f %7.2f %9.1f %6s  %s%s\n' "$name" "$best" "$cpu" "$(echo "$bestc * 1000" | bc -l)" "$l" "$chk" \
    "$( [ "$(echo "$best < 1" | bc -l)" = 1 ] && [ "$(echo "$bestc < 0.05" | bc -l)" = 1 ] || echo "  (target missed)")"
}

make_store d1 2024-04-30T00:00:00Z 24h
make_store d7 2024-04-24T00:00:00Z 7d
echo "load: $(uptime | sed 's/.*load average: //')"
S1=$W/d1 S7=$W/d7
W24='"start":"2024-04-30T00:00:00Z","end":"2024-05-01T00:00:00Z"'
T24="2024-04-30T00:00:00Z..2024-05-01T00:00:00Z"
W7='"start":"2024-04-24T00:00:00Z","end":"2024-05-01T00:00:00Z"'

q "topseries srcip top-10 24h step 5m" "$S1" \
  "{\"op\":\"topseries\",\"stat\":\"srcip/bytes\",\"top\":10,\"metric\":\"bps\",\"step\":\"5m\",$W24}" \
  --topseries srcip/bytes -n 10 --metric bps --step 5m -t "$T24"
q "topseries dstport top-10 24h step 5m" "$S1" \
  "{\"op\":\"topseries\",\"stat\":\"dstport/bytes\",\"top\":10,\"metric\":\"bps\",\"step\":\"5m\",$W24}" \
  --topseries dstport/bytes -n 10 --metric bps --step 5m -t "$T24"
q "table top 100 srcip 24h" "$S1" "{\"op\":\"stats\",\"stat\":\"srcip/bytes\",\"top\":100,$W24}" \
  -s srcip/bytes -n 100 -t "$T24"
q "total series 24h step 5m" "$S1" "{\"op\":\"series\",\"metric\":\"bps\",\"step\":\"5m\",$W24}"
q "total series 7d step 1h" "$S7" "{\"op\":\"series\",\"metric\":\"bps\",\"step\":\"1h\",$W7}"

# the peer: FlowGraph asks nfdump -s once per 5-minute interval
if [[ "nfdump" =~ ${ONLY:-.} ]] || [ -z "${ONLY:-}" ]; then
  T="python3 bench/timeit.py"
  read -r a _ < <($T "$W/nf.out" nfdump -R "$W/d1.nf" -q -o csv -s srcip/bytes -n 100 \
    -t 2024/04/30.00:00:00-2024/05/01.00:00:00)
  read -r b _ < <($T "$W/nf.out" nfdump -R "$W/d1.nf" -q -o csv -s srcip/bytes -n 10 \
    -t 2024/04/30.12:00:00-2024/04/30.12:05:00)
  printf 'nfdump -s srcip/bytes -n 100 over the day: %.3f s; one 5-min interval %.3f s x 288 = %.1f s (load %s)\n' \
    "$a" "$b" "$(echo "$b * 288" | bc -l)" "$(load)"
fi
rm -f "$W/nf.out" "$W/cmp"
