"""Checkers for the coding exercises of notebook 05 (each compares a student's function with ours).

Each ``check_*`` calls the student's function on fixed random inputs. A stub that still raises
``NotImplementedError`` prints "not done yet" and returns False (the notebook keeps running); a
wrong answer prints what differs and returns False; a right one prints "correct" and returns True.
"""
from __future__ import annotations

from typing import Callable

import torch

from helpers.core.exercises import attempt
from helpers.ganimation.losses import attention_tv_loss
from helpers.ganimation.model import ConvNeXtBlock, compose

__all__ = ["check_compose", "check_attention_tv", "check_convnext_forward"]




def _compare(name: str, got, want: torch.Tensor, atol: float = 1e-5) -> bool:
    if not torch.is_tensor(got):
        print(f"{name}: expected a tensor, got {type(got).__name__}")
        return False
    if got.shape != want.shape:
        print(f"{name}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}")
        return False
    err = float((got.float() - want.float()).abs().max())
    if err > atol * max(1.0, float(want.abs().max())):
        print(f"{name}: wrong values (largest difference {err:.3g}); check the formula in the markdown above")
        return False
    print(f"{name}: correct")
    return True


def check_compose(fn: Callable) -> bool:
    """Exercise 1: ``fn(images, colour, attention)`` must return ``A * I + (1 - A) * C``."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 8, 8, generator=g) * 2 - 1
    c = torch.rand(3, 3, 8, 8, generator=g) * 2 - 1
    a = torch.rand(3, 1, 8, 8, generator=g)
    ok, got = attempt(fn, x, c, a)
    if not ok:
        return False
    if torch.is_tensor(got) and got.shape == x.shape and torch.allclose(got, (1 - a) * x + a * c, atol=1e-6):
        print("compose: A and 1 - A are swapped (that is the first arXiv version's form): A = 1 must keep the INPUT")
        return False
    return _compare("compose", got, compose(x, c, a))


def check_attention_tv(fn: Callable) -> bool:
    """Exercise 2: ``fn(attention)`` must return the summed total variation of (N, 1, H, W) masks."""
    g = torch.Generator().manual_seed(2)
    a = torch.rand(2, 1, 6, 7, generator=g)
    ok, got = attempt(fn, a)
    if not ok:
        return False
    want = attention_tv_loss(a)
    if torch.is_tensor(got) and got.numel() == 1 and abs(float(got) - float(want) / a[..., 1:].numel()) < 1e-3:
        print("attention_tv: you took the mean; the reference (and lambda_tv = 1e-5) use the SUM over pixels")
        return False
    return _compare("attention_tv", got.reshape(()) if torch.is_tensor(got) and got.numel() == 1 else got, want)


def check_convnext_forward(fn: Callable) -> bool:
    """Exercise 3: ``fn(block, x)`` must compute a :class:`ConvNeXtBlock`'s forward from its layers."""
    torch.manual_seed(3)
    blk = ConvNeXtBlock(8, expansion=2, layer_scale=0.5).eval()
    x = torch.randn(2, 8, 6, 6)
    ok, got = attempt(fn, blk, x)
    if not ok:
        return False
    with torch.no_grad():
        want = blk(x)
        if torch.is_tensor(got) and got.shape == want.shape and torch.allclose(got, want - x, atol=1e-5):
            print("convnext_forward: the residual connection is missing (return x + ...)")
            return False
    return _compare("convnext_forward", got.detach() if torch.is_tensor(got) else got, want)
