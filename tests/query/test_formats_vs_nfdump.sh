# tests/query/test_formats_vs_nfdump.sh — differential: flowlens' text
# listings (-o line, long, extended, line6, fmt:...) against Debian's
# nfdump 1.7.1, byte for byte, over the same flows in an nfcapd file (-r)
# and in the embedded store (--store, after `flowlens import`).
#
# Data: generated NetFlow v9 traffic plus hand-made IPFIX corner cases
# (tests/tools/ipfix_edge_send.py: counters past 1 M / 1 G / 1 T, ICMP and
# ICMPv6 type.code, long and short IPv6 addresses, flows over a day).
#
# What is compared: everything nfdump prints — header, rows, "No matching
# flows", the Summary line, the Time window line and the Total flows
# processed line — except nfdump's last line ("Sys: ... flows/second",
# timing) and the number after "Bytes read:" (nfdump counts the file's
# compressed block bytes, flowlens the size of the files it read).
# Masked as well where it cannot agree:
#   - "processed" of a store query with a filter or window (the store
#     skips row groups, so it reads fewer flows than nfdump's whole file);
# Over files flowlens stops reading at the -c-th match as nfdump does, so
# "processed" and the "Time window" of the files opened agree there too.
# Store listings use -O tstart/tend: a store keeps flows by time slot, not
# in the file's arrival order, so unordered listings differ in order only.
# -O bytes/packets: nfdump sorts with an unstable quicksort, so tied rows
# may come in any order (nfcompare.py listing checks rows and order values).
. "$FL_ROOT/tests/lib.sh"
. "$FL_ROOT/tests/query/nfcapd_helpers.sh"
CMP="python3 $FL_ROOT/tests/tools/nfcompare.py"

GEN_COUNT=3000
F=$(make_nfcapd "$T_TMP/flows" send_gen_and_edges)
if [ -n "$F" ]; then pass nfcapd_wrote_file; else fail nfcapd_wrote_file "$(tail -5 "$T_TMP/flows.log")"; fi
STORE="$T_TMP/store"
check import_into_store "$FL_BIN" import "$F" --into "$STORE"
n=$(nfdump -r "$F" -q -o csv | wc -l)
# 3000 generated + 44 corner-case flows
if [ "$n" -eq 3044 ]; then pass flows_in_file; else fail flows_in_file "nfdump lists $n flows, wanted 3044"; fi

CASES=0
# norm MASKPROC < listing : drop the timing line, mask what cannot agree
norm() {
  if [ "$1" = 1 ]; then
    grep -v '^Sys:' | sed -E 's/Bytes read: [0-9]+/Bytes read: X/; s/processed: [0-9]+/processed: X/'
  else
    grep -v '^Sys:' | sed -E 's/Bytes read: [0-9]+/Bytes read: X/'
  fi
}

# fmt_case NAME SRC(file|store) MASKPROC ARGS... : flowlens output == nfdump's
fmt_case() {
  local name=$1 src=$2 mask=$3
  shift 3
  local o="$T_TMP/$name"
  CASES=$((CASES + 1))
  local in=(-r "$F")
  case $1 in -R|-M) in=() ;; esac
  nfdump "${in[@]}" "$@" 2>"$o.nferr" | norm "$mask" >"$o.nf"
  if [ "$src" = file ]; then
    "$FL_BIN" query "${in[@]}" "$@" 2>"$o.err" | norm "$mask" >"$o.fl"
  else
    "$FL_BIN" query --store "$STORE" "$@" 2>"$o.err" | norm "$mask" >"$o.fl"
  fi
  if [ ! -s "$o.nf" ]; then
    fail "$name" "nfdump printed nothing: $(head -c 300 "$o.nferr")"
  elif cmp -s "$o.nf" "$o.fl"; then
    pass "$name"
  else
    fail "$name" "$(diff "$o.nf" "$o.fl" | head -6) $(head -c 300 "$o.err")"
  fi
}

# tie_case NAME SRC MASKPROC ARGS... : -O by a counter, rows "VALUE|..."
tie_case() {
  local name=$1 src=$2 mask=$3
  shift 3
  local o="$T_TMP/$name"
  CASES=$((CASES + 1))
  nfdump -r "$F" "$@" 2>"$o.nferr" | norm "$mask" >"$o.nf"
  if [ "$src" = file ]; then
    "$FL_BIN" query -r "$F" "$@" 2>"$o.err" | norm "$mask" >"$o.fl"
  else
    "$FL_BIN" query --store "$STORE" "$@" 2>"$o.err" | norm "$mask" >"$o.fl"
  fi
  if out=$($CMP listing "$o.fl" "$o.nf" 2>&1) && [ -s "$o.nf" ]; then pass "$name"
  else fail "$name" "$out $(head -c 300 "$o.err")"; fi
}

# every tag flowlens prints (nfdump's %nhb is left to its own case: nfdump
# knows whether an exporter sent an IPv6 BGP next hop, flowlens keeps the
# address only)
ALL="fmt:%ra %ts %te %tr %td %tds %tsr %ter %pr %sa %da %sn %dn %sp %dp %it %ic %nh %in %out %sas %das %nas %pas %flg %tos %stos %dtos %dir %smk %dmk %fwd %svln %dvln %ismc %odmc %idmc %osmc %mpls1 %mpls2 %mpls %pkt %ipkt %opkt %byt %ibyt %obyt %fl %bps %pps %bpp %eng %exp %lbl %ivrf %evrf %evt %xsa %xda %xsp %xdp %xsap %xdap"
SHORT="fmt:%ts %td %pr %sap -> %dap %pkt %byt %fl"

# nfcapd file, in file order: each format with several filters, -c, -N
i=0
for fmt in line long extended "$ALL" "$SHORT"; do
  i=$((i + 1))
  for plain in "" -N; do
    p=${plain:+_N}
    # shellcheck disable=SC2086
    fmt_case "file_f${i}${p}_first60" file 0 -o "$fmt" $plain -c 60
    # shellcheck disable=SC2086
    fmt_case "file_f${i}${p}_icmp" file 0 -o "$fmt" $plain 'proto icmp or proto icmp6'
    # shellcheck disable=SC2086
    fmt_case "file_f${i}${p}_ipv6" file 0 -o "$fmt" $plain 'ipv6 and not net 2001:db8:5::/48'
    # shellcheck disable=SC2086
    fmt_case "file_f${i}${p}_big" file 0 -o "$fmt" $plain 'bytes > 900000 or packets > 100000'
    # shellcheck disable=SC2086
    fmt_case "file_f${i}${p}_tcp443_c12" file 0 -o "$fmt" $plain -c 12 'proto tcp and port 443'
  done
done
fmt_case file_line6 file 0 -o line6 'ipv6 and bytes > 500'
fmt_case file_6_line file 0 -6 -o line "ipv6 and bytes > 500"
fmt_case file_extended6_N file 0 -o extended6 -N 'ipv6 and bytes > 500'
fmt_case file_fmt_6 file 0 -6 -o "fmt:%sa %da %sap %dap %nh" 'ipv6 and packets > 3'
fmt_case file_nhb_v4 file 0 -o "fmt:%sa %nh %nhb %smk %dmk" -c 40 'ipv4'
fmt_case file_static_text file 0 -o "fmt:[%pr] %sa:%sp=>%da:%dp (%byt/%pkt)%n" -c 10
fmt_case file_quiet file 0 -q -o extended 'proto icmp'
fmt_case file_no_match file 0 -o line 'host 198.51.100.254'
fmt_case file_no_match_q file 0 -q -o long 'host 198.51.100.254'
fmt_case file_window file 0 -o line -t 2024/05/01.10:30:00-2024/05/01.10:40:00
fmt_case file_O_tstart_c file 0 -o extended -O tstart -c 25 'proto udp'
fmt_case file_O_tend file 0 -o line -O tend 'bytes > 100000'
tie_case file_O_bytes_ties file 0 -o "fmt:%byt|%ts %td %pr %sap -> %dap %pkt %fl" -O bytes 'net 10.0.0.0/8'
tie_case file_O_packets_N file 0 -N -o "fmt:%pkt|%ts %pr %sap -> %dap %byt" -O packets 'proto tcp'

# several files: -R DIR, -R DIR/a:b, -M DIRS (nfdump opens the next file
# only when it needs more flows: -c decides which files' statistics make
# the time window)
R="$T_TMP/multi"
mkdir -p "$R/a" "$R/b"
nfdump -r "$F" -t 2024/05/01.10:00:00-2024/05/01.11:00:00 -w "$R/a/nfcapd.202405011000"
nfdump -r "$F" -t 2024/05/01.11:00:00 -w "$R/a/nfcapd.202405011100"
cp "$R/a/nfcapd.202405011100" "$R/b/nfcapd.202405011000"
fmt_case files_R_first100 file 0 -R "$R/a" -o line -c 100
fmt_case files_R_tcp_c2000 file 0 -R "$R/a" -o extended -c 2000 'proto tcp'
fmt_case files_R_icmp file 0 -R "$R/a/nfcapd.202405011000:nfcapd.202405011100" -o long 'proto icmp or proto icmp6'
fmt_case files_M_r_c40 file 0 -M "$R/a:b" -r nfcapd.202405011000 -o line -c 40
fmt_case files_M_R_ipv6 file 0 -M "$R/a:b" -R nfcapd.202405011000:nfcapd.202405011100 -o "fmt:%ra %ts %sap %dap %byt" -N 'ipv6'

# the store, time-ordered
i=0
for fmt in line long extended "$ALL"; do
  i=$((i + 1))
  for plain in "" -N; do
    p=${plain:+_N}
    # shellcheck disable=SC2086
    fmt_case "store_f${i}${p}_all" store 0 -o "$fmt" $plain -O tstart
    # shellcheck disable=SC2086
    fmt_case "store_f${i}${p}_icmp_ipv6" store 1 -o "$fmt" $plain -O tstart 'proto icmp or proto icmp6 or ipv6'
    # shellcheck disable=SC2086
    fmt_case "store_f${i}${p}_big" store 1 -o "$fmt" $plain -O tend 'bytes > 900000'
  done
done
fmt_case store_window store 1 -o long -O tstart -t 2024/05/01.11:00:00-2024/05/01.11:20:00
fmt_case store_no_match store 1 -o line -O tstart 'host 198.51.100.254'
fmt_case store_quiet store 1 -q -o extended -O tstart 'proto udp and port 53'
tie_case store_O_bytes_ties store 1 -o "fmt:%byt|%ts %td %pr %sap -> %dap %pkt %fl" -O bytes 'proto udp'

# -s and -A as text: nfdump's tables and aggregated records (its -A
# format "%ts %td <key tags> %pkt %byt %bps %bpp %fl", or -o), with the
# closing lines. Tied rows may differ in order (nfdump: hash order).
# rowset_case NAME SRC ARGS...
rowset_case() {
  local name=$1 src=$2
  shift 2
  local o="$T_TMP/$name"
  CASES=$((CASES + 1))
  nfdump -r "$F" "$@" 2>"$o.nferr" | norm 0 >"$o.nf"
  if [ "$src" = file ]; then
    "$FL_BIN" query -r "$F" "$@" 2>"$o.err" | norm 0 >"$o.fl"
  else
    "$FL_BIN" query --store "$STORE" "$@" 2>"$o.err" | norm 0 >"$o.fl"
  fi
  if out=$($CMP rowset "$o.fl" "$o.nf" 2>&1) && [ -s "$o.nf" ]; then pass "$name"
  else fail "$name" "$out $(head -c 300 "$o.err")"; fi
}
# (the ::1 -> ::2 corner flow is left out of -A: nfdump prints a key that
# IPv4 a.b.c.d and IPv6 ::a.b.c.d share in the form it met first)
rowset_case text_s_srcip file -s srcip -n 10
rowset_case text_s_dstport_bytes_N file -s dstport/bytes -n 10 -N
rowset_case text_s_proto_tcp file -s proto 'proto tcp or proto icmp'
rowset_case text_A_srcip_dstport file -A srcip,dstport -O bytes -n 20 'not port 1'
rowset_case text_A_5tuple_N file -A srcip,dstip,srcport,dstport,proto -O packets -n 30 -N 'not port 1'
rowset_case text_A_proto_dstport file -A proto,dstport -O bytes 'not port 1'
rowset_case text_A_dstip_proto_line file -A dstip,proto -o line -O bytes -n 10 'not port 1'
rowset_case text_A_srcas_dstas file -A srcas,dstas -O flows -n 10
rowset_case store_text_A_srcas_dstas store -A srcas,dstas -O bytes -n 10
rowset_case store_text_s_dstport store -s dstport/bytes -n 10

# bad formats: a clear error naming the tag and its position, exit 2
expect_rc fmt_unknown_tag_exit2 2 "$FL_BIN" query -r "$F" -o "fmt:%ts %bogus %pr"
expect_out fmt_unknown_tag_named "unknown tag '%bogus' at position 9"
expect_rc fmt_unsupported_tag_exit2 2 "$FL_BIN" query --store "$STORE" -o "fmt:%ts %ja3"
expect_out fmt_unsupported_tag_named "tag '%ja3' at position 9: flowlens keeps no such data"
expect_rc fmt_unknown_name_exit2 2 "$FL_BIN" query -r "$F" -o lines
expect_out fmt_unknown_name_named "unknown output format 'lines'"

if [ "$CASES" -ge 30 ]; then pass "differential_cases_$CASES"; else fail differential_cases "only $CASES"; fi
