"""torchvision's MobileNetV2 (Sandler et al. 2018): inverted residual
blocks (1x1 expansion, 3x3 depthwise convolution, linear 1x1 bottleneck) with
BatchNorm2d and ReLU6, residual additions, Dropout and a Linear; 1000
classes on a 3x224x224 image. Random weights (seeded; nothing downloaded).

Run: examples/mobilenet_v2/run.sh [--bench N] (see examples/README.md). A long test
(`make test-long`).
"""

import os
import sys

import torchvision


def build():
    return torchvision.models.mobilenet_v2()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("mobilenet_v2", build, [("x", [1, 3, 224, 224])]))
