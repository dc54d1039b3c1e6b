"""Layer-by-layer comparison of a Kiln model with its PyTorch module.

``kiln-export MODULE_SPEC --compare MODEL.json [--input ...]`` (or
``compare(module, json_path, ...)``) runs Kiln's reference interpreter
(``kiln run -O0 --dump-values DIR``) and PyTorch side by side on the same
input and prints, for every layer call and functional step in execution
order, the largest absolute difference and the difference relative to the
PyTorch value's largest magnitude, and names the first one that diverges.

How values are matched (no guessing from names):

- Kiln's side: ``index.json`` of ``kiln run --dump-values`` gives each IR
  value with the JSON location of the layer or forward step it was built
  from and that layer's module path (or the step's module and index). The
  ops of one call of a layer (or of one step) are consecutive and share a
  location; the values of such a group that are used outside it (or are
  model outputs) are what the call returned.
- PyTorch's side: a forward hook on every leaf layer records each call's
  output; each user module (a traced forward) is run as its torch.fx graph
  (the exporter's own trace of it) by an interpreter that records the value
  of the fx node that became each forward step. The exporter says which fx
  node became which step; a module whose forward in MODEL.json has other
  steps than the fresh trace (a hand-written or older file) gets no step
  values, only its layers'.
- The k-th call of a module (or step) in Kiln is matched with its k-th call
  in PyTorch.

Tolerance (per value, measured rather than guessed): PyTorch runs twice, in
float32 and in float64 (the same float32 weights and input, widened
exactly). err32 = max|torch32 - torch64| is PyTorch's own float32 rounding
error accumulated up to this value, so it grows through the network exactly
as an equally careful float32 implementation's error does. The project's
rule (tests/torch/differential.py, zoo_check.py) accepts
max|kiln - torch64| <= 4 * err32 + floor; with |kiln - torch32| <=
|kiln - torch64| + err32 that gives

    diverges  iff  max|kiln - torch32| > 5 * err32 + 16 * 2**-24 * max|torch32|

(the floor, 8 units in the last place of the largest value, covers values
that PyTorch happens to compute almost exactly, e.g. right after the input,
and transcendental functions that are correct to a couple of ulp). Integer
values (max-pool indices) must be equal. ``--rtol R --atol A`` replaces the
rule by max|kiln - torch32| <= A + R * max|torch32|.

Exit status of the command: 0 when every value is within tolerance, 1 when a
value diverges, 2 when the comparison cannot run (bad arguments, a module or
model that cannot be loaded, ``kiln run`` failing).
"""

import argparse
import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.fx as fx

from .safetensors_io import read_safetensors
from .trace import (ExportError, _Exporter, build_module, model_name,
                    parse_input)

ULP_FLOOR = 16 * 2.0 ** -24   # times max|torch32|: 8 ulp of the largest value
ERR32_FACTOR = 5               # 4 (the project's rule) + 1 (triangle)


class CompareError(Exception):
    """The comparison cannot run (bad input, Kiln failing, ...)."""


# ---------------------------------------------------------------------------
# The model file


def _module_entries(model):
    """Module path -> (JSON entry, JSON path) of every module of a model
    file, named as Kiln names them (Sequential / ModuleList entries by
    "name" or index, "modules" by key)."""
    out = {}

    def walk(e, path, where):
        if not isinstance(e, dict):
            return
        out[path] = (e, where)
        for key, c in (e.get("modules") or {}).items():
            walk(c, "%s.%s" % (path, key) if path else key,
                 "%s.modules.%s" % (where, key))
        for i, c in enumerate(e.get("layers") or []):
            name = c.get("name", str(i)) if isinstance(c, dict) else str(i)
            walk(c, "%s.%s" % (path, name) if path else name,
                 "%s.layers[%d]" % (where, i))

    walk(model.get("model"), "", "model")
    return out


def _step_kind(step):
    if "return" in step:
        return ("return",)
    if "call" in step:
        return ("call", step["call"])
    return ("op", step.get("op"))


# ---------------------------------------------------------------------------
# PyTorch, recorded


def _clone(v):
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    if isinstance(v, (list, tuple)):
        return [_clone(e) for e in v]
    return v


class _StepRecorder(fx.Interpreter):
    """Runs a user module's traced graph with the submodules and tensors of
    ``target`` (the float32 module or its float64 copy), keeping a copy of
    the value of each node in ``wanted``."""

    def __init__(self, gm, target, wanted):
        super().__init__(gm)
        self.target = target
        self.wanted = wanted
        self.values = {}

    def fetch_attr(self, target):
        return _get_attr(self.target, target)

    def run_node(self, n):
        result = super().run_node(n)
        if n in self.wanted:
            self.values[n] = _clone(result)
        return result


def _get_attr(obj, dotted):
    for atom in dotted.split("."):
        obj = getattr(obj, atom)
    return obj


def _run_recorded(root, layers, forwards, inputs):
    """Runs ``root`` on ``inputs`` with every leaf layer's calls recorded
    (canonical path -> [output, ...]) and the step values of each traced
    user module (canonical path -> [{fx node: value}, ...], one per call)."""
    calls = {}
    steps = {}
    hooks = []
    patched = []
    mods = dict(root.named_modules())

    def layer_hook(path):
        def hook(mod, args, out):
            calls.setdefault(path, []).append(_clone(out))
        return hook

    def traced_forward(path, mod, fwd):
        wanted = set(fwd.step_nodes.values())
        original = mod.forward

        def forward(*args, **kwargs):
            if kwargs:  # the trace took positional arguments only
                return original(*args, **kwargs)
            rec = _StepRecorder(fwd.gm, mod, wanted)
            out = rec.run(*args)
            steps.setdefault(path, []).append(rec.values)
            return out
        return forward

    try:
        for path in layers:
            hooks.append(mods[path].register_forward_hook(layer_hook(path)))
        for path, fwd in forwards.items():
            mod = mods[path]
            had = "forward" in mod.__dict__
            patched.append((mod, had, mod.__dict__.get("forward")))
            mod.forward = traced_forward(path, mod, fwd)
        with torch.no_grad():
            root(*[x.clone() for x in inputs])
    finally:
        for h in hooks:
            h.remove()
        for mod, had, old in patched:
            if had:
                mod.forward = old
            else:
                del mod.forward
    return calls, steps


# ---------------------------------------------------------------------------
# Kiln, dumped


def find_kiln(kiln=None):
    """The kiln driver: ``kiln``, else $KILN, else ``kiln`` on PATH, else the
    build tree's build/bin/kiln next to this package."""
    cands = [kiln] if kiln else [os.environ.get("KILN"), shutil.which("kiln"),
                                 os.path.join(os.path.dirname(__file__),
                                              "..", "..", "..", "build",
                                              "bin", "kiln")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    if kiln:
        raise CompareError("--kiln %s: no such executable" % kiln)
    raise CompareError("no kiln driver found: give --kiln PATH (or set KILN)")


def _kiln_values(kiln, json_path, named_inputs, dump_dir, extra=()):
    tmp = tempfile.mkdtemp(prefix="kiln_compare_")
    try:
        args = [kiln, "run", json_path, "-O0", "--dump-values", dump_dir]
        args += list(extra)
        for i, (name, x) in enumerate(named_inputs):
            p = os.path.join(tmp, "in_%d.npy" % i)
            np.save(p, x)
            args += ["--input", "%s=%s" % (name, p)]
        r = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise CompareError("%s failed:\n%s" % (
                " ".join(args), r.stderr.decode(errors="replace").strip()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(dump_dir, "index.json")) as f:
        index = json.load(f)
    return index


def _call_number(v, entries):
    """Which call of its layer or step a dumped value comes from, as Kiln
    names values: the first call's results are named after the module path
    (``features.conv1``, helpers ``features.conv1.pad``) or, for a step,
    ``MODULE.OUT``; later calls' names are made unique with ``_1``, ``_2``,
    ... at the end."""
    path, step = v.get("module"), v.get("step")
    if path is None:
        return 0
    base = path
    if step is not None:
        try:
            out = entries[path][0]["forward"][step].get("out")
        except (KeyError, IndexError, TypeError, AttributeError):
            out = None
        out = out if isinstance(out, str) else v.get("op", "")
        base = "%s.%s" % (path, out) if path else out
    name = v["name"]
    if not name.startswith(base):
        return 0
    m = re.search(r"_(\d+)$", name[len(base):])
    return int(m.group(1)) if m else 0


def _groups(index, entries):
    """The op results of a dump grouped by call: consecutive values with one
    location and one call number. Each group: dict(location, module, step,
    values, outputs) where outputs are the values used outside the group
    (what the call returned)."""
    results = [v for v in index["values"] if v.get("kind") == "result"]
    groups = []
    for v in results:
        call = _call_number(v, entries)
        if groups and groups[-1]["location"] == v.get("location") and \
                groups[-1]["call"] == call:
            groups[-1]["values"].append(v)
        else:
            groups.append({"location": v.get("location"),
                           "module": v.get("module"), "call": call,
                           "step": v.get("step"), "values": [v]})
    owner = {}
    for i, g in enumerate(groups):
        for v in g["values"]:
            owner[v["name"]] = i
    used_outside = {o["value"] for o in index.get("outputs", [])}
    for i, g in enumerate(groups):
        for v in g["values"]:
            for a in v.get("operands", []):
                if owner.get(a, i) != i:
                    used_outside.add(a)
    for g in groups:
        g["outputs"] = [v for v in g["values"] if v["name"] in used_outside] \
            or [g["values"][-1]]
    return groups


# ---------------------------------------------------------------------------
# The comparison


class Row:
    """One compared value: a layer call's or a step's output."""

    def __init__(self, label, kind, kiln_shape, location):
        self.label = label
        self.kind = kind
        self.shape = kiln_shape
        self.location = location
        self.torch_shape = None
        self.abs = None
        self.rel = None
        self.tol = None
        self.status = "-"          # ok / DIVERGES / - (no PyTorch value)
        self.note = ""

    @property
    def ratio(self):
        if self.abs is None or self.tol is None:
            return None
        if self.tol == 0:
            return 0.0 if self.abs == 0 else math.inf
        return self.abs / self.tol


class Report:
    """The rows in execution order, the first divergent one (or None), notes
    on what could not be compared, hints on the first divergence."""

    def __init__(self, rows, notes, hints):
        self.rows = rows
        self.notes = notes
        first = [r for r in rows if r.status == "DIVERGES"]
        self.first = first[0] if first else None
        self.hints = hints

    @property
    def diverges(self):
        return self.first is not None


def _diff(row, k, t32, t64, rtol, atol):
    row.torch_shape = list(t32.shape)
    if list(k.shape) != list(t32.shape):
        row.status = "DIVERGES"
        row.note = "shape: Kiln %s, PyTorch %s" % (list(k.shape),
                                                   list(t32.shape))
        return
    a32 = t32.detach().cpu().numpy().astype(np.float64)
    kk = k.astype(np.float64)
    scale = float(np.abs(a32).max()) if a32.size else 0.0
    err = float(np.abs(kk - a32).max()) if a32.size else 0.0
    row.abs = err
    row.rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
    if not t32.is_floating_point():
        row.tol = 0.0
    elif rtol is not None or atol is not None:
        row.tol = (atol or 0.0) + (rtol or 0.0) * scale
    else:
        a64 = t64.detach().cpu().numpy().astype(np.float64)
        err32 = float(np.abs(a32 - a64).max()) if a32.size else 0.0
        row.tol = ERR32_FACTOR * err32 + ULP_FLOOR * scale
    row.status = "ok" if err <= row.tol else "DIVERGES"


def _flat(v):
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, (list, tuple)):
        out = []
        for e in v:
            out.extend(_flat(e))
        return out
    return []


def _same_argument(a, b):
    """JSON arguments equal, a number standing for a list of equal numbers
    (``kernel_size: 5`` and ``[5, 5]``)."""
    if isinstance(a, list) and not isinstance(b, list):
        a, b = b, a
    if isinstance(b, list) and isinstance(a, (int, float)) and \
            not isinstance(a, bool):
        return len(b) > 0 and all(e == a and not isinstance(e, bool)
                                  for e in b)
    return a == b


def _hints(group, entries, fresh_entries, model, json_path, module):
    """Why the first divergent layer may differ: its weights in the
    weights file against PyTorch's, its JSON arguments against what
    kiln-export writes for the module now."""
    hints = []
    path = group["module"]
    if path is None:
        return hints
    if group["step"] is None and path in entries:
        entry, where = entries[path]
        fresh = fresh_entries.get(path, (None, None))[0]
        if isinstance(fresh, dict):
            # arguments the file gives (an absent one is Kiln's default,
            # which this side does not know)
            for k in entry:
                if k in ("name", "layers", "modules", "forward", "inplace") \
                        or k not in fresh:
                    continue
                if not _same_argument(entry[k], fresh[k]):
                    hints.append("%s: %s.%s is %s; kiln-export writes %s for "
                                 "the PyTorch module" % (
                                     json_path, where, k,
                                     json.dumps(entry[k]),
                                     json.dumps(fresh[k])))
        weights = model.get("weights")
        if weights:
            wpath = os.path.join(os.path.dirname(json_path), weights)
            try:
                tensors, _ = read_safetensors(wpath)
            except Exception:  # reported by kiln run already if broken
                tensors = {}
            try:
                sd = module.get_submodule(path).state_dict() if path else \
                    module.state_dict()
            except AttributeError:
                sd = {}
            for k, t in sd.items():
                key = "%s.%s" % (path, k) if path else k
                if key not in tensors or not t.is_floating_point():
                    continue
                a = np.asarray(tensors[key], dtype=np.float64)
                b = t.detach().cpu().numpy().astype(np.float64)
                if a.shape != b.shape:
                    hints.append("%s: tensor %s has shape %s, PyTorch's %s" % (
                        wpath, key, list(a.shape), list(b.shape)))
                elif not np.array_equal(a, b):
                    d = np.abs(a - b)
                    n = int((d > 0).sum())
                    hints.append(
                        "%s: tensor %s differs from PyTorch's in %d of %d "
                        "elements (max abs difference %.3g)%s" % (
                            wpath, key, n, d.size, float(d.max()),
                            "; exported with another --seed? (--load-weights"
                            " gives PyTorch the file's weights)"
                            if n == d.size and d.size > 1 else ""))
    elif group["step"] is not None and path in entries:
        entry, where = entries[path]
        fresh = fresh_entries.get(path, (None, None))[0]
        i = group["step"]
        try:
            mine = entry["forward"][i]
            theirs = fresh["forward"][i]
        except (KeyError, IndexError, TypeError):
            return hints
        for k in mine:
            if k in ("out", "in") or k not in theirs:
                continue
            if not _same_argument(mine[k], theirs[k]):
                hints.append("%s: %s.forward[%d].%s is %s; kiln-export "
                             "writes %s for the PyTorch module" % (
                                 json_path, where, i, k,
                                 json.dumps(mine[k]), json.dumps(theirs[k])))
        ins = [e if isinstance(e, (int, float)) else None
               for e in mine.get("in", [])]
        tins = [e if isinstance(e, (int, float)) else None
                for e in theirs.get("in", [])]
        if ins != tins:
            hints.append("%s: %s.forward[%d].in has numbers %s; kiln-export "
                         "writes %s" % (json_path, where, i, ins, tins))
    return hints


def load_weights(module, json_path):
    """Loads the tensors of MODEL.json's weights file into ``module`` (by
    state_dict key); every key must match (num_batches_tracked may be
    absent)."""
    try:
        with open(json_path) as f:
            weights = json.load(f).get("weights")
    except (OSError, ValueError, AttributeError) as e:
        raise CompareError("cannot read the model %s: %s" % (json_path, e))
    if not isinstance(weights, str):
        raise CompareError("%s has no \"weights\" file to load" % json_path)
    path = os.path.join(os.path.dirname(json_path), weights)
    try:
        tensors, _ = read_safetensors(path)
    except Exception as e:
        raise CompareError("cannot read the weights %s: %s" % (path, e))
    from .saved import assign_weights  # the same check as --load-weights
    try:
        return assign_weights(module, tensors, path)
    except ExportError as e:
        raise CompareError(str(e))


def compare(module, json_path, inputs=None, kiln=None, seed=0, rtol=None,
            atol=None, dump_dir=None, kiln_args=()):
    """Compares ``module`` (eval mode, the weights MODEL.json was exported
    with) and MODEL.json value by value. ``inputs``: {name: array, or a
    shape that must be the model's}; inputs without an array are seeded
    random, as ``--check`` makes them. ``dump_dir``: keep Kiln's values
    there; ``kiln_args``: more ``kiln run`` arguments (``["-D", "k=v"]``).
    Returns a Report. Raises CompareError when the comparison cannot
    run."""
    try:
        with open(json_path) as f:
            model = json.load(f)
    except (OSError, ValueError) as e:
        raise CompareError("cannot read the model %s: %s" % (json_path, e))
    try:
        declared = [(i["name"], [int(d) for d in i["shape"]])
                    for i in model["inputs"]]
    except (KeyError, TypeError, ValueError):
        raise CompareError("%s: inputs: expected a list of {name, shape}"
                           % json_path)
    inputs = dict(inputs or {})
    for n in inputs:
        if n not in [d for d, _ in declared]:
            raise CompareError("--input %s: %s has no input named %r (it "
                               "has %s)" % (n, json_path, n,
                                            ", ".join(d for d, _ in declared)))
    g = torch.Generator().manual_seed(int(seed) + 1)
    xs = []
    for n, shape in declared:
        x = torch.randn(shape, generator=g)
        if isinstance(inputs.get(n), (list, tuple)):
            if list(inputs[n]) != shape:
                raise CompareError("--input %s: shape %s, %s declares %s" % (
                    n, list(inputs[n]), json_path, shape))
        elif n in inputs:
            a = np.asarray(inputs[n])
            if list(a.shape) != shape:
                raise CompareError("--input %s: shape %s, %s declares %s" % (
                    n, list(a.shape), json_path, shape))
            x = torch.from_numpy(a.astype(np.float32, copy=True))
        xs.append(x)
    kiln = find_kiln(kiln)
    module.eval()

    # The exporter's trace: which fx node became which step.
    notes = []
    exporter = _Exporter(module, declared)
    try:
        fresh, _ = exporter.model(model_name(module))
        fresh_entries = _module_entries(fresh)
    except ExportError as e:
        notes.append("functional steps not compared: the module does not "
                     "export (%s)" % e)
        fresh_entries = {}
    entries = _module_entries(model)
    canon = {}
    for path, m in module.named_modules():
        canon.setdefault(id(m), path)
    mods = dict(module.named_modules(remove_duplicate=False))

    def canonical(path):
        m = mods.get(path)
        if m is None:
            try:
                m = module.get_submodule(path) if path else module
            except AttributeError:
                return None
        return canon.get(id(m))

    forwards = {}
    for path, fwd in exporter.forwards.items():
        c = canonical(path)
        if c is None or c in forwards:
            continue
        mine = entries.get(path, (None, None))[0]
        if not isinstance(mine, dict) or "forward" not in mine:
            continue
        kinds = [_step_kind(s) for s in mine["forward"]]
        if kinds != [_step_kind(s) for s in fwd.steps]:
            notes.append("module %s: its forward in %s is not the one "
                         "kiln-export traces now; its functional steps are "
                         "not compared" % (path or "(root)", json_path))
            continue
        forwards[c] = fwd
    layers = sorted({canon[id(m)] for m in mods.values()
                     if exporter.kind(m)[0] == "layer"})

    # PyTorch in float32 and float64.
    try:
        calls32, steps32 = _run_recorded(module, layers, forwards, xs)
        m64 = copy.deepcopy(module).double()
        calls64, steps64 = _run_recorded(m64, layers, forwards,
                                         [x.double() for x in xs])
    except Exception as e:
        raise CompareError("the PyTorch module fails on inputs of shapes "
                           "%s: %s: %s" % ([list(x.shape) for x in xs],
                                           type(e).__name__, e))

    # Kiln.
    own_dir = dump_dir is None
    dump_dir = dump_dir or tempfile.mkdtemp(prefix="kiln_values_")
    try:
        index = _kiln_values(kiln, json_path,
                             [(n, x.numpy()) for (n, _), x in
                              zip(declared, xs)], dump_dir, kiln_args)
        files = {v["name"]: os.path.join(dump_dir, v["file"])
                 for v in index["values"]}
        groups = _groups(index, entries)
        rows = []
        seen = {}
        row_groups = []
        for g_ in groups:
            path, step = g_["module"], g_["step"]
            c = canonical(path) if path is not None else None
            key = (c, step)
            k = seen.get(key, 0)
            seen[key] = k + 1
            t32 = t64 = None
            if c is not None and step is None and c in calls32:
                if k < len(calls32[c]):
                    t32, t64 = calls32[c][k], calls64[c][k]
            elif c is not None and step is not None and c in forwards:
                node = forwards[c].step_nodes.get(step)
                recs32, recs64 = steps32.get(c, []), steps64.get(c, [])
                if node is not None and k < len(recs32) and \
                        node in recs32[k]:
                    t32, t64 = recs32[k][node], recs64[k][node]
            entry = entries.get(path, (None, None))[0] if path is not None \
                else None
            if step is None:
                kind = entry.get("type", "?") if isinstance(entry, dict) \
                    else g_["values"][-1].get("op", "?")
                label = path if path else "(root)"
            else:
                try:
                    kind = entry["forward"][step].get("op", "?")
                except (KeyError, IndexError, TypeError):
                    kind = g_["values"][-1].get("op", "?")
                label = "%sforward[%d]" % (path + "." if path else "", step)
            if k > 0 and step is None:
                label += " (call %d)" % (k + 1)
            outs = g_["outputs"]
            t32s, t64s = _flat(t32), _flat(t64)
            for j, v in enumerate(outs):
                lab = label if len(outs) == 1 else "%s[%d]" % (label, j)
                row = Row(lab, kind, v["shape"], g_["location"])
                if t32 is None:
                    row.note = "no PyTorch value"
                elif len(t32s) != len(outs):
                    row.note = ("PyTorch gives %d value(s), Kiln %d" % (
                        len(t32s), len(outs)))
                else:
                    _diff(row, np.load(files[v["name"]]), t32s[j], t64s[j],
                          rtol, atol)
                rows.append(row)
                row_groups.append(g_)
        report = Report(rows, notes, [])
        if report.first is not None:
            g_ = row_groups[rows.index(report.first)]
            report.hints = _hints(g_, entries, fresh_entries, model,
                                  json_path, module)
        return report
    finally:
        if own_dir:
            shutil.rmtree(dump_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Printing


def _fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if math.isinf(v):
        return "inf"
    return "%.3g" % v


def _shape(s):
    return "x".join(str(d) for d in s) if s else "scalar"


def format_report(report, rule):
    head = ("layer", "type", "shape", "max abs", "max rel", "err/tol", "")
    table = []
    for r in report.rows:
        mark = ""
        if r is report.first:
            mark = "<< first divergence"
        elif r.status == "DIVERGES":
            mark = "!"
        if r.note and r.status != "ok":
            mark = (mark + "  " + r.note).strip()
        table.append((r.label, r.kind, _shape(r.shape), _fmt(r.abs),
                      _fmt(r.rel), _fmt(r.ratio), mark))
    widths = [max(len(head[i]), *(len(t[i]) for t in table)) if table
              else len(head[i]) for i in range(6)]
    lines = []

    def line(cells):
        left = "  ".join(cells[i].ljust(widths[i]) for i in range(3))
        right = "  ".join(cells[i].rjust(widths[i]) for i in range(3, 6))
        lines.append(("%s  %s  %s" % (left, right, cells[6])).rstrip())

    line(head)
    lines.append("-" * (sum(widths) + 2 * 5))
    for t in table:
        line(t)
    lines.append("")
    lines.append("max rel = max abs / max|PyTorch value|; err/tol > 1: the "
                 "value diverges")
    lines.append(rule)
    for n in report.notes:
        lines.append("note: " + n)
    compared = sum(1 for r in report.rows if r.status != "-")
    if report.first is None:
        lines.append("all %d compared values within tolerance" % compared)
    else:
        f = report.first
        n = sum(1 for r in report.rows if r.status == "DIVERGES")
        what = f.note if f.abs is None else \
            "max abs %s, max rel %s, %s times the tolerance" % (
                _fmt(f.abs), _fmt(f.rel), _fmt(f.ratio))
        lines.append("first divergence: %s (%s, %s): %s; %d of %d compared "
                     "values diverge" % (f.label, f.kind, f.location, what,
                                         n, compared))
        for h in report.hints:
            lines.append("  " + h)
    return "\n".join(lines)


RULE = ("tolerance = 5 * max|torch32 - torch64| + 16 * 2^-24 * "
        "max|torch32| (torch64: PyTorch in float64)")


def _parse_input(text):
    """NAME=FILE.npy -> (name, array); NAME:D0,D1,... -> (name, shape)."""
    if "=" in text:
        name, path = text.split("=", 1)
        if not name:
            raise CompareError("--input %r: expected NAME=FILE.npy" % text)
        try:
            a = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CompareError("--input %s: cannot read %s: %s" % (
                name, path, e))
        if a.dtype.kind != "f":
            raise CompareError("--input %s: %s holds %s, expected floating "
                               "point" % (name, path, a.dtype))
        return name, a
    try:
        name, shape = parse_input(text)
    except ExportError as e:
        raise CompareError(str(e))
    return name, shape


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="kiln-export --compare",
        description="Run PyTorch and Kiln's reference interpreter side by "
                    "side and print, per layer call and functional step, the "
                    "largest absolute and relative difference; name the "
                    "first value that diverges. Exit status 0: all within "
                    "tolerance, 1: a value diverges, 2: error.")
    ap.add_argument("module", metavar="MODULE_SPEC",
                    help="the PyTorch module, as for the export "
                         "(import.path:constructor, file.py:ClassName or a "
                         "saved model file)")
    ap.add_argument("--compare", required=True, metavar="MODEL.json",
                    help="the Kiln model exported from MODULE_SPEC")
    ap.add_argument("--input", action="append", default=[],
                    metavar="NAME=FILE.npy|NAME:SHAPE",
                    help="an input's values (.npy) or just its shape, "
                         "which must be the model's; inputs not given are "
                         "seeded random (as --check makes them)")
    ap.add_argument("--kwargs", default="{}",
                    help="constructor keyword arguments, as JSON")
    ap.add_argument("--import-path", action="append", default=[],
                    metavar="DIR|FILE.py|MODULE",
                    help="make a saved model's classes importable, as for "
                         "the export")
    ap.add_argument("--seed", type=int, default=0,
                    help="the seed the model was exported with: PyTorch "
                         "gets the same weights (default 0; a saved model "
                         "keeps its own)")
    ap.add_argument("--load-weights", action="store_true",
                    help="give PyTorch the weights of MODEL.json's weights "
                         "file instead of --seed's (compares the computation "
                         "only; a model not made by kiln-export)")
    ap.add_argument("--kiln", metavar="KILN",
                    help="the kiln driver (default $KILN, then kiln on PATH, "
                         "then this tree's build/bin/kiln)")
    ap.add_argument("--rtol", type=float, help="use max|kiln - torch| <= "
                    "atol + rtol * max|torch| instead of the measured rule")
    ap.add_argument("--atol", type=float, help="see --rtol")
    ap.add_argument("--keep-values", metavar="DIR",
                    help="keep Kiln's values (kiln run --dump-values DIR)")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        try:
            kwargs = json.loads(a.kwargs)
        except ValueError as e:
            raise CompareError("--kwargs: not JSON: %s" % e)
        if not isinstance(kwargs, dict):
            raise CompareError("--kwargs: expected a JSON object")
        given = {}
        for t in a.input:
            name, v = _parse_input(t)
            if name in given:
                raise CompareError("--input %s given twice" % name)
            given[name] = v
        for x in (a.rtol, a.atol):
            if x is not None and not (x >= 0 and math.isfinite(x)):
                raise CompareError("--rtol / --atol must be finite and >= 0")
        try:
            module = build_module(a.module, kwargs, a.seed,
                                  a.import_path)
        except ExportError as e:
            raise CompareError(str(e))
        except Exception as e:  # the user's code failed to import / build
            raise CompareError("cannot build %s: %s: %s" % (
                a.module, type(e).__name__, e))
        if a.load_weights:
            load_weights(module, a.compare)
        report = compare(module, a.compare, given, kiln=a.kiln, seed=a.seed,
                         rtol=a.rtol, atol=a.atol, dump_dir=a.keep_values)
        rule = RULE if a.rtol is None and a.atol is None else \
            "tolerance = %g + %g * max|torch32|" % (a.atol or 0, a.rtol or 0)
        print(format_report(report, rule))
        return 1 if report.diverges else 0
    except (CompareError, OSError) as e:
        print("kiln-export: error: %s" % e, file=sys.stderr)
        return 2
