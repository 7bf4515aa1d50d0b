"""The toy's data: a mixture of tight 2-D Gaussians ("modes") on a ring or a grid (see :mod:`helpers.toygan`)."""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["centres", "sample_real"]


def centres(kind: str = "ring", n: int = 8, radius: float = 2.0, spacing: float = 2.0) -> np.ndarray:
    """Mode centres (K, 2): ``"ring"`` = ``n`` points on a circle, ``"grid"`` = 5x5 grid.

    ``"grid"`` uses ``n`` as the side length when it is a perfect square (25 -> 5x5); the grid is
    centred at the origin with ``spacing`` between neighbours.
    """
    if kind == "ring":
        if n < 1:
            raise ValueError(f"ring needs n >= 1 modes, got {n}")
        a = 2 * np.pi * np.arange(n) / n
        return np.stack([radius * np.cos(a), radius * np.sin(a)], 1).astype(np.float32)
    if kind == "grid":
        side = int(round(math.sqrt(n)))
        if side * side != n:
            raise ValueError(f"grid needs a square number of modes (e.g. 25), got {n}")
        r = (np.arange(side) - (side - 1) / 2) * spacing
        xx, yy = np.meshgrid(r, r)
        return np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)
    raise ValueError(f"kind must be 'ring' or 'grid', got {kind!r}")


def sample_real(n: int, modes: np.ndarray | torch.Tensor, std: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points from the equal-weight Gaussian mixture with the given centres and ``std``."""
    c = torch.as_tensor(np.asarray(modes), dtype=torch.float32)
    if c.ndim != 2 or c.shape[1] != 2:
        raise ValueError(f"modes must have shape (K, 2), got {tuple(c.shape)}")
    idx = torch.randint(len(c), (n,), generator=generator)
    return c[idx] + std * torch.randn(n, 2, generator=generator)
