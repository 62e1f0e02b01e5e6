#!/usr/bin/env bash
# tests/http/test_browser.sh — the web UI in Debian's Chromium.
#
# Starts `flowlens serve` with demo data on a free loopback port (stopped by
# PID on exit), then runs tests/http/browser.mjs (playwright-core from
# web/node_modules driving /usr/bin/chromium). Screenshots of each view go
# to $FL_TEST_OUT/http-screens/.
. "$FL_ROOT/tests/lib.sh"

SHOTS="${FL_TEST_OUT:-/tmp}/http-screens"
mkdir -p "$SHOTS"
check "chromium installed" test -x /usr/bin/chromium
check "playwright-core installed" test -f "$FL_ROOT/web/node_modules/playwright-core/package.json"

start_bg "$FL_BIN" serve --store "$T_TMP/no-store" --http 127.0.0.1:0 --demo-flows 300000 --log-level warn >"$T_TMP/serve.out" 2>&1
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T_TMP/serve.out")
  [ -n "$port" ] && break
  kill -0 "$BG_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  fail "serve started" "$(head -c 400 "$T_TMP/serve.out")"
  exit 1
fi
pass "serve started on port $port"

node "$FL_ROOT/tests/http/browser.mjs" "http://127.0.0.1:$port" "$SHOTS"
echo "screenshots: $SHOTS"
