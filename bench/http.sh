#!/usr/bin/env bash
# bench/http.sh — time from request to complete JSON for the API's typical
# questions (issue 8's targets: < 1 s cold, < 50 ms cached, on 2 cores):
#   - a 24 h, 5-minute-step top-10 topseries (cold, then cached)
#   - a table of the top 100 source IPs
#   - a 7-day total series
# over FLOWS (default 20 million) demo flows held in memory by
# `flowlens serve` (fixed seed and end time). The demo backend stands in for
# the store until it lands; there is no peer ratio yet because the peer
# (FlowGraph: Flask + nfdump) needs nfcapd files we cannot write yet.
# Usage: bash bench/http.sh [FLOWS]   (via `bash bench/run.sh http`)
set -euo pipefail
cd "$(dirname "$0")/.."
FLOWS=${1:-20000000}
BIN=./build/release/flowlens
[ -x "$BIN" ] || make -j2 release >/dev/null
OUT=$(mktemp -d /tmp/flowlens-bench-http.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$OUT"' EXIT

serve() { # serve SPAN: start, wait for the port (bounded), set PID/PORT
  local t0=$(date +%s.%N)
  "$BIN" serve --http 127.0.0.1:0 --demo-flows "$FLOWS" --demo-seed 1 --demo-span "$1" \
    --demo-end 2024-05-01T00:00:00Z --log-level warn --time-limit 120000 --memory 4096 >"$OUT/serve.out" 2>&1 &
  PID=$!
  PORT=""
  for _ in $(seq 1 3000); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$OUT/serve.out")
    [ -n "$PORT" ] && break
    sleep 0.2
  done
  [ -n "$PORT" ] || { echo "serve did not start: $(cat "$OUT/serve.out")"; exit 1; }
  printf '%-44s %8.1f s   (%s flows over %s, RSS %s MiB)\n' "generate demo history" \
    "$(python3 -c "print($(date +%s.%N) - $t0)")" "$FLOWS" "$1" "$(( $(awk '/VmRSS/{print $2}' /proc/$PID/status) / 1024 ))"
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

# ask NAME JSON: time to the complete response; checks it is a 200 with a result
ask() {
  local name=$1 body=$2 t code
  t=$(curl -s -o "$OUT/r.json" -w '%{http_code} %{time_total}' -X POST \
       -H 'Content-Type: application/json' --data "$body" "http://127.0.0.1:$PORT/api/v1/query")
  code=${t% *}; t=${t#* }
  if [ "$code" != 200 ]; then echo "$name: HTTP $code $(head -c 300 "$OUT/r.json")"; exit 1; fi
  python3 - "$OUT/r.json" "$name" "$t" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
name, t = sys.argv[2], float(sys.argv[3]) * 1000
target = 50 if d["cached"] else 1000
print(f"{name:44s} {t:8.1f} ms  (engine {d['query_ms']:.1f} ms, scanned {d['scanned']}, "
      f"{'cached' if d['cached'] else 'cold'}, target < {target} ms: {'ok' if t < target else 'MISSED'})")
PY
}

W24='"start":"2024-04-30T00:00:00Z","end":"2024-05-01T00:00:00Z"'
serve 24h
ask "topseries srcip top-10 24h step 5m"        "{\"op\":\"topseries\",\"stat\":\"srcip/bytes\",\"top\":10,\"metric\":\"bps\",\"step\":\"5m\",$W24}"
ask "topseries srcip top-10 24h step 5m (again)" "{\"op\":\"topseries\",\"stat\":\"srcip/bytes\",\"top\":10,\"metric\":\"bps\",\"step\":\"5m\",$W24}"
ask "topseries dstport top-10 24h step 5m"       "{\"op\":\"topseries\",\"stat\":\"dstport/bytes\",\"top\":10,\"metric\":\"bps\",\"step\":\"5m\",$W24}"
ask "table top 100 srcip 24h"                    "{\"op\":\"stats\",\"stat\":\"srcip/bytes\",\"top\":100,$W24}"
ask "table top 100 srcip 24h (again)"            "{\"op\":\"stats\",\"stat\":\"srcip/bytes\",\"top\":100,$W24}"
ask "total series 24h step 5m"                   "{\"op\":\"series\",\"metric\":\"bps\",\"step\":\"5m\",$W24}"
ask "flows: 100 largest 24h"                     "{\"op\":\"list\",\"order\":\"bytes\",\"limit\":100,$W24}"
stop

serve 7d
W7='"start":"2024-04-24T00:00:00Z","end":"2024-05-01T00:00:00Z"'
ask "total series 7d step 1h"                    "{\"op\":\"series\",\"metric\":\"bps\",\"step\":\"1h\",$W7}"
ask "total series 7d step 1h (again)"            "{\"op\":\"series\",\"metric\":\"bps\",\"step\":\"1h\",$W7}"
ask "topseries srcip top-10 7d step 1h"          "{\"op\":\"topseries\",\"stat\":\"srcip/bytes\",\"top\":10,\"metric\":\"bps\",\"step\":\"1h\",$W7}"
stop
