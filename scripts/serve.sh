#!/usr/bin/env bash
# scripts/serve.sh — README command one: install what is missing, build the
# release binary, start `flowlens serve` (demo data when the store is empty).
# Extra arguments go to `flowlens serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
make -j"$(nproc 2>/dev/null || echo 2)" release
exec ./build/release/flowlens serve --demo "$@"
