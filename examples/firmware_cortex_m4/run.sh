#!/usr/bin/env bash
# The firmware example (README.md): LeNet compiled by Kiln to C++, wrapped in
# main.cpp, built for a bare-metal Cortex-M4 with arm-none-eabi-gcc and the
# minimal startup.cpp + cortex_m4.ld; flash and RAM use printed. The same
# main.cpp is built for the host and run: its scores must match PyTorch's.
#   1. kiln compile examples/lenet/model.json -o WORK/lenet; sample.h from the
#      folder's input_x.npy and expected_y.npy (PyTorch's output)
#   2. host: c++ -DKILN_FW_HOST=1 main.cpp lenet.cpp, run: exit 0 iff the
#      scores are within 1e-5 of max|y| of PyTorch's
#   3. Cortex-M4: arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb -mfloat-abi=hard
#      -mfpu=fpv4-sp-d16 with the strict flags (-Wall -Wextra -Werror
#      -fno-exceptions -fno-rtti), -fcallgraph-info=su; link with
#      -nostartfiles, startup.cpp, cortex_m4.ld (1 MiB flash, 128 KiB RAM,
#      4 KiB stack reserved); arm-none-eabi-size; flash = text (code and
#      read-only data: the weights) + data, RAM = data + bss (the arena, the
#      output, the reserved stack); the stack's static worst case from main
#      (GCC's call-graph info, library leaves such as memset excluded) must
#      fit the reservation
#   4. qemu-system-arm, if installed, could run the ELF; it is not one of
#      Kiln's dependencies (tools/install-deps.sh), so the ELF is only built
# usage: run.sh [--kiln KILN] [--work DIR] [--model DIR]
# Exits 77 (ctest's skip code) when the arm-none-eabi toolchain is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kiln=${KILN:-$root/build/bin/kiln}
work=$root/build/examples/firmware_cortex_m4
model=$root/examples/lenet
python=${KILN_PYTHON:-/usr/bin/python3}
while [ $# -gt 0 ]; do
  case $1 in
    --kiln) kiln=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    *) echo "usage: $0 [--kiln KILN] [--work DIR] [--model DIR]" >&2; exit 2 ;;
  esac
done
fail() {
  echo "FAIL: firmware_cortex_m4: $*" >&2
  exit 1
}
for tool in arm-none-eabi-g++ arm-none-eabi-size; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "SKIP: $tool not found (make deps installs gcc-arm-none-eabi)"
    exit 77
  }
done
show() { echo "$ $*" | sed "s|$root/||g"; "$@"; }

rm -rf "$work" && mkdir -p "$work"
out=$work/lenet
name=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' \
         "$model/model.json")
[ "$name" = lenet ] || fail "main.cpp is written for the model lenet, $model has $name"

echo "== 1. kiln compile"
show "$kiln" compile "$model/model.json" --cpu=cortex-m4 -o "$out"
"$python" - "$model/input_x.npy" "$model/expected_y.npy" "$work/sample.h" <<'PY'
import sys
import numpy as np
x, y = (np.load(p).astype(np.float32).ravel() for p in sys.argv[1:3])
def arr(name, a):
    vals = ",".join("%.9gf" % v for v in a)
    return "constexpr float %s[%d] = {%s};\n" % (name, a.size, vals)
with open(sys.argv[3], "w") as f:
    f.write("// Written by examples/firmware_cortex_m4/run.sh from %s and %s.\n"
            "#pragma once\n" % tuple(sys.argv[1:3]))
    f.write(arr("kSampleInput", x) + arr("kSampleExpected", y))
PY
echo "  wrote $work/sample.h (the sample input, PyTorch's output)" | sed "s|$root/||g"

echo "== 2. the same main.cpp on the host"
show "${CXX:-c++}" -std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions \
  -fno-rtti -DKILN_FW_HOST=1 -I "$out" -I "$work" "$here/main.cpp" \
  "$out/$name.cpp" -o "$work/host_firmware"
(cd "$work" && ./host_firmware) || fail "the host build's scores do not match PyTorch's (exit $?)"

echo "== 3. Cortex-M4"
target=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
cflags=(-std=c++17 "${target[@]}" -Os -ffunction-sections -fdata-sections
        -fno-exceptions -fno-rtti -Wall -Wextra -Werror -fcallgraph-info=su)
m4=$work/m4 && mkdir -p "$m4"
(cd "$out" && show arm-none-eabi-g++ "${cflags[@]}" -c "$name.cpp" -o "$m4/$name.o")
show arm-none-eabi-g++ "${cflags[@]}" -I "$out" -I "$work" -c "$here/main.cpp" -o "$m4/main.o"
show arm-none-eabi-g++ "${cflags[@]}" -c "$here/startup.cpp" -o "$m4/startup.o"
elf=$m4/firmware.elf
show arm-none-eabi-g++ "${target[@]}" -nostartfiles -L "$here" -T cortex_m4.ld \
  -Wl,--gc-sections -Wl,--print-memory-usage "$m4/startup.o" "$m4/main.o" \
  "$m4/$name.o" -lm -lc -lgcc -o "$elf" || fail "the Cortex-M4 link failed"
show arm-none-eabi-size "$elf"
read -r text data bss _ < <(arm-none-eabi-size "$elf" | awk 'NR == 2')
echo "$ arm-none-eabi-size -A $elf  (allocated sections)" | sed "s|$root/||g"
arm-none-eabi-size -A "$elf" |
  awk '$1 ~ /^\.(isr_vector|text|ARM\\.exidx|data|bss|stack)/ { printf "  %-12s %8d  0x%08x\n", $1, $2, $3 }'

hconst() { sed -n "s/.*constexpr [a-z_0-9 ]*[ *]$1 = \([0-9]*\);.*/\1/p" "$out/$name.h"; }
arena=$(hconst kArenaBytes) weights=$(hconst kWeightBytes)
sample=$((4 * ($(hconst kInput0Elements) + $(hconst kOutput0Elements))))
stack_reserved=$(arm-none-eabi-size -A "$elf" | awk '$1 == ".stack" { print $2 }')
stack_used=$("$python" - "$m4" <<'PY'
# Worst-case stack depth from main over GCC's call graphs (.ci files of
# -fcallgraph-info=su): the largest sum of static frames along a call chain.
import glob, re, sys
frames, calls = {}, {}
for ci in glob.glob(sys.argv[1] + "/*.ci"):
    for line in open(ci):
        m = re.match(r'node: \{ title: "([^"]*)" label: "[^"]*\\n(\d+) bytes', line)
        if m:
            frames[m.group(1)] = int(m.group(2))
        m = re.match(r'edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"', line)
        if m:
            calls.setdefault(m.group(1), set()).add(m.group(2))
def depth(f, seen=()):
    if f in seen:
        sys.exit("recursion through %s" % f)
    return frames.get(f, 0) + max([depth(g, seen + (f,)) for g in calls.get(f, ())] or [0])
print(depth("main"))
PY
) || fail "cannot compute the stack depth from the call graph"
[ -n "$stack_reserved" ] || fail "no .stack section in $elf"
flash=$((text + data)) ram=$((data + bss))
echo
echo "Cortex-M4 firmware ($elf):" | sed "s|$root/||g"
printf '  flash %8d bytes  = text %d (code, vectors, read-only data: %d bytes of weights, %d of sample.h) + data %d\n' \
  "$flash" "$text" "$weights" "$sample" "$data"
printf '  RAM   %8d bytes  = data %d + bss %d (the %d-byte arena, the scores, a %d-byte stack reservation)\n' \
  "$ram" "$data" "$bss" "$arena" "$stack_reserved"
printf '  stack %8d bytes  worst case from main (static frames, call graph; library leaves excluded)\n' \
  "$stack_used"
[ "$text" -ge "$weights" ] || fail "text ($text) is smaller than the weights ($weights): were they dropped?"
[ "$bss" -ge $((arena + stack_reserved)) ] || fail "bss ($bss) is smaller than arena + stack ($arena + $stack_reserved)"
[ "$stack_used" -le "$stack_reserved" ] || fail "the stack needs $stack_used bytes, $stack_reserved are reserved"
if command -v qemu-system-arm >/dev/null 2>&1; then
  echo "  (qemu-system-arm is installed, but this script does not run the ELF on it: only built)"
else
  echo "  (no qemu-system-arm: the ELF is built, not run; the host build above checked the numbers)"
fi
echo "PASS: firmware_cortex_m4"
