"""A small 3-D CNN for video clips or volumes: 16 frames of 3x32x32 -> 10
classes. Conv3d + BatchNorm3d + ReLU blocks with MaxPool3d (first only in
space, then in time and space, as C3D does), an AvgPool3d, a global
AdaptiveAvgPool3d and a Linear classifier. Random weights (seeded).

Run: examples/net3d/run.sh [--bench N] (see examples/README.md).
"""

import os
import sys

import torch.nn as nn

FRAMES, SIZE, CLASSES = 16, 32, 10


def block(cin, cout, pool):
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm3d(cout), nn.ReLU(inplace=True),
                         nn.MaxPool3d(pool))


class Net3d(nn.Module):
    def __init__(self, classes=CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            block(3, 16, (1, 2, 2)),    # 16x32x32 -> 16x16x16
            block(16, 32, 2),           # -> 8x8x8
            block(32, 64, 2),           # -> 4x4x4
            nn.AvgPool3d((2, 1, 1)),    # -> 2x4x4
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5),
                                        nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)))


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("net3d", Net3d, [("x", [1, 3, FRAMES, SIZE, SIZE])]))
