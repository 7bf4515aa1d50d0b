"""Checkers for the coding exercises of notebook 03 (each compares a student's function with the package's).

A checker prints ``not done yet`` when the stub still raises ``NotImplementedError`` (so the
notebook runs top to bottom), prints what is wrong otherwise, and returns True only when the
function agrees with the reference on several random cases. ``tests/test_lafin_exercises.py``
passes every solution in ``notebooks/solutions/03_*.py`` through the same checkers.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from helpers.core.exercises import attempt, same
from helpers.lafin.losses import mouth_corner_loss
from helpers.lafin.model import landmark_map

__all__ = ["check_mouth_corner_loss", "check_label_grid", "check_landmark_map"]






def check_mouth_corner_loss(fn) -> bool:
    """Exercise 1: ``fn(pred, true)`` = the paper's Mouth Corner Distance loss, "vector" reading."""
    g = torch.Generator().manual_seed(3)
    for n in (1, 5):
        true = torch.rand(n, 68, 2, generator=g) * 128
        pred = true + torch.randn(n, 68, 2, generator=g) * 4
        ok, got = attempt(fn, pred, true)
        if not ok:
            return False
        if not same(f"N={n}", got, mouth_corner_loss(pred, true, "vector"), atol=1e-4):
            return False
    print("✓ correct: your loss equals helpers.lafin.mouth_corner_loss(pred, true, 'vector')")
    return True


def check_label_grid(fn) -> bool:
    """Exercise 2: ``fn(embedding (N, 16), size)`` -> (N, 1, size, size), reading (a) of the label channel."""
    g = torch.Generator().manual_seed(4)
    for n, size in ((2, 128), (3, 64)):
        e = torch.randn(n, 16, generator=g)
        ok, got = attempt(fn, e, size)
        if not ok:
            return False
        want = F.interpolate(e.view(n, 1, 4, 4), size=(size, size), mode="nearest")
        if not same(f"N={n}, size={size}", got, want, atol=1e-6):
            return False
    print("✓ correct: the same channel as helpers.lafin.LabelChannel(size, mode='grid') builds")
    return True


def check_landmark_map(fn) -> bool:
    """Exercise 3: ``fn(landmarks (N, 68, 2), size)`` -> LaFIn's landmark map (N, 1, size, size)."""
    g = torch.Generator().manual_seed(5)
    for n, size in ((2, 64), (1, 128)):
        lm = torch.rand(n, 68, 2, generator=g) * (size + 6) - 3            # a few points outside the image
        ok, got = attempt(fn, lm, size)
        if not ok:
            return False
        if not same(f"N={n}, size={size}", got, landmark_map(lm, size), atol=1e-6):
            return False
    print("✓ correct: the same map as helpers.lafin.landmark_map")
    return True
