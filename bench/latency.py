"""The headline latency benchmark (bench/README.md; `make bench` runs it
through bench/run_benchmarks.sh): the model zoo at batch 1, one thread, on
one pinned core, Kiln's two backends against PyTorch and ONNX Runtime, side
by side in one run.

1. the core's FMA peak (bench/peak_fma.cpp, -O2 -march=native, pinned);
2. per model (bench/prepare.py, cached under build/bench/): the zoo's
   export, inputs, PyTorch reference outputs, ONNX file; `kiln info`'s MACs;
   `kiln build` through each backend with the host-CPU flags;
3. the peers, each pinned with `taskset -c CORE`: bench/torch_runner.py
   (PyTorch, jit trace + freeze + optimize_for_inference) and
   bench/ort_runner.mjs (onnxruntime-node) as long-lived workers, Kiln's
   programs as `PROG --input ... --bench N` each time;
4. every peer's output checked against PyTorch float64 with the zoo's rule
   (examples/common/zoo.py compare: err <= 4 err32 + 1e-6 max|y|);
5. ROUNDS interleaved rounds: round r runs every peer (in an order that
   rotates with r) on model m before model m + 1; each measures the median
   of at least MIN_ITERS runs and MIN_TIME seconds, after a warm-up;
6. the tables (bench/report.py), printed and written to build/bench/latency.md.

usage: /usr/bin/python3 bench/latency.py [--kiln K] [--rounds R]
           [--models a,b,c] [--quick] [--min-time S] [--min-iters N]
           [--core C] [--seed S] [--no-ort]
Exit status 1 when a Kiln output fails its check or a Kiln column cannot
run (a peer's FAIL is printed and shown in the table, but is not Kiln's).
"""

import argparse
import contextlib
import datetime
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402
import prepare  # noqa: E402
import report  # noqa: E402

ROOT = models.ROOT
torch.set_num_threads(1)  # the driver's own exports stay off other cores


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "bin",
                                                   "kiln"),
                    help="the kiln driver (default build/bin/kiln)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds "
                    "(default 5; 3 with --quick)")
    ap.add_argument("--models", help="comma-separated, of: " +
                    ", ".join(models.MODELS) + " (default all)")
    ap.add_argument("--quick", action="store_true", help="development run: "
                    + ", ".join(models.QUICK) + ", 3 rounds")
    ap.add_argument("--min-time", type=float, default=0.3, metavar="S",
                    help="seconds of timed runs per measurement (default "
                    "0.3)")
    ap.add_argument("--min-iters", type=int, default=3, metavar="N",
                    help="timed runs per measurement at least (default 3)")
    ap.add_argument("--core", type=int, help="the core every process is "
                    "pinned to (default 1, or 0 on a one-core machine)")
    ap.add_argument("--seed", type=int, default=0,
                    help="weights and inputs (default 0, as the zoo)")
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "bench"),
                    help="exports, programs, outputs, logs and latency.md "
                    "(default build/bench)")
    ap.add_argument("--no-ort", action="store_true",
                    help="leave ONNX Runtime out")
    a = ap.parse_args(argv)
    if a.rounds is None:
        a.rounds = 3 if a.quick else 5
    if a.models:
        try:
            a.models = [models.canonical(m) for m in a.models.split(",") if m]
        except KeyError as e:
            ap.error("unknown model %s (known: %s)" % (
                e, ", ".join(models.MODELS)))
    else:
        a.models = list(models.QUICK if a.quick else models.MODELS)
    if a.rounds < 1 or a.min_iters < 1:
        ap.error("--rounds and --min-iters must be positive")
    return a


def sh(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return p.returncode, p.stdout.strip()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_info():
    """(model name, the CPU's vector ISA flags)."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k in ("model name", "Model", "Hardware") and \
                        name == "unknown CPU":
                    name = v.strip()
                elif k in ("flags", "Features") and not flags:
                    flags = set(v.split())
    except OSError:
        pass
    wanted = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq",
              "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
              "avx512_fp16", "amx_tile", "neon", "asimd", "sve"]
    return name, [f for f in wanted if f in flags]


class Worker:
    """A peer as a long-lived process, one JSON line each way."""

    def __init__(self, label, cmd, log, env):
        self.label, self.log = label, log
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=open(log, "w"), text=True, env=env)

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("%s exited (status %s), see %s" % (
                self.label, self.p.wait(), models.zoo.rel(self.log)))
        return json.loads(line)

    def ask(self, **req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        reply = self.read()
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "failed"))
        return reply

    def close(self):
        try:
            self.p.stdin.write('{"cmd": "quit"}\n')
            self.p.stdin.close()
            self.p.wait(timeout=20)
        except Exception:
            self.p.kill()
            self.p.wait()


def measure_peak(cache, pin):
    """(ISA, lanes, accumulators, GFLOP/s) of bench/peak_fma.cpp."""
    src = os.path.join(HERE, "peak_fma.cpp")
    exe = os.path.join(cache, "peak_fma")
    cxx = os.environ.get("CXX") or "c++"
    if not os.path.exists(exe) or os.path.getmtime(exe) < \
            os.path.getmtime(src):
        rc, out = sh([cxx, "-O2", "-march=native", src, "-o", exe])
        if rc != 0:
            raise RuntimeError("cannot compile peak_fma.cpp: " + out)
    rc, out = sh(pin + [exe])
    if rc != 0:
        raise RuntimeError("peak_fma failed: " + out)
    isa, lanes, accs, gflops = out.rsplit(None, 3)
    return isa, int(lanes), int(accs), float(gflops)


def kiln_run(pin, prog, model, iters, outputs=None):
    """PROG --input ... [--output ...] --bench ITERS -> (median, min, n)."""
    cmd = pin + [prog]
    for n, p in model.inputs.items():
        cmd += ["--input", "%s=%s" % (n, p)]
    for o, p in (outputs or {}).items():
        cmd += ["--output", "%s=%s" % (o, p)]
    cmd += ["--bench", str(iters)]
    rc, out = sh(cmd)
    m = re.search(r"median ([\d.]+) ms over (\d+) runs \(min ([\d.]+)", out)
    if rc != 0 or not m:
        raise RuntimeError("%s exited %d: %s" % (os.path.basename(prog), rc,
                                                 out[-400:]))
    return float(m.group(1)), float(m.group(3)), int(m.group(2))


def check(label, model, files):
    """The zoo's check of the outputs in FILES: (ok, the printed lines)."""
    buf = io.StringIO()
    try:
        got = [np.load(f) for f in files]
        with contextlib.redirect_stdout(buf):
            models.zoo.compare(model.outputs, got, model.ref(32),
                               model.ref(64))
        ok, msg = True, ""
    except models.zoo.Failure as e:
        ok, msg = False, str(e)
    except Exception as e:
        ok, msg = False, "cannot read the outputs: %s" % e
    text = (buf.getvalue() + msg).replace("Kiln", label).rstrip()
    text = "\n".join("  " + ln for ln in text.splitlines())
    return ok, text


def iterations(ms, args):
    """Runs per Kiln measurement for a model taking MS per run."""
    return int(min(1e6, max(args.min_iters, math.ceil(args.min_time * 1e3 /
                                                      max(ms, 1e-4)))))


def main(argv):
    args = parse_args(argv)
    kiln = os.path.abspath(args.kiln)
    if not os.access(kiln, os.X_OK):
        print("latency: no kiln driver at %s (build it with `make`)" % kiln,
              file=sys.stderr)
        return 2
    cache = os.path.abspath(args.cache)
    for sub in ("", "out", "logs"):
        os.makedirs(os.path.join(cache, sub), exist_ok=True)
    cores = sorted(os.sched_getaffinity(0))
    core = args.core if args.core is not None else (1 if 1 in cores
                                                    else cores[0])
    notes = []
    if shutil.which("taskset"):
        pin = ["taskset", "-c", str(core)]
    else:
        pin = []
        notes.append("taskset not found: processes were NOT pinned")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    load_start = loadavg()
    cpu, isa_flags = cpu_info()
    _, march = sh(["sh", "-c", "%s -march=native -Q --help=target 2>/dev/null"
                   " | sed -n 's/^ *-march= *//p' | head -n 1" %
                   (os.environ.get("CXX") or "c++")])
    _, commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    _, dirty = sh(["git", "-C", ROOT, "status", "--porcelain",
                   "--untracked-files=no"])
    _, kiln_version = sh([kiln, "--version"])
    kiln_version = kiln_version.splitlines()[0] if kiln_version else "?"
    print("== latency: %s; rounds %d, >= %g s and >= %d runs per measurement,"
          " core %d" % (", ".join(args.models), args.rounds, args.min_time,
                        args.min_iters, core))

    print("== FMA peak (bench/peak_fma.cpp)")
    peak = measure_peak(cache, pin)
    print("  %s, %d lanes x %d accumulators: %.1f GFLOP/s" % peak)

    print("== models (cached in %s)" % models.zoo.rel(cache))
    kiln_sha = prepare._file_sha(kiln)
    host_flags = prepare.host_cpu_flags(kiln)
    prepared, progs, macs, flags_used = {}, {}, {}, {"cpp": set(),
                                                     "llvm": set()}
    series = {m: {p: report.Series() for p in report.PEERS}
              for m in args.models}
    checks = {m: {} for m in args.models}
    failed_kiln = False

    def fail_all(m, why):
        for s in series[m].values():
            s.error = why

    for m in args.models:
        try:
            model = prepare.export_model(m, cache, args.seed)
            macs[m] = prepare.kiln_macs(kiln, model)
        except Exception as e:
            print("  %s: %s" % (m, e))
            fail_all(m, "export failed: %s" % str(e)[:300])
            failed_kiln = True
            continue
        prepared[m] = model
        progs[m] = {}
        for backend in ("cpp", "llvm"):
            prog, fl, err = prepare.build_kiln(kiln, kiln_sha, model,
                                               backend, cache, host_flags)
            flags_used[backend].add(" ".join(fl) or "(none)")
            if err:
                series[m]["kiln_" + backend].error = err
                failed_kiln = True
            progs[m]["kiln_" + backend] = prog

    workers = {}
    print("== peers")
    try:
        workers["torch"] = Worker(
            "torch_runner", pin + [sys.executable,
                                   os.path.join(HERE, "torch_runner.py")],
            os.path.join(cache, "logs", "torch_runner.log"), env)
    except OSError as e:
        for m in prepared:
            series[m]["torch"].error = "cannot start torch_runner: %s" % e
    ort_version, ort_why = None, None
    if args.no_ort:
        ort_why = "left out (--no-ort)"
    else:
        ort_dir, ort_why = prepare.install_ort(cache)
        if ort_dir:
            w = Worker("ort_runner", pin + ["node", os.path.join(
                HERE, "ort_runner.mjs"), ort_dir],
                os.path.join(cache, "logs", "ort_runner.log"), env)
            try:
                hello = w.read()
                if hello.get("ok"):
                    workers["ort"], ort_version = w, hello.get("version")
                else:
                    ort_why = "onnxruntime-node does not load: %s" % \
                        hello.get("error")
                    w.close()
            except Exception as e:
                ort_why = "onnxruntime-node does not load: %s" % e
                w.close()
    if ort_why:
        print("  ONNX Runtime NOT measured: %s" % ort_why)
        notes.append("ONNX Runtime NOT measured: %s" % ort_why)
        for m in prepared:
            series[m]["ort"].error = ort_why
    else:
        print("  ONNX Runtime %s (onnxruntime-node, CPU provider)" %
              ort_version)

    print("== load, check against PyTorch float64 (zoo rule), calibrate")
    kiln_iters = {}
    for m, model in prepared.items():
        out = lambda peer: {o: os.path.join(cache, "out", "%s_%s_%s.npy" % (
            m, peer, o)) for o in model.outputs}
        for peer, label in (("torch", "PyTorch jit"), ("ort", "ORT")):
            s = series[m][peer]
            if s.error or peer not in workers:
                continue
            if peer == "ort" and not model.onnx:
                s.error = model.onnx_error or "no ONNX file"
                notes.append("%s: ORT not measured: %s" % (m, s.error))
                continue
            files = out(peer)
            try:
                t0 = time.time()
                r = workers[peer].ask(cmd="load", model=m, seed=args.seed,
                                      onnx=model.onnx, inputs=model.inputs,
                                      outputs=files)
                notes += ["%s: PyTorch: %s" % (m, n)
                          for n in r.get("notes", [])]
            except Exception as e:
                s.error = "load failed: %s" % str(e)[:300]
                print("  %s %s: %s" % (m, label, s.error))
                continue
            ok, text = check(label, model, list(files.values()))
            checks[m][peer] = ok
            print("  %s %s (loaded in %.1f s): %s\n%s" % (
                m, label, time.time() - t0, "ok" if ok else "FAIL", text))
        for peer in ("kiln_cpp", "kiln_llvm"):
            s = series[m][peer]
            if s.error:
                continue
            files = out(peer)
            try:
                ms, _, _ = kiln_run(pin, progs[m][peer], model, 1, files)
            except Exception as e:
                s.error = "run failed: %s" % e
                failed_kiln = True
                print("  %s %s: %s" % (m, report.LABELS[peer], s.error))
                continue
            kiln_iters[m, peer] = iterations(ms, args)
            ok, text = check(report.LABELS[peer], model, list(files.values()))
            checks[m][peer] = ok
            print("  %s %s (%.3f ms once): %s\n%s" % (
                m, report.LABELS[peer], ms, "ok" if ok else "FAIL", text))

    print("== %d interleaved rounds" % args.rounds)
    peaks = [peak[3]]
    for r in range(args.rounds):
        if r:  # the peak again between rounds: a shared machine's varies
            peaks.append(measure_peak(cache, pin)[3])
        for m in prepared:
            order = report.PEERS[r % 4:] + report.PEERS[:r % 4]
            line = []
            for peer in order:
                s = series[m][peer]
                if s.error:
                    continue
                try:
                    if peer in workers:
                        rep = workers[peer].ask(cmd="bench", model=m,
                                                min_time=args.min_time,
                                                min_iters=args.min_iters)
                        med, mn, n = rep["median_ms"], rep["min_ms"], \
                            rep["iters"]
                    else:
                        med, mn, n = kiln_run(pin, progs[m][peer],
                                              prepared[m],
                                              kiln_iters[m, peer])
                        kiln_iters[m, peer] = iterations(med, args)
                except Exception as e:
                    s.error = "round %d: %s" % (r + 1, str(e)[:300])
                    failed_kiln |= peer.startswith("kiln")
                    line.append("%s failed" % report.LABELS[peer])
                    continue
                s.add(med, mn, n)
                line.append("%s %.3f ms (%d)" % (report.LABELS[peer], med, n))
            print("  round %d/%d %s: %s" % (r + 1, args.rounds, m,
                                            ", ".join(line)))
            sys.stdout.flush()
    for w in workers.values():
        w.close()
    peaks.append(measure_peak(cache, pin)[3])
    peak_gflops = max(peaks)

    rows = [(m, macs.get(m, 0), series[m], checks[m]) for m in args.models]
    table, gmean, n_ratio = report.headline(rows, peak_gflops)
    date = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    head = [
        "## Latency, batch 1, one thread, one pinned core",
        "",
        "%s; commit %s%s; %s" % (date, commit, " + uncommitted changes"
                                 if dirty else "", kiln_version),
        "",
        "- CPU: %s (%d cores; ISA flags: %s); every process pinned to core %d"
        " (`%s`)" % (cpu, os.cpu_count(), " ".join(isa_flags) or "-", core,
                     " ".join(pin) or "not pinned"),
        "- load average at start %s, at end %s" % (load_start, loadavg()),
        "- FMA peak (bench/peak_fma.cpp, `c++ -O2 -march=native`, -march="
        "native is %s here): %s, %d lanes x %d accumulators, %.1f GFLOP/s "
        "(the largest of %d measurements before, between and after the "
        "rounds, which ranged from %.1f; the 100%% of %% peak)" % (
            march or "?", peak[0], peak[1], peak[2], peak_gflops, len(peaks),
            min(peaks)),
        "- Kiln C++: `kiln build MODEL --backend=cpp %s -o PROG`; Kiln LLVM: "
        "`kiln build MODEL --backend=llvm %s -o PROG`; timed as `PROG --input"
        " ... --bench N` (after the program's own first run)" % (
            " / ".join(sorted(flags_used["cpp"])) or "-",
            " / ".join(sorted(flags_used["llvm"])) or "-"),
        "- PyTorch %s: set_num_threads(1), eval, no_grad, jit.trace + "
        "jit.freeze + jit.optimize_for_inference (%s)" % (
            torch.__version__, next((ln.split(":", 1)[1].strip() for ln in
                                     torch.__config__.show().splitlines()
                                     if "CPU capability" in ln), "?")),
        "- ONNX Runtime: %s" % (
            "onnxruntime-node %s, CPU provider, intraOpNumThreads 1, "
            "interOpNumThreads 1, graphOptimizationLevel all, sequential; "
            "models from torch.onnx.export (opset 17)" % ort_version
            if ort_version else "NOT measured: %s" % ort_why),
        "- %d interleaved rounds (the peers' order rotates each round); each"
        " measurement: a warm-up, then the median of >= %d runs and >= %g s;"
        " a cell is the median of the round medians" % (
            args.rounds, args.min_iters, args.min_time),
        "- GFLOP/s = 2 x MACs (`kiln info`) / time of the faster Kiln column;"
        " Kiln / best peer = the faster peer's time / the faster Kiln "
        "column's time (> 1: Kiln is faster); check: every output (PyTorch's"
        " from the optimised jit module) against eager PyTorch in float64, "
        "err <= 4 err32 + 1e-6 max|y| (examples/common/zoo.py); a column "
        "whose output FAILs is marked and not taken as the best of its side",
        "",
    ]
    tail = ["", "Geometric mean of Kiln / best peer over %d models: %s" % (
        n_ratio, "%.3fx" % gmean if gmean else "-"), "",
        "### Per peer: spread between rounds", ""] + report.details(rows)
    if notes:
        tail += ["", "Notes:", ""] + ["- " + n for n in notes]
    text = "\n".join(head + table + tail) + "\n"
    print()
    print(text)
    with open(os.path.join(cache, "latency.md"), "w") as f:
        f.write(text)
    print("(written to %s)" % models.zoo.rel(os.path.join(cache,
                                                          "latency.md")))
    failed = sorted({(report.LABELS[p], m) for m, c in checks.items()
                     for p, v in c.items() if v is False})
    for label, m in failed:
        print("latency: %s's output on %s FAILED its check against PyTorch "
              "float64 (see the check column and the log above)" % (label, m),
              file=sys.stderr)
    failed_check = any(label.startswith("Kiln") for label, _ in failed)
    if failed_kiln:
        print("latency: a Kiln column could not be built or run (see the "
              "per-peer table)", file=sys.stderr)
    return 1 if failed_check or failed_kiln else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
