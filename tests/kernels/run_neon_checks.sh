#!/usr/bin/env bash
# The per-ISA kernel checks built for AArch64 (NEON micro-kernels) with the
# cross compiler and run under qemu-aarch64; exit 77 (ctest: skipped) with
# the reason when either is missing.
# usage: run_neon_checks.sh CXX QEMU SOURCE_DIR WORK_DIR
set -euo pipefail
cxx=$1 qemu=$2 src=$3 work=$4
if [ ! -x "$cxx" ] || [ ! -x "$qemu" ]; then
  echo "SKIPPED: NEON kernels not checked: aarch64-linux-gnu-g++ or qemu-aarch64 missing (tools/install-deps.sh installs them)"
  exit 77
fi
mkdir -p "$work"
"$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -static -I "$src" -I "$src/runtime" \
  "$src/tests/kernels/isa_checks.cpp" "$src/tests/kernels/depthwise_checks.cpp" \
  "$src/tests/kernels/pool_checks.cpp" "$src/tests/kernels/vmath_checks.cpp" \
  "$src/tests/kernels/isa_check_main.cpp" \
  -o "$work/isa_checks_neon"
"$qemu" "$work/isa_checks_neon"
