#!/usr/bin/env bash
# The demo of `make demo`: compiles this LeNet (JSON + safetensors) into a
# static executable, runs it on the sample input and prints the output next
# to PyTorch's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kiln=${1:-$here/../../build/bin/kiln}
out=$here/../../build/demo
mkdir -p "$out"

echo "== kiln build examples/lenet/model.json -o build/demo/lenet"
"$kiln" build "$here/model.json" -o "$out/lenet"
ls -l "$out/lenet" | awk '{print "   static executable:", $5, "bytes"}'
file "$out/lenet" 2>/dev/null | sed 's/^/   /' || true

echo "== build/demo/lenet --input x=examples/lenet/input_x.npy"
"$out/lenet" --input "x=$here/input_x.npy"

echo "== PyTorch's output (examples/lenet/expected_y.npy)"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  /usr/bin/python3 -c "import numpy as np; np.set_printoptions(precision=9, linewidth=200); print('  ', np.load('$here/expected_y.npy').ravel())"
fi
"$out/lenet" --input "x=$here/input_x.npy" --output "y=$out/y.npy"
/usr/bin/python3 "$here/../../tests/e2e/compare_npy.py" "$here/expected_y.npy" "$out/y.npy" --label "lenet vs PyTorch"

echo "== latency"
"$out/lenet" --input "x=$here/input_x.npy" --bench 1000
