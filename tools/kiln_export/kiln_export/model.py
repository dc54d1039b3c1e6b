"""Assemble a Kiln model JSON and write it with its weights.

A model whose root is a user module with leaf children::

    from kiln_export import export_layer, make_model, write_model
    mods = {"fc": torch.nn.Linear(4, 3)}
    model = make_model("tiny", [("x", [2, 4])],
                       {k: export_layer(m) for k, m in mods.items()},
                       [{"out": "y", "call": "fc", "in": ["x"]},
                        {"return": ["y"]}],
                       "weights.safetensors")
    write_model("out_dir", model, mods)   # out_dir/model.json + weights

Weights are named by ``state_dict()`` keys prefixed by the module's name in
the dict (``fc.weight``), exactly as PyTorch names them in a parent module.
Nothing is skipped: ``num_batches_tracked`` (int64) is written as is (Kiln
ignores it); tensors keep their dtype (float64 is allowed by the format).
"""

import json
import os

from .safetensors_io import write_safetensors


def make_model(name, inputs, modules, forward, weights_file=None,
               root_type="Model", init=None):
    """The model JSON (a dict) of a root user module.

    name: the model's C identifier; inputs: a list of (name, shape);
    modules: name -> module JSON (e.g. from ``export_layer``); forward: the
    root's steps (ending with a ``return`` step); weights_file: the
    safetensors path relative to the JSON (None: no weights key);
    init: optional ``{"seed": N}``.
    """
    if not forward or "return" not in forward[-1]:
        raise ValueError("forward must end with a return step")
    model = {
        "kiln": 1,
        "name": name,
        "inputs": [{"name": n, "shape": [int(d) for d in s],
                    "dtype": "float32"} for n, s in inputs],
    }
    if weights_file is not None:
        model["weights"] = weights_file
    if init is not None:
        model["init"] = dict(init)
    model["model"] = {"type": root_type, "modules": dict(modules),
                      "forward": list(forward)}
    return model


def state_dict_tensors(modules):
    """name -> tensor for a dict of torch modules: every ``state_dict()``
    entry of each module, its key prefixed by the module's name."""
    out = {}
    for prefix, m in modules.items():
        for k, t in m.state_dict().items():
            key = "%s.%s" % (prefix, k) if prefix else k
            if key in out:
                raise ValueError("duplicate tensor name %s" % key)
            out[key] = t.detach().cpu().contiguous()
    return out


def write_model(directory, model, modules=None, tensors=None,
                json_name="model.json", metadata=None):
    """Write ``model`` (a dict) to DIRECTORY/json_name and, if the model
    names a weights file, the tensors of ``modules`` (name -> torch module,
    see state_dict_tensors) plus ``tensors`` (name -> tensor) to it.
    Returns the path of the JSON file."""
    os.makedirs(directory, exist_ok=True)
    all_tensors = state_dict_tensors(modules or {})
    for k, t in (tensors or {}).items():
        if k in all_tensors:
            raise ValueError("duplicate tensor name %s" % k)
        all_tensors[k] = t
    weights = model.get("weights")
    if weights is not None:
        write_safetensors(os.path.join(directory, weights), all_tensors,
                          metadata)
    elif all_tensors:
        raise ValueError("the model has tensors but no \"weights\" file")
    path = os.path.join(directory, json_name)
    with open(path, "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")
    return path
