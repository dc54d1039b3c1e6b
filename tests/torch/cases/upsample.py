"""Differential cases: the Upsample layer and the functional interpolate,
nearest over 1 to 3 spatial dims and bilinear (align_corners true, false or
left to its default), with sizes and with scale factors (integers,
fractions such as 1.5, 0.5, 2.3, per-dim lists, downsampling) and
recompute_scale_factor."""

import torch.nn as nn
import torch.nn.functional as F

from cases.core import *  # noqa: F401,F403

SCALES = [2, 3, 2.0, 1.5, 0.5, 2.3, 1.1, 0.7, 0.33, 2.1, 1.0, 3.7, 0.9]


def _upsample_args(gen, sp, bilinear):
    """(size, scale_factor, recompute) for spatial sizes ``sp``: one of
    size and scale_factor, an integer / number or a per-dim list."""
    n = len(sp)
    while True:
        if gen.coin(0.45):
            size = [gen.randint(1, 13) for _ in range(n)]
            if gen.coin(0.3):
                size = size[0]
            return size, None, None
        scale = [gen.choice(SCALES) for _ in range(n)]
        if gen.coin(0.4):
            scale = scale[0]
        per = scale if isinstance(scale, list) else [scale] * n
        if all(int(s * f) >= 1 for s, f in zip(sp, per)):
            recompute = gen.choice([None, None, None, False, True])
            return None, scale, recompute


def _entry_args(size, scale, mode, align, recompute):
    d = {}
    if size is not None:
        d["size"] = size
    if scale is not None:
        d["scale_factor"] = scale
    if mode != "nearest":
        d["mode"] = mode
    if align is not None:
        d["align_corners"] = align
    if recompute is not None:
        d["recompute_scale_factor"] = recompute
    return d


def cases_upsample():
    out = []
    count = 0
    for mode, ranks, n_cases in (("nearest", (3, 4, 5), 36),
                                 ("bilinear", (4,), 30)):
        for i in range(n_cases):
            gen = Gen("Upsample/%s/%d" % (mode, i))
            rank = ranks[i % len(ranks)]
            sp = rand_shape(gen, rank - 2, 1, {3: 9, 4: 7, 5: 4}[rank])
            x = gen.normal([gen.randint(1, 2), gen.randint(1, 3)] + sp)
            size, scale, recompute = _upsample_args(gen, sp, mode != "nearest")
            align = None
            if mode == "bilinear":
                align = [None, False, True][i % 3]
            args = _entry_args(size, scale, mode, align, recompute)
            K = 4 if mode == "bilinear" else 1
            count += 1
            if count % 2:  # the layer
                tsize = tuple(size) if isinstance(size, list) else size
                tscale = tuple(scale) if isinstance(scale, list) else scale
                m = nn.Upsample(tsize, tscale, mode, align, recompute)
                entry = dict({"type": "Upsample"}, **args)
                out.append(Case("Upsample/" + mode, "Upsample/" + mode, m,
                                [x], K, entry=entry))
            else:  # the functional
                def fn(t, size=size, scale=scale, mode=mode, align=align,
                       recompute=recompute):
                    return F.interpolate(t, size, scale, mode, align,
                                         recompute)
                out.append(op_case("op:interpolate/" + mode,
                                   "op:interpolate/" + mode, fn, ["x"],
                                   "interpolate", args, [x], K))
    # PyTorch 1.13 runs another kernel when the input has one channel or
    # one pixel (it is channels-last contiguous too): nearest then copies a
    # dim whose size is unchanged and halves the index of one that doubles,
    # whatever the scale; bilinear sums corner weights in double.
    edges = [
        ("nearest", [1, 1, 6, 9], [1.1, 2.1]), ("nearest", [2, 3, 6, 9],
                                                [1.1, 2.1]),
        ("nearest", [1, 1, 5, 3, 9], [1.1, 2.1, 2.1]),
        ("nearest", [1, 2, 5, 1, 1], [2.1, 1.0, 1.5]),
        ("nearest", [2, 1, 9], 2.1),
        ("bilinear", [2, 1, 5, 7], [1.1, 2.3]),
        ("bilinear", [1, 4, 1, 1], [2.0, 3.0]),
        ("bilinear", [1, 3, 5, 7], [0.5, 2.3]),
    ]
    for i, (mode, shape, scale) in enumerate(edges):
        gen = Gen("Upsample/edge/%d" % i)
        x = gen.normal(shape)
        for align in ((None,) if mode == "nearest" else (False, True)):
            args = _entry_args(None, scale, mode, align, None)
            tscale = tuple(scale) if isinstance(scale, list) else scale
            m = nn.Upsample(None, tscale, mode, align)
            out.append(Case("Upsample/" + mode, "Upsample/" + mode, m, [x],
                            4 if mode == "bilinear" else 1,
                            entry=dict({"type": "Upsample"}, **args)))
    return out


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^(Upsample|op:interpolate)/nearest$", "upsample_nearest"),
    (r"^(Upsample|op:interpolate)/bilinear$", "upsample_bilinear"),
]

# The case generators of this family.
GENERATORS = [cases_upsample]
