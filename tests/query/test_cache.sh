# tests/query/test_cache.sh — the answer cache of `flowlens query --store`:
# a repeated question is answered from STORE/cache with the same bytes,
# and any change of the data it read (expiry here) or of the question
# makes the old answer unreachable.
. "$FL_ROOT/tests/lib.sh"

S="$T_TMP/store"
check mkstore "$FL_BUILD/tests/store/test_store" mkstore "$S" 200000 zstd
Q=("$FL_BIN" query --store "$S" --utc --log-level debug)

"${Q[@]}" -s srcip/bytes -n 10 >"$T_TMP/a1" 2>"$T_TMP/a1.err"
[ -s "$T_TMP/a1" ] && pass first_answer || fail first_answer "empty output"
grep -q "answer computed" "$T_TMP/a1.err" && pass first_computed || fail first_computed "$(cat "$T_TMP/a1.err")"
n=$(ls "$S"/cache/*.res 2>/dev/null | wc -l)
[ "$n" -eq 1 ] && pass one_entry || fail one_entry "$n entries"

"${Q[@]}" -s srcip/bytes -n 10 >"$T_TMP/a2" 2>"$T_TMP/a2.err"
grep -q "answer from the cache" "$T_TMP/a2.err" && pass second_cached || fail second_cached "$(cat "$T_TMP/a2.err")"
cmp -s "$T_TMP/a1" "$T_TMP/a2" && pass cached_same_bytes || fail cached_same_bytes "differs"
"${Q[@]}" --no-cache -s srcip/bytes -n 10 >"$T_TMP/a3" 2>"$T_TMP/a3.err"
grep -q "answer" "$T_TMP/a3.err" && fail no_cache_bypasses "$(cat "$T_TMP/a3.err")" || pass no_cache_bypasses
cmp -s "$T_TMP/a1" "$T_TMP/a3" && pass no_cache_same || fail no_cache_same "differs"

# another question, another entry
"${Q[@]}" -s srcip/bytes -n 5 >"$T_TMP/b1" 2>"$T_TMP/b1.err"
grep -q "answer computed" "$T_TMP/b1.err" && pass other_question_computed || fail other_question_computed "$(cat "$T_TMP/b1.err")"
[ "$(wc -l <"$T_TMP/b1")" -lt "$(wc -l <"$T_TMP/a1")" ] && pass other_question_answer || fail other_question_answer "not shorter"

# a damaged entry is a miss, never a wrong answer
for f in "$S"/cache/*.res; do printf 'XXXXXXXX' | dd of="$f" bs=1 seek=60 conv=notrunc status=none; done
"${Q[@]}" -s srcip/bytes -n 10 >"$T_TMP/c1" 2>"$T_TMP/c1.err"
grep -q "answer computed" "$T_TMP/c1.err" && pass damaged_is_miss || fail damaged_is_miss "$(cat "$T_TMP/c1.err")"
cmp -s "$T_TMP/a1" "$T_TMP/c1" && pass damaged_same_answer || fail damaged_same_answer "differs"

# expiry changes the data: the cached answer is not served again
nseg=$(ls "$S"/seg/*.fls | wc -l)
size=$(du -sb "$S/seg" | cut -f1)
check expire_half "$FL_BIN" expire --store "$S" --max-size $((size / 2))
[ "$(ls "$S"/seg/*.fls | wc -l)" -lt "$nseg" ] && pass expired_some || fail expired_some "nothing expired"
"${Q[@]}" -s srcip/bytes -n 10 >"$T_TMP/d1" 2>"$T_TMP/d1.err"
grep -q "answer computed" "$T_TMP/d1.err" && pass new_data_computed || fail new_data_computed "$(cat "$T_TMP/d1.err")"
"${Q[@]}" --no-cache -s srcip/bytes -n 10 >"$T_TMP/d2" 2>/dev/null
cmp -s "$T_TMP/d1" "$T_TMP/d2" && pass new_data_answer || fail new_data_answer "differs from --no-cache"
cmp -s "$T_TMP/a1" "$T_TMP/d1" && fail new_data_differs "same as before expiry" || pass new_data_differs

# @include reads files the key cannot see: never cached
mkdir -p "$T_TMP/filters"
echo "proto tcp" >"$T_TMP/filters/tcp"
"${Q[@]}" --filters-dir "$T_TMP/filters" -s dstport -n 3 '@include tcp' >/dev/null 2>"$T_TMP/e1.err"
"${Q[@]}" --filters-dir "$T_TMP/filters" -s dstport -n 3 '@include tcp' >/dev/null 2>"$T_TMP/e2.err"
grep -q "answer from the cache" "$T_TMP/e2.err" && fail include_not_cached "$(cat "$T_TMP/e2.err")" || pass include_not_cached
