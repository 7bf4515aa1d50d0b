"""A pickle reader for weights that builds plain data only (NVIDIA's ``.pkl`` networks included).

``pickle.load`` calls whatever a file names (``os.system``, ``exec`` ...); NVIDIA's network pickles
even carry their module's source code, which their own unpickler executes. :class:`SafeUnpickler`
resolves only an allow-list of plain-data constructors (tensors, storages, dicts, numpy scalars and
dtypes, NVIDIA's ``EasyDict``) and maps NVIDIA's reconstruction hook to :func:`persistent_stub`,
which keeps an object's state (parameters, buffers, children, constructor arguments) and *never
reads* its source. Any other global raises :class:`UnsafePickleError` before it could be called;
tensor storages are read with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["UnsafePickleError", "EasyDict", "PersistentStub", "persistent_stub", "SafeUnpickler",
           "safe_pickle_load", "stub_state"]


class UnsafePickleError(ValueError):
    """A weights file asked for something other than plain data (it could run code): refused."""


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict with attribute access (plain data)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class PersistentStub:
    """What a persistent network of an NVIDIA pickle becomes here: its class *name* and its state.

    ``state`` holds ``_parameters``, ``_buffers``, ``_modules`` (children: more stubs) and the
    attributes (``z_dim``, ``_init_kwargs`` ...). The pickled source code is dropped unread;
    ``source_chars`` only records how long it was.
    """

    def __init__(self, class_name: str, state: dict, source_chars: int):
        self.class_name, self.state, self.source_chars = class_name, state, source_chars

    def __repr__(self) -> str:
        return f"PersistentStub({self.class_name!r}, source code ignored: {self.source_chars} chars)"

    def __getattr__(self, name):
        state = self.__dict__.get("state", {})
        for part in ("_parameters", "_buffers", "_modules"):
            if name in (state.get(part) or {}):
                return state[part][name]
        if name in state:
            return state[name]
        raise AttributeError(name)


def persistent_stub(meta) -> PersistentStub:
    """Replacement for ``torch_utils.persistence._reconstruct_persistent_obj``: keep the state, ignore the code."""
    if not isinstance(meta, dict) or meta.get("type") != "class" or "class_name" not in meta:
        raise UnsafePickleError("malformed persistent object in the pickle (expected NVIDIA's meta dict)")
    state = meta.get("state") or {}
    if not isinstance(state, dict):
        raise UnsafePickleError("persistent object state must be a dict")
    return PersistentStub(str(meta["class_name"]), dict(state), len(str(meta.get("module_src", ""))))


def _load_storage(b: bytes):
    if not isinstance(b, (bytes, bytearray)):
        raise UnsafePickleError("tensor storage must be bytes")
    return torch.load(io.BytesIO(b), weights_only=True)


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    if backward_hooks:
        raise UnsafePickleError("refused a parameter with backward hooks (hooks are code)")
    return torch.nn.Parameter(data, requires_grad=bool(requires_grad))


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks, metadata=None):
    if backward_hooks or metadata:
        raise UnsafePickleError("refused a tensor with backward hooks or metadata (hooks are code)")
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise UnsafePickleError(f"a tensor must be built from a storage, got {type(storage).__name__}")
    return torch._utils._rebuild_tensor_v2(storage, offset, size, stride, bool(requires_grad), OrderedDict())


_NP_SCALAR = np.float64(0).__reduce__()[0]          # numpy's scalar-from-bytes constructor
_NP_RECONSTRUCT = np.zeros(1).__reduce__()[0]       # numpy's empty-array constructor (filled by BUILD)
_TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"}
_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("builtins", "slice"): slice,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("torch", "Size"): torch.Size, ("torch", "device"): torch.device,
    ("numpy", "dtype"): np.dtype, ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): _NP_SCALAR, ("numpy._core.multiarray", "scalar"): _NP_SCALAR,
    ("numpy.core.multiarray", "_reconstruct"): _NP_RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _NP_RECONSTRUCT,
    ("dnnlib.util", "EasyDict"): EasyDict, ("dnnlib", "EasyDict"): EasyDict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): persistent_stub,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that builds plain data only; every other global raises :class:`UnsafePickleError`."""

    def find_class(self, module: str, name: str):
        fn = _ALLOWED.get((module, name))
        if fn is None and module == "torch" and name in _TORCH_DTYPES:
            fn = getattr(torch, name)
        if fn is None and module.startswith("numpy") and name.endswith("DType"):   # numpy 2 dtype classes
            fn = type(np.dtype("float32")) if name == "Float32DType" else None
        if fn is None:
            raise UnsafePickleError(
                f"refused to unpickle {module}.{name}: it is not on the allow-list of plain data "
                "(tensors, dicts, numbers, NVIDIA's network state). A weights file that asks for it "
                "could run code when loaded with pickle.load; this loader never does.")
        return fn

    def persistent_load(self, pid):
        raise UnsafePickleError(f"refused a persistent id {str(pid)[:80]!r} (not part of NVIDIA's .pkl format)")


def safe_pickle_load(file) -> Any:
    """Unpickle ``file`` (a path or binary file object) with :class:`SafeUnpickler`."""
    if isinstance(file, (str, Path)):
        with open(file, "rb") as f:
            return SafeUnpickler(f).load()
    return SafeUnpickler(file).load()


def stub_state(obj, prefix: str = "") -> "OrderedDict[str, torch.Tensor]":
    """Flat ``{dotted.name: tensor}`` of a :class:`PersistentStub` tree (parameters and buffers)."""
    if not isinstance(obj, PersistentStub):
        raise ValueError(f"expected a PersistentStub (a network of an NVIDIA pickle), got {type(obj).__name__}")
    out = OrderedDict()
    for part in ("_parameters", "_buffers"):
        for k, v in (obj.state.get(part) or {}).items():
            if v is not None:
                out[prefix + k] = v.detach() if torch.is_tensor(v) else torch.as_tensor(v)
    for k, child in (obj.state.get("_modules") or {}).items():
        if isinstance(child, PersistentStub):
            out.update(stub_state(child, f"{prefix}{k}."))
    return out
