"""Differential cases: the functional forms not covered by the other
families: leaky_relu, relu6, hardtanh, elu, softplus, gelu(tanh),
log_softmax; the functional pools (max / avg 1-3d, adaptive max 1-3d,
adaptive avg 1d and 3d) with the arguments of their layers; dropout."""

import torch.nn.functional as F

from cases.core import *  # noqa: F401,F403
from cases.layers import _act_shape
from cases.pool import AAVG, AMAX, _adaptive_K, gen_avgpool, gen_maxpool


def _json(v):
    """A layer attribute as JSON (tuples become lists)."""
    return list(v) if isinstance(v, tuple) else v


def _activation_cases():
    out = []
    acts = [
        ("leaky_relu", lambda g: {"negative_slope": g.choice(
            [0.01, 0.2, -0.3, 1.5])},
         lambda a: lambda t: F.leaky_relu(t, a["negative_slope"])),
        ("relu6", lambda g: {}, lambda a: F.relu6),
        ("hardtanh", lambda g: {"min_val": g.choice([-1.0, -0.5, -2.0]),
                                "max_val": g.choice([1.0, 0.75, 3.0])},
         lambda a: lambda t: F.hardtanh(t, a["min_val"], a["max_val"])),
        ("elu", lambda g: {"alpha": g.choice([1.0, 0.5, 2.0])},
         lambda a: lambda t: F.elu(t, a["alpha"])),
        ("softplus", lambda g: {"beta": g.choice([1.0, 2.0, 0.5]),
                                "threshold": g.choice([20.0, 2.0])},
         lambda a: lambda t: F.softplus(t, a["beta"], a["threshold"])),
        ("gelu", lambda g: {"approximate": "tanh"},
         lambda a: lambda t: F.gelu(t, approximate="tanh")),
    ]
    for op, make_args, make_fn in acts:
        for i in range(6):
            gen = Gen("op:%s/args/%d" % (op, i))
            args = make_args(gen)
            s = _act_shape(gen)
            out.append(op_case("op:" + op, "op:act_args", make_fn(args),
                               ["x"], op, args,
                               [gen.act_input(s, 4.0, (0.0, 6.0, -1.0))], 1))
    for i in range(8):
        gen = Gen("op:log_softmax/%d" % i)
        s = _act_shape(gen)
        dim = gen.randint(-len(s), len(s) - 1)
        fn = (lambda d: lambda t: F.log_softmax(t, d))(dim)
        out.append(op_case("op:log_softmax", "op:act_args", fn, ["x"],
                           "log_softmax", {"dim": dim},
                           [gen.normal(s, 4.0)], s[dim]))
    for i in range(8):
        gen = Gen("op:dropout/%d" % i)
        args = {"p": gen.choice([0.0, 0.25, 0.5])}
        if i % 2:
            args["training"] = False
        out.append(op_case("op:dropout", "op:act_args", lambda t: t, ["x"],
                           "dropout", args, [gen.normal(_act_shape(gen))], 1))
    return out


def _pool_case(op, x, K, args, fn):
    """A functional pool case; PyTorch may refuse a candidate (as for the
    layers), so the callers go through retry()."""
    return op_case("op:" + op, "op:pools", fn, ["x"], op, args, [x], K)


def _pool_cases():
    out = []
    for n in (1, 2, 3):
        op = "max_pool%dd" % n
        for i in range(6):
            def make(gen, n=n, op=op):
                m, (x,), K = gen_maxpool(gen, n)
                args = {"kernel_size": _json(m.kernel_size),
                        "stride": _json(m.stride),
                        "padding": _json(m.padding),
                        "dilation": _json(m.dilation),
                        "ceil_mode": m.ceil_mode}
                f = getattr(F, op)
                fn = (lambda a: lambda t: f(t, a["kernel_size"], a["stride"],
                                            a["padding"], a["dilation"],
                                            a["ceil_mode"]))(args)
                return _pool_case(op, x, K, args, fn)
            out.append(retry("op:%s/%d" % (op, i), make))
        op = "avg_pool%dd" % n
        for i in range(6):
            def make(gen, n=n, op=op):
                m, (x,), K = gen_avgpool(gen, n)
                args = {"kernel_size": _json(m.kernel_size),
                        "stride": _json(m.stride),
                        "padding": _json(m.padding),
                        "ceil_mode": m.ceil_mode,
                        "count_include_pad": m.count_include_pad}
                extra = []
                if n > 1:
                    args["divisor_override"] = m.divisor_override
                    extra = [m.divisor_override]
                f = getattr(F, op)
                fn = (lambda a, e: lambda t: f(
                    t, a["kernel_size"], a["stride"], a["padding"],
                    a["ceil_mode"], a["count_include_pad"], *e))(args, extra)
                return _pool_case(op, x, K, args, fn)
            out.append(retry("op:%s/%d" % (op, i), make))
        for kind, table in (("max", AMAX), ("avg", AAVG)):
            if kind == "avg" and n == 2:
                continue  # op:adaptive_avg_pool2d is in cases/ops.py
            op = "adaptive_%s_pool%dd" % (kind, n)
            for i in range(4):
                gen = Gen("op:%s/%d" % (op, i))
                sp = spatial(gen, n, 1, {1: 12, 2: 9, 3: 6}[n])
                osz = [gen.randint(1, v + 2) for v in sp]
                arg = osz[0] if n == 1 else osz
                K = prod(_adaptive_K(a, b) for a, b in zip(sp, osz))
                x = gen.normal(shape_with_batch(gen.batch(),
                                                gen.randint(1, 4), sp))
                f = getattr(F, op)
                fn = (lambda o, f: lambda t: f(
                    t, tuple(o) if isinstance(o, list) else o))(arg, f)
                out.append(op_case("op:" + op, "op:pools", fn, ["x"], op,
                                   {"output_size": arg}, [x], K))
    return out


def cases_functionals():
    return _activation_cases() + _pool_cases()


# Batches: case groups (regex on Case.group) compiled as one model.
BATCH_GROUPS = [
    (r"^op:act_args$", "op_functional_acts"),
    (r"^op:pools$", "op_functional_pools"),
]

# The case generators of this family.
GENERATORS = [cases_functionals]
