#!/usr/bin/env bash
# Benchmark: the cost of the two ways Kiln embeds weights in generated C++,
#   incbin (default): NAME.weights.bin pulled in by the assembler's .incbin
#   array (--embed=array): one C++ float array literal in NAME.cpp
# on an AlexNet-shaped classifier (torchvision 0.14's AlexNet layer list at
# 224x224, without the AdaptiveAvgPool2d that is the identity there; 61.1 M
# parameters at width 1, narrower widths for smaller sizes), weights from
# `"init": {"seed": 0}` (no weights file). For each size and embedding it
# measures `kiln compile` and `g++ -std=c++17 -O2 -c NAME.cpp` (wall time,
# peak RSS) and the sizes of what they write, then prints a Markdown table.
# It also times LeNet (`kiln build`, then `--bench 2000`, 3 runs).
#
# usage: bench/weights_embedding.sh KILN_BINARY WORKDIR [PARAMS_MILLIONS=61]
# environment:
#   KILN_BENCH_SIZES      sizes in millions of parameters (default "1 8 16 P")
#   KILN_BENCH_TIMEOUT    seconds allowed to each command (default 600)
#   KILN_BENCH_MEM_GB     address-space limit of each command, GiB (default 8;
#                         0 = none): array mode needs ~0.33 GB of g++ memory
#                         per million parameters, so large sizes hit it
#   KILN_BENCH_KEEP=1     keep the generated folders (default: deleted)
#   KILN_LENET_DIR        LeNet folder (model.json, input_x.npy; default the
#                         repository's examples/lenet; empty string: skip)
#   CXX                   the host compiler (default g++)
# A benchmark, not a test: it is not part of `make test`. It runs one
# command at a time.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 KILN_BINARY WORKDIR [PARAMS_MILLIONS=61]" >&2
  exit 2
fi
kiln=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$2
params=${3:-61}
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${KILN_BENCH_TIMEOUT:-600}
mem_gb=${KILN_BENCH_MEM_GB:-8}
sizes=${KILN_BENCH_SIZES:-"1 8 16 $params"}
cxx=${CXX:-g++}
lenet_dir=${KILN_LENET_DIR-$here/../examples/lenet}
python=/usr/bin/python3

mkdir -p "$work"
work=$(cd "$work" && pwd)

# ---- measuring one command ---------------------------------------------------
# measure LABEL DIR CMD...: runs CMD in DIR under `timeout` and the memory
# limit; sets m_status (0, "timeout", "oom" or the exit code), m_wall
# (seconds) and m_rss (peak RSS in KB). Its output goes to WORK/LABEL.log.
if [ -x /usr/bin/time ]; then
  timer=gnu
else
  timer=python
  cat >"$work/measure.py" <<'EOF'
# Fallback for /usr/bin/time: runs argv[2:], writes "EXIT WALL_S MAXRSS_KB"
# to argv[1] (peak RSS of the largest descendant, from RUSAGE_CHILDREN).
import resource, subprocess, sys, time
t0 = time.monotonic()
rc = subprocess.call(sys.argv[2:])
wall = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as f:
    f.write(f"{rc} {wall:.2f} {rss}\n")
sys.exit(rc)
EOF
fi

measure() {
  local label=$1 dir=$2 tf=$work/$1.time log=$work/$1.log rc
  shift 2
  rm -f "$tf"
  set +e
  (
    cd "$dir"
    if [ "$mem_gb" != 0 ]; then ulimit -v $((mem_gb * 1024 * 1024)); fi
    if [ $timer = gnu ]; then
      /usr/bin/time -f '%x %e %M' -o "$tf" timeout "$timeout_s" "$@"
    else
      "$python" "$work/measure.py" "$tf" timeout "$timeout_s" "$@"
    fi
  ) >"$log" 2>&1
  rc=$?
  set -e
  read -r _ m_wall m_rss < <(tail -n 1 "$tf" 2>/dev/null || echo "? ? ?")
  if [ "$rc" = 0 ]; then
    m_status=0
  elif [ "$rc" = 124 ]; then
    m_status=timeout
  elif grep -qiE 'out of memory|cannot allocate|bad_alloc|memory exhausted' "$log"; then
    m_status=oom
  else
    m_status=$rc
  fi
  if [ "$m_status" != 0 ]; then
    echo "  $label: $m_status (exit $rc), see $log" >&2
    tail -n 3 "$log" | sed 's/^/    /' >&2
  fi
}

mb() { # KB -> MB with one decimal
  awk -v k="$1" 'BEGIN { if (k == "?") print "?"; else printf "%.0f", k / 1024 }'
}
size_of() { # human-readable size of a file, or "-"
  if [ -f "$1" ]; then
    numfmt --to=iec-i --suffix=B --format='%.1f' "$(stat -c %s "$1")"
  else
    echo "-"
  fi
}
fmt_time() { # status wall rss -> cell
  case $1 in
    0) echo "$2 s" ;;
    timeout) echo "did not finish in $timeout_s s" ;;
    oom) echo "out of memory (limit $mem_gb GiB) after $2 s" ;;
    *) echo "failed (exit $1)" ;;
  esac
}

# ---- the model ---------------------------------------------------------------
cat >"$work/alexnet_json.py" <<'EOF'
# Writes an AlexNet-shaped Kiln model of about argv[1] million parameters to
# argv[2]; prints the exact count. Width 1 is torchvision 0.14's AlexNet
# (61,100,840 parameters) minus AdaptiveAvgPool2d((6, 6)), the identity at 224.
import json, sys

def widths(s):
    c = [max(1, round(x * s)) for x in (64, 192, 384, 256, 256)]
    return c, max(1, round(4096 * s))

def count(s):
    c, h = widths(s)
    cin, k = [3] + c[:-1], [11, 5, 3, 3, 3]
    n = sum(o * i * kk * kk + o for o, i, kk in zip(c, cin, k))
    return n + c[4] * 36 * h + h + h * h + h + h * 1000 + 1000

target = float(sys.argv[1]) * 1e6
lo, hi = 1e-3, 16.0
for _ in range(100):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if count(mid) < target else (lo, mid)
s = 1.0 if abs(count(1.0) - target) / target < 0.01 else hi
c, h = widths(s)

def conv(i, o, k, stride=1, padding=0):
    return {"type": "Conv2d", "in_channels": i, "out_channels": o,
            "kernel_size": k, "stride": stride, "padding": padding}

relu = {"type": "ReLU", "inplace": True}
pool = {"type": "MaxPool2d", "kernel_size": 3, "stride": 2}
features = [conv(3, c[0], 11, 4, 2), relu, pool,
            conv(c[0], c[1], 5, 1, 2), relu, pool,
            conv(c[1], c[2], 3, 1, 1), relu,
            conv(c[2], c[3], 3, 1, 1), relu,
            conv(c[3], c[4], 3, 1, 1), relu, pool]
classifier = [{"type": "Dropout", "p": 0.5},
              {"type": "Linear", "in_features": c[4] * 36, "out_features": h},
              relu, {"type": "Dropout", "p": 0.5},
              {"type": "Linear", "in_features": h, "out_features": h}, relu,
              {"type": "Linear", "in_features": h, "out_features": 1000}]
model = {
    "kiln": 1, "name": "alexnet",
    "inputs": [{"name": "x", "shape": [1, 3, 224, 224], "dtype": "float32"}],
    "init": {"seed": 0},
    "model": {
        "type": "AlexNet",
        "modules": {"features": {"type": "Sequential", "layers": features},
                    "classifier": {"type": "Sequential", "layers": classifier}},
        "forward": [{"out": "h", "call": "features", "in": ["x"]},
                    {"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1},
                    {"out": "y", "call": "classifier", "in": ["f"]},
                    {"return": ["y"]}]}}
with open(sys.argv[2], "w") as f:
    json.dump(model, f, indent=1)
print(count(s), " ".join(map(str, c)), h)
EOF

echo "weights-embedding benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
     "timeout $timeout_s s, memory limit ${mem_gb} GiB, $("$cxx" --version | head -n 1)"
rows=()
for size in $sizes; do
  json=$work/alexnet_${size}m.json
  read -r count c0 c1 c2 c3 c4 hidden < <("$python" "$work/alexnet_json.py" "$size" "$json")
  echo "== ${size} M: $count parameters (conv $c0/$c1/$c2/$c3/$c4, hidden $hidden)"
  for mode in incbin array; do
    out=$work/out_${size}m_$mode
    rm -rf "$out"
    flags=()
    [ $mode = array ] && flags=(--embed=array)
    echo "  $mode: kiln compile ${flags[*]}"
    measure "kiln_${size}m_$mode" "$work" "$kiln" compile "$json" ${flags[@]+"${flags[@]}"} -o "$out"
    k_status=$m_status k_wall=$m_wall k_rss=$m_rss
    c_status=skipped c_wall="?" c_rss="?"
    if [ "$k_status" = 0 ]; then
      echo "  $mode: $cxx -std=c++17 -O2 -c alexnet.cpp (timeout $timeout_s s)"
      measure "cxx_${size}m_$mode" "$out" "$cxx" -std=c++17 -O2 -c alexnet.cpp -o alexnet.o
      c_status=$m_status c_wall=$m_wall c_rss=$m_rss
    fi
    k_cell=$(fmt_time "$k_status" "$k_wall")
    c_cell=$( [ "$c_status" = skipped ] && echo "not run" || fmt_time "$c_status" "$c_wall")
    c_rss_cell=$(mb "$c_rss")
    # A command killed by `timeout` leaves its compiler proper (cc1plus)
    # unwaited-for, so its peak RSS is not known.
    [ "$c_status" = 0 ] || [ "$c_status" = oom ] || c_rss_cell="n/a"
    rows+=("| $count | $mode | $k_cell | $(mb "$k_rss") | $c_cell | $c_rss_cell | $(size_of "$out/alexnet.cpp") | $(size_of "$out/alexnet.weights.bin") | $( [ "$c_status" = 0 ] && size_of "$out/alexnet.o" || echo -) |")
    echo "  ${rows[-1]}"
    [ "${KILN_BENCH_KEEP:-}" = 1 ] || rm -rf "$out"
  done
done

# ---- LeNet latency -----------------------------------------------------------
lenet_line=
if [ -n "$lenet_dir" ] && [ -f "$lenet_dir/model.json" ]; then
  echo "== LeNet: kiln build $lenet_dir/model.json -o $work/lenet; --bench 2000, 3 runs"
  "$kiln" build "$lenet_dir/model.json" -o "$work/lenet"
  medians=()
  for run in 1 2 3; do
    line=$("$work/lenet" --input "x=$lenet_dir/input_x.npy" --bench 2000)
    echo "  run $run: $line"
    medians+=("$(echo "$line" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')")
  done
  mid=$(printf '%s\n' "${medians[@]}" | sort -g | sed -n 2p)
  lenet_line="LeNet (kiln build, c++ -O2, 1x3x32x32): median of 2000 runs, 3 runs: ${medians[*]} ms; median of medians $mid ms"
fi

echo
echo "### Weights embedding: AlexNet-shaped models, \`kiln compile\` then \`$cxx -std=c++17 -O2 -c\`"
echo
echo "| parameters | embedding | kiln compile | kiln peak RSS (MB) | $cxx -O2 -c | $cxx peak RSS (MB) | NAME.cpp | NAME.weights.bin | NAME.o |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "Timeout $timeout_s s and address-space limit ${mem_gb} GiB per command; $(nproc) cores," \
     "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
[ -z "$lenet_line" ] || { echo; echo "$lenet_line"; }
