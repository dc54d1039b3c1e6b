"""Differential cases: LayerNorm, GroupNorm, the functional layer_norm, and
parameters owned directly by a user module (``nn.Parameter`` attributes used
in mul / add / layer_norm steps)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cases.core import *  # noqa: F401,F403

EPS = [1e-5, 1e-5, 1e-6, 1e-3, 0.1]


def _norm_input(gen, shape):
    """Normal values around a random offset; one case in four has a mean
    much larger than its spread (the cancellation a one-pass variance would
    suffer from)."""
    if gen.coin(0.25):
        return (gen.normal(shape, 0.05) + np.float32(gen.choice([8.0, -20.0]))
                ).astype(np.float32)
    return (gen.normal(shape, gen.choice([0.5, 1.0, 3.0])) +
            np.float32(gen.rng.standard_normal())).astype(np.float32)


def cases_layer_norm():
    out = []
    for i in range(30):
        gen = Gen("LayerNorm/%d" % i)
        nd = [1, 2, 3][i % 3]
        lead = rand_shape(gen, gen.randint(0, 2), 1, 4)
        ns = rand_shape(gen, nd, 1, 7)
        if i == 4:
            ns = [1]  # one element per row: the output is the bias
        if i % 7 == 6:
            ns = [gen.randint(40, 90)] if nd == 1 else ns
        eps = gen.choice(EPS)
        affine = gen.coin(0.7)
        m = nn.LayerNorm(ns, eps=eps, elementwise_affine=affine)
        gen.randomize(m)
        entry = export_layer(m)
        if nd == 1 and gen.coin():
            entry["normalized_shape"] = ns[0]  # an integer, as PyTorch takes
        if eps == 1e-5 and gen.coin():
            del entry["eps"]  # the default
        if affine and gen.coin(0.3):
            del entry["elementwise_affine"]
        out.append(Case("LayerNorm", "LayerNorm", m,
                        [_norm_input(gen, lead + ns)], prod(ns), entry=entry))
    return out


def cases_group_norm():
    out = []
    for i in range(30):
        gen = Gen("GroupNorm/%d" % i)
        rank = [2, 3, 4, 5][i % 4]
        c = gen.choice([1, 2, 4, 6, 8, 12])
        divisors = [d for d in range(1, c + 1) if c % d == 0]
        g = [1, c, gen.choice(divisors)][i % 3]
        sp = rand_shape(gen, rank - 2, 1, {2: 1, 3: 9, 4: 6, 5: 4}[rank])
        n = gen.randint(1, 3)
        if n * (c // g) * prod(sp) == 1:
            n = 2  # PyTorch refuses one value per group and sample
        eps = gen.choice(EPS)
        m = nn.GroupNorm(g, c, eps=eps, affine=gen.coin(0.7))
        gen.randomize(m)
        x = _norm_input(gen, [n, c] + sp)
        out.append(Case("GroupNorm", "GroupNorm", m, [x],
                        c // g * prod(sp)))
    return out


def cases_layer_norm_functional():
    out = []
    for i in range(15):
        gen = Gen("op:layer_norm/%d" % i)
        nd = [1, 2, 3][i % 3]
        ns = rand_shape(gen, nd, 1, 6)
        lead = rand_shape(gen, gen.randint(0, 2), 1, 4)
        extra = i % 3  # 0: no weight, 1: weight, 2: weight and bias
        args = {"normalized_shape": ns}
        eps = gen.choice(EPS)
        if eps != 1e-5 or gen.coin():
            args["eps"] = eps
        names = ["x", "w", "b"][:1 + extra]
        inputs = [_norm_input(gen, lead + ns)] + \
            [gen.normal(ns) for _ in range(extra)]

        def fn(x, w=None, b=None, ns=tuple(ns), eps=eps):
            return F.layer_norm(x, ns, w, b, eps)
        out.append(op_case("op:layer_norm", "op:layer_norm", fn, names,
                           "layer_norm", args, inputs, prod(ns),
                           names=names))
    return out


class OwnParams(nn.Module):
    """A user module with nn.Parameter attributes used by forward steps."""

    def __init__(self, params, steps, body):
        super().__init__()
        for k, v in params.items():
            setattr(self, k, nn.Parameter(torch.zeros(v)))
        self.shapes = {k: list(v) for k, v in params.items()}
        self.steps = steps
        self.body = body

    def forward(self, x):
        return self.body(self, x)

    def entry(self):
        return {"type": "OwnParams", "parameters": self.shapes,
                "modules": {}, "forward": self.steps + [{"return": ["y"]}]}


def cases_own_parameters():
    out = []
    for i in range(12):
        gen = Gen("parameters/%d" % i)
        c = gen.randint(1, 6)
        sp = rand_shape(gen, 2, 1, 5)
        x = gen.normal([gen.randint(1, 2), c] + sp)
        kind = i % 4
        if kind == 0:  # per-channel scale and shift: x * scale + shift
            params = {"scale": [1, c, 1, 1], "shift": [c, 1, 1]}
            steps = [{"out": "h", "op": "mul", "in": ["x", "scale"]},
                     {"out": "y", "op": "add", "in": ["h", "shift"]}]

            def body(m, x):
                return x * m.scale + m.shift
        elif kind == 1:  # a 0-d parameter, on the left of a sub
            params = {"alpha": []}
            steps = [{"out": "y", "op": "sub", "in": ["alpha", "x"],
                      "alpha": 0.5}]

            def body(m, x):
                return torch.sub(m.alpha, x, alpha=0.5)
        elif kind == 2:  # LayerNorm over W with module-owned weight, bias
            w = sp[1]
            params = {"weight": [w], "bias": [w]}
            steps = [{"out": "y", "op": "layer_norm",
                      "in": ["x", "weight", "bias"],
                      "normalized_shape": [w], "eps": 1e-6}]

            def body(m, x, w=w):
                return F.layer_norm(x, (w,), m.weight, m.bias, 1e-6)
        else:  # a parameter used twice, and a division by another
            params = {"gamma": sp, "d": [c, 1, 1]}
            steps = [{"out": "h", "op": "mul", "in": ["gamma", "x"]},
                     {"out": "k", "op": "mul", "in": ["h", "gamma"]},
                     {"out": "y", "op": "div", "in": ["k", "d"]}]

            def body(m, x):
                return m.gamma * x * m.gamma / m.d
        m = OwnParams(params, steps, body)
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(gen.uniform_t(p.shape, -1.5, 1.5))
            if kind == 3:  # away from zero: a divisor
                m.d.copy_(m.d.sign() * (m.d.abs() + 0.5))
        out.append(Case("parameters", "parameters", m, [x],
                        sp[1] if kind == 2 else 1, entry=m.entry()))
    return out


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^(LayerNorm|GroupNorm|op:layer_norm|parameters)$", "norms_parameters"),
]

# The case generators of this family.
GENERATORS = [cases_layer_norm, cases_group_norm, cases_layer_norm_functional,
              cases_own_parameters]
