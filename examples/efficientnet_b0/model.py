"""torchvision's EfficientNet-B0 (Tan and Le 2019): MBConv blocks
(depthwise convolutions, squeeze-and-excitation with SiLU and Sigmoid,
stochastic depth, which is the identity in eval mode), BatchNorm2d and SiLU
throughout; 1000 classes on a 3x224x224 image. Random weights (seeded;
nothing downloaded).

Run: examples/efficientnet_b0/run.sh [--bench N] (see examples/README.md).
A long test (`make test-long`).
"""

import os
import sys

import torchvision


def build():
    return torchvision.models.efficientnet_b0()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("efficientnet_b0", build, [("x", [1, 3, 224, 224])]))
