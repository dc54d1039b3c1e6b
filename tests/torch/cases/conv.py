"""Differential cases: Conv1d/2d/3d and ConvTranspose1d/2d/3d, every argument."""

import torch.nn as nn

from cases.core import *  # noqa: F401,F403


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


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^Conv\dd/padding_mode", "Conv_padding_mode"),
    (r"^ConvTranspose\dd/output_size", "ConvTranspose_output_size"),
]

# The case generators of this family.
GENERATORS = [cases_conv, cases_conv_transpose]
