# tests/http/test_serve_collect.sh — `flowlens serve --demo` on a fresh store
# runs the whole pipeline in one process: a day of demo history written to
# the store, live demo IPFIX through the collector, real exports from
# `flowlens gen` collected too, the API reading it all, and a clean stop
# that leaves a store `flowlens verify` accepts.
. "$FL_ROOT/tests/lib.sh"
S=$T_TMP/store
start_bg "$FL_BIN" serve --store "$S" --demo --http 127.0.0.1:0 --listen 127.0.0.1:0 \
  --log-level warn >"$T_TMP/serve.out" 2>&1
SP=$BG_PID
for _ in $(seq 600); do grep -q 'listening on' "$T_TMP/serve.out" && break; sleep 0.1; done
hport=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T_TMP/serve.out")
cport=$(sed -n 's|.*collecting on 127\.0\.0\.1:0 (port \([0-9]*\)).*|\1|p' "$T_TMP/serve.out")
[ -n "$hport" ] && [ -n "$cport" ] && pass serve_started || fail serve_started "$(cat "$T_TMP/serve.out")"
api() { curl -s --max-time 30 "http://127.0.0.1:$hport/api/v1/$1"; }
api exporters >"$T_TMP/ex1.json"
python3 - "$T_TMP/ex1.json" <<'PY' && pass demo_history_in_store || fail demo_history_in_store "$(head -c 300 "$T_TMP/ex1.json")"
import json, sys
ex = json.load(open(sys.argv[1]))["exporters"]
names = sorted(e["name"] for e in ex)
assert names == ["demo-router-1", "demo-router-2", "demo-router-3", "demo-router-4"], names
assert sum(e["flows"] for e in ex) >= 1500000
PY
# real exports: sFlow agents 10.255.0.1-2 are exporters the demo does not use
"$FL_BIN" gen --to "127.0.0.1:$cport" --proto sflow --count 3000 --exporters 2 --rate 20000 \
  2>"$T_TMP/gen.log"
ok=0
for _ in $(seq 100); do
  api exporters >"$T_TMP/ex2.json"
  if python3 - "$T_TMP/ex2.json" <<'PY'
import json, sys
ex = json.load(open(sys.argv[1]))["exporters"]
agents = [e for e in ex if e["address"].startswith("10.255.0.")]
sys.exit(0 if len(agents) == 2 and sum(e["flows"] for e in agents) == 3000 else 1)
PY
  then ok=1; break; fi
  sleep 0.3
done
[ $ok = 1 ] && pass collected_flows_queryable || fail collected_flows_queryable "$(head -c 600 "$T_TMP/ex2.json")"
# live demo traffic keeps arriving
f1=$(python3 -c 'import json,sys; print(sum(e["flows"] for e in json.load(open(sys.argv[1]))["exporters"] if e["name"].startswith("demo")))' "$T_TMP/ex2.json")
sleep 3
api exporters >"$T_TMP/ex3.json"
f2=$(python3 -c 'import json,sys; print(sum(e["flows"] for e in json.load(open(sys.argv[1]))["exporters"] if e["name"].startswith("demo")))' "$T_TMP/ex3.json")
[ "$f2" -gt "$f1" ] && pass live_demo_traffic || fail live_demo_traffic "$f1 -> $f2"
# progress of a long query over the store: the estimate is the rows of
# the segments the window touches, known while it runs: most of the demo
# day's 1.5 M flows (the last minutes may still sit in open store slots,
# which the catalog does not count yet); the query is an -A over four keys, seconds under the sanitizers
curl -s --max-time 120 -X POST -d '{"op":"aggregate","aggregate":"srcip,dstip,srcport,dstport","window":"all","id":"prog-1"}' \
  "http://127.0.0.1:$hport/api/v1/query" >"$T_TMP/prog-q.json" &
QP=$!
est=""
for _ in $(seq 200); do
  est=$(api 'progress?id=prog-1' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["estimate"] if d.get("running") else "")' 2>/dev/null)
  # 0 until the backend has opened its scan
  [ -n "$est" ] && [ "$est" != 0 ] && break
  kill -0 "$QP" 2>/dev/null || break
  sleep 0.02
done
wait "$QP"
[ -n "$est" ] && [ "$est" -ge 1000000 ] && [ "$est" -le 1600000 ] && pass progress_estimate_from_store || fail progress_estimate_from_store "estimate '${est}'"
kill -TERM "$SP"; wait "$SP"; rc=$?
[ $rc = 0 ] && pass clean_stop || fail clean_stop "exit $rc: $(tail -5 "$T_TMP/serve.out")"
expect_rc store_verifies 0 "$FL_BIN" verify --store "$S"
expect_rc query_after_stop 0 "$FL_BIN" query --store "$S" -s proto -o csv -q 'src net 10.255.0.0/16 or dst net 10.0.0.0/8'
expect_rc sflow_exporters_kept 0 "$FL_BIN" exporters --store "$S"
expect_out sflow_exporters_listed "10\.255\.0\.2"
