# tests/collect/test_live.sh — real exporters on loopback into `flowlens
# collect`, compared with nfcapd fed the same stream and with the traffic
# the exporters saw.
#
#   softflowd -r TRAFFIC (v5, v9, IPFIX) -> nfcapd -R (repeats) -> flowlens
#   softflowd IPFIX over TCP -> flowlens tcp:// listener
#   softflowd v9 -> flowlens on [::1], two receiver threads
#   pmacctd nfprobe (IPFIX) -> nfcapd -R -> flowlens; sfprobe -> flowlens,
#     checked against tshark's count of what pmacctd sent on lo
#   nfreplay of the nfcapd file -> flowlens, checked against nfdump
#   restart: templates saved at exit decode the data sent after a restart
. "$FL_ROOT/tests/lib.sh"

TRAFFIC=$T_TMP/traffic.pcap
python3 "$FL_ROOT/tests/collect/mkpcap.py" "$TRAFFIC" 200 7 >"$T_TMP/traffic.json"
read -r WANT_FLOWS WANT_PKTS WANT_BYTES V4_FLOWS V4_PKTS V4_BYTES < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["flows"], d["packets"], d["ip_bytes"], d["v4_flows"], d["v4_packets"], d["v4_bytes"])' "$T_TMP/traffic.json")

# run an exporter with SIGINT restored (softflowd stops itself with it at
# the end of a capture; background shells start commands with it ignored),
# bounded in time
# (softflowd 1.1.0 hangs when its -r/-p/-c paths name a directory with a dot:
# it runs in $T_TMP on bare file names)
exporter() { (cd "$T_TMP" && timeout -s KILL 30 python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"); }

# sums of flowlens ndjson: "flows packets bytes"
fl_sum() { python3 -c '
import json, sys
f = p = b = 0
for l in open(sys.argv[1]):
    o = json.loads(l)
    if "type" in o: continue
    f += 1; p += o.get("packets", 0); b += o.get("bytes", 0)
print(f, p, b)' "$1"; }
nf_sum() { nfdump -R "$1" -q -N -o 'fmt:%pkt %byt' 2>/dev/null | awk '{f++; p+=$1; b+=$2} END {print f+0, p+0, b+0}'; }

# start_collect NAME ARGS... : flowlens collect in the background, output in
# $T_TMP/NAME.out/.err; waits until it listens (bounded)
start_collect() {
  local name=$1; shift
  start_bg "$FL_BIN" collect --print ndjson --duration 60 "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
  COLLECT_PID=$BG_PID
  for _ in $(seq 50); do grep -q "listening on" "$T_TMP/$name.err" && return 0; sleep 0.1; done
  return 1
}
# stop_wait PID : SIGTERM then wait (bounded)
stop_wait() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null
}
# wait_flows FILE N : until FILE has N flow lines (bounded, 10 s)
wait_flows() {
  for _ in $(seq 100); do [ "$(grep -vc '"type"' "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  return 1
}

# ---- softflowd v5 / v9 / IPFIX through nfcapd's repeater ---------------------
for v in 5 9 10; do
  P1=$(free_port); P2=$(free_port)
  mkdir -p "$T_TMP/nfcapd$v"
  start_collect sf$v --listen 127.0.0.1:$P1
  start_bg nfcapd -w "$T_TMP/nfcapd$v" -p "$P2" -b 127.0.0.1 -R 127.0.0.1/$P1
  NF_PID=$BG_PID
  sleep 0.5
  exporter softflowd -r traffic.pcap -v $v -n 127.0.0.1:$P2 -d -p sf.pid -c sf.ctl >"$T_TMP/softflowd$v.log" 2>&1
  want="$WANT_FLOWS $WANT_PKTS $WANT_BYTES"
  [ $v = 5 ] && want="$V4_FLOWS $V4_PKTS $V4_BYTES" # v5 carries no IPv6
  wait_flows "$T_TMP/sf$v.out" "${want%% *}"
  sleep 0.3
  stop_wait "$NF_PID"
  stop_wait "$COLLECT_PID"
  got=$(fl_sum "$T_TMP/sf$v.out"); nf=$(nf_sum "$T_TMP/nfcapd$v")
  [ "$got" = "$want" ] && pass "softflowd_v${v}_equals_traffic" \
    || fail "softflowd_v${v}_equals_traffic" "flowlens '$got', traffic '$want'"
  [ "$got" = "$nf" ] && pass "softflowd_v${v}_equals_nfcapd" || fail "softflowd_v${v}_equals_nfcapd" "flowlens '$got', nfcapd '$nf'"
  grep -q '"seq_lost":0,' "$T_TMP/sf$v.err" && grep -q '"missing_template_sets":0,' "$T_TMP/sf$v.err" \
    && pass "softflowd_v${v}_no_loss_reported" || fail "softflowd_v${v}_no_loss_reported" "$(grep exporter "$T_TMP/sf$v.err")"
done

# ---- IPFIX over TCP ------------------------------------------------------------
P1=$(free_port)
start_collect tcp --listen tcp://127.0.0.1:$P1
exporter softflowd -r traffic.pcap -v 10 -P tcp -n 127.0.0.1:$P1 -d -p sf.pid -c sf.ctl >"$T_TMP/softflowd_tcp.log" 2>&1
wait_flows "$T_TMP/tcp.out" "$WANT_FLOWS"
stop_wait "$COLLECT_PID"
got=$(fl_sum "$T_TMP/tcp.out")
[ "$got" = "$WANT_FLOWS $WANT_PKTS $WANT_BYTES" ] && pass ipfix_over_tcp || fail ipfix_over_tcp "flowlens '$got' $(tail -3 "$T_TMP/softflowd_tcp.log")"
grep -q '"tcp_connections":1' "$T_TMP/tcp.err" && pass ipfix_over_tcp_connection_counted || fail ipfix_over_tcp_connection_counted "$(grep listener "$T_TMP/tcp.err")"

# ---- IPv6 listener, two receiver threads, two ports ------------------------------
P1=$(free_port); P2=$(free_port)
start_collect v6 --listen "[::1]:$P1" --listen 127.0.0.1:$P2 --threads 2
exporter softflowd -r traffic.pcap -v 9 -n "[::1]:$P1" -d -p sf.pid -c sf.ctl >"$T_TMP/softflowd_v6.log" 2>&1
wait_flows "$T_TMP/v6.out" "$WANT_FLOWS"
stop_wait "$COLLECT_PID"
got=$(fl_sum "$T_TMP/v6.out")
[ "$got" = "$WANT_FLOWS $WANT_PKTS $WANT_BYTES" ] && pass ipv6_listener || fail ipv6_listener "flowlens '$got'"
grep -q '"addr":"::1"' "$T_TMP/v6.err" && pass ipv6_exporter_address || fail ipv6_exporter_address "$(grep exporter "$T_TMP/v6.err")"

# ---- pmacctd nfprobe (IPFIX) via nfcapd, sfprobe (sFlow) checked with tshark -----
P1=$(free_port); P2=$(free_port); P3=$(free_port)
mkdir -p "$T_TMP/nfcapd_pm"
start_collect pm --listen 127.0.0.1:$P1 --listen 127.0.0.1:$P3
start_bg nfcapd -w "$T_TMP/nfcapd_pm" -p "$P2" -b 127.0.0.1 -R 127.0.0.1/$P1
NF_PID=$BG_PID
start_bg tshark -i lo -f "udp dst port $P3" -a duration:12 -w "$T_TMP/sfprobe.pcap" -q
TS_PID=$BG_PID
sleep 1.5
cat >"$T_TMP/pm.conf" <<EOF
daemonize: false
pcap_savefile: $TRAFFIC
plugins: nfprobe[a], sfprobe[b]
nfprobe_receiver[a]: 127.0.0.1:$P2
nfprobe_version[a]: 10
sfprobe_receiver[b]: 127.0.0.1:$P3
sfprobe_sampling_rate[b]: 1
EOF
exporter pmacctd -f "$T_TMP/pm.conf" >"$T_TMP/pmacctd.log" 2>&1
sleep 1
stop_wait "$NF_PID"
stop_wait "$COLLECT_PID"
stop_wait "$TS_PID"
python3 - "$T_TMP/pm.out" >"$T_TMP/pm.sums" <<'EOF'
import json, sys
s = {}
for l in open(sys.argv[1]):
    o = json.loads(l)
    if "type" in o: continue
    k = "sflow" if o.get("flow_flags", 0) & 2 else "ipfix"
    f, p, b = s.get(k, (0, 0, 0))
    s[k] = (f + 1, p + o.get("packets", 0), b + o.get("bytes", 0))
print(*s.get("ipfix", (0, 0, 0)), *s.get("sflow", (0, 0, 0)))
EOF
read -r PF PP PB SF SP SB <"$T_TMP/pm.sums"
nf=$(nf_sum "$T_TMP/nfcapd_pm")
[ "$PF $PP $PB" = "$nf" ] && [ "$PF" -gt 0 ] && pass pmacct_nfprobe_equals_nfcapd || fail pmacct_nfprobe_equals_nfcapd "flowlens '$PF $PP $PB' nfcapd '$nf'"
[ "$PP" = "$WANT_PKTS" ] && pass pmacct_nfprobe_all_packets || fail pmacct_nfprobe_all_packets "flowlens $PP packets, traffic $WANT_PKTS"
TS_SAMPLES=$(tshark -r "$T_TMP/sfprobe.pcap" -d udp.port==$P3,sflow -T fields -e sflow_245.sampletype 2>/dev/null | tr ',' '\n' | grep -cx 1)
[ "$SF" = "$TS_SAMPLES" ] && [ "$SF" -gt 0 ] && pass pmacct_sfprobe_equals_sent || fail pmacct_sfprobe_equals_sent "flowlens $SF flow samples, tshark saw $TS_SAMPLES sent"

# ---- nfreplay of the nfcapd file --------------------------------------------------
P1=$(free_port)
start_collect replay --listen 127.0.0.1:$P1
nf=$(nf_sum "$T_TMP/nfcapd9")
NFFILE=$(ls "$T_TMP"/nfcapd9/nfcapd.* | head -1)
exporter nfreplay -r "$NFFILE" -H 127.0.0.1 -p "$P1" -v 9 -d 100 >"$T_TMP/nfreplay.log" 2>&1
wait_flows "$T_TMP/replay.out" "${nf%% *}"
stop_wait "$COLLECT_PID"
got=$(fl_sum "$T_TMP/replay.out")
[ "$got" = "$nf" ] && [ "${nf%% *}" -gt 0 ] && pass nfreplay_equals_nfdump || fail nfreplay_equals_nfdump "flowlens '$got' nfdump '$nf'"

# ---- restart: templates persisted at exit --------------------------------------
P1=$(free_port)
TPL=$T_TMP/templates.bin
CAP=$FLOWLENS_CAPTURES/netflow9/nf9_cisco_asr9k_tpl260.pcap
send_part() { python3 -c '
import sys; sys.path.insert(0, sys.argv[1])
import pcaputil
g, fr = pcaputil.read(sys.argv[2])
pay = [p for _, _, p, _ in fr if p]
pcaputil.send(pay[int(sys.argv[3]):int(sys.argv[4])], "127.0.0.1", int(sys.argv[5]))' "$FL_ROOT/tests/collect" "$CAP" "$@" "$P1"; }
start_collect restart1 --listen 127.0.0.1:$P1 --templates "$TPL"
send_part 0 1   # the template datagram only
sleep 0.5
stop_wait "$COLLECT_PID"
[ -s "$TPL" ] && pass restart_template_file_written || fail restart_template_file_written "no $TPL"
start_collect restart2 --listen 127.0.0.1:$P1 --templates "$TPL"
send_part 1 2   # the data datagram only
wait_flows "$T_TMP/restart2.out" 21
stop_wait "$COLLECT_PID"
[ "$(grep -vc '"type"' "$T_TMP/restart2.out")" = 21 ] && grep -q '"missing_template_sets":0,' "$T_TMP/restart2.err" \
  && pass restart_data_decodes_at_once || fail restart_data_decodes_at_once "$(grep -vc type "$T_TMP/restart2.out") flows; $(grep exporter "$T_TMP/restart2.err")"
# without the file the same data is dropped as template-less
start_collect restart3 --listen 127.0.0.1:$P1
send_part 1 2
sleep 0.5
stop_wait "$COLLECT_PID"
grep -q '"missing_template_sets":1,' "$T_TMP/restart3.err" && pass restart_control_without_file || fail restart_control_without_file "$(grep exporter "$T_TMP/restart3.err")"

# ---- --allow: exporters outside the allowed networks are rejected -------------
start_collect allow --listen 127.0.0.1:$P1 --allow 10.0.0.0/8 --allow 2001:db8::/32
send_part 0 2
sleep 0.5
stop_wait "$COLLECT_PID"
[ "$(grep -vc '"type"' "$T_TMP/allow.out")" = 0 ] && ! grep -q '"type":"exporter"' "$T_TMP/allow.err" \
  && grep -q 'not in the allowed networks' "$T_TMP/allow.err" && pass allow_rejects_others \
  || fail allow_rejects_others "$(tail -3 "$T_TMP/allow.err")"
start_collect allow2 --listen 127.0.0.1:$P1 --allow 127.0.0.0/8
send_part 0 2
wait_flows "$T_TMP/allow2.out" 21
stop_wait "$COLLECT_PID"
[ "$(grep -vc '"type"' "$T_TMP/allow2.out")" = 21 ] && pass allow_accepts_listed || fail allow_accepts_listed "$(tail -3 "$T_TMP/allow2.err")"
expect_rc allow_bad_prefix 2 "$FL_BIN" collect --print none --allow 10.0.0.0/33

# ---- a busy listener never crashes on garbage ------------------------------------
P1=$(free_port)
start_collect garbage --listen 127.0.0.1:$P1
python3 -c '
import random, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r = random.Random(5)
for i in range(2000):
    n = r.randint(0, 1500)
    head = r.choice([b"\0\5", b"\0\x09", b"\0\x0a", b"\0\0\0\5", b""])
    s.sendto(head + bytes(r.getrandbits(8) for _ in range(n)), ("127.0.0.1", int(sys.argv[1])))
' "$P1"
sleep 0.5
kill -0 "$COLLECT_PID" 2>/dev/null && pass garbage_survived || fail garbage_survived "collector died"
stop_wait "$COLLECT_PID"
grep -q '"type":"listener","datagrams":2000' "$T_TMP/garbage.err" && pass garbage_all_received || fail garbage_all_received "$(grep listener "$T_TMP/garbage.err")"
# bad input is logged at most once per 10 s per exporter (plus once for
# datagrams of no exporter)
nexp=$(grep -c '"type":"exporter"' "$T_TMP/garbage.err")
nlog=$(grep -c ' warn: collect: ' "$T_TMP/garbage.err")
[ "$nlog" -le $((nexp + 1)) ] && [ "$nlog" -ge 1 ] && pass garbage_logs_rate_limited \
  || fail garbage_logs_rate_limited "$nlog warn lines for $nexp exporters"
