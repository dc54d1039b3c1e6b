#!/usr/bin/env bash
# Host-side check of generated code: compiles a single-input, single-output
# model with `kiln compile`, builds arena_harness.cpp with the generated
# folder under AddressSanitizer and UBSan, and runs it (see the harness for
# what it checks: tight arena, no read of uninitialised arena memory, no
# write past it, argument checks, accuracy against EXPECTED_NPY).
# usage: arena_check.sh KILN_BINARY MODEL_JSON INPUT_NPY EXPECTED_NPY WORKDIR
#                       [extra kiln compile flags, e.g. -D act=prelu...]
set -euo pipefail

if [ $# -lt 5 ]; then
  echo "usage: $0 KILN_BINARY MODEL_JSON INPUT_NPY EXPECTED_NPY WORKDIR [kiln flags...]" >&2
  exit 2
fi
kiln=$1 model=$2 input=$3 expected=$4 work=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
cxx=${CXX:-c++}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work"
out=$work/out
"$kiln" compile "$model" "$@" -o "$out"

# The model's name: from the JSON, else from the header the compiler wrote.
name=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' \
         "$model" 2>/dev/null || true)
if [ -z "$name" ]; then
  for h in "$out"/*.h; do
    name=$(basename "$h" .h)
  done
fi
[ -n "$name" ] && [ -f "$out/$name.h" ] && [ -f "$out/$name.cpp" ] ||
  fail "kiln compile wrote no NAME.h / NAME.cpp in $out (name '$name')"

flags=(-std=c++17 -O1 -g -Wall -Wextra -Werror -fno-exceptions -fno-rtti
       -fsanitize=address,undefined -fno-sanitize-recover=all
       -fno-omit-frame-pointer)
echo "$cxx ${flags[*]} -I $out -DKILN_MODEL_HEADER='\"$name.h\"'" \
     "-DKILN_MODEL_NAME=$name arena_harness.cpp $name.cpp"
"$cxx" "${flags[@]}" -I "$out" "-DKILN_MODEL_HEADER=\"$name.h\"" \
  "-DKILN_MODEL_NAME=$name" "$here/arena_harness.cpp" "$out/$name.cpp" \
  -o "$work/arena_harness" || fail "the harness does not build"

# Leaks are not this test's business (the harness exits through exit() on
# failure); everything else ASan and UBSan find is fatal.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$work/arena_harness" "$input" "$expected"
