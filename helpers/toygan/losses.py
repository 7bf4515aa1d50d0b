"""What a toy training step computes: the shared GAN losses (:mod:`helpers.core.losses`), one
D + G step, and the analytic gradient each generator loss sends back."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers.core.losses import LOSSES, d_loss, g_loss, r1_penalty

__all__ = ["LOSSES", "d_loss", "g_loss", "r1_penalty", "toy_step", "g_grad_vs_d"]


def toy_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             real: torch.Tensor, z: torch.Tensor, cfg, step: int) -> dict[str, float]:
    """One iteration: (1) one discriminator step, (2) one generator step through the updated D.

    ``cfg`` is a :class:`helpers.toygan.train.ToyConfig` (``loss``, ``r1``, ``r1_every``, ``batch``);
    the lazy R1 penalty is added on every ``r1_every``-th step (1-based ``step``). Returns the
    logged numbers: both losses, D(x), D(G(z)) and the generator's gradient magnitude at its output
    (mean per-sample norm of dL_G/dG(z), times the batch size) - what vanishes under the minimax loss.
    """
    fake = G(z)
    # (1) discriminator step: push D(x) -> 1 on real, D(G(z)) -> 0 on fake
    lazy = cfg.r1 > 0 and step % cfg.r1_every == 0
    real.requires_grad_(lazy)
    real_logits, fake_logits = D(real), D(fake.detach())
    ld = d_loss(real_logits, fake_logits)
    if lazy:
        ld = ld + r1_penalty(real_logits, real, cfg.r1 * cfg.r1_every)
    opt_d.zero_grad(set_to_none=True)
    ld.backward()
    opt_d.step()
    # (2) generator step through the (just updated) discriminator
    fake.retain_grad()
    logits = D(fake)
    lg = g_loss(logits, cfg.loss)
    opt_g.zero_grad(set_to_none=True)
    lg.backward()
    opt_g.step()
    return {"loss_d": ld.item(), "loss_g": lg.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(),
            "g_grad": (fake.grad.norm(dim=1) * cfg.batch).mean().item()}


def g_grad_vs_d(d: np.ndarray | float) -> dict[str, np.ndarray]:
    """Analytic |dL_G/d logit| as a function of D(G(z)) for both generator losses.

    Returns ``{"minimax": D, "nonsaturating": 1 - D}`` plus the losses themselves
    (``"minimax_loss"`` = log(1 - D), ``"nonsaturating_loss"`` = -log D) for plotting.
    """
    d = np.asarray(d, dtype=np.float64)
    if np.any((d <= 0) | (d >= 1)):
        raise ValueError("D(G(z)) values must lie strictly between 0 and 1")
    return {"minimax": d, "nonsaturating": 1 - d,
            "minimax_loss": np.log1p(-d), "nonsaturating_loss": -np.log(d)}
