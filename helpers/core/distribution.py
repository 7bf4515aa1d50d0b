"""How far generated images are from the data as a whole: FID, KID and IS with pluggable features.

This module knows no network. Each measure takes either precomputed arrays (features (N, F) for
FID/KID, class probabilities (N, C) for IS) or images plus an :class:`Extractor`, which says how
to get them. ``helpers.faces.analysis.feature_extractor("analysis")`` is the offline default
(the SynthFaces analysis network); ``feature_extractor("inception")`` gives Inception-v3 where
its weights can be downloaded, so the same call yields the published kind of number.

Definitions (features in float64):

- FID (Heusel et al. 2017): the Fréchet distance of two Gaussians fitted to the features,
  ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` with sample covariances (ddof 1).
  The trace of the root is ``sum sqrt(eig(S_a^(1/2) S_b S_a^(1/2)))``: a symmetric PSD matrix, so
  the eigenvalues are real (no complex ``sqrtm`` residue to discard). FID is biased upwards for
  small N: compare numbers measured with the same N (and the same extractor) only.
- KID (Bińkowski et al. 2018): the squared MMD with the cubic polynomial kernel
  ``k(x, y) = (x.y / F + 1)^3``, estimated *unbiasedly* (diagonal terms left out) on ``subsets``
  random subsets of ``subset_size`` images each; mean and standard deviation over the subsets.
  Unbiased means its expectation is 0 for two samples of one distribution (it can be negative).
- IS (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))`` per split of the images, mean and
  standard deviation over ``splits``; between 1 and the number of classes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = ["Extractor", "as_features", "frechet_distance", "mmd2_unbiased", "polynomial_kernel",
           "kid_from_features", "inception_score_from_probs", "fid", "kid", "inception_score",
           "distribution_metrics", "MIN_FID_IMAGES"]

#: fewest images per set accepted by FID (a covariance from fewer is meaningless)
MIN_FID_IMAGES = 10


@dataclass(frozen=True)
class Extractor:
    """How to turn images (N, 3, H, W) in [-1, 1] into features (FID/KID) and class probabilities (IS).

    ``features``/``probabilities`` are callables images -> (N, F) / (N, C) (tensor or array);
    ``note`` says what the numbers are comparable with (printed beside results).
    """
    name: str
    features: Callable
    probabilities: Callable | None = None
    note: str = ""


# ----------------------------------------------------------------------------- checks
def _array(x, name: str, what: str = "features") -> np.ndarray:
    if torch.is_tensor(x):
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D {what} (N, F), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _images(x, name: str) -> torch.Tensor:
    if not torch.is_tensor(x) or x.ndim != 4 or x.shape[1] != 3 or not x.is_floating_point():
        raise ValueError(f"{name}: with an extractor, pass images as a float tensor (N, 3, H, W) in "
                         f"[-1, 1]; got {type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
    if x.numel() and (float(x.min()) < -1.001 or float(x.max()) > 1.001):
        raise ValueError(f"{name} must lie in [-1, 1], got [{float(x.min()):.3f}, {float(x.max()):.3f}]")
    return x


def as_features(x, extractor: Extractor | Callable | None = None, name: str = "x") -> np.ndarray:
    """``x`` as float64 features (N, F): ``x`` itself if no extractor, else ``extractor(x)``."""
    if extractor is None:
        return _array(x, name)
    fn = extractor.features if isinstance(extractor, Extractor) else extractor
    if not callable(fn):
        raise ValueError(f"extractor must be an Extractor or a callable images -> features, got {extractor!r}")
    return _array(fn(_images(x, name)), f"features of {name}")


def _pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the two feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")


# ----------------------------------------------------------------------------- FID
def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a, b, min_n: int = MIN_FID_IMAGES) -> float:
    """FID of two feature sets (N_a, F) and (N_b, F) (see the module docstring); >= 0.

    Raises ValueError for fewer than ``min_n`` rows in either set.
    """
    a, b = _array(a, "a"), _array(b, "b")
    _pair(a, b)
    for name, x in (("a", a), ("b", b)):
        if len(x) < max(2, min_n):
            raise ValueError(f"FID needs at least {max(2, min_n)} images per set, got {len(x)} in {name} "
                             f"(use a few hundred or more: FID is biased upwards for small sets)")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False, ddof=1), np.cov(b, rowvar=False, ddof=1)
    s_a, s_b = np.atleast_2d(s_a), np.atleast_2d(s_b)
    r = _sqrt_psd(s_a)
    tr_root = np.sqrt(np.clip(np.linalg.eigvalsh(r @ s_b @ r), 0, None)).sum()
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * tr_root)
    return max(d, 0.0)


# ----------------------------------------------------------------------------- KID
def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None,
                      coef0: float = 1.0) -> np.ndarray:
    """``(gamma x.y + coef0)^degree`` for all pairs; ``gamma`` defaults to 1 / F (KID's kernel)."""
    g = 1.0 / x.shape[1] if gamma is None else gamma
    return (g * x @ y.T + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, kernel: Callable = polynomial_kernel) -> float:
    """Unbiased squared MMD between samples ``x`` (m, F) and ``y`` (n, F) (Gretton et al. 2012)::

        1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j) - 2/(mn) sum k(x_i, y_j)
    """
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 samples per set, got {m} and {n}")
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid_from_features(a, b, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID (mean, std) of two feature sets over ``subsets`` random subsets (without replacement).

    ``subset_size`` is capped at the smaller set's size (at least 2 images per set are needed).
    """
    a, b = _array(a, "a"), _array(b, "b")
    _pair(a, b)
    if not isinstance(subsets, int) or subsets < 1:
        raise ValueError(f"subsets must be a positive int, got {subsets!r}")
    m = min(int(subset_size), len(a), len(b))
    if m < 2:
        raise ValueError(f"KID needs at least 2 images per set, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
            for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals))


# ----------------------------------------------------------------------------- IS
def inception_score_from_probs(probs, splits: int = 10) -> tuple[float, float]:
    """IS (mean, std over ``splits``) of class probabilities (N, C) whose rows sum to 1."""
    p = _array(probs, "probs", "class probabilities")
    if (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError("probs must be probabilities: non-negative rows that sum to 1 (apply softmax)")
    if not isinstance(splits, int) or splits < 1:
        raise ValueError(f"splits must be a positive int, got {splits!r}")
    if len(p) < 2 * splits:
        raise ValueError(f"IS with {splits} splits needs at least {2 * splits} images, got {len(p)}")
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(0, keepdims=True)
        kl = (part * (np.log(np.clip(part, 1e-12, None)) - np.log(np.clip(py, 1e-12, None)))).sum(1)
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# ----------------------------------------------------------------------------- image-level calls
def fid(real, fake, extractor: Extractor | Callable | None = None, min_n: int = MIN_FID_IMAGES) -> float:
    """FID between ``real`` and ``fake``: images with an ``extractor``, or features without one."""
    return frechet_distance(as_features(real, extractor, "real"), as_features(fake, extractor, "fake"), min_n)


def kid(real, fake, extractor: Extractor | Callable | None = None, subsets: int = 100,
        subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID (mean, std) between ``real`` and ``fake`` (images with an ``extractor``, else features)."""
    return kid_from_features(as_features(real, extractor, "real"), as_features(fake, extractor, "fake"),
                             subsets, subset_size, seed)


def inception_score(images, extractor: Extractor | Callable | None = None, splits: int = 10) -> tuple[float, float]:
    """IS (mean, std) of ``images`` through ``extractor.probabilities`` (or of given probabilities)."""
    if extractor is None:
        return inception_score_from_probs(images, splits)
    fn = extractor.probabilities if isinstance(extractor, Extractor) else extractor
    if fn is None:
        raise ValueError(f"extractor {getattr(extractor, 'name', extractor)!r} gives no class probabilities")
    return inception_score_from_probs(fn(_images(images, "images")), splits)


def distribution_metrics(real, fake, extractor: Extractor, kid_subsets: int = 100, kid_subset_size: int = 1000,
                         is_splits: int = 10, seed: int = 0) -> dict:
    """FID, KID (mean, std) and the IS of ``fake`` (and of ``real``, the yardstick) in one pass.

    ``real``/``fake`` are images (N, 3, H, W) in [-1, 1]; features are extracted once per set.
    Returns a flat dict with the extractor's name and ``note`` (what the numbers compare with).
    """
    if not isinstance(extractor, Extractor):
        raise ValueError(f"extractor must be a helpers.core.distribution.Extractor, got {type(extractor).__name__}")
    fr, ff = as_features(real, extractor, "real"), as_features(fake, extractor, "fake")
    k_mean, k_std = kid_from_features(fr, ff, kid_subsets, kid_subset_size, seed)
    out = {"extractor": extractor.name, "n_real": len(fr), "n_fake": len(ff), "fid": frechet_distance(fr, ff),
           "kid": k_mean, "kid_std": k_std}
    if extractor.probabilities is not None:
        splits = max(1, min(is_splits, len(ff) // 2, len(fr) // 2))
        out["is_fake"], out["is_fake_std"] = inception_score(fake, extractor, splits)
        out["is_real"], out["is_real_std"] = inception_score(real, extractor, splits)
    out["note"] = extractor.note
    return out
