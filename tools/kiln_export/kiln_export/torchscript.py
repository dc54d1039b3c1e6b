"""Import a TorchScript module (``torch.jit.script`` or ``torch.jit.trace``
output, saved with ``torch.jit.save``) as an eager ``nn.Module`` tree that the
fx exporter (``trace.py``) exports like any other module.

torch.fx cannot trace a ScriptModule, so ``import_script_module(sm)`` rebuilds
the model from the TorchScript module tree instead:

- the tree is kept: each submodule's type is its TorchScript class
  (``original_name`` and the qualified name, e.g.
  ``__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d``), resolved to
  the Python class when it is torch's or torchvision's (or of a module the
  user imported with ``--import-path``) so that containers, layers and plain
  subclasses (torchvision's ``Conv2dNormActivation``) are classified exactly
  as the fx exporter classifies them;
- a container becomes ``nn.Sequential`` / ``nn.ModuleList`` /
  ``nn.ModuleDict`` with the same child names;
- a leaf layer becomes the ``torch.nn`` layer itself, built with every
  constructor argument read from the scripted module's attributes (scripted
  layers keep them) or, for traced layers (which keep only their tensors),
  recovered from the aten call of their graph (``aten::_convolution``'s
  constant stride / padding / ..., the weight's shape); ``_TRACED`` lists
  what can be recovered;
- a user module becomes an ``fx.GraphModule`` of its class name whose graph
  is its TorchScript forward translated node by node: ``prim::CallMethod`` of
  a submodule's forward -> ``call_module``, a method of the module itself or a
  compiled user function -> inlined, ``torch.nn.functional`` functions and
  aten ops -> ``call_function`` / ``call_method`` of the very functions the fx
  exporter's table (``trace._FUNCTIONS``) maps, ``prim::Constant`` /
  ``ListConstruct`` / ``TupleConstruct`` / ``TupleUnpack`` / ``ListUnpack``
  -> Python values, an ``if`` on module attributes -> the branch taken;
- parameters and buffers are copied under their names, so the
  ``state_dict`` keys are the TorchScript module's (which are the eager
  model's).

Anything else (a loop, an ``if`` on tensor values, an aten op the format has
no step for, a layer whose settings cannot be recovered) raises an
``ExportError`` naming the module path, its type, the TorchScript node and the
nearest supported alternative; nothing is written then.

``verify_import(module, inputs)`` (called by ``trace.export_module``) runs
the rebuilt module and the TorchScript module on the same seeded input and
refuses the export if they differ beyond float32 rounding.
"""

import builtins
import collections
import importlib
import inspect
import keyword
import math
import operator
import re
import sys
import weakref

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from .layers import _TABLE as _LAYER_TABLE
from .trace import (_CONTAINERS, _FUNCTIONS, _MODULE_HINTS, ExportError,
                    _clone, _describe_path, _function_hint, _lookup,
                    _nearest_type, _plain_base, _same)

# rebuilt root module -> the TorchScript module it was rebuilt from
_SOURCES = weakref.WeakKeyDictionary()

_MANGLE = re.compile(r"^___torch_mangle_\d+$")
_TENSOR = object()    # a call-site argument that is a run-time value
_MISSING = object()


def _where(node):
    """``file:line`` of a TorchScript node's source (the original Python
    file when the archive kept it), or ''."""
    try:
        text = node.sourceRange()
    except Exception:  # pragma: no cover - older versions
        return ""
    found = re.findall(r'File "([^"]+)", line (\d+)', text or "")
    for f, line in found:
        if not f.startswith("code/"):
            return "%s:%s" % (f, line)
    return "%s:%s" % found[0] if found else ""


def _class_path(sm):
    """The Python path of a ScriptModule's class: the TorchScript qualified
    name without ``__torch__.`` and the ``___torch_mangle_N`` parts."""
    q = sm._c._type().qualified_name()
    parts = [p for p in q.split(".") if not _MANGLE.match(p)]
    if parts and parts[0] == "__torch__":
        parts = parts[1:]
    return ".".join(parts)


def _type_label(sm):
    return "%s, TorchScript" % (_class_path(sm) or sm.original_name)


def _sanitize(name, taken):
    name = re.sub(r"\.\d+$", "", name or "")
    name = re.sub(r"[^0-9A-Za-z_]", "_", name) or "x"
    if name[0].isdigit() or name in ("self", "torch") or \
            keyword.iskeyword(name):
        name = "x_" + name
    cand, i = name, 1
    while cand in taken:
        cand = "%s_%d" % (name, i)
        i += 1
    taken.add(cand)
    return cand


def _is_script_module(v):
    return isinstance(v, torch.jit.ScriptModule)


def _method(sm, name):
    """A TorchScript method (``.graph``, ``.schema``) of a ScriptModule."""
    return sm._c._get_method(name)


# ---------------------------------------------------------------------------
# Values while translating a graph


class _Mod:
    """A module object in a graph: ``path`` relative to the translated
    module (() is the module itself)."""

    def __init__(self, path, sm):
        self.path = tuple(path)
        self.sm = sm


class _Fn:
    """A compiled function constant (``prim::CallFunction``'s callee)."""

    def __init__(self, qualname):
        self.qualname = qualname


class _TensorConst:
    """A tensor constant of the graph (traced graphs keep Python numbers as
    0-d tensors)."""

    def __init__(self, t):
        self.t = t


def _has_node(v):
    if isinstance(v, fx.Node):
        return True
    if isinstance(v, (list, tuple)):
        return any(_has_node(e) for e in v)
    return False


def _plain(v):
    """A constant as a plain Python value (tuples stay tuples)."""
    if isinstance(v, torch.Tensor):
        return _TensorConst(v)
    return v


# ---------------------------------------------------------------------------
# aten ops -> the functions the fx exporter maps

# ScalarType numbers of c10 (the order of torch's ScalarType enum)
_DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
           torch.float16, torch.float32, torch.float64]
_MEMORY_FORMATS = [torch.contiguous_format, torch.preserve_format,
                   torch.channels_last, torch.channels_last_3d]

# aten ops on numbers (sizes, constants): Python's operators, which the fx
# exporter evaluates from the traced shapes.
_SCALAR = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "div": operator.truediv, "floordiv": operator.floordiv,
    "remainder": operator.mod, "neg": operator.neg, "pow": operator.pow,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
    "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "__and__": operator.and_, "__or__": operator.or_,
    "__xor__": operator.xor, "__not__": operator.not_,
    "__is__": operator.is_, "__isnot__": operator.is_not,
    "__contains__": operator.contains, "len": builtins.len,
    "min": builtins.min, "max": builtins.max, "abs": builtins.abs,
    "Int": builtins.int, "Float": builtins.float, "Bool": builtins.bool,
    "floor": math.floor, "ceil": math.ceil, "sqrt": math.sqrt,
    "str": builtins.str,
}
# scalar ops that may be applied to run-time sizes (fx evaluates these)
_SCALAR_RUNTIME = {k for k, f in _SCALAR.items()
                   if getattr(f, "__module__", None) in ("_operator",
                                                         "operator",
                                                         "builtins")}
# aten ops of traced size arithmetic (on 0-d tensors) -> _SCALAR's name
_SIZE_ARITHMETIC = {"add": "add", "sub": "sub", "rsub": "rsub", "mul": "mul",
                    "div": "div", "floor_divide": "floordiv",
                    "true_divide": "div", "remainder": "remainder"}
# nodes that pass a value through (numbers <-> 0-d tensors in traced graphs)
_PASS_THROUGH = {"prim::NumToTensor", "aten::Int", "aten::Float",
                 "aten::ScalarImplicit", "aten::IntImplicit",
                 "aten::FloatImplicit", "aten::Bool", "prim::unchecked_cast"}
# arguments of aten ops that only pick an implementation
_IMPLEMENTATION_ARGS = {"cudnn_enable", "cudnn_enabled"}
# aten ops that are another name of a function of the fx table
_ATEN_ALIASES = {
    "feature_dropout": F.dropout2d,
    "alpha_dropout": F.alpha_dropout,
    "feature_alpha_dropout": F.feature_alpha_dropout,
    "split_with_sizes": torch.split,
    "split": torch.split,
    "relu6": F.relu6,
}
for _n in (1, 2, 3):
    _ATEN_ALIASES["adaptive_max_pool%dd" % _n] = getattr(
        F, "adaptive_max_pool%dd_with_indices" % _n)
    _ATEN_ALIASES["max_pool%dd_with_indices" % _n] = getattr(
        F, "max_pool%dd_with_indices" % _n)
# compiled torch functions whose name is not the public one
_FUNCTION_ALIASES = {
    "torch.nn.functional._max_pool1d": F.max_pool1d,
    "torch.nn.functional._max_pool2d": F.max_pool2d,
    "torch.nn.functional._max_pool3d": F.max_pool3d,
    "torch.nn.functional._adaptive_max_pool1d": F.adaptive_max_pool1d,
    "torch.nn.functional._adaptive_max_pool2d": F.adaptive_max_pool2d,
    "torch.nn.functional._adaptive_max_pool3d": F.adaptive_max_pool3d,
}


def _aten_target(name):
    """(kind, target, params) of the fx table entry an aten op maps to:
    kind 'call_function' or 'call_method'; None if there is none."""
    cands = []
    if name in _ATEN_ALIASES:
        cands.append(_ATEN_ALIASES[name])
    if name.endswith("_") and not name.startswith("_"):
        cands += [("method", name), getattr(torch, name, None),
                  getattr(F, name, None)]
    else:
        cands += [getattr(torch, name, None), ("method", name),
                  getattr(F, name, None)]
    for c in cands:
        if c is None:
            continue
        spec = _lookup(c)
        if spec is not None:
            if isinstance(c, tuple):
                return "call_method", c[1], spec[1]
            return "call_function", c, spec[1]
    return None


def _resolve_class(path, hint_modules):
    """The Python class of a TorchScript class path, if it can be found
    without running code that the user did not name: torch's and
    torchvision's, modules already imported (--import-path), and classes of
    ``__main__`` in the --import-path files."""
    parts = path.split(".")
    for i in range(len(parts) - 1, -1, -1):
        modname, attrs = ".".join(parts[:i]), parts[i:]
        mods = []
        if modname in ("", "__main__"):
            mods = list(hint_modules)
        elif modname in sys.modules:
            mods = [sys.modules[modname]]
        elif modname.split(".")[0] in ("torch", "torchvision"):
            try:
                mods = [importlib.import_module(modname)]
            except Exception:
                mods = []
        for mod in mods:
            obj = mod
            for a in attrs:
                obj = getattr(obj, a, None)
                if obj is None:
                    break
            if isinstance(obj, type):
                return obj
    return None


# ---------------------------------------------------------------------------
# Traced layers: constructor arguments from the aten call


def _const(v):
    """The constant value of a TorchScript Value (lists of constants too),
    or _MISSING."""
    n = v.node()
    if n.kind() == "prim::Constant":
        if v.type().kind() == "FunctionType":
            return _MISSING
        return v.toIValue()
    if n.kind() in ("prim::ListConstruct", "prim::TupleConstruct"):
        vals = [_const(e) for e in n.inputs()]
        if any(e is _MISSING for e in vals):
            return _MISSING
        return vals
    return _MISSING


def _schema_args(node):
    """{argument name: constant value or _MISSING} of an aten node."""
    s = torch._C.parse_schema(node.schema())
    return {a.name: _const(v) for a, v in zip(s.arguments, node.inputs())}


def _compute_nodes(graph):
    return [n for n in graph.nodes() if n.kind() not in (
        "prim::Constant", "prim::GetAttr", "prim::ListConstruct",
        "prim::TupleConstruct", "prim::TupleUnpack", "prim::ListUnpack",
        "prim::TupleIndex")]


def _returns_tuple(graph):
    outs = list(graph.outputs())
    return len(outs) == 1 and outs[0].type().kind() == "TupleType"


def _same_args(names):
    return lambda a, sm, g: {n: a[n] for n in names}


def _conv_args(a, sm, g, op):
    w = sm.weight.shape
    if op in ("_convolution", "convolution"):
        transposed = bool(a["transposed"])
    else:
        transposed = op.startswith("conv_transpose")
    groups = a["groups"]
    d = {"stride": a["stride"], "padding": a["padding"],
         "dilation": a["dilation"], "groups": groups,
         "kernel_size": list(w[2:]), "padding_mode": "zeros"}
    if not isinstance(d["padding"], list):
        raise ValueError("padding %r" % (d["padding"],))
    if transposed:
        d["in_channels"], d["out_channels"] = w[0], w[1] * groups
        d["output_padding"] = a["output_padding"]
    else:
        d["in_channels"], d["out_channels"] = w[1] * groups, w[0]
    return d


def _bn_args(a, sm, g, op):
    if a["training"]:
        raise ValueError("it was traced in training mode (batch statistics);"
                         " call model.eval() before torch.jit.trace")
    t = dict(sm.named_parameters(recurse=False))
    b = dict(sm.named_buffers(recurse=False))
    ref = b.get("running_mean", t.get("weight"))
    return {"eps": a["eps"], "momentum": a["momentum"],
            "num_features": ref.shape[0], "affine": "weight" in t,
            "track_running_stats": "running_mean" in b}


def _norm_args(a, sm, g, op):
    t = dict(sm.named_parameters(recurse=False))
    if op == "layer_norm":
        return {"normalized_shape": a["normalized_shape"], "eps": a["eps"],
                "elementwise_affine": "weight" in t}
    if "weight" not in t:
        raise ValueError("a GroupNorm without affine parameters does not "
                         "show its num_channels")
    return {"num_groups": a["num_groups"], "eps": a["eps"], "affine": True,
            "num_channels": t["weight"].shape[0]}


def _upsample_args(a, sm, g, op):
    if "scale_factors" not in a:
        raise ValueError("aten::%s without scale_factors" % op)
    # a size computed from the scale factor (recompute_scale_factor=True)
    # is in output_size: the same as recompute_scale_factor=None with size
    d = {"size": a["output_size"], "scale_factor": a["scale_factors"],
         "mode": "bilinear" if "bilinear" in op else "nearest",
         "align_corners": a.get("align_corners"),
         "recompute_scale_factor": None}
    return d


def _activation(*names):
    return lambda a, sm, g, op: {n: a[n] for n in names}


# layer class name -> ({aten ops of its traced forward}, recover(args, sm,
# graph, op) -> constructor arguments). "inplace" comes from the op name.
_TRACED = {}
for _n in (1, 2, 3):
    _ops = {"_convolution", "convolution", "conv%dd" % _n,
            "conv_transpose%dd" % _n}
    _TRACED["Conv%dd" % _n] = (_ops, _conv_args)
    _TRACED["ConvTranspose%dd" % _n] = (_ops, _conv_args)
    _TRACED["BatchNorm%dd" % _n] = ({"batch_norm"}, _bn_args)
    _TRACED["MaxPool%dd" % _n] = (
        {"max_pool%dd" % _n, "max_pool%dd_with_indices" % _n},
        lambda a, sm, g, op: dict(
            {k: a[k] for k in ("kernel_size", "stride", "padding",
                               "dilation", "ceil_mode")},
            return_indices=op.endswith("_with_indices") and
            _returns_tuple(g)))
    _TRACED["AvgPool%dd" % _n] = (
        {"avg_pool%dd" % _n},
        lambda a, sm, g, op: {k: a[k] for k in (
            "kernel_size", "stride", "padding", "ceil_mode",
            "count_include_pad", "divisor_override") if k in a})
    _TRACED["AdaptiveAvgPool%dd" % _n] = ({"adaptive_avg_pool%dd" % _n},
                                          _activation("output_size"))
    _TRACED["AdaptiveMaxPool%dd" % _n] = (
        {"adaptive_max_pool%dd" % _n},
        lambda a, sm, g, op: {"output_size": a["output_size"],
                              "return_indices": _returns_tuple(g)})
_TRACED.update({
    "Linear": ({"linear"}, lambda a, sm, g, op: {
        "in_features": sm.weight.shape[1],
        "out_features": sm.weight.shape[0]}),
    "ReLU": ({"relu", "relu_"}, _activation()),
    "ReLU6": ({"hardtanh", "hardtanh_", "relu6", "relu6_"}, _activation()),
    "Sigmoid": ({"sigmoid"}, _activation()),
    "Tanh": ({"tanh"}, _activation()),
    "SiLU": ({"silu", "silu_"}, _activation()),
    "Hardswish": ({"hardswish", "hardswish_"}, _activation()),
    "Hardsigmoid": ({"hardsigmoid", "hardsigmoid_"}, _activation()),
    "LeakyReLU": ({"leaky_relu", "leaky_relu_"},
                  _activation("negative_slope")),
    "ELU": ({"elu", "elu_"}, _activation("alpha")),
    "Hardtanh": ({"hardtanh", "hardtanh_"},
                 _activation("min_val", "max_val")),
    "GELU": ({"gelu"}, _activation("approximate")),
    "Softplus": ({"softplus"}, _activation("beta", "threshold")),
    "PReLU": ({"prelu"}, lambda a, sm, g, op: {
        "num_parameters": sm.weight.numel()}),
    "Softmax": ({"softmax"}, _activation("dim")),
    "LogSoftmax": ({"log_softmax"}, _activation("dim")),
    "Flatten": ({"flatten"}, _activation("start_dim", "end_dim")),
    "Dropout": ({"dropout", "dropout_"}, _activation("p")),
    "Dropout1d": ({"dropout", "feature_dropout"}, _activation("p")),
    "Dropout2d": ({"feature_dropout", "feature_dropout_"},
                  _activation("p")),
    "Dropout3d": ({"feature_dropout", "feature_dropout_"},
                  _activation("p")),
    "AlphaDropout": ({"alpha_dropout", "alpha_dropout_"}, _activation("p")),
    "Identity": (set(), _activation()),
    "LayerNorm": ({"layer_norm"}, _norm_args),
    "GroupNorm": ({"group_norm"}, _norm_args),
    "Upsample": ({"upsample_nearest1d", "upsample_nearest2d",
                  "upsample_nearest3d", "upsample_bilinear2d"},
                 _upsample_args),
})
# constructor arguments that do not change what the layer computes (or are
# recovered otherwise: the weights are copied)
_IRRELEVANT = {"inplace", "init", "min_value", "max_value", "device", "dtype",
               "_weight", "_freeze"}


# ---------------------------------------------------------------------------
# The importer


class _Importer:
    def __init__(self, root, hint_modules=()):
        self.root = root
        self.hints = list(hint_modules)
        self.kinds = {}
        # absolute path of a user module -> [(call pattern, where, method)]
        self.patterns = {}

    # -- errors / classification ------------------------------------------
    def fail(self, sm, path, what, node=None, hint=None):
        msg = "cannot export module %s (%s): %s" % (
            _describe_path(path), _type_label(sm), what)
        if node is not None:
            w = _where(node)
            msg += " [TorchScript node %s%s]" % (
                node.kind(), " at " + w if w else "")
        if hint:
            msg += "; nearest supported alternative: %s" % hint
        raise ExportError(msg)

    def kind(self, sm):
        """('container' | 'layer' | 'user' | 'unsupported', base class)."""
        key = id(sm)
        if key in self.kinds:
            return self.kinds[key]
        path = _class_path(sm)
        cls = _resolve_class(path, self.hints)
        if cls is not None:
            base = _plain_base(cls, _CONTAINERS)
            if base is not None:
                k = ("container", base)
            else:
                base = _plain_base(cls, tuple(_LAYER_TABLE))
                if base is not None:
                    k = ("layer", base)
                elif cls.__module__.startswith("torch.") or \
                        cls.__module__ == "torch":
                    k = ("unsupported", None)
                else:
                    k = ("user", None)
        elif path.startswith("torch."):
            k = ("unsupported", None)
        else:
            k = ("user", None)
        self.kinds[key] = k
        return k

    # -- the tree ---------------------------------------------------------
    def module(self, sm, path):
        k, base = self.kind(sm)
        if k == "container":
            return self.container(sm, path, base)
        if k == "layer":
            return self.layer(sm, path, base)
        if k == "unsupported":
            name = sm.original_name
            self.fail(sm, path, "the Kiln format has no %s layer" % name,
                      hint=_nearest_type(name))
        return self.user(sm, path)

    def child_path(self, path, name):
        return "%s.%s" % (path, name) if path else name

    def container(self, sm, path, base):
        kids = collections.OrderedDict(
            (name, self.module(c, self.child_path(path, name)))
            for name, c in sm.named_children())
        if base is nn.Sequential:
            m = nn.Sequential(kids)
        elif base is nn.ModuleList:
            m = nn.ModuleList()
            for name, c in kids.items():
                m.add_module(name, c)
        else:
            m = nn.ModuleDict(kids)
        m.train(sm.training)
        return m

    def attribute(self, sm, name):
        try:
            v = getattr(sm, name)
        except AttributeError:
            return _MISSING
        if isinstance(v, torch.Tensor) or _is_script_module(v) or \
                callable(v):
            return _MISSING
        return v

    def layer(self, sm, path, base):
        tname = base.__name__
        try:
            sig = list(inspect.signature(base.__init__).parameters.values())
        except (TypeError, ValueError):  # pragma: no cover
            sig = []
        own = dict(sm.named_parameters(recurse=False))
        kwargs = {}
        recovered = None
        why = None
        for p in sig[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or \
                    p.name in ("device", "dtype"):
                continue
            if p.name == "bias" and isinstance(p.default, bool):
                kwargs["bias"] = own.get("bias") is not None
                continue
            v = self.attribute(sm, p.name)
            if v is _MISSING:
                if recovered is None:
                    recovered, why = self.recover_traced(sm, tname)
                v = recovered.get(p.name, _MISSING)
            if v is _MISSING:
                if p.name in _IRRELEVANT and p.default is not p.empty:
                    continue
                self.fail(sm, path, "its %s argument %r cannot be recovered "
                          "(%s)" % (tname, p.name,
                                    why or "not an attribute of the "
                                           "TorchScript module"),
                          hint="torch.jit.script the model (scripted layers "
                               "keep their settings), or export the eager "
                               "module")
            kwargs[p.name] = tuple(v) if isinstance(v, list) else v
        try:
            m = base(**kwargs)
            m.load_state_dict(sm.state_dict(), strict=True)
        except Exception as e:
            self.fail(sm, path, "rebuilding %s(%s) failed: %s: %s" % (
                tname, ", ".join("%s=%r" % kv for kv in kwargs.items()),
                type(e).__name__, e))
        m.train(sm.training)
        return m

    def recover_traced(self, sm, tname):
        """Constructor arguments from a traced layer's forward graph: ({},
        reason) if they cannot be recovered."""
        entry = _TRACED.get(tname)
        if entry is None:
            return {}, "a traced %s keeps no settings" % tname
        ops, recover = entry
        try:
            graph = _method(sm, "forward").graph
        except Exception:
            return {}, "it has no forward graph"
        nodes = _compute_nodes(graph)
        names = [n.kind() for n in nodes]
        if not ops:
            if nodes:
                return {}, "its graph calls %s" % ", ".join(names)
            return {}, None
        if len(nodes) != 1 or not names[0].startswith("aten::") or \
                names[0][6:] not in ops:
            return {}, "its graph calls %s, expected one of %s" % (
                ", ".join(names) or "nothing",
                ", ".join("aten::" + o for o in sorted(ops)))
        node = nodes[0]
        op = names[0][6:]
        try:
            d = recover(_schema_args(node), sm, graph, op)
        except (ValueError, KeyError) as e:
            return {}, "aten::%s: %s" % (op, e)
        if any(v is _MISSING for v in d.values()):
            return {}, "aten::%s has non-constant arguments" % op
        d["inplace"] = op.endswith("_")
        if tname == "ReLU6" and op.startswith("hardtanh"):
            a = _schema_args(node)
            if (a.get("min_val"), a.get("max_val")) != (0, 6):
                return {}, "aten::%s(min %r, max %r) is not ReLU6" % (
                    op, a.get("min_val"), a.get("max_val"))
        return d, None

    def user(self, sm, path):
        tr = _Translator(self, sm, path)
        graph = tr.fx_graph(self.patterns.get(path))
        holder = nn.Module()
        for name, c in sm.named_children():
            holder.add_module(name, self.module(c, self.child_path(path,
                                                                   name)))
        for name, p in sm.named_parameters(recurse=False):
            holder.register_parameter(name, nn.Parameter(
                p.detach().clone(), requires_grad=p.requires_grad))
        for name, b in sm.named_buffers(recurse=False):
            holder.register_buffer(name, b.detach().clone())
        cls = re.sub(r"\W", "_", sm.original_name) or "Module"
        try:
            gm = fx.GraphModule(holder, graph, class_name=cls)
        except Exception as e:  # pragma: no cover - a translation bug
            self.fail(sm, path, "the translated forward is not valid: "
                      "%s: %s" % (type(e).__name__, e))
        # every child and tensor, in the TorchScript module's order (the
        # GraphModule copied only those its graph reads)
        for d in ("_modules", "_parameters", "_buffers"):
            getattr(gm, d).clear()
            getattr(gm, d).update(getattr(holder, d))
        gm.train(sm.training)
        return gm

    def note_call(self, abspath, pattern, where, method):
        self.patterns.setdefault(abspath, []).append((pattern, where,
                                                      method))


class _Translator:
    """One user module's TorchScript forward -> an fx.Graph."""

    def __init__(self, imp, sm, path):
        self.imp = imp
        self.sm = sm
        self.path = path
        self.g = fx.Graph()
        self.scalars = set()     # fx nodes that give numbers / size lists
        self.attrs = {}          # own tensor name -> get_attr node
        self.depth = 0

    def fail(self, what, node=None, hint=None):
        self.imp.fail(self.sm, self.path, what, node, hint)

    # -- the forward --------------------------------------------------------
    def fx_graph(self, patterns):
        # the method its parents call: forward, or one overload of it
        # (forward__0); traced calls forward1, forward2... were checked to
        # be forward's graph
        called = sorted({m for _, _, m in patterns or ()})
        name = called[0] if len(called) == 1 and \
            not re.fullmatch(r"forward\d+", called[0]) else "forward"
        if any(not re.fullmatch(r"forward\d*", m) for m in called) and \
                len(called) > 1:
            self.fail("it is called through different methods (%s)" %
                      ", ".join(called), hint="one module instance per call")
        if _is_noop_trace(self.sm):
            # traced, and the trace recorded nothing for it (never called,
            # or an identity such as StochasticDepth in eval mode): a
            # forward that returns its input
            x = self.g.placeholder("x")
            self.g.output(x)
            return self.g
        try:
            method = _method(self.sm, name)
            graph = method.graph
            schema = method.schema
        except Exception as e:
            self.fail("it has no TorchScript method %s (%s)" % (name, e))
        params = list(schema.arguments)[1:]
        inputs = list(graph.inputs())[1:]
        pattern = None
        if patterns:
            first = patterns[0][0]
            for p, where, _ in patterns[1:]:
                if not self.same_pattern(p, first):
                    self.fail("it is called with different constant "
                              "arguments (%s and %s, at %s)" % (
                                  self.show(first), self.show(p), where),
                              hint="one module instance per call site")
            pattern = first
        taken = set()
        args = [_Mod((), self.sm)]
        traced_names = all(re.match(r"argument_\d+$", a.name)
                           for a in params)
        for i, (a, v) in enumerate(zip(params, inputs)):
            given = pattern[i] if pattern is not None and i < len(pattern) \
                else _TENSOR
            if pattern is None and a.has_default_value():
                given = a.default_value  # not given by a call: its default
            if given is _TENSOR:
                if str(a.type) not in ("Tensor", "Optional[Tensor]",
                                       "List[Tensor]"):
                    self.fail("forward argument %r of type %s" % (
                        a.name, a.type), hint="tensor arguments")
                want = a.name
                if traced_names:
                    want = "x" if len(params) == 1 else "x%d" % i
                args.append(self.g.placeholder(_sanitize(want, taken)))
            else:
                args.append(_plain(given))
        outs = self.graph(graph, args)
        ret = outs[0] if len(outs) == 1 else tuple(outs)
        self.check_output(ret)
        self.g.output(ret)
        return self.g

    @staticmethod
    def same_pattern(a, b):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if (x is _TENSOR) != (y is _TENSOR):
                return False
            if x is not _TENSOR:
                try:
                    if not (x == y):
                        return False
                except Exception:
                    return False
        return True

    @staticmethod
    def show(pattern):
        return "(%s)" % ", ".join("tensor" if e is _TENSOR else repr(e)
                                  for e in pattern)

    def check_output(self, v):
        def ok(e):
            if isinstance(e, (list, tuple)):
                return all(ok(x) for x in e)
            return isinstance(e, fx.Node) and e not in self.scalars

        def show(e):
            if isinstance(e, (list, tuple)):
                return "(%s)" % ", ".join(show(x) for x in e)
            if isinstance(e, fx.Node):
                return "a number" if e in self.scalars else "a tensor"
            return repr(e)
        if not ok(v):
            self.fail("it returns %s, not only tensors" % show(v),
                      hint="return a tensor or a tuple of tensors")

    # -- graphs and blocks -------------------------------------------------
    def graph(self, graph, args):
        env = {}
        ins = list(graph.inputs())
        if len(ins) != len(args):
            self.fail("a call with %d arguments of a graph with %d inputs"
                      % (len(args), len(ins)))
        for v, a in zip(ins, args):
            env[v.unique()] = a
        self.depth += 1
        if self.depth > 50:
            self.fail("recursion deeper than 50 calls")
        try:
            self.block(graph.nodes(), env)
        finally:
            self.depth -= 1
        return [self.get(env, v) for v in graph.outputs()]

    def block(self, nodes, env):
        for n in nodes:
            outs = self.node(n, env)
            if outs is None:
                continue
            values = list(n.outputs())
            if len(values) != len(outs):
                self.fail("%d results for %d outputs" % (len(outs),
                                                         len(values)), n)
            for v, o in zip(values, outs):
                env[v.unique()] = o

    def get(self, env, v):
        try:
            return env[v.unique()]
        except KeyError:
            self.fail("value %%%s is used before it is defined" %
                      v.debugName())

    # -- nodes ----------------------------------------------------------------
    def node(self, n, env):
        k = n.kind()
        if k == "prim::Constant":
            v = n.output()
            if v.type().kind() == "FunctionType":
                return [_Fn(v.type().annotation_str)]
            return [_plain(v.toIValue())]
        ins = [self.get(env, v) for v in n.inputs()]
        if k == "prim::GetAttr":
            return [self.get_attr(n, ins[0], n.s("name"))]
        if k == "prim::ModuleContainerIndex":
            if not isinstance(ins[0], _Mod) or _has_node(ins[1]):
                self.fail("indexes a module container with a run-time "
                          "value", n, "a constant index")
            return [self.get_attr(n, ins[0], str(ins[1]))]
        if k == "prim::CallMethod":
            return self.call_method(n, ins[0], n.s("name"), ins[1:])
        if k == "prim::CallFunction":
            return self.call_function(n, ins[0], ins[1:])
        if k == "prim::ListConstruct":
            return [list(ins)]
        if k == "prim::TupleConstruct":
            return [tuple(ins)]
        if k in ("prim::ListUnpack", "prim::TupleUnpack"):
            return self.unpack(n, ins[0], n.outputsSize())
        if k == "prim::TupleIndex" or k == "aten::__getitem__":
            return [self.index(n, ins[0], ins[1])]
        if k in _PASS_THROUGH:
            return [self.pass_through(n, ins[0])]
        if k == "prim::If":
            return self.if_node(n, ins[0], env)
        if k == "prim::Loop":
            self.fail("a loop (prim::Loop)", n,
                      "a loop over a ModuleList (TorchScript unrolls it) or "
                      "torch.jit.trace, which unrolls loops")
        if k == "prim::RaiseException":
            self.fail("the forward raises an exception for this module's "
                      "settings", n)
        if k == "prim::Uninitialized":
            return [None]
        if k in ("aten::warn", "prim::Print"):
            return []
        if k == "aten::format":
            return [""]  # only messages of exceptions and warnings
        if k == "prim::SetAttr":
            self.fail("it sets the attribute %r in forward" % n.s("name"),
                      n, "a forward without side effects")
        if k in ("prim::min", "prim::max", "prim::abs"):
            return [self.scalar_op(n, k[6:], ins)]
        if k == "aten::append" and isinstance(ins[0], list):
            ins[0].append(ins[1])  # TorchScript lists are shared objects
            return [ins[0]]
        if k.startswith("aten::"):
            return [self.aten(n, k[6:], ins)]
        self.fail("%s is not expressible in the Kiln format" % k, n,
                  "layers, containers and the functional ops of the "
                  "format")

    def get_attr(self, n, obj, name):
        if not isinstance(obj, _Mod):
            self.fail("reads attribute %r of %r" % (name, obj), n)
        try:
            v = getattr(obj.sm, name)
        except AttributeError:
            self.fail("reads attribute %r, which the TorchScript module "
                      "does not have" % name, n)
        if _is_script_module(v):
            return _Mod(obj.path + (name,), v)
        if isinstance(v, torch.Tensor):
            if obj.path:
                self.fail("reads %r, a tensor of a submodule" %
                          ".".join(obj.path + (name,)), n,
                          "call the submodule, or move the tensor to this "
                          "module")
            if name not in self.attrs:
                self.attrs[name] = self.g.get_attr(name)
            return self.attrs[name]
        if callable(v) and not isinstance(v, (int, float, bool, str)):
            self.fail("reads attribute %r of type %s" % (
                name, type(v).__name__), n)
        return v

    def call_method(self, n, obj, name, args):
        if not isinstance(obj, _Mod):
            self.fail("calls method %r of a value that is not a module"
                      % name, n)
        if not obj.path:
            # a method of the module itself: inlined
            try:
                graph = _method(obj.sm, name).graph
            except Exception as e:
                self.fail("cannot read the graph of method %r: %s" % (
                    name, e), n)
            return self.graph(graph, [obj] + list(args))
        target = ".".join(obj.path)
        abspath = self.imp.child_path(self.path, target)
        kind, base = self.imp.kind(obj.sm)
        if kind == "unsupported":  # refused with its path and type
            self.imp.module(obj.sm, abspath)
        if kind == "user" and not args and _is_noop_trace(obj.sm):
            return [None]  # a traced call that computes nothing
        if not re.fullmatch(r"forward(\d+|__\d+)?", name):
            self.fail("calls method %r of submodule %r" % (name, target), n,
                      "call the submodule itself (its forward)")
        if re.fullmatch(r"forward\d+", name) and kind == "user" and \
                _canonical(_method(obj.sm, name).graph) != \
                _canonical(_method(obj.sm, "forward").graph):
            self.fail("submodule %r was traced with different graphs for "
                      "its calls (forward, %s)" % (target, name), n,
                      "one module instance per call, or torch.jit.script")
        pattern = []
        call_args = []
        kwargs = {}
        for a in args:
            if _has_node(a):
                pattern.append(_TENSOR)
                call_args.append(a)
            elif isinstance(a, _TensorConst):
                self.fail("calls %r with a tensor constant" % target, n,
                          "a parameter or buffer of the module")
            else:
                pattern.append(a)
        if kind == "layer":
            consts = [e for e in pattern if e is not _TENSOR]
            if any(c is not None for c in consts):
                if base.__name__.startswith(("ConvTranspose", "MaxUnpool")) \
                        and len(consts) == 1:
                    kwargs["output_size"] = consts[0]
                else:
                    self.fail("calls layer %r with constant arguments %s" % (
                        target, [c for c in consts if c is not None]), n,
                        "tensor arguments only")
        elif kind == "user":
            self.imp.note_call(abspath, pattern, _where(n) or "?", name)
        elif any(e is not _TENSOR for e in pattern):
            self.fail("calls container %r with constant arguments" % target,
                      n, "tensor arguments only")
        for a in call_args:
            self.check_tensor(n, a, "an argument of %r" % target)
        call_args = [list(a) if isinstance(a, list) else a
                     for a in call_args]
        return [self.g.call_module(target, tuple(call_args), kwargs)]

    def call_function(self, n, fn, args):
        if not isinstance(fn, _Fn):
            self.fail("calls a value that is not a function", n)
        qual = re.sub(r"^__torch__\.", "", fn.qualname)
        qual = ".".join(p for p in qual.split(".") if not _MANGLE.match(p))
        if qual.split(".")[0] in ("torch", "torchvision"):
            py = _FUNCTION_ALIASES.get(qual)
            if py is None:
                modname, _, attr = qual.rpartition(".")
                try:
                    py = getattr(importlib.import_module(modname), attr)
                except Exception:
                    py = None
            spec = _lookup(py) if py is not None else None
            if spec is None:
                spec = _FUNCTIONS.get(qual)
            if spec is None and qual.startswith("torchvision."):
                return self.inline_function(n, args)
            if spec is None:
                self.fail_unsupported(n, qual, _function_hint(qual))
            for a in args:
                if isinstance(a, _TensorConst):
                    self.fail("%s with a tensor constant" % qual, n,
                              "a parameter or buffer of the module")
            if py is None:  # found by name only (torchvision's)
                try:
                    modname, _, attr = qual.rpartition(".")
                    py = getattr(importlib.import_module(modname), attr)
                except Exception as e:
                    self.fail("cannot import %s: %s" % (qual, e), n)
            node = self.g.call_function(py, tuple(args))
            if spec[2] == "static":
                self.scalars.add(node)
            return [node]
        return self.inline_function(n, args)

    def inline_function(self, n, args):
        """A compiled function (the user's, or a torchvision helper that
        the fx table does not name), inlined through a graph of the call."""
        tiny = torch._C.Graph()
        vmap = {}
        for v in n.inputs():
            if v.type().kind() == "FunctionType":
                c = tiny.createClone(v.node(), lambda x: x)
                tiny.insertNode(c)
                vmap[v.unique()] = c.output()
            else:
                nv = tiny.addInput()
                nv.setType(v.type())
                vmap[v.unique()] = nv
        call = tiny.createClone(n, lambda x: vmap[x.unique()])
        tiny.insertNode(call)
        for o in call.outputs():
            tiny.registerOutput(o)
        torch._C._jit_pass_inline(tiny)
        return self.graph(tiny, list(args))

    def unpack(self, n, v, count):
        if isinstance(v, (list, tuple)):
            if len(v) != count:
                self.fail("unpacks %d values into %d" % (len(v), count), n)
            return list(v)
        if isinstance(v, fx.Node):
            outs = [self.g.call_function(operator.getitem, (v, i))
                    for i in range(count)]
            if v in self.scalars:
                self.scalars.update(outs)
            return outs
        self.fail("unpacks %r" % (v,), n)

    def index(self, n, v, i):
        if _has_node(i):
            if isinstance(v, fx.Node) and v in self.scalars:
                r = self.g.call_function(operator.getitem, (v, i))
                self.scalars.add(r)
                return r
            self.fail("indexes with a run-time value", n, "a constant index")
        if isinstance(v, (list, tuple)):
            try:
                return v[i]
            except (IndexError, TypeError) as e:
                self.fail("index %r: %s" % (i, e), n)
        if isinstance(v, fx.Node):
            r = self.g.call_function(operator.getitem, (v, i))
            if v in self.scalars:
                self.scalars.add(r)
            return r
        if isinstance(v, dict):
            return v[i]
        self.fail("indexes %r" % (v,), n)

    def pass_through(self, n, v):
        if isinstance(v, _TensorConst) and v.t.dim() == 0:
            return v.t.item()
        if isinstance(v, fx.Node) and v not in self.scalars and \
                n.kind() != "prim::unchecked_cast":
            self.fail_data_dependent(n, "%s of a tensor's values" % n.kind())
        return v

    def if_node(self, n, cond, env):
        blocks = list(n.blocks())
        if not _has_node(cond) and not isinstance(cond, _TensorConst):
            taken = blocks[0] if cond else blocks[1]
        else:
            # an assertion (one branch only raises): the other branch
            raising = [any(m.kind() == "prim::RaiseException"
                           for m in b.nodes()) for b in blocks]
            if raising == [False, True]:
                taken = blocks[0]
            elif raising == [True, False]:
                taken = blocks[1]
            elif isinstance(cond, fx.Node) and cond in self.scalars:
                self.fail("an `if` on a tensor's shape", n,
                          "control flow on module attributes only (decided "
                          "when the module is built)")
            else:
                self.fail_data_dependent(n, "an `if` whose condition "
                                            "depends on tensor values")
        self.block(taken.nodes(), env)
        return [self.get(env, v) for v in taken.outputs()]

    # -- ops --------------------------------------------------------------
    def fail_data_dependent(self, n, what):
        self.fail("a data-dependent `if` or value (%s): Kiln's forward is "
                  "a fixed sequence of steps" % what, n,
                  "control flow on module attributes only, or arithmetic "
                  "that does not branch (e.g. relu / mul by a mask computed "
                  "with ops)")

    def fail_unsupported(self, n, name, hint):
        # an op whose result only decides an `if`: say so
        todo, seen = list(n.outputs()), set()
        while todo:
            v = todo.pop()
            for u in v.uses():
                user = u.user
                if user.kind() == "prim::If" and u.offset == 0:
                    self.fail_data_dependent(user, "%s decides an `if`"
                                             % name)
                if user.kind() in _PASS_THROUGH or user.kind() in (
                        "aten::__not__", "aten::__and__", "aten::__or__"):
                    if id(user) not in seen:
                        seen.add(id(user))
                        todo.extend(user.outputs())
        self.fail("%s is not expressible in the Kiln format" % name, n, hint)

    def check_tensor(self, n, a, what):
        if isinstance(a, (list, tuple)):
            for e in a:
                self.check_tensor(n, e, what)
            return
        if isinstance(a, fx.Node) and a in self.scalars:
            self.fail("%s is a number computed from sizes, not a tensor"
                      % what, n)

    def scalar_op(self, n, name, ins):
        f = _SCALAR.get(name)
        if name == "len" and len(ins) == 1 and isinstance(ins[0],
                                                         (list, tuple)):
            return len(ins[0])
        if f is None:
            self.fail_unsupported(n, "aten::" + name,
                                  "arithmetic with +, -, *, / on sizes")
        if not _has_node(ins):
            try:
                return f(*ins)
            except Exception as e:
                self.fail("%s%r fails: %s" % (name, tuple(ins), e), n)
        if name not in _SCALAR_RUNTIME:
            self.fail("%s of a size at run time" % name, n,
                      "+, -, *, //, comparisons on sizes")
        for a in ins:
            if isinstance(a, fx.Node) and a not in self.scalars:
                self.fail_data_dependent(n, "%s of a tensor's values" % name)
        r = self.g.call_function(f, tuple(ins))
        self.scalars.add(r)
        return r

    def aten(self, n, name, ins):
        schema = torch._C.parse_schema(n.schema())
        sargs = list(schema.arguments)
        tensorish = any("Tensor" in str(a.type) for a in sargs)
        if name in ("size", "dim", "numel", "len") and tensorish:
            if ins and isinstance(ins[0], fx.Node) and \
                    ins[0] not in self.scalars:
                method = "size" if name == "size" else name
                if name == "len":
                    r = self.g.call_function(builtins.len, (ins[0],))
                else:
                    r = self.g.call_method(method, tuple(ins))
                self.scalars.add(r)
                return r
        if not tensorish:
            return self.scalar_op(n, name, ins)
        if name in _SIZE_ARITHMETIC and ins and \
                all(self.is_number(v) for v in ins):
            # traced size arithmetic: sizes are 0-d tensors there
            ins = [v.t.item() if isinstance(v, _TensorConst) else v
                   for v in ins]
            if name in ("add", "sub", "rsub") and len(ins) == 3:
                if ins[2] != 1:
                    self.fail("aten::%s with alpha %r on sizes" % (
                        name, ins[2]), n)
                ins = ins[:2]
            if name == "rsub":
                name, ins = "sub", [ins[1], ins[0]]
            return self.scalar_op(n, _SIZE_ARITHMETIC.get(name, name), ins)
        special = getattr(self, "aten_" + name.rstrip("_"), None)
        if special is not None:
            return special(n, name, schema, ins)
        found = _aten_target(name)
        if found is None:
            self.fail_unsupported(n, "aten::" + name, self.hint(name))
        kind, target, params = found
        args, kwargs = [], {}
        for a, v in zip(sargs, ins):
            if a.name in _IMPLEMENTATION_ARGS:
                continue
            v = self.convert(n, a, v, name)
            # optional arguments by name (torch.add(x, y, 2) would be the
            # deprecated add(input, alpha, other)), unless the function
            # takes a variable list (x.view(*shape))
            if params is not None and (a.kwarg_only or
                                       a.has_default_value()):
                kwargs[a.name] = v
            else:
                args.append(v)
        if params is not None:
            names = [p for p, _ in params]
            if len(args) > len(names) or any(k not in names for k in kwargs):
                self.fail("aten::%s%s does not match %s" % (
                    name, str(schema)[len(schema.name):].split(" ->")[0],
                    target if isinstance(target, str) else
                    getattr(target, "__name__", target)), n,
                    self.hint(name))
            if name.endswith("_") and kind == "call_function" and \
                    "inplace" in names and not target.__name__.endswith("_"):
                kwargs["inplace"] = True
        if kind == "call_method":
            node = self.g.call_method(target, tuple(args), kwargs)
        else:
            node = self.g.call_function(target, tuple(args), kwargs)
        spec = _lookup(target if kind == "call_function" else
                       ("method", target))
        if spec is not None and spec[2] == "static":
            self.scalars.add(node)
        return node

    def is_number(self, v):
        if isinstance(v, fx.Node):
            return v in self.scalars
        if isinstance(v, _TensorConst):
            return v.t.dim() == 0
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def hint(self, name):
        short = name.rstrip("_")
        for k, v in _MODULE_HINTS.items():
            if k.lower() == short.lower():
                return v
        return _function_hint(name)

    def convert(self, n, a, v, name):
        """An argument of an aten op as the Python function takes it."""
        t = str(a.type)
        if isinstance(v, _TensorConst):
            if v.t.dim() == 0 and "Tensor" in t:
                return v.t.item()  # a Python number traced as a 0-d tensor
            self.fail("aten::%s with a tensor constant (%s)" % (
                name, a.name), n, "a parameter or buffer of the module")
        if v is None or _has_node(v):
            return v
        # ScalarType and MemoryFormat arguments are numbers in graphs
        if a.name == "dtype":
            if isinstance(v, int) and 0 <= v < len(_DTYPES):
                return _DTYPES[v]
        if a.name == "memory_format":
            if isinstance(v, int) and 0 <= v < len(_MEMORY_FORMATS):
                return _MEMORY_FORMATS[v]
        if a.name in ("device", "layout", "pin_memory"):
            self.fail("aten::%s with %s=%r" % (name, a.name, v), n,
                      "nothing: Kiln computes in float32 on the CPU")
        return v

    # aten ops whose arguments differ from the fx table's function
    def aten_hardtanh(self, n, name, schema, ins):
        x, lo, hi = ins[:3]
        if (lo, hi) != (0, 6) and (lo, hi) != (0.0, 6.0):
            self.fail_unsupported(n, "aten::%s(min %r, max %r)" % (
                name, lo, hi), "the nn.Hardtanh layer")
        return self.g.call_function(F.relu6, (x,),
                                    {"inplace": name.endswith("_")})

    def aten_rsub(self, n, name, schema, ins):
        x, other = ins[0], ins[1]
        alpha = ins[2] if len(ins) > 2 else 1
        if alpha != 1:
            self.fail_unsupported(n, "aten::rsub with alpha %r" % (alpha,),
                                  "other - x (alpha 1)")
        if isinstance(other, _TensorConst) and other.t.dim() == 0:
            other = other.t.item()
        return self.g.call_function(operator.sub, (other, x))

    def upsample(self, n, name, schema, ins, mode):
        a = dict(zip([x.name for x in schema.arguments], ins))
        if "scale_factors" not in a:
            self.fail_unsupported(n, "aten::%s without scale_factors" % name,
                                  "F.interpolate")
        kw = {"size": a["output_size"], "scale_factor": a["scale_factors"],
              "mode": mode}
        if mode == "bilinear":
            kw["align_corners"] = a["align_corners"]
        return self.g.call_function(F.interpolate, (a["input"],), kw)

    def aten_upsample_nearest1d(self, n, name, schema, ins):
        return self.upsample(n, name, schema, ins, "nearest")

    aten_upsample_nearest2d = aten_upsample_nearest1d
    aten_upsample_nearest3d = aten_upsample_nearest1d

    def aten_upsample_bilinear2d(self, n, name, schema, ins):
        return self.upsample(n, name, schema, ins, "bilinear")


def _is_noop_trace(sm):
    """A traced module whose trace recorded no computation: no forward, or
    a forward without inputs that returns None."""
    try:
        names = sm._c._method_names()
    except Exception:  # pragma: no cover
        return False
    if "forward" not in names:
        return not any(re.fullmatch(r"forward(\d+|__\d+)", m)
                       for m in names)
    g = _method(sm, "forward").graph
    outs = list(g.outputs())
    return len(list(g.inputs())) == 1 and len(outs) == 1 and \
        outs[0].type().kind() == "NoneType"


def _canonical(graph):
    """A graph's text with value names numbered by first use and without
    source comments or mangled class names (to compare two traced
    methods)."""
    text = re.sub(r"#[^\n]*", "", str(graph))
    text = re.sub(r"___torch_mangle_\d+\.", "", text)
    names = {}

    def rn(m):
        return "%%v%d" % names.setdefault(m.group(0), len(names))
    return re.sub(r"%[\w.]+", rn, text)


# ---------------------------------------------------------------------------
# Public API


def import_script_module(sm, hint_modules=()):
    """An eager ``nn.Module`` tree (layers, containers, fx GraphModules for
    user modules) computing what the TorchScript module ``sm`` computes, with
    the same ``state_dict`` keys and values. Raises ExportError."""
    sm.eval()
    imp = _Importer(sm, hint_modules)
    root = imp.module(sm, "")
    root.eval()
    want, got = sm.state_dict(), root.state_dict()
    if list(want) != list(got) and sorted(want) != sorted(got):
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        raise ExportError(
            "cannot export the TorchScript module: the rebuilt module's "
            "tensors differ from its state_dict (missing %s, extra %s)" % (
                missing[:5], extra[:5]))
    _SOURCES[root] = sm
    return root


def script_source(module):
    """The TorchScript module ``module`` was rebuilt from, or None."""
    try:
        return _SOURCES.get(module)
    except TypeError:
        return None


def verify_import(module, inputs, seed=0):
    """If ``module`` was rebuilt from TorchScript: run both on a seeded
    random input of the ``[(name, shape)]`` inputs and raise ExportError
    if they differ beyond float32 rounding (1e-5 of the largest output)."""
    sm = script_source(module)
    if sm is None:
        return
    g = torch.Generator().manual_seed(int(seed))
    xs = [torch.randn([int(d) for d in s], generator=g) for _, s in inputs]
    with torch.no_grad():
        try:
            want = sm(*_clone(xs))
        except Exception as e:
            raise ExportError(
                "the TorchScript module does not run on inputs of shapes "
                "%s: %s: %s" % ([list(x.shape) for x in xs],
                                type(e).__name__,
                                str(e).strip().splitlines()[-1]
                                if str(e).strip() else ""))
        try:
            got = module(*_clone(xs))
        except ExportError:
            raise
        except Exception as e:
            raise ExportError(
                "the module rebuilt from TorchScript fails on inputs of "
                "shapes %s: %s: %s" % ([list(x.shape) for x in xs],
                                       type(e).__name__, e))
    if not _same(got, want):
        raise ExportError(
            "the module rebuilt from TorchScript computes something else "
            "than the TorchScript module (an in-place update of a value "
            "that is read again, or a layer setting that could not be "
            "recovered); nearest supported alternative: export the eager "
            "module (import path or file.py)")
