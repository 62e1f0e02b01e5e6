# tests/collect/test_roundtrip.sh — `flowlens gen` -> `flowlens collect`:
# every flow sent as NetFlow v5, v9 and IPFIX decodes to the flow generated
# (times, addresses, ports, counters, interfaces, AS, masks, next hop);
# sFlow samples belong to generated flows. Then gen -> collect --store ->
# the store holds every flow (flowlens exporters / verify).
. "$FL_ROOT/tests/lib.sh"
N=3000
for proto in v5 v9 ipfix sflow; do
  P=$(free_port)
  ipv6=20; [ $proto = v5 ] && ipv6=0   # v5 carries no IPv6
  start_bg "$FL_BIN" collect --listen 127.0.0.1:$P --print ndjson --count $N --duration 30 \
    >"$T_TMP/$proto.out" 2>"$T_TMP/$proto.err"
  pid=$BG_PID
  for _ in $(seq 50); do grep -q "listening on" "$T_TMP/$proto.err" && break; sleep 0.1; done
  "$FL_BIN" gen --to 127.0.0.1:$P --proto $proto --count $N --rate 30000 --ipv6 $ipv6 \
    --dump "$T_TMP/$proto.csv" >"$T_TMP/gen_$proto.log" 2>&1
  for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  check "roundtrip_$proto" python3 "$FL_ROOT/tests/collect/roundtrip_cmp.py" $proto "$T_TMP/$proto.csv" "$T_TMP/$proto.out"
  grep -q '"seq_lost":0,' "$T_TMP/$proto.err" && ! grep -q '"seq_lost":[1-9]' "$T_TMP/$proto.err" \
    && pass "roundtrip_${proto}_no_loss" || fail "roundtrip_${proto}_no_loss" "$(grep exporter "$T_TMP/$proto.err" | head -2)"
done

# into the store
P=$(free_port)
start_bg "$FL_BIN" collect --listen 127.0.0.1:$P --store "$T_TMP/store" --count $N --duration 30 \
  >"$T_TMP/store.out" 2>"$T_TMP/store.err"
pid=$BG_PID
for _ in $(seq 50); do grep -q "listening on" "$T_TMP/store.err" && break; sleep 0.1; done
"$FL_BIN" gen --to 127.0.0.1:$P --proto ipfix --count $N --rate 30000 >/dev/null 2>&1
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill $pid 2>/dev/null; wait $pid 2>/dev/null
grep -q "$N flows stored in" "$T_TMP/store.err" && pass store_all_flows || fail store_all_flows "$(tail -3 "$T_TMP/store.err")"
expect_rc store_verifies 0 "$FL_BIN" verify --store "$T_TMP/store"
expect_out store_verify_rows "$N rows"
expect_rc store_exporters 0 "$FL_BIN" exporters --store "$T_TMP/store"
total=$(awk '$1 ~ /^[0-9]+$/ {s += $6} END {print s+0}' "$T_TMP/out")
[ "$total" = "$N" ] && pass store_exporter_flows || fail store_exporter_flows "exporters table sums $total flows: $(cat "$T_TMP/out")"
[ -s "$T_TMP/store/collector-templates.bin" ] && pass store_template_file || fail store_template_file "no template file in the store"
