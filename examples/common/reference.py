"""Does an exported model say the same as a reference model JSON?

``differences(ref, ours)`` compares two models of the Kiln format (parsed
JSON) and lists every difference that changes what they compute or what they
are called; an empty list means the same model:

- top level: the model name and the inputs (names, shapes, dtypes);
- the module tree: the same type at every path; containers with the same
  layers in the same order under the same names (a Sequential layer without
  ``"name"`` is named by its index), ModuleDicts and user modules with the
  same children;
- leaf layers: every argument of the reference has the same value in ours
  (``5`` and ``[5, 5]`` are the same kernel size, as in PyTorch), and every
  argument ours writes that the reference leaves out has PyTorch's default:
  the reference entry is built as the PyTorch module (``nn.<type>(**args)``)
  and exported again with ``kiln_export.export_layer``, which writes every
  argument. ``inplace`` is ignored (the format accepts and ignores it);
- user modules' ``forward``: the same steps (same calls, ops and arguments)
  on the same values, whatever the values are called (names are matched up
  as the steps go: ``h = features(x)`` is ``features = features(x)``).

``weight_differences(ref_tensors, our_tensors)`` compares the names and
shapes of two weights files (the state_dict keys).
"""

import torch.nn as nn

from kiln_export import export_layer

CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
IGNORED_ARGS = ("name", "type", "inplace")


def _norm(v, like=None):
    """Tuples as lists; a number matched against a list of equal numbers
    (PyTorch's int-or-tuple arguments) as that list."""
    if isinstance(v, tuple):
        v = list(v)
    if isinstance(v, list):
        return [_norm(e) for e in v]
    if isinstance(like, (list, tuple)) and isinstance(v, (int, float)) and \
            not isinstance(v, bool):
        return [v] * len(like)
    return v


def _same(a, b):
    return _norm(a, b) == _norm(b, a)


def _pytorch_entry(entry, where, diffs):
    """The reference leaf built in PyTorch and exported (every argument), or
    None (a difference is recorded) when PyTorch cannot build it."""
    cls = getattr(nn, entry["type"], None)
    kwargs = {k: v for k, v in entry.items() if k not in IGNORED_ARGS}
    try:
        return export_layer(cls(**kwargs))
    except Exception as e:  # noqa: BLE001 - reported as a difference
        diffs.append("%s: the reference %s(%s) does not build in PyTorch: %s"
                     % (where, entry["type"], kwargs, e))
        return None


def _leaf(ref, ours, where, diffs):
    for k, v in ref.items():
        if k in IGNORED_ARGS:
            continue
        if k not in ours:
            diffs.append("%s.%s: the reference sets %r, ours leaves it out" %
                         (where, k, v))
        elif not _same(v, ours[k]):
            diffs.append("%s.%s: reference %r, ours %r" % (where, k, v,
                                                           ours[k]))
    full = _pytorch_entry(ref, where, diffs)
    if full is None:
        return
    for k, v in ours.items():
        if k in IGNORED_ARGS or k in ref:
            continue
        if k not in full:
            diffs.append("%s.%s: ours sets %r, an argument PyTorch's %s does "
                         "not have" % (where, k, v, ref["type"]))
        elif not _same(v, full[k]):
            diffs.append("%s.%s: ours %r, but the reference leaves it at "
                         "PyTorch's default %r" % (where, k, v, full[k]))


def _children(entry):
    """[(name, child)] of a container or user module, in order."""
    if entry["type"] in ("Sequential", "ModuleList"):
        return [(str(c.get("name", i)), c)
                for i, c in enumerate(entry.get("layers", []))]
    return list(entry.get("modules", {}).items())


def _forward(ref, ours, where, diffs):
    rf, of = ref.get("forward", []), ours.get("forward", [])
    if len(rf) != len(of):
        diffs.append("%s.forward: %d steps in the reference, %d in ours" % (
            where, len(rf), len(of)))
        return
    names = {}  # reference value name -> ours
    for a, b in zip(ref.get("inputs", []), ours.get("inputs", [])):
        names[a] = b

    def value(v):
        return names.get(v, v) if isinstance(v, str) else v

    for i, (rs, os_) in enumerate(zip(rf, of)):
        at = "%s.forward[%d]" % (where, i)
        r_out, o_out = rs.get("out"), os_.get("out")
        rest_r = {k: v for k, v in rs.items() if k != "out"}
        rest_o = {k: v for k, v in os_.items() if k != "out"}
        if "in" in rest_r:
            rest_r["in"] = [value(v) for v in rest_r["in"]]
        if "return" in rest_r:
            rest_r["return"] = [value(v) for v in rest_r["return"]]
        if set(rest_r) != set(rest_o) or \
                any(not _same(rest_r[k], rest_o[k]) for k in rest_r):
            diffs.append("%s: reference %s, ours %s (values of the reference "
                         "renamed to ours: %s)" % (at, rs, os_, names))
            return
        for a, b in zip(r_out if isinstance(r_out, list) else [r_out],
                        o_out if isinstance(o_out, list) else [o_out]):
            if a is not None:
                names[a] = b


def _module(ref, ours, where, diffs):
    if ref.get("type") != ours.get("type"):
        diffs.append("%s: type %s in the reference, %s in ours" % (
            where, ref.get("type"), ours.get("type")))
        return
    is_leaf = ref["type"] not in CONTAINERS and "forward" not in ref and \
        "modules" not in ref
    if is_leaf:
        _leaf(ref, ours, where, diffs)
        return
    rc, oc = _children(ref), _children(ours)
    if [n for n, _ in rc] != [n for n, _ in oc]:
        diffs.append("%s: children %s in the reference, %s in ours" % (
            where, [n for n, _ in rc], [n for n, _ in oc]))
        return
    for (n, r), (_, o) in zip(rc, oc):
        _module(r, o, "%s.%s" % (where, n), diffs)
    if ref["type"] not in CONTAINERS:
        if ref.get("inputs") is not None and \
                len(ref["inputs"]) != len(ours.get("inputs", [])):
            diffs.append("%s.inputs: %s in the reference, %s in ours" % (
                where, ref["inputs"], ours.get("inputs")))
        _forward(ref, ours, where, diffs)


def differences(ref, ours):
    """Every difference between the model JSONs REF and OURS (see the module
    doc); [] when they describe the same model."""
    diffs = []
    if ref.get("name") != ours.get("name"):
        diffs.append("name: %r in the reference, %r in ours" % (
            ref.get("name"), ours.get("name")))
    ri = [(i["name"], i["shape"], i.get("dtype", "float32"))
          for i in ref.get("inputs", [])]
    oi = [(i["name"], i["shape"], i.get("dtype", "float32"))
          for i in ours.get("inputs", [])]
    if ri != oi:
        diffs.append("inputs: %s in the reference, %s in ours" % (ri, oi))
    root_inputs = [i["name"] for i in ref.get("inputs", [])]
    r_root = dict(ref["model"], inputs=root_inputs)
    o_root = dict(ours["model"],
                  inputs=[i["name"] for i in ours.get("inputs", [])])
    _module(r_root, o_root, "model", diffs)
    return diffs


def weight_differences(ref, ours):
    """Differences of names and shapes between two {name: array} weights."""
    diffs = []
    for k in sorted(set(ref) - set(ours)):
        diffs.append("weights: %s only in the reference" % k)
    for k in sorted(set(ours) - set(ref)):
        diffs.append("weights: %s only in ours" % k)
    for k in sorted(set(ref) & set(ours)):
        if list(ref[k].shape) != list(ours[k].shape):
            diffs.append("weights: %s has shape %s in the reference, %s in "
                         "ours" % (k, list(ref[k].shape), list(ours[k].shape)))
    return diffs
