#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages mp needs to build and test (run as root).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libsqlite3-dev sqlite3 libssl-dev libcurl4-openssl-dev
  python3 valgrind clang libclang-rt-14-dev clang-format
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
