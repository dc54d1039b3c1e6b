"""Differential cases: the case record, the seeded generator and helpers
shared by every family's case generators."""

import copy
import json
import math
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "tools", "kiln_export"))
from kiln_export import export_layer  # noqa: E402

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



def rand_shape(gen, rank, lo=1, hi=6):
    return [gen.randint(lo, hi) for _ in range(rank)]


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

