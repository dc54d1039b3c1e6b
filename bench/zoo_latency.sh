#!/usr/bin/env bash
# Latency of the model zoo (examples/): for each example, Kiln's static
# binary (`PROG --bench N`, median) next to PyTorch (torch.set_num_threads(1),
# batch 1, median of N runs), in the same run of the example's run.sh (which
# also checks the outputs against PyTorch; its whole output is kept in
# build/zoo_latency/EXAMPLE.log), then one markdown table with the
# parameters and MACs (`kiln info`).
# usage: bench/zoo_latency.sh [KILN] [RUNS] [EXAMPLE...]
#   KILN default build/bin/kiln, RUNS default 20, EXAMPLE default all of the
#   PyTorch examples (the firmware example has no latency: it is only built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kiln=$(realpath "${1:-$root/build/bin/kiln}")
runs=${2:-20}
shift $(($# < 2 ? $# : 2))
examples=("$@")
if [ ${#examples[@]} -eq 0 ]; then
  examples=(lenet_course alexnet resnet18 mobilenet_v2 mobilenet_v3_small
            efficientnet_b0 dcgan_generator kws_1d net3d unpool_autoencoder)
fi
work=$root/build/zoo_latency
mkdir -p "$work"
summaries=()
for e in "${examples[@]}"; do
  echo "== $e"
  "$root/examples/$e/run.sh" --kiln "$kiln" --work "$work/$e" --bench "$runs" \
    --summary "$work/$e.json" | tee "$work/$e.log" | sed -n '/^== latency/,$p'
  summaries+=("$work/$e.json")
done
echo
echo "batch 1, one thread, median of $runs runs; $(nproc) cores, load average" \
     "$(cut -d' ' -f1-3 /proc/loadavg)"
echo
"${KILN_PYTHON:-/usr/bin/python3}" "$root/examples/common/zoo.py" table "${summaries[@]}"
