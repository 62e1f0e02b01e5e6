# tests/collect/test_live_visible.sh — flows become visible to readers of
# the store while the collector runs, without more traffic: the writer
# publishes the open slot on its own clock (the idle hook), not only when
# the next batch arrives. Checked for `flowlens collect` and `flowlens serve`.
. "$FL_ROOT/tests/lib.sh"

# stored_now STORE: flows a reader sees right now (no answer cache)
stored_now() { "$FL_BIN" query --store "$1" --no-cache -o ndjson 2>/dev/null | grep -c '"src_addr"'; }

# visible_within NAME STORE WANT: poll for up to 10 s (bounded)
visible_within() {
  local n=0
  for _ in $(seq 50); do
    n=$(stored_now "$2")
    [ "$n" = "$3" ] && break
    sleep 0.2
  done
  [ "$n" = "$3" ] && pass "$1" || fail "$1" "$n of $3 flows visible after 10 s"
}

# ---- collect -------------------------------------------------------------
P=$(free_port)
start_bg "$FL_BIN" collect --store "$T_TMP/c" --listen 127.0.0.1:$P 2>"$T_TMP/c.err"
CP=$BG_PID
for _ in $(seq 100); do grep -q "listening on" "$T_TMP/c.err" && break; sleep 0.1; done
"$FL_BIN" gen --to "127.0.0.1:$P" --proto ipfix --count 3000 --exporters 2 --rate 20000 \
  --window 2m 2>"$T_TMP/gen1.log"
visible_within collect_flows_visible_while_running "$T_TMP/c" 3000
kill -0 "$CP" 2>/dev/null && pass collect_still_running || fail collect_still_running
kill -TERM "$CP"; wait "$CP"
[ "$(stored_now "$T_TMP/c")" = 3000 ] && pass collect_all_after_stop || fail collect_all_after_stop

# ---- serve (no demo: nothing else arrives) ---------------------------------
start_bg "$FL_BIN" serve --store "$T_TMP/s" --http 127.0.0.1:0 --listen 127.0.0.1:0 \
  --log-level info >"$T_TMP/s.out" 2>&1
SP=$BG_PID
for _ in $(seq 100); do grep -q "collecting on" "$T_TMP/s.out" && break; sleep 0.1; done
cport=$(sed -n 's|.*collecting on 127\.0\.0\.1:0 (port \([0-9]*\)).*|\1|p' "$T_TMP/s.out")
[ -n "$cport" ] && pass serve_started || fail serve_started "$(head -5 "$T_TMP/s.out")"
"$FL_BIN" gen --to "127.0.0.1:$cport" --proto v9 --count 3000 --exporters 2 --rate 3000 \
  --window 2m 2>"$T_TMP/gen2.log"
visible_within serve_flows_visible_while_running "$T_TMP/s" 3000
kill -TERM "$SP"; wait "$SP"
expect_rc serve_store_verifies 0 "$FL_BIN" verify --store "$T_TMP/s"
