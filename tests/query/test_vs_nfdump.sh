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

. "$FL_ROOT/tests/query/nfcapd_helpers.sh"

send_captures() {
  python3 "$FL_ROOT/tests/tools/pcap_send.py" 127.0.0.1 "$1" \
    "$FLOWLENS_CAPTURES"/netflow5/*.pcap "$FLOWLENS_CAPTURES"/netflow9/*.pcap \
    "$FLOWLENS_CAPTURES"/ipfix/*.pcap --gap-ms 2
}
REAL=$(make_nfcapd "$T_TMP/real" send_captures)
GEN=$(make_nfcapd "$T_TMP/gen" send_gen)
[ -n "$REAL" ] && pass nfcapd_wrote_real_file || fail nfcapd_wrote_real_file "$(tail -5 "$T_TMP/real.log")"
[ -n "$GEN" ] && pass nfcapd_wrote_gen_file || fail nfcapd_wrote_gen_file "$(tail -5 "$T_TMP/gen.log")"

# the same flows in the embedded store, through `flowlens import`
for set in real gen; do
  f=$REAL; [ $set = gen ] && f=$GEN
  [ -n "$f" ] || continue
  check "import_$set" "$FL_BIN" import "$f" --into "$T_TMP/store_$set"
done

# stat_case NAME FILE ELEMENT ORDER TOPN [NFDUMP-ARGS...] — compared for
# the nfcapd file read directly (-r) and for the store it was imported into
stat_case() {
  local name=$1 file=$2 elem=$3 order=$4 top=$5
  shift 5
  local o="$T_TMP/$name" set=real col src
  [ "$file" = "$GEN" ] && set=gen
  nfdump -r "$file" -q -o csv -n "$top" -s "$elem/$order" "$@" >"$o.nf" 2>"$o.nferr"
  nfdump -r "$file" -q -o csv -n 0 -s "$elem/$order" "$@" >"$o.nfall" 2>>"$o.nferr"
  case $order in flows) col=fl ;; packets) col=pkt ;; bytes) col=byt ;; *) col=$order ;; esac
  for src in file store; do
    if [ $src = file ]; then
      "$FL_BIN" query -r "$file" -q -o csv -n "$top" -s "$elem/$order" "$@" >"$o.$src" 2>"$o.$src.err"
    else
      "$FL_BIN" query --store "$T_TMP/store_$set" -q -o csv -n "$top" -s "$elem/$order" "$@" >"$o.$src" 2>"$o.$src.err"
    fi
    if out=$($CMP stat "$col" "$o.$src" "$o.nf" "$o.nfall" 2>&1); then pass "${name}_$src"
    else fail "${name}_$src" "$out $(head -c 300 "$o.$src.err")"; fi
  done
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
  # filters, compiled by flowlens and by nfdump
  stat_case "${set}_s_srcip_tcp" "$f" srcip bytes 10 'proto tcp'
  stat_case "${set}_s_dstport_notudp" "$f" dstport flows 10 'not proto udp'
  stat_case "${set}_s_srcport_net" "$f" srcport packets 10 'src net 10.0.0.0/8 or dst net 10.0.0.0/8'
  stat_case "${set}_s_dstip_big" "$f" dstip bytes 10 'bytes > 10000 and packets > 5'
  stat_case "${set}_s_proto_port" "$f" proto flows 0 'port 443 or port 53'
  # "either address" filters: the store prunes row groups through its
  # address blooms, the answer must stay nfdump's
  stat_case "${set}_s_proto_host" "$f" proto flows 0 'host 10.0.0.1'
  stat_case "${set}_s_dstport_host_absent" "$f" dstport flows 0 'host 198.51.100.7'
  stat_case "${set}_s_srcip_net_any" "$f" srcip bytes 10 'net 8.8.8.0/24 and proto udp'
done
# address pushdown over the store (either-form address sets): IPv6
# prefixes shorter and longer than the blooms' /48, hosts, ::/80 and ::/96
# (which nfdump reads as covering IPv4 too), IPv4 prefixes around the /24
# bloom networks, ::a.b.c.d hosts, address lists and mixed terms; each
# equal to nfdump, file and store
for pf in 2001:db8::/32 2001:db8::/48 2001:db8:1::/56 2001:db8::/64 2001:db8::/80 \
          2001:db8:2::/120 ::/80 ::/96 10.0.0.0/16 10.0.0.0/30 10.0.0.0/8; do
  n=$(echo "$pf" | tr ':/.' '___')
  stat_case "gen_s_srcip_net_$n" "$GEN" srcip flows 10 "net $pf"
done
stat_case gen_s_dstport_host_v6 "$GEN" dstport flows 10 'host 2001:db8::1'
stat_case gen_s_proto_host_v4compat "$GEN" proto flows 0 'host ::10.0.0.1'
stat_case gen_s_proto_ip_list "$GEN" proto flows 0 'ip in [10.0.0.1 2001:db8::2 8.8.8.200]'
stat_case gen_s_srcip_src_v6_dst_v4 "$GEN" srcip bytes 10 'src net 2001:db8::/32 or dst net 10.0.0.0/8'
stat_case gen_s_dstip_v6_and_port "$GEN" dstip flows 10 'src net 2001:db8::/48 and dst port 443'
stat_case gen_s_proto_v6_absent "$GEN" proto flows 0 'net 2001:db8:99::/48'

# -t windows (nfdump keeps flows that lie entirely inside)
stat_case gen_s_dstport_window "$GEN" dstport bytes 10 -t 2024/05/01.10:30:00-2024/05/01.11:15:00
stat_case gen_s_srcip_window "$GEN" srcip flows 5 -t 2024/05/01.11:00:00-2024/05/01.12:00:00 'proto tcp'
stat_case gen_s_as_window "$GEN" dstas bytes 10 -t 2024/05/01.10:00:00-2024/05/01.10:20:00

# -A: the same aggregated records (key columns and counters)
agg_case() {
  local name=$1 file=$2 fields=$3 cols=$4
  shift 4
  local o="$T_TMP/$name"
  nfdump -r "$file" -q -o csv -A "$fields" "$@" >"$o.nf" 2>"$o.nferr"
  "$FL_BIN" query -r "$file" -q -o csv -A "$fields" "$@" >"$o.fl" 2>"$o.flerr"
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
agg_case gen_A_srcip_top_bytes "$GEN" srcip "sa ipkt ibyt" -O bytes -n 10
agg_case gen_A_dstport_tcp "$GEN" dstport "dp ipkt ibyt" 'proto tcp'
agg_case real_A_proto_filtered "$REAL" proto "pr ipkt ibyt" 'not proto 0'
