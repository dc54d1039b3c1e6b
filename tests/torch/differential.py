#!/usr/bin/python3
"""Differential test of Kiln against PyTorch, layer by layer.

usage: differential.py --kiln PATH --work DIR [--filter REGEX] [--jobs N]
                       [--backend cpp|llvm]
                       [--batch-size N] [--list]

For every layer type and functional op of the model format, and every
argument of each, the generators in cases/ (one module per layer family,
listed in cases/__init__.py) make seeded random cases: a torch module
with random weights (parameters AND BatchNorm running statistics are
re-initialised from the case's seed, running_var positive), a seeded random
input, the float32 output of PyTorch in eval() mode and the float64 output of
the same module ``.double()`` on the same input (the same float32 weights and
input, widened exactly).

Cases of one layer family are batched: one Kiln model whose root is a user
module with one child per case (``c0``, ``c1``, ...), one model input per case
(``x0``, ...) and one output per case (``y0``, ...). Each batch is compiled
once with ``kiln build`` and the program is run once; ``kiln run`` (the
reference interpreter) is also run once on the same batch. Both are compared
with PyTorch.

If a batch does not compile, its cases are tried one by one with ``kiln run``:
a case that Kiln refuses with a message containing "not supported" (a layer or
argument that is part of the format but not implemented yet) is SKIPPED, with
Kiln's message; any other refusal is a FAIL. The cases that compile alone are
then built again as one batch. (Interim rule: Kiln answers `unknown op "X"`
for the functional ops of the format it has not registered yet, instead of
"not supported"; such a refusal, for an op listed by the format, counts as
SKIPPED too and is marked "(op unknown to Kiln)".)

Tolerance (measured, not guessed), per case and per output:

    err32 = max |torch_f32 - torch_f64|
    err   = max |kiln - torch_f64|          (both the program and kiln run)
    pass  iff  err <= 4 * err32 + 8 * 2**-24 * max(1, max|torch_f64|) * sqrt(K)

where K is the number of terms of the largest reduction in the layer: kernel
volume times input channels per group for convolutions (both directions),
in_features for Linear, the window size for pools (the largest window for
adaptive pools), the reduced extent for softmax, mean, LocalResponseNorm and
batch-statistics BatchNorm, and 1 for elementwise layers.

Why: the float64 result is the reference "true" value of the same float32
weights and input. PyTorch's own float32 error, err32, measures how hard this
particular case is in float32 (cancellation, ill-conditioning); an
implementation that rounds as carefully as PyTorch but in a different order
lands within a small multiple of it, hence 4 * err32. err32 can be very small
by luck (or zero for exact layers), so a floor is added: a sum of K float32
terms in any order has a typical rounding error of a few units in the last
place (2**-24 relative) times sqrt(K) (random-walk accumulation), scaled by
the output magnitude; 8 of them leave room for transcendental functions
(exp, tanh, pow) that are correct to a couple of ulp. Exact layers (ReLU,
max pooling, reshapes, dropout) therefore get a tolerance of a few ulp of the
output's magnitude, which a correct implementation meets exactly.

Exit status: 0 when nothing FAILED (SKIPPED cases do not fail the run).
"""

import argparse
import concurrent.futures
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "kiln_export"))
from kiln_export import make_model, write_model  # noqa: E402
from cases import REJECTED, all_cases  # noqa: E402

TOLERANCE_RULE = ("pass iff max|kiln - torch_f64| <= 4*max|torch_f32 - "
                  "torch_f64| + 8 * 2**-24 * max(1, max|torch_f64|) * sqrt(K)"
                  " (K = terms in the layer's largest reduction)")

# The functional ops the model format lists (spec "Functional ops" table).
SPEC_OPS = {
    "add", "sub", "mul", "div", "cat", "flatten", "reshape", "view",
    "squeeze", "unsqueeze", "chunk", "split", "layer_norm", "permute",
    "transpose", "matmul", "sum", "mean", "relu", "relu6", "sigmoid", "tanh",
    "silu", "hardswish", "hardsigmoid", "gelu", "leaky_relu", "softmax",
    "log_softmax", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
    "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "dropout", "interpolate",
}



# --------------------------------------------------------------------------
# Running Kiln


class Result:
    def __init__(self, case):
        self.case = case
        self.status = None   # PASS / FAIL / SKIP
        self.messages = []
        self.ratio = 0.0     # max err / tolerance over outputs and executors


def _absdiff(a, b):
    """|a - b|, 0 where both are the same infinity, NaN if either is NaN."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):
        d = np.abs(a - b)
    return np.where(np.isinf(a) & (a == b), 0.0, d)


def check_outputs(case, outs, who):
    """Compares Kiln's outputs (list of arrays or None) with the references;
    returns (ok, ratio, messages)."""
    ok, ratio, msgs = True, 0.0, []
    for j in range(case.n_out):
        y32, y64 = case.ref32[j], case.ref64[j]
        got = outs[j]
        if got is None:
            return False, ratio, ["%s: output %d missing" % (who, j)]
        got = np.asarray(got, dtype=np.float64)
        if got.shape != y64.shape:
            ok = False
            msgs.append("%s: output %d has shape %s, PyTorch %s"
                        % (who, j, list(got.shape), list(y64.shape)))
            continue
        if y64.size == 0:
            continue
        # Infinities (a max-pool window holding only padding gives -inf in
        # PyTorch) must be matched exactly; they count as error 0.
        err32 = float(np.max(_absdiff(y32, y64)))
        finite = np.isfinite(y64)
        mag = float(np.max(np.abs(y64[finite]))) if finite.any() else 0.0
        tol = 4 * err32 + 8 * 2.0 ** -24 * max(1.0, mag) * math.sqrt(case.K)
        diff = _absdiff(got, y64)
        err = float(np.max(diff)) if not np.isnan(diff).any() else math.inf
        r = err / tol
        ratio = max(ratio, r)
        if not err <= tol:
            ok = False
            where = np.unravel_index(int(np.nanargmax(np.where(
                np.isnan(diff), np.inf, diff))), diff.shape)
            msgs.append("%s: output %d err %.3g > tolerance %.3g (err32 %.3g,"
                        " max|f64| %.3g, K %d); worst at %s: kiln %r, torch "
                        "f64 %r, f32 %r"
                        % (who, j, err, tol, err32, mag, case.K,
                           list(map(int, where)), float(got[where]),
                           float(y64[where]), float(y32[where])))
    return ok, ratio, msgs


def run_cmd(argv, timeout):
    """(exit status, stdout+stderr). An executable that cannot be started
    (the kiln driver being relinked by a concurrent build) is retried for up
    to two minutes."""
    for attempt in range(60):
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
            return p.returncode, p.stdout.decode("utf-8", "replace").strip()
        except subprocess.TimeoutExpired:
            return -1, "timed out after %d s: %s" % (timeout, " ".join(argv))
        except OSError as e:
            err = e
            time.sleep(2)
    return -1, "cannot run %s: %s" % (argv[0], err)


def out_names(i, case):
    return ["y%d" % i] + ["y%d_%d" % (i, j) for j in range(1, case.n_out)]


def in_names(i, case):
    if len(case.inputs) == 1:
        return ["x%d" % i]
    return ["x%d_%d" % (i, j) for j in range(len(case.inputs))]


def write_batch(directory, cases, name):
    """model.json + weights + inputs of a batch; returns (json, in_args,
    out files per case)."""
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    modules, forward, inputs, torch_mods = {}, [], [], {}
    in_args = []
    for i, c in enumerate(cases):
        child = "c%d" % i
        modules[child] = c.entry
        torch_mods[child] = c.module
        ins = in_names(i, c)
        for n, x in zip(ins, c.inputs):
            inputs.append((n, x.shape))
            f = os.path.join(directory, n + ".npy")
            # (np.asarray keeps a 0-d input 0-d; ascontiguousarray makes
            # it 1-d)
            np.save(f, np.asarray(x, dtype=np.float32, order="C"))
            in_args += ["--input", "%s=%s" % (n, f)]
        outs = out_names(i, c)
        step = {"out": outs[0] if c.n_out == 1 else outs, "call": child,
                "in": ins}
        step.update(c.call_extra)
        forward.append(step)
    forward.append({"return": [n for i, c in enumerate(cases)
                               for n in out_names(i, c)]})
    has_tensors = any(len(m.state_dict()) for m in torch_mods.values())
    model = make_model(name, inputs, modules, forward,
                       "weights.safetensors" if has_tensors else None,
                       root_type="DifferentialBatch")
    path = write_model(directory, model, torch_mods if has_tensors else None)
    return path, in_args


def out_args(directory, cases, tag):
    args, files = [], []
    for i, c in enumerate(cases):
        fs = []
        for n in out_names(i, c):
            f = os.path.join(directory, "%s_%s.npy" % (tag, n))
            args += ["--output", "%s=%s" % (n, f)]
            fs.append(f)
        files.append(fs)
    return args, files


def load_outs(files):
    out = []
    for f in files:
        try:
            out.append(np.load(f))
        except Exception:  # missing or unreadable: reported as missing
            out.append(None)
    return out


def skip_reason(msg):
    """The reason to SKIP a case Kiln refused, or None (then it FAILs)."""
    if "not supported" in msg:
        return msg
    m = re.search(r'unknown op "(\w+)"', msg)
    if m and m.group(1) in SPEC_OPS:
        return msg + "  (op unknown to Kiln)"
    return None


def short(msg, lines=6, chars=900):
    """The first lines of a (compiler) message."""
    ls = msg.splitlines()
    out = "\n".join(ls[:lines])
    if len(out) > chars:
        out = out[:chars] + " ..."
    elif len(ls) > lines:
        out += "\n        ... (%d more lines)" % (len(ls) - lines)
    return out


class Runner:
    def __init__(self, kiln, work, backend="cpp"):
        self.backend = backend
        self.kiln = kiln
        self.work = work
        self.lock = threading.Lock()
        self.builds = 0
        self.interps = 0

    def log(self, s):
        with self.lock:
            print(s, flush=True)

    def count(self, what):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)

    def run_batch(self, key, cases):
        """Compiles and runs one batch; returns {case.id: Result}."""
        t0 = time.time()
        results = {c.id: Result(c) for c in cases}
        d = os.path.join(self.work, key)
        name = "diff_" + re.sub(r"\W", "_", key)
        path, in_args = write_batch(d, cases, name)
        ok, msg = self.build(d, path)
        todo = cases
        if not ok:
            # Refused: find out which cases Kiln refuses, one by one.
            todo = []
            for i, c in enumerate(cases):
                cd = os.path.join(d, "case%d" % i)
                cpath, cargs = write_batch(cd, [c], "%s_%d" % (name, i))
                oargs, _ = out_args(cd, [c], "interp")
                rc, cmsg = run_cmd([self.kiln, "run", cpath] + cargs + oargs,
                                   300)
                self.count("interps")
                if rc == 0:
                    todo.append(c)
                    continue
                r = results[c.id]
                why = skip_reason(cmsg)
                r.status = "SKIP" if why else "FAIL"
                r.messages = ["kiln run: " + short(why or cmsg)]
            if todo and len(todo) < len(cases):
                d = os.path.join(d, "accepted")
                path, in_args = write_batch(d, todo, name + "_ok")
                ok, msg = self.build(d, path)
        if todo:
            self.compare(d, path, in_args, todo, results, ok)
            if not ok:
                log = os.path.join(d, "build.log")
                with open(log, "w") as f:
                    f.write(msg + "\n")
                for c in todo:
                    r = results[c.id]
                    r.status = "FAIL"
                    r.messages.insert(0, (
                        "kiln build failed on the batch of the %d case(s) "
                        "that kiln run accepts one by one (log: %s):\n"
                        "        %s") % (len(todo), log, short(msg)))
        nf = sum(r.status == "FAIL" for r in results.values())
        ns = sum(r.status == "SKIP" for r in results.values())
        self.log("  %-36s %3d cases %3d failed %3d skipped  %5.1f s"
                 % (key, len(cases), nf, ns, time.time() - t0))
        return results

    def build(self, d, path):
        # The default pipeline (fusions) with the verifier after each pass,
        # and the naive graph (-O0): both must match PyTorch.
        be = ["--backend=" + self.backend]
        rc, msg = run_cmd([self.kiln, "build", path, "--verify-each", "-o",
                           os.path.join(d, "prog")] + be, 600)
        self.count("builds")
        if rc != 0:
            return False, msg
        rc, msg = run_cmd([self.kiln, "build", path, "-O0", "-o",
                           os.path.join(d, "prog_O0")] + be, 600)
        self.count("builds")
        if rc != 0:
            return False, msg
        return self.ir_round_trip(d, path)

    def ir_round_trip(self, d, path):
        """The textual IR of the batch, naive and optimised, reads back to
        the same text (print, parse with kiln opt, print)."""
        for level in ("-O0", "-O1"):
            a = os.path.join(d, "ir%s.kir" % level)
            b = os.path.join(d, "ir%s.again.kir" % level)
            rc, msg = run_cmd([self.kiln, "compile", path, level, "--emit=ir",
                               "--print-locations", "-o", a], 300)
            if rc == 0:
                rc, msg = run_cmd([self.kiln, "opt", a, "--print-locations",
                                   "-o", b], 300)
            if rc != 0:
                return False, "IR round trip %s: %s" % (level, msg)
            with open(a) as fa, open(b) as fb:
                if fa.read() != fb.read():
                    return False, ("IR round trip %s: %s and %s differ"
                                   % (level, a, b))
        return True, ""

    def compare(self, d, path, in_args, cases, results, built):
        """Runs the program (if built) and kiln run on ``cases`` and
        compares their outputs with PyTorch."""
        runs = []
        if built:
            for prog, who in (("prog", "program"), ("prog_O0", "program -O0")):
                pargs, pfiles = out_args(d, cases, prog)
                rc, msg = run_cmd([os.path.join(d, prog)] + in_args + pargs,
                                  300)
                runs.append((who, rc, msg, pfiles))
        # The interpreter on the naive graph and on the optimised one.
        for flags, tag, who in (([], "interp", "kiln run"),
                                (["-O1", "--verify-each"], "interp_O1",
                                 "kiln run -O1")):
            iargs, ifiles = out_args(d, cases, tag)
            rc, msg = run_cmd([self.kiln, "run", path] + flags + in_args +
                              iargs, 300)
            self.count("interps")
            runs.append((who, rc, msg, ifiles))
        for i, c in enumerate(cases):
            r = results[c.id]
            ok, msgs = True, []
            for who, rc, msg, files in runs:
                if rc != 0:
                    ok = False
                    msgs.append("%s failed (status %d): %s"
                                % (who, rc, short(msg)))
                    continue
                good, ratio, m = check_outputs(c, load_outs(files[i]), who)
                ok = ok and good
                r.ratio = max(r.ratio, ratio)
                msgs += m
            r.status = "PASS" if ok else "FAIL"
            r.messages = msgs


def batches_of(cases, size):
    groups = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    out = []
    for g, cs in groups.items():
        nb = -(-len(cs) // size)
        per = -(-len(cs) // nb)
        for b in range(nb):
            key = g + ("" if nb == 1 else "_%d" % b)
            out.append((key, cs[b * per:(b + 1) * per]))
    return out


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", required=True, help="the kiln driver")
    ap.add_argument("--work", required=True, help="work directory")
    ap.add_argument("--filter", default=None,
                    help="regex on case id, family or group (re.search)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--backend", choices=("cpp", "llvm"), default="cpp",
                    help="the backend `kiln build` uses")
    ap.add_argument("--batch-size", type=int, default=48,
                    help="at most this many cases per Kiln model")
    ap.add_argument("--list", action="store_true",
                    help="list the cases and exit")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every case's result")
    a = ap.parse_args()
    t_start = time.time()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    kiln = os.path.abspath(a.kiln)
    work = os.path.abspath(a.work)

    cases = all_cases()
    if a.filter:
        rx = re.compile(a.filter)
        cases = [c for c in cases if rx.search(c.id) or rx.search(c.family)
                 or rx.search(c.group)]
    if a.list:
        for c in cases:
            print(c.describe())
        return 0
    for c in cases:
        if c.ref64 is None:
            c.compute_reference()
    t_gen = time.time() - t_start
    batches = batches_of(cases, a.batch_size)
    batches.sort(key=lambda b: -len(b[1]))
    os.makedirs(work, exist_ok=True)
    print("torch_differential: %d cases in %d batches, %d jobs (cases "
          "generated in %.1f s; %d candidates refused by PyTorch itself were "
          "redrawn)" % (len(cases), len(batches), a.jobs, t_gen,
                        len(REJECTED)), flush=True)
    runner = Runner(kiln, work, a.backend)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as ex:
        futs = [ex.submit(runner.run_batch, k, cs) for k, cs in batches]
        for f in concurrent.futures.as_completed(futs):
            results.update(f.result())

    # Report.
    order = [c.id for c in cases]
    fails = [results[i] for i in order if results[i].status == "FAIL"]
    skips = [results[i] for i in order if results[i].status == "SKIP"]
    if a.verbose:
        for i in order:
            r = results[i]
            print("%s %s ratio %.3f" % (r.status, i, r.ratio))
    if skips:
        print("\nSKIPPED (Kiln refuses them as not supported yet):")
        seen = {}
        for r in skips:
            msg = r.messages[0] if r.messages else ""
            m = re.sub(r"^kiln run: (kiln: )?(error: )?", "", msg)
            m = re.sub(r"\S*/case\d+/model\.json", "model.json", m)
            m = re.sub(r"\b(c|x|y)\d+(_\d+)?\b", r"\1N\2", m)
            seen.setdefault((r.case.family, m), []).append(r.case.id)
        for (fam, msg), ids in seen.items():
            print("  SKIP %d x %s: %s" % (len(ids), fam, msg))
            if a.verbose or len(ids) <= 3:
                print("       cases: %s" % ", ".join(ids))
    if fails:
        print("\nFAILED:")
        for r in fails:
            print("  FAIL %s" % r.case.describe())
            for m in r.messages:
                print("       " + m)
    fams = []
    for c in cases:
        if c.family not in fams:
            fams.append(c.family)
    print("\nTolerance: " + TOLERANCE_RULE)
    print("\n%-22s %6s %6s %7s %6s %12s" % ("layer", "cases", "passed",
                                            "skipped", "failed",
                                            "max err/tol"))
    tot = [0, 0, 0, 0]
    for fam in fams:
        rs = [results[c.id] for c in cases if c.family == fam]
        n = len(rs)
        p = sum(r.status == "PASS" for r in rs)
        s = sum(r.status == "SKIP" for r in rs)
        f = sum(r.status == "FAIL" for r in rs)
        ratios = [r.ratio for r in rs if r.status != "SKIP"]
        rt = ("%.3f" % max(ratios)) if ratios and (p or f) else "-"
        print("%-22s %6d %6d %7d %6d %12s" % (fam, n, p, s, f, rt))
        for k, v in enumerate((n, p, s, f)):
            tot[k] += v
    print("%-22s %6d %6d %7d %6d" % ("TOTAL", *tot))
    print("\n%d kiln builds, %d kiln runs, wall time %.1f s"
          % (runner.builds, runner.interps, time.time() - t_start))
    print("RESULT: %s" % ("FAIL" if tot[3] else "PASS"))
    return 1 if tot[3] else 0


if __name__ == "__main__":
    sys.exit(main())
