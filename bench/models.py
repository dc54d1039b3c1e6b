"""The latency bench's models (bench/README.md): the model zoo's networks,
built exactly as examples/common/zoo.py builds them (the example's own
model.py builder under torch.manual_seed(seed), then kiln_export.reinit,
eval mode), and their seeded inputs (numpy RandomState(seed), standard
normal, float32). Shared by bench/latency.py (export, reference outputs) and
bench/torch_runner.py (the PyTorch peer), so both see the same weights.
"""

import importlib.util
import os
import sys

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), ".."))
EXAMPLES = os.path.join(ROOT, "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)
from common import zoo  # noqa: E402  (puts tools/kiln_export on the path)
from kiln_export import export, reinit  # noqa: E402,F401

# bench name -> (examples folder, builder attribute of its model.py,
#                [(input name, shape)] as its zoo.main call passes them)
MODELS = {
    "lenet": ("lenet_course", "LeNet", [("x", [1, 3, 32, 32])]),
    "alexnet": ("alexnet", "build", [("x", [1, 3, 224, 224])]),
    "resnet18": ("resnet18", "build", [("x", [1, 3, 224, 224])]),
    "mobilenet_v2": ("mobilenet_v2", "build", [("x", [1, 3, 224, 224])]),
    "mobilenet_v3_small": ("mobilenet_v3_small", "build",
                           [("x", [1, 3, 224, 224])]),
    "efficientnet_b0": ("efficientnet_b0", "build",
                        [("x", [1, 3, 224, 224])]),
    "dcgan_generator": ("dcgan_generator", "Generator",
                        [("z", [1, 100, 1, 1])]),
    "kws_1d": ("kws_1d", "KWS1d", [("audio", [1, 1, 16000])]),
    "net3d": ("net3d", "Net3d", [("x", [1, 3, 16, 32, 32])]),
}
ALIASES = {"lenet_course": "lenet", "dcgan": "dcgan_generator"}
QUICK = ["lenet", "resnet18", "mobilenet_v2"]


def canonical(name):
    """The bench name of NAME (an alias or the example folder's name)."""
    name = ALIASES.get(name, name)
    if name not in MODELS:
        raise KeyError(name)
    return name


def model_py(name):
    return os.path.join(EXAMPLES, MODELS[name][0], "model.py")


def _load_example(name):
    folder = MODELS[name][0]
    spec = importlib.util.spec_from_file_location("bench_example_" + folder,
                                                  model_py(name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(name, seed):
    """The PyTorch module of NAME with the zoo's seeded weights, eval."""
    builder = getattr(_load_example(name), MODELS[name][1])
    torch.manual_seed(seed)
    module = builder()
    reinit(module, seed)
    return module.eval()


def inputs(name, seed):
    """[(input name, float32 array)]: the zoo's seeded input."""
    rs = np.random.RandomState(seed)
    return [(n, rs.standard_normal(shape).astype(np.float32))
            for n, shape in MODELS[name][2]]
