#!/usr/bin/env bash
# tests/filter/test_golden.sh — `flowlens filter --explain` for every
# primitive against golden files: golden/NAME.flt holds the filter,
# golden/NAME.explain the expected plan. UPDATE_GOLDEN=1 rewrites the
# .explain files from the current binary (review the diff before committing).
. "$(dirname "$0")/../lib.sh"
G=$(cd "$(dirname "$0")" && pwd)/golden
for flt in "$G"/*.flt; do
  name=$(basename "$flt" .flt)
  want="$G/$name.explain"
  if ! "$FL_BIN" filter --explain "$(cat "$flt")" >"$T_TMP/got" 2>"$T_TMP/err"; then
    fail "golden $name" "does not compile: $(cat "$T_TMP/err")"
    continue
  fi
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$T_TMP/got" "$want"; fi
  if [ ! -f "$want" ]; then fail "golden $name" "missing $want"; continue; fi
  if diff -u "$want" "$T_TMP/got" >"$T_TMP/diff"; then pass "golden $name"; else fail "golden $name" "$(head -c 600 "$T_TMP/diff")"; fi
done
# the same filter read from a file (-f) explains the same way
expect_rc "filter -f file" 0 "$FL_BIN" filter --explain -f "$G/and_or.flt"
if diff -q "$T_TMP/out" "$G/and_or.explain" >/dev/null; then pass "-f matches golden"; else fail "-f matches golden" "$(head -c 300 "$T_TMP/out")"; fi
