#!/usr/bin/env bash
# bench/run.sh — run every benchmark (bench/*.sh other than this one), each
# side by side with its peer (nfdump/nfcapd), printing ratios.
#   make bench                 all benchmarks
#   bash bench/run.sh store    only bench/store.sh
# Benchmarks are never part of the test run; they use fixed seeds and check
# their own outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
make -j"$(nproc)" release >/dev/null
for b in bench/*.sh; do
  name=$(basename "$b" .sh)
  [ "$name" = run ] && continue
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  echo "=== bench/$name"
  bash "$b"
done
