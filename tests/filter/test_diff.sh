#!/usr/bin/env bash
# tests/filter/test_diff.sh — differential test of the filter against
# Debian's nfdump over the same flows.
#
# 1. Debian's nfcapd listens on a free loopback UDP port; flowfeed.py sends
#    it synthetic NetFlow v9 (every field the filter language tests) and the
#    UDP payloads of the NetFlow v5/v9 and IPFIX pcaps in $FLOWLENS_CAPTURES.
#    nfcapd is stopped by PID and writes one nfcapd file.
# 2. nfdump dumps every flow of that file (-o fmt:, plain numbers); the C
#    test reads that dump into fl_batch columns — the same flows.
# 3. For each filter of corpus/*.txt nfdump reports flows/bytes/packets
#    (-o null summary); AS filters, which Debian's nfdump refuses without a
#    geo DB, get their totals from nfdump's -A aggregation via as_oracle.py.
# 4. test_filter --diff compiles and evaluates each filter over the dumped
#    flows and must reproduce all three numbers exactly.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$T_TMP/nfc
mkdir -p "$D"
FMT='fmt:%ts|%te|%exp|%sa|%da|%sp|%dp|%pr|%flg|%stos|%dtos|%ibyt|%ipkt|%obyt|%opkt|%in|%out|%sas|%das|%pas|%nas|%nh|%nhb|%smk|%dmk|%dir|%svln|%dvln|%ismc|%odmc|%idmc|%osmc|%mpls1|%it|%ic|%eng|%fwd|%xsa|%xda|%xsp|%xdp|%nevt|%ivrf|%evrf|%ra'

PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_bg nfcapd -w "$D" -p "$PORT" -b 127.0.0.1 -t 3600
NFPID=$BG_PID
sleep 0.5
python3 "$HERE/flowfeed.py" synth "$PORT" 7 3000 >/dev/null
shopt -s nullglob
# Cisco ASA (NSEL) exports are left out: for NSEL records nfdump's %nevt
# prints the firewall event, not the NAT event `nat event` filters on, so
# the dump could not carry those flows faithfully.
PCAPS=()
for p in "$FLOWLENS_CAPTURES"/netflow5/*.pcap "$FLOWLENS_CAPTURES"/netflow9/*.pcap "$FLOWLENS_CAPTURES"/ipfix/*.pcap; do
  case "$p" in *asa*) continue ;; esac
  PCAPS+=("$p")
done
if [ ${#PCAPS[@]} -gt 0 ]; then pass "captures found (${#PCAPS[@]} pcaps)"; else fail "captures" "none under $FLOWLENS_CAPTURES"; fi
python3 "$HERE/flowfeed.py" pcap "$PORT" "${PCAPS[@]}" >/dev/null
sleep 0.5
kill "$NFPID"
for _ in $(seq 50); do kill -0 "$NFPID" 2>/dev/null || break; sleep 0.1; done
F=$(ls "$D"/nfcapd.2* 2>/dev/null | head -1)
if [ -n "$F" ]; then pass "nfcapd wrote $(basename "$F")"; else fail "nfcapd file" "none in $D"; exit 1; fi

nfdump -r "$F" -q -N -6 -o "$FMT" >"$T_TMP/flows.txt" 2>"$T_TMP/nfdump.err"
NFLOWS=$(grep -c '|' "$T_TMP/flows.txt")
if [ "$NFLOWS" -ge 3000 ]; then pass "nfdump dumped $NFLOWS flows"; else fail "flow dump" "only $NFLOWS flows"; fi

: >"$T_TMP/expected.txt"
n=0
while IFS= read -r expr; do
  case "$expr" in ''|'#'*) continue ;; esac
  out=$(nfdump -r "$F" -N -o null "$expr" 2>&1)
  line=$(printf '%s\n' "$out" | grep '^Summary:')
  if [ -z "$line" ]; then
    fail "nfdump accepts '$expr'" "$(printf '%s' "$out" | head -c 200)"
    continue
  fi
  fl=$(printf '%s' "$line" | sed -n 's/.*total flows: \([0-9]*\).*/\1/p')
  by=$(printf '%s' "$line" | sed -n 's/.*total bytes: \([0-9]*\).*/\1/p')
  pk=$(printf '%s' "$line" | sed -n 's/.*total packets: \([0-9]*\).*/\1/p')
  printf '%s\t%s\t%s\t%s\n' "$fl" "$by" "$pk" "$expr" >>"$T_TMP/expected.txt"
  n=$((n + 1))
done < <(cat "$HERE"/corpus/hand.txt "$HERE"/corpus/random.txt)

nfdump -r "$F" -q -N -A srcas,dstas,nextas,prevas -o 'fmt:%sas|%das|%nas|%pas|%fl|%ibyt|%ipkt|%obyt|%opkt' >"$T_TMP/as.txt"
python3 "$HERE/as_oracle.py" "$T_TMP/as.txt" "$HERE/corpus/as.txt" >>"$T_TMP/expected.txt"
total=$(wc -l <"$T_TMP/expected.txt")
if [ "$total" -ge 300 ]; then pass "corpus has $total filters (nfdump: $n, AS oracle: $((total - n)))"; else fail "corpus size" "$total < 300"; fi
# the oracle's totals must be plausible: `as 0 or not as 0` covers all flows
"$FL_BUILD/tests/filter/test_filter" --diff "$T_TMP/flows.txt" "$T_TMP/expected.txt"
