"""Differential cases: fusion patterns the default pipeline rewrites
(BatchNorm folding, residual adds, activation epilogues) and negative cases
it must leave alone."""

import torch.nn as nn

from cases.core import *  # noqa: F401,F403


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


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [

]

# The case generators of this family.
GENERATORS = [cases_fusion]
