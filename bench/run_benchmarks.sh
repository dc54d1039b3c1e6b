#!/usr/bin/env bash
# `make bench`: the benchmarks, side by side in one run (medians of
# repetitions; machines are shared and noisy).
#   fused vs unfused epilogues (Google Benchmark)
#   LeNet latency of the static binary
# The weights-embedding benchmark (minutes, GBs of memory for the C++
# array mode) runs separately: bench/weights_embedding.sh KILN WORKDIR.
set -euo pipefail
kiln=${1:-build/bin/kiln}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(dirname "$kiln")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== fused vs unfused epilogues"
"$bin/kiln_fusion_bench" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.2

echo "== LeNet, static binary, batch 1 (median of 2000 runs, 3 times)"
"$kiln" build "$root/examples/lenet/model.json" -o "$work/lenet"
for i in 1 2 3; do
  "$work/lenet" --input "x=$root/examples/lenet/input_x.npy" --bench 2000
done
