"""GAN losses shared by every method (each method's own losses live in its ``model.py``).

``d(x)`` below is the discriminator's *logit*; D(x) = sigmoid(d(x)) is the probability "real".
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["LOSSES", "d_loss", "g_loss", "r1_penalty"]

LOSSES = ("nonsaturating", "minimax")


def _wide(x: torch.Tensor) -> torch.Tensor:
    """Half-precision logits (autocast) are widened to float32; float32/float64 are kept."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss = -(E[log D(x)] + E[log(1 - D(G(z)))]) (the ConvNeXt GANimation thesis' Eq. 3.1, D maximises).

    Computed from logits (stable for any logit); half-precision logits are widened to float32.
    """
    real_logits, fake_logits = _wide(real_logits), _wide(fake_logits)
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def g_loss(fake_logits: torch.Tensor, kind: str = "nonsaturating") -> torch.Tensor:
    """Generator loss on D's logits for fakes.

    - ``"minimax"``: minimise E[log(1 - D(G(z)))], the G side of Eq. 3.1 as written.
      With D = sigmoid(l): log(1 - D) = -softplus(l), so d/dl = -D: it *vanishes* when D rejects
      the fakes confidently (D(G(z)) -> 0), i.e. exactly early in training.
    - ``"nonsaturating"``: minimise -E[log D(G(z))] = softplus(-l), d/dl = -(1 - D): close to -1
      when D(G(z)) -> 0, so a losing generator still gets a strong signal (Goodfellow et al. 2014).
    """
    fake_logits = _wide(fake_logits)
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "nonsaturating":
        return F.softplus(-fake_logits).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1 regulariser (Mescheder et al. 2018): gamma/2 * E ||grad_x d(x)||^2 on real data.

    ``real`` must have ``requires_grad=True`` before ``real_logits = D(real)`` was computed. It makes
    D flat on the data, which damps the oscillation that lets a GAN hop from mode to mode.
    """
    (grad,) = torch.autograd.grad(_wide(real_logits).sum(), real, create_graph=True)
    return 0.5 * gamma * _wide(grad).pow(2).flatten(1).sum(1).mean()
