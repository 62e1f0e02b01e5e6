#!/usr/bin/env bash
# tests/http/test_serve_store.sh — `flowlens serve --store DIR` over a real
# store (4 simulated exporters through nfcapd, imported), and the API's
# results equal to `flowlens query --store DIR -o json` for the same spec
# (with and without filters). Servers stop by PID.
. "$FL_ROOT/tests/lib.sh"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$T_TMP/nf"
start_bg nfcapd -b 127.0.0.1 -p "$port" -w "$T_TMP/nf" -t 3600 >"$T_TMP/nfcapd.log" 2>&1
for _ in $(seq 50); do grep -q Startup "$T_TMP/nfcapd.log" && break; sleep 0.1; done
"$FL_BIN" gen --to "127.0.0.1:$port" --proto ipfix --count 3000 --exporters 4 --rate 20000 2>/dev/null
sleep 1
kill -TERM "$BG_PID"; wait "$BG_PID" 2>/dev/null
check "store made (gen -> nfcapd -> import)" "$FL_BIN" import "$T_TMP/nf" --into "$T_TMP/store"

start_bg "$FL_BIN" serve --store "$T_TMP/store" --http 127.0.0.1:0 --listen 127.0.0.1:0 --log-level warn >"$T_TMP/serve.out" 2>&1
sport=""
for _ in $(seq 1 300); do
  sport=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/ (store .*|\1|p' "$T_TMP/serve.out")
  [ -n "$sport" ] && break
  sleep 0.1
done
if [ -n "$sport" ]; then pass "serve uses the store"; else fail "serve uses the store" "$(cat "$T_TMP/serve.out")"; exit 1; fi
API="http://127.0.0.1:$sport/api/v1"

check "capabilities name the store backend and filters" sh -c \
  "curl -sf '$API/capabilities' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"backend\"]==\"store\" and d[\"filter\"][\"available\"]'"
check "exporters: the store's table, flows add up" sh -c \
  "curl -sf '$API/exporters' | python3 -c 'import json,sys; d=json.load(sys.stdin)[\"exporters\"]; assert len(d)==4, d; assert sum(x[\"flows\"] for x in d)==3000, d'"

# the window of the data, for series
read -r W0 W1 < <(curl -sf "$API/query?op=summary&window=all" | python3 -c '
import json,sys,datetime
d=json.load(sys.stdin)["result"]
p=lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
a=p(d["first"]).replace(second=0, microsecond=0); b=p(d["last"]).replace(second=0, microsecond=0)+datetime.timedelta(minutes=2)
print(a.strftime("%Y-%m-%dT%H:%M:%SZ"), b.strftime("%Y-%m-%dT%H:%M:%SZ"))')

# same NAME 'API JSON' CLI-ARGS... : the API's result equals the CLI's -o json
same() {
  local name=$1 body=$2; shift 2
  curl -sf -X POST --data "$body" "$API/query" >"$T_TMP/api.json" 2>"$T_TMP/curl.err"
  "$FL_BIN" query --store "$T_TMP/store" -o json "$@" >"$T_TMP/cli.json" 2>"$T_TMP/cli.err"
  if python3 - "$T_TMP/api.json" "$T_TMP/cli.json" >"$T_TMP/cmp" 2>&1 <<'PY'
import json, math, sys
api = json.load(open(sys.argv[1]))["result"]
cli = json.load(open(sys.argv[2]))
def close(a, b, path="result"):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)): return
        raise SystemExit(f"{path}: {a} != {b}")
    if type(a) != type(b): raise SystemExit(f"{path}: {type(a)} != {type(b)}")
    if isinstance(a, dict):
        if set(a) != set(b): raise SystemExit(f"{path}: keys {sorted(a)} != {sorted(b)}")
        for k in a: close(a[k], b[k], path + "." + k)
    elif isinstance(a, list):
        if len(a) != len(b): raise SystemExit(f"{path}: {len(a)} != {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)): close(x, y, f"{path}[{i}]")
    elif a != b: raise SystemExit(f"{path}: {a!r} != {b!r}")
close(api, cli)
PY
  then pass "$name"; else fail "$name" "$(head -c 300 "$T_TMP/cmp") $(head -c 200 "$T_TMP/cli.err")"; fi
}

same "stats srcip/bytes = flowlens query -s" '{"op":"stats","stat":"srcip/bytes","top":10,"window":"all"}' -s srcip/bytes -n 10
same "stats with a filter = flowlens query FILTER" '{"op":"stats","stat":"dstport/flows","top":5,"window":"all","filter":"proto udp"}' -s dstport/flows -n 5 'proto udp'
# host/net filters the store applies alone (no per-row filter after, no
# address built unless shown): the API equals the CLI over the nfcapd
# files, where the filter is evaluated row by row, and matches something
same_files() {
  local name=$1 body=$2; shift 2
  curl -sf -X POST --data "$body" "$API/query" >"$T_TMP/api.json" 2>"$T_TMP/curl.err"
  "$FL_BIN" query -R "$T_TMP/nf" -o json "$@" >"$T_TMP/cli.json" 2>"$T_TMP/cli.err"
  if python3 - "$T_TMP/api.json" "$T_TMP/cli.json" >"$T_TMP/cmp" 2>&1 <<'PY'
import json, sys
api = json.load(open(sys.argv[1]))["result"]
cli = json.load(open(sys.argv[2]))
# every field of a row (aggregates: their key fields; stats: key and
# counters, their percentages aside), and the distinct count
keep = lambda x: {k: v for k, v in x.items() if not k.endswith("_pct")}
rows = lambda r: [tuple(sorted(keep(x).items())) for x in r["rows"]]
assert rows(api), "no rows"
assert rows(api) == rows(cli), (rows(api)[:2], rows(cli)[:2])
assert api.get("distinct") == cli.get("distinct"), (api.get("distinct"), cli.get("distinct"))
PY
  then pass "$name"; else fail "$name" "$(head -c 400 "$T_TMP/cmp") $(head -c 200 "$T_TMP/cli.err")"; fi
}
same_files "stats with a host filter = files" '{"op":"stats","stat":"proto/flows","top":0,"window":"all","filter":"host 10.0.0.1"}' -s proto/flows -n 0 'host 10.0.0.1'
# (selective: the scan keeps few rows of a group and gathers them, and
# the addresses the question shows are still built)
same_files "stats srcip with a host filter = files" '{"op":"stats","stat":"srcip/flows","top":20,"window":"all","filter":"host 10.0.0.1"}' -s srcip/flows -n 20 'host 10.0.0.1'
same "stats :p = -s proto split" '{"op":"stats","stat":"dstport:p/packets","top":8,"window":"all"}' -s dstport:p/packets -n 8
same "aggregate = flowlens query -A" '{"op":"aggregate","aggregate":"srcip,dstport","order":"bytes","top":10,"limit":10,"window":"all"}' -A srcip,dstport -O bytes -n 10
# a top N of aggregates keyed by an address reads the store's copies in
# address order, letting go of keys as the scan passes them: the API's
# rows equal the nfcapd files' (no order there) row for row
same_files "aggregate srcip,dstip in address order = files" '{"op":"aggregate","aggregate":"srcip,dstip","order":"bytes","top":10,"limit":10,"window":"all"}' -A srcip,dstip -O bytes -n 10
same_files "aggregate dstip,proto in address order = files" '{"op":"aggregate","aggregate":"dstip,proto","order":"flows","top":10,"limit":10,"window":"all","filter":"proto tcp or proto udp"}' -A dstip,proto -O flows -n 10 'proto tcp or proto udp'
same "summary = --summary" '{"op":"summary","window":"all","filter":"proto tcp"}' --summary 'proto tcp'
same "series = --series" "{\"op\":\"series\",\"metric\":\"bytes\",\"step\":\"1m\",\"window\":\"$W0..$W1\"}" --series bytes --step 1m -t "$W0..$W1" --utc
same "topseries = --topseries" "{\"op\":\"topseries\",\"stat\":\"srcip/bytes\",\"metric\":\"bytes\",\"top\":5,\"step\":\"1m\",\"window\":\"$W0..$W1\"}" --topseries srcip --metric bytes -n 5 --step 1m -t "$W0..$W1" --utc
same "topseries with a filter" "{\"op\":\"topseries\",\"stat\":\"dstport/flows\",\"metric\":\"flows\",\"top\":3,\"step\":\"1m\",\"window\":\"$W0..$W1\",\"filter\":\"proto tcp\"}" --topseries dstport/flows --metric flows -n 3 --step 1m -t "$W0..$W1" --utc 'proto tcp'
# topseries over more keys than N (the engine's two passes: top keys, then
# their series + Other): N + 1 series, Other holding real traffic
more_than_n() {
  python3 - "$T_TMP/api.json" "$1" <<'PY'
import json, sys
r, n = json.load(open(sys.argv[1]))["result"], int(sys.argv[2])
s = r["series"]
assert len(s) == n + 1, len(s)
assert s[-1]["name"] == "Other" and sum(s[-1]["values"]) > 0, s[-1]
PY
}
same "topseries ip (dual) top 4 = --topseries" "{\"op\":\"topseries\",\"stat\":\"ip/bytes\",\"metric\":\"bps\",\"top\":4,\"step\":\"5m\",\"window\":\"$W0..$W1\"}" --topseries ip/bytes --metric bps -n 4 --step 5m -t "$W0..$W1" --utc
check "topseries ip: more keys than N, Other drawn" more_than_n 4
same "topseries dstport top 3 = --topseries" "{\"op\":\"topseries\",\"stat\":\"dstport/packets\",\"metric\":\"packets\",\"top\":3,\"step\":\"1m\",\"window\":\"$W0..$W1\"}" --topseries dstport/packets --metric packets -n 3 --step 1m -t "$W0..$W1" --utc
check "topseries dstport: more keys than N, Other drawn" more_than_n 3
same "listing = flowlens query -c -O" '{"op":"list","order":"bytes","limit":20,"window":"all"}' -c 20 -O bytes
# a page without an order: the earliest flows, as `flowlens query -c`
same "listing unordered = flowlens query -c" '{"op":"list","limit":25,"window":"all","filter":"proto udp"}' -c 25 'proto udp'
second_page() {
  curl -sf -X POST --data '{"op":"list","limit":25,"offset":25,"window":"all"}' "$API/query" >"$T_TMP/api.json" &&
    "$FL_BIN" query --store "$T_TMP/store" -o json -c 50 >"$T_TMP/cli.json" &&
    python3 - "$T_TMP/api.json" "$T_TMP/cli.json" <<'PY'
import json, sys
api = json.load(open(sys.argv[1]))["result"]
cli = json.load(open(sys.argv[2]))
key = lambda r: json.dumps(r, sort_keys=True)
a = [key(r) for r in api]
c = [key(r) for r in cli]
assert len(a) == 25 and len(c) == 50, (len(a), len(c))
assert a == c[25:], (a[:1], c[25:26])
PY
}
check "second page = rows 26-50 of -c 50" second_page
# a page still counts every matching flow (the UI shows "N of M matched")
page_counts_all() {
  curl -sf -X POST --data '{"op":"list","limit":5,"window":"all","filter":"proto udp"}' "$API/query" >"$T_TMP/page.json" &&
    curl -sf -X POST --data '{"op":"summary","window":"all","filter":"proto udp"}' "$API/query" >"$T_TMP/sum.json" &&
    python3 - "$T_TMP/page.json" "$T_TMP/sum.json" <<'PY'
import json, sys
page, summ = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert len(page["result"]) == 5, len(page["result"])
assert page["matched"] == summ["result"]["flows"] > 5, (page["matched"], summ["result"]["flows"])
PY
}
check "a page counts every matching flow" page_counts_all
check "a bad filter is a 400 with its position" sh -c \
  "curl -s '$API/filter?filter=proto%20tcp%20and%20dst%20prot%20443' | python3 -c 'import json,sys; e=json.load(sys.stdin)[\"error\"]; assert e[\"code\"]==\"bad_filter\" and e[\"offset\"]==18, e'"

# The answer cache follows the store's data version: a window long past
# (cached for the full TTL) is asked, flows for it arrive through serve's
# own collector, and the same question is answered afresh, not from the
# cache.
cport=$(sed -n 's|.*collecting on 127\.0\.0\.1:0 (port \([0-9]*\)).*|\1|p' "$T_TMP/serve.out")
OLD='{"op":"summary","window":"2024-01-01T00:00:00Z..2024-01-02T00:00:00Z"}'
flows_cached() { # -> "<flows> <cached>"
  curl -sf -X POST --data "$OLD" "$API/query" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["result"]["flows"], int(d["cached"]))'
}
read -r f1 c1 < <(flows_cached)
read -r f2 c2 < <(flows_cached)
if [ "$f1 $c1 $f2 $c2" = "0 0 0 1" ]; then pass "an old window's answer is cached"; else fail "an old window's answer is cached" "$f1 $c1 $f2 $c2"; fi
"$FL_BIN" gen --to "127.0.0.1:$cport" --proto ipfix --count 500 --exporters 1 --rate 20000 \
  --start 2024-01-01T06:00:00Z --window 1h 2>"$T_TMP/gen2.log"
got=""
for _ in $(seq 100); do
  read -r f3 c3 < <(flows_cached)
  got="$got $f3/$c3"
  [ "$f3" = 500 ] && break
  sleep 0.2
done
if [ "$f3" = 500 ] && [ "$c3" = 0 ]; then pass "new flows in that window: answered afresh, not from the cache"; else fail "new flows in that window: answered afresh, not from the cache" "flows/cached:$got"; fi
read -r f4 c4 < <(flows_cached)
if [ "$f4 $c4" = "500 1" ]; then pass "and cached again under the new data version"; else fail "and cached again under the new data version" "$f4 $c4"; fi
