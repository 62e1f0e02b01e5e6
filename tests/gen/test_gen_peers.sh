# tests/gen/test_gen_peers.sh — `flowlens gen` against real peers.
#
# NetFlow v5, v9 and IPFIX go to Debian's nfcapd on a free loopback port;
# what nfdump then reads from its file must equal the flows gen sent
# (--dump), flow by flow (nfcompare.py). Sampled runs must come out scaled
# by nfcapd, which proves the v5 header / v9 and IPFIX sampling options
# were understood. sFlow has no peer collector in Debian's nfdump (no
# sfcapd), so tshark captures it on lo and decodes every sample
# (sfcompare.py), and pmacct's sfacctd collects it (sfacctcompare.py);
# pmacct's nfacctd is a second collector for v9 and IPFIX (nfacctcompare.py).
# Then the bad-usage paths and config keys.
. "$FL_ROOT/tests/lib.sh"
HERE="$FL_ROOT/tests/gen"
START=2024-05-01T12:00:00Z

udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for FILE PATTERN: up to 10 s for a daemon's log line
wait_for() {
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# stop PID: SIGTERM (nfcapd flushes its file, tshark closes the capture), wait
stop() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null
}

# nfcapd_run NAME PROTO BIND_ADDR TO COUNT SAMPLING [extra gen args]
nfcapd_run() {
  local name=$1 proto=$2 bind=$3 to=$4 count=$5 samp=$6; shift 6
  local d="$T_TMP/$name" port
  mkdir -p "$d"
  port=$(udp_port)
  start_bg nfcapd -b "$bind" -p "$port" -w "$d" -t 3600 -B 4000000 >"$d/nfcapd.log" 2>&1
  local np=$BG_PID
  wait_for "$d/nfcapd.log" "Startup" || fail "${name}_nfcapd_starts" "$(cat "$d/nfcapd.log")"
  "$FL_BIN" gen --to "${to/PORT/$port}" --proto "$proto" --count "$count" --rate 20000 \
    --seed 7 --start $START --window 20m --sampling "$samp" --dump "$d/dump.csv" "$@" \
    2>"$d/gen.log"
  local rc=$?
  sleep 0.3
  stop "$np"
  [ "$rc" -eq 0 ] && pass "${name}_gen_exit_0" || fail "${name}_gen_exit_0" "$(cat "$d/gen.log")"
  grep -qE "^flowlens gen: $proto to .*: [0-9]+ flows .* datagrams, [0-9]+ bytes, [0-9.]+ s, [0-9]+ flows/s" \
    "$d/gen.log" && pass "${name}_summary" || fail "${name}_summary" "$(cat "$d/gen.log")"
  nfdump -r "$d"/nfcapd.2* -o json >"$d/nf.json" 2>"$d/nf.err" ||
    fail "${name}_nfdump_reads" "$(head -c 300 "$d/nf.err")"
  python3 "$HERE/nfcompare.py" "$proto" "$d/dump.csv" "$d/nf.json" "$samp" |
    sed "s/^\(PASS\|FAIL\) $proto/\1 $name/"
}

nfcapd_run v5 v5 127.0.0.1 127.0.0.1:PORT 3000 1
nfcapd_run v9 v9 127.0.0.1 127.0.0.1:PORT 3000 1
nfcapd_run ipfix ipfix 127.0.0.1 127.0.0.1:PORT 3000 1
nfcapd_run v5_sampled v5 127.0.0.1 127.0.0.1:PORT 600 100
nfcapd_run v9_sampled v9 127.0.0.1 127.0.0.1:PORT 600 100
nfcapd_run ipfix_sampled ipfix 127.0.0.1 127.0.0.1:PORT 600 100
nfcapd_run v9_ipv6_dest v9 ::1 '[::1]:PORT' 300 1 --exporters 2

# a collector that starts late learns the templates from the next refresh
# (every 20th datagram of an exporter): gen runs first, nfcapd joins later
for p in v9 ipfix; do
  d="$T_TMP/late_$p"; mkdir -p "$d"
  port=$(udp_port)
  "$FL_BIN" gen --to 127.0.0.1:$port --proto $p --count 600 --rate 300 --seed 9 \
    --start $START --dump "$d/dump.csv" 2>"$d/gen.log" &
  gp=$!
  sleep 0.5
  start_bg nfcapd -b 127.0.0.1 -p "$port" -w "$d" -t 3600 >"$d/nfcapd.log" 2>&1
  np=$BG_PID
  wait "$gp"; rc=$?
  sleep 0.3
  stop "$np"
  [ "$rc" -eq 0 ] && pass "late_${p}_gen_exit_0" || fail "late_${p}_gen_exit_0" "$(cat "$d/gen.log")"
  nfdump -r "$d"/nfcapd.2* -o json >"$d/nf.json" 2>/dev/null || echo '[]' >"$d/nf.json"
  python3 "$HERE/nfcompare.py" "$p" "$d/dump.csv" "$d/nf.json" 1 subset
done

# nfcapd checks v5 flow and v9 packet sequence numbers per exporter (IPFIX
# is left out: gen counts options data records too, as RFC 7011 says, and
# nfcapd 1.7.1 counts only flow records)
for p in v5 v9 v5_sampled v9_sampled; do
  grep -q "Sequence Errors: 0," "$T_TMP/$p/nfcapd.log" && pass "${p}_no_sequence_errors" ||
    fail "${p}_no_sequence_errors" "$(grep -i sequence "$T_TMP/$p/nfcapd.log")"
done
# every exporter id became its own exporter for nfcapd (4 by default)
[ "$(python3 -c 'import json,sys; print(len({f["export_sysid"] for f in json.load(open(sys.argv[1]))}))' "$T_TMP/v9/nf.json")" = 4 ] &&
  pass v9_four_exporters || fail v9_four_exporters "see $T_TMP/v9/nf.json"

# sFlow: capture on lo with tshark, decode every sample
d="$T_TMP/sflow"; mkdir -p "$d"
port=$(udp_port)
start_bg tshark -i lo -f "udp port $port" -w "$d/cap.pcap" >"$d/tshark.log" 2>&1
tp=$BG_PID
wait_for "$d/tshark.log" "Capturing on" || fail sflow_tshark_starts "$(cat "$d/tshark.log")"
"$FL_BIN" gen --to "127.0.0.1:$port" --proto sflow --count 1500 --rate 5000 --seed 7 \
  --start $START --window 20m --dump "$d/dump.csv" 2>"$d/gen.log"
rc=$?
# tshark writes behind the wire, more so on a loaded machine: wait (up to
# 15 s) until the capture holds every datagram gen sent, then stop it
sent=$(grep -o 'in [0-9]* datagrams' "$d/gen.log" | grep -o '[0-9]*')
for _ in $(seq 150); do
  got=$(tshark -r "$d/cap.pcap" -T fields -e frame.number 2>/dev/null | wc -l)
  [ "$got" -ge "${sent:-1}" ] && break
  sleep 0.1
done
stop "$tp"
[ "$rc" -eq 0 ] && pass sflow_gen_exit_0 || fail sflow_gen_exit_0 "$(cat "$d/gen.log")"
tshark -r "$d/cap.pcap" -d "udp.port==$port,sflow" -T pdml >"$d/cap.pdml" 2>/dev/null
python3 "$HERE/sfcompare.py" "$d/dump.csv" "$d/cap.pdml"

# v9 and IPFIX into pmacct's nfacctd (print plugin): a second collector
# implementation, flow by flow (it read only the first options template of
# a set, which is why gen sends one per set)
for p in v9 ipfix; do
  d="$T_TMP/nfacctd_$p"; mkdir -p "$d"
  port=$(udp_port)
  cat >"$d/nfacctd.conf" <<CONF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $port
nfacctd_pipe_size: 8388608
plugin_pipe_size: 10240000
plugin_buffer_size: 10240
plugins: print
aggregate: in_iface, out_iface, src_host, dst_host, src_port, dst_port, proto, tos, src_as, dst_as, src_mask, dst_mask, timestamp_start, timestamp_end, tcpflags
print_output: csv
print_num_protos: true
print_output_file: $d/out.csv
print_refresh_time: 300
timestamps_utc: true
CONF
  start_bg nfacctd -f "$d/nfacctd.conf" >"$d/nfacctd.log" 2>&1
  ap=$BG_PID
  wait_for "$d/nfacctd.log" "waiting for NetFlow" || sleep 1
  "$FL_BIN" gen --to "127.0.0.1:$port" --proto $p --count 2000 --rate 5000 --seed 7 \
    --start $START --window 20m --dump "$d/dump.csv" 2>"$d/gen.log"
  rc=$?
  sleep 0.5
  kill -INT "$ap" 2>/dev/null # the print plugin writes its cache on SIGINT
  stop "$ap"
  [ "$rc" -eq 0 ] && pass "nfacctd_${p}_gen_exit_0" || fail "nfacctd_${p}_gen_exit_0" "$(cat "$d/gen.log")"
  if [ -s "$d/out.csv" ]; then
    python3 "$HERE/nfacctcompare.py" $p "$d/dump.csv" "$d/out.csv"
  else
    fail "nfacctd_${p}_wrote_output" "$(grep -v INFO "$d/nfacctd.log" | tail -5)"
  fi
done

# sFlow into pmacct's sfacctd (print plugin, renormalized): every flow is
# one sample of SAMPLING packets, with the flow's fields
d="$T_TMP/sfacctd"; mkdir -p "$d"
port=$(udp_port)
cat >"$d/sfacctd.conf" <<CONF
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: $port
sfacctd_renormalize: true
sfacctd_pipe_size: 8388608
plugin_pipe_size: 10240000
plugin_buffer_size: 10240
plugins: print
aggregate: peer_src_ip, in_iface, out_iface, src_host, dst_host, src_port, dst_port, proto, tos, src_as, dst_as, src_mask, dst_mask
print_output: csv
print_num_protos: true
print_output_file: $d/out.csv
print_refresh_time: 300
CONF
start_bg sfacctd -f "$d/sfacctd.conf" >"$d/sfacctd.log" 2>&1
sp=$BG_PID
wait_for "$d/sfacctd.log" "waiting for sFlow data" || sleep 1
# a gentle rate: a loaded machine made sfacctd drop bursts at 20000 flows/s
"$FL_BIN" gen --to "127.0.0.1:$port" --proto sflow --count 1500 --rate 4000 --seed 7 \
  --start $START --window 20m --sampling 10 --dump "$d/dump.csv" 2>"$d/gen.log"
rc=$?
sleep 0.5
kill -INT "$sp" 2>/dev/null # sfacctd flushes its print cache on SIGINT
stop "$sp"
[ "$rc" -eq 0 ] && pass sfacctd_gen_exit_0 || fail sfacctd_gen_exit_0 "$(cat "$d/gen.log")"
if [ -s "$d/out.csv" ]; then
  python3 "$HERE/sfacctcompare.py" "$d/dump.csv" "$d/out.csv" 10
else
  fail sfacctd_wrote_output "$(tail -5 "$d/sfacctd.log")"
fi

# the same seed gives the same flows
"$FL_BIN" gen --to 127.0.0.1:9 --proto v9 --count 500 --seed 3 --start $START --dump "$T_TMP/a.csv" 2>/dev/null
"$FL_BIN" gen --to 127.0.0.1:9 --proto v9 --count 500 --seed 3 --start $START --dump "$T_TMP/b.csv" 2>/dev/null
"$FL_BIN" gen --to 127.0.0.1:9 --proto v9 --count 500 --seed 4 --start $START --dump "$T_TMP/c.csv" 2>/dev/null
cmp -s "$T_TMP/a.csv" "$T_TMP/b.csv" && [ "$(wc -l <"$T_TMP/a.csv")" -eq 500 ] &&
  pass same_seed_same_flows || fail same_seed_same_flows "dumps differ"
cmp -s "$T_TMP/a.csv" "$T_TMP/c.csv" && fail other_seed_other_flows "seed ignored" || pass other_seed_other_flows

# bad usage: one clear line, exit 2
usage() { # NAME PATTERN ARGS...
  local name=$1 pat=$2; shift 2
  expect_rc "usage_$name" 2 "$FL_BIN" gen "$@"
  expect_out "usage_${name}_message" "^flowlens gen: $pat"
  [ "$(wc -l <"$T_TMP/out")" -eq 1 ] && pass "usage_${name}_one_line" || fail "usage_${name}_one_line" "$(cat "$T_TMP/out")"
}
usage missing_to "missing --to" --proto v5
usage missing_proto "missing --proto" --to 127.0.0.1:9
usage bad_proto "unknown protocol 'v7'" --to 127.0.0.1:9 --proto v7
usage bad_addr "bad --to '300.1.1.1:9': '300.1.1.1' is not an IPv4 or IPv6 address" --to 300.1.1.1:9 --proto v5
usage name_addr "bad --to 'localhost:9'" --to localhost:9 --proto v5
usage no_port "bad --to '127.0.0.1'" --to 127.0.0.1 --proto v5
usage bad_port "bad --to '127.0.0.1:70000': port must be 1..65535" --to 127.0.0.1:70000 --proto v5
usage v6_no_brackets "bad --to '::1:9': put an IPv6 address in brackets" --to ::1:9 --proto v9
usage bad_rate "bad --rate 'fast'" --to 127.0.0.1:9 --proto v5 --rate fast
usage bad_count "bad --count '0'" --to 127.0.0.1:9 --proto v5 --count 0
usage bad_window "bad --window '40d'" --to 127.0.0.1:9 --proto v5 --window 40d
usage bad_start "bad --start 'yesterday'" --to 127.0.0.1:9 --proto v5 --start yesterday
usage bad_sampling "bad --sampling '20000'" --to 127.0.0.1:9 --proto v5 --sampling 20000
usage extra_arg "unexpected argument 'x'" --to 127.0.0.1:9 --proto v5 x

# every flag is a config key: a [gen] section drives a run, the command line wins
cat >"$T_TMP/gen.conf" <<CONF
[gen]
to = 127.0.0.1:9
proto = ipfix
count = 123
seed = 5
dump = $T_TMP/conf.csv
CONF
expect_rc config_drives_gen 0 "$FL_BIN" gen --config "$T_TMP/gen.conf"
expect_out config_proto_used "^flowlens gen: ipfix to 127.0.0.1:9: 123 flows"
[ "$(wc -l <"$T_TMP/conf.csv")" -eq 123 ] && pass config_count_used || fail config_count_used "$(wc -l <"$T_TMP/conf.csv")"
expect_rc config_cli_wins 0 "$FL_BIN" gen --config "$T_TMP/gen.conf" --proto sflow --count 7
expect_out config_cli_wins_message "^flowlens gen: sflow to 127.0.0.1:9: 7 flows"
printf '[gen]\nto = 127.0.0.1:9\nproto = v10\n' >"$T_TMP/bad.conf"
expect_rc config_bad_proto_exit_2 2 "$FL_BIN" gen --config "$T_TMP/bad.conf"
expect_out config_bad_proto_message "unknown protocol 'v10'"
