"""What a DCGAN training step computes: one discriminator and one generator update.

The losses themselves are the course's one copy, :func:`helpers.core.losses.d_loss` and
:func:`helpers.core.losses.g_loss` (``"minimax"`` or ``"nonsaturating"``, ``Config.loss``); the
loop (:class:`helpers.dcgan.train.DCGAN`) draws the noise and calls :func:`train_step` under autocast.
"""
from __future__ import annotations

import torch

from helpers.core.losses import d_loss, g_loss

__all__ = ["train_step"]


def train_step(s, real: torch.Tensor, z: torch.Tensor) -> dict:
    """One iteration: (1) discriminator step, (2) generator step. Returns the logged numbers.

    ``s`` is the loop's :class:`helpers.core.loop.State` (networks ``G``, ``D``; ``s.update``
    zeroes, back-propagates and steps one optimiser). ``g_grad`` is the mean per-sample norm of
    dL_G/dG(z) (scaled by the batch size so it does not depend on it): the signal that reaches
    the generator, small when the loss saturates. Shown in notebook 01 §4.
    """
    G, D = s.models["G"], s.models["D"]
    n = real.shape[0]
    fake = G(z)
    # (1) D: maximise log D(x) + log(1 - D(G(z)))  ==  minimise BCE(real -> 1, fake -> 0)
    real_logits, fake_logits = D(real), D(fake.detach())
    ld = d_loss(real_logits, fake_logits)
    s.update("D", ld)
    # (2) G: minimax or non-saturating loss through the updated D
    fake.retain_grad()
    lg = g_loss(D(fake), s.cfg.loss)
    s.update("G", lg)
    return {"loss_d": ld.detach(), "loss_g": lg.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
            "g_grad": (fake.grad.flatten(1).norm(dim=1) * n).mean()}
