"""Read and write safetensors files without third-party packages.

Layout (https://github.com/huggingface/safetensors, "Format"):

- 8 bytes: N, the length of the header, unsigned 64-bit little endian;
- N bytes: a UTF-8 JSON object mapping each tensor name to
  ``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` and
  optionally ``"__metadata__"`` to a string->string map. We pad it with
  spaces so that the data starts at an offset that is a multiple of 8;
- the data: every tensor's raw little-endian bytes, C order, back to back.
  Offsets count from the start of the data; the tensors cover it with no
  holes and no overlaps.

Tensors may be numpy arrays or torch tensors (anything with ``.numpy()``
after ``.detach().cpu()``); torch is not imported by this module.
"""

import json
import struct

import numpy as np

# numpy dtype -> safetensors dtype name.
_NP_TO_ST = {
    np.dtype(np.float64): "F64",
    np.dtype(np.float32): "F32",
    np.dtype(np.float16): "F16",
    np.dtype(np.int64): "I64",
    np.dtype(np.int32): "I32",
    np.dtype(np.int16): "I16",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint8): "U8",
    np.dtype(np.bool_): "BOOL",
}
_ST_TO_NP = {v: k for k, v in _NP_TO_ST.items()}
_ST_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4,
             "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def _to_numpy(t):
    """A numpy array (C order, little endian) and its safetensors dtype name."""
    if isinstance(t, np.ndarray):
        a = t
    elif hasattr(t, "detach"):  # a torch tensor
        import torch  # only when given torch tensors
        t = t.detach().cpu()
        if t.dtype == torch.bfloat16:
            # numpy has no bfloat16: keep the upper 16 bits of each float32.
            bits = t.float().contiguous().numpy().view(np.uint32) >> 16
            return bits.astype("<u2", order="C"), "BF16"
        a = t.contiguous().numpy()
    else:
        a = np.asarray(t)
    if a.dtype not in _NP_TO_ST:
        raise TypeError("safetensors: unsupported dtype %s" % a.dtype)
    name = _NP_TO_ST[a.dtype]
    # (np.ascontiguousarray would turn a 0-d array into shape [1].)
    a = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)
    return a, name


def safetensors_bytes(tensors, metadata=None):
    """The bytes of a safetensors file holding ``tensors`` (name -> tensor).

    Tensors are stored in the order of the dict. ``metadata`` (optional)
    is a str -> str map written as ``__metadata__``.
    """
    header = {}
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str)
                   for k, v in metadata.items()):
            raise TypeError("safetensors: __metadata__ must map str to str")
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, t in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError("safetensors: invalid tensor name %r" % (name,))
        a, dtype = _to_numpy(t)
        data = a.tobytes()
        header[name] = {"dtype": dtype, "shape": [int(d) for d in a.shape],
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hdr += b" " * (-len(hdr) % 8)
    return struct.pack("<Q", len(hdr)) + hdr + b"".join(chunks)


def write_safetensors(path, tensors, metadata=None):
    """Write ``tensors`` (name -> numpy array or torch tensor) to ``path``."""
    data = safetensors_bytes(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read_safetensors(path_or_bytes):
    """A minimal, strict reader: returns (dict name -> numpy array, metadata).

    Checks what the format requires: the header is a JSON object, each
    tensor's byte range fits its dtype and shape, and the ranges cover the
    data exactly with no holes or overlaps. BF16 is returned as float32.
    """
    if isinstance(path_or_bytes, (bytes, bytearray)):
        raw = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            raw = f.read()
    if len(raw) < 8:
        raise ValueError("safetensors: file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError("safetensors: header length %d beyond the file" % n)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("safetensors: the header is not a JSON object")
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", None)
    ranges = []
    out = {}
    for name, info in header.items():
        dtype, shape = info["dtype"], info["shape"]
        begin, end = info["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        if end - begin != count * _ST_SIZES[dtype]:
            raise ValueError("safetensors: %s: byte range does not match "
                             "dtype and shape" % name)
        ranges.append((begin, end, name))
        buf = data[begin:end]
        if dtype == "BF16":
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            a = bits.view(np.float32)
        else:
            a = np.frombuffer(buf, dtype=_ST_TO_NP[dtype].newbyteorder("<"))
        out[name] = a.reshape(shape).copy()
    pos = 0
    for begin, end, name in sorted(ranges):
        if begin != pos:
            raise ValueError("safetensors: hole or overlap before %s" % name)
        pos = end
    if pos != len(data):
        raise ValueError("safetensors: the data section has %d bytes, the "
                         "tensors cover %d" % (len(data), pos))
    return out, metadata
