"""An encoder-decoder that remembers where its maxima were: the encoder's
MaxPool2d(return_indices=True) hands its indices to the decoder's
MaxUnpool2d (SegNet-style upsampling), with output_size to undo a pooling of
an odd size (15 -> 7 -> 15). Conv2d + BatchNorm2d + ReLU, Sigmoid at the end.
Input 3x30x30, output 3x30x30. Random weights (seeded).

Run: examples/unpool_autoencoder/run.sh [--bench N] (see examples/README.md).
"""

import os
import sys

import torch.nn as nn

SIZE = 30


def conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


class UnpoolAutoencoder(nn.Module):
    def __init__(self, channels=3, width=16):
        super().__init__()
        self.enc1 = conv(channels, width)
        self.pool1 = nn.MaxPool2d(2, return_indices=True)
        self.enc2 = conv(width, 2 * width)
        self.pool2 = nn.MaxPool2d(2, return_indices=True)
        self.bottleneck = conv(2 * width, 2 * width)
        self.unpool2 = nn.MaxUnpool2d(2)
        self.dec2 = conv(2 * width, width)
        self.unpool1 = nn.MaxUnpool2d(2)
        self.dec1 = nn.Conv2d(width, channels, 3, padding=1)
        self.out = nn.Sigmoid()

    def forward(self, x):
        e1 = self.enc1(x)                   # 16 x 30 x 30
        p1, i1 = self.pool1(e1)             # 16 x 15 x 15
        e2 = self.enc2(p1)                  # 32 x 15 x 15
        p2, i2 = self.pool2(e2)             # 32 x 7 x 7
        b = self.bottleneck(p2)
        u2 = self.unpool2(b, i2, output_size=e2.size())   # 32 x 15 x 15
        d2 = self.dec2(u2)                  # 16 x 15 x 15
        u1 = self.unpool1(d2, i1, output_size=e1.size())  # 16 x 30 x 30
        return self.out(self.dec1(u1))      # 3 x 30 x 30


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
    from common import zoo

    sys.exit(zoo.main("unpool_autoencoder", UnpoolAutoencoder,
                      [("x", [1, 3, SIZE, SIZE])]))
