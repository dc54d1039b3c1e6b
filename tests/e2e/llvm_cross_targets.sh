#!/usr/bin/env bash
# The LLVM backend's objects for targets other than the host:
#   1. thumbv7em-none-eabihf, --cpu=cortex-m4 (and cortex-m7): NAME.o has no
#      .data / .bss (no mutable global state); a tiny main calling NAME_run
#      links with arm-none-eabi-gcc (--specs=nosys.specs) into a bare-metal
#      ELF; arm-none-eabi-size of both is printed. For the Cortex-M4 also
#      -Os and -Oz: their code (.text) is printed beside -O2's and must be
#      smaller, and their objects link too. The Cortex-M4 objects (-O2, -Os,
#      -Oz) and the C++ backend's folder compiled by arm-none-eabi-g++ -Os
#      for the same CPU also run: linked with a freestanding main
#      (llvm_qemu_arm.py: inputs compiled in, outputs written through Linux
#      system calls) they execute under qemu-arm's user mode (an A-profile
#      core running the same Thumb-2 and single-precision VFP code), and
#      their outputs match expected_*.npy
#   2. aarch64-linux-gnu: `kiln build --backend=llvm` with
#      aarch64-linux-gnu-g++ makes a static program (the LLVM object and the
#      generated NAME_main.cpp); the kept object also links by hand with the
#      same NAME_main.cpp; both, and a program built with -Os, run under
#      qemu-aarch64 on the folder's input_*.npy and match expected_*.npy
# usage: llvm_cross_targets.sh KILN MODEL_DIR WORKDIR
# Exits 77 (ctest's skip code) when a cross tool is missing.
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 KILN MODEL_DIR WORKDIR" >&2
  exit 2
fi
kiln=$1 dir=$2 work=$3
python=${KILN_PYTHON:-/usr/bin/python3}
compare="$python $(dirname "$0")/compare_npy.py"

for tool in arm-none-eabi-gcc arm-none-eabi-g++ arm-none-eabi-size \
            aarch64-linux-gnu-g++ qemu-aarch64 qemu-arm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found (Debian: apt-get install gcc-arm-none-eabi" \
         "libnewlib-arm-none-eabi g++-aarch64-linux-gnu qemu-user)"
    exit 77
  fi
done

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/model_folder.sh"

# header_const HEADER NAME -> the value of `constexpr ... NAME = V;`
header_const() {
  sed -n "s/.*constexpr [a-z_0-9 ]*[ *]$2 = \([0-9]*\);.*/\1/p" "$1" | head -n 1
}

# run_on_qemu_arm LABEL OBJECT_DIR OBJECT... : links the objects (compiled
# for the Cortex-M4, the model's NAME.h in OBJECT_DIR) with a freestanding
# main, runs it under qemu-arm and compares its outputs with expected_*.npy
run_on_qemu_arm() {
  local label=$1 objdir=$2
  shift 2
  local m4=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
  local q=$objdir/qemu
  mkdir -p "$q"
  $python "$(dirname "$0")/llvm_qemu_arm.py" main "$objdir/$name.h" "$dir" \
    "$q/main.cpp" || fail "$label: cannot write the qemu-arm main"
  arm-none-eabi-g++ -std=c++17 "${m4[@]}" -O2 -fno-exceptions -fno-rtti \
    -Wall -Wextra -Werror -I "$objdir" -c "$q/main.cpp" -o "$q/main.o" ||
    fail "$label: the qemu-arm main does not compile"
  arm-none-eabi-gcc "${m4[@]}" -nostartfiles -static -e _start "$q/main.o" \
    "$@" -lm -lc -lgcc -o "$q/prog" >"$q/link.log" 2>&1 ||
    { cat "$q/link.log" >&2; fail "$label: the qemu-arm program does not link"; }
  echo "[$label] qemu-arm $q/prog"
  qemu-arm "$q/prog" >"$q/outputs.bin" || fail "$label: the program failed under qemu-arm"
  $python "$(dirname "$0")/llvm_qemu_arm.py" split "$objdir/$name.h" \
    "$q/outputs.bin" "$q" || fail "$label: unexpected output bytes"
  for n in "${outputs[@]}"; do
    $compare "$dir/expected_$n.npy" "$q/$n.npy" --label "$label (qemu-arm) $n"
  done
}

# text_bytes OBJECT -> bytes of its .text sections
text_bytes() {
  arm-none-eabi-size -A "$1" | awk '$1 ~ /^\.text/ { n += $2 } END { print n + 0 }'
}

# ---- 1. bare-metal Cortex-M -------------------------------------------------
for variant in cortex-m4 cortex-m7 cortex-m4-Os cortex-m4-Oz; do
  cpu=${variant%-O?}
  level=-O2
  [ "$variant" = "$cpu" ] || level=-${variant#"$cpu"-}
  out=$work/$variant
  "$kiln" compile "$dir/model.json" --emit=obj --target=thumbv7em-none-eabihf \
    --cpu=$cpu "$level" -o "$out"
  name=
  for h in "$out"/*.h; do name=$(basename "$h" .h); done
  [ -n "$name" ] && [ -f "$out/$name.o" ] || fail "$variant: no NAME.h / NAME.o in $out"
  echo "[$variant] $name.o ($level):"
  arm-none-eabi-size "$out/$name.o" | sed 's/^/  /'
  read -r _ data bss _ < <(arm-none-eabi-size "$out/$name.o" | awk 'NR == 2')
  [ "$data" = 0 ] && [ "$bss" = 0 ] ||
    fail "$variant: $name.o has .data $data / .bss $bss bytes; expected 0"
  if [ "$level" != -O2 ]; then
    o2=$(text_bytes "$work/$cpu/$name.o") small=$(text_bytes "$out/$name.o")
    echo "[$variant] code: $small bytes at $level, $o2 bytes at -O2"
    [ "$small" -lt "$o2" ] ||
      fail "$variant: $level code ($small bytes) is not smaller than -O2's ($o2)"
  fi

  if [ $cpu = cortex-m4 ]; then
    target=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
  else
    target=(-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16)
  fi
  hdr=$out/$name.h
  num_inputs=$(header_const "$hdr" kNumInputs)
  num_outputs=$(header_const "$hdr" kNumOutputs)
  {
    echo "// Written by llvm_cross_targets.sh: a bare-metal program around $name."
    echo "#include \"$name.h\""
    echo "alignas(64) static unsigned char arena[$name::kArenaBytes ? $name::kArenaBytes : 1];"
    args=
    for ((i = 0; i < num_inputs; ++i)); do
      echo "static float input${i}[$name::kInput${i}Elements];"
      args+="input$i, "
    done
    for ((i = 0; i < num_outputs; ++i)); do
      echo "static float output${i}[$name::kOutput${i}Elements];"
      args+="output$i, "
    done
    echo "int main() { return ${name}_run(${args}arena); }"
  } >"$out/main.cpp"
  arm-none-eabi-g++ -std=c++17 "${target[@]}" -Os -fno-exceptions -fno-rtti \
    -Wall -Wextra -Werror -I "$out" -c "$out/main.cpp" -o "$out/main.o" ||
    fail "$variant: main.cpp does not compile"
  arm-none-eabi-gcc "${target[@]}" --specs=nosys.specs -Wl,--gc-sections \
    "$out/main.o" "$out/$name.o" -lm -o "$out/$name.elf" >"$out/link.log" 2>&1 ||
    { cat "$out/link.log" >&2; fail "$variant: the bare-metal link failed"; }
  if grep -v -e "crt[a-z0-9]*\.o: missing .note.GNU-stack" \
       -e "NOTE: This behaviour is deprecated" "$out/link.log" | grep -q .; then
    cat "$out/link.log" >&2
    fail "$variant: the linker warned about $name.o"
  fi
  echo "[$variant] $name.elf (arm-none-eabi-gcc --specs=nosys.specs):"
  arm-none-eabi-size "$out/$name.elf" | sed 's/^/  /'
  if [ $cpu = cortex-m4 ]; then
    run_on_qemu_arm "$variant" "$out" "$out/$name.o"
  fi
done
# The C++ backend's folder for the same Cortex-M4, as a firmware build
# compiles it (arm-none-eabi-g++ -Os), on the same inputs.
cppm4=$work/cortex-m4-cpp
"$kiln" compile "$dir/model.json" -o "$cppm4"
(cd "$cppm4" && arm-none-eabi-g++ -std=c++17 -mcpu=cortex-m4 -mthumb \
   -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -fno-exceptions -fno-rtti -Wall \
   -Wextra -Werror -I . -c "$name.cpp" -o "$name.o") ||
  fail "cortex-m4-cpp: $name.cpp does not compile"
run_on_qemu_arm cortex-m4-cpp "$cppm4" "$cppm4/$name.o"

# ---- 2. aarch64 Linux under qemu --------------------------------------------
a64=$work/aarch64
"$kiln" build "$dir/model.json" --backend=llvm --target=aarch64-linux-gnu \
  --cxx=aarch64-linux-gnu-g++ --keep-sources="$a64/src" -o "$a64/prog"
[ -f "$a64/src/$name.o" ] && [ -f "$a64/src/${name}_main.cpp" ] ||
  fail "aarch64: --keep-sources did not keep $name.o and ${name}_main.cpp"
(cd "$a64/src" && aarch64-linux-gnu-g++ -std=c++17 -O2 -static -I . \
   "${name}_main.cpp" "$name.o" -o "$a64/prog_by_hand") ||
  fail "aarch64: $name.o does not link with ${name}_main.cpp"
"$kiln" build "$dir/model.json" --backend=llvm --target=aarch64-linux-gnu -Os \
  --cxx=aarch64-linux-gnu-g++ -o "$a64/prog_os"
for prog in prog prog_by_hand prog_os; do
  out_args=()
  for n in "${outputs[@]}"; do out_args+=(--output "$n=$a64/${prog}_$n.npy"); done
  echo "[aarch64] qemu-aarch64 $a64/$prog ${inputs[*]} ${out_args[*]}"
  qemu-aarch64 "$a64/$prog" "${inputs[@]}" "${out_args[@]}"
  for n in "${outputs[@]}"; do
    $compare "$dir/expected_$n.npy" "$a64/${prog}_$n.npy" --label "aarch64 $prog $n"
  done
done
echo "PASS: $name through the LLVM backend for thumbv7em (cortex-m4 at -O2, -Os" \
     "and -Oz, run under qemu-arm with the C++ backend's build; cortex-m7) and" \
     "aarch64 (qemu, -O2 and -Os)"
