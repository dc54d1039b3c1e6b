#!/usr/bin/env bash
# The C++ and LLVM backends side by side: LeNet (examples/lenet), batch 1,
# latency of the static binary that `kiln build` makes through each backend
# (median of --bench 2000 runs; three runs of each, alternating, since
# machines are shared and noisy), and the time each build takes.
# usage: bench/backends.sh [KILN] [extra kiln build flags...]
set -euo pipefail
kiln=${1:-build/bin/kiln}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/examples/lenet/model.json
input=$root/examples/lenet/input_x.npy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for backend in cpp llvm; do
  start=$(date +%s.%N)
  "$kiln" build "$model" --backend=$backend "$@" -o "$work/lenet_$backend"
  end=$(date +%s.%N)
  awk -v b=$backend -v s="$start" -v e="$end" \
    'BEGIN { printf "kiln build --backend=%-4s %6.2f s\n", b, e - s }'
done

declare -A runs
for i in 1 2 3; do
  for backend in cpp llvm; do
    ms=$("$work/lenet_$backend" --input "x=$input" --bench 2000 |
           sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    runs[$backend]+="$ms "
  done
done

echo
echo "LeNet, batch 1, median of 2000 runs (ms), three runs each:"
printf '  %-6s %s\n' backend "run 1    run 2    run 3    best"
for backend in cpp llvm; do
  read -r -a v <<<"${runs[$backend]}"
  best=$(printf '%s\n' "${v[@]}" | sort -g | head -n 1)
  printf '  %-6s %-8s %-8s %-8s %s\n' $backend "${v[0]}" "${v[1]}" "${v[2]}" "$best"
done
