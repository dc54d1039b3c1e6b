"""torchvision's ResNet-18 (He et al. 2015): a 7x7 stem, four stages of
BasicBlocks (Conv2d + BatchNorm2d + ReLU, residual additions, 1x1
downsampling shortcuts), global average pooling and a Linear; 1000 classes
on a 3x224x224 image. Random weights (seeded; nothing downloaded).

Run: examples/resnet18/run.sh [--bench N] (see examples/README.md). A long test
(`make test-long`).
"""

import os
import sys

import torchvision


def build():
    return torchvision.models.resnet18()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("resnet18", build, [("x", [1, 3, 224, 224])]))
