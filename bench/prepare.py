"""What the latency bench needs before it measures (bench/latency.py calls
it), cached under build/bench/ so re-runs are fast:

- models/NAME/: the zoo's export (model.json + model.safetensors, through
  kiln_export.export as examples/common/zoo.py does), the seeded inputs
  (input_IN.npy), PyTorch's eager outputs in float32 and float64 (ref32_*.npy,
  ref64_*.npy: the reference of the zoo's check) and model.onnx
  (torch.onnx.export); made again when the example's model.py, kiln_export,
  bench/models.py, the seed or the torch version change (stamp.json);
- kiln/NAME_cpp, kiln/NAME_llvm: `kiln build` of each backend, made again
  when the kiln binary, the flags or the export change;
- ort/: npm's onnxruntime-node (`npm install --ignore-scripts`; its install
  script downloads, which fails here, and the package ships its CPU library).
"""

import copy
import glob
import hashlib
import json
import os
import shutil
import subprocess
import time

import numpy as np
import torch

import models

ORT_VERSION = "1.31.1"


def _sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def _file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_stamp(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _write_stamp(path, stamp):
    with open(path, "w") as f:
        json.dump(stamp, f, indent=1)


def as_list(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


class Model:
    """One prepared model: files, input and output names, MACs."""

    def __init__(self, name, folder, stamp):
        self.name = name
        self.dir = folder
        self.json = os.path.join(folder, "model.json")
        self.inputs = stamp["inputs"]          # {name: .npy}
        self.outputs = stamp["outputs"]        # [output names]
        self.onnx = stamp.get("onnx")          # path, or None
        self.onnx_error = stamp.get("onnx_error")
        self.key = stamp["key"]
        self.macs = None

    def ref(self, kind):
        """[array]: PyTorch's eager outputs, kind 32 or 64 (float64)."""
        return [np.load(os.path.join(self.dir, "ref%d_%s.npy" % (kind, o)))
                for o in self.outputs]


def export_model(name, cache, seed):
    """The cached export of NAME (see the module doc): a Model."""
    folder = os.path.join(cache, "models", name)
    sources = [models.model_py(name), os.path.abspath(models.__file__),
               os.path.abspath(__file__)]
    sources += sorted(glob.glob(os.path.join(models.ROOT, "tools",
                                             "kiln_export", "kiln_export",
                                             "*.py")))
    key = _sha(name, seed, torch.__version__,
               *[_file_sha(p) for p in sources])
    stamp_path = os.path.join(folder, "stamp.json")
    stamp = _read_stamp(stamp_path)
    if stamp.get("key") == key and os.path.isfile(os.path.join(
            folder, "model.json")):
        return Model(name, folder, stamp)

    print("  exporting %s to %s" % (name, models.zoo.rel(folder)))
    t0 = time.time()
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    module = models.build(name, seed)
    named = models.inputs(name, seed)
    path = models.export(module, [(n, list(x.shape)) for n, x in named],
                         folder, name)
    from kiln_export.trace import output_names
    with open(path) as f:
        outs = output_names(json.load(f))
    stamp = {"key": key, "inputs": {}, "outputs": outs}
    for n, x in named:
        p = os.path.join(folder, "input_%s.npy" % n)
        np.save(p, x)
        stamp["inputs"][n] = p
    xs = [torch.from_numpy(x.copy()) for _, x in named]
    with torch.no_grad():
        y32 = as_list(module(*xs))
        m64 = copy.deepcopy(module).double().eval()
        y64 = as_list(m64(*[x.double() for x in xs]))
    for o, a, b in zip(outs, y32, y64):
        np.save(os.path.join(folder, "ref32_%s.npy" % o), a.double().numpy())
        np.save(os.path.join(folder, "ref64_%s.npy" % o), b.numpy())
    onnx_path = os.path.join(folder, "model.onnx")
    try:
        with torch.no_grad():
            torch.onnx.export(module, tuple(xs), onnx_path,
                              input_names=[n for n, _ in named],
                              output_names=outs, opset_version=17,
                              do_constant_folding=True)
        stamp["onnx"] = onnx_path
    except Exception as e:  # the table says so; the rest still runs
        stamp["onnx_error"] = "torch.onnx.export failed: %s: %s" % (
            type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")
        print("  " + stamp["onnx_error"])
    _write_stamp(stamp_path, stamp)
    print("  exported %s (%.1f s)" % (name, time.time() - t0))
    return Model(name, folder, stamp)


def kiln_macs(kiln, model):
    """MACs of MODEL's `kiln info` totals (as zoo.py reads them)."""
    out = subprocess.run([kiln, "info", model.json], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0:
        raise models.zoo.Failure("kiln info failed:\n" + out.stdout)
    return models.zoo.info_totals(out.stdout)["MACs"]


def host_cpu_flags(kiln):
    """The `kiln build` flags that target the host CPU: --cpu=native when
    this kiln's help offers --cpu (both backends), else none."""
    helptext = subprocess.run([kiln, "build", "--help"],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True).stdout
    return ["--cpu=native"] if "--cpu=" in helptext else []


def build_kiln(kiln, kiln_sha, model, backend, cache, flags):
    """`kiln build MODEL --backend=BACKEND FLAGS -o PROG`, cached: returns
    (PROG, the flags used, None) or (None, flags, error text). For the C++
    backend a kiln that refuses --cpu gets --cxxflag=-march=native."""
    folder = os.path.join(cache, "kiln")
    os.makedirs(folder, exist_ok=True)
    prog = os.path.join(folder, "%s_%s" % (model.name, backend))
    tries = [flags]
    if backend == "cpp" and "--cpu=native" in flags:
        tries.append([f for f in flags if f != "--cpu=native"] +
                     ["--cxxflag=-march=native"])
    err = None
    for fl in tries:
        key = _sha(kiln_sha, backend, *fl, model.key)
        stamp_path = prog + ".stamp"
        if os.access(prog, os.X_OK) and _read_stamp(stamp_path).get(
                "key") == key:
            return prog, fl, None
        cmd = [kiln, "build", model.json, "--backend=" + backend] + fl + [
            "-o", prog]
        print("  $ " + " ".join(models.zoo.rel(c) if c.startswith("/")
                                else c for c in cmd))
        t0 = time.time()
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if p.returncode == 0:
            _write_stamp(stamp_path, {"key": key, "flags": fl,
                                      "build_s": round(time.time() - t0, 1)})
            print("    built in %.1f s" % (time.time() - t0))
            return prog, fl, None
        err = "kiln build %s failed (exit %d): %s" % (
            " ".join(fl), p.returncode, p.stdout.strip()[-600:])
        print("    " + err)
    return None, tries[-1], err


def install_ort(cache):
    """npm's onnxruntime-node in CACHE/ort: (folder, None) or (None, why)."""
    folder = os.path.join(cache, "ort")
    pkg = os.path.join(folder, "node_modules", "onnxruntime-node",
                       "package.json")
    if os.path.isfile(pkg):
        return folder, None
    if not shutil.which("node") or not shutil.which("npm"):
        return None, "node or npm is not installed"
    os.makedirs(folder, exist_ok=True)
    versions = [ORT_VERSION]
    why = ""
    for attempt in range(2):
        for v in versions:
            cmd = ["npm", "install", "onnxruntime-node@" + v,
                   "--ignore-scripts", "--no-audit", "--no-fund",
                   "--prefix", folder]
            print("  $ " + " ".join(cmd))
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if p.returncode == 0 and os.path.isfile(pkg):
                return folder, None
            why = "npm install onnxruntime-node@%s failed: %s" % (
                v, p.stdout.strip()[-300:])
            print("    " + why)
        if attempt == 0:  # fall back to the newest version npm has
            p = subprocess.run(["npm", "view", "onnxruntime-node", "version"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            newest = p.stdout.strip().splitlines()[-1:] if \
                p.returncode == 0 else []
            versions = [v for v in newest if v and v != ORT_VERSION]
            if not versions:
                break
    return None, why
