"""torchvision's AlexNet (Krizhevsky et al. 2012, torchvision's variant
without LocalResponseNorm): five Conv2d + ReLU with three MaxPool2d, an
AdaptiveAvgPool2d(6), three Linear layers with Dropout; 1000 classes on a
3x224x224 image. Random weights (seeded; nothing downloaded).

Run: examples/alexnet/run.sh [--bench N] (see examples/README.md). A long test
(`make test-long`).
"""

import os
import sys

import torchvision


def build():
    return torchvision.models.alexnet()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("alexnet", build, [("x", [1, 3, 224, 224])]))
