"""Differential cases: functional ops (arithmetic with broadcasting, cat, reshapes, activations, softmax, mean, adaptive_avg_pool2d)."""

import torch
import torch.nn.functional as F

from cases.core import *  # noqa: F401,F403
from cases.layers import _act_shape
from cases.pool import _adaptive_K

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

    # mean and sum
    for op, reduce, count in (("mean", torch.mean, 16), ("sum", torch.sum, 12)):
        for i in range(count):
            gen = Gen("op:%s/%d" % (op, i))
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
                fn = (lambda r: lambda t: r(t))(reduce)
            else:
                dl = dims if isinstance(dims, list) else [dims]
                K = prod(s[d] for d in dl)
                fn = (lambda r, d, k: lambda t: r(t, d, keepdim=k))(
                    reduce, dims if isinstance(dims, int) else tuple(dims),
                    keep)
            out.append(op_case("op:" + op, "op:reduce", fn, ["x"], op, args,
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


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^op:(add|sub|mul|div)$", "op_arithmetic"),
    (r"^op:(shape|cat)$", "op_shape_cat"),
    (r"^op:(act|softmax)$", "op_activations"),
    (r"^op:(reduce|adaptive_avg_pool2d)$", "op_reductions"),
]

# The case generators of this family.
GENERATORS = [cases_ops]
