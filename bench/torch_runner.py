"""The PyTorch peer of the latency bench (bench/latency.py starts it, pinned
with taskset): a long-lived worker, one JSON request per line on stdin, one
JSON reply per line on stdout (its logs go to stderr).

  {"cmd": "load", "model": NAME, "seed": S, "inputs": {IN: FILE.npy},
   "outputs": {OUT: FILE.npy}}
      builds NAME with the zoo's seeded weights (bench/models.py), one
      thread, eval, torch.jit.trace + torch.jit.freeze +
      torch.jit.optimize_for_inference, warms it up, runs it once on the
      inputs and writes its outputs (the bench checks them)
  {"cmd": "bench", "model": NAME, "min_time": SECONDS, "min_iters": N}
      a short warm-up, then timed calls until both MIN_TIME and MIN_ITERS
      are reached: {"median_ms", "min_ms", "iters"}
  {"cmd": "quit"}
Every reply has "ok"; a failure gives {"ok": false, "error": TEXT}.
"""

import json
import os
import sys
import time
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set in this process
    pass

loaded = {}  # name -> (scripted module, [input tensors])


def as_list(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def load(req):
    name = req["model"]
    module = models.build(name, int(req["seed"]))
    xs = [torch.from_numpy(np.load(path)) for path in req["inputs"].values()]
    notes = []
    with torch.no_grad():
        traced = torch.jit.trace(module, tuple(xs))
        frozen = torch.jit.freeze(traced)
        try:
            net = torch.jit.optimize_for_inference(frozen)
        except Exception as e:  # keep the frozen module, and say so
            notes.append("optimize_for_inference failed (%s: %s); frozen "
                         "module used" % (type(e).__name__, str(e)[:200]))
            net = frozen
        for _ in range(3):  # the profiling executor optimises on early runs
            net(*xs)
        ys = as_list(net(*xs))
    if len(ys) != len(req["outputs"]):
        raise RuntimeError("%d outputs, expected %d" % (len(ys),
                                                        len(req["outputs"])))
    for y, path in zip(ys, req["outputs"].values()):
        np.save(path, y.detach().numpy().astype(np.float32))
    loaded[name] = (net, xs)
    return {"notes": notes}


def bench(req):
    net, xs = loaded[req["model"]]
    min_time = float(req["min_time"])
    min_iters = int(req["min_iters"])
    with torch.no_grad():
        t_end = time.perf_counter() + 0.1 * min_time  # warm-up
        net(*xs)
        while time.perf_counter() < t_end:
            net(*xs)
        times = []
        start = time.perf_counter()
        while len(times) < min_iters or time.perf_counter() - start < min_time:
            t0 = time.perf_counter()
            net(*xs)
            times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": float(np.median(times)), "min_ms": min(times),
            "iters": len(times)}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req["cmd"] == "quit":
            break
        try:
            reply = {"load": load, "bench": bench}[req["cmd"]](req)
            reply["ok"] = True
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            reply = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
