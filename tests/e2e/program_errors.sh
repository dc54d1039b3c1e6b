#!/usr/bin/env bash
# The program made by `kiln build` refuses bad inputs with one clear line
# and a non-zero exit: a missing input, an unknown name, a wrong shape, a
# float64 file, a file that is not .npy, a bad --bench count.
# usage: program_errors.sh KILN MODEL_DIR WORKDIR
set -euo pipefail
kiln=$1 dir=$2 work=$3
python=${KILN_PYTHON:-/usr/bin/python3}
rm -rf "$work" && mkdir -p "$work"
"$kiln" build "$dir/model.json" -o "$work/prog"
"$python" - "$work" <<'PY'
import sys, numpy as np
w = sys.argv[1]
np.save(w + "/wrong_shape.npy", np.zeros((1, 3, 32, 31), np.float32))
np.save(w + "/float64.npy", np.zeros((1, 3, 32, 32), np.float64))
open(w + "/not_npy.npy", "wb").write(b"hello")
PY

fails=0
expect_error() { # expected-fragment, then the program's arguments
  local fragment=$1; shift
  if "$work/prog" "$@" > "$work/out.txt" 2> "$work/err.txt"; then
    echo "FAIL: prog $* succeeded"; fails=$((fails + 1)); return
  fi
  if ! grep -qF -- "$fragment" "$work/err.txt"; then
    echo "FAIL: prog $*: stderr lacks '$fragment':"; cat "$work/err.txt"
    fails=$((fails + 1)); return
  fi
  echo "ok: prog $* -> $(head -1 "$work/err.txt")"
}
expect_error "missing --input x=FILE.npy"
expect_error "has no input named 'z'" --input "z=$dir/input_x.npy"
expect_error "must have shape [1, 3, 32, 32], found [1, 3, 32, 31]" --input "x=$work/wrong_shape.npy"
expect_error "'<f8'" --input "x=$work/float64.npy"
expect_error "not_npy.npy" --input "x=$work/not_npy.npy"
expect_error "No such file or directory" --input "x=$work/absent.npy"
expect_error "--bench expects a positive count" --input "x=$dir/input_x.npy" --bench 0
expect_error "has no output named 'q'" --input "x=$dir/input_x.npy" --output "q=$work/q.npy"
# A good run still works, and writes nothing when told to print.
"$work/prog" --input "x=$dir/input_x.npy" > "$work/out.txt"
grep -q "y: float32 \[1, 10\]" "$work/out.txt" || { echo "FAIL: no printed output"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ]
