#!/usr/bin/env bash
# tests/http/test_browser.sh — the web UI in Debian's Chromium.
#
# Starts two `flowlens serve` on free loopback ports (stopped by PID on
# exit): one with in-memory demo data (the graphs, tables, flows, saved
# filters), one over a store fed by `flowlens gen` through its collector,
# with a collector statistics file that reports sequence loss and
# malformed packets for one exporter (the Exporters page). Then runs
# tests/http/browser.mjs (playwright-core from web/node_modules driving
# /usr/bin/chromium). Screenshots of each view, on a 1366x768 laptop and a
# 2560x1440 monitor, go to $FL_TEST_OUT/http-screens/.
. "$FL_ROOT/tests/lib.sh"

SHOTS="${FL_TEST_OUT:-/tmp}/http-screens"
mkdir -p "$SHOTS"
check "chromium installed" test -x /usr/bin/chromium
check "playwright-core installed" test -f "$FL_ROOT/web/node_modules/playwright-core/package.json"

# wait_port FILE: the HTTP port serve prints
wait_port() {
  local p=""
  for _ in $(seq 1 600); do
    p=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$1")
    [ -n "$p" ] && break
    kill -0 "$BG_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$p"
}

# --demo-end fixes the history (no live traffic): counts compared between
# two requests cannot drift while the test runs
start_bg "$FL_BIN" serve --store "$T_TMP/no-store" --http 127.0.0.1:0 --demo-flows 300000 \
  --demo-end "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --log-level warn >"$T_TMP/serve.out" 2>&1
port=$(wait_port "$T_TMP/serve.out")
if [ -z "$port" ]; then
  fail "serve started" "$(head -c 400 "$T_TMP/serve.out")"
  exit 1
fi
pass "serve started on port $port"

# a store fed through the collector, and the collector's statistics file
S=$T_TMP/store
start_bg "$FL_BIN" serve --store "$S" --http 127.0.0.1:0 --listen 127.0.0.1:0 --log-level warn >"$T_TMP/serve2.out" 2>&1
port2=$(wait_port "$T_TMP/serve2.out")
cport=$(sed -n 's|.*collecting on 127\.0\.0\.1:0 (port \([0-9]*\)).*|\1|p' "$T_TMP/serve2.out")
if [ -z "$port2" ] || [ -z "$cport" ]; then
  fail "store serve started" "$(head -c 400 "$T_TMP/serve2.out")"
  exit 1
fi
"$FL_BIN" gen --to "127.0.0.1:$cport" --proto v9 --count 3000 --exporters 2 --rate 10000 --window 6h \
  --start "$(date -u -d '-6 hours' +%Y-%m-%dT%H:%M:%SZ)" 2>"$T_TMP/gen.log"
for _ in $(seq 100); do
  n=$(curl -sf "http://127.0.0.1:$port2/api/v1/exporters" | python3 -c 'import json,sys; print(len([e for e in json.load(sys.stdin)["exporters"] if e["flows"]]))' 2>/dev/null)
  [ "${n:-0}" = 2 ] && break
  sleep 0.2
done
check "store serve has two exporters with flows" test "${n:-0}" = 2
# The collector rewrites this file every 5 s once it writes statistics; the
# page is checked against whatever the API answers. Until then, this one
# reports loss and malformed packets for exporter 2 and a stranger.
if ! grep -q '"store_id"' "$S/collector-stats.jsonl" 2>/dev/null; then
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  cat >"$S/collector-stats.jsonl" <<EOT
{"type":"server","started":"$now","written":"$now","datagrams":233,"kernel_drops":0,"queue_drops":0,"batches":12,"tcp_connections":0}
{"type":"exporter","exporter":1,"store_id":1,"proto":"netflow9","addr":"127.0.0.1","domain":1,"name":"","sampling_rate":1,"sampling_source":"unknown","templates":2,"datagrams":110,"bytes":130000,"flows":1500,"option_records":0,"counter_samples":0,"templates_seen":2,"templates_withdrawn":0,"seq_lost":0,"seq_reorder":0,"missing_template_sets":0,"queue_drops":0,"malformed":{},"first_seen":"$now","last_seen":"$now"}
{"type":"exporter","exporter":2,"store_id":2,"proto":"netflow9","addr":"127.0.0.1","domain":2,"name":"","sampling_rate":1,"sampling_source":"unknown","templates":2,"datagrams":105,"bytes":128000,"flows":1480,"option_records":0,"counter_samples":0,"templates_seen":2,"templates_withdrawn":0,"seq_lost":6,"seq_reorder":1,"missing_template_sets":2,"queue_drops":0,"malformed":{"short":3,"bad_length":1},"first_seen":"$now","last_seen":"$now"}
{"type":"exporter","exporter":3,"store_id":3,"proto":"ipfix","addr":"198.51.100.7","domain":0,"name":"","sampling_rate":0,"sampling_source":"unknown","templates":0,"datagrams":18,"bytes":2300,"flows":0,"option_records":0,"counter_samples":0,"templates_seen":0,"templates_withdrawn":0,"seq_lost":0,"seq_reorder":0,"missing_template_sets":0,"queue_drops":0,"malformed":{"bad_version":18},"first_seen":"$now","last_seen":"$now"}
EOT
fi
pass "store serve on port $port2 (collector $cport)"

node "$FL_ROOT/tests/http/browser.mjs" "http://127.0.0.1:$port" "$SHOTS" "http://127.0.0.1:$port2"
echo "screenshots: $SHOTS"
