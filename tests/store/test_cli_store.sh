# tests/store/test_cli_store.sh — `flowlens verify` and `flowlens expire`
# on a store of generated flows: clean, damaged, expired, too new.
. "$FL_ROOT/tests/lib.sh"

MK="$FL_BUILD/tests/store/test_store"
S="$T_TMP/store"
check mkstore "$MK" mkstore "$S" 100000 zstd

expect_rc verify_clean 0 "$FL_BIN" verify --store "$S"
expect_out verify_clean_ok "^verify: [1-9][0-9]* segments, 0 open slots, .* 100000 rows: OK$"
expect_out verify_counts_copies "^verify: ([1-9][0-9]*) of \1 segments have a by-address copy$"
expect_rc verify_deep_clean 0 "$FL_BIN" verify --store "$S" --deep
expect_out verify_deep_ok "^verify --deep: .*100000 rows: OK$"

# one-address questions read the by-address copies, and answer exactly as
# the segments do (the copies moved away); a listing reads the segments
ip=$("$FL_BIN" query --store "$S" --no-cache -q -o csv -s srcip -n 2 | sed -n 3p | cut -d, -f5)
[ -n "$ip" ] && pass copy_probe_address || fail copy_probe_address "no address in the store"
for q in "-s dstport" "-A srcip,dstip -n 20" "--summary" "--series bytes --step 5m -t 2024/05/01.12:00:00-2024/05/01.14:00:00" "--topseries dstport -n 3 --step 5m -t 2024/05/01.12:00:00-2024/05/01.14:00:00"; do
  n=$(echo "$q" | tr -cd 'a-z')
  # shellcheck disable=SC2086
  "$FL_BIN" query --store "$S" --no-cache --log-level debug -q -o csv $q "host $ip or dst net $ip/30" \
    >"$T_TMP/with.csv" 2>"$T_TMP/with.err"
  # (topseries reads twice: the top keys, then their series)
  grep -qE "\(0 pruned, (12|24) read through their by-address copy" "$T_TMP/with.err" &&
    pass "copies_used_$n" || fail "copies_used_$n" "$(grep 'store scan' "$T_TMP/with.err")"
  mkdir -p "$T_TMP/away" && mv "$S"/seg/*.fla "$T_TMP/away/"
  # shellcheck disable=SC2086
  "$FL_BIN" query --store "$S" --no-cache --log-level debug -q -o csv $q "host $ip or dst net $ip/30" \
    >"$T_TMP/without.csv" 2>"$T_TMP/without.err"
  mv "$T_TMP/away/"*.fla "$S/seg/"
  grep -q " 0 read through" "$T_TMP/without.err" && [ -s "$T_TMP/with.csv" ] &&
    cmp -s "$T_TMP/with.csv" "$T_TMP/without.csv" && pass "copies_same_answer_$n" ||
    fail "copies_same_answer_$n" "$(diff "$T_TMP/with.csv" "$T_TMP/without.csv" | head -5)"
done
# copies_like_segments NAME PATTERN QUESTION: on one thread and on two,
# QUESTION's scan log matches PATTERN (the copies were read the way NAME
# says) and its answer is the one the segments give (the copies moved away)
copies_like_segments() {
  for t in 1 2; do
    # shellcheck disable=SC2086
    "$FL_BIN" query --store "$S" --no-cache --threads $t --log-level debug -q -o csv $3 \
      >"$T_TMP/with.csv" 2>"$T_TMP/with.err"
    grep -qE "$2" "$T_TMP/with.err" &&
      pass "${1}_used_$t" || fail "${1}_used_$t" "$(grep 'store scan' "$T_TMP/with.err")"
    mkdir -p "$T_TMP/away" && mv "$S"/seg/*.fla "$T_TMP/away/"
    # shellcheck disable=SC2086
    "$FL_BIN" query --store "$S" --no-cache --threads $t -q -o csv $3 >"$T_TMP/without.csv"
    mv "$T_TMP/away/"*.fla "$S/seg/"
    [ "$(wc -l <"$T_TMP/with.csv")" -gt 3 ] && cmp -s "$T_TMP/with.csv" "$T_TMP/without.csv" &&
      pass "${1}_same_answer_$t" ||
      fail "${1}_same_answer_$t" "$(diff "$T_TMP/with.csv" "$T_TMP/without.csv" | head -5)"
  done
}
# a top N of aggregates keyed by an address reads the copies in address
# order (the engine lets go of the keys below the scan's floor as it goes):
# the same rows as the segments give, with or without a filter or window,
# ordered by src or dst
oq=0
for q in "-A srcip,dstip -n 20 -O bytes" "-A dstip,dstport -n 15" "-A srcip -n 5 -O packets" \
  "-A dstip,srcip -n 10 -O flows proto tcp" \
  "-A srcip,proto -n 8 -O bytes -t 2024/05/01.12:20:00-2024/05/01.12:40:00"; do
  oq=$((oq + 1))
  copies_like_segments "ordered_$oq" "by-address copy, ([1-9]|1[0-2]) of them in address order\)" "$q"
done
# the copies' per-block sums (blocks wholly inside the window; the others
# as rows) answer as the segments do: statistics of one address element
# without a filter (sums by address), and of the protocol or exporter, or
# summaries, of one host or net the scan applies whole (sums by protocol)
sq=0
for q in "-s srcip/bytes -n 20" "-s dstip -n 0" "-s srcip/flows -n 10 -t 2024/05/01.12:20:00-2024/05/01.12:40:00" \
  "-s dstip/packets -n 10 -t 2024/05/01.12:00:00-2024/05/01.12:35:00 --window-mode overlap" \
  "-s srcip/pps -n 10 -t 2024/05/01.12:10:00-2024/05/01.12:50:00 --window-mode start" \
  "-s proto host $ip" "--summary src host $ip" \
  "-s sysid -t 2024/05/01.12:20:00-2024/05/01.12:40:00 dst host $ip" \
  "-s proto/bytes -n 0 src net $ip/24"; do
  sq=$((sq + 1))
  copies_like_segments "sums_$sq" "pruned, [1-9][0-9]* read as their sums\)" "$q"
done
# with a filter, -s of an address reads no sums
"$FL_BIN" query --store "$S" --no-cache --log-level debug -q -o csv -s srcip "proto tcp" >/dev/null 2>"$T_TMP/f.err"
grep -q " 0 read as their sums" "$T_TMP/f.err" && pass filtered_stats_no_sums ||
  fail filtered_stats_no_sums "$(grep 'store scan' "$T_TMP/f.err")"
# an -A without -n, or -s of another element, reads the segments
for q in "-A srcip,dstip" "-s srcport"; do
  # shellcheck disable=SC2086
  "$FL_BIN" query --store "$S" --no-cache --log-level debug -q -o csv $q >/dev/null 2>"$T_TMP/all.err"
  grep -q " 0 read through" "$T_TMP/all.err" && pass "unordered_$(echo "$q" | tr -cd a-z)" ||
    fail "unordered_$(echo "$q" | tr -cd a-z)" "$(grep 'store scan' "$T_TMP/all.err")"
done
"$FL_BIN" query --store "$S" --no-cache --log-level debug -q -o csv -c 5 "host $ip" >/dev/null 2>"$T_TMP/list.err"
grep -q " 0 read through" "$T_TMP/list.err" && pass listing_reads_segments ||
  fail listing_reads_segments "$(grep 'store scan' "$T_TMP/list.err")"

# -c N lists the N earliest flows, reading only the segments and row groups
# that start before the N-th found so far: the same rows as the head of the
# whole listing in time order (one thread: ties in the same arrival order),
# the same start times with two threads, most segments skipped
for f in "proto tcp" "host $ip" "bytes > 1000"; do
  n=$(echo "$f" | tr -cd 'a-z0-9')
  "$FL_BIN" query --store "$S" --no-cache --threads 1 -q -o csv -O tstart "$f" | head -21 >"$T_TMP/all.csv"
  "$FL_BIN" query --store "$S" --no-cache --threads 1 -q -o csv -c 20 "$f" >"$T_TMP/c1.csv"
  "$FL_BIN" query --store "$S" --no-cache --threads 2 --log-level debug -q -o csv -c 20 "$f" \
    >"$T_TMP/c2.csv" 2>"$T_TMP/c2.err"
  [ "$(wc -l <"$T_TMP/all.csv")" = 21 ] && cmp -s "$T_TMP/all.csv" "$T_TMP/c1.csv" &&
    pass "first20_$n" || fail "first20_$n" "$(diff "$T_TMP/all.csv" "$T_TMP/c1.csv" | head -4)"
  [ "$(cut -d, -f1 "$T_TMP/c2.csv")" = "$(cut -d, -f1 "$T_TMP/all.csv")" ] &&
    pass "first20_threads_$n" || fail "first20_threads_$n" "$(diff "$T_TMP/all.csv" "$T_TMP/c2.csv" | head -4)"
  grep -qE "store scan: 12 segments \(([5-9]|1[0-1]) pruned" "$T_TMP/c2.err" &&
    pass "first20_skips_$n" || fail "first20_skips_$n" "$(grep 'store scan' "$T_TMP/c2.err")"
done

# flip 8 bytes in the middle of the first segment: --deep names file, column, chunk
seg=$(ls "$S"/seg/*.fls | head -1)
size=$(stat -c %s "$seg")
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$seg" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_rc verify_deep_corrupt 1 "$FL_BIN" verify --store "$S" --deep
expect_out verify_names_file "$(basename "$seg"): column [a-z_]+, chunk [0-9]+"
expect_out verify_counts_problem "[1-9][0-9]* problem\(s\)$"

# truncated segment: even the quick verify names it
seg2=$(ls "$S"/seg/*.fls | tail -1)
truncate -s -50 "$seg2"
expect_rc verify_truncated 1 "$FL_BIN" verify --store "$S"
expect_out verify_names_truncated "$(basename "$seg2"): "

# a by-address copy with a damaged directory: named, with what to do (the
# segment itself is intact); one with a damaged chunk: --deep names it
cp1=$(ls "$S"/seg/*.fla | sed -n 2p)
printf '\xde\xad\xbe\xef' | dd of="$cp1" bs=1 seek=$(($(stat -c %s "$cp1") - 40)) conv=notrunc status=none
expect_rc verify_copy_damaged 1 "$FL_BIN" verify --store "$S"
expect_out verify_names_copy "$(basename "$cp1"): by-address copy: .*delete it: $(basename "$cp1" .fla).fls is intact"
# (the first block's data: the trailer gives the directory, whose first
# entry gives the block, whose header gives its metadata length)
cp2=$(ls "$S"/seg/*.fla | sed -n 3p)
le() { od -An -t "u$3" -j "$2" -N "$3" "$1" | tr -d ' '; }
doff=$(le "$cp2" $(($(stat -c %s "$cp2") - 24)) 8)
boff=$(le "$cp2" $((doff + 40)) 8)
data=$((boff + 32 + $(le "$cp2" $((boff + 4)) 4)))
printf '\xde\xad\xbe\xef' | dd of="$cp2" bs=1 seek=$((data + 9)) conv=notrunc status=none
expect_rc verify_copy_deep 1 "$FL_BIN" verify --store "$S" --deep
expect_out verify_copy_deep_names "$(basename "$cp2"): column [a-z_]+, chunk [0-9]+"

# expire
expect_rc expire_needs_limit 2 "$FL_BIN" expire --store "$S"
expect_rc expire_bad_age 2 "$FL_BIN" expire --store "$S" --max-age 30
expect_out expire_bad_age_msg "expected a number and a unit"
expect_rc expire_bad_size 2 "$FL_BIN" expire --store "$S" --max-size 10X
n0=$(ls "$S"/seg/*.fls | wc -l)
expect_rc expire_dry_run 0 "$FL_BIN" expire --store "$S" --max-size 1 --dry-run
expect_out expire_dry_run_lists "would delete"
n1=$(ls "$S"/seg/*.fls | wc -l)
[ "$n0" -eq "$n1" ] && pass expire_dry_run_keeps || fail expire_dry_run_keeps "$n0 -> $n1"
# flows are from 2024: an age of 1 day deletes every segment
expect_rc expire_by_age 0 "$FL_BIN" expire --store "$S" --max-age 1d
expect_out expire_by_age_count "^expire: $n0 segments .* deleted, 0 segments"
n2=$(ls "$S"/seg/ | grep -c '\.fls$')
[ "$n2" -eq 0 ] && pass expire_deleted_files || fail expire_deleted_files "$n2 left"
n3=$(ls "$S"/seg/ | grep -c '\.fla$')
[ "$n3" -eq 0 ] && pass expire_deleted_copies || fail expire_deleted_copies "$n3 left"
expect_rc verify_after_expire 0 "$FL_BIN" verify --store "$S"

# a store of a newer format is refused with a clear message
echo "flowlens-store 9" >"$S/FORMAT"
expect_rc verify_newer_format 1 "$FL_BIN" verify --store "$S"
expect_out verify_newer_message "format version 9 is newer than this flowlens supports"
expect_rc verify_missing_store 1 "$FL_BIN" verify --store "$T_TMP/nothing-here"
expect_out verify_missing_message "no store here"
