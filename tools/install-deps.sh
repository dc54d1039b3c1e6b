#!/usr/bin/env bash
# Installs Kiln's build and test dependencies from Debian 12 packages.
# Idempotent: packages already present are skipped; nothing is fetched
# from anywhere but the distribution's package archive.
set -euo pipefail

packages=(
  # toolchain
  make g++ cmake git python3
  # compiler dependencies
  llvm-16-dev libfmt-dev nlohmann-json3-dev
  # the LLVM backend's runtime bitcode (built with clang++-16)
  clang-16
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev llvm-16-tools
  python3-numpy python3-torch python3-torchvision
  # firmware and cross-target tests
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
  qemu-user g++-aarch64-linux-gnu
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: missing packages (${missing[*]}) and not root; install them as root" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
