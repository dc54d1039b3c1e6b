"""Differential cases: Linear, activations, Dropouts, LocalResponseNorm, BatchNorm, Flatten, Identity."""

import numpy as np
import torch.nn as nn

from cases.core import *  # noqa: F401,F403


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


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^BatchNorm\dd$", "BatchNorm"),
    (r"^BatchNorm\dd/batch_stats", "BatchNorm_batch_stats"),
    (r"^(ReLU|ReLU6|LeakyReLU|PReLU|RReLU|Sigmoid|Tanh|ELU|Hardtanh)$",
     "activations"),
    (r"^(Softmax|LogSoftmax)$", "Softmax_LogSoftmax"),
    (r"^(Dropout|Flatten|Identity)$", "Dropout_Flatten_Identity"),
]

# The case generators of this family.
GENERATORS = [cases_linear, cases_activations, cases_dropout, cases_lrn, cases_batchnorm, cases_flatten_identity]
