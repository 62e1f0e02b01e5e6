# tests/cli/test_exporters.sh — `flowlens exporters` lists each exporter of
# a store with the flows it sent (4 simulated exporters through nfcapd).
. "$FL_ROOT/tests/lib.sh"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$T_TMP/nf"
start_bg nfcapd -b 127.0.0.1 -p "$port" -w "$T_TMP/nf" -t 3600 >"$T_TMP/nfcapd.log" 2>&1
for _ in $(seq 50); do grep -q Startup "$T_TMP/nfcapd.log" && break; sleep 0.1; done
"$FL_BIN" gen --to "127.0.0.1:$port" --proto ipfix --count 2000 --exporters 4 --rate 20000 2>/dev/null
sleep 1
kill -TERM "$BG_PID"; wait "$BG_PID" 2>/dev/null
check import "$FL_BIN" import "$T_TMP/nf" --into "$T_TMP/store"
expect_rc exporters_runs 0 "$FL_BIN" exporters --store "$T_TMP/store"
rows=$(grep -cE '^ +[0-9]+ +127\.0\.0\.1 ' "$T_TMP/out")
[ "$rows" -eq 4 ] && pass four_exporters || fail four_exporters "$(cat "$T_TMP/out")"
sum=$(awk '/^ +[0-9]+ +127\.0\.0\.1 / {s+=$6} END {print s}' "$T_TMP/out")
[ "$sum" = 2000 ] && pass flows_add_up || fail flows_add_up "sum $sum: $(cat "$T_TMP/out")"
# imported, never collected: the listing says there are no collector statistics
expect_out says_no_collector_stats "no statistics .*collector-stats.jsonl does not exist"
expect_rc exporters_json 0 "$FL_BIN" exporters --store "$T_TMP/store" -o json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==4 and sum(x["flows"] for x in d)==2000 and all(x["collector"] is None for x in d)' "$T_TMP/out" \
  && pass json_parses || fail json_parses "$(head -c 300 "$T_TMP/out")"
expect_rc no_store_exit_1 1 "$FL_BIN" exporters --store "$T_TMP/none"
expect_out no_store_message "none: no store here"
expect_rc bad_output_exit_2 2 "$FL_BIN" exporters --store "$T_TMP/store" -o xml
