#!/usr/bin/env bash
# scripts/setup.sh — install what flowlens needs on a Debian 12 machine.
#
# Idempotent: checks each package with dpkg-query and calls apt-get only for
# what is missing, so on a ready machine it does nothing and prints one line.
# Runs as root, or through sudo when not root. The package list is the one
# place the project's system dependencies are named.
set -euo pipefail

# Build and library dependencies (DESIGN.md "Choices already made").
BUILD_PKGS="build-essential make pkg-config clang libclang-rt-14-dev llvm
  libzstd-dev liblz4-dev libjansson-dev libmicrohttpd-dev liblzo2-dev libbz2-dev
  zlib1g-dev"
# Real peers the tests compare against.
PEER_PKGS="nfdump tshark softflowd pmacct python3 tzdata zstd iproute2"
# The web UI: node/npm build it (uPlot from npm), tests drive Chromium and curl.
WEB_PKGS="chromium curl openssl"

want="$BUILD_PKGS $PEER_PKGS $WEB_PKGS"
# node and npm: any install will do (Debian's nodejs + npm when none is there)
command -v npm >/dev/null 2>&1 || want="$want nodejs npm"
missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

# web/node_modules (uPlot, playwright-core) from web/package-lock.json
web_deps() {
  if [ ! -d "$(dirname "$0")/../web/node_modules/uplot" ] || \
     [ ! -d "$(dirname "$0")/../web/node_modules/playwright-core" ]; then
    echo "setup: npm ci in web/"
    (cd "$(dirname "$0")/../web" && npm ci --no-audit --no-fund)
  fi
}

if [ -z "$missing" ]; then
  echo "setup: all packages present"
  web_deps
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer it up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
web_deps
