"""Unit tests of the examples' shared code: reference.differences /
weight_differences (the course LeNet's export is the reference LeNet, and
each kind of change to it is reported at its JSON path) and zoo.compare (the
float32 tolerance fails on a wrong value, a wrong shape, a NaN).

Run: /usr/bin/python3 -m unittest discover -s examples/common -p 'test_*.py'
"""

import copy
import importlib.util
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import numpy as np  # noqa: E402

from common import reference, zoo  # noqa: E402 (puts kiln_export on the path)
from kiln_export import export_module  # noqa: E402


def load_lenet_course():
    path = os.path.join(HERE, "..", "lenet_course", "model.py")
    spec = importlib.util.spec_from_file_location("lenet_course_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class ReferenceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        course = load_lenet_course()
        with open(os.path.join(course.default_reference(), "model.json")) as f:
            cls.ref = json.load(f)
        cls.ours, tensors = export_module(course.LeNet(), [("x", [1, 3, 32, 32])],
                                          "lenet")
        cls.tensors = {k: v.numpy() for k, v in tensors.items()}

    def diffs(self, edit=None, edit_ref=None):
        ours, ref = copy.deepcopy(self.ours), copy.deepcopy(self.ref)
        if edit:
            edit(ours)
        if edit_ref:
            edit_ref(ref)
        return reference.differences(ref, ours)

    def assertOneDiff(self, where, edit=None, edit_ref=None):
        d = self.diffs(edit, edit_ref)
        self.assertEqual(len(d), 1, d)
        self.assertTrue(d[0].startswith(where), d)

    def test_export_is_the_reference(self):
        self.assertEqual(self.diffs(), [])

    def layer(self, m, seq, i):
        return m["model"]["modules"][seq]["layers"][i]

    def test_renamed_layer(self):
        self.assertOneDiff("model.classifier: children",
                           lambda m: self.layer(m, "classifier", 1).update(
                               name="act3"))

    def test_argument_differs(self):
        self.assertOneDiff("model.features.conv2.kernel_size",
                           lambda m: self.layer(m, "features", 3).update(
                               kernel_size=[3, 3]))

    def test_default_differs(self):
        # The reference leaves padding and bias at PyTorch's defaults.
        self.assertOneDiff("model.features.conv1.padding",
                           lambda m: self.layer(m, "features", 0).update(
                               padding=[1, 1]))
        self.assertOneDiff("model.classifier.fc3.bias",
                           lambda m: self.layer(m, "classifier", 4).update(
                               bias=False))

    def test_scalar_and_list_and_inplace(self):
        # kernel_size 5 == [5, 5]; inplace is ignored on either side.
        def edit(m):
            self.layer(m, "features", 0)["kernel_size"] = 5
            self.layer(m, "classifier", 1)["inplace"] = True
        self.assertEqual(self.diffs(edit), [])

    def test_type_differs(self):
        self.assertOneDiff("model.features.pool1: type",
                           lambda m: self.layer(m, "features", 2).update(
                               type="AvgPool2d"))

    def test_unknown_argument(self):
        self.assertOneDiff("model.classifier.fc1.dilation",
                           lambda m: self.layer(m, "classifier", 0).update(
                               dilation=1))

    def test_forward_differs(self):
        self.assertOneDiff("model.forward[1]",
                           lambda m: m["model"]["forward"][1].update(
                               shape=[-1, 400, 1]))
        # Renamed values are the same program ...
        def rename(m):
            m["model"]["forward"][1]["out"] = "flat"
            m["model"]["forward"][2]["in"] = ["flat"]
        self.assertEqual(self.diffs(rename), [])
        # ... but the wrong value is not.
        self.assertOneDiff("model.forward[2]",
                           lambda m: m["model"]["forward"][2].update(
                               **{"in": ["x"]}))

    def test_top_level(self):
        self.assertOneDiff("name", lambda m: m.update(name="lenet5"))
        self.assertOneDiff("inputs",
                           lambda m: m["inputs"][0].update(shape=[2, 3, 32, 32]))

    def test_reference_that_pytorch_rejects(self):
        d = self.diffs(edit_ref=lambda r: self.layer(r, "features", 0)
                       .update(bogus=1))
        self.assertEqual(len(d), 2, d)
        self.assertTrue(d[0].startswith("model.features.conv1.bogus: the "
                                        "reference sets 1"), d)
        self.assertTrue(d[1].startswith("model.features.conv1: the reference "
                                        "Conv2d("), d)
        self.assertIn("does not build in PyTorch", d[1])

    def test_weights(self):
        ref = dict(self.tensors)
        self.assertEqual(reference.weight_differences(ref, self.tensors), [])
        ours = dict(self.tensors)
        del ours["classifier.fc3.bias"]
        ours["classifier.fc3.weight"] = ours["classifier.fc3.weight"][:5]
        d = reference.weight_differences(ref, ours)
        self.assertEqual(len(d), 2, d)
        self.assertIn("classifier.fc3.bias only in the reference", d[0])
        self.assertIn("classifier.fc3.weight has shape [10, 84]", d[1])


class CompareTest(unittest.TestCase):
    def setUp(self):
        rs = np.random.RandomState(0)
        self.y64 = rs.standard_normal((2, 50))
        # "PyTorch float32": the exact result rounded to float32.
        self.y32 = self.y64.astype(np.float32).astype(np.float64)
        self.err32 = float(np.abs(self.y32 - self.y64).max())

    def check(self, kiln):
        return zoo.compare(["y"], [kiln], [self.y32], [self.y64])

    def test_float32_rounding_passes(self):
        (_, err, tol, _), = self.check(self.y32.astype(np.float32))
        self.assertLessEqual(err, tol)
        # One more float32 rounding step off is still within tolerance.
        k = self.y32.astype(np.float32)
        k[0, 0] = np.nextafter(k[0, 0], np.float32(np.inf))
        self.check(k)

    def test_wrong_value_fails(self):
        k = self.y32.astype(np.float32)
        k[1, 7] += 1e-3
        with self.assertRaisesRegex(zoo.Failure, r"output y: max\|kiln - "
                                    r"torch_f64\| = 0.001.*at \[1, 7\]"):
            self.check(k)

    def test_wrong_shape_fails(self):
        with self.assertRaisesRegex(zoo.Failure, r"Kiln's shape \[2, 49\], "
                                    r"PyTorch's \[2, 50\]"):
            self.check(self.y32[:, :49].astype(np.float32))

    def test_nan_fails(self):
        k = self.y32.astype(np.float32)
        k[0, 3] = np.nan
        with self.assertRaisesRegex(zoo.Failure, "does not match"):
            self.check(k)


if __name__ == "__main__":
    unittest.main()
