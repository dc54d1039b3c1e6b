#!/usr/bin/env bash
# `make bench`: the benchmarks, side by side in one run (bench/README.md).
#   1. the headline latency table (bench/latency.py): the model zoo at batch
#      1, one thread, one pinned core: ONNX Runtime, PyTorch, Kiln's C++ and
#      LLVM backends; interleaved rounds, outputs checked against PyTorch;
#      also written to build/bench/latency.md
#   2. fused vs unfused epilogues (Google Benchmark, kiln_fusion_bench)
# The weights-embedding benchmark (minutes, GBs of memory for the C++
# array mode) runs separately: bench/weights_embedding.sh KILN WORKDIR.
# usage: bench/run_benchmarks.sh [KILN] [--rounds R] [--models a,b,c]
#          [--quick] [--min-time S] [--min-iters N] [--core C] [--no-ort]
#   KILN default build/bin/kiln; the options are bench/latency.py's
#   (--help lists them). Exit status 1 when a Kiln output fails its check
#   or a Kiln column cannot run (the epilogue benchmark still runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kiln=$root/build/bin/kiln
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
  kiln=$1
  shift
fi
bin=$(dirname "$kiln")
python=${KILN_PYTHON:-/usr/bin/python3}

echo "== latency of the model zoo against PyTorch and ONNX Runtime"
status=0
"$python" "$root/bench/latency.py" --kiln "$kiln" "$@" || status=$?
[ $status -ne 2 ] || exit 2 # a usage error, or no kiln: nothing ran

echo
echo "== fused vs unfused epilogues"
if [ -x "$bin/kiln_fusion_bench" ]; then
  "$bin/kiln_fusion_bench" --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true --benchmark_min_time=0.2
else
  echo "no $bin/kiln_fusion_bench (built by \`make\`): skipped"
fi
exit $status
