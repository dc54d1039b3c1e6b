#!/usr/bin/python3
"""Unit tests of the exporter core (tools/kiln_export).

Run: /usr/bin/python3 -m unittest discover -s tests/torch -p 'test_*.py'
  or /usr/bin/python3 tests/torch/test_export_core.py
The tests that go through the compiler use the driver named by $KILN
(default: build/bin/kiln of this source tree); they are skipped when there
is none.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "kiln_export"))

from kiln_export import (SUPPORTED_TYPES, UnsupportedModuleError,  # noqa: E402
                         export_layer, make_model, read_safetensors,
                         state_dict_tensors, write_model, write_safetensors)
from kiln_export.safetensors_io import safetensors_bytes  # noqa: E402

KILN = os.environ.get("KILN") or os.path.join(ROOT, "build", "bin", "kiln")


def minimal_read(data):
    """An independent minimal safetensors reader (F32/F64/F16/I64 only):
    (header dict, data offset, name -> numpy array)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    types = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8"}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[base + b:base + e],
                               dtype=types[v["dtype"]]).reshape(v["shape"])
    return header, base, out


class SafetensorsTest(unittest.TestCase):
    def tensors(self):
        g = torch.Generator().manual_seed(1)
        return {
            "a.weight": torch.randn(3, 5, generator=g),
            "b": np.arange(7, dtype=np.float64) / 3,
            "half": torch.randn(2, 3, generator=g).half(),
            "bn.num_batches_tracked": torch.tensor(42, dtype=torch.int64),
            "scalar": np.float32(2.5) * np.ones((), np.float32),
            "odd": torch.randn(1, 1, 3, generator=g),  # 12 bytes: unaligned
            "transposed": torch.randn(4, 3, generator=g).t(),  # not contiguous
        }

    def test_layout(self):
        t = self.tensors()
        data = safetensors_bytes(t, {"format": "pt"})
        header, base, arrays = minimal_read(data)
        # header padded with spaces to a multiple of 8
        self.assertEqual(base % 8, 0)
        raw = data[8:base].decode("utf-8")
        self.assertTrue(raw.rstrip(" ").endswith("}"))  # padding: spaces
        self.assertLess(len(raw) - len(raw.rstrip(" ")), 8)
        self.assertEqual(header["__metadata__"], {"format": "pt"})
        # the data is covered with no holes, in order, to the end
        pos = 0
        for k in t:
            b, e = header[k]["data_offsets"]
            self.assertEqual(b, pos, k)
            pos = e
        self.assertEqual(base + pos, len(data))
        self.assertEqual(header["a.weight"]["dtype"], "F32")
        self.assertEqual(header["b"]["dtype"], "F64")
        self.assertEqual(header["half"]["dtype"], "F16")
        self.assertEqual(header["bn.num_batches_tracked"]["dtype"], "I64")
        self.assertEqual(header["bn.num_batches_tracked"]["shape"], [])
        for k, v in t.items():
            want = v.numpy() if hasattr(v, "numpy") else np.asarray(v)
            np.testing.assert_array_equal(arrays[k], want, err_msg=k)
            self.assertEqual(arrays[k].dtype, want.dtype, k)

    def test_round_trip_package_reader(self):
        t = self.tensors()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "w.safetensors")
            write_safetensors(p, t)
            back, meta = read_safetensors(p)
        self.assertIsNone(meta)
        self.assertEqual(list(back), list(t))
        for k, v in t.items():
            want = v.numpy() if hasattr(v, "numpy") else np.asarray(v)
            np.testing.assert_array_equal(back[k], want, err_msg=k)

    def test_bf16(self):
        x = torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16)
        back, _ = read_safetensors(safetensors_bytes({"x": x}))
        np.testing.assert_array_equal(back["x"], x.float().numpy())

    def test_empty_and_bad_metadata(self):
        back, meta = read_safetensors(safetensors_bytes({}))
        self.assertEqual(back, {})
        with self.assertRaises(TypeError):
            safetensors_bytes({}, {"n": 1})
        with self.assertRaises(ValueError):
            safetensors_bytes({"__metadata__": np.zeros(1, np.float32)})

    def test_reader_rejects_holes(self):
        data = bytearray(safetensors_bytes({"x": np.zeros(2, np.float32)}))
        with self.assertRaises(ValueError):
            read_safetensors(bytes(data) + b"\0\0\0\0")


# ---------------------------------------------------------------------------


def L(v):
    """Tuples to lists, like the exporter."""
    return json.loads(json.dumps(v))


# (module, expected entry): every type the format lists, non-default args.
EXPECTED = [
    (nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False,
               padding_mode="reflect"),
     {"in_channels": 4, "out_channels": 6, "kernel_size": [3], "stride": [2],
      "padding": [1], "dilation": [2], "groups": 2, "bias": False,
      "padding_mode": "reflect"}),
    (nn.Conv2d(3, 8, (3, 5), padding="same", dilation=(1, 2)),
     {"in_channels": 3, "out_channels": 8, "kernel_size": [3, 5],
      "stride": [1, 1], "padding": "same", "dilation": [1, 2], "groups": 1,
      "bias": True, "padding_mode": "zeros"}),
    (nn.Conv3d(2, 2, 3, padding="valid", groups=2, padding_mode="circular"),
     {"in_channels": 2, "out_channels": 2, "kernel_size": [3, 3, 3],
      "stride": [1, 1, 1], "padding": "valid", "dilation": [1, 1, 1],
      "groups": 2, "bias": True, "padding_mode": "circular"}),
    (nn.ConvTranspose1d(4, 2, 3, stride=3, padding=1, output_padding=2,
                        groups=2, bias=False, dilation=1),
     {"in_channels": 4, "out_channels": 2, "kernel_size": [3], "stride": [3],
      "padding": [1], "output_padding": [2], "groups": 2, "bias": False,
      "dilation": [1], "padding_mode": "zeros"}),
    (nn.ConvTranspose2d(3, 4, (2, 3), stride=(1, 2), output_padding=(0, 1)),
     {"in_channels": 3, "out_channels": 4, "kernel_size": [2, 3],
      "stride": [1, 2], "padding": [0, 0], "output_padding": [0, 1],
      "groups": 1, "bias": True, "dilation": [1, 1], "padding_mode": "zeros"}),
    (nn.ConvTranspose3d(2, 2, 2, dilation=2, output_padding=1),
     {"in_channels": 2, "out_channels": 2, "kernel_size": [2, 2, 2],
      "stride": [1, 1, 1], "padding": [0, 0, 0], "output_padding": [1, 1, 1],
      "groups": 1, "bias": True, "dilation": [2, 2, 2],
      "padding_mode": "zeros"}),
    (nn.MaxPool1d(3, stride=2, padding=1, dilation=2, return_indices=True,
                  ceil_mode=True),
     {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2,
      "return_indices": True, "ceil_mode": True}),
    (nn.MaxPool2d((2, 3)),
     {"kernel_size": [2, 3], "stride": [2, 3], "padding": 0, "dilation": 1,
      "return_indices": False, "ceil_mode": False}),
    (nn.MaxPool3d(2, stride=(1, 2, 1), padding=(0, 1, 1)),
     {"kernel_size": 2, "stride": [1, 2, 1], "padding": [0, 1, 1],
      "dilation": 1, "return_indices": False, "ceil_mode": False}),
    (nn.AvgPool1d(3, stride=1, padding=1, ceil_mode=True,
                  count_include_pad=False),
     {"kernel_size": [3], "stride": [1], "padding": [1], "ceil_mode": True,
      "count_include_pad": False}),
    (nn.AvgPool2d((2, 3), divisor_override=5),
     {"kernel_size": [2, 3], "stride": [2, 3], "padding": 0,
      "ceil_mode": False, "count_include_pad": True, "divisor_override": 5}),
    (nn.AvgPool3d(2, stride=1),
     {"kernel_size": 2, "stride": 1, "padding": 0, "ceil_mode": False,
      "count_include_pad": True, "divisor_override": None}),
    (nn.MaxUnpool1d(3, stride=2, padding=1),
     {"kernel_size": [3], "stride": [2], "padding": [1]}),
    (nn.MaxUnpool2d(2),
     {"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0]}),
    (nn.MaxUnpool3d((1, 2, 3), stride=1),
     {"kernel_size": [1, 2, 3], "stride": [1, 1, 1], "padding": [0, 0, 0]}),
    (nn.AdaptiveAvgPool1d(5), {"output_size": 5}),
    (nn.AdaptiveAvgPool2d((None, 3)), {"output_size": [None, 3]}),
    (nn.AdaptiveAvgPool3d(2), {"output_size": 2}),
    (nn.AdaptiveMaxPool1d(4, return_indices=True),
     {"output_size": 4, "return_indices": True}),
    (nn.AdaptiveMaxPool2d((3, None)),
     {"output_size": [3, None], "return_indices": False}),
    (nn.AdaptiveMaxPool3d((1, 2, 3)),
     {"output_size": [1, 2, 3], "return_indices": False}),
    (nn.Linear(7, 3, bias=False),
     {"in_features": 7, "out_features": 3, "bias": False}),
    (nn.BatchNorm1d(5, eps=1e-3, momentum=None, affine=False),
     {"num_features": 5, "eps": 1e-3, "momentum": None, "affine": False,
      "track_running_stats": True}),
    (nn.BatchNorm2d(4, momentum=0.3, track_running_stats=False),
     {"num_features": 4, "eps": 1e-5, "momentum": 0.3, "affine": True,
      "track_running_stats": False}),
    (nn.BatchNorm3d(2),
     {"num_features": 2, "eps": 1e-5, "momentum": 0.1, "affine": True,
      "track_running_stats": True}),
    (nn.ReLU(inplace=True), {}),
    (nn.ReLU6(), {}),
    (nn.LeakyReLU(0.2), {"negative_slope": 0.2}),
    (nn.PReLU(3, init=0.1), {"num_parameters": 3}),
    (nn.RReLU(0.1, 0.3), {"lower": 0.1, "upper": 0.3}),
    (nn.Sigmoid(), {}),
    (nn.Tanh(), {}),
    (nn.ELU(alpha=0.5), {"alpha": 0.5}),
    (nn.Hardtanh(-2.0, 3.0), {"min_val": -2.0, "max_val": 3.0}),
    (nn.Softmax(dim=-1), {"dim": -1}),
    (nn.LogSoftmax(dim=1), {"dim": 1}),
    (nn.Dropout(0.3), {"p": 0.3}),
    (nn.Dropout1d(0.2), {"p": 0.2}),
    (nn.Dropout2d(0.1), {"p": 0.1}),
    (nn.Dropout3d(), {"p": 0.5}),
    (nn.AlphaDropout(0.4), {"p": 0.4}),
    (nn.LocalResponseNorm(5, alpha=0.01, beta=0.5, k=2.0),
     {"size": 5, "alpha": 0.01, "beta": 0.5, "k": 2.0}),
    (nn.Flatten(0, -2), {"start_dim": 0, "end_dim": -2}),
    (nn.Identity(), {}),
    # the format's other layers
    (nn.SiLU(), {}),
    (nn.Hardswish(), {}),
    (nn.Hardsigmoid(), {}),
    (nn.GELU(approximate="tanh"), {"approximate": "tanh"}),
    (nn.Softplus(beta=2, threshold=10), {"beta": 2, "threshold": 10}),
    (nn.LayerNorm([4, 5], eps=1e-6, elementwise_affine=False),
     {"normalized_shape": [4, 5], "eps": 1e-6, "elementwise_affine": False}),
    (nn.GroupNorm(2, 6, affine=False),
     {"num_groups": 2, "num_channels": 6, "eps": 1e-5, "affine": False}),
    (nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=True),
     {"size": None, "scale_factor": 2.0, "mode": "bilinear",
      "align_corners": True}),
    (nn.Upsample(size=(4, 6)),
     {"size": [4, 6], "scale_factor": None, "mode": "nearest"}),
]

class ExportLayerTest(unittest.TestCase):
    def test_expected_entries(self):
        for m, args in EXPECTED:
            with self.subTest(type=type(m).__name__):
                entry = export_layer(m)
                want = dict({"type": type(m).__name__}, **L(args))
                self.assertEqual(L(entry), want)
                # JSON-ready: no tuples, dumps without a custom encoder
                self.assertEqual(json.loads(json.dumps(entry)), want)

    def test_every_listed_type_covered(self):
        listed = {
            "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
            "ConvTranspose2d", "ConvTranspose3d", "MaxPool1d", "MaxPool2d",
            "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxUnpool1d",
            "MaxUnpool2d", "MaxUnpool3d", "AdaptiveAvgPool1d",
            "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
            "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Linear", "BatchNorm1d",
            "BatchNorm2d", "BatchNorm3d", "ReLU", "ReLU6", "LeakyReLU",
            "PReLU", "RReLU", "Sigmoid", "Tanh", "ELU", "Hardtanh",
            "Softmax", "LogSoftmax", "Dropout", "Dropout1d", "Dropout2d",
            "Dropout3d", "AlphaDropout", "LocalResponseNorm", "Flatten",
            "Identity"}
        tested = {type(m).__name__ for m, _ in EXPECTED}
        self.assertEqual(listed - tested, set())
        self.assertEqual(listed - set(SUPPORTED_TYPES), set())
        self.assertEqual(set(SUPPORTED_TYPES) - tested, set())

    def test_rebuild_from_entry(self):
        """cls(**args) gives a module that exports to the same entry: every
        argument is under its PyTorch constructor name."""
        for m, _ in EXPECTED:
            with self.subTest(type=type(m).__name__):
                entry = export_layer(m)
                args = {k: (tuple(v) if isinstance(v, list) else v)
                        for k, v in entry.items() if k != "type"}
                rebuilt = type(m)(**args)
                self.assertEqual(export_layer(rebuilt), entry)

    def test_unsupported(self):
        class MyConv(nn.Conv2d):
            pass
        for m, name in ((nn.LSTM(3, 4), "LSTM"),
                        (nn.Sequential(nn.ReLU()), "Sequential"),
                        (MyConv(1, 1, 1), "MyConv"),
                        (nn.Softmax(), "Softmax"),
                        (nn.Upsample(scale_factor=2, mode="bicubic"),
                         "Upsample")):
            with self.subTest(type=name):
                with self.assertRaises(UnsupportedModuleError) as cm:
                    export_layer(m)
                self.assertIn(name, str(cm.exception))

    def test_state_dict_names(self):
        mods = {"fc": nn.Linear(3, 2), "bn": nn.BatchNorm1d(2),
                "act": nn.ReLU(), "p": nn.PReLU()}
        t = state_dict_tensors(mods)
        self.assertEqual(list(t), [
            "fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean",
            "bn.running_var", "bn.num_batches_tracked", "p.weight"])
        self.assertEqual(t["bn.num_batches_tracked"].dtype, torch.int64)


class ModelTest(unittest.TestCase):
    def test_make_model(self):
        m = make_model("tiny", [("x", (2, 3))], {"fc": {"type": "Identity"}},
                       [{"out": "y", "call": "fc", "in": ["x"]},
                        {"return": ["y"]}], "w.safetensors")
        self.assertEqual(m["kiln"], 1)
        self.assertEqual(m["inputs"], [{"name": "x", "shape": [2, 3],
                                        "dtype": "float32"}])
        self.assertEqual(m["weights"], "w.safetensors")
        self.assertEqual(m["model"]["forward"][-1], {"return": ["y"]})
        with self.assertRaises(ValueError):
            make_model("t", [("x", [1])], {}, [{"out": "y", "op": "relu",
                                               "in": ["x"]}])


@unittest.skipUnless(os.access(KILN, os.X_OK), "no kiln driver at " + KILN)
class ThroughKilnTest(unittest.TestCase):
    """Models written by the package, evaluated by `kiln run`."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kiln_export_test_")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def kiln_run(self, path, inputs):
        args = [KILN, "run", path]
        for n, x in inputs.items():
            f = os.path.join(self.dir, "in_%s.npy" % n)
            np.save(f, x)
            args += ["--input", "%s=%s" % (n, f)]
        out = os.path.join(self.dir, "y.npy")
        args += ["--output", "y=" + out]
        p = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        return np.load(out)

    def check(self, mods, forward, x, dtype=None):
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            for m in mods.values():
                for t in list(m.parameters()) + list(m.buffers()):
                    if t.is_floating_point():
                        t.copy_(torch.rand(t.shape, generator=g) + 0.5)
        entries = {k: export_layer(m) for k, m in mods.items()}
        steps = [{"out": "h%d" % i, "call": k, "in": ["x" if i == 0 else
                                                     "h%d" % (i - 1)]}
                 for i, k in enumerate(forward)]
        steps[-1]["out"] = "y"
        steps.append({"return": ["y"]})
        model = make_model("tiny", [("x", x.shape)], entries, steps,
                           "weights.safetensors")
        written = {}
        if dtype is not None:  # the weights in another dtype
            written = {k: (v.to(dtype) if v.is_floating_point() else v)
                       for k, v in state_dict_tensors(mods).items()}
            path = write_model(self.dir, model, tensors=written)
        else:
            path = write_model(self.dir, model, mods)
        got = self.kiln_run(path, {"x": x})
        with torch.no_grad():
            h = torch.from_numpy(x)
            for k in forward:
                m = mods[k].eval()
                if dtype is not None:  # what Kiln sees: rounded weights
                    m = m.to(dtype).float()
                h = m(h)
        want = h.numpy()
        self.assertEqual(got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5,
                                   atol=1e-5 * np.abs(want).max())
        return path

    def test_linear(self):
        x = np.random.RandomState(0).standard_normal((2, 5)).astype(np.float32)
        path = self.check({"fc": nn.Linear(5, 3)}, ["fc"], x)
        with open(path) as f:
            self.assertEqual(json.load(f)["model"]["modules"]["fc"],
                             {"type": "Linear", "in_features": 5,
                              "out_features": 3, "bias": True})

    def test_batchnorm_with_num_batches_tracked(self):
        x = np.random.RandomState(1).standard_normal((4, 6)).astype(np.float32)
        self.check({"fc": nn.Linear(6, 3), "bn": nn.BatchNorm1d(3),
                    "act": nn.ReLU()}, ["fc", "bn", "act"], x)

    def test_f64_and_f16_weights(self):
        x = np.random.RandomState(2).standard_normal((3, 4)).astype(np.float32)
        for dt in (torch.float64, torch.float16):
            with self.subTest(dtype=str(dt)):
                self.check({"fc": nn.Linear(4, 2)}, ["fc"], x, dtype=dt)


if __name__ == "__main__":
    unittest.main()
