#!/usr/bin/python3
"""Tests of kiln-export's saved-model inputs (tools/kiln_export/kiln_export/
saved.py and torchscript.py): a MODULE_SPEC that is a torch.save full-model
file or a TorchScript file (torch.jit.script and torch.jit.trace output).

Run: /usr/bin/python3 -m unittest discover -s tests/torch -p 'test_*.py'
  or /usr/bin/python3 tests/torch/test_saved_inputs.py
Each form is exported with the kiln-export command (in-process through
trace.main, one case through a real process), its JSON tree is compared with
the fx exporter's export of the same eager model (module names and types,
layer arguments, forward steps, weight names and values), and the model goes
through `kiln run` (the driver named by $KILN, default build/bin/kiln of this
tree; skipped when there is none) and is compared with the eager model in
float64: max|kiln - torch64| <= 4 * max|torch32 - torch64| + 1e-6 * max|y|
(tests/torch/zoo_check.py's rule). The refusals (a state_dict, corrupt files,
TorchScript the format cannot express) must exit non-zero with a clear
message and write nothing.
"""

import contextlib
import copy
import importlib
import importlib.util
import io
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
sys.path.insert(0, HERE)

from kiln_export import (export_module, read_safetensors,  # noqa: E402
                         reinit)
from kiln_export import trace  # noqa: E402
from test_trace import canonical_forward  # noqa: E402

KILN = os.environ.get("KILN") or os.path.join(ROOT, "build", "bin", "kiln")
HAVE_KILN = os.access(KILN, os.X_OK)
EXPORTER = os.path.join(ROOT, "tools", "kiln_export", "kiln-export")
THIS = os.path.abspath(__file__)


# ---------------------------------------------------------------------------
# Modules


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + x)


class SmallCNN(nn.Module):
    """A small CNN with a residual add, a scalar multiply and a flatten."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1),
                                  nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.block = ResBlock(8)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        h = self.pool(self.block(self.stem(x)) * 0.5)
        return self.head(torch.flatten(h, 1))


# The torch.save case, written to a module of its own (kiln_saved_net.py in
# the test's directory) so that the pickle names kiln_saved_net.SavedNet
# however this file is run: a view sized at run time and a loop over a
# ModuleList.
SAVED_NET = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class SavedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fcs = nn.ModuleList([nn.Linear(4 * 4 * 4, 16), nn.ReLU(),
                                  nn.Linear(16, 5)])

    def forward(self, x):
        h = F.max_pool2d(torch.tanh(self.conv(x)), 2)
        h = h.view(h.size(0), -1)
        for f in self.fcs:
            h = f(h)
        return torch.softmax(h, dim=1)
"""


class Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return torch.cumsum(self.fc(x), 1)


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return -x


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 4)

    def forward(self, x):
        return self.rnn(x)[0]


class WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Inner()

    def forward(self, x):
        return self.encoder(x)


# ---------------------------------------------------------------------------
# Helpers


def seeded(module, seed):
    reinit(module, seed)
    return module.eval()


def scalar_lists(v):
    """Layer arguments with lists of equal numbers written as the number
    (a traced MaxPool2d(3) shows kernel_size [3, 3])."""
    if isinstance(v, dict):
        return {k: scalar_lists(e) for k, e in v.items()}
    if isinstance(v, list) and v and all(
            isinstance(e, (int, float)) and e == v[0] for e in v):
        return v[0]
    return v


class SavedInputsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kiln_saved_test_")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers -------------------------------------------------------
    def path(self, name):
        return os.path.join(self.dir, name)

    def export_cli(self, spec, shape, *extra, out="out"):
        """kiln-export through trace.main in this process: (exit status,
        stderr, OUTDIR)."""
        outdir = self.path(out)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            rc = trace.main([spec, "--input",
                             "x:" + ",".join(map(str, shape)), "-o",
                             outdir] + list(extra))
        return rc, err.getvalue(), outdir

    def assertExported(self, spec, eager, shape, *extra, exact=True):
        """Export SPEC, compare its JSON and weights with the fx export of
        ``eager`` and its numbers with ``eager``."""
        rc, err, outdir = self.export_cli(spec, shape, *extra)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(outdir, "model.json")) as f:
            got = json.load(f)
        tensors, _ = read_safetensors(os.path.join(outdir,
                                                   "model.safetensors"))
        ref, _ = export_module(eager, [("x", shape)])
        self.assertEqual(got["name"], ref["name"])
        self.assertEqual(got["inputs"], ref["inputs"])
        self.assertSameTree(ref["model"], got["model"], "model", exact)
        sd = eager.state_dict()
        self.assertEqual(list(tensors), list(sd))  # names, in order
        for k, t in sd.items():
            self.assertTrue(np.array_equal(tensors[k], t.numpy()), k)
        self.assertKilnMatches(os.path.join(outdir, "model.json"), eager,
                               shape)
        return got

    def assertSameTree(self, ref, got, where, exact):
        self.assertEqual(ref["type"], got["type"], where)
        self.assertEqual(ref.get("name"), got.get("name"), where)
        if ref["type"] in ("Sequential", "ModuleList"):
            self.assertEqual(len(ref["layers"]), len(got["layers"]), where)
            for i, (a, b) in enumerate(zip(ref["layers"], got["layers"])):
                self.assertSameTree(a, b, "%s.layers[%d]" % (where, i),
                                    exact)
        elif "forward" in ref or ref["type"] == "ModuleDict":
            self.assertEqual(list(ref["modules"]), list(got["modules"]),
                             where)
            for k in ref["modules"]:
                self.assertSameTree(ref["modules"][k], got["modules"][k],
                                    "%s.modules.%s" % (where, k), exact)
            if "forward" in ref:
                self.assertEqual(len(ref.get("inputs", [])),
                                 len(got.get("inputs", [])), where)
                self.assertEqual(ref.get("parameters"),
                                 got.get("parameters"), where)
                self.assertEqual(canonical_forward(ref["forward"]),
                                 canonical_forward(got["forward"]), where)
        elif exact:
            self.assertEqual(ref, got, where)
        else:
            self.assertEqual(scalar_lists(ref), scalar_lists(got), where)

    def assertKilnMatches(self, json_path, eager, shape, seed=11):
        if not HAVE_KILN:
            return
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        xin = self.path("x.npy")
        yout = self.path("y.npy")
        np.save(xin, x.numpy())
        p = subprocess.run([KILN, "run", json_path, "--input", "x=" + xin,
                            "--output", "y=" + yout],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        got = np.load(yout).astype(np.float64)
        with torch.no_grad():
            y32 = eager(x.clone()).numpy().astype(np.float64)
            y64 = copy.deepcopy(eager).double()(x.double()).numpy()
        self.assertEqual(got.shape, y64.shape)
        err32 = float(np.abs(y32 - y64).max())
        ymax = float(np.abs(y64).max())
        tol = 4 * err32 + 1e-6 * ymax
        err = float(np.abs(got - y64).max())
        self.assertLessEqual(err, tol, "kiln vs float64 PyTorch: %.3g > "
                             "tolerance %.3g (torch float32 err %.3g, "
                             "max|y| %.3g)" % (err, tol, err32, ymax))

    def assertRefused(self, spec, shape, *words, extra=()):
        rc, err, outdir = self.export_cli(spec, shape, *extra, out="refused")
        self.assertEqual(rc, 1, err)
        self.assertTrue(err.startswith("kiln-export: error: "), err)
        self.assertNotIn("Traceback", err)
        for w in words:
            self.assertIn(w, err)
        self.assertFalse(os.path.exists(outdir), "output written: " + err)
        return err

    # -- torch.save(model, path) --------------------------------------------
    @unittest.skipUnless(HAVE_KILN, "no kiln driver at " + KILN)
    def test_torch_save_full_model_command(self):
        """A real process: the pickle names kiln_saved_net.SavedNet, whose
        directory --import-path gives; --check compares with the loaded
        model."""
        src = self.path("classes")
        os.mkdir(src)
        with open(os.path.join(src, "kiln_saved_net.py"), "w") as f:
            f.write(SAVED_NET)
        sys.path.insert(0, src)
        try:
            mod = importlib.import_module("kiln_saved_net")
            eager = seeded(mod.SavedNet(), 3)
            saved = self.path("net.pt")
            torch.save(eager, saved)
        finally:
            sys.path.remove(src)
            sys.modules.pop("kiln_saved_net", None)
        out = self.path("cli")
        p = subprocess.run(
            [sys.executable, EXPORTER, saved, "--import-path", src,
             "--input", "x:2,3,8,8", "-o", out, "--check", KILN],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertIn("check passed", p.stdout.decode())
        # the same file in this process: tree, weights, numbers
        try:
            self.assertExported(saved, eager, [2, 3, 8, 8], "--import-path",
                                src)
        finally:
            sys.modules.pop("kiln_saved_net", None)

    def test_torch_save_of_a_script_class(self):
        """A model saved by a script pickles its class as __main__.Net:
        --import-path script.py provides it."""
        script = self.path("kiln_saved_script.py")
        with open(script, "w") as f:
            f.write("import torch.nn as nn\n"
                    "class Net(nn.Module):\n"
                    "    def __init__(self):\n"
                    "        super().__init__()\n"
                    "        self.fc = nn.Linear(6, 3)\n"
                    "    def forward(self, x):\n"
                    "        return self.fc(x).sigmoid()\n")
        spec = importlib.util.spec_from_file_location("kiln_saved_tmp",
                                                      script)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        main = sys.modules["__main__"]
        mod.Net.__module__ = "__main__"
        setattr(main, "Net", mod.Net)
        try:
            net = seeded(mod.Net(), 2)
            saved = self.path("script_net.pth")
            torch.save(net, saved)
        finally:
            delattr(main, "Net")
        try:
            self.assertRefused(saved, [1, 6], "__main__.Net",
                               "--import-path")
            rc, err, outdir = self.export_cli(saved, [1, 6],
                                              "--import-path", script)
            self.assertEqual(rc, 0, err)
            tensors, _ = read_safetensors(os.path.join(outdir,
                                                       "model.safetensors"))
            self.assertEqual(sorted(tensors), ["fc.bias", "fc.weight"])
            self.assertTrue(np.array_equal(tensors["fc.weight"],
                                           net.fc.weight.detach().numpy()))
            self.assertFalse(hasattr(main, "Net"))  # put back as it was
        finally:
            sys.modules.pop("kiln_saved_script", None)

    # -- TorchScript --------------------------------------------------------
    def test_scripted_small_cnn(self):
        eager = seeded(SmallCNN(), 1)
        saved = self.path("cnn_script.pt")
        torch.jit.save(torch.jit.script(eager), saved)
        self.assertExported(saved, eager, [1, 3, 8, 8])

    def test_traced_small_cnn(self):
        eager = seeded(SmallCNN(), 1)
        saved = self.path("cnn_trace.ts")
        torch.jit.save(torch.jit.trace(eager, torch.randn(1, 3, 8, 8)),
                       saved)
        got = self.assertExported(saved, eager, [1, 3, 8, 8], exact=False)
        # traced layers keep no attributes: recovered from their aten call
        self.assertEqual(got["model"]["modules"]["stem"]["layers"][0],
                         {"type": "Conv2d", "in_channels": 3,
                          "out_channels": 8, "kernel_size": [3, 3],
                          "stride": [1, 1], "padding": [1, 1],
                          "dilation": [1, 1], "groups": 1, "bias": True,
                          "padding_mode": "zeros"})

    def test_resnet18_scripted_and_traced(self):
        import torchvision
        torch.manual_seed(0)
        eager = seeded(torchvision.models.resnet18(), 4)
        shape = [1, 3, 64, 64]
        for mode in ("script", "trace"):
            with self.subTest(mode=mode):
                saved = self.path("resnet18_%s.pt" % mode)
                sm = torch.jit.script(eager) if mode == "script" else \
                    torch.jit.trace(eager, torch.randn(shape))
                torch.jit.save(sm, saved)
                shutil.rmtree(self.path("out"), ignore_errors=True)
                self.assertExported(saved, eager, shape,
                                    exact=(mode == "script"))

    # -- refusals ------------------------------------------------------------
    def test_state_dict_refused(self):
        eager = seeded(SmallCNN(), 5)
        saved = self.path("weights.pt")
        torch.save(eager.state_dict(), saved)
        out = self.path("sd_out")
        p = subprocess.run(
            [sys.executable, EXPORTER, saved, "--input", "x:1,3,8,8", "-o",
             out], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0)
        for w in ("holds a state_dict", "stem.0.weight",
                  "import.path:constructor or file.py:Class",
                  "--load-weights " + saved):
            self.assertIn(w, err)
        self.assertNotIn("Traceback", err)
        self.assertFalse(os.path.exists(out))
        # ... and what the message says works: the module and the weights
        rc, err, outdir = self.export_cli(THIS + ":SmallCNN", [1, 3, 8, 8],
                                          "--load-weights", saved)
        self.assertEqual(rc, 0, err)
        tensors, _ = read_safetensors(os.path.join(outdir,
                                                   "model.safetensors"))
        for k, t in eager.state_dict().items():
            self.assertTrue(np.array_equal(tensors[k], t.numpy()), k)
        # a checkpoint dict holding a state_dict is named as such
        ckpt = self.path("ckpt.pth")
        torch.save({"epoch": 3, "model_state_dict": eager.state_dict()},
                   ckpt)
        self.assertRefused(ckpt, [1, 3, 8, 8], "'model_state_dict'",
                           "checkpoint", "--load-weights")

    def test_corrupt_files_refused(self):
        junk = self.path("junk.pt")
        with open(junk, "wb") as f:
            f.write(np.random.RandomState(0).bytes(4096))
        self.assertRefused(junk, [1, 3, 8, 8], junk,
                           "neither a TorchScript file")
        good = self.path("good.pt")
        torch.jit.save(torch.jit.script(seeded(SmallCNN(), 1)), good)
        with open(good, "rb") as f:
            data = f.read()
        cut = self.path("truncated.pt")
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2])
        self.assertRefused(cut, [1, 3, 8, 8], cut, "truncated or corrupt")
        pickled = self.path("broken_pickle.pt")
        with open(pickled, "wb") as f:
            f.write(b"\x80\x02" + b"\x00" * 64)
        self.assertRefused(pickled, [1, 3, 8, 8], pickled,
                           "cannot read", "torch.save")
        self.assertRefused(self.path("missing.pt"), [1, 3, 8, 8],
                           "no file")

    def test_torchscript_refusals(self):
        cases = [
            (torch.jit.script(seeded(Cumulative(), 0)), [2, 4],
             ["(root) (", "Cumulative, TorchScript)", "aten::cumsum",
              "nearest supported alternative"]),
            (torch.jit.script(seeded(Branchy(), 0)), [2, 4],
             ["Branchy", "data-dependent `if`", "prim::If",
              "nearest supported alternative"]),
            (torch.jit.script(seeded(WithLSTM(), 0)), [5, 2, 4],
             ["'encoder.rnn'", "LSTM", "nearest supported alternative"]),
            (torch.jit.trace(seeded(WithLSTM(), 0), torch.randn(5, 2, 4)),
             [5, 2, 4], ["'encoder.rnn'", "LSTM"]),
        ]
        for i, (sm, shape, words) in enumerate(cases):
            with self.subTest(case=i):
                saved = self.path("refused_%d.pt" % i)
                torch.jit.save(sm, saved)
                self.assertRefused(saved, shape, *words)

    def test_forms_told_apart(self):
        from kiln_export.saved import is_saved_spec
        self.assertTrue(is_saved_spec("model.pt"))
        self.assertTrue(is_saved_spec("dir/model.pth"))
        self.assertTrue(is_saved_spec("m.ts"))
        self.assertFalse(is_saved_spec("torchvision.models:resnet18"))
        self.assertFalse(is_saved_spec(THIS + ":SmallCNN"))
        self.assertFalse(is_saved_spec(THIS))
        # a file that exists is a saved model whatever its name
        odd = self.path("model.weights")
        torch.jit.save(torch.jit.script(seeded(Cumulative(), 0)), odd)
        self.assertTrue(is_saved_spec(odd))
        self.assertRefused(odd, [2, 4], "--kwargs",
                           extra=["--kwargs", '{"c": 1}'])


if __name__ == "__main__":
    unittest.main()
