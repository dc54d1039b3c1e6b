"""The model zoo's shared driver: PyTorch model -> Kiln binary -> compared.

Every example's ``model.py`` defines its PyTorch model and calls
``zoo.main(name, build, inputs)``. The steps, each printed with its command:

1. ``build()`` under ``torch.manual_seed(seed)``, then
   ``kiln_export.reinit(module, seed)`` (seeded random weights, nothing
   downloaded; the same weights as ``kiln-export --seed SEED``), eval mode;
2. export with kiln-export's library call (``kiln_export.export``) to
   WORK/model.json + WORK/model.safetensors;
3. ``kiln info`` (printed: per layer parameters and MACs, the totals; its
   parameter count must be PyTorch's);
4. ``kiln build WORK/model.json -o WORK/NAME`` (a static executable);
5. the program on a seeded input (``numpy.random.RandomState(seed)``,
   standard normal, float32, saved as WORK/input_NAME.npy);
6. PyTorch on the same input, in float32 and in float64, and the check:

       err32 = max|torch_f32 - torch_f64|   PyTorch's own float32 error here
       err   = max|kiln - torch_f64|
       pass iff err <= 4 * err32 + 1e-6 * max|torch_f64|

   torch_f64 is the same module and input widened to float64 (exactly), so
   it stands for the exact result. Kiln computes in float32 like PyTorch but
   sums in another order (blocked kernels, fused epilogues), so its error is
   of the same size as PyTorch's own, not equal to it: 4x PyTorch's measured
   float32 error, plus a floor of 1e-6 of the output's scale (about 8 ulps of
   max|y|) for networks where PyTorch happens to be nearly exact. A failure
   prints both errors and exits 1;
7. with ``--bench N``: the program's ``--bench N`` median next to PyTorch's
   median of N runs (``torch.set_num_threads(1)``, batch 1, no_grad), same
   process, one after the other.

``--summary FILE`` writes the figures as JSON (bench/zoo_latency.sh makes its
table from them); ``python3 zoo.py table FILE...`` prints that table.
"""

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

if not __package__:  # run as a script (zoo.py table ...)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
from common import ROOT  # noqa: E402 (also puts kiln_export on the path)
from kiln_export import export, reinit  # noqa: E402
from kiln_export.trace import output_names  # noqa: E402


class Failure(Exception):
    """A step failed: the message says which and why."""


def rel(path):
    """PATH relative to the repository when inside it (shorter logs)."""
    p = os.path.relpath(path, ROOT)
    return path if p.startswith("..") else p


def run(args, what):
    """Run ARGS, return stdout; a non-zero exit raises Failure with the
    output."""
    print("$ " + " ".join(args).replace(ROOT + os.sep, ""))
    sys.stdout.flush()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise Failure("%s failed (exit %d):\n%s" % (what, p.returncode, out))
    return out


def info_totals(text):
    """The totals of `kiln info`: parameters, weight bytes, MACs, arena."""
    tot = {}
    for key in ("parameters", "weight bytes", "MACs", "arena bytes"):
        m = re.search(r"^%s:\s+([\d,]+)" % re.escape(key), text, re.M)
        if not m:
            raise Failure("kiln info printed no %r total:\n%s" % (key, text))
        tot[key] = int(m.group(1).replace(",", ""))
    return tot


def torch_latency_ms(module, xs, runs):
    """Median of RUNS calls of MODULE on XS, one thread, after 3 warm-ups."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for _ in range(3):
                module(*xs)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                module(*xs)
                times.append((time.perf_counter() - t0) * 1e3)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times))


def as_list(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def compare(names, got, y32, y64):
    """Check each output against float64 PyTorch (see the module doc);
    returns [(name, err, tol, rel32)], raises Failure on a mismatch."""
    res = []
    bad = []
    for n, k, a32, a64 in zip(names, got, y32, y64):
        if k.shape != a64.shape:
            bad.append("output %s: Kiln's shape %s, PyTorch's %s" % (
                n, list(k.shape), list(a64.shape)))
            continue
        k = k.astype(np.float64)
        ymax = float(np.abs(a64).max())
        err32 = float(np.abs(a32 - a64).max())
        tol = 4 * err32 + 1e-6 * ymax
        err = float(np.abs(k - a64).max()) if k.size else 0.0
        rel32 = float(np.abs(k - a32).max()) / ymax if ymax > 0 else err
        if not np.all(np.isfinite(k)):
            err = float("inf")
        print("  %s: max|y| %.4g, PyTorch float32 error %.3g, Kiln error "
              "%.3g, tolerance %.3g: %s (Kiln vs PyTorch float32: %.3g of "
              "max|y|)" % (n, ymax, err32, err, tol,
                           "ok" if err <= tol else "FAIL", rel32))
        if not err <= tol:
            i = np.unravel_index(int(np.argmax(np.abs(k - a64))), k.shape)
            bad.append("output %s: max|kiln - torch_f64| = %.3g > tolerance "
                       "%.3g (at %s: kiln %.9g, torch f32 %.9g, f64 %.9g)" % (
                           n, err, tol, list(i), k[i], a32[i], a64[i]))
        res.append((n, err, tol, rel32))
    if bad:
        raise Failure("Kiln's output does not match PyTorch:\n  " +
                      "\n  ".join(bad))
    return res


def parse_args(name, argv, add_arguments):
    ap = argparse.ArgumentParser(
        prog="examples/%s/run.sh" % name,
        description="Build %s in PyTorch (seeded random weights), export it, "
        "compile it with kiln build, run it and compare with PyTorch." % name)
    ap.add_argument("--kiln", default=os.environ.get("KILN") or
                    os.path.join(ROOT, "build", "bin", "kiln"),
                    help="the kiln driver (default $KILN, else "
                    "build/bin/kiln)")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "examples",
                                                   name),
                    help="output folder (default build/examples/%s)" % name)
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the weights and the input (default 0)")
    ap.add_argument("--bench", type=int, default=0, metavar="N",
                    help="also time N runs of Kiln's program and of PyTorch "
                    "(one thread) and print both medians")
    ap.add_argument("--summary", metavar="FILE",
                    help="write the figures as JSON to FILE")
    if add_arguments:
        add_arguments(ap)
    return ap.parse_args(argv)


def main(name, build, inputs, check=None, add_arguments=None,
         model_name=None, argv=None):
    """Run the example NAME: BUILD() gives the nn.Module, INPUTS is
    [(input name, shape)]. CHECK(args, module, model_json_path), if given,
    runs after the export (extra checks; raise Failure); ADD_ARGUMENTS(ap)
    adds its command-line options. MODEL_NAME is the exported model's name
    (default NAME). Returns the exit status: 0 when Kiln matches PyTorch, 1
    otherwise."""
    args = parse_args(name, argv, add_arguments)
    try:
        summary = _run(name, model_name or name, build, inputs, check, args)
    except Failure as e:
        sys.stdout.flush()
        print("FAIL: %s: %s" % (name, e), file=sys.stderr)
        return 1
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
    print("PASS: %s matches PyTorch" % name)
    return 0


def _run(name, model_name, build, inputs, check, args):
    kiln = os.path.abspath(args.kiln)
    if not os.access(kiln, os.X_OK):
        raise Failure("no kiln driver at %s (build it with `make`, or pass "
                      "--kiln)" % kiln)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    t_all = time.time()

    print("== PyTorch model (seed %d)" % args.seed)
    torch.manual_seed(args.seed)
    module = build()
    reinit(module, args.seed)
    module.eval()
    params = sum(p.numel() for p in module.parameters())
    print("  %s, %s parameters" % (type(module).__name__, format(params, ",")))

    print("== export (kiln_export.export)")
    t0 = time.time()
    path = export(module, inputs, work, model_name)
    print("  wrote %s and model.safetensors (%.1f s)" % (rel(path),
                                                           time.time() - t0))
    with open(path) as f:
        outs = output_names(json.load(f))
    if check:
        check(args, module, path)

    print("== kiln info")
    info = run([kiln, "info", path], "kiln info")
    with open(os.path.join(work, "info.txt"), "w") as f:
        f.write(info)
    print(info.rstrip())
    totals = info_totals(info)
    if totals["parameters"] != params:
        raise Failure("kiln info counts %s parameters, PyTorch %s" % (
            format(totals["parameters"], ","), format(params, ",")))

    print("== kiln build")
    prog = os.path.join(work, model_name)
    t0 = time.time()
    run([kiln, "build", path, "-o", prog], "kiln build")
    t_build = time.time() - t0
    print("  %s (%.1f s)" % (rel(prog), t_build))

    print("== run on a seeded input, compare with PyTorch")
    rs = np.random.RandomState(args.seed)
    xs = [rs.standard_normal(shape).astype(np.float32) for _, shape in inputs]
    cmd = [prog]
    for (n, _), x in zip(inputs, xs):
        p = os.path.join(work, "input_%s.npy" % n)
        np.save(p, x)
        cmd += ["--input", "%s=%s" % (n, p)]
    in_args = list(cmd[1:])
    files = [os.path.join(work, "kiln_%s.npy" % o) for o in outs]
    for o, f in zip(outs, files):
        cmd += ["--output", "%s=%s" % (o, f)]
    run(cmd, "the compiled program")
    got = [np.load(f) for f in files]
    with torch.no_grad():
        y32 = [t.double().numpy() for t in
               as_list(module(*[torch.from_numpy(x.copy()) for x in xs]))]
        m64 = copy.deepcopy(module).double().eval()
        y64 = [t.numpy() for t in as_list(
            m64(*[torch.from_numpy(x.copy()).double() for x in xs]))]
    if len(y32) != len(outs):
        raise Failure("the model JSON returns %d outputs, PyTorch %d" % (
            len(outs), len(y32)))
    for o, a in zip(outs, y32):
        np.save(os.path.join(work, "torch_%s.npy" % o), a.astype(np.float32))
    res = compare(outs, got, y32, y64)

    summary = {"model": name, "params": params,
               "kiln_params": totals["parameters"], "macs": totals["MACs"],
               "weight_bytes": totals["weight bytes"],
               "arena_bytes": totals["arena bytes"],
               "inputs": [[n, list(s)] for n, s in inputs],
               "outputs": {n: {"err": e, "tol": t, "rel32": r}
                           for n, e, t, r in res},
               "build_s": round(t_build, 2)}
    if args.bench > 0:
        print("== latency, batch 1, one thread, median of %d runs" %
              args.bench)
        out = run([prog] + in_args + ["--bench", str(args.bench)],
                  "the program's --bench")
        m = re.search(r"median ([\d.]+) ms", out)
        if not m:
            raise Failure("no median in the program's --bench output:\n" + out)
        kiln_ms = float(m.group(1))
        torch_ms = torch_latency_ms(module, [torch.from_numpy(x) for x in xs],
                                    args.bench)
        print("  Kiln %.3f ms, PyTorch %.3f ms" % (kiln_ms, torch_ms))
        summary.update(kiln_ms=kiln_ms, torch_ms=torch_ms, runs=args.bench)
    print("  (%.1f s in all)" % (time.time() - t_all))
    return summary


def table(files):
    """The markdown table of --summary files."""
    rows = []
    for fn in files:
        with open(fn) as f:
            rows.append(json.load(f))
    print("| model | parameters | MACs | Kiln ms | PyTorch ms (1 thread) | "
          "PyTorch / Kiln |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        k, t = r.get("kiln_ms"), r.get("torch_ms")
        print("| %s | %s | %s | %s | %s | %s |" % (
            r["model"], format(r["kiln_params"], ","), format(r["macs"], ","),
            "%.3f" % k if k is not None else "-",
            "%.3f" % t if t is not None else "-",
            "%.2fx" % (t / k) if k and t else "-"))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "table":
        table(sys.argv[2:])
        sys.exit(0)
    print("usage: zoo.py table SUMMARY.json...  (the examples import this "
          "module; run examples/NAME/run.sh)", file=sys.stderr)
    sys.exit(2)
