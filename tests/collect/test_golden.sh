# tests/collect/test_golden.sh — `flowlens decode --json` of a handful of
# captures (v5, NSEL v9, v9 per-sampler rates, IPFIX sampling options and
# applabel, sFlow QinQ / ICMPv6 / LAG counters) equals its golden file.
# After a deliberate change, regenerate with:
#   flowlens decode --json CAPTURE > tests/collect/golden/NAME.json
# and review the diff.
. "$FL_ROOT/tests/lib.sh"
for g in "$FL_ROOT"/tests/collect/golden/*.json; do
  name=$(basename "$g" .json)
  cap=$(ls "$FLOWLENS_CAPTURES"/*/"$name".pcap 2>/dev/null | head -1)
  if [ -z "$cap" ]; then fail "golden_$name" "capture $name.pcap not found"; continue; fi
  "$FL_BIN" decode --json "$cap" >"$T_TMP/$name.json" 2>"$T_TMP/$name.err"
  if diff -u "$g" "$T_TMP/$name.json" >"$T_TMP/$name.diff"; then pass "golden_$name"
  else fail "golden_$name" "$(head -c 400 "$T_TMP/$name.diff")"; fi
done
# decode's own errors: a missing file and a file that is no capture
expect_rc decode_missing_file 1 "$FL_BIN" decode "$T_TMP/nope.pcap"
expect_out decode_missing_file_named "nope.pcap.*cannot open"
printf 'hello world, not a capture' >"$T_TMP/junk.bin"
expect_rc decode_junk_file 1 "$FL_BIN" decode "$T_TMP/junk.bin"
expect_out decode_junk_file_named "neither a pcap nor an IPFIX file"
expect_rc decode_needs_file 2 "$FL_BIN" decode
# a pcap cut in the middle of a record: what came before is kept
head -c 1000 "$FLOWLENS_CAPTURES/netflow5/nf5_generic_ls.pcap" >"$T_TMP/cut.pcap"
expect_rc decode_truncated_pcap 1 "$FL_BIN" decode --json "$T_TMP/cut.pcap"
expect_out decode_truncated_pcap_named "truncated|overruns the file"
expect_out decode_truncated_pcap_keeps_flows '"flows":[1-9]'
