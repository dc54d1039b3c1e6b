#!/usr/bin/env bash
# arena_check.sh for the LLVM backend: the object of `kiln compile
# --emit=obj` linked with arena_harness.cpp (built under AddressSanitizer and
# UBSan; the object itself is not instrumented): exact arena, guard bytes
# untouched, null pointers return 1 and a misaligned arena 2 without writing
# anything, accuracy against EXPECTED_NPY.
# usage: arena_check_llvm.sh KILN_BINARY MODEL_JSON INPUT_NPY EXPECTED_NPY WORKDIR
#                            [extra kiln compile flags...]
set -euo pipefail
if [ $# -lt 5 ]; then
  echo "usage: $0 KILN_BINARY MODEL_JSON INPUT_NPY EXPECTED_NPY WORKDIR [kiln flags...]" >&2
  exit 2
fi
kiln=$1 model=$2 input=$3 expected=$4 work=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
cxx=${CXX:-c++}

rm -rf "$work" && mkdir -p "$work"
out=$work/out
"$kiln" compile "$model" --emit=obj "$@" -o "$out"
name=
for h in "$out"/*.h; do name=$(basename "$h" .h); done
[ -n "$name" ] && [ -f "$out/$name.o" ] || { echo "FAIL: no NAME.h / NAME.o in $out" >&2; exit 1; }
# The harness includes kiln/npy.h: the runtime headers of `kiln compile`.
"$kiln" compile "$model" "$@" -o "$work/cpp"
flags=(-std=c++17 -O1 -g -Wall -Wextra -Werror -fno-exceptions -fno-rtti
       -fsanitize=address,undefined -fno-sanitize-recover=all
       -fno-omit-frame-pointer)
"$cxx" "${flags[@]}" -I "$out" -I "$work/cpp" "-DKILN_MODEL_HEADER=\"$name.h\"" \
  "-DKILN_MODEL_NAME=$name" "$here/arena_harness.cpp" "$out/$name.o" \
  -o "$work/arena_harness" || { echo "FAIL: the harness does not build" >&2; exit 1; }
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$work/arena_harness" "$input" "$expected"
