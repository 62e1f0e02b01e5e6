#!/usr/bin/env bash
# scripts/test.sh — README command two: install what is missing, build the
# sanitizer and fuzz variants, run every test. Prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" asan
make -j"$jobs" fuzz
exec bash tests/run.sh
