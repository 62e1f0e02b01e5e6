#!/usr/bin/env bash
# tests/nfdump/mkcorpus.sh — regenerate fuzz/corpus/fuzz_nffile/ (run by hand).
#
# Small nfdump files made by our own tools and Debian's: nfcapd fed one
# capture each (NetFlow v5, v9, IPFIX), nfdump rewriting them with each
# compression, a ZSTD copy (nfrecompress.py) and layout-1 files in both byte
# orders (mkv1.py). Each is a few KB; the fuzzer mutates from there.
set -eu
cd "$(dirname "$0")/../.."
CAP=${FLOWLENS_CAPTURES:-../shared/captures}
OUT=fuzz/corpus/fuzz_nffile
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export TZ=UTC
n=0
for pcap in "$CAP/netflow5/nf5_mikrotik.pcap" "$CAP/netflow9/nf9_cisco_aci.pcap" \
            "$CAP/netflow9/akvorado_nf9_nat.pcap" "$CAP/ipfix/pmacct_106-IPFIXv10-HUAWEI-vrf_name.pcap" \
            "$CAP/ipfix/akvorado_ipfix_mpls.pcap" "$CAP/netflow9/akvorado_nf9_multiplesamplingrates.pcap"; do
  n=$((n + 1))
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$T/$n"
  nfcapd -b 127.0.0.1 -p "$port" -w "$T/$n" -t 3600 >/dev/null 2>&1 &
  pid=$!
  sleep 0.5
  python3 tests/tools/pcap_send.py 127.0.0.1 "$port" "$pcap" >/dev/null
  sleep 0.3
  kill "$pid"; wait "$pid" || true
  f=$(ls "$T/$n"/nfcapd.* | head -1)
  cp "$f" "$OUT/nfcapd_$n"
done
f="$OUT/nfcapd_2"
nfdump -r "$f" -z -w "$OUT/lzo" >/dev/null
nfdump -r "$f" -y -w "$OUT/lz4" >/dev/null
nfdump -r "$f" -j -w "$OUT/bz2" >/dev/null
python3 tests/nfdump/nfrecompress.py "$f" "$OUT/zstd"
python3 tests/nfdump/mkv1.py "$OUT/v1_le" --flows 12 --per-block 5 --seed 3
python3 tests/nfdump/mkv1.py "$OUT/v1_be_bz2" --flows 12 --per-block 5 --seed 4 --endian big --compress bz2
ls -la "$OUT"
