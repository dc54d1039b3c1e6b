"""JSON entries of leaf ``torch.nn`` modules in the Kiln model format.

``export_layer(module)`` returns ``{"type": <class name>, <arg>: <value>, ...}``
with every constructor argument that changes what the layer computes written
explicitly under its PyTorch name, read back from the module's attributes
(never relying on Kiln's defaults). Tuples become lists, ``None`` becomes
JSON ``null``. Arguments that do not matter at inference (``inplace``) are
left out, and so is PReLU's ``init``, which only set the initial weight and
cannot be recovered from the module (the weight itself is in the state_dict).

Only the exact PyTorch classes are recognised: a subclass may override
``forward``, so it is refused like any other unsupported module, with an
``UnsupportedModuleError`` that names its type.

The module's tensors are those of ``module.state_dict()``; their names in the
weights file are its keys prefixed by the module's path (see ``model.py``).
"""

import torch.nn as nn


class UnsupportedModuleError(ValueError):
    """A module (or one of its settings) that the Kiln format cannot express."""


def _v(x):
    """A JSON-ready value: tuples/lists recursively to lists, numbers as is."""
    if isinstance(x, (tuple, list)):
        return [_v(e) for e in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if hasattr(x, "item"):  # a 0-d tensor or numpy scalar
        return x.item()
    raise TypeError("cannot express %r in JSON" % (x,))


def _attrs(m, names):
    return {n: _v(getattr(m, n)) for n in names}


def _refuse(m, why):
    raise UnsupportedModuleError(
        "cannot export %s: %s" % (type(m).__name__, why))


def _conv(m):
    d = _attrs(m, ["in_channels", "out_channels", "kernel_size", "stride",
                   "padding", "dilation", "groups"])
    d["bias"] = m.bias is not None
    d["padding_mode"] = m.padding_mode
    return d


def _conv_transpose(m):
    d = _attrs(m, ["in_channels", "out_channels", "kernel_size", "stride",
                   "padding", "output_padding", "groups"])
    d["bias"] = m.bias is not None
    d["dilation"] = _v(m.dilation)
    if m.padding_mode != "zeros":
        _refuse(m, "padding_mode %r (ConvTranspose takes only 'zeros')"
                % m.padding_mode)
    d["padding_mode"] = m.padding_mode
    return d


def _max_pool(m):
    return _attrs(m, ["kernel_size", "stride", "padding", "dilation",
                      "return_indices", "ceil_mode"])


def _avg_pool1d(m):
    return _attrs(m, ["kernel_size", "stride", "padding", "ceil_mode",
                      "count_include_pad"])


def _avg_pool(m):
    return _attrs(m, ["kernel_size", "stride", "padding", "ceil_mode",
                      "count_include_pad", "divisor_override"])


def _max_unpool(m):
    return _attrs(m, ["kernel_size", "stride", "padding"])


def _adaptive_avg(m):
    return _attrs(m, ["output_size"])


def _adaptive_max(m):
    return _attrs(m, ["output_size", "return_indices"])


def _linear(m):
    d = _attrs(m, ["in_features", "out_features"])
    d["bias"] = m.bias is not None
    return d


def _batch_norm(m):
    return _attrs(m, ["num_features", "eps", "momentum", "affine",
                      "track_running_stats"])


def _none(m):
    return {}


def _softmax(m):
    if m.dim is None:
        _refuse(m, "dim=None (PyTorch's implicit dim); Kiln requires dim")
    return _attrs(m, ["dim"])


def _upsample(m):
    if m.mode not in ("nearest", "bilinear"):
        _refuse(m, "mode %r (Kiln takes 'nearest' or 'bilinear')" % m.mode)
    d = _attrs(m, ["size", "scale_factor", "mode"])
    if m.mode == "bilinear":
        d["align_corners"] = _v(m.align_corners)
    elif m.align_corners is not None:
        _refuse(m, "align_corners with mode 'nearest' (PyTorch refuses it "
                "too)")
    recompute = getattr(m, "recompute_scale_factor", None)
    if recompute is not None:
        d["recompute_scale_factor"] = bool(recompute)
    return d


def _layer_norm(m):
    return _attrs(m, ["normalized_shape", "eps", "elementwise_affine"])


def _group_norm(m):
    return _attrs(m, ["num_groups", "num_channels", "eps", "affine"])


_TABLE = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv,
    nn.ConvTranspose1d: _conv_transpose, nn.ConvTranspose2d: _conv_transpose,
    nn.ConvTranspose3d: _conv_transpose,
    nn.MaxPool1d: _max_pool, nn.MaxPool2d: _max_pool, nn.MaxPool3d: _max_pool,
    nn.AvgPool1d: _avg_pool1d, nn.AvgPool2d: _avg_pool,
    nn.AvgPool3d: _avg_pool,
    nn.MaxUnpool1d: _max_unpool, nn.MaxUnpool2d: _max_unpool,
    nn.MaxUnpool3d: _max_unpool,
    nn.AdaptiveAvgPool1d: _adaptive_avg, nn.AdaptiveAvgPool2d: _adaptive_avg,
    nn.AdaptiveAvgPool3d: _adaptive_avg,
    nn.AdaptiveMaxPool1d: _adaptive_max, nn.AdaptiveMaxPool2d: _adaptive_max,
    nn.AdaptiveMaxPool3d: _adaptive_max,
    nn.Linear: _linear,
    nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm3d: _batch_norm,
    nn.ReLU: _none, nn.ReLU6: _none, nn.Sigmoid: _none, nn.Tanh: _none,
    nn.SiLU: _none, nn.Hardswish: _none, nn.Hardsigmoid: _none,
    nn.Identity: _none,
    nn.LeakyReLU: lambda m: _attrs(m, ["negative_slope"]),
    nn.PReLU: lambda m: _attrs(m, ["num_parameters"]),
    nn.RReLU: lambda m: _attrs(m, ["lower", "upper"]),
    nn.ELU: lambda m: _attrs(m, ["alpha"]),
    nn.Hardtanh: lambda m: _attrs(m, ["min_val", "max_val"]),
    nn.Softmax: _softmax, nn.LogSoftmax: _softmax,
    nn.GELU: lambda m: _attrs(m, ["approximate"]),
    nn.Softplus: lambda m: _attrs(m, ["beta", "threshold"]),
    nn.Dropout: lambda m: _attrs(m, ["p"]),
    nn.Dropout2d: lambda m: _attrs(m, ["p"]),
    nn.Dropout3d: lambda m: _attrs(m, ["p"]),
    nn.AlphaDropout: lambda m: _attrs(m, ["p"]),
    nn.LocalResponseNorm: lambda m: _attrs(m, ["size", "alpha", "beta", "k"]),
    nn.Flatten: lambda m: _attrs(m, ["start_dim", "end_dim"]),
    nn.Upsample: _upsample,
    nn.LayerNorm: _layer_norm,
    nn.GroupNorm: _group_norm,
}
if hasattr(nn, "Dropout1d"):  # torch >= 1.12
    _TABLE[nn.Dropout1d] = lambda m: _attrs(m, ["p"])

#: The class names export_layer accepts.
SUPPORTED_TYPES = sorted(c.__name__ for c in _TABLE)


def export_layer(module):
    """The Kiln JSON entry (a dict) of the leaf module ``module``.

    Raises UnsupportedModuleError, naming the module's type, for a module
    (or a setting of it) that the format cannot express.
    """
    cls = type(module)
    fn = _TABLE.get(cls)
    if fn is None:
        bases = [b.__name__ for b in cls.__mro__[1:] if b in _TABLE]
        extra = (" (a subclass of %s; subclasses may change forward and are "
                 "not exported as their base)" % bases[0]) if bases else ""
        if isinstance(module, nn.Module) and not bases and \
                len(list(module.children())) > 0:
            extra = " (not a leaf layer: export its children and a forward)"
        raise UnsupportedModuleError(
            "unsupported module type %s%s; supported leaf types: %s"
            % (cls.__name__, extra, ", ".join(SUPPORTED_TYPES)))
    entry = {"type": cls.__name__}
    entry.update(fn(module))
    return entry
