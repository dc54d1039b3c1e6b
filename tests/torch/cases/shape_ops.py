"""Differential cases: the functional ops that rearrange or cut tensors
(squeeze, unsqueeze, permute, transpose, chunk, split) and matmul, over
every rank PyTorch allows (0 to 5, and 6 for the permutations), negative
dims, and the outputs chunk and split give as several values."""

import numpy as np
import torch
import torch.nn as nn

from cases.core import Case, Gen, op_case, prod, rand_shape


class MultiOpCase(nn.Module):
    """A functional op with several results as the forward step of a child
    user module (the step's ``out`` lists one name per PyTorch output)."""

    def __init__(self, fn, op, args, n_out):
        super().__init__()
        self.fn = fn
        self.outs = ["y%d" % j for j in range(n_out)]
        self.step = dict({"out": self.outs, "op": op, "in": ["x"]}, **args)

    def forward(self, x):
        return tuple(self.fn(x))

    def entry(self):
        return {"type": "MultiOpCase", "modules": {},
                "forward": [self.step, {"return": list(self.outs)}]}


def _multi_case(family, group, fn, op, args, x, n_out):
    m = MultiOpCase(fn, op, args, n_out)
    return Case(family, group, m, [x], 1, entry=m.entry(), n_out=n_out)


def _normal(gen, shape):
    """Seeded normal values; a 0-d array for shape [] (the generator's
    normal() gives a scalar there)."""
    return np.asarray(gen.normal(list(shape)), dtype=np.float32).reshape(
        shape)


def _shape_with_ones(gen, rank, p_one=0.4, hi=5):
    return [1 if gen.coin(p_one) else gen.randint(2, hi) for _ in range(rank)]


def _dim(gen, rank, extra=0):
    """A dim of a tensor of rank `rank` (+ extra for unsqueeze), negative
    half the time (0-d tensors take -1 and 0)."""
    r = max(rank + extra, 1)
    d = gen.randint(0, r - 1)
    return d - r if gen.coin() else d


def cases_views():
    out = []
    # squeeze without dim: every size-1 dim goes (none, some, all)
    for rank in range(0, 6):
        for i in range(3):
            gen = Gen("op:squeeze/all/%d/%d" % (rank, i))
            s = _shape_with_ones(gen, rank, p_one=[0.0, 0.5, 1.0][i])
            out.append(op_case("op:squeeze", "op:view", torch.squeeze, ["x"],
                               "squeeze", {}, [_normal(gen, s)], 1))
    # squeeze(dim): a size-1 dim goes; any other size is a no-op
    for rank in range(0, 6):
        for i in range(3):
            gen = Gen("op:squeeze/dim/%d/%d" % (rank, i))
            s = _shape_with_ones(gen, rank)
            d = _dim(gen, rank)
            if rank and i == 0:
                s[d] = 1
            elif rank and i == 1:
                s[d] = gen.randint(2, 4)
            fn = (lambda d: lambda t: torch.squeeze(t, d))(d)
            out.append(op_case("op:squeeze", "op:view", fn, ["x"], "squeeze",
                               {"dim": d}, [_normal(gen, s)], 1))
    # squeeze with a list of dims (PyTorch 2's tuple form; the reference
    # squeezes them one at a time, from the last)
    for rank in range(1, 6):
        gen = Gen("op:squeeze/list/%d" % rank)
        s = _shape_with_ones(gen, rank, p_one=0.6)
        k = gen.randint(1, rank)
        dims = [int(d) for d in gen.rng.permutation(rank)[:k]]
        pos = sorted(dims, reverse=True)
        dims = [d - rank if gen.coin() else d for d in dims]
        fn = (lambda pos: lambda t: _squeeze_each(t, pos))(pos)
        out.append(op_case("op:squeeze", "op:view", fn, ["x"], "squeeze",
                           {"dim": dims}, [_normal(gen, s)], 1))
    # unsqueeze at every position, ranks 0 to 5
    for rank in range(0, 6):
        for i in range(2):
            gen = Gen("op:unsqueeze/%d/%d" % (rank, i))
            s = _shape_with_ones(gen, rank, p_one=0.2)
            d = _dim(gen, rank, extra=1)
            fn = (lambda d: lambda t: torch.unsqueeze(t, d))(d)
            out.append(op_case("op:unsqueeze", "op:view", fn, ["x"],
                               "unsqueeze", {"dim": d}, [_normal(gen, s)], 1))
    return out


def _squeeze_each(t, dims):
    for d in dims:
        t = torch.squeeze(t, d)
    return t


def cases_permutations():
    out = []
    # permute: random permutations of ranks 0 to 6 (negative entries too),
    # the identity, and permutations that only move size-1 dims (a view)
    for rank in range(0, 7):
        for i in range(4 if rank > 1 else 1):
            gen = Gen("op:permute/%d/%d" % (rank, i))
            if i == 3:  # only size-1 dims move
                s = _shape_with_ones(gen, rank, p_one=0.5)
                ones = [d for d in range(rank) if s[d] == 1]
                perm = list(range(rank))
                if len(ones) >= 2:
                    a, b = ones[0], ones[-1]
                    perm[a], perm[b] = perm[b], perm[a]
                elif ones:
                    s[0], s[-1] = 1, 1
                    perm[0], perm[-1] = perm[-1], perm[0]
            else:
                s = _shape_with_ones(gen, rank, p_one=0.2, hi=5 if rank < 5
                                     else 3)
                perm = list(range(rank)) if i == 2 else \
                    [int(d) for d in gen.rng.permutation(rank)]
            dims = [d - rank if gen.coin(0.3) else d for d in perm]
            fn = (lambda p: lambda t: t.permute(*p) if p else t.permute(()))(
                dims)
            out.append(op_case("op:permute", "op:permute", fn, ["x"],
                               "permute", {"dims": dims}, [_normal(gen, s)],
                               1))
    # transpose: every rank 0 to 5, equal and negative dims
    for rank in range(0, 6):
        for i in range(3 if rank > 1 else 2):
            gen = Gen("op:transpose/%d/%d" % (rank, i))
            s = _shape_with_ones(gen, rank, p_one=0.15)
            a, b = _dim(gen, rank), _dim(gen, rank)
            fn = (lambda a, b: lambda t: torch.transpose(t, a, b))(a, b)
            out.append(op_case("op:transpose", "op:permute", fn, ["x"],
                               "transpose", {"dim0": a, "dim1": b},
                               [_normal(gen, s)], 1))
    # a large 2-D transpose and a channel shuffle (ShuffleNet's view,
    # transpose(1, 2), view)
    gen = Gen("op:transpose/large")
    out.append(op_case("op:transpose", "op:permute",
                       lambda t: torch.transpose(t, 0, 1), ["x"], "transpose",
                       {"dim0": 0, "dim1": 1}, [_normal(gen, [67, 129])], 1))
    gen = Gen("op:transpose/shuffle")
    out.append(op_case("op:transpose", "op:permute",
                       lambda t: torch.transpose(t, 1, 2), ["x"], "transpose",
                       {"dim0": 1, "dim1": 2}, [_normal(gen, [2, 2, 6, 5, 7])],
                       1))
    return out


def _chunk_fn(chunks, dim):
    return lambda t: torch.chunk(t, chunks, dim)


def _split_fn(s, dim):
    return lambda t: torch.split(t, s, dim)


def cases_pieces():
    out = []
    # chunk: even and uneven sizes, fewer pieces than asked, more chunks
    # than elements, chunks=1, ranks 1 to 5, negative dims
    for i in range(16):
        gen = Gen("op:chunk/%d" % i)
        rank = 1 + i % 5
        s = rand_shape(gen, rank, 1, 4)
        d = _dim(gen, rank)
        s[d] = gen.randint(1, 11)
        chunks = [1, 2, 3, 4, 5, 7, 12][i % 7]
        n_out = len(torch.chunk(torch.empty(s), chunks, d))
        args = {"chunks": chunks}
        if d != 0 or gen.coin():
            args["dim"] = d
        out.append(_multi_case("op:chunk", "op:pieces", _chunk_fn(chunks, d),
                               "chunk", args, _normal(gen, s), n_out))
    # split by size (the last piece shorter, a size above the dim's) and by
    # a list of sections
    for i in range(16):
        gen = Gen("op:split/%d" % i)
        rank = 1 + i % 5
        s = rand_shape(gen, rank, 1, 4)
        d = _dim(gen, rank)
        n = gen.randint(1, 10)
        s[d] = n
        if i % 2:
            arg = gen.randint(1, n + 2)
        else:
            cuts = sorted(set(int(c) for c in gen.rng.randint(1, n + 1,
                                                             gen.randint(0, 3))
                              if c < n))
            arg = [b - a for a, b in zip([0] + cuts, cuts + [n])]
        n_out = len(torch.split(torch.empty(s), arg, d))
        args = {"split_size_or_sections": arg}
        if d != 0 or gen.coin():
            args["dim"] = d
        out.append(_multi_case("op:split", "op:pieces", _split_fn(arg, d),
                               "split", args, _normal(gen, s), n_out))
    return out


# (shape of a, shape of b): every 1-D / 2-D combination, a 1-D operand
# against a batch, and batch dims broadcast on either side (up to 4).
MATMUL_SHAPES = [
    ([5], [5]), ([1], [1]), ([4], [4, 3]), ([3, 4], [4]), ([3, 4], [4, 6]),
    ([1, 7], [7, 1]), ([6, 1], [1, 5]),
    ([4], [2, 4, 3]), ([2, 3, 4], [4]), ([5], [2, 3, 5, 2]),
    ([2, 1, 3, 5], [5]), ([2, 3, 4], [4, 5]), ([3, 4], [2, 4, 5]),
    ([2, 3, 4], [2, 4, 5]), ([2, 1, 3, 4], [3, 4, 2]),
    ([1, 3, 2, 4], [2, 1, 4, 3]), ([2, 1, 2, 3, 4], [3, 1, 4, 2]),
    ([2, 1, 3, 1, 2, 3], [1, 2, 1, 2, 3, 2]), ([1, 16, 33], [33, 40]),
    ([3, 70], [70, 1]), ([2, 9, 17], [2, 17, 1]),
]


def cases_matmul():
    out = []
    for i, (sa, sb) in enumerate(MATMUL_SHAPES):
        gen = Gen("op:matmul/%d" % i)
        k = sa[-1]
        out.append(op_case("op:matmul", "op:matmul", torch.matmul,
                           ["a", "b"], "matmul", {},
                           [_normal(gen, sa), _normal(gen, sb)], k,
                           names=("a", "b")))
    return out


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^op:(view|permute)$", "op_views_permutations"),
    (r"^op:pieces$", "op_pieces"),
    (r"^op:matmul$", "op_matmul"),
]

# The case generators of this family.
GENERATORS = [cases_views, cases_permutations, cases_pieces, cases_matmul]
