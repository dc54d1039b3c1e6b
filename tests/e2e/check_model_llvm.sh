#!/usr/bin/env bash
# End-to-end check of one reference model folder through the LLVM backend
# (model.json, weights, input_<name>.npy, expected_<name>.npy, optional
# flags.txt), as check_model.sh does for the C++ backend:
#   1. kiln build --backend=llvm -> static executable (an LLVM object linked
#      with the generated main); its outputs match expected_*.npy, with the
#      default pipelines and at -O0 (no Kiln pass, no LLVM optimisation: the
#      naive graph's kernels, called rather than inlined)
#   2. the LLVM backend's NAME.h is the C++ backend's, byte for byte
#   3. the object has no .data / .bss (no mutable global state) and defines
#      exactly one global function, NAME_run
# usage: check_model_llvm.sh KILN MODEL_DIR WORKDIR [extra kiln flags...]
set -euo pipefail
kiln=$1 dir=$2 work=$3
shift 3
python=${KILN_PYTHON:-/usr/bin/python3}
compare="$python $(dirname "$0")/compare_npy.py"

rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/model_folder.sh"

# 1. Static executables through the LLVM backend.
for level in default -O0; do
  lflags=()
  [ "$level" = default ] || lflags=("$level")
  "$kiln" build "$dir/model.json" "${flags[@]}" ${lflags[@]+"${lflags[@]}"} \
    --backend=llvm --verify-each -o "$work/prog$level"
  out_args=()
  for n in "${outputs[@]}"; do out_args+=(--output "$n=$work/prog${level}_$n.npy"); done
  "$work/prog$level" "${inputs[@]}" "${out_args[@]}"
  for n in "${outputs[@]}"; do
    $compare "$dir/expected_$n.npy" "$work/prog${level}_$n.npy" --label "llvm binary ($level) $n"
  done
done

# 2. The same header as the C++ backend.
"$kiln" compile "$dir/model.json" "${flags[@]}" -o "$work/cpp"
"$kiln" compile "$dir/model.json" "${flags[@]}" --emit=obj -o "$work/obj"
name=
for h in "$work/obj"/*.h; do name=$(basename "$h" .h); done
[ -n "$name" ] && [ -f "$work/obj/$name.o" ] || { echo "FAIL: no NAME.h / NAME.o in $work/obj"; exit 1; }
cmp "$work/cpp/$name.h" "$work/obj/$name.h" ||
  { echo "FAIL: the LLVM backend's $name.h differs from the C++ backend's"; exit 1; }
echo "$name.h is the C++ backend's"

# 3. No mutable globals; one global function.
read -r _ data bss _ < <(size "$work/obj/$name.o" | awk 'NR == 2')
[ "$data" = 0 ] && [ "$bss" = 0 ] ||
  { echo "FAIL: $name.o has .data $data / .bss $bss bytes; expected 0"; exit 1; }
defined=$(nm --defined-only --extern-only "$work/obj/$name.o" | awk '{ print $3 }')
[ "$defined" = "${name}_run" ] ||
  { echo "FAIL: $name.o defines [$defined], expected only ${name}_run"; exit 1; }
echo "PASS: $name through the LLVM backend (no .data/.bss, one global function ${name}_run)"
