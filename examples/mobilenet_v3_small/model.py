"""torchvision's MobileNetV3-small (Howard et al. 2019): inverted residual
blocks with depthwise convolutions, squeeze-and-excitation (adaptive average
pooling, 1x1 convolutions, Hardsigmoid, a multiplication), Hardswish and
ReLU, BatchNorm2d; a Linear + Hardswish + Dropout + Linear head; 1000
classes on a 3x224x224 image. Random weights (seeded; nothing downloaded).

Run: examples/mobilenet_v3_small/run.sh [--bench N] (see examples/README.md).
A long test (`make test-long`).
"""

import os
import sys

import torchvision


def build():
    return torchvision.models.mobilenet_v3_small()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("mobilenet_v3_small", build, [("x", [1, 3, 224, 224])]))
