# tests/query/test_vs_nfdump.sh — differential: flowlens query against
# Debian's nfdump over the same nfcapd files.
#
# Two data sets: real exports (every NetFlow/IPFIX capture replayed to
# nfcapd) and generated traffic (`flowlens gen` NetFlow v9 into nfcapd).
# For each -s element/order/-n combination the rows must equal nfdump's
# (tied rows compared as sets, see tests/tools/nfcompare.py); for -A the
# aggregated records must be the same multiset.
. "$FL_ROOT/tests/lib.sh"
CMP="python3 $FL_ROOT/tests/tools/nfcompare.py"

# make_nfcapd DIR SENDER... : run nfcapd on a free port, feed it, stop it
make_nfcapd() {
  local dir=$1; shift
  local port; port=$(free_port)
  mkdir -p "$dir"
  nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 >"$dir.log" 2>&1 &
  local pid=$!
  T_PIDS="$T_PIDS $pid"
  for _ in $(seq 50); do grep -q 'Startup' "$dir.log" 2>/dev/null && break; sleep 0.1; done
  "$@" "$port" >>"$dir.log" 2>&1
  sleep 1
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  ls "$dir"/nfcapd.* 2>/dev/null | grep -v current | head -1
}

send_captures() {
  python3 "$FL_ROOT/tests/tools/pcap_send.py" 127.0.0.1 "$1" \
    "$FLOWLENS_CAPTURES"/netflow5/*.pcap "$FLOWLENS_CAPTURES"/netflow9/*.pcap \
    "$FLOWLENS_CAPTURES"/ipfix/*.pcap --gap-ms 2
}
send_gen() {
  "$FL_BIN" gen --to "127.0.0.1:$1" --proto v9 --count 30000 --seed 3 --rate 20000
}

REAL=$(make_nfcapd "$T_TMP/real" send_captures)
GEN=$(make_nfcapd "$T_TMP/gen" send_gen)
[ -n "$REAL" ] && pass nfcapd_wrote_real_file || fail nfcapd_wrote_real_file "$(tail -5 "$T_TMP/real.log")"
[ -n "$GEN" ] && pass nfcapd_wrote_gen_file || fail nfcapd_wrote_gen_file "$(tail -5 "$T_TMP/gen.log")"

n=0
# stat_case NAME FILE ELEMENT ORDER TOPN [FILTER]
stat_case() {
  local name=$1 file=$2 elem=$3 order=$4 top=$5 filter=${6:-}
  local o="$T_TMP/$name"
  n=$((n + 1))
  nfdump -r "$file" -q -o csv -n "$top" -s "$elem/$order" $filter >"$o.nf" 2>"$o.nferr"
  nfdump -r "$file" -q -o csv -n 0 -s "$elem/$order" $filter >"$o.nfall" 2>>"$o.nferr"
  "$FL_BIN" query -r "$file" -q -o csv -n "$top" -s "$elem/$order" $filter >"$o.fl" 2>"$o.flerr"
  local col
  case $order in flows) col=fl ;; packets) col=pkt ;; bytes) col=byt ;; *) col=$order ;; esac
  if out=$($CMP stat "$col" "$o.fl" "$o.nf" "$o.nfall" 2>&1); then pass "$name"
  else fail "$name" "$out $(head -c 300 "$o.flerr")"; fi
}

for set in real gen; do
  f=$REAL; [ $set = gen ] && f=$GEN
  [ -n "$f" ] || continue
  for elem in srcip dstip ip srcport dstport port proto srcas dstas as inif outif if srcmask dstmask tos nhip; do
    stat_case "${set}_s_${elem}_flows" "$f" "$elem" flows 10
  done
  for order in packets bytes pps bps bpp; do
    for elem in srcip dstport; do
      stat_case "${set}_s_${elem}_${order}" "$f" "$elem" "$order" 10
    done
  done
  stat_case "${set}_s_dstport_all" "$f" dstport bytes 0
  stat_case "${set}_s_srcip_top3" "$f" srcip flows 3
  stat_case "${set}_s_dstport_proto" "$f" "dstport:p" bytes 10
done

# -A: the same aggregated records (key columns and counters)
agg_case() {
  local name=$1 file=$2 fields=$3 cols=$4
  local o="$T_TMP/$name"
  nfdump -r "$file" -q -o csv -A "$fields" >"$o.nf" 2>"$o.nferr"
  "$FL_BIN" query -r "$file" -q -o csv -A "$fields" >"$o.fl" 2>"$o.flerr"
  # shellcheck disable=SC2086
  if out=$($CMP rows "$o.fl" "$o.nf" $cols 2>&1); then pass "$name"
  else fail "$name" "$out $(head -c 300 "$o.flerr")"; fi
}
for set in real gen; do
  f=$REAL; [ $set = gen ] && f=$GEN
  [ -n "$f" ] || continue
  agg_case "${set}_A_srcip_dstip" "$f" srcip,dstip "ts te sa da ipkt ibyt"
  agg_case "${set}_A_ports" "$f" srcport,dstport "ts te sp dp ipkt ibyt"
  agg_case "${set}_A_proto" "$f" proto "ts te pr ipkt ibyt"
  agg_case "${set}_A_srcip_proto" "$f" srcip,proto "ts te sa pr ipkt ibyt"
  agg_case "${set}_A_srcas_dstas" "$f" srcas,dstas "ts te sas das ipkt ibyt"
  agg_case "${set}_A_inif_outif" "$f" inif,outif "ts te in out ipkt ibyt"
  agg_case "${set}_A_dstip4_16" "$f" dstip4/16 "ts te da ipkt ibyt"
  agg_case "${set}_A_5tuple" "$f" srcip,dstip,srcport,dstport,proto "ts te sa da sp dp pr ipkt ibyt"
done
