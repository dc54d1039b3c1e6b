// A small valid model shared by the error-path tests, which break one thing
// in it per case: Conv2d 3->4 k3 (8x8 -> 6x6), ReLU, MaxPool2d 2 (-> 3x3),
// flatten (36), Linear 36->10; all parameters from "init".
#pragma once

inline const char *const kTinyModel = R"({
  "kiln": 1,
  "name": "tiny",
  "inputs": [{"name": "x", "shape": [1, 3, 8, 8], "dtype": "float32"}],
  "init": {"seed": 0},
  "model": {
    "type": "Tiny",
    "modules": {
      "features": {"type": "Sequential", "layers": [
        {"name": "conv1", "type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3},
        {"name": "relu1", "type": "ReLU"},
        {"name": "pool1", "type": "MaxPool2d", "kernel_size": 2}
      ]},
      "classifier": {"type": "Linear", "in_features": 36, "out_features": 10}
    },
    "forward": [
      {"out": "h", "call": "features", "in": ["x"]},
      {"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1},
      {"out": "y", "call": "classifier", "in": ["f"]},
      {"return": ["y"]}
    ]
  }
})";
