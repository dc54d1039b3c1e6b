"""Export a whole ``nn.Module`` to the Kiln model format, keeping its tree.

``export_module(module, inputs)`` returns ``(model_json, tensors)``;
``export(module, inputs, outdir)`` writes OUTDIR/model.json and
OUTDIR/model.safetensors atomically (temporary files renamed at the end, and
only once everything was converted, so an error never leaves a half model).

How the module tree maps (docs/model-format.md):

- ``nn.Sequential`` -> ``Sequential`` (``layers``; a layer whose name is not its
  index keeps it as ``"name"``), ``nn.ModuleList`` -> ``ModuleList``,
  ``nn.ModuleDict`` -> ``ModuleDict``. A subclass that adds nothing but an
  ``__init__`` (torchvision's ``Conv2dNormActivation``) behaves like its base
  and is exported as the base.
- A leaf layer (``layers.export_layer``) -> its entry, every argument written.
- Every other module is a *user module*: its ``forward`` is traced with
  ``torch.fx`` (``symbolic_trace`` with every module except the one being
  traced as a leaf, so that children become ``call`` steps), shapes and
  constant size queries are evaluated with ``ShapeProp`` on the inputs the
  module actually received in one eager run of the whole model, and the fx
  nodes are mapped to forward steps (``_FUNCTIONS`` below lists them).
- Modules of ``torch.nn`` that the format has no layer for (``LSTM``, ...)
  are refused with an ``ExportError`` naming the module's path, its type and
  the nearest supported alternative. So is every fx node that cannot be
  expressed.

Safety checks, because Kiln's forward steps are a pure SSA program and
PyTorch's are not: every traced module is run as an fx ``GraphModule`` and
compared with the eager module on the same inputs (this catches ``y += x``
traced as an out-of-place add while the old ``y`` is used later), and an
in-place operation (``relu_``, ``inplace=True`` functions and layers) on a
value (or a view of it) that is read again afterwards is refused.
"""

import argparse
import builtins
import difflib
import dis
import importlib
import importlib.util
import inspect
import json
import keyword
import math
import operator
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

from .layers import _TABLE as _LAYER_TABLE
from .layers import SUPPORTED_TYPES, UnsupportedModuleError
from .safetensors_io import safetensors_bytes


class ExportError(UnsupportedModuleError):
    """Something of the module that the Kiln format cannot express."""


# ---------------------------------------------------------------------------
# Module kinds

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# Class attributes that do not change what a module computes.
_HARMLESS = {"__init__", "__module__", "__doc__", "__qualname__",
             "__annotations__", "__constants__", "__dict__", "__weakref__",
             "__slotnames__", "__orig_bases__", "__parameters__",
             "_version", "extra_repr", "__repr__", "__setstate__"}

_MODULE_HINTS = {
    "LSTM": "the format has no recurrent layer: unroll the recurrence in a "
            "user module with Linear layers and sigmoid / tanh / mul / add "
            "ops",
    "Embedding": "the format has no gather: feed one-hot rows through "
                 "Linear(bias=False)",
    "MultiheadAttention": "Linear layers with matmul / softmax / transpose "
                          "ops in a user module",
    "InstanceNorm": "GroupNorm(num_groups=num_channels) (batch statistics "
                    "per sample and channel)",
    "Pad": "the padding argument of the next Conv / Pool layer",
    "Unflatten": "a view / reshape op",
    "PixelShuffle": "view / permute / reshape ops",
    "Transformer": "Linear, LayerNorm, matmul, softmax in user modules",
    "Mish": "a user module computing x * tanh(softplus(x)) with the "
            "Softplus and Tanh layers and a mul op",
    "Bilinear": "Linear layers and mul ops",
    "Fold": "view / permute / reshape ops",
}
for _n in ("GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"):
    _MODULE_HINTS[_n] = _MODULE_HINTS["LSTM"]
for _n in ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"):
    _MODULE_HINTS[_n] = _MODULE_HINTS["InstanceNorm"]
for _n in ("ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad2d"):
    _MODULE_HINTS[_n] = _MODULE_HINTS["Pad"]
for _n in ("TransformerEncoder", "TransformerEncoderLayer",
           "TransformerDecoder", "TransformerDecoderLayer"):
    _MODULE_HINTS[_n] = _MODULE_HINTS["Transformer"]


def _plain_base(cls, bases):
    """The class of ``bases`` that ``cls`` is, or a subclass of it that only
    adds ``__init__`` and data attributes (so computes what the base does);
    None otherwise."""
    if cls in bases:
        return cls
    mro = cls.__mro__
    for i, c in enumerate(mro[1:], 1):
        if c in bases:
            for k in mro[:i]:
                for name, v in vars(k).items():
                    if name in _HARMLESS:
                        continue
                    if callable(v) or isinstance(
                            v, (staticmethod, classmethod, property)):
                        return None
            return c
    return None


def _nearest_type(name):
    if name in _MODULE_HINTS:
        return _MODULE_HINTS[name]
    close = difflib.get_close_matches(
        name, SUPPORTED_TYPES + ["Sequential", "ModuleList", "ModuleDict"],
        n=1, cutoff=0.5)
    if close:
        return "the %s layer" % close[0]
    return ("a user module built from the supported layers (%s)"
            % ", ".join(SUPPORTED_TYPES))


def _describe_path(path):
    return "'%s'" % path if path else "(root)"


def _type_name(m):
    cls = type(m)
    return "%s.%s" % (cls.__module__, cls.__qualname__)


# ---------------------------------------------------------------------------
# Values seen while tracing


class _TensorInfo:
    def __init__(self, t):
        self.shape = tuple(int(d) for d in t.shape)
        self.dtype = t.dtype

    def __eq__(self, other):
        return isinstance(other, _TensorInfo) and \
            (self.shape, self.dtype) == (other.shape, other.dtype)

    def __repr__(self):
        return "Tensor%s" % (list(self.shape),)


class _Static:
    """A value that does not depend on tensor data (a size, a constant)."""

    def __init__(self, v):
        self.value = v

    def __eq__(self, other):
        return isinstance(other, _Static) and self.value == other.value


def _has_tensor(v):
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, (list, tuple)):
        return any(_has_tensor(e) for e in v)
    if isinstance(v, dict):
        return any(_has_tensor(e) for e in v.values())
    return False


def _to_plain(v):
    """torch.Size / tuples to lists (JSON-ready), recursively."""
    if isinstance(v, (list, tuple)):  # torch.Size is a tuple
        return [_to_plain(e) for e in v]
    return v


def _describe(v):
    if isinstance(v, torch.Tensor):
        return _TensorInfo(v)
    if isinstance(v, (list, tuple)) and v and \
            all(isinstance(e, torch.Tensor) for e in v):
        return [_TensorInfo(e) for e in v]
    if _has_tensor(v):
        return "complex"
    return _Static(_to_plain(v))


class _Recorder(ShapeProp):
    """ShapeProp that also keeps what every node produced: a tensor shape,
    a list of tensor shapes, or the value itself when it holds no tensor
    (the answer of ``x.size(0)``, ``x.shape[2]``, ...)."""

    def __init__(self, gm, record):
        super().__init__(gm)
        self.record = record

    def run_node(self, n):
        result = super().run_node(n)
        self.record[n] = _describe(result)
        return result


def _unpack_count(frame):
    """n if the instruction that ``frame`` is executing is
    UNPACK_SEQUENCE n (``a, b = value``), else None. Instructions are found
    by byte offset: torch 1.13's Proxy.__iter__ indexes the instruction list
    with ``f_lasti // 2``, which is wrong from Python 3.11 on (inline caches)
    and can even raise IndexError."""
    for inst in dis.get_instructions(frame.f_code):
        if inst.offset == frame.f_lasti:
            return inst.argval if inst.opname == "UNPACK_SEQUENCE" else None
    return None


class _Proxy(fx.Proxy):
    def __iter__(self):
        frame = inspect.currentframe()
        try:
            n = _unpack_count(frame.f_back)
        finally:
            del frame
        if n is not None:
            return iter([self[i] for i in range(n)])
        return self.tracer.iter(self)


class _Tracer(fx.Tracer):
    """Every module except the one being traced is a leaf: Kiln has a
    representation for each (layer, container or user module), so the
    traced forward calls it by path."""

    def is_leaf_module(self, m, module_qualified_name):
        return m is not self.root

    def proxy(self, node):
        return _Proxy(node, self)


def _clone(v):
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    if isinstance(v, (list, tuple)):
        return type(v)(_clone(e) for e in v)
    return v


def _same(a, b):
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape:
            return False
        if a.numel() == 0:
            return True
        if not a.is_floating_point():
            return bool(torch.equal(a, b))
        scale = max(float(a.abs().max()), 1e-30)
        return float((a - b).abs().max()) <= 1e-5 * scale
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


# ---------------------------------------------------------------------------
# fx functions and methods -> ops

_REQ = object()   # a required argument


def _fname(f):
    mod = getattr(f, "__module__", None) or ""
    name = getattr(f, "__name__", repr(f))
    if f in vars(operator).values() or mod == "_operator":
        return "operator." + name
    if mod.startswith("torch._C._nn") or mod == "torch._C._nn":
        return "torch.nn.functional." + name
    if mod in ("", "torch._C._VariableFunctions") or mod.startswith("torch._C"):
        return "torch." + name
    if mod == "builtins":
        return name
    return "%s.%s" % (mod, name)


def _display(node):
    if node.op == "call_method":
        return "Tensor.%s" % node.target
    if node.op == "call_function":
        return _fname(node.target)
    return "%s %s" % (node.op, node.target)


# (key, display, params, handler, extra). key: a function object or
# ("method", name); params: [(PyTorch name, default or _REQ)] (methods: the
# tensor itself first, as "input").
_FUNCTIONS = {}
# PyTorch names of what is supported, for "did you mean".
_SUPPORTED_NAMES = set()


def _reg(keys, params, handler, **extra):
    for k in keys:
        if k is None:
            continue
        if isinstance(k, tuple):
            name = "Tensor." + k[1]
        else:
            name = _fname(k)
        _FUNCTIONS[k] = (name, params, handler, extra)
        _SUPPORTED_NAMES.add(name)


def _m(*names):
    return [("method", n) for n in names]


def _opt(mod, name):
    return getattr(mod, name, None)


_P_UNARY = [("input", _REQ)]
_P_INPLACE = [("input", _REQ), ("inplace", False)]


def _register_all():
    # elementwise arithmetic (operator.iadd appears when fx records x += y
    # on a value it knows is a tensor).
    for op, fns, meths in (
            ("add", [operator.add, operator.iadd, torch.add],
             ["add", "add_"]),
            ("sub", [operator.sub, operator.isub, torch.sub,
                     _opt(torch, "subtract")], ["sub", "sub_", "subtract"]),
            ("mul", [operator.mul, operator.imul, torch.mul,
                     _opt(torch, "multiply")], ["mul", "mul_", "multiply"]),
            ("div", [operator.truediv, operator.itruediv, torch.div,
                     _opt(torch, "divide"), torch.true_divide],
             ["div", "div_", "divide", "true_divide"])):
        params = [("input", _REQ), ("other", _REQ)]
        if op in ("add", "sub"):
            params = params + [("alpha", 1)]
        if op == "div":
            params = params + [("rounding_mode", None)]
        _reg(fns, params, "binary", op=op)
        _reg(_m(*meths), params, "binary", op=op)
    # activations
    _reg([F.relu, torch.relu, F.relu_, torch.relu_] + _m("relu", "relu_"),
         _P_INPLACE, "unary", op="relu")
    _reg([F.relu6], _P_INPLACE, "unary", op="relu6")
    _reg([torch.sigmoid, F.sigmoid] + _m("sigmoid", "sigmoid_"), _P_UNARY,
         "unary", op="sigmoid")
    _reg([torch.tanh, F.tanh] + _m("tanh", "tanh_"), _P_UNARY, "unary",
         op="tanh")
    _reg([F.silu], _P_INPLACE, "unary", op="silu")
    _reg([F.hardswish], _P_INPLACE, "unary", op="hardswish")
    _reg([F.hardsigmoid], _P_INPLACE, "unary", op="hardsigmoid")
    _reg([F.gelu], [("input", _REQ), ("approximate", "none")], "unary",
         op="gelu", args=["approximate"])
    _reg([F.leaky_relu], [("input", _REQ), ("negative_slope", 0.01),
                          ("inplace", False)], "unary", op="leaky_relu",
         args=["negative_slope"])
    _reg([F.softmax], [("input", _REQ), ("dim", None), ("_stacklevel", 3),
                       ("dtype", None)], "softmax", op="softmax")
    _reg([F.log_softmax], [("input", _REQ), ("dim", None),
                           ("_stacklevel", 3), ("dtype", None)], "softmax",
         op="log_softmax")
    _reg([torch.softmax] + _m("softmax"),
         [("input", _REQ), ("dim", _REQ), ("dtype", None)], "softmax",
         op="softmax")
    _reg([torch.log_softmax] + _m("log_softmax"),
         [("input", _REQ), ("dim", _REQ), ("dtype", None)], "softmax",
         op="log_softmax")
    # pools
    for n in (1, 2, 3):
        _reg([getattr(F, "max_pool%dd" % n)],
             [("input", _REQ), ("kernel_size", _REQ), ("stride", None),
              ("padding", 0), ("dilation", 1), ("ceil_mode", False),
              ("return_indices", False)], "max_pool", nd=n)
        # F.max_pool2d(..., return_indices=True): boolean_dispatch picks
        # this one at trace time
        _reg([getattr(F, "max_pool%dd_with_indices" % n)],
             [("input", _REQ), ("kernel_size", _REQ), ("stride", None),
              ("padding", 0), ("dilation", 1), ("ceil_mode", False),
              ("return_indices", True)], "max_pool", nd=n)
        _reg([getattr(F, "adaptive_max_pool%dd_with_indices" % n)],
             [("input", _REQ), ("output_size", _REQ),
              ("return_indices", True)], "adaptive", nd=n,
             op="adaptive_max_pool%dd" % n)
        _reg([getattr(torch, "max_pool%dd" % n)],
             [("input", _REQ), ("kernel_size", _REQ), ("stride", ()),
              ("padding", 0), ("dilation", 1), ("ceil_mode", False)],
             "max_pool", nd=n)
        avg = [("input", _REQ), ("kernel_size", _REQ), ("stride", None),
               ("padding", 0), ("ceil_mode", False),
               ("count_include_pad", True)]
        if n > 1:
            avg = avg + [("divisor_override", None)]
        _reg([getattr(F, "avg_pool%dd" % n)], avg, "avg_pool", nd=n)
        _reg([getattr(F, "adaptive_avg_pool%dd" % n)],
             [("input", _REQ), ("output_size", _REQ)], "adaptive", nd=n,
             op="adaptive_avg_pool%dd" % n)
        _reg([getattr(F, "adaptive_max_pool%dd" % n)],
             [("input", _REQ), ("output_size", _REQ),
              ("return_indices", False)], "adaptive", nd=n,
             op="adaptive_max_pool%dd" % n)
    # dropout: the identity at inference, only if PyTorch's is too
    for f in (F.dropout, _opt(F, "dropout1d"), F.dropout2d, F.dropout3d,
              F.alpha_dropout, F.feature_alpha_dropout):
        _reg([f], [("input", _REQ), ("p", 0.5), ("training", True),
                   ("inplace", False)], "dropout")
    _reg([torch.dropout], [("input", _REQ), ("p", _REQ), ("training", _REQ)],
         "dropout")
    # shapes
    _reg([torch.flatten] + _m("flatten"),
         [("input", _REQ), ("start_dim", 0), ("end_dim", -1)], "flatten")
    _reg(_m("view"), None, "view", op="view")
    _reg(_m("reshape"), None, "view", op="reshape")
    _reg([torch.reshape], [("input", _REQ), ("shape", _REQ)], "view",
         op="reshape")
    _reg([torch.cat, _opt(torch, "concat")],
         [("tensors", _REQ), ("dim", 0)], "cat")
    _reg([torch.squeeze] + _m("squeeze"), [("input", _REQ), ("dim", None)],
         "squeeze")
    _reg([torch.unsqueeze] + _m("unsqueeze"), [("input", _REQ),
                                               ("dim", _REQ)], "unsqueeze")
    _reg(_m("permute"), None, "permute")
    _reg([torch.permute], [("input", _REQ), ("dims", _REQ)], "permute")
    _reg([torch.transpose] + _m("transpose"),
         [("input", _REQ), ("dim0", _REQ), ("dim1", _REQ)], "transpose")
    _reg([torch.chunk] + _m("chunk"),
         [("input", _REQ), ("chunks", _REQ), ("dim", 0)], "chunk")
    _reg([torch.split], [("input", _REQ), ("split_size_or_sections", _REQ),
                         ("dim", 0)], "split")
    _reg(_m("split"), [("input", _REQ), ("split_size", _REQ), ("dim", 0)],
         "split")
    _reg([torch.matmul, operator.matmul] + _m("matmul"),
         [("input", _REQ), ("other", _REQ)], "matmul")
    # exactly matmul where they are defined (2-D x 2-D; 3-D x 3-D with one
    # batch size), and exactly transpose
    _reg([torch.mm, torch.bmm] + _m("mm", "bmm"),
         [("input", _REQ), ("mat2", _REQ)], "matmul", other="mat2")
    _reg([torch.t] + _m("t"), _P_UNARY, "t")
    _reg([_opt(torch, "swapaxes")] + _m("swapaxes"),
         [("input", _REQ), ("axis0", _REQ), ("axis1", _REQ)], "transpose",
         names=("axis0", "axis1"))
    _reg([_opt(torch, "swapdims")] + _m("swapdims"),
         [("input", _REQ), ("dim0", _REQ), ("dim1", _REQ)], "transpose")
    for op, fns, meths in (("mean", [torch.mean], ["mean"]),
                           ("sum", [torch.sum], ["sum"])):
        _reg(fns + _m(*meths), [("input", _REQ), ("dim", None),
                                ("keepdim", False), ("dtype", None)],
             "reduce", op=op)
    _reg([F.interpolate],
         [("input", _REQ), ("size", None), ("scale_factor", None),
          ("mode", "nearest"), ("align_corners", None),
          ("recompute_scale_factor", None), ("antialias", False)],
         "interpolate")
    _reg([F.layer_norm], [("input", _REQ), ("normalized_shape", _REQ),
                          ("weight", None), ("bias", None), ("eps", 1e-5)],
         "layer_norm")
    # no step: the same value
    _reg(_m("contiguous"), [("input", _REQ), ("memory_format", None)],
         "alias")
    _reg(_m("detach"), _P_UNARY, "alias")
    _reg([torch.clone] + _m("clone"), [("input", _REQ),
                                       ("memory_format", None)], "alias")
    # size queries, resolved from the traced shapes
    _reg(_m("size"), [("input", _REQ), ("dim", None)], "static")
    _reg(_m("dim", "numel", "nelement"), _P_UNARY, "static")
    _reg([builtins.len], _P_UNARY, "static")
    # functions of other packages, found by qualified name (no import)
    _FUNCTIONS["torchvision.ops.stochastic_depth.stochastic_depth"] = (
        "torchvision.ops.stochastic_depth", [
            ("input", _REQ), ("p", _REQ), ("mode", _REQ),
            ("training", True)], "stochastic_depth", {})


_register_all()

def _lookup(key):
    """The _FUNCTIONS entry of an fx target (a function, or ("method",
    name)), by identity, else by qualified name."""
    try:
        spec = _FUNCTIONS.get(key)
    except TypeError:  # an unhashable target
        return None
    if spec is None and callable(key):
        spec = _FUNCTIONS.get(_fname(key))
    return spec


_NOT_CONCRETE = object()
_ASSERTS = {torch._assert}
try:
    from torch.fx._symbolic_trace import _assert_is_none
    _ASSERTS.add(_assert_is_none)
except ImportError:  # pragma: no cover
    pass


# Functions that mutate their first argument (besides kwargs inplace=True
# and methods ending in "_").
_INPLACE_FUNCTIONS = {F.relu_, torch.relu_}
# Functions/methods whose result may share memory with their first argument.
_ALIAS_HANDLERS = {"alias", "view", "flatten", "squeeze", "unsqueeze",
                   "permute", "transpose", "t", "chunk", "split", "dropout",
                   "stochastic_depth"}

# Nearest alternatives for common functions the format does not have.
_FUNCTION_HINTS = {
    "conv1d": "the nn.Conv1d layer", "conv2d": "the nn.Conv2d layer",
    "conv3d": "the nn.Conv3d layer", "linear": "the nn.Linear layer",
    "batch_norm": "the nn.BatchNorm2d layer",
    "conv_transpose2d": "the nn.ConvTranspose2d layer",
    "pad": "the padding argument of the next Conv / Pool layer",
    "getitem": "torch.split / torch.chunk (slicing and indexing of tensors "
               "are not in the format)",
    "stochastic_depth": "nothing at inference: it is the identity in eval "
                        "mode (replace the call by its input)",
    "zeros": "a parameter or buffer of the module (tensors cannot be created "
             "in forward)",
    "ones": "a parameter or buffer of the module (tensors cannot be created "
            "in forward)",
    "hardtanh": "the nn.Hardtanh layer", "elu": "the nn.ELU layer",
    "prelu": "the nn.PReLU layer", "softplus": "the nn.Softplus layer",
    "local_response_norm": "the nn.LocalResponseNorm layer",
    "group_norm": "the nn.GroupNorm layer",
    "max": "max pooling (F.adaptive_max_pool / F.max_pool)",
    "amax": "max pooling (F.adaptive_max_pool / F.max_pool)",
    "exp": "sigmoid / softmax, or a layer that contains the exponential",
    "to": "nothing: Kiln computes in float32",
    "float": "nothing: Kiln computes in float32",
    "expand": "mul / add with broadcasting",
    "repeat": "cat",
    "narrow": "torch.split",
    "item": "a value computed from shapes only",
    "tolist": "a value computed from shapes only",
}


def _function_hint(name):
    short = name.rsplit(".", 1)[-1].rstrip("_")
    if short in _FUNCTION_HINTS:
        return _FUNCTION_HINTS[short]
    cands = sorted(_SUPPORTED_NAMES)
    close = difflib.get_close_matches(name, cands, n=1, cutoff=0.6)
    if not close:
        shorts = {c.rsplit(".", 1)[-1]: c for c in cands}
        close = [shorts[c] for c in difflib.get_close_matches(
            short, list(shorts), n=1, cutoff=0.6)]
    if close:
        return close[0]
    return ("a layer module, or one of: add, sub, mul, div, cat, flatten, "
            "view, reshape, mean, sum, relu, sigmoid, tanh, softmax, pools")


# ---------------------------------------------------------------------------
# One user module's forward


class _Multi:
    def __init__(self, names):
        self.names = names


class _Param:
    def __init__(self, name):
        self.name = name


class _Forward:
    """Converts one traced user module to its forward steps."""

    def __init__(self, exporter, module, path, gm, record, input_names,
                 concrete=None):
        self.x = exporter
        self.concrete = concrete or {}
        try:
            self.signature = list(
                inspect.signature(module.forward).parameters.values())
        except (TypeError, ValueError):
            self.signature = []
        self.module = module
        self.path = path
        self.gm = gm
        self.record = record           # node -> _TensorInfo | list | _Static
        self.input_names = input_names  # None: the placeholders' names
        self.steps = []
        self.env = {}
        self.used = set()
        self.parameters = {}
        self.skip = set()
        self.collapsed = {}            # last node of a chain -> step
        self.step_nodes = {}           # step index -> the fx node it computes

    # -- errors ----------------------------------------------------------
    def fail(self, node, what, hint=None):
        msg = "cannot export module %s (%s): %s" % (
            _describe_path(self.path), _type_name(self.module), what)
        if node is not None:
            msg += " [fx node %s: %s]" % (node.name, _display(node))
        if hint:
            msg += "; nearest supported alternative: %s" % hint
        raise ExportError(msg)

    # -- names -----------------------------------------------------------
    def alloc(self, want):
        name = re.sub(r"[^0-9A-Za-z_]", "_", want) or "v"
        if name.startswith("$"):
            name = "v" + name
        cand, i = name, 1
        while cand in self.used:
            cand = "%s_%d" % (name, i)
            i += 1
        self.used.add(cand)
        return cand

    # -- arguments -------------------------------------------------------
    def info(self, node):
        if node not in self.record:
            if not self.record and not any(
                    u.op == "call_function" and u.target is operator.getitem
                    for u in node.users):
                # a module never called in the eager run (its parent calls
                # its children directly): without shapes, every step is
                # taken to give one tensor; sizes cannot be resolved.
                return _TensorInfo(torch.empty(0))
            self.fail(node, "its value is unknown: the module was never "
                            "called in the eager run, so sizes and shapes "
                            "cannot be resolved")
        return self.record[node]

    def tensor(self, node, a):
        """A value name for an operand that must be a tensor."""
        if isinstance(a, fx.Node):
            v = self.env.get(a)
            if isinstance(v, str):
                return v
            if isinstance(v, _Param):
                return v.name
            if isinstance(v, _Multi):
                self.fail(node, "operand %s is a tuple of tensors" % a.name,
                          "index it first (a, b = ...)")
            self.fail(node, "operand %s is not a tensor" % a.name)
        self.fail(node, "operand %r is not a tensor" % (a,))

    def operand(self, node, a):
        """A tensor name or a number (elementwise ops)."""
        if isinstance(a, fx.Node) and not isinstance(self.env.get(a),
                                                     _Static):
            return self.tensor(node, a)
        v = self.const(node, a)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(node, "operand %r is neither a tensor nor a number"
                      % (v,))
        return float(v) if isinstance(v, float) else int(v)

    def const(self, node, a):
        """The Python value of an argument that must not depend on tensor
        data (sizes resolved from the traced shapes)."""
        if isinstance(a, fx.Node):
            v = self.env.get(a)
            if isinstance(v, _Static):
                return v.value
            self.fail(node, "argument %s is a tensor where PyTorch expects a "
                            "constant" % a.name)
        if isinstance(a, (list, tuple)):
            return [self.const(node, e) for e in a]
        if isinstance(a, (torch.dtype, torch.device, torch.memory_format)):
            return a
        if isinstance(a, torch.Tensor):
            self.fail(node, "a tensor constant in the call",
                      "a parameter or buffer of the module")
        return a

    def is_tensor(self, a):
        return isinstance(a, fx.Node) and \
            isinstance(self.env.get(a), (str, _Param))

    def bind(self, node, params):
        args = list(node.args)
        kwargs = dict(node.kwargs)
        names = [p for p, _ in params]
        if len(args) > len(params):
            self.fail(node, "too many positional arguments")
        out = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                self.fail(node, "argument %r is not supported" % k)
            out[k] = v
        for p, d in params:
            if p not in out:
                if d is _REQ:
                    self.fail(node, "missing argument %r" % p)
                out[p] = d
        return out

    # -- steps -----------------------------------------------------------
    def outputs_of(self, node):
        """out names for a node: one name, or one per tuple element (named
        after the getitem nodes that read them)."""
        info = self.info(node)
        if isinstance(info, list):
            names = [None] * len(info)
            for u in node.users:
                if u.op == "call_function" and u.target is operator.getitem \
                        and isinstance(u.args[1], int) and \
                        -len(info) <= u.args[1] < len(info) and \
                        names[u.args[1]] is None:
                    names[u.args[1]] = self.alloc(u.name)
            names = [n or self.alloc("%s_%d" % (node.name, i))
                     for i, n in enumerate(names)]
            self.env[node] = _Multi(names)
            return names
        if not isinstance(info, _TensorInfo):
            self.fail(node, "produces %s, not a tensor" % (
                "a nested structure" if info == "complex" else
                repr(getattr(info, "value", info))))
        name = self.alloc(node.name)
        self.env[node] = name
        return name

    def op(self, node, op, ins, args=None):
        out = self.outputs_of(node)
        step = {"out": out, "op": op, "in": ins}
        step.update(args or {})
        self.steps.append(step)

    # -- the conversion ---------------------------------------------------
    def run(self):
        graph = self.gm.graph
        nodes = list(graph.nodes)
        placeholders = [n for n in nodes if n.op == "placeholder"]
        # placeholders of arguments specialised to a constant (fx
        # concrete_args: a default the calls leave out) are constants
        real = []
        it = iter(placeholders)
        try:
            for prm in self.signature:
                if prm.kind in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD):
                    self.fail(None, "forward takes *args / **kwargs",
                              "named tensor arguments")
                c = self.concrete.get(prm.name, _NOT_CONCRETE)
                if isinstance(c, list):  # a list of tensors: one input each
                    real.extend([next(it) for _ in c])
                elif c is _NOT_CONCRETE:
                    real.append(next(it))
                else:
                    self.env[next(it)] = _Static(c)
        except StopIteration:
            self.fail(None, "the traced forward has fewer inputs than its "
                            "signature")
        real.extend(it)
        self.input_placeholders = [p.target for p in real]
        if self.input_names is not None and \
                len(self.input_names) != len(real):
            self.fail(None, "forward takes %d inputs (%s), %d given" % (
                len(real), ", ".join(p.target for p in real),
                len(self.input_names)))
        # names: inputs and the module's own tensors first
        for i, p in enumerate(real):
            name = self.input_names[i] if self.input_names else p.target
            self.used.add(name)
            self.env[p] = name
        own = self.own_tensors()
        for k in own:
            if k in self.used:
                self.fail(None, "parameter %r has the name of an input" % k)
            self.used.add(k)
        self.check_inplace(nodes)
        self.find_module_list_loops(nodes)
        ret = None
        for n in nodes:
            if n in self.skip:
                continue
            if n.op == "placeholder":
                continue
            first = len(self.steps)
            if n.op == "get_attr":
                self.get_attr(n, own)
            elif n.op == "call_module":
                self.call_module(n)
            elif n.op in ("call_function", "call_method"):
                self.call(n)
            elif n.op == "output":
                ret = self.output(n)
            else:
                self.fail(n, "unknown fx node kind %s" % n.op)
            self.step_nodes.update((i, n) for i in range(first,
                                                         len(self.steps)))
        self.steps.append({"return": ret})
        return self.steps

    def own_tensors(self):
        """Name -> tensor of the module's own (direct) parameters and
        buffers."""
        d = {}
        for k, p in self.module._parameters.items():
            if p is not None:
                d[k] = p
        for k, b in self.module._buffers.items():
            if b is not None:
                d[k] = b
        return d

    def get_attr(self, n, own):
        t = n.target
        if t in own:
            if not own[t].is_floating_point():
                self.fail(n, "tensor %r is not floating point" % t)
            self.parameters[t] = [int(d) for d in own[t].shape]
            self.env[n] = _Param(t)
            if t in self.module._buffers and \
                    t in self.module._non_persistent_buffers_set:
                key = "%s.%s" % (self.path, t) if self.path else t
                self.x.extra_tensors[key] = own[t]
            return
        if "." in t:
            self.fail(n, "reads %r, a tensor of a submodule" % t,
                      "call the submodule, or move the tensor to this "
                      "module")
        self.fail(n, "reads %r, a constant tensor created during tracing"
                  % t, "a parameter or buffer of the module")

    def call_module(self, n):
        if n in self.collapsed:
            target, first = self.collapsed[n]
            name = self.alloc(n.name)
            self.env[n] = name
            self.steps.append({"out": name, "call": target,
                               "in": [self.tensor(n, first.args[0])]})
            return
        try:
            sub = self.module.get_submodule(n.target)
        except AttributeError:
            self.fail(n, "calls %r, which is not a submodule" % n.target)
        extra = {}
        for k, v in n.kwargs.items():
            if k == "output_size" and isinstance(
                    sub, (nn.ConvTranspose1d, nn.ConvTranspose2d,
                          nn.ConvTranspose3d, nn.MaxUnpool1d, nn.MaxUnpool2d,
                          nn.MaxUnpool3d)):
                extra[k] = _to_plain(self.const(n, v))
            else:
                self.fail(n, "calls %r with keyword argument %r" % (
                    n.target, k), "positional tensor arguments")
        ins = []
        for a in n.args:
            if isinstance(a, (list, tuple)):  # a list of tensors: flattened
                ins.extend(self.tensor(n, e) for e in a)
            else:
                ins.append(self.tensor(n, a))
        if isinstance(sub, nn.ModuleDict):
            self.fail(n, "calls the ModuleDict %r as a whole" % n.target,
                      "call one entry (self.%s[key])" % n.target)
        out = self.outputs_of(n)
        step = {"out": out, "call": n.target, "in": ins}
        step.update(extra)
        self.steps.append(step)

    def output(self, n):
        def names(a):
            if isinstance(a, (tuple, list)):
                r = []
                for e in a:
                    r.extend(names(e))
                return r
            if isinstance(a, fx.Node):
                v = self.env.get(a)
                if isinstance(v, _Multi):
                    return list(v.names)
                if isinstance(v, (str, _Param)):
                    return [self.tensor(n, a)]
            self.fail(n, "returns %r, not tensors" % (a,),
                      "return a tensor or a tuple of tensors")
        return names(n.args[0])

    def call(self, n):
        key = n.target if n.op == "call_function" else ("method", n.target)
        # static arithmetic / indexing on sizes
        args_nodes = [a for a in n.all_input_nodes]
        static_in = all(isinstance(self.env.get(a), _Static)
                        for a in args_nodes)
        if n.op == "call_function" and n.target is operator.getitem:
            return self.getitem(n)
        if n.op == "call_function" and n.target in _ASSERTS:
            if static_in:  # fx's checks of specialised arguments
                self.env[n] = _Static(None)
                return None
        if n.op == "call_function" and n.target is builtins.getattr:
            attr = n.args[1]
            if attr in ("shape", "ndim") or static_in:
                return self.static(n)
            if attr in ("T", "mT"):
                return self.transposed_attr(n, attr)
            self.fail(n, "reads the attribute %r of a tensor" % attr,
                      "x.shape / x.size()")
        spec = _lookup(key)
        if static_in and args_nodes and n.op == "call_function" and \
                (spec is None or spec[2] == "binary"):
            v = self.record.get(n)
            if not isinstance(v, _Static):
                v = self.evaluate(n)
            if isinstance(v, _Static):  # e.g. x.size(2) * x.size(3)
                self.env[n] = v
                return None
        if spec is None:
            self.fail(n, "%s is not expressible in the Kiln format"
                      % _display(n), _function_hint(_display(n)))
        name, params, handler, extra = spec
        if params is None:
            b = None
        else:
            b = self.bind(n, params)
        getattr(self, "h_" + handler)(n, b, **extra)

    def evaluate(self, n):
        """Python arithmetic on constants (operator.*, builtins), computed
        here when no eager run recorded it."""
        mod = getattr(n.target, "__module__", None)
        if mod not in ("_operator", "operator", "builtins"):
            return None
        try:
            args = [self.const(n, a) for a in n.args]
            kwargs = {k: self.const(n, v) for k, v in n.kwargs.items()}
            return _Static(_to_plain(n.target(*args, **kwargs)))
        except Exception:
            return None

    def static(self, n):
        info = self.record.get(n)
        if info is None:
            self.fail(n, "a size query in a module that was never called in "
                         "the eager run (its shapes are unknown)")
        if not isinstance(info, _Static):
            self.fail(n, "a size query that gives a tensor")
        self.env[n] = info
        return None

    def getitem(self, n):
        src = n.args[0]
        v = self.env.get(src)
        if isinstance(v, _Static):
            return self.static(n)
        if isinstance(v, _Multi):
            i = n.args[1]
            if not isinstance(i, int):
                self.fail(n, "indexes a tuple of tensors with %r" % (i,))
            name = v.names[i]
            self.env[n] = name
            return None
        self.fail(n, "indexes or slices a tensor (x[...])",
                  _FUNCTION_HINTS["getitem"])

    # -- handlers ---------------------------------------------------------
    def h_binary(self, n, b, op):
        if b.get("rounding_mode") is not None:
            self.fail(n, "rounding_mode=%r" % (b["rounding_mode"],),
                      "div without rounding_mode")
        ins = [self.operand(n, b["input"]), self.operand(n, b["other"])]
        if not any(isinstance(e, str) for e in ins):
            self.fail(n, "no tensor operand")
        args = {}
        if op in ("add", "sub"):
            alpha = self.const(n, b["alpha"])
            args["alpha"] = alpha
        self.op(n, op, ins, args)

    def h_unary(self, n, b, op, args=()):
        x = self.tensor(n, b["input"])
        self.op(n, op, [x], {k: self.const(n, b[k]) for k in args})

    def h_softmax(self, n, b, op):
        if self.const(n, b.get("dtype")) is not None:
            self.fail(n, "dtype=%r" % (b["dtype"],), "no dtype argument")
        x = self.tensor(n, b["input"])
        dim = self.const(n, b["dim"])
        if dim is None:
            # PyTorch's implicit choice (torch.nn.functional._get_softmax_dim)
            inp = self.record.get(b["input"])
            if not isinstance(inp, _TensorInfo):
                self.fail(n, "softmax without dim on an input of unknown "
                             "rank", "give dim explicitly")
            rank = len(inp.shape)
            dim = 0 if rank in (0, 1, 3) else 1
        self.op(n, op, [x], {"dim": int(dim)})

    def pool_common(self, n, b):
        ks = _to_plain(self.const(n, b["kernel_size"]))
        stride = _to_plain(self.const(n, b["stride"]))
        if stride is None or stride == []:
            stride = ks
        return ks, stride

    def h_max_pool(self, n, b, nd):
        ks, stride = self.pool_common(n, b)
        ri = bool(self.const(n, b.get("return_indices", False)))
        args = {"kernel_size": ks, "stride": stride,
                "padding": _to_plain(self.const(n, b["padding"])),
                "dilation": _to_plain(self.const(n, b["dilation"])),
                "ceil_mode": bool(self.const(n, b["ceil_mode"])),
                "return_indices": ri}
        self.op(n, "max_pool%dd" % nd, [self.tensor(n, b["input"])], args)

    def h_avg_pool(self, n, b, nd):
        ks, stride = self.pool_common(n, b)
        args = {"kernel_size": ks, "stride": stride,
                "padding": _to_plain(self.const(n, b["padding"])),
                "ceil_mode": bool(self.const(n, b["ceil_mode"])),
                "count_include_pad": bool(self.const(n,
                                                     b["count_include_pad"]))}
        if nd > 1:
            args["divisor_override"] = self.const(n, b["divisor_override"])
        self.op(n, "avg_pool%dd" % nd, [self.tensor(n, b["input"])], args)

    def h_adaptive(self, n, b, nd, op):
        args = {"output_size": _to_plain(self.const(n, b["output_size"]))}
        if "return_indices" in b:
            args["return_indices"] = bool(self.const(n, b["return_indices"]))
        self.op(n, op, [self.tensor(n, b["input"])], args)

    def h_dropout(self, n, b):
        if self.const(n, b["training"]):
            self.fail(n, "dropout with training=True is random even in "
                         "eval() mode (F.dropout's default)",
                      "F.dropout(x, p, training=self.training) or the "
                      "nn.Dropout layer")
        self.op(n, "dropout", [self.tensor(n, b["input"])],
                {"p": float(self.const(n, b["p"]))})

    def h_flatten(self, n, b):
        self.op(n, "flatten", [self.tensor(n, b["input"])],
                {"start_dim": int(self.const(n, b["start_dim"])),
                 "end_dim": int(self.const(n, b["end_dim"]))})

    def h_view(self, n, b, op):
        if b is None:  # Tensor.view(*shape) / Tensor.reshape(*shape)
            if n.kwargs:
                self.fail(n, "keyword arguments %s" % list(n.kwargs))
            x, rest = n.args[0], list(n.args[1:])
            if len(rest) == 1:
                r = self.const(n, rest[0])
                shape = r if isinstance(r, list) else [r]
            else:
                shape = [self.const(n, e) for e in rest]
        else:
            x, shape = b["input"], self.const(n, b["shape"])
        shape = _to_plain(shape)
        if not all(isinstance(d, int) and not isinstance(d, bool)
                   for d in shape):
            self.fail(n, "shape %r is not a list of integers" % (shape,))
        self.op(n, op, [self.tensor(n, x)], {"shape": shape})

    def h_cat(self, n, b):
        ts = b["tensors"]
        if not isinstance(ts, (list, tuple)):
            self.fail(n, "tensors is not a list")
        self.op(n, "cat", [self.tensor(n, t) for t in ts],
                {"dim": int(self.const(n, b["dim"]))})

    def h_squeeze(self, n, b):
        args = {}
        dim = self.const(n, b["dim"])
        if dim is not None:  # absent: every size-1 dim (the format's rule)
            args["dim"] = dim
        self.op(n, "squeeze", [self.tensor(n, b["input"])], args)

    def h_unsqueeze(self, n, b):
        self.op(n, "unsqueeze", [self.tensor(n, b["input"])],
                {"dim": int(self.const(n, b["dim"]))})

    def h_permute(self, n, b):
        if b is None:
            x, rest = n.args[0], list(n.args[1:])
            if "dims" in n.kwargs:
                rest = [n.kwargs["dims"]]
            if len(rest) == 1 and not isinstance(rest[0], int):
                dims = self.const(n, rest[0])
            else:
                dims = [self.const(n, e) for e in rest]
        else:
            x, dims = b["input"], self.const(n, b["dims"])
        self.op(n, "permute", [self.tensor(n, x)], {"dims": _to_plain(dims)})

    def h_transpose(self, n, b, names=("dim0", "dim1")):
        self.op(n, "transpose", [self.tensor(n, b["input"])],
                {"dim0": int(self.const(n, b[names[0]])),
                 "dim1": int(self.const(n, b[names[1]]))})

    def rank_of(self, n, a):
        info = self.record.get(a) if isinstance(a, fx.Node) else None
        if not isinstance(info, _TensorInfo):
            self.fail(n, "the rank of operand %r is unknown (the module was "
                         "never called in the eager run)" % (a,))
        return len(info.shape)

    def h_t(self, n, b):
        """x.t(): the transpose of a 2-D tensor, the tensor itself below."""
        if self.rank_of(n, b["input"]) < 2:
            return self.h_alias(n, b)
        self.op(n, "transpose", [self.tensor(n, b["input"])],
                {"dim0": 0, "dim1": 1})

    def transposed_attr(self, n, attr):
        """x.T (every dim reversed) and x.mT (the last two swapped)."""
        x = n.args[0]
        rank = self.rank_of(n, x)
        if attr == "mT":
            if rank < 2:
                self.fail(n, "x.mT of a tensor of rank %d" % rank)
            self.op(n, "transpose", [self.tensor(n, x)],
                    {"dim0": -2, "dim1": -1})
        elif rank < 2:
            self.env[n] = self.tensor(n, x)
        else:
            self.op(n, "permute", [self.tensor(n, x)],
                    {"dims": list(range(rank - 1, -1, -1))})

    def h_chunk(self, n, b):
        self.op(n, "chunk", [self.tensor(n, b["input"])],
                {"chunks": int(self.const(n, b["chunks"])),
                 "dim": int(self.const(n, b["dim"]))})

    def h_split(self, n, b):
        s = b.get("split_size_or_sections", b.get("split_size"))
        self.op(n, "split", [self.tensor(n, b["input"])],
                {"split_size_or_sections": _to_plain(self.const(n, s)),
                 "dim": int(self.const(n, b["dim"]))})

    def h_matmul(self, n, b, other="other"):
        self.op(n, "matmul", [self.tensor(n, b["input"]),
                              self.tensor(n, b[other])])

    def h_reduce(self, n, b, op):
        if self.const(n, b["dtype"]) is not None:
            self.fail(n, "dtype=%r" % (b["dtype"],), "no dtype argument")
        args = {}
        dim = _to_plain(self.const(n, b["dim"]))
        if dim is not None:  # absent: every dim (the format's rule)
            args["dim"] = dim
        args["keepdim"] = bool(self.const(n, b["keepdim"]))
        self.op(n, op, [self.tensor(n, b["input"])], args)

    def h_interpolate(self, n, b):
        mode = self.const(n, b["mode"])
        if mode not in ("nearest", "bilinear"):
            self.fail(n, "mode %r" % (mode,), "mode 'nearest' or 'bilinear'")
        if self.const(n, b["antialias"]):
            self.fail(n, "antialias=True", "F.interpolate without it")
        args = {"size": _to_plain(self.const(n, b["size"])),
                "scale_factor": _to_plain(self.const(n, b["scale_factor"])),
                "mode": mode}
        recompute = self.const(n, b["recompute_scale_factor"])
        if recompute is not None:
            args["recompute_scale_factor"] = bool(recompute)
        if mode == "bilinear":
            args["align_corners"] = self.const(n, b["align_corners"])
        elif self.const(n, b["align_corners"]) is not None:
            self.fail(n, "align_corners with mode 'nearest'")
        self.op(n, "interpolate", [self.tensor(n, b["input"])], args)

    def h_layer_norm(self, n, b):
        ins = [self.tensor(n, b["input"])]
        w, bias = b["weight"], b["bias"]
        if w is None and bias is not None:
            self.fail(n, "a bias without a weight",
                      "pass a weight of ones, or use nn.LayerNorm")
        if w is not None:
            ins.append(self.tensor(n, w))
        if bias is not None:
            ins.append(self.tensor(n, bias))
        self.op(n, "layer_norm", ins,
                {"normalized_shape": _to_plain(
                    self.const(n, b["normalized_shape"])),
                 "eps": float(self.const(n, b["eps"]))})

    def h_alias(self, n, b):
        self.env[n] = self.env.get(b["input"]) \
            if self.is_tensor(b["input"]) else self.tensor(n, b["input"])

    def h_stochastic_depth(self, n, b):
        if self.const(n, b["training"]) and self.const(n, b["p"]) > 0:
            self.fail(n, "stochastic depth with training=True is random",
                      "training=self.training (eval mode)")
        self.h_alias(n, b)

    def h_static(self, n, b):
        self.static(n)

    # -- analyses on the fx graph -----------------------------------------
    def find_module_list_loops(self, nodes):
        """``for layer in self.layers: x = layer(x)`` over a whole
        ModuleList becomes one call of the list, as the format intends."""
        for n in nodes:
            if n.op != "call_module" or not n.target.endswith(".0"):
                continue
            lpath = n.target[:-2]
            try:
                lst = self.module.get_submodule(lpath)
            except AttributeError:
                continue
            if type(lst) is not nn.ModuleList or len(lst) < 2:
                continue
            chain = [n]
            while len(chain) < len(lst):
                last = chain[-1]
                users = list(last.users)
                if len(users) != 1:
                    break
                u = users[0]
                if u.op != "call_module" or \
                        u.target != "%s.%d" % (lpath, len(chain)) or \
                        u.args != (last,) or u.kwargs:
                    break
                chain.append(u)
            if len(chain) != len(lst) or len(n.args) != 1 or n.kwargs:
                continue
            if any(not isinstance(self.record.get(c), _TensorInfo)
                   for c in chain):
                continue
            self.skip.update(chain[:-1])
            self.collapsed[chain[-1]] = (lpath, n)

    def mutated_input(self, n):
        """The node whose tensor ``n`` modifies in place, or None."""
        if n.op == "call_method":
            if n.target.endswith("_") and not n.target.startswith("_") and \
                    n.args and isinstance(n.args[0], fx.Node):
                return n.args[0]
        elif n.op == "call_function":
            if (n.kwargs.get("inplace") is True or
                    n.target in _INPLACE_FUNCTIONS) and n.args and \
                    isinstance(n.args[0], fx.Node):
                return n.args[0]
            spec = _FUNCTIONS.get(n.target) if callable(n.target) else None
            if spec and "inplace" in [p for p, _ in (spec[1] or [])]:
                names = [p for p, _ in spec[1]]
                i = names.index("inplace")
                if len(n.args) > i and n.args[i] is True:
                    return n.args[0]
        elif n.op == "call_module":
            try:
                sub = self.module.get_submodule(n.target)
            except AttributeError:
                return None
            if self.x.mutates_first_input(sub) and n.args and \
                    isinstance(n.args[0], fx.Node):
                return n.args[0]
        return None

    def aliases_input(self, n):
        if n.op == "call_method" or n.op == "call_function":
            key = n.target if n.op == "call_function" else \
                ("method", n.target)
            spec = _lookup(key)
            if spec and spec[2] in _ALIAS_HANDLERS:
                return True
            if n.op == "call_function" and n.target is operator.getitem:
                return True
            if n.op == "call_function" and n.target is builtins.getattr \
                    and n.args[1] in ("T", "mT"):
                return True
        if n.op == "call_module":
            try:
                sub = self.module.get_submodule(n.target)
            except AttributeError:
                return False
            return isinstance(sub, (nn.Identity, nn.Dropout, nn.Dropout2d,
                                    nn.Dropout3d, nn.AlphaDropout,
                                    nn.Flatten))
        return False

    def check_inplace(self, nodes):
        order = {n: i for i, n in enumerate(nodes)}
        parent = {}

        def find(a):
            while parent.get(a, a) is not a:
                a = parent[a]
            return a

        def union(a, b):
            ra, rb = find(a), find(b)
            if ra is not rb:
                parent[ra] = rb

        mutations = []
        for n in nodes:
            src = n.args[0] if n.args and isinstance(n.args[0], fx.Node) \
                else None
            m = self.mutated_input(n)
            if m is not None:
                mutations.append((n, m))
                union(n, m)
            elif src is not None and self.aliases_input(n):
                union(n, src)
        if not mutations:
            return
        groups = {}
        for n in nodes:
            groups.setdefault(find(n), []).append(n)
        for n, m in mutations:
            for v in groups[find(m)]:
                if order[v] >= order[n]:
                    continue
                for u in v.users:
                    if u is not n and order[u] > order[n]:
                        self.fail(n, "modifies the value of fx node %s in place, "
                                     "and fx node %s reads it afterwards "
                                     "(PyTorch gives it the new value, "
                                     "Kiln's SSA steps the old one)" % (
                                         v.name, u.name),
                                  "the out-of-place form (inplace=False)")
            if m.op == "placeholder":
                self.x.mutated_inputs.setdefault(id(self.module), set()).add(
                    m.target)


# ---------------------------------------------------------------------------
# The whole model


class _Exporter:
    def __init__(self, root, inputs):
        self.root = root
        self.inputs = [(str(n), [int(d) for d in s]) for n, s in inputs]
        self.calls = {}          # id(module) -> list of recorded inputs
        self.mutated_inputs = {}  # id(user module) -> {placeholder names}
        self.first_placeholder = {}  # id(user module) -> first input name
        self.extra_tensors = {}
        self.modules_by_id = {}
        self.forwards = {}  # user module path -> its _Forward (compare.py)

    # -- classification ----------------------------------------------------
    def kind(self, m):
        cls = type(m)
        base = _plain_base(cls, _CONTAINERS)
        if base is not None:
            return "container", base
        base = _plain_base(cls, tuple(_LAYER_TABLE))
        if base is not None:
            return "layer", base
        if isinstance(m, fx.GraphModule):
            return "user", None
        if cls.__module__.startswith("torch."):
            return "unsupported", None
        for b in cls.__mro__[1:]:
            if b in _LAYER_TABLE or b in _CONTAINERS:
                # a subclass that changes behaviour: its forward is traced
                return "user", None
        return "user", None

    def mutates_first_input(self, m):
        k, base = self.kind(m)
        if k == "layer":
            return bool(getattr(m, "inplace", False))
        if k == "container":
            if base is nn.Sequential and len(m) > 0:
                return self.mutates_first_input(m[0])
            return False
        if k == "user":
            first = self.first_placeholder.get(id(m))
            return first is not None and \
                first in self.mutated_inputs.get(id(m), set())
        return False

    # -- eager run -----------------------------------------------------------
    def record_calls(self, example):
        hooks = []
        user = []
        for path, m in self.root.named_modules():
            self.modules_by_id[id(m)] = m
            if self.kind(m)[0] == "user":
                user.append(m)

        def shape_sig(a):
            if isinstance(a, torch.Tensor):
                return tuple(a.shape)
            if isinstance(a, (list, tuple)):
                return [shape_sig(e) for e in a]
            return repr(a)

        def pre_hook(mod, args):
            lst = self.calls.setdefault(id(mod), [])
            sig = tuple(shape_sig(a) for a in args)
            if all(s != sig for s, _ in lst):
                lst.append((sig, _clone(args)))

        for m in user:
            hooks.append(m.register_forward_pre_hook(pre_hook))
        try:
            with torch.no_grad():
                self.root(*[_clone(t) for t in example])
        except Exception as e:
            raise ExportError("the model does not run on inputs of shapes "
                              "%s: %s: %s" % (
                                  [list(t.shape) for t in example],
                                  type(e).__name__, e))
        finally:
            for h in hooks:
                h.remove()

    # -- entries -------------------------------------------------------------
    def entry(self, m, path):
        k, base = self.kind(m)
        where = _describe_path(path)
        if k == "layer":
            try:
                d = {"type": base.__name__}
                d.update(_LAYER_TABLE[base](m))
                return d
            except UnsupportedModuleError as e:
                raise ExportError("cannot export module %s (%s): %s; nearest "
                                  "supported alternative: the same layer "
                                  "with supported settings" % (
                                      where, _type_name(m), e))
        if k == "unsupported":
            raise ExportError(
                "cannot export module %s (%s): the Kiln format has no %s "
                "layer; nearest supported alternative: %s" % (
                    where, _type_name(m), type(m).__name__,
                    _nearest_type(type(m).__name__)))
        child = (lambda n: "%s.%s" % (path, n) if path else n)
        if k == "container":
            if base is nn.ModuleDict:
                mods = {}
                for key, c in m.items():
                    self.check_name(key, path, m)
                    mods[key] = self.entry(c, child(key))
                return {"type": "ModuleDict", "modules": mods}
            layers = []
            for i, (key, c) in enumerate(m._modules.items()):
                if c is None:
                    continue
                self.check_name(key, path, m)
                e = self.entry(c, child(key))
                if key != str(i):
                    if base is nn.ModuleList:
                        raise ExportError("cannot export module %s: "
                                          "ModuleList entry %r" % (where, key))
                    e = dict([("name", key)] + list(e.items()))
                layers.append(e)
            return {"type": base.__name__, "layers": layers}
        return self.user_entry(m, path)

    def check_name(self, key, path, m):
        if not key or "." in key or key.startswith("$"):
            raise ExportError("cannot export module %s (%s): child name %r "
                              "(names must be non-empty, without '.', not "
                              "starting with '$')" % (
                                  _describe_path(path), type(m).__name__,
                                  key))

    def user_entry(self, m, path, input_names=None):
        where = _describe_path(path)
        tname = type(m).__name__
        modules = {}
        for key, c in m._modules.items():
            if c is None:
                continue
            self.check_name(key, path, m)
            modules[key] = self.entry(c, "%s.%s" % (path, key) if path
                                      else key)
        tracer = _Tracer()
        runs = self.calls.get(id(m), [])
        concrete = self.list_arguments(m, path, runs) or {}
        # parameters the calls leave out keep their defaults (mask=None)
        n_given = len(input_names) if input_names is not None else \
            (len(runs[0][1]) if runs else None)
        if n_given is not None:
            try:
                sig = list(inspect.signature(m.forward).parameters.values())
            except (TypeError, ValueError):
                sig = []
            for prm in sig[n_given:]:
                if prm.kind in (prm.POSITIONAL_OR_KEYWORD, prm.KEYWORD_ONLY) \
                        and prm.default is not prm.empty:
                    concrete.setdefault(prm.name, prm.default)
        concrete = concrete or None
        try:
            graph = tracer.trace(m, concrete_args=concrete)
        except Exception as e:
            raise ExportError(
                "cannot export module %s (%s): torch.fx cannot trace its "
                "forward: %s: %s; nearest supported alternative: control flow "
                "that depends on module attributes and shapes only, and "
                "submodules called as self.<name>(...)" % (
                    where, _type_name(m), type(e).__name__,
                    str(e).strip().splitlines()[0] if str(e).strip() else ""))
        # torch 1.13 writes invalid Python for a forward that mixes list
        # arguments (pytree placeholders) and specialised defaults
        # (``scale_1 = None, = ...``). The generated code is never run here
        # (ShapeProp interprets the nodes), so build the GraphModule without
        # the placeholders' defaults and put them back for the interpreter.
        defaults = {}
        if concrete and any(isinstance(v, list) for v in concrete.values()):
            for node in graph.nodes:
                if node.op == "placeholder" and node.args:
                    defaults[node] = node.args
                    node.args = ()
        gm = fx.GraphModule(m, graph, class_name=tname)
        for node, a in defaults.items():
            node.args = a
        gm.eval()
        placeholders = [n.target for n in graph.nodes
                        if n.op == "placeholder"]
        if placeholders:
            self.first_placeholder[id(m)] = placeholders[0]
        record = {}
        for i, (sig, args) in enumerate(runs):
            rec = {}
            with torch.no_grad():
                try:
                    got = _Recorder(gm, rec).propagate(*_clone(args))
                except Exception as e:
                    raise ExportError(
                        "cannot export module %s (%s): its traced forward "
                        "fails on the inputs it receives (%s): %s: %s" % (
                            where, _type_name(m), list(sig),
                            type(e).__name__, e))
                want = m(*_clone(args))
            if not _same(got, want):
                raise ExportError(
                    "cannot export module %s (%s): the fx trace of its "
                    "forward computes something else than the module (an "
                    "in-place update such as `y += x` of a value that is "
                    "read again, or Python-level state); nearest supported "
                    "alternative: out-of-place arithmetic (y = y + x)"
                    % (where, _type_name(m)))
            if i == 0:
                record = rec
            else:
                for node, v in rec.items():
                    if isinstance(v, _Static) and record.get(node) != v:
                        raise ExportError(
                            "cannot export module %s (%s): it is called "
                            "with inputs of different shapes (%s) and its "
                            "forward depends on them (fx node %s); nearest "
                            "supported alternative: one module instance per "
                            "input shape" % (where, _type_name(m),
                                             [list(s) for s, _ in runs],
                                             node.name))
        fwd = _Forward(self, m, path, gm, record, input_names, concrete)
        steps = fwd.run()
        self.forwards[path] = fwd
        e = {"type": tname}
        if input_names is None:
            e["inputs"] = fwd.input_placeholders
        if fwd.parameters:
            e["parameters"] = fwd.parameters
        e["modules"] = modules
        e["forward"] = steps
        return e

    def list_arguments(self, m, path, runs):
        """fx concrete_args for a module called with lists of tensors
        (torchvision's DenseNet layers): each element becomes an input of
        its own (``input_1``, ``input_2``, ...), the call passes them all."""
        if not runs:
            return None
        lists = {}
        try:
            params = [p for p in inspect.signature(m.forward).parameters]
        except (TypeError, ValueError):
            return None
        for sig, args in runs:
            for i, a in enumerate(args):
                if isinstance(a, (list, tuple)):
                    if not all(isinstance(e, torch.Tensor) for e in a):
                        raise ExportError(
                            "cannot export module %s (%s): argument %d is a "
                            "list that holds something else than tensors"
                            % (_describe_path(path), _type_name(m), i))
                    if lists.setdefault(i, len(a)) != len(a) or \
                            i >= len(params):
                        raise ExportError(
                            "cannot export module %s (%s): called with "
                            "lists of different lengths as argument %d; "
                            "nearest supported alternative: one module "
                            "instance per call site" % (
                                _describe_path(path), _type_name(m), i))
        if not lists:
            return None
        from torch.fx._symbolic_trace import PH
        return {params[i]: [PH] * k for i, k in lists.items()}

    def model(self, name):
        torch_inputs = [torch.randn(s, generator=torch.Generator()
                                    .manual_seed(0)) for _, s in self.inputs]
        self.record_calls(torch_inputs)
        k, base = self.kind(self.root)
        names = [n for n, _ in self.inputs]
        if k == "user":
            root = self.user_entry(self.root, "", input_names=names)
            # outputs: y (or y0, y1, ...) unless an output is a model input
            ret = root["forward"][-1]["return"]
            want = ["y"] if len(ret) == 1 else \
                ["y%d" % i for i in range(len(ret))]
            if len(set(ret)) != len(ret):
                raise ExportError("cannot export module (root) (%s): it "
                                  "returns the same tensor twice" %
                                  type(self.root).__name__)
            rename = {}
            taken = set()
            for st in root["forward"]:
                for key in ("out",):
                    if key in st:
                        o = st[key]
                        taken.update(o if isinstance(o, list) else [o])
            taken.update(names)
            taken.update(root.get("parameters", {}))
            for old, new in zip(ret, want):
                if old in names or old in root.get("parameters", {}):
                    continue
                if new in taken and new != old:
                    i = 1
                    while "%s_%d" % (new, i) in taken:
                        i += 1
                    new = "%s_%d" % (new, i)
                rename[old] = new
                taken.add(new)
            if rename:
                _rename_values(root["forward"], rename)
        else:
            if len(self.inputs) != 1:
                raise ExportError("a %s root takes one input, %d given" % (
                    type(self.root).__name__, len(self.inputs)))
            root = self.entry(self.root, "")
        model = {
            "kiln": 1,
            "name": name,
            "inputs": [{"name": n, "shape": s, "dtype": "float32"}
                       for n, s in self.inputs],
            "weights": "model.safetensors",
            "model": root,
        }
        tensors = {}
        for key, t in self.root.state_dict().items():
            tensors[key] = t.detach().cpu().contiguous()
        for key, t in self.extra_tensors.items():
            tensors.setdefault(key, t.detach().cpu().contiguous())
        return model, tensors


def _rename_values(steps, rename):
    for st in steps:
        if "out" in st:
            o = st["out"]
            st["out"] = [rename.get(e, e) for e in o] if isinstance(o, list) \
                else rename.get(o, o)
        if "in" in st:
            st["in"] = [rename.get(e, e) if isinstance(e, str) else e
                        for e in st["in"]]
        if "return" in st:
            st["return"] = [rename.get(e, e) for e in st["return"]]


_CXX_KEYWORDS = set(keyword.kwlist) | {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor",
    "bool", "break", "case", "catch", "char", "char8_t", "char16_t",
    "char32_t", "class", "compl", "concept", "const", "consteval",
    "constexpr", "constinit", "const_cast", "continue", "co_await",
    "co_return", "co_yield", "decltype", "default", "delete", "do", "double",
    "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false",
    "float", "for", "friend", "goto", "if", "inline", "int", "long",
    "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
    "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "restrict", "return", "short", "signed",
    "sizeof", "static", "static_assert", "static_cast", "struct", "switch",
    "template", "this", "thread_local", "throw", "true", "try", "typedef",
    "typeid", "typename", "union", "unsigned", "using", "virtual", "void",
    "volatile", "wchar_t", "while", "xor", "xor_eq", "_Bool", "_Complex",
    "_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic",
    "_Noreturn", "_Static_assert", "_Thread_local"}


def model_name(module_or_name):
    """A C identifier from a class name: lower case, other characters to
    '_', a leading digit or a keyword prefixed / suffixed."""
    name = module_or_name if isinstance(module_or_name, str) else \
        type(module_or_name).__name__
    name = re.sub(r"[^0-9a-z_]", "_", name.lower()) or "model"
    if name[0].isdigit():
        name = "m_" + name
    if name in _CXX_KEYWORDS:
        name += "_model"
    return name


def _check_identifier(name):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or \
            name in _CXX_KEYWORDS:
        raise ExportError("the model name %r is not a C identifier (or is a "
                          "C/C++ keyword)" % name)


def export_module(module, inputs, name=None):
    """(model JSON dict, {state_dict key: tensor}) of ``module`` in eval
    mode. ``inputs``: [(name, shape)]. Raises ExportError."""
    module.eval()
    name = name or model_name(module)
    _check_identifier(name)
    # a module rebuilt from TorchScript must compute what the file does
    from .torchscript import verify_import
    verify_import(module, inputs)
    return _Exporter(module, inputs).model(name)


def write_export(outdir, model, tensors):
    """Write OUTDIR/model.json and OUTDIR/model.safetensors through
    temporary files renamed at the end."""
    data = safetensors_bytes(tensors, {"format": "pt"})
    text = json.dumps(model, indent=1) + "\n"
    created = not os.path.isdir(outdir)
    umask = os.umask(0)
    os.umask(umask)
    os.makedirs(outdir, exist_ok=True)
    tmps = []
    try:
        for final, payload in (("model.safetensors", data),
                               ("model.json", text.encode("utf-8"))):
            fd, tmp = tempfile.mkstemp(prefix="." + final + ".",
                                       dir=outdir)
            tmps.append((tmp, os.path.join(outdir, final)))
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600
        for tmp, final in tmps:  # the JSON last: it names the weights
            os.replace(tmp, final)
    except BaseException:
        for tmp, _ in tmps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if created:
            try:
                os.rmdir(outdir)
            except OSError:
                pass
        raise
    return os.path.join(outdir, "model.json")


def export(module, inputs, outdir, name=None):
    """Export ``module`` to OUTDIR (model.json + model.safetensors).
    Nothing is written if the module cannot be exported."""
    model, tensors = export_module(module, inputs, name)
    return write_export(outdir, model, tensors)


# ---------------------------------------------------------------------------
# Weights


def reinit(module, seed):
    """Deterministic random weights from ``seed``: conv / linear weights
    normal with std sqrt(2 / fan_in), biases normal(0, 0.1), normalisation
    weights uniform(0.5, 1.5) and biases normal(0, 0.1), BatchNorm running
    mean normal(0, 0.1) and running var uniform(0.5, 1.5) (positive)."""
    g = torch.Generator().manual_seed(int(seed))
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm,
                  nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)
    with torch.no_grad():
        for _, m in module.named_modules():
            is_norm = isinstance(m, norm_types)
            for pname, p in m.named_parameters(recurse=False):
                if not p.is_floating_point():
                    continue
                if isinstance(m, nn.PReLU):
                    v = torch.rand(p.shape, generator=g) * 0.3 + 0.1
                elif is_norm and pname == "weight":
                    v = torch.rand(p.shape, generator=g) + 0.5
                elif p.dim() >= 2:
                    fan_in = p[0].numel() if not isinstance(
                        m, (nn.ConvTranspose1d, nn.ConvTranspose2d,
                            nn.ConvTranspose3d)) else \
                        p.shape[0] * p[0, 0].numel()
                    v = torch.randn(p.shape, generator=g) * \
                        math.sqrt(2.0 / max(fan_in, 1))
                elif pname in ("weight", "scale", "gamma"):
                    v = torch.rand(p.shape, generator=g) + 0.5
                else:
                    v = torch.randn(p.shape, generator=g) * 0.1
                p.copy_(v.to(p.dtype))
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and \
                    m.track_running_stats and m.running_mean is not None:
                m.running_mean.copy_(
                    torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(
                    torch.rand(m.running_var.shape, generator=g) + 0.5)
    return module


# ---------------------------------------------------------------------------
# Command line


def load_module(spec, kwargs=None, imports=()):
    """``pkg.mod:factory`` or ``path/file.py:Class`` -> the module; a saved
    model file (``torch.save`` / TorchScript, see ``saved.py``) -> the module
    it holds. ``imports``: ``--import-path`` entries, applied first."""
    from .saved import import_hints, is_saved_spec, load_saved
    if is_saved_spec(spec):
        if kwargs:
            raise ExportError("MODULE_SPEC %r is a saved model: --kwargs "
                              "(constructor arguments) do not apply" % spec)
        return load_saved(spec, imports)
    import_hints(imports)
    if ":" not in spec:
        raise ExportError("MODULE_SPEC %r: expected import.path:name, "
                          "file.py:Class or a saved model file (.pt, .pth, "
                          ".ts)" % spec)
    where, attr = spec.rsplit(":", 1)
    if where.endswith(".py") or os.path.sep in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise ExportError("MODULE_SPEC %r: no file %s" % (spec, path))
        modname = "_kiln_export_user_%d" % (abs(hash(path)) % 10 ** 8)
        sys.path.insert(0, os.path.dirname(path))
        s = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(s)
        sys.modules[modname] = mod
        try:
            s.loader.exec_module(mod)
        except Exception as e:
            raise ExportError("MODULE_SPEC %r: running %s failed: %s: %s" % (
                spec, path, type(e).__name__, e)) from e
    else:
        try:
            mod = importlib.import_module(where)
        except ImportError as e:
            raise ExportError("MODULE_SPEC %r: cannot import %s: %s" % (
                spec, where, e)) from e
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ExportError("MODULE_SPEC %r: %s has no %r" % (
                spec, where, part))
        obj = getattr(obj, part)
    m = obj(**(kwargs or {}))
    if not isinstance(m, nn.Module):
        raise ExportError("MODULE_SPEC %r gave a %s, not an nn.Module" % (
            spec, type(m).__name__))
    return m


def build_module(spec, kwargs, seed, imports=(), weights=None):
    """The module of MODULE_SPEC with the weights kiln-export writes: built
    under ``torch.manual_seed(seed)``, ``reinit(module, seed)``, eval mode.
    A saved model (``saved.is_saved_spec``) keeps its own weights.
    ``weights``: a state_dict / .safetensors file loaded last
    (``--load-weights``)."""
    from .saved import is_saved_spec, load_weights_file
    torch.manual_seed(seed)
    module = load_module(spec, kwargs, imports)
    if not is_saved_spec(spec):
        reinit(module, seed)
    if weights:
        load_weights_file(module, weights)
    module.eval()
    return module


def parse_input(text):
    if ":" not in text:
        raise ExportError("--input %r: expected NAME:D0,D1,..." % text)
    name, shape = text.split(":", 1)
    try:
        dims = [int(d) for d in shape.split(",") if d.strip()]
    except ValueError:
        raise ExportError("--input %r: the shape is not a list of integers"
                          % text)
    if not name or not dims or any(d < 1 for d in dims):
        raise ExportError("--input %r: expected NAME:D0,D1,..." % text)
    return name, dims


def output_names(model):
    root = model["model"]
    if "forward" in root:
        return list(root["forward"][-1]["return"])
    return ["y"]


def check(kiln, json_path, module, inputs, seed=0, workdir=None, extra=()):
    """Run ``KILN run`` and PyTorch on a seeded random input: a list of
    (output name, max abs diff, max|y|)."""
    with open(json_path) as f:
        model = json.load(f)
    g = torch.Generator().manual_seed(int(seed) + 1)
    xs = [torch.randn(s, generator=g) for _, s in inputs]
    outs = output_names(model)
    tmp = tempfile.mkdtemp(prefix="kiln_check_", dir=workdir)
    try:
        args = [kiln, "run", json_path] + list(extra)
        for (n, _), x in zip(inputs, xs):
            p = os.path.join(tmp, "in_%s.npy" % n)
            np.save(p, x.numpy())
            args += ["--input", "%s=%s" % (n, p)]
        for o in outs:
            args += ["--output", "%s=%s" % (o, os.path.join(tmp,
                                                            "out_%s.npy" % o))]
        r = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise ExportError("%s failed:\n%s" % (" ".join(args),
                                                  r.stdout.decode()))
        got = [np.load(os.path.join(tmp, "out_%s.npy" % o)) for o in outs]
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    module.eval()
    with torch.no_grad():
        want = module(*[x.clone() for x in xs])
    if isinstance(want, torch.Tensor):
        want = [want]
    res = []
    for o, a, b in zip(outs, got, want):
        b = b.numpy()
        if a.shape != b.shape:
            raise ExportError("output %s: Kiln gives shape %s, PyTorch %s"
                              % (o, list(a.shape), list(b.shape)))
        res.append((o, float(np.abs(a.astype(np.float64) - b).max()),
                    float(np.abs(b).max())))
    return res


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a == "--compare" or a.startswith("--compare=") for a in argv):
        from .compare import main as compare_main  # layer by layer
        return compare_main(argv)
    ap = argparse.ArgumentParser(
        prog="kiln-export",
        description="Export a PyTorch nn.Module to the Kiln model format "
                    "(OUTDIR/model.json + OUTDIR/model.safetensors), keeping "
                    "its module tree.")
    ap.add_argument("module", metavar="MODULE_SPEC",
                    help="import.path:constructor (torchvision.models:"
                         "resnet18), path/to/file.py:ClassName, or a saved "
                         "model: model.pt from torch.save(model, path) "
                         "(unpickled: trusted files only) or a TorchScript "
                         "file from torch.jit.save")
    ap.add_argument("--import-path", action="append", default=[],
                    metavar="DIR|FILE.py|MODULE",
                    help="make the model's classes importable first: a "
                         "directory for sys.path, a .py file to run (also "
                         "searched for classes pickled from __main__), or a "
                         "module name (repeatable)")
    ap.add_argument("--load-weights", metavar="FILE",
                    help="load these weights (a state_dict saved with "
                         "torch.save, or a .safetensors file) instead of "
                         "the random ones")
    ap.add_argument("--input", action="append", required=True,
                    metavar="NAME:SHAPE", help="x:1,3,224,224 (repeat for "
                    "each forward input, in order)")
    ap.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    ap.add_argument("--kwargs", default="{}",
                    help="constructor keyword arguments, as JSON")
    ap.add_argument("--name", help="model name (default: the class name, "
                    "lower case)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the random weights (default 0; a saved "
                         "model keeps its own)")
    ap.add_argument("--check", metavar="KILN",
                    help="run KILN run and PyTorch on a random input and "
                         "compare")
    a = ap.parse_args(argv)
    try:
        try:
            kwargs = json.loads(a.kwargs)
        except ValueError as e:
            raise ExportError("--kwargs: not JSON: %s" % e)
        if not isinstance(kwargs, dict):
            raise ExportError("--kwargs: expected a JSON object")
        inputs = [parse_input(t) for t in a.input]
        module = build_module(a.module, kwargs, a.seed, a.import_path,
                              a.load_weights)
        path = export(module, inputs, a.output, a.name)
        print("wrote %s and %s" % (path, os.path.join(a.output,
                                                       "model.safetensors")))
        if a.check:
            worst = 0.0
            from .torchscript import script_source  # TorchScript: itself
            ref = script_source(module) or module
            for o, err, ymax in check(a.check, path, ref, inputs, a.seed):
                rel = err / ymax if ymax > 0 else err
                worst = max(worst, rel)
                print("check %s: max |kiln - torch| = %.3g, relative to "
                      "max|y| (%.3g) = %.3g" % (o, err, ymax, rel))
            if worst > 1e-4:
                print("kiln-export: check FAILED (relative error %.3g > "
                      "1e-4)" % worst, file=sys.stderr)
                return 1
            print("check passed")
    except ExportError as e:
        print("kiln-export: error: %s" % e, file=sys.stderr)
        return 1
    return 0
