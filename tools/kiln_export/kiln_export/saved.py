"""Models saved to a file: ``torch.save(model, path)`` pickles and TorchScript
archives (``torch.jit.save``), the MODULE_SPEC forms besides
``import.path:constructor`` and ``file.py:Class``.

``is_saved_spec(spec)`` tells the forms apart: a MODULE_SPEC that names an
existing file (other than a ``.py``), or that ends in one of
``SAVED_SUFFIXES``, is a saved model. ``load_saved(path, imports)`` looks at
the file itself:

- a zip archive with ``code/`` and ``constants.pkl`` is TorchScript: loaded
  with ``torch.jit.load`` and rebuilt as an eager module tree by
  ``torchscript.import_script_module`` (torch.fx cannot trace a
  ScriptModule);
- any other zip archive, or a pickle (the legacy format), is a
  ``torch.save`` file. It is first read with ``weights_only=True`` where
  PyTorch has it (no code runs): a ``state_dict`` (or a checkpoint dict
  holding one) is refused with the way to export it (the module's import
  path or .py file plus ``--load-weights``). Otherwise it is unpickled in
  full (``weights_only=False``), which RUNS CODE FROM THE FILE: give only
  files you trust. The model's classes must be importable: ``imports``
  (``--import-path``: directories put on ``sys.path``, ``.py`` files run as
  modules, or module names imported) come first, and classes pickled from a
  script's ``__main__`` are looked up in the ``.py`` files given.

``load_weights_file(module, path)`` loads a ``state_dict`` saved with
``torch.save`` or a ``.safetensors`` file into a module (``--load-weights``);
``assign_weights`` is the check-and-load step it shares with ``--compare``.
"""

import collections.abc
import contextlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn

from .safetensors_io import read_safetensors
from .trace import ExportError

#: File name endings taken as a saved model even when the file is missing
#: (so that a typo gets "no file" rather than "expected import.path:name").
SAVED_SUFFIXES = (".pt", ".pth", ".ts", ".pkl", ".jit", ".torchscript",
                  ".zip")

_ZIP_MAGIC = b"PK\x03\x04"


def is_saved_spec(spec):
    """True if MODULE_SPEC names a saved model file rather than
    ``import.path:name`` / ``file.py:Class``."""
    if spec.endswith(".py"):
        return False
    if os.path.isfile(spec):
        return True
    return spec.lower().endswith(SAVED_SUFFIXES)


def _file_kind(path):
    """'torchscript', 'torch.save' or raises ExportError."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ExportError("cannot read %s: %s" % (path, e.strerror or e))
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ExportError(
                "%s is not a valid zip archive (%s): neither a TorchScript "
                "file nor a torch.save file; the file may be truncated or "
                "corrupt" % (path, e))
        parts = [n.split("/", 1)[1] if "/" in n else n for n in names]
        if "constants.pkl" in parts or any(p.startswith("code/")
                                           for p in parts):
            return "torchscript"
        if "data.pkl" in parts:
            return "torch.save"
        raise ExportError(
            "%s is a zip archive without data.pkl or code/: neither a "
            "TorchScript file (torch.jit.save) nor a torch.save file" % path)
    if head[:1] == b"\x80":   # a pickle (torch.save's legacy format)
        return "torch.save"
    raise ExportError(
        "%s is neither a TorchScript file (torch.jit.save) nor a torch.save "
        "file: it starts with bytes %r, not a zip archive or a pickle"
        % (path, head))


# ---------------------------------------------------------------------------
# --import-path


def import_hints(imports):
    """Apply ``--import-path`` entries; returns the modules of the ``.py``
    files given (where classes pickled from ``__main__`` are looked up)."""
    mods = []
    for entry in imports or ():
        if os.path.isdir(entry):
            d = os.path.abspath(entry)
            if d not in sys.path:
                sys.path.insert(0, d)
        elif entry.endswith(".py"):
            path = os.path.abspath(entry)
            if not os.path.isfile(path):
                raise ExportError("--import-path %s: no such file" % entry)
            name = os.path.splitext(os.path.basename(path))[0]
            existing = sys.modules.get(name)
            if existing is not None and os.path.abspath(
                    getattr(existing, "__file__", "") or "") == path:
                mods.append(existing)
                continue
            if existing is not None or not name.isidentifier():
                name = "_kiln_export_hint_%d" % (abs(hash(path)) % 10 ** 8)
            d = os.path.dirname(path)
            if d not in sys.path:
                sys.path.insert(0, d)
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            try:
                spec.loader.exec_module(mod)
            except Exception as e:
                del sys.modules[name]
                raise ExportError("--import-path %s: running it failed: "
                                  "%s: %s" % (entry, type(e).__name__, e))
            mods.append(mod)
        elif entry.replace(".", "").replace("_", "").isalnum():
            try:
                mods.append(importlib.import_module(entry))
            except Exception as e:
                raise ExportError("--import-path %s: cannot import it: "
                                  "%s: %s" % (entry, type(e).__name__, e))
        else:
            raise ExportError("--import-path %s: not a directory, a .py file "
                              "or a module name" % entry)
    return mods


@contextlib.contextmanager
def _main_classes(hints):
    """Classes and functions of the --import-path files also visible as
    attributes of ``__main__`` while a pickle is read: a model saved by a
    script refers to its classes as ``__main__.Net``. (torch.load's
    ``pickle_module`` cannot do this portably: PyTorch 1.13 ignores it
    unless weights_only.)"""
    main = sys.modules.get("__main__")
    added = []
    if main is not None:
        for m in hints:
            for k, v in vars(m).items():
                if not k.startswith("_") and hasattr(main, k) is False and \
                        getattr(v, "__module__", None) == m.__name__:
                    setattr(main, k, v)
                    added.append(k)
    try:
        yield
    finally:
        for k in added:
            delattr(main, k)


def _missing_class(e):
    """'module.Class' that an unpickling error says cannot be found."""
    if isinstance(e, ModuleNotFoundError) and e.name:
        return "a class of module %s" % e.name
    m = re.search(r"Can't get attribute '([^']+)' on <module '([^']+)'",
                  str(e))
    if m:
        if m.group(2).endswith("__main__"):
            return "__main__.%s (a class of the script that saved it: give " \
                "that .py file)" % m.group(1)
        return "%s.%s" % (m.group(2), m.group(1))
    return "a class"


def _has_weights_only():
    try:
        return "weights_only" in inspect.signature(torch.load).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def _load_weights_only(path):
    """torch.load without running code from the file (None if this PyTorch
    cannot, or the file holds more than tensors and containers)."""
    if not _has_weights_only():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None


def _is_state_dict(obj):
    return isinstance(obj, collections.abc.Mapping) and len(obj) > 0 and \
        all(isinstance(k, str) for k in obj) and \
        all(isinstance(v, torch.Tensor) for v in obj.values())


def _state_dict_message(path, obj, key=None, keys=()):
    names = list(obj)
    where = "" if key is None else \
        " under the key %r of a checkpoint dict (keys: %s)" % (
            key, ", ".join(map(str, keys)))
    weights = path if key is None else "weights.pt"
    return (
        "%s holds a state_dict%s (%d tensors: %s%s), not a model: it has the "
        "weights but not the architecture. Give the module as "
        "import.path:constructor or file.py:Class and %s with "
        "--load-weights %s (e.g. kiln-export mynet.py:Net --load-weights %s "
        "--input x:1,3,32,32 -o out), or save the whole model with "
        "torch.save(model, path) or torch.jit.save(torch.jit.script(model), "
        "path)" % (
            path, where, len(names), ", ".join(names[:4]),
            ", ..." if len(names) > 4 else "",
            "these weights" if key is None else
            "the entry saved alone (torch.save(ckpt[%r], 'weights.pt'))" % key,
            weights, weights))


def _refuse_data(path, obj):
    if _is_state_dict(obj):
        raise ExportError(_state_dict_message(path, obj))
    if isinstance(obj, collections.abc.Mapping):
        for k, v in obj.items():
            if _is_state_dict(v):
                raise ExportError(_state_dict_message(
                    path, v, k, list(obj)[:6]))
            if isinstance(v, nn.Module):
                raise ExportError(
                    "%s holds a dict (keys: %s) whose entry %r is the model: "
                    "save the model alone with torch.save(obj[%r], path)"
                    % (path, ", ".join(map(str, list(obj)[:6])), k, k))
    raise ExportError("%s holds a %s, not an nn.Module" % (
        path, type(obj).__name__))


def _load_pickled(path, hints):
    safe = _load_weights_only(path)
    if safe is not None:
        _refuse_data(path, safe)
    kwargs = {"map_location": "cpu"}
    if _has_weights_only():
        kwargs["weights_only"] = False  # a pickled module: runs its code
    try:
        with _main_classes(hints):
            return torch.load(path, **kwargs)
    except (ImportError, AttributeError) as e:
        cls = _missing_class(e)
        raise ExportError(
            "cannot load the model in %s: its pickle needs %s, which cannot "
            "be imported (%s: %s); give --import-path with the directory or "
            "the .py file that defines it (or set PYTHONPATH)" % (
                path, cls, type(e).__name__, e))
    except Exception as e:
        raise ExportError("cannot read %s as a torch.save file: %s: %s; the "
                          "file may be truncated or corrupt" % (
                              path, type(e).__name__, e))


def load_saved(path, imports=()):
    """The ``nn.Module`` saved in ``path``: a ``torch.save`` pickle (the
    module itself, eval mode) or a TorchScript archive (rebuilt as an eager
    module tree). Raises ExportError for anything else."""
    if not os.path.isfile(path):
        raise ExportError("MODULE_SPEC %r: no file %s" % (
            path, os.path.abspath(path)))
    kind = _file_kind(path)
    hints = import_hints(imports)
    if kind == "torchscript":
        try:
            sm = torch.jit.load(path, map_location="cpu")
        except Exception as e:
            raise ExportError("cannot load the TorchScript file %s: %s: %s"
                              % (path, type(e).__name__,
                                 str(e).strip().splitlines()[0]
                                 if str(e).strip() else ""))
        from .torchscript import import_script_module
        return import_script_module(sm, hints)
    obj = _load_pickled(path, hints)
    if isinstance(obj, torch.jit.ScriptModule):
        from .torchscript import import_script_module
        return import_script_module(obj, hints)
    if not isinstance(obj, nn.Module):
        _refuse_data(path, obj)
    obj.eval()
    return obj


# ---------------------------------------------------------------------------
# Weights


def assign_weights(module, tensors, source):
    """Load ``{state_dict key: array or tensor}`` into ``module``; every key
    must match (num_batches_tracked may be absent) with the same shape.
    ``source`` names the file in messages. Raises ExportError."""
    sd = module.state_dict()
    missing = [k for k in sd if k not in tensors and
               not k.endswith("num_batches_tracked")]
    extra = [k for k in tensors if k not in sd]
    if missing or extra:
        raise ExportError(
            "%s does not match the module's state_dict: %s%s" % (
                source, "missing %s" % ", ".join(missing[:5])
                if missing else "",
                ("; " if missing and extra else "") +
                ("not in the module: %s" % ", ".join(extra[:5])
                 if extra else "")))
    for k, a in tensors.items():
        if tuple(a.shape) != tuple(sd[k].shape):
            raise ExportError("%s: tensor %s has shape %s, the module's %s"
                              % (source, k, list(a.shape),
                                 list(sd[k].shape)))
    module.load_state_dict(
        {k: (a.detach().cpu() if isinstance(a, torch.Tensor) else
             torch.from_numpy(np.array(a))).to(sd[k].dtype)
         for k, a in tensors.items()}, strict=False)
    return module


def load_weights_file(module, path):
    """``--load-weights PATH``: a ``.safetensors`` file or a ``state_dict``
    saved with torch.save (read with weights_only=True where PyTorch has
    it), loaded into ``module`` by state_dict key."""
    if not os.path.isfile(path):
        raise ExportError("--load-weights %s: no such file" % path)
    if path.endswith(".safetensors"):
        try:
            tensors, _ = read_safetensors(path)
        except Exception as e:
            raise ExportError("--load-weights %s: %s" % (path, e))
        return assign_weights(module, tensors, path)
    try:
        if _has_weights_only():
            obj = torch.load(path, map_location="cpu", weights_only=True)
        else:  # pragma: no cover - PyTorch < 1.13
            obj = torch.load(path, map_location="cpu")
    except Exception as e:
        raise ExportError(
            "--load-weights %s: not a state_dict saved with torch.save "
            "(%s: %s); a whole model is given as MODULE_SPEC instead" % (
                path, type(e).__name__,
                str(e).strip().splitlines()[0] if str(e).strip() else ""))
    if not _is_state_dict(obj):
        raise ExportError("--load-weights %s: holds a %s, not a state_dict "
                          "(a dict of tensors)" % (path, type(obj).__name__))
    return assign_weights(module, obj, path)
