"""Differential cases: max / average pooling (ceil mode edges, indices), max unpooling, adaptive pooling."""

import torch.nn as nn

from cases.core import *  # noqa: F401,F403


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


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^MaxPool\dd/return_indices", "MaxPool_return_indices"),
    (r"^MaxUnpool", "MaxUnpool"),
    (r"^AdaptiveAvgPool\dd$", "AdaptiveAvgPool"),
    (r"^AdaptiveMaxPool\dd$", "AdaptiveMaxPool"),
    (r"^AdaptiveMaxPool\dd/return_indices", "AdaptiveMaxPool_return_indices"),
]

# The case generators of this family.
GENERATORS = [cases_pool, cases_unpool, cases_adaptive]
