#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds mp with AddressSanitizer, UBSan and -Werror, then runs every test.
#   scripts/test.sh            # the whole suite (what CI runs)
#   BUILD_DIR=b scripts/test.sh -R slt/   # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DMP_SANITIZE=ON -DMP_WERROR=ON >/dev/null
cmake --build "$build"
# ASan's leak checker is on; an mp-slt run also checks sqlite3_memory_used().
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j 2 "$@"
