"""What every notebook's exercise checkers share: run a student's function, compare tensors.

A checker calls :func:`attempt`; while the stub still raises ``NotImplementedError`` it prints
:data:`NOT_DONE` (the notebook keeps running top to bottom) and the checker returns False.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

__all__ = ["NOT_DONE", "attempt", "same"]

NOT_DONE = "not done yet: implement the function above, then run this cell again"


def attempt(fn: Callable, *args) -> tuple[bool, Any]:
    """``(True, fn(*args))``, or ``(False, None)`` after printing :data:`NOT_DONE` for an untouched stub."""
    try:
        return True, fn(*args)
    except NotImplementedError:
        print(NOT_DONE)
        return False, None


def same(name: str, got, want: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """True when ``got`` is a tensor of ``want``'s shape and close to it; else print why (with ``name``)."""
    if not torch.is_tensor(got):
        print(f"✗ {name}: expected a torch tensor, got {type(got).__name__}")
        return False
    if tuple(got.shape) != tuple(want.shape):
        print(f"✗ {name}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}")
        return False
    if not torch.allclose(got.float(), want.float(), atol=atol, rtol=rtol):
        print(f"✗ {name}: values differ (max difference {float((got.float() - want.float()).abs().max()):.4g})")
        return False
    return True
