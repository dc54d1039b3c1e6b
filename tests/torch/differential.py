#!/usr/bin/python3
"""Differential test of Kiln against PyTorch, layer by layer.

usage: differential.py --kiln PATH --work DIR [--filter REGEX] [--jobs N]
                       [--backend cpp|llvm]
                       [--batch-size N] [--list]

For every layer type and functional op of the model format, and every
argument of each, this script generates seeded random cases: a torch module
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
import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "kiln_export"))
from kiln_export import export_layer, make_model, write_model  # noqa: E402

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

GLOBAL_SEED = 20240601


# --------------------------------------------------------------------------
# Cases


class Case:
    """One PyTorch module + input(s), to be compiled as child ``c<i>``."""

    def __init__(self, family, group, module, inputs, K, entry=None,
                 call_extra=None, n_out=1, note=""):
        self.family = family          # summary row ("Conv2d", "op:add")
        self.group = group            # batch key (cases of a group batch)
        self.module = module          # nn.Module; forward(*inputs)
        self.inputs = inputs          # list of float32 numpy arrays
        self.K = K                    # terms of the largest reduction
        self.entry = entry if entry is not None else export_layer(module)
        self.call_extra = dict(call_extra or {})  # extra keys on the call step
        self.n_out = n_out
        self.note = note
        self.id = None
        self.ref32 = self.ref64 = None

    def describe(self):
        shapes = [list(x.shape) for x in self.inputs]
        d = {"case": self.id, "layer": self.family, "args": self.entry}
        if self.call_extra:
            d["call"] = self.call_extra
        d["input_shapes"] = shapes
        if self.note:
            d["note"] = self.note
        return json.dumps(d)

    def compute_reference(self):
        """float32 and float64 PyTorch outputs (as float64 numpy arrays)."""
        m32 = self.module.eval()
        m64 = copy.deepcopy(self.module).double().eval()
        with torch.no_grad():
            y32 = m32(*[torch.from_numpy(x) for x in self.inputs])
            y64 = m64(*[torch.from_numpy(x).double() for x in self.inputs])
        if not isinstance(y32, (tuple, list)):
            y32, y64 = (y32,), (y64,)
        assert len(y32) == self.n_out, (self.family, len(y32), self.n_out)
        self.ref32 = [t.detach().double().numpy() for t in y32]
        self.ref64 = [t.detach().double().numpy() for t in y64]


class Gen:
    """Seeded random source of one case (numpy and torch generators)."""

    def __init__(self, key):
        seed = (zlib.crc32(key.encode()) ^ GLOBAL_SEED) & 0x7FFFFFFF
        self.rng = np.random.RandomState(seed)
        self.g = torch.Generator().manual_seed(seed)

    def randint(self, lo, hi):  # inclusive
        return int(self.rng.randint(lo, hi + 1))

    def choice(self, seq):
        return seq[int(self.rng.randint(len(seq)))]

    def coin(self, p=0.5):
        return bool(self.rng.rand() < p)

    def batch(self, p_none=0.2, hi=3):
        """A batch size, or None for a batch-less input."""
        return None if self.coin(p_none) else self.randint(1, hi)

    def normal(self, shape, scale=1.0):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def act_input(self, shape, scale=3.0, specials=(0.0,)):
        """Normal values with exact zeros, negatives and special points."""
        x = self.rng.standard_normal(shape) * scale
        mask = self.rng.rand(*shape) < 0.15
        x[mask] = 0.0
        for s in specials:
            mask = self.rng.rand(*shape) < 0.05
            x[mask] = s
        return x.astype(np.float32)

    def away_from_zero(self, shape):
        sign = np.where(self.rng.rand(*shape) < 0.5, -1.0, 1.0)
        return (sign * self.rng.uniform(0.5, 2.0, shape)).astype(np.float32)

    def uniform_t(self, shape, lo, hi):
        return torch.rand(shape, generator=self.g) * (hi - lo) + lo

    def randomize(self, module, K=None):
        """Random parameters and BatchNorm statistics, from this seed."""
        with torch.no_grad():
            for name, p in module.named_parameters():
                leaf = name.rsplit(".", 1)[-1]
                owner = module.get_submodule(name.rsplit(".", 1)[0]) \
                    if "." in name else module
                if isinstance(owner, nn.modules.batchnorm._BatchNorm):
                    if leaf == "weight":
                        v = self.uniform_t(p.shape, 0.5, 1.5)
                        v *= torch.where(torch.rand(p.shape, generator=self.g)
                                         < 0.2, -1.0, 1.0)
                    else:
                        v = torch.randn(p.shape, generator=self.g) * 0.5
                elif isinstance(owner, nn.PReLU):
                    v = self.uniform_t(p.shape, -0.5, 1.0)
                elif leaf == "bias":
                    v = self.uniform_t(p.shape, -1.0, 1.0)
                else:
                    k = K if K else max(1, p[0].numel())
                    b = 1.0 / math.sqrt(k)
                    v = self.uniform_t(p.shape, -b, b) * 1.7
                p.copy_(v)
            for name, b in module.named_buffers():
                leaf = name.rsplit(".", 1)[-1]
                if leaf == "running_mean":
                    b.copy_(torch.randn(b.shape, generator=self.g) * 0.5)
                elif leaf == "running_var":
                    b.copy_(self.uniform_t(b.shape, 0.25, 2.0))
                elif leaf == "num_batches_tracked":
                    b.fill_(self.randint(0, 1000))
        return module


def spatial(gen, n, lo, hi):
    return [gen.randint(lo, hi) for _ in range(n)]


def shape_with_batch(batch, c, sp):
    return ([batch] if batch is not None else []) + [c] + list(sp)


def prod(xs):
    r = 1
    for v in xs:
        r *= int(v)
    return r


# ---- convolutions --------------------------------------------------------

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def _groups(gen):
    kind = gen.choice(["1", "1", "1", "g", "dw"])
    if kind == "dw":
        cin = gen.randint(1, 5)
        return cin, cin * gen.randint(1, 2), cin
    g = 1 if kind == "1" else gen.randint(2, 3)
    return g * gen.randint(1, 3), g * gen.randint(1, 3), g


def gen_conv(gen, n, mode, string_pad=None):
    kmax = {1: 5, 2: 4, 3: 3}[n]
    smax = {1: 12, 2: 9, 3: 6}[n]
    cin, cout, g = _groups(gen)
    k = spatial(gen, n, 1, kmax)
    if string_pad:
        s = [1] * n
    else:
        s = spatial(gen, n, 1, 3)
    d = spatial(gen, n, 1, 2) if gen.coin(0.4) else [1] * n
    if string_pad:
        pad = string_pad
        lo = []
        for ki, di in zip(k, d):
            total = di * (ki - 1)  # "same": total padding, odd extra at end
            if string_pad == "valid":
                lo.append(total + 1)
            else:
                lo.append(max(1, (total + 1) // 2 +
                              (1 if mode != "zeros" else 0)))
    else:
        pad = [gen.randint(0, 3) for _ in range(n)]
        lo = []
        for ki, di, pi in zip(k, d, pad):
            need = max(1, di * (ki - 1) + 1 - 2 * pi)
            if mode != "zeros":  # reflect needs pad < size, circular <=
                need = max(need, pi + 1)
            lo.append(need)
    sp = [gen.randint(l, max(l, min(smax, l + 6))) for l in lo]
    batch = gen.batch()
    bias = gen.coin(0.75)
    m = CONV[n](cin, cout, tuple(k), stride=tuple(s),
                padding=pad if isinstance(pad, str) else tuple(pad),
                dilation=tuple(d), groups=g, bias=bias, padding_mode=mode)
    K = cin // g * prod(k)
    gen.randomize(m, K)
    x = gen.normal(shape_with_batch(batch, cin, sp))
    return m, [x], K


def gen_conv_transpose(gen, n, with_output_size):
    kmax = {1: 5, 2: 4, 3: 3}[n]
    smax = {1: 9, 2: 6, 3: 4}[n]
    cin, cout, g = _groups(gen)
    while True:
        k = spatial(gen, n, 1, kmax)
        s = spatial(gen, n, 1, 3)
        d = spatial(gen, n, 1, 2) if gen.coin(0.4) else [1] * n
        p = [gen.randint(0, 2) for _ in range(n)]
        op = [gen.randint(0, max(si, di) - 1) for si, di in zip(s, d)]
        sp = spatial(gen, n, 1, smax)
        lo = [(i - 1) * si - 2 * pi + di * (ki - 1) + 1
              for i, si, pi, di, ki in zip(sp, s, p, d, k)]
        if all(l + o >= 1 for l, o in zip(lo, op)) and all(l >= 1 for l in lo):
            break
    batch = gen.batch(0.0 if with_output_size == "full" else 0.2)
    m = CONVT[n](cin, cout, tuple(k), stride=tuple(s), padding=tuple(p),
                 output_padding=tuple(op), groups=g, bias=gen.coin(0.75),
                 dilation=tuple(d))
    K = cin // g * prod(k)
    gen.randomize(m, K)
    x = gen.normal(shape_with_batch(batch, cin, sp))
    if not with_output_size:
        return m, [x], K, None
    want = [l + gen.randint(0, si - 1) for l, si in zip(lo, s)]
    if with_output_size == "full":
        want = [batch, cout] + want
    return m, [x], K, want


class CallWithOutputSize(nn.Module):
    """``self.m(x, output_size=...)``: a ConvTranspose called with the
    forward argument; in Kiln, the ``output_size`` key of the call step."""

    def __init__(self, m, output_size):
        super().__init__()
        self.m = m
        self.output_size = output_size

    def forward(self, x):
        return self.m(x, output_size=self.output_size)

    def entry(self):
        return {"type": "ConvTransposeWithOutputSize",
                "modules": {"m": export_layer(self.m)},
                "forward": [{"out": "y", "call": "m", "in": ["x"],
                             "output_size": self.output_size},
                            {"return": ["y"]}]}


def cases_conv():
    out = []
    for n in (1, 2, 3):
        name = "Conv%dd" % n
        count = {1: 22, 2: 26, 3: 14}[n]
        for i in range(count):
            gen = Gen("%s/zeros/%d" % (name, i))
            m, xs, K = gen_conv(gen, n, "zeros")
            out.append(Case(name, name, m, xs, K))
        for i in range(8):
            sp = "same" if i % 2 == 0 else "valid"
            gen = Gen("%s/%s/%d" % (name, sp, i))
            m, xs, K = gen_conv(gen, n, "zeros", string_pad=sp)
            out.append(Case(name, name, m, xs, K))
        for mode in ("reflect", "replicate", "circular"):
            for i in range(4):
                gen = Gen("%s/%s/%d" % (name, mode, i))
                m, xs, K = gen_conv(gen, n, mode,
                                    string_pad="same" if i == 3 else None)
                out.append(Case(name, name + "/padding_mode=" + mode, m, xs,
                                K))
    return out


def cases_conv_transpose():
    out = []
    for n in (1, 2, 3):
        name = "ConvTranspose%dd" % n
        count = {1: 20, 2: 22, 3: 12}[n]
        for i in range(count):
            gen = Gen("%s/%d" % (name, i))
            m, xs, K, _ = gen_conv_transpose(gen, n, None)
            out.append(Case(name, name, m, xs, K))
        for i in range(8):
            form = "full" if i % 3 == 2 else "spatial"
            gen = Gen("%s/output_size/%d" % (name, i))
            m, xs, K, want = gen_conv_transpose(gen, n, form)
            w = CallWithOutputSize(m, want)
            out.append(Case(name, name + "/output_size", w, xs, K,
                            entry=w.entry(),
                            note="step output_size=%s" % want))
    return out


# ---- pooling -------------------------------------------------------------

MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
MAXUNPOOL = {1: nn.MaxUnpool1d, 2: nn.MaxUnpool2d, 3: nn.MaxUnpool3d}
AAVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d,
        3: nn.AdaptiveAvgPool3d}
AMAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d,
        3: nn.AdaptiveMaxPool3d}


def _pool_out(i, k, s, p, d, ceil):
    eff = d * (k - 1) + 1
    num = i + 2 * p - eff
    if num < 0:
        return 0
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= i + p:
        o -= 1
    return o


def pool_params(gen, n, dilation=True, ceil=None):
    kmax = {1: 5, 2: 4, 3: 3}[n]
    smax = {1: 13, 2: 9, 3: 6}[n]
    while True:
        k = spatial(gen, n, 1, kmax)
        s = spatial(gen, n, 1, 3) if gen.coin(0.7) else None
        p = [gen.randint(0, ki // 2) for ki in k]
        d = (spatial(gen, n, 1, 2) if dilation and gen.coin(0.4)
             else [1] * n)
        c = gen.coin() if ceil is None else ceil
        sp = spatial(gen, n, 1, smax)
        ss = s or k
        if all(_pool_out(*a, c) >= 1 for a in zip(sp, k, ss, p, d)):
            return k, s, p, d, c, sp


def _t(v):
    """An int when all entries are equal and odd, else a tuple: exercises
    both JSON forms (integer and list) of the size arguments."""
    return v[0] if len(set(v)) == 1 and v[0] % 2 else tuple(v)


def gen_maxpool(gen, n, return_indices=False, forced=None):
    if forced:
        k, s, p, d, c, sp = forced
    else:
        k, s, p, d, c, sp = pool_params(gen, n)
    m = MAXPOOL[n](_t(k), stride=None if s is None else _t(s),
                   padding=_t(p), dilation=_t(d),
                   return_indices=return_indices, ceil_mode=c)
    batch = gen.batch()
    x = gen.normal(shape_with_batch(batch, gen.randint(1, 4), sp))
    return m, [x], prod(k)


def gen_avgpool(gen, n, forced=None):
    if forced:
        k, s, p, _, c, sp = forced
    else:
        k, s, p, _, c, sp = pool_params(gen, n, dilation=False)
    kw = {}
    if n > 1:
        kw["divisor_override"] = gen.choice([None, None, 1, 2, 3, 7])
    m = AVGPOOL[n](_t(k), stride=None if s is None else _t(s),
                   padding=_t(p), ceil_mode=c,
                   count_include_pad=gen.coin(), **kw)
    batch = gen.batch()
    x = gen.normal(shape_with_batch(batch, gen.randint(1, 4), sp))
    return m, [x], prod(k)


# (in, k, s, p, ceil): PyTorch's rule dropping a last window that would start
# in the right padding, and plain ceil-mode windows hanging over the edge.
CEIL_EDGE = [(5, 2, 2, 1), (6, 3, 2, 1), (7, 2, 3, 1), (4, 3, 3, 1),
             (9, 4, 3, 2), (10, 3, 2, 1), (5, 3, 3, 0), (8, 5, 4, 2)]


def _edge_params(n, t, axis_extra):
    i, k, s, p = t
    sp = [i] + [axis_extra] * (n - 1)
    ks = [k] + [2] * (n - 1)
    ss = [s] + [2] * (n - 1)
    ps = [p] + [1] * (n - 1)
    return ks, ss, ps, [1] * n, True, sp


REJECTED = []  # candidate cases PyTorch itself refused (regenerated)


def retry(key, make):
    """The first candidate ``make(Gen(key/attempt))`` that PyTorch accepts
    (e.g. avg_pool3d refuses an input smaller than the kernel even when the
    padding makes the output size valid); reference computed."""
    for attempt in range(50):
        case = make(Gen(key if attempt == 0 else "%s/retry%d" % (key, attempt)))
        try:
            case.compute_reference()
            return case
        except RuntimeError as e:
            REJECTED.append("%s: %s" % (key, str(e).splitlines()[0]))
    raise RuntimeError("no valid case for " + key)


def cases_pool():
    out = []
    for n in (1, 2, 3):
        name = "MaxPool%dd" % n
        for i in range({1: 20, 2: 24, 3: 14}[n]):
            out.append(retry("%s/%d" % (name, i), lambda gen: Case(
                name, name, *gen_maxpool(gen, n))))
        for i, t in enumerate(CEIL_EDGE[: {1: 8, 2: 6, 3: 4}[n]]):
            out.append(retry("%s/ceil_edge/%d" % (name, i), lambda gen: Case(
                name, name, *gen_maxpool(gen, n, forced=_edge_params(n, t, 5)),
                note="ceil-mode edge")))
        for i in range({1: 8, 2: 8, 3: 6}[n]):
            out.append(retry("%s/indices/%d" % (name, i), lambda gen: Case(
                name, name + "/return_indices",
                *gen_maxpool(gen, n, return_indices=True), n_out=2,
                note="outputs (values, indices)")))
        name = "AvgPool%dd" % n
        for i in range({1: 20, 2: 26, 3: 14}[n]):
            out.append(retry("%s/%d" % (name, i), lambda gen: Case(
                name, name, *gen_avgpool(gen, n))))
        for i, t in enumerate(CEIL_EDGE[: {1: 8, 2: 6, 3: 4}[n]]):
            out.append(retry("%s/ceil_edge/%d" % (name, i), lambda gen: Case(
                name, name, *gen_avgpool(gen, n, forced=_edge_params(n, t, 5)),
                note="ceil-mode edge")))
    return out


class PoolUnpool(nn.Module):
    """MaxPoolNd(return_indices=True) -> MaxUnpoolNd(values, indices)."""

    def __init__(self, n, k, s, p, output_size):
        super().__init__()
        self.pool = MAXPOOL[n](k, s, p, return_indices=True)
        self.unpool = MAXUNPOOL[n](k, s, p)
        self.output_size = output_size

    def forward(self, x):
        v, i = self.pool(x)
        return self.unpool(v, i, output_size=self.output_size)

    def entry(self):
        call = {"out": "y", "call": "unpool", "in": ["v", "i"]}
        if self.output_size is not None:
            call["output_size"] = list(self.output_size)
        return {"type": "PoolUnpool",
                "modules": {"pool": export_layer(self.pool),
                            "unpool": export_layer(self.unpool)},
                "forward": [{"out": ["v", "i"], "call": "pool", "in": ["x"]},
                            call, {"return": ["y"]}]}


def cases_unpool():
    out = []
    for n in (1, 2, 3):
        name = "MaxUnpool%dd" % n
        for i in range({1: 12, 2: 14, 3: 8}[n]):
            gen = Gen("%s/%d" % (name, i))
            form = ["none", "spatial", "full"][i % 3]
            kmax = {1: 4, 2: 3, 3: 3}[n]
            while True:
                k = spatial(gen, n, 1, kmax)
                s = spatial(gen, n, 1, 3)
                p = [gen.randint(0, ki // 2) for ki in k]
                sp = spatial(gen, n, 1, {1: 13, 2: 9, 3: 6}[n])
                outs = [_pool_out(a, b, c, d, 1, False)
                        for a, b, c, d in zip(sp, k, s, p)]
                if min(outs) < 1:
                    continue
                default = [(o - 1) * si + ki - 2 * pi
                           for o, si, ki, pi in zip(outs, s, k, p)]
                if min(default) < 1:
                    continue
                if form == "none":
                    # Without output_size, indices of the input plane must
                    # be valid in the unpooled plane: same size.
                    if default != sp:
                        continue
                break
            batch = gen.batch(p_none=0.0 if form == "full" else 0.25)
            c = gen.randint(1, 3)
            osize = None
            if form == "spatial":
                osize = list(sp)
            elif form == "full":
                osize = [batch, c] + list(sp)
            m = PoolUnpool(n, tuple(k), tuple(s), tuple(p), osize)
            x = gen.normal(shape_with_batch(batch, c, sp))
            out.append(Case(name, name, m, [x], prod(k), entry=m.entry(),
                            note="MaxPool%dd(return_indices) -> %s, "
                                 "output_size=%s" % (n, name, osize)))
    return out


def _adaptive_K(i, o):
    return max(-(-(j + 1) * i // o) - (j * i // o) for j in range(o))


def cases_adaptive():
    out = []
    for kind, table in (("Avg", AAVG), ("Max", AMAX)):
        for n in (1, 2, 3):
            name = "Adaptive%sPool%dd" % (kind, n)
            for i in range({1: 12, 2: 14, 3: 10}[n]):
                gen = Gen("%s/%d" % (name, i))
                sp = spatial(gen, n, 1, {1: 15, 2: 11, 3: 7}[n])
                osz = [gen.randint(1, s + 2) for s in sp]
                if n > 1 and gen.coin(0.35):
                    osz[gen.randint(0, n - 1)] = None
                arg = osz[0] if n == 1 else tuple(osz)
                if n > 1 and gen.coin(0.2) and None not in osz:
                    arg = osz[0]
                    osz = [osz[0]] * n
                ri = kind == "Max" and i % 4 == 3
                m = (table[n](arg, return_indices=ri) if kind == "Max"
                     else table[n](arg))
                K = prod(_adaptive_K(a, b if b is not None else a)
                         for a, b in zip(sp, osz))
                batch = gen.batch()
                x = gen.normal(shape_with_batch(batch, gen.randint(1, 4), sp))
                out.append(Case(name,
                                name + ("/return_indices" if ri else ""),
                                m, [x], K, n_out=2 if ri else 1))
    return out


# ---- linear, activations, normalisation, shape layers --------------------


def rand_shape(gen, rank, lo=1, hi=6):
    return [gen.randint(lo, hi) for _ in range(rank)]


def cases_linear():
    out = []
    for i in range(30):
        gen = Gen("Linear/%d" % i)
        fin = gen.choice([1, 3, 7, 16, 33, 64, 130])
        fout = gen.randint(1, 20)
        rank = [1, 2, 2, 3, 4, 5][i % 6]
        lead = rand_shape(gen, rank - 1, 1, 4)
        m = nn.Linear(fin, fout, bias=gen.coin(0.75))
        gen.randomize(m, fin)
        out.append(Case("Linear", "Linear", m, [gen.normal(lead + [fin])],
                        fin))
    return out


def _act_shape(gen):
    rank = gen.randint(1, 4)
    return rand_shape(gen, rank, 1, 7)


def cases_activations():
    out = []

    def add(name, make, count, specials=(0.0,), scale=3.0, shape=None,
            K=lambda m, s: 1):
        for i in range(count):
            gen = Gen("%s/%d" % (name, i))
            s = shape(gen) if shape else _act_shape(gen)
            m = make(gen, s)
            gen.randomize(m)
            x = gen.act_input(s, scale, specials)
            out.append(Case(name, name, m, [x], K(m, s)))

    add("ReLU", lambda g, s: nn.ReLU(inplace=g.coin()), 10)
    add("ReLU6", lambda g, s: nn.ReLU6(), 10, specials=(0.0, 6.0, -6.0))
    add("LeakyReLU", lambda g, s: nn.LeakyReLU(
        g.choice([0.01, 0.2, -0.3, 1.5, 0.0])), 12)

    def prelu_shape(gen):
        return rand_shape(gen, gen.randint(2, 4), 1, 6)

    def prelu(g, s):
        return nn.PReLU(g.choice([1, s[1]]) if len(s) >= 2 else 1)
    add("PReLU", prelu, 14, shape=prelu_shape)
    add("PReLU", lambda g, s: nn.PReLU(), 2,
        shape=lambda g: [g.randint(1, 9)])  # 1-d input, one parameter
    add("RReLU", lambda g, s: nn.RReLU(*g.choice(
        [(0.125, 1 / 3), (0.1, 0.3), (0.0, 0.5), (0.2, 0.2)])), 8)
    add("Sigmoid", lambda g, s: nn.Sigmoid(), 10, scale=6.0)
    add("Tanh", lambda g, s: nn.Tanh(), 10, scale=4.0)
    add("ELU", lambda g, s: nn.ELU(g.choice([1.0, 0.5, 2.0, 0.1])), 10)
    add("SiLU", lambda g, s: nn.SiLU(), 8, scale=6.0)
    add("Hardswish", lambda g, s: nn.Hardswish(), 8,
        specials=(0.0, -3.0, 3.0))
    add("Hardsigmoid", lambda g, s: nn.Hardsigmoid(), 8,
        specials=(0.0, -3.0, 3.0))
    add("GELU", lambda g, s: nn.GELU(g.choice(["none", "tanh"])), 10,
        scale=4.0)
    add("Softplus", lambda g, s: nn.Softplus(
        *g.choice([(1.0, 20.0), (2.0, 5.0), (0.5, 1.0), (-1.0, 10.0)])), 10,
        scale=6.0)
    add("Hardtanh", lambda g, s: nn.Hardtanh(
        *g.choice([(-1.0, 1.0), (-2.0, 0.5), (0.0, 3.0), (-0.25, 0.75)])), 10,
        specials=(0.0, -1.0, 1.0, -2.0, 0.5, 3.0, -0.25, 0.75))

    def softmax_like(cls, scale):
        def make(g, s):
            return cls(g.randint(-len(s), len(s) - 1))
        return make
    for cls, scale in ((nn.Softmax, 4.0), (nn.LogSoftmax, 4.0)):
        add(cls.__name__, softmax_like(cls, scale), 14, scale=scale,
            K=lambda m, s: s[m.dim])
        add(cls.__name__, softmax_like(cls, 30.0), 4, scale=30.0,
            K=lambda m, s: s[m.dim])
    return out


def cases_dropout():
    out = []
    specs = [("Dropout", nn.Dropout, (1, 4)), ("Dropout1d", nn.Dropout1d, (2, 3)),
             ("Dropout2d", nn.Dropout2d, (3, 4)),
             ("Dropout3d", nn.Dropout3d, (4, 5)),
             ("AlphaDropout", nn.AlphaDropout, (1, 4))]
    for name, cls, (rlo, rhi) in specs:
        for i in range(5):
            gen = Gen("%s/%d" % (name, i))
            s = rand_shape(gen, gen.randint(rlo, rhi), 1, 6)
            m = cls(p=gen.choice([0.0, 0.1, 0.5, 0.9]), inplace=gen.coin())
            out.append(Case(name, "Dropout", m, [gen.act_input(s)], 1))
    return out


def cases_lrn():
    out = []
    for i in range(14):
        gen = Gen("LocalResponseNorm/%d" % i)
        rank = gen.randint(3, 5)
        s = [gen.randint(1, 3), gen.randint(1, 9)] + rand_shape(
            gen, rank - 2, 1, 5)
        size = gen.randint(1, 7)
        m = nn.LocalResponseNorm(size, alpha=gen.choice([1e-4, 1e-2, 0.5]),
                                 beta=gen.choice([0.75, 0.5, 1.3]),
                                 k=gen.choice([1.0, 2.0, 0.5]))
        out.append(Case("LocalResponseNorm", "LocalResponseNorm", m,
                        [gen.normal(s, 2.0)], size))
    return out


BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def cases_batchnorm():
    out = []
    for n in (1, 2, 3):
        name = "BatchNorm%dd" % n
        for track in (True, False):
            for i in range(12 if track else 8):
                gen = Gen("%s/%s/%d" % (name, track, i))
                c = gen.randint(1, 7)
                while True:
                    N = gen.randint(1, 4)
                    if n == 1:
                        sp = [] if gen.coin() else [gen.randint(1, 7)]
                    else:
                        sp = rand_shape(gen, n, 1, {2: 6, 3: 4}[n])
                    if track or N * prod(sp) > 1:
                        break
                m = BN[n](c, eps=gen.choice([1e-5, 1e-3, 0.1]),
                          momentum=gen.choice([0.1, 0.3, None]),
                          affine=gen.coin(0.7), track_running_stats=track)
                gen.randomize(m)
                K = 1 if track else N * prod(sp)
                x = gen.normal([N, c] + sp, 1.5) + np.float32(
                    gen.rng.standard_normal())
                out.append(Case(name, name + ("" if track else
                                              "/batch_stats"),
                                m, [x.astype(np.float32)], K))
    return out


def cases_flatten_identity():
    out = []
    for i in range(14):
        gen = Gen("Flatten/%d" % i)
        rank = gen.randint(2, 5)
        s = rand_shape(gen, rank, 1, 5)
        a = gen.randint(-rank, rank - 1)
        b = gen.randint(-rank, rank - 1)
        lo, hi = sorted([a % rank, b % rank])
        start = lo if gen.coin() else lo - rank
        end = hi if gen.coin() else hi - rank
        m = nn.Flatten(start, end) if i else nn.Flatten()
        out.append(Case("Flatten", "Flatten", m, [gen.normal(s)], 1))
    for i in range(6):
        gen = Gen("Identity/%d" % i)
        s = rand_shape(gen, gen.randint(1, 4), 1, 6)
        m = nn.Identity(3, junk="ignored")
        entry = {"type": "Identity"}
        if i % 2:
            entry.update({"size": 3, "anything": [1, 2]})  # ignored, as PyTorch
        out.append(Case("Identity", "Identity", m, [gen.normal(s)], 1,
                        entry=entry))
    return out


# ---- functional ops ------------------------------------------------------


class OpCase(nn.Module):
    """A functional op as a forward step of a child user module."""

    def __init__(self, fn, step_in, op, args, names=("x",)):
        super().__init__()
        self.fn = fn
        self.names = list(names)
        self.step = dict({"out": "y", "op": op, "in": step_in}, **args)

    def forward(self, *xs):
        return self.fn(*xs)

    def entry(self):
        e = {"type": "OpCase", "modules": {},
             "forward": [self.step, {"return": ["y"]}]}
        if self.names != ["x"]:
            e["inputs"] = self.names
        return e


def op_case(family, group, fn, step_in, op, args, inputs, K, names=("x",)):
    m = OpCase(fn, step_in, op, args, names)
    return Case(family, group, m, inputs, K, entry=m.entry())


BROADCAST_PAIRS = [
    ([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [3, 1]), ([4], [2, 3, 4]),
    ([1, 3, 1, 5], [2, 1, 4, 1]), ([5, 1], [1, 6]), ([3, 1, 7], [7]),
    ([1], [3, 5]), ([2, 1, 3, 1, 2], [4, 3, 1, 2]), ([6], [6]), ([1, 1], [3, 1]),
]


def _binary_torch(op, alpha):
    if op == "add":
        return lambda a, b: torch.add(a, b, alpha=alpha)
    if op == "sub":
        return lambda a, b: torch.sub(a, b, alpha=alpha)
    return {"mul": torch.mul, "div": torch.div}[op]


def cases_ops():
    out = []
    for op in ("add", "sub", "mul", "div"):
        fam = "op:" + op
        for i, (sa, sb) in enumerate(BROADCAST_PAIRS):
            gen = Gen("%s/%d" % (fam, i))
            if gen.coin(0.5) and i % 2:
                sa, sb = sb, sa
            alpha = gen.choice([1, 1, 2.5, -0.5]) if op in ("add", "sub") \
                else 1
            args = {"alpha": alpha} if alpha != 1 or (op in ("add", "sub")
                                                      and i == 0) else {}
            a = gen.normal(sa)
            b = gen.away_from_zero(sb) if op == "div" else gen.normal(sb)
            out.append(op_case(fam, fam, _binary_torch(op, alpha), ["a", "b"],
                               op, args, [a, b], 1, names=("a", "b")))
        # scalar operands, on either side
        for i in range(8):
            gen = Gen("%s/scalar/%d" % (fam, i))
            s = rand_shape(gen, gen.randint(1, 4), 1, 6)
            c = gen.choice([0.5, 2.0, -1.25, 3.0, 0.37])
            alpha = gen.choice([1, 2.0, -0.5]) if op in ("add", "sub") else 1
            args = {"alpha": alpha} if alpha != 1 else {}
            x = gen.away_from_zero(s) if op == "div" else gen.normal(s)
            tfn = _binary_torch(op, alpha)
            if i % 2 == 0:
                fn = (lambda c, tfn: lambda t: tfn(t, torch.full_like(t, c)))(
                    c, tfn)
                step_in = ["x", c]
            else:
                fn = (lambda c, tfn: lambda t: tfn(torch.full_like(t, c), t))(
                    c, tfn)
                step_in = [c, "x"]
            out.append(op_case(fam, fam, fn, step_in, op, args, [x], 1))

    # cat
    for i in range(12):
        gen = Gen("op:cat/%d" % i)
        rank = gen.randint(1, 4)
        s = rand_shape(gen, rank, 1, 5)
        dim = gen.randint(-rank, rank - 1)
        n = gen.randint(1, 4)
        shapes = []
        for _ in range(n):
            t = list(s)
            t[dim] = gen.randint(1, 4)
            shapes.append(t)
        names = ["x%d" % j for j in range(n)]
        args = {"dim": dim} if (dim != 0 or gen.coin()) else {}
        fn = (lambda d: lambda *xs: torch.cat(xs, d))(dim)
        out.append(op_case("op:cat", "op:cat", fn, names, "cat", args,
                           [gen.normal(t) for t in shapes], 1, names=names))

    # flatten / reshape / view
    for i in range(10):
        gen = Gen("op:flatten/%d" % i)
        rank = gen.randint(1, 5)
        s = rand_shape(gen, rank, 1, 5)
        a, b = sorted([gen.randint(0, rank - 1), gen.randint(0, rank - 1)])
        args = {}
        if i % 3:
            args["start_dim"] = a if gen.coin() else a - rank
        if i % 2:
            args["end_dim"] = b if gen.coin() else b - rank
        st = args.get("start_dim", 0)
        en = args.get("end_dim", -1)
        fn = (lambda st, en: lambda t: torch.flatten(t, st, en))(st, en)
        out.append(op_case("op:flatten", "op:shape", fn, ["x"], "flatten",
                           args, [gen.normal(s)], 1))
    for op in ("reshape", "view"):
        for i in range(8):
            gen = Gen("op:%s/%d" % (op, i))
            s = rand_shape(gen, gen.randint(1, 4), 1, 5)
            total = prod(s)
            # a random factorisation of total, with one -1
            dims = []
            rest = total
            for _ in range(gen.randint(1, 3)):
                divs = [d for d in range(1, rest + 1) if rest % d == 0]
                d = gen.choice(divs)
                dims.append(d)
                rest //= d
            dims.append(rest)
            gen.rng.shuffle(dims)
            if i % 4 != 3:
                dims[gen.randint(0, len(dims) - 1)] = -1
            shape = [int(d) for d in dims]
            fn = (lambda sh, op: lambda t: getattr(t, op)(sh))(shape, op)
            out.append(op_case("op:" + op, "op:shape", fn, ["x"], op,
                               {"shape": shape}, [gen.normal(s)], 1))

    # elementwise activations and softmax
    for op, tfn, scale in (("relu", torch.relu, 3.0),
                           ("sigmoid", torch.sigmoid, 6.0),
                           ("tanh", torch.tanh, 4.0),
                           ("silu", F.silu, 6.0),
                           ("hardswish", F.hardswish, 4.0),
                           ("hardsigmoid", F.hardsigmoid, 4.0),
                           ("gelu", F.gelu, 4.0)):
        for i in range(8):
            gen = Gen("op:%s/%d" % (op, i))
            s = _act_shape(gen)
            out.append(op_case("op:" + op, "op:act", tfn, ["x"], op, {},
                               [gen.act_input(s, scale)], 1))
    for i in range(10):
        gen = Gen("op:softmax/%d" % i)
        s = _act_shape(gen)
        dim = gen.randint(-len(s), len(s) - 1)
        fn = (lambda d: lambda t: F.softmax(t, d))(dim)
        out.append(op_case("op:softmax", "op:softmax", fn, ["x"], "softmax",
                           {"dim": dim}, [gen.normal(s, 4.0)], s[dim]))

    # mean
    for i in range(16):
        gen = Gen("op:mean/%d" % i)
        rank = gen.randint(1, 4)
        s = rand_shape(gen, rank, 1, 7)
        args = {}
        if i % 4 == 0:
            dims = None
        elif i % 4 == 1:
            dims = gen.randint(-rank, rank - 1)
        else:
            k = gen.randint(1, rank)
            dims = sorted(int(d) for d in gen.rng.permutation(rank)[:k])
            dims = [d - rank if gen.coin(0.3) else d for d in dims]
        keep = gen.coin() if dims is not None else False
        if dims is not None:
            args["dim"] = dims
            if keep or gen.coin():
                args["keepdim"] = keep
        if dims is None:
            K = prod(s)
            fn = lambda t: torch.mean(t)  # noqa: E731
        else:
            dl = dims if isinstance(dims, list) else [dims]
            K = prod(s[d] for d in dl)
            fn = (lambda d, k: lambda t: torch.mean(t, d, keepdim=k))(
                dims if isinstance(dims, int) else tuple(dims), keep)
        out.append(op_case("op:mean", "op:mean", fn, ["x"], "mean", args,
                           [gen.normal(s) + 0.3], K))

    # adaptive_avg_pool2d
    for i in range(10):
        gen = Gen("op:adaptive_avg_pool2d/%d" % i)
        sp = spatial(gen, 2, 1, 11)
        osz = [gen.randint(1, v + 2) for v in sp]
        if gen.coin(0.3):
            osz[gen.randint(0, 1)] = None
        arg = osz[0] if (i % 4 == 0 and None not in osz) else osz
        if isinstance(arg, int):
            osz = [arg, arg]
        K = prod(_adaptive_K(a, b if b is not None else a)
                 for a, b in zip(sp, osz))
        batch = gen.batch()
        x = gen.normal(shape_with_batch(batch, gen.randint(1, 4), sp))
        fn = (lambda o: lambda t: F.adaptive_avg_pool2d(
            t, tuple(o) if isinstance(o, list) else o))(arg)
        out.append(op_case("op:adaptive_avg_pool2d", "op:adaptive_avg_pool2d",
                           fn, ["x"], "adaptive_avg_pool2d",
                           {"output_size": arg}, [x], K))
    return out


# Batches: cases of one group compile as one model. Groups gather a layer
# family (all ranks, similar layers); settings Kiln may refuse as a whole
# (padding modes, indices, batch statistics, ...) get groups of their own so
# that a refusal does not hold back the rest of the family.
BATCH_GROUPS = [
    (r"^Conv\dd/padding_mode", "Conv_padding_mode"),
    (r"^ConvTranspose\dd/output_size", "ConvTranspose_output_size"),
    (r"^MaxPool\dd/return_indices", "MaxPool_return_indices"),
    (r"^MaxUnpool", "MaxUnpool"),
    (r"^AdaptiveAvgPool\dd$", "AdaptiveAvgPool"),
    (r"^AdaptiveMaxPool\dd$", "AdaptiveMaxPool"),
    (r"^AdaptiveMaxPool\dd/return_indices", "AdaptiveMaxPool_return_indices"),
    (r"^BatchNorm\dd$", "BatchNorm"),
    (r"^BatchNorm\dd/batch_stats", "BatchNorm_batch_stats"),
    (r"^(ReLU|ReLU6|LeakyReLU|PReLU|RReLU|Sigmoid|Tanh|ELU|Hardtanh)$",
     "activations"),
    (r"^(Softmax|LogSoftmax)$", "Softmax_LogSoftmax"),
    (r"^(Dropout|Flatten|Identity)$", "Dropout_Flatten_Identity"),
    (r"^op:(add|sub|mul|div)$", "op_arithmetic"),
    (r"^op:(shape|cat)$", "op_shape_cat"),
    (r"^op:(act|softmax)$", "op_activations"),
    (r"^op:(mean|adaptive_avg_pool2d)$", "op_reductions"),
]


# --------------------------------------------------------------------------
# Fusion patterns: small user modules whose graphs the default pipeline
# rewrites (BatchNorm folding, residual adds, activation epilogues), and
# negative cases it must leave alone. Each runs at -O0 and at the default
# level, so a pass that changes the numbers beyond rounding fails here.

FUSABLE_ACTS = [
    ("ReLU", lambda: nn.ReLU()), ("ReLU6", lambda: nn.ReLU6()),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2)),
    ("Hardtanh", lambda: nn.Hardtanh(-0.5, 0.75)),
    ("Sigmoid", lambda: nn.Sigmoid()), ("Tanh", lambda: nn.Tanh()),
    ("ELU", lambda: nn.ELU(0.7)), ("PReLU", lambda: nn.PReLU()),
    ("RReLU", lambda: nn.RReLU(0.1, 0.3)),
    ("SiLU", lambda: nn.SiLU()), ("Hardswish", lambda: nn.Hardswish()),
    ("GELU", lambda: nn.GELU()), ("Softplus", lambda: nn.Softplus(2.0, 5.0)),
]


class Fusion(nn.Module):
    """A child-module pipeline written as a user module: ``steps`` are
    (out, module name or op, inputs) and ``body`` is the PyTorch forward."""

    def __init__(self, mods, steps, body):
        super().__init__()
        for k, v in mods.items():
            setattr(self, k, v)
        self.names = list(mods)
        self.steps = steps
        self.body = body

    def forward(self, x):
        return self.body(self, x)

    def entry(self):
        fwd = []
        for out, what, ins in self.steps:
            if what in self.names:
                fwd.append({"out": out, "call": what, "in": ins})
            else:
                fwd.append(dict({"out": out, "in": ins}, **what))
        fwd.append({"return": ["y"]})
        return {"type": "Fusion",
                "modules": {k: export_layer(getattr(self, k))
                            for k in self.names},
                "forward": fwd}


def cases_fusion():
    out = []

    def add(family, gen, mods, steps, body, x, K):
        m = gen.randomize(Fusion(mods, steps, body))
        out.append(Case(family, "Fusion", m, [x], K, entry=m.entry()))

    add_op = {"op": "add"}
    for name, make in FUSABLE_ACTS:
        for i in range(2):
            gen = Gen("fusion/conv_bn/%s/%d" % (name, i))
            c, o, k = gen.randint(1, 4), gen.randint(1, 5), gen.choice([1, 3])
            add("fuse:Conv2d+BN+" + name, gen,
                {"conv": nn.Conv2d(c, o, k, padding=k // 2,
                                   bias=gen.coin()),
                 "bn": nn.BatchNorm2d(o), "act": make()},
                [("h", "conv", ["x"]), ("b", "bn", ["h"]), ("y", "act", ["b"])],
                lambda s, x: s.act(s.bn(s.conv(x))),
                gen.normal([gen.randint(1, 2), c, gen.randint(3, 9),
                            gen.randint(3, 9)]), c * k * k)
        gen = Gen("fusion/linear/%s" % name)
        f_in, f_out = gen.randint(3, 40), gen.randint(2, 9)
        add("fuse:Linear+BN+" + name, gen,
            {"fc": nn.Linear(f_in, f_out), "bn": nn.BatchNorm1d(f_out),
             "act": make()},
            [("h", "fc", ["x"]), ("b", "bn", ["h"]), ("y", "act", ["b"])],
            lambda s, x: s.act(s.bn(s.fc(x))),
            gen.normal([gen.randint(1, 3), f_in]), f_in)
        gen = Gen("fusion/convT/%s" % name)
        c, o = gen.randint(1, 4), gen.randint(1, 4)
        add("fuse:ConvTranspose2d+BN+" + name, gen,
            {"up": nn.ConvTranspose2d(c, o, 4, stride=2, padding=1),
             "bn": nn.BatchNorm2d(o), "act": make()},
            [("h", "up", ["x"]), ("b", "bn", ["h"]), ("y", "act", ["b"])],
            lambda s, x: s.act(s.bn(s.up(x))),
            gen.normal([1, c, gen.randint(2, 5), gen.randint(2, 5)]), c * 4)
    # ResNet's basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + x).
    for i in range(6):
        gen = Gen("fusion/residual/%d" % i)
        c = gen.randint(1, 6)
        add("fuse:ResidualBlock", gen,
            {"conv1": nn.Conv2d(c, c, 3, padding=1, bias=False),
             "bn1": nn.BatchNorm2d(c), "relu1": nn.ReLU(),
             "conv2": nn.Conv2d(c, c, 3, padding=1, bias=False),
             "bn2": nn.BatchNorm2d(c), "relu2": nn.ReLU()},
            [("a", "conv1", ["x"]), ("b", "bn1", ["a"]), ("r", "relu1", ["b"]),
             ("d", "conv2", ["r"]), ("e", "bn2", ["d"]),
             ("s", add_op, ["e", "x"]), ("y", "relu2", ["s"])],
            lambda s, x: s.relu2(s.bn2(s.conv2(s.relu1(s.bn1(s.conv1(x)))))
                                 + x),
            gen.normal([gen.randint(1, 2), c, gen.randint(3, 8),
                        gen.randint(3, 8)]), c * 9)
    # Negative: a conv with two users keeps its activation separate.
    for i in range(3):
        gen = Gen("fusion/two_users/%d" % i)
        c = gen.randint(1, 4)
        add("nofuse:Conv2d two users", gen,
            {"conv": nn.Conv2d(c, c, 3, padding=1), "act": nn.ReLU()},
            [("h", "conv", ["x"]), ("r", "act", ["h"]),
             ("y", add_op, ["r", "h"])],
            lambda s, x: s.act(s.conv(x)) + s.conv(x),
            gen.normal([1, c, gen.randint(2, 7), gen.randint(2, 7)]), c * 9)
    # Negative: an activation after a pooling stays where it is.
    for i in range(3):
        gen = Gen("fusion/pool_act/%d" % i)
        c = gen.randint(1, 4)
        add("nofuse:MaxPool2d+ReLU", gen,
            {"pool": nn.MaxPool2d(2), "act": nn.ReLU()},
            [("h", "pool", ["x"]), ("y", "act", ["h"])],
            lambda s, x: s.act(s.pool(x)),
            gen.normal([1, c, gen.randint(2, 7), gen.randint(2, 7)]), 4)
    return out


def all_cases():
    cases = []
    for f in (cases_conv, cases_conv_transpose, cases_pool, cases_unpool,
              cases_adaptive, cases_linear, cases_activations, cases_dropout,
              cases_lrn, cases_batchnorm, cases_flatten_identity, cases_ops,
              cases_fusion):
        cases.extend(f())
    counters = {}
    for c in cases:
        for rx, g in BATCH_GROUPS:
            if re.search(rx, c.group):
                c.group = g
                break
        c.group = re.sub(r"[^\w.=-]", "_", c.group)
        j = counters.get(c.family, 0)
        counters[c.family] = j + 1
        c.id = "%s#%d" % (c.family, j)
    return cases


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
            np.save(f, np.ascontiguousarray(x, dtype=np.float32))
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
