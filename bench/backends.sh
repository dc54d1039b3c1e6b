#!/usr/bin/env bash
# The C++ and LLVM backends side by side, batch 1: for each model the static
# binary `kiln build` makes through each backend (`--backend=cpp`: generated
# C++ compiled by the C++ compiler at -O3; `--backend=llvm`: the LLVM
# backend's object at -O2), run alternately in three rounds of
# `PROG --bench N`; the table gives each backend's median over all rounds
# (the median of the three round medians), the ratio LLVM / C++, whether the
# two programs' outputs are bit-identical on the same input, and each build's
# time. Both backends compile for the host's default CPU: the C++ compiler's
# default (x86-64 baseline for Debian's g++) and the LLVM backend's default
# CPU, the same baseline (docs/llvm-backend.md); BENCH_CPP_FLAGS and
# BENCH_LLVM_FLAGS add `kiln build` flags to each side, e.g.
#   BENCH_CPP_FLAGS=--cxxflag=-march=native BENCH_LLVM_FLAGS=--cpu=native
#
# Models: LeNet (examples/lenet) and torchvision's AlexNet, ResNet-18 and
# MobileNetV2 exported with tools/kiln_export (seeded random weights, seed 0;
# kept in build/bench_backends/ and exported again only when missing), on a
# seeded standard-normal input.
# usage: bench/backends.sh [KILN] [MODEL...]
#   KILN default build/bin/kiln; MODEL lenet, alexnet, resnet18, mobilenet_v2
#   (default all four). RUNS_LENET (default 3000) and RUNS_ZOO (default 20)
#   set N.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kiln=$(realpath "${1:-$root/build/bin/kiln}")
shift $(($# > 0 ? 1 : 0))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(lenet alexnet resnet18 mobilenet_v2)
python=${KILN_PYTHON:-/usr/bin/python3}
cache=$root/build/bench_backends
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read -r -a cpp_flags <<<"${BENCH_CPP_FLAGS:-}"
read -r -a llvm_flags <<<"${BENCH_LLVM_FLAGS:-}"

# model_dir MODEL -> prints the folder with model.json and input_x.npy
model_dir() {
  if [ "$1" = lenet ]; then
    echo "$root/examples/lenet"
    return
  fi
  local dir=$cache/$1
  if [ ! -f "$dir/model.json" ] || [ ! -f "$dir/input_x.npy" ]; then
    echo "exporting torchvision.models:$1 to $dir" >&2
    "$python" "$root/tools/kiln_export/kiln-export" "torchvision.models:$1" \
      --input x:1,3,224,224 --seed 0 -o "$dir" >&2
    "$python" -c "import numpy as np, sys
np.save(sys.argv[1], np.random.RandomState(0).standard_normal(
    (1, 3, 224, 224)).astype(np.float32))" "$dir/input_x.npy"
  fi
  echo "$dir"
}

# median < numbers
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rows=()
for m in "${models[@]}"; do
  case $m in
  lenet) runs=${RUNS_LENET:-3000} ;;
  alexnet | resnet18 | mobilenet_v2) runs=${RUNS_ZOO:-20} ;;
  *)
    echo "bench/backends.sh: unknown model \"$m\" (lenet, alexnet, resnet18," \
         "mobilenet_v2)" >&2
    exit 2
    ;;
  esac
  dir=$(model_dir "$m")
  declare -A build_s=()
  for backend in cpp llvm; do
    flags=("${cpp_flags[@]}")
    [ $backend = cpp ] || flags=("${llvm_flags[@]}")
    start=$(date +%s.%N)
    "$kiln" build "$dir/model.json" --backend=$backend "${flags[@]}" \
      -o "$work/${m}_$backend"
    build_s[$backend]=$(awk -v s="$start" -v e="$(date +%s.%N)" \
                          'BEGIN { printf "%.1f", e - s }')
    "$work/${m}_$backend" --input "x=$dir/input_x.npy" \
      --output "y=$work/${m}_$backend.npy" >/dev/null
  done
  if cmp -s "$work/${m}_cpp.npy" "$work/${m}_llvm.npy"; then same=yes; else same=no; fi
  declare -A medians=()
  for round in 1 2 3; do
    for backend in cpp llvm; do
      ms=$("$work/${m}_$backend" --input "x=$dir/input_x.npy" --bench "$runs" |
             sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
      [ -n "$ms" ] || { echo "no median from $m ($backend)" >&2; exit 1; }
      medians[$backend]+="$ms "
      echo "$m round $round: $backend median $ms ms (of $runs runs)" >&2
    done
  done
  cpp=$(printf '%s\n' ${medians[cpp]} | median)
  llvm=$(printf '%s\n' ${medians[llvm]} | median)
  rows+=("$(awk -v m="$m" -v c="$cpp" -v l="$llvm" -v n="$runs" -v s="$same" \
             -v bc="${build_s[cpp]}" -v bl="${build_s[llvm]}" 'BEGIN {
    printf "| %-12s | %10.4f | %10.4f | %7.2fx | %5d | %-9s | %7s s | %8s s |",
           m, c, l, l / c, n, s, bc, bl }')")
  unset build_s medians
done

echo
echo "batch 1, medians of 3 rounds of PROG --bench N (ms); $(nproc) cores," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1);" \
     "C++: $("${CXX:-c++}" --version | head -n 1) -O3 ${cpp_flags[*]}" \
     "LLVM: -O2 ${llvm_flags[*]}"
echo
echo "| model        |    C++ ms  |   LLVM ms  | LLVM/C++ |   N   | identical | C++ build | LLVM build |"
echo "| ------------ | ---------- | ---------- | -------- | ----- | --------- | --------- | ---------- |"
printf '%s\n' "${rows[@]}"
