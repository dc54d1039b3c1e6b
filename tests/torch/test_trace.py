#!/usr/bin/python3
"""Tests of the whole-module exporter (tools/kiln_export/kiln_export/trace.py).

Run: /usr/bin/python3 -m unittest discover -s tests/torch -p 'test_*.py'
  or /usr/bin/python3 tests/torch/test_trace.py
The tests that run models use the driver named by $KILN (default:
build/bin/kiln of this source tree) and are skipped when there is none.
They use `kiln run` only (no C++ compile), so the file runs in seconds.
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "kiln_export"))

from kiln_export import trace  # noqa: E402
from kiln_export import (ExportError, export, export_layer,  # noqa: E402
                         export_module, read_safetensors, reinit)

KILN = os.environ.get("KILN") or os.path.join(ROOT, "build", "bin", "kiln")
HAVE_KILN = os.access(KILN, os.X_OK)
LENET = "/work/shared/models/lenet"


# ---------------------------------------------------------------------------
# Modules


class LeNet(nn.Module):
    """/work/shared/models/lenet re-created as a PyTorch class."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(collections.OrderedDict([
            ("conv1", nn.Conv2d(3, 6, 5)),
            ("relu1", nn.ReLU(inplace=True)),
            ("pool1", nn.MaxPool2d(2, 2)),
            ("conv2", nn.Conv2d(6, 16, 5)),
            ("relu2", nn.ReLU(inplace=True)),
            ("pool2", nn.MaxPool2d(2, 2)),
        ]))
        self.classifier = nn.Sequential(collections.OrderedDict([
            ("fc1", nn.Linear(400, 120)),
            ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(120, 84)),
            ("relu4", nn.ReLU(inplace=True)),
            ("fc3", nn.Linear(84, 10)),
        ]))

    def forward(self, x):
        h = self.features(x)
        # a size query resolved from the traced shape: view(1, -1)
        f = h.view(h.size(0), -1)
        return self.classifier(f)


class Residual(nn.Module):
    def __init__(self, c=4):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.bn(self.conv(x)))


class TwoBlocks(nn.Module):
    """User modules inside a user module and a Sequential."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.blocks = nn.Sequential(Residual(), Residual())
        self.extra = Residual()
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        h = self.blocks(self.stem(x))
        h = self.extra(h) * 0.5
        h = torch.mean(h, dim=(2, 3))
        return torch.softmax(self.head(h), dim=1)


class Linears(nn.Module):
    def __init__(self, n=5):
        super().__init__()
        self.linears = nn.ModuleList([nn.Linear(6, 6) for _ in range(n)])

    def forward(self, x):
        for linear in self.linears:
            x = linear(x)
        return torch.tanh(x)


class PartialList(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(6, 6), nn.ReLU(),
                                     nn.Linear(6, 2)])

    def forward(self, x):
        return self.layers[2](self.layers[0](x))


class Choices(nn.Module):
    def __init__(self):
        super().__init__()
        self.choices = nn.ModuleDict({"conv": nn.Conv2d(3, 3, 3, padding=1),
                                      "pool": nn.MaxPool2d(3, 1, 1)})
        self.acts = nn.ModuleDict({"relu": nn.ReLU(), "prelu": nn.PReLU(3)})

    def forward(self, x):
        return self.acts["prelu"](self.choices["conv"](x))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 8)
        self.rnn = nn.LSTM(8, 8)

    def forward(self, x):
        return self.rnn(self.proj(x))[0]


class WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()

    def forward(self, x):
        return self.encoder(x)


class Pools(nn.Module):
    """Multi-output layer, functional pools, cat, size arithmetic."""

    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2, return_indices=True)

    def forward(self, x):
        v, idx = self.pool(x)
        a = F.max_pool2d(x, 2)
        b = F.avg_pool2d(x, 2)
        c = torch.cat([v, a, b], 1)
        c = F.adaptive_avg_pool2d(c, (1, 1))
        return c.reshape(x.shape[0], x.size(1) * 3)


class DenseLayer(nn.Module):
    """Called with a list of tensors, like torchvision's DenseNet layers."""

    def __init__(self, cin):
        super().__init__()
        self.conv = nn.Conv2d(cin, 2, 1)

    def forward(self, inputs, scale=None):
        h = self.conv(torch.cat(inputs, 1))
        if scale is not None:  # a default the caller leaves out
            h = h * scale
        return F.relu(h)


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = DenseLayer(2)
        self.l2 = DenseLayer(4)

    def forward(self, x):
        feats = [x]
        for layer in (self.l1, self.l2):
            feats.append(layer(feats))
        return torch.cat(feats, 1)


class InplaceHazard(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        h = self.conv(x)
        r = F.relu(h, inplace=True)
        return h - r


class AugAssignHazard(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        h = self.conv(x)
        y = h
        y += x          # fx records y + x; PyTorch also changes h
        return y * h


class UsesConv2dFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(3, 3, 1, 1))

    def forward(self, x):
        return F.conv2d(x, self.weight)


class ShapeOps(nn.Module):
    """Every PyTorch spelling of squeeze, unsqueeze, permute, transpose,
    chunk, split and matmul that the exporter maps (x: [2, 6, 4])."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 5))
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)                     # 2 x [2, 3, 4]
        parts = torch.chunk(x, 4, 1)                 # 3 pieces (6 / ceil 1.5)
        c = parts[0] + parts[2]                      # [2, 2, 4]
        s1, s2, s3 = torch.split(x, [1, 3, 2], dim=1)
        (t1,) = x.split(4, -1)                       # [2, 6, 4], one piece
        u = a.unsqueeze(0).squeeze()                 # [2, 3, 4]
        v0 = torch.squeeze(s1, 1)                    # [2, 4]
        v = v0 @ self.w                              # [2, 5]
        p = b.permute(0, 2, 1).contiguous()          # [2, 4, 3]
        q = torch.permute(p, (2, 0, 1))              # [3, 2, 4]
        r = torch.transpose(q, 0, -1).transpose(1, 2)  # [4, 3, 2]
        m = torch.matmul(u, p)                       # [2, 3, 3]
        n = torch.bmm(m, s2.transpose(1, 2).mT)      # [2, 3, 4]
        o = torch.mm(self.lin(v0).t(), v0).T         # [4, 4]
        d = torch.matmul(torch.mean(v0, 0), self.w)  # 1-D x 2-D: [5]
        e = x.swapaxes(0, 2).mT                      # [4, 2, 6]
        return (c, u, v, r, n + s2, o, e, t1.unsqueeze(-1),
                torch.matmul(d, d), torch.matmul(v0, torch.mean(v0, 0)), s3)


class NormsAndResize(nn.Module):
    """GroupNorm, LayerNorm, Upsample, F.interpolate (sizes, fractional
    scale factors, recompute_scale_factor), F.layer_norm with the module's
    own parameters, and parameters in arithmetic (x: [2, 4, 5, 6])."""

    def __init__(self):
        super().__init__()
        self.gn = nn.GroupNorm(2, 4)
        self.ln = nn.LayerNorm([5, 6], eps=1e-6)
        self.up = nn.Upsample(scale_factor=1.5, mode="bilinear")
        self.scale = nn.Parameter(torch.randn(1, 4, 1, 1))
        self.gamma = nn.Parameter(torch.randn(6))
        self.beta = nn.Parameter(torch.randn(6))

    def forward(self, x):
        h = self.gn(x) * self.scale
        h = self.ln(h) + h
        u = self.up(h)                                       # [2, 4, 7, 9]
        n = F.interpolate(u, size=(5, 6))                    # nearest
        m = F.interpolate(h, scale_factor=(2.1, 0.5), mode="nearest",
                          recompute_scale_factor=True)       # [2, 4, 10, 3]
        b = F.interpolate(m, (5, 6), mode="bilinear", align_corners=True)
        k = F.layer_norm(n, (6,), self.gamma, self.beta, 1e-4)
        return k + h + b


def convnext_pieces():
    """torchvision's LayerNorm2d and a CNBlock (layer_scale parameter,
    StochasticDepth), as ConvNeXt uses them."""
    from torchvision.models.convnext import CNBlock, LayerNorm2d
    return nn.Sequential(LayerNorm2d(8, eps=1e-6), CNBlock(8, 0.5, 0.1))


# ---------------------------------------------------------------------------
# Helpers


def canonical_forward(steps):
    """Steps with value names replaced by their order of definition, so
    that two forwards that differ only in value names compare equal."""
    names = {}

    def rn(v):
        if isinstance(v, str):
            if v not in names:
                names[v] = "v%d" % len(names)
            return names[v]
        return v

    out = []
    for st in steps:
        st = dict(st)
        if "in" in st:
            st["in"] = [rn(v) for v in st["in"]]
        if "out" in st:
            st["out"] = [rn(v) for v in st["out"]] if isinstance(
                st["out"], list) else rn(st["out"])
        if "return" in st:
            st["return"] = [rn(v) for v in st["return"]]
        out.append(st)
    return out


def layer_from_entry(entry):
    """The PyTorch layer a reference JSON entry describes (arguments not
    given take PyTorch's defaults, as the format says)."""
    args = {k: (tuple(v) if isinstance(v, list) else v)
            for k, v in entry.items() if k not in ("type", "name")}
    return getattr(nn, entry["type"])(**args)


class TraceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kiln_trace_test_")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers -------------------------------------------------------
    def kiln_run(self, path, inputs, outputs=("y",)):
        args = [KILN, "run", path]
        for n, x in inputs.items():
            f = os.path.join(self.dir, "in_%s.npy" % n)
            np.save(f, x)
            args += ["--input", "%s=%s" % (n, f)]
        for o in outputs:
            args += ["--output", "%s=%s" % (o, os.path.join(
                self.dir, "out_%s.npy" % o))]
        p = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        return [np.load(os.path.join(self.dir, "out_%s.npy" % o))
                for o in outputs]

    def export_and_run(self, module, shape, seed=0, sub="m"):
        reinit(module, seed)
        module.eval()
        out = os.path.join(self.dir, sub)
        path = export(module, [("x", shape)], out)
        with open(path) as f:
            model = json.load(f)
        if HAVE_KILN:
            x = np.random.RandomState(seed).standard_normal(shape).astype(
                np.float32)
            (got,) = self.kiln_run(path, {"x": x})
            with torch.no_grad():
                want = module(torch.from_numpy(x.copy())).numpy()
            self.assertEqual(got.shape, want.shape)
            np.testing.assert_allclose(got, want, rtol=0,
                                       atol=1e-5 * np.abs(want).max())
        return model

    def assertRefused(self, module, shape, *words):
        out = os.path.join(self.dir, "refused")
        with self.assertRaises(ExportError) as cm:
            export(module, [("x", shape)], out)
        msg = str(cm.exception)
        for w in words:
            self.assertIn(w, msg)
        self.assertFalse(os.path.exists(out), "files left behind")
        return msg

    # -- LeNet against the reference JSON -------------------------------
    def compare_tree(self, ref, got, where):
        self.assertEqual(ref["type"], got["type"], where)
        self.assertEqual(ref.get("name"), got.get("name"), where)
        if ref["type"] in ("Sequential", "ModuleList"):
            self.assertEqual(len(ref["layers"]), len(got["layers"]), where)
            for i, (a, b) in enumerate(zip(ref["layers"], got["layers"])):
                self.compare_tree(a, b, "%s.layers[%d]" % (where, i))
        elif "forward" in ref or ref["type"] == "ModuleDict":
            self.assertEqual(sorted(ref["modules"]), sorted(got["modules"]),
                             where)
            for k in ref["modules"]:
                self.compare_tree(ref["modules"][k], got["modules"][k],
                                  "%s.modules.%s" % (where, k))
            if "forward" in ref:
                self.assertEqual(canonical_forward(ref["forward"]),
                                 canonical_forward(got["forward"]), where)
        else:
            # A layer: the reference omits defaults and says "inplace";
            # ours writes every argument. Same layer iff the PyTorch layer
            # the reference describes exports to our entry.
            want = export_layer(layer_from_entry(ref))
            mine = {k: v for k, v in got.items() if k != "name"}
            self.assertEqual(json.loads(json.dumps(want)), mine, where)

    def test_lenet_same_tree_as_reference(self):
        with open(os.path.join(LENET, "model.json")) as f:
            ref = json.load(f)
        net = LeNet().eval()
        # the reference weights load with strict=True: same state_dict keys
        tensors, _ = read_safetensors(os.path.join(LENET,
                                                   "weights.safetensors"))
        net.load_state_dict({k: torch.from_numpy(v)
                             for k, v in tensors.items()}, strict=True)
        model, written = export_module(net, [("x", [1, 3, 32, 32])])
        self.assertEqual(sorted(written), sorted(tensors))
        self.assertEqual(model["name"], ref["name"])
        self.assertEqual(model["inputs"], ref["inputs"])
        self.compare_tree(ref["model"], model["model"], "model")
        # the view step is written exactly as in the reference
        self.assertIn({"op": "view", "shape": [1, -1]},
                      [{k: s[k] for k in ("op", "shape")}
                       for s in model["model"]["forward"] if "op" in s])
        if HAVE_KILN:
            path = export(net, [("x", [1, 3, 32, 32])],
                          os.path.join(self.dir, "lenet"))
            x = np.load(os.path.join(LENET, "input_x.npy"))
            (got,) = self.kiln_run(path, {"x": x})
            want = np.load(os.path.join(LENET, "expected_y.npy"))
            np.testing.assert_allclose(got, want, rtol=0,
                                       atol=1e-5 * np.abs(want).max())

    # -- user forwards ----------------------------------------------------
    def test_residual_block(self):
        model = self.export_and_run(Residual(), [2, 4, 6, 6], seed=1)
        fwd = model["model"]["forward"]
        self.assertEqual(model["model"]["type"], "Residual")
        self.assertEqual(sorted(model["model"]["modules"]), ["bn", "conv"])
        self.assertEqual([s.get("call") or s.get("op") for s in fwd[:-1]],
                         ["conv", "bn", "add", "relu"])
        add = fwd[2]
        self.assertEqual(add["in"][0], "x")
        self.assertEqual(add["alpha"], 1)
        self.assertEqual(fwd[-1], {"return": ["y"]})

    def test_nested_user_modules(self):
        model = self.export_and_run(TwoBlocks(), [1, 3, 5, 5], seed=2)
        blocks = model["model"]["modules"]["blocks"]
        self.assertEqual(blocks["type"], "Sequential")
        self.assertEqual([b["type"] for b in blocks["layers"]],
                         ["Residual", "Residual"])
        self.assertNotIn("name", blocks["layers"][0])  # index names
        self.assertEqual(blocks["layers"][0]["inputs"], ["x"])
        ops = [s for s in model["model"]["forward"] if "op" in s]
        self.assertIn({"op": "mul", "in": [ops[0]["in"][0], 0.5]},
                      [{k: s[k] for k in ("op", "in")} for s in ops])
        mean = [s for s in ops if s["op"] == "mean"][0]
        self.assertEqual((mean["dim"], mean["keepdim"]), ([2, 3], False))

    def test_module_list_loop(self):
        model = self.export_and_run(Linears(), [3, 6], seed=3)
        m = model["model"]
        self.assertEqual(m["modules"]["linears"]["type"], "ModuleList")
        self.assertEqual(len(m["modules"]["linears"]["layers"]), 5)
        # the loop over the whole list is one call of the list
        self.assertEqual(m["forward"][0]["call"], "linears")
        self.assertEqual(len(m["forward"]), 3)

    def test_module_list_elements(self):
        model = self.export_and_run(PartialList(), [3, 6], seed=4)
        calls = [s["call"] for s in model["model"]["forward"]
                 if "call" in s]
        self.assertEqual(calls, ["layers.0", "layers.2"])

    def test_module_dict_constant_key(self):
        model = self.export_and_run(Choices(), [1, 3, 6, 6], seed=5)
        m = model["model"]
        self.assertEqual(m["modules"]["choices"]["type"], "ModuleDict")
        self.assertEqual(sorted(m["modules"]["choices"]["modules"]),
                         ["conv", "pool"])
        calls = [s["call"] for s in m["forward"] if "call" in s]
        self.assertEqual(calls, ["choices.conv", "acts.prelu"])

    def test_list_argument_and_defaults(self):
        model = self.export_and_run(Dense(), [1, 2, 3, 3], seed=6)
        mods = model["model"]["modules"]
        self.assertEqual(mods["l1"]["inputs"], ["inputs_1"])
        self.assertEqual(mods["l2"]["inputs"], ["inputs_1", "inputs_2"])
        calls = [s for s in model["model"]["forward"] if "call" in s]
        self.assertEqual([len(c["in"]) for c in calls], [1, 2])

    def test_multi_output_and_sizes(self):
        model, _ = export_module(Pools().eval(), [("x", [2, 3, 8, 8])])
        fwd = model["model"]["forward"]
        self.assertEqual(fwd[0]["call"], "pool")
        self.assertEqual(len(fwd[0]["out"]), 2)
        ops = {s["op"]: s for s in fwd if "op" in s}
        self.assertEqual(ops["max_pool2d"]["stride"], 2)
        self.assertEqual(ops["cat"]["in"][0], fwd[0]["out"][0])
        self.assertEqual(ops["adaptive_avg_pool2d"]["output_size"], [1, 1])
        self.assertEqual(ops["reshape"]["shape"], [2, 9])

    def test_shape_ops_and_matmul(self):
        module = ShapeOps()
        reinit(module, 3)
        module.eval()
        path = export(module, [("x", [2, 6, 4])], os.path.join(self.dir, "s"))
        with open(path) as f:
            fwd = json.load(f)["model"]["forward"]
        ops = [st["op"] for st in fwd if "op" in st]
        for op in ("chunk", "split", "squeeze", "unsqueeze", "permute",
                   "transpose", "matmul"):
            self.assertIn(op, ops)
        chunks = [st for st in fwd if st.get("op") == "chunk"]
        self.assertEqual([len(st["out"]) for st in chunks], [2, 3])
        # x.t() of a 2-D value and x.T are transposes; contiguous is no step
        self.assertNotIn("contiguous", ops)
        outs = ["y%d" % i for i in range(11)]
        if not HAVE_KILN:
            return
        x = np.random.RandomState(3).standard_normal([2, 6, 4]).astype(
            np.float32)
        got = self.kiln_run(path, {"x": x}, outs)
        with torch.no_grad():
            want = module(torch.from_numpy(x.copy()))
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            w = w.numpy()
            self.assertEqual(g.shape, w.shape)
            np.testing.assert_allclose(g, w, rtol=0,
                                       atol=1e-5 * max(1, np.abs(w).max()))

    def test_norms_upsample_and_own_parameters(self):
        model = self.export_and_run(NormsAndResize(), [2, 4, 5, 6], seed=4)
        root = model["model"]
        self.assertEqual(root["parameters"], {"scale": [1, 4, 1, 1],
                                              "gamma": [6], "beta": [6]})
        mods = root["modules"]
        self.assertEqual(mods["gn"]["type"], "GroupNorm")
        self.assertEqual(mods["ln"]["normalized_shape"], [5, 6])
        self.assertEqual(mods["up"]["scale_factor"], 1.5)
        ops = [st for st in root["forward"] if "op" in st]
        interp = [st for st in ops if st["op"] == "interpolate"]
        self.assertEqual(len(interp), 3)
        self.assertTrue(interp[1]["recompute_scale_factor"])
        self.assertEqual(interp[1]["scale_factor"], [2.1, 0.5])
        ln = [st for st in ops if st["op"] == "layer_norm"][0]
        self.assertEqual(ln["in"][1:], ["gamma", "beta"])
        self.assertEqual(ln["normalized_shape"], [6])
        self.assertIn("scale", [e for st in ops if st["op"] == "mul"
                                for e in st["in"]])

    def test_convnext_layer_norm_2d_and_stochastic_depth(self):
        model = self.export_and_run(convnext_pieces(), [1, 8, 6, 5], seed=5)
        ln2d, block = model["model"]["layers"]
        # LayerNorm2d: permute, layer_norm with its own weight and bias,
        # permute back; the tensors keep their state_dict names.
        self.assertEqual(ln2d["type"], "LayerNorm2d")
        self.assertEqual(ln2d["parameters"], {"weight": [8], "bias": [8]})
        self.assertEqual([st.get("op") for st in ln2d["forward"][:-1]],
                         ["permute", "layer_norm", "permute"])
        self.assertEqual(block["parameters"], {"layer_scale": [8, 1, 1]})
        sd = block["modules"]["stochastic_depth"]
        self.assertEqual(sd["type"], "StochasticDepth")
        self.assertEqual(sd["forward"], [{"return": sd["inputs"]}])
        names = set(read_safetensors(os.path.join(self.dir, "m",
                                                  "model.safetensors"))[0])
        self.assertTrue({"0.weight", "0.bias", "1.layer_scale"} <= names)

    # -- refusals ---------------------------------------------------------
    def test_lstm_refused(self):
        msg = self.assertRefused(WithLSTM(), [5, 2, 4], "'encoder.rnn'",
                                 "LSTM")
        self.assertIn("nearest supported alternative", msg)

    def test_existing_output_kept_on_error(self):
        out = os.path.join(self.dir, "keep")
        export(Residual().eval(), [("x", [1, 4, 3, 3])], out)
        before = sorted(os.listdir(out))
        with open(os.path.join(out, "model.json")) as f:
            text = f.read()
        with self.assertRaises(ExportError):
            export(WithLSTM(), [("x", [5, 2, 4])], out)
        self.assertEqual(sorted(os.listdir(out)), before)
        with open(os.path.join(out, "model.json")) as f:
            self.assertEqual(f.read(), text)

    def test_bad_module_spec_is_an_error(self):
        bad = os.path.join(self.dir, "bad.py")
        with open(bad, "w") as f:
            f.write("import torch\nraise RuntimeError('broken on purpose')\n")
        for spec, words in (
                ("nosuch_pkg.models:Net", ["cannot import nosuch_pkg.models",
                                           "No module named"]),
                ("torch.nn:NoSuchLayer", ["torch.nn has no 'NoSuchLayer'"]),
                (bad + ":Net", ["running " + bad, "broken on purpose"]),
                ("no_colon", ["expected import.path:name"])):
            with self.assertRaises(ExportError) as cm:
                trace.load_module(spec)
            for w in words:
                self.assertIn(w, str(cm.exception))

    def test_function_refused(self):
        self.assertRefused(UsesConv2dFunction(), [1, 3, 4, 4], "(root)",
                           "UsesConv2dFunction", "conv2d", "nn.Conv2d")

    def test_inplace_hazards_refused(self):
        self.assertRefused(InplaceHazard(), [1, 3, 4, 4], "in place")
        self.assertRefused(AugAssignHazard(), [1, 3, 4, 4],
                           "AugAssignHazard", "y += x")

    def test_control_flow_refused(self):
        class Branchy(nn.Module):
            def forward(self, x):
                if x.sum() > 0:
                    return x
                return -x
        self.assertRefused(Branchy(), [2, 2], "Branchy", "torch.fx")

    # -- the command -------------------------------------------------------
    @unittest.skipUnless(HAVE_KILN, "no kiln driver at " + KILN)
    def test_command_line_with_check(self):
        out = os.path.join(self.dir, "cli")
        p = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tools", "kiln_export",
                                          "kiln-export"),
             os.path.abspath(__file__) + ":TwoBlocks", "--input",
             "x:1,3,5,5", "-o", out, "--seed", "7", "--check", KILN],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertIn("check passed", p.stdout.decode())
        self.assertEqual(sorted(os.listdir(out)),
                         ["model.json", "model.safetensors"])
        with open(os.path.join(out, "model.json")) as f:
            self.assertEqual(json.load(f)["name"], "twoblocks")
        tensors, _ = read_safetensors(os.path.join(out, "model.safetensors"))
        self.assertEqual(sorted(tensors), sorted(TwoBlocks().state_dict()))


if __name__ == "__main__":
    unittest.main()
