"""The toy's networks: small MLPs, a generator (noise -> point) and a discriminator (point -> logit)."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["mlp", "ToyG", "ToyD"]


def mlp(n_in: int, n_out: int, hidden: int, layers: int, act: type[nn.Module]) -> nn.Sequential:
    """A plain MLP: ``layers`` hidden layers of width ``hidden``."""
    mods: list[nn.Module] = []
    d = n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), act()]
        d = hidden
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


class ToyG(nn.Module):
    """Generator: noise z (z_dim) -> point in the plane (2)."""

    def __init__(self, z_dim: int = 8, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp(z_dim, 2, hidden, layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"ToyG expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        return self.net(z)


class ToyD(nn.Module):
    """Discriminator: point (2) -> one logit; D(x) = sigmoid(logit) = P(x is real)."""

    def __init__(self, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.net = mlp(2, 1, hidden, layers, nn.ReLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"ToyD expects points of shape (N, 2), got {tuple(x.shape)}")
        return self.net(x).squeeze(1)
