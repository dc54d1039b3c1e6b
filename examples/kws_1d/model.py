"""Keyword spotting on raw audio: one second at 16 kHz (16 000 samples) ->
35 keyword scores (the classes of Google Speech Commands v2). A 1-D CNN in
the style of the "M5" network of PyTorch's speech-command tutorial (Dai et
al. 2017): a wide strided first convolution, then Conv1d + BatchNorm1d + ReLU
+ MaxPool1d blocks, a global AdaptiveAvgPool1d, a Linear classifier and
LogSoftmax. Random weights (seeded).

Run: examples/kws_1d/run.sh [--bench N] (see examples/README.md).
"""

import os
import sys

import torch
import torch.nn as nn

SAMPLES, CLASSES = 16000, 35


def block(cin, cout, kernel, stride=1):
    return nn.Sequential(nn.Conv1d(cin, cout, kernel, stride=stride),
                         nn.BatchNorm1d(cout), nn.ReLU(), nn.MaxPool1d(4))


class KWS1d(nn.Module):
    def __init__(self, classes=CLASSES, width=32):
        super().__init__()
        self.features = nn.Sequential(
            block(1, width, 80, stride=16),   # 16000 -> 996 -> 249
            block(width, width, 3),           # -> 247 -> 61
            block(width, 2 * width, 3),       # -> 59 -> 14
            block(2 * width, 2 * width, 3),   # -> 12 -> 3
        )
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(2 * width, classes)
        self.log_softmax = nn.LogSoftmax(dim=1)

    def forward(self, audio):
        h = self.pool(self.features(audio))
        return self.log_softmax(self.fc(torch.flatten(h, 1)))


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("kws_1d", KWS1d, [("audio", [1, 1, SAMPLES])]))
