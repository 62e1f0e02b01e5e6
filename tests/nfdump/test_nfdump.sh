# tests/nfdump/test_nfdump.sh — the nfdump file reader against Debian's nfdump.
#
# Real files: nfcapd (bound to a free loopback port, stopped by PID) is fed
# the UDP payloads of the NetFlow v5, v9 and IPFIX captures; nfdump rewrites
# each file uncompressed, LZO (-z), LZ4 (-y) and BZ2 (-j); nfrecompress.py
# builds ZSTD copies (nfdump 1.7.1 cannot write ZSTD); mkv1.py builds
# layout-1 files in both byte orders (nfdump 1.7.1 cannot write layout 1).
# For every file, every flow `flowlens query -o csv` lists must equal
# nfdump's csv/json listing of it, field by field (nfcmp.py). Then file
# selection (-r dir, -R first:last over a sub-directory hierarchy, -M,
# nfcapd.current skipped), missing/empty/corrupt/truncated files.
. "$FL_ROOT/tests/lib.sh"
export TZ=UTC
HERE="$FL_ROOT/tests/nfdump"
CAP="$FLOWLENS_CAPTURES"
W="$T_TMP/w"
mkdir -p "$W"

q() { "$FL_BIN" query -q -o csv "$@"; }

# cmp_file NAME FILE [NFDUMP_FILE]: flowlens' listing of FILE equals
# nfdump's listing of NFDUMP_FILE (default FILE itself)
cmp_file() {
  local name=$1 f=$2 ref=${3:-$2}
  nfdump -r "$ref" -q -o csv >"$W/nf.csv" 2>"$W/nf.err"
  nfdump -r "$ref" -o json >"$W/nf.json" 2>>"$W/nf.err"
  if ! q -r "$f" >"$W/fl.csv" 2>"$W/fl.err"; then
    fail "$name" "flowlens failed: $(head -c 300 "$W/fl.err")"; return
  fi
  if [ ! -s "$W/nf.csv" ]; then fail "$name" "nfdump listed nothing"; return; fi
  if python3 "$HERE/nfcmp.py" "$W/nf.csv" "$W/nf.json" "$W/fl.csv" >"$W/cmp.out" 2>&1; then
    pass "$name ($(grep -o 'compared [0-9]* flows' "$W/cmp.out"))"
  else
    fail "$name" "$(head -c 800 "$W/cmp.out")"
  fi
}

# run nfcapd on a free port into DIR, send the pcaps, stop it by PID
capture() {
  local dir=$1; shift
  local port pid i
  mkdir -p "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start_bg nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 -I test >"$dir.log" 2>&1
  pid=$BG_PID
  for i in $(seq 50); do
    ss -Hlun "sport = :$port" | grep -q . && break
    sleep 0.1
  done
  python3 "$FL_ROOT/tests/tools/pcap_send.py" 127.0.0.1 "$port" "$@" >"$dir.sent" 2>&1
  sleep 0.5
  kill "$pid"
  wait "$pid" 2>/dev/null
  ls "$dir"/nfcapd.* >/dev/null 2>&1
}

for proto in netflow5 netflow9 ipfix; do
  if capture "$W/cap/$proto" "$CAP/$proto"/*.pcap; then
    pass "nfcapd_wrote_$proto"
  else
    fail "nfcapd_wrote_$proto" "$(tail -3 "$W/cap/$proto.log")"
    continue
  fi
  f=$(ls "$W/cap/$proto"/nfcapd.* | head -1)
  cmp_file "${proto}_nfcapd_file" "$f"
  nfdump -r "$f" -w "$W/$proto.none" 2>/dev/null
  nfdump -r "$f" -z -w "$W/$proto.lzo" 2>/dev/null
  nfdump -r "$f" -y -w "$W/$proto.lz4" 2>/dev/null
  nfdump -r "$f" -j -w "$W/$proto.bz2" 2>/dev/null
  python3 "$HERE/nfrecompress.py" "$W/$proto.none" "$W/$proto.zstd"
  python3 "$HERE/nfrecompress.py" "$W/$proto.none" "$W/$proto.zstdraw" --raw-block 0
  for c in none lzo lz4 bz2; do
    nfdump -v "$W/$proto.$c" 2>/dev/null | grep -q "Version    : 2" \
      && cmp_file "${proto}_$c" "$W/$proto.$c" || fail "${proto}_$c" "nfdump did not write it"
  done
  # nfdump cannot read ZSTD: compare with its listing of the uncompressed twin
  cmp_file "${proto}_zstd" "$W/$proto.zstd" "$W/$proto.none"
  cmp_file "${proto}_zstd_uncompressed_block_flag" "$W/$proto.zstdraw" "$W/$proto.none"
done

# layout 1, both byte orders, none and BZ2
for e in little big; do
  for c in none bz2; do
    python3 "$HERE/mkv1.py" "$W/v1_${e}_$c" --endian "$e" --compress "$c" --seed 7 --flows 300
  done
done
for e in little big; do
  for c in none bz2; do
    cmp_file "layout1_${e}_$c" "$W/v1_${e}_$c" "$W/v1_little_none"
  done
done

# ---- selections ------------------------------------------------------
A="$W/arch"
for s in a b; do
  mkdir -p "$A/$s/2024/05/01" "$A/$s/2024/05/02"
  cp "$W/netflow5.lzo" "$A/$s/2024/05/01/nfcapd.202405012350"
  cp "$W/netflow9.lz4" "$A/$s/2024/05/01/nfcapd.202405012355"
  cp "$W/ipfix.bz2" "$A/$s/2024/05/02/nfcapd.202405020000"
  cp "$W/netflow5.none" "$A/$s/2024/05/02/nfcapd.202405020005"
  cp "$W/netflow9.none" "$A/$s/2024/05/02/nfcapd.current.4711"
done

# -R over a sub-directory hierarchy: same flows, same order as nfdump
R="2024/05/01/nfcapd.202405012355:2024/05/02/nfcapd.202405020000"
nfdump -R "$A/a/$R" -q -o csv >"$W/r_nf.csv" 2>/dev/null
nfdump -R "$A/a/$R" -o json >"$W/r_nf.json" 2>/dev/null
q -R "$A/a/$R" >"$W/r_fl.csv" 2>"$W/r_fl.err"
python3 "$HERE/nfcmp.py" "$W/r_nf.csv" "$W/r_nf.json" "$W/r_fl.csv" >"$W/cmp.out" 2>&1 \
  && pass "range_subdirs_equals_nfdump ($(grep -o 'compared [0-9]* flows' "$W/cmp.out"))" \
  || fail range_subdirs_equals_nfdump "$(head -c 600 "$W/cmp.out")"
want=$(( $(q -r "$W/netflow9.none" | wc -l) + $(q -r "$W/ipfix.none" | wc -l) ))
[ "$(wc -l <"$W/r_fl.csv")" -eq "$want" ] && pass range_is_two_files \
  || fail range_is_two_files "$(wc -l <"$W/r_fl.csv") flows, want $want"

# a directory tree: every file, nfcapd.current.* skipped, like nfdump -R dir
nfdump -R "$A/a" -q -o csv >"$W/d_nf.csv" 2>/dev/null
nfdump -R "$A/a" -o json >"$W/d_nf.json" 2>/dev/null
q -R "$A/a" >"$W/d_fl.csv" 2>/dev/null
python3 "$HERE/nfcmp.py" "$W/d_nf.csv" "$W/d_nf.json" "$W/d_fl.csv" >"$W/cmp.out" 2>&1 \
  && pass "tree_equals_nfdump ($(grep -o 'compared [0-9]* flows' "$W/cmp.out"))" \
  || fail tree_equals_nfdump "$(head -c 600 "$W/cmp.out")"
q -r "$A/a" >"$W/d2_fl.csv" 2>/dev/null
cmp -s "$W/d_fl.csv" "$W/d2_fl.csv" && pass read_dir_same_as_range_dir || fail read_dir_same_as_range_dir
want=$(( $(q -r "$W/netflow5.none" | wc -l) * 2 + $(q -r "$W/netflow9.none" | wc -l) + $(q -r "$W/ipfix.none" | wc -l) ))
[ "$(wc -l <"$W/d_fl.csv")" -eq "$want" ] && pass tree_skips_nfcapd_current \
  || fail tree_skips_nfcapd_current "$(wc -l <"$W/d_fl.csv") flows, want $want"

# -M: the same range in several directories
M="$A/a:b"
nfdump -M "$M" -R "$R" -q -o csv >"$W/m_nf.csv" 2>/dev/null
nfdump -M "$M" -R "$R" -o json >"$W/m_nf.json" 2>/dev/null
q -M "$M" -R "$R" >"$W/m_fl.csv" 2>/dev/null
python3 "$HERE/nfcmp.py" "$W/m_nf.csv" "$W/m_nf.json" "$W/m_fl.csv" >"$W/cmp.out" 2>&1 \
  && pass "multi_equals_nfdump ($(grep -o 'compared [0-9]* flows' "$W/cmp.out"))" \
  || fail multi_equals_nfdump "$(head -c 600 "$W/cmp.out")"

# missing and empty files in a range are reported and skipped, never fatal
mkdir -p "$A/c/2024/05/01" "$A/c/2024/05/02"
cp "$A/a/2024/05/01/nfcapd.202405012355" "$A/c/2024/05/01/"
: >"$A/c/2024/05/02/nfcapd.202405020000"
# run_split NAME CMD...: exit 0 wanted; stdout in $W/so, stderr in $T_TMP/out
run_split() {
  local name=$1; shift
  if "$@" >"$W/so" 2>"$T_TMP/out"; then pass "$name"; else fail "$name" "exit $?: $(head -c 300 "$T_TMP/out")"; fi
}
run_split multi_with_missing_dir_ok "$FL_BIN" query -q -o csv -M "$A/a:c:zz" -R "$R"
expect_out missing_dir_reported "warning: .*zz.*cannot open"
expect_out empty_file_reported "warning: .*c/2024/05/02/nfcapd.202405020000.*empty file"
n=$(wc -l <"$W/so")
want=$(( $(wc -l <"$W/r_fl.csv") + $(q -r "$W/netflow9.none" | wc -l) ))
[ "$n" -eq "$want" ] && pass missing_and_empty_skipped_rest_read \
  || fail missing_and_empty_skipped_rest_read "$n flows, want $want"
expect_rc missing_single_file_ok 0 "$FL_BIN" query -q -r "$W/nope"
expect_out missing_single_file_reported "warning: $W/nope.*cannot open"

# nfcapd's own sub-directory layout (-S 2: %Y/%m/%d/%H), read as a tree
# and as a range, against nfdump
mkdir -p "$W/sub"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_bg nfcapd -b 127.0.0.1 -p "$port" -w "$W/sub" -S 2 -t 3600 >"$W/sub.log" 2>&1
pid=$BG_PID
for i in $(seq 50); do ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.1; done
python3 "$FL_ROOT/tests/tools/pcap_send.py" 127.0.0.1 "$port" "$CAP"/netflow5/*.pcap >/dev/null 2>&1
sleep 0.5
kill "$pid"; wait "$pid" 2>/dev/null
sf=$(cd "$W/sub" && find . -name 'nfcapd.2*' | sed 's|^\./||' | head -1)
if [ -n "$sf" ] && [ "$(dirname "$sf" | tr -cd / | wc -c)" -eq 3 ]; then
  pass "nfcapd_S2_layout ($sf)"
  nfdump -R "$W/sub" -q -o csv >"$W/s_nf.csv" 2>/dev/null
  nfdump -R "$W/sub" -o json >"$W/s_nf.json" 2>/dev/null
  q -R "$W/sub" >"$W/s_fl.csv" 2>/dev/null
  python3 "$HERE/nfcmp.py" "$W/s_nf.csv" "$W/s_nf.json" "$W/s_fl.csv" >"$W/cmp.out" 2>&1 \
    && pass "nfcapd_S2_tree_equals_nfdump ($(grep -o 'compared [0-9]* flows' "$W/cmp.out"))" \
    || fail nfcapd_S2_tree_equals_nfdump "$(head -c 600 "$W/cmp.out")"
  q -R "$W/sub/$sf:$sf" >"$W/s2_fl.csv" 2>/dev/null
  cmp -s "$W/s_fl.csv" "$W/s2_fl.csv" && pass nfcapd_S2_range_first_last \
    || fail nfcapd_S2_range_first_last "$(wc -l <"$W/s2_fl.csv") vs $(wc -l <"$W/s_fl.csv") flows"
else
  fail nfcapd_S2_layout "no file 4 levels down: $(cd "$W/sub" && find . | head)"
fi

# ---- corrupt and truncated files -------------------------------------
# a layout-1 file of 3 blocks cut inside block 2: blocks 0 and 1 still read
sz=$(stat -c %s "$W/v1_little_none")
head -c $((sz - 300)) "$W/v1_little_none" >"$W/trunc.nf"
run_split truncated_file_ok "$FL_BIN" query -q -r "$W/trunc.nf"
expect_out truncated_names_file_and_block "warning: $W/trunc.nf:.*block 2: truncated"
cp "$W/so" "$W/trunc.csv"
q -r "$W/v1_little_none" | head -240 >"$W/first240.csv"
cmp -s "$W/trunc.csv" "$W/first240.csv" && pass truncated_keeps_earlier_blocks \
  || fail truncated_keeps_earlier_blocks "$(wc -l <"$W/trunc.csv") flows"

# an LZ4 block with garbage in its payload: error names file and block, the
# rest of the range is read
cp "$W/netflow9.lz4" "$W/bad.lz4"
printf '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff' |
  dd of="$W/bad.lz4" bs=1 seek=200 conv=notrunc 2>/dev/null
mkdir -p "$W/badrange"
cp "$W/netflow5.none" "$W/badrange/nfcapd.202405010000"
cp "$W/bad.lz4" "$W/badrange/nfcapd.202405010005"
cp "$W/ipfix.none" "$W/badrange/nfcapd.202405010010"
printf 'not an nfdump file at all' >"$W/badrange/nfcapd.202405010015"
cp "$W/netflow9.none" "$W/badrange/nfcapd.202405010020"
run_split corrupt_range_ok "$FL_BIN" query -q -R "$W/badrange/nfcapd.202405010000:nfcapd.202405010020"
expect_out corrupt_block_named "warning: .*nfcapd.202405010005:.*block 0: LZ4 decompression failed"
expect_out bad_magic_named "warning: .*nfcapd.202405010015.*not an nfdump file"
n=$(wc -l <"$W/so")
want=$(( $(q -r "$W/netflow5.none" | wc -l) + $(q -r "$W/ipfix.none" | wc -l) + $(q -r "$W/netflow9.none" | wc -l) ))
[ "$n" -eq "$want" ] && pass corrupt_range_rest_read || fail corrupt_range_rest_read "$n flows, want $want"

# ---- json --------------------------------------------------------------
"$FL_BIN" query -o json -r "$W/ipfix.none" >"$W/j.json" 2>/dev/null
python3 - "$W/j.json" "$(q -r "$W/ipfix.none" | wc -l)" <<'EOF' >"$W/j.out" 2>&1 && pass json_parses_all_flows || fail json_parses_all_flows "$(cat "$W/j.out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == int(sys.argv[2]), (len(d), sys.argv[2])
assert all("time_first" in r and "src_addr" in r and "exporter" in r for r in d)
EOF

# ---- the query engine over a selection ----------------------------------
"$FL_BIN" query -R "$A/a" --summary -o csv >"$W/sum.csv" 2>/dev/null
got=$(sed -n 3p "$W/sum.csv" | cut -d, -f1)
want=$(nfdump -R "$A/a" -q -o csv 2>/dev/null | wc -l)
[ "$got" = "$want" ] && pass "engine_summary_over_range ($got flows)" \
  || fail engine_summary_over_range "summary says '$got', nfdump lists $want"
expect_rc engine_stat_runs 0 "$FL_BIN" query -r "$W/netflow9.lz4" -s proto -o csv
expect_out engine_stat_has_tcp "^[^,]*,[^,]*,[^,]*,TCP,6,"
