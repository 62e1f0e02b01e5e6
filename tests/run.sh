#!/usr/bin/env bash
# tests/run.sh — run every test of the project and print the closing line
# "N passed, N failed" (exit 1 on any failure).
#
# What runs, per module directory tests/<module>/:
#   - C test programs   tests/<module>/test_*.c  (built into $BUILD/tests/)
#   - shell tests       tests/<module>/test_*.sh (run with tests/lib.sh)
# then every fuzz target's corpus replayed under ASan+UBSan, then every
# libFuzzer target run for $FUZZ_SECONDS (0 skips that step) on a scratch
# copy of its corpus. Each test prints PASS/FAIL lines; a program that dies
# without printing FAIL is counted as one failure.
#
# Environment: BUILD (default build/asan), FUZZ_SECONDS (default 5),
# FLOWLENS_CAPTURES (default ../shared/captures), TEST_FILTER (substring of
# test paths to run; default all).
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build/asan}
FUZZ_SECONDS=${FUZZ_SECONDS:-5}
TEST_FILTER=${TEST_FILTER:-}
export FLOWLENS_CAPTURES=${FLOWLENS_CAPTURES:-$ROOT/../shared/captures}
export FL_ROOT=$ROOT FL_BUILD=$ROOT/$BUILD FL_BIN=$ROOT/$BUILD/flowlens
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TZ=UTC

OUT=$(mktemp -d /tmp/flowlens-tests.XXXXXX)
export FL_TEST_OUT=$OUT
passed=0
failed=0

if [ -d "$FLOWLENS_CAPTURES" ]; then
  echo "captures: $FLOWLENS_CAPTURES"
else
  echo "captures: NOT FOUND at $FLOWLENS_CAPTURES (set FLOWLENS_CAPTURES);" \
       "tests that need real exports will fail, not skip"
fi

# run NAME CMD... — run one test program, count its PASS/FAIL lines
run() {
  local name=$1; shift
  local log="$OUT/$(echo "$name" | tr '/ ' '__').log"
  "$@" >"$log" 2>&1
  local rc=$?
  local p f
  p=$(grep -c '^PASS ' "$log")
  f=$(grep -c '^FAIL ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $name: exited with status $rc" >>"$log"
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    echo "== $name: $p passed, $f failed (log: $log)"
    grep '^FAIL ' "$log" | sed 's/^/   /'
    # the sanitizer's report, if any, tells why
    grep -A12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -40 | sed 's/^/   | /'
  else
    echo "ok $name: $p passed"
  fi
}

selected() { [ -z "$TEST_FILTER" ] || [[ "$1" == *"$TEST_FILTER"* ]]; }

for dir in tests/*/; do
  mod=$(basename "$dir")
  for src in "$dir"test_*.c; do
    [ -e "$src" ] || continue
    selected "$src" || continue
    bin="$BUILD/tests/$mod/$(basename "$src" .c)"
    run "$mod/$(basename "$src" .c)" "$bin"
  done
  for sh in "$dir"test_*.sh; do
    [ -e "$sh" ] || continue
    selected "$sh" || continue
    run "$mod/$(basename "$sh" .sh)" bash "$sh"
  done
done

for src in fuzz/fuzz_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  selected "$name" || continue
  dirs="fuzz/corpus/$name"
  # extra seed directories (e.g. captures) listed one per line
  if [ -f "fuzz/$name.seeds" ]; then
    while read -r d; do
      [ -n "$d" ] && dirs="$dirs $(eval echo "$d")"
    done <"fuzz/$name.seeds"
  fi
  # shellcheck disable=SC2086
  run "fuzz-replay/$name" "$BUILD/replay/$name" $dirs
  if [ "$FUZZ_SECONDS" -gt 0 ] && [ -x "build/fuzz/$name" ]; then
    scratch="$OUT/corpus-$name"
    mkdir -p "$scratch"
    cp -r "fuzz/corpus/$name/." "$scratch/"
    run "fuzz/$name" bash -c "build/fuzz/$name -max_total_time=$FUZZ_SECONDS \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $scratch >$OUT/$name.fuzz.log 2>&1 \
      && echo 'PASS fuzz $name ($FUZZ_SECONDS s, '\$(grep -o 'stat::number_of_executed_units: *[0-9]*' $OUT/$name.fuzz.log | grep -o '[0-9]*$')' runs)' \
      || { echo 'FAIL fuzz $name: crash, see $OUT/$name.fuzz.log'; tail -30 $OUT/$name.fuzz.log; }"
  fi
done

echo "test logs: $OUT"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
