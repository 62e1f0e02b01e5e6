# tests/collect/test_stats.sh — the collector's statistics outside the
# process (STORE/collector-stats.jsonl, `flowlens exporters`), per-exporter
# configuration (names, allowlist, unknown-exporter policy, sampling
# default and override), interface/VRF names from options data, sFlow
# counters under STORE/ifcounters, and the kernel-drop counter.
. "$FL_ROOT/tests/lib.sh"
MK="$FL_ROOT/tests/collect/mkexport.py"

# start_store NAME ARGS... : flowlens collect --store $T_TMP/NAME in the
# background (stderr in $T_TMP/NAME.err); waits until it listens (bounded)
start_store() {
  local name=$1; shift
  start_bg "$FL_BIN" collect --store "$T_TMP/$name" --duration 60 "$@" 2>"$T_TMP/$name.err"
  COLLECT_PID=$BG_PID
  for _ in $(seq 100); do grep -q "listening on" "$T_TMP/$name.err" && return 0; sleep 0.1; done
  return 1
}
stop_wait() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null
}
# jq-like: py FILE EXPR — evaluate EXPR over the stats file's lines
# (L = list of dicts; S = server line; X = exporter lines; C = counters)
py() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
S = [o for o in L if o["type"] == "server"][0]
X = [o for o in L if o["type"] == "exporter"]
C = [o for o in L if o["type"] == "counters"]
def ex(addr, domain, proto=None):
    r = [o for o in X if o["addr"] == addr and o["domain"] == domain and (proto is None or o["proto"] == proto)]
    assert len(r) == 1, (addr, domain, r)
    return r[0]
print(eval(sys.argv[2]))
EOF
}
flows_in() { "$FL_BIN" query --store "$1" -o ndjson 2>/dev/null | grep -c '"src_addr"'; }

# ---- 1. stats while running and at shutdown; corrupt datagrams, gaps ----------
P=$(free_port)
start_store st1 --listen 127.0.0.1:$P --exporter-name 127.0.0.3/7=edge-7
F="$T_TMP/st1/collector-stats.jsonl"
[ -f "$F" ] && [ "$(py "$F" 'S["datagrams"]')" = 0 ] && pass stats_file_at_start \
  || fail stats_file_at_start "$(cat "$F" 2>&1 | head -c 300)"
python3 "$MK" v5seq 127.0.0.1 "$P" 127.0.0.2 >/dev/null
python3 "$MK" ipfix 127.0.0.1 "$P" 127.0.0.3 >/dev/null
# the running collector rewrites the file every 5 s (bounded wait)
for _ in $(seq 80); do
  [ "$(py "$F" 'S["datagrams"]' 2>/dev/null)" = 10 ] && break; sleep 0.1
done
[ "$(py "$F" 'S["datagrams"]')" = 10 ] && pass stats_rewritten_while_running \
  || fail stats_rewritten_while_running "$(head -c 400 "$F")"
kill -0 "$COLLECT_PID" 2>/dev/null && pass collector_still_running || fail collector_still_running
check exporters_while_running "$FL_BIN" exporters --store "$T_TMP/st1"
if grep -q "stats written" "$T_TMP/out" && ! grep -qE "not updated|stopped" "$T_TMP/out"; then
  pass exporters_sees_live_stats; else fail exporters_sees_live_stats "$(head -3 "$T_TMP/out")"; fi
stop_wait "$COLLECT_PID"
got=$(py "$F" '(ex("127.0.0.2",0)["seq_lost"], ex("127.0.0.2",0)["malformed"]["length"], ex("127.0.0.2",0)["flows"], ex("127.0.0.2",0)["datagrams"])')
[ "$got" = "(6, 1, 8, 5)" ] && pass v5_gap_and_bad_length_counted || fail v5_gap_and_bad_length_counted "$got"
got=$(py "$F" '(ex("127.0.0.3",7)["seq_lost"], ex("127.0.0.3",7)["flows"], ex("127.0.0.3",7)["templates"], ex("127.0.0.3",7)["option_records"])')
[ "$got" = "(0, 5, 3, 3)" ] && pass ipfix_clean_domain_counted || fail ipfix_clean_domain_counted "$got"
got=$(py "$F" '(ex("127.0.0.3",8)["missing_template_sets"], ex("127.0.0.3",9)["malformed"]["set"])')
[ "$got" = "(1, 1)" ] && pass missing_template_and_bad_set_counted || fail missing_template_and_bad_set_counted "$got"
got=$(py "$F" 'sorted(set(k for o in X for k in ("store_id","first_seen","last_seen","name","sampling_source") if k in o)) == ["first_seen","last_seen","name","sampling_source","store_id"] and all(o["last_seen"].endswith("Z") for o in X)')
[ "$got" = True ] && pass exporter_lines_extended || fail exporter_lines_extended "$(sed -n 2p "$F")"
got=$(py "$F" '(ex("127.0.0.3",7)["name"], ex("127.0.0.3",7)["sampling_source"], ex("127.0.0.2",0)["sampling_source"], ex("127.0.0.3",7)["sampling_rate"])')
[ "$got" = "('edge-7', 'unknown', 'v5 header', 0)" ] && pass name_and_sampling_source || fail name_and_sampling_source "$got"
# store_id is the id the flows carry: the v5 flows are stored under it
sid=$(py "$F" 'ex("127.0.0.2",0)["store_id"]')
n=$("$FL_BIN" query --store "$T_TMP/st1" -o ndjson 2>/dev/null | grep -c "\"exporter\":$sid,.*\"src_port\":100[01],")
[ "$n" = 8 ] && pass store_id_matches_flows || fail store_id_matches_flows "store id $sid: $n flows"
# unknown sampling stays flagged in the store
n=$("$FL_BIN" query --store "$T_TMP/st1" -o ndjson 2>/dev/null | grep '"dst_port":53' | grep -c '"flow_flags":[13]')
[ "$n" = 5 ] && pass unknown_sampling_flagged || fail unknown_sampling_flagged "$n"
check exporters_table "$FL_BIN" exporters --store "$T_TMP/st1"
grep -qE "^ +$sid +127\.0\.0\.2 .* 5 +6 +1 +0 +0 " "$T_TMP/out" && pass exporters_table_shows_stats \
  || fail exporters_table_shows_stats "$(cat "$T_TMP/out")"
grep -q "malformed: length 1" "$T_TMP/out" && grep -q "malformed: set 1" "$T_TMP/out" \
  && pass exporters_table_malformed_reasons || fail exporters_table_malformed_reasons "$(cat "$T_TMP/out")"
grep -qE "127\.0\.0\.3 +7  edge-7 " "$T_TMP/out" && pass exporters_table_name || fail exporters_table_name "$(cat "$T_TMP/out")"
grep -q "the collector stopped" "$T_TMP/out" && pass exporters_says_collector_stopped || fail exporters_says_collector_stopped "$(head -2 "$T_TMP/out")"
check exporters_json "$FL_BIN" exporters --store "$T_TMP/st1" -o json
python3 -c '
import json, sys
d = {(x["address"], x["domain"]): x for x in json.load(open(sys.argv[1]))}
v5 = d[("127.0.0.2", 0)]["collector"]; i8 = d[("127.0.0.3", 8)]["collector"]
assert v5["seq_lost"] == 6 and v5["malformed"]["length"] == 1 and v5["queue_drops"] == 0, v5
assert i8["missing_template_sets"] == 1 and d[("127.0.0.3", 7)]["name"] == "edge-7"
assert d[("127.0.0.3", 7)]["collector"]["templates"] == 3 and v5["last_seen"].endswith("Z")
' "$T_TMP/out" && pass exporters_json_stats || fail exporters_json_stats "$(head -c 600 "$T_TMP/out")"

# ---- 2. interface and VRF names from options data ------------------------------
check exporters_interfaces "$FL_BIN" exporters --store "$T_TMP/st1" --interfaces
grep -qE "127\.0\.0\.3 +7  if +1  xe-0/0/1$" "$T_TMP/out" && grep -qE "127\.0\.0\.3 +7  if +2  xe-0/0/2$" "$T_TMP/out" \
  && grep -qE "127\.0\.0\.3 +7  vrf +5  CUSTOMER-A$" "$T_TMP/out" && pass interface_and_vrf_names \
  || fail interface_and_vrf_names "$(cat "$T_TMP/out")"
check exporters_interfaces_json "$FL_BIN" exporters --store "$T_TMP/st1" --interfaces -o json
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert {(x["kind"], x["index"], x["name"]) for x in d} == {("if", 1, "xe-0/0/1"), ("if", 2, "xe-0/0/2"), ("vrf", 5, "CUSTOMER-A")}, d
' "$T_TMP/out" && pass interface_names_json || fail interface_names_json "$(cat "$T_TMP/out")"
grep -q "^v	" "$T_TMP/st1/exporters" && pass vrf_names_persisted || fail vrf_names_persisted "$(cat "$T_TMP/st1/exporters")"

# ---- 3. no stats file ------------------------------------------------------------
mkdir -p "$T_TMP/nostats"
cp "$T_TMP/st1/exporters" "$T_TMP/nostats/" 2>/dev/null
rm -f "$T_TMP/st1/collector-stats.jsonl"
check exporters_without_stats "$FL_BIN" exporters --store "$T_TMP/st1"
expect_out exporters_says_no_stats "no statistics .*collector-stats.jsonl does not exist"

# ---- 4. allowlist, unknown exporters, names, sampling ----------------------------
P=$(free_port)
start_store st2 --listen 127.0.0.1:$P --allow 127.0.0.2/32 --exporter-name 127.0.0.4=named-four \
  --exporter-sampling-override 127.0.0.2=10 --exporter-sampling 127.0.0.4/7=100
python3 "$MK" v5seq 127.0.0.1 "$P" 127.0.0.2 >/dev/null  # allowed by --allow: 8 flows
python3 "$MK" v5seq 127.0.0.1 "$P" 127.0.0.5 >/dev/null  # rejected: 5 datagrams
python3 "$MK" ipfix 127.0.0.1 "$P" 127.0.0.4 >/dev/null  # known by its name: 5 flows
sleep 0.5
stop_wait "$COLLECT_PID"
F="$T_TMP/st2/collector-stats.jsonl"
[ "$(py "$F" 'S["rejected"]')" = 5 ] && pass rejected_counted || fail rejected_counted "$(head -1 "$F")"
grep -q 'rejected: exporter 127.0.0.5' "$T_TMP/st2.err" && pass rejected_logged || fail rejected_logged "$(tail -3 "$T_TMP/st2.err")"
! grep -q "127.0.0.5" "$T_TMP/st2/exporters" && [ "$(py "$F" 'len([o for o in X if o["addr"] == "127.0.0.5"])')" = 0 ] \
  && pass rejected_exporter_stores_nothing || fail rejected_exporter_stores_nothing "$(cat "$T_TMP/st2/exporters")"
[ "$(flows_in "$T_TMP/st2")" = 13 ] && pass allowed_and_named_stored || fail allowed_and_named_stored "$(flows_in "$T_TMP/st2")"
n=$("$FL_BIN" query --store "$T_TMP/st2" -o ndjson 2>/dev/null | grep '"dst_port":80' | grep -c '"sampling_rate":10[,}]')
[ "$n" = 8 ] && pass override_changes_stored_sampling || fail override_changes_stored_sampling "$n of 8"
n=$("$FL_BIN" query --store "$T_TMP/st2" -o ndjson 2>/dev/null | grep '"dst_port":53' | grep -c '"sampling_rate":100[,}]')
[ "$n" = 5 ] && pass default_fills_unstated_sampling || fail default_fills_unstated_sampling "$n of 5"
got=$(py "$F" '(ex("127.0.0.2",0)["sampling_source"], ex("127.0.0.2",0)["sampling_rate"], ex("127.0.0.4",7)["sampling_source"], ex("127.0.0.4",7)["sampling_rate"], ex("127.0.0.4",8)["name"])')
[ "$got" = "('config', 10, 'config', 100, 'named-four')" ] && pass sampling_source_config || fail sampling_source_config "$got"
check exporters_st2 "$FL_BIN" exporters --store "$T_TMP/st2"
grep -qE "127\.0\.0\.4 +7  named-four +100 +5 " "$T_TMP/out" && grep -qE "127\.0\.0\.2 +0  - +10 +8 " "$T_TMP/out" \
  && pass name_and_rate_in_exporters || fail name_and_rate_in_exporters "$(cat "$T_TMP/out")"
# restart with a policy that now rejects the first exporter of the template
# file: the others' templates still load (data decodes at once)
P=$(free_port)
start_store st2 --listen 127.0.0.1:$P --unknown-exporters reject --exporter-name 127.0.0.4=named-four
python3 "$MK" ipfixdata 127.0.0.1 "$P" 127.0.0.4 >/dev/null
sleep 0.5
stop_wait "$COLLECT_PID"
[ "$(flows_in "$T_TMP/st2")" = 18 ] && ! grep -q "template file ignored" "$T_TMP/st2.err" \
  && pass templates_load_past_rejected_exporter || fail templates_load_past_rejected_exporter "$(flows_in "$T_TMP/st2") flows; $(grep -i template "$T_TMP/st2.err" | head -3)"
# unknown-exporters=reject with no --allow: only configured exporters pass
P=$(free_port)
start_store st3 --listen 127.0.0.1:$P --unknown-exporters reject --exporter-name 127.0.0.2/0=only
python3 "$MK" v5seq 127.0.0.1 "$P" 127.0.0.2 >/dev/null
python3 "$MK" ipfix 127.0.0.1 "$P" 127.0.0.3 >/dev/null
sleep 0.5
stop_wait "$COLLECT_PID"
[ "$(flows_in "$T_TMP/st3")" = 8 ] && [ "$(py "$T_TMP/st3/collector-stats.jsonl" 'S["rejected"]')" = 5 ] \
  && pass unknown_exporters_reject || fail unknown_exporters_reject "$(flows_in "$T_TMP/st3") flows; $(head -1 "$T_TMP/st3/collector-stats.jsonl")"
# the same settings from a configuration file
cat >"$T_TMP/c.conf" <<EOF
[collect]
unknown-exporters = reject
exporter-name = 127.0.0.3/7 = from-config
exporter-sampling-override = 127.0.0.3 = 7
EOF
P=$(free_port)
start_store st4 --listen 127.0.0.1:$P --config "$T_TMP/c.conf"
python3 "$MK" ipfix 127.0.0.1 "$P" 127.0.0.3 >/dev/null
python3 "$MK" v5seq 127.0.0.1 "$P" 127.0.0.2 >/dev/null
sleep 0.5
stop_wait "$COLLECT_PID"
n=$("$FL_BIN" query --store "$T_TMP/st4" -o ndjson 2>/dev/null | grep -c '"sampling_rate":7[,}]')
[ "$n" = 5 ] && grep -q "from-config" "$T_TMP/st4/exporters" && pass config_file_keys || fail config_file_keys "$n; $(cat "$T_TMP/st4/exporters")"
expect_rc bad_exporter_name 2 "$FL_BIN" collect --print none --exporter-name 10.0.0.1
expect_out bad_exporter_name_says "ADDR\[/DOMAIN\]=VALUE"
expect_rc bad_exporter_rate 2 "$FL_BIN" collect --print none --exporter-sampling 10.0.0.1/x=5
expect_rc bad_unknown_policy 2 "$FL_BIN" collect --print none --unknown-exporters maybe

# ---- 5. sFlow counters: latest in the stats file, all under ifcounters/ ---------
P=$(free_port)
start_store st5 --listen 127.0.0.1:$P
"$FL_BIN" gen --to "127.0.0.1:$P" --proto sflow --count 3000 --exporters 2 --rate 30000 2>/dev/null
sleep 0.5
stop_wait "$COLLECT_PID"
F="$T_TMP/st5/collector-stats.jsonl"
nc=$(py "$F" 'len(C)'); ns=$(py "$F" 'sum(o["counter_samples"] for o in X)')
rows=$(tail -n +2 "$T_TMP"/st5/ifcounters/*.csv | wc -l)
[ "$nc" -gt 0 ] && [ "$(py "$F" 'all(o["store_id"] > 0 and o["in_octets"] > 0 for o in C)')" = True ] \
  && pass latest_counters_in_stats || fail latest_counters_in_stats "$nc lines"
[ "$rows" -ge "$nc" ] && [ "$rows" -gt 0 ] && pass counters_appended_under_store || fail counters_appended_under_store "$rows rows, $nc latest, $ns samples"
check exporters_counters "$FL_BIN" exporters --store "$T_TMP/st5" --counters
[ "$(grep -cE '^20[0-9-]+T' "$T_TMP/out")" = "$rows" ] && pass exporters_lists_counters || fail exporters_lists_counters "$(head -3 "$T_TMP/out") ($rows rows)"
check exporters_counters_json "$FL_BIN" exporters --store "$T_TMP/st5" --counters -o json
python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); assert len(d) == int(sys.argv[2]) and all(x["id"] > 0 and int(x["in_octets"]) >= 0 for x in d)
' "$T_TMP/out" "$rows" && pass counters_json || fail counters_json "$(head -c 300 "$T_TMP/out")"
check exporters_counters_old_window "$FL_BIN" exporters --store "$T_TMP/st5" --counters -t 2020-01-01..2020-01-02
expect_out counters_window_filters "no interface counter samples"

# ---- 6. serve writes the same file ------------------------------------------------
P=$(free_port); H=$(free_port)
start_bg "$FL_BIN" serve --store "$T_TMP/sv" --listen 127.0.0.1:$P --http 127.0.0.1:$H --exporter-name 127.0.0.2=via-serve >"$T_TMP/sv.out" 2>&1
SPID=$BG_PID
for _ in $(seq 100); do grep -q "listening on" "$T_TMP/sv.out" && break; sleep 0.1; done
python3 "$MK" v5seq 127.0.0.1 "$P" 127.0.0.2 >/dev/null
sleep 0.5
stop_wait "$SPID"
F="$T_TMP/sv/collector-stats.jsonl"
[ "$(py "$F" '(S["datagrams"], ex("127.0.0.2",0)["seq_lost"], ex("127.0.0.2",0)["name"])' 2>&1)" = "(5, 6, 'via-serve')" ] \
  && pass serve_writes_stats || fail serve_writes_stats "$(head -c 400 "$F" 2>&1) $(tail -3 "$T_TMP/sv.out")"

# ---- 7. kernel drops (SO_RXQ_OVFL): tiny buffer, receiver paused -------------------
P=$(free_port)
start_store st7 --listen 127.0.0.1:$P --rcvbuf 4096 --test-pause-ms 1500
python3 "$MK" burst 127.0.0.1 "$P" 127.0.0.2 400 >/dev/null
sleep 2
# datagrams after the pause carry the drop count the kernel kept meanwhile
for _ in 1 2 3; do python3 "$MK" burst 127.0.0.1 "$P" 127.0.0.9 1 >/dev/null; sleep 0.2; done
sleep 0.5
stop_wait "$COLLECT_PID"
F="$T_TMP/st7/collector-stats.jsonl"
kd=$(py "$F" 'S["kernel_drops"]'); dg=$(py "$F" 'S["datagrams"]')
stored=$(flows_in "$T_TMP/st7")
[ "$kd" -gt 0 ] && pass kernel_drops_counted || fail kernel_drops_counted "kernel_drops $kd, datagrams $dg"
[ $((dg + kd)) = 403 ] && [ "$stored" = $((dg * 30)) ] && pass received_plus_dropped_is_sent \
  || fail received_plus_dropped_is_sent "received $dg + dropped $kd != 403 sent, or stored $stored != $((dg * 30))"
