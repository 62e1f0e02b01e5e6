#!/usr/bin/env bash
# tests/http/test_serve_cli.sh — `flowlens serve` options and process life:
# bad --http values are usage errors, a busy port is a clear error, the
# server stops cleanly on SIGTERM, and the API answers over curl.
. "$FL_ROOT/tests/lib.sh"

expect_rc "bad --http is a usage error" 2 "$FL_BIN" serve --http nonsense
expect_out "names the option" "--http"
expect_rc "port out of range" 2 "$FL_BIN" serve --http 127.0.0.1:70000
expect_rc "bad --demo-flows" 2 "$FL_BIN" serve --demo-flows abc
expect_rc "bad --time-limit" 2 "$FL_BIN" serve --time-limit 0
expect_rc "bad --max-queries" 2 "$FL_BIN" serve --max-queries 0
expect_out "names --max-queries" "--max-queries"
expect_rc "bad --demo-span" 2 "$FL_BIN" serve --demo-span 7x

start_bg "$FL_BIN" serve --store "$T_TMP/no-store" --http 127.0.0.1:0 --demo-flows 20000 --log-level warn \
  --filters-dir "$T_TMP/my filters" >"$T_TMP/a.out" 2>&1
pid=$BG_PID
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T_TMP/a.out")
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -n "$port" ]; then pass "port 0 picks a free port ($port)"; else fail "port 0 picks a free port" "$(cat "$T_TMP/a.out")"; fi

check "GET / serves the page" sh -c "curl -sf http://127.0.0.1:$port/ | grep -q '<title>flowlens</title>'"
check "summary over curl" sh -c "curl -sf 'http://127.0.0.1:$port/api/v1/query?op=summary&window=all' | grep -q '\"flows\":20000'"
check "errors are JSON with a status" sh -c "curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$port/api/v1/query?op=nope' | grep -q 400"

# --filters-dir: the library lives there (created on the first save)
check "capabilities name the filters directory" sh -c "curl -sf 'http://127.0.0.1:$port/api/v1/capabilities' | grep -q 'my filters'"
check "PUT saves into --filters-dir" sh -c "curl -sf -X PUT --data 'proto tcp' 'http://127.0.0.1:$port/api/v1/filters/tcp' >/dev/null && test -f '$T_TMP/my filters/tcp'"
check "no filters directory in the store" test ! -e "$T_TMP/no-store/filters"

# the same port again: a clear error, exit 1
expect_rc "busy port is an error" 1 "$FL_BIN" serve --store "$T_TMP/no-store" --http "127.0.0.1:$port" --demo-flows 1000
expect_out "says it cannot listen" "cannot listen on 127.0.0.1 port $port"

kill -TERM "$pid"
rc=0
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then fail "stops on SIGTERM" "still running"; else pass "stops on SIGTERM"; fi
wait "$pid"; rc=$?
if [ "$rc" -eq 0 ]; then pass "clean exit status"; else fail "clean exit status" "exit $rc: $(tail -5 "$T_TMP/a.out")"; fi

# HTTPS with a certificate made here
expect_rc "--tls-cert needs --tls-key" 2 "$FL_BIN" serve --tls-cert /dev/null
expect_rc "a non-PEM certificate is refused" 2 "$FL_BIN" serve --tls-cert /etc/hostname --tls-key /etc/hostname
if openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
     -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" >"$T_TMP/openssl.out" 2>&1; then
  pass "test certificate made"
else
  fail "test certificate made" "$(head -c 300 "$T_TMP/openssl.out")"
fi
start_bg "$FL_BIN" serve --store "$T_TMP/no-store" --http 127.0.0.1:0 --demo-flows 5000 --log-level warn \
  --tls-cert "$T_TMP/cert.pem" --tls-key "$T_TMP/key.pem" >"$T_TMP/tls.out" 2>&1
tpid=$BG_PID
tport=""
for _ in $(seq 1 300); do
  tport=$(sed -n 's|.*listening on https://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T_TMP/tls.out")
  [ -n "$tport" ] && break
  sleep 0.1
done
check "HTTPS answers the API" sh -c "curl -sf --cacert '$T_TMP/cert.pem' 'https://127.0.0.1:$tport/api/v1/query?op=summary&window=all' | grep -q '\"flows\":5000'"
check "plain HTTP is not served on the TLS port" sh -c "! curl -sf -m 5 'http://127.0.0.1:$tport/api/v1/capabilities' >/dev/null"
kill -TERM "$tpid"

# live demo traffic (no --demo-end): the number of flows grows every 5 s
start_bg "$FL_BIN" serve --store "$T_TMP/no-store" --http 127.0.0.1:0 --demo-flows 400000 --cache 0 --log-level warn >"$T_TMP/live.out" 2>&1
lpid=$BG_PID
lport=""
for _ in $(seq 1 300); do
  lport=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/ (demo data, [0-9]* flows, live).*|\1|p' "$T_TMP/live.out")
  [ -n "$lport" ] && break
  sleep 0.1
done
if [ -n "$lport" ]; then pass "serve says it feeds live traffic"; else fail "serve says it feeds live traffic" "$(cat "$T_TMP/live.out")"; fi
count() { curl -sf "http://127.0.0.1:$lport/api/v1/query?op=summary&window=all" | sed -n 's/.*"matched":\([0-9]*\).*/\1/p'; }
c0=$(count)
grown=""
for _ in $(seq 1 30); do
  sleep 1
  c1=$(count)
  if [ -n "$c1" ] && [ -n "$c0" ] && [ "$c1" -gt "$c0" ]; then grown=yes; break; fi
done
if [ -n "$grown" ]; then pass "live traffic arrives ($c0 -> $c1 flows)"; else fail "live traffic arrives" "stayed at $c0"; fi
kill -TERM "$lpid"
