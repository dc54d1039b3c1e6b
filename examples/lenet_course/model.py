"""The LeNet of the PyTorch course (LeCun et al. 1998, for 3x32x32 CIFAR-10
images): named Sequential layers, features (conv1 relu1 pool1 conv2 relu2
pool2), a view, then the classifier (fc1 relu3 fc2 relu4 fc3). Random
weights (seeded).

Besides the comparison with PyTorch that every example makes, this one
checks that kiln-export reproduces the reference model
(../shared/models/lenet, of which examples/lenet is a copy):
- the exported model.json describes the same model as the reference's: the
  same module tree, types, names and arguments (those the reference leaves
  out at PyTorch's defaults), the same forward steps (examples/common/
  reference.py);
- the exported weights have the reference's state_dict names and shapes;
- the reference weights load into this PyTorch class (strict) and give the
  reference's expected output, and Kiln runs the exported model.json with
  the reference weights to that same output.

Run: examples/lenet_course/run.sh [--reference DIR] [--bench N].
"""

import json
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


class LeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 6, kernel_size=5)),
            ("relu1", nn.ReLU(inplace=True)),
            ("pool1", nn.MaxPool2d(kernel_size=2, stride=2)),
            ("conv2", nn.Conv2d(6, 16, kernel_size=5)),
            ("relu2", nn.ReLU(inplace=True)),
            ("pool2", nn.MaxPool2d(kernel_size=2, stride=2)),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(16 * 5 * 5, 120)),
            ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(120, 84)),
            ("relu4", nn.ReLU(inplace=True)),
            ("fc3", nn.Linear(84, num_classes)),
        ]))

    def forward(self, x):
        h = self.features(x)
        f = h.view(h.size(0), -1)
        return self.classifier(f)


def default_reference():
    shared = os.path.join(ROOT, "..", "shared", "models", "lenet")
    if os.path.isfile(os.path.join(shared, "model.json")):
        return os.path.normpath(shared)
    return os.path.join(ROOT, "examples", "lenet")  # a copy of it


def add_arguments(ap):
    ap.add_argument("--reference", default=default_reference(),
                    help="the reference LeNet folder (model.json, its "
                    "weights, input_x.npy, expected_y.npy; default "
                    "../shared/models/lenet, else examples/lenet)")


def check_reference(args, module, path):
    import numpy as np

    from common import reference, zoo
    from kiln_export import read_safetensors

    ref_dir = os.path.abspath(args.reference)
    print("== the export against the reference %s" % ref_dir)
    with open(os.path.join(ref_dir, "model.json")) as f:
        ref = json.load(f)
    with open(path) as f:
        ours = json.load(f)
    ref_w, _ = read_safetensors(os.path.join(ref_dir, ref["weights"]))
    our_w, _ = read_safetensors(os.path.join(os.path.dirname(path),
                                             ours["weights"]))
    diffs = reference.differences(ref, ours) + \
        reference.weight_differences(ref_w, our_w)
    if diffs:
        raise zoo.Failure("the exported model differs from the reference "
                          "%s:\n  %s" % (ref_dir, "\n  ".join(diffs)))
    print("  model.json: same module tree, types, names, arguments and "
          "forward steps as the reference")
    print("  weights: the same %d state_dict names and shapes (%s)" % (
        len(ref_w), ", ".join(sorted(ref_w))))

    # The reference weights in this PyTorch class, and in Kiln through the
    # exported JSON: both give the reference's expected output.
    x = np.load(os.path.join(ref_dir, "input_x.npy"))
    want = np.load(os.path.join(ref_dir, "expected_y.npy"))
    scale = float(np.abs(want).max())
    net = LeNet().eval()
    net.load_state_dict({k: torch.from_numpy(v.copy())
                         for k, v in ref_w.items()}, strict=True)
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()
    err = float(np.abs(y.astype(np.float64) - want).max())
    print("  PyTorch LeNet with the reference weights vs expected_y.npy: "
          "max error %.3g (%.3g of max|y|)" % (err, err / scale))
    if not err <= 1e-5 * scale:  # float32 summation order (models/README.md)
        raise zoo.Failure("the PyTorch LeNet with the reference weights "
                          "gives %.3g off the reference output" % err)
    out = os.path.join(os.path.dirname(path), "kiln_with_reference_weights.npy")
    zoo.run([os.path.abspath(args.kiln), "run", path, "--weights",
             os.path.join(ref_dir, ref["weights"]), "--input",
             "x=" + os.path.join(ref_dir, "input_x.npy"), "--output",
             "y=" + out], "kiln run with the reference weights")
    err = float(np.abs(np.load(out).astype(np.float64) - want).max())
    print("  kiln run (exported model.json, reference weights) vs "
          "expected_y.npy: max error %.3g (%.3g of max|y|)" % (err,
                                                               err / scale))
    if not err <= 1e-5 * scale:
        raise zoo.Failure("Kiln runs the exported model with the reference "
                          "weights %.3g off the reference output" % err)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(HERE, ".."))
    from common import zoo

    sys.exit(zoo.main("lenet_course", LeNet, [("x", [1, 3, 32, 32])],
                      check=check_reference, add_arguments=add_arguments,
                      model_name="lenet"))
