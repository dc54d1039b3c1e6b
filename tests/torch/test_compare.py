#!/usr/bin/python3
"""Tests of the layer-by-layer comparison (kiln-export --compare,
tools/kiln_export/kiln_export/compare.py).

Run: /usr/bin/python3 -m unittest discover -s tests/torch -p 'test_*.py'
  or /usr/bin/python3 tests/torch/test_compare.py
Uses the driver named by $KILN (default: build/bin/kiln of this source tree;
the tests are skipped when there is none) through `kiln run --dump-values`.
A model that agrees, models with one corrupted weight, layer argument or
functional step (the first divergence must be exactly that value, the later
ones listed after it), and the error paths.
"""

import json
import os
import re
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

from kiln_export import export, read_safetensors  # noqa: E402
from kiln_export import write_safetensors  # noqa: E402
from kiln_export.compare import CompareError, compare  # noqa: E402
from kiln_export.trace import build_module  # noqa: E402

sys.path.insert(0, HERE)
from test_trace import LeNet  # noqa: E402,F401 (the course LeNet)

KILN = os.environ.get("KILN") or os.path.join(ROOT, "build", "bin", "kiln")
HAVE_KILN = os.access(KILN, os.X_OK)
EXPORTER = os.path.join(ROOT, "tools", "kiln_export", "kiln-export")
THIS = os.path.abspath(__file__)
SEED = 5


LENET_ROWS = ["features.conv1", "features.relu1", "features.pool1",
              "features.conv2", "features.relu2", "features.pool2",
              "forward[1]", "classifier.fc1", "classifier.relu3",
              "classifier.fc2", "classifier.relu4", "classifier.fc3"]


class Block(nn.Module):
    """Functional steps (add, relu, mul by a number) and one layer called
    three times, twice in a row."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.LeakyReLU(0.1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        h = self.act(self.conv(x))
        y = self.act(self.act(self.conv2(h)))
        return F.relu(y + h) * 0.5


class Net(nn.Module):
    """User modules in a Sequential, max-pool indices (an int32 value),
    MaxUnpool, a reduction, one Linear called twice, softmax."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        h = self.blocks(self.stem(x))
        p, i = self.pool(h)
        m = torch.mean(self.unpool(p, i) + h, dim=[2, 3])
        return self.fc(m), self.fc(m).softmax(-1)


NET_ROWS = (["stem"] +
            [r for b in ("blocks.0", "blocks.1") for r in (
                b + ".conv", b + ".act", b + ".conv2", b + ".act (call 2)",
                b + ".act (call 3)", b + ".forward[5]", b + ".forward[6]",
                b + ".forward[7]")] +
            ["pool[0]", "pool[1]", "unpool", "forward[4]", "forward[5]",
             "fc", "fc (call 2)", "forward[8]"])


def table_rows(text):
    """(label, ratio, mark) of each row of a printed comparison."""
    rows = []
    lines = text.splitlines()
    start = [i for i, l in enumerate(lines) if l.startswith("---")][0] + 1
    for line in lines[start:]:
        if not line.strip():
            break
        m = re.match(r"^(.*?)\s{2,}(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
                     r"(?:\s+(.*))?$", line)
        rows.append((m.group(1), float(m.group(6)), m.group(7) or ""))
    return rows


@unittest.skipUnless(HAVE_KILN, "no kiln driver at " + KILN)
class CompareTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kiln_compare_test_")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_cli(self, *args):
        p = subprocess.run([sys.executable, EXPORTER] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, KILN=KILN))
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def export(self, cls, shape, sub):
        """The module of this file's class ``cls`` with kiln-export's
        weights for SEED, and its export in DIR/sub."""
        module = build_module(THIS + ":" + cls, {}, SEED)
        path = export(module, [("x", shape)], os.path.join(self.dir, sub))
        return module, path

    def edit_json(self, path, edit):
        with open(path) as f:
            model = json.load(f)
        edit(model["model"])
        with open(path, "w") as f:
            json.dump(model, f)

    # -- agreement ---------------------------------------------------------
    def test_lenet_agrees_command_line(self):
        out = os.path.join(self.dir, "lenet")
        code, text, err = self.run_cli(THIS + ":LeNet", "--input",
                                       "x:1,3,32,32", "-o", out, "--seed",
                                       str(SEED))
        self.assertEqual(code, 0, err)
        code, text, err = self.run_cli(
            THIS + ":LeNet", "--compare", os.path.join(out, "model.json"),
            "--input", "x:1,3,32,32", "--seed", str(SEED))
        self.assertEqual(code, 0, text + err)
        rows = table_rows(text)
        self.assertEqual([r[0] for r in rows], LENET_ROWS)
        for label, ratio, mark in rows:
            self.assertLess(ratio, 1.0, label)
            self.assertEqual(mark, "", label)
        self.assertIn("all 12 compared values within tolerance", text)

    def test_nested_steps_repeated_calls_and_indices_agree(self):
        module, path = self.export("Net", [2, 3, 8, 8], "net")
        keep = os.path.join(self.dir, "values")
        report = compare(module, path, kiln=KILN, seed=SEED, dump_dir=keep)
        self.assertEqual([r.label for r in report.rows], NET_ROWS)
        self.assertFalse(report.diverges)
        for r in report.rows:
            self.assertEqual(r.status, "ok", (r.label, r.note))
            self.assertLess(r.ratio, 1.0, r.label)
        kinds = {r.label: r.kind for r in report.rows}
        self.assertEqual(kinds["blocks.1.forward[5]"], "add")
        self.assertEqual(kinds["blocks.1.act (call 3)"], "LeakyReLU")
        # the indices are compared exactly (int32 in Kiln's dump)
        idx = report.rows[NET_ROWS.index("pool[1]")]
        self.assertEqual((idx.abs, idx.tol), (0.0, 0.0))
        with open(os.path.join(keep, "index.json")) as f:
            index = json.load(f)
        dtypes = {v["name"]: v["dtype"] for v in index["values"]}
        self.assertEqual(dtypes["pool.1"], "int32")
        self.assertEqual(np.load(os.path.join(keep, "pool.1.npy")).dtype,
                         np.int32)

    # -- divergence ----------------------------------------------------------
    def test_corrupted_weight_is_the_first_divergence(self):
        module, path = self.export("LeNet", [1, 3, 32, 32], "lenet")
        wfile = os.path.join(os.path.dirname(path), "model.safetensors")
        tensors, meta = read_safetensors(wfile)
        w = np.array(tensors["features.conv2.weight"])
        w[3, 2, 1, 1] += 0.5
        tensors["features.conv2.weight"] = w
        write_safetensors(wfile, tensors, meta)
        code, text, err = self.run_cli(THIS + ":LeNet", "--compare", path,
                                       "--seed", str(SEED))
        self.assertEqual(code, 1, text + err)
        rows = table_rows(text)
        self.assertEqual([r[0] for r in rows], LENET_ROWS)
        at = LENET_ROWS.index("features.conv2")
        for label, ratio, mark in rows[:at]:
            self.assertLess(ratio, 1.0, label)
        self.assertEqual(rows[at][2], "<< first divergence")
        self.assertGreater(rows[at][1], 1.0)
        for label, ratio, mark in rows[at + 1:]:  # listed after it
            self.assertEqual(mark, "!", label)
        self.assertIn("first divergence: features.conv2 (Conv2d, "
                      "model.modules.features.layers[3])", text)
        self.assertIn("tensor features.conv2.weight differs from PyTorch's "
                      "in 1 of 2400 elements", text)

    def test_corrupted_layer_argument_is_the_first_divergence(self):
        module, path = self.export("Net", [2, 3, 8, 8], "net")

        def slope(m):
            act = m["modules"]["blocks"]["layers"][1]["modules"]["act"]
            self.assertEqual(act["negative_slope"], 0.1)
            act["negative_slope"] = 0.3
        self.edit_json(path, slope)
        report = compare(module, path, kiln=KILN, seed=SEED)
        self.assertTrue(report.diverges)
        self.assertEqual(report.first.label, "blocks.1.act")
        at = report.rows.index(report.first)
        self.assertEqual([r.status for r in report.rows[:at]],
                         ["ok"] * at)
        self.assertEqual(report.rows[at + 1].label, "blocks.1.conv2")
        self.assertEqual(report.rows[-1].status, "DIVERGES")
        self.assertTrue(any("negative_slope is 0.3; kiln-export writes 0.1"
                            in h for h in report.hints), report.hints)

    def test_corrupted_functional_step_is_the_first_divergence(self):
        module, path = self.export("Net", [2, 3, 8, 8], "net")
        where = []

        def half(m):
            fwd = m["modules"]["blocks"]["layers"][0]["forward"]
            i = [k for k, s in enumerate(fwd) if s.get("op") == "mul"][0]
            self.assertEqual(fwd[i]["in"][1], 0.5)
            fwd[i]["in"][1] = 0.25
            where.append(i)
        self.edit_json(path, half)
        report = compare(module, path, kiln=KILN, seed=SEED)
        self.assertTrue(report.diverges)
        self.assertEqual(report.first.label,
                         "blocks.0.forward[%d]" % where[0])
        self.assertEqual(report.first.kind, "mul")
        self.assertEqual(report.first.location,
                         "model.modules.blocks.layers[0].forward[%d]"
                         % where[0])
        at = report.rows.index(report.first)
        self.assertEqual([r.status for r in report.rows[:at]], ["ok"] * at)
        self.assertTrue(any("in has numbers [None, 0.25]" in h
                            for h in report.hints), report.hints)

    def test_input_file_and_kept_values(self):
        module, path = self.export("LeNet", [1, 3, 32, 32], "lenet")
        x = np.random.RandomState(1).standard_normal((1, 3, 32, 32)).astype(
            np.float32)
        xfile = os.path.join(self.dir, "x.npy")
        np.save(xfile, x)
        keep = os.path.join(self.dir, "values")
        code, text, err = self.run_cli(
            THIS + ":LeNet", "--compare", path, "--seed", str(SEED),
            "--input", "x=" + xfile, "--keep-values", keep, "--rtol", "1e-5")
        self.assertEqual(code, 0, text + err)
        np.testing.assert_array_equal(np.load(os.path.join(keep, "x.npy")), x)
        with torch.no_grad():
            y = module(torch.from_numpy(x)).numpy()
        got = np.load(os.path.join(keep, "classifier.fc3.npy"))
        np.testing.assert_allclose(got, y, rtol=0,
                                   atol=1e-5 * np.abs(y).max())
        self.assertIn("tolerance = 0 + 1e-05 * max|torch32|", text)

    # -- errors ------------------------------------------------------------
    def test_errors_command_line(self):
        missing = os.path.join(self.dir, "nowhere", "model.json")
        code, text, err = self.run_cli(THIS + ":LeNet", "--compare", missing)
        self.assertEqual(code, 2)
        self.assertEqual(text, "")
        self.assertTrue(err.startswith("kiln-export: error: cannot read the "
                                       "model " + missing), err)
        self.assertNotIn("Traceback", err)
        nofile = os.path.join(self.dir, "nofile.py")
        code, text, err = self.run_cli(nofile + ":LeNet", "--compare",
                                       missing)
        self.assertEqual(code, 2)
        self.assertIn("kiln-export: error: MODULE_SPEC", err)
        self.assertIn("no file " + nofile, err)
        self.assertNotIn("Traceback", err)

    def test_errors(self):
        module, path = self.export("LeNet", [1, 3, 32, 32], "lenet")
        with self.assertRaisesRegex(CompareError, "has no input named 'y'"):
            compare(module, path, {"y": [1, 3, 32, 32]}, kiln=KILN)
        with self.assertRaisesRegex(CompareError, r"--input x: shape "
                                    r"\[1, 3, 16, 16\], .* declares "
                                    r"\[1, 3, 32, 32\]"):
            compare(module, path, {"x": np.zeros((1, 3, 16, 16))},
                    kiln=KILN)
        bogus = os.path.join(self.dir, "no-kiln")
        with self.assertRaisesRegex(CompareError, "no such executable"):
            compare(module, path, kiln=bogus)
        # Kiln refusing the model: its message, located
        self.edit_json(path, lambda m: m["modules"]["features"]["layers"][0]
                       .update(kernel_size=4))
        with self.assertRaisesRegex(CompareError, r"kiln: error: .*"
                                    r"model\.safetensors: features\.conv1"
                                    r"\.weight: expected shape"):
            compare(module, path, kiln=KILN)


if __name__ == "__main__":
    unittest.main()
