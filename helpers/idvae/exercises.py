"""Checkers for notebook 06's coding exercises (and the unit test that runs the solutions).

Each ``check_<name>(fn)`` calls the student's function on small random cases and compares it with
the package's reference. It prints "not done yet" and returns None while the stub still raises
``NotImplementedError``; otherwise it prints what it found and returns True (correct) or False.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from helpers.core.exercises import attempt
from helpers.idvae.losses import switch_loss
from helpers.idvae.recognition import nearest_to_centroid_labels, subtract_subject_mean

__all__ = ["check_switch_loss", "check_cluster_labels", "check_subject_mean"]




def _report(ok: bool, what: str, detail: str = "") -> bool:
    print(("correct: " if ok else "not yet right: ") + what + (f" ({detail})" if detail else ""))
    return ok


def check_switch_loss(fn: Callable) -> bool | None:
    """``fn(z_i, z_i_re, z_e_d, z_e_d_re) -> scalar tensor`` must equal Eq. 4 (mean squared errors)."""
    g = torch.Generator().manual_seed(4)
    cases = [tuple(torch.randn(n, 64, generator=g) for _ in range(4)) for n in (1, 5, 32)]
    cases.append((torch.zeros(3, 64),) * 4)
    for case in cases:
        ran, got = attempt(fn, *case)
        if not ran:
            return None
        want = switch_loss(*case)
        if not torch.is_tensor(got) or got.numel() != 1:
            return _report(False, "return one scalar tensor", f"got {type(got).__name__}")
        if not torch.allclose(got.float().reshape(()), want, rtol=1e-5, atol=1e-6):
            return _report(False, "Eq. 4 = MSE(z_i, z_i') + MSE(z_e^d, z_e^d'), each a mean over batch and dimensions",
                           f"batch {len(case[0])}: got {float(got):.6f}, expected {float(want):.6f}")
    a = tuple(t.clone().requires_grad_(True) for t in cases[1])
    ran, got = attempt(fn, *a)
    got.backward()
    if a[1].grad is None or a[3].grad is None:
        return _report(False, "the loss must be differentiable with respect to the re-encoded codes")
    return _report(True, "the switch loss matches Eq. 4 on 4 cases and is differentiable")


def check_cluster_labels(fn: Callable) -> bool | None:
    """``fn(features, assign, centroids, labels) -> (k,) labels``: the label of each cluster's member
    nearest its centroid (-1 for an empty cluster)."""
    rng = np.random.default_rng(0)
    for trial in range(5):
        k, n = 4 + trial, 60 + 10 * trial
        f = rng.normal(size=(n, 3))
        assign = rng.integers(0, k - (trial == 4), n)      # the last trial leaves a cluster empty
        cent = np.stack([f[assign == c].mean(0) if (assign == c).any() else np.zeros(3) for c in range(k)])
        labels = rng.integers(0, 6, n)
        ran, got = attempt(fn, f, assign, cent, labels)
        if not ran:
            return None
        want = nearest_to_centroid_labels(f, assign, cent, labels)
        got = np.asarray(got)
        if got.shape != want.shape or not np.array_equal(got, want):
            return _report(False, "each cluster takes the label of its member nearest its centroid",
                           f"trial {trial}: got {got.tolist()}, expected {want.tolist()}")
    return _report(True, "nearest-to-centroid labels match on 5 random clusterings (one with an empty cluster)")


def check_subject_mean(fn: Callable) -> bool | None:
    """``fn(features, subjects) -> features`` minus each subject's mean feature (Eq. 6)."""
    rng = np.random.default_rng(1)
    for trial in range(3):
        f = rng.normal(size=(40, 8)) + 3.0
        s = rng.integers(0, 5, 40)
        ran, got = attempt(fn, f.copy(), s)
        if not ran:
            return None
        want = subtract_subject_mean(f, s)
        got = np.asarray(got, dtype=np.float64)
        if got.shape != want.shape or not np.allclose(got, want, atol=1e-6):
            return _report(False, "Eq. 6: x_ij - mean_k x_ik over the images of the same subject",
                           f"trial {trial}: largest difference {np.abs(got - want).max() if got.shape == want.shape else 'shape'}")
    return _report(True, "Eq. 6 matches on 3 random sets")
