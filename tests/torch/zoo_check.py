#!/usr/bin/python3
"""Export torchvision models with kiln_export and check Kiln against PyTorch.

usage: zoo_check.py [--kiln PATH] [--work DIR] [--models a,b,...]

For each model (default: alexnet, resnet18, mobilenet_v2, mobilenet_v3_small,
efficientnet_b0, shufflenet_v2_x0_5; torchvision's
default num_classes, random weights from kiln_export.reinit(seed 0), eval
mode, batch 1, 224x224):

1. export it with the exporter (tools/kiln_export, torch.fx);
2. `kiln build` (default pipeline) and run the program; `kiln run -O0` (the
   reference interpreter on the naive graph);
3. compare both with PyTorch. Tolerance, measured rather than guessed:
       err32 = max|torch_f32 - torch_f64|   (PyTorch's own float32 error)
       err   = max|kiln - torch_f64|
       pass iff err <= 4 * err32 + 1e-6 * max|torch_f64|
   where torch_f64 is the same module in float64 on the same input (the
   float32 weights and input, widened exactly). The error relative to
   max|y| against torch_f32 is printed too;
4. report the parameter count, `kiln info` totals, the number of IR ops of
   `kiln compile --emit=ir` with -O0 and with the default pipeline (lines of
   the graph body that start with '%'), and the program's latency
   (`--bench 20`, median) next to PyTorch's (one thread, median of 20 runs).

Exit status: non-zero if any model fails (export, build, run or tolerance).
"""

import argparse
import copy
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "kiln_export"))

from kiln_export import export, reinit  # noqa: E402

DEFAULT_MODELS = ["alexnet", "resnet18", "mobilenet_v2", "mobilenet_v3_small",
                  "efficientnet_b0", "shufflenet_v2_x0_5"]
SHAPE = [1, 3, 224, 224]
BENCH_RUNS = 20


def run(args, **kw):
    t0 = time.time()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       **kw)
    dt = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s" % (
            " ".join(args), p.returncode, p.stdout.decode(errors="replace")))
    return p.stdout.decode(errors="replace"), dt


def count_ir_ops(text):
    """Lines of the graph body that start with '%' (one per op)."""
    n = 0
    inside = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("graph "):
            inside = True
            continue
        if inside and s == "}":
            inside = False
            continue
        if inside and s.startswith("%"):
            n += 1
    return n


def kiln_info_totals(text):
    tot = {}
    for key in ("parameters", "weight bytes", "MACs", "arena bytes"):
        m = re.search(r"^%s:\s+([\d,]+)" % re.escape(key), text, re.M)
        if m:
            tot[key] = int(m.group(1).replace(",", ""))
    return tot


def torch_latency_ms(module, x, runs=BENCH_RUNS):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for _ in range(2):
                module(x)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                module(x)
                times.append((time.perf_counter() - t0) * 1e3)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times))


def check_model(name, kiln, work):
    r = {"model": name, "ok": False}
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    torch.manual_seed(0)
    module = getattr(torchvision.models, name)()
    reinit(module, 0)
    module.eval()
    r["params"] = sum(p.numel() for p in module.parameters())
    path = export(module, [("x", SHAPE)], d)
    r["t_export"] = time.time() - t0

    x = np.random.RandomState(0).standard_normal(SHAPE).astype(np.float32)
    xin = os.path.join(d, "input_x.npy")
    np.save(xin, x)
    with torch.no_grad():
        y32 = module(torch.from_numpy(x.copy())).double().numpy()
        m64 = copy.deepcopy(module).double().eval()
        y64 = m64(torch.from_numpy(x.copy()).double()).numpy()
    ymax = float(np.abs(y64).max())
    err32 = float(np.abs(y32 - y64).max())
    tol = 4 * err32 + 1e-6 * ymax
    r.update(ymax=ymax, err32=err32, tol=tol)

    # kiln build (default pipeline) + the program
    prog = os.path.join(d, "prog")
    _, r["t_build"] = run([kiln, "build", path, "-o", prog])
    out_b = os.path.join(d, "y_build.npy")
    _, r["t_prog"] = run([prog, "--input", "x=" + xin, "--output",
                          "y=" + out_b])
    # kiln run: reference interpreter, naive graph
    out_r = os.path.join(d, "y_run.npy")
    _, r["t_run"] = run([kiln, "run", path, "-O0", "--input", "x=" + xin,
                         "--output", "y=" + out_r])
    ok = True
    for key, f in (("build", out_b), ("run", out_r)):
        y = np.load(f).astype(np.float64)
        if y.shape != y64.shape:
            r[key] = "shape %s, expected %s" % (list(y.shape),
                                                 list(y64.shape))
            ok = False
            continue
        err = float(np.abs(y - y64).max())
        rel32 = float(np.abs(y - y32).max()) / float(np.abs(y32).max())
        r["err_" + key] = err
        r["rel32_" + key] = rel32
        if not err <= tol:
            ok = False

    info, _ = run([kiln, "info", path])
    r["info"] = kiln_info_totals(info)
    ir0, _ = run([kiln, "compile", path, "--emit=ir", "-O0"])
    ir, _ = run([kiln, "compile", path, "--emit=ir"])
    r["ops_O0"] = count_ir_ops(ir0)
    r["ops_opt"] = count_ir_ops(ir)

    r["kiln_ms"] = r["torch_ms"] = float("nan")
    if BENCH_RUNS > 0:
        bench, _ = run([prog, "--input", "x=" + xin, "--bench",
                        str(BENCH_RUNS)])
        m = re.search(r"median ([\d.]+) ms", bench)
        r["kiln_ms"] = float(m.group(1)) if m else float("nan")
        r["torch_ms"] = torch_latency_ms(module, torch.from_numpy(x))
    r["ok"] = ok
    return r


def main(argv=None):
    global BENCH_RUNS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.environ.get("KILN") or
                    os.path.join(ROOT, "build", "bin", "kiln"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build",
                                                   "zoo_check"))
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--bench-runs", type=int, default=BENCH_RUNS,
                    help="latency runs per model (0: skip the latencies, "
                    "as the test suite does)")
    a = ap.parse_args(argv)
    BENCH_RUNS = a.bench_runs
    kiln = os.path.abspath(a.kiln)
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    names = [n for n in a.models.split(",") if n]
    print("tolerance: max|kiln - torch_f64| <= 4 * max|torch_f32 - "
          "torch_f64| + 1e-6 * max|torch_f64|")
    t_all = time.time()
    results = []
    failed = []
    for n in names:
        t0 = time.time()
        try:
            r = check_model(n, kiln, work)
        except Exception as e:  # report and go on with the next model
            print("%s: FAILED: %s: %s" % (n, type(e).__name__, e))
            failed.append(n)
            continue
        r["t_total"] = time.time() - t0
        results.append(r)
        status = "ok" if r["ok"] else "FAILED"
        if not r["ok"]:
            failed.append(n)
        print("%s: %s  (export %.1fs, build %.1fs, kiln run %.1fs, total "
              "%.1fs)" % (n, status, r["t_export"], r["t_build"],
                          r["t_run"], r["t_total"]))
        print("  max|y| %.4g   torch f32 err %.3g   tolerance %.3g" % (
            r["ymax"], r["err32"], r["tol"]))
        for key, label in (("build", "kiln build"), ("run", "kiln run -O0")):
            if "err_" + key in r:
                print("  %-13s err vs f64 %.3g (%s)   rel. to max|y| vs f32 "
                      "%.3g" % (label, r["err_" + key],
                                "pass" if r["err_" + key] <= r["tol"]
                                else "FAIL", r["rel32_" + key]))
            else:
                print("  %-13s %s" % (label, r.get(key)))
        print("  kiln info: %s" % ", ".join(
            "%s %s" % (k, format(v, ",")) for k, v in r["info"].items()))
        print("  IR ops: %d at -O0, %d after the default pipeline" % (
            r["ops_O0"], r["ops_opt"]))
        print("  latency (1 thread, median of %d): kiln %.2f ms, PyTorch "
              "%.2f ms" % (BENCH_RUNS, r["kiln_ms"], r["torch_ms"]))
        sys.stdout.flush()
    if results:
        print()
        hdr = ("| model | params | MACs | IR ops -O0 → opt | torch f32 err | "
               "kiln build err | kiln run err | tolerance | kiln ms | "
               "PyTorch ms |")
        print(hdr)
        print("|" + "---|" * (hdr.count("|") - 1))
        for r in results:
            print("| %s | %s | %s | %d → %d | %.2g | %.2g | %.2g | %.2g | "
                  "%.2f | %.2f |" % (
                      r["model"], format(r["params"], ","),
                      format(r["info"].get("MACs", 0), ","), r["ops_O0"],
                      r["ops_opt"], r["err32"], r.get("err_build", -1),
                      r.get("err_run", -1), r["tol"], r["kiln_ms"],
                      r["torch_ms"]))
    print("\nwall time %.1f s" % (time.time() - t_all))
    if failed:
        print("FAILED: %s" % ", ".join(failed))
        return 1
    print("all %d models passed" % len(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
