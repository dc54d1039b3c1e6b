#!/usr/bin/env bash
# Firmware smoke test: a model compiled by Kiln builds for a bare-metal
# Cortex-M4 (hard float) with no mutable global state, its weights in flash.
#   1. kiln compile (default incbin weights) -> WORKDIR/out; NAME.cpp compiles
#      from inside that folder with arm-none-eabi-g++ and the strict flags;
#      .data and .bss of the object are 0 bytes; kiln_NAME_weights is in an
#      allocated, read-only section with contents, and its size equals the
#      size of NAME.weights.bin (and NAME::kWeightBytes).
#   2. A tiny main.cpp (static arena, inputs and outputs; calls NAME_run and
#      returns its status) links into a bare-metal ELF (newlib nosys.specs,
#      --gc-sections; if that fails, or KILN_FW_FORCE_MINIMAL_STARTUP is set,
#      examples/firmware_cortex_m4's startup.cpp and cortex_m4.ld with a
#      64 MiB memory map);
#      flash (text+data) holds at least the weights, RAM (data+bss) at least
#      the arena.
#   3. The same object compile with --embed=array: no weights file, .data
#      and .bss still 0 bytes, the weights array read-only.
# usage: firmware_cortex_m4.sh KILN_BINARY MODEL_JSON WORKDIR [kiln flags...]
#   (extra flags such as -D act=prelu go to both kiln compile runs)
# Exits 77 (ctest's skip code) when the arm-none-eabi toolchain is missing.
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 KILN_BINARY MODEL_JSON WORKDIR [kiln flags...]" >&2
  exit 2
fi
kiln=$1 model=$2 work=$3
shift 3
kiln_flags=("$@")

for tool in arm-none-eabi-g++ arm-none-eabi-size arm-none-eabi-objdump; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found (Debian: apt-get install gcc-arm-none-eabi" \
         "binutils-arm-none-eabi libstdc++-arm-none-eabi-newlib)"
    exit 77
  fi
done

cxx=arm-none-eabi-g++
target=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
strict=(-std=c++17 "${target[@]}" -fno-exceptions -fno-rtti -Os -Wall -Wextra
        -Werror)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

kiln=$(cd "$(dirname "$kiln")" && pwd)/$(basename "$kiln")
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The model's name: from the JSON, else from the header the compiler wrote.
name=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' \
         "$model" 2>/dev/null || true)

# sizes FILE: prints arm-none-eabi-size's (Berkeley format) lines for FILE and
# sets the globals text, data and bss from them.
sizes() {
  local out
  out=$(arm-none-eabi-size "$1") || fail "arm-none-eabi-size $1 failed"
  echo "$out" | sed 's/^/  /'
  read -r text data bss _ < <(echo "$out" | awk 'NR == 2')
}

# check_readonly OBJECT SYMBOL_REGEX EXPECTED_SIZE LABEL: the one symbol whose
# (mangled) name matches SYMBOL_REGEX lives in a section that is allocated,
# has contents and is not writable, and has EXPECTED_SIZE bytes.
check_readonly() {
  local obj=$1 re=$2 want=$3 label=$4 line n section size flags
  line=$(arm-none-eabi-objdump -t "$obj" | awk -v re="$re" '$NF ~ re')
  n=$(printf '%s' "$line" | grep -c . || true)
  [ "$n" = 1 ] || fail "$label: expected one symbol matching /$re/ in $obj, found $n:
$(arm-none-eabi-objdump -t "$obj")"
  section=$(echo "$line" | awk '{ print $(NF - 2) }')
  size=$((16#$(echo "$line" | awk '{ print $(NF - 1) }')))
  # awk reads to the end: an early exit would kill objdump with SIGPIPE,
  # which pipefail turns into a silent failure of the whole script.
  flags=$(arm-none-eabi-objdump -h "$obj" |
            awk -v s="$section" '!done && $2 == s { getline; print; done = 1 }')
  echo "  $label: symbol $(echo "$line" | awk '{ print $NF }') in section $section" \
       "($(echo "$flags" | sed 's/^ *//')), $size bytes"
  case "$flags" in *ALLOC*) ;; *) fail "$label: section $section is not allocated ($flags)" ;; esac
  case "$flags" in *CONTENTS*) ;; *) fail "$label: section $section has no contents (NOBITS) ($flags)" ;; esac
  case "$flags" in *READONLY*) ;; *) fail "$label: section $section is writable ($flags); weights must be in read-only memory" ;; esac
  [ "$size" = "$want" ] || fail "$label: symbol size $size != expected $want bytes"
}

# compile_object DIR LABEL: compiles DIR/NAME.cpp from inside DIR (no -I: the
# folder must be self-contained) and checks .data and .bss are empty.
compile_object() {
  local dir=$1 label=$2
  echo "[$label] (cd $dir && $cxx ${strict[*]} -c $name.cpp -o $name.o)"
  (cd "$dir" && "$cxx" "${strict[@]}" -c "$name.cpp" -o "$name.o") ||
    fail "$label: $name.cpp does not compile for the Cortex-M4"
  # The strict flags must also hold at the speed levels, whose loop
  # analyses warn differently (-Waggressive-loop-optimizations).
  for level in -O2 -O3; do
    (cd "$dir" && "$cxx" "${strict[@]}" "$level" -c "$name.cpp" -o /dev/null) ||
      fail "$label: $name.cpp does not compile for the Cortex-M4 at $level"
  done
  sizes "$dir/$name.o"
  echo "  $label object: text=$text data=$data bss=$bss"
  [ "$data" = 0 ] || fail "$label: .data is $data bytes (mutable global state); expected 0"
  [ "$bss" = 0 ] || fail "$label: .bss is $bss bytes (mutable global state); expected 0"
}

header_const() { # header_const HEADER NAME -> the value of `constexpr ... NAME = V;`
  sed -n "s/.*constexpr [a-z_0-9 ]*[ *]$2 = \([0-9]*\);.*/\1/p" "$1" | head -n 1
}

# ---- 1. incbin weights --------------------------------------------------------
out=$work/out
"$kiln" compile "$model" ${kiln_flags[@]+"${kiln_flags[@]}"} -o "$out"
if [ -z "$name" ]; then
  for h in "$out"/*.h; do
    name=$(basename "$h" .h)
  done
fi
[ -f "$out/$name.h" ] && [ -f "$out/$name.cpp" ] ||
  fail "kiln compile wrote no $name.h / $name.cpp in $out"
hdr=$out/$name.h
arena_bytes=$(header_const "$hdr" kArenaBytes)
weight_bytes=$(header_const "$hdr" kWeightBytes)
num_inputs=$(header_const "$hdr" kNumInputs)
num_outputs=$(header_const "$hdr" kNumOutputs)
[ -n "$arena_bytes" ] && [ -n "$weight_bytes" ] && [ -n "$num_inputs" ] &&
  [ -n "$num_outputs" ] || fail "cannot read kArenaBytes/kWeightBytes/kNumInputs/kNumOutputs from $hdr"
echo "model $name: arena $arena_bytes bytes, weights $weight_bytes bytes," \
     "$num_inputs input(s), $num_outputs output(s)"

compile_object "$out" incbin
blob=$out/$name.weights.bin
if [ "$weight_bytes" -gt 0 ]; then
  [ -f "$blob" ] || fail "incbin: $blob was not written"
  blob_bytes=$(stat -c %s "$blob")
  [ "$blob_bytes" = "$weight_bytes" ] ||
    fail "incbin: $blob is $blob_bytes bytes but $name::kWeightBytes is $weight_bytes"
  check_readonly "$out/$name.o" "^kiln_${name}_weights\$" "$blob_bytes" incbin
else
  [ ! -f "$blob" ] || fail "incbin: a model without weights got $blob"
  echo "  incbin: the model has no weights"
fi

# ---- 2. bare-metal ELF --------------------------------------------------------
main=$work/main.cpp
{
  echo "// Written by firmware_cortex_m4.sh: a bare-metal program around $name."
  echo "#include \"$name.h\""
  echo
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
  echo
  echo "int main() { return ${name}_run(${args}arena); }"
} >"$main"

elf=$work/$name.elf
link_log=$work/link.log
echo "[link] $cxx ${strict[*]} -I $out -c $main; link with --specs=nosys.specs -Wl,--gc-sections"
"$cxx" "${strict[@]}" -I "$out" -c "$main" -o "$work/main.o" ||
  fail "main.cpp does not compile"
linked=
if [ -z "${KILN_FW_FORCE_MINIMAL_STARTUP:-}" ] &&
   "$cxx" "${target[@]}" --specs=nosys.specs -Wl,--gc-sections \
     "$work/main.o" "$out/$name.o" -o "$elf" >"$link_log" 2>&1; then
  linked="newlib nosys.specs"
else
  [ -n "${KILN_FW_FORCE_MINIMAL_STARTUP:-}" ] || {
    echo "  nosys.specs link failed, trying a minimal startup:"
    sed 's/^/    /' "$link_log"
  }
  # The firmware example's minimal startup (vector table, reset handler
  # copying .data, clearing .bss, enabling the FPU) and linker script, with a
  # memory map that has room for large models (64 MiB each).
  fw=$(cd "$(dirname "$0")/../../examples/firmware_cortex_m4" && pwd)
  cat >"$work/memory.ld" <<'EOF'
/* Written by firmware_cortex_m4.sh: room for large models. */
MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 64M
         RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 64M }
EOF
  "$cxx" "${strict[@]}" -c "$fw/startup.cpp" -o "$work/startup.o" ||
    fail "the minimal startup does not compile"
  "$cxx" "${target[@]}" -nostartfiles -L "$work" -L "$fw" -T cortex_m4.ld -Wl,--gc-sections \
    "$work/startup.o" "$work/main.o" "$out/$name.o" -lm -lc -lgcc -o "$elf" \
    >"$link_log" 2>&1 || { cat "$link_log" >&2; fail "the bare-metal link failed"; }
  linked="minimal startup and linker script"
fi
echo "  linked $elf ($linked)"
sizes "$elf"
flash=$((text + data)) ram=$((data + bss))
echo "  firmware: flash (text+data) = $flash bytes, RAM (data+bss) = $ram bytes"
[ "$flash" -ge "$weight_bytes" ] ||
  fail "flash $flash bytes is smaller than the weights ($weight_bytes bytes): were they dropped?"
[ "$ram" -ge "$arena_bytes" ] ||
  fail "RAM $ram bytes is smaller than the arena ($arena_bytes bytes)"
if [ "$weight_bytes" -gt 0 ] && [ -n "$(arm-none-eabi-objdump -t "$elf" | awk -v s="kiln_${name}_weights" '$NF == s')" ]; then
  check_readonly "$elf" "^kiln_${name}_weights\$" "$weight_bytes" firmware
fi

# ---- 3. --embed=array ---------------------------------------------------------
out_array=$work/out_array
"$kiln" compile "$model" ${kiln_flags[@]+"${kiln_flags[@]}"} --embed=array \
  -o "$out_array"
[ ! -e "$out_array/$name.weights.bin" ] ||
  fail "array: --embed=array wrote $name.weights.bin"
compile_object "$out_array" array
if [ "$weight_bytes" -gt 0 ]; then
  if arm-none-eabi-objdump -t "$out_array/$name.o" | awk '$NF ~ /kWeights/' | grep -q .; then
    check_readonly "$out_array/$name.o" "kWeights" "$weight_bytes" array
  else
    # A tiny model whose few weights the compiler folded into the code.
    echo "  array: no kWeights symbol left: the compiler folded the weights into the code"
  fi
fi

echo "PASS: $name builds for the Cortex-M4: no .data/.bss, weights read-only" \
     "($weight_bytes bytes), firmware flash $flash bytes, RAM $ram bytes"
