"""Per-layer time of a compiled model: where a `kiln build` program spends
its run, one row per op of the optimised graph, with GFLOP/s against the
core's measured FMA peak.

    /usr/bin/python3 bench/layer_profile.py MODEL.json --input x=IN.npy
        [--kiln build/bin/kiln] [--runs 200] [--core 1] [--top 15]
        [--cxx c++] [--work DIR]

How: `kiln build MODEL --cpu=native --keep-sources=DIR` (C++ backend), then
in a copy of the generated NAME.cpp every op's kernel calls (the lines
between one `// %value = op(...)` comment and the next) are bracketed by
reads of the time-stamp counter (x86 `rdtsc`) into a counter per op, printed
at exit; that copy is compiled with the flags `kiln build` uses (-std=c++17
-O3 -static -march=native) and run `--bench RUNS` pinned to one core with
`taskset`. The brackets cost a few tens of cycles per op and keep the
compiler from moving code across ops, so the sum is a little above the
uninstrumented program's time; the shares are what to read. MACs per op come
from `kiln info` (a fused op counts its layer's MACs, its epilogue's are not
counted); GFLOP/s = 2 x MACs / time, cycles converted with the TSC rate
measured against the wall clock. x86 only (rdtsc); the LLVM backend inlines
every kernel into one function, so it is not instrumented here.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Ops whose MACs are multiply-adds (GFLOP/s against the FMA peak means
# something); pools and activations get no GFLOP/s.
GEMM_LIKE = ("conv", "linear", "matmul", "depthwise")

OP_COMMENT = re.compile(r"^  // %(\S+) = (\w+)\(")


def info_macs(kiln, model):
    """MACs per layer name, from `kiln info`'s layer table."""
    out = subprocess.run([kiln, "info", model], check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    macs = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5 and re.fullmatch(r"[\d,]+", f[-1]) and "x" in f[2]:
            macs[f[0]] = int(f[-1].replace(",", ""))
    return macs


def instrument(src):
    """NAME.cpp with one rdtsc bracket per op; returns (text, op rows)."""
    lines = src.splitlines()
    out, ops, open_op = [], [], False
    in_run = False
    for line in lines:
        if re.match(r'^extern "C" int \w+_run\(', line):
            in_run = True
        m = OP_COMMENT.match(line) if in_run else None
        if m:
            if open_op:
                out.append("  kiln_prof::stop(%d, kiln_t0);" % (len(ops) - 1))
            ops.append((m.group(1), m.group(2)))
            out.append(line)
            out.append("  kiln_t0 = __rdtsc();")
            open_op = True
            continue
        if in_run and open_op and re.match(r"^  return 0;", line):
            out.append("  kiln_prof::stop(%d, kiln_t0);" % (len(ops) - 1))
            open_op = False
        if in_run and re.match(r"^  const kiln_rt::RunFpMode", line):
            out.append(line)
            out.append("  unsigned long long kiln_t0 = 0;")
            continue
        out.append(line)
    if not ops:
        raise SystemExit("layer_profile: no op comments found in NAME_run")
    names = ", ".join('"%s"' % n for n, _ in ops)
    header = """#include <x86intrin.h>
#include <cstdio>
namespace kiln_prof {
constexpr int kOps = %d;
const char *const kNames[kOps] = {%s};
unsigned long long cycles[kOps];
inline void stop(int i, unsigned long long t0) { cycles[i] += __rdtsc() - t0; }
struct Report {
  ~Report() {
    for (int i = 0; i < kOps; ++i)
      std::fprintf(stderr, "kiln_prof %%d %%s %%llu\\n", i, kNames[i], cycles[i]);
  }
} report;
} // namespace kiln_prof
""" % (len(ops), names)
    text = "\n".join(out) + "\n"
    first_ns = text.index("namespace {")
    return text[:first_ns] + header + text[first_ns:], ops


def tsc_hz():
    """TSC ticks per second, against the wall clock over 0.2 s."""
    code = r"""#include <x86intrin.h>
#include <chrono>
#include <cstdio>
int main() {
  auto w0 = std::chrono::steady_clock::now();
  unsigned long long t0 = __rdtsc();
  while (std::chrono::steady_clock::now() - w0 < std::chrono::milliseconds(200)) {}
  unsigned long long t1 = __rdtsc();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  std::printf("%f\n", (t1 - t0) / s);
}
"""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "t.cpp"), "w") as f:
            f.write(code)
        subprocess.run(["c++", "-O2", "t.cpp", "-o", "t"], cwd=d, check=True)
        return float(subprocess.run([os.path.join(d, "t")], check=True,
                                    text=True,
                                    stdout=subprocess.PIPE).stdout)


def peak_gflops(work, core, cxx):
    """The core's FMA peak in GFLOP/s (bench/peak_fma.cpp, as latency.py
    measures it)."""
    exe = os.path.join(work, "peak_fma")
    subprocess.run([cxx, "-O2", "-march=native",
                    os.path.join(ROOT, "bench", "peak_fma.cpp"), "-o", exe],
                   check=True)
    out = subprocess.run(["taskset", "-c", str(core), exe], check=True,
                         text=True, stdout=subprocess.PIPE).stdout
    return float(out.split()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--input", action="append", required=True,
                    metavar="NAME=NPY")
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "bin",
                                                   "kiln"))
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--top", type=int, default=15,
                    help="rows printed, slowest first (0: all)")
    ap.add_argument("--cxx", default=os.environ.get("CXX") or "c++")
    ap.add_argument("--work", help="keep the instrumented folder here")
    a = ap.parse_args()

    work = a.work or tempfile.mkdtemp(prefix="kiln_layer_profile.")
    src = os.path.join(work, "src")
    shutil.rmtree(src, ignore_errors=True)
    subprocess.run([a.kiln, "build", a.model, "--backend=cpp", "--cpu=native",
                    "-o", os.path.join(work, "plain"),
                    "--keep-sources=" + src], check=True)
    main_cpp = [f for f in os.listdir(src) if f.endswith("_main.cpp")][0]
    name = main_cpp[:-len("_main.cpp")]
    with open(os.path.join(src, name + ".cpp")) as f:
        text, ops = instrument(f.read())
    with open(os.path.join(src, name + ".cpp"), "w") as f:
        f.write(text)
    exe = os.path.join(work, "profiled")
    subprocess.run([a.cxx, "-std=c++17", "-O3", "-static", "-march=native",
                    "-I", ".", name + ".cpp", main_cpp, "-o", exe], cwd=src,
                   check=True)
    args = ["taskset", "-c", str(a.core), exe]
    for i in a.input:
        args += ["--input", i]
    run = subprocess.run(args + ["--bench", str(a.runs)], text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if run.returncode != 0:
        sys.exit("layer_profile: the program failed:\n" + run.stderr)
    cycles = [0] * len(ops)
    for line in run.stderr.splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == "kiln_prof":
            cycles[int(f[1])] = int(f[3])
    hz = tsc_hz()
    peak = peak_gflops(work, a.core, a.cxx)
    macs = info_macs(a.kiln, a.model)
    total = sum(cycles)
    # The program's --bench runs once to check, then RUNS timed runs.
    calls = a.runs + 1
    rows = []
    for (value, kind), c in zip(ops, cycles):
        ms = c / hz / calls * 1e3
        m = macs.get(value, 0)
        gf = (2 * m / (ms * 1e-3) / 1e9
              if ms > 0 and m and kind.startswith(GEMM_LIKE) else None)
        rows.append((ms, value, kind, m, gf, c))
    print("model %s: %d ops, %.3f ms per run instrumented (%d runs, core %d)"
          % (name, len(ops), total / hz / calls * 1e3, calls, a.core))
    print("core's FMA peak %.1f GFLOP/s (bench/peak_fma.cpp)" % peak)
    print()
    print("| op | kind | ms | share | MMACs | GFLOP/s | % peak |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    shown = sorted(rows, reverse=True)
    if a.top:
        shown = shown[:a.top]
    for ms, value, kind, m, gf, c in shown:
        pk = "%.0f%%" % (100 * gf / peak) if gf else ""
        print("| %s | %s | %.4f | %.1f%% | %s | %s | %s |" % (
            value, kind, ms, 100 * c / total if total else 0,
            "%.2f" % (m / 1e6) if m else "", "%.1f" % gf if gf else "", pk))


if __name__ == "__main__":
    main()
