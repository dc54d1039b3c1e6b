#!/usr/bin/env bash
# End-to-end check of one reference model folder (model.json, weights,
# input_<name>.npy, expected_<name>.npy, optional flags.txt):
#   1. kiln build -> static executable; its outputs match expected_*.npy
#   2. kiln compile -> C++ folder; compiles on its own with the strict flags
#      (incbin and --embed=array weights)
#   3. kiln run (reference interpreter) matches expected_*.npy, on the naive
#      graph and after the default pipeline (verified after every pass)
#   4. the textual IR round-trips: print, parse (kiln opt), print is
#      identical, before and after the pipeline
# usage: check_model.sh KILN MODEL_DIR WORKDIR [extra kiln flags...]
set -euo pipefail
kiln=$1 dir=$2 work=$3
shift 3
python=${KILN_PYTHON:-/usr/bin/python3}
compare="$python $(dirname "$0")/compare_npy.py"
cxx=${CXX:-c++}
strict=(-std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions -fno-rtti -c)

rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/model_folder.sh"

# 1. Static executable.
"$kiln" build "$dir/model.json" "${flags[@]}" --verify-each -o "$work/prog"
out_args=()
for n in "${outputs[@]}"; do out_args+=(--output "$n=$work/prog_$n.npy"); done
"$work/prog" "${inputs[@]}" "${out_args[@]}"
for n in "${outputs[@]}"; do
  $compare "$dir/expected_$n.npy" "$work/prog_$n.npy" --label "binary $n"
done

# 2. The C++ folder compiles on its own, both weight embeddings.
"$kiln" compile "$dir/model.json" "${flags[@]}" -o "$work/cpp"
(cd "$work/cpp" && for f in *.cpp; do $cxx "${strict[@]}" "$f" -o "${f%.cpp}.o"; done)
"$kiln" compile "$dir/model.json" "${flags[@]}" --embed=array -o "$work/cpp_array"
(cd "$work/cpp_array" && for f in *.cpp; do $cxx "${strict[@]}" "$f" -o "${f%.cpp}.o"; done)
if ls "$work/cpp_array"/*.weights.bin >/dev/null 2>&1; then
  echo "FAIL: --embed=array wrote a weights blob"; exit 1
fi
echo "generated C++ compiles with: $cxx ${strict[*]}"

# 3. Reference interpreter.
out_args=()
for n in "${outputs[@]}"; do out_args+=(--output "$n=$work/run_$n.npy"); done
"$kiln" run "$dir/model.json" "${flags[@]}" "${inputs[@]}" "${out_args[@]}"
for n in "${outputs[@]}"; do
  $compare "$dir/expected_$n.npy" "$work/run_$n.npy" --label "kiln run $n"
done

out_args=()
for n in "${outputs[@]}"; do out_args+=(--output "$n=$work/run_O1_$n.npy"); done
"$kiln" run "$dir/model.json" "${flags[@]}" -O1 --verify-each "${inputs[@]}" "${out_args[@]}"
for n in "${outputs[@]}"; do
  $compare "$dir/expected_$n.npy" "$work/run_O1_$n.npy" --label "kiln run -O1 $n"
done

# 4. Textual IR round trip.
for level in -O0 -O1; do
  "$kiln" compile "$dir/model.json" "${flags[@]}" $level --emit=ir --print-locations -o "$work/ir$level.kir"
  "$kiln" opt "$work/ir$level.kir" --print-locations -o "$work/ir$level.again.kir"
  cmp "$work/ir$level.kir" "$work/ir$level.again.kir"
done
echo "textual IR round-trips at -O0 and -O1"
