"""kiln_export: write PyTorch modules in the Kiln model format (version 1).

The format is described in docs/model-format.md. This package is the core of
the exporter:

- ``safetensors_io``: a dependency-free safetensors writer (and a small reader
  used by the tests);
- ``layers``: ``export_layer(module)`` gives the JSON entry of a leaf module;
- ``model``: helpers that assemble a model JSON and write it with its weights;
- ``trace``: ``export_module`` / ``export`` turn a whole ``nn.Module`` into
  the format through torch.fx (also the ``kiln-export`` command and
  ``python3 -m kiln_export``);
- ``saved``: saved models as the command's MODULE_SPEC (``torch.save``
  full-model files, TorchScript files; ``--load-weights``);
- ``torchscript``: a TorchScript module rebuilt as an eager module tree that
  ``trace`` exports.
"""

from .safetensors_io import write_safetensors, read_safetensors  # noqa: F401
from .layers import export_layer, UnsupportedModuleError, SUPPORTED_TYPES  # noqa: F401
from .model import make_model, state_dict_tensors, write_model  # noqa: F401
from .trace import ExportError, export, export_module, reinit  # noqa: F401

__all__ = [
    "write_safetensors",
    "read_safetensors",
    "export_layer",
    "UnsupportedModuleError",
    "SUPPORTED_TYPES",
    "make_model",
    "state_dict_tensors",
    "write_model",
    "ExportError",
    "export",
    "export_module",
    "reinit",
]
